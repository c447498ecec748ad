"""The table manager: the externref and funcref tables of an instance.

A *raw* module (before the wasm-bindgen CLI ran) has no externref table yet:
its ``__wbindgen_externref_xform__`` imports stand for the ``table.grow`` and
``table.set`` instructions the CLI's transform will write. The manager backs
them with a host-side table (a Python list) with ``table.grow`` semantics: grow
returns the *old* size. On wasmtime the native tables of a CLI module are
reachable through :meth:`native`; wasmer-python 1.1.0 exposes only a table's
size, so calls through a funcref table on wasmer go through trampoline exports
(see :func:`trampoline_name`) that the ``funcref_trampolines`` load transform
injects, and :meth:`native` gives a read-only :class:`TrampolineTable` there; an
externref table lowered to handles is a host-side table of the
:class:`~realm_wasmer.host.handles.HandleStore`.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from ..conventions import Conventions
from ..engines.base import EngineInstance
from ..errors import EmptyTableSlot, MissingRuntimeExport, UnsupportedFeature
from ..wasm import FuncType, WasmModule
from .calls import GuestCalls
from .handles import HandleStore, lower_signature
from .values import unwrap


def _no_table(name: str) -> None:
    return None


_LETTERS = {"i32": "i", "i64": "I", "f32": "f", "f64": "F", "externref": "x", "funcref": "r"}


def trampoline_name(signature: FuncType) -> str:
    """``__realm_call_indirect_ii_i`` for ``(i32, i32) -> (i32)``: the export a
    ``funcref_trampolines`` load transform injects to call a table entry of that type from wasmer."""
    params = "".join(_LETTERS[t] for t in signature.params) or "v"
    results = "".join(_LETTERS[t] for t in signature.results) or "v"
    return f"__realm_call_indirect_{params}_{results}"


class TableManager:
    """The raw module's host-side externref table, and calls through funcref tables.

    (A CLI module's externref table belongs to its JS-value store:
    :class:`~realm_wasmer.host.values.ExternrefTableStore`.)"""

    def __init__(self, conventions: Conventions, calls: GuestCalls) -> None:
        self._engine: Optional[EngineInstance] = None
        self._calls = calls
        self.exported_tables = list(conventions.exported_tables)
        self.funcref_tables = list(conventions.funcref_tables)
        #: The host-side externref table of a raw module.
        self.externrefs: list[Any] = []
        #: Export name -> a host-side table with the engine-table API (externref tables the
        #: load pipeline lowered to handles: :meth:`HandleStore.view`), or None.
        self.host_tables: Callable[[str], Optional[Any]] = _no_table
        #: The original module's outline (the signatures of a function table's entries).
        self.module: Optional[WasmModule] = None
        #: The handle store, when the load pipeline lowered externref (closures taking or
        #: returning JS values are called through the lowered trampolines).
        self.handles: Optional[HandleStore] = None

    def bind(self, engine_instance: EngineInstance) -> None:
        self._engine = engine_instance

    def externref_grow(self, delta: int) -> int:
        """``table.grow(null, delta)``: returns the old size."""
        old = len(self.externrefs)
        self.externrefs.extend([None] * delta)
        return old

    def externref_set_null(self, index: int) -> None:
        """``table.set(index, null)``."""
        self.externrefs[index] = None

    def externref_live_count(self) -> int:
        """Live slots of the raw module's host-side externref table."""
        return sum(1 for value in self.externrefs if value is not None)

    def _store(self) -> Any:
        """The engine's store for its table API (None for host-side tables, which need none)."""
        return getattr(self._engine, "store", None)

    # -- funcref tables: closures (invoke / destroy) ----------------------------
    def function_table(self) -> str:
        """The export name of the module's funcref table (the CLI exports it for closures)."""
        if not self.funcref_tables:
            raise MissingRuntimeExport("the module exports no funcref table")
        return self.funcref_tables[0]

    def call_function(self, index: int, signature: FuncType, *args: Any, table: Optional[str] = None) -> Any:
        """Call entry ``index`` of a funcref table with ``signature``.

        On wasmtime the entry is read with the native table API. wasmer-python
        1.1.0 cannot read tables, so there the call goes through a trampoline
        export ``trampoline_name(signature)`` taking ``(index, *args)`` and doing
        ``call_indirect``: the ``funcref_trampolines`` load transform injects one per
        numeric signature of the module (externref lowered to i32: the arguments and
        results are converted by the handle store). Without it the call is refused, naming the export needed.
        """
        name = table or self.function_table()
        native = self._engine_table(name)
        if native is not None:
            store = self._store()
            function = unwrap(native.get(store, index))
            if function is None:
                raise EmptyTableSlot(f"funcref table {name!r} has no function at index {index}")
            result = function(store, *args)
            return tuple(result) if isinstance(result, list) else result
        lowered = lower_signature(signature)
        trampoline = trampoline_name(lowered)
        if lowered != signature and self.handles is not None and self._calls.has(trampoline):
            # externref lowered to handles: the trampoline takes and returns handles.
            call = self._calls.call
            wrapped = self.handles.wrap_export(lambda *raw: call(trampoline, index, *raw), signature)
            with self.handles.held():  # the result's handle outlives the trampoline call
                return wrapped(*args)
        if not self._calls.has(trampoline):
            raise UnsupportedFeature(
                f"this engine cannot call through funcref table {name!r} from Python: the module needs the "
                f"trampoline export {trampoline}(index, ...) {lowered} (injected by the funcref_trampolines "
                "load transform, which transforms='none' turns off); use engine='wasmtime'"
            )
        return self._calls.call(trampoline, index, *args)

    def destroy_closure(self, dtor_index: int, a: int, b: int) -> None:
        """A closure's destructor, called through the function table with ``(a, b)``
        (wasm-bindgen <= 0.2.114; later versions export ``__wbindgen_destroy_closure``)."""
        self.call_function(dtor_index, FuncType(("i32", "i32"), ()), a, b)

    def sizes(self) -> dict[str, int]:
        if self._engine is None:
            return {}
        sizes = {}
        for name in self.exported_tables:
            host = self.host_tables(name)
            sizes[name] = host.size() if host is not None else self._engine.table_size(name)
        return sizes

    def native(self, name: str) -> Optional[Any]:
        """A table object with the engine-table API (``get``/``set``/``grow``/``size``, each
        taking a store): the engine's own where it has one (wasmtime); a host-side table (an
        externref table lowered to handles); on wasmer, the function table the trampolines
        call through, read-only (:class:`TrampolineTable`); else None."""
        host = self.host_tables(name)
        if host is not None:
            return host
        table = self._engine_table(name)
        if table is not None:
            return table
        return self._trampoline_table(name)

    def _engine_table(self, name: str) -> Optional[Any]:
        table = getattr(self._engine, "table", None) if self._engine is not None else None
        return table(name) if table else None

    def _trampoline_table(self, name: str) -> Optional["TrampolineTable"]:
        """The function table of a module running with trampolines (the first exported funcref
        table: the one they call through), when the original module's outline is known."""
        if self.module is None or not self.funcref_tables or name != self.funcref_tables[0]:
            return None
        if not any(self._calls.has(export) for export in self._calls.exported_functions
                   if export.startswith("__realm_call_indirect_")):
            return None
        export = self.module.export(name)
        if export is None:
            return None
        slots: dict[int, FuncType] = {}
        for table, offset, functions in self.module.element_segments:
            if table == export.index:
                for k, function in enumerate(functions):
                    slots[offset + k] = self.module.functions[function]
        return TrampolineTable(self, name, slots)


