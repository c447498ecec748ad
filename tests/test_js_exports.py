"""js/webassembly.py's export entries: what ``wasm.f(...)`` does in the glue, as Node does it.

A small package (an ES module importing a ``.wasm`` by ``import * as wasm``, as bundler glue
does) calls exports of every signature shape the entries are generated for: i32 arguments
converted by ToInt32 (missing ones undefined, extra ones ignored), f64 and i64 in and out, two
results as an array, no result, an export kept in a variable before its first call, and a trap
(the error names the export; the instance refuses later calls). The expected values are Node's
(``node --experimental-wasm-modules`` runs the same package when node is installed).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

import realm_wasmer as rw

from .conftest import wat2wasm_text
from .node_json import node_json

WAT = """
(module
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "half") (param f64) (result f64) local.get 0 f64.const 0.5 f64.mul)
  (func (export "pair") (param i32) (result i32 i32) local.get 0 local.get 0 i32.const 1 i32.add)
  (func (export "big") (param i64) (result i64) local.get 0 i64.const 1 i64.add)
  (func (export "sub") (param i32 i32) (result i32) local.get 0 local.get 1 i32.sub)
  (func (export "nothing") (param i32))
  (func (export "boom") unreachable))
"""

GLUE = """
import * as wasm from './m.wasm';
export function add(a, b) { return wasm.add(a, b); }
export function addArgs(...args) { return wasm.add(...args); }
export function half(x) { return wasm.half(x); }
export function pair(a) { return wasm.pair(a); }
export function big(x) { return wasm.big(BigInt(x)); }
export function nothing(x) { return wasm.nothing(x); }
export function kept() { const f = wasm.sub; return [f(5, 2), f(9, 4), wasm.sub.length]; }
export function boom() { return wasm.boom(); }
"""

#: (call, Node's result as JSON: NaN and undefined print as null)
CALLS: list[tuple[str, Any]] = [
    ("p.add(1, 2)", 3),
    ("p.add(1)", 1),
    ("p.addArgs(1, 2, 3)", 3),
    ("p.add('5', 2.9)", 7),
    ("p.add(2 ** 32 + 1, 0)", 1),
    ("p.add(2 ** 31, 0)", -2147483648),
    ("p.half(3)", 1.5),
    ("p.half(4)", 2),
    ("p.half('x')", None),
    ("p.pair(5)", [5, 6]),
    ("String(p.big(5))", "6"),
    ("p.nothing(1)", None),
    ("p.kept()", [3, 5, 2]),
]


@pytest.fixture(scope="module")
def package_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("exports")
    (root / "m.wasm").write_bytes(wat2wasm_text(WAT))
    (root / "index.mjs").write_text(GLUE)
    (root / "package.json").write_text(json.dumps({"name": "exports-test", "type": "module", "main": "index.mjs"}))
    return root


def _python(p: Any, call: str) -> Any:
    got = eval(call.replace("String(", "str("), {"p": p})  # noqa: S307 - the table above
    if isinstance(got, float) and math.isnan(got):
        return None
    return None if got is rw.UNDEFINED else got


@pytest.mark.parametrize("engine", ["wasmer-cranelift", "wasmtime"])
def test_export_entries_convert_as_js_does(package_dir: Path, engine: str) -> None:
    p = rw.load_package(package_dir, engine=engine)
    assert [_python(p, call) for call, _ in CALLS] == [want for _, want in CALLS]
    assert p.half(4) == 2 and type(p.half(4)) is int  # a whole f64 result is an int (Number.isSafeInteger)


@pytest.mark.parametrize("engine", ["wasmer-cranelift", "wasmtime"])
def test_a_trap_names_the_export_and_poisons_the_instance(package_dir: Path, engine: str) -> None:
    p = rw.load_package(package_dir, engine=engine)
    with pytest.raises(rw.GuestTrap, match="'boom'"):
        p.boom()
    with pytest.raises(rw.PoisonedInstance):
        p.add(1, 2)


def test_expected_values_are_nodes(package_dir: Path) -> None:
    script = package_dir / "check.mjs"
    script.write_text(
        "import * as p from './index.mjs';\n"
        f"const out = [{', '.join(call for call, _ in CALLS)}];\n"
        "let err; try { p.boom(); } catch (e) { err = [e.constructor.name, e.message]; }\n"
        "console.log(JSON.stringify([out, err]));\n"
    )
    out, err = node_json(script, "--experimental-wasm-modules", "--no-warnings", cwd=package_dir)
    assert out == [want for _, want in CALLS]
    assert err == ["RuntimeError", "unreachable"]
