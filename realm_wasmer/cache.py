"""An on-disk cache of compiled modules, so a module is compiled once per engine.

Compiling a large module is slow (a 2.4 MB module takes about two seconds on
cranelift) while loading a serialized artifact takes milliseconds, so
:class:`ArtifactCache` keeps each engine's serialized compiled module on disk.

Deserializing an artifact is running native code the engine does not check
(a damaged wasmer or wasmtime artifact can crash the process, a forged one runs
whatever it was compiled from), so the cache loads only what it wrote itself
(see docs/security.md, "Artifact cache"):

* **A secret.** A private cache directory holds :data:`SECRET_NAME`, 32 random
  bytes created 0600 on first write; every entry carries an HMAC-SHA256 of its
  header and payload under that secret. An entry with a recomputed sha256 but
  no valid MAC (forged, copied from another cache, or written before the
  secret changed) is refused.
* **The file system.** The directory must be owned by the current user and not
  writable by group or others (it is created 0700, and a directory of ours that
  others can read is made 0700); the secret and every entry must be regular
  files owned by the user and not writable by others. Entries are opened with
  ``O_NOFOLLOW | O_NONBLOCK`` after an ``lstat``, so a symlink, FIFO or device
  is refused without being read, and an entry larger than its header says or
  than ``max_entry_bytes`` (at most :data:`MAX_ENTRY_BYTES`) is refused before
  its payload is read.
* **Shared read-only caches** (:data:`SHARED_ENV_VAR`, ``shared=``): directories
  with the same layout, e.g. built into a container image, consulted after the
  private one and never written. Their directory, secret and entries may be
  owned by root (or the user) and readable by all, but must be writable by
  their owner only.

Anything refused is recompiled (never deserialized), counted in
:attr:`CacheStats.untrusted` and logged with the reason; a refused private entry
is then overwritten with a good one.

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
    84      32    HMAC-SHA256(secret, bytes 0..84 of the header + payload)
    116     n     payload

The sha256 tells damage (a wrong checksum: :class:`CorruptArtifact`) from an
intact entry that this cache did not sign (a wrong MAC:
:class:`UntrustedArtifact`); only the MAC decides whether it is loaded.

Entries are written to a temporary file in the same directory, fsync'd and
``os.replace``'d into place, so a reader sees either no entry or a whole one
and concurrent writers of the same entry all succeed (the secret is created
with ``link()``, so concurrent first writers agree on one). A cache directory
that cannot be written never fails a load: the module is compiled as if there
were no cache, and a warning is logged once.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import logging
import os
import platform
import secrets
import stat
import struct
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, Final, Literal, Optional, Sequence, Union

import attrs

from .engines.base import Engine
from .errors import CorruptArtifact as CorruptArtifact
from .errors import UntrustedArtifact as UntrustedArtifact
from .wasm import WasmModule

log = logging.getLogger("realm_wasmer.cache")

#: Bumped whenever the entry layout or the key derivation changes (2: the HMAC).
FORMAT_VERSION: Final = 2
MAGIC: Final = b"RWARTFCT"
#: Environment variable naming the (private, writable) cache directory.
ENV_VAR: Final = "REALM_WASMER_CACHE"
#: Environment variable listing shared read-only cache directories (``os.pathsep``-separated).
SHARED_ENV_VAR: Final = "REALM_WASMER_CACHE_SHARED"
#: File name suffix of cache entries (``clear()`` removes only these and stale temporaries).
SUFFIX: Final = ".artifact"
_TMP_SUFFIX: Final = ".tmp"
#: The file in a cache directory holding the MAC secret (``clear()`` keeps it).
SECRET_NAME: Final = "secret.key"
#: Bytes of a secret this module creates (a secret must have at least this many).
SECRET_SIZE: Final = 32
_MAX_SECRET_BYTES: Final = 4096
#: The hard bound on an entry's payload; ``ArtifactCache(max_entry_bytes=...)`` may only lower it.
MAX_ENTRY_BYTES: Final = 512 * 1024 * 1024

_HEADER = struct.Struct("<8sI32s32sQ32s")
HEADER_SIZE: Final = _HEADER.size
#: The header bytes the MAC covers (all but the MAC itself).
_SIGNED_HEADER: Final = HEADER_SIZE - 32

#: Never follow a symlink, never block on a FIFO, never acquire a terminal.
_O_READ: Final = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC

#: How :meth:`ArtifactCache.load_or_compile` obtained the compiled module.
Outcome = Literal["hit", "miss", "recompiled-corrupt", "disabled"]

PathLike = Union[str, os.PathLike[str]]


@attrs.define
class CacheStats:
    """Counters of one :class:`ArtifactCache`: one per outcome, plus failed writes,
    hits served by a shared cache (counted in ``hits`` too) and refusals (each
    file refused by a trust check: an entry, a directory or a secret)."""

    hits: int = 0
    misses: int = 0
    corrupt: int = 0
    disabled: int = 0
    write_failures: int = 0
    shared_hits: int = 0
    untrusted: int = 0


def default_directory() -> Path:
    """``$REALM_WASMER_CACHE`` when set and non-empty, else ``~/.cache/realm_wasmer/artifacts``."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "realm_wasmer" / "artifacts"


