"""js/direct.py's fast paths for export wrappers must give the closures' results.

The translator writes integer arithmetic as Python's where the model's result is Python's
(guarded by the operand's type and the result's range, or with no guard for integers it knows:
literals, ``x >>> 0``, ``x | 0``, ``const`` locals of those), folds literal arithmetic, and
reads own accessors, typed-array elements and WebAssembly globals without ``m.get``'s
dispatch. Each function here runs translated and as closures (``direct.ENABLED`` off) over
edge values (the safe-integer limits, -0, NaN, fractions, strings, booleans, BigInts,
objects) and the results must be equal.
"""

from __future__ import annotations

import builtins
import math
from pathlib import Path
from typing import Any

import pytest

from realm_wasmer.errors import JsError
from realm_wasmer.js import direct
from realm_wasmer.js import model as m
from realm_wasmer.js.model import JsObject
from realm_wasmer.js.script import run_script
from realm_wasmer.js.values import UNDEFINED

from .node_json import node_exports

#: The arguments, as the model holds them (a safe integer is an int, any other number a float).
EDGES: list[Any] = [
    0, -0.0, 1, -1, 3, 4, 16, -16, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**32 - 1, 2**32,
    m.MAX_SAFE, -m.MAX_SAFE, m.MAX_SAFE - 16, -m.MAX_SAFE + 16, m.MAX_SAFE - 15, -m.MAX_SAFE + 15,
    0.5, -7.5, 1e300, math.nan, math.inf, -math.inf, "12", "", "x", True, False, None, UNDEFINED,
    m.BigInt(10), [], [3], JsObject(),
]

