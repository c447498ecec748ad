"""The bridge's and the typed arrays' fast paths give what their general paths give.

``Bridge.to_py`` wraps an instance of a package class from a cache of prototypes it saw
(``Bridge._instance_class``); the typed arrays' element reads, ``slice``/``subarray`` and the
array helpers (``getArrayU8FromWasm0``, ``passArray8ToWasm0``) have shortcuts. Each test here
changes what a shortcut assumes, and compares with the general path (a fresh Bridge, which has
seen nothing) or with Node.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from realm_wasmer.errors import JsError
from realm_wasmer.js.bridge import Bridge, JsInstance
from realm_wasmer.js.model import JsObject
from realm_wasmer.js.script import run_script
from realm_wasmer.js.values import UNDEFINED

from .node_json import node_exports

CLASSES = """
class Foo { constructor(n) { this.n = n; } get twice() { return this.n * 2; } }
class Bar { constructor(n) { this.n = n; } }
module.exports = {
  Foo,
  make: (n) => new Foo(n),
  same: (o) => o,
  retarget: (to) => { Foo.prototype.constructor = to === 'Bar' ? Bar : to === 'Object' ? Object : Foo; },
  redefine: () => { Object.defineProperty(Foo.prototype, 'constructor', { value: Bar }); },
  errorize: () => { Object.setPrototypeOf(Foo.prototype, Error.prototype); },
};
"""


def general(api: dict[str, Any], name: str, *args: Any) -> Any:
    """``api[name](*args)`` converted by a fresh Bridge over the same realm (no cache: the general path)."""
    fresh = Bridge(api["Foo"]._bridge.realm)
    return fresh.invoke(api[name]._js, UNDEFINED, [fresh.to_js(a) for a in args], name)


def shape(v: Any) -> Any:
    """What a converted value is, comparable across bridges (each bridge has its own classes)."""
    if isinstance(v, JsInstance):
        return ("instance", type(v).__name__, dict(v._js))
    if isinstance(v, JsError):
        return ("error", type(v).__name__)
    if isinstance(v, JsObject):
        return ("object", dict(v))
    return ("value", v)


def test_class_instances_are_wrapped_by_the_cached_prototype_as_by_the_general_path() -> None:
    api = run_script(CLASSES)
    a, b = api["make"](1), api["make"](2)  # the second from the cache
    assert type(a) is type(b) is api["Foo"]
    assert (a._js["n"], b._js["n"], a.twice, b.twice) == (1, 2, 2, 4)
    assert api["same"](b) is b  # the object's own wrapper, kept
    assert shape(api["make"](3)) == shape(general(api, "make", 3)) == ("instance", "Foo", {"n": 3})


def test_a_reassigned_constructor_is_seen_as_the_general_path_sees_it() -> None:
    api = run_script(CLASSES)
    api["make"](1)
    api["make"](1)
    api["retarget"]("Bar")  # a data property written in place (the Prop's value changes)
    got = api["make"](5)
    assert shape(got) == shape(general(api, "make", 5)) == ("instance", "Bar", {"n": 5})
    api["retarget"]("Object")  # a native constructor: not a package class, a plain object
    assert shape(api["make"](6)) == shape(general(api, "make", 6)) == ("object", {"n": 6})
    api["retarget"]("Foo")
    assert type(api["make"](7)) is api["Foo"]
    api["redefine"]()
    assert shape(api["make"](8)) == shape(general(api, "make", 8)) == ("instance", "Bar", {"n": 8})


def test_a_prototype_moved_under_error_converts_as_an_error() -> None:
    api = run_script(CLASSES)
    api["make"](1)
    api["make"](1)
    api["errorize"]()  # Foo.prototype's prototype is Error.prototype now: an error, as the general path says
    got, ref = api["make"](2), general(api, "make", 2)
    assert shape(got) == shape(ref)
    assert isinstance(got, JsError)


TYPED = """
const i32 = new Int32Array([7, -2, 3]);
const big = new BigInt64Array([5n, -6n]);
const f64 = new Float64Array([1.5, 2, NaN]);
const u8 = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
const read = (a, k) => {
  const v = a[k];
  return v === undefined ? 'undefined' : typeof v === 'bigint' ? v.toString() + 'n' : v;
};
module.exports = [
  [0, '1', 2, 3, -1, '01', '-0', '1.5', 1.0, 'length', 'byteLength', 'byteOffset', 'BYTES_PER_ELEMENT', 'nope']
    .map(k => read(i32, k)),
  [read(big, 0), read(big, '1'), read(big, 2)],
  [read(f64, 0), read(f64, 1), Number.isNaN(f64[2]), typeof f64.slice, typeof i32['subarray']],
  Array.from(u8.slice()), Array.from(u8.slice(2)), Array.from(u8.slice(-3, -1)), Array.from(u8.slice(6, 2)),
  Array.from(u8.subarray(2, 5).slice(1)), u8.subarray(3).slice().byteOffset, u8.slice(1, 3).buffer.byteLength,
  Array.from(new Int16Array(u8.buffer).slice(1, 3)), Array.from(new Int16Array(u8.buffer, 2).subarray(1)),
];
"""


def test_typed_array_reads_and_copies_are_javascripts(tmp_path: Path) -> None:
    got = run_script(TYPED)
    assert got[0] == [7, -2, 3, "undefined", "undefined", "undefined", "undefined", "undefined", -2, 3, 12, 0, 4,
                      "undefined"]  # fmt: skip
    assert got[1] == ["5n", "-6n", "undefined"]
    assert got[2] == [1.5, 2, True, "function", "function"]
    assert got[3:8] == [[1, 2, 3, 4, 5, 6, 7, 8], [3, 4, 5, 6, 7, 8], [6, 7], [], [4, 5]]
    assert got[8:] == [0, 2, [1027, 1541], [1541, 2055]]
    assert node_exports(tmp_path, TYPED) == got


REGISTRY = """
class H {}
const log = [];
const reg = new FinalizationRegistry((held) => log.push(held));
module.exports = {
  make: (held, token) => {
    const o = new H();
    reg.register(o, held, token === 'self' ? o : token === 'array' ? [] : undefined);
    return o;
  },
  unregister: (o) => reg.unregister(o),
  log: () => log.slice().sort(),
};
"""


def test_finalization_registry_cleans_up_collected_targets_and_not_unregistered_ones() -> None:
    import gc

    api = run_script(REGISTRY)
    a, b, c, d = api["make"](1, "self"), api["make"](2, None), api["make"](3, "self"), api["make"](4, "array")
    assert api["unregister"](c) is True
    assert api["unregister"](c) is False  # once only
    assert api["unregister"](b) is False  # registered without a token
    assert api["log"]() == []
    del a, b, c, d
    gc.collect()
    assert api["log"]() == [1, 2, 4]  # the call is the safe point that runs the queued cleanups
    e = api["make"](5, "self")
    assert api["unregister"](e) is True
    del e
    gc.collect()
    assert api["log"]() == [1, 2, 4]


JSON_CASES = """
const objs = [
  { background: '#ffffff' }, { a: 'x\\u0001\\n"\\u00e9\\u007f', b: -3, c: true, d: null },
  { b: 1, 2: 'two', a: 0 }, { a: 1.5 }, { a: undefined, b: 2 }, { a: [1] }, {}, { toJSON: 'kept' },
  { toJSON() { return 'own'; } },
];
const plain = objs.map((o) => JSON.stringify(o));
Object.prototype.toJSON = function () { return 'inherited'; };
const inherited = objs.slice(0, 2).map((o) => JSON.stringify(o));
delete Object.prototype.toJSON;
module.exports = { plain, inherited, again: JSON.stringify(objs[1]) };
"""


def test_json_stringify_of_flat_objects_is_javascripts(tmp_path: Path) -> None:
    from realm_wasmer.js import model as m
    from realm_wasmer.js.stdlib import json_stringify

    got = run_script(JSON_CASES)
    assert got["plain"][:3] == [
        '{"background":"#ffffff"}', '{"a":"x\\u0001\\n\\"\u00e9\x7f","b":-3,"c":true,"d":null}',
        '{"2":"two","b":1,"a":0}',
    ]  # fmt: skip
    assert got["inherited"] == ['"inherited"', '"inherited"']
    assert got["again"] == got["plain"][1]
    assert node_exports(tmp_path, JSON_CASES) == got
    flat = JsObject({"a": "é\x7f", "b": 7, "c": False, "d": None})
    assert json_stringify(flat) == json_stringify(flat, UNDEFINED, 0)  # indent 0: the general path, same text
    assert json_stringify(flat) == '{"a":"\u00e9\x7f","b":7,"c":false,"d":null}'
    assert "toJSON" not in m.OBJECT_PROTO  # the script took its own back


def test_strings_into_js_are_canonical_as_model_canonical_makes_them() -> None:
    from realm_wasmer.js import bridge as b
    from realm_wasmer.js import model as m

    api = run_script("module.exports = { id: (s) => s, units: (s) => s.length }")
    from realm_wasmer.js.runtime import Realm

    to_js = Bridge(Realm()).to_js
    cases = ["", "abc", "é" * 40, "語x", "😀", "\ud83d\ude00", "a\ud83d\ude00b", "\ud800", "x\udfff", "\ud7ff\ue000",
             "é\udc80", "😀" * 3]  # fmt: skip
    for s in cases:
        assert to_js(s) == m.canonical(s), repr(s)
        assert b._no_surrogates(s) == (m._SURROGATE.search(s) is None), repr(s)
    assert api["units"]("\ud83d\ude00") == 2 and api["id"]("a\ud83d\ude00b") == "a😀b"  # the pair joined, as JS sees it


DATA_VIEW = """
const dv = new DataView(new ArrayBuffer(16));
const out = [];
for (const [v, le] of [[5, true], [-5, true], [2147483648, true], [4294967297, false], [1.9, 1], ['12', 'yes'],
                       [-1, 0], [undefined, true], [65535, null]]) {
  dv.setInt32(4, v, le); out.push(dv.getInt32(4, le), dv.getUint32(4, !le), dv.getUint8(4));
  dv.setUint16(0, v, le); out.push(dv.getUint16(0, le), dv.getInt16(0, true));
  dv.setInt8(2, v); out.push(dv.getInt8(2), dv.getUint8(2));
}
dv.setBigInt64(8, -2n, true); out.push(String(dv.getBigUint64(8, true)), String(dv.getBigInt64(8, false)));
dv.setFloat32(0, 1.5); out.push(dv.getFloat32(0), dv.getFloat64(8, true) === dv.getFloat64(8, 1));
let thrown = [];
for (const f of [() => dv.getInt32(13, true), () => dv.setInt32(13, 1), () => dv.getUint8(-1)]) {
  try { f(); thrown.push('none'); } catch (e) { thrown.push(e.name); }
}
const typed = [new Uint8Array(new ArrayBuffer(8), 2).length, new Uint8Array(new ArrayBuffer(8), 2, 3).length,
  new Int32Array(new ArrayBuffer(8), '4').length, new Uint16Array(new ArrayBuffer(8), 2, undefined).length];
