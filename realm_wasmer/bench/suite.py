"""The suite runner: every case on every engine, the JSON report and the issue's goals.

``run_suite(settings, engines)`` returns the report (a JSON-able dict):

* ``machine``, ``date``, ``settings``, ``engines``, ``wall_seconds``;
* ``cases``: one entry per case with ``results[engine]`` holding ``median_s``,
  ``min_s``, ``max_s`` (seconds per call), ``crossings``, ``ratio_to_floor``,
  ``ratio_to_node`` (each ratio with a ``*_range`` of min and max), or
  ``skipped``/``error`` with the reason;
* ``goals``: the table of issue 12 with the figure measured for each goal.
"""

from __future__ import annotations

import datetime as _dt
import os
import sys
import time
import traceback
from typing import Any, Callable, Optional, Sequence, TextIO

from ..errors import BenchmarkSkipped as Skip
from .cases import FIXTURE_CASES, TAIL_CASES
from .corpus import COMPUTE_BOUND, CORPUS_CASES
from .machine import machine_info
from .model import Case, Context, Prepared, Settings
from .timing import interleaved, paired_ratio, repeated

SCHEMA = "realm-wasmer-bench/1"
#: The engine the goals are stated for (the library's default engine).
GOAL_ENGINE = "wasmer-cranelift"
#: Keys every engine result carries (None where they do not apply).
RESULT_KEYS = ("median_s", "min_s", "max_s", "crossings", "ratio_to_floor", "ratio_to_node")


def all_cases() -> list[Case]:
    return [*FIXTURE_CASES, *CORPUS_CASES, *TAIL_CASES]


def select(cases: Sequence[Case], only: Optional[frozenset[str]]) -> list[Case]:
    """The cases named in ``only`` (ids, or a group name: fixture, probe, corpus...)."""
    if not only:
        return list(cases)
    return [c for c in cases if c.id in only or c.group in only]


def _crossings(prepared: Prepared) -> Optional[dict[str, Any]]:
    if prepared.counter is None:
        return None
    exports, imports = prepared.counter()
    prepared.call()
    after_exports, after_imports = prepared.counter()
    made = {"exports": after_exports - exports, "imports": after_imports - imports}
    return {**made, "total": made["exports"] + made["imports"], "source": "instance.calls / import_calls"}


def measure(settings: Settings, prepared: Prepared) -> dict[str, Any]:
    """Time a prepared case (with its floor and the bare call, interleaved)."""
    if prepared.slow:
        result = repeated(prepared.call, prepared.repeats).to_json()
    else:
        funcs: list[Callable[[], object]] = [prepared.call]
        if prepared.floor is not None:
            funcs.append(prepared.floor)
        if prepared.bare is not None:
            funcs.append(prepared.bare)
        samples = interleaved(funcs, budget=settings.call_budget, rounds=settings.rounds, warmup=settings.warmup)
        case = samples[0]
        result = case.to_json()
        if prepared.floor is not None:
            floor = samples[1]
            ratio = paired_ratio(case, floor)
            result["floor"] = {**floor.to_json(), "crossings": prepared.floor_crossings}
            result["ratio_to_floor"] = ratio.median
            result["ratio_to_floor_range"] = ratio.range()
        if prepared.bare is not None:
            bare = samples[-1]
            ratio = paired_ratio(case, bare)
            result["bare_call"] = {k: v for k, v in bare.to_json().items() if k != "per_call_s"}
            result["ratio_to_bare_call"] = ratio.median
            result["ratio_to_bare_call_range"] = ratio.range()
            if prepared.floor is not None:
                floor_ratio = paired_ratio(samples[1], bare)
                result["floor"]["ratio_to_bare_call"] = floor_ratio.median
                result["floor"]["ratio_to_bare_call_range"] = floor_ratio.range()
        elif prepared.floor is not None and prepared.floor_crossings == 1:
            # the floor is the bare call itself
            result["ratio_to_bare_call"] = result["ratio_to_floor"]
            result["ratio_to_bare_call_range"] = result["ratio_to_floor_range"]
    result["crossings"] = _crossings(prepared)
    if prepared.notes:
        result["notes"] = prepared.notes
    if prepared.finish is not None:
        prepared.finish(result)
    return result


