"""Three npm wasm-bindgen packages beyond the corpus (tests/packages/packages.json), replayed
call for call through load_package on wasmtime and wasmer-cranelift against what Node gave
running each package's own glue (tests/packages/<id>/recorded.json, made by record.mjs).

blake3-wasm 2.1.5 (wasm-bindgen 0.2.68, nodejs target, classes, &mut [u8] outputs, u64 shim),
@wasm-fmt/sql_fmt 0.2.2 (0.2.108, bundler glue behind an ESM node entry chosen through
package.json ``exports``), @wasm-fmt/lua_fmt 0.3.3 (0.2.114, heap slab at 1024).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

import realm_wasmer as rw

from .package_cases import ENGINES, check_calls, package_list, recorded, run_steps

PACKAGES = {p["id"]: p for p in package_list()}
CASES = [(pid, c["id"]) for pid in PACKAGES for c in recorded(pid)["cases"]]


@pytest.fixture(scope="module")
def comparator() -> Any:
    return check_calls()


_LOADED: dict[tuple[str, str], Any] = {}


@pytest.fixture(scope="module")
def loaded(new_packages: dict[str, Path]) -> Iterator[Any]:
    def get(pid: str, engine: str) -> Any:
        key = (pid, engine)
        if key not in _LOADED:
            _LOADED[key] = rw.load_package(new_packages[pid], engine=engine, entry=PACKAGES[pid]["entry"])
        return _LOADED[key]

    yield get
    _LOADED.clear()


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("pid", "cid"), CASES, ids=[f"{p}/{c}" for p, c in CASES])
def test_recorded_call_equals_node(
    loaded: Any, comparator: Any, new_packages: dict[str, Path], engine: str, pid: str, cid: str
) -> None:
    case = next(c for c in recorded(pid)["cases"] if c["id"] == cid)
    if case.get("fresh"):  # a trap case: a fresh instance, so the shared one stays usable
        pkg = rw.load_package(new_packages[pid], engine=engine, entry=PACKAGES[pid]["entry"])
    else:
        pkg = loaded(pid, engine)
    raised: BaseException | None = None
    result: Any = None
    try:
        result = run_steps(pkg, case["steps"], case.get("result"))
    except Exception as exc:  # noqa: BLE001 - compared with what Node threw below
        raised = exc
    if "throws" in case:
        problem = comparator.check_throw(case, raised, result)
    else:
        assert raised is None, f"Node returned {str(case['output'])[:200]}, Python raised {raised!r}"
        problem = comparator.diff(comparator.enc(result), case["output"])
    assert problem is None, problem


@pytest.mark.parametrize("pid", sorted(PACKAGES))
def test_default_entry_is_the_one_node_resolves(new_packages: dict[str, Path], pid: str) -> None:
    pkg = rw.load_package(new_packages[pid], engine="wasmtime", entry=PACKAGES[pid]["entry"])
    entry = pkg.__realm__.entry.relative_to(new_packages[pid].resolve())
    assert entry.as_posix() == recorded(pid)["entry"]
