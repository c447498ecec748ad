"""The ``__wasm_bindgen_unstable`` program of a raw module, and the bindable
API it describes.

The custom section is a sequence of blobs, each a little-endian u32 length and
its bytes: a JSON header ``{"schema_version": ..., "version": ...}``, then an
encoded ``Program`` (one pair per ``#[wasm_bindgen]`` item, concatenated by the
linker). The encoding (``wasm-bindgen-backend`` ``encode.rs``) is: LEB128 u32s,
strings as a length and UTF-8 bytes, vectors as a count and items, ``Option``
and ``bool`` as one byte, enums as a one-byte variant index then its payload,
structs as their fields in order. The structure is ``shared_api!`` in
``wasm-bindgen-shared`` and changes with each schema version: 0.2.83 is decoded
here; other schemas are refused by :func:`read_programs` with a clear message.

:func:`build_api` links each program export to its wasm export and its
descriptor (from :mod:`realm_wasmer.bindings.descriptors`), checks the wasm signature
the descriptor implies against the real one, and groups everything into
classes (constructor, methods, static methods, properties), free functions and
enums: the :class:`Api` that :mod:`realm_wasmer.bindings` turns into Python.
"""

from __future__ import annotations

import json
import keyword
import re
from typing import Any, Callable, Generic, Mapping, Optional, TypeVar

import attrs

from ..errors import InvalidModule
from ..errors import ProgramError as ProgramError
from ..wasm import FuncType, WasmModule, length_prefixed_blobs
from ..wasm import Reader as WasmReader
from . import descriptors as d
from .descriptors import UnsupportedSchema, UnsupportedType

SECTION = "__wasm_bindgen_unstable"
#: Schema versions whose program layout this module decodes.
PROGRAM_SCHEMAS = ("0.2.83",)

T = TypeVar("T")


# ---------------------------------------------------------------------------
# The program model (schema 0.2.83)
# ---------------------------------------------------------------------------


@attrs.frozen
class FunctionInfo:
    name: str
    arg_names: tuple[str, ...]
    asyncness: bool = False
    generate_typescript: bool = True
    variadic: bool = False


@attrs.frozen
class MethodKind:
    """``constructor``, or an operation: ``regular``, ``getter``, ``setter``,
    ``indexing_getter``, ``indexing_setter``, ``indexing_deleter``."""

    kind: str
    is_static: bool = False
    #: The property name of a getter or setter.
    property_name: Optional[str] = None

    @property
    def is_constructor(self) -> bool:
        return self.kind == "constructor"


@attrs.frozen
class ExportInfo:
    class_name: Optional[str]
    comments: tuple[str, ...]
    consumed: bool
    function: FunctionInfo
    method_kind: MethodKind
    start: bool

    @property
    def export_name(self) -> str:
        """The wasm export of this shim (``struct_function_export_name`` / ``free_function_export_name``)."""
        if self.class_name is None:
            return self.function.name
        return f"{self.class_name.lower()}_{self.function.name}"


@attrs.frozen
class EnumVariant:
    name: str
    value: int
    comments: tuple[str, ...] = ()


@attrs.frozen
class EnumInfo:
    name: str
    variants: tuple[EnumVariant, ...]
    comments: tuple[str, ...] = ()
    generate_typescript: bool = True


@attrs.frozen
class StructField:
    name: str
    readonly: bool
    comments: tuple[str, ...] = ()
    generate_typescript: bool = True


@attrs.frozen
class StructInfo:
    name: str
    fields: tuple[StructField, ...]
    comments: tuple[str, ...] = ()
    is_inspectable: bool = False
    generate_typescript: bool = True


@attrs.frozen
class ImportInfo:
    """A ``#[wasm_bindgen] extern`` item: ``kind`` is function, static, type or enum."""

    module: Optional[str]
    js_namespace: Optional[tuple[str, ...]]
    kind: str
    #: The import's shim name (its wasm import name) for functions and statics.
    shim: Optional[str] = None
    name: Optional[str] = None
    catch: bool = False
    variadic: bool = False
    method: Optional[tuple[str, MethodKind]] = None
    structural: bool = False
    function: Optional[FunctionInfo] = None


