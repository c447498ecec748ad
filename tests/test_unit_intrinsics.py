"""wasm-bindgen intrinsics on both JS-value stores, and the linker's catch and
call-guard semantics, on the fake engine."""

from __future__ import annotations

import json
from typing import Any

import pytest

from realm_wasmer.engines.base import Trap
from realm_wasmer.errors import (
    EnginePanic,
    ExportNotFound,
    GuestTrap,
    HeapError,
    HostError,
    JsError,
    PoisonedInstance,
    RealmWasmerError,
    UnresolvedImport,
)
from realm_wasmer.host.context import HostContext
from realm_wasmer.host.heap import JsHeap
from realm_wasmer.host.intrinsics import NOT_A_BOOL, IntrinsicResolver, known_intrinsics
from realm_wasmer.host.resolver import Imports, MissingPolicy
from realm_wasmer.host.values import ExternrefTableStore
from realm_wasmer.js.values import UNDEFINED, JsErrorValue
from realm_wasmer.wasm import FuncType

from .fake_engine import FakeEngineInstance, fake_context, fake_engine, link_fake

I = "i32"  # noqa: E741
THROW_HASHED = "__wbg___wbindgen_throw_0123456789abcdef"


def intrinsic_imports(js: str) -> list[tuple[str, str, FuncType]]:
    """The intrinsics' imports as a module whose JS values cross as ``js`` declares them."""
    shapes: dict[str, FuncType] = {
        "__wbindgen_string_new": FuncType((I, I), (js,)),
        "__wbindgen_number_new": FuncType(("f64",), (js,)),
        "__wbindgen_is_undefined": FuncType((js,), (I,)),
        "__wbindgen_is_null": FuncType((js,), (I,)),
        "__wbindgen_is_object": FuncType((js,), (I,)),
        "__wbindgen_is_function": FuncType((js,), (I,)),
        "__wbindgen_is_string": FuncType((js,), (I,)),
        "__wbindgen_boolean_get": FuncType((js,), (I,)),
        "__wbindgen_number_get": FuncType((I, js), ()),
        "__wbindgen_string_get": FuncType((I, js), ()),
        "__wbindgen_debug_string": FuncType((I, js), ()),
        "__wbindgen_json_parse": FuncType((I, I), (js,)),
        "__wbindgen_json_serialize": FuncType((I, js), ()),
        "__wbindgen_error_new": FuncType((I, I), (js,)),
        "__wbindgen_throw": FuncType((I, I), ()),
        THROW_HASHED: FuncType((I, I), ()),
        "__wbindgen_rethrow": FuncType((js,), ()),
        "__wbindgen_object_drop_ref": FuncType((I,), ()),
        "__wbindgen_object_clone_ref": FuncType((I,), (I,)),
        "__wbindgen_describe": FuncType((I,), ()),
    }
    imports = [("wbg", name, sig) for name, sig in shapes.items()]
    # signatures that do not fit the shape (in another namespace: the resolver matches names only)
    imports.append((BAD, "__wbindgen_string_new", FuncType((I,), (I,))))
    imports.append((BAD, "__wbindgen_is_null", FuncType((I,), (I,))))  # the heap form; wrong for externref
    imports.append((BAD, "__wbindgen_boolean_get", FuncType((js,), ("f64",))))
    # An application's own namespace: wasm-bindgen's names there are not intrinsics.
    imports.append(("env", "__wbindgen_throw", FuncType((I, I), ())))
    return imports


#: A wasm-bindgen namespace (a bundler target's glue file) holding imports with unfit signatures.
BAD = "./bad_bg.js"