def run_case(ctx: Context, case: Case, engine: str) -> dict[str, Any]:
    """One case on one engine: its figures, or ``{"skipped": why}`` / ``{"error": what}``."""
    started = time.perf_counter()
    result = _run_case(ctx, case, engine)
    result["wall_s"] = round(time.perf_counter() - started, 3)  # setup included: where a run's time goes
    return result


def _run_case(ctx: Context, case: Case, engine: str) -> dict[str, Any]:
    try:
        if case.run is not None:
            result = case.run(ctx, engine)
        else:
            if case.setup is None:
                raise Skip("the case has neither a setup nor a run")
            prepared = case.setup(ctx, engine)
            try:
                result = measure(ctx.settings, prepared)
            finally:
                if prepared.close is not None:
                    try:
                        prepared.close()
                    except Exception:  # noqa: BLE001, S110 - cleanup of a measured object
                        pass
    except Skip as exc:
        return {"skipped": str(exc)}
    except Exception as exc:  # noqa: BLE001 - a failing case is reported, the suite goes on
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" at {os.path.basename(last[0].filename)}:{last[0].lineno}" if last else ""
        return {"error": f"{type(exc).__name__}: {exc}{where}"}
    for key in RESULT_KEYS:
        result.setdefault(key, None)
    return result


def _progress(total: int, enabled: Optional[bool]) -> Any:
    from tqdm import tqdm  # type: ignore[import-untyped]

    # enabled None: tqdm decides (a bar only when stderr is a terminal)
    return tqdm(total=total, desc="bench", unit="case", file=sys.stderr, disable=None if enabled is None
                else not enabled, leave=False, dynamic_ncols=True)  # fmt: skip


def run_suite(
    settings: Settings, engines: Sequence[str], *, progress: Optional[bool] = None, log: Optional[TextIO] = None
) -> dict[str, Any]:
    """Run the selected cases on ``engines``; return the report."""
    started = time.perf_counter()
    cases = select(all_cases(), settings.only)
    ctx = Context(settings, list(engines))
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "mode": "quick" if settings.quick else "full",
        "machine": machine_info(engines),
        "settings": settings.to_json(),
        "engines": list(engines),
        "goal_engine": GOAL_ENGINE if GOAL_ENGINE in engines else (engines[0] if engines else None),
        "cases": [],
    }
    units = sum(len(engines) if c.per_engine else 1 for c in cases)
    bar = _progress(units, progress)
    try:
        for case in cases:
            entry = case.to_json()
            if case.extra is not None:
                bar.set_postfix_str(f"{case.id} node", refresh=True)
                try:
                    entry.update(case.extra(ctx))
                except Exception as exc:  # noqa: BLE001
                    entry["extra_error"] = f"{type(exc).__name__}: {exc}"
            entry["results"] = {}
            for engine in engines if case.per_engine else ["all"]:
                bar.set_postfix_str(f"{case.id} {engine}", refresh=True)
                result = run_case(ctx, case, engine)
                entry["results"][engine] = result
                if log is not None:
                    print(f"  {case.id:<36} {engine:<18} {_short(result)}", file=log, flush=True)
                bar.update()
            report["cases"].append(entry)
    finally:
        bar.close()
        ctx.close()
    try:
        report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    report["goals"] = goals(report)
    report["wall_seconds"] = round(time.perf_counter() - started, 1)
    return report


# -- reading a report -------------------------------------------------------------
def case_result(report: dict[str, Any], case_id: str, engine: str) -> dict[str, Any]:
    for case in report["cases"]:
        if case["id"] == case_id:
            result: dict[str, Any] = case["results"].get(engine) or case["results"].get("all") or {}
            return result
    return {}


