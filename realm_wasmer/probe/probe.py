"""The layout probe: Hypothesis sweeps that pin down, for any constructor, the
exact out-slot and object layout it needs.

>>> report = probe("wasm/realm.wasm", class_name="Realm")
>>> report.to_json()["out_slot"]["min_size"]
12

One *trial* is a fresh instance state, an out-slot of size S at exact alignment
A in placement P, guard bytes with a random canary on both sides, one call of
the constructor, and a numpy diff of all of linear memory (see
:mod:`.probe_trial`). The probe runs trials to find

* for Pattern 3 (:mod:`.probe_slot`): the bytes written inside the slot, the
  smallest size that keeps the guards intact, the alignment, what each word
  means (the error words confirmed by making a call fail), and which placements
  are safe, with the smallest failing example Hypothesis shrank to for each
  unsafe one;
* for the object (:mod:`.probe_object`): its dlmalloc allocation, the bytes the
  constructor initialised, the borrow flag, candidate fields, and its size and
  alignment where the evidence allows;
* the seeds' failure, replayed under the upstream host's conditions
  (:mod:`.probe_seeds`).

Every finding is marked ``measured`` or ``inferred``, with its evidence. The
report's JSON form (:meth:`LayoutReport.to_json`) has stable keys, documented
in ``docs/probe.md``; apart from timings and the engine name it is identical on
every engine.
"""

from __future__ import annotations

import copy
import time
from typing import Any, Callable, Optional, Sequence, Union

import attrs
import numpy as np

from ..errors import ProbeError as ProbeError
from ..errors import RealmWasmerError
from ..inspection import ClassInfo, Constructor, ModuleInfo
from ..instance import CompiledModule, compile
from ..references import resolve_imports
from ..spec import LoadSpec, Source
from ..transforms.stack_pointer import STACK_POINTER, stack_pointer
from ..wasm import FuncType, WasmModule
from .alloc import Calibration, calibrate
from .args import ArgSpec, parse_arg
from .object import ObjectFindings, analyse, build
from .seeds import reproduce
from .slot import SlotFindings, analyse_slot
from .state import StateFactory
from .trial import (
    HEAP_WITH_RESERVATION,
    MAX_SIZE,
    PLACEMENTS,
    REGION,
    MemoryLayout,
    TrialOutcome,
    TrialRunner,
    TrialSpec,
)

#: Hypothesis examples per search, by profile: ``ci`` is fast, ``thorough`` looks harder.
PROFILES = {"ci": 25, "thorough": 250}


@attrs.define
class LayoutReport:
    """What the probe found. :meth:`to_json` is the stable form."""

    export: str
    class_name: Optional[str]
    pattern: int
    signature: str
    engine: str
    args: list[str]
    layout: MemoryLayout
    memory: dict[str, Any]
    allocator: Calibration
    reference: dict[str, Any]
    out_slot: Optional[SlotFindings]
    object: Optional[ObjectFindings]
    seeds: Optional[dict[str, Any]]
    trials: int
    trial_seconds: float
    wall_seconds: float
    state: dict[str, Any]
    notes: list[str] = attrs.Factory(list)
    #: The reference trial's slot bytes and address (for the memory map).
    slot_view: Optional[tuple[int, bytes]] = None

    @property
    def trials_per_second(self) -> float:
        return self.trials / self.trial_seconds if self.trial_seconds else 0.0

    def to_json(self) -> dict[str, Any]:
        if self.out_slot is not None:
            out_slot = self.out_slot.to_json()
        else:
            out_slot = {"footprint": [], "min_size": 0, "align": None, "words": [], "placements": [],
                        "note": f"Pattern {self.pattern}: no out-slot; the object comes back as the return value"}
        return {
            "export": self.export,
            "class": self.class_name,
            "pattern": self.pattern,
            "signature": self.signature,
            "engine": self.engine,
            "args": list(self.args),
            "reference": self.reference,
            "out_slot": out_slot,
            "object": self.object.to_json() if self.object is not None else None,
            "memory": self.memory,
            "allocator": self.allocator.to_json(),
            "seeds": self.seeds,
            "notes": list(self.notes),
            "trials": self.trials,
            "trials_per_second": round(self.trials_per_second, 1),
            "timing": {
                "trial_seconds": round(self.trial_seconds, 4),
                "wall_seconds": round(self.wall_seconds, 4),
                "state": self.state,
            },
        }

    def comparable(self) -> dict[str, Any]:
        """The JSON without what legitimately differs between engines and runs: engine
        name, timings, the state strategy chosen by timing, and what depends on whether
        the engine's load pipeline exported the stack pointer (``stack_pointer_export``
        runs on wasmer, not on wasmtime): where the stack pointer was read, the
        ``stack_reserved`` placement, and so the number of trials."""
        data = copy.deepcopy(self.to_json())
        for key in ("engine", "trials_per_second", "timing", "trials"):
            data.pop(key)
        data["memory"].pop("stack_pointer_source", None)
        slot = data.get("out_slot")
        if slot is not None:
            slot["placements"] = [p for p in slot["placements"] if p["name"] != "stack_reserved"]
        return data


