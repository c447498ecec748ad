"""The one-frame heap versions of the hottest imports (host/intrinsics.py ``_HEAP_FUSED``,
host/heap.py ``charged_adder``/``charged_cloner``) against the general path they replace:
the intrinsic's handler over Python values under :func:`adapt` with the store's plain
``add``/``get`` and the budget's own ``charge``. Same values, same slab state, same budget
use, same errors (type and text), on a fake engine."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realm_wasmer.errors import GuestMemoryError, HeapError, InvalidGuestValue, ResourceExhausted
from realm_wasmer.host.context import HostContext
from realm_wasmer.host.heap import JsHeap
from realm_wasmer.host.intrinsics import Shape, _fused_for, _string_new, adapt
from realm_wasmer.limits import SLOT_BYTES, HostBudget
from realm_wasmer.wasm import FuncType

from .fake_engine import fake_context

STRING_NEW = "__wbindgen_string_new"


def _heap_context() -> HostContext:
    return fake_context(store="heap", imports=[("wbg", STRING_NEW, FuncType(("i32", "i32"), ("i32",)))])


def _outcome(fn: Callable[[], Any], ctx: HostContext) -> tuple[Any, ...]:
    """What a call did: its value (read back from the slab) or its error, and the budget and slab after it."""
    heap = ctx.values
    assert isinstance(heap, JsHeap)
    try:
        index = fn()
        result: Any = ("ok", heap.get(index), index)
    except (HeapError, GuestMemoryError, InvalidGuestValue, ResourceExhausted) as exc:
        result = ("error", type(exc).__name__, str(exc))
    return result, ctx.calls.budget.used, heap.live_count(), heap.peak


def _both(setup: Callable[[HostContext], Callable[[], Any]], fused: Callable[[HostContext], Callable[[], Any]],
          limit: int | None) -> tuple[tuple[Any, ...], tuple[Any, ...]]:  # fmt: skip
    """Run the general and the fused version, each on a fresh context with the same budget limit."""
    outcomes = []
    for make in (setup, fused):
        ctx = _heap_context()
        ctx.calls.budget.limit = limit
        outcomes.append(_outcome(make(ctx), ctx))
    return outcomes[0], outcomes[1]


@settings(max_examples=60, deadline=None)
@given(
    data=st.one_of(st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass")), st.binary(max_size=40)),
    shift=st.integers(-8, 8),
    limit=st.one_of(st.none(), st.integers(0, 120)),
)
def test_fused_string_new_matches_the_adapted_handler(data: bytes, shift: int, limit: int | None) -> None:
    """Valid and invalid UTF-8, lengths past the end of memory, budgets too small for the copy
    or for the slot: the fused import and adapt(handler) agree on everything observable."""

    def args(ctx: HostContext) -> tuple[int, int]:
        size = ctx.memory.size
        ptr = size - len(data) - 16 if shift >= 0 else size - len(data) + 16 + shift  # past the end when shift < 0
        if ptr < size:
            ctx.memory.write(ptr, data[: size - ptr])
        return ptr, len(data)

    def general(ctx: HostContext) -> Callable[[], Any]:
        handler = adapt(_string_new(ctx), Shape.parse("ptr len -> js"), ctx.values, ctx.calls.budget, STRING_NEW)
        ptr, length = args(ctx)
        return lambda: handler(ptr, length)

    def fused(ctx: HostContext) -> Callable[[], Any]:
        handler = _fused_for(STRING_NEW, ctx, STRING_NEW)
        assert handler is not None
        ptr, length = args(ctx)
        return lambda: handler(ptr, length)

    expected, got = _both(general, fused, limit)
    assert got == expected


def test_fused_string_new_masks_a_negative_pointer() -> None:
    ctx = _heap_context()
    ptr, length = ctx.abi.pass_string("neg")
    handler = _fused_for(STRING_NEW, ctx, STRING_NEW)
    assert handler is not None
    assert ctx.values.lift(handler(ptr - (1 << 32), length)) == "neg"


def test_no_fused_version_on_other_stores() -> None:
    ctx = fake_context(store="externref", imports=[("wbg", STRING_NEW, FuncType(("i32", "i32"), ("externref",)))])
    assert _fused_for(STRING_NEW, ctx, STRING_NEW) is None


@settings(max_examples=60, deadline=None)
@given(
    ops=st.lists(st.sampled_from(["add", "clone", "drop", "clone_bad", "clone_dropped"]), max_size=30),
    limit=st.one_of(st.none(), st.integers(0, 12 * SLOT_BYTES)),
)
def test_charged_cloner_and_adder_match_charge_then_clone(ops: list[str], limit: int | None) -> None:
    """clone_ref = charge one slot, then addHeapObject(getObject(i)); lowering = charge, then add."""

    def run(fused: bool) -> list[Any]:
        heap, budget = JsHeap(32), HostBudget(limit)
        if fused:
            clone, add = heap.charged_cloner(budget, SLOT_BYTES, "c"), heap.charged_adder(budget, SLOT_BYTES, "a")
        else:

            def clone(index: int) -> int:
                budget.charge(SLOT_BYTES, "c")
                return heap.add(heap.get(index))

            def add(value: Any) -> int:
                budget.charge(SLOT_BYTES, "a")
                return heap.add(value)

        seen: list[Any] = []
        held: list[int] = []
        for n, op in enumerate(ops):
            try:
                if op == "add":
                    held.append(add(n))
                elif op == "drop" and held:
                    heap.drop(held.pop(0))
                elif op == "clone" and held:
                    held.append(clone(held[-1]))
                elif op == "clone_bad":
                    clone(10_000 if n % 2 else -3)
                elif op == "clone_dropped" and held:
                    gone = held.pop()
                    heap.drop(gone)
                    clone(gone)
                seen.append(("ok", list(held), [heap.get(i) for i in held]))
            except (HeapError, ResourceExhausted) as exc:
                seen.append(("error", type(exc).__name__, str(exc)))
            seen.append((budget.used, heap.live_count(), heap.peak))
        return seen

    assert run(fused=True) == run(fused=False)


@pytest.mark.parametrize("what", ["adder", "cloner"])
def test_over_budget_names_the_import_and_charges_nothing(what: str) -> None:
    heap, budget = JsHeap(32), HostBudget(SLOT_BYTES)
    index = heap.add("v")
    op = heap.charged_adder(budget, SLOT_BYTES, "imp") if what == "adder" else heap.charged_cloner(
        budget, SLOT_BYTES, "imp"
    )
    op("v" if what == "adder" else index)
    with pytest.raises(ResourceExhausted, match="import imp asked the host for"):
        op("v" if what == "adder" else index)
    assert budget.used == SLOT_BYTES and heap.live_count() == 2
