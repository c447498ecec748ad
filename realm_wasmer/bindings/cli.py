"""The ``realm-wasmer stubs`` subcommand (wired into :mod:`realm_wasmer.cli`).

    realm-wasmer stubs MODULE [-o FILE] [--engine ENGINE]

writes the ``.pyi`` stub of the module's typed bindings (see
:mod:`realm_wasmer.bindings.stubs`) to FILE, or prints it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .. import engines


def add_parser(subparsers: Any) -> None:
    """Add the ``stubs`` subcommand to the ``realm-wasmer`` subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "stubs",
        help="write a .pyi stub of the typed bindings realm_wasmer.bind() generates for a module",
        description="Decode a raw wasm-bindgen module's descriptors and write the .pyi stub of its bindings.",
    )
    parser.add_argument("module", help="path to a raw wasm-bindgen .wasm file")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the stub here (default: print it)")
    parser.add_argument(
        "--engine",
        default=engines.DEFAULT,
        choices=engines.NAMES,
        help=f"engine that runs the module's describe functions (default {engines.DEFAULT})",
    )


def run(args: argparse.Namespace) -> int:
    """Generate the stub; errors are RealmWasmerError (the CLI's main prints them)."""
    from .stubs import write_stub

    text = write_stub(args.module, args.output, engine=args.engine)
    if args.output:
        classes = text.count("(BoundObject):")
        print(f"wrote {args.output}: {classes} classes, {text.count(chr(10) + 'def ')} functions", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
