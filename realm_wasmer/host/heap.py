"""The JS-value heap slab of heap-slab (non-externref) wasm-bindgen modules.

The guest refers to JS values by i32 index into a host-side array, laid out as
the JS glue lays it out (``getObject``/``addHeapObject``/``dropObject`` in any
heap-slab ``*_bg.js``):

* indices ``0 .. offset-1``: the borrow stack for ``&JsValue`` arguments; the
  stack pointer starts at ``offset`` and moves down;
* ``offset .. offset+3``: the constants undefined, null, true, false;
* from ``offset+4``: owned values, allocated from a free list threaded through
  the free slots; the array grows when the list is empty.

``offset`` is the module's ``Conventions.value_offset`` (32, 128 or 1024 by
era: see :data:`realm_wasmer.conventions.ERAS`). Dropping an index below
``offset+4`` does nothing.

This is the ``"heap"`` :class:`~realm_wasmer.host.values.JsValueStore`: values
cross the boundary as i32 indices. Python stands in for JS values as
:mod:`realm_wasmer.js.values` describes.
"""

from __future__ import annotations

from typing import Any

from ..errors import HeapError as HeapError
from ..js.values import UNDEFINED


class _FreeSlot:
    """What an owned slot holds while no value is there (one object for every such slot)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<free>"


_FREE = _FreeSlot()


class JsHeap:
    """The slab. ``offset`` is the number of borrow-stack slots (32, 128 or 1024).

    Freed indices are kept on a stack and the last one freed is reused first, the
    order of the glue's free list threaded through ``heap`` (``heap_next``); a free
    slot holds the one :data:`_FREE` marker, so a drop allocates nothing."""

    kind = "heap"
    #: A JS value crosses the boundary as an index into the slab.
    wasm_type = "i32"

    def __init__(self, offset: int = 128) -> None:
        self.offset = offset
        self.reserved = offset + 4
        self._slots: list[Any] = [UNDEFINED] * offset + [UNDEFINED, None, True, False]
        self._free: list[int] = []
        self._stack_pointer = offset
        self._live = 0
        #: High-water mark of live owned values (for leak reports).
        self.peak = 0

    # -- owned values -------------------------------------------------------
    def add(self, value: Any) -> int:
        """Store ``value`` and return its new index (the glue's addHeapObject)."""
        free, slots = self._free, self._slots
        if free:
            index = free.pop()
            slots[index] = value
        else:
            index = len(slots)
            slots.append(value)
        live = self._live = self._live + 1
        if live > self.peak:
            self.peak = live
        return index

    def get(self, index: int) -> Any:
        """The value at ``index`` (the glue's getObject)."""
        if index < 0:
            raise HeapError(f"JS heap index {index} is negative")
        try:
            value = self._slots[index]
        except IndexError:
            raise HeapError(f"JS heap index {index} is beyond the heap ({len(self._slots)} slots)") from None
        if value is _FREE:
            raise HeapError(f"JS heap index {index} holds no value (it was dropped)")
        return value

    def drop(self, index: int) -> None:
        """Release ``index`` (the glue's dropObject); constants and borrowed slots are ignored."""
        if index < self.reserved:
            return
        slots = self._slots
        if index >= len(slots) or slots[index] is _FREE:
            raise HeapError(f"JS heap index {index} dropped twice or never allocated")
        slots[index] = _FREE
        self._free.append(index)
        self._live -= 1

    def take(self, index: int) -> Any:
        """Read and drop (the glue's takeObject)."""
        value = self.get(index)
        if index >= self.reserved:
            self._slots[index] = _FREE
            self._free.append(index)
            self._live -= 1
        return value

    def clone(self, index: int) -> int:
        """A new index holding the same value (``__wbindgen_object_clone_ref``)."""
        return self.add(self.get(index))

    # -- borrowed values ----------------------------------------------------
    def push_borrowed(self, value: Any) -> int:
        """Place a borrowed ``&JsValue`` argument on the borrow stack."""
        if self._stack_pointer == 1:
            raise HeapError("out of js stack: too many borrowed JS values in one call")
        self._stack_pointer -= 1
        self._slots[self._stack_pointer] = value
        return self._stack_pointer

    def pop_borrowed(self) -> None:
        """Release the most recent borrowed slot (always, in a ``finally``)."""
        self._slots[self._stack_pointer] = UNDEFINED
        self._stack_pointer += 1

    # -- snapshots (the probe restores instance state between trials) -------
    def snapshot(self) -> tuple[Any, ...]:
        """The slab's whole state (shallow copies: the values are the guest's, not copied)."""
        return (list(self._slots), list(self._free), self._stack_pointer, self._live, self.peak)

    def restore(self, snapshot: tuple[Any, ...]) -> None:
        slots, free, self._stack_pointer, self._live, self.peak = snapshot
        self._slots, self._free = list(slots), list(free)

    # -- constants and stats -----------------------------------------------
    def index_of_constant(self, value: Any) -> int | None:
        """The reserved index for undefined/null/true/false, else None."""
        if value is UNDEFINED:
            return self.offset
        if value is None:
            return self.offset + 1
        if value is True:
            return self.offset + 2
        if value is False:
            return self.offset + 3
        return None

    def live_count(self) -> int:
        """Owned values currently held for the guest."""
        return self._live

    @property
    def borrowed_depth(self) -> int:
        return self.offset - self._stack_pointer

    # -- the JsValueStore protocol (host/values.py): the glue's names, bound directly (no extra frame)
    #: A JS value the guest passes to an import (borrowed): getObject.
    lift = get
    #: A JS value the guest hands over (owned): takeObject.
    lift_owned = take
    #: A JS value an import returns to the guest (a new owned index): addHeapObject.
    lower = add
    #: A ``&JsValue`` argument of an export call; undone by ``release_borrowed``.
    borrow = push_borrowed
    release_borrowed = pop_borrowed
