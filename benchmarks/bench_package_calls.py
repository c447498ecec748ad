"""Every package call against Node, in one run: issue 10's two speed goals, as a table.

    .venv/bin/python benchmarks/bench_package_calls.py [--engine wasmer-cranelift] [--budget 0.3]
        [--rounds 5] [--only tiktoken,blake3/hash_text] [--out benchmarks/results/package_calls.json]

* The calls: every case of the public corpus (``../shared/corpus/cases``, 36 calls, translated into
  Python by ``check_calls.py``'s ``RUN``/``SETUP`` tables, imported from there) and every case of
  the packages tried here (``tests/packages/<id>/cases.json``, replayed by
  ``tests/package_cases.run_steps``) but the ``fresh`` ones (a wasm trap, which poisons the
  instance). ``resvg/render_png`` is timed in its ``bench`` form on both
  sides (the only case with one).
* Node: ``benchmarks/node_bench.mjs`` (corpus) and ``benchmarks/node_bench_steps.mjs`` (the new
  packages) run the package's own glue on the same inputs, in calibrated batches, in the same run.
* Import calls per call: Node's, from the corpus trace (``cases/<id>.json``) where one is recorded
  for the timed form, else counted on the Python side (``instance.import_calls`` around one call:
  the wasm decides them; the externref lowering's intrinsic imports are counted there too, so the
  Python count is kept beside Node's as ``imports_python``).
* Goals (issue 10): a call making fewer than 100 import calls within 1.5x Node; every call within
  Node's time + 2 us per import call.
* The engine's floor (``benchmarks/engine_floor.py``, measured at the start of the run on the bare
  engine with no realm_wasmer code): a call making ``e`` export and ``k`` import calls (counted on
  the Python side) cannot take less than ``e`` bare export calls + ``k`` bare import calls from
  Python. Each row has ``floor_us`` and ``over_floor`` (our time over it), and whether the floor
  itself already misses a goal (``floor_allows_few_imports``, ``floor_allows_per_import`` false:
  no Python host on this engine can meet it for that call).

* Inside the engine (``inside_us``, ``--no-inside`` skips it): the call's time inside the engine's
  export calls, measured on a fresh load whose export callables are all clocked
  (``realm_wasmer.bench.corpus.inside_wasm``, as the suite's corpus cases do). For a call that
  makes no import calls that is the guest's compiled code alone (with each crossing): if it
  already exceeds 1.5x Node, no host on this engine meets the goal for that call
  (``wasm_allows_few_imports`` false; not judged where the guest calls imports, since their
  handlers run inside the clocked calls).

``--baseline DIR`` (a directory holding another checkout's ``realm_wasmer/``, e.g. from
``git archive <commit> realm_wasmer | tar -x -C DIR``): that tree is imported in the same process
as ``realm_wasmer_base`` and each call is timed on both trees in interleaved batches; the row gets
``base_us`` and ``new_over_base`` (the median of the per-round ratios), the before/after figure.

Per call: the median of ``rounds`` batches of about ``budget / rounds`` seconds each (Python and
Node alike). The machine is shared: compare ratios from one run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import engine_floor

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "corpus"
NEW = ROOT / "tests" / "packages"
FEW_IMPORTS = 100
RATIO_GOAL = 1.5
US_PER_IMPORT = 2.0


def _check_calls() -> Any:
    spec = importlib.util.spec_from_file_location("check_calls", CORPUS / "check_calls.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _time(calls: dict[str, Callable[[], object]], budget: float, rounds: int) -> dict[str, list[float]]:
    """Seconds per call of each callable: ``rounds`` batches each, interleaved (one batch of every
    callable per round), so that a burst of load on the shared machine hits them alike."""
    clock = time.perf_counter
    sizes = {}
    for name, call in calls.items():
        start = clock()
        call()
        while clock() - start < budget / rounds / 2:  # warm-up
            call()
        t0 = clock()
        call()
        sizes[name] = max(1, round(budget / rounds / max(clock() - t0, 1e-7)))
    per_call: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            size = sizes[name]
            t0 = clock()
            for _ in range(size):
                call()
            per_call[name].append((clock() - t0) / size)
    return per_call


def _crossings(api: Any, call: Callable[[], object]) -> tuple[int | None, int | None]:
    """(export calls, import calls) that one ``call`` makes, counted on the package's instances."""
    runtime = getattr(api, "__realm__", None)
    instances = list(getattr(runtime, "instances", None) or ())
    if not instances:
        return None, None
    before = [(i.calls, sum(i.import_calls.values())) for i in instances]
    call()
    after = [(i.calls, sum(i.import_calls.values())) for i in instances]
    return (sum(a[0] - b[0] for a, b in zip(after, before, strict=True)),
            sum(a[1] - b[1] for a, b in zip(after, before, strict=True)))  # fmt: skip


