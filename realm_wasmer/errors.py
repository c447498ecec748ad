"""Every error realm_wasmer raises is a :class:`RealmWasmerError`.

Each error names what it is about: the export that was called, the import the
guest was in, the address that was touched, or the engine that was asked for.

Every exception class of the package is defined here (the modules that raise
them import them from here, so their old import paths keep working). This
module is a leaf: it imports nothing from the rest of the package. Three are
internal signals that never reach a caller, so they subclass plain ``Exception``:
:class:`Trap` and :class:`Panic` (engine adapters; the instance turns them into
:class:`GuestTrap` and :class:`EnginePanic`) and :class:`Malformed` (the LEB128
reader; its callers turn it into :class:`InvalidModule`).

Every exception pickles with its message and fields intact (see
:func:`_reduce_to_state`); ``__cause__``, ``__context__`` and the traceback are
not carried, as for any pickled exception.
"""

from __future__ import annotations

import copyreg
from pathlib import Path
from typing import Any, Callable, ClassVar, Optional

#: ``copyreg.__newobj__(cls, *args)`` is ``cls.__new__(cls, *args)`` (pickled as the NEWOBJ opcode).
_NEWOBJ: Callable[..., Any] = copyreg.__newobj__  # type: ignore[attr-defined]  # missing from typeshed


def _reduce_to_state(exc: BaseException) -> tuple[Any, ...]:
    """``__reduce__`` of every exception here: rebuild from state, not from a constructor call.

    The default ``BaseException.__reduce__`` unpickles by calling ``type(exc)(*exc.args)``,
    which breaks as soon as ``__init__`` takes other arguments than the message it
    passes on (``GuestTrap(export, message, last_import)``, ...). Instead the copy is
    made with ``type(exc).__new__(type(exc), *exc.args)`` (``copyreg.__newobj__``:
    ``BaseException.__new__`` sets ``args``, so ``str()`` is the same) and then gets
    ``exc.__dict__`` (every field) through ``BaseException.__setstate__``. ``__init__``
    does not run again, so a subclass needs nothing of its own to be picklable, and a
    field holding any picklable value (``JsError.value``) comes back equal.
    """
    return (_NEWOBJ, (type(exc), *exc.args), exc.__dict__ or None)


class RealmWasmerError(Exception):
    """Base class of all realm_wasmer errors (picklable, with every field, in every subclass)."""

    def __reduce__(self) -> tuple[Any, ...]:
        return _reduce_to_state(self)


# ---------------------------------------------------------------------------
# Engines
# ---------------------------------------------------------------------------


class EngineUnavailable(RealmWasmerError):
    """The requested engine cannot run in this Python process (the reason says why)."""

    def __init__(self, engine: str, reason: str) -> None:
        super().__init__(f"engine {engine!r} is unavailable: {reason}")
        self.engine = engine
        self.reason = reason


class EngineRefused(RealmWasmerError):
    """The engine is available but cannot compile or load this particular module."""

    def __init__(self, engine: str, reason: str) -> None:
        super().__init__(f"engine {engine!r} cannot load this module: {reason}")
        self.engine = engine
        self.reason = reason


class UnknownEngine(RealmWasmerError):
    """No engine has that name (the message lists the engine names). No fields."""


class UnsupportedFeature(RealmWasmerError):
    """The engine cannot do what was asked of it (native table access, a call through a
    funcref table, reaching the externref table from the host); the message says what
    and which engine can. No fields."""


class Trap(Exception):
    """A guest trap, with the engine's raw text and a canonical message that
    is the same on every engine (e.g. ``out of bounds memory access``)."""

    def __init__(self, message: str, raw: str) -> None:
        super().__init__(message)
        self.message = message
        self.raw = raw

    def __reduce__(self) -> tuple[Any, ...]:
        return _reduce_to_state(self)


class Panic(Exception):
    """The engine itself panicked (wasmer-python's PanicException)."""

    def __reduce__(self) -> tuple[Any, ...]:
        return _reduce_to_state(self)


# ---------------------------------------------------------------------------
# Modules
# ---------------------------------------------------------------------------


class InvalidModule(RealmWasmerError):
    """The bytes are not a WebAssembly module this library can read."""


class Malformed(Exception):
    """A malformed encoding at byte ``pos`` (internal; callers add the section and function)."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos

    def __reduce__(self) -> tuple[Any, ...]:
        return _reduce_to_state(self)


class BundledModuleMissing(RealmWasmerError):
    """The demo's bundled Realm module is not in this installation (the message
    names the path it was looked for at). No fields."""


class CorruptArtifact(RealmWasmerError):
    """A cache entry failed verification; ``reason`` says which check failed."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"cache entry {str(path)!r} is corrupt: {reason}")
        self.path = path
        self.reason = reason


