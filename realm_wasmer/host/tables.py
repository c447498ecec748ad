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

from ..engines.base import EngineInstance
from ..errors import RealmWasmerError
from ..wasm import FuncType

_LETTERS = {"i32": "i", "i64": "I", "f32": "f", "f64": "F", "externref": "x", "funcref": "r"}


def trampoline_name(signature: FuncType) -> str:
    """``__realm_call_indirect_ii_i`` for ``(i32, i32) -> (i32)``: the export a
    module rewriter injects to call a table entry of that type from wasmer."""
    params = "".join(_LETTERS[t] for t in signature.params) or "v"
    results = "".join(_LETTERS[t] for t in signature.results) or "v"
    return f"__realm_call_indirect_{params}_{results}"


def unwrap(value: Any) -> Any:
    """wasmtime-py returns some externref table entries wrapped in a ``Val``."""
    inner = getattr(value, "value", value) if type(value).__name__ == "Val" else value
    return inner


class TableManager:
    def __init__(
        self,
        exported_tables: list[str],
        externref_offset: int = 1024,
        funcref_tables: Optional[list[str]] = None,
        exported_functions: Optional[set[str]] = None,
    ) -> None:
        self._engine: Optional[EngineInstance] = None
        self.exported_tables = list(exported_tables)
        self.funcref_tables = list(funcref_tables or [])
        self.exported_functions = set(exported_functions or ())
        #: Calls an export by name (the instance's call, with its error translation).
        self.call_export: Optional[Callable[..., Any]] = None
        self.externref_table_names = [
            n for n in ("__wbindgen_externrefs", "__wbindgen_export_0") if n in self.exported_tables
        ]
        #: Where undefined/null/true/false sit in the externref table (128, or 1024 from 0.2.109).
        self.externref_offset = externref_offset
        #: The guest's ``__externref_table_dealloc`` (set by the instance when exported).
        self.dealloc: Optional[Callable[[int], Any]] = None
        #: The host-side externref table of a raw module.
        self.externrefs: list[Any] = []

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
        """Live externref slots: the host-side table of a raw module, or the
        owned slots (above the four constants) of a CLI module's native table.
        Not for hot paths: on wasmtime each slot read is a few microseconds."""
        if self.externrefs or not self.externref_table_names:
            return sum(1 for value in self.externrefs if value is not None)
        table = self.native(self.externref_table_names[0])
        if table is None:
            return 0
        store = self._store()
        first = self.externref_offset + 4
        return sum(1 for i in range(first, int(table.size(store))) if unwrap(table.get(store, i)) is not None)

    # -- externref mode of CLI-processed modules (wasmtime only) --------------
    def externref_table(self) -> Any:
        """The module's exported externref table (``__wbindgen_externrefs``, or
        ``__wbindgen_export_0`` before 0.2.105) as the engine's own object."""
        for name in self.externref_table_names:
            table = self.native(name)
            if table is not None:
                return table
        raise RealmWasmerError(
            "this engine cannot reach the module's externref table from the host "
            f"(tables: {self.exported_tables}); use engine='wasmtime'"
        )

    def init_externref_table(self) -> None:
        """``__wbindgen_init_externref_table``, as the glue does it: slot 0 =
        undefined, and undefined/null/true/false at ``offset..offset+3``, growing
        the table by 4 when it is not already that large (css_inline 0.2.127
        grows; rollup 0.2.130 is preallocated to 1028 and sets them directly)."""
        from .heap import UNDEFINED

        table = self.externref_table()
        store = self._store()
        size = int(table.size(store))
        if size < self.externref_offset + 4:
            table.grow(store, self.externref_offset + 4 - size, None)
        table.set(store, 0, UNDEFINED)
        for i, value in enumerate((UNDEFINED, None, True, False)):
            table.set(store, self.externref_offset + i, value)

    def take_externref(self, index: int) -> Any:
        """The glue's takeFromExternrefTable0: read a slot, then the guest's dealloc frees it."""
        table = self.externref_table()
        value = unwrap(table.get(self._store(), index))
        dealloc = self.dealloc
        if dealloc is not None:
            dealloc(index)
        return value

    def _store(self) -> Any:
        store = getattr(self._engine, "store", None)
        if store is None:
            raise RealmWasmerError("this engine has no store for native table access; use engine='wasmtime'")
        return store

    # -- funcref tables: closures (invoke / destroy) ----------------------------
    def function_table(self) -> str:
        """The export name of the module's funcref table (the CLI exports it for closures)."""
        if not self.funcref_tables:
            raise RealmWasmerError("the module exports no funcref table")
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
                raise RealmWasmerError(f"funcref table {name!r} has no function at index {index}")
            result = function(store, *args)
            return tuple(result) if isinstance(result, list) else result
        trampoline = trampoline_name(signature)
        if self.call_export is None or trampoline not in self.exported_functions:
            raise RealmWasmerError(
                f"this engine cannot call through funcref table {name!r} from Python: the module needs the "
                f"trampoline export {trampoline}(index, ...) {signature} (injected by a module rewriter, "
                "not built yet); use engine='wasmtime'"
            )
        return self.call_export(trampoline, index, *args)

    def destroy_closure(self, dtor_index: int, a: int, b: int) -> None:
        """A closure's destructor, called through the function table with ``(a, b)``
        (wasm-bindgen <= 0.2.114; later versions export ``__wbindgen_destroy_closure``)."""
        self.call_function(dtor_index, FuncType(("i32", "i32"), ()), a, b)

    def sizes(self) -> dict[str, int]:
        if self._engine is None:
            return {}
        return {name: self._engine.table_size(name) for name in self.exported_tables}

    def native(self, name: str) -> Optional[Any]:
        """The engine's own table object where the engine has one (wasmtime), else None."""
        table = getattr(self._engine, "table", None) if self._engine is not None else None
        return table(name) if table else None
