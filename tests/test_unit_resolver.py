"""The import resolver chain (Imports, Caller, MissingPolicy) on the fake engine."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from realm_wasmer.errors import AmbiguousHandler, UnresolvedImport
from realm_wasmer.host.context import HostContext
from realm_wasmer.host.linker import function_imports
from realm_wasmer.host.resolver import Caller, Imports, MissingPolicy, resolve_all
from realm_wasmer.wasm import FuncType

from .fake_engine import fake_context, fake_engine, link_fake

I = "i32"  # noqa: E741
LOG = "__wbg_log_0123456789abcdef"
UNARY = FuncType((I,), (I,))


def context(*imports: tuple[str, str, FuncType], **options: Any) -> HostContext:
    return fake_context(imports=imports, **options)


def answer(ctx: HostContext, chain: list[Any], module: str, name: str) -> str:
    resolutions = link_fake(ctx, chain)
    return resolutions[(module, name)][1].resolver


def test_exact_beats_stripped_beats_glob_whatever_the_order() -> None:
    ctx = context(("wbg", LOG, UNARY))
    engine = fake_engine(ctx)
    imports = Imports()
    imports.register("wbg", "__wbg_*", lambda x: 1, match="glob", caller=False)
    imports.register("wbg", "__wbg_log", lambda x: 2, match="stripped", caller=False)
    imports.register("wbg", LOG, lambda x: 3, caller=False)
    assert answer(ctx, [imports], "wbg", LOG) == "user:exact"
    assert engine.call_import("wbg", LOG, 0) == 3

    imports = Imports()
    imports.register("wbg", "__wbg_*", lambda x: 1, match="glob", caller=False)
    imports.register("wbg", "log", lambda x: 2, match="stripped", caller=False)  # the base name matches too
    assert answer(ctx, [imports], "wbg", LOG) == "user:stripped"
    assert engine.call_import("wbg", LOG, 0) == 2

    imports = Imports()
    imports.register("wbg", "*log_*", lambda x: 1, match="glob", caller=False)
    assert answer(ctx, [imports], "wbg", LOG) == "user:glob"
    assert engine.call_import("wbg", LOG, 0) == 1


def test_namespaces_and_star() -> None:
    ctx = context(("env", "f", UNARY), ("other", "f", UNARY))
    engine = fake_engine(ctx)
    imports = Imports()
    imports.register("env", "f", lambda x: x + 1, caller=False)
    imports.register("*", "f", lambda x: x + 100, caller=False)
    resolutions = link_fake(ctx, [imports])
    assert {key: r.resolver for key, (_, r) in resolutions.items()} == {
        ("env", "f"): "user:exact",
        ("other", "f"): "user:exact",
    }
    assert engine.call_import("env", "f", 1) == 2  # the first matching registration of a mode wins
    assert engine.call_import("other", "f", 1) == 101

    only_env = Imports({("env", "f"): lambda caller, x: x})
    with pytest.raises(UnresolvedImport) as info:
        link_fake(ctx, [only_env, MissingPolicy("error")])
    assert info.value.imports == [("other", "f", str(UNARY))]


def test_caller_gives_the_context() -> None:
    ctx = context(("env", "host", UNARY), exports={"double": UNARY})
    engine = fake_engine(ctx)
    engine.export("double", lambda x: 2 * x)
    seen: list[Caller] = []

    def host(caller: Caller, ptr: int) -> int:
        seen.append(caller)
        caller.memory.set_u32(ptr, 5)
        return int(caller.call("double", caller.memory.u32(ptr)))

    imports = Imports()
    imports.register("env", "host", host)
    link_fake(ctx, [imports])
    assert engine.call_import("env", "host", 64) == 10
    (caller,) = seen
    assert caller.memory is ctx.memory
    assert caller.values is ctx.values and caller.heap is ctx.values
    assert caller.abi is ctx.abi
    assert caller.import_name == "env.host"
    assert ("double", (5,)) in engine.export_calls
    assert ctx.calls.import_calls == {"env.host": 1}


def test_caller_false_gets_only_wasm_arguments() -> None:
    ctx = context(("env", "add", FuncType((I, I), (I,))))
    got: list[tuple[Any, ...]] = []
    imports = Imports()

    @imports.handler("env", "add", caller=False)
    def add(*args: Any) -> int:
        got.append(args)
        return int(sum(args))

    link_fake(ctx, [imports])
    assert fake_engine(ctx).call_import("env", "add", 2, 3) == 5
    assert got == [(2, 3)]


def test_error_policy_lists_every_missing_import() -> None:
    ctx = context(("env", "a", UNARY), ("env", "b", FuncType((), ())), ("env", "c", UNARY))
    imports = Imports({("env", "b"): lambda caller: None})
    with pytest.raises(UnresolvedImport) as info:
        resolve_all(function_imports(ctx), [imports, MissingPolicy("error")], ctx)
    assert info.value.imports == [("env", "a", "(i32) -> (i32)"), ("env", "c", "(i32) -> (i32)")]
    assert "2 import(s)" in str(info.value) and "env.a" in str(info.value) and "env.c" in str(info.value)


def test_trap_policy_raises_when_called() -> None:
    ctx = context(("env", "missing", UNARY), ("env", "other", UNARY))
    assert answer(ctx, [MissingPolicy("trap")], "env", "missing") == "policy:trap"
    engine = fake_engine(ctx)
    with pytest.raises(UnresolvedImport, match=r"env\.missing") as info:
        engine.call_import("env", "missing", 7)
    assert info.value.imports == [("env", "missing", "(i32) -> (i32)")]
    assert "[7]" in str(info.value)
    assert MissingPolicy().policy == "trap"  # the default


def test_stub_policy_returns_typed_zeros_and_counts(caplog: pytest.LogCaptureFixture) -> None:
    signatures = {
        "i": FuncType((I,), (I,)),
        "f": FuncType((), ("f64",)),
        "v": FuncType((I, I), ()),
        "multi": FuncType((), (I, "f32", "i64")),
        "ref": FuncType((), ("externref",)),
    }
    ctx = context(*(("env", name, sig) for name, sig in signatures.items()), store="externref")
    policy = MissingPolicy("stub")
    link_fake(ctx, [policy])
    engine = fake_engine(ctx)
    with caplog.at_level(logging.WARNING, logger="realm_wasmer.imports"):
        results = {name: engine.call_import("env", name, *[0] * len(sig.params)) for name, sig in signatures.items()}
        engine.call_import("env", "i", 9)
    assert results == {"i": 0, "f": 0.0, "v": None, "multi": (0, 0.0, 0), "ref": None}
    assert isinstance(results["f"], float) and isinstance(results["i"], int)
    assert policy.stub_calls == {"env.i": 2, "env.f": 1, "env.v": 1, "env.multi": 1, "env.ref": 1}
    assert sum("stubbed import env.i" in r.getMessage() for r in caplog.records) == 2


def test_unknown_policy_and_match_mode() -> None:
    with pytest.raises(ValueError, match="on_missing"):
        MissingPolicy("ignore")
    with pytest.raises(ValueError, match="match"):
        Imports().register("env", "f", lambda: None, match="regex")


def test_stripped_registration_answering_two_hashes_is_refused() -> None:
    ctx = context(
        ("wbg", "__wbg_new_aaaaaaaaaaaaaaaa", FuncType((), (I,))),
        ("wbg", "__wbg_new_bbbbbbbbbbbbbbbb", FuncType((), (I,))),
    )
    imports = Imports()
    imports.register("wbg", "__wbg_new", lambda caller: 0, match="stripped")
    with pytest.raises(AmbiguousHandler, match="register each by its exact name") as info:
        resolve_all(function_imports(ctx), [imports], ctx)
    assert "__wbg_new_aaaaaaaaaaaaaaaa" in str(info.value) and "__wbg_new_bbbbbbbbbbbbbbbb" in str(info.value)

    # one exact registration takes one of them out of the stripped handler's hands: no ambiguity left
    imports.register("wbg", "__wbg_new_aaaaaaaaaaaaaaaa", lambda caller: 1)
    resolved = resolve_all(function_imports(ctx), [imports], ctx)
    assert [r.resolver for _, r in resolved.values()] == ["user:exact", "user:stripped"]


def test_stripped_registration_answering_one_hash_twice_is_allowed() -> None:
    name = "__wbg_new_aaaaaaaaaaaaaaaa"
    ctx = context(("wbg", name, FuncType((), (I,))), ("env", name, FuncType((), (I,))))
    imports = Imports()
    imports.register("*", "__wbg_new", lambda caller: 0, match="stripped")
    resolved = resolve_all(function_imports(ctx), [imports], ctx)
    assert len(resolved) == 2


def test_catch_flag_and_description_are_carried() -> None:
    ctx = context(("env", "f", UNARY))
    imports = Imports()
    imports.register("env", "f", lambda caller, x: x, catch=True)
    _, resolution = resolve_all(function_imports(ctx), [imports], ctx)[("env", "f")]
    assert resolution.catch is True and resolution.kind == "host"
    assert "lambda" in resolution.description
