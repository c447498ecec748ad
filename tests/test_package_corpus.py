"""load_package on the public corpus: ../shared/corpus/check_calls.py run as the acceptance script.

The packages come from the ``corpus`` session fixture (fetch.sh, ``npm pack``). On wasmtime and
on wasmer-cranelift all 36 recorded calls must equal Node's (on wasmer the two externref packages
run with externref lowered to i32 handles at load); wasmer-llvm runs the externref packages too;
wasmer-singlepass runs rollup and refuses css_inline (multi-value) with the reason.

The script runs in a subprocess with this checkout first on ``PYTHONPATH``, so it tests the
``realm_wasmer`` of the tree the tests run from (not whichever one is installed).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import realm_wasmer as rw

from .conftest import CORPUS, CORPUS_CACHE, ROOT

CHECK_CALLS = CORPUS / "check_calls.py"
EXTERNREF_PACKAGES = ("rollup", "css_inline")
ENTRIES = {"rollup": "dist/wasm-node/bindings_wasm.js", "css_inline": "index.js"}


def check_calls(*args: str) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, str(CHECK_CALLS), "--cache", str(CORPUS_CACHE), *args],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    return done.returncode, done.stdout + done.stderr


def summary(output: str) -> str:
    lines = [ln for ln in output.splitlines() if ln.startswith("check_calls:")]
    assert lines, f"check_calls printed no summary:\n{output[-3000:]}"
    return lines[-1]


def test_check_calls_selftest(corpus: dict[str, Any]) -> None:
    code, output = check_calls("--selftest")
    assert code == 0, output[-3000:]


def test_check_calls_wasmtime_all_36(corpus: dict[str, Any]) -> None:
    code, output = check_calls("--engine", "wasmtime")
    assert summary(output) == "check_calls: wasmtime 36/36 calls equal", output[-4000:]
    assert code == 0


def test_check_calls_wasmer_cranelift_all_36(corpus: dict[str, Any]) -> None:
    code, output = check_calls("--engine", "wasmer-cranelift")
    assert summary(output) == "check_calls: wasmer-cranelift 36/36 calls equal", output[-4000:]
    assert code == 0


def test_externref_packages_on_wasmer_llvm(corpus: dict[str, Any]) -> None:
    code, output = check_calls("--engine", "wasmer-llvm", "--only", ",".join(EXTERNREF_PACKAGES))
    assert summary(output) == "check_calls: wasmer-llvm 12/12 calls equal", output[-4000:]
    assert code == 0


def test_externref_packages_on_wasmer_singlepass(corpus: dict[str, Any]) -> None:
    """rollup needs no multi-value: it runs; css_inline returns several values: refused, naming who can."""
    code, output = check_calls("--engine", "wasmer-singlepass", "--only", "rollup")
    assert summary(output) == "check_calls: wasmer-singlepass 6/6 calls equal", output[-4000:]
    root = CORPUS_CACHE / "pkgs" / "css_inline" / "package"
    with pytest.raises(rw.EngineRefused, match="multi-value.*wasmer-cranelift or wasmtime"):
        rw.load_package(root, engine="wasmer-singlepass", entry=ENTRIES["css_inline"])


def test_corpus_glue_parses_without_errors(corpus: dict[str, Any]) -> None:
    from realm_wasmer.js.parser import parse

    for info in corpus.values():
        glue: Path = info["glue"]
        for path in glue.parent.glob("*.*js"):
            if path.name.endswith(".min.js"):
                continue
            parse(path.read_text(), str(path))