def _pick(
    info: ModuleInfo, class_name: Optional[str], export: Optional[str]
) -> tuple[Optional[ClassInfo], Constructor]:
    if class_name:
        cls = info.class_info(class_name)
        if export is None:
            if cls.constructor is None:
                raise ProbeError(f"class {cls.name!r} has no constructor export to probe")
            return cls, cls.constructor
        for ctor in cls.constructors:
            if ctor.export == export:
                return cls, ctor
        return cls, _by_signature(info, export)
    if export is None:
        raise ProbeError("name a class (--class) or a constructor export (--export) to probe")
    for cls in info.classes.values():
        for ctor in cls.constructors:
            if ctor.export == export:
                return cls, ctor
    owner = next((c for c in info.classes.values() if export.startswith(c.prefix + "_")), None)
    return owner, _by_signature(info, export)


def _by_signature(info: ModuleInfo, export: str) -> Constructor:
    sig = info.module.export_signature(export)
    if sig is None:
        raise ProbeError(f"the module has no function export {export!r}")
    if len(sig.results) == 3:
        return Constructor(export, 3, True, sig)
    if not sig.results and sig.params and sig.params[0] == "i32":
        return Constructor(export, 3, False, sig)
    if sig.results == ("i32",):
        return Constructor(export, 1, False, sig)
    raise ProbeError(f"export {export!r} {sig} is not shaped like a constructor (no out-slot, no pointer result)")


def memory_layout(compiled: CompiledModule, factory: StateFactory) -> MemoryLayout:
    """Where the stack pointer, the stack and the static data are."""
    info = compiled.info
    instance = factory.fresh()
    try:
        access: Optional[str] = None
        add = info.roles.get("add_to_stack_pointer")
        # The module as it runs: a load transform (stack_pointer_export, on engines that cannot
        # reach an unexported global) may export the stack pointer the module keeps to itself.
        exported = info.stack_pointer_global or _exported_stack_pointer(instance.context.module)
        if add:
            sp = int(instance.call(add, 0)) & 0xFFFFFFFF
            source, access = f"{add}(0)", "function"
        elif exported:
            sp = int(instance.engine_instance.global_get(exported)) & 0xFFFFFFFF
            source, access = f"exported global {exported}", "global"
            if exported != info.stack_pointer_global:
                source = (f"global {exported}, wasm-ld's __stack_pointer, which the module keeps to itself: exported "
                          f"by the load pipeline's {STACK_POINTER.name} transform for this engine")
        else:
            module = info.module
            imported = sum(1 for imp in module.imports if imp.kind == "global")
            candidates = [
                (index, g) for index, g in enumerate(module.globals) if g.type.mutable and g.type.valtype == "i32"
                and isinstance(g.init, int) and g.init
            ]
            if not candidates:
                raise ProbeError("cannot find the module's stack pointer (no export, no mutable i32 global)")
            index, glob = candidates[0]
            sp = int(glob.init) & 0xFFFFFFFF  # type: ignore[arg-type]
            source = (
                f"the module's global {index + imported} (mutable i32, initial value {sp:#x}, not exported): "
                "wasm-ld's __stack_pointer; every export call starts and ends with it at this value"
            )
        data_end: Optional[int] = None
        for name in ("__data_end", "__heap_base"):
            export = info.module.export(name)
            if export is not None and export.kind == "global" and name == "__data_end":
                data_end = int(instance.engine_instance.global_get(name)) & 0xFFFFFFFF
        memory_size = instance.memory.size
    finally:
        factory.finish(instance)
    segments = list(compiled.info.module.data_segments)
    static_lo = min((o for o, _ in segments), default=sp)
    static_hi = max([o + n for o, n in segments] + ([data_end] if data_end else []), default=sp)
    stack_lo = 0 if static_lo >= sp else min(static_hi, sp)
    return MemoryLayout(sp, source, access, exported if access == "global" else None, stack_lo,
                        static_lo, min(static_hi, memory_size))