for (const f of [() => new Int32Array(new ArrayBuffer(8), 2), () => new Uint8Array(new ArrayBuffer(8), 9),
                 () => new Uint8Array(new ArrayBuffer(8), 4, 5)]) {
  try { f(); typed.push('none'); } catch (e) { typed.push(e.name); }
}
module.exports = { out, thrown, typed };
"""


def test_data_view_and_typed_array_construction_are_javascripts(tmp_path: Path) -> None:
    got = run_script(DATA_VIEW)
    assert got["out"][:7] == [5, 83886080, 5, 5, 5, 5, 5]
    assert got["thrown"] == ["RangeError", "RangeError", "RangeError"]
    assert got["typed"] == [6, 3, 1, 3, "RangeError", "RangeError", "RangeError"]
    assert node_exports(tmp_path, DATA_VIEW) == got


def test_string_slice_without_arguments_is_the_string(tmp_path: Path) -> None:
    script = (
        "const s = ['abc', '\\u00e9\\u8a9e', '', 'a\\ud83d\\ude00b', '\\ud800x'];\n"
        "module.exports = s.map((x) => [x.slice(), x.slice().length, x.slice(undefined), x.slice(1)]);\n"
    )
    got = run_script(script)
    assert [g[0] for g in got[:3]] == ["abc", "é語", ""]
    assert got[3][1] == 4 and got[3][0] == "a😀b"
    assert node_exports(tmp_path, script) == got


def test_strings_out_of_wasm_are_charged_to_max_host_bytes(corpus: dict[str, Any]) -> None:
    """getStringFromWasm0's (int, int) path charges the string's bytes before the copy, as _decode does:
    message_parser's get_first_emoji copies out a 4-byte emoji and allocates nothing else on the host."""
    import realm_wasmer as rw
    from realm_wasmer.errors import PoisonedInstance

    from .conftest import CORPUS_CACHE

    root = CORPUS_CACHE / "pkgs" / "message_parser" / "package"
    pkg = rw.load_package(root, engine="wasmer-cranelift")
    (instance,) = pkg.__realm__.instances
    budget = instance.context.calls.budget  # loading needs more than these limits: set after it
    budget.limit = 4
    assert pkg.get_first_emoji("😀 hi") == "😀"
    assert pkg.get_first_emoji("😀 hi") == "😀"  # per call, not cumulative
    budget.limit = 3
    with pytest.raises(rw.ResourceExhausted) as info:
        pkg.get_first_emoji("😀 hi")
    assert (info.value.limit, info.value.value) == ("max_host_bytes", 3)
    assert "getStringFromWasm0" in str(info.value)
    with pytest.raises(PoisonedInstance):
        pkg.get_first_emoji("😀")


