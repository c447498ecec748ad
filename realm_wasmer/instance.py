"""Loading a module, calling it, and constructing its classes.

``load(source, engine=..., imports=..., on_missing="trap") -> Instance`` runs the
load pipeline (:mod:`realm_wasmer.pipeline`: decode, transforms, inspect,
compile through the cache), links every import through the resolver chain,
instantiates, and runs ``__wbindgen_start`` when the module exports it.
``Instance.construct(class_name, *args)`` builds an object by the constructor's
pattern and returns an :class:`~realm_wasmer.objects.Object` handle that owns it.

The instance owns its :class:`~realm_wasmer.host.context.HostContext`; the
components inside it (memory, JS values, ABI, tables, calls) never hold the instance.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Union

import attrs
import numpy as np

from .cache import ArtifactCache
from .engines.base import Engine
from .errors import ConstructorError
from .host.abi import RESULT_WORDS, decode_result_words
from .host.context import ConsoleLog, ContextParts, HostContext
from .host.handles import HandleStore
from .host.heap import JsHeap
from .host.intrinsics import IntrinsicResolver, ShimResolver
from .host.linker import link
from .host.resolver import Imports, MissingPolicy, Resolver
from .inspection import ClassInfo, Constructor, ModuleInfo
from .js.values import js_error
from .objects import ExplainStep, HandleKind, LiveObjects, Object, free_export_of
from .pipeline import Prepared, TransformResolver, prepare
from .references import resolve_imports
from .spec import ImportsLike, LoadSpec, Source
from .stats import Stats
from .wasm import FuncType, WasmModule

__all__ = ["CompiledModule", "Instance", "InstanceSnapshot", "Object", "Source", "compile", "load"]


#: The fields of a :class:`LoadSpec` that apply at instantiation, not at compile time.
INSTANCE_OPTIONS = frozenset({"imports", "on_missing", "start"})


class CompiledModule:
    """A module compiled for one engine; instantiate it as often as needed."""

    def __init__(self, prepared: Prepared) -> None:
        self.prepared = prepared
        self.spec = prepared.spec
        self.wasm = prepared.wasm
        self.info: ModuleInfo = prepared.info
        self.glue = prepared.glue
        self.engine_name = prepared.spec.engine
        self.engine: Engine = prepared.engine
        self.native = prepared.native
        #: The on-disk artifact cache, and how it answered ("hit", "miss", "recompiled-corrupt", "disabled").
        self.cache: ArtifactCache = prepared.cache
        self.cache_outcome = prepared.cache_outcome

    def with_options(self, **options: Any) -> "CompiledModule":
        """The same compiled module under other instantiation options of its spec
        (``imports``, ``on_missing``, ``start``); nothing is compiled again."""
        other = sorted(set(options) - INSTANCE_OPTIONS)
        if other:
            raise TypeError(f"{', '.join(other)} cannot change without compiling again: use compile(spec) instead")
        return CompiledModule(attrs.evolve(self.prepared, spec=self.spec.evolve(**options)))

    def instantiate(
        self, imports: ImportsLike = None, on_missing: Optional[str] = None, start: Optional[bool] = None
    ) -> "Instance":
        """A new instance; ``imports``, ``on_missing`` and ``start`` default to the spec's."""
        spec = self.spec
        chosen = LoadSpec.of(spec, imports=imports) if imports is not None else spec
        return Instance(
            self,
            imports=resolve_imports(chosen),
            on_missing=on_missing if on_missing is not None else spec.on_missing,
            start=start if start is not None else spec.start,
        )


def compile(source: Union[Source, LoadSpec], **options: Any) -> CompiledModule:
    """Compile a module for its engine (``engine=``, one of ``realm_wasmer.engines.NAMES``),
    or load its compiled artifact from the on-disk cache. ``source`` is a path, the
    bytes, or a :class:`~realm_wasmer.spec.LoadSpec`; keywords are the spec's fields."""
    return CompiledModule(prepare(LoadSpec.of(source, **options)))


def load(source: Union[Source, LoadSpec, CompiledModule], **options: Any) -> "Instance":
    """Compile (unless given a :class:`CompiledModule`) and instantiate.

    Keywords are the fields of :class:`~realm_wasmer.spec.LoadSpec`: ``engine``,
    ``imports``, ``on_missing``, ``glue``, ``start``, ``cache``, ``transforms``.
    ``on_missing`` decides what happens to imports no resolver answers:
    ``"error"`` refuses to instantiate, ``"trap"`` (default) links a function
    that raises :class:`~realm_wasmer.errors.UnresolvedImport` when called,
    ``"stub"`` returns zeros (counted in ``stats()`` and logged).
    """
    if isinstance(source, CompiledModule):
        return source.with_options(**options).instantiate() if options else source.instantiate()
    return compile(source, **options).instantiate()


