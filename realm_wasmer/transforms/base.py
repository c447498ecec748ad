"""What a load transform is: a module rewrite that gives an engine a capability it lacks."""

from __future__ import annotations

from typing import Any, Callable, Optional

import attrs

from ..host.context import HostContext
from ..wasm import WasmModule

#: Where a transform's injected imports live (no module of wasm-bindgen's or a user's uses it).
TRANSFORM_NAMESPACE = "__realm_wasmer"

HostImports = Callable[[HostContext], dict[str, Callable[..., Any]]]


@attrs.frozen
class Transform:
    """A module rewrite that gives an engine a capability it lacks."""

    name: str
    #: Bumped whenever the output changes: part of the artifact cache key.
    version: int
    #: Capabilities (``engines.base.CAPABILITIES``) the rewritten module no longer needs of the engine.
    provides: frozenset[str]
    #: The rewrite, bytes to bytes (run only on a cache miss).
    apply: Callable[[bytes, WasmModule], bytes]
    #: The rewritten module's outline computed from the original's, cheaply (run on every
    #: load: a cache hit needs the imports and exports the instance links and calls).
    outline: Callable[[WasmModule], WasmModule]
    #: The JS-value store the rewritten module needs (e.g. "handles"), or None for the module's own.
    value_store: Optional[str] = None
    #: Handlers of the imports the rewrite injects, by name, in :data:`TRANSFORM_NAMESPACE`.
    host_imports: Optional[HostImports] = None

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"
