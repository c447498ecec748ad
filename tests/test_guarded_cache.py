"""host/guarded.py keeps compiled handler factories in a bounded cache."""

from __future__ import annotations

from realm_wasmer.host import guarded


def test_same_text_is_compiled_once() -> None:
    body = ["        return value + 1"]
    first = guarded.source_handler("bump", "value", body, {})
    hits = guarded.compiled.cache_info().hits
    second = guarded.source_handler("bump", "value", body, {})
    assert guarded.compiled.cache_info().hits == hits + 1
    assert first is not second and first(1) == second(1) == 2
    assert first.__code__ is second.__code__  # one code object, two functions over their own names


def test_cache_is_bounded() -> None:
    for i in range(guarded.CODE_CACHE_SIZE + 50):
        handler = guarded.source_handler("f", "value", [f"        return value * {i}"], {})
        assert handler(2) == 2 * i
    assert guarded.compiled.cache_info().currsize == guarded.CODE_CACHE_SIZE
