"""What travels between a pool and its workers: requests, replies, handle markers.

Everything here pickles. A request names what to call (a dotted name of the bound
module, a raw export, or a task reference ``"package.module:function"``), on which
object (``handle``: an object kept in a session), in which session (``session``: the
pool's id of the session, None for a stateless call). A reply is ``("ok", value)`` or
``("err", exception)``; objects that stay in a worker travel as :class:`HandleInfo`
and come back as :class:`HandleRef` inside arguments.
"""

from __future__ import annotations

import io
import pickle
import signal
from typing import Any, Optional

import attrs

from ..errors import RealmWasmerError

#: Request operations.
CALL, GET, SET, BATCH, RELEASE, END, STOP = "call", "get", "set", "batch", "release", "end", "stop"


@attrs.frozen
class Request:
    """One message to a worker (see the module docstring)."""

    op: str
    name: str = ""
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = attrs.field(factory=dict)
    #: The pool's id of the session (None: the worker's shared, stateless runtime).
    session: Optional[int] = None
    #: The session key, for messages.
    key: Any = None
    #: A session object the call is made on, or None for the module.
    handle: Optional["HandleRef"] = None
    #: Handles of the session the caller dropped: released before the call.
    release: tuple[int, ...] = ()
    #: Unique per request: an executor that deduplicates equal tasks (Dask's pure tasks) never merges two calls.
    id: int = 0


@attrs.frozen
class HandleInfo:
    """An object that stayed in a session's worker: what the caller's proxy needs."""

    id: int
    generation: int
    class_name: str
    methods: tuple[str, ...]
    properties: tuple[str, ...]


@attrs.frozen
class HandleRef:
    """A session object passed back as an argument (the worker swaps in the object)."""

    id: int
    generation: int


@attrs.frozen
class WorkerInfo:
    """What a worker reports once its module is loaded."""

    pid: int
    #: "bindings" (a raw wasm-bindgen module, called by its bound names), "package"
    #: (``load_package``), or "raw" (exports called with raw wasm values).
    kind: str
    #: How the artifact cache answered ("hit", "miss", ...), or "" when not known.
    cache: str
    #: Seconds from the worker's start to loaded (imports of the library included).
    load_seconds: float
    #: Why the module is not bound, when kind is "raw".
    unbound_reason: str = ""


def death_cause(exitcode: Optional[int]) -> str:
    """How a worker process ended, from its exit code, in words."""
    if exitcode is None:
        return "the worker stopped answering"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = {
            "SIGKILL": " (killed: by a user, the pool's call_timeout, or the kernel's OOM killer)",
            "SIGSEGV": " (a crash in native code: the engine, or a guest escaping it)",
            "SIGBUS": " (a crash in native code)",
            "SIGABRT": " (aborted: e.g. an engine panic that does not unwind)",
            "SIGTERM": " (terminated)",
        }.get(name, "")
        return f"killed by {name}{hint}"
    return f"exited with status {exitcode}"


class _Pickler(pickle.Pickler):
    """Pickles realm_wasmer errors by their own ``__reduce__`` whatever ``copyreg`` holds.

    Importing ``distributed`` installs tblib's reducer in ``copyreg`` for every exception
    class that exists then; it also pickles ``__cause__``, ``__context__`` and the traceback,
    so an error caused by something that does not pickle (a handler's exception, the JS
    evaluator's own error object) could no longer be sent. The errors' own reduce sends their
    fields only, as documented in :mod:`realm_wasmer.errors`."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, RealmWasmerError):
            return obj.__reduce__()
        return NotImplemented


def dumps(value: Any) -> bytes:
    """``value`` pickled for the trip between a pool and a worker (see :class:`_Pickler`)."""
    buffer = io.BytesIO()
    _Pickler(buffer, pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()
