"""Public corpus calls run end to end at the raw ABI level, against the Node ground truth.

Each case of ``../shared/corpus/cases/<id>.json`` is replayed the way the package's own
JS glue makes it: the same raw exports, in the same order, with the js-sys/web-sys
imports (``__wbg_<name>_<hash>``) answered by tiny Python handlers that mirror the
glue's function bodies (each names the glue line it mirrors). Intrinsics
(``__wbindgen_string_new``, ``__wbindgen_object_drop_ref``...) are the library's own.
Results are encoded with the corpus value encoding and compared with ``output``;
the JS heap must be back at its baseline afterwards wherever the glue leaves nothing
behind, and the counts of the binding imports must equal ``trace.imports``.

JS stand-ins: ``list``/``dict`` for ``Array``/``Object``, ``bytearray`` for an owned
``Uint8Array``, :class:`MemView` for a ``Uint8Array`` viewing wasm memory, and
:class:`ArrayBuffer` for ``memory.buffer``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from typing import Any, Callable, Iterator, Optional

import attrs
import pytest

import realm_wasmer as rw
from realm_wasmer import engines

ENGINES = ["wasmer-cranelift", "wasmtime"]

Handler = Callable[..., Any]


# -- corpus value encoding ------------------------------------------------------


def decode(value: Any) -> Any:
    """Decode a case input (``$bytes_b64``, ``$bytes_utf8``, ``$undefined``) into Python."""
    if isinstance(value, dict):
        if "$bytes_b64" in value:
            return bytearray(base64.b64decode(value["$bytes_b64"]))
        if "$bytes_utf8" in value:
            return bytearray(value["$bytes_utf8"].encode("utf-8"))
        if value.get("$undefined") is True:
            return rw.UNDEFINED
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def encode(value: Any) -> Any:
    """Encode a Python result with the corpus rules (README "Values")."""
    if value is rw.UNDEFINED:
        return {"$undefined": True}
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
        out: dict[str, Any] = {"$type": "Uint8Array", "length": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        if len(data) <= 256:
            out["b64"] = base64.b64encode(data).decode("ascii")
        return out
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    return value


def sha256(data: bytes | bytearray) -> str:
    return hashlib.sha256(bytes(data)).hexdigest()


# -- JS stand-ins for typed arrays over wasm memory -------------------------------


@attrs.define(eq=False)
class ArrayBuffer:
    """``wasm.memory.buffer``."""

    memory: rw.GuestMemory


@attrs.define(eq=False)
class MemView:
    """A ``Uint8Array`` viewing guest memory: reads see the memory as it is now."""

    memory: rw.GuestMemory
    offset: int
    length: int

    def __len__(self) -> int:
        return self.length

    def tobytes(self) -> bytes:
        return self.memory.read(self.offset, self.length)


# -- loading ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compiled(corpus: dict) -> Callable[[str, str], rw.CompiledModule]:
    """Compile each (package, engine) once for the whole module; each test instantiates afresh."""
    cache: dict[tuple[str, str], rw.CompiledModule] = {}

    def get(package_id: str, engine_name: str) -> rw.CompiledModule:
        key = (package_id, engine_name)
        if key not in cache:
            availability = engines.lookup(engine_name).availability()
            assert availability.available, f"{engine_name} must be available here: {availability.reason}"
            entry = corpus[package_id]
            data = entry["wasm"].read_bytes()
            assert sha256(data) == entry["meta"]["wasm"]["sha256"]
            cache[key] = rw.compile(data, engine=engine_name, glue=entry["glue"].read_text())
        return cache[key]

    return get


def case_of(corpus: dict, package_id: str, case_id: str) -> dict:
    for case in corpus[package_id]["cases"]["cases"]:
        if case["id"] == case_id:
            return case
    raise KeyError(f"{package_id} has no case {case_id!r}")


def make_imports(corpus: dict, package_id: str, handlers: dict[str, Handler], counts: Counter) -> rw.Imports:
    """Register each handler under its exact import name (checked against abi/<id>.json),
    counting calls so they can be compared with the case's ``trace.imports``."""
    declared = {(imp["module"], imp["name"]) for imp in corpus[package_id]["abi"]["imports"]}
    namespace = corpus[package_id]["meta"]["wasm"]["import_modules"][0]
    imports = rw.Imports()
    for name, handler in handlers.items():
        assert (namespace, name) in declared, f"{name} is not an import of {package_id}"

        def counted(caller: rw.Caller, *args: Any, _name: str = name, _handler: Handler = handler) -> Any:
            counts[_name] += 1
            return _handler(caller, *args)

        imports.register(namespace, name, counted, match="exact")
    return imports


