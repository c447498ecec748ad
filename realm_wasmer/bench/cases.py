"""The fixture, probe, compile, start and import cases (the corpus ones are in :mod:`.corpus`).

Fixture cases run on ``wasm/realm.wasm`` through the typed bindings (``bind``), each
with its floor: the same wasm-bindgen protocol (malloc, write, call, read, free)
hand-written on the engine's own export objects, with a reusable out-slot and a
memory view refreshed only when an address falls past its end (both engines keep a
32-bit memory at a fixed base, so growth only lengthens it). The floor is what the
engine allows from Python; the bindings' goal is a small factor over it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import struct
import subprocess
import sys
from typing import Any, Callable, Optional

import numpy as np

from ..errors import BenchmarkSkipped as Skip
from .model import FIXTURE, Case, Context, Prepared
from .timing import Spread

TEXT = "héllo wörld"
PROMPT = "hello"
VOCAB = ["<unk>", "hello", "world", "realm", "!"]


# -- the bare engine --------------------------------------------------------------
class Bare:
    """The engine's own export objects for an instance: raw callables and a memory view."""

    def __init__(self, instance: Any) -> None:
        engine = instance.engine_instance
        self.instance = instance
        self._engine = engine
        self._store = getattr(engine, "store", None)
        self._exports = engine._exports
        self._memory = self.raw("memory")
        self.view = memoryview(b"")
        self.refresh()

    def raw(self, name: str) -> Any:
        exports = self._exports
        return exports.get(name) if self._store is not None else getattr(exports, name)

    def function(self, name: str) -> Callable[..., Any]:
        """The export as a callable of wasm values (wasmtime's take the store first)."""
        raw = self.raw(name)
        return functools.partial(raw, self._store) if self._store is not None else raw  # type: ignore[no-any-return]

    def refresh(self) -> memoryview:
        if self._store is not None:
            import ctypes

            size = self._memory.data_len(self._store)
            base = ctypes.cast(self._memory.data_ptr(self._store), ctypes.POINTER(ctypes.c_uint8 * size))
            self.view = memoryview(base.contents).cast("B")
        else:
            self.view = memoryview(np.frombuffer(self._memory.buffer, dtype=np.uint8))  # type: ignore[arg-type]
        return self.view


def _fixture(ctx: Context, engine: str) -> Any:
    """The bound fixture of ``engine`` with the demo's env imports (one per run)."""

    def make() -> Any:
        from ..bindings.api import bind
        from ..demo import EchoModel

        return bind(FIXTURE, engine=engine, imports=EchoModel().imports())

    return ctx.memo(("fixture", engine), make)


def _bare(ctx: Context, engine: str) -> Bare:
    return ctx.memo(("bare", engine), lambda: Bare(_fixture(ctx, engine).instance))  # type: ignore[no-any-return]


def _counter(instance: Any) -> Callable[[], tuple[int, int]]:
    return lambda: (instance.calls, sum(instance.import_calls.values()))


def _count_made(make: Callable[[], Any], instance_of: Callable[[Any], Any]) -> tuple[int, int]:
    """Export and import calls made on the instance ``make()`` works on (``instance_of``
    of its result, ``(instance, calls before)``): for calls that take a new instance."""
    instance, before = instance_of(make())
    exports, imports = _counter(instance)()
    return exports - before[0], imports - before[1]


def _bare_call(bare: Bare) -> Callable[[], object]:
    rt_i32 = bare.function("rt_i32")
    return lambda: rt_i32(41)


def _allocator(bare: Bare) -> tuple[Callable[[int], int], Callable[[int, int], object], int]:
    """malloc(size) and free(ptr, size) at the module's arities (align 1), and a 16-byte slot."""
    abi = bare.instance.abi
    raw_malloc, raw_free = bare.function(abi.roles["malloc"]), bare.function(abi.roles["free"])
    malloc: Callable[[int], int] = raw_malloc if abi.malloc_arity == 1 else (lambda n: raw_malloc(n, 1))
    free: Callable[[int, int], object] = raw_free if abi.free_arity == 2 else (lambda p, n: raw_free(p, n, 1))
    slot = (raw_malloc(16) if abi.malloc_arity == 1 else raw_malloc(16, 8)) & 0xFFFFFFFF
    if slot + 16 > len(bare.view):  # allocating the slot grew memory past the view the floors read
        bare.refresh()
    return malloc, free, slot


