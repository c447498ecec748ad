"""The hot paths of issue 12 keep the semantics of the checked ones.

``GuestCalls.caller(export)`` (what the bindings and the allocator call) counts,
translates traps, poisons and refuses foreign threads as ``Instance.call`` does;
``GuestMemory.trusted`` refuses a range past the end and sees growth; handles are
counted without a WeakSet; the console log stays bounded however many messages
the guest writes. No timing here: speed lives in ``benchmarks/``.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

import realm_wasmer as rw
from realm_wasmer.host.context import CONSOLE_LIMIT

from .conftest import REALM_WASM, realm_imports

MASK = 0xFFFFFFFF


def _bound(engine: str) -> Any:
    return rw.bind(REALM_WASM, engine=engine, imports=realm_imports()[0])


def _in_thread(function: Callable[[], Any]) -> BaseException | None:
    raised: list[BaseException] = []

    def run() -> None:
        try:
            function()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            raised.append(exc)

    thread = threading.Thread(target=run, name="foreign")
    thread.start()
    thread.join(60)
    return raised[0] if raised else None


def test_caller_counts_and_returns_as_call(engine: str) -> None:
    instance = rw.load(REALM_WASM, engine=engine, imports=realm_imports()[0])
    caller = instance.context.calls.caller("rt_i32")
    assert caller is instance.context.calls.caller("rt_i32")  # made once
    before = instance.calls
    assert caller(41) == instance.call("rt_i32", 41)
    assert instance.calls == before + 2


def test_caller_trap_poisons_and_names_the_export(engine: str) -> None:
    instance = rw.load(REALM_WASM, engine=engine, imports=realm_imports()[0])
    caller = instance.context.calls.caller("rt_string")
    with pytest.raises(rw.GuestTrap) as trapped:
        caller(0xFFFFFFF0 - (1 << 32), 0, 0)  # the out-slot lies past the end of memory
    assert trapped.value.export == "rt_string" and trapped.value.__cause__ is None
    assert instance.poisoned
    with pytest.raises(rw.PoisonedInstance):
        caller(0, 0, 0)


def test_caller_refuses_a_foreign_thread_without_poisoning() -> None:
    m = _bound("wasmer-cranelift")
    calls = m.instance.context.calls
    caller = calls.caller("rt_i32")
    assert isinstance(_in_thread(lambda: caller(1)), rw.ForeignThread)
    assert isinstance(_in_thread(lambda: calls.caller("__realm_truth_realm_size")), rw.ForeignThread)  # not made there
    assert isinstance(_in_thread(lambda: m.rt_string("x")), rw.ForeignThread)
    assert not m.instance.poisoned and m.rt_string("owner") == "renwo"


@given(text=st.text(max_size=300))
def test_bound_strings_round_trip_and_free_what_they_take(text: str) -> None:
    m = _bound_cached()
    crossings = m.instance.abi.crossings
    assert m.rt_string(text) == text[::-1]
    # malloc for the argument; free for the String result unless it is empty
    assert m.instance.abi.crossings - crossings == (2 if text else 1)


_CACHE: dict[str, Any] = {}


def _bound_cached() -> Any:
    if "m" not in _CACHE:
        _CACHE["m"] = _bound("wasmer-cranelift")
        _CACHE["m"].rt_string("warm")  # the first retptr call allocates the reusable out-slot
    return _CACHE["m"]


def test_trusted_view_checks_bounds_and_sees_growth(engine: str) -> None:
    instance = rw.load(REALM_WASM, engine=engine, imports=realm_imports()[0])
    memory = instance.memory
    size = memory.size
    assert len(memory.trusted(size - 4, 4)) == size
    with pytest.raises(rw.GuestMemoryError):
        memory.trusted(size - 3, 4)
    with pytest.raises(rw.GuestMemoryError):
        memory.trusted(-1, 1)
    ptr = instance.abi.malloc(4 * size, 8)  # dlmalloc grows memory for it
    assert memory.size > size
    view = memory.trusted(ptr, 4 * size)
    view[ptr : ptr + 3] = b"abc"
    assert memory.read(ptr, 3) == b"abc"


def test_live_objects_are_counted_through_close_release_and_drop() -> None:
    m = _bound("wasmer-cranelift")
    stats = m.instance.stats
    base = stats().objects_live
    kept = [m.Realm() for _ in range(3)]
    assert stats().objects_live == base + 3
    kept[0].free()
    kept[0].free()  # a second free does nothing
    assert stats().objects_live == base + 2
    kept[1].handle.release()  # the guest took it by value
    assert stats().objects_live == base + 1
    del kept[2]
    kept.pop()  # dropped: the finalizer frees it
    assert stats().objects_live == base


def test_console_messages_are_bounded_by_count() -> None:
    m = _bound("wasmer-cranelift")
    log = m.instance.console_messages
    start = log.total
    for _ in range(CONSOLE_LIMIT + 50):
        m.Realm().free()  # Realm::new logs one line through the console import
    assert log.total - start == CONSOLE_LIMIT + 50
    assert len(log) == CONSOLE_LIMIT
    assert len(log.since(start)) == CONSOLE_LIMIT  # the oldest are counted, not kept
    assert log[-1] == log.since(log.total - 1)[0]


class _GlueHeap:
    """The glue's slab, transcribed: ``heap``, ``heap_next``, a free slot holding the next free index."""

    def __init__(self, offset: int) -> None:
        self.heap: list[Any] = [None] * (offset + 4)
        self.heap_next = len(self.heap)
        self.reserved = offset + 4

    def add(self, value: Any) -> int:
        if self.heap_next == len(self.heap):
            self.heap.append(len(self.heap) + 1)
        index = self.heap_next
        self.heap_next = self.heap[index]
        self.heap[index] = ("value", value)
        return index

    def drop(self, index: int) -> None:
        if index < self.reserved:
            return
        self.heap[index] = self.heap_next
        self.heap_next = index