@attrs.frozen
class Program:
    exports: tuple[ExportInfo, ...]
    enums: tuple[EnumInfo, ...]
    imports: tuple[ImportInfo, ...]
    structs: tuple[StructInfo, ...]
    typescript_custom_sections: tuple[str, ...]
    local_modules: tuple[tuple[str, str], ...]
    inline_js: tuple[str, ...]
    unique_crate_identifier: str
    package_json: Optional[str]


_Item = TypeVar("_Item")


class _Merged(Generic[_Item]):
    """A read-only attribute of :class:`Programs`: the field of the same name of every
    program, concatenated."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, programs: Any, owner: Optional[type] = None) -> tuple[_Item, ...]:
        if programs is None:  # on the class: no programs to merge
            raise AttributeError(self.name)
        return tuple(item for program in programs.programs for item in getattr(program, self.name))


@attrs.frozen
class Programs:
    """Every program in the section, merged; ``schema_version``/``version`` from the headers."""

    schema_version: str
    version: Optional[str]
    programs: tuple[Program, ...]

    exports = _Merged[ExportInfo]()
    enums = _Merged[EnumInfo]()
    imports = _Merged[ImportInfo]()
    structs = _Merged[StructInfo]()


class _Reader(WasmReader):
    """wasm-bindgen's program encoding on top of the binary reader's LEB128 and
    byte access; running past the end or bad UTF-8 is a :class:`ProgramError`."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)

    def byte(self) -> int:
        try:
            return super().byte()
        except InvalidModule:
            raise ProgramError(f"program ended early at byte {self.pos}") from None

    def u32(self) -> int:
        return self.uleb()

    def bool(self) -> bool:
        value = self.byte()
        if value > 1:
            raise ProgramError(f"bad bool byte {value} at {self.pos - 1}")
        return bool(value)

    def string(self) -> str:
        start = self.pos
        try:
            return self.name()
        except InvalidModule as exc:
            reason = "is not UTF-8" if "UTF-8" in str(exc) else "runs past the program"
            raise ProgramError(f"the program string at byte {start} {reason} ({exc})") from None

    def vec(self, item: Callable[[], T]) -> tuple[T, ...]:
        return tuple(item() for _ in range(self.u32()))

    def option(self, item: Callable[[], T]) -> Optional[T]:
        flag = self.byte()
        if flag == 0:
            return None
        if flag != 1:
            raise ProgramError(f"bad Option tag {flag} at byte {self.pos - 1}")
        return item()

    def variant(self, names: tuple[str, ...]) -> str:
        index = self.byte()
        if index >= len(names):
            raise ProgramError(f"variant {index} out of range for {names} at byte {self.pos - 1}")
        return names[index]


def _function(r: _Reader) -> FunctionInfo:
    arg_names = r.vec(r.string)
    asyncness = r.bool()
    name = r.string()
    return FunctionInfo(name, arg_names, asyncness, r.bool(), r.bool())


def _method_kind(r: _Reader) -> MethodKind:
    if r.variant(("Constructor", "Operation")) == "Constructor":
        return MethodKind("constructor")
    is_static = r.bool()
    op = r.variant(("Regular", "Getter", "Setter", "IndexingGetter", "IndexingSetter", "IndexingDeleter"))
    if op in ("Getter", "Setter"):
        return MethodKind(op.lower(), is_static, r.string())
    snake = re.sub(r"(?<!^)([A-Z])", r"_\1", op).lower()
    return MethodKind(snake, is_static)


def _export(r: _Reader) -> ExportInfo:
    class_name = r.option(r.string)
    comments = r.vec(r.string)
    consumed = r.bool()
    function = _function(r)
    kind = _method_kind(r)
    return ExportInfo(class_name, comments, consumed, function, kind, r.bool())