class Guest:
    """A linked fake instance of one store, and the guest's side of the value ABI."""

    def __init__(self, store: str, chain: list[Any] | None = None, **options: Any) -> None:
        self.store = store
        self.js = "i32" if store == "heap" else "externref"
        imports = intrinsic_imports(self.js) + list(options.pop("imports", []))
        self.ctx: HostContext = fake_context(store=store, imports=imports, **options)
        self.engine: FakeEngineInstance = fake_engine(self.ctx)
        if store == "externref":
            self.ctx.values.init_table()  # type: ignore[attr-defined]
        chain = chain if chain is not None else [IntrinsicResolver(), MissingPolicy("trap")]
        self.resolutions = link_fake(self.ctx, chain)

    def call(self, name: str, *args: Any, module: str = "wbg") -> Any:
        return self.engine.call_import(module, name, *args)

    def resolver(self, name: str, module: str = "wbg") -> str:
        return self.resolutions[(module, name)][1].resolver

    def to_guest(self, value: Any) -> Any:
        """What the guest holds for ``value``: an index into the slab, or the value itself."""
        heap = self.ctx.values
        if isinstance(heap, JsHeap):
            constant = heap.index_of_constant(value)
            return constant if constant is not None else heap.add(value)
        return value

    def from_guest(self, raw: Any) -> Any:
        heap = self.ctx.values
        return heap.get(raw) if isinstance(heap, JsHeap) else raw

    def string(self, text: str) -> tuple[int, int]:
        return self.ctx.abi.pass_string(text)

    def slice_at(self, retptr: int) -> str | None:
        ptr, length = self.ctx.memory.u32s(retptr, 2)
        return None if (ptr, length) == (0, 0) else self.ctx.memory.string(ptr, length)


STORES = ["heap", "externref"]


@pytest.fixture(params=STORES)
def guest(request: pytest.FixtureRequest) -> Guest:
    return Guest(str(request.param))


def test_the_stores(guest: Guest) -> None:
    expected = JsHeap if guest.store == "heap" else ExternrefTableStore
    assert isinstance(guest.ctx.values, expected)
    assert guest.ctx.conventions.value_store == guest.store


def test_string_new(guest: Guest) -> None:
    raw = guest.call("__wbindgen_string_new", *guest.string("hé ☃"))
    if guest.store == "heap":
        assert isinstance(raw, int) and raw >= guest.ctx.values.offset + 4  # type: ignore[attr-defined]
        assert guest.ctx.values.live_count() == 1
    else:
        assert raw == "hé ☃"
    assert guest.from_guest(raw) == "hé ☃"
    assert guest.from_guest(guest.call("__wbindgen_number_new", 2.5)) == 2.5


def test_string_new_masks_a_negative_pointer(guest: Guest) -> None:
    ptr, length = guest.string("neg")
    assert guest.from_guest(guest.call("__wbindgen_string_new", ptr - (1 << 32), length)) == "neg"


def _function() -> int:
    return 0


PREDICATE_VALUES: list[Any] = [UNDEFINED, None, "s", "", 1.5, 0, True, {"a": 1}, [1], _function, JsErrorValue("e")]
PREDICATES = {
    "__wbindgen_is_undefined": [UNDEFINED],
    "__wbindgen_is_null": [None],
    "__wbindgen_is_string": ["s", ""],
    "__wbindgen_is_function": [_function],
    "__wbindgen_is_object": [{"a": 1}, [1], JsErrorValue("e")],
}


@pytest.mark.parametrize("name", sorted(PREDICATES))
def test_predicates(guest: Guest, name: str) -> None:
    truthy = [v for v in PREDICATE_VALUES if guest.call(name, guest.to_guest(v)) == 1]
    assert truthy == PREDICATES[name]
    assert {guest.call(name, guest.to_guest(v)) for v in PREDICATE_VALUES} == {0, 1}


def test_boolean_get(guest: Guest) -> None:
    results = [guest.call("__wbindgen_boolean_get", guest.to_guest(v)) for v in (True, False, 1, 0, "true", None)]
    assert results == [1, 0, NOT_A_BOOL, NOT_A_BOOL, NOT_A_BOOL, NOT_A_BOOL]
    assert NOT_A_BOOL == 0xFFFFFF


