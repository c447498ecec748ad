"""Limits (issue 11, item 3): hostile guests stop on every engine with ResourceExhausted,
naming the export and the limit; the instance is poisoned, never wrong; normal calls
give the same results with and without metering; grows past the bounds fail."""

from __future__ import annotations

import pickle
import threading
import time
from typing import Any

import pytest
import wasmtime

import realm_wasmer as rw
from realm_wasmer import engines
from realm_wasmer.cache import cache_key
from realm_wasmer.engines.limited import limited
from realm_wasmer.errors import UnsupportedFeature
from realm_wasmer.limits import CHECK_INTERVAL, Governor
from realm_wasmer.wasm import parse

from .conftest import REALM_WASM, realm_imports

HOSTILE = """
(module
  (memory (export "memory") 1 100)
  (table (export "functions") 1 50 funcref)
  (global $n (mut i32) (i32.const 0))
  (func $spin (export "spin") (loop $l (global.set $n (i32.add (global.get $n) (i32.const 1))) (br $l)))
  (func $deep (export "deep") (param i32) (result i32)   ;; recursion that ends, slowly
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $deep (i32.sub (local.get 0) (i32.const 1)))))))
  (func (export "sum_to") (param $k i32) (result i64) (local $t i64)
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $k)))
      (local.set $t (i64.add (local.get $t) (i64.extend_i32_u (local.get $k))))
      (local.set $k (i32.sub (local.get $k) (i32.const 1)))
      (br $l)))
    (local.get $t))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "grow_table") (param i32) (result i32) (table.grow (ref.null func) (local.get 0)))
  %s)
"""
SPIN_START = "(start $spin)"
SPIN_WBINDGEN_START = '(func (export "__wbindgen_start") (call $spin))'

FUEL = rw.Limits(fuel=2_000_000)
TIMEOUT = rw.Limits(timeout_s=0.2)


def hostile(extra: str = "") -> bytes:
    return bytes(wasmtime.wat2wasm(HOSTILE % extra))


@pytest.mark.parametrize("limits", [FUEL, TIMEOUT], ids=["fuel", "timeout"])
def test_an_infinite_loop_in_an_export_stops(engine: str, limits: rw.Limits) -> None:
    instance = rw.load(hostile(), engine=engine, limits=limits)
    assert instance.call("sum_to", 10) == 55
    started = time.perf_counter()
    with pytest.raises(rw.ResourceExhausted) as stopped:
        instance.call("spin")
    took = time.perf_counter() - started
    limit = "fuel" if limits.fuel else "timeout_s"
    assert stopped.value.export == "spin" and stopped.value.limit == limit
    assert stopped.value.value == getattr(limits, limit)
    assert "'spin'" in str(stopped.value) and limit in str(stopped.value)
    assert took < (2.0 if limit == "fuel" else 0.2 + 1.5)
    if limit == "timeout_s":
        assert took >= 0.2
    # poisoned, never wrong
    assert instance.poisoned and instance.stats().poisoned
    with pytest.raises(rw.PoisonedInstance):
        instance.call("sum_to", 10)
    assert instance.reset().call("sum_to", 10) == 55
    copy = pickle.loads(pickle.dumps(stopped.value))
    assert (copy.export, copy.limit, copy.value, copy.detail, str(copy)) == (
        stopped.value.export, limit, stopped.value.value, stopped.value.detail, str(stopped.value))


@pytest.mark.parametrize("where", ["start", "__wbindgen_start"])
def test_an_infinite_loop_at_instantiation_stops(engine: str, where: str) -> None:
    extra = SPIN_START if where == "start" else SPIN_WBINDGEN_START
    for limits in (FUEL, TIMEOUT):
        with pytest.raises(rw.ResourceExhausted) as stopped:
            rw.load(hostile(extra), engine=engine, limits=limits)
        assert stopped.value.export == ("<instantiation>" if where == "start" else "__wbindgen_start")
        assert stopped.value.limit == ("fuel" if limits.fuel else "timeout_s")