def default_shared_directories() -> tuple[Path, ...]:
    """The directories in ``$REALM_WASMER_CACHE_SHARED`` (``os.pathsep``-separated; none when unset)."""
    configured = os.environ.get(SHARED_ENV_VAR, "")
    return tuple(Path(part).expanduser() for part in configured.split(os.pathsep) if part)


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


def _mac(secret: bytes, signed_header: bytes, payload: bytes) -> bytes:
    mac = hmac.new(secret, signed_header, hashlib.sha256)
    mac.update(payload)
    return mac.digest()


def encode_entry(key: bytes, payload: bytes, secret: bytes) -> bytes:
    """The bytes of a cache entry: header (signed with ``secret``), then ``payload``."""
    signed = _HEADER.pack(MAGIC, FORMAT_VERSION, key, hashlib.sha256(payload).digest(), len(payload), b"")
    signed = signed[:_SIGNED_HEADER]
    return signed + _mac(secret, signed, payload) + payload


# -- trust checks -------------------------------------------------------------


def _owners(shared: bool) -> frozenset[int]:
    """The uids whose files a cache trusts: the user's own, and root's for a shared cache."""
    uid = os.geteuid()
    return frozenset((uid, 0)) if shared else frozenset((uid,))


def _owner_text(owners: frozenset[int]) -> str:
    return " or ".join("root" if uid == 0 else f"uid {uid} (you)" for uid in sorted(owners, reverse=True))


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a directory"),
    ):
        if test(mode):
            return name
    return f"file type {stat.S_IFMT(mode):#o}"


def _check_file(st: os.stat_result, path: Path, what: str, owners: frozenset[int]) -> None:
    """Refuse anything but a regular file owned by one of ``owners`` that only its owner can write."""
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        raise UntrustedArtifact(path, f"the {what} is a symlink")
    if not stat.S_ISREG(mode):
        raise UntrustedArtifact(path, f"the {what} is not a regular file ({_kind(mode)})")
    if st.st_uid not in owners:
        raise UntrustedArtifact(path, f"the {what} is owned by uid {st.st_uid}, not {_owner_text(owners)}")
    if mode & 0o022:
        raise UntrustedArtifact(path, f"the {what} is writable by group or others (mode {stat.S_IMODE(mode):04o})")


