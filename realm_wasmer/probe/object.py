"""What the probe learns about the constructed object.

* its allocation, from the dlmalloc chunk header (see :mod:`.probe_alloc`);
* the bytes the constructor initialised: the object's future bytes are filled
  with a canary ``c`` before the call in one fresh state and with ``c ^ 0xFF``
  in another; a byte the constructor wrote differs from at least one canary;
* the wasm-bindgen borrow flag, by poking: with ``0xFFFFFFFF`` (mutably
  borrowed) written into a candidate word, a ``&self`` getter must throw the
  guest's "recursive use" error; with 1 (one shared borrow) the getter must
  work and a ``&mut self`` setter throw; with 0 both work again;
* candidate fields: the bytes each property setter changes (checked through
  its getter), the bytes that differ between constructions with different
  arguments, and the remaining initialised islands;
* the value's offset inside the cell, by matching the initialised bytes of a
  Pattern 2 sibling constructor (the bare ``Box<T>``) against the cell's.
"""

from __future__ import annotations

import struct
from typing import Any, Callable, Optional, Sequence

import attrs
import numpy as np

from ..errors import ObjectNotBuilt as ObjectNotBuilt
from ..errors import RealmWasmerError
from ..inspection import ClassInfo
from ..instance import Instance
from .alloc import Chunk, locate_chunk, request_range
from .args import ArgSpec, materialize
from .trial import GUARD, REGION, Ranges, TrialRunner, exact_align_up, ranges_of

MASK = 0xFFFFFFFF
#: Values each setter is called with, by wasm type; bytes differ at every position.
SETTER_VALUES: dict[str, tuple[Any, ...]] = {
    "i32": (0x11223344, 0x08776655, 0x3C4B5A69),
    "i64": (0x1122334455667788, 0x0877665544332211, 0x3C4B5A6978695A4B),
    "f32": (1.2345678, -98765.43, 3.0e-7),
    "f64": (1.2345678901234, -98765.4321098, 3.0e-17),
}


@attrs.frozen
class FieldCandidate:
    """A byte range of the object (relative to its pointer) that behaves as one field."""

    offset: int
    size: int
    evidence: str
    source: str  # "setter", "variant" or "initialised"

    def to_json(self) -> dict[str, Any]:
        return {"offset": self.offset, "size": self.size, "evidence": self.evidence, "source": self.source}


@attrs.frozen
class Finding:
    """One value with how it was obtained: ``measured`` or ``inferred``, and why."""

    value: Any
    basis: str
    evidence: str

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "basis": self.basis, "evidence": self.evidence}


@attrs.define
class ObjectFindings:
    ptr: int
    chunk: Optional[Chunk]
    initialized: Ranges = ()
    initialized_evidence: str = ""
    borrow_flag: Optional[Finding] = None
    fields: list[FieldCandidate] = attrs.Factory(list)
    value_offset: Optional[Finding] = None
    size: Optional[Finding] = None
    align: Optional[Finding] = None
    data: bytes = b""
    notes: list[str] = attrs.Factory(list)

    @property
    def alloc_size(self) -> Optional[int]:
        return self.chunk.size if self.chunk else None

    def to_json(self) -> dict[str, Any]:
        chunk = self.chunk
        return {
            "ptr": self.ptr,
            "alloc_size": chunk.size if chunk else None,
            "usable_size": (chunk.usable - chunk.object_offset) if chunk else None,
            "request_range": list(request_range(chunk.size)) if chunk else None,
            "chunk": chunk.to_json() if chunk else None,
            "size": self.size.to_json() if self.size else None,
            "align": self.align.to_json() if self.align else None,
            "value_offset": self.value_offset.to_json() if self.value_offset else None,
            "initialized": [list(r) for r in self.initialized],
            "initialized_evidence": self.initialized_evidence,
            "borrow_flag_offset": self.borrow_flag.value if self.borrow_flag else None,
            "borrow_flag": self.borrow_flag.to_json() if self.borrow_flag else None,
            "fields": [f.to_json() for f in self.fields],
            "bytes": self.data.hex(),
            "notes": list(self.notes),
        }


