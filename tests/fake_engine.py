"""A wasm engine that is not one: linear memory in a bytearray, exports in Python.

The host side (``realm_wasmer.host``) talks to an instance only through
:class:`~realm_wasmer.engines.base.EngineInstance`, so these tests run it on
:class:`FakeEngineInstance` instead of wasmer or wasmtime: the runtime exports a
wasm-bindgen module has (a bump ``__wbindgen_malloc``, a recording
``__wbindgen_free``, ``__wbindgen_exn_store``, ``__wbindgen_add_to_stack_pointer``,
the externref table allocator) are Python functions, and any test export can be
added. :meth:`FakeEngineInstance.call_import` calls a linked import the way the
guest would. Nothing here imports a wasm engine.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

import numpy as np

from realm_wasmer.engines.base import EngineInstance, HostFunction, Panic, Trap, U8Array
from realm_wasmer.host.context import HostContext
from realm_wasmer.host.linker import Resolved, link
from realm_wasmer.inspection import ModuleInfo, inspect
from realm_wasmer.wasm import Export, FuncType, Global, GlobalType, Import, Limits, TableType, WasmModule

PAGE = 65536
#: The shadow stack grows down from here; the bump allocator grows up from here.
STACK_TOP = PAGE
HEAP_BASE = PAGE
I32 = "i32"


def _signed32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


class FakeTable:
    """A table with wasmtime's ``Table`` API (the store argument is ignored)."""

    def __init__(self, element: str, size: int) -> None:
        self.element = element
        self.entries: list[Any] = [None] * size

    def size(self, store: Any) -> int:
        return len(self.entries)

    def grow(self, store: Any, delta: int, init: Any) -> int:
        old = len(self.entries)
        self.entries.extend([init] * delta)
        return old

    def get(self, store: Any, index: int) -> Any:
        return self.entries[index]

    def set(self, store: Any, index: int, value: Any) -> None:
        self.entries[index] = value


