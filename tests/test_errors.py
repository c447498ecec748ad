"""Every failure a user can meet names what it is about."""

from __future__ import annotations

import logging

import pytest

import realm_wasmer as rw
from realm_wasmer.host.heap import HeapError

from .conftest import REALM_WASM, wat

GROW = """(module
  (import "env" "grow_then_write" (func $h (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (result i32) i32.const 3 call $h)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))"""


def test_on_missing_error_lists_every_unresolved_import() -> None:
    with pytest.raises(rw.UnresolvedImport) as info:
        rw.load(REALM_WASM, on_missing="error")
    names = {name for _, name, _ in info.value.imports}
    assert names == {"realm_store_model", "realm_next_token"}
    assert "env.realm_store_model (i32, i32, i32) -> (i32)" in str(info.value)


def test_on_missing_trap_names_the_import_when_called(engine: str) -> None:
    instance = rw.load(REALM_WASM, engine=engine)
    from realm_wasmer.demo import tiny_gguf

    with instance.construct("Realm") as realm:
        ptr, length = instance.abi.pass_bytes(tiny_gguf(["a", "b"]))
        with pytest.raises(rw.UnresolvedImport, match=r"env\.realm_store_model .* no handler"):
            instance.call_retptr("realm_loadModel", realm.ptr, ptr, length, words=2)
        # The exception abandoned loadModel's frames with its &mut borrow held:
        # the cell's borrow flag is still set, so the instance is poisoned.
        assert instance.memory.u32(realm.ptr) == 0xFFFFFFFF
        assert instance.poisoned


def test_on_missing_stub_counts_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    from realm_wasmer.demo import tiny_gguf

    instance = rw.load(REALM_WASM, on_missing="stub")
    with caplog.at_level(logging.WARNING, logger="realm_wasmer.imports"), instance.construct("Realm") as realm:
        ptr, length = instance.abi.pass_bytes(tiny_gguf(["a", "b"]))
        assert instance.call_retptr("realm_loadModel", realm.ptr, ptr, length, words=2) == (0, 0)
    assert instance.stats()["stub_calls"] == {"env.realm_store_model": 1}
    assert "stubbed import env.realm_store_model" in caplog.text


def test_trapping_guest_poisons_the_instance(engine: str) -> None:
    instance = rw.load(REALM_WASM, engine=engine)
    with pytest.raises(rw.GuestTrap) as info:
        instance.call("realm_isLoaded", 0xFFFFFFF0 - 2**32)  # a pointer far outside memory
    assert info.value.export == "realm_isLoaded"
    assert info.value.message == "out of bounds memory access"
    assert instance.poisoned
    with pytest.raises(rw.PoisonedInstance, match="reset"):
        instance.call("realm_isLoaded", 0)
    fresh = instance.reset()
    with fresh.construct("Realm") as realm:
        assert fresh.call("realm_isLoaded", realm.ptr) == 0


def test_raising_handler_becomes_host_error_naming_import_and_export(engine: str) -> None:
    from realm_wasmer.demo import tiny_gguf

    def refuse(caller: rw.Caller, ptr: int, length: int, model_id: int) -> int:
        raise ValueError("disk full")

    instance = rw.load(REALM_WASM, engine=engine, imports=rw.Imports({("env", "realm_store_model"): refuse}))
    with instance.construct("Realm") as realm:
        ptr, length = instance.abi.pass_bytes(tiny_gguf(["a"]))
        with pytest.raises(rw.HostError, match="env.realm_store_model.*realm_loadModel.*disk full") as info:
            instance.call_retptr("realm_loadModel", realm.ptr, ptr, length, words=2)
        assert isinstance(info.value.__cause__, ValueError)
        assert instance.poisoned


def test_memory_grow_inside_a_call_keeps_views_fresh(engine: str) -> None:
    import wasmtime

    def grow_then_write(caller: rw.Caller, value: int) -> int:
        before = caller.memory.size
        caller.call("grow", 2)  # re-entrant call that grows memory
        after = caller.memory.size
        caller.memory.set_u32(after - 4, value)  # beyond the old end: needs a fresh view
        return after - before

    imports = rw.Imports({("env", "grow_then_write"): grow_then_write})
    instance = rw.load(bytes(wasmtime.wat2wasm(GROW)), engine=engine, imports=imports)
    assert instance.call("run") == 2 * 65536
    assert instance.memory.size == 3 * 65536
    assert instance.memory.u32(3 * 65536 - 4) == 3


def test_guest_memory_bounds_are_checked() -> None:
    instance = rw.load(REALM_WASM)
    size = instance.memory.size
    with pytest.raises(rw.GuestMemoryError, match=f"outside linear memory of {size:#x} bytes"):
        instance.memory.read(size - 2, 4)


def test_unknown_export_suggests_close_names() -> None:
    instance = rw.load(REALM_WASM)
    with pytest.raises(rw.ExportNotFound, match="did you mean realm_new"):
        instance.call("realm_neww", 0)


def test_throw_intrinsic_raises_js_error() -> None:
    instance = rw.load(wat("pattern3_retptr"))
    heap_index = instance.heap.add("x")
    assert instance.heap.take(heap_index) == "x"
    with pytest.raises(HeapError, match="dropped twice"):
        instance.heap.drop(heap_index)


def test_calling_a_non_function_export_is_a_clear_error() -> None:
    instance = rw.load(REALM_WASM)
    with pytest.raises(rw.ExportNotFound, match="'memory' is not a function"):
        instance.call("memory")
