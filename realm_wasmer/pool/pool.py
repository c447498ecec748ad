"""``Pool``: many calls to one module, served by worker processes (or by an executor's).

See :mod:`realm_wasmer.pool` for the design. This module is the caller's side:
:class:`Pool`, :class:`Session` and :class:`RemoteObject`, and two backends that run
requests: :class:`_LocalBackend` (the pool's own spawned processes, one pipe each)
and :class:`_ExecutorBackend` (any ``concurrent.futures`` executor, e.g. a Dask
client's, with sessions as Dask actors).
"""

from __future__ import annotations

import functools
import itertools
import logging
import multiprocessing
import os
import pickle
import signal
import threading
import time
import weakref
from collections import deque
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Union, cast

import attrs

from ..errors import PoolClosed, PoolError, PoolFull, SessionLost, UseAfterFree, WorkerDied
from ..spec import LoadSpec, Source
from . import protocol as p
from .runtime import run_task, serve, spec_digest

log = logging.getLogger("realm_wasmer.pool")

#: ``on_full=``: what ``submit`` does when the queue is full.
ON_FULL = ("block", "raise")
#: A worker that dies this many times in a row before it is ready breaks the pool.
START_ATTEMPTS = 3


def _portable(spec: LoadSpec) -> LoadSpec:
    """The spec with relative paths made absolute (a worker may start elsewhere)."""
    changes: dict[str, Any] = {}
    if isinstance(spec.source, (str, Path)) and Path(spec.source).exists():
        changes["source"] = Path(spec.source).resolve()
    if spec.glue_path is not None and spec.glue_path.exists():
        changes["glue_path"] = spec.glue_path.resolve()
    return spec.evolve(**changes) if changes else spec


