"""wasm-bindgen's own glue helpers, run as Python instead of interpreting their bodies.

A top-level ``function <name>(...)`` of a glue module whose name is here (and whose module
has a ``wasm`` binding, as every wasm-bindgen glue has) is replaced at load by the Python
implementation below, which works on the instance the module's ``wasm`` refers to: JS values
through ``ctx.values`` (the instance's JsValueStore: heap slab or externref table alike),
strings and arrays through guest memory and the module's own allocator exports.

The variants across versions are data here: ``handleError(f, args)`` (>= 0.2.7x) vs the older
``handleError(f)`` returning a wrapper; the allocator arity comes from the export the glue
passes; the exn_store export is the one the helper's own body calls.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Optional

import attrs

from . import model as m
from . import typed
from .compiler import GlueAccess, caught_value
from .direct import ErrorHandler
from .model import JSFunction
from .runtime import CATCHABLE
from .values import UNDEFINED
from .webassembly import BOUND_ENTRIES, WasmExports, memory_buffer

Factory = Callable[[GlueAccess, list[Any], JSFunction], Optional[JSFunction]]


@attrs.frozen
class Helper:
    name: str
    params: tuple[int, ...]
    factory: Factory
    #: Module names the implementation needs besides ``wasm``.
    needs: tuple[str, ...] = ()

    def applies(self, access: GlueAccess) -> bool:
        return access.has("wasm") and len(access.params) in self.params and all(access.has(n) for n in self.needs)

    def make(self, access: GlueAccess, frame: list[Any], fallback: JSFunction) -> Optional[JSFunction]:
        fn = self.factory(access, frame, fallback)
        if fn is not None:
            fn.fname = self.name
            fn.source = fallback.source
        return fn


HELPERS: dict[str, Helper] = {}


def helper(name: str, params: tuple[int, ...], needs: tuple[str, ...] = ()) -> Callable[[Factory], Factory]:
    def register(factory: Factory) -> Factory:
        HELPERS[name] = Helper(name, params, factory, needs)
        return factory

    return register


def ctx_getter(access: GlueAccess, frame: list[Any]) -> Callable[[], Any]:
    """The HostContext of the instance the module's ``wasm`` binding refers to."""
    get_wasm = access.getter("wasm")
    slot = access.names.get("wasm")
    cache: list[Any] = [None, None]

    def refresh(w: Any) -> Any:
        if not isinstance(w, WasmExports):
            raise m.throw(
                "TypeError",
                f"the wasm module is not initialised yet (wasm is {m.describe(w)}); call the package's init first",
            )
        cache[0], cache[1] = w, w.ctx
        return w.ctx

    if isinstance(slot, int):  # a module variable: read from the frame without the getter's call

        def ctx() -> Any:
            w = frame[slot]
            return cache[1] if w is cache[0] else refresh(w)

    else:

        def ctx() -> Any:
            w = get_wasm(frame)
            return cache[1] if w is cache[0] else refresh(w)

    return ctx


#: Never a HostContext: an empty cache entry.
_NOTHING: Any = object()


def arg(args: list[Any], i: int) -> Any:
    return args[i] if i < len(args) else UNDEFINED


# ---------------------------------------------------------------------------------------- JS values


class _Bound:
    """A helper's frame slot holding its entry bound to one instance's store (see
    :class:`~.webassembly.BoundEntries`); :meth:`unbind` puts the generic helper back."""

    __slots__ = ("frame", "slot", "generic", "entry", "__weakref__")

    def __init__(self, frame: list[Any], slot: int, generic: JSFunction, operation: Callable[[Any], Any]) -> None:
        self.frame, self.slot, self.generic = frame, slot, generic

        def impl(this: Any, args: list[Any], operation: Callable[[Any], Any] = operation, record: Any = self) -> Any:
            return operation(args[0] if args else UNDEFINED)  # ``record``: kept alive by the entry

        entry = self.entry = JSFunction(impl, generic.fname, 1)
        entry.direct = operation  # what a translated call site calls: the store's own closure
        entry.source = generic.source
        frame[slot] = entry
        BOUND_ENTRIES.bound.add(self)

    def unbind(self) -> None:
        if self.frame[self.slot] is self.entry:
            self.frame[self.slot] = self.generic