def _string_floor(bare: Bare, export: str, text: str, *leading: int, words: int = 2) -> Callable[[], str]:
    """``export(slot, *leading, ptr, len)`` returning a String (``words=2``) or a
    Result<String> (``words=4``: ptr, len, err, is_err) through the slot."""
    malloc, free, slot = _allocator(bare)
    function, unpack_from, refresh = bare.function(export), struct.Struct(f"<{words}I").unpack_from, bare.refresh

    def floor() -> str:
        data = text.encode()
        n = len(data)
        p = malloc(n) & 0xFFFFFFFF
        view = bare.view
        if p + n > len(view):
            view = refresh()
        view[p : p + n] = data
        function(slot, *leading, p, n)
        out = unpack_from(view, slot)
        if words == 4 and out[3]:
            raise RuntimeError("the call returned Err")
        ptr, length = out[0], out[1]
        if ptr + length > len(view):
            view = refresh()
        result = str(view[ptr : ptr + length], "utf-8")
        if length:
            free(ptr, length)
        return result

    return floor


def _construct_floor(bare: Bare, free: Optional[Callable[[int], object]] = None) -> Callable[[], None]:
    """Pattern 3: ``realm_new(slot)`` writes [ptr, err, is_err]; then ``__wbg_realm_free(ptr)``
    (through ``free`` when given: bench_breakdown.py's guarded step)."""
    _, _, slot = _allocator(bare)
    new, free = bare.function("realm_new"), free or bare.function("__wbg_realm_free")
    pack_into, unpack_from = struct.Struct("<3I").pack_into, struct.Struct("<3I").unpack_from

    def floor() -> None:
        view = bare.view
        pack_into(view, slot, 0, 0, 0)
        new(slot)
        ptr, _, is_err = unpack_from(view, slot)
        if is_err or not ptr:
            raise RuntimeError("realm_new failed")
        free(ptr)

    return floor


# -- fixture cases ----------------------------------------------------------------
def setup_raw_call(ctx: Context, engine: str) -> Prepared:
    m = _fixture(ctx, engine)
    bare, call = _bare(ctx, engine), m.instance.call
    floor = _bare_call(bare)
    return Prepared(lambda: call("rt_i32", 41), floor=floor, floor_crossings=1, counter=_counter(m.instance))


def setup_bound_call(ctx: Context, engine: str) -> Prepared:
    m = _fixture(ctx, engine)
    rt_i32 = m.rt_i32
    floor = _bare_call(_bare(ctx, engine))
    return Prepared(lambda: rt_i32(41), floor=floor, floor_crossings=1, counter=_counter(m.instance))


def setup_caller_call(ctx: Context, engine: str) -> Prepared:
    m = _fixture(ctx, engine)
    caller = m.instance.context.calls.caller("rt_i32")
    floor = _bare_call(_bare(ctx, engine))
    return Prepared(lambda: caller(41), floor=floor, floor_crossings=1, counter=_counter(m.instance))


def setup_str_inout(ctx: Context, engine: str) -> Prepared:
    m = _fixture(ctx, engine)
    bare = _bare(ctx, engine)
    floor = _string_floor(bare, "rt_string", TEXT)
    rt_string = m.rt_string
    if rt_string(TEXT) != floor():
        raise RuntimeError("the floor of rt_string does not return what the binding returns")
    return Prepared(lambda: rt_string(TEXT), floor=floor, floor_crossings=3, bare=_bare_call(bare),
                    counter=_counter(m.instance))  # fmt: skip


