"""The probe's fast memory work against the plain full-memory reference.

A trial copies only the memory outside the stack before the call and diffs only
that (the stack region is never reported); these tests compare the result with the
straightforward form (copy all of memory, diff all of it, drop the stack and the
excluded ranges) on random memories, layouts that are not word-aligned, writes on
the region edges and memory grown by the call. A restored state drops the pages
that are zero in the snapshot instead of copying them (:class:`MemoryReset`): the
memory it leaves must equal the snapshot byte for byte, and trials on it must come
out as on a state restored by copying all of memory.
"""

from __future__ import annotations

import random
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import realm_wasmer as rw
from realm_wasmer.probe import runner_for, state
from realm_wasmer.probe.state import PAGE, MemoryReset, StateFactory, zero_page_runs
from realm_wasmer.probe.trial import REGION, MemoryLayout, TrialRunner, TrialSpec, ranges_of

from .conftest import REALM_WASM

ENGINES = ["wasmer-cranelift", "wasmtime"]


def _runner(stack_lo: int, stack_pointer: int) -> TrialRunner:
    layout = MemoryLayout(stack_pointer, "test", None, None, stack_lo, stack_pointer, stack_pointer)
    return TrialRunner(None, None, (), layout, export="new")  # type: ignore[arg-type]  # _changed reads the layout


def _reference(before: Any, after: Any, layout: MemoryLayout, exclude: Any) -> Any:
    n = before.shape[0]
    changed = np.flatnonzero(before != after[:n])
    changed = np.concatenate((changed, np.flatnonzero(after[n:]) + n))
    keep = ~((changed >= layout.stack_lo) & (changed < layout.stack_pointer))
    for lo, hi in exclude:
        keep &= ~((changed >= lo) & (changed < hi))
    return changed[keep]


@settings(max_examples=150, deadline=None)
@given(
    size=st.sampled_from([64, 200, 1024]),
    stack=st.tuples(st.integers(0, 1100), st.integers(0, 1100)),
    writes=st.lists(st.tuples(st.integers(0, 1099), st.integers(0, 255)), max_size=40),
    grow=st.sampled_from([0, 8, 13]),
    grown_writes=st.lists(st.integers(0, 12), max_size=4),
    exclude=st.lists(st.tuples(st.integers(0, 1100), st.integers(0, 40)), max_size=3),
    seed=st.integers(0, 2**32 - 1),
)
def test_changed_outside_the_stack_matches_a_full_memory_diff(
    size: int, stack: tuple[int, int], writes: list[tuple[int, int]], grow: int, grown_writes: list[int],
    exclude: list[tuple[int, int]], seed: int,
) -> None:
    stack_lo, stack_pointer = min(stack), max(stack)
    runner = _runner(stack_lo, stack_pointer)
    memory = np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8)
    before_all = memory.copy()
    before = runner._outside_stack(memory)
    after = np.concatenate((memory, np.zeros(grow, dtype=np.uint8)))
    for address, value in writes:
        if address < size:
            after[address] = value  # also writes in the stack, and writes of the old value
    for offset in grown_writes:
        if offset < grow:
            after[size + offset] = offset + 1
    ranges = [(lo, lo + width) for lo, width in exclude]
    changed, values = runner._changed(before, after, ranges)
    want = _reference(before_all, after, runner.layout, ranges)
    assert changed.tolist() == want.tolist()
    assert values.tolist() == after[want].tolist()


def test_changed_sees_a_write_on_each_side_of_the_stack_only() -> None:
    runner = _runner(13, 1003)  # not word-aligned on either side
    memory = np.zeros(1024, dtype=np.uint8)
    before = runner._outside_stack(memory)
    after = memory.copy()
    after[[0, 12, 13, 500, 1002, 1003, 1023]] = 7
    changed, values = runner._changed(before, after, ())
    assert changed.tolist() == [0, 12, 1003, 1023]
    assert values.tolist() == [7, 7, 7, 7]


@given(st.lists(st.booleans(), max_size=200), st.integers(-50, 50))
def test_ranges_of_matches_the_runs_of_the_mask(bits: list[bool], base: int) -> None:
    want: list[tuple[int, int]] = []
    for index, bit in enumerate(bits):
        if bit and want and want[-1][1] == index - base:
            want[-1] = (want[-1][0], index + 1 - base)
        elif bit:
            want.append((index - base, index + 1 - base))
    assert ranges_of(np.array(bits, dtype=bool), base) == tuple(want)


@settings(max_examples=100, deadline=None)
@given(
    flags=st.lists(st.booleans(), min_size=1, max_size=24),
    tail=st.integers(0, PAGE - 1),
    keep=st.lists(st.tuples(st.integers(0, 25 * PAGE), st.integers(0, 3 * PAGE)), max_size=3),
    min_pages=st.integers(1, 4),
)
def test_zero_page_runs_are_whole_zero_pages_outside_keep(
    flags: list[bool], tail: int, keep: list[tuple[int, int]], min_pages: int
) -> None:
    memory = np.zeros(len(flags) * PAGE + tail, dtype=np.uint8)
    for page, nonzero in enumerate(flags):
        if nonzero:
            memory[page * PAGE + (page * 37) % PAGE] = 1
    ranges = [(lo, lo + width) for lo, width in keep]
    zero_page = [
        not nonzero and not any(lo < hi and lo < (page + 1) * PAGE and page * PAGE < hi for lo, hi in ranges)
        for page, nonzero in enumerate(flags)
    ]
    want, start = [], None
    for page, flag in enumerate([*zero_page, False]):
        if flag and start is None:
            start = page
        elif not flag and start is not None:
            if page - start >= min_pages:
                want.append((start * PAGE, page * PAGE))
            start = None
    assert zero_page_runs(memory, ranges, min_pages) == tuple(want)


