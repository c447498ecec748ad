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
import threading
from typing import Any, Callable, Optional

from ..engines.base import EngineInstance, Panic, Trap
from ..errors import (
    EnginePanic,
    ExportNotFound,
    ForeignThread,
    GuestTrap,
    HostError,
    HostResultError,
    JsError,
    ModuleStateError,
    PoisonedInstance,
    RealmWasmerError,
    ResourceExhausted,
)
from ..limits import HostBudget
from ..wasm import FuncType, WasmModule


class ImportCounts(dict[str, int]):
    """Import calls by ``module.name``: a dict whose missing names count 0, so a guard
    counts with one ``counts[label] += 1`` (no method call per crossing)."""

    def __missing__(self, key: str) -> int:
        return 0


_get_ident = threading.get_ident

_RANGES = {"i32": (-(1 << 31), (1 << 32) - 1), "i64": (-(1 << 63), (1 << 64) - 1)}


def _value_problem(valtype: str, value: Any) -> Optional[str]:
    """Why ``value`` cannot be a wasm ``valtype`` (None when it can)."""
    if valtype in _RANGES:
        if not isinstance(value, int):
            return f"expected an integer for {valtype}, got {type(value).__name__}"
        low, high = _RANGES[valtype]
        if not low <= value <= high:
            return f"{value} does not fit in {valtype} [{low}, {high}]"
        return None
    if valtype in ("f32", "f64"):
        if isinstance(value, (int, float)):
            return None
        return f"expected a number for {valtype}, got {type(value).__name__}"
    return None  # externref/funcref: any Python value; v128 is the engine's business


def result_checker(signature: FuncType, label: str) -> Callable[[Any], Any]:
    """A function that returns a handler's result unchanged when it fits the import's
    result types, and raises :class:`HostResultError` naming the import otherwise
    (engines would wrap, truncate or drop it silently)."""
    results = signature.results
    text = str(signature)

    def refuse(value: Any, reason: str) -> Any:
        raise HostResultError(label, text, value, reason)

    if not results:

        def none(value: Any) -> Any:
            return None if value is None else refuse(value, "the import returns nothing")

        return none
    if len(results) == 1:
        (valtype,) = results
        if valtype == "i32":

            def i32(value: Any) -> Any:
                if type(value) is int and -2147483648 <= value <= 4294967295:
                    return value
                problem = _value_problem("i32", value)
                return value if problem is None else refuse(value, problem)

            return i32

        def single(value: Any) -> Any:
            problem = _value_problem(valtype, value)
            return value if problem is None else refuse(value, problem)

        return single

    def multi(value: Any) -> Any:
        if not isinstance(value, (tuple, list)) or len(value) != len(results):
            return refuse(value, f"expected a tuple of {len(results)} values")
        for valtype, item in zip(results, value, strict=True):
            problem = _value_problem(valtype, item)
            if problem is not None:
                return refuse(value, problem)
        return tuple(value)

    return multi


class _Unbound:
    """Stands in for the engine instance until instantiation finishes."""

    def function(self, name: str) -> Callable[..., Any]:
        raise ModuleStateError(f"export {name!r} was called before the instance finished instantiating")


