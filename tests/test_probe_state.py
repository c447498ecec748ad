"""The probe's fast memory work against the plain full-memory reference.

A trial copies only the memory outside the stack before the call and diffs only
that (the stack region is never reported); these tests compare the result with the
straightforward form (copy all of memory, diff all of it, drop the stack and the
excluded ranges) on random memories, layouts that are not word-aligned, writes on
the region edges and memory grown by the call.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from realm_wasmer.probe.trial import MemoryLayout, TrialRunner, ranges_of


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
