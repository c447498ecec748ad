"""LEB128 integers as the WebAssembly binary format stores them.

Readers take ``(data, pos)`` and return ``(value, new_pos)``. They accept
overlong encodings up to the type's maximum width (5 bytes for 32-bit and s33
values, 10 bytes for 64-bit ones), as engines do: Rust >= 1.82 writes some
indices as padded 5-byte LEBs. A value that does not fit its type, or an
encoding longer than the maximum width, raises :class:`Malformed`; reading past
the end of ``data`` raises ``IndexError`` (callers turn both into
:class:`~realm_wasmer.errors.InvalidModule` with their context).

Writers produce the canonical (shortest) encoding.
"""

from __future__ import annotations

from typing import Callable

from ..errors import Malformed as Malformed


def _read(data: bytes, pos: int, bits: int, signed: bool) -> tuple[int, int]:
    start = pos
    result = shift = 0
    max_shift = ((bits + 6) // 7) * 7
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            break
        if shift >= max_shift:
            raise Malformed(f"LEB128 integer longer than {max_shift // 7} bytes", start)
    if signed:
        if byte & 0x40:
            result -= 1 << shift
        if not -(1 << (bits - 1)) <= result < (1 << (bits - 1)):
            raise Malformed(f"integer too large for s{bits}", start)
    elif result >> bits:
        raise Malformed(f"integer too large for u{bits}", start)
    return result, pos


def read_unsigned(data: bytes, pos: int, bits: int) -> tuple[int, int]:
    """An unsigned LEB128 of at most ``bits`` bits (``ceil(bits / 7)`` bytes)."""
    return _read(data, pos, bits, False)


def read_signed(data: bytes, pos: int, bits: int) -> tuple[int, int]:
    """A signed LEB128 of at most ``bits`` bits (``ceil(bits / 7)`` bytes)."""
    return _read(data, pos, bits, True)


def _fixed(bits: int, signed: bool) -> Callable[[bytes, int], tuple[int, int]]:
    """The reader of one integer type: a one-byte encoding (below 0x80 unsigned, 0x40
    signed: the value itself) is answered first, the common case."""
    one_byte = 0x40 if signed else 0x80

    def read(data: bytes, pos: int) -> tuple[int, int]:
        byte = data[pos]
        if byte < one_byte:
            return byte, pos + 1
        return _read(data, pos, bits, signed)

    read.__name__ = read.__qualname__ = f"read_{'s' if signed else 'u'}{bits}"
    return read


read_u32 = _fixed(32, False)
read_u64 = _fixed(64, False)
read_s32 = _fixed(32, True)
read_s33 = _fixed(33, True)
read_s64 = _fixed(64, True)


def uleb(value: int) -> bytes:
    """The canonical unsigned LEB128 encoding of ``value`` (>= 0)."""
    if value < 0:
        raise ValueError(f"uleb of a negative value {value}")
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def sleb(value: int) -> bytes:
    """The canonical signed LEB128 encoding of ``value``."""
    if -0x40 <= value < 0x40:
        return bytes((value & 0x7F,))
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        done = (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40)
        out.append(byte if done else byte | 0x80)
        if done:
            return bytes(out)