@given(ops=st.lists(st.tuples(st.booleans(), st.integers(0, 40)), max_size=200))
def test_heap_slab_hands_out_the_glues_indices(ops: list[tuple[bool, int]]) -> None:
    """The slab's free stack reuses indices in the order of the glue's threaded free
    list (the last dropped first), and holds exactly the live values."""
    heap, glue, live = rw.JsHeap(offset=32), _GlueHeap(32), {}  # type: ignore[var-annotated]
    for is_add, pick in ops:
        if is_add or not live:
            value = object()
            index = heap.add(value)
            assert index == glue.add(value)
            live[index] = value
        else:
            index = sorted(live)[pick % len(live)]
            assert heap.take(index) is live.pop(index)
            glue.drop(index)
            with pytest.raises(rw.errors.HeapError):
                heap.get(index)
    assert heap.live_count() == len(live) and all(heap.get(i) is v for i, v in live.items())
    saved = heap.snapshot()
    extra = heap.add("x")
    heap.restore(saved)
    assert heap.add("x") == extra and heap.live_count() == len(live) + 1


def test_caller_keeps_an_exports_value_conversion() -> None:
    """An export whose values are converted on the way (externref lowered to handles on
    wasmer: ``GuestCalls.export_wrappers``) is called through the conversion, not raw."""
    wasmtime = pytest.importorskip("wasmtime")
    data = bytes(wasmtime.wat2wasm('(module (func (export "id") (param externref) (result externref) local.get 0))'))
    instance = rw.load(data, engine="wasmer-cranelift")
    assert "id" in instance.context.calls.export_wrappers
    marker = object()
    assert instance.context.calls.caller("id")(marker) is marker
    assert instance.call("id", "kept") == "kept"


# -- guarded regions (bindings/region.py): one set of checks for a binding's crossings ------
@given(text=st.text(max_size=40))
def test_a_binding_counts_each_crossing_it_makes(text: str) -> None:
    m = _bound_cached()
    before, crossings = m.instance.calls, m.instance.abi.crossings
    assert m.rt_string(text) == text[::-1]
    # malloc, the export, and free unless the result is empty: one count each, as per-crossing callers counted
    assert m.instance.calls - before == (3 if text else 2)
    assert m.instance.abi.crossings - crossings == (2 if text else 1)


def test_a_binding_on_every_engine_counts_alike(engine: str) -> None:
    m = _bound(engine)
    m.rt_string("warm")
    before = m.instance.calls
    m.rt_string("abc")
    m.rt_string("")
    assert m.instance.calls - before == 5
    realm = m.Realm()
    realm.free()
    assert m.instance.calls - before == 7 and realm.closed


