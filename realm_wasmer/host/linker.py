"""Linking: every function import resolved through the chain, wrapped, ready for the engine.

Each handler is wrapped twice: in the ``#[wasm_bindgen(catch)]`` semantics when
the import catches (the glue's ``handleError``), and in the call guard of
:class:`~realm_wasmer.host.calls.GuestCalls` (import counts, and which
exception unwound through guest frames). An import whose signature the externref
lowering changed is converted (handles <-> values) inside the guard, not around it.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ..engines.base import HostFunction
from ..errors import JsError, MissingRuntimeExport
from ..js.values import JsErrorValue
from ..wasm import FuncType
from .context import HostContext
from .handles import HandleStore, lowered_signatures
from .resolver import ImportRequest, Resolution, Resolver, resolve_all, zeros

Resolved = dict[tuple[str, str], tuple[ImportRequest, Resolution]]


def function_imports(ctx: HostContext) -> list[ImportRequest]:
    """Every function import of the running module, each with its *original* signature
    (the one the user and the glue see: externref where a load transform lowered it)."""
    original = _lowered(ctx)
    return [
        ImportRequest(imp.module, imp.name, original.get((imp.module, imp.name), imp.type))
        for imp in ctx.module.imports
        if imp.kind == "func" and isinstance(imp.type, FuncType)
    ]


def _lowered(ctx: HostContext) -> dict[tuple[str, str], FuncType]:
    """Original signatures of the imports whose signature the load transforms changed."""
    if ctx.module is ctx.info.module or not isinstance(ctx.values, HandleStore):
        return {}
    return lowered_signatures(ctx.info.module, ctx.module)


def link(ctx: HostContext, chain: Sequence[Resolver]) -> tuple[Resolved, dict[tuple[str, str], HostFunction]]:
    """Resolve every function import of the module and wrap each handler (an import whose
    signature was lowered converts handles to values and back around the handler)."""
    resolutions = resolve_all(function_imports(ctx), list(chain), ctx)
    running = {(imp.module, imp.name): imp.type for imp in ctx.module.imports if imp.kind == "func"}
    values = ctx.values
    functions = {}
    for key, (request, resolution) in resolutions.items():
        label = f"{request.module}.{request.name}"
        handler = catching(ctx, request, resolution)
        signature = running[key]
        assert isinstance(signature, FuncType)
        if signature != request.signature and isinstance(values, HandleStore):
            # converted inside the guard: the conversion is generated with the guard inlined (one frame)
            handler = values.wrap_import(handler, request.signature, label)
        handler = ctx.calls.guard(label, handler, signature)
        functions[key] = HostFunction(signature, handler)
    return resolutions, functions


def catching(ctx: HostContext, request: ImportRequest, resolution: Resolution) -> Callable[..., Any]:
    """Give a ``#[wasm_bindgen(catch)]`` import the glue's ``handleError``
    semantics: an exception from the handler is stored as a JS value, handed to
    the guest's ``__wbindgen_exn_store``, and the import returns a typed zero;
    Rust then sees ``Err``. Which imports catch comes from the glue
    (``handleError(...)`` wrappers) or from ``Imports.register(catch=True)``."""
    handler = resolution.handler
    is_catch = resolution.catch if resolution.catch is not None else request.name in ctx.info.catch_imports
    if not is_catch:
        return handler
    zero = zeros(request.signature)
    label = f"{request.module}.{request.name}"
    exn_store = ctx.conventions.roles.get("exn_store")
    values, call = ctx.values, ctx.calls.call

    def catching_handler(*args: Any) -> Any:
        try:
            return handler(*args)
        except JsError as exc:
            value = exc.value if exc.value is not None else str(exc)
        except Exception as exc:  # a Python error stands in for a thrown JS Error
            value = JsErrorValue(str(exc), type(exc).__name__)
        if not exn_store:
            raise MissingRuntimeExport(f"catch import {label} raised, but the module exports no exn_store")
        call(exn_store, values.add(value))
        return zero

    return catching_handler
