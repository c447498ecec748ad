"""The ``realm-wasmer rewrite`` subcommand (wired into :mod:`realm_wasmer.cli`).

    realm-wasmer rewrite MODULE -o OUT --identity [--json]

decodes MODULE with the binary codec (:mod:`realm_wasmer.wasm.codec`) and writes
it re-encoded to OUT. With ``--identity`` nothing is transformed, so OUT is
byte-identical to MODULE. The wasmer transforms (the rewrite without
``--identity``) are not built yet: asking for them exits with status 2.
``--json`` prints a summary: sizes, whether the output is identical, the
sections, the function and instruction counts and the seconds taken.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

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


def run(args: argparse.Namespace) -> int:
    """Rewrite the module; errors are RealmWasmerError (the CLI's main prints them)."""
    from .codec import decode_module, encode_module

    if not args.identity:
        print(
            "realm-wasmer rewrite: the wasmer transforms are not built yet; "
            "only --identity (decode and re-encode untouched) is available",
            file=sys.stderr,
        )
        return NOT_BUILT
    data = Path(args.module).read_bytes()
    started = time.perf_counter()
    out = encode_module(decode_module(data))
    seconds = time.perf_counter() - started
    Path(args.output).write_bytes(out)
    if args.json:
        print(json.dumps(summary(args.module, data, out, seconds), indent=2))
    else:
        same = "identical" if out == data else "DIFFERENT"
        print(f"wrote {args.output}: {len(out)} bytes ({same}, {seconds:.3f} s)", file=sys.stderr)
    return 0