def test_fuel_is_per_call(engine: str) -> None:
    """A budget for each outermost call: many calls under it never add up to exhaustion."""
    instance = rw.load(hostile(), engine=engine, limits=rw.Limits(fuel=200_000))
    for _ in range(50):
        assert instance.call("sum_to", 2000) == 2001000
    with pytest.raises(rw.ResourceExhausted, match="fuel=200000"):
        instance.call("sum_to", 200_000)


def test_results_equal_with_and_without_limits(engine: str) -> None:
    imports = realm_imports()[0]
    plain: Any = rw.bind(REALM_WASM, engine=engine, imports=imports)
    limits = rw.Limits(fuel=10**9, timeout_s=60.0, max_memory_pages=4096, max_table_elements=10**6)
    metered: Any = rw.bind(REALM_WASM, engine=engine, imports=realm_imports()[0], limits=limits)
    for value in (0, 5, 2**31, 2**32 - 1):
        assert metered.rt_u32(value) == plain.rt_u32(value)
    for text in ("", "héllo", "x" * 5000):
        assert metered.rt_string(text) == plain.rt_string(text)
    instance = rw.load(hostile(), engine=engine, limits=limits)
    assert instance.call("deep", 1000) == 1000 and instance.call("sum_to", 100_000) == 5000050000
    assert not metered.instance.poisoned


def test_memory_and_table_growth_are_bounded(engine: str) -> None:
    instance = rw.load(hostile(), engine=engine, limits=rw.Limits(max_memory_pages=3, max_table_elements=4))
    assert instance.call("grow", 1) == 1  # 1 -> 2 pages
    assert instance.call("grow", 2) == -1  # 4 > 3: refused, as a grow past the module's maximum
    assert instance.call("grow", 1) == 2 and instance.memory.size == 3 * 65536
    assert instance.call("grow", 1) == -1
    assert instance.call("grow_table", 3) == 1 and instance.call("grow_table", 1) == -1
    assert not instance.poisoned
    unbounded = rw.load(hostile(), engine=engine)
    assert unbounded.call("grow", 10) == 1  # the module's own maximum (100) is the only bound
    assert rw.load(hostile(), engine=engine, limits=rw.Limits(max_memory_pages=1)).call("grow", 1) == -1
    big = bytes(wasmtime.wat2wasm('(module (memory (export "memory") 8))'))
    with pytest.raises(rw.ResourceExhausted, match="max_memory_pages=4") as refused:
        rw.load(big, engine=engine, limits=rw.Limits(max_memory_pages=4))
    assert refused.value.export == "<instantiation>" and "8 pages" in str(refused.value)


def test_limits_are_checked_and_need_transforms() -> None:
    for bad in ({"fuel": 0}, {"fuel": 1.5}, {"timeout_s": -1}, {"max_memory_pages": True}):
        with pytest.raises(ValueError):
            rw.Limits(**bad)
    with pytest.raises(UnsupportedFeature, match="transforms='auto'"):
        rw.load(hostile(), engine="wasmer-cranelift", limits=FUEL, transforms="none")
    with pytest.raises(TypeError):
        rw.load(hostile(), engine="wasmer-cranelift", limits={"fuel": 5})
    assert rw.load(hostile(), limits=rw.Limits()).call("sum_to", 3) == 6  # nothing enforced, nothing added


