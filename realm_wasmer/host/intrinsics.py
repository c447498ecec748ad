"""wasm-bindgen's runtime intrinsics, with the JS glue's semantics.

Each handler here was written against the JS glue of the public corpus packages
(``../shared/corpus``) or against the intrinsic's declaration in wasm-bindgen's
``src/lib.rs`` (0.2.83, the ``externs!`` block), and the comment on each names
which. Heap-slab signatures only: externref-typed variants are not answered
here (they fall through to the missing-import policy).

Intrinsics are matched by name with the hash stripped, across the naming eras:
``__wbindgen_throw`` and ``__wbg___wbindgen_throw_<hash>`` are the same
intrinsic. A signature that does not match what the intrinsic takes is not
answered (and so shows up as unresolved, rather than being called wrongly).
"""

from __future__ import annotations

import json
import logging
import math
from typing import TYPE_CHECKING, Any, Callable, Optional

import attrs

from ..errors import JsError
from ..wasm import FuncType
from .heap import UNDEFINED
from .resolver import ImportRequest, Resolution

if TYPE_CHECKING:
    from ..instance import Instance

console_log = logging.getLogger("realm_wasmer.console")

Factory = Callable[["Instance"], Callable[..., Any]]


@attrs.frozen
class JsErrorValue:
    """A JS ``Error`` object made by the guest (``new Error(message)``)."""

    message: str
    name: str = "Error"

    def __str__(self) -> str:
        return self.message


class JsFunction:
    """Marker base for Python callables that stand in for JS functions."""


def js_error(value: Any) -> JsError:
    """The Python exception for a thrown or returned JS value."""
    if isinstance(value, JsErrorValue):
        return JsError(value.message, value)
    return JsError(value if isinstance(value, str) else repr(value), value)


def _sig(params: str, results: str = "") -> FuncType:
    return FuncType(tuple(params.split()), tuple(results.split()))


I32_TO_NONE = _sig("i32")
I32_TO_I32 = _sig("i32", "i32")
PTR_LEN_TO_I32 = _sig("i32 i32", "i32")
PTR_LEN = _sig("i32 i32")

#: (name, signature) -> (where its semantics come from, factory). Heap-slab and
#: externref modules import the same intrinsic with different signatures.
_INTRINSICS: dict[tuple[str, FuncType], tuple[str, Factory]] = {}


def intrinsic(name: str, signature: FuncType, source: str) -> Callable[[Factory], Factory]:
    def register(factory: Factory) -> Factory:
        _INTRINSICS[(name, signature)] = (source, factory)
        return factory

    return register


def known_intrinsics() -> dict[tuple[str, str], str]:
    """Every intrinsic implemented: (name, signature) -> where its semantics come from."""
    return {(name, str(sig)): source for (name, sig), (source, _) in _INTRINSICS.items()}


# -- object references ------------------------------------------------------


@intrinsic("__wbindgen_object_drop_ref", I32_TO_NONE, "glue dropObject (message_parser, tiktoken)")
def _drop_ref(instance: "Instance") -> Callable[..., Any]:
    return instance.heap.drop


@intrinsic("__wbindgen_object_clone_ref", I32_TO_I32, "glue: addHeapObject(getObject(i)) (message_parser)")
def _clone_ref(instance: "Instance") -> Callable[..., Any]:
    return instance.heap.clone


# -- strings and numbers ------------------------------------------------------


@intrinsic("__wbindgen_string_new", PTR_LEN_TO_I32, "glue: addHeapObject(getStringFromWasm0(p, l)) (message_parser)")
def _string_new(instance: "Instance") -> Callable[..., Any]:
    heap, memory = instance.heap, instance.memory

    def string_new(ptr: int, length: int) -> int:
        return heap.add(memory.string(ptr & 0xFFFFFFFF, length))

    return string_new


@intrinsic(
    "__wbindgen_string_get", PTR_LEN, "glue (resvg): writes [ptr, len] of a malloc'd copy, ptr 0 if not a string"
)
def _string_get(instance: "Instance") -> Callable[..., Any]:
    def string_get(retptr: int, index: int) -> None:
        value = instance.heap.get(index)
        ptr, length = instance.abi.pass_string(value) if isinstance(value, str) else (0, 0)
        instance.memory.set_u32s(retptr, (ptr, length))

    return string_get


@intrinsic("__wbindgen_number_new", _sig("f64", "i32"), "src/lib.rs@0.2.83 __wbindgen_number_new(f64)->u32")
def _number_new(instance: "Instance") -> Callable[..., Any]:
    return instance.heap.add


