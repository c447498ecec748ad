"""ABI marshalling: the guest allocator with the module's arity, strings and
byte arrays both ways, and out-slots for retptr calls.

Every helper counts the guest crossings it makes (``Abi.crossings``), because on
these engines a crossing, not the copy, is the cost.
"""

from __future__ import annotations

import struct
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

import numpy as np

from ..conventions import Conventions
from ..errors import MissingRuntimeExport, UnencodableString
from .calls import GuestCalls
from .memory import GuestMemory

#: Bytes reserved for one out-slot: wasm-bindgen's glue reserves 16.
SLOT_SIZE = 16
SLOT_ALIGN = 8


class Abi:
    """Calling-convention helpers of one instance."""

    def __init__(self, conventions: Conventions, calls: GuestCalls, memory: GuestMemory) -> None:
        self._calls = calls
        self._memory = memory
        self.roles = conventions.roles
        self.malloc_arity = conventions.malloc_arity
        self.free_arity = conventions.free_arity
        self.stack_pointer = conventions.stack_pointer
        self.stack_pointer_global = conventions.stack_pointer_global
        self.crossings = 0
        #: Reusable out-slots, one per call depth (allocated on first use).
        self._slots: list[int] = []
        self._slot_depth = 0
        self._lock_acquire, self._lock_release = calls.lock.acquire, calls.lock.release
        #: Runtime exports as bound callers, made once (malloc/free are hot), and
        #: malloc(size, align) / free(ptr, size, align) at the module's arities.
        self._bound: dict[str, Callable[..., Any]] = {}
        self._malloc: Optional[Callable[[int, int], Any]] = None
        self._free: Optional[Callable[[int, int, int], Any]] = None

    def _export(self, role: str) -> Callable[..., Any]:
        """The runtime export playing ``role``, as a bound caller (``GuestCalls.caller``), made once."""
        name = self.roles.get(role)
        if not name:
            raise MissingRuntimeExport(f"the module exports no {role} function (roles found: {self.roles})")
        function = self._bound.get(name)
        if function is None:
            function = self._bound[name] = self._calls.caller(name)
        return function

    # -- allocator ----------------------------------------------------------
    # ``malloc_caller``/``free_caller``: ``malloc(size, align)`` and ``free(ptr, size, align)``
    # as bound callers at the module's arities, for generated code that counts its own
    # crossings (``crossings``) and masks malloc's result (an i32) to an address.
    def malloc_caller(self) -> Callable[[int, int], Any]:
        if self._malloc is None:
            malloc = self._export("malloc")
            self._malloc = (lambda n, a: malloc(n)) if self.malloc_arity == 1 else malloc
        return self._malloc

    def free_caller(self) -> Callable[[int, int, int], Any]:
        if self._free is None:
            free = self._export("free")
            self._free = (lambda p, n, a: free(p, n)) if self.free_arity == 2 else free
        return self._free

    def malloc(self, size: int, align: int = 1) -> int:
        """Allocate in the guest with the module's malloc arity (1 before 0.2.87, 2 after)."""
        malloc = self._malloc or self.malloc_caller()
        self.crossings += 1
        return int(malloc(size, align)) & 0xFFFFFFFF

    def free(self, ptr: int, size: int, align: int = 1) -> None:
        free = self._free or self.free_caller()
        self.crossings += 1
        free(ptr, size, align)

    # -- strings and bytes --------------------------------------------------
    def pass_bytes(self, data: bytes | bytearray | memoryview, align: int = 1) -> tuple[int, int]:
        """Copy ``data`` into a fresh guest allocation of exactly its size."""
        length = len(data)
        ptr = self.malloc(length, align)
        if length:
            if isinstance(data, (bytes, bytearray)):
                self._memory.trusted(ptr, length)[ptr : ptr + length] = data  # malloc made the thread check
            else:
                self._memory.write(ptr, data)
        return ptr, length

    def pass_string(self, text: str) -> tuple[int, int]:
        """UTF-8 encode, allocate exactly that many bytes (align 1), copy.

        This is the glue's fallback protocol (encode first, then one malloc) and
        gives the exact-size allocation that Rust's owned ``String`` needs (the
        0.2.91 fix); it is valid for every era and makes one crossing instead of
        the glue's malloc + realloc for non-ASCII text.

        Lone surrogates are rejected (Python's strict encoder): the JS glue would
        replace them with U+FFFD, and handing Rust invalid UTF-8 is undefined behaviour.
        """
        try:
            encoded = text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise UnencodableString(f"string cannot be passed to the guest: {exc}") from None
        return self.pass_bytes(encoded, 1)

    def take_string(self, ptr: int, length: int) -> str:
        """Read an owned String result and free it (``free(ptr, len, 1)``), as the glue does."""
        ptr &= 0xFFFFFFFF
        try:
            try:  # the view of the call that returned it; the checked decoder for its error
                return str(self._memory.trusted(ptr, length)[ptr : ptr + length], "utf-8")
            except UnicodeDecodeError:
                return self._memory.string(ptr, length)
        finally:
            if length:
                self.free(ptr, length, 1)

    # -- typed arrays -------------------------------------------------------
    def pass_array(self, data: Any, dtype: Any = None) -> tuple[int, int]:
        """Copy a numpy array, or any buffer (bytes, bytearray, memoryview), into a
        fresh guest allocation aligned to its element size, as the glue's
        ``passArray{8,16,32,64,F32,F64}ToWasm0`` do; returns (ptr, element count).
        The guest may keep or free it (owned ``Vec<T>``/``Box<[T]>`` arguments)."""
        if isinstance(data, (bytes, bytearray, memoryview)):
            array = np.frombuffer(data, dtype=dtype or np.uint8)
        else:
            array = np.asarray(data, dtype=dtype)
        array = np.ascontiguousarray(array)
        little = array.astype(array.dtype.newbyteorder("<"), copy=False)
        itemsize = max(1, little.dtype.itemsize)
        ptr = self.malloc(little.nbytes, itemsize)
        if little.nbytes:
            self._memory.write(ptr, little.view(np.uint8).reshape(-1))
        return ptr, int(little.size)

    def view_array(self, ptr: int, count: int, dtype: Any) -> Any:
        """A zero-copy numpy view of ``count`` elements at ``ptr``: valid only
        until the next call into the guest (memory may grow or be reused)."""
        dt = np.dtype(dtype).newbyteorder("<")
        view = self._memory.view()
        return view[ptr & 0xFFFFFFFF : (ptr & 0xFFFFFFFF) + count * dt.itemsize].view(dt)

    def take_vec(self, ptr: int, count: int, dtype: Any) -> Any:
        """Copy out an owned ``Vec<T>`` result and free it with
        ``free(ptr, count * size, align)``, as the glue does."""
        dt = np.dtype(dtype).newbyteorder("<")
        ptr &= 0xFFFFFFFF
        try:
            return self._memory.array(ptr, count, dt)
        finally:
            if count:
                self.free(ptr, count * dt.itemsize, dt.itemsize)

    # -- out-slots ----------------------------------------------------------
    @contextmanager
    def out_slot(self, strategy: str = "auto") -> Iterator[int]:
        """An address the callee may write a 16-byte result into.

        ``reusable``: a host-owned malloc'd slot per call depth, allocated once
        and never freed by the guest; no crossings per call. Safe because only
        one call at each depth can be in flight, and the guest never sees the
        slot except as this call's retptr.
        ``stack``: the glue's way: move the shadow stack pointer down 16
        (``__wbindgen_add_to_stack_pointer`` or the exported stack-pointer
        global) and back up in a ``finally``, even when the call raises.
        ``auto``: reusable where the module has malloc, else stack.
        """
        if strategy == "auto" and self.roles.get("malloc"):
            address = self.acquire_slot()
            try:
                yield address
            finally:
                self.release_slot()
            return
        with self._calls.lock:  # the slot is this caller's until the result is read
            yield from self._out_slot(strategy)

    def acquire_slot(self) -> int:
        """The reusable out-slot of the current call depth, held (with the instance's
        lock) until :meth:`release_slot`: the hot-path form of ``out_slot("reusable")``
        for generated code (call ``release_slot`` in a ``finally``)."""
        self._lock_acquire()
        depth = self._slot_depth
        slots = self._slots
        if depth == len(slots):
            try:
                slots.append(self.malloc(SLOT_SIZE, SLOT_ALIGN))
            except BaseException:
                self._lock_release()
                raise
        self._slot_depth = depth + 1
        return slots[depth]

    @property
    def slot_list(self) -> list[int]:
        """The reusable out-slots by call depth (the list itself, kept for the
        instance's life: generated code indexes it by ``_slot_depth``)."""
        return self._slots

    def slot_at(self, depth: int) -> int:
        """The reusable out-slot of ``depth``, allocated (one counted malloc each) up to it."""
        slots = self._slots
        while len(slots) <= depth:
            slots.append(self.malloc(SLOT_SIZE, SLOT_ALIGN))
        return slots[depth]

    def release_slot(self) -> None:
        self._slot_depth -= 1
        self._lock_release()

    def _out_slot(self, strategy: str) -> Iterator[int]:
        if strategy == "auto":
            strategy = "reusable" if self.roles.get("malloc") else "stack"
        if strategy == "reusable":
            depth = self._slot_depth
            if depth == len(self._slots):
                self._slots.append(self.malloc(SLOT_SIZE, SLOT_ALIGN))
            self._slot_depth += 1
            try:
                yield self._slots[depth]
            finally:
                self._slot_depth -= 1
        elif strategy == "stack":
            with self._stack_slot() as address:
                yield address
        else:
            raise ValueError(f"unknown out-slot strategy {strategy!r}; use auto, reusable or stack")

    @contextmanager
    def _stack_slot(self) -> Iterator[int]:
        if self.stack_pointer == "function":
            add = self._export("add_to_stack_pointer")
            self.crossings += 1
            address = int(add(-SLOT_SIZE)) & 0xFFFFFFFF
            try:
                yield address
            finally:
                self.crossings += 1
                add(SLOT_SIZE)
        elif self.stack_pointer == "global" and self.stack_pointer_global:
            engine = self._calls.engine  # a global access is not a call: no crossing
            name = self.stack_pointer_global
            address = (int(engine.global_get(name)) - SLOT_SIZE) & 0xFFFFFFFF
            engine.global_set(name, address)
            try:
                yield address
            finally:
                engine.global_set(name, int(engine.global_get(name)) + SLOT_SIZE)
        else:
            raise MissingRuntimeExport(
                "the module has no way to reach its shadow stack (no __wbindgen_add_to_stack_pointer "
                "and no exported stack-pointer global); use the reusable out-slot strategy"
            )

    def slots(self) -> tuple[int, ...]:
        """Addresses of the reusable out-slots allocated so far."""
        return tuple(self._slots)

    def restore_slots(self, slots: tuple[int, ...]) -> None:
        """Forget slots allocated after a memory snapshot that is being restored."""
        self._slots[:] = slots  # in place: generated code holds the list
        self._slot_depth = 0

    def release_slots(self) -> None:
        for ptr in self._slots:
            self.free(ptr, SLOT_SIZE, SLOT_ALIGN)
        self._slots.clear()


