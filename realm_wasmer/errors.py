"""Every error realm_wasmer raises is a :class:`RealmWasmerError`.

Each error names what it is about: the export that was called, the import the
guest was in, the address that was touched, or the engine that was asked for.
"""

from __future__ import annotations

from typing import Any


class RealmWasmerError(Exception):
    """Base class of all realm_wasmer errors."""


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


class InvalidModule(RealmWasmerError):
    """The bytes are not a WebAssembly module this library can read."""


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


class PoisonedInstance(RealmWasmerError):
    """The instance trapped earlier; its memory may be inconsistent. Call ``reset()``."""


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


class ExportNotFound(RealmWasmerError):
    """The module has no export of that name (the message lists close matches)."""


class JsError(RealmWasmerError):
    """The guest returned or threw a JS value as an error.

    ``value`` is the Python value of that JS value (for a JS ``Error`` made by the
    guest, a :class:`JsErrorValue`); ``str(exc)`` is its message.
    """

    def __init__(self, message: str, value: Any = None) -> None:
        super().__init__(message)
        self.value = value
