"""Per-crossing cost of ``load_package`` calls: this tree against a baseline tree and Node.

    .venv/bin/python benchmarks/bench_package_crossings.py [--baseline DIR] [--engines ...] [--rounds 15]

* The calls: message_parser ``parse_text`` on the corpus's ~20 KB message (``parse_text_large``,
  25,201 guest->host import calls) and on one line (``parse_text_markdown``, 137), and tiktoken
  ``encode`` of the corpus sentence (6 import calls). Import counts are the corpus's Node traces.
* ``--baseline DIR``: a directory holding another checkout's ``realm_wasmer`` package (for
  example ``git archive <commit> realm_wasmer | tar -x -C DIR``). It is imported in the same
  process under the name ``realm_wasmer_base`` (a copy renamed: the package imports itself
  relatively) and timed in the same rounds, call for call, so a burst of load hits both alike:
  the ratio new/baseline is the figure, not the absolute times.
* Node: ``benchmarks/node_bench.mjs`` runs the same glue on the same inputs (its own batches);
  the report gives Python/Node and the issue-10 bound ``Node + 2 us x import calls``.

Prints one line per call and engine: min and median per call, us per crossing, the ratios.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
NODE_HARNESS = ROOT / "benchmarks" / "node_bench.mjs"

#: (package, corpus case, glue entry, import calls in Node's trace)
CALLS = [
    ("message_parser", "parse_text_large", "message_parser_wasm.js", 25201),
    ("message_parser", "parse_text_markdown", "message_parser_wasm.js", 137),
    ("tiktoken", "encode", "lite/tiktoken.cjs", 6),
]


def _case(package: str, case: str) -> dict[str, Any]:
    cases = json.loads((CORPUS / "cases" / f"{package}.json").read_text())["cases"]
    return next(c for c in cases if c["id"] == case)


def _call(rw: Any, cache: Path, package: str, case: str, entry: str, engine: str) -> Callable[[], Any]:
    root = cache / "pkgs" / package / "package"
    pkg = rw.load_package(str(root), engine=engine, entry=entry)
    inputs = _case(package, case)["inputs"]
    if package == "message_parser":
        text = inputs["s"] * (200 if case == "parse_text_large" else 1)
        markdown = inputs.get("enable_markdown", True)
        return lambda: pkg.parse_text(text, markdown)
    encoder = json.loads((root / "encoders" / "cl100k_base.json").read_text())
    enc = pkg.Tiktoken(encoder["bpe_ranks"], encoder["special_tokens"], encoder["pat_str"])
    text = inputs["text"]
    return lambda: enc.encode(text)


def _baseline(directory: Path) -> Any:
    """The baseline tree's package, imported as ``realm_wasmer_base``."""
    holder = Path(tempfile.mkdtemp(prefix="realm-bench-base-"))
    shutil.copytree(directory / "realm_wasmer", holder / "realm_wasmer_base")
    sys.path.insert(0, str(holder))
    import realm_wasmer_base  # type: ignore[import-not-found]

    return realm_wasmer_base


def _node(cache: Path, package: str, cases: list[str], rounds: int) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None or not NODE_HARNESS.is_file():
        return {}
    command = [node, "--no-warnings", "--no-liftoff", str(NODE_HARNESS), "--corpus", str(CORPUS), "--cache",
               str(cache), "--package", package, "--cases", ",".join(cases), "--rounds", str(rounds),
               "--budget-ms", "1000"]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    try:
        data: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        print(f"node harness failed: {(out.stderr or out.stdout)[-300:]}")
        return {}
    timed: dict[str, Any] = data.get("cases", {})
    return timed


def _time(fn: Callable[[], Any], target_s: float = 0.05) -> float:
    """Seconds per call over a batch of about ``target_s``."""
    fn()
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-6)
    n = max(1, int(target_s / once))
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, help="a directory with another checkout's realm_wasmer/")
    parser.add_argument("--engines", nargs="+", default=["wasmer-cranelift", "wasmtime"])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/realm-corpus-public"))
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    sys.path.insert(0, str(ROOT))
    import realm_wasmer as rw

    trees = {"new": rw}
    if args.baseline is not None:
        trees["base"] = _baseline(args.baseline)
    node: dict[str, Any] = {}
    for package in sorted({p for p, *_ in CALLS}):
        node.update(_node(args.cache, package, [c for p, c, *_ in CALLS if p == package], 5))
    for engine in args.engines:
        for package, case, entry, imports in CALLS:
            calls = {name: _call(mod, args.cache, package, case, entry, engine) for name, mod in trees.items()}
            samples: dict[str, list[float]] = {name: [] for name in calls}
            for _ in range(args.rounds):
                for name, fn in calls.items():  # interleaved: one batch of each per round
                    samples[name].append(_time(fn))
            new = samples["new"]
            line = (f"{engine:16} {package}.{case:20} new min {min(new) * 1e3:8.3f} ms med "
                    f"{statistics.median(new) * 1e3:8.3f} ms ({statistics.median(new) / imports * 1e6:6.2f} us "
                    f"per import call)")  # fmt: skip
            if "base" in samples:
                base = samples["base"]
                ratio = statistics.median(n / b for n, b in zip(new, base, strict=True))
                line += f" | baseline med {statistics.median(base) * 1e3:8.3f} ms, new/baseline {ratio:.2f}"
            figures = node.get(case)
            if figures and "median_s" in figures:
                node_s = figures["median_s"]
                bound = node_s + 2e-6 * imports
                line += (f" | node {node_s * 1e3:.3f} ms: x{statistics.median(new) / node_s:.1f}, "
                         f"bound node+2us/import {bound * 1e3:.3f} ms "
                         f"{'met' if statistics.median(new) <= bound else 'NOT met'}")  # fmt: skip
            print(line, flush=True)


if __name__ == "__main__":
    main()
