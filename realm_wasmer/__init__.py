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

from . import engines
from .bindings.api import ArgumentError, ArgumentRangeError, BoundModule, BoundObject, JsResultError, bind
from .cache import ArtifactCache
from .errors import (
    EnginePanic,
    EngineRefused,
    EngineUnavailable,
    ExportNotFound,
    GuestMemoryError,
    GuestTrap,
    HostError,
    InvalidModule,
    JsError,
    PoisonedInstance,
    RealmWasmerError,
    UnresolvedImport,
    UseAfterFree,
)
from .host.heap import UNDEFINED, JsHeap
from .host.intrinsics import JsErrorValue
from .host.memory import GuestMemory
from .host.resolver import Caller, Imports
from .inspection import ClassInfo, Constructor, ImportInfo, ModuleInfo, inspect
from .instance import CompiledModule, Instance, Object, compile, load

__version__ = "0.1.0"

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
    "EnginePanic",
    "EngineRefused",
    "EngineUnavailable",
    "ExportNotFound",
    "GuestMemory",
    "GuestMemoryError",
    "GuestTrap",
    "HostError",
    "ImportInfo",
    "Imports",
    "Instance",
    "InvalidModule",
    "JsError",
    "JsErrorValue",
    "JsHeap",
    "ModuleInfo",
    "Object",
    "PoisonedInstance",
    "RealmWasmerError",
    "UnresolvedImport",
    "UseAfterFree",
    "__version__",
    "compile",
    "engines",
    "inspect",
    "load",
]
