"""The same edits on a module outline (:class:`~realm_wasmer.wasm.WasmModule`) as the
codec makes on a decoded module (:class:`~realm_wasmer.wasm.Module`).

A transform's ``outline`` must give, without decoding any code, the outline its
``apply`` produces: these helpers follow the codec's rules (``add_type`` reuses
the first equal type; function imports go after the existing imports and move
every defined function's index up; functions and exports are appended).
"""

from __future__ import annotations

from typing import Optional, Sequence

import attrs

from ..wasm import Export, FuncType, Global, GlobalType, Import, Instruction, Module, WasmModule

NUMERIC = frozenset({"i32", "i64", "f32", "f64"})


def is_numeric(signature: FuncType) -> bool:
    """True when every parameter and result is i32/i64/f32/f64 (what Python can pass on every engine)."""
    return all(t in NUMERIC for t in signature.params + signature.results)


def with_type(types: tuple[FuncType, ...], func_type: FuncType) -> tuple[tuple[FuncType, ...], int]:
    """``types`` with ``func_type`` (the first equal entry reused, as ``Module.add_type``), and its index."""
    if func_type in types:
        return types, types.index(func_type)
    return types + (func_type,), len(types)


def add_function_imports(outline: WasmModule, imports: Sequence[Import]) -> WasmModule:
    """Append function imports; defined functions (exports, start) move up by their number."""
    count = len(imports)
    first = outline.imported_function_count
    types = outline.types
    signatures = []
    for imp in imports:
        assert isinstance(imp.type, FuncType)
        signatures.append(imp.type)
        types, _ = with_type(types, imp.type)

    def moved(index: int) -> int:
        return index + count if index >= first else index

    exports = tuple(attrs.evolve(e, index=moved(e.index)) if e.kind == "func" else e for e in outline.exports)
    functions = outline.functions[:first] + tuple(signatures) + outline.functions[first:]
    start = moved(outline.start) if outline.start is not None else None
    return attrs.evolve(
        outline, types=types, imports=outline.imports + tuple(imports), functions=functions, exports=exports,
        start=start,  # type: ignore[arg-type]
    )


def add_functions(outline: WasmModule, signatures: Sequence[FuncType], exports: Sequence[Optional[str]]) -> WasmModule:
    """Append defined functions of ``signatures``, each exported under its name in ``exports`` (None: not exported)."""
    types, functions, exported = outline.types, outline.functions, outline.exports
    for signature, name in zip(signatures, exports, strict=True):
        types, _ = with_type(types, signature)
        functions = functions + (signature,)
        if name is not None:
            exported = exported + (Export(name, "func", len(functions) - 1, signature),)
    return attrs.evolve(outline, types=types, functions=functions, exports=exported)


def add_global(outline: WasmModule, valtype: str, init: int, export: Optional[str]) -> WasmModule:
    """Append a mutable global with a constant initial value (exported as ``export``)."""
    gtype = GlobalType(valtype, True)
    globals_ = outline.globals + (Global(gtype, init),)
    exports = outline.exports
    if export is not None:
        exports = exports + (Export(export, "global", len(globals_) - 1, gtype),)
    return attrs.evolve(outline, globals=globals_, exports=exports)


def add_export(outline: WasmModule, name: str, kind: str, index: int) -> WasmModule:
    if kind == "global":
        extern = outline.globals[index].type
        return attrs.evolve(outline, exports=outline.exports + (Export(name, kind, index, extern),))
    raise ValueError(f"add_export: {kind} exports are not needed by the transforms")


# --- the codec side ---------------------------------------------------------------------------------------------


def imported_count(module: Module, kind: str) -> int:
    return sum(1 for imp in module.imports if imp.kind == kind)


def const_expr(op: str, value: int) -> tuple[Instruction, ...]:
    return (Instruction.of(op, value), Instruction.of("end"))


def ins(name: str, *imm: object) -> Instruction:
    """A new instruction (shorthand for :meth:`Instruction.of`)."""
    return Instruction.of(name, *imm)
