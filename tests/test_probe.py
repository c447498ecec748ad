"""The layout probe, proven on the Realm fixture against the compiler's own
numbers (the ``__realm_truth_*`` exports, read here and only here), on the
Pattern 1 and 2 constructors, on two public corpus constructors, and on the
seeds' failure mode.

Hypothesis profiles: ``ci`` (the default here, fast) and ``thorough``
(``pytest --hypothesis-profile thorough``).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from typing import Any, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import realm_wasmer as rw
from realm_wasmer.demo import tiny_gguf
from realm_wasmer.probe import LayoutReport, probe, runner_for
from realm_wasmer.probe import cli as probe_cli
from realm_wasmer.probe.alloc import calibrate, expected_chunk, locate_chunk
from realm_wasmer.probe.args import parse_arg
from realm_wasmer.probe.render import svg_diagram, text_map
from realm_wasmer.probe.trial import ALIGNMENTS, MAX_SIZE, TrialRunner, TrialSpec

from .conftest import REALM_WASM, realm_imports

#: Probe examples per search: the ci profile keeps the whole file well under a minute.
EXAMPLES = 12 if settings.get_current_profile_name() == "ci" else 100
CONFIG_FIELDS = ["max_tokens", "temperature", "top_p", "top_k", "repetition_penalty"]
ENGINES = ["wasmer-cranelift", "wasmtime"]


@pytest.fixture(scope="module")
def truth() -> dict[str, int]:
    instance = rw.load(REALM_WASM, engine="wasmtime")
    names = [n for n, _ in instance.info.module.function_exports() if n.startswith("__realm_truth_")]
    return {n[len("__realm_truth_") :]: instance.call(n) for n in names}


@pytest.fixture(scope="module")
def compiled() -> Callable[[str], rw.CompiledModule]:
    cache: dict[str, rw.CompiledModule] = {}

    def get(engine: str) -> rw.CompiledModule:
        if engine not in cache:
            cache[engine] = rw.compile(REALM_WASM, engine=engine)
        return cache[engine]

    return get


@pytest.fixture(scope="module")
def reports(compiled: Callable[[str], rw.CompiledModule]) -> dict[str, LayoutReport]:
    """``realm-wasmer probe wasm/realm.wasm --class Realm`` on both engines."""
    return {engine: probe(compiled(engine), class_name="Realm", examples=EXAMPLES) for engine in ENGINES}


@pytest.fixture(scope="module")
def report(reports: dict[str, LayoutReport]) -> dict[str, Any]:
    return reports["wasmer-cranelift"].to_json()


@pytest.fixture(scope="module")
def runner(compiled: Callable[[str], rw.CompiledModule]) -> TrialRunner:
    imports, _ = realm_imports()
    return runner_for(rw.LoadSpec(REALM_WASM, engine="wasmer-cranelift", imports=imports), class_name="Realm")


# -- the allocator ---------------------------------------------------------------


def test_dlmalloc_header_rule_checked_on_known_sizes(compiled: Callable[[str], rw.CompiledModule]) -> None:
    instance = compiled("wasmer-cranelift").instantiate()
    calibration = calibrate(instance)
    assert calibration.verified
    for request, ptr, head, size, expected in calibration.rows:
        assert size == expected == expected_chunk(request) and head & 3 == 3 and ptr % 8 == 0
    ptr = instance.abi.malloc(136)
    chunk = locate_chunk(instance.memory, ptr)
    assert chunk is not None and (chunk.size, chunk.usable, chunk.object_offset) == (144, 140, 0)


# -- the JSON contract -------------------------------------------------------------


def test_json_has_the_contract_keys(report: dict[str, Any]) -> None:
    for key in ("export", "pattern", "engine", "out_slot", "object", "trials", "trials_per_second"):
        assert key in report
    slot = report["out_slot"]
    for key in ("footprint", "min_size", "align", "words", "placements"):
        assert key in slot
    assert all(set(w) >= {"offset", "size", "role"} for w in slot["words"])
    assert all(set(p) >= {"name", "safe", "example", "error"} for p in slot["placements"])
    obj = report["object"]
    for key in ("ptr", "alloc_size", "initialized", "borrow_flag_offset", "fields"):
        assert key in obj
    assert all(set(f) >= {"offset", "size", "evidence"} for f in obj["fields"])
    assert report["export"] == "realm_new" and report["pattern"] == 3 and report["trials"] > 0
    json.dumps(report)


# -- the out-slot, against the glue's behaviour -------------------------------------


def test_slot_size_alignment_and_words(report: dict[str, Any]) -> None:
    slot = report["out_slot"]
    assert slot["footprint"] == [[0, 12]] and slot["min_size"] == 12 and slot["align"] == 4
    assert slot["misaligned"] == {str(a): True for a in ALIGNMENTS}  # wasm stores tolerate misalignment
    assert [(w["offset"], w["size"], w["role"], w["basis"]) for w in slot["words"]] == [
        (0, 4, "object_ptr", "measured"),
        (4, 4, "error", "measured"),
        (8, 4, "is_err", "measured"),
    ]
    failing = slot["failing_call"]
    assert failing["export"] == "realm_withConfig" and failing["words"][0] == 0 and failing["words"][2] == 1
    assert failing["error"].startswith('"invalid config:')
    # The JS glue reserves 16 bytes at 8-aligned addresses: enough, and aligned enough.
    assert slot["min_size"] <= 16 and 8 % slot["align"] == 0


def test_placements_safe_and_unsafe_with_shrunk_examples(report: dict[str, Any]) -> None:
    placements = {p["name"]: p for p in report["out_slot"]["placements"]}
    assert placements["heap"]["safe"] is True and placements["heap"]["example"] is None
    # The raw module keeps __stack_pointer to itself; on wasmer the stack_pointer_export load
    # transform exports it, so stack bytes can be reserved as the glue does (and they are safe).
    reserved = placements["stack_reserved"]
    assert reserved["available"] is True and reserved["safe"] is True and reserved["examples"] > 0
    assert "stack_pointer_export" in report["memory"]["stack_pointer_source"]
    end = placements["memory_end"]
    assert end["safe"] is False and end["example"]["bytes_before_end"] == 11
    assert end["error"].startswith("out of bounds memory access")
    assert "within 11 bytes of the end of memory" in end["explanation"]
    static = placements["static_data"]
    assert static["safe"] is False and static["error"]
    assert report["memory"]["static_data"][0] <= static["example"]["address"] < report["memory"]["static_data"][1]


def test_unsafe_examples_reproduce_exactly(report: dict[str, Any], runner: TrialRunner) -> None:
    for placement in report["out_slot"]["placements"]:
        if placement["safe"] is False:
            example = placement["example"]
            spec = TrialSpec(placement["name"], example["size"], example["align"],
                             _param(placement["name"], example, runner))
            outcome = runner.run(spec)
            assert outcome.address == example["address"]
            assert runner.failure(outcome) == placement["error"]


def _param(name: str, example: dict[str, Any], runner: TrialRunner) -> int:
    from realm_wasmer.probe.trial import END_WINDOW, GUARD

    if name == "memory_end":
        return END_WINDOW - example["bytes_before_end"]
    if name == "stack_unreserved":
        return example["below_stack_pointer"] - GUARD - example["size"]
    return int(example["address"])


# -- property tests over sizes, alignments and placements ---------------------------


@given(size=st.integers(0, MAX_SIZE), align=st.sampled_from(ALIGNMENTS))
def test_heap_slot_guards_intact_exactly_from_the_minimum(
    runner: TrialRunner, report: dict[str, Any], truth: dict[str, int], size: int, align: int
) -> None:
    slot = report["out_slot"]
    outcome = runner.run(TrialSpec("heap", size, align))
    assert outcome.guards_intact == (size >= slot["min_size"])
    if size >= slot["min_size"]:
        assert runner.failure(outcome) is None
        assert [list(r) for r in outcome.written] == slot["footprint"]
        # The object pointer is a live allocation at least as big as the real object.
        instance = runner.factory.fresh()
        try:
            from realm_wasmer.probe.object import build

            chunk = locate_chunk(instance.memory, build(runner, instance))
        finally:
            runner.factory.finish(instance)
        assert chunk is not None and chunk.usable >= truth["cell_size"] and outcome.words[0] == chunk.user_ptr


@given(data=st.data())
def test_every_safe_placement_has_the_same_footprint(
    runner: TrialRunner, report: dict[str, Any], data: st.DataObject
) -> None:
    slot = report["out_slot"]
    safe = [p["name"] for p in slot["placements"] if p["safe"]]
    name = data.draw(st.sampled_from(safe))
    size = data.draw(st.integers(0, MAX_SIZE))
    align = data.draw(st.sampled_from(ALIGNMENTS))
    param = data.draw(st.integers(0, 2048)) if name == "stack_unreserved" else 0
    outcome = runner.run(TrialSpec(name, size, align, param))
    assert outcome.status == "ok"
    assert outcome.guards_intact == (size >= slot["min_size"])
    if size >= slot["min_size"]:
        assert [list(r) for r in outcome.written] == slot["footprint"]
        assert runner.failure(outcome) is None


@given(offset=st.integers(0, 63), size=st.integers(12, MAX_SIZE))
def test_memory_end_fails_exactly_when_the_footprint_runs_off(
    runner: TrialRunner, report: dict[str, Any], offset: int, size: int
) -> None:
    outcome = runner.run(TrialSpec("memory_end", size, 1, offset))
    assert outcome.address is not None
    footprint_end = max(b for _, b in report["out_slot"]["footprint"])
    runs_off = outcome.address + footprint_end > outcome.memory_size
    assert (outcome.status == "trap") == runs_off
    if runs_off:
        assert outcome.error == "out of bounds memory access"


# -- the object, against the compiler's ground truth --------------------------------


def test_object_matches_truth_exports(report: dict[str, Any], truth: dict[str, int]) -> None:
    obj = report["object"]
    assert obj["alloc_size"] >= truth["cell_size"] and obj["usable_size"] >= truth["cell_size"]
    assert obj["size"]["value"] == truth["cell_size"]
    assert obj["align"]["value"] == truth["cell_align"]
    assert obj["value_offset"]["value"] == truth["cell_value_offset"]
    assert obj["value_offset"]["basis"] == "measured"
    assert obj["borrow_flag_offset"] == 0 and obj["borrow_flag"]["basis"] == "measured"
    base = truth["cell_value_offset"] + truth["offset_config"]
    setters = sorted((f["offset"], f["size"]) for f in obj["fields"] if f["source"] == "setter")
    assert setters == sorted((base + truth[f"config_offset_{f}"], 4) for f in CONFIG_FIELDS)
    # The fields whose initialisation the diff reveals start where the compiler put them.
    starts = {f["offset"] for f in obj["fields"]}
    for field in ("tokenizer", "model_id", "transformer_config", "config", "kv_caches"):
        assert truth["cell_value_offset"] + truth[f"offset_{field}"] in starts, field
    inside = [a <= truth["cell_value_offset"] + truth["offset_kv_caches"] < b for a, b in obj["initialized"]]
    assert any(inside)


def test_borrow_flag_observed_during_a_mut_self_call(
    report: dict[str, Any], compiled: Callable[[str], rw.CompiledModule]
) -> None:
    """realm_generate holds &mut self while it calls env.realm_next_token: the
    host reads the word the probe named as the borrow flag during that import."""
    offset = report["object"]["borrow_flag_offset"]
    seen: list[int] = []
    imports = rw.Imports()
    imports.register("env", "realm_store_model", lambda caller, ptr, length, model_id: 0)

    def next_token(caller: rw.Caller, model_id: int, tokens_ptr: int, tokens_len: int) -> int:
        seen.append(caller.memory.u32(cell + offset))
        return -1 if len(seen) > 2 else 1

    imports.register("env", "realm_next_token", next_token)
    instance = compiled("wasmer-cranelift").instantiate(imports=imports)
    with instance.construct("Realm") as realm:
        cell = realm.ptr
        ptr, length = instance.abi.pass_bytes(tiny_gguf(["<unk>", "hello"]))
        assert instance.call_retptr("realm_loadModel", cell, ptr, length, words=2) == (0, 0)
        before = instance.memory.u32(cell + offset)
        ptr, length = instance.abi.pass_string("hello")
        assert instance.call_retptr("realm_generate", cell, ptr, length, words=4)[3] == 0
        after = instance.memory.u32(cell + offset)
    assert (before, after) == (0, 0) and seen and set(seen) == {0xFFFFFFFF}


def test_pattern1_and_pattern2(compiled: Callable[[str], rw.CompiledModule], truth: dict[str, int]) -> None:
    bare = probe(compiled("wasmer-cranelift"), class_name="Realm", export="realm_c_new", examples=EXAMPLES).to_json()
    assert bare["pattern"] == 2 and bare["out_slot"]["footprint"] == [] and bare["out_slot"]["words"] == []
    assert bare["object"]["ptr"] == bare["reference"]["words"][0]
    assert bare["object"]["alloc_size"] - 4 >= truth["realm_size"] and bare["object"]["borrow_flag_offset"] is None
    config = probe(compiled("wasmer-cranelift"), class_name="WasmGenerationConfig", examples=EXAMPLES).to_json()
    assert config["pattern"] == 1 and config["out_slot"]["footprint"] == []
    assert config["object"]["ptr"] == config["reference"]["words"][0]
    assert config["object"]["alloc_size"] - 4 >= 4 + truth["config_size"]
    assert config["object"]["borrow_flag_offset"] == 0
    setters = sorted(f["offset"] for f in config["object"]["fields"] if f["source"] == "setter")
    assert [o - setters[0] for o in setters] == sorted(truth[f"config_offset_{f}"] for f in CONFIG_FIELDS)


def test_config_variants_reveal_fields(compiled: Callable[[str], rw.CompiledModule], truth: dict[str, int]) -> None:
    """Constructions that set one config value differently (withConfig JSON) change
    that field's bytes. withConfig builds the Realm on the stack and copies it
    whole, so padding and None payloads carry parser leftovers that also differ:
    the variant candidates contain the field, the setters pin it exactly."""
    variants = {"max_tokens": ("9", "7"), "top_k": ("9", "7"), "temperature": ("0.5", "2.5")}
    for key, (base, other) in variants.items():
        data = probe(
            compiled("wasmer-cranelift"), class_name="Realm", export="realm_withConfig",
            args=[f'str:{{"{key}":{base}}}'], vary=[[f'str:{{"{key}":{other}}}']], examples=3, seeds=False,
            placements=["heap"],
        ).to_json()
        offset = truth["cell_value_offset"] + truth["offset_config"] + truth[f"config_offset_{key}"]
        found = [(f["offset"], f["size"]) for f in data["object"]["fields"] if f["source"] == "variant"]
        assert any(offset <= start < offset + 4 for start, _ in found), (key, found)
        setters = [(f["offset"], f["size"]) for f in data["object"]["fields"] if f["source"] == "setter"]
        assert (offset, 4) in setters
    assert data["out_slot"]["failing_call"]["how"] == "search"


# -- engines -------------------------------------------------------------------------


def test_results_identical_on_cranelift_and_wasmtime(reports: dict[str, LayoutReport]) -> None:
    """Identical but for the reserved stack slot (comparable() leaves it out): wasmtime runs the
    raw module untransformed, whose stack pointer nothing outside it can move."""
    cranelift, wasmtime = (reports[e].comparable() for e in ENGINES)
    assert cranelift == wasmtime
    reserved = [
        next(p for p in reports[e].to_json()["out_slot"]["placements"] if p["name"] == "stack_reserved")
        for e in ENGINES
    ]
    assert reserved[0]["available"] and reserved[0]["safe"] is True
    assert reserved[1]["available"] is False and reserved[1]["explanation"].startswith("not offered on wasmtime")
    trials = [reports[e].trials for e in ENGINES]  # wasmer's extra: the placement's examples and its reference
    assert trials[0] == trials[1] + reserved[0]["examples"] + 1


# -- the seeds' failure mode ------------------------------------------------------------


def test_seeds_failure_reproduced_and_explained(report: dict[str, Any]) -> None:
    seeds = report["seeds"]
    assert seeds["applies"] is True
    malloc, construct, in_place = seeds["steps"]
    assert malloc["call"] == "__wbindgen_malloc(200)" and malloc["outcome"] == "ok"
    # Under the upstream conditions the out-pointer constructor itself succeeds...
    assert construct["outcome"] == "ok" and construct["detail"]["slot_words"][1:] == [0, 0]
    assert [c["import"].rsplit(".", 1)[-1] for c in construct["imports"]] == ["__wbg_log_2779ba3813d69f4a"]
    # ...and the trap comes from using the slot as the object: the trace names the import.
    assert in_place["outcome"] == "trap" and in_place["detail"]["trap"] == "unreachable"
    assert in_place["detail"]["last_import"] == "__wbindgen_placeholder__.__wbindgen_throw"
    assert "borrow-flag offset +0" in in_place["explanation"]
    assert [s["outcome"] for s in seeds["correct"]] == ["ok", "ok"]
    # The "out of bounds memory access" itself: a slot near the end of memory.
    end = {p["name"]: p for p in report["out_slot"]["placements"]}["memory_end"]
    assert end["error"].startswith("out of bounds memory access")


def test_seeds_conditions_on_wasmtime_and_stub_policy(compiled: Callable[[str], rw.CompiledModule]) -> None:
    """on_missing='stub' (intrinsics real, the rest zeros): the same constructor works,
    and the in-place use fails with the guest's own borrow error instead of a trap."""
    instance = compiled("wasmtime").instantiate(on_missing="stub", start=False)
    slot = instance.abi.malloc(200)
    instance.call("realm_new", slot)
    assert instance.memory.u32s(slot, 3)[1:] == (0, 0)
    with pytest.raises(rw.JsError, match="recursive use of an object"):
        instance.call("__wbg_realm_free", slot)