def _open_directory(directory: Path, *, shared: bool) -> int:
    """A descriptor of ``directory`` once it passes the checks (the caller closes it).

    Raises :class:`FileNotFoundError` when it does not exist, :class:`UntrustedArtifact`
    when someone else owns it or others can write it. A private directory of ours
    that others can read or enter is made 0700."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        owners = _owners(shared)
        if st.st_uid not in owners:
            hint = "" if shared else f"; for a read-only cache of another user or root, use ${SHARED_ENV_VAR}"
            raise UntrustedArtifact(
                directory, f"the directory is owned by uid {st.st_uid}, not {_owner_text(owners)}{hint}"
            )
        if st.st_mode & 0o022:
            raise UntrustedArtifact(
                directory, f"the directory is writable by group or others (mode {stat.S_IMODE(st.st_mode):04o})"
            )
        if not shared and st.st_mode & 0o077:
            os.fchmod(fd, 0o700)
            log.info("made cache directory %s private (mode 0700, was %04o)", directory, stat.S_IMODE(st.st_mode))
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_checked(dir_fd: int, name: str, path: Path, what: str, owners: frozenset[int]) -> tuple[int, os.stat_result]:
    """Open ``name`` in ``dir_fd`` for reading once it is known to be a regular file we
    trust: ``lstat`` first (a symlink, FIFO or device is refused without being opened),
    then ``O_NOFOLLOW | O_NONBLOCK`` and the same checks on ``fstat`` (in case it was
    swapped in between). Raises :class:`FileNotFoundError` when there is no such file."""
    _check_file(os.stat(name, dir_fd=dir_fd, follow_symlinks=False), path, what, owners)
    try:
        fd = os.open(name, _O_READ, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UntrustedArtifact(path, f"the {what} is a symlink") from None
        raise
    try:
        st = os.fstat(fd)
        _check_file(st, path, what, owners)
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def _read_upto(fd: int, limit: int) -> bytes:
    """At most ``limit`` bytes of ``fd`` (fewer at end of file)."""
    chunks = []
    remaining = limit
    while remaining > 0:
        # one read for a whole entry as a rule (a single chunk is joined without a copy)
        chunk = os.read(fd, min(remaining, 64 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _read_secret_at(dir_fd: int, directory: Path, *, shared: bool) -> Optional[bytes]:
    """The secret of the directory open as ``dir_fd``, None when it has none."""
    path = directory / SECRET_NAME
    try:
        fd, st = _open_checked(dir_fd, SECRET_NAME, path, "secret", _owners(shared))
    except FileNotFoundError:
        return None
    try:
        if not shared and st.st_mode & 0o077:
            raise UntrustedArtifact(
                path,
                f"the secret of a private cache is readable by others (mode {stat.S_IMODE(st.st_mode):04o}); "
                "delete it and the entries to start afresh",
            )
        data = _read_upto(fd, _MAX_SECRET_BYTES + 1)
    finally:
        os.close(fd)
    if not SECRET_SIZE <= len(data) <= _MAX_SECRET_BYTES:
        raise UntrustedArtifact(path, f"the secret is {len(data)} bytes, not {SECRET_SIZE} to {_MAX_SECRET_BYTES}")
    return data


def _create_secret(directory: Path) -> None:
    """Create the directory's secret unless it exists: written 0600 to a temporary
    file, then ``link()``'d into place, so the first of concurrent creators wins
    and no reader ever sees a partial secret."""
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{SECRET_NAME}.", suffix=_TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(secrets.token_bytes(SECRET_SIZE))
            tmp.flush()
            os.fsync(tmp.fileno())
        try:
            os.link(tmp_name, directory / SECRET_NAME)
        except FileExistsError:
            pass  # another process created it first: use theirs
        except OSError:
            # A file system without hard links: create it in place (O_EXCL, so never twice).
            target = os.open(
                directory / SECRET_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
            )
            with os.fdopen(target, "wb") as out:
                out.write(Path(tmp_name).read_bytes())
                out.flush()
                os.fsync(out.fileno())
    finally:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
    _fsync_directory(directory)


def ensure_secret(directory: PathLike) -> bytes:
    """The secret of the private cache ``directory``, creating the directory (0700)
    and the secret (0600) when missing. Raises :class:`UntrustedArtifact` when the
    directory or an existing secret fails the checks, :class:`OSError` when it
    cannot be created."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    dir_fd = _open_directory(directory, shared=False)
    try:
        secret = _read_secret_at(dir_fd, directory, shared=False)
        if secret is None:
            _create_secret(directory)
            secret = _read_secret_at(dir_fd, directory, shared=False)
        if secret is None:
            raise FileNotFoundError(errno.ENOENT, "the secret vanished right after it was created", str(directory))
        return secret
    finally:
        os.close(dir_fd)


def read_secret(directory: PathLike, *, shared: bool = False) -> bytes:
    """The secret of cache ``directory`` (checked as a private or shared cache's).
    Raises :class:`FileNotFoundError` when there is none."""
    directory = Path(directory)
    dir_fd = _open_directory(directory, shared=shared)
    try:
        secret = _read_secret_at(dir_fd, directory, shared=shared)
    finally:
        os.close(dir_fd)
    if secret is None:
        raise FileNotFoundError(errno.ENOENT, "the cache directory has no secret", str(directory / SECRET_NAME))
    return secret


