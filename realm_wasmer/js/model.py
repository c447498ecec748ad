"""The JS value model the glue evaluator works on, and the operations of the language over it.

Values (see ``docs/js-values.md`` for how they cross to and from Python):

* ``UNDEFINED`` / ``None`` (null), ``bool``, ``str`` (code points; a surrogate pair is always one
  character, lone surrogates are kept), numbers as ``int`` (integral and within +-2**53) or
  ``float`` (anything else, ``-0.0`` included), :class:`BigInt` (an ``int`` subclass), :class:`Symbol`;
* ``list`` is an Array; :class:`JsObject` (a ``dict`` subclass holding the own properties, with a
  prototype) is every ordinary object; :class:`JSFunction` is every function and class;
* typed arrays, ``ArrayBuffer`` and ``DataView`` live in :mod:`realm_wasmer.js.typed`; values made
  by the library's intrinsics (``JsErrorValue``, ``GuestMemory``, plain ``dict`` from ``JSON``) are
  understood too.

The operations (``get``, ``put``, ``call``, ``construct``, ``add``, ``strict_equals``, ``typeof``,
``to_string``...) implement the ECMAScript rules the glue relies on; a JS error is raised as
:class:`JsThrow` carrying the thrown JS value.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable, Iterator, Optional

import attrs

from ..errors import JsThrow
from ..limits import HostBudget
from .values import UNDEFINED as UNDEFINED
from .values import JsErrorValue, js_number_string

MAX_SAFE = 2**53 - 1
_MISSING: Any = object()
NativeFn = Callable[[Any, list[Any]], Any]


class BigInt(int):
    """A JS ``bigint`` (``realm_wasmer.js.BigInt(n)`` passes an int to JS as a BigInt)."""

    def __repr__(self) -> str:
        return f"BigInt({int(self)})"


class Symbol:
    """A JS symbol."""

    __slots__ = ("description", "__weakref__")

    def __init__(self, description: Any = UNDEFINED) -> None:
        self.description = description

    def __repr__(self) -> str:
        return f"Symbol({'' if self.description is UNDEFINED else self.description})"


SYM_ITERATOR = Symbol("Symbol.iterator")
SYM_ASYNC_ITERATOR = Symbol("Symbol.asyncIterator")
SYM_DISPOSE = Symbol("Symbol.dispose")
SYM_ASYNC_DISPOSE = Symbol("Symbol.asyncDispose")
SYM_TO_STRING_TAG = Symbol("Symbol.toStringTag")
SYM_HAS_INSTANCE = Symbol("Symbol.hasInstance")
SYM_TO_PRIMITIVE = Symbol("Symbol.toPrimitive")


@attrs.define(eq=False, weakref_slot=False)
class Prop:
    """A property that is not a plain writable/enumerable/configurable data property:
    an accessor (``getter``/``setter``), or data with other attributes."""

    value: Any = UNDEFINED
    getter: Any = None
    setter: Any = None
    enumerable: bool = False
    writable: bool = True
    configurable: bool = True

    @property
    def accessor(self) -> bool:
        return self.getter is not None or self.setter is not None


class JsObject(dict):  # type: ignore[type-arg]
    """A JS object: a ``dict`` of its own properties (insertion order is JS's order for string
    keys) with a prototype. Out of a package, a plain JS object is a ``JsObject``."""

    __slots__ = ("proto", "extensible", "cls", "wrapper", "__weakref__")

    def __init__(self, data: Any = None, /, **kwargs: Any) -> None:
        if data is not None:
            dict.update(self, data)  # a mapping or pairs, as dict(); much cheaper than dict.__init__(*args)
        if kwargs:
            dict.update(self, kwargs)
        self.proto: Any = OBJECT_PROTO
        self.extensible = True
        #: The built-in class tag (``Object.prototype.toString`` says ``[object <cls>]``).
        self.cls = "Object"
        #: The Python object standing for this one outside (a weakref), if any.
        self.wrapper: Any = None

    def __repr__(self) -> str:
        return f"JsObject({dict.__repr__(self)})"

    def __eq__(self, other: object) -> bool:
        if type(self) is not JsObject or (isinstance(other, JsObject) and type(other) is not JsObject):
            return self is other
        return dict.__eq__(self, other)

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> Any:
        """A plain object as it comes out of a package (prototype ``Object.prototype``, data
        properties only) pickles as its properties, so a result crosses processes (a pool's
        workers); any other JS object belongs to its evaluator and refuses, naming what it is."""
        if type(self) is not JsObject or self.proto is not OBJECT_PROTO or self.cls != "Object":
            raise TypeError(f"a JS object of the evaluator ([object {self.cls}], {type(self).__name__}) cannot "
                            "be pickled: only plain objects, as they come out of a package, can")
        if any(type(v) is Prop for v in dict.values(self)):
            raise TypeError("a JS object with accessor or non-default properties cannot be pickled")
        return (JsObject, (), None, None, iter(dict.items(self)))


class WasmExports(JsObject):
    """``instance.exports`` (made in :mod:`.webassembly`); ``ctx`` is the instance's
    HostContext. Defined here so translated glue (:mod:`.direct`) can recognise it
    without importing the WebAssembly namespace."""

    __slots__ = ("ctx", "instance")
    ctx: Any
    instance: Any


def new_object(proto: Any = _MISSING, cls: str = "Object") -> JsObject:
    obj = JsObject()
    if proto is not _MISSING:
        obj.proto = proto
    obj.cls = cls
    return obj


OBJECT_PROTO: Any = None
OBJECT_PROTO = JsObject()
OBJECT_PROTO.proto = None
FUNCTION_PROTO = new_object()
FUNCTION_PROTO.cls = "Function"


class JSFunction(JsObject):
    """A JS function or class. ``impl(this, args)`` runs it; ``make(args, new_target)``
    constructs with it (None: not a constructor)."""

    __slots__ = (
        "impl",
        "make",
        "fname",
        "nparams",
        "home",
        "is_class",
        "is_derived",
        "fields",
        "source",
        "kind",
        "free",
        "params",
        "direct",
    )

    def __init__(
        self,
        impl: NativeFn,
        name: str = "",
        nparams: int = 0,
        make: Optional[Callable[[list[Any], Any], Any]] = None,
        kind: str = "native",
    ) -> None:
        dict.__init__(self)
        self.proto = FUNCTION_PROTO
        self.extensible = True
        self.cls = "Function"
        self.wrapper = None
        self.impl = impl
        self.make = make
        self.fname = name
        self.nparams = nparams
        #: The object ``super`` refers to in a method (its home object).
        self.home: Any = None
        self.is_class = False
        self.is_derived = False
        #: Instance field initialisers of a class: ``fn(this)``.
        self.fields: list[Callable[[Any], None]] = []
        #: The JS text the function was compiled from, for messages (None for natives).
        self.source: Optional[str] = None
        #: "native", "function", "arrow", "method", "class".
        self.kind = kind
        #: Global names the function's own code reads (for load-time reports).
        self.free: frozenset[str] = frozenset()
        #: Parameter names as written (for Python signatures).
        self.params: tuple[str, ...] = ()
        #: ``direct(*args)``: the function with its arguments positional (a translated body,
        #: js/direct.py, a helper's Python implementation, a wasm export's entry); set only for
        #: functions that do not read ``this``, so it stands for ``impl(this, args)`` whatever
        #: ``this`` is. None: use impl.
        self.direct: Optional[Callable[..., Any]] = None

    def __call__(self, *args: Any) -> Any:
        return self.impl(UNDEFINED, list(args))

    def __repr__(self) -> str:
        return f"<JS {'class' if self.is_class else 'function'} {self.fname or '(anonymous)'}>"

    def __bool__(self) -> bool:
        return True


def native(name: str, nparams: int = 0) -> Callable[[NativeFn], JSFunction]:
    """Decorator: a Python ``fn(this, args)`` as a JS function."""

    def wrap(fn: NativeFn) -> JSFunction:
        return JSFunction(fn, name, nparams)

    return wrap


def method(target: JsObject, name: str, nparams: int = 0) -> Callable[[NativeFn], NativeFn]:
    """Decorator: define a non-enumerable native method on ``target``."""

    def wrap(fn: NativeFn) -> NativeFn:
        define(target, name, JSFunction(fn, name if isinstance(name, str) else "", nparams))
        return fn

    return wrap


def getter(target: JsObject, name: Any) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    """Decorator: define a native getter ``fn(this)`` on ``target``."""

    def wrap(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        dict.__setitem__(target, name, Prop(getter=JSFunction(lambda this, args: fn(this), f"get {name}")))
        return fn

    return wrap


def define(target: JsObject, key: Any, value: Any, enumerable: bool = False, writable: bool = True) -> None:
    """Define a data property (non-enumerable by default, as built-ins are)."""
    if enumerable and writable:
        dict.__setitem__(target, key, value)
    else:
        dict.__setitem__(target, key, Prop(value, enumerable=enumerable, writable=writable))


# ---------------------------------------------------------------------------------------- errors


#: Set by the standard library: (name -> constructor) for the Error classes.
ERROR_CLASSES: dict[str, JSFunction] = {}
ERROR_PROTO = new_object(cls="Error")


def make_error(name: str, message: str) -> JsObject:
    """A new JS ``Error`` (or ``TypeError``, ``RangeError``...) object."""
    ctor = ERROR_CLASSES.get(name)
    proto = get(ctor, "prototype") if ctor is not None else ERROR_PROTO
    err = new_object(proto, "Error")
    define(err, "message", message, enumerable=False)
    define(err, "stack", f"{name}: {message}\n    at <realm_wasmer js>", enumerable=False)
    return err


def throw(name: str, message: str) -> JsThrow:
    """A :class:`JsThrow` of a new ``name`` error (``raise throw("TypeError", "...")``)."""
    return JsThrow(make_error(name, message), message, name)


def is_error(value: Any) -> bool:
    if isinstance(value, JsErrorValue):
        return True
    if isinstance(value, JsObject):
        p = value.proto
        while p is not None:
            if p is ERROR_PROTO:
                return True
            p = p.proto if isinstance(p, JsObject) else None
    return False


def error_name_message(value: Any) -> tuple[Optional[str], Optional[str]]:
    """(name, message) of a JS Error; (None, None) for any other value."""
    if isinstance(value, JsErrorValue):
        return value.name, value.message
    if is_error(value):
        name, message = get(value, "name"), get(value, "message")
        return (to_string(name) if name is not UNDEFINED else "Error"), (
            to_string(message) if message is not UNDEFINED else ""
        )
    return None, None


def describe(value: Any) -> str:
    """A short text for a value in messages."""
    try:
        if isinstance(value, str):
            return value
        if isinstance(value, JSFunction):
            return repr(value)
        if isinstance(value, JsObject):
            return "[object " + value.cls + "]"
        return to_string(value)
    except Exception:  # noqa: BLE001
        return repr(value)


# ---------------------------------------------------------------------------------------- strings


def is_astral_free(s: str) -> bool:
    return s.isascii() or max(s) <= "\uffff"


def utf16_len(s: str) -> int:
    if is_astral_free(s):
        return len(s)
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def utf16(s: str) -> bytes:
    return s.encode("utf-16-le", "surrogatepass")


def from_utf16(data: bytes) -> str:
    """UTF-16LE code units to a canonical string (valid surrogate pairs joined)."""
    return data.decode("utf-16-le", "surrogatepass")


def canonical(s: str) -> str:
    """Join surrogate pairs a string holds as two characters (e.g. from Python's
    ``"\\ud83d\\ude00"``) into one, as JS sees them."""
    if s.isascii() or _SURROGATE.search(s) is None:
        return s
    return from_utf16(utf16(s))


_SURROGATE = re.compile("[\ud800-\udfff]")


#: Strings longer than this (code units) are charged to the active realm's host budget when built.
BIG_STRING = 1 << 16


def charge(size: int, what: str) -> None:
    """Charge ``size`` bytes the evaluator is about to allocate (JS text ``what``) to the active
    realm's host budget (``Limits.max_host_bytes``); ResourceExhausted past it."""
    if ACTIVE is not None:
        ACTIVE.budget.charge(size, what)


