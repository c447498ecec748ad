"""js/direct.py: simple JS functions translated to Python source must behave as their closures.

The closure compiler is the reference: every function here runs once translated and once with
translation off (``direct.ENABLED``), and the results (values, or the thrown error's name and
message) must be equal; a Hypothesis property does the same over generated expressions. Member
assignment order (object, key, then value) is checked against Node where it differs.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import realm_wasmer as rw
from realm_wasmer.js import direct
from realm_wasmer.js.script import run_script

from .conftest import CORPUS_CACHE
from .node_json import node_exports

ARGS = (
    "[[1, 2], [0, -0], ['a', 'b'], [undefined, null], [true, 3.5], [2147483648, -1], ['5', 5], [[1], {x: 1}],"
    " [NaN, 0.1]]"
)

FUNCTIONS = {
    "arith": "function (a, b) { return a + b * 2 - (a / 4) % 3; }",
    "bits": "function (a, b) { return (a | b) ^ (a & 7) << 2 >>> 0; }",
    "compare": "function (a, b) { return [a === b, a !== b, a == b, a != b, a < b, a >= b]; }",
    # (array literals run as closures: results are pushed one by one so the comparisons are translated)
    "comparisons with literals": "function (a, b) { const r = new Array(); r.push(a === null); r.push(a !== null);"
    " r.push(a == null); r.push(null != b); r.push(a === undefined); r.push(undefined == b); r.push(a === 0);"
    " r.push(0 !== a); r.push(a === 5); r.push(a === 'a'); r.push('b' === b); r.push(typeof a === 'string');"
    " r.push(a === 2147483648); r.push(a === 0.1); r.push(b === 1e999); r.push(a == 0); return r; }",
    "undefined as a parameter name": "function (a, undefined) { const r = new Array(); r.push(a === undefined);"
    " r.push(a == undefined); return r; }",
    "conditions on ints, bools and others": "function (a, b) { const r = new Array(); if (a) r.push('a');"
    " if (!b) r.push('nb'); if (a & 1) r.push('odd'); r.push(a ? 1 : 0); return r; }",
    "logic": "function (a, b) { return [a && b, a || b, a ?? b, !a, !!b]; }",
    "ternary": "function (a, b) { return a ? b : (b ? 'nb' : 'none'); }",
    "typeof": "function (a, b) { return [typeof a, typeof b, typeof notDeclaredAnywhere]; }",
    "unary": "function (a, b) { return [-a, +b, ~a, void b]; }",
    "locals": "function (a, b) { const x = a; let y = b; var z; y = x; return [x, y, z]; }",
    "hoisted var read before assignment": "function (a) { const r = v; var v = a; return [r, v]; }",
    "if else": "function (a, b) { if (a) { return 'a'; } else if (b) return 'b'; else { b = 1; } return b; }",
    "missing and extra arguments": "function (a, b, c) { return [a, b, c]; }",
    "member get": "function (a, b) { const o = {k: [a, b]}; return o.k[1]; }",
    "member set": "function (a, b) { const o = {}; o.x = a; o['y'] = b; o[a] = 1; return o; }",
    "member set through prototypes and on a frozen object": "function (a, b) { const log = [];"
    " const P = { set s(v) { log.push(v); }, get g() { return 1; } };"
    " Object.defineProperty(P, 'ro', { value: 5, writable: false }); const o = Object.create(P); o.s = a; o.g = b;"
    " o.ro = b; o.n = a; const fz = Object.freeze({}); try { fz.k = 1; } catch (e) { log.push(e.name); }"
    " return [log, Object.keys(o), o.ro, o.g, fz.k]; }",
    "array set and append": "function (a, b) { const r = new Array(); r[0] = a; r[1] = b; r[5 >>> 0] = 1; return r; }",
    "calls": "function (a, b) { const f = (x) => [x, a]; return f(b); }",
    "method call": "function (a, b) { return [a, b].map(x => typeof x).join(','); }",
    "new": "function (a, b) { const m = new Map(); m.set(a, b); return m.size + new Array(3).length; }",
    "closure captures a local": "function (a, b) { const k = a; const g = () => k; return g(); }",
    "template string fallback": "function (a, b) { return `${a}-${b}`; }",
    "optional chain fallback": "function (a, b) { return [a?.x, b?.x?.y]; }",
    "assignment as expression": "function (a, b) { let x; const y = (x = a); return [x, y]; }",
    "augmented assignment": "function (a, b) { let x = 1; x += a; return x; }",
    "augmented member assignment in order": "function (a, b) { const log = []; const o = { get k() {"
    " log.push('get'); return a; }, set k(v) { log.push('set'); this.v = v; } };"
    " const t = (x, v) => { log.push(x); return v; }; t('obj', o)[t('key', 'k')] -= t('value', b);"
    " const p = {n: a}; p.n |= 1; p['n'] += b; return [o.v, p.n, log]; }",
    "computed member call evaluates its key once": "function (a, b) { const log = [];"
    " const o = { m(x) { return [x, this === o]; } }; const k = (x) => { log.push(x); return x; };"
    " const r = o[k('m')](a); return [r, log]; }",
    "DataView methods on getDataViewMemory0()": "function (a, b) { const dv = new DataView(new ArrayBuffer(16));"
    " const getDataViewMemory0 = [() => dv][0]; getDataViewMemory0().setInt32(4, 5, true);"
    " getDataViewMemory0().setFloat64(8, b, a); return [getDataViewMemory0().getInt32(a, true),"
    " getDataViewMemory0().getUint8(7), getDataViewMemory0().getFloat64(8, a), getDataViewMemory0().getInt16(b),"
    " getDataViewMemory0().getBigInt64(0, true)]; }",
    "DataView methods on getDataViewMemory0() redefined": "function (a, b) {"
    " const getDataViewMemory0 = [() => new DataView(new ArrayBuffer(8)), () => a][b ? 1 : 0];"
    " const P = DataView.prototype; const orig = P.getInt32; P.getInt32 = [function (p) { return ['mine', p]; }][0];"
    " try { return getDataViewMemory0().getInt32(4, true); } finally { P.getInt32 = orig; } }",
    "not a function": "function (a, b) { return a(b); }",
    "method of undefined": "function (a, b) { return a.foo(b); }",
    "read of undefined": "function (a, b) { return b.x.y; }",
    "read of undefined in a long expression": "function (a, b) { return [a, b].concat([b]).map((x) => x)"
    ".filter((x) => x !== 12345678).length.toString().something.deeper.still; }",
    "new of a non-constructor": "function (a, b) { return new a(); }",
    "global read": "function (a, b) { return [typeof Math.max, globalThis === globalThis]; }",
    "undeclared global": "function (a, b) { return undeclaredThing; }",
    "global accessor, data and built-in reads": "function (a, b) { Object.defineProperty(globalThis, 'gx',"
    " { get() { return 'got' + a; }, configurable: true }); globalThis.gy = b; const r = new Array(); r.push(gx);"
    " r.push(gy); r.push(typeof Object); r.push(Math.max(a, 1)); delete globalThis.gx; delete globalThis.gy;"
    " r.push(typeof gx); return r; }",
    "arrow expression body": "(a, b) => a * b",
    "block scopes": "function (a, b) { const x = 1; { const x = a; b = x; } if (a) { let y = b; return [x, y]; }"
    " return x; }",
    "throw": "function (a, b) { if (a) throw new RangeError('r' + a); return b; }",
    "try finally": "function (a, b) { const log = []; try { log.push(1); return a.x; }"
    " finally { log.push(2); b = log; } }",
    "try catch": "function (a, b) { try { return a.x.y; } catch (e) { return [e.name, b]; } }",
    "catch without binding": "function (a, b) { try { null.x; } catch { return 'caught'; } return 'no'; }",
    "return in finally wins": "function (a, b) { try { throw a; } finally { return 'finally'; } }",
    "method with this": "function (a, b) { const o = { k: a, m(x) { this.k = x; return [this.k, typeof this]; } };"
    " return o.m(b).concat([o.k]); }",
    "class method, getter, setter": "function (a, b) { class C { constructor() { this.n = 0; } inc(x) { this.n++;"
    " return this.n + x; } get v() { return this.n; } set v(x) { this.n = x; } } const c = new C(); c.v = 5;"
    " return [c.inc(1), c.v]; }",
    "this reads: own data, own accessor, inherited, missing": "function (a, b) { const o = { m() {"
    " return [this.k, this.g, this.inh, this.nope]; } }; Object.defineProperty(o, 'g', { get() { return 'g' + a; } });"
    " o.k = b; const P = { inh: a }; const c = Object.create(P); c.m = o.m; c.k = 'ck'; return [o.m(), c.m()]; }",
    "arrow this is the enclosing one": "function (a, b) { const o = { m() { return (() => this === o)(); } };"
    " return o.m(); }",
    "named function expression": "function self(a, b) { return typeof self; }",
    "constructor with fields and missing arguments": "function (a, b) { class C { k = 1; constructor(x, y, z) {"
    " this.s = this.k + x; this.t = [y, z]; } } const c = new C(a, b); return [c.s, c.t, c instanceof C]; }",
    "constructor returning an object or a primitive": "function (a, b) { class O { constructor(x) { return x; } }"
    " const r = new O(a); return [r === a, r instanceof O, typeof r]; }",
    "constructor that throws": "function (a, b) { class C { constructor(x) { if (x) throw new TypeError('t' + x);"
    " this.x = 1; } } return new C(a).x; }",
    "wasm-bindgen __wrap constructor": "function (a, b) { class W { static __wrap(p) { const o ="
    " Object.create(W.prototype); o.ptr = p; return o; } constructor(x) { const ret = x; return W.__wrap(ret); } }"
    " const w = new W(a); return [w.ptr, w instanceof W, Object.keys(w)]; }",
    "derived constructors with and without super": "function (a, b) { class B { constructor(x) { this.b = x; } }"
    " class D extends B { constructor(x) { super(x); this.d = 1; } } class E extends B { constructor(x) { } }"
    " const d = new D(a); let e; try { new E(a); e = 'no'; } catch (err) { e = err.name; } return [d.b, d.d, e]; }",
}


def _evaluate(fn_source: str, translate: bool) -> Any:
    old = direct.ENABLED
    direct.ENABLED = translate
    try:
        return run_script(
            f"const f = {fn_source};\n"
            f"module.exports = {ARGS}.map((args) => {{\n"
            "  try { const r = f(...args); return ['ok', r instanceof Map ? 'map' : r]; }\n"
            "  catch (e) { return ['throw', e.name, e.message]; }\n"
            "});\n"
        )
    finally:
        direct.ENABLED = old


def _norm(v: Any) -> Any:
    """Results made comparable: NaN and -0 spelled out (NaN != NaN)."""
    if isinstance(v, float):
        if v != v:
            return "NaN"
        if v == 0 and math.copysign(1.0, v) < 0:
            return "-0"
        return v
    if isinstance(v, list):
        return [_norm(x) for x in v]
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in v.items()}
    return v


def _same(source: str) -> None:
    translated, closures = _norm(_evaluate(source, True)), _norm(_evaluate(source, False))
    assert translated == closures


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_translation_behaves_as_the_closures(name: str) -> None:
    _same(FUNCTIONS[name])


def test_simple_functions_are_translated() -> None:
    translated = run_script(
        "const f = function (a, b) { return a + b; };\n"
        "const g = function () { return this; };\n"
        "module.exports = [f, g];"
    )
    f, g = (fn._js for fn in translated)
    assert f.direct is not None and f.direct(1, 2) == 3
    assert g.direct is None  # `this`: kept as closures


def test_data_view_calls_are_translated_and_follow_a_redefined_method() -> None:
    """``getDataViewMemory0().getInt32(...)`` in a translated function runs the built-in
    method straight while DataView.prototype holds it, the glue's own method once redefined."""
    f, before, after = run_script(
        "const dv = new DataView(new ArrayBuffer(8)); dv.setInt32(4, -2, true);\n"
        "function getDataViewMemory0() { return dv; }\n"
        "const f = function (p) { return getDataViewMemory0().getInt32(p, true); };\n"
        "const before = [f(4), f(0)];\n"
        "DataView.prototype.getInt32 = function (p, little) { return ['mine', p, little]; };\n"
        "module.exports = [f, before, f(4)];"
    )
    names = f._js.direct.__code__.co_names
    assert "_Prop" in names and "_mcall" in names  # the lean form (its check, its general path)
    assert before == [-2, 0] and after == ["mine", 4, True]


