"""The ``realm-wasmer rewrite`` subcommand (wired into :mod:`realm_wasmer.cli`).

    realm-wasmer rewrite MODULE -o OUT [--identity] [--limits] [--json]

decodes MODULE with the binary codec (:mod:`realm_wasmer.wasm.codec`) and writes
it re-encoded to OUT. With ``--identity`` nothing is transformed, so OUT is
byte-identical to MODULE. Without it, OUT is the module as a wasmer engine runs
it: the load transforms ``pipeline.plan`` picks for ``wasmer-cranelift``
(externref lowering, funcref trampolines, the stack pointer export); with
``--limits`` also the ones a spec with limits adds (metering, grow guards).
``--json`` prints a summary: sizes, whether the output is identical, the
sections, the function and instruction counts and the seconds taken, and for a
transforming rewrite the transforms applied (with seconds each), the imports and
exports added (and exports removed: a lowered externref table's), the trampolines,
and the functions added and touched (bodies whose bytes changed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

#: Exit status of a rewrite that could not be done (kept from when the transforms were not built).
NOT_BUILT = 2


def add_parser(subparsers: Any) -> None:
    """Add the ``rewrite`` subcommand to the ``realm-wasmer`` subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "rewrite",
        help="decode a module and write it re-encoded (--identity: untouched, byte for byte)",
        description="Decode MODULE with the pure-Python binary codec and write it re-encoded to OUT.",
    )
    parser.add_argument("module", help="path to a .wasm file")
    parser.add_argument("-o", "--output", metavar="OUT", required=True, help="where to write the rewritten module")
    parser.add_argument("--identity", action="store_true", help="apply no transform (the output equals the input)")
    parser.add_argument("--limits", action="store_true",
                        help="also apply the transforms that enforce rw.Limits on wasmer (metering, grow guards)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary")


def summary(path: str, data: bytes, out: bytes, seconds: float) -> dict[str, Any]:
    """The ``--json`` report of one rewrite (decodes the output again to count its instructions)."""
    from .codec import decode_module

    module = decode_module(out)
    sections = [
        {"id": s.id, "kind": s.kind, "offset": s.start, "size": s.end - s.start} for s in module.sections
    ]
    instructions = sum(len(body.instructions) for _, body in module.function_bodies())
    return {
        "module": path,
        "bytes_in": len(data),
        "bytes_out": len(out),
        "identical": out == data,
        "sections": sections,
        "functions": len(module.bodies),
        "instructions": instructions,
        "seconds": round(seconds, 4),
    }


def transform(data: bytes, limits: bool = False) -> tuple[bytes, dict[str, Any]]:
    """The module as wasmer-cranelift runs it (see the module docstring), and what changed."""
    from .. import engines, pipeline
    from ..limits import Limits
    from .reader import parse

    outline = parse(data)
    spec_limits = Limits(fuel=1, max_memory_pages=1) if limits else None
    steps = pipeline.plan(outline, engines.lookup("wasmer-cranelift"), limits=spec_limits)
    out, timings = data, []
    for step in steps:
        started = time.perf_counter()
        out = step.apply(out, parse(out))
        timings.append({"transform": step.key, "seconds": round(time.perf_counter() - started, 4)})
    return out, {"transforms": [step.key for step in steps], "steps": timings, **changes(data, out)}


def changes(before: bytes, after: bytes) -> dict[str, Any]:
    """What a rewrite added or changed, by comparing the decoded modules."""
    from .codec import decode_module

    old, new = decode_module(before), decode_module(after)
    old_imports = {(i.module, i.name) for i in old.imports}
    old_exports = {e.name for e in old.exports}
    added_exports = sorted(e.name for e in new.exports if e.name not in old_exports)
    new_exports = {e.name for e in new.exports}
    old_bodies, new_bodies = old.bodies, new.bodies
    touched = sum(
        1 for a, b in zip(old_bodies, new_bodies, strict=False)
        if a.source[a.entry_start : a.end] != b.source[b.entry_start : b.end]
    )
    return {
        "imports_added": [f"{i.module}.{i.name}" for i in new.imports if (i.module, i.name) not in old_imports],
        "exports_added": added_exports,
        "exports_removed": sorted(name for name in old_exports if name not in new_exports),
        "trampolines": [name for name in added_exports if name.startswith("__realm_call_indirect_")],
        "functions_added": len(new_bodies) - len(old_bodies),
        "functions_touched": touched,
    }


def run(args: argparse.Namespace) -> int:
    """Rewrite the module; errors are RealmWasmerError (the CLI's main prints them)."""
    from .codec import decode_module, encode_module

    data = Path(args.module).read_bytes()
    started = time.perf_counter()
    report: dict[str, Any] = {}
    if args.identity:
        out = encode_module(decode_module(data))
    else:
        out, report = transform(data, limits=bool(getattr(args, "limits", False)))
    seconds = time.perf_counter() - started
    Path(args.output).write_bytes(out)
    if args.json:
        print(json.dumps({**summary(args.module, data, out, seconds), **report}, indent=2))
    elif args.identity:
        same = "identical" if out == data else "DIFFERENT"
        print(f"wrote {args.output}: {len(out)} bytes ({same}, {seconds:.3f} s)", file=sys.stderr)
    else:
        applied = ", ".join(report["transforms"]) or "none needed"
        print(f"wrote {args.output}: {len(out)} bytes ({applied}; {len(report['imports_added'])} imports, "
              f"{len(report['trampolines'])} trampolines, {report['functions_touched']} functions touched; "
              f"{seconds:.3f} s)", file=sys.stderr)
    return 0
