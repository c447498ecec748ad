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

from functools import lru_cache
from types import CodeType
from typing import Any, Callable

#: How many compiled code objects are kept (by source text and file name): the import handlers
#: here and js/direct.py's translated glue functions. Loading the same glue again (another
#: load_package of a package, another realm) then skips Python's compiler; each load still runs
#: the code into a namespace of its own. A long-lived server loading many packages, or one
#: package's many versions, would otherwise keep every code object it ever compiled; 8192 holds
#: every function of several large packages at once.
CODE_CACHE_SIZE = 8192


@lru_cache(maxsize=CODE_CACHE_SIZE)
def compiled(text: str, filename: str) -> CodeType:
    """``text`` compiled, remembered: an instance's handlers are made by running a cached code
    object over its own names (no compile per instance, nor per load of the same package)."""
    return compile(text, filename, "exec")


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
    code = compiled(text, f"<handler {name}>")
    namespace = dict(env)
    exec(code, namespace)  # noqa: S102 - source written in this library, no user text
    function: Callable[..., Any] = namespace["factory"]()
    return function


class LazyGuarded:
    """The guarded forms of generated functions whose source is a factory ``(env, fn)`` run in
    ``namespace`` (js/direct.py's import twins), compiled only when one is linked as an import:
    most translated glue functions never are, and compiling every twin's guarded form at load
    made loading a package 20-30% slower. ``bodies``: name -> body lines (indentation 8)."""

    def __init__(self, signature: str, bodies: dict[str, list[str]], namespace: dict[str, Any], filename: str) -> None:
        self.signature, self.bodies, self.namespace, self.filename = signature, bodies, namespace, filename
        self._factories: dict[str, Any] = {}

    def __call__(self, env: Any, fn: Any, name: str, calls: Any, label: str, counts: Any) -> Callable[..., Any]:
        """The one-frame ``name`` for one link (``env``, ``fn``: what the twins' factory got)."""
        factory = self._factories.get(name)
        if factory is None:
            lines = ["def guarded_factory(env, fn):", *guarded_source(name, self.signature, self.bodies[name]),
                     f"    return guarded_{name}", ""]  # fmt: skip
            text = "\n".join(lines)
            code = compiled(text, self.filename)  # the same package loaded again makes the same text
            scope = dict(self.namespace)
            exec(code, scope)  # noqa: S102 - generated source
            factory = self._factories[name] = scope["guarded_factory"]
        function: Callable[..., Any] = factory(env, fn)(calls, label, counts)
        return function
