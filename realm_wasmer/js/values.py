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
        return js_number_string(float(value))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, JsErrorValue):
        return f"{value.name}: {value.message}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(debug_repr(v) for v in value) + "]"
    if isinstance(value, dict):
        try:
            return "Object(" + json_stringify(value) + ")"
        except TypeError:
            return "Object"
    if callable(value):
        return f"Function({getattr(value, '__name__', '')})"
    return type(value).__name__


def js_number_string(number: float) -> str:
    """``Number.prototype.toString()`` (ECMA-262 Number::toString, radix 10): the
    shortest round-trip digits, in fixed notation for 1e-7 < |x| < 1e21, else exponent."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    mantissa, _, exponent = repr(abs(number)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    # value = 0.d1..dk x 10**n
    n = len(whole.lstrip("0")) + int(exponent or 0) if whole.strip("0") else int(exponent or 0) - (
        len(fraction) - len(fraction.lstrip("0"))
    )
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        text = digits[0] + ("." + digits[1:] if k > 1 else "") + f"e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + text


def json_stringify(value: Any) -> str:
    """``JSON.stringify`` of a JSON-like Python value (dict, list/tuple, str, number,
    bool, None): compact, non-ASCII kept, numbers as JS writes them, NaN/Infinity as null."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if abs(value) > 2**53:  # a Python int past the safe range stands for a BigInt
            raise TypeError("Do not know how to serialize a BigInt")
        return str(value)
    if isinstance(value, float):
        return "null" if math.isnan(value) or math.isinf(value) else js_number_string(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ",".join(
            f"{json.dumps(str(k), ensure_ascii=False)}:{json_stringify(v)}" for k, v in value.items()
            if v is not UNDEFINED and not callable(v)
        ) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join("null" if v is UNDEFINED else json_stringify(v) for v in value) + "]"
    raise TypeError(f"JSON.stringify cannot convert {type(value).__name__}")
