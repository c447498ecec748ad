"""Decoding and encoding of each known section's entries.

Every item reader takes a :class:`Cursor` positioned at the entry and returns
the decoded record; every item writer returns the canonical bytes of a record.
Constant expressions keep their instructions' byte spans, so a new record built
from an old one (``attrs.evolve``) still copies the expressions it did not change.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from ..errors import InvalidModule, Malformed
from .instructions import (
    decode_expr,
    encode_instructions,
    encode_valtype,
    read_valtype,
)
from .leb import uleb
from .model import (
    KIND_CODES,
    KIND_NAMES,
    ArrayType,
    CompositeType,
    DataSegment,
    ElementSegment,
    ExportDef,
    Expr,
    FieldType,
    FunctionBody,
    GlobalDef,
    ImportDef,
    MemoryDef,
    RecGroup,
    StructType,
    SubType,
    TableDef,
    TagDef,
    TypeDef,
    TypeEntry,
    decode_body,
)
from .reader import Reader
from .types import FuncType


class Cursor(Reader):
    """A :class:`Reader` with the codec's readers: bounded LEBs of every width, value
    types of every proposal, constant expressions and bounded vector lengths."""

    def call(self, read: Callable[[bytes, int], tuple[Any, int]]) -> Any:
        """Run a ``(data, pos) -> (value, pos)`` reader, bounded by this cursor's end."""
        try:
            value, pos = read(self.data, self.pos)
        except IndexError:
            raise InvalidModule(f"unexpected end of data at offset {self.pos:#x}") from None
        if pos > self.end:
            raise Malformed("value runs past the end of the section", self.pos)
        self.pos = pos
        return value

    def u32(self) -> int:
        return self.leb(32)

    def u64(self) -> int:
        return self.leb(64)

    def valtype(self) -> str:
        return str(self.call(read_valtype))

    def count(self) -> int:
        """A vector length; each element takes at least one byte, so it is bounded by the bytes left."""
        start = self.pos
        n = self.u32()
        if n > self.end - self.pos:
            raise Malformed(f"vector of {n} entries cannot fit in the {self.end - self.pos} bytes left", start)
        return n

    def expr(self) -> Expr:
        try:
            expr, self.pos = decode_expr(self.data, self.pos, self.end)
        except IndexError:
            raise InvalidModule(f"unexpected end of data at offset {self.pos:#x}") from None
        return expr


# --- readers ----------------------------------------------------------------------------------------------------


def _field(cur: Cursor) -> FieldType:
    code = cur.data[cur.pos] if cur.pos < cur.end else -1
    if code in (0x78, 0x77):
        cur.pos += 1
        storage = "i8" if code == 0x78 else "i16"
    else:
        storage = cur.valtype()
    mutable = cur.byte()
    if mutable > 1:
        raise Malformed(f"invalid field mutability {mutable:#x}", cur.pos - 1)
    return FieldType(storage, bool(mutable))


def _composite(cur: Cursor, form: int) -> CompositeType:
    if form == 0x60:
        params = tuple(cur.valtype() for _ in range(cur.count()))
        results = tuple(cur.valtype() for _ in range(cur.count()))
        return FuncType(params, results)
    if form == 0x5F:
        return StructType(tuple(_field(cur) for _ in range(cur.count())))
    if form == 0x5E:
        return ArrayType(_field(cur))
    raise Malformed(f"unsupported type form {form:#x}", cur.pos - 1)


def _typedef(cur: Cursor) -> TypeDef:
    form = cur.byte()
    if form in (0x50, 0x4F):
        supertypes = tuple(cur.u32() for _ in range(cur.count()))
        return SubType(_composite(cur, cur.byte()), form == 0x4F, supertypes)
    return _composite(cur, form)


def read_type_entry(cur: Cursor) -> TypeEntry:
    if cur.pos < cur.end and cur.data[cur.pos] == 0x4E:
        cur.pos += 1
        return RecGroup(tuple(_typedef(cur) for _ in range(cur.count())))
    return _typedef(cur)


def _limits(cur: Cursor, allowed: int) -> tuple[int, int, Optional[int]]:
    flags_at = cur.pos
    flags = cur.byte()
    if flags & ~allowed:
        raise Malformed(f"invalid limits flags {flags:#x}", flags_at)
    minimum = cur.u64()
    maximum = cur.u64() if flags & 1 else None
    return flags, minimum, maximum


def read_table_type(cur: Cursor) -> TableDef:
    element = cur.valtype()
    flags, minimum, maximum = _limits(cur, 0b111)
    return TableDef(element, minimum, maximum, table64=bool(flags & 4), shared=bool(flags & 2))


def read_table(cur: Cursor) -> TableDef:
    if cur.pos < cur.end and cur.data[cur.pos] == 0x40:
        cur.pos += 1
        if cur.byte() != 0x00:
            raise Malformed("invalid table encoding (0x40 must be followed by 0x00)", cur.pos - 1)
        table = read_table_type(cur)
        return TableDef(table.element, table.minimum, table.maximum, table.table64, table.shared, cur.expr())
    return read_table_type(cur)


