"""PNG plots of a report (matplotlib, imported lazily with the Agg backend).

Three panels: the fixture cases as a ratio to their floor (bars per engine, whiskers
from the min to the max of the per-round ratios, the goal of 1.5x dashed); the
corpus calls as a ratio to Node (the compute-bound goal of 1.3x dashed); cold
compile and cached start in milliseconds per engine (log scale).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence, Union

COLOURS = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860"]


def _rows(report: dict[str, Any], group: Sequence[str], key: str) -> list[tuple[str, dict[str, Any]]]:
    rows = []
    for case in report["cases"]:
        if case["group"] in group and any(r.get(key) is not None for r in case["results"].values()):
            rows.append((case["title"], case["results"]))
    return rows


def _bars(ax: Any, rows: list[tuple[str, dict[str, Any]]], engines: Sequence[str], key: str, scale: float = 1.0,
          ) -> None:  # fmt: skip
    width = 0.8 / max(1, len(engines))
    for index, engine in enumerate(engines):
        xs, heights, low, high = [], [], [], []
        for position, (_, results) in enumerate(rows):
            result = results.get(engine) or {}
            value = result.get(key)
            if value is None:
                continue
            spread = result.get(f"{key}_range") or ([result["min_s"], result["max_s"]] if key == "median_s" else None)
            xs.append(position - 0.4 + width * (index + 0.5))
            heights.append(value * scale)
            low.append(max(0.0, value - spread[0]) * scale if spread else 0.0)
            high.append(max(0.0, spread[1] - value) * scale if spread else 0.0)
        if xs:
            ax.bar(xs, heights, width, yerr=[low, high], capsize=2, label=engine,
                   color=COLOURS[index % len(COLOURS)], error_kw={"elinewidth": 0.8})  # fmt: skip
            for x, h in zip(xs, heights, strict=True):
                ax.annotate(f"{h:.3g}", (x, h), ha="center", va="bottom", fontsize=7, xytext=(0, 1),
                            textcoords="offset points")  # fmt: skip
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([title for title, _ in rows], rotation=20, ha="right", fontsize=8)


def _ratio_bars(ax: Any, rows: list[tuple[str, dict[str, Any]]], engines: Sequence[str], key: str, goal: float,
                label: str, log: bool = False) -> None:  # fmt: skip
    """Bars of a ratio, with 1x drawn across and the goal dashed."""
    _bars(ax, rows, engines, key)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.axhline(goal, color="grey", linestyle="--", linewidth=0.8, label=label)
    if log:
        ax.set_yscale("log")
    ax.legend(fontsize=7, ncol=3)


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=9, wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def plot(report: dict[str, Any], path: Union[str, Path]) -> Path:
    """Write the report's plot as a PNG to ``path``; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    engines = [e for e in report["engines"]]
    fig, axes = plt.subplots(3, 1, figsize=(11, 13), gridspec_kw={"height_ratios": [3, 3, 2]})
    machine = report["machine"]
    fig.suptitle(
        f"realm-wasmer bench ({report['mode']}) {report['date']}\n{machine.get('cpu_model')} x{machine.get('cores')}, "
        f"Python {machine.get('python')}, Node {machine.get('node_version')}",
        fontsize=10,
    )

    ax = axes[0]
    rows = _rows(report, ["fixture"], "ratio_to_floor")
    if rows:
        _ratio_bars(ax, rows, engines, "ratio_to_floor", 1.5, "goal 1.5x")
    else:
        _empty(ax, "no fixture case measured")
    ax.set_ylabel("time / floor (hand-written on the bare engine)", fontsize=8)
    ax.set_title("Fixture calls: ratio to the floor (median; whiskers: min..max of per-round ratios)", fontsize=9)

    ax = axes[1]
    rows = _rows(report, ["corpus"], "ratio_to_node")
    if rows:
        _ratio_bars(ax, rows, engines, "ratio_to_node", 1.3, "goal 1.3x (compute-bound)", log=True)
        ax.set_ylabel("Python time / Node time", fontsize=8)
        unmeasured = [e for e in engines if all((results.get(e) or {}).get("ratio_to_node") is None
                                                for _, results in rows)]  # fmt: skip
        missing = f"\n(not measured on {', '.join(unmeasured)}: {_mode_note(report)})" if unmeasured else ""
        ax.set_title("Corpus calls through load_package: ratio to Node running the package's glue" + missing,
                     fontsize=9)  # fmt: skip
    else:
        reasons = _skip_reasons(report, "corpus") or "not measured"
        node_rows = [(c["title"], {"Node": c["node"]}) for c in report["cases"]
                     if c["group"] == "corpus" and (c.get("node") or {}).get("median_s") is not None]  # fmt: skip
        if node_rows:
            _bars(ax, node_rows, ["Node"], "median_s", scale=1e6)
            ax.set_yscale("log")
            ax.set_ylabel("Node microseconds per call", fontsize=8)
            ax.set_title(f"Corpus calls: Node per-call time only (Python side: {reasons})", fontsize=9)
        else:
            _empty(ax, "corpus calls vs Node: " + reasons)

    ax = axes[2]
    rows = _rows(report, ["compile", "start"], "median_s")
    if rows:
        _bars(ax, rows, engines, "median_s", scale=1e3)
        ax.set_yscale("log")
        low = min(r["min_s"] for _, results in rows for r in results.values() if r.get("min_s")) * 1e3
        ax.set_ylim(bottom=low / 3)
        ax.legend(fontsize=7, ncol=4)
    else:
        _empty(ax, "no compile or start case measured")
    ax.set_ylabel("milliseconds", fontsize=8)
    ax.set_title("Cold compile (cache disabled) and cached start (load + instantiate + construct)", fontsize=9)

    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _mode_note(report: dict[str, Any]) -> str:
    skipped = (report.get("settings") or {}).get("corpus_skipped_engines") or {}
    return "skipped by --quick" if skipped else "see the JSON's skipped / error"


def _skip_reasons(report: dict[str, Any], group: str) -> Optional[str]:
    reasons = sorted({str(r.get("skipped") or r.get("error")) for c in report["cases"] if c["group"] == group
                      for r in c["results"].values() if r.get("skipped") or r.get("error")})  # fmt: skip
    return "; ".join(reasons) if reasons else None
