"""The suite's data model: settings, a case (data: a setup and a callable), what a setup
prepares, and the run context that shares instances between cases of one engine."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Optional

from ..records import attributes
from .machine import ROOT

FIXTURE = ROOT / "wasm" / "realm.wasm"
#: The corpus next to the checkout (``../shared/corpus`` from the project root).
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
DEFAULT_CORPUS_CACHE = Path("/tmp/realm-corpus-public")
NODE_HARNESS = ROOT / "benchmarks" / "node_bench.mjs"
#: ``--quick``'s corpus engines: every one but wasmer-llvm (compiling tiktoken, resvg and photon
#: cold with LLVM took 60 of a cold quick run's 132 s here; cranelift, singlepass and wasmtime
#: compile them in a few seconds).
QUICK_CORPUS_SKIP = (("wasmer-llvm", "--quick runs the corpus calls on the other engines (wasmer-llvm "
                      "compiles the corpus packages cold in about a minute); the full suite runs them here"),)


@dataclass(frozen=True)
class Settings:
    """Budgets and locations of one run (``quick`` or full, scaled by ``scale``)."""

    quick: bool = False
    #: Batches per function in a comparison (samples of the median and spread).
    rounds: int = 11
    #: Seconds per call case, split between the case, its floor and the bare call.
    call_budget: float = 2.0
    #: Seconds of warm-up per call case before calibration.
    warmup: float = 0.3
    #: Single runs of a slow operation (cold compile) per engine.
    slow_repeats: int = 3
    #: Whole-probe runs per engine.
    probe_repeats: int = 3
    #: Fresh interpreters per import-time figure.
    import_repeats: int = 10
    #: Module compiled cold: "photon" (the corpus package) or "fixture" (wasm/realm.wasm).
    compile_module: str = "photon"
    corpus_dir: Path = DEFAULT_CORPUS
    corpus_cache: Path = DEFAULT_CORPUS_CACHE
    node_harness: Path = NODE_HARNESS
    #: The Node executable (None: not installed).
    node: Optional[str] = None
    #: Case ids to run (None: all).
    only: Optional[frozenset[str]] = None
    #: Engines the corpus calls are not run on, each with the reason reported as the result's
    #: ``skipped`` (``--quick``: wasmer-llvm, whose cold compile of the corpus packages alone
    #: takes about a minute here; the full suite runs every engine).
    corpus_skip: tuple[tuple[str, str], ...] = ()

    @classmethod
    def for_run(cls, *, quick: bool, scale: float = 1.0, **overrides: Any) -> "Settings":
        """The full or quick budgets, with every time budget multiplied by ``scale``."""
        base = (
            cls(quick=True, rounds=5, call_budget=0.4, warmup=0.05, slow_repeats=1, probe_repeats=1,
                import_repeats=3, compile_module="fixture", corpus_skip=QUICK_CORPUS_SKIP)
            if quick
            else cls()
        )  # fmt: skip
        scaled = replace(base, call_budget=base.call_budget * scale, warmup=base.warmup * scale)
        return replace(scaled, **overrides)

    def to_json(self) -> dict[str, Any]:
        return {
            **attributes(self, "quick", "rounds"),
            "call_budget_s": self.call_budget,
            "warmup_s": self.warmup,
            **attributes(self, "slow_repeats", "probe_repeats", "import_repeats", "compile_module"),
            "corpus_dir": str(self.corpus_dir),
            "corpus_cache": str(self.corpus_cache),
            "only": sorted(self.only) if self.only else None,
            "corpus_skipped_engines": dict(self.corpus_skip),
        }


@dataclass
class Prepared:
    """What a case's setup makes for one engine: the callable timed, and what it is compared with."""

    #: The operation measured (one call = one sample unit).
    call: Callable[[], object]
    #: The same work hand-written on the bare engine (the floor), if the case has one.
    floor: Optional[Callable[[], object]] = None
    #: Guest crossings the floor makes per call (counted by construction).
    floor_crossings: Optional[int] = None
    #: The engine's bare ``rt_i32`` call: the unit the issue's table divides by.
    bare: Optional[Callable[[], object]] = None
    #: ``(export calls, import calls)`` made so far by the instance behind ``call``.
    counter: Optional[Callable[[], tuple[int, int]]] = None
    #: ``(export calls, import calls)`` of one call, where no single instance lives across
    #: calls (each start makes one, each probe trial takes a fresh or restored one).
    count_one: Optional[Callable[[], tuple[int, int]]] = None
    #: True: time ``repeats`` single calls instead of calibrated batches.
    slow: bool = False
    repeats: int = 1
    #: Adds derived figures (a rate, us per crossing) to the engine's result.
    finish: Optional[Callable[[dict[str, Any]], None]] = None
    #: Static facts to report with the figures (module, sizes, which glue...).
    notes: dict[str, Any] = field(default_factory=dict)
    close: Optional[Callable[[], None]] = None


@dataclass(frozen=True)
class Case:
    """One benchmark case, as data."""

    id: str
    title: str
    #: fixture, probe, corpus, compile, start or import.
    group: str
    description: str
    #: What the floor is (None: the case has none).
    floor: Optional[str] = None
    #: Builds the callable for one engine (raises :class:`Skip`).
    setup: Optional[Callable[["Context", str], Prepared]] = None
    #: A measurement the generic runner cannot make (returns the engine's result).
    run: Optional[Callable[["Context", str], dict[str, Any]]] = None
    per_engine: bool = True
    #: The corpus package and case id (corpus cases only).
    corpus: Optional[tuple[str, str]] = None
    #: Engine-independent fields of the case's report entry (e.g. Node's figures).
    extra: Optional[Callable[["Context"], dict[str, Any]]] = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "group": self.group,
            "description": self.description,
            "floor": self.floor,
        }
        if self.corpus:
            data["corpus"] = {"package": self.corpus[0], "case": self.corpus[1]}
        return data


class Context:
    """State shared by the cases of one run: bound fixtures per engine, loaded packages,
    Node results, a scratch directory (removed by :meth:`close`)."""

    def __init__(self, settings: Settings, engines: list[str]) -> None:
        self.settings = settings
        self.engines = engines
        self.scratch = Path(tempfile.mkdtemp(prefix="realm-bench-"))
        self.cache: dict[Any, Any] = {}

    def memo(self, key: Any, make: Callable[[], Any]) -> Any:
        """``make()`` once per ``key`` for the whole run (a failure is remembered too)."""
        if key not in self.cache:
            try:
                self.cache[key] = (True, make())
            except Exception as exc:  # noqa: BLE001 - reported per case
                self.cache[key] = (False, exc)
        ok, value = self.cache[key]
        if not ok:
            raise value
        return value

    def close(self) -> None:
        self.cache.clear()
        shutil.rmtree(self.scratch, ignore_errors=True)


def env_float(name: str, default: float) -> float:
    """A float from the environment (``default`` when unset or unreadable)."""
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default
