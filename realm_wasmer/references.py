"""Importable references ``"package.module:attr"``: how a spec names its imports so it pickles.

A :class:`~realm_wasmer.spec.LoadSpec` whose ``imports`` is an :class:`Imports` holds
Python callables, which a worker process cannot rebuild; given as a reference string
it stays a plain str, and each process resolves it where an instance is made::

    spec = LoadSpec("wasm/realm.wasm", imports="myapp.hosts:realm_imports")

The attribute named is an :class:`Imports`, a mapping ``(namespace, name) -> handler``,
or a zero-argument callable returning one of these; a callable is called once per
instance, so every instance (every pool session) gets its own host state.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Mapping, Optional

from .host.resolver import Imports

if TYPE_CHECKING:
    from .spec import LoadSpec

__all__ = ["import_reference", "is_reference", "resolve_imports"]


def is_reference(value: object) -> bool:
    """Whether ``value`` looks like ``"package.module:attr"`` (a module path, a colon, a name)."""
    if not isinstance(value, str) or value.count(":") != 1:
        return False
    module, attr = value.split(":")
    return bool(module) and bool(attr) and all(part.isidentifier() for part in (*module.split("."), *attr.split(".")))


def import_reference(reference: str) -> Any:
    """The object ``"package.module:attr.sub"`` names (the module is imported)."""
    if not is_reference(reference):
        raise ValueError(f"{reference!r} is not an importable reference of the form 'package.module:attr'")
    module_name, attr = reference.split(":")
    try:
        value: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(f"cannot import {module_name!r} (from the reference {reference!r}): {exc}") from exc
    for part in attr.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise AttributeError(f"{reference!r}: {module_name} has no attribute {attr!r}") from None
    return value


def resolve_imports(spec: "LoadSpec") -> Optional[Imports]:
    """``spec.imports`` as an :class:`Imports` (or None): a reference string is imported and,
    when it names a factory, called (once per call of this function: once per instance)."""
    value = spec.imports
    if value is None or isinstance(value, Imports):
        return value
    found = import_reference(value)
    if callable(found) and not isinstance(found, (Imports, Mapping)):
        found = found()
    if isinstance(found, Imports):
        return found
    if isinstance(found, Mapping):
        return Imports(dict(found))
    raise TypeError(
        f"the imports reference {value!r} gave a {type(found).__name__}: it must name an Imports, a mapping "
        "(namespace, name) -> handler, or a zero-argument callable returning one"
    )
