"""Fresh instance states for probe trials: re-instantiate, or restore a snapshot.

Every trial starts from the same *base state*: a new instance of the compiled
module (``__wbindgen_start`` run unless asked not to), whose allocator has been
primed with one ``malloc``/``free`` of the trial's region size. Priming makes
dlmalloc set up its state and grow memory once, so that a trial normally ends
with memory the size it started with; only then can a snapshot be restored
(``memory.grow`` cannot be undone).

Two ways to get back to the base state:

* ``reinstantiate``: a new instance from the compiled module (always correct);
* ``snapshot``: :meth:`Instance.restore <realm_wasmer.instance.Instance.restore>`
  a snapshot taken of the base state (memory, exported mutable globals, JS
  values, host counters). Not possible after a trap (the module's internal,
  unexported ``__stack_pointer`` may be left moved) or when memory grew
  (:meth:`Instance.restorable`): those trials are followed by a re-instantiation.
  Linear memory is put back by :class:`MemoryReset`: the snapshot's zero pages
  are dropped (the kernel zero-fills them when touched again), the rest copied.

:meth:`StateFactory.measure` times both; the probe checks the snapshot path
gives the same reference trial as a fresh instance before preferring it.
"""

from __future__ import annotations

import ctypes
import mmap
import sys
import time
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..instance import CompiledModule, Instance, InstanceSnapshot

STRATEGIES = ("snapshot", "reinstantiate")

U8 = np.ndarray[Any, np.dtype[np.uint8]]
Spans = tuple[tuple[int, int], ...]
PAGE = mmap.PAGESIZE
#: Linux's madvise advice that drops private anonymous pages (they read as zeros afterwards).
MADV_DONTNEED = 4
#: Runs of zero pages shorter than this are copied with the rest (a call costs more than a copy).
MIN_ZERO_PAGES = 4


def _libc_madvise() -> Optional[Callable[[int, int, int], int]]:
    if not sys.platform.startswith("linux"):
        return None
    try:
        madvise = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    madvise.restype = ctypes.c_int
    return madvise  # type: ignore[no-any-return]


