"""package.py's reading of wasm-bindgen's ``heap = new Array(N)`` from a glue file, memoized
by the file's text."""

from __future__ import annotations

from pathlib import Path

import pytest

from realm_wasmer.js import package


@pytest.mark.parametrize(
    "text, expected",
    [
        ("const heap = new Array(128).fill(undefined);\nheap.push(undefined, null, true, false);\n", 128),
        ("let heap = new Array(32);\n", 32),
        ("var heap = new Array(1024).fill(undefined).fill(1);\n", 1024),
        ("const heap_next = 5; // heap = new Array(9)\n", None),  # the word, but no such declarator
        ("function f() { const heap = new Array(7); }\n", None),  # not top-level
        ("const slab = new Array(64);\n", None),
        ("const heap = [];\n", None),
    ],
)
def test_the_heap_declaration_is_read(tmp_path: Path, text: str, expected: object) -> None:
    path = tmp_path / "glue.js"
    path.write_text(text)
    assert package._heap_declaration(path) == expected
    assert package._heap_declaration(path) == expected  # answered again (memoized by the text)


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "glue.js"
    path.write_text("const heap = new Array(128);\n")
    assert package._heap_declaration(path) == 128
    path.write_text("const heap = new Array(256);\n")
    assert package._heap_declaration(path) == 256
    assert package._heap_declaration(tmp_path / "missing.js") is None