def assert_binding_trace(case: dict, counts: Counter) -> None:
    """The ``__wbg_*`` binding imports the wasm called, exactly as under Node."""
    expected = {k: v for k, v in case["trace"]["imports"].items() if k.startswith("__wbg_")}
    assert dict(counts) == expected


def assert_no_leak(instance: rw.Instance, heap_base: int) -> None:
    stats = instance.stats()
    assert stats["heap_live"] == heap_base, f"JS heap leaked: {stats}"
    assert stats["borrowed"] == 0 and stats["objects_live"] == 0 and not stats["poisoned"]


# =================================================================================
# message_parser 0.2.87 (web target, "wbg"): free functions, serde-wasm-bindgen values
# =================================================================================

MP_ARRAY_NEW = "__wbg_new_898a68150f225f2e"
MP_OBJECT_NEW = "__wbg_new_b51585de1b234aff"
MP_ARRAY_SET = "__wbg_set_502d29070ea18557"
MP_OBJECT_SET = "__wbg_set_bd72c078edfa51ad"


def _mp_array_new(caller: rw.Caller) -> int:
    # const ret = new Array(); return addHeapObject(ret);
    return int(caller.heap.add([]))


def _mp_object_new(caller: rw.Caller) -> int:
    # const ret = new Object(); return addHeapObject(ret);
    return int(caller.heap.add({}))


def _mp_array_set(caller: rw.Caller, array: int, index: int, value: int) -> None:
    # getObject(arg0)[arg1 >>> 0] = takeObject(arg2);
    target = caller.heap.get(array)
    index &= 0xFFFFFFFF
    target.extend([rw.UNDEFINED] * (index + 1 - len(target)))  # a JS array grows to the index
    target[index] = caller.heap.take(value)


def _mp_object_set(caller: rw.Caller, obj: int, key: int, value: int) -> None:
    # getObject(arg0)[takeObject(arg1)] = takeObject(arg2);
    target = caller.heap.get(obj)
    name = caller.heap.take(key)
    target[name] = caller.heap.take(value)


MP_HANDLERS: dict[str, Handler] = {
    MP_ARRAY_NEW: _mp_array_new,
    MP_OBJECT_NEW: _mp_object_new,
    MP_ARRAY_SET: _mp_array_set,
    MP_OBJECT_SET: _mp_object_set,
}


def mp_parse_text(instance: rw.Instance, text: str, markdown: bool) -> Any:
    ptr, length = instance.abi.pass_string(text)  # passStringToWasm0(s, wasm.__wbindgen_malloc, ...)
    return instance.heap.take(instance.call("parse_text", ptr, length, int(markdown)))  # takeObject(ret)


def mp_first_emoji(instance: rw.Instance, text: str) -> Any:
    ptr, length = instance.abi.pass_string(text)
    r0, r1 = instance.call_retptr("get_first_emoji", ptr, length, words=2, slot="stack")
    # if (r0 !== 0) { v2 = getStringFromWasm0(r0, r1).slice(); wasm.__wbindgen_free(r0, r1 * 1); } return v2;
    return instance.abi.take_string(r0, r1) if r0 else rw.UNDEFINED


def mp_count_emojis(instance: rw.Instance, text: str) -> Any:
    ptr, length = instance.abi.pass_string(text)
    r0, r1 = instance.call_retptr("count_emojis_if_only_contains_emoji", ptr, length, words=2, slot="stack")
    return rw.UNDEFINED if r0 == 0 else r1  # r0 === 0 ? undefined : r1 >>> 0


