"""Externref mode end to end: css_inline (wasm-bindgen 0.2.127, externref +
multi-value) against the Node ground truth, on wasmtime (native externref) and on
wasmer-cranelift (externref lowered to i32 handles at load); refused on wasmer
only when load transforms are turned off."""

from __future__ import annotations

import math

import pytest

import realm_wasmer as rw
from realm_wasmer.host.heap import UNDEFINED


def css_inline_imports() -> rw.Imports:
    """The js-sys bindings css_inline imports, each mirroring its glue body
    (package/index.js, __wbg_get_imports)."""
    ns = "./index_bg.js"
    imports = rw.Imports()

    def error(caller: rw.Caller, ptr: int, length: int) -> object:  # Error(getStringFromWasm0(a0, a1))
        return rw.JsErrorValue(caller.memory.string(ptr, length))

    def number(caller: rw.Caller, value: object) -> float:  # Number(arg0)
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return math.nan

    def get_with_ref_key(caller: rw.Caller, obj: object, key: object) -> object:  # arg0[arg1]
        return obj.get(key, UNDEFINED) if isinstance(obj, dict) else UNDEFINED

    def is_safe_integer(caller: rw.Caller, value: object) -> int:  # Number.isSafeInteger(arg0)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer()
        return int(ok and abs(value) <= 2**53 - 1)  # type: ignore[arg-type]

    def length(caller: rw.Caller, value: object) -> int:  # arg0.length
        return len(value)  # type: ignore[arg-type]

    def new_uint8array(caller: rw.Caller, value: object) -> object:  # new Uint8Array(arg0)
        return bytearray(value)  # type: ignore[arg-type]

    def prototypesetcall(caller: rw.Caller, ptr: int, count: int, source: object) -> None:
        caller.memory.write(ptr, bytes(source)[:count])  # Uint8Array.prototype.set.call(view(a0, a1), a2)

    for name, handler in [
        ("__wbg_Error_408e67f47ca7b58b", error),
        ("__wbg_Number_3890faa6d3ff057d", number),
        ("__wbg_get_with_ref_key_6412cf3094599694", get_with_ref_key),
        ("__wbg_isSafeInteger_f3d6cd19ccfe4512", is_safe_integer),
        ("__wbg_length_36bd29c6848c2144", length),
        ("__wbg_new_77cc4f4f472aeb81", new_uint8array),
        ("__wbg_prototypesetcall_de8e0d9553586985", prototypesetcall),
        ("__wbg_instanceof_Uint8Array_f935dbb0aa7cdeed", lambda caller, v: int(isinstance(v, (bytes, bytearray)))),
        ("__wbg_instanceof_ArrayBuffer_993d02d2d254cad1", lambda caller, v: 0),
    ]:
        imports.register(ns, name, handler)
    return imports


@pytest.fixture(scope="module", params=["wasmtime", "wasmer-cranelift"])
def css(corpus: dict, request: pytest.FixtureRequest) -> rw.Instance:
    entry = corpus["css_inline"]
    return rw.load(entry["wasm"], engine=request.param, imports=css_inline_imports(), glue_path=entry["glue"],
                   on_missing="error")


def inline(instance: rw.Instance, html: str, options: object = UNDEFINED) -> str:
    ptr, length = instance.abi.pass_string(html)
    out_ptr, out_len, err, is_err = instance.call("inline", ptr, length, options)
    if is_err:
        value = instance.values.take(err)
        raise rw.JsError(str(value), value)
    return instance.abi.take_string(out_ptr, out_len)


def case(corpus: dict, case_id: str) -> dict:
    return next(c for c in corpus["css_inline"]["cases"]["cases"] if c["id"] == case_id)


def test_start_initialises_the_externref_table(css: rw.Instance) -> None:
    from realm_wasmer.host.handles import HandleStore
    from realm_wasmer.host.values import ExternrefTableStore, unwrap

    expected = HandleStore if css.engine_name.startswith("wasmer") else ExternrefTableStore
    assert isinstance(css.values, expected) and css.values.offset == 1024
    table, store = css.tables.native("__wbindgen_externrefs"), css.tables._store()
    assert [unwrap(table.get(store, i)) for i in (1024, 1025, 1026, 1027)] == [UNDEFINED, None, True, False]
    assert css.import_calls["./index_bg.js.__wbindgen_init_externref_table"] == 1


def test_version(css: rw.Instance, corpus: dict) -> None:
    ptr, length = css.call("version")
    assert css.abi.take_string(ptr, length) == case(corpus, "version")["output"]


@pytest.mark.parametrize("case_id", ["inline_default", "inline_options"])
def test_inline(css: rw.Instance, corpus: dict, case_id: str) -> None:
    data = case(corpus, case_id)
    options = UNDEFINED
    if case_id == "inline_options":
        options = {"keepStyleTags": True, "minifyCss": False, "applyWidthAttributes": True}
    assert inline(css, data["inputs"]["html"], options) == data["output"]


def test_inline_error_is_a_plain_string_from_the_table(css: rw.Instance, corpus: dict) -> None:
    data = case(corpus, "remote_stylesheet_throws")
    ptr, length = css.abi.pass_string(data["inputs"]["html"])
    _, _, err, is_err = css.call("inline", ptr, length, UNDEFINED)
    assert is_err == 1
    live = css.stats()["externref_live"]
    assert css.values.take(err) == data["throws"]["thrown_non_error"]
    assert css.stats()["externref_live"] == live - 1, "take deallocates the slot, as the glue does"


def test_css_inline_is_refused_on_wasmer_without_transforms(corpus: dict) -> None:
    with pytest.raises(rw.EngineRefused, match="externref across the host boundary.*engine='wasmtime'"):
        rw.load(corpus["css_inline"]["wasm"], engine="wasmer-cranelift", imports=css_inline_imports(),
                transforms="none")
