"""Python values <-> JS values at a package's boundary (the table in ``docs/js-values.md``),
and the Python faces of JS things: functions as callables, classes as real Python types,
frozen enum objects as ``enum.IntEnum``/``enum.Enum``, promises as awaitables, thrown values
as :class:`~realm_wasmer.errors.JsError`.

Every call into JS goes through :meth:`Bridge.invoke`: arguments converted in, pending
``FinalizationRegistry`` cleanups and promise jobs run at that safe point, the result
converted out, a JS throw re-raised as ``JsError`` (traps stay :class:`~realm_wasmer.errors.GuestTrap`).
"""

from __future__ import annotations

import enum
import inspect
import keyword
import math
import threading
import weakref
from typing import Any, Callable, Optional

import numpy as np

from ..errors import GuestTrap, JsError, JsThrow, PoisonedInstance, ResourceExhausted
from . import model as m
from . import typed
from .model import JSFunction, JsObject, Prop
from .runtime import PromiseObject, Realm
from .stdlib import MapObject
from .values import UNDEFINED, JsErrorValue

#: Held while any package's JS runs (see :class:`Bridge`): the active realm is process-wide.
EVAL_LOCK = threading.RLock()


def _not_callable(fn: Any) -> Callable[[Any, list[Any]], Any]:
    def refuse(this: Any, args: list[Any]) -> Any:
        return m.call(fn, this, args)  # raises JS's TypeError "... is not a function"

    return refuse


def _runner(fn: Any) -> Callable[[Any, list[Any]], Any]:
    """What calling ``fn`` runs: its ``impl(this, args)`` (the function's translation or
    closures), read at call time so a function made later is seen."""
    return fn.impl if isinstance(fn, JSFunction) else _not_callable(fn)


def _constructor(cls: Any) -> Callable[[Any, list[Any]], Any]:
    make = cls.make if isinstance(cls, JSFunction) else None
    if make is None:  # not a constructor: m.construct raises JS's TypeError

        def refuse(this: Any, args: list[Any]) -> Any:
            return m.construct(cls, args)

        return refuse

    def run(this: Any, args: list[Any]) -> Any:
        return make(args, cls)  # what m.construct(cls, args) calls

    return run


#: The JS values a call returns that are their own Python value (no conversion).
_FINAL = frozenset({str, bool, int, type(None)})


class JsMap(dict):  # type: ignore[type-arg]
    """A JS ``Map`` in Python: a dict (built from a mapping or from pairs), keys in insertion order."""

    def __repr__(self) -> str:
        return f"JsMap({dict.__repr__(self)})"


class JsInstance:
    """Base of the Python classes made for a package's JS classes."""

    __slots__ = ("_js", "__weakref__")
    _js: Any
    _js_class: Any = None
    _bridge: Any = None

    def __repr__(self) -> str:
        ptr = dict.get(self._js, "__wbg_ptr", dict.get(self._js, "ptr", None)) if isinstance(self._js, dict) else None
        extra = f" ptr={ptr}" if isinstance(ptr, int) else ""
        return f"<{type(self).__name__}{extra}>"


class JsPromise:
    """A JS promise: ``await`` it, or call :meth:`result` (runs the JS job queue until it settles)."""

    def __init__(self, bridge: "Bridge", promise: PromiseObject, label: str) -> None:
        self._bridge = bridge
        self._promise = promise
        self.label = label

    def result(self) -> Any:
        bridge = self._bridge
        with bridge.lock:
            previous = m.activate(bridge.realm.intrinsics)
            try:
                value = bridge.realm.settle(self._promise, f"the promise returned by {self.label}")
                return bridge.to_py(value)
            except JsError as exc:
                raise bridge.py_error(exc, self.label) from None
            finally:
                m.activate(previous)

    def __await__(self) -> Any:
        if False:  # pragma: no cover - makes this a generator
            yield
        return self.result()

    def done(self) -> bool:
        return self._promise.state != "pending"

    def __repr__(self) -> str:
        return f"<JsPromise {self._promise.state} from {self.label}>"