def mp_string_fn(instance: rw.Instance, export: str, text: str) -> str:
    ptr, length = instance.abi.pass_string(text)
    r0, r1 = instance.call_retptr(export, ptr, length, words=2, slot="stack")
    return instance.abi.take_string(r0, r1)  # getStringFromWasm0(r0, r1); finally __wbindgen_free(r0, r1, 1)


def mp_is_puny(instance: rw.Instance, text: str) -> bool:
    ptr, length = instance.abi.pass_string(text)
    return instance.call("is_puny", ptr, length) != 0  # return ret !== 0


def mp_punycode(instance: rw.Instance, host: str) -> list[Any]:
    encoded = mp_string_fn(instance, "punycode_encode_host", host)
    return [
        encoded,
        mp_string_fn(instance, "punycode_decode_host", encoded),
        mp_is_puny(instance, encoded),
        mp_is_puny(instance, host),
    ]


MP_RUNNERS: dict[str, Callable[[rw.Instance, dict], Any]] = {
    "parse_text_markdown": lambda inst, i: mp_parse_text(inst, i["s"], i["enable_markdown"]),
    "parse_text_plain": lambda inst, i: mp_parse_text(inst, i["s"], i["enable_markdown"]),
    "get_first_emoji": lambda inst, i: [mp_first_emoji(inst, i["a"]), mp_first_emoji(inst, i["b"])],
    "count_emojis": lambda inst, i: [mp_count_emojis(inst, i["a"]), mp_count_emojis(inst, i["b"])],
    "punycode_roundtrip": lambda inst, i: mp_punycode(inst, i["h"]),
    "parse_text_large": lambda inst, i: mp_parse_text(inst, i["s"] * 200, True),  # .length taken below
}


#: serde-wasm-bindgen interns static strings (field names "t", "c"..., variant names "Text", "Link"...)
#: in a thread-local cache of JS strings on first use and hands out clones (the trace's clone_ref calls):
#: those stay on the heap under the glue as well, so these cases are checked for a steady state instead.
MP_INTERNING = {"parse_text_markdown", "parse_text_plain", "parse_text_large"}


def static_names(value: Any, names: Optional[set[str]] = None) -> set[str]:
    """Field names and enum tags (``"t"``) in a parse tree: what serde-wasm-bindgen interns."""
    names = set() if names is None else names
    if isinstance(value, dict):
        names.update(value)
        if isinstance(value.get("t"), str):
            names.add(value["t"])
        for item in value.values():
            static_names(item, names)
    elif isinstance(value, list):
        for item in value:
            static_names(item, names)
    return names


@pytest.mark.parametrize("engine_name", ENGINES)
@pytest.mark.parametrize("case_id", list(MP_RUNNERS))
def test_message_parser(corpus: dict, compiled: Callable, engine_name: str, case_id: str) -> None:
    case = case_of(corpus, "message_parser", case_id)
    counts: Counter = Counter()
    imports = make_imports(corpus, "message_parser", MP_HANDLERS, counts)
    # Every import is answered: the four bindings here, the five intrinsics by the library.
    instance = compiled("message_parser", engine_name).instantiate(imports=imports, on_missing="error")
    heap_base = instance.stats()["heap_live"]
    stack_pointer = instance.call("__wbindgen_add_to_stack_pointer", 0)
    inputs = decode(case["inputs"])
    for run in range(2):  # the second run checks the steady state (and the interned-string cache)
        counts.clear()
        result = MP_RUNNERS[case_id](instance, inputs)
        assert encode(len(result) if case_id == "parse_text_large" else result) == case["output"]
        assert_binding_trace(case, counts)
        assert instance.call("__wbindgen_add_to_stack_pointer", 0) == stack_pointer
        if run == 0 and case_id in MP_INTERNING:
            heap_base = instance.stats()["heap_live"]
            assert heap_base == len(static_names(result))  # one cached JS string per name, nothing else
        assert_no_leak(instance, heap_base)


