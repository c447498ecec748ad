"""What a wasm-bindgen module is, read from its bytes (and its glue, if given).

``inspect(path_or_bytes, glue=None) -> ModuleInfo``; ``ModuleInfo.to_json()``
gives the stable JSON form documented in ``docs/inspect-json.md``.

Everything is read from the module itself: import namespaces and names, export
names and signatures, globals, tables, and the ``producers`` and
``__wasm_bindgen_unstable`` custom sections. Where a role or a name can only be
guessed from a signature, the companion JS glue (``glue=``), when given, wins.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any, Optional, Union

import attrs

from .conventions import Conventions, derive
from .errors import InvalidModule
from .host.naming import parse_import_name
from .records import attributes
from .wasm import FuncType, WasmModule, length_prefixed_blobs, parse

RAW_NAMESPACE = "__wbindgen_placeholder__"
XFORM_NAMESPACE = "__wbindgen_externref_xform__"
ROLE_NAMES = ("malloc", "realloc", "free", "exn_store", "add_to_stack_pointer", "start")
NAMED_ROLES = {
    "__wbindgen_malloc": "malloc",
    "__wbindgen_realloc": "realloc",
    "__wbindgen_free": "free",
    "__wbindgen_exn_store": "exn_store",
    "__wbindgen_add_to_stack_pointer": "add_to_stack_pointer",
    "__wbindgen_start": "start",
}
ANONYMOUS_EXPORT = re.compile(r"^__wbindgen_export(_?\d+)?$")

_I = "i32"
ROLE_SIGNATURES = {
    # role: {allocator arity: signature}
    "malloc": {1: FuncType((_I,), (_I,)), 2: FuncType((_I, _I), (_I,))},
    "realloc": {1: FuncType((_I, _I, _I), (_I,)), 2: FuncType((_I, _I, _I, _I), (_I,))},
    "free": {1: FuncType((_I, _I), ()), 2: FuncType((_I, _I, _I), ())},
}
EXN_STORE_SIGNATURE = FuncType((_I,), ())
ADD_TO_SP_SIGNATURE = FuncType((_I,), (_I,))


@attrs.frozen
class Constructor:
    """How a class's objects are made.

    ``pattern`` 1: the export returns the object pointer (``() -> i32``).
    ``pattern`` 2: a C-style ``#[no_mangle] extern "C"`` export returning a raw
    pointer to the bare struct (no wasm-bindgen cell around it).
    ``pattern`` 3: the object comes back as a Result through an out-pointer: the
    first parameter is the slot the callee writes ``[ptr, err, is_err]`` into;
    with ``multi_value`` the same three words are returned as wasm results.
    """

    export: str
    pattern: int
    multi_value: bool
    signature: FuncType

    def to_json(self) -> dict[str, Any]:
        return {**attributes(self, "export", "pattern", "multi_value"), "signature": str(self.signature)}


@attrs.frozen
class ClassInfo:
    name: str
    #: The export prefix: the lowercased class name (``realm`` for ``Realm``).
    prefix: str
    constructor: Optional[Constructor]
    #: Every constructor-shaped export, the primary one first.
    constructors: tuple[Constructor, ...]
    free: Optional[str]
    free_arity: Optional[int]
    methods: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "constructor": self.constructor.to_json() if self.constructor else None,
            "constructors": [c.to_json() for c in self.constructors],
            "free": self.free,
            "free_arity": self.free_arity,
            "methods": list(self.methods),
        }


@attrs.frozen
class ImportInfo:
    module: str
    name: str
    signature: str
    #: intrinsic, shim, host or unknown (see docs/inspect-json.md).
    kind: str
    #: Which resolver answers it with the default chain (filled by ``Instance``
    #: or by ``inspect(..., resolve=True)``); None when not resolved yet.
    resolver: Optional[str] = None
    description: Optional[str] = None

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class ModuleInfo:
    flavour: str
    import_namespace: Optional[str]
    #: Everything the host must honour, derived once (see :mod:`realm_wasmer.conventions`).
    conventions: Conventions
    roles: dict[str, Optional[str]]
    classes: dict[str, ClassInfo]
    imports: tuple[ImportInfo, ...]
    wasm_bindgen_version: Optional[str]
    schema_version: Optional[str]
    #: Imports the glue wraps in ``handleError`` (``#[wasm_bindgen(catch)]``).
    catch_imports: frozenset[str]
    #: ``__wbindgen_cast_<id>`` import -> what the glue's body does (``string``:
    #: getStringFromWasm0(ptr, len); ``identity``: the argument itself).
    casts: dict[str, str]
    module: WasmModule = attrs.field(repr=False)

    @property
    def features(self) -> dict[str, Any]:
        """The conventions as the ``features`` object of ``inspect --json``."""
        return self.conventions.features()

    @property
    def stack_pointer_global(self) -> Optional[str]:
        """The stack-pointer global's export name when the stack pointer is a global."""
        return self.conventions.stack_pointer_global

    def class_info(self, name: str) -> ClassInfo:
        """Look a class up by its JS name or export prefix, case-insensitively."""
        key = name.lower()
        for info in self.classes.values():
            if info.prefix == key or info.name.lower() == key:
                return info
        from .errors import ClassNotFound

        known = ", ".join(sorted(self.classes)) or "none"
        raise ClassNotFound(f"the module has no class {name!r} (classes found: {known})")

    def to_json(self) -> dict[str, Any]:
        return {
            **attributes(self, "flavour", "import_namespace", "wasm_bindgen_version", "schema_version"),
            "features": dict(self.features),
            "roles": dict(self.roles),
            "stack_pointer_global": self.stack_pointer_global,
            "catch_imports": sorted(self.catch_imports),
            "casts": dict(sorted(self.casts.items())),
            "classes": {name: info.to_json() for name, info in sorted(self.classes.items())},
            "imports": [imp.to_json() for imp in self.imports],
        }

    def with_resolutions(self, resolutions: dict[tuple[str, str], tuple[str, str, str]]) -> "ModuleInfo":
        """A copy whose imports carry (kind, resolver, description) from an instance's chain."""
        imports = []
        for imp in self.imports:
            found = resolutions.get((imp.module, imp.name))
            if found:
                kind, resolver, description = found
                imports.append(attrs.evolve(imp, kind=kind, resolver=resolver, description=description))
            else:
                imports.append(imp)
        return attrs.evolve(self, imports=tuple(imports))


