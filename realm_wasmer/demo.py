"""``realm-wasmer demo``: the bundled Realm module, constructed the right way.

The upstream host called ``realm_new``, whose signature is ``(i32) -> ()``, as
if it were an in-place constructor, and died with "out of bounds memory
access". This demo shows what the signature really means: the callee allocates
the Realm itself and writes three words, ``[object pointer, error index,
is_err]``, into a slot the caller provides. Then it makes the constructor fail,
loads a GGUF model made on the spot, and generates text through a Python
``env`` handler.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any, Callable, Optional

from . import engines
from .errors import JsError
from .host.resolver import Caller, Imports
from .instance import load

BUNDLED = Path(__file__).resolve().parents[1] / "wasm" / "realm.wasm"


def bundled_module() -> Path:
    if not BUNDLED.is_file():
        from .errors import BundledModuleMissing

        raise BundledModuleMissing(
            f"the bundled Realm module is not at {BUNDLED} (it ships with the source checkout); "
            "pass --module PATH"
        )
    return BUNDLED


def tiny_gguf(vocab: list[str], name: str = "tiny-realm", arch: str = "llama") -> bytes:
    """A small, valid GGUF v3 file written by llama.cpp's own ``gguf`` package."""
    import os
    import tempfile

    import gguf
    import numpy as np

    fd, path = tempfile.mkstemp(suffix=".gguf")
    os.close(fd)
    try:
        writer = gguf.GGUFWriter(path, arch)
        writer.add_name(name)
        writer.add_context_length(256)
        writer.add_embedding_length(16)
        writer.add_block_count(2)
        writer.add_head_count(2)
        writer.add_token_list(vocab)
        writer.add_tensor("token_embd.weight", np.zeros((len(vocab), 16), dtype=np.float32))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        return Path(path).read_bytes()
    finally:
        os.unlink(path)


class EchoModel:
    """The host side of the Realm's ``env`` imports: keeps model bytes, and
    "computes" the next token by walking the vocabulary (a stand-in for a real
    forward pass, which upstream also runs on the host)."""

    def __init__(self, stop_after: int = 4) -> None:
        self.models: dict[int, bytes] = {}
        self.stop_after = stop_after
        self.calls = 0

    def imports(self) -> Imports:
        imports = Imports()
        imports.register("env", "realm_store_model", self.store_model)
        imports.register("env", "realm_next_token", self.next_token)
        return imports

    def store_model(self, caller: Caller, ptr: int, length: int, model_id: int) -> int:
        self.models[model_id] = caller.memory.read(ptr, length)
        return 0

    def next_token(self, caller: Caller, model_id: int, tokens_ptr: int, tokens_len: int) -> int:
        self.calls += 1
        tokens = caller.memory.array(tokens_ptr, tokens_len, "<u4")
        if self.calls > self.stop_after:
            self.calls = 0
            return -1
        return int(tokens[-1]) % 4 + 1 if tokens_len else 1


def run_demo(engine: str = engines.DEFAULT, module: Optional[str] = None, out: Callable[[str], None] = print) -> int:
    path = Path(module) if module else bundled_module()
    out("realm_wasmer demo")
    out("engines:")
    for availability in engines.availability():
        out(f"  {availability}")
    model = EchoModel()
    instance = load(path, engine=engine, imports=model.imports())
    info = instance.info
    realm_class = info.class_info("Realm")
    ctor = realm_class.constructor
    assert ctor is not None
    out(f"\nmodule {path.name}: {info.flavour} wasm-bindgen output (schema {info.schema_version}) on {engine}")
    out(f"  Realm constructor {ctor.export} {ctor.signature}: pattern {ctor.pattern} (out-pointer)")
    out("  the callee allocates the Realm and writes [object_ptr, error, is_err] into a slot we provide\n")

    out("1. construct Realm through the out-pointer constructor")
    realm = instance.construct("Realm", explain=lambda line: out(f"   {line}"))
    cell = realm.ptr
    out(f"   -> {realm}; borrow flag at cell+0 = {instance.memory.u32(cell)}")

    out("\n2. make the constructor fail: Realm.withConfig('{\"bogus\": 1}')")
    ptr, length = instance.abi.pass_string('{"bogus": 1}')  # the callee frees it
    obj_ptr, err, is_err = instance.call_retptr("realm_withConfig", ptr, length, words=3)
    out(f"   out-slot words: object_ptr={obj_ptr:#x}, error={err}, is_err={is_err}")
    message = instance.heap.take(err)
    out(f"   error value (JS heap index {err}): {message!r}")

    out("\n3. loadModel(gguf) and generate('hello')")
    vocab = ["<unk>", "hello", "world", "realm", "!"]
    data = tiny_gguf(vocab)
    ptr, length = instance.abi.pass_bytes(data)
    err, is_err = instance.call_retptr("realm_loadModel", cell, ptr, length, words=2)
    if is_err:
        raise JsError(str(instance.heap.take(err)))
    out(f"   loaded {len(data)} GGUF bytes; host now stores model ids {sorted(model.models)}")
    info_ptr, info_len = instance.call_retptr("realm_modelInfo", cell, words=2)
    out(f"   modelInfo: {json.loads(instance.abi.take_string(info_ptr, info_len))}")
    ptr, length = instance.abi.pass_string("hello")
    text_ptr, text_len, err, is_err = instance.call_retptr("realm_generate", cell, ptr, length, words=4)
    if is_err:
        raise JsError(str(instance.heap.take(err)))
    out(f"   generate('hello') -> {instance.abi.take_string(text_ptr, text_len)!r}")

    realm.close()
    out(f"\n4. freed: {realm}; stats {instance.stats()}")
    for level, text in instance.console_messages:
        out(f"   console.{level}: {text}")

    from .bindings.api import bind

    out("\n5. the same through typed bindings decoded from the module itself: realm_wasmer.bind()")
    bound = bind(path, engine=engine, imports=EchoModel().imports())
    out(f"   {bound}")
    bound_realm: Any = bound.classes["Realm"]  # members are generated from the descriptors at run time
    out(f"   Realm.generate{inspect.signature(bound_realm.generate)}")
    with bound_realm() as typed:
        typed.loadModel(data)
        text = typed.generate("hello")
        out(f"   realm = m.Realm(); realm.loadModel(gguf); realm.generate('hello') -> {text!r}")
    return 0