def test_message_parser_undefined_is_not_null(corpus: dict, compiled: Callable) -> None:
    """The Link's ``punycode: undefined`` arrives as the undefined constant (index 128), not null."""
    counts: Counter = Counter()
    imports = make_imports(corpus, "message_parser", MP_HANDLERS, counts)
    instance = compiled("message_parser", "wasmtime").instantiate(imports=imports, on_missing="error")
    parsed = mp_parse_text(instance, "see https://delta.chat/", False)
    link = next(node for node in parsed if node["t"] == "Link")
    assert link["c"]["destination"]["punycode"] is rw.UNDEFINED


# =================================================================================
# photon 0.2.68: malloc(size), free(ptr, len), 32-slot heap, stack pointer global
# =================================================================================

PHOTON_SP = "__wbindgen_export_2"
MASK = 0xFFFFFFFF


def ph_stack_pointer(instance: rw.Instance) -> int:
    return int(instance.engine_instance.global_get(PHOTON_SP))


def ph_image(instance: rw.Instance, pixels: bytes, width: int, height: int) -> rw.Object:
    ptr, length = instance.abi.pass_bytes(pixels)  # passArray8ToWasm0(raw_pixels, wasm.__wbindgen_malloc)
    return instance.construct("PhotonImage", ptr, length, width, height)  # wasm.photonimage_new(ptr0, len0, w, h)


def ph_raw_pixels(instance: rw.Instance, image_ptr: int) -> bytearray:
    # retptr = wasm.__wbindgen_export_2.value - 16; wasm.photonimage_get_raw_pixels(retptr, this.ptr)
    r0, r1 = instance.call_retptr("photonimage_get_raw_pixels", image_ptr, words=2, slot="stack")
    data = bytearray(instance.memory.read(r0, r1))  # getArrayU8FromWasm0(r0, r1).slice()
    instance.abi.free(r0, r1)  # wasm.__wbindgen_free(r0, r1 * 1): the two-argument free of this era
    return data


def ph_size(image: rw.Object) -> list[int]:
    return [image.call("photonimage_get_width") & MASK, image.call("photonimage_get_height") & MASK]  # ret >>> 0


def ph_free(instance: rw.Instance, ptr: int) -> None:
    instance.call("__wbg_photonimage_free", ptr)  # free(): wasm.__wbg_photonimage_free(ptr)


def ph_constructor_and_getters(instance: rw.Instance, i: dict) -> Any:
    with ph_image(instance, i["pixels"], i["width"], i["height"]) as image:
        return [*ph_size(image), ph_raw_pixels(instance, image.ptr)]


def ph_grayscale(instance: rw.Instance, i: dict) -> Any:
    with ph_image(instance, i["pixels"], i["width"], i["height"]) as image:
        instance.call("grayscale", image.ptr)  # wasm.grayscale(img.ptr)
        return ph_raw_pixels(instance, image.ptr)


def ph_resize(instance: rw.Instance, i: dict) -> Any:
    with ph_image(instance, i["pixels"], i["width"], i["height"]) as image:
        # PhotonImage.__wrap(wasm.resize(img.ptr, w, h, filter)): a new object from a returned pointer
        out = instance.call("resize", image.ptr, i["new_width"], i["new_height"], i["filter"]) & MASK
        assert out != 0
        try:
            width = instance.call("photonimage_get_width", out) & MASK
            height = instance.call("photonimage_get_height", out) & MASK
            return [width, height, ph_raw_pixels(instance, out)]
        finally:
            ph_free(instance, out)


def ph_decode_png(instance: rw.Instance, i: dict) -> Any:
    ptr, length = instance.abi.pass_bytes(i["png"])  # passArray8ToWasm0(vec, wasm.__wbindgen_malloc)
    image = instance.call("photonimage_new_from_byteslice", ptr, length) & MASK  # PhotonImage.__wrap(ret)
    try:
        width = instance.call("photonimage_get_width", image) & MASK
        height = instance.call("photonimage_get_height", image) & MASK
        return [width, height, ph_raw_pixels(instance, image)]
    finally:
        ph_free(instance, image)


