"""The small helpers that now serve several places (one piece of code where the logic was
repeated): the LEB128 reader family, constant-expression decoding, JSON field lists, exotic
JS field getters and merged program attributes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from realm_wasmer.bindings.program import Programs
from realm_wasmer.errors import Malformed
from realm_wasmer.js import model as m
from realm_wasmer.records import attributes
from realm_wasmer.wasm import leb
from realm_wasmer.wasm.instructions import decode_expr, decode_instructions


@given(st.integers(0, 2**32 - 1))
def test_fixed_unsigned_readers_agree_with_the_general_one(value: int) -> None:
    data = leb.uleb(value) + b"\xff"
    assert leb.read_u32(data, 0) == leb.read_unsigned(data, 0, 32) == (value, len(data) - 1)
    assert leb.read_u64(data, 0) == (value, len(data) - 1)


@given(st.integers(-(2**31), 2**31 - 1))
def test_fixed_signed_readers_agree_with_the_general_one(value: int) -> None:
    data = leb.sleb(value)
    assert leb.read_s32(data, 0) == leb.read_signed(data, 0, 32) == (value, len(data))
    assert leb.read_s33(data, 0) == leb.read_s64(data, 0) == (value, len(data))


def test_fixed_readers_keep_their_limits_and_names() -> None:
    with pytest.raises(Malformed, match="too large for u32"):
        leb.read_u32(leb.uleb(2**32), 0)
    with pytest.raises(Malformed, match="too large for s32"):
        leb.read_s32(leb.sleb(2**31), 0)
    with pytest.raises(Malformed, match="longer than 5 bytes"):
        leb.read_u32(b"\x80\x80\x80\x80\x80\x00", 0)
    assert [f.__name__ for f in (leb.read_u32, leb.read_s33, leb.read_s64)] == ["read_u32", "read_s33", "read_s64"]


def test_constant_expression_stops_at_its_end_and_checks_its_limit() -> None:
    data = bytes([0x41, 0x2A, 0x0B, 0x41, 0x01])  # i32.const 42; end; (an i32.const after it)
    expr, end = decode_expr(data, 0, len(data))
    assert [ins.op for ins in expr] == [0x41, 0x0B] and expr[0].imm == (42,) and end == 3
    with pytest.raises(Malformed, match="runs past its section") as caught:
        decode_expr(data, 0, 2)  # the section ends before the end instruction
    assert caught.value.pos == 2
    with pytest.raises(Malformed, match="runs past the end of the function body"):
        decode_instructions(data, 0, 4)  # the last instruction crosses the body's end


def test_attributes_keeps_the_order_asked() -> None:
    class Record:
        b, a, c = 2, 1, 3

    assert list(attributes(Record(), "c", "a").items()) == [("c", 3), ("a", 1)]


def test_field_getter_reads_fields_then_the_prototype() -> None:
    proto = m.new_object()
    proto["inherited"] = "from proto"

    class Box:
        size = 7

    get = m.field_getter(proto, {"size": lambda box: box.size})
    assert get(Box(), "size") == 7
    assert get(Box(), "inherited") == "from proto"
    assert get(Box(), 0) is m.UNDEFINED


def test_merged_program_attributes_concatenate_every_program() -> None:
    class Program:
        def __init__(self, exports: tuple[str, ...]) -> None:
            self.exports, self.enums, self.imports, self.structs = exports, (), (), ()

    merged = Programs("0.2.83", None, (Program(("a", "b")), Program(("c",))))  # type: ignore[arg-type]
    assert merged.exports == ("a", "b", "c")
    assert merged.enums == ()
    with pytest.raises(AttributeError):
        Programs.exports  # noqa: B018 (on the class there is nothing to merge)
