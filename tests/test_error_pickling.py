"""Every exception class lives in ``realm_wasmer.errors`` and survives pickling.

The classes are found by introspection, so a class added later is covered (and
fails until it has constructor arguments in :data:`SAMPLES`).
"""

from __future__ import annotations

import ast
import copy
import importlib
import inspect
import pickle
import pkgutil
import sys
from pathlib import Path
from typing import Any

import pytest

import realm_wasmer as rw
from realm_wasmer import engines, errors
from realm_wasmer.host.heap import HeapError

from .conftest import REALM_WASM


class _Unpicklable(Exception):
    """A handler's exception that cannot be pickled (it holds a lambda)."""

    def __init__(self) -> None:
        super().__init__("holds a lambda")
        self.callback = lambda: None


def _exception_classes() -> list[type[BaseException]]:
    return [
        obj
        for _, obj in sorted(vars(errors).items())
        if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == errors.__name__
    ]


Args = tuple[tuple[Any, ...], dict[str, Any]]

#: Representative constructor arguments of every exception class, by class name
#: (several samples where a field takes different kinds of values).
SAMPLES: dict[str, list[Args]] = {
    "RealmWasmerError": [(("something went wrong",), {})],
    "BenchmarkSkipped": [(("node not installed",), {})],
    "JsShortCircuit": [((), {})],
    "JsNotTranslated": [(("a declaration inside a block",), {})],
    "JsNeedsFrame": [((), {})],
    "JsSyntaxError": [(("glue.js:3: a with statement is not supported by the JS evaluator",), {})],
    "JsThrow": [(({"name": "TypeError"}, "x is not a function", "TypeError"), {}), (("a thrown string",), {})],
    "PackageError": [(("pkg: no entry found (tried index.js); pass entry='<file in the package>'",), {})],
    "EngineUnavailable": [(("wasmer-llvm", "libLLVM is not installed"), {})],
    "EngineRefused": [(("wasmer-singlepass", "multi-value functions: (i32) -> (i32, i32)"), {})],
    "UnknownEngine": [(("unknown engine 'v8'; the engines are: wasmtime",), {})],
    "UnsupportedFeature": [(("this engine has no store for native table access; use engine='wasmtime'",), {})],
    "Trap": [(("out of bounds memory access", "wasm trap: out of bounds memory access\nwasm backtrace: ..."), {})],
    "Panic": [(("not implemented",), {})],
    "InvalidModule": [(("not a WebAssembly module (bad magic)",), {})],
    "Malformed": [(("LEB128 integer longer than 5 bytes", 17), {})],
    "BundledModuleMissing": [(("the bundled Realm module is not at /x/realm.wasm; pass --module PATH",), {})],
    "CorruptArtifact": [((Path("/tmp/cache/wasmtime-00ff.bin"), "bad magic b'XXXX'"), {})],
    "ClassNotFound": [(("the module has no class 'Foo' (classes found: Realm)",), {})],
    "MissingRuntimeExport": [(("the module exports no malloc function (roles found: {})",), {})],
    "UnresolvedImport": [
        (("env.f has no handler", [("env", "f", "(i32) -> ()"), ("env", "g", "() -> (i32)")]), {}),
        (("env.f has no handler",), {"imports": []}),
    ],
    "AmbiguousHandler": [(("a handler registered by stripped name would answer 2 different imports",), {})],
    "ModuleStateError": [(("guest memory was used before the instance finished instantiating",), {})],
    "GuestTrap": [
        (("realm_isLoaded", "out of bounds memory access", "env.realm_store_model"), {}),
        (("run", "unreachable", None), {}),
    ],
    "EnginePanic": [(("take_ref", "not implemented"), {})],
    "HostError": [
        (("env.realm_store_model", "realm_loadModel", ValueError("disk full")), {}),
        # The original exception only shapes the message: it need not pickle.
        (("env.log", None), {"exc": _Unpicklable()}),
    ],
    "ForeignThread": [(("wasmer-cranelift", "MainThread", "Thread-2"), {})],
    "HostResultError": [(("wbg.__wbg_now_0123456789abcdef", "() -> (f64)", "soon", "expected a number"), {})],
    "PoisonedInstance": [(("the instance trapped earlier; call reset()",), {})],
    "ResourceExhausted": [
        (("spin", "fuel", 100_000, "used 100_013 units"), {}),
        (("<instantiation>", "timeout_s", 0.25), {}),
    ],
    "ExportNotFound": [(("no export 'realm_neww' (did you mean realm_new?)",), {})],
    "ConstructorError": [(("constructor realm_new returned a null object pointer",), {})],
    "UseAfterFree": [(("Realm handle used after close()",), {})],
    "GuestMemoryError": [((0xFFFE, 4, 0x10000), {})],
    "HeapError": [(("JS heap index 140 holds no value (it was dropped)",), {})],
    "EmptyTableSlot": [(("funcref table 'T' has no function at index 3",), {})],
    "UnencodableString": [(("string cannot be passed to the guest: surrogates not allowed",), {})],
    "InvalidGuestValue": [(("the guest returned 0xd800, which is not a valid char",), {})],
    "JsError": [
        (("boom", rw.JsErrorValue("boom", "TypeError")), {}),
        (("{'code': [1, 2]}", {"code": [1, 2]}), {}),
        (("plain message",), {}),
    ],
    "DescriptorError": [(("descriptor ended early",), {})],
    "UnsupportedSchema": [(("schema 0.2.70 is not supported",), {})],
    "UnsupportedType": [(("I128 has no known ABI",), {})],
    "ProgramError": [(("program ended early at byte 12",), {})],
    "BindingError": [(("class Foo has no constructor",), {})],
    "ArgumentError": [(("add() takes 2 arguments, got 3",), {})],
    "ArgumentRangeError": [(("a = 256 is out of range for u8 (0..=255)",), {})],
    "JsResultError": [
        (("bad input", rw.JsErrorValue("bad input")), {"function": "parse"}),
        (("bad input",), {}),
    ],
    "ProbeError": [(("realm_new: no slot of up to 256 bytes keeps its guards intact",), {})],
    "UnknownPlacement": [(("unknown placement 'x'; one of heap, static_data",), {})],
    "BadArgument": [(("probe argument 'bytes:zz': bytes: needs hex digits",), {})],
    "ObjectNotBuilt": [(("constructor realm_new returned no object",), {})],
    "AllocatorUnknown": [(("request 12: header at 0x1000 says 0x30",), {})],
    "UntrustedArtifact": [((Path("/tmp/cache/wasmtime-00ff.artifact"), "a symlink"), {})],
    "PoolError": [(("'Realm' returned a Realm object, which cannot be sent back: use pool.session(key)",), {})],
    "PoolClosed": [(("the pool is closed",), {})],
    "WorkerDied": [
        (("worker-1 (pid 4242)", "killed by SIGKILL", "rt_string"), {}),
        (("worker-0", "exited with status 1"), {}),
    ],
    "PoolFull": [((8,), {}), ((64, "sessions"), {})],
    "SessionLost": [
        (("tenant-1", "worker-1 (pid 4242)", "its worker died (killed by SIGKILL)"), {}),
        ((("tenant", 7), "worker-0", "it was idle for more than 300 s"), {}),
    ],
    "PackageEscape": [(("require('../../etc/passwd') in /pkg/index.js", "/etc/passwd", "/pkg"), {})],
}