def _pickled(spec: LoadSpec) -> bytes:
    try:
        return pickle.dumps(spec, pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        raise TypeError(
            f"a Pool's spec must pickle to reach its workers, and this one does not ({exc}): give imports as an "
            "importable reference 'package.module:attr' (an Imports, a mapping, or a factory of one) and "
            "leave cache=None (workers use $REALM_WASMER_CACHE)"
        ) from exc


#: How many times a stateless call an executor cancelled (a lost Dask worker) is sent again.
RESUBMIT_CANCELLED = 2


class _Job:
    """One request on its way: the pickled request, the caller's future, its session."""

    __slots__ = ("request", "blob", "future", "session", "control", "resubmitted")

    def __init__(self, request: p.Request, session: Optional["Session"] = None, control: bool = False) -> None:
        self.request = request
        try:
            self.blob = pickle.dumps(request, pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise TypeError(f"the arguments of {request.name!r} cannot be sent to a worker: {exc}") from exc
        self.future: Future[Any] = Future()
        self.session = session
        #: Session housekeeping (end, release): not counted against the queue, no caller waits.
        self.control = control
        #: Times an executor cancelled this stateless call and it was sent again.
        self.resubmitted = 0


@attrs.frozen
class WorkerStats:
    """One worker slot of a local pool, as :meth:`Pool.stats` reports it."""

    name: str
    pid: Optional[int]
    #: "starting", "idle", "busy", "stopped" or "broken".
    state: str
    calls: int
    sessions: int
    restarts: int
    #: The name of the call it is running, if any.
    running: Optional[str]
    info: Optional[p.WorkerInfo]


# =====================================================================================
# Sessions and the objects they keep
# =====================================================================================


class Session:
    """Calls with one key: always the same worker and the same instance (see :meth:`Pool.session`).

    ``call``/``submit`` are :meth:`Pool.call`/:meth:`Pool.submit` within the session; an
    object a call returns (a bound class instance) stays in the worker and comes back as
    a :class:`RemoteObject`. After the session is lost (its worker died, it was idle past
    ``session_idle``, it was closed) every call raises :class:`SessionLost`.
    """

    def __init__(self, pool: "Pool", key: Any, ident: int) -> None:
        self.pool = pool
        self.key = key
        self.id = ident
        #: The worker that holds it (``worker-1 (pid 4242)``, or the Dask worker's address).
        self.worker = ""
        self.last_used = time.monotonic()
        self.pending = 0
        self.lost: Optional[SessionLost] = None
        self.garbage: list[int] = []
        #: The backend's own state (the local slot, or the Dask actor).
        self.place: Any = None

    @property
    def alive(self) -> bool:
        return self.lost is None

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.submit(name, *args, **kwargs).result()

    def submit(self, name: str, *args: Any, **kwargs: Any) -> "Future[Any]":
        return self._send(p.CALL, name, args, kwargs)

    def close(self) -> None:
        """End the session: its objects are freed with its instance in the worker."""
        self.pool._end_session(self, "the session was closed")

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "alive" if self.lost is None else f"lost: {self.lost.cause}"
        return f"<pool session {self.key!r} on {self.worker or 'no worker yet'} ({state})>"

    def _send(
        self, op: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], handle: Optional[p.HandleRef] = None
    ) -> "Future[Any]":
        if self.lost is not None:
            raise SessionLost(self.key, self.lost.worker, self.lost.cause)
        garbage, self.garbage = tuple(self.garbage), []
        request = p.Request(
            op, name, tuple(self._refs(a) for a in args), {k: self._refs(v) for k, v in kwargs.items()},
            session=self.id, key=self.key, handle=handle, release=garbage, id=self.pool._next_id(),
        )
        return self.pool._submit(_Job(request, self), block=self.pool.on_full == "block")

    def _refs(self, value: Any) -> Any:
        if isinstance(value, RemoteObject):
            return value._ref(self)
        if isinstance(value, list):
            return [self._refs(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self._refs(v) for v in value)
        if isinstance(value, dict):
            return {k: self._refs(v) for k, v in value.items()}
        return value

    def _objects(self, value: Any) -> Any:
        """Handles in a reply made into :class:`RemoteObject` proxies."""
        if isinstance(value, p.HandleInfo):
            return RemoteObject(self, value)
        if isinstance(value, list):
            return [self._objects(v) for v in value]
        if isinstance(value, tuple) and type(value) is tuple:
            return tuple(self._objects(v) for v in value)
        if isinstance(value, dict) and type(value) is dict:
            return {k: self._objects(v) for k, v in value.items()}
        return value


class RemoteObject:
    """A proxy of an object kept in a session's worker (e.g. a bound ``Realm``).

    Methods are called remotely (``realm.generate("hi")``; ``realm.generate.submit("hi")``
    gives a future); properties are read and set remotely. ``close()`` (or leaving a
    ``with`` block) frees it in the worker; a proxy dropped without ``close()`` is freed
    with the session's next call. Passing a proxy as an argument of a call of its own
    session passes the object itself.
    """

    __slots__ = ("_session", "_info", "_closed", "__weakref__")

    def __init__(self, session: Session, info: p.HandleInfo) -> None:
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_info", info)
        object.__setattr__(self, "_closed", False)

    @property
    def session(self) -> Session:
        return self._session  # type: ignore[no-any-return]

    @property
    def class_name(self) -> str:
        return str(self._info.class_name)

    @property
    def closed(self) -> bool:
        return bool(self._closed)

    def _ref(self, session: Session) -> p.HandleRef:
        if self._session is not session:
            raise PoolError(
                f"a {self.class_name} object of session {self._session.key!r} cannot be passed to session "
                f"{session.key!r}: objects stay in the worker and instance of their session"
            )
        if self._closed:
            raise UseAfterFree(f"{self!r} was closed")
        return p.HandleRef(self._info.id, self._info.generation)

    def _call(self, op: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> "Future[Any]":
        return self._session._send(op, name, args, kwargs, handle=self._ref(self._session))  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        info: p.HandleInfo = object.__getattribute__(self, "_info")
        if name in info.properties:
            return self._call(p.GET, name, (), {}).result()
        if name in info.methods:
            return _RemoteMethod(self, name)
        raise AttributeError(f"{info.class_name} objects have no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._info.properties:
            self._call(p.SET, name, (value,), {}).result()
        else:
            raise AttributeError(f"{self.class_name} objects have no settable attribute {name!r}")

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self._info.methods, *self._info.properties})

    def close(self) -> None:
        """Free the object in the worker (a second call does nothing)."""
        if self._closed:
            return
        object.__setattr__(self, "_closed", True)
        session = self._session
        if session.lost is None:
            session.garbage.append(self._info.id)
            session.pool._flush_garbage(session)

    free = close

    def __enter__(self) -> "RemoteObject":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if not self._closed and self._session.lost is None:
                self._session.garbage.append(self._info.id)  # released with the session's next request
        except Exception:
            pass

    def __repr__(self) -> str:
        state = " (closed)" if self._closed else ""
        return f"<remote {self.class_name} #{self._info.id} of session {self._session.key!r}{state}>"


class _RemoteMethod:
    """``proxy.method``: call it, or ``.submit(...)`` for a future."""

    __slots__ = ("_owner", "_name")

    def __init__(self, owner: RemoteObject, name: str) -> None:
        self._owner = owner
        self._name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.submit(*args, **kwargs).result()

    def submit(self, *args: Any, **kwargs: Any) -> "Future[Any]":
        return self._owner._call(p.CALL, self._name, args, kwargs)

    def __repr__(self) -> str:
        return f"<remote method {self._owner.class_name}.{self._name}>"


# =====================================================================================
# The pool
# =====================================================================================


class Pool:
    """Serve calls to one module from worker processes (see :mod:`realm_wasmer.pool`).

    >>> with Pool(LoadSpec("wasm/realm.wasm", imports="myapp:realm_imports"), workers=2) as pool:
    ...     pool.call("rt_string", "abc")
    ...     texts = list(pool.map("rt_string", ["a", "b", "c"]))
    ...     with pool.session("tenant-1") as tenant:
    ...         realm = tenant.call("Realm")          # stays in the worker: a RemoteObject
    ...         realm.loadModel(gguf_bytes)

    ``spec`` is a :class:`~realm_wasmer.spec.LoadSpec` (or a source, with the spec's
    fields as keywords); it must pickle: imports as a ``"package.module:attr"`` reference.
    ``workers`` defaults to the number of CPUs. ``executor`` runs the calls in an
    executor's processes instead of the pool's own (``dask.distributed.Client(...)
    .get_executor()``; sessions then are Dask actors). ``queue`` bounds the calls
    waiting for a worker (default ``4 * workers``); past it ``submit`` blocks
    (``on_full="block"``) or raises :class:`PoolFull` (``"raise"``).

    Sessions (:meth:`session`) end after ``session_idle`` seconds without a call; a worker
    holds at most ``sessions_per_worker``. ``call_timeout`` (seconds) kills a worker
    whose call runs longer (the call raises :class:`WorkerDied`): the backstop for a
    guest no in-engine limit stops.
    """

    def __init__(
        self,
        spec: Union[LoadSpec, Source],
        workers: Optional[int] = None,
        executor: Optional[Executor] = None,
        queue: Optional[int] = None,
        on_full: str = "block",
        *,
        session_idle: float = 300.0,
        sessions_per_worker: int = 64,
        call_timeout: Optional[float] = None,
        start_timeout: float = 300.0,
        **options: Any,
    ) -> None:
        if on_full not in ON_FULL:
            raise ValueError(f"on_full must be one of {ON_FULL}, not {on_full!r}")
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.spec = _portable(LoadSpec.of(spec, **options))
        self.spec_blob = _pickled(self.spec)
        self.workers = workers or os.cpu_count() or 1
        self.queue_size = queue if queue is not None else 4 * self.workers
        if self.queue_size < 1:
            raise ValueError(f"queue must be at least 1, not {self.queue_size}")
        self.on_full = on_full
        self.session_idle = session_idle
        self.sessions_per_worker = sessions_per_worker
        self.call_timeout = call_timeout
        self.start_timeout = start_timeout
        self.started = time.monotonic()
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self._sessions: dict[Any, Session] = {}
        self._closing = False
        self._reaper: Optional[threading.Thread] = None
        self._backend: _Backend = _LocalBackend(self) if executor is None else _ExecutorBackend(self, executor)
        self._backend.start()

    # -- calls ---------------------------------------------------------------------
    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Run ``name(*args)`` in a worker and return its result (or raise its error).

        ``name`` is a dotted name of the bound module (``"rt_string"``, ``"Realm.withConfig"``),
        a raw export of a module that is not wasm-bindgen output (``"work"``: raw wasm
        values), or a task reference ``"package.module:function"``, called in the worker
        as ``function(target, *args)`` with the bound module (or the raw instance)."""
        return self.submit(name, *args, **kwargs).result()

    def submit(self, name: str, *args: Any, **kwargs: Any) -> "Future[Any]":
        """Queue ``name(*args)``; a :class:`~concurrent.futures.Future` of its result."""
        request = p.Request(p.CALL, name, args, kwargs, id=self._next_id())
        return self._submit(_Job(request), block=self.on_full == "block")

    def map(
        self, name: str, *iterables: Iterable[Any], chunksize: int = 1, timeout: Optional[float] = None
    ) -> Iterator[Any]:
        """``name(*args)`` for the arguments zipped from ``iterables``, results in order.

        Calls are submitted ahead of the results consumed, up to the queue's bound plus
        one per worker (``map`` always waits for room, whatever ``on_full`` says);
        ``chunksize`` sends that many calls per request (fewer round trips for small calls)."""
        if chunksize < 1:
            raise ValueError(f"chunksize must be at least 1, not {chunksize}")
        deadline = None if timeout is None else time.monotonic() + timeout
        chunks = _chunks(zip(*iterables, strict=False), chunksize)
        window: deque[Future[Any]] = deque()
        ahead = self.queue_size + self.workers

        def submit_next() -> bool:
            chunk = next(chunks, None)
            if chunk is None:
                return False
            if chunksize == 1:
                request = p.Request(p.CALL, name, chunk[0], id=self._next_id())
            else:
                request = p.Request(p.BATCH, name, tuple(chunk), id=self._next_id())
            window.append(self._submit(_Job(request), block=True))
            return True

        while len(window) < ahead and submit_next():
            pass

        def results() -> Iterator[Any]:
            try:
                while window:
                    left = None if deadline is None else max(0.0, deadline - time.monotonic())
                    future = window.popleft()
                    value = future.result(left)
                    if chunksize == 1:
                        yield value
                    else:
                        for status, item in value:
                            if status == "err":
                                raise item
                            yield item
                    submit_next()
            finally:
                for future in window:
                    future.cancel()

        return results()

    def session(self, key: Any) -> Session:
        """The session of ``key``: its calls go to one worker and one instance, and objects
        they return stay there (as :class:`RemoteObject` proxies here), like a tenant's own
        runtime. The same key gives the same session while it lives; after it is lost (its
        worker died, idle past ``session_idle``, closed) a new, empty one."""
        with self._cond:
            self._check_open()
            session = self._sessions.get(key)
            if session is not None and session.lost is None:
                return session
            session = Session(self, key, self._next_id())
            self._backend.place(session)  # may raise PoolFull
            self._sessions[key] = session
            self._start_reaper()
            return session

    # -- lifecycle -----------------------------------------------------------------
    def wait_ready(self, count: Optional[int] = None, timeout: Optional[float] = None) -> "Pool":
        """Block until ``count`` workers (default: all) have loaded the module; raise the
        workers' load error if they cannot, ``TimeoutError`` after ``timeout`` seconds."""
        self._backend.wait_ready(self.workers if count is None else count, timeout)
        return self

    def close(self, wait: bool = True, cancel_pending: bool = False) -> None:
        """Stop the workers: after the queued calls (``wait``), or failing them with
        :class:`PoolClosed` (``cancel_pending``). Calls after ``close`` raise PoolClosed."""
        with self._cond:
            self._closing = True
            for session in list(self._sessions.values()):
                session.lost = session.lost or SessionLost(session.key, session.worker, "the pool was closed")
            self._sessions.clear()
            self._cond.notify_all()
        self._backend.close(wait, cancel_pending)

    shutdown = close

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def stats(self) -> dict[str, Any]:
        """Workers (:class:`WorkerStats`), calls queued, sessions live."""
        with self._cond:
            return {
                "workers": self._backend.worker_stats(),
                "queued": self._backend.queued(),
                "sessions": len(self._sessions),
                "closing": self._closing,
            }

    def __repr__(self) -> str:
        return f"<realm_wasmer.Pool of {self.spec.label()} on {self.spec.engine}: {self._backend.describe()}>"

    # -- internals -------------------------------------------------------------------
    def _next_id(self) -> int:
        return next(self._ids)

    def _check_open(self) -> None:
        if self._closing:
            raise PoolClosed("the pool is closed")
        self._backend.check()

    def _submit(self, job: _Job, block: bool) -> "Future[Any]":
        session = job.session
        if session is not None:
            with self._cond:
                session.pending += 1
                session.last_used = time.monotonic()
            job.future.add_done_callback(functools.partial(self._call_done, session))
        self._backend.submit(job, block)
        return job.future

    def _call_done(self, session: Session, _future: "Future[Any]") -> None:
        with self._cond:
            session.pending -= 1
            session.last_used = time.monotonic()

    def _deliver(self, job: _Job, reply: bytes) -> None:
        """Complete the job's future from a worker's reply."""
        try:
            status, value = pickle.loads(reply)
        except Exception as exc:  # e.g. an error class that is not importable here
            job.future.set_exception(PoolError(f"the reply to {job.request.name!r} cannot be read here: {exc!r}"))
            return
        if status == "ok":
            if job.session is not None and not job.control:
                value = job.session._objects(value)
            job.future.set_result(value)
        else:
            job.future.set_exception(value)

    def _end_session(self, session: Session, cause: str) -> None:
        with self._cond:
            if session.lost is not None:
                return
            session.lost = SessionLost(session.key, session.worker, cause)
            if self._sessions.get(session.key) is session:
                del self._sessions[session.key]
            self._backend.forget(session)
        if not self._closing:
            request = p.Request(p.END, "end", session=session.id, key=session.key, id=self._next_id())
            self._backend.submit(_Job(request, session, control=True), block=False)

    def _flush_garbage(self, session: Session) -> None:
        """Release closed proxies now (not waiting for the session's next call)."""
        if session.lost is not None or self._closing or not session.garbage:
            return
        garbage, session.garbage = tuple(session.garbage), []
        request = p.Request(p.RELEASE, "release", session=session.id, key=session.key, release=garbage,
                            id=self._next_id())
        self._backend.submit(_Job(request, session, control=True), block=False)

    def _start_reaper(self) -> None:
        if self._reaper is None and self.session_idle > 0:
            self._reaper = threading.Thread(target=_reap, args=(weakref.ref(self),), daemon=True,
                                            name="realm-wasmer-pool-reaper")
            self._reaper.start()

    def _expire_idle(self) -> None:
        now = time.monotonic()
        with self._cond:
            idle = [s for s in self._sessions.values() if s.pending == 0 and now - s.last_used > self.session_idle]
        for session in idle:
            log.info("session %r on %s: idle for more than %g s, ended", session.key, session.worker,
                     self.session_idle)
            self._end_session(session, f"it was idle for more than {self.session_idle:g} s")


def _reap(pool_ref: "weakref.ref[Pool]") -> None:
    while True:
        pool = pool_ref()
        if pool is None or pool._closing:
            return
        period = min(max(pool.session_idle / 4, 0.05), 5.0)
        pool._expire_idle()
        del pool
        time.sleep(period)


def _chunks(items: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    while True:
        chunk = list(itertools.islice(items, size))
        if not chunk:
            return
        yield chunk


# =====================================================================================
# Backends
# =====================================================================================


class _Backend:
    """How a pool runs jobs (all methods but ``submit``'s delivery run under the pool's lock)."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.cond = pool._cond

    def start(self) -> None: ...

    def check(self) -> None: ...

    def submit(self, job: _Job, block: bool) -> None:
        raise NotImplementedError

    def place(self, session: Session) -> None:
        raise NotImplementedError

    def wait_ready(self, count: int, timeout: Optional[float]) -> None: ...

    def forget(self, session: Session) -> None:
        """The session ended (under the lock)."""

    def close(self, wait: bool, cancel_pending: bool) -> None: ...

    def worker_stats(self) -> list[WorkerStats]:
        return []

    def queued(self) -> int:
        return 0

    def describe(self) -> str:
        return ""

    def _wait_for_room(self, job: _Job, block: bool, used: Callable[[], int], limit: int) -> None:
        """Backpressure (under the lock): wait for ``used() < limit``, or raise PoolFull."""
        while True:
            self.pool._check_open()
            if used() < limit:
                return
            if not block:
                raise PoolFull(limit, "calls")
            self.cond.wait()


class _Slot:
    """One worker of a local pool: its process (replaced when it dies) and the thread that feeds it."""

    def __init__(self, backend: "_LocalBackend", index: int) -> None:
        self.backend = backend
        self.index = index
        self.name = f"worker-{index}"
        self.pinned: deque[_Job] = deque()
        self.sessions: set[Session] = set()
        self.process: Optional[multiprocessing.process.BaseProcess] = None
        self.conn: Optional[Connection] = None
        self.pid: Optional[int] = None
        self.info: Optional[p.WorkerInfo] = None
        self.state = "starting"
        self.calls = 0
        self.restarts = 0
        self.current: Optional[_Job] = None
        #: The process died while idle (set by the backend's watcher).
        self.exited = False
        self.thread = threading.Thread(target=self.run, daemon=True, name=f"realm-wasmer-pool-{self.name}")

    @property
    def label(self) -> str:
        return f"{self.name} (pid {self.pid})" if self.pid else self.name

    # -- the feeding thread ----------------------------------------------------------
    def run(self) -> None:
        failures = 0
        while True:
            outcome = self._start()
            if outcome == "stop":
                return
            if outcome == "died":
                failures += 1
                if failures >= START_ATTEMPTS:
                    cause = death_text(self.process)
                    self.backend.broken(WorkerDied(self.label, f"died {failures} times while loading: {cause}"))
                    return
                continue
            failures = 0
            if not self._serve():
                return
            self.restarts += 1

    def _start(self) -> str:
        """Start a process and wait for its module to load: "ready", "died" or "stop"."""
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe(duplex=True)
        process = ctx.Process(target=serve, args=(child, self.backend.pool.spec_blob, self.name), daemon=True,
                              name=f"realm-wasmer-{self.name}")
        with self.cond:
            self.state, self.process, self.conn, self.info = "starting", process, parent, None
            self.exited = False
        try:
            process.start()
        except Exception as exc:  # e.g. spawn refused: a script without the ``if __name__ == "__main__"`` guard
            child.close()
            parent.close()
            self.backend.broken(WorkerDied(self.label, f"the worker process could not be started: {exc}"))
            return "stop"
        child.close()
        self.pid = process.pid
        deadline = time.monotonic() + self.backend.pool.start_timeout
        while True:
            if self.backend.stopping:
                self._kill()
                return "stop"
            ready = wait([parent, process.sentinel], timeout=0.2)
            if parent in ready:
                try:
                    status, value = pickle.loads(parent.recv_bytes())
                except (EOFError, OSError):
                    return "died"
                if status == "ready":
                    with self.cond:
                        self.info, self.state = value, "idle"
                        self.cond.notify_all()
                    return "ready"
                self.backend.broken(value)
                process.join()
                return "stop"
            if process.sentinel in ready:
                process.join()
                return "died"
            if time.monotonic() > deadline:
                self._kill()
                limit = self.backend.pool.start_timeout
                self.backend.broken(WorkerDied(self.label, f"not ready after start_timeout={limit:g} s"))
                return "stop"

    @property
    def cond(self) -> threading.Condition:
        return self.backend.cond

    def _serve(self) -> bool:
        """Feed jobs to the process until it dies (True: replace it) or the pool stops (False)."""
        assert self.conn is not None and self.process is not None
        conn, process = self.conn, self.process
        while True:
            what, job = self.backend.next_job(self)
            if what == "stop":
                self._stop()
                return False
            if job is None:  # the process died between calls
                process.join(timeout=5)
                self.backend.died(self, None, death_text(process))
                return not self.backend.stopping
            if not job.control and not job.future.set_running_or_notify_cancel():
                continue
            with self.cond:
                self.state, self.current = "busy", job
            timeout = None if job.control else self.backend.pool.call_timeout
            reply, cause = self._exchange(conn, process, job, timeout)
            with self.cond:
                self.state, self.current = "idle", None
                self.calls += 0 if job.control else 1
            if reply is not None:
                if not job.control:
                    self.backend.pool._deliver(job, reply)
                continue
            self.backend.died(self, job, cause)
            return not self.backend.stopping

    def _exchange(
        self, conn: Connection, process: multiprocessing.process.BaseProcess, job: _Job, timeout: Optional[float]
    ) -> tuple[Optional[bytes], str]:
        try:
            conn.send_bytes(job.blob)
            ready = wait([conn, process.sentinel], timeout=timeout)
            if conn in ready:
                return conn.recv_bytes(), ""
        except (EOFError, OSError):
            ready = [process.sentinel]
        if not ready:
            self._kill()
            return None, f"killed by the pool: the call ran longer than call_timeout={timeout:g} s"
        process.join(timeout=5)
        return None, death_text(process)

    def _kill(self) -> None:
        process = self.process
        if process is not None and process.is_alive() and process.pid:
            try:
                os.kill(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.join(timeout=5)

    def _stop(self) -> None:
        """Ask the process to stop; kill it if it does not."""
        assert self.conn is not None and self.process is not None
        try:
            self.conn.send_bytes(pickle.dumps(p.Request(p.STOP)))
        except OSError:
            pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self._kill()
        self.conn.close()
        with self.cond:
            self.state = "stopped"

    def stats(self) -> WorkerStats:
        running = self.current.request.name if self.current is not None and not self.current.control else None
        return WorkerStats(self.name, self.pid, self.state, self.calls, len(self.sessions), self.restarts, running,
                           self.info)


def death_text(process: Optional[multiprocessing.process.BaseProcess]) -> str:
    return p.death_cause(process.exitcode if process is not None else None)


class _LocalBackend(_Backend):
    """The pool's own worker processes (multiprocessing, spawn), one feeding thread each.

    Stateless calls wait in one shared queue that every idle worker takes from; a
    session's calls wait in its worker's own queue. One request is in flight per worker,
    so a worker's death is the death of exactly that call."""

    def __init__(self, pool: Pool) -> None:
        super().__init__(pool)
        self.slots = [_Slot(self, index) for index in range(pool.workers)]
        self.shared: deque[_Job] = deque()
        self.waiting = 0
        self.stopping = False
        self.broken_blob: Optional[bytes] = None

    def start(self) -> None:
        for slot in self.slots:
            slot.thread.start()
        threading.Thread(target=self.watch, daemon=True, name="realm-wasmer-pool-watcher").start()

    def describe(self) -> str:
        return f"{len(self.slots)} worker processes"

    def check(self) -> None:
        if self.broken_blob is not None:
            raise pickle.loads(self.broken_blob)

    def queued(self) -> int:
        return self.waiting

    def worker_stats(self) -> list[WorkerStats]:
        return [slot.stats() for slot in self.slots]

    def submit(self, job: _Job, block: bool) -> None:
        with self.cond:
            if job.control:
                slot = job.session.place if job.session is not None else None
                if slot is not None and not self.stopping and slot.state != "stopped":
                    slot.pinned.append(job)
                    self.cond.notify_all()
                return
            self._wait_for_room(job, block, lambda: self.waiting, self.pool.queue_size)
            session = job.session
            if session is not None:
                if session.lost is not None:
                    raise SessionLost(session.key, session.lost.worker, session.lost.cause)
                session.place.pinned.append(job)
            else:
                self.shared.append(job)
            self.waiting += 1
            self.cond.notify_all()

    def place(self, session: Session) -> None:
        live = [s for s in self.slots if s.state != "stopped"]
        slot = min(live, key=lambda s: (len(s.sessions), len(s.pinned), s.index))
        if len(slot.sessions) >= self.pool.sessions_per_worker:
            raise PoolFull(self.pool.sessions_per_worker, "sessions")
        slot.sessions.add(session)
        session.place = slot
        session.worker = slot.label

    def forget(self, session: Session) -> None:
        if isinstance(session.place, _Slot):
            session.place.sessions.discard(session)

    def next_job(self, slot: _Slot) -> tuple[str, Optional[_Job]]:
        """("job", job), ("exited", None) when the idle process died, or ("stop", None)."""
        with self.cond:
            while True:
                if slot.exited:
                    return "exited", None
                if slot.pinned:
                    job = slot.pinned.popleft()
                    break
                if self.shared:
                    job = self.shared.popleft()
                    break
                if self.stopping or self.pool._closing:
                    return "stop", None
                self.cond.wait()
            if not job.control:
                self.waiting -= 1
                self.cond.notify_all()
            return "job", job

    def watch(self) -> None:
        """Notice a worker that dies while idle (a busy one's feeding thread notices itself)."""
        while not self.stopping and not self.pool._closing:
            with self.cond:
                idle = {s.process.sentinel: s for s in self.slots
                        if s.state == "idle" and not s.exited and s.process is not None}
            if not idle:
                time.sleep(0.2)
                continue
            for sentinel in wait(list(idle), timeout=0.2):
                slot = idle[cast(int, sentinel)]
                with self.cond:
                    if slot.state == "idle":
                        slot.exited = True
                        self.cond.notify_all()

    def died(self, slot: _Slot, job: Optional[_Job], cause: str) -> None:
        worker = slot.label
        log.warning("%s died: %s", worker, cause)
        with self.cond:
            sessions, slot.sessions = list(slot.sessions), set()
            pinned = list(slot.pinned)
            slot.pinned.clear()
            self.waiting -= sum(1 for j in pinned if not j.control)
            for session in sessions:
                if session.lost is None:
                    session.lost = SessionLost(session.key, worker, f"its worker died ({cause})")
                if self.pool._sessions.get(session.key) is session:
                    del self.pool._sessions[session.key]
            slot.state = "starting"
            self.cond.notify_all()
        if job is not None and not job.control:
            job.future.set_exception(WorkerDied(worker, cause, job.request.name))
        for waiting in pinned:
            if not waiting.control and waiting.future.set_running_or_notify_cancel():
                lost = waiting.session.lost if waiting.session is not None else None
                waiting.future.set_exception(lost or WorkerDied(worker, cause, waiting.request.name))

    def broken(self, error: BaseException) -> None:
        """The workers cannot load the module: fail everything with ``error``."""
        blob = p.dumps(error)
        with self.cond:
            if self.broken_blob is None:
                self.broken_blob = blob
            self.stopping = True
            jobs = list(self.shared) + [j for s in self.slots for j in s.pinned]
            self.shared.clear()
            for slot in self.slots:
                slot.pinned.clear()
            self.waiting = 0
            self.cond.notify_all()
        for job in jobs:
            if not job.control and job.future.set_running_or_notify_cancel():
                job.future.set_exception(pickle.loads(self.broken_blob))

    def wait_ready(self, count: int, timeout: Optional[float]) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.cond:
            while sum(1 for s in self.slots if s.info is not None and s.state != "stopped") < count:
                self.check()
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError(f"fewer than {count} workers ready after {timeout:g} s")
                self.cond.wait(left if left is None else min(left, 0.5))

    def close(self, wait: bool, cancel_pending: bool) -> None:
        with self.cond:
            if cancel_pending or not wait:
                jobs = list(self.shared) + [j for s in self.slots for j in s.pinned]
                self.shared.clear()
                for slot in self.slots:
                    slot.pinned.clear()
                self.waiting = 0
            else:
                jobs = []
            self.cond.notify_all()
        for job in jobs:
            if not job.control and job.future.set_running_or_notify_cancel():
                job.future.set_exception(PoolClosed("the pool was closed before this call ran"))
        if wait:
            for slot in self.slots:
                slot.thread.join()


class _ExecutorBackend(_Backend):
    """Calls run in an executor's processes: a ``concurrent.futures`` executor, or a Dask
    client's (``client.get_executor()``). Each task carries the pickled spec (a Dask
    cluster gets it once, scattered) and the request; the process keeps one loaded
    worker state per spec and thread. Sessions are Dask actors (an actor lives in one
    worker process and runs its calls on one thread); other executors have none."""

    def __init__(self, pool: Pool, executor: Executor) -> None:
        super().__init__(pool)
        self.executor = executor
        dask = type(executor).__module__.startswith("distributed")
        self.client: Any = getattr(executor, "_client", None) if dask else None
        self.outstanding = 0
        self.digest = spec_digest(pool.spec_blob)
        self.spec_arg: Any = pool.spec_blob
        self.waiters: Optional[ThreadPoolExecutor] = None
        self.submit_options: dict[str, Any] = {"pure": False} if self.client is not None else {}
        #: Sessions with an actor (ended with the pool).
        self.sessions: set[Session] = set()

    def start(self) -> None:
        if self.client is not None:
            self.spec_arg = self.client.scatter(self.pool.spec_blob, broadcast=True, hash=False)

    def describe(self) -> str:
        return f"executor {type(self.executor).__name__}"

    def queued(self) -> int:
        return self.outstanding

    def submit(self, job: _Job, block: bool) -> None:
        if job.session is not None:
            self._submit_to_actor(job, block)
            return
        with self.cond:
            self._wait_for_room(job, block, lambda: self.outstanding, self.pool.queue_size + self.pool.workers)
            self.outstanding += 1
        job.future.set_running_or_notify_cancel()
        try:
            self._send(job)
        except BaseException:
            self._done_one()
            raise

    def _send(self, job: _Job) -> None:
        future = self.executor.submit(run_task, self.spec_arg, self.digest, job.blob, **self.submit_options)
        future.add_done_callback(lambda f: self._finished(job, f))

    def _resubmit(self, job: _Job) -> None:
        with self.cond:
            self.outstanding += 1
        try:
            self._send(job)
        except BaseException as exc:  # noqa: BLE001 - the caller's future carries it
            self._done_one()
            job.future.set_exception(WorkerDied(self.describe(), f"resubmitting failed: {exc}", job.request.name))

    def _done_one(self) -> None:
        with self.cond:
            self.outstanding -= 1
            self.cond.notify_all()

    def _finished(self, job: _Job, future: "Future[Any]") -> None:
        self._done_one()
        if future.cancelled():
            if self.pool._closing:
                job.future.set_exception(PoolClosed(f"the pool was closed before {job.request.name!r} ran"))
            elif job.resubmitted < RESUBMIT_CANCELLED:
                # Dask cancels the tasks of a worker it lost while its replacement starts; a
                # stateless call is sent again (at least once, as Dask itself re-runs tasks).
                job.resubmitted += 1
                self._resubmit(job)
            else:
                job.future.set_exception(WorkerDied(
                    self.describe(), f"the executor cancelled the call {job.resubmitted + 1} times (workers lost)",
                    job.request.name))
            return
        error = future.exception()
        if error is not None:  # run_task never raises: this is the executor's (a worker lost, a broken pool)
            job.future.set_exception(WorkerDied(self.describe(), f"{type(error).__name__}: {error}",
                                                job.request.name))
            return
        self.pool._deliver(job, future.result())

    # -- sessions: Dask actors -------------------------------------------------------
    def place(self, session: Session) -> None:
        if self.client is None:
            raise PoolError(
                "sessions need workers that keep state: the pool's own processes (executor=None) or a Dask "
                f"executor (client.get_executor()), not a {type(self.executor).__name__}"
            )
        live = sum(1 for s in self.pool._sessions.values() if s.lost is None)
        cap = self.pool.sessions_per_worker * self.pool.workers
        if live >= cap:
            raise PoolFull(cap, "sessions")
        from .runtime import SessionActor

        future = self.client.submit(SessionActor, self.spec_arg, session.key, actor=True, pure=False)
        session.place = _ActorPlace(future)
        self.sessions.add(session)
        session.worker = "a Dask worker"
        if self.waiters is None:
            self.waiters = ThreadPoolExecutor(max_workers=max(2, 2 * self.pool.workers),
                                              thread_name_prefix="realm-wasmer-pool-actor")

    def _submit_to_actor(self, job: _Job, block: bool) -> None:
        session = job.session
        assert session is not None and self.waiters is not None
        place: Optional[_ActorPlace] = session.place
        if place is None:
            if job.control:
                return  # housekeeping of a session that already ended
            raise SessionLost(session.key, session.worker, "the session was closed")
        if job.request.op == p.END:
            # The actor frees the session's objects on its own thread (wasmer binds an instance's
            # objects to the thread that made them); then dropping its future lets Dask delete it.
            with self.cond:
                place.jobs.append(job)
                if place.draining:
                    return
                place.draining = True
            self.waiters.submit(self._drain, session, place)
            return
        if session.lost is not None:
            raise SessionLost(session.key, session.lost.worker, session.lost.cause)
        if not job.control:
            job.future.set_running_or_notify_cancel()
        with self.cond:
            place.jobs.append(job)
            if place.draining:
                return
            place.draining = True
        self.waiters.submit(self._drain, session, place)

    def _drain(self, session: Session, place: "_ActorPlace") -> None:
        """Send a session's jobs to its actor one after the other, in the order they came."""
        while True:
            with self.cond:
                if not place.jobs:
                    place.draining = False
                    return
                job = place.jobs.popleft()
            ending = job.request.op == p.END
            try:
                if session.lost is not None and not ending:
                    raise session.lost
                actor = place.future.result()
                address = getattr(actor, "_address", None)
                if address:
                    session.worker = f"Dask worker {address}"
                reply = actor.run(job.blob).result()
            except SessionLost as lost:
                if not job.control:
                    job.future.set_exception(lost)
                continue
            except BaseException as exc:  # noqa: B036 - the actor's worker is gone
                if ending:
                    log.info("ending session %r on %s: %s", session.key, session.worker, exc)
                    session.place = None
                    continue
                cause = f"{type(exc).__name__}: {exc}"
                with self.cond:
                    if session.lost is None:
                        session.lost = SessionLost(session.key, session.worker, f"its worker died ({cause})")
                if not job.control:
                    job.future.set_exception(WorkerDied(session.worker, cause, job.request.name))
                continue
            if ending:
                session.place = None  # dropping the actor's future lets Dask delete the actor
            elif not job.control:
                self.pool._deliver(job, reply)

    def forget(self, session: Session) -> None:
        self.sessions.discard(session)

    def close(self, wait: bool, cancel_pending: bool) -> None:
        if wait:
            with self.cond:
                while self.outstanding:
                    self.cond.wait()
        for session in list(self.sessions):  # the pool's sessions end with it: their actors free them
            if isinstance(session.place, _ActorPlace):
                end = p.Request(p.END, "end", session=session.id, key=session.key, id=self.pool._next_id())
                self._submit_to_actor(_Job(end, session, control=True), block=False)
        self.sessions.clear()
        if self.waiters is not None:
            self.waiters.shutdown(wait=wait)


class _ActorPlace:
    """A session on Dask: its actor (the future keeps it alive) and its jobs in order."""

    def __init__(self, future: Any) -> None:
        self.future = future
        self.jobs: deque[_Job] = deque()
        self.draining = False
