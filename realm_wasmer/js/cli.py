"""The package commands of ``realm-wasmer`` (hooked into :mod:`realm_wasmer.cli`).

    realm-wasmer inspect PACKAGE [--entry FILE] [--json]     the package's API, as load_package gives it
    realm-wasmer call PACKAGE NAME ARGS_JSON [--entry FILE]  call one function, print the result as JSON
    realm-wasmer stubs PACKAGE [-o FILE] [--entry FILE]      .pyi stubs from the package's .d.ts

PACKAGE is what :func:`realm_wasmer.load_package` takes: a package directory, an npm ``.tgz`` or a
glue file (``.js``/``.cjs``/``.mjs``); a ``.wasm`` keeps the raw-module commands. NAME is an
exported function, ``Class.staticMethod`` or ``Class`` (the constructor). ARGS_JSON is a JSON
array of arguments (a single non-array value is one argument) in the corpus input encoding:
plain JSON, plus ``{"$undefined": true}``, ``{"$bigint": "7"}``, ``{"$bytes_utf8": "..."}`` and
``{"$bytes_b64": "..."}``. The result is printed as JSON: strings, numbers, lists and objects as
themselves, ``{"$undefined": true}``, ``{"$f64": "NaN"}`` (and infinities, ``-0``), typed arrays as
``{"$type": "Uint8Array", "length": n, "values": [...]}``, a Map as ``{"$type": "Map",
"entries": [...]}``, a Set as ``{"$type": "Set", "values": [...]}``, an instance as
``{"$class": "Name"}``.
"""

from __future__ import annotations

import argparse
import base64
import enum
import inspect
import json
import math
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from .. import engines

PACKAGE_SUFFIXES = (".tgz", ".tar.gz", ".js", ".cjs", ".mjs")


def is_package(source: str) -> bool:
    """Whether a CLI argument names a package (directory, npm tarball, glue file), not a raw .wasm."""
    path = Path(source)
    return path.is_dir() or path.name.endswith(PACKAGE_SUFFIXES)


