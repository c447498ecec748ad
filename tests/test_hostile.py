"""Regression tests for the defects a hostile-user campaign found (issue 11, items 2, 4, 5, 6, 7).

Each test here failed on the code before its fix (the note of that change says how it was
checked) and holds on every engine where it applies.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

import realm_wasmer as rw
from realm_wasmer.errors import HeapError, HostResultError, InvalidGuestValue
from realm_wasmer.host.heap import JsHeap
from realm_wasmer.host.intrinsics import CONSOLE_TEXT_LIMIT
from realm_wasmer.limits import DEFAULT_MAX_HOST_BYTES

from .conftest import REALM_WASM, realm_imports, wat2wasm_text

# -- item 2: one caller at a time ------------------------------------------------


def test_two_threads_on_one_instance(engine: str) -> None:
    """Strings in and out through one reusable out-slot, from three threads at once.
    wasmtime releases the GIL during a call: without the lock the threads read each
    other's results (wrong in 10 of 12 runs before). wasmer's objects belong to the
    thread that made them: other threads get a typed error naming both threads
    (before, wasmer's PanicException, a BaseException, escaped)."""
    m = rw.bind(REALM_WASM, engine=engine, imports=realm_imports()[0])
    errors: list[str] = []
    refused: list[rw.ForeignThread] = []

    def work(tag: str) -> None:
        for i in range(150):
            text = f"{tag}-{i}-" + "x" * (i % 17)
            try:
                got = m.rt_string(text)
            except rw.ForeignThread as exc:
                refused.append(exc)
                return
            if got != text[::-1]:  # rt_string reverses its argument
                errors.append(f"{tag}: sent {text!r}, got {got!r}")

    threads = [threading.Thread(target=work, args=(t,), name=f"worker-{t}") for t in ("a", "b", "c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    if engine.startswith("wasmer"):
        assert len(refused) == 3 and {e.caller for e in refused} == {"worker-a", "worker-b", "worker-c"}
        assert refused[0].owner == threading.current_thread().name
        assert pickle.loads(pickle.dumps(refused[0])).caller == refused[0].caller
        with pytest.raises(rw.ForeignThread):  # memory, too, is the owner's
            _in_thread(lambda: m.instance.memory.u8(0))
    else:
        assert refused == []
    assert m.rt_string("owner") == "renwo" and not m.instance.poisoned


def _in_thread(func: Any) -> Any:
    """Run ``func`` in another thread; re-raise what it raised."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = func()
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller
            box["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    if "error" in box:
        raise box["error"]
    return box.get("value")


# -- item 5: poisoning gaps --------------------------------------------------------

REENTER = """(module
  (import "env" "h" (func $h (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (result i32) call $h))"""


def _instance(engine: str, handler: Any, source: str = REENTER) -> rw.Instance:
    imports = rw.Imports()
    imports.register("env", "h", handler, caller=False)
    return rw.load(wat2wasm_text(source), engine=engine, imports=imports, cache=rw.ArtifactCache.disabled())


def test_a_js_error_raised_by_a_handler_poisons(engine: str) -> None:
    """Only the guest's own throw (__wbindgen_throw) may unwind without poisoning."""

    def handler() -> int:
        raise rw.JsError("from a handler")

    instance = _instance(engine, handler)
    with pytest.raises(rw.JsError, match="from a handler"):
        instance.call("run")
    assert instance.poisoned
    with pytest.raises(rw.PoisonedInstance):
        instance.call("run")


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit])
def test_keyboard_interrupt_and_system_exit_propagate_as_themselves(engine: str, exc_type: type) -> None:
    def handler() -> int:
        raise exc_type()

    instance = _instance(engine, handler)
    with pytest.raises(exc_type):
        instance.call("run")
    assert instance.poisoned


def test_a_trapping_start_function_is_a_guest_trap(engine: str) -> None:
    source = """(module (memory (export "memory") 1) (func $s unreachable) (start $s))"""
    with pytest.raises(rw.GuestTrap, match="unreachable") as info:
        rw.load(wat2wasm_text(source), engine=engine, cache=rw.ArtifactCache.disabled())
    assert info.value.export == "<instantiation>"


def test_an_out_of_bounds_data_segment_is_a_guest_trap(engine: str) -> None:
    source = """(module (memory (export "memory") 1) (data (i32.const 65535) "ab"))"""
    with pytest.raises((rw.GuestTrap, rw.EngineRefused)) as info:
        rw.load(wat2wasm_text(source), engine=engine, cache=rw.ArtifactCache.disabled())
    assert "out of bounds" in str(info.value)


# -- item 6: handler results are checked ---------------------------------------------


@pytest.mark.parametrize(
    ("result", "reason"),
    [(2**32 + 5, "does not fit in i32"), (-(2**31) - 1, "does not fit in i32"), ("7", "expected an integer"),
     ((1, 2), "expected an integer"), (None, "expected an integer")],
)
def test_a_handler_result_that_does_not_fit_is_refused(engine: str, result: Any, reason: str) -> None:
    instance = _instance(engine, lambda: result)
    with pytest.raises(HostResultError, match=reason) as info:
        instance.call("run")
    assert info.value.import_name == "env.h" and instance.poisoned
    assert pickle.loads(pickle.dumps(info.value)).import_name == "env.h"


def test_a_value_returned_for_a_void_import_is_refused(engine: str) -> None:
    source = """(module (import "env" "h" (func $h)) (memory (export "memory") 1)
      (func (export "run") (result i32) call $h i32.const 1))"""
    instance = _instance(engine, lambda: 5, source)
    with pytest.raises(HostResultError, match="returns nothing"):
        instance.call("run")


def test_in_range_results_pass_unchanged(engine: str) -> None:
    assert _instance(engine, lambda: 2**32 - 1).call("run") == -1  # u32 max is i32 -1
    assert _instance(engine, lambda: -(2**31)).call("run") == -(2**31)


# -- item 7: smaller ---------------------------------------------------------------


def test_intrinsics_are_not_answered_in_an_application_namespace() -> None:
    source = """(module (import "env" "__wbindgen_throw" (func $t (param i32 i32)))
      (memory (export "memory") 1) (func (export "run") i32.const 0 i32.const 0 call $t))"""
    instance = rw.load(wat2wasm_text(source), cache=rw.ArtifactCache.disabled())
    assert instance.import_table()[0]["resolver"] == "policy:trap"
    with pytest.raises(rw.UnresolvedImport):
        instance.call("run")


def test_negative_heap_indices_are_refused() -> None:
    heap = JsHeap(128)
    heap.add("x")
    with pytest.raises(HeapError, match="negative"):
        heap.get(-1)


def test_glue_text_is_never_read_as_a_path(tmp_path: Path) -> None:
    named = tmp_path / "glue.js"
    named.write_text("const heap = new Array(32).fill(undefined);\n")
    spec = rw.LoadSpec(REALM_WASM, glue=str(named))
    assert spec.glue_text() == str(named)  # the text given, not the file's contents
    assert rw.LoadSpec(REALM_WASM, glue_path=named).glue_text() == named.read_text()
    assert rw.inspect(REALM_WASM, glue_path=named).conventions.value_offset == 32
    with pytest.raises(TypeError, match="not both"):
        rw.LoadSpec(REALM_WASM, glue="x", glue_path=named).glue_text()


def test_invalid_utf8_from_the_guest_is_a_typed_error() -> None:
    instance = rw.load(REALM_WASM, imports=realm_imports()[0])
    ptr = instance.abi.malloc(4, 1)
    instance.memory.write(ptr, b"\xff\xfe\xfd\xfc")
    with pytest.raises(InvalidGuestValue, match=r"not valid UTF-8.*at byte 0"):
        instance.memory.string(ptr, 4)


def test_a_float_argument_beyond_f64_is_an_argument_range_error() -> None:
    m = rw.bind(REALM_WASM, imports=realm_imports()[0])
    with pytest.raises(rw.ArgumentRangeError, match="exceeds the largest float"):
        m.rt_f64(10**400)
    assert m.rt_f64(1.5) == 3.0


def test_bad_paths_raise_pythons_own_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        rw.load(tmp_path / "missing.wasm")
    with pytest.raises(IsADirectoryError):
        rw.load(tmp_path)


# -- item 4: intrinsics that allocate on the host are bounded by Limits.max_host_bytes ---------

ALLOCATOR = """(module
 (import "wbg" "__wbindgen_string_new" (func $s (param i32 i32) (result i32)))
 (import "wbg" "__wbindgen_number_new" (func $num (param f64) (result i32)))
 (import "wbg" "__wbindgen_externref_table_grow" (func $g (param i32) (result i32)))
 (import "wbg" "__wbindgen_object_clone_ref" (func $clone (param i32) (result i32)))
 (import "wbg" "__wbg_log_0123456789abcdef" (func $log (param i32 i32)))
 (memory (export "memory") 1024)
 (func (export "strings") (param $n i32) (param $len i32)
   (block $d (loop $l (br_if $d (i32.eqz (local.get $n)))
     (drop (call $s (i32.const 0) (local.get $len)))
     (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br $l))))
 (func (export "numbers") (param $n i32)
   (block $d (loop $l (br_if $d (i32.eqz (local.get $n)))
     (drop (call $num (f64.const 1.5)))
     (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br $l))))
 (func (export "grow") (param i32) (result i32) (call $g (local.get 0)))
 (func (export "clones") (param $n i32)
   (block $d (loop $l (br_if $d (i32.eqz (local.get $n)))
     (drop (call $clone (i32.const 130)))
     (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br $l))))
 (func (export "log") (param $n i32) (param $len i32)
   (block $d (loop $l (br_if $d (i32.eqz (local.get $n)))
     (call $log (i32.const 0) (local.get $len))
     (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br $l)))))"""
MIB = 1024 * 1024


def allocator(engine: str, limits: Any = None) -> rw.Instance:
    return rw.load(wat2wasm_text(ALLOCATOR), engine=engine, limits=limits, cache=rw.ArtifactCache.disabled())


def test_host_allocations_are_bounded_per_call(engine: str) -> None:
    """Each allocating intrinsic charges the call's budget before it allocates; past it the call
    stops with ResourceExhausted naming the export, the import and the limit, and poisons."""
    cases = [
        ("strings", (20, 4 * MIB), "__wbindgen_string_new"),
        ("numbers", (10_000,), "__wbindgen_number_new"),  # heap slab growth: 8 bytes a slot
        ("grow", (2**21,), "__wbindgen_externref_table_grow"),
        ("clones", (10_000,), "__wbindgen_object_clone_ref"),
        ("log", (20, 1 * MIB), "wbg.__wbg_log_0123456789abcdef"),
    ]
    for export, args, import_name in cases:
        instance = allocator(engine, rw.Limits(max_host_bytes=8 * MIB if export not in ("numbers", "clones") else 8000))
        with pytest.raises(rw.ResourceExhausted) as stopped:
            instance.call(export, *args)
        error = stopped.value
        assert (error.export, error.limit, error.value) == (export, "max_host_bytes", instance.compiled.spec.limits
                                                            .max_host_bytes), export
        assert import_name in error.detail and "max_host_bytes" in str(error)
        assert instance.poisoned
        with pytest.raises(rw.PoisonedInstance):
            instance.call("numbers", 1)
    # the refused grow allocated nothing; the strings stopped at the third 4 MiB copy
    assert allocator(engine).stats().externref_live == 0
    instance = allocator(engine, rw.Limits(max_host_bytes=9 * MIB))
    with pytest.raises(rw.ResourceExhausted):
        instance.call("strings", 20, 4 * MIB)
    assert instance.stats().heap_live == 2


def test_the_budget_is_per_call_and_none_disables_it(engine: str) -> None:
    instance = allocator(engine, rw.Limits(max_host_bytes=5 * MIB))
    for _ in range(10):  # 40 MiB in all, 4 MiB a call
        instance.call("strings", 1, 4 * MIB)
    assert instance.stats().heap_live == 10 and not instance.poisoned
    unbounded = allocator(engine, rw.Limits(max_host_bytes=None))
    unbounded.call("grow", 2**20)
    assert unbounded.call("grow", 0) == 2**20
    assert rw.Limits().max_host_bytes == DEFAULT_MAX_HOST_BYTES  # also the bound without Limits


def test_console_messages_are_bounded_by_bytes() -> None:
    instance = allocator("wasmtime")
    instance.call("log", 3, CONSOLE_TEXT_LIMIT * 4)
    assert len(instance.console_messages) == 3
    for method, text in instance.console_messages:
        assert method == "log" and len(text) < CONSOLE_TEXT_LIMIT + 64
        assert text.endswith(f"[{CONSOLE_TEXT_LIMIT * 3} more characters]")
    instance.call("log", 2, 100)
    assert instance.console_messages[-1] == ("log", "\x00" * 100)  # short messages kept whole


_RSS_CHILD = """
import json, sys
import realm_wasmer as rw, wasmtime

def peak_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

source, engine, export, args, limit = json.loads(sys.argv[1])
limits = rw.Limits(max_host_bytes=limit) if limit != "default" else None
instance = rw.load(bytes(wasmtime.wat2wasm(source)), engine=engine, limits=limits,
                   cache=rw.ArtifactCache.disabled())
before = peak_kib()
try:
    instance.call(export, *args)
    outcome = "returned"
except rw.ResourceExhausted as exc:
    outcome = exc.limit
print(json.dumps({"outcome": outcome, "grew_mib": (peak_kib() - before) / 1024}))
"""


def _rss_after(engine: str, export: str, args: list[int], limit: Any) -> dict[str, Any]:
    """Run one call in a child process; its outcome and how far the peak RSS rose (MiB)."""
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_RSS_CHILD), json.dumps([ALLOCATOR, engine, export, args, limit])],
        capture_output=True, text=True, timeout=300, cwd=root, env={"PYTHONPATH": str(root), "PATH": "/usr/bin"},
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("engine_name", ["wasmer-cranelift", "wasmtime"])
def test_the_issues_figures_are_refused_with_rss_barely_moving(engine_name: str) -> None:
    """Issue 11, item 4: externref_table_grow(2**27) took RSS to ~2 GiB, and 20 string_new
    calls of a 64 MiB-memory guest from 42 MB to 1.3 GB. Both are refused now, under the
    default bound and under a small one, before the host allocates."""
    grow = _rss_after(engine_name, "grow", [2**27], "default")
    assert grow["outcome"] == "max_host_bytes" and grow["grew_mib"] < 32, grow
    strings = _rss_after(engine_name, "strings", [20, 60 * MIB], 64 * MIB)
    assert strings["outcome"] == "max_host_bytes" and strings["grew_mib"] < 64 + 128, strings
    default = _rss_after(engine_name, "strings", [20, 60 * MIB], "default")
    assert default["outcome"] == "max_host_bytes" and default["grew_mib"] < 256 + 300, default


def test_the_js_evaluators_string_copies_are_charged(corpus: dict[str, Any]) -> None:
    """load_package: the glue's intrinsics and the evaluator's getStringFromWasm0 (the entry point
    of its copies out of guest memory) charge the instance's budget; past it the call stops."""
    from realm_wasmer.js import helpers

    pkg = rw.load_package(corpus["message_parser"]["glue"])
    instance = pkg.__realm__.instances[0]
    assert instance.context.calls.budget.limit == DEFAULT_MAX_HOST_BYTES
    assert len(pkg.parse_text("**hi** " * 3, True)) == 6
    instance.context.calls.budget.limit = 2000
    with pytest.raises(rw.ResourceExhausted) as stopped:
        pkg.parse_text("**hi** " * 1000, True)
    assert stopped.value.export == "parse_text" and stopped.value.limit == "max_host_bytes"
    assert instance.poisoned
    fresh = instance.reset()
    fresh.context.calls.budget.limit = 100
    fresh.memory.write(8, b"x" * 64)
    assert helpers._decode(fresh.context, 8, 64) == "x" * 64
    with pytest.raises(rw.ResourceExhausted, match="getStringFromWasm0"):
        helpers._decode(fresh.context, 8, 64)  # 128 bytes in this (host-side) call: past 100
