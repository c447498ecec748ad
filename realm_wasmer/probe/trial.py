"""One probe trial: a fresh state, an out-slot placed and guarded, one
constructor call, and a numpy diff of linear memory before/after (all of it
but the stack region, whose changes are never reported; the slot region gets
its own diff wherever it lies).

A trial never raises for what the guest does: traps, thrown JS values, host
errors and corrupted guard bytes are all recorded in its :class:`TrialOutcome`.

Every Pattern 3 trial runs the same prelude, whatever its placement, so the
allocator state is the same in all of them (and the object lands at the same
address): ``malloc(REGION)`` for a host chunk, then the constructor's arguments.
The slot then goes

* ``heap``: inside that chunk (a heap chunk from the guest's own malloc);
* ``stack_reserved``: in 112 bytes reserved by moving the shadow stack pointer
  down, as the JS glue does (only where the module exports a way to move it);
* ``stack_unreserved``: just below the stack pointer, without moving it;
* ``static_data``: over the module's static data (``param`` is the address);
* ``memory_end``: at ``param`` bytes past ``memory size - 64``, i.e. possibly
  running off the end of linear memory.

Guard bytes (a random canary, never zero) fill ``GUARD`` bytes on both sides of
the slot, and the slot itself is filled with a second canary, so every byte the
callee writes shows up in the diff (a byte written with its canary value is
caught by the next trial, whose canary differs).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, Callable, Optional, Sequence

import attrs
import numpy as np

from ..errors import GuestTrap, JsError, RealmWasmerError
from ..inspection import Constructor
from ..instance import Instance
from .args import ArgSpec, materialize
from .state import StateFactory

GUARD = 16
MAX_SIZE = 64
#: Bytes of the host chunk every Pattern 3 trial allocates (and of a stack reservation).
REGION = 112
ALIGNMENTS = (1, 2, 4, 8, 16)
PLACEMENTS = ("heap", "stack_reserved", "stack_unreserved", "static_data", "memory_end")
#: The reference for ``stack_reserved``: a heap slot while the stack pointer is moved
#: down just as far, so effects of the moved stack itself (frames at other
#: addresses, stack addresses stored in the heap) cancel out.
HEAP_WITH_RESERVATION = "heap_with_reservation"
#: How far below the stack pointer ``stack_unreserved`` may go, and how close to the end ``memory_end`` starts.
STACK_DEPTH = 4096
END_WINDOW = 64

#: The guard canary repeated over the host chunk (as np.resize would).
_CHUNK_REPEATS = -(-REGION // (2 * GUARD))
#: bytes.translate table: canary bytes are never zero.
_NONZERO = bytes([0xA5]) + bytes(range(1, 256))

Ranges = tuple[tuple[int, int], ...]
U8 = np.ndarray[Any, np.dtype[np.uint8]]
Idx = np.ndarray[Any, np.dtype[np.intp]]
#: Memory outside the stack before a call: its size then, and ``(start, bytes)`` parts.
Before = tuple[int, tuple[tuple[int, U8], ...]]


def ranges_of(mask: np.ndarray[Any, np.dtype[np.bool_]], base: int = 0) -> Ranges:
    """Contiguous True runs of ``mask`` as ``[start, end)`` pairs, shifted by ``-base``."""
    data = mask.astype(np.bool_, copy=False).tobytes()  # one byte per element, 0 or 1
    out = []
    start = data.find(1)
    while start >= 0:
        end = data.find(0, start)
        if end < 0:
            end = len(data)
        out.append((start - base, end - base))
        start = data.find(1, end)
    return tuple(out)


def ranges_of_indices(indices: Sequence[int]) -> Ranges:
    out: list[list[int]] = []
    for i in sorted(set(indices)):
        if out and out[-1][1] == i:
            out[-1][1] = i + 1
        else:
            out.append([i, i + 1])
    return tuple((a, b) for a, b in out)


def exact_align_up(address: int, align: int) -> int:
    """The first address >= ``address`` whose largest power-of-two divisor is
    exactly ``align`` (for 16: any multiple of 16)."""
    while not is_exactly_aligned(address, align):
        address += 1
    return address


def exact_align_down(address: int, align: int) -> int:
    while address > 0 and not is_exactly_aligned(address, align):
        address -= 1
    return address


def is_exactly_aligned(address: int, align: int) -> bool:
    if align >= 16:
        return address % 16 == 0
    return address % align == 0 and address % (2 * align) == align


def natural_alignment(address: int) -> int:
    align = 1
    while align < 16 and address % (align * 2) == 0:
        align *= 2
    return align


@attrs.frozen
class MemoryLayout:
    """Where the module's stack and static data are, and how the stack pointer is known."""

    stack_pointer: int
    #: How the stack pointer was read (an export, or the module's global section).
    stack_pointer_source: str
    #: ``add_to_stack_pointer``/``global`` (the probe can reserve stack) or None.
    stack_access: Optional[str]
    stack_global: Optional[str]
    stack_lo: int
    static_lo: int
    static_hi: int
    #: Static addresses the constructor itself writes in the reference trial.
    static_hot: tuple[int, ...] = ()
    #: Stack addresses the constructor's frames write (measured with a stack canary).
    stack_hot: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "stack_pointer": self.stack_pointer,
            "stack_pointer_source": self.stack_pointer_source,
            "stack": [self.stack_lo, self.stack_pointer],
            "static_data": [self.static_lo, self.static_hi],
            "static_written_by_constructor": ranges_of_indices(self.static_hot),
        }