def _node(command: list[str], timeout: float) -> dict[str, Any]:
    out = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    try:
        data: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return {"error": (out.stderr or out.stdout)[-400:]}
    return data


def corpus_rows(args: argparse.Namespace, trees: dict[str, Any], cc: Any, node: str) -> list[dict[str, Any]]:
    from realm_wasmer.bench.corpus import _resvg_render_bench

    cc.CACHE = str(args.corpus_cache)
    undefined = cc.UNDEF
    rows = []
    for pid in cc.PACKAGES:
        doc = json.loads((CORPUS / "cases" / f"{pid}.json").read_text())
        cases = [c for c in doc["cases"] if _selected(args, pid, c["id"])]
        if not cases:
            continue
        glue = doc["glue"].removeprefix("package/")
        source = str(args.corpus_cache / "pkgs" / pid / "package")
        apis = {name: mod.load_package(source, engine=args.engine, entry=glue) for name, mod in trees.items()}
        budget_ms = f"{args.budget * 1000:.0f}"
        nd = _node([node, "--no-warnings", "--no-liftoff", str(ROOT / "benchmarks" / "node_bench.mjs"),
                    "--corpus", str(CORPUS), "--cache", str(args.corpus_cache), "--package", pid,
                    "--cases", ",".join(c["id"] for c in cases), "--rounds", str(args.rounds),
                    "--budget-ms", budget_ms], 600)  # fmt: skip
        setups: dict[tuple[str, str], Any] = {}
        for c in cases:
            run = _resvg_render_bench if (pid, c["id"]) == ("resvg", "render_png") else cc.RUN[(pid, c["id"])]
            calls = {}
            for name, api in apis.items():
                cc.UNDEF = trees[name].UNDEFINED  # each tree's own undefined in the inputs
                try:
                    inputs = cc.decode_input(c.get("inputs") or {}, str(args.corpus_cache / "pkgs" / pid))
                finally:
                    cc.UNDEF = undefined
                state = None
                if "setup_js" in c:
                    key = (name, c["setup_js"])
                    if key not in setups:
                        setups[key] = cc.SETUP[(pid, c["setup_js"])](api, inputs)
                    state = setups[key]
                calls[name] = _swallow(lambda api=api, run=run, inputs=inputs, state=state: run(api, inputs, state),
                                       "throws" in c)  # fmt: skip
            trace = c.get("trace", {}).get("imports")
            if (pid, c["id"]) == ("resvg", "render_png"):
                trace = None  # the trace is of the case's run(); its bench form is what is timed
            rows.append(_row(pid, c["id"], apis["new"], calls, args, nd.get("cases", {}).get(c["id"], nd),
                             sum(trace.values()) if trace is not None else None))  # fmt: skip

            def fresh_call(api: Any, c: dict[str, Any] = c, run: Any = run, inputs: Any = inputs,
                           pid: str = pid) -> Callable[[], object]:  # fmt: skip
                state = cc.SETUP[(pid, c["setup_js"])](api, inputs) if "setup_js" in c else None
                return _swallow(lambda: run(api, inputs, state), "throws" in c)

            rows[-1].update(_inside(lambda s=source, g=glue: trees["new"].load_package(s, engine=args.engine, entry=g),
                                    fresh_call, args))  # fmt: skip
            _judge_inside(rows[-1])
        for obj in setups.values():
            obj.free()
    return rows


def new_rows(args: argparse.Namespace, trees: dict[str, Any], node: str) -> list[dict[str, Any]]:
    from tests.package_cases import run_steps

    rows = []
    for pkg in json.loads((NEW / "packages.json").read_text())["packages"]:
        pid = pkg["id"]
        cases = [c for c in json.loads((NEW / pid / "cases.json").read_text())["cases"]
                 if _selected(args, pid, c["id"]) and not c.get("fresh")]  # a trap poisons the instance: not timed
        if not cases:
            continue
        source = str(args.new_cache / "pkgs" / pid / "package")
        apis = {name: mod.load_package(source, engine=args.engine, entry=pkg["entry"]) for name, mod in trees.items()}
        nd = _node([node, "--no-warnings", "--no-liftoff", str(ROOT / "benchmarks" / "node_bench_steps.mjs"),
                    "--cache", str(args.new_cache), "--package", pid, "--cases", ",".join(c["id"] for c in cases),
                    "--rounds", str(args.rounds), "--budget-ms", f"{args.budget * 1000:.0f}"], 600)  # fmt: skip
        for c in cases:
            steps, result = c["steps"], c.get("result")
            calls = {name: _swallow(lambda api=api, steps=steps, result=result: run_steps(api, steps, result),
                                    bool(c.get("expect_throw")))
                     for name, api in apis.items()}  # fmt: skip
            rows.append(_row(pid, c["id"], apis["new"], calls, args, nd.get("cases", {}).get(c["id"], nd), None))
            entry = pkg["entry"]
            rows[-1].update(_inside(lambda s=source, g=entry: trees["new"].load_package(s, engine=args.engine, entry=g),
                                    lambda api, steps=steps, result=result, c=c: _swallow(
                                        lambda: run_steps(api, steps, result), bool(c.get("expect_throw"))),
                                    args))  # fmt: skip
            _judge_inside(rows[-1])
    return rows


