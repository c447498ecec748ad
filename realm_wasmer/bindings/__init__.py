"""Typed Python bindings from what a raw wasm-bindgen module says about itself.

``bind(source) -> BoundModule``. ``descriptors`` decodes the
``__wbindgen_describe_*`` words, ``program`` the ``__wasm_bindgen_unstable``
section; ``bind`` turns both into Python classes and functions (``naming``,
``hints``, ``convert``, ``lowering``, ``lifting``, ``generate``, ``runtime``,
``assemble``: see ``api``, which re-exports the public names); ``stubs`` writes
them as a ``.pyi``.
"""

from __future__ import annotations

from .api import (
    ArgumentError,
    ArgumentRangeError,
    BindingError,
    BoundModule,
    BoundObject,
    JsResultError,
    PySignature,
    bind,
    bind_instance,
    describe_api,
    describe_instance,
    member_names,
    python_signature,
    snake_case,
)

__all__ = [
    "ArgumentError",
    "ArgumentRangeError",
    "BindingError",
    "BoundModule",
    "BoundObject",
    "JsResultError",
    "PySignature",
    "bind",
    "bind_instance",
    "describe_api",
    "describe_instance",
    "member_names",
    "python_signature",
    "snake_case",
]
