"""The JS standard library the glue touches, in Python: ``install(realm)`` fills its global object.

Object, Function, Array, String, Number, Boolean, BigInt, Symbol, Math, JSON, Reflect, the
Error classes, Map, Set, WeakMap, WeakSet, WeakRef, FinalizationRegistry (run through the
realm's cleanup queue, from ``weakref.finalize``), Promise, queueMicrotask, setTimeout,
TextEncoder/TextDecoder, Date, RegExp (via ``re``), URL, console (to ``logging``),
crypto.getRandomValues, performance.now, process (a minimal one), globalThis. Typed arrays
and DataView come from :mod:`realm_wasmer.js.typed`.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import secrets
import time
import weakref
from typing import Any, Callable, Optional

from ..errors import JsThrow
from ..limits import SLOT_BYTES
from . import model as m
from . import typed
from .model import JSFunction, JsObject, Prop
from .runtime import CATCHABLE, PromiseObject, Realm, caught
from .values import UNDEFINED, JsErrorValue

console_log = logging.getLogger("realm_wasmer.js.console")


def arg(args: list[Any], i: int) -> Any:
    return args[i] if i < len(args) else UNDEFINED


def _fn(target: JsObject, name: str, nparams: int = 0) -> Callable[[Callable[[Any, list[Any]], Any]], Any]:
    return m.method(target, name, nparams)


#: The key of a FinalizationRegistry's store holding its live weak references (never a map key).
_CELLS: Any = ("cells",)


class MapObject(JsObject):
    __slots__ = ("store",)

    def __init__(self, proto: Any, cls: str) -> None:
        super().__init__()
        self.proto = proto
        self.cls = cls
        self.store: dict[Any, tuple[Any, Any]] = {}


class WeakRefObject(JsObject):
    __slots__ = ("target",)
    target: Any


def map_key(v: Any) -> Any:
    """SameValueZero as a Python dict key."""
    t = type(v)
    if t is str:
        return v
    if t is int or t is float:
        if v != v:
            return ("nan",)
        return ("n", float(v) if t is float and not v.is_integer() else int(v))
    if t is bool or v is None or v is UNDEFINED:
        return ("p", repr(v))
    if t is m.BigInt:
        return ("b", int(v))
    return ("o", id(v))


def install(realm: Realm) -> JsObject:
    g = realm.global_object
    m.define(g, "globalThis", g)
    m.define(g, "global", g)
    m.define(g, "undefined", UNDEFINED, writable=False)
    m.define(g, "NaN", math.nan, writable=False)
    m.define(g, "Infinity", math.inf, writable=False)
    _object(realm, g)
    _function(realm, g)
    _array(realm, g)
    _string(realm, g)
    _number(realm, g)
    _symbol(realm, g)
    _errors(realm, g)
    _collections(realm, g)
    _promise(realm, g)
    _json(realm, g)
    _math(g)
    _reflect(g)
    _text(realm, g)
    _misc(realm, g)
    _regexp(realm, g)
    typed.install(realm, g)
    m.PROTO_OF[JsErrorValue] = m.ERROR_PROTO
    return g


# ---------------------------------------------------------------------------------------- Object


def to_descriptor(prop: Any) -> JsObject:
    d = m.new_object()
    if type(prop) is Prop:
        if prop.accessor:
            dict.__setitem__(d, "get", prop.getter if prop.getter is not None else UNDEFINED)
            dict.__setitem__(d, "set", prop.setter if prop.setter is not None else UNDEFINED)
        else:
            dict.__setitem__(d, "value", prop.value)
            dict.__setitem__(d, "writable", prop.writable)
        dict.__setitem__(d, "enumerable", prop.enumerable)
        dict.__setitem__(d, "configurable", prop.configurable)
    else:
        for k, v in (("value", prop), ("writable", True), ("enumerable", True), ("configurable", True)):
            dict.__setitem__(d, k, v)
    return d


def define_property(obj: Any, key: Any, desc: Any) -> None:
    if not isinstance(obj, dict):
        if isinstance(obj, list) and m.array_index(key) >= 0:
            m.put(obj, key, m.get(desc, "value"))
            return
        raise m.throw("TypeError", "Object.defineProperty called on non-object")
    key = m.to_property_key(key)
    getter_ = m.get(desc, "get")
    setter_ = m.get(desc, "set")
    current = dict.get(obj, key)
    old = current if type(current) is Prop else None

    def flag(name: str) -> bool:
        if m.has_property(desc, name):
            return m.to_boolean(m.get(desc, name))
        if old is not None:
            return bool(getattr(old, name))
        return current is not None and type(current) is not Prop and name in obj

    if getter_ is not UNDEFINED or setter_ is not UNDEFINED:
        prop = Prop(
            getter=getter_ if getter_ is not UNDEFINED else (old.getter if old else None),
            setter=setter_ if setter_ is not UNDEFINED else (old.setter if old else None),
            enumerable=flag("enumerable"),
            configurable=flag("configurable"),
        )
    else:
        value = (
            m.get(desc, "value")
            if m.has_property(desc, "value")
            else (old.value if old is not None else (current if key in obj else UNDEFINED))
        )
        prop = Prop(value, enumerable=flag("enumerable"), writable=flag("writable"), configurable=flag("configurable"))
        if prop.enumerable and prop.writable and prop.configurable:
            dict.__setitem__(obj, key, value)
            return
    dict.__setitem__(obj, key, prop)


def _object(realm: Realm, g: JsObject) -> None:
    P = m.OBJECT_PROTO

    def call_object(this: Any, args: list[Any]) -> Any:
        v = arg(args, 0)
        return m.new_object() if v is None or v is UNDEFINED else v

    new_object = m.new_object
    obj = realm.native_class(
        "Object", P, lambda args, nt: call_object(UNDEFINED, args) if args else new_object(), g, call_object
    )

    @_fn(obj, "create", 2)
    def _create(this: Any, args: list[Any]) -> Any:
        proto = args[0] if args else UNDEFINED
        o = m.new_object(proto if proto is None or isinstance(proto, JsObject) else m.OBJECT_PROTO)
        props = args[1] if len(args) > 1 else UNDEFINED
        if props is not UNDEFINED:
            for k in m.own_enumerable_keys(props):
                define_property(o, k, m.get(props, k))
        return o

    @_fn(obj, "defineProperty", 3)
    def _define(this: Any, args: list[Any]) -> Any:
        define_property(arg(args, 0), arg(args, 1), arg(args, 2))
        return arg(args, 0)

    @_fn(obj, "defineProperties", 2)
    def _define_all(this: Any, args: list[Any]) -> Any:
        target, props = arg(args, 0), arg(args, 1)
        for k in m.own_enumerable_keys(props):
            define_property(target, k, m.get(props, k))
        return target

    @_fn(obj, "getOwnPropertyDescriptor", 2)
    def _gopd(this: Any, args: list[Any]) -> Any:
        o, k = arg(args, 0), m.to_property_key(arg(args, 1))
        if isinstance(o, dict):
            if k not in o:
                return UNDEFINED
            return to_descriptor(dict.__getitem__(o, k))
        if m.has_property(o, k) and k in m.own_keys(o):
            return to_descriptor(m.get(o, k))
        return UNDEFINED

    @_fn(obj, "getOwnPropertyDescriptors", 1)
    def _gopds(this: Any, args: list[Any]) -> Any:
        o = arg(args, 0)
        out = m.new_object()
        for k in m.own_keys(o):
            dict.__setitem__(out, k, _gopd(UNDEFINED, [o, k]))
        return out

    @_fn(obj, "getOwnPropertyNames", 1)
    def _names(this: Any, args: list[Any]) -> Any:
        o = arg(args, 0)
        keys = m.own_keys(o)
        if isinstance(o, list) or isinstance(o, str):
            keys = keys + ["length"]
        return keys

    @_fn(obj, "getOwnPropertySymbols", 1)
    def _symbols(this: Any, args: list[Any]) -> Any:
        o = arg(args, 0)
        return [k for k in o if type(k) is m.Symbol] if isinstance(o, dict) else []

    @_fn(obj, "keys", 1)
    def _keys(this: Any, args: list[Any]) -> Any:
        o = arg(args, 0)
        m.to_object_check(o, "Object.keys")
        return m.own_enumerable_keys(o)

    @_fn(obj, "values", 1)
    def _values(this: Any, args: list[Any]) -> Any:
        o = arg(args, 0)
        return [m.get(o, k) for k in m.own_enumerable_keys(o)]

    @_fn(obj, "entries", 1)
    def _entries(this: Any, args: list[Any]) -> Any:
        o = arg(args, 0)
        return [[k, m.get(o, k)] for k in m.own_enumerable_keys(o)]

    @_fn(obj, "fromEntries", 1)
    def _from_entries(this: Any, args: list[Any]) -> Any:
        out = m.new_object()
        for pair in m.iterate(arg(args, 0)):
            dict.__setitem__(out, m.to_property_key(m.get(pair, 0)), m.get(pair, 1))
        return out

    @_fn(obj, "assign", 2)
    def _assign(this: Any, args: list[Any]) -> Any:
        target = arg(args, 0)
        for source in args[1:]:
            if source is None or source is UNDEFINED:
                continue
            for k in m.own_enumerable_keys(source):
                m.put(target, k, m.get(source, k))
        return target

    @_fn(obj, "freeze", 1)
    def _freeze(this: Any, args: list[Any]) -> Any:
        o = arg(args, 0)
        if isinstance(o, JsObject):
            for k in list(o):
                v = dict.__getitem__(o, k)
                if type(v) is Prop:
                    v.configurable = False
                    if not v.accessor:
                        v.writable = False
                else:
                    dict.__setitem__(o, k, Prop(v, enumerable=True, writable=False, configurable=False))
            o.extensible = False
        return o

    @_fn(obj, "isFrozen", 1)
    def _is_frozen(this: Any, args: list[Any]) -> Any:
        o = arg(args, 0)
        if not isinstance(o, JsObject):
            return True
        return not o.extensible and all(type(v) is Prop and not v.configurable for v in o.values())

    @_fn(obj, "seal", 1)
    def _seal(this: Any, args: list[Any]) -> Any:
        o = arg(args, 0)
        if isinstance(o, JsObject):
            o.extensible = False
        return o

    @_fn(obj, "preventExtensions", 1)
    def _prevent(this: Any, args: list[Any]) -> Any:
        return _seal(this, args)

    @_fn(obj, "isExtensible", 1)
    def _is_ext(this: Any, args: list[Any]) -> Any:
        o = arg(args, 0)
        return o.extensible if isinstance(o, JsObject) else isinstance(o, (list, dict))

    @_fn(obj, "getPrototypeOf", 1)
    def _get_proto(this: Any, args: list[Any]) -> Any:
        o = arg(args, 0)
        m.to_object_check(o, "Object.getPrototypeOf")
        return m.proto_of(o)

    @_fn(obj, "setPrototypeOf", 2)
    def _set_proto(this: Any, args: list[Any]) -> Any:
        o, p = arg(args, 0), arg(args, 1)
        if isinstance(o, JsObject) and (p is None or isinstance(p, JsObject)):
            o.proto = p
        return o

    @_fn(obj, "is", 2)
    def _is(this: Any, args: list[Any]) -> Any:
        a, b = arg(args, 0), arg(args, 1)
        if type(a) in (int, float) and type(b) in (int, float):
            if a != a and b != b:
                return True
            if a == 0 and b == 0:
                return math.copysign(1.0, a) == math.copysign(1.0, b)
        return m.strict_equals(a, b)

    @_fn(P, "hasOwnProperty", 1)
    def _has_own(this: Any, args: list[Any]) -> Any:
        k = m.to_property_key(arg(args, 0))
        if isinstance(this, dict):
            return k in this
        if isinstance(this, (list, str)):
            i = m.array_index(k)
            return (0 <= i < m.get(this, "length")) or k == "length"
        special = m.HAS_OWN.get(type(this))
        return bool(special(this, k)) if special is not None else False

    @_fn(P, "isPrototypeOf", 1)
    def _is_proto_of(this: Any, args: list[Any]) -> Any:
        p = m.proto_of(arg(args, 0)) if m.is_object(arg(args, 0)) else None
        while p is not None:
            if p is this:
                return True
            p = p.proto if isinstance(p, JsObject) else None
        return False

    @_fn(P, "propertyIsEnumerable", 1)
    def _prop_enum(this: Any, args: list[Any]) -> Any:
        k = m.to_property_key(arg(args, 0))
        if isinstance(this, dict) and k in this:
            v = dict.__getitem__(this, k)
            return not (type(v) is Prop and not v.enumerable)
        return isinstance(this, list) and 0 <= m.array_index(k) < len(this)

    @_fn(P, "toString", 0)
    def _to_string(this: Any, args: list[Any]) -> Any:
        return "[object " + class_tag(this) + "]"

    @_fn(P, "toLocaleString", 0)
    def _to_locale(this: Any, args: list[Any]) -> Any:
        return m.call(m.get(this, "toString"), this, [])

    @_fn(P, "valueOf", 0)
    def _value_of(this: Any, args: list[Any]) -> Any:
        return this

    def proto_getter(this: Any, args: list[Any]) -> Any:
        return m.proto_of(this)

    def proto_setter(this: Any, args: list[Any]) -> Any:
        p = arg(args, 0)
        if isinstance(this, JsObject) and (p is None or isinstance(p, JsObject)):
            this.proto = p
        return UNDEFINED

    dict.__setitem__(P, "__proto__", Prop(getter=JSFunction(proto_getter), setter=JSFunction(proto_setter)))
    m.define(g, "toString", m.get(P, "toString"))


def class_tag(v: Any) -> str:
    if v is UNDEFINED:
        return "Undefined"
    if v is None:
        return "Null"
    if isinstance(v, list):
        return "Array"
    if isinstance(v, JSFunction):
        return "Function"
    if isinstance(v, JsErrorValue):
        return "Error"
    tag = m.get(v, m.SYM_TO_STRING_TAG) if m.is_object(v) else UNDEFINED
    if isinstance(tag, str):
        return tag
    if isinstance(v, JsObject):
        return v.cls if v.cls in ("Error", "Date", "RegExp", "Arguments", "Boolean", "Number", "String") else "Object"
    t = type(v)
    if t is str:
        return "String"
    if t in (int, float):
        return "Number"
    if t is bool:
        return "Boolean"
    if t is m.BigInt:
        return "BigInt"
    if t is m.Symbol:
        return "Symbol"
    if isinstance(v, typed.TypedArray):
        return v.kind
    if isinstance(v, (typed.ArrayBuffer, typed.MemoryBuffer)):
        return "ArrayBuffer"
    if isinstance(v, typed.DataView):
        return "DataView"
    return "Object"


# ---------------------------------------------------------------------------------------- Function


def _function(realm: Realm, g: JsObject) -> None:
    P = m.FUNCTION_PROTO

    def no_eval(this: Any, args: list[Any]) -> Any:
        raise m.throw("EvalError", "new Function(...) (code from strings) is not supported by the JS evaluator")

    realm.native_class("Function", P, lambda args, nt: no_eval(UNDEFINED, args), g, no_eval)

    @_fn(P, "call", 1)
    def _call(this: Any, args: list[Any]) -> Any:
        return m.call(this, arg(args, 0), args[1:])

    @_fn(P, "apply", 2)
    def _apply(this: Any, args: list[Any]) -> Any:
        rest = arg(args, 1)
        items = [] if rest is None or rest is UNDEFINED else (rest if type(rest) is list else list(m.iterate(rest)))
        return m.call(this, arg(args, 0), list(items))

    @_fn(P, "bind", 1)
    def _bind(this: Any, args: list[Any]) -> Any:
        target, bound_this, bound = this, arg(args, 0), list(args[1:])
        if not m.is_callable(target):
            raise m.throw("TypeError", "Bind must be called on a function")
        fn = JSFunction(lambda t, a: m.call(target, bound_this, bound + a), "bound " + target.fname)
        if target.make is not None:
            fn.make = lambda a, nt: target.make(bound + a, target if nt is fn else nt)  # type: ignore[misc]
        return fn

    @_fn(P, "toString", 0)
    def _to_string(this: Any, args: list[Any]) -> Any:
        if isinstance(this, JSFunction) and this.source:
            return this.source
        return f"function {getattr(this, 'fname', '')}() {{ [native code] }}"

    def function_get(fn: JSFunction, key: Any) -> Any:
        v = dict.get(fn, key, m._MISSING) if type(key) is str or type(key) is m.Symbol else m._MISSING
        if v is not m._MISSING and type(v) is not Prop:
            return v
        if v is m._MISSING:
            if key == "name":
                return fn.fname
            if key == "length":
                return fn.nparams
            if key == "prototype" and fn.kind == "function":
                proto = m.new_object()
                m.define(proto, "constructor", fn)
                m.define(fn, "prototype", proto)
                return proto
        return m.lookup(fn, m.to_property_key(key), fn)

    m.EXOTIC_GET[JSFunction] = function_get


# ---------------------------------------------------------------------------------------- Array


def _array(realm: Realm, g: JsObject) -> None:
    P = m.new_object(cls="Array")
    m.PROTO_OF[list] = P
    m.PROTO_OF[tuple] = P

    def make_array(args: list[Any], nt: Any) -> Any:
        if len(args) == 1 and type(args[0]) in (int, float):
            n = args[0]
            if type(n) is float and not n.is_integer() or n < 0 or n > 0xFFFFFFFF:
                raise m.throw("RangeError", "Invalid array length")
            realm.charge(int(n) * SLOT_BYTES, f"Array({int(n)})")
            return [UNDEFINED] * int(n)
        return list(args)

    arr = realm.native_class("Array", P, make_array, g, lambda this, args: make_array(args, None))

    def list_get(o: list[Any], key: Any) -> Any:
        t = type(key)
        if t is int:
            return o[key] if 0 <= key < len(o) else UNDEFINED
        if key == "length":
            return len(o)
        i = m.array_index(key)
        if i >= 0:
            return o[i] if i < len(o) else UNDEFINED
        return m.lookup(P, m.to_property_key(key), o)

    def list_set(o: list[Any], key: Any, value: Any) -> None:
        if key == "length":
            n = m.to_integer(value)
            if n < len(o):
                del o[n:]
            else:
                o.extend([UNDEFINED] * (n - len(o)))
            return
        i = key if type(key) is int else m.array_index(key)
        if i < 0:
            return
        if i < len(o):
            o[i] = value
        else:
            o.extend([UNDEFINED] * (i - len(o)))
            o.append(value)

    m.EXOTIC_GET[list] = list_get
    m.EXOTIC_SET[list] = list_set
    m.EXOTIC_GET[tuple] = lambda o, k: list_get(list(o), k)

    @_fn(arr, "isArray", 1)
    def _is_array(this: Any, args: list[Any]) -> Any:
        return isinstance(arg(args, 0), list)

    @_fn(arr, "from", 1)
    def _from(this: Any, args: list[Any]) -> Any:
        source, mapper = arg(args, 0), arg(args, 1)
        if source is None or source is UNDEFINED:
            raise m.throw("TypeError", "Array.from requires an array-like object")
        if m.is_object(source) and m.get(source, m.SYM_ITERATOR) is UNDEFINED:
            n = m.to_integer(m.get(source, "length"))
            items = [m.get(source, i) for i in range(n)]
        else:
            items = list(m.iterate(source))
        if mapper is not UNDEFINED:
            items = [m.call(mapper, UNDEFINED, [v, i]) for i, v in enumerate(items)]
        return items

    @_fn(arr, "of", 0)
    def _of(this: Any, args: list[Any]) -> Any:
        return list(args)

    def fn_arg(args: list[Any], what: str) -> Any:
        f = arg(args, 0)
        if not m.is_callable(f):
            raise m.throw("TypeError", f"{m.describe(f)} is not a function ({what})")
        return f

    @_fn(P, "push", 1)
    def _push(this: Any, args: list[Any]) -> Any:
        this.extend(args)
        return len(this)

    @_fn(P, "pop", 0)
    def _pop(this: Any, args: list[Any]) -> Any:
        return this.pop() if this else UNDEFINED

    @_fn(P, "shift", 0)
    def _shift(this: Any, args: list[Any]) -> Any:
        return this.pop(0) if this else UNDEFINED

    @_fn(P, "unshift", 1)
    def _unshift(this: Any, args: list[Any]) -> Any:
        this[0:0] = args
        return len(this)

    @_fn(P, "slice", 2)
    def _slice(this: Any, args: list[Any]) -> Any:
        start, end = typed._range(args, len(this))
        return this[start:end]

    @_fn(P, "splice", 2)
    def _splice(this: Any, args: list[Any]) -> Any:
        n = len(this)
        start = m.to_integer(arg(args, 0)) if args else 0
        start = max(0, n + start) if start < 0 else min(start, n)
        count = n - start if len(args) < 2 else max(0, min(m.to_integer(args[1]), n - start))
        removed = this[start : start + count]
        this[start : start + count] = args[2:]
        return removed

    @_fn(P, "concat", 1)
    def _concat(this: Any, args: list[Any]) -> Any:
        out = list(this)
        for a in args:
            if isinstance(a, list):
                out.extend(a)
            else:
                out.append(a)
        return out

    @_fn(P, "join", 1)
    def _join(this: Any, args: list[Any]) -> Any:
        sep = "," if arg(args, 0) is UNDEFINED else m.to_string(args[0])
        return sep.join("" if v is None or v is UNDEFINED else m.to_string(v) for v in this)

    @_fn(P, "toString", 0)
    def _to_string(this: Any, args: list[Any]) -> Any:
        return _join(this, [])

    @_fn(P, "indexOf", 1)
    def _index_of(this: Any, args: list[Any]) -> Any:
        target = arg(args, 0)
        start = m.to_integer(arg(args, 1)) if len(args) > 1 else 0
        for i in range(max(0, start if start >= 0 else len(this) + start), len(this)):
            if m.strict_equals(this[i], target):
                return i
        return -1

    @_fn(P, "lastIndexOf", 1)
    def _last_index_of(this: Any, args: list[Any]) -> Any:
        target = arg(args, 0)
        for i in range(len(this) - 1, -1, -1):
            if m.strict_equals(this[i], target):
                return i
        return -1

    @_fn(P, "includes", 1)
    def _includes(this: Any, args: list[Any]) -> Any:
        target = arg(args, 0)
        return any(m.same_value_zero(v, target) for v in this)

    def _callback(name: str, body: Callable[[Any, Any, list[Any]], Any]) -> None:
        def run(this: Any, args: list[Any]) -> Any:
            return body(this, fn_arg(args, f"Array.prototype.{name}"), args)

        m.define(P, name, JSFunction(run, name, 1))

    def _map(this: Any, f: Any, args: list[Any]) -> Any:
        t = arg(args, 1)
        return [m.call(f, t, [v, i, this]) for i, v in enumerate(list(this))]

    def _filter(this: Any, f: Any, args: list[Any]) -> Any:
        t = arg(args, 1)
        return [v for i, v in enumerate(list(this)) if m.to_boolean(m.call(f, t, [v, i, this]))]

    def _for_each(this: Any, f: Any, args: list[Any]) -> Any:
        t = arg(args, 1)
        for i, v in enumerate(list(this)):
            m.call(f, t, [v, i, this])
        return UNDEFINED

    def _some(this: Any, f: Any, args: list[Any]) -> Any:
        return any(m.to_boolean(m.call(f, arg(args, 1), [v, i, this])) for i, v in enumerate(list(this)))

    def _every(this: Any, f: Any, args: list[Any]) -> Any:
        return all(m.to_boolean(m.call(f, arg(args, 1), [v, i, this])) for i, v in enumerate(list(this)))

    def _find(this: Any, f: Any, args: list[Any]) -> Any:
        for i, v in enumerate(list(this)):
            if m.to_boolean(m.call(f, arg(args, 1), [v, i, this])):
                return v
        return UNDEFINED

    def _find_index(this: Any, f: Any, args: list[Any]) -> Any:
        for i, v in enumerate(list(this)):
            if m.to_boolean(m.call(f, arg(args, 1), [v, i, this])):
                return i
        return -1

    def _reduce(this: Any, f: Any, args: list[Any]) -> Any:
        items = list(this)
        if len(args) > 1:
            acc, start = args[1], 0
        elif items:
            acc, start = items[0], 1
        else:
            raise m.throw("TypeError", "Reduce of empty array with no initial value")
        for i in range(start, len(items)):
            acc = m.call(f, UNDEFINED, [acc, items[i], i, this])
        return acc

    def _flat_map(this: Any, f: Any, args: list[Any]) -> Any:
        out: list[Any] = []
        for i, v in enumerate(list(this)):
            r = m.call(f, arg(args, 1), [v, i, this])
            out.extend(r if isinstance(r, list) else [r])
        return out

    for name, body in (
        ("map", _map),
        ("filter", _filter),
        ("forEach", _for_each),
        ("some", _some),
        ("every", _every),
        ("find", _find),
        ("findIndex", _find_index),
        ("reduce", _reduce),
        ("flatMap", _flat_map),
    ):
        _callback(name, body)

    @_fn(P, "sort", 1)
    def _sort(this: Any, args: list[Any]) -> Any:
        import functools

        cmp = arg(args, 0)
        undef = [v for v in this if v is UNDEFINED]
        rest = [v for v in this if v is not UNDEFINED]
        if cmp is UNDEFINED:
            rest.sort(key=lambda v: m._units(m.to_string(v)))
        else:

            def compare(a: Any, b: Any) -> int:
                r = m.to_number(m.call(cmp, UNDEFINED, [a, b]))
                return -1 if r < 0 else (1 if r > 0 else 0)

            rest.sort(key=functools.cmp_to_key(compare))
        this[:] = rest + undef
        return this

    @_fn(P, "reverse", 0)
    def _reverse(this: Any, args: list[Any]) -> Any:
        this.reverse()
        return this

    @_fn(P, "fill", 1)
    def _fill(this: Any, args: list[Any]) -> Any:
        start, end = typed._range(args[1:], len(this))
        for i in range(start, end):
            this[i] = arg(args, 0)
        return this

    @_fn(P, "at", 1)
    def _at(this: Any, args: list[Any]) -> Any:
        i = m.to_integer(arg(args, 0))
        i = i + len(this) if i < 0 else i
        return this[i] if 0 <= i < len(this) else UNDEFINED

    @_fn(P, "flat", 0)
    def _flat(this: Any, args: list[Any]) -> Any:
        depth = 1 if arg(args, 0) is UNDEFINED else m.to_integer(args[0])

        def flat(items: list[Any], d: int) -> list[Any]:
            out: list[Any] = []
            for v in items:
                if isinstance(v, list) and d > 0:
                    out.extend(flat(v, d - 1))
                else:
                    out.append(v)
            return out

        return flat(this, depth)

    values = JSFunction(lambda this, args: realm.make_iterator(iter(list(this))), "values")
    m.define(P, "values", values)
    m.define(P, m.SYM_ITERATOR, values)
    m.define(P, "keys", JSFunction(lambda this, args: realm.make_iterator(iter(range(len(this)))), "keys"))
    m.define(
        P,
        "entries",
        JSFunction(lambda this, args: realm.make_iterator(iter([[i, v] for i, v in enumerate(this)])), "entries"),
    )


# ---------------------------------------------------------------------------------------- String


def _string(realm: Realm, g: JsObject) -> None:
    P = m.new_object(cls="String")
    m.PROTO_OF[str] = P

    def call_string(this: Any, args: list[Any]) -> Any:
        if not args:
            return ""
        v = args[0]
        if type(v) is m.Symbol:
            return f"Symbol({'' if v.description is UNDEFINED else v.description})"
        return m.to_string(v)

    ctor = realm.native_class("String", P, lambda args, nt: call_string(UNDEFINED, args), g, call_string)

    def str_get(s: str, key: Any) -> Any:
        if key == "length":
            return m.utf16_len(s)
        i = key if type(key) is int else m.array_index(key)
        if i >= 0:
            if m.is_astral_free(s):
                return s[i] if i < len(s) else UNDEFINED
            units = m.utf16(s)
            return m.from_utf16(units[2 * i : 2 * i + 2]) if 2 * i < len(units) else UNDEFINED
        return m.lookup(P, m.to_property_key(key), s)

    m.EXOTIC_GET[str] = str_get
    m.FAST_ITER[str] = lambda s: iter(s)

    def this_str(this: Any) -> str:
        if type(this) is str:
            return this
        if this is None or this is UNDEFINED:
            raise m.throw("TypeError", "String.prototype method called on null or undefined")
        return m.to_string(this)

    def units_op(s: str, fn: Callable[[Any, bool], Any]) -> Any:
        if m.is_astral_free(s):
            return fn(s, False)
        return fn(m.utf16(s), True)

    def sub(s: str, start: int, end: int) -> str:
        if m.is_astral_free(s):
            return s[start:end]
        return m.from_utf16(m.utf16(s)[2 * start : 2 * end])

    @_fn(ctor, "fromCharCode", 1)
    def _from_char_code(this: Any, args: list[Any]) -> Any:
        data = b"".join((m.to_uint32(a) & 0xFFFF).to_bytes(2, "little") for a in args)
        return m.from_utf16(data)

    @_fn(ctor, "fromCodePoint", 1)
    def _from_code_point(this: Any, args: list[Any]) -> Any:
        out = []
        for a in args:
            n = m.to_number(a)
            if type(n) is float and not n.is_integer() or n < 0 or n > 0x10FFFF:
                raise m.throw("RangeError", f"Invalid code point {m.to_string(a)}")
            out.append(chr(int(n)))
        return m.canonical("".join(out))

    @_fn(ctor, "raw", 1)
    def _raw(this: Any, args: list[Any]) -> Any:
        strings = m.get(arg(args, 0), "raw")
        parts = [m.to_string(p) for p in m.iterate(strings)]
        out = parts[0] if parts else ""
        for i, p in enumerate(parts[1:]):
            out += (m.to_string(args[i + 1]) if i + 1 < len(args) else "") + p
        return out

    @_fn(P, "toString", 0)
    def _to_string(this: Any, args: list[Any]) -> Any:
        return this_str(this)

    @_fn(P, "valueOf", 0)
    def _value_of(this: Any, args: list[Any]) -> Any:
        return this_str(this)

    @_fn(P, "charCodeAt", 1)
    def _char_code_at(this: Any, args: list[Any]) -> Any:
        s = this_str(this)
        i = m.to_integer(arg(args, 0)) if args else 0
        if m.is_astral_free(s):
            return ord(s[i]) if 0 <= i < len(s) else math.nan
        u = m.utf16(s)
        return u[2 * i] | (u[2 * i + 1] << 8) if 0 <= 2 * i < len(u) else math.nan

    @_fn(P, "codePointAt", 1)
    def _code_point_at(this: Any, args: list[Any]) -> Any:
        s = this_str(this)
        i = m.to_integer(arg(args, 0)) if args else 0
        if m.is_astral_free(s):
            return ord(s[i]) if 0 <= i < len(s) else UNDEFINED
        c = sub(s, i, i + 2)
        return ord(c[0]) if c else UNDEFINED

    @_fn(P, "charAt", 1)
    def _char_at(this: Any, args: list[Any]) -> Any:
        s = this_str(this)
        i = m.to_integer(arg(args, 0)) if args else 0
        return sub(s, i, i + 1) if 0 <= i else ""

    @_fn(P, "at", 1)
    def _at(this: Any, args: list[Any]) -> Any:
        s = this_str(this)
        n = m.utf16_len(s)
        i = m.to_integer(arg(args, 0))
        i = i + n if i < 0 else i
        return sub(s, i, i + 1) if 0 <= i < n else UNDEFINED

    @_fn(P, "slice", 2)
    def _slice(this: Any, args: list[Any]) -> Any:
        if not args and type(this) is str and m.is_astral_free(this):
            return this  # the glue's getStringFromWasm0(ptr, len).slice(): sub(s, 0, len(s)) is s
        s = this_str(this)
        start, end = typed._range(args, m.utf16_len(s))
        return sub(s, start, end)

    @_fn(P, "substring", 2)
    def _substring(this: Any, args: list[Any]) -> Any:
        s = this_str(this)
        n = m.utf16_len(s)
        a = min(max(m.to_integer(arg(args, 0)), 0), n)
        b = n if arg(args, 1) is UNDEFINED else min(max(m.to_integer(args[1]), 0), n)
        return sub(s, min(a, b), max(a, b))

    @_fn(P, "substr", 2)
    def _substr(this: Any, args: list[Any]) -> Any:
        s = this_str(this)
        n = m.utf16_len(s)
        a = m.to_integer(arg(args, 0))
        a = max(0, n + a) if a < 0 else min(a, n)
        count = n - a if arg(args, 1) is UNDEFINED else max(0, m.to_integer(args[1]))
        return sub(s, a, min(n, a + count))

    def index_conv(s: str, cp_index: int) -> int:
        return cp_index if m.is_astral_free(s) else m.utf16_len(s[:cp_index])

    @_fn(P, "indexOf", 1)
    def _index_of(this: Any, args: list[Any]) -> Any:
        s = this_str(this)
        needle = m.to_string(arg(args, 0))
        start = m.to_integer(arg(args, 1)) if len(args) > 1 else 0
        if m.is_astral_free(s):
            return s.find(needle, max(0, start))
        i = s.find(needle, len(m.from_utf16(m.utf16(s)[: 2 * max(0, start)])))
        return -1 if i < 0 else index_conv(s, i)

    @_fn(P, "lastIndexOf", 1)
    def _last_index_of(this: Any, args: list[Any]) -> Any:
        s = this_str(this)
        i = s.rfind(m.to_string(arg(args, 0)))
        return -1 if i < 0 else index_conv(s, i)

    @_fn(P, "includes", 1)
    def _includes(this: Any, args: list[Any]) -> Any:
        return m.to_string(arg(args, 0)) in this_str(this)

    @_fn(P, "startsWith", 1)
    def _starts_with(this: Any, args: list[Any]) -> Any:
        s = this_str(this)
        pos = m.to_integer(arg(args, 1)) if len(args) > 1 else 0
        return sub(s, pos, m.utf16_len(s)).startswith(m.to_string(arg(args, 0)))

    @_fn(P, "endsWith", 1)
    def _ends_with(this: Any, args: list[Any]) -> Any:
        s = this_str(this)
        if len(args) > 1 and args[1] is not UNDEFINED:
            s = sub(s, 0, m.to_integer(args[1]))
        return s.endswith(m.to_string(arg(args, 0)))

    @_fn(P, "split", 2)
    def _split(this: Any, args: list[Any]) -> Any:
        s = this_str(this)
        sep = arg(args, 0)
        limit = None if arg(args, 1) is UNDEFINED else m.to_uint32(args[1])
        if sep is UNDEFINED:
            parts = [s]
        elif isinstance(sep, RegExpObject):
            parts = sep.compiled.split(s)
        else:
            sep = m.to_string(sep)
            parts = (
                list(m.from_utf16(m.utf16(s)[i : i + 2]) for i in range(0, len(m.utf16(s)), 2))
                if sep == ""
                else s.split(sep)
            )
        return parts[:limit] if limit is not None else parts

    @_fn(P, "toLowerCase", 0)
    def _lower(this: Any, args: list[Any]) -> Any:
        return this_str(this).lower()

    @_fn(P, "toUpperCase", 0)
    def _upper(this: Any, args: list[Any]) -> Any:
        return this_str(this).upper()

    m.define(P, "toLocaleLowerCase", m.get(P, "toLowerCase"))
    m.define(P, "toLocaleUpperCase", m.get(P, "toUpperCase"))

    @_fn(P, "trim", 0)
    def _trim(this: Any, args: list[Any]) -> Any:
        return this_str(this).strip(m._WS)

    @_fn(P, "trimStart", 0)
    def _trim_start(this: Any, args: list[Any]) -> Any:
        return this_str(this).lstrip(m._WS)

    @_fn(P, "trimEnd", 0)
    def _trim_end(this: Any, args: list[Any]) -> Any:
        return this_str(this).rstrip(m._WS)

    def pad(s: str, args: list[Any], start: bool) -> str:
        target = m.to_integer(arg(args, 0))
        filler = " " if arg(args, 1) is UNDEFINED else m.to_string(args[1])
        n = m.utf16_len(s)
        if target <= n or not filler:
            return s
        realm.charge(target - n, f"String.prototype.{'padStart' if start else 'padEnd'}({target})")
        fill = (filler * (target - n))[: target - n]
        return fill + s if start else s + fill

    m.define(P, "padStart", JSFunction(lambda this, args: pad(this_str(this), args, True), "padStart", 2))
    m.define(P, "padEnd", JSFunction(lambda this, args: pad(this_str(this), args, False), "padEnd", 2))

    @_fn(P, "repeat", 1)
    def _repeat(this: Any, args: list[Any]) -> Any:
        n = m.to_integer(arg(args, 0))
        if n < 0:
            raise m.throw("RangeError", f"Invalid count value: {n}")
        s = this_str(this)
        realm.charge(len(s) * n, f"String.prototype.repeat({n})")
        return s * n

    @_fn(P, "concat", 1)
    def _concat(this: Any, args: list[Any]) -> Any:
        out = this_str(this)
        for a in args:
            out = m.concat(out, m.to_string(a))
        return out

    @_fn(P, "normalize", 0)
    def _normalize(this: Any, args: list[Any]) -> Any:
        import unicodedata

        form = "NFC" if arg(args, 0) is UNDEFINED else m.to_string(args[0])
        if form not in ("NFC", "NFD", "NFKC", "NFKD"):
            raise m.throw("RangeError", "The normalization form should be one of NFC, NFD, NFKC, NFKD.")
        return unicodedata.normalize(form, this_str(this))  # type: ignore[arg-type]

    @_fn(P, "localeCompare", 1)
    def _locale_compare(this: Any, args: list[Any]) -> Any:
        a, b = this_str(this), m.to_string(arg(args, 0))
        return -1 if a < b else (1 if a > b else 0)

    def replace(this: Any, args: list[Any], every: bool) -> Any:
        s = this_str(this)
        pattern, replacement = arg(args, 0), arg(args, 1)
        if isinstance(pattern, RegExpObject):
            count = 0 if ("g" in pattern.flags or every) else 1

            def repl(match: Any) -> str:
                if m.is_callable(replacement):
                    groups = [g if g is not None else UNDEFINED for g in match.groups()]
                    return m.to_string(m.call(replacement, UNDEFINED, [match.group(0), *groups, match.start(), s]))
                return expand(m.to_string(replacement), match.group(0), list(match.groups()))

            return pattern.compiled.sub(repl, s, count=count)
        needle = m.to_string(pattern)
        if m.is_callable(replacement):

            def fn_repl(found: str, at: int) -> str:
                return m.to_string(m.call(replacement, UNDEFINED, [found, at, s]))
        else:
            text = m.to_string(replacement)

            def fn_repl(found: str, at: int) -> str:
                return expand(text, found, [])

        out, i = [], 0
        while True:
            j = s.find(needle, i)
            if j < 0:
                break
            out.append(s[i:j])
            out.append(fn_repl(needle, j))
            i = j + len(needle)
            if not every:
                break
            if not needle:
                if i < len(s):
                    out.append(s[i])
                i += 1
                if i > len(s):
                    break
        out.append(s[i:])
        return "".join(out)

    def expand(template: str, matched: str, groups: list[Any]) -> str:
        if "$" not in template:
            return template

        def sub_dollar(mt: Any) -> str:
            token = mt.group(1)
            if token == "$":
                return "$"
            if token == "&":
                return matched
            if token.isdigit() and 0 < int(token) <= len(groups):
                return groups[int(token) - 1] or ""
            return mt.group(0)  # type: ignore[no-any-return]

        return re.sub(r"\$(\$|&|\d{1,2})", sub_dollar, template)

    m.define(P, "replace", JSFunction(lambda this, args: replace(this, args, False), "replace", 2))
    m.define(P, "replaceAll", JSFunction(lambda this, args: replace(this, args, True), "replaceAll", 2))

    @_fn(P, "match", 1)
    def _match(this: Any, args: list[Any]) -> Any:
        s = this_str(this)
        rx = arg(args, 0)
        if not isinstance(rx, RegExpObject):
            rx = realm.make_regexp(re.escape(m.to_string(rx)), "")
        if "g" in rx.flags:
            found = [mt.group(0) for mt in rx.compiled.finditer(s)]
            return found or None
        return rx.exec(s)

    @_fn(P, "search", 1)
    def _search(this: Any, args: list[Any]) -> Any:
        rx = arg(args, 0)
        mt = rx.compiled.search(this_str(this)) if isinstance(rx, RegExpObject) else None
        return mt.start() if mt else -1

    m.define(
        P, m.SYM_ITERATOR, JSFunction(lambda this, args: realm.make_iterator(iter(this_str(this))), "[Symbol.iterator]")
    )


# ---------------------------------------------------------------------------------------- numbers


def _number(realm: Realm, g: JsObject) -> None:
    P = m.new_object(cls="Number")
    m.PROTO_OF[int] = P
    m.PROTO_OF[float] = P

    def call_number(this: Any, args: list[Any]) -> Any:
        if not args:
            return 0
        v = args[0]
        if type(v) is m.BigInt:
            return m.num(float(int(v)))
        return m.to_number(v)

    ctor = realm.native_class("Number", P, lambda args, nt: call_number(UNDEFINED, args), g, call_number)
    for name, value in (
        ("MAX_SAFE_INTEGER", m.MAX_SAFE),
        ("MIN_SAFE_INTEGER", -m.MAX_SAFE),
        ("EPSILON", 2.0**-52),
        ("MAX_VALUE", 1.7976931348623157e308),
        ("MIN_VALUE", 5e-324),
        ("POSITIVE_INFINITY", math.inf),
        ("NEGATIVE_INFINITY", -math.inf),
        ("NaN", math.nan),
    ):
        m.define(ctor, name, value, writable=False)

    def is_num(v: Any) -> bool:
        return type(v) in (int, float)

    def is_integer(v: Any) -> bool:
        return type(v) is int or (type(v) is float and v == v and v not in (math.inf, -math.inf) and v.is_integer())

    m.define(ctor, "isInteger", JSFunction(lambda this, args: is_integer(arg(args, 0)), "isInteger", 1))
    m.define(
        ctor,
        "isSafeInteger",
        JSFunction(lambda this, args: is_integer(arg(args, 0)) and abs(arg(args, 0)) <= m.MAX_SAFE, "isSafeInteger", 1),
    )
    m.define(
        ctor,
        "isFinite",
        JSFunction(
            lambda this, args: is_num(arg(args, 0)) and arg(args, 0) == arg(args, 0) and abs(arg(args, 0)) != math.inf,
            "isFinite",
            1,
        ),
    )
    m.define(
        ctor,
        "isNaN",
        JSFunction(lambda this, args: type(arg(args, 0)) is float and arg(args, 0) != arg(args, 0), "isNaN", 1),
    )

    def parse_float(this: Any, args: list[Any]) -> Any:
        s = m.to_string(arg(args, 0)).lstrip(m._WS)
        mt = re.match(r"[+-]?(Infinity|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)", s)
        if not mt:
            return math.nan
        t = mt.group(0)
        if t.endswith("Infinity"):
            return -math.inf if t.startswith("-") else math.inf
        return m.num(float(t))

    def parse_int(this: Any, args: list[Any]) -> Any:
        s = m.to_string(arg(args, 0)).strip(m._WS)
        radix = m.to_int32(arg(args, 1)) if arg(args, 1) is not UNDEFINED else 0
        sign = 1
        if s[:1] in "+-" and s:
            sign = -1 if s[0] == "-" else 1
            s = s[1:]
        if radix in (0, 16) and s[:2].lower() == "0x":
            s, radix = s[2:], 16
        radix = radix or 10
        if radix < 2 or radix > 36:
            return math.nan
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[:radix]
        n = 0
        count = 0
        for c in s.lower():
            if c not in digits:
                break
            n = n * radix + digits.index(c)
            count += 1
        if not count:
            return math.nan
        n *= sign
        return n if abs(n) <= m.MAX_SAFE else float(n)

    for name, impl in (("parseFloat", parse_float), ("parseInt", parse_int)):
        fn = JSFunction(impl, name, 1)
        m.define(ctor, name, fn)
        m.define(g, name, fn)
    m.define(
        g, "isNaN", JSFunction(lambda this, args: m.to_number(arg(args, 0)) != m.to_number(arg(args, 0)), "isNaN", 1)
    )
    m.define(
        g,
        "isFinite",
        JSFunction(
            lambda this, args: (lambda n: n == n and abs(n) != math.inf)(m.to_number(arg(args, 0))), "isFinite", 1
        ),
    )

    def this_num(this: Any) -> Any:
        if type(this) in (int, float):
            return this
        raise m.throw("TypeError", "Number.prototype method called on a non-number")

    @_fn(P, "toString", 1)
    def _to_string(this: Any, args: list[Any]) -> Any:
        radix = 10 if arg(args, 0) is UNDEFINED else m.to_integer(args[0])
        return m.number_to_string(this_num(this), radix)

    @_fn(P, "toFixed", 1)
    def _to_fixed(this: Any, args: list[Any]) -> Any:
        digits = m.to_integer(arg(args, 0))
        x = this_num(this)
        if abs(x) >= 1e21 or x != x:
            return m.number_to_string(x)
        from decimal import ROUND_HALF_UP, Decimal

        return str(Decimal(x).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))

    @_fn(P, "valueOf", 0)
    def _value_of(this: Any, args: list[Any]) -> Any:
        return this_num(this)

    m.define(P, "toLocaleString", m.get(P, "toString"))

    # Boolean
    BP = m.new_object(cls="Boolean")
    m.PROTO_OF[bool] = BP
    realm.native_class(
        "Boolean", BP, lambda args, nt: m.to_boolean(arg(args, 0)), g, lambda this, args: m.to_boolean(arg(args, 0))
    )
    m.define(BP, "toString", JSFunction(lambda this, args: "true" if this else "false", "toString"))
    m.define(BP, "valueOf", JSFunction(lambda this, args: this, "valueOf"))

    # BigInt
    BIP = m.new_object(cls="BigInt")
    m.PROTO_OF[m.BigInt] = BIP

    def call_bigint(this: Any, args: list[Any]) -> Any:
        v = arg(args, 0)
        if type(v) is m.BigInt:
            return v
        if type(v) is bool:
            return m.BigInt(1 if v else 0)
        if type(v) is int:
            return m.BigInt(v)
        if type(v) is float:
            if not v.is_integer():
                raise m.throw(
                    "RangeError",
                    f"The number {m.number_to_string(v)} cannot be converted to a BigInt because it is not an integer",
                )
            return m.BigInt(int(v))
        if type(v) is str:
            try:
                return m.BigInt(int(v.strip(m._WS) or "0", 0))
            except ValueError:
                raise m.throw("SyntaxError", f"Cannot convert {v} to a BigInt") from None
        if isinstance(v, int):
            return m.BigInt(int(v))
        raise m.throw("TypeError", f"Cannot convert {m.describe(v)} to a BigInt")

    def no_new(args: list[Any], nt: Any) -> Any:
        raise m.throw("TypeError", "BigInt is not a constructor")

    bigint = realm.native_class("BigInt", BIP, None, g, call_bigint)
    _ = no_new

    def as_n(signed: bool) -> Callable[[Any, list[Any]], Any]:
        def run(this: Any, args: list[Any]) -> Any:
            bits = m.to_integer(arg(args, 0))
            v = int(call_bigint(UNDEFINED, [arg(args, 1)]))
            v &= (1 << bits) - 1
            if signed and bits and v >= 1 << (bits - 1):
                v -= 1 << bits
            return m.BigInt(v)

        return run

    m.define(bigint, "asUintN", JSFunction(as_n(False), "asUintN", 2))
    m.define(bigint, "asIntN", JSFunction(as_n(True), "asIntN", 2))
    m.define(
        BIP,
        "toString",
        JSFunction(
            lambda this, args: m._int_radix(int(this), 10 if arg(args, 0) is UNDEFINED else m.to_integer(args[0])),
            "toString",
        ),
    )
    m.define(BIP, "valueOf", JSFunction(lambda this, args: this, "valueOf"))
    m.define(BIP, "toLocaleString", m.get(BIP, "toString"))


def _symbol(realm: Realm, g: JsObject) -> None:
    P = m.new_object(cls="Symbol")
    m.PROTO_OF[m.Symbol] = P
    registry: dict[str, m.Symbol] = {}

    def call_symbol(this: Any, args: list[Any]) -> Any:
        d = arg(args, 0)
        return m.Symbol(UNDEFINED if d is UNDEFINED else m.to_string(d))

    ctor = realm.native_class("Symbol", P, None, g, call_symbol)
    for name, sym in (
        ("iterator", m.SYM_ITERATOR),
        ("asyncIterator", m.SYM_ASYNC_ITERATOR),
        ("dispose", m.SYM_DISPOSE),
        ("asyncDispose", m.SYM_ASYNC_DISPOSE),
        ("toStringTag", m.SYM_TO_STRING_TAG),
        ("hasInstance", m.SYM_HAS_INSTANCE),
        ("toPrimitive", m.SYM_TO_PRIMITIVE),
    ):
        m.define(ctor, name, sym, writable=False)

    @_fn(ctor, "for", 1)
    def _for(this: Any, args: list[Any]) -> Any:
        key = m.to_string(arg(args, 0))
        if key not in registry:
            registry[key] = m.Symbol(key)
        return registry[key]

    m.getter(P, "description")(lambda this: this.description)
    m.define(
        P,
        "toString",
        JSFunction(
            lambda this, args: f"Symbol({'' if this.description is UNDEFINED else this.description})", "toString"
        ),
    )


# ---------------------------------------------------------------------------------------- errors


def _errors(realm: Realm, g: JsObject) -> None:
    def install_error(name: str, proto: JsObject, parent: Optional[JSFunction]) -> JSFunction:
        def make(args: list[Any], nt: Any) -> Any:
            p = m.get(nt, "prototype") if nt is not None else proto
            err = m.new_object(p if isinstance(p, JsObject) else proto, "Error")
            message = arg(args, 0)
            if message is not UNDEFINED:
                m.define(err, "message", m.to_string(message))
            options = arg(args, 1)
            if m.is_object(options) and m.has_property(options, "cause"):
                m.define(err, "cause", m.get(options, "cause"))
            nm = m.get(err, "name")
            msg = m.get(err, "message")
            header = m.to_string(nm) + (": " + m.to_string(msg) if msg not in ("", UNDEFINED) else "")
            m.define(err, "stack", header + "\n    at <realm_wasmer js>")
            return err

        ctor = realm.native_class(name, proto, make, g, lambda this, args: make(args, None))
        m.define(proto, "name", name)
        m.define(proto, "message", "")
        if parent is not None:
            ctor.proto = parent
        m.ERROR_CLASSES[name] = ctor
        return ctor

    base = install_error("Error", m.ERROR_PROTO, None)

    @_fn(m.ERROR_PROTO, "toString", 0)
    def _to_string(this: Any, args: list[Any]) -> Any:
        name = m.get(this, "name")
        msg = m.get(this, "message")
        name = "Error" if name is UNDEFINED else m.to_string(name)
        msg = "" if msg is UNDEFINED else m.to_string(msg)
        return f"{name}: {msg}" if name and msg else (name or msg)

    m.define(base, "captureStackTrace", JSFunction(lambda this, args: UNDEFINED, "captureStackTrace"))
    m.define(base, "stackTraceLimit", 10, enumerable=True)
    for name in ("TypeError", "RangeError", "SyntaxError", "ReferenceError", "EvalError", "URIError", "AggregateError"):
        install_error(name, m.new_object(m.ERROR_PROTO, "Error"), base)

    m.EXOTIC_GET[JsErrorValue] = m.field_getter(m.ERROR_PROTO, {
        "message": lambda v: v.message,
        "name": lambda v: v.name,
        "stack": lambda v: f"{v.name}: {v.message}\n    at <wasm>",
    })  # fmt: skip


# ---------------------------------------------------------------------------------------- Map, Set, weak things


def _collections(realm: Realm, g: JsObject) -> None:
    MP = m.new_object(cls="Map")
    SP = m.new_object(cls="Set")
    m.define(MP, m.SYM_TO_STRING_TAG, "Map")
    m.define(SP, m.SYM_TO_STRING_TAG, "Set")

    def make_map(args: list[Any], nt: Any) -> Any:
        p = m.get(nt, "prototype")
        obj = MapObject(p if isinstance(p, JsObject) else MP, "Map")
        source = arg(args, 0)
        if source is not UNDEFINED and source is not None:
            for entry in m.iterate(source):
                k, v = m.get(entry, 0), m.get(entry, 1)
                obj.store[map_key(k)] = (k, v)
        return obj

    def make_set(args: list[Any], nt: Any) -> Any:
        p = m.get(nt, "prototype")
        obj = MapObject(p if isinstance(p, JsObject) else SP, "Set")
        source = arg(args, 0)
        if source is not UNDEFINED and source is not None:
            for v in m.iterate(source):
                obj.store[map_key(v)] = (v, v)
        return obj

    realm.native_class("Map", MP, make_map, g)
    realm.native_class("Set", SP, make_set, g)

    def store(this: Any) -> dict[Any, tuple[Any, Any]]:
        if not isinstance(this, MapObject):
            raise m.throw("TypeError", "Method called on incompatible receiver")
        return this.store

    for P in (MP, SP):
        m.getter(P, "size")(lambda this: len(store(this)))
        m.define(P, "has", JSFunction(lambda this, args: map_key(arg(args, 0)) in store(this), "has", 1))
        m.define(
            P,
            "delete",
            JSFunction(lambda this, args: store(this).pop(map_key(arg(args, 0)), None) is not None, "delete", 1),
        )

        def clear(this: Any, args: list[Any]) -> Any:
            store(this).clear()
            return UNDEFINED

        m.define(P, "clear", JSFunction(clear, "clear"))

        def for_each(this: Any, args: list[Any]) -> Any:
            for k, v in list(store(this).values()):
                m.call(arg(args, 0), arg(args, 1), [v, k, this])
            return UNDEFINED

        m.define(P, "forEach", JSFunction(for_each, "forEach", 1))

    m.define(
        MP, "get", JSFunction(lambda this, args: store(this).get(map_key(arg(args, 0)), (None, UNDEFINED))[1], "get", 1)
    )

    def map_set(this: Any, args: list[Any]) -> Any:
        k = arg(args, 0)
        if type(k) is float and k == 0:
            k = 0
        store(this)[map_key(k)] = (k, arg(args, 1))
        return this

    def set_add(this: Any, args: list[Any]) -> Any:
        v = arg(args, 0)
        store(this)[map_key(v)] = (v, v)
        return this

    m.define(MP, "set", JSFunction(map_set, "set", 2))
    m.define(SP, "add", JSFunction(set_add, "add", 1))
    entries = JSFunction(
        lambda this, args: realm.make_iterator(iter([[k, v] for k, v in list(store(this).values())])), "entries"
    )
    m.define(MP, "entries", entries)
    m.define(MP, m.SYM_ITERATOR, entries)
    m.define(
        MP,
        "keys",
        JSFunction(lambda this, args: realm.make_iterator(iter([k for k, _ in list(store(this).values())])), "keys"),
    )
    m.define(
        MP,
        "values",
        JSFunction(lambda this, args: realm.make_iterator(iter([v for _, v in list(store(this).values())])), "values"),
    )
    set_values = JSFunction(
        lambda this, args: realm.make_iterator(iter([v for v, _ in list(store(this).values())])), "values"
    )
    m.define(SP, "values", set_values)
    m.define(SP, "keys", set_values)
    m.define(SP, m.SYM_ITERATOR, set_values)
    m.define(
        SP,
        "entries",
        JSFunction(
            lambda this, args: realm.make_iterator(iter([[v, v] for v, _ in list(store(this).values())])), "entries"
        ),
    )
    m.FAST_ITER[MapObject] = lambda o: iter(
        [[k, v] for k, v in list(o.store.values())] if o.cls == "Map" else [v for v, _ in list(o.store.values())]
    )

    # WeakMap / WeakSet: keyed by identity; the entry keeps the key alive (documented limitation).
    WMP = m.new_object(cls="WeakMap")
    WSP = m.new_object(cls="WeakSet")

    def weak_check(k: Any) -> Any:
        if not m.is_object(k):
            raise m.throw("TypeError", "Invalid value used as weak map key")
        return ("o", id(k))

    realm.native_class("WeakMap", WMP, lambda args, nt: MapObject(WMP, "WeakMap"), g)
    realm.native_class("WeakSet", WSP, lambda args, nt: MapObject(WSP, "WeakSet"), g)
    m.define(
        WMP, "get", JSFunction(lambda this, args: store(this).get(map_key(arg(args, 0)), (None, UNDEFINED))[1], "get")
    )
    m.define(
        WMP,
        "set",
        JSFunction(
            lambda this, args: (store(this).__setitem__(weak_check(arg(args, 0)), (arg(args, 0), arg(args, 1))), this)[  # type: ignore[func-returns-value]
                1
            ],
            "set",
        ),
    )  # type: ignore[func-returns-value]
    m.define(
        WSP,
        "add",
        JSFunction(
            lambda this, args: (store(this).__setitem__(weak_check(arg(args, 0)), (arg(args, 0), True)), this)[1], "add"  # type: ignore[func-returns-value]
        ),
    )  # type: ignore[func-returns-value]
    for P in (WMP, WSP):
        m.define(P, "has", JSFunction(lambda this, args: map_key(arg(args, 0)) in store(this), "has"))
        m.define(
            P,
            "delete",
            JSFunction(lambda this, args: store(this).pop(map_key(arg(args, 0)), None) is not None, "delete"),
        )

    # WeakRef
    WRP = m.new_object(cls="WeakRef")

    def make_weakref(args: list[Any], nt: Any) -> Any:
        target = arg(args, 0)
        if not m.is_object(target):
            raise m.throw("TypeError", "WeakRef: target must be an object")
        obj = WeakRefObject()
        obj.proto = WRP
        try:
            obj.target = weakref.ref(target)
        except TypeError:
            obj.target = lambda: target
        return obj

    realm.native_class("WeakRef", WRP, make_weakref, g)
    m.define(
        WRP, "deref", JSFunction(lambda this, args: (lambda t: UNDEFINED if t is None else t)(this.target()), "deref")
    )

    # FinalizationRegistry: a weak reference to the target, kept by the registry (``store[_CELLS]``),
    # queues the cleanup for the realm's next safe point when the target is collected; unregister
    # drops the reference, so its callback never runs. (weakref.finalize did the same at 5x the
    # cost: wasm-bindgen registers every object a class method returns.) A registry that is itself
    # collected runs no more cleanups, which JS allows.
    FRP = m.new_object(cls="FinalizationRegistry")

    def make_registry(args: list[Any], nt: Any) -> Any:
        cleanup = arg(args, 0)
        if not m.is_callable(cleanup):
            raise m.throw("TypeError", "FinalizationRegistry: cleanup must be callable")
        reg = MapObject(FRP, "FinalizationRegistry")
        dict.__setitem__(reg, "__cleanup__", Prop(cleanup))
        reg.store[_CELLS] = {}  # type: ignore[assignment]  # id(weak reference) -> it
        return reg

    realm.native_class("FinalizationRegistry", FRP, make_registry, g)
    queue = realm.cleanups

    def register(this: Any, args: list[Any]) -> Any:
        n = len(args)
        target = args[0] if n else UNDEFINED
        held = args[1] if n > 1 else UNDEFINED
        token = args[2] if n > 2 else UNDEFINED
        cleanup = dict.__getitem__(this, "__cleanup__").value
        tokens = store(this)
        cells: dict[int, Any] = tokens[_CELLS]  # type: ignore[assignment]
        key = ("o", id(token))

        def collected(ref: Any) -> None:
            if cells.pop(id(ref), None) is None:  # unregistered meanwhile
                return
            entry = tokens.get(key)
            if entry is not None and entry[0]() is None:
                tokens.pop(key, None)
            queue.append(lambda: m.call(cleanup, UNDEFINED, [held]) and None)

        try:
            ref = weakref.ref(target, collected)
        except TypeError:
            return UNDEFINED  # a value Python cannot watch (e.g. a str): never collected, as in JS for primitives
        cells[id(ref)] = ref
        if token is not UNDEFINED:
            entry = tokens.get(key)
            if entry is None or entry[0]() is not token:
                try:
                    token_ref = weakref.ref(token)
                except TypeError:
                    return UNDEFINED
                entry = tokens[key] = (token_ref, [])
            entry[1].append(ref)
        return UNDEFINED

    def unregister(this: Any, args: list[Any]) -> Any:
        token = args[0] if args else UNDEFINED
        key = ("o", id(token))
        tokens = store(this)
        entry = tokens.get(key)
        if entry is None or entry[0]() is not token:
            return False
        tokens.pop(key, None)
        cells = tokens[_CELLS]
        for ref in entry[1]:
            cells.pop(id(ref), None)  # type: ignore[attr-defined]
        return True

    m.define(FRP, "register", JSFunction(register, "register", 2))
    m.define(FRP, "unregister", JSFunction(unregister, "unregister", 1))


# ---------------------------------------------------------------------------------------- Promise


def _promise(realm: Realm, g: JsObject) -> None:
    P = m.new_object(cls="Promise")
    m.define(P, m.SYM_TO_STRING_TAG, "Promise")
    realm.promise_proto = P

    def make_promise(args: list[Any], nt: Any) -> Any:
        executor = arg(args, 0)
        if not m.is_callable(executor):
            raise m.throw("TypeError", f"Promise resolver {m.describe(executor)} is not a function")
        p = realm.new_promise()
        res, rej = realm.resolving_functions(p)
        try:
            m.call(executor, UNDEFINED, [res, rej])
        except CATCHABLE as exc:
            m.call(rej, UNDEFINED, [caught(exc)])
        return p

    ctor = realm.native_class("Promise", P, make_promise, g)

    def as_promise(this: Any) -> PromiseObject:
        if not isinstance(this, PromiseObject):
            raise m.throw("TypeError", "Method Promise.prototype.then called on incompatible receiver")
        return this

    m.define(
        P, "then", JSFunction(lambda this, args: realm.then(as_promise(this), arg(args, 0), arg(args, 1)), "then", 2)
    )
    m.define(
        P, "catch", JSFunction(lambda this, args: realm.then(as_promise(this), UNDEFINED, arg(args, 0)), "catch", 1)
    )

    def finally_(this: Any, args: list[Any]) -> Any:
        on_finally = arg(args, 0)

        def ok(t: Any, a: list[Any]) -> Any:
            m.call(on_finally, UNDEFINED, [])
            return arg(a, 0)

        def err(t: Any, a: list[Any]) -> Any:
            m.call(on_finally, UNDEFINED, [])
            raise JsThrow(arg(a, 0))

        return realm.then(as_promise(this), JSFunction(ok), JSFunction(err))

    m.define(P, "finally", JSFunction(finally_, "finally", 1))
    m.define(ctor, "resolve", JSFunction(lambda this, args: realm.promise_resolve(arg(args, 0)), "resolve", 1))
    m.define(ctor, "reject", JSFunction(lambda this, args: realm.promise_rejected(arg(args, 0)), "reject", 1))

    def combinator(kind: str) -> Callable[[Any, list[Any]], Any]:
        def run(this: Any, args: list[Any]) -> Any:
            items = [realm.promise_resolve(v) for v in m.iterate(arg(args, 0))]
            result = realm.new_promise()
            values: list[Any] = [UNDEFINED] * len(items)
            remaining = [len(items)]
            if not items:
                realm.resolve(result, [] if kind != "race" else UNDEFINED)
                return result
            for i, item in enumerate(items):

                def ok(t: Any, a: list[Any], i: int = i) -> Any:
                    v = arg(a, 0)
                    if kind == "race":
                        realm.resolve(result, v)
                        return UNDEFINED
                    if kind == "allSettled":
                        o = m.new_object()
                        dict.__setitem__(o, "status", "fulfilled")
                        dict.__setitem__(o, "value", v)
                        v = o
                    values[i] = v
                    remaining[0] -= 1
                    if remaining[0] == 0:
                        realm.resolve(result, values)
                    return UNDEFINED

                def err(t: Any, a: list[Any], i: int = i) -> Any:
                    if kind == "allSettled":
                        o = m.new_object()
                        dict.__setitem__(o, "status", "rejected")
                        dict.__setitem__(o, "reason", arg(a, 0))
                        values[i] = o
                        remaining[0] -= 1
                        if remaining[0] == 0:
                            realm.resolve(result, values)
                        return UNDEFINED
                    realm.reject(result, arg(a, 0))
                    return UNDEFINED

                realm.then(item, JSFunction(ok), JSFunction(err))
            return result

        return run

    for kind in ("all", "allSettled", "race"):
        m.define(ctor, kind, JSFunction(combinator(kind), kind, 1))

    def queue_microtask(this: Any, args: list[Any]) -> Any:
        fn = arg(args, 0)
        realm.jobs.append(lambda: m.call(fn, UNDEFINED, []) and None)
        return UNDEFINED

    m.define(g, "queueMicrotask", JSFunction(queue_microtask, "queueMicrotask", 1))

    def set_timeout(this: Any, args: list[Any]) -> Any:
        fn, delay, rest = arg(args, 0), arg(args, 1), list(args[2:])
        return realm.add_timer(
            m.to_integer(delay) if delay is not UNDEFINED else 0, lambda: m.call(fn, UNDEFINED, rest) and None
        )

    m.define(g, "setTimeout", JSFunction(set_timeout, "setTimeout", 2))
    m.define(
        g,
        "setImmediate",
        JSFunction(lambda this, args: set_timeout(this, [arg(args, 0), 0, *args[1:]]), "setImmediate"),
    )
    m.define(
        g,
        "clearTimeout",
        JSFunction(lambda this, args: realm.cancel_timer(m.to_integer(arg(args, 0))) or UNDEFINED, "clearTimeout"),  # type: ignore[func-returns-value]
    )  # type: ignore[func-returns-value]


# ---------------------------------------------------------------------------------------- JSON


def json_ready(
    v: Any, replacer: Any = UNDEFINED, holder: Any = None, key: str = "", stack: Optional[list[Any]] = None
) -> Any:
    """The value JSON.stringify serialises (``m._MISSING`` for one it skips)."""
    if stack is None:
        stack = []
    if m.is_object(v):
        to_json = m.get(v, "toJSON")
        if m.is_callable(to_json):
            v = m.call(to_json, v, [key])
    if replacer is not UNDEFINED and m.is_callable(replacer):
        v = m.call(replacer, holder, [key, v])
    t = type(v)
    if v is None or t is bool or t is str:
        return v
    if t is int:
        return v
    if t is float:
        return v if v == v and v not in (math.inf, -math.inf) else None
    if t is m.BigInt:
        raise m.throw("TypeError", "Do not know how to serialize a BigInt")
    if v is UNDEFINED or m.is_callable(v) or t is m.Symbol:
        return m._MISSING
    if any(v is s for s in stack):
        raise m.throw("TypeError", "Converting circular structure to JSON")
    stack.append(v)
    try:
        if isinstance(v, (list, tuple)):
            out = []
            for i, item in enumerate(v):
                r = json_ready(item, replacer, v, str(i), stack)
                out.append(None if r is m._MISSING else r)
            return out
        if isinstance(v, typed.TypedArray):
            return {str(i): x for i, x in enumerate(v.copy().tolist())}
        obj: dict[str, Any] = {}
        keys = replacer if isinstance(replacer, list) else m.own_enumerable_keys(v)
        for k in keys:
            k = m.to_string(k)
            r = json_ready(m.get(v, k), replacer if not isinstance(replacer, list) else UNDEFINED, v, k, stack)
            if r is not m._MISSING:
                obj[k] = r
        return obj
    finally:
        stack.pop()


class _JsNumberEncoder(json.JSONEncoder):
    def iterencode(self, o: Any, _one_shot: bool = False) -> Any:
        return super().iterencode(_fix_floats(o), _one_shot)


def _fix_floats(v: Any) -> Any:
    if isinstance(v, float):
        return _JsFloat(v)
    if isinstance(v, list):
        return [_fix_floats(x) for x in v]
    if isinstance(v, dict):
        return {k: _fix_floats(x) for k, x in v.items()}
    return v


class _JsFloat(float):
    def __repr__(self) -> str:
        return m.number_to_string(float(self))


#: What json.dumps(..., ensure_ascii=False, separators=(",", ":"), allow_nan=False) makes per call, made once.
_FLAT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _flat_object(v: JsObject) -> Optional[dict[str, Any]]:
    """``v``'s properties when JSON.stringify would give exactly ``json.dumps`` of them: ``v`` a
    plain object (no ``toJSON`` on it or on Object.prototype) of plain data properties under
    string keys that are not integer-like (JS orders those first), whose values are strings,
    integers, booleans or null (serialised as themselves). None: the general path is needed."""
    if "toJSON" in m.OBJECT_PROTO:
        return None
    for k, x in dict.items(v):
        tx = type(x)
        if not (tx is str or tx is int or tx is bool or x is None) or type(k) is not str or (k and k[0].isdigit()):
            return None
    return dict(v)


def json_stringify(v: Any, replacer: Any = UNDEFINED, indent: Any = UNDEFINED) -> Any:
    if type(v) is JsObject and v.proto is m.OBJECT_PROTO and replacer is UNDEFINED and indent is UNDEFINED:
        flat = _flat_object(v)  # e.g. the options object a package's wrapper stringifies on every call
        if flat is not None:
            return _FLAT_JSON.encode(flat)
    ready = json_ready(v, replacer, m.new_object())
    if ready is m._MISSING:
        return UNDEFINED
    gap: Optional[str] = None
    if type(indent) in (int, float):
        gap = " " * min(10, int(indent)) if indent >= 1 else None
    elif type(indent) is str and indent:
        gap = indent[:10]
    fixed = _fix_floats(ready)
    text = json.dumps(
        fixed,
        ensure_ascii=False,
        separators=(",", ":") if gap is None else (",", ": "),
        indent=gap,
        allow_nan=False,
        default=str,
    )
    return text


def _json_to_js(v: Any) -> Any:
    if isinstance(v, dict):
        o = m.new_object()
        for k, x in v.items():
            dict.__setitem__(o, k, _json_to_js(x))
        return o
    if isinstance(v, list):
        return [_json_to_js(x) for x in v]
    if isinstance(v, float):
        return m.num(v)
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > m.MAX_SAFE:
        return float(v)
    if isinstance(v, str):
        return m.canonical(v)
    return v


def json_parse(text: str) -> Any:
    try:
        return _json_to_js(json.loads(text, parse_constant=_bad_constant))
    except ValueError as exc:
        raise m.throw("SyntaxError", f"Unexpected token in JSON: {exc}") from None


def _bad_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _json(realm: Realm, g: JsObject) -> None:
    J = m.new_object()
    m.define(g, "JSON", J)
    m.define(J, m.SYM_TO_STRING_TAG, "JSON")

    def parse(this: Any, args: list[Any]) -> Any:
        value = json_parse(m.to_string(arg(args, 0)))
        reviver = arg(args, 1)
        if m.is_callable(reviver):

            def walk(holder: Any, key: Any) -> Any:
                val = m.get(holder, key)
                if isinstance(val, (list, JsObject)):
                    for k in m.own_keys(val):
                        r = walk(val, k)
                        if r is UNDEFINED:
                            m.delete(val, k)
                        else:
                            m.put(val, k, r)
                return m.call(reviver, holder, [key, val])

            root = m.new_object()
            dict.__setitem__(root, "", value)
            return walk(root, "")
        return value

    m.define(J, "parse", JSFunction(parse, "parse", 2))
    m.define(
        J,
        "stringify",
        JSFunction(lambda this, args: json_stringify(arg(args, 0), arg(args, 1), arg(args, 2)), "stringify", 3),
    )


# ---------------------------------------------------------------------------------------- Math, Reflect


def _math(g: JsObject) -> None:
    M = m.new_object()
    m.define(g, "Math", M)
    m.define(M, m.SYM_TO_STRING_TAG, "Math")
    for name, value in (
        ("PI", math.pi),
        ("E", math.e),
        ("LN2", math.log(2)),
        ("LN10", math.log(10)),
        ("LOG2E", 1 / math.log(2)),
        ("LOG10E", 1 / math.log(10)),
        ("SQRT2", math.sqrt(2)),
        ("SQRT1_2", math.sqrt(0.5)),
    ):
        m.define(M, name, value, writable=False)

    def unary(fn: Callable[[float], float]) -> Callable[[Any, list[Any]], Any]:
        def run(this: Any, args: list[Any]) -> Any:
            x = m.to_number(arg(args, 0))
            try:
                return m.num(float(fn(x)))
            except (ValueError, OverflowError):
                return math.nan

        return run

    def js_round(x: float) -> float:
        if x != x or x in (math.inf, -math.inf):
            return x
        return math.floor(x + 0.5) if not (-0.5 <= x < 0) else -0.0

    def sign(x: float) -> float:
        return x if x != x or x == 0 else (1.0 if x > 0 else -1.0)

    for name, fn in (
        ("floor", math.floor),
        ("ceil", math.ceil),
        ("abs", abs),
        ("sqrt", math.sqrt),
        ("trunc", math.trunc),
        ("round", js_round),
        ("sign", sign),
        ("log", math.log),
        ("log2", math.log2),
        ("log10", math.log10),
        ("exp", math.exp),
        ("sin", math.sin),
        ("cos", math.cos),
        ("tan", math.tan),
        ("atan", math.atan),
        ("asin", math.asin),
        ("acos", math.acos),
        ("cbrt", lambda x: math.copysign(abs(x) ** (1 / 3), x)),
        ("log1p", math.log1p),
        ("expm1", math.expm1),
        ("fround", lambda x: __import__("struct").unpack("f", __import__("struct").pack("f", x))[0]),
        ("tanh", math.tanh),
        ("sinh", math.sinh),
        ("cosh", math.cosh),
    ):
        wrapped = (
            (lambda f: lambda x: f(x) if x == x and x not in (math.inf, -math.inf) else x)(fn)
            if name in ("floor", "ceil", "trunc")
            else fn
        )
        m.define(M, name, JSFunction(unary(wrapped), name, 1))

    def minmax(pick: Callable[..., Any], empty: float) -> Callable[[Any, list[Any]], Any]:
        def run(this: Any, args: list[Any]) -> Any:
            values = [m.to_number(a) for a in args]
            if any(v != v for v in values):
                return math.nan
            return pick(values) if values else empty

        return run

    m.define(M, "max", JSFunction(minmax(max, -math.inf), "max", 2))
    m.define(M, "min", JSFunction(minmax(min, math.inf), "min", 2))
    m.define(
        M, "pow", JSFunction(lambda this, args: m.power(m.to_number(arg(args, 0)), m.to_number(arg(args, 1))), "pow", 2)
    )
    m.define(
        M,
        "atan2",
        JSFunction(
            lambda this, args: m.num(math.atan2(m.to_number(arg(args, 0)), m.to_number(arg(args, 1)))), "atan2", 2
        ),
    )
    m.define(M, "hypot", JSFunction(lambda this, args: m.num(math.hypot(*[m.to_number(a) for a in args])), "hypot", 2))
    m.define(M, "random", JSFunction(lambda this, args: secrets.randbits(53) / 2**53, "random"))
    m.define(
        M,
        "imul",
        JSFunction(lambda this, args: m.to_int32(m.to_int32(arg(args, 0)) * m.to_int32(arg(args, 1))), "imul", 2),
    )
    m.define(M, "clz32", JSFunction(lambda this, args: 32 - m.to_uint32(arg(args, 0)).bit_length(), "clz32", 1))


def _reflect(g: JsObject) -> None:
    R = m.new_object()
    m.define(g, "Reflect", R)
    _reflect_members(R)
    # Reflect's functions other than apply/construct take an object first (Node: "Reflect.get
    # called on non-object"; serde-wasm-bindgen's errors show this text)
    for name in ("get", "set", "has", "ownKeys", "getPrototypeOf", "deleteProperty", "defineProperty"):
        fn = m.get(R, name)
        m.define(R, name, JSFunction(_object_first(name, fn.impl), name, fn.nparams))


def _object_first(name: str, impl: Callable[[Any, list[Any]], Any]) -> Callable[[Any, list[Any]], Any]:
    def run(this: Any, args: list[Any]) -> Any:
        if not m.is_object(arg(args, 0)):
            raise m.throw("TypeError", f"Reflect.{name} called on non-object")
        return impl(this, args)

    return run


def _reflect_members(R: JsObject) -> None:
    m.define(
        R,
        "apply",
        JSFunction(lambda this, args: m.call(arg(args, 0), arg(args, 1), list(m.iterate(arg(args, 2)))), "apply"),
    )
    m.define(
        R,
        "construct",
        JSFunction(
            lambda this, args: m.construct(
                arg(args, 0), list(m.iterate(arg(args, 1))), arg(args, 2) if len(args) > 2 else None
            ),
            "construct",
        ),
    )
    m.define(R, "get", JSFunction(lambda this, args: m.get(arg(args, 0), arg(args, 1)), "get"))
    m.define(R, "set", JSFunction(lambda this, args: (m.put(arg(args, 0), arg(args, 1), arg(args, 2)), True)[1], "set"))  # type: ignore[func-returns-value]
    m.define(R, "has", JSFunction(lambda this, args: m.has_property(arg(args, 0), arg(args, 1)), "has"))
    m.define(
        R,
        "ownKeys",
        JSFunction(
            lambda this, args: (
                m.own_keys(arg(args, 0))
                + ([k for k in arg(args, 0) if type(k) is m.Symbol] if isinstance(arg(args, 0), dict) else [])
            ),
            "ownKeys",
        ),
    )
    m.define(R, "getPrototypeOf", JSFunction(lambda this, args: m.proto_of(arg(args, 0)), "getPrototypeOf"))
    m.define(R, "deleteProperty", JSFunction(lambda this, args: m.delete(arg(args, 0), arg(args, 1)), "deleteProperty"))

    def define_prop(this: Any, args: list[Any]) -> Any:
        define_property(arg(args, 0), arg(args, 1), arg(args, 2))
        return True

    m.define(R, "defineProperty", JSFunction(define_prop, "defineProperty"))
    m.define(
        R,
        "setPrototypeOf",
        JSFunction(
            lambda this, args: (
                (setattr(arg(args, 0), "proto", arg(args, 1)), True)[1] if isinstance(arg(args, 0), JsObject) else False  # type: ignore[func-returns-value]
            ),  # type: ignore[func-returns-value]
            "setPrototypeOf",
        ),
    )


# ---------------------------------------------------------------------------------------- text


def _text(realm: Realm, g: JsObject) -> None:
    EP = m.new_object(cls="TextEncoder")
    DP = m.new_object(cls="TextDecoder")

    def make_encoder(args: list[Any], nt: Any) -> Any:
        o = m.new_object(EP, "TextEncoder")
        return o

    realm.native_class("TextEncoder", EP, make_encoder, g)
    m.getter(EP, "encoding")(lambda this: "utf-8")

    @_fn(EP, "encode", 1)
    def _encode(this: Any, args: list[Any]) -> Any:
        s = args[0] if args else UNDEFINED
        s = "" if s is UNDEFINED else s if type(s) is str else m.to_string(s)
        realm.charge(len(s), "TextEncoder.encode")
        return typed.new_bytes(m.utf8_of(s))

    @_fn(EP, "encodeInto", 2)
    def _encode_into(this: Any, args: list[Any]) -> Any:
        s = m.to_string(arg(args, 0))
        dest = arg(args, 1)
        if not isinstance(dest, typed.TypedArray):
            raise m.throw("TypeError", "encodeInto: the destination must be a Uint8Array")
        room = dest.length
        data = m.utf8_of(s)
        if len(data) > room:
            # Only whole characters fit.
            read = 0
            written = 0
            pieces = []
            for c in s:
                b = m.utf8_of(c)
                if written + len(b) > room:
                    break
                pieces.append(b)
                written += len(b)
                read += 2 if c > "\uffff" else 1
            data = b"".join(pieces)
        else:
            read = m.utf16_len(s)
        if data:
            dest.numpy()[: len(data)] = memoryview(data)
        result = m.new_object()
        dict.__setitem__(result, "read", read)
        dict.__setitem__(result, "written", len(data))
        return result

    def make_decoder(args: list[Any], nt: Any) -> Any:
        label = "utf-8" if arg(args, 0) is UNDEFINED else m.to_string(args[0]).lower()
        if label not in ("utf-8", "utf8", "unicode-1-1-utf-8", "utf-16le", "latin1", "ascii"):
            raise m.throw("RangeError", f"The encoding label provided ('{label}') is invalid.")
        options = arg(args, 1)
        o = m.new_object(DP, "TextDecoder")
        m.define(o, "__fatal__", m.to_boolean(m.get(options, "fatal")) if m.is_object(options) else False)
        m.define(o, "__ignore_bom__", m.to_boolean(m.get(options, "ignoreBOM")) if m.is_object(options) else False)
        m.define(
            o,
            "__label__",
            "utf-16-le" if label == "utf-16le" else ("latin-1" if label in ("latin1", "ascii") else "utf-8"),
        )
        return o

    realm.native_class("TextDecoder", DP, make_decoder, g)
    m.getter(DP, "encoding")(lambda this: "utf-8")
    m.getter(DP, "fatal")(lambda this: m.get(this, "__fatal__"))
    m.getter(DP, "ignoreBOM")(lambda this: m.get(this, "__ignore_bom__"))

    def setting(this: Any, key: str) -> Any:
        """m.get(this, key) for the decoder's own data properties (made by make_decoder), read directly."""
        if type(this) is JsObject:
            p = dict.get(this, key)
            if type(p) is Prop and p.getter is None and p.setter is None:
                return p.value
        return m.get(this, key)

    @_fn(DP, "decode", 1)
    def _decode(this: Any, args: list[Any]) -> Any:
        data = args[0] if args else UNDEFINED
        if data is UNDEFINED:
            return ""
        realm.charge(byte_size(data), "TextDecoder.decode")  # the copy, then the str
        raw: Any
        if type(data) is typed.TypedArray:  # decoded from the buffer's bytes in place: bytes_of's copy skipped
            buf = data.buffer
            mv = buf.mv() if buf.tracking else buf._mv
            start = data.offset
            raw = mv[start : start + (data.fixed if data.fixed is not None else data.length) * data.size]
        else:
            raw = bytes_of(data)
        codec = setting(this, "__label__")
        fatal = setting(this, "__fatal__") is True
        try:
            text = str(raw, codec, "strict" if fatal else "replace")
        except UnicodeDecodeError:
            raise m.throw("TypeError", "The encoded data was not valid for encoding utf-8") from None
        if codec == "utf-8" and not setting(this, "__ignore_bom__") and text.startswith("\ufeff"):
            text = text[1:]
        return text

    m.define(g, "TextDecoder", m.get(g, "TextDecoder"))