def ph_rgb_class(instance: rw.Instance, i: dict) -> Any:
    with instance.construct("Rgb", i["r"], i["g"], i["b"]) as colour:  # wasm.rgb_new(r, g, b)
        return [colour.call("rgb_get_red"), colour.call("rgb_get_green"), colour.call("rgb_get_blue")]


PH_RUNNERS: dict[str, Callable[[rw.Instance, dict], Any]] = {
    "constructor_and_getters": ph_constructor_and_getters,
    "grayscale": ph_grayscale,
    "resize_nearest": ph_resize,
    "rgb_class": ph_rgb_class,
    "decode_png_byteslice": ph_decode_png,
}


@pytest.mark.parametrize("engine_name", ENGINES)
@pytest.mark.parametrize("case_id", list(PH_RUNNERS))
def test_photon(corpus: dict, compiled: Callable, engine_name: str, case_id: str) -> None:
    case = case_of(corpus, "photon", case_id)
    assert case["trace"]["imports"] == {}  # no import is called: the default "trap" policy would raise
    instance = compiled("photon", engine_name).instantiate()
    assert instance.heap.offset == 32
    heap_base = instance.stats()["heap_live"]
    stack_pointer = ph_stack_pointer(instance)
    result = PH_RUNNERS[case_id](instance, decode(case["inputs"]))
    assert encode(result) == case["output"]
    assert ph_stack_pointer(instance) == stack_pointer  # the glue's += 16 in finally
    assert_no_leak(instance, heap_base)


@pytest.mark.parametrize("engine_name", ENGINES)
def test_photon_decode_garbage_traps(corpus: dict, compiled: Callable, engine_name: str) -> None:
    case = case_of(corpus, "photon", "decode_garbage_traps")
    instance = compiled("photon", engine_name).instantiate()
    ptr, length = instance.abi.pass_bytes(decode(case["inputs"])["bytes"])
    with pytest.raises(rw.GuestTrap) as trapped:
        instance.call("photonimage_new_from_byteslice", ptr, length)
    assert trapped.value.message == case["throws"]["message"] == "unreachable"
    assert trapped.value.export == "photonimage_new_from_byteslice"
    assert trapped.value.last_import is None  # no panic hook: no import is called before the trap
    assert instance.poisoned and instance.stats()["poisoned"]
    with pytest.raises(rw.PoisonedInstance):
        instance.call("rgb_new", 1, 2, 3)
    fresh = instance.reset()
    with fresh.construct("Rgb", 1, 2, 3) as colour:
        assert colour.call("rgb_get_blue") == 3


# =================================================================================
# resvg 0.2.92 (web target, "wbg"): Result constructor through an out-pointer
# =================================================================================

RV_ERROR_NEW = "__wbg_new_28c511d9baebfa89"
RV_BUFFER = "__wbg_buffer_12d079cc21e14bdb"
RV_U8_VIEW = "__wbg_newwithbyteoffsetandlength_aa4a17c33a06e5cb"
RV_U8_NEW = "__wbg_new_63b92bc8671ed464"
RV_IS_U8 = "__wbg_instanceof_Uint8Array_2b3bbecd033d19f6"
RV_LENGTH = "__wbg_length_c20a40f15020d68a"
RV_U8_SET = "__wbg_set_a47bac70306a19a7"


def _rv_error_new(caller: rw.Caller, ptr: int, length: int) -> int:
    # const ret = new Error(getStringFromWasm0(arg0, arg1)); return addHeapObject(ret);
    return int(caller.heap.add(rw.JsErrorValue(caller.memory.string(ptr & MASK, length))))


def _rv_buffer(caller: rw.Caller, memory: int) -> int:
    # const ret = getObject(arg0).buffer; return addHeapObject(ret);
    return int(caller.heap.add(ArrayBuffer(caller.heap.get(memory))))


def _rv_u8_view(caller: rw.Caller, buffer: int, offset: int, length: int) -> int:
    # const ret = new Uint8Array(getObject(arg0), arg1 >>> 0, arg2 >>> 0); return addHeapObject(ret);
    return int(caller.heap.add(MemView(caller.heap.get(buffer).memory, offset & MASK, length & MASK)))


