"""Loading a module, calling it, and constructing its classes.

``load(path_or_bytes, engine=..., imports=..., on_missing="trap") -> Instance``
compiles (or takes a compiled module), resolves every import through the
resolver chain, instantiates, and runs ``__wbindgen_start`` when the module
exports it. ``Instance.construct(class_name, *args)`` builds an object by the
constructor's pattern and returns an :class:`Object` handle that owns it.
"""

from __future__ import annotations

import difflib
import functools
import logging
import weakref
from pathlib import Path
from typing import Any, Callable, Optional, Union

import attrs

from . import engines
from .cache import ArtifactCache, default_cache
from .engines.base import HostFunction, Panic, Trap
from .errors import (
    EnginePanic,
    ExportNotFound,
    GuestTrap,
    HostError,
    JsError,
    PoisonedInstance,
    RealmWasmerError,
    UseAfterFree,
)
from .host.abi import Abi, decode_result_words
from .host.heap import JsHeap
from .host.intrinsics import IntrinsicResolver, JsErrorValue, ShimResolver, js_error
from .host.memory import GuestMemory
from .host.resolver import ImportRequest, Imports, MissingPolicy, Resolution, resolve_all, zeros
from .host.tables import TableManager
from .inspection import ClassInfo, Constructor, ModuleInfo, inspect, version_tuple
from .wasm import FuncType

log = logging.getLogger("realm_wasmer")

Source = Union[str, Path, bytes, bytearray, memoryview]


class CompiledModule:
    """A module compiled for one engine; instantiate it as often as needed."""

    def __init__(
        self,
        wasm: bytes,
        engine: str = engines.DEFAULT,
        glue: Optional[str] = None,
        cache: Optional[ArtifactCache] = None,
    ) -> None:
        self.wasm = wasm
        self.info: ModuleInfo = inspect(wasm, glue=glue)
        self.glue = glue
        self.engine_name = engine
        self.engine = engines.get(engine)
        #: The on-disk artifact cache (``$REALM_WASMER_CACHE`` or
        #: ~/.cache/realm_wasmer/artifacts; ``ArtifactCache.disabled()`` for none).
        self.cache = cache if cache is not None else default_cache()
        #: "hit", "miss", "recompiled-corrupt" or "disabled".
        self.cache_outcome: str
        self.native, self.cache_outcome = self.cache.load_or_compile(self.engine, wasm, self.info.module)

    def instantiate(
        self, imports: Optional[Imports] = None, on_missing: str = "trap", start: bool = True
    ) -> "Instance":
        return Instance(self, imports=imports, on_missing=on_missing, start=start)


def compile(
    source: Source,
    *,
    engine: str = engines.DEFAULT,
    glue: Optional[str] = None,
    cache: Optional[ArtifactCache] = None,
) -> CompiledModule:
    """Compile a module for ``engine`` (see ``realm_wasmer.engines.NAMES``),
    or load its compiled artifact from the on-disk cache."""
    data = bytes(source) if isinstance(source, (bytes, bytearray, memoryview)) else Path(source).read_bytes()
    return CompiledModule(data, engine, glue, cache)


def load(
    source: Union[Source, CompiledModule],
    *,
    engine: str = engines.DEFAULT,
    imports: Optional[Imports] = None,
    on_missing: str = "trap",
    glue: Optional[str] = None,
    start: bool = True,
    cache: Optional[ArtifactCache] = None,
) -> "Instance":
    """Compile (unless given a :class:`CompiledModule`) and instantiate.

    ``on_missing`` decides what happens to imports no resolver answers:
    ``"error"`` refuses to instantiate, ``"trap"`` (default) links a function
    that raises :class:`~realm_wasmer.errors.UnresolvedImport` when called,
    ``"stub"`` returns zeros (counted in ``stats()`` and logged).
    """
    compiled = (
        source if isinstance(source, CompiledModule) else compile(source, engine=engine, glue=glue, cache=cache)
    )
    return compiled.instantiate(imports=imports, on_missing=on_missing, start=start)