_GLUE_REFERENCE = re.compile(r"""(?:from|require\()\s*["'](\./[\w.-]+_bg\.(?:js|cjs|mjs))["']""")


def read_glue(path: Path) -> str:
    """The glue text at ``path``, plus the ``*_bg.js`` it re-exports or requires
    (bundler and CommonJS loaders keep the real glue there)."""
    text = path.read_text()
    for match in _GLUE_REFERENCE.finditer(text):
        companion = path.parent / match.group(1)
        if companion.is_file() and companion != path:
            text += "\n" + companion.read_text()
    return text


def _read_bytes(path_or_bytes: Union[str, Path, bytes, bytearray, memoryview]) -> bytes:
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        return bytes(path_or_bytes)
    return Path(path_or_bytes).read_bytes()


def _producers(module: WasmModule) -> dict[str, list[tuple[str, str]]]:
    from .wasm import Reader

    sections = module.custom("producers")
    if not sections:
        return {}
    reader = Reader(sections[0])
    fields: dict[str, list[tuple[str, str]]] = {}
    try:
        for _ in range(reader.uleb()):
            field = reader.name()
            fields[field] = [(reader.name(), reader.name()) for _ in range(reader.uleb())]
    except InvalidModule:  # a malformed producers section only loses the version
        return fields
    return fields


def _schema_version(module: WasmModule) -> Optional[str]:
    for data in module.custom("__wasm_bindgen_unstable"):
        try:
            blobs = length_prefixed_blobs(data)
        except InvalidModule:
            continue
        for blob in blobs:
            if blob[:1] == b"{":
                try:
                    return str(json.loads(blob)["schema_version"])
                except (ValueError, KeyError):
                    continue
    return None