BeforeCall = Callable[[Instance, list[tuple[int, int]]], None]


def _live_ranges(instance: Instance, specs: Sequence[ArgSpec], values: Sequence[Any]) -> list[tuple[int, int]]:
    """``[lo, hi)`` of each argument buffer's chunk, with its header and the
    next chunk's header: bytes a prefill must not touch."""
    spans: list[tuple[int, int]] = []
    position = 0
    for spec in specs:
        if spec.kind in ("str", "bytes"):
            ptr = int(values[position]) & MASK
            if ptr >= 8:
                size = instance.memory.u32(ptr - 4) & ~7
                spans.append((ptr - 8, ptr - 8 + max(size, 16) + 8))
        position += spec.width
    return spans


def build(
    runner: TrialRunner,
    instance: Instance,
    args: Optional[Sequence[ArgSpec]] = None,
    before_call: Optional[BeforeCall] = None,
) -> int:
    """Construct one object in ``instance`` exactly as a heap-slot trial does
    (same prelude, same allocations); returns the object pointer.
    ``before_call(instance, live)`` runs just before the call, ``live`` being
    the argument buffers' chunks."""
    ctor = runner.ctor
    specs = runner.args if args is None else tuple(args)
    if ctor.pattern == 3 and not ctor.multi_value:
        chunk = instance.abi.malloc(REGION, 8)
        values = materialize(instance, specs)
        address = exact_align_up(chunk + GUARD, 8)
        if before_call:
            before_call(instance, _live_ranges(instance, specs, values))
        instance.call(runner.export, address, *values)
        ptr, err, is_err = instance.memory.u32s(address, 3)
    else:
        values = materialize(instance, specs)
        if before_call:
            before_call(instance, _live_ranges(instance, specs, values))
        result = instance.call(runner.export, *values)
        if isinstance(result, tuple):
            ptr, err, is_err = (int(v) & MASK for v in result[:3])
        else:
            ptr, err, is_err = int(result) & MASK, 0, 0
    if is_err or not ptr:
        raise ObjectNotBuilt(f"constructor {runner.export} returned no object (words {ptr:#x}, {err}, {is_err})")
    return int(ptr)


def _span(findings: ObjectFindings) -> int:
    chunk = findings.chunk
    if chunk is None:
        return 64
    return chunk.usable - chunk.object_offset


def analyse(
    runner: TrialRunner,
    info: Optional[ClassInfo],
    ptr: int,
    variants: Sequence[Sequence[ArgSpec]] = (),
    sibling: Optional[TrialRunner] = None,
) -> ObjectFindings:
    """Everything above, each step in fresh states from ``runner``'s factory."""
    instance = runner.factory.fresh()
    try:
        built = build(runner, instance)
        chunk = locate_chunk(instance.memory, built)
        findings = ObjectFindings(built, chunk)
        findings.data = instance.memory.read(built, _span(findings))
    finally:
        runner.factory.finish(instance)
    if built != ptr:
        findings.notes.append(f"object pointer {built:#x} differs from the reference trial's {ptr:#x}")
    if chunk is None:
        findings.notes.append(f"no valid dlmalloc chunk header found at or before {built:#x}")
    findings.initialized, findings.initialized_evidence = initialised_bytes(runner, findings)
    cell = runner.ctor.pattern != 2
    if info is not None and cell:
        findings.borrow_flag = borrow_flag(runner, info, findings)
        findings.fields.extend(setter_fields(runner, info, findings))
    elif not cell:
        findings.notes.append("Pattern 2: a C-style export boxes the bare struct; there is no wasm-bindgen cell")
    findings.fields.extend(variant_fields(runner, findings, variants))
    findings.fields.extend(island_fields(findings))
    findings.fields.sort(key=lambda f: (f.offset, f.size))
    if sibling is not None and cell:
        findings.value_offset = value_offset_from_sibling(runner, findings, sibling)
    infer_size(findings)
    return findings


