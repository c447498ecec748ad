"""What a wasm-bindgen module expects of its host, derived once.

Every difference between wasm-bindgen versions (and between a raw module and a
CLI-processed one) that the host must honour is a field of :class:`Conventions`,
computed by :func:`derive` from three sources, in order of authority: the glue
(when given), the module itself, and the version table :data:`ERAS`. Code that
needs a convention reads the field; no other module compares versions.
"""

from __future__ import annotations

import re
from typing import Any, Optional

import attrs

from .records import attributes
from .wasm import FuncType, WasmModule

Version = tuple[int, int, int]


@attrs.frozen
class Era:
    """One fact that changed with wasm-bindgen's version: ``values`` lists
    ``(first version, value)`` in order; ``unknown`` is assumed when the module
    carries no version and nothing else settles it."""

    fact: str
    values: tuple[tuple[Version, Any], ...]
    unknown: Any
    source: str

    def at(self, version: Optional[Version]) -> Any:
        if version is None:
            return self.unknown
        value = self.values[0][1]
        for since, candidate in self.values:
            if version >= since:
                value = candidate
        return value


#: Every version threshold the host knows, written once.
ERAS: dict[str, Era] = {
    era.fact: era
    for era in (
        Era(
            "value_offset",
            (((0, 0, 0), 32), ((0, 2, 84), 128), ((0, 2, 109), 1024)),
            128,
            "slots reserved below undefined/null/true/false in the JS heap and the externref table "
            "(PR #3194 made it 128, PR #4957 1024)",
        ),
        Era(
            "option_f64",
            (((0, 0, 0), False), ((0, 2, 96), True)),
            False,
            "Option<u32>-like values cross as one f64 (None = 2**32 + 1) from 0.2.96",
        ),
        Era(
            "closures",
            (((0, 0, 0), "imports"), ((0, 2, 102), "casts")),
            "casts",
            "closures made by __wbindgen_closure_wrapper imports up to 0.2.101, by casts from 0.2.102",
        ),
        Era(
            "destroy_closure_export",
            (((0, 0, 0), False), ((0, 2, 115), True)),
            True,
            "closure destructors through the function table up to 0.2.114, __wbindgen_destroy_closure after",
        ),
        Era(
            "init_argument",
            (((0, 0, 0), "module"), ((0, 2, 93), "object")),
            "object",
            "the glue's initSync/init take the module itself up to 0.2.92, an object "
            "{module} / {module_or_path} from 0.2.93 (PR #3995; the old form logs a deprecation warning)",
        ),
    )
}


def version_tuple(version: Optional[str]) -> Optional[Version]:
    """``"0.2.92"`` (or ``"0.2.92 (abc)"``) -> ``(0, 2, 92)``; None when absent or unreadable."""
    if not version:
        return None
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    if not match:
        return None
    major, minor, patch = (int(g) for g in match.groups())
    return (major, minor, patch)


@attrs.frozen
class Conventions:
    """The host-facing conventions of one module (see the module docstring)."""

    #: wasm-bindgen's version (the producers section, else the schema version), as text and tuple.
    version: Optional[str]
    version_tuple: Optional[Version]
    #: "raw" (cargo output, before the wasm-bindgen CLI) or "cli".
    flavour: str
    #: How JS values cross: "heap" (i32 indices into a host slab) or "externref".
    value_store: str
    #: Slots below the constants undefined/null/true/false (JS heap or externref table).
    value_offset: int
    multi_value: bool
    malloc_arity: Optional[int]
    free_arity: Optional[int]
    class_free_arity: Any
    #: "function" (``__wbindgen_add_to_stack_pointer``), "global" (an exported
    #: mutable i32) or "none"; ``stack_pointer_global`` names the global.
    stack_pointer: str
    stack_pointer_global: Optional[str]
    exported_tables: tuple[str, ...]
    funcref_tables: tuple[str, ...]
    externref_tables: tuple[str, ...]
    option_f64: bool
    closures: str
    destroy_closure_export: bool
    #: The import namespaces that are wasm-bindgen's (intrinsics are answered only there).
    namespaces: frozenset[str]
    #: Export roles: malloc, realloc, free, exn_store, add_to_stack_pointer, start.
    roles: dict[str, Optional[str]] = attrs.field(eq=False)

    @property
    def externref(self) -> bool:
        return self.value_store == "externref"

    def features(self) -> dict[str, Any]:
        """The ``features`` object of ``inspect --json`` (docs/inspect-json.md)."""
        return {
            **attributes(
                self, "malloc_arity", "free_arity", "class_free_arity", "externref", "multi_value", "stack_pointer"
            ),
            "heap_offset": None if self.externref else self.value_offset,
            "exported_tables": list(self.exported_tables),
        }


