"""The suite runner: every case on every engine, the JSON report and the issue's goals.

``run_suite(settings, engines)`` returns the report (a JSON-able dict):

* ``machine``, ``date``, ``settings``, ``engines``, ``wall_seconds``;
* ``cases``: one entry per case with ``results[engine]`` holding ``median_s``,
  ``min_s``, ``max_s`` (seconds per call), ``crossings``, ``ratio_to_floor``,
  ``ratio_to_node`` (each ratio with a ``*_range`` of min and max), or
  ``skipped``/``error`` with the reason;
* ``goals``: the table of issue 12 with the figure measured for each goal (:mod:`.goals`).
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
from .corpus import CORPUS_CASES
from .goals import goals, table
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
    if prepared.count_one is not None:
        exports, imports = prepared.count_one()
    elif prepared.counter is not None:
        before = prepared.counter()
        prepared.call()
        after = prepared.counter()
        exports, imports = after[0] - before[0], after[1] - before[1]
    else:
        return None
    return {"exports": exports, "imports": imports, "total": exports + imports,
            "source": "instance.calls / import_calls"}  # fmt: skip


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


def summary(report: dict[str, Any]) -> str:
    """The goals of issue 12 as the issue's table, with the measured figures."""
    machine = report["machine"]
    head = (f"realm-wasmer bench ({report['mode']}, {report['wall_seconds']} s) on {machine.get('cpu_model')} "
            f"x{machine.get('cores')}, goals on {report['goal_engine']}:")  # fmt: skip
    return head + "\n" + table(report)
