"""Externref lowered to i32 handles for wasmer (issue 9): the EXTERNREF load transform,
the "handles" value store, the boundary that converts by the original signatures, the
refusals, the cache, and the rewrite CLI.

The fixture ``wasm/patterns/externref_closures.wat`` holds externref in every place
wasm-bindgen puts it (imports, exports, an exported externref table driven by
table.get/set/grow/size/fill/copy, locals, a block type, a typed select, ref.null,
ref.is_null, an immutable global) and a closure taking a JS value, called back
through the funcref table. Its observations on wasmtime (native externref) are the
reference every wasmer compiler must reproduce.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
from pathlib import Path
from typing import Any

import pytest
import wasmtime
from hypothesis import given, settings
from hypothesis import strategies as st

import realm_wasmer as rw
from realm_wasmer import engines, pipeline
from realm_wasmer.cache import ArtifactCache, cache_key
from realm_wasmer.errors import InvalidModule, UnsupportedFeature
from realm_wasmer.host.handles import EXTERNREF_TYPES, HandleStore, import_name
from realm_wasmer.transforms import TRANSFORMS
from realm_wasmer.transforms.externref import EXTERNREF, lower, outline
from realm_wasmer.transforms.trampolines import TRAMPOLINES
from realm_wasmer.wasm import FuncType, WasmModule, decode_module, encode_module, parse
from realm_wasmer.wasm import cli as wasm_cli
from realm_wasmer.wasm.opcodes import FUNCTION_INDEX_OPS

from .conftest import wat

CLOSURE_SIG = FuncType(("i32", "i32", "externref"), ("externref",))
WASMER = ["wasmer-cranelift", "wasmer-singlepass", "wasmer-llvm"]


class Host:
    """The fixture's imports, recording the Python types the handlers were given."""

    def __init__(self) -> None:
        self.seen: list[type] = []

    def imports(self) -> rw.Imports:
        imports = rw.Imports()

        def describe(caller: rw.Caller, value: Any) -> int:
            self.seen.append(type(value))
            return len(repr(value))

        imports.register("wbg", "__wbg_make", lambda caller, n: {"made": n})
        imports.register("wbg", "__wbg_describe", describe)
        imports.register("wbg", "__wbg_pair", lambda caller, x, n: (x, n))
        return imports


def fixture_bytes() -> bytes:
    return wat("externref_closures")


def session(engine: str, **options: Any) -> list[Any]:
    """Every observation of the fixture: values through exports, imports and the table, a closure."""
    host = Host()
    instance = rw.load(fixture_bytes(), engine=engine, imports=host.imports(), **options)
    call = instance.call
    seen: list[Any] = [call("roundtrip", "abc"), call("roundtrip", None), call("is_null", None), call("is_null", 0)]
    seen += [call("describe", ("t", 1)), call("null_global"), call("make_null")]
    call("put", 1, "one")
    seen += [call("get", 1), call("take_described", 1), call("get", 1)]
    seen += [call("grow", "g", 3), call("size")]
    call("fill", 4, "f", 2)
    seen.append([call("get", k) for k in range(7)])
    call("copy", 0, 4, 3)
    seen.append([call("get", k) for k in range(7)])
    seen += [call("slot_is_null", 3), call("slot_is_null", 0)]
    seen.append(instance.tables.call_function(0, CLOSURE_SIG, 2, 3, "x"))  # the host calls the closure
    seen.append(call("call_closure", 4, 5, "y"))  # the guest calls it through its table
    instance.tables.destroy_closure(1, 0, 0)
    seen.append(instance.engine_instance.global_get("destroyed"))
    with pytest.raises(rw.GuestTrap) as trapped:
        call("get", 99)
    seen.append(trapped.value.message)
    seen.append(sorted({t.__name__ for t in host.seen}))
    return seen


@pytest.fixture(scope="module")
def reference() -> list[Any]:
    return session("wasmtime")


def test_the_reference_observations(reference: list[Any]) -> None:
    assert reference == [
        "abc", {"made": 7}, 1, 0, 8, None, None, "one", 5, None, 4, 7,
        [None, None, None, None, "f", "f", "g"], ["f", "f", "g", None, "f", "f", "g"], 1, 0,
        ("x", 5), ("y", 9), 1, "undefined table element", ["str", "tuple"],
    ]


@pytest.mark.parametrize("engine", WASMER)
def test_every_wasmer_compiler_gives_the_reference_observations(engine: str, reference: list[Any]) -> None:
    """Same values (user handlers see values, never handles), same table contents, the closure
    called from the host and from the guest, the same trap."""
    assert session(engine) == reference


