"""Instructions: decoding and encoding WebAssembly instruction sequences.

An :class:`Instruction` is its opcode key (see :mod:`realm_wasmer.wasm.opcodes`),
its decoded immediates and, when it was decoded from a module, the byte span
``[start, end)`` it occupies in that module's bytes. Encoding copies the span of
an instruction that has one and encodes the rest from ``op`` and ``imm``: an
untouched instruction keeps its exact bytes (overlong LEBs included).

Python values of the immediate kinds: indices and counts are ``int``;
``blocktype`` is ``None`` (empty), a value type string or a type index;
``memarg`` a :class:`MemArg`; ``i32``/``i64`` ``int``; ``f32``/``f64``/``v128``/
``shuffle`` raw little-endian ``bytes`` (NaN payloads survive); ``br_table`` a
:class:`BrTable`; ``valtypes`` a tuple of value type strings; ``heaptype`` a type
index or an abstract heap type name (``"func"``, ``"extern"``, ...);
``catches`` a tuple of :class:`Catch`; ``lane``, ``zero`` and ``castflags`` ``int``.

Value types are strings: ``"i32"``, ``"i64"``, ``"f32"``, ``"f64"``, ``"v128"``,
the short reference forms (``"funcref"``, ``"externref"``, ``"anyref"``, ...) and
the long forms ``"(ref null H)"`` / ``"(ref H)"`` where H is a type index or an
abstract heap type name.
"""

from __future__ import annotations

import struct
from typing import Any, Callable, Iterable, Optional, Sequence, Union

import attrs

from .leb import Malformed, read_s32, read_s33, read_s64, read_u32, read_u64, read_unsigned, sleb, uleb
from .opcodes import BY_NAME, INDEX_KINDS, OPCODES, PREFIXES, OpKey
from .types import VALTYPES

#: Value type byte -> name (the one-byte encodings): the outline's MVP ones and
#: those of the GC and exception-handling proposals.
VALTYPE_NAMES: dict[int, str] = {
    **VALTYPES,
    0x6E: "anyref",
    0x6D: "eqref",
    0x6C: "i31ref",
    0x6B: "structref",
    0x6A: "arrayref",
    0x71: "nullref",
    0x72: "nullexternref",
    0x73: "nullfuncref",
    0x69: "exnref",
    0x74: "nullexnref",
    0x68: "contref",
    0x75: "nullcontref",
}
VALTYPE_CODES: dict[str, int] = {name: code for code, name in VALTYPE_NAMES.items()}
#: Abstract heap type byte -> name.
HEAPTYPE_NAMES: dict[int, str] = {
    0x70: "func",
    0x6F: "extern",
    0x6E: "any",
    0x6D: "eq",
    0x6C: "i31",
    0x6B: "struct",
    0x6A: "array",
    0x71: "none",
    0x72: "noextern",
    0x73: "nofunc",
    0x69: "exn",
    0x74: "noexn",
    0x68: "cont",
    0x75: "nocont",
}
HEAPTYPE_CODES: dict[str, int] = {name: code for code, name in HEAPTYPE_NAMES.items()}

HeapType = Union[int, str]


@attrs.frozen
class MemArg:
    """A memory access immediate: log2 alignment, offset, memory index."""

    align: int
    offset: int
    memory: int = 0


@attrs.frozen
class BrTable:
    """``br_table``'s immediates: the branch targets and the default target."""

    targets: tuple[int, ...]
    default: int


@attrs.frozen
class Catch:
    """A ``try_table`` catch clause. ``kind``: 0 catch, 1 catch_ref, 2 catch_all, 3 catch_all_ref."""

    kind: int
    label: int
    tag: Optional[int] = None


