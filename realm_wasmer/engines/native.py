"""What the wasmer and wasmtime adapters share.

Both engines are Python packages imported on first use; each compiles into one
object made once, after the availability check (wasmer's ``Store``, wasmtime's
``Engine``), and compiles, serializes and deserializes through the package's
``Module`` class. Their instances (and the limited wrapper's) wrap each export
function once and keep the wrapper by name.
"""

from __future__ import annotations

import abc
from typing import Any, Callable, Mapping, Optional

from ..errors import EngineRefused, EngineUnavailable
from ..wasm import WasmModule
from .base import Engine, EngineInstance, HostFunction

#: The host functions an instance is linked with, by (namespace, name).
Imports = Mapping[tuple[str, str], HostFunction]


class NativeEngine(Engine):
    """An engine backed by an importable package (see the module docstring)."""

    #: The compilation target (made by :meth:`_setup` on first use).
    _target: Any = None

    @abc.abstractmethod
    def _package(self) -> tuple[Any, str]:
        """The imported package, or None and the reason it cannot be imported."""

    @abc.abstractmethod
    def _setup(self, package: Any) -> Any:
        """Make the object modules are compiled into."""

    @abc.abstractmethod
    def _refusal(self, package: Any, exc: BaseException) -> Optional[str]:
        """Why compiling failed with ``exc`` (an EngineRefused reason), or None to let ``exc`` through."""

    def _require(self) -> Any:
        availability = self.availability()
        if not availability.available:
            raise EngineUnavailable(self.name, availability.reason or "unknown reason")
        if self._target is None:
            self._target = self._setup(self._package()[0])
        return self._target

    def compile(self, wasm: bytes, module: WasmModule) -> Any:
        target = self._require()
        package, _ = self._package()
        try:
            return package.Module(target, wasm)
        except BaseException as exc:
            reason = self._refusal(package, exc)
            if reason is None:
                raise
            raise EngineRefused(self.name, reason) from None

    def serialize(self, compiled: Any) -> bytes:
        return bytes(compiled.serialize())

    def deserialize(self, data: bytes) -> Any:
        target = self._require()
        package, _ = self._package()
        return package.Module.deserialize(target, data)


class CachedFunctions(EngineInstance):
    """An engine instance whose export wrappers are made once per name by :meth:`_wrap`."""

    _functions: dict[str, Callable[..., Any]]

    def function(self, name: str) -> Callable[..., Any]:
        cached = self._functions.get(name)
        if cached is None:
            cached = self._functions[name] = self._wrap(name)
        return cached

    @abc.abstractmethod
    def _wrap(self, name: str) -> Callable[..., Any]:
        """The callable for export ``name`` (KeyError when there is none)."""