def assert_round_trips(exc: BaseException) -> None:
    """pickle (every protocol) and deepcopy give an equal exception: type, str, args, fields."""
    copies = [pickle.loads(pickle.dumps(exc, protocol)) for protocol in range(pickle.HIGHEST_PROTOCOL + 1)]
    copies.append(copy.deepcopy(exc))
    for restored in copies:
        assert type(restored) is type(exc)
        assert str(restored) == str(exc)
        assert restored.args == exc.args
        assert vars(restored) == vars(exc)
        for name, value in vars(exc).items():
            assert getattr(restored, name) == value, name


@pytest.mark.parametrize("cls", _exception_classes(), ids=lambda cls: cls.__name__)
def test_every_exception_class_pickles_with_its_fields(cls: type[BaseException]) -> None:
    samples = SAMPLES.get(cls.__name__)
    assert samples, f"{cls.__name__} has no constructor arguments in SAMPLES: add a sample for it"
    for args, kwargs in samples:
        assert_round_trips(cls(*args, **kwargs))


def test_samples_name_only_existing_classes() -> None:
    assert set(SAMPLES) <= {cls.__name__ for cls in _exception_classes()}


def test_errors_module_is_a_leaf() -> None:
    """errors.py imports only the standard library (and __future__), nothing of the package."""
    tree = ast.parse(Path(errors.__file__).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"relative import at line {node.lineno}"
            modules = [node.module or ""]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        for module in modules:
            top = module.split(".")[0]
            assert top == "__future__" or top in sys.stdlib_module_names, f"{module} (line {node.lineno})"


def test_every_exception_class_of_the_package_is_defined_in_errors() -> None:
    stray = []
    for module_info in pkgutil.walk_packages(rw.__path__, prefix="realm_wasmer."):
        module = importlib.import_module(module_info.name)
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__ == module.__name__
                and module.__name__ != errors.__name__
            ):
                stray.append(f"{module.__name__}.{name}")
    assert stray == []


