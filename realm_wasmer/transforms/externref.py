"""Lower externref to i32 handles, for engines that cannot pass externref (wasmer-python 1.1.0).

wasmer-python panics when an externref crosses into a Python host function, and
its tables cannot be read or written from Python. This transform rewrites the
module so that no externref is left anywhere the host meets it, and none in the
module at all:

* every value type ``externref`` (``(ref null extern)``, ``(ref extern)``) becomes
  ``i32`` in the type section (so in every import, export and ``call_indirect``
  signature), in globals, local declarations, block types and typed ``select``;
* ``ref.null extern`` becomes ``i32.const 0`` (:data:`NULL_HANDLE`), and
  ``ref.is_null`` of an externref becomes ``i32.eqz``;
* each externref *table* moves to the host: ``table.get/set/grow/size/fill/copy``
  on it become calls to injected imports in
  :data:`~realm_wasmer.transforms.base.TRANSFORM_NAMESPACE`
  (``externref_get_T``, ...; ``T`` the table's original index), answered by the
  instance's :class:`~realm_wasmer.host.handles.HandleStore`. The table itself is
  dropped (when no table follows it) or left as an empty funcref table (so the
  other tables keep their indices); its export goes (the host reaches the
  host-side table through the store, under the export's name);
* the injected imports come after the existing function imports, so every
  defined function's index moves up by their number: calls, ``ref.func``,
  element segments, exports, start and the name section are all shifted (by
  :meth:`~realm_wasmer.wasm.Module.add_imports`).

Only the function bodies that change are re-encoded; everything else is copied
byte for byte. Externref element segments hold only nulls here: each becomes an
empty declarative segment (the host table starts null-filled; segment indices
stay). What cannot be lowered faithfully is refused with an
:class:`~realm_wasmer.errors.UnsupportedFeature` naming the section, function
index and byte offset: imported externref tables and globals, mutable externref
globals (a handle kept only there would outlive its pin), table64 externref
tables, an active externref segment out of its table's bounds, ``table.init``
into an externref table, GC types mentioning externref, and a ``ref.is_null``
whose operand's type cannot be told from the instruction before it.

Handles: ``0`` is null; other handles are minted by the host when a JS value
crosses into the guest (an import's result, an export's argument) and live
while a table slot holds them or the outermost call that made them runs
(see :mod:`realm_wasmer.host.handles`).
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Union

import attrs

from ..errors import UnsupportedFeature
from ..host.context import HostContext
from ..host.handles import EXTERNREF_TYPES, HandleStore, import_name, lower_signature, lower_type
from ..wasm import (
    ElementSegment,
    FuncType,
    Global,
    GlobalType,
    Import,
    ImportDef,
    Instruction,
    Module,
    RecGroup,
    SubType,
    TableType,
    WasmModule,
    decode_module,
    encode_module,
)
from .base import TRANSFORM_NAMESPACE, Transform
from .edits import add_function_imports, ins

#: The handle of ``ref.null extern``.
NULL_HANDLE = 0
#: Heap types whose ``ref.null`` becomes the null handle.
EXTERN_HEAPS = frozenset({"extern", "noextern"})

#: The injected imports of one externref table: operation -> (signature, name template).
OPERATIONS: dict[str, FuncType] = {
    "get": FuncType(("i32",), ("i32",)),
    "set": FuncType(("i32", "i32"), ()),
    "grow": FuncType(("i32", "i32"), ("i32",)),
    "size": FuncType((), ("i32",)),
    "fill": FuncType(("i32", "i32", "i32"), ()),
}
_COPY = FuncType(("i32", "i32", "i32"), ())

_BLOCKS = frozenset({0x02, 0x03, 0x04, 0x06, 0x1F})
_SELECT_T, _REF_NULL, _REF_IS_NULL = 0x1C, 0xD0, 0xD1
_TABLE_OPS = {0x25: "get", 0x26: "set", (0xFC, 15): "grow", (0xFC, 16): "size", (0xFC, 17): "fill"}
_TABLE_COPY, _TABLE_INIT = (0xFC, 14), (0xFC, 12)
_INTERESTING = frozenset({*_BLOCKS, _SELECT_T, _REF_NULL, _REF_IS_NULL, *_TABLE_OPS, _TABLE_COPY, _TABLE_INIT})


def _refused(message: str, *, section: str, function_index: Optional[int] = None,
             offset: Optional[int] = None) -> UnsupportedFeature:
    """An UnsupportedFeature whose message and attributes say where (as ``codec_error`` does)."""
    where = [f"{section} section"]
    if function_index is not None:
        where.append(f"function {function_index}")
    if offset is not None:
        where.append(f"byte offset {offset:#x}")
    exc = UnsupportedFeature(f"externref lowering: {message} ({', '.join(where)})")
    exc.__dict__.update(section=section, function_index=function_index, offset=offset)
    return exc


# --- which tables ------------------------------------------------------------------------------------------------


def externref_tables(outline: WasmModule) -> list[int]:
    """Indices of the externref tables (imported ones first in index space)."""
    return [i for i, table in enumerate(outline.tables) if table.element in EXTERNREF_TYPES]


def injected_imports(outline: WasmModule) -> list[Import]:
    """The imports the rewrite adds, in order (decided from the outline alone)."""
    tables = externref_tables(outline)
    out = [
        Import(TRANSFORM_NAMESPACE, import_name(op, t), "func", sig) for t in tables for op, sig in OPERATIONS.items()
    ]
    out += [Import(TRANSFORM_NAMESPACE, import_name("copy", d, s), "func", _COPY) for d in tables for s in tables]
    return out


def _kept_tables(count: int, lowered: list[int]) -> tuple[list[int], int]:
    """(tables replaced by an empty funcref table, how many trailing tables are dropped)."""
    gone = set(lowered)
    trailing = 0
    while trailing < count and (count - 1 - trailing) in gone:
        trailing += 1
    return [t for t in lowered if t < count - trailing], trailing


def needs(outline: WasmModule) -> dict[str, str]:
    """``reference_types`` when the module has externref tables, globals or signatures."""
    tables = externref_tables(outline)
    globals_ = [i for i, g in enumerate(outline.globals) if g.type.valtype in EXTERNREF_TYPES]
    typed = [t for t in outline.types if lower_signature(t) != t]
    parts = [f"table {t}" for t in tables] + [f"global {g}" for g in globals_] + [str(t) for t in typed[:2]]
    return {"reference_types": ", ".join(parts[:3]) + (", ..." if len(parts) > 3 else "")} if parts else {}


# --- the outline -------------------------------------------------------------------------------------------------


def _lower_extern(kind: str, extern: Any) -> Any:
    if isinstance(extern, FuncType):
        return lower_signature(extern)
    if isinstance(extern, GlobalType) and extern.valtype in EXTERNREF_TYPES:
        return GlobalType("i32", extern.mutable)
    return extern


def outline(module: WasmModule) -> WasmModule:
    """The rewritten module's outline (see :func:`apply`), from the original's."""
    lowered_tables = externref_tables(module)
    if not lowered_tables and not needs(module):
        return module
    replaced, trailing = _kept_tables(len(module.tables), lowered_tables)
    tables = tuple(
        TableType("funcref", attrs.evolve(t.limits, minimum=0, maximum=0)) if i in replaced else t
        for i, t in enumerate(module.tables[: len(module.tables) - trailing])
    )
    globals_ = tuple(
        Global(GlobalType("i32", g.type.mutable), g.init if g.init is not None else NULL_HANDLE)
        if g.type.valtype in EXTERNREF_TYPES else g
        for g in module.globals
    )
    exports = tuple(
        attrs.evolve(e, type=_lower_extern(e.kind, e.type))
        for e in module.exports
        if not (e.kind == "table" and e.index in lowered_tables)
    )
    lowered = attrs.evolve(
        module,
        types=tuple(lower_signature(t) for t in module.types),
        imports=tuple(attrs.evolve(i, type=_lower_extern(i.kind, i.type)) for i in module.imports),
        functions=tuple(lower_signature(f) for f in module.functions),
        globals=globals_,
        tables=tables,
        exports=exports,
    )
    return add_function_imports(lowered, injected_imports(module))


# --- the rewrite -------------------------------------------------------------------------------------------------


def _item_offset(module: Module, section_id: int, item: Any) -> Optional[int]:
    section = module.section(section_id)
    if section is None:
        return None
    span = section._item_spans.get(id(item))
    return span[0] if span is not None else section.start


def _check_imports(module: Module) -> None:
    for imp in module.imports:
        desc = imp.desc
        element = getattr(desc, "element", None) or getattr(desc, "valtype", None)
        if imp.kind in ("table", "global") and element in EXTERNREF_TYPES:
            raise _refused(
                f"imported externref {imp.kind} {imp.module}.{imp.name} cannot be moved to the host",
                section="import", offset=_item_offset(module, 2, imp),
            )


def _lower_types(module: Module) -> None:
    for position, entry in enumerate(module.types):
        if isinstance(entry, FuncType):
            lowered = lower_signature(entry)
            if lowered is not entry and lowered != entry:
                module.types[position] = lowered
        elif _mentions_externref(entry):
            raise _refused("a GC type mentions externref", section="type", offset=_item_offset(module, 1, entry))


def _mentions_externref(entry: Union[RecGroup, SubType, Any]) -> bool:
    return any(t in EXTERNREF_TYPES for t in _valtypes_of(entry))


def _valtypes_of(entry: Any) -> list[str]:
    if isinstance(entry, RecGroup):
        return [t for sub in entry.types for t in _valtypes_of(sub)]
    if isinstance(entry, SubType):
        return _valtypes_of(entry.composite)
    if isinstance(entry, FuncType):
        return list(entry.params + entry.results)
    fields = getattr(entry, "fields", None)
    if fields is not None:
        return [f.storage for f in fields]
    element = getattr(entry, "element", None)
    return [element.storage] if element is not None else []


def _lower_const(expr: Optional[tuple[Instruction, ...]]) -> Optional[tuple[Instruction, ...]]:
    if expr is None or not any(i.op == _REF_NULL for i in expr):
        return expr
    return tuple(ins("i32.const", NULL_HANDLE) if i.op == _REF_NULL and i.imm[0] in EXTERN_HEAPS else i for i in expr)


def _lower_globals(module: Module) -> None:
    for position, glob in enumerate(module.globals):
        if glob.valtype not in EXTERNREF_TYPES:
            continue
        if glob.mutable:
            raise _refused(
                f"mutable externref global {position}: a handle kept only in a global would outlive its pin",
                section="global", offset=_item_offset(module, 6, glob),
            )
        init = glob.init or ()
        if any(i.op not in (_REF_NULL, 0x0B) for i in init):
            raise _refused(f"externref global {position} is not initialised with ref.null", section="global",
                           offset=_item_offset(module, 6, glob))
        module.globals[position] = attrs.evolve(glob, valtype="i32", init=_lower_const(glob.init))


def _lower_tables(module: Module, first_defined: int, lowered: list[int]) -> None:
    tables = module.tables
    minimum = {index: tables[index - first_defined].minimum for index in lowered}
    for index in lowered:
        if tables[index - first_defined].table64:
            raise _refused(f"externref table {index} is a table64", section="table",
                           offset=_item_offset(module, 4, tables[index - first_defined]))
    _lower_segments(module, minimum)
    replaced, trailing = _kept_tables(first_defined + len(tables), lowered)
    for index in replaced:
        old = tables[index - first_defined]
        tables[index - first_defined] = attrs.evolve(old, element="funcref", minimum=0, maximum=0, init=None)
    if trailing:
        del tables[len(tables) - trailing :]
    gone = set(lowered)
    module.exports[:] = [e for e in module.exports if not (e.kind == "table" and e.index in gone)]


_EMPTY_SEGMENT = ElementSegment(flags=3)  # declarative, funcref, no items: keeps the segment indices


def _lower_segments(module: Module, minimum: dict[int, int]) -> None:
    """Externref element segments hold only nulls (the lowered globals are null): an active one
    into a lowered table sets slots that are already null, so each becomes an empty declarative
    segment (segment indices stay). Anything else is refused."""
    for position, segment in enumerate(module.elements):
        into_lowered = segment.mode == "active" and segment.table in minimum
        if segment.reftype not in EXTERNREF_TYPES and not into_lowered:
            continue
        where = _item_offset(module, 9, segment)
        if segment.functions or not all(_null_item(expr) for expr in segment.expressions):
            raise _refused(f"externref element segment {position} holds non-null items", section="element",
                           offset=where)
        if into_lowered:
            offset = segment.offset or ()
            start = offset[0].imm[0] if len(offset) == 2 and offset[0].name == "i32.const" else None
            count = len(segment.expressions)
            if start is None or not 0 <= start <= start + count <= minimum[segment.table]:
                raise _refused(f"active externref element segment {position} has no constant in-bounds offset",
                               section="element", offset=where)
        module.elements[position] = _EMPTY_SEGMENT


def _null_item(expr: tuple[Instruction, ...]) -> bool:
    """``ref.null extern`` or ``global.get`` of an externref global (all null once lowering starts)."""
    return len(expr) == 2 and (
        (expr[0].op == _REF_NULL and expr[0].imm[0] in EXTERN_HEAPS) or expr[0].name == "global.get"
    )


@attrs.define
class _Lowering:
    """What the body rewrite needs: the injected imports' indices and the original types."""

    module: Module
    #: (operation, table) or ("copy", dst, src) -> function index of the injected import.
    calls: dict[tuple[Any, ...], int]
    tables: frozenset[int]
    #: Original (unlowered) function type of each type index.
    original_types: list[Any]
    table_elements: list[str]
    global_types: list[str]
    #: How many function imports were injected (errors give the index the user sees: before them).
    injected: int = 0

    def original_index(self, func_index: int) -> int:
        return func_index - self.injected

    def function_result(self, func_index: int) -> Optional[str]:
        type_index = self.module.function_type_index(func_index)
        return self._result(type_index)

    def _result(self, type_index: int) -> Optional[str]:
        if type_index >= len(self.original_types):
            return None
        typedef = self.original_types[type_index]
        composite = typedef.composite if isinstance(typedef, SubType) else typedef
        results: tuple[str, ...] = getattr(composite, "results", ())
        return results[-1] if results else None