def test_number_get_writes_through_the_retptr(guest: Guest) -> None:
    memory = guest.ctx.memory
    retptr = guest.ctx.abi.malloc(16, 8)
    memory.fill(retptr, 16, 0xEE)
    guest.call("__wbindgen_number_get", retptr, guest.to_guest(2.5))
    assert (memory.u32(retptr), memory.f64(retptr + 8)) == (1, 2.5)
    guest.call("__wbindgen_number_get", retptr, guest.to_guest(7))
    assert (memory.u32(retptr), memory.f64(retptr + 8)) == (1, 7.0)
    for not_a_number in ("2.5", True, None):
        memory.fill(retptr, 16, 0xEE)
        guest.call("__wbindgen_number_get", retptr, guest.to_guest(not_a_number))
        assert (memory.u32(retptr), memory.f64(retptr + 8)) == (0, 0.0)


def test_string_get_writes_a_malloced_copy(guest: Guest) -> None:
    retptr = guest.ctx.abi.malloc(16, 8)
    guest.call("__wbindgen_string_get", retptr, guest.to_guest("héllo"))
    assert guest.slice_at(retptr) == "héllo"
    assert guest.engine.mallocs[-1] == (6, 1)  # exact size, align 1: the guest frees it as a String
    guest.ctx.memory.set_u32s(retptr, (9, 9))
    guest.call("__wbindgen_string_get", retptr, guest.to_guest(42))
    assert guest.ctx.memory.u32s(retptr, 2) == (0, 0)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (0.5, "0.5"),
        ("q", '"q"'),
        (None, "null"),
        (UNDEFINED, "undefined"),
        ([1, "a"], '[1, "a"]'),
        (JsErrorValue("bad", "TypeError"), "TypeError: bad"),
        ({"k": [1]}, 'Object({"k":[1]})'),
    ],
)
def test_debug_string(guest: Guest, value: Any, text: str) -> None:
    retptr = guest.ctx.abi.malloc(16, 8)
    guest.call("__wbindgen_debug_string", retptr, guest.to_guest(value))
    assert guest.slice_at(retptr) == text


def test_json_parse_and_serialize(guest: Guest) -> None:
    document = {"a": [1, 2.5, None, True], "b": {"c": "ü"}}
    raw = guest.call("__wbindgen_json_parse", *guest.string(json.dumps(document)))
    assert guest.from_guest(raw) == document
    retptr = guest.ctx.abi.malloc(16, 8)
    guest.call("__wbindgen_json_serialize", retptr, guest.to_guest(document))
    text = guest.slice_at(retptr)
    assert text is not None and json.loads(text) == document
    assert text.startswith('{"a":[1,2.5,null,true],"b":{"c":')  # compact, as JSON.stringify
    guest.call("__wbindgen_json_serialize", retptr, guest.to_guest(UNDEFINED))
    assert guest.slice_at(retptr) is None  # JSON.stringify(undefined) is undefined: no string
    with pytest.raises(json.JSONDecodeError):
        guest.call("__wbindgen_json_parse", *guest.string("{nope"))


def test_error_new(guest: Guest) -> None:
    raw = guest.call("__wbindgen_error_new", *guest.string("oops"))
    assert guest.from_guest(raw) == JsErrorValue("oops")


@pytest.mark.parametrize("name", ["__wbindgen_throw", THROW_HASHED])
def test_throw(guest: Guest, name: str) -> None:
    assert guest.resolver(name) == "intrinsic"
    with pytest.raises(JsError) as info:
        guest.call(name, *guest.string("it broke"))
    assert str(info.value) == "it broke"
    assert info.value.value == JsErrorValue("it broke")