FUNCTIONS = {
    "plus and minus a literal": "function (a) { const b = a; return [a + 16, a - 16, 16 + a, a + 0, a - 0, a + -5,"
    " a - -5, a + b, a - b, b + a + a, a + 's', 's' + a, a / 1 + b, (a >>> 0) + b, b - (a | 0),"
    " 0 + a]; }",
    "times a literal": "function (a) { return [a * 1, a * 4, a * 0, a * -1, 1 * a]; }",
    "over a literal": "function (a) { return [a / 4, a / 4 + 0, a / 4 + 1, a / 1, a / 3, a / -4, a / 0, a / 1 + 5,"
    " a / 2 - 2147483648, (a / 8) - 3, (a >>> 0) / 4 + 1]; }",
    "unsigned and signed truncation": "function (a) { return [a >>> 0, a | 0, a & 255, a & 0x7fffffff,"
    " (a >>> 0) + 4, (a | 0) - 1]; }",
    "literal arithmetic folded": "function (a) { return [-16, 4 * 0, 4 * 1, -4 * 0, 0 * -4, -0, 2 - 2, 1 - -1,"
    " -(-3), +5, 3 * -3, 9007199254740991 + 1, -9007199254740991 - 2, a + 4 * 1]; }",
    "known integer locals": "function (a) { const p = a >>> 0; const q = p + 4 * 1; const r = q * 2;"
    " const s = a | 0; const t = s - 2147483647; const u = p / 4 + 1; const w = (a & 15) * 3;"
    " return [p, q, r, s, t, u, w, p === 0, p !== 4, q == 4, s != -1, p ? 'y' : 'n', !s]; }",
    "a reassigned local is not taken as known": "function (a) { let p = 5; p = a; const q = p + 1;"
    " let r = 3; r += a; const t = r - 1; let x = 1; x++; return [q, t, x + 1]; }",
    "declared twice in blocks": "function (a) { const p = 7; { const p = a; return [p + 1, p * 2]; } }",
    "equality and conditions on known ints": "function (a) { const r0 = a >>> 0; const r1 = a | 0;"
    " const out = []; if (r0 !== 0) out.push('nz'); if (r1) out.push('t'); if (r0 === 4294967295) out.push('max');"
    " if (r1 == -1) out.push('m1'); return out; }",
    "augmented member assignment by a literal": "function (a) { const o = { v: a }; o.v += 16; const p = { v: a };"
    " p.v -= 16; const q = { v: a }; q['v'] *= 1; const log = []; const g = { get v() { log.push('get');"
    " return a; }, set v(x) { log.push(x); } }; g.v += 16; return [o.v, p.v, q.v, log]; }",
    "own accessors: get, set, throwing, getter only": "function (a) { const log = []; const o = {};"
    " Object.defineProperty(o, 'value', { get() { log.push('g'); return a; }, set(v) { log.push(['s', v]); },"
    " configurable: true }); const x = o.value; o.value = x; const ro = {};"
    " Object.defineProperty(ro, 'k', { get() { return 1; } }); ro.k = 5; const wo = {};"
    " Object.defineProperty(wo, 'k', { set(v) { log.push(['wo', v]); } }); wo.k = a;"
    " const th = {}; Object.defineProperty(th, 'k', { get() { return a.nope.deeper; } });"
    " let e = 'none'; try { th.k; } catch (err) { e = err.name; } return [x, log, ro.k, wo.k, e]; }",
    "typed array elements by integer index": "function (a) { const t = new Int32Array([5, -6, 7]);"
    " const idx = [0, 2, 3, -1]; const out = []; out.push(t[0]); out.push(t[2]); out.push(t[3]); out.push(t[-1]);"
    " out.push(t[a >>> 0]); out.push(t[a]); out.push(t[1.0]); out.push(t['1']); return out; }",
    "stack pointer pattern on a WebAssembly.Global-like accessor": "function (a) { let sp = 1024;"
    " const g = {}; Object.defineProperty(g, 'value', { get() { return sp; }, set(v) { sp = v | 0; } });"
    " const wasm = { __wbindgen_export_2: g }; const m = new Int32Array(512); m[252] = a | 0; m[253] = 9;"
    " try { const retptr = wasm.__wbindgen_export_2.value - 16; wasm.__wbindgen_export_2.value = retptr;"
    " var r0 = m[retptr / 4 + 0]; var r1 = m[retptr / 4 + 1]; return [retptr, r0, r1 * 1, sp]; }"
    " finally { wasm.__wbindgen_export_2.value += 16; } }",
    "accessors of a wasm member: throwing getter, setter only, getter only": "const mkth = (a) => {"
    " const th = { k: a }; return Object.defineProperty(th, 'value', { get() { return [this.k]; },"
    " set(v) { this.k = v; } }); }; ||| function (a) { const log = [];"
    " const bad = {}; Object.defineProperty(bad, 'value', { get() { return a.b.c; } }); const wo = {};"
    " Object.defineProperty(wo, 'value', { set(v) { log.push(v); } }); const ro = {};"
    " Object.defineProperty(ro, 'value', { get() { return 'ro'; } });"
    " const th = mkth(a); const wasm = { bad, wo, ro, th, plain: { value: a } }; log.push(wasm.th.value);"
    " wasm.th.value = 'set';"
    " log.push(wasm.th.value);"
    " let e = 'none'; try { log.push(wasm.bad.value); } catch (err) { e = err.message; } wasm.wo.value = a;"
    " wasm.ro.value = 5; wasm.plain.value = [a]; return [e, wasm.wo.value, wasm.ro.value, wasm.plain.value, log]; }",
    "undefined as a value and in comparisons": "function (a) { const r = []; r.push(a === undefined || a === null);"
    " r.push(a === 0 ? undefined : a >>> 0); r.push(undefined == a); r.push(a !== undefined); return r; }",
    "instanceof and in": "const H = function () {}; H[Symbol.hasInstance] = (v) => v === 3; ||| function (a) {"
    " const r = []; r.push(a instanceof Array); r.push(a instanceof Object);"
    " r.push(a instanceof H);"
    " let e = 'none'; try { r.push(a instanceof a); } catch (err) { e = err.name; } r.push(e);"
    " r.push('length' in [a]); r.push(0 in [a]); let e2 = 'none'; try { r.push('x' in a); } catch (err) {"
    " e2 = err.name; } r.push(e2); let result; try { result = a instanceof Uint8Array; } catch (_) {"
    " result = false; } r.push(result); return r; }",
    "unary plus": "function (a) { return [+a, +a + 1, -(+a)]; }",
    "members of a binding named wasm (not an exports object)": "function (a) { const wasm = { k: a };"
    " Object.defineProperty(wasm, 'g', { get() { return [a]; } }); const w2 = Object.create(wasm);"
    " let e = 'none'; try { const wasm = a; e = wasm.x; } catch (err) { e = err.name; }"
    " return [wasm.k, wasm.g, wasm.missing, e, (() => { const wasm = w2; return [wasm.k, wasm.g]; })()]; }",
    # (a module prelude before ``|||``: a function declaring a class is not translated)
    "static methods and Object.create": "class W { constructor(p) { this.p = p; } __destroy() { const p = this.p;"
    " this.p = 0; return p; } free() { const p = this.__destroy(); return [p, this.p, this.missing === undefined]; } }"
    " class C { self() { return this.w === undefined ? this.constructor.t() : 'no'; }"
    " static w(p) { const o = Object.create(C.prototype);"
    " o.ptr = p; return o; } static t() { return this === C; } static get g() { return () => 7; } }"
    " C.plain = function (x) { return [x, typeof this]; }; C.num = 5; const P = { m(x) { return [x, this === P]; } };"
    " const Q = Object.create({ m(x) { return [x, this === Q]; }, n: (x) => [x, 'arrow'] });"
    " const G = Object.create(Object.defineProperty({}, 'g', { get() { return () => 'via getter'; } }));"
    " const S = Object.create({ m() { return 'proto'; } }); S.m = () => 'own';"
    " const reg = new FinalizationRegistry(() => {});"
    " const t = (log, x, v) => { log.push(x); return v; }; ||| function (a) { const log = [];"
    " log.push(Q.m(a), Q.n(a), G.g(), S.m(), reg.register({}, a), reg.unregister({}));"
    " const o = C.w(t(log, 'arg', a)); log.push(C.prototype.self.call(o), W.prototype.free.call(new W(a)));"
    " let e = 'none';"
    " try { C.num(1); } catch (err) { e = err.message; } let e2 = 'none'; try { C.nope(); } catch (err) {"
    " e2 = err.message; }"
    " return [o.ptr, o instanceof C, C.t(), C.g(), C.plain(a), e, e2, P.m(a), log, Object.create(null) !== null]; }",
    "built-in slice of a call's string or typed array": "const mk = (a) => [typeof a === 'string'"
    " ? 'h\\u00e9\\ud83d\\ude00'"
    " + a : a === null ? new Int32Array([1, -2, 3]) : typeof a === 'number' ? new Uint8Array([1, 2, 3, 4]) : a][0];"
    " ||| function (a) { const r = []; r.push(mk(a).slice()); r.push(mk(a).slice(1)); r.push(mk(a).slice(1, 3));"
    " r.push(mk(a).subarray(1)); r.push(mk(a).at(-1)); return r; }",
    "built-in slice redefined on the prototypes": "const mk = (a) => [typeof a === 'string' ? a"
    " : new Uint8Array([5, 6])][0]; String.prototype.slice = function (x) { return ['mine', this + '', x]; };"
    " Uint8Array.prototype.slice = function () { return 'own on Uint8Array.prototype'; };"
    " ||| function (a) { return [mk(a).slice(1), mk('x').slice(), new Int8Array([1]).slice()]; }",
    "member assignment: own, new, inherited setter, non-extensible, __proto__": "function (a) { const log = [];"
    " const o = {}; o.x = a; o.x = [a]; o[a] = 1; const P2 = { set deep(v) { log.push(['deep', v]); } };"
    " const P1 = Object.create(P2); const c = Object.create(P1); c.deep = a; c.fresh = a;"
    " const ne = Object.preventExtensions({ k: 1 }); ne.k = a; ne.n = a; const pr = {}; pr.__proto__ = { inh: a };"
    " const ro = Object.defineProperty({}, 'r', { value: 1, writable: false }); try { ro.r = a; } catch (e) {"
    " log.push(e.name); } const arr = []; arr[0] = a; arr[2] = a; const nul = Object.create(null); nul.k = a;"
    " return [o, log, Object.keys(c), ne, pr.inh, ro.r, arr.length, nul.k]; }",
    "typeof tests": "const extra = [() => 1, Symbol('s'), class {}]; ||| function (a) { const r = [];"
    + "".join(
        f" {{ const v = {x}; r.push([typeof v === 'string', typeof v !== 'number', typeof(v) == 'boolean',"
        " 'undefined' === typeof v, typeof v === 'bigint', typeof v === 'symbol', typeof v === 'function',"
        " typeof v === 'object', typeof v != 'nonsense']); }"
        for x in ("a", "extra[0]", "extra[1]", "extra[2]")
    )
    + " r.push(typeof undeclaredX === 'undefined'); r.push(typeof undefined === 'undefined'); return r; }",
}


