"""Typed Python bindings from what a raw wasm-bindgen module says about itself.

``bind(source) -> BoundModule``. ``descriptors`` decodes the
``__wbindgen_describe_*`` words, ``program`` the ``__wasm_bindgen_unstable``
section; ``bind`` turns both into Python classes and functions (``naming``,
``hints``, ``convert``, ``lowering``, ``lifting``, ``generate``, ``runtime``,
``assemble``: see ``api``, which re-exports the public names); ``stubs`` writes
them as a ``.pyi``.
"""

from __future__ import annotations

from . import api
from .api import *  # noqa: F403 (the public names, listed once in api.__all__)
from .api import bind_instance, describe_instance, member_names

__all__ = [*api.__all__, "bind_instance", "describe_instance", "member_names"]
