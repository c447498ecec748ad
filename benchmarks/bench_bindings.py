"""Overhead of a bound call over the raw call path of the host core, per engine.

    .venv/bin/python benchmarks/bench_bindings.py [--engines wasmer-cranelift,wasmtime] [--seconds 0.5]

Each case is measured twice on the same instance: through ``realm_wasmer.bind``
(argument checks, marshalling and result conversion generated from the
descriptors) and through the raw path a host writes by hand with the core
(``Instance.call`` / ``Abi`` helpers, no checks). Reported: time per call (the
best of several rounds) and the ratio bound/raw. Speed goals live here, not in
tests.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

from timing import per_call  # benchmarks/ is on sys.path when a script runs

import realm_wasmer as rw
from realm_wasmer.bindings import bind
from realm_wasmer.demo import EchoModel

REALM = Path(__file__).resolve().parents[1] / "wasm" / "realm.wasm"


def cases(engine: str) -> list[tuple[str, Callable[[], object], Callable[[], object]]]:
    m = bind(REALM, engine=engine, imports=EchoModel().imports())
    instance: rw.Instance = m.instance
    abi = instance.abi
    realm, cfg = m.Realm(), m.WasmGenerationConfig()
    realm_ptr, cfg_ptr = realm.ptr, cfg.ptr
    text = "héllo wörld"
    payload = bytes(range(256)) * 4

    def raw_string() -> object:
        ptr, length = abi.pass_string(text)
        out_ptr, out_len = instance.call_retptr("rt_string", ptr, length, words=2)
        return abi.take_string(out_ptr, out_len)

    def raw_bytes() -> object:
        ptr, length = abi.pass_bytes(payload)
        out_ptr, out_len = instance.call_retptr("rt_vec_u8", ptr, length, words=2)
        return abi.take_vec(out_ptr, out_len, "u1").tobytes()

    return [
        ("fn rt_i32(i32) -> i32", lambda: m.rt_i32(41), lambda: instance.call("rt_i32", 41)),
        ("Realm.isLoaded() -> bool", realm.isLoaded, lambda: instance.call("realm_isLoaded", realm_ptr) != 0),
        ("cfg.maxTokens (getter)", lambda: cfg.maxTokens,
         lambda: instance.call("wasmgenerationconfig_maxTokens", cfg_ptr)),
        ("cfg.topP = 0.5 (setter)", lambda: setattr(cfg, "topP", 0.5),
         lambda: instance.call("wasmgenerationconfig_set_topP", cfg_ptr, 0.5)),
        ("fn rt_string(String) -> String", lambda: m.rt_string(text), raw_string),
        ("fn rt_vec_u8(Vec<u8>) 1 KiB", lambda: m.rt_vec_u8(payload), raw_bytes),
    ]  # fmt: skip


def bench(engine: str, seconds: float) -> float:
    print(f"{engine}:")
    print(f"  {'call':<32} {'raw':>10} {'bound':>10}  bound/raw")
    ratios = []
    for name, bound_call, raw_call in cases(engine):
        assert bound_call() == raw_call() or name.endswith("(setter)"), name
        raw = per_call(raw_call, seconds)
        bound = per_call(bound_call, seconds)
        ratios.append(bound / raw)
        print(f"  {name:<32} {raw * 1e6:8.2f}us {bound * 1e6:8.2f}us  x{bound / raw:5.2f}")
    return ratios[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--engines", default="wasmer-cranelift,wasmtime")
    parser.add_argument("--seconds", type=float, default=0.5, help="measuring time per case and path")
    args = parser.parse_args()
    summary = {engine: bench(engine, args.seconds) for engine in args.engines.split(",")}
    print("\nbound/raw for a scalar call (rt_i32):", ", ".join(f"{e} x{r:.2f}" for e, r in summary.items()))


if __name__ == "__main__":
    main()