def _read_entry_at(
    dir_fd: int, directory: Path, name: str, key: bytes, secret: Optional[bytes], *, shared: bool, max_bytes: int
) -> bytes:
    path = directory / name
    fd, st = _open_checked(dir_fd, name, path, "entry", _owners(shared))
    try:
        if st.st_size > HEADER_SIZE + max_bytes:
            bound = HEADER_SIZE + max_bytes
            raise UntrustedArtifact(path, f"the entry is {st.st_size} bytes, over the bound of {bound}")
        if secret is None:
            secret = _read_secret_at(dir_fd, directory, shared=shared)
        if secret is None:
            raise UntrustedArtifact(path, f"the directory has no {SECRET_NAME} to verify the entry with")
        header = _read_upto(fd, HEADER_SIZE)
        if len(header) < HEADER_SIZE:
            raise CorruptArtifact(path, f"truncated header ({len(header)} of {HEADER_SIZE} bytes)")
        magic, version, stored_key, checksum, length, mac = _HEADER.unpack(header)
        if magic != MAGIC:
            raise CorruptArtifact(path, f"bad magic {magic!r}")
        if version != FORMAT_VERSION:
            raise CorruptArtifact(path, f"format version {version}, expected {FORMAT_VERSION}")
        if stored_key != key:
            raise CorruptArtifact(path, f"entry is for key {stored_key.hex()}, expected {key.hex()}")
        if length > max_bytes:
            raise UntrustedArtifact(path, f"the header claims a {length}-byte payload, over the bound of {max_bytes}")
        if st.st_size - HEADER_SIZE != length:
            raise CorruptArtifact(path, f"payload is {st.st_size - HEADER_SIZE} bytes, header says {length}")
        payload = _read_upto(fd, length + 1)  # one more: an entry that grew since fstat is refused too
        if len(payload) != length:
            raise CorruptArtifact(path, f"payload is {len(payload)} bytes, header says {length}")
    finally:
        os.close(fd)
    # The MAC covers the signed header (the checksum field with it) and the payload, and only
    # this cache's writer, which computes the checksum from the payload, signs: an entry whose
    # MAC verifies has a matching checksum, so the checksum is hashed only to tell damage from a
    # foreign signature when the MAC does not verify (one pass over the payload on a hit, not two).
    if not hmac.compare_digest(_mac(secret, header[:_SIGNED_HEADER], payload), mac):
        if hashlib.sha256(payload).digest() != checksum:
            raise CorruptArtifact(path, "payload checksum mismatch")
        raise UntrustedArtifact(
            path,
            "the entry is intact but not signed with this cache's secret "
            "(forged, copied from another cache, or written under an earlier secret)",
        )
    return payload


def read_entry(
    path: PathLike,
    key: bytes,
    secret: Optional[bytes] = None,
    *,
    shared: bool = False,
    max_bytes: int = MAX_ENTRY_BYTES,
) -> bytes:
    """The verified payload of the entry at ``path``, checked with ``secret`` (by
    default the secret of its directory) and the rules of a private cache (or a
    shared one, ``shared=True``).

    Raises :class:`FileNotFoundError` when there is no entry (and other
    :class:`OSError` when it cannot be read), :class:`CorruptArtifact` when the
    magic, format version, key, length or payload checksum is wrong, and its
    subclass :class:`UntrustedArtifact` when a trust check fails (directory,
    secret or entry owner and mode, file type, size bound, MAC).
    """
    path = Path(path)
    dir_fd = _open_directory(path.parent, shared=shared)
    try:
        return _read_entry_at(dir_fd, path.parent, path.name, key, secret, shared=shared, max_bytes=max_bytes)
    finally:
        os.close(dir_fd)


