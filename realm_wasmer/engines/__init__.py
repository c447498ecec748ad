"""The engine registry.

=====================  ==========================================================
name                   what it is
=====================  ==========================================================
``wasmer-cranelift``   wasmer 1.1.0, cranelift compiler (the default)
``wasmer-singlepass``  wasmer 1.1.0, singlepass compiler (fast compile; no
                       multi-value, no externref)
``wasmer-llvm``        wasmer 1.1.0, LLVM compiler (its 1.1.0 wheel cannot be
                       imported as shipped on Debian 12; see ``llvm_loader``)
``wasmtime``           wasmtime-py (any CPython >= 3.9; slow calls, full
                       externref and table support)
=====================  ==========================================================

``get(name)`` returns the engine or raises :class:`EngineUnavailable` with the
reason; ``availability()`` reports every engine without raising.
"""

from __future__ import annotations

from ..errors import EngineUnavailable, UnknownEngine
from .base import Availability, Engine, EngineInstance, HostFunction, Panic, Trap
from .wasmer_engine import WasmerEngine
from .wasmtime_engine import WasmtimeEngine

DEFAULT = "wasmer-cranelift"
NAMES = ("wasmer-cranelift", "wasmer-singlepass", "wasmer-llvm", "wasmtime")

_ENGINES: dict[str, Engine] = {}


def _make(name: str) -> Engine:
    if name == "wasmtime":
        return WasmtimeEngine()
    return WasmerEngine(name.removeprefix("wasmer-"))


def lookup(name: str) -> Engine:
    """The engine object for ``name``, available or not."""
    if name not in NAMES:
        raise UnknownEngine(f"unknown engine {name!r}; the engines are: {', '.join(NAMES)}")
    if name not in _ENGINES:
        _ENGINES[name] = _make(name)
    return _ENGINES[name]


def get(name: str = DEFAULT) -> Engine:
    """The engine ``name``, or :class:`EngineUnavailable` saying why it cannot run here."""
    engine = lookup(name)
    availability = engine.availability()
    if not availability.available:
        raise EngineUnavailable(name, availability.reason or "unknown reason")
    return engine


def availability(name: str | None = None) -> list[Availability]:
    """Availability of one engine, or of all of them, never raising."""
    names = NAMES if name is None else (name,)
    return [lookup(n).availability() for n in names]


def available_names() -> list[str]:
    return [a.name for a in availability() if a.available]


__all__ = [
    "DEFAULT",
    "NAMES",
    "Availability",
    "Engine",
    "EngineInstance",
    "HostFunction",
    "Panic",
    "Trap",
    "availability",
    "available_names",
    "get",
    "lookup",
]
