"""``realm-wasmer probe``: the layout probe from the command line.

    realm-wasmer probe MODULE [--class Realm | --export realm_new] [--args ...]
        [--examples N] [--profile ci|thorough] [--engine ...] [--json] [--seed N]
        [--fail-args ...] [--vary ...] [--diagram FILE] [--no-seeds]

A progress bar (tqdm, on stderr, only when stderr is a terminal) runs during
the sweep; ``--json`` prints only the report's JSON on stdout. Without
``--json`` the report is a text memory map of the slot and the object.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any, Optional

from .. import engines
from ..errors import RealmWasmerError


def add_parser(subparsers: Any) -> None:
    """Add the ``probe`` subcommand to ``realm-wasmer``'s subparsers."""
    p = subparsers.add_parser(
        "probe", help="Hypothesis sweeps pinning down a constructor's out-slot and object layout",
        description="Probe a constructor: out-slot footprint, minimum size, alignment, word meanings, safe and "
        "unsafe placements, and the object's allocation, initialised bytes, borrow flag and fields.",
    )
    p.add_argument("module", help="path to a .wasm file")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--class", dest="class_name", help="class whose primary constructor to probe")
    target.add_argument("--export", help="constructor export to probe (e.g. realm_new, realm_withConfig)")
    p.add_argument("--args", nargs="*", default=[], metavar="ARG",
                   help="constructor arguments after the out-slot: numbers, str:TEXT, bytes:HEX, js:TEXT, null")
    p.add_argument("--fail-args", nargs="*", default=None, metavar="ARG",
                   help="arguments that make the constructor return Err (searched for when omitted)")
    p.add_argument("--vary", action="append", default=[], metavar="ARGS",
                   help="another argument list (one shell-quoted string) whose object is diffed for fields")
    p.add_argument("--examples", type=int, default=None, help="Hypothesis examples per search (default: profile)")
    p.add_argument("--profile", choices=("ci", "thorough"), default="ci", help="ci (fast, default) or thorough")
    p.add_argument("--seed", type=int, default=0, help="seed for canaries and Hypothesis (default 0)")
    p.add_argument("--engine", default=engines.DEFAULT, choices=engines.NAMES,
                   help=f"engine to run on (default {engines.DEFAULT})")
    p.add_argument("--on-missing", default="trap", choices=("error", "trap", "stub"))
    p.add_argument("--glue", help="the companion JS glue file")
    p.add_argument("--strategy", default="auto", choices=("auto", "snapshot", "reinstantiate"),
                   help="how each trial gets a fresh state (default: time both, keep the faster correct one)")
    p.add_argument("--json", action="store_true", help="print the report's JSON (docs/probe.md) on stdout")
    p.add_argument("--diagram", metavar="FILE", help="also write an SVG diagram of the slot and the object")
    p.add_argument("--no-seeds", action="store_true", help="skip replaying the upstream host's conditions")
    p.add_argument("--placements", nargs="*", default=None, metavar="NAME",
                   help="search only these placements: heap, stack_reserved, stack_unreserved, static_data, memory_end")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _progress(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    if args.no_progress or not sys.stderr.isatty():
        return None, None, None
    from tqdm import tqdm  # type: ignore[import-untyped]

    bar = tqdm(desc="probe", unit="trial", file=sys.stderr, leave=False)

    def on_trial(_outcome: Any) -> None:
        bar.update(1)

    def on_stage(stage: str) -> None:
        bar.set_postfix_str(stage)

    return bar, on_trial, on_stage


def run(args: argparse.Namespace) -> int:
    """Run the probe for parsed ``args``; returns the exit status."""
    from .probe import probe
    from .render import svg_diagram, text_map

    if not args.class_name and not args.export:
        print("realm-wasmer probe: error: name a class (--class) or a constructor export (--export)", file=sys.stderr)
        return 2
    bar, on_trial, on_stage = _progress(args)
    module = Path(args.module)
    try:
        report = probe(
            module,
            class_name=args.class_name,
            export=args.export,
            args=args.args,
            engine=args.engine,
            on_missing=args.on_missing,
            glue_path=args.glue,
            examples=args.examples,
            profile=args.profile,
            seed=args.seed,
            fail_args=args.fail_args,
            vary=[shlex.split(v) for v in args.vary],
            seeds=not args.no_seeds,
            **({"placements": args.placements} if args.placements is not None else {}),
            strategy=args.strategy,
            on_trial=on_trial,
            on_stage=on_stage,
        )
    except (RealmWasmerError, FileNotFoundError) as exc:
        print(f"realm-wasmer probe: error: {exc}", file=sys.stderr)
        return 1
    finally:
        if bar is not None:
            bar.close()
    data = report.to_json()
    if args.diagram:
        Path(args.diagram).write_text(svg_diagram(data))
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(text_map(data))
        if args.diagram:
            print(f"diagram written to {args.diagram}")
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    """Stand-alone entry point (``python -m realm_wasmer.probe.cli probe ...``)."""
    parser = argparse.ArgumentParser(prog="realm-wasmer")
    add_parser(parser.add_subparsers(dest="command"))
    parsed = parser.parse_args(argv)
    if parsed.command != "probe":
        parser.print_help()
        return 2
    return run(parsed)


if __name__ == "__main__":
    raise SystemExit(main())
