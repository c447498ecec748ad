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


def test_the_code_memo_is_bounded(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(direct, "_CODE", {})
    monkeypatch.setattr(direct, "_CODE_ENTRIES", 2)
    for i in range(5):
        direct._compiled(f"x = {i}\n", "<direct memo-test>")
        assert len(direct._CODE) <= 2