def _value_helper(name: str, op: str) -> None:
    @helper(name, (1,))
    def make(access: GlueAccess, frame: list[Any], fallback: JSFunction) -> JSFunction:
        ctx = ctx_getter(access, frame)
        method = {"get": "lift", "take": "take", "drop": "take", "add": "add"}[op]
        # the value store's bound method, for the instance ``wasm`` currently refers to
        cache: list[Any] = [_NOTHING, None]
        slot = access.names.get("wasm")
        own = access.names.get(name)  # the helper's own module variable (bound entries)
        tables = m.ACTIVE
        generic: list[Any] = [None]

        def bound() -> Any:
            c = ctx()
            cache[0] = c
            operation = cache[1] = getattr(c.values, method)
            if isinstance(own, int) and frame[own] is generic[0] and BOUND_ENTRIES.may_bind(tables, c):
                _Bound(frame, own, generic[0], operation)
            return operation

        if isinstance(slot, int) and op != "drop":

            def direct(x: Any = UNDEFINED, *rest: Any) -> Any:
                w = frame[slot]
                if type(w) is WasmExports and w.ctx is cache[0]:
                    return cache[1](x)
                return bound()(x)

        elif op == "drop":

            def direct(x: Any = UNDEFINED, *rest: Any) -> Any:
                ctx().values.take(x)
                return UNDEFINED

        else:

            def direct(x: Any = UNDEFINED, *rest: Any) -> Any:
                return getattr(ctx().values, method)(x)

        fn = generic[0] = JSFunction(lambda this, args: direct(*args), name, 1)
        fn.direct = direct
        return fn


for _name, _op in (
    ("getObject", "get"),
    ("takeObject", "take"),
    ("dropObject", "drop"),
    ("addHeapObject", "add"),
    ("addToExternrefTable0", "add"),
    ("takeFromExternrefTable0", "take"),
):
    _value_helper(_name, _op)


@helper("isLikeNone", (1,))
def _is_like_none(access: GlueAccess, frame: list[Any], fallback: JSFunction) -> JSFunction:
    def direct(x: Any = UNDEFINED, *rest: Any) -> bool:
        return x is None or x is UNDEFINED

    fn = JSFunction(lambda this, args: direct(*args), "isLikeNone", 1)
    fn.direct = direct
    return fn


# ---------------------------------------------------------------------------------------- strings


def _decode(ctx: Any, ptr: Any, length: Any) -> str:
    memory = ctx.memory
    p = m.to_uint32(ptr)
    n = length if type(length) is int else m.to_integer(length)
    calls = ctx.calls
    calls.budget.charge(n, "getStringFromWasm0")  # Limits.max_host_bytes, before the copy
    try:
        # inside an export call (an import, or the glue right after the export returned: the
        # crossing made the thread check) the last memoryview is trusted where it covers the range
        return memory.string(p, n, calls._depth > 0)  # type: ignore[no-any-return]
    except UnicodeDecodeError:
        raise m.throw("TypeError", "The encoded data was not valid for encoding utf-8") from None


@helper("getStringFromWasm0", (2,))
def _get_string(access: GlueAccess, frame: list[Any], fallback: JSFunction) -> JSFunction:
    ctx = ctx_getter(access, frame)

    def direct(ptr: Any = UNDEFINED, length: Any = UNDEFINED, *rest: Any) -> str:
        if type(ptr) is int and 0 <= ptr <= 0xFFFFFFFF and type(length) is int and length >= 0:
            c = ctx()  # _decode inlined for the glue's own (int, int): the budget charged, then the copy
            calls = c.calls
            budget = calls.budget
            limit = budget.limit
            if limit is None or budget.used + length <= limit:
                budget.used += length
            else:
                budget.charge(length, "getStringFromWasm0")  # raises ResourceExhausted
            try:
                return c.memory.string(ptr, length, calls._depth > 0)  # type: ignore[no-any-return]
            except UnicodeDecodeError:
                raise m.throw("TypeError", "The encoded data was not valid for encoding utf-8") from None
        return _decode(ctx(), ptr, length)

    fn = JSFunction(lambda this, args: direct(*args), "getStringFromWasm0", 2)
    fn.direct = direct
    return fn