def _operand_type(
    lowering: _Lowering, previous: Optional[Instruction], local_types: list[str]
) -> Optional[str]:
    """The type the instruction ``previous`` leaves on top of the stack, when it says."""
    if previous is None:
        return None
    name = previous.name
    index: int = previous.imm[0] if previous.imm else 0
    if name in ("local.get", "local.tee"):
        return local_types[index] if index < len(local_types) else None
    if name == "global.get":
        return lowering.global_types[index] if index < len(lowering.global_types) else None
    if name == "table.get":
        return lowering.table_elements[index]
    if name == "ref.null":
        return "externref" if previous.imm[0] in EXTERN_HEAPS else "funcref"
    if name == "ref.func":
        return "funcref"
    if name in ("call", "return_call"):
        return lowering.function_result(index)
    if name in ("call_indirect", "return_call_indirect"):
        return lowering._result(index)
    return None


def _needs_lowering(op: Any, imm: tuple[Any, ...], tables: frozenset[int]) -> bool:
    """Whether an instruction of :data:`_INTERESTING` has anything to lower (or to refuse)."""
    if op in _BLOCKS:
        return imm[0] in EXTERNREF_TYPES if isinstance(imm[0], str) else False
    if op == _SELECT_T:
        return any(t in EXTERNREF_TYPES for t in imm[0])
    if op == _REF_NULL:
        return imm[0] in EXTERN_HEAPS
    if op == _REF_IS_NULL:
        return True
    if op == _TABLE_INIT:
        return imm[1] in tables
    if op == _TABLE_COPY:
        return imm[0] in tables or imm[1] in tables
    return imm[0] in tables


