"""The goal table of issue 12, with the figures of one report.

Each row keeps the issue's columns (``what``, ``now_in_issue``, ``floor_or_peer``,
``goal``) and adds ``measured`` on the goal engine (``unit``, ``limit``,
``comparison``, ``met``: None when not measured), ``by_engine``, and
``measured_text``: the figure in the issue's own terms (e.g. "x a bare call" next to
the ratio to the floor). :func:`table` prints them as the issue's table does.
"""

from __future__ import annotations

from typing import Any, Optional

from .corpus import COMPUTE_BOUND

PARSE_TEXT = "corpus.message_parser.parse_text_large"


def case_result(report: dict[str, Any], case_id: str, engine: str) -> dict[str, Any]:
    """The result of ``case_id`` on ``engine`` (or its engine-independent result; {} if absent)."""
    for case in report["cases"]:
        if case["id"] == case_id:
            result: dict[str, Any] = case["results"].get(engine) or case["results"].get("all") or {}
            return result
    return {}


def _case(report: dict[str, Any], case_id: str) -> dict[str, Any]:
    return next((c for c in report["cases"] if c["id"] == case_id), {})


def _by_engine(report: dict[str, Any], case_id: str, key: str) -> dict[str, Optional[float]]:
    return {engine: case_result(report, case_id, engine).get(key) for engine in report["engines"]}


def _why_not(result: dict[str, Any]) -> str:
    reason = result.get("skipped") or result.get("error")
    return f"not measured: {reason}" if reason else "not measured"


def _row(what: str, now: str, peer: str, goal: str, unit: str, limit: float, at_most: bool,
         by_engine: dict[str, Optional[float]], engine: Optional[str], text: str, detail: str = "",
         also: Optional[bool] = None) -> dict[str, Any]:  # fmt: skip
    """One goal; ``also`` is a second condition of the goal (None: none, or not known)."""
    measured = by_engine.get(engine) if engine in by_engine else next(iter(by_engine.values()), None)
    met = None if measured is None else (measured <= limit if at_most else measured >= limit)
    if met is not None and also is False:
        met = False
    return {"what": what, "now_in_issue": now, "floor_or_peer": peer, "goal": goal, "engine": engine,
            "measured": measured, "unit": unit, "limit": limit, "comparison": "<=" if at_most else ">=",
            "met": met, "by_engine": by_engine, "measured_text": text, "detail": detail}  # fmt: skip


def _floor_row(report: dict[str, Any], engine: str, case_id: str, what: str, now: str, peer: str) -> dict[str, Any]:
    r = case_result(report, case_id, engine)
    floor = r.get("floor") or {}
    ratio = r.get("ratio_to_floor")
    crossings = (r.get("crossings") or {}).get("total")
    if ratio is None:
        text = _why_not(r)
    elif r.get("ratio_to_bare_call") is not None and floor.get("ratio_to_bare_call") is not None:
        text = (f"{r['ratio_to_bare_call']:.1f}x (floor {floor['ratio_to_bare_call']:.1f}x): {ratio:.2f}x the floor, "
                f"{crossings} crossings")  # fmt: skip
    else:
        text = f"{ratio:.2f}x the floor, {crossings} crossings"
    return _row(what, now, peer, "<= 1.5x the floor", "x the floor", 1.5, True,
                _by_engine(report, case_id, "ratio_to_floor"), engine, text)  # fmt: skip


def _crossing_row(report: dict[str, Any], engine: str) -> dict[str, Any]:
    r = case_result(report, PARSE_TEXT, engine)
    node = _case(report, PARSE_TEXT).get("node") or {}
    imports = (_case(report, PARSE_TEXT).get("recorded_trace") or {}).get("imports")
    if r.get("us_per_crossing") is None:
        text = _why_not(r)
        if node.get("us_per_crossing") is not None:
            text += f" (Node {node['us_per_crossing']:.2f} us per crossing)"
    else:
        parts = [f"{r['us_per_crossing']:.2f} us per crossing"]
        if r.get("ratio_to_node") is not None:
            parts.append(f"{r['ratio_to_node']:.1f}x Node")
        if node.get("us_per_crossing") is not None:
            parts.append(f"Node {node['us_per_crossing']:.2f} us")
        text = ", ".join(parts)
    what = f"message_parser `parse_text_large` ({imports:,} guest->host crossings) vs Node" if imports else \
        "message_parser `parse_text_large` vs Node"  # fmt: skip
    by_engine = _by_engine(report, PARSE_TEXT, "us_per_crossing")
    return _row(what, "14.9x (~4.5 us per crossing)", "Node ~0.3 us per crossing", "<= 2 us per crossing on average",
                "us per crossing", 2.0, True, by_engine, engine, text)  # fmt: skip


