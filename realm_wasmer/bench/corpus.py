"""Corpus calls: Python through ``realm_wasmer.load_package`` against Node running the
package's own glue, in the same run.

The calls are a chosen set of the public corpus (``../shared/corpus``, fetched by its
``fetch.sh``), each translated from the case's ``run()`` (or ``bench``) in
``node/cases/<id>.mjs``, as ``check_calls.py`` translates them. The Node side is
``benchmarks/node_bench.mjs``: it loads the package as ``ground_truth.mjs`` does
and times the same case in calibrated batches. Guest->host crossings per call are
the import calls recorded in ``cases/<id>.json`` (decided by the wasm, so the same
for any faithful host), unless the package object exposes its instance.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Optional

from ..errors import BenchmarkSkipped as Skip
from .model import Case, Context, Prepared

#: Translation of a case: (api, inputs, state) -> result, mirroring the JS.
Run = Callable[[Any, dict[str, Any], Any], object]


def _length(value: Any) -> int:
    return len(value)


def _resvg_summary(img: Any) -> dict[str, Any]:
    png = img.asPng()
    return {"width": img.width, "height": img.height, "png_len": _length(img.asPng()),
            "png_sha256": hashlib.sha256(bytes(png)).hexdigest(),
            "pixels_sha256": hashlib.sha256(bytes(img.pixels)).hexdigest()}  # fmt: skip


def _resvg_render_bench(r: Any, i: dict[str, Any], _s: Any) -> None:
    # the case's `bench`: new Resvg(svg, options); render(); asPng(); free both
    rv = r.Resvg(i["svg"], i["options"])
    img = rv.render()
    img.asPng()
    img.free()
    rv.free()


def _resvg_bytes_input(r: Any, i: dict[str, Any], _s: Any) -> object:
    rv = r.Resvg(i["svg_bytes"])
    img = rv.render()
    out = _resvg_summary(img)
    img.free()
    rv.free()
    return out


def _photon_decode(p: Any, i: dict[str, Any], _s: Any) -> object:
    im = p.PhotonImage.new_from_byteslice(i["png"])
    out = [im.get_width(), im.get_height(), im.get_raw_pixels()]
    im.free()
    return out


def _tiktoken(T: Any, i: dict[str, Any]) -> Any:
    return T.Tiktoken(i["bpe_ranks"], i["special_tokens"], i["pat_str"])


#: (package, case, why it is here, translation, setup or None, compute-bound?)
CALLS: list[tuple[str, str, str, Run, Optional[Callable[[Any, dict[str, Any]], Any]], bool]] = [
    ("message_parser", "parse_text_large", "crossing-bound: ~20 KB message, 25,202 guest->host calls",
     lambda m, i, _s: _length(m.parse_text(i["s"] * 200, True)), None, False),
    ("message_parser", "parse_text_markdown", "a short message: 137 guest->host calls",
     lambda m, i, _s: m.parse_text(i["s"], i["enable_markdown"]), None, False),
    ("tiktoken", "encode", "a sentence: 6 guest->host calls, Vec<u32> through retptr",
     lambda T, i, enc: enc.encode(i["text"]), _tiktoken, False),
    ("tiktoken", "encode_long_ordinary", "compute-bound: ~16 KB text, no import calls",
     lambda T, i, enc: enc.encode_ordinary(i["text"] * 100), _tiktoken, True),
    ("photon", "decode_png_byteslice", "compute-bound: PNG decode, Vec<u8> in and out",
     _photon_decode, None, True),
    ("resvg", "render_png", "compute-bound: Resvg(svg) + render + asPng (the case's bench form)",
     _resvg_render_bench, None, True),
    ("resvg", "bytes_input", "compute-bound: SVG as bytes, render, PNG and pixel hashes",
     _resvg_bytes_input, None, True),
]  # fmt: skip

COMPUTE_BOUND = [f"{pkg}.{cid}" for pkg, cid, _, _, _, compute in CALLS if compute]


# -- corpus files -----------------------------------------------------------------
def _package_entry(ctx: Context, package: str) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        path = ctx.settings.corpus_dir / "packages.json"
        if not path.is_file():
            raise Skip(f"corpus not found at {ctx.settings.corpus_dir} (set --corpus or $REALM_CORPUS_DIR)")
        return {p["id"]: p for p in json.loads(path.read_text())["packages"]}

    entries: dict[str, Any] = ctx.memo("corpus-packages", read)
    return entries[package]  # type: ignore[no-any-return]


def _case_doc(ctx: Context, package: str, case_id: str) -> dict[str, Any]:
    doc = ctx.memo(("case-doc", package), lambda: json.loads((ctx.settings.corpus_dir / "cases" /
                                                              f"{package}.json").read_text()))  # fmt: skip
    for case in doc["cases"]:
        if case["id"] == case_id:
            return case  # type: ignore[no-any-return]
    raise Skip(f"no case {case_id} in cases/{package}.json")


def _require_fetched(ctx: Context, package: str) -> Path:
    entry = _package_entry(ctx, package)
    root = ctx.settings.corpus_cache / "pkgs" / package
    if not (root / entry["wasm_path"]).is_file():
        fetch = ctx.settings.corpus_dir / "fetch.sh"
        raise Skip(f"{package} not fetched: run bash {fetch} {ctx.settings.corpus_cache}")
    return root


def decode_input(value: Any, root: Path, files: dict[Any, Any]) -> Any:
    """The corpus input encoding into Python values (check_calls.py's ``decode_input``)."""
    if isinstance(value, list):
        return [decode_input(x, root, files) for x in value]
    if not isinstance(value, dict):
        return value
    if "$undefined" in value:
        from ..js.values import UNDEFINED

        return UNDEFINED
    if "$bigint" in value:
        return int(value["$bigint"])
    if "$bytes_b64" in value:
        return base64.b64decode(value["$bytes_b64"])
    if "$bytes_utf8" in value:
        return str(value["$bytes_utf8"]).encode("utf-8")
    if "$u32" in value:
        import numpy as np

        return np.array(value["$u32"], dtype=np.uint32)
    if "$file" in value:
        path = root / value["$file"]
        if path not in files:
            files[path] = path.read_text(encoding="utf-8")
        if not value.get("$json_path"):
            return files[path]
        key = (path, "json")
        if key not in files:
            files[key] = json.loads(files[path])
        obj = files[key]
        for part in str(value["$json_path"]).split("."):
            obj = obj[part]
        return copy.deepcopy(obj)
    return {k: decode_input(x, root, files) for k, x in value.items()}


def recorded_trace(ctx: Context, package: str, case_id: str) -> dict[str, int]:
    """Export and import calls Node's glue made in the recorded case."""
    trace = _case_doc(ctx, package, case_id).get("trace", {})
    return {"exports": sum(trace.get("exports", {}).values()), "imports": sum(trace.get("imports", {}).values())}


# -- Node -------------------------------------------------------------------------
def _node_package(ctx: Context, package: str) -> dict[str, Any]:
    """Run the Node harness once for every selected case of ``package``."""
    settings = ctx.settings
    node = settings.node or shutil.which("node")
    if not node:
        raise Skip("node not installed")
    if not settings.node_harness.is_file():
        raise Skip(f"Node harness missing at {settings.node_harness}")
    _require_fetched(ctx, package)
    only = settings.only
    wanted = [cid for pkg, cid, *_ in CALLS  # every case of the package when the group is selected
              if pkg == package and (not only or "corpus" in only or f"corpus.{pkg}.{cid}" in only)]  # fmt: skip
    budget_ms = max(1.0, settings.call_budget * 1000 / 2)
    command = [node, "--no-warnings", "--no-liftoff", str(settings.node_harness), "--corpus", str(settings.corpus_dir),
               "--cache", str(settings.corpus_cache), "--package", package, "--cases", ",".join(wanted),
               "--rounds", str(settings.rounds), "--budget-ms", f"{budget_ms:.0f}"]  # fmt: skip
    timeout = 120 + 20 * budget_ms / 1000 * len(wanted)
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"the Node harness took more than {timeout:.0f} s") from None
    try:
        data: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        raise RuntimeError(f"the Node harness failed: {(out.stderr or out.stdout)[-400:]}") from None
    if "error" in data:
        raise RuntimeError(f"the Node harness failed: {data['error']}")
    return data