def _prefiller(
    ptr: int, span: int, fill: np.ndarray[Any, np.dtype[np.uint8]], keep: np.ndarray[Any, np.dtype[np.bool_]],
    before: np.ndarray[Any, np.dtype[np.uint8]],
) -> BeforeCall:
    """Fill the object's future bytes with ``fill``, leaving the argument buffers alone
    (``keep`` marks them, ``before`` receives the bytes as they were)."""

    def prefill(instance: Instance, live: list[tuple[int, int]]) -> None:
        for lo, hi in live:
            keep[max(0, lo - ptr) : max(0, min(span, hi - ptr))] = True
        view = instance.memory.view()
        before[:] = view[ptr : ptr + span]
        view[ptr : ptr + span] = np.where(keep, before, fill)

    return prefill


def initialised_bytes(runner: TrialRunner, findings: ObjectFindings) -> tuple[Ranges, str]:
    span = _span(findings)
    ptr = findings.ptr
    canary = np.resize(np.array([0xA5, 0x99, 0xCC, 0x55], dtype=np.uint8), span)
    written = np.zeros(span, dtype=bool)
    overlapped = np.zeros(span, dtype=bool)
    fills: list[np.ndarray[Any, np.dtype[np.uint8]]] = [canary, canary ^ np.uint8(0xFF)]
    for fill in fills:
        keep = np.zeros(span, dtype=bool)
        before = np.zeros(span, dtype=np.uint8)
        prefill = _prefiller(ptr, span, fill, keep, before)
        instance = runner.factory.fresh()
        try:
            built = build(runner, instance, before_call=prefill)
            after = instance.memory.view()[ptr : ptr + span].copy()
        except RealmWasmerError as exc:
            return (), f"not measured: filling the object's future bytes broke the constructor ({exc})"
        finally:
            runner.factory.finish(instance)
        if built != ptr:
            return (), "not measured: with the canary in place the object landed elsewhere"
        written |= after != np.where(keep, before, fill)
        overlapped |= keep
    note = ""
    if overlapped.any():
        note = (f"; {int(overlapped.sum())} of those bytes held the argument buffers at call time and were left "
                "alone: there a byte counts only if the call changed it")
    return ranges_of(written), (
        f"measured: the {span} bytes at the object's address were filled with a canary and with its complement "
        "before the call in two fresh states; a byte counts as initialised when it differs from either canary"
        + note
    )


def _getters(info: ClassInfo, instance: Instance) -> list[tuple[str, Optional[str]]]:
    """``(getter, setter or None)`` pairs: ``(self) -> value`` methods, those with a setter first."""
    module = instance.info.module
    methods = set(info.methods)
    pairs: list[tuple[str, Optional[str]]] = []
    for name in sorted(methods):
        sig = module.export_signature(name)
        if sig is None or sig.params != ("i32",) or len(sig.results) != 1:
            continue
        prop = name[len(info.prefix) + 1 :] if name.startswith(info.prefix + "_") else None
        if name.startswith("__wbg_get_"):
            setter: Optional[str] = name.replace("__wbg_get_", "__wbg_set_", 1)
        elif prop and prop.startswith("get_"):
            setter = f"{info.prefix}_set_{prop[4:]}"
        else:
            setter = f"{info.prefix}_set_{prop}" if prop else None
        if setter not in methods and (setter is None or module.export_signature(setter) is None):
            setter = None
        pairs.append((name, setter))
    pairs.sort(key=lambda p: p[1] is None)
    return pairs


def _outcome(instance: Instance, export: str, *args: Any) -> str:
    try:
        instance.call(export, *args)
    except RealmWasmerError as exc:
        return f"threw: {exc}"
    return "ok"


