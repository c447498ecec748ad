"""The engine's own cost of one crossing, measured on the bare engine (no realm_wasmer code):
the floor under any host's package call.

* ``export_us``: one Python -> wasm call of ``(i32) -> i32`` through the engine's Python API.
* ``import_us``: one wasm -> Python call of an ``(i32) -> i32`` import whose handler returns
  its argument, measured as (a wasm loop making N import calls - one export call) / N.

A package call that makes ``e`` export calls and ``k`` import calls cannot take less than
``e * export_us + k * import_us`` from Python on that engine (its wasm work and the data it
moves come on top). ``bench_package_calls.py`` puts this floor beside Node's time.
"""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable

WAT = """(module
  (import "env" "h" (func $h (param i32) (result i32)))
  (func (export "f") (param i32) (result i32) (local.get 0))
  (func (export "loop") (param $n i32) (result i32) (local $acc i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $acc (i32.add (local.get $acc) (call $h (local.get $n))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $acc)))"""

#: Import calls per ``loop`` call: long enough that the export call around them is noise.
LOOP = 1000


def _identity(x: int) -> int:
    return x


def _bare_exports(engine: str) -> tuple[Callable[[int], int], Callable[[int], int]]:
    """(f, loop) as the engine's raw Python callables."""
    import wasmtime

    wasm = bytes(wasmtime.wat2wasm(WAT))
    if engine == "wasmtime":
        store = wasmtime.Store()
        module = wasmtime.Module(store.engine, wasm)
        h = wasmtime.Func(store, wasmtime.FuncType([wasmtime.ValType.i32()], [wasmtime.ValType.i32()]), _identity)
        inst = wasmtime.Instance(store, module, [h])
        f, loop = inst.exports(store)["f"], inst.exports(store)["loop"]
        return (lambda x: f(store, x)), (lambda n: loop(store, n))
    import wasmer

    compiler = {"wasmer-cranelift": "wasmer_compiler_cranelift", "wasmer-singlepass": "wasmer_compiler_singlepass",
                "wasmer-llvm": "wasmer_compiler_llvm"}[engine]  # fmt: skip
    module_compiler = __import__(compiler)
    store = wasmer.Store(wasmer.engine.Universal(module_compiler.Compiler))
    ftype = wasmer.FunctionType([wasmer.Type.I32], [wasmer.Type.I32])
    imports = wasmer.ImportObject()
    imports.register("env", {"h": wasmer.Function(store, _identity, ftype)})
    instance = wasmer.Instance(wasmer.Module(store, wasm), imports)
    return instance.exports.f, instance.exports.loop


def _median_per_call(call: Callable[[], Any], n: int, rounds: int, budget: float) -> float:
    clock = time.perf_counter
    t0 = clock()
    call()
    size = max(1, round(budget / rounds / max(clock() - t0, 1e-7)))
    samples = []
    for _ in range(rounds):
        t0 = clock()
        for _ in range(size):
            call()
        samples.append((clock() - t0) / size / n)
    return statistics.median(samples)


def measure(engine: str, rounds: int = 5, budget: float = 0.5) -> dict[str, float]:
    """``{"export_us": ..., "import_us": ...}`` on ``engine``, medians of ``rounds`` batches."""
    f, loop = _bare_exports(engine)
    assert f(7) == 7 and loop(3) == 6  # the module does what the floor assumes
    export_s = _median_per_call(lambda: f(1), 1, rounds, budget)
    loop_s = _median_per_call(lambda: loop(LOOP), 1, rounds, budget)
    return {"export_us": export_s * 1e6, "import_us": max(loop_s - export_s, 0.0) / LOOP * 1e6}


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(measure(sys.argv[1] if len(sys.argv) > 1 else "wasmer-cranelift")))