#: ``crypto.getRandomValues`` fills at most this many bytes per call (Web Crypto; Node 20 too).
RANDOM_VALUES_MAX = 65536
#: ``crypto.randomBytes(size)``: the largest ``size`` Node 20 accepts (``2**31 - 1``).
RANDOM_BYTES_MAX = 2**31 - 1


def dom_exception(name: str, code: int, message: str) -> JsThrow:
    """A thrown ``DOMException`` as Node makes it: ``name``, ``code`` and ``message``."""
    err = m.make_error("Error", message)
    m.define(err, "name", name)
    m.define(err, "code", code)
    return JsThrow(err, message, name)


def random_bytes(realm: Any, size: Any) -> Any:
    """``crypto.randomBytes(size)`` with Node 20's argument checks, charged to the host budget."""
    if type(size) not in (int, float):
        if size is UNDEFINED or size is None:
            received = "undefined" if size is UNDEFINED else "null"
        elif type(size) is str:
            received = f"type string ('{size}')"
        else:
            received = f"type {m.typeof(size)} ({m.describe(size)[:40]})"
        err = m.make_error("TypeError", f'The "size" argument must be of type number. Received {received}')
        dict.__setitem__(err, "code", "ERR_INVALID_ARG_TYPE")
        raise JsThrow(err)
    if size != size or not 0 <= size <= RANDOM_BYTES_MAX:
        err = m.make_error(
            "RangeError",
            f'The value of "size" is out of range. It must be >= 0 && <= {RANDOM_BYTES_MAX}. '
            f"Received {m.to_string(size) if size == size else 'NaN'}",
        )
        dict.__setitem__(err, "code", "ERR_OUT_OF_RANGE")
        raise JsThrow(err)
    n = int(size)
    realm.charge(n, f"crypto.randomBytes({n})")
    return typed.new_bytes(os.urandom(n))


