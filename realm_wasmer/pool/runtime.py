"""The worker side of a pool: load the spec once, answer calls, keep sessions' objects.

A :class:`Loader` compiles the spec once per process (the on-disk artifact cache
answers when it holds the artifact: a worker compiles nothing the cache has) and
makes :class:`Runtime` objects: one instance of the module with the namespace calls
are resolved against (the :func:`~realm_wasmer.bind` module of a raw wasm-bindgen
module, what ``load_package`` returns for an npm package, or nothing for a module
that is not wasm-bindgen output: then a name is a raw export). A :class:`Worker`
holds one shared runtime for stateless calls and one runtime per session, with the
session's objects by handle id; a poisoned runtime is rebuilt before the next call.

:func:`serve` is the main loop of the pool's own worker processes (one request at a
time over a pipe); :func:`run_task` runs one request in whatever process an executor
(e.g. a Dask worker) chose, keeping one :class:`Worker` per process and thread.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
import pickle
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from ..bindings.assemble import assemble
from ..bindings.bind import describe_instance
from ..bindings.program import Api
from ..bindings.runtime import BoundModule, BoundObject
from ..errors import DescriptorError, ExportNotFound, PoolError, ProgramError, SessionLost, UseAfterFree
from ..instance import CompiledModule, Instance, compile
from ..objects import Object
from ..references import import_reference
from ..spec import LoadSpec
from . import protocol as p

log = logging.getLogger("realm_wasmer.pool")

#: Sources loaded with ``realm_wasmer.load_package``: a package directory, a tarball, a glue file.
PACKAGE_SUFFIXES = (".tgz", ".tar.gz", ".tar", ".js", ".cjs", ".mjs")
#: Attributes of every bound object that are not worth a remote proxy.
_LOCAL_ONLY = frozenset({"handle"})

Reply = tuple[str, Any]


def is_package_spec(spec: LoadSpec) -> bool:
    """Whether a spec names an npm package (an ``entry``, or a source that is a directory, tarball
    or JS glue file) rather than a module."""
    if spec.entry is not None:
        return True
    if isinstance(spec.source, (bytes, bytearray, memoryview)):
        return False
    path = Path(spec.source)
    return path.is_dir() or path.name.endswith(PACKAGE_SUFFIXES)


def package_imports(spec: LoadSpec) -> Optional[dict[str, Any]]:
    """A package spec's imports as ``load_package`` takes them: a mapping of JS global names
    (and wasm import names) to Python values, named by a reference ``"package.module:attr"``
    (the mapping, or a zero-argument factory of one: called once per package instance)."""
    value = spec.imports
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(
            f"the imports of a package spec ({spec.label()}) name JS globals and wasm imports "
            "(load_package's mapping): give them as a reference 'package.module:attr' to a dict or a "
            f"factory of one, not a {type(value).__name__}"
        )
    found = import_reference(value)
    if callable(found) and not isinstance(found, Mapping):
        found = found()
    if not isinstance(found, Mapping):
        raise TypeError(
            f"the imports reference {value!r} gave a {type(found).__name__}: for a package it must name a "
            "mapping of JS names to Python values, or a zero-argument callable returning one"
        )
    return dict(found)


def _loaded_module(name: str, attr: str) -> Any:
    """``name.attr`` if the module ``name`` is imported, else None: a value of a class from a
    module nobody imported cannot exist (and a worker of a raw module never imports the JS side)."""
    module = sys.modules.get(name)
    return getattr(module, attr, None) if module is not None else None


def package_loader() -> Callable[..., Any]:
    """``realm_wasmer.js.package.load_package`` (imported here: only package workers need it)."""
    from ..js.package import load_package

    return load_package


class Runtime:
    """One instance and the namespace names resolve against (see the module docstring)."""

    def __init__(self, instance: Optional[Instance], namespace: Any) -> None:
        self.instance = instance
        self.namespace = namespace
        #: The object calls resolve against and task functions receive.
        self.target: Any = namespace if namespace is not None else instance

    def instances(self) -> list[Any]:
        """The wasm instances behind it (a package may have made several)."""
        if self.instance is not None:
            return [self.instance]
        package_runtime = getattr(self.namespace, "__realm__", None)
        if package_runtime is not None:
            return list(package_runtime.instances)
        instance = getattr(self.namespace, "instance", None)
        return [instance] if instance is not None else []

    @property
    def poisoned(self) -> bool:
        return any(getattr(instance, "poisoned", False) for instance in self.instances())

    def resolve(self, name: str, base: Any = None) -> Any:
        """What ``name`` names: a task function (``"module:function"``, bound to the target), a
        dotted attribute of ``base`` (a session object) or of the namespace, or a raw export."""
        if ":" in name:
            task = import_reference(name)
            target = self.target
            return lambda *args, **kwargs: task(target, *args, **kwargs)
        if base is None and self.namespace is None:
            assert self.instance is not None
            instance = self.instance
            return lambda *args: instance.call(name, *args)
        value = base if base is not None else self.namespace
        for part in name.split("."):
            try:
                value = getattr(value, part)
            except AttributeError:
                return self._raw_fallback(name, base)
        return value

    def _raw_fallback(self, name: str, base: Any) -> Any:
        instance = self.instance if self.instance is not None else getattr(self.namespace, "instance", None)
        if base is None and isinstance(instance, Instance) and instance.context.calls.has(name):
            return lambda *args: instance.call(name, *args)
        where = f"a {type(base).__name__} object" if base is not None else "the module"
        known = ""
        names: list[str] = []
        if isinstance(self.namespace, BoundModule) and base is None:
            names = [*self.namespace.functions, *self.namespace.classes]
        elif hasattr(self.namespace, "__realm__") and base is None:
            names = [n for n in dir(self.namespace) if not n.startswith("_")]
        if names:
            known = f" (functions and classes: {', '.join(names[:20])}{', ...' if len(names) > 20 else ''})"
        raise ExportNotFound(f"{where} has no {name!r}{known}")


class Loader:
    """Compiles a spec once per process and makes runtimes of it."""

    def __init__(self, spec: LoadSpec) -> None:
        self.spec = spec
        self.compiled: Optional[CompiledModule] = None
        self.api: Optional[Api] = None
        self.unbound_reason = ""
        self._load_package = package_loader() if is_package_spec(spec) else None
        if self._load_package is not None:
            self.kind = "package"
        else:
            self.compiled = compile(spec)
            self.kind = "bindings"
        self.first: Optional[Runtime] = None
        self.first = self.runtime()
        #: How the artifact cache answered ("hit", "miss", ...; a package's first instance's), or "".
        self.cache_outcome = _cache_outcome(self.compiled, self.first)

    def runtime(self) -> Runtime:
        """A fresh runtime (the first one is made by the constructor and handed out once)."""
        if self.first is not None:
            first, self.first = self.first, None
            return first
        spec = self.spec
        if self._load_package is not None:
            namespace = self._load_package(
                spec.source, engine=spec.engine, imports=package_imports(spec), entry=spec.entry
            )
            return Runtime(None, namespace)
        assert self.compiled is not None
        instance = self.compiled.instantiate()
        if self.kind == "bindings" and self.api is None:
            try:
                self.api = describe_instance(instance)
            except (DescriptorError, ProgramError) as exc:
                self.kind, self.unbound_reason = "raw", str(exc)
                log.info("%s is called by its raw exports: %s", spec.label(), exc)
        if self.kind == "raw" or self.api is None:
            return Runtime(instance, None)
        return Runtime(instance, assemble(instance, self.api, spec.label()))


def _cache_outcome(compiled: Optional[CompiledModule], first: Runtime) -> str:
    if compiled is not None:
        return str(compiled.cache_outcome)
    instances = first.instances()
    compiled_first = getattr(instances[0], "compiled", None) if instances else None
    return str(getattr(compiled_first, "cache_outcome", ""))


class _Session:
    def __init__(self, key: Any, runtime: Runtime) -> None:
        self.key = key
        self.runtime = runtime
        self.generation = 0
        self.handles: dict[int, Any] = {}
        self.next_id = 1
        self.lost_cause = ""


def _member_kinds(cls: type) -> tuple[tuple[str, ...], tuple[str, ...]]:
    methods, properties = [], []
    for name in dir(cls):
        if name.startswith("_") or name in _LOCAL_ONLY:
            continue
        attr = inspect.getattr_static(cls, name)
        if isinstance(attr, property):
            properties.append(name)
        elif callable(attr) or isinstance(attr, (staticmethod, classmethod)):
            methods.append(name)
    return tuple(methods), tuple(properties)


def _is_object(value: Any) -> bool:
    """An object that lives in the instance (it cannot leave the worker): a bound class's object,
    a raw guest object, or an instance of a package's JS class."""
    if isinstance(value, (BoundObject, Object)):
        return True
    js_instance = _loaded_module("realm_wasmer.js.bridge", "JsInstance")
    return js_instance is not None and isinstance(value, js_instance)