def _short(result: dict[str, Any]) -> str:
    if "skipped" in result:
        return f"skipped: {result['skipped']}"
    if "error" in result:
        return f"error: {result['error']}"
    parts = [f"{_time(result['median_s'])} ({_time(result['min_s'])}..{_time(result['max_s'])})"]
    if result.get("ratio_to_floor") is not None:
        parts.append(f"x{result['ratio_to_floor']:.2f} floor")
    if result.get("ratio_to_bare_call") is not None:
        parts.append(f"x{result['ratio_to_bare_call']:.1f} bare")
    if result.get("ratio_to_node") is not None:
        parts.append(f"x{result['ratio_to_node']:.2f} node")
    if result.get("trials_per_second") is not None:
        parts.append(f"{result['trials_per_second']:.0f} trials/s")
    if result.get("us_per_crossing") is not None:
        parts.append(f"{result['us_per_crossing']:.2f} us/crossing")
    crossings = result.get("crossings")
    if crossings:
        parts.append(f"{crossings['total']} crossings")
    return ", ".join(parts)


def _time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.2f} us"


def _by_engine(report: dict[str, Any], case_id: str, key: str) -> dict[str, Optional[float]]:
    return {engine: case_result(report, case_id, engine).get(key) for engine in report["engines"]}


def _goal(what: str, now: str, peer: str, goal: str, unit: str, limit: float, at_most: bool,
          by_engine: dict[str, Optional[float]], engine: Optional[str], detail: str = ""
          ) -> dict[str, Any]:  # fmt: skip
    measured = by_engine.get(engine) if engine in by_engine else next(iter(by_engine.values()), None)
    met = None if measured is None else (measured <= limit if at_most else measured >= limit)
    return {"what": what, "now_in_issue": now, "floor_or_peer": peer, "goal": goal, "engine": engine,
            "measured": measured, "unit": unit, "limit": limit, "comparison": "<=" if at_most else ">=",
            "met": met, "by_engine": by_engine, "detail": detail}  # fmt: skip


