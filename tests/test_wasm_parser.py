"""The binary reader, checked against the engines' own view of the same modules."""

from __future__ import annotations

from typing import Any

import pytest

from realm_wasmer import wasm
from realm_wasmer.errors import InvalidModule

from .conftest import PATTERNS, REALM_WASM, wat


def _engine_signatures(data: bytes) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    import wasmtime

    module = wasmtime.Module(wasmtime.Engine(), data)
    externref = wasmtime.ValType.externref()

    def name(valtype: Any) -> str:  # wasmtime-py 50 prints externref as "anyref"
        return "externref" if valtype == externref else str(valtype)

    out = {}
    for export in module.exports:
        if isinstance(export.type, wasmtime.FuncType):
            out[export.name] = (
                tuple(name(p) for p in export.type.params),
                tuple(name(r) for r in export.type.results),
            )
    return out


@pytest.mark.parametrize("name", sorted(p.stem for p in PATTERNS.glob("*.wat")) + ["realm"])
def test_export_signatures_match_wasmtime(name: str) -> None:
    data = REALM_WASM.read_bytes() if name == "realm" else wat(name)
    parsed = wasm.parse(data)
    ours = {n: (sig.params, sig.results) for n, sig in parsed.function_exports()}
    assert ours == _engine_signatures(data)


def test_realm_outline() -> None:
    parsed = wasm.parse(REALM_WASM.read_bytes())
    assert str(parsed.export_signature("realm_new")) == "(i32) -> ()"
    assert str(parsed.export_signature("wasmgenerationconfig_new")) == "() -> (i32)"
    assert parsed.custom("__wasm_bindgen_unstable"), "the raw module keeps wasm-bindgen's custom section"
    modules = {imp.module for imp in parsed.imports}
    assert modules == {"__wbindgen_placeholder__", "__wbindgen_externref_xform__", "env"}


@pytest.mark.parametrize(
    "data, message",
    [(b"hello", "missing the \\\\0asm magic"), (b"\0asm\x02\0\0\0", "unsupported WebAssembly binary version"),
     (b"\0asm\x01\0\0\0\x01\x05\x01", "runs past the end")],
)
def test_invalid_modules_are_named(data: bytes, message: str) -> None:
    with pytest.raises(InvalidModule, match=message):
        wasm.parse(data)


def test_data_segments_are_read() -> None:
    import wasmtime

    data = bytes(wasmtime.wat2wasm('(module (memory 1) (data (i32.const 1024) "abc") (data (i32.const 4096) "xy")'
                                   ' (data "passive"))'))
    assert wasm.parse(data).data_segments == ((1024, 3), (4096, 2))
    realm = wasm.parse(REALM_WASM.read_bytes())
    assert realm.data_segments and all(offset >= 0 and length > 0 for offset, length in realm.data_segments)


def test_every_valid_constant_expression_is_read() -> None:
    """v128.const, extended-const arithmetic and ref.null with a type index were refused
    as 'unsupported opcode' in the outline reader (found by the hostile-module campaign)."""
    import wasmtime

    from realm_wasmer.wasm import parse

    config = wasmtime.Config()
    source = """(module
      (global (export "a") v128 (v128.const i32x4 1 2 3 4))
      (global (export "b") i32 (i32.add (i32.const 1) (i32.mul (i32.const 2) (i32.const 3))))
      (global (export "c") externref (ref.null extern))
      (global (export "d") i64 (i64.const 7)))"""
    data = bytes(wasmtime.wat2wasm(source))
    wasmtime.Module(wasmtime.Engine(config), data)  # it is valid
    module = parse(data)
    assert [g.init for g in module.globals] == [None, None, None, 7]


def test_an_index_out_of_range_is_an_invalid_module() -> None:
    """A function whose type index is past the type section was an IndexError (campaign finding)."""
    import pytest

    from realm_wasmer.errors import InvalidModule
    from realm_wasmer.wasm import parse

    no_types_one_function = b"\0asm\x01\0\0\0" + bytes([3, 2, 1, 0])
    with pytest.raises(InvalidModule, match="type index 0 is out of range"):
        parse(no_types_one_function)
    export_past_functions = b"\0asm\x01\0\0\0" + bytes([7, 5, 1, 1]) + b"f" + bytes([0, 9])
    with pytest.raises(InvalidModule, match="exported function index 9"):
        parse(export_past_functions)
