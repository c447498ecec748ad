"""What the package's plain records share: their JSON forms name each field once."""

from __future__ import annotations

from typing import Any


def attributes(obj: object, *names: str) -> dict[str, Any]:
    """``{name: obj.<name>}`` for each of ``names``, in that order: the fields of a
    record's JSON form that keep their name and need no conversion."""
    return {name: getattr(obj, name) for name in names}