def setup_construct_free(ctx: Context, engine: str) -> Prepared:
    m = _fixture(ctx, engine)
    bare = _bare(ctx, engine)
    realm = m.Realm

    def call() -> None:
        realm().free()

    return Prepared(call, floor=_construct_floor(bare), floor_crossings=2, bare=_bare_call(bare),
                    counter=_counter(m.instance))  # fmt: skip


def setup_generate(ctx: Context, engine: str) -> Prepared:
    from ..demo import tiny_gguf

    m = _fixture(ctx, engine)
    bare = _bare(ctx, engine)
    realm = m.Realm()
    realm.loadModel(tiny_gguf(VOCAB))
    generate = realm.generate
    floor = _string_floor(bare, "realm_generate", PROMPT, realm.ptr, words=4)
    if generate(PROMPT) != floor():
        raise RuntimeError("the floor of Realm.generate does not return what the binding returns")
    return Prepared(lambda: generate(PROMPT), floor=floor, floor_crossings=3, bare=_bare_call(bare),
                    counter=_counter(m.instance), close=realm.free)  # fmt: skip


# -- probe ------------------------------------------------------------------------
def _compiled_fixture(ctx: Context, engine: str) -> Any:
    from ..instance import compile

    return ctx.memo(("compiled", engine), lambda: compile(FIXTURE, engine=engine))


def _rate(result: dict[str, Any]) -> None:
    result["trials_per_second"] = 1.0 / result["median_s"]
    result["trials_per_second_range"] = [1.0 / result["max_s"], 1.0 / result["min_s"]]


def _setup_trial(placement: str, size: int, align: int, param: int) -> Callable[[Context, str], Prepared]:
    def setup(ctx: Context, engine: str) -> Prepared:
        from ..probe import runner_for
        from ..probe.trial import TrialSpec

        runner = runner_for(_compiled_fixture(ctx, engine), class_name="Realm")
        run, canary = runner.run, iter(range(1, 1 << 62))

        def trial() -> object:
            return run(TrialSpec(placement, size, align, param, canary=next(canary)))

        def count_one() -> tuple[int, int]:  # the instance the trial takes (fresh or restored), seen by its factory
            factory, taken = runner.factory, []
            fresh = factory.fresh

            def tracked() -> Any:
                instance = fresh()
                taken.append((instance, _counter(instance)()))
                return instance

            own = vars(factory).get("fresh")  # None: the class's method
            factory.fresh = tracked  # type: ignore[method-assign]
            try:
                return _count_made(trial, lambda _: taken[0])
            finally:
                if own is None:
                    del factory.fresh
                else:
                    factory.fresh = own  # type: ignore[method-assign]

        return Prepared(trial, finish=_rate, count_one=count_one,
                        notes={"trial": {"placement": placement, "size": size, "align": align}})  # fmt: skip

    return setup


def run_probe_whole(ctx: Context, engine: str) -> dict[str, Any]:
    """``probe(wasm/realm.wasm, class_name="Realm")`` as the CLI runs it: trials/s over trial time."""
    import time

    from ..probe import probe

    compiled = _compiled_fixture(ctx, engine)
    rates, walls, trials, findings = [], [], 0, set()
    for _ in range(max(1, ctx.settings.probe_repeats)):
        start = time.perf_counter()
        report = probe(compiled, class_name="Realm")
        walls.append(time.perf_counter() - start)
        rates.append(report.trials_per_second)
        trials = report.trials
        findings.add(hashlib.sha256(json.dumps(report.comparable(), sort_keys=True).encode()).hexdigest())
    rate = Spread.of(rates)
    wall = Spread.of(walls)
    return {
        "median_s": wall.median, "min_s": wall.min, "max_s": wall.max, "rounds": len(walls),
        "trials": trials,
        "trials_per_second": rate.median, "trials_per_second_range": rate.range(),
        "findings_sha256": sorted(findings)[0] if len(findings) == 1 else sorted(findings),
        "unit": "whole probe (wall seconds); trials_per_second over the time spent inside trials",
        "findings_how": "sha256 of LayoutReport.comparable() (the report without engine, timings, state strategy): "
        "one hash when every repeat found the same; compare it across engines, runs and commits",
    }  # fmt: skip


