"""JavaScript values on the Python side (the value model shared by the host and bindings)."""

from __future__ import annotations

from .values import UNDEFINED, JsErrorValue, JsFunction, debug_repr, js_error

__all__ = ["UNDEFINED", "JsErrorValue", "JsFunction", "debug_repr", "js_error"]