def _probe_row(report: dict[str, Any], engine: str) -> dict[str, Any]:
    whole = case_result(report, "probe_whole", engine)
    rate = whole.get("trials_per_second")
    hashes = {e: case_result(report, "probe_whole", e).get("findings_sha256") for e in report["engines"]}
    known = {e: h for e, h in hashes.items() if isinstance(h, str)}
    unstable = [e for e, h in hashes.items() if isinstance(h, list)]
    same: Optional[bool] = None
    if unstable:
        same = False
        findings = f"findings differ between repeats on {', '.join(unstable)}"
    elif len(set(known.values())) > 1:
        same = False
        findings = "findings differ between engines: " + ", ".join(f"{e} {h[:12]}" for e, h in known.items())
    elif known:
        same = True if len(known) > 1 else None
        findings = (f"findings identical on {len(known)} engines" if len(known) > 1 else "findings") + \
            f" (sha256 {next(iter(known.values()))[:12]})"  # fmt: skip
    else:
        findings = "findings not recorded"
    if rate is None:
        text = _why_not(whole)
    else:
        low, high = whole.get("trials_per_second_range") or (rate, rate)
        text = f"{rate:.0f} median ({low:.0f}-{high:.0f}), {findings}"
    clean = case_result(report, "probe_trial", engine).get("trials_per_second")
    trap = case_result(report, "probe_trap_trial", engine).get("trials_per_second")
    detail = ", ".join(f"{name} trials alone {r:.0f}/s" for name, r in (("clean", clean), ("trapping", trap)) if r)
    return _row(f"layout probe trials/s on {engine} (whole probe, as the CLI runs it)", "122 median (64-195)",
                "799-1148 measured with Hypothesis's explain phase off", ">= 1000, findings unchanged", "trials/s",
                1000.0, False, _by_engine(report, "probe_whole", "trials_per_second"), engine, text, detail,
                also=same)  # fmt: skip


def _import_row(report: dict[str, Any]) -> dict[str, Any]:
    imp = case_result(report, "import_time", "all")
    ms = imp.get("median_s")
    numpy_ms = (imp.get("numpy") or {}).get("median_s")
    wall = imp.get("wall_import_minus_pass_s")
    if ms is None:
        text = _why_not(imp)
    else:
        text = f"{ms * 1e3:.0f} ms (-X importtime, cumulative)"
        if wall is not None:
            text += f"; {wall * 1e3:.0f} ms of wall time over `python -c pass`"
        if numpy_ms:
            text += f"; numpy {numpy_ms * 1e3:.0f} ms here"
    return _row("`import realm_wasmer`", "360 ms (bindings alone 158 ms)", "numpy 93 ms", "<= 150 ms", "ms", 150.0,
                True, {"all": ms * 1e3 if ms is not None else None}, "all", text)  # fmt: skip


def _start_row(report: dict[str, Any], engine: str) -> dict[str, Any]:
    seconds = _by_engine(report, "cached_start", "median_s")
    starts = {e: (v * 1e3 if v is not None else None) for e, v in seconds.items()}
    r = case_result(report, "cached_start", engine)
    measured = starts.get(engine)
    text = _why_not(r) if measured is None else \
        f"{measured:.1f} ms ({r['min_s'] * 1e3:.1f}-{r['max_s'] * 1e3:.1f}), after import"  # fmt: skip
    return _row("cached load + instantiate + construct (fixture)", "12 ms + 29 ms wasmer import", "",
                "< 15 ms after import (keep)", "ms", 15.0, True, starts, engine, text)  # fmt: skip


def _compute_row(report: dict[str, Any], engine: str) -> dict[str, Any]:
    worst: dict[str, Optional[float]] = {}
    parts: list[str] = []
    for e in report["engines"]:
        ratios = [case_result(report, f"corpus.{c}", e).get("ratio_to_node") for c in COMPUTE_BOUND]
        known = [x for x in ratios if x is not None]
        worst[e] = max(known) if known else None
        if e != engine:
            continue
        for c, x in zip(COMPUTE_BOUND, ratios, strict=True):
            r = case_result(report, f"corpus.{c}", e)
            if x is None:
                parts.append(f"{c} {_why_not(r)}")
                continue
            split = r.get("inside_wasm") or {}
            inside = split.get("inside_ratio_to_node")
            wasm = (f" (inside wasm alone {inside:.2f}x Node's whole call)" if inside is not None
                    else " (inside wasm not measured)" if split else "")  # fmt: skip
            parts.append(f"{c} {x:.2f}x{wasm}")
    measured = worst.get(engine)
    text = "not measured" if measured is None else f"worst {measured:.2f}x Node"
    return _row("compute-bound corpus calls vs Node", "resvg render 0.61x, bytes_input 1.51x, photon decode 1.77x",
                "", "<= 1.3x", "x Node", 1.3, True, worst, engine, text, "; ".join(parts))  # fmt: skip


def goals(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's goal table with the figures of this report (``measured`` on the goal engine)."""
    engine = report.get("goal_engine") or ""
    return [
        _floor_row(report, engine, "str_inout",
                   "bound `rt_string` (3 crossings) / one bare wasmer `exports.rt_i32` call",
                   "21.6x", "7.7x: the same protocol hand-written on bare wasmer"),
        _floor_row(report, engine, "construct_free", "`m.Realm().free()` (Pattern 3, 2+1 crossings) / bare call",
                   "43.7x", "7.1x hand-written"),
        _crossing_row(report, engine),
        _probe_row(report, engine),
        _import_row(report),
        _start_row(report, engine),
        _compute_row(report, engine),
    ]  # fmt: skip


def table(report: dict[str, Any]) -> str:
    """The goals as the issue's table (markdown), with the measured figure and whether it is met."""
    lines = ["| what | now (issue 12) | floor / peer | goal | measured here | |", "|---|---|---|---|---|---|"]
    for goal in report["goals"]:
        mark = {True: "met", False: "NOT met", None: "not measured"}[goal["met"]]
        cells = [goal["what"], goal["now_in_issue"], goal["floor_or_peer"], goal["goal"], goal["measured_text"], mark]
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    details = [f"  {goal['what']}: {goal['detail']}" for goal in report["goals"] if goal["detail"]]
    return "\n".join(lines + details)
