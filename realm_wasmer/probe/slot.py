"""The out-slot half of the probe: footprint, minimum size, alignment, the
meaning of each word, and which placements are safe (Hypothesis shrinks a
smallest failing example for each unsafe one)."""

from __future__ import annotations

import random
from typing import Any, Callable, Optional, Sequence

import attrs
import numpy as np
from hypothesis import HealthCheck, Phase, find, given, reporting, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample, Unsatisfiable

from ..errors import ProbeError, RealmWasmerError, UnknownPlacement
from ..inspection import ClassInfo
from .alloc import locate_chunk
from .args import ArgSpec
from .object import Finding
from .trial import (
    ALIGNMENTS,
    END_WINDOW,
    GUARD,
    MAX_SIZE,
    PLACEMENTS,
    STACK_DEPTH,
    Ranges,
    TrialOutcome,
    TrialRunner,
    TrialSpec,
    ranges_of,
)


@attrs.frozen
class Word:
    offset: int
    size: int
    role: str  # object_ptr, error, is_err, payload
    basis: str
    evidence: str

    def to_json(self) -> dict[str, Any]:
        return {"offset": self.offset, "size": self.size, "role": self.role, "basis": self.basis,
                "evidence": self.evidence}


@attrs.frozen
class Placement:
    name: str
    available: bool
    safe: Optional[bool]
    example: Optional[dict[str, Any]]
    error: Optional[str]
    examples: int
    explanation: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "safe": self.safe, "example": self.example, "error": self.error,
                "available": self.available, "examples": self.examples, "explanation": self.explanation}


@attrs.define
class SlotFindings:
    footprint: Ranges = ()
    min_size: int = 0
    align: Optional[Finding] = None
    misaligned: dict[int, bool] = attrs.Factory(dict)
    words: list[Word] = attrs.Factory(list)
    placements: list[Placement] = attrs.Factory(list)
    failing_call: Optional[dict[str, Any]] = None
    sweep: dict[str, Any] = attrs.Factory(dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "footprint": [list(r) for r in self.footprint],
            "min_size": self.min_size,
            "align": self.align.value if self.align else None,
            "align_evidence": self.align.to_json() if self.align else None,
            "misaligned": {str(a): ok for a, ok in sorted(self.misaligned.items())},
            "words": [w.to_json() for w in self.words],
            "placements": [p.to_json() for p in self.placements],
            "failing_call": self.failing_call,
            "sweep": self.sweep,
        }


#: Hypothesis's phases the probe needs: no ``explain`` (it re-runs shrunk examples under a
#: line tracer to annotate a failure report nobody reads here: ~85% of a whole probe).
PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)


def _settings(examples: int) -> settings:
    return settings(
        phases=PHASES,
        max_examples=max(1, examples),
        database=None,
        deadline=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )


def footprint_of(runner: TrialRunner) -> tuple[Ranges, list[TrialOutcome]]:
    """Bytes written into a ``MAX_SIZE`` heap slot, over two canaries."""
    outcomes = [runner.run(TrialSpec("heap", MAX_SIZE, 8, canary=k)) for k in (1, 2)]
    mask = np.zeros(MAX_SIZE, dtype=bool)
    for outcome in outcomes:
        for a, b in outcome.written:
            mask[a:b] = True
    return ranges_of(mask), outcomes


def minimum_size(runner: TrialRunner, words: int) -> int:
    """The smallest heap-slot size whose trial is clean (guards intact, same words)."""
    for size in range(0, MAX_SIZE + 1):
        outcome = runner.run(TrialSpec("heap", size, 8, canary=size))
        if runner.failure(outcome, words) is None:
            return size
    raise ProbeError(f"{runner.export}: no slot of up to {MAX_SIZE} bytes keeps its guards intact")