class ClassNotFound(RealmWasmerError):
    """The module has no wasm-bindgen class of that name (the message lists the
    classes found). No fields."""


class MissingRuntimeExport(RealmWasmerError):
    """The module does not export a runtime piece the operation needs (an allocator
    function, ``exn_store``, a way to its shadow stack, ``__externref_table_alloc``, a
    funcref table); the message names it. No fields."""


# ---------------------------------------------------------------------------
# Imports and instances
# ---------------------------------------------------------------------------


class UnresolvedImport(RealmWasmerError):
    """One or more imports have no handler.

    Raised at instantiation under ``on_missing="error"`` (``imports`` lists every
    unresolved import) or when the guest calls an import linked under the
    ``"trap"`` policy (``imports`` holds that one import).
    """

    def __init__(self, message: str, imports: list[tuple[str, str, str]]) -> None:
        super().__init__(message)
        #: ``(module, name, signature)`` of each unresolved import.
        self.imports = imports


class AmbiguousHandler(RealmWasmerError):
    """A handler registered by stripped name (no hash) would answer several different
    imports (the message lists them); register each by its exact name. No fields."""


class ModuleStateError(RealmWasmerError):
    """The instance was used before it finished instantiating (guest memory or an
    export touched while linking or during the start function). No fields."""


class GuestTrap(RealmWasmerError):
    """The guest trapped (``unreachable``, out-of-bounds access, ...).

    ``export`` is the export the host called, ``last_import`` the last import the
    guest called during that call (or None), ``message`` the engine's trap text.
    The instance is poisoned afterwards.
    """

    def __init__(self, export: str, message: str, last_import: str | None) -> None:
        where = f" (last import called by the guest: {last_import})" if last_import else ""
        super().__init__(f"guest trapped in export {export!r}: {message}{where}")
        self.export = export
        self.message = message
        self.last_import = last_import


class EnginePanic(RealmWasmerError):
    """The engine itself panicked (wasmer's ``PanicException``), e.g. on an externref."""

    def __init__(self, export: str, message: str) -> None:
        super().__init__(f"engine panicked while calling {export!r}: {message}")
        self.export = export
        self.message = message


class HostError(RealmWasmerError):
    """A Python import handler raised; the original exception is ``__cause__``."""

    def __init__(self, import_name: str, export: str | None, exc: BaseException) -> None:
        during = f" during a call to export {export!r}" if export else ""
        super().__init__(f"host handler for import {import_name!r} raised{during}: {exc!r}")
        self.import_name = import_name
        self.export = export


class HostResultError(HostError):
    """A handler returned a value that does not fit the import's wasm result type."""

    def __init__(self, import_name: str, signature: str, value: Any, reason: str) -> None:
        RealmWasmerError.__init__(
            self, f"handler for import {import_name!r} {signature} returned {value!r}: {reason}"
        )
        self.import_name = import_name
        self.export = None
        self.signature = signature
        self.reason = reason


class ForeignThread(RealmWasmerError):
    """The instance was used from a thread other than the one that owns it.

    wasmer-python's objects are bound to the thread that created them (using
    them from another thread panics inside wasmer), so a wasmer instance serves
    only its own thread; ``owner`` and ``caller`` name the two threads. (On
    wasmtime any thread may call; calls are serialised by the instance's lock.)
    """

    def __init__(self, engine: str, owner: str, caller: str) -> None:
        super().__init__(
            f"this {engine} instance belongs to thread {owner!r} and cannot be used from thread {caller!r} "
            "(wasmer binds its objects to the thread that made them): create one instance per thread, "
            "use engine='wasmtime', or a realm_wasmer.Pool"
        )
        self.engine = engine
        self.owner = owner
        self.caller = caller


class PoisonedInstance(RealmWasmerError):
    """The instance trapped earlier; its memory may be inconsistent. Call ``reset()``."""


class ResourceExhausted(RealmWasmerError):
    """A guest ran past one of its :class:`~realm_wasmer.limits.Limits` and was stopped.

    ``export`` is the export the host called (``"<instantiation>"`` for a start
    section), ``limit`` the field of ``Limits`` that was exceeded (``fuel``,
    ``timeout_s``, ``max_memory_pages``, ``max_table_elements``), ``value`` its
    setting and ``detail`` what was measured. The instance is poisoned afterwards.
    """

    def __init__(self, export: str, limit: str, value: Any, detail: str = "") -> None:
        extra = f" ({detail})" if detail else ""
        super().__init__(f"export {export!r} was stopped: it exceeded its limit {limit}={value!r}{extra}")
        self.export = export
        self.limit = limit
        self.value = value
        self.detail = detail


class ExportNotFound(RealmWasmerError):
    """The module has no export of that name (the message lists close matches)."""


