"""direct.py keeps the code object of a translated source: the same source and filename compile
once; each load still runs it into a namespace of its own."""

from __future__ import annotations

from realm_wasmer.js import direct


def test_the_same_source_compiles_once_and_runs_apart() -> None:
    source = "def factory(env, fn):\n    return env + 1\n"
    code = direct._compiled(source, "<direct memo-test:1>")
    assert direct._compiled(source, "<direct memo-test:1>") is code
    assert direct._compiled(source, "<direct memo-test:2>") is not code
    one: dict = {}
    two: dict = {}
    exec(code, one)  # noqa: S102
    exec(code, two)  # noqa: S102
    assert one["factory"] is not two["factory"]
    assert one["factory"](1, None) == 2


def test_the_memo_is_the_bounded_one_of_host_guarded() -> None:
    from realm_wasmer.host import guarded

    assert direct._compiled is guarded.compiled  # bounded: tests/test_guarded_cache.py
