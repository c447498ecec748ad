"""What to load and how: one frozen record that load, bind, probe (and a pool) take.

>>> spec = LoadSpec("wasm/realm.wasm", engine="wasmtime", on_missing="error")
>>> instance = realm_wasmer.load(spec)
>>> bound = realm_wasmer.bind(spec.evolve(engine="wasmer-cranelift"))
>>> package = LoadSpec("node_modules/tiktoken", entry="lite/tiktoken.cjs")   # for a Pool

Every entry point also accepts a plain source with these fields as keywords
(``load("x.wasm", engine="wasmtime")``); they build the same record.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import attrs

from . import engines
from .cache import ArtifactCache
from .host.resolver import POLICIES, Imports, Resolver
from .inspection import glue_text
from .limits import Limits

#: A module: a path, or its bytes.
Source = Union[str, "PathLike[str]", bytes, bytearray, memoryview]
#: What ``imports=`` accepts: an :class:`Imports`, a mapping ``(namespace, name) -> handler``, or an
#: importable reference ``"package.module:attr"`` (kept as a str, so the spec pickles; resolved where an
#: instance is made, by :func:`realm_wasmer.references.resolve_imports`).
ImportsLike = Union[Imports, Mapping[tuple[str, str], Any], str, None]

#: ``transforms=``: "auto" rewrites the module where the engine lacks a capability it
#: needs (see the load pipeline); "none" never rewrites (such a module is refused).
TRANSFORM_MODES = ("auto", "none")


def _imports(value: ImportsLike) -> Union[Imports, str, None]:
    if value is None or isinstance(value, (Imports, str)):
        return value
    if isinstance(value, Mapping):
        return Imports(dict(value))
    raise TypeError(f"imports must be an Imports or a mapping (namespace, name) -> handler, not {type(value).__name__}")


def _source(value: Any) -> Any:
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, PathLike):
        return Path(value)
    return value


@attrs.frozen
class LoadSpec:
    """Where a module comes from and how to run it (see the module docstring)."""

    #: A path (str or Path) or the module's bytes.
    source: Any = attrs.field(converter=_source)
    #: One of ``realm_wasmer.engines.NAMES``.
    engine: str = engines.DEFAULT
    #: The user's import handlers.
    imports: Union[Imports, str, None] = attrs.field(default=None, converter=_imports, eq=False)
    #: What happens to an import no handler answers: "trap", "error" or "stub".
    on_missing: str = attrs.field(default="trap")
    #: The module's JS glue, as text (a ``Path`` object is read as ``glue_path``).
    glue: Optional[Union[str, Path]] = None
    #: The module's JS glue file (with the ``*_bg.js`` it re-exports or requires).
    glue_path: Optional[Path] = attrs.field(default=None, converter=attrs.converters.optional(Path))
    #: Run ``__wbindgen_start`` (or the start export) after instantiation.
    start: bool = True
    #: The compiled-artifact cache; None for the default (``$REALM_WASMER_CACHE``).
    cache: Optional[ArtifactCache] = attrs.field(default=None, eq=False)
    #: "auto" or "none" (see :data:`TRANSFORM_MODES`).
    transforms: str = attrs.field(default="auto")
    #: More import resolvers (e.g. one that runs a package's JS glue), asked after the
    #: user's handlers and wasm-bindgen's intrinsics, before the shims and the policy.
    resolvers: tuple[Resolver, ...] = attrs.field(default=(), converter=tuple, eq=False)
    #: What each call may use (:class:`~realm_wasmer.limits.Limits`); None: unlimited.
    limits: Optional[Limits] = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(Limits))
    )
    #: For an npm package source (a directory, ``.tgz`` or glue file): the build to load, a path
    #: inside the package (``load_package``'s ``entry=``); None: the entry Node would resolve.
    #: A spec with an entry always names a package. Its ``imports`` then name JS globals and
    #: wasm imports (``load_package``'s mapping), given as a reference ``"package.module:attr"``.
    entry: Optional[str] = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(str))
    )

    @on_missing.validator
    def _check_policy(self, attribute: Any, value: str) -> None:
        if value not in POLICIES:
            raise ValueError(f"on_missing must be one of {POLICIES}, not {value!r}")

    @transforms.validator
    def _check_transforms(self, attribute: Any, value: str) -> None:
        if value not in TRANSFORM_MODES:
            raise ValueError(f"transforms must be one of {TRANSFORM_MODES}, not {value!r}")

    @classmethod
    def of(cls, source: Union["LoadSpec", Source], **options: Any) -> "LoadSpec":
        """``source`` as a spec: a spec is returned with ``options`` applied; anything else becomes one."""
        if isinstance(source, LoadSpec):
            return source.evolve(**options) if options else source
        return cls(source, **options)

    def evolve(self, **changes: Any) -> "LoadSpec":
        return attrs.evolve(self, **changes)

    def read(self) -> bytes:
        """The module's bytes."""
        if isinstance(self.source, bytes):
            return self.source
        return Path(self.source).read_bytes()

    def glue_text(self) -> Optional[str]:
        """The glue's text (``glue``, or read from ``glue_path`` with the ``*_bg.js`` it
        re-exports), or None. A str given as ``glue`` is always text, never a path."""
        return glue_text(self.glue, self.glue_path)

    def label(self) -> str:
        """A short name for messages: the file name, or ``<N bytes>``."""
        if isinstance(self.source, bytes):
            return f"<{len(self.source)} bytes>"
        return Path(self.source).name