@intrinsic(
    "__wbindgen_number_get",
    PTR_LEN,
    "src/lib.rs@0.2.83: returns WasmOption<f64> (repr(C,u32): tag at +0, f64 at +8) through the out-pointer",
)
def _number_get(instance: "Instance") -> Callable[..., Any]:
    def number_get(retptr: int, index: int) -> None:
        value = instance.heap.get(index)
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        instance.memory.set_f64(retptr + 8, float(value) if is_number else 0.0)
        instance.memory.set_u32(retptr, 1 if is_number else 0)

    return number_get


NOT_A_BOOL = 0xFFFFFF


@intrinsic(
    "__wbindgen_boolean_get",
    I32_TO_I32,
    "0/1 for a bool, else 0xFFFFFF (css_inline glue); src/lib.rs@0.2.83 as_bool reads any value but 0/1 as None",
)
def _boolean_get(instance: "Instance") -> Callable[..., Any]:
    def boolean_get(index: int) -> int:
        value = instance.heap.get(index)
        return int(value) if isinstance(value, bool) else NOT_A_BOOL

    return boolean_get


def _predicate(name: str, test: Callable[[Any], bool], source: str) -> None:
    @intrinsic(name, I32_TO_I32, source)
    def factory(instance: "Instance") -> Callable[..., Any]:
        get = instance.heap.get

        def check(index: int) -> int:
            return 1 if test(get(index)) else 0

        return check


_predicate("__wbindgen_is_undefined", lambda v: v is UNDEFINED, "glue: getObject(i) === undefined (tiktoken)")
_predicate("__wbindgen_is_null", lambda v: v is None, "src/lib.rs@0.2.83 is_null: === null")
_predicate("__wbindgen_is_string", lambda v: isinstance(v, str), "src/lib.rs@0.2.83 is_string: typeof === 'string'")
_predicate(
    "__wbindgen_is_function",
    lambda v: callable(v) and not isinstance(v, type),
    "src/lib.rs@0.2.83 is_function: typeof === 'function'",
)
_predicate(
    "__wbindgen_is_object",
    lambda v: v is not None and v is not UNDEFINED and not isinstance(v, (bool, int, float, str)) and not callable(v),
    "src/lib.rs@0.2.83 is_object: typeof === 'object' && !== null",
)


# -- JSON -----------------------------------------------------------------


@intrinsic("__wbindgen_json_parse", PTR_LEN_TO_I32, "src/lib.rs@0.2.83 JsValue::from_serde: JSON.parse(string)")
def _json_parse(instance: "Instance") -> Callable[..., Any]:
    def json_parse(ptr: int, length: int) -> int:
        return instance.heap.add(json.loads(instance.memory.string(ptr, length)))

    return json_parse


@intrinsic(
    "__wbindgen_json_serialize",
    PTR_LEN,
    "src/lib.rs@0.2.83 JsValue::into_serde: JSON.stringify, WasmSlice [ptr, len] through the out-pointer",
)
def _json_serialize(instance: "Instance") -> Callable[..., Any]:
    def json_serialize(retptr: int, index: int) -> None:
        value = instance.heap.get(index)
        text = None if value is UNDEFINED else json.dumps(value, separators=(",", ":"), allow_nan=False)
        ptr, length = instance.abi.pass_string(text) if text is not None else (0, 0)
        instance.memory.set_u32s(retptr, (ptr, length))

    return json_serialize


# -- errors -----------------------------------------------------------------


@intrinsic(
    "__wbindgen_error_new", PTR_LEN_TO_I32, "glue: addHeapObject(new Error(getStringFromWasm0(p, l))) (tiktoken)"
)
def _error_new(instance: "Instance") -> Callable[..., Any]:
    def error_new(ptr: int, length: int) -> int:
        return instance.heap.add(JsErrorValue(instance.memory.string(ptr, length)))

    return error_new


@intrinsic(
    "__wbindgen_throw", PTR_LEN, "glue: throw new Error(getStringFromWasm0(p, l)) (message_parser); never returns"
)
def _throw(instance: "Instance") -> Callable[..., Any]:
    def throw(ptr: int, length: int) -> None:
        raise js_error(JsErrorValue(instance.memory.string(ptr, length)))

    return throw


@intrinsic("__wbindgen_rethrow", I32_TO_NONE, "glue: throw takeObject(i) (photon); never returns")
def _rethrow(instance: "Instance") -> Callable[..., Any]:
    def rethrow(index: int) -> None:
        raise js_error(instance.heap.take(index))

    return rethrow


