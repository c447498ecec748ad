"""``realm-wasmer bench [--json OUT] [--plot OUT.png] [--quick] [--engines ...]``.

Runs the benchmark suite (:mod:`realm_wasmer.bench.suite`) on the available
engines, prints one line per case and engine and the issue's goals with the
measured figures, and writes the JSON report and the PNG plot when asked.
``--quick`` uses small budgets and runs the corpus calls on every engine but
wasmer-llvm (under 2 minutes on a 2-core machine, even with an empty artifact cache);
``--scale`` (or ``$REALM_BENCH_SCALE``) multiplies every time budget.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Add the ``bench`` subcommand to ``realm-wasmer``'s subparsers."""
    p = subparsers.add_parser(
        "bench", help="run the benchmark suite: hot paths vs the bare engine, corpus calls vs Node, start-up",
        description="Time the host's hot paths against the same protocol hand-written on the bare engine, corpus "
        "calls through load_package against Node running the package's glue, cold compile, cached start and "
        "the import time, on every available engine. No figure here is a test.",
    )
    p.add_argument("--json", metavar="OUT", help="write the JSON report to OUT")
    p.add_argument("--plot", metavar="OUT.png", help="write the PNG plot of the ratios to OUT.png")
    p.add_argument("--quick", action="store_true",
                   help="small budgets, the corpus calls on every engine but wasmer-llvm (under 2 minutes, "
                   "even with an empty artifact cache)")
    p.add_argument("--engines", nargs="+", metavar="ENGINE",
                   help="engines to run on (default: every available one; commas work too)")
    p.add_argument("--only", nargs="+", metavar="CASE",
                   help="case ids or groups (fixture, probe, corpus, compile, start, import)")
    p.add_argument("--scale", type=float, default=None,
                   help="multiply every time budget (default $REALM_BENCH_SCALE or 1)")
    p.add_argument("--rounds", type=int, default=None, help="batches per measurement (median and spread)")
    p.add_argument("--corpus", metavar="DIR",
                   help="the corpus directory (default $REALM_CORPUS_DIR or ../shared/corpus)")
    p.add_argument("--corpus-cache", metavar="DIR",
                   help="where fetch.sh put the packages (default $REALM_CORPUS_CACHE or /tmp/realm-corpus-public)")
    p.add_argument("--node", metavar="EXE", help="the Node executable (default: node on PATH)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def settings_from(args: argparse.Namespace) -> Any:
    from .model import DEFAULT_CORPUS, DEFAULT_CORPUS_CACHE, Settings, env_float

    overrides: dict[str, Any] = {
        "corpus_dir": Path(args.corpus or os.environ.get("REALM_CORPUS_DIR") or DEFAULT_CORPUS),
        "corpus_cache": Path(args.corpus_cache or os.environ.get("REALM_CORPUS_CACHE") or DEFAULT_CORPUS_CACHE),
        "node": args.node or shutil.which("node"),
    }
    if args.only:
        overrides["only"] = frozenset(x for item in args.only for x in item.split(",") if x)
    if args.rounds is not None:
        overrides["rounds"] = max(1, args.rounds)
    scale = args.scale if args.scale is not None else env_float("REALM_BENCH_SCALE", 1.0)
    return Settings.for_run(quick=args.quick, scale=scale, **overrides)


def run(args: argparse.Namespace) -> int:
    """Run the suite for parsed ``args``; returns the exit status."""
    from .. import engines as engine_registry
    from .suite import run_suite, summary

    available = engine_registry.available_names()
    wanted = [e for item in args.engines for e in item.split(",") if e] if args.engines else list(available)
    unknown = [e for e in wanted if e not in engine_registry.NAMES]
    if unknown:
        print(f"realm-wasmer bench: error: unknown engine(s) {', '.join(unknown)}; "
              f"one of {', '.join(engine_registry.NAMES)}", file=sys.stderr)  # fmt: skip
        return 2
    missing = [e for e in wanted if e not in available]
    for engine in missing:
        print(f"realm-wasmer bench: {engine} is not available here; skipped", file=sys.stderr)
    chosen = [e for e in wanted if e in available]
    if not chosen:
        print("realm-wasmer bench: error: no engine to run on", file=sys.stderr)
        return 2
    settings = settings_from(args)
    print(f"realm-wasmer bench ({'quick' if settings.quick else 'full'}) on {', '.join(chosen)}", flush=True)
    report = run_suite(settings, chosen, progress=False if args.no_progress else None, log=sys.stdout)
    print(summary(report))
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1, allow_nan=False) + "\n")
        print(f"wrote {out}")
    if args.plot:
        from .plot import plot

        try:
            print(f"wrote {plot(report, args.plot)}")
        except ImportError as exc:
            print(f"realm-wasmer bench: error: no plot ({exc}); pip install 'realm-wasmer[bench]'", file=sys.stderr)
            return 1
    return 0
