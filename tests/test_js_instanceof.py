"""``instanceof`` as JS's InstanceofOperator: Symbol.hasInstance found by a full [[Get]] (own,
inherited from a parent class, behind a getter, on a plain object), the TypeErrors for a
right-hand side that is not an object, not callable, or whose prototype is not an object;
compared with Node, translated (js/direct.py) and as closures."""

from __future__ import annotations

from pathlib import Path

import pytest

from .node_json import node_exports
from .test_js_direct_handle_error import _run  # the script run translated or as closures

SOURCE = """
function t(f) { try { return ['ok', f()]; } catch (e) { return [e.name, e.message]; } }
function F() {}
function G() {} G.prototype = 3;
class A { static [Symbol.hasInstance](v) { return v === 7; } }
class B extends A {}
const getter = {}; Object.defineProperty(getter, Symbol.hasInstance, { get() { return (v) => v === 'g'; } });
function D() {} Object.defineProperty(D, Symbol.hasInstance, { value: (v) => v === 1 });
const plain = { [Symbol.hasInstance]: (v) => typeof v === 'number' };
const f = new F();
module.exports = [
  t(() => f instanceof F), t(() => ({}) instanceof F), t(() => 1 instanceof F),
  t(() => 1 instanceof 2), t(() => ({}) instanceof {}), t(() => ({}) instanceof null),
  t(() => ({}) instanceof G), t(() => 1 instanceof G),
  t(() => 7 instanceof A), t(() => 7 instanceof B), t(() => 8 instanceof B),
  t(() => 'g' instanceof getter), t(() => 'h' instanceof getter),
  t(() => 1 instanceof D), t(() => f instanceof D),
  t(() => 5 instanceof plain), t(() => ({}) instanceof { [Symbol.hasInstance]: null }),
  t(() => ({}) instanceof { [Symbol.hasInstance]: undefined }),
  t(() => ({}) instanceof { [Symbol.hasInstance]: 1.5 }), t(() => ({}) instanceof { [Symbol.hasInstance]: 'ab' }),
  t(() => ({}) instanceof { [Symbol.hasInstance]: true }), t(() => ({}) instanceof { [Symbol.hasInstance]: 10n }),
  t(() => ({}) instanceof { [Symbol.hasInstance]: [1] }),
];
"""


@pytest.mark.parametrize("translate", [True, False], ids=["translated", "closures"])
def test_instanceof_matches_node(tmp_path: Path, translate: bool) -> None:
    ours = _run(SOURCE, translate)
    assert ours[0] == ["ok", True] and ours[3][0] == "TypeError"  # the Python half checks itself first
    assert ours == node_exports(tmp_path, SOURCE)
