"""Engines under :class:`~realm_wasmer.limits.Limits`: the load pipeline wraps the engine
of a spec that sets limits (:func:`limited`).

* wasmer: the module is metered and its grows guarded by load transforms
  (:mod:`realm_wasmer.transforms.metering`); the wrapper binds the instance's
  :class:`~realm_wasmer.limits.Governor` to the injected imports and, before each
  outermost call, names the export and fills the guest's fuel counter.
* wasmtime: natively. Its own engine object per configuration
  (``Config.consume_fuel`` for ``fuel``, ``Config.epoch_interruption`` for
  ``timeout_s``, with one daemon thread ticking the epoch every
  :data:`~realm_wasmer.limits.EPOCH_TICK_S`); the configuration is part of the
  artifact cache key. Each store gets ``set_limits`` (memory and table growth),
  and before each outermost call ``set_fuel`` and ``set_epoch_deadline``. A
  fuel or epoch trap is raised as :class:`~realm_wasmer.errors.ResourceExhausted`
  in its place; the call guard (``GuestCalls``) poisons the instance on any
  ``ResourceExhausted``.

A module whose initial memory (or table) is larger than the limit is refused at
instantiation with ``ResourceExhausted``, on every engine.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from typing import Any, Callable, Optional, Sequence

from ..errors import ResourceExhausted, UnsupportedFeature
from ..limits import EPOCH_TICK_S, Governor, Limits
from ..transforms.base import TRANSFORM_NAMESPACE
from ..transforms.metering import FUEL_EXPORT, GOVERNED
from ..wasm import WasmModule
from .base import Availability, Engine, EngineInstance, HostFunction, Trap, U8Array
from .native import CachedFunctions, Imports
from .wasmer_engine import WasmerEngine
from .wasmtime_engine import WasmtimeEngine, _wasmtime_module, instantiate_in

#: Fuel given to a wasmtime store when only ``timeout_s`` is set (never reached).
_UNLIMITED_FUEL = 2**63 - 1
#: Epoch ticks to a deadline that never comes (no ``timeout_s``).
_NO_DEADLINE = 2**62


def limited(engine: Engine, limits: Limits, module: WasmModule) -> Engine:
    """``engine`` running ``module`` under ``limits`` (``engine`` itself when none is enforced)."""
    if not limits.active:
        return engine
    if isinstance(engine, WasmerEngine):
        return LimitedWasmer(engine, limits, module)
    if isinstance(engine, WasmtimeEngine):
        return LimitedWasmtime(configured(limits.fuel is not None, limits.timeout_s is not None), limits, module)
    raise UnsupportedFeature(f"engine {engine.name!r} cannot enforce limits (wasmer and wasmtime can)")


# --- the wrappers ----------------------------------------------------------------------------------------------


class LimitedEngine(Engine):
    """``base`` with ``limits`` applied to each instance (see the module docstring)."""

    def __init__(self, base: Engine, limits: Limits, module: WasmModule) -> None:
        self.base = base
        self.limits = limits
        self.name = base.name
        self.limitations = base.limitations
        self._memory = module.memories[0].minimum if module.memories else 0
        self._table = max((t.limits.minimum for t in module.tables), default=0)

    def availability(self) -> Availability:
        return self.base.availability()

    def check_module(self, module: WasmModule) -> None:
        self.base.check_module(module)

    def compile(self, wasm: bytes, module: WasmModule) -> Any:
        return self.base.compile(wasm, module)

    def serialize(self, compiled: Any) -> bytes:
        return self.base.serialize(compiled)

    def deserialize(self, data: bytes) -> Any:
        return self.base.deserialize(data)

    def cache_key_parts(self) -> Sequence[str]:
        return self.base.cache_key_parts()

    def instantiate(self, compiled: Any, imports: Imports) -> EngineInstance:
        governor = Governor(self.limits)
        self._check_initial(governor)
        bound = dict(imports)
        for name in GOVERNED:
            host = bound.get((TRANSFORM_NAMESPACE, name))
            if host is not None:
                bound[(TRANSFORM_NAMESPACE, name)] = HostFunction(
                    host.signature, functools.partial(host.func, governor)
                )
        return self._instantiate(compiled, bound, governor)

    def _check_initial(self, governor: Governor) -> None:
        pages, elements = self.limits.max_memory_pages, self.limits.max_table_elements
        if pages is not None and self._memory > pages:
            raise governor.exhausted("max_memory_pages", f"the module's initial memory is {self._memory} pages")
        if elements is not None and self._table > elements:
            raise governor.exhausted("max_table_elements", f"the module's initial table has {self._table} elements")

    def _instantiate(self, compiled: Any, imports: Imports, governor: Governor) -> EngineInstance:
        raise NotImplementedError


class LimitedInstance(CachedFunctions):
    """An engine instance whose export calls run ``before(export)`` when outermost and
    pass their errors to ``failed(export, exc)`` (which may raise another)."""

    def __init__(self, inner: EngineInstance, before: Callable[[str], None],
                 failed: Callable[[str, BaseException], None]) -> None:
        self.inner = inner
        self.thread_affine = inner.thread_affine
        self._before = before
        self._failed = failed
        self._depth = 0
        self._functions: dict[str, Callable[..., Any]] = {}

    def _wrap(self, name: str) -> Callable[..., Any]:
        raw = self.inner.function(name)
        before, failed = self._before, self._failed

        def call(*args: Any) -> Any:
            if not self._depth:
                before(name)
            self._depth += 1
            try:
                return raw(*args)
            except BaseException as exc:
                failed(name, exc)
                raise
            finally:
                self._depth -= 1

        return call

    def memory_view(self) -> U8Array:
        return self.inner.memory_view()

    def memory_size(self) -> int:
        return self.inner.memory_size()

    def global_get(self, name: str) -> Any:
        return self.inner.global_get(name)

    def global_set(self, name: str, value: Any) -> None:
        self.inner.global_set(name, value)

    def table_size(self, name: str) -> int:
        return self.inner.table_size(name)

    def table(self, name: str) -> Optional[Any]:
        return self.inner.table(name)

    @property  # type: ignore[override]
    def store(self) -> Any:
        return self.inner.store


# --- wasmer ----------------------------------------------------------------------------------------------------


class LimitedWasmer(LimitedEngine):
    """wasmer with the metering and grow-guard transforms' imports bound to a Governor."""

    def _instantiate(self, compiled: Any, imports: Imports, governor: Governor) -> EngineInstance:
        governor.begin("<instantiation>", counter_set=False)  # the module's counter starts at 0
        inner = self.base.instantiate(compiled, imports)
        set_counter = _global_setter(inner, FUEL_EXPORT)

        def before(export: str) -> None:
            fuel = governor.begin(export)
            if set_counter is not None:
                set_counter(fuel)

        def failed(export: str, exc: BaseException) -> None:
            return None  # the injected imports raise through the call guard themselves

        return LimitedInstance(inner, before, failed)


