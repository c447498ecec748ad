"""``realm_wasmer.Pool`` serving npm packages: a spec with ``entry=`` loads with ``load_package``
in each worker, and calls are dotted names of what the package exports.

Every recorded call of the public corpus (../shared/corpus, 36 calls of 6 packages) is made
again with check_calls.py's own translations, but against a pool: the translation's
``pkg.f(...)``, ``new pkg.C(...)``, ``obj.method(...)`` and ``obj.prop`` go to a worker as
``pool.call("f", ...)`` / ``session.call("C", ...)`` / remote methods and properties, so every
argument and result crosses the process boundary. The results must equal the same
translation run in this process, and Node's recorded outputs (check_calls's comparator).
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import time
from pathlib import Path
from typing import Any, Iterator, Union

import numpy as np
import pytest

import realm_wasmer as rw
from realm_wasmer.errors import JsThrow
from realm_wasmer.js import JsObject

from .conftest import CORPUS, CORPUS_CACHE
from .package_cases import check_calls

#: Packages whose exports are plain functions: called statelessly on a 2-worker pool.
STATELESS = ("rollup", "css_inline", "message_parser")
#: Packages whose calls make objects (classes): called in a session.
STATEFUL = ("tiktoken", "resvg", "photon")

Caller = Union[rw.Pool, rw.Session]


def package_spec(pid: str, engine: str = "wasmtime") -> rw.LoadSpec:
    """The corpus package as check_calls.py loads it: the package directory and its glue as entry."""
    meta = next(p for p in json.loads((CORPUS / "packages.json").read_text())["packages"] if p["id"] == pid)
    entry = meta["glue"][len("package/"):]
    return rw.LoadSpec(CORPUS_CACHE / "pkgs" / pid / "package", engine=engine, entry=entry)


def cases(pid: str) -> list[dict[str, Any]]:
    return list(json.loads((CORPUS / "cases" / f"{pid}.json").read_text())["cases"])


class Remote:
    """A package seen through a pool or a session: ``remote.f(...)`` is ``caller.call("f", ...)``,
    ``remote.C.static(...)`` is ``caller.call("C.static", ...)``."""

    def __init__(self, caller: Caller, name: str = "") -> None:
        self._caller = caller
        self._name = name

    def __getattr__(self, name: str) -> "Remote":
        return Remote(self._caller, f"{self._name}.{name}" if self._name else name)

    def __call__(self, *args: Any) -> Any:
        return self._caller.call(self._name, *args)


def run_cases(pkg: Any, pid: str, cc: Any) -> dict[str, tuple[str, Any]]:
    """Each case of ``pid`` through check_calls's translation, once: its outcome, ("ok", the
    encoded result) or ("threw", (class, name, message)), after checking it against Node's
    record with check_calls's comparator."""
    root = os.path.join(str(CORPUS_CACHE), "pkgs", pid)
    outcomes: dict[str, tuple[str, Any]] = {}
    setups: dict[str, Any] = {}
    try:
        for case in cases(pid):
            inputs = cc.decode_input(case.get("inputs") or {}, root)
            if "setup_js" in case and case["setup_js"] not in setups:
                setups[case["setup_js"]] = cc.SETUP[(pid, case["setup_js"])](pkg, inputs)
            state = setups.get(case.get("setup_js", ""))
            raised, result = None, None
            try:
                result = cc.RUN[(pid, case["id"])](pkg, inputs, state)
            except Exception as exc:  # noqa: BLE001 - the case's error is its outcome
                raised = exc
            if "throws" in case:
                why = cc.check_throw(case, raised, result)
            else:
                why = f"raised {cc.etext(raised)}" if raised is not None else cc.diff(cc.enc(result), case["output"])
            assert why is None, f"{pid}/{case['id']}: {why}"
            if raised is not None:
                thrown = (type(raised).__name__, getattr(raised, "name", None), getattr(raised, "message", str(raised)))
                outcomes[case["id"]] = ("threw", thrown)
            else:
                outcomes[case["id"]] = ("ok", cc.enc(result))
    finally:
        for obj in setups.values():
            obj.free()
    return outcomes


@pytest.fixture(scope="module")
def cc(corpus: dict[str, Any]) -> Any:
    module = check_calls()
    module.CACHE = str(CORPUS_CACHE)
    return module


