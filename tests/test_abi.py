"""Calling conventions on the Realm fixture's rt_* exports (Python models from
wasm/realm/README.md), catch imports, and externref on wasmer."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import realm_wasmer as rw

from .conftest import REALM_WASM

CATCH_WAT = """(module
  (import "wbg" "__wbg_parse_def2e24ef1252aff" (func $parse (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $exn (export "exn") (mut i32) (i32.const 0))
  (global $has (mut i32) (i32.const 0))
  (func (export "__wbindgen_exn_store") (param i32) local.get 0 global.set $exn i32.const 1 global.set $has)
  ;; returns the parse result, or -1000 - exn index when the import threw (take_last_exception)
  (func (export "try_parse") (param i32 i32) (result i32) (local $r i32)
    local.get 0 local.get 1 call $parse local.set $r
    global.get $has if (result i32) i32.const 0 global.set $has i32.const -1000 global.get $exn i32.sub
    else local.get $r end))
"""
GLUE = "export function __wbg_parse_def2e24ef1252aff() { return handleError(function (arg0, arg1) {"


@pytest.fixture(scope="module", params=["wasmer-cranelift", "wasmtime"])
def realm(request: pytest.FixtureRequest) -> rw.Instance:
    return rw.load(REALM_WASM, engine=str(request.param))


@settings(max_examples=25, deadline=None)
@given(data=st.binary(max_size=300))
def test_vec_u8_round_trip(realm: rw.Instance, data: bytes) -> None:
    base = realm.stats()["heap_live"]
    ptr, count = realm.abi.pass_array(data)
    out_ptr, out_len = realm.call_retptr("rt_vec_u8", ptr, count, words=2)
    assert realm.abi.take_vec(out_ptr, out_len, "u1").tobytes() == data[::-1]
    assert realm.stats()["heap_live"] == base


@settings(max_examples=25, deadline=None)
@given(values=st.lists(st.floats(width=32, allow_nan=False, allow_infinity=False), max_size=64))
def test_vec_f32_round_trip(realm: rw.Instance, values: list[float]) -> None:
    ptr, count = realm.abi.pass_array(np.array(values, dtype=np.float32))
    out = realm.abi.take_vec(*realm.call_retptr("rt_vec_f32", ptr, count, words=2), "f4")
    with np.errstate(over="ignore"):  # f32 overflow to inf, as in Rust
        expected = np.array(values, dtype=np.float32) * np.float32(2)
    np.testing.assert_array_equal(out, expected)


@settings(max_examples=25, deadline=None)
@given(values=st.lists(st.integers(0, 2**32 - 1), max_size=64))
def test_boxed_u32_round_trip(realm: rw.Instance, values: list[int]) -> None:
    ptr, count = realm.abi.pass_array(np.array(values, dtype=np.uint32))
    out = realm.abi.take_vec(*realm.call_retptr("rt_boxed_u32", ptr, count, words=2), "u4")
    assert out.tolist() == [(v + 1) & 0xFFFFFFFF for v in values]


@settings(max_examples=30, deadline=None)
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80))
def test_string_round_trip(realm: rw.Instance, text: str) -> None:
    ptr, length = realm.abi.pass_string(text)
    assert realm.abi.take_string(*realm.call_retptr("rt_string", ptr, length, words=2)) == text[::-1]


def test_call_result_raises_js_error_with_the_rust_message(realm: rw.Instance) -> None:
    assert realm.call_result("rt_result", 21) == (42,)
    with pytest.raises(rw.JsError, match="negative: -5") as info:
        realm.call_result("rt_result", -5)
    assert isinstance(info.value.value, rw.JsErrorValue)
    assert realm.stats()["heap_live"] == 0


def test_lone_surrogates_are_refused_before_the_guest(realm: rw.Instance) -> None:
    calls = realm.calls
    with pytest.raises(rw.RealmWasmerError, match="surrogates not allowed"):
        realm.abi.pass_string("a\ud800b")
    assert realm.calls == calls


@pytest.mark.parametrize("engine", ["wasmer-cranelift", "wasmtime"])
@pytest.mark.parametrize("how", ["glue", "register"])
def test_catch_import_turns_an_exception_into_err(engine: str, how: str) -> None:
    import json

    import wasmtime

    def parse(caller: rw.Caller, ptr: int, length: int) -> int:
        return caller.heap.add(json.loads(caller.memory.string(ptr, length)))

    imports = rw.Imports()
    imports.register("wbg", "__wbg_parse", parse, match="stripped", catch=True if how == "register" else None)
    instance = rw.load(bytes(wasmtime.wat2wasm(CATCH_WAT)), engine=engine, imports=imports,
                       glue=GLUE if how == "glue" else None)
    instance.memory.write(64, b"[1, 2]")
    ok = instance.call("try_parse", 64, 6)
    assert ok >= instance.heap.reserved and instance.heap.take(ok) == [1, 2]
    instance.memory.write(64, b"[1, 2")
    failed = instance.call("try_parse", 64, 5)
    assert failed <= -1000, "the import returned a typed zero and the guest saw Err"
    error = instance.heap.take(-1000 - failed)
    assert isinstance(error, rw.JsErrorValue) and error.name == "JSONDecodeError"
    assert not instance.poisoned and instance.stats()["heap_live"] == 0


def test_without_catch_the_exception_propagates() -> None:
    import wasmtime

    def parse(caller: rw.Caller, ptr: int, length: int) -> int:
        raise ValueError("boom")

    instance = rw.load(bytes(wasmtime.wat2wasm(CATCH_WAT)),
                       imports=rw.Imports({("wbg", "__wbg_parse_def2e24ef1252aff"): parse}))
    with pytest.raises(rw.HostError, match="boom"):
        instance.call("try_parse", 0, 0)


def test_externref_exports_cross_wasmer_lowered_and_are_refused_without_the_transform() -> None:
    import wasmtime

    data = bytes(wasmtime.wat2wasm('(module (func (export "id") (param externref) (result externref) local.get 0))'))
    for engine in ("wasmer-cranelift", "wasmtime"):
        instance = rw.load(data, engine=engine)
        assert instance.call("id", "kept") == "kept"
        assert instance.call("id", None) is None
    with pytest.raises(rw.EngineRefused, match="externref.*engine='wasmtime'"):
        rw.load(data, engine="wasmer-cranelift", transforms="none")


def test_externref_import_handlers_see_values_on_wasmer() -> None:
    import wasmtime

    data = bytes(wasmtime.wat2wasm('(module (import "env" "h" (func $h (param externref) (result i32)))'
                                   ' (func (export "run") (result i32) ref.null extern call $h))'))
    seen: list[object] = []
    handlers = rw.Imports({("env", "h"): lambda caller, value: seen.append(value) or 7})
    for engine in ("wasmer-cranelift", "wasmtime"):
        assert rw.load(data, engine=engine, imports=handlers).call("run") == 7
    assert seen == [None, None]
    with pytest.raises(rw.EngineRefused, match=r"import env\.h.*engine='wasmtime'"):
        rw.load(data, imports=handlers, transforms="none")


def test_a_wasmer_panic_is_an_engine_panic_and_poisons(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the load-time lowering and refusal, an externref crossing makes wasmer
    panic inside the call; the PanicException (a BaseException) is caught at the engine
    boundary."""
    import wasmtime

    from realm_wasmer.engines.wasmer_engine import WasmerEngine

    monkeypatch.setattr(WasmerEngine, "check_module", lambda self, module: None)
    monkeypatch.setattr(WasmerEngine, "check_unprovided", lambda self, needs, provided: None)
    data = bytes(wasmtime.wat2wasm('(module (import "env" "h" (func $h (param externref) (result i32)))'
                                   ' (func (export "run") (result i32) ref.null extern call $h))'))
    instance = rw.load(data, imports=rw.Imports({("env", "h"): lambda caller, value: 7}),
                       cache=rw.ArtifactCache.disabled(), transforms="none")
    with pytest.raises(rw.EnginePanic, match="not implemented"):
        instance.call("run")
    assert instance.poisoned


def test_stripped_registration_answering_two_bindings_is_refused() -> None:
    import wasmtime

    data = bytes(wasmtime.wat2wasm('(module (import "wbg" "__wbg_new_898a68150f225f2e" (func (result i32)))'
                                   ' (import "wbg" "__wbg_new_b51585de1b234aff" (func (result i32))))'))
    imports = rw.Imports()
    imports.register("wbg", "__wbg_new", lambda caller: 0, match="stripped")
    with pytest.raises(rw.RealmWasmerError, match="would answer 2 different imports.*exact name"):
        rw.load(data, imports=imports)


def test_wrap_owns_a_returned_object_and_import_calls_are_counted(realm: rw.Instance) -> None:
    with realm.construct("Realm") as owner:
        config = realm.wrap("WasmGenerationConfig", realm.call("realm_config", owner.ptr))
        assert realm.call("wasmgenerationconfig_maxTokens", config.ptr) == 128
        assert realm.stats()["objects_live"] == 2
        config.close()
    assert realm.stats()["objects_live"] == 0
    log_import = next(name for name in realm.import_calls if "__wbg_log_" in name)
    assert realm.import_calls[log_import] >= 1


def test_integer_helpers() -> None:
    from realm_wasmer.host.abi import OPTION_F64_NONE, check_range, decode_option_f64, signed, unsigned

    assert unsigned(-1) == 0xFFFFFFFF and unsigned(-1, 64) == 2**64 - 1
    assert signed(0xFF, 8) == -1 and signed(0x7F, 8) == 127
    assert check_range(2**32 - 1, 32, False) == 2**32 - 1
    with pytest.raises(OverflowError, match=r"n=4294967296 does not fit in u32"):
        check_range(2**32, 32, False, "n")
    assert decode_option_f64(OPTION_F64_NONE) is None and decode_option_f64(7.0) == 7


@settings(max_examples=40, deadline=None)
@given(value=st.integers(-(2**63), 2**63 - 1))
def test_i64_and_u64_round_trip(realm: rw.Instance, value: int) -> None:
    from realm_wasmer.host.abi import signed, unsigned

    assert realm.call("rt_i64", value) == signed(value + 1, 64)
    assert unsigned(realm.call("rt_u64", value), 64) == unsigned(value + 1, 64)


def test_a_funcref_crossing_is_refused_on_wasmer_before_it_panics() -> None:
    """Found by the thorough fuzz campaign (wasm-tools smith): wasmer-python panics
    ('not implemented') when a funcref crosses into Python; the externref lowering
    does not cover funcref, so the module is refused, naming the export."""
    import wasmtime

    data = bytes(wasmtime.wat2wasm('(module (func (export "takes") (param funcref)))'))
    for engine in ("wasmer-cranelift", "wasmer-singlepass", "wasmer-llvm"):
        with pytest.raises(rw.EngineRefused, match=r"funcref across the host boundary \(export takes\).*wasmtime"):
            rw.load(data, engine=engine, cache=rw.ArtifactCache.disabled())
    assert rw.load(data, engine="wasmtime").call("takes", None) is None


def test_simd_is_refused_on_singlepass_before_it_aborts() -> None:
    """Found by the thorough fuzz campaign (smith1446): wasmer 1.1.0's singlepass compiler
    panics on v128 and, after other modules, panicked while panicking (the process aborted)."""
    import wasmtime

    data = bytes(wasmtime.wat2wasm('(module (func (export "lane") (param v128) (result i32) '
                                   'local.get 0 i32x4.extract_lane 1))'))
    with pytest.raises(rw.EngineRefused, match=r"singlepass compiler has no SIMD.*\(v128\) -> \(i32\)"):
        rw.load(data, engine="wasmer-singlepass", cache=rw.ArtifactCache.disabled())
    from realm_wasmer.engines.base import module_needs
    from realm_wasmer.wasm import parse

    assert module_needs(parse(data))["simd"] == "(v128) -> (i32)"
    rw.load(data, engine="wasmer-cranelift", cache=rw.ArtifactCache.disabled())  # cranelift compiles it