def _global_setter(instance: EngineInstance, name: str) -> Optional[Callable[[int], None]]:
    """A fast setter of exported global ``name`` (None when the module has none). The
    wasmer adapter's global object is held (a lookup by name costs ~1 us per call)."""
    try:
        instance.global_get(name)
    except (KeyError, AttributeError):
        return None
    lookup = getattr(instance, "_exports_global", None)  # WasmerInstance, same package
    if lookup is None:
        return lambda value: instance.global_set(name, value)
    handle = lookup(name)

    def set_value(value: int) -> None:
        handle.value = value

    return set_value


# --- wasmtime --------------------------------------------------------------------------------------------------


class ConfiguredWasmtime(WasmtimeEngine):
    """wasmtime with fuel and/or epoch interruption (one per configuration: :func:`configured`)."""

    def __init__(self, fuel: bool, epochs: bool) -> None:
        super().__init__()
        self.fuel = fuel
        self.epochs = epochs
        self._ticker: Optional[threading.Thread] = None
        self._ticker_lock = threading.Lock()

    def _setup(self, wasmtime: Any) -> Any:
        config = wasmtime.Config()
        config.consume_fuel = self.fuel
        config.epoch_interruption = self.epochs
        return wasmtime.Engine(config)

    def cache_key_parts(self) -> Sequence[str]:
        return (*super().cache_key_parts(), f"consume_fuel={self.fuel}", f"epoch_interruption={self.epochs}")

    def start_ticker(self) -> None:
        """Tick this engine's epoch every EPOCH_TICK_S from a daemon thread (started once)."""
        with self._ticker_lock:
            if self._ticker is not None:
                return
            engine = self._require()

            def tick() -> None:
                while True:
                    time.sleep(EPOCH_TICK_S)
                    engine.increment_epoch()

            self._ticker = threading.Thread(target=tick, name="realm-wasmer-epoch", daemon=True)
            self._ticker.start()


