"""The ``WebAssembly`` namespace of the evaluator, on realm_wasmer's engines.

``new WebAssembly.Instance(module, importObject)`` (and ``WebAssembly.instantiate``) load the
module with :func:`realm_wasmer.compile`: every function import goes through the library's
resolver chain (the user's ``imports=`` first, then wasm-bindgen's intrinsics, then
:class:`GlueResolver`, which answers from the JS import object the glue built). The instance's
``exports`` is a :class:`WasmExports` object: functions convert JS values to wasm values and
back by the export's signature; ``memory.buffer`` is a :class:`~realm_wasmer.js.typed.MemoryBuffer`;
globals have ``value``; tables have ``get``/``set``/``grow``/``length`` where the engine
reaches tables. JS values cross externref positions through ``ctx.values`` (the instance's
:class:`~realm_wasmer.host.values.JsValueStore`), so nothing here depends on the engine.
"""

from __future__ import annotations

import math
import weakref
from typing import Any, Callable, Optional

import attrs

from ..host.memory import GuestMemory
from ..host.resolver import ImportRequest, Resolution
from ..host.values import GLUE_SEMANTICS
from ..wasm import FuncType, GlobalType
from . import model as m
from . import typed
from .model import JSFunction, JsObject, Prop
from .model import WasmExports as WasmExports
from .values import UNDEFINED

_BUFFERS: "weakref.WeakKeyDictionary[Any, typed.MemoryBuffer]" = weakref.WeakKeyDictionary()


def memory_buffer(memory: GuestMemory) -> typed.MemoryBuffer:
    """The one ``ArrayBuffer`` standing for an instance's memory."""
    buf = _BUFFERS.get(memory)
    if buf is None:
        buf = _BUFFERS[memory] = typed.MemoryBuffer(memory)
    return buf


class WasmMemoryObject(JsObject):
    __slots__ = ("memory",)
    memory: Any


class WasmModuleObject(JsObject):
    __slots__ = ("data", "origin")
    data: bytes
    origin: str


class WasmInstanceObject(JsObject):
    __slots__ = ("instance",)
    instance: Any


# ---------------------------------------------------------------------------------------- value conversion


def to_i32(v: Any) -> int:
    if type(v) is int and -2147483648 <= v <= 2147483647:
        return v
    if v is True:
        return 1
    if v is False or v is UNDEFINED or v is None:
        return 0
    return m.to_int32(v)


def to_i64(v: Any) -> int:
    if v is UNDEFINED or v is None:
        return 0
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        n = int(v) & 0xFFFFFFFFFFFFFFFF
        return n - (1 << 64) if n >= 1 << 63 else n
    raise m.throw("TypeError", f"Cannot convert {m.describe(v)} to a BigInt")


def to_f64(v: Any) -> float:
    if type(v) is float:
        return v  # type: ignore[no-any-return]
    if type(v) is int:
        return float(v)
    return float(m.to_number(v))


def from_f64(v: Any) -> Any:
    return m.num(v) if v == v and v not in (math.inf, -math.inf) else v


def _to_wasm(valtype: str, ctx: Any, owned: bool) -> Callable[[Any], Any]:
    if valtype == "i32":
        return to_i32
    if valtype == "i64":
        return to_i64
    if valtype in ("f32", "f64"):
        return to_f64
    if valtype == "externref":
        values = ctx.values
        return values.lower if owned else values.borrow  # type: ignore[no-any-return]
    return lambda v: v


def _from_wasm(valtype: str, ctx: Any, owned: bool) -> Optional[Callable[[Any], Any]]:
    if valtype == "i32":
        return None
    if valtype == "i64":
        return m.BigInt
    if valtype in ("f32", "f64"):
        return from_f64
    if valtype == "externref":
        values = ctx.values
        return values.lift_owned if owned else values.lift  # type: ignore[no-any-return]
    return None


# ---------------------------------------------------------------------------------------- exports


