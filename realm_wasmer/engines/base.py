"""The engine interface: compile a module, instantiate it with Python host
functions, call its exports, and reach its memory, globals and tables.

An engine adapter is deliberately thin. It knows nothing of wasm-bindgen; it
turns engine-specific trap exceptions into :class:`Trap` and engine panics into
:class:`Panic`, and otherwise lets Python exceptions raised by host functions
pass through unchanged, so the instance layer above can tell them apart.
"""

from __future__ import annotations

import abc
import re
from typing import Any, Callable, Mapping, Optional, Sequence

import attrs
import numpy as np

from ..errors import Panic as Panic
from ..errors import Trap as Trap
from ..wasm import FuncType, WasmModule

#: A writable uint8 view of guest memory.
U8Array = np.ndarray[Any, np.dtype[np.uint8]]


@attrs.frozen
class Availability:
    """Whether an engine can run in this process, and if not, why not."""

    name: str
    available: bool
    reason: Optional[str] = None
    version: Optional[str] = None

    def __str__(self) -> str:
        if self.available:
            return f"{self.name}: available ({self.version})" if self.version else f"{self.name}: available"
        return f"{self.name}: unavailable: {self.reason}"


@attrs.frozen
class HostFunction:
    """A Python callable with the wasm signature it is linked under."""

    signature: FuncType
    func: Callable[..., Any]


_CANONICAL_TRAPS = [
    (re.compile(r"unreachable"), "unreachable"),
    (re.compile(r"out of bounds memory access|memory fault"), "out of bounds memory access"),
    (re.compile(r"integer divide by zero"), "integer divide by zero"),
    (re.compile(r"integer overflow"), "integer overflow"),
    (re.compile(r"call stack exhausted|stack overflow"), "call stack exhausted"),
    (re.compile(r"indirect call type mismatch|signature mismatch"), "indirect call type mismatch"),
    (re.compile(r"undefined element|uninitialized element|out of bounds table access"), "undefined table element"),
    (re.compile(r"invalid conversion to integer|bad conversion to integer"), "invalid conversion to integer"),
]


def canonical_trap_message(raw: str) -> str:
    """Map an engine's trap text to one wording shared by all engines."""
    for pattern, message in _CANONICAL_TRAPS:
        if pattern.search(raw):
            return message
    first = raw.strip().splitlines()[0] if raw.strip() else raw
    return first.removeprefix("RuntimeError: ")


class EngineInstance(abc.ABC):
    """One instantiated module on one engine."""

    #: True when the engine's objects may be used only from the thread that made
    #: them (wasmer-python's are pyo3 ``unsendable``: another thread panics).
    thread_affine = False

    @abc.abstractmethod
    def function(self, name: str) -> Callable[..., Any]:
        """A callable for the exported function: positional wasm values in, and
        None, one value, or a tuple (multi-value) out. Traps raise
        :class:`Trap`, engine panics :class:`Panic`."""

    @abc.abstractmethod
    def memory_view(self) -> U8Array:
        """A writable uint8 numpy view of all of the exported ``memory``, valid
        until the next call into the guest (memory may grow)."""

    @abc.abstractmethod
    def memory_size(self) -> int:
        """The current size of the exported ``memory`` in bytes."""

    @abc.abstractmethod
    def global_get(self, name: str) -> Any: ...

    @abc.abstractmethod
    def global_set(self, name: str, value: Any) -> None: ...

    @abc.abstractmethod
    def table_size(self, name: str) -> int: ...

    def table(self, name: str) -> Optional[Any]:
        """The engine's own table object for an exported table, where the engine lets
        Python read and write tables (wasmtime); None otherwise (wasmer-python 1.1.0)."""
        return None

    #: The engine's store, for engines whose table API needs it (wasmtime); None otherwise.
    store: Any = None


#: What a module may need of an engine, in the order refusals are reported.
CAPABILITIES: tuple[str, ...] = (
    "externref_crossing", "funcref_crossing", "multi_value", "reference_types", "simd", "exceptions", "threads"
)
#: Capabilities a module or a spec's limits call for without ever causing a refusal (so
#: ``module_needs`` does not report them; the load pipeline plans transforms for them):
#: the host calling through funcref tables, reaching the shadow stack pointer, stopping
#: a call (fuel, timeout) and bounding memory/table growth (see ``pipeline.plan``).
CAPABILITIES += ("table_access", "stack_pointer_access", "metering", "grow_limits")


