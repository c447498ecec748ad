"""Helpers for replaying recorded package calls (tests/packages/) through load_package.

The step language is the one of tests/packages/record.mjs (which ran the same steps in Node with
the package's own glue); results are encoded and compared with ../shared/corpus/check_calls.py's
encoder and comparator, so the rules are the corpus's (README "Values").
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

import realm_wasmer as rw
from realm_wasmer.js import BigInt

from .conftest import CORPUS

PACKAGES_DIR = Path(__file__).resolve().parent / "packages"
ENGINES = ("wasmtime", "wasmer-cranelift")


def check_calls() -> ModuleType:
    """../shared/corpus/check_calls.py as a module (its enc/diff/check_throw)."""
    spec = importlib.util.spec_from_file_location("corpus_check_calls", CORPUS / "check_calls.py")
    assert spec is not None and spec.loader is not None, f"no check_calls.py in {CORPUS}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def package_list() -> list[dict[str, Any]]:
    return list(json.loads((PACKAGES_DIR / "packages.json").read_text())["packages"])


def recorded(pid: str) -> dict[str, Any]:
    return dict(json.loads((PACKAGES_DIR / pid / "recorded.json").read_text()))


def decode(v: Any, names: dict[str, Any]) -> Any:
    if isinstance(v, list):
        return [decode(x, names) for x in v]
    if isinstance(v, dict):
        if "$undefined" in v:
            return rw.UNDEFINED
        if "$bigint" in v:
            return BigInt(int(v["$bigint"]))
        if "$bytes_utf8" in v:
            return v["$bytes_utf8"].encode("utf-8", "surrogatepass")
        if "$ref" in v:
            return names[v["$ref"]]
        return {k: decode(x, names) for k, x in v.items()}
    return v


def run_steps(pkg: Any, steps: list[dict[str, Any]], result: str | None = None) -> Any:
    """Make the steps through the package's Python API (as record.mjs makes them in JS)."""
    names: dict[str, Any] = {}
    last: Any = None
    for s in steps:
        args = decode(s.get("args", []), names)
        if "call" in s:
            last = getattr(pkg, s["call"])(*args)
        elif "new" in s:
            last = getattr(pkg, s["new"])(*args)
        elif "method" in s:
            last = getattr(names[s["on"]], s["method"])(*args)
        elif "static" in s:
            last = getattr(getattr(pkg, s["cls"]), s["static"])(*args)
        elif "get" in s:
            last = getattr(names[s["on"]], s["get"])
        elif "free" in s:
            last = names[s["free"]].free()
        elif "bytes" in s:
            last = np.zeros(s["bytes"], dtype=np.uint8)
        else:
            raise AssertionError(f"unknown step {s}")
        if "as" in s:
            names[s["as"]] = last
    return names[result] if result else last