class Bridge:
    """Conversions and wrappers for one package (one realm)."""

    def __init__(self, realm: Realm) -> None:
        self.realm = realm
        #: One lock for every package's JS: the active realm (model.activate) is process-wide.
        self.lock = EVAL_LOCK
        #: ``enter(run, this, args, label, convert)``: every call into JS (see :meth:`_make_enter`).
        self._enter = self._make_enter()
        self._classes: dict[int, tuple[JSFunction, type]] = {}
        self._enum_cache: dict[int, tuple[Any, type]] = {}
        #: id(prototype) -> (prototype, its ``constructor``, the Python class): see _instance_class
        self._instance_protos: dict[int, tuple[JsObject, Any, type]] = {}

    # -- calls ----------------------------------------------------------------------------------
    def invoke(self, fn: Any, this: Any, args: list[Any], label: str) -> Any:
        return self._enter(_runner(fn), this, args, label, True)

    def construct(self, cls: JSFunction, args: list[Any], label: str) -> Any:
        return self._enter(_constructor(cls), None, args, label, False)

    def _make_enter(self) -> Callable[[Callable[[Any, list[Any]], Any], Any, list[Any], str, bool], Any]:
        """``enter(run, this, args, label, convert)``: ``run(this, args)`` from Python, this realm
        active (restored after), the evaluator's host budget reset for an outermost call, jobs
        and cleanups run, errors translated, the result converted to Python (``convert``).
        A closure over this bridge's realm state (none of it is ever replaced)."""
        bridge, lock, realm = self, self.lock, self.realm
        intrinsics, budget, cleanups, jobs = realm.intrinsics, realm.budget, realm.cleanups, realm.jobs
        to_py, activate = self.to_py, m.activate
        depth = 0

        def enter(run: Callable[[Any, list[Any]], Any], this: Any, args: list[Any], label: str, convert: bool) -> Any:
            nonlocal depth
            with lock:
                previous = m.ACTIVE
                if previous is not intrinsics:
                    activate(intrinsics)
                outer = depth
                if not outer:
                    budget.used = 0
                    budget.export = label
                depth = outer + 1
                try:
                    if cleanups:
                        realm.run_cleanups()
                    result = run(this, args)
                    if jobs:
                        realm.run_jobs()
                    if not convert or type(result) in _FINAL or result is UNDEFINED:
                        return result
                    return to_py(result, label=label)
                except JsError as exc:
                    raise bridge.py_error(exc, label) from None
                except RecursionError:
                    raise bridge.py_error(
                        JsThrow(m.make_error("RangeError", "Maximum call stack size exceeded")), label
                    ) from None
                except PoisonedInstance as exc:
                    raise _first_trap(exc) from None
                except ResourceExhausted as exc:
                    realm.poison(exc)
                    raise
                finally:
                    depth = outer
                    if previous is not intrinsics:
                        activate(previous)

        return enter

    def py_error(self, exc: JsError, label: str = "") -> JsError:
        """The exception a caller sees for a JS throw (name/message from an Error)."""
        value = exc.js_value if isinstance(exc, JsThrow) else exc.value
        if value is None and not isinstance(exc, JsThrow):
            value = JsErrorValue(str(exc))
        name, message = m.error_name_message(value)
        if name is None:
            out = JsThrow(value, None, None)
            out.message = None
            out.value = self.to_py(value)
            out.args = (f"{label + ': ' if label else ''}JS threw {m.describe(value)[:300]}",)
            return out
        out = JsThrow(value, message, name)
        out.value = out
        out.args = (f"{name}: {message}",)
        return out

    # -- JS -> Python -------------------------------------------------------------------------------
    def to_py(self, v: Any, label: str = "", _memo: Optional[dict[int, Any]] = None) -> Any:
        t = type(v)
        if t is str or t is bool or t is int or v is None or v is UNDEFINED:
            return v
        if t is list or t is JsObject:  # the common containers first (serde output)
            memo = _memo if _memo is not None else {}
            key = id(v)
            found = memo.get(key)
            if found is not None:
                return found
            if t is list:
                out = list(v)  # copied in C; the items that are not final values converted in place
                memo[key] = out
                to_py = self.to_py
                for i, x in enumerate(out):
                    tx = type(x)
                    if not (tx is str or tx is int or tx is bool or x is None or x is UNDEFINED):
                        out[i] = to_py(x, label, memo)
                return out
            proto = v.proto
            if proto is m.OBJECT_PROTO:
                plain = self._plain_object(v, label, memo)
                if plain is not None:
                    return plain
            else:
                # an instance of a package class (``Foo.__wrap(ptr)``): its prototype seen before
                # (see :meth:`_instance_class`), the wrapper made without the general walk
                seen = self._instance_protos.get(id(proto))
                ctor = dict.get(proto, "constructor", None) if seen is not None and seen[0] is proto else None
                if type(ctor) is Prop:
                    ctor = ctor.value
                if ctor is not None and seen is not None and ctor is seen[1] and proto.proto is m.OBJECT_PROTO:
                    existing = v.wrapper() if v.wrapper is not None else None
                    if existing is not None:
                        return existing
                    inst: Any = object.__new__(seen[2])
                    inst._js = v
                    v.wrapper = weakref.ref(inst)
                    return inst
            _memo = memo
        if t is float:
            if v.is_integer() and abs(v) <= m.MAX_SAFE and not (v == 0 and math.copysign(1.0, v) < 0):
                return int(v)
            return v
        if t is m.BigInt:
            return int(v)
        if isinstance(v, typed.TypedArray):
            arr = v.copy()
            return arr
        if isinstance(v, (typed.ArrayBuffer, typed.MemoryBuffer)):
            return bytes(v.np())
        if isinstance(v, typed.DataView):
            return bytes(v.buffer.np()[v.offset : v.offset + v.length])
        if isinstance(v, JsErrorValue):
            return self.py_error(JsThrow(v))
        memo = _memo if _memo is not None else {}
        key = id(v)
        if key in memo:
            return memo[key]
        if isinstance(v, PromiseObject):
            return JsPromise(self, v, label or "a JS call")
        if isinstance(v, JSFunction):
            if v.is_class:
                return self.py_class(v)
            return self.py_function(v, v.fname or "anonymous")
        if isinstance(v, JsObject):
            if isinstance(v, MapObject) and v.cls in ("Map", "Set"):
                if v.cls == "Map":
                    jm = JsMap()
                    memo[key] = jm
                    for k, x in list(v.store.values()):
                        jm[_hashable(self.to_py(k, label, memo))] = self.to_py(x, label, memo)
                    return jm
                return {_hashable(self.to_py(x, label, memo)) for x, _ in list(v.store.values())}
            if m.is_error(v):
                return self.py_error(JsThrow(v))
            cls = self.class_of(v)
            if cls is not None:
                if type(v) is JsObject and v.proto.proto is m.OBJECT_PROTO:
                    self._instance_class(v.proto, cls)
                return self.wrap_instance(v, cls)
            obj = JsObject()
            memo[key] = obj
            for k in m.own_enumerable_keys(v):
                dict.__setitem__(obj, k, self.to_py(m.get(v, k), label, memo))
            return obj
        if isinstance(v, dict):
            obj = JsObject()
            memo[key] = obj
            for k, x in v.items():
                dict.__setitem__(obj, k, self.to_py(x, label, memo))
            return obj
        return v

    def _plain_object(self, v: JsObject, label: str, memo: dict[int, Any]) -> Optional[JsObject]:
        """A plain object whose own properties are all plain data under non-index string keys
        (wasm-bindgen's serde output): converted in insertion order, the order JS gives them.
        None when the general path is needed (accessors, symbols, integer-like keys)."""
        obj = JsObject(v)  # copied in C; the values that are not final converted in place
        memo[id(v)] = obj
        to_py = self.to_py
        digits = "0123456789"
        for k, x in dict.items(v):
            tx = type(x)
            if tx is str or tx is int or tx is bool or x is None or x is UNDEFINED:  # final values
                if type(k) is str and not (k and k[0] in digits):
                    continue
            if type(k) is not str or tx is Prop or (k and k[0] in digits):
                del memo[id(v)]
                return None
            obj[k] = to_py(x, label, memo)
        return obj

    def _instance_class(self, proto: JsObject, cls: JSFunction) -> None:
        """Remember ``proto`` (whose own ``constructor`` is ``cls``, and whose prototype is
        ``Object.prototype``) for :meth:`to_py`'s fast path: an object of type JsObject with this
        prototype, while ``proto.constructor`` is still the same value and ``proto``'s prototype
        still ``Object.prototype``, is exactly what the general path finds an instance of ``cls``
        (not an error, not a Map/Set, ``class_of`` stops at ``proto``)."""
        raw = dict.get(proto, "constructor", None)
        if (raw.value if type(raw) is Prop else raw) is cls:
            self._instance_protos[id(proto)] = (proto, cls, self.py_class(cls))

    def class_of(self, obj: JsObject) -> Optional[JSFunction]:
        """The JS class whose instance ``obj`` is (None for a plain object)."""
        p = obj.proto
        while p is not None and p is not m.OBJECT_PROTO:
            ctor = dict.get(p, "constructor")
            if type(ctor) is Prop:
                ctor = ctor.value
            if isinstance(ctor, JSFunction) and (ctor.is_class or ctor.kind == "function") and ctor.kind != "native":
                return ctor
            p = p.proto if isinstance(p, JsObject) else None
        return None

    def wrap_instance(self, obj: JsObject, cls: JSFunction) -> Any:
        existing = obj.wrapper() if obj.wrapper is not None else None
        if existing is not None:
            return existing
        py_cls = self.py_class(cls)
        inst: Any = object.__new__(py_cls)
        inst._js = obj
        obj.wrapper = weakref.ref(inst)
        return inst

    # -- Python -> JS ------------------------------------------------------------------------------
    def _object_to_js(self, v: dict[Any, Any], memo: dict[int, Any], key: int) -> JsObject:
        """A dict as a plain JS object (remembered in ``memo`` under ``key`` first: cycles)."""
        obj = JsObject()
        memo[key] = obj
        for k, x in v.items():
            dict.__setitem__(obj, k if isinstance(k, str) else m.to_property_key(self.to_js(k)), self.to_js(x, memo))
        return obj

    def to_js(self, v: Any, _memo: Optional[dict[int, Any]] = None) -> Any:
        t = type(v)
        if t is str:
            return v if v.isascii() or _no_surrogates(v) else m.canonical(v)
        if t is bool or v is None or v is UNDEFINED or t is float or t is m.BigInt:
            return v
        if t is int:
            return v if -m.MAX_SAFE <= v <= m.MAX_SAFE else m.BigInt(v)
        if t is bytes:  # the common byte inputs first: no shared memory to look for
            return typed.new_bytes(v)
        if t is np.ndarray and v.ndim:
            return typed.shared(v) or typed.from_numpy(v)
        if t is dict or t is list:  # the general path's branches for them, without the isinstance tests before
            memo = _memo if _memo is not None else {}
            key = id(v)
            if key in memo:
                return memo[key]
            if t is list:
                items: list[Any] = []
                memo[key] = items
                items.extend(self.to_js(x, memo) for x in v)
                return items
            return self._object_to_js(v, memo, key)
        if isinstance(v, JsInstance):
            return v._js
        if isinstance(v, (JSFunction, typed.TypedArray, typed.ArrayBuffer, m.Symbol, PromiseObject)):
            return v
        if isinstance(v, JsThrow):
            return v.js_value
        if isinstance(v, enum.Enum):
            return self.to_js(v.value)
        if isinstance(v, bool):
            return bool(v)
        if isinstance(v, int):
            return self.to_js(int(v))
        if isinstance(v, float):
            return float(v)
        if isinstance(v, np.generic):
            return self.to_js(v.item())
        if isinstance(v, str):
            return m.canonical(str(v))
        if isinstance(v, (bytes, bytearray, memoryview)):
            return typed.shared(v) or typed.new_bytes(bytes(v))
        if isinstance(v, np.ndarray):
            if v.ndim == 0:
                return self.to_js(v.item())
            return typed.shared(v) or typed.from_numpy(v)
        if isinstance(v, JsPromise):
            return v._promise
        if isinstance(v, type) and issubclass(v, JsInstance):
            return v._js_class
        memo = _memo if _memo is not None else {}
        key = id(v)
        if key in memo:
            return memo[key]
        if isinstance(v, JsMap):
            from .stdlib import MapObject, map_key

            mp = MapObject(m.get(m.get(self.realm.global_object, "Map"), "prototype"), "Map")
            memo[key] = mp
            for k, x in v.items():
                jk = self.to_js(k, memo)
                mp.store[map_key(jk)] = (jk, self.to_js(x, memo))
            return mp
        if isinstance(v, dict):
            return self._object_to_js(v, memo, key)
        if isinstance(v, (list, tuple)):
            out: list[Any] = []
            memo[key] = out
            out.extend(self.to_js(x, memo) for x in v)
            return out
        if isinstance(v, (set, frozenset)):
            from .stdlib import MapObject, map_key

            st = MapObject(m.get(m.get(self.realm.global_object, "Set"), "prototype"), "Set")
            for x in v:
                jx = self.to_js(x, memo)
                st.store[map_key(jx)] = (jx, jx)
            return st
        if callable(v):
            return self.js_function(v)
        return v

    def js_function(self, fn: Callable[..., Any]) -> JSFunction:
        """A Python callable as a JS function (JS values converted out and back)."""
        bridge = self

        def impl(this: Any, args: list[Any]) -> Any:
            try:
                result = fn(*[bridge.to_py(a) for a in args])
            except JsError:
                raise
            except Exception as exc:  # a Python error is a JS Error thrown by the function
                raise JsThrow(m.make_error("Error", f"{type(exc).__name__}: {exc}")) from exc
            return bridge.to_js(result)

        out = JSFunction(impl, getattr(fn, "__name__", "python"), 0)
        return out

    # -- Python faces ----------------------------------------------------------------------------
    def py_function(self, fn: JSFunction, name: str, this: Any = UNDEFINED) -> Callable[..., Any]:
        bridge = self

        enter, to_js = bridge._enter, bridge.to_js

        def call(*args: Any) -> Any:
            return enter(fn.impl, this, list(map(to_js, args)) if args else [], name, True)

        call.__name__ = call.__qualname__ = name
        call.__doc__ = f"JS function {name}({', '.join(fn.params)})"
        call.__signature__ = _signature(fn.params)  # type: ignore[attr-defined]
        call._js = fn  # type: ignore[attr-defined]
        return call

    def py_class(self, cls: JSFunction, name: Optional[str] = None) -> type:
        found = self._classes.get(id(cls))
        if found is not None:
            return found[1]
        parent = cls.proto if isinstance(cls.proto, JSFunction) and cls.proto.is_class else None
        base: type = self.py_class(parent) if parent is not None else JsInstance
        bridge = self
        label = name or cls.fname or "JsClass"
        ns: dict[str, Any] = {
            "__slots__": (),
            "_js_class": cls,
            "_bridge": bridge,
            "__module__": "realm_wasmer.js.package",
        }

        enter, to_js, new_label, construct = bridge._enter, bridge.to_js, f"new {label}", _constructor(cls)

        def __init__(self: Any, *args: Any) -> None:
            obj = enter(construct, None, list(map(to_js, args)) if args else [], new_label, False)
            if not isinstance(obj, JsObject):
                raise TypeError(f"the constructor of {label} returned {m.describe(obj)}, not an object")
            existing = obj.wrapper() if obj.wrapper is not None else None
            self._js = obj
            if existing is None:
                obj.wrapper = weakref.ref(self)

        ns["__init__"] = __init__
        ns["__init__"].__signature__ = _signature(cls.params, method=True)
        proto = m.get(cls, "prototype")
        for key, raw in list(dict.items(proto)) if isinstance(proto, JsObject) else []:
            if type(key) is not str or key == "constructor":
                continue
            for attr in _py_names(key):
                if attr in ns:
                    continue
                if type(raw) is Prop and raw.accessor:
                    ns[attr] = self._property(key, raw)
                else:
                    value = raw.value if type(raw) is Prop else raw
                    if isinstance(value, JSFunction):
                        ns[attr] = self._method(key, value, label)
        statics = [(k, r) for k, r in dict.items(cls) if type(k) is str and k not in ("prototype", "name", "length")]
        for key, raw in statics:
            value = raw.value if type(raw) is Prop else raw
            for attr in _py_names(key):
                if attr in ns:
                    continue
                if isinstance(value, JSFunction):
                    ns[attr] = staticmethod(self._static(cls, key, value, label))
                elif type(raw) is not Prop or not raw.accessor:
                    ns[attr] = self.to_py(value)
        if _has_to_string(proto):
            ns["__str__"] = lambda self: self.toString()

        def __enter__(self: Any) -> Any:
            return self

        def __exit__(self: Any, *exc: Any) -> None:
            free = m.get(self._js, "free")
            if m.is_callable(free):
                bridge.invoke(free, self._js, [], f"{label}.free")

        ns.setdefault("__enter__", __enter__)
        ns.setdefault("__exit__", __exit__)
        py_cls = type(label, (base,), ns)
        self._classes[id(cls)] = (cls, py_cls)
        return py_cls

    def _method(self, key: str, fn: JSFunction, owner: str) -> Callable[..., Any]:
        bridge = self

        enter, to_js, label = bridge._enter, bridge.to_js, f"{owner}.{key}"

        def method(self: Any, *args: Any) -> Any:
            return enter(fn.impl, self._js, list(map(to_js, args)) if args else [], label, True)

        method.__name__ = method.__qualname__ = key
        method.__signature__ = _signature(fn.params, method=True)  # type: ignore[attr-defined]
        return method

    def _static(self, cls: JSFunction, key: str, fn: JSFunction, owner: str) -> Callable[..., Any]:
        bridge = self

        enter, to_js, label = bridge._enter, bridge.to_js, f"{owner}.{key}"

        def static(*args: Any) -> Any:
            return enter(fn.impl, cls, list(map(to_js, args)) if args else [], label, True)

        static.__name__ = static.__qualname__ = key
        static.__signature__ = _signature(fn.params)  # type: ignore[attr-defined]
        return static

    def _property(self, key: str, prop: Prop) -> property:
        bridge = self
        getter_, setter_ = prop.getter, prop.setter
        enter, get_label = bridge._enter, f"get {key}"

        def fget(self: Any) -> Any:
            if getter_ is None:
                raise AttributeError(f"{key} has no getter")
            return enter(_runner(getter_), self._js, [], get_label, True)

        def fset(self: Any, value: Any) -> None:
            if setter_ is None:
                raise AttributeError(f"{key} is read-only")
            bridge.invoke(setter_, self._js, [bridge.to_js(value)], f"set {key}")

        return property(fget, fset if setter_ is not None else None, doc=f"JS accessor {key}")

    def as_enum(self, name: str, obj: JsObject) -> Optional[type]:
        """A frozen JS object of name -> number (with reverse keys) or name -> string, as an enum."""
        if not isinstance(obj, JsObject) or obj.extensible or type(obj) is not JsObject:
            return None
        items = [(k, (v.value if type(v) is Prop else v)) for k, v in dict.items(obj) if type(k) is str]
        named = [(k, v) for k, v in items if not (k.lstrip("-").isdigit())]
        if not named:
            return None
        if all(type(v) in (int, float) and float(v).is_integer() for _, v in named):
            reverse = {k: v for k, v in items if k.lstrip("-").isdigit()}
            if reverse and any(reverse.get(str(int(v))) != k for k, v in named):
                return None
            made: type = enum.IntEnum(name, [(k, int(v)) for k, v in named])  # type: ignore[assignment, misc]
            return made
        if all(type(v) is str for _, v in items):
            made_str: type = enum.Enum(name, [(k, v) for k, v in items])  # type: ignore[assignment, misc]
            return made_str
        return None


