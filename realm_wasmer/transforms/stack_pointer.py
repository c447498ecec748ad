"""Export the shadow stack pointer of a module that does not export it.

A raw module (before the wasm-bindgen CLI) and a CLI module alike keep Rust's
``__stack_pointer`` global to themselves (the CLI exports
``__wbindgen_add_to_stack_pointer`` instead). The host can then neither snapshot
nor restore it: after a trap it may be left moved. This transform exports it as
:data:`EXPORT`, so :meth:`Instance.snapshot <realm_wasmer.instance.Instance.snapshot>`
(which takes every exported mutable global) includes it.

The global: the first *defined* mutable i32 global with a nonzero constant
initial value (LLVM puts ``__stack_pointer`` first; wasm-bindgen's own rule,
``wasm-conventions::get_stack_pointer``, is the same test). Nothing is done when
that global is already exported under some name.
"""

from __future__ import annotations

from typing import Optional

from ..wasm import WasmModule, decode_module, encode_module
from .base import Transform
from .edits import add_export

#: The name the stack pointer is exported under.
EXPORT = "__realm_stack_pointer"


def stack_pointer(outline: WasmModule) -> Optional[int]:
    """The global index of the shadow stack pointer (see the module docstring), or None."""
    first_defined = sum(1 for imp in outline.imports if imp.kind == "global")
    for index in range(first_defined, len(outline.globals)):
        glob = outline.globals[index]
        if glob.type.valtype == "i32" and glob.type.mutable and isinstance(glob.init, int) and glob.init:
            return index
    return None


def _unexported(outline: WasmModule) -> Optional[int]:
    index = stack_pointer(outline)
    if index is None or any(e.kind == "global" and e.index == index for e in outline.exports):
        return None
    if outline.export(EXPORT) is not None:
        return None
    return index


def needs(outline: WasmModule) -> dict[str, str]:
    """``stack_pointer_access`` when the module keeps its stack pointer global to itself."""
    index = _unexported(outline)
    return {} if index is None else {"stack_pointer_access": f"global {index} is not exported"}


def apply(data: bytes, outline: WasmModule) -> bytes:
    index = _unexported(outline)
    if index is None:
        return data
    module = decode_module(data)
    module.add_export(EXPORT, "global", index)
    return encode_module(module)


def outline(module: WasmModule) -> WasmModule:
    index = _unexported(module)
    return module if index is None else add_export(module, EXPORT, "global", index)


STACK_POINTER = Transform(
    name="stack_pointer_export",
    version=1,
    provides=frozenset({"stack_pointer_access"}),
    apply=apply,
    outline=outline,
)