def unsigned(value: int, bits: int = 32) -> int:
    """Engines return signed integers; u32 values and pointers (and u64) are
    their two's-complement reading, as the glue's ``>>> 0`` and ``BigInt.asUintN``."""
    return value & ((1 << bits) - 1)


def signed(value: int, bits: int = 32) -> int:
    """The signed reading of a ``bits``-wide value (i8/i16 results come back widened)."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def check_range(value: int, bits: int, is_signed: bool, name: str = "value") -> int:
    """Refuse an integer that does not fit, instead of letting an engine wrap it
    (wasmtime-py wraps 2**32 to 0 silently; wasmer raises OverflowError)."""
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if is_signed else (0, (1 << bits) - 1)
    if not low <= value <= high:
        kind = f"{'i' if is_signed else 'u'}{bits}"
        raise OverflowError(f"{name}={value} does not fit in {kind} [{low}, {high}]")
    return value


#: ``Option<u32>``-like values cross as one f64 from 0.2.96; this is None.
OPTION_F64_NONE = float(0x100000001)


def decode_option_f64(value: float) -> Optional[int]:
    """Decode the >= 0.2.96 f64 encoding of ``Option<u32/i32/...>``."""
    return None if value == OPTION_F64_NONE else int(value)


#: The words of a ``Result`` of one i32 payload (a Pattern 3 constructor's slot):
#: payload (the object pointer), error index, is_err.
RESULT_WORDS = struct.Struct("<3I")


def decode_result_words(words: tuple[int, ...]) -> tuple[int, int, bool]:
    """``[payload, err, is_err]`` -> (payload, err index, is_err)."""
    payload, err, is_err = words[0] & 0xFFFFFFFF, words[1] & 0xFFFFFFFF, bool(words[2])
    return payload, err, is_err
