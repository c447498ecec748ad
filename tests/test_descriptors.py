"""Descriptor decoding, code tables, and the ``__wasm_bindgen_unstable`` program.

The encoders here are written from wasm-bindgen's grammar independently of the
decoders in realm_wasmer, so that round trips test one against the other. The
synthetic WAT module (``synthetic_module``) describes itself exactly like raw
wasm-bindgen output, to exercise types the Realm fixture does not have; it is
also bound in test_bindings.py.
"""

from __future__ import annotations

import json
import struct
from typing import Any, Optional, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import realm_wasmer as rw
from realm_wasmer.bindings import descriptors as d
from realm_wasmer.bindings import program as p
from realm_wasmer.wasm import FuncType, parse

from .conftest import REALM_WASM

PROPERTY = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- an independent descriptor encoder -------------------------------------------


def name_words(name: str, table: d.CodeTable) -> list[int]:
    length = len(name) if table.name_len_in_chars else len(name.encode("utf-8"))
    return [length, *(ord(c) for c in name)]


def encode(ty: d.Type, table: d.CodeTable) -> list[int]:
    c = table.code
    if isinstance(ty, d.Int):
        name = f"{'I' if ty.signed else 'U'}{ty.bits}" + ("_AS_F64" if ty.as_f64 else "")
        return [c(name)]
    simple = {d.Float(32): "F32", d.Float(64): "F64", d.Bool(): "BOOLEAN", d.Char(): "CHAR", d.Unit(): "UNIT",
              d.Str(): "STRING", d.Str(True): "CACHED_STRING", d.Externref(): "EXTERNREF", d.NonNull(): "NONNULL",
              d.RawPointer(): "RAW_POINTER"}  # fmt: skip
    if ty in simple:
        return [c(simple[ty])]
    wrappers = {d.Ref: "REF", d.RefMut: "REFMUT", d.Slice: "SLICE", d.Vector: "VECTOR", d.Option: "OPTIONAL",
                d.Result: "RESULT", d.Clamped: "CLAMPED"}  # fmt: skip
    if type(ty) in wrappers:
        assert isinstance(ty, d.Wrapper)
        return [c(wrappers[type(ty)]), *encode(ty.inner, table)]
    if isinstance(ty, d.RustStruct):
        return [c("RUST_STRUCT"), *name_words(ty.name, table)]
    if isinstance(ty, d.NamedExternref):
        return [c("NAMED_EXTERNREF"), *name_words(ty.name, table)]
    if isinstance(ty, d.Enum):
        return [c("ENUM"), *(name_words(ty.name or "", table) if table.enum_named else []), ty.hole]
    if isinstance(ty, d.StringEnum):
        return [c("STRING_ENUM"), *name_words(ty.name, table), ty.variant_count]
    if isinstance(ty, d.Function):
        inner = ty.inner_ret if ty.inner_ret is not None else ty.ret
        args = [w for a in ty.args for w in encode(a, table)]
        return [c("FUNCTION"), ty.shim_idx, len(ty.args), *args, *encode(ty.ret, table), *encode(inner, table)]
    if isinstance(ty, d.Closure):
        if table.closure_flags:
            head = [int(bool(ty.owned)), int(ty.mutable)]
        else:
            head = [ty.shim_idx or 0, ty.dtor_idx or 0, c("REFMUT" if ty.mutable else "REF")]
        return [c("CLOSURE"), *head, *encode(ty.function, table)]
    raise AssertionError(f"cannot encode {ty!r}")


NAMES = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=6)