@intrinsic(
    "__wbindgen_debug_string", PTR_LEN, "glue (message_parser): writes [ptr, len] of debugString(getObject(i))"
)
def _debug_string(instance: "Instance") -> Callable[..., Any]:
    def debug_string(retptr: int, index: int) -> None:
        ptr, length = instance.abi.pass_string(debug_repr(instance.heap.get(index)))
        instance.memory.set_u32s(retptr, (ptr, length))

    return debug_string


def debug_repr(value: Any) -> str:
    """The glue's ``debugString`` for the values a Python host holds: numbers as
    JS prints them, strings JSON-quoted, ``[a, b]`` for arrays,
    ``Object({...})`` for plain objects, ``Name: message`` for errors."""
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _js_number(float(value))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, JsErrorValue):
        return f"{value.name}: {value.message}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(debug_repr(v) for v in value) + "]"
    if isinstance(value, dict):
        try:
            return "Object(" + json.dumps(value, separators=(",", ":"), ensure_ascii=False) + ")"
        except (TypeError, ValueError):
            return "Object"
    if callable(value):
        return f"Function({getattr(value, '__name__', '')})"
    return type(value).__name__


def _js_number(number: float) -> str:
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number.is_integer() and abs(number) < 1e21:
        return str(int(number))
    return repr(number)


# -- memory and describe ----------------------------------------------------


@intrinsic("__wbindgen_memory", _sig("", "i32"), "glue: addHeapObject(wasm.memory) (resvg)")
def _memory(instance: "Instance") -> Callable[..., Any]:
    def memory() -> int:
        return instance.heap.add(instance.memory)

    return memory


@intrinsic("__wbindgen_describe", I32_TO_NONE, "src/lib.rs@0.2.83 __wbindgen_describe(u32): one descriptor word")
def _describe(instance: "Instance") -> Callable[..., Any]:
    sink = instance.describe_words

    def describe(word: int) -> None:
        sink.append(word & 0xFFFFFFFF)

    return describe


# -- externref transform placeholders (raw modules) -------------------------


@intrinsic(
    "__wbindgen_externref_table_grow",
    I32_TO_I32,
    "src/externref.rs@0.2.83: stands for table.grow(null, delta) and returns the OLD size",
)
def _externref_grow(instance: "Instance") -> Callable[..., Any]:
    return instance.tables.externref_grow


@intrinsic(
    "__wbindgen_externref_table_set_null", I32_TO_NONE, "src/externref.rs@0.2.83: stands for table.set(idx, null)"
)
def _externref_set_null(instance: "Instance") -> Callable[..., Any]:
    return instance.tables.externref_set_null


# -- externref mode (the CLI's externref transform; values cross as Python objects) --

XREF = "externref"


def _is_object(value: Any) -> bool:
    return value is not None and value is not UNDEFINED and not isinstance(value, (bool, int, float, str)) and not (
        callable(value)
    )


def _xref_predicate(name: str, test: Callable[[Any], bool], source: str) -> None:
    @intrinsic(name, FuncType((XREF,), ("i32",)), source)
    def factory(instance: "Instance") -> Callable[..., Any]:
        def check(value: Any) -> int:
            return 1 if test(value) else 0

        return check


_xref_predicate("__wbindgen_is_undefined", lambda v: v is UNDEFINED, "css_inline glue: arg0 === void 0")
_xref_predicate("__wbindgen_is_null", lambda v: v is None, "externref form of is_null")
_xref_predicate("__wbindgen_is_string", lambda v: isinstance(v, str), "externref form of is_string")
_xref_predicate("__wbindgen_is_object", _is_object, "css_inline glue: typeof val === 'object' && val !== null")
_xref_predicate(
    "__wbindgen_is_function", lambda v: callable(v) and not isinstance(v, type), "externref form of is_function"
)


@intrinsic("__wbindgen_boolean_get", FuncType((XREF,), ("i32",)), "css_inline glue: 0/1, 16777215 if not a bool")
def _x_boolean_get(instance: "Instance") -> Callable[..., Any]:
    def boolean_get(value: Any) -> int:
        return int(value) if isinstance(value, bool) else NOT_A_BOOL

    return boolean_get


@intrinsic("__wbindgen_number_get", FuncType(("i32", XREF), ()), "css_inline glue: f64 at +8, is-some i32 at +0")
def _x_number_get(instance: "Instance") -> Callable[..., Any]:
    def number_get(retptr: int, value: Any) -> None:
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        instance.memory.set_f64(retptr + 8, float(value) if is_number else 0.0)
        instance.memory.set_u32(retptr, 1 if is_number else 0)

    return number_get