def _constructor_of(cls: Any) -> Any:
    """The constructor function a class's ``make`` runs (found in its closure)."""
    cells = [c.cell_contents for c in cls.make.__closure__ or ()]
    return next(c for c in cells if getattr(c, "kind", None) == "constructor")


def test_class_constructors_are_translated() -> None:
    """A base class's constructor runs its translation (``make`` is the translated runner);
    a derived one that calls ``super`` keeps its closures (``super`` is outside the subset)."""
    base, derived = (
        c._js_class
        for c in run_script(
            "class B { constructor(x) { this.x = x; } }\n"
            "class D extends B { constructor(x) { super(x); } }\n"
            "module.exports = [B, D];"
        )
    )
    assert _constructor_of(base).make.__qualname__.startswith("_translated_ctor")
    assert _constructor_of(derived).make.__qualname__.endswith("run_ctor")
    assert not _constructor_of(derived).make.__qualname__.startswith("_translated_ctor")


def _ops() -> st.SearchStrategy[str]:
    leaves = st.sampled_from(["a", "b", "c", "0", "1", "-1", "2.5", "'x'", "''", "null", "undefined", "true"])
    binary = ["+", "-", "*", "/", "%", "|", "&", "^", "<<", ">>", ">>>", "===", "!==", "==", "!=", "<", ">",
              "<=", ">=", "&&", "||", "??"]  # fmt: skip

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from(binary), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(st.sampled_from(["!", "-", "+", "~", "typeof ", "void "]), inner).map(
                lambda t: f"({t[0]} {t[1]})"
            ),
            st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
        )

    return st.recursive(leaves, extend, max_leaves=8)


