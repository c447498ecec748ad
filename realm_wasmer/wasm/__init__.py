"""The WebAssembly binary format: the module outline's types and a reader.

``parse(bytes) -> WasmModule`` reads what a host needs before it compiles:
types, imports, exports, globals, tables, memories, start, data segments and
custom sections. It needs no engine.

``decode_module(bytes) -> Module`` and ``encode_module(Module) -> bytes`` are the
full binary codec (every section and instruction, exact round trip) that
transforms build on; see :mod:`realm_wasmer.wasm.codec`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import exports

#: Where each public name lives, imported on first use (the codec alone costs ~35 ms).
_WHERE = {
    "Module": ".codec",
    "decode_module": ".codec",
    "encode_module": ".codec",
    "BrTable": ".instructions",
    "Catch": ".instructions",
    "Instruction": ".instructions",
    "MemArg": ".instructions",
    "ArrayType": ".model",
    "DataSegment": ".model",
    "ElementSegment": ".model",
    "ExportDef": ".model",
    "FieldType": ".model",
    "FunctionBody": ".model",
    "GlobalDef": ".model",
    "ImportDef": ".model",
    "MemoryDef": ".model",
    "RecGroup": ".model",
    "Section": ".model",
    "StructType": ".model",
    "SubType": ".model",
    "TableDef": ".model",
    "TagDef": ".model",
    "codec_error": ".model",
    "NameSection": ".names",
    "NameSubsection": ".names",
    "BY_NAME": ".opcodes",
    "OPCODES": ".opcodes",
    "OpInfo": ".opcodes",
    "Reader": ".reader",
    "length_prefixed_blobs": ".reader",
    "parse": ".reader",
    "EXTERNAL_KINDS": ".types",
    "VALTYPES": ".types",
    "Export": ".types",
    "FuncType": ".types",
    "Global": ".types",
    "GlobalType": ".types",
    "Import": ".types",
    "Limits": ".types",
    "TableType": ".types",
    "WasmModule": ".types",
}
__getattr__, __dir__ = exports(__name__, _WHERE)

if TYPE_CHECKING:
    from .codec import Module, decode_module, encode_module
    from .instructions import BrTable, Catch, Instruction, MemArg
    from .model import (
        ArrayType,
        DataSegment,
        ElementSegment,
        ExportDef,
        FieldType,
        FunctionBody,
        GlobalDef,
        ImportDef,
        MemoryDef,
        RecGroup,
        Section,
        StructType,
        SubType,
        TableDef,
        TagDef,
        codec_error,
    )
    from .names import NameSection, NameSubsection
    from .opcodes import BY_NAME, OPCODES, OpInfo
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
    "BY_NAME",
    "EXTERNAL_KINDS",
    "OPCODES",
    "VALTYPES",
    "ArrayType",
    "BrTable",
    "Catch",
    "DataSegment",
    "ElementSegment",
    "Export",
    "ExportDef",
    "FieldType",
    "FuncType",
    "FunctionBody",
    "Global",
    "GlobalDef",
    "GlobalType",
    "Import",
    "ImportDef",
    "Instruction",
    "Limits",
    "MemArg",
    "MemoryDef",
    "Module",
    "NameSection",
    "NameSubsection",
    "OpInfo",
    "Reader",
    "RecGroup",
    "Section",
    "StructType",
    "SubType",
    "TableDef",
    "TableType",
    "TagDef",
    "WasmModule",
    "codec_error",
    "decode_module",
    "encode_module",
    "length_prefixed_blobs",
    "parse",
]
