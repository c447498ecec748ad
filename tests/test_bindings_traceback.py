"""Generated binding code is registered with linecache: tracebacks show its lines."""

from __future__ import annotations

import inspect
import linecache
import traceback

import pytest

import realm_wasmer as rw
from realm_wasmer.bindings.codegen import compile_function, generated_filename

from .conftest import REALM_WASM, realm_imports


def test_a_traceback_through_a_bound_method_shows_the_generated_line() -> None:
    m = rw.bind(REALM_WASM, imports=realm_imports()[0], engine="wasmer-cranelift")
    realm = m.Realm()
    with pytest.raises(rw.ArgumentError) as info:
        realm.generate(123)
    frames = traceback.extract_tb(info.value.__traceback__)
    generated = [f for f in frames if f.filename.startswith("<realm_wasmer generated Realm.generate")]
    assert generated, [f.filename for f in frames]
    frame = generated[0]
    assert frame.name == "generate"
    # The line text comes from linecache, and it is the generated statement that checked 'prompt'.
    assert frame.line and "a1" in frame.line and "(a1," in frame.line
    assert frame.line in "".join(traceback.format_exception(info.value))
    assert inspect.getsource(m.Realm.generate).startswith("def generate(*args, **kwargs):")
    realm.free()


def test_generated_names_are_unique_and_the_source_is_kept() -> None:
    assert generated_filename("x") != generated_filename("x")
    namespace: dict[str, object] = {}
    function = compile_function("def f(a):\n    return 1 // a\n", "f", namespace, "test.f")
    assert function(1) == 1
    with pytest.raises(ZeroDivisionError) as info:
        function(0)
    last = traceback.extract_tb(info.value.__traceback__)[-1]
    assert last.filename.startswith("<realm_wasmer generated test.f #") and last.line == "return 1 // a"
    assert linecache.getline(last.filename, 2).strip() == "return 1 // a"
