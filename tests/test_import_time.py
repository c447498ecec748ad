"""``import realm_wasmer`` pays only for the package's own ``__init__`` (issue 12):
the engines, numpy, the JS evaluator and the test-only libraries are imported when
something first needs them, and every public name still resolves.

Each check runs in a fresh interpreter (``sys.modules`` of this process already
holds everything the other tests imported).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("wasmer", "wasmtime", "numpy", "hypothesis", "tree_sitter", "matplotlib")
LAZY_PACKAGES = ("realm_wasmer", "realm_wasmer.wasm", "realm_wasmer.js")


def _run(code: str) -> object:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _loaded_after(statement: str) -> list[str]:
    code = (f"import json, sys\n{statement}\n"
            f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))")  # fmt: skip
    loaded = _run(code)
    assert isinstance(loaded, list)
    return loaded


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_importing_a_package_imports_nothing_heavy(package: str) -> None:
    assert _loaded_after(f"import {package}") == []


def test_importing_realm_wasmer_does_not_import_its_machinery() -> None:
    code = ("import json, sys, realm_wasmer\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('realm_wasmer.'))))")  # fmt: skip
    loaded = _run(code)
    assert isinstance(loaded, list)
    for machinery in ("instance", "bindings", "engines", "js", "pool", "wasm", "cache", "host"):
        assert f"realm_wasmer.{machinery}" not in loaded, loaded


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_public_name_resolves_to_its_definition(package: str) -> None:
    code = (
        "import importlib, json\n"
        f"pkg = importlib.import_module({package!r})\n"
        "bad = [n for n in pkg.__all__ if getattr(pkg, n, None) is None and n != 'UNDEFINED']\n"
        "ns = {}\n"
        f"exec('from {package} import *', ns)\n"
        "missing = sorted(set(pkg.__all__) - set(ns))\n"
        "print(json.dumps({'bad': bad, 'missing': missing, 'dir': sorted(set(pkg.__all__) - set(dir(pkg)))}))"
    )
    assert _run(code) == {"bad": [], "missing": [], "dir": []}


def test_lazy_names_are_the_defining_modules_objects() -> None:
    import realm_wasmer as rw
    from realm_wasmer import engines, instance, wasm
    from realm_wasmer.bindings import api
    from realm_wasmer.wasm import codec

    assert rw.Instance is instance.Instance and rw.load is instance.load and rw.bind is api.bind
    assert rw.engines is engines and wasm.decode_module is codec.decode_module
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        rw.nope  # noqa: B018
    with pytest.raises(ImportError):
        exec("from realm_wasmer.wasm import nope", {})


def test_using_a_lazy_name_imports_only_what_it_needs() -> None:
    assert "wasmer" in _loaded_after("import realm_wasmer as rw; rw.load('wasm/realm.wasm')")
    assert not {"wasmer", "wasmtime", "hypothesis"} & set(
        _loaded_after("import realm_wasmer as rw; rw.inspect('wasm/realm.wasm')")
    )
