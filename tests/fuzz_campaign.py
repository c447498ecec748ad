"""The hostile-module campaign: cases made here, run in a child process per engine.

``make_cases(seed, budget, wasm_tools)`` builds malformed and hostile modules
deterministically: truncations and byte flips of real modules, ``wasm-tools mutate``
and ``smith`` output (smith with ``--ensure-termination``, so their exports end),
and hand-written hostile WAT. ``python -m tests.fuzz_campaign ENGINE CASES.json``
runs them: each case is loaded (cache disabled, every import stubbed), and for
``call`` cases every function export is called with zero arguments. It prints one
JSON line per case, and ``start N`` before each, so the parent can tell a crash
(the child dies) or a hang (it stops printing) from an error, and which case did it.
"""

from __future__ import annotations

import base64
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: Hostile WAT guests: each must end in a typed error (or load and run), never a crash or hang.
HOSTILE_WAT = {
    "deep_recursion": '(module (memory (export "memory") 1) (func $f (export "run") call $f))',
    "unreachable_start": '(module (memory (export "memory") 1) (func $s unreachable) (start $s))',
    "data_out_of_bounds": '(module (memory (export "memory") 1) (data (i32.const 65534) "abcd"))',
    "grow_to_max": '(module (memory (export "memory") 1) (func (export "run") (result i32) '
    "i32.const 65535 memory.grow))",
    "div_by_zero": '(module (memory (export "memory") 1) (func (export "run") (result i32) '
    "i32.const 1 i32.const 0 i32.div_s))",
    "indirect_mismatch": '(module (memory (export "memory") 1) (table 1 funcref) (elem (i32.const 0) $g) '
    '(func $g (param i32)) (type $t (func (result i32))) (func (export "run") (result i32) '
    "i32.const 0 call_indirect (type $t)))",
    "table_oob": '(module (memory (export "memory") 1) (table 1 funcref) (type $t (func)) '
    '(func (export "run") i32.const 7 call_indirect (type $t)))',
    "no_memory": '(module (func (export "run") (result i32) i32.const 1))',
    "bad_float_to_int": '(module (memory (export "memory") 1) (func (export "run") (result i32) '
    "f64.const nan i32.trunc_f64_s))",
    "externref_import": '(module (import "env" "h" (func $h (param externref))) (memory (export "memory") 1) '
    '(func (export "run") ref.null extern call $h))',
    "huge_table_grow_intrinsic": '(module (import "__wbindgen_placeholder__" "__wbindgen_externref_table_grow" '
    '(func $g (param i32) (result i32))) (memory (export "memory") 1) '
    '(func (export "run") (result i32) i32.const 1000 call $g))',
    "many_imports": "(module "
    + " ".join(f'(import "env" "f{i}" (func (param i32 i64 f32 f64) (result i32)))' for i in range(300))
    + ' (memory (export "memory") 1))',
}


#: What a wasm-bindgen module may use (what the engines here run): the rest is left to the codec's tests.
SMITH_FEATURES = [
    *("--gc-enabled", "false", "--exceptions-enabled", "false", "--memory64-enabled", "false"),
    *("--threads-enabled", "false", "--custom-page-sizes-enabled", "false", "--wide-arithmetic-enabled", "false"),
    *("--relaxed-simd-enabled", "false", "--tail-call-enabled", "false", "--compact-imports-enabled", "false"),
    # Imports of globals, tables or memories have no stub; functions are exercised by the hostile guests.
    *("--max-imports", "0"),
]


def _seed_modules() -> list[tuple[str, bytes]]:
    import wasmtime

    modules = [("realm", (ROOT / "wasm" / "realm.wasm").read_bytes())]
    for wat_file in sorted((ROOT / "wasm" / "patterns").glob("*.wat")):
        modules.append((wat_file.stem, bytes(wasmtime.wat2wasm(wat_file.read_text()))))
    return modules


def make_cases(seed: int, budget: int, wasm_tools: Path) -> list[dict[str, Any]]:
    """``budget`` cases (about a quarter of each kind), the same for the same seed."""
    import wasmtime

    rng = random.Random(seed)
    seeds = _seed_modules()
    cases: list[dict[str, Any]] = []

    def add(kind: str, name: str, data: bytes, call: bool = False) -> None:
        cases.append({"kind": kind, "name": name, "wasm": base64.b64encode(data).decode(), "call": call})

    for name, source in HOSTILE_WAT.items():
        add("hostile", name, bytes(wasmtime.wat2wasm(source)), call=True)
    per_kind = max(1, (budget - len(cases)) // 4)
    for _ in range(per_kind):
        name, data = rng.choice(seeds)
        cut = rng.randrange(0, len(data))
        add("truncation", f"{name}[:{cut}]", data[:cut])
    for _ in range(per_kind):
        name, data = rng.choice(seeds)
        flipped = bytearray(data)
        spots = [rng.randrange(8, len(data)) for _ in range(rng.randint(1, 4))]
        for spot in spots:
            flipped[spot] ^= 1 << rng.randrange(8)
        add("flip", f"{name}@{spots}", bytes(flipped))
    for _ in range(per_kind):
        name, data = rng.choice(seeds)
        mutate_seed = rng.randrange(2**32)
        done = subprocess.run([str(wasm_tools), "mutate", "--seed", str(mutate_seed)], input=data,
                              capture_output=True, timeout=60)
        if done.returncode == 0:
            add("mutate", f"{name}/mutate{mutate_seed}", done.stdout, call=False)
    for _ in range(per_kind):
        entropy = bytes(rng.randrange(256) for _ in range(512))
        done = subprocess.run(
            [str(wasm_tools), "smith", "--ensure-termination", "--fuel", "2000", "--allow-start-export", "true",
             "--max-memory32-bytes", str(16 * 65536), "--max-memories", "1", "--max-tables", "2", *SMITH_FEATURES],
            input=entropy, capture_output=True, timeout=60,
        )
        if done.returncode == 0:
            add("smith", f"smith{len(cases)}", done.stdout, call=True)
    return cases


def _zero(valtype: str) -> Any:
    return 0.0 if valtype in ("f32", "f64") else (None if valtype in ("externref", "funcref") else 0)


def run_case(engine: str, case: dict[str, Any]) -> dict[str, Any]:
    import realm_wasmer as rw
    from realm_wasmer.wasm import parse

    data = base64.b64decode(case["wasm"])
    result: dict[str, Any] = {"kind": case["kind"], "name": case["name"], "calls": 0}
    try:
        instance = rw.load(data, engine=engine, on_missing="stub", cache=rw.ArtifactCache.disabled())
        if case["call"]:
            for name, sig in parse(data).function_exports():
                if "v128" in sig.params or instance.poisoned:
                    continue
                try:
                    instance.call(name, *(_zero(t) for t in sig.params))
                except rw.RealmWasmerError:
                    pass  # typed: what we want (a trap, an unresolved import...)
                result["calls"] += 1
        result["outcome"] = "ok"
    except rw.RealmWasmerError as exc:
        result["outcome"], result["type"] = "typed", type(exc).__name__
    except BaseException as exc:  # noqa: BLE001 - anything untyped is the finding
        result["outcome"], result["type"], result["message"] = "untyped", type(exc).__name__, str(exc)[:300]
    return result


def main(argv: list[str]) -> int:
    engine, cases_file = argv
    cases = json.loads(Path(cases_file).read_text())
    for index, case in enumerate(cases):
        print(f"start {index}", flush=True)
        print(json.dumps({"index": index, **run_case(engine, case)}), flush=True)
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
