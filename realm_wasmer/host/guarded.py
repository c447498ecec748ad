"""Import handlers generated as Python source, with the import guard inlined.

Each import call from the guest runs :meth:`~realm_wasmer.host.calls.GuestCalls.guard`'s
bookkeeping (the last import called, the count by name, the exception that unwound through
guest frames) around its handler. As a wrapper that is one more Python frame per crossing,
about 0.2 us, as much as the engine's own crossing. A handler whose body exists as source
(js/direct.py's import twins, the heap slab's per-crossing operations) carries a maker of its
*guarded* form instead (``handler.guarded(calls, label, counts)``): the same body inside the
bookkeeping, one frame. :meth:`GuestCalls.guard` links that form when it is there.
"""

from __future__ import annotations

from types import CodeType
from typing import Any, Callable

#: Compiled factories by source text: an instance's handlers are made by running a cached
#: code object over its own names (no compile per instance).
_CODE: dict[str, CodeType] = {}


def guarded_source(name: str, signature: str, body: list[str]) -> list[str]:
    """Source lines (at indentation 4) of ``guarded_<name>(_calls, _label, _counts)``, which
    returns a one-frame function ``name(<signature>)`` running ``body`` (lines at indentation
    8) inside the guard's bookkeeping. The body's results must already fit the import (an
    i32 import's body returns an i32, a void import's None): no result check is added."""
    return [
        f"    def guarded_{name}(_calls, _label, _counts):",
        f"        def {name}({signature}):",
        "            _calls._last_import = _label",
        "            _counts[_label] += 1",
        "            try:",
        *("        " + line for line in body),
        "            except BaseException as _exc:",
        "                _calls._host_exception = (_label, _exc)",
        "                raise",
        f"        return {name}",
    ]


def source_handler(name: str, signature: str, body: list[str], env: dict[str, Any]) -> Callable[..., Any]:
    """The function ``name(<signature>)`` running ``body`` (lines at indentation 8) over the
    names in ``env``, carrying its guarded form's maker as ``guarded``."""
    text = "\n".join(
        [
            "def factory():",
            f"    def {name}({signature}):",
            *body,
            *guarded_source(name, signature, body),
            f"    {name}.guarded = guarded_{name}",
            f"    return {name}",
            "",
        ]
    )
    code = _CODE.get(text)
    if code is None:
        code = _CODE[text] = compile(text, f"<handler {name}>", "exec")
    namespace = dict(env)
    exec(code, namespace)  # noqa: S102 - source written in this library, no user text
    function: Callable[..., Any] = namespace["factory"]()
    return function
