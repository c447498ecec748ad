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
import contextlib
import copy
import functools
import hashlib
import json
import logging
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

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


@contextlib.contextmanager
def logged(into: list[str]) -> Iterator[None]:
    """Keep what the library logs at WARNING and above in ``into`` (a handler on the
    ``realm_wasmer`` logger: with one there, Python's last-resort handler prints nothing)."""

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            into.append(record.getMessage())

    logger, handler = logging.getLogger("realm_wasmer"), Keep(logging.WARNING)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


class ExportClock:
    """Seconds spent inside the engine's export callables it wrapped, outermost calls only
    (an export a guest import calls back runs inside another), and the export calls seen:
    every one, nested ones included, but a callable wrapping another wrapped one for the
    same export (an engine's checked callable over its raw one) counts once."""

    def __init__(self) -> None:
        self.spent = 0.0
        self.calls = 0
        self._running: list[str] = []

    def wrap(self, function: Callable[..., Any], export: str) -> Callable[..., Any]:
        clock, running = time.perf_counter, self._running

        def timed(*args: Any) -> Any:
            if running:
                if running[-1] != export:
                    self.calls += 1
                running.append(export)
                try:
                    return function(*args)
                finally:
                    running.pop()
            self.calls += 1
            running.append(export)
            start = clock()
            try:
                return function(*args)
            finally:
                self.spent += clock() - start
                running.pop()

        return timed


#: The engine-instance methods that hand out export callables (every path to the guest:
#: ``GuestCalls.call``, its bound callers, the bindings' guarded regions, the JS glue's entries).
_HANDING_OUT = ("function", "raw_export")


@contextlib.contextmanager
def clocked_exports(engine_class: type, clock: ExportClock) -> Iterator[None]:
    """While inside, every export callable an instance of ``engine_class`` hands out is
    wrapped by ``clock`` (callables handed out earlier, e.g. callers bound by an instance
    already called, are not: measure on an instance made inside)."""
    names = [name for name in _HANDING_OUT if callable(getattr(engine_class, name, None))]
    own = {name: engine_class.__dict__.get(name) for name in names}
    for name in names:
        original = getattr(engine_class, name)

        def handing_out(self: Any, export: str, _original: Callable[..., Any] = original) -> Any:
            return clock.wrap(_original(self, export), export)

        setattr(engine_class, name, handing_out)
    try:
        yield
    finally:
        for name, value in own.items():
            if value is None:
                delattr(engine_class, name)
            else:
                setattr(engine_class, name, value)


def inside_wasm(engine_class: type, load: Callable[[], Any], make_call: Callable[[Any], Callable[[], object]],
                repeats: int) -> dict[str, Any]:  # fmt: skip
    """Where a call's time goes: seconds per call inside the engine's export calls (every
    export call the host makes, the glue's and the allocator's; imports the guest calls
    during them count as inside, so for a call with no imports it is the engine's compiled
    code alone), and the rest (the host: the JS evaluator, conversions).

    Measured on a fresh load of the package (``load``) loaded and called while the engine
    hands out its export callables wrapped by a clock (:func:`clocked_exports`), so no caller
    bound earlier escapes it (callers cached by the host or the glue did, with the previous
    way of swapping ``GuestCalls``' tables after the fact: it read 0): ``repeats`` calls
    after one warm-up. ``export_calls_timed`` against
    ``export_calls_made`` (the instance's count, where the package exposes its instance)
    says whether every export call was timed; when none was, the figure is reported as
    not measured, never as 0."""
    clock = ExportClock()
    with clocked_exports(engine_class, clock):  # callables are handed out at load and on first calls
        api = load()
        call = make_call(api)
        instance = _instance_of(api)
        call()
        clock.spent, clock.calls = 0.0, 0
        made_before = instance.calls if instance is not None else None
        start = time.perf_counter()
        for _ in range(repeats):
            call()
        total = (time.perf_counter() - start) / repeats
    made = instance.calls - made_before if instance is not None and made_before is not None else None
    how = "export callables of a fresh load timed (every export call); the rest is the host's"
    counts = {"repeats": repeats, "export_calls_timed": clock.calls / repeats,
              "export_calls_made": None if made is None else made / repeats}  # fmt: skip
    if not clock.calls or (made is not None and clock.calls < made):
        why = (f"{clock.calls} of {made if made is not None else '?'} export calls went through the clocked "
               "callables: the package reaches the engine another way")  # fmt: skip
        return {"total_s": total, "inside_s": None, "outside_s": None, "not_measured": why, **counts, "how": how}
    inside = clock.spent / repeats
    return {"total_s": total, "inside_s": inside, "outside_s": total - inside, **counts, "how": how}


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

        def load_logged() -> tuple[Any, list[str]]:
            messages: list[str] = []
            with logged(messages):  # the library's warnings go to the report, not between the result lines
                return load_package(str(root / "package"), engine=engine, entry=glue), messages

        def load() -> Any:
            return load_logged()[0]

        api, load_log = ctx.memo(("package", package, engine), load_logged)
        inputs = decode_input(_case_doc(ctx, package, case_id).get("inputs", {}), root,
                              ctx.memo(("files", package), dict))  # fmt: skip

        def bound(api: Any) -> tuple[Callable[[], object], Any]:
            state = make_state(api, inputs) if make_state else None
            return functools.partial(translate, api, inputs, state), state

        call, state = bound(api)
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
            if compute:
                # Is the gap to Node the engine's compiled code? The time inside wasm alone, against Node's whole call.
                repeats = max(3, min(50, int(0.25 / max(result["median_s"], 1e-6))))
                split: dict[str, Any] = (
                    {"inside_s": None, "not_measured": "the package object does not expose its instance"}
                    if instance is None
                    else inside_wasm(type(instance.engine_instance), load, lambda a: bound(a)[0], repeats)
                )
                # the share inside wasm, applied to the rounds' median: the same call as ratio_to_node, so
                # the two compare even when the load changed between the rounds and these calls
                share = split["inside_s"] / split["total_s"] if split["inside_s"] is not None else None
                split["inside_share"] = share
                split["inside_ratio_to_node"] = (share * result["median_s"] / node_median
                                                 if node_median and share is not None else None)  # fmt: skip
                result["inside_wasm"] = split
            if result.get("crossings") is None:
                result["crossings"] = {**trace, "total": trace["exports"] + trace["imports"],
                                       "source": "recorded Node trace (cases/<id>.json)"}  # fmt: skip

        close = getattr(state, "free", None) if state is not None else None
        notes: dict[str, Any] = {"entry": glue, "recorded_trace": trace}
        if load_log:
            notes["load_log"] = load_log
        return Prepared(call, counter=counter, finish=finish, close=close, notes=notes)

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
