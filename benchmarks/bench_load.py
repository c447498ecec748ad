"""Load time of each public corpus package (``load_package``), this tree against a baseline.

Each package is loaded ``--rounds`` times per tree, the trees alternating in one process, and
the best time of each is kept (the machine is shared: only ratios from one run mean much).
``new-cold`` is this tree with its in-process wasm outline memo cleared before each load (what a
process's first load of a package costs, apart from the imports and the engine's warm-up).

    PYTHONPATH=$PWD python benchmarks/bench_load.py --baseline /tmp/base-load

with /tmp/base-load holding ``git archive main realm_wasmer`` unpacked.
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
PACKAGES = ("tiktoken", "resvg", "photon", "rollup", "css_inline", "message_parser")


def _baseline(directory: Path) -> Any:
    holder = Path(tempfile.mkdtemp(prefix="realm-bench-base-"))
    shutil.copytree(directory / "realm_wasmer", holder / "realm_wasmer_base")
    sys.path.insert(0, str(holder))
    return importlib.import_module("realm_wasmer_base")


def _loader(rw: Any, pkgs: Path, pid: str, engine: str) -> Callable[[], Any]:
    doc = json.loads((CORPUS / "cases" / f"{pid}.json").read_text())
    root = pkgs / pid / "package"
    entry = doc["glue"].removeprefix("package/")
    return lambda: rw.load_package(str(root), engine=engine, entry=entry)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--engine", default="wasmer-cranelift")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--pkgs", type=Path, default=Path("/tmp/realm-corpus-public/pkgs"))
    p.add_argument("--baseline", type=Path, help="a directory with another checkout's realm_wasmer/")
    p.add_argument("--only", type=lambda s: s.split(","), default=list(PACKAGES))
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    import realm_wasmer as rw
    from realm_wasmer.wasm import reader

    trees: dict[str, Any] = {"new": rw, "new-cold": rw}
    if args.baseline is not None:
        trees["base"] = _baseline(args.baseline)
    rows = []
    for pid in args.only:
        loads = {name: _loader(tree, args.pkgs, pid, args.engine) for name, tree in trees.items()}
        for load in loads.values():
            load()  # imports, the artifact cache and the engine warmed up for every tree
        best = {name: float("inf") for name in trees}
        for _ in range(args.rounds):
            for name, load in loads.items():
                if name == "new-cold":
                    reader.clear_outline_cache()
                t = time.perf_counter()
                load()
                best[name] = min(best[name], time.perf_counter() - t)
        row = {"package": pid, **{f"{k}_ms": round(v * 1000, 1) for k, v in best.items()}}
        if "base" in best:
            row["new_over_base"] = round(best["new"] / best["base"], 3)
            row["cold_over_base"] = round(best["new-cold"] / best["base"], 3)
        rows.append(row)
        print("  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    if args.out:
        doc = {"generated_by": "benchmarks/bench_load.py", "engine": args.engine, "rounds": args.rounds,
               "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rows": rows}
        args.out.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
