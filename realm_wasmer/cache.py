"""An on-disk cache of compiled modules, so a module is compiled once per engine.

Compiling a large module is slow (a 2.4 MB module takes about two seconds on
cranelift) while loading a serialized artifact takes milliseconds, so
:class:`ArtifactCache` keeps each engine's serialized compiled module on disk.

Each entry is one file named by its key. The key is a sha256 over everything
that must match for an artifact to be reused: the sha256 of the wasm bytes, the
engine's name and ``cache_key_parts()`` (compiler and package versions), the
Python implementation and version, the platform and machine, and
:data:`FORMAT_VERSION`. Change any of them and the entry is a different file.

An entry is a fixed header followed by the payload (the engine's
``serialize()`` output)::

    offset  size  field
    0       8     MAGIC (b"RWARTFCT")
    8       4     FORMAT_VERSION, uint32 little-endian
    12      32    the key (raw sha256 digest)
    44      32    sha256 of the payload
    76      8     payload length, uint64 little-endian
    84      n     payload

Entries are written to a temporary file in the same directory, fsync'd and
``os.replace``'d into place, so a reader sees either no entry or a whole one
and concurrent writers of the same entry all succeed. The payload's checksum is
verified before the engine ever sees it (deserializing a damaged wasmer
artifact can crash the process); an entry that fails any check is recompiled
and rewritten. A cache directory that cannot be written never fails a load:
the module is compiled as if there were no cache, and a warning is logged once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import struct
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, Final, Literal, Optional, Sequence, Union

import attrs

from .engines.base import Engine
from .errors import CorruptArtifact as CorruptArtifact
from .wasm import WasmModule

log = logging.getLogger("realm_wasmer.cache")

#: Bumped whenever the entry layout or the key derivation changes.
FORMAT_VERSION: Final = 1
MAGIC: Final = b"RWARTFCT"
#: Environment variable naming the cache directory.
ENV_VAR: Final = "REALM_WASMER_CACHE"
#: File name suffix of cache entries (``clear()`` removes only these and stale temporaries).
SUFFIX: Final = ".artifact"
_TMP_SUFFIX: Final = ".tmp"

_HEADER = struct.Struct("<8sI32s32sQ")
HEADER_SIZE: Final = _HEADER.size

#: How :meth:`ArtifactCache.load_or_compile` obtained the compiled module.
Outcome = Literal["hit", "miss", "recompiled-corrupt", "disabled"]

PathLike = Union[str, os.PathLike[str]]


@attrs.define
class CacheStats:
    """Counters of one :class:`ArtifactCache`, one per outcome plus failed writes."""

    hits: int = 0
    misses: int = 0
    corrupt: int = 0
    disabled: int = 0
    write_failures: int = 0


def default_directory() -> Path:
    """``$REALM_WASMER_CACHE`` when set and non-empty, else ``~/.cache/realm_wasmer/artifacts``."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "realm_wasmer" / "artifacts"


def environment_key_parts() -> tuple[str, ...]:
    """The parts of the key that describe this process rather than the engine."""
    return (
        f"python={platform.python_implementation()} {platform.python_version()} {sys.implementation.cache_tag}",
        f"platform={sys.platform}",
        f"machine={platform.machine()}",
    )


def cache_key(engine: Engine, wasm: bytes, transforms: Sequence[str] = ()) -> bytes:
    """The raw sha256 key of ``wasm`` compiled by ``engine`` in this process,
    after ``transforms`` (each ``name@version``) rewrote it."""
    parts = (
        f"format={FORMAT_VERSION}",
        f"wasm-sha256={hashlib.sha256(wasm).hexdigest()}",
        f"engine={engine.name}",
        *(f"engine-part={part}" for part in engine.cache_key_parts()),
        *(f"transform={name}" for name in transforms),
        *environment_key_parts(),
    )
    digest = hashlib.sha256()
    for part in parts:
        encoded = part.encode("utf-8")
        # Length-prefixed, so no two different part lists hash the same bytes.
        digest.update(struct.pack("<Q", len(encoded)))
        digest.update(encoded)
    return digest.digest()


