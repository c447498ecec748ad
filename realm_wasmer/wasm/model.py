"""The decoded module's records: type definitions, imports, tables, memories,
globals, exports, element and data segments, tags, function bodies and sections.

Records are frozen (``attrs.frozen``): a transform changes a module by putting a
new record in a section's ``items`` list (``attrs.evolve(old, ...)``), so the
encoder can tell untouched items (same object as decoded: their original bytes
are copied) from changed ones (encoded afresh). :class:`FunctionBody` is the one
mutable record: its local declarations and its instruction list are compared
with what was decoded.

Errors are :class:`~realm_wasmer.errors.InvalidModule` from :func:`codec_error`:
the message names the section, the function index (in the code section) and the
byte offset, which are also the error's ``section``, ``function_index`` and
``offset`` attributes.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import attrs

from ..errors import InvalidModule, Malformed
from .instructions import (
    Instruction,
    decode_instructions,
    encode_instructions,
    encode_valtype,
    read_valtype,
    scan_instructions,
)
from .leb import read_u32, uleb
from .types import FuncType

#: A constant expression: its instructions, the final ``end`` included.
Expr = tuple[Instruction, ...]

SECTION_NAMES = {
    0: "custom",
    1: "type",
    2: "import",
    3: "function",
    4: "table",
    5: "memory",
    6: "global",
    7: "export",
    8: "start",
    9: "element",
    10: "code",
    11: "data",
    12: "datacount",
    13: "tag",
}
#: Where each known section goes (custom sections go anywhere).
SECTION_ORDER = (1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11)
KIND_NAMES = {0: "func", 1: "table", 2: "memory", 3: "global", 4: "tag"}
KIND_CODES = {name: code for code, name in KIND_NAMES.items()}


def same_objects(current: Sequence[Any], original: Sequence[Any]) -> bool:
    """True when both sequences hold the very same objects in the same order."""
    return len(current) == len(original) and all(a is b for a, b in zip(current, original, strict=True))


def codec_error(
    message: str, *, section: Optional[str] = None, function_index: Optional[int] = None, offset: Optional[int] = None
) -> InvalidModule:
    """An :class:`InvalidModule` whose message and attributes name where the module is malformed."""
    where = []
    if section is not None:
        where.append(f"{section} section")
    if function_index is not None:
        where.append(f"function {function_index}")
    if offset is not None:
        where.append(f"byte offset {offset:#x}")
    exc = InvalidModule(f"{message} ({', '.join(where)})" if where else message)
    # Plain attributes (InvalidModule takes only a message); they pickle with the error.
    exc.__dict__.update(section=section, function_index=function_index, offset=offset)
    return exc


# --- types ------------------------------------------------------------------------------------------------------


@attrs.frozen
class FieldType:
    """A struct field or array element: ``storage`` is ``"i8"``, ``"i16"`` or a value type."""

    storage: str
    mutable: bool = False


@attrs.frozen
class StructType:
    fields: tuple[FieldType, ...]


@attrs.frozen
class ArrayType:
    element: FieldType


CompositeType = Union[FuncType, StructType, ArrayType]


@attrs.frozen
class SubType:
    """A GC subtype declaration (``sub``/``sub final``) with its supertypes."""

    composite: CompositeType
    final: bool = True
    supertypes: tuple[int, ...] = ()


TypeDef = Union[FuncType, StructType, ArrayType, SubType]


@attrs.frozen
class RecGroup:
    """An explicit recursion group: one type-section entry, several type indices."""

    types: tuple[TypeDef, ...]


TypeEntry = Union[TypeDef, RecGroup]


def composite_of(typedef: TypeDef) -> CompositeType:
    return typedef.composite if isinstance(typedef, SubType) else typedef


# --- imports, tables, memories, globals, tags, exports -----------------------------------------------------------


@attrs.frozen
class TableDef:
    """A table type, and in the table section its optional initialiser (the ``0x40 0x00`` form)."""

    element: str
    minimum: int
    maximum: Optional[int] = None
    table64: bool = False
    shared: bool = False
    init: Optional[Expr] = None


@attrs.frozen
class MemoryDef:
    minimum: int
    maximum: Optional[int] = None
    shared: bool = False
    memory64: bool = False
    page_size_log2: Optional[int] = None


@attrs.frozen
class GlobalDef:
    """A global type, and in the global section its initialiser."""

    valtype: str
    mutable: bool = False
    init: Optional[Expr] = None
    shared: bool = False


@attrs.frozen
class TagDef:
    type_index: int
    attribute: int = 0


ImportDesc = Union[int, TableDef, MemoryDef, GlobalDef, TagDef]


@attrs.frozen
class ImportDef:
    """An import. ``kind`` is func/table/memory/global/tag; ``desc`` the type index of a
    function, or the TableDef/MemoryDef/GlobalDef/TagDef of the others."""

    module: str
    name: str
    kind: str
    desc: ImportDesc


@attrs.frozen
class ExportDef:
    name: str
    kind: str
    index: int


# --- segments ---------------------------------------------------------------------------------------------------


@attrs.frozen
class ElementSegment:
    """An element segment in any of the eight encodings (``flags`` 0-7).

    Bit 0 of ``flags``: passive or declarative; bit 1: an explicit table index (when
    active) or declarative (when bit 0 is set); bit 2: the items are expressions
    (``expressions``) rather than function indices (``functions``). ``reftype`` is the
    element type (``"funcref"`` for the index forms)."""

    flags: int
    reftype: str = "funcref"
    table: int = 0
    offset: Optional[Expr] = None
    functions: tuple[int, ...] = ()
    expressions: tuple[Expr, ...] = ()

    @property
    def mode(self) -> str:
        if not self.flags & 1:
            return "active"
        return "declarative" if self.flags & 2 else "passive"


@attrs.frozen
class DataSegment:
    """A data segment: ``flags`` 0 (active, memory 0), 1 (passive) or 2 (active, explicit memory)."""

    flags: int
    data: bytes
    memory: int = 0
    offset: Optional[Expr] = None

    @property
    def mode(self) -> str:
        return "passive" if self.flags == 1 else "active"


# --- function bodies --------------------------------------------------------------------------------------------


@attrs.define(eq=False)
class FunctionBody:
    """One code-section entry: run-length local declarations and the instructions.

    ``instructions`` is decoded on first use. A body whose ``locals`` and instruction
    list are as decoded (the same Instruction objects) is copied byte for byte."""

    locals: tuple[tuple[int, str], ...]
    #: The function index it had when decoded (updated by index shifts; informational).
    index: int = -1
    source: bytes = attrs.field(default=b"", repr=False)
    #: Offsets in ``source``: the entry (size prefix), the first instruction, the end.
    entry_start: int = -1
    code_start: int = -1
    end: int = -1
    _instructions: Optional[list[Instruction]] = attrs.field(default=None, repr=False)
    _original_locals: tuple[tuple[int, str], ...] = attrs.field(default=(), repr=False)
    _original_instructions: Optional[tuple[Instruction, ...]] = attrs.field(default=None, repr=False)

    @classmethod
    def new(
        cls, locals: tuple[tuple[int, str], ...], instructions: list[Instruction], source: bytes = b""
    ) -> FunctionBody:
        """A body built by a transform (``instructions`` must end with ``end``). Pass the
        module's ``source`` when it reuses decoded instructions (their spans point into it)."""
        return cls(locals, source=source, instructions=list(instructions))

    @property
    def instructions(self) -> list[Instruction]:
        """The instruction list (decoded lazily); edit it in place or with :meth:`replace`."""
        if self._instructions is None:
            try:
                decoded = decode_instructions(self.source, self.code_start, self.end)
            except Malformed as exc:
                raise codec_error(exc.message, section="code", function_index=self.index, offset=exc.pos) from None
            except IndexError:
                raise codec_error("unexpected end of the module", section="code", function_index=self.index,
                                  offset=len(self.source)) from None
            if not decoded or decoded[-1].op != 0x0B:
                raise codec_error("function body does not end with `end`", section="code",
                                  function_index=self.index, offset=self.end)
            self._instructions = decoded
            self._original_instructions = tuple(decoded)
        return self._instructions

    @instructions.setter
    def instructions(self, value: list[Instruction]) -> None:
        _ = self.instructions  # decode first, so the original stays known
        self._instructions = list(value)

    def scan(self, wanted: frozenset[Any]) -> list[tuple[Any, Any, int, int]]:
        """``(op, immediates, immediate start, end)`` of the instructions whose op is in
        ``wanted``, found without decoding the body (offsets in ``source``); from the
        decoded instructions when the body was decoded already."""
        if self._instructions is not None or self.code_start < 0:
            return [(i.op, i.imm, i.start, i.end) for i in self.instructions if i.op in wanted]
        try:
            return scan_instructions(self.source, self.code_start, self.end, wanted)
        except Malformed as exc:
            raise codec_error(exc.message, section="code", function_index=self.index, offset=exc.pos) from None
        except IndexError:
            raise codec_error("unexpected end of the module", section="code", function_index=self.index,
                              offset=len(self.source)) from None

    def with_immediates(self, edits: list[tuple[int, int, bytes]]) -> FunctionBody:
        """A copy of this undecoded body with the byte ranges ``[start, end)`` of ``source``
        replaced (``edits`` in order, not overlapping): a new entry whose bytes are the
        original's with those immediates re-encoded, decoded lazily like the original."""
        parts = []
        at = self.code_start
        for start, end, raw in edits:
            parts.append(self.source[at:start])
            parts.append(raw)
            at = end
        parts.append(self.source[at : self.end])
        head = _entry_head(self.source, self.entry_start)
        locals_ = self.source[head : self.code_start]
        code = b"".join(parts)
        payload = locals_ + code
        entry = uleb(len(payload)) + payload
        body = FunctionBody(self.locals, self.index, entry, 0, len(entry) - len(code), len(entry))
        body._original_locals = self.locals
        return body

    def replace(self, start: int, stop: int, new: list[Instruction]) -> None:
        """Replace ``instructions[start:stop]`` with ``new`` (``stop == start`` inserts)."""
        self.instructions[start:stop] = new

    @property
    def decoded(self) -> bool:
        return self._instructions is not None

    @property
    def modified(self) -> bool:
        if self.entry_start < 0 or self.locals != self._original_locals:
            return True
        current, original = self._instructions, self._original_instructions
        if current is None or original is None:
            return False
        return not same_objects(current, original)

    def encode(self, canonical: bool = False) -> bytes:
        """The entry's bytes, size prefix included."""
        if not canonical and not self.modified:
            return self.source[self.entry_start : self.end]
        locals_ = uleb(len(self.locals)) + b"".join(uleb(n) + encode_valtype(t) for n, t in self.locals)
        code = encode_instructions(self.instructions, None if canonical else self.source)
        return uleb(len(locals_) + len(code)) + locals_ + code


