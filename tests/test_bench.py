"""Smoke test of ``realm-wasmer bench --quick``: it runs and writes valid JSON and a PNG.

A benchmark is not a test: nothing here looks at a time. The run is kept short
(one engine, budgets scaled down, three rounds); cases that cannot run here
(the corpus without ``load_package`` or without the fetched packages, Node
absent) must be reported as skipped, not crash the run.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from realm_wasmer import engines
from realm_wasmer.bench.model import Settings
from realm_wasmer.bench.suite import RESULT_KEYS, all_cases, select
from realm_wasmer.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MACHINE_KEYS = {"platform", "cpu_model", "cores", "python", "engine_versions", "node_version"}
GOAL_KEYS = {"what", "now_in_issue", "floor_or_peer", "goal", "engine", "measured", "unit", "met", "by_engine",
             "measured_text"}


def _numbers_are_finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_numbers_are_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_numbers_are_finite(v) for v in value)
    return True


def test_bench_quick_writes_json_and_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib", reason="the plot needs the bench extra: pip install -e '.[bench]'")
    engine = engines.DEFAULT if engines.DEFAULT in engines.available_names() else engines.available_names()[0]
    out, png = tmp_path / "bench.json", tmp_path / "bench.png"
    code = main(["bench", "--quick", "--engines", engine, "--scale", "0.1", "--rounds", "3", "--no-progress",
                 "--json", str(out), "--plot", str(png)])  # fmt: skip
    assert code == 0
    report = json.loads(out.read_text())
    assert _numbers_are_finite(report)
    assert {"schema", "date", "mode", "machine", "settings", "engines", "cases", "goals"} <= set(report)
    assert report["mode"] == "quick" and report["engines"] == [engine]
    assert MACHINE_KEYS <= set(report["machine"])
    ids = [case["id"] for case in report["cases"]]
    assert ids == [case.id for case in all_cases()]
    for case in report["cases"]:
        assert {"id", "title", "group", "description", "results"} <= set(case)
        assert set(case["results"]) == ({engine} if case["id"] != "import_time" else {"all"})
        for result in case["results"].values():
            if "skipped" in result:
                continue
            if case["group"] == "corpus" and "error" in result:
                continue  # load_package's own state, not the suite's
            assert "error" not in result, (case["id"], result)
            assert set(RESULT_KEYS) <= set(result)
            assert result["min_s"] <= result["median_s"] <= result["max_s"]
    fixture = {c["id"]: c["results"][engine] for c in report["cases"] if c["group"] == "fixture"}
    assert all(r["ratio_to_floor"] is not None and r["crossings"]["total"] >= 1 for r in fixture.values())
    counted = [c["results"][engine]["crossings"] for c in report["cases"] if c["id"] in
               ("probe_trial", "probe_trap_trial", "cached_start")]  # fmt: skip
    assert len(counted) == 3 and all(x["exports"] >= 1 for x in counted)
    whole = next(c["results"][engine] for c in report["cases"] if c["id"] == "probe_whole")
    assert isinstance(whole["findings_sha256"], str) and len(whole["findings_sha256"]) == 64
    assert len(report["goals"]) == 7 and all(GOAL_KEYS <= set(goal) for goal in report["goals"])
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    out = capsys.readouterr().out
    assert "goals on" in out and "| what | now (issue 12) |" in out


def test_cases_are_selected_by_id_or_group() -> None:
    cases = all_cases()
    assert len({c.id for c in cases}) == len(cases)
    assert [c.id for c in select(cases, frozenset({"str_inout", "compile"}))] == ["str_inout", "cold_compile"]
    assert all(c.group == "corpus" for c in select(cases, frozenset({"corpus"})))
    quick = Settings.for_run(quick=True, scale=0.5)
    assert quick.quick and quick.call_budget == pytest.approx(0.2) and quick.compile_module == "fixture"


def test_corpus_cases_call_load_package_when_it_exists(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With a stand-in ``load_package``, a corpus case times the translated call and reports
    its crossings (from the recorded trace) and us per crossing; Node's absence is a skip."""
    import realm_wasmer
    from realm_wasmer.bench.suite import run_suite

    corpus = Settings().corpus_dir
    if not (corpus / "packages.json").is_file():
        pytest.skip(f"the corpus is not at {corpus}")
    packages = json.loads((corpus / "packages.json").read_text())["packages"]
    entry = next(p for p in packages if p["id"] == "message_parser")
    wasm = tmp_path / "pkgs" / "message_parser" / entry["wasm_path"]
    wasm.parent.mkdir(parents=True)
    wasm.write_bytes(b"\0asm\1\0\0\0")
    seen: list[tuple[str, str, str]] = []

    class Package:
        def parse_text(self, text: str, markdown: bool) -> list[int]:
            return [len(text), int(markdown)]

    def load_package(source: str, engine: str, entry: str) -> Package:
        seen.append((source, engine, entry))
        return Package()

    monkeypatch.setattr(realm_wasmer, "load_package", load_package, raising=False)
    engine = engines.available_names()[0]
    settings = Settings.for_run(quick=True, scale=0.02, rounds=2, corpus_cache=tmp_path,
                                node_harness=tmp_path / "absent.mjs",
                                only=frozenset({"corpus.message_parser.parse_text_large"}))  # fmt: skip
    report = run_suite(settings, [engine], progress=False)
    (case,) = report["cases"]
    result = case["results"][engine]
    assert seen == [(str(tmp_path / "pkgs" / "message_parser" / "package"), engine, "message_parser_wasm.js")]
    assert set(RESULT_KEYS) <= set(result) and "skipped" not in result and "error" not in result
    assert result["crossings"]["imports"] == case["recorded_trace"]["imports"] > 25000
    assert result["us_per_crossing"] > 0 and result["ratio_to_node"] is None
    assert case["node"]["skipped"].startswith("Node harness missing")


