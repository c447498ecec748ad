"""A pool of worker processes serving calls to one module (``realm_wasmer.Pool``).

One Python process runs one guest call at a time (the GIL; on wasmer it is held for
the whole guest call), so throughput comes from processes, and past one machine from
a cluster. The design:

* **Workers are processes the pool manages** (``multiprocessing``, spawn context: the
  machinery ``ProcessPoolExecutor`` uses). A ``ProcessPoolExecutor`` alone does not
  fit: one dead worker breaks the whole executor (every pending call fails with
  ``BrokenProcessPool``, the executor is unusable), it cannot say which worker died,
  and it cannot send a session's calls to the worker that holds the session's objects.
  Each worker has a pipe and a feeding thread in the parent; one request is in flight
  per worker, so a death is the death of exactly that call: it raises
  :class:`~realm_wasmer.errors.WorkerDied` naming the worker and the cause, the worker
  is replaced, and the other workers' calls go on.
* **Loading** (:mod:`.runtime`): a worker compiles the spec through the on-disk artifact
  cache (``$REALM_WASMER_CACHE``, inherited), so it compiles nothing the cache holds;
  then binds it (:func:`~realm_wasmer.bind`'s namespace) when it is raw wasm-bindgen
  output, loads it with ``realm_wasmer.load_package`` when the source is an npm
  package (when the library has it), and otherwise calls raw exports.
* **Calls** are stateless: they wait in one bounded queue any idle worker takes from.
  Past the bound ``submit`` blocks or raises :class:`~realm_wasmer.errors.PoolFull`.
* **Sessions** (``pool.session(key)``) are per-tenant runtimes: a session gets its own
  instance in one worker (the least loaded, up to ``sessions_per_worker``); objects
  its calls return stay there, and the caller gets :class:`RemoteObject` proxies. A
  session ends when closed, after ``session_idle`` seconds without a call, or with its
  worker (then :class:`~realm_wasmer.errors.SessionLost`).
* **Faults inside the guest** (a trap) come back as the error itself; the poisoned
  instance is rebuilt before the worker's next call. ``call_timeout`` kills a worker
  stuck in a call.
* **An executor** (``executor=``), e.g. a Dask client's ``get_executor()``, runs the
  same calls in its processes instead (a cluster), with sessions as Dask actors.

See docs/pool.md.
"""

from __future__ import annotations

from .pool import Pool, RemoteObject, Session, WorkerStats
from .protocol import WorkerInfo

__all__ = ["Pool", "RemoteObject", "Session", "WorkerInfo", "WorkerStats"]