def encode_entry(key: bytes, payload: bytes) -> bytes:
    """The bytes of a cache entry: header, then ``payload``."""
    header = _HEADER.pack(MAGIC, FORMAT_VERSION, key, hashlib.sha256(payload).digest(), len(payload))
    return header + payload


def read_entry(path: Path, key: bytes) -> bytes:
    """The verified payload of the entry at ``path``.

    Raises :class:`FileNotFoundError` when there is no entry (and other
    :class:`OSError` when it cannot be read), :class:`CorruptArtifact` when the
    magic, format version, key, length or payload checksum is wrong.
    """
    data = path.read_bytes()
    if len(data) < HEADER_SIZE:
        raise CorruptArtifact(path, f"truncated header ({len(data)} of {HEADER_SIZE} bytes)")
    magic, version, stored_key, checksum, length = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise CorruptArtifact(path, f"bad magic {magic!r}")
    if version != FORMAT_VERSION:
        raise CorruptArtifact(path, f"format version {version}, expected {FORMAT_VERSION}")
    if stored_key != key:
        raise CorruptArtifact(path, f"entry is for key {stored_key.hex()}, expected {key.hex()}")
    if len(data) - HEADER_SIZE != length:
        raise CorruptArtifact(path, f"payload is {len(data) - HEADER_SIZE} bytes, header says {length}")
    payload = data[HEADER_SIZE:]
    if hashlib.sha256(payload).digest() != checksum:
        raise CorruptArtifact(path, "payload checksum mismatch")
    return payload


