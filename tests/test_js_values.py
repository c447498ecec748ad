"""The JS value model's formatting against Node: Number#toString and JSON.stringify."""

from __future__ import annotations

import json
import math
import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realm_wasmer.js.values import UNDEFINED, debug_repr, js_number_string, json_stringify

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
