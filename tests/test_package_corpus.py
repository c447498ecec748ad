"""load_package on the public corpus: ../shared/corpus/check_calls.py run as the acceptance script.

The packages come from the ``corpus`` session fixture (fetch.sh, ``npm pack``). On wasmtime all
36 recorded calls must equal Node's; on wasmer-cranelift the four heap-slab packages must
(24 calls); the two externref packages need the module rewriter on wasmer, and until it is
there load_package must refuse them with the reason (never a crash).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import realm_wasmer as rw

from .conftest import CORPUS, CORPUS_CACHE

CHECK_CALLS = CORPUS / "check_calls.py"
HEAP_PACKAGES = "tiktoken,resvg,photon,message_parser"
EXTERNREF_PACKAGES = ("rollup", "css_inline")
ENTRIES = {"rollup": "dist/wasm-node/bindings_wasm.js", "css_inline": "index.js"}


def check_calls(*args: str) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, str(CHECK_CALLS), "--cache", str(CORPUS_CACHE), *args],
        capture_output=True,
        text=True,
        timeout=900,
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


def test_check_calls_wasmer_cranelift_heap_packages(corpus: dict[str, Any]) -> None:
    code, output = check_calls("--engine", "wasmer-cranelift", "--only", HEAP_PACKAGES)
    assert summary(output) == "check_calls: wasmer-cranelift 24/24 calls equal", output[-4000:]
    assert code == 0


@pytest.mark.parametrize("package", EXTERNREF_PACKAGES)
def test_externref_packages_on_wasmer_pass_or_name_the_reason(corpus: dict[str, Any], package: str) -> None:
    """Until the rewriter lowers externref for wasmer, loading names the reason; once it does,
    every recorded call of the package must pass there too."""
    root = CORPUS_CACHE / "pkgs" / package / "package"
    try:
        rw.load_package(root, engine="wasmer-cranelift", entry=ENTRIES[package])
    except rw.EngineRefused as exc:
        assert "externref" in str(exc), str(exc)
        return
    code, output = check_calls("--engine", "wasmer-cranelift", "--only", package)
    match = re.search(r"wasmer-cranelift (\d+)/(\d+)", summary(output))
    assert match and match.group(1) == match.group(2), output[-3000:]


def test_corpus_glue_parses_without_errors(corpus: dict[str, Any]) -> None:
    from realm_wasmer.js.parser import parse

    for info in corpus.values():
        glue: Path = info["glue"]
        for path in glue.parent.glob("*.*js"):
            if path.name.endswith(".min.js"):
                continue
            parse(path.read_text(), str(path))
