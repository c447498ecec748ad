"""GuestMemory on the fake engine, and the fake itself (no wasm engine imported)."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from realm_wasmer.errors import GuestMemoryError, InvalidGuestValue, RealmWasmerError
from realm_wasmer.host.memory import GuestMemory

from .fake_engine import HEAP_BASE, PAGE, FakeEngineInstance, fake_context, fake_engine


@pytest.fixture
def engine() -> FakeEngineInstance:
    return FakeEngineInstance(pages=1)


@pytest.fixture
def memory(engine: FakeEngineInstance) -> GuestMemory:
    return GuestMemory(engine)


def test_read_write_fill(memory: GuestMemory, engine: FakeEngineInstance) -> None:
    memory.write(100, b"hello")
    assert memory.read(100, 5) == b"hello"
    assert bytes(engine.memory_view()[100:105]) == b"hello"  # it wrote guest memory, not a copy
    memory.write(200, bytearray(b"\x01\x02"))
    memory.write(202, memoryview(b"\x03\x04"))
    memory.write(204, np.array([5, 6], dtype=np.uint8))
    memory.write(206, np.array([0x0807], dtype="<u2"))
    assert memory.read(200, 8) == bytes(range(1, 9))
    memory.fill(100, 3, 0xAB)
    assert memory.read(100, 5) == b"\xab\xab\xablo"
    memory.fill(100, 5)
    assert memory.read(100, 5) == bytes(5)
    assert memory.read(PAGE, 0) == b""  # an empty read at the very end is inside


def test_scalars(memory: GuestMemory) -> None:
    memory.set_u32(0, 0xDEADBEEF)
    assert memory.read(0, 4) == b"\xef\xbe\xad\xde"  # little-endian
    assert memory.u32(0) == 0xDEADBEEF
    assert memory.i32(0) == 0xDEADBEEF - (1 << 32)
    assert memory.u8(0) == 0xEF
    memory.set_i32(8, -2)
    assert memory.u32(8) == 0xFFFFFFFE and memory.i32(8) == -2
    memory.set_u32(12, 1 << 32 | 7)  # masked to 32 bits
    assert memory.u32(12) == 7
    memory.set_f64(16, math.pi)
    assert memory.f64(16) == math.pi
    memory.write(24, np.array([1.5], dtype="<f4").tobytes() + (2**40 + 3).to_bytes(8, "little"))
    assert memory.f32(24) == 1.5
    assert memory.u64(28) == 2**40 + 3


def test_u32s(memory: GuestMemory) -> None:
    memory.set_u32s(40, [1, 0xFFFFFFFF, -1, 1 << 33])
    assert memory.u32s(40, 4) == (1, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    assert memory.u32s(40, 0) == ()


def test_array_is_a_copy(memory: GuestMemory, engine: FakeEngineInstance) -> None:
    memory.write(64, np.array([1, -2, 3], dtype="<i4"))
    values = memory.array(64, 3, np.int32)
    assert values.tolist() == [1, -2, 3] and values.dtype == np.int32
    values[0] = 99
    assert memory.i32(64) == 1
    memory.write(80, np.array([0.5, -1.0], dtype="<f8"))
    assert memory.array(80, 2, "<f8").tolist() == [0.5, -1.0]
    view = memory.view()
    view[0] = 42
    assert memory.u8(0) == 42 and engine.memory_view()[0] == 42


def test_string_utf8(memory: GuestMemory) -> None:
    text = "héllo ☃ 𝄞"
    encoded = text.encode()
    memory.write(300, encoded)
    assert memory.string(300, len(encoded)) == text
    assert memory.string(300, 0) == ""


@pytest.mark.parametrize("raw", [b"\xff\xfe", b"\xe2\x98", b"\xed\xa0\x80", b"\xc0\xaf"])
def test_string_decoding_is_strict(memory: GuestMemory, raw: bytes) -> None:
    # invalid byte, truncated sequence, a surrogate, an overlong encoding: the glue's fatal decoder refuses all
    memory.write(300, raw)
    with pytest.raises(InvalidGuestValue, match="not valid UTF-8"):
        memory.string(300, len(raw))


@pytest.mark.parametrize(
    ("access", "address", "size"),
    [
        (lambda m: m.read(PAGE - 2, 4), PAGE - 2, 4),
        (lambda m: m.u32(PAGE - 3), PAGE - 3, 4),
        (lambda m: m.i32(-4), -4, 4),
        (lambda m: m.f64(PAGE - 7), PAGE - 7, 8),
        (lambda m: m.write(PAGE, b"x"), PAGE, 1),
        (lambda m: m.fill(PAGE - 1, 2), PAGE - 1, 2),
        (lambda m: m.set_u32s(PAGE - 4, [1, 2]), PAGE - 4, 8),
        (lambda m: m.u32s(PAGE, 1), PAGE, 4),
        (lambda m: m.string(PAGE - 1, 5), PAGE - 1, 5),
        (lambda m: m.array(PAGE - 4, 2, np.uint32), PAGE - 4, 8),
        (lambda m: m.read(0, -1), 0, -1),
    ],
)
def test_out_of_bounds(memory: GuestMemory, access: object, address: int, size: int) -> None:
    assert callable(access)
    with pytest.raises(GuestMemoryError) as info:
        access(memory)
    error = info.value
    assert (error.address, error.size, error.memory_size) == (address, size, PAGE)
    assert hex(PAGE) in str(error)


def test_out_of_bounds_write_changes_nothing(memory: GuestMemory) -> None:
    with pytest.raises(GuestMemoryError):
        memory.write(PAGE - 2, b"abcd")
    assert memory.read(PAGE - 2, 2) == b"\x00\x00"


def test_view_is_refreshed_after_grow(memory: GuestMemory, engine: FakeEngineInstance) -> None:
    memory.set_u32(PAGE - 4, 77)  # caches the one-page view
    assert memory.size == PAGE
    with pytest.raises(GuestMemoryError):
        memory.u32(PAGE)
    old_view = engine.memory_view()
    assert engine.grow(2) == 1
    assert engine.memory_view() is not old_view
    assert memory.size == 3 * PAGE
    memory.set_u32(2 * PAGE + 8, 0xCAFE)
    assert memory.u32(2 * PAGE + 8) == 0xCAFE
    assert int(engine.memory_view()[2 * PAGE + 8]) == 0xFE  # written to the new buffer
    assert memory.u32(PAGE - 4) == 77  # the old pages were kept
    with pytest.raises(GuestMemoryError) as info:
        memory.read(3 * PAGE, 1)
    assert info.value.memory_size == 3 * PAGE


def test_guest_growth_during_malloc_is_seen() -> None:
    ctx = fake_context(pages=2)
    engine = fake_engine(ctx)
    ctx.memory.u32(0)  # cache the two-page view
    ptr = ctx.abi.malloc(PAGE + 100, 8)  # the bump allocator grows memory past the old end
    assert ptr == HEAP_BASE
    assert ctx.memory.size == 3 * PAGE
    ctx.memory.write(ptr + PAGE + 96, b"tail")
    assert bytes(engine.memory_view()[ptr + PAGE + 96 : ptr + PAGE + 100]) == b"tail"


def test_unbound_memory_refuses() -> None:
    with pytest.raises(RealmWasmerError, match="before the instance finished instantiating"):
        GuestMemory().read(0, 1)


def test_fake_engine_imports_no_wasm_engine() -> None:
    """The fake and the host modules never import wasmer or wasmtime (checked in a
    fresh interpreter: this test process may have imported them elsewhere)."""
    script = textwrap.dedent(
        """
        import sys
        import tests.fake_engine as fake
        from realm_wasmer.host import abi, calls, context, heap, intrinsics, linker, memory, resolver, tables, values
        ctx = fake.fake_context()
        fake.link_fake(ctx, [intrinsics.IntrinsicResolver(), resolver.MissingPolicy("trap")])
        ctx.abi.pass_string("x")
        roots = ("wasmer", "wasmtime", "wasmer_compiler_cranelift", "wasmer_compiler_singlepass",
                 "wasmer_compiler_llvm")
        print(sorted(m for m in sys.modules if m.split(".")[0] in roots))
        print("adapters:", sorted(m for m in sys.modules if m.startswith("realm_wasmer.engines.")))
        """
    )
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=root, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "[]", f"a wasm engine was imported: {lines[0]}"
    # The adapter modules themselves are imported (realm_wasmer.engines imports them eagerly),
    # but they import wasmer/wasmtime only when an engine is asked for.
    assert lines[1].startswith("adapters:")
