"""Reading the guest allocator's chunk headers (Rust's wasm32 std: dlmalloc).

Rust's ``wasm32-unknown-unknown`` std allocates with the ``dlmalloc`` crate, a
port of Doug Lea's malloc with ``size_t`` = 4 bytes and 8-byte alignment. An
in-use chunk is laid out as::

    chunk      +0  prev_foot   (only meaningful while the previous chunk is free)
    chunk      +4  head        = chunk size | PINUSE (1) | CINUSE (2)
    chunk      +8  user memory (the pointer malloc returns)
    chunk+size +0  the next chunk's prev_foot: usable by this chunk while it is in use
    chunk+size +4  the next chunk's head: its PINUSE bit says this chunk is in use

so the header word sits 4 bytes before the user pointer, the usable size is
``size - 4``, and a request of ``n`` bytes (alignment <= 8) gets a chunk of
``max(16, align_up(n + 4, 8))`` bytes. Nothing here is assumed: :func:`calibrate`
checks that rule on known ``__wbindgen_malloc`` sizes before any object is read,
and :func:`locate_chunk` only accepts a header whose next chunk confirms it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import attrs

from ..errors import AllocatorUnknown as AllocatorUnknown
from ..records import attributes

if TYPE_CHECKING:
    from ..host.memory import GuestMemory
    from ..instance import Instance

PINUSE = 1
CINUSE = 2
FLAG_MASK = 7
MIN_CHUNK = 16
CHUNK_ALIGN = 8
OVERHEAD = 4
#: Request sizes used to check the header rule (each a different chunk size class).
CALIBRATION_SIZES = (1, 4, 12, 13, 16, 20, 24, 100, 128, 136, 200)


def expected_chunk(request: int) -> int:
    """dlmalloc's chunk size for a request of ``request`` bytes (alignment <= 8)."""
    return max(MIN_CHUNK, (request + OVERHEAD + CHUNK_ALIGN - 1) // CHUNK_ALIGN * CHUNK_ALIGN)


def request_range(chunk_size: int) -> tuple[int, int]:
    """The request sizes ``[lo, hi]`` that produce a chunk of ``chunk_size``."""
    hi = chunk_size - OVERHEAD
    lo = 1 if chunk_size == MIN_CHUNK else chunk_size - CHUNK_ALIGN - OVERHEAD + 1
    return lo, hi


@attrs.frozen
class Chunk:
    """One in-use dlmalloc chunk, found from a pointer into it."""

    #: The pointer malloc returned (chunk + 8).
    user_ptr: int
    #: The chunk size from the header word (flags masked off).
    size: int
    #: The header's flag bits (PINUSE | CINUSE for an in-use chunk).
    flags: int
    #: How far the object pointer lies past ``user_ptr`` (0, or e.g. 8 for an ``Rc`` header).
    object_offset: int

    @property
    def header_address(self) -> int:
        return self.user_ptr - 4

    @property
    def usable(self) -> int:
        return self.size - OVERHEAD

    def to_json(self) -> dict[str, int]:
        return {
            **attributes(self, "user_ptr", "header_address"),
            "chunk_size": self.size,
            **attributes(self, "flags", "usable", "object_offset"),
        }


def read_chunk(memory: "GuestMemory", user_ptr: int, object_offset: int = 0) -> Optional[Chunk]:
    """The in-use chunk whose user memory starts at ``user_ptr``, or None when the
    header there is not one: CINUSE must be set, the size a multiple of 8 and at
    least 16, the chunk inside memory, and the next chunk's PINUSE bit set."""
    size_limit = memory.size
    if user_ptr < 8 or user_ptr % CHUNK_ALIGN or user_ptr + 4 > size_limit:
        return None
    head = memory.u32(user_ptr - 4)
    size, flags = head & ~FLAG_MASK, head & FLAG_MASK
    if not flags & CINUSE or size < MIN_CHUNK or size % CHUNK_ALIGN:
        return None
    next_head_at = user_ptr - 8 + size + 4
    if next_head_at + 4 > size_limit:
        return None
    if not memory.u32(next_head_at) & PINUSE:
        return None
    return Chunk(user_ptr, size, flags, object_offset)


def locate_chunk(memory: "GuestMemory", ptr: int, max_offset: int = 16) -> Optional[Chunk]:
    """The chunk holding object pointer ``ptr``: its header 4 bytes before ``ptr``
    (a ``Box``), or up to ``max_offset`` bytes further back (an ``Rc``/``Arc``
    box puts its counts before the value)."""
    for offset in range(0, max_offset + 1, CHUNK_ALIGN):
        chunk = read_chunk(memory, ptr - offset, offset)
        if chunk is not None and offset < chunk.usable:
            return chunk
    return None


@attrs.frozen
class Calibration:
    """The header rule checked on known malloc sizes: ``rows`` holds
    ``(request, pointer, header word, chunk size read, chunk size expected)``."""

    rows: tuple[tuple[int, int, int, int, int], ...]
    verified: bool

    def to_json(self) -> dict[str, object]:
        return {
            "allocator": "dlmalloc (Rust wasm32 std)",
            "rule": "header word at ptr-4 = chunk size | PINUSE(1) | CINUSE(2); "
            "chunk size = max(16, align_up(n + 4, 8)); usable = chunk size - 4",
            "verified": self.verified,
            "checks": [
                {"request": r, "ptr": p, "header": h, "chunk_size": s, "expected": e} for r, p, h, s, e in self.rows
            ],
        }


def calibrate(instance: "Instance", sizes: tuple[int, ...] = CALIBRATION_SIZES) -> Calibration:
    """Allocate each size with the module's own ``__wbindgen_malloc`` (at its arity),
    read the header, compare with the rule, and free everything again."""
    rows: list[tuple[int, int, int, int, int]] = []
    taken: list[tuple[int, int]] = []
    try:
        for request in sizes:
            ptr = instance.abi.malloc(request, 1)
            taken.append((ptr, request))
            head = instance.memory.u32(ptr - 4) if ptr >= 4 else 0
            rows.append((request, ptr, head, head & ~FLAG_MASK, expected_chunk(request)))
    finally:
        for ptr, request in reversed(taken):
            if ptr:
                instance.abi.free(ptr, request, 1)
    verified = all(
        size == expected and head & CINUSE and ptr % CHUNK_ALIGN == 0 for _, ptr, head, size, expected in rows
    )
    return Calibration(tuple(rows), bool(verified))
