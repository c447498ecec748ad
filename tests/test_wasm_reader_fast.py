"""The outline reader's fast paths (one-byte LEB128s, ``i32.const v; end`` offsets, the data
section read with local positions) against the general reading, and the outline memo."""

from __future__ import annotations

import struct

import pytest

from realm_wasmer.errors import InvalidModule
from realm_wasmer.wasm import parse, reader
from realm_wasmer.wasm.leb import sleb, uleb
from realm_wasmer.wasm.reader import Reader

HEADER = b"\0asm\x01\0\0\0"


def _section(section_id: int, body: bytes) -> bytes:
    return bytes([section_id]) + uleb(len(body)) + body


def _data_module(segments: list[bytes]) -> bytes:
    memory = _section(5, b"\x01\x00\x01")
    return HEADER + memory + _section(11, uleb(len(segments)) + b"".join(segments))


def _general_const_expr(expr: bytes) -> object:
    """The general loop of const_expr (its fast path bypassed by a leading no-op position)."""
    r = Reader(b"\x00" + expr, 1)
    reader_fast = reader._i32_const
    try:
        reader._i32_const = lambda data, pos, end: None  # type: ignore[assignment]
        return r.const_expr()
    finally:
        reader._i32_const = reader_fast


@pytest.mark.parametrize("value", [0, 1, 63, 64, 127, 128, 1024, 1 << 20, (1 << 31) - 1, -1, -64, -65, -(1 << 31)])
def test_i32_const_fast_path_equals_the_general_reading(value: int) -> None:
    expr = b"\x41" + sleb(value) + b"\x0b"
    assert Reader(expr).const_expr() == _general_const_expr(expr) == value
    r = Reader(expr + b"\xff")
    r.const_expr()
    assert r.pos == len(expr)


@pytest.mark.parametrize(
    "expr, value",
    [
        (b"\x41\x80\x80\x80\x80\x00\x0b", 0),  # overlong, as Rust >= 1.82 pads
        (b"\x41\xff\xff\xff\xff\x7f\x0b", -1),
        (b"\x41\x01\x41\x02\x6a\x0b", None),  # extended-const arithmetic: not one number
        (b"\x42\x05\x0b", 5),
        (b"\x44" + struct.pack("<d", 2.5) + b"\x0b", 2.5),
        (b"\x23\x00\x0b", None),
    ],
)
def test_other_constant_expressions_read_as_before(expr: bytes, value: object) -> None:
    assert Reader(expr).const_expr() == _general_const_expr(expr) == value


@pytest.mark.parametrize("expr", [b"\x41", b"\x41\x80", b"\x41\x05", b"\x41\x80\x80"])
def test_a_truncated_i32_const_is_an_invalid_module(expr: bytes) -> None:
    with pytest.raises(InvalidModule, match="unexpected end of data"):
        Reader(expr).const_expr()
    with pytest.raises(InvalidModule, match="unexpected end of data"):
        Reader(expr + b"\x0b\x0b", 0, len(expr)).const_expr()  # past the section's end, not the data's


def test_one_byte_lebs_and_the_long_ones() -> None:
    data = b"\x05\x7f\x80\x01\x3f\x40\x80\x7f"
    r = Reader(data)
    assert [r.uleb(), r.uleb(), r.uleb()] == [5, 127, 128]
    assert [r.sleb(), r.sleb(), r.sleb()] == [63, -64, -128]
    assert r.pos == len(data)
    with pytest.raises(InvalidModule, match="unexpected end"):
        Reader(b"\x05", 1).uleb()
    with pytest.raises(InvalidModule, match="unexpected end"):
        Reader(b"\x05\x05", 0, 0).sleb()


def test_data_segments_of_every_form() -> None:
    segments = [
        b"\x00\x41" + sleb(1024) + b"\x0b" + uleb(3) + b"abc",
        b"\x01" + uleb(2) + b"xy",  # passive: no offset
        b"\x02\x00\x41" + sleb(-16) + b"\x0b" + uleb(1) + b"z",  # explicit memory, a negative offset
        b"\x00\x41\x01\x41\x02\x6a\x0b" + uleb(2) + b"pq",  # extended-const: no constant offset
        b"\x00\x23\x00\x0b" + uleb(1) + b"g",  # global.get: no constant offset
        b"\x00\x41\x80\x80\x80\x80\x00\x0b" + uleb(200) + bytes(200),  # overlong offset, a long length
    ]
    module = parse(_data_module(segments))
    assert module.data_segments == ((1024, 3), ((-16) & 0xFFFFFFFF, 1), (0, 200))


def test_a_data_segment_past_its_section_is_an_invalid_module() -> None:
    data = _data_module([b"\x00\x41\x00\x0b" + uleb(9) + b"abc"])
    with pytest.raises(InvalidModule, match="wanted 9 bytes"):
        parse(data)
    truncated_offset = _data_module([b"\x00\x41\x80"])
    with pytest.raises(InvalidModule, match="unexpected end of data"):
        parse(truncated_offset)


def test_the_outline_memo_answers_the_same_bytes_by_content() -> None:
    reader.clear_outline_cache()
    data = _data_module([b"\x00\x41\x10\x0b\x01a"])
    first = parse(data)
    assert parse(bytearray(data)) is first  # another object, the same content
    assert parse(memoryview(data)) is first
    other = parse(_data_module([b"\x00\x41\x20\x0b\x01a"]))
    assert other is not first and other.data_segments == ((32, 1),)
    reader.clear_outline_cache()
    again = parse(data)
    assert again is not first and again == first


def test_a_failed_parse_is_not_kept_and_a_mutated_buffer_is_read_again() -> None:
    reader.clear_outline_cache()
    bad = bytearray(_data_module([b"\x00\x41\x00\x0b" + uleb(9) + b"abc"]))
    with pytest.raises(InvalidModule):
        parse(bad)
    with pytest.raises(InvalidModule):
        parse(bad)
    good = bytearray(_data_module([b"\x00\x41\x07\x0b\x01a"]))
    assert parse(good).data_segments == ((7, 1),)
    good[-4] = 0x09  # the offset's byte: the memo is keyed by content, not by the buffer
    assert parse(good).data_segments == ((9, 1),)


def test_the_outline_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    reader.clear_outline_cache()
    monkeypatch.setattr(reader, "OUTLINE_CACHE_ENTRIES", 2)
    modules = [_data_module([b"\x00\x41" + sleb(i) + b"\x0b\x01a"]) for i in range(3)]
    outlines = [parse(m) for m in modules]
    assert len(reader._OUTLINES) == 2
    assert parse(modules[2]) is outlines[2]
    assert parse(modules[0]) is not outlines[0]  # the oldest was dropped
    monkeypatch.setattr(reader, "OUTLINE_CACHE_BYTES", len(modules[0]))
    parse(modules[1])
    assert len(reader._OUTLINES) == 1
    reader.clear_outline_cache()