def types_for(table: d.CodeTable) -> st.SearchStrategy[d.Type]:
    has = set(table.names)
    leaves: list[st.SearchStrategy[d.Type]] = [
        st.sampled_from([d.Int(b, s) for b in (8, 16, 32, 64) for s in (True, False)]),
        st.sampled_from([d.Float(32), d.Float(64), d.Bool(), d.Char(), d.Unit(), d.Str(), d.Str(True),
                         d.Externref()]),  # fmt: skip
        st.builds(d.RustStruct, NAMES),
        st.builds(d.NamedExternref, NAMES),
        st.builds(d.Enum, NAMES if table.enum_named else st.none(), st.integers(0, 2**32 - 1)),
    ]
    if "I128" in has:
        leaves.append(st.sampled_from([d.Int(128, True), d.Int(128, False)]))
    if "I64_AS_F64" in has:
        leaves.append(st.sampled_from([d.Int(64, True, True), d.Int(64, False, True)]))
    if "STRING_ENUM" in has:
        leaves.append(st.builds(d.StringEnum, NAMES, st.integers(0, 100)))
    if "NONNULL" in has:
        leaves.append(st.just(d.NonNull()))
    if "RAW_POINTER" in has:
        leaves.append(st.just(d.RawPointer()))

    def function(inner: st.SearchStrategy[d.Type]) -> st.SearchStrategy[d.Function]:
        return st.builds(
            d.Function, st.integers(0, 2**32 - 1), st.lists(inner, max_size=3).map(tuple), inner, inner
        )

    def extend(inner: st.SearchStrategy[d.Type]) -> st.SearchStrategy[d.Type]:
        wrappers = [d.Ref, d.RefMut, d.Slice, d.Vector, d.Option, d.Result, d.Clamped]
        closure = (
            st.builds(d.Closure, function(inner), st.booleans(), owned=st.booleans())
            if table.closure_flags
            else st.builds(d.Closure, function(inner), st.booleans(), st.integers(0, 2**32 - 1), st.integers(0, 99))
        )
        return st.one_of(*(st.builds(w, inner) for w in wrappers), function(inner), closure)

    return st.recursive(st.one_of(*leaves), extend, max_leaves=8)


# -- code tables ----------------------------------------------------------------

#: Values from ../shared/docs/wasm-bindgen-abi.md section 1.12 and describe.rs@0.2.83.
DOCUMENTED = {
    "0.2.83": {"I8": 0, "F32": 8, "BOOLEAN": 10, "FUNCTION": 11, "STRING": 14, "REF": 15, "SLICE": 17,
               "VECTOR": 18, "EXTERNREF": 19, "RUST_STRUCT": 22, "CHAR": 23, "OPTIONAL": 24, "RESULT": 25,
               "UNIT": 26, "CLAMPED": 27},
    "0.2.84": {"U64": 7, "F32": 8, "F64": 9, "BOOLEAN": 10, "FUNCTION": 11, "CLOSURE": 12, "CACHED_STRING": 13,
               "STRING": 14, "REF": 15, "REFMUT": 16, "LONGREF": 17, "SLICE": 18, "VECTOR": 19, "EXTERNREF": 20,
               "NAMED_EXTERNREF": 21, "ENUM": 22, "RUST_STRUCT": 23, "CHAR": 24, "OPTIONAL": 25, "RESULT": 26,
               "UNIT": 27, "CLAMPED": 28},
    "0.2.92": {"CLAMPED": 28, "NONNULL": 29},
    "0.2.93": {"STRING_ENUM": 23, "RUST_STRUCT": 24, "CLAMPED": 29, "NONNULL": 30},
    "0.2.96": {"I128": 8, "U128": 9, "F32": 10, "F64": 11, "BOOLEAN": 12, "FUNCTION": 13, "CLOSURE": 14,
               "CACHED_STRING": 15, "STRING": 16, "REF": 17, "REFMUT": 18, "LONGREF": 19, "SLICE": 20,
               "VECTOR": 21, "EXTERNREF": 22, "NAMED_EXTERNREF": 23, "ENUM": 24, "STRING_ENUM": 25,
               "RUST_STRUCT": 26, "CHAR": 27, "OPTIONAL": 28, "RESULT": 29, "UNIT": 30, "CLAMPED": 31,
               "NONNULL": 32},
    "0.2.119": {"I64_AS_F64": 8, "U64_AS_F64": 9, "I128": 10, "NONNULL": 34, "RAW_POINTER": 35},
    "0.2.121": {"STRING_ENUM": 27, "DYNAMIC_UNION": 28, "NONNULL": 35, "RAW_POINTER": 36},
}  # fmt: skip


@pytest.mark.parametrize("version", sorted(DOCUMENTED))
def test_code_tables_match_the_documented_values(version: str) -> None:
    table = d.code_table_for(version)
    assert table.since == version
    assert {name: table.codes[name] for name in DOCUMENTED[version]} == DOCUMENTED[version]
    assert len(set(table.names)) == len(table.names)


