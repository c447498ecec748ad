"""``realm_wasmer.Pool``: calls served by worker processes, sessions, faults, backpressure, Dask.

Pools are module-scoped (a worker process takes a few tenths of a second to start);
the whole file stays well under a minute. Workers import their imports by reference
from :mod:`tests.pool_tasks`, and inherit the session's artifact cache directory.
"""

from __future__ import annotations

import concurrent.futures
import os
import pickle
import signal
import threading
import time
from concurrent.futures import Future
from typing import Any, Callable, Iterator

import numpy as np
import pytest

import realm_wasmer as rw
from realm_wasmer.demo import tiny_gguf
from realm_wasmer.references import import_reference, is_reference, resolve_imports

from . import pool_tasks
from .conftest import REALM_WASM, ROOT

VOCAB = ["<unk>", "hello", "world", "realm", "!"]
REALM_SPEC = rw.LoadSpec(REALM_WASM, imports="tests.pool_tasks:realm_imports")


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def same(a: Any, b: Any) -> bool:
    """Equal, with numpy arrays equal in dtype and values."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return type(a) is type(b) and a.dtype == b.dtype and np.array_equal(a, b)
    return bool(type(a) is type(b) and a == b)


def busy_worker(pool: rw.Pool, call: str) -> Any:
    """The stats of the worker running ``call`` (waits until one is)."""
    return wait_for(
        lambda: next((w for w in pool.stats()["workers"] if w.running == call), None), what=f"a worker running {call}"
    )


@pytest.fixture(scope="module")
def local() -> rw.BoundModule:
    """The fixture bound in this process, with the same imports the workers resolve."""
    return rw.bind(REALM_SPEC)


@pytest.fixture(scope="module")
def realm_pool(local: rw.BoundModule) -> Iterator[rw.Pool]:
    # ``local`` first: the module is compiled (the artifact cache warm) before the workers start.
    with rw.Pool(REALM_SPEC, workers=2) as pool:
        yield pool


@pytest.fixture(scope="module")
def work_pool() -> Iterator[rw.Pool]:
    """A plain WAT module (not wasm-bindgen output): names are raw exports."""
    with rw.Pool(pool_tasks.work_module(), workers=2, queue=2, on_full="raise", call_timeout=2.0) as pool:
        yield pool


# -- the spec ------------------------------------------------------------------


def test_a_spec_with_an_imports_reference_pickles_and_resolves_per_instance() -> None:
    spec = rw.LoadSpec("wasm/realm.wasm", engine="wasmtime", imports="tests.pool_tasks:realm_imports")
    assert spec.imports == "tests.pool_tasks:realm_imports"  # kept as the str
    copy = pickle.loads(pickle.dumps(spec))
    assert copy == spec and copy.imports == spec.imports
    first, second = resolve_imports(copy), resolve_imports(copy)
    assert isinstance(first, rw.Imports) and first is not second  # a factory: one per instance
    instance = rw.load(REALM_WASM, imports="tests.pool_tasks:realm_imports")
    with instance.construct("Realm") as realm:
        ptr, length = instance.abi.pass_bytes(tiny_gguf(VOCAB))
        assert instance.call_retptr("realm_loadModel", realm.ptr, ptr, length, words=2) == (0, 0)
    assert is_reference("a.b:c.d") and not is_reference("wasm/realm.wasm") and not is_reference("a:")
    assert import_reference("tests.pool_tasks:WORK_WAT") == pool_tasks.WORK_WAT
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        resolve_imports(spec.evolve(imports="tests.pool_tasks:nothing"))
    with pytest.raises(TypeError, match="gave a str"):
        resolve_imports(spec.evolve(imports="tests.pool_tasks:WORK_WAT"))


def test_a_spec_that_does_not_pickle_is_refused_with_the_way_out() -> None:
    imports = rw.Imports({("env", "realm_store_model"): lambda caller, *args: 0})
    with pytest.raises(TypeError, match="'package.module:attr'"):
        rw.Pool(REALM_WASM, imports=imports, workers=1)


# -- stateless calls --------------------------------------------------------------


def test_pool_results_equal_in_process_results(realm_pool: rw.Pool, local: rw.BoundModule) -> None:
    calls: list[tuple[str, tuple[Any, ...]]] = [
        ("rt_string", ("héllo wörld",)),
        ("rt_u64", (2**64 - 1,)),
        ("rt_i64", (-(2**63),)),
        ("rt_f64", (1.5e300,)),
        ("rt_char", ("🦀",)),
        ("rt_vec_u8", (b"\x00\x01\xfe\xff",)),
        ("rt_slice_u8", (bytes(range(200)),)),
        ("rt_boxed_u32", ([1, 2, 2**32 - 1],)),
        ("rt_opt_u32", (None,)),
        ("rt_opt_string", ("x",)),
        ("rt_jsvalue", ({"a": [1, 2.5, None, rw.UNDEFINED], "b": "c"},)),
        ("rt_jsvalue_is_string", ("s",)),
    ]
    futures = [realm_pool.submit(name, *args) for name, args in calls]
    for (name, args), future in zip(calls, futures, strict=True):
        assert same(future.result(), getattr(local, name)(*args)), name
    vector = realm_pool.call("rt_vec_f32", [1.0, -2.5, 3.25])
    assert isinstance(vector, np.ndarray) and vector.dtype == np.float32
    assert np.array_equal(vector, local.rt_vec_f32([1.0, -2.5, 3.25]))
    assert realm_pool.call("rt_jsvalue", rw.UNDEFINED) is rw.UNDEFINED
    words = [f"w{i}" for i in range(40)]
    assert list(realm_pool.map("rt_string", words)) == [local.rt_string(w) for w in words]
    assert list(realm_pool.map("rt_u32", range(50), chunksize=8)) == [local.rt_u32(i) for i in range(50)]
    assert [w.info.kind for w in realm_pool.wait_ready(timeout=60).stats()["workers"]] == ["bindings", "bindings"]


def test_workers_load_from_the_artifact_cache(realm_pool: rw.Pool) -> None:
    realm_pool.wait_ready(timeout=60)
    # The module was compiled in this process first: each worker found the artifact.
    assert [w.info.cache for w in realm_pool.stats()["workers"]] == ["hit", "hit"]


def test_errors_cross_intact(realm_pool: rw.Pool, local: rw.BoundModule) -> None:
    with pytest.raises(rw.JsResultError) as remote:
        realm_pool.call("rt_result", -7)
    with pytest.raises(rw.JsResultError) as here:
        local.rt_result(-7)
    assert str(remote.value) == str(here.value) and remote.value.value == here.value.value
    assert remote.value.function == here.value.function
    with pytest.raises(rw.JsError) as config:
        realm_pool.call("Realm.withConfig", '{"bogus": 1}')
    assert str(config.value) == 'invalid config: unknown key "bogus"'
    # A trap (through a raw export of the bound module), with every field.
    with pytest.raises(rw.GuestTrap) as trap:
        realm_pool.call("realm_isLoaded", 0xFFFFFFF0 - 2**32)
    assert (trap.value.export, trap.value.message) == ("realm_isLoaded", "out of bounds memory access")
    # The trapped instance is rebuilt before its worker's next call: every call succeeds.
    assert list(realm_pool.map("rt_string", ["ab"] * 8)) == ["ba"] * 8
    with pytest.raises(rw.ArgumentRangeError, match="out of range"):
        realm_pool.call("rt_u8", 256)
    with pytest.raises(ValueError, match="^nope$"):
        realm_pool.call("tests.pool_tasks:raise_value_error", "nope")
    with pytest.raises(rw.ExportNotFound, match="no 'rt_nothing'"):
        realm_pool.call("rt_nothing")
    with pytest.raises(rw.PoolError, match=r"pool.session\(key\)"):
        realm_pool.call("Realm")  # an object cannot leave its instance outside a session


def test_raw_exports_of_a_module_that_is_not_wasm_bindgen_output(work_pool: rw.Pool) -> None:
    assert work_pool.call("work", 100_000) == pool_tasks.work_in_python(100_000)
    assert list(work_pool.map("work", [1, 2, 3])) == [pool_tasks.work_in_python(n) for n in (1, 2, 3)]
    with pytest.raises(rw.GuestTrap) as trap:
        work_pool.call("boom")
    assert (trap.value.export, trap.value.message) == ("boom", "unreachable")
    assert {w.info.kind for w in work_pool.wait_ready(timeout=60).stats()["workers"]} == {"raw"}


# -- faults -----------------------------------------------------------------------


def test_a_worker_killed_mid_call_is_replaced_and_the_call_raises_worker_died(work_pool: rw.Pool) -> None:
    work_pool.wait_ready(timeout=60)
    doomed = work_pool.submit("spin")
    victim = busy_worker(work_pool, "spin")
    # Meanwhile the other worker serves calls.
    assert work_pool.call("work", 1000) == pool_tasks.work_in_python(1000)
    os.kill(victim.pid, signal.SIGKILL)
    with pytest.raises(rw.WorkerDied) as died:
        doomed.result(timeout=20)
    assert died.value.worker == f"{victim.name} (pid {victim.pid})" and died.value.call == "spin"
    assert "SIGKILL" in died.value.cause
    restarted = wait_for(
        lambda: next((w for w in work_pool.stats()["workers"] if w.name == victim.name and w.info is not None
                      and w.pid != victim.pid), None),
        what="the replacement worker",
    )
    assert restarted.restarts == 1
    assert list(work_pool.map("work", [10] * 6)) == [pool_tasks.work_in_python(10)] * 6


def test_a_call_past_call_timeout_kills_its_worker(work_pool: rw.Pool) -> None:
    started = time.monotonic()
    with pytest.raises(rw.WorkerDied, match="call_timeout=2 s") as died:
        work_pool.call("spin")
    assert 1.9 < time.monotonic() - started < 15 and died.value.call == "spin"
    assert work_pool.call("work", 5) == pool_tasks.work_in_python(5)


def test_a_call_past_its_limits_raises_resource_exhausted_and_the_instance_is_rebuilt() -> None:
    spec = rw.LoadSpec(pool_tasks.work_module(), engine="wasmtime", limits=rw.Limits(fuel=5_000_000))
    with rw.Pool(spec, workers=1) as pool:
        pid = pool.call("tests.pool_tasks:pid")
        with pytest.raises(rw.ResourceExhausted) as stopped:
            pool.call("spin")  # stopped by the engine's fuel, in the worker; the error crosses with its fields
        assert (stopped.value.export, stopped.value.limit, stopped.value.value) == ("spin", "fuel", 5_000_000)
        # The stopped instance is poisoned: the worker rebuilds it; the same process serves the next calls.
        assert list(pool.map("work", [10, 20])) == [pool_tasks.work_in_python(n) for n in (10, 20)]
        assert pool.call("tests.pool_tasks:pid") == pid and pool.stats()["workers"][0].restarts == 0


def test_backpressure_raises_or_blocks(work_pool: rw.Pool) -> None:
    work_pool.wait_ready(timeout=60)
    sleepers = [work_pool.submit("tests.pool_tasks:sleep_then_pid", 1.5) for _ in range(2)]
    wait_for(lambda: all(w.state == "busy" for w in work_pool.stats()["workers"]), what="both workers busy")
    queued = [work_pool.submit("work", 1), work_pool.submit("work", 2)]  # queue=2
    with pytest.raises(rw.PoolFull) as full:
        work_pool.submit("work", 3)
    assert (full.value.limit, full.value.what) == (2, "calls")
    work_pool.on_full = "block"
    try:
        done = threading.Event()
        result: list[Future[Any]] = []
        blocked = threading.Thread(target=lambda: (result.append(work_pool.submit("work", 3)), done.set()))
        blocked.start()
        assert not done.wait(0.2)  # waits for room ...
        assert done.wait(20)  # ... which the sleepers make
        blocked.join()
    finally:
        work_pool.on_full = "raise"
    assert {s.result() for s in sleepers} == {w.pid for w in work_pool.stats()["workers"]}
    assert [f.result() for f in [*queued, *result]] == [pool_tasks.work_in_python(n) for n in (1, 2, 3)]


# -- sessions ---------------------------------------------------------------------


def test_a_session_keeps_its_objects_across_calls(realm_pool: rw.Pool, local: rw.BoundModule) -> None:
    gguf = tiny_gguf(VOCAB)
    with local.Realm() as here:
        here.loadModel(gguf)
        expected = here.generate("hello")
    with realm_pool.session("tenant-a") as tenant:
        assert realm_pool.session("tenant-a") is tenant
        realm = tenant.call("Realm")
        assert isinstance(realm, rw.RemoteObject) and realm.class_name == "Realm"
        assert realm.isLoaded() is False and realm.maxTokens == 128
        realm.loadModel(gguf)  # the model stays in the worker, with the session's own imports
        realm.maxTokens = 64
        assert realm.isLoaded() is True and realm.maxTokens == 64
        assert realm.generate("hello") == expected
        assert realm.generate.submit("hello").result() == expected
        config = realm.config()  # an object returned by a method: another handle
        assert config.maxTokens == 64
        config.maxTokens = 7
        realm.setConfig(config)  # a handle passed back as an argument is the object itself
        assert realm.maxTokens == 7
        # Another tenant has its own instance and objects.
        with realm_pool.session("tenant-b") as other:
            assert other.call("Realm").isLoaded() is False
            with pytest.raises(rw.PoolError, match="cannot be passed to session"):
                other.call("realm_by_ref", realm)
        realm.close()
        with pytest.raises(rw.UseAfterFree):
            realm.isLoaded()
    with pytest.raises(rw.SessionLost, match="the session was closed"):
        tenant.call("Realm")


def test_a_trap_in_a_session_rebuilds_its_instance_and_drops_its_objects(realm_pool: rw.Pool) -> None:
    session = realm_pool.session("tenant-trap")
    realm = session.call("Realm")
    with pytest.raises(rw.GuestTrap):
        session.call("realm_isLoaded", 0xFFFFFFF0 - 2**32)
    with pytest.raises(rw.SessionLost, match="trapped"):
        realm.isLoaded()
    assert session.call("Realm").isLoaded() is False  # the rebuilt instance serves the session
    session.close()


def test_a_session_loses_its_objects_with_a_clear_error_when_its_worker_dies(realm_pool: rw.Pool) -> None:
    session = realm_pool.session("tenant-doomed")
    realm = session.call("Realm")
    realm.loadModel(tiny_gguf(VOCAB))
    pid = int(session.worker.rsplit("pid ", 1)[1].rstrip(")"))
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not session.alive, what="the session to be lost")
    with pytest.raises(rw.SessionLost) as lost:
        realm.isLoaded()
    assert lost.value.key == "tenant-doomed" and lost.value.worker == session.worker
    assert "its worker died" in lost.value.cause and "SIGKILL" in lost.value.cause
    with pytest.raises(rw.SessionLost):
        session.call("Realm")
    fresh = realm_pool.session("tenant-doomed")
    assert fresh is not session and fresh.call("Realm").isLoaded() is False
    fresh.close()


def test_idle_sessions_end_and_the_cap_per_worker_holds() -> None:
    with rw.Pool(REALM_SPEC, workers=1, session_idle=0.3, sessions_per_worker=2) as pool:
        first, second = pool.session("a"), pool.session("b")
        with pytest.raises(rw.PoolFull) as full:
            pool.session("c")
        assert (full.value.limit, full.value.what) == (2, "sessions")
        realm = first.call("Realm")
        wait_for(lambda: not first.alive and not second.alive, what="idle sessions to end")
        with pytest.raises(rw.SessionLost, match="idle for more than 0.3 s"):
            realm.isLoaded()
        assert pool.session("c").call("rt_string", "ab") == "ba"
    with pytest.raises(rw.PoolClosed):
        pool.call("rt_string", "x")


# -- the corpus ---------------------------------------------------------------------


@pytest.mark.parametrize("package_id,task,imports,case_ids", [
    ("photon", "photon_case", None, ["grayscale", "resize_nearest"]),
    ("resvg", "resvg_case", "tests.pool_tasks:resvg_imports", ["render_png", "bbox"]),
])
def test_corpus_calls_through_the_pool_equal_in_process_calls(
    corpus: dict, package_id: str, task: str, imports: Any, case_ids: list[str]
) -> None:
    from .test_corpus_calls import case_of

    entry = corpus[package_id]
    spec = rw.LoadSpec(entry["wasm"], engine="wasmtime", glue=entry["glue"].read_text(), imports=imports)
    compiled = rw.compile(spec)  # in process, first: the workers then load from the cache
    run = getattr(pool_tasks, task)
    cases = {case_id: case_of(corpus, package_id, case_id) for case_id in case_ids}
    here = {case_id: run(compiled.instantiate(), case_id, case["inputs"]) for case_id, case in cases.items()}
    with rw.Pool(spec, workers=1) as pool:
        futures = {case_id: pool.submit(f"tests.pool_tasks:{task}", case_id, case["inputs"])
                   for case_id, case in cases.items()}
        for case_id, future in futures.items():
            assert future.result() == here[case_id] == cases[case_id]["output"], case_id
        assert pool.stats()["workers"][0].info.cache == "hit"


# -- executors ----------------------------------------------------------------------


def test_a_process_pool_executor_runs_stateless_calls(local: rw.BoundModule) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as executor:
        with rw.Pool(REALM_SPEC, workers=2, executor=executor) as pool:
            words = ["a", "héllo", "", "xyz"] * 2
            assert list(pool.map("rt_string", words)) == [local.rt_string(w) for w in words]
            with pytest.raises(rw.JsResultError) as error:
                pool.call("rt_result", -3)
            assert error.value.value == pytest.raises(rw.JsResultError, local.rt_result, -3).value.value
            with pytest.raises(rw.PoolError, match="sessions need workers that keep state"):
                pool.session("tenant")


# -- Dask ---------------------------------------------------------------------------


def test_the_same_pool_on_a_dask_local_cluster(local: rw.BoundModule) -> None:
    # The "distributed" extra (pip install realm-wasmer[distributed]); the Makefile installs it for the tests.
    import distributed

    cluster_options = dict(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with distributed.LocalCluster(**cluster_options) as cluster, distributed.Client(cluster) as client:
        with rw.Pool(REALM_SPEC, workers=2, executor=client.get_executor()) as pool:
            words = ["dask", "héllo", "", "ab"] * 3
            assert list(pool.map("rt_string", words)) == [local.rt_string(w) for w in words]
            assert pool.call("rt_u32", 41) == 42 and pool.call("rt_u32", 41) == 42  # not merged as "pure"
            with pytest.raises(rw.JsResultError) as error:
                pool.call("rt_result", -3)
            assert error.value.value == pytest.raises(rw.JsResultError, local.rt_result, -3).value.value
            with pool.session("tenant") as tenant:  # a Dask actor
                realm = tenant.call("Realm")
                realm.loadModel(tiny_gguf(VOCAB))
                assert realm.isLoaded() is True and "Dask worker" in tenant.worker
            # The worker holding a session's actor dies: the call raises WorkerDied naming it, the
            # session's objects are lost with a clear error, stateless calls go on, the key starts anew.
            doomed = pool.session("doomed")
            held = doomed.call("Realm")
            assert held.isLoaded() is False
            address = doomed.worker.split("Dask worker ", 1)[1]
            os.kill(client.run(os.getpid)[address], signal.SIGKILL)
            with pytest.raises(rw.WorkerDied) as died:
                held.isLoaded()
            assert died.value.worker == f"Dask worker {address}" and died.value.call == "isLoaded"
            with pytest.raises(rw.SessionLost, match="its worker died") as lost:
                held.isLoaded()
            assert lost.value.key == "doomed" and lost.value.worker == f"Dask worker {address}"
            # Right away, while the nanny restarts the worker: a task Dask cancels as it reconciles
            # the loss is sent again by the pool, so the stateless call still succeeds.
            assert pool.call("rt_string", "abc") == "cba"
            assert pool.session("doomed").call("Realm").isLoaded() is False


# -- the README ---------------------------------------------------------------------


def test_the_readme_pool_example_runs_as_written() -> None:
    """The README's pool example (a ``py`` block, so test_readme does not run it), with the
    reference to the user's imports module pointed at the tests' one, prints what it says."""
    import re
    import subprocess
    import sys

    section = (ROOT / "README.md").read_text().split("## Serving many calls: `rw.Pool`", 1)[1]
    block = re.search(r"```py\n(.*?)```", section, re.S)
    assert block is not None
    code = block.group(1).replace("myapp.hosts:realm_imports", "tests.pool_tasks:realm_imports")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    expected = [line.split("# ")[1].strip() for line in code.splitlines() if "print(" in line]
    assert done.stdout.splitlines() == expected


def test_a_script_without_the_main_guard_is_served_not_hung(tmp_path: Any) -> None:
    """Spawned workers import the main script again (as ``__mp_main__``): without
    ``if __name__ == "__main__"`` each worker runs the script's pool too, whose own worker
    multiprocessing refuses to start. That nested pool must fail at once with WorkerDied (it
    used to kill its feeding thread, so its call waited for start_timeout and the worker never
    came up): the worker then goes on to serve, and the script's own call gets its result."""
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "import realm_wasmer as rw\n"
        "from tests import pool_tasks\n"
        "pool = rw.Pool(pool_tasks.work_module(), workers=1)\n"
        "try:\n"
        "    print(__name__, 'result', pool.call('work', 3), flush=True)\n"
        "except rw.WorkerDied as exc:\n"
        "    print(__name__, 'WorkerDied:', exc.cause.splitlines()[0], flush=True)\n"
        "pool.close()\n"
    )
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = sorted(done.stdout.splitlines())
    assert lines == [
        "__main__ result " + str(pool_tasks.work_in_python(3)),
        "__mp_main__ WorkerDied: the worker process could not be started: ",
    ], done.stderr[-3000:]