# ---------------------------------------------------------------------------
# Objects, memory and values
# ---------------------------------------------------------------------------


class ConstructorError(RealmWasmerError):
    """A class object cannot be constructed, wrapped or freed: the constructor returned
    a null pointer, the class has no constructor (or no free) export, or the export
    named is not one of its constructors. No fields."""


class UseAfterFree(RealmWasmerError):
    """A class handle was used after ``close()`` (or after it was consumed by value)."""


class GuestMemoryError(RealmWasmerError):
    """A host-side read or write fell outside guest linear memory."""

    def __init__(self, address: int, size: int, memory_size: int) -> None:
        super().__init__(
            f"guest memory access [{address:#x}, {address + size:#x}) is outside "
            f"linear memory of {memory_size:#x} bytes"
        )
        self.address = address
        self.size = size
        self.memory_size = memory_size


class HeapError(RealmWasmerError):
    """The guest used a heap index that holds no value (a use-after-drop or a stray index)."""


class EmptyTableSlot(RealmWasmerError):
    """A funcref table holds no function at the index called (the message names the
    table and index). No fields."""


class UnencodableString(RealmWasmerError):
    """A Python string cannot be passed to the guest as UTF-8 (e.g. it holds lone
    surrogates); the message carries the encoder's reason. No fields."""


class InvalidGuestValue(RealmWasmerError):
    """The guest returned a value that is not valid for its declared type (e.g. a
    ``char`` outside the Unicode scalar values); the message shows it. No fields."""


class JsError(RealmWasmerError):
    """The guest returned or threw a JS value as an error.

    ``value`` is the Python value of that JS value (for a JS ``Error`` made by the
    guest, a :class:`JsErrorValue`); ``str(exc)`` is its message.
    """

    def __init__(self, message: str, value: Any = None) -> None:
        super().__init__(message)
        self.value = value
        #: True when the guest itself threw (``__wbindgen_throw``/``rethrow``: Rust asked
        #: for the unwind, as under the JS glue), so the instance stays usable.
        self.guest_thrown = False


class JsThrow(JsError):
    """A JS exception raised inside the JS evaluator: ``js_value`` is the thrown JS value; out of
    a package, ``value`` is it converted to Python and ``name``/``message`` come from an Error
    (``None`` for any other thrown value)."""

    #: (name, message, text) of a thrown JS value; the JS value model installs the real one.
    describer: ClassVar[Callable[[Any], tuple[Optional[str], Optional[str], str]]] = staticmethod(
        lambda value: (None, None, repr(value))
    )

    def __init__(self, js_value: Any, message: Optional[str] = None, name: Optional[str] = None) -> None:
        text = message
        if message is None:
            name, message, text = JsThrow.describer(js_value)
        super().__init__(text if text is not None else repr(js_value), js_value)
        self.js_value = js_value
        self.name = name
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        # The JS value itself belongs to one evaluator and does not travel: the copy's
        # ``js_value`` is the Python ``value``. The fields go as state (after the new object
        # is memoized), so a value that refers back to the exception pickles: a thrown JS
        # ``Error``'s ``value`` is the exception itself (see ``Bridge.py_error``).
        state = dict(self.__dict__)
        state["js_value"] = self.value
        return (_NEWOBJ, (type(self), *self.args), state)


class JsSyntaxError(RealmWasmerError):
    """The JS text cannot be parsed (or uses syntax the evaluator does not run)."""


class PackageError(RealmWasmerError):
    """A package cannot be located or initialised (the message names the file and what to pass)."""


class JsShortCircuit(Exception):
    """Internal to the JS evaluator: ends an optional chain (``a?.b.c``) early; never escapes it."""


# ---------------------------------------------------------------------------
# wasm-bindgen metadata and bindings
# ---------------------------------------------------------------------------


class DescriptorError(RealmWasmerError):
    """A descriptor word stream could not be decoded (or its schema is unknown)."""


class UnsupportedSchema(DescriptorError):
    """The module's wasm-bindgen schema version has no known code table or program layout."""


class UnsupportedType(RealmWasmerError):
    """A decoded type has no ABI mapping in this library (e.g. ``i128``, a stack closure argument)."""


class ProgramError(RealmWasmerError):
    """The ``__wasm_bindgen_unstable`` section is malformed."""


class BindingError(RealmWasmerError, TypeError):
    """A module, class or member cannot be bound (or has no constructor)."""


class ArgumentError(RealmWasmerError, TypeError):
    """A bound call got a bad argument (count, name or type); no guest call was made."""


class ArgumentRangeError(ArgumentError, ValueError):
    """An integer argument does not fit its Rust type; no guest call was made."""


