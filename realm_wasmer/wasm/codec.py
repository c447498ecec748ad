"""A WebAssembly binary codec with an exact round trip: :func:`decode_module` and
:func:`encode_module`, and the :class:`Module` API a transform works with.

``encode_module(decode_module(data)) == data`` for every module this codec
reads: untouched sections, items, function bodies and instructions are copied
byte for byte (overlong LEBs included); only what a transform changed is
encoded, canonically. ``encode_module(module, canonical=True)`` encodes
everything afresh instead.

Function bodies are decoded lazily (``body.instructions``), so decoding and
re-encoding a large module touches only the bodies a transform looks at.

A transform's toolkit on :class:`Module`: ``types``/``imports``/``functions``/...
(the live item lists of each section), ``function_bodies()``, ``function_type()``,
``add_type()``, ``add_imports()``, ``add_export()``, ``add_function()``,
``shift_function_indices()`` and ``names()``.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional, Sequence

import attrs

from ..errors import InvalidModule, Malformed
from .instructions import Instruction
from .leb import read_u32, uleb
from .model import (
    SECTION_NAMES,
    SECTION_ORDER,
    DataSegment,
    ElementSegment,
    ExportDef,
    Expr,
    FunctionBody,
    GlobalDef,
    ImportDef,
    MemoryDef,
    RecGroup,
    Section,
    TableDef,
    TagDef,
    TypeDef,
    TypeEntry,
    codec_error,
    composite_of,
    same_objects,
    section_bytes,
)
from .names import NameSection, decode_names
from .opcodes import FUNCTION_INDEX_OPS
from .sections import VECTOR_READERS, VECTOR_WRITERS, Cursor, read_body_factory
from .types import FuncType

MAGIC = b"\0asm"
VERSION = b"\x01\0\0\0"


@attrs.define(eq=False)
class Module:
    """A decoded module: its sections in file order (custom sections where they were)."""

    sections: list[Section]
    source: bytes = attrs.field(default=b"", repr=False)
    header: bytes = MAGIC + VERSION

    # --- sections -------------------------------------------------------------------------------------------

    def section(self, section_id: int) -> Optional[Section]:
        """The (first) section with that id, or None."""
        return next((s for s in self.sections if s.id == section_id), None)

    def custom_sections(self, name: Optional[str] = None) -> list[Section]:
        return [s for s in self.sections if s.id == 0 and (name is None or s.name == name)]

    def ensure_section(self, section_id: int) -> Section:
        """The section with that id, created empty in its place if missing (an empty
        new section is not written)."""
        found = self.section(section_id)
        if found is not None:
            return found
        if section_id not in SECTION_ORDER:
            raise ValueError(f"cannot create a section with id {section_id}")
        rank = SECTION_ORDER.index(section_id)
        at = len(self.sections)
        for i, existing in enumerate(self.sections):
            if existing.id != 0 and SECTION_ORDER.index(existing.id) > rank:
                at = i
                break
        else:
            known = [i for i, s in enumerate(self.sections) if s.id != 0]
            at = known[-1] + 1 if known else len(self.sections)
        section = Section(section_id)
        self.sections.insert(at, section)
        return section

    def _items(self, section_id: int) -> list[Any]:
        return self.ensure_section(section_id).items

    def _existing(self, section_id: int) -> list[Any]:
        """The items of a section for reading: an empty list (not a new section) when it is missing."""
        section = self.section(section_id)
        return section.items if section is not None else []

    @property
    def types(self) -> list[TypeEntry]:
        """Type-section entries: type definitions and explicit recursion groups."""
        return self._items(1)

    @property
    def imports(self) -> list[ImportDef]:
        return self._items(2)

    @property
    def functions(self) -> list[int]:
        """The type index of each defined function (the function section)."""
        return self._items(3)

    @property
    def tables(self) -> list[TableDef]:
        return self._items(4)

    @property
    def memories(self) -> list[MemoryDef]:
        return self._items(5)

    @property
    def globals(self) -> list[GlobalDef]:
        return self._items(6)

    @property
    def exports(self) -> list[ExportDef]:
        return self._items(7)

    @property
    def elements(self) -> list[ElementSegment]:
        return self._items(9)

    @property
    def bodies(self) -> list[FunctionBody]:
        return self._items(10)

    @property
    def data(self) -> list[DataSegment]:
        return self._items(11)

    @property
    def tags(self) -> list[TagDef]:
        return self._items(13)

    @property
    def start(self) -> Optional[int]:
        section = self.section(8)
        return section.items[0] if section is not None and section.items else None

    @start.setter
    def start(self, index: Optional[int]) -> None:
        if index is None:
            self.sections = [s for s in self.sections if s.id != 8]
        else:
            self.ensure_section(8).items[:] = [index]

    # --- types and functions --------------------------------------------------------------------------------

    def type_defs(self) -> list[TypeDef]:
        """Every type definition in type-index order (recursion groups flattened)."""
        out: list[TypeDef] = []
        for entry in self._existing(1):
            out.extend(entry.types if isinstance(entry, RecGroup) else (entry,))
        return out

    def func_type(self, type_index: int) -> FuncType:
        composite = composite_of(self.type_defs()[type_index])
        if not isinstance(composite, FuncType):
            raise ValueError(f"type {type_index} is not a function type")
        return composite

    def set_func_type(self, type_index: int, func_type: FuncType) -> None:
        """Replace type ``type_index`` (a function type outside a recursion group) with ``func_type``."""
        position = 0
        for i, entry in enumerate(self.types):
            size = len(entry.types) if isinstance(entry, RecGroup) else 1
            if position + size > type_index:
                if isinstance(entry, RecGroup):
                    raise ValueError(f"type {type_index} is in a recursion group")
                self.types[i] = func_type
                return
            position += size
        raise IndexError(f"no type {type_index}")

    def add_type(self, func_type: FuncType, reuse: bool = True) -> int:
        """The index of ``func_type``: an existing plain entry when ``reuse``, else a new one at the end."""
        defs = self.type_defs()
        if reuse:
            plain = {id(e) for e in self.types if not isinstance(e, RecGroup)}
            for index, typedef in enumerate(defs):
                if typedef == func_type and id(typedef) in plain:
                    return index
        self.types.append(func_type)
        return len(defs)

    @property
    def imported_function_count(self) -> int:
        return sum(1 for imp in self._existing(2) if imp.kind == "func")

    def function_count(self) -> int:
        """Imported plus defined functions."""
        return self.imported_function_count + len(self._existing(3))

    def function_type_index(self, func_index: int) -> int:
        imported = [imp.desc for imp in self._existing(2) if imp.kind == "func"]
        if func_index < len(imported):
            return int(imported[func_index])
        return int(self._existing(3)[func_index - len(imported)])

    def function_type(self, func_index: int) -> FuncType:
        return self.func_type(self.function_type_index(func_index))

    def function_bodies(self) -> Iterator[tuple[int, FunctionBody]]:
        """``(function index, body)`` of every defined function."""
        first = self.imported_function_count
        for i, body in enumerate(self._existing(10)):
            yield first + i, body

    def body(self, func_index: int) -> FunctionBody:
        position = func_index - self.imported_function_count
        if position < 0:
            raise ValueError(f"function {func_index} is imported and has no body")
        body: FunctionBody = self._existing(10)[position]
        return body

    def instructions(self) -> Iterator[tuple[int, int, Instruction]]:
        """``(function index, position, instruction)`` over every body (decoding them all)."""
        for func_index, body in self.function_bodies():
            for position, ins in enumerate(body.instructions):
                yield func_index, position, ins

    # --- additions ------------------------------------------------------------------------------------------

    def add_imports(self, imports: Sequence[ImportDef]) -> list[int]:
        """Append imports; returns each one's index in its kind's index space.

        Function imports go after the existing ones, so every defined function's
        index moves up by the number of function imports added: this shifts them
        all (see :meth:`shift_function_indices`). Importing a table, memory, global
        or tag into a module that defines some of that kind raises ValueError."""
        defined = {"table": 4, "memory": 5, "global": 6, "tag": 13}
        for imp in imports:
            if imp.kind in defined and self._existing(defined[imp.kind]):
                raise ValueError(f"importing a {imp.kind} would move the module's own {imp.kind}s' indices "
                                 "(only function indices are shifted)")
        counts: dict[str, int] = {}
        for imp in self._existing(2):
            counts[imp.kind] = counts.get(imp.kind, 0) + 1
        first_defined = counts.get("func", 0)
        indices = []
        for imp in imports:
            indices.append(counts.get(imp.kind, 0))
            counts[imp.kind] = indices[-1] + 1
        added_funcs = sum(1 for imp in imports if imp.kind == "func")
        if added_funcs:
            self.shift_function_indices(added_funcs, first_defined)
        self.imports.extend(imports)
        return indices

    def add_import(self, imp: ImportDef) -> int:
        return self.add_imports([imp])[0]

    def add_export(self, name: str, kind: str, index: int) -> ExportDef:
        if any(e.name == name for e in self.exports):
            raise ValueError(f"an export named {name!r} exists")
        export = ExportDef(name, kind, index)
        self.exports.append(export)
        return export

    def add_custom_section(self, name: str, payload: bytes, position: Optional[int] = None) -> Section:
        """Add a custom section (at the end, or at ``position`` in ``sections``)."""
        section = Section(0, name=name, payload=payload)
        self.sections.insert(len(self.sections) if position is None else position, section)
        return section

    def add_function(
        self, type_index: int, locals: tuple[tuple[int, str], ...], instructions: list[Instruction]
    ) -> int:
        """Append a defined function; returns its function index."""
        if not instructions or instructions[-1].op != 0x0B:
            raise ValueError("a function body must end with `end`")
        self.functions.append(type_index)
        body = FunctionBody.new(locals, instructions, self.source)
        body.index = self.function_count() - 1
        self.bodies.append(body)
        return body.index

    # --- function index shift -------------------------------------------------------------------------------

    def shift_function_indices(self, delta: int, at: int = 0) -> None:
        """Add ``delta`` to every reference to a function index ``>= at``: calls,
        ``return_call``, ``ref.func`` (in bodies and constant expressions), element
        segments, exports, start and the name section's function, local and label names.
        Decodes every function body (only the bodies that change are re-encoded)."""
        bodies = self._existing(10)
        for position, body in enumerate(bodies):
            if body.decoded or body.code_start < 0:
                _shift_body(body, delta, at)
            else:
                bodies[position] = body = _shifted_bytes(body, delta, at)
            if body.index >= at:
                body.index += delta
        for section_id, shift in ((4, _shift_table), (6, _shift_global), (9, _shift_element), (7, _shift_export)):
            section = self.section(section_id)
            if section is not None:
                section.items[:] = [shift(item, delta, at) for item in section.items]
        if self.start is not None and self.start >= at:
            self.start = self.start + delta
        try:
            names = self.names()
        except InvalidModule:
            # A malformed name section would now name the wrong functions: drop it.
            self.sections = [s for s in self.sections if not (s.id == 0 and s.name == "name")]
            return
        if names is not None:
            names.shift_functions(delta, at)

    # --- names ----------------------------------------------------------------------------------------------

    def names(self) -> Optional[NameSection]:
        """The decoded ``name`` section (decoded once, on first call), or None."""
        section = next(iter(self.custom_sections("name")), None)
        if section is None:
            return None
        if section.names is None:
            base = section.end - len(section.payload) if not section.is_new else 0
            source = section.source if not section.is_new else section.payload
            section.names = decode_names(source, base, base + len(section.payload))
        names: NameSection = section.names
        return names

    # --- encoding -------------------------------------------------------------------------------------------

    def encode(self, canonical: bool = False) -> bytes:
        return encode_module(self, canonical=canonical)


def _shift_expr(expr: Optional[Expr], delta: int, at: int) -> Optional[Expr]:
    if expr is None or not any(ins.op in FUNCTION_INDEX_OPS and ins.imm[0] >= at for ins in expr):
        return expr
    return tuple(_shifted(ins, delta, at) for ins in expr)


def _shifted(ins: Instruction, delta: int, at: int) -> Instruction:
    if ins.op in FUNCTION_INDEX_OPS and ins.imm[0] >= at:
        return Instruction(ins.op, (ins.imm[0] + delta,) + ins.imm[1:])
    return ins


def _shift_body(body: FunctionBody, delta: int, at: int) -> None:
    instructions = body.instructions
    ops = FUNCTION_INDEX_OPS
    for i, ins in enumerate(instructions):
        if ins.op in ops and ins.imm[0] >= at:
            instructions[i] = Instruction(ins.op, (ins.imm[0] + delta,) + ins.imm[1:])


def _shifted_bytes(body: FunctionBody, delta: int, at: int) -> FunctionBody:
    """An undecoded body with its function indices shifted at the byte level (no instruction is
    built; the body stays undecoded): itself when none is ``>= at``."""
    edits = [
        (start, end, uleb(imm[0] + delta)) for _, imm, start, end in body.scan(FUNCTION_INDEX_OPS) if imm[0] >= at
    ]
    return body.with_immediates(edits) if edits else body


def _shift_table(table: TableDef, delta: int, at: int) -> TableDef:
    init = _shift_expr(table.init, delta, at)
    return table if init is table.init else attrs.evolve(table, init=init)


def _shift_global(glob: GlobalDef, delta: int, at: int) -> GlobalDef:
    init = _shift_expr(glob.init, delta, at)
    return glob if init is glob.init else attrs.evolve(glob, init=init)


def _shift_export(export: ExportDef, delta: int, at: int) -> ExportDef:
    if export.kind == "func" and export.index >= at:
        return attrs.evolve(export, index=export.index + delta)
    return export


def _shift_element(seg: ElementSegment, delta: int, at: int) -> ElementSegment:
    functions = seg.functions
    if any(f >= at for f in functions):
        functions = tuple(f + delta if f >= at else f for f in functions)
    expressions = tuple(_shift_expr(e, delta, at) or e for e in seg.expressions)
    offset = _shift_expr(seg.offset, delta, at)
    changed = functions is not seg.functions or offset is not seg.offset
    changed = changed or not same_objects(expressions, seg.expressions)
    return attrs.evolve(seg, functions=functions, expressions=expressions, offset=offset) if changed else seg


# --- decoding -----------------------------------------------------------------------------------------------------


def decode_module(data: bytes, decode_names_section: bool = False) -> Module:
    """Decode every section of ``data`` (function bodies' instructions lazily).

    Raises :class:`~realm_wasmer.errors.InvalidModule` naming the section and byte offset."""
    data = bytes(data)
    if data[:4] != MAGIC:
        raise codec_error("not a WebAssembly binary (missing the \\0asm magic)", offset=0)
    if data[4:8] != VERSION:
        raise codec_error(f"unsupported WebAssembly binary version {data[4:8].hex()} (expected 01000000)", offset=4)
    module = Module([], data, data[:8])
    pos = 8
    while pos < len(data):
        section, pos = _decode_section(data, pos, module)
        module.sections.append(section)
    if decode_names_section:
        module.names()
    return module


def _decode_section(data: bytes, pos: int, module: Module) -> tuple[Section, int]:
    start = pos
    section_id = data[pos]
    label = SECTION_NAMES.get(section_id, f"unknown id {section_id}")
    try:
        size, body = read_u32(data, pos + 1)
    except (Malformed, IndexError):
        raise codec_error("malformed section size", section=label, offset=pos + 1) from None
    end = body + size
    if end > len(data):
        raise codec_error(f"section of {size} bytes runs past the end of the file", section=label, offset=start)
    if section_id not in SECTION_NAMES:
        raise codec_error(f"unknown section id {section_id}", offset=start)
    cur = Cursor(data, body, end)
    section = Section(section_id, source=data, start=start, end=end)
    try:
        _decode_payload(section, cur, module)
    except Malformed as exc:
        raise codec_error(exc.message, section=_label(section), offset=exc.pos) from None
    except IndexError:
        raise codec_error("unexpected end of the file inside the section", section=_label(section),
                          offset=len(data)) from None
    except InvalidModule as exc:
        if getattr(exc, "section", None) is not None:
            raise
        raise codec_error(str(exc), section=_label(section), offset=cur.pos) from None
    return section, end


def _label(section: Section) -> str:
    return f"custom {section.name!r}" if section.id == 0 else SECTION_NAMES[section.id]


def _decode_payload(section: Section, cur: Cursor, module: Module) -> None:
    if section.id == 0:
        section.name = cur.name()
        section.payload = cur.data[cur.pos : cur.end]
        section.remember({})
        return
    if section.id in (8, 12):
        section.items = [cur.u32()]
        spans: dict[int, tuple[int, int]] = {}
    else:
        if section.id == 10:
            reader = read_body_factory(module.imported_function_count)
        else:
            reader = VECTOR_READERS[section.id]
        section.items, spans = _decode_vector(cur, reader)
    if cur.pos != cur.end:
        raise Malformed(f"{cur.end - cur.pos} bytes left over at the end of the section", cur.pos)
    section.remember(spans)


def _decode_vector(cur: Cursor, reader: Any) -> tuple[list[Any], dict[int, tuple[int, int]]]:
    """The items and ``id(item) -> span``; an object decoded from two different byte
    strings (a small int written canonically once and overlong elsewhere) gets no span."""
    items = []
    spans: dict[int, tuple[int, int]] = {}
    ambiguous = set()
    data = cur.data
    for _ in range(cur.count()):
        start = cur.pos
        item = reader(cur)
        items.append(item)
        key = id(item)
        old = spans.get(key)
        if old is not None and data[old[0] : old[1]] != data[start : cur.pos]:
            ambiguous.add(key)
        spans[key] = (start, cur.pos)
    for key in ambiguous:
        del spans[key]
    return items, spans


# --- encoding -----------------------------------------------------------------------------------------------------


def encode_module(module: Module, canonical: bool = False) -> bytes:
    """The module's bytes: untouched parts copied, changed parts encoded (everything
    encoded afresh when ``canonical``)."""
    parts = [module.header]
    if canonical:
        try:
            module.names()
        except InvalidModule:
            pass  # a malformed name section is copied as it is
    for section in module.sections:
        if section.is_new and not section.items and section.id != 0:
            continue
        if not canonical and not section.modified:
            parts.append(section.source[section.start : section.end])
        else:
            parts.append(section_bytes(section.id, _payload(section, canonical)))
    return b"".join(parts)


def _payload(section: Section, canonical: bool) -> bytes:
    source = None if canonical or section.is_new else section.source
    if section.id == 0:
        payload = section.payload
        if section.names is not None and (canonical or section.names.modified):
            payload = section.names.encode(canonical)
        raw_name = section.name.encode("utf-8")
        return uleb(len(raw_name)) + raw_name + payload
    if section.id in (8, 12):
        return uleb(section.items[0])
    writer = VECTOR_WRITERS[section.id]
    parts = [uleb(len(section.items))]
    for item in section.items:
        raw = None if source is None or section.id == 10 else section.item_bytes(item)
        parts.append(raw if raw is not None else writer(item, source))
    return b"".join(parts)
