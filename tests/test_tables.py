"""The table manager: calls through a funcref table (closure invoke/destroy)
natively on wasmtime and through rewriter-style trampolines on wasmer; the
raw module's host-side externref table."""

from __future__ import annotations

import pytest

import realm_wasmer as rw
from realm_wasmer.host.tables import trampoline_name
from realm_wasmer.wasm import FuncType

TABLE = """
  (memory (export "memory") 1)
  (global $dropped (export "dropped") (mut i32) (i32.const 0))
  (type $ii_i (func (param i32 i32) (result i32)))
  (type $ii_v (func (param i32 i32)))
  (table $t (export "__wbindgen_export_2") 3 funcref)
  (elem (i32.const 0) $add $mul $dtor)
  (func $add (type $ii_i) local.get 0 local.get 1 i32.add)
  (func $mul (type $ii_i) local.get 0 local.get 1 i32.mul)
  (func $dtor (type $ii_v) local.get 0 local.get 1 i32.add global.set $dropped)
"""
# What a module rewriter would inject for wasmer: one call_indirect trampoline per signature.
TRAMPOLINES = """
  (func (export "__realm_call_indirect_ii_i") (param i32 i32 i32) (result i32)
    local.get 1 local.get 2 local.get 0 call_indirect $t (type $ii_i))
  (func (export "__realm_call_indirect_ii_v") (param i32 i32 i32)
    local.get 1 local.get 2 local.get 0 call_indirect $t (type $ii_v))
"""
II_I = FuncType(("i32", "i32"), ("i32",))


def module(with_trampolines: bool) -> bytes:
    import wasmtime

    return bytes(wasmtime.wat2wasm("(module" + TABLE + (TRAMPOLINES if with_trampolines else "") + ")"))


def test_trampoline_names_encode_the_signature() -> None:
    assert trampoline_name(II_I) == "__realm_call_indirect_ii_i"
    assert trampoline_name(FuncType((), ())) == "__realm_call_indirect_v_v"
    assert trampoline_name(FuncType(("i64", "f64"), ("f32",))) == "__realm_call_indirect_IF_f"


@pytest.mark.parametrize("engine", ["wasmtime", "wasmer-cranelift"])
def test_call_through_the_function_table(engine: str) -> None:
    instance = rw.load(module(with_trampolines=engine != "wasmtime"), engine=engine)
    assert instance.tables.function_table() == "__wbindgen_export_2"
    assert instance.tables.call_function(0, II_I, 2, 3) == 5
    assert instance.tables.call_function(1, II_I, 2, 3) == 6
    instance.tables.destroy_closure(2, 40, 2)
    assert instance.engine_instance.global_get("dropped") == 42


def test_wasmer_without_trampolines_names_the_export_it_needs() -> None:
    instance = rw.load(module(with_trampolines=False), engine="wasmer-cranelift", transforms="none")
    with pytest.raises(rw.RealmWasmerError, match=r"needs the trampoline export __realm_call_indirect_ii_i"):
        instance.tables.call_function(0, II_I, 2, 3)


def test_raw_module_externref_table_grow_returns_the_old_size() -> None:
    from .conftest import REALM_WASM

    instance = rw.load(REALM_WASM)
    # __externref_table_alloc reaches __wbindgen_externref_table_grow (host side) the first time.
    first = instance.call("__externref_table_alloc")
    assert instance.tables.externrefs, "the guest grew the host-side table"
    assert 0 <= first < len(instance.tables.externrefs)
    before = len(instance.tables.externrefs)
    assert instance.tables.externref_grow(4) == before
    assert len(instance.tables.externrefs) == before + 4
