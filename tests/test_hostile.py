"""Regression tests for the defects a hostile-user campaign found (issue 11, items 2, 5, 6, 7).

Each test here failed on the code before its fix (the note of that change says how it was
checked) and holds on every engine where it applies.
"""

from __future__ import annotations

import pickle
import threading
from pathlib import Path
from typing import Any

import pytest

import realm_wasmer as rw
from realm_wasmer.errors import HeapError, HostResultError, InvalidGuestValue
from realm_wasmer.host.heap import JsHeap

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