@pytest.mark.parametrize(
    "schema,since",
    [("0.2.83", "0.2.83"), ("0.2.87", "0.2.84"), ("0.2.95", "0.2.93"), ("0.2.100", "0.2.96"),
     ("0.2.114", "0.2.96"), ("0.2.115", "0.2.115"), ("0.2.120", "0.2.119"), ("0.2.126", "0.2.121"),
     ("0.2.127", "0.2.127")],  # fmt: skip
)
def test_code_table_is_keyed_on_the_schema_version(schema: str, since: str) -> None:
    assert d.code_table_for(schema).since == since


@pytest.mark.parametrize("schema", ["0.2.82", "0.2.128", "0.3.0", "banana", None, ""])
def test_unknown_schemas_are_refused(schema: Optional[str]) -> None:
    with pytest.raises(d.UnsupportedSchema, match=r"schema version"):
        d.code_table_for(schema)


def test_only_0_2_83_is_fully_supported() -> None:
    assert [t.since for t in d.CODE_TABLES if t.full] == ["0.2.83"]


# -- decoding -------------------------------------------------------------------


@pytest.mark.parametrize("since", [t.since for t in d.CODE_TABLES])
def test_every_code_table_round_trips_generated_type_trees(since: str) -> None:
    table = d.code_table_for(since)

    @PROPERTY
    @given(types_for(table))
    def check(ty: d.Type) -> None:
        assert d.decode(encode(ty, table), table) == ty

    check()


T83 = d.code_table_for("0.2.83")


@pytest.mark.parametrize(
    "words,text",
    [
        ([11, 0, 1, 24, 5, 24, 5, 24, 5], "fn(Option<u32>) -> Option<u32>"),
        ([11, 0, 1, 15, 14, 25, 14, 25, 14], "fn(&str) -> Result<String, JsValue>"),
        ([11, 0, 1, 15, 17, 1, 25, 26, 25, 26], "fn(&[u8]) -> Result<(), JsValue>"),
        ([11, 0, 0, 25, 22, 5, *b"Realm", 25, 22, 5, *b"Realm"], "fn() -> Result<Realm, JsValue>"),
        ([11, 0, 1, 16, 17, 8, 26, 26], "fn(&mut [f32])"),
        ([11, 0, 1, 27, 18, 1, 18, 1, 18, 1], "fn(Clamped<Vec<u8>>) -> Vec<u8>"),
        ([21, 7], "enum(hole=7)"),
        ([20, 3, 70, 111, 111], "Foo"),
        ([12, 40, 41, 16, 11, 9, 1, 5, 10, 10], "Closure<dyn FnMut(u32) -> bool>"),
    ],
)  # fmt: skip
def test_decoding_0_2_83_words(words: list[int], text: str) -> None:
    assert str(d.decode(words, T83)) == text


def test_closure_fields_by_era() -> None:
    legacy = d.decode([12, 40, 41, 15, 11, 9, 0, 26, 26], T83)
    assert legacy == d.Closure(d.Function(9, (), d.Unit(), d.Unit()), False, shim_idx=40, dtor_idx=41)
    t115 = d.code_table_for("0.2.115")
    fn = t115.code("FUNCTION")
    modern = d.decode([t115.code("CLOSURE"), 1, 1, fn, 3, 0, t115.code("UNIT"), t115.code("UNIT")], t115)
    assert modern == d.Closure(d.Function(3, (), d.Unit(), d.Unit()), True, owned=True)


def test_longref_is_a_ref_except_for_js_values() -> None:
    t = d.code_table_for("0.2.84")
    assert d.decode([t.code("LONGREF"), t.code("STRING")], t) == d.Ref(d.Str())
    assert d.decode([t.code("LONGREF"), t.code("EXTERNREF")], t) == d.Externref()


def test_name_lengths_count_bytes_before_0_2_127_and_chars_after() -> None:
    name = "Été😀"
    old = [22, len(name.encode()), *map(ord, name)]
    assert d.decode(old, T83) == d.RustStruct(name)
    new_table = d.code_table_for("0.2.127")
    new = [new_table.code("RUST_STRUCT"), len(name), *map(ord, name)]
    assert d.decode(new, new_table) == d.RustStruct(name)


@pytest.mark.parametrize(
    "words,message",
    [
        ([], "ended early"),
        ([99], "unknown descriptor code 99 at word 0"),
        ([11, 0, 2, 5], "ended early"),
        ([5, 5], "1 words left over"),
        ([22, 2, 0x110000, 65], "invalid char"),
        ([11, 0, 1000], "implausible argument count"),
        ([12, 1, 2, 15, 5], "must continue with FUNCTION"),
    ],
)
def test_decoding_errors_are_clear(words: list[int], message: str) -> None:
    with pytest.raises(d.DescriptorError, match=message):
        d.decode(words, T83)


