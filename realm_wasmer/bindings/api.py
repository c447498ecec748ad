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
"""

from __future__ import annotations

import enum
import inspect
import itertools
import logging
import operator
import re
import struct
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping, Optional, Sequence, TypeVar, Union

import attrs
import numpy as np
import numpy.typing as npt

from .. import engines
from ..cache import ArtifactCache
from ..errors import (
    ArgumentError,
    ArgumentRangeError,
    BindingError,
    InvalidGuestValue,
    JsResultError,
    RealmWasmerError,
)
from ..host.resolver import Imports
from ..instance import CompiledModule, Instance, Object, Source, load
from ..js.values import UNDEFINED, js_error
from ..spec import LoadSpec
from . import descriptors as d
from .codegen import compile_function
from .descriptors import UnsupportedSchema
from .program import Api, ApiClass, Member, Param, Property, build_api, python_identifier, read_programs

log = logging.getLogger("realm_wasmer.bindings")

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

_T = TypeVar("_T", bound="BoundObject")


# ---------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------


def snake_case(name: str) -> str:
    """``loadModel`` -> ``load_model``, ``topP`` -> ``top_p``, ``HTMLParser`` -> ``html_parser``."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return name.lower()


def member_names(js_name: str) -> list[str]:
    """The Python attribute names of a JS name: the name itself (made a valid
    identifier if needed) and its snake_case alias when that differs."""
    primary = python_identifier(js_name)
    names = [primary]
    alias = python_identifier(snake_case(js_name))
    if alias != primary:
        names.append(alias)
    return names


# ---------------------------------------------------------------------------
# Type hints (shared with the stub generator)
# ---------------------------------------------------------------------------


@attrs.frozen
class TypeHint:
    """A Python annotation both as stub text and as a runtime object."""

    text: str
    runtime: Any


_INT = TypeHint("int", int)
_FLOAT = TypeHint("float", float)
_BOOL = TypeHint("bool", bool)
_STR = TypeHint("str", str)
_BYTES = TypeHint("bytes", bytes)
_NONE = TypeHint("None", None)
_ANY = TypeHint("Any", Any)


def _optional(hint: TypeHint) -> TypeHint:
    return TypeHint(f"Optional[{hint.text}]", _subscript(Optional, hint.runtime))


def _union(*hints: TypeHint) -> TypeHint:
    runtime: Any = _subscript(Union, *(h.runtime for h in hints))
    return TypeHint(f"Union[{', '.join(h.text for h in hints)}]", runtime)


def _unclamp(ty: d.Type) -> d.Type:
    return ty.inner if isinstance(ty, d.Clamped) else ty


def element_dtype(ty: d.Type) -> Optional[np.dtype[Any]]:
    """The numpy dtype of a numeric element type (little-endian), else None."""
    ty = _unclamp(ty)
    if isinstance(ty, d.Int) and ty.bits <= 64 and not ty.as_f64:
        return np.dtype(f"<{'i' if ty.signed else 'u'}{ty.bits // 8}")
    if isinstance(ty, d.Float):
        return np.dtype(f"<f{ty.bits // 8}")
    return None


def _subscript(generic: Any, *args: Any) -> Any:
    return generic[args if len(args) > 1 else args[0]]


def _ndarray_hint(dtype: np.dtype[Any]) -> TypeHint:
    name = dtype.name
    return TypeHint(f"npt.NDArray[np.{name}]", _subscript(npt.NDArray, getattr(np, name)))


def _sequence_slice(ty: d.Type) -> Optional[tuple[d.Type, str]]:
    """(element type, mode) of a slice-like type: mode ``owned`` (Vec/Box),
    ``ref`` (``&[T]``) or ``mut`` (``&mut [T]``)."""
    ty = _unclamp(ty)
    if isinstance(ty, d.Vector):
        return _unclamp(ty.inner), "owned"
    if isinstance(ty, d.Slice):
        return _unclamp(ty.inner), "ref"
    if isinstance(ty, d.Ref) and isinstance(_unclamp(ty.inner), d.Slice):
        inner = _unclamp(ty.inner)
        assert isinstance(inner, d.Slice)
        return _unclamp(inner.inner), "ref"
    if isinstance(ty, d.RefMut) and isinstance(_unclamp(ty.inner), d.Slice):
        inner = _unclamp(ty.inner)
        assert isinstance(inner, d.Slice)
        return _unclamp(inner.inner), "mut"
    return None


ClassResolver = Callable[[str], Any]


def type_hint(ty: d.Type, role: str, resolve_class: Optional[ClassResolver] = None) -> TypeHint:
    """The Python annotation of ``ty`` as an argument (``role="arg"``) or a
    result (``role="ret"``). ``resolve_class`` maps a class name to its runtime
    class (else the annotation is the name, as a forward reference)."""
    ty = _unclamp(ty)
    if isinstance(ty, d.Int):
        return _INT
    if isinstance(ty, d.Float):
        return _FLOAT
    if isinstance(ty, d.Bool):
        return _BOOL
    if isinstance(ty, (d.Char, d.Str)):
        return _STR
    if isinstance(ty, d.Unit):
        return _NONE
    if isinstance(ty, (d.Externref, d.NamedExternref)):
        return _ANY
    if isinstance(ty, d.Enum):
        return _INT
    if isinstance(ty, d.RustStruct):
        runtime = resolve_class(ty.name) if resolve_class else ty.name
        return TypeHint(ty.name, runtime)
    if isinstance(ty, d.Option):
        return _optional(type_hint(ty.inner, role, resolve_class))
    if isinstance(ty, d.Result):
        return type_hint(ty.inner, role, resolve_class)
    sliced = _sequence_slice(ty)
    if sliced is not None:
        elem, mode = sliced
        if isinstance(elem, (d.Externref, d.NamedExternref)):
            return TypeHint("Sequence[Any]", Sequence[Any]) if role == "arg" else TypeHint("list[Any]", list[Any])
        dtype = element_dtype(elem)
        if dtype is None:
            return _ANY
        array = _ndarray_hint(dtype)
        if role == "ret":
            return _BYTES if dtype == np.uint8 else array
        number = _FLOAT if dtype.kind == "f" else _INT
        sequence = TypeHint(f"Sequence[{number.text}]", _subscript(Sequence, number.runtime))
        if mode == "mut":
            if dtype == np.uint8:
                return _union(TypeHint("bytearray", bytearray), TypeHint("memoryview", memoryview), array)
            return array
        if dtype == np.uint8:
            return _union(_BYTES, TypeHint("bytearray", bytearray), TypeHint("memoryview", memoryview), array, sequence)
        return _union(array, sequence)
    if isinstance(ty, (d.Ref, d.RefMut)):
        return type_hint(ty.inner, role, resolve_class)
    return _ANY


