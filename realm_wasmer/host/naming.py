"""Import and export names across wasm-bindgen's naming eras.

* ``__wbindgen_throw``: a bare intrinsic (up to 0.2.101, and a few after);
* ``__wbg___wbindgen_throw_bb96b2010945f0bc``: a self-hosted intrinsic (0.2.102+);
* ``__wbindgen_cast_0000000000000001``: a generic conversion (0.2.102+);
* ``__wbg_log_0f5e5b4d23fa8a6c``: a JS binding (js-sys, web-sys, user ``extern``).
"""

from __future__ import annotations

import re
from typing import Optional

import attrs

HASH_RE = re.compile(r"^(?P<base>.+?)_(?P<hash>[0-9a-f]{16})$")
CAST_RE = re.compile(r"^__wbindgen_cast_(?P<id>[0-9a-f]{16})$")


@attrs.frozen
class ImportName:
    """A decoded import name."""

    raw: str
    #: ``intrinsic`` (a wasm-bindgen runtime intrinsic), ``cast``, ``binding``
    #: (``__wbg_<js name>_<hash>``) or ``plain`` (anything else, e.g. ``env`` imports).
    form: str
    #: The name with the hash and ``__wbg_`` prefix stripped: ``__wbindgen_throw``
    #: for both intrinsic forms, ``log`` for ``__wbg_log_<hash>``.
    base: str
    hash: Optional[str] = None


def parse_import_name(name: str) -> ImportName:
    cast = CAST_RE.match(name)
    if cast:
        return ImportName(name, "cast", "__wbindgen_cast", cast.group("id"))
    if name.startswith("__wbindgen_"):
        return ImportName(name, "intrinsic", name)
    if name.startswith("__wbg_"):
        rest = name[len("__wbg_") :]
        match = HASH_RE.match(rest)
        base, hash_ = (match.group("base"), match.group("hash")) if match else (rest, None)
        if base.startswith("__wbindgen_"):
            return ImportName(name, "intrinsic", base, hash_)
        return ImportName(name, "binding", base, hash_)
    return ImportName(name, "plain", name)


def strip_hash(name: str) -> str:
    """``__wbg_log_0f5e5b4d23fa8a6c`` -> ``__wbg_log``; other names unchanged."""
    match = HASH_RE.match(name)
    return match.group("base") if match and name.startswith("__wbg_") else name
