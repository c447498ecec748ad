"""Generated Python source, compiled once and registered with ``linecache``.

Bindings generate one small function per export (so a call runs no
interpretation of descriptors). Registering the source under a unique file name,
as attrs does for its generated methods, lets tracebacks, ``inspect.getsource``
and debuggers show the generated line instead of nothing.
"""

from __future__ import annotations

import itertools
import linecache
from typing import Any, Callable, Optional, Protocol


class GuardedRegion(Protocol):
    """What generated code asks of a binding's guarded region (:class:`.region.Region`;
    named by this protocol so codegen does not import region, which imports codegen)."""

    g: "Namespace"

    def call(self, export: str) -> tuple[str, str]: ...

    def slot_call(
        self, export: str, raws: str, abi: Any, memory: Any, unpack_from: Any, size: int, clear: Any = None
    ) -> list[str]: ...

    def wrap(self, body: list[str]) -> list[str]: ...

_counter = itertools.count(1)


def generated_filename(label: str) -> str:
    """A file name no other generated source uses: ``<realm_wasmer generated Realm.generate #3>``."""
    return f"<realm_wasmer generated {label} #{next(_counter)}>"


def compile_function(source: str, name: str, namespace: dict[str, Any], label: str) -> Callable[..., Any]:
    """Define ``name`` from ``source`` in ``namespace``; its lines are in ``linecache`` under a unique name."""
    filename = generated_filename(label)
    code = compile(source, filename, "exec")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(code, namespace)  # noqa: S102 - source built from sanitized identifiers and repr() literals only
    function: Callable[..., Any] = namespace[name]
    return function


class Namespace:
    """The namespace of one generated function: helper objects get unique names."""

    def __init__(self) -> None:
        self.ns: dict[str, Any] = {}
        self._n = itertools.count()
        #: The guarded region of the function being generated (None: bound callers).
        self.region: Optional[GuardedRegion] = None

    def add(self, obj: Any, hint: str = "h") -> str:
        name = f"_{hint}{next(self._n)}"
        self.ns[name] = obj
        return name
