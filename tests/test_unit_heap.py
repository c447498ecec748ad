"""JsHeap, the heap-slab JS-value store, without any wasm engine."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from realm_wasmer.errors import HeapError
from realm_wasmer.host.heap import JsHeap
from realm_wasmer.js.values import UNDEFINED

from .fake_engine import fake_context, fake_module


def test_add_get_take_drop_clone() -> None:
    heap = JsHeap(128)
    a = heap.add("a")
    b = heap.add({"k": 1})
    assert (a, b) == (132, 133)  # owned values start right after the four constants
    assert heap.get(a) == "a" and heap.get(b) == {"k": 1}
    c = heap.clone(b)
    assert c not in (a, b) and heap.get(c) is heap.get(b)
    assert heap.live_count() == 3
    assert heap.take(a) == "a"
    assert heap.live_count() == 2
    with pytest.raises(HeapError, match="dropped"):
        heap.get(a)
    heap.drop(b)
    assert heap.get(c) == {"k": 1}  # the clone outlives the original
    with pytest.raises(HeapError, match="beyond"):
        heap.get(10_000)


@pytest.mark.parametrize("offset", [32, 128, 1024])
def test_constants_sit_at_offset(offset: int) -> None:
    heap = JsHeap(offset)
    assert heap.get(offset) is UNDEFINED
    assert heap.get(offset + 1) is None
    assert heap.get(offset + 2) is True
    assert heap.get(offset + 3) is False
    assert [heap.index_of_constant(v) for v in (UNDEFINED, None, True, False)] == [offset + i for i in range(4)]
    assert heap.index_of_constant(0) is None and heap.index_of_constant("") is None
    assert heap.add("first") == offset + 4
    assert heap.reserved == offset + 4


@pytest.mark.parametrize("offset", [32, 128, 1024])
def test_dropping_constants_and_borrowed_slots_is_ignored(offset: int) -> None:
    heap = JsHeap(offset)
    for index in (0, offset - 1, offset, offset + 1, offset + 2, offset + 3):
        heap.drop(index)
        heap.drop(index)  # twice: still no error
    assert heap.get(offset + 1) is None and heap.get(offset + 2) is True
    assert heap.live_count() == 0
    assert heap.add("x") == offset + 4  # no constant slot was put on the free list


def test_double_drop_raises() -> None:
    heap = JsHeap(32)
    index = heap.add(1)
    heap.drop(index)
    with pytest.raises(HeapError, match="twice"):
        heap.drop(index)
    with pytest.raises(HeapError, match="never allocated"):
        heap.drop(5000)
    assert heap.live_count() == 0


def test_free_list_reuse_is_lifo_like_the_glue() -> None:
    heap = JsHeap(128)
    i, j, k = heap.add("i"), heap.add("j"), heap.add("k")
    heap.drop(i)
    heap.drop(k)
    # dropObject pushes on heap_next: the most recently freed slot is reused first
    assert heap.add("k2") == k
    assert heap.add("i2") == i
    assert heap.add("new") == k + 1
    assert [heap.get(x) for x in (i, j, k)] == ["i2", "j", "k2"]


def test_borrow_stack_push_pop_and_depth() -> None:
    heap = JsHeap(32)
    assert heap.borrowed_depth == 0
    first = heap.push_borrowed("arg0")
    second = heap.push_borrowed("arg1")
    assert (first, second) == (31, 30)  # the stack pointer starts at offset and moves down
    assert heap.borrowed_depth == 2
    assert heap.get(second) == "arg1"
    heap.pop_borrowed()
    assert heap.borrowed_depth == 1
    assert heap.get(second) is UNDEFINED  # the slot is cleared
    assert heap.borrow("again") == second  # JsValueStore names
    heap.release_borrowed()
    heap.pop_borrowed()
    assert heap.borrowed_depth == 0
    assert heap.live_count() == 0  # borrowed values are not owned


def test_borrow_stack_overflow() -> None:
    heap = JsHeap(32)
    for _ in range(31):  # slot 0 is never used, as in the glue ("out of js stack" at 1)
        heap.push_borrowed(0)
    with pytest.raises(HeapError, match="out of js stack"):
        heap.push_borrowed(0)
    assert heap.borrowed_depth == 31


def test_snapshot_restore() -> None:
    heap = JsHeap(128)
    kept = heap.add("kept")
    gone = heap.add("gone")
    heap.drop(gone)
    state = heap.snapshot()
    heap.add("a")
    heap.add("b")
    heap.drop(kept)
    heap.push_borrowed("borrowed")
    assert heap.peak == 3
    heap.restore(state)
    assert heap.get(kept) == "kept"
    assert heap.live_count() == 1 and heap.peak == 2 and heap.borrowed_depth == 0
    assert heap.add("next") == gone  # the free list was restored too
    heap.restore(state)  # a snapshot can be restored twice (it is not aliased)
    assert heap.add("next") == gone


def test_live_count_and_peak() -> None:
    heap = JsHeap(32)
    indices = [heap.add(n) for n in range(5)]
    for index in indices[:4]:
        heap.drop(index)
    assert heap.live_count() == 1
    assert heap.peak == 5
    heap.add("x")
    assert heap.peak == 5 and heap.live_count() == 2


def test_store_protocol_names_are_the_glue_operations() -> None:
    heap = JsHeap(128)
    index = heap.lower("v")
    assert heap.lift(index) == "v" and heap.live_count() == 1
    assert heap.lift_owned(index) == "v" and heap.live_count() == 0
    assert (heap.kind, heap.wasm_type) == ("heap", "i32")


@pytest.mark.parametrize(
    ("options", "offset"),
    [
        ({}, 128),  # no producers section, no glue: the "unknown" era default
        ({"glue": "const heap = new Array(32).fill(undefined);"}, 32),
        ({"glue": "const heap = new Array(1024).fill(undefined);", "version": "0.2.84"}, 1024),  # glue wins
        ({"version": "0.2.83"}, 32),
        ({"version": "0.2.84"}, 128),
        ({"version": "0.2.109"}, 1024),
    ],
)
def test_fake_heap_module_value_offset(options: dict[str, Any], offset: int) -> None:
    info = fake_module(**options)
    assert info.conventions.value_store == "heap"
    assert info.conventions.value_offset == offset
    ctx = fake_context(info)
    assert isinstance(ctx.values, JsHeap) and ctx.values.offset == offset


# -- the model-checked state machine ------------------------------------------


class HeapMachine(RuleBasedStateMachine):
    """Random add/drop/clone/take against a dict model of the live indices."""

    indices = Bundle("indices")

    def __init__(self) -> None:
        super().__init__()
        self.heap = JsHeap(32)
        self.model: dict[int, Any] = {}

    @rule(target=indices, value=st.one_of(st.integers(), st.text(max_size=3), st.none()))
    def add(self, value: Any) -> int:
        index = self.heap.add(value)
        assert index >= self.heap.reserved
        assert index not in self.model
        self.model[index] = value
        return index

    @rule(target=indices, index=indices)
    def clone(self, index: int) -> int:
        new = self.heap.clone(index)
        assert new not in self.model
        self.model[new] = self.model[index]
        return new

    @rule(index=consumes(indices))
    def drop(self, index: int) -> None:
        self.heap.drop(index)
        del self.model[index]

    @rule(index=consumes(indices))
    def take(self, index: int) -> None:
        assert self.heap.take(index) == self.model.pop(index)

    @invariant()
    def matches_model(self) -> None:
        assert self.heap.live_count() == len(self.model)
        assert self.heap.peak >= len(self.model)
        for index, value in self.model.items():
            assert self.heap.get(index) == value


TestHeapMachine = HeapMachine.TestCase