def byte_size(data: Any) -> int:
    """The bytes :func:`bytes_of` would copy (0 for what it refuses)."""
    if isinstance(data, typed.TypedArray):
        return data.length * data.size
    if isinstance(data, (typed.ArrayBuffer, typed.MemoryBuffer)):
        return int(data.byte_length())
    if isinstance(data, typed.DataView):
        return int(data.length)
    return 0


def bytes_of(data: Any) -> bytes:
    if isinstance(data, typed.TypedArray):
        return bytes(data.numpy().view("u1")) if data.kind != "Uint8Array" else data.numpy().tobytes()
    if isinstance(data, (typed.ArrayBuffer, typed.MemoryBuffer)):
        return bytes(data.np())
    if isinstance(data, typed.DataView):
        return bytes(data.buffer.np()[data.offset : data.offset + data.length])
    raise m.throw("TypeError", 'The "input" argument must be an ArrayBuffer or ArrayBufferView')


# ---------------------------------------------------------------------------------------- misc


def _misc(realm: Realm, g: JsObject) -> None:
    # console -> logging (and the package's console record)
    console = m.new_object()
    m.define(g, "console", console)
    levels = {
        "log": logging.INFO,
        "info": logging.INFO,
        "warn": logging.WARNING,
        "error": logging.ERROR,
        "debug": logging.DEBUG,
        "trace": logging.DEBUG,
    }
    realm.console_messages = []  # type: ignore[attr-defined]

    for name, level in levels.items():

        def log(this: Any, args: list[Any], name: str = name, level: int = level) -> Any:
            text = " ".join(a if type(a) is str else debug_text(a) for a in args)
            realm.console_messages.append((name, text))  # type: ignore[attr-defined]
            del realm.console_messages[:-1000]  # type: ignore[attr-defined]
            console_log.log(level, "%s", text)
            return UNDEFINED

        m.define(console, name, JSFunction(log, name))

    # Date: the current time, and timestamps
    DP = m.new_object(cls="Date")

    def make_date(args: list[Any], nt: Any) -> Any:
        d = m.new_object(DP, "Date")
        if not args:
            ms: Any = time.time() * 1000.0
        elif type(args[0]) in (int, float):
            ms = args[0]
        else:
            ms = math.nan
        m.define(d, "__time__", float(int(ms)) if ms == ms else ms)
        return d

    def date_call(this: Any, args: list[Any]) -> Any:
        return time.strftime("%a %b %d %Y %H:%M:%S GMT+0000", time.gmtime())

    date = realm.native_class("Date", DP, make_date, g, date_call)
    m.define(date, "now", JSFunction(lambda this, args: int(time.time() * 1000), "now"))
    m.define(DP, "getTime", JSFunction(lambda this, args: m.num(m.get(this, "__time__")), "getTime"))
    m.define(DP, "valueOf", JSFunction(lambda this, args: m.num(m.get(this, "__time__")), "valueOf"))

    def iso(this: Any, args: list[Any]) -> Any:
        ms = m.get(this, "__time__")
        if ms != ms:
            raise m.throw("RangeError", "Invalid time value")
        secs, rest = divmod(int(ms), 1000)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{rest:03d}Z"

    m.define(DP, "toISOString", JSFunction(iso, "toISOString"))
    m.define(DP, "toJSON", JSFunction(iso, "toJSON"))
    m.define(DP, "getTimezoneOffset", JSFunction(lambda this, args: 0, "getTimezoneOffset"))

    # crypto.getRandomValues, performance.now
    crypto = m.new_object()
    m.define(g, "crypto", crypto)

    def get_random_values(this: Any, args: list[Any]) -> Any:
        """Node 20's checks and errors (DOMException names and codes)."""
        if not args:
            err = m.make_error(
                "TypeError", "Failed to execute 'getRandomValues' on 'Crypto': 1 argument required, but only 0 present."
            )
            dict.__setitem__(err, "code", "ERR_MISSING_ARGS")
            raise JsThrow(err)
        target = args[0]
        if not isinstance(target, typed.TypedArray) or target.is_float:
            raise dom_exception("TypeMismatchError", 17, "The data argument must be an integer-type TypedArray")
        n = target.length * target.size
        if n > RANDOM_VALUES_MAX:
            raise dom_exception("QuotaExceededError", 22, "The requested length exceeds 65,536 bytes")
        target.numpy().view("u1")[:] = memoryview(os.urandom(n))
        return target

    m.define(crypto, "getRandomValues", JSFunction(get_random_values, "getRandomValues", 1))
    m.define(crypto, "randomUUID", JSFunction(lambda this, args: __import__("uuid").uuid4().__str__(), "randomUUID"))
    perf = m.new_object()
    m.define(g, "performance", perf)
    start = time.perf_counter()
    m.define(perf, "now", JSFunction(lambda this, args: (time.perf_counter() - start) * 1000.0, "now"))
    m.define(perf, "timeOrigin", time.time() * 1000.0)

    # process (minimal, as a Node host shows it)
    process = m.new_object()
    versions = m.new_object()
    dict.__setitem__(versions, "node", "20.0.0")
    dict.__setitem__(process, "versions", versions)
    dict.__setitem__(process, "version", "v20.0.0")
    dict.__setitem__(process, "env", m.new_object())
    dict.__setitem__(process, "platform", "linux")
    dict.__setitem__(process, "argv", [])
    dict.__setitem__(process, "emitWarning", JSFunction(lambda this, args: UNDEFINED, "emitWarning"))
    dict.__setitem__(process, "cwd", JSFunction(lambda this, args: os.getcwd(), "cwd"))
    m.define(g, "process", process)

    # URL (enough for `new URL(x, import.meta.url)` and `instanceof URL` checks)
    UP = m.new_object(cls="URL")

    def make_url(args: list[Any], nt: Any) -> Any:
        from urllib.parse import urljoin

        href = m.to_string(arg(args, 0))
        if len(args) > 1 and args[1] is not UNDEFINED:
            href = urljoin(m.to_string(args[1]), href)
        u = m.new_object(UP, "URL")
        m.define(u, "href", href, enumerable=True)
        return u

    realm.native_class("URL", UP, make_url, g)
    m.define(UP, "toString", JSFunction(lambda this, args: m.get(this, "href"), "toString"))

    def uri_component(encode: bool) -> Callable[[Any, list[Any]], Any]:
        from urllib.parse import quote, unquote

        def run(this: Any, args: list[Any]) -> Any:
            s = m.to_string(arg(args, 0))
            return quote(s, safe="-_.!~*'()") if encode else unquote(s)

        return run

    m.define(g, "encodeURIComponent", JSFunction(uri_component(True), "encodeURIComponent", 1))
    m.define(g, "decodeURIComponent", JSFunction(uri_component(False), "decodeURIComponent", 1))


