"""wasm-bindgen type descriptors: run on the engine, decoded into a type tree.

A raw (pre-CLI) module exports one ``__wbindgen_describe_<export>()`` per bound
function. Called, it reports the function's Rust signature as a stream of u32
words through the ``__wbindgen_describe`` import (which the library's intrinsics
append to ``Instance.describe_words``). This module

* runs those exports on the real engine (:func:`describe_all`) and, for closure
  descriptors reached by function-table index, through the table manager
  (:func:`describe_table_function`);
* decodes the words into a tree of :class:`Type` nodes (:func:`decode`) with the
  code table of the module's schema version (:func:`code_table_for`); the codes
  were renumbered in 0.2.84, 0.2.93, 0.2.96, 0.2.119 and 0.2.121, so every known
  table is kept here as data;
* computes the wasm32 ABI of a type as wasm-bindgen 0.2.83 lowers it
  (:func:`abi_layout`, :func:`expected_signature`): which scalars an argument is
  split into, and whether a result comes back directly or through a retptr slot.

The decoder follows ``tys!`` in wasm-bindgen's ``src/describe.rs`` and the
grammar of ``crates/cli-support/src/descriptor.rs`` (read, not copied).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Optional, Sequence

import attrs

from ..conventions import version_tuple
from ..errors import DescriptorError as DescriptorError
from ..errors import UnsupportedSchema as UnsupportedSchema
from ..errors import UnsupportedType as UnsupportedType
from ..wasm import FuncType

if TYPE_CHECKING:
    from ..instance import Instance

DESCRIBE_PREFIX = "__wbindgen_describe_"


# ---------------------------------------------------------------------------
# Code tables (the order of ``tys!``: a code is the index of its name)
# ---------------------------------------------------------------------------

_BASE_0_2_83 = (
    "I8 U8 I16 U16 I32 U32 I64 U64 F32 F64 BOOLEAN FUNCTION CLOSURE CACHED_STRING STRING REF REFMUT "
    "SLICE VECTOR EXTERNREF NAMED_EXTERNREF ENUM RUST_STRUCT CHAR OPTIONAL RESULT UNIT CLAMPED"
)
_0_2_84 = _BASE_0_2_83.replace("REFMUT SLICE", "REFMUT LONGREF SLICE")
_0_2_92 = _0_2_84 + " NONNULL"
_0_2_93 = _0_2_92.replace("ENUM RUST_STRUCT", "ENUM STRING_ENUM RUST_STRUCT")
_0_2_96 = _0_2_93.replace("U64 F32", "U64 I128 U128 F32")
_0_2_119 = _0_2_96.replace("U64 I128", "U64 I64_AS_F64 U64_AS_F64 I128") + " RAW_POINTER"
_0_2_121 = _0_2_119.replace("STRING_ENUM RUST_STRUCT", "STRING_ENUM DYNAMIC_UNION RUST_STRUCT")


@attrs.frozen
class CodeTable:
    """The descriptor codes of one range of wasm-bindgen versions, and the
    grammar details that changed with them."""

    #: The first schema/crate version this table applies to, e.g. ``"0.2.96"``.
    since: str
    #: Code names in ``tys!`` order: ``names[code]``.
    names: tuple[str, ...]
    #: ``ENUM`` carries the enum's name before its hole value (later versions).
    enum_named: bool = False
    #: ``CLOSURE`` is followed by (owned, mutable) flags instead of (shim, dtor, REF|REFMUT) (0.2.115+).
    closure_flags: bool = False
    #: Name strings are prefixed by their char count; before 0.2.127 by their UTF-8 byte count.
    name_len_in_chars: bool = False
    #: Fully supported (descriptors, program and ABI); the others are decoded as data.
    full: bool = False

    def code(self, name: str) -> int:
        return self.names.index(name)

    def name(self, code: int) -> Optional[str]:
        return self.names[code] if 0 <= code < len(self.names) else None

    @property
    def codes(self) -> dict[str, int]:
        return {name: code for code, name in enumerate(self.names)}


CODE_TABLES: tuple[CodeTable, ...] = (
    CodeTable("0.2.83", tuple(_BASE_0_2_83.split()), full=True),
    CodeTable("0.2.84", tuple(_0_2_84.split())),
    CodeTable("0.2.92", tuple(_0_2_92.split())),
    CodeTable("0.2.93", tuple(_0_2_93.split()), enum_named=True),
    CodeTable("0.2.96", tuple(_0_2_96.split()), enum_named=True),
    CodeTable("0.2.115", tuple(_0_2_96.split()), enum_named=True, closure_flags=True),
    CodeTable("0.2.119", tuple(_0_2_119.split()), enum_named=True, closure_flags=True),
    CodeTable("0.2.121", tuple(_0_2_121.split()), enum_named=True, closure_flags=True),
    CodeTable("0.2.127", tuple(_0_2_121.split()), enum_named=True, closure_flags=True, name_len_in_chars=True),
)
#: The newest wasm-bindgen version whose descriptor format is known here.
NEWEST_KNOWN = "0.2.127"


def code_table_for(schema_version: Optional[str]) -> CodeTable:
    """The code table for a module's schema version (from its
    ``__wasm_bindgen_unstable`` section). Unknown, older or newer schemas are
    refused with :class:`UnsupportedSchema`."""
    parsed = version_tuple(schema_version)
    first, newest = version_tuple(CODE_TABLES[0].since), version_tuple(NEWEST_KNOWN)
    assert first is not None and newest is not None
    if parsed is None:
        raise UnsupportedSchema(
            f"the module has no readable wasm-bindgen schema version ({schema_version!r}); descriptors "
            f"can only be decoded for raw wasm-bindgen output with a __wasm_bindgen_unstable section"
        )
    if parsed < first or parsed > newest:
        raise UnsupportedSchema(
            f"unknown wasm-bindgen schema version {schema_version}: descriptor codes are known for "
            f"{CODE_TABLES[0].since} to {NEWEST_KNOWN}"
        )
    chosen = CODE_TABLES[0]
    for table in CODE_TABLES:
        since = version_tuple(table.since)
        assert since is not None
        if since <= parsed:
            chosen = table
    return chosen


# ---------------------------------------------------------------------------
# The type tree
# ---------------------------------------------------------------------------


class Type:
    """Base of every decoded descriptor node; ``str()`` gives the Rust spelling."""

    #: The Rust spelling, formatted with the node itself (``"Vec<{0.inner}>"``);
    #: nodes whose spelling is not one template override ``__str__``.
    spelling: ClassVar[str] = ""

    def __str__(self) -> str:
        return self.spelling.format(self)

    def children(self) -> tuple["Type", ...]:
        return ()


@attrs.frozen
class Int(Type):
    """An integer: ``bits`` 8/16/32/64/128; ``as_f64``: the 0.2.119+ i64/u64-as-Number form."""

    bits: int
    signed: bool
    as_f64: bool = False

    @property
    def rust(self) -> str:
        return f"{'i' if self.signed else 'u'}{self.bits}"

    @property
    def bounds(self) -> tuple[int, int]:
        if self.signed:
            return -(1 << (self.bits - 1)), (1 << (self.bits - 1)) - 1
        return 0, (1 << self.bits) - 1

    spelling = "{0.rust}"


@attrs.frozen
class Float(Type):
    bits: int

    spelling = "f{0.bits}"


@attrs.frozen
class Bool(Type):
    spelling = "bool"


@attrs.frozen
class Char(Type):
    spelling = "char"


@attrs.frozen
class Unit(Type):
    spelling = "()"


@attrs.frozen
class Str(Type):
    """``String`` (and ``str`` under a reference); ``cached``: the interning variant."""

    cached: bool = False

    spelling = "String"


@attrs.frozen
class Externref(Type):
    """A ``JsValue``: a heap-slab index (or an externref after the CLI transform)."""

    spelling = "JsValue"


@attrs.frozen
class NamedExternref(Type):
    """An imported JS type (``#[wasm_bindgen] extern { type Foo; }``)."""

    name: str

    spelling = "{0.name}"


@attrs.frozen
class RustStruct(Type):
    """An exported ``#[wasm_bindgen] struct`` (a class), by its JS name."""

    name: str

    spelling = "{0.name}"


@attrs.frozen
class Enum(Type):
    """A C-style enum; ``hole`` is the value that means ``None`` in ``Option<Enum>``.
    0.2.83 does not send the name."""

    name: Optional[str]
    hole: int

    def __str__(self) -> str:
        return self.name or f"enum(hole={self.hole})"


@attrs.frozen
class StringEnum(Type):
    name: str
    variant_count: int

    spelling = "{0.name}"


@attrs.frozen
class NonNull(Type):
    spelling = "NonNull<_>"


@attrs.frozen
class RawPointer(Type):
    spelling = "*const _"


@attrs.frozen
class Wrapper(Type):
    """A node with one inner type."""

    inner: Type

    def children(self) -> tuple[Type, ...]:
        return (self.inner,)


@attrs.frozen
class Ref(Wrapper):
    def __str__(self) -> str:
        return "&str" if isinstance(self.inner, Str) else f"&{self.inner}"


@attrs.frozen
class RefMut(Wrapper):
    spelling = "&mut {0.inner}"


@attrs.frozen
class Slice(Wrapper):
    spelling = "[{0.inner}]"


@attrs.frozen
class Vector(Wrapper):
    """``Vec<T>`` or ``Box<[T]>`` (they describe identically)."""

    spelling = "Vec<{0.inner}>"


@attrs.frozen
class Option(Wrapper):
    spelling = "Option<{0.inner}>"


@attrs.frozen
class Result(Wrapper):
    """``Result<T, E>``; the error type is not described (it is always ``Into<JsValue>``)."""

    spelling = "Result<{0.inner}, JsValue>"


@attrs.frozen
class Clamped(Wrapper):
    spelling = "Clamped<{0.inner}>"


@attrs.frozen
class Function(Type):
    """A function signature: ``FUNCTION, shim_idx, nargs, args..., ret, inner_ret``.
    For exports ``shim_idx`` is 0; for stack closures it is the invoke shim's table index."""

    shim_idx: int
    args: tuple[Type, ...]
    ret: Type
    inner_ret: Optional[Type] = None

    def children(self) -> tuple[Type, ...]:
        return (*self.args, self.ret)

    def __str__(self) -> str:
        args = ", ".join(str(a) for a in self.args)
        ret = "" if isinstance(self.ret, Unit) else f" -> {self.ret}"
        return f"fn({args}){ret}"


@attrs.frozen
class Closure(Type):
    """A ``Closure<dyn Fn/FnMut>`` described at run time. Up to 0.2.114 it
    carries the invoke and destroy shims' table indices; later, owned/mutable flags."""

    function: Function
    mutable: bool
    shim_idx: Optional[int] = None
    dtor_idx: Optional[int] = None
    owned: Optional[bool] = None

    def children(self) -> tuple[Type, ...]:
        return (self.function,)

    def __str__(self) -> str:
        kind = "FnMut" if self.mutable else "Fn"
        return f"Closure<dyn {kind}{str(self.function)[2:]}>"


_SCALARS: dict[str, Type] = {
    "I8": Int(8, True),
    "U8": Int(8, False),
    "I16": Int(16, True),
    "U16": Int(16, False),
    "I32": Int(32, True),
    "U32": Int(32, False),
    "I64": Int(64, True),
    "U64": Int(64, False),
    "I128": Int(128, True),
    "U128": Int(128, False),
    "I64_AS_F64": Int(64, True, as_f64=True),
    "U64_AS_F64": Int(64, False, as_f64=True),
    "F32": Float(32),
    "F64": Float(64),
    "BOOLEAN": Bool(),
    "CHAR": Char(),
    "UNIT": Unit(),
    "STRING": Str(),
    "CACHED_STRING": Str(cached=True),
    "EXTERNREF": Externref(),
    "NONNULL": NonNull(),
    "RAW_POINTER": RawPointer(),
}
_WRAPPERS: dict[str, type[Wrapper]] = {
    "REF": Ref,
    "REFMUT": RefMut,
    "SLICE": Slice,
    "VECTOR": Vector,
    "OPTIONAL": Option,
    "RESULT": Result,
}


class _Words:
    def __init__(self, words: Sequence[int], table: CodeTable) -> None:
        self.words = [w & 0xFFFFFFFF for w in words]
        self.pos = 0
        self.table = table

    def get(self, what: str) -> int:
        if self.pos >= len(self.words):
            raise DescriptorError(f"descriptor ended early: expected {what} at word {self.pos} of {self.words}")
        word = self.words[self.pos]
        self.pos += 1
        return word

    def string(self) -> str:
        """A name: its length, then one u32 per ``char``. Before 0.2.127 the
        length counts UTF-8 bytes (``str::len``), so chars are read until their
        encoded size reaches it."""
        length = self.get("a name length")
        chars: list[str] = []
        size = 0
        while (len(chars) if self.table.name_len_in_chars else size) < length:
            code = self.get("a name character")
            try:
                char = chr(code)
            except (ValueError, OverflowError):
                raise DescriptorError(f"invalid char {code:#x} in a descriptor name") from None
            chars.append(char)
            size += len(char.encode("utf-8", "surrogatepass"))
        return "".join(chars)


def decode(words: Sequence[int], table: CodeTable) -> Type:
    """Decode one complete descriptor (all words must be used)."""
    stream = _Words(words, table)
    ty = _decode(stream)
    if stream.pos != len(stream.words):
        raise DescriptorError(f"{len(stream.words) - stream.pos} words left over after {ty}: {stream.words}")
    return ty


def _decode(s: _Words, clamped: bool = False) -> Type:
    at = s.pos
    code = s.get("a type code")
    name = s.table.name(code)
    if name is None:
        raise DescriptorError(
            f"unknown descriptor code {code} at word {at} (code table of {s.table.since}): {s.words}"
        )
    if name in _SCALARS:
        return _SCALARS[name]
    if name in _WRAPPERS:
        return _WRAPPERS[name](_decode(s, clamped))
    if name == "LONGREF":
        inner = _decode(s, clamped)
        return inner if isinstance(inner, (Externref, NamedExternref)) else Ref(inner)
    if name == "CLAMPED":
        return Clamped(_decode(s, True))
    if name == "FUNCTION":
        return _function(s)
    if name == "CLOSURE":
        return _closure(s)
    if name == "RUST_STRUCT":
        return RustStruct(s.string())
    if name == "NAMED_EXTERNREF":
        return NamedExternref(s.string())
    if name == "ENUM":
        enum_name = s.string() if s.table.enum_named else None
        return Enum(enum_name, s.get("an enum hole"))
    if name == "STRING_ENUM":
        return StringEnum(s.string(), s.get("a variant count"))
    raise DescriptorError(f"descriptor code {name} ({code}) is known but not decoded by this library")


def _function(s: _Words) -> Function:
    shim = s.get("a shim index")
    count = s.get("an argument count")
    if count > 64:
        raise DescriptorError(f"implausible argument count {count} in {s.words}")
    args = tuple(_decode(s) for _ in range(count))
    ret = _decode(s)
    return Function(shim, args, ret, _decode(s))


def _closure(s: _Words) -> Closure:
    fn_code = s.table.code("FUNCTION")
    if s.table.closure_flags:
        owned = bool(s.get("the owned flag"))
        mutable = bool(s.get("the mutable flag"))
        if s.get("FUNCTION") != fn_code:
            raise DescriptorError(f"a closure descriptor must continue with FUNCTION: {s.words}")
        return Closure(_function(s), mutable, owned=owned)
    shim, dtor = s.get("the invoke shim"), s.get("the destructor")
    mutable = s.get("REF or REFMUT") == s.table.code("REFMUT")
    if s.get("FUNCTION") != fn_code:
        raise DescriptorError(f"a closure descriptor must continue with FUNCTION: {s.words}")
    return Closure(_function(s), mutable, shim_idx=shim, dtor_idx=dtor)


# ---------------------------------------------------------------------------
# Running the describe exports
# ---------------------------------------------------------------------------


def describe_exports(instance: "Instance") -> list[str]:
    """Names of the ``__wbindgen_describe_*`` exports (the prefix stripped)."""
    return [
        name[len(DESCRIBE_PREFIX) :]
        for name, _ in instance.info.module.function_exports()
        if name.startswith(DESCRIBE_PREFIX)
    ]


def describe_words(instance: "Instance", name: str) -> tuple[int, ...]:
    """Run ``__wbindgen_describe_<name>`` and return the words it sent."""
    sink = instance.describe_words
    sink.clear()
    instance.call(DESCRIBE_PREFIX + name)
    words = tuple(sink)
    sink.clear()
    return words


def describe(instance: "Instance", name: str, table: Optional[CodeTable] = None) -> Type:
    """The decoded descriptor of export (or import shim) ``name``."""
    table = table or code_table_for(instance.info.schema_version)
    return decode(describe_words(instance, name), table)


def describe_all(instance: "Instance", table: Optional[CodeTable] = None) -> dict[str, Type]:
    """Every descriptor the module exports, keyed by the described name."""
    table = table or code_table_for(instance.info.schema_version)
    return {name: decode(describe_words(instance, name), table) for name in describe_exports(instance)}


def describe_table_function(instance: "Instance", index: int, table_name: Optional[str] = None) -> tuple[int, ...]:
    """Run the describe function at ``index`` of the module's function table
    (what ``__wbindgen_describe_closure`` hands over for a ``Closure<T>``) and
    return its words. Needs an engine whose tables the host can reach
    (wasmtime); the table manager says when it cannot."""
    tables = instance.tables
    names = [table_name] if table_name else list(tables.funcref_tables)
    for name in names:
        native = tables.native(name)
        if native is None:
            continue
        store = getattr(instance.engine_instance, "store", None)
        function = native.get(store, index)
        if function is None:
            raise DescriptorError(f"function table {name!r} has no function at index {index}")
        sink = instance.describe_words
        sink.clear()
        function(store)
        words = tuple(sink)
        sink.clear()
        return words
    raise DescriptorError(
        f"cannot call function-table entry {index}: the module exports no function table "
        f"(tables: {tables.exported_tables}) or the engine {instance.engine_name!r} cannot reach it; use 'wasmtime'"
    )


# ---------------------------------------------------------------------------
# The wasm32 ABI of 0.2.83 (what the generated shims take and return)
# ---------------------------------------------------------------------------

Leaf = str  # "i32", "i64", "f32" or "f64"
_LEAF_SIZE = {"i32": 4, "f32": 4, "i64": 8, "f64": 8}


@attrs.frozen
class Layout:
    """How a value crosses: its scalar leaves with their byte offsets (for a
    retptr read), its C size and alignment, and whether it is an aggregate
    (split into scalars as an argument, returned through a retptr slot)."""

    leaves: tuple[tuple[int, Leaf], ...]
    size: int
    align: int
    aggregate: bool

    @property
    def params(self) -> tuple[Leaf, ...]:
        return tuple(leaf for _, leaf in self.leaves)


def _scalar(leaf: Leaf) -> Layout:
    return Layout(((0, leaf),), _LEAF_SIZE[leaf], _LEAF_SIZE[leaf], False)


def _struct(*parts: Layout) -> Layout:
    leaves: list[tuple[int, Leaf]] = []
    offset, align = 0, 1
    for part in parts:
        offset = -(-offset // part.align) * part.align
        leaves.extend((offset + o, leaf) for o, leaf in part.leaves)
        offset += part.size
        align = max(align, part.align)
    return Layout(tuple(leaves), -(-offset // align) * align, align, True)


_EMPTY = Layout((), 0, 1, True)
_I32 = _scalar("i32")
_SLICE = _struct(_I32, _I32)


def _number_leaf(ty: Type) -> Optional[Leaf]:
    """The wasm type of a number that crosses as itself (not widened to u32)."""
    if isinstance(ty, Int) and ty.bits in (32, 64) and not ty.as_f64:
        return "i32" if ty.bits == 32 else "i64"
    if isinstance(ty, Float):
        return "f32" if ty.bits == 32 else "f64"
    return None


def is_small(ty: Type) -> bool:
    """Types whose ``Option`` uses the 0xFFFFFF niche (u8/i8/u16/i16, bool, char)."""
    return (isinstance(ty, Int) and ty.bits in (8, 16)) or isinstance(ty, (Bool, Char))


def abi_layout(ty: Type) -> Layout:
    """The ABI of ``ty`` in a 0.2.83 module (wasm32 C ABI with aggregates
    split into scalars as arguments and returned through a retptr)."""
    if isinstance(ty, Clamped):
        return abi_layout(ty.inner)
    if isinstance(ty, Unit):
        return Layout((), 0, 1, False)
    leaf = _number_leaf(ty)
    if leaf is not None:
        return _scalar(leaf)
    if isinstance(ty, Int) and ty.bits <= 16:
        return _I32
    if isinstance(ty, (Bool, Char, Externref, NamedExternref, RustStruct, Enum, RawPointer, NonNull)):
        return _I32
    if isinstance(ty, (Str, Vector, Slice)):
        return _SLICE
    if isinstance(ty, (Ref, RefMut)):
        inner = ty.inner
        if isinstance(inner, (Str, Slice)):
            return _SLICE
        if isinstance(inner, Function):
            return _SLICE  # a stack closure: (data, vtable)
        return abi_layout(inner)
    if isinstance(ty, Option):
        inner = ty.inner
        leaf = _number_leaf(inner)
        if leaf is not None:
            return _struct(_I32, _scalar(leaf))  # WasmOption<T>: (is_some, value)
        if isinstance(inner, (Ref, RefMut)) and isinstance(inner.inner, (Str, Slice)):
            return _SLICE
        if isinstance(inner, (Str, Vector, Slice)):
            return _SLICE
        if is_small(inner) or isinstance(inner, (RustStruct, Enum, Externref, NamedExternref, Ref, RefMut)):
            return _I32
        raise UnsupportedType(f"{ty} has no known ABI")
    if isinstance(ty, Result):
        ok = abi_layout(ty.inner)
        payload = Layout(ok.leaves, ok.size, ok.align, True)
        return _struct(payload, _I32, _I32)
    raise UnsupportedType(f"{ty} has no known ABI in wasm-bindgen 0.2.83 modules")


def expected_signature(function: Function, receiver: bool) -> FuncType:
    """The wasm signature a 0.2.83 export shim with this descriptor has."""
    params: list[Leaf] = []
    ret = abi_layout(function.ret)
    if ret.aggregate and ret.leaves:
        params.append("i32")
    if receiver:
        params.append("i32")
    for arg in function.args:
        params.extend(abi_layout(arg).params)
    results = ret.params if not ret.aggregate else ()
    return FuncType(tuple(params), tuple(results))


def walk(ty: Type) -> list[Type]:
    """``ty`` and every type nested in it, depth first."""
    out = [ty]
    for child in ty.children():
        out.extend(walk(child))
    return out

