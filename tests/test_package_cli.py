"""realm-wasmer inspect / call / stubs on a PACKAGE (the raw-module forms keep working: test_cli.py)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from realm_wasmer.cli import main

from .conftest import CORPUS_CACHE


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_inspect_package_lists_the_api(capsys: pytest.CaptureFixture[str], new_packages: dict[str, Path]) -> None:
    root = str(new_packages["blake3"])
    code, out, _ = run(capsys, "inspect", root, "--entry", "dist/wasm/nodejs/blake3_js.js", "--engine", "wasmtime")
    assert code == 0
    assert "entry         dist/wasm/nodejs/blake3_js.js" in out
    assert "create_derive(context: str = UNDEFINED, /)" in out
    assert "Blake3Hash" in out and ".set_position(self, position: int = UNDEFINED, /) -> None" in out


def test_inspect_package_json(capsys: pytest.CaptureFixture[str]) -> None:
    root = str(CORPUS_CACHE / "pkgs" / "photon" / "package")
    code, out, _ = run(capsys, "inspect", root, "--json", "--engine", "wasmtime")
    api = json.loads(out)
    assert code == 0 and api["package"] == "@silvia-odwyer/photon 0.3.11"
    assert api["enums"]["SamplingFilter"]["Lanczos3"] == 5  # the glue's value (its .d.ts says 4)
    assert "new_from_byteslice" in api["classes"]["PhotonImage"]["members"]
    assert api["functions"]["gaussian_blur"].startswith("(photon_image: ")


def test_inspect_raw_module_still_works(capsys: pytest.CaptureFixture[str], new_packages: dict[str, Path]) -> None:
    wasm = new_packages["sql_fmt"] / "sql_fmt_bg.wasm"
    code, out, _ = run(capsys, "inspect", str(wasm), "--no-resolve")
    assert code == 0 and "wasm-bindgen    0.2.108" in out


def test_call_prints_json(capsys: pytest.CaptureFixture[str], new_packages: dict[str, Path]) -> None:
    root = str(new_packages["sql_fmt"])
    args = '["select a,b from t", {"uppercase": true}]'
    code, out, _ = run(capsys, "call", root, "format", args, "--engine", "wasmtime")
    assert code == 0 and json.loads(out) == "SELECT\n  a,\n  b\nFROM\n  t"


def test_call_a_static_and_encodings(capsys: pytest.CaptureFixture[str]) -> None:
    root = str(CORPUS_CACHE / "pkgs" / "tiktoken" / "package")
    code, out, _ = run(capsys, "call", root, "get_encoding_name_for_model", '["gpt-4"]', "--engine", "wasmtime")
    assert code == 0 and json.loads(out) == "cl100k_base"


def test_call_errors(capsys: pytest.CaptureFixture[str], new_packages: dict[str, Path]) -> None:
    root = str(new_packages["sql_fmt"])
    code, _, err = run(capsys, "call", root, "format", '["select 1", {"indent_style": "x"}]', "--engine", "wasmtime")
    assert code == 1 and "unknown variant `x`" in err
    code, _, err = run(capsys, "call", root, "nope", "[]", "--engine", "wasmtime")
    assert code == 2 and "exports no 'nope'" in err and "format" in err
    code, _, err = run(capsys, "call", root, "format", "[not json", "--engine", "wasmtime")
    assert code == 2 and "not JSON" in err


def test_stubs_from_dts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(CORPUS_CACHE / "pkgs" / "photon" / "package")
    target = tmp_path / "photon.pyi"
    code, _, err = run(capsys, "stubs", root, "-o", str(target))
    assert code == 0 and "photon_rs.d.ts" in err
    text = target.read_text()
    ast.parse(text)
    assert "class SamplingFilter(enum.IntEnum):" in text
    assert "    def new_from_byteslice(vec: Bytes = ..., /) -> PhotonImage: ..." in text
    assert "def gaussian_blur(photon_image: PhotonImage = ..., radius: float = ..., /) -> None: ..." in text


def test_stubs_type_check_with_mypy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], new_packages: dict[str, Path]
) -> None:
    for pid, extra in (("blake3", ["--entry", "dist/wasm/nodejs/blake3_js.js"]), ("lua_fmt", [])):
        code, _, _ = run(capsys, "stubs", str(new_packages[pid]), "-o", str(tmp_path / f"{pid}.pyi"), *extra)
        assert code == 0
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", str(tmp_path / "blake3.pyi"), str(tmp_path / "lua_fmt.pyi")],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "def set_position(self, position: int = ..., /) -> None: ..." in (tmp_path / "blake3.pyi").read_text()