def test_unimplemented_codes_are_reported_by_name() -> None:
    t = d.code_table_for("0.2.121")
    with pytest.raises(d.DescriptorError, match="DYNAMIC_UNION"):
        d.decode([t.code("DYNAMIC_UNION")], t)


# -- the ABI of 0.2.83 ------------------------------------------------------------


@pytest.mark.parametrize(
    "ty,receiver,signature",
    [
        (d.Function(0, (d.Int(8, False),), d.Int(8, False)), False, "(i32) -> (i32)"),
        (d.Function(0, (d.Int(64, True),), d.Int(64, True)), False, "(i64) -> (i64)"),
        (d.Function(0, (d.Str(),), d.Str()), False, "(i32, i32, i32) -> ()"),
        (d.Function(0, (d.Option(d.Int(32, False)),), d.Option(d.Int(32, False))), False, "(i32, i32, i32) -> ()"),
        (d.Function(0, (d.Option(d.Float(64)),), d.Option(d.Float(64))), False, "(i32, i32, f64) -> ()"),
        (d.Function(0, (d.Option(d.Bool()),), d.Option(d.Char())), False, "(i32) -> (i32)"),
        (d.Function(0, (d.Ref(d.Slice(d.Int(8, False))),), d.Result(d.Unit())), True, "(i32, i32, i32, i32) -> ()"),
        (d.Function(0, (), d.RustStruct("X")), True, "(i32) -> (i32)"),
        (d.Function(0, (d.Float(32),), d.Unit()), True, "(i32, f32) -> ()"),
    ],
)
def test_expected_signatures(ty: d.Function, receiver: bool, signature: str) -> None:
    assert str(d.expected_signature(ty, receiver)) == signature


def test_result_layouts_follow_c_alignment() -> None:
    assert d.abi_layout(d.Result(d.Float(64))).leaves == ((0, "f64"), (8, "i32"), (12, "i32"))
    assert d.abi_layout(d.Result(d.Str())).leaves == ((0, "i32"), (4, "i32"), (8, "i32"), (12, "i32"))
    assert d.abi_layout(d.Result(d.Unit())).leaves == ((0, "i32"), (4, "i32"))
    big = d.abi_layout(d.Result(d.Option(d.Float(64))))
    assert big.leaves == ((0, "i32"), (8, "f64"), (16, "i32"), (20, "i32")) and big.size == 24
    with pytest.raises(d.UnsupportedType):
        d.abi_layout(d.Int(128, True))


# -- the fixture ------------------------------------------------------------------


@pytest.fixture(scope="module")
def realm_instance() -> rw.Instance:
    return rw.load(REALM_WASM, engine="wasmtime")


def test_fixture_descriptors_decode(realm_instance: rw.Instance) -> None:
    described = d.describe_all(realm_instance)
    assert len(described) == 54
    assert str(described["realm_new"]) == "fn() -> Result<Realm, JsValue>"
    assert str(described["realm_generate"]) == "fn(&str) -> Result<String, JsValue>"
    assert str(described["rt_opt_u32"]) == "fn(Option<u32>) -> Option<u32>"
    assert str(described["realm_config"]) == "fn() -> WasmGenerationConfig"
    assert str(described["realm_by_ref"]) == "fn(&Realm) -> bool"
    assert str(described["rt_jsvalue_is_string"]) == "fn(&JsValue) -> bool"
    assert str(described["rt_boxed_u32"]) == "fn(Vec<u32>) -> Vec<u32>"
    assert str(described["__wbg_log_2779ba3813d69f4a"]) == "fn(&str)"
    assert realm_instance.describe_words == []
    for name, ty in described.items():  # every shim's wasm signature is what its descriptor implies
        if not name.startswith("__wbg_"):
            sig = realm_instance.info.module.export_signature(name)
            assert sig is not None
            assert sig in (d.expected_signature(ty, False), d.expected_signature(ty, True))  # type: ignore[arg-type]