def word_roles(
    runner: TrialRunner, footprint: Ranges, reference: TrialOutcome, failing: Optional[TrialOutcome],
    failing_label: str,
) -> list[Word]:
    """Name each 4-byte word of the footprint from a success and, if found, a failure."""
    end = max((b for _, b in footprint), default=0)
    count = (end + 3) // 4
    ok = reference.words[:count]
    roles: list[Word] = []
    instance = runner.factory.fresh()
    try:
        # Rebuild the reference object to check the pointer is a live allocation.
        from .object import build

        ptr = build(runner, instance)
        chunk = locate_chunk(instance.memory, ptr)
    except RealmWasmerError:
        ptr, chunk = 0, None
    finally:
        runner.factory.finish(instance)
    fail = failing.words[:count] if failing is not None else ()
    for index in range(count):
        offset, value = 4 * index, ok[index] if index < len(ok) else 0
        bad = fail[index] if index < len(fail) else None
        if index == 0 and chunk is not None and value == ptr:
            evidence = (f"measured: on success it holds {value:#x}, an in-use dlmalloc chunk of {chunk.size} bytes"
                        + (f"; on failure ({failing_label}) it is {bad:#x}" if bad is not None else ""))
            roles.append(Word(offset, 4, "object_ptr", "measured", evidence))
        elif index == count - 1 and bad == 1 and value == 0:
            roles.append(Word(offset, 4, "is_err", "measured",
                              f"measured: 0 on success, 1 when the call fails ({failing_label})"))
        elif index == count - 2 and failing is not None and failing.error_value is not None and value == 0:
            roles.append(Word(offset, 4, "error", "measured",
                              f"measured: 0 on success; on failure ({failing_label}) JS heap index {bad} holding "
                              f"{failing.error_value}"))
        elif count >= 3 and index == count - 1:
            roles.append(Word(offset, 4, "is_err", "inferred",
                              f"inferred: {value} on success; wasm-bindgen's Result layout puts is_err last "
                              "(the constructor could not be made to fail)"))
        elif count >= 3 and index == count - 2:
            roles.append(Word(offset, 4, "error", "inferred",
                              f"inferred: {value} on success; wasm-bindgen's Result layout puts the error index "
                              "before is_err (the constructor could not be made to fail)"))
        else:
            roles.append(Word(offset, 4, "payload", "measured", f"measured: {value:#x} on success"))
    return roles


def _fails(outcome: TrialOutcome) -> bool:
    return outcome.status == "ok" and len(outcome.words) >= 3 and outcome.words[2] == 1 and outcome.words[0] == 0


