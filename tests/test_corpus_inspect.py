"""inspect() on the six public corpus modules, against what their JS glue does
(recorded in ../shared/corpus/packages.json and visible in the glue text)."""

from __future__ import annotations

import hashlib

import pytest

import realm_wasmer as rw

IDS = ["tiktoken", "resvg", "photon", "message_parser", "rollup", "css_inline"]


@pytest.mark.parametrize("package_id", IDS)
@pytest.mark.parametrize("with_glue", [False, True])
def test_roles_and_features_match_the_glue(corpus: dict, package_id: str, with_glue: bool) -> None:
    entry = corpus[package_id]
    meta = entry["meta"]
    data = entry["wasm"].read_bytes()
    assert hashlib.sha256(data).hexdigest() == meta["wasm"]["sha256"]
    info = rw.inspect(data, glue=entry["glue"].read_text() if with_glue else None)
    wasm_meta = meta["wasm"]
    assert info.flavour == "cli"
    assert info.import_namespace == wasm_meta["import_modules"][0]
    assert info.wasm_bindgen_version == wasm_meta["wasm_bindgen_version"]
    assert info.features["externref"] == wasm_meta["uses_externref"]
    assert info.features["multi_value"] == bool(wasm_meta["multi_value_exports"])
    assert info.features["malloc_arity"] == wasm_meta["malloc_arity"]
    for role in ("malloc", "realloc", "free"):
        assert info.roles[role] == wasm_meta["intrinsics"][role]["export"], role
    stack = wasm_meta["intrinsics"].get("stack")
    if stack is None:
        assert info.features["stack_pointer"] == "none"
    elif stack["kind"] == "func":
        assert info.roles["add_to_stack_pointer"] == stack["export"]
    else:
        assert info.features["stack_pointer"] == "global" and info.stack_pointer_global == stack["export"]
    assert (info.roles["start"] is not None) == wasm_meta["has___wbindgen_start"]
    if not info.features["externref"]:
        constants = meta["js_value_slots"].get("constants", {})
        assert info.features["heap_offset"] == min(int(k) for k in constants)


def test_constructor_patterns_match_the_glue(corpus: dict) -> None:
    resvg = rw.inspect(corpus["resvg"]["wasm"], glue=corpus["resvg"]["glue"].read_text())
    ctor = resvg.class_info("Resvg").constructor
    assert ctor is not None and (ctor.export, ctor.pattern) == ("resvg_new", 3)
    assert resvg.features["class_free_arity"] == 1
    tiktoken = rw.inspect(corpus["tiktoken"]["wasm"], glue=corpus["tiktoken"]["glue"].read_text())
    ctor = tiktoken.class_info("Tiktoken").constructor
    assert ctor is not None and (ctor.export, ctor.pattern) == ("tiktoken_new", 1)
    assert tiktoken.features["class_free_arity"] == 2
    assert tiktoken.roles["exn_store"] == "__wbindgen_export_0"