def test_fixture_program(realm_instance: rw.Instance) -> None:
    programs = p.read_programs(realm_instance.info.module)
    assert (programs.schema_version, programs.version) == ("0.2.83", "0.2.83")
    assert len(programs.exports) == 53 and [s.name for s in programs.structs] == ["WasmGenerationConfig", "Realm"]
    (log,) = programs.imports
    assert (log.kind, log.name, log.js_namespace, log.shim) == ("function", "log", ("console",),
                                                                 "__wbg_log_2779ba3813d69f4a")  # fmt: skip
    by_export = {e.export_name: e for e in programs.exports}
    assert by_export["realm_new"].method_kind == p.MethodKind("constructor")
    assert by_export["realm_withConfig"].method_kind == p.MethodKind("regular", is_static=True)
    assert by_export["realm_set_maxTokens"].method_kind == p.MethodKind("setter", False, "maxTokens")
    assert by_export["realm_generate"].function.arg_names == ("prompt",)
    assert by_export["rt_u8"].class_name is None
    api = p.build_api(programs, realm_instance.info.module, d.describe_all(realm_instance))
    realm = api.classes["Realm"]
    assert realm.constructor is not None and realm.constructor.export == "realm_new"
    assert realm.free_export == "__wbg_realm_free"
    assert [m.js_name for m in realm.methods] == ["loadModel", "isLoaded", "modelInfo", "generate", "config",
                                                  "setConfig"]  # fmt: skip
    assert [m.js_name for m in realm.statics] == ["withConfig"]
    assert [(x.name, str(x.type), x.setter is not None) for x in realm.properties][:2] == [
        ("maxTokens", "u32", True), ("temperature", "f32", True)]  # fmt: skip
    assert api.member("realm_loadModel").rust_signature == "fn loadModel(&self, bytes: &[u8]) -> Result<(), JsValue>"
    assert api.functions["realm_by_ref"].params[0].type == d.Ref(d.RustStruct("Realm"))
    assert not api.unbound
    summary = p.api_summary(api)
    assert summary["classes"]["WasmGenerationConfig"]["constructor"] == "fn new() -> WasmGenerationConfig"


# -- an independent 0.2.83 program encoder ------------------------------------------


class Enc:
    def __init__(self) -> None:
        self.out = bytearray()

    def u32(self, value: int) -> "Enc":
        while True:
            byte = value & 0x7F
            value >>= 7
            self.out.append(byte | (0x80 if value else 0))
            if not value:
                return self

    def flag(self, value: bool) -> "Enc":
        self.out.append(int(value))
        return self

    def text(self, value: str) -> "Enc":
        data = value.encode()
        self.u32(len(data)).out.extend(data)
        return self

    def texts(self, values: Sequence[str]) -> "Enc":
        self.u32(len(values))
        for value in values:
            self.text(value)
        return self


def enc_function(e: Enc, name: str, args: Sequence[str], asyncness: bool = False) -> None:
    e.texts(args).flag(asyncness).text(name).flag(True).flag(False)


def enc_method_kind(e: Enc, kind: str, is_static: bool = False, prop: Optional[str] = None) -> None:
    if kind == "constructor":
        e.out.append(0)
        return
    e.out.append(1)
    e.flag(is_static)
    ops = ["regular", "getter", "setter", "indexing_getter", "indexing_setter", "indexing_deleter"]
    e.out.append(ops.index(kind))
    if prop is not None:
        e.text(prop)


def encode_program(
    exports: Sequence[dict[str, Any]],
    structs: Sequence[tuple[str, Sequence[tuple[str, bool]]]] = (),
    enums: Sequence[tuple[str, Sequence[tuple[str, int]]]] = (),
    imports_raw: bytes = b"\x00",
    package_json: Optional[str] = None,
) -> bytes:
    e = Enc().u32(len(exports))
    for x in exports:
        cls = x.get("class")
        e.flag(cls is not None)
        if cls is not None:
            e.text(cls)
        e.texts(x.get("comments", []))
        e.flag(x.get("consumed", False))
        enc_function(e, x["name"], x.get("args", []), x.get("asyncness", False))
        enc_method_kind(e, *x.get("kind", ("regular", cls is None)))
        e.flag(x.get("start", False))
    e.u32(len(enums))
    for name, variants in enums:
        e.text(name).u32(len(variants))
        for vname, value in variants:
            e.text(vname).u32(value).texts([])
        e.texts(["An enum."]).flag(True)
    e.out.extend(imports_raw)
    e.u32(len(structs))
    for name, fields in structs:
        e.text(name).u32(len(fields))
        for fname, readonly in fields:
            e.text(fname).flag(readonly).texts([]).flag(True)
        e.texts([]).flag(False).flag(True)
    e.texts([]).u32(0).texts([]).text("synthetic-0000").flag(package_json is not None)
    if package_json is not None:
        e.text(package_json)
    return bytes(e.out)


