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

from typing import Any, Callable

from ..errors import HeapError as HeapError
from ..js.values import UNDEFINED
from ..limits import HostBudget
from .guarded import source_handler

#: Bodies of the operations an import links directly (host/guarded.py: each becomes one frame
#: with the import guard). Names: the slab's lists and their bound methods, the budget.
_DROP = [
    "        if index < reserved:",
    "            return None",
    "        if index >= len(slots) or slots[index] is _FREE:",
    "            raise HeapError(f'JS heap index {index} dropped twice or never allocated')",
    "        slots[index] = _FREE",
    "        append(index)",
    "        return None",
]
_CHARGE = [
    "        used = budget.used + size",
    "        limit = budget.limit",
    "        if limit is not None and used > limit:",
    "            charge(size, what)  # raises ResourceExhausted, naming the import",
    "        budget.used = used",
]
_ADD = [
    "        if free:",
    "            index = pop()",
    "            slots[index] = value",
    "            return index",
    "        append(value)",
    "        return len(slots) - 1",
]
_CLONE = [
    "        try:",
    "            value = slots[index]",
    "        except IndexError:",
    "            raise bad(index) from None",
    "        if value is _FREE or index < 0:",
    "            raise bad(index)",
    *_ADD,
]


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
    slot holds the one :data:`_FREE` marker, so a drop allocates nothing.

    The per-crossing operations (:attr:`get`, :attr:`take`, :attr:`add`, :attr:`drop`,
    :attr:`clone` and their :class:`JsValueStore` names) are closures over the slot and
    free lists, made once per heap: one frame each, no attribute lookups. The two lists
    are only ever changed in place (:meth:`restore` too), so the closures stay valid.
    The live count and the high-water mark follow from the lists' lengths (an owned
    slot is only appended while no slot is free, so the slab's owned length is the peak)."""

    kind = "heap"
    #: A JS value crosses the boundary as an index into the slab.
    wasm_type = "i32"

    #: The value at an index (the glue's getObject).
    get: Callable[[int], Any]
    #: Read and drop (the glue's takeObject).
    take: Callable[[int], Any]
    #: Store a value and return its new index (the glue's addHeapObject).
    add: Callable[[Any], int]
    #: Release an index (the glue's dropObject); constants and borrowed slots are ignored.
    drop: Callable[[int], None]
    #: A new index holding the same value (``__wbindgen_object_clone_ref``).
    clone: Callable[[int], int]
    # the JsValueStore protocol (host/values.py): the glue's names, the same closures
    lift: Callable[[int], Any]
    lift_owned: Callable[[int], Any]
    lower: Callable[[Any], int]

    def __init__(self, offset: int = 128) -> None:
        self.offset = offset
        self.reserved = offset + 4
        self._slots: list[Any] = [UNDEFINED] * offset + [UNDEFINED, None, True, False]
        self._free: list[int] = []
        self._stack_pointer = offset
        self.get = self.lift = self._getter()
        self.take = self.lift_owned = self._taker()
        self.add = self.lower = self._adder()
        self.drop = self._dropper()
        self.clone = self._cloner()

    # -- owned values: the closures ---------------------------------------------
    def _bad_index(self, index: int) -> HeapError:
        """The error for an index that holds no value the guest may read."""
        if index < 0:
            return HeapError(f"JS heap index {index} is negative")
        if index >= len(self._slots):
            return HeapError(f"JS heap index {index} is beyond the heap ({len(self._slots)} slots)")
        return HeapError(f"JS heap index {index} holds no value (it was dropped)")

    def _getter(self) -> Callable[[int], Any]:
        slots, bad = self._slots, self._bad_index

        def get(index: int) -> Any:
            try:
                value = slots[index]
            except IndexError:
                raise bad(index) from None
            if value is _FREE or index < 0:
                raise bad(index)
            return value

        return get

    def _taker(self) -> Callable[[int], Any]:
        slots, free, reserved, bad = self._slots, self._free, self.reserved, self._bad_index
        append = free.append

        def take(index: int) -> Any:
            try:
                value = slots[index]
            except IndexError:
                raise bad(index) from None
            if index < reserved:
                if index < 0:
                    raise bad(index)
                return value  # a constant or a borrowed slot: read, never freed
            if value is _FREE:
                raise bad(index)
            slots[index] = _FREE
            append(index)
            return value

        return take

    def _adder(self) -> Callable[[Any], int]:
        slots, free = self._slots, self._free
        pop, append = free.pop, slots.append

        def add(value: Any) -> int:
            if free:
                index = pop()
                slots[index] = value
                return index
            append(value)
            return len(slots) - 1

        return add

    def _dropper(self) -> Callable[[int], None]:
        # source: the ``__wbindgen_object_drop_ref`` import links its guarded form (host/guarded.py)
        env = {"slots": self._slots, "reserved": self.reserved, "append": self._free.append, "HeapError": HeapError,
               "_FREE": _FREE}  # fmt: skip
        return source_handler("drop", "index", _DROP, env)

    def _cloner(self) -> Callable[[int], int]:
        get, add = self.get, self.add
        return lambda index: add(get(index))

    def _charged_env(self, budget: HostBudget, size: int, what: str) -> dict[str, Any]:
        return {"budget": budget, "size": size, "what": what, "charge": budget.charge, "slots": self._slots,
                "free": self._free, "pop": self._free.pop, "append": self._slots.append, "bad": self._bad_index,
                "_FREE": _FREE}  # fmt: skip

    def charged_adder(self, budget: HostBudget, size: int, what: str) -> Callable[[Any], int]:
        """:attr:`add` that first charges ``budget`` ``size`` bytes as import ``what``
        (the charge inlined: one frame per value lowered, the guard too where it is linked)."""
        return source_handler("add", "value", _CHARGE + _ADD, self._charged_env(budget, size, what))

    def charged_cloner(self, budget: HostBudget, size: int, what: str) -> Callable[[int], int]:
        """``__wbindgen_object_clone_ref`` in one frame: charge ``size`` bytes, read, add."""
        return source_handler("clone_ref", "index", _CHARGE + _CLONE, self._charged_env(budget, size, what))

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
        return (list(self._slots), list(self._free), self._stack_pointer)

    def restore(self, snapshot: tuple[Any, ...]) -> None:
        slots, free, self._stack_pointer = snapshot
        self._slots[:] = slots  # in place: the closures hold these lists
        self._free[:] = free

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
        return len(self._slots) - self.reserved - len(self._free)

    @property
    def peak(self) -> int:
        """High-water mark of live owned values (for leak reports)."""
        return len(self._slots) - self.reserved

    @property
    def borrowed_depth(self) -> int:
        return self.offset - self._stack_pointer

    #: A ``&JsValue`` argument of an export call (JsValueStore); undone by ``release_borrowed``.
    borrow = push_borrowed
    release_borrowed = pop_borrowed