def test_rethrow_takes_ownership(guest: Guest) -> None:
    error = JsErrorValue("again", "RangeError")
    raw = guest.to_guest(error)
    with pytest.raises(JsError) as info:
        guest.call("__wbindgen_rethrow", raw)
    assert info.value.value is error and str(info.value) == "again"
    if guest.store == "heap":
        assert guest.ctx.values.live_count() == 0
        with pytest.raises(HeapError):
            guest.from_guest(raw)
    with pytest.raises(JsError) as other:
        guest.call("__wbindgen_rethrow", guest.to_guest("plain"))
    assert other.value.value == "plain" and str(other.value) == "plain"


def test_object_refs_only_on_the_heap(guest: Guest) -> None:
    drop, clone = "__wbindgen_object_drop_ref", "__wbindgen_object_clone_ref"
    if guest.store == "externref":
        assert guest.resolver(drop) == guest.resolver(clone) == "policy:trap"
        with pytest.raises(UnresolvedImport, match=clone):
            guest.call(clone, 0)
        return
    assert guest.resolver(drop) == guest.resolver(clone) == "intrinsic"
    original = guest.to_guest(["x"])
    copy = guest.call(clone, original)
    assert copy != original and guest.from_guest(copy) is guest.from_guest(original)
    guest.call(drop, original)
    assert guest.from_guest(copy) == ["x"]
    assert guest.ctx.values.live_count() == 1
    with pytest.raises(HeapError):
        guest.call(drop, original)
    guest.call(drop, guest.to_guest(None))  # a constant: ignored
    assert guest.ctx.values.live_count() == 1


def test_describe_appends_words(guest: Guest) -> None:
    for word in (5, -1, 0):
        assert guest.call("__wbindgen_describe", word) is None
    assert guest.ctx.describe_words == [5, 0xFFFFFFFF, 0]


def test_signatures_that_do_not_fit_the_shape_fall_to_the_policy(guest: Guest) -> None:
    assert guest.resolver("__wbindgen_string_new", BAD) == "policy:trap"
    assert guest.resolver("__wbindgen_boolean_get", BAD) == "policy:trap"
    # (i32) -> (i32) is is_null's heap form: resolved on the heap, not on the externref store
    expected = "intrinsic" if guest.store == "heap" else "policy:trap"
    assert guest.resolver("__wbindgen_is_null", BAD) == expected
    with pytest.raises(UnresolvedImport, match=r"bad_bg\.js\.__wbindgen_string_new"):
        guest.call("__wbindgen_string_new", 0, module=BAD)


def test_intrinsics_are_answered_only_in_wasm_bindgens_namespaces(guest: Guest) -> None:
    assert guest.resolver("__wbindgen_throw") == "intrinsic"
    assert guest.resolver("__wbindgen_throw", "env") == "policy:trap"


def test_unfit_signature_is_refused_under_the_error_policy() -> None:
    with pytest.raises(UnresolvedImport) as info:
        Guest("heap", chain=[IntrinsicResolver(), MissingPolicy("error")])
    assert info.value.imports == [
        (BAD, "__wbindgen_string_new", "(i32) -> (i32)"),
        (BAD, "__wbindgen_boolean_get", "(i32) -> (f64)"),
        ("env", "__wbindgen_throw", "(i32, i32) -> ()"),
    ]


def test_known_intrinsics_lists_both_forms() -> None:
    known = known_intrinsics()
    assert ("__wbindgen_string_new", "(i32, i32) -> (i32)") in known
    assert ("__wbindgen_string_new", "(i32, i32) -> (externref)") in known
    assert ("__wbindgen_is_null", "(i32) -> (i32)") in known
    assert ("__wbindgen_is_null", "(externref) -> (i32)") in known
    assert ("__wbindgen_number_get", "(i32, externref) -> ()") in known
    assert ("__wbindgen_throw", "(i32, i32) -> ()") in known
    assert ("__wbindgen_object_drop_ref", "(i32) -> ()") in known  # heap only
    assert ("__wbindgen_init_externref_table", "() -> ()") in known  # externref only
    assert not any(name == "__wbindgen_object_clone_ref" and "externref" in sig for name, sig in known)
    assert all(isinstance(source, str) and source for source in known.values())