# -- public corpus constructors ------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_modules(corpus: dict) -> Callable[[str], rw.CompiledModule]:
    cache: dict[str, rw.CompiledModule] = {}

    def get(package: str) -> rw.CompiledModule:
        if package not in cache:
            entry = corpus[package]
            cache[package] = rw.compile(entry["wasm"], engine="wasmer-cranelift", glue=entry["glue"].read_text())
        return cache[package]

    return get


def test_corpus_resvg_out_pointer_constructor(corpus: dict, corpus_modules: Callable[[str], rw.CompiledModule]) -> None:
    """The glue: retptr = add_to_stack_pointer(-16); resvg_new(retptr, ...); r0, r1, r2 =
    i32 words at retptr/4 + 0..2; if (r2) throw takeObject(r1); ptr = r0."""
    from .test_corpus_calls import RV_HANDLERS, make_imports

    imports = make_imports(corpus, "resvg", RV_HANDLERS, Counter())
    svg = 'js:<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>'
    data = probe(corpus_modules("resvg"), class_name="Resvg", args=[svg, "0", "0", "0"],
                 fail_args=["js:not an svg", "0", "0", "0"], imports=imports, examples=EXAMPLES,
                 placements=["heap", "stack_reserved", "memory_end"]).to_json()
    slot = data["out_slot"]
    assert slot["footprint"] == [[0, 12]] and slot["min_size"] <= 16
    assert [(w["offset"], w["role"], w["basis"]) for w in slot["words"]] == [
        (0, "object_ptr", "measured"), (4, "error", "measured"), (8, "is_err", "measured")]
    placements = {p["name"]: p for p in slot["placements"]}
    assert placements["stack_reserved"]["available"] and placements["stack_reserved"]["safe"] is True
    assert placements["heap"]["safe"] is True and placements["memory_end"]["safe"] is False
    assert data["memory"]["stack_pointer_source"] == "__wbindgen_add_to_stack_pointer(0)"
    assert data["object"]["borrow_flag_offset"] == 0 and data["object"]["alloc_size"] > 0
    assert data["seeds"]["applies"] is False  # its malloc takes (size, align): the upstream call is refused
    assert "takes 2 arguments" in data["seeds"]["why_not"]