def _roles_from_glue(glue: str) -> dict[str, str]:
    roles: dict[str, str] = {}
    match = re.search(r"passStringToWasm0\([^,()]+,\s*wasm\.(\w+),\s*wasm\.(\w+)\)", glue)
    if match:
        roles["malloc"], roles["realloc"] = match.group(1), match.group(2)
    match = re.search(r"wasm\.(\w+)\(addHeapObject\(e\)\)", glue) or re.search(r"wasm\.(\w+)\(idx\);\s*\}\s*\}", glue)
    if match:
        roles["exn_store"] = match.group(1)
    match = re.search(r"wasm\.(\w+)\(deferred\d+_0,\s*deferred\d+_1", glue) or re.search(
        r"wasm\.(\w+)\(r0,\s*r1\s*\*\s*\d+", glue
    )
    if match:
        roles["free"] = match.group(1)
    match = re.search(r"wasm\.(\w+)\.value\s*-\s*16", glue)
    if match:
        roles["stack_pointer_global"] = match.group(1)
    return roles


CATCH_PATTERNS = (
    re.compile(r"export const (\w+) = handleError\("),  # 0.2.68 (photon)
    re.compile(r"function (\w+)\(\)\s*\{\s*return handleError\("),  # 0.2.100 (tiktoken)
    re.compile(r"\.(\w+) = function\(\)\s*\{\s*return handleError\("),  # 0.2.92 web (resvg)
)


_CAST_BODY = re.compile(
    r"(__wbindgen_cast_[0-9a-f]{16})\s*(?::\s*function|=\s*function|\()[^{]*\{\s*(?:const|let|var) ret = ([^;]+);"
)


def casts_from_glue(glue: str) -> dict[str, str]:
    """What each ``__wbindgen_cast_<id>`` import does, from the glue's function body."""
    kinds: dict[str, str] = {}
    for match in _CAST_BODY.finditer(glue):
        body = match.group(2).strip()
        if re.fullmatch(r"getStringFromWasm0\(arg0,\s*arg1\)", body):
            kinds[match.group(1)] = "string"
        elif body == "arg0":
            kinds[match.group(1)] = "identity"
    return kinds


def catch_imports_from_glue(glue: str) -> frozenset[str]:
    """Names of imports the glue wraps in handleError, in the three glue styles of the corpus."""
    return frozenset(m.group(1) for pattern in CATCH_PATTERNS for m in pattern.finditer(glue))


def _allocator_arity(functions: dict[str, FuncType], named: dict[str, str]) -> int:
    if "malloc" in named:
        return len(functions[named["malloc"]].params)
    anonymous = [sig for name, sig in functions.items() if ANONYMOUS_EXPORT.match(name)]
    if ROLE_SIGNATURES["realloc"][2] in anonymous or ROLE_SIGNATURES["free"][2] in anonymous:
        return 2
    if ROLE_SIGNATURES["realloc"][1] in anonymous:
        return 1
    return 2


def _infer_roles(module: WasmModule, glue: Optional[str]) -> tuple[dict[str, Optional[str]], Optional[str]]:
    functions = dict(module.function_exports())
    roles: dict[str, Optional[str]] = {role: None for role in ROLE_NAMES}
    for name, role in NAMED_ROLES.items():
        if name in functions:
            roles[role] = name
    named = {role: name for role, name in roles.items() if name}
    arity = _allocator_arity(functions, named)
    anonymous = {name: sig for name, sig in functions.items() if ANONYMOUS_EXPORT.match(name)}
    for role in ("malloc", "realloc", "free"):
        if roles[role] is None:
            matches = [name for name, sig in anonymous.items() if sig == ROLE_SIGNATURES[role][arity]]
            if len(matches) == 1:
                roles[role] = matches[0]
    if roles["exn_store"] is None:
        matches = [name for name, sig in anonymous.items() if sig == EXN_STORE_SIGNATURE]
        if len(matches) == 1:
            roles["exn_store"] = matches[0]
    stack_global: Optional[str] = None
    glue_roles = _roles_from_glue(glue) if glue else {}
    for role, name in glue_roles.items():
        if role in roles and name in functions:
            roles[role] = name
    if glue_roles.get("stack_pointer_global"):
        stack_global = glue_roles["stack_pointer_global"]
    elif roles["add_to_stack_pointer"] is None:
        stack_global = _stack_pointer_global(module)
    return roles, stack_global


