"""A small reader for the WebAssembly binary format.

It reads what a host needs to know before it compiles anything: function types,
imports, exports, globals (with their constant initial values), tables,
memories, the start function and custom sections. It does not decode function
bodies. It works without any engine, so ``realm_wasmer.inspect`` runs even where
wasmer cannot be imported.
"""

from __future__ import annotations

import struct
import threading
from collections import OrderedDict
from typing import Any, Optional, Union

from ..errors import InvalidModule, Malformed
from .leb import read_signed, read_unsigned
from .types import (
    EXTERNAL_KINDS,
    VALTYPES,
    Export,
    ExternType,
    FuncType,
    Global,
    GlobalType,
    Import,
    Limits,
    TableType,
    WasmModule,
)


def length_prefixed_blobs(data: bytes) -> list[bytes]:
    """Split ``data`` into blobs each stored as a little-endian u32 length and its
    bytes (the layout of wasm-bindgen's ``__wasm_bindgen_unstable`` section)."""
    blobs, pos = [], 0
    while pos < len(data):
        if pos + 4 > len(data):
            raise InvalidModule(f"truncated blob length at byte {pos}")
        length = int.from_bytes(data[pos : pos + 4], "little")
        if pos + 4 + length > len(data):
            raise InvalidModule(f"blob of {length} bytes at byte {pos} runs past the section")
        blobs.append(data[pos + 4 : pos + 4 + length])
        pos += 4 + length
    return blobs