class JsResultError(JsError):
    """A bound function returned ``Err(e)``: ``value`` is the JS value (a
    :class:`~realm_wasmer.host.intrinsics.JsErrorValue` for ``JsError::new``),
    ``str(exc)`` its message, ``function`` the bound function's name."""

    def __init__(self, message: str, value: Any = None, function: Optional[str] = None) -> None:
        super().__init__(message, value)
        self.function = function


# ---------------------------------------------------------------------------
# The layout probe
# ---------------------------------------------------------------------------


class ProbeError(RealmWasmerError):
    """The probe cannot run on this module or export (the export is named)."""


class UnknownPlacement(ProbeError):
    """A slot placement the probe was asked to search is not one it knows (the
    message lists the known ones). No fields."""


class BadArgument(RealmWasmerError):
    """A probe argument token could not be read (the token is named)."""


class ObjectNotBuilt(RealmWasmerError):
    """The constructor did not produce an object in a probe state (the export is named)."""


class AllocatorUnknown(RealmWasmerError):
    """The guest's allocator headers do not follow the dlmalloc rule (named
    with the request size and the address whose header disagreed)."""


class UntrustedArtifact(CorruptArtifact):
    """The artifact cache refused to trust a file: an entry (a symlink, a special file,
    someone else's file, a writable-by-others file, one over the size bound, or one not
    signed with the cache's secret), the cache directory or its secret. ``path`` is the
    file, ``reason`` says which check failed. Such a file is never deserialized."""

    def __init__(self, path: Path, reason: str) -> None:
        RealmWasmerError.__init__(self, f"cache file {str(path)!r} is not trusted: {reason}")
        self.path = path
        self.reason = reason


# ---------------------------------------------------------------------------
# The worker pool
# ---------------------------------------------------------------------------


class BenchmarkSkipped(RealmWasmerError):
    """A benchmark case cannot run here; the reason goes to the report instead of a figure."""


class PoolError(RealmWasmerError):
    """A pool cannot serve a call: it is closed, its workers cannot start, sessions need
    workers it does not have, or a result cannot leave the worker (the message says
    which). No fields."""


class PoolClosed(PoolError):
    """The pool was closed (or is closing): it takes no more calls. No fields."""


class WorkerDied(PoolError):
    """The worker process running the call died (SIGKILL, the OOM killer, a guest or
    engine crash, the pool's ``call_timeout``); it is being replaced. ``worker`` names it
    (``worker-1 (pid 4242)``), ``cause`` says how it ended, ``call`` is the call's name."""

    def __init__(self, worker: str, cause: str, call: Optional[str] = None) -> None:
        during = f" during {call!r}" if call else ""
        super().__init__(f"{worker} died{during}: {cause}")
        self.worker = worker
        self.cause = cause
        self.call = call


class PoolFull(PoolError):
    """``submit`` found the pool's bounded queue full (``on_full="raise"``), or every
    worker already holds its cap of sessions. ``limit`` is the bound, ``what`` is
    ``"calls"`` or ``"sessions"``."""

    def __init__(self, limit: int, what: str = "calls") -> None:
        bound = "queue" if what == "calls" else "cap of sessions per worker"
        super().__init__(f"the pool is full: its {bound} ({limit} {what}) is reached")
        self.limit = limit
        self.what = what


class SessionLost(PoolError):
    """A session's objects are gone: its worker died, it was idle past the pool's
    ``session_idle``, it was closed, or its instance trapped and was rebuilt. ``key`` is
    the session's key, ``worker`` the worker that held it, ``cause`` what happened.
    Open the session again with ``pool.session(key)`` (it starts empty)."""

    def __init__(self, key: Any, worker: str, cause: str) -> None:
        super().__init__(
            f"session {key!r} on {worker} has lost its objects: {cause}; pool.session({key!r}) starts a new one"
        )
        self.key = key
        self.worker = worker
        self.cause = cause


class PackageEscape(PackageError):
    """A package's JS asked for a file outside the package (``require("../../etc/passwd")``, an
    absolute path, a symlink pointing out, ``fs.readFileSync`` of one): refused before anything
    is read. ``js_text`` is the JS asking, ``path`` where it resolved to, ``root`` the package
    root. Not catchable by the package's own ``try``/``catch``."""

    def __init__(self, js_text: str, path: str, root: str) -> None:
        super().__init__(f"{js_text} reaches {path}, outside the package root {root}; nothing was read")
        self.js_text = js_text
        self.path = path
        self.root = root


class JsNotTranslated(Exception):
    """Internal to the JS evaluator (js/direct.py): a function is outside what is translated to
    Python source; it keeps its closures. Never escapes the translator."""


class JsNeedsFrame(Exception):
    """Internal to the JS evaluator (js/direct.py): a translated function has a sub-expression
    that runs as a closure, so its locals must live in a frame. Never escapes the translator."""
