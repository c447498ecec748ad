"""Fetch the pinned packages of tests/packages/packages.json with ``npm pack`` into a cache.

    python tests/packages/fetch.py [CACHE]      (default $REALM_NEW_PACKAGES_CACHE or /tmp/realm-new-packages)

Layout: CACHE/tarballs/<tarball>, CACHE/pkgs/<id>/package/... (the unpacked tarball). A tarball
whose sha512 differs from its ``integrity`` is refused. Used by the tests' session fixture.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CACHE = Path(os.environ.get("REALM_NEW_PACKAGES_CACHE", "/tmp/realm-new-packages"))


def packages() -> list[dict]:
    return list(json.loads((HERE / "packages.json").read_text())["packages"])


def integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def fetch(cache: Path = DEFAULT_CACHE) -> dict[str, Path]:
    """{id: unpacked package root}; raises RuntimeError naming what failed."""
    tarballs = cache / "tarballs"
    tarballs.mkdir(parents=True, exist_ok=True)
    roots: dict[str, Path] = {}
    for pkg in packages():
        tgz = tarballs / pkg["tarball"]
        if not tgz.is_file():
            done = subprocess.run(
                ["npm", "pack", pkg["spec"], "--silent", "--pack-destination", str(tarballs)],
                capture_output=True, text=True, timeout=300,
            )
            if done.returncode != 0 or not tgz.is_file():
                raise RuntimeError(f"npm pack {pkg['spec']} failed: {done.stdout}{done.stderr}")
        if integrity(tgz) != pkg["integrity"]:
            tgz.unlink()
            raise RuntimeError(f"{tgz}: sha512 differs from the pinned integrity of {pkg['spec']}")
        dest = cache / "pkgs" / pkg["id"]
        if not (dest / ".complete").is_file():
            dest.mkdir(parents=True, exist_ok=True)
            with tarfile.open(tgz) as tar:
                tar.extractall(dest, filter="data")
            (dest / ".complete").write_text(pkg["spec"])
        roots[pkg["id"]] = dest / "package"
    return roots


if __name__ == "__main__":
    for pid, root in fetch(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CACHE).items():
        print(pid, root)
