"""js/direct.py's handleError wrappers: ``function () { return handleError(function (a, b)
{...}, arguments) }`` (wasm-bindgen >= 0.2.7x's catching imports) run the inner function's
translation under the recognised helper's catch, and stay the closures' semantics otherwise."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

import pytest

import realm_wasmer as rw
from realm_wasmer.js import direct
from realm_wasmer.js.script import run_script
from realm_wasmer.js.values import UNDEFINED

from .node_json import node_json
from .test_js_direct import _glue_handlers

#: A glue-like module whose ``handleError`` is its own (no ``wasm`` binding: the library's
#: helper does not replace it), then reassigned: the wrapper must call whichever it holds.
USER_HANDLE_ERROR = """
const log = [];
function handleError(f, args) {
    try { return f.apply(this, args); } catch (e) { log.push('caught ' + e.message + ' ' + args.length); return -1; }
}
const w = function () { return handleError(function (a, b) { if (a) throw new Error(b); return [a, b]; }, arguments) };
const r = [w(0, 'x'), w(1, 'boom'), w(), w(0, 1, 2)];
handleError = function (f, args) { log.push('second ' + args.length); return f.apply(this, args); };
r.push(w(0, 'y'));
try { w(1, 'again'); } catch (e) { r.push('threw ' + e.message); }
module.exports = [w, r, log];
"""


def _run(source: str, translate: bool) -> Any:
    old = direct.ENABLED
    direct.ENABLED = translate
    try:
        return run_script(source)
    finally:
        direct.ENABLED = old


def test_a_user_handle_error_keeps_the_closures_semantics() -> None:
    """The wrapper is translated, but with the glue's own handleError (and after it is
    reassigned) it runs the closures: the same results, log and throws as with no translation."""
    w, *translated = _run(USER_HANDLE_ERROR, True)
    _, *closures = _run(USER_HANDLE_ERROR, False)
    assert w._js.direct is not None  # the wrapper shape was recognised and translated
    assert translated == closures
    results, log = translated
    assert results == [[0, "x"], -1, [UNDEFINED, UNDEFINED], [0, 1], [0, "y"], "threw again"]
    assert log == ["caught boom 2", "second 2", "second 2"]


def _thrown(pkg: Any, config: Any) -> Any:
    with pytest.raises(rw.errors.JsThrow) as info:
        pkg.format("local x=1", config)
    return info.value.value


@pytest.mark.parametrize("engine", ["wasmtime", "wasmer-cranelift"])
def test_handle_error_imports_are_translated_and_store_the_throw_as_node(
    engine: str, new_packages: dict[str, Path], tmp_path: Path
) -> None:
    """lua_fmt's handleError-wrapped imports are linked as translations (guarded twins); a
    throw inside one (Reflect.get on a number) is stored through the helper and comes back as
    the value Node's glue throws; the same with translation off."""
    root = new_packages["lua_fmt"]
    fast = rw.load_package(root, engine=engine)
    prefixes = ("__wbg_get_", "__wbg_call_", "__wbg_next_")  # the glue's handleError-wrapped imports
    wrapped = {n: h for n, h in _glue_handlers(fast).items() if n.startswith(prefixes)}
    assert len(wrapped) >= 3
    untranslated = [n for n, h in wrapped.items() if not h.__code__.co_filename.startswith("<direct")]
    assert untranslated == []
    slow = _run_load(root, engine)
    stored: list[Any] = []
    handlers = [o for o in gc.get_objects() if type(o) is direct.ErrorHandler]
    assert handlers  # the glue's handleError is the recognised helper
    for h in handlers:
        h.store = lambda exc, store=h.store: (stored.append(exc), store(exc))[1]
    got = [_thrown(fast, c) for c in (5, "s")]
    assert len(stored) == 2  # each throw went through a translated wrapper's catch
    assert got == [_thrown(slow, c) for c in (5, "s")]
    assert fast.format("local x={a=1}", {"indent_width": 2}) == slow.format("local x={a=1}", {"indent_width": 2})
    script = tmp_path / "run.mjs"
    script.write_text(
        f"const m = await import({json.dumps(str(root / 'lua_fmt_node.js'))});\n"
        "const out = [];\n"
        "for (const c of [5, 's']) {\n"
        "  try { m.format('local x=1', c); out.push('no throw'); } catch (e) { out.push(e); }\n"
        "}\n"
        "console.log(JSON.stringify(out));\n"
    )
    assert node_json(script) == got


def _run_load(root: Path, engine: str) -> Any:
    old = direct.ENABLED
    direct.ENABLED = False
    try:
        return rw.load_package(root, engine=engine)
    finally:
        direct.ENABLED = old