# -- compile and start ------------------------------------------------------------
def _compile_source(ctx: Context) -> tuple[str, Any]:
    if ctx.settings.compile_module == "photon":
        path = ctx.settings.corpus_cache / "pkgs" / "photon" / "package" / "photon_rs_bg.wasm"
        if path.is_file():
            return "photon_rs_bg.wasm (photon 0.3.11, corpus)", path
        return f"wasm/realm.wasm (photon not fetched at {path})", FIXTURE
    return "wasm/realm.wasm (fixture)", FIXTURE


def setup_cold_compile(ctx: Context, engine: str) -> Prepared:
    from ..cache import ArtifactCache
    from ..instance import compile

    label, path = _compile_source(ctx)
    data = path.read_bytes()

    def cold() -> object:
        return compile(data, engine=engine, cache=ArtifactCache.disabled())

    return Prepared(cold, slow=True, repeats=ctx.settings.slow_repeats, notes={"module": label, "bytes": len(data)})


def setup_cached_start(ctx: Context, engine: str) -> Prepared:
    from ..cache import ArtifactCache
    from ..demo import EchoModel
    from ..instance import load

    cache = ArtifactCache(ctx.scratch / f"cache-{engine}")
    load(FIXTURE, engine=engine, cache=cache, imports=EchoModel().imports())  # fills the cache

    def start() -> Any:
        instance = load(FIXTURE, engine=engine, cache=cache, imports=EchoModel().imports())
        instance.construct("Realm").close()
        return instance

    return Prepared(start, count_one=lambda: _count_made(start, lambda instance: (instance, (0, 0))),
                    notes={"module": "wasm/realm.wasm", "cache": "ArtifactCache(dir), warm"})  # fmt: skip


