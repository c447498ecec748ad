"""JavaScript values on the Python side (the value model shared by the host and bindings)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import exports

#: Imported on first use: the host's heap needs only ``values``, not the evaluator
#: (``bridge`` pulls in the compiler and the runtime, ~170 ms).
_WHERE = {
    "JsMap": ".bridge",
    "BigInt": ".model",
    "JsObject": ".model",
    "UNDEFINED": ".values",
    "JsErrorValue": ".values",
    "JsFunction": ".values",
    "debug_repr": ".values",
    "js_error": ".values",
}
__getattr__, __dir__ = exports(__name__, _WHERE)

if TYPE_CHECKING:
    from .bridge import JsMap
    from .model import BigInt, JsObject
    from .values import UNDEFINED, JsErrorValue, JsFunction, debug_repr, js_error

__all__ = ["UNDEFINED", "BigInt", "JsErrorValue", "JsFunction", "JsMap", "JsObject", "debug_repr", "js_error"]