def custom_section(programs: Sequence[bytes], schema: str = "0.2.83") -> bytes:
    header = json.dumps({"schema_version": schema, "version": schema}, separators=(",", ":")).encode()
    payload = b"".join(struct.pack("<I", len(b)) + b for blob in programs for b in (header, blob))
    name = p.SECTION.encode()
    body = Enc().u32(len(name)).out + name + payload
    return b"\x00" + bytes(Enc().u32(len(body)).out) + bytes(body)


def test_program_decoder_reads_every_kind_of_item() -> None:
    imports = Enc().u32(4)
    # Function import with method data, static, type, enum (one of each ImportKind).
    imports.flag(True).out.append(1)  # Some(RawNamed)
    imports.text("./mod.js").flag(True).texts(["ns", "inner"]).out.append(0)
    imports.text("__wbg_method_0123456789abcdef").flag(True).flag(False).flag(False).flag(True)
    imports.text("Thing")
    enc_method_kind(imports, "getter", False, "size")
    imports.flag(False)
    enc_function(imports, "size", [])
    imports.flag(True).out.append(2)  # Some(Inline(3))
    imports.u32(3).flag(False).out.append(1)
    imports.text("VERSION").text("__wbg_static_x")
    imports.flag(False).flag(False).out.append(2)
    imports.text("Thing").text("__wbg_instanceof").texts(["webkit"])
    imports.flag(False).flag(False).out.append(3)
    data = encode_program(
        [
            {"name": "fresh", "args": ["a", "r#type"], "comments": [" Makes one."]},
            {"class": "Thing", "name": "new", "kind": ("constructor",)},
            {"class": "Thing", "name": "take", "consumed": True, "kind": ("regular", False)},
            {"class": "Thing", "name": "count", "kind": ("getter", True, "count")},
            {"class": "Thing", "name": "get", "kind": ("indexing_getter", False)},
            {"name": "main", "start": True},
        ],
        structs=[("Thing", [("id", True), ("label", False)])],
        enums=[("Color", [("Red", 0), ("Blue", 7)])],
        imports_raw=bytes(imports.out),
        package_json="/pkg/package.json",
    )
    program = p.decode_program_0_2_83(data)
    assert [x.export_name for x in program.exports] == ["fresh", "thing_new", "thing_take", "thing_count",
                                                         "thing_get", "main"]  # fmt: skip
    assert program.exports[0].function.arg_names == ("a", "r#type") and program.exports[0].comments == (" Makes one.",)
    assert program.exports[2].consumed and program.exports[3].method_kind == p.MethodKind("getter", True, "count")
    assert program.exports[4].method_kind.kind == "indexing_getter" and program.exports[5].start
    assert program.enums == (p.EnumInfo("Color", (p.EnumVariant("Red", 0), p.EnumVariant("Blue", 7)), ("An enum.",)),)
    assert program.structs[0].fields == (p.StructField("id", True), p.StructField("label", False))
    function, static, type_, enum_ = program.imports
    assert (function.module, function.js_namespace, function.catch, function.structural) == (
        "./mod.js", ("ns", "inner"), True, False)  # fmt: skip
    assert function.method == ("Thing", p.MethodKind("getter", False, "size"))
    assert (static.kind, static.module, static.name, static.shim) == ("static", "inline:3", "VERSION", "__wbg_static_x")
    assert (type_.kind, type_.name, enum_.kind) == ("type", "Thing", "enum")
    assert program.package_json == "/pkg/package.json" and program.unique_crate_identifier == "synthetic-0000"
    assert p.python_identifier("r#type") == "type" and p.python_identifier("r#in") == "in_"
    assert p.python_identifier("class") == "class_" and p.python_identifier("2d") == "_2d"


@pytest.mark.parametrize(
    "data,message",
    [
        (b"", "ended early"),
        (b"\x01\x00\x00\x00\x00\x00\x05ab", "runs past"),
        (encode_program([]) + b"\x00", "1 bytes left over"),
        (b"\x00" * 8 + b"\x02", "bad Option tag 2"),
        (b"\x01\x00\x00\x07", "bad bool byte 7"),
    ],
)
def test_program_errors_are_clear(data: bytes, message: str) -> None:
    with pytest.raises(p.ProgramError, match=message):
        p.decode_program_0_2_83(data)