def _enum(r: _Reader) -> EnumInfo:
    name = r.string()
    variants = r.vec(lambda: EnumVariant(r.string(), r.u32(), r.vec(r.string)))
    return EnumInfo(name, variants, r.vec(r.string), r.bool())


def _import(r: _Reader) -> ImportInfo:
    module: Optional[str] = None
    tag = r.option(lambda: r.variant(("Named", "RawNamed", "Inline")))
    if tag is not None:
        module = f"inline:{r.u32()}" if tag == "Inline" else r.string()
    namespace = r.option(lambda: r.vec(r.string))
    kind = r.variant(("Function", "Static", "Type", "Enum"))
    if kind == "Function":
        shim = r.string()
        catch, variadic, _assert_no_shim = r.bool(), r.bool(), r.bool()
        method = r.option(lambda: (r.string(), _method_kind(r)))
        structural = r.bool()
        function = _function(r)
        return ImportInfo(
            module, namespace, "function", shim, function.name, catch, variadic, method, structural, function
        )
    if kind == "Static":
        name = r.string()
        return ImportInfo(module, namespace, "static", r.string(), name)
    if kind == "Type":
        name = r.string()
        r.string()  # instanceof shim
        r.vec(r.string)  # vendor prefixes
        return ImportInfo(module, namespace, "type", None, name)
    return ImportInfo(module, namespace, "enum")


def _struct(r: _Reader) -> StructInfo:
    name = r.string()
    fields = r.vec(lambda: StructField(r.string(), r.bool(), r.vec(r.string), r.bool()))
    return StructInfo(name, fields, r.vec(r.string), r.bool(), r.bool())


def decode_program_0_2_83(data: bytes) -> Program:
    """One encoded ``Program`` of schema 0.2.83 (``wasm-bindgen-shared`` 0.2.83 ``shared_api!``)."""
    r = _Reader(data)
    program = Program(
        exports=r.vec(lambda: _export(r)),
        enums=r.vec(lambda: _enum(r)),
        imports=r.vec(lambda: _import(r)),
        structs=r.vec(lambda: _struct(r)),
        typescript_custom_sections=r.vec(r.string),
        local_modules=r.vec(lambda: (r.string(), r.string())),
        inline_js=r.vec(r.string),
        unique_crate_identifier=r.string(),
        package_json=r.option(r.string),
    )
    if r.pos != len(data):
        raise ProgramError(f"{len(data) - r.pos} bytes left over after a 0.2.83 program")
    return program


DECODERS: dict[str, Callable[[bytes], Program]] = {"0.2.83": decode_program_0_2_83}


def _blobs(data: bytes) -> list[bytes]:
    try:
        return length_prefixed_blobs(data)
    except InvalidModule as exc:
        raise ProgramError(f"the {SECTION} section is malformed: {exc}") from None


def read_programs(module: WasmModule) -> Programs:
    """Decode every program in the module's ``__wasm_bindgen_unstable`` sections."""
    sections = module.custom(SECTION)
    if not sections:
        raise UnsupportedSchema(
            f"the module has no {SECTION} section: it is not raw wasm-bindgen output "
            "(CLI-processed _bg.wasm files have no descriptors to bind from)"
        )
    schema: Optional[str] = None
    version: Optional[str] = None
    programs: list[Program] = []
    for section in sections:
        blobs = _blobs(section)
        if len(blobs) % 2:
            raise ProgramError(f"the {SECTION} section has an unpaired blob ({len(blobs)} blobs)")
        for header, body in zip(blobs[0::2], blobs[1::2], strict=True):
            try:
                meta = json.loads(header)
                this_schema = str(meta["schema_version"])
            except (ValueError, KeyError, TypeError):
                raise ProgramError(f"expected a JSON schema header in {SECTION}, found {header[:40]!r}") from None
            if schema is not None and this_schema != schema:
                raise UnsupportedSchema(f"the module mixes wasm-bindgen schemas {schema} and {this_schema}")
            schema = this_schema
            version = str(meta.get("version")) if meta.get("version") else version
            decoder = DECODERS.get(this_schema)
            if decoder is None:
                supported = ", ".join(PROGRAM_SCHEMAS)
                raise UnsupportedSchema(
                    f"the module's wasm-bindgen schema is {this_schema} (wasm-bindgen {meta.get('version')}); "
                    f"this library decodes programs of schema {supported} only"
                )
            programs.append(decoder(body))
    assert schema is not None
    return Programs(schema, version, tuple(programs))


