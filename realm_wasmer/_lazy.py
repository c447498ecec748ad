"""Lazy package attributes: a package names where each public name lives, and the
module holding it is imported on first access (PEP 562 module ``__getattr__``).

``import realm_wasmer`` then costs only the package's own ``__init__``; ``rw.load``
imports the instance machinery (and the engine) when first used. Each package keeps
its real imports under ``if TYPE_CHECKING:`` so type checkers and editors see them.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Mapping


def exports(package: str, where: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``.

    ``where`` maps a public name to the module that defines it, relative to the
    package (``".instance"``); a name equal to its module's last part with no
    attribute of that name in the module (``"engines": ".engines"``) is the
    submodule itself. Each resolved name is stored in the package's globals, so
    ``__getattr__`` runs once per name.
    """
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        target = where.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(target, package)
        value = module if target.rsplit(".", 1)[-1] == name and not hasattr(module, name) else getattr(module, name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(where))

    return __getattr__, __dir__
