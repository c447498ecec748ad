"""Abi (allocator arities, strings, arrays, out-slots) on the fake engine."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from realm_wasmer.errors import InvalidGuestValue, RealmWasmerError
from realm_wasmer.host.abi import SLOT_ALIGN, SLOT_SIZE
from realm_wasmer.host.context import HostContext

from .fake_engine import HEAP_BASE, STACK_TOP, FakeEngineInstance, fake_context, fake_engine


def make(**options: Any) -> tuple[HostContext, FakeEngineInstance]:
    ctx = fake_context(**options)
    return ctx, fake_engine(ctx)


@pytest.mark.parametrize(("arity", "expected"), [(1, (10,)), (2, (10, 4))])
def test_malloc_arity(arity: int, expected: tuple[int, ...]) -> None:
    ctx, engine = make(malloc_arity=arity)
    assert ctx.abi.malloc_arity == arity
    ptr = ctx.abi.malloc(10, 4)
    assert engine.mallocs == [expected]
    assert ptr == HEAP_BASE
    assert ctx.abi.crossings == 1


@pytest.mark.parametrize(("arity", "expected"), [(2, (500, 10)), (3, (500, 10, 4))])
def test_free_arity(arity: int, expected: tuple[int, ...]) -> None:
    ctx, engine = make(free_arity=arity)
    assert ctx.abi.free_arity == arity
    ctx.abi.free(500, 10, 4)
    assert engine.frees == [expected]
    assert ctx.abi.crossings == 1


def test_malloc_result_is_unsigned() -> None:
    ctx, engine = make()
    engine.export("__wbindgen_malloc", lambda size, align: 0x80000010)  # the engine hands back -2147483632
    assert ctx.abi.malloc(4, 4) == 0x80000010


@pytest.mark.parametrize("arity", [1, 2])
def test_pass_string_exact_size(arity: int) -> None:
    ctx, engine = make(malloc_arity=arity)
    engine.bump += 1  # so an alignment request would show
    text = "héllo ☃"
    encoded = text.encode()
    ptr, length = ctx.abi.pass_string(text)
    assert length == len(encoded) == 10
    assert engine.mallocs == [(10, 1) if arity == 2 else (10,)]
    assert ptr == HEAP_BASE + 1
    assert ctx.memory.read(ptr, length) == encoded
    assert ctx.abi.crossings == 1


def test_pass_empty_string_and_surrogates() -> None:
    ctx, engine = make()
    assert ctx.abi.pass_string("")[1] == 0
    assert engine.mallocs == [(0, 1)]
    with pytest.raises(RealmWasmerError, match="cannot be passed"):
        ctx.abi.pass_string("a\ud800b")
    assert len(engine.mallocs) == 1  # refused before allocating


def test_take_string_frees_with_align_1() -> None:
    ctx, engine = make()
    ptr, length = ctx.abi.pass_string("résumé")
    assert ctx.abi.take_string(ptr, length) == "résumé"
    assert engine.frees == [(ptr, length, 1)]
    assert ctx.abi.take_string(ptr, 0) == ""
    assert len(engine.frees) == 1  # an empty String owns no allocation
    assert ctx.abi.crossings == 2


def test_take_string_frees_even_when_decoding_fails() -> None:
    ctx, engine = make()
    ptr, length = ctx.abi.pass_bytes(b"\xff\xfe")
    with pytest.raises(InvalidGuestValue, match="not valid UTF-8"):
        ctx.abi.take_string(ptr, length)
    assert engine.frees == [(ptr, 2, 1)]


def test_take_string_masks_a_negative_pointer() -> None:
    ctx, engine = make()
    ptr, length = ctx.abi.pass_string("ok")
    assert ctx.abi.take_string(ptr - (1 << 32), length) == "ok"  # an engine's signed reading
    assert engine.frees == [(ptr, 2, 1)]


@pytest.mark.parametrize(
    ("data", "dtype", "itemsize"),
    [
        (np.array([1, 2, 0x01020304], dtype=">u4"), None, 4),  # big-endian input is stored little-endian
        (np.array([1.5, -2.25], dtype=np.float64), None, 8),
        (np.array([-1, 7], dtype=np.int16), None, 2),
        (b"\x01\x02\x03", None, 1),
        ([1, 2, 3], np.int64, 8),
    ],
)
def test_pass_array_alignment_and_content(data: Any, dtype: Any, itemsize: int) -> None:
    ctx, engine = make()
    engine.bump += 1  # misaligned on purpose
    ptr, count = ctx.abi.pass_array(data, dtype)
    expected = np.asarray(np.frombuffer(data, np.uint8) if isinstance(data, bytes) else data, dtype=dtype)
    assert count == expected.size
    assert engine.mallocs == [(expected.size * itemsize, itemsize)]
    assert ptr % itemsize == 0
    little = expected.astype(expected.dtype.newbyteorder("<"))
    assert ctx.memory.read(ptr, little.nbytes) == little.tobytes()


def test_pass_array_little_endian_bytes() -> None:
    ctx, _ = make()
    ptr, _count = ctx.abi.pass_array(np.array([0x01020304], dtype=">u4"))
    assert ctx.memory.read(ptr, 4) == b"\x04\x03\x02\x01"


@pytest.mark.parametrize(("dtype", "align"), [(np.uint8, 1), (np.int32, 4), (np.float64, 8)])
def test_take_vec_frees_with_align(dtype: type, align: int) -> None:
    ctx, engine = make()
    values: Any = np.arange(5, dtype=dtype)
    ptr, count = ctx.abi.pass_array(values)
    out = ctx.abi.take_vec(ptr, count, dtype)
    assert out.tolist() == values.tolist()
    assert engine.frees == [(ptr, 5 * align, align)]
    ctx.memory.fill(ptr, 5 * align, 0xFF)
    assert out.tolist() == values.tolist()  # a copy, not a view
    ctx.abi.take_vec(ptr, 0, dtype)
    assert len(engine.frees) == 1


def test_out_slot_reusable() -> None:
    ctx, engine = make()
    with ctx.abi.out_slot("reusable") as outer:
        with ctx.abi.out_slot("reusable") as inner:
            assert inner != outer
            assert abs(inner - outer) >= SLOT_SIZE
    assert engine.mallocs == [(SLOT_SIZE, SLOT_ALIGN)] * 2
    assert outer % SLOT_ALIGN == 0 and inner % SLOT_ALIGN == 0
    for _ in range(3):
        with ctx.abi.out_slot("reusable") as again:
            assert again == outer
        with ctx.abi.out_slot() as auto:  # auto = reusable when the module has malloc
            assert auto == outer
    with pytest.raises(KeyError):
        with ctx.abi.out_slot("reusable") as slot:
            assert slot == outer
            raise KeyError("body failed")
    with ctx.abi.out_slot("reusable") as after:
        assert after == outer  # the depth was unwound
    assert len(engine.mallocs) == 2
    assert ctx.abi.crossings == 2
    assert ctx.abi.slots() == (outer, inner)
    assert engine.globals["__stack_pointer"] == STACK_TOP  # the shadow stack was not touched


def test_out_slot_stack() -> None:
    ctx, engine = make()
    with ctx.abi.out_slot("stack") as address:
        assert address == STACK_TOP - SLOT_SIZE
        assert engine.globals["__stack_pointer"] == STACK_TOP - SLOT_SIZE
        with ctx.abi.out_slot("stack") as nested:
            assert nested == STACK_TOP - 2 * SLOT_SIZE
    assert engine.globals["__stack_pointer"] == STACK_TOP
    calls = [args for name, args in engine.export_calls if name == "__wbindgen_add_to_stack_pointer"]
    assert calls == [(-16,), (-16,), (16,), (16,)]
    assert ctx.abi.crossings == 4
    assert engine.mallocs == []


def test_out_slot_stack_restores_when_the_body_raises() -> None:
    ctx, engine = make()
    with pytest.raises(ValueError):
        with ctx.abi.out_slot("stack"):
            raise ValueError("callee failed")
    assert engine.globals["__stack_pointer"] == STACK_TOP
    assert [a for n, a in engine.export_calls if n == "__wbindgen_add_to_stack_pointer"] == [(-16,), (16,)]


def test_out_slot_stack_through_the_global() -> None:
    ctx, engine = make(stack_pointer="global")
    assert ctx.abi.stack_pointer == "global" and ctx.abi.stack_pointer_global == "__stack_pointer"
    with pytest.raises(ValueError):
        with ctx.abi.out_slot("stack") as address:
            assert address == STACK_TOP - SLOT_SIZE == engine.globals["__stack_pointer"]
            raise ValueError
    assert engine.globals["__stack_pointer"] == STACK_TOP
    assert ctx.abi.crossings == 0  # a global access is not a call
    assert engine.export_calls == []


def test_out_slot_refusals() -> None:
    ctx, _ = make(stack_pointer="none")
    with pytest.raises(RealmWasmerError, match="shadow stack"):
        with ctx.abi.out_slot("stack"):
            pass
    with pytest.raises(ValueError, match="unknown out-slot strategy"):
        with ctx.abi.out_slot("heap"):
            pass


def test_missing_runtime_export() -> None:
    ctx, _ = make(omit=("__wbindgen_free",))
    assert ctx.abi.roles["free"] is None
    with pytest.raises(RealmWasmerError, match="no free function"):
        ctx.abi.free(8, 8)


def test_release_slots_frees_each() -> None:
    ctx, engine = make()
    with ctx.abi.out_slot("reusable") as a, ctx.abi.out_slot("reusable") as b:
        pass
    ctx.abi.release_slots()
    assert engine.frees == [(a, SLOT_SIZE, SLOT_ALIGN), (b, SLOT_SIZE, SLOT_ALIGN)]
    assert ctx.abi.slots() == ()
