"""wasmer-python 1.1.0 with the cranelift, singlepass or LLVM compiler.

wasmer 1.1.0 ships native wheels for CPython 3.7-3.10 only; on 3.11+ pip
installs a pure-Python stub whose import raises ImportError. The engine then
reports itself unavailable with that reason instead of failing at import.
"""

from __future__ import annotations

import functools
import importlib
import sys
import threading
from typing import Any, Callable, Optional

import numpy as np

from ..errors import EngineRefused, ForeignThread
from .base import Availability, Panic, Trap, U8Array, canonical_trap_message
from .native import CachedFunctions, Imports, NativeEngine

COMPILERS = {
    "cranelift": "wasmer_compiler_cranelift",
    "singlepass": "wasmer_compiler_singlepass",
    "llvm": "wasmer_compiler_llvm",
}


_get_ident = threading.get_ident


def _python() -> str:
    return "CPython {}.{}.{}".format(*sys.version_info[:3])


@functools.cache
def _wasmer_module() -> tuple[Any, str]:
    """Import wasmer; returns (module, error reason or "")."""
    try:
        import wasmer  # type: ignore[import-untyped, unused-ignore]

        getattr(wasmer, "Store")  # noqa: B009 (the 3.11+ stub has no Store)
    except (ImportError, AttributeError) as exc:
        if sys.version_info >= (3, 11):
            reason = (
                f"wasmer 1.1.0 has native wheels only up to CPython 3.10 and this is {_python()}, "
                f"where pip installs a stub that cannot be imported ({type(exc).__name__}: {exc}); "
                "use Python 3.10 (the repository's .python-version) or engine='wasmtime'"
            )
        else:
            reason = f"the wasmer package cannot be imported ({type(exc).__name__}: {exc}); pip install wasmer==1.1.0"
        return None, reason
    return wasmer, ""


def _is_panic(exc: BaseException) -> bool:
    return type(exc).__name__ == "PanicException"


def translate_error(exc: BaseException) -> Optional[BaseException]:
    """The :class:`Trap` or :class:`Panic` that ``exc``, raised by a wasmer export call,
    stands for; None when ``exc`` is to propagate as itself."""
    if isinstance(exc, RuntimeError):
        text = str(exc)
        # wasmer reports traps as RuntimeError("RuntimeError: <trap>\n    at ...").
        return Trap(canonical_trap_message(text), text) if text.startswith("RuntimeError:") else None
    return Panic(str(exc)) if _is_panic(exc) else None


class WasmerInstance(CachedFunctions):
    thread_affine = True
    #: What an error out of a :meth:`raw_export` callable stands for.
    translate_error = staticmethod(translate_error)

    def __init__(self, instance: Any) -> None:
        self._instance = instance
        self._thread = threading.get_ident()
        self._thread_name = threading.current_thread().name
        self._exports = instance.exports
        self._functions: dict[str, Callable[..., Any]] = {}
        self._globals: dict[str, Any] = {}
        self._memory = self._lookup("memory")
        self._view: U8Array = np.empty(0, dtype=np.uint8)
        self._view_size = -1

    def _lookup(self, name: str) -> Any:
        try:
            return getattr(self._exports, name)
        except LookupError:
            return None

    def _wrap(self, name: str) -> Callable[..., Any]:
        raw = self.raw_export(name)

        def call(*args: Any) -> Any:
            try:
                result = raw(*args)
            except BaseException as exc:
                translated = translate_error(exc)
                if translated is None:
                    raise
                raise translated from None
            if isinstance(result, list):
                return tuple(result)
            return result

        return call

    def raw_export(self, name: str) -> Callable[..., Any]:
        """wasmer's own callable for export ``name`` (KeyError when there is none): no
        error translation (:func:`translate_error`), a list for several results. For
        hot paths that translate errors themselves (``GuestCalls.caller``)."""
        raw = self._lookup(name)
        if raw is None:
            raise KeyError(name)
        return raw  # type: ignore[no-any-return]

    def memory_view(self) -> U8Array:
        if _get_ident() != self._thread:
            raise ForeignThread("wasmer", self._thread_name, threading.current_thread().name)
        size = self._memory.data_size
        if size != self._view_size:
            self._view = np.frombuffer(self._memory.buffer, dtype=np.uint8)
            self._view_size = size
        return self._view

    def memory_size(self) -> int:
        return int(self._memory.data_size)

    def global_get(self, name: str) -> Any:
        glob = self._globals.get(name)
        return (glob if glob is not None else self._exports_global(name)).value

    def global_set(self, name: str, value: Any) -> None:
        glob = self._globals.get(name)
        (glob if glob is not None else self._exports_global(name)).value = value

    def _exports_global(self, name: str) -> Any:
        """wasmer's Global object for export ``name``, looked up once: ``exports.<name>`` makes
        a new Python object on every access (0.4 us), and an instance's exports never change."""
        glob = self._lookup(name)
        if glob is None:
            raise KeyError(name)
        self._globals[name] = glob
        return glob

    def table_size(self, name: str) -> int:
        table = self._lookup(name)
        if table is None:
            raise KeyError(name)
        return int(table.size)