@settings(max_examples=60, deadline=None)
@given(_ops())
def test_generated_expressions_agree(expression: str) -> None:
    _same(f"function (a, b, c) {{ const t = {expression}; if (t) {{ return [t, 1]; }} return [t, 0]; }}")


def test_member_assignment_evaluates_object_key_value_in_order_as_node(tmp_path: Path) -> None:
    script = (
        "const log = [];\n"
        "const o = {};\n"
        "const t = (x, v) => { log.push(x); return v; };\n"
        "const f = function () { t('obj', o)[t('key', 'k')] = t('value', 1); return log.join(','); };\n"
        "module.exports = f();\n"
    )
    got = run_script(script)
    assert got == "obj,key,value"
    assert node_exports(tmp_path, script) == got


def _glue_handlers(pkg: Any) -> dict[str, Any]:
    out = {}
    for instance in pkg.__realm__.instances:
        for request, resolution in instance.resolutions.values():
            if resolution.resolver == "glue":
                out[request.name] = resolution.handler
    return out


def test_message_parser_imports_run_translated(corpus: dict[str, Any]) -> None:
    """Every glue import of message_parser is linked to its translation (no wrapper), and the
    crossing-heavy call gives the same result with and without translation."""
    root = CORPUS_CACHE / "pkgs" / "message_parser" / "package"
    line = "Hello **world**, see https://delta.chat/en/ and mail me at bob@example.org #tag `code` /help\n"
    fast = rw.load_package(root, engine="wasmtime")
    old = direct.ENABLED
    direct.ENABLED = False
    try:
        slow = rw.load_package(root, engine="wasmtime")
    finally:
        direct.ENABLED = old
    handlers = _glue_handlers(fast)
    assert len(handlers) == 4  # __wbg_new x2, __wbg_set x2: the other imports are intrinsics
    untranslated = [n for n, h in handlers.items() if not h.__code__.co_filename.startswith("<direct")]
    assert untranslated == [], untranslated
    assert all(not h.__code__.co_filename.startswith("<direct") for h in _glue_handlers(slow).values())
    for text in (line * 20, "**a** _b_ `c`", "https://x.org #t @u", ""):
        assert fast.parse_text(text, True) == slow.parse_text(text, True)
    assert len(fast.parse_text(line * 200, True)) == 2600


