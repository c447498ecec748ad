"""What a benchmark report was measured on: platform, CPU, cores, load, versions."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

#: The source checkout (realm_wasmer/bench/machine.py -> the repository root).
ROOT = Path(__file__).resolve().parents[2]


def cpu_model() -> Optional[str]:
    """The ``model name`` of /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name") and ":" in line:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def node_version(node: Optional[str] = None) -> Optional[str]:
    """``node --version``, or None when Node is not installed."""
    exe = node or shutil.which("node")
    if not exe:
        return None
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _git(*args: str) -> Optional[str]:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def machine_info(engine_names: Sequence[str]) -> dict[str, Any]:
    """The ``machine`` section of the report."""
    import numpy as np

    from .. import engines

    versions = {a.name: a.version for a in engines.availability() if a.name in engine_names}
    try:
        load: Optional[list[float]] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    head = _git("rev-parse", "--short", "HEAD")
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "load_average_at_start": load,
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "numpy": np.__version__,
        "engine_versions": versions,
        "node_version": node_version(),
        "git_commit": head,
        "git_dirty": bool(dirty) if dirty is not None else None,
    }