@intrinsic("__wbindgen_string_get", FuncType(("i32", XREF), ()), "css_inline glue: [ptr, len], ptr 0 if not a string")
def _x_string_get(instance: "Instance") -> Callable[..., Any]:
    def string_get(retptr: int, value: Any) -> None:
        ptr, length = instance.abi.pass_string(value) if isinstance(value, str) else (0, 0)
        instance.memory.set_u32s(retptr, (ptr, length))

    return string_get


@intrinsic("__wbindgen_debug_string", FuncType(("i32", XREF), ()), "css_inline glue: [ptr, len] of debugString")
def _x_debug_string(instance: "Instance") -> Callable[..., Any]:
    def debug_string(retptr: int, value: Any) -> None:
        instance.memory.set_u32s(retptr, instance.abi.pass_string(debug_repr(value)))

    return debug_string


@intrinsic("__wbindgen_in", FuncType((XREF, XREF), ("i32",)), "css_inline glue: arg0 in arg1")
def _x_in(instance: "Instance") -> Callable[..., Any]:
    def in_(key: Any, obj: Any) -> int:
        try:
            return 1 if key in obj else 0
        except TypeError:
            return 0

    return in_


@intrinsic("__wbindgen_jsval_loose_eq", FuncType((XREF, XREF), ("i32",)), "css_inline glue: arg0 == arg1")
def _x_loose_eq(instance: "Instance") -> Callable[..., Any]:
    def loose_eq(a: Any, b: Any) -> int:
        nullish = (None, UNDEFINED)
        if a in nullish or b in nullish:
            return 1 if (a in nullish and b in nullish) else 0
        return 1 if a == b else 0

    return loose_eq


@intrinsic(
    "__wbindgen_init_externref_table",
    _sig(""),
    "css_inline/rollup glue: slot 0 = undefined; undefined, null, true, false at offset..offset+3",
)
def _init_externref_table(instance: "Instance") -> Callable[..., Any]:
    return instance.tables.init_externref_table


class IntrinsicResolver:
    """Answers wasm-bindgen intrinsics whose signature matches the heap-slab form."""

    name = "intrinsic"

    def resolve(self, request: ImportRequest, instance: "Instance") -> Optional[Resolution]:
        parsed = request.parsed
        if parsed.form == "cast":
            return self._cast(request, instance)
        if parsed.form != "intrinsic":
            return None
        entry = _INTRINSICS.get((parsed.base, request.signature))
        if entry is None:
            return None
        source, factory = entry
        return Resolution(factory(instance), "intrinsic", f"{parsed.base}: {source}", "intrinsic")


    def _cast(self, request: ImportRequest, instance: "Instance") -> Optional[Resolution]:
        """A generic conversion (0.2.102+). Its meaning is not in the wasm; only
        the glue's body says it, so casts resolve only when the glue was given."""
        kind = instance.info.casts.get(request.name)
        sig = request.signature
        to_heap = sig.results == ("i32",)
        if kind == "string" and sig.params == ("i32", "i32") and (to_heap or sig.results == (XREF,)):
            memory, heap = instance.memory, instance.heap

            def cast_string(ptr: int, length: int) -> Any:
                text = memory.string(ptr & 0xFFFFFFFF, length)
                return heap.add(text) if to_heap else text

            description = "cast: getStringFromWasm0(ptr, len) (from the glue)"
            return Resolution(cast_string, "intrinsic", description, "intrinsic")
        if kind == "identity" and len(sig.params) == 1 and sig.results == (XREF,):
            return Resolution(lambda value: value, "intrinsic", "cast: the value itself (from the glue)", "intrinsic")
        return None


# -- shims: js-sys / web-sys bindings known by name and signature -----------

_CONSOLE = {
    "log": logging.INFO,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "debug": logging.DEBUG,
}


class ShimResolver:
    """``console.log/info/warn/error/debug`` taking one ``&str`` (ptr, len),
    routed to the ``realm_wasmer.console`` logger. Recognised by the binding's
    name and signature only; the module's own descriptors (when it has them)
    are the authority, so user handlers come first in the chain."""

    name = "shim"

    def resolve(self, request: ImportRequest, instance: "Instance") -> Optional[Resolution]:
        parsed = request.parsed
        if parsed.form != "binding" or parsed.base not in _CONSOLE or request.signature != PTR_LEN:
            return None
        level = _CONSOLE[parsed.base]
        memory = instance.memory
        messages = instance.console_messages

        def console(ptr: int, length: int) -> None:
            text = memory.string(ptr, length)
            messages.append((parsed.base, text))
            console_log.log(level, "%s", text)

        return Resolution(console, "shim", f"console.{parsed.base}(&str) -> logging 'realm_wasmer.console'", "shim")
