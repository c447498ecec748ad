"""Throughput and start-up of ``realm_wasmer.Pool``: local worker processes and a Dask cluster.

    .venv/bin/python benchmarks/bench_pool.py [--max-workers 2] [--seconds 1.5] [--rounds 3] [--no-dask]
                                              [--json results.json]

Reports, for 1..N workers (N defaults to the CPU count):

* calls/s on compute-bound calls: tiktoken's ``encode_ordinary`` of a long text (the npm
  package served by ``load_package`` in each worker, ``LoadSpec(..., entry=...)``; the
  encoder is made once per worker by a task function), a photon corpus call (``resize`` of
  a 512x512 image, through the hand-written glue of tests/test_corpus_calls.py, as a task
  function) and ``work(n)`` of a plain WAT module (a loop of about 40 ms);
* calls/s on the Realm fixture (``rt_string``: a small call, so the pipe round trip
  dominates; with ``chunksize`` 1 and 64), next to the same call in this process;
* the compute-bound calls through a Dask ``LocalCluster`` of processes;
* the pool's cold start (first worker ready, all workers ready) with an empty artifact
  cache and with a warm one.

The machine is shared and noisy: the pools of every size are kept alive and measured
in interleaved rounds; the best round of each is reported, and the N-worker/1-worker
ratio is that of the best rounds of the same run (the median of the paired rounds
next to it). Goals (issue 13): >= 1.7x for 2 workers on 2 cores for a compute-bound
call; pool start with a warm cache < 1 s for the fixture.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Optional

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # workers import tests.pool_tasks by reference (spawn copies sys.path)

import realm_wasmer as rw  # noqa: E402
from tests import pool_tasks  # noqa: E402

REALM_SPEC = rw.LoadSpec(ROOT / "wasm" / "realm.wasm", imports="tests.pool_tasks:realm_imports")
CORPUS_CACHE = Path(os.environ.get("REALM_CORPUS_CACHE", "/tmp/realm-corpus-public"))
PACKAGES = ROOT.parent / "shared" / "corpus" / "packages.json"

PoolFactory = Callable[[int], rw.Pool]


def photon_spec() -> Optional[rw.LoadSpec]:
    """photon from the fetched public corpus (``../shared/corpus/fetch.sh``), if it is there."""
    if not PACKAGES.is_file():
        return None
    package = next(p for p in json.loads(PACKAGES.read_text())["packages"] if p["id"] == "photon")
    base = CORPUS_CACHE / "pkgs" / "photon"
    wasm, glue = base / package["wasm_path"], base / package["glue"]
    if not wasm.is_file():
        return None
    return rw.LoadSpec(wasm, glue=glue.read_text())


def tiktoken_spec() -> Optional[rw.LoadSpec]:
    """tiktoken's lite build from the fetched public corpus (an npm package: load_package in the workers)."""
    root = CORPUS_CACHE / "pkgs" / "tiktoken" / "package"
    if not (root / "lite" / "tiktoken.cjs").is_file():
        return None
    return rw.LoadSpec(root, entry="lite/tiktoken.cjs")


def tiktoken_text() -> str:
    """The corpus's long tiktoken input (case encode_long_ordinary)."""
    cases = json.loads((PACKAGES.parent / "cases" / "tiktoken.json").read_text())["cases"]
    return str(next(c for c in cases if c["id"] == "encode_long_ordinary")["inputs"]["text"])


def uptime() -> str:
    """The load averages (the machine is shared: say how busy it was)."""
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return "unknown"


def calls_per_second(pool: rw.Pool, name: str, args: tuple[Any, ...], seconds: float, chunksize: int = 1) -> float:
    """Calls/s of ``pool.map`` over repeated ``args`` for about ``seconds``."""
    batch = max(4, 2 * pool.workers)
    done, start = 0, time.perf_counter()
    while True:
        list(pool.map(name, *([a] * batch for a in args), chunksize=chunksize))
        done += batch
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed
        batch = min(batch * 2, max(batch, int(done / elapsed * seconds / 4)))