def test_errors_cross_by_their_own_reduce_even_after_distributed_installed_tblib() -> None:
    """``import distributed`` registers tblib's reducer in copyreg for every exception class that
    exists then, which also pickles ``__cause__``: an error caused by something unpicklable (a
    handler's exception) would no longer reach the caller. The pool pickles its replies with the
    errors' own reduce."""
    import copyreg

    import tblib.pickling_support

    from realm_wasmer.pool import protocol

    tblib.pickling_support.install()  # what importing distributed does (once per process); conftest restores copyreg

    class Unpicklable(Exception):
        def __init__(self) -> None:
            super().__init__("holds a lambda")
            self.callback = lambda: None

    try:
        try:
            raise Unpicklable()
        except Unpicklable as cause:
            raise rw.HostError("env.realm_store_model", "realm_loadModel", cause) from cause
    except rw.HostError as exc:
        error = exc
    assert copyreg.dispatch_table.get(rw.HostError) is not None  # tblib's, so plain pickle.dumps fails:
    with pytest.raises((AttributeError, pickle.PicklingError, TypeError)):
        pickle.dumps(error)
    status, restored = pickle.loads(protocol.dumps(("err", error)))
    assert status == "err" and type(restored) is rw.HostError and str(restored) == str(error)
    assert (restored.import_name, restored.export, restored.__cause__) == ("env.realm_store_model",
                                                                           "realm_loadModel", None)