def _exported_stack_pointer(module: WasmModule) -> Optional[str]:
    """The export name of the module's shadow stack pointer global (wasm-bindgen's rule,
    :func:`~realm_wasmer.transforms.stack_pointer.stack_pointer`), or None."""
    index = stack_pointer(module)
    return next((e.name for e in module.exports if e.kind == "global" and e.index == index), None)


def probe(
    source: Union[Source, LoadSpec, CompiledModule],
    *,
    class_name: Optional[str] = None,
    export: Optional[str] = None,
    args: Sequence[Union[str, ArgSpec]] = (),
    examples: Optional[int] = None,
    profile: str = "ci",
    seed: int = 0,
    fail_args: Optional[Sequence[Union[str, ArgSpec]]] = None,
    vary: Sequence[Sequence[Union[str, ArgSpec]]] = (),
    seeds: bool = True,
    placements: Sequence[str] = PLACEMENTS,
    strategy: str = "auto",
    on_trial: Optional[Callable[[TrialOutcome], None]] = None,
    on_stage: Optional[Callable[[str], None]] = None,
    **load_options: Any,
) -> LayoutReport:
    """Probe one constructor (a class's primary one, or ``export``) and report its layout.

    ``args`` are the constructor's arguments after the out-slot, as tokens
    (see :mod:`.probe_args`); ``fail_args`` arguments that make it return Err
    (searched for when omitted); ``vary`` extra argument lists whose objects are
    diffed against the first for candidate fields. ``strategy`` is ``snapshot``,
    ``reinstantiate`` or ``auto`` (time both, keep the faster one that
    reproduces the reference trial). ``placements`` limits which placements are
    searched (default: all of ``PLACEMENTS``). ``source`` and ``load_options``
    (``engine``, ``imports``, ``on_missing``, ``glue``...) as for :func:`realm_wasmer.load`.
    """
    started = time.perf_counter()
    if profile not in PROFILES:
        raise ProbeError(f"unknown profile {profile!r}; one of {sorted(PROFILES)}")
    count = examples if examples is not None else PROFILES[profile]
    compiled = _compiled(source, load_options)
    imports = resolve_imports(compiled.spec)
    info = compiled.info
    cls, ctor = _pick(info, class_name, export)
    specs = tuple(a if isinstance(a, ArgSpec) else parse_arg(a) for a in args)
    failing = None if fail_args is None else tuple(a if isinstance(a, ArgSpec) else parse_arg(a) for a in fail_args)
    variants = [tuple(a if isinstance(a, ArgSpec) else parse_arg(a) for a in v) for v in vary]
    say = on_stage or (lambda _s: None)
    runner, state = prepare(compiled, ctor, specs, seed, strategy, on_trial, say)
    factory, reference = runner.factory, runner.reference
    assert reference is not None
    notes: list[str] = []

    instance = factory.fresh()
    try:
        allocator = calibrate(instance) if info.roles.get("malloc") else Calibration((), False)
    finally:
        factory.finish(instance)
    stack_use = runner.stack_use
    reference_json = {
        "status": reference.status,
        "error": reference.error,
        "words": list(reference.words[:4]),
        "imports": dict(reference.imports),
        "console": list(reference.console),
    }
    ok = reference.status == "ok" and (not reference.words or len(reference.words) < 3 or reference.words[2] == 0)
    if ctor.pattern == 1 or ctor.pattern == 2:
        ok = reference.status == "ok" and bool(reference.words and reference.words[0])
    slot: Optional[SlotFindings] = None
    obj: Optional[ObjectFindings] = None
    if not ok:
        notes.append(
            f"the constructor did not build an object under correct conditions ({reference.status}: "
            f"{reference.error or reference.words}); only the seeds' replay was run"
        )
    else:
        if ctor.pattern == 3 and not ctor.multi_value:
            slot = analyse_slot(runner, cls, failing, count, seed, say, placements)
        say("object")
        ptr = reference.words[0]
        if not allocator.verified:
            notes.append("the allocator's chunk headers did not follow the dlmalloc rule: allocation sizes not read")
        sibling = _sibling(runner, cls, ctor, factory, runner.layout, seed)
        obj = analyse(runner, cls, ptr, variants, sibling)
        if not allocator.verified:
            obj.chunk = None
    seeds_report = None
    if seeds:
        say("seeds")
        seeds_report = reproduce(compiled, ctor, cls, specs, imports,
                                 obj.borrow_flag.value if obj is not None and obj.borrow_flag else None)
    slot_view = None
    memory = runner.layout.to_json()
    memory["stack_use"] = stack_use
    if reference.address is not None:
        slot_view = (reference.region[0], reference.slot_bytes)
    return LayoutReport(
        export=ctor.export,
        class_name=cls.name if cls else None,
        pattern=ctor.pattern,
        signature=str(ctor.signature),
        engine=compiled.engine_name,
        args=[str(a) for a in specs],
        layout=runner.layout,
        memory=memory,
        allocator=allocator,
        reference=reference_json,
        out_slot=slot,
        object=obj,
        seeds=seeds_report,
        trials=runner.trials,
        trial_seconds=runner.elapsed,
        wall_seconds=time.perf_counter() - started,
        state=state,
        notes=notes,
        slot_view=slot_view,
    )