def test_sections_of_other_schemas_are_refused() -> None:
    module = parse(b"\x00asm\x01\x00\x00\x00" + custom_section([b"\x00"], schema="0.2.92"))
    with pytest.raises(d.UnsupportedSchema, match=r"schema is 0\.2\.92 .* schema 0\.2\.83 only"):
        p.read_programs(module)
    with pytest.raises(d.UnsupportedSchema, match="no __wasm_bindgen_unstable section"):
        p.read_programs(parse(b"\x00asm\x01\x00\x00\x00"))


# -- a synthetic raw module ----------------------------------------------------------

U8, U32, F64 = d.Int(8, False), d.Int(32, False), d.Float(64)
COUNTER = d.RustStruct("Counter")
COLOR = d.Enum(None, 3)

#: export -> descriptor, as the macro would describe them.
SYNTHETIC: dict[str, d.Type] = {
    "mut_inc": d.Function(0, (d.RefMut(d.Slice(U8)),), d.Unit(), d.Unit()),
    "opt_f64": d.Function(0, (d.Option(F64),), d.Option(F64), d.Option(F64)),
    "js_array": d.Function(0, (d.Vector(d.Externref()),), d.Vector(d.Externref()), d.Vector(d.Externref())),
    "color_next": d.Function(0, (COLOR,), COLOR, COLOR),
    "half_checked": d.Function(0, (F64,), d.Result(F64), d.Result(F64)),
    "counter_new": d.Function(0, (U32,), COUNTER, COUNTER),
    "counter_bump": d.Function(0, (d.Option(U8),), U32, U32),
    "counter_intoValue": d.Function(0, (), U32, U32),
    "counter_origin": d.Function(0, (), COUNTER, COUNTER),
    "take_counter": d.Function(0, (COUNTER,), U32, U32),
    "maybe_counter": d.Function(0, (d.Bool(),), d.Option(COUNTER), d.Option(COUNTER)),
    "__wbg_get_counter_value": U32,
}

SYNTHETIC_EXPORTS: list[dict[str, Any]] = [
    {"name": "mut_inc", "args": ["data"]},
    {"name": "opt_f64", "args": ["x"]},
    {"name": "js_array", "args": ["values"]},
    {"name": "color_next", "args": ["c"]},
    {"name": "half_checked", "args": ["x"]},
    {"class": "Counter", "name": "new", "args": ["start"], "kind": ("constructor",)},
    {"class": "Counter", "name": "bump", "args": ["by"], "kind": ("regular", False), "comments": [" Adds `by`."]},
    {"class": "Counter", "name": "intoValue", "consumed": True, "kind": ("regular", False)},
    {"class": "Counter", "name": "origin", "kind": ("regular", True)},
    {"name": "take_counter", "args": ["counter"]},
    {"name": "maybe_counter", "args": ["flag"]},
]