@helper("getCachedStringFromWasm0", (2,))
def _get_cached_string(access: GlueAccess, frame: list[Any], fallback: JSFunction) -> JSFunction:
    ctx = ctx_getter(access, frame)

    def run(this: Any, args: list[Any]) -> Any:
        c = ctx()
        if m.to_number(arg(args, 0)) == 0:
            return c.values.lift(arg(args, 1))
        return _decode(c, arg(args, 0), arg(args, 1))

    return JSFunction(run, "getCachedStringFromWasm0", 2)


def _allocate(malloc: Any, size: int, align: int) -> int:
    if not isinstance(malloc, JSFunction):
        raise m.throw("TypeError", f"{m.describe(malloc)} is not a function (allocator)")
    entry = malloc.direct  # the export's positional entry (js/webassembly.py), where it has one
    if entry is not None and type(malloc) is JSFunction:
        ptr = entry(size) if malloc.nparams == 1 else entry(size, align)
    else:
        ptr = malloc.impl(UNDEFINED, [size] if malloc.nparams == 1 else [size, align])
    return ptr if type(ptr) is int and 0 <= ptr <= 0xFFFFFFFF else m.to_uint32(ptr)


@helper("passStringToWasm0", (2, 3), needs=("WASM_VECTOR_LEN",))  # 2: the nodejs Buffer variant (0.2.6x)
def _pass_string(access: GlueAccess, frame: list[Any], fallback: JSFunction) -> JSFunction:
    ctx = ctx_getter(access, frame)
    set_len = access.setter("WASM_VECTOR_LEN")

    def direct(s: Any = UNDEFINED, malloc: Any = UNDEFINED, *rest: Any) -> Any:
        if type(s) is not str:
            raise m.throw("TypeError", f"expected a string argument, found {m.typeof(s)}")
        try:
            data = s.encode("utf-8")
        except UnicodeEncodeError:
            data = m.utf8_of(s)
        n = len(data)
        ptr = _allocate(malloc, n, 1)
        if n:
            ctx().memory.write(ptr, data)
        set_len(frame, n)
        return ptr

    fn = JSFunction(lambda this, args: direct(*args), "passStringToWasm0", 3)
    fn.direct = direct
    return fn


# ---------------------------------------------------------------------------------------- arrays

_PASS = {
    "8": "Uint8Array",
    "16": "Uint16Array",
    "32": "Uint32Array",
    "64": "BigUint64Array",
    "F32": "Float32Array",
    "F64": "Float64Array",
}


def _pass_array(name: str, kind: str) -> None:
    size = typed.KINDS[kind][1]

    @helper(name, (2,), needs=("WASM_VECTOR_LEN",))
    def make(access: GlueAccess, frame: list[Any], fallback: JSFunction) -> JSFunction:
        ctx = ctx_getter(access, frame)
        set_len = access.setter("WASM_VECTOR_LEN")

        def direct(source: Any = UNDEFINED, malloc: Any = UNDEFINED, *rest: Any) -> Any:
            if type(source) is typed.TypedArray and source.kind == kind:  # bytes from Python: one copy in
                n = source.fixed if source.fixed is not None else source.length
                ptr = _allocate(malloc, n * size, size)
                if n:  # read after the allocation (the source may be wasm memory, grown by it)
                    at = source.offset
                    ctx().memory.write(ptr, source.buffer.mv()[at : at + n * size])
                set_len(frame, n)
                return ptr
            if isinstance(source, typed.TypedArray):
                n = source.length
            elif isinstance(source, list):
                n = len(source)
            else:
                n = m.to_integer(m.get(source, "length"))
            ptr = _allocate(malloc, n * size, size)
            if n:
                typed.TypedArray(kind, memory_buffer(ctx().memory), ptr, n).write(0, source)
            set_len(frame, n)
            return ptr

        fn = JSFunction(lambda this, args: direct(*args), name, 2)
        fn.direct = direct  # the positional entry translated glue calls (js/direct.py)
        return fn


