"""A class's constructor and free as generated code in a guarded region (:mod:`.region`).

Pattern 3 (``ctor(slot, ...)`` writes ``[ptr, err, is_err]`` into the caller's slot):
the reusable out-slot of the call depth is cleared, the constructor's raw callable
called, the three words read on the same view, and the handle
(:class:`~realm_wasmer.objects.Object`) made inline. The bound class's ``__init__``
(``generate.py``) runs these lines in its own frame; :meth:`Instance.constructor
<realm_wasmer.instance.Instance.constructor>` compiles them alone. ``close``/``free``
of a bound class is one guarded crossing into the class's free export.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from ..host.abi import RESULT_WORDS, Abi
from ..host.memory import GuestMemory
from ..objects import HandleKind, Object
from .codegen import GuardedRegion, Namespace, compile_function
from .region import Region

#: Checks the three words and raises (the error value as JsError, or a null pointer).
Failed = Callable[[int, int, int], Any]


def construct_lines(
    region: GuardedRegion,
    abi: Abi,
    memory: GuestMemory,
    export: str,
    raws: str,
    kind: HandleKind,
    failed: Failed,
    into: Optional[str] = None,
) -> tuple[list[str], list[str]]:
    """(the crossing, for inside the region; the lines after it) of the Pattern 3
    constructor ``export`` called with ``raws``. The lines after it leave a new handle
    in ``h``, or with ``into`` (a bound object's variable) set its handle state."""
    g = region.g
    words = RESULT_WORDS
    body = region.slot_call(export, raws, abi, memory, words.unpack_from, words.size, clear=words.pack_into)
    # Object.from_kind inline (keep in step with it), or BoundObject's own slots.
    tail = ["ptr, err, is_err = f", f"if is_err or not ptr: {g.add(failed, 'failed')}(ptr, err, is_err)"]
    if into is None:
        tail += [f"h = {g.add(Object.__new__, 'new')}({g.add(Object, 'Object')})", f"h._kind = {g.add(kind, 'kind')}",
                 "h._ptr = ptr"]  # fmt: skip
    else:
        tail += [f"{into}._wbg_kind = {g.add(kind, 'kind')}", f"{into}._wbg_ptr = ptr"]
    if kind.registry is not None:
        tail.append(f"{g.add(kind.registry, 'registry')}.count += 1")
    tail.append("h.closed = False" if into is None else f"{into}._wbg_closed = False")
    return body, tail


def compile_constructor(
    abi: Abi, memory: GuestMemory, export: str, arity: int, kind: HandleKind, failed: Failed
) -> Optional[Callable[..., Object]]:
    """The Pattern 3 constructor ``export`` (``arity`` wasm arguments after the slot) as one
    generated function returning its handle; None where the engine has no guarded regions."""
    g = Namespace()
    region = Region.open(kind.calls, g, export)
    if region is None:
        return None
    params = ", ".join(f"a{i}" for i in range(arity))
    body, tail = construct_lines(region, abi, memory, export, params, kind, failed)
    lines = [*region.wrap(body), *tail, "return h"]
    source = f"def construct({params}):\n" + "".join(f"    {line}\n" for line in lines)
    return compile_function(source, "construct", g.ns, f"{kind.info.name} constructor {export}")


def compile_close(kind: HandleKind, fallback: Callable[[Any], None], label: str) -> Optional[Callable[[Any], None]]:
    """``close`` of a bound class whose handles are of ``kind`` (made by its
    constructor): one guarded crossing into the free export, the handle marked
    closed inside the region (after its thread check: a foreign thread is refused
    with the handle still open; before the crossing: never freed twice). On a
    poisoned instance the handle is closed and nothing is called. A handle of
    another kind (an object a method returned) goes to ``fallback``. None where the
    engine has no guarded regions."""
    g = Namespace()
    calls = kind.calls
    region = Region.open(calls, g, kind.free_export)
    if region is None:
        return None
    stage, free = region.call(kind.free_export)
    disown = ["self._wbg_closed = True"]
    if kind.registry is not None:
        disown.append(f"{g.add(kind.registry, 'registry')}.count -= 1")
    c = g.add(calls, "calls")
    refused = [  # poisoned: closed, nothing called (its memory is discarded on reset()); else a foreign thread
        f"if {c}._poisoned_by is not None:", *("    " + line for line in disown), "    return", f"{c}._refuse()",
    ]
    lines = [
        "if self._wbg_closed: return",
        f"if self._wbg_kind is not {g.add(kind, 'kind')}: return {g.add(fallback, 'fallback')}(self)",
        *region.wrap([*disown, stage, f"{free}(self._wbg_ptr{', 0' if kind.free_arity == 2 else ''})"], refused),
    ]
    source = "def close(self):\n" + "".join(f"    {line}\n" for line in lines)
    close = compile_function(source, "close", g.ns, label)
    close.__doc__, close.__annotations__ = fallback.__doc__, dict(fallback.__annotations__)
    close.__qualname__ = label
    return close