def _rv_u8_new(caller: rw.Caller, source: int) -> int:
    # const ret = new Uint8Array(getObject(arg0)); return addHeapObject(ret);
    value = caller.heap.get(source)
    if isinstance(value, ArrayBuffer):  # a view of the whole buffer
        return int(caller.heap.add(MemView(value.memory, 0, value.memory.size)))
    data = value.tobytes() if isinstance(value, MemView) else value  # a typed array: copied
    return int(caller.heap.add(bytearray(data)))


def _rv_is_u8(caller: rw.Caller, value: int) -> int:
    # result = getObject(arg0) instanceof Uint8Array;
    return int(isinstance(caller.heap.get(value), (bytearray, MemView)))


def _rv_length(caller: rw.Caller, array: int) -> int:
    # const ret = getObject(arg0).length; return ret;
    return len(caller.heap.get(array))


def _rv_u8_set(caller: rw.Caller, target: int, source: int, offset: int) -> None:
    # getObject(arg0).set(getObject(arg1), arg2 >>> 0);
    view, value = caller.heap.get(target), caller.heap.get(source)
    data = value.tobytes() if isinstance(value, MemView) else bytes(value)
    offset &= MASK
    assert isinstance(view, MemView) and offset + len(data) <= view.length, "RangeError: offset is out of bounds"
    view.memory.write(view.offset + offset, data)


RV_HANDLERS: dict[str, Handler] = {
    RV_ERROR_NEW: _rv_error_new,
    RV_BUFFER: _rv_buffer,
    RV_U8_VIEW: _rv_u8_view,
    RV_U8_NEW: _rv_u8_new,
    RV_IS_U8: _rv_is_u8,
    RV_LENGTH: _rv_length,
    RV_U8_SET: _rv_u8_set,
}


def rv_new(instance: rw.Instance, svg: Any, options: Any = None) -> rw.Object:
    # Resvg2: super(svg, JSON.stringify(options)); JSON.stringify(undefined) is undefined -> ptr0 = 0
    text = None if options is None else json.dumps(options, separators=(",", ":"), ensure_ascii=False)
    ptr0, len0 = instance.abi.pass_string(text) if text is not None else (0, 0)
    # wasm.resvg_new(retptr, addHeapObject(svg), ptr0, len0, 0); if (r2) throw takeObject(r1); ptr = r0 >>> 0
    return instance.construct("Resvg", instance.heap.add(svg), ptr0, len0, 0, slot="stack")


def rv_value_result(instance: rw.Instance, export: str, ptr: int) -> Any:
    """``[r0, r1, r2]`` = ``[value, err, is_err]``: ``if (r2) throw takeObject(r1); return takeObject(r0)``."""
    r0, r1, r2 = instance.call_retptr(export, ptr, words=3, slot="stack")
    assert not r2, f"{export} returned Err: {instance.heap.take(r1)!r}"
    return instance.heap.take(r0)


def rv_render(instance: rw.Instance, resvg: rw.Object) -> int:
    r0, r1, r2 = instance.call_retptr("resvg_render", resvg.ptr, words=3, slot="stack")
    assert not r2, f"render returned Err: {instance.heap.take(r1)!r}"
    return r0  # RenderedImage.__wrap(r0)


def rv_summary(instance: rw.Instance, image: int) -> dict[str, Any]:
    # ({ width: img.width, height: img.height, png_len: img.asPng().length, png_sha256: sha(img.asPng()),
    #    pixels_sha256: sha(img.pixels) })
    return {
        "width": instance.call("renderedimage_width", image) & MASK,
        "height": instance.call("renderedimage_height", image) & MASK,
        "png_len": len(rv_value_result(instance, "renderedimage_asPng", image)),
        "png_sha256": sha256(rv_value_result(instance, "renderedimage_asPng", image)),
        "pixels_sha256": sha256(instance.heap.take(instance.call("renderedimage_pixels", image))),
    }