def write_entry(path: Path, key: bytes, payload: bytes) -> None:
    """Atomically write an entry: a temporary file beside ``path``, fsync'd, then
    ``os.replace``'d onto it. Raises :class:`OSError` when that is impossible."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=_TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(encode_entry(key, payload))
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable where the platform allows it (best effort)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _Default:
    """Marker for "no directory given": use :func:`default_directory`."""


_DEFAULT: Final = _Default()


class ArtifactCache:
    """Compiled modules on disk, keyed by wasm bytes, engine and environment.

    ``ArtifactCache()`` uses :func:`default_directory`; ``ArtifactCache(path)``
    uses ``path``; ``ArtifactCache(None)`` (or :meth:`disabled`) never touches
    the disk and compiles every time. One instance may be shared by threads.
    """

    def __init__(self, directory: Union[PathLike, None, _Default] = _DEFAULT) -> None:
        if isinstance(directory, _Default):
            self.directory: Optional[Path] = default_directory()
        elif directory is None:
            self.directory = None
        else:
            self.directory = Path(directory)
        self.stats = CacheStats()
        self._lock = threading.Lock()
        self._warned_unwritable = False

    @classmethod
    def disabled(cls) -> "ArtifactCache":
        """A cache that compiles every time and stores nothing."""
        return cls(None)

    @property
    def enabled(self) -> bool:
        return self.directory is not None

    def __repr__(self) -> str:
        return f"ArtifactCache({str(self.directory) if self.directory else None!r})"

    def path_for(self, engine: Engine, wasm: bytes, transforms: Sequence[str] = ()) -> Optional[Path]:
        """The entry file for ``wasm`` on ``engine``, or None when caching is disabled."""
        if self.directory is None:
            return None
        return self.directory / f"{engine.name}-{cache_key(engine, wasm, transforms).hex()}{SUFFIX}"

    def load_or_compile(
        self,
        engine: Engine,
        wasm: bytes,
        module: WasmModule,
        *,
        transforms: Sequence[str] = (),
        build: Optional[Callable[[], tuple[bytes, WasmModule]]] = None,
    ) -> tuple[Any, Outcome]:
        """The engine's compiled module for ``wasm``, and how it was obtained:
        ``"hit"`` (deserialized from a verified entry), ``"miss"`` (compiled; stored
        if the directory is writable), ``"recompiled-corrupt"`` (the entry failed
        verification or deserialization, so it was compiled and rewritten) or
        ``"disabled"`` (compiled, no cache). Compile errors propagate unchanged.

        The entry is keyed by the *original* bytes and the ``transforms`` the
        load pipeline applies (``name@version``); only on a miss does ``build``
        run them, giving the bytes (and outline) to compile. A hit rewrites nothing."""

        def compile_now() -> Any:
            data, outline = build() if build is not None else (wasm, module)
            return engine.compile(data, outline)

        if self.directory is None:
            native = compile_now()
            self._count("disabled")
            return native, "disabled"

        key = cache_key(engine, wasm, transforms)
        path = self.directory / f"{engine.name}-{key.hex()}{SUFFIX}"
        outcome: Outcome = "miss"
        try:
            payload = read_entry(path, key)
        except FileNotFoundError:
            pass
        except CorruptArtifact as exc:
            log.warning("%s; recompiling it for %s", exc, engine.name)
            outcome = "recompiled-corrupt"
        except OSError as exc:
            log.warning("cannot read cache entry %s (%s); compiling instead", path, exc)
        else:
            try:
                native = engine.deserialize(payload)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # wasmer raises pyo3's PanicException, a BaseException
                log.warning(
                    "cache entry %s passed its checksum but %s could not deserialize it (%s: %s); recompiling",
                    path,
                    engine.name,
                    type(exc).__name__,
                    exc,
                )
                outcome = "recompiled-corrupt"
            else:
                self._count("hit")
                return native, "hit"

        native = compile_now()
        self._store(path, key, engine, native)
        self._count(outcome)
        return native, outcome

    def clear(self) -> int:
        """Remove every entry (and leftover temporary file) of this cache; returns
        how many files were removed. Other files in the directory are left alone."""
        if self.directory is None or not self.directory.is_dir():
            return 0
        removed = 0
        for child in self.directory.iterdir():
            is_ours = child.name.endswith(SUFFIX) or (child.name.startswith(".") and child.name.endswith(_TMP_SUFFIX))
            if is_ours and child.is_file():
                try:
                    child.unlink()
                except FileNotFoundError:
                    continue
                removed += 1
        return removed

    def _store(self, path: Path, key: bytes, engine: Engine, native: Any) -> None:
        try:
            payload = engine.serialize(native)
        except Exception as exc:
            with self._lock:
                self.stats.write_failures += 1
            log.warning(
                "%s could not serialize a compiled module (%s: %s); not caching it",
                engine.name,
                type(exc).__name__,
                exc,
            )
            return
        try:
            write_entry(path, key, payload)
        except OSError as exc:
            with self._lock:
                self.stats.write_failures += 1
                first = not self._warned_unwritable
                self._warned_unwritable = True
            if first:
                log.warning(
                    "cannot write compiled modules to cache directory %s (%s); compiling without caching",
                    self.directory,
                    exc,
                )

    def _count(self, outcome: Outcome) -> None:
        with self._lock:
            if outcome == "hit":
                self.stats.hits += 1
            elif outcome == "miss":
                self.stats.misses += 1
            elif outcome == "recompiled-corrupt":
                self.stats.corrupt += 1
            else:
                self.stats.disabled += 1


_DEFAULT_CACHES: dict[Path, ArtifactCache] = {}
_DEFAULT_LOCK = threading.Lock()


def default_cache() -> ArtifactCache:
    """The process-wide cache for the current :func:`default_directory` (one
    instance per directory, so its stats and warn-once state are shared)."""
    directory = default_directory()
    with _DEFAULT_LOCK:
        cache = _DEFAULT_CACHES.get(directory)
        if cache is None:
            cache = _DEFAULT_CACHES[directory] = ArtifactCache(directory)
        return cache


__all__ = [
    "ENV_VAR",
    "FORMAT_VERSION",
    "HEADER_SIZE",
    "MAGIC",
    "ArtifactCache",
    "CacheStats",
    "CorruptArtifact",
    "Outcome",
    "cache_key",
    "default_cache",
    "default_directory",
    "encode_entry",
    "read_entry",
    "write_entry",
]
