"""The ``realm-wasmer`` command.

    realm-wasmer engines                      which engines run here, and why not
    realm-wasmer inspect MODULE [--json]      what a wasm-bindgen module is
    realm-wasmer run MODULE EXPORT ARGS...    one raw export call
    realm-wasmer construct MODULE CLASS [--explain]   one object, by its constructor's pattern
    realm-wasmer demo                         construct the bundled Realm, explained
    realm-wasmer stubs MODULE [-o FILE]       .pyi stub of the typed bindings
    realm-wasmer probe MODULE --class Realm   the out-slot and object layout a constructor needs
    realm-wasmer inspect PACKAGE              an npm wasm-bindgen package's API (load_package)
    realm-wasmer call PACKAGE NAME ARGS_JSON  call one function of a package, print JSON
    realm-wasmer stubs PACKAGE [-o FILE]      .pyi stubs from the package's .d.ts
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Optional, Sequence

from . import engines
from .bench import cli as bench_cli
from .bindings import cli as bindings_cli
from .errors import RealmWasmerError
from .js import cli as js_cli
from .probe import cli as probe_cli
from .wasm import cli as wasm_cli


def _engine_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine", default=engines.DEFAULT, choices=engines.NAMES, help=f"engine to run on (default {engines.DEFAULT})"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="realm-wasmer",
        description="Run wasm-bindgen modules on wasmer from Python, with no JavaScript.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("engines", help="list the engines and whether each can run here")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("inspect", help="report flavour, ABI era, roles, classes and imports of a module")
    p.add_argument("module", help="path to a .wasm file")
    p.add_argument("--glue", help="the companion JS glue file, to settle roles and class names")
    p.add_argument("--json", action="store_true", help="print the stable JSON form (docs/inspect-json.md)")
    p.add_argument(
        "--no-resolve", action="store_true", help="do not instantiate to show which resolver answers each import"
    )
    _engine_arg(p)

    p = sub.add_parser("run", help="call one export with raw wasm values (integers or floats)")
    p.add_argument("module")
    p.add_argument("export")
    p.add_argument("args", nargs="*", help="raw wasm arguments")
    p.add_argument("--on-missing", default="trap", choices=("error", "trap", "stub"))
    _engine_arg(p)

    p = sub.add_parser("construct", help="construct one object of a class by its constructor's pattern")
    p.add_argument("module")
    p.add_argument("class_name", metavar="CLASS", help="class name (JS name or export prefix, any case)")
    p.add_argument("args", nargs="*", help="raw wasm arguments after the out-pointer")
    p.add_argument("--export", help="a constructor export other than the primary one")
    p.add_argument("--explain", action="store_true", help="print what was called with which words")
    p.add_argument("--slot", default="auto", choices=("auto", "reusable", "stack"), help="out-slot strategy")
    p.add_argument("--on-missing", default="trap", choices=("error", "trap", "stub"))
    _engine_arg(p)

    p = sub.add_parser("demo", help="construct the bundled Realm through its out-pointer constructor, explained")
    p.add_argument("--module", help="a Realm module other than the bundled wasm/realm.wasm")
    _engine_arg(p)
    bindings_cli.add_parser(sub)
    bench_cli.add_parser(sub)
    probe_cli.add_parser(sub)
    wasm_cli.add_parser(sub)
    js_cli.add_parser(sub)
    return parser


def _number(text: str) -> float | int:
    try:
        return int(text, 0)
    except ValueError:
        return float(text)


def cmd_engines(args: argparse.Namespace) -> int:
    rows = engines.availability()
    if args.json:
        table = [{"name": a.name, "available": a.available, "reason": a.reason, "version": a.version} for a in rows]
        print(json.dumps(table, indent=2))
    else:
        for availability in rows:
            print(availability)
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from .inspection import inspect
    from .instance import load

    info = inspect(args.module, glue_path=args.glue)
    if not args.no_resolve:
        try:
            info = load(args.module, engine=args.engine, glue_path=args.glue, start=False).module_info()
        except RealmWasmerError as exc:
            print(f"note: imports shown without resolvers: {exc}", file=sys.stderr)
    if args.json:
        print(json.dumps(info.to_json(), indent=2))
        return 0
    data = info.to_json()
    print(f"module          {args.module} ({info.module.size} bytes)")
    print(f"flavour         {data['flavour']} (imports from {data['import_namespace']})")
    print(f"wasm-bindgen    {data['wasm_bindgen_version'] or '-'} (schema {data['schema_version'] or '-'})")
    for key, value in data["features"].items():
        print(f"  {key:<16}{value}")
    print("roles")
    for role, export in data["roles"].items():
        print(f"  {role:<22}{export or '-'}")
    print("classes")
    for name, cls in data["classes"].items():
        for ctor in cls["constructors"]:
            multi = " (multi-value)" if ctor["multi_value"] else ""
            print(f"  {name}: {ctor['export']} {ctor['signature']}  pattern {ctor['pattern']}{multi}")
        print(f"  {name}: free {cls['free']} (arity {cls['free_arity']}), {len(cls['methods'])} methods")
    print("imports")
    for imp in data["imports"]:
        resolver = imp["resolver"] or "-"
        print(f"  {imp['kind']:<9} {resolver:<14} {imp['module']}.{imp['name']} {imp['signature']}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .instance import load

    instance = load(args.module, engine=args.engine, on_missing=args.on_missing)
    result = instance.call(args.export, *[_number(a) for a in args.args])
    print(json.dumps(result))
    return 0


def cmd_construct(args: argparse.Namespace) -> int:
    from .instance import load

    instance = load(args.module, engine=args.engine, on_missing=args.on_missing)
    obj = instance.construct(
        args.class_name, *[_number(a) for a in args.args], export=args.export, explain=args.explain, slot=args.slot
    )
    print(repr(obj))
    obj.close()
    print(f"freed; stats {instance.stats()}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(engine=args.engine, module=args.module)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    handler = {
        "engines": cmd_engines,
        "inspect": cmd_inspect,
        "run": cmd_run,
        "construct": cmd_construct,
        "demo": cmd_demo,
        "stubs": bindings_cli.run,
        "bench": bench_cli.run,
        "probe": probe_cli.run,
        "rewrite": wasm_cli.run,
        "call": js_cli.run_call,
    }[args.command]
    handler = js_cli.route(args, handler)
    try:
        return handler(args)
    except RealmWasmerError as exc:
        print(f"realm-wasmer: error: {exc}", file=sys.stderr)
        return 1
    except FileNotFoundError as exc:
        print(f"realm-wasmer: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