def concat(a: str, b: str) -> str:
    if len(a) + len(b) > BIG_STRING:
        charge(len(a) + len(b), "string concatenation (+)")
    if a and b and "\ud800" <= a[-1] <= "\udbff" and "\udc00" <= b[0] <= "\udfff":
        return a[:-1] + from_utf16(utf16(a[-1] + b[0])) + b[1:]
    return a + b


def utf8_of(s: str) -> bytes:
    """What TextEncoder gives: UTF-8 with lone surrogates as U+FFFD."""
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        return _replace_lone(s).encode("utf-8")


def _replace_lone(s: str) -> str:
    return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in s)


# ---------------------------------------------------------------------------------------- numbers

_NUMERIC = re.compile(r"^[+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)$")
_WS = (
    " \t\n\r\v\f\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def num(x: float) -> Any:
    """A float result as the model keeps numbers: an ``int`` when integral and safe (not -0)."""
    if x.is_integer() and -MAX_SAFE <= x <= MAX_SAFE and (x != 0 or math.copysign(1.0, x) > 0):
        return int(x)
    return x


def string_to_number(s: str) -> Any:
    t = s.strip(_WS)
    if not t:
        return 0
    low = t[:2].lower()
    if low in ("0x", "0o", "0b") and len(t) > 2:
        try:
            return num(float(int(t[2:], {"0x": 16, "0o": 8, "0b": 2}[low])))
        except ValueError:
            return math.nan
    if not _NUMERIC.match(t):
        return math.nan
    if t.endswith("Infinity"):
        return -math.inf if t[0] == "-" else math.inf
    return num(float(t))


def to_number(v: Any) -> Any:
    t = type(v)
    if t is int or t is float:
        return v
    if t is bool:
        return 1 if v else 0
    if t is str:
        return string_to_number(v)
    if v is UNDEFINED:
        return math.nan
    if v is None:
        return 0
    if t is BigInt:
        raise throw("TypeError", "Cannot convert a BigInt value to a number")
    if t is Symbol:
        raise throw("TypeError", "Cannot convert a Symbol value to a number")
    if isinstance(v, (int, float)):  # numpy scalars, Python ints from elsewhere
        return num(float(v)) if isinstance(v, float) else int(v)
    return to_number(to_primitive(v, "number"))


def to_numeric(v: Any) -> Any:
    """A number or a BigInt (the operand of arithmetic)."""
    t = type(v)
    if t is int or t is float or t is BigInt:
        return v
    p = to_primitive(v, "number")
    if type(p) is BigInt:
        return p
    return to_number(p)


def to_integer(v: Any) -> int:
    n = to_number(v)
    if type(n) is int:
        return n
    if n != n:
        return 0
    if n in (math.inf, -math.inf):
        return int(1e300) if n > 0 else -int(1e300)
    return int(n)


def to_int32(v: Any) -> int:
    if type(v) is int:
        if -2147483648 <= v <= 2147483647:
            return v
    else:
        v = to_number(v)
        if type(v) is float:
            if v != v or v in (math.inf, -math.inf):
                return 0
            v = int(v)
    v = int(v) & 0xFFFFFFFF
    return v - 0x100000000 if v >= 0x80000000 else v  # type: ignore[no-any-return]


def to_uint32(v: Any) -> int:
    if type(v) is int and 0 <= v <= 0xFFFFFFFF:
        return v
    return to_int32(v) & 0xFFFFFFFF


def number_to_string(x: Any, radix: int = 10) -> str:
    if type(x) is int:
        if radix == 10:
            return str(x)
        return _int_radix(x, radix)
    if x != x:
        return "NaN"
    if x == math.inf:
        return "Infinity"
    if x == -math.inf:
        return "-Infinity"
    if x == 0:
        return "0"
    if radix != 10:
        if x.is_integer():
            return _int_radix(int(x), radix)
        return _float_radix(x, radix)
    if x.is_integer() and abs(x) <= 2**53:
        return str(int(x))
    return js_number_string(x)


def _int_radix(n: int, radix: int) -> str:
    if n == 0:
        return "0"
    chars = "0123456789abcdefghijklmnopqrstuvwxyz"
    sign, n = ("-", -n) if n < 0 else ("", n)
    out = []
    while n:
        n, r = divmod(n, radix)
        out.append(chars[r])
    return sign + "".join(reversed(out))


def _float_radix(x: float, radix: int) -> str:
    sign, x = ("-", -x) if x < 0 else ("", x)
    whole = int(x)
    frac = x - whole
    chars = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = []
    for _ in range(52):
        if not frac:
            break
        frac *= radix
        digit = int(frac)
        out.append(chars[digit])
        frac -= digit
    return sign + _int_radix(whole, radix) + ("." + "".join(out) if out else "")


# ---------------------------------------------------------------------------------------- conversions


def to_boolean(v: Any) -> bool:
    t = type(v)
    if t is bool:
        return v  # type: ignore[no-any-return]
    if v is None or v is UNDEFINED:
        return False
    if t is int:
        return v != 0  # type: ignore[no-any-return]
    if t is str:
        return len(v) > 0
    if t is float:
        return not (v == 0 or v != v)
    if t is BigInt:
        return v != 0  # type: ignore[no-any-return]
    return True


def to_primitive(v: Any, hint: str = "default") -> Any:
    t = type(v)
    if t in _PRIMITIVE_TYPES or v is None or v is UNDEFINED:
        return v
    if isinstance(v, (JsObject, list, JsErrorValue)) or hasattr(v, "__js_proto__"):
        exotic = get(v, SYM_TO_PRIMITIVE)
        if exotic is not UNDEFINED and exotic is not None:
            result = call(exotic, v, [hint])
            if not is_object(result):
                return result
            raise throw("TypeError", "Cannot convert object to primitive value")
        order = ("toString", "valueOf") if hint == "string" else ("valueOf", "toString")
        for name in order:
            fn = get(v, name)
            if is_callable(fn):
                result = call(fn, v, [])
                if not is_object(result):
                    return result
        raise throw("TypeError", "Cannot convert object to primitive value")
    if isinstance(v, (int, float, str)):
        return v
    return f"[object {type(v).__name__}]"


def to_string(v: Any) -> str:
    t = type(v)
    if t is str:
        return v  # type: ignore[no-any-return]
    if t is int or t is float:
        return number_to_string(v)
    if t is bool:
        return "true" if v else "false"
    if v is UNDEFINED:
        return "undefined"
    if v is None:
        return "null"
    if t is BigInt:
        return str(int(v))
    if t is Symbol:
        raise throw("TypeError", "Cannot convert a Symbol value to a string")
    return to_string(to_primitive(v, "string"))


def to_property_key(k: Any) -> Any:
    t = type(k)
    if t is str or t is Symbol:
        return k
    if t is int:
        return str(k)
    return to_string(to_primitive(k, "string")) if t is not float else number_to_string(k)


def to_object_check(v: Any, what: str) -> None:
    if v is None or v is UNDEFINED:
        raise throw("TypeError", f"Cannot convert undefined or null to object ({what})")


def array_index(k: Any) -> int:
    """The array index a key stands for, or -1."""
    t = type(k)
    if t is int:
        return k if k >= 0 else -1  # type: ignore[no-any-return]
    if t is float:
        return int(k) if k.is_integer() and k >= 0 else -1
    if t is str and k.isdigit() and (k == "0" or k[0] != "0"):
        return int(k)
    return -1


_PRIMITIVE_TYPES = frozenset({str, int, float, bool, BigInt, Symbol})


def is_object(v: Any) -> bool:
    """``typeof v === 'object' || typeof v === 'function'`` and not null."""
    return v is not None and v is not UNDEFINED and type(v) not in _PRIMITIVE_TYPES


def is_callable(v: Any) -> bool:
    return type(v) is JSFunction or isinstance(v, JSFunction)


def typeof(v: Any) -> str:
    t = type(v)
    if t is str:
        return "string"
    if t is int or t is float:
        return "number"
    if t is bool:
        return "boolean"
    if v is UNDEFINED:
        return "undefined"
    if v is None:
        return "object"
    if t is JSFunction or isinstance(v, JSFunction):
        return "function"
    if t is BigInt:
        return "bigint"
    if t is Symbol:
        return "symbol"
    return "object"


# ---------------------------------------------------------------------------------------- properties

#: type -> fn(obj, key) for exotic objects and primitives (filled by the standard library).
EXOTIC_GET: dict[type, Callable[[Any, Any], Any]] = {}
EXOTIC_SET: dict[type, Callable[[Any, Any, Any], None]] = {}
#: type -> its prototype object, for values that are not JsObjects.
PROTO_OF: dict[type, Any] = {}


#: type -> fn(value) -> its prototype, for values whose prototype depends on the value (typed arrays).
PROTO_FN: dict[type, Callable[[Any], Any]] = {}


def proto_of(v: Any) -> Any:
    if isinstance(v, JsObject):
        return v.proto
    fn = PROTO_FN.get(type(v))
    if fn is not None:
        return fn(v)
    p = PROTO_OF.get(type(v))
    if p is not None:
        return p
    for base, proto in PROTO_OF.items():
        if isinstance(v, base):
            return proto
    if isinstance(v, dict):
        return OBJECT_PROTO
    return None


def lookup(obj: Any, key: Any, receiver: Any) -> Any:
    """[[Get]] on a prototype chain starting at ``obj`` (a JsObject or None)."""
    o = obj
    while o is not None:
        v = o.get(key, _MISSING)
        if v is not _MISSING:
            if type(v) is Prop:
                if v.getter is not None:
                    return call(v.getter, receiver, [])
                if v.setter is not None:
                    return UNDEFINED
                return v.value
            return v
        o = o.proto if type(o) is not dict else OBJECT_PROTO
    return UNDEFINED


def field_getter(proto: Any, fields: dict[str, Callable[[Any], Any]]) -> Callable[[Any, Any], Any]:
    """An :data:`EXOTIC_GET` entry: the keys in ``fields`` are read from the Python value
    itself, any other key is looked up on ``proto``."""

    def get_field(obj: Any, key: Any) -> Any:
        if type(key) is str:
            read = fields.get(key)
            return read(obj) if read is not None else lookup(proto, key, obj)
        read = fields.get(key) if isinstance(key, str) else None
        if read is not None:
            return read(obj)
        return lookup(proto, to_property_key(key), obj)

    return get_field


def get(obj: Any, key: Any) -> Any:
    """``obj[key]``."""
    t = type(obj)
    if t is JsObject:
        if type(key) is not str:
            key = to_property_key(key)
        v = obj.get(key, _MISSING)
        if v is not _MISSING and type(v) is not Prop:
            return v
        return lookup(obj, key, obj)
    special = EXOTIC_GET.get(t)
    if special is not None:
        return special(obj, key)
    if isinstance(obj, JsObject):
        if type(key) is not str and type(key) is not Symbol:
            key = to_property_key(key)
        return lookup(obj, key, obj)
    if obj is UNDEFINED or obj is None:
        raise throw("TypeError", f"Cannot read properties of {to_string(obj)} (reading '{describe_key(key)}')")
    if isinstance(obj, dict):
        if type(key) is not str and type(key) is not Symbol:
            key = to_property_key(key)
        v = obj.get(key, _MISSING)
        if v is not _MISSING:
            return v if type(v) is not Prop else lookup(obj, key, obj)
        return lookup(OBJECT_PROTO, key, obj)
    for base, fn in EXOTIC_GET.items():
        if isinstance(obj, base):
            return fn(obj, key)
    proto = proto_of(obj)
    if proto is not None:
        return lookup(proto, to_property_key(key), obj)
    return UNDEFINED


def describe_key(key: Any) -> str:
    return key if isinstance(key, str) else repr(key)


def put(obj: Any, key: Any, value: Any) -> None:
    """``obj[key] = value``."""
    t = type(obj)
    if t is JsObject or isinstance(obj, JsObject):
        if type(key) is not str and type(key) is not Symbol:
            key = to_property_key(key)
        current = dict.get(obj, key, _MISSING)
        if current is _MISSING:
            p = obj.proto
            while p is not None:
                inherited = p.get(key, _MISSING)
                if inherited is not _MISSING:
                    if type(inherited) is Prop:
                        if inherited.setter is not None:
                            call(inherited.setter, obj, [value])
                            return
                        if inherited.getter is not None or not inherited.writable:
                            return
                    break
                p = p.proto
            if obj.extensible:
                obj[key] = value  # no JsObject subclass overrides __setitem__: dict's own store
            return
        if type(current) is Prop:
            if current.setter is not None:
                call(current.setter, obj, [value])
            elif current.getter is None and current.writable:
                current.value = value
            return
        obj[key] = value
        return
    special = EXOTIC_SET.get(t)
    if special is not None:
        special(obj, key, value)
        return
    if obj is UNDEFINED or obj is None:
        raise throw("TypeError", f"Cannot set properties of {to_string(obj)} (setting '{describe_key(key)}')")
    if isinstance(obj, dict):
        obj[to_property_key(key)] = value
        return
    for base, fn in EXOTIC_SET.items():
        if isinstance(obj, base):
            fn(obj, key, value)
            return
    # primitives: silently ignored (sloppy mode), as are Python objects we do not model


def has_property(obj: Any, key: Any) -> bool:
    """``key in obj``."""
    if not is_object(obj):
        raise throw("TypeError", f"Cannot use 'in' operator to search for '{describe_key(key)}' in {describe(obj)}")
    key = to_property_key(key)
    if isinstance(obj, list):
        i = array_index(key)
        if i >= 0:
            return i < len(obj)
        if key == "length":
            return True
    special = HAS_OWN.get(type(obj))
    if special is not None and special(obj, key):
        return True
    o: Any = obj if isinstance(obj, dict) else proto_of(obj)
    while o is not None:
        if key in o:
            return True
        o = o.proto if isinstance(o, JsObject) else (OBJECT_PROTO if o is not OBJECT_PROTO else None)
    return False


#: type -> fn(obj, key) -> bool: own properties of exotic objects (filled by the standard library).
HAS_OWN: dict[type, Callable[[Any, Any], bool]] = {}


def delete(obj: Any, key: Any) -> bool:
    if isinstance(obj, dict):
        key = to_property_key(key)
        current = dict.get(obj, key, _MISSING)
        if type(current) is Prop and not current.configurable:
            return False
        dict.pop(obj, key, None)
        return True
    if isinstance(obj, list):
        i = array_index(key)
        if 0 <= i < len(obj):
            obj[i] = UNDEFINED
        return True
    return True


def own_keys(obj: Any) -> list[Any]:
    """Own string keys in JS order (integer-like keys first, ascending)."""
    if isinstance(obj, list):
        return [str(i) for i in range(len(obj))]
    if isinstance(obj, str):
        return [str(i) for i in range(utf16_len(obj))]
    special = OWN_KEYS.get(type(obj))
    if special is not None:
        return special(obj)
    if not isinstance(obj, dict):
        return []
    keys = [k for k in obj if type(k) is str]
    ints = [k for k in keys if array_index(k) >= 0 and len(k) < 16]
    if ints:
        rest = [k for k in keys if not (array_index(k) >= 0 and len(k) < 16)]
        keys = sorted(ints, key=int) + rest
    return keys


OWN_KEYS: dict[type, Callable[[Any], list[Any]]] = {}


def own_enumerable_keys(obj: Any) -> list[Any]:
    if isinstance(obj, dict):
        return [k for k in own_keys(obj) if not (type(dict.get(obj, k)) is Prop and not obj[k].enumerable)]
    return own_keys(obj)


# ---------------------------------------------------------------------------------------- calls


def call(fn: Any, this: Any, args: list[Any]) -> Any:
    if type(fn) is JSFunction:
        return fn.impl(this, args)
    if isinstance(fn, JSFunction):
        return fn.impl(this, args)
    raise throw("TypeError", f"{describe(fn)} is not a function")


def construct(fn: Any, args: list[Any], new_target: Any = None) -> Any:
    if not isinstance(fn, JSFunction) or fn.make is None:
        raise throw("TypeError", f"{describe(fn)} is not a constructor")
    return fn.make(args, fn if new_target is None else new_target)


def instance_of(value: Any, cls: Any) -> bool:
    """``value instanceof cls`` (InstanceofOperator): ``cls[Symbol.hasInstance]`` found by a full
    [[Get]] (inherited, or behind a getter) decides if present; else ``cls`` must be callable and
    its ``prototype`` an object on ``value``'s chain."""
    if not is_object(cls):
        raise throw("TypeError", "Right-hand side of 'instanceof' is not an object")
    # the usual right-hand side, a function with Function.prototype as its prototype and no
    # @@hasInstance on the chain, skips the [[Get]]
    if (type(cls) is not JSFunction or cls.proto is not FUNCTION_PROTO or SYM_HAS_INSTANCE in cls
            or SYM_HAS_INSTANCE in FUNCTION_PROTO or SYM_HAS_INSTANCE in OBJECT_PROTO):  # fmt: skip
        handler = get(cls, SYM_HAS_INSTANCE)
        if handler is not UNDEFINED and handler is not None:
            if not is_callable(handler):  # V8's GetMethod message: the type, and a number/string/boolean's value
                t = typeof(handler)
                shown = f' "{handler}"' if t == "string" else ""
                if t in ("number", "boolean"):
                    shown = f" {to_string(handler)}"
                raise throw("TypeError", f"{t}{shown} is not a function")
            return to_boolean(call(handler, cls, [value]))
    if not is_callable(cls):
        raise throw("TypeError", "Right-hand side of 'instanceof' is not callable")
    if not is_object(value):
        return False
    target = get(cls, "prototype")
    if not is_object(target):
        raise throw("TypeError", f"Function has non-object prototype '{to_string(target)}' in instanceof check")
    p = proto_of(value)
    while p is not None:
        if p is target:
            return True
        p = p.proto if isinstance(p, JsObject) else None
    return False


def iterate(value: Any) -> Iterator[Any]:
    """``for (x of value)``: fast paths for arrays, strings, typed arrays; the iterator
    protocol otherwise."""
    if type(value) is list:
        i = 0
        while i < len(value):
            yield value[i]
            i += 1
        return
    if type(value) is str:
        yield from value
        return
    fast = FAST_ITER.get(type(value))
    if fast is not None:
        yield from fast(value)
        return
    method_ = get(value, SYM_ITERATOR) if value is not None and value is not UNDEFINED else UNDEFINED
    if not is_callable(method_):
        raise throw("TypeError", f"{describe(value)} is not iterable")
    iterator = call(method_, value, [])
    next_ = get(iterator, "next")
    while True:
        step = call(next_, iterator, [])
        if not is_object(step):
            raise throw("TypeError", f"Iterator result {describe(step)} is not an object")
        if to_boolean(get(step, "done")):
            return
        yield get(step, "value")


FAST_ITER: dict[type, Callable[[Any], Iterator[Any]]] = {}


# ---------------------------------------------------------------------------------------- operators


def add(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        r = a + b
        return r if -MAX_SAFE <= r <= MAX_SAFE else float(r)
    if ta is str and tb is str:
        return concat(a, b)
    if (ta is float or ta is int) and (tb is float or tb is int):
        return a + b
    a = to_primitive(a)
    b = to_primitive(b)
    if type(a) is str or type(b) is str:
        return concat(to_string(a), to_string(b))
    a, b = to_numeric(a), to_numeric(b)
    if type(a) is BigInt or type(b) is BigInt:
        _same_bigint(a, b)
        return BigInt(int(a) + int(b))
    return add(a, b)


def _same_bigint(a: Any, b: Any) -> None:
    if (type(a) is BigInt) != (type(b) is BigInt):
        raise throw("TypeError", "Cannot mix BigInt and other types, use explicit conversions")


def _numeric_pair(a: Any, b: Any) -> tuple[Any, Any, bool]:
    a, b = to_numeric(a), to_numeric(b)
    big = type(a) is BigInt or type(b) is BigInt
    if big:
        _same_bigint(a, b)
    return a, b, big


def sub(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        r = a - b
        return r if -MAX_SAFE <= r <= MAX_SAFE else float(r)
    a, b, big = _numeric_pair(a, b)
    if big:
        return BigInt(int(a) - int(b))
    if type(a) is int and type(b) is int:
        return sub(a, b)
    return a - b


def mul(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        r = a * b
        if r == 0 and (a < 0 or b < 0):
            return -0.0
        return r if -MAX_SAFE <= r <= MAX_SAFE else float(r)
    a, b, big = _numeric_pair(a, b)
    if big:
        return BigInt(int(a) * int(b))
    if type(a) is int and type(b) is int:
        return mul(a, b)
    try:
        return float(a) * float(b)
    except OverflowError:
        return math.inf if (a > 0) == (b > 0) else -math.inf


def div(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int and b > 0 and a % b == 0:
        return a // b  # exact (an address over its alignment): an integer, +0 for 0
    a, b, big = _numeric_pair(a, b)
    if big:
        if b == 0:
            raise throw("RangeError", "Division by zero")
        q = abs(int(a)) // abs(int(b))
        return BigInt(q if (a >= 0) == (b >= 0) else -q)
    if b == 0:
        if a == 0 or a != a:
            return math.nan
        neg = (a < 0) != (math.copysign(1.0, b) < 0)
        return -math.inf if neg else math.inf
    if type(a) is int and type(b) is int and a % b == 0:
        q = a // b
        if q == 0 and (a < 0) != (b < 0):
            return -0.0
        return q
    r = float(a) / float(b)
    return num(r)


def mod(a: Any, b: Any) -> Any:
    a, b, big = _numeric_pair(a, b)
    if big:
        if b == 0:
            raise throw("RangeError", "Division by zero")
        r = abs(int(a)) % abs(int(b))
        return BigInt(-r if a < 0 else r)
    if type(a) is int and type(b) is int and b != 0:
        r = abs(a) % abs(b)
        if a < 0:
            return -r if r else -0.0
        return r
    if b == 0 or a != a or b != b or a in (math.inf, -math.inf):
        return math.nan
    if b in (math.inf, -math.inf):
        return a
    return num(math.fmod(float(a), float(b))) if math.fmod(float(a), float(b)) != 0 else math.fmod(float(a), float(b))


def power(a: Any, b: Any) -> Any:
    a, b, big = _numeric_pair(a, b)
    if big:
        if b < 0:
            raise throw("RangeError", "Exponent must be non-negative")
        return BigInt(int(a) ** int(b))
    if b != b:
        return math.nan
    if type(a) is int and type(b) is int and b >= 0:
        r = a**b
        return r if -MAX_SAFE <= r <= MAX_SAFE else float(r)
    try:
        return num(float(a) ** float(b)) if not (a < 0 and not float(b).is_integer()) else math.nan
    except OverflowError:
        return math.inf
    except ZeroDivisionError:
        return math.inf


def negate(a: Any) -> Any:
    a = to_numeric(a)
    if type(a) is BigInt:
        return BigInt(-int(a))
    if type(a) is int:
        return -a if a != 0 else -0.0
    return -a


def _int_op(a: Any, b: Any, op: Callable[[int, int], int], name: str) -> Any:
    a, b = to_numeric(a), to_numeric(b)
    if type(a) is BigInt or type(b) is BigInt:
        _same_bigint(a, b)
        return BigInt(op(int(a), int(b)))
    return to_int32(op(to_int32(a), to_int32(b)))


def bit_and(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int and a >= 0 and b >= 0 and a <= 0x7FFFFFFF:
        return a & b
    return _int_op(a, b, lambda x, y: x & y, "&")


def bit_or(a: Any, b: Any) -> Any:
    return _int_op(a, b, lambda x, y: x | y, "|")


def bit_xor(a: Any, b: Any) -> Any:
    return _int_op(a, b, lambda x, y: x ^ y, "^")


def shl(a: Any, b: Any) -> Any:
    a, b = to_numeric(a), to_numeric(b)
    if type(a) is BigInt:
        _same_bigint(a, b)
        return BigInt(int(a) << int(b)) if b >= 0 else BigInt(int(a) >> -int(b))
    return to_int32(to_int32(a) << (to_uint32(b) & 31))


def sar(a: Any, b: Any) -> Any:
    a, b = to_numeric(a), to_numeric(b)
    if type(a) is BigInt:
        _same_bigint(a, b)
        return BigInt(int(a) >> int(b)) if b >= 0 else BigInt(int(a) << -int(b))
    return to_int32(a) >> (to_uint32(b) & 31)


def shr(a: Any, b: Any) -> Any:
    if type(b) is int and b == 0:
        if type(a) is int and 0 <= a <= 0xFFFFFFFF:
            return a
        return to_uint32(a)
    a, b = to_numeric(a), to_numeric(b)
    if type(a) is BigInt:
        raise throw("TypeError", "BigInts have no unsigned right shift, use >> instead")
    return to_uint32(a) >> (to_uint32(b) & 31)


def bit_not(a: Any) -> Any:
    a = to_numeric(a)
    if type(a) is BigInt:
        return BigInt(~int(a))
    return ~to_int32(a)


def strict_equals(a: Any, b: Any) -> bool:
    if a is b:
        return not (type(a) is float and a != a)
    ta, tb = type(a), type(b)
    if ta is int or ta is float:
        return (tb is int or tb is float) and a == b  # type: ignore[no-any-return]
    if ta is str:
        return tb is str and a == b  # type: ignore[no-any-return]
    if ta is BigInt:
        return tb is BigInt and a == b  # type: ignore[no-any-return]
    return False


def loose_equals(a: Any, b: Any) -> bool:
    ta, tb = type(a), type(b)
    if ta is tb or ((ta is int or ta is float) and (tb is int or tb is float)):
        return strict_equals(a, b)
    nullish_a = a is None or a is UNDEFINED
    nullish_b = b is None or b is UNDEFINED
    if nullish_a or nullish_b:
        return nullish_a and nullish_b
    if ta is bool:
        return loose_equals(1 if a else 0, b)
    if tb is bool:
        return loose_equals(a, 1 if b else 0)
    num_a = ta is int or ta is float
    num_b = tb is int or tb is float
    if num_a and tb is str:
        return strict_equals(a, string_to_number(b))
    if ta is str and num_b:
        return strict_equals(string_to_number(a), b)
    if ta is BigInt and (num_b or tb is str):
        n = to_number(b) if num_b else string_to_number(b)
        return bool(n == int(a))
    if tb is BigInt and (num_a or ta is str):
        return loose_equals(b, a)
    obj_a, obj_b = is_object(a), is_object(b)
    if obj_a and obj_b:
        return a is b
    if obj_a:
        return loose_equals(to_primitive(a), b)
    if obj_b:
        return loose_equals(a, to_primitive(b))
    return False


def less_than(a: Any, b: Any) -> Any:
    """``a < b``: True, False or UNDEFINED (NaN involved)."""
    ta, tb = type(a), type(b)
    if (ta is int or ta is float) and (tb is int or tb is float):
        if a != a or b != b:
            return UNDEFINED
        return a < b
    a = to_primitive(a, "number")
    b = to_primitive(b, "number")
    if type(a) is str and type(b) is str:
        if is_astral_free(a) and is_astral_free(b):
            return a < b
        return _units(a) < _units(b)
    if type(a) is BigInt or type(b) is BigInt:
        x = a if type(a) is BigInt else to_number(a)
        y = b if type(b) is BigInt else to_number(b)
        if x != x or y != y:
            return UNDEFINED
        return x < y
    a, b = to_number(a), to_number(b)
    if a != a or b != b:
        return UNDEFINED
    return a < b


def _units(s: str) -> list[int]:
    data = utf16(s)
    return [data[i] | (data[i + 1] << 8) for i in range(0, len(data), 2)]


def lt(a: Any, b: Any) -> bool:
    if type(a) is int and type(b) is int:
        return a < b  # type: ignore[no-any-return]
    r = less_than(a, b)
    return r is True


def gt(a: Any, b: Any) -> bool:
    if type(a) is int and type(b) is int:
        return a > b  # type: ignore[no-any-return]
    r = less_than(b, a)
    return r is True


def le(a: Any, b: Any) -> bool:
    if type(a) is int and type(b) is int:
        return a <= b  # type: ignore[no-any-return]
    r = less_than(b, a)
    return r is False


def ge(a: Any, b: Any) -> bool:
    if type(a) is int and type(b) is int:
        return a >= b  # type: ignore[no-any-return]
    r = less_than(a, b)
    return r is False


def same_value_zero(a: Any, b: Any) -> bool:
    if (type(a) is float and a != a) and (type(b) is float and b != b):
        return True
    return strict_equals(a, b)


def _describe_thrown(value: Any) -> tuple[Optional[str], Optional[str], str]:
    name, message = error_name_message(value)
    return name, message, message if message is not None else describe(value)


JsThrow.describer = staticmethod(_describe_thrown)


# ---------------------------------------------------------------------------------------- realms


class Intrinsics:
    """One realm's tables for values that are not JsObjects (primitives, lists, typed arrays,
    functions): their prototypes and exotic property access, and the realm's Error classes.

    A :class:`~realm_wasmer.js.runtime.Realm` owns one; the module-level names above
    (:data:`PROTO_OF`, :data:`EXOTIC_GET`, ...) are the tables of the *active* realm, switched by
    :func:`activate` where control enters a realm (the bridge, a wasm import, a load), the way a
    JS engine's running execution context names its current realm. So a ``Uint8Array`` made
    in one package is an instance of that package's ``Uint8Array`` while another package,
    loaded later, has its own (values that are JsObjects carry their prototype themselves)."""

    __slots__ = (
        "exotic_get", "exotic_set", "proto_of", "proto_fn", "has_own", "own_keys", "fast_iter", "error_classes",
        "budget",
    )

    def __init__(self) -> None:
        self.exotic_get: dict[type, Callable[[Any, Any], Any]] = {}
        self.exotic_set: dict[type, Callable[[Any, Any, Any], None]] = {}
        self.proto_of: dict[type, Any] = {}
        self.proto_fn: dict[type, Callable[[Any], Any]] = {}
        self.has_own: dict[type, Callable[[Any, Any], bool]] = {}
        self.own_keys: dict[type, Callable[[Any], list[Any]]] = {}
        self.fast_iter: dict[type, Callable[[Any], Iterator[Any]]] = {}
        self.error_classes: dict[str, JSFunction] = {}
        #: What the realm's JS allocated on the package's behalf in this call (``max_host_bytes``).
        self.budget = HostBudget()


#: The active realm's tables (None before any realm exists).
ACTIVE: Optional[Intrinsics] = None


def activate(tables: Optional[Intrinsics]) -> Optional[Intrinsics]:
    """Make ``tables`` the active realm's; returns the previously active ones (to restore)."""
    global ACTIVE, EXOTIC_GET, EXOTIC_SET, PROTO_OF, PROTO_FN, HAS_OWN, OWN_KEYS, FAST_ITER, ERROR_CLASSES
    previous = ACTIVE
    if tables is None or tables is previous:
        return previous
    ACTIVE = tables
    EXOTIC_GET = tables.exotic_get
    EXOTIC_SET = tables.exotic_set
    PROTO_OF = tables.proto_of
    PROTO_FN = tables.proto_fn
    HAS_OWN = tables.has_own
    OWN_KEYS = tables.own_keys
    FAST_ITER = tables.fast_iter
    ERROR_CLASSES = tables.error_classes
    return previous