class _CancellingExecutor(concurrent.futures.Executor):
    """Runs tasks on one thread, after cancelling the first ``cancels`` of them (as Dask
    cancels the tasks of a worker it lost)."""

    def __init__(self, cancels: int) -> None:
        self.cancels = cancels
        self.inner = concurrent.futures.ThreadPoolExecutor(max_workers=1)

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> "concurrent.futures.Future[Any]":
        if self.cancels > 0:
            self.cancels -= 1
            cancelled: concurrent.futures.Future[Any] = concurrent.futures.Future()
            cancelled.cancel()
            return cancelled
        return self.inner.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.inner.shutdown(wait=wait, cancel_futures=cancel_futures)


def test_a_call_the_executor_cancels_is_sent_again_then_reported_as_a_lost_worker() -> None:
    spec = REALM_SPEC
    with rw.Pool(spec, workers=1, executor=_CancellingExecutor(cancels=2)) as pool:
        assert pool.call("rt_string", "abc") == "cba"  # cancelled twice, then run
    with rw.Pool(spec, workers=1, executor=_CancellingExecutor(cancels=3)) as pool:
        with pytest.raises(rw.WorkerDied, match="cancelled the call 3 times") as died:
            pool.call("rt_string", "abc")
        assert died.value.call == "rt_string"
        assert pool.call("rt_string", "xy") == "yx"  # the pool goes on