@pytest.fixture(scope="module", params=ENGINES)
def factory(request: pytest.FixtureRequest) -> StateFactory:
    made = StateFactory(rw.compile(REALM_WASM, engine=request.param), prime=REGION)
    made.finish(made.fresh())  # takes the snapshot
    return made


def _scribble(view: Any, rng: random.Random) -> None:
    size = int(view.shape[0])
    for _ in range(20):
        lo = rng.randrange(0, size)
        view[lo : min(size, lo + rng.randrange(1, 3 * PAGE))] = rng.randrange(1, 256)
    view[0] = view[size - 1] = 0xFF


def test_restored_memory_equals_the_snapshot_byte_for_byte(factory: StateFactory) -> None:
    reset = factory.memory_reset
    assert reset is not None
    if sys.platform.startswith("linux"):
        assert reset.drops_pages, reset.reason  # the fixture's stack and free heap are zero pages
        assert sum(hi - lo for lo, hi in reset.zero_runs) >= 1 << 20
    snapshot = factory.base_memory()
    assert snapshot is not None
    rng = random.Random(7)
    for _ in range(5):
        instance = factory.fresh()
        _scribble(instance.memory.view(), rng)
        factory.finish(instance)
        restored = factory.fresh()
        assert restored is instance
        assert np.array_equal(restored.memory.view(), snapshot)
        factory.finish(restored)


def test_pages_that_do_not_read_back_as_zeros_are_copied(
    factory: StateFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where dropping a page keeps its bytes (a shared mapping), the check says so and every page is copied."""
    monkeypatch.setattr(state, "_libc_madvise", lambda: (lambda address, length, advice: 0))
    instance = factory.fresh()
    snapshot = factory.base_memory()
    assert snapshot is not None
    reset = MemoryReset(instance, snapshot)
    assert not reset.drops_pages and reset.zero_runs == () and reset.copy_runs == ((0, snapshot.shape[0]),)
    assert reset.reason == "dropped pages do not read back as zeros here"
    assert np.array_equal(instance.memory.view(), snapshot)  # the check's own writes are undone
    _scribble(instance.memory.view(), random.Random(3))
    reset.restore(instance)
    assert np.array_equal(instance.memory.view(), snapshot)
    factory.finish(instance)


@pytest.mark.parametrize("engine", ENGINES)
def test_trials_on_dropped_pages_match_trials_on_copied_memory(engine: str) -> None:
    compiled = rw.compile(REALM_WASM, engine=engine)
    runners = {}
    for drops in (True, False):
        runner = runner_for(compiled, class_name="Realm")
        runner.factory = StateFactory(compiled, prime=REGION, page_drops=drops)  # as prepare() makes it
        runners[drops] = runner
    for runner in runners.values():
        runner.run(TrialSpec("heap", 16, 8))  # takes the snapshot
    assert runners[True].factory.memory_reset is not None and runners[False].factory.memory_reset is None
    rng = random.Random(5)
    statuses = set()
    for index in range(60):
        placement = rng.choice(["heap", "stack_reserved", "stack_unreserved", "static_data", "memory_end"])
        param = {"stack_unreserved": rng.randrange(0, 4096), "static_data": rng.randrange(1048560, 1093000),
                 "memory_end": rng.randrange(0, 64)}.get(placement, 0)  # fmt: skip
        spec = TrialSpec(placement, rng.randrange(0, 65), rng.choice([1, 2, 4, 8, 16]), param, canary=index)
        one, other = runners[True].run(spec), runners[False].run(spec)
        statuses.add(one.status)
        assert (one.status, one.error, one.words, one.written, one.guard_hits, one.slot_bytes) == (
            other.status, other.error, other.words, other.written, other.guard_hits, other.slot_bytes)
        assert one.changed.tolist() == other.changed.tolist() and one.values.tolist() == other.values.tolist()
    assert {"ok", "trap"} <= statuses
    assert runners[True].factory.counts["snapshot"] > 0


def test_a_reinstantiated_trial_leaves_the_snapshot_instance_restorable(factory: StateFactory) -> None:
    snapshot_instance = factory.fresh()
    factory.finish(snapshot_instance)
    factory.strategy = "reinstantiate"
    try:
        other = factory.fresh()
        assert other is not snapshot_instance
        other.memory.view()[:16] = 0xEE
        factory.finish(other)
    finally:
        factory.strategy = "snapshot"
    made = factory.counts["reinstantiate"]
    again = factory.fresh()
    assert again is snapshot_instance and factory.counts["reinstantiate"] == made
    assert np.array_equal(again.memory.view(), factory.base_memory())
    factory.finish(again)


def test_the_probe_drops_pages_only_in_the_stack_region() -> None:
    """What a trial diffs (all but the stack) is copied back: reading a dropped page again would fault."""
    runner = runner_for(rw.compile(REALM_WASM, engine="wasmer-cranelift"), class_name="Realm")
    reset, layout = runner.factory.memory_reset, runner.layout
    assert reset is not None and layout.stack_pointer > layout.stack_lo
    assert all(layout.stack_lo <= lo < hi <= layout.stack_pointer for lo, hi in reset.zero_runs)
    if sys.platform.startswith("linux"):
        assert reset.zero_runs