# -- import time ------------------------------------------------------------------
_IMPORTTIME = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def importtime(statement: str) -> dict[str, tuple[int, int, int]]:
    """``python -X importtime -c statement`` in a fresh interpreter:
    module -> (self us, cumulative us, depth)."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", statement], capture_output=True, text=True,
                         timeout=120, check=True)  # fmt: skip
    table: dict[str, tuple[int, int, int]] = {}
    for match in _IMPORTTIME.finditer(out.stderr):
        self_us, cumulative, indent, name = match.groups()
        table.setdefault(name, (int(self_us), int(cumulative), len(indent) // 2))
    return table


def run_import_time(ctx: Context, engine: str) -> dict[str, Any]:
    """Cumulative ``-X importtime`` of ``import realm_wasmer`` and of ``import numpy``, each in
    fresh interpreters, plus the wall time of ``python -c 'import realm_wasmer'`` over ``pass``."""
    import time

    repeats = max(1, ctx.settings.import_repeats)
    ours: list[float] = []
    numpy_s: list[float] = []
    last: dict[str, tuple[int, int, int]] = {}
    for _ in range(repeats):
        last = importtime("import realm_wasmer")
        ours.append(last["realm_wasmer"][1] / 1e6)
        numpy_s.append(importtime("import numpy")["numpy"][1] / 1e6)
    walls: dict[str, list[float]] = {"pass": [], "import realm_wasmer": [], "import numpy": []}
    for _ in range(repeats):
        for statement in walls:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", statement], check=True, timeout=120)
            walls[statement].append(time.perf_counter() - start)
    spread, numpy_spread = Spread.of(ours), Spread.of(numpy_s)
    heaviest = sorted(last.items(), key=lambda item: -item[1][0])[:10]
    engines_loaded = sorted(name for name in last if name.split(".")[0] in ("wasmer", "wasmtime"))
    wall = {k: Spread.of(v).median for k, v in walls.items()}
    return {
        "median_s": spread.median, "min_s": spread.min, "max_s": spread.max, "rounds": repeats,
        "numpy": {"median_s": numpy_spread.median, "min_s": numpy_spread.min, "max_s": numpy_spread.max},
        "ratio_to_numpy": spread.median / numpy_spread.median if numpy_spread.median else None,
        "process_wall_s": wall,
        "wall_import_minus_pass_s": wall["import realm_wasmer"] - wall["pass"],
        "heaviest_self_us": [{"module": name, "self_us": s, "cumulative_us": c} for name, (s, c, _) in heaviest],
        "engine_modules_imported": engines_loaded[:20],
        "unit": "seconds: cumulative -X importtime of the top-level import",
    }  # fmt: skip


FLOOR_BARE = "one bare engine call of rt_i32 (wasmer: exports.rt_i32(41); wasmtime: func(store, 41))"

FIXTURE_CASES = [
    Case("raw_call", "raw call rt_i32", "fixture",
         "Instance.call('rt_i32', 41): the core's checked export call", floor=FLOOR_BARE, setup=setup_raw_call),
    Case("caller_call", "bound caller rt_i32", "fixture",
         "GuestCalls.caller('rt_i32')(41): one crossing as the bindings make it (checks, bookkeeping, "
         "error translation); the per-crossing cost over the bare call", floor=FLOOR_BARE, setup=setup_caller_call),
    Case("bound_call", "bound m.rt_i32", "fixture",
         "the typed binding m.rt_i32(41)", floor=FLOOR_BARE, setup=setup_bound_call),
    Case("str_inout", "bound rt_string", "fixture",
         "m.rt_string('héllo wörld'): String in and out (malloc + copy, call with out-slot, read + free)",
         floor="the same 3 crossings hand-written on the bare engine", setup=setup_str_inout),
    Case("construct_free", "Realm().free()", "fixture",
         "m.Realm() (Pattern 3 out-pointer constructor) then free()",
         floor="realm_new(slot) + read [ptr, err, is_err] + __wbg_realm_free(ptr) on the bare engine",
         setup=setup_construct_free),
    Case("realm_generate", "Realm.generate", "fixture",
         "realm.generate('hello') with a tiny GGUF loaded: String in, Result<String> out, "
         "env.realm_next_token imports answered by the demo's EchoModel",
         floor="the same export sequence hand-written on the bare engine (imports still through the library's "
         "linked handlers)", setup=setup_generate),
    Case("probe_trial", "probe trial (clean)", "probe",
         "runner_for(realm.wasm, class_name='Realm').run(TrialSpec('heap', 16, 8)): one clean probe trial",
         setup=_setup_trial("heap", 16, 8, 0)),
    Case("probe_trap_trial", "probe trial (trapping)", "probe",
         "runner.run(TrialSpec('memory_end', 16, 1, 60)): a trial whose slot runs off the end of memory",
         setup=_setup_trial("memory_end", 16, 1, 60)),
    Case("probe_whole", "whole probe", "probe",
         "probe(realm.wasm, class_name='Realm'), ci profile, as `realm-wasmer probe` runs it", run=run_probe_whole),
]  # fmt: skip

TAIL_CASES = [
    Case("cold_compile", "cold compile", "compile",
         "compile(module, cache=ArtifactCache.disabled()): parse, transform, compile with the engine",
         setup=setup_cold_compile),
    Case("cached_start", "cached start", "start",
         "load(realm.wasm, cache=ArtifactCache(dir)) with the artifact cached + construct('Realm') + close()",
         setup=setup_cached_start),
    Case("import_time", "import realm_wasmer", "import",
         "python -X importtime -c 'import realm_wasmer' (cumulative), fresh interpreters, vs import numpy",
         run=run_import_time, per_engine=False),
]  # fmt: skip


def find(cases: list[Case], case_id: str) -> Optional[Case]:
    return next((c for c in cases if c.id == case_id), None)


__all__ = ["FIXTURE_CASES", "TAIL_CASES", "Bare", "Skip", "find", "importtime"]