@functools.cache
def configured(fuel: bool, epochs: bool) -> WasmtimeEngine:
    """The wasmtime engine with this configuration (the plain one when neither is asked)."""
    return ConfiguredWasmtime(fuel, epochs) if fuel or epochs else WasmtimeEngine()


class LimitedWasmtime(LimitedEngine):
    """wasmtime with native fuel, epochs and store limits (see the module docstring)."""

    def _instantiate(self, compiled: Any, imports: Imports, governor: Governor) -> EngineInstance:
        base = self.base
        assert isinstance(base, WasmtimeEngine)
        engine = base._require()
        wasmtime, _ = _wasmtime_module()
        limits = self.limits
        fueled = isinstance(base, ConfiguredWasmtime) and base.fuel
        epochs = isinstance(base, ConfiguredWasmtime) and base.epochs
        fuel = limits.fuel if limits.fuel is not None else _UNLIMITED_FUEL
        ticks = math.ceil(limits.timeout_s / EPOCH_TICK_S) + 1 if limits.timeout_s is not None else _NO_DEADLINE
        store = wasmtime.Store(engine)
        store.set_limits(
            memory_size=limits.max_memory_pages * 65536 if limits.max_memory_pages is not None else -1,
            table_elements=limits.max_table_elements if limits.max_table_elements is not None else -1,
        )
        if isinstance(base, ConfiguredWasmtime) and epochs:
            base.start_ticker()

        def before(export: str) -> None:
            governor.begin(export, counter_set=False)
            if fueled:
                store.set_fuel(fuel)
            if epochs:
                store.set_epoch_deadline(ticks)

        def failed(export: str, exc: BaseException) -> None:
            if not isinstance(exc, Trap):
                return
            error = _native_limit(governor, exc.raw)
            if error is not None:
                raise error from None  # the call guard poisons the instance

        before("<instantiation>")
        try:
            instance = instantiate_in(wasmtime, engine, store, compiled, imports, base.name)
        except Trap as exc:
            failed("<instantiation>", exc)
            raise
        return LimitedInstance(instance, before, failed)


def _native_limit(governor: Governor, raw: str) -> Optional[ResourceExhausted]:
    """The ResourceExhausted a wasmtime trap stands for (fuel or epoch), or None."""
    text = raw.lower()
    if "all fuel consumed" in text:
        return governor.exhausted("fuel", "wasmtime consumed all the fuel given to the call")
    if "interrupt" in text:
        return governor.exhausted("timeout_s", "wasmtime's epoch deadline passed")
    return None


__all__ = ["ConfiguredWasmtime", "LimitedEngine", "LimitedInstance", "LimitedWasmer", "LimitedWasmtime", "limited"]
