"""The hostile-module campaign in the suite: 0 crashes, 0 hangs, only typed errors.

Seeded and small by default; ``pytest --hypothesis-profile thorough`` (or
``REALM_FUZZ_BUDGET=N``) runs thousands of cases per engine. The cases are made
here and run in a child process per engine (tests/fuzz_campaign.py), so a crash
or a hang is seen and named, not suffered.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from .conftest import FAST_ENGINES, ROOT
from .fuzz_campaign import make_cases

SEED = 20261201


def _budget() -> int:
    if "REALM_FUZZ_BUDGET" in os.environ:
        return int(os.environ["REALM_FUZZ_BUDGET"])
    return 2000 if settings.get_current_profile_name() == "thorough" else 60


@pytest.fixture(scope="module")
def cases_file(tmp_path_factory: pytest.TempPathFactory, wasm_tools: Path) -> Path:
    cases = make_cases(SEED, _budget(), wasm_tools)
    path = tmp_path_factory.mktemp("fuzz") / "cases.json"
    path.write_text(json.dumps(cases))
    return path


def run_campaign(engine: str, cases_file: Path, per_case_s: float = 20.0) -> dict[str, Any]:
    """Run every case on ``engine``; a child that dies or stops is reported with its case."""
    cases = json.loads(cases_file.read_text())
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.fuzz_campaign", engine, str(cases_file)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "REALM_WASMER_CACHE": str(cases_file.parent / "cache")},
    )
    try:
        out, err = child.communicate(timeout=per_case_s * max(1, len(cases)) / 4 + 120)
        hung = False
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
        hung = True
    lines = out.splitlines()
    results = [json.loads(line) for line in lines if line.startswith("{")]
    starts = [int(line.split()[1]) for line in lines if line.startswith("start ")]
    last = cases[starts[-1]] if starts else None
    return {
        "results": results,
        "crashed": not hung and child.returncode != 0,
        "hung": hung,
        "last_case": None if last is None else f"{last['kind']} {last['name']}",
        "returncode": child.returncode,
        "stderr": err[-2000:],
        "seconds": time.perf_counter() - started,
        "cases": len(cases),
    }


@pytest.mark.parametrize("engine", FAST_ENGINES)
def test_no_crash_no_hang_only_typed_errors(engine: str, cases_file: Path) -> None:
    report = run_campaign(engine, cases_file)
    assert not report["crashed"], f"the child crashed (code {report['returncode']}) on {report['last_case']}: " \
        f"{report['stderr']}"
    assert not report["hung"], f"the child hung on {report['last_case']}"
    assert len(report["results"]) == report["cases"]
    untyped = [r for r in report["results"] if r["outcome"] == "untyped"]
    assert untyped == [], untyped[:5]
    kinds = collections.Counter((r["kind"], r["outcome"]) for r in report["results"])
    # The campaign really exercised each kind: hostile guests ran, malformed modules were refused.
    assert kinds[("truncation", "typed")] > 0 and kinds[("hostile", "ok")] + kinds[("hostile", "typed")] > 0
    print(f"{engine}: {report['cases']} cases in {report['seconds']:.1f} s: {dict(kinds)}")
