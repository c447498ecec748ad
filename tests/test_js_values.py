"""The JS value model's formatting against Node: Number#toString and JSON.stringify."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realm_wasmer.js.script import run_script
from realm_wasmer.js.values import UNDEFINED, debug_repr, js_number_string, json_stringify

from .node_json import node_exports

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed (CI installs it)")


def node_strings(values: list[float]) -> list[str]:
    assert NODE is not None
    script = "const v=JSON.parse(require('fs').readFileSync(0,'utf8'));console.log(JSON.stringify(v.map(String)))"
    done = subprocess.run([NODE, "-e", script], input=json.dumps(values), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result: list[str] = json.loads(done.stdout)
    return result


EDGES = [1e21, 1e20, 1e-7, 1e-6, 9.999e-7, 0.1, 1.5, -0.0, 5e-324, 2.0**53, 123456789012345680000.0, 1e300]


@needs_node
@settings(max_examples=5)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=50, max_size=200))
def test_number_to_string_matches_node(values: list[float]) -> None:
    values = values + EDGES
    assert [js_number_string(v) for v in values] == node_strings(values)


@needs_node
@settings(max_examples=5)
@given(st.lists(st.floats(min_value=-1e22, max_value=1e22).map(float.__round__).map(float), min_size=50, max_size=200))
def test_the_evaluators_number_to_string_matches_node_on_integral_floats(values: list[float]) -> None:
    """Integral floats past 2**53 print their shortest round-trip digits padded with zeros, as Node does
    (not every digit of the exact binary value)."""
    from realm_wasmer.js.model import number_to_string

    values = values + [-2.7546748226290886e20, 2.0**60, 2.0**53 + 2, 9007199254740993.0, 1e21]
    assert [number_to_string(v) for v in values] == node_strings(values)


def test_number_to_string_special_values() -> None:
    assert [js_number_string(v) for v in (math.nan, math.inf, -math.inf, -0.0, 7.0, 1e-7, 1e21)] == [
        "NaN", "Infinity", "-Infinity", "0", "7", "1e-7", "1e+21"]


def test_json_stringify_is_javascripts() -> None:
    value = {"a": math.nan, "b": "ü", "c": [math.inf, -0.0, 1.5, 1e21, UNDEFINED], "d": UNDEFINED, "e": 2**53}
    assert json_stringify(value) == '{"a":null,"b":"ü","c":[null,0,1.5,1e+21,null],"e":9007199254740992}'
    with pytest.raises(TypeError):
        json_stringify(object())
    with pytest.raises(TypeError, match="BigInt"):
        json_stringify([2**53 + 1])
    assert debug_repr({"x": 1.0}) == 'Object({"x":1})'


def test_slice_and_typed_array_copies_are_independent_as_in_node(tmp_path: Path) -> None:
    """``slice()`` and ``new Uint8Array(typedArray)`` copy in one pass (js/typed.py _copy_of):
    own buffers, the right elements, unaffected by later writes to the source, as Node gives."""
    script = (
        "const buf = new ArrayBuffer(8); const a = new Uint8Array(buf); a.set([1, 2, 3, 4, 5, 6, 7, 8]);\n"
        "const s = a.slice(2, 6); const c = new Uint8Array(a.subarray(1, 4));\n"
        "const w = new Int16Array(buf).slice(1, 3); const f = new Int16Array(new Int16Array(buf).subarray(2));\n"
        "a[2] = 99; a[1] = 77; c[0] = 5;\n"
        "module.exports = [Array.from(s), Array.from(c), Array.from(w), Array.from(f), s.length, s.byteOffset,\n"
        "  s.buffer.byteLength, c.buffer.byteLength, w.buffer.byteLength, Array.from(a.slice(-3)),\n"
        "  Array.from(a.slice(5, 2)), Array.from(a)];\n"
    )
    got = run_script(script)
    assert got[:4] == [[3, 4, 5, 6], [5, 3, 4], [1027, 1541], [1541, 2055]]
    assert node_exports(tmp_path, script) == got
