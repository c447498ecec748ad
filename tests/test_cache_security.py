"""The artifact cache refuses anything it did not write itself (issue 11, item 1).

Deserializing an artifact is running native code, so an entry is loaded only
when it is a regular file owned by the user (or root, for a shared read-only
cache) in a directory nobody else can write, within a size bound, and carries a
valid HMAC-SHA256 under the cache's secret. Everything else is recompiled,
counted in ``stats.untrusted`` and logged with the reason.

The first section reproduces the findings through the API that predates the
fix (so it runs against the old ``cache.py`` too, and fails there); the rest
tests the design.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from types import FrameType
from typing import Any, Iterator, Optional

import pytest

from realm_wasmer import cache as cache_mod
from realm_wasmer import engines
from realm_wasmer.cache import ArtifactCache
from realm_wasmer.engines.base import Engine
from realm_wasmer.wasm import WasmModule, parse

from .conftest import REALM_WASM, ROOT
from .test_cache import ADD, CACHED_ENGINES, FakeEngine, forbid_compile, run_realm, stub_imports, wat2wasm

#: A module whose ``rt_u32`` answers 1337: what a forged entry for realm.wasm's key would run.
EVIL = '(module (func (export "rt_u32") (param i32) (result i32) i32.const 1337))'
IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="chown to another uid needs root")
OTHER_UID = 4242


@pytest.fixture(scope="module")
def realm() -> tuple[bytes, WasmModule]:
    data = REALM_WASM.read_bytes()
    return data, parse(data)


@pytest.fixture(scope="module")
def add_module() -> tuple[bytes, WasmModule]:
    data = wat2wasm(ADD)
    return data, parse(data)


def forge(path: Path, payload: bytes) -> None:
    """Replace an entry's payload as an attacker who knows the layout would: the
    sha256 (offset 44) and length (offset 76) are recomputed, everything else of
    the header (including any MAC, which cannot be computed without the secret)
    is kept."""
    raw = path.read_bytes()
    header = cache_mod.HEADER_SIZE
    forged = raw[:44] + hashlib.sha256(payload).digest() + len(payload).to_bytes(8, "little") + raw[84:header]
    path.write_bytes(forged + payload)


def cache_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "realm_wasmer.cache"]


class Hung(Exception):
    """Raised by :func:`alarm` (not an OSError, so the code under test cannot mistake it for one)."""


@pytest.fixture
def alarm() -> Iterator[None]:
    """Fail (instead of hanging forever) when the test blocks for more than 5 s."""

    def expire(signum: int, frame: Optional[FrameType]) -> None:
        raise Hung("blocked for 5 s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, 5.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- the findings, reproduced -------------------------------------------------


@pytest.mark.parametrize("name", CACHED_ENGINES)
def test_forged_payload_with_recomputed_checksum_is_not_loaded(
    name: str, realm: tuple[bytes, WasmModule], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data, module = realm
    engine = engines.get(name)
    ArtifactCache(tmp_path).load_or_compile(engine, data, module)
    evil = wat2wasm(EVIL)
    path = ArtifactCache(tmp_path).path_for(engine, data)
    assert path is not None
    forge(path, engine.serialize(engine.compile(evil, parse(evil))))

    cache = ArtifactCache(tmp_path)
    with caplog.at_level(logging.WARNING, logger="realm_wasmer.cache"):
        native, outcome = cache.load_or_compile(engine, data, module)
    answer = engine.instantiate(native, stub_imports(module)).function("rt_u32")(5)
    assert (outcome, answer) == ("recompiled-corrupt", 6), "the forged module ran"
    assert cache.stats.untrusted == 1
    assert any("not trusted" in m and "signed" in m for m in cache_messages(caplog)), cache_messages(caplog)
    # The entry was rewritten with a valid MAC, so the next load is a hit again.
    assert ArtifactCache(tmp_path).load_or_compile(engine, data, module)[1] == "hit"


DAMAGE = textwrap.dedent(
    """
    import hashlib, random, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    import wasmtime
    from realm_wasmer import engines
    from realm_wasmer.cache import HEADER_SIZE, ArtifactCache
    from realm_wasmer.wasm import parse

    directory, name, seeds = Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    data = bytes(wasmtime.wat2wasm(sys.argv[5]))
    module = parse(data)
    engine = engines.get(name)
    cache = ArtifactCache(directory)
    cache.load_or_compile(engine, data, module)
    path = cache.path_for(engine, data)
    good = path.read_bytes()
    for seed in range(seeds):
        rng = random.Random(seed)
        raw = bytearray(good)
        for _ in range(rng.randint(1, 8)):
            raw[rng.randrange(HEADER_SIZE, len(raw))] = rng.randrange(256)
        raw[44:76] = hashlib.sha256(bytes(raw[HEADER_SIZE:])).digest()
        if raw == good:
            continue
        path.write_bytes(bytes(raw))
        print(seed, flush=True)  # the last seed printed is the one that crashed
        native, outcome = cache.load_or_compile(engine, data, module)
        result = engine.instantiate(native, {}).function("add")(2, 40)
        print(seed, outcome, result, flush=True)
    # A later compile in the same process still works (one wasmer panic used to break them all).
    other = bytes(wasmtime.wat2wasm(sys.argv[5].replace("i32.add", "i32.sub")))
    print("after", engine.instantiate(engine.compile(other, parse(other)), {}).function("add")(2, 40), flush=True)
    """
)


@pytest.mark.parametrize("name", CACHED_ENGINES)
def test_damaged_payload_with_valid_checksum_never_reaches_the_engine(name: str, tmp_path: Path) -> None:
    """In a subprocess, since deserializing such an entry segfaulted wasmer."""
    seeds = 30
    proc = subprocess.run(
        [sys.executable, "-c", DAMAGE, str(ROOT), str(tmp_path), name, str(seeds), ADD],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = proc.stdout.splitlines()
    last = lines[-1] if lines else "?"
    assert proc.returncode == 0, f"crashed (rc {proc.returncode}) at seed {last}: {proc.stderr[-2000:]}"
    results = [line.split() for line in lines if len(line.split()) == 3]
    assert len(results) == seeds
    assert {(outcome, result) for _, outcome, result in results} == {("recompiled-corrupt", "42")}, results
    assert lines[-1] == "after -38"


def test_fifo_entry_does_not_hang(
    add_module: tuple[bytes, WasmModule], tmp_path: Path, alarm: None, caplog: pytest.LogCaptureFixture
) -> None:
    data, module = add_module
    engine = FakeEngine()
    cache = ArtifactCache(tmp_path)
    cache.load_or_compile(engine, data, module)
    path = cache.path_for(engine, data)
    assert path is not None
    path.unlink()
    os.mkfifo(path)
    with caplog.at_level(logging.WARNING, logger="realm_wasmer.cache"):
        native, outcome = cache.load_or_compile(engine, data, module)
    assert (native, outcome) == (("native", data), "recompiled-corrupt")
    assert engine.deserialized == []
    assert any("not a regular file" in m for m in cache_messages(caplog)), cache_messages(caplog)
    assert path.is_file() and not path.is_symlink(), "the FIFO was replaced by a real entry"
    assert cache.load_or_compile(engine, data, module)[1] == "hit"


DEV_ZERO = textwrap.dedent(
    """
    import resource, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from realm_wasmer.cache import ArtifactCache
    from tests.test_cache import FakeEngine, ADD, wat2wasm
    from realm_wasmer.wasm import parse

    data = wat2wasm(ADD)
    module = parse(data)
    engine = FakeEngine()
    cache = ArtifactCache(Path(sys.argv[2]))
    cache.load_or_compile(engine, data, module)
    path = cache.path_for(engine, data)
    path.unlink()
    path.symlink_to("/dev/zero")
    # Reading /dev/zero without a limit would exhaust this bound (256 MiB more than now) within a second.
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[0])
    limit = pages * resource.getpagesize() + (256 << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    native, outcome = cache.load_or_compile(engine, data, module)
    print(outcome, engine.deserialized == [], path.is_symlink())
    """
)


def test_symlink_to_dev_zero_is_not_read(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", DEV_ZERO, str(ROOT), str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["recompiled-corrupt", "True", "False"]


# -- the secret and the private directory ----------------------------------------


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def load_add(cache: ArtifactCache, engine: Engine, add_module: tuple[bytes, WasmModule]) -> tuple[Any, str]:
    data, module = add_module
    return cache.load_or_compile(engine, data, module)


def test_directory_secret_and_entries_are_private(add_module: tuple[bytes, WasmModule], tmp_path: Path) -> None:
    directory = tmp_path / "a" / "b"
    cache = ArtifactCache(directory)
    assert load_add(cache, FakeEngine(), add_module)[1] == "miss"
    secret = directory / cache_mod.SECRET_NAME
    path = cache.path_for(FakeEngine(), add_module[0])
    assert path is not None
    assert (mode_of(directory), mode_of(secret), mode_of(path)) == (0o700, 0o600, 0o600)
    assert len(secret.read_bytes()) == cache_mod.SECRET_SIZE
    assert {directory.stat().st_uid, secret.stat().st_uid, path.stat().st_uid} == {os.geteuid()}
    assert cache_mod.read_secret(directory) == cache_mod.ensure_secret(directory) == secret.read_bytes()
    assert cache.clear() == 1 and secret.exists(), "clear() keeps the secret"
    other = tmp_path / "other"
    assert cache_mod.ensure_secret(other) != secret.read_bytes(), "every cache directory has its own secret"


def test_concurrent_first_writers_agree_on_one_secret(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        found = set(pool.map(lambda _: cache_mod.ensure_secret(tmp_path / "c"), range(16)))
    assert len(found) == 1
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == [cache_mod.SECRET_NAME]


def test_a_private_directory_others_can_read_is_made_0700(
    add_module: tuple[bytes, WasmModule], tmp_path: Path
) -> None:
    directory = tmp_path / "c"
    directory.mkdir()
    directory.chmod(0o755)
    engine = FakeEngine()
    cache = ArtifactCache(directory)
    assert load_add(cache, engine, add_module)[1] == "miss"
    assert mode_of(directory) == 0o700
    assert load_add(cache, engine, add_module)[1] == "hit"


@pytest.mark.parametrize("mode", [0o770, 0o707, 0o1777])
def test_a_directory_others_can_write_is_refused(
    mode: int, add_module: tuple[bytes, WasmModule], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = FakeEngine()
    cache = ArtifactCache(tmp_path)
    load_add(cache, engine, add_module)  # a good entry, which must not be loaded from now on
    before = sorted(p.name for p in tmp_path.iterdir())
    tmp_path.chmod(mode)
    with caplog.at_level(logging.WARNING, logger="realm_wasmer.cache"):
        outcomes = [load_add(cache, engine, add_module)[1] for _ in range(2)]
    assert outcomes == ["miss", "miss"] and engine.deserialized == []
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "nothing was written"
    assert cache.stats.untrusted == 2
    messages = [m for m in cache_messages(caplog) if "writable by group or others" in m]
    assert len(messages) == 1, cache_messages(caplog)  # warned once
    tmp_path.chmod(0o700)
    assert load_add(cache, engine, add_module)[1] == "hit"


def _chmod_secret(directory: Path) -> None:
    (directory / cache_mod.SECRET_NAME).chmod(0o640)


def _symlink_secret(directory: Path) -> None:
    secret = directory / cache_mod.SECRET_NAME
    elsewhere = directory.parent / "elsewhere.key"
    elsewhere.write_bytes(secret.read_bytes())
    elsewhere.chmod(0o600)
    secret.unlink()
    secret.symlink_to(elsewhere)


def _short_secret(directory: Path) -> None:
    (directory / cache_mod.SECRET_NAME).write_bytes(b"short")


def _fifo_secret(directory: Path) -> None:
    (directory / cache_mod.SECRET_NAME).unlink()
    os.mkfifo(directory / cache_mod.SECRET_NAME, 0o600)


def _foreign_secret(directory: Path) -> None:
    os.chown(directory / cache_mod.SECRET_NAME, OTHER_UID, OTHER_UID)


SECRET_DAMAGE = [
    pytest.param(_chmod_secret, "readable by others", id="group-readable"),
    pytest.param(_symlink_secret, "is a symlink", id="symlink"),
    pytest.param(_short_secret, "the secret is 5 bytes", id="short"),
    pytest.param(_fifo_secret, "not a regular file (a FIFO)", id="fifo"),
    pytest.param(_foreign_secret, f"owned by uid {OTHER_UID}", id="foreign-owner", marks=needs_root),
]


@pytest.mark.parametrize(("damage", "reason"), SECRET_DAMAGE)
def test_an_untrusted_secret_disables_the_directory(
    damage: Any,
    reason: str,
    add_module: tuple[bytes, WasmModule],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    alarm: None,
) -> None:
    directory = tmp_path / "c"
    engine = FakeEngine()
    cache = ArtifactCache(directory)
    load_add(cache, engine, add_module)
    damage(directory)
    path = cache.path_for(engine, add_module[0])
    assert path is not None
    entry = path.read_bytes()
    with caplog.at_level(logging.WARNING, logger="realm_wasmer.cache"):
        native, outcome = load_add(cache, engine, add_module)
    assert (native, outcome) == (("native", add_module[0]), "miss") and engine.deserialized == []
    assert path.read_bytes() == entry, "nothing was written under an untrusted secret"
    assert any(reason in m and "not using this cache directory" in m for m in cache_messages(caplog)), (
        cache_messages(caplog)
    )
    assert cache.stats.untrusted == 1


# -- entries -------------------------------------------------------------------


def _symlink_entry(path: Path) -> None:
    good = path.parent.parent / "good-copy"
    good.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(good)


def _writable_entry(path: Path) -> None:
    path.chmod(0o664)


def _foreign_entry(path: Path) -> None:
    os.chown(path, OTHER_UID, OTHER_UID)


def _oversized_entry(path: Path) -> None:
    with open(path, "r+b") as entry:
        entry.truncate(cache_mod.HEADER_SIZE + cache_mod.MAX_ENTRY_BYTES + 1)  # sparse: no disk used


def _length_claim(path: Path) -> None:
    raw = path.read_bytes()
    path.write_bytes(raw[:76] + (1 << 40).to_bytes(8, "little") + raw[84:])


def _other_cache_entry(path: Path) -> None:
    """The same entry, signed by another cache's secret (a copy from another user or machine)."""
    raw = path.read_bytes()
    header, payload = raw[: cache_mod.HEADER_SIZE], raw[cache_mod.HEADER_SIZE :]
    path.write_bytes(cache_mod.encode_entry(header[12:44], payload, os.urandom(32)))


ENTRY_DAMAGE = [
    pytest.param(_symlink_entry, "is a symlink", id="symlink-to-a-good-copy"),
    pytest.param(_writable_entry, "writable by group or others (mode 0664)", id="group-writable"),
    pytest.param(_foreign_entry, f"owned by uid {OTHER_UID}", id="foreign-owner", marks=needs_root),
    pytest.param(_oversized_entry, "over the bound", id="over-512MiB"),
    pytest.param(_length_claim, "claims a 1099511627776-byte payload", id="length-claim"),
    pytest.param(_other_cache_entry, "not signed with this cache's secret", id="other-secret"),
]


@pytest.mark.parametrize(("damage", "reason"), ENTRY_DAMAGE)
def test_an_untrusted_entry_is_recompiled_and_replaced(
    damage: Any, reason: str, add_module: tuple[bytes, WasmModule], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "c"
    engine = FakeEngine()
    cache = ArtifactCache(directory)
    load_add(cache, engine, add_module)
    path = cache.path_for(engine, add_module[0])
    assert path is not None
    damage(path)
    with caplog.at_level(logging.WARNING, logger="realm_wasmer.cache"):
        native, outcome = load_add(cache, engine, add_module)
    assert (native, outcome) == (("native", add_module[0]), "recompiled-corrupt") and engine.deserialized == []
    assert any(reason in m and "not trusted" in m for m in cache_messages(caplog)), cache_messages(caplog)
    assert (cache.stats.untrusted, cache.stats.corrupt) == (1, 1)
    # Replaced by a good entry of ours (a symlink is replaced, not written through).
    assert not path.is_symlink() and mode_of(path) == 0o600 and path.stat().st_uid == os.geteuid()
    assert load_add(cache, engine, add_module)[1] == "hit"


def test_a_lower_bound_refuses_larger_entries_and_stores_none(
    add_module: tuple[bytes, WasmModule], tmp_path: Path
) -> None:
    engine = FakeEngine()
    load_add(ArtifactCache(tmp_path), engine, add_module)
    small = ArtifactCache(tmp_path, max_entry_bytes=16)
    assert load_add(small, engine, add_module)[1] == "recompiled-corrupt" and engine.deserialized == []
    assert small.stats.write_failures == 1, "a payload over the bound is not written either"
    with pytest.raises(ValueError):
        ArtifactCache(tmp_path, max_entry_bytes=cache_mod.MAX_ENTRY_BYTES + 1)


def test_read_entry_raises_the_typed_errors(add_module: tuple[bytes, WasmModule], tmp_path: Path) -> None:
    engine = FakeEngine()
    cache = ArtifactCache(tmp_path)
    load_add(cache, engine, add_module)
    path = cache.path_for(engine, add_module[0])
    assert path is not None
    key = cache_mod.cache_key(engine, add_module[0])
    secret = cache_mod.read_secret(tmp_path)
    assert cache_mod.read_entry(path, key) == cache_mod.read_entry(path, key, secret) == b"SER:" + add_module[0]
    with pytest.raises(cache_mod.UntrustedArtifact, match="not signed"):
        cache_mod.read_entry(path, key, os.urandom(32))
    forge(path, b"SER:evil")
    with pytest.raises(cache_mod.UntrustedArtifact) as info:
        cache_mod.read_entry(path, key)
    assert isinstance(info.value, cache_mod.CorruptArtifact) and info.value.path == path
    with pytest.raises(FileNotFoundError):
        cache_mod.read_entry(tmp_path / "none.artifact", key)


def test_a_forged_entry_is_not_loaded_through_rw_load(realm: tuple[bytes, WasmModule], tmp_path: Path) -> None:
    import realm_wasmer as rw

    engine = engines.get("wasmtime")
    cache = ArtifactCache(tmp_path)
    rw.load(REALM_WASM, engine="wasmtime", cache=cache)
    path = cache.path_for(engine, realm[0])
    assert path is not None
    evil = wat2wasm(EVIL)
    forge(path, engine.serialize(engine.compile(evil, parse(evil))))
    compiled = rw.compile(REALM_WASM, engine="wasmtime", cache=cache)
    assert compiled.cache_outcome == "recompiled-corrupt"
    assert compiled.instantiate().call("rt_u32", 5) == 6


# -- shared read-only caches ------------------------------------------------------


def publish(directory: Path) -> None:
    """What an image builder does after warming a cache: make it world-readable, owner-writable."""
    directory.chmod(0o755)
    for child in directory.iterdir():
        child.chmod(0o644)


def snapshot(directory: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_mtime_ns, p.stat().st_mode) for p in directory.iterdir()}


@pytest.fixture
def shared_dir(realm: tuple[bytes, WasmModule], tmp_path: Path) -> Path:
    """A published cache holding realm.wasm for wasmtime."""
    directory = tmp_path / "image" / "artifacts"
    data, module = realm
    assert ArtifactCache(directory).load_or_compile(engines.get("wasmtime"), data, module)[1] == "miss"
    publish(directory)
    return directory


def test_a_shared_cache_serves_hits_and_is_never_written(
    shared_dir: Path,
    realm: tuple[bytes, WasmModule],
    add_module: tuple[bytes, WasmModule],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data, module = realm
    engine = engines.get("wasmtime")
    before = snapshot(shared_dir)
    private = tmp_path / "home-cache"
    cache = ArtifactCache(private, shared=[shared_dir])
    with monkeypatch.context() as patch:
        forbid_compile(patch, engine)
        native, outcome = cache.load_or_compile(engine, data, module)
    assert outcome == "hit" and cache.stats.shared_hits == 1
    assert run_realm(engine, native, module) == (8, -4)
    assert not private.exists(), "a hit from the shared cache writes nothing"

    # A module the image does not have is compiled and stored in the private cache only.
    assert load_add(cache, engine, add_module)[1] == "miss"
    assert load_add(cache, engine, add_module)[1] == "hit" and cache.stats.shared_hits == 1
    assert (private / cache_mod.SECRET_NAME).exists()
    # No private cache at all: shared entries only, nothing stored.
    only_shared = ArtifactCache(None, shared=[shared_dir])
    assert only_shared.enabled and only_shared.load_or_compile(engine, data, module)[1] == "hit"
    assert load_add(only_shared, engine, add_module)[1] == "miss"
    assert snapshot(shared_dir) == before


def test_the_shared_cache_environment_variable(
    shared_dir: Path, realm: tuple[bytes, WasmModule], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(cache_mod.ENV_VAR, str(tmp_path / "private"))
    monkeypatch.setenv(cache_mod.SHARED_ENV_VAR, os.pathsep.join([str(tmp_path / "missing"), str(shared_dir), ""]))
    assert cache_mod.default_shared_directories() == (tmp_path / "missing", shared_dir)
    cache = cache_mod.default_cache()
    assert cache.shared == (tmp_path / "missing", shared_dir) and cache is cache_mod.default_cache()
    assert cache.load_or_compile(engines.get("wasmtime"), *realm)[1] == "hit"
    assert ArtifactCache(tmp_path / "explicit").shared == (), "an explicit directory uses no shared cache unless given"
    assert not ArtifactCache.disabled().enabled


def test_a_forged_shared_entry_is_refused_and_compiled_privately(
    shared_dir: Path, realm: tuple[bytes, WasmModule], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data, module = realm
    engine = engines.get("wasmtime")
    path = shared_dir / ArtifactCache(tmp_path).path_for(engine, data).name  # type: ignore[union-attr]
    evil = wat2wasm(EVIL)
    forge(path, engine.serialize(engine.compile(evil, parse(evil))))
    before = snapshot(shared_dir)
    cache = ArtifactCache(tmp_path / "private", shared=[shared_dir])
    with caplog.at_level(logging.WARNING, logger="realm_wasmer.cache"):
        native, outcome = cache.load_or_compile(engine, data, module)
    assert outcome == "recompiled-corrupt" and cache.stats.untrusted == 1
    assert engine.instantiate(native, stub_imports(module)).function("rt_u32")(5) == 6
    assert any("not signed" in m for m in cache_messages(caplog))
    assert snapshot(shared_dir) == before, "a shared cache is never repaired in place"
    assert cache.load_or_compile(engine, data, module)[1] == "hit" and cache.stats.shared_hits == 0


def _writable_shared(directory: Path) -> None:
    directory.chmod(0o775)


def _writable_shared_secret(directory: Path) -> None:
    (directory / cache_mod.SECRET_NAME).chmod(0o666)


def _foreign_shared(directory: Path) -> None:
    os.chown(directory, OTHER_UID, OTHER_UID)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        pytest.param(_writable_shared, "directory is writable by group or others", id="writable-dir"),
        pytest.param(_writable_shared_secret, "secret is writable by group or others", id="writable-secret"),
        pytest.param(_foreign_shared, f"owned by uid {OTHER_UID}", id="foreign-owner", marks=needs_root),
    ],
)
def test_a_shared_cache_others_could_write_is_refused(
    damage: Any,
    reason: str,
    shared_dir: Path,
    realm: tuple[bytes, WasmModule],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    damage(shared_dir)
    cache = ArtifactCache(tmp_path / "private", shared=[shared_dir])
    with caplog.at_level(logging.WARNING, logger="realm_wasmer.cache"):
        assert cache.load_or_compile(engines.get("wasmtime"), *realm)[1] == "miss"
    assert any(reason in m for m in cache_messages(caplog)), cache_messages(caplog)
    assert cache.stats.untrusted == 1 and cache.stats.shared_hits == 0
    assert cache.load_or_compile(engines.get("wasmtime"), *realm)[1] == "hit", "stored in the private cache"


@needs_root
def test_a_user_trusts_a_root_owned_shared_cache_but_not_a_root_owned_private_one(
    shared_dir: Path, realm: tuple[bytes, WasmModule], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Seen as an ordinary user (uid 4242), a cache root built is fine as a shared cache only."""
    monkeypatch.setattr(os, "geteuid", lambda: OTHER_UID)
    engine = engines.get("wasmtime")
    assert ArtifactCache(None, shared=[shared_dir]).load_or_compile(engine, *realm)[1] == "hit"
    private = ArtifactCache(shared_dir)
    with caplog.at_level(logging.WARNING, logger="realm_wasmer.cache"):
        assert private.load_or_compile(engine, *realm)[1] == "miss"
    assert any("owned by uid 0" in m and cache_mod.SHARED_ENV_VAR in m for m in cache_messages(caplog))