def node_result(ctx: Context, package: str, case_id: str) -> dict[str, Any]:
    """Node's figures for one case: ``{median_s, min_s, max_s, ...}`` or ``{skipped|error: why}``."""
    try:
        data = ctx.memo(("node", package), lambda: _node_package(ctx, package))
    except Skip as exc:
        return {"skipped": str(exc)}
    except Exception as exc:  # noqa: BLE001 - reported, the Python side still runs
        return {"error": f"{type(exc).__name__}: {exc}"}
    result: dict[str, Any] = dict(data["cases"].get(case_id) or {"error": "not timed"})
    result["node_version"] = data.get("node_version")
    return result


# -- Python -----------------------------------------------------------------------
def load_package_function() -> Optional[Callable[..., Any]]:
    import realm_wasmer

    function = getattr(realm_wasmer, "load_package", None)
    return function if callable(function) else None


def _instance_of(api: Any) -> Any:
    """The library instance behind a loaded package, where the package object exposes it."""
    from ..instance import Instance

    for name in ("instance", "_instance", "_wbg_instance", "__instance__"):
        try:
            value = getattr(api, name, None)
        except Exception:  # noqa: BLE001 - a package attribute may be anything
            continue
        if isinstance(value, Instance):
            return value
    runtime = getattr(api, "__realm__", None)  # load_package's PackageRuntime: its wasm instances
    instances = [i for i in getattr(runtime, "instances", None) or () if isinstance(i, Instance)]
    return instances[0] if len(instances) == 1 else None