# ---------------------------------------------------------------------------
# The API: program items linked to exports and descriptors
# ---------------------------------------------------------------------------


@attrs.frozen
class Param:
    #: A valid, non-keyword Python identifier.
    name: str
    #: As written in Rust (``r#type`` keeps its prefix here).
    rust_name: str
    type: d.Type


@attrs.frozen
class Member:
    """One bindable export: a free function, constructor, method, static
    method, or a property accessor."""

    js_name: str
    export: str
    #: function, constructor, method, static, getter, setter
    kind: str
    class_name: Optional[str]
    #: None, "ref" (``&self``/``&mut self``) or "consume" (``self`` by value).
    receiver: Optional[str]
    params: tuple[Param, ...]
    ret: d.Type
    descriptor: d.Function
    signature: FuncType
    comments: tuple[str, ...] = ()
    property_name: Optional[str] = None

    @property
    def rust_signature(self) -> str:
        receiver = {"ref": "&self", "consume": "self"}.get(self.receiver or "", "")
        args = ", ".join([receiver] * bool(receiver) + [f"{p.rust_name}: {p.type}" for p in self.params])
        ret = "" if isinstance(self.ret, d.Unit) else f" -> {self.ret}"
        return f"fn {self.js_name}({args}){ret}"


@attrs.frozen
class Property:
    name: str
    getter: Optional[Member]
    setter: Optional[Member]
    static: bool = False

    @property
    def type(self) -> d.Type:
        if self.getter is not None:
            return self.getter.ret
        assert self.setter is not None
        return self.setter.params[0].type


@attrs.frozen
class ApiClass:
    name: str
    free_export: Optional[str]
    constructor: Optional[Member]
    methods: tuple[Member, ...]
    statics: tuple[Member, ...]
    properties: tuple[Property, ...]
    comments: tuple[str, ...] = ()


@attrs.frozen
class Unbound:
    """A program export that is not bound, and why."""

    export: str
    js_name: str
    class_name: Optional[str]
    reason: str


@attrs.frozen
class Api:
    schema_version: str
    version: Optional[str]
    classes: dict[str, ApiClass]
    functions: dict[str, Member]
    enums: dict[str, EnumInfo]
    imports: tuple[ImportInfo, ...]
    unbound: tuple[Unbound, ...]
    #: Every decoded descriptor, keyed by the described name.
    descriptors: Mapping[str, d.Type] = attrs.field(repr=False, factory=dict)

    def member(self, export: str) -> Member:
        """The member bound to wasm export ``export``."""
        for member in self.members():
            if member.export == export:
                return member
        raise KeyError(export)

    def members(self) -> list[Member]:
        out: list[Member] = list(self.functions.values())
        for cls in self.classes.values():
            if cls.constructor:
                out.append(cls.constructor)
            out.extend(cls.methods)
            out.extend(cls.statics)
            for prop in cls.properties:
                out.extend(m for m in (prop.getter, prop.setter) if m is not None)
        return out


def python_identifier(name: str, taken: Optional[set[str]] = None) -> str:
    """A Rust/JS name as a usable Python identifier (``r#type`` -> ``type_``...)."""
    name = name[2:] if name.startswith("r#") else name
    name = re.sub(r"\W", "_", name) or "arg"
    if name[0].isdigit():
        name = "_" + name
    if keyword.iskeyword(name) or name in ("self", "cls"):
        name += "_"
    if taken is not None:
        base, n = name, 1
        while name in taken:
            n += 1
            name = f"{base}{n}"
        taken.add(name)
    return name