def write_entry(path: PathLike, key: bytes, payload: bytes, secret: Optional[bytes] = None) -> None:
    """Atomically write an entry signed with ``secret`` (by default the directory's,
    created when missing): a temporary file (0600) beside ``path``, fsync'd, then
    ``os.replace``'d onto it. Raises :class:`OSError` when that is impossible and
    :class:`UntrustedArtifact` when the directory or its secret is not trusted."""
    path = Path(path)
    if secret is None:
        secret = ensure_secret(path.parent)
    else:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=_TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(encode_entry(key, payload, secret))
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

    ``ArtifactCache()`` uses :func:`default_directory` and the shared read-only
    caches of :func:`default_shared_directories`; ``ArtifactCache(path)`` uses
    ``path`` (and the ``shared`` directories given, none by default);
    ``ArtifactCache(None)`` (or :meth:`disabled`) never touches the disk and
    compiles every time. ``max_entry_bytes`` bounds the payload of an entry read
    or written (at most :data:`MAX_ENTRY_BYTES`). One instance may be shared by
    threads.
    """

    def __init__(
        self,
        directory: Union[PathLike, None, _Default] = _DEFAULT,
        *,
        shared: Union[Sequence[PathLike], _Default] = _DEFAULT,
        max_entry_bytes: int = MAX_ENTRY_BYTES,
    ) -> None:
        if isinstance(directory, _Default):
            self.directory: Optional[Path] = default_directory()
            shared_directories = default_shared_directories() if isinstance(shared, _Default) else shared
        else:
            self.directory = None if directory is None else Path(directory)
            shared_directories = () if isinstance(shared, _Default) else shared
        if isinstance(shared_directories, (str, os.PathLike)):
            shared_directories = [shared_directories]
        #: Read-only caches consulted (in order) after ``directory``; never written.
        self.shared: tuple[Path, ...] = tuple(Path(p) for p in shared_directories)
        if not 0 < max_entry_bytes <= MAX_ENTRY_BYTES:
            raise ValueError(f"max_entry_bytes must be in 1..{MAX_ENTRY_BYTES}, not {max_entry_bytes}")
        self.max_entry_bytes = max_entry_bytes
        self.stats = CacheStats()
        self._lock = threading.Lock()
        self._warned_unwritable = False
        self._warned: set[tuple[Path, str]] = set()

    @classmethod
    def disabled(cls) -> "ArtifactCache":
        """A cache that compiles every time and stores nothing."""
        return cls(None)

    @property
    def enabled(self) -> bool:
        return self.directory is not None or bool(self.shared)

    def __repr__(self) -> str:
        shared = f", shared={[str(p) for p in self.shared]!r}" if self.shared else ""
        return f"ArtifactCache({str(self.directory) if self.directory else None!r}{shared})"

    def path_for(self, engine: Engine, wasm: bytes, transforms: Sequence[str] = ()) -> Optional[Path]:
        """The (private) entry file for ``wasm`` on ``engine``, or None when there is no private directory."""
        if self.directory is None:
            return None
        return self.directory / _entry_name(engine, cache_key(engine, wasm, transforms))

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
        ``"hit"`` (deserialized from a verified entry of the private or a shared
        cache), ``"miss"`` (compiled; stored if the private directory is writable
        and trusted), ``"recompiled-corrupt"`` (an entry was refused, as damaged
        or untrusted, or failed to deserialize, so it was compiled and the private
        entry rewritten) or ``"disabled"`` (compiled, no cache). Compile errors
        propagate unchanged. Every refusal is logged with its reason.

        The entry is keyed by the *original* bytes and the ``transforms`` the
        load pipeline applies (``name@version``); only on a miss does ``build``
        run them, giving the bytes (and outline) to compile. A hit rewrites nothing."""

        def compile_now() -> Any:
            data, outline = build() if build is not None else (wasm, module)
            return engine.compile(data, outline)

        if not self.enabled:
            native = compile_now()
            self._count("disabled")
            return native, "disabled"

        key = cache_key(engine, wasm, transforms)
        name = _entry_name(engine, key)
        outcome: Outcome = "miss"
        store = self.directory is not None
        layers = ([(self.directory, False)] if self.directory is not None else []) + [(p, True) for p in self.shared]
        for directory, shared in layers:
            try:
                payload = self._read(directory, name, key, shared=shared)
            except FileNotFoundError:
                continue
            except UntrustedArtifact as exc:
                with self._lock:
                    self.stats.untrusted += 1
                if exc.path in (directory, directory / SECRET_NAME):
                    # The directory itself (or its secret) is refused: warn once, never write to it.
                    self._warn_once(directory, f"{exc}; not using this cache directory")
                    store = store and shared
                else:
                    log.warning("%s; recompiling it for %s instead of loading it", exc, engine.name)
                    outcome = "recompiled-corrupt"
                continue
            except CorruptArtifact as exc:
                log.warning("%s; recompiling it for %s", exc, engine.name)
                outcome = "recompiled-corrupt"
                continue
            except OSError as exc:
                log.warning("cannot read cache entry %s (%s); compiling instead", directory / name, exc)
                continue
            try:
                native = engine.deserialize(payload)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # wasmer raises pyo3's PanicException, a BaseException
                log.warning(
                    "cache entry %s passed its checks but %s could not deserialize it (%s: %s); recompiling",
                    directory / name,
                    engine.name,
                    type(exc).__name__,
                    exc,
                )
                outcome = "recompiled-corrupt"
                continue
            with self._lock:
                self.stats.shared_hits += shared
            self._count("hit")
            return native, "hit"

        native = compile_now()
        if store and self.directory is not None:
            self._store(self.directory / name, key, engine, native)
        self._count(outcome)
        return native, outcome

    def clear(self) -> int:
        """Remove every entry (and leftover temporary file) of the private cache;
        returns how many files were removed. Other files in the directory (the
        secret among them) are left alone, and shared caches are never touched."""
        if self.directory is None or not self.directory.is_dir():
            return 0
        removed = 0
        for child in self.directory.iterdir():
            is_ours = child.name.endswith(SUFFIX) or (child.name.startswith(".") and child.name.endswith(_TMP_SUFFIX))
            if is_ours and (child.is_symlink() or not child.is_dir()):
                try:
                    child.unlink()
                except FileNotFoundError:
                    continue
                removed += 1
        return removed

    def _read(self, directory: Path, name: str, key: bytes, *, shared: bool) -> bytes:
        dir_fd = _open_directory(directory, shared=shared)
        try:
            return _read_entry_at(dir_fd, directory, name, key, None, shared=shared, max_bytes=self.max_entry_bytes)
        finally:
            os.close(dir_fd)

    def _warn_once(self, directory: Path, message: str) -> None:
        with self._lock:
            first = (directory, message) not in self._warned
            self._warned.add((directory, message))
        if first:
            log.warning("%s", message)

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
        if len(payload) > self.max_entry_bytes:
            with self._lock:
                self.stats.write_failures += 1
            log.warning(
                "%s's compiled module is %d bytes, over the cache's bound of %d; not caching it",
                engine.name,
                len(payload),
                self.max_entry_bytes,
            )
            return
        try:
            write_entry(path, key, payload)
        except UntrustedArtifact as exc:
            with self._lock:
                self.stats.write_failures += 1
                self.stats.untrusted += 1
            self._warn_once(path.parent, f"{exc}; not using this cache directory")
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