STACK_WINDOW = 65536


def prepare(
    compiled: CompiledModule,
    ctor: Constructor,
    specs: Sequence[ArgSpec],
    seed: int = 0,
    strategy: str = "auto",
    on_trial: Optional[Callable[[TrialOutcome], None]] = None,
    say: Callable[[str], None] = lambda _s: None,
) -> tuple[TrialRunner, dict[str, Any]]:
    """A :class:`TrialRunner` ready for trials: memory layout read, state strategy
    chosen, reference trial(s) run, the static and stack bytes the constructor
    writes recorded. Returns it with the state-strategy timings. Instances are
    made with the imports and policy of ``compiled.spec``."""
    factory = StateFactory(compiled, start=True, prime=REGION, strategy="reinstantiate")
    say("memory layout")
    layout = memory_layout(compiled, factory)
    # Restores drop zero pages only in the stack region: every trial reads (diffs) the rest.
    factory.copied = [(0, layout.stack_lo), (layout.stack_pointer, 1 << 32)]
    runner = TrialRunner(factory, ctor, specs, layout, seed)
    runner.on_trial = on_trial
    say("state strategy")
    state = _choose_strategy(runner, strategy)
    reference = runner.run(_reference_spec(ctor))
    runner.reference = reference
    if layout.stack_access is not None and ctor.pattern == 3 and not ctor.multi_value:
        runner.reserved_reference = runner.run(TrialSpec(HEAP_WITH_RESERVATION, MAX_SIZE, 8))
    hot = tuple(int(a) for a in reference.changed if layout.static_lo <= a < layout.static_hi)
    runner.layout = attrs.evolve(layout, static_hot=hot)
    if reference.status == "ok":
        runner.stack_use = measure_stack_use(runner)
    return runner, state


def runner_for(
    source: Union[Source, LoadSpec, CompiledModule],
    *,
    class_name: Optional[str] = None,
    export: Optional[str] = None,
    args: Sequence[Union[str, ArgSpec]] = (),
    seed: int = 0,
    **load_options: Any,
) -> TrialRunner:
    """A prepared :class:`TrialRunner` for one constructor (e.g. for property tests)."""
    compiled = _compiled(source, load_options)
    _, ctor = _pick(compiled.info, class_name, export)
    specs = tuple(a if isinstance(a, ArgSpec) else parse_arg(a) for a in args)
    runner, _ = prepare(compiled, ctor, specs, seed=seed)
    return runner


