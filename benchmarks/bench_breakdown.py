"""Where the bound hot paths spend their time over the hand-written floor (issue 12).

Run: ``.venv/bin/python benchmarks/bench_breakdown.py [--engine wasmer-cranelift]``.

Every figure is the best of 7 timeit runs (the machine is shared: the minimum is the
least disturbed), all in one process. The floors are the suite's
(:mod:`realm_wasmer.bench.cases`): the same wasm-bindgen protocol hand-written on the
engine's own export objects. The components are timed alone, then added up, so the
sum can be checked against the measured call:

* ``crossing``: one export call through ``GuestCalls.caller`` minus one bare engine
  call (the owner-thread and poison checks, the outermost-call bookkeeping, the call
  count, the try that translates traps; one Python frame);
* ``slot``: the reusable out-slot's ``acquire_slot`` + ``release_slot`` (the
  instance's lock, the per-depth slot);
* ``view``: one ``GuestMemory.trusted`` (the cached memoryview, bounds checked);
* ``prologue``: a generated binding's own frame and argument checks
  (``m.rt_i32(41)`` minus the caller);
* ``handle``: making an ``Object`` handle (Pattern 3 only), and ``close``'s frames.

A benchmark, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import timeit
from typing import Callable

from realm_wasmer.bench import cases
from realm_wasmer.bench.model import Context, Settings
from realm_wasmer.objects import Object


def best(function: Callable[[], object], number: int = 20000, repeat: int = 7) -> float:
    """Seconds per call, best of ``repeat`` runs."""
    return min(timeit.repeat(function, number=number, repeat=repeat)) / number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", default="wasmer-cranelift")
    engine = parser.parse_args().engine
    ctx = Context(Settings.for_run(quick=True), [engine])
    try:
        report(ctx, engine)
    finally:
        ctx.close()


def report(ctx: Context, engine: str) -> None:
    m = cases._fixture(ctx, engine)
    instance = m.instance
    calls, abi, memory = instance.context.calls, instance.abi, instance.memory
    bare = cases._bare_call(cases._bare(ctx, engine))
    caller = calls.caller("rt_i32")
    str_case = cases.setup_str_inout(ctx, engine)
    ctor_case = cases.setup_construct_free(ctx, engine)
    acquire, release = abi.acquire_slot, abi.release_slot
    slot = acquire()
    release()
    trusted = memory.trusted
    rt_i32 = m.rt_i32
    info = instance.class_info("Realm")
    probe_handle = instance.constructor("Realm")()
    free = (probe_handle._free_export, probe_handle._free_arity)
    free_call = calls.caller(free[0])
    probe_handle.close()

    def slot_pair() -> None:
        acquire()
        release()

    ctor = instance.constructor("Realm")

    def ctor_close() -> None:
        ctor().close()

    def handle() -> None:  # made, then closed without a free call (as if already freed), then dropped
        Object(calls, info, 8, probe_handle.constructor, None, free, free_call).closed = True

    t = {
        "bare": best(bare),
        "caller": best(lambda: caller(41)),
        "bound_rt_i32": best(lambda: rt_i32(41)),
        "slot": best(slot_pair),
        "view": best(lambda: trusted(slot, 8)),
        "str_case": best(str_case.call),
        "str_floor": best(str_case.floor),  # type: ignore[arg-type]
        "ctor_case": best(ctor_case.call),
        "ctor_floor": best(ctor_case.floor),  # type: ignore[arg-type]
        "handle": best(handle),
        "ctor_close": best(ctor_close),
    }
    crossing = t["caller"] - t["bare"]
    prologue = t["bound_rt_i32"] - t["caller"]
    us = {k: v * 1e6 for k, v in t.items()}
    print(f"engine {engine}; best of 7, microseconds")
    print(f"  bare rt_i32 call {us['bare']:.3f}; through GuestCalls.caller {us['caller']:.3f} "
          f"(+{crossing * 1e6:.3f} per crossing); bound m.rt_i32 {us['bound_rt_i32']:.3f} "
          f"(+{prologue * 1e6:.3f} the binding's frame and checks)")  # fmt: skip
    print(f"  out-slot acquire+release {us['slot']:.3f}; one trusted view {us['view']:.3f}; "
          f"an Object handle made and dropped {us['handle']:.3f}")  # fmt: skip
    str_parts = {"3 crossings": 3 * crossing, "out-slot": t["slot"], "3 views": 3 * t["view"], "prologue": prologue}
    _account("rt_string('héllo wörld')", t["str_case"], t["str_floor"], str_parts)
    ctor_parts = {"2 crossings": 2 * crossing, "out-slot": t["slot"], "1 view": t["view"],
                  "an Object handle, made and dropped": t["handle"],
                  "the bound class (Realm() and free() over constructor()() and close())":
                  t["ctor_case"] - t["ctor_close"]}  # fmt: skip
    _account("Realm().free()", t["ctor_case"], t["ctor_floor"], ctor_parts)


def _account(label: str, case: float, floor: float, parts: dict[str, float]) -> None:
    over = case - floor
    listed = sum(parts.values())
    print(f"{label}: {case * 1e6:.2f} us = floor {floor * 1e6:.2f} us x {case / floor:.2f}; "
          f"over the floor {over * 1e6:.2f} us:")  # fmt: skip
    for name, value in parts.items():
        print(f"    {name:72s} {value * 1e6:6.2f} us")
    print(f"    {'(the rest: frames, unlisted)':72s} {(over - listed) * 1e6:6.2f} us")


if __name__ == "__main__":
    main()
