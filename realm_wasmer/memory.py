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

from .engines.base import EngineInstance, U8Array
from .errors import GuestMemoryError

_U32 = struct.Struct("<I")


class _Unbound:
    """Stands in until instantiation finishes (e.g. a start function's imports)."""

    def __getattr__(self, name: str) -> Any:
        from .errors import RealmWasmerError

        raise RealmWasmerError("guest memory was used before the instance finished instantiating")

_I32 = struct.Struct("<i")


class GuestMemory:
    """The exported ``memory`` of one instance."""

    def __init__(self, engine_instance: Optional[EngineInstance] = None) -> None:
        self._engine: Any = engine_instance if engine_instance is not None else _Unbound()

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

    def _span(self, address: int, size: int) -> U8Array:
        view: U8Array = self._engine.memory_view()
        if address < 0 or size < 0 or address + size > view.shape[0]:
            raise GuestMemoryError(address, size, int(view.shape[0]))
        return view[address : address + size]

    def read(self, address: int, size: int) -> bytes:
        return self._span(address, size).tobytes()

    def write(self, address: int, data: bytes | bytearray | memoryview | U8Array) -> None:
        source = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data.view(np.uint8)
        self._span(address, int(source.shape[0]))[:] = source.reshape(-1)

    def fill(self, address: int, size: int, value: int = 0) -> None:
        self._span(address, size)[:] = value

    def u8(self, address: int) -> int:
        return int(self._span(address, 1)[0])

    def u32(self, address: int) -> int:
        return int(_U32.unpack(self._span(address, 4).tobytes())[0])

    def i32(self, address: int) -> int:
        return int(_I32.unpack(self._span(address, 4).tobytes())[0])

    def set_u32(self, address: int, value: int) -> None:
        self._span(address, 4)[:] = np.frombuffer(_U32.pack(value & 0xFFFFFFFF), dtype=np.uint8)

    def set_i32(self, address: int, value: int) -> None:
        self.set_u32(address, value)

    def u32s(self, address: int, count: int) -> tuple[int, ...]:
        return tuple(int(v) for v in self._span(address, 4 * count).view("<u4"))

    def set_u32s(self, address: int, values: Sequence[int]) -> None:
        data = np.array([v & 0xFFFFFFFF for v in values], dtype="<u4")
        self._span(address, 4 * len(values))[:] = data.view(np.uint8)

    def f64(self, address: int) -> float:
        return float(struct.unpack("<d", self._span(address, 8).tobytes())[0])

    def set_f64(self, address: int, value: float) -> None:
        self._span(address, 8)[:] = np.frombuffer(struct.pack("<d", value), dtype=np.uint8)

    def f32(self, address: int) -> float:
        return float(struct.unpack("<f", self._span(address, 4).tobytes())[0])

    def u64(self, address: int) -> int:
        return int(struct.unpack("<Q", self._span(address, 8).tobytes())[0])

    def string(self, address: int, length: int) -> str:
        """Decode UTF-8 strictly, as the glue's fatal TextDecoder does."""
        return self.read(address, length).decode("utf-8")

    def array(self, address: int, count: int, dtype: Any) -> Any:
        """A copy of ``count`` elements of ``dtype`` at ``address``."""
        dt = np.dtype(dtype)
        return self._span(address, count * dt.itemsize).view(dt).copy()