def _compiled(source: Union[Source, LoadSpec, CompiledModule], load_options: dict[str, Any]) -> CompiledModule:
    if isinstance(source, CompiledModule):
        return source.with_options(**load_options) if load_options else source
    return compile(LoadSpec.of(source, **load_options))


def measure_stack_use(runner: TrialRunner) -> dict[str, Any]:
    """How deep below the stack pointer the constructor writes: the stack region
    is filled with a canary (and its complement, in a second fresh state) before
    the call, and the lowest changed byte is the deepest write."""
    layout = runner.layout
    lo = max(layout.stack_lo, layout.stack_pointer - STACK_WINDOW)
    deepest: Optional[int] = None
    written: set[int] = set()
    for pattern in (0xA5, 0x5A):

        def fill(instance: Any, live: Any, pattern: int = pattern) -> None:
            instance.memory.view()[lo : layout.stack_pointer] = pattern

        instance = runner.factory.fresh()
        try:
            build(runner, instance, before_call=fill)
            changed = np.flatnonzero(instance.memory.view()[lo : layout.stack_pointer] != pattern)
        except RealmWasmerError as exc:
            return {"measured": False, "error": str(exc)}
        finally:
            runner.factory.finish(instance)
        if changed.size:
            low = lo + int(changed[0])
            deepest = low if deepest is None else min(deepest, low)
            written.update(lo + int(c) for c in changed)
    runner.layout = attrs.evolve(layout, stack_hot=tuple(sorted(written)))
    return {
        "measured": True,
        "window": [lo, layout.stack_pointer],
        "deepest_write": deepest,
        "bytes_below_stack_pointer": 0 if deepest is None else layout.stack_pointer - deepest,
        "evidence": "measured: the stack window was filled with a canary and with its complement before the call "
        "in two fresh states; the lowest byte that changed is the deepest the constructor's frames reach",
    }


def _reference_spec(ctor: Constructor) -> TrialSpec:
    return TrialSpec("heap", MAX_SIZE, 8)


def _sibling(
    runner: TrialRunner, cls: Optional[ClassInfo], ctor: Constructor, factory: StateFactory, layout: MemoryLayout,
    seed: int,
) -> Optional[TrialRunner]:
    """A Pattern 2 constructor of the same class (a bare ``Box<T>``) taking no arguments."""
    if cls is None or ctor.pattern == 2:
        return None
    for other in cls.constructors:
        if other.pattern == 2 and other.signature == FuncType((), ("i32",)):
            sibling = TrialRunner(factory, other, (), layout, seed)
            sibling.on_trial = runner.on_trial
            sibling.reference = sibling.run(TrialSpec("heap", 0, 8))
            runner.trials += sibling.trials
            runner.elapsed += sibling.elapsed
            sibling.trials, sibling.elapsed = 0, 0.0
            if sibling.reference.status == "ok":
                return sibling
    return None


def _choose_strategy(runner: TrialRunner, strategy: str) -> dict[str, Any]:
    """Time re-instantiation against snapshot restore and check both give the
    same reference trial; keep the faster correct one."""
    factory = runner.factory
    timings = factory.measure(rounds=5)  # constant per-probe work: 5 rounds tell 0.1 ms from 0.5 ms
    spec = _reference_spec(runner.ctor)
    factory.strategy = "reinstantiate"
    fresh = runner.run(spec)
    factory.strategy = "snapshot"
    runner.run(spec)  # makes the snapshot
    restored = runner.run(spec)  # runs on a restored snapshot
    same = (
        fresh.status == restored.status
        and fresh.words == restored.words
        and fresh.written == restored.written
        and fresh.imports == restored.imports
        and fresh.changed.tolist() == restored.changed.tolist()
        and fresh.values.tolist() == restored.values.tolist()
    )
    if strategy == "auto":
        chosen = "snapshot" if same and timings["snapshot"] < timings["reinstantiate"] else "reinstantiate"
    else:
        chosen = strategy
    factory.strategy = chosen
    return {
        "strategy": chosen,
        "snapshot_seconds": round(timings["snapshot"], 6),
        "reinstantiate_seconds": round(timings["reinstantiate"], 6),
        "snapshot_matches_fresh_instance": same,
    }
