"""Timing on a noisy machine: interleaved batches, medians and spread, paired ratios.

Every callable of a comparison (the case, its floor, the engine's bare call) is
timed in the same rounds, one batch of each per round, so a burst of load hits
all of them alike. A batch is a calibrated number of calls lasting about
``budget / (rounds * len(funcs))``; its per-call time is one sample. A ratio is
taken per round (case batch / floor batch of the same round) and reported as
the median of those ratios with their min and max.
"""

from __future__ import annotations

import gc
import itertools
import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

#: Upper bound of a calibrated batch (calls).
MAX_BATCH = 1_000_000


@dataclass(frozen=True)
class Samples:
    """Per-call seconds, one sample per batch, and the batch size used."""

    per_call: tuple[float, ...]
    batch_size: int

    @property
    def median(self) -> float:
        return statistics.median(self.per_call)

    @property
    def min(self) -> float:
        return min(self.per_call)

    @property
    def max(self) -> float:
        return max(self.per_call)

    def to_json(self) -> dict[str, Any]:
        return {
            "median_s": self.median,
            "min_s": self.min,
            "max_s": self.max,
            "rounds": len(self.per_call),
            "batch_size": self.batch_size,
            "per_call_s": list(self.per_call),
        }


@dataclass(frozen=True)
class Spread:
    """A median with its min and max (a ratio, a rate)."""

    median: float
    min: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> "Spread":
        return cls(statistics.median(values), min(values), max(values))

    def range(self) -> list[float]:
        return [self.min, self.max]


def _batch(func: Callable[[], object], size: int) -> float:
    """Seconds for ``size`` calls of ``func``, the garbage collector paused (as timeit does)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in itertools.repeat(None, size):
            func()
        return time.perf_counter() - start
    finally:
        if enabled:
            gc.enable()


def calibrate(func: Callable[[], object], target: float) -> int:
    """How many calls of ``func`` last about ``target`` seconds (at least 1)."""
    single = max(_batch(func, 1), 1e-7)
    size = max(1, min(MAX_BATCH, round(target / single)))
    if size > 4:
        trial = max(1, size // 4)
        single = max(_batch(func, trial) / trial, 1e-8)
        size = max(1, min(MAX_BATCH, round(target / single)))
    return size


def warm(func: Callable[[], object], seconds: float, calls: int = 1) -> None:
    """Call ``func`` at least ``calls`` times and for about ``seconds`` (calibration's first
    call warms it once more: a slow call is not repeated beyond the budget)."""
    deadline = time.perf_counter() + seconds
    for _ in range(calls):
        func()
    while time.perf_counter() < deadline:
        func()


def interleaved(
    funcs: Sequence[Callable[[], object]], *, budget: float, rounds: int, warmup: float = 0.0
) -> list[Samples]:
    """Time ``funcs`` in the same ``rounds`` (one batch of each per round, in turn);
    ``budget`` seconds in all, split evenly. Returns one :class:`Samples` per function."""
    target = budget / max(1, rounds * len(funcs))
    for func in funcs:
        warm(func, warmup / max(1, len(funcs)))
    sizes = [calibrate(func, target) for func in funcs]
    samples: list[list[float]] = [[] for _ in funcs]
    for _ in range(rounds):
        for index, (func, size) in enumerate(zip(funcs, sizes, strict=True)):
            samples[index].append(_batch(func, size) / size)
    return [Samples(tuple(s), size) for s, size in zip(samples, sizes, strict=True)]


def repeated(func: Callable[[], object], repeats: int) -> Samples:
    """Time ``repeats`` single calls of a slow ``func`` (compile, a subprocess)."""
    return Samples(tuple(_batch(func, 1) for _ in range(max(1, repeats))), 1)


def paired_ratio(numerator: Samples, denominator: Samples) -> Spread:
    """Per-round ratios of two interleaved measurements: median, min, max."""
    return Spread.of([a / b for a, b in zip(numerator.per_call, denominator.per_call, strict=True) if b > 0])


def envelope_ratio(numerator: Samples, denominator_median: float) -> Optional[Spread]:
    """Ratios of every sample of ``numerator`` to one reference median (a peer timed
    in another process, where rounds cannot be paired)."""
    if denominator_median <= 0:
        return None
    return Spread.of([value / denominator_median for value in numerator.per_call])