# -- the linker: catch semantics ------------------------------------------------


def catching_guest(store: str, handler: Any, signature: FuncType, **options: Any) -> Guest:
    imports = Imports()
    imports.register("env", "risky", handler, caller=False, catch=True)
    imports.register("env", "plain", handler, caller=False)
    return Guest(
        store,
        chain=[imports, IntrinsicResolver(), MissingPolicy("trap")],
        imports=[("env", "risky", signature), ("env", "plain", signature)],
        **options,
    )


@pytest.mark.parametrize("store", STORES)
def test_catch_import_stores_the_error_and_returns_zeros(store: str) -> None:
    def handler(x: int) -> int:
        if x < 0:
            raise ValueError("negative")
        return x * 2

    guest = catching_guest(store, handler, FuncType((I,), (I,)))
    assert guest.call("risky", 4, module="env") == 8
    assert guest.engine.exn_stored == []
    assert guest.call("risky", -1, module="env") == 0
    (index,) = guest.engine.exn_stored
    assert guest.ctx.values.take(index) == JsErrorValue("negative", "ValueError")
    with pytest.raises(ValueError):  # not a catch import: the exception propagates
        guest.call("plain", -1, module="env")
    assert len(guest.engine.exn_stored) == 1


@pytest.mark.parametrize("store", STORES)
def test_catch_import_stores_a_thrown_js_value(store: str) -> None:
    def handler() -> tuple[int, float]:
        raise JsError("custom", value={"code": 7})

    guest = catching_guest(store, handler, FuncType((), (I, "f64")))
    assert guest.call("risky", module="env") == (0, 0.0)
    (index,) = guest.engine.exn_stored
    assert guest.ctx.values.take(index) == {"code": 7}


def test_catch_import_without_exn_store_is_an_error() -> None:
    def handler() -> None:
        raise ValueError("x")

    guest = catching_guest("heap", handler, FuncType((), ()), omit=("__wbindgen_exn_store",))
    with pytest.raises(RealmWasmerError, match="exports no exn_store"):
        guest.call("risky", module="env")


# -- the call guard: last import, poisoning -------------------------------------


def guarded(store: str = "heap") -> Guest:
    imports = Imports()

    @imports.handler("env", "boom", caller=False)
    def boom() -> None:
        raise ValueError("host failed")

    @imports.handler("env", "ok", caller=False)
    def ok() -> int:
        return 1

    guest = Guest(
        store,
        chain=[imports, IntrinsicResolver(), MissingPolicy("trap")],
        imports=[("env", "boom", FuncType((), ())), ("env", "ok", FuncType((), (I,)))],
        exports={name: FuncType((), (I,)) for name in ("run", "safe", "throws", "nothing")},
    )
    engine = guest.engine

    def run() -> int:
        engine.call_import("env", "ok")
        engine.call_import("env", "boom")
        return 0

    def throws() -> int:
        ptr, length = guest.string("guest panicked")
        engine.call_import("wbg", "__wbindgen_throw", ptr, length)
        return 0

    engine.export("run", run)
    engine.export("safe", lambda: engine.call_import("env", "ok"))
    engine.export("throws", throws)
    engine.export("nothing", lambda: 3)
    return guest


def test_host_exception_through_an_export_poisons() -> None:
    guest = guarded()
    calls = guest.ctx.calls
    with pytest.raises(HostError) as info:
        guest.ctx.call("run")
    error = info.value
    assert error.import_name == "env.boom" and error.export == "run"
    assert isinstance(error.__cause__, ValueError)
    assert calls.last_import == "env.boom"
    assert calls.poisoned_by is error
    assert calls.import_calls == {"env.ok": 1, "env.boom": 1}
    with pytest.raises(PoisonedInstance, match="Call reset"):
        guest.ctx.call("nothing")