for _bits, _kind in _PASS.items():
    _pass_array(f"passArray{_bits}ToWasm0", _kind)


@helper("passArrayJsValueToWasm0", (2,), needs=("WASM_VECTOR_LEN",))
def _pass_js_values(access: GlueAccess, frame: list[Any], fallback: JSFunction) -> JSFunction:
    ctx = ctx_getter(access, frame)
    set_len = access.setter("WASM_VECTOR_LEN")

    def run(this: Any, args: list[Any]) -> Any:
        c = ctx()
        items = list(m.iterate(arg(args, 0)))
        ptr = _allocate(arg(args, 1), len(items) * 4, 4)
        c.memory.set_u32s(ptr, [c.values.add(v) for v in items]) if items else None
        set_len(frame, len(items))
        return ptr

    return JSFunction(run, "passArrayJsValueToWasm0", 2)


_GET_ARRAY = {
    "U8": "Uint8Array",
    "I8": "Int8Array",
    "U16": "Uint16Array",
    "I16": "Int16Array",
    "U32": "Uint32Array",
    "I32": "Int32Array",
    "F32": "Float32Array",
    "F64": "Float64Array",
    "U64": "BigUint64Array",
    "I64": "BigInt64Array",
    "ClampedU8": "Uint8ClampedArray",
}


def _get_array(name: str, kind: str) -> None:
    @helper(name, (2,))
    def make(access: GlueAccess, frame: list[Any], fallback: JSFunction) -> JSFunction:
        ctx = ctx_getter(access, frame)
        cache: list[Any] = [None, None]  # the HostContext, its memory's ArrayBuffer

        def direct(ptr: Any = UNDEFINED, length: Any = UNDEFINED, *rest: Any) -> Any:
            c = ctx()
            if c is not cache[0]:
                cache[0], cache[1] = c, memory_buffer(c.memory)
            return typed.TypedArray(
                kind, cache[1],
                ptr if type(ptr) is int and 0 <= ptr <= 0xFFFFFFFF else m.to_uint32(ptr),
                length if type(length) is int else m.to_integer(length),
            )  # fmt: skip

        fn = JSFunction(lambda this, args: direct(*args), name, 2)
        fn.direct = direct  # the positional entry translated glue calls (js/direct.py)
        return fn


for _short, _kind in _GET_ARRAY.items():
    _get_array(f"getArray{_short}FromWasm0" if _short != "ClampedU8" else "getClampedArrayU8FromWasm0", _kind)


@helper("getArrayJsValueFromWasm0", (2,))
def _get_js_values(access: GlueAccess, frame: list[Any], fallback: JSFunction) -> JSFunction:
    ctx = ctx_getter(access, frame)

    def run(this: Any, args: list[Any]) -> Any:
        c = ctx()
        ptr, n = m.to_uint32(arg(args, 0)), m.to_integer(arg(args, 1))
        indices = c.memory.u32s(ptr, n) if n else ()
        if c.values.kind == "externref":
            out = [c.values.take(i) for i in indices]
        else:
            out = [c.values.take(i) for i in indices]
        return out

    return JSFunction(run, "getArrayJsValueFromWasm0", 2)


_MEMORY_VIEW = re.compile(
    r"^get(Int8|Uint8|Uint8Clamped|Int16|Uint16|Int32|Uint32|Float32|Float64|BigInt64|BigUint64)(?:Array)?Memory0$"
)


def _memory_view(name: str, kind: str) -> None:
    @helper(name, (0,))
    def make(access: GlueAccess, frame: list[Any], fallback: JSFunction) -> JSFunction:
        ctx = ctx_getter(access, frame)
        cache: list[Any] = [None, None]

        def direct(*args: Any) -> Any:
            c = ctx()
            if cache[0] is not c:
                cache[0] = c
                cache[1] = typed.TypedArray(kind, memory_buffer(c.memory), 0, None)
            return cache[1]

        fn = JSFunction(lambda this, args: direct(), name, 0)
        fn.direct = direct
        return fn