class GuestCalls:
    """Calling the guest's exports, and the bookkeeping of one instance's calls.

    Slotted: every crossing reads and writes a few of these attributes (a slot is
    reached faster than an instance dict entry)."""

    __slots__ = (
        "_module", "_engine", "_arity", "_callables", "_callers", "_depth", "_last_import", "_host_exception",
        "_owner", "_owner_name", "_poisoned_by", "_gate", "calls", "import_calls", "lock", "after_outermost",
        "budget", "export_wrappers", "__weakref__",
    )

    def __init__(self, module: WasmModule) -> None:
        self._module = module
        self._engine: Any = _Unbound()
        #: Parameter count of every exported function.
        self._arity = {name: len(sig.params) for name, sig in module.function_exports()}
        #: export name -> (engine callable, parameter count), filled on first call.
        self._callables: dict[str, tuple[Callable[..., Any], int]] = {}
        #: export name -> its bound caller (:meth:`caller`), made once.
        self._callers: dict[str, Callable[..., Any]] = {}
        self._depth = 0
        #: The import the guest called last (its ``module.name`` label), and the exception an
        #: import handler raised, with its label. Only an import call records an exception,
        #: and it names itself in ``_last_import`` first; every reset clears both. So while
        #: ``_last_import`` is None no exception is pending (the outermost resets rely on it).
        self._last_import: Optional[str] = None
        self._host_exception: Optional[tuple[str, BaseException]] = None
        #: The thread that owns a thread-affine engine instance (None: any thread).
        self._owner: Optional[int] = None
        self._owner_name = ""
        #: Why the instance may be inconsistent (:attr:`poisoned_by`).
        self._poisoned_by: Optional[RealmWasmerError] = None
        #: The poison and owner checks as one comparison, ``get_ident() != _gate``: the
        #: owner's thread id while the instance is usable on a thread-affine engine, else
        #: None (no thread id equals it: refused, and :meth:`_refuse` says why).
        self._gate: Optional[int] = None
        #: Export calls made (host -> guest), and import calls by ``module.name``.
        self.calls = 0
        self.import_calls: dict[str, int] = ImportCounts()
        #: One caller at a time: held for each export call (re-entrant for calls a
        #: handler makes on the same thread) and for multi-step ABI sequences.
        self.lock = threading.RLock()
        #: Run when the outermost call returns or raises (e.g. a store releasing the
        #: handles it pinned for the call).
        self.after_outermost: list[Callable[[], None]] = []
        #: What the host allocated for the guest in the current outermost call
        #: (``Limits.max_host_bytes``; the instance sets the limit before linking).
        self.budget = HostBudget()
        #: Export name -> a wrapper of the engine's callable (e.g. the externref lowering's
        #: conversion of values to handles by the export's original signature).
        self.export_wrappers: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] = {}

    def bind(self, engine_instance: EngineInstance) -> None:
        self._engine = engine_instance
        if engine_instance.thread_affine:
            self._owner = threading.get_ident()
            self._owner_name = threading.current_thread().name
        self._set_gate()

    @property
    def poisoned_by(self) -> Optional[RealmWasmerError]:
        """Why the instance may be inconsistent: a trap, or a host exception that unwound
        through guest frames (Rust destructors and RefCell guards skipped); None while usable."""
        return self._poisoned_by

    @poisoned_by.setter
    def poisoned_by(self, error: Optional[RealmWasmerError]) -> None:
        self._poisoned_by = error
        self._set_gate()

    def _set_gate(self) -> None:
        self._gate = self._owner if self._poisoned_by is None else None

    def check_thread(self) -> None:
        """Refuse a call from another thread than the owner's, on engines bound to one."""
        if self._owner is not None and threading.get_ident() != self._owner:
            raise ForeignThread(self._engine_name(), self._owner_name, threading.current_thread().name)

    def _engine_name(self) -> str:
        return "wasmer" if self._engine.thread_affine else type(self._engine).__name__

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
    def busy(self) -> bool:
        """True while an export call (or instantiation) is running."""
        return self._depth > 0

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
        """Call an export with raw wasm values; traps become :class:`GuestTrap`.

        On a thread-affine engine (wasmer) the export's bound :meth:`caller` makes the
        call once the arity is checked; elsewhere the call runs under the lock."""
        if _get_ident() != self._gate and (self._poisoned_by is not None or self._owner is not None):
            self._refuse()  # poisoned, or not the owner's thread (one comparison while usable on wasmer)
        entry = self._callables.get(export)
        if entry is None:
            entry = self._entry(export)
        function, arity = entry
        if len(args) != arity:
            raise TypeError(
                f"export {export!r} takes {arity} wasm arguments "
                f"{self._module.export_signature(export)}, got {len(args)}"
            )
        if self._owner is not None:
            caller = self._callers.get(export)
            return (caller or self.caller(export))(*args)
        return self._call_locked(export, function, args)

    def _call_locked(self, export: str, function: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        with self.lock:
            if self._depth == 0:
                self._last_import = None
                self._host_exception = None
                budget = self.budget
                budget.used = 0
                budget.export = export
            self._depth += 1
            self.calls += 1
            try:
                return function(*args)
            except BaseException as exc:
                self._failed(export, exc)
                raise
            finally:
                self._depth -= 1
                if not self._depth and self.after_outermost:
                    for hook in self.after_outermost:
                        hook()

    def caller(self, export: str) -> Callable[..., Any]:
        """A callable for ``export`` with everything :meth:`call` does but the arity
        check, bound once: for code generated against the export's signature (the
        bindings, the allocator). Where the engine hands out its raw callable
        (wasmer, single-result exports) that is called directly and its errors are
        translated only when raised; on thread-affine engines the owner check stands
        in for the lock (no other thread can get past it)."""
        cached = self._callers.get(export)
        if cached is None:
            cached = self._callers[export] = self._caller(export)
        return cached

    def _caller(self, export: str) -> Callable[..., Any]:
        self.check_thread()  # wasmer's objects panic when touched from another thread
        function, _ = self._callables.get(export) or self._entry(export)
        engine = self._engine
        signature = self._module.export_signature(export)
        raw_export = getattr(engine, "raw_export", None)
        translate: Optional[Callable[[BaseException], Optional[BaseException]]] = None
        if raw_export is not None and signature is not None and len(signature.results) <= 1:
            function, translate = raw_export(export), engine.translate_error
            wrap = self.export_wrappers.get(export)
            if wrap is not None:  # e.g. values to handles by the original signature (externref lowered)
                function = wrap(function)
        if not engine.thread_affine:
            checked = self.call  # its checks, then the call under the lock
            return lambda *args: checked(export, *args)
        get_ident, failed = _get_ident, self._failed
        budget, hooks = self.budget, self.after_outermost

        def call(*args: Any) -> Any:
            if get_ident() != self._gate:  # poisoned, or not the owner's thread
                self._refuse()
            depth = self._depth
            if not depth:  # the outermost resets, each stored only when it changes (as in regions)
                if self._last_import:  # a pending host exception only ever follows it
                    self._last_import = None
                    if self._host_exception:
                        self._host_exception = None
                if budget.used:
                    budget.used = 0
                if budget.export is not export:
                    budget.export = export
            self._depth = depth + 1
            self.calls += 1
            try:
                return function(*args)
            except BaseException as exc:
                translated = translate(exc) if translate is not None else None
                if translated is not None:
                    failed(export, translated)  # raises its GuestTrap/EnginePanic
                failed(export, exc)
                raise
            finally:
                self._depth = depth
                if not depth and hooks:
                    for hook in hooks:
                        hook()

        return call

    # -- guarded regions: several raw crossings under one set of checks -------------
    # Generated bindings (``bindings/region.py``) run a binding's whole sequence (malloc,
    # the export, free) as ONE guarded call: the checks, the outermost resets, the depth and
    # the try that translates engine errors, as :meth:`caller` does per crossing, once; the
    # engine's raw callables inside; the export that failed named by the stage reached.
    def raw(self, export: str) -> Optional[Callable[..., Any]]:
        """The engine's raw callable for ``export`` (the export's wrapper applied), for a
        guarded region; None where regions do not apply (an engine that is not bound to
        one thread or hands out no raw callable, an export with several results)."""
        engine = self._engine
        raw_export = getattr(engine, "raw_export", None)
        signature = self._module.export_signature(export)
        if raw_export is None or not engine.thread_affine or signature is None or len(signature.results) > 1:
            return None
        self.check_thread()
        self._callables.get(export) or self._entry(export)  # ExportNotFound, as caller() raises
        function: Callable[..., Any] = raw_export(export)
        wrap = self.export_wrappers.get(export)
        return function if wrap is None else wrap(function)

    @property
    def owner(self) -> Optional[int]:
        """The thread id a thread-affine engine instance is bound to (None: any thread)."""
        return self._owner

    def region_failed(self, names: tuple[str, ...], stage: int, exc: BaseException) -> None:
        """A guarded region's ``except``: ``exc`` raised at ``stage`` (the crossing of
        ``names[stage]`` or the Python code after it), translated and reported as
        :meth:`caller` reports it; returns when ``exc`` is to propagate unchanged."""
        translated = self._engine.translate_error(exc)
        if translated is not None:
            self._failed(names[stage], translated)  # raises its GuestTrap/EnginePanic
        self._failed(names[stage], exc)

    def run_hooks(self) -> None:
        """The :attr:`after_outermost` hooks, as an outermost call ends."""
        for hook in self.after_outermost:
            hook()

    def invoke(self, label: str, function: Callable[..., Any], *args: Any) -> Any:
        """Run ``function`` (e.g. the engine's instantiation, whose start function and
        data segments run guest code) with the same translation as :meth:`call`:
        ``label`` names it in errors."""
        with self.lock:
            if self._depth == 0:
                self.budget.used = 0
                self.budget.export = label
            self._depth += 1
            try:
                return function(*args)
            except BaseException as exc:
                self._failed(label, exc)
                raise
            finally:
                self._depth -= 1
                if not self._depth and self.after_outermost:
                    for hook in self.after_outermost:
                        hook()

    def _refuse(self) -> None:
        self.check_thread()
        raise PoisonedInstance(
            f"this instance trapped earlier ({self.poisoned_by}); its memory may be inconsistent. "
            "Call reset() for a fresh instance."
        )

    def _entry(self, export: str) -> tuple[Callable[..., Any], int]:
        if export not in self._arity and self._module.export(export) is not None:
            raise ExportNotFound(f"export {export!r} is not a function")
        function = self.export_function(export)
        wrap = self.export_wrappers.get(export)
        entry = self._callables[export] = (function if wrap is None else wrap(function), self._arity[export])
        return entry

    def _failed(self, export: str, exc: BaseException) -> None:
        """Translate ``exc``, raised out of guest code called as ``export``, and poison
        the instance where guest frames were abandoned. Raises the error to report;
        returns when ``exc`` itself is to propagate unchanged."""
        if isinstance(exc, Trap):
            trapped = GuestTrap(export, exc.message, self._last_import)
            self.poisoned_by = trapped
            raise trapped from None
        if isinstance(exc, Panic):
            panicked = EnginePanic(export, str(exc))
            self.poisoned_by = panicked
            raise panicked from None
        if isinstance(exc, ResourceExhausted):
            # A limit stopped the guest: raised by an injected import (wasmer metering), an
            # intrinsic (max_host_bytes), or translated from the engine's own fuel/epoch
            # trap by the limited engine (wasmtime). Guest frames were abandoned either way.
            self.poisoned_by = exc
            return
        raised = self._host_exception
        if raised is None or raised[1] is not exc:
            return
        if isinstance(exc, JsError) and exc.guest_thrown:
            # __wbindgen_throw/rethrow: the guest asked for this unwind (Rust `-> !`),
            # exactly as under the JS glue; the instance stays usable.
            return
        # Any other exception abandoned guest frames mid-call: borrow flags and
        # the shadow stack may be left set, so the instance is poisoned.
        if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit: as themselves
            self.poisoned_by = HostError(raised[0], export, exc)
            return
        error = exc if isinstance(exc, RealmWasmerError) else HostError(raised[0], export, exc)
        self.poisoned_by = error
        if error is not exc:
            raise error from exc

    def guard(self, label: str, handler: Callable[..., Any], signature: FuncType) -> Callable[..., Any]:
        """``handler`` as linked for import ``label``: counted, its result checked
        against ``signature``, and its exceptions recorded."""
        counts = self.import_calls
        results = signature.results
        fused = getattr(handler, "guarded", None)
        if fused is not None:  # a handler generated as source: the guard inlined (guarded_source)
            one_frame: Callable[..., Any] = fused(self, label, counts)
            return one_frame
        check = result_checker(signature, label)

        # The two commonest result shapes are checked inline (one frame less per import call).
        if not results:

            def host_none(*args: Any) -> Any:
                self._last_import = label
                counts[label] += 1
                try:
                    value = handler(*args)
                except BaseException as exc:
                    self._host_exception = (label, exc)
                    raise
                return None if value is None else self._checked(label, check, value)

            return host_none
        if results == ("i32",):

            def host_i32(*args: Any) -> Any:
                self._last_import = label
                counts[label] += 1
                try:
                    value = handler(*args)
                except BaseException as exc:
                    self._host_exception = (label, exc)
                    raise
                if type(value) is int and -2147483648 <= value <= 4294967295:
                    return value
                return self._checked(label, check, value)

            return host_i32

        def host(*args: Any) -> Any:
            self._last_import = label
            counts[label] += 1
            try:
                return check(handler(*args))
            except BaseException as exc:
                self._host_exception = (label, exc)
                raise

        return host

    def _checked(self, label: str, check: Callable[[Any], Any], value: Any) -> Any:
        """``check(value)`` for a handler's result the inline test did not pass, recorded
        as the handler's own exception when refused (as in ``host``)."""
        try:
            return check(value)
        except BaseException as exc:
            self._host_exception = (label, exc)
            raise
