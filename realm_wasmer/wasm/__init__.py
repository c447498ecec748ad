"""The WebAssembly binary format: the module outline's types and a reader.

``parse(bytes) -> WasmModule`` reads what a host needs before it compiles:
types, imports, exports, globals, tables, memories, start, data segments and
custom sections. It needs no engine.
"""

from __future__ import annotations

from .reader import Reader, length_prefixed_blobs, parse
from .types import (
    EXTERNAL_KINDS,
    VALTYPES,
    Export,
    FuncType,
    Global,
    GlobalType,
    Import,
    Limits,
    TableType,
    WasmModule,
)

__all__ = [
    "EXTERNAL_KINDS",
    "VALTYPES",
    "Export",
    "FuncType",
    "Global",
    "GlobalType",
    "Import",
    "Limits",
    "Reader",
    "TableType",
    "WasmModule",
    "length_prefixed_blobs",
    "parse",
]