def export_function(ctx: Any, name: str, sig: FuncType) -> JSFunction:
    """A JS function calling export ``name`` (JS values in, JS values out).

    Its positional entry (``direct``, what js/direct.py's ``wasm.f(...)`` calls) is generated
    for the export on its first call (:func:`export_entry`): the engine's callables are made
    for the exports a package uses, not for all of them at load."""
    params, results = sig.params, sig.results
    conv_in = [None if p == "i32" else _to_wasm(p, ctx, owned=False) for p in params]
    conv_out = [_from_wasm(r, ctx, owned=True) for r in results]
    borrowed = sum(p == "externref" for p in params)
    out = JSFunction(_unbound, name, len(params))
    made: list[Callable[..., Any]] = []

    def bind(*args: Any) -> Any:  # also what a caller that kept the first ``direct`` calls
        if not made:
            direct = export_entry(ctx.calls, name, conv_in, conv_out, borrowed, ctx.values.release_borrowed)
            made.append(direct)
            out.direct = direct
            out.impl = lambda this, args: direct(*args)
        return made[0](*args)

    out.direct = bind
    out.impl = lambda this, args: bind(*args)
    return out


def _unbound(this: Any, args: list[Any]) -> Any:  # pragma: no cover - replaced in export_function
    raise AssertionError("export function used before it was made")


def export_entry(
    calls: Any,
    name: str,
    conv_in: list[Optional[Callable[[Any], Any]]],
    conv_out: list[Optional[Callable[[Any], Any]]],
    borrowed: int,
    release: Callable[[], None],
) -> Callable[..., Any]:
    """``entry(*js_args)`` for export ``name``: each argument converted to its wasm type
    (``conv_in``; None: an i32, checked inline), missing ones undefined and extra ones ignored as
    JS calls them, then the export's bound caller (:meth:`~realm_wasmer.host.calls.GuestCalls.caller`:
    the poison, thread and error translation of ``GuestCalls.call`` without its per-call arity and
    table look-ups) with exactly the export's arity, the borrowed externref slots released, the
    results converted (``conv_out``; none: undefined; several: a JS array). The code is
    generated once per signature shape."""
    build = _entry_builder(tuple(c is None for c in conv_in), tuple(c is None for c in conv_out), borrowed)
    return build(calls.caller(name), conv_in, conv_out, release)


_ENTRY_BUILDERS: dict[tuple[tuple[bool, ...], tuple[bool, ...], int], Callable[..., Callable[..., Any]]] = {}


def _entry_builder(
    i32_in: tuple[bool, ...], raw_out: tuple[bool, ...], borrowed: int
) -> Callable[..., Callable[..., Any]]:
    """``build(call, conv_in, conv_out, release) -> entry`` for one signature shape (see
    :func:`export_entry`), compiled on first use."""
    key = (i32_in, raw_out, borrowed)
    found = _ENTRY_BUILDERS.get(key)
    if found is not None:
        return found
    names = [f"a{i}" for i in range(len(i32_in))]
    wasm_args = ", ".join(
        f"{a} if type({a}) is int and -2147483648 <= {a} <= 2147483647 else to_i32({a})" if i32 else f"c{i}({a})"
        for i, (a, i32) in enumerate(zip(names, i32_in, strict=True))
    )
    outs = [f"raw[{i}]" if len(raw_out) > 1 else "raw" for i in range(len(raw_out))]
    outs = [v if keep else f"r{i}({v})" for i, (v, keep) in enumerate(zip(outs, raw_out, strict=True))]
    result = "U" if not outs else outs[0] if len(outs) == 1 else "[" + ", ".join(outs) + "]"
    if borrowed:  # converted (borrowed) first, released after the call whatever happens
        crossing = (
            f"        wasm_args = ({wasm_args},)\n"
            "        try:\n"
            "            raw = call(*wasm_args)\n"
            "        finally:\n" + "            release()\n" * borrowed
        )
    else:
        crossing = f"        raw = call({wasm_args})\n"
    unpack = "".join(f"    c{i} = conv_in[{i}]\n" for i, i32 in enumerate(i32_in) if not i32)
    unpack += "".join(f"    r{i} = conv_out[{i}]\n" for i, keep in enumerate(raw_out) if not keep)
    source = (
        "def build(call, conv_in, conv_out, release):\n"
        f"{unpack}"
        f"    def entry({', '.join([f'{a}=U' for a in names] + ['*_rest'])}):\n"
        f"{crossing}"
        f"        return {result}\n"
        "    return entry\n"
    )
    namespace: dict[str, Any] = {"U": UNDEFINED, "to_i32": to_i32}
    exec(compile(source, "<wasm export entry>", "exec"), namespace)  # noqa: S102 - generated from the signature shape
    build: Callable[..., Callable[..., Any]] = namespace["build"]
    _ENTRY_BUILDERS[key] = build
    return build