def _first_trap(exc: PoisonedInstance) -> BaseException:
    """The trap behind a PoisonedInstance raised in the same JS call (the glue's ``finally``
    calling the instance again after its export trapped, e.g. to restore the stack pointer): the
    call raises that GuestTrap, as Node raises the RuntimeError; else the PoisonedInstance."""
    seen: BaseException | None = exc.__context__
    while seen is not None:
        if isinstance(seen, GuestTrap):
            return seen
        seen = seen.__context__
    return exc


#: Longer strings are searched for surrogates without a temporary copy (m.canonical's regex).
_ENCODE_CHECK_MAX = 1 << 22


def _no_surrogates(s: str) -> bool:
    """True when ``s`` holds no surrogate code point (so ``m.canonical(s)`` is ``s``): Python's
    UTF-16 encoder refuses them in strict mode, and runs 3-7x faster than the regex m.canonical
    searches with (a 16 KB text: 29 -> 4 us). False also for a string too long to copy for it."""
    if len(s) > _ENCODE_CHECK_MAX:
        return False
    try:
        s.encode("utf-16")
    except UnicodeEncodeError:
        return False
    return True


def _hashable(v: Any) -> Any:
    if isinstance(v, (list, dict, set)):
        try:
            hash(v)
        except TypeError:
            return repr(v)
    return v


def _py_names(key: str) -> list[str]:
    names = [key] if key.isidentifier() else []
    if keyword.iskeyword(key):
        names.append(key + "_")
    return names


def _has_to_string(proto: Any) -> bool:
    p = proto
    while isinstance(p, JsObject) and p is not m.OBJECT_PROTO:
        if "toString" in p:
            return True
        p = p.proto
    return False


def _signature(params: tuple[str, ...], method: bool = False) -> inspect.Signature:
    out = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)] if method else []
    seen: set[str] = set()
    for i, p in enumerate(params):
        if p.startswith("*"):
            out.append(inspect.Parameter(_safe(p[1:], i, seen), inspect.Parameter.VAR_POSITIONAL))
            break
        out.append(inspect.Parameter(_safe(p, i, seen), inspect.Parameter.POSITIONAL_ONLY, default=UNDEFINED))
    return inspect.Signature(out)


def _safe(name: str, i: int, seen: set[str]) -> str:
    n = name if name.isidentifier() and not keyword.iskeyword(name) else f"arg{i}"
    if n in seen or n == "self":
        n = f"{n}_{i}"
    seen.add(n)
    return n