def test_wasmer_runs_the_lowered_module_with_the_handle_store() -> None:
    instance = rw.load(fixture_bytes(), engine="wasmer-cranelift", imports=Host().imports())
    assert isinstance(instance.values, HandleStore)
    assert [t.name for t in instance.compiled.prepared.transforms][:1] == ["externref_lowering"]
    # the instance speaks of the original module: its signatures, its exports
    assert instance.info.module.export_signature("roundtrip") == FuncType(("externref",), ("externref",))
    assert instance.context.module.export_signature("roundtrip") == FuncType(("i32",), ("i32",))
    assert instance.context.module.export("__wbindgen_externrefs") is None
    assert instance.info.module.export("__wbindgen_externrefs") is not None
    view = instance.tables.native("__wbindgen_externrefs")
    assert view is not None and view.size() == 4


def test_handles_return_to_baseline_after_calls() -> None:
    instance = rw.load(fixture_bytes(), engine="wasmer-cranelift", imports=Host().imports())
    store = instance.values
    assert isinstance(store, HandleStore)
    baseline = (store.handle_count(), instance.stats()["externref_live"])
    assert instance.stats().handles_live == baseline[0]
    for round_ in range(50):
        instance.call("roundtrip", f"value {round_}")
        instance.call("roundtrip", None)  # the host makes a value inside the call
        instance.call("describe", [round_])
        instance.call("put", 2, round_)
        assert instance.call("take_described", 2) > 0
        instance.tables.call_function(0, CLOSURE_SIG, 1, 1, round_)
    assert (store.handle_count(), instance.stats()["externref_live"]) == baseline
    instance.call("put", 3, "kept")
    assert store.handle_count() == baseline[0] + 1, "a value in a table slot keeps exactly its handle"
    assert instance.stats().handles_live == baseline[0] + 1
    instance.call("copy", 0, 3, 1)
    assert store.handle_count() == baseline[0] + 1, "a second slot shares the handle"
    instance.call("put", 3, None)
    assert instance.call("get", 0) == "kept"
    instance.call("put", 0, None)
    assert store.handle_count() == baseline[0], "released when its last slot is cleared"


def test_snapshot_restore_brings_the_host_table_back() -> None:
    instance = rw.load(fixture_bytes(), engine="wasmer-cranelift", imports=Host().imports())
    instance.call("put", 0, "before")
    snapshot = instance.snapshot()
    instance.call("put", 0, "after")
    instance.call("grow", "more", 2)
    instance.restore(snapshot)
    assert instance.call("get", 0) == "before" and instance.call("size") == 4


def test_table_growth_is_charged_to_max_host_bytes() -> None:
    limits = rw.Limits(max_host_bytes=4096)
    instance = rw.load(fixture_bytes(), engine="wasmer-cranelift", imports=Host().imports(), limits=limits)
    assert instance.call("grow", None, 10) == 4
    with pytest.raises(rw.ResourceExhausted, match="max_host_bytes"):
        instance.call("grow", None, 100_000)


def test_without_transforms_wasmer_refuses_with_the_reason() -> None:
    with pytest.raises(rw.EngineRefused, match="externref.*transforms='auto'.*wasmtime"):
        rw.load(fixture_bytes(), engine="wasmer-cranelift", imports=Host().imports(), transforms="none")