def make_exports(ctx: Any, instance: Any, proto: Any) -> WasmExports:
    exports = WasmExports()
    exports.proto = None
    exports.ctx = ctx
    exports.instance = instance
    fill_exports(exports, ctx, instance, proto)
    return exports


def fill_exports(exports: WasmExports, ctx: Any, instance: Any, protos: Any) -> None:
    exports.ctx = ctx
    exports.instance = instance
    module = ctx.info.module
    for export in module.exports:
        name = export.name
        if export.kind == "func":
            sig = module.export_signature(name)
            dict.__setitem__(exports, name, export_function(ctx, name, sig))
        elif export.kind == "memory":
            mem = WasmMemoryObject()
            mem.proto = protos["Memory"]
            mem.memory = ctx.memory
            dict.__setitem__(exports, name, mem)
        elif export.kind == "global":
            valtype = export.type.valtype if isinstance(export.type, GlobalType) else None
            dict.__setitem__(exports, name, make_global(ctx, name, protos["Global"], valtype))
        elif export.kind == "table":
            dict.__setitem__(exports, name, make_table(ctx, name, protos["Table"]))
    exports.extensible = False


def make_global(ctx: Any, name: str, proto: JsObject, valtype: Optional[str] = None) -> JsObject:
    """``exports.<name>`` for a global: ``value`` reads and writes it (wasm-bindgen's stack
    pointer, ``wasm.__wbindgen_export_N.value -= 16``), converted by the global's type
    (``valtype``; None: by the type of the value it holds, read on each write)."""
    engine = ctx.calls.engine
    g = m.new_object(proto, "WebAssembly.Global")
    global_get, global_set = engine.global_get, engine.global_set

    # The accessors read no ``this``: each has, besides its impl, a positional ``direct`` entry
    # (what translated glue calls, js/direct.py: ``wasm.__wbindgen_export_N.value`` straight to
    # the engine); the same steps, each a single frame.
    def get_value(this: Any, args: list[Any]) -> Any:
        v = global_get(name)
        return from_f64(v) if type(v) is float else v

    def read(*_: Any) -> Any:
        v = global_get(name)
        return from_f64(v) if type(v) is float else v

    if valtype == "i32":

        def set_value(this: Any, args: list[Any]) -> Any:
            v = args[0] if args else UNDEFINED
            global_set(name, v if type(v) is int and -2147483648 <= v <= 2147483647 else to_i32(v))
            return UNDEFINED

        def write(v: Any = UNDEFINED, *_: Any) -> Any:
            global_set(name, v if type(v) is int and -2147483648 <= v <= 2147483647 else to_i32(v))
            return UNDEFINED

    else:
        convert = {"i64": to_i64, "f32": to_f64, "f64": to_f64}.get(valtype or "")

        def write(v: Any = UNDEFINED, *_: Any) -> Any:
            to_wasm = convert or (to_f64 if isinstance(global_get(name), float) else to_i32)
            global_set(name, to_wasm(v))
            return UNDEFINED

        def set_value(this: Any, args: list[Any]) -> Any:
            return write(args[0] if args else UNDEFINED)

    getter = JSFunction(get_value, "value")
    getter.direct = read
    setter = JSFunction(set_value, "value")
    setter.direct = write
    dict.__setitem__(g, "value", Prop(getter=getter, setter=setter))
    return g


