"""The on-disk artifact cache: hits, keys, corruption, concurrent writers, unwritable directories."""

from __future__ import annotations

import logging
import os
import platform
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Mapping

import pytest

from realm_wasmer import cache as cache_mod
from realm_wasmer import engines
from realm_wasmer.cache import HEADER_SIZE, ArtifactCache, CorruptArtifact, cache_key, read_entry
from realm_wasmer.engines.base import Availability, Engine, EngineInstance, HostFunction
from realm_wasmer.errors import EngineRefused
from realm_wasmer.wasm import WasmModule, parse

from .conftest import REALM_WASM, ROOT

ADD = '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))'
SUB = '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.sub))'
CACHED_ENGINES = ["wasmer-cranelift", "wasmtime"]


def wat2wasm(text: str) -> bytes:
    import wasmtime

    return bytes(wasmtime.wat2wasm(text))


def stub_imports(module: WasmModule) -> dict[tuple[str, str], HostFunction]:
    """A handler returning zero (or nothing) for every function import."""
    stubs = {}
    for imp in module.imports:
        if imp.kind == "func":
            results = imp.type.results  # type: ignore[union-attr]
            stubs[(imp.module, imp.name)] = HostFunction(imp.type, (lambda *a: 0) if results else (lambda *a: None))  # type: ignore[arg-type]
    return stubs


def run_realm(engine: Engine, native: Any, module: WasmModule) -> tuple[int, int]:
    instance = engine.instantiate(native, stub_imports(module))
    return instance.function("rt_u32")(7), instance.function("rt_i64")(-5)


def add_result(engine: Engine, native: Any) -> int:
    return int(engine.instantiate(native, {}).function("add")(2, 40))


def forbid_compile(monkeypatch: pytest.MonkeyPatch, engine: Engine) -> None:
    def refuse(wasm: bytes, module: WasmModule) -> Any:
        raise AssertionError("a cache hit must not compile")

    monkeypatch.setattr(engine, "compile", refuse)


class FakeEngine(Engine):
    """Records every call; its "compiled module" is the wasm bytes themselves."""

    def __init__(self, name: str = "fake", parts: tuple[str, ...] = ("fake", "1.0")) -> None:
        self.name = name
        self.parts = parts
        self.compiles = 0
        self.deserialized: list[bytes] = []
        self.fail_deserialize = False

    def availability(self) -> Availability:
        return Availability(self.name, True, version="1.0")

    def cache_key_parts(self) -> tuple[str, ...]:
        return self.parts

    def compile(self, wasm: bytes, module: WasmModule) -> Any:
        self.compiles += 1
        return ("native", wasm)

    def serialize(self, compiled: Any) -> bytes:
        return b"SER:" + bytes(compiled[1])

    def deserialize(self, data: bytes) -> Any:
        self.deserialized.append(data)
        if self.fail_deserialize:
            raise RuntimeError("not an artifact")
        assert data.startswith(b"SER:")
        return ("native", data[4:])

    def instantiate(self, compiled: Any, imports: Mapping[tuple[str, str], HostFunction]) -> EngineInstance:
        raise NotImplementedError


@pytest.fixture(scope="module")
def realm() -> tuple[bytes, WasmModule]:
    data = REALM_WASM.read_bytes()
    return data, parse(data)


@pytest.fixture(scope="module")
def add_module() -> tuple[bytes, WasmModule]:
    data = wat2wasm(ADD)
    return data, parse(data)


@pytest.mark.parametrize("name", CACHED_ENGINES)
def test_miss_then_hit_and_the_hit_runs(
    name: str, realm: tuple[bytes, WasmModule], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, module = realm
    engine = engines.get(name)
    cache = ArtifactCache(tmp_path)
    path = cache.path_for(engine, data)
    assert path is not None and not path.exists()

    native, outcome = cache.load_or_compile(engine, data, module)
    assert outcome == "miss"
    assert path.is_file() and path.stat().st_size > HEADER_SIZE
    assert run_realm(engine, native, module) == (8, -4)

    forbid_compile(monkeypatch, engine)
    native, outcome = ArtifactCache(tmp_path).load_or_compile(engine, data, module)
    assert outcome == "hit"
    assert run_realm(engine, native, module) == (8, -4)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, cache_mod.SECRET_NAME]), (
        "no temporary files are left behind"
    )


