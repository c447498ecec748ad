"""The entry points: :func:`bind` a module (or an instance) and :func:`describe_api` it.

Describing runs the module's ``__wbindgen_describe_*`` exports and decodes its
``__wasm_bindgen_unstable`` program into an :class:`~.program.Api`; binding
then assembles the :class:`~.runtime.BoundModule` of that API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional, Union

from .. import engines
from ..cache import ArtifactCache
from ..errors import ArgumentError, BindingError
from ..host.resolver import Imports
from ..instance import CompiledModule, Instance, Source, load
from ..spec import LoadSpec
from . import descriptors as d
from .assemble import assemble
from .convert import type_name
from .descriptors import UnsupportedSchema
from .program import Api, build_api, read_programs
from .runtime import BoundModule


def bind_instance(instance: Instance, label: Optional[str] = None) -> BoundModule:
    """Bind an existing instance (see :func:`bind`)."""
    return assemble(instance, describe_instance(instance), label)


def describe_instance(instance: Instance) -> Api:
    """Read the program, run every descriptor, and link them into an :class:`Api`."""
    programs = read_programs(instance.info.module)
    table = d.code_table_for(programs.schema_version)
    if not table.full:
        raise UnsupportedSchema(
            f"descriptor codes of schema {programs.schema_version} are known (table since {table.since}), "
            "but bindings are generated for schema 0.2.83 only"
        )
    descriptors = d.describe_all(instance, table)
    return build_api(programs, instance.info.module, descriptors)


def describe_api(
    source: Union[Source, CompiledModule], *, engine: str = engines.DEFAULT, cache: Optional[ArtifactCache] = None
) -> Api:
    """The :class:`Api` of a module, decoded from the module alone (its
    descriptors run on ``engine``; application imports are not needed)."""
    instance = load(source, engine=engine, on_missing="trap", start=False, cache=cache)
    return describe_instance(instance)


def _label(source: Any) -> str:
    if isinstance(source, (str, Path)):
        return Path(source).name
    if isinstance(source, LoadSpec):
        return source.label()
    if isinstance(source, Instance):
        return "instance"
    return "module"


def bind(module_or_path: Union[Source, LoadSpec, CompiledModule, Instance], **options: Any) -> BoundModule:
    """Typed bindings of a raw wasm-bindgen module, from its own descriptors.

    ``module_or_path`` is a path, the module's bytes, a
    :class:`~realm_wasmer.spec.LoadSpec`, a
    :class:`~realm_wasmer.instance.CompiledModule`, or an existing
    :class:`~realm_wasmer.instance.Instance` (then no options may be given).
    ``options`` are the :class:`~realm_wasmer.spec.LoadSpec` fields, exactly as
    for :func:`~realm_wasmer.instance.load`: ``imports`` supplies the
    application's host functions (an :class:`~realm_wasmer.host.resolver.Imports`,
    or a mapping ``(namespace, name) -> handler``), ``engine``, ``on_missing``, ``cache``...
    """
    if isinstance(module_or_path, Instance):
        if options:
            raise BindingError(
                f"bind(instance, {', '.join(options)}=...): "
                "an instance's imports and options were fixed when it was created"
            )
        return bind_instance(module_or_path, _label(module_or_path))
    imports = options.get("imports")
    if imports is not None and not isinstance(imports, (Imports, Mapping)):
        raise ArgumentError(f"bind() argument 'imports' must be an Imports or a mapping, got {type_name(imports)}")
    instance = load(module_or_path, **options)
    return bind_instance(instance, _label(module_or_path))