def _settled(value: Any) -> Any:
    """A package's promise, settled in the worker (its value travels; the promise cannot)."""
    js_promise = _loaded_module("realm_wasmer.js.bridge", "JsPromise")
    return value.result() if js_promise is not None and isinstance(value, js_promise) else value


class Worker:
    """One worker's state: the loader, the shared runtime, the sessions (see the module docstring)."""

    def __init__(self, spec: LoadSpec, name: str = "worker") -> None:
        started = time.perf_counter()
        self.name = name
        self.loader = Loader(spec)
        self.shared = self.loader.runtime()
        self.sessions: dict[int, _Session] = {}
        self.info = p.WorkerInfo(
            pid=os.getpid(),
            kind=self.loader.kind,
            cache=self.loader.cache_outcome,
            load_seconds=time.perf_counter() - started,
            unbound_reason=self.loader.unbound_reason,
        )

    # -- requests --------------------------------------------------------------
    def handle(self, request: p.Request) -> Reply:
        """Answer one request; never raises (an error is the reply)."""
        try:
            if request.op == p.END:
                self.sessions.pop(request.session or 0, None)
                return ("ok", None)
            session = self._session(request)
            if request.release and session is not None:
                self._release(session, request.release)
            if request.op == p.RELEASE:
                return ("ok", None)
            if request.op == p.BATCH:
                return ("ok", [self._one(request, session, args) for args in request.args])
            return self._one(request, session, request.args)
        except BaseException as exc:  # noqa: B036 - a worker answers every request
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            return ("err", exc)

    def _one(self, request: p.Request, session: Optional[_Session], args: tuple[Any, ...]) -> Reply:
        try:
            runtime = self.shared if session is None else session.runtime
            base = self._object(session, request.handle) if request.handle is not None else None
            if request.op == p.GET:
                value = getattr(base if base is not None else runtime.namespace, request.name)
            elif request.op == p.SET:
                setattr(base if base is not None else runtime.namespace, request.name, self._unref(session, args[0]))
                value = None
            else:
                function = runtime.resolve(request.name, base)
                call_args = tuple(self._unref(session, a) for a in args)
                kwargs = {k: self._unref(session, v) for k, v in request.kwargs.items()}
                value = _settled(function(*call_args, **kwargs) if callable(function) else function)
            return ("ok", self._export(session, request.name, value))
        except BaseException as exc:  # noqa: B036
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            return ("err", exc)

    # -- sessions and their objects ----------------------------------------------
    def _session(self, request: p.Request) -> Optional[_Session]:
        """The request's session (made on its first call), after rebuilding a poisoned runtime."""
        if request.session is None:
            if self.shared.poisoned:
                log.info("%s: the shared instance trapped earlier: rebuilt", self.name)
                self.shared = self.loader.runtime()
            return None
        session = self.sessions.get(request.session)
        if session is None:
            session = self.sessions[request.session] = _Session(request.key, self.loader.runtime())
        elif session.runtime.poisoned:
            session.runtime = self.loader.runtime()
            session.generation += 1
            session.handles.clear()
            session.lost_cause = "its instance trapped (a guest trap poisons it) and was rebuilt"
        return session

    def _release(self, session: _Session, ids: tuple[int, ...]) -> None:
        for handle in ids:
            obj = session.handles.pop(handle, None)
            close = getattr(obj, "close", None) or getattr(obj, "free", None)
            if callable(close) and not session.runtime.poisoned:
                try:
                    close()
                except Exception as exc:  # the object may be gone with its instance already
                    log.debug("releasing handle %d: %s", handle, exc)

    def _object(self, session: Optional[_Session], ref: p.HandleRef) -> Any:
        if session is None:
            raise PoolError("a session object was sent in a call outside its session")
        if ref.generation != session.generation:
            raise SessionLost(session.key, f"{self.name} (pid {os.getpid()})", session.lost_cause)
        if ref.id not in session.handles:
            raise UseAfterFree(f"session object #{ref.id} of session {session.key!r} was closed")
        return session.handles[ref.id]

    def _unref(self, session: Optional[_Session], value: Any) -> Any:
        if isinstance(value, p.HandleRef):
            return self._object(session, value)
        if isinstance(value, list):
            return [self._unref(session, v) for v in value]
        if isinstance(value, tuple):
            return tuple(self._unref(session, v) for v in value)
        if isinstance(value, dict):
            return {k: self._unref(session, v) for k, v in value.items()}
        return value

    def _export(self, session: Optional[_Session], name: str, value: Any) -> Any:
        """``value`` made fit to leave the worker: objects become handles (in a session)."""
        if _is_object(value):
            return self.keep(session, name, value)
        if isinstance(value, list):
            return [self._export(session, name, v) for v in value]
        if isinstance(value, tuple) and type(value) is tuple:
            return tuple(self._export(session, name, v) for v in value)
        if isinstance(value, dict) and type(value) is dict:
            return {k: self._export(session, name, v) for k, v in value.items()}
        return value

    def keep(self, session: Optional[_Session], name: str, value: Any) -> p.HandleInfo:
        """Keep ``value`` in the session; the caller gets a handle to it."""
        if session is None:
            close = getattr(value, "close", None) or getattr(value, "free", None)
            if callable(close):
                close()
            raise PoolError(
                f"{name!r} returned a {type(value).__name__} object, which lives in the worker's instance and "
                "cannot be sent back: make the call through pool.session(key) to keep it and get a handle"
            )
        handle, session.next_id = session.next_id, session.next_id + 1
        session.handles[handle] = value
        methods, properties = _member_kinds(type(value))
        return p.HandleInfo(handle, session.generation, type(value).__name__, methods, properties)

    def encode(self, request: p.Request, reply: Reply) -> bytes:
        """The reply as bytes; a value that does not pickle stays in the session as a handle
        (or, in a stateless call, becomes a :class:`PoolError`)."""
        try:
            return p.dumps(reply)
        except Exception as first:
            exc: BaseException = first
            status, value = reply
            if status == "ok" and request.op == p.CALL and request.session is not None:
                try:
                    kept = self.keep(self.sessions.get(request.session), request.name, value)
                    return p.dumps(("ok", kept))
                except Exception as inner:
                    exc = inner
            what = "error" if status == "err" else "result"
            detail = f"{type(value).__name__}: {value}" if status == "err" else type(value).__name__
            error = PoolError(f"the {what} of {request.name!r} ({detail}) cannot be sent from the worker: {exc}")
            return p.dumps(("err", error))


