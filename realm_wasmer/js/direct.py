"""Simple JS functions compiled once into Python source: the lean path of every wasm import.

wasm-bindgen's import functions are short and straight-line::

    imports.wbg.__wbg_set_bd72c078edfa51ad = function(arg0, arg1, arg2) {
        getObject(arg0)[takeObject(arg1)] = takeObject(arg2);
    };

The closure compiler runs such a body as a tree of closures (a Python call per node, a list
per argument list, the helper found through the frame chain and dispatched through its
``impl(this, args)``). Here a function whose body is simple (expression statements,
declarations of plain names, ``return``, ``if``/``else``, blocks, ``throw``,
``try``/``catch``/``finally``; no loops, ``switch``, labels, nested function or class
declarations, ``super``, ``arguments``) is translated, once at load, into one Python
function taking its arguments positionally (a function whose body reads ``this`` becomes
its ``impl(this, args)`` itself, the arguments unpacked from the list)::

    def direct(v5=U, v6=U, v7=U, *_rest):
        _put(getObject(v5), takeObject(v6), takeObject(v7))   # each call through a cached entry
        return U

Parameters and locals are Python variables; when a sub-expression is outside the subset (a
nested function, a template string, an optional chain, ``x++``...) it runs as its ordinary
compiled closure, and the locals then live in the closures' frame layout (``f[5]``...) so the
closure sees them. Calls through a variable (``getObject(...)``) cache the callee's positional
entry at the call site: a function's :attr:`~model.JSFunction.direct` (these translations, and
wasm-bindgen's recognised helpers, whose ``direct`` is the library's Python implementation, see
``helpers.py``), else its ``impl``. For a wasm import the engine calls the translation's
``void``/``i32`` twin with the raw wasm arguments (``webassembly.import_handler``). Semantics
are the closures' (the same operators from :mod:`.model`, tested against them), with JS's
evaluation order for member assignment (object, key, then value).

Export wrappers (``wasm.f(...)`` around the stack pointer, return slots read from memory,
copies out) get lean forms, each with the general path as its other branch: integer
arithmetic is Python's where that is the model's result (``a - 16`` guarded by ``type(a) is
int`` and the safe range; no guard at all for integers known at translation: literals,
``x >>> 0``, ``x | 0``, ``x & mask``, ``const``/``let`` locals of those never assigned, sums and
products of those; literal arithmetic such as ``-16`` or ``4 * 0`` folded); own accessors
(``wasm.__wbindgen_export_N.value``, a WebAssembly.Global) and typed-array elements
(``getInt32Memory0()[i]``) read without ``m.get``'s dispatch; ``wasm.X`` reads, static methods
(``Cls.__wrap(ptr)``, ``Object.create(p)``), prototype methods of plain objects
(``XFinalization.register(...)``, ``this.__destroy_into_raw()``) and plain ``o[k] = v`` writes
inline; ``helper(...).slice()`` runs the built-in String/TypedArray method while the prototype
holds it (``.slice()`` with no arguments on a typed array: :func:`_copy_all`, the built-in's
charge and copy inlined); a WebAssembly.Global's ``value`` accessors are called through their
``direct`` entries (webassembly.make_global: straight to the engine's global); a return slot's
words read one statement each (``var r0 = getInt32Memory0()[retptr / 4 + 0]; var r1 = ...``,
or ``getDataViewMemory0().getInt32(retptr + 4 * K, true)``) are one memory read while the
helper is helpers.py's (:meth:`Translator.slot_run`). ``tests/test_direct_fast.py`` compares
each with the closures over edge values.

Two glue shapes outside the subset are recognised: an import ``function () { return
handleError(function (a, b) {...}, arguments) }`` runs the inner function's translation inside
the recognised helper's catch (:func:`_handle_error_wrapper`, checked at each call: any other
``handleError`` runs the closures), and ``getDataViewMemory0().getInt32(p, true)`` calls the
built-in DataView method's impl straight while the prototype holds it (``data_view_call``).
"""

from __future__ import annotations

import math
import re
import struct
import types
from typing import Any, Callable, Optional

from ..errors import JsNeedsFrame, JsNotTranslated, JsThrow
from ..host.guarded import LazyGuarded
from ..host.guarded import compiled as _compiled  # one bounded code cache for all generated source
from . import model as m
from .model import JSFunction, JsObject, Prop, WasmExports
from .parser import node_text
from .typed import ArrayBuffer, TypedArray, new_bytes
from .values import UNDEFINED

#: Binary operators with a direct Python rendering (the same functions the closures use).
_OPS: dict[str, str] = {
    "+": "_add", "-": "_sub", "*": "_mul", "/": "_div", "%": "_mod", "&": "_band", "|": "_bor",
    "^": "_bxor", "<<": "_shl", ">>": "_sar", ">>>": "_shr", "===": "_seq", "!==": "_sne",
    "==": "_leq", "!=": "_lne", "<": "_lt", ">": "_gt", "<=": "_le", ">=": "_ge",
}
#: A return slot's word K: ``p/4+K`` (an Int32Array's index), ``(p+4*K,true)`` (DataView getInt32).
_TA_WORD = re.compile(r"^([A-Za-z_$][\w$]*)/4\+(\d)$")
_DV_WORD = re.compile(r"^\(([A-Za-z_$][\w$]*)\+4\*(\d),true\)$")
#: Translate at all (tests compare both paths; the closures are the reference semantics).
ENABLED = True
_FORBIDDEN_WORDS = (b"super", b"arguments", b"yield", b"await", b"eval", b"new.target")
_MAX_SOURCE = 4000
#: A member call's arguments longer than this (Python source) are not written twice (see call).
_MAX_INLINE_ARGS = 400
#: The names wasm-bindgen's glue gives the instance's exports (``let wasm;``, ``import * as
#: wasm``): member calls on them are written inline (the rest go through _mcall, less source).
_EXPORTS_NAMES = (b"wasm",)


#: The function is outside the subset: it keeps its closures.
Unsupported = JsNotTranslated
#: A sub-expression runs as a closure: translate again with the locals in a frame.
NeedsFrame = JsNeedsFrame


# ---------------------------------------------------------------------------------------- runtime


def _not_function(text: str) -> JsThrow:
    return m.throw("TypeError", f"{text} is not a function")


def _call0(fn: Any, text: str) -> Any:
    if type(fn) is JSFunction:
        d = fn.direct
        return d() if d is not None else fn.impl(UNDEFINED, [])
    if isinstance(fn, JSFunction):
        return fn.impl(UNDEFINED, [])
    raise _not_function(text)


def _call1(fn: Any, a: Any, text: str) -> Any:
    if type(fn) is JSFunction:
        d = fn.direct
        return d(a) if d is not None else fn.impl(UNDEFINED, [a])
    if isinstance(fn, JSFunction):
        return fn.impl(UNDEFINED, [a])
    raise _not_function(text)


def _call2(fn: Any, a: Any, b: Any, text: str) -> Any:
    if type(fn) is JSFunction:
        d = fn.direct
        return d(a, b) if d is not None else fn.impl(UNDEFINED, [a, b])
    if isinstance(fn, JSFunction):
        return fn.impl(UNDEFINED, [a, b])
    raise _not_function(text)


def _calln(fn: Any, args: list[Any], text: str) -> Any:
    if type(fn) is JSFunction:
        d = fn.direct
        return d(*args) if d is not None else fn.impl(UNDEFINED, args)
    if isinstance(fn, JSFunction):
        return fn.impl(UNDEFINED, args)
    raise _not_function(text)


def _entry(cell: list[Any], fn: Any, text: str) -> Callable[..., Any]:
    """The positional entry of ``fn`` for a call site whose callee is a variable, remembered in
    ``cell`` (``[fn, entry]``) until the variable holds another value."""
    if isinstance(fn, JSFunction):
        entry = fn.direct
        if entry is None or type(fn) is not JSFunction:
            impl = fn.impl

            def entry(*args: Any) -> Any:
                return impl(UNDEFINED, list(args))

    else:

        def entry(*args: Any) -> Any:
            raise _not_function(text)

    cell[0] = fn
    cell[1] = entry
    return entry


def _annotate(exc: JsThrow, text: str) -> None:
    if exc.message and "(reading" in exc.message and "in `" not in exc.message:
        exc.message = f"{exc.message} in `{text}`"


def _get(o: Any, key: Any, text: str) -> Any:
    t = type(o)
    if (t is JsObject or t is WasmExports or t is JSFunction) and type(key) is str:
        v = dict.get(o, key, m._MISSING)
        if v is not m._MISSING:  # an own property: its value, or the Prop's ([[Get]] as m.lookup)
            if type(v) is not Prop:
                return v
            getter = v.getter
            if getter is None:
                if v.setter is None:
                    return v.value
            elif type(getter) is JSFunction:  # an own accessor (a WebAssembly.Global's value...): m.lookup's call
                try:
                    return getter.impl(o, [])
                except JsThrow as exc:
                    _annotate(exc, text)
                    raise
    elif t is list and type(key) is int and 0 <= key < len(o):
        return o[key]
    elif t is TypedArray and type(key) is int:  # getInt32Memory0()[i]: typed_get's integer case
        return o.get(key)
    # a typed array element, a DataView field...: m.get's dispatch (after its plain-object case), without its frame
    special = m.EXOTIC_GET.get(t) if t is not JsObject else None
    try:
        return special(o, key) if special is not None else m.get(o, key)
    except JsThrow as exc:
        _annotate(exc, text)
        raise


def _getter(getter: JSFunction, o: Any, text: str) -> Any:
    """An own accessor's getter called as :func:`_get` calls it."""
    try:
        return getter.impl(o, [])
    except JsThrow as exc:
        _annotate(exc, text)
        raise