def make_table(ctx: Any, name: str, proto: JsObject) -> JsObject:
    t = m.new_object(proto, "WebAssembly.Table")
    tables = ctx.tables

    def native() -> Any:
        table = tables.native(name)
        if table is None:
            raise m.throw(
                "TypeError",
                f"this engine cannot reach table {name!r} from Python (wasmer-python has no table API); "
                "use engine='wasmtime' or a module rewriter",
            )
        return table

    def unwrap(v: Any) -> Any:
        return getattr(v, "value", v) if type(v).__name__ == "Val" else v

    def get(this: Any, args: list[Any]) -> Any:
        table = native()
        v = unwrap(table.get(tables._store(), to_i32(args[0] if args else 0)))
        if callable(v) and not isinstance(v, JSFunction):
            store = tables._store()
            fn = v
            return JSFunction(lambda this, a: fn(store, *a), "wasm-function")
        return UNDEFINED if v is None else v

    def set_(this: Any, args: list[Any]) -> Any:
        native().set(tables._store(), to_i32(args[0] if args else 0), args[1] if len(args) > 1 else None)
        return UNDEFINED

    def grow(this: Any, args: list[Any]) -> Any:
        table = native()
        return int(table.grow(tables._store(), to_i32(args[0] if args else 0), args[1] if len(args) > 1 else None))

    m.define(t, "get", JSFunction(get, "get", 1))
    m.define(t, "set", JSFunction(set_, "set", 2))
    m.define(t, "grow", JSFunction(grow, "grow", 1))
    dict.__setitem__(
        t, "length", Prop(getter=JSFunction(lambda this, a: int(native().size(tables._store())), "length"))
    )
    return t


# ---------------------------------------------------------------------------------------- imports


class BoundEntries:
    """Helper entries bound to one instance's JS-value store (js/helpers.py): a glue helper
    such as ``getObject`` is replaced in its module's frame by a function whose positional
    entry *is* the store's operation (no frame of its own, no check of ``wasm`` per call).

    Sound only while the glue's ``wasm`` refers to that instance. ``wasm`` changes only to the
    exports of an instance linked later (an init), so every link unbinds every bound entry
    (:meth:`linking`), and an entry binds only to the instance its realm linked last: a call
    made on the old instance between a new link and the glue's ``wasm = instance.exports``
    stays on the unbound path."""

    def __init__(self) -> None:
        self.bound: "weakref.WeakSet[Any]" = weakref.WeakSet()
        #: id(realm tables) -> the HostContext linked last in that realm (weakly held).
        self.newest: "weakref.WeakValueDictionary[int, Any]" = weakref.WeakValueDictionary()

    def linking(self, ctx: Any) -> None:
        """An instance is being linked in the active realm: unbind everything bound so far."""
        if self.newest.get(id(m.ACTIVE)) is ctx:
            return
        self.newest[id(m.ACTIVE)] = ctx
        for entry in list(self.bound):
            entry.unbind()
        self.bound.clear()

    def may_bind(self, tables: Any, ctx: Any) -> bool:
        return self.newest.get(id(tables)) is ctx


BOUND_ENTRIES = BoundEntries()


