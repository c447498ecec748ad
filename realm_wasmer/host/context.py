"""The host context: everything an import handler or binding needs, and nothing else.

A :class:`HostContext` is built before any handler (handlers are made before the
engine instance exists) and passed to each resolver and intrinsic, the way
wasmtime-py passes its store. It holds the guest memory, the JS-value store, the
ABI helpers, the tables, the export caller and the module's facts; the engine
instance is bound into it right after instantiation. No component holds the
:class:`~realm_wasmer.instance.Instance`.
"""

from __future__ import annotations

import collections
from typing import Any, Callable, Iterator, Optional

import attrs

from ..conventions import Conventions
from ..engines.base import EngineInstance
from ..inspection import ModuleInfo
from ..wasm import WasmModule
from .abi import Abi
from .calls import GuestCalls
from .handles import HandleStore
from .heap import JsHeap
from .memory import GuestMemory
from .tables import TableManager
from .values import ExternrefTableStore, JsValueStore

#: Console messages kept per instance (older ones are counted, not kept).
CONSOLE_LIMIT = 1000


class ConsoleLog:
    """The guest's console messages, ``(method, text)``, the last ``limit`` kept."""

    def __init__(self, limit: int = CONSOLE_LIMIT) -> None:
        self._messages: collections.deque[tuple[str, str]] = collections.deque(maxlen=limit)
        #: Messages ever recorded (a mark for :meth:`since`).
        self.total = 0

    def append(self, method: str, text: str) -> None:
        self._messages.append((method, text))
        self.total += 1

    def since(self, mark: int) -> list[tuple[str, str]]:
        """Messages recorded after ``mark`` (a previous ``total``) that are still kept."""
        count = min(self.total - mark, len(self._messages))
        return list(self._messages)[len(self._messages) - count :] if count > 0 else []

    def truncate(self, mark: int) -> None:
        """Forget messages recorded after ``mark`` (a snapshot being restored)."""
        while self.total > mark and self._messages:
            self._messages.pop()
            self.total -= 1
        self.total = min(self.total, mark)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(list(self._messages))

    def __len__(self) -> int:
        return len(self._messages)

    def __getitem__(self, index: Any) -> Any:
        return list(self._messages)[index]


StoreFactory = Callable[[ModuleInfo, GuestCalls], JsValueStore]

#: The JS-value stores by ``Conventions.value_store`` (or by the store a load transform
#: asks for: "handles", externref lowered to i32 handles on engines that cannot pass externref).
STORES: dict[str, StoreFactory] = {
    "heap": lambda info, calls: JsHeap(info.conventions.value_offset),
    "externref": lambda info, calls: ExternrefTableStore(
        info.conventions.value_offset, info.conventions.externref_tables, calls.call, calls.exported_functions
    ),
    "handles": lambda info, calls: HandleStore(
        info.conventions.value_offset, info.conventions.externref_tables, calls, info.module
    ),
}


def make_store(info: ModuleInfo, calls: GuestCalls, kind: Optional[str] = None) -> JsValueStore:
    """The JS-value store ``kind`` (default: the one the module's conventions call for)."""
    return STORES[kind or info.conventions.value_store](info, calls)


@attrs.define(eq=False)
class HostContext:
    """One instance's host side (see the module docstring)."""

    info: ModuleInfo
    #: The module as it runs: the original's outline, or the rewritten one after load
    #: transforms (injected imports and exports, lowered types). Messages use ``info``.
    module: WasmModule
    conventions: Conventions
    memory: GuestMemory
    calls: GuestCalls
    values: JsValueStore
    abi: Abi
    tables: TableManager
    console: ConsoleLog = attrs.field(factory=ConsoleLog)
    #: Words the guest reported through ``__wbindgen_describe``.
    describe_words: list[int] = attrs.field(factory=list)

    @classmethod
    def create(
        cls, info: ModuleInfo, module: Optional[WasmModule] = None, value_store: Optional[str] = None
    ) -> "HostContext":
        """The context of one instance of ``info``'s module; ``module`` is the outline
        that runs (after transforms) and ``value_store`` the store they call for."""
        conventions = info.conventions
        runnable = module if module is not None else info.module
        calls = GuestCalls(runnable)
        memory = GuestMemory()
        values = make_store(info, calls, value_store)
        tables = TableManager(conventions, calls)
        tables.module = info.module
        if isinstance(values, HandleStore):
            # Lowered externref: the boundary converts by the original signatures, and the
            # lowered tables are reached on the host under their export names.
            calls.export_wrappers.update(values.wrappers(info.module))
            tables.host_tables = values.view
            tables.handles = values
        return cls(
            info=info,
            module=runnable,
            conventions=conventions,
            memory=memory,
            calls=calls,
            values=values,
            abi=Abi(conventions, calls, memory),
            tables=tables,
        )

    def call(self, export: str, *args: Any) -> Any:
        """Call an export with raw wasm values (see :meth:`GuestCalls.call`)."""
        return self.calls.call(export, *args)

    def bind(self, engine_instance: EngineInstance) -> None:
        """Attach every part to the engine instance, right after instantiation."""
        self.calls.bind(engine_instance)
        self.memory.bind(engine_instance)
        self.tables.bind(engine_instance)
        bind = getattr(self.values, "bind", None)
        if bind is not None:
            bind(engine_instance)


class ContextParts:
    """The parts of a :class:`HostContext` by name, for classes that hold one as ``context``
    (an :class:`~realm_wasmer.instance.Instance`, a handler's
    :class:`~realm_wasmer.host.resolver.Caller`)."""

    __slots__ = ()
    context: HostContext

    @property
    def memory(self) -> GuestMemory:
        """The guest's linear memory (:class:`~realm_wasmer.host.memory.GuestMemory`)."""
        return self.context.memory

    @property
    def values(self) -> JsValueStore:
        """The JS values the guest holds (:class:`~realm_wasmer.host.values.JsValueStore`)."""
        return self.context.values

    @property
    def heap(self) -> JsValueStore:
        """``values`` under its older name (the :class:`JsHeap` of heap-slab modules)."""
        return self.context.values

    @property
    def abi(self) -> Abi:
        """Strings, arrays, the allocator and out-slots (:class:`~realm_wasmer.host.abi.Abi`)."""
        return self.context.abi

    @property
    def tables(self) -> TableManager:
        return self.context.tables
