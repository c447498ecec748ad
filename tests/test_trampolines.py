"""Load transforms for the host's reach into a module (issue 9): funcref trampolines
(closures invoked and destroyed through the function table on wasmer) and the
stack pointer export (snapshots of raw modules); the outline each transform
predicts equals the rewritten module's; ``realm-wasmer rewrite`` applies them."""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import wasmtime

import realm_wasmer as rw
from realm_wasmer import engines, pipeline
from realm_wasmer.host.tables import trampoline_name
from realm_wasmer.limits import Limits
from realm_wasmer.transforms import TRANSFORMS, Transform, stack_pointer, trampolines
from realm_wasmer.transforms.metering import FUEL_EXPORT, GROW_GUARD, METERING
from realm_wasmer.wasm import FuncType, WasmModule, decode_module, parse
from realm_wasmer.wasm import cli as wasm_cli

from .conftest import REALM_WASM, realm_imports, wat

INVOKE, DESTROY = 4, 5
#: The transforms of this work (the registry may hold others, e.g. externref lowering).
OURS = [trampolines.TRAMPOLINES, stack_pointer.STACK_POINTER, GROW_GUARD, METERING]
INVOKE_SIG = FuncType(("i32", "i32", "i32"), ("i32",))


class Closures:
    """The JS side of the fixture's closures: ``__wbindgen_closure_wrapper7`` keeps (a, b);
    ``__wbg_call_js`` calls one back through the invoke shim in the funcref table."""

    def __init__(self) -> None:
        self.made: dict[int, tuple[int, int]] = {}

    def imports(self) -> rw.Imports:
        def wrapper(caller: rw.Caller, a: int, b: int, _unused: int) -> int:
            index = 1000 + len(self.made)
            self.made[index] = (a, b)
            return index

        def call_js(caller: rw.Caller, f: int, x: int) -> int:
            a, b = self.made[f]
            return int(caller.tables.call_function(INVOKE, INVOKE_SIG, a, b, x))

        return rw.Imports({("wbg", "__wbindgen_closure_wrapper7"): wrapper, ("wbg", "__wbg_call_js"): call_js})


def closure_session(engine: str, **options: Any) -> list[Any]:
    """Make closures, call them from the host and from the guest, drop them: every observation."""
    js = Closures()
    instance = rw.load(wat("closure_table"), engine=engine, imports=js.imports(), **options)
    seen: list[Any] = []
    acc = instance.call("make_accumulator", 10)
    scale = instance.call("make_scaler", 3)
    tables = instance.tables
    for x in (1, 2, 5):
        seen.append(tables.call_function(INVOKE, INVOKE_SIG, *js.made[acc], x))  # from the host
        seen.append(instance.call("call_js", scale, x))  # from the guest, through the host
    seen.append(instance.call("call_js", acc, 100))
    seen.append(instance.engine_instance.global_get("live_closures"))
    tables.destroy_closure(DESTROY, *js.made[acc])
    engine_instance = instance.engine_instance
    seen.append((engine_instance.global_get("live_closures"), engine_instance.global_get("dropped_state")))
    tables.destroy_closure(DESTROY, *js.made[scale])
    seen.append(instance.engine_instance.global_get("live_closures"))
    if engine != "wasmtime":  # the trampoline's call_indirect checks the entry's type
        with pytest.raises(rw.GuestTrap, match="indirect call type mismatch"):  # a drop shim is no invoke shim
            tables.call_function(2, INVOKE_SIG, 0, 0, 0)
    return seen


def test_closures_through_the_function_table_on_every_engine(engine: str) -> None:
    expected = closure_session("wasmtime")
    assert expected == [11, 3, 13, 6, 18, 15, 118, 2, (1, 118), 0]
    assert closure_session(engine) == expected
    instance = rw.load(wat("closure_table"), engine=engine, imports=Closures().imports())
    keys = [t.key for t in instance.compiled.prepared.transforms]
    assert keys == ([] if engine == "wasmtime" else ["funcref_trampolines@1", "stack_pointer_export@1"])


def test_closures_under_limits_give_the_same_results(engine: str) -> None:
    """Nested calls (host -> guest -> host -> trampoline) under every limit, metered on wasmer."""
    limits = Limits(fuel=10**9, timeout_s=30.0, max_memory_pages=16, max_table_elements=64)
    assert closure_session(engine, limits=limits) == closure_session("wasmtime")


def test_trampolines_for_every_numeric_signature() -> None:
    outline = parse(wat("closure_table"))
    names = {trampoline_name(s) for s in trampolines.signatures(outline)}
    assert names == {
        "__realm_call_indirect_ii_i", "__realm_call_indirect_i_v", "__realm_call_indirect_iii_i",
        "__realm_call_indirect_ii_v", "__realm_call_indirect_i_i",
    }
    assert trampolines.needs(outline)["table_access"].startswith("5 trampolines")
    rewritten = parse(trampolines.apply(wat("closure_table"), outline))
    assert trampolines.needs(rewritten) == {}  # nothing left to add: the pipeline's check passes
    no_table = parse(bytes(wasmtime.wat2wasm('(module (func (export "f") (param i32) (result i32) local.get 0))')))
    assert trampolines.signatures(no_table) == [] and trampolines.apply(b"x", no_table) == b"x"


