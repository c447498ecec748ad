"""The Realm fixture: its compiler ground truth, and the host constructing it
by each of its three patterns."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

import realm_wasmer as rw
from realm_wasmer.demo import tiny_gguf

from .conftest import REALM_WASM, ROOT, realm_imports

FIELDS = ["model", "tokenizer", "model_id", "transformer_config", "config", "kv_caches"]
CONFIG_FIELDS = ["max_tokens", "temperature", "top_p", "top_k", "repetition_penalty"]


@pytest.fixture(scope="module")
def truth() -> dict[str, int]:
    instance = rw.load(REALM_WASM, engine="wasmtime")
    names = [n for n, _ in instance.info.module.function_exports() if n.startswith("__realm_truth_")]
    return {n[len("__realm_truth_") :]: instance.call(n) for n in names}


def test_truth_exports_exist_and_are_consistent(truth: dict[str, int]) -> None:
    for name in ["realm_size", "realm_align", "cell_size", "cell_align", "cell_value_offset"]:
        assert name in truth
    for field in FIELDS:
        assert f"offset_{field}" in truth
    size, align = truth["realm_size"], truth["realm_align"]
    assert align in (1, 2, 4, 8, 16) and size % align == 0
    assert truth["cell_align"] >= align
    assert truth["cell_value_offset"] % align == 0
    assert truth["cell_value_offset"] + size <= truth["cell_size"]
    offsets = sorted(truth[f"offset_{f}"] for f in FIELDS)
    assert len(set(offsets)) == len(FIELDS) and all(0 <= o < size for o in offsets)
    # The config struct sits inside Realm and its own fields inside it.
    assert truth["offset_config"] + truth["config_size"] <= size
    assert sorted(truth[f"config_offset_{f}"] for f in CONFIG_FIELDS)[-1] < truth["config_size"]


def test_inspection_finds_the_three_patterns() -> None:
    info = rw.inspect(REALM_WASM)
    assert info.flavour == "raw" and info.schema_version == "0.2.83"
    realm = info.class_info("Realm")
    assert realm.constructor is not None
    assert (realm.constructor.export, realm.constructor.pattern) == ("realm_new", 3)
    assert str(realm.constructor.signature) == "(i32) -> ()"
    assert [(c.export, c.pattern) for c in realm.constructors] == [("realm_new", 3), ("realm_c_new", 2)]
    config = info.class_info("WasmGenerationConfig")
    assert config.constructor is not None and config.constructor.pattern == 1
    assert info.features["malloc_arity"] == 1 and info.features["heap_offset"] == 32


def test_pattern3_constructor_writes_three_words(engine: str, truth: dict[str, int]) -> None:
    imports, _ = realm_imports()
    instance = rw.load(REALM_WASM, engine=engine, imports=imports)
    lines: list[str] = []
    realm = instance.construct("Realm", explain=lines.append)
    words = [s for s in realm.explain if s.what == "callee wrote"][0].detail
    assert words["object_ptr"] == realm.ptr and words["error"] == 0 and words["is_err"] is False
    assert any("out-slot" in line for line in lines)
    # The object is a live WasmRefCell: borrow flag 0 at cell+0 while nobody borrows it.
    assert instance.memory.u32(realm.ptr + 0) == 0
    assert realm.ptr % truth["cell_align"] == 0
    realm.close()
    assert instance.stats()["objects_live"] == 0 and instance.stats()["heap_live"] == 0


def test_pattern3_constructor_error_words(engine: str) -> None:
    instance = rw.load(REALM_WASM, engine=engine)
    ptr, length = instance.abi.pass_string('{"max_tokens": "lots"}')
    obj, err, is_err = instance.call_retptr("realm_withConfig", ptr, length, words=3)
    assert (obj, is_err) == (0, 1)
    assert err >= instance.heap.reserved
    assert instance.heap.take(err) == "invalid config: max_tokens must be a number, got string"
    assert instance.stats()["heap_live"] == 0


def test_pattern1_and_pattern2(engine: str, truth: dict[str, int]) -> None:
    instance = rw.load(REALM_WASM, engine=engine)
    with instance.construct("WasmGenerationConfig") as config:
        assert instance.call("wasmgenerationconfig_maxTokens", config.ptr) == 128
    with instance.construct("Realm", export="realm_c_new") as bare:
        assert bare.constructor.pattern == 2
        assert instance.call("realm_c_is_loaded", bare.ptr) == 0
    assert bare.closed and instance.stats()["objects_live"] == 0


def test_load_model_and_generate(engine: str) -> None:
    imports, stored = realm_imports()
    instance = rw.load(REALM_WASM, engine=engine, imports=imports)
    vocab = ["<unk>", "hello", "world", "realm", "!"]
    data = tiny_gguf(vocab, name="unit-test-model")
    with instance.construct("Realm") as realm:
        ptr, length = instance.abi.pass_bytes(data)
        assert instance.call_retptr("realm_loadModel", realm.ptr, ptr, length, words=2) == (0, 0)
        assert stored == {1: data}
        assert instance.call("realm_isLoaded", realm.ptr) == 1
        info_words = instance.call_retptr("realm_modelInfo", realm.ptr, words=2)
        info = json.loads(instance.abi.take_string(*info_words))
        assert info["name"] == "unit-test-model" and info["vocab_size"] == len(vocab) and info["model_id"] == 1
        ptr, length = instance.abi.pass_string("hello")
        text_ptr, text_len, err, is_err = instance.call_retptr("realm_generate", realm.ptr, ptr, length, words=4)
        assert is_err == 0
        text = instance.abi.take_string(text_ptr, text_len)
        # Python model of the round trip: "hello" tokenizes to id 1 in wasm, and the
        # EchoModel host answers last % 4 + 1 for 4 steps, then stops.
        tokens = [vocab.index("hello")]
        for _ in range(4):
            tokens.append(tokens[-1] % 4 + 1)
        assert text == "".join(vocab[t] for t in tokens[1:])
        # A broken GGUF is refused with the Rust message in the error words.
        ptr, length = instance.abi.pass_bytes(b"NOPE" + data[4:])
        err, is_err = instance.call_retptr("realm_loadModel", realm.ptr, ptr, length, words=2)
        assert is_err == 1
        error = instance.heap.take(err)
        assert isinstance(error, rw.JsErrorValue) and error.message.startswith("not a GGUF file: bad magic")
    assert instance.stats()["heap_live"] == 0 and instance.stats()["objects_live"] == 0


def test_realm_on_llvm() -> None:
    if not rw.engines.lookup("wasmer-llvm").availability().available:
        pytest.fail(f"wasmer-llvm unavailable: {rw.engines.lookup('wasmer-llvm').availability().reason}")
    instance = rw.load(REALM_WASM, engine="wasmer-llvm")
    with instance.construct("Realm") as realm:
        assert realm.ptr != 0


@pytest.mark.slow
def test_build_reproduces_the_committed_module() -> None:
    """wasm/build.sh --check rebuilds from source and compares byte for byte.
    Needs Debian's rustc/cargo and wasm-bindgen crates (see wasm/realm/README.md)."""
    if not (Path("/usr/bin/rustc").exists() and Path("/usr/share/cargo/registry/wasm-bindgen-0.2.83").is_dir()):
        pytest.skip("the Rust toolchain for the fixture is not installed (apt-get install -y rustc cargo "
                    "libstd-rust-dev-wasm32 librust-wasm-bindgen-dev); CI does not need it")
    assert shutil.which("bash")
    done = subprocess.run(["bash", str(ROOT / "wasm" / "build.sh"), "--check"], capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr


def test_rust_errors_surface_as_js_error_exceptions(engine: str) -> None:
    imports, _ = realm_imports()
    instance = rw.load(REALM_WASM, engine=engine, imports=imports)
    ptr, length = instance.abi.pass_string('{"top_k": -1}')
    with pytest.raises(rw.JsError, match="invalid config: top_k must be a non-negative integer"):
        instance.call_result("realm_withConfig", ptr, length)
    with instance.construct("Realm") as realm:
        ptr, length = instance.abi.pass_bytes(b"GGUF\x02\x00\x00\x00")
        with pytest.raises(rw.JsError, match="unsupported GGUF version 2") as info:
            instance.call_result("realm_loadModel", realm.ptr, ptr, length, payload_words=0)
        assert isinstance(info.value.value, rw.JsErrorValue)
        ptr, length = instance.abi.pass_string("hello")
        with pytest.raises(rw.JsError, match="no model loaded|not loaded"):
            instance.call_result("realm_generate", realm.ptr, ptr, length, payload_words=2)
    assert instance.stats()["heap_live"] == 0 and not instance.poisoned
