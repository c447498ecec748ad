"""The one timing helper the benchmark scripts share."""

from __future__ import annotations

import time
from typing import Callable


def per_call(func: Callable[[], object], seconds: float, rounds: int = 5) -> float:
    """Best time per call over ``rounds`` rounds of about ``seconds / rounds`` each
    (best-of, because this 2-core machine is shared and noisy)."""
    func()
    best = float("inf")
    for _ in range(rounds):
        n, start = 0, time.perf_counter()
        while True:
            for _ in range(20):
                func()
            n += 20
            elapsed = time.perf_counter() - start
            if elapsed >= seconds / rounds:
                break
        best = min(best, elapsed / n)
    return best