def _inside(load: Callable[[], Any], make_call: Callable[[Any], Callable[[], object]],
            args: argparse.Namespace) -> dict[str, Any]:
    """``inside_wasm`` over a fresh load (its own instance, every export callable clocked)."""
    from realm_wasmer.bench.corpus import _instance_of, inside_wasm

    if not args.inside:
        return {}
    probe_api = load()
    instance = _instance_of(probe_api)
    if instance is None:
        return {"inside_error": "the package does not expose one wasm instance"}
    call = make_call(probe_api)
    start = time.perf_counter()
    call()
    once = max(time.perf_counter() - start, 1e-6)
    repeats = max(3, min(2000, int(args.budget / 3 / once)))
    split = inside_wasm(type(instance.engine_instance), load, make_call, repeats)
    if split.get("inside_s") is None:
        return {"inside_error": split.get("not_measured", "not measured")}
    return {"inside_us": split["inside_s"] * 1e6, "inside_total_us": split["total_s"] * 1e6}


def _swallow(call: Callable[[], object], throws: bool) -> Callable[[], object]:
    if not throws:
        return call

    def run() -> object:
        try:
            call()
        except Exception:  # noqa: BLE001 - the case throws in Node too; the throw is what is timed
            return None
        raise AssertionError("the case was expected to throw")

    return run


def _row(pid: str, cid: str, api: Any, calls: dict[str, Callable[[], object]], args: argparse.Namespace,
         node: dict[str, Any], recorded: int | None) -> dict[str, Any]:  # fmt: skip
    exports, imports = _crossings(api, calls["new"])
    errors = {}
    for name in [n for n in calls if n != "new"]:
        try:  # the step decoder makes this tree's values (BigInt...): another tree may refuse them
            calls[name]()
        except Exception as exc:  # noqa: BLE001 - reported in the row, that tree is not timed
            errors[name] = f"{type(exc).__name__}: {exc}"[:200]
            del calls[name]
    py = _time(calls, args.budget, args.rounds)
    # the goals count Node's import calls (the corpus trace); the Python count differs where the
    # externref lowering adds intrinsic imports (rollup, css_inline)
    row: dict[str, Any] = {"call": f"{pid}/{cid}", "imports": recorded if recorded is not None else imports,
                           "imports_recorded": recorded, "imports_python": imports, "exports_python": exports,
                           "python_us": statistics.median(py["new"]) * 1e6}  # fmt: skip
    if exports is not None and imports is not None:
        row["floor_us"] = exports * args.floor["export_us"] + imports * args.floor["import_us"]
        row["over_floor"] = row["python_us"] / row["floor_us"] if row["floor_us"] else None
    if "base" in errors:
        row["base_error"] = errors["base"]
    if "base" in py:
        row["base_us"] = statistics.median(py["base"]) * 1e6
        row["new_over_base"] = statistics.median(n / b for n, b in zip(py["new"], py["base"], strict=True))
    if "median_s" not in node:
        row["node_error"] = str(node.get("error", "not timed"))[:300]
        return row
    n = node["median_s"] * 1e6
    row["node_us"] = n
    row["ratio"] = row["python_us"] / n
    k = row["imports"] or 0
    row["bound_us"] = n + US_PER_IMPORT * k
    row["goal_few_imports"] = (row["ratio"] <= RATIO_GOAL) if k < FEW_IMPORTS else None
    row["goal_per_import"] = row["python_us"] <= row["bound_us"]
    if "floor_us" in row:  # can any Python host meet the goals on this engine? (the floor, not our code)
        if k < FEW_IMPORTS:
            row["floor_allows_few_imports"] = row["floor_us"] <= RATIO_GOAL * n
        row["floor_allows_per_import"] = row["floor_us"] <= row["bound_us"]
    return row


def _judge_inside(row: dict[str, Any]) -> None:
    """Whether the guest's own compiled code already rules the few-imports goal out (only for a
    call that makes no import calls: otherwise our import handlers run inside the clock)."""
    judged = "inside_us" in row and "node_us" in row and row.get("imports_python") == 0
    if judged and (row["imports"] or 0) < FEW_IMPORTS:
        row["wasm_allows_few_imports"] = row["inside_us"] <= RATIO_GOAL * row["node_us"]
        row["over_inside"] = row["python_us"] / row["inside_us"] if row["inside_us"] else None