def test_js_error_thrown_by_the_guest_does_not_poison() -> None:
    guest = guarded()
    with pytest.raises(JsError, match="guest panicked"):
        guest.ctx.call("throws")
    assert guest.ctx.calls.poisoned_by is None
    assert guest.ctx.calls.last_import == "wbg.__wbindgen_throw"
    assert guest.ctx.call("safe") == 1
    assert guest.ctx.calls.last_import == "env.ok"
    assert guest.ctx.call("nothing") == 3
    assert guest.ctx.calls.last_import is None  # reset at the next outermost call


def test_trap_and_panic_poison() -> None:
    guest = guarded()
    guest.ctx.call("safe")
    guest.engine.trap("nothing")
    with pytest.raises(GuestTrap) as trap:
        guest.ctx.call("nothing")
    assert (trap.value.export, trap.value.message, trap.value.last_import) == ("nothing", "unreachable", None)
    assert guest.ctx.calls.poisoned_by is trap.value

    guest = guarded()
    guest.engine.panic("safe", "bad externref")
    with pytest.raises(EnginePanic, match="bad externref") as panic:
        guest.ctx.call("safe")
    assert guest.ctx.calls.poisoned_by is panic.value
    with pytest.raises(PoisonedInstance):
        guest.ctx.call("nothing")


def test_trap_names_the_last_import() -> None:
    guest = guarded()
    engine = guest.engine

    def trap_after_import() -> int:
        engine.call_import("env", "ok")
        raise Trap("unreachable", "raw")

    engine.export("run", trap_after_import)
    with pytest.raises(GuestTrap, match=r"last import called by the guest: env\.ok"):
        guest.ctx.call("run")


def test_heap_imports_linked_in_one_frame_keep_the_guard() -> None:
    """drop_ref, clone_ref and string_new are linked as their guarded one-frame forms
    (host/guarded.py): counted, named as the last import, and a failure among them poisons
    naming the import, as the wrapper guard does."""
    guest = guarded()
    engine, heap = guest.engine, guest.ctx.values
    assert isinstance(heap, JsHeap)
    for name in ("__wbindgen_object_drop_ref", "__wbindgen_object_clone_ref", "__wbindgen_string_new"):
        assert engine.imports[("wbg", name)].func.__qualname__.startswith("factory.<locals>.guarded_"), name
    index = heap.add("x")

    def run() -> int:
        clone = engine.call_import("wbg", "__wbindgen_object_clone_ref", index)
        assert heap.get(clone) == "x"
        engine.call_import("wbg", "__wbindgen_string_new", *guest.string("hé"))
        engine.call_import("wbg", "__wbindgen_object_drop_ref", clone)
        engine.call_import("wbg", "__wbindgen_object_drop_ref", clone)  # twice: HeapError
        return 0

    engine.export("run", run)
    with pytest.raises(HeapError, match="dropped twice"):
        guest.ctx.call("run")
    calls = guest.ctx.calls
    assert calls.last_import == "wbg.__wbindgen_object_drop_ref"
    assert calls.import_calls == {
        "wbg.__wbindgen_object_clone_ref": 1,
        "wbg.__wbindgen_string_new": 1,
        "wbg.__wbindgen_object_drop_ref": 2,
    }
    assert isinstance(calls.poisoned_by, HeapError)
    with pytest.raises(PoisonedInstance):
        guest.ctx.call("nothing")


def test_export_call_checks() -> None:
    guest = guarded()
    with pytest.raises(TypeError, match="takes 0 wasm arguments"):
        guest.ctx.call("nothing", 1)
    with pytest.raises(ExportNotFound, match="did you mean"):
        guest.ctx.call("nothin")
    with pytest.raises(ExportNotFound, match="not a function"):
        guest.ctx.call("memory")
    assert guest.ctx.calls.poisoned_by is None
    assert guest.ctx.call("nothing") == 3
    assert guest.ctx.calls.calls == 1
