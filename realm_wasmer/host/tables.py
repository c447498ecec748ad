"""The table manager: the externref and funcref tables of an instance.

A *raw* module (before the wasm-bindgen CLI ran) has no externref table yet:
its ``__wbindgen_externref_xform__`` imports stand for the ``table.grow`` and
``table.set`` instructions the CLI's transform will write. The manager backs
them with a host-side table (a Python list) with ``table.grow`` semantics: grow
returns the *old* size. On wasmtime the native tables of a CLI module are
reachable through :meth:`native`; wasmer-python 1.1.0 exposes only a table's
size, so calls through a funcref table on wasmer go through trampoline exports
(see :func:`trampoline_name`) that a module rewriter injects (not built yet).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from ..conventions import Conventions
from ..engines.base import EngineInstance
from ..errors import EmptyTableSlot, MissingRuntimeExport, UnsupportedFeature
from ..wasm import FuncType
from .calls import GuestCalls
from .handles import HandleStore, lower_signature
from .values import unwrap


def _no_table(name: str) -> None:
    return None


_LETTERS = {"i32": "i", "i64": "I", "f32": "f", "f64": "F", "externref": "x", "funcref": "r"}


def trampoline_name(signature: FuncType) -> str:
    """``__realm_call_indirect_ii_i`` for ``(i32, i32) -> (i32)``: the export a
    module rewriter injects to call a table entry of that type from wasmer."""
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
        ``call_indirect``: a module rewriter injects one per signature used by
        the table. Without it the call is refused, naming the export needed.
        """
        name = table or self.function_table()
        native = self.native(name)
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
        """The engine's own table object where the engine has one (wasmtime), a host-side
        table (a lowered externref table), else None."""
        host = self.host_tables(name)
        if host is not None:
            return host
        table = getattr(self._engine, "table", None) if self._engine is not None else None
        return table(name) if table else None