def _entry_name(engine: Engine, key: bytes) -> str:
    return f"{engine.name}-{key.hex()}{SUFFIX}"


_DEFAULT_CACHES: dict[tuple[Path, tuple[Path, ...]], ArtifactCache] = {}
_DEFAULT_LOCK = threading.Lock()


def default_cache() -> ArtifactCache:
    """The process-wide cache for the current :func:`default_directory` and
    :func:`default_shared_directories` (one instance per setting, so its stats
    and warn-once state are shared)."""
    directory, shared = default_directory(), default_shared_directories()
    with _DEFAULT_LOCK:
        cache = _DEFAULT_CACHES.get((directory, shared))
        if cache is None:
            cache = _DEFAULT_CACHES[(directory, shared)] = ArtifactCache(directory, shared=shared)
        return cache


__all__ = [
    "ENV_VAR",
    "FORMAT_VERSION",
    "HEADER_SIZE",
    "MAGIC",
    "MAX_ENTRY_BYTES",
    "SECRET_NAME",
    "SECRET_SIZE",
    "SHARED_ENV_VAR",
    "ArtifactCache",
    "CacheStats",
    "CorruptArtifact",
    "Outcome",
    "UntrustedArtifact",
    "cache_key",
    "default_cache",
    "default_directory",
    "default_shared_directories",
    "encode_entry",
    "ensure_secret",
    "read_entry",
    "read_secret",
    "write_entry",
]
