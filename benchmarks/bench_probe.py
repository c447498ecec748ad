"""Probe trials per second on the Realm fixture, per engine.

    .venv/bin/python benchmarks/bench_probe.py [--engines wasmer-cranelift,wasmtime] [--trials 300]

For each engine it reports:

* the whole probe (``probe(wasm/realm.wasm, class_name="Realm")``, ci profile):
  trials, trials/s over the time spent inside trials, and wall time;
* clean trials (a heap slot, guards intact): a restored snapshot, the prelude
  malloc, the call, and the numpy diff of the memory outside the stack;
* trapping trials (a slot running off the end of memory): on wasmer the stack
  pointer is exported (the ``stack_pointer_export`` load transform), so a trapped
  instance is restored like any other and what is left is mostly the engine's
  trap; on wasmtime the unexported stack pointer may be left moved, so each one
  pays for a new instance;
* a fresh state both ways: snapshot restore vs re-instantiation, and how the
  snapshot's memory is put back (:class:`realm_wasmer.probe.state.MemoryReset`:
  its zero pages in the stack region dropped with madvise, the rest copied).

Target (issue 12): >= 1000 trials/s for the whole probe on wasmer-cranelift.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import realm_wasmer as rw
from realm_wasmer.probe import probe, runner_for
from realm_wasmer.probe.trial import TrialSpec

REALM = Path(__file__).resolve().parents[1] / "wasm" / "realm.wasm"


def rate(runner: object, spec: TrialSpec, count: int) -> float:
    run = runner.run  # type: ignore[attr-defined]
    run(spec)
    start = time.perf_counter()
    for index in range(count):
        run(TrialSpec(spec.placement, spec.size, spec.align, spec.param, canary=index))
    return count / (time.perf_counter() - start)


def bench(engine: str, trials: int) -> None:
    compiled = rw.compile(REALM, engine=engine)
    start = time.perf_counter()
    report = probe(compiled, class_name="Realm")
    wall = time.perf_counter() - start
    state = report.state
    print(f"{engine}:")
    print(f"  whole probe            {report.trials} trials, {report.trials_per_second:7.1f} trials/s "
          f"(trial time {report.trial_seconds:.2f} s, wall {wall:.2f} s)")
    runner = runner_for(compiled, class_name="Realm")
    print(f"  clean heap trials      {rate(runner, TrialSpec('heap', 16, 8), trials):7.1f} trials/s")
    print(f"  trapping trials        {rate(runner, TrialSpec('memory_end', 16, 1, 60), max(20, trials // 5)):7.1f}"
          " trials/s")
    print(f"  fresh state            snapshot {state['snapshot_seconds'] * 1e6:7.1f} us, "
          f"re-instantiate {state['reinstantiate_seconds'] * 1e6:7.1f} us -> {state['strategy']}")
    reset = runner.factory.memory_reset
    if reset is not None:
        dropped = sum(hi - lo for lo, hi in reset.zero_runs)
        copied = sum(hi - lo for lo, hi in reset.copy_runs)
        how = f"{dropped // 1024} KiB of zero pages dropped, {copied // 1024} KiB copied"
        print(f"  snapshot memory        {how}" + (f" ({reset.reason})" if reset.reason else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="wasmer-cranelift,wasmtime")
    parser.add_argument("--trials", type=int, default=300)
    args = parser.parse_args()
    for engine in args.engines.split(","):
        bench(engine, args.trials)


if __name__ == "__main__":
    main()
