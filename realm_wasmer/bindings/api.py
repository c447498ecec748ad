"""Typed Python bindings, generated from a module's own descriptors.

``bind(module_or_path, engine=..., imports=...)`` loads a raw wasm-bindgen
module, runs its ``__wbindgen_describe_*`` exports, decodes its
``__wasm_bindgen_unstable`` program, and returns a :class:`BoundModule`: one
Python class per exported struct and one function per free function, named as
in JS (``loadModel``) with a snake_case alias (``load_model``)::

    m = realm_wasmer.bind("wasm/realm.wasm", imports=imports)
    realm = m.Realm()
    realm.loadModel(gguf_bytes)
    text = realm.generate("hello")

How values cross (wasm-bindgen 0.2.83 ABI):

* integers are range-checked for their Rust type (:class:`ArgumentRangeError`),
  floats and bools are type-checked, ``char`` is a one-character ``str``;
* ``&str``/``String`` are UTF-8 encoded into a fresh guest allocation the
  callee frees; lone surrogates are refused;
* ``&[T]``/``Vec<T>`` accept numpy arrays of the element dtype, sequences, and
  for ``u8`` also ``bytes``/``bytearray``/``memoryview``; ``&mut [T]`` is copied
  back into the (writable) argument after the call; returned vectors are numpy
  arrays of the element dtype, ``bytes`` for ``u8``;
* ``Option<T>`` is ``T`` or ``None``; ``Result<T, E>`` returns ``T`` or raises
  :class:`JsResultError` (a :class:`~realm_wasmer.errors.JsError`);
* ``JsValue`` is any Python value, kept in the instance's JS heap;
* class arguments are bound objects of the same module (``&T``/``&mut T`` lend
  the pointer, ``T`` by value hands it over and closes the handle); classes
  returned by value come back as new bound objects owning their pointer.

Every argument is checked before anything reaches the guest: a wrong count,
type or range raises :class:`ArgumentError` (a ``TypeError``) naming the
parameter, and no guest call is made. Each bound callable is compiled from
generated Python source, so its overhead over a raw ``Instance.call`` stays small
(see ``benchmarks/bench_bindings.py``).

This module is the public face of the bindings; the work is done by one module
per concept: :mod:`.naming` (Python names of JS names), :mod:`.hints` (type
hints and signatures), :mod:`.convert` (argument checks), :mod:`.lowering`
(argument codecs), :mod:`.lifting` (result readers), :mod:`.generate` (the
generated function of each member), :mod:`.runtime` (:class:`BoundObject`,
:class:`BoundModule`), :mod:`.assemble` (the bound module put together) and
:mod:`.bind` (the entry points).
"""

from __future__ import annotations

from ..errors import ArgumentError, ArgumentRangeError, BindingError, JsResultError
from .bind import bind, describe_api
from .bind import bind_instance as bind_instance
from .bind import describe_instance as describe_instance
from .hints import ClassResolver as ClassResolver
from .hints import PyParam as PyParam
from .hints import PySignature, TypeHint, python_signature
from .hints import type_hint as type_hint
from .naming import member_names as member_names
from .naming import snake_case
from .runtime import BoundModule, BoundObject
from .shapes import element_dtype as element_dtype

__all__ = [
    "ArgumentError",
    "ArgumentRangeError",
    "BindingError",
    "BoundModule",
    "BoundObject",
    "JsResultError",
    "PySignature",
    "TypeHint",
    "bind",
    "describe_api",
    "python_signature",
    "snake_case",
]