@attrs.frozen
class TrialSpec:
    """What one trial does: slot size, exact alignment, placement and its parameter."""

    placement: str
    size: int
    align: int
    param: int = 0
    canary: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"placement": self.placement, "size": self.size, "align": self.align, "param": self.param}


@attrs.frozen(eq=False)
class TrialOutcome:
    """What happened in one trial (all addresses absolute, ranges relative to the slot)."""

    spec: TrialSpec
    #: The slot address (None for constructors without one).
    address: Optional[int]
    #: ``[lo, hi)``: guard + slot + guard, clipped to memory.
    region: tuple[int, int]
    #: ``ok``, ``trap``, ``thrown`` (a JS value or host error raised) or ``refused``.
    status: str
    error: Optional[str]
    last_import: Optional[str]
    words: tuple[int, ...]
    #: Bytes inside the slot the callee changed, relative to the slot.
    written: Ranges
    #: Guard bytes the callee changed, relative to the slot (negative = before it).
    guard_hits: Ranges
    #: Changed addresses outside the stack, the slot region and the host chunk, with new values.
    changed: Idx = attrs.field(repr=False)
    values: U8 = attrs.field(repr=False)
    memory_size: int
    imports: tuple[tuple[str, int], ...]
    console: tuple[str, ...]
    #: The JS value at the error index, when the words say Err.
    error_value: Optional[str]
    #: The whole slot after the call (for diagrams), clipped to memory.
    slot_bytes: bytes = attrs.field(repr=False, default=b"")

    @property
    def guards_intact(self) -> bool:
        return not self.guard_hits


