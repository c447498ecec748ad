"""Rewrite time of the load transforms a wasmer engine applies, per corpus module, and what a
second load costs (a cache hit: no rewrite).

    .venv/bin/python benchmarks/bench_rewrite.py [--cache /tmp/realm-corpus-public] [--rounds 3] [--json OUT]

For each corpus module (and the largest first): the transforms ``pipeline.plan`` picks for
wasmer-cranelift, the seconds each takes (the median of ``--rounds`` runs, each from the
original bytes), and two loads through a fresh artifact cache: the first compiles (a miss,
transforms included), the second must be a hit and run no transform. Not a test: nothing
here is asserted except that the second load is a hit.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import realm_wasmer as rw  # noqa: E402
from realm_wasmer import engines, pipeline  # noqa: E402
from realm_wasmer.cache import ArtifactCache  # noqa: E402
from realm_wasmer.wasm import parse  # noqa: E402


def modules(cache: Path) -> list[Path]:
    found = {p.resolve() for p in cache.glob("pkgs/*/package/**/*.wasm")}
    return sorted(found, key=lambda p: -p.stat().st_size)


def rewrite_times(data: bytes, rounds: int) -> dict[str, Any]:
    module = parse(data)
    steps = pipeline.plan(module, engines.lookup("wasmer-cranelift"))
    per_step: dict[str, list[float]] = {step.key: [] for step in steps}
    totals = []
    for _ in range(rounds):
        out, outline = data, module
        started = time.perf_counter()
        for step in steps:
            t0 = time.perf_counter()
            out = step.apply(out, outline)
            per_step[step.key].append(time.perf_counter() - t0)
            outline = parse(out)
        totals.append(time.perf_counter() - started)
    return {
        "transforms": [s.key for s in steps],
        "seconds": round(statistics.median(totals), 4),
        "steps": {key: round(statistics.median(times), 4) for key, times in per_step.items()},
    }


def load_twice(path: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        cache = ArtifactCache(Path(directory))
        outcomes, seconds = [], []
        for _ in range(2):
            started = time.perf_counter()
            compiled = rw.compile(path, engine="wasmer-cranelift", cache=cache, on_missing="stub")
            seconds.append(round(time.perf_counter() - started, 4))
            outcomes.append(compiled.prepared.cache_outcome)
    assert outcomes[1] == "hit", outcomes
    return {"first_load": {"outcome": outcomes[0], "seconds": seconds[0]},
            "second_load": {"outcome": outcomes[1], "seconds": seconds[1]}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/realm-corpus-public"),
                        help="where ../shared/corpus/fetch.sh unpacked the packages")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    results = []
    for path in modules(args.cache):
        data = path.read_bytes()
        row = {"module": str(path.relative_to(args.cache)), "bytes": len(data), **rewrite_times(data, args.rounds),
               **load_twice(path)}
        results.append(row)
        print(f"{row['module']:70s} {len(data) / 1e6:6.2f} MB  rewrite {row['seconds']:7.3f} s "
              f"({', '.join(f'{k} {v:.3f}' for k, v in row['steps'].items())})  "
              f"load: {row['first_load']['outcome']} {row['first_load']['seconds']:.3f} s, "
              f"{row['second_load']['outcome']} {row['second_load']['seconds']:.3f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
