"""The table manager: the externref and funcref tables of an instance.

A *raw* module (before the wasm-bindgen CLI ran) has no externref table yet:
its ``__wbindgen_externref_xform__`` imports stand for the ``table.grow`` and
``table.set`` instructions the CLI's transform will write. The manager backs
them with a host-side table (a Python list) with ``table.grow`` semantics: grow
returns the *old* size. On wasmtime the native tables of a CLI module are
reachable through :meth:`native`; wasmer-python 1.1.0 exposes only a table's
size, so calls through a funcref table on wasmer need helper exports injected
by a module rewriter (not built yet).
"""

from __future__ import annotations

from typing import Any, Optional

from .engines.base import EngineInstance


class TableManager:
    def __init__(self, exported_tables: list[str]) -> None:
        self._engine: Optional[EngineInstance] = None
        self.exported_tables = list(exported_tables)
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
        return sum(1 for value in self.externrefs if value is not None)

    def sizes(self) -> dict[str, int]:
        if self._engine is None:
            return {}
        return {name: self._engine.table_size(name) for name in self.exported_tables}

    def native(self, name: str) -> Optional[Any]:
        """The engine's own table object where the engine has one (wasmtime), else None."""
        table = getattr(self._engine, "table", None) if self._engine is not None else None
        return table(name) if table else None
