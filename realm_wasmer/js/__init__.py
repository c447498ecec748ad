"""JavaScript values on the Python side (the value model shared by the host and bindings)."""

from __future__ import annotations

from .bridge import JsMap  # noqa: E402
from .model import BigInt, JsObject  # noqa: E402
from .values import UNDEFINED, JsErrorValue, JsFunction, debug_repr, js_error

__all__ = ["UNDEFINED", "BigInt", "JsErrorValue", "JsFunction", "JsMap", "JsObject", "debug_repr", "js_error"]