def _lower_body(lowering: _Lowering, func_index: int, body: Any) -> bool:
    """Rewrite one body in place; True when it changed."""
    changed = False
    if any(t in EXTERNREF_TYPES for _, t in body.locals):
        original_locals = body.locals
        body.locals = tuple((n, lower_type(t)) for n, t in body.locals)
        changed = True
    else:
        original_locals = body.locals
    if not any(_needs_lowering(op, imm, lowering.tables) for op, imm, _, _ in body.scan(_INTERESTING)):
        return changed  # found without decoding the body: it stays as it is
    instructions = body.instructions
    local_types: Optional[list[str]] = None
    calls = lowering.calls
    user_index = lowering.original_index(func_index)
    tables = lowering.tables
    previous: Optional[Instruction] = None  # the instruction before, as it was decoded
    for position, instruction in enumerate(instructions):
        op = instruction.op
        before, previous = previous, instruction
        if op not in _INTERESTING:
            continue
        new: Optional[Instruction] = None
        if op in _BLOCKS:
            blocktype = instruction.imm[0]
            if isinstance(blocktype, str) and blocktype in EXTERNREF_TYPES:
                new = Instruction(op, ("i32",) + instruction.imm[1:])
        elif op == _SELECT_T:
            if any(t in EXTERNREF_TYPES for t in instruction.imm[0]):
                new = Instruction(op, (tuple(map(lower_type, instruction.imm[0])),))
        elif op == _REF_NULL:
            if instruction.imm[0] in EXTERN_HEAPS:
                new = ins("i32.const", NULL_HANDLE)
        elif op == _REF_IS_NULL:
            if local_types is None:
                signature = lowering.original_types[lowering.module.function_type_index(func_index)]
                local_types = list(getattr(signature, "params", ()))
                local_types += [t for n, t in original_locals for _ in range(n)]
            operand = _operand_type(lowering, before, local_types)
            if operand is None:
                raise _refused(
                    f"cannot tell the operand type of ref.is_null after {before}", section="code",
                    function_index=user_index, offset=instruction.start if instruction.start >= 0 else None,
                )
            if operand in EXTERNREF_TYPES:
                new = ins("i32.eqz")
        elif op == _TABLE_COPY:
            dst, src = instruction.imm
            if dst in tables or src in tables:
                if not (dst in tables and src in tables):
                    raise _refused("table.copy between an externref and a funcref table", section="code",
                                   function_index=user_index, offset=instruction.start)
                new = ins("call", calls[("copy", dst, src)])
        elif op == _TABLE_INIT:
            if instruction.imm[1] in tables:
                raise _refused("table.init into an externref table", section="code", function_index=user_index,
                               offset=instruction.start)
        else:
            table = instruction.imm[0]
            if table in tables:
                new = ins("call", calls[(_TABLE_OPS[op], table)])
        if new is not None:
            instructions[position] = new
            changed = True
    return changed