@attrs.frozen(repr=False)
class Instruction:
    """One instruction. ``start``/``end`` are its byte span in the module it was
    decoded from (-1 for a new instruction); they take no part in equality."""

    op: OpKey
    imm: tuple[Any, ...] = ()
    start: int = attrs.field(default=-1, eq=False)
    end: int = attrs.field(default=-1, eq=False)

    @classmethod
    def of(cls, name: str, *imm: Any) -> Instruction:
        """A new instruction by text-format name: ``Instruction.of("call", 3)``."""
        try:
            op = BY_NAME[name]
        except KeyError:
            raise ValueError(f"unknown instruction {name!r}") from None
        kinds = OPCODES[op].immediates
        if len(imm) != len(kinds):
            raise ValueError(f"{name} takes {len(kinds)} immediates ({', '.join(kinds)}), got {len(imm)}")
        return cls(op, tuple(imm))

    @property
    def name(self) -> str:
        return OPCODES[self.op].name

    @property
    def is_original(self) -> bool:
        """True when the instruction carries its original bytes (it was decoded, not built)."""
        return self.start >= 0

    def detached(self) -> Instruction:
        """The same instruction without its byte span (it will be encoded from ``op`` and ``imm``)."""
        return Instruction(self.op, self.imm)

    def __repr__(self) -> str:
        span = f" @{self.start:#x}" if self.start >= 0 else ""
        return f"<{self}{span}>"

    def __str__(self) -> str:
        return " ".join([self.name, *(_show(v) for v in self.imm)])


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, MemArg):
        mem = f" mem={value.memory}" if value.memory else ""
        return f"align={value.align} offset={value.offset}{mem}"
    return str(value)


# --- immediate readers: (data, pos) -> (value, pos) -------------------------------------------------------------


def read_heaptype(data: bytes, pos: int) -> tuple[HeapType, int]:
    byte = data[pos]
    if byte & 0xC0 == 0x40:  # a one-byte negative s33: an abstract heap type
        name = HEAPTYPE_NAMES.get(byte)
        if name is None:
            raise Malformed(f"unknown heap type {byte:#x}", pos)
        return name, pos + 1
    index, end = read_s33(data, pos)
    if index < 0:
        raise Malformed("invalid heap type", pos)
    return index, end


def read_valtype(data: bytes, pos: int) -> tuple[str, int]:
    byte = data[pos]
    name = VALTYPE_NAMES.get(byte)
    if name is not None:
        return name, pos + 1
    if byte == 0x63 or byte == 0x64:
        heap, pos = read_heaptype(data, pos + 1)
        return f"(ref {'null ' if byte == 0x63 else ''}{heap})", pos
    raise Malformed(f"unknown value type {byte:#x}", pos)


def _read_blocktype(data: bytes, pos: int) -> tuple[Union[None, str, int], int]:
    byte = data[pos]
    if byte == 0x40:
        return None, pos + 1
    if byte & 0xC0 == 0x40:
        return read_valtype(data, pos)
    index, end = read_s33(data, pos)
    if index < 0:
        raise Malformed("invalid block type", pos)
    return index, end


_MEMARGS: dict[tuple[int, int, int], MemArg] = {}


def _read_memarg(data: bytes, pos: int) -> tuple[MemArg, int]:
    flags, pos = read_u32(data, pos)
    memory = 0
    if flags & 0x40:
        memory, pos = read_u32(data, pos)
        flags &= ~0x40
    offset, pos = read_u64(data, pos)
    key = (flags, offset, memory)
    arg = _MEMARGS.get(key)
    if arg is None:
        if len(_MEMARGS) > 100_000:
            _MEMARGS.clear()
        arg = _MEMARGS[key] = MemArg(flags, offset, memory)
    return arg, pos


def _read_byte(data: bytes, pos: int) -> tuple[int, int]:
    return data[pos], pos + 1


def _read_zero(data: bytes, pos: int) -> tuple[int, int]:
    if data[pos] != 0:
        raise Malformed("expected a zero byte", pos)
    return 0, pos + 1


def _fixed(size: int) -> Callable[[bytes, int], tuple[bytes, int]]:
    def read(data: bytes, pos: int) -> tuple[bytes, int]:
        end = pos + size
        if end > len(data):
            raise IndexError(pos)
        return data[pos:end], end

    return read


