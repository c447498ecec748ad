"""Where the bound hot paths spend their time over the hand-written floor (issue 12).

Run: ``.venv/bin/python benchmarks/bench_breakdown.py [--engine wasmer-cranelift] [--budget 4]``.

Each hot path is a chain of steps from the suite's floor (:mod:`realm_wasmer.bench.cases`:
the same wasm-bindgen protocol hand-written on the engine's own export objects) up to the
binding, each step adding one layer the library really runs (the guard is the one the
bindings generate, :class:`realm_wasmer.bindings.region.Region`, wrapped around the floor).
All steps of a chain are timed in the same interleaved rounds
(:func:`realm_wasmer.bench.timing.interleaved`), so a burst of load hits them alike. A
component is the difference between the medians of two consecutive steps: the components
add up to the call's time over the floor exactly, all measured in one run. The min..max of
the per-round differences is shown with each: a range across 0 means the layer costs
nothing this run could tell apart from the noise.

A benchmark, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any, Callable

from realm_wasmer.bench import cases
from realm_wasmer.bench.model import Context, Settings
from realm_wasmer.bench.timing import Samples, interleaved
from realm_wasmer.bindings.codegen import Namespace, compile_function
from realm_wasmer.bindings.region import Region

Step = tuple[str, Callable[[], object]]


def guarded(calls: Any, exports: tuple[str, ...], body: Callable[[], object]) -> Callable[[], object]:
    """``body()`` inside the guarded region the bindings generate for ``exports`` (the owner
    and poison checks, the outermost resets, the depth, the ``try`` translating engine
    errors, the call count, the hooks); ``body`` itself unchanged (None on an engine
    without regions)."""
    g = Namespace()
    region = Region.open(calls, g, exports[0])
    if region is None:
        raise LookupError("this engine has no guarded regions (not thread-affine, or no raw callables)")
    for export in exports:
        region.call(export)
    lines = region.wrap(["_k = 0", f"return {g.add(body, 'body')}()"])
    source = "def guarded():\n" + "".join(f"    {line}\n" for line in lines)
    return compile_function(source, "guarded", g.ns, "bench_breakdown guard")


def chains(ctx: Context, engine: str) -> list[tuple[str, int, list[Step]]]:
    """(label, crossings, steps from the floor up to the binding) per hot path."""
    m = cases._fixture(ctx, engine)
    instance = m.instance
    calls = instance.context.calls
    bare = cases._bare(ctx, engine)
    bare_call = cases._bare_call(bare)
    rt_i32, caller = m.rt_i32, calls.caller("rt_i32")
    abi = instance.abi
    alloc = (abi.roles["malloc"], "rt_string", abi.roles["free"])

    str_case = cases.setup_str_inout(ctx, engine)
    assert str_case.floor is not None

    ctor_case = cases.setup_construct_free(ctx, engine)
    assert ctor_case.floor is not None
    handle = instance.constructor("Realm")()
    free_export = handle._kind.free_export
    handle.close()
    # the floor with its free through the export's caller, in a guarded region: the library's two guards
    guarded_floor = guarded(calls, ("realm_new", free_export),
                            cases._construct_floor(bare, free=calls.caller(free_export)))  # fmt: skip

    ctor, realm = instance.constructor("Realm"), m.Realm
    return [
        ("rt_i32(41)", 1, [
            ("bare engine call (the floor)", bare_call),
            ("+ the guarded region around it (and its frame, as the binding's own)",
             guarded(calls, ("rt_i32",), bare_call)),
            ("+ the binding's frame, argument checks and i32 conversion: m.rt_i32(41)", lambda: rt_i32(41)),
        ]),
        ("rt_i32(41) through GuestCalls.caller (the per-crossing guard of unbound paths)", 1, [
            ("bare engine call (the floor)", bare_call),
            ("+ GuestCalls.caller's frame and guard", lambda: caller(41)),
        ]),
        (f"rt_string({cases.TEXT!r})", 3, [
            ("hand-written floor", str_case.floor),
            ("+ one guarded region around the floor (and its frame, as the binding's own)",
             guarded(calls, alloc, str_case.floor)),
            ("+ the binding's own code (argument binding and check, encode, stage and crossing counts, "
             "slot depth, view checks): m.rt_string", str_case.call),
        ]),
        ("Realm().free()", 2, [
            ("hand-written floor", ctor_case.floor),
            ("+ the library's guards: a guarded region around the floor, the free through its caller", guarded_floor),
            ("+ the Object handle made and closed: instance.constructor('Realm')().close()", lambda: ctor().close()),
            ("+ the bound class (its __init__, BoundObject, inline close): m.Realm().free()", lambda: realm().free()),
        ]),
    ]  # fmt: skip


def report(label: str, crossings: int, steps: list[Step], samples: list[Samples]) -> None:
    us = [s.median * 1e6 for s in samples]
    print(f"{label}, {crossings} crossing(s): {us[-1]:.2f} us = floor {us[0]:.2f} us x {us[-1] / us[0]:.2f}; "
          f"over the floor {us[-1] - us[0]:+.2f} us:")  # fmt: skip
    print(f"    {steps[0][0]:<100} {us[0]:6.2f} us")
    for index in range(1, len(steps)):
        diffs = [(a - b) * 1e6 for a, b in zip(samples[index].per_call, samples[index - 1].per_call, strict=True)]
        print(f"    {steps[index][0]:<100} {us[index] - us[index - 1]:+6.2f} us "
              f"(per round {min(diffs):+.2f}..{max(diffs):+.2f}, median {statistics.median(diffs):+.2f})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", default="wasmer-cranelift")
    parser.add_argument("--budget", type=float, default=4.0, help="seconds per chain (default 4)")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    args = parser.parse_args()
    ctx = Context(Settings.for_run(quick=True), [args.engine])
    try:
        print(f"engine {args.engine}; medians of {args.rounds} interleaved rounds, microseconds per call")
        for label, crossings, steps in chains(ctx, args.engine):
            samples = interleaved([f for _, f in steps], budget=args.budget, rounds=args.rounds, warmup=0.2)
            report(label, crossings, steps, samples)
    finally:
        ctx.close()


if __name__ == "__main__":
    main()