@pytest.mark.parametrize("pid", [*STATELESS, *STATEFUL])
def test_every_corpus_call_through_the_pool_equals_the_call_in_process_and_node(pid: str, cc: Any) -> None:
    spec = package_spec(pid)
    local = rw.load_package(spec.source, engine=spec.engine, entry=spec.entry)  # also warms the artifact cache
    here = run_cases(local, pid, cc)
    with rw.Pool(spec, workers=2 if pid in STATELESS else 1) as pool:
        if pid in STATELESS:
            remote = run_cases(Remote(pool), pid, cc)
        else:
            with pool.session(pid) as session:
                remote = run_cases(Remote(session), pid, cc)
        workers = pool.wait_ready(timeout=60).stats()["workers"]
    assert remote == here
    assert len(here) == len(cases(pid)) and any(kind == "ok" for kind, _ in here.values())
    assert {w.info.kind for w in workers} == {"package"}
    assert {w.info.cache for w in workers} == {"hit"}  # the module compiled here first: no worker compiled it


# -- values and errors across the boundary, without the translations ------------------------------


@pytest.fixture(scope="module")
def parser_pool(corpus: dict[str, Any]) -> Iterator[rw.Pool]:
    """message_parser on the default engine (wasmer-cranelift), two workers."""
    with rw.Pool(package_spec("message_parser", engine="wasmer-cranelift"), workers=2) as pool:
        yield pool


def test_dotted_names_of_a_package_on_the_default_engine(parser_pool: rw.Pool, corpus: dict[str, Any]) -> None:
    spec = package_spec("message_parser", engine="wasmer-cranelift")
    local = rw.load_package(spec.source, engine=spec.engine, entry=spec.entry)
    texts = ["Hello **world** https://delta.chat", "🎉 #tag `code` /help", "", "plain"]
    remote = list(parser_pool.map("parse_text", texts, [True] * len(texts)))
    assert remote == [local.parse_text(t, True) for t in texts]
    assert all(type(part) is JsObject for parts in remote for part in parts)  # plain objects stay JsObjects
    assert parser_pool.call("punycode_encode_host", "münchen.de") == local.punycode_encode_host("münchen.de")
    with pytest.raises(rw.ExportNotFound, match=r"no 'parse_txt' \(functions and classes: .*parse_text"):
        parser_pool.call("parse_txt", "x", True)
    assert {w.info.kind for w in parser_pool.wait_ready(timeout=60).stats()["workers"]} == {"package"}


def test_a_js_error_from_a_worker_keeps_its_name_message_and_value(corpus: dict[str, Any]) -> None:
    spec = package_spec("resvg")
    local = rw.load_package(spec.source, engine=spec.engine, entry=spec.entry)
    bad = '<svg xmlns="http://www.w3.org/2000/svg"><rect'
    with pytest.raises(JsThrow) as here:
        local.Resvg(bad)
    with rw.Pool(spec, workers=1) as pool:
        with pytest.raises(JsThrow) as there:
            pool.call("Resvg", bad)
        assert (there.value.name, there.value.message, str(there.value)) == (
            here.value.name, here.value.message, str(here.value))
        assert there.value.value is there.value  # a JS Error's value is the exception, in the parent too
        # An object cannot leave its worker outside a session: the error says what to do.
        with pytest.raises(rw.PoolError, match=r"Resvg object.*pool.session\(key\)"):
            pool.call("Resvg", '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>')


def test_a_trap_in_a_package_worker_rebuilds_the_package(corpus: dict[str, Any], cc: Any) -> None:
    photon = next(c for c in cases("photon") if c["id"] == "decode_png_byteslice")
    png = cc.decode_input(photon["inputs"], os.path.join(str(CORPUS_CACHE), "pkgs", "photon"))["png"]
    with rw.Pool(package_spec("photon"), workers=1) as pool:
        assert pool.call("tests.pool_tasks:photon_decoded_size", png) == (4, 3)
        with pytest.raises(rw.GuestTrap, match="unreachable"):
            pool.call("tests.pool_tasks:photon_decoded_size", b"\x01\x02\x03")
        # The worker's package trapped (its instance is poisoned): it is loaded again before the next call.
        assert list(pool.map("tests.pool_tasks:photon_decoded_size", [png] * 3)) == [(4, 3)] * 3
        with pool.session("tenant") as session:
            image = session.call("PhotonImage.new_from_byteslice", png)
            assert isinstance(image, rw.RemoteObject) and image.class_name == "PhotonImage"
            assert image.get_width() == 4
            with pytest.raises(rw.GuestTrap):
                session.call("PhotonImage.new_from_byteslice", b"\x01\x02\x03")
            with pytest.raises(rw.SessionLost, match="trapped"):
                image.get_width()
            again = session.call("PhotonImage.new_from_byteslice", png)
            session.call("grayscale", again)  # a remote object passed back is the object itself
            pixels = again.get_raw_pixels()
        assert pool.stats()["workers"][0].restarts == 0  # rebuilt in place, not a new process
    local = rw.load_package(package_spec("photon").source, engine="wasmtime", entry=package_spec("photon").entry)
    with local.PhotonImage.new_from_byteslice(png) as expected:
        local.grayscale(expected)
        assert isinstance(pixels, np.ndarray) and np.array_equal(pixels, expected.get_raw_pixels())