@attrs.frozen
class InstanceSnapshot:
    """An instance's state: all of linear memory, the exported mutable globals,
    the JS values and the host's counters. Restorable while memory has not grown."""

    memory: np.ndarray[Any, np.dtype[np.uint8]] = attrs.field(repr=False, eq=False)
    globals: dict[str, Any]
    values: Any = attrs.field(repr=False, eq=False)
    console: int
    describe: int
    import_calls: dict[str, int]
    stub_calls: dict[str, int]
    calls: int
    crossings: int
    slots: tuple[int, ...]


class Instance(ContextParts):
    """One running instance of a module, with its host context."""

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
        self._objects = LiveObjects()
        #: The HandleKind of each prebuilt constructor's handles, by constructor export.
        self._kinds: dict[str, HandleKind] = {}
        # Handlers are made before the engine instance exists; the context is bound to it right after.
        prepared = compiled.prepared
        self.context = ctx = HostContext.create(self.info, prepared.runnable, prepared.value_store)
        #: Call an export with raw wasm values; traps become :class:`~realm_wasmer.errors.GuestTrap`.
        self.call: Callable[..., Any] = ctx.calls.call
        limits = compiled.spec.limits
        if limits is not None:
            ctx.calls.budget.limit = limits.max_host_bytes
        chain: list[Resolver] = [
            self.user_imports,
            TransformResolver(prepared.transforms),
            IntrinsicResolver(),
            *compiled.spec.resolvers,
            ShimResolver(),
            self.policy,
        ]
        self.resolutions, host_functions = link(ctx, chain)
        # A start section or an out-of-bounds data segment runs (or traps) here: same translation as a call.
        self.engine_instance = ctx.calls.invoke(
            "<instantiation>", compiled.engine.instantiate, compiled.native, host_functions
        )
        ctx.bind(self.engine_instance)
        self._mutable_globals = _mutable_exported_globals(ctx.module)
        #: Whether every mutable global is exported (a snapshot then holds all of the guest's state).
        self._all_globals_exported = _all_mutable_globals_exported(ctx.module)
        start_export = self.info.roles.get("start")
        if start and start_export:
            self.call(start_export)

    # -- the parts of the host context (memory, values, heap, abi, tables: ContextParts) --
    @property
    def describe_words(self) -> list[int]:
        return self.context.describe_words

    @property
    def console_messages(self) -> ConsoleLog:
        """The guest's console messages ``(method, text)``; the last ``CONSOLE_LIMIT`` are kept."""
        return self.context.console

    @property
    def import_calls(self) -> dict[str, int]:
        """How often the guest called each import (``module.name``), e.g. to compare
        with a recorded trace of the JS glue."""
        return self.context.calls.import_calls

    @property
    def calls(self) -> int:
        """Export calls made so far."""
        return self.context.calls.calls

    @property
    def last_import(self) -> Optional[str]:
        """The last import the guest called during the current (or last) export call."""
        return self.context.calls.last_import

    @property
    def poisoned(self) -> bool:
        return self.context.calls.poisoned_by is not None

    # -- imports --------------------------------------------------------------
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
        return self.context.calls.export_function(name)

    def call_retptr(self, export: str, *args: Any, words: int = 4, slot: str = "auto") -> tuple[int, ...]:
        """Call an export whose first parameter is an out-slot; return the first
        ``words`` little-endian u32 words the callee wrote there."""
        with self.abi.out_slot(slot) as address:
            self.memory.fill(address, 4 * words, 0)
            self.call(export, address, *args)
            return self.memory.u32s(address, words)

    def call_result(self, export: str, *args: Any, payload_words: int = 1, slot: str = "auto") -> tuple[int, ...]:
        """Call an export returning ``Result<T, E>`` through an out-slot
        (``[payload..., err, is_err]``); return the payload words, or raise
        :class:`JsError` carrying the error value (taken from the JS values)."""
        words = self.call_retptr(export, *args, words=payload_words + 2, slot=slot)
        if words[-1]:
            raise js_error(self.values.take(words[-2]))
        return words[:payload_words]

    def reset(self) -> "Instance":
        """A fresh instance of the same compiled module with the same imports."""
        return Instance(self.compiled, imports=self.user_imports, on_missing=self.policy.policy)

    # -- state ----------------------------------------------------------------
    def snapshot(self) -> InstanceSnapshot:
        """The instance's state now (see :class:`InstanceSnapshot`)."""
        ctx, engine = self.context, self.engine_instance
        return InstanceSnapshot(
            memory=self.memory.view().copy(),
            globals={name: engine.global_get(name) for name in self._mutable_globals},
            values=ctx.values.snapshot(),
            console=ctx.console.total,
            describe=len(ctx.describe_words),
            import_calls=dict(ctx.calls.import_calls),
            stub_calls=dict(self.policy.stub_calls),
            calls=ctx.calls.calls,
            crossings=ctx.abi.crossings,
            slots=ctx.abi.slots(),
        )

    def restorable(self, snapshot: InstanceSnapshot) -> bool:
        """Whether :meth:`restore` can bring the instance back to ``snapshot``: not
        after memory grew (``memory.grow`` cannot be undone), not mid-borrow, and not
        after a trap (or a limit) poisoned the instance unless every mutable global is
        exported (a trap may leave an unexported ``__stack_pointer`` moved; an exported
        one is in the snapshot and put back)."""
        values = self.values
        borrowed = values.borrowed_depth if isinstance(values, JsHeap) else 0
        if self.poisoned and not self._all_globals_exported:
            return False
        return self.memory.size == snapshot.memory.shape[0] and borrowed == 0

    def restore(self, snapshot: InstanceSnapshot, memory: bool = True) -> None:
        """Put back the state of ``snapshot`` (check :meth:`restorable` first); a
        poisoned instance is usable again afterwards. ``memory=False`` leaves linear
        memory to the caller (the probe puts back only the pages a trial can have changed)."""
        ctx, engine = self.context, self.engine_instance
        if memory:
            self.memory.view()[:] = snapshot.memory
        for name, value in snapshot.globals.items():
            engine.global_set(name, value)
        ctx.values.restore(snapshot.values)
        ctx.abi.restore_slots(snapshot.slots)
        ctx.console.truncate(snapshot.console)
        del ctx.describe_words[snapshot.describe :]
        ctx.calls.import_calls.clear()
        ctx.calls.import_calls.update(snapshot.import_calls)
        self.policy.stub_calls.clear()
        self.policy.stub_calls.update(snapshot.stub_calls)
        ctx.calls.calls = snapshot.calls
        ctx.abi.crossings = snapshot.crossings
        ctx.calls.poisoned_by = None

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
    ) -> Object:
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
            value = self.values.take(err)
            step("error", value=value)
            raise js_error(value)
        if ptr == 0:
            raise ConstructorError(f"constructor {ctor.export} returned a null object pointer")
        obj = Object(self.context.calls, info, ptr, ctor, self._objects)
        obj.explain = steps
        return obj

    def constructor(self, class_name: str, export: Optional[str] = None) -> Callable[..., Object]:
        """A prebuilt constructor of ``class_name`` (its primary one, or ``export``):
        what :meth:`construct` does without the explanation, for hot paths. Pattern 3
        uses the reusable out-slot: on engines with guarded regions (wasmer) the whole
        call is one generated function (``bindings/construct.py``, the code the bound
        classes' ``__init__`` inline; the first one imports the bindings)."""
        ctor, kind, failed = self.constructor_parts(class_name, export)
        calls, from_kind, name = self.context.calls, Object.from_kind, ctor.export

        def made(ptr: int, err: int, is_err: int) -> Object:
            if is_err or not ptr:
                failed(ptr, err, is_err)
            return from_kind(kind, ptr & 0xFFFFFFFF)

        retptr = ctor.pattern == 3 and not ctor.multi_value
        if retptr and self.info.roles.get("malloc"):
            if calls.raw(name) is not None:
                from .bindings.construct import compile_constructor

                arity = len(ctor.signature.params) - 1
                generated = compile_constructor(self.abi, self.memory, name, arity, kind, failed)
                if generated is not None:
                    return generated
            # The reusable out-slot, the export's bound caller, the three words cleared
            # and read on one memoryview (memory keeps its base when it grows).
            abi, trusted, guest = self.abi, self.memory.trusted, calls.caller(name)
            acquire, release = abi.acquire_slot, abi.release_slot
            pack_into, unpack_from = RESULT_WORDS.pack_into, RESULT_WORDS.unpack_from

            def construct_retptr(*args: Any) -> Object:
                slot = acquire()
                try:
                    view = trusted(slot, 12)
                    pack_into(view, slot, 0, 0, 0)
                    guest(slot, *args)
                    ptr, err, is_err = unpack_from(view, slot)
                finally:
                    release()
                return made(ptr, err, is_err)

            return construct_retptr
        call = calls.call
        if retptr and ctor.multi_value:
            return lambda *args: made(*call(name, *args)[:3])
        if retptr:  # no malloc: the stack slot of construct()
            return lambda *args: self.construct(class_name, *args, export=name)
        return lambda *args: made(int(call(name, *args)) & 0xFFFFFFFF, 0, 0)

    def constructor_parts(
        self, class_name: str, export: Optional[str] = None
    ) -> tuple[Constructor, HandleKind, Callable[[int, int, int], None]]:
        """What every prebuilt constructor of ``class_name`` (its primary one, or
        ``export``) shares: the constructor, the :class:`HandleKind` of its handles
        (made once per constructor), and the check of the words it returned
        ``(ptr, err, is_err)`` that raises (the error value as :class:`JsError`, or a
        null pointer as :class:`ConstructorError`)."""
        info = self.class_info(class_name)
        ctor = _pick_constructor(info, export)
        kind = self._kinds.get(ctor.export)
        if kind is None:
            calls = self.context.calls
            free = free_export_of(info, ctor, calls.has)  # once, not per object
            free_call = calls.caller(free[0]) if calls.has(free[0]) else None
            kind = self._kinds[ctor.export] = HandleKind(calls, info, ctor, free[0], free[1], free_call, self._objects)
        values, name = self.values, ctor.export

        def failed(ptr: int, err: int, is_err: int) -> None:
            if is_err:
                raise js_error(values.take(err & 0xFFFFFFFF))
            raise ConstructorError(f"constructor {name} returned a null object pointer")

        return ctor, kind, failed

    def wrap(self, class_name: str, ptr: int) -> Object:
        """Take ownership of an object pointer the guest returned (a static
        factory, a method returning a class by value): the handle frees it with
        the class's free export, as the glue's ``Class.__wrap(ptr)`` does."""
        info = self.class_info(class_name)
        ptr &= 0xFFFFFFFF
        if ptr == 0:
            raise ConstructorError(f"cannot wrap a null {info.name} pointer")
        ctor = Constructor(f"<returned {info.name}>", 1, False, FuncType((), ("i32",)))
        return Object(self.context.calls, info, ptr, ctor, self._objects)

    def stats(self) -> Stats:
        """Live counts, for leak checks: JS values, open objects, externref slots and handles."""
        ctx = self.context
        values = ctx.values
        heap = values if isinstance(values, JsHeap) else None
        externref_live = ctx.tables.externref_live_count() + (values.live_count() if heap is None else 0)
        return Stats(
            heap_live=heap.live_count() if heap is not None else 0,
            heap_peak=heap.peak if heap is not None else 0,
            borrowed=heap.borrowed_depth if heap is not None else 0,
            objects_live=self._objects.count,
            externref_live=externref_live,
            handles_live=values.handle_count() if isinstance(values, HandleStore) else 0,
            tables=ctx.tables.sizes(),
            memory_bytes=ctx.memory.size,
            calls=ctx.calls.calls,
            crossings=ctx.abi.crossings,
            stub_calls=dict(self.policy.stub_calls),
            poisoned=self.poisoned,
        )


def _mutable_exported_globals(module: WasmModule) -> list[str]:
    return [e.name for e in module.exports if e.kind == "global" and getattr(e.type, "mutable", False)]


def _all_mutable_globals_exported(module: WasmModule) -> bool:
    """True when every mutable global (in index space: imported ones first) is exported."""
    exported = {e.index for e in module.exports if e.kind == "global"}
    return all(index in exported for index, g in enumerate(module.globals) if g.type.mutable)


def _pick_constructor(info: ClassInfo, export: Optional[str]) -> Constructor:
    if export is None:
        if info.constructor is None:
            raise ConstructorError(f"class {info.name!r} has no constructor export")
        return info.constructor
    for ctor in info.constructors:
        if ctor.export == export:
            return ctor
    known = ", ".join(c.export for c in info.constructors) or "none"
    raise ConstructorError(f"{export!r} is not a constructor of class {info.name!r} (constructors: {known})")