def test_helper_entries_bound_to_an_instance_follow_a_second_init(tmp_path: Path) -> None:
    """getObject/takeObject/addHeapObject are bound to the instance ``wasm`` refers to (their
    frame slot holds the heap's own operation), and unbound when another instance is linked:
    with message_parser's init guard removed, a second initSync makes a new instance and the
    glue's imports must then use *its* heap (a stale binding reads the old heap: wrong values
    or a HeapError)."""
    from realm_wasmer.host.heap import JsHeap
    from realm_wasmer.js.webassembly import BOUND_ENTRIES

    source = CORPUS_CACHE / "pkgs" / "message_parser" / "package"
    root = tmp_path / "package"
    shutil.copytree(source, root)
    glue = root / "message_parser_wasm.js"
    text = glue.read_text()
    guard = "function initSync(module) {\n    if (wasm !== undefined) return wasm;\n"
    assert guard in text
    glue.write_text(text.replace(guard, "function initSync(module) {\n"))
    pkg = rw.load_package(root, engine="wasmtime")
    line = "Hello **world**, see https://delta.chat/en/ #tag `code` /help"
    first = pkg.parse_text(line, True)
    heap = pkg.__realm__.instances[-1].context.values
    assert isinstance(heap, JsHeap)
    entries = {b.entry.fname: b.entry.direct for b in BOUND_ENTRIES.bound if b.frame[b.slot] is b.entry}
    assert entries == {"getObject": heap.get, "takeObject": heap.take, "addHeapObject": heap.add}
    pkg.initSync((root / "message_parser_wasm_bg.wasm").read_bytes())  # a second instance: unbinds
    assert len(pkg.__realm__.instances) == 2
    new_heap = pkg.__realm__.instances[-1].context.values
    assert new_heap is not heap and not [b for b in BOUND_ENTRIES.bound if b.frame[b.slot] is b.entry]
    live = heap.live_count()
    assert pkg.parse_text(line, True) == first
    assert heap.live_count() == live  # nothing went to the old instance's heap
    rebound = {b.entry.fname: b.entry.direct for b in BOUND_ENTRIES.bound if b.frame[b.slot] is b.entry}
    assert rebound == {"getObject": new_heap.get, "takeObject": new_heap.take, "addHeapObject": new_heap.add}


@pytest.mark.parametrize("engine", ["wasmtime", "wasmer-cranelift"])
def test_externref_imports_link_their_translation_unconverted(engine: str) -> None:
    """On an externref store (wasmtime) or handles (wasmer: the linker converts handles) a JS
    value crosses as itself: css_inline's translated glue imports are linked as the translation
    (an externref result) or its guarded twin (void/i32), never through a converting wrapper."""
    pkg = rw.load_package(CORPUS_CACHE / "pkgs" / "css_inline" / "package", engine=engine)
    handlers = _glue_handlers(pkg)
    assert handlers
    names = {name: h.__qualname__ for name, h in handlers.items()}
    converting = [n for n, q in names.items() if "converted" in q]
    assert converting == [], converting
    translated = [n for n, h in handlers.items() if h.__code__.co_filename.startswith("<direct")]
    assert len(translated) >= len(handlers) - 2, names  # all but the Number()/handleError-style ones
    linked = [handlers[n] for n in translated]
    assert all(getattr(h, "guarded", None) is not None or h.__name__ == "direct" for h in linked)
    html = "<html><head><style>h1 { color:blue; }</style></head><body><h1>Big Text</h1></body></html>"
    assert pkg.inline(html).count('style="color: blue;"') == 1
