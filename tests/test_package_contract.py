"""The load_package Python API contract (issue 10), one test per line of it.

Most tests load tests/packages/contract/entry.mjs: an entry that re-exports a real wasm-bindgen
package (@wasm-fmt/sql_fmt, fetched with the other new packages) and adds plain JS of each shape
the contract names; the rest use the corpus packages (photon, resvg) and blake3-wasm.
"""

from __future__ import annotations

import asyncio
import enum
import gc
import inspect
import json
import logging
import math
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import realm_wasmer as rw
from realm_wasmer.js import BigInt, JsMap, JsObject

from .conftest import CORPUS_CACHE
from .package_cases import PACKAGES_DIR

CONTRACT = PACKAGES_DIR / "contract"


@pytest.fixture(scope="module")
def contract_dir(new_packages: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("contract") / "pkg"
    shutil.copytree(new_packages["sql_fmt"], root)
    shutil.copy(CONTRACT / "entry.mjs", root / "entry.mjs")
    meta = {"name": "contract-entry", "version": "0.0.0", "type": "module", "main": "entry.mjs"}
    (root / "package.json").write_text(json.dumps(meta))
    return root


@pytest.fixture(scope="module")
def pkg(contract_dir: Path) -> Any:
    return rw.load_package(contract_dir, engine="wasmtime", imports={"hostAdd": lambda a, b: a + b})


@pytest.fixture(scope="module")
def photon() -> Any:
    root = CORPUS_CACHE / "pkgs" / "photon" / "package"
    if not root.is_dir():
        pytest.fail(f"{root} missing: run ../shared/corpus/fetch.sh {CORPUS_CACHE} (the corpus fixture does)")
    return rw.load_package(root, engine="wasmtime")


# -- classes ----------------------------------------------------------------------------------------


def test_classes_are_python_types_with_constructor_methods_statics(pkg: Any) -> None:
    f = pkg.Formatter(False)
    assert isinstance(f, pkg.Formatter) and isinstance(pkg.Formatter, type)
    assert f.format("select 1") == "select\n  1"
    made = pkg.Formatter.create()
    assert isinstance(made, pkg.Formatter) and made.format("select 1") == "SELECT\n  1"
    s = pkg.Shouting()
    assert isinstance(s, pkg.Shouting) and isinstance(s, pkg.Formatter) and issubclass(pkg.Shouting, pkg.Formatter)
    assert s.shout("hi") == "HI!" and s.format("select 1") == "SELECT\n  1"


def test_getters_setters_are_properties(pkg: Any) -> None:
    f = pkg.Formatter(False)
    assert isinstance(type(f).__dict__["calls"], property)
    f.format("select 1")
    assert f.calls == 1
    f.calls = 10
    assert f.calls == 10


def test_free_and_with(pkg: Any) -> None:
    f = pkg.Formatter(False)
    f.free()
    assert f.isFreed() is True
    with pkg.Formatter(True) as g:
        assert g.isFreed() is False
    assert g.isFreed() is True


def test_wasm_bindgen_class_free_and_with(photon: Any) -> None:
    img = photon.PhotonImage(bytes(4 * 6), 2, 3)
    assert isinstance(img, photon.PhotonImage)
    assert (img.get_width(), img.get_height()) == (2, 3)
    with photon.PhotonImage(bytes(4), 1, 1) as one:
        assert one.get_width() == 1
    assert one._js.get("ptr") == 0  # the glue's free() zeroed the pointer
    img.free()
    with pytest.raises(rw.JsError):  # Rust's null-pointer check, as in Node
        img.get_width()


def test_keyword_names_reachable_both_ways(pkg: Any) -> None:
    f = pkg.Formatter(False)
    assert getattr(f, "import")("x") == "import:x"
    assert f.import_("y") == "import:y"


def test_str_calls_to_string(pkg: Any) -> None:
    assert str(pkg.Formatter(True)) == "Formatter(true)"


def test_enums(pkg: Any, photon: Any) -> None:
    assert issubclass(pkg.Color, enum.IntEnum) and pkg.Color.Green == 1 and pkg.Color(0).name == "Red"
    assert issubclass(pkg.Mode, enum.Enum) and not issubclass(pkg.Mode, enum.IntEnum)
    assert pkg.Mode.Slow.value == "slow"
    assert issubclass(photon.SamplingFilter, enum.IntEnum)
    assert [m.name for m in photon.SamplingFilter] == ["Nearest", "Triangle", "CatmullRom", "Gaussian", "Lanczos3"]
    assert pkg.roundtrip(pkg.Color.Green) == 1  # an enum member goes in as its value


def test_constants(pkg: Any) -> None:
    assert (pkg.VERSION, pkg.LIMIT, pkg.HALF) == ("1.2.3", 42, 0.5)
    assert type(pkg.LIMIT) is int


def test_omitted_trailing_arguments_are_undefined(pkg: Any) -> None:
    assert pkg.args(1) == [False, True, True, 1]
    assert pkg.args(1, rw.UNDEFINED, None) == [False, True, False, 3]


def test_dropped_objects_are_freed_by_the_finalization_registry() -> None:
    root = CORPUS_CACHE / "pkgs" / "resvg" / "package"
    resvg = rw.load_package(root, engine="wasmtime")
    realm = resvg.__realm__.realm
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>'
    r = resvg.Resvg(svg)
    image = r.render()
    assert image.width == 4
    del image
    gc.collect()
    assert len(realm.cleanups) >= 1, "dropping the RenderedImage queued no FinalizationRegistry cleanup"
    assert r.width == 4  # the next call is the safe point that runs the cleanups (frees the wasm object)
    assert len(realm.cleanups) == 0
    r.free()  # an explicit free unregisters: dropping it afterwards frees nothing twice
    del r
    gc.collect()
    assert len(realm.cleanups) == 0


# -- imports ------------------------------------------------------------------------------------


def test_imports_supply_a_js_name(pkg: Any) -> None:
    assert pkg.useHost(41) == 42


def test_imports_override_a_wasm_import_by_name(new_packages: dict[str, Path]) -> None:
    seen: list[tuple[int, ...]] = []

    def throw(ptr: int, length: int) -> None:
        seen.append((ptr, length))
        raise ValueError("from the Python handler")

    blake3 = rw.load_package(
        new_packages["blake3"],
        engine="wasmtime",
        entry="dist/wasm/nodejs/blake3_js.js",
        imports={"__wbindgen_throw": throw},
    )
    h = blake3.create_hasher()
    h.free()
    with pytest.raises(Exception, match="from the Python handler"):
        h.update(b"x")
    assert len(seen) == 1 and all(isinstance(x, int) for x in seen[0])


def test_unprovided_names_are_reported_at_load_all_at_once(caplog: pytest.LogCaptureFixture) -> None:
    root = CORPUS_CACHE / "pkgs" / "photon" / "package"
    with caplog.at_level(logging.WARNING, logger="realm_wasmer.js.package"):
        loaded = rw.load_package(root, engine="wasmtime")
    reports = [r.getMessage() for r in caplog.records if "not provided" in r.getMessage()]
    assert len(reports) == 1, reports
    for name in ("Window", "CanvasRenderingContext2D", "HTMLCanvasElement"):
        assert f"`{name}`" in reports[0] and f"imports={{'{name}'" in reports[0]
    assert "instanceof Window" in reports[0]  # the JS text
    assert len(loaded.__realm__.unresolved) == 3


# -- the value table -------------------------------------------------------------------------------


def test_undefined_null_and_kept_undefined_keys(pkg: Any) -> None:
    out = pkg.withUndef()
    assert isinstance(out, JsObject) and isinstance(out, dict)
    assert out == {"a": rw.UNDEFINED, "b": None} and out["a"] is rw.UNDEFINED
    assert pkg.hasKey({"k": rw.UNDEFINED}, "k") == [True, True]
    assert pkg.roundtrip(None) is None and pkg.roundtrip(rw.UNDEFINED) is rw.UNDEFINED


def test_strings_keep_lone_surrogates(pkg: Any) -> None:
    s = pkg.lone()
    assert s == "\ud800x"
    assert pkg.loneLength("\udc00\ud83c\udf89") == 3  # one lone + a pair: 3 UTF-16 units
    assert pkg.roundtrip(True) is True


def test_numbers(pkg: Any) -> None:
    z = pkg.negZero()
    assert type(z) is float and math.copysign(1.0, z) == -1.0
    big, five, safe_max, unsafe, half = pkg.bigs()
    assert (big, five) == (2**70, 5) and type(big) is int
    assert type(safe_max) is float and safe_max == 2.0**53  # 2**53 is not a safe integer
    assert type(unsafe) is float and type(half) is float
    assert type(pkg.roundtrip(2**53 - 1)) is int
    assert pkg.typeOf(7)[0] == "number" and pkg.typeOf(2**60)[0] == "bigint"
    assert pkg.typeOf(BigInt(3))[0] == "bigint"
    assert pkg.addBig(BigInt(2**64), BigInt(1)) == 2**64 + 1


def test_arrays_objects_maps_sets(pkg: Any) -> None:
    assert pkg.typeOf([1])[:2] == ["object", True] and pkg.typeOf((1, 2))[:2] == ["object", True]
    assert pkg.roundtrip((1, "a")) == [1, "a"]
    assert pkg.typeOf({"a": 1})[5] == "Object"
    m = pkg.mk()
    assert isinstance(m, JsMap) and list(m.items()) == [(1, "a"), ("k", [1, 2])]
    assert pkg.typeOf(JsMap([(1, 2)]))[2] is True and pkg.typeOf(JsMap({"a": 1}))[2] is True
    assert pkg.st() == {1, 2} and isinstance(pkg.st(), set)
    assert pkg.typeOf({1})[3] is True and pkg.typeOf(frozenset({1}))[3] is True


def test_typed_arrays(pkg: Any) -> None:
    u8, f32, clamped, i64, i16 = pkg.typed()
    assert u8.dtype == np.uint8 and u8.tolist() == [1, 2, 255]
    assert f32.dtype == np.float32 and clamped.dtype == np.uint8 and clamped.tolist() == [255, 0]
    assert i64.dtype == np.int64 and i64.tolist() == [-1] and i16.dtype == np.int16
    for data in (b"\x01\x02", bytearray(b"\x01\x02"), memoryview(b"\x01\x02")):
        assert pkg.sum(data) == ["Uint8Array", 3]
    assert pkg.sum(np.array([1.5, 2.0])) == ["Float64Array", 3.5]
    assert pkg.sum(np.array([1, 2], dtype=np.int32)) == ["Int32Array", 3]


def test_mutable_buffers_see_what_the_call_wrote(new_packages: dict[str, Path]) -> None:
    blake3 = rw.load_package(new_packages["blake3"], engine="wasmtime", entry="dist/wasm/nodejs/blake3_js.js")
    out_np, out_ba = np.zeros(32, dtype=np.uint8), bytearray(32)
    blake3.hash(b"abc", out_np)
    blake3.hash(b"abc", out_ba)
    assert out_np.tobytes() == bytes(out_ba) and any(out_ba)
    out_ro = bytes(32)
    blake3.hash(b"abc", out_ro)  # immutable bytes are copied in; nothing to write back
    assert out_ro == bytes(32)


def test_int_is_bigint_where_the_declared_type_is_bigint(new_packages: dict[str, Path]) -> None:
    blake3 = rw.load_package(new_packages["blake3"], engine="wasmtime", entry="dist/wasm/nodejs/blake3_js.js")
    a, b = np.zeros(8, np.uint8), np.zeros(8, np.uint8)
    h = blake3.create_hasher()
    r1, r2 = h.reader(), h.reader()
    r1.set_position(1000)
    r2.set_position(BigInt(1000))
    r1.fill(a)
    r2.fill(b)
    assert a.tolist() == b.tolist()
    with pytest.raises(rw.JsError) as info:
        r1.set_position(5.5)  # a float is a JS number: the BigUint64Array store throws, as in JS
    assert (info.value.name, info.value.message) == ("TypeError", "Cannot convert 5.5 to a BigInt")


def test_thrown_values(pkg: Any) -> None:
    with pytest.raises(rw.JsError) as info:
        pkg.throwsString()
    assert info.value.value == "plain" and info.value.name is None and info.value.message is None
    with pytest.raises(rw.JsError) as info:
        pkg.throwsObject()
    assert info.value.value == {"code": 7} and info.value.name is None
    with pytest.raises(rw.JsError) as info:
        pkg.typeErr()
    assert info.value.name == "TypeError" and "null" in info.value.message


def test_a_wasm_trap_raises_guest_trap(photon: Any) -> None:
    with pytest.raises(rw.GuestTrap):
        photon.PhotonImage.new_from_byteslice(b"not an image at all")


def test_functions_both_ways(pkg: Any) -> None:
    assert pkg.callCb(lambda x: x * 10, 4) == 41
    add2 = pkg.makeAdder(2)
    assert callable(add2) and add2(40) == 42
    with pytest.raises(rw.JsError) as info:
        pkg.callCb(lambda x: 1 / 0, 1)
    assert info.value.name == "Error" and "ZeroDivisionError" in info.value.message
    assert isinstance(pkg.Formatter(True), pkg.Formatter) and pkg.roundtrip(pkg.Formatter) is pkg.Formatter


def test_async_functions_are_awaitables(pkg: Any) -> None:
    async def main() -> Any:
        return await pkg.later(21)

    assert asyncio.run(main()) == 42
    assert pkg.later(5).result() == 10

    async def failing() -> Any:
        return await pkg.fails()

    with pytest.raises(rw.JsError) as info:
        asyncio.run(failing())
    assert (info.value.name, info.value.message) == ("RangeError", "nope")


def test_signatures_show_names_and_types(new_packages: dict[str, Path], photon: Any) -> None:
    sql = rw.load_package(new_packages["sql_fmt"], engine="wasmtime")
    sig = inspect.signature(sql.format)
    assert list(sig.parameters) == ["input", "config"]
    assert sig.parameters["input"].annotation is str and sig.return_annotation is str
    assert sig.parameters["config"].default is rw.UNDEFINED
    method = inspect.signature(photon.PhotonImage.new_from_byteslice)
    assert list(method.parameters) == ["vec"] and method.return_annotation is photon.PhotonImage
    assert list(inspect.signature(photon.PhotonImage.get_width).parameters) == ["self"]


def test_contract_entry_agrees_with_node(contract_dir: Path, pkg: Any) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    done = subprocess.run(
        [node, str(CONTRACT / "node_check.mjs"), str(contract_dir / "entry.mjs")],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    want = json.loads(done.stdout)
    f = pkg.Formatter(False)
    got = {
        "format": f.format("select 1"),
        "calls": f.calls,
        "import": f.import_("x"),
        "str": str(f),
        "args": pkg.args(1),
        "later": pkg.later(21).result(),
        "negZeroIsNeg": math.copysign(1.0, pkg.negZero()) < 0,
        "lone": pkg.loneLength(pkg.lone()),
        "bigs": [_js_string(x) for x in pkg.bigs()],
        "sum": pkg.sum(np.array([1.5, 2.0])),
        "adder": pkg.makeAdder(2)(40),
    }
    for key in ("typeErr", "fails"):
        try:
            pkg.typeErr() if key == "typeErr" else pkg.fails().result()
        except rw.JsError as exc:
            got[key] = [exc.name, exc.message]
    assert got == want


def _js_string(x: Any) -> str:
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def test_engines_agree_on_the_contract_entry(contract_dir: Path, pkg: Any) -> None:
    other = rw.load_package(contract_dir, engine="wasmer-cranelift", imports={"hostAdd": lambda a, b: a + b})
    assert other.Formatter(True).format("select a from b") == pkg.Formatter(True).format("select a from b")
    assert other.useHost(1) == 2


# -- sources and init -----------------------------------------------------------------------------


def test_sources_tgz_glue_file_and_bg_wasm(new_packages: dict[str, Path]) -> None:
    from .packages.fetch import DEFAULT_CACHE

    tgz = DEFAULT_CACHE / "tarballs" / "wasm-fmt-sql_fmt-0.2.2.tgz"
    from_tgz = rw.load_package(tgz, engine="wasmtime")
    assert from_tgz.__realm__.entry.name == "sql_fmt_node.js"
    glue = rw.load_package(new_packages["blake3"] / "dist/wasm/nodejs/blake3_js.js", engine="wasmtime")
    root = CORPUS_CACHE / "pkgs" / "message_parser" / "package"
    from_wasm = rw.load_package(root / "message_parser_wasm_bg.wasm", engine="wasmtime")
    assert from_wasm.__realm__.entry.name == "message_parser_wasm.js"
    assert from_tgz.format("select 1") == "select\n  1"
    assert isinstance(glue.create_hasher(), glue.Blake3Hash)
    assert from_wasm.punycode_encode_host("münchen.de") == "xn--mnchen-3ya.de"


def test_a_later_explicit_init_behaves_as_the_package_js() -> None:
    resvg = rw.load_package(CORPUS_CACHE / "pkgs" / "resvg" / "package", engine="wasmtime")
    pending = resvg.initWasm(b"")  # async in JS: a promise that rejects
    with pytest.raises(rw.JsError) as info:  # resvg's own wrapper refuses a second initWasm
        pending.result()
    assert info.value.message == "Already initialized. The `initWasm()` function can be used only once."
    root = CORPUS_CACHE / "pkgs" / "message_parser" / "package"
    parser = rw.load_package(root, engine="wasmtime")
    again = parser.initSync((root / "message_parser_wasm_bg.wasm").read_bytes())  # returns the live exports
    assert "parse_text" in again and parser.punycode_encode_host("münchen.de") == "xn--mnchen-3ya.de"
    with pytest.raises(rw.PackageError, match="no such package"):
        rw.load_package(root / "nope", engine="wasmtime")


def test_globals_the_glue_names_but_nobody_provides_are_listed(new_packages: dict[str, Path]) -> None:
    blake3 = rw.load_package(new_packages["blake3"], engine="wasmtime", entry="dist/wasm/nodejs/blake3_js.js")
    assert blake3.__realm__.missing_globals == {"Buffer": "Buffer.from"}  # in its unused string helper
    supplied = rw.load_package(
        new_packages["blake3"], engine="wasmtime", entry="dist/wasm/nodejs/blake3_js.js", imports={"Buffer": {}}
    )
    assert supplied.__realm__.missing_globals == {}
