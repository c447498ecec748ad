"""Each package's realm owns its prototypes: loading a second package (or the same one on
another engine) in the same process must not change what ``instanceof`` sees in the first.

Regression: ``js/typed.py`` used to overwrite module-wide prototype tables per load, so a
``Uint8Array`` made for resvg's ``bytes_input`` failed its glue's ``instanceof Uint8Array``
check once a second realm had been created.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

import realm_wasmer as rw
from realm_wasmer.js.script import run_script

from .conftest import CORPUS, CORPUS_CACHE

SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="3"><rect width="4" height="3" fill="#f00"/></svg>'


def _bytes_case() -> dict[str, Any]:
    cases = json.loads((CORPUS / "cases" / "resvg.json").read_text())["cases"]
    return next(c for c in cases if c["id"] == "bytes_input")


def _render(pkg: Any, svg: Any) -> tuple[int, int, str]:
    rv = pkg.Resvg(svg)
    img = rv.render()
    out = (img.width, img.height, hashlib.sha256(bytes(img.asPng())).hexdigest())
    img.free()
    rv.free()
    return out


@pytest.mark.parametrize("engines", [("wasmtime", "wasmer-cranelift"), ("wasmtime", "wasmtime")])
def test_two_resvg_realms_in_one_process(corpus: dict[str, Any], engines: tuple[str, str]) -> None:
    root = CORPUS_CACHE / "pkgs" / "resvg" / "package"
    first = rw.load_package(root, engine=engines[0], entry="index.mjs")
    expected = _render(first, SVG)
    second = rw.load_package(root, engine=engines[1], entry="index.mjs")
    # bytes input goes through the glue's `instanceof Uint8Array`, in both realms, interleaved
    for pkg in (first, second, first):
        assert _render(pkg, SVG.encode()) == expected
        assert _render(pkg, SVG) == expected
    case = _bytes_case()  # the corpus's recorded Node output for the bytes input
    data = case["inputs"]["svg_bytes"]["$bytes_utf8"].encode()
    want = (case["output"]["width"], case["output"]["height"], case["output"]["png_sha256"])
    assert _render(first, data) == want
    assert _render(second, data) == want


def test_prototypes_belong_to_their_realm() -> None:
    """A realm created later does not change the prototypes an earlier realm's code sees."""
    first = run_script(
        "module.exports = () => [new Uint8Array(2) instanceof Uint8Array, [] instanceof Array,"
        " (() => { try { null.x } catch (e) { return e instanceof TypeError } })()]"
    )
    assert first() == [True, True, True]
    run_script("module.exports = 1")  # a second realm
    assert first() == [True, True, True]  # the first realm's closure still sees its own prototypes