class Reader:
    """A cursor over wasm bytes: bytes, LEB128 integers, names, value types, limits."""

    def __init__(self, data: bytes, pos: int = 0, end: Optional[int] = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def byte(self) -> int:
        if self.pos >= self.end:
            raise InvalidModule(f"unexpected end of data at offset {self.pos:#x}")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def bytes(self, n: int) -> bytes:
        if self.pos + n > self.end:
            raise InvalidModule(f"unexpected end of data at offset {self.pos:#x} (wanted {n} bytes)")
        value = self.data[self.pos : self.pos + n]
        self.pos += n
        return value

    def _leb(self, signed: bool) -> int:
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                if signed and b & 0x40:
                    result -= 1 << shift
                return result

    def uleb(self) -> int:
        pos = self.pos
        if pos < self.end:
            b = self.data[pos]
            if b < 0x80:  # the common one-byte encoding: the value itself
                self.pos = pos + 1
                return b
        return self._leb(False)

    def leb(self, bits: int = 32, signed: bool = False) -> int:
        """A LEB128 integer of at most ``bits`` bits. Overlong encodings are accepted up
        to the type's maximum width (``ceil(bits / 7)`` bytes, e.g. a 5-byte u32); a longer
        one, a value too large for ``bits``, or one running past ``end`` raises InvalidModule."""
        try:
            value, pos = (read_signed if signed else read_unsigned)(self.data, self.pos, bits)
        except Malformed as exc:
            raise InvalidModule(f"{exc.message} at offset {exc.pos:#x}") from None
        except IndexError:
            pos = len(self.data) + 1
            value = 0
        if pos > self.end:
            raise InvalidModule(f"unexpected end of data at offset {self.pos:#x} (in a LEB128 integer)")
        self.pos = pos
        return value

    def sleb(self) -> int:
        pos = self.pos
        if pos < self.end:
            b = self.data[pos]
            if b < 0x40:  # a one-byte non-negative value: the value itself
                self.pos = pos + 1
                return b
        return self._leb(True)

    def name(self) -> str:
        raw = self.bytes(self.uleb())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidModule(f"name at offset {self.pos:#x} is not UTF-8") from exc

    def valtype(self) -> str:
        code = self.byte()
        try:
            return VALTYPES[code]
        except KeyError:
            raise InvalidModule(f"unknown value type {code:#x} at offset {self.pos - 1:#x}") from None

    def limits(self) -> Limits:
        flags = self.byte()
        minimum = self.uleb()
        maximum = self.uleb() if flags & 1 else None
        if flags & 8:  # custom page size (log2)
            self.uleb()
        return Limits(minimum, maximum, shared=bool(flags & 2))

    def const_expr(self) -> Optional[Union[int, float]]:
        """A constant expression's value when it is one plain number constant, else None
        (``global.get``, ``ref.*``, ``v128.const``, extended-const arithmetic)."""
        fast = _i32_const(self.data, self.pos, self.end)
        if fast is not None:
            self.pos = fast[1]
            return fast[0]
        value: Optional[Union[int, float]] = None
        first = True
        while True:
            op = self.byte()
            if op == 0x0B:
                return value
            if op == 0x41 or op == 0x42:
                v: Optional[Union[int, float]] = self.sleb()
            elif op == 0x43:
                v = struct.unpack("<f", self.bytes(4))[0]
            elif op == 0x44:
                v = struct.unpack("<d", self.bytes(8))[0]
            elif op == 0x23 or op == 0xD2:
                self.uleb()
                v = None
            elif op == 0xD0:
                self.sleb()  # a heap type: an abstract type byte or a type index (s33)
                v = None
            elif op in _EXTENDED_CONST:  # i32/i64 add, sub, mul on the stack
                v = None
            elif op == 0xFD and self.uleb() == 12:  # v128.const
                self.bytes(16)
                v = None
            else:
                raise InvalidModule(f"unsupported opcode {op:#x} in a constant expression at {self.pos - 1:#x}")
            value = v if first else None
            first = False


#: The extended-constant-expressions proposal's arithmetic (i32/i64 add, sub, mul).
_EXTENDED_CONST = frozenset({0x6A, 0x6B, 0x6C, 0x7C, 0x7D, 0x7E})


def _i32_const(data: bytes, pos: int, end: int) -> Optional[tuple[int, int]]:
    """``(value, position after the end opcode)`` of the constant expression at ``pos`` when it
    is ``i32.const v; end`` (every offset wasm-bindgen's modules hold), read without a method call
    per byte; None for any other expression, or one running past ``end`` (the caller's general
    reader then reads it, or names the error)."""
    if pos >= end or data[pos] != 0x41:
        return None
    p = pos + 1
    result = shift = 0
    while p < end:
        b = data[p]
        p += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            if b & 0x40:
                result -= 1 << shift
            if p < end and data[p] == 0x0B:
                return result, p + 1
            return None
    return None


def _uleb_at(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """``(value, new position)`` of the unsigned LEB128 at ``pos`` (as :meth:`Reader.uleb`)."""
    if pos < end:
        b = data[pos]
        if b < 0x80:
            return b, pos + 1
    reader = Reader(data, pos, end)
    return reader._leb(False), reader.pos


def _data_segments(body: Reader) -> list[tuple[int, int]]:
    """``(offset, length)`` of each active data segment with a constant offset (forms 0 and 2),
    read with local positions (a module can hold thousands of segments)."""
    data, pos, end = body.data, body.pos, body.end
    out = []
    count, pos = _uleb_at(data, pos, end)
    for _ in range(count):
        if pos < end and data[pos] < 0x80:  # the one-byte LEB128s inline (thousands of segments)
            flags = data[pos]
            pos += 1
        else:
            flags, pos = _uleb_at(data, pos, end)
        offset: Optional[Union[int, float]] = None
        if flags in (0, 2):
            if flags == 2:
                _, pos = _uleb_at(data, pos, end)  # memory index
            fast = _i32_const(data, pos, end)
            if fast is not None:
                offset, pos = fast
            else:
                body.pos = pos
                offset = body.const_expr()
                pos = body.pos
        if pos < end and data[pos] < 0x80:
            length = data[pos]
            pos += 1
        else:
            length, pos = _uleb_at(data, pos, end)
        if pos + length > end:
            raise InvalidModule(f"unexpected end of data at offset {pos:#x} (wanted {length} bytes)")
        pos += length
        if isinstance(offset, int):
            out.append((offset & 0xFFFFFFFF, length))
    body.pos = pos
    return out


def _item(items: Any, index: int, what: str) -> Any:
    """``items[index]``, or InvalidModule naming the index space (a malformed module's index)."""
    if not 0 <= index < len(items):
        raise InvalidModule(f"{what} index {index} is out of range (the module has {len(items)})")
    return items[index]


def _function_segments(body: Reader) -> list[tuple[int, int, tuple[int, ...]]]:
    """The active element segments of function indices with a constant offset (forms 0 and 2),
    as ``(table, offset, functions)``; reading stops at the first segment of another form
    (the outline needs only what a funcref table of wasm-bindgen's holds)."""
    out = []
    for _ in range(body.uleb()):
        flags = body.uleb()
        if flags not in (0, 2):
            break
        table = body.uleb() if flags == 2 else 0
        offset = body.const_expr()
        if flags == 2 and body.byte() != 0x00:
            break
        functions = tuple(body.uleb() for _ in range(body.uleb()))
        if isinstance(offset, int):
            out.append((table, offset & 0xFFFFFFFF, functions))
    return out


#: Outlines already read in this process, by the bytes they were read from (most recent last):
#: one load reads the same module's outline in several places (the package's init, the
#: instantiation, the pipeline), and loading the same package again reads it once more. The
#: outline is immutable (frozen attrs of tuples and bytes), so every caller can share it.
_OUTLINES: OrderedDict[bytes, WasmModule] = OrderedDict()
_OUTLINES_LOCK = threading.Lock()
#: Bounds of that memo: entries, and the total size of the bytes it keeps.
OUTLINE_CACHE_ENTRIES = 32
OUTLINE_CACHE_BYTES = 64 << 20


def clear_outline_cache() -> None:
    """Forget every memoized outline (:func:`parse` reads the bytes again)."""
    with _OUTLINES_LOCK:
        _OUTLINES.clear()


def parse(data: Union[bytes, bytearray, memoryview]) -> WasmModule:
    """Parse the outline of a wasm binary; raises :class:`InvalidModule`.

    The outline of bytes already read in this process is answered from a bounded memo keyed by
    the bytes' content (see :data:`OUTLINE_CACHE_ENTRIES`); a module that fails is not kept."""
    data = bytes(data)
    with _OUTLINES_LOCK:
        module = _OUTLINES.get(data)
        if module is not None:
            _OUTLINES.move_to_end(data)
            return module
    module = _parse(data)
    if len(data) <= OUTLINE_CACHE_BYTES:
        with _OUTLINES_LOCK:
            _OUTLINES[data] = module
            total = sum(len(key) for key in _OUTLINES)
            while len(_OUTLINES) > OUTLINE_CACHE_ENTRIES or total > OUTLINE_CACHE_BYTES:
                key, _ = _OUTLINES.popitem(last=False)
                total -= len(key)
    return module


def _parse(data: bytes) -> WasmModule:
    if data[:4] != b"\0asm":
        raise InvalidModule("not a WebAssembly binary (missing the \\0asm magic)")
    if data[4:8] != b"\x01\0\0\0":
        raise InvalidModule(f"unsupported WebAssembly binary version {data[4:8].hex()} (expected 01000000)")
    types: list[FuncType] = []
    imports: list[Import] = []
    func_type_indices: list[int] = []
    exports_raw: list[tuple[str, str, int]] = []
    globals_: list[Global] = []
    tables: list[TableType] = []
    memories: list[Limits] = []
    customs: list[tuple[str, bytes]] = []
    data_segments: list[tuple[int, int]] = []
    element_segments: list[tuple[int, int, tuple[int, ...]]] = []
    tags = 0
    start: Optional[int] = None
    imported_funcs: list[FuncType] = []
    imported_globals: list[Global] = []
    imported_tables: list[TableType] = []
    imported_memories: list[Limits] = []

    reader = Reader(data, 8)
    while reader.pos < reader.end:
        section_id = reader.byte()
        size = reader.uleb()
        body = Reader(data, reader.pos, reader.pos + size)
        if body.end > len(data):
            raise InvalidModule(f"section {section_id} at {reader.pos:#x} runs past the end of the file")
        if section_id == 0:
            name = body.name()
            customs.append((name, data[body.pos : body.end]))
        elif section_id == 1:
            for _ in range(body.uleb()):
                form = body.byte()
                if form != 0x60:
                    raise InvalidModule(f"unsupported type form {form:#x}")
                params = tuple(body.valtype() for _ in range(body.uleb()))
                results = tuple(body.valtype() for _ in range(body.uleb()))
                types.append(FuncType(params, results))
        elif section_id == 2:
            for _ in range(body.uleb()):
                module = body.name()
                name = body.name()
                kind_code = body.byte()
                kind = EXTERNAL_KINDS.get(kind_code, f"kind{kind_code}")
                ext: ExternType
                if kind_code == 0:
                    func_type: FuncType = _item(types, body.uleb(), "type")
                    imported_funcs.append(func_type)
                    ext = func_type
                elif kind_code == 1:
                    ext = TableType(body.valtype(), body.limits())
                    imported_tables.append(ext)
                elif kind_code == 2:
                    ext = body.limits()
                    imported_memories.append(ext)
                elif kind_code == 3:
                    ext = GlobalType(body.valtype(), bool(body.byte()))
                    imported_globals.append(Global(ext, None))
                elif kind_code == 4:
                    body.byte()
                    body.uleb()
                    ext = None
                    tags += 1
                else:
                    raise InvalidModule(f"unknown import kind {kind_code}")
                imports.append(Import(module, name, kind, ext))
        elif section_id == 3:
            func_type_indices = [body.uleb() for _ in range(body.uleb())]
        elif section_id == 4:
            for _ in range(body.uleb()):
                tables.append(TableType(body.valtype(), body.limits()))
        elif section_id == 5:
            for _ in range(body.uleb()):
                memories.append(body.limits())
        elif section_id == 6:
            for _ in range(body.uleb()):
                gtype = GlobalType(body.valtype(), bool(body.byte()))
                globals_.append(Global(gtype, body.const_expr()))
        elif section_id == 7:
            for _ in range(body.uleb()):
                name = body.name()
                kind_code = body.byte()
                exports_raw.append((name, EXTERNAL_KINDS.get(kind_code, f"kind{kind_code}"), body.uleb()))
        elif section_id == 8:
            start = body.uleb()
        elif section_id == 13:
            tags += body.uleb()
        elif section_id == 9:
            element_segments.extend(_function_segments(body))
        elif section_id == 11:
            data_segments.extend(_data_segments(body))
        reader.pos = body.end

    functions = tuple(imported_funcs) + tuple(_item(types, i, "type") for i in func_type_indices)
    all_globals = tuple(imported_globals) + tuple(globals_)
    all_tables = tuple(imported_tables) + tuple(tables)
    all_memories = tuple(imported_memories) + tuple(memories)
    exports = []
    for name, kind, index in exports_raw:
        ext_type: ExternType = None
        try:
            if kind == "func":
                ext_type = _item(functions, index, "exported function")
            elif kind == "table":
                ext_type = _item(all_tables, index, "exported table")
            elif kind == "memory":
                ext_type = _item(all_memories, index, "exported memory")
            elif kind == "global":
                ext_type = _item(all_globals, index, "exported global").type
        except IndexError:
            raise InvalidModule(f"export {name!r} refers to a missing {kind} #{index}") from None
        exports.append(Export(name, kind, index, ext_type))
    return WasmModule(
        types=tuple(types),
        imports=tuple(imports),
        exports=tuple(exports),
        functions=functions,
        globals=all_globals,
        tables=all_tables,
        memories=all_memories,
        start=start,
        custom_sections=tuple(customs),
        size=len(data),
        data_segments=tuple(data_segments),
        element_segments=tuple(element_segments),
        tags=tags,
    )