def borrow_flag(runner: TrialRunner, info: ClassInfo, findings: ObjectFindings) -> Optional[Finding]:
    """Poke each zero word of the object's first 64 bytes with 0xFFFFFFFF and
    call a ``&self`` getter: the word that makes it throw is the borrow flag."""
    ptr, probe_instance = findings.ptr, runner.factory.fresh()
    try:
        pairs = _getters(info, probe_instance)
    finally:
        runner.factory.finish(probe_instance)
    if not pairs:
        findings.notes.append("borrow flag not probed: the class has no (self) -> value method to call")
        return None
    getter, setter = pairs[0]
    count = min(16, len(findings.data) // 4)
    words = struct.unpack(f"<{count}I", findings.data[: 4 * count])
    for index, word in enumerate(words):
        if word != 0:
            continue
        offset = 4 * index
        instance = runner.factory.fresh()
        try:
            build(runner, instance)
            baseline = _outcome(instance, getter, ptr)
            if baseline != "ok":
                findings.notes.append(f"borrow flag not probed: {getter} fails on a fresh object ({baseline})")
                return None
            instance.memory.set_u32(ptr + offset, MASK)
            mutably = _outcome(instance, getter, ptr)
            instance.memory.set_u32(ptr + offset, 0)
        finally:
            runner.factory.finish(instance)
        if mutably == "ok":
            continue
        evidence = [
            f"measured: 0xFFFFFFFF (mutably borrowed) written at ptr+{offset} makes {getter}(ptr) "
            f"{mutably.removeprefix('threw: ')!s}"
        ]
        shared = _shared_borrow_check(runner, ptr, offset, getter, setter)
        if shared:
            evidence.append(shared)
        evidence.append("0 (free) restored: the getter works again")
        return Finding(offset, "measured", "; ".join(evidence))
    findings.notes.append(f"no word of the object made {getter} throw when poked: no borrow flag found")
    return None


def _shared_borrow_check(runner: TrialRunner, ptr: int, offset: int, getter: str, setter: Optional[str]) -> str:
    if setter is None:
        return ""
    instance = runner.factory.fresh()
    try:
        build(runner, instance)
        instance.memory.set_u32(ptr + offset, 1)
        reading = _outcome(instance, getter, ptr)
        sig = instance.info.module.export_signature(setter)
        value = 1.0 if sig is not None and sig.params[-1] in ("f32", "f64") else 1
        writing = _outcome(instance, setter, ptr, value)
        instance.memory.set_u32(ptr + offset, 0)
    finally:
        runner.factory.finish(instance)
    if reading == "ok" and writing != "ok":
        return f"1 (one shared borrow) lets {getter} run but makes {setter} throw"
    return f"1 (one shared borrow): {getter} {reading}, {setter} {writing}"


def setter_fields(runner: TrialRunner, info: ClassInfo, findings: ObjectFindings) -> list[FieldCandidate]:
    """Call each property setter with three values; the bytes that change are the field."""
    fields: list[FieldCandidate] = []
    ptr, span = findings.ptr, _span(findings)
    instance = runner.factory.fresh()
    try:
        pairs = [(g, s) for g, s in _getters(info, instance) if s is not None]
        module = instance.info.module
    finally:
        runner.factory.finish(instance)
    for getter, setter in pairs:
        assert setter is not None
        sig = module.export_signature(setter)
        if sig is None or len(sig.params) != 2 or sig.params[1] not in SETTER_VALUES:
            continue
        kind = sig.params[1]
        instance = runner.factory.fresh()
        try:
            build(runner, instance)
            base = instance.memory.view()[ptr : ptr + span].copy()
            changed = np.zeros(span, dtype=bool)
            round_trip = True
            for value in SETTER_VALUES[kind]:
                instance.call(setter, ptr, value)
                changed |= instance.memory.view()[ptr : ptr + span] != base
                got = instance.call(getter, ptr)
                round_trip &= _same(got, value, kind)
        except RealmWasmerError as exc:
            findings.notes.append(f"setter {setter} not measured: {exc}")
            continue
        finally:
            runner.factory.finish(instance)
        for start, end in ranges_of(changed):
            check = f"{getter} returned each value" if round_trip else f"{getter} did not return every value"
            fields.append(
                FieldCandidate(
                    start, end - start,
                    f"measured: {setter}(ptr, v) for v in {list(SETTER_VALUES[kind])} changed bytes "
                    f"[{start}, {end}); {check}",
                    "setter",
                )
            )
    return fields


def _same(got: Any, value: Any, kind: str) -> bool:
    if kind == "f32":
        return bool(struct.pack("<f", float(got)) == struct.pack("<f", float(value)))
    if kind == "f64":
        return float(got) == float(value)
    bits = 64 if kind == "i64" else 32
    return (int(got) - int(value)) % (1 << bits) == 0


def _stack_filler(runner: TrialRunner) -> BeforeCall:
    """Fill the stack window below the stack pointer with one fixed pattern, so a
    value built on the stack and copied whole carries the same filler in its
    uninitialised bytes in every construction."""
    layout = runner.layout
    lo = max(layout.stack_lo, layout.stack_pointer - 65536)

    def fill(instance: Instance, live: list[tuple[int, int]]) -> None:
        instance.memory.view()[lo : layout.stack_pointer] = 0xE7

    return fill


def variant_fields(
    runner: TrialRunner, findings: ObjectFindings, variants: Sequence[Sequence[ArgSpec]]
) -> list[FieldCandidate]:
    """Diff the object built with each variant's arguments against the one built
    with the probe's arguments (both with the same stack filler)."""
    fields: list[FieldCandidate] = []
    if not variants:
        return fields
    span = _span(findings)
    objects: list[Optional[np.ndarray[Any, np.dtype[np.uint8]]]] = []
    for variant in [runner.args, *variants]:
        instance = runner.factory.fresh()
        try:
            ptr = build(runner, instance, args=variant, before_call=_stack_filler(runner))
            objects.append(instance.memory.view()[ptr : ptr + span].copy())
        except RealmWasmerError as exc:
            findings.notes.append(f"variant {[str(a) for a in variant]} not measured: {exc}")
            objects.append(None)
        finally:
            runner.factory.finish(instance)
    base = objects[0]
    if base is None:
        return fields
    for variant, other in zip(variants, objects[1:], strict=True):
        if other is None:
            continue
        shown = " ".join(str(a) for a in variant)
        differs = other != base
        if findings.initialized:
            # Bytes the constructor never writes hold leftovers that differ by chance.
            initialised = np.zeros(differs.shape[0], dtype=bool)
            for a, b in findings.initialized:
                initialised[a:b] = True
            differs &= initialised
        for start, end in ranges_of(differs):
            fields.append(
                FieldCandidate(
                    start, end - start,
                    f"measured: constructing with [{shown}] changes [{start}, {end}) (a field, or leftovers a "
                    "by-value copy carries into padding and unused enum payloads)",
                    "variant",
                )
            )
    return fields


def island_fields(findings: ObjectFindings) -> list[FieldCandidate]:
    """Initialised byte runs not already explained by a setter or the borrow flag."""
    covered = np.zeros(max(1, _span(findings)), dtype=bool)
    for f in findings.fields:
        covered[f.offset : f.offset + f.size] = True
    if findings.borrow_flag is not None:
        covered[findings.borrow_flag.value : findings.borrow_flag.value + 4] = True
    fields = []
    for start, end in findings.initialized:
        mask = ~covered[start:end]
        for a, b in ranges_of(mask):
            fields.append(
                FieldCandidate(
                    start + a, b - a,
                    f"inferred: the constructor initialises [{start + a}, {start + b}) (a field, or a "
                    "discriminant/niche inside one)",
                    "initialised",
                )
            )
    return fields


def value_offset_from_sibling(
    runner: TrialRunner, findings: ObjectFindings, sibling: TrialRunner
) -> Optional[Finding]:
    """Match a bare-struct sibling's initialised bytes inside the cell."""
    if sibling.reference is None or not sibling.reference.words or findings.borrow_flag is None:
        return None
    bare_ptr = sibling.reference.words[0]
    instance = sibling.factory.fresh()
    try:
        bare_ptr = build(sibling, instance)
        bare_chunk = locate_chunk(instance.memory, bare_ptr)
    except RealmWasmerError:
        return None
    finally:
        sibling.factory.finish(instance)
    if bare_chunk is None:
        return None
    bare = ObjectFindings(bare_ptr, bare_chunk)
    bare_init, _ = initialised_bytes(sibling, bare)
    if not bare_init:
        return None
    instance = sibling.factory.fresh()
    try:
        bare_ptr = build(sibling, instance)
        bare_bytes = np.frombuffer(instance.memory.read(bare_ptr, bare_chunk.usable), dtype=np.uint8)
    finally:
        sibling.factory.finish(instance)
    span = _span(findings)
    cell_mask = np.zeros(span, dtype=bool)
    for a, b in findings.initialized:
        cell_mask[a:b] = True
    flag = findings.borrow_flag.value
    cell_mask[flag : flag + 4] = False
    bare_mask = np.zeros(bare_chunk.usable, dtype=bool)
    for a, b in bare_init:
        bare_mask[a:b] = True
    cell = np.frombuffer(findings.data, dtype=np.uint8)
    matches = []
    for shift in range(4, 33, 4):
        width = min(bare_mask.shape[0], span - shift)
        if width <= 0:
            continue
        same_mask = np.array_equal(cell_mask[shift : shift + width], bare_mask[:width])
        clear_gap = not cell_mask[flag + 4 : shift].any()
        picked = bare_mask[:width]
        if same_mask and clear_gap and np.array_equal(cell[shift : shift + width][picked], bare_bytes[:width][picked]):
            matches.append(shift)
    if len(matches) != 1:
        return None
    return Finding(
        matches[0], "measured",
        f"the bytes {sibling.export} (a bare Box of the same struct) initialises reappear, with the same values, "
        f"at +{matches[0]} in the cell and at no other shift",
    )


def infer_size(findings: ObjectFindings) -> None:
    """Alignment from the value offset, then the size from the chunk's request range."""
    chunk = findings.chunk
    if findings.value_offset is not None and findings.borrow_flag is not None:
        offset = findings.value_offset.value
        flag_end = findings.borrow_flag.value + 4
        align = 4
        while align < 16 and offset % (align * 2) == 0 and offset >= align * 2:
            align *= 2
        if offset > flag_end and offset % align == 0:
            findings.align = Finding(
                align, "inferred",
                f"the value starts at +{offset}, not right after the 4-byte borrow flag at +{flag_end}: rustc pads a "
                f"field only up to its alignment, so the value's alignment is {align} and so is the cell's",
            )
        elif offset == flag_end:
            findings.align = Finding(
                4, "inferred", f"the value follows the 4-byte borrow flag directly at +{offset}: the cell's "
                "alignment is the flag's (usize), 4",
            )
    if chunk is None:
        return
    lo, hi = request_range(chunk.size)
    if findings.align is None:
        return
    align = int(findings.align.value)
    sizes = [n for n in range(lo, hi + 1) if n % align == 0]
    if len(sizes) == 1:
        findings.size = Finding(
            sizes[0], "inferred",
            f"the chunk header says {chunk.size} bytes, so the request was {lo}..{hi} bytes; a Rust type's size "
            f"is a multiple of its alignment ({align}), which leaves {sizes[0]}",
        )
