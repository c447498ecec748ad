"""The load pipeline: bytes -> decode -> transforms -> inspect -> compile (cached).

Instantiation (the last stage) is :class:`~realm_wasmer.instance.Instance`.

* **decode**: the module's outline (:func:`realm_wasmer.wasm.parse`).
* **transforms**: chosen by what the module needs of an engine
  (:func:`~realm_wasmer.engines.base.module_needs`) and what the engine lacks
  (``Engine.limitations``): each :class:`Transform` in :data:`TRANSFORMS`
  provides capabilities by rewriting the module. A need that no transform meets
  is refused here, once, before any engine code runs (``Engine.check_unprovided``).
* **inspect**: the *original* module's conventions and classes, so export names,
  function indices and messages are the ones the user sees.
* **compile**: through the artifact cache, keyed by the original bytes and each
  transform's ``name@version``; a cache hit runs no transform.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import attrs

from . import engines
from .cache import ArtifactCache, default_cache
from .engines.base import Engine, module_needs
from .engines.limited import limited
from .errors import UnsupportedFeature
from .host.context import HostContext
from .host.resolver import ImportRequest, Resolution
from .inspection import ModuleInfo, inspect
from .limits import Limits, limit_needs
from .spec import LoadSpec
from .transforms import TRANSFORM_NAMESPACE, TRANSFORMS, Transform, externref, stack_pointer, trampolines
from .wasm import WasmModule, parse


def plan(
    module: WasmModule, engine: Engine, mode: str = "auto", limits: Optional[Limits] = None
) -> tuple[Transform, ...]:
    """The transforms ``engine`` needs for ``module`` (none when it has every capability).

    Needs come from the module (refused when unmet: ``module_needs``), from what the host
    does with it (calls through funcref tables, snapshots of the stack pointer: never
    refused) and from the spec's ``limits`` (enforced through transforms: not with "none")."""
    if mode == "none":
        if limits is not None and limits.active:
            raise UnsupportedFeature("limits are enforced through load transforms: use transforms='auto' with limits")
        return ()
    needs = {
        **refusable_needs(module), **trampolines.needs(module), **stack_pointer.needs(module), **limit_needs(limits)
    }
    unmet = set(needs) - engine.capabilities
    return tuple(t for t in TRANSFORMS if t.provides & unmet)


def refusable_needs(module: WasmModule) -> dict[str, str]:
    """What ``module`` needs of an engine that is refused when no transform provides it."""
    return {**externref.needs(module), **module_needs(module)}


def provided(steps: tuple[Transform, ...]) -> frozenset[str]:
    return frozenset(c for step in steps for c in step.provides)


@attrs.frozen
class Prepared:
    """A module through every stage but instantiation (see the module docstring)."""

    spec: LoadSpec
    #: The original bytes, and their glue's text.
    wasm: bytes
    glue: Optional[str]
    engine: Engine
    #: The transforms applied for this engine (empty on engines that need none).
    transforms: tuple[Transform, ...]
    #: What the original module is and expects.
    info: ModuleInfo
    #: The outline of the module as it runs (the original's when no transform applies).
    runnable: WasmModule = attrs.field(repr=False)
    #: The JS-value store of the running module (``info.conventions.value_store`` unless a transform says).
    value_store: str
    #: The engine's compiled module.
    native: Any = attrs.field(repr=False)
    #: The artifact cache used, and how it answered: "hit", "miss", "recompiled-corrupt" or "disabled".
    cache: ArtifactCache
    cache_outcome: str


def _build(wasm: bytes, module: WasmModule, engine: Engine, steps: tuple[Transform, ...]) -> tuple[bytes, WasmModule]:
    """Apply the planned transforms (only on a cache miss), then the engine's check."""
    data, outline = wasm, module
    for transform in steps:
        data = transform.apply(data, outline)
        outline = parse(data)
    engine.check_module(outline)
    return data, outline


def prepare(spec: LoadSpec) -> Prepared:
    """Run the pipeline for ``spec`` up to a compiled module."""
    wasm = spec.read()
    module = parse(wasm)
    glue = spec.glue_text()
    engine = engines.get(spec.engine)
    if spec.limits is not None:
        engine = limited(engine, spec.limits, module)
    steps = plan(module, engine, spec.transforms, spec.limits)
    info = inspect(wasm, glue=glue, module=module)
    # Refused here, once, before any transform, the cache or the engine sees the bytes.
    engine.check_unprovided(refusable_needs(module), provided(steps))
    cache = spec.cache if spec.cache is not None else default_cache()
    native, outcome = cache.load_or_compile(
        engine,
        wasm,
        module,
        transforms=[t.key for t in steps],
        build=lambda: _build(wasm, module, engine, steps),
    )
    runnable = module
    value_store = info.conventions.value_store
    for step in steps:
        runnable = step.outline(runnable)
        value_store = step.value_store or value_store
    return Prepared(spec, wasm, glue, engine, steps, info, runnable, value_store, native, cache, outcome)


class TransformResolver:
    """Answers the imports the load transforms injected (namespace :data:`TRANSFORM_NAMESPACE`)."""

    name = "transform"

    def __init__(self, transforms: tuple[Transform, ...]) -> None:
        self._transforms = transforms
        self._handlers: Optional[dict[str, tuple[str, Callable[..., Any]]]] = None

    def resolve(self, request: ImportRequest, ctx: HostContext) -> Optional[Resolution]:
        if request.module != TRANSFORM_NAMESPACE:
            return None
        if self._handlers is None:
            self._handlers = {
                name: (transform.key, handler)
                for transform in self._transforms
                if transform.host_imports is not None
                for name, handler in transform.host_imports(ctx).items()
            }
        found = self._handlers.get(request.name)
        if found is None:
            return None
        key, handler = found
        return Resolution(handler, "transform", f"injected by the load transform {key}", "intrinsic")