def throughput(
    label: str, make: PoolFactory, counts: list[int], name: str, args: tuple[Any, ...], seconds: float, rounds: int,
    chunksize: int = 1,
) -> dict[str, Any]:
    """Interleaved rounds over pools of each size; the best round of each and the ratios."""
    pools = {n: make(n) for n in counts}
    try:
        for pool in pools.values():
            pool.wait_ready(timeout=600)
            list(pool.map(name, *([a] * 2 * pool.workers for a in args), chunksize=chunksize))  # all warm
        runs: dict[int, list[float]] = {n: [] for n in counts}
        for _ in range(rounds):
            for n in counts:
                runs[n].append(calls_per_second(pools[n], name, args, seconds, chunksize))
    finally:
        for pool in pools.values():
            pool.close()
    best = {n: max(values) for n, values in runs.items()}
    base = counts[0]
    row = {
        "label": label,
        "calls_per_s": best,
        "ratio_best": {n: best[n] / best[base] for n in counts},
        "ratio_median_paired": {n: statistics.median(a / b for a, b in zip(runs[n], runs[base], strict=True))
                                for n in counts},
        "rounds": runs,
    }
    cells = "  ".join(f"{n}w {best[n]:9.1f}/s x{row['ratio_best'][n]:.2f} (med x{row['ratio_median_paired'][n]:.2f})"
                      for n in counts)
    print(f"  {label:<44} {cells}", flush=True)
    return row


def in_process(call: Callable[[], object], seconds: float) -> float:
    call()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        call()
        done += 1
    return done / (time.perf_counter() - start)


def start_times(spec: rw.LoadSpec, workers: int, cache_dir: str) -> tuple[float, float]:
    """Seconds from ``Pool(...)`` to the first worker ready and to all ready, with that cache."""
    previous = os.environ.get("REALM_WASMER_CACHE")
    os.environ["REALM_WASMER_CACHE"] = cache_dir  # the workers inherit it when they are spawned
    try:
        started = time.perf_counter()
        with rw.Pool(spec, workers=workers) as pool:
            pool.wait_ready(1, timeout=600)
            first = time.perf_counter() - started
            pool.wait_ready(timeout=600)
            every = time.perf_counter() - started
            outcomes = {w.info.cache for w in pool.stats()["workers"] if w.info is not None}
        print(f"    cache {os.path.basename(cache_dir)}: worker cache outcomes {sorted(outcomes)}", flush=True)
        return first, every
    finally:
        if previous is None:
            del os.environ["REALM_WASMER_CACHE"]
        else:
            os.environ["REALM_WASMER_CACHE"] = previous


def cold_start(workers: int, repeats: int) -> dict[str, Any]:
    print(f"\npool start, realm.wasm fixture on {REALM_SPEC.engine}, {workers} workers (best / median of {repeats}):")
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="rw-bench-warm-") as warm:
        start_times(REALM_SPEC, 1, warm)  # fills the warm cache (not measured)
        for state in ("cold", "warm"):
            firsts, alls = [], []
            for _ in range(repeats):
                if state == "cold":
                    with tempfile.TemporaryDirectory(prefix="rw-bench-cold-") as empty:
                        first, every = start_times(REALM_SPEC, workers, empty)
                else:
                    first, every = start_times(REALM_SPEC, workers, warm)
                firsts.append(first)
                alls.append(every)
            result[state] = {"first_ready_s": firsts, "all_ready_s": alls}
            print(f"  {state} cache: first worker ready {min(firsts):.3f} s (median {statistics.median(firsts):.3f}), "
                  f"all {workers} ready {min(alls):.3f} s (median {statistics.median(alls):.3f})", flush=True)
    return result