def import_handler(fn: JSFunction, sig: FuncType, ctx: Any) -> Callable[..., Any]:
    """The Python handler the engine links for a JS import function."""
    BOUND_ENTRIES.linking(ctx)
    impl = fn.impl
    # on an externref store (or handles, converted by the linker) a JS value crosses as itself
    itself = GLUE_SEMANTICS.get(getattr(ctx.values, "kind", "")) == "externref"
    conv_in = [None if itself and p == "externref" else _from_wasm(p, ctx, owned=False) for p in sig.params]
    results = sig.results
    out = _to_wasm(results[0], ctx, owned=True) if len(results) == 1 else None
    if itself and results == ("externref",):
        out = None
    direct = fn.direct
    if direct is not None and all(c is None for c in conv_in) and results == ("externref",) and out is None:
        return direct  # the JS value returned is what the guest receives
    if direct is not None and all(c is None for c in conv_in):
        # the lean path: the function's positional entry (js/direct.py) takes the raw i32s as they come
        twin = getattr(direct, "void" if not results else "i32", None) if results in ((), ("i32",)) else None
        if twin is not None:
            return twin  # type: ignore[no-any-return]
        if not results:

            def void_direct(*args: Any) -> None:
                direct(*args)

            return void_direct
        if results == ("i32",):

            def i32_direct(*args: Any) -> int:
                r = direct(*args)
                if type(r) is int and -2147483648 <= r <= 4294967295:
                    return r
                return to_i32(r)

            return i32_direct
        if out is not None:

            def one_direct(*args: Any) -> Any:
                return out(direct(*args))

            return one_direct
    if direct is not None and len(results) <= 1:
        # externref/f64/i64 parameters: converted per position, chosen once for this signature
        pairs = tuple(enumerate(conv_in))
        converted = [(i, c) for i, c in pairs if c is not None]

        def convert(args: tuple[Any, ...]) -> list[Any]:
            values = list(args)
            for i, c in converted:
                if i < len(values):
                    values[i] = c(values[i])
            return values

        if not results:

            def void_converted(*args: Any) -> None:
                direct(*convert(args))

            return void_converted
        to_wasm = out if out is not None else (lambda v: v)

        def one_converted(*args: Any) -> Any:
            return to_wasm(direct(*convert(args)))

        return one_converted
    if all(c is None for c in conv_in):
        if not results:

            def void(*args: Any) -> None:
                impl(UNDEFINED, list(args))

            return void
        if results == ("i32",):

            def i32(*args: Any) -> int:
                r = impl(UNDEFINED, list(args))
                if type(r) is int and -2147483648 <= r <= 4294967295:
                    return r
                return to_i32(r)

            return i32

    def general(*args: Any) -> Any:
        js_args = [a if c is None else c(a) for c, a in zip(conv_in, args, strict=False)]
        r = impl(UNDEFINED, js_args)
        if not results:
            return None
        if len(results) == 1:
            return r if out is None else out(r)
        items = list(m.iterate(r))
        return tuple(_to_wasm(t, ctx, True)(v) for t, v in zip(results, items, strict=False))

    return general


@attrs.define(eq=False)
class GlueResolver:
    """Answers function imports from the JS import object (``{module: {name: fn}}``)."""

    import_object: Any
    report: Callable[[str, str, JSFunction], None]
    name: str = "glue"

    def resolve(self, request: ImportRequest, ctx: Any) -> Optional[Resolution]:
        obj = self.import_object
        if not m.is_object(obj):
            return None
        namespace = m.get(obj, request.module)
        if not m.is_object(namespace):
            return None
        fn = m.get(namespace, request.name)
        if not isinstance(fn, JSFunction):
            return None
        self.report(request.module, request.name, fn)
        return Resolution(
            import_handler(fn, request.signature, ctx),
            "glue",
            f"JS glue: {fn.source or fn.fname}"[:200],
            "host",
            catch=False,
        )