def _stack_pointer_global(module: WasmModule) -> Optional[str]:
    """An exported mutable i32 global with a nonzero initial value: wasm-bindgen's
    own rule for finding ``__stack_pointer`` (wasm-conventions ``get_stack_pointer``)."""
    candidates = []
    for export in module.exports:
        if export.kind != "global":
            continue
        glob = module.globals[export.index]
        if glob.type.valtype == "i32" and glob.type.mutable and glob.init:
            candidates.append(export.name)
    if "__stack_pointer" in candidates:
        return "__stack_pointer"
    return candidates[0] if len(candidates) == 1 else None


def _classes(module: WasmModule, glue: Optional[str], raw: bool) -> dict[str, ClassInfo]:
    functions = dict(module.function_exports())
    described = {name[len("__wbindgen_describe_") :] for name in functions if name.startswith("__wbindgen_describe_")}
    prefixes = sorted(
        {m.group(1) for name in functions if (m := re.match(r"^__wbg_([a-z0-9_]+?)_free$", name))},
        key=len,
        reverse=True,
    )
    js_names: dict[str, str] = {}
    for prefix in prefixes:
        found = _name_in_program(module, prefix)
        if found:
            js_names[prefix] = found
    if glue:
        for match in re.finditer(r"class (\w+)\s*\{|(\w+) = class(?:\s+\w+)?\s*\{", glue):
            js_name = match.group(1) or match.group(2)
            js_names[js_name.lower()] = js_name
    classes: dict[str, ClassInfo] = {}
    claimed: set[str] = set()
    for prefix in prefixes:
        free_name = f"__wbg_{prefix}_free"
        members = sorted(
            name
            for name in functions
            if name.startswith(prefix + "_") and name not in claimed and not name.startswith("__")
        )
        getters = sorted(
            name for name in functions if name.startswith((f"__wbg_get_{prefix}_", f"__wbg_set_{prefix}_"))
        )
        claimed.update(members)
        constructors: list[Constructor] = []
        for name in members:
            sig = functions[name]
            if raw and name not in described:
                # Exported, but not by #[wasm_bindgen]: a C-style export.
                if name.endswith(("_new", "_create")) and not sig.params and sig.results == ("i32",):
                    constructors.append(Constructor(name, 2, False, sig))
                continue
            if name != f"{prefix}_new":
                continue
            constructors.append(_constructor(name, sig))
        constructors.sort(key=lambda c: (c.export != f"{prefix}_new", c.pattern == 2))
        name = js_names.get(prefix, prefix)
        classes[name] = ClassInfo(
            name=name,
            prefix=prefix,
            constructor=constructors[0] if constructors else None,
            constructors=tuple(constructors),
            free=free_name,
            free_arity=len(functions[free_name].params),
            methods=tuple(
                m for m in members if m != f"{prefix}_new" and not (raw and m not in described)
            )
            + tuple(getters),
        )
    # C-style classes: an ``X_new``/``X_create`` export ``() -> i32`` with a
    # matching ``X_free (i32) -> ()``, not already part of a wasm-bindgen class.
    for name, sig in sorted(functions.items()):
        c_match = re.match(r"^([A-Za-z0-9_]+?)_(new|create)$", name)
        if not c_match or name in claimed or name.startswith("__") or sig.params or sig.results != ("i32",):
            continue
        base = c_match.group(1)
        if functions.get(f"{base}_free") != FuncType(("i32",), ()):
            continue
        prefix = base[:-2] if base.endswith("_c") else base
        if any(info.prefix == prefix for info in classes.values()):
            continue
        ctor = Constructor(name, 2, False, sig)
        c_members = tuple(sorted(n for n in functions if n.startswith(base + "_") and n != name))
        classes[prefix] = ClassInfo(prefix, prefix, ctor, (ctor,), f"{base}_free", 1, c_members)
    return classes


def _name_in_program(module: WasmModule, prefix: str) -> Optional[str]:
    """A raw module's struct name as written in Rust (``Realm`` for prefix
    ``realm``): a length-prefixed string in the ``__wasm_bindgen_unstable``
    program whose lowercase form is the export prefix. (Issue 5 decodes the
    program fully; this finds only the casing of class names.)"""
    target = prefix.encode()
    size = len(target)
    for data in module.custom("__wasm_bindgen_unstable"):
        start = 0
        while True:
            pos = data.lower().find(target, start)
            if pos < 0:
                break
            start = pos + 1
            candidate = data[pos : pos + size]
            after = data[pos + size : pos + size + 1]
            if pos > 0 and data[pos - 1] == size and candidate.isalnum() and not (after.isalnum() or after == b"_"):
                return candidate.decode()
    return None


