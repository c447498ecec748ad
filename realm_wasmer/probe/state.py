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

:meth:`StateFactory.measure` times both; the probe checks the snapshot path
gives the same reference trial as a fresh instance before preferring it.
"""

from __future__ import annotations

import time
from typing import Any, Optional

import numpy as np

from ..instance import CompiledModule, Instance, InstanceSnapshot

STRATEGIES = ("snapshot", "reinstantiate")


class StateFactory:
    """Hands out instances of ``compiled`` (with its spec's imports and policy)
    in the base state, by the chosen strategy."""

    def __init__(
        self,
        compiled: CompiledModule,
        start: bool = True,
        prime: int = 0,
        strategy: str = "snapshot",
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
        self.compiled = compiled
        self.start = start
        self.prime = prime
        self.strategy = strategy
        self._instance: Optional[Instance] = None
        self._snapshot: Optional[InstanceSnapshot] = None
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
                self._instance.restore(self._snapshot)
                self.counts["snapshot"] += 1
                self._restorable = False
                return self._instance
        instance = self._new()
        if self.strategy == "snapshot":
            self._instance = instance
            self._snapshot = instance.snapshot()
        self._restorable = False
        return instance

    def finish(self, instance: Instance) -> None:
        """Note whether ``instance`` can be restored for the next trial."""
        if self.strategy != "snapshot" or instance is not self._instance or self._snapshot is None:
            return
        self._restorable = instance.restorable(self._snapshot)

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