def zero_page_runs(memory: U8, keep: Sequence[tuple[int, int]] = (), min_pages: int = MIN_ZERO_PAGES) -> Spans:
    """``[start, end)`` byte runs of whole pages that are all zero in ``memory``, at
    least ``min_pages`` long, none touching a ``keep`` range."""
    pages = int(memory.shape[0]) // PAGE
    zero: np.ndarray[Any, np.dtype[np.bool_]] = np.logical_not(memory[: pages * PAGE].reshape(pages, PAGE).any(axis=1))
    for lo, hi in keep:
        if hi > lo:
            zero[max(0, lo // PAGE) : max(0, -(-hi // PAGE))] = False
    runs, start = [], None
    flags = [bool(flag) for flag in zero]
    for index, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = index
        elif not flag and start is not None:
            if index - start >= min_pages:
                runs.append((start * PAGE, index * PAGE))
            start = None
    return tuple(runs)


def _complement(runs: Spans, size: int) -> Spans:
    out, at = [], 0
    for lo, hi in runs:
        if lo > at:
            out.append((at, lo))
        at = hi
    if size > at:
        out.append((at, size))
    return tuple(out)


class MemoryReset:
    """Puts a snapshot's linear memory back into the instance it was taken of.

    Whole pages that are zero in the snapshot and outside the module's data
    segments (most of a wasm-ld module's memory: the shadow stack below the stack
    pointer, the heap not yet handed out) are dropped with ``madvise(MADV_DONTNEED)``:
    the kernel maps zeros back in on the next touch, so a trial pays only for the
    pages it touched. The rest is copied from the snapshot. Dropping is used only
    where a check on this instance's memory showed dropped pages read back as zeros
    (a private anonymous mapping, Linux); elsewhere all of memory is copied
    (``reason`` says why). Either way memory ends up equal to the snapshot's.
    """

    def __init__(self, instance: Instance, memory: U8, keep: Sequence[tuple[int, int]] = ()) -> None:
        self.memory = memory
        size = int(memory.shape[0])
        self.zero_runs: Spans = ()
        self.copy_runs: Spans = ((0, size),)
        self.reason = "no zero pages"
        self._madvise: Optional[Callable[[int, int, int], int]] = None
        self._address = 0
        runs = zero_page_runs(memory, keep)
        if not runs:
            return
        madvise = _libc_madvise()
        view = instance.memory.view()
        address = int(view.ctypes.data)
        if madvise is None:
            self.reason = "no madvise (not Linux)"
            return
        if address % PAGE or int(view.shape[0]) != size:
            self.reason = "memory not page-aligned or not the snapshot's size"
            return
        for lo, hi in runs:  # a dropped page must read back as zeros: try the first and last of each run
            view[lo] = view[hi - 1] = 1
            dropped = madvise(address + lo, hi - lo, MADV_DONTNEED) == 0
            if not (dropped and view[lo] == 0 and view[hi - 1] == 0):
                view[lo:hi] = memory[lo:hi]
                self.reason = "dropped pages do not read back as zeros here"
                return
        self.zero_runs, self.copy_runs = runs, _complement(runs, size)
        self.reason = ""
        self._madvise, self._address = madvise, address

    @property
    def drops_pages(self) -> bool:
        return self._madvise is not None

    def restore(self, instance: Instance) -> None:
        view, memory = instance.memory.view(), self.memory
        for lo, hi in self.copy_runs:
            view[lo:hi] = memory[lo:hi]
        madvise = self._madvise
        if madvise is None:
            return
        address = int(view.ctypes.data)
        for lo, hi in self.zero_runs:
            if address != self._address or madvise(address + lo, hi - lo, MADV_DONTNEED) != 0:
                view[lo:hi] = 0


class StateFactory:
    """Hands out instances of ``compiled`` (with its spec's imports and policy)
    in the base state, by the chosen strategy."""

    def __init__(
        self,
        compiled: CompiledModule,
        start: bool = True,
        prime: int = 0,
        strategy: str = "snapshot",
        page_drops: bool = True,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
        self.compiled = compiled
        self.start = start
        self.prime = prime
        self.strategy = strategy
        #: Restore zero pages by dropping them (:class:`MemoryReset`) where that is checked to work.
        self.page_drops = page_drops
        #: Ranges always copied, never dropped (a trial reads them anyway, e.g. to diff them: a
        #: dropped page read again costs a page fault, more than copying it).
        self.copied: list[tuple[int, int]] = []
        self._instance: Optional[Instance] = None
        self._snapshot: Optional[InstanceSnapshot] = None
        self._reset: Optional[MemoryReset] = None
        self._restorable = False
        #: How many base states were made each way.
        self.counts = {"snapshot": 0, "reinstantiate": 0}

    def _new(self) -> Instance:
        instance = self.compiled.instantiate(start=self.start)  # the spec's imports and policy
        if self.prime and instance.info.roles.get("malloc"):
            ptr = instance.abi.malloc(self.prime, 8)
            instance.abi.free(ptr, self.prime, 8)
        self.counts["reinstantiate"] += 1
        return instance

    def fresh(self) -> Instance:
        """An instance in the base state. Call :meth:`finish` when the trial is over."""
        if self.strategy == "snapshot" and self._instance is not None and self._snapshot is not None:
            if self._restorable:
                if self._reset is not None:
                    self._reset.restore(self._instance)
                    self._instance.restore(self._snapshot, memory=False)
                else:
                    self._instance.restore(self._snapshot)
                self.counts["snapshot"] += 1
                self._restorable = False
                return self._instance
        instance = self._new()
        if self.strategy == "snapshot":
            self._instance = instance
            self._snapshot = instance.snapshot()
            # The data segments' pages are copied, never dropped: an engine may map them from an image.
            keep = [*self.compiled.info.module.data_segments, *self.copied]
            self._reset = MemoryReset(instance, self._snapshot.memory, keep) if self.page_drops else None
            self._restorable = False
        # (re-instantiating leaves the snapshot's instance as it was: restorable if it was)
        return instance

    def finish(self, instance: Instance) -> None:
        """Note whether ``instance`` can be restored for the next trial."""
        if self.strategy != "snapshot" or instance is not self._instance or self._snapshot is None:
            return
        self._restorable = instance.restorable(self._snapshot)

    @property
    def memory_reset(self) -> Optional[MemoryReset]:
        """How restores put the snapshot's memory back (None: no snapshot yet, or page drops off)."""
        return self._reset

    def base_memory(self) -> Optional[np.ndarray[Any, np.dtype[np.uint8]]]:
        return self._snapshot.memory if self._snapshot is not None else None

    def measure(self, rounds: int = 20) -> dict[str, float]:
        """Seconds per base state for each strategy (the same instance reused for snapshots)."""
        timings: dict[str, float] = {}
        start = time.perf_counter()
        for _ in range(rounds):
            self._new()
        timings["reinstantiate"] = (time.perf_counter() - start) / rounds
        saved = self.strategy
        self.strategy = "snapshot"
        instance = self.fresh()
        start = time.perf_counter()
        for _ in range(rounds):
            self.finish(instance)
            instance = self.fresh()
        timings["snapshot"] = (time.perf_counter() - start) / rounds
        self.finish(instance)
        self.strategy = saved
        return timings