def test_old_import_paths_still_work() -> None:
    from realm_wasmer.bindings.api import ArgumentError, ArgumentRangeError, BindingError, JsResultError
    from realm_wasmer.bindings.descriptors import DescriptorError, UnsupportedSchema, UnsupportedType
    from realm_wasmer.bindings.program import ProgramError
    from realm_wasmer.cache import CorruptArtifact
    from realm_wasmer.engines.base import Panic, Trap
    from realm_wasmer.probe.alloc import AllocatorUnknown
    from realm_wasmer.probe.args import BadArgument
    from realm_wasmer.probe.object import ObjectNotBuilt
    from realm_wasmer.probe.probe import ProbeError
    from realm_wasmer.wasm.leb import Malformed

    moved = [
        ArgumentError, ArgumentRangeError, BindingError, JsResultError, DescriptorError, UnsupportedSchema,
        UnsupportedType, ProgramError, CorruptArtifact, Panic, Trap, AllocatorUnknown, BadArgument,
        ObjectNotBuilt, ProbeError, HeapError, Malformed,
    ]
    assert all(getattr(errors, cls.__name__) is cls for cls in moved)
    assert issubclass(ArgumentError, TypeError) and issubclass(ArgumentRangeError, ValueError)


# -- errors raised for real --------------------------------------------------


def test_a_real_guest_trap_round_trips() -> None:
    instance = rw.load(REALM_WASM)
    with pytest.raises(rw.GuestTrap) as info:
        instance.call("realm_isLoaded", 0xFFFFFFF0 - 2**32)
    assert info.value.message == "out of bounds memory access"
    assert_round_trips(info.value)
    assert pickle.loads(pickle.dumps(info.value)).export == "realm_isLoaded"


def test_a_real_host_error_round_trips_without_its_cause() -> None:
    from realm_wasmer.demo import tiny_gguf

    def refuse(caller: rw.Caller, ptr: int, length: int, model_id: int) -> int:
        raise _Unpicklable()

    instance = rw.load(REALM_WASM, imports=rw.Imports({("env", "realm_store_model"): refuse}))
    with instance.construct("Realm") as realm:
        ptr, length = instance.abi.pass_bytes(tiny_gguf(["a"]))
        with pytest.raises(rw.HostError) as info:
            instance.call_retptr("realm_loadModel", realm.ptr, ptr, length, words=2)
    assert isinstance(info.value.__cause__, _Unpicklable)
    assert_round_trips(info.value)
    restored = pickle.loads(pickle.dumps(info.value))
    assert (restored.import_name, restored.export) == (info.value.import_name, "realm_loadModel")
    assert restored.__cause__ is None


def test_real_instantiation_and_memory_errors_round_trip() -> None:
    with pytest.raises(rw.UnresolvedImport) as unresolved:
        rw.load(REALM_WASM, on_missing="error")
    assert_round_trips(unresolved.value)
    assert {name for _, name, _ in pickle.loads(pickle.dumps(unresolved.value)).imports} == {
        "realm_store_model",
        "realm_next_token",
    }

    instance = rw.load(REALM_WASM)
    with pytest.raises(rw.GuestMemoryError) as memory:
        instance.memory.read(instance.memory.size - 2, 4)
    assert_round_trips(memory.value)
    with pytest.raises(rw.ExportNotFound) as missing:
        instance.call("realm_neww", 0)
    assert_round_trips(missing.value)
    index = instance.heap.add("x")
    instance.heap.take(index)
    with pytest.raises(HeapError) as heap:
        instance.heap.drop(index)
    assert_round_trips(heap.value)


def test_unknown_engine_is_specific_and_round_trips() -> None:
    with pytest.raises(errors.UnknownEngine, match="unknown engine 'v8'") as info:
        engines.lookup("v8")
    assert isinstance(info.value, rw.RealmWasmerError)
    assert_round_trips(info.value)


def test_a_js_error_thrown_by_a_package_pickles_though_its_value_is_itself(corpus: dict[str, Any]) -> None:
    """A thrown JS ``Error`` reaches Python as a JsThrow whose ``value`` is the exception itself
    (``Bridge.py_error``); pickling it (e.g. across a pool's processes) must not recurse."""
    meta = corpus["resvg"]["meta"]
    root = corpus["resvg"]["glue"].parents[len(Path(meta["glue"]).parts) - 2]
    entry = str(Path(meta["glue"]).relative_to("package"))
    resvg = rw.load_package(root, engine="wasmtime", entry=entry)
    with pytest.raises(errors.JsThrow) as thrown:
        resvg.Resvg('<svg xmlns="http://www.w3.org/2000/svg"><rect')
    exc = thrown.value
    assert exc.value is exc and exc.name == "Error"
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        restored = pickle.loads(pickle.dumps(exc, protocol))
        assert type(restored) is errors.JsThrow and restored.value is restored and restored.js_value is restored
        assert (str(restored), restored.args, restored.name, restored.message) == (
            str(exc), exc.args, exc.name, exc.message)
        assert restored.message == "SVG data parsing failed cause the root node was opened but never closed"
    copied = copy.deepcopy(exc)
    assert copied.value is copied and copied.message == exc.message
    # A value that refers back to the exception deeper down round-trips too.
    nested = errors.JsThrow({"name": "AggregateError"}, "several", "AggregateError")
    nested.value = {"errors": [nested], "count": 1}
    back = pickle.loads(pickle.dumps(nested))
    assert back.value["errors"][0] is back and back.value["count"] == 1