@pytest.mark.parametrize("name", CACHED_ENGINES)
def test_hit_of_a_tiny_module_computes(
    name: str, add_module: tuple[bytes, WasmModule], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, module = add_module
    engine = engines.get(name)
    cache = ArtifactCache(tmp_path)
    assert cache.load_or_compile(engine, data, module)[1] == "miss"
    forbid_compile(monkeypatch, engine)
    native, outcome = cache.load_or_compile(engine, data, module)
    assert outcome == "hit"
    assert add_result(engine, native) == 42
    assert (cache.stats.hits, cache.stats.misses, cache.stats.corrupt) == (1, 1, 0)


def test_key_changes_with_engine_bytes_and_environment(
    add_module: tuple[bytes, WasmModule], monkeypatch: pytest.MonkeyPatch
) -> None:
    data, _ = add_module
    cranelift, wasmtime = engines.get("wasmer-cranelift"), engines.get("wasmtime")
    base = cache_key(cranelift, data)
    assert cache_key(cranelift, data) == base, "the key is deterministic"
    assert cache_key(wasmtime, data) != base
    assert cache_key(cranelift, wat2wasm(SUB)) != base
    flipped = bytearray(data)
    flipped[-1] ^= 1
    assert cache_key(cranelift, bytes(flipped)) != base
    # The engine's version parts, and how they are split, are part of the key.
    assert cache_key(FakeEngine(parts=("fake", "1.0")), data) != cache_key(FakeEngine(parts=("fake", "1.1")), data)
    assert cache_key(FakeEngine(parts=("ab", "c")), data) != cache_key(FakeEngine(parts=("a", "bc")), data)
    assert cache_key(FakeEngine(name="fake-a"), data) != cache_key(FakeEngine(name="fake-b"), data)

    cache = ArtifactCache("/nonexistent-dir")
    assert cache.path_for(wasmtime, data) != cache.path_for(cranelift, data)
    monkeypatch.setattr(platform, "machine", lambda: "riscv64")
    assert cache_key(cranelift, data) != base, "a different machine is a different entry"
    monkeypatch.undo()
    monkeypatch.setattr(platform, "python_version", lambda: "3.99.0")
    assert cache_key(cranelift, data) != base, "a different Python is a different entry"
    monkeypatch.undo()
    monkeypatch.setattr(cache_mod, "FORMAT_VERSION", 999)
    assert cache_key(cranelift, data) != base, "a new cache format is a different entry"


def _flip_payload_byte(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[HEADER_SIZE + (len(raw) - HEADER_SIZE) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


def _truncate(path: Path) -> None:
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


@pytest.mark.parametrize("name", CACHED_ENGINES)
@pytest.mark.parametrize("damage", [_flip_payload_byte, _truncate], ids=["flipped-byte", "truncated"])
def test_damaged_entry_is_recompiled_and_rewritten(
    name: str,
    damage: Any,
    realm: tuple[bytes, WasmModule],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data, module = realm
    engine = engines.get(name)
    cache = ArtifactCache(tmp_path)
    cache.load_or_compile(engine, data, module)
    path = cache.path_for(engine, data)
    assert path is not None
    damage(path)
    with pytest.raises(CorruptArtifact):
        read_entry(path, cache_key(engine, data))

    with caplog.at_level(logging.WARNING, logger="realm_wasmer.cache"):
        native, outcome = cache.load_or_compile(engine, data, module)
    assert outcome == "recompiled-corrupt"
    assert cache.stats.corrupt == 1
    assert any("corrupt" in r.getMessage() and r.name == "realm_wasmer.cache" for r in caplog.records)
    assert run_realm(engine, native, module) == (8, -4)

    read_entry(path, cache_key(engine, data))  # rewritten whole
    forbid_compile(monkeypatch, engine)
    native, outcome = cache.load_or_compile(engine, data, module)
    assert outcome == "hit"
    assert run_realm(engine, native, module) == (8, -4)


def _corrupt_variants(path: Path, other_entry: bytes) -> dict[str, bytes]:
    good = path.read_bytes()
    return {
        "bad magic": b"XXXXXXXX" + good[8:],
        "format version": good[:8] + (99).to_bytes(4, "little") + good[12:],
        "wrong key": other_entry,
        "trailing bytes": good + b"\0",
        "length field": good[:76] + (len(good)).to_bytes(8, "little") + good[84:],
        "empty file": b"",
        "checksum field": good[:44] + bytes(32) + good[76:],
    }


def test_every_failed_check_is_caught_before_deserialize(tmp_path: Path) -> None:
    engine = FakeEngine()
    data, other = wat2wasm(ADD), wat2wasm(SUB)
    module = parse(data)
    cache = ArtifactCache(tmp_path)
    cache.load_or_compile(engine, data, module)
    cache.load_or_compile(engine, other, parse(other))
    path, other_path = cache.path_for(engine, data), cache.path_for(engine, other)
    assert path is not None and other_path is not None
    good = path.read_bytes()
    for what, content in _corrupt_variants(path, other_path.read_bytes()).items():
        path.write_bytes(content)
        engine.deserialized.clear()
        compiles = engine.compiles
        native, outcome = cache.load_or_compile(engine, data, module)
        assert outcome == "recompiled-corrupt", what
        assert engine.deserialized == [], f"{what}: unverified bytes reached deserialize"
        assert engine.compiles == compiles + 1
        assert native == ("native", data)
        assert path.read_bytes() == good, f"{what}: the entry was rewritten"


def test_deserialize_failure_is_recompiled(tmp_path: Path, add_module: tuple[bytes, WasmModule]) -> None:
    data, module = add_module
    engine = FakeEngine()
    cache = ArtifactCache(tmp_path)
    assert cache.load_or_compile(engine, data, module)[1] == "miss"
    engine.fail_deserialize = True
    native, outcome = cache.load_or_compile(engine, data, module)
    assert outcome == "recompiled-corrupt"
    assert native == ("native", data) and engine.compiles == 2
    engine.fail_deserialize = False
    assert cache.load_or_compile(engine, data, module)[1] == "hit"


def test_compile_errors_propagate_and_store_nothing(tmp_path: Path) -> None:
    engine = engines.get("wasmtime")
    data = wat2wasm(ADD)
    broken = data[:-3]
    cache = ArtifactCache(tmp_path)
    with pytest.raises(EngineRefused):
        cache.load_or_compile(engine, broken, parse(data))
    assert list(tmp_path.iterdir()) == []


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[3])
    from realm_wasmer import engines
    from realm_wasmer.cache import ArtifactCache
    from realm_wasmer.wasm import parse

    data = Path(sys.argv[2]).read_bytes()
    module = parse(data)
    engine = engines.get("wasmer-cranelift")
    go = Path(sys.argv[1]) / "go"
    while not go.exists():
        time.sleep(0.001)
    native, outcome = ArtifactCache(Path(sys.argv[1]) / "cache").load_or_compile(engine, data, module)
    print(outcome)
    """
)


def test_concurrent_writers_leave_one_whole_entry(tmp_path: Path, realm: tuple[bytes, WasmModule]) -> None:
    data, module = realm
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), str(REALM_WASM), str(ROOT)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    time.sleep(1.0)  # let every writer import and parse, then release them together
    (tmp_path / "go").touch()
    results = [w.communicate(timeout=120) + (w.returncode,) for w in writers]
    for _, err, code in results:
        assert code == 0, err
    outcomes = [out.strip() for out, _, _ in results]
    assert set(outcomes) <= {"miss", "hit"} and "miss" in outcomes, outcomes

    engine = engines.get("wasmer-cranelift")
    cache = ArtifactCache(tmp_path / "cache")
    path = cache.path_for(engine, data)
    assert path is not None
    assert sorted(p.name for p in path.parent.iterdir()) == sorted([path.name, cache_mod.SECRET_NAME]), (
        "one entry (and the one secret), no temporaries"
    )
    read_entry(path, cache_key(engine, data))
    native, outcome = cache.load_or_compile(engine, data, module)
    assert outcome == "hit"
    assert run_realm(engine, native, module) == (8, -4)


def test_unwritable_directory_compiles_and_warns_once(
    tmp_path: Path, add_module: tuple[bytes, WasmModule], caplog: pytest.LogCaptureFixture
) -> None:
    data, module = add_module
    (tmp_path / "afile").write_text("a regular file, so nothing can be created beneath it")
    cache = ArtifactCache(tmp_path / "afile" / "sub")
    engine = engines.get("wasmer-cranelift")
    with caplog.at_level(logging.WARNING, logger="realm_wasmer.cache"):
        first = cache.load_or_compile(engine, data, module)
        second = cache.load_or_compile(engine, data, module)
    assert first[1] == second[1] == "miss"
    assert add_result(engine, first[0]) == add_result(engine, second[0]) == 42
    assert cache.stats.write_failures == 2 and cache.stats.misses == 2
    warnings = [r for r in caplog.records if r.name == "realm_wasmer.cache" and "cannot write" in r.getMessage()]
    assert len(warnings) == 1


def test_disabled_cache_compiles_and_touches_nothing(
    tmp_path: Path, add_module: tuple[bytes, WasmModule], monkeypatch: pytest.MonkeyPatch
) -> None:
    data, module = add_module
    monkeypatch.setenv("REALM_WASMER_CACHE", str(tmp_path))
    engine = engines.get("wasmtime")
    for cache in (ArtifactCache.disabled(), ArtifactCache(None)):
        assert not cache.enabled and cache.path_for(engine, data) is None
        native, outcome = cache.load_or_compile(engine, data, module)
        assert outcome == "disabled" and add_result(engine, native) == 42
        assert cache.stats.disabled == 1 and cache.clear() == 0
    assert list(tmp_path.iterdir()) == []


def test_default_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REALM_WASMER_CACHE", str(tmp_path / "env"))
    assert ArtifactCache().directory == tmp_path / "env"
    assert cache_mod.default_cache().directory == tmp_path / "env"
    assert cache_mod.default_cache() is cache_mod.default_cache()
    monkeypatch.delenv("REALM_WASMER_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert ArtifactCache().directory == tmp_path / "home" / ".cache" / "realm_wasmer" / "artifacts"


def test_clear_removes_only_entries(tmp_path: Path, add_module: tuple[bytes, WasmModule]) -> None:
    data, module = add_module
    cache = ArtifactCache(tmp_path)
    for name in CACHED_ENGINES:
        cache.load_or_compile(engines.get(name), data, module)
    (tmp_path / "notes.txt").write_text("keep me")
    (tmp_path / ".wasmtime-x.artifact.abc.tmp").write_bytes(b"left by a killed writer")
    assert cache.clear() == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", cache_mod.SECRET_NAME]
    assert cache.load_or_compile(engines.get("wasmtime"), data, module)[1] == "miss"


def test_entry_layout(tmp_path: Path, add_module: tuple[bytes, WasmModule]) -> None:
    data, module = add_module
    engine = FakeEngine()
    cache = ArtifactCache(tmp_path)
    cache.load_or_compile(engine, data, module)
    path = cache.path_for(engine, data)
    assert path is not None
    raw = path.read_bytes()
    payload = b"SER:" + data
    import hashlib
    import hmac

    assert raw[:8] == cache_mod.MAGIC
    assert int.from_bytes(raw[8:12], "little") == cache_mod.FORMAT_VERSION
    assert raw[12:44] == cache_key(engine, data)
    assert raw[44:76] == hashlib.sha256(payload).digest()
    assert int.from_bytes(raw[76:84], "little") == len(payload)
    secret = (tmp_path / cache_mod.SECRET_NAME).read_bytes()
    assert raw[84:116] == hmac.new(secret, raw[:84] + payload, hashlib.sha256).digest()
    assert raw[116:] == payload
    assert path.name == f"fake-{cache_key(engine, data).hex()}.artifact"
    assert os.stat(path).st_size == HEADER_SIZE + len(payload)


def test_failed_write_leaves_no_temporary(
    tmp_path: Path, add_module: tuple[bytes, WasmModule], monkeypatch: pytest.MonkeyPatch
) -> None:
    data, module = add_module

    def full_disk(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    cache = ArtifactCache(tmp_path)
    native, outcome = cache.load_or_compile(engines.get("wasmtime"), data, module)
    assert outcome == "miss" and add_result(engines.get("wasmtime"), native) == 42
    assert cache.stats.write_failures == 1
    assert [p.name for p in tmp_path.iterdir()] == [cache_mod.SECRET_NAME]