def test_a_package_worker_killed_mid_call_is_replaced(parser_pool: rw.Pool) -> None:
    parser_pool.wait_ready(timeout=60)
    doomed = parser_pool.submit("tests.pool_tasks:sleep_then_pid", 30)
    victim = None
    deadline = time.monotonic() + 20
    while victim is None and time.monotonic() < deadline:
        victim = next((w for w in parser_pool.stats()["workers"] if w.running == "tests.pool_tasks:sleep_then_pid"),
                      None)
        time.sleep(0.01)
    assert victim is not None
    os.kill(victim.pid, signal.SIGKILL)
    with pytest.raises(rw.WorkerDied) as died:
        doomed.result(timeout=20)
    assert died.value.worker == f"{victim.name} (pid {victim.pid})" and "SIGKILL" in died.value.cause
    assert died.value.call == "tests.pool_tasks:sleep_then_pid"
    assert pickle.loads(pickle.dumps(died.value)).cause == died.value.cause
    assert parser_pool.call("get_first_emoji", "🦀 y") == "🦀"  # served (by the other worker or the new one)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        replaced = next(w for w in parser_pool.stats()["workers"] if w.name == victim.name)
        if replaced.info is not None and replaced.pid != victim.pid:
            break
        time.sleep(0.05)
    assert replaced.restarts == 1 and replaced.pid != victim.pid and replaced.info.kind == "package"
    assert list(parser_pool.map("get_first_emoji", ["🦀"] * 6)) == ["🦀"] * 6


def test_a_package_spec_names_its_imports_by_reference() -> None:
    from realm_wasmer.pool.runtime import is_package_spec, package_imports

    spec = rw.LoadSpec("pkg-dir", entry="lite/x.cjs", imports="tests.pool_tasks:package_globals")
    assert is_package_spec(spec) and pickle.loads(pickle.dumps(spec)) == spec
    first, second = package_imports(spec), package_imports(spec)
    assert first == {"hostAdd": first["hostAdd"]} and first is not second  # a factory: one per package
    assert not is_package_spec(rw.LoadSpec(b"\0asm\1\0\0\0"))
    assert is_package_spec(rw.LoadSpec(Path("x.tgz"))) and not is_package_spec(rw.LoadSpec(Path("x.wasm")))
    with pytest.raises(TypeError, match="for a package it must name a mapping"):
        package_imports(spec.evolve(imports="tests.pool_tasks:WORK_WAT"))
    with pytest.raises(TypeError, match="instance of <class 'str'>|must be <class 'str'>"):
        rw.LoadSpec("pkg-dir", entry=Path("x.js"))  # type: ignore[arg-type]


def test_the_corpus_calls_on_a_dask_local_cluster_equal_the_calls_in_process(cc: Any) -> None:
    """The same translations through a pool whose executor is a Dask LocalCluster of processes:
    stateless calls as Dask tasks, a session (tiktoken's encoder) as a Dask actor."""
    import distributed

    here = {pid: run_cases(rw.load_package(package_spec(pid).source, engine="wasmtime",
                                           entry=package_spec(pid).entry), pid, cc)
            for pid in ("message_parser", "tiktoken")}
    options = dict(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with distributed.LocalCluster(**options) as cluster, distributed.Client(cluster) as client:
        executor = client.get_executor()
        with rw.Pool(package_spec("message_parser"), workers=2, executor=executor) as pool:
            assert run_cases(Remote(pool), "message_parser", cc) == here["message_parser"]
        with rw.Pool(package_spec("tiktoken"), workers=2, executor=executor) as pool:
            with pool.session("tenant") as session:
                assert run_cases(Remote(session), "tiktoken", cc) == here["tiktoken"]
                assert session.worker.startswith("Dask worker")
