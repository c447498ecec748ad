"""Run a piece of JavaScript (CommonJS) on the evaluator, without a package: tests and debugging.

>>> from realm_wasmer.js.script import run_script
>>> run_script("module.exports = [1, 2, 3].map(x => x * 2)")
[2, 4, 6]
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from . import helpers, stdlib
from .bridge import Bridge
from .modules import Loader, unwrap_exports
from .runtime import Realm


def run_script(source: str, filename: str = "script.cjs") -> Any:
    """Evaluate ``source`` as a CommonJS module; its ``module.exports`` as a Python value
    (the conversions of ``docs/js-values.md``). A JS throw raises ``realm_wasmer.JsError``."""
    from . import model as m
    from .bridge import EVAL_LOCK

    with EVAL_LOCK:
        previous = m.ACTIVE
        try:
            return _run(source, filename)
        finally:
            m.activate(previous)


def _run(source: str, filename: str) -> Any:
    realm = Realm()
    stdlib.install(realm)
    helpers.install(realm)
    bridge = Bridge(realm)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / filename
        path.write_text(source, encoding="utf-8")

        def no_wasm(*args: Any) -> Any:
            raise RuntimeError("run_script has no WebAssembly")

        loader = Loader(realm, Path(tmp), no_wasm, {})
        record = loader.load(str(path), None)

        def run() -> Any:
            loader.evaluate(record)
            return unwrap_exports(record.module_object)

        from .model import JSFunction

        return bridge.invoke(JSFunction(lambda this, args: run(), "script"), None, [], filename)