for _k in (
    "Int8",
    "Uint8",
    "Uint8Clamped",
    "Int16",
    "Uint16",
    "Int32",
    "Uint32",
    "Float32",
    "Float64",
    "BigInt64",
    "BigUint64",
):
    for _form in ("get{}Memory0", "get{}ArrayMemory0"):
        _memory_view(_form.format(_k), _k + "Array")


@helper("getDataViewMemory0", (0,))
def _data_view(access: GlueAccess, frame: list[Any], fallback: JSFunction) -> JSFunction:
    ctx = ctx_getter(access, frame)
    cache: list[Any] = [None, None]

    def direct(*args: Any) -> Any:
        c = ctx()
        if cache[0] is not c:
            cache[0] = c
            cache[1] = typed.DataView(memory_buffer(c.memory), 0, None)
        return cache[1]

    fn = JSFunction(lambda this, args: direct(), "getDataViewMemory0", 0)
    fn.direct = direct
    return fn


# ---------------------------------------------------------------------------------------- errors


@helper("handleError", (1, 2))
def _handle_error(access: GlueAccess, frame: list[Any], fallback: JSFunction) -> JSFunction:
    ctx = ctx_getter(access, frame)
    calls = access.member_calls("wasm")
    named = calls[-1] if calls else None

    def store(exc: BaseException) -> None:
        c = ctx()
        export = named if named is not None else c.conventions.roles.get("exn_store")
        if not export:
            raise exc
        c.calls.call(export, c.values.add(caught_value(exc)))

    if len(access.params) == 1:

        def wrap(this: Any, args: list[Any]) -> Any:
            f = arg(args, 0)

            def wrapped(inner_this: Any, inner_args: list[Any]) -> Any:
                try:
                    return m.call(f, inner_this, inner_args)
                except CATCHABLE as exc:
                    store(exc)
                    return UNDEFINED

            return JSFunction(wrapped, "handleError")

        return JSFunction(wrap, "handleError", 1)

    def run(this: Any, args: list[Any]) -> Any:
        f, fargs = arg(args, 0), arg(args, 1)
        try:
            return m.call(f, this, fargs if type(fargs) is list else list(m.iterate(fargs)))
        except CATCHABLE as exc:
            store(exc)
            return UNDEFINED

    fn = JSFunction(run, "handleError", 2)
    fn.direct = ErrorHandler(store, run)  # recognised by js/direct.py's handleError wrappers
    return fn


@helper("debugString", (1,))
def _debug_string(access: GlueAccess, frame: list[Any], fallback: JSFunction) -> JSFunction:
    return JSFunction(lambda this, args: debug_string(arg(args, 0)), "debugString", 1)


def debug_string(val: Any) -> str:
    """wasm-bindgen's ``debugString`` over the JS value model."""
    t = m.typeof(val)
    if t in ("number", "boolean") or val is None or val is UNDEFINED:
        return m.to_string(val)
    if t == "string":
        return f'"{val}"'
    if t == "symbol":
        d = val.description
        return "Symbol" if d is None or d is UNDEFINED else f"Symbol({d})"
    if t == "function":
        name = m.get(val, "name")
        return f"Function({name})" if isinstance(name, str) and name else "Function"
    if isinstance(val, list):
        return "[" + ", ".join(debug_string(v) for v in val) + "]"
    from .stdlib import class_tag, json_stringify

    tag = class_tag(val)
    if tag == "Object":
        try:
            return "Object(" + m.to_string(json_stringify(val)) + ")"
        except CATCHABLE:
            return "Object"
    if m.is_error(val):
        name, message = m.error_name_message(val)
        stack = m.get(val, "stack")
        return f"{name}: {message}\n{m.to_string(stack)}"
    return tag


def install(realm: Any) -> None:
    realm.helpers.update(HELPERS)