class FakeEngineInstance(EngineInstance):
    """One "instance": memory, globals, tables, and Python exports by name.

    Export calls are recorded in :attr:`export_calls`; the runtime exports record
    their arguments in :attr:`mallocs`, :attr:`frees`, :attr:`reallocs` and
    :attr:`exn_stored`. i32 results are returned signed, as real engines do.
    """

    def __init__(self, module: Optional[WasmModule] = None, *, pages: int = 2, value_offset: int = 128) -> None:
        self._memory = bytearray(pages * PAGE)
        self._view: U8Array = np.frombuffer(self._memory, dtype=np.uint8)
        self._exports: dict[str, Callable[..., Any]] = {}
        self._signatures: dict[str, FuncType] = dict(module.function_exports()) if module is not None else {}
        self.globals: dict[str, Any] = {"__stack_pointer": STACK_TOP}
        self.tables: dict[str, FakeTable] = {}
        self.imports: dict[tuple[str, str], HostFunction] = {}
        self.value_offset = value_offset
        self.bump = HEAP_BASE
        self.mallocs: list[tuple[int, ...]] = []
        self.frees: list[tuple[int, ...]] = []
        self.reallocs: list[tuple[int, ...]] = []
        self.exn_stored: list[int] = []
        self.export_calls: list[tuple[str, tuple[Any, ...]]] = []
        self._externref_free: list[int] = []
        if module is not None:
            for export in module.exports:
                if export.kind == "table" and isinstance(export.type, TableType):
                    self.tables[export.name] = FakeTable(export.type.element, export.type.limits.minimum)
                elif export.kind == "global" and isinstance(export.type, GlobalType):
                    self.globals[export.name] = module.globals[export.index].init
        runtime: dict[str, Callable[..., Any]] = {
            "__wbindgen_malloc": self._malloc,
            "__wbindgen_free": self._free,
            "__wbindgen_realloc": self._realloc,
            "__wbindgen_exn_store": self.exn_stored.append,
            "__wbindgen_add_to_stack_pointer": self._add_to_stack_pointer,
            "__externref_table_alloc": self._externref_alloc,
            "__externref_table_dealloc": self._externref_dealloc,
        }
        for name, impl in runtime.items():
            self.export(name, impl)

    # -- exports ---------------------------------------------------------------
    def export(self, name: str, impl: Callable[..., Any]) -> None:
        """Register (or replace) the Python implementation of export ``name``."""
        self._exports[name] = impl

    def trap(self, name: str, message: str = "unreachable") -> None:
        """Make export ``name`` trap as an engine adapter reports it."""

        def trapping(*args: Any) -> Any:
            raise Trap(message, "raw")

        self.export(name, trapping)

    def panic(self, name: str, message: str = "engine panicked") -> None:
        """Make export ``name`` raise an engine panic."""

        def panicking(*args: Any) -> Any:
            raise Panic(message)

        self.export(name, panicking)

    def function(self, name: str) -> Callable[..., Any]:
        if name not in self._exports:
            raise KeyError(name)
        signature = self._signatures.get(name)
        signed = signature is not None and signature.results == (I32,)

        def call(*args: Any) -> Any:
            self.export_calls.append((name, args))
            result = self._exports[name](*args)
            return _signed32(int(result)) if signed else result

        return call

    # -- imports, called as the guest calls them --------------------------------
    def link(self, functions: Mapping[tuple[str, str], HostFunction]) -> None:
        self.imports.update(functions)

    def call_import(self, module: str, name: str, *args: Any) -> Any:
        """Call the linked handler of import ``module.name`` with raw wasm values."""
        host = self.imports[(module, name)]
        if len(args) != len(host.signature.params):
            raise TypeError(f"import {module}.{name} {host.signature} called with {len(args)} arguments")
        return host.func(*args)

    # -- memory ----------------------------------------------------------------
    def memory_view(self) -> U8Array:
        return self._view

    def memory_size(self) -> int:
        return len(self._memory)

    def grow(self, pages: int) -> int:
        """``memory.grow``: a new buffer (and view), the old pages copied; returns the old page count."""
        old = len(self._memory) // PAGE
        self._memory = self._memory + bytearray(pages * PAGE)
        self._view = np.frombuffer(self._memory, dtype=np.uint8)
        return old

    # -- globals and tables ------------------------------------------------------
    def global_get(self, name: str) -> Any:
        return self.globals[name]

    def global_set(self, name: str, value: Any) -> None:
        if name not in self.globals:
            raise KeyError(name)
        self.globals[name] = value

    def table_size(self, name: str) -> int:
        return self.tables[name].size(None)

    def table(self, name: str) -> Optional[FakeTable]:
        return self.tables.get(name)

    @property
    def store(self) -> object:
        return self

    # -- the runtime exports -----------------------------------------------------
    def _malloc(self, size: int, *align_arg: int) -> int:
        """``malloc(size)`` (arity 1) or ``malloc(size, align)``: bump allocation, growing memory."""
        self.mallocs.append((size, *align_arg))
        align = align_arg[0] if align_arg else 1
        ptr = -(-self.bump // align) * align
        self.bump = ptr + size
        while self.bump > len(self._memory):
            self.grow(1)
        return ptr

    def _free(self, *args: int) -> None:
        self.frees.append(tuple(args))

    def _realloc(self, ptr: int, old: int, new: int, *align_arg: int) -> int:
        self.reallocs.append((ptr, old, new, *align_arg))
        fresh = self._malloc(new, *align_arg)
        self._memory[fresh : fresh + min(old, new)] = self._memory[ptr : ptr + min(old, new)]
        return fresh

    def _add_to_stack_pointer(self, delta: int) -> int:
        self.globals["__stack_pointer"] = int(self.globals["__stack_pointer"]) + _signed32(delta)
        return int(self.globals["__stack_pointer"])

    def _externref_table(self) -> FakeTable:
        tables = [t for t in self.tables.values() if t.element == "externref"]
        if not tables:
            raise KeyError("no externref table")
        return tables[0]

    def _externref_alloc(self) -> int:
        if self._externref_free:
            return self._externref_free.pop()
        table = self._externref_table()
        index = max(table.size(None), self.value_offset + 4)
        table.grow(None, index + 1 - table.size(None), None)
        return index

    def _externref_dealloc(self, index: int) -> None:
        self._externref_table().set(None, index, None)
        self._externref_free.append(index)


# -- modules -----------------------------------------------------------------------


def _uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _name(text: str) -> bytes:
    raw = text.encode()
    return _uleb(len(raw)) + raw


def producers_section(wasm_bindgen_version: str) -> bytes:
    """A ``producers`` custom section saying ``processed-by wasm-bindgen <version>``."""
    return _uleb(1) + _name("processed-by") + _uleb(1) + _name("wasm-bindgen") + _name(wasm_bindgen_version)


RUNTIME_EXPORTS = (
    "__wbindgen_malloc",
    "__wbindgen_realloc",
    "__wbindgen_free",
    "__wbindgen_exn_store",
    "__wbindgen_add_to_stack_pointer",
)


def fake_module(
    *,
    store: str = "heap",
    imports: Iterable[tuple[str, str, FuncType]] = (),
    exports: Mapping[str, FuncType] | None = None,
    malloc_arity: int = 2,
    free_arity: int = 3,
    stack_pointer: str = "function",
    omit: Sequence[str] = (),
    version: Optional[str] = None,
    glue: Optional[str] = None,
    externref_table_size: int = 132,
) -> ModuleInfo:
    """The :class:`ModuleInfo` of a CLI-processed module built by hand (no binary).

    ``store="heap"`` gives a heap-slab module (i32 imports only); ``"externref"``
    exports an externref table ``__wbindgen_externrefs`` (and the table allocator),
    so imports may use externref. ``stack_pointer`` is ``"function"``
    (``__wbindgen_add_to_stack_pointer``), ``"global"`` (an exported
    ``__stack_pointer``) or ``"none"``. ``version`` adds a producers section,
    ``glue`` is passed to :func:`inspect`. ``omit`` drops runtime exports.
    """
    runtime: dict[str, FuncType] = {
        "__wbindgen_malloc": FuncType((I32,) * malloc_arity, (I32,)),
        "__wbindgen_realloc": FuncType((I32,) * (malloc_arity + 2), (I32,)),
        "__wbindgen_free": FuncType((I32,) * free_arity, ()),
        "__wbindgen_exn_store": FuncType((I32,), ()),
    }
    if stack_pointer == "function":
        runtime["__wbindgen_add_to_stack_pointer"] = FuncType((I32,), (I32,))
    if store == "externref":
        runtime["__externref_table_alloc"] = FuncType((), (I32,))
        runtime["__externref_table_dealloc"] = FuncType((I32,), ())
    funcs = {name: sig for name, sig in runtime.items() if name not in omit}
    funcs.update(exports or {})
    import_list = tuple(Import(module, name, "func", sig) for module, name, sig in imports)
    functions = tuple(imp.type for imp in import_list if isinstance(imp.type, FuncType)) + tuple(funcs.values())
    first = len(import_list)
    export_list = [Export(name, "func", first + i, sig) for i, (name, sig) in enumerate(funcs.items())]
    export_list.append(Export("memory", "memory", 0, Limits(2, None)))
    tables: tuple[TableType, ...] = ()
    if store == "externref":
        tables = (TableType("externref", Limits(externref_table_size, None)),)
        export_list.append(Export("__wbindgen_externrefs", "table", 0, tables[0]))
    elif store != "heap":
        raise ValueError(f"store must be 'heap' or 'externref', not {store!r}")
    globals_: tuple[Global, ...] = ()
    if stack_pointer == "global":
        globals_ = (Global(GlobalType(I32, True), STACK_TOP),)
        export_list.append(Export("__stack_pointer", "global", 0, globals_[0].type))
    module = WasmModule(
        types=tuple(dict.fromkeys(functions)),
        imports=import_list,
        exports=tuple(export_list),
        functions=functions,
        globals=globals_,
        tables=tables,
        memories=(Limits(2, None),),
        start=None,
        custom_sections=(("producers", producers_section(version)),) if version else (),
        size=0,
    )
    return inspect(b"", glue, module=module)


def fake_context(info: Optional[ModuleInfo] = None, *, pages: int = 2, **module_options: Any) -> HostContext:
    """A :class:`HostContext` bound to a fresh :class:`FakeEngineInstance`
    (of ``info``, or of ``fake_module(**module_options)``)."""
    if info is None:
        info = fake_module(**module_options)
    ctx = HostContext.create(info)
    ctx.bind(FakeEngineInstance(info.module, pages=pages, value_offset=info.conventions.value_offset))
    return ctx


def fake_engine(ctx: HostContext) -> FakeEngineInstance:
    """The fake engine instance ``ctx`` is bound to."""
    engine = ctx.calls.engine
    assert isinstance(engine, FakeEngineInstance)
    return engine


def link_fake(ctx: HostContext, chain: Sequence[Any]) -> Resolved:
    """Link every import of ``ctx``'s module through ``chain`` and hand the
    wrapped handlers to its fake engine (for :meth:`FakeEngineInstance.call_import`)."""
    resolutions, functions = link(ctx, chain)
    fake_engine(ctx).link(functions)
    return resolutions