def _bounded_count(data: bytes, pos: int) -> tuple[int, int]:
    """A vector length that cannot exceed the bytes left (each element takes at least one)."""
    count, end = read_u32(data, pos)
    if count > len(data) - end:
        raise Malformed(f"vector of {count} elements runs past the end of the data", pos)
    return count, end


def _read_br_table(data: bytes, pos: int) -> tuple[BrTable, int]:
    count, pos = _bounded_count(data, pos)
    targets = []
    for _ in range(count):
        target, pos = read_u32(data, pos)
        targets.append(target)
    default, pos = read_u32(data, pos)
    return BrTable(tuple(targets), default), pos


def _read_valtypes(data: bytes, pos: int) -> tuple[tuple[str, ...], int]:
    count, pos = _bounded_count(data, pos)
    types = []
    for _ in range(count):
        valtype, pos = read_valtype(data, pos)
        types.append(valtype)
    return tuple(types), pos


def _read_catches(data: bytes, pos: int) -> tuple[tuple[Catch, ...], int]:
    count, pos = _bounded_count(data, pos)
    catches = []
    for _ in range(count):
        kind = data[pos]
        pos += 1
        if kind > 3:
            raise Malformed(f"invalid catch clause kind {kind:#x}", pos - 1)
        tag = None
        if kind < 2:
            tag, pos = read_u32(data, pos)
        label, pos = read_u32(data, pos)
        catches.append(Catch(kind, label, tag))
    return tuple(catches), pos


_KIND_READERS: dict[str, Callable[[bytes, int], tuple[Any, int]]] = {
    **{kind: read_u32 for kind in INDEX_KINDS},
    "blocktype": _read_blocktype,
    "memarg": _read_memarg,
    "lane": _read_byte,
    "castflags": _read_byte,
    "zero": _read_zero,
    "i32": read_s32,
    "i64": read_s64,
    "f32": _fixed(4),
    "f64": _fixed(8),
    "v128": _fixed(16),
    "shuffle": _fixed(16),
    "br_table": _read_br_table,
    "valtypes": _read_valtypes,
    "heaptype": read_heaptype,
    "catches": _read_catches,
}

ImmReader = Callable[[bytes, int], tuple[tuple[Any, ...], int]]
_SMALL_INDEX = [(i,) for i in range(128)]


def _read_one_index(data: bytes, pos: int) -> tuple[tuple[Any, ...], int]:
    byte = data[pos]
    if byte < 0x80:
        return _SMALL_INDEX[byte], pos + 1
    value, pos = read_unsigned(data, pos, 32)
    return (value,), pos


def _signature_reader(kinds: tuple[str, ...]) -> Optional[ImmReader]:
    """A reader of one opcode's immediates (None when it has none)."""
    if not kinds:
        return None
    if len(kinds) == 1 and kinds[0] in INDEX_KINDS:
        return _read_one_index
    readers = tuple(_KIND_READERS[kind] for kind in kinds)
    if len(readers) == 1:
        (only,) = readers

        def read_one(data: bytes, pos: int) -> tuple[tuple[Any, ...], int]:
            value, pos = only(data, pos)
            return (value,), pos

        return read_one

    def read_many(data: bytes, pos: int) -> tuple[tuple[Any, ...], int]:
        values = []
        for reader in readers:
            value, pos = reader(data, pos)
            values.append(value)
        return tuple(values), pos

    return read_many


_Decoder = tuple[OpKey, Optional[ImmReader]]
_ONE_BYTE: list[Optional[_Decoder]] = [None] * 256
_PREFIXED: dict[tuple[int, int], _Decoder] = {}
for _key, _info in OPCODES.items():
    if isinstance(_key, int):
        _ONE_BYTE[_key] = (_key, _signature_reader(_info.immediates))
    else:
        _PREFIXED[_key] = (_key, _signature_reader(_info.immediates))


