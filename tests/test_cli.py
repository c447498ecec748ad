"""The realm-wasmer command, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

from realm_wasmer.cli import main

from .conftest import REALM_WASM, ROOT


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "realm_wasmer.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def test_help_lists_the_commands() -> None:
    done = run("--help")
    assert done.returncode == 0
    for command in ("engines", "inspect", "run", "demo"):
        assert command in done.stdout


def test_console_script_is_installed() -> None:
    script = ROOT / ".venv" / "bin" / "realm-wasmer"
    assert script.exists(), "make test installs the package, which installs the realm-wasmer script"
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "usage: realm-wasmer" in done.stdout


def test_inspect_json_has_the_contract_keys() -> None:
    done = run("inspect", str(REALM_WASM), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    for key in ("flavour", "import_namespace", "features", "roles", "classes", "imports"):
        assert key in data
    for key in ("malloc_arity", "free_arity", "class_free_arity", "externref", "multi_value", "stack_pointer"):
        assert key in data["features"]
    assert set(data["roles"]) >= {"malloc", "realloc", "free", "exn_store", "add_to_stack_pointer", "start"}
    assert data["classes"]["Realm"]["constructor"] == {
        "export": "realm_new", "pattern": 3, "multi_value": False, "signature": "(i32) -> ()"}
    resolvers = {imp["name"]: imp["resolver"] for imp in data["imports"]}
    assert resolvers["__wbindgen_string_new"] == "intrinsic"
    assert resolvers["realm_store_model"] == "policy:trap"
    assert {imp["kind"] for imp in data["imports"]} <= {"intrinsic", "shim", "host", "unknown"}


def test_run_calls_one_export() -> None:
    done = run("run", str(REALM_WASM), "rt_i32", "41")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == 42


def test_errors_are_one_line_without_traceback() -> None:
    done = run("run", str(REALM_WASM), "no_such_export")
    assert done.returncode == 1
    assert done.stderr.startswith("realm-wasmer: error: the module has no export 'no_such_export'")
    assert "Traceback" not in done.stderr


def test_demo_prints_the_decoded_out_slot(capsys: object) -> None:
    for engine in ("wasmer-cranelift", "wasmtime"):
        assert main(["demo", "--engine", engine]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "callee wrote: bytes=" in out and "object_ptr=0x" in out and "is_err=False" in out
    assert "is_err=1" in out and "invalid config: unknown key" in out
    assert "generate('hello') -> 'worldrealm!hello'" in out