def test_a_host_exception_inside_a_binding_names_its_export_and_poisons(engine: str) -> None:
    from realm_wasmer.demo import EchoModel, tiny_gguf

    class Failing(EchoModel):
        def next_token(self, caller: Any, model_id: int, tokens_ptr: int, tokens_len: int) -> int:
            raise LookupError("no next token")

    m = rw.bind(REALM_WASM, engine=engine, imports=Failing().imports())
    realm = m.Realm()
    realm.loadModel(tiny_gguf(["a", "b", "c", "d"]))
    with pytest.raises(rw.HostError) as failed:
        realm.generate("a b")
    assert failed.value.export == "realm_generate" and failed.value.import_name.endswith("realm_next_token")
    assert isinstance(failed.value.__cause__, LookupError)
    assert m.instance.poisoned and not m.instance.context.calls.busy
    with pytest.raises(rw.PoisonedInstance):
        m.rt_string("after")


def test_a_binding_nested_in_a_handler_keeps_the_outer_calls_slot(engine: str) -> None:
    """A binding called from inside an import handler runs at depth 1: its own out-slot,
    no outermost resets; the outer call's result is intact."""
    from realm_wasmer.demo import EchoModel, tiny_gguf

    inner: list[str] = []
    box: dict[str, Any] = {}

    class Nesting(EchoModel):
        def next_token(self, caller: Any, model_id: int, tokens_ptr: int, tokens_len: int) -> int:
            inner.append(box["m"].rt_string("nested"))
            return super().next_token(caller, model_id, tokens_ptr, tokens_len)

    m = box["m"] = rw.bind(REALM_WASM, engine=engine, imports=Nesting().imports())
    realm = m.Realm()
    realm.loadModel(tiny_gguf(["a", "b", "c", "d", "e"]))
    plain = rw.bind(REALM_WASM, engine=engine, imports=realm_imports()[0])
    expected = plain.Realm()
    expected.loadModel(tiny_gguf(["a", "b", "c", "d", "e"]))
    assert realm.generate("a b") == expected.generate("a b")
    assert inner and set(inner) == {"detsen"}
    assert not m.instance.poisoned and not m.instance.context.calls.busy


# -- constructor and free as guarded regions (bindings/construct.py) ----------------------
def test_bound_constructor_and_free_are_one_guarded_crossing_each() -> None:
    from realm_wasmer.bindings import BoundObject

    m = _bound("wasmer-cranelift")
    instance, stats = m.instance, m.instance.stats
    assert m.Realm.close is not BoundObject.close and m.Realm.free is m.Realm.close
    assert "_raw" in m.Realm.__init__.__wbg_source__  # the constructor's raw callable, in __init__'s own region
    m.Realm().free()  # the first allocates the reusable out-slot
    live, before = stats().objects_live, instance.calls
    realm = m.Realm()
    assert instance.calls == before + 1 and stats().objects_live == live + 1
    # A foreign thread can neither construct nor free; the handle stays open and nothing is poisoned.
    assert isinstance(_in_thread(m.Realm), rw.ForeignThread)
    assert isinstance(_in_thread(realm.free), rw.ForeignThread)
    assert not realm.closed and not instance.poisoned and stats().objects_live == live + 1
    realm.free()
    realm.free()  # a second free does nothing
    assert realm.closed and instance.calls == before + 2 and stats().objects_live == live
    # An object a method returned has a handle of another kind: freed through BoundObject.close.
    returned = m.Realm.withConfig('{"max_tokens": 3}')
    assert returned.handle._kind is not m.Realm().handle._kind
    returned.free()
    assert returned.closed and stats().objects_live == live
    with pytest.raises(rw.UseAfterFree):
        realm.maxTokens  # noqa: B018


def test_bound_free_on_a_poisoned_instance_calls_nothing() -> None:
    m = _bound("wasmer-cranelift")
    realm, stats = m.Realm(), m.instance.stats
    live = stats().objects_live
    with pytest.raises(rw.GuestTrap):
        m.instance.context.calls.caller("rt_string")(0xFFFFFFF0 - (1 << 32), 0, 0)
    calls = m.instance.calls
    realm.free()
    assert realm.closed and stats().objects_live == live - 1 and m.instance.calls == calls
    with pytest.raises(rw.PoisonedInstance):
        m.Realm()