def goals(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's goal table with the figures of this report (``measured`` on the goal engine)."""
    engine = report.get("goal_engine")
    rows: list[dict[str, Any]] = []

    def floor_detail(case_id: str) -> str:
        r = case_result(report, case_id, engine or "")
        floor = r.get("floor") or {}
        if r.get("ratio_to_bare_call") is None or floor.get("ratio_to_bare_call") is None:
            return ""
        return (f"{r['ratio_to_bare_call']:.1f}x a bare call; the hand-written floor "
                f"{floor['ratio_to_bare_call']:.1f}x; {(r.get('crossings') or {}).get('total')} crossings")  # fmt: skip

    rows.append(_goal("bound rt_string / the same protocol hand-written on the bare engine", "21.6x a bare call",
                      "7.7x a bare call", "<= 1.5x the floor", "ratio to floor", 1.5, True,
                      _by_engine(report, "str_inout", "ratio_to_floor"), engine, floor_detail("str_inout")))
    rows.append(_goal("m.Realm().free() / hand-written on the bare engine", "43.7x a bare call", "7.1x a bare call",
                      "<= 1.5x the floor", "ratio to floor", 1.5, True,
                      _by_engine(report, "construct_free", "ratio_to_floor"), engine, floor_detail("construct_free")))
    pt = "corpus.message_parser.parse_text_large"
    r = case_result(report, pt, engine or "")
    node = next((c.get("node") or {} for c in report["cases"] if c["id"] == pt), {})
    notes = []
    if r.get("ratio_to_node") is not None:
        notes.append(f"{r['ratio_to_node']:.1f}x Node")
    if node.get("us_per_crossing") is not None:
        notes.append(f"Node {node['us_per_crossing']:.2f} us per crossing")
    if r.get("skipped") or r.get("error"):
        notes.append(f"Python side: {r.get('skipped') or r.get('error')}")
    detail = "; ".join(notes)
    rows.append(_goal("message_parser parse_text_large (25,202 guest->host crossings)", "~4.5 us per crossing "
                      "(14.9x Node)", "Node ~0.3 us per crossing", "<= 2 us per crossing on average",
                      "us per crossing", 2.0, True, _by_engine(report, pt, "us_per_crossing"), engine, detail))
    clean = case_result(report, "probe_trial", engine or "").get("trials_per_second")
    trap = case_result(report, "probe_trap_trial", engine or "").get("trials_per_second")
    detail = ", ".join(f"{name} trials {rate:.0f}/s" for name, rate in (("clean", clean), ("trapping", trap)) if rate)
    rows.append(_goal("layout probe trials/s (whole probe, as the CLI runs it)", "122 median (64-195)",
                      "799-1148 with Hypothesis's explain phase off", ">= 1000, findings unchanged", "trials/s",
                      1000.0, False, _by_engine(report, "probe_whole", "trials_per_second"), engine, detail))
    imp = case_result(report, "import_time", "all")
    ms = imp.get("median_s")
    numpy_ms = (imp.get("numpy") or {}).get("median_s")
    rows.append(_goal("import realm_wasmer", "360 ms", "numpy 93 ms", "<= 150 ms", "ms", 150.0, True,
                      {"all": ms * 1e3 if ms is not None else None}, "all",
                      f"numpy {numpy_ms * 1e3:.0f} ms here" if numpy_ms else ""))  # fmt: skip
    starts = _by_engine(report, "cached_start", "median_s")
    starts = {e: (v * 1e3 if v is not None else None) for e, v in starts.items()}
    rows.append(_goal("cached load + instantiate + construct (fixture)", "12 ms (+29 ms wasmer import)", "",
                      "< 15 ms after import (keep)", "ms", 15.0, True, starts, engine))
    compute: dict[str, Optional[float]] = {}
    parts = []
    for e in report["engines"]:
        ratios = [case_result(report, f"corpus.{c}", e).get("ratio_to_node") for c in COMPUTE_BOUND]
        known = [x for x in ratios if x is not None]
        compute[e] = max(known) if known else None
        if e == engine and known:
            for c, x in zip(COMPUTE_BOUND, ratios, strict=True):
                if x is None:
                    continue
                split = case_result(report, f"corpus.{c}", e).get("inside_wasm") or {}
                inside = split.get("inside_ratio_to_node")
                wasm = (f" (inside wasm alone {inside:.2f}x Node's whole call)" if inside is not None
                        else " (inside wasm not measured)" if split else "")  # fmt: skip
                parts.append(f"{c} {x:.2f}x{wasm}")
    rows.append(_goal("compute-bound corpus calls vs Node (worst of them)", "resvg render 0.61x, bytes_input 1.51x, "
                      "photon decode 1.77x", "Node", "<= 1.3x", "ratio to Node", 1.3, True, compute, engine,
                      "; ".join(parts)))  # fmt: skip
    return rows


def summary(report: dict[str, Any]) -> str:
    """The goals as text lines."""
    machine = report["machine"]
    lines = [f"realm-wasmer bench ({report['mode']}, {report['wall_seconds']} s) on {machine.get('cpu_model')} "
             f"x{machine.get('cores')}, goals on {report['goal_engine']}:"]  # fmt: skip
    for goal in report["goals"]:
        measured = goal["measured"]
        figure = "-" if measured is None else f"{measured:.3g} {goal['unit']}"
        mark = {True: "met", False: "NOT met", None: "not measured"}[goal["met"]]
        lines.append(f"  {goal['what']}: {figure} (goal {goal['goal']}; {mark})" +
                     (f" - {goal['detail']}" if goal["detail"] else ""))  # fmt: skip
    return "\n".join(lines)