def rv_render_summary(instance: rw.Instance, i: dict, svg_key: str = "svg", sizes: bool = False) -> Any:
    with rv_new(instance, i[svg_key], i.get("options")) as resvg:
        image = rv_render(instance, resvg)
        try:
            out = {"svg_width": resvg.call("resvg_width"), "svg_height": resvg.call("resvg_height")} if sizes else {}
            out.update(rv_summary(instance, image))
            return out
        finally:
            instance.call("__wbg_renderedimage_free", image)  # img.free()


def rv_bbox(instance: rw.Instance, i: dict) -> Any:
    with rv_new(instance, i["svg"]) as resvg:
        boxes = [resvg.call("resvg_getBBox") & MASK, resvg.call("resvg_innerBBox") & MASK]  # BBox.__wrap(ret)
        assert 0 not in boxes
        try:
            return [
                {field: instance.call(f"__wbg_get_bbox_{field}", box) for field in ("x", "y", "width", "height")}
                for box in boxes
            ]
        finally:
            for box in boxes:  # the glue leaves these to its FinalizationRegistry
                instance.call("__wbg_bbox_free", box)


def rv_to_string(instance: rw.Instance, i: dict) -> Any:
    with rv_new(instance, i["svg"]) as resvg:
        r0, r1 = instance.call_retptr("resvg_toString", resvg.ptr, words=2, slot="stack")
        return instance.abi.take_string(r0, r1)  # getStringFromWasm0(r0, r1); finally __wbindgen_free(r0, r1, 1)


RV_RUNNERS: dict[str, Callable[[rw.Instance, dict], Any]] = {
    "render_png": rv_render_summary,
    "render_fit_width": lambda inst, i: rv_render_summary(inst, i, sizes=True),
    "bbox": rv_bbox,
    "to_string": rv_to_string,
    "bytes_input": lambda inst, i: rv_render_summary(inst, i, svg_key="svg_bytes"),
}


@pytest.fixture
def resvg_instance(corpus: dict, compiled: Callable, engine_name: str) -> Iterator[tuple[rw.Instance, Counter]]:
    counts: Counter = Counter()
    imports = make_imports(corpus, "resvg", RV_HANDLERS, counts)
    # The font-iterator and Array.push bindings are not reached by these cases: left to the "trap" policy.
    yield compiled("resvg", engine_name).instantiate(imports=imports), counts


@pytest.mark.parametrize("engine_name", ENGINES)
@pytest.mark.parametrize("case_id", list(RV_RUNNERS))
def test_resvg(corpus: dict, resvg_instance: tuple[rw.Instance, Counter], case_id: str) -> None:
    instance, counts = resvg_instance
    case = case_of(corpus, "resvg", case_id)
    heap_base = instance.stats()["heap_live"]
    stack_pointer = instance.call("__wbindgen_add_to_stack_pointer", 0)
    result = RV_RUNNERS[case_id](instance, decode(case["inputs"]))
    assert encode(result) == case["output"]
    assert_binding_trace(case, counts)
    assert instance.call("__wbindgen_add_to_stack_pointer", 0) == stack_pointer
    assert_no_leak(instance, heap_base)


@pytest.mark.parametrize("engine_name", ENGINES)
def test_resvg_invalid_svg_throws(corpus: dict, resvg_instance: tuple[rw.Instance, Counter]) -> None:
    instance, counts = resvg_instance
    case = case_of(corpus, "resvg", "invalid_svg_throws")
    heap_base = instance.stats()["heap_live"]
    stack_pointer = instance.call("__wbindgen_add_to_stack_pointer", 0)
    with pytest.raises(rw.JsError) as raised:
        rv_new(instance, decode(case["inputs"])["svg"])
    assert str(raised.value) == case["throws"]["message"]
    assert isinstance(raised.value.value, rw.JsErrorValue)
    assert raised.value.value.name == case["throws"]["name"] == "Error"
    assert_binding_trace(case, counts)
    assert instance.call("__wbindgen_add_to_stack_pointer", 0) == stack_pointer
    assert_no_leak(instance, heap_base)  # the svg was dropped by Rust, the Error taken by construct()
    # An Err is not a trap: the instance stays usable.
    assert rv_to_string(instance, {"svg": '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'})