# ---------------------------------------------------------------------------
# Argument checks (run before anything reaches the guest)
# ---------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    return type(value).__name__


def _as_int(value: Any, where: str, rust: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not hasattr(type(value), "__index__"):
        raise ArgumentError(f"{where} must be an int ({rust}), got {_type_name(value)}")
    return operator.index(value)


def _range_error(where: str, value: int, rust: str, lo: int, hi: int) -> ArgumentRangeError:
    return ArgumentRangeError(f"{where} = {value} is out of range for {rust} ({lo}..={hi})")


def _as_float(value: Any, where: str, rust: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ArgumentError(f"{where} must be a float ({rust}), got {_type_name(value)}")
    return float(value)


def _as_bool(value: Any, where: str) -> bool:
    if isinstance(value, np.bool_):
        return bool(value)
    raise ArgumentError(f"{where} must be a bool, got {_type_name(value)}")


def _as_char(value: Any, where: str) -> int:
    if not isinstance(value, str) or len(value) != 1:
        got = f"a str of length {len(value)}" if isinstance(value, str) else _type_name(value)
        raise ArgumentError(f"{where} must be a single character (char), got {got}")
    code = ord(value)
    if 0xD800 <= code <= 0xDFFF:
        raise ArgumentError(f"{where} is the lone surrogate U+{code:04X}, which is not a Rust char")
    return code


def _as_utf8(value: Any, where: str) -> bytes:
    if not isinstance(value, str):
        raise ArgumentError(f"{where} must be a str, got {_type_name(value)}")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ArgumentError(
            f"{where} contains the lone surrogate U+{ord(value[exc.start]):04X} at index {exc.start}; "
            "Rust strings must be valid UTF-8"
        ) from None


def _check_range(array: npt.NDArray[Any], dtype: np.dtype[Any], where: str) -> None:
    if dtype.kind not in "iu" or not array.size:
        return
    info = np.iinfo(dtype)
    low, high = array.min(), array.max()
    if low < info.min or high > info.max:
        bad = int(np.argmax((array < info.min) | (array > info.max)))
        raise ArgumentRangeError(
            f"{where}[{bad}] = {array[bad]} is out of range for {dtype.name} ({info.min}..={info.max})"
        )


def _array_converter(dtype: np.dtype[Any], rust: str) -> Callable[[Any, str], Any]:
    """A check that turns an argument into a contiguous little-endian array of
    ``dtype`` (or ``bytes`` for u8 input that already is bytes)."""
    is_u8 = dtype == np.uint8
    want = "ints" if dtype.kind in "iu" else "floats"
    expected = f"a sequence or numpy array of {rust}" + (" or a bytes-like object" if is_u8 else "")

    def convert(value: Any, where: str) -> Any:
        if is_u8 and type(value) is bytes:
            return value
        if isinstance(value, (bytes, bytearray, memoryview)):
            if not is_u8 and not isinstance(value, memoryview):
                raise ArgumentError(f"{where} must be {expected}, got {_type_name(value)}")
            view = memoryview(value)
            if is_u8 and view.format in ("B", "b", "c") and view.contiguous:
                return view.cast("B").tobytes() if view.ndim != 1 or view.format != "B" else bytes(view)
            value = np.asarray(view)
        if isinstance(value, np.ndarray):
            array: npt.NDArray[Any] = value
            if array.ndim != 1:
                raise ArgumentError(f"{where} must be one-dimensional, got an array of shape {array.shape}")
            if array.dtype == dtype:
                return np.ascontiguousarray(array)
            if array.dtype.newbyteorder("=") == dtype.newbyteorder("="):
                return np.ascontiguousarray(array.astype(dtype))
            if not np.can_cast(array.dtype, dtype, "same_kind"):
                raise ArgumentError(f"{where} must be {expected}: dtype {array.dtype} does not convert to {dtype.name}")
            _check_range(array, dtype, where)
            return np.ascontiguousarray(array.astype(dtype))
        if isinstance(value, (str, dict)) or not hasattr(value, "__len__"):
            raise ArgumentError(f"{where} must be {expected}, got {_type_name(value)}")
        try:
            array = np.asarray(value)
        except (ValueError, TypeError) as exc:
            raise ArgumentError(f"{where} must be {expected}: {exc}") from None
        if array.size == 0:
            return np.zeros(0, dtype)
        if array.ndim != 1 or array.dtype.kind not in ("iu" if want == "ints" else "iuf"):
            raise ArgumentError(f"{where} must be {expected} ({want}), got elements of type {array.dtype}")
        _check_range(array, dtype, where)
        return np.ascontiguousarray(array.astype(dtype))

    return convert


def _writable_converter(dtype: np.dtype[Any], rust: str) -> Callable[[Any, str], Any]:
    """For ``&mut [T]``: a writable 1-D array of exactly ``dtype`` (or a
    bytearray / writable memoryview for u8), returned as a numpy view of it so
    the result can be copied back."""
    is_u8 = dtype == np.uint8

    def convert(value: Any, where: str) -> Any:
        if is_u8 and isinstance(value, (bytearray, memoryview)):
            view = memoryview(value)
            if view.readonly:
                raise ArgumentError(f"{where} must be writable (&mut [u8]), got a read-only memoryview")
            return np.frombuffer(view.cast("B") if view.format != "B" else view, dtype=np.uint8)
        if (
            isinstance(value, np.ndarray)
            and value.ndim == 1
            and value.dtype == dtype
            and value.flags.c_contiguous
            and value.flags.writeable
        ):
            return value
        kinds = "a bytearray, writable memoryview or " if is_u8 else "a "
        raise ArgumentError(
            f"{where} must be {kinds}writable contiguous numpy array of {dtype.name} (&mut [{rust}]), "
            f"got {_type_name(value)}"
        )

    return convert


# ---------------------------------------------------------------------------
# Code generation
# ---------------------------------------------------------------------------


class _Gen:
    """The namespace of one generated function: helper objects get unique names."""

    def __init__(self) -> None:
        self.ns: dict[str, Any] = {}
        self._n = itertools.count()

    def add(self, obj: Any, hint: str = "h") -> str:
        name = f"_{hint}{next(self._n)}"
        self.ns[name] = obj
        return name


@attrs.define
class _Lowered:
    pre: list[str] = attrs.field(factory=list)
    raws: list[str] = attrs.field(factory=list)
    cleanup: list[str] = attrs.field(factory=list)


class _Arg:
    """How one argument is checked (pure Python) and lowered (guest allocations)."""

    rust: str = ""
    #: ``Option<...>``: ``None`` passes the check and lowers to the type's None.
    is_optional: bool = False

    def check(self, v: str, where: str, g: _Gen) -> list[str]:
        raise NotImplementedError

    def lower(self, v: str, g: _Gen) -> _Lowered:
        return _Lowered(raws=[v])

    def checks(self, v: str, where: str, g: _Gen) -> list[str]:
        """The check lines, skipped for ``None`` when the type is an ``Option``."""
        inner = self.check(v, where, g)
        if self.is_optional and inner:
            return [f"if {v} is not None:", *("    " + line for line in inner)]
        return inner


class _IntArg(_Arg):
    def __init__(self, ty: d.Int) -> None:
        self.ty = ty
        self.rust = ty.rust

    def check(self, v: str, where: str, g: _Gen) -> list[str]:
        lo, hi = self.ty.bounds
        as_int, err = g.add(_as_int, "int"), g.add(_range_error, "range")
        return [
            f"if type({v}) is not int: {v} = {as_int}({v}, {where}, {self.rust!r})",
            f"if not {lo} <= {v} <= {hi}: raise {err}({where}, {v}, {self.rust!r}, {lo}, {hi})",
        ]


class _FloatArg(_Arg):
    def __init__(self, ty: d.Float) -> None:
        self.rust = str(ty)

    def check(self, v: str, where: str, g: _Gen) -> list[str]:
        return [f"if type({v}) is not float: {v} = {g.add(_as_float, 'flt')}({v}, {where}, {self.rust!r})"]


class _BoolArg(_Arg):
    rust = "bool"

    def check(self, v: str, where: str, g: _Gen) -> list[str]:
        return [f"if {v} is not True and {v} is not False: {v} = {g.add(_as_bool, 'bool')}({v}, {where})"]

    def lower(self, v: str, g: _Gen) -> _Lowered:
        return _Lowered(raws=[f"(1 if {v} else 0)"])


class _CharArg(_Arg):
    rust = "char"

    def check(self, v: str, where: str, g: _Gen) -> list[str]:
        return [f"{v} = {g.add(_as_char, 'chr')}({v}, {where})"]


class _EnumArg(_IntArg):
    def __init__(self, ty: d.Enum) -> None:
        super().__init__(d.Int(32, False))
        self.rust = str(ty)


class _StrArg(_Arg):
    """``&str``/``String``: malloc'd UTF-8 the callee frees (0.2.83 anchors ``&str`` in a Box)."""

    rust = "str"

    def __init__(self, ctx: "_Ctx", optional: bool = False) -> None:
        self.ctx = ctx
        self.is_optional = optional

    def check(self, v: str, where: str, g: _Gen) -> list[str]:
        return [f"{v} = {g.add(_as_utf8, 'utf8')}({v}, {where})"]

    def lower(self, v: str, g: _Gen) -> _Lowered:
        pass_bytes = g.add(self.ctx.abi.pass_bytes, "pass")
        value = f"(0, 0) if {v} is None else {pass_bytes}({v})" if self.is_optional else f"{pass_bytes}({v})"
        return _Lowered(pre=[f"{v}p, {v}n = {value}"], raws=[f"{v}p", f"{v}n"])


class _SliceArg(_Arg):
    """``Vec<T>``/``Box<[T]>`` (callee owns), ``&[T]`` (callee frees, as in 0.2.83),
    ``&mut [T]`` (the host copies the slice back, then frees it)."""

    def __init__(self, ctx: "_Ctx", elem: d.Type, mode: str, optional: bool = False) -> None:
        dtype = element_dtype(elem)
        assert dtype is not None
        self.ctx, self.dtype, self.mode, self.is_optional = ctx, dtype, mode, optional
        self.rust = str(elem)

    def check(self, v: str, where: str, g: _Gen) -> list[str]:
        make = _writable_converter if self.mode == "mut" else _array_converter
        return [f"{v} = {g.add(make(self.dtype, self.rust), 'arr')}({v}, {where})"]

    def lower(self, v: str, g: _Gen) -> _Lowered:
        abi, memory, itemsize = self.ctx.abi, self.ctx.instance.memory, self.dtype.itemsize

        def pass_array(data: Any) -> tuple[int, int]:
            if isinstance(data, bytes):
                return abi.pass_bytes(data, 1)
            ptr = abi.malloc(data.nbytes, itemsize)
            if data.nbytes:
                memory.write(ptr, data.view(np.uint8))
            return ptr, int(data.shape[0])

        passer = g.add(pass_array, "pass")
        value = f"(0, 0) if {v} is None else {passer}({v})" if self.is_optional else f"{passer}({v})"
        lowered = _Lowered(pre=[f"{v}p, {v}n = {value}"], raws=[f"{v}p", f"{v}n"])
        if self.mode == "mut":
            instance, dtype = self.ctx.instance, self.dtype

            def copy_back(target: Any, ptr: int, count: int) -> None:
                if target is None or instance.poisoned:
                    return
                try:
                    target[:] = memory.array(ptr, count, dtype)
                finally:
                    if count:
                        abi.free(ptr, count * itemsize, itemsize)

            lowered.cleanup.append(f"{g.add(copy_back, 'back')}({v}, {v}p, {v}n)")
        return lowered


class _JsArrayArg(_Arg):
    """``Vec<JsValue>``: ``malloc(4n)`` of fresh heap indices; the callee owns both."""

    rust = "Vec<JsValue>"

    def __init__(self, ctx: "_Ctx", optional: bool = False) -> None:
        self.ctx, self.is_optional = ctx, optional

    def check(self, v: str, where: str, g: _Gen) -> list[str]:
        def as_list(value: Any, where: str) -> list[Any]:
            if isinstance(value, (str, bytes, bytearray, dict)) or not isinstance(value, (list, tuple, Sequence)):
                raise ArgumentError(f"{where} must be a list or tuple of values, got {_type_name(value)}")
            return list(value)

        return [f"{v} = {g.add(as_list, 'seq')}({v}, {where})"]

    def lower(self, v: str, g: _Gen) -> _Lowered:
        abi, heap, memory = self.ctx.abi, self.ctx.instance.values, self.ctx.instance.memory

        def pass_values(values: list[Any]) -> tuple[int, int]:
            ptr = abi.malloc(4 * len(values), 4)
            if values:
                memory.set_u32s(ptr, [heap.add(value) for value in values])
            return ptr, len(values)

        passer = g.add(pass_values, "pass")
        value = f"(0, 0) if {v} is None else {passer}({v})" if self.is_optional else f"{passer}({v})"
        return _Lowered(pre=[f"{v}p, {v}n = {value}"], raws=[f"{v}p", f"{v}n"])


class _JsValueArg(_Arg):
    """``JsValue`` (a new heap slot the callee owns) or ``&JsValue`` (the borrow stack)."""

    rust = "JsValue"

    def __init__(self, ctx: "_Ctx", borrowed: bool) -> None:
        self.ctx, self.borrowed = ctx, borrowed

    def check(self, v: str, where: str, g: _Gen) -> list[str]:
        return []

    def lower(self, v: str, g: _Gen) -> _Lowered:
        heap = self.ctx.instance.values
        if not self.borrowed:
            return _Lowered(raws=[f"{g.add(heap.add, 'hadd')}({v})"])
        push, pop = g.add(heap.borrow, "push"), g.add(heap.release_borrowed, "pop")
        return _Lowered(pre=[f"{v}i = {push}({v})"], raws=[f"{v}i"], cleanup=[f"{pop}()"])


class _ObjectArg(_Arg):
    """A bound class: ``&T``/``&mut T`` lend the pointer; ``T`` hands it over."""

    def __init__(self, ctx: "_Ctx", class_name: str, by_value: bool, optional: bool = False) -> None:
        self.ctx, self.class_name, self.by_value, self.is_optional = ctx, class_name, by_value, optional
        self.rust = class_name

    def check(self, v: str, where: str, g: _Gen) -> list[str]:
        ctx, name, optional = self.ctx, self.class_name, self.is_optional

        def as_handle(value: Any, where: str) -> Optional[Object]:
            if value is None and optional:
                return None
            cls = ctx.classes.get(name)
            if cls is None or not isinstance(value, cls):
                other = isinstance(value, BoundObject) and type(value).__name__ == name
                hint = " from another bind() (each bound module has its own instance)" if other else ""
                raise ArgumentError(f"{where} must be a {name} object{hint}, got {_type_name(value)}")
            handle: Object = value._wbg_handle
            if handle.closed:
                raise ArgumentError(f"{where} is a {name} object that was already freed")
            return handle

        return [f"{v} = {g.add(as_handle, 'obj')}({v}, {where})"]

    def lower(self, v: str, g: _Gen) -> _Lowered:
        raw = f"{g.add(_release, 'rel')}({v})" if self.by_value else f"{v}.ptr"
        return _Lowered(raws=[f"(0 if {v} is None else {raw})" if self.is_optional else raw])


class _OptionArg(_Arg):
    """``Option<T>`` of a number (``(is_some, value)``) or of a small type (the 0xFFFFFF niche)."""

    is_optional = True

    def __init__(self, inner: _Arg, niche: bool, zero: str = "0") -> None:
        self.inner, self.niche, self.zero = inner, niche, zero
        self.rust = f"Option<{inner.rust}>"

    def check(self, v: str, where: str, g: _Gen) -> list[str]:
        return self.inner.check(v, where, g)

    def lower(self, v: str, g: _Gen) -> _Lowered:
        (raw,) = self.inner.lower(v, g).raws
        if self.niche:
            return _Lowered(raws=[f"(16777215 if {v} is None else {raw})"])
        return _Lowered(raws=[f"(0 if {v} is None else 1)", f"({self.zero} if {v} is None else {raw})"])


def _release(handle: Object) -> int:
    """Hand an object's pointer to the guest (a by-value argument or receiver):
    the handle is closed without freeing, as the glue's ``__destroy_into_raw``."""
    return handle.release()


# -- results ------------------------------------------------------------------

Reader = Callable[[Sequence[Any], int], Any]


def _int_normalizer(ty: d.Int) -> Callable[[int], int]:
    mask = (1 << ty.bits) - 1
    if ty.signed:
        half = 1 << (ty.bits - 1)
        return lambda raw: ((raw + half) & mask) - half
    return lambda raw: raw & mask


def _int_expr(ty: d.Int, r: str) -> str:
    mask = (1 << ty.bits) - 1
    if ty.signed:
        half = 1 << (ty.bits - 1)
        return f"((({r}) + {half}) & {mask}) - {half}"
    return f"({r}) & {mask}"


def _chr(raw: int) -> str:
    code = raw & 0xFFFFFFFF
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise InvalidGuestValue(f"the guest returned {code:#x}, which is not a valid char")
    return chr(code)


class _Ctx:
    """What generated code needs of one bound module."""

    def __init__(self, instance: Instance, api: Api) -> None:
        self.instance = instance
        self.abi = instance.abi
        self.api = api
        self.classes: dict[str, type[BoundObject]] = {}

    def wrap(self, class_name: str) -> Callable[[int], Any]:
        instance, classes = self.instance, self.classes

        def wrap(ptr: int) -> Any:
            return classes[class_name]._wbg_from_handle(instance.wrap(class_name, ptr))

        return wrap

    def resolve_class(self, name: str) -> Any:
        return self.classes.get(name, name)


def _reader(ty: d.Type, ctx: _Ctx, where: str) -> tuple[int, Reader]:
    """(field count, reader) turning the retptr fields of ``ty`` into Python."""
    ty = _unclamp(ty)
    abi, heap = ctx.abi, ctx.instance.values
    if isinstance(ty, d.Unit):
        return 0, lambda f, i: None
    if isinstance(ty, d.Int):
        norm = _int_normalizer(ty)
        return 1, lambda f, i: norm(f[i])
    if isinstance(ty, d.Float):
        return 1, lambda f, i: float(f[i])
    if isinstance(ty, d.Bool):
        return 1, lambda f, i: f[i] != 0
    if isinstance(ty, d.Char):
        return 1, lambda f, i: _chr(f[i])
    if isinstance(ty, d.Enum):
        return 1, lambda f, i: f[i] & 0xFFFFFFFF
    if isinstance(ty, (d.Externref, d.NamedExternref)):
        return 1, lambda f, i: heap.take(f[i] & 0xFFFFFFFF)
    if isinstance(ty, d.RustStruct):
        wrap = ctx.wrap(ty.name)
        return 1, lambda f, i: wrap(f[i])
    if isinstance(ty, d.Str):
        take_string = abi.take_string
        return 2, lambda f, i: take_string(f[i], f[i + 1])
    sliced = _sequence_slice(ty)
    if sliced is not None:
        return 2, _vector_reader(sliced[0], ctx)
    if isinstance(ty, d.Option):
        inner = _unclamp(ty.inner)
        count, read = _reader(inner, ctx, where)
        if isinstance(inner, (d.Str, d.Vector, d.RustStruct)):
            return count, lambda f, i: None if f[i] == 0 else read(f, i)
        if d.is_small(inner) or isinstance(inner, d.Enum):
            return 1, lambda f, i: None if (f[i] & 0xFFFFFFFF) == 0xFFFFFF else read(f, i)
        if isinstance(inner, (d.Int, d.Float)):
            return 2, lambda f, i: read(f, i + 1) if f[i] else None
        if isinstance(inner, (d.Externref, d.NamedExternref)):
            return 1, lambda f, i: None if (value := read(f, i)) is UNDEFINED else value
        raise d.UnsupportedType(f"cannot read {ty}")
    if isinstance(ty, d.Result):
        count, read = _reader(ty.inner, ctx, where)

        def result(f: Sequence[Any], i: int) -> Any:
            if f[i + count + 1]:
                value = heap.take(f[i + count] & 0xFFFFFFFF)
                raise JsResultError(str(js_error(value)), value, where)
            return read(f, i)

        return count + 2, result
    raise d.UnsupportedType(f"cannot return {ty} to Python")


def _vector_reader(elem: d.Type, ctx: _Ctx) -> Reader:
    abi, heap, memory = ctx.abi, ctx.instance.values, ctx.instance.memory
    if isinstance(elem, (d.Externref, d.NamedExternref)):

        def take_values(f: Sequence[Any], i: int) -> list[Any]:
            ptr, count = f[i] & 0xFFFFFFFF, f[i + 1]
            try:
                return [heap.take(index) for index in memory.array(ptr, count, "<u4").tolist()]
            finally:
                if count:
                    abi.free(ptr, 4 * count, 4)

        return take_values
    dtype = element_dtype(elem)
    if dtype is None:
        raise d.UnsupportedType(f"cannot return Vec<{elem}> to Python")
    if dtype == np.uint8:

        def take_bytes(f: Sequence[Any], i: int) -> bytes:
            ptr, count = f[i] & 0xFFFFFFFF, f[i + 1]
            try:
                return memory.read(ptr, count)
            finally:
                if count:
                    abi.free(ptr, count, 1)

        return take_bytes
    take_vec = abi.take_vec
    return lambda f, i: take_vec(f[i], f[i + 1], dtype)


_LEAF_FORMAT = {"i32": "I", "i64": "q", "f32": "f", "f64": "d"}


def _retcall(ctx: _Ctx, export: str, ty: d.Type, where: str) -> Callable[..., Any]:
    """Call an export whose result comes back through a retptr slot and convert it."""
    layout = d.abi_layout(ty)
    fmt, offset = "<", 0
    for at, leaf in layout.leaves:
        fmt += "x" * (at - offset) + _LEAF_FORMAT[leaf]
        offset = at + struct.calcsize("<" + _LEAF_FORMAT[leaf])
    unpack = struct.Struct(fmt + "x" * (layout.size - offset)).unpack
    size = layout.size
    _, read = _reader(ty, ctx, where)
    instance, abi = ctx.instance, ctx.abi
    call, memory_read, out_slot = instance.call, instance.memory.read, abi.out_slot
    if size <= 16:

        def retcall(*raws: Any) -> Any:
            with out_slot() as slot:
                call(export, slot, *raws)
                fields = unpack(memory_read(slot, size))
            return read(fields, 0)

        return retcall

    def retcall_large(*raws: Any) -> Any:
        slot = abi.malloc(size, 8)
        try:
            call(export, slot, *raws)
            fields = unpack(memory_read(slot, size))
        finally:
            if not instance.poisoned:
                abi.free(slot, size, 8)
        return read(fields, 0)

    return retcall_large


def _direct_expr(ty: d.Type, r: str, ctx: _Ctx, g: _Gen, where: str) -> str:
    """A Python expression converting the raw wasm result ``r``."""
    ty = _unclamp(ty)
    if isinstance(ty, d.Int):
        return _int_expr(ty, r)
    if isinstance(ty, d.Float):
        return r
    if isinstance(ty, d.Bool):
        return f"{r} != 0"
    _, read = _reader(ty, ctx, where)
    return f"{g.add(read, 'read')}(({r},), 0)"


def _arg_codec(ty: d.Type, ctx: _Ctx) -> _Arg:
    ty = _unclamp(ty)
    if isinstance(ty, d.Int):
        return _IntArg(ty)
    if isinstance(ty, d.Float):
        return _FloatArg(ty)
    if isinstance(ty, d.Bool):
        return _BoolArg()
    if isinstance(ty, d.Char):
        return _CharArg()
    if isinstance(ty, d.Enum):
        return _EnumArg(ty)
    if isinstance(ty, d.Str) or (isinstance(ty, d.Ref) and isinstance(ty.inner, d.Str)):
        return _StrArg(ctx)
    if isinstance(ty, (d.Externref, d.NamedExternref)):
        return _JsValueArg(ctx, borrowed=False)
    if isinstance(ty, (d.Ref, d.RefMut)) and isinstance(ty.inner, (d.Externref, d.NamedExternref)):
        return _JsValueArg(ctx, borrowed=True)
    if isinstance(ty, d.RustStruct):
        return _ObjectArg(ctx, ty.name, by_value=True)
    if isinstance(ty, (d.Ref, d.RefMut)) and isinstance(ty.inner, d.RustStruct):
        return _ObjectArg(ctx, ty.inner.name, by_value=False)
    sliced = _sequence_slice(ty)
    if sliced is not None:
        elem, mode = sliced
        if isinstance(elem, (d.Externref, d.NamedExternref)) and mode == "owned":
            return _JsArrayArg(ctx)
        if element_dtype(elem) is not None:
            return _SliceArg(ctx, elem, mode)
    if isinstance(ty, d.Option):
        inner = _unclamp(ty.inner)
        if isinstance(inner, d.Str) or (isinstance(inner, d.Ref) and isinstance(inner.inner, d.Str)):
            return _StrArg(ctx, optional=True)
        if isinstance(inner, d.RustStruct):
            return _ObjectArg(ctx, inner.name, by_value=True, optional=True)
        if isinstance(inner, (d.Ref, d.RefMut)) and isinstance(inner.inner, d.RustStruct):
            return _ObjectArg(ctx, inner.inner.name, by_value=False, optional=True)
        inner_sliced = _sequence_slice(inner)
        if inner_sliced is not None and inner_sliced[1] != "mut":
            elem = inner_sliced[0]
            if isinstance(elem, (d.Externref, d.NamedExternref)):
                return _JsArrayArg(ctx, optional=True)
            if element_dtype(elem) is not None:
                return _SliceArg(ctx, elem, inner_sliced[1], optional=True)
        if d.is_small(inner) or isinstance(inner, d.Enum):
            return _OptionArg(_arg_codec(inner, ctx), niche=True)
        if isinstance(inner, (d.Int, d.Float)):
            return _OptionArg(_arg_codec(inner, ctx), niche=False, zero="0.0" if isinstance(inner, d.Float) else "0")
    raise d.UnsupportedType(f"cannot pass {ty} from Python")


def _has_default_none(params: Sequence[Param]) -> list[bool]:
    """Trailing ``Option`` parameters default to None (as in the TypeScript output)."""
    flags = [False] * len(params)
    for index in range(len(params) - 1, -1, -1):
        if not isinstance(_unclamp(params[index].type), d.Option):
            break
        flags[index] = True
    return flags


@attrs.frozen
class PyParam:
    name: str
    hint: TypeHint
    default_none: bool


@attrs.frozen
class PySignature:
    """The Python signature of a bound member: shared by the generated
    function and the ``.pyi`` stub, so that the two always agree."""

    receiver: bool
    params: tuple[PyParam, ...]
    ret: TypeHint

    def stub_text(self) -> str:
        parts = ["self"] if self.receiver else []
        parts += [f"{p.name}: {p.hint.text}" + (" = None" if p.default_none else "") for p in self.params]
        return f"({', '.join(parts)}) -> {self.ret.text}"


def python_signature(
    member: Member, resolve_class: Optional[ClassResolver] = None, param_names: Optional[list[str]] = None
) -> PySignature:
    """The Python signature of ``member``: ``self`` for methods, constructors and
    instance accessors; setters take ``value``; trailing ``Option`` parameters
    default to None."""
    if param_names is None and member.kind == "setter":
        param_names = ["value"]
    names = param_names or [p.name for p in member.params]
    defaults = _has_default_none(member.params)
    params = tuple(
        PyParam(name, type_hint(p.type, "arg", resolve_class), default)
        for name, p, default in zip(names, member.params, defaults, strict=True)
    )
    receiver = member.receiver is not None or member.kind == "constructor"
    ret = _NONE if member.kind == "constructor" else type_hint(member.ret, "ret", resolve_class)
    return PySignature(receiver, params, ret)


@attrs.frozen
class _Compiled:
    function: Callable[..., Any]
    signature: inspect.Signature


def _compile(member: Member, ctx: _Ctx, qualname: str, *, self_class: Optional[str] = None,
             param_names: Optional[list[str]] = None) -> _Compiled:
    """Generate the Python function for one member."""
    g = _Gen()
    params = list(member.params)
    spec = python_signature(member, ctx.resolve_class, param_names)
    names = [p.name for p in spec.params]
    receiver = spec.receiver
    sig_params: list[inspect.Parameter] = []
    if receiver:
        sig_params.append(inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD))
    for p in spec.params:
        sig_params.append(
            inspect.Parameter(
                p.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=None if p.default_none else inspect.Parameter.empty,
                annotation=p.hint.runtime,
            )
        )
    signature = inspect.Signature(sig_params, return_annotation=spec.ret.runtime)
    vars_ = [f"a{i}" for i in range(len(sig_params))]
    arg_vars = vars_[1:] if receiver else vars_
    lines: list[str] = []
    binder = g.add(_binder(signature, qualname), "bind")
    if vars_:
        lines.append(f"if kwargs or len(args) != {len(vars_)}: args = {binder}(args, kwargs)")
        lines.append(f"{', '.join(vars_)}, = args")
    else:
        lines.append(f"if args or kwargs: {binder}(args, kwargs)")
    if receiver:
        assert self_class is not None
        cls = g.add(ctx.classes[self_class], "cls")
        lines.append(
            f"if type(a0) is not {cls} and not isinstance(a0, {cls}): "
            f"{g.add(_bad_self, 'self')}(a0, {self_class!r}, {qualname!r})"
        )
    codecs = [_arg_codec(p.type, ctx) for p in params]
    for var, name, codec in zip(arg_vars, names, codecs, strict=True):
        where = g.add(_where(member, qualname, name), "w")
        lines.extend(codec.checks(var, where, g))
    # -- from here on the guest is involved --
    raws: list[str] = []
    if member.receiver == "ref":
        lines.append("s = a0._wbg_handle.ptr")
        raws.append("s")
    elif member.receiver == "consume":
        lines.append(f"s = {g.add(_release, 'rel')}(a0._wbg_handle)")
        raws.append("s")
    body: list[str] = []
    indent = ""
    closers: list[list[str]] = []
    for var, codec in zip(arg_vars, codecs, strict=True):
        lowered = codec.lower(var, g)
        body.extend(indent + line for line in lowered.pre)
        raws.extend(lowered.raws)
        if lowered.cleanup:
            body.append(indent + "try:")
            closers.append([indent + "finally:", *(indent + "    " + c for c in lowered.cleanup)])
            indent += "    "
    call = g.add(ctx.instance.call, "call")
    raw_list = ", ".join(raws)
    export = member.export
    if member.kind == "constructor":
        body.append(indent + f"a0._wbg_handle = {g.add(_constructor(ctx, member, qualname), 'ctor')}({raw_list})")
    else:
        layout = d.abi_layout(member.ret)
        if layout.aggregate and layout.leaves:
            body.append(indent + f"return {g.add(_retcall(ctx, export, member.ret, qualname), 'ret')}({raw_list})")
        elif not layout.leaves:
            body.append(indent + f"{call}({export!r}{', ' if raws else ''}{raw_list})")
            body.append(indent + "return None")
        else:
            body.append(indent + f"r = {call}({export!r}{', ' if raws else ''}{raw_list})")
            body.append(indent + f"return {_direct_expr(member.ret, 'r', ctx, g, qualname)}")
    for closer in reversed(closers):
        body.extend(closer)
    lines.extend(body)
    fname = python_identifier(qualname.rsplit(".", 1)[-1])
    source = f"def {fname}(*args, **kwargs):\n" + "".join(f"    {line}\n" for line in lines)
    function = compile_function(source, fname, g.ns, qualname)
    function.__signature__ = signature  # type: ignore[attr-defined]
    function.__qualname__ = qualname
    function.__name__ = qualname.rsplit(".", 1)[-1]
    function.__annotations__ = {
        p.name: p.annotation for p in sig_params if p.annotation is not inspect.Parameter.empty
    } | {"return": signature.return_annotation}
    function.__doc__ = _docstring(member)
    function.__wbg_source__ = source  # type: ignore[attr-defined]
    return _Compiled(function, signature)


def _where(member: Member, qualname: str, name: str) -> str:
    if member.kind == "setter":
        return f"{qualname.rsplit('.', 1)[0]}.{member.property_name or member.js_name} value"
    return f"{qualname}() argument {name!r}"


def _bad_self(value: Any, class_name: str, qualname: str) -> None:
    raise ArgumentError(f"{qualname}() must be called on a {class_name} object, got {_type_name(value)}")


Binder = Callable[[tuple[Any, ...], dict[str, Any]], tuple[Any, ...]]


def _binder(signature: inspect.Signature, qualname: str) -> Binder:
    def bind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise ArgumentError(f"{qualname}(): {exc}") from None
        bound.apply_defaults()
        return tuple(bound.arguments.values())

    return bind


def _constructor(ctx: _Ctx, member: Member, qualname: str) -> Callable[..., Object]:
    """Build an object through the host core's pattern machinery
    (``Instance.construct``). A constructor export that inspection did not
    classify is called here and its pointer wrapped (``Instance.wrap``)."""
    instance, class_name, export = ctx.instance, member.class_name, member.export
    assert class_name is not None
    info = instance.class_info(class_name)
    if any(c.export == export for c in info.constructors):

        def construct(*raws: Any) -> Object:
            return instance.construct(class_name, *raws, export=export)

        return construct
    if d.abi_layout(member.ret).aggregate:
        retcall = _retcall(ctx, export, member.ret, qualname)

        def construct_retptr(*raws: Any) -> Object:
            handle: Object = retcall(*raws)._wbg_handle
            return handle

        return construct_retptr

    def construct_direct(*raws: Any) -> Object:
        return instance.wrap(class_name, int(instance.call(export, *raws)))

    return construct_direct


def _docstring(member: Member) -> str:
    lines = [f"``{member.rust_signature}`` (wasm export ``{member.export}`` {member.signature})"]
    if member.comments:
        lines.append("")
        lines.extend(c.strip() for c in member.comments)
    if isinstance(member.ret, d.Result):
        lines.append("")
        if member.kind == "constructor":
            lines.append("Raises realm_wasmer.JsError when the Rust constructor returns Err.")
        else:
            lines.append("Raises JsResultError (a realm_wasmer.JsError) when the Rust function returns Err.")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Bound objects and the bound module
# ---------------------------------------------------------------------------


class BoundObject:
    """Base of every bound class: a handle that owns one guest object.

    The object is freed by ``close()`` (``free()`` in JS terms), by leaving a
    ``with`` block, or by a finalizer when the handle is dropped; use after
    that raises :class:`~realm_wasmer.errors.UseAfterFree`. The underlying
    :class:`~realm_wasmer.instance.Object` is ``handle``.
    """

    __slots__ = ("_wbg_handle", "__weakref__")
    _wbg_class: ClassVar[str] = ""
    _wbg_scalar_props: ClassVar[tuple[str, ...]] = ()
    _wbg_handle: Object

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise BindingError(
            f"{type(self).__name__} has no #[wasm_bindgen(constructor)]; its objects come from "
            "static methods or functions that return it"
        )

    @classmethod
    def _wbg_from_handle(cls: type[_T], handle: Object) -> _T:
        obj = cls.__new__(cls)
        obj._wbg_handle = handle
        return obj

    @property
    def handle(self) -> Object:
        """The :class:`~realm_wasmer.instance.Object` owning the pointer."""
        return self._wbg_handle

    @property
    def ptr(self) -> int:
        """The guest pointer (raises UseAfterFree once freed)."""
        return self._wbg_handle.ptr

    @property
    def closed(self) -> bool:
        return self._wbg_handle.closed

    def close(self) -> None:
        """Free the guest object (a second call does nothing)."""
        self._wbg_handle.close()

    def free(self) -> None:
        """The JS name of :meth:`close`."""
        self._wbg_handle.close()

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        name = type(self).__name__
        handle = getattr(self, "_wbg_handle", None)
        if handle is None:
            return f"<{name} (not constructed)>"
        if handle.closed:
            return f"<{name} (freed)>"
        parts = [f"ptr={handle.ptr:#x}"]
        if not handle.poisoned:
            try:
                for prop in type(self)._wbg_scalar_props:
                    value = getattr(self, prop)
                    parts.append(f"{prop}={value:.7g}" if isinstance(value, float) else f"{prop}={value!r}")
            except RealmWasmerError:
                parts = parts[:1]
        return f"<{name} {' '.join(parts)}>"


class BoundModule:
    """The namespace :func:`bind` returns: bound classes, functions and enums as
    attributes (JS names, plus snake_case aliases), and

    * ``instance``: the :class:`~realm_wasmer.instance.Instance` they run on;
    * ``api``: the decoded :class:`~realm_wasmer.bindings.program.Api`;
    * ``classes``/``functions``/``enums``: by JS name;
    * ``unbound``: exports that were not bound, with the reason.

    A JS name equal to one of these attribute names shadows it; the values stay
    reachable as ``_wbg_instance`` and ``_wbg_api``.
    """

    def __init__(self, instance: Instance, api: Api, label: str) -> None:
        self._wbg_instance = instance
        self._wbg_api = api
        self._wbg_label = label
        self.instance = instance
        self.api = api
        self.classes: dict[str, type[BoundObject]] = {}
        self.functions: dict[str, Callable[..., Any]] = {}
        self.enums: dict[str, type[enum.IntEnum]] = {}
        self.unbound: dict[str, str] = {u.export: u.reason for u in api.unbound}

    def __repr__(self) -> str:
        classes = ", ".join(self.classes) or "none"
        return (
            f"<bound wasm-bindgen module {self._wbg_label} on {self._wbg_instance.engine_name}: "
            f"classes {classes}; {len(self.functions)} functions; {len(self.unbound)} unbound>"
        )


def _scalar_props(cls: ApiClass) -> tuple[str, ...]:
    return tuple(
        p.name
        for p in cls.properties
        if p.getter is not None and not p.static and isinstance(_unclamp(p.type), (d.Int, d.Float, d.Bool))
    )


def _class_namespace(cls: ApiClass, ctx: _Ctx) -> dict[str, Any]:
    ns: dict[str, Any] = {"__slots__": (), "_wbg_class": cls.name, "_wbg_scalar_props": _scalar_props(cls)}
    doc = [f"The wasm-bindgen class ``{cls.name}`` (free export ``{cls.free_export}``)."]
    doc.extend(c.strip() for c in cls.comments)
    ns["__doc__"] = "\n".join(doc)
    if cls.constructor is not None:
        compiled = _compile(cls.constructor, ctx, f"{cls.name}.__init__", self_class=cls.name)
        ns["__init__"] = compiled.function
    entries: list[tuple[list[str], Any]] = []
    for member in cls.methods:
        function = _compile(member, ctx, f"{cls.name}.{member.js_name}", self_class=cls.name).function
        entries.append((member_names(member.js_name), function))
    for member in cls.statics:
        function = _compile(member, ctx, f"{cls.name}.{member.js_name}").function
        entries.append((member_names(member.js_name), staticmethod(function)))
    for prop in cls.properties:
        entries.extend(_property(prop, cls, ctx))
    _add_names(ns, entries)
    return ns


def _add_names(ns: dict[str, Any], entries: list[tuple[list[str], Any]]) -> None:
    """JS names first, then the snake_case aliases that do not collide with any."""
    for names, value in entries:
        ns.setdefault(names[0], value)
    for names, value in entries:
        for alias in names[1:]:
            ns.setdefault(alias, value)


def _property(prop: Property, cls: ApiClass, ctx: _Ctx) -> list[tuple[list[str], Any]]:
    qual = f"{cls.name}.{prop.name}"
    if prop.static:
        # A class-level (static) accessor becomes a static method: name() / set_name(value).
        out: list[tuple[list[str], Any]] = []
        if prop.getter is not None:
            out.append((member_names(prop.name), staticmethod(_compile(prop.getter, ctx, qual).function)))
        if prop.setter is not None:
            setter = _compile(prop.setter, ctx, f"{cls.name}.set_{prop.name}").function
            out.append((member_names(f"set_{prop.name}"), staticmethod(setter)))
        return out
    fget = _compile(prop.getter, ctx, qual, self_class=cls.name).function if prop.getter else None
    fset = (
        _compile(prop.setter, ctx, qual, self_class=cls.name).function if prop.setter else None
    )
    hint = type_hint(prop.type, "ret", ctx.resolve_class)
    kind = "read/write" if fset else "read-only"
    doc = f"{prop.name}: {prop.type} ({kind} property; Python type {hint.text})"
    return [(member_names(prop.name), property(fget, fset, None, doc))]


def _make_enum(info: Any) -> type[enum.IntEnum]:
    members = [(python_identifier(v.name), v.value) for v in info.variants]
    made = enum.IntEnum(python_identifier(info.name), members)  # type: ignore[misc]
    made.__doc__ = "\n".join(c.strip() for c in info.comments) or f"The wasm-bindgen enum {info.name}."
    return made


_RESERVED = frozenset({"instance", "api", "classes", "functions", "enums", "unbound"})


def _publish(module: BoundModule, entries: list[tuple[list[str], Any]]) -> None:
    names: dict[str, Any] = {}
    _add_names(names, entries)
    for name, value in names.items():
        if name in _RESERVED:
            log.warning("bound name %r shadows BoundModule.%s (still reachable as _wbg_%s)", name, name, name)
        setattr(module, name, value)


def bind_instance(instance: Instance, label: Optional[str] = None) -> BoundModule:
    """Bind an existing instance (see :func:`bind`)."""
    api = describe_instance(instance)
    ctx = _Ctx(instance, api)
    module = BoundModule(instance, api, label or "module")
    #: Bound classes show as ``<stem>.<Class>`` (``realm.Realm`` for realm.wasm) in signatures and help().
    module_name = python_identifier(Path(label).stem) if label else "bound"
    # Classes first (empty), so that signatures and wrappers can refer to each other.
    for cls in api.classes.values():
        ctx.classes[cls.name] = type(cls.name, (BoundObject,), {"__slots__": (), "_wbg_class": cls.name})
    entries: list[tuple[list[str], Any]] = []
    for cls in api.classes.values():
        target = ctx.classes[cls.name]
        for key, value in _class_namespace(cls, ctx).items():
            if key != "__slots__":
                setattr(target, key, value)
        target.__module__ = module_name
        target.__qualname__ = cls.name
        module.classes[cls.name] = target
        entries.append(([python_identifier(cls.name)], target))
    for name, info in api.enums.items():
        module.enums[name] = _make_enum(info)
        entries.append(([python_identifier(name)], module.enums[name]))
    for member in api.functions.values():
        function = _compile(member, ctx, member.js_name).function
        module.functions[member.js_name] = function
        entries.append((member_names(member.js_name), function))
    _publish(module, entries)
    return module


def describe_instance(instance: Instance) -> Api:
    """Read the program, run every descriptor, and link them into an :class:`Api`."""
    programs = read_programs(instance.info.module)
    table = d.code_table_for(programs.schema_version)
    if not table.full:
        raise UnsupportedSchema(
            f"descriptor codes of schema {programs.schema_version} are known (table since {table.since}), "
            "but bindings are generated for schema 0.2.83 only"
        )
    descriptors = d.describe_all(instance, table)
    return build_api(programs, instance.info.module, descriptors)


def describe_api(
    source: Union[Source, CompiledModule], *, engine: str = engines.DEFAULT, cache: Optional[ArtifactCache] = None
) -> Api:
    """The :class:`Api` of a module, decoded from the module alone (its
    descriptors run on ``engine``; application imports are not needed)."""
    instance = load(source, engine=engine, on_missing="trap", start=False, cache=cache)
    return describe_instance(instance)


def _label(source: Any) -> str:
    if isinstance(source, (str, Path)):
        return Path(source).name
    if isinstance(source, LoadSpec):
        return source.label()
    if isinstance(source, Instance):
        return "instance"
    return "module"


def bind(module_or_path: Union[Source, LoadSpec, CompiledModule, Instance], **options: Any) -> BoundModule:
    """Typed bindings of a raw wasm-bindgen module, from its own descriptors.

    ``module_or_path`` is a path, the module's bytes, a
    :class:`~realm_wasmer.spec.LoadSpec`, a
    :class:`~realm_wasmer.instance.CompiledModule`, or an existing
    :class:`~realm_wasmer.instance.Instance` (then no options may be given).
    ``options`` are the :class:`~realm_wasmer.spec.LoadSpec` fields, exactly as
    for :func:`~realm_wasmer.instance.load`: ``imports`` supplies the
    application's host functions (an :class:`~realm_wasmer.host.resolver.Imports`,
    or a mapping ``(namespace, name) -> handler``), ``engine``, ``on_missing``, ``cache``...
    """
    if isinstance(module_or_path, Instance):
        if options:
            raise BindingError(
                f"bind(instance, {', '.join(options)}=...): "
                "an instance's imports and options were fixed when it was created"
            )
        return bind_instance(module_or_path, _label(module_or_path))
    imports = options.get("imports")
    if imports is not None and not isinstance(imports, (Imports, Mapping)):
        raise ArgumentError(f"bind() argument 'imports' must be an Imports or a mapping, got {_type_name(imports)}")
    instance = load(module_or_path, **options)
    return bind_instance(instance, _label(module_or_path))