def lower(module: Module) -> dict[str, Any]:
    """Lower every externref of ``module`` (decoded) in place; returns a summary."""
    _check_imports(module)
    imported_tables = [imp.desc for imp in module.imports if imp.kind == "table"]
    table_elements = [getattr(t, "element", "funcref") for t in imported_tables] + [t.element for t in module.tables]
    lowered_tables = [i for i, element in enumerate(table_elements) if element in EXTERNREF_TYPES]
    imported_globals = [imp.desc.valtype for imp in module.imports if imp.kind == "global"]  # type: ignore[union-attr]
    global_types = imported_globals + [g.valtype for g in module.globals]
    original_types = module.type_defs()
    _lower_types(module)
    _lower_globals(module)
    _lower_tables(module, len(imported_tables), lowered_tables)
    wanted: list[tuple[tuple[Any, ...], FuncType, str]] = [
        ((op, t), sig, import_name(op, t)) for t in lowered_tables for op, sig in OPERATIONS.items()
    ]
    wanted += [(("copy", d, s), _COPY, import_name("copy", d, s)) for d in lowered_tables for s in lowered_tables]
    indices = module.add_imports(
        [ImportDef(TRANSFORM_NAMESPACE, name, "func", module.add_type(sig)) for _, sig, name in wanted]
    )
    calls = {key: index for (key, _, _), index in zip(wanted, indices, strict=True)}
    lowering = _Lowering(
        module, calls, frozenset(lowered_tables), original_types, table_elements, global_types, len(wanted)
    )
    touched = [index for index, body in module.function_bodies() if _lower_body(lowering, index, body)]
    return {
        "externref_tables": lowered_tables,
        "imports_added": [name for _, _, name in wanted],
        "functions_touched": len(touched),
    }


def apply(data: bytes, outline_: WasmModule) -> bytes:
    if not externref_tables(outline_) and not needs(outline_):
        return data
    module = decode_module(data)
    lower(module)
    return encode_module(module)


def _host_imports(ctx: HostContext) -> dict[str, Callable[..., Any]]:
    store = ctx.values
    if not isinstance(store, HandleStore):
        raise UnsupportedFeature(f"the externref lowering needs the 'handles' value store, not {store.kind!r}")
    return store.table_imports()


EXTERNREF = Transform(
    name="externref_lowering",
    version=1,
    provides=frozenset({"externref_crossing", "reference_types"}),
    apply=apply,
    outline=outline,
    value_store="handles",
    host_imports=_host_imports,
)