def read_memory(cur: Cursor) -> MemoryDef:
    flags, minimum, maximum = _limits(cur, 0b1111)
    page_size = cur.u32() if flags & 8 else None
    return MemoryDef(minimum, maximum, shared=bool(flags & 2), memory64=bool(flags & 4), page_size_log2=page_size)


def read_global_type(cur: Cursor) -> GlobalDef:
    valtype = cur.valtype()
    flags = cur.byte()
    if flags > 3:
        raise Malformed(f"invalid global flags {flags:#x}", cur.pos - 1)
    return GlobalDef(valtype, bool(flags & 1), shared=bool(flags & 2))


def read_global(cur: Cursor) -> GlobalDef:
    glob = read_global_type(cur)
    return GlobalDef(glob.valtype, glob.mutable, cur.expr(), glob.shared)


def read_tag(cur: Cursor) -> TagDef:
    attribute = cur.byte()
    if attribute != 0:
        raise Malformed(f"invalid tag attribute {attribute:#x}", cur.pos - 1)
    return TagDef(cur.u32(), attribute)


def _kind(cur: Cursor) -> str:
    code = cur.byte()
    if code not in KIND_NAMES:
        raise Malformed(f"unknown external kind {code:#x}", cur.pos - 1)
    return KIND_NAMES[code]


def read_import(cur: Cursor) -> ImportDef:
    module = cur.name()
    name = cur.name()
    if not name and cur.pos < cur.end and cur.data[cur.pos] in (0x7E, 0x7F):
        raise Malformed("compact import encoding (the compact-imports proposal) is not supported", cur.pos)
    kind = _kind(cur)
    desc: Any
    if kind == "func":
        desc = cur.u32()
    elif kind == "table":
        desc = read_table_type(cur)
    elif kind == "memory":
        desc = read_memory(cur)
    elif kind == "global":
        desc = read_global_type(cur)
    else:
        desc = read_tag(cur)
    return ImportDef(module, name, kind, desc)


def read_export(cur: Cursor) -> ExportDef:
    name = cur.name()
    return ExportDef(name, _kind(cur), cur.u32())


def _segment_flags(cur: Cursor, highest: int, what: str) -> int:
    flags_at = cur.pos
    flags = cur.u32()
    if flags > highest:
        raise Malformed(f"invalid {what} segment flags {flags}", flags_at)
    return flags


def _placement(cur: Cursor, flags: int) -> tuple[int, Optional[Expr]]:
    """An element or data segment's table/memory index and offset: none for a passive
    (or declarative) one (bit 0); an explicit index before the offset with bit 1."""
    if flags & 1:
        return 0, None
    index = cur.u32() if flags & 2 else 0
    return index, cur.expr()


def read_element(cur: Cursor) -> ElementSegment:
    flags = _segment_flags(cur, 7, "element")
    table, offset = _placement(cur, flags)
    reftype = "funcref"
    if flags & 3:
        if flags & 4:
            reftype = cur.valtype()
        elif cur.byte() != 0x00:
            raise Malformed("element kind must be 0x00 (funcref)", cur.pos - 1)
    count = cur.count()
    if flags & 4:
        return ElementSegment(flags, reftype, table, offset, expressions=tuple(cur.expr() for _ in range(count)))
    return ElementSegment(flags, reftype, table, offset, functions=tuple(cur.u32() for _ in range(count)))


def read_data(cur: Cursor) -> DataSegment:
    flags = _segment_flags(cur, 2, "data")
    memory, offset = _placement(cur, flags)
    size = cur.u32()
    return DataSegment(flags, cur.bytes(size), memory, offset)


def read_body_factory(first_index: int) -> Callable[[Cursor], FunctionBody]:
    """The reader of code-section entries, numbering them from ``first_index``."""
    counter = [first_index]

    def read(cur: Cursor) -> FunctionBody:
        body, cur.pos = decode_body(cur.data, cur.pos, cur.end, counter[0])
        counter[0] += 1
        return body

    return read


VECTOR_READERS: dict[int, Callable[[Cursor], Any]] = {
    1: read_type_entry,
    2: read_import,
    3: Cursor.u32,
    4: read_table,
    5: read_memory,
    6: read_global,
    7: read_export,
    9: read_element,
    11: read_data,
    13: read_tag,
}


# --- writers ----------------------------------------------------------------------------------------------------


def encode_expr(expr: Optional[Expr], source: Optional[bytes]) -> bytes:
    if expr is None:
        raise ValueError("missing constant expression")
    return encode_instructions(expr, source)


def _vec(items: list[bytes]) -> bytes:
    return uleb(len(items)) + b"".join(items)


def _name(text: str) -> bytes:
    raw = text.encode("utf-8")
    return uleb(len(raw)) + raw


def _encode_field(field: FieldType) -> bytes:
    storage = {"i8": b"\x78", "i16": b"\x77"}.get(field.storage) or encode_valtype(field.storage)
    return storage + bytes((int(field.mutable),))