def _constructor(name: str, sig: FuncType) -> Constructor:
    if len(sig.results) == 3:
        return Constructor(name, 3, True, sig)
    if not sig.results and sig.params and sig.params[0] == "i32":
        return Constructor(name, 3, False, sig)
    return Constructor(name, 1, False, sig)


def _import_kind(module_name: str, name: str, namespaces: set[str]) -> str:
    parsed = parse_import_name(name)
    if module_name == XFORM_NAMESPACE or parsed.form in ("intrinsic", "cast"):
        return "intrinsic"
    if module_name in namespaces and parsed.form == "binding":
        return "shim"
    if module_name in namespaces:
        return "unknown"
    return "host"


def glue_text(glue: Optional[Union[str, Path]], glue_path: Optional[Union[str, Path]] = None) -> Optional[str]:
    """The glue's text from ``glue`` (text; a ``Path`` object is read as a path) or
    from the file ``glue_path`` (with the ``*_bg.js`` it re-exports). A str given as
    ``glue`` is always text, even when a file of that name exists."""
    if glue is not None and glue_path is not None:
        raise TypeError("give the glue as text (glue=) or as a file (glue_path=), not both")
    if isinstance(glue, Path):
        glue_path = glue
    elif glue is not None:
        return glue
    return read_glue(Path(glue_path)) if glue_path is not None else None


def inspect(
    path_or_bytes: Union[str, Path, bytes, bytearray, memoryview],
    glue: Optional[Union[str, Path]] = None,
    *,
    glue_path: Optional[Union[str, Path]] = None,
    module: Optional[WasmModule] = None,
) -> ModuleInfo:
    """Read a wasm-bindgen module (raw cargo output or a CLI-processed ``_bg.wasm``).

    ``glue`` is the companion JS text (``glue_path`` its file); it settles export
    roles and class names that the wasm alone can only infer. ``module`` is the
    already-decoded outline of the same bytes (the load pipeline passes it).
    Bad paths raise ``FileNotFoundError``/``IsADirectoryError`` as Python does.
    """
    if module is None:
        module = parse(_read_bytes(path_or_bytes))
    glue_text_ = glue_text(glue, glue_path)
    functions = dict(module.function_exports())
    import_modules = Counter(
        imp.module
        for imp in module.imports
        if imp.module != XFORM_NAMESPACE and parse_import_name(imp.name).form in ("intrinsic", "binding", "cast")
    )
    raw = (
        RAW_NAMESPACE in import_modules
        or bool(module.custom("__wasm_bindgen_unstable"))
        or any(name.startswith("__wbindgen_describe_") for name in functions)
    )
    namespace = import_modules.most_common(1)[0][0] if import_modules else None
    namespaces = set(import_modules)
    roles, stack_global = _infer_roles(module, glue_text_)
    classes = _classes(module, glue_text_, raw)
    producers = _producers(module)
    wb_version = next((v.split()[0] for n, v in producers.get("processed-by", []) if n == "wasm-bindgen" and v), None)
    schema = _schema_version(module)
    conventions = derive(
        module,
        version=wb_version or schema,
        flavour="raw" if raw else "cli",
        roles=roles,
        stack_pointer_global=stack_global,
        class_free_arities=[c.free_arity for c in classes.values() if c.free_arity is not None],
        glue=glue_text_,
    )
    imports = tuple(
        ImportInfo(imp.module, imp.name, str(imp.type), _import_kind(imp.module, imp.name, namespaces))
        for imp in module.imports
        if imp.kind == "func"
    )
    return ModuleInfo(
        flavour="raw" if raw else "cli",
        import_namespace=namespace,
        conventions=conventions,
        roles=roles,
        classes=classes,
        imports=imports,
        wasm_bindgen_version=wb_version,
        schema_version=schema,
        catch_imports=catch_imports_from_glue(glue_text_) if glue_text_ else frozenset(),
        casts=casts_from_glue(glue_text_) if glue_text_ else {},
        module=module,
    )
