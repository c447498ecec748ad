"""On CPython 3.11 wasmer 1.1.0 is a stub: realm_wasmer must still import, say
why the wasmer engines are unavailable, and run the Realm fixture on wasmtime.
This test builds a real 3.11 venv (cached in .venv-py311) and installs the package
into it the way a user would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import REALM_WASM, ROOT

SCRIPT = r"""
import json, sys
import realm_wasmer as rw
from realm_wasmer import engines
report = {"python": sys.version.split()[0]}
report["availability"] = {a.name: [a.available, a.reason] for a in engines.availability()}
try:
    engines.get("wasmer-cranelift")
except rw.EngineUnavailable as exc:
    report["error"] = str(exc)
    report["traceback_frames"] = len(__import__("traceback").extract_tb(exc.__traceback__))
inst = rw.load(sys.argv[1], engine="wasmtime")
realm = inst.construct("Realm")
step = [s for s in realm.explain if s.what == "callee wrote"][0]
report["words"] = [step.detail["object_ptr"], step.detail["error"], step.detail["is_err"]]
realm.close()
report["stats"] = inst.stats().as_dict()
print(json.dumps(report))
"""


def python311() -> str:
    for candidate in (
        shutil.which("python3.11"),
        str(Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions" / "3.11.7" / "bin" / "python3"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail("no CPython 3.11 on this machine (this machine type ships 3.11.7 under pyenv)")


@pytest.mark.slow
def test_package_on_python311_uses_wasmtime_and_explains_wasmer() -> None:
    venv = ROOT / ".venv-py311"
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.run([python311(), "-m", "venv", str(venv)], check=True)
    install = subprocess.run([str(py), "-m", "pip", "install", "--quiet", str(ROOT)], capture_output=True, text=True,
                             timeout=900)
    assert install.returncode == 0, install.stderr[-3000:]
    done = subprocess.run([str(py), "-c", SCRIPT, str(REALM_WASM)], capture_output=True, text=True, timeout=300,
                          cwd="/")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["python"].startswith("3.11")
    available, reason = report["availability"]["wasmer-cranelift"]
    assert available is False
    assert "native wheels only up to CPython 3.10" in reason and "engine='wasmtime'" in reason
    assert report["availability"]["wasmtime"][0] is True
    assert report["error"].startswith("engine 'wasmer-cranelift' is unavailable:")
    assert report["traceback_frames"] <= 3, "the error comes from realm_wasmer, not from inside wasmer"
    ptr, err, is_err = report["words"]
    assert ptr > 0 and err == 0 and is_err is False
    assert report["stats"]["objects_live"] == 0
