"""Typed bindings of the Realm fixture, generated from its own descriptors.

Every ``rt_*`` export is round-tripped with Hypothesis-generated values and
compared with the Python model of its Rust function (wasm/realm/README.md), on
wasmer-cranelift and wasmtime. Bad arguments must raise before any guest call.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import inspect
import math
import os
import struct
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import realm_wasmer as rw
from realm_wasmer.bindings import (
    ArgumentError,
    ArgumentRangeError,
    BindingError,
    BoundModule,
    BoundObject,
    JsResultError,
    bind,
    snake_case,
)
from realm_wasmer.bindings import cli as bindings_cli
from realm_wasmer.bindings.descriptors import UnsupportedSchema
from realm_wasmer.bindings.stubs import generate_stub
from realm_wasmer.demo import EchoModel, tiny_gguf

from .conftest import REALM_WASM, ROOT

ENGINES = ["wasmer-cranelift", "wasmtime"]
PROPERTY = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VOCAB = ["<unk>", "hello", "world", "realm", "!"]


@pytest.fixture(scope="module", params=ENGINES)
def m(request: pytest.FixtureRequest) -> BoundModule:
    model = EchoModel()
    bound = bind(REALM_WASM, engine=str(request.param), imports=model.imports())
    bound.echo_model = model  # type: ignore[attr-defined]
    return bound


@pytest.fixture(scope="module")
def gguf_bytes() -> bytes:
    return tiny_gguf(VOCAB)


@contextlib.contextmanager
def no_guest_call(m: BoundModule) -> Iterator[None]:
    calls, crossings = m.instance.calls, m.instance.abi.crossings
    yield
    assert m.instance.calls == calls, "a rejected call must not reach the guest"
    assert m.instance.abi.crossings == crossings


def f32(x: float) -> float:
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.float32(x))


def same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


# -- the decoded API -----------------------------------------------------------


def test_bind_exposes_classes_and_functions_from_the_module_alone(m: BoundModule) -> None:
    assert set(m.classes) == {"Realm", "WasmGenerationConfig"}
    assert m.Realm is m.classes["Realm"] and issubclass(m.Realm, BoundObject)
    assert m.unbound == {}
    assert {n for n in m.functions if n.startswith("rt_")} == {
        "rt_u8", "rt_i8", "rt_u16", "rt_i16", "rt_u32", "rt_i32", "rt_u64", "rt_i64", "rt_f32", "rt_f64",
        "rt_bool", "rt_char", "rt_string", "rt_str", "rt_vec_u8", "rt_slice_u8", "rt_vec_f32", "rt_boxed_u32",
        "rt_opt_u32", "rt_opt_string", "rt_result", "rt_jsvalue", "rt_jsvalue_is_string",
    }  # fmt: skip
    assert "realm_by_ref" in m.functions
    for name in ["loadModel", "isLoaded", "modelInfo", "generate", "config", "setConfig", "withConfig"]:
        assert callable(getattr(m.Realm, name))
        assert getattr(m.Realm, snake_case(name)) is getattr(m.Realm, name)
    for cls in (m.Realm, m.WasmGenerationConfig):
        for prop in ["maxTokens", "temperature", "topP", "topK", "repetitionPenalty"]:
            assert isinstance(getattr(cls, prop), property)
            assert getattr(cls, snake_case(prop)) is getattr(cls, prop)
            assert getattr(cls, prop).fset is not None


def test_signatures_are_visible_to_inspect_and_help(m: BoundModule) -> None:
    assert str(inspect.signature(m.Realm)) == "() -> None"
    assert str(inspect.signature(m.WasmGenerationConfig)) == "() -> None"
    assert str(inspect.signature(m.Realm.generate)) == "(self, prompt: str) -> str"
    assert str(inspect.signature(m.Realm.withConfig)) == "(json: str) -> realm.Realm"
    assert str(inspect.signature(m.Realm.isLoaded)) == "(self) -> bool"
    sig = inspect.signature(m.Realm.setConfig)
    assert list(sig.parameters) == ["self", "config"]
    assert sig.parameters["config"].annotation is m.WasmGenerationConfig
    assert str(inspect.signature(m.rt_opt_u32)) == "(x: Optional[int] = None) -> Optional[int]"
    assert str(inspect.signature(m.rt_u8)) == "(x: int) -> int"
    load = inspect.signature(m.Realm.loadModel)
    assert list(load.parameters) == ["self", "bytes"] and load.return_annotation is None
    assert typing.get_args(load.parameters["bytes"].annotation)[:3] == (bytes, bytearray, memoryview)
    text = pydoc_text(m.Realm)
    assert "generate(self, prompt: str) -> str" in text
    assert "loadModel(self, bytes:" in text and "maxTokens" in text
    assert "realm_generate" in text and "Result<String, JsValue>" in text


def pydoc_text(obj: Any) -> str:
    import pydoc

    return pydoc.render_doc(obj, renderer=pydoc.plaintext)


# -- integers -------------------------------------------------------------------

INTS: list[tuple[str, int, bool, Callable[[int], int]]] = [
    ("rt_u8", 8, False, lambda x: (x + 1) & 0xFF),
    ("rt_i8", 8, True, lambda x: ((x + 1 + 0x80) & 0xFF) - 0x80),
    ("rt_u16", 16, False, lambda x: (x + 1) & 0xFFFF),
    ("rt_i16", 16, True, lambda x: ((x + 1 + 0x8000) & 0xFFFF) - 0x8000),
    ("rt_u32", 32, False, lambda x: (x + 1) & 0xFFFFFFFF),
    ("rt_i32", 32, True, lambda x: ((x + 1 + 2**31) % 2**32) - 2**31),
    ("rt_u64", 64, False, lambda x: (x + 1) & (2**64 - 1)),
    ("rt_i64", 64, True, lambda x: ((x + 1 + 2**63) % 2**64) - 2**63),
]


def bounds(bits: int, signed: bool) -> tuple[int, int]:
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)


@pytest.mark.parametrize("name,bits,signed,model", INTS, ids=[i[0] for i in INTS])
def test_integers_round_trip(m: BoundModule, name: str, bits: int, signed: bool, model: Callable[[int], int]) -> None:
    lo, hi = bounds(bits, signed)
    func = getattr(m, name)

    @PROPERTY
    @given(st.one_of(st.integers(lo, hi), st.sampled_from([lo, hi, 0, lo + 1, hi - 1])))
    def check(x: int) -> None:
        assert func(x) == model(x)
        assert func(np.int64(x) if x < 2**63 else np.uint64(x)) == model(x)

    check()


@pytest.mark.parametrize("name,bits,signed,model", INTS, ids=[i[0] for i in INTS])
def test_integers_out_of_range_are_refused_before_the_call(
    m: BoundModule, name: str, bits: int, signed: bool, model: Callable[[int], int]
) -> None:
    lo, hi = bounds(bits, signed)
    func = getattr(m, name)

    @PROPERTY
    @given(st.one_of(st.integers(max_value=lo - 1), st.integers(min_value=hi + 1)))
    def check(x: int) -> None:
        with no_guest_call(m), pytest.raises(ArgumentRangeError, match=rf"{name}\(\) argument 'x' = .* out of range"):
            func(x)

    check()
    with no_guest_call(m):
        for bad in [1.0, "1", True, None, b"\x01"]:
            with pytest.raises(ArgumentError, match=rf"{name}\(\) argument 'x' must be an int"):
                func(bad)
            with pytest.raises(TypeError):  # ArgumentError is a TypeError
                func(bad)


# -- floats, bool, char -------------------------------------------------------


@PROPERTY
@given(x=st.floats(width=32))
def test_f32_round_trip(m: BoundModule, x: float) -> None:
    assert same_float(m.rt_f32(x), f32(f32(x) * 2))


@PROPERTY
@given(x=st.one_of(st.floats(), st.integers(-(2**53), 2**53)))
def test_f64_round_trip(m: BoundModule, x: float) -> None:
    assert same_float(m.rt_f64(x), float(x) * 2.0)


@PROPERTY
@given(x=st.booleans())
def test_bool_round_trip(m: BoundModule, x: bool) -> None:
    assert m.rt_bool(x) is (not x)
    assert m.rt_bool(np.bool_(x)) is (not x)


@PROPERTY
@given(c=st.characters(exclude_categories=("Cs",)))
def test_char_round_trip(m: BoundModule, c: str) -> None:
    expected = c.upper() if "a" <= c <= "z" else c
    assert m.rt_char(c) == expected


def test_float_bool_char_type_errors(m: BoundModule) -> None:
    with no_guest_call(m):
        for call, message in [
            (lambda: m.rt_f32("1.0"), r"rt_f32\(\) argument 'x' must be a float"),
            (lambda: m.rt_f64(None), r"rt_f64\(\) argument 'x' must be a float"),
            (lambda: m.rt_bool(1), r"rt_bool\(\) argument 'x' must be a bool, got int"),
            (lambda: m.rt_char("ab"), r"rt_char\(\) argument 'c' must be a single character"),
            (lambda: m.rt_char(65), r"rt_char\(\) argument 'c' must be a single character"),
            (lambda: m.rt_char("\ud800"), r"lone surrogate U\+D800"),
        ]:
            with pytest.raises(ArgumentError, match=message):
                call()


# -- strings --------------------------------------------------------------------

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=200)


@PROPERTY
@given(s=st.one_of(TEXT, st.sampled_from(["", "\x00", "\uffff", "\U0010ffff", "é" * 300, "😀🇫🇷", "a\u0301"])))
def test_strings_round_trip(m: BoundModule, s: str) -> None:
    assert m.rt_string(s) == s[::-1]
    assert m.rt_str(s) == len(s)
    assert m.instance.stats()["heap_live"] == 0


@PROPERTY
@given(s=st.one_of(st.none(), st.text(st.characters(exclude_categories=("Cs", "Cn")), max_size=50)))
def test_optional_string_round_trip(m: BoundModule, s: str | None) -> None:
    assert m.rt_opt_string(s) == (None if s is None else s.upper())


@PROPERTY
@given(prefix=TEXT, surrogate=st.integers(0xD800, 0xDFFF), suffix=TEXT)
def test_lone_surrogates_are_refused_before_the_call(m: BoundModule, prefix: str, surrogate: int, suffix: str) -> None:
    text = prefix + chr(surrogate) + suffix
    with no_guest_call(m):
        with pytest.raises(ArgumentError, match=r"rt_string\(\) argument 's' contains the lone surrogate"):
            m.rt_string(text)
        with pytest.raises(ArgumentError, match="lone surrogate"):
            m.rt_opt_string(text)
        with pytest.raises(ArgumentError, match=r"rt_str\(\) argument 's' must be a str, got bytes"):
            m.rt_str(text.encode("utf-8", "surrogatepass"))


# -- arrays ---------------------------------------------------------------------

BUFFERS: list[Callable[[bytes], Any]] = [
    bytes,
    bytearray,
    memoryview,
    lambda b: np.frombuffer(b, dtype=np.uint8),
    list,
]


@PROPERTY
@given(data=st.binary(max_size=300), kind=st.integers(0, len(BUFFERS) - 1))
def test_u8_vectors_and_slices_round_trip(m: BoundModule, data: bytes, kind: int) -> None:
    arg = BUFFERS[kind](data)
    result = m.rt_vec_u8(arg)
    assert type(result) is bytes and result == data[::-1]
    assert m.rt_slice_u8(BUFFERS[kind](data)) == sum(data) & 0xFFFFFFFF


@PROPERTY
@given(values=st.lists(st.floats(width=32), max_size=100), as_array=st.booleans())
def test_f32_vectors_round_trip(m: BoundModule, values: list[float], as_array: bool) -> None:
    arg: Any = np.array(values, dtype=np.float32) if as_array else values
    result = m.rt_vec_f32(arg)
    assert isinstance(result, np.ndarray) and result.dtype == np.float32 and result.shape == (len(values),)
    expected = np.array([f32(f32(x) * 2) for x in values], dtype=np.float32)
    np.testing.assert_array_equal(result, expected)


@PROPERTY
@given(values=st.lists(st.integers(0, 2**32 - 1), max_size=100))
def test_boxed_u32_round_trip(m: BoundModule, values: list[int]) -> None:
    result = m.rt_boxed_u32(values)
    assert isinstance(result, np.ndarray) and result.dtype == np.uint32
    assert result.tolist() == [(x + 1) & 0xFFFFFFFF for x in values]
    assert m.rt_boxed_u32(np.array(values, dtype=np.uint32)).tolist() == result.tolist()


def test_empty_and_large_arrays(m: BoundModule) -> None:
    assert m.rt_vec_u8(b"") == b"" and m.rt_slice_u8(b"") == 0
    assert m.rt_vec_f32([]).shape == (0,) and m.rt_boxed_u32(np.zeros(0, np.uint32)).dtype == np.uint32
    big = np.random.default_rng(1).integers(0, 256, 1 << 20, dtype=np.uint8).tobytes()
    assert m.rt_vec_u8(big) == big[::-1]
    assert m.rt_slice_u8(big) == sum(big) & 0xFFFFFFFF
    floats = np.linspace(-1e3, 1e3, 200_000, dtype=np.float32)
    np.testing.assert_array_equal(m.rt_vec_f32(floats), floats * np.float32(2))
    ints = np.arange(200_000, dtype=np.uint32)
    np.testing.assert_array_equal(m.rt_boxed_u32(ints), ints + 1)
    size = m.instance.memory.size
    for _ in range(3):  # owned results are freed: memory does not grow on repeat
        m.rt_vec_u8(big)
    assert m.instance.memory.size == size


def test_array_type_and_range_errors(m: BoundModule) -> None:
    with no_guest_call(m):
        cases: list[tuple[Callable[[], Any], type[Exception], str]] = [
            (lambda: m.rt_vec_u8("abc"), ArgumentError, r"rt_vec_u8\(\) argument 'v' must be"),
            (lambda: m.rt_vec_u8([1, 256]), ArgumentRangeError, r"argument 'v'\[1\] = 256 is out of range for uint8"),
            (lambda: m.rt_vec_u8([1.5]), ArgumentError, r"argument 'v' must be .* \(ints\)"),
            (lambda: m.rt_boxed_u32([-1]), ArgumentRangeError, r"'v'\[0\] = -1 is out of range for uint32"),
            (lambda: m.rt_boxed_u32(np.array([1.0])), ArgumentError, r"dtype float64 does not convert to uint32"),
            (lambda: m.rt_vec_f32(np.zeros((2, 2), np.float32)), ArgumentError, "one-dimensional"),
            (lambda: m.rt_vec_f32(b"abcd"), ArgumentError, r"rt_vec_f32\(\) argument 'v' must be"),
            (lambda: m.rt_slice_u8(None), ArgumentError, r"rt_slice_u8\(\) argument 'v' must be"),
        ]
        for call, error, message in cases:
            with pytest.raises(error, match=message):
                call()


# -- Option, Result, JsValue -----------------------------------------------------


@PROPERTY
@given(x=st.one_of(st.none(), st.integers(0, 2**32 - 1)))
def test_optional_u32_round_trip(m: BoundModule, x: int | None) -> None:
    assert m.rt_opt_u32(x) == (None if x is None else (x + 1) & 0xFFFFFFFF)
    if x is None:
        assert m.rt_opt_u32() is None


@PROPERTY
@given(x=st.integers(-(2**31), 2**31 - 1))
def test_result_round_trip(m: BoundModule, x: int) -> None:
    if x < 0:
        with pytest.raises(JsResultError, match=f"^negative: {x}$") as info:
            m.rt_result(x)
        assert isinstance(info.value, rw.JsError) and info.value.function == "rt_result"
        assert isinstance(info.value.value, rw.JsErrorValue)
    else:
        assert m.rt_result(x) == ((x * 2 + 2**31) % 2**32) - 2**31
    assert m.instance.stats()["heap_live"] == 0


JS_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    TEXT,
    st.lists(st.integers(), max_size=3),
    st.dictionaries(TEXT, st.integers(), max_size=3),
    st.sampled_from([rw.UNDEFINED, object(), print]),
)


@PROPERTY
@given(value=JS_VALUES)
def test_jsvalues_round_trip_through_the_heap(m: BoundModule, value: Any) -> None:
    assert m.rt_jsvalue(value) is value
    assert m.rt_jsvalue_is_string(value) is isinstance(value, str)
    stats = m.instance.stats()
    assert stats["heap_live"] == 0 and stats["borrowed"] == 0


# -- classes ----------------------------------------------------------------------


def test_realm_end_to_end(m: BoundModule, gguf_bytes: bytes) -> None:
    with m.Realm() as realm:
        assert isinstance(realm, m.Realm) and not realm.isLoaded() and m.realm_by_ref(realm) is False
        with pytest.raises(JsResultError, match="^no model loaded: call loadModel first$"):
            realm.generate("hello")
        assert realm.loadModel(gguf_bytes) is None
        assert realm.is_loaded() and m.realm_by_ref(realm) is True
        info = realm.modelInfo()
        assert '"loaded":true' in info and '"vocab_size":5' in info
        text = realm.generate("hello")
        assert isinstance(text, str) and text and set(text) <= set("".join(VOCAB))
        with pytest.raises(JsResultError, match="^not a GGUF file: bad magic"):
            realm.loadModel(b"nope, not gguf")
        assert realm.isLoaded()  # a failed load leaves the state unchanged
    assert realm.closed
    with pytest.raises(rw.UseAfterFree):
        realm.isLoaded()
    with no_guest_call(m), pytest.raises(ArgumentError, match="already freed"):
        m.realm_by_ref(realm)


@PROPERTY
@given(
    max_tokens=st.integers(0, 2**32 - 1),
    temperature=st.floats(width=32, allow_nan=False),
    top_k=st.integers(0, 2**32 - 1),
)
def test_properties_round_trip(m: BoundModule, max_tokens: int, temperature: float, top_k: int) -> None:
    with m.WasmGenerationConfig() as cfg, m.Realm() as realm:
        assert (cfg.maxTokens, cfg.topK) == (128, 40) and cfg.temperature == f32(0.7)
        cfg.maxTokens = max_tokens
        cfg.temperature = temperature
        cfg.top_k = top_k
        assert (cfg.max_tokens, cfg.temperature, cfg.topK) == (max_tokens, temperature, top_k)
        realm.setConfig(cfg)  # &WasmGenerationConfig: borrowed, still ours afterwards
        copy = realm.config()  # a class returned by value: a new owned object
        assert isinstance(copy, m.WasmGenerationConfig) and copy.ptr != cfg.ptr and not cfg.closed
        assert (copy.maxTokens, copy.temperature, copy.topK) == (max_tokens, temperature, top_k)
        assert realm.maxTokens == max_tokens
        copy.close()


def test_static_factory_and_constructor_errors(m: BoundModule) -> None:
    realm = m.Realm.withConfig('{"max_tokens": 7, "top_p": 0.5}')
    assert isinstance(realm, m.Realm) and (realm.maxTokens, realm.topP) == (7, 0.5)
    realm.close()
    with pytest.raises(JsResultError, match='^invalid config: unknown key "bogus"$') as info:
        m.Realm.with_config('{"bogus": 1}')
    assert isinstance(info.value, rw.JsError)
    assert m.instance.stats()["heap_live"] == 0


def test_bad_arguments_name_the_parameter_and_make_no_call(m: BoundModule) -> None:
    realm, cfg = m.Realm(), m.WasmGenerationConfig()
    with no_guest_call(m):
        cases: list[tuple[Callable[[], Any], str]] = [
            (lambda: realm.generate(), r"Realm.generate\(\): missing a required argument: 'prompt'"),
            (lambda: realm.generate("a", "b"), r"Realm.generate\(\): too many positional arguments"),
            (lambda: realm.generate(text="a"), r"Realm.generate\(\): .*'prompt'"),
            (lambda: realm.generate(5), r"Realm.generate\(\) argument 'prompt' must be a str, got int"),
            (lambda: realm.setConfig(realm), r"Realm.setConfig\(\) argument 'config' must be a WasmGenerationConfig"),
            (lambda: realm.setConfig(None), r"argument 'config' must be a WasmGenerationConfig object, got NoneType"),
            (lambda: m.realm_by_ref(cfg), r"realm_by_ref\(\) argument 'r' must be a Realm object"),
            (lambda: m.Realm.generate(cfg, "x"), r"Realm.generate\(\) must be called on a Realm object"),
            (lambda: m.Realm(1), r"Realm.__init__\(\): too many positional arguments"),
            (lambda: setattr(cfg, "maxTokens", -1), r"WasmGenerationConfig.maxTokens value = -1 is out of range"),
            (lambda: setattr(cfg, "temperature", "hot"), r"WasmGenerationConfig.temperature value must be a float"),
        ]
        for call, message in cases:
            with pytest.raises(ArgumentError, match=message):
                call()
    assert isinstance(ArgumentError("x"), rw.RealmWasmerError)
    realm.close()
    cfg.close()


def test_objects_from_another_binding_are_refused() -> None:
    a = bind(REALM_WASM, engine="wasmtime", imports=EchoModel().imports())
    b = bind(REALM_WASM, engine="wasmtime", imports=EchoModel().imports())
    realm = a.Realm()
    with no_guest_call(b), pytest.raises(ArgumentError, match="from another bind"):
        b.realm_by_ref(realm)
    assert a.realm_by_ref(realm) is False


def test_handles_reuse_the_host_core_objects(m: BoundModule) -> None:
    before = m.instance.stats()["objects_live"]
    realm = m.Realm()
    assert isinstance(realm.handle, rw.Object) and realm.handle.constructor.export == "realm_new"
    assert realm.handle.constructor.pattern == 3
    assert m.instance.stats()["objects_live"] == before + 1
    text = repr(realm)
    assert text.startswith(f"<Realm ptr={realm.ptr:#x} maxTokens=128 temperature=0.7 topP=0.9")
    realm.free()
    realm.close()  # a second close does nothing
    assert repr(realm) == "<Realm (freed)>"
    assert m.instance.stats()["objects_live"] == before
    cfg = m.WasmGenerationConfig()
    del cfg  # the finalizer frees it
    import gc

    gc.collect()
    assert m.instance.stats()["objects_live"] == before


def test_imports_as_a_mapping_and_a_no_constructor_class() -> None:
    model = EchoModel()
    handlers = {("env", "realm_store_model"): model.store_model, ("env", "realm_next_token"): model.next_token}
    m = bind(REALM_WASM, engine="wasmtime", imports=handlers)
    realm = m.Realm()
    realm.loadModel(tiny_gguf(VOCAB))
    assert realm.generate("hello")
    with pytest.raises(BindingError, match="no #\\[wasm_bindgen\\(constructor\\)\\]"):
        BoundObject()
    with pytest.raises(ArgumentError, match="'imports' must be an Imports or a mapping"):
        bind(REALM_WASM, engine="wasmtime", imports=[1])  # type: ignore[arg-type]
    with pytest.raises(BindingError, match="imports and options were fixed"):
        bind(m.instance, imports=rw.Imports())
    assert bind(m.instance).Realm is not m.Realm


def test_unknown_schema_is_refused() -> None:
    data = REALM_WASM.read_bytes().replace(b'{"schema_version":"0.2.83"', b'{"schema_version":"0.2.99"')
    with pytest.raises(UnsupportedSchema, match=r"schema is 0\.2\.99 .* decodes programs of schema 0\.2\.83"):
        bind(data, engine="wasmtime")


# -- stubs ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stub_text() -> str:
    return generate_stub(bind(REALM_WASM, engine="wasmtime").api, "realm.wasm")


def _norm(hint: Any) -> str:
    """An annotation as comparable text (classes by name, generics recursively)."""
    if hint is None or hint is type(None):
        return "None"
    if isinstance(hint, type) and not typing.get_args(hint):
        return hint.__name__
    origin = typing.get_origin(hint)
    if origin is None:
        return str(hint).replace("typing.", "")
    args = typing.get_args(hint)
    if origin is typing.Union:
        return "Union[" + ", ".join(sorted(_norm(a) for a in args)) + "]"
    name = getattr(origin, "__name__", str(origin))
    return f"{name}[" + ", ".join(_norm(a) for a in args) + "]"


def _compare_signatures(stub_fn: Any, runtime_fn: Any, stub_ns: dict[str, Any]) -> None:
    stub_sig, runtime_sig = inspect.signature(stub_fn), inspect.signature(runtime_fn)
    assert list(stub_sig.parameters) == list(runtime_sig.parameters), (stub_sig, runtime_sig)
    for name, param in stub_sig.parameters.items():
        assert param.default == runtime_sig.parameters[name].default
    hints = typing.get_type_hints(stub_fn, stub_ns)
    for name, param in runtime_sig.parameters.items():
        if name != "self":
            assert _norm(hints[name]) == _norm(param.annotation), name
    assert _norm(hints.get("return")) == _norm(runtime_sig.return_annotation)


def test_stub_matches_the_runtime_signatures(m: BoundModule, stub_text: str) -> None:
    ast.parse(stub_text)
    namespace: dict[str, Any] = {"__name__": "realm_api"}
    exec(compile(stub_text, "realm_api.pyi", "exec"), namespace)
    for name, function in m.functions.items():
        _compare_signatures(namespace[name], function, namespace)
    for cls_name, cls in m.classes.items():
        stub_cls = namespace[cls_name]
        # close/free: BoundObject's, generated per class (construct.compile_close); the stub inherits them.
        assert inspect.signature(cls.close) == inspect.signature(BoundObject.close) and cls.free is cls.close
        members = [n for n in vars(cls) if (not n.startswith("_") or n == "__init__") and n not in ("close", "free")]
        assert sorted(members) == sorted(n for n in vars(stub_cls) if not n.startswith("_") or n == "__init__")
        for name in members:
            runtime, stub = vars(cls)[name], vars(stub_cls)[name]
            if isinstance(runtime, property):
                assert isinstance(stub, property) and (stub.fset is None) == (runtime.fset is None)
                _compare_signatures(stub.fget, runtime.fget, namespace)
                _compare_signatures(stub.fset, runtime.fset, namespace)
            else:
                assert isinstance(stub, staticmethod) == isinstance(runtime, staticmethod), name
                _compare_signatures(getattr(stub_cls, name), getattr(cls, name), namespace)


def test_stub_passes_mypy_and_catches_misuse(tmp_path: Path, stub_text: str) -> None:
    (tmp_path / "realm_api.pyi").write_text(stub_text)
    good = tmp_path / "use_good.py"
    good.write_text(
        "import numpy as np\n"
        "import realm_api as api\n\n\n"
        "def run(data: bytes) -> str:\n"
        "    realm = api.Realm()\n"
        "    realm.loadModel(data)\n"
        "    realm.load_model(np.zeros(4, np.uint8))\n"
        "    cfg = realm.config()\n"
        "    cfg.maxTokens = 16\n"
        "    n: int = cfg.max_tokens\n"
        "    realm.setConfig(cfg)\n"
        "    other: api.Realm = api.Realm.withConfig('{}')\n"
        "    floats = api.rt_vec_f32([1.0, 2.0])\n"
        "    first: np.float32 = floats[0]\n"
        "    raw: bytes = api.rt_vec_u8(b'ab')\n"
        "    maybe: int | None = api.rt_opt_u32(None)\n"
        "    with api.WasmGenerationConfig() as scratch:\n"
        "        scratch.top_p = 0.5\n"
        "    print(n, other, first, raw, maybe)\n"
        "    return realm.generate('hello')\n"
    )
    bad = tmp_path / "use_bad.py"
    bad.write_text("import realm_api as api\n\napi.Realm().generate(5)\napi.rt_u8('x')\napi.Realm().nope()\n")
    env = dict(os.environ, MYPYPATH=f"{tmp_path}{os.pathsep}{ROOT}")
    base = [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--no-incremental",
            "--cache-dir", str(tmp_path / ".mypy_cache")]  # fmt: skip
    done = subprocess.run([*base, "realm_api.pyi", "use_good.py"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    done = subprocess.run([*base, "use_bad.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert 'Argument 1 to "generate" of "Realm" has incompatible type "int"; expected "str"' in done.stdout
    assert 'Argument 1 to "rt_u8" has incompatible type "str"; expected "int"' in done.stdout
    assert '"Realm" has no attribute "nope"' in done.stdout


def test_stubs_command_writes_the_stub(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="realm-wasmer")
    bindings_cli.add_parser(parser.add_subparsers(dest="command"))
    out = tmp_path / "realm_api.pyi"
    args = parser.parse_args(["stubs", str(REALM_WASM), "-o", str(out), "--engine", "wasmtime"])
    assert args.command == "stubs" and bindings_cli.run(args) == 0
    assert "class Realm(BoundObject):" in out.read_text()
    assert "wrote" in capsys.readouterr().err
    assert bindings_cli.run(parser.parse_args(["stubs", str(REALM_WASM), "--engine", "wasmtime"])) == 0
    assert "def generate(self, prompt: str) -> str:" in capsys.readouterr().out


def test_f32_model_helper() -> None:
    # the README's f32() model, for the record
    assert f32(0.1) == struct.unpack("<f", struct.pack("<f", 0.1))[0]


# -- a synthetic module with the types the fixture lacks ------------------------------


@pytest.fixture(scope="module", params=ENGINES)
def synthetic(request: pytest.FixtureRequest) -> BoundModule:
    from .test_descriptors import synthetic_module

    return bind(synthetic_module(), engine=str(request.param))


def freed(module: BoundModule) -> int:
    return int(module.instance.engine_instance.global_get("freed"))


def test_mutable_slices_are_copied_back(synthetic: BoundModule) -> None:
    data = bytearray(b"abc")
    assert synthetic.mut_inc(data) is None and data == bytearray(b"bcd")
    array = np.array([1, 2, 255], dtype=np.uint8)
    synthetic.mut_inc(array)
    assert array.tolist() == [2, 3, 0]
    view = memoryview(bytearray(b"\x00\x01"))
    synthetic.mut_inc(view)
    assert bytes(view) == b"\x01\x02"
    with no_guest_call(synthetic):
        for bad in [b"abc", memoryview(b"abc"), [1, 2], np.zeros(3, np.uint16), np.zeros(4, np.uint8)[::2]]:
            with pytest.raises(ArgumentError, match=r"mut_inc\(\) argument 'data' must be .*writable"):
                synthetic.mut_inc(bad)


@PROPERTY
@given(x=st.one_of(st.none(), st.floats(allow_nan=False)))
def test_optional_f64_crosses_as_tag_and_value(synthetic: BoundModule, x: float | None) -> None:
    assert synthetic.opt_f64(x) == (None if x is None else x * 2)


@PROPERTY
@given(values=st.lists(JS_VALUES, max_size=5))
def test_vectors_of_js_values(synthetic: BoundModule, values: list[Any]) -> None:
    result = synthetic.js_array(values)
    assert isinstance(result, list) and len(result) == len(values)
    assert all(a is b for a, b in zip(result, values, strict=True))
    assert synthetic.instance.stats()["heap_live"] == 0
    with no_guest_call(synthetic), pytest.raises(ArgumentError, match="must be a list or tuple"):
        synthetic.js_array("abc")


def test_enums_and_results(synthetic: BoundModule) -> None:
    color = synthetic.Color
    assert [c.name for c in color] == ["Red", "Green", "Blue"] and color.Blue == 2
    assert synthetic.color_next(color.Blue) == 0 and synthetic.color_next(0) == 1
    with no_guest_call(synthetic), pytest.raises(ArgumentRangeError):
        synthetic.color_next(-1)
    assert synthetic.half_checked(3.0) == 1.5
    with pytest.raises(JsResultError, match="^negative$") as info:
        synthetic.half_checked(-1.0)
    assert info.value.value == "negative" and synthetic.instance.stats()["heap_live"] == 0


def test_class_members_of_every_kind(synthetic: BoundModule) -> None:
    counter_cls = synthetic.Counter
    assert str(inspect.signature(counter_cls)) == "(start: int) -> None"
    assert str(inspect.signature(counter_cls.bump)) == "(self, by: Optional[int] = None) -> int"
    assert counter_cls.bump.__doc__ and "Adds `by`." in counter_cls.bump.__doc__
    counter = counter_cls(5)
    assert counter.bump() == 6 and counter.bump(10) == 16 and counter.bump(by=0) == 16
    with no_guest_call(synthetic), pytest.raises(ArgumentRangeError, match=r"argument 'by' = 256"):
        counter.bump(256)
    assert counter.value == 16
    counter.value = 3
    assert repr(counter) == f"<Counter ptr={counter.ptr:#x} value=3>"
    origin = counter_cls.origin()
    assert isinstance(origin, counter_cls) and origin.value == 0
    before = freed(synthetic)
    assert counter.into_value() == 3 and counter.closed  # self by value: the guest frees it
    counter.close()
    assert freed(synthetic) == before + 1
    with pytest.raises(rw.UseAfterFree):
        counter.intoValue()
    other = counter_cls(9)
    assert synthetic.take_counter(other) == 9 and other.closed  # a class argument by value
    assert freed(synthetic) == before + 2
    assert synthetic.maybe_counter(False) is None
    made = synthetic.maybe_counter(True)
    assert isinstance(made, counter_cls) and made.value == 7
    made.close()
    origin.close()
    assert freed(synthetic) == before + 4  # the host freed exactly the objects it owned