# -- the pool's own worker processes ----------------------------------------------


def serve(conn: Connection, spec_blob: bytes, name: str) -> None:
    """Main of a worker process: load, report ``("ready", WorkerInfo)`` (or ``("failed", error)``),
    then answer one request at a time until ``stop`` or the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the workers
    try:
        worker = Worker(pickle.loads(spec_blob), name)
    except BaseException as exc:  # noqa: B036 - reported to the pool, which fails its calls with it
        try:
            conn.send_bytes(p.dumps(("failed", exc)))
        except Exception:
            conn.send_bytes(p.dumps(("failed", PoolError(f"{name} cannot load the module: {exc!r}"))))
        return
    conn.send_bytes(p.dumps(("ready", worker.info)))
    while True:
        try:
            request: p.Request = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        if request.op == p.STOP:
            return
        conn.send_bytes(worker.encode(request, worker.handle(request)))


# -- any executor's processes -------------------------------------------------------

_WORKERS: dict[tuple[str, int], Worker] = {}
_WORKERS_LOCK = threading.Lock()


def spec_digest(spec_blob: bytes) -> str:
    return hashlib.sha256(spec_blob).hexdigest()


def run_task(spec_blob: bytes, digest: str, request_blob: bytes) -> bytes:
    """Run one request where an executor put it; the reply comes back as pickled bytes.

    The worker state is kept per process, spec and thread (wasmer binds an instance to
    the thread that made it; a Dask worker runs tasks on a pool of threads)."""
    key = (digest, threading.get_ident())
    request: p.Request = pickle.loads(request_blob)
    worker = _WORKERS.get(key)
    if worker is None:
        with _WORKERS_LOCK:
            worker = _WORKERS.get(key)
            if worker is None:
                try:
                    worker = Worker(pickle.loads(spec_blob), f"executor worker pid {os.getpid()}")
                except Exception as exc:  # the load error is the call's (and is tried again next call)
                    return p.dumps(("err", exc))
                _WORKERS[key] = worker
    return worker.encode(request, worker.handle(request))


class SessionActor:
    """A session on a Dask worker: a Dask actor, whose method calls all run on the worker's
    one actor thread (the instance is made there, on the first call: wasmer binds an
    instance to the thread that made it, and the actor's constructor runs on another)."""

    def __init__(self, spec_blob: bytes, key: Any) -> None:
        self.spec_blob = spec_blob
        self.key = key
        self.worker: Optional[Worker] = None

    def run(self, request_blob: bytes) -> bytes:
        request: p.Request = pickle.loads(request_blob)
        if self.worker is None:
            try:
                self.worker = Worker(pickle.loads(self.spec_blob), f"dask actor pid {os.getpid()}")
            except Exception as exc:
                return p.dumps(("err", exc))
        return self.worker.encode(request, self.worker.handle(request))