def test_corpus_photon_pattern1_constructor(corpus_modules: Callable[[str], rw.CompiledModule]) -> None:
    """The glue: const ret = wasm.rgb_new(r, g, b); return Rgb.__wrap(ret)."""
    data = probe(corpus_modules("photon"), class_name="Rgb", args=["1", "2", "3"], examples=EXAMPLES).to_json()
    assert data["pattern"] == 1 and data["out_slot"]["footprint"] == []
    obj = data["object"]
    assert obj["ptr"] == data["reference"]["words"][0] and obj["borrow_flag_offset"] == 0
    setters = [(f["offset"], f["size"]) for f in obj["fields"] if f["source"] == "setter"]
    assert setters == [(4, 1), (5, 1), (6, 1)]  # r, g, b: u8 each, after the 4-byte borrow flag
    assert bytes.fromhex(obj["bytes"])[4:7] == bytes([1, 2, 3])


# -- command line ------------------------------------------------------------------------------


def _cli(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="realm-wasmer")
    probe_cli.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_cli_json_and_diagram(capsys: pytest.CaptureFixture[str], tmp_path: Any) -> None:
    diagram = tmp_path / "realm.svg"
    args = _cli(["probe", str(REALM_WASM), "--class", "Realm", "--json", "--examples", "4", "--seed", "3",
                 "--diagram", str(diagram), "--no-seeds", "--placements", "heap"])
    assert probe_cli.run(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["export"] == "realm_new" and data["out_slot"]["min_size"] == 12
    assert diagram.read_text().startswith("<svg") and "borrow flag" in diagram.read_text()


def test_cli_text_map(capsys: pytest.CaptureFixture[str]) -> None:
    args = _cli(["probe", str(REALM_WASM), "--export", "realm_new", "--examples", "3", "--profile", "ci",
                 "--placements", "heap", "memory_end"])
    assert probe_cli.run(args) == 0
    out = capsys.readouterr().out
    assert "object_ptr" in out and "borrow flag" in out and "UNSAFE" in out and "__wbindgen_throw" in out


def test_render_and_arguments(report: dict[str, Any]) -> None:
    assert "minimum size 12" in text_map(report) and "<rect" in svg_diagram(report)
    assert parse_arg("str:{}").width == 2 and parse_arg("0x10").value == 16 and parse_arg("null").value == 0
    with pytest.raises(rw.RealmWasmerError, match="not a number"):
        parse_arg("banana")


WORK_KEYS = ("examples", "trials", "trials_per_second", "timing")


def _findings(data: Any) -> Any:
    """A report's JSON without what only says how much work was done (trial and example counts, timings)."""
    if isinstance(data, dict):
        return {k: _findings(v) for k, v in data.items() if k not in WORK_KEYS}
    if isinstance(data, list):
        return [_findings(v) for v in data]
    return data


def test_findings_do_not_depend_on_hypothesis_explain_phase(
    compiled: Callable[[str], rw.CompiledModule], monkeypatch: pytest.MonkeyPatch, report: dict[str, Any]
) -> None:
    """The probe runs without Hypothesis's explain phase (a line tracer re-running shrunk
    examples, most of a probe's time); with it back on, every finding is the same."""
    from hypothesis import Phase

    from realm_wasmer.probe import slot

    assert Phase.explain not in slot.PHASES and Phase.shrink in slot.PHASES
    monkeypatch.setattr(slot, "PHASES", (*slot.PHASES, Phase.explain))
    explained = probe(compiled("wasmer-cranelift"), class_name="Realm", examples=EXAMPLES).to_json()
    assert _findings(explained) == _findings(report)