def test_the_cache_key_holds_the_engine_configuration_and_the_transforms() -> None:
    data = hostile()
    module = parse(data)
    wasmtime_plain = engines.get("wasmtime")
    keys = {
        cache_key(limited(wasmtime_plain, limits, module), data)
        for limits in (rw.Limits(fuel=1), rw.Limits(fuel=99), rw.Limits(timeout_s=1.0), rw.Limits(fuel=1, timeout_s=1))
    }
    assert len(keys) == 3  # the fuel amount is set per call, not compiled in
    assert cache_key(wasmtime_plain, data) not in keys
    assert cache_key(limited(wasmtime_plain, rw.Limits(max_memory_pages=5), module), data) == cache_key(
        wasmtime_plain, data)  # store limits only: the same artifact
    for engine in ("wasmer-cranelift", "wasmtime"):
        first = rw.compile(data, engine=engine, limits=rw.Limits(fuel=10**6, timeout_s=5.0))
        again = rw.compile(data, engine=engine, limits=rw.Limits(fuel=10**7, timeout_s=9.0))
        assert again.cache_outcome == "hit", first.cache_outcome
        with pytest.raises(rw.ResourceExhausted, match="fuel=10000000"):
            again.instantiate().call("spin")


def test_timeouts_hold_on_wasmer_where_no_thread_can_run() -> None:
    """The guest comes back to the host every CHECK_INTERVAL units: a timeout alone is enough."""
    instance = rw.load(hostile(), engine="wasmer-singlepass", limits=rw.Limits(timeout_s=0.05))
    started = time.perf_counter()
    with pytest.raises(rw.ResourceExhausted, match="timeout_s=0.05"):
        instance.call("spin")
    assert time.perf_counter() - started < 1.0
    assert instance.import_calls["__realm_wasmer.out_of_fuel"] > 1


def test_the_governor_accounts_for_fuel_and_deadlines() -> None:
    now = [0.0]
    governor = Governor(rw.Limits(fuel=CHECK_INTERVAL + 10, timeout_s=1.0), clock=lambda: now[0])
    assert governor.begin("f") == CHECK_INTERVAL
    assert governor.refuel(-5) == 5  # CHECK_INTERVAL + 5 units used: 5 are left
    with pytest.raises(rw.ResourceExhausted) as out:
        governor.refuel(-1)
    assert out.value.limit == "fuel" and out.value.export == "f"
    governor.begin("g")
    now[0] = 2.0
    with pytest.raises(rw.ResourceExhausted, match="timeout_s=1.0"):
        governor.refuel(0)
    assert governor.may_grow("memory", 0, 2**20)  # no bound set
    bounded = Governor(rw.Limits(max_memory_pages=2))
    assert bounded.may_grow("memory", 1, 1) and not bounded.may_grow("memory", 1, -1)  # -1 is 2**32 - 1 pages
    assert bounded.refused == [("memory", 1, 2**32 - 1)]


def test_corpus_results_equal_under_metering(corpus: dict[str, Any]) -> None:
    """photon's recorded calls (compute-bound filters) give the recorded outputs when metered on wasmer."""
    from .test_corpus_calls import PH_RUNNERS, case_of, decode, encode

    entry = corpus["photon"]
    instance = rw.load(entry["wasm"], engine="wasmer-cranelift", glue=entry["glue"].read_text(),
                       limits=rw.Limits(fuel=10**11, timeout_s=120.0, max_memory_pages=16384))
    assert "metering@1" in [t.key for t in instance.compiled.prepared.transforms]
    for case_id, run in PH_RUNNERS.items():
        case = case_of(corpus, "photon", case_id)
        assert encode(run(instance, decode(case["inputs"]))) == case["output"], case_id
    assert not instance.poisoned


EXPORTED_GLOBALS = HOSTILE.replace('(global $n (mut i32)', '(global $n (export "n") (mut i32)')


