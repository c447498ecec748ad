"""Funcref trampolines: call a funcref table's entries from a host that cannot read tables.

wasmer-python 1.1.0's ``Table`` has only ``size`` and ``type``, so the host cannot
fetch a closure's function (or its destructor) out of the module's funcref table.
This transform adds, for each signature, an export ``trampoline_name(sig)``
(``__realm_call_indirect_ii_i`` for ``(i32, i32) -> (i32)``) taking ``(index,
*args)`` and doing ``call_indirect`` through the table: the shape of Binaryen's
GenerateDynCalls pass. :meth:`TableManager.call_function
<realm_wasmer.host.tables.TableManager.call_function>` calls them on wasmer.

Which signatures: every function type of the type section whose parameters and
results are numbers (what Python can pass through wasmer). That is a superset of
the types ``call_indirect`` uses and of the types of the functions the element
segments put in tables (every one is in the type section), and it is decided
from the outline alone, so a cache hit needs no code scan. A trampoline of a type
no table entry has traps (``indirect call type mismatch``), as ``call_indirect`` would.

The table: the first exported funcref table (wasm-bindgen's
``__wbindgen_export_N``, the one the table manager calls), else the first funcref
table. A module that already exports trampolines (this transform ran, or they were
written by hand) is left as it is.
"""

from __future__ import annotations

from typing import Optional

from ..host.tables import trampoline_name
from ..wasm import FuncType, WasmModule, decode_module, encode_module
from .base import Transform
from .edits import add_functions, ins, is_numeric

#: The prefix of every trampoline export.
PREFIX = "__realm_call_indirect_"


def table_index(outline: WasmModule) -> Optional[int]:
    """The funcref table the trampolines call through (see the module docstring), or None."""
    for export in outline.exports:
        if export.kind == "table" and outline.tables[export.index].element == "funcref":
            return export.index
    return next((i for i, table in enumerate(outline.tables) if table.element == "funcref"), None)


def signatures(outline: WasmModule) -> list[FuncType]:
    """The signatures that get a trampoline, in type-section order (none without a funcref table)."""
    if table_index(outline) is None or any(e.name.startswith(PREFIX) for e in outline.exports):
        return []
    seen: set[FuncType] = set()
    out = []
    for func_type in outline.types:
        if is_numeric(func_type) and func_type not in seen:
            seen.add(func_type)
            out.append(func_type)
    return out


def needs(outline: WasmModule) -> dict[str, str]:
    """``table_access`` when the module has a funcref table and a signature without its trampoline."""
    missing = signatures(outline)
    if not missing:
        return {}
    shown = ", ".join(trampoline_name(s) for s in missing[:3]) + (", ..." if len(missing) > 3 else "")
    return {"table_access": f"{len(missing)} trampolines: {shown}"}


def _trampoline_type(signature: FuncType) -> FuncType:
    return FuncType(("i32",) + signature.params, signature.results)


def apply(data: bytes, outline: WasmModule) -> bytes:
    wanted = signatures(outline)
    table = table_index(outline)
    if not wanted or table is None:
        return data
    module = decode_module(data)
    for signature in wanted:
        target = module.add_type(signature)
        body = [ins("local.get", i + 1) for i in range(len(signature.params))]
        body += [ins("local.get", 0), ins("call_indirect", target, table), ins("end")]
        index = module.add_function(module.add_type(_trampoline_type(signature)), (), body)
        module.add_export(trampoline_name(signature), "func", index)
    return encode_module(module)


def outline(module: WasmModule) -> WasmModule:
    wanted = signatures(module)
    return add_functions(module, [_trampoline_type(s) for s in wanted], [trampoline_name(s) for s in wanted])


TRAMPOLINES = Transform(
    name="funcref_trampolines",
    version=1,
    provides=frozenset({"table_access"}),
    apply=apply,
    outline=outline,
)