#: Import namespaces wasm-bindgen uses: the raw module's placeholders, the web/no-modules
#: ``wbg``; the bundler and nodejs targets import from the glue file, ``./<name>_bg.js``.
BINDGEN_NAMESPACES = ("__wbindgen_placeholder__", "__wbindgen_externref_xform__", "wbg")
BINDGEN_NAMESPACE_SUFFIX = "_bg.js"


def is_bindgen_namespace(namespace: str) -> bool:
    return namespace in BINDGEN_NAMESPACES or namespace.endswith(BINDGEN_NAMESPACE_SUFFIX)


_GLUE_HEAP = re.compile(r"const heap = new Array\((\d+)\)")
#: Externref tables the CLI exports: ``__wbindgen_export_0`` before 0.2.105, then ``__wbindgen_externrefs``.
EXTERNREF_TABLE_NAMES = ("__wbindgen_externrefs", "__wbindgen_export_0")


def _value_offset(version: Optional[Version], glue: Optional[str], module: WasmModule, externref: bool) -> int:
    if glue:
        match = _GLUE_HEAP.search(glue)
        if match:
            return int(match.group(1))
    if version is None and externref:
        # No version: the table the CLI preallocates tells the era (1028 or 1024 slots from 0.2.109).
        sizes = [t.limits.minimum for t in module.tables if t.element == "externref"]
        if sizes:
            return 1024 if max(sizes) >= 1024 else 128
    value: int = ERAS["value_offset"].at(version)
    return value


def derive(
    module: WasmModule,
    *,
    version: Optional[str],
    flavour: str,
    roles: dict[str, Optional[str]],
    stack_pointer_global: Optional[str],
    class_free_arities: list[int],
    glue: Optional[str] = None,
) -> Conventions:
    """The module's conventions (``inspect`` calls this; so should anyone else)."""
    parsed = version_tuple(version)
    functions = dict(module.function_exports())
    externref = any(t.element == "externref" for t in module.tables) or any(
        imp.kind == "func" and isinstance(imp.type, FuncType) and imp.type.uses_externref for imp in module.imports
    )
    malloc_sig = functions.get(roles.get("malloc") or "")
    free_sig = functions.get(roles.get("free") or "")
    if roles.get("add_to_stack_pointer"):
        stack_pointer = "function"
    elif stack_pointer_global:
        stack_pointer = "global"
    else:
        stack_pointer = "none"
    arities = sorted(set(class_free_arities))
    tables = [e for e in module.exports if e.kind == "table"]
    element = {e.name: getattr(e.type, "element", "") for e in tables}
    return Conventions(
        version=version,
        version_tuple=parsed,
        flavour=flavour,
        value_store="externref" if externref else "heap",
        value_offset=_value_offset(parsed, glue, module, externref),
        multi_value=any(sig.multi_value for sig in functions.values()),
        malloc_arity=len(malloc_sig.params) if malloc_sig else None,
        free_arity=len(free_sig.params) if free_sig else None,
        class_free_arity=arities[0] if len(arities) == 1 else (arities or None),
        stack_pointer=stack_pointer,
        stack_pointer_global=stack_pointer_global,
        exported_tables=tuple(e.name for e in tables),
        funcref_tables=tuple(name for name, kind in element.items() if kind == "funcref"),
        externref_tables=tuple(n for n in EXTERNREF_TABLE_NAMES if element.get(n) == "externref"),
        option_f64=ERAS["option_f64"].at(parsed),
        closures=ERAS["closures"].at(parsed),
        destroy_closure_export=ERAS["destroy_closure_export"].at(parsed),
        namespaces=frozenset(imp.module for imp in module.imports if is_bindgen_namespace(imp.module)),
        roles=dict(roles),
    )