def add_parser(subparsers: Any) -> None:
    """Add ``call``, and ``--entry`` to ``inspect``/``stubs`` (their PACKAGE form)."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "call",
        help="call one function of an npm wasm-bindgen package and print the result as JSON",
        description=__doc__.split("\n\n")[2] if __doc__ else None,
    )
    p.add_argument("package", help="package directory, npm .tgz or glue file")
    p.add_argument("name", help="exported function, Class.staticMethod, or Class (constructor)")
    p.add_argument("args_json", nargs="?", default="[]", help="JSON array of arguments (default [])")
    p.add_argument("--entry", help="the build to load, a path inside the package (e.g. node/x.js)")
    p.add_argument(
        "--engine", default=engines.DEFAULT, choices=engines.NAMES, help=f"engine (default {engines.DEFAULT})"
    )
    for command in ("inspect", "stubs"):
        sub = subparsers.choices.get(command)
        if sub is not None:
            sub.add_argument("--entry", help="for a PACKAGE: the build to load, a path inside the package")


def route(args: argparse.Namespace, handler: Callable[[argparse.Namespace], int]) -> Callable[..., int]:
    """The handler for ``args``: the package form of inspect/stubs when the argument is a package."""
    if args.command in ("inspect", "stubs") and is_package(args.module):
        return run_inspect if args.command == "inspect" else run_stubs
    return handler


# ---------------------------------------------------------------------------------------- JSON

def decode_arg(v: Any) -> Any:
    from .model import BigInt
    from .values import UNDEFINED

    if isinstance(v, list):
        return [decode_arg(x) for x in v]
    if isinstance(v, dict):
        if v.get("$undefined") is True and len(v) == 1:
            return UNDEFINED
        if "$bigint" in v and len(v) == 1:
            return BigInt(int(v["$bigint"]))
        if "$bytes_utf8" in v and len(v) == 1:
            return str(v["$bytes_utf8"]).encode("utf-8")
        if "$bytes_b64" in v and len(v) == 1:
            return base64.b64decode(v["$bytes_b64"])
        return {k: decode_arg(x) for k, x in v.items()}
    return v


def to_json(v: Any, _seen: Optional[set[int]] = None) -> Any:
    """A JSON-able form of a Python value load_package returned (see the module docstring)."""
    from .bridge import JsInstance, JsMap, JsPromise
    from .values import UNDEFINED

    if v is UNDEFINED:
        return {"$undefined": True}
    if v is None or isinstance(v, (str, bool)):
        return v
    if isinstance(v, enum.Enum):
        return to_json(v.value)
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        if math.isnan(v):
            return {"$f64": "NaN"}
        if math.isinf(v):
            return {"$f64": "Infinity" if v > 0 else "-Infinity"}
        if v == 0 and math.copysign(1.0, v) < 0:
            return {"$f64": "-0"}
        return v
    if isinstance(v, np.ndarray):
        from .typed import KIND_OF_DTYPE

        kind = KIND_OF_DTYPE.get(v.dtype, str(v.dtype))
        return {"$type": kind, "length": int(v.size), "values": [to_json(x) for x in v.reshape(-1).tolist()]}
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {"$type": "ArrayBuffer", "length": len(v), "b64": base64.b64encode(bytes(v)).decode()}
    if isinstance(v, BaseException):
        return {"$error": {"name": getattr(v, "name", type(v).__name__), "message": getattr(v, "message", str(v))}}
    if isinstance(v, JsInstance):
        return {"$class": type(v).__name__}
    if isinstance(v, JsPromise):
        return to_json(v.result())
    if callable(v):
        return {"$function": getattr(v, "__name__", "anonymous")}
    seen = _seen if _seen is not None else set()
    if id(v) in seen:
        return {"$cycle": True}
    seen.add(id(v))
    try:
        if isinstance(v, JsMap):
            return {"$type": "Map", "entries": [[to_json(k, seen), to_json(x, seen)] for k, x in v.items()]}
        if isinstance(v, dict):
            return {str(k): to_json(x, seen) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [to_json(x, seen) for x in v]
        if isinstance(v, (set, frozenset)):
            return {"$type": "Set", "values": [to_json(x, seen) for x in v]}
        return {"$py": repr(v)[:200]}
    finally:
        seen.discard(id(v))


# ---------------------------------------------------------------------------------------- commands

def _load(args: argparse.Namespace, source: str) -> Any:
    from .package import load_package

    return load_package(source, engine=args.engine, entry=getattr(args, "entry", None))


def describe(pkg: Any) -> dict[str, Any]:
    """The API of a loaded package: functions, classes (members), enums, constants."""
    from .bridge import JsInstance

    runtime = pkg.__realm__
    api: dict[str, Any] = {
        "package": _package_name(runtime.root),
        "root": str(runtime.root),
        "entry": str(_relative(runtime.entry, runtime.root)),
        "engine": runtime.engine,
        "declarations": str(runtime.declarations.path) if runtime.declarations is not None else None,
        "functions": {},
        "classes": {},
        "enums": {},
        "constants": {},
    }
    for name in pkg._names:
        value = getattr(pkg, name)
        if isinstance(value, type) and issubclass(value, enum.Enum):
            api["enums"][name] = {m.name: m.value for m in value}
        elif isinstance(value, type) and issubclass(value, JsInstance):
            members: dict[str, str] = {}
            for klass in reversed(value.__mro__):
                if not issubclass(klass, JsInstance) or klass is JsInstance:
                    continue
                for attr, raw in vars(klass).items():
                    if attr.startswith("_") and attr != "__init__":
                        continue
                    if isinstance(raw, property):
                        members[attr] = "property" + ("" if raw.fset is not None else " (read-only)")
                    elif isinstance(raw, staticmethod):
                        members[attr] = f"static {_sig(raw.__func__)}"
                    elif callable(raw) and attr != "__init__":
                        members[attr] = _sig(raw)
            api["classes"][name] = {"constructor": _sig(value.__init__), "members": members}
        elif callable(value):
            api["functions"][name] = _sig(value)
        else:
            api["constants"][name] = to_json(value)
    return api


def _relative(path: Path, root: Path) -> Path:
    base = root.resolve()
    return path.relative_to(base) if path.is_relative_to(base) else path


def _sig(fn: Any) -> str:
    try:
        return str(inspect.signature(fn))
    except (TypeError, ValueError):
        return "(...)"


def _package_name(root: Path) -> str:
    try:
        meta = json.loads((root / "package.json").read_text())
        return f"{meta.get('name', root.name)} {meta.get('version', '')}".strip()
    except (OSError, ValueError):
        return root.name


def run_inspect(args: argparse.Namespace) -> int:
    api = describe(_load(args, args.module))
    if args.json:
        print(json.dumps(api, indent=2))
        return 0
    print(f"package       {api['package']} ({api['root']})")
    print(f"entry         {api['entry']}")
    print(f"engine        {api['engine']}")
    print(f"declarations  {api['declarations'] or '-'}")
    print("functions")
    for name, sig in api["functions"].items():
        print(f"  {name}{sig}")
    print("classes")
    for name, cls in api["classes"].items():
        print(f"  {name}{cls['constructor'].replace('(self, ', '(').replace('(self)', '()')}")
        for attr, sig in cls["members"].items():
            print(f"    .{attr}{' ' + sig if sig.startswith(('property', 'static')) else sig}")
    print("enums")
    for name, members in api["enums"].items():
        print(f"  {name}: " + ", ".join(f"{k}={v!r}" for k, v in members.items()))
    print("constants")
    for name, value in api["constants"].items():
        print(f"  {name} = {json.dumps(value)[:100]}")
    return 0


def run_call(args: argparse.Namespace) -> int:
    try:
        raw = json.loads(args.args_json)
    except ValueError as exc:
        print(f"realm-wasmer: error: ARGS_JSON is not JSON: {exc}", file=sys.stderr)
        return 2
    call_args = decode_arg(raw if isinstance(raw, list) else [raw])
    pkg = _load(args, args.package)
    head, _, tail = args.name.partition(".")
    if head not in pkg._names:
        print(f"realm-wasmer: error: {args.name}: the package exports no {head!r} "
              f"(it exports {', '.join(pkg._names)})", file=sys.stderr)
        return 2
    target = getattr(pkg, head)
    if tail:
        target = getattr(target, tail, None)
        if target is None:
            print(f"realm-wasmer: error: {head} has no static member {tail!r}", file=sys.stderr)
            return 2
    if not callable(target):
        print(json.dumps(to_json(target), ensure_ascii=False))
        return 0
    result = target(*call_args)
    print(json.dumps(to_json(result), ensure_ascii=False))
    return 0


def run_stubs(args: argparse.Namespace) -> int:
    from ..errors import PackageError
    from . import dts
    from .package import locate
    from .stubs import write

    root, entry = locate(args.module, getattr(args, "entry", None))
    path = dts.find(root, entry)
    if path is None:
        raise PackageError(f"{root}: no .d.ts describes {entry.name} (looked beside it and in package.json types)")
    shown = path.relative_to(root) if path.is_relative_to(root) else path
    text = write(dts.read(path), _package_name(root), str(shown))
    if args.output:
        Path(args.output).write_text(text)
        print(f"wrote {args.output} from {path.name}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