def test_export_clock_times_every_export_call_of_an_instance_made_inside() -> None:
    """``inside_wasm``'s clock wraps the callables the engine hands out while it is on, so
    the checked call, a bound caller and a guarded region made afterwards are all timed
    (no cached caller escapes it), once each; the engine class is restored after."""
    from realm_wasmer.bench.corpus import ExportClock, clocked_exports
    from realm_wasmer.bench.model import FIXTURE
    from realm_wasmer.demo import EchoModel
    from realm_wasmer.instance import load

    engine = engines.available_names()[0]
    before = load(FIXTURE, engine=engine, imports=EchoModel().imports())
    engine_class = type(before.engine_instance)
    saved = dict(vars(engine_class))
    clock = ExportClock()
    with clocked_exports(engine_class, clock):
        instance = load(FIXTURE, engine=engine, imports=EchoModel().imports())
        made = instance.calls
        assert instance.call("rt_i32", 41) == 42
        assert instance.context.calls.caller("rt_i32")(7) == 8
        handle = instance.construct("Realm")
        handle.close()
        made = instance.calls - made
    assert made >= 4 and clock.calls == made and clock.spent > 0
    assert dict(vars(engine_class)) == saved
    assert before.call("rt_i32", 1) == 2 and clock.calls == made  # handed out outside: not timed


def test_quick_skips_corpus_calls_on_llvm_and_says_why(tmp_path: Path) -> None:
    """``--quick`` does not compile the corpus with LLVM (a minute cold): those results are
    ``skipped`` with the reason, and the settings list it; the full suite skips nothing."""
    from realm_wasmer.bench.suite import run_suite

    assert Settings.for_run(quick=False).corpus_skip == ()
    settings = Settings.for_run(quick=True, node_harness=tmp_path / "absent.mjs",
                                only=frozenset({"corpus.message_parser.parse_text_markdown"}))  # fmt: skip
    report = run_suite(settings, ["wasmer-llvm"], progress=False)
    (case,) = report["cases"]
    assert case["results"]["wasmer-llvm"]["skipped"].startswith("--quick runs the corpus calls on the other engines")
    assert set(report["settings"]["corpus_skipped_engines"]) == {"wasmer-llvm"}
    assert report["goals"][2]["met"] is None