def test_singlepass_refuses_multi_value_before_compiling(corpus: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = engines.lookup("wasmer-singlepass")

    def no_compile(*args: Any) -> Any:
        raise AssertionError("the module must be refused before it is compiled")

    monkeypatch.setattr(type(engine), "compile", no_compile)
    monkeypatch.setattr(pipeline, "_build", no_compile)
    with pytest.raises(rw.EngineRefused) as refused:
        rw.load(corpus["css_inline"]["wasm"], engine="wasmer-singlepass", on_missing="stub", cache=ArtifactCache(None))
    assert "multi-value" in refused.value.reason and "wasmer-cranelift or wasmtime" in refused.value.reason


def test_check_unprovided_is_the_one_refusal(corpus: dict) -> None:
    module = parse(corpus["css_inline"]["wasm"].read_bytes())
    engine = engines.lookup("wasmer-cranelift")
    needs = pipeline.refusable_needs(module)
    assert {"externref_crossing", "multi_value", "reference_types"} <= set(needs)
    steps = pipeline.plan(module, engine)
    assert steps[0] is EXTERNREF and TRANSFORMS[0] is EXTERNREF and TRAMPOLINES in steps
    engine.check_unprovided(needs, pipeline.provided(steps))  # cranelift runs multi-value: nothing left
    with pytest.raises(rw.EngineRefused, match="externref"):
        engine.check_unprovided(needs, frozenset())
    assert pipeline.plan(module, engines.lookup("wasmtime")) == ()


def test_a_second_load_hits_the_cache_and_does_not_rewrite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = ArtifactCache(tmp_path / "artifacts")
    first = rw.compile(fixture_bytes(), engine="wasmer-cranelift", cache=cache, imports=Host().imports())
    assert first.prepared.cache_outcome == "miss"

    def no_rewrite(*args: Any) -> Any:
        raise AssertionError("a cache hit must not run the transforms")

    monkeypatch.setattr(pipeline, "_build", no_rewrite)
    second = rw.compile(fixture_bytes(), engine="wasmer-cranelift", cache=cache, imports=Host().imports())
    assert second.prepared.cache_outcome == "hit"
    instance = second.instantiate()
    assert instance.call("roundtrip", "cached") == "cached"
    # the transform's version is part of the key: a new version is a new artifact
    engine = engines.lookup("wasmer-cranelift")
    assert EXTERNREF.key == "externref_lowering@1"
    assert cache_key(engine, fixture_bytes(), [EXTERNREF.key]) != cache_key(engine, fixture_bytes(), [])
    assert cache_key(engine, fixture_bytes(), [EXTERNREF.key]) != cache_key(engine, fixture_bytes(),
                                                                             ["externref_lowering@2"])


# -- the rewritten modules ----------------------------------------------------------------------------------------


def _shape(module: WasmModule) -> tuple[Any, ...]:
    signatures = dict(module.function_exports())
    # a NaN initial value (smith makes f32/f64 NaN globals) equals itself only as one object:
    # two parses of it compare unequal, so it is compared as a marker
    globals_ = tuple(
        (g.type, "NaN" if isinstance(g.init, float) and math.isnan(g.init) else g.init) for g in module.globals
    )
    return (module.imports, module.exports, globals_, signatures, module.start, module.memories, module.tables)


def _no_externref_left(module: WasmModule) -> None:
    for imp in module.imports:
        text = str(imp.type)
        assert "externref" not in text, imp
    for export in module.exports:
        assert "externref" not in str(export.type), export
    for glob in module.globals:
        assert glob.type.valtype not in EXTERNREF_TYPES
    for table in module.tables:
        assert table.element not in EXTERNREF_TYPES
    for func_type in module.types:
        assert not func_type.uses_externref, func_type


def _modules(corpus: dict) -> dict[str, bytes]:
    found = {name: info["wasm"].read_bytes() for name, info in corpus.items()}
    found["externref_closures"] = fixture_bytes()
    return found


def test_every_rewritten_module_validates_and_keeps_no_externref(corpus: dict, wasm_tools: Path) -> None:
    engine = engines.lookup("wasmer-cranelift")
    lowered = []
    for name, data in _modules(corpus).items():
        module = parse(data)
        steps = pipeline.plan(module, engine)
        out, rewritten = pipeline._build(data, module, engine, steps)
        assert wasmtime.Module.validate(wasmtime.Engine(), out) is None, name
        done = subprocess.run([str(wasm_tools), "validate", "-"], input=out, capture_output=True, timeout=120)
        assert done.returncode == 0, (name, done.stderr)
        _no_externref_left(rewritten)
        predicted = module
        for step in steps:
            predicted = step.outline(predicted)
        assert _shape(predicted) == _shape(rewritten), name
        if EXTERNREF in steps:
            lowered.append(name)
    assert {"css_inline", "rollup", "externref_closures"} <= set(lowered)


def test_only_lowered_bodies_change_beyond_the_index_shift(corpus: dict) -> None:
    """Every body is its original instructions with calls shifted by the 6 injected imports,
    except exactly the bodies the lowering reports touched; a body with no call to shift and
    nothing to lower is the original bytes."""
    data = corpus["rollup"]["wasm"].read_bytes()
    module = decode_module(data)
    report = lower(module)
    assert report["imports_added"] == [import_name(op, 1) for op in ("get", "set", "grow", "size", "fill")] + [
        "externref_copy_1_1"
    ]
    before, after = decode_module(data), decode_module(encode_module(module))
    first = before.imported_function_count
    assert after.imported_function_count == first + 6
    differing = identical = 0
    for old, new in zip(before.bodies, after.bodies, strict=True):
        old_ops = [(i.op, i.imm) for i in old.instructions]
        shifted = [
            (op, (imm[0] + 6,) + imm[1:]) if op in FUNCTION_INDEX_OPS and imm[0] >= first else (op, imm)
            for op, imm in old_ops
        ]
        if shifted != [(i.op, i.imm) for i in new.instructions] or old.locals != new.locals:
            differing += 1
        elif shifted == old_ops:
            assert old.source[old.entry_start : old.end] == new.source[new.entry_start : new.end]
            identical += 1
    assert differing == report["functions_touched"] > 0
    assert identical > 0
    assert outline(parse(data)).imported_function_count == first + 6


def test_rewrite_cli_reports_the_lowering(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "externref.wasm"
    source.write_bytes(fixture_bytes())
    out = tmp_path / "out.wasm"
    args = argparse.Namespace(module=str(source), output=str(out), identity=False, json=True, limits=False)
    assert wasm_cli.run(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["transforms"][0] == EXTERNREF.key
    assert report["imports_added"] == [f"__realm_wasmer.{import_name(op, 0)}"
                                       for op in ("get", "set", "grow", "size", "fill")] + [
        "__realm_wasmer.externref_copy_0_0"
    ]
    assert report["exports_removed"] == ["__wbindgen_externrefs"]
    assert "__realm_call_indirect_iii_i" in report["trampolines"]
    assert report["functions_touched"] >= 10 and report["seconds"] > 0
    assert report["steps"][0]["transform"] == EXTERNREF.key and report["steps"][0]["seconds"] >= 0
    _no_externref_left(parse(out.read_bytes()))


# -- what is refused, and where ------------------------------------------------------------------------------------


def _lowering_error(text: str) -> Exception:
    data = bytes(wasmtime.wat2wasm(text))
    with pytest.raises((UnsupportedFeature, InvalidModule)) as raised:
        EXTERNREF.apply(data, parse(data))
    return raised.value


def test_an_imported_externref_global_is_refused_naming_the_section_and_offset() -> None:
    error = _lowering_error('(module (import "env" "g" (global $g externref)))')
    assert isinstance(error, UnsupportedFeature)
    assert error.section == "import" and isinstance(error.offset, int)  # type: ignore[attr-defined]
    assert "import section" in str(error) and "byte offset" in str(error)


MUTABLE_GLOBAL_WAT = """(module
  (global $g (mut externref) (ref.null extern))
  (func (export "keep") (param externref) (global.set $g (local.get 0)))
  (func (export "kept") (result externref) (global.get $g))
  ;; replace the global's value, then use the old one (only the stack holds it now)
  (func (export "swap") (param externref) (result externref)
    (local $old externref)
    (local.set $old (global.get $g))
    (global.set $g (local.get 0))
    (local.get $old)))"""


@pytest.mark.parametrize("engine", ["wasmtime", "wasmer-cranelift"])
def test_a_mutable_externref_global_holds_its_value_across_calls(engine: str) -> None:
    instance = rw.load(bytes(wasmtime.wat2wasm(MUTABLE_GLOBAL_WAT)), engine=engine)
    instance.call("keep", "first")
    assert instance.call("kept") == "first"
    assert instance.call("swap", "second") == "first"
    assert instance.call("kept") == "second"
    instance.call("keep", None)
    assert instance.call("kept") is None
    if engine != "wasmtime":
        assert isinstance(instance.values, HandleStore) and instance.values.handle_count() == 0


IDENTITY_WAT = """(module
  (func (export "same") (param externref) (result externref) (local.get 0))
  (func (export "pair") (param i32) (result i32 i32) (local.get 0) (i32.const 7)))"""


@pytest.mark.parametrize("engine", ["wasmtime", "wasmer-cranelift"])
def test_a_list_passed_as_externref_comes_back_as_the_same_list(engine: str) -> None:
    """A host value crosses as itself (wasmtime's adapter once turned a list result into a tuple,
    taking it for a multi-value result); multi-value results are still tuples."""
    instance = rw.load(bytes(wasmtime.wat2wasm(IDENTITY_WAT)), engine=engine)
    value = [1, "two", [3]]
    back = instance.call("same", value)
    assert type(back) is list and back is value
    assert instance.call("pair", 5) == (5, 7)


def test_an_undecidable_ref_is_null_is_refused_naming_the_function_and_offset() -> None:
    error = _lowering_error(
        "(module (func) (func (param externref) (result i32) (local.get 0) (nop) (ref.is_null)))"
    )
    assert error.section == "code" and error.function_index == 1  # type: ignore[attr-defined]
    assert isinstance(error.offset, int) and "function 1" in str(error)  # type: ignore[attr-defined]
    assert "after nop" in str(error)


REF_IS_NULL_WAT = """(module
  (type $r (func (result externref)))
  (func (export "after_block") (param externref) (result i32)
    (ref.is_null (block (result externref) (local.get 0))))
  (func (export "after_typed_block") (param externref) (result i32)
    (ref.is_null (block (type $r) (local.get 0))))
  (func (export "after_if") (param externref) (param i32) (result i32)
    (ref.is_null (if (result externref) (local.get 1) (then (local.get 0)) (else (ref.null extern)))))
  (func (export "after_select") (param externref) (result i32)
    (ref.is_null (select (result externref) (local.get 0) (ref.null extern) (i32.const 1))))
  (func (export "funcref_is_null") (result i32)
    (ref.is_null (block (result funcref) (ref.func 0))))
  (func (export "unreachable_then") (result i32)
    (unreachable) (ref.is_null)))"""


@pytest.mark.parametrize("engine", ["wasmtime", "wasmer-cranelift"])
def test_ref_is_null_after_blocks_selects_and_unreachable_code(engine: str, wasm_tools: Path) -> None:
    data = bytes(wasmtime.wat2wasm(REF_IS_NULL_WAT))
    out = EXTERNREF.apply(data, parse(data))
    done = subprocess.run([str(wasm_tools), "validate", "-"], input=out, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    instance = rw.load(data, engine=engine)
    call = instance.call
    assert [call("after_block", None), call("after_block", "x")] == [1, 0]
    assert [call("after_typed_block", None), call("after_typed_block", "x")] == [1, 0]
    assert [call("after_if", "x", 1), call("after_if", "x", 0)] == [0, 1]
    assert [call("after_select", None), call("after_select", "x")] == [1, 0]
    assert call("funcref_is_null") == 0
    with pytest.raises(rw.GuestTrap, match="unreachable"):
        call("unreachable_then")


def test_table_init_into_an_externref_table_is_refused() -> None:
    error = _lowering_error(
        "(module (table 2 externref) (elem $e externref (ref.null extern))"
        " (func (table.init 0 $e (i32.const 0) (i32.const 0) (i32.const 1))))"
    )
    assert isinstance(error, UnsupportedFeature) and error.section == "code"  # type: ignore[attr-defined]
    assert error.function_index == 0 and "table.init" in str(error)  # type: ignore[attr-defined]


def test_null_externref_segments_become_empty_declarative_ones(wasm_tools: Path) -> None:
    data = bytes(wasmtime.wat2wasm(
        "(module (table $t 4 externref) (global $n externref (ref.null extern))"
        " (elem $a (table $t) (i32.const 1) externref (ref.null extern) (global.get $n))"
        " (elem $p externref (ref.null extern)) (elem $f funcref (ref.func $g)) (func $g (elem.drop $p))"
        " (func (export \"size\") (result i32) (table.size $t)))"
    ))
    out = EXTERNREF.apply(data, parse(data))
    segments = decode_module(out).elements
    assert [(s.mode, s.reftype, len(s.functions) + len(s.expressions)) for s in segments] == [
        ("declarative", "funcref", 0), ("declarative", "funcref", 0), ("passive", "funcref", 1)
    ]
    done = subprocess.run([str(wasm_tools), "validate", "-"], input=out, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert rw.load(data, engine="wasmer-cranelift").call("size") == 4
    with pytest.raises(UnsupportedFeature, match="no constant in-bounds offset"):
        bad = bytes(wasmtime.wat2wasm("(module (table 1 externref) (elem (table 0) (i32.const 1) externref"
                                      " (ref.null extern)))"))
        EXTERNREF.apply(bad, parse(bad))


#: wasm-tools smith: reference types and the proposals wasm-bindgen output uses (no GC, exceptions,
#: memory64/table64 or SIMD, which this lowering does not meet; the codec tests cover those).
SMITH_FLAGS = [
    *("--reference-types-enabled", "true", "--bulk-memory-enabled", "true", "--multi-value-enabled", "true"),
    *("--tail-call-enabled", "true", "--gc-enabled", "false", "--exceptions-enabled", "false"),
    *("--simd-enabled", "false", "--memory64-enabled", "false", "--compact-imports-enabled", "false"),
    *("--custom-descriptors-enabled", "false", "--shared-everything-threads-enabled", "false"),
    *("--min-funcs", "2", "--max-tables", "4"),
]


@given(seed=st.binary(min_size=256, max_size=3000))
@settings(max_examples=60, deadline=None)
def test_generated_modules_lower_to_valid_modules_or_a_located_refusal(wasm_tools: Path, seed: bytes) -> None:
    """For any module wasm-tools smith makes from ``seed``: the lowering either gives a valid
    module with no externref left whose outline is the one predicted, or refuses with an
    UnsupportedFeature naming a section (never another exception, never an invalid module)."""
    done = subprocess.run([str(wasm_tools), "smith", *SMITH_FLAGS], input=seed, capture_output=True, timeout=60)
    if done.returncode != 0:
        assert done.returncode == 2, done.stderr.decode()  # this seed cannot make a module
        return
    data = done.stdout
    original = parse(data)
    try:
        out = EXTERNREF.apply(data, original)
    except UnsupportedFeature as exc:
        assert exc.section in ("import", "type", "global", "table", "element", "code")  # type: ignore[attr-defined]
        return
    checked = subprocess.run([str(wasm_tools), "validate", "--features", "all", "-"], input=out,
                             capture_output=True, timeout=60)
    assert checked.returncode == 0, checked.stderr.decode()
    rewritten = parse(out)
    _no_externref_left(rewritten)
    assert _shape(outline(original)) == _shape(rewritten)


def test_a_malformed_body_is_a_typed_error_naming_section_function_and_offset() -> None:
    data = bytearray(fixture_bytes())
    module = decode_module(bytes(data))
    index, body = next((i, b) for i, b in module.function_bodies() if b.end - b.code_start > 4)
    data[body.code_start] = 0xFF  # not an opcode
    with pytest.raises(InvalidModule) as raised:
        rw.load(bytes(data), engine="wasmer-cranelift", imports=Host().imports(), cache=ArtifactCache(None))
    error = raised.value
    assert error.section == "code" and error.function_index == index  # type: ignore[attr-defined]
    assert error.offset == body.code_start  # type: ignore[attr-defined]


def _shift_both_ways(data: bytes, delta: int) -> tuple[bytes, bytes]:
    """The module with ``delta`` more function imports' worth of index shift: undecoded bodies
    (shifted at the byte level) and decoded ones (shifted instruction by instruction)."""
    fast, slow = decode_module(data), decode_module(data)
    for _, body in slow.function_bodies():
        _ = body.instructions
    at = fast.imported_function_count
    fast.shift_function_indices(delta, at)
    slow.shift_function_indices(delta, at)
    return encode_module(fast), encode_module(slow)


def test_the_byte_level_shift_equals_the_decoded_one_on_the_corpus(corpus: dict) -> None:
    for name, data in _modules(corpus).items():
        fast, slow = _shift_both_ways(data, 6)
        assert fast == slow, name


@given(seed=st.binary(min_size=256, max_size=3000), delta=st.sampled_from([1, 6, 127, 20000]))
@settings(max_examples=40, deadline=None)
def test_the_byte_level_shift_equals_the_decoded_one(wasm_tools: Path, seed: bytes, delta: int) -> None:
    """Shifting function indices without decoding the bodies (what every import-adding transform
    does) gives the bytes the instruction-level shift gives, LEB widths changing included."""
    done = subprocess.run([str(wasm_tools), "smith", *SMITH_FLAGS], input=seed, capture_output=True, timeout=60)
    if done.returncode != 0:
        assert done.returncode == 2, done.stderr.decode()
        return
    fast, slow = _shift_both_ways(done.stdout, delta)
    assert fast == slow


@pytest.mark.parametrize("engine", ["wasmtime", "wasmer-cranelift"])
def test_the_function_table_reads_like_a_table_on_every_engine(engine: str) -> None:
    """What the JS glue does with closures (``wasm.__wbindgen_export_2.get(i)(a, b, x)``): on wasmer
    the entry's signature comes from the original module's element segment and the call goes
    through the trampoline (JS values converted to handles and back)."""
    instance = rw.load(fixture_bytes(), engine=engine, imports=Host().imports())
    table = instance.tables.native("__wbindgen_export_2")
    assert table is not None
    store = instance.tables._store()
    invoke, destroy = table.get(store, 0), table.get(store, 1)
    assert tuple(invoke(store, 2, 3, "x")) == ("x", 5)
    destroy(store, 0, 0)
    assert instance.engine_instance.global_get("destroyed") == 1
    assert int(table.size(store)) == 2
    if engine != "wasmtime":
        assert table.get(store, 5) is None  # no element segment put a function there
        with pytest.raises(UnsupportedFeature, match="cannot be set"):
            table.set(store, 0, None)


def test_the_function_table_view_on_a_heap_module(engine: str) -> None:
    """The heap-slab closure fixture (wasm-bindgen <= 0.2.101 shape): invoke and destroy shims
    read out of the table and called, on every engine."""
    made: dict[int, tuple[int, int]] = {}

    def wrapper(caller: rw.Caller, a: int, b: int, _unused: int) -> int:
        made[len(made)] = (a, b)
        return len(made) - 1

    imports = rw.Imports({("wbg", "__wbindgen_closure_wrapper7"): wrapper, ("wbg", "__wbg_call_js"): lambda c, f, x: 0})
    instance = rw.load(wat("closure_table"), engine=engine, imports=imports)
    closure = instance.call("make_accumulator", 10)
    table = instance.tables.native("__wbindgen_export_2")
    assert table is not None
    store = instance.tables._store()
    assert [table.get(store, 4)(store, *made[closure], x) for x in (1, 2)] == [11, 13]
    table.get(store, 5)(store, *made[closure])
    assert instance.engine_instance.global_get("live_closures") == 0


EXCEPTIONS_WAT = (
    '(module (tag $t (param i32)) (func (export "f") (result i32) (block $b (result i32)'
    " (try_table (catch $t $b) (throw $t (i32.const 7))) (i32.const 0))))"
)
SHARED_WAT = (
    '(module (memory 1 1 shared) (func (export "f") (result i32) (i32.atomic.rmw.add (i32.const 0) (i32.const 5))))'
)


@pytest.mark.parametrize("engine", WASMER)
def test_what_wasmer_cannot_run_is_refused_before_compiling(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_compile(*args: Any) -> Any:
        raise AssertionError("refused before compiling")

    monkeypatch.setattr(type(engines.lookup(engine)), "compile", no_compile)
    with pytest.raises(rw.EngineRefused, match="exception handling.*1 exception tag.*engine='wasmtime'"):
        rw.load(bytes(wasmtime.wat2wasm(EXCEPTIONS_WAT)), engine=engine, cache=ArtifactCache(None))
    with pytest.raises(rw.EngineRefused, match="shared memor.*shared memory 0"):
        rw.load(bytes(wasmtime.wat2wasm(SHARED_WAT)), engine=engine, cache=ArtifactCache(None))


def test_wasmtime_runs_exceptions_and_refuses_shared_memory_with_the_reason() -> None:
    assert rw.load(bytes(wasmtime.wat2wasm(EXCEPTIONS_WAT)), engine="wasmtime").call("f") == 7
    with pytest.raises(rw.EngineRefused, match="without shared memory"):
        rw.load(bytes(wasmtime.wat2wasm(SHARED_WAT)), engine="wasmtime")


def test_the_host_view_of_the_lowered_table_leaves_no_handle_behind() -> None:
    instance = rw.load(fixture_bytes(), engine="wasmer-cranelift", imports=Host().imports())
    store = instance.values
    assert isinstance(store, HandleStore)
    view = instance.tables.native("__wbindgen_externrefs")
    assert view is not None
    baseline = store.handle_count()
    assert view.grow(None, 2, "filled") == 4 and view.size() == 6
    assert store.handle_count() == baseline + 1 and view.get(None, 5) == "filled"
    view.set(None, 4, None)
    view.set(None, 5, None)
    assert store.handle_count() == baseline
    assert view.grow(None, 2**32 - 1, "too many") == -1
    assert store.handle_count() == baseline, "a refused grow keeps no handle"
    view.set(None, 0, "x")
    assert instance.call("get", 0) == "x" and store.handle_count() == baseline + 1


@pytest.mark.parametrize("engine", ["wasmtime", "wasmer-cranelift"])
def test_a_package_through_its_own_glue_returns_to_baseline(corpus: dict, engine: str) -> None:
    """css_inline through load_package (its glue's addToExternrefTable0/takeFromExternrefTable0 on
    the lowered table): results and thrown values as Node's, live counts back to where they were."""
    cases = {c["id"]: c for c in corpus["css_inline"]["cases"]["cases"]}
    root = corpus["css_inline"]["wasm"].parent
    pkg = rw.load_package(root, engine=engine, entry="index.js")
    instance = pkg.__realm__.instances[0]

    def counts() -> tuple[int, int]:
        return instance.stats()["externref_live"], instance.stats().handles_live

    baseline = counts()
    for _ in range(5):
        assert pkg.inline(cases["inline_default"]["inputs"]["html"]) == cases["inline_default"]["output"]
        with pytest.raises(rw.JsError) as thrown:
            pkg.inline(cases["remote_stylesheet_throws"]["inputs"]["html"])
        assert thrown.value.value == cases["remote_stylesheet_throws"]["throws"]["thrown_non_error"]
    assert counts() == baseline
    if engine != "wasmtime":
        assert isinstance(instance.values, HandleStore) and baseline[1] == 4  # undefined x2, true, false


def _lowered_instance(**options: Any) -> tuple[rw.Instance, HandleStore]:
    instance = rw.load(fixture_bytes(), engine="wasmer-cranelift", imports=Host().imports(), **options)
    store = instance.values
    assert isinstance(store, HandleStore)
    return instance, store


def test_the_table_intrinsics_link_as_one_guarded_frame() -> None:
    """Each lowered-table intrinsic carries its guarded form (host/guarded.py): linked, it is
    one frame that counts the call under its import name."""
    instance, store = _lowered_instance()
    handlers = store.table_imports()
    for operation in ("get", "set", "grow", "size", "fill"):
        name = next(n for n in handlers if n.startswith(f"externref_{operation}_"))
        linked = instance.context.calls.guard(f"t.{name}", handlers[name], FuncType(("i32",) * 3, ()))
        assert linked.__code__.co_name == f"table_{operation}", name
    before = dict(instance.import_calls)
    instance.call("put", 1, "one")
    assert instance.call("get", 1) == "one"
    counted = {k: v - before.get(k, 0) for k, v in instance.import_calls.items() if v != before.get(k, 0)}
    assert counted == {f"__realm_wasmer.{import_name('set', 0)}": 1, f"__realm_wasmer.{import_name('get', 0)}": 1}


@pytest.mark.parametrize("export, args, label", [("put", (99, "x"), "table.set"), ("get", (99,), "table.get")])
def test_an_out_of_range_table_access_traps_naming_it(export: str, args: tuple[Any, ...], label: str) -> None:
    instance, store = _lowered_instance()
    baseline = store.handle_count()
    with pytest.raises(rw.GuestTrap) as trapped:
        instance.call(export, *args)
    assert trapped.value.message == "undefined table element"
    assert trapped.value.export == export and label in str(trapped.value.last_import)
    assert store.handle_count() == baseline, "the trapped call's pins were released"


def test_the_boundary_converts_multi_value_signatures_and_traps_on_a_dead_handle() -> None:
    """wrap_import/wrap_export are generated per signature: externref positions convert, the
    others pass as they are, a handle that is not live traps, a value crossing charges the budget."""
    instance, store = _lowered_instance(limits=rw.Limits(max_host_bytes=4096))
    seen: list[Any] = []

    def handler(value: Any, n: int) -> tuple[Any, int]:
        seen.append(value)
        return [value], n + 1

    lowered = store.wrap_import(handler, FuncType(("externref", "i32"), ("externref", "i32")))
    handle = store.mint("v")
    out, n = lowered(handle, 41)
    assert seen == ["v"] and n == 42 and out not in (0, handle) and store.value_of(out) == ["v"]
    assert lowered(0, 1)[0] != 0 and seen[-1] is None  # null in; a list out is a new handle
    assert store.wrap_import(lambda v: None, FuncType(("externref",), ("externref",)))(handle) == 0
    store.release_pinned()
    with pytest.raises(rw.GuestTrap, match="not live"):
        lowered(handle, 0)
    exported = store.wrap_export(lambda h, k: (h, k), FuncType(("externref", "i32"), ("externref", "i32")))
    assert exported("x", 7) == ("x", 7) and exported(None, 1) == (None, 1)
    store.release_pinned()
    used = instance.context.calls.budget.used
    with pytest.raises(rw.ResourceExhausted, match="max_host_bytes"):
        for k in range(10_000):
            exported(k, 0)
    assert instance.context.calls.budget.used > used
    store.release_pinned()


@pytest.mark.parametrize("engine", ["wasmtime", "wasmer-cranelift"])
@pytest.mark.parametrize("bad, reason", [("seven", "expected an integer"), (2**40, "does not fit in i32")])
def test_a_lowered_imports_bad_result_is_refused_as_on_native_externref(engine: str, bad: Any, reason: str) -> None:
    """The lowered import's conversion runs inside the guard (one frame) and checks the handler's
    other results as the guard does for a native externref import on wasmtime."""
    imports = rw.Imports()
    imports.register("wbg", "__wbg_make", lambda caller, n: {"made": n})
    imports.register("wbg", "__wbg_describe", lambda caller, value: bad)
    imports.register("wbg", "__wbg_pair", lambda caller, x, n: (x, n))
    instance = rw.load(fixture_bytes(), engine=engine, imports=imports)
    with pytest.raises(rw.HostResultError, match=reason) as refused:
        instance.call("describe", "x")
    assert refused.value.import_name == "wbg.__wbg_describe"
    assert instance.import_calls["wbg.__wbg_describe"] == 1


def test_a_lowered_import_links_as_one_frame_with_its_guard() -> None:
    instance, store = _lowered_instance()
    calls = instance.context.calls
    lowered = store.wrap_import(lambda value: len(value), FuncType(("externref",), ("i32",)), "wbg.f")
    linked = calls.guard("wbg.f", lowered, FuncType(("i32",), ("i32",)))
    assert linked.__code__.co_name == "lowered" and hasattr(lowered, "guarded")
    assert linked(store.mint("four")) == 4 and calls.import_calls["wbg.f"] == 1
    with pytest.raises(rw.GuestTrap, match="not live"):
        linked(12345)
    assert calls.last_import == "wbg.f"
    void_lowered = store.wrap_import(lambda v: v, FuncType(("externref",), ()), "wbg.g")
    void = calls.guard("wbg.g", void_lowered, FuncType(("i32",), ()))
    assert void(0) is None
    with pytest.raises(rw.HostResultError, match="returns nothing"):
        void(store.mint("not none"))
    store.release_pinned()