class TrialRunner:
    """Runs trials of one constructor with fixed arguments on one state factory."""

    def __init__(
        self,
        factory: StateFactory,
        ctor: Constructor,
        args: Sequence[ArgSpec],
        layout: MemoryLayout,
        seed: int = 0,
        export: Optional[str] = None,
    ) -> None:
        self.factory = factory
        self.ctor = ctor
        self.export = export or ctor.export
        self.args = tuple(args)
        self.layout = layout
        self.seed = seed
        self.reference: Optional[TrialOutcome] = None
        #: The reference for ``stack_reserved`` trials (see HEAP_WITH_RESERVATION).
        self.reserved_reference: Optional[TrialOutcome] = None
        #: How deep the constructor's frames write below the stack pointer (see probe.measure_stack_use).
        self.stack_use: dict[str, Any] = {}
        self.trials = 0
        self.elapsed = 0.0
        self.on_trial: Optional[Callable[[TrialOutcome], None]] = None
        self._wrote: Optional[tuple[TrialOutcome, U8]] = None

    # -- canaries -------------------------------------------------------------
    def canaries(self, spec: TrialSpec) -> tuple[U8, U8]:
        """Guard bytes (2 * GUARD) and slot bytes (MAX_SIZE), never zero, from the seed."""
        key = f"{self.seed}:{spec.canary}:{spec.size}:{spec.align}:{spec.param}:{spec.placement}".encode()
        stream = hashlib.blake2b(key, digest_size=64).digest() + hashlib.blake2b(key + b"+", digest_size=64).digest()
        raw = np.frombuffer(stream.translate(_NONZERO), dtype=np.uint8).copy()  # a zero byte becomes 0xA5
        guard, slot = raw[: 2 * GUARD], raw[2 * GUARD : 2 * GUARD + MAX_SIZE]
        wrote = self._reference_wrote()
        if wrote is not None:
            # A byte the callee writes with its canary value would look unwritten:
            # keep each slot canary byte away from what the reference trial wrote there.
            n = min(MAX_SIZE, int(wrote.shape[0]))
            same = slot[:n] == wrote[:n]
            slot[:n][same] = slot[:n][same] % 255 + 1
        return guard, slot

    def _reference_wrote(self) -> Optional[U8]:
        """The reference trial's slot bytes after its call (None without a reference slot)."""
        reference = self.reference
        if reference is None or reference.address is None or not reference.slot_bytes:
            return None
        cached = self._wrote
        if cached is not None and cached[0] is reference:
            return cached[1]
        start = reference.address - reference.region[0]
        wrote = np.frombuffer(reference.slot_bytes[start : start + reference.spec.size], dtype=np.uint8)
        self._wrote = (reference, wrote)
        return wrote

    # -- one trial ------------------------------------------------------------
    def run(self, spec: TrialSpec) -> TrialOutcome:
        started = time.perf_counter()
        instance = self.factory.fresh()
        try:
            if self.ctor.pattern == 3 and not self.ctor.multi_value:
                outcome = self._slot_trial(instance, spec)
            else:
                outcome = self._plain_trial(instance, spec)
        finally:
            self.factory.finish(instance)
            self.trials += 1
            self.elapsed += time.perf_counter() - started
        if self.on_trial is not None:
            self.on_trial(outcome)
        return outcome

    def _call(self, instance: Instance, args: Sequence[Any]) -> tuple[str, Optional[str], Optional[str], Any]:
        try:
            result = instance.call(self.export, *args)
        except GuestTrap as trap:
            return "trap", trap.message, trap.last_import, None
        except JsError as exc:
            return "thrown", f"threw {exc}", instance.last_import, None
        except RealmWasmerError as exc:
            return "thrown", str(exc), instance.last_import, None
        except (TypeError, ValueError, OverflowError) as exc:
            return "thrown", f"{type(exc).__name__}: {exc}", None, None
        return "ok", None, instance.last_import, result

    def _plain_trial(self, instance: Instance, spec: TrialSpec) -> TrialOutcome:
        """Patterns 1 and 2 (and multi-value Pattern 3): no slot, the words come back as results."""
        args = materialize(instance, self.args)
        before = self._outside_stack(instance.memory.view())
        imports_before = dict(instance.import_calls)
        console_before = instance.console_messages.total
        status, error, last, result = self._call(instance, args)
        if result is None:
            words: tuple[int, ...] = ()
        elif isinstance(result, tuple):
            words = tuple(int(v) & 0xFFFFFFFF for v in result)
        else:
            words = (int(result) & 0xFFFFFFFF,)
        after = instance.memory.view()
        changed, values = self._changed(before, after, ())
        return TrialOutcome(
            spec, None, (0, 0), status, error, last, words, (), (), changed, values, int(after.shape[0]),
            _import_delta(imports_before, instance.import_calls),
            tuple(t for _, t in instance.console_messages.since(console_before)),
            self._error_value(instance, words, multi=True),
        )

    def place(self, instance: Instance, spec: TrialSpec, chunk: int) -> tuple[Optional[int], Optional[str]]:
        """The slot address for ``spec`` (None and a reason when impossible)."""
        size, align, layout = spec.size, spec.align, self.layout
        if spec.placement == "heap":
            return exact_align_up(chunk + GUARD, align), None
        if spec.placement in ("stack_reserved", HEAP_WITH_RESERVATION):
            if layout.stack_access is None:
                return None, "the module exports no way to move its stack pointer"
            base = self._reserve(instance)
            if spec.placement == HEAP_WITH_RESERVATION:
                return exact_align_up(chunk + GUARD, align), None
            return exact_align_up(base + GUARD, align), None
        if spec.placement == "stack_unreserved":
            top = layout.stack_pointer - spec.param - GUARD - size
            address = exact_align_down(top, align)
            if address - GUARD < layout.stack_lo:
                return None, "below the bottom of the stack region"
            return address, None
        if spec.placement == "static_data":
            address = exact_align_up(spec.param, align)
            if address - GUARD < layout.static_lo or address >= layout.static_hi:
                return None, "the slot does not start inside the static data"
            return address, None
        if spec.placement == "memory_end":
            return exact_align_up(instance.memory.size - END_WINDOW + spec.param, align), None
        raise ValueError(f"unknown placement {spec.placement!r}; one of {PLACEMENTS}")

    def _reserve(self, instance: Instance) -> int:
        if self.layout.stack_access == "function":
            name = instance.info.roles["add_to_stack_pointer"]
            assert name is not None
            return int(instance.call(name, -REGION)) & 0xFFFFFFFF
        assert self.layout.stack_global is not None
        engine = instance.engine_instance
        address = (int(engine.global_get(self.layout.stack_global)) - REGION) & 0xFFFFFFFF
        engine.global_set(self.layout.stack_global, address)
        return address

    def _unreserve(self, instance: Instance) -> None:
        if instance.poisoned:
            return
        if self.layout.stack_access == "function":
            name = instance.info.roles["add_to_stack_pointer"]
            assert name is not None
            instance.call(name, REGION)
        elif self.layout.stack_global is not None:
            engine = instance.engine_instance
            engine.global_set(self.layout.stack_global, int(engine.global_get(self.layout.stack_global)) + REGION)

    def _slot_trial(self, instance: Instance, spec: TrialSpec) -> TrialOutcome:
        chunk = instance.abi.malloc(REGION, 8)
        args = materialize(instance, self.args)
        address, refusal = self.place(instance, spec, chunk)
        reserved = spec.placement in ("stack_reserved", HEAP_WITH_RESERVATION) and refusal is None
        empty = np.empty(0, dtype=np.intp), np.empty(0, dtype=np.uint8)
        if address is None:
            return TrialOutcome(
                spec, None, (0, 0), "refused", refusal, None, (), (), (), empty[0], empty[1],
                instance.memory.size, (), (), None,
            )
        guard, slot_canary = self.canaries(spec)
        view = instance.memory.view()
        end = int(view.shape[0])
        size = spec.size
        lo, hi = max(0, address - GUARD), min(end, address + size + GUARD)
        view[chunk : chunk + REGION] = np.frombuffer((guard.tobytes() * _CHUNK_REPEATS)[:REGION], dtype=np.uint8)
        _fill(view, address - GUARD, guard[:GUARD], end)
        _fill(view, address, slot_canary[:size], end)
        _fill(view, address + size, guard[GUARD:], end)
        region = view[lo:hi].copy()
        before = self._outside_stack(view)
        imports_before = dict(instance.import_calls)
        console_before = instance.console_messages.total
        try:
            status, error, last, _ = self._call(instance, [address, *args])
        finally:
            if reserved:
                self._unreserve(instance)
        after = instance.memory.view()
        n = min(int(after.shape[0]), end)
        mask = after[lo:hi] != region  # memory never shrinks: hi <= end <= n
        rel = address - lo
        slot_mask = mask[rel : rel + size] if size else np.zeros(0, dtype=bool)
        guard_mask = mask.copy()
        guard_mask[rel : rel + size] = False
        written = ranges_of(slot_mask)
        guard_hits = ranges_of(guard_mask, rel)
        words = tuple(int(v) for v in after[address : address + 16].view("<u4")) if address + 16 <= n else ()
        changed, values = self._changed(before, after, ((lo, hi), (chunk, chunk + REGION)))
        slot_bytes = after[lo:min(hi, n)].tobytes()
        return TrialOutcome(
            spec, address, (lo, hi), status, error, last, words, written, guard_hits, changed, values,
            int(after.shape[0]), _import_delta(imports_before, instance.import_calls),
            tuple(t for _, t in instance.console_messages.since(console_before)),
            self._error_value(instance, words, multi=False) if status == "ok" else None,
            slot_bytes,
        )

    def _outside_stack(self, view: U8) -> Before:
        """The memory outside the stack region (what :meth:`_changed` compares), copied:
        the stack, most of linear memory in a wasm-ld layout, is left out of every diff."""
        end = int(view.shape[0])
        stack_lo = min(self.layout.stack_lo, end)
        stack_hi = min(max(self.layout.stack_pointer, stack_lo), end)
        return end, ((0, view[:stack_lo].copy()), (stack_hi, view[stack_hi:].copy()))

    def _changed(self, before: Before, after: U8, exclude: Sequence[tuple[int, int]]) -> tuple[Idx, U8]:
        """Addresses outside the stack and ``exclude`` whose bytes differ between
        ``before`` (:meth:`_outside_stack`) and ``after``, ascending, and their new values;
        memory grown by the call counts as zeros before."""
        end, parts = before
        found = []
        for start, old in parts:
            length = int(old.shape[0])
            new = after[start : start + length]
            n = length // 8 * 8
            # Compare 8 bytes at a time, then only the differing words byte by byte.
            words = np.flatnonzero(old[:n].view(np.uint64) != new[:n].view(np.uint64))
            if words.size:
                offsets = (words[:, None] * 8 + np.arange(8)).reshape(-1)
                found.append(offsets[old[offsets] != new[offsets]] + start)
            if length > n:
                found.append(np.flatnonzero(old[n:] != new[n:length]) + (start + n))
        if int(after.shape[0]) > end:
            grown = np.flatnonzero(after[end:]) + end
            layout = self.layout  # a stack pointer past the old end (never in a wasm-ld layout)
            found.append(grown[(grown < layout.stack_lo) | (grown >= layout.stack_pointer)])
        changed = np.concatenate(found) if found else np.empty(0, dtype=np.intp)
        if exclude:
            keep = np.ones(changed.shape[0], dtype=bool)
            for lo, hi in exclude:
                keep &= ~((changed >= lo) & (changed < hi))
            changed = changed[keep]
        return changed, after[changed].copy()

    def _error_value(self, instance: Instance, words: tuple[int, ...], multi: bool) -> Optional[str]:
        if len(words) < 3 or words[2] != 1:
            return None
        try:
            return repr(instance.values.lift(words[1]))
        except RealmWasmerError:
            return None

    # -- judging --------------------------------------------------------------
    def failure(self, outcome: TrialOutcome, words: int = 3) -> Optional[str]:
        """Why ``outcome`` is not a clean run of the constructor, or None.

        Clean means: no trap or throw, guard bytes intact, the same result words
        as the reference (heap-slot) trial, and every byte outside the stack, the
        slot and the host chunk ends up exactly as in the reference trial.
        """
        if outcome.status == "refused":
            return None
        where = f" at slot {outcome.address:#x}" if outcome.address is not None else ""
        if outcome.status == "trap":
            via = f" (last import called by the guest: {outcome.last_import})" if outcome.last_import else ""
            return f"{outcome.error}{via}"
        if outcome.status == "thrown":
            return outcome.error or "raised"
        if outcome.guard_hits:
            hits = ", ".join(f"[{a:+d}, {b:+d})" for a, b in outcome.guard_hits)
            return f"guard bytes overwritten{where}: {hits} relative to the slot"
        reference = self.reference
        if outcome.spec.placement == "stack_reserved" and self.reserved_reference is not None:
            reference = self.reserved_reference
        if reference is None:
            return None
        width = min(len(outcome.words), len(reference.words), words)
        if outcome.words[:width] != reference.words[:width]:
            got = [hex(w) for w in outcome.words[:width]]
            want = [hex(w) for w in reference.words[:width]]
            return f"result words{where} are {got}, a heap slot gets {want}"
        if outcome.memory_size != reference.memory_size:
            return f"memory grew to {outcome.memory_size:#x} bytes (a heap slot leaves {reference.memory_size:#x})"
        if outcome.imports != reference.imports or outcome.console != reference.console:
            return f"the guest's import calls differ: {dict(outcome.imports)} vs {dict(reference.imports)}"
        same_places = np.array_equal(outcome.changed, reference.changed)
        if not (same_places and np.array_equal(outcome.values, reference.values)):
            extra = np.setxor1d(outcome.changed, reference.changed)
            if extra.size == 0:
                mismatch = outcome.changed[outcome.values != reference.values]
                first = int(mismatch[0])
            else:
                first = int(extra[0])
            return f"memory outside the slot diverges from a heap-slot run (first at {first:#x})"
        return None


def _fill(view: U8, address: int, data: U8, end: int) -> None:
    lo, hi = max(0, address), min(end, address + int(data.shape[0]))
    if hi > lo:
        view[lo:hi] = data[lo - address : hi - address]


def _import_delta(before: dict[str, int], after: dict[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((k, v - before.get(k, 0)) for k, v in after.items() if v != before.get(k, 0)))