def _params(function: FunctionInfo, args: tuple[d.Type, ...]) -> tuple[Param, ...]:
    names = list(function.arg_names) + [f"arg{i}" for i in range(len(function.arg_names), len(args))]
    taken: set[str] = set()
    return tuple(Param(python_identifier(n, taken), n, t) for n, t in zip(names, args, strict=False))


def _unsupported_reason(member_fn: d.Function, export: ExportInfo) -> Optional[str]:
    if export.function.asyncness:
        return "async functions return a JS Promise, which a Python host cannot await"
    if export.function.variadic:
        return "variadic functions are not supported"
    for ty in (*member_fn.args, member_fn.ret):
        for node in d.walk(ty):
            if isinstance(node, (d.Function, d.Closure)):
                return f"closure types ({node}) cannot cross from Python"
            if isinstance(node, d.Int) and (node.bits == 128 or node.as_f64):
                return f"{node} is not supported"
            if isinstance(node, (d.StringEnum, d.NonNull, d.RawPointer)):
                return f"{node} is not supported"
    return None


def build_api(programs: Programs, module: WasmModule, descriptors: Mapping[str, d.Type]) -> Api:
    """Link each program export to its wasm export and descriptor, check the
    signatures, and group the result into classes, functions and enums."""
    functions = dict(module.function_exports())
    unbound: list[Unbound] = []
    members: list[Member] = []
    for export in programs.exports:
        name = export.export_name
        js_name = export.function.name
        kind = export.method_kind
        if kind.kind == "setter" and js_name.startswith("set_") and kind.property_name:
            js_name = kind.property_name
        elif kind.kind == "getter" and kind.property_name:
            js_name = kind.property_name

        def skip(reason: str, export_name: str = name, shown: str = js_name, cls: Optional[str] = None) -> None:
            unbound.append(Unbound(export_name, shown, cls, reason))

        if export.start:
            skip("the start function runs at instantiation", cls=export.class_name)
            continue
        if kind.kind.startswith("indexing"):
            skip(f"{kind.kind} operations are for imports only", cls=export.class_name)
            continue
        sig = functions.get(name)
        desc = descriptors.get(name)
        if sig is None or desc is None:
            missing = "export" if sig is None else f"descriptor {d.DESCRIBE_PREFIX}{name}"
            skip(f"the module has no {missing}", cls=export.class_name)
            continue
        if not isinstance(desc, d.Function):
            skip(f"its descriptor is {desc}, not a function", cls=export.class_name)
            continue
        reason = _unsupported_reason(desc, export)
        receiver: Optional[str] = None
        if export.class_name is not None and not kind.is_constructor and not kind.is_static:
            receiver = "consume" if export.consumed else "ref"
        if reason is None:
            try:
                expected = d.expected_signature(desc, receiver is not None)
            except UnsupportedType as exc:
                reason = str(exc)
            else:
                if expected != sig:
                    reason = f"its descriptor {desc} implies the wasm signature {expected}, but the export is {sig}"
        if reason is not None:
            skip(reason, cls=export.class_name)
            continue
        if export.class_name is None:
            member_kind = "function"
        elif kind.is_constructor:
            member_kind = "constructor"
        elif kind.kind in ("getter", "setter"):
            member_kind = kind.kind
        else:
            member_kind = "static" if kind.is_static else "method"
        members.append(
            Member(
                js_name=js_name,
                export=name,
                kind=member_kind,
                class_name=export.class_name,
                receiver=receiver,
                params=_params(export.function, desc.args),
                ret=desc.ret,
                descriptor=desc,
                signature=sig,
                comments=export.comments,
                property_name=kind.property_name,
            )
        )
    members.extend(_field_accessors(programs, functions, descriptors, unbound))
    return _group(programs, members, unbound, functions, descriptors)