def work_n(target_seconds: float = 0.04) -> int:
    """``n`` for which ``work(n)`` takes about ``target_seconds`` here."""
    instance = rw.load(pool_tasks.work_module())
    n = 2_000_000
    start = time.perf_counter()
    instance.call("work", n)
    per_unit = (time.perf_counter() - start) / n
    return max(1, min(2**31 - 1, int(target_seconds / per_unit)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seconds", type=float, default=1.5, help="length of one measurement round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--start-repeats", type=int, default=3)
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--json", type=Path, help="write the figures here")
    options = parser.parse_args()
    counts = list(range(1, options.max_workers + 1))
    seconds, rounds = options.seconds, options.rounds
    report: dict[str, Any] = {"cpus": os.cpu_count(), "workers": counts, "throughput": [], "dask": [],
                              "loadavg_before": uptime()}
    print(f"load average before: {report['loadavg_before']}", flush=True)
    # Compile everything once here: the workers then load from the artifact cache.
    os.environ.setdefault("REALM_WASMER_CACHE", tempfile.mkdtemp(prefix="rw-bench-cache-"))
    work = rw.LoadSpec(pool_tasks.work_module())
    n = work_n()
    photon = photon_spec()
    tiktoken = tiktoken_spec()
    workloads: list[tuple[str, rw.LoadSpec, str, tuple[Any, ...], int]] = []
    if tiktoken is not None:
        rw.load_package(tiktoken.source, engine=tiktoken.engine, entry=tiktoken.entry)  # compiles into the cache
        workloads.append(("tiktoken encode 156 KB text (package, compute)", tiktoken,
                          "tests.pool_tasks:tiktoken_encode_count", (tiktoken_text(), 1000), 1))
    else:
        print("(tiktoken is not fetched: run ../shared/corpus/fetch.sh, or the tests' corpus fixture)")
    if photon is not None:
        rw.compile(photon)
        workloads.append(("photon resize 512->256 (task, compute)", photon, "tests.pool_tasks:photon_resize_digest",
                          (512, 256), 1))
    else:
        print("(photon is not fetched: run ../shared/corpus/fetch.sh, or the tests' corpus fixture)")
    workloads.append((f"work({n:,}) raw export (compute)", work, "work", (n,), 1))
    workloads.append(("realm rt_string (small call)", REALM_SPEC, "rt_string", ("héllo wörld",), 1))
    workloads.append(("realm rt_string, chunksize=64", REALM_SPEC, "rt_string", ("héllo wörld",), 64))
    rw.compile(REALM_SPEC)
    local = rw.bind(REALM_SPEC)
    print(f"in this process: realm rt_string {in_process(lambda: local.rt_string('héllo wörld'), 1.0):,.0f} calls/s")

    print(f"\nlocal pool, calls/s for {counts} workers (best of {rounds} interleaved rounds of {seconds:g} s; "
          "xN = ratio to 1 worker):")
    for label, spec, name, args, chunk in workloads:
        row = throughput(label, lambda w, s=spec: rw.Pool(s, workers=w), counts, name, args, seconds, rounds, chunk)
        report["throughput"].append(row)

    if not options.no_dask:
        import distributed

        logging.getLogger("distributed").setLevel(logging.ERROR)  # the scheduler runs here: its INFO lines are noise

        print(f"\nDask LocalCluster (processes, 1 thread each), calls/s for {counts} workers:")
        clusters: list[Any] = []

        def on_dask(workers: int, spec: rw.LoadSpec) -> rw.Pool:
            cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                               dashboard_address=":0", silence_logs=logging.ERROR)
            client = distributed.Client(cluster)
            clusters.append((client, cluster))
            return rw.Pool(spec, workers=workers, executor=client.get_executor())

        try:
            for label, spec, name, args, chunk in workloads[:-2]:  # the compute-bound ones
                row = throughput(f"dask: {label}", lambda w, s=spec: on_dask(w, s), counts, name, args, seconds,
                                 rounds, chunk)
                report["dask"].append(row)
        finally:
            for client, cluster in clusters:
                client.close()
                cluster.close()

    report["start"] = cold_start(options.max_workers, options.start_repeats)
    report["loadavg_after"] = uptime()
    print(f"\nload average after: {report['loadavg_after']}", flush=True)
    if options.json:
        options.json.write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