def _entry_head(data: bytes, entry_start: int) -> int:
    """Where a code entry's payload begins (after its size LEB)."""
    _, pos = read_u32(data, entry_start)
    return pos


def decode_body(data: bytes, pos: int, limit: int, index: int) -> tuple[FunctionBody, int]:
    """Read one code-section entry at ``pos`` (locals now, instructions lazily)."""
    entry_start = pos
    size, pos = read_u32(data, pos)
    end = pos + size
    if end > limit:
        raise Malformed(f"function body of {size} bytes runs past the code section", entry_start)
    groups, pos = read_u32(data, pos)
    if groups > end - pos:
        raise Malformed(f"{groups} local declarations cannot fit in the body", pos)
    locals_ = []
    total = 0
    for _ in range(groups):
        count, pos = read_u32(data, pos)
        valtype, pos = read_valtype(data, pos)
        total += count
        locals_.append((count, valtype))
    if total > 50_000:
        raise Malformed(f"too many locals ({total})", entry_start)
    if pos > end:
        raise Malformed("local declarations run past the function body", entry_start)
    body = FunctionBody(tuple(locals_), index, data, entry_start, pos, end)
    body._original_locals = body.locals
    return body, end


# --- sections ---------------------------------------------------------------------------------------------------


@attrs.define(eq=False)
class Section:
    """One section. ``items`` holds the decoded entries of a vector section (the single
    index of ``start`` and ``datacount``); a custom section has ``name`` and ``payload``.

    An untouched section is copied byte for byte (``source[start:end]``)."""

    id: int
    items: list[Any] = attrs.field(factory=list)
    name: str = ""
    payload: bytes = attrs.field(default=b"", repr=False)
    source: bytes = attrs.field(default=b"", repr=False)
    start: int = -1
    end: int = -1
    #: Decoded name section (custom section "name"), when asked for.
    names: Any = attrs.field(default=None, repr=False)
    _original_items: tuple[Any, ...] = attrs.field(default=(), repr=False)
    #: ``id(item) -> (start, end)`` of each original item's bytes in ``source``.
    _item_spans: dict[int, tuple[int, int]] = attrs.field(factory=dict, repr=False)
    _original_payload: bytes = attrs.field(default=b"", repr=False)

    @property
    def kind(self) -> str:
        """``type``, ``import``, ..., or ``custom:NAME``."""
        return f"custom:{self.name}" if self.id == 0 else SECTION_NAMES.get(self.id, f"section{self.id}")

    @property
    def is_new(self) -> bool:
        return self.start < 0

    def remember(self, spans: dict[int, tuple[int, int]]) -> None:
        """Record the decoded state as the original one."""
        self._original_items = tuple(self.items)
        self._item_spans = spans
        self._original_payload = self.payload

    @property
    def modified(self) -> bool:
        if self.is_new:
            return True
        if self.id == 0:
            return self.payload is not self._original_payload or bool(self.names is not None and self.names.modified)
        if self.id in (8, 12):
            return tuple(self.items) != self._original_items
        items, original = self.items, self._original_items
        if not same_objects(items, original):
            return True
        return self.id == 10 and any(body.modified for body in items)

    def item_bytes(self, item: Any) -> Optional[bytes]:
        """The original bytes of an untouched item, or None."""
        span = self._item_spans.get(id(item))
        return None if span is None else self.source[span[0] : span[1]]


def section_bytes(section_id: int, payload: bytes) -> bytes:
    return bytes((section_id,)) + uleb(len(payload)) + payload