SYNTHETIC_WAT = """
(module
  (import "__wbindgen_placeholder__" "__wbindgen_describe" (func $d (param i32)))
  (import "__wbindgen_placeholder__" "__wbindgen_string_new" (func $string_new (param i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $bump (mut i32) (i32.const 4096))
  (global $freed (export "freed") (mut i32) (i32.const 0))
  (data (i32.const 1024) "negative")
  (func $malloc (export "__wbindgen_malloc") (param $size i32) (result i32) (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $bump) (i32.const 7)) (i32.const -8)))
    (global.set $bump (i32.add (local.get $p) (local.get $size)))
    (local.get $p))
  (func (export "__wbindgen_free") (param i32 i32))
  (func $count_free (global.set $freed (i32.add (global.get $freed) (i32.const 1))))
  (func (export "mut_inc") (param $p i32) (param $n i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (i32.store8 (local.get $p) (i32.add (i32.load8_u (local.get $p)) (i32.const 1)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next))))
  (func (export "opt_f64") (param $ret i32) (param $tag i32) (param $v f64)
    (i32.store (local.get $ret) (local.get $tag))
    (if (local.get $tag) (then (f64.store offset=8 (local.get $ret) (f64.mul (local.get $v) (f64.const 2))))))
  (func (export "js_array") (param $ret i32) (param $p i32) (param $n i32)
    (i32.store (local.get $ret) (local.get $p))
    (i32.store offset=4 (local.get $ret) (local.get $n)))
  (func (export "color_next") (param $c i32) (result i32)
    (i32.rem_u (i32.add (local.get $c) (i32.const 1)) (i32.const 3)))
  (func (export "half_checked") (param $ret i32) (param $x f64)
    (if (f64.lt (local.get $x) (f64.const 0))
      (then (i32.store offset=8 (local.get $ret) (call $string_new (i32.const 1024) (i32.const 8)))
            (i32.store offset=12 (local.get $ret) (i32.const 1)))
      (else (f64.store (local.get $ret) (f64.div (local.get $x) (f64.const 2)))
            (i32.store offset=8 (local.get $ret) (i32.const 0))
            (i32.store offset=12 (local.get $ret) (i32.const 0)))))
  (func $new (export "counter_new") (param $start i32) (result i32) (local $p i32)
    (local.set $p (call $malloc (i32.const 8)))
    (i32.store (local.get $p) (i32.const 0))
    (i32.store offset=4 (local.get $p) (local.get $start))
    (local.get $p))
  (func (export "__wbg_counter_free") (param i32) (call $count_free))
  (func (export "counter_bump") (param $self i32) (param $by i32) (result i32)
    (if (i32.eq (local.get $by) (i32.const 0xFFFFFF)) (then (local.set $by (i32.const 1))))
    (i32.store offset=4 (local.get $self) (i32.add (i32.load offset=4 (local.get $self)) (local.get $by)))
    (i32.load offset=4 (local.get $self)))
  (func (export "counter_intoValue") (param $self i32) (result i32)
    (call $count_free) (i32.load offset=4 (local.get $self)))
  (func (export "counter_origin") (result i32) (call $new (i32.const 0)))
  (func (export "__wbg_get_counter_value") (param $self i32) (result i32) (i32.load offset=4 (local.get $self)))
  (func (export "__wbg_set_counter_value") (param $self i32) (param $v i32)
    (i32.store offset=4 (local.get $self) (local.get $v)))
  (func (export "take_counter") (param $c i32) (result i32) (call $count_free) (i32.load offset=4 (local.get $c)))
  (func (export "maybe_counter") (param $flag i32) (result i32)
    (if (result i32) (local.get $flag) (then (call $new (i32.const 7))) (else (i32.const 0))))
"""


def synthetic_module() -> bytes:
    """A hand-written raw wasm-bindgen-style module: describe exports, a 0.2.83
    program section, and shims with the 0.2.83 ABI."""
    import wasmtime

    describes = "".join(
        f'  (func (export "{d.DESCRIBE_PREFIX}{name}")'
        + "".join(f" (call $d (i32.const {w}))" for w in encode(ty, T83))
        + ")\n"
        for name, ty in SYNTHETIC.items()
    )
    wasm = bytes(wasmtime.wat2wasm(SYNTHETIC_WAT + describes + ")"))
    program = encode_program(
        SYNTHETIC_EXPORTS,
        structs=[("Counter", [("value", False)])],
        enums=[("Color", [("Red", 0), ("Green", 1), ("Blue", 2)])],
    )
    return wasm + custom_section([program])


def test_synthetic_module_links_into_an_api() -> None:
    instance = rw.load(synthetic_module(), engine="wasmtime")
    described = d.describe_all(instance)
    assert described == SYNTHETIC
    api = p.build_api(p.read_programs(instance.info.module), instance.info.module, described)
    assert not api.unbound, api.unbound
    counter = api.classes["Counter"]
    assert counter.constructor is not None and counter.constructor.params[0].name == "start"
    assert [(m.js_name, m.receiver) for m in counter.methods] == [("bump", "ref"), ("intoValue", "consume")]
    assert [m.js_name for m in counter.statics] == ["origin"]
    (value,) = counter.properties
    assert value.getter is not None and value.setter is not None
    assert value.setter.signature == FuncType(("i32", "i32"), ())
    assert api.member("counter_bump").comments == (" Adds `by`.",)
    assert list(api.enums) == ["Color"]


def test_table_describe_functions_need_a_reachable_table(realm_instance: rw.Instance) -> None:
    with pytest.raises(d.DescriptorError, match="exports no function table"):
        d.describe_table_function(realm_instance, 1)
