"""wasm-bindgen's runtime intrinsics, with the JS glue's semantics, each written once.

Each handler here was written against the JS glue of the public corpus packages
(``../shared/corpus``) or against the intrinsic's declaration in wasm-bindgen's
``src/lib.rs`` (0.2.83, the ``externs!`` block), and its ``source`` names which.

A handler works on Python values. Its *shape* (e.g. ``"js -> i32"``,
``"retptr js"``, ``"ptr len -> js"``) says which parameters and results are JS
values; :func:`adapt` puts the module's :class:`~realm_wasmer.host.values.JsValueStore`
around it: on a heap-slab module a ``js`` parameter arrives as an i32 index and
is looked up, a ``js`` result is added to the slab; on an externref module the
values cross as themselves. The same shape gives the wasm signature the import
must have under that store, so a signature that does not match is not answered
(it shows up as unresolved, rather than being called wrongly).

Shape words: ``js`` a borrowed JS value, ``own`` a JS value handed over,
``ptr``/``len``/``retptr``/``i32`` an i32, ``f64`` an f64.

Intrinsics are matched by name with the hash stripped, across the naming eras:
``__wbindgen_throw`` and ``__wbg___wbindgen_throw_<hash>`` are the same intrinsic.

Every handler that allocates on the host for the guest charges the instance's
:class:`~realm_wasmer.limits.HostBudget` (``Limits.max_host_bytes``) *before*
allocating: string copies out of guest memory, externref table growth, each
value lowered into the JS-value heap, console messages (whose kept text is
also cut to :data:`CONSOLE_TEXT_LIMIT` characters).
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable, Optional

import attrs

from ..errors import JsError
from ..js.values import UNDEFINED, JsErrorValue, JsFunction, debug_repr, js_error, json_stringify
from ..limits import SLOT_BYTES, HostBudget
from ..wasm import FuncType
from .context import HostContext
from .guarded import source_handler
from .handles import HandleStore
from .heap import JsHeap
from .resolver import ImportRequest, Resolution
from .values import GLUE_SEMANTICS, ExternrefTableStore, JsValueStore

__all__ = [
    "CONSOLE_TEXT_LIMIT",
    "NOT_A_BOOL",
    "IntrinsicResolver",
    "JsErrorValue",
    "JsFunction",
    "ShimResolver",
    "adapt",
    "debug_repr",
    "js_error",
    "known_intrinsics",
]

console_log = logging.getLogger("realm_wasmer.console")

Factory = Callable[[HostContext], Callable[..., Any]]

_WASM_OF_WORD = {"ptr": "i32", "len": "i32", "retptr": "i32", "i32": "i32", "i64": "i64", "f32": "f32", "f64": "f64"}
_JS_WORDS = ("js", "own")


@attrs.frozen
class Shape:
    """Which parameters and result of an import are JS values."""

    params: tuple[str, ...]
    result: Optional[str]

    @classmethod
    def parse(cls, text: str) -> "Shape":
        params, _, result = text.partition("->")
        return cls(tuple(params.split()), result.strip() or None)

    def signature(self, store_type: str) -> FuncType:
        """The wasm signature of this shape when JS values cross as ``store_type``."""

        def wasm(word: str) -> str:
            return store_type if word in _JS_WORDS else _WASM_OF_WORD[word]

        return FuncType(tuple(wasm(p) for p in self.params), (wasm(self.result),) if self.result else ())

    def __str__(self) -> str:
        return " ".join(self.params) + (f" -> {self.result}" if self.result else "")


@attrs.frozen
class Intrinsic:
    name: str
    shape: Shape
    source: str
    factory: Factory
    #: The stores it exists for (None: every store).
    stores: Optional[tuple[str, ...]] = None


_INTRINSICS: dict[str, list[Intrinsic]] = {}


def intrinsic(
    name: str, shape: str, source: str, stores: Optional[tuple[str, ...]] = None
) -> Callable[[Factory], Factory]:
    def register(factory: Factory) -> Factory:
        _INTRINSICS.setdefault(name, []).append(Intrinsic(name, Shape.parse(shape), source, factory, stores))
        return factory

    return register


def known_intrinsics() -> dict[tuple[str, str], str]:
    """Every intrinsic implemented, per store: (name, wasm signature) -> where its semantics come from."""
    known: dict[tuple[str, str], str] = {}
    for entries in _INTRINSICS.values():
        for entry in entries:
            for store_type, kind in (("i32", "heap"), ("externref", "externref")):
                if entry.stores is None or kind in entry.stores:
                    known[(entry.name, str(entry.shape.signature(store_type)))] = entry.source
    return known


def adapt(
    handler: Callable[..., Any], shape: Shape, store: JsValueStore, budget: Optional[HostBudget] = None,
    label: str = "",
) -> Callable[..., Any]:
    """``handler`` (over Python values) as the import the guest calls under ``store``;
    a value lowered into a heap slab charges ``budget`` one slot (as import ``label``)."""
    if store.wasm_type == "externref":
        return handler  # values cross as themselves (on "handles" too: the linker converts handles)
    lifts = [store.lift if p == "js" else store.lift_owned if p == "own" else None for p in shape.params]
    lower: Optional[Callable[[Any], Any]] = store.lower if shape.result in _JS_WORDS else None
    if lower is not None and budget is not None:
        lower = _charged_lower(store, budget, label)
    if not any(lifts):
        if lower is None:
            return handler
        add = lower

        def lowered(*args: Any) -> Any:
            return add(handler(*args))

        return lowered
    if len(lifts) == 1 and lower is None and lifts[0] is not None:
        only: Callable[[Any], Any] = lifts[0]

        def one(raw: Any) -> Any:
            return handler(only(raw))

        return one
    if len(lifts) == 2 and lifts[0] is None and lower is None and lifts[1] is not None:
        last: Callable[[Any], Any] = lifts[1]

        def second(first: Any, raw: Any) -> Any:
            return handler(first, last(raw))

        return second

    def general(*args: Any) -> Any:
        values = [arg if lift is None else lift(arg) for lift, arg in zip(lifts, args, strict=True)]
        result = handler(*values)
        return lower(result) if lower is not None else result

    return general


def _charged_lower(store: JsValueStore, budget: HostBudget, label: str) -> Callable[[Any], Any]:
    """``store.lower`` charging ``budget`` one slot first (inlined into the slab's add on a heap)."""
    if isinstance(store, JsHeap):
        return store.charged_adder(budget, SLOT_BYTES, label)
    unbounded, charge = store.lower, budget.charge

    def charged(value: Any) -> Any:
        charge(SLOT_BYTES, label)
        return unbounded(value)

    return charged


#: Imports the guest crosses most, written for the heap slab in one frame each (raw i32s in
#: and out, the budget charge and the slab operation inlined): the same semantics as the
#: intrinsic's handler under :func:`adapt`, without its wrappers. Keyed by intrinsic (or
#: cast) name; a factory gets the context and the label the budget names.
HeapFused = Callable[[HostContext, str], Callable[..., Any]]
_HEAP_FUSED: dict[str, HeapFused] = {}


def _fused_for(name: str, ctx: HostContext, label: str) -> Optional[Callable[..., Any]]:
    """The one-frame heap version of intrinsic ``name``, when the module's store is a heap slab."""
    factory = _HEAP_FUSED.get(name)
    return factory(ctx, label) if factory is not None and isinstance(ctx.values, JsHeap) else None


_STRING_NEW = [
    "        used = budget.used + length",
    "        limit = budget.limit",
    "        if length < 0 or (limit is not None and used + SLOT_BYTES > limit):",
    "            charge(length, label)  # the unhurried steps: one of them raises if over the limit",
    "            text = string(ptr & 0xFFFFFFFF, length, True)",
    "            charge(SLOT_BYTES, label)",
    "            return add(text)",
    "        budget.used = used  # the copy is charged before the read, the slot after it (as adapt does)",
    "        ptr &= 0xFFFFFFFF",
    "        end = ptr + length",
    "        view = memory.trusted_view",
    "        if end > len(view):",
    "            text = string(ptr, length, True)  # checked against the engine: GuestMemoryError past the end",
    "        else:",
    "            try:",
    "                text = str(view[ptr:end], 'utf-8')",
    "            except UnicodeDecodeError:",
    "                text = string(ptr, length, True)  # raises InvalidGuestValue naming the address",
    "        budget.used = used + SLOT_BYTES",
    "        return add(text)",
]


def _fused_string_new(ctx: HostContext, label: str) -> Callable[..., Any]:
    """``addHeapObject(getStringFromWasm0(ptr, len))``: charge the copy and the slot, decode
    the UTF-8 straight from the last memoryview (checked against the engine only when the
    range lies past it, as :meth:`GuestMemory.trusted` does; an import runs inside an export
    call, which made the thread check), add to the slab. One frame with the import guard
    (host/guarded.py)."""
    heap = ctx.values
    assert isinstance(heap, JsHeap)
    memory, budget = ctx.memory, ctx.calls.budget
    env = {"budget": budget, "charge": budget.charge, "label": label, "string": memory.string, "memory": memory,
           "add": heap.add, "SLOT_BYTES": SLOT_BYTES}  # fmt: skip
    return source_handler("string_new", "ptr, length", _STRING_NEW, env)


def _fused_lower(ctx: HostContext, label: str) -> Callable[..., Any]:
    """An intrinsic whose handler is the identity (number_new, identity casts): the charged add."""
    heap = ctx.values
    assert isinstance(heap, JsHeap)
    return heap.charged_adder(ctx.calls.budget, SLOT_BYTES, label)


_HEAP_FUSED.update(
    {"__wbindgen_string_new": _fused_string_new, "__wbindgen_number_new": _fused_lower}
)


# -- object references (heap slab only) ----------------------------------------


@intrinsic("__wbindgen_object_drop_ref", "i32", "glue dropObject (message_parser, tiktoken)", stores=("heap",))
def _drop_ref(ctx: HostContext) -> Callable[..., Any]:
    assert isinstance(ctx.values, JsHeap)
    return ctx.values.drop


@intrinsic(
    "__wbindgen_object_clone_ref",
    "i32 -> i32",
    "glue: addHeapObject(getObject(i)) (message_parser)",
    stores=("heap",),
)
def _clone_ref(ctx: HostContext) -> Callable[..., Any]:
    assert isinstance(ctx.values, JsHeap)
    # one more heap slot, charged before the read; charge, read and add in one frame
    return ctx.values.charged_cloner(ctx.calls.budget, SLOT_BYTES, "__wbindgen_object_clone_ref")


# -- strings and numbers ------------------------------------------------------


@intrinsic("__wbindgen_string_new", "ptr len -> js", "glue: addHeapObject(getStringFromWasm0(p, l)) (message_parser)")
def _string_new(ctx: HostContext) -> Callable[..., Any]:
    string = ctx.memory.string
    charge = ctx.calls.budget.charge

    def string_new(ptr: int, length: int) -> str:
        charge(length, "__wbindgen_string_new")
        return string(ptr & 0xFFFFFFFF, length)

    return string_new


def _copied_string(ctx: HostContext, name: str) -> Callable[[int, int], str]:
    """Read a ``(ptr, len)`` string out of guest memory, charged to the budget as import ``name``."""
    string = ctx.memory.string
    charge = ctx.calls.budget.charge

    def copied(ptr: int, length: int) -> str:
        charge(length, name)
        return string(ptr, length)

    return copied


def _write_str_slice(ctx: HostContext, retptr: int, text: Optional[str]) -> None:
    """Write ``[ptr, len]`` of a malloc'd copy of ``text`` at ``retptr`` (``[0, 0]`` for None)."""
    ptr, length = ctx.abi.pass_string(text) if text is not None else (0, 0)
    ctx.memory.set_u32s(retptr, (ptr, length))


@intrinsic(
    "__wbindgen_string_get", "retptr js", "glue (resvg, css_inline): [ptr, len] of a malloc'd copy, 0 if no string"
)
def _string_get(ctx: HostContext) -> Callable[..., Any]:
    def string_get(retptr: int, value: Any) -> None:
        _write_str_slice(ctx, retptr, value if isinstance(value, str) else None)

    return string_get


@intrinsic("__wbindgen_number_new", "f64 -> js", "src/lib.rs@0.2.83 __wbindgen_number_new(f64)->u32")
def _number_new(ctx: HostContext) -> Callable[..., Any]:
    return lambda value: value


@intrinsic(
    "__wbindgen_number_get",
    "retptr js",
    "src/lib.rs@0.2.83 / css_inline glue: WasmOption<f64> through the out-pointer (tag at +0, f64 at +8)",
)
def _number_get(ctx: HostContext) -> Callable[..., Any]:
    memory = ctx.memory

    def number_get(retptr: int, value: Any) -> None:
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        memory.set_f64(retptr + 8, float(value) if is_number else 0.0)
        memory.set_u32(retptr, 1 if is_number else 0)

    return number_get


NOT_A_BOOL = 0xFFFFFF


@intrinsic(
    "__wbindgen_boolean_get",
    "js -> i32",
    "0/1 for a bool, else 0xFFFFFF (css_inline glue); src/lib.rs@0.2.83 as_bool reads any value but 0/1 as None",
)
def _boolean_get(ctx: HostContext) -> Callable[..., Any]:
    def boolean_get(value: Any) -> int:
        return int(value) if isinstance(value, bool) else NOT_A_BOOL

    return boolean_get


def is_object(value: Any) -> bool:
    """``typeof value === 'object' && value !== null`` for the values a Python host holds."""
    return value is not None and value is not UNDEFINED and not isinstance(value, (bool, int, float, str)) and not (
        callable(value)
    )


def _predicate(name: str, test: Callable[[Any], int], source: str) -> None:
    """A ``js -> i32`` test; ``test`` returns the 0/1 itself (the handler, no wrapper frame)."""

    @intrinsic(name, "js -> i32", source)
    def factory(ctx: HostContext) -> Callable[..., Any]:
        return test


_predicate(
    "__wbindgen_is_undefined", lambda v: 1 if v is UNDEFINED else 0, "glue: getObject(i) === undefined (tiktoken)"
)
_predicate("__wbindgen_is_null", lambda v: 1 if v is None else 0, "src/lib.rs@0.2.83 is_null: === null")
_predicate(
    "__wbindgen_is_string",
    lambda v: 1 if isinstance(v, str) else 0,
    "src/lib.rs@0.2.83 is_string: typeof === 'string'",
)
_predicate(
    "__wbindgen_is_function",
    lambda v: 1 if callable(v) and not isinstance(v, type) else 0,
    "src/lib.rs@0.2.83 is_function: typeof === 'function'",
)
_predicate(
    "__wbindgen_is_object",
    lambda v: 1 if is_object(v) else 0,
    "src/lib.rs@0.2.83, css_inline glue: typeof === 'object' && !== null",
)


@intrinsic("__wbindgen_in", "js js -> i32", "css_inline glue: arg0 in arg1")
def _in(ctx: HostContext) -> Callable[..., Any]:
    def in_(key: Any, obj: Any) -> int:
        try:
            return 1 if key in obj else 0
        except TypeError:
            return 0

    return in_


@intrinsic("__wbindgen_jsval_loose_eq", "js js -> i32", "css_inline glue: arg0 == arg1")
def _loose_eq(ctx: HostContext) -> Callable[..., Any]:
    nullish = (None, UNDEFINED)

    def loose_eq(a: Any, b: Any) -> int:
        if a in nullish or b in nullish:
            return 1 if (a in nullish and b in nullish) else 0
        return 1 if a == b else 0

    return loose_eq


# -- JSON -----------------------------------------------------------------


@intrinsic("__wbindgen_json_parse", "ptr len -> js", "src/lib.rs@0.2.83 JsValue::from_serde: JSON.parse(string)")
def _json_parse(ctx: HostContext) -> Callable[..., Any]:
    string = _copied_string(ctx, "__wbindgen_json_parse")

    def json_parse(ptr: int, length: int) -> Any:
        return json.loads(string(ptr, length))

    return json_parse


@intrinsic(
    "__wbindgen_json_serialize",
    "retptr js",
    "src/lib.rs@0.2.83 JsValue::into_serde: JSON.stringify, WasmSlice [ptr, len] through the out-pointer",
)
def _json_serialize(ctx: HostContext) -> Callable[..., Any]:
    def json_serialize(retptr: int, value: Any) -> None:
        text = None if value is UNDEFINED else json_stringify(value)
        _write_str_slice(ctx, retptr, text)

    return json_serialize


# -- errors -----------------------------------------------------------------


@intrinsic(
    "__wbindgen_error_new", "ptr len -> js", "glue: addHeapObject(new Error(getStringFromWasm0(p, l))) (tiktoken)"
)
def _error_new(ctx: HostContext) -> Callable[..., Any]:
    string = _copied_string(ctx, "__wbindgen_error_new")

    def error_new(ptr: int, length: int) -> JsErrorValue:
        return JsErrorValue(string(ptr, length))

    return error_new


@intrinsic(
    "__wbindgen_throw", "ptr len", "glue: throw new Error(getStringFromWasm0(p, l)) (message_parser); never returns"
)
def _throw(ctx: HostContext) -> Callable[..., Any]:
    string = _copied_string(ctx, "__wbindgen_throw")

    def throw(ptr: int, length: int) -> None:
        raise guest_thrown(JsErrorValue(string(ptr, length)))

    return throw


@intrinsic("__wbindgen_rethrow", "own", "glue: throw takeObject(i) (photon); never returns")
def _rethrow(ctx: HostContext) -> Callable[..., Any]:
    def rethrow(value: Any) -> None:
        raise guest_thrown(value)

    return rethrow


@intrinsic("__wbindgen_debug_string", "retptr js", "glue (message_parser, css_inline): [ptr, len] of debugString(v)")
def _debug_string(ctx: HostContext) -> Callable[..., Any]:
    def debug_string(retptr: int, value: Any) -> None:
        _write_str_slice(ctx, retptr, debug_repr(value))

    return debug_string


def guest_thrown(value: Any) -> JsError:
    """The JsError for a value the guest throws itself (an unwind it asked for)."""
    error = js_error(value)
    error.guest_thrown = True
    return error


# -- memory and describe ----------------------------------------------------


@intrinsic("__wbindgen_memory", " -> js", "glue: addHeapObject(wasm.memory) (resvg)")
def _memory(ctx: HostContext) -> Callable[..., Any]:
    memory = ctx.memory
    return lambda: memory


@intrinsic("__wbindgen_describe", "i32", "src/lib.rs@0.2.83 __wbindgen_describe(u32): one descriptor word")
def _describe(ctx: HostContext) -> Callable[..., Any]:
    sink = ctx.describe_words

    def describe(word: int) -> None:
        sink.append(word & 0xFFFFFFFF)

    return describe


# -- tables -------------------------------------------------------------------


@intrinsic(
    "__wbindgen_externref_table_grow",
    "i32 -> i32",
    "src/externref.rs@0.2.83 (raw modules): stands for table.grow(null, delta) and returns the OLD size",
)
def _externref_grow(ctx: HostContext) -> Callable[..., Any]:
    grow = ctx.tables.externref_grow
    charge = ctx.calls.budget.charge

    def externref_table_grow(delta: int) -> int:
        charge(delta * SLOT_BYTES, "__wbindgen_externref_table_grow")
        return grow(delta)

    return externref_table_grow


@intrinsic(
    "__wbindgen_externref_table_set_null",
    "i32",
    "src/externref.rs@0.2.83 (raw modules): stands for table.set(idx, null)",
)
def _externref_set_null(ctx: HostContext) -> Callable[..., Any]:
    return ctx.tables.externref_set_null


@intrinsic(
    "__wbindgen_init_externref_table",
    "",
    "css_inline/rollup glue: slot 0 = undefined; undefined, null, true, false at offset..offset+3",
    stores=("externref",),
)
def _init_externref_table(ctx: HostContext) -> Callable[..., Any]:
    assert isinstance(ctx.values, (ExternrefTableStore, HandleStore))
    return ctx.values.init_table


# -- casts (0.2.102+): their meaning is in the glue's body, not the wasm ------

_CASTS: dict[str, tuple[str, str, Factory]] = {
    "string": ("ptr len -> js", "cast: getStringFromWasm0(ptr, len) (from the glue)", _string_new),
    "identity": ("", "cast: the value itself (from the glue)", lambda ctx: lambda value: value),
}

#: The heap-fused version of each cast (see :data:`_HEAP_FUSED`): a string cast is string_new,
#: an identity cast on a heap slab takes a number (a JS value would already be an index) and adds it.
_CAST_FUSED = {"string": "__wbindgen_string_new", "identity": "__wbindgen_number_new"}


class IntrinsicResolver:
    """Answers wasm-bindgen intrinsics and the glue's casts, in the module's value store."""

    name = "intrinsic"

    def resolve(self, request: ImportRequest, ctx: HostContext) -> Optional[Resolution]:
        if request.module not in ctx.conventions.namespaces:
            return None  # e.g. env.__wbindgen_throw is the application's, not wasm-bindgen's
        parsed = request.parsed
        store = ctx.values
        if parsed.form == "cast":
            return self._cast(request, ctx)
        if parsed.form != "intrinsic":
            return None
        for entry in _INTRINSICS.get(parsed.base, ()):
            if entry.stores is not None and GLUE_SEMANTICS[store.kind] not in entry.stores:
                continue
            if entry.shape.signature(store.wasm_type) == request.signature:
                handler = _fused_for(parsed.base, ctx, parsed.base) or adapt(
                    entry.factory(ctx), entry.shape, store, ctx.calls.budget, parsed.base
                )
                return Resolution(handler, "intrinsic", f"{parsed.base}: {entry.source}", "intrinsic")
        return None

    def _cast(self, request: ImportRequest, ctx: HostContext) -> Optional[Resolution]:
        """A generic conversion. Casts resolve only when the glue was given."""
        kind = ctx.info.casts.get(request.name)
        if kind not in _CASTS:
            return None
        shape_text, description, factory = _CASTS[kind]
        store = ctx.values
        sig = request.signature
        if kind == "identity":
            # A number, bool or JS value becomes a JS value: the shape follows the import.
            if len(sig.params) != 1:
                return None
            word = "js" if sig.params[0] == store.wasm_type and sig.params[0] == "externref" else sig.params[0]
            if word != "js" and word not in _WASM_OF_WORD:
                return None
            shape_text = f"{word} -> js"
        shape = Shape.parse(shape_text)
        if shape.signature(store.wasm_type) != sig:
            return None
        fused = _fused_for(_CAST_FUSED[kind], ctx, request.name)
        handler = fused or adapt(factory(ctx), shape, store, ctx.calls.budget, request.name)
        return Resolution(handler, "intrinsic", description, "intrinsic")


# -- shims: js-sys / web-sys bindings known by name and signature -----------

_CONSOLE = {
    "log": logging.INFO,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "debug": logging.DEBUG,
}
_PTR_LEN = FuncType(("i32", "i32"), ())
#: Characters of each console message kept in ``Instance.console_messages`` (the logger gets all of
#: it): with ``CONSOLE_LIMIT`` messages kept, the record holds at most ~64 MiB whatever the guest logs.
CONSOLE_TEXT_LIMIT = 64 * 1024


class ShimResolver:
    """``console.log/info/warn/error/debug`` taking one ``&str`` (ptr, len),
    routed to the ``realm_wasmer.console`` logger and the instance's bounded
    console record. Recognised by the binding's name and signature only; the
    module's own descriptors (when it has them) are the authority, so user
    handlers come first in the chain."""

    name = "shim"

    def resolve(self, request: ImportRequest, ctx: HostContext) -> Optional[Resolution]:
        parsed = request.parsed
        if parsed.form != "binding" or parsed.base not in _CONSOLE or request.signature != _PTR_LEN:
            return None
        if request.module not in ctx.conventions.namespaces:
            return None
        level = _CONSOLE[parsed.base]
        memory = ctx.memory
        record = ctx.console.append
        method = parsed.base
        charge = ctx.calls.budget.charge
        label = f"{request.module}.{request.name}"

        def console(ptr: int, length: int) -> None:
            charge(length, label)
            text = memory.string(ptr, length)
            kept = text if len(text) <= CONSOLE_TEXT_LIMIT else (
                f"{text[:CONSOLE_TEXT_LIMIT]}... [{len(text) - CONSOLE_TEXT_LIMIT} more characters]"
            )
            record(method, kept)
            console_log.log(level, "%s", text)

        return Resolution(console, "shim", f"console.{parsed.base}(&str) -> logging 'realm_wasmer.console'", "shim")