def _decode(data: bytes, pos: int, end: int, stop_at_end: bool) -> tuple[list[Instruction], int, int]:
    """Decode instructions from ``pos`` while they start before ``end`` (and, with
    ``stop_at_end``, up to and including the first ``end`` instruction). Returns them,
    the offset after the last one and where the last one starts."""
    out: list[Instruction] = []
    append = out.append
    one_byte = _ONE_BYTE
    start = pos
    while pos < end:
        start = pos
        code = data[pos]
        pos += 1
        decoder = one_byte[code]
        if decoder is None:
            decoder, pos = _prefixed(data, code, pos)
        key, reader = decoder
        if reader is None:
            append(Instruction(key, (), start, pos))
        else:
            imm, pos = reader(data, pos)
            append(Instruction(key, imm, start, pos))
        if stop_at_end and key == 0x0B:
            break
    return out, pos, start


def scan_instructions(data: bytes, pos: int, end: int, wanted: frozenset[OpKey]) -> list[tuple[OpKey, Any, int, int]]:
    """Walk the instructions in ``data[pos:end]`` without building them, and return
    ``(op, immediates, immediate start, end)`` of each one whose op is in ``wanted``.

    Several times faster than :func:`decode_instructions`: what a pass that changes a few
    instructions of many bodies (a function-index shift) uses to find them. Raises as
    :func:`decode_instructions` does on malformed input."""
    out: list[tuple[OpKey, Any, int, int]] = []
    one_byte = _ONE_BYTE
    start = pos
    while pos < end:
        start = pos
        decoder = one_byte[data[pos]]
        pos += 1
        if decoder is None:
            decoder, pos = _prefixed(data, data[pos - 1], pos)
        key, reader = decoder
        if reader is not None:
            at = pos
            imm, pos = reader(data, pos)
            if key in wanted:
                out.append((key, imm, at, pos))
        elif key in wanted:
            out.append((key, (), pos, pos))
    if pos != end:
        raise Malformed("the last instruction runs past the end of the function body", start)
    return out


def decode_instructions(data: bytes, pos: int, end: int) -> list[Instruction]:
    """Decode the instructions in ``data[pos:end]`` (spans are offsets in ``data``).

    Raises :class:`Malformed` or ``IndexError`` (past the end of ``data``); the
    sequence must end exactly at ``end``."""
    out, pos, start = _decode(data, pos, end, False)
    if pos != end:
        raise Malformed("the last instruction runs past the end of the function body", start)
    return out


def _prefixed(data: bytes, code: int, pos: int) -> tuple[_Decoder, int]:
    if code not in PREFIXES:
        raise Malformed(f"unknown opcode {code:#04x}", pos - 1)
    sub, after = read_u32(data, pos)
    decoder = _PREFIXED.get((code, sub))
    if decoder is None:
        raise Malformed(f"unknown opcode {code:#04x} {sub:#x}", pos - 1)
    return decoder, after


def decode_expr(data: bytes, pos: int, limit: int) -> tuple[tuple[Instruction, ...], int]:
    """Decode a constant expression: instructions up to and including the first ``end``."""
    out, pos, start = _decode(data, pos, limit, True)
    if not out or out[-1].op != 0x0B:
        raise Malformed("constant expression runs past its section", pos)
    if pos > limit:
        raise Malformed("constant expression runs past its section", start)
    return tuple(out), pos


# --- encoding ---------------------------------------------------------------------------------------------------


def encode_heaptype(heap: HeapType) -> bytes:
    if isinstance(heap, int):
        return sleb(heap)
    try:
        return bytes((HEAPTYPE_CODES[heap],))
    except KeyError:
        raise ValueError(f"unknown heap type {heap!r}") from None


def encode_valtype(valtype: str) -> bytes:
    code = VALTYPE_CODES.get(valtype)
    if code is not None:
        return bytes((code,))
    if valtype.startswith("(ref ") and valtype.endswith(")"):
        inner = valtype[5:-1].split()
        nullable = inner[:1] == ["null"]
        heap = inner[-1]
        return bytes((0x63 if nullable else 0x64,)) + encode_heaptype(int(heap) if heap.isdigit() else heap)
    raise ValueError(f"unknown value type {valtype!r}")


