"""Fresh instance states for probe trials: re-instantiate, or restore a snapshot.

Every trial starts from the same *base state*: a new instance of the compiled
module (``__wbindgen_start`` run unless asked not to), whose allocator has been
primed with one ``malloc``/``free`` of the trial's region size. Priming makes
dlmalloc set up its state and grow memory once, so that a trial normally ends
with memory the size it started with; only then can a snapshot be restored
(``memory.grow`` cannot be undone).

Two ways to get back to the base state:

* ``reinstantiate``: a new instance from the compiled module (always correct);
* ``snapshot``: copy back all of linear memory, every exported mutable global
  and the host-side JS heap, and reset the instance's host counters. Not
  possible after a trap (the module's internal, unexported ``__stack_pointer``
  may be left moved) or when memory grew: those trials are followed by a
  re-instantiation.

:meth:`StateFactory.measure` times both; the probe checks the snapshot path
gives the same reference trial as a fresh instance before preferring it.
"""

from __future__ import annotations

import time
from typing import Any, Optional

import numpy as np

from ..host.resolver import Imports
from ..instance import CompiledModule, Instance

STRATEGIES = ("snapshot", "reinstantiate")


class _Snapshot:
    def __init__(self, instance: Instance, globals_: list[str]) -> None:
        self.memory = instance.memory.view().copy()
        self.globals = {name: instance.engine_instance.global_get(name) for name in globals_}
        self.heap = instance.heap.snapshot()
        self.console = len(instance.console_messages)
        self.describe = len(instance.describe_words)
        self.import_calls = dict(instance.import_calls)
        self.stub_calls = dict(instance.policy.stub_calls)
        self.calls = instance.calls
        self.crossings = instance.abi.crossings
        self.slots = instance.abi.slots()

    def restore(self, instance: Instance) -> None:
        view = instance.memory.view()
        view[:] = self.memory
        engine = instance.engine_instance
        for name, value in self.globals.items():
            engine.global_set(name, value)
        instance.heap.restore(self.heap)
        instance.abi.restore_slots(self.slots)
        del instance.console_messages[self.console :]
        del instance.describe_words[self.describe :]
        instance.import_calls.clear()
        instance.import_calls.update(self.import_calls)
        instance.policy.stub_calls.clear()
        instance.policy.stub_calls.update(self.stub_calls)
        instance.calls = self.calls
        instance.abi.crossings = self.crossings


def mutable_exported_globals(compiled: CompiledModule) -> list[str]:
    module = compiled.info.module
    names = []
    for export in module.exports:
        if export.kind != "global" or export.index >= len(module.globals):
            continue
        if module.globals[export.index].type.mutable:
            names.append(export.name)
    return names


class StateFactory:
    """Hands out instances in the base state, by the chosen strategy."""

    def __init__(
        self,
        compiled: CompiledModule,
        imports: Optional[Imports] = None,
        on_missing: str = "trap",
        start: bool = True,
        prime: int = 0,
        strategy: str = "snapshot",
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
        self.compiled = compiled
        self.imports = imports
        self.on_missing = on_missing
        self.start = start
        self.prime = prime
        self.strategy = strategy
        self._globals = mutable_exported_globals(compiled)
        self._instance: Optional[Instance] = None
        self._snapshot: Optional[_Snapshot] = None
        self._restorable = False
        #: How many base states were made each way.
        self.counts = {"snapshot": 0, "reinstantiate": 0}

    def _new(self) -> Instance:
        instance = self.compiled.instantiate(imports=self.imports, on_missing=self.on_missing, start=self.start)
        if self.prime and instance.info.roles.get("malloc"):
            ptr = instance.abi.malloc(self.prime, 8)
            instance.abi.free(ptr, self.prime, 8)
        self.counts["reinstantiate"] += 1
        return instance

    def fresh(self) -> Instance:
        """An instance in the base state. Call :meth:`finish` when the trial is over."""
        if self.strategy == "snapshot" and self._instance is not None and self._snapshot is not None:
            if self._restorable:
                self._snapshot.restore(self._instance)
                self.counts["snapshot"] += 1
                self._restorable = False
                return self._instance
        instance = self._new()
        if self.strategy == "snapshot":
            self._instance = instance
            self._snapshot = _Snapshot(instance, self._globals)
        self._restorable = False
        return instance

    def finish(self, instance: Instance) -> None:
        """Note whether ``instance`` can be restored for the next trial."""
        if self.strategy != "snapshot" or instance is not self._instance or self._snapshot is None:
            return
        self._restorable = (
            not instance.poisoned
            and instance.memory.size == self._snapshot.memory.shape[0]
            and instance.heap.borrowed_depth == 0
        )

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