def test_wasmer_without_transforms_still_loads_and_names_the_trampoline() -> None:
    instance = rw.load(wat("closure_table"), engine="wasmer-cranelift", imports=Closures().imports(),
                       transforms="none")
    with pytest.raises(rw.RealmWasmerError, match="needs the trampoline export __realm_call_indirect_iii_i"):
        instance.tables.call_function(INVOKE, INVOKE_SIG, 0, 0, 0)


# -- the stack pointer ---------------------------------------------------------------


def test_realm_stack_pointer_is_exported_and_snapshotted() -> None:
    outline = parse(REALM_WASM.read_bytes())
    index = stack_pointer.stack_pointer(outline)
    assert index is not None
    assert stack_pointer.needs(outline) == {"stack_pointer_access": f"global {index} is not exported"}
    instance = rw.load(REALM_WASM, engine="wasmer-cranelift", imports=realm_imports()[0])
    assert "stack_pointer_export@1" in [t.key for t in instance.compiled.prepared.transforms]
    engine = instance.engine_instance
    start = engine.global_get(stack_pointer.EXPORT)
    assert start == outline.globals[index].init or 0 < start <= outline.globals[index].init
    expected = instance.call("rt_u32", 5)
    snapshot = instance.snapshot()
    assert snapshot.globals[stack_pointer.EXPORT] == start
    engine.global_set(stack_pointer.EXPORT, start - 4096)  # as a trap mid-call would leave it
    instance.restore(snapshot)
    assert engine.global_get(stack_pointer.EXPORT) == start
    assert instance.call("rt_u32", 5) == expected  # the module works from the restored state


def test_an_exported_stack_pointer_is_left_alone() -> None:
    outline = parse(wat("stack_pointer_global"))
    assert stack_pointer.needs(outline) == {}
    assert stack_pointer.outline(outline) is outline


# -- outlines, validity, the CLI --------------------------------------------------------


def _shape(module: WasmModule) -> tuple[Any, ...]:
    """What the instance links and calls from an outline."""
    signatures = dict(module.function_exports())
    return (module.imports, module.exports, module.globals, signatures, module.start, module.memories, module.tables)


def _modules() -> dict[str, bytes]:
    found = {
        "closure_table": wat("closure_table"),
        "realm": REALM_WASM.read_bytes(),
        "start": wasmtime.wat2wasm(
            '(module (memory 1) (table 2 funcref) (func $s (memory.grow (i32.const 1)) drop) (start $s)'
            ' (func (export "g") (result i32) (table.grow (ref.null func) (i32.const 1))))'
        ),
    }
    return {name: bytes(data) for name, data in found.items()}


@pytest.mark.parametrize("step", OURS, ids=lambda t: t.name)
@pytest.mark.parametrize("name", ["closure_table", "realm", "start"])
def test_each_outline_predicts_the_rewritten_module(step: Transform, name: str) -> None:
    data = _modules()[name]
    original = parse(data)
    out = step.apply(data, original)
    assert wasmtime.Module.validate(wasmtime.Engine(), out) is None
    assert _shape(step.outline(original)) == _shape(parse(out))


def test_the_planned_chain_validates_and_its_outline_matches(wasm_tools: Path) -> None:
    data = _modules()["realm"]
    module = parse(data)
    engine = engines.lookup("wasmer-cranelift")
    steps = pipeline.plan(module, engine, limits=Limits(fuel=10, max_memory_pages=100))
    assert [t.name for t in steps if t in OURS] == [
        "funcref_trampolines", "stack_pointer_export", "grow_guard", "metering"
    ]
    out, outline = pipeline._build(data, module, engine, steps)
    predicted = module
    for step in steps:
        predicted = step.outline(predicted)
    assert _shape(predicted) == _shape(outline) == _shape(parse(out))
    assert outline.export(FUEL_EXPORT) is not None
    done = subprocess.run([str(wasm_tools), "validate", "-"], input=out, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert METERING in steps and GROW_GUARD in steps
    assert pipeline.plan(module, engines.lookup("wasmtime"), limits=Limits(fuel=10)) == ()
    assert TRANSFORMS.index(METERING) > TRANSFORMS.index(GROW_GUARD) > TRANSFORMS.index(trampolines.TRAMPOLINES)


def test_rewrite_cli_applies_the_wasmer_transforms(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "closures.wasm"
    source.write_bytes(wat("closure_table"))
    out = tmp_path / "out.wasm"
    args = argparse.Namespace(module=str(source), output=str(out), identity=False, json=True, limits=False)
    assert wasm_cli.run(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["transforms"] == ["funcref_trampolines@1", "stack_pointer_export@1"]
    assert sorted(report["trampolines"]) == sorted(trampoline_name(s) for s in trampolines.signatures(parse(
        source.read_bytes())))
    assert report["imports_added"] == [] and report["functions_added"] == 5 and report["functions_touched"] == 0
    assert report["exports_added"] == sorted(report["trampolines"] + ["__realm_stack_pointer"])
    assert wasmtime.Module.validate(wasmtime.Engine(), out.read_bytes()) is None
    args = argparse.Namespace(module=str(source), output=str(out), identity=False, json=True, limits=True)
    assert wasm_cli.run(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert "metering@1" in report["transforms"] and "grow_guard@1" in report["transforms"]
    assert report["imports_added"] == ["__realm_wasmer.memory_grow", "__realm_wasmer.table_grow",
                                       "__realm_wasmer.out_of_fuel"]
    assert report["functions_touched"] >= 4  # the charged bodies (loops, calls)
    assert len(decode_module(out.read_bytes()).imports) == 5
