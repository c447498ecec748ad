"""The module outline's types: function types, imports, exports, globals, tables,
memories, and the :class:`WasmModule` that gathers them."""

from __future__ import annotations

from typing import Iterator, Optional, Union

import attrs

VALTYPES = {
    0x7F: "i32",
    0x7E: "i64",
    0x7D: "f32",
    0x7C: "f64",
    0x7B: "v128",
    0x70: "funcref",
    0x6F: "externref",
}
EXTERNAL_KINDS = {0: "func", 1: "table", 2: "memory", 3: "global", 4: "tag"}


@attrs.frozen
class FuncType:
    """A function signature, e.g. ``FuncType(("i32",), ())``."""

    params: tuple[str, ...]
    results: tuple[str, ...]

    def __str__(self) -> str:
        return f"({', '.join(self.params)}) -> ({', '.join(self.results)})"

    @property
    def multi_value(self) -> bool:
        return len(self.results) > 1

    @property
    def uses_externref(self) -> bool:
        return "externref" in self.params or "externref" in self.results

    @property
    def uses_funcref(self) -> bool:
        return "funcref" in self.params or "funcref" in self.results


@attrs.frozen
class Limits:
    minimum: int
    maximum: Optional[int]
    #: A shared memory (the threads proposal).
    shared: bool = False


@attrs.frozen
class TableType:
    element: str
    limits: Limits


@attrs.frozen
class GlobalType:
    valtype: str
    mutable: bool


ExternType = Union[FuncType, TableType, Limits, GlobalType, None]


@attrs.frozen
class Import:
    module: str
    name: str
    kind: str
    #: FuncType for functions, TableType, Limits (memory) or GlobalType.
    type: ExternType


@attrs.frozen
class Export:
    name: str
    kind: str
    index: int
    #: Filled for functions, tables, memories and globals.
    type: ExternType


@attrs.frozen
class Global:
    type: GlobalType
    #: The constant initial value (i32/i64/f32/f64.const), or None when the
    #: initialiser is not a plain constant.
    init: Optional[Union[int, float]]


@attrs.frozen
class WasmModule:
    """The parsed outline of a module. ``functions`` holds the type of every
    function in index space (imports first), so an export's signature is
    ``functions[export.index]``."""

    types: tuple[FuncType, ...]
    imports: tuple[Import, ...]
    exports: tuple[Export, ...]
    functions: tuple[FuncType, ...]
    globals: tuple[Global, ...]
    tables: tuple[TableType, ...]
    memories: tuple[Limits, ...]
    start: Optional[int]
    custom_sections: tuple[tuple[str, bytes], ...]
    size: int
    #: ``(offset, length)`` of each active data segment whose offset is a constant.
    data_segments: tuple[tuple[int, int], ...] = ()
    #: ``(table, offset, function indices)`` of each active element segment of function indices
    #: whose offset is an ``i32.const`` (what a funcref table holds at instantiation).
    element_segments: tuple[tuple[int, int, tuple[int, ...]], ...] = ()
    #: Exception tags, imported and defined (the exception-handling proposal).
    tags: int = 0

    def export(self, name: str) -> Optional[Export]:
        for export in self.exports:
            if export.name == name:
                return export
        return None

    def export_signature(self, name: str) -> Optional[FuncType]:
        export = self.export(name)
        if export is None or export.kind != "func":
            return None
        return self.functions[export.index]

    def function_exports(self) -> Iterator[tuple[str, FuncType]]:
        for export in self.exports:
            if export.kind == "func":
                yield export.name, self.functions[export.index]

    def custom(self, name: str) -> list[bytes]:
        return [data for section_name, data in self.custom_sections if section_name == name]

    @property
    def imported_function_count(self) -> int:
        return sum(1 for imp in self.imports if imp.kind == "func")


