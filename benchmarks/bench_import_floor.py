"""What one guest->host import call costs on bare wasmer, and what the import guard adds.

    .venv/bin/python benchmarks/bench_import_floor.py [--calls 25201] [--rounds 9]

A WAT loop calls a 3-argument void import ``--calls`` times (message_parser's
``__wbg_set_*`` shape); the handler is, in turn: a bare no-op Python function (the engine's
floor: pyo3 argument conversion and the trampoline), the same no-op behind
:meth:`GuestCalls.guard` as a wrapper (two frames), and the no-op made by
:func:`realm_wasmer.host.guarded.source_handler`, whose guarded form the guard links (one
frame, host/guarded.py). Process time, best of ``--rounds``, ns per import call.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WAT = """(module (import "e" "f" (func $f (param i32 i32 i32)))
 (func (export "run") (param $n i32)
  (loop $l (call $f (local.get $n) (i32.const 2) (i32.const 3))
   (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br_if $l (local.get $n)))))"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=25201)
    p.add_argument("--rounds", type=int, default=9)
    args = p.parse_args()
    import wasmer

    from realm_wasmer.host.calls import GuestCalls
    from realm_wasmer.host.guarded import source_handler
    from realm_wasmer.wasm import FuncType, parse

    data = wasmer.wat2wasm(WAT)
    store = wasmer.Store()
    module = wasmer.Module(store, data)
    calls = GuestCalls(parse(bytes(data)))
    signature = FuncType(("i32", "i32", "i32"), ())

    def noop(a: int, b: int, c: int) -> None:
        return None

    plain = source_handler("noop", "a, b, c", ["        return None"], {})
    plain.guarded = None  # type: ignore[attr-defined] # the same body, linked behind the wrapper guard
    handlers: dict[str, Callable[..., Any]] = {
        "bare no-op (engine floor)": noop,
        "no-op behind the wrapper guard": calls.guard("e.f", plain, signature),
        "no-op, guard inlined (guarded form)": calls.guard(
            "e.f", source_handler("noop", "a, b, c", ["        return None"], {}), signature
        ),
    }
    for label, handler in handlers.items():
        imports = wasmer.ImportObject()
        ftype = wasmer.FunctionType([wasmer.Type.I32] * 3, [])
        imports.register("e", {"f": wasmer.Function(store, handler, ftype)})
        run = wasmer.Instance(module, imports).exports.run
        run(100)
        best = min(_timed(run, args.calls) for _ in range(args.rounds))
        print(f"{label:40s} {best / args.calls * 1e9:6.0f} ns per import call")


def _timed(run: Callable[[int], Any], n: int) -> float:
    start = time.process_time()
    run(n)
    return time.process_time() - start


if __name__ == "__main__":
    main()
