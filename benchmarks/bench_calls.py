"""Micro-benchmarks of the host core on the Realm fixture, per engine.

    .venv/bin/python benchmarks/bench_calls.py [--engines wasmer-cranelift,wasmtime] [--seconds 1]

Reports, for each engine: a raw export call (rt_i32), a str-in/str-out call
(rt_string: malloc + copy in, retptr, read + free out) and a Pattern 3
construct + free of the Realm, each as time per call and as a ratio to the raw
call measured in the same run, with the guest crossings each one makes.
Speed goals live here, not in tests.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

from timing import per_call  # benchmarks/ is on sys.path when a script runs

import realm_wasmer as rw

REALM = Path(__file__).resolve().parents[1] / "wasm" / "realm.wasm"


def crossings(instance: rw.Instance, func: Callable[[], object]) -> int:
    calls = instance.calls
    func()
    return instance.calls - calls


def bench(engine: str, seconds: float) -> None:
    instance = rw.load(REALM, engine=engine)

    def raw() -> object:
        return instance.call("rt_i32", 41)

    def string() -> object:
        ptr, length = instance.abi.pass_string("héllo wörld")
        out_ptr, out_len = instance.call_retptr("rt_string", ptr, length, words=2)
        return instance.abi.take_string(out_ptr, out_len)

    def construct() -> object:
        instance.construct("Realm").close()
        return None

    base = per_call(raw, seconds)
    print(f"{engine}:")
    for name, func in (("raw rt_i32", raw), ("str in/out rt_string", string), ("Pattern 3 construct+free", construct)):
        t = base if func is raw else per_call(func, seconds)
        print(f"  {name:<26} {t * 1e6:9.2f} us  x{t / base:6.1f}  crossings {crossings(instance, func)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default=",".join(rw.engines.available_names()))
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    for engine in args.engines.split(","):
        bench(engine, args.seconds)


if __name__ == "__main__":
    main()
