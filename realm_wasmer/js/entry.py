"""Where a package's code starts, as Node's ``require`` resolves it: package.json's ``exports``
(the require conditions), ``main``, ``module``, ``index.js``; or the glue beside a ``*_bg.wasm``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

_REQUIRE_CONDITIONS = ("require", "node", "node-addons", "default")


def _exports_target(exports: Any, subpath: str = ".") -> Optional[str]:
    if isinstance(exports, str):
        return exports if subpath == "." else None
    if isinstance(exports, dict):
        if any(k.startswith(".") for k in exports):
            return _exports_target(exports.get(subpath), ".") if subpath in exports else None
        for cond in _REQUIRE_CONDITIONS:
            if cond in exports:
                found = _exports_target(exports[cond], ".")
                if found:
                    return found
    if isinstance(exports, list):
        for item in exports:
            found = _exports_target(item, ".")
            if found:
                return found
    return None


def package_entry(root: Path) -> Path:
    """The file Node's ``require(root)`` loads (with fallbacks for glue-only packages)."""
    pj = root / "package.json"
    meta: dict[str, Any] = json.loads(pj.read_text()) if pj.is_file() else {}
    candidates = []
    target = _exports_target(meta.get("exports")) if "exports" in meta else None
    if target:
        candidates.append(target)
    for field in ("main", "module"):
        if isinstance(meta.get(field), str):
            candidates.append(meta[field])
    candidates.append("index.js")
    for c in candidates:
        p = (root / c).resolve()
        for q in (p, p.with_name(p.name + ".js"), p / "index.js"):
            if q.is_file():
                return q
    wasm = sorted(root.glob("*_bg.wasm"))
    if len(wasm) == 1:
        return glue_for_wasm(wasm[0])
    raise FileNotFoundError(
        f"{root}: no entry found (tried {', '.join(candidates)}); pass entry='<file in the package>'"
    )


def glue_for_wasm(wasm: Path) -> Path:
    stem = wasm.name[: -len("_bg.wasm")]
    for name in (f"{stem}.js", f"{stem}.cjs", f"{stem}.mjs", f"{stem}_bg.js", f"{stem}_bg.cjs"):
        p = wasm.with_name(name)
        if p.is_file():
            return p
    raise FileNotFoundError(f"{wasm}: no glue beside it (looked for {stem}.js, .cjs, .mjs, {stem}_bg.js)")
