"""Ground truth from Node for tests that compare the JS evaluator with the real thing.

A test skips only where ``node`` is absent (CI installs it), and only at the point it needs
Node: the Python half of the test has run by then.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Optional

import pytest


def node_json(script: Path, *flags: str, cwd: Optional[Path] = None) -> Any:
    """Run ``script`` with Node and return the JSON on the last line of its stdout."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (CI installs it)")
    done = subprocess.run([node, *flags, str(script)], capture_output=True, text=True, timeout=60, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def node_exports(tmp_path: Path, source: str) -> Any:
    """``module.exports`` of CommonJS ``source`` (as ``run_script`` takes it) under Node, as JSON."""
    path = tmp_path / "script.cjs"
    path.write_text(source + "\nconsole.log(JSON.stringify(module.exports));\n")
    return node_json(path)