def _field_accessors(
    programs: Programs,
    functions: dict[str, FuncType],
    descriptors: Mapping[str, d.Type],
    unbound: list[Unbound],
) -> list[Member]:
    """``pub`` fields of exported structs: ``__wbg_get_<struct>_<field>`` (described
    by the bare field type) and ``__wbg_set_<struct>_<field>``."""
    out: list[Member] = []
    for struct in programs.structs:
        lower = struct.name.lower()
        for field in struct.fields:
            getter = f"__wbg_get_{lower}_{field.name}"
            setter = f"__wbg_set_{lower}_{field.name}"
            ty = descriptors.get(getter)
            if ty is None or getter not in functions:
                unbound.append(Unbound(getter, field.name, struct.name, "the module has no getter or descriptor"))
                continue
            get_fn = d.Function(0, (), ty, ty)
            set_fn = d.Function(0, (ty,), d.Unit(), d.Unit())
            try:
                ok = d.expected_signature(get_fn, True) == functions[getter]
            except UnsupportedType as exc:
                unbound.append(Unbound(getter, field.name, struct.name, str(exc)))
                continue
            if not ok:
                unbound.append(Unbound(getter, field.name, struct.name, f"unexpected signature {functions[getter]}"))
                continue
            comments = field.comments
            out.append(
                Member(field.name, getter, "getter", struct.name, "ref", (), ty, get_fn, functions[getter], comments,
                       field.name)
            )
            if not field.readonly and setter in functions:
                param = (Param(python_identifier(field.name), field.name, ty),)
                out.append(
                    Member(field.name, setter, "setter", struct.name, "ref", param, d.Unit(), set_fn,
                           functions[setter], comments, field.name)
                )
    return out


def _group(
    programs: Programs,
    members: list[Member],
    unbound: list[Unbound],
    functions: dict[str, FuncType],
    descriptors: Mapping[str, d.Type],
) -> Api:
    class_names = [s.name for s in programs.structs]
    for member in members:
        if member.class_name and member.class_name not in class_names:
            class_names.append(member.class_name)
    classes: dict[str, ApiClass] = {}
    for name in class_names:
        mine = [m for m in members if m.class_name == name]
        ctors = [m for m in mine if m.kind == "constructor"]
        for extra in ctors[1:]:
            unbound.append(Unbound(extra.export, extra.js_name, name, "a class has one constructor"))
        props: dict[tuple[str, bool], dict[str, Member]] = {}
        for m in mine:
            if m.kind in ("getter", "setter"):
                key = (m.property_name or m.js_name, m.receiver is None)
                props.setdefault(key, {})[m.kind] = m
        free = f"__wbg_{name.lower()}_free"
        struct = next((s for s in programs.structs if s.name == name), None)
        classes[name] = ApiClass(
            name=name,
            free_export=free if free in functions else None,
            constructor=ctors[0] if ctors else None,
            methods=tuple(m for m in mine if m.kind == "method"),
            statics=tuple(m for m in mine if m.kind == "static"),
            properties=tuple(
                Property(pname, acc.get("getter"), acc.get("setter"), static) for (pname, static), acc in props.items()
            ),
            comments=struct.comments if struct else (),
        )
    return Api(
        schema_version=programs.schema_version,
        version=programs.version,
        classes=classes,
        functions={m.js_name: m for m in members if m.kind == "function"},
        enums={e.name: e for e in programs.enums},
        imports=programs.imports,
        unbound=tuple(unbound),
        descriptors=dict(descriptors),
    )


def api_summary(api: Api) -> dict[str, Any]:
    """A JSON-able overview: classes with their members, functions with their Rust signatures."""
    return {
        "schema_version": api.schema_version,
        "classes": {
            name: {
                "constructor": cls.constructor.rust_signature if cls.constructor else None,
                "methods": [m.rust_signature for m in cls.methods],
                "statics": [m.rust_signature for m in cls.statics],
                "properties": {p.name: {"type": str(p.type), "setter": p.setter is not None} for p in cls.properties},
            }
            for name, cls in api.classes.items()
        },
        "functions": {name: m.rust_signature for name, m in api.functions.items()},
        "enums": {name: {v.name: v.value for v in e.variants} for name, e in api.enums.items()},
        "unbound": [attrs.asdict(u) for u in api.unbound],
    }