def _copy_all(t: TypedArray, budget: Any, slice_: JSFunction) -> Any:
    """``t.slice()`` by the built-in %TypedArray%.prototype.slice with no arguments (``slice_``,
    checked by the caller): typed.py's ``_slice`` inlined, its budget charge then one copy
    out of the buffer into a new array of ``t``'s kind; the built-in runs where the charge
    would fail (its error) or the length tracks the buffer."""
    n = t.fixed
    if n is None:
        return slice_.impl(t, [])
    size = n * t.size
    limit = budget.limit
    if limit is not None and budget.used + size > limit:
        return slice_.impl(t, [])
    if size > 0:
        budget.used += size
    buf = t.buffer
    first = t.offset
    data = bytearray((buf.mv() if buf.tracking else buf._mv)[first : first + size])
    return TypedArray(t.kind, ArrayBuffer(data), 0, len(data) // t.size)  # as typed._copy_of


#: ``n`` little-endian i32 words (a return slot of ``n`` words).
_I32_RUNS = {n: struct.Struct(f"<{n}i") for n in range(2, 9)}


def _i32_slots(v: Any, pos: int, n: int) -> Optional[tuple[Any, ...]]:
    """The ``n`` i32 words at byte ``pos`` of an Int32Array's or a DataView's bytes by one
    read, or None where one of them is outside it (TypedArray.get's and DataView getInt32's
    bounds: the general path then gives undefined or throws)."""
    buf = v.buffer
    mv = buf.mv() if buf.tracking else buf._mv
    fixed = v.fixed
    limit = len(mv) - v.offset if fixed is None else fixed * 4 if type(v) is TypedArray else fixed
    if pos < 0 or pos + 4 * n > limit:
        return None
    return _I32_RUNS[n].unpack_from(mv, v.offset + pos)


def _helper_code(factory: Any) -> Any:
    """The code object of the ``direct`` entry a helpers.py factory makes (``getInt32Memory0``'s,
    ``getDataViewMemory0``'s): a function with it is that pure getter of the instance's cached
    view (see Translator.slot_run)."""
    code = getattr(factory, "__code__", None)
    if code is None:
        return None
    inner = {getattr(c, "co_name", ""): c for c in code.co_consts}
    if "direct" not in inner and "make" in inner:  # (a factory of factories: _memory_view(name, kind))
        inner = {getattr(c, "co_name", ""): c for c in inner["make"].co_consts}
    return inner.get("direct")


def _mcall(o: Any, key: Any, args: list[Any], text: str) -> Any:
    fn: Any = m._MISSING
    t = type(o)
    if (t is JsObject or t is JSFunction or t is WasmExports) and type(key) is str:
        fn = dict.get(o, key, m._MISSING)  # an own data property (a static method, an export)
        if type(fn) is Prop:
            fn = fn.value if fn.getter is None and fn.setter is None else m._MISSING
        elif fn is m._MISSING and t is JsObject:
            fn = m.lookup(o.proto, key, o)  # a method on the prototype chain
    if fn is m._MISSING:
        # a typed array, DataView...: m.get's dispatch (after its plain-object case), without its frame
        special = m.EXOTIC_GET.get(t) if t is not JsObject else None
        try:
            fn = special(o, key) if special is not None else m.get(o, key)
        except JsThrow as exc:
            _annotate(exc, text)
            raise
    if type(fn) is JSFunction:
        d = fn.direct  # a function that does not read ``this`` (a static method, an export...)
        return d(*args) if d is not None else fn.impl(o, args)
    if isinstance(fn, JSFunction):
        return fn.impl(o, args)
    raise _not_function(text)


def _new(ctor: Any, args: list[Any], text: str) -> Any:
    if not isinstance(ctor, JSFunction) or ctor.make is None:
        raise m.throw("TypeError", f"{text} is not a constructor")
    return ctor.make(args, ctor)


def _put(o: Any, key: Any, value: Any) -> None:
    t = type(o)
    if t is JsObject and type(key) is str:
        current = o.get(key, m._MISSING)
        if current is m._MISSING:
            if o.extensible:
                p = o.proto
                while p is not None and key not in p:
                    p = p.proto
                if p is None:
                    o[key] = value  # a new data property: nothing inherited (JsObject keeps dict's store)
                    return
        elif type(current) is not Prop:
            o[key] = value
            return
        elif type(current.setter) is JSFunction:  # an own accessor (a WebAssembly.Global's value...): m.put's call
            current.setter.impl(o, [value])
            return
    elif t is list and type(key) is int and 0 <= key <= len(o):
        if key < len(o):
            o[key] = value
        else:
            o.append(value)
        return
    m.put(o, key, value)


def _sne(a: Any, b: Any) -> bool:
    return not m.strict_equals(a, b)


def _lne(a: Any, b: Any) -> bool:
    return not m.loose_equals(a, b)


def _in(key: Any, obj: Any) -> bool:
    """``key in obj`` (the operands evaluated by the caller, key first)."""
    return m.has_property(obj, key)


def _void(_: Any) -> Any:
    return UNDEFINED


def _to_i32(v: Any) -> int:
    """An import's i32 result that is not already one: ECMAScript ToInt32 (as webassembly.to_i32)."""
    return m.to_int32(v)


_RUNTIME: dict[str, Any] = {
    "U": UNDEFINED, "JsThrow": JsThrow, "_entry": _entry, "_WE": WasmExports, "_JSF": JSFunction, "_dget": dict.get,
    "_TA": TypedArray, "_proto_of": m.proto_of, "_BigInt": m.BigInt, "_Symbol": m.Symbol,
    "_M": m._MISSING, "_Prop": Prop, "_NUMBER": (int, float),
    "_JSO": JsObject,
    "_call0": _call0, "_call1": _call1, "_call2": _call2, "_calln": _calln,
    "_to_i32": _to_i32, "_instanceof": m.instance_of, "_in": _in,
    "_get": _get, "_getter": _getter, "_mcall": _mcall, "_copy_all": _copy_all, "_i32_slots": _i32_slots,
    "_PyFunction": types.FunctionType, "_new": _new, "_put": _put,
    "_tb": m.to_boolean, "_typeof": m.typeof,
    "_neg": m.negate, "_num": m.to_number, "_bnot": m.bit_not, "_void": _void,
    "_add": m.add, "_sub": m.sub, "_mul": m.mul, "_div": m.div, "_mod": m.mod, "_band": m.bit_and,
    "_bor": m.bit_or, "_bxor": m.bit_xor, "_shl": m.shl, "_sar": m.sar, "_shr": m.shr, "_seq": m.strict_equals,
    "_sne": _sne, "_leq": m.loose_equals, "_lne": _lne, "_lt": m.lt, "_gt": m.gt, "_le": m.le, "_ge": m.ge,
}


# ---------------------------------------------------------------------------------------- translation


class Translator:
    """Translates one function (``node``, compiled in scope ``scope`` by ``compiler``)."""

    def __init__(self, compiler: Any, scope: Any, frame: bool) -> None:
        self.compiler = compiler
        self.scope = scope
        #: True: locals live in the closures' frame ``f``; False: in Python locals (no fallback).
        self.frame = frame
        #: Frame slots of this function read or written (Python-locals mode).
        self.locals: set[int] = set()
        #: The body reads ``this`` (the translation then takes it as its first parameter).
        self.uses_this = False
        self.consts: dict[str, Any] = {}
        self.temps = 0
        #: The body calls the instance's exports (``wasm.f(...)``): an export wrapper, not an import.
        self.calls_exports = False
        #: Locals known to hold an integer within bounds (Python-locals mode): a ``const``/``let``
        #: declared once from an integer expression and never assigned (see :meth:`bounds`).
        self.known: dict[str, tuple[int, int]] = {}
        #: Names the body assigns anywhere (``x = ...``, ``x += ...``, ``x++``): never known.
        self.assigned: set[bytes] = set()
        self.declared: set[str] = set()

    # -- helpers -------------------------------------------------------------------------------
    def const(self, value: Any) -> str:
        if value is UNDEFINED:
            return "U"
        if value is None or value is True or value is False:
            return repr(value)
        if type(value) is int and abs(value) < 2**53:
            return repr(value)
        name = f"_k{len(self.consts)}"
        self.consts[name] = value
        return name

    def fallback(self, node: Any) -> str:
        """``node`` as its ordinary compiled closure, run on the frame."""
        if not self.frame:
            raise NeedsFrame()
        closure = self.compiler.expr(node, self.scope)
        return f"{self.const(closure)}(f)"

    def temp(self) -> str:
        self.temps += 1
        return f"_t{self.temps}"

    def text(self, node: Any) -> str:
        return self.const(node_text(node, 60))

    # -- identifiers ---------------------------------------------------------------------------
    def slot(self, name: str) -> Optional[str]:
        where = self.compiler.resolve(name, self.scope)
        if where[0] != "slot":
            return None
        return self.ref(int(where[1]), int(where[2]))

    def ref(self, hops: int, idx: int) -> str:
        if self.frame:
            return "f" + "[0]" * hops + f"[{idx}]"
        if hops == 0:
            self.locals.add(idx)
            return f"v{idx}"
        return "env" + "[0]" * (hops - 1) + f"[{idx}]"

    # -- expressions ---------------------------------------------------------------------------
    def expr(self, node: Any) -> str:
        t = node.type
        if t == "parenthesized_expression":
            inner = [c for c in node.named_children if c.type != "comment"]
            if len(inner) != 1:
                return self.fallback(node)
            return self.expr(inner[0])
        if t in ("identifier", "undefined"):  # (newer tree-sitter-javascript: ``undefined`` has a node type)
            name = node.text.decode()
            ref = self.slot(name)
            if ref is not None:
                return ref
            if name == "undefined":
                return "U"
            where = self.compiler.resolve(name, self.scope)
            if where[0] == "import" and where[1].name == "*":  # ``import * as wasm``: the namespace
                return f"{self.const(self.compiler.namespaces)}[{where[1].index}]"
            # a global or an imported binding: the closure reads it without the frame (and
            # records a global's name for the load report)
            closure = self.const(self.compiler.expr(node, self.scope))
            if where[0] != "global":
                return f"{closure}(None)"
            v = self.temp()  # a global's own data property read inline, anything else by the closure
            g = self.const(self.compiler.realm.global_object)
            return (
                f"({v} if type({v} := _dget({g}, {name!r}, _M)) is not _Prop and {v} is not _M else {v}.value"
                f" if type({v}) is _Prop and {v}.getter is None and {v}.setter is None else {closure}(None))"
            )
        if t in ("number", "string", "true", "false", "null"):
            return self.fallback_const(node)
        if t == "this":
            if self.scope.fn.arrow:
                return self.fallback(node)  # the enclosing function's `this`, through the frames
            self.uses_this = True
            return "f[1]" if self.frame else "_this"
        if t in ("member_expression", "subscript_expression"):
            if node.child_by_field_name("optional_chain") is not None or self._optional_inside(node):
                return self.fallback(node)
            obj_node = node.child_by_field_name("object")
            if obj_node.type == "super":
                raise Unsupported("super")
            obj, key, text = self.expr(obj_node), self.key(node), self.const(node_text(node))  # the closures' text
            if obj_node.type == "this" and node.type == "member_expression" and obj in ("_this", "f[1]"):
                # ``this.__wbg_ptr`` in a method: a plain object's own data property inline
                v = self.temp()
                return (
                    f"({v} if type({obj}) is _JSO and type({v} := _dget({obj}, {key}, _M)) is not _Prop"
                    f" and {v} is not _M else _get({obj}, {key}, {text}))"
                )
            if node.type == "member_expression" and _is_exports_member(obj_node):
                # ``wasm.__wbindgen_export_N.value``: a WebAssembly.Global's own accessor, its getter
                # called as _get calls it
                o, p, g = self.temp(), self.temp(), self.temp()
                return (
                    f"({self.getter_call(g, o, text)} if type({o} := {obj}) is _JSO"
                    f" and type({p} := _dget({o}, {key}, _M)) is _Prop and type({g} := {p}.getter) is _JSF"
                    f" else _get({o}, {key}, {text}))"
                )
            exports_member = obj_node.type == "identifier" and obj_node.text in _EXPORTS_NAMES and "(" not in obj
            if node.type == "member_expression" and exports_member:
                # ``wasm.__wbindgen_malloc`` (an export passed to a helper, a global): the
                # exports' own data property inline (a plain reference, read again by _get)
                v = self.temp()
                return (
                    f"({v} if type({obj}) is _WE and type({v} := _dget({obj}, {key}, _M)) is not _Prop"
                    f" and {v} is not _M else _get({obj}, {key}, {text}))"
                )
            if node.type == "subscript_expression" and obj_node.type == "call_expression":
                # ``getInt32Memory0()[retptr / 4 + 0]``: a typed array's element by an integer inline
                a, k = self.temp(), self.temp()
                return (  # (``&``: the key is evaluated whatever the object is)
                    f"({a}.get({k}) if (type({a} := {obj}) is _TA) & (type({k} := {key}) is int)"
                    f" else _get({a}, {k}, {text}))"
                )
            return f"_get({obj}, {key}, {text})"
        if t == "call_expression":
            return self.call(node)
        if t == "array":  # a JS array is a Python list, its items as the closure takes them (spreads: the closure)
            items = [c for c in node.named_children if c.type != "comment"]
            if any(c.type == "spread_element" for c in items):
                return self.fallback(node)
            return f"[{', '.join(self.expr(c) for c in items)}]"
        if t == "new_expression":
            args = self.arguments(node.child_by_field_name("arguments"))
            if args is None:
                return self.fallback(node)
            ctor = self.expr(node.child_by_field_name("constructor"))
            return f"_new({ctor}, [{', '.join(args)}], {self.text(node.child_by_field_name('constructor'))})"
        if t == "binary_expression":
            return self.binary(node)
        if t == "unary_expression":
            return self.unary(node)
        if t == "ternary_expression":
            test = self.test(node.child_by_field_name("condition"))
            yes = self.expr(node.child_by_field_name("consequence"))
            no = self.expr(node.child_by_field_name("alternative"))
            return f"({yes} if {test} else {no})"
        return self.fallback(node)

    def fallback_const(self, node: Any) -> str:
        closure = self.compiler.expr(node, self.scope)
        return self.const(closure([]))

    def _optional_inside(self, node: Any) -> bool:
        """Part of an optional chain (``a?.b.c``): the closures' short-circuit handles it."""
        n = node
        while n is not None and n.type in ("member_expression", "subscript_expression", "call_expression"):
            if n.child_by_field_name("optional_chain") is not None:
                return True
            n = n.child_by_field_name("object") or n.child_by_field_name("function")
        return False

    def key(self, node: Any) -> str:
        if node.type == "member_expression":
            prop = node.child_by_field_name("property")
            if prop.type != "property_identifier":
                raise Unsupported(prop.type)
            return repr(prop.text.decode())
        return self.expr(node.child_by_field_name("index"))

    def arguments(self, node: Any) -> Optional[list[str]]:
        if node is None:
            return []
        if node.type != "arguments":
            return None
        out = []
        for child in node.named_children:
            if child.type == "comment":
                continue
            if child.type == "spread_element":
                return None
            out.append(self.expr(child))
        return out

    def call(self, node: Any) -> str:
        callee = node.child_by_field_name("function")
        if node.child_by_field_name("optional_chain") is not None or self._optional_inside(callee):
            return self.fallback(node)
        if callee.type in ("super", "import"):
            return self.fallback(node)
        args = self.arguments(node.child_by_field_name("arguments"))
        if args is None:
            return self.fallback(node)
        text = self.text(callee)
        if callee.type in ("member_expression", "subscript_expression"):
            obj_node = callee.child_by_field_name("object")
            if obj_node.type == "super":
                raise Unsupported("super")
            obj, key, listed = self.expr(obj_node), self.key(callee), ", ".join(args)
            lean = self.data_view_call(callee, obj_node, obj, key, listed, text)
            if lean is None:
                lean = self.builtin_method_call(callee, obj_node, obj, key, listed, text)
            if lean is not None:
                return lean
            if (
                callee.type != "member_expression"  # o[k]: k is evaluated once, by _mcall
                or obj_node.type != "identifier"
                or obj_node.text not in _EXPORTS_NAMES
                or "(" in obj  # a plain reference (a local, the module's slot, the namespace), read again
                or len(listed) > _MAX_INLINE_ARGS
            ):
                if callee.type == "member_expression" and obj_node.type in ("identifier", "this"):
                    if len(listed) <= _MAX_INLINE_ARGS:
                        return self.static_call(obj, key, listed, text)
                return f"_mcall({obj}, {key}, [{listed}], {text})"
            # ``wasm.f(...)``: the export's positional entry, straight (an own data property of
            # the instance's exports); anything else through _mcall. The arguments appear in
            # both branches, only one runs.
            d = self.temp()
            self.calls_exports = True
            return (
                f"({d}({listed}) if type({obj}) is _WE and type({d} := _dget({obj}, {key})) is _JSF"
                f" and ({d} := {d}.direct) is not None else _mcall({obj}, {key}, [{listed}], {text}))"
            )
        ref = self.slot(callee.text.decode()) if callee.type == "identifier" else None
        if ref is not None:
            # a variable callee (getObject, takeObject...): its entry cached at the call site
            cell = self.const([None, None])
            if "[" in ref:  # a frame or env slot: read once
                v = self.temp()
                return f"({cell}[1] if ({v} := {ref}) is {cell}[0] else _entry({cell}, {v}, {text}))({', '.join(args)})"
            return f"({cell}[1] if {ref} is {cell}[0] else _entry({cell}, {ref}, {text}))({', '.join(args)})"
        fn = self.expr(callee)
        if len(args) == 0:
            return f"_call0({fn}, {text})"
        if len(args) == 1:
            return f"_call1({fn}, {args[0]}, {text})"
        if len(args) == 2:
            return f"_call2({fn}, {args[0]}, {args[1]}, {text})"
        return f"_calln({fn}, [{', '.join(args)}], {text})"

    def static_call(self, obj: str, key: str, listed: str, text: str) -> str:
        """``C.m(...)`` where ``C`` is a function (a class's static method: ``Cls.__wrap(ptr)``,
        ``Object.create(proto)``) and ``m`` its own data property, or a plain object whose
        prototype has ``m`` as a data property and which has no own ``m``
        (``XFinalization.register(...)``): the method read inline and called as :func:`_mcall`
        calls it (the positional entry, else ``impl`` with the receiver as ``this``), the
        arguments evaluated after the read, as in JS; anything else through ``_mcall``."""
        o, p, f, d, q = self.temp(), self.temp(), self.temp(), self.temp(), self.temp()
        found = (
            f"type({o} := {obj}) is _JSF and (type({f} := ({p} := _dget({o}, {key}, _M))) is _JSF or type({p}) is _Prop"
            f" and {p}.getter is None and {p}.setter is None and type({f} := {p}.value) is _JSF)"
            # or a plain object's method on its prototype (``XFinalization.register(obj, ptr, obj)``)
            f" or type({o}) is _JSO and _dget({o}, {key}, _M) is _M and type({q} := {o}.proto) is _JSO"
            f" and (type({f} := ({p} := _dget({q}, {key}, _M))) is _JSF or type({p}) is _Prop"
            f" and {p}.getter is None and {p}.setter is None and type({f} := {p}.value) is _JSF)"
        )
        run = f"({d}({listed}) if ({d} := {f}.direct) is not None else {f}.impl({o}, [{listed}]))"
        return f"({run} if {found} else _mcall({o}, {key}, [{listed}], {text}))"

    def builtin_method_call(
        self, callee: Any, obj_node: Any, obj: str, key: str, listed: str, text: str
    ) -> Optional[str]:
        """``helper(...).slice()`` (a built-in string or typed-array method called on the result
        of a call, as export wrappers copy what ``getStringFromWasm0``/``getArrayU8FromWasm0``
        return): while the receiver is a string (a typed array) and the realm's
        ``String.prototype`` (``%TypedArray%.prototype``, reached from the array's own
        prototype with no entry of that name) still holds the built-in method as a data
        property, that method's impl runs straight; anything else is ``_mcall``'s general path.
        Only where the type's own [[Get]] of that name is the prototype's method (checked at
        translation: no index, no ``length``, no field of that name)."""
        if callee.type != "member_expression" or obj_node.type != "call_expression" or len(listed) > _MAX_INLINE_ARGS:
            return None
        name = key[1:-1]
        realm = self.compiler.realm
        g = realm.global_object
        exotic = realm.intrinsics.exotic_get
        try:
            string_proto = m.get(m.get(g, "String"), "prototype")
            typed_base = m.get(m.get(g, "Uint8Array"), "prototype").proto
        except (JsThrow, AttributeError):
            return None
        branches = []
        o, p, q = self.temp(), self.temp(), self.temp()
        for proto, sample, test in (
            (string_proto, "", f"type({o}) is str"),
            (typed_base, new_bytes(b""),
             f"type({o}) is _TA and _dget({q} := _proto_of({o}), {key}, _M) is _M and {q}.proto is {{kb}}"),
        ):
            method = dict.get(proto, name) if isinstance(proto, JsObject) else None
            if type(method) is not Prop or method.accessor or type(method.value) is not JSFunction:
                continue
            special = exotic.get(type(sample))
            try:
                if special is None or special(sample, name) is not method.value:
                    continue
            except JsThrow:
                continue
            kp, kf = self.const(proto), self.const(method.value)
            check = test.replace("{kb}", kp)
            run = f"{kf}.impl({o}, [{listed}])"
            if name == "slice" and not listed and proto is typed_base:  # a whole copy: _copy_all
                run = f"_copy_all({o}, {self.const(realm.budget)}, {kf})"
            branches.append(
                f"{run} if {check} and type({p} := _dget({kp}, {key}, _M)) is _Prop"
                f" and {p}.value is {kf} and {p}.getter is None and {p}.setter is None"
            )
        if not branches:
            return None
        first = branches[0].replace(f"type({o}) is", f"type({o} := {obj}) is", 1)
        rest = "".join(f" else {b}" for b in branches[1:])
        return f"({first}{rest} else _mcall({o}, {key}, [{listed}], {text}))"

    def data_view_call(self, callee: Any, obj_node: Any, obj: str, key: str, listed: str, text: str) -> Optional[str]:
        """``getDataViewMemory0().getInt32(p, true)`` (any DataView get/set method on the result
        of a ``getDataViewMemory0()`` call, as export wrappers read their return slots): while
        the value is a DataView and the realm's ``DataView.prototype`` still holds the built-in
        method (a data property), that method's impl runs straight (the same bounds check,
        endianness and conversion: it is the same function); else ``_mcall``'s general path.
        The object, then the arguments, then the call, as ``_mcall`` orders them."""
        if (
            callee.type != "member_expression"
            or obj_node.type != "call_expression"
            or obj_node.child_by_field_name("function").text != b"getDataViewMemory0"
            or not key.startswith(("'get", "'set"))
        ):
            return None
        from .typed import DataView  # noqa: PLC0415 - typed imports the model after this module

        g = self.compiler.realm.global_object
        try:
            proto = m.get(m.get(g, "DataView"), "prototype")
        except JsThrow:
            return None
        method = dict.get(proto, key[1:-1]) if isinstance(proto, JsObject) else None
        if type(method) is not Prop or method.getter is not None or not isinstance(method.value, JSFunction):
            return None
        o, p = self.temp(), self.temp()
        kp, kv, kd = self.const(proto), self.const(method.value), self.const(DataView)
        ki = self.const(method.value.impl)
        return (
            f"({ki}({o}, [{listed}]) if type({o} := {obj}) is {kd} and type({p} := _dget({kp}, {key}, _M)) is _Prop"
            f" and {p}.value is {kv} and {p}.getter is None else _mcall({o}, {key}, [{listed}], {text}))"
        )

    def binary(self, node: Any) -> str:
        op = node.child_by_field_name("operator").type
        left_node = node.child_by_field_name("left")
        if left_node.type == "private_property_identifier":
            raise Unsupported("#x in obj")
        if op in ("===", "!==", "==", "!="):
            inline = self.equality(op, left_node, node.child_by_field_name("right"))
            if inline is not None:
                return inline
        fn = _OPS.get(op)
        if fn is not None:
            right_node = node.child_by_field_name("right")
            folded = self.folded(node)
            if folded is not None:
                return folded
            fast = self.int_binary(op, left_node, right_node)
            if fast is not None:
                return fast
            return f"{fn}({self.expr(left_node)}, {self.expr(right_node)})"
        if op in ("instanceof", "in"):  # the operands in JS's order (left, then right)
            fn = "_instanceof" if op == "instanceof" else "_in"
            return f"{fn}({self.expr(left_node)}, {self.expr(node.child_by_field_name('right'))})"
        if op in ("&&", "||", "??"):
            left = self.expr(left_node)
            right = self.expr(node.child_by_field_name("right"))
            t = self.temp()
            if op == "&&":
                return f"({right} if _tb({t} := {left}) else {t})"
            if op == "||":
                return f"({t} if _tb({t} := {left}) else {right})"
            return f"({right} if ({t} := {left}) is None or {t} is U else {t})"
        return self.fallback(node)

    def equality(self, op: str, left: Any, right: Any) -> Optional[str]:
        """A comparison with a literal (``x === null``, ``r0 !== 0``, ``x == null``,
        ``typeof v === 'string'``) inline, as m.strict_equals/loose_equals decide it; None for
        any other comparison (the operator's function)."""
        literal, other = (right, left) if _literal(right) else (left, right) if _literal(left) else (None, None)
        undefined = literal is not None and literal.type in ("identifier", "undefined")
        if literal is None or (undefined and self.slot("undefined") is not None):
            return None
        value = UNDEFINED if undefined else self.compiler.expr(literal, self.scope)([])
        negate = op.startswith("!")
        if type(value) is int and op in ("===", "!==", "==", "!=") and self.bounds(other) is not None:
            return f"({self.expr(other)} {'!=' if negate else '=='} {value!r})"  # an int: Python's comparison
        typeof = self.typeof_test(other, value)
        if typeof is not None:
            return f"(not {typeof})" if negate else typeof
        x, t = self.expr(other), self.temp()
        if value is None or value is UNDEFINED:
            if op in ("==", "!="):  # null and undefined are loosely equal to each other only
                test = f"(({t} := {x}) is None or {t} is U)"
            else:
                # through a temporary: ``-1 === undefined`` would write ``-1 is U`` (a SyntaxWarning)
                test = f"(({t} := {x}) is {'None' if value is None else 'U'})"
        elif op in ("===", "!==") and type(value) is str:
            test = f"(type({t} := {x}) is str and {t} == {value!r})"
        elif op in ("===", "!==") and (type(value) is int or type(value) is float and math.isfinite(value)):
            test = f"(type({t} := {x}) in _NUMBER and {t} == {value!r})"
        else:
            return None
        return f"(not {test})" if negate else test

    def typeof_test(self, node: Any, value: Any) -> Optional[str]:
        """``typeof x === 'string'`` (any equality operator: ``typeof`` gives a string) as the
        type test m.typeof decides it by, for the names with one; None otherwise (``'object'``,
        ``typeof`` of an undeclared global: the operator's own path)."""
        while node.type == "parenthesized_expression" and len(node.named_children) == 1:
            node = node.named_children[0]
        if node.type != "unary_expression" or node.child_by_field_name("operator").type != "typeof":
            return None
        arg = node.child_by_field_name("argument")
        tests = {
            "string": "type({x}) is str", "number": "type({x}) in _NUMBER", "boolean": "type({x}) is bool",
            "undefined": "{x} is U", "bigint": "type({x}) is _BigInt", "symbol": "type({x}) is _Symbol",
            "function": "isinstance({x}, _JSF)",
        }
        if type(value) is not str or value not in tests:
            return None
        bare = arg
        while bare.type == "parenthesized_expression" and len(bare.named_children) == 1:
            bare = bare.named_children[0]
        if bare.type == "identifier" and self.slot(bare.text.decode()) is None:
            return None  # typeof of an undeclared global is "undefined", no throw: the closure
        return "(" + tests[value].format(x=self.expr(arg)) + ")"

    def unary(self, node: Any) -> str:
        op = node.child_by_field_name("operator").type
        arg_node = node.child_by_field_name("argument")
        if op == "typeof":
            if arg_node.type == "identifier" and self.slot(arg_node.text.decode()) is None:
                return self.fallback(node)  # typeof of an undeclared global is "undefined", no throw
            return f"_typeof({self.expr(arg_node)})"
        if op == "!":
            return f"(not {self.test(arg_node)})"
        if op == "-":
            folded = self.folded(node)
            return folded if folded is not None else f"_neg({self.expr(arg_node)})"
        if op == "+":  # ToNumber: a number is its own value
            v, c = self.temp(), self.temp()
            return f"({v} if ({c} := type({v} := {self.expr(arg_node)})) is int or {c} is float else _num({v}))"
        if op == "~":
            return f"_bnot({self.expr(arg_node)})"
        if op == "void":
            return f"_void({self.expr(arg_node)})"
        return self.fallback(node)

    def test(self, node: Any) -> str:
        """A condition as a Python bool."""
        while node.type == "parenthesized_expression" and len(node.named_children) == 1:
            node = node.named_children[0]
        if node.type == "binary_expression":
            op = node.child_by_field_name("operator").type
            if op in ("===", "!==", "==", "!=", "<", ">", "<=", ">="):
                return self.binary(node)
        if node.type == "unary_expression" and node.child_by_field_name("operator").type == "!":
            return f"(not {self.test(node.child_by_field_name('argument'))})"
        if self.bounds(node) is not None:
            return f"({self.expr(node)} != 0)"
        # ToBoolean: a bool or an int (a wasm result, a flag) inline, anything else by m.to_boolean
        v, c = self.temp(), self.temp()
        return f"({v} if ({c} := type({v} := {self.expr(node)})) is bool else {v} != 0 if {c} is int else _tb({v}))"

    # -- integers ------------------------------------------------------------------------------
    def bounds(self, node: Any) -> Optional[tuple[int, int]]:
        """``(lo, hi)`` when ``node``'s value is certainly a Python ``int`` in that range (the
        model's number for a safe integer) whenever it evaluates without throwing: an integer
        literal, ``x >>> 0``, ``x | 0``, ``x & mask``, a known local (:meth:`note_known`), sums
        and products of those; None when it may be anything else. Emits nothing."""
        t = node.type
        if t == "parenthesized_expression":
            inner = [c for c in node.named_children if c.type != "comment"]
            return self.bounds(inner[0]) if len(inner) == 1 else None
        if t == "number":
            v = self.compiler.expr(node, self.scope)([])
            return (v, v) if type(v) is int else None
        if t == "identifier":
            ref = self.slot(node.text.decode()) if not self.frame else None
            return self.known.get(ref) if ref is not None else None
        if t == "unary_expression":
            op = node.child_by_field_name("operator").type
            b = self.bounds(node.child_by_field_name("argument"))
            if b is None or op not in ("-", "+"):
                return None
            if op == "+":
                return b
            return (-b[1], -b[0]) if b[0] > 0 or b[1] < 0 else None  # -0 is a float
        if t != "binary_expression":
            return None
        op = node.child_by_field_name("operator").type
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if op == ">>>" and self.bounds(right) == (0, 0):
            return (0, 0xFFFFFFFF)  # ToUint32 (a BigInt throws)
        lb, rb = self.bounds(left), self.bounds(right)
        if op in ("|", "&", "^", "<<", ">>"):
            if lb is None and rb is None:
                return None  # two BigInts give a BigInt
            if op == "&" and rb is not None and 0 <= rb[0] and rb[1] <= 0x7FFFFFFF:
                return (0, rb[1])
            return (-(2**31), 2**31 - 1)  # ToInt32 of the result (a BigInt with a Number throws)
        if op not in ("+", "-", "*") or lb is None or rb is None:
            return None
        return self.bounds_of(op, lb, rb)

    def note_known(self, kind: str, decl: Any, target: Any, ref: str, value: Any) -> None:
        """Remember a ``const``/``let`` local declared from an integer expression (Python-locals
        mode, the name never assigned in the body, the slot declared once)."""
        if self.frame or kind != "lexical_declaration" or target.text in self.assigned or ref in self.declared:
            self.known.pop(ref, None)
            self.declared.add(ref)
            return
        self.declared.add(ref)
        b = self.bounds(value)
        if b is not None:
            self.known[ref] = b

    def folded(self, node: Any) -> Optional[str]:
        """An expression of number literals and operators (``-16``, ``4 * 0``, ``-0``) as its
        value, computed once at translation by its closure (nothing in it can differ per call)."""
        if not _only_literals(node):
            return None
        return self.fallback_const(node)

    def int_binary(self, op: str, left: Any, right: Any) -> Optional[str]:
        """``a op b`` as Python's integer operation where that is the model's result: straight
        when both operands are known integers (:meth:`bounds`), else guarded by the operand's
        type (and the result's range) with the operator's function as the other branch."""
        lb, rb = self.bounds(left), self.bounds(right)
        if op in ("+", "-", "*") and lb is not None and rb is not None:
            b = self.bounds_of(op, lb, rb)
            if b is not None:
                return f"({self.expr(left)} {op} {self.expr(right)})"
        fn = _OPS[op]
        c = rb[0] if rb is not None and rb[0] == rb[1] and _only_literals(right) else None
        if c is None and op in ("+", "-") and not (lb is not None and lb[0] == lb[1] and _only_literals(left)):
            # ``ptr / 1 + len``: both ints (both operands evaluated, in order, before the test)
            a, y, r = self.temp(), self.temp(), self.temp()
            return (
                f"({r} if type({a} := {self.expr(left)}) is type({y} := {self.expr(right)}) is int"
                f" and -{m.MAX_SAFE} <= ({r} := {a} {op} {y}) <= {m.MAX_SAFE} else {fn}({a}, {y}))"
            )
        if c is None or abs(c) > 2**31:
            if op == "+" and lb is not None and lb[0] == lb[1] and _only_literals(left) and abs(lb[0]) <= 2**31:
                # c + x: the same as x + c for an int x (anything else: the operator, in order)
                a, r = self.temp(), self.temp()
                return (
                    f"({r} if type({a} := {self.expr(right)}) is int and -{m.MAX_SAFE} <= ({r} := {lb[0]} + {a}) "
                    f"<= {m.MAX_SAFE} else {fn}({lb[0]}, {a}))"
                )
            return None
        inner = left
        while inner.type == "parenthesized_expression" and len(inner.named_children) == 1:
            inner = inner.named_children[0]
        if op in ("+", "-") and inner.type == "binary_expression" and inner.child_by_field_name("operator").type == "/":
            # ``retptr / 4 + 1``: an exact quotient (at most half the safe range) plus a small integer
            divisor = inner.child_by_field_name("right")
            db = self.bounds(divisor)
            if db is not None and db[0] == db[1] >= 2 and _only_literals(divisor):
                d, x = db[0], inner.child_by_field_name("left")
                a = self.temp()
                guard = f"not ({a} := {self.expr(x)}) % {d}"
                if self.bounds(x) is None:
                    guard = f"type({a} := {self.expr(x)}) is int and not {a} % {d}"
                tail = f" {op} {c}" if c else ""
                return f"({a} // {d}{tail} if {guard} else {fn}(_div({a}, {d}), {c}))"
        return self.int_apply(op, self.expr(left), lb, c)

    def int_apply(self, op: str, x: str, lb: Optional[tuple[int, int]], c: int) -> Optional[str]:
        """``x op c`` (``x`` rendered, ``lb`` its bounds if known, ``c`` an integer literal) as
        :meth:`int_binary` writes it, or None."""
        fn = _OPS[op]
        a = self.temp()
        if (op in ("+", "-") and c == 0) or (op in ("*", "/") and c == 1):  # an int is its own result
            return x if lb is not None else f"({a} if type({a} := {x}) is int else {fn}({a}, {c}))"
        if op in ("+", "-") or (op == "*" and c > 0):  # c > 0: a product 0 only of a == 0, never -0
            if lb is not None:
                return f"({x} {op} {c})" if self.bounds_of(op, lb, (c, c)) is not None else None
            r = self.temp()
            return (
                f"({r} if type({a} := {x}) is int and -{m.MAX_SAFE} <= ({r} := {a} {op} {c}) <= {m.MAX_SAFE}"
                f" else {fn}({a}, {c}))"
            )
        if op == "/" and c > 0:  # m.div's exact case: an address over its alignment
            guard = f"not ({a} := {x}) % {c}" if lb is not None else f"type({a} := {x}) is int and not {a} % {c}"
            return f"({a} // {c} if {guard} else {fn}({a}, {c}))"
        if op == ">>>" and c == 0:
            if lb is not None and 0 <= lb[0] and lb[1] <= 0xFFFFFFFF:
                return x
            return f"({a} if type({a} := {x}) is int and 0 <= {a} <= 4294967295 else {fn}({a}, 0))"
        if op == "|" and c == 0:
            if lb is not None and -(2**31) <= lb[0] and lb[1] < 2**31:
                return x
            return f"({a} if type({a} := {x}) is int and -2147483648 <= {a} <= 2147483647 else {fn}({a}, 0))"
        if op == "&" and 0 <= c <= 0x7FFFFFFF:
            return f"({a} & {c} if type({a} := {x}) is int and 0 <= {a} <= 2147483647 else {fn}({a}, {c}))"
        return None

    @staticmethod
    def bounds_of(op: str, lb: tuple[int, int], rb: tuple[int, int]) -> Optional[tuple[int, int]]:
        """The bounds of ``a op b`` (``+ - *``) for integers in ``lb``, ``rb`` when the model's
        result is Python's (a safe integer, no -0), else None."""
        if op == "+":
            lo, hi = lb[0] + rb[0], lb[1] + rb[1]
        elif op == "-":
            lo, hi = lb[0] - rb[1], lb[1] - rb[0]
        else:
            positive_const = (lb[0] == lb[1] and lb[0] > 0) or (rb[0] == rb[1] and rb[0] > 0)
            if not (positive_const or (lb[0] >= 0 and rb[0] >= 0)):
                return None
            corners = [a * b for a in lb for b in rb]
            lo, hi = min(corners), max(corners)
        return (lo, hi) if -m.MAX_SAFE <= lo and hi <= m.MAX_SAFE else None

    # -- statements ----------------------------------------------------------------------------
    def statements(self, nodes: list[Any], indent: str, top: bool) -> list[str]:
        lines: list[str] = []
        i = 0
        while i < len(nodes):
            run = self.slot_run(nodes[i:], indent, top)
            if run is not None:
                lines.extend(run[0])
                i += run[1]
                continue
            lines.extend(self.statement(nodes[i], indent, top))
            i += 1
        return lines

    def slot_word(self, node: Any) -> Optional[tuple[Any, Any, Any, int, str]]:
        """``var rK = getInt32Memory0()[p / 4 + K]`` (form "ta") or ``var rK =
        getDataViewMemory0().getInt32(p + 4 * K, true)`` (form "dv"): (target, helper
        identifier, ``p``, K, form), else None."""
        if node.type not in ("lexical_declaration", "variable_declaration"):
            return None
        kids = [c for c in node.named_children if c.type != "comment"]
        if len(kids) != 1 or kids[0].type != "variable_declarator":
            return None
        target, value = kids[0].child_by_field_name("name"), kids[0].child_by_field_name("value")
        if target.type != "identifier" or value is None or "?." in node_text(value):
            return None
        if value.type == "subscript_expression":
            call, index, form = value.child_by_field_name("object"), value.child_by_field_name("index"), "ta"
            match = _TA_WORD.match(node_text(index).replace(" ", "")) if index is not None else None
            base = index.child_by_field_name("left") if index is not None else None
            base = base.child_by_field_name("left") if base is not None and base.type == "binary_expression" else None
        elif value.type == "call_expression":
            callee, args = value.child_by_field_name("function"), value.child_by_field_name("arguments")
            if callee.type != "member_expression" or node_text(callee.child_by_field_name("property")) != "getInt32":
                return None
            call, form = callee.child_by_field_name("object"), "dv"
            match = _DV_WORD.match(node_text(args).replace(" ", ""))
            index = args.named_children[0] if args.named_child_count else None
            base = index.child_by_field_name("left") if index and index.type == "binary_expression" else None
        else:
            return None
        if (
            match is None or base is None or base.type != "identifier" or node_text(base) != match.group(1)
            or call is None or call.type != "call_expression"
            or call.child_by_field_name("function").type != "identifier"
            or call.child_by_field_name("arguments").named_child_count
        ):
            return None
        return target, call.child_by_field_name("function"), base, int(match.group(2)), form

    def slot_run(self, nodes: list[Any], indent: str, top: bool) -> Optional[tuple[list[str], int]]:
        """A return slot's words read one after the other (``var r0 = getInt32Memory0()[p / 4 +
        0]; var r1 = getInt32Memory0()[p / 4 + 1];``, or ``getDataViewMemory0().getInt32(p + 4
        * K, true)`` for K = 0, 1, ...) as one memory read (:func:`_i32_slots`), while ``p`` is
        an int (a multiple of 4 for the Int32Array: its keys have no side effect), the binding
        holds wasm-bindgen's recognised view helper (its ``direct`` is helpers.py's, checked by
        code object: a pure getter of the instance's cached view, so calling it before the
        reads is unobservable), two calls give the same view (an Int32Array, or a DataView
        whose prototype still holds the built-in ``getInt32``) and every word is inside it;
        else the statements as written. (lines, statements consumed), or None."""
        words: list[tuple[Any, Any, Any, int, str]] = []
        for node in nodes[:8]:
            word = self.slot_word(node)
            if word is None or word[3] != len(words):
                break
            if words and (word[1].text, word[2].text, word[4]) != (words[0][1].text, words[0][2].text, words[0][4]):
                break
            words.append(word)
        if len(words) < 2:
            return None
        _, helper_node, base, _, form = words[0]
        names = [w[0].text for w in words] + [base.text, helper_node.text]
        if len(set(names)) != len(names):
            return None
        refs = []
        for word in words:
            where = self.compiler.resolve(word[0].text.decode(), self.scope)
            if where[0] != "slot" or where[1] != 0:
                return None
            refs.append(self.ref(0, int(where[2])))
        if self.compiler.resolve(helper_node.text.decode(), self.scope)[0] != "slot":
            return None  # a global's read could run a getter: only a binding read twice
        from .typed import DataView  # noqa: PLC0415 - typed imports the model after this module

        name = helper_node.text.decode()
        if name not in (("getInt32Memory0", "getInt32ArrayMemory0") if form == "ta" else ("getDataViewMemory0",)):
            return None  # only the view getters (pure: each returns the instance's cached view)
        recognised = self.compiler.realm.helpers.get(name)  # (helpers.py's registry)
        found = _helper_code(recognised.factory) if recognised is not None else None
        if found is None:
            return None
        p, f, d, a, r, q = (self.temp() for _ in range(6))
        code = self.const(found)
        ptr, helper = self.expr(base), self.expr(helper_node)
        if form == "ta":
            kind, view = f"not {p} % 4 and ", f"type({a} := {d}()) is _TA and {a}.kind == 'Int32Array'"
        else:
            try:
                proto = m.get(m.get(self.compiler.realm.global_object, "DataView"), "prototype")
                method = dict.get(proto, "getInt32") if isinstance(proto, JsObject) else None
            except JsThrow:
                return None
            if type(method) is not Prop or method.getter is not None or type(method.value) is not JSFunction:
                return None
            kp, kv = self.const(proto), self.const(method.value)
            kind = ""
            view = (
                f"type({a} := {d}()) is {self.const(DataView)} and type({q} := _dget({kp}, 'getInt32', _M)) is _Prop"
                f" and {q}.value is {kv} and {q}.getter is None"
            )
        general = [line for node in nodes[: len(words)] for line in self.statement(node, indent + "    ", top)]
        return [
            f"{indent}if type({p} := {ptr}) is int and {kind}type({f} := {helper}) is _JSF"
            f" and type({d} := {f}.direct) is _PyFunction and {d}.__code__ is {code} and {view}"
            f" and {d}() is {a} and ({r} := _i32_slots({a}, {p}, {len(words)})) is not None:",
            f"{indent}    {', '.join(refs)} = {r}",
            f"{indent}else:",
            *general,
        ], len(words)

    def block(self, node: Any, indent: str) -> list[str]:
        """A ``{ ... }`` block: its let/const/class names in a scope of their own, as the
        closures' ``scoped_block`` declares them (new frame slots of the same function)."""
        kids = [c for c in node.named_children if c.type != "comment"]
        if any(k.type in ("function_declaration", "class_declaration") for k in kids):
            raise Unsupported("a declaration that needs instantiating")
        outer = self.scope
        self.scope = type(outer)(outer.fn, outer)  # the compiler's Scope
        try:
            self.compiler.declare_block(kids, self.scope)
            lines = self.statements(kids, indent, top=False)
        finally:
            self.scope = outer
        return lines or [indent + "pass"]

    def statement(self, node: Any, indent: str, top: bool) -> list[str]:
        t = node.type
        if t in ("comment", "empty_statement"):
            return []
        if t == "throw_statement":
            return [f"{indent}raise JsThrow({self.expr(node.named_children[0])})"]
        if t == "try_statement":
            return self.try_(node, indent)
        if t == "expression_statement":
            inner = node.named_children[0]
            if inner.type == "assignment_expression":
                if self.member_target(inner):
                    return [indent + line for line in self.member_assignment(inner)]
                return [indent + self.assignment(inner)]
            if inner.type == "augmented_assignment_expression":
                if inner.child_by_field_name("left").type in ("member_expression", "subscript_expression"):
                    lines = self.augmented_member(inner)
                    if lines is not None:
                        return [indent + line for line in lines]
                return [indent + self.augmented(inner)]
            return [indent + self.expr(inner)]
        if t == "return_statement":
            kids = [c for c in node.named_children if c.type != "comment"]
            return [indent + ("return U" if not kids else f"return {self.expr(kids[0])}")]
        if t in ("lexical_declaration", "variable_declaration"):
            lines = []
            for decl in node.named_children:
                if decl.type != "variable_declarator":
                    continue
                target = decl.child_by_field_name("name")
                value = decl.child_by_field_name("value")
                if target.type != "identifier":
                    raise Unsupported(target.type)
                where = self.compiler.resolve(target.text.decode(), self.scope)
                if where[0] != "slot" or where[1] != 0:
                    raise Unsupported("not a local")
                ref = self.ref(0, int(where[2]))
                if value is None:
                    if t == "variable_declaration":
                        continue
                    lines.append(f"{indent}{ref} = U")
                elif value.type in ("function_expression", "arrow_function", "class", "function"):
                    raise Unsupported("a named function value")  # keeps the name inference
                else:
                    lines.append(f"{indent}{ref} = {self.expr(value)}")
                    self.note_known(t, node, target, ref, value)
            return lines
        if t == "if_statement":
            test = self.test(node.child_by_field_name("condition"))
            then = self.branch(node.child_by_field_name("consequence"), indent + "    ")
            lines = [f"{indent}if {test}:", *then]
            alt = node.child_by_field_name("alternative")
            if alt is not None:
                alt_kids = [alt]
                if alt.type == "else_clause":
                    alt_kids = [c for c in alt.named_children if c.type != "comment"]
                lines.append(f"{indent}else:")
                body: list[str] = []
                for kid in alt_kids:
                    body.extend(self.branch(kid, indent + "    "))
                lines.extend(body or [indent + "    pass"])
            return lines
        if t == "statement_block":
            return self.block(node, indent)
        raise Unsupported(t)

    def branch(self, node: Any, indent: str) -> list[str]:
        if node.type == "statement_block":
            return self.block(node, indent)
        return self.statement(node, indent, top=False) or [indent + "pass"]

    def try_(self, node: Any, indent: str) -> list[str]:
        """``try``/``catch``/``finally`` as Python's: a catch takes what the closures' catch
        takes (``realm.catchable``), its parameter the thrown JS value; a ``return`` in
        ``finally`` overrides, as in JS."""
        inner = indent + "    "
        lines = [f"{indent}try:", *self.block(node.child_by_field_name("body"), inner)]
        handler = node.child_by_field_name("handler")
        if handler is not None:
            param = handler.child_by_field_name("parameter")
            name = self.temp()
            lines.append(f"{indent}except _CATCHABLE as {name}:")
            outer = self.scope
            self.scope = type(outer)(outer.fn, outer)
            try:
                if param is not None:
                    if param.type != "identifier":
                        raise Unsupported("a destructuring catch parameter")
                    self.scope.declare(param.text.decode())
                    lines.append(f"{inner}{self.slot(param.text.decode())} = _caught({name})")
                lines.extend(self.block(handler.child_by_field_name("body"), inner))
            finally:
                self.scope = outer
        finalizer = node.child_by_field_name("finalizer")
        if finalizer is not None:
            lines.append(f"{indent}finally:")
            lines.extend(self.block(finalizer.named_children[-1], inner))
        return lines

    def assignment(self, node: Any) -> str:
        left = node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        if right.type in ("function_expression", "arrow_function", "class", "function"):
            raise Unsupported("a named function value")
        if left.type == "identifier":
            ref = self.slot(left.text.decode())
            if ref is None:
                return self.fallback(node)  # a global: the closure's semantics (strict mode)
            return f"{ref} = {self.expr(right)}"
        if left.type in ("member_expression", "subscript_expression"):
            obj_node = self.target_object(left)
            return f"_put({self.expr(obj_node)}, {self.key(left)}, {self.expr(right)})"
        return self.fallback(node)

    @staticmethod
    def member_target(node: Any) -> bool:
        left = node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        return left.type in ("member_expression", "subscript_expression") and right.type not in (
            "function_expression", "arrow_function", "class", "function"
        )

    def member_assignment(self, node: Any) -> list[str]:
        """``o[k] = v`` as a statement: object, key, value evaluated in that order, then a plain
        object's own data property (or a new one, nothing of that name on its one prototype, as
        for objects built by ``new Object()`` or a literal) written straight, anything else by
        :func:`_put` (m.put's [[Set]])."""
        left = node.child_by_field_name("left")
        obj_node = self.target_object(left)
        obj, key, value = self.expr(obj_node), self.key(left), self.expr(node.child_by_field_name("right"))
        o, v = self.temp(), self.temp()
        if _is_name(key):  # ``o.name = v``: the key is a literal
            return [f"{o}, {v} = {obj}, {value}", *self.write_lines(o, key, v)]
        k = self.temp()
        return [f"{o}, {k}, {v} = {obj}, {key}, {value}", *self.write_lines(o, k, v)]

    def write_lines(self, o: str, k: str, v: str) -> list[str]:
        """``o[k] = v`` of evaluated temporaries or a literal key (see :meth:`member_assignment`)."""
        c, p = self.temp(), self.temp()
        is_str = "" if _is_name(k) else f" and type({k}) is str"
        return [
            f"if type({o}) is _JSO{is_str} and (type({c} := _dget({o}, {k}, _M)) is not _Prop"
            f" and {c} is not _M or {c} is _M and {o}.extensible and ({p} := {o}.proto) is not None"
            f" and {k} not in {p} and {p}.proto is None):",
            f"    {o}[{k}] = {v}",
            # an own accessor's setter (``wasm.__wbindgen_export_N.value = sp``): m.put's call
            f"elif type({o}) is _JSO{is_str} and type({c}) is _Prop and type({p} := {c}.setter) is _JSF:",
            f"    if ({c} := {p}.direct) is not None:",  # a setter reading no ``this``: its entry
            f"        {c}({v})",
            "    else:",
            f"        {p}.impl({o}, [{v}])",
            "else:",
            f"    _put({o}, {k}, {v})",
        ]

    def getter_call(self, g: str, o: str, text: str) -> str:
        """The call of own accessor getter ``g`` (an exact JSFunction) on ``o``: its positional
        ``direct`` entry where it has one (it reads no ``this``: a WebAssembly.Global's
        ``value``, webassembly.make_global), else its impl as :func:`_get` calls it."""
        d = self.temp()
        return f"({d}() if ({d} := {g}.direct) is not None else _getter({g}, {o}, {text}))"

    @staticmethod
    def target_object(left: Any) -> Any:
        """The object node of a member assignment target (``o.k = ...``, ``o[k] op= ...``)."""
        if left.child_by_field_name("optional_chain") is not None:
            raise Unsupported("optional chain assignment")
        obj_node = left.child_by_field_name("object")
        if obj_node.type == "super":
            raise Unsupported("super")
        return obj_node

    def augmented_member(self, node: Any) -> Optional[list[str]]:
        """``o.k op= v`` (``sp.value += 16``) as statements, in the closures' order: object, key,
        the value read (an own accessor's getter inline, else :func:`_get`), ``v``, the
        operator, the write (:meth:`write_lines`). None for ``&&=`` and the like."""
        op = node.child_by_field_name("operator").type
        fn = _OPS.get(op[:-1])
        if fn is None:
            return None
        left, right_node = node.child_by_field_name("left"), node.child_by_field_name("right")
        obj_node = self.target_object(left)
        text = self.const(node_text(left))
        o, v, p, g = (self.temp() for _ in range(4))
        obj, key = self.expr(obj_node), self.key(left)
        k = key if _is_name(key) else self.temp()
        is_str = "" if _is_name(k) else f" and type({k}) is str"
        read = (
            f"({self.getter_call(g, o, text)} if type({o}) is _JSO{is_str} and type({p} := _dget({o}, {k}, _M))"
            f" is _Prop and type({g} := {p}.getter) is _JSF else _get({o}, {k}, {text}))"
        )
        value = None
        rb = self.bounds(right_node)
        if rb is not None and rb[0] == rb[1] and _only_literals(right_node) and abs(rb[0]) <= 2**31:
            value = self.int_apply(op[:-1], read, None, rb[0])  # ``sp.value += 16``
        if value is None:
            value = f"{fn}({read}, {self.expr(right_node)})"
        first = f"{o} = {obj}" if k == key else f"{o}, {k} = {obj}, {key}"
        return [first, f"{v} = {value}", *self.write_lines(o, k, v)]

    def augmented(self, node: Any) -> str:
        """``x op= v`` / ``o.k op= v`` as a statement, in the closures' order: the reference
        (object, key), its value read, then ``v``, the operator, the write."""
        op = node.child_by_field_name("operator").type
        fn = _OPS.get(op[:-1])
        left = node.child_by_field_name("left")
        if fn is None:  # &&=, ||=, ??=: short-circuit writes
            return self.fallback(node)
        right_node = node.child_by_field_name("right")
        right = self.expr(right_node)
        if left.type == "identifier":
            ref = self.slot(left.text.decode())
            if ref is None:
                return self.fallback(node)
            return f"{ref} = {fn}({ref}, {right})"
        if left.type in ("member_expression", "subscript_expression"):
            obj_node = self.target_object(left)
            o, k = self.temp(), self.temp()
            text = self.const(node_text(left))
            obj, key = self.expr(obj_node), self.key(left)
            read = f"_get({o}, {k}, {text})"
            value = f"{fn}({read}, {right})"
            rb = self.bounds(right_node)
            if rb is not None and rb[0] == rb[1] and _only_literals(right_node) and abs(rb[0]) <= 2**31:
                value = self.int_apply(op[:-1], read, None, rb[0]) or value  # ``sp.value += 16``
            return f"_put({o} := {obj}, {k} := {key}, {value})"
        return self.fallback(node)


def _is_name(key: str) -> bool:
    """A rendered key that is a string literal (``o.name``'s ``'name'``)."""
    return key[:1] in ("'", '"')


def _is_exports_member(node: Any) -> bool:
    """``wasm.X`` (a member of the exports binding)."""
    if node.type != "member_expression":
        return False
    obj = node.child_by_field_name("object")
    return obj.type == "identifier" and obj.text in _EXPORTS_NAMES


def _only_literals(node: Any) -> bool:
    """Number literals under parentheses, unary and binary operators only (a constant)."""
    if node.type == "number":
        return True
    if node.type in ("parenthesized_expression", "unary_expression", "binary_expression"):
        kids = [c for c in node.named_children if c.type != "comment"]
        return bool(kids) and all(_only_literals(c) for c in kids)
    return False


def _assigned_names(node: Any) -> set[bytes]:
    """Every identifier written under ``node``: assignment and update targets (any depth,
    patterns included), declared names of ``var``s declared more than once not counted here."""
    out: set[bytes] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        t = n.type
        target = None
        if t in ("assignment_expression", "augmented_assignment_expression"):
            target = n.child_by_field_name("left")
        elif t == "update_expression":
            target = n.child_by_field_name("argument")
        if target is not None:
            inner = [target]
            while inner:
                x = inner.pop()
                if x.type in ("identifier", "shorthand_property_identifier_pattern"):
                    out.add(x.text)
                inner.extend(x.named_children)
        stack.extend(n.named_children)
    return out


def _literal(node: Any) -> bool:
    """``null``, ``undefined`` (when not a local name: checked by the caller's resolve), a
    number or a string literal."""
    return node.type in ("null", "number", "string", "undefined") or (
        node.type == "identifier" and node.text == b"undefined"
    )


def _returning(lines: list[str], void: Optional[str]) -> list[str]:
    """``lines`` with each ``return X`` made a void return (``void`` given) or an i32 return."""
    out = []
    for line in lines:
        body = line.lstrip()
        if not body.startswith("return "):
            out.append(line)
            continue
        indent = line[: len(line) - len(body)]
        value = body[len("return "):]
        if void is not None:
            if value != "U":
                out.append(indent + value)
            out.append(indent + "return None")
        else:
            out.append(f"{indent}_r = {value}")
            out.append(
                f"{indent}return _r if type(_r) is int and -2147483648 <= _r <= 4294967295"
                " else 1 if _r is True else 0 if _r is False else _to_i32(_r)"  # a bool: ToInt32's 1 / 0
            )
    return out


def translate(compiler: Any, node: Any, scope: Any, param_slots: Optional[list[int]],
              self_slot: Optional[int], expression_body: bool) -> Optional[Callable[[list[Any], JSFunction], Any]]:
    """``factory(env, fn) -> direct`` for a function in the subset (see the module docstring),
    else None. ``param_slots``: the frame slot of each parameter (None: patterns, defaults,
    rest: not translated)."""
    factory = _translate(compiler, node, scope, param_slots, self_slot, expression_body)
    if factory is not None:  # an enclosing handleError wrapper uses it (see _handle_error_wrapper)
        compiler.translations[(node.start_byte, node.end_byte)] = factory
    return factory


def _translate(compiler: Any, node: Any, scope: Any, param_slots: Optional[list[int]],
               self_slot: Optional[int], expression_body: bool) -> Optional[Callable[[list[Any], JSFunction], Any]]:
    if not ENABLED or param_slots is None or len(node.text) > _MAX_SOURCE:
        return None
    body_node = node.child_by_field_name("body")
    text = body_node.text
    if b"handleError" in text and not param_slots and not expression_body:
        wrapper = _handle_error_wrapper(compiler, node, scope, self_slot)
        if wrapper is not None:
            return wrapper
    if any(word in text for word in _FORBIDDEN_WORDS):
        return None
    for frame in (False, True):
        try:
            return _generate(compiler, node, scope, param_slots, self_slot, expression_body, frame)
        except NeedsFrame:
            continue
        except Unsupported:
            return None
    return None


# ---------------------------------------------------------------------------------------- handleError


class ErrorHandler:
    """The positional entry (``direct``) of the recognised ``handleError(f, args)`` helper
    (js/helpers.py), carrying its ``store(exc)``: a translated wrapper (below) that finds it
    in the ``handleError`` binding runs its inner function's translation with the helper's
    catch around it."""

    __slots__ = ("store", "run")

    def __init__(self, store: Callable[[BaseException], None], run: Callable[[Any, list[Any]], Any]) -> None:
        self.store = store
        self.run = run

    def __call__(self, *args: Any) -> Any:
        return self.run(UNDEFINED, list(args))


def _wrapper_inner(compiler: Any, node: Any, scope: Any) -> Optional[tuple[Any, Any]]:
    """(the ``handleError`` callee node, the inner function's translation) when ``node``'s
    body is exactly ``return handleError(function (...) {...}, arguments)`` with ``arguments``
    the function's own (a non-arrow function, the name not declared), else None."""
    if node.type == "arrow_function":
        return None
    stmts = [c for c in node.child_by_field_name("body").named_children if c.type != "comment"]
    if len(stmts) != 1 or stmts[0].type != "return_statement":
        return None
    call = next((c for c in stmts[0].named_children if c.type != "comment"), None)
    if call is None or call.type != "call_expression":
        return None
    callee, args = call.child_by_field_name("function"), call.child_by_field_name("arguments")
    if callee.type != "identifier" or callee.text != b"handleError" or args is None or args.type != "arguments":
        return None
    parts = [c for c in args.named_children if c.type != "comment"]
    if len(parts) != 2 or parts[0].type not in ("function_expression", "function"):
        return None
    inner, rest = parts
    if inner.child_by_field_name("name") is not None or rest.type != "identifier" or rest.text != b"arguments":
        return None
    if compiler.resolve("arguments", scope)[0] != "global":  # a declared `arguments`: not the object
        return None
    factory = compiler.translations.get((inner.start_byte, inner.end_byte))
    return None if factory is None else (callee, factory)


def _handle_error_wrapper(compiler: Any, node: Any, scope: Any,
                          self_slot: Optional[int]) -> Optional[Callable[[list[Any], JSFunction], Any]]:
    """``function () { return handleError(function (a, b) {...}, arguments) }`` (wasm-bindgen
    >= 0.2.7x's ``#[wasm_bindgen(catch)]`` imports) as a positional entry: while the
    ``handleError`` binding holds the recognised helper (its ``direct`` an :class:`ErrorHandler`),
    the inner function's translation runs with the arguments, a throw stored by the helper's
    ``store`` (the import then returns undefined); any other ``handleError`` (the glue's own
    function, a reassignment) runs the wrapper's closures (``fn.impl`` when the factory runs).
    Import twins as :func:`_generate`'s, the guarded ones getting ``(env, inner entry, closures)``
    as their env."""
    found = _wrapper_inner(compiler, node, scope)
    if found is None:
        return None
    callee, inner_factory = found
    tr = Translator(compiler, scope, False)
    where = compiler.resolve("handleError", scope)
    if where[0] == "slot":  # hops >= 1: the wrapper declares nothing of its own
        if where[1] == 0:
            return None
        read = "_E" + "[0]" * (where[1] - 1) + f"[{where[2]}]"
    else:  # an imported binding, a global: the closure reads it without the frame
        read = f"{tr.const(compiler.expr(callee, scope))}(None)"
    lines = [
        f"        _h = {read}",
        "        if type(_h) is _JSF and type(_d := _h.direct) is _ErrorHandler:",
        "            try:",
        "                return _im(*_a)",
        "            except _CATCHABLE as _e:",
        "                _d.store(_e)",
        "                return U",
        "        return _slow(U, list(_a))",
    ]
    void_lines, i32_lines = _returning(lines, "{}"), _returning(lines, None)
    unpack = ["        _E, _im, _slow = env"]
    twins = {"void": unpack + void_lines, "i32": unpack + i32_lines}
    frame = ["env", "U", "U", "fn", "U"] + ["U"] * (scope.fn.size - compiler.first_slot)
    if self_slot is not None:
        frame[self_slot] = "fn"
    source = (
        "def factory(env, fn):\n"
        # the inner function's env is the wrapper's frame (nothing in it but the wrapper's env
        # and itself: the inner reads neither `this` nor `arguments` of the wrapper)
        f"    _inner = _IF([{', '.join(frame)}], fn)\n"
        "    _im = _inner if not getattr(_inner, 'uses_this', False) else (lambda *a: _inner(U, list(a)))\n"
        "    _E, _slow = env, fn.impl\n"  # the closures (runtime.py's make sets the translation after)
        "    def direct(*_a):\n" + "\n".join(lines) + "\n"
        "    def void(*_a):\n" + "\n".join(void_lines) + "\n"
        "    def i32(*_a):\n" + "\n".join(i32_lines) + "\n"
        "    void.guarded = lambda c, l, k: _guarded((env, _im, _slow), fn, 'void', c, l, k)\n"
        "    i32.guarded = lambda c, l, k: _guarded((env, _im, _slow), fn, 'i32', c, l, k)\n"
        "    direct.void = void\n"
        "    direct.i32 = i32\n"
        "    return direct\n"
    )
    namespace = dict(_RUNTIME)
    namespace.update(tr.consts)
    namespace.update(_CATCHABLE=compiler.realm.catchable, _IF=inner_factory, _ErrorHandler=ErrorHandler)
    filename = f"<direct {compiler.origin}:{node.start_point[0] + 1}>"
    namespace["_guarded"] = LazyGuarded("*_a", twins, namespace, filename)
    exec(_compiled(source, filename), namespace)  # noqa: S102 - generated from the parse tree
    factory: Callable[[list[Any], JSFunction], Any] = namespace["factory"]
    return factory


def _generate(compiler: Any, node: Any, scope: Any, param_slots: list[int], self_slot: Optional[int],
              expression_body: bool, frame_mode: bool) -> Optional[Callable[[list[Any], JSFunction], Any]]:
    body_node = node.child_by_field_name("body")
    tr = Translator(compiler, scope, frame_mode)
    # `this` anywhere in a non-arrow function's body (also inside a sub-expression that runs as
    # a closure and reads the frame's this slot): the translation takes `this`
    tr.uses_this = not scope.fn.arrow and b"this" in body_node.text
    tr.assigned = _assigned_names(body_node)
    if expression_body:
        lines = [f"        return {tr.expr(body_node)}"]
    else:
        stmts = [c for c in body_node.named_children if c.type != "comment"]
        if any(s.type in ("function_declaration", "class_declaration") for s in stmts):
            return None
        lines = tr.statements(stmts, "        ", top=True)
        if not lines or not lines[-1].lstrip().startswith("return "):
            lines.append("        return U")
    # JS's rules for simple parameters: a missing argument is undefined, extra ones are ignored
    # (`arguments` is not used: see _FORBIDDEN_WORDS)
    names = [f"a{i}" for i in range(len(param_slots))] if frame_mode else [f"v{s}" for s in param_slots]
    signature = ", ".join([f"{p}=U" for p in names] + ["*_rest"])
    if frame_mode:
        size = scope.fn.size  # after the translation (a fallback may have declared slots)
        frame = ["env", "_this" if tr.uses_this else "U", "U", "fn", "U"] + ["U"] * (size - compiler.first_slot)
        for i, s in enumerate(param_slots):
            frame[s] = f"a{i}"
        if self_slot is not None:
            frame[self_slot] = "fn"
        setup = f"        f = [{', '.join(frame)}]\n"
    else:
        inits = []
        if self_slot is not None and self_slot in tr.locals:
            inits.append(f"        v{self_slot} = fn\n")
        rest = sorted(tr.locals - set(param_slots) - ({self_slot} if self_slot is not None else set()))
        if rest:
            inits.append("        " + " = ".join(f"v{s}" for s in rest) + " = U\n")
        setup = "".join(inits)
    twins: Optional[dict[str, list[str]]] = None
    if tr.uses_this:  # it is the function's impl(this, args): no positional entry, no import twins
        unpack = "".join(f"        {p} = _args[{i}] if _n > {i} else U\n" for i, p in enumerate(names))
        source = (
            "def factory(env, fn):\n"
            "    def method(_this, _args):\n"
            + ("        _n = len(_args)\n" + unpack if names else "")
            + f"{setup}" + "\n".join(lines) + "\n"
            "    method.uses_this = True\n"
            "    return method\n"
        )
    elif scope.fn.kind == "constructor" or tr.calls_exports:
        # a class's make runs it, or an export wrapper (it calls ``wasm.f``): no import twins (an
        # import that is one anyway is linked through import_handler's wrapper)
        source = (
            "def factory(env, fn):\n"
            f"    def direct({signature}):\n"
            f"{setup}" + "\n".join(lines) + "\n"
            "    return direct\n"
        )
    else:
        void_lines, i32_lines = _returning(lines, "{}"), _returning(lines, None)
        setup_lines = setup.splitlines()
        twins = {"void": setup_lines + void_lines, "i32": setup_lines + i32_lines}
        source = (
            "def factory(env, fn):\n"
            f"    def direct({signature}):\n"
            f"{setup}" + "\n".join(lines) + "\n"
            # twins for wasm imports: ``void`` returns None (a void import), ``i32`` an i32 (as
            # webassembly.to_i32 converts), so the engine calls the translation with no wrapper
            f"    def void({signature}):\n"
            f"{setup}" + "\n".join(void_lines) + "\n"
            f"    def i32({signature}):\n"
            f"{setup}" + "\n".join(i32_lines) + "\n"
            # and each twin with the import guard inlined, compiled when linked (host/guarded.py)
            "    void.guarded = lambda c, l, k: _guarded(env, fn, 'void', c, l, k)\n"
            "    i32.guarded = lambda c, l, k: _guarded(env, fn, 'i32', c, l, k)\n"
            "    direct.void = void\n"
            "    direct.i32 = i32\n"
            "    return direct\n"
        )
    namespace = dict(_RUNTIME)
    namespace["_CATCHABLE"] = compiler.realm.catchable
    namespace["_caught"] = compiler.caught_value
    namespace.update(tr.consts)
    filename = f"<direct {compiler.origin}:{node.start_point[0] + 1}>"
    if twins is not None:  # the guarded twins' bodies, compiled when an import links them
        namespace["_guarded"] = LazyGuarded(signature, twins, namespace, filename)
    try:
        code = _compiled(source, filename)
    except SyntaxError:  # pragma: no cover - a translation bug: keep the closures
        return None
    exec(code, namespace)  # noqa: S102 - source generated above from the parse tree, no user text
    factory: Callable[[list[Any], JSFunction], Any] = namespace["factory"]
    return factory
