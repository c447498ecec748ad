"""What pool workers import by reference in the tests and benchmarks.

A pool's spec names its imports as ``"tests.pool_tasks:realm_imports"`` (so the spec
pickles), and corpus calls that need the hand-written handlers of
``tests/test_corpus_calls.py`` run in the worker as task functions
``"tests.pool_tasks:photon_case"`` (called with the worker's instance first).
"""

from __future__ import annotations

import os
import time
from typing import Any

import realm_wasmer as rw

#: A module that is not wasm-bindgen output: its exports are called with raw wasm values.
WORK_WAT = """(module
  (func (export "work") (param $n i32) (result i32) (local $acc i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (local.get $n)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $acc))
  (func (export "spin") (loop $forever (br $forever)))
  (func (export "boom") unreachable))"""


def work_module() -> bytes:
    import wasmtime

    return bytes(wasmtime.wat2wasm(WORK_WAT))


def work_in_python(n: int) -> int:
    """What ``work(n)`` returns (i32 arithmetic)."""
    acc = 0
    while n:
        acc = (acc * 31 + n) & 0xFFFFFFFF
        n -= 1
    return acc - (1 << 32) if acc & 0x80000000 else acc


def realm_imports() -> rw.Imports:
    """The Realm fixture's ``env`` imports (a fresh model store per instance)."""
    from realm_wasmer.demo import EchoModel

    return EchoModel().imports()


def resvg_imports() -> rw.Imports:
    """resvg's js-sys bindings, answered by the handlers of tests/test_corpus_calls.py."""
    from tests.test_corpus_calls import RV_HANDLERS

    imports = rw.Imports()
    for name, handler in RV_HANDLERS.items():
        imports.register("wbg", name, handler, match="exact")
    return imports


def photon_case(instance: rw.Instance, case_id: str, inputs: Any) -> Any:
    """Run a photon corpus case (encoded inputs) in the worker; the encoded result."""
    from tests.test_corpus_calls import PH_RUNNERS, decode, encode

    return encode(PH_RUNNERS[case_id](instance, decode(inputs)))


def resvg_case(instance: rw.Instance, case_id: str, inputs: Any) -> Any:
    from tests.test_corpus_calls import RV_RUNNERS, decode, encode

    return encode(RV_RUNNERS[case_id](instance, decode(inputs)))


def pid(target: Any) -> int:
    """The worker's process id."""
    return os.getpid()


def sleep_then_pid(target: Any, seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def raise_value_error(target: Any, message: str) -> None:
    raise ValueError(message)


def photon_resize_digest(instance: rw.Instance, size: int, new_size: int, filter: int = 5) -> str:
    """A compute-bound photon call (``resize`` of a ``size``-square image made in the worker)
    through the hand-written glue of tests/test_corpus_calls.py; the sha256 of its pixels
    comes back (little data crosses the pipe)."""
    import hashlib

    from tests.test_corpus_calls import ph_resize

    pixels = bytes(range(256)) * (size * size * 4 // 256)
    width, height, out = ph_resize(
        instance, {"pixels": pixels, "width": size, "height": size, "new_width": new_size, "new_height": new_size,
                   "filter": filter}
    )
    assert (width, height) == (new_size, new_size)
    return hashlib.sha256(bytes(out)).hexdigest()


def photon_decoded_size(package: Any, png: bytes) -> tuple[int, int]:
    """Width and height of a PNG decoded by photon's package API in the worker."""
    with package.PhotonImage.new_from_byteslice(png) as image:
        return image.get_width(), image.get_height()


def package_globals() -> dict[str, Any]:
    """A package's imports (JS global names): a fresh mapping per package instance."""
    return {"hostAdd": lambda a, b: a + b}


_ENCODERS: dict[int, Any] = {}


def tiktoken_encode_count(package: Any, text: str, repeat: int = 1) -> int:
    """Tokens of ``text * repeat`` (cl100k_base) by tiktoken's lite package API in the worker; the encoder
    is made once per loaded package (its ranks are read from the package's encoders/ JSON)."""
    encoder = _ENCODERS.get(id(package))
    if encoder is None:
        import json
        from pathlib import Path

        root = Path(package.__realm__.root)
        ranks = json.loads((root / "encoders" / "cl100k_base.json").read_text())
        encoder = package.Tiktoken(ranks["bpe_ranks"], ranks["special_tokens"], ranks["pat_str"])
        _ENCODERS.clear()  # one package per worker: a rebuilt package replaces the old one
        _ENCODERS[id(package)] = encoder
    return len(encoder.encode_ordinary(text * repeat))