def find_failing_call(
    runner: TrialRunner, info: Optional[ClassInfo], fail_args: Optional[Sequence[ArgSpec]], examples: int, seed: int,
) -> tuple[Optional[TrialOutcome], Optional[dict[str, Any]]]:
    """A call with the constructor's out-slot shape that returns Err: the given
    ``fail_args``, else Hypothesis-searched strings for the constructor's own
    ``str:`` arguments, else for a sibling factory of the class taking strings."""
    candidates: list[tuple[str, tuple[ArgSpec, ...], str]] = []
    if fail_args is not None:
        candidates.append((runner.export, tuple(fail_args), "given"))
    elif any(a.kind == "str" for a in runner.args):
        candidates.append((runner.export, runner.args, "search"))
    if info is not None and fail_args is None:
        module = runner.factory.compiled.info.module
        for name in sorted(set(info.methods)):
            sig = module.export_signature(name)
            if name == runner.export or sig is None or sig.results or len(sig.params) < 3 or len(sig.params) % 2 == 0:
                continue
            if any(p != "i32" for p in sig.params):
                continue
            candidates.append((name, tuple(ArgSpec("str", "") for _ in range((len(sig.params) - 1) // 2)), "sibling"))
    for export, specs, how in candidates:
        sub = TrialRunner(runner.factory, runner.ctor, specs, runner.layout, runner.seed, export=export)
        sub.on_trial = runner.on_trial
        if how == "given":
            outcome = sub.run(TrialSpec("heap", 16, 8))
            runner.trials += sub.trials
            runner.elapsed += sub.elapsed
            if _fails(outcome):
                return outcome, _label(export, specs, how)
            continue
        positions = [i for i, a in enumerate(specs) if a.kind == "str"]

        def with_texts(
            texts: Sequence[str], specs: tuple[ArgSpec, ...] = specs, positions: list[int] = positions
        ) -> tuple[ArgSpec, ...]:
            out = list(specs)
            for pos, text in zip(positions, texts, strict=True):
                out[pos] = ArgSpec("str", text)
            return tuple(out)

        def condition(texts: Sequence[str], sub: TrialRunner = sub) -> bool:
            sub.args = with_texts(texts)
            return _fails(sub.run(TrialSpec("heap", 16, 8)))

        text = st.text(alphabet=TEXT_ALPHABET, max_size=16)
        strategy = st.lists(text, min_size=len(positions), max_size=len(positions))
        try:
            texts = find(strategy, condition, settings=_settings(examples), random=random.Random(seed))
        except (NoSuchExample, Unsatisfiable):
            texts = None
        finally:
            runner.trials += sub.trials
            runner.elapsed += sub.elapsed
            sub.trials, sub.elapsed = 0, 0.0
        if texts is None:
            continue
        sub.args = with_texts(texts)
        outcome = sub.run(TrialSpec("heap", 16, 8))
        runner.trials += sub.trials
        runner.elapsed += sub.elapsed
        return outcome, _label(export, sub.args, how)
    return None, None


def _label(export: str, specs: Sequence[ArgSpec], how: str) -> dict[str, Any]:
    return {"export": export, "args": [str(a) for a in specs], "how": how}


TEXT_ALPHABET = '{}[]":,.-0123456789abcdefghijklmnopqrstuvwxyz_ '


def _strategy(name: str, runner: TrialRunner, min_size: int, aligns: Sequence[int]) -> Any:
    """``(size, align, param)`` tuples for placement ``name``, sizes from ``min_size``."""
    sizes = st.integers(min_size, MAX_SIZE)
    alignments = st.sampled_from(list(aligns))
    layout = runner.layout
    if name in ("heap", "stack_reserved"):
        return st.tuples(sizes, alignments, st.just(0))
    if name == "stack_unreserved":
        # Gaps that put the slot's end on a stack byte the constructor's frames
        # write come first (Hypothesis shrinks towards them), then any gap.
        sp = layout.stack_pointer
        hot = sorted({sp - a - 1 for a in layout.stack_hot if 0 <= sp - a - 1 <= STACK_DEPTH})
        gaps = st.integers(0, STACK_DEPTH)
        return st.tuples(sizes, alignments, st.one_of(st.sampled_from(hot), gaps) if hot else gaps)
    if name == "static_data":
        lo, hi = layout.static_lo + GUARD, layout.static_hi - 1
        # Slots over the static bytes the constructor itself writes come first
        # (Hypothesis shrinks towards them), then anywhere in the static data.
        hot = sorted({max(lo, a - a % 4 - 4) for a in layout.static_hot if lo <= a <= hi})
        plain = st.integers(lo, max(lo, hi))
        return st.tuples(sizes, alignments, st.one_of(st.sampled_from(hot), plain) if hot else plain)
    return st.tuples(sizes, alignments, st.integers(0, END_WINDOW - 1))


def _example(name: str, outcome: TrialOutcome, runner: TrialRunner) -> dict[str, Any]:
    spec, address = outcome.spec, outcome.address
    example: dict[str, Any] = {"size": spec.size, "align": spec.align, "address": address}
    if address is None:
        return example
    if name == "memory_end":
        example["bytes_before_end"] = outcome.memory_size - address
    elif name == "stack_unreserved":
        example["below_stack_pointer"] = runner.layout.stack_pointer - address
    elif name == "static_data":
        example["static_offset"] = address - runner.layout.static_lo
    return example


def _explain(name: str, outcome: TrialOutcome, error: str, footprint_end: int, runner: TrialRunner) -> str:
    address = outcome.address or 0
    if name == "memory_end":
        room = outcome.memory_size - address
        return (f"slot within {room} bytes of the end of memory ({address:#x}, memory is {outcome.memory_size:#x} "
                f"bytes): the callee writes {footprint_end} bytes from the slot, so its store at "
                f"+{max(0, footprint_end - 4)} ends past the last byte -> {error}")
    if name == "stack_unreserved":
        below = runner.layout.stack_pointer - address
        return (f"slot {below} bytes below the stack pointer ({runner.layout.stack_pointer:#x}), not reserved: "
                f"the callee's own frame lives there -> {error}")
    if name == "static_data":
        return (f"slot at {address:#x} in static data ({runner.layout.static_lo:#x}..{runner.layout.static_hi:#x}), "
                f"over bytes the module itself uses (the constructor writes static data at "
                f"{[hex(a) for a in runner.layout.static_hot[:4]]}) -> {error}")
    return f"{name} slot at {address:#x} -> {error}"


def search_placement(
    runner: TrialRunner, name: str, min_size: int, aligns: Sequence[int], words: int, footprint_end: int,
    examples: int, seed: int,
) -> Placement:
    """Hypothesis looks for a failing trial in placement ``name`` and shrinks it."""
    layout = runner.layout
    if name == "stack_reserved" and layout.stack_access is None:
        return Placement(name, False, None, None, None, 0,
                         f"not offered on {runner.factory.compiled.engine_name}: the module exports neither "
                         "__wbindgen_add_to_stack_pointer nor its stack pointer global, and no load transform exports "
                         "it on this engine (stack_pointer_export runs where the engine lists stack_pointer_access "
                         "among its limitations: the wasmer engines), so nothing can reserve shadow-stack bytes "
                         "(the JS glue would use malloc'd scratch memory too)")
    counted = [0]

    def spec_of(x: tuple[int, int, int]) -> TrialSpec:
        return TrialSpec(name, x[0], x[1], x[2], canary=counted[0])

    def condition(x: tuple[int, int, int]) -> bool:
        counted[0] += 1
        outcome = runner.run(spec_of(x))
        return outcome.status != "refused" and runner.failure(outcome, words) is not None

    try:
        found = find(_strategy(name, runner, min_size, aligns), condition, settings=_settings(examples),
                     random=random.Random(seed))
    except (NoSuchExample, Unsatisfiable):
        why = f"safe: no failing trial among {counted[0]} Hypothesis examples"
        if name == "stack_unreserved":
            why += (" (measured for this constructor and these arguments only: nothing reserves these bytes, so a "
                    "call whose frames reach further below the stack pointer would overwrite the slot)")
        return Placement(name, True, True, None, None, counted[0], why)
    outcome = runner.run(TrialSpec(name, found[0], found[1], found[2], canary=0))
    error = runner.failure(outcome, words) or "no failure on replay"
    return Placement(name, True, False, _example(name, outcome, runner), error, counted[0],
                     _explain(name, outcome, error, footprint_end, runner))


def sweep(
    runner: TrialRunner, safe: Sequence[str], footprint: Ranges, min_size: int, aligns: Sequence[int], words: int,
    examples: int, seed: int,
) -> dict[str, Any]:
    """Random (placement, size, alignment) trials in the safe placements: the
    footprint is the same for every size >= the minimum, and the guards stay
    intact exactly when size >= the minimum."""
    if not safe:
        return {"trials": 0, "consistent": None, "counterexample": None}
    done = [0]
    problems: list[str] = []

    trial = st.sampled_from(list(safe)).flatmap(
        lambda name: st.tuples(st.just(name), _strategy(name, runner, 0, aligns))
    )

    @_settings(examples)
    @hypothesis_seed(seed)
    @given(trial)
    def check(drawn: tuple[str, tuple[int, int, int]]) -> None:
        name, (size, align, param) = drawn
        done[0] += 1
        outcome = runner.run(TrialSpec(name, size, align, param, canary=done[0]))
        if outcome.status == "refused":
            return
        clean = runner.failure(outcome, words) is None
        if size >= min_size:
            assert clean, f"{name} size {size} align {align}: {runner.failure(outcome, words)}"
            assert outcome.written == footprint, f"{name} size {size} align {align}: wrote {outcome.written}"
        else:
            assert not outcome.guards_intact, f"{name} size {size} align {align}: guards intact below the minimum"

    with reporting.with_reporter(lambda _text: None):
        try:
            check()
        except AssertionError as exc:
            problems.append(str(exc).splitlines()[0])
    return {"trials": done[0], "consistent": not problems, "counterexample": problems[0] if problems else None}


def analyse_slot(
    runner: TrialRunner, info: Optional[ClassInfo], fail_args: Optional[Sequence[ArgSpec]], examples: int,
    seed: int, progress: Optional[Callable[[str], None]] = None, placements: Sequence[str] = PLACEMENTS,
) -> SlotFindings:
    say = progress or (lambda _s: None)
    reference = runner.reference
    assert reference is not None
    findings = SlotFindings()
    say("footprint")
    findings.footprint, _ = footprint_of(runner)
    footprint_end = max((b for _, b in findings.footprint), default=0)
    words = max(1, (footprint_end + 3) // 4)
    say("minimum size")
    findings.min_size = minimum_size(runner, words)
    say("alignment")
    size = max(findings.min_size, 16)
    for align in ALIGNMENTS:
        outcome = runner.run(TrialSpec("heap", size, align, canary=100 + align))
        findings.misaligned[align] = runner.failure(outcome, words) is None
    aligns = [a for a in ALIGNMENTS if findings.misaligned[a]] or [8]
    widths = {b - a for a, b in findings.footprint}
    whole_words = all(a % 4 == 0 and b % 4 == 0 for a, b in findings.footprint)
    works = ", ".join(f"{a}: {'works' if ok else 'fails'}" for a, ok in sorted(findings.misaligned.items()))
    findings.align = Finding(
        4 if whole_words else 1, "inferred",
        f"the callee writes whole 32-bit words (footprint {[list(r) for r in findings.footprint]}, runs of "
        f"{sorted(widths)} bytes at multiples of 4): the i32 words of the Result, naturally 4-aligned, and the JS "
        f"glue reads them through an Int32Array at retptr/4, which needs 4-byte alignment. Measured on this engine, "
        f"by the slot's exact alignment ({works}): wasm stores do not trap on misaligned addresses",
    )
    say("error words")
    failing, label = find_failing_call(runner, info, fail_args, examples, seed)
    findings.failing_call = None
    if failing is not None and label is not None:
        findings.failing_call = dict(label, words=list(failing.words[:words]), error=failing.error_value)
    text = f"{label['export']}({', '.join(label['args'])})" if label else ""
    findings.words = word_roles(runner, findings.footprint, reference, failing, text)
    for name in placements:
        if name not in PLACEMENTS:
            raise UnknownPlacement(f"unknown placement {name!r}; one of {', '.join(PLACEMENTS)}")
        say(f"placement {name}")
        findings.placements.append(
            search_placement(runner, name, findings.min_size, aligns, words, footprint_end, examples, seed)
        )
    safe = [p.name for p in findings.placements if p.safe]
    say("sweep")
    findings.sweep = sweep(runner, safe, findings.footprint, findings.min_size, aligns, words, examples, seed)
    return findings
