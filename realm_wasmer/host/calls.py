"""Calls across the boundary, both ways, with the error translation and poisoning.

:class:`GuestCalls` is made before the engine instance exists (handlers are
built first and linked at instantiation) and bound to it right after.

* Host -> guest: :meth:`GuestCalls.call` checks arity (wasmer-python silently
  drops surplus arguments), turns an engine trap into :class:`GuestTrap` and an
  engine panic into :class:`EnginePanic`, and poisons the instance on either.
* Guest -> host: :meth:`GuestCalls.guard` wraps each import handler so the call
  that unwinds through guest frames can be told apart from one the guest asked
  for (``__wbindgen_throw``), and counts import calls by name.
"""

from __future__ import annotations

import difflib
from typing import Any, Callable, Optional

from ..engines.base import EngineInstance, Panic, Trap
from ..errors import (
    EnginePanic,
    ExportNotFound,
    GuestTrap,
    HostError,
    JsError,
    ModuleStateError,
    PoisonedInstance,
    RealmWasmerError,
)
from ..wasm import WasmModule


class _Unbound:
    """Stands in for the engine instance until instantiation finishes."""

    def function(self, name: str) -> Callable[..., Any]:
        raise ModuleStateError(f"export {name!r} was called before the instance finished instantiating")


class GuestCalls:
    """Calling the guest's exports, and the bookkeeping of one instance's calls."""

    def __init__(self, module: WasmModule) -> None:
        self._module = module
        self._engine: Any = _Unbound()
        #: Parameter count of every exported function.
        self._arity = {name: len(sig.params) for name, sig in module.function_exports()}
        #: export name -> (engine callable, parameter count), filled on first call.
        self._callables: dict[str, tuple[Callable[..., Any], int]] = {}
        self._depth = 0
        self._last_import: Optional[str] = None
        self._host_exception: Optional[tuple[str, BaseException]] = None
        #: Why the instance may be inconsistent: a trap, or a host exception that
        #: unwound through guest frames (Rust destructors and RefCell guards skipped).
        self.poisoned_by: Optional[RealmWasmerError] = None
        #: Export calls made (host -> guest), and import calls by ``module.name``.
        self.calls = 0
        self.import_calls: dict[str, int] = {}

    def bind(self, engine_instance: EngineInstance) -> None:
        self._engine = engine_instance

    @property
    def engine(self) -> EngineInstance:
        """The bound engine instance (globals and tables are reached through it)."""
        engine: EngineInstance = self._engine
        return engine

    @property
    def last_import(self) -> Optional[str]:
        """The last import the guest called during the current (or last) export call."""
        return self._last_import

    @property
    def exported_functions(self) -> frozenset[str]:
        return frozenset(self._arity)

    def has(self, export: str) -> bool:
        return export in self._arity

    def export_function(self, name: str) -> Callable[..., Any]:
        """The engine's raw callable for export ``name`` (no error translation)."""
        try:
            function: Callable[..., Any] = self._engine.function(name)
            return function
        except KeyError:
            names = [e.name for e in self._module.exports]
            close = difflib.get_close_matches(name, names, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ExportNotFound(f"the module has no export {name!r}{hint}") from None

    def call(self, export: str, *args: Any) -> Any:
        """Call an export with raw wasm values; traps become :class:`GuestTrap`."""
        if self.poisoned_by is not None:
            raise PoisonedInstance(
                f"this instance trapped earlier ({self.poisoned_by}); its memory may be inconsistent. "
                "Call reset() for a fresh instance."
            )
        entry = self._callables.get(export)
        if entry is None:
            if export not in self._arity and self._module.export(export) is not None:
                raise ExportNotFound(f"export {export!r} is not a function")
            entry = self._callables[export] = (self.export_function(export), self._arity[export])
        function, arity = entry
        if len(args) != arity:
            raise TypeError(
                f"export {export!r} takes {arity} wasm arguments "
                f"{self._module.export_signature(export)}, got {len(args)}"
            )
        if self._depth == 0:
            self._last_import = None
            self._host_exception = None
        self._depth += 1
        self.calls += 1
        try:
            return function(*args)
        except Trap as trap:
            trapped = GuestTrap(export, trap.message, self._last_import)
            self.poisoned_by = trapped
            raise trapped from None
        except Panic as panic:
            panicked = EnginePanic(export, str(panic))
            self.poisoned_by = panicked
            raise panicked from None
        except BaseException as exc:
            raised = self._host_exception
            if raised is not None and raised[1] is exc:
                if isinstance(exc, JsError):
                    # __wbindgen_throw/rethrow: the guest asked for this unwind (Rust `-> !`),
                    # exactly as under the JS glue; the instance stays usable.
                    raise
                error: RealmWasmerError = (
                    exc if isinstance(exc, RealmWasmerError) else HostError(raised[0], export, exc)
                )
                # Any other exception abandoned guest frames mid-call: borrow flags and
                # the shadow stack may be left set, so the instance is poisoned.
                self.poisoned_by = error
                if error is exc:
                    raise
                raise error from exc
            raise
        finally:
            self._depth -= 1

    def guard(self, label: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        """``handler`` as linked for import ``label``: counted, and its exceptions recorded."""
        counts = self.import_calls

        def host(*args: Any) -> Any:
            self._last_import = label
            counts[label] = counts.get(label, 0) + 1
            try:
                return handler(*args)
            except BaseException as exc:
                self._host_exception = (label, exc)
                raise

        return host