def inside_wasm(instance: Any, call: Callable[[], object], repeats: int) -> dict[str, Any]:
    """Where ``call``'s time goes: seconds per call inside the engine's export calls made
    through ``Instance.call`` (every call the glue makes; calls through bound callers the
    host made earlier, e.g. the allocator's, are counted outside, so ``inside_s`` is a
    lower bound), and the rest (the host: the JS evaluator, conversions, imports answered
    in Python; imports the guest calls during an export call count as inside).

    Measured by timing the instance's export callables for ``repeats`` extra calls after
    the timed rounds, then putting them back."""
    calls = instance.context.calls
    saved, saved_callers = calls._callables, calls._callers
    spent = [0.0]
    clock = time.perf_counter

    def timed(function: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            start = clock()
            try:
                return function(*args)
            finally:
                spent[0] += clock() - start

        return run

    # Instance.call reaches the engine through the export's bound caller (thread-affine
    # engines) or its engine callable: both are timed (a caller's own bookkeeping, ~0.3 us
    # a call, counts as inside).
    calls._callables = {name: (timed(function), arity) for name, (function, arity) in saved.items()}
    calls._callers = {name: timed(caller) for name, caller in saved_callers.items()}
    try:
        start = clock()
        for _ in range(repeats):
            call()
        total = (clock() - start) / repeats
    finally:
        calls._callables, calls._callers = saved, saved_callers
    inside = spent[0] / repeats
    return {"total_s": total, "inside_s": inside, "outside_s": total - inside, "repeats": repeats,
            "how": "export calls made through Instance.call timed (the glue's); the rest is the host's"}  # fmt: skip


def _setup(package: str, case_id: str, translate: Run, make_state: Optional[Callable[[Any, dict[str, Any]], Any]],
           compute: bool = False) -> Callable[[Context, str], Prepared]:  # fmt: skip
    def setup(ctx: Context, engine: str) -> Prepared:
        skipped = dict(ctx.settings.corpus_skip).get(engine)
        if skipped:
            raise Skip(skipped)
        load_package = load_package_function()
        if load_package is None:
            raise Skip("load_package not available")
        root = _require_fetched(ctx, package)
        entry = _package_entry(ctx, package)
        glue = str(entry["glue"]).removeprefix("package/")
        api = ctx.memo(("package", package, engine),
                       lambda: load_package(str(root / "package"), engine=engine, entry=glue))  # fmt: skip
        inputs = decode_input(_case_doc(ctx, package, case_id).get("inputs", {}), root,
                              ctx.memo(("files", package), dict))  # fmt: skip
        state = make_state(api, inputs) if make_state else None

        def call() -> object:
            return translate(api, inputs, state)

        instance = _instance_of(api)
        counter = (lambda: (instance.calls, sum(instance.import_calls.values()))) if instance is not None else None
        trace = recorded_trace(ctx, package, case_id)
        node = node_result(ctx, package, case_id)

        def finish(result: dict[str, Any]) -> None:
            imports = trace["imports"]
            if imports:
                result["us_per_crossing"] = result["median_s"] / imports * 1e6
            node_median = node.get("median_s")
            if node_median:
                result["ratio_to_node"] = result["median_s"] / node_median
                result["ratio_to_node_range"] = [result["min_s"] / node_median, result["max_s"] / node_median]
                if imports:
                    result["extra_us_per_crossing_over_node"] = (result["median_s"] - node_median) / imports * 1e6
            if compute and instance is not None:
                # Is the gap to Node the engine's compiled code? The time inside wasm alone, against Node's whole call.
                split = inside_wasm(instance, call, max(3, min(50, int(0.25 / max(result["median_s"], 1e-6)))))
                if node_median:
                    split["inside_ratio_to_node"] = split["inside_s"] / node_median
                result["inside_wasm"] = split
            if result.get("crossings") is None:
                result["crossings"] = {**trace, "total": trace["exports"] + trace["imports"],
                                       "source": "recorded Node trace (cases/<id>.json)"}  # fmt: skip

        close = getattr(state, "free", None) if state is not None else None
        return Prepared(call, counter=counter, finish=finish, close=close,
                        notes={"entry": glue, "recorded_trace": trace})  # fmt: skip

    return setup


def _extra(package: str, case_id: str) -> Callable[[Context], dict[str, Any]]:
    def extra(ctx: Context) -> dict[str, Any]:
        try:
            trace = recorded_trace(ctx, package, case_id)
        except Exception as exc:  # noqa: BLE001
            trace = {"error": str(exc)}  # type: ignore[dict-item]
        node = node_result(ctx, package, case_id)
        imports = trace.get("imports")
        if node.get("median_s") and imports:
            node["us_per_crossing"] = node["median_s"] / imports * 1e6
        return {"node": node, "recorded_trace": trace}

    return extra


CORPUS_CASES = [
    Case(f"corpus.{package}.{case_id}", f"{package} {case_id}", "corpus", why,
         floor="Node running the package's own glue (ratio_to_node)",
         setup=_setup(package, case_id, translate, make_state, compute), corpus=(package, case_id),
         extra=_extra(package, case_id))
    for package, case_id, why, translate, make_state, compute in CALLS
]  # fmt: skip