def _encode_composite(composite: CompositeType) -> bytes:
    if isinstance(composite, FuncType):
        return (b"\x60" + _vec([encode_valtype(t) for t in composite.params])
                + _vec([encode_valtype(t) for t in composite.results]))
    if isinstance(composite, StructType):
        return b"\x5f" + _vec([_encode_field(f) for f in composite.fields])
    return b"\x5e" + _encode_field(composite.element)


def _encode_typedef(typedef: TypeDef) -> bytes:
    if isinstance(typedef, SubType):
        head = b"\x4f" if typedef.final else b"\x50"
        return head + _vec([uleb(t) for t in typedef.supertypes]) + _encode_composite(typedef.composite)
    return _encode_composite(typedef)


def encode_type_entry(entry: TypeEntry, source: Optional[bytes]) -> bytes:
    if isinstance(entry, RecGroup):
        return b"\x4e" + _vec([_encode_typedef(t) for t in entry.types])
    return _encode_typedef(entry)


def _encode_limits(flags: int, minimum: int, maximum: Optional[int]) -> bytes:
    return bytes((flags | (maximum is not None),)) + uleb(minimum) + (uleb(maximum) if maximum is not None else b"")


def encode_table_type(table: TableDef) -> bytes:
    flags = (2 if table.shared else 0) | (4 if table.table64 else 0)
    return encode_valtype(table.element) + _encode_limits(flags, table.minimum, table.maximum)


def encode_table(table: TableDef, source: Optional[bytes]) -> bytes:
    if table.init is None:
        return encode_table_type(table)
    return b"\x40\x00" + encode_table_type(table) + encode_expr(table.init, source)


def encode_memory(memory: MemoryDef, source: Optional[bytes] = None) -> bytes:
    page_size = memory.page_size_log2
    flags = (2 if memory.shared else 0) | (4 if memory.memory64 else 0) | (8 if page_size is not None else 0)
    page = uleb(page_size) if page_size is not None else b""
    return _encode_limits(flags, memory.minimum, memory.maximum) + page


def encode_global_type(glob: GlobalDef) -> bytes:
    return encode_valtype(glob.valtype) + bytes((int(glob.mutable) | (2 if glob.shared else 0),))


def encode_global(glob: GlobalDef, source: Optional[bytes]) -> bytes:
    return encode_global_type(glob) + encode_expr(glob.init, source)


def encode_tag(tag: TagDef, source: Optional[bytes] = None) -> bytes:
    return bytes((tag.attribute,)) + uleb(tag.type_index)


def _kind_code(kind: str) -> bytes:
    try:
        return bytes((KIND_CODES[kind],))
    except KeyError:
        raise ValueError(f"unknown external kind {kind!r}") from None


def encode_import(imp: ImportDef, source: Optional[bytes] = None) -> bytes:
    head = _name(imp.module) + _name(imp.name) + _kind_code(imp.kind)
    desc = imp.desc
    if isinstance(desc, int):
        return head + uleb(desc)
    if isinstance(desc, TableDef):
        return head + encode_table_type(desc)
    if isinstance(desc, MemoryDef):
        return head + encode_memory(desc)
    if isinstance(desc, GlobalDef):
        return head + encode_global_type(desc)
    return head + encode_tag(desc)


def encode_export(export: ExportDef, source: Optional[bytes] = None) -> bytes:
    return _name(export.name) + _kind_code(export.kind) + uleb(export.index)


def encode_element(seg: ElementSegment, source: Optional[bytes]) -> bytes:
    out = [uleb(seg.flags)]
    if not seg.flags & 1:
        if seg.flags & 2:
            out.append(uleb(seg.table))
        out.append(encode_expr(seg.offset, source))
    if seg.flags & 3:
        out.append(encode_valtype(seg.reftype) if seg.flags & 4 else b"\x00")
    if seg.flags & 4:
        out.append(_vec([encode_expr(e, source) for e in seg.expressions]))
    else:
        out.append(_vec([uleb(f) for f in seg.functions]))
    return b"".join(out)


def encode_data(seg: DataSegment, source: Optional[bytes]) -> bytes:
    out = [uleb(seg.flags)]
    if seg.flags != 1:
        if seg.flags == 2:
            out.append(uleb(seg.memory))
        out.append(encode_expr(seg.offset, source))
    return b"".join(out) + uleb(len(seg.data)) + seg.data


def encode_body(body: FunctionBody, source: Optional[bytes]) -> bytes:
    return body.encode(canonical=source is None)


VECTOR_WRITERS: dict[int, Callable[[Any, Optional[bytes]], bytes]] = {
    1: encode_type_entry,
    2: encode_import,
    3: lambda index, source: uleb(index),
    4: encode_table,
    5: encode_memory,
    6: encode_global,
    7: encode_export,
    9: encode_element,
    10: encode_body,
    11: encode_data,
    13: encode_tag,
}