def _evaluate(fn_source: str, translate: bool) -> list[Any]:
    """``f(a)`` for each edge value ``a``, the raw JS values (no conversion to Python, so the
    model's number representation shows), or the thrown error's name and message."""
    old = direct.ENABLED
    direct.ENABLED = translate
    try:
        prelude, _, fn_source = fn_source.rpartition("|||")
        f = run_script(f"{prelude}\nmodule.exports = {fn_source};")
    finally:
        direct.ENABLED = old
    fn = f._js
    assert (fn.direct is not None) == translate  # the path under test is the one taken
    enter = next(c.cell_contents for c in f.__closure__ if getattr(c.cell_contents, "__name__", "") == "enter")
    out = []
    for a in EDGES:
        try:
            out.append(["ok", enter(fn.impl, UNDEFINED, [a], "f", False)])
        except JsError as exc:
            out.append(["throw", exc.name, exc.message])
    return out


def _norm(v: Any) -> Any:
    """Values made comparable with their representation: NaN and -0 spelled out, each number
    with its Python type (int, float, BigInt)."""
    if isinstance(v, float):
        if v != v:
            return "NaN"
        if v == 0 and math.copysign(1.0, v) < 0:
            return "-0"
        return ("float", v)
    if v is None or v is UNDEFINED or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return (type(v).__name__, int(v))
    if isinstance(v, list):
        return [_norm(x) for x in v]
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in dict.items(v)}
    return repr(v)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_fast_paths_behave_as_the_closures(name: str) -> None:
    translated, closures = _norm(_evaluate(FUNCTIONS[name], True)), _norm(_evaluate(FUNCTIONS[name], False))
    assert translated == closures
    assert any(r[0] == "ok" for r in translated)  # not a function that only throws