def install(g: JsObject, realm: Any, instantiate: Callable[[bytes, Any, str], Any]) -> dict[str, JsObject]:
    """Define ``WebAssembly`` on ``g``; ``instantiate(bytes, import_object, origin)`` makes an
    (instance, exports) pair. Returns the prototypes of Memory/Global/Table objects."""
    W = m.new_object()
    m.define(g, "WebAssembly", W)
    protos: dict[str, JsObject] = {}

    def bytes_of(source: Any) -> bytes:
        if isinstance(source, typed.TypedArray):
            return bytes(source.numpy().view("u1"))
        if isinstance(source, (typed.ArrayBuffer, typed.MemoryBuffer)):
            return bytes(source.np())
        if isinstance(source, (bytes, bytearray)):
            return bytes(source)
        raise m.throw("TypeError", "WebAssembly.Module(): Argument 0 must be a buffer source")

    module_proto = m.new_object(cls="WebAssembly.Module")

    def make_module(args: list[Any], nt: Any) -> Any:
        source = args[0] if args else UNDEFINED
        mod = WasmModuleObject()
        mod.proto = module_proto
        mod.cls = "WebAssembly.Module"
        mod.data = bytes_of(source)
        mod.origin = getattr(source, "origin", None) or "<bytes>"
        return mod

    module_ctor = realm.native_class("Module", module_proto, make_module, None)
    m.define(W, "Module", module_ctor)
    instance_proto = m.new_object(cls="WebAssembly.Instance")

    def make_instance(args: list[Any], nt: Any) -> Any:
        mod = args[0] if args else UNDEFINED
        if not isinstance(mod, WasmModuleObject):
            raise m.throw("TypeError", "WebAssembly.Instance(): Argument 0 must be a WebAssembly.Module")
        instance, exports = instantiate(mod.data, args[1] if len(args) > 1 else UNDEFINED, mod.origin)
        inst = WasmInstanceObject()
        inst.proto = instance_proto
        inst.cls = "WebAssembly.Instance"
        inst.instance = instance
        m.define(inst, "exports", exports, enumerable=True)
        return inst

    m.define(W, "Instance", realm.native_class("Instance", instance_proto, make_instance, None))

    def instantiate_async(this: Any, args: list[Any]) -> Any:
        source = args[0] if args else UNDEFINED
        imports = args[1] if len(args) > 1 else UNDEFINED
        try:
            if isinstance(source, WasmModuleObject):
                return realm.promise_resolve(make_instance([source, imports], None))
            mod = make_module([source], None)
            result = m.new_object()
            dict.__setitem__(result, "instance", make_instance([mod, imports], None))
            dict.__setitem__(result, "module", mod)
            return realm.promise_resolve(result)
        except realm.catchable as exc:
            from .runtime import caught

            return realm.promise_rejected(caught(exc))

    m.define(W, "instantiate", JSFunction(instantiate_async, "instantiate", 1))
    m.define(W, "compile", JSFunction(lambda this, args: realm.promise_resolve(make_module(args, None)), "compile", 1))

    def validate(this: Any, args: list[Any]) -> Any:
        from ..wasm import parse

        try:
            parse(bytes_of(args[0] if args else UNDEFINED))
            return True
        except Exception:  # noqa: BLE001
            return False

    m.define(W, "validate", JSFunction(validate, "validate", 1))
    for name in ("Memory", "Global", "Table"):
        proto = m.new_object(cls=f"WebAssembly.{name}")

        def refuse(args: list[Any], nt: Any, name: str = name) -> Any:
            raise m.throw("TypeError", f"new WebAssembly.{name}() from JS is not supported by the evaluator")

        protos[name] = proto
        m.define(W, name, realm.native_class(name, proto, refuse, None))
    mem_proto = protos["Memory"]

    def buffer_of(this: Any) -> Any:
        if isinstance(this, WasmMemoryObject):
            return memory_buffer(this.memory)
        if isinstance(this, GuestMemory):
            return memory_buffer(this)
        raise m.throw("TypeError", "not a WebAssembly.Memory")

    m.getter(mem_proto, "buffer")(buffer_of)

    def grow(this: Any, args: list[Any]) -> Any:
        raise m.throw("RangeError", "WebAssembly.Memory.grow() from JS is not supported by the evaluator")

    m.define(mem_proto, "grow", JSFunction(grow, "grow", 1))
    m.PROTO_OF[GuestMemory] = mem_proto
    m.EXOTIC_GET[GuestMemory] = lambda mem, key: (
        memory_buffer(mem) if key == "buffer" else m.lookup(mem_proto, m.to_property_key(key), mem)
    )
    for name in ("CompileError", "LinkError", "RuntimeError"):
        base = m.ERROR_CLASSES["Error"]
        proto = m.new_object(m.ERROR_PROTO, "Error")
        m.define(proto, "name", name)
        ctor = realm.native_class(name, proto, lambda args, nt: m.construct(m.ERROR_CLASSES["Error"], args, nt), None)
        ctor.proto = base
        m.define(W, name, ctor)
    return protos