def _encode_blocktype(value: Union[None, str, int]) -> bytes:
    if value is None:
        return b"\x40"
    if isinstance(value, str):
        return encode_valtype(value)
    return sleb(value)


def _encode_memarg(arg: MemArg) -> bytes:
    if arg.memory:
        return uleb(arg.align | 0x40) + uleb(arg.memory) + uleb(arg.offset)
    return uleb(arg.align) + uleb(arg.offset)


def _encode_raw(size: int) -> Callable[[bytes], bytes]:
    def encode(value: bytes) -> bytes:
        if len(value) != size:
            raise ValueError(f"expected {size} bytes, got {len(value)}")
        return bytes(value)

    return encode


def _encode_catch(catch: Catch) -> bytes:
    tag = uleb(catch.tag or 0) if catch.kind < 2 else b""
    return bytes((catch.kind,)) + tag + uleb(catch.label)


def vec(items: Sequence[bytes]) -> bytes:
    """A vector: canonical count, then the already-encoded items."""
    return uleb(len(items)) + b"".join(items)


_KIND_WRITERS: dict[str, Callable[[Any], bytes]] = {
    **{kind: uleb for kind in INDEX_KINDS},
    "blocktype": _encode_blocktype,
    "memarg": _encode_memarg,
    "lane": lambda v: bytes((v,)),
    "castflags": lambda v: bytes((v,)),
    "zero": lambda v: bytes((v,)),
    "i32": sleb,
    "i64": sleb,
    "f32": _encode_raw(4),
    "f64": _encode_raw(8),
    "v128": _encode_raw(16),
    "shuffle": _encode_raw(16),
    "br_table": lambda t: vec([uleb(x) for x in t.targets]) + uleb(t.default),
    "valtypes": lambda types: vec([encode_valtype(t) for t in types]),
    "heaptype": encode_heaptype,
    "catches": lambda catches: vec([_encode_catch(c) for c in catches]),
}


def _encode_opcode(op: OpKey) -> bytes:
    if isinstance(op, int):
        return bytes((op,))
    return bytes((op[0],)) + uleb(op[1])


_ENCODERS: dict[OpKey, tuple[bytes, tuple[Callable[[Any], bytes], ...]]] = {
    op: (_encode_opcode(op), tuple(_KIND_WRITERS[kind] for kind in info.immediates)) for op, info in OPCODES.items()
}


def encode_instruction(ins: Instruction) -> bytes:
    """The canonical encoding of ``ins`` from its opcode and immediates."""
    encoder = _ENCODERS.get(ins.op)
    if encoder is None:
        raise ValueError(f"unknown opcode {ins.op!r}")
    head, writers = encoder
    imm = ins.imm
    if len(imm) != len(writers):
        raise ValueError(f"{OPCODES[ins.op].name} takes {len(writers)} immediates, got {len(imm)}")
    if not writers:
        return head
    if len(writers) == 1:
        return head + writers[0](imm[0])
    return head + b"".join(write(value) for write, value in zip(writers, imm, strict=True))


def encode_instructions(instructions: Iterable[Instruction], source: Optional[bytes]) -> bytes:
    """Encode a sequence: instructions with a span copy it from ``source`` (the bytes they were decoded
    from); the others, and all of them when ``source`` is None, are encoded from ``op`` and ``imm``."""
    if source is None:
        return b"".join(encode_instruction(ins) for ins in instructions)
    parts = []
    size = len(source)
    for ins in instructions:
        if ins.start < 0:
            parts.append(encode_instruction(ins))
        elif ins.end <= size:
            parts.append(source[ins.start : ins.end])
        else:
            raise ValueError(f"{ins!r} has a span outside the bytes it is encoded against (use .detached())")
    return b"".join(parts)


def f32_value(raw: bytes) -> float:
    """The float an ``f32.const`` immediate holds."""
    return float(struct.unpack("<f", raw)[0])


def f64_value(raw: bytes) -> float:
    return float(struct.unpack("<d", raw)[0])
