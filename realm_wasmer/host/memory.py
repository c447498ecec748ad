"""Typed, bounds-checked access to a guest's linear memory.

Reads and writes go through a numpy uint8 view of ``Memory.buffer`` (wasmer) or
of the memory's data pointer (wasmtime), which runs at memcpy speed. The view is
rebuilt whenever the memory's size changes, so it is never stale after a
``memory.grow``; a :class:`GuestMemory` never hands out a view that outlives the
current host call.
"""

from __future__ import annotations

import struct
from typing import Any, Optional, Sequence

import numpy as np

from ..engines.base import EngineInstance, U8Array
from ..errors import GuestMemoryError, InvalidGuestValue

_U32 = struct.Struct("<I")


class _Unbound:
    """Stands in until instantiation finishes (e.g. a start function's imports)."""

    def __getattr__(self, name: str) -> Any:
        from ..errors import ModuleStateError

        raise ModuleStateError("guest memory was used before the instance finished instantiating")


_I32 = struct.Struct("<i")
_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")
_U64 = struct.Struct("<Q")


class GuestMemory:
    """The exported ``memory`` of one instance.

    Scalars go through ``struct.pack_into``/``unpack_from`` on a memoryview of
    the engine's current view, bulk data through numpy; the memoryview is
    re-made whenever the engine hands out a new view (after ``memory.grow``).
    """

    def __init__(self, engine_instance: Optional[EngineInstance] = None) -> None:
        self._engine: Any = engine_instance if engine_instance is not None else _Unbound()
        self._np: Optional[U8Array] = None
        #: The last memoryview of all of memory handed out (``trusted_view``): read by
        #: generated code that checks its own ranges against ``len(trusted_view)`` and calls
        #: :meth:`trusted` when a range lies past it. May be shorter than memory after growth.
        self.trusted_view: memoryview = memoryview(b"")

    def bind(self, engine_instance: EngineInstance) -> None:
        """Attach to the instance's memory (done once, right after instantiation)."""
        self._engine = engine_instance

    @property
    def size(self) -> int:
        """Current size in bytes."""
        return int(self._engine.memory_size())

    def view(self) -> U8Array:
        """A writable uint8 view of all of memory. Do not keep it across a call into the guest."""
        view: U8Array = self._engine.memory_view()
        return view

    @property
    def buffer(self) -> U8Array:
        """``memory.buffer`` for js-sys shims (``__wbindgen_memory`` puts this
        object on the JS heap): the current writable view, never cached."""
        return self.view()

    def _checked(self, address: int, size: int) -> memoryview:
        """The current memoryview, after checking ``[address, address+size)`` is inside it."""
        view = self._engine.memory_view()
        if view is not self._np:
            self._np = view
            self.trusted_view = memoryview(view)
        mv = self.trusted_view
        if address < 0 or size < 0 or address + size > len(mv):
            raise GuestMemoryError(address, size, len(mv))
        return mv

    def trusted(self, address: int, size: int) -> memoryview:
        """The memoryview of all of memory with ``[address, address+size)`` inside it,
        without asking the engine for its size when the last view already covers it.

        For the hot paths of the bindings and the ABI, on the owner thread, right after
        a checked crossing of the same call (which made the thread check). Sound
        because memory never shrinks and both engines keep a 32-bit memory at a fixed
        base (they reserve its whole address range), so a view only gets too short;
        a range past its end is checked against the engine and raises
        :class:`GuestMemoryError` as :meth:`read` does."""
        mv = self.trusted_view
        if address < 0 or size < 0 or address + size > len(mv):
            mv = self._checked(address, size)
        return mv

    def _span(self, address: int, size: int) -> U8Array:
        self._checked(address, size)
        assert self._np is not None
        return self._np[address : address + size]

    def read(self, address: int, size: int) -> bytes:
        return bytes(self._checked(address, size)[address : address + size])

    def write(self, address: int, data: bytes | bytearray | memoryview | U8Array) -> None:
        if isinstance(data, np.ndarray):
            source = np.ascontiguousarray(data).reshape(-1).view(np.uint8)
            self._span(address, int(source.shape[0]))[:] = source
            return
        raw = memoryview(data).cast("B") if not isinstance(data, (bytes, bytearray)) else data
        self._checked(address, len(raw))[address : address + len(raw)] = raw

    def fill(self, address: int, size: int, value: int = 0) -> None:
        self._span(address, size)[:] = value

    def u8(self, address: int) -> int:
        return int(self._checked(address, 1)[address])

    def u32(self, address: int) -> int:
        return int(_U32.unpack_from(self._checked(address, 4), address)[0])

    def i32(self, address: int) -> int:
        return int(_I32.unpack_from(self._checked(address, 4), address)[0])

    def set_u32(self, address: int, value: int) -> None:
        _U32.pack_into(self._checked(address, 4), address, value & 0xFFFFFFFF)

    def set_i32(self, address: int, value: int) -> None:
        self.set_u32(address, value)

    def u32s(self, address: int, count: int) -> tuple[int, ...]:
        return struct.unpack_from(f"<{count}I", self._checked(address, 4 * count), address)

    def set_u32s(self, address: int, values: Sequence[int]) -> None:
        count = len(values)
        struct.pack_into(f"<{count}I", self._checked(address, 4 * count), address, *(v & 0xFFFFFFFF for v in values))

    def f64(self, address: int) -> float:
        return float(_F64.unpack_from(self._checked(address, 8), address)[0])

    def set_f64(self, address: int, value: float) -> None:
        _F64.pack_into(self._checked(address, 8), address, value)

    def f32(self, address: int) -> float:
        return float(_F32.unpack_from(self._checked(address, 4), address)[0])

    def u64(self, address: int) -> int:
        return int(_U64.unpack_from(self._checked(address, 8), address)[0])

    def string(self, address: int, length: int, trusted: bool = False) -> str:
        """Decode UTF-8 strictly, as the glue's fatal TextDecoder does (``trusted``: see :meth:`trusted`)."""
        view = self.trusted_view  # the trusted fast path inlined (see :meth:`trusted`)
        end = address + length
        if not trusted or address < 0 or length < 0 or end > len(view):
            view = self._checked(address, length)
        data = view[address:end]
        try:
            return str(data, "utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidGuestValue(
                f"the guest's string at {address:#x} ({length} bytes) is not valid UTF-8: {exc.reason} "
                f"at byte {exc.start}"
            ) from None

    def array(self, address: int, count: int, dtype: Any) -> Any:
        """A copy of ``count`` elements of ``dtype`` at ``address``."""
        dt = np.dtype(dtype)
        return self._span(address, count * dt.itemsize).view(dt).copy()