def test_a_poisoned_instance_restores_when_every_mutable_global_is_exported(engine: str) -> None:
    """A snapshot holds all of the guest's state when no mutable global is hidden: restoring it
    after a limit stop gives a usable, unpoisoned instance with the old state."""
    data = bytes(wasmtime.wat2wasm(EXPORTED_GLOBALS % ""))
    instance = rw.load(data, engine=engine, limits=FUEL)
    snapshot = instance.snapshot()
    assert snapshot.globals["n"] == 0
    with pytest.raises(rw.ResourceExhausted):
        instance.call("spin")
    assert instance.poisoned and instance.engine_instance.global_get("n") > 0
    assert instance.restorable(snapshot)
    instance.restore(snapshot)
    assert not instance.poisoned and instance.engine_instance.global_get("n") == 0
    assert instance.call("sum_to", 10) == 55
    # a hidden mutable global (the $n of HOSTILE): a poisoned instance is not restorable
    hidden = rw.load(hostile(), engine=engine, limits=FUEL)
    before = hidden.snapshot()
    assert hidden.restorable(before)
    with pytest.raises(rw.ResourceExhausted):
        hidden.call("spin")
    assert not hidden.restorable(before)


def test_a_limit_stop_is_poisoned_by_the_call_guard_without_a_report_import(engine: str) -> None:
    """GuestCalls poisons on any ResourceExhausted (wasmtime's translated fuel/epoch trap, wasmer's
    metering import, an intrinsic's max_host_bytes): no hook import is linked for it."""
    instance = rw.load(hostile(), engine=engine, limits=rw.Limits(fuel=10_000, timeout_s=30.0))
    assert not [row for row in instance.import_table() if row["name"] == "limit_exceeded"]
    assert "limit_report" not in [t.name for t in instance.compiled.prepared.transforms]
    with pytest.raises(rw.ResourceExhausted) as stopped:
        instance.call("sum_to", 10**6)
    assert instance.context.calls.poisoned_by is stopped.value


def test_limits_and_resource_exhausted_are_top_level() -> None:
    from realm_wasmer.errors import ResourceExhausted
    from realm_wasmer.limits import Limits

    assert rw.Limits is Limits and rw.ResourceExhausted is ResourceExhausted
    assert {"Limits", "ResourceExhausted"} <= set(rw.__all__)
    assert issubclass(rw.ResourceExhausted, rw.RealmWasmerError)


@pytest.mark.parametrize("compiler", ["wasmer-cranelift", "wasmer-singlepass", "wasmer-llvm"])
def test_timeouts_hold_on_every_wasmer_compiler_and_other_threads_run(compiler: str) -> None:
    """wasmer holds the GIL for a whole guest call; the metered guest comes back to the host every
    CHECK_INTERVAL units, so the deadline is checked and a Python thread gets to run meanwhile."""
    instance = rw.load(hostile(), engine=compiler, limits=rw.Limits(timeout_s=0.3))
    ticks = [0]
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            ticks[0] += 1
            time.sleep(0.001)

    thread = threading.Thread(target=count)
    thread.start()
    try:
        time.sleep(0.01)
        before = ticks[0]
        with pytest.raises(rw.ResourceExhausted, match="timeout_s=0.3") as stopped:
            instance.call("spin")
    finally:
        stop.set()
        thread.join()
    assert stopped.value.export == "spin" and instance.poisoned
    assert ticks[0] > before  # the other thread ran during the guest call
    for extra, where in ((SPIN_START, "<instantiation>"), (SPIN_WBINDGEN_START, "__wbindgen_start")):
        with pytest.raises(rw.ResourceExhausted) as at_start:
            rw.load(hostile(extra), engine=compiler, limits=rw.Limits(timeout_s=0.1))
        assert (at_start.value.export, at_start.value.limit) == (where, "timeout_s")


def test_every_field_holds_together_on_every_engine(engine: str) -> None:
    """All five limits at once: each stops (or refuses) what it bounds, on each engine."""
    limits = rw.Limits(fuel=5_000_000, timeout_s=5.0, max_memory_pages=3, max_table_elements=4,
                       max_host_bytes=1 << 20)
    instance = rw.load(hostile(), engine=engine, limits=limits)
    assert instance.call("grow", 5) == -1 and instance.call("grow_table", 10) == -1
    assert instance.call("sum_to", 1000) == 500500
    with pytest.raises(rw.ResourceExhausted, match="fuel=5000000"):
        instance.call("spin")
    assert instance.context.calls.budget.limit == 1 << 20