def _source_of(fn_source: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The Python source the translator writes for ``fn_source`` (direct.py's ``_compiled``, the
    shared code cache, recorded: the module looks it up in its globals at each call)."""
    seen: list[str] = []

    def record(src: str, filename: str) -> Any:
        seen.append(src)
        return builtins.compile(src, filename, "exec")

    monkeypatch.setattr(direct, "_compiled", record)
    run_script(f"const f = {fn_source};\nmodule.exports = f;")
    monkeypatch.undo()
    return "\n".join(seen)


def test_known_integers_need_no_operator_function(monkeypatch: pytest.MonkeyPatch) -> None:
    """``const retptr = wasm.f(-16) >>> 0`` then ``retptr + 4 * 1``: the literals folded, the
    sum Python's with no guard, the comparison ``!==`` Python's."""
    src = _source_of(
        "function (a) { const retptr = a(-16) >>> 0; const r = retptr + 4 * 1; const z = retptr + 4 * 0;"
        " if (r !== 0) { return [r, z]; } return -0; }",
        monkeypatch,
    )
    assert "_neg" not in src and "_mul" not in src and "_add" not in src and "_sne" not in src
    assert "+ 4)" in src and "!= 0" in src


def test_fast_paths_are_used_by_a_package_wrapper(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wasm-bindgen style wrapper (old glue: the stack pointer global) translates to the
    guarded integer forms, no ``_sub``/``_div`` call left on the int path."""
    src = _source_of(
        "function (w, m) { try { const retptr = w.g.value - 16; w.g.value = retptr;"
        " var r0 = m[retptr / 4 + 0]; return r0; } finally { w.g.value += 16; } }",
        monkeypatch,
    )
    body = src.split("    def void(")[0]  # the positional entry (the import twins repeat it)
    assert "is int and" in body and "// 4" in body
    assert body.count("_sub(") == 1  # only as the guard's other branch


def test_the_harness_sees_the_number_representation() -> None:
    """A float where the model wants an int would show (``4.0`` is not ``4`` here)."""
    assert _norm([4, 4.0, m.BigInt(4)]) == [("int", 4), ("float", 4.0), ("BigInt", 4)]
    assert _evaluate("function (a) { return a; }", True)[33] == ["ok", m.BigInt(10)]


def test_in_evaluates_its_key_first_as_node(tmp_path: Path) -> None:
    """``k() in o()``: the key, then the object (translated, closures and Node agree)."""
    script = (
        "const log = [];\n"
        "const t = (x, v) => { log.push(x); return v; };\n"
        "const f = function () { const r = t('key', 'k') in t('obj', {k: 1}); return [r, log.join(',')]; };\n"
        "module.exports = f();\n"
    )
    old = direct.ENABLED
    try:
        direct.ENABLED = False
        closures = run_script(script)
    finally:
        direct.ENABLED = old
    assert run_script(script) == closures == [True, "key,obj"]
    assert node_exports(tmp_path, script) == closures


def test_typed_array_subscript_of_a_call_evaluates_the_key_always() -> None:
    """``f()[k()]`` on something that is not a typed array still evaluates the key (then reads)."""
    src = (
        "function (a) { const log = []; const f = [() => { log.push('obj'); return a; }][0];"
        " const k = [() => { log.push('key'); return 0; }][0]; let r; try { r = f()[k()]; } catch (e) { r = e.name; }"
        " const t = new Int32Array([7]); const g = [() => t][0]; return [r, log, g()[0], g()[a >>> 0]]; }"
    )
    translated, closures = _norm(_evaluate(src, True)), _norm(_evaluate(src, False))
    assert translated == closures
    at_null = next(i for i, v in enumerate(EDGES) if v is None)
    assert translated[at_null] == ["ok", ["TypeError", ["obj", "key"], ("int", 7), ("int", 7)]]


def test_builtin_slice_runs_its_impl_and_follows_a_redefinition() -> None:
    """``f().slice()`` in a translated function runs String.prototype.slice's impl (a typed
    array's, reached through its prototype chain) while the prototype holds it; a redefined
    method is called as JS would call it."""
    f, before, after = run_script(
        "const g = [(x) => x][0];\n"
        "const f = function (x) { return g(x).slice(1); };\n"
        "const before = [f('abc'), Array.from(f(new Uint8Array([7, 8, 9])))];\n"
        "String.prototype.slice = function (n) { return ['mine', n]; };\n"
        "module.exports = [f, before, f('abc')];"
    )
    names = f._js.direct.__code__.co_names
    assert "_proto_of" in names and "_mcall" in names  # the lean form (its checks, its general path)
    assert before == ["bc", [8, 9]] and after == ["mine", 1]


def test_stack_pointer_global_reads_and_writes_are_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    """``wasm.__wbindgen_export_2.value`` (old glue's stack pointer) read through its getter and
    written through its setter inline, ``_get``/``_put`` only as the other branches."""
    src = _source_of(
        "function (wasm) { const retptr = wasm.__wbindgen_export_2.value - 16;"
        " wasm.__wbindgen_export_2.value = retptr; return retptr; }",
        monkeypatch,
    )
    body = src.split("    def void(")[0]
    assert "_getter(" in body and ".setter) is _JSF:" in body
    assert body.count(".direct) is not None") == 2  # the accessors' positional entries first


def test_i32_twin_converts_results_as_to_i32() -> None:
    """An import's ``i32`` twin returns what ``webassembly.to_i32`` makes of the function's
    result: bools as 1/0, ints wrapped, numbers truncated, anything else through ToInt32."""
    from realm_wasmer.js.webassembly import to_i32

    f = run_script("module.exports = function (a) { return a; };")._js
    assert f.direct is not None
    values = [True, False, 0, -1, 2**31, 2**32 - 1, 2**32, -(2**31) - 1, 3.7, -0.0, math.nan, "12", None, UNDEFINED]
    for value in values:
        expected = to_i32(value)
        got = f.direct.i32(value)
        assert type(got) is int and (got == expected or got & 0xFFFFFFFF == expected & 0xFFFFFFFF), value


# -- WebAssembly.Global accessors of a real instance (webassembly.make_global's ``direct``) ----

GLOBAL_WAT = """
(module
  (memory (export "memory") 1)
  (global (export "__wbindgen_export_2") (mut i32) (i32.const 1024))
  (global (export "gf") (mut f64) (f64.const 0.5))
  (func (export "fill") (param i32 i32)
    local.get 0 local.get 1 i32.store
    local.get 0 i32.const 4 i32.add local.get 1 i32.const 1 i32.add i32.store))
"""

GLOBAL_GLUE = """
import * as wasm from './m.wasm';
let cachedInt32Memory0 = null;
function getInt32Memory0() {
    if (cachedInt32Memory0 === null || cachedInt32Memory0.byteLength === 0) {
        cachedInt32Memory0 = new Int32Array(wasm.memory.buffer);
    }
    return cachedInt32Memory0;
}
export function pair(x) {
    try {
        const retptr = wasm.__wbindgen_export_2.value - 16;
        wasm.__wbindgen_export_2.value = retptr;
        wasm.fill(retptr, x);
        var r0 = getInt32Memory0()[retptr / 4 + 0];
        var r1 = getInt32Memory0()[retptr / 4 + 1];
        return [retptr, r0, r1];
    } finally {
        wasm.__wbindgen_export_2.value += 16;
    }
}
export function sp() { return wasm.__wbindgen_export_2.value; }
export function setSp(v) { wasm.__wbindgen_export_2.value = v; return wasm.__wbindgen_export_2.value; }
export function setF(v) { wasm.gf.value = v; return wasm.gf.value; }
export function bump(v) { wasm.__wbindgen_export_2.value += v; return wasm.__wbindgen_export_2.value; }
export function loose() {
    const d = Object.getOwnPropertyDescriptor(wasm.__wbindgen_export_2, 'value');
    const get = d.get, set = d.set;
    set(2048, 'extra'); const a = get(1, 2); set(); const b = get(); d.set(1024);
    return [a, b, d.get(), get.call(null), typeof get];
}
export function redefine() {
    const log = [];
    Object.defineProperty(wasm.__wbindgen_export_2, 'value', {
        get() { log.push('get'); return 7; }, set(v) { log.push(['set', v]); }, configurable: true });
    const x = wasm.__wbindgen_export_2.value - 16;
    wasm.__wbindgen_export_2.value = x;
    wasm.__wbindgen_export_2.value += 16;
    return [x, log];
}
export function asData() {
    Object.defineProperty(wasm.__wbindgen_export_2, 'value', { value: 'data', writable: true, configurable: true });
    wasm.__wbindgen_export_2.value += 1;
    return wasm.__wbindgen_export_2.value;
}
function view(ptr, n) { return new Uint8Array(wasm.memory.buffer).subarray(ptr, ptr + n); }
function view32(n) { return new Int32Array(wasm.memory.buffer, 1000, n); }
function whole() { return new Uint8Array(wasm.memory.buffer); }
export function copies(n) {
    wasm.fill(1000, 0x01020304);
    const a = view(1000, n).slice(), b = view32(2).slice(), c = view(1000, n).slice(1);
    const items = (x) => (n < 10 ? Array.from(x) : x.length);  // (Array.from charges the budget too)
    return [items(a), items(b), items(c), a.length, b.length, a.buffer.byteLength];
}
export function wholeLength() { return whole().slice().length; }
export function slots(p) {
    var r0 = getInt32Memory0()[p / 4 + 0];
    var r1 = getInt32Memory0()[p / 4 + 1];
    return [r0, r1];
}
let n = 0;
function sneaky() { n++; const a = new Int32Array(wasm.memory.buffer); a[301] = n; return a; }
export function sneakySlots(p) {
    var r0 = sneaky()[p / 4 + 0];
    var r1 = sneaky()[p / 4 + 1];
    return [r0, r1, n];
}
export function swapHelper() {
    const log = [];
    getInt32Memory0 = function () { log.push('view'); return new Int32Array([log.length, 2, 3]); };
    const r = slots(4);
    return [r, log];
}
let cachedDataViewMemory0 = null;
function getDataViewMemory0() {
    if (cachedDataViewMemory0 === null || cachedDataViewMemory0.buffer.detached === true ||
        (cachedDataViewMemory0.buffer.detached === undefined && cachedDataViewMemory0.buffer !== wasm.memory.buffer)) {
        cachedDataViewMemory0 = new DataView(wasm.memory.buffer);
    }
    return cachedDataViewMemory0;
}
export function dv3(p) {
    var r0 = getDataViewMemory0().getInt32(p + 4 * 0, true);
    var r1 = getDataViewMemory0().getInt32(p + 4 * 1, true);
    var r2 = getDataViewMemory0().getInt32(p + 4 * 2, true);
    return [r0, r1, r2];
}
export function dvMine() {
    const saved = DataView.prototype.getInt32;
    DataView.prototype.getInt32 = function (p, le) { return ['mine', p, le]; };
    try { return dv3(1000); } finally { DataView.prototype.getInt32 = saved; }
}
export function other(wasm) {
    const a = wasm.__wbindgen_export_2.value - 16;
    wasm.__wbindgen_export_2.value = a;
    wasm.__wbindgen_export_2.value += 16;
    return [a, wasm.__wbindgen_export_2.value];
}
"""

#: Calls in order on one instance (the later ones redefine the Global's accessor).
GLOBAL_CALLS = [
    "p.pair(5)", "p.pair(-3)", "p.sp()", "p.setSp(2**32 + 1000)", "p.setSp(1000.9)", "p.setSp('1040')",
    "p.setSp(-1)", "p.setSp(None)", "p.setSp(True)", "p.setSp(1024)", "p.bump(16)", "p.bump(-16)",
    "p.bump(2**31)", "p.setSp(1024)", "p.setF(3)", "p.setF('x')", "p.setF(2.5)", "p.setF(2**40)", "p.loose()",
    "p.sp()", "p.other({'__wbindgen_export_2': {'value': 100}})", "p.other({'__wbindgen_export_2': {'value': 'a'}})",
    "p.copies(0)", "p.copies(6)", "p.copies(5000)", "p.copies(3)", "p.copies(30000)", "p.wholeLength()",
    "p.slots(1000)", "p.slots(1002)", "p.slots(65528)", "p.slots(65532)", "p.slots(65536)", "p.slots(-4)",
    "p.slots('1000')", "p.slots(1000.5)", "p.slots(None)", "p.slots(2**40)", "p.sneakySlots(1200)",
    "p.sneakySlots(1200)", "p.dv3(1000)", "p.dv3(1001)", "p.dv3(65524)", "p.dv3(65525)", "p.dv3(-4)", "p.dv3('996')",
    "p.dv3(1000.5)", "p.dvMine()", "p.dv3(996)", "p.swapHelper()", "p.slots(0)",
    "p.redefine()", "p.sp()", "p.pair(9)", "p.asData()", "p.sp()",
]


def _global_package(root: Path) -> Path:
    import json

    from .conftest import wat2wasm_text

    (root / "m.wasm").write_bytes(wat2wasm_text(GLOBAL_WAT))
    (root / "index.mjs").write_text(GLOBAL_GLUE)
    (root / "package.json").write_text(json.dumps({"name": "g", "type": "module", "main": "index.mjs"}))
    return root


def _global_calls(root: Path, translate: bool, engine: str, max_host_bytes: Any = None) -> list[Any]:
    import realm_wasmer as rw

    old = direct.ENABLED
    direct.ENABLED = translate
    try:
        p = rw.load_package(root, engine=engine, limits=rw.Limits(max_host_bytes=max_host_bytes))
    finally:
        direct.ENABLED = old
    out = []
    for call in GLOBAL_CALLS:
        try:
            out.append(_norm(eval(call, {"p": p})))  # noqa: S307 - the table above
        except Exception as exc:  # noqa: BLE001 - compared between both paths
            out.append(["raised", type(exc).__name__, str(exc)])
    return out


@pytest.mark.parametrize("engine", ["wasmer-cranelift", "wasmtime"])
def test_wasm_global_accessors_behave_as_the_closures(tmp_path: Path, engine: str) -> None:
    """A real instance's ``wasm.__wbindgen_export_2.value`` read, written (ints, out-of-range,
    fractions, strings, undefined), ``+=``, its accessors called loose (extra and missing
    arguments), redefined by ``Object.defineProperty`` (as an accessor, then as data), a
    ``wasm`` parameter holding a plain object: translated (the accessors' ``direct``) and as
    closures alike."""
    root = _global_package(tmp_path)
    translated, closures = _global_calls(root, True, engine), _global_calls(root, False, engine)
    assert translated == closures
    assert translated[0] == [("int", 1008), ("int", 5), ("int", 6)] and translated[2] == ("int", 1024)
    assert translated[3] == ("int", 1000) and translated[5] == ("int", 1040) and translated[8] == ("int", 1)
    assert translated[16] == ("float", 2.5) and translated[15] == "NaN"
    at = GLOBAL_CALLS.index("p.redefine()")
    assert translated[at] == [("int", -9), ["get", ["set", ("int", -9)], "get", ["set", ("int", 23)]]]
    assert translated[at + 2][:2] == ["raised", "GuestTrap"]  # the redefined getter's -9 - 16 as the pointer
    assert translated[at + 3] == "data1"
    assert translated[GLOBAL_CALLS.index("p.wholeLength()")] == ("int", 65536)


def test_whole_typed_array_copies_charge_the_budget_as_the_builtin(tmp_path: Path) -> None:
    """``view().slice()`` (translated: :func:`direct._copy_all`) copies what the built-in
    copies and charges the host budget as it does: under ``max_host_bytes`` the same
    results, past it the same error, translated and as closures."""
    root = _global_package(tmp_path)
    translated = _global_calls(root, True, "wasmer-cranelift", max_host_bytes=20000)
    closures = _global_calls(root, False, "wasmer-cranelift", max_host_bytes=20000)
    assert translated == closures
    at = GLOBAL_CALLS.index("p.copies(6)")
    assert translated[at] == [[("int", x) for x in (4, 3, 2, 1, 5, 3)], [("int", 0x01020304), ("int", 0x01020305)],
                              [("int", x) for x in (3, 2, 1, 5, 3)], ("int", 6), ("int", 2), ("int", 6)]
    assert translated[at + 1][3] == ("int", 5000) and translated[at + 2][3] == ("int", 3)  # the budget is per call
    assert translated[at + 3][:2] == ["raised", "ResourceExhausted"]  # 30000 + 8 + 29999 bytes copied
    assert translated[at + 4][:2] == ["raised", "ResourceExhausted"]  # a tracking view: the built-in's own path


def test_whole_copy_of_a_call_result_takes_copy_all(monkeypatch: pytest.MonkeyPatch) -> None:
    """``g().slice()`` with no arguments: the typed-array branch is :func:`direct._copy_all`;
    with arguments the built-in's impl."""
    src = _source_of("function (g) { return [g().slice(), g().slice(1)]; }", monkeypatch)
    body = src.split("    def void(")[0]
    assert body.count("_copy_all(") == 1 and body.count(".impl(_t") >= 2


def test_return_slot_pair_is_one_read_of_the_recognised_view(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``var r0 = getInt32Memory0()[p / 4 + 0]; var r1 = ...[p / 4 + 1]`` reads both words at
    once (:func:`direct._i32_slots`) only for the recognised view helper (by name at
    translation, by its entry's code at run time): the calls in GLOBAL_CALLS (misaligned,
    out-of-range, non-int pointers, a look-alike helper that writes memory on each call, the
    helper binding reassigned) give the closures' results (the test above compares them)."""
    import realm_wasmer as rw

    root = _global_package(tmp_path)
    seen: list[int] = []

    def counted(v: Any, pos: int, n: int) -> Any:
        seen.append(n)
        return direct._i32_slots(v, pos, n)

    monkeypatch.setitem(direct._RUNTIME, "_i32_slots", counted)
    p = rw.load_package(root, engine="wasmer-cranelift")
    assert p.slots(1000) == [0, 0] and p.dv3(1000) == [0, 0, 0] and p.sneakySlots(0) == [0, 0, 2]
    assert seen == [2, 3]  # one read each for the recognised helpers, none for the look-alike
    monkeypatch.undo()
    assert "_i32_slots" in p.slots._js.direct.__code__.co_names  # the lean form is there
    assert "_i32_slots" not in p.sneakySlots._js.direct.__code__.co_names  # not a view getter's name
    assert p.swapHelper() == [[2, 3], ["view", "view"]] and seen == [2, 3]  # a reassigned binding: run-time check
    got = _global_calls(root, True, "wasmer-cranelift")
    at = GLOBAL_CALLS.index("p.slots(1000)")
    assert got[at] == [("int", 0x01020304), ("int", 0x01020305)]
    assert got[at + 3] == [("int", 0), UNDEFINED] and got[at + 4] == [UNDEFINED, UNDEFINED]
    assert got[at + 10] == [("int", 0), ("int", 2), ("int", 2)]  # the second call's write seen by the second read
    assert got[at + 11] == [("int", 0), ("int", 4), ("int", 4)]
    assert got[GLOBAL_CALLS.index("p.swapHelper()")] == [[("int", 2), ("int", 3)], ["view", "view"]]  # two arrays
    assert "_i32_slots" in p.dv3._js.direct.__code__.co_names
    at = GLOBAL_CALLS.index("p.dv3(1000)")
    assert got[at] == [("int", 0x01020304), ("int", 0x01020305), ("int", -3)]  # (pair(-3)'s word at 1008)
    assert got[at + 1] == [("int", 0x05010203), ("int", 0xFD010203 - 2**32), ("int", 0xFEFFFFFF - 2**32)]  # unaligned
    assert got[at + 2][2] == ("int", 0) and got[at + 3][:2] == ["raised", "JsThrow"] and "RangeError" in got[at + 3][2]
    assert got[at + 4][:2] == ["raised", "JsThrow"]
    assert got[at + 7] == [["mine", ("int", 1000), True], ["mine", ("int", 1004), True], ["mine", ("int", 1008), True]]


def test_a_literal_compared_with_null_or_undefined_compiles_without_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    """``-1 === undefined`` is translated (not a ``-1 is U`` that Python warns about) and false."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", SyntaxWarning)
        src = _source_of("function (a) { return [-1 === undefined, 0 !== null, a === null]; }", monkeypatch)
        assert "-1 is" not in src and "is U" in src
        body = "(function (a) { return [-1 === undefined, 0 !== null, a === null]; })(null)"
        assert run_script(f"module.exports = {body};") == [False, True, True]