def debug_text(v: Any) -> str:
    """How console.log shows a non-string value (close to Node's inspect, simplified)."""
    try:
        if isinstance(v, JsObject) and m.is_error(v):
            return m.to_string(m.get(v, "stack"))
        if isinstance(v, (JsObject, list)) and not m.is_callable(v):
            r = json_stringify(v)
            return r if isinstance(r, str) else "[object]"
        return m.to_string(v)
    except Exception:  # noqa: BLE001
        return m.describe(v)


# ---------------------------------------------------------------------------------------- RegExp


class RegExpObject(JsObject):
    __slots__ = ("source", "flags", "compiled")
    source: str
    flags: str
    compiled: Any


def translate_regex(pattern: str) -> str:
    """A JS regex pattern as a Python ``re`` pattern (the common subset)."""
    out = pattern.replace("(?<", "(?P<").replace("(?P<=", "(?<=").replace("(?P<!", "(?<!")
    out = re.sub(r"\\u\{([0-9a-fA-F]+)\}", lambda mt: f"\\U{int(mt.group(1), 16):08x}", out)
    out = out.replace("\\d", "[0-9]").replace("\\/", "/").replace("$", "(?!\\n)\\Z" if False else "$")
    return out


def _regexp(realm: Realm, g: JsObject) -> None:
    P = m.new_object(cls="RegExp")

    def make_regexp(pattern: str, flags: str) -> RegExpObject:
        rx = RegExpObject()
        rx.proto = P
        rx.cls = "RegExp"
        rx.source = pattern
        rx.flags = flags
        py_flags = (
            (re.IGNORECASE if "i" in flags else 0)
            | (re.MULTILINE if "m" in flags else 0)
            | (re.DOTALL if "s" in flags else 0)
        )
        try:
            rx.compiled = re.compile(translate_regex(pattern), py_flags)
        except re.error as exc:
            raise m.throw("SyntaxError", f"Invalid regular expression: /{pattern}/: {exc}") from None
        dict.__setitem__(rx, "lastIndex", 0)
        return rx

    realm.regexp_factory = make_regexp

    def construct(args: list[Any], nt: Any) -> Any:
        source = arg(args, 0)
        if isinstance(source, RegExpObject):
            return make_regexp(source.source, source.flags if arg(args, 1) is UNDEFINED else m.to_string(args[1]))
        return make_regexp(
            "(?:)" if source is UNDEFINED else m.to_string(source),
            "" if arg(args, 1) is UNDEFINED else m.to_string(args[1]),
        )

    realm.native_class("RegExp", P, construct, g, lambda this, args: construct(args, None))
    m.getter(P, "source")(lambda this: this.source)
    m.getter(P, "flags")(lambda this: this.flags)
    m.getter(P, "global")(lambda this: "g" in this.flags)

    def exec_(rx: RegExpObject, s: str) -> Any:
        sticky = "g" in rx.flags or "y" in rx.flags
        start = m.to_integer(m.get(rx, "lastIndex")) if sticky else 0
        mt = rx.compiled.search(s, start) if start <= len(s) else None
        if mt is None or ("y" in rx.flags and mt.start() != start):
            if sticky:
                m.put(rx, "lastIndex", 0)
            return None
        if sticky:
            m.put(rx, "lastIndex", mt.end() if mt.end() > mt.start() else mt.end() + 1)
        result = [mt.group(0), *[x if x is not None else UNDEFINED for x in mt.groups()]]
        return result

    RegExpObject.exec = lambda self, s: exec_(self, s)  # type: ignore[attr-defined]
    m.define(P, "exec", JSFunction(lambda this, args: exec_(this, m.to_string(arg(args, 0))), "exec", 1))
    m.define(P, "test", JSFunction(lambda this, args: exec_(this, m.to_string(arg(args, 0))) is not None, "test", 1))
    m.define(P, "toString", JSFunction(lambda this, args: f"/{this.source}/{this.flags}", "toString"))