class TrampolineTable:
    """A funcref table on an engine without a table API (wasmer), read through the trampolines:
    ``get(store, i)`` is a callable ``(store, *args)`` calling entry ``i`` with the signature of
    the function the module's element segments put there (None for a slot they leave empty);
    what the JS glue's ``wasm.__wbindgen_export_N.get(dtor)(a, b)`` does with closures.
    Entries cannot be set or the table grown from the host."""

    def __init__(self, manager: TableManager, name: str, slots: dict[int, FuncType]) -> None:
        self._manager = manager
        self._name = name
        self._slots = slots

    def size(self, _store: Any = None) -> int:
        return self._manager.sizes().get(self._name, 0) if self._manager.exported_tables else 0

    def get(self, _store: Any, index: int) -> Optional[Any]:
        signature = self._slots.get(index & 0xFFFFFFFF)
        if signature is None:
            return None
        call = self._manager.call_function

        def entry(_store: Any, *args: Any) -> Any:
            return call(index, signature, *args)

        return entry

    def set(self, _store: Any, index: int, value: Any) -> None:
        raise UnsupportedFeature(f"funcref table {self._name!r} cannot be set from the host on this engine; "
                                 "use engine='wasmtime'")

    def grow(self, _store: Any, delta: int, value: Any = None) -> int:
        raise UnsupportedFeature(f"funcref table {self._name!r} cannot be grown from the host on this engine; "
                                 "use engine='wasmtime'")