_LIMITATIONS = {
    # Met by the externref_lowering transform (refused only with transforms='none').
    "externref_crossing": "the module passes externref across the host boundary ({detail}), which wasmer-python "
    "1.1.0 cannot do (it panics: 'not implemented') and its tables cannot be set from Python; load it with "
    "transforms='auto' (externref lowered to i32 handles) or use engine='wasmtime'",
    "reference_types": "wasmer-python 1.1.0 cannot reach externref values or tables from Python ({detail}); "
    "load it with transforms='auto' (externref lowered to i32 handles) or use engine='wasmtime'",
    # Met by no transform: refused before compiling.
    "funcref_crossing": "the module passes a funcref across the host boundary ({detail}), which wasmer-python "
    "1.1.0 cannot do (it panics: 'not implemented'); use engine='wasmtime'",
    "exceptions": "wasmer 1.1.0 cannot run wasm exception handling ({detail}); use engine='wasmtime'",
    "threads": "wasmer-python 1.1.0 runs no shared memories or atomics ({detail}); no engine of realm_wasmer "
    "runs them (wasmtime-py is configured without shared memory)",
    # Met by load transforms (never refused: module_needs does not report them).
    "table_access": "wasmer-python 1.1.0's Table has only size and type: the host cannot call a funcref table "
    "entry ({detail}) without the funcref_trampolines transform",
    "stack_pointer_access": "the module keeps its shadow stack pointer to itself ({detail}): the "
    "stack_pointer_export transform exports it so snapshots can restore it",
    "metering": "wasmer 1.1.0 cannot stop a guest from Python ({detail}): the metering transform adds a fuel counter",
    "grow_limits": "wasmer-python 1.1.0 has no store limits ({detail}): the grow_guard transform asks the host "
    "before every memory.grow/table.grow",
}
_SINGLEPASS_LIMITATIONS = {
    "simd": "wasmer 1.1.0's singlepass compiler has no SIMD and may abort the process on it ({detail}); "
    "use wasmer-cranelift, wasmer-llvm or wasmtime",
    "multi_value": "wasmer 1.1.0's singlepass compiler cannot load multi-value modules, and this module has "
    "functions returning several values: {detail}; use wasmer-cranelift or wasmtime",
    "reference_types": "wasmer 1.1.0's singlepass compiler panics on externref-typed functions ({detail}); "
    "load it with transforms='auto' (externref lowered to i32 handles) or use wasmer-cranelift or wasmtime",
}


class WasmerEngine(NativeEngine):
    """wasmer 1.1.0 with one compiler: ``wasmer-cranelift``, ``wasmer-singlepass``
    or ``wasmer-llvm``."""

    def __init__(self, compiler: str) -> None:
        if compiler not in COMPILERS:
            raise ValueError(f"unknown wasmer compiler {compiler!r}; one of {sorted(COMPILERS)}")
        self.compiler = compiler
        self.name = f"wasmer-{compiler}"
        self.limitations = {**_LIMITATIONS, **(_SINGLEPASS_LIMITATIONS if compiler == "singlepass" else {})}

    @functools.cache
    def availability(self) -> Availability:
        wasmer, reason = _wasmer_module()
        if wasmer is None:
            return Availability(self.name, False, reason)
        module_name = COMPILERS[self.compiler]
        if self.compiler == "llvm":
            from . import llvm_loader

            ok, reason = llvm_loader.probe()
            if not ok:
                return Availability(self.name, False, reason)
        else:
            try:
                importlib.import_module(module_name)
            except ImportError as exc:
                extra = "" if self.compiler == "cranelift" else f" (pip install 'realm-wasmer[{self.compiler}]')"
                return Availability(self.name, False, f"{module_name} cannot be imported: {exc}{extra}")
        dist = module_name.replace("_", "-")
        version = f"wasmer {_package_version('wasmer')}, {module_name} {_package_version(dist)}"
        return Availability(self.name, True, version=version)

    def _package(self) -> tuple[Any, str]:
        return _wasmer_module()

    def _setup(self, wasmer: Any) -> Any:
        if self.compiler == "llvm":
            from . import llvm_loader

            compiler_module = llvm_loader.load()
        else:
            compiler_module = importlib.import_module(COMPILERS[self.compiler])
        return wasmer.Store(wasmer.engine.Universal(compiler_module.Compiler))

    def _refusal(self, wasmer: Any, exc: BaseException) -> Optional[str]:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            return None
        return f"{type(exc).__name__}: {exc}"

    def instantiate(self, compiled: Any, imports: Imports) -> WasmerInstance:
        store = self._require()
        wasmer, _ = _wasmer_module()
        by_namespace: dict[str, dict[str, Any]] = {}
        for (namespace, name), host in imports.items():
            ftype = wasmer.FunctionType(
                [_WASMER_TYPES[t] for t in host.signature.params],
                [_WASMER_TYPES[t] for t in host.signature.results],
            )
            by_namespace.setdefault(namespace, {})[name] = wasmer.Function(store, host.func, ftype)
        import_object = wasmer.ImportObject()
        for namespace, functions in by_namespace.items():
            import_object.register(namespace, functions)
        try:
            instance = wasmer.Instance(compiled, import_object)
        except RuntimeError as exc:
            text = str(exc)
            if text.startswith("RuntimeError:"):
                raise Trap(canonical_trap_message(text), text) from None
            raise EngineRefused(self.name, f"instantiation failed: {text}") from None
        return WasmerInstance(instance)


class _WasmerTypes:
    def __getitem__(self, name: str) -> Any:
        wasmer, _ = _wasmer_module()
        try:
            return {
                "i32": wasmer.Type.I32,
                "i64": wasmer.Type.I64,
                "f32": wasmer.Type.F32,
                "f64": wasmer.Type.F64,
                "externref": wasmer.Type.EXTERN_REF,
                "funcref": wasmer.Type.FUNC_REF,
            }[name]
        except KeyError:
            raise EngineRefused("wasmer", f"value type {name} is not supported by wasmer-python 1.1.0") from None


_WASMER_TYPES = _WasmerTypes()


def _package_version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"
