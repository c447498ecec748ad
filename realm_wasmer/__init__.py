"""realm_wasmer: run wasm-bindgen modules on wasmer from Python, with no JavaScript.

>>> import realm_wasmer
>>> info = realm_wasmer.inspect("wasm/realm.wasm")          # what the module is
>>> inst = realm_wasmer.load("wasm/realm.wasm")             # wasmer-cranelift by default
>>> realm = inst.construct("Realm")                         # Pattern 3: out-pointer constructor
>>> realm.close()

Engines: ``realm_wasmer.engines.availability()`` lists ``wasmer-cranelift``,
``wasmer-singlepass``, ``wasmer-llvm`` and ``wasmtime`` with the reason any of
them cannot run here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import exports
from .errors import (
    EnginePanic,
    EngineRefused,
    EngineUnavailable,
    ExportNotFound,
    ForeignThread,
    GuestMemoryError,
    GuestTrap,
    HostError,
    HostResultError,
    InvalidModule,
    JsError,
    PoisonedInstance,
    PoolClosed,
    PoolError,
    PoolFull,
    RealmWasmerError,
    ResourceExhausted,
    SessionLost,
    UnresolvedImport,
    UseAfterFree,
    WorkerDied,
)

__version__ = "0.1.0"

#: Where each public name lives: imported on first use (``import realm_wasmer`` stays cheap:
#: no engine, numpy or JS evaluator until something needs them; tests/test_import_time.py).
_WHERE = {
    "engines": ".engines",
    "ArgumentError": ".bindings.api",
    "ArgumentRangeError": ".bindings.api",
    "BoundModule": ".bindings.api",
    "BoundObject": ".bindings.api",
    "JsResultError": ".bindings.api",
    "bind": ".bindings.api",
    "ArtifactCache": ".cache",
    "Conventions": ".conventions",
    "HostContext": ".host.context",
    "JsHeap": ".host.heap",
    "GuestMemory": ".host.memory",
    "Caller": ".host.resolver",
    "Imports": ".host.resolver",
    "JsValueStore": ".host.values",
    "ClassInfo": ".inspection",
    "Constructor": ".inspection",
    "ImportInfo": ".inspection",
    "ModuleInfo": ".inspection",
    "inspect": ".inspection",
    "CompiledModule": ".instance",
    "Instance": ".instance",
    "InstanceSnapshot": ".instance",
    "compile": ".instance",
    "load": ".instance",
    "load_package": ".js.package",
    "UNDEFINED": ".js.values",
    "JsErrorValue": ".js.values",
    "Limits": ".limits",
    "Object": ".objects",
    "Pool": ".pool",
    "RemoteObject": ".pool",
    "Session": ".pool",
    "LoadSpec": ".spec",
    "Stats": ".stats",
}
__getattr__, __dir__ = exports(__name__, _WHERE)

if TYPE_CHECKING:
    from . import engines
    from .bindings.api import ArgumentError, ArgumentRangeError, BoundModule, BoundObject, JsResultError, bind
    from .cache import ArtifactCache
    from .conventions import Conventions
    from .host.context import HostContext
    from .host.heap import JsHeap
    from .host.memory import GuestMemory
    from .host.resolver import Caller, Imports
    from .host.values import JsValueStore
    from .inspection import ClassInfo, Constructor, ImportInfo, ModuleInfo, inspect
    from .instance import CompiledModule, Instance, InstanceSnapshot, compile, load
    from .js.package import load_package
    from .js.values import UNDEFINED, JsErrorValue
    from .limits import Limits
    from .objects import Object
    from .pool import Pool, RemoteObject, Session
    from .spec import LoadSpec
    from .stats import Stats

__all__ = [
    "ArgumentError",
    "ArgumentRangeError",
    "ArtifactCache",
    "BoundModule",
    "BoundObject",
    "JsResultError",
    "bind",
    "UNDEFINED",
    "Caller",
    "ClassInfo",
    "CompiledModule",
    "Constructor",
    "Conventions",
    "EnginePanic",
    "EngineRefused",
    "EngineUnavailable",
    "ExportNotFound",
    "ForeignThread",
    "GuestMemory",
    "GuestMemoryError",
    "GuestTrap",
    "HostContext",
    "HostError",
    "HostResultError",
    "ImportInfo",
    "Imports",
    "Instance",
    "InstanceSnapshot",
    "InvalidModule",
    "JsError",
    "JsErrorValue",
    "JsHeap",
    "JsValueStore",
    "Limits",
    "LoadSpec",
    "ModuleInfo",
    "Object",
    "PoisonedInstance",
    "Pool",
    "PoolClosed",
    "PoolError",
    "PoolFull",
    "RealmWasmerError",
    "RemoteObject",
    "ResourceExhausted",
    "Session",
    "SessionLost",
    "Stats",
    "UnresolvedImport",
    "UseAfterFree",
    "WorkerDied",
    "__version__",
    "compile",
    "engines",
    "inspect",
    "load",
    "load_package",
]

# load_package's own errors (a package that cannot be located or initialised, glue it cannot parse)
from .errors import JsSyntaxError, PackageError  # noqa: E402

__all__ += ["JsSyntaxError", "PackageError"]

# a package's JS reaching outside its root (require/import confinement)
from .errors import PackageEscape  # noqa: E402

__all__ += ["PackageEscape"]