@attrs.define
class ExplainStep:
    what: str
    detail: dict[str, Any]

    def __str__(self) -> str:
        fields = ", ".join(f"{k}={_fmt(v)}" for k, v in self.detail.items())
        return f"{self.what}: {fields}" if fields else self.what


def _fmt(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value > 9:
        return f"{value:#x}"
    return repr(value)


class Instance:
    """One running instance of a module, with its JS heap, tables and ABI helpers."""

    def __init__(
        self,
        compiled: CompiledModule,
        imports: Optional[Imports] = None,
        on_missing: str = "trap",
        start: bool = True,
    ) -> None:
        self.compiled = compiled
        self.info = compiled.info
        self.engine_name = compiled.engine_name
        self.user_imports = imports if imports is not None else Imports()
        self.policy = MissingPolicy(on_missing)
        self.heap = JsHeap(self.info.features["heap_offset"] or 128)
        self.describe_words: list[int] = []
        self.console_messages: list[tuple[str, str]] = []
        self._last_import: Optional[str] = None
        self._host_exception: Optional[tuple[str, BaseException]] = None
        self._depth = 0
        #: Why the instance may be inconsistent: a trap, or a host exception that
        #: unwound through guest frames (Rust destructors and RefCell guards skipped).
        self._poisoned: Optional[RealmWasmerError] = None
        self._objects: "weakref.WeakSet[Object]" = weakref.WeakSet()
        self.calls = 0
        #: How often the guest called each import (``module.name``), e.g. to compare
        #: with a recorded trace of the JS glue.
        self.import_calls: dict[str, int] = {}
        #: Parameter count of every exported function: wasmer-python 1.1.0
        #: silently drops surplus arguments, so the host checks arity itself.
        self._arity = {name: len(sig.params) for name, sig in self.info.module.function_exports()}
        #: export name -> (engine callable, parameter count), filled on first call.
        self._callables: dict[str, tuple[Callable[..., Any], int]] = {}

        # Handlers are made before the engine instance exists; memory and tables
        # are bound to it right after instantiation.
        self.memory = GuestMemory()
        version = version_tuple(self.info.wasm_bindgen_version or self.info.schema_version)
        module = self.info.module
        self.tables = TableManager(
            self.info.features["exported_tables"],
            1024 if version is None or version >= (0, 2, 109) else 128,
            funcref_tables=[
                e.name for e in module.exports if e.kind == "table" and getattr(e.type, "element", "") == "funcref"
            ],
            exported_functions={name for name, _ in module.function_exports()},
        )
        self.tables.call_export = self.call
        self.abi = Abi(self)
        chain = [self.user_imports, IntrinsicResolver(), ShimResolver(), self.policy]
        requests = [
            ImportRequest(imp.module, imp.name, imp.type)
            for imp in self.info.module.imports
            if imp.kind == "func" and isinstance(imp.type, FuncType)
        ]
        self.resolutions: dict[tuple[str, str], tuple[ImportRequest, Resolution]] = resolve_all(
            requests, chain, self
        )
        host_functions = {
            key: HostFunction(
                request.signature,
                self._guard(f"{request.module}.{request.name}", self._catching(request, resolution)),
            )
            for key, (request, resolution) in self.resolutions.items()
        }
        self.engine_instance = compiled.engine.instantiate(compiled.native, host_functions)
        self.memory.bind(self.engine_instance)
        self.tables.bind(self.engine_instance)
        if self.info.module.export_signature("__externref_table_dealloc") is not None:
            self.tables.dealloc = functools.partial(self.call, "__externref_table_dealloc")
        start_export = self.info.roles.get("start")
        if start and start_export:
            self.call(start_export)

    # -- import plumbing ----------------------------------------------------
    def _guard(self, label: str, handler: Callable[..., Any]) -> Callable[..., Any]:
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

    def _catching(self, request: ImportRequest, resolution: Resolution) -> Callable[..., Any]:
        """Give a ``#[wasm_bindgen(catch)]`` import the glue's ``handleError``
        semantics: an exception from the handler is stored in the JS heap,
        handed to the guest's ``__wbindgen_exn_store``, and the import returns a
        typed zero; Rust then sees ``Err``. Which imports catch comes from the
        glue (``handleError(...)`` wrappers) or from ``Imports.register(catch=True)``."""
        handler = resolution.handler
        is_catch = resolution.catch if resolution.catch is not None else request.name in self.info.catch_imports
        if not is_catch:
            return handler
        zero = zeros(request.signature)
        label = f"{request.module}.{request.name}"

        def catching(*args: Any) -> Any:
            try:
                return handler(*args)
            except JsError as exc:
                value = exc.value if exc.value is not None else str(exc)
            except Exception as exc:  # a Python error stands in for a thrown JS Error
                value = JsErrorValue(str(exc), type(exc).__name__)
            exn_store = self.info.roles.get("exn_store")
            if not exn_store:
                raise RealmWasmerError(f"catch import {label} raised, but the module exports no exn_store")
            self.call(exn_store, self.heap.add(value))
            return zero

        return catching

    def call_result(self, export: str, *args: Any, payload_words: int = 1, slot: str = "auto") -> tuple[int, ...]:
        """Call an export returning ``Result<T, E>`` through an out-slot
        (``[payload..., err, is_err]``); return the payload words, or raise
        :class:`JsError` carrying the error value (taken from the JS heap)."""
        words = self.call_retptr(export, *args, words=payload_words + 2, slot=slot)
        if words[-1]:
            raise js_error(self.heap.take(words[-2]))
        return words[:payload_words]

    def import_table(self) -> list[dict[str, Any]]:
        """Each import with the resolver that answered it."""
        return [
            {
                "module": request.module,
                "name": request.name,
                "signature": str(request.signature),
                "kind": resolution.kind,
                "resolver": resolution.resolver,
                "description": resolution.description,
            }
            for request, resolution in self.resolutions.values()
        ]

    def module_info(self) -> ModuleInfo:
        """The module's :class:`ModuleInfo` with each import's resolver filled in."""
        return self.info.with_resolutions(
            {
                (r.module, r.name): (res.kind, res.resolver, res.description)
                for r, res in self.resolutions.values()
            }
        )

    # -- calls --------------------------------------------------------------
    def export_function(self, name: str) -> Callable[..., Any]:
        """The engine's raw callable for export ``name`` (no error translation)."""
        try:
            return self.engine_instance.function(name)
        except KeyError:
            names = [e.name for e in self.info.module.exports]
            close = difflib.get_close_matches(name, names, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ExportNotFound(f"the module has no export {name!r}{hint}") from None

    def call(self, export: str, *args: Any) -> Any:
        """Call an export with raw wasm values; traps become :class:`GuestTrap`."""
        if self._poisoned is not None:
            raise PoisonedInstance(
                f"this instance trapped earlier ({self._poisoned}); its memory may be inconsistent. "
                "Call reset() for a fresh instance."
            )
        entry = self._callables.get(export)
        if entry is None:
            if export not in self._arity and self.info.module.export(export) is not None:
                raise ExportNotFound(f"export {export!r} is not a function")
            entry = self._callables[export] = (self.export_function(export), self._arity[export])
        function, arity = entry
        if len(args) != arity:
            raise TypeError(
                f"export {export!r} takes {arity} wasm arguments "
                f"{self.info.module.export_signature(export)}, got {len(args)}"
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
            self._poisoned = trapped
            raise trapped from None
        except Panic as panic:
            panicked = EnginePanic(export, str(panic))
            self._poisoned = panicked
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
                self._poisoned = error
                if error is exc:
                    raise
                raise error from exc
            raise
        finally:
            self._depth -= 1

    def call_retptr(self, export: str, *args: Any, words: int = 4, slot: str = "auto") -> tuple[int, ...]:
        """Call an export whose first parameter is an out-slot; return the first
        ``words`` little-endian u32 words the callee wrote there."""
        with self.abi.out_slot(slot) as address:
            self.memory.fill(address, 4 * words, 0)
            self.call(export, address, *args)
            return self.memory.u32s(address, words)

    @property
    def poisoned(self) -> bool:
        return self._poisoned is not None

    def reset(self) -> "Instance":
        """A fresh instance of the same compiled module with the same imports."""
        return Instance(self.compiled, imports=self.user_imports, on_missing=self.policy.policy)

    # -- classes ------------------------------------------------------------
    def class_info(self, name: str) -> ClassInfo:
        return self.info.class_info(name)

    def construct(
        self,
        class_name: str,
        *args: Any,
        export: Optional[str] = None,
        explain: Union[bool, Callable[[str], None]] = False,
        slot: str = "auto",
    ) -> "Object":
        """Build an object of ``class_name`` by its constructor's pattern.

        ``args`` are raw wasm values after the out-pointer (Pattern 3) or the
        whole argument list (Patterns 1 and 2). ``export`` picks a constructor
        other than the primary one. With ``explain=True`` (or a callable taking
        one line) each step is printed: what was called with which words, the
        slot address, and what the callee wrote there.
        """
        info = self.class_info(class_name)
        ctor = _pick_constructor(info, export)
        say: Optional[Callable[[str], None]] = (print if explain is True else explain) or None
        steps: list[ExplainStep] = []

        def step(what: str, **detail: Any) -> None:
            entry = ExplainStep(what, detail)
            steps.append(entry)
            if say:
                say(str(entry))

        step("constructor", export=ctor.export, pattern=ctor.pattern, signature=str(ctor.signature))
        if ctor.pattern == 3 and not ctor.multi_value:
            with self.abi.out_slot(slot) as address:
                self.memory.fill(address, 12, 0)
                step("out-slot", address=address, strategy=slot, size=16)
                self.call(ctor.export, address, *args)
                words = self.memory.u32s(address, 3)
                written = self.memory.read(address, 12)
            ptr, err, is_err = decode_result_words(words)
            step("callee wrote", bytes=written.hex(" "), object_ptr=ptr, error=err, is_err=is_err)
        elif ctor.pattern == 3:
            words = self.call(ctor.export, *args)
            ptr, err, is_err = decode_result_words(tuple(words))
            step("returned", object_ptr=ptr, error=err, is_err=is_err)
        else:
            ptr, err, is_err = int(self.call(ctor.export, *args)) & 0xFFFFFFFF, 0, False
            step("returned", object_ptr=ptr)
        if is_err:
            value = self.heap.take(err)
            step("error", value=value)
            raise js_error(value)
        if ptr == 0:
            raise RealmWasmerError(f"constructor {ctor.export} returned a null object pointer")
        obj = Object(self, info, ptr, ctor)
        obj.explain = steps
        return obj

    def wrap(self, class_name: str, ptr: int) -> "Object":
        """Take ownership of an object pointer the guest returned (a static
        factory, a method returning a class by value): the handle frees it with
        the class's free export, as the glue's ``Class.__wrap(ptr)`` does."""
        info = self.class_info(class_name)
        ptr &= 0xFFFFFFFF
        if ptr == 0:
            raise RealmWasmerError(f"cannot wrap a null {info.name} pointer")
        ctor = Constructor(f"<returned {info.name}>", 1, False, FuncType((), ("i32",)))
        return Object(self, info, ptr, ctor)

    def stats(self) -> dict[str, Any]:
        """Live counts, for leak checks: JS heap values, open objects, externref slots."""
        return {
            "heap_live": self.heap.live_count(),
            "heap_peak": self.heap.peak,
            "borrowed": self.heap.borrowed_depth,
            "objects_live": sum(1 for o in self._objects if not o.closed),
            "externref_live": self.tables.externref_live_count(),
            "tables": self.tables.sizes(),
            "memory_bytes": self.memory.size,
            "calls": self.calls,
            "crossings": self.abi.crossings,
            "stub_calls": dict(self.policy.stub_calls),
            "poisoned": self.poisoned,
        }


def _pick_constructor(info: ClassInfo, export: Optional[str]) -> Constructor:
    if export is None:
        if info.constructor is None:
            raise RealmWasmerError(f"class {info.name!r} has no constructor export")
        return info.constructor
    for ctor in info.constructors:
        if ctor.export == export:
            return ctor
    known = ", ".join(c.export for c in info.constructors) or "none"
    raise RealmWasmerError(f"{export!r} is not a constructor of class {info.name!r} (constructors: {known})")


def _free_object(instance_ref: "weakref.ref[Instance]", free_export: str, ptr: int, arity: int) -> None:
    instance = instance_ref()
    if instance is None or instance.poisoned:
        return
    try:
        args = (ptr, 1) if arity == 2 else (ptr,)
        instance.call(free_export, *args)
    except Exception as exc:  # a finalizer must not raise
        log.warning("finalizer could not free object %#x with %s: %s", ptr, free_export, exc)


class Object:
    """A handle owning one guest object. ``close()`` (or leaving a ``with``
    block) frees it with the class's free export at its arity; a finalizer does
    the same (with ``allow_delayed=1``, as the JS FinalizationRegistry does) if
    the handle is dropped first. Use after close raises :class:`UseAfterFree`;
    a second ``close()`` does nothing, so a double free cannot happen."""

    def __init__(self, instance: Instance, info: ClassInfo, ptr: int, constructor: Constructor) -> None:
        self.instance = instance
        self.class_info = info
        self.constructor = constructor
        self._ptr = ptr
        self.closed = False
        self.explain: list[ExplainStep] = []
        if constructor.pattern == 2:
            free_export = _c_free_export(instance, constructor)
            arity = 1
        else:
            if info.free is None:
                raise RealmWasmerError(f"class {info.name!r} has no free export")
            free_export, arity = info.free, info.free_arity or 1
        self._free_export = free_export
        self._free_arity = arity
        self._finalizer = weakref.finalize(self, _free_object, weakref.ref(instance), free_export, ptr, arity)
        instance._objects.add(self)

    @property
    def ptr(self) -> int:
        if self.closed:
            raise UseAfterFree(f"{self.class_info.name} object at {self._ptr:#x} was already freed")
        return self._ptr

    def call(self, export: str, *args: Any) -> Any:
        """Call a method export with this object's pointer as its first argument (raw wasm values)."""
        return self.instance.call(export, self.ptr, *args)

    def release(self) -> int:
        """Give up ownership without freeing: the guest took the object by value
        (a method consuming ``self``, or an argument passed by value)."""
        ptr = self.ptr
        self._finalizer.detach()
        self.closed = True
        return ptr

    def close(self) -> None:
        """Free the object. On a poisoned instance nothing is called (its memory
        is discarded with it on ``reset()``)."""
        if self.closed:
            return
        self._finalizer.detach()
        self.closed = True
        if self.instance.poisoned:
            return
        args = (self._ptr, 0) if self._free_arity == 2 else (self._ptr,)
        self.instance.call(self._free_export, *args)

    def __enter__(self) -> "Object":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "freed" if self.closed else f"ptr={self._ptr:#x}"
        return f"<{self.class_info.name} {state} (pattern {self.constructor.pattern} via {self.constructor.export})>"


def _c_free_export(instance: Instance, constructor: Constructor) -> str:
    base = constructor.export.rsplit("_", 1)[0]
    name = f"{base}_free"
    if instance.info.module.export_signature(name) is None:
        raise RealmWasmerError(f"C-style constructor {constructor.export} has no matching {name} export")
    return name