def _baseline(directory: Path) -> Any:
    """The baseline tree's package, imported as ``realm_wasmer_base`` (a renamed copy: the
    package imports itself relatively)."""
    holder = Path(tempfile.mkdtemp(prefix="realm-bench-base-"))
    shutil.copytree(directory / "realm_wasmer", holder / "realm_wasmer_base")
    sys.path.insert(0, str(holder))
    return importlib.import_module("realm_wasmer_base")


def _selected(args: argparse.Namespace, pid: str, cid: str) -> bool:
    return not args.only or pid in args.only or f"{pid}/{cid}" in args.only


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--engine", default="wasmer-cranelift")
    p.add_argument("--budget", type=float, default=0.3, help="seconds per call and side")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--only", type=lambda s: set(s.split(",")), default=set())
    p.add_argument("--corpus-cache", type=Path, default=Path("/tmp/realm-corpus-public"))
    p.add_argument("--new-cache", type=Path, default=Path("/tmp/realm-new-packages"))
    p.add_argument("--baseline", type=Path, help="a directory with another checkout's realm_wasmer/")
    p.add_argument("--no-inside", dest="inside", action="store_false",
                   help="do not measure the time inside the engine's export calls (a fresh load per call)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "package_calls.json")
    args = p.parse_args()
    node = shutil.which("node")
    if node is None:
        sys.exit("node is needed")
    import realm_wasmer as rw

    cc = _check_calls()
    trees = {"new": rw} if args.baseline is None else {"new": rw, "base": _baseline(args.baseline)}
    args.floor = engine_floor.measure(args.engine)
    print(f"engine floor on {args.engine}: export call {args.floor['export_us']:.2f} us, "
          f"import call {args.floor['import_us']:.2f} us", flush=True)
    rows = corpus_rows(args, trees, cc, node) + new_rows(args, trees, node)
    for r in rows:
        few_goal = "-" if r.get("goal_few_imports") is None else str(r["goal_few_imports"])
        print(f"{r['call']:48} {r['imports'] if r['imports'] is not None else '?':>6} "
              f"{r['python_us']:10.1f} {r.get('node_us', float('nan')):10.1f} {r.get('ratio', float('nan')):6.2f} "
              f"{few_goal:5} {r.get('goal_per_import')!s:5} {r.get('floor_us', float('nan')):8.1f} "
              f"{r.get('new_over_base', float('nan')):5.2f} {r.get('inside_us', float('nan')):9.1f}", flush=True)
    few = [r for r in rows if r.get("goal_few_imports") is not None]
    doc = {
        "generated_by": "benchmarks/bench_package_calls.py",
        "engine": args.engine,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "goals": {"few_imports": f"calls with < {FEW_IMPORTS} import calls within {RATIO_GOAL}x Node",
                  "per_import": f"every call within Node + {US_PER_IMPORT} us per import call"},  # fmt: skip
        "baseline": str(args.baseline) if args.baseline else None,
        "engine_floor": {**args.floor, "measured_by": "benchmarks/engine_floor.py (the bare engine, no realm_wasmer)"},
        "summary": {"calls": len(rows), "few_import_calls": len(few),
                    "few_imports_met": sum(bool(r["goal_few_imports"]) for r in few),
                    "per_import_met": sum(bool(r.get("goal_per_import")) for r in rows),
                    "median_ratio": statistics.median([r["ratio"] for r in rows if "ratio" in r] or [0.0]),
                    "floor_allows_few_imports": sum(bool(r.get("floor_allows_few_imports")) for r in few),
                    "floor_allows_per_import": sum(bool(r.get("floor_allows_per_import")) for r in rows),
                    "median_over_floor": statistics.median([r["over_floor"] for r in rows if r.get("over_floor")]
                                                           or [0.0]),
                    # few-import calls that make no import call and whose guest code alone (inside
                    # the engine) is within 1.5x Node, and of those, how many we meet
                    "wasm_allows_few_imports": sum(bool(r.get("wasm_allows_few_imports")) for r in few),
                    "wasm_judged": sum("wasm_allows_few_imports" in r for r in few),
                    "engine_allows_few_imports_met": sum(bool(r.get("goal_few_imports"))
                                                         for r in few if r.get("floor_allows_few_imports")
                                                         and r.get("wasm_allows_few_imports", True)),
                    "engine_allows_few_imports": sum(bool(r.get("floor_allows_few_imports"))
                                                     and r.get("wasm_allows_few_imports", True) for r in few)},
        # fmt: skip
        "budget_s": args.budget,
        "rounds": args.rounds,
        "rows": rows,
    }
    print(json.dumps(doc["summary"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
