"""The JS value model: how a Python host stands for the values JS glue handles.

``UNDEFINED`` is JS ``undefined`` (``None`` is ``null``); ``True``/``False``,
``int``/``float`` and ``str`` are themselves; :class:`JsErrorValue` is an
``Error`` made by the guest; any other Python object is an opaque JS object.
``debug_repr`` is the glue's ``debugString``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import attrs

from ..errors import JsError


class _Undefined:
    _instance: "_Undefined | None" = None

    def __new__(cls) -> "_Undefined":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (_Undefined, ())  # unpickles to the one UNDEFINED


#: The Python stand-in for JS ``undefined`` (distinct from ``None``, which is ``null``).
UNDEFINED: Any = _Undefined()


@attrs.frozen
class JsErrorValue:
    """A JS ``Error`` object made by the guest (``new Error(message)``)."""

    message: str
    name: str = "Error"

    def __str__(self) -> str:
        return self.message


class JsFunction:
    """Marker base for Python callables that stand in for JS functions."""


def js_error(value: Any) -> JsError:
    """The Python exception for a thrown or returned JS value."""
    if isinstance(value, JsErrorValue):
        return JsError(value.message, value)
    return JsError(value if isinstance(value, str) else repr(value), value)


def debug_repr(value: Any) -> str:
    """The glue's ``debugString`` for the values a Python host holds: numbers as
    JS prints them, strings JSON-quoted, ``[a, b]`` for arrays,
    ``Object({...})`` for plain objects, ``Name: message`` for errors."""
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _js_number(float(value))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, JsErrorValue):
        return f"{value.name}: {value.message}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(debug_repr(v) for v in value) + "]"
    if isinstance(value, dict):
        try:
            return "Object(" + json.dumps(value, separators=(",", ":"), ensure_ascii=False) + ")"
        except (TypeError, ValueError):
            return "Object"
    if callable(value):
        return f"Function({getattr(value, '__name__', '')})"
    return type(value).__name__


def _js_number(number: float) -> str:
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number.is_integer() and abs(number) < 1e21:
        return str(int(number))
    return repr(number)
