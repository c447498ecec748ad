"""The engine registry: names, availability with reasons, and known refusals."""

from __future__ import annotations

import pytest

import realm_wasmer as rw
from realm_wasmer import engines
from realm_wasmer.engines import llvm_loader

from .conftest import wat

ADD = "(module (func (export \"add\") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))"


def test_registry_names_and_default() -> None:
    assert engines.NAMES == ("wasmer-cranelift", "wasmer-singlepass", "wasmer-llvm", "wasmtime")
    assert engines.DEFAULT == "wasmer-cranelift"
    assert [a.name for a in engines.availability()] == list(engines.NAMES)


def test_unknown_engine_is_a_clear_error() -> None:
    with pytest.raises(rw.RealmWasmerError, match="unknown engine 'v8'.*wasmer-cranelift"):
        engines.get("v8")


@pytest.mark.parametrize("name", ["wasmer-cranelift", "wasmer-singlepass", "wasmtime"])
def test_engine_runs_a_module(name: str) -> None:
    import wasmtime

    instance = rw.load(bytes(wasmtime.wat2wasm(ADD)), engine=name)
    assert instance.call("add", 2, 40) == 42


def test_singlepass_refuses_multi_value_modules_with_the_reason() -> None:
    with pytest.raises(rw.EngineRefused, match="singlepass compiler cannot load multi-value modules") as info:
        rw.load(wat("multivalue_result"), engine="wasmer-singlepass")
    assert "(i32, i32, i32)" in str(info.value)


def test_llvm_import_never_kills_the_process() -> None:
    # The probe runs in a subprocess; whatever it finds, this process survives.
    availability = engines.lookup("wasmer-llvm").availability()
    assert availability.name == "wasmer-llvm"
    if availability.available:
        import wasmtime

        instance = rw.load(bytes(wasmtime.wat2wasm(ADD)), engine="wasmer-llvm")
        assert instance.call("add", 2, 3) == 5
    else:
        assert availability.reason and "wasmer_compiler_llvm" in availability.reason
        with pytest.raises(rw.EngineUnavailable, match="wasmer-llvm"):
            engines.get("wasmer-llvm")


def test_llvm_loader_patches_only_a_private_copy() -> None:
    lib = llvm_loader.bundled_libtinfo()
    assert lib is not None, "wasmer-compiler-llvm 1.1.0 bundles libtinfo"
    original = lib.read_bytes()
    start, name = llvm_loader.soname_offset(original)
    assert name.startswith(b"libtinfo-") and name.endswith(b".so.5")
    patched = llvm_loader.patched_libtinfo(original)
    assert len(patched) == len(original)
    assert llvm_loader.soname_offset(patched)[1] == b"libtinfo.so.5"
    assert lib.read_bytes() == original  # the installed file is untouched
    differing = [i for i, (a, b) in enumerate(zip(original, patched, strict=True)) if a != b]
    assert differing and all(start <= i < start + len(name) for i in differing)


def test_trap_messages_are_canonical_across_engines() -> None:
    import wasmtime

    module = bytes(wasmtime.wat2wasm('(module (memory 1) (func (export "oob") (result i32) i32.const 70000 i32.load)'
                                     ' (func (export "boom") unreachable))'))
    for name in ("wasmer-cranelift", "wasmtime"):
        instance = rw.load(module, engine=name)
        with pytest.raises(rw.GuestTrap) as info:
            instance.call("oob")
        assert info.value.message == "out of bounds memory access"
        instance = instance.reset()
        with pytest.raises(rw.GuestTrap) as info:
            instance.call("boom")
        assert info.value.message == "unreachable"
