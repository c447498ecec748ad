"""wasmtime-py: the second engine and the reference.

It supports externref and tables from Python, and installs on every CPython
from 3.9, but each Python->wasm call costs tens of microseconds (wasmer: under
one), so it is the engine for checking, not for speed.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Callable, Optional

import numpy as np

from ..errors import EngineRefused
from .base import Availability, Trap, U8Array, canonical_trap_message
from .native import CachedFunctions, Imports, NativeEngine


@functools.cache
def _wasmtime_module() -> tuple[Any, str]:
    try:
        import wasmtime
    except ImportError as exc:
        return None, f"the wasmtime package cannot be imported ({exc}); pip install wasmtime"
    return wasmtime, ""


def _trap_text(exc: BaseException) -> str:
    text = str(exc)
    match = re.search(r"wasm trap: (.*)", text)
    return match.group(1).strip() if match else text


class WasmtimeInstance(CachedFunctions):
    def __init__(self, store: Any, instance: Any) -> None:
        self._store = store
        self._exports = instance.exports(store)
        self._functions: dict[str, Callable[..., Any]] = {}
        self._memory = self._exports.get("memory")
        self._view: U8Array = np.empty(0, dtype=np.uint8)
        self._view_key: tuple[int, int] = (-1, -1)

    def _wrap(self, name: str) -> Callable[..., Any]:
        raw = self._export(name)
        wasmtime, _ = _wasmtime_module()
        store = self._store
        trap_types = (wasmtime.Trap, wasmtime.WasmtimeError)
        # wasmtime-py returns several results as a list: those become a tuple (as on wasmer).
        # A single result is returned as is, even when it is a list (an externref holds any value).
        several = len(raw.type(store).results) > 1

        def call(*args: Any) -> Any:
            try:
                result = raw(store, *args)
            except trap_types as exc:
                text = str(exc)
                raise Trap(canonical_trap_message(_trap_text(exc)), text) from None
            return tuple(result) if several else result

        return call

    def memory_view(self) -> U8Array:
        size = self._memory.data_len(self._store)
        ptr = self._memory.data_ptr(self._store)
        key = (size, ctypes_address(ptr))
        if key != self._view_key:
            self._view = np.ctypeslib.as_array(ptr, shape=(size,))
            self._view_key = key
        return self._view

    def memory_size(self) -> int:
        return int(self._memory.data_len(self._store))

    def global_get(self, name: str) -> Any:
        return self._export(name).value(self._store)

    def global_set(self, name: str, value: Any) -> None:
        self._export(name).set_value(self._store, value)

    def table_size(self, name: str) -> int:
        return int(self._export(name).size(self._store))

    def table(self, name: str) -> Any:
        """The native wasmtime Table (get/set/grow work on this engine)."""
        return self._export(name)

    @property
    def store(self) -> Any:
        return self._store

    def _export(self, name: str) -> Any:
        value = self._exports.get(name)
        if value is None:
            raise KeyError(name)
        return value


def ctypes_address(ptr: Any) -> int:
    import ctypes

    return ctypes.cast(ptr, ctypes.c_void_p).value or 0


class WasmtimeEngine(NativeEngine):
    limitations = {
        "threads": "wasmtime-py is configured here without shared memory ({detail}); no engine of realm_wasmer "
        "runs shared memories",
    }

    name = "wasmtime"

    @functools.cache
    def availability(self) -> Availability:
        wasmtime, reason = _wasmtime_module()
        if wasmtime is None:
            return Availability(self.name, False, reason)
        from importlib import metadata

        return Availability(self.name, True, version=f"wasmtime-py {metadata.version('wasmtime')}")

    def _package(self) -> tuple[Any, str]:
        return _wasmtime_module()

    def _setup(self, wasmtime: Any) -> Any:
        return wasmtime.Engine()

    def _refusal(self, wasmtime: Any, exc: BaseException) -> Optional[str]:
        return str(exc) if isinstance(exc, wasmtime.WasmtimeError) else None

    def instantiate(self, compiled: Any, imports: Imports) -> WasmtimeInstance:
        engine = self._require()
        wasmtime, _ = _wasmtime_module()
        return instantiate_in(wasmtime, engine, wasmtime.Store(engine), compiled, imports, self.name)


def instantiate_in(
    wasmtime: Any,
    engine: Any,
    store: Any,
    compiled: Any,
    imports: Imports,
    engine_name: str,
) -> WasmtimeInstance:
    """Instantiate ``compiled`` in ``store`` (made, and perhaps limited, by the caller)."""
    valtypes = {
        "i32": wasmtime.ValType.i32(),
        "i64": wasmtime.ValType.i64(),
        "f32": wasmtime.ValType.f32(),
        "f64": wasmtime.ValType.f64(),
        "externref": wasmtime.ValType.externref(),
        "funcref": wasmtime.ValType.funcref(),
    }
    linker = wasmtime.Linker(engine)
    for (namespace, name), host in imports.items():
        ftype = wasmtime.FuncType(
            [valtypes[t] for t in host.signature.params], [valtypes[t] for t in host.signature.results]
        )
        linker.define_func(namespace, name, ftype, host.func)
    try:
        instance = linker.instantiate(store, compiled)
    except wasmtime.Trap as exc:
        raise Trap(canonical_trap_message(_trap_text(exc)), str(exc)) from None
    except wasmtime.WasmtimeError as exc:
        raise EngineRefused(engine_name, f"instantiation failed: {exc}") from None
    return WasmtimeInstance(store, instance)