def test_prebuilt_constructor_builds_and_reports_errors_on_every_engine(engine: str) -> None:
    from .conftest import wat

    instance = rw.load(wat("pattern3_retptr"), engine=engine)
    construct = instance.constructor("widget")
    if engine.startswith("wasmer"):  # one generated guarded region
        assert construct.__code__.co_filename.startswith("<realm_wasmer generated")
    with construct(10) as widget:
        assert widget.call("widget_size") == 10 and instance.stats().objects_live == 1
    assert instance.stats().objects_live == 0
    with pytest.raises(rw.JsError, match="size must be >= 0"):
        construct(-1)
    assert instance.stats().heap_live == 0 and instance.stats().objects_live == 0 and not instance.poisoned


def test_a_bound_objects_handle_is_a_face_of_its_own_state() -> None:
    """A bound object holds its handle state itself; ``handle`` is an Object reading and
    writing it (closing either closes both), and holds no cycle that would delay a drop."""
    m = _bound("wasmer-cranelift")
    stats = m.instance.stats
    live, calls = stats().objects_live, m.instance.calls
    realm = m.Realm()
    face = realm.handle
    assert isinstance(face, rw.Object) and face.ptr == realm.ptr and face.constructor.export == "realm_new"
    with face:
        assert stats().objects_live == live + 1
    assert realm.closed and face.closed and stats().objects_live == live
    with pytest.raises(rw.UseAfterFree):
        realm.isLoaded()
    realm.free()  # already closed through the face: nothing more is freed
    assert m.instance.calls == calls + 2 + 1  # the slot's malloc, the constructor, one free
    dropped = m.Realm()
    assert dropped.handle.ptr
    del dropped
    assert stats().objects_live == live  # freed on the drop, not by the garbage collector


def test_poisoned_by_shuts_every_path_and_restore_reopens_it(engine: str) -> None:
    """``GuestCalls.poisoned_by`` (set by a trap, or from outside as the JS runtime does) is
    what the one-comparison gate of the bound callers and regions follows: every path is
    refused while it is set, and usable again once it is cleared (as ``Instance.restore`` does)."""
    m = _bound(engine)
    instance, calls = m.instance, m.instance.context.calls
    expected = m.rt_i32(41)
    paths: list[Callable[[], Any]] = [
        lambda: m.rt_i32(41), lambda: instance.call("rt_i32", 41), lambda: calls.caller("rt_i32")(41), m.Realm,
        lambda: m.rt_string("x"),
    ]
    calls.poisoned_by = rw.RealmWasmerError("poisoned from outside")
    assert instance.poisoned
    for path in paths:
        with pytest.raises(rw.PoisonedInstance, match="poisoned from outside"):
            path()
    calls.poisoned_by = None
    assert not instance.poisoned
    assert m.rt_i32(41) == instance.call("rt_i32", 41) == calls.caller("rt_i32")(41) == expected
    assert m.rt_string("abc") == "cba"
    m.Realm().free()


def test_a_poisoned_instance_still_names_a_foreign_caller() -> None:
    """The thread check comes first when the gate is shut: a foreign thread calling a
    poisoned instance is told it is foreign, naming both threads (as before the gate)."""
    m = _bound("wasmer-cranelift")
    calls = m.instance.context.calls
    realm = m.Realm()
    calls.poisoned_by = rw.RealmWasmerError("poisoned")
    for path in (lambda: m.rt_i32(1), lambda: m.instance.call("rt_i32", 1), m.Realm):
        refused = _in_thread(path)
        assert isinstance(refused, rw.ForeignThread)
        assert refused.caller == "foreign" and refused.owner == threading.current_thread().name
    realm.free()  # on the owner's thread: a poisoned instance closes the handle, calls nothing
    assert realm.closed


def test_bound_calls_reset_the_last_import_per_outermost_call(engine: str) -> None:
    """The outermost resets of the bound paths (a region, or the bound callers elsewhere):
    a call that imports nothing leaves no last import and no pending host exception of an
    earlier call (as an import call that raised leaves them: the label, then the pair)."""
    m = _bound(engine)
    calls = m.instance.context.calls
    realm = m.Realm()
    for call in (lambda: m.rt_string("x"), lambda: realm.maxTokens, lambda: m.rt_i32(1)):
        calls._last_import, calls._host_exception = "env.earlier", ("env.earlier", LookupError("earlier"))
        imports = sum(calls.import_calls.values())
        call()
        assert sum(calls.import_calls.values()) == imports  # imported nothing...
        assert calls.last_import is None and calls._host_exception is None  # ...so nothing is left
    assert not m.instance.poisoned