TEXT_CODING = """
const enc = new TextEncoder();
const bytes = enc.encode('\\ufeffh\\u00e9llo \\u{1F600}');
const buf = new Uint8Array(64);
buf.set(bytes, 3);
const out = [Array.from(bytes), enc.encode().length, enc.encode(12).length, Array.from(enc.encode('\\ud800'))];
for (const opts of [undefined, { ignoreBOM: true }, { fatal: true }]) {
  const d = new TextDecoder('utf-8', opts);
  out.push(d.decode(bytes), d.decode(buf.subarray(3, 3 + bytes.length)), d.decode(bytes.buffer), d.decode(),
           d.decode(new DataView(buf.buffer, 3, 4)), d.decode(new Uint16Array([0x6968, 0x21])));
  try { out.push(d.decode(new Uint8Array([0x68, 0xff, 0x69]))); } catch (e) { out.push(e.name); }
}
out.push(new TextDecoder('utf-16le').decode(new Uint8Array([0x68, 0, 0x69, 0])));
module.exports = out;
"""


def test_text_encoder_and_decoder_are_javascripts(tmp_path: Path) -> None:
    got = run_script(TEXT_CODING)
    assert got[4:6] == ["h\u00e9llo \U0001f600", "h\u00e9llo \U0001f600"]  # the BOM dropped
    assert got[-1] == "hi"
    assert node_exports(tmp_path, TEXT_CODING) == got


def test_plain_dicts_and_lists_into_js_keep_shapes_and_cycles() -> None:
    from collections import OrderedDict

    from realm_wasmer.js.runtime import Realm

    to_js = Bridge(Realm()).to_js
    d: dict[Any, Any] = {"a": [1, "x", None], 2: True, "n": {"m": 2.5}}
    d["self"] = d
    lst: list[Any] = [d, d]
    lst.append(lst)
    out = to_js(lst)
    assert type(out) is list and out[0] is out[1] and out[2] is out
    obj = out[0]
    assert type(obj) is JsObject and obj["self"] is obj and list(obj) == ["a", "2", "n", "self"]
    assert obj["a"] == [1, "x", None] and type(obj["n"]) is JsObject and obj["n"]["m"] == 2.5
    ordered = to_js(OrderedDict([("b", 1), ("a", (2, 3))]))  # a dict subclass and a tuple: the general path
    assert type(ordered) is JsObject and dict(ordered) == {"b": 1, "a": [2, 3]}
