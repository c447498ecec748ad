"""The README's Python examples run as written (docs that match the code)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from .conftest import ROOT

BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index: int) -> None:
    done = subprocess.run([sys.executable, "-c", BLOCKS[index]], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    if "realm.generate" in BLOCKS[index]:
        assert done.stdout.strip().endswith("worldrealm!helloworldrealm")
    else:
        assert "object_ptr=0x" in done.stdout