def module_needs(module: WasmModule) -> dict[str, str]:
    """The capabilities ``module`` needs, each with the detail that shows it:
    ``externref_crossing`` (an import or export passes externref: the host sees
    it), ``funcref_crossing`` (an import or export passes a funcref),
    ``multi_value`` (a function returns several values), ``reference_types``
    (any function type mentions externref), ``simd`` (a function type or global
    mentions v128; SIMD only inside bodies is not seen), ``exceptions`` (exception tags: the
    exception-handling proposal), ``threads`` (a shared memory)."""
    needs: dict[str, str] = {}
    for need, uses in (("externref_crossing", "uses_externref"), ("funcref_crossing", "uses_funcref")):
        crossing = sorted(
            {f"import {imp.module}.{imp.name}" for imp in module.imports
             if imp.kind == "func" and isinstance(imp.type, FuncType) and getattr(imp.type, uses)}
            | {f"export {name}" for name, sig in module.function_exports() if getattr(sig, uses)}
        )
        if crossing:
            needs[need] = ", ".join(crossing[:3]) + (", ..." if len(crossing) > 3 else "")
    multi = sorted({str(t) for t in module.functions if t.multi_value})
    if multi:
        needs["multi_value"] = ", ".join(multi)
    typed = sorted({str(t) for t in module.functions if t.uses_externref})
    if typed:
        needs["reference_types"] = ", ".join(typed[:3]) + (", ..." if len(typed) > 3 else "")
    simd = sorted({str(t) for t in module.functions if "v128" in t.params or "v128" in t.results})
    simd += [f"global {i}" for i, g in enumerate(module.globals) if g.type.valtype == "v128"]
    if simd:
        needs["simd"] = ", ".join(simd[:3]) + (", ..." if len(simd) > 3 else "")
    if module.tags:
        needs["exceptions"] = f"{module.tags} exception tag{'s' if module.tags > 1 else ''}"
    shared = [i for i, memory in enumerate(module.memories) if memory.shared]
    if shared:
        needs["threads"] = ", ".join(f"shared memory {i}" for i in shared)
    return needs


class Engine(abc.ABC):
    """A way to compile and run wasm: one of the names in ``realm_wasmer.engines.NAMES``."""

    name: str
    #: Capabilities (see :data:`CAPABILITIES`) this engine lacks, each with the
    #: reason as a template for the refusal (``{detail}`` is what the module needs).
    limitations: Mapping[str, str] = {}

    @abc.abstractmethod
    def availability(self) -> Availability: ...

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset(c for c in CAPABILITIES if c not in self.limitations)

    def check_module(self, module: WasmModule) -> None:
        """Raise :class:`~realm_wasmer.errors.EngineRefused` for a module this
        engine is known not to handle, before trying to compile it."""
        self.check_unprovided(module_needs(module), frozenset())

    def check_unprovided(self, needs: Mapping[str, str], provided: frozenset[str]) -> None:
        """The one place a module is refused for what it needs: raise
        :class:`~realm_wasmer.errors.EngineRefused` for the first capability (in
        :data:`CAPABILITIES` order) in ``needs`` that this engine lacks and no
        planned load transform ``provided``; the message is the engine's reason
        (which names the engines that can run the module)."""
        from ..errors import EngineRefused

        for capability in CAPABILITIES:
            if capability in needs and capability in self.limitations and capability not in provided:
                raise EngineRefused(self.name, self.limitations[capability].format(detail=needs[capability]))

    @abc.abstractmethod
    def compile(self, wasm: bytes, module: WasmModule) -> Any:
        """Compile; returns an engine-specific compiled module."""

    @abc.abstractmethod
    def serialize(self, compiled: Any) -> bytes: ...

    @abc.abstractmethod
    def deserialize(self, data: bytes) -> Any: ...

    @abc.abstractmethod
    def instantiate(
        self, compiled: Any, imports: Mapping[tuple[str, str], HostFunction]
    ) -> EngineInstance: ...

    def cache_key_parts(self) -> Sequence[str]:
        """Everything that must match for a serialized artifact to be reused."""
        availability = self.availability()
        return (self.name, availability.version or "")
