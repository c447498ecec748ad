"""Python type hints and signatures of bound members, shared with the stub generator.

:func:`python_signature` gives both the runtime signature of a generated
function and its ``.pyi`` text, so that stub and runtime always agree.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Union

import attrs
import numpy as np
import numpy.typing as npt

from . import descriptors as d
from .program import Member, Param
from .shapes import element_dtype, is_js_value, sequence_slice, unclamp


@attrs.frozen
class TypeHint:
    """A Python annotation both as stub text and as a runtime object."""

    text: str
    runtime: Any


INT = TypeHint("int", int)
FLOAT = TypeHint("float", float)
BOOL = TypeHint("bool", bool)
STR = TypeHint("str", str)
BYTES = TypeHint("bytes", bytes)
NONE = TypeHint("None", None)
ANY = TypeHint("Any", Any)
_BYTEARRAY = TypeHint("bytearray", bytearray)
_MEMORYVIEW = TypeHint("memoryview", memoryview)


def _subscript(generic: Any, *args: Any) -> Any:
    return generic[args if len(args) > 1 else args[0]]


def _optional(hint: TypeHint) -> TypeHint:
    return TypeHint(f"Optional[{hint.text}]", _subscript(Optional, hint.runtime))


def _union(*hints: TypeHint) -> TypeHint:
    runtime: Any = _subscript(Union, *(h.runtime for h in hints))
    return TypeHint(f"Union[{', '.join(h.text for h in hints)}]", runtime)


def _ndarray_hint(dtype: np.dtype[Any]) -> TypeHint:
    name = dtype.name
    return TypeHint(f"npt.NDArray[np.{name}]", _subscript(npt.NDArray, getattr(np, name)))


ClassResolver = Callable[[str], Any]


def type_hint(ty: d.Type, role: str, resolve_class: Optional[ClassResolver] = None) -> TypeHint:
    """The Python annotation of ``ty`` as an argument (``role="arg"``) or a
    result (``role="ret"``). ``resolve_class`` maps a class name to its runtime
    class (else the annotation is the name, as a forward reference)."""
    ty = unclamp(ty)
    if isinstance(ty, (d.Int, d.Enum)):
        return INT
    if isinstance(ty, d.Float):
        return FLOAT
    if isinstance(ty, d.Bool):
        return BOOL
    if isinstance(ty, (d.Char, d.Str)):
        return STR
    if isinstance(ty, d.Unit):
        return NONE
    if is_js_value(ty):
        return ANY
    if isinstance(ty, d.RustStruct):
        runtime = resolve_class(ty.name) if resolve_class else ty.name
        return TypeHint(ty.name, runtime)
    if isinstance(ty, d.Option):
        return _optional(type_hint(ty.inner, role, resolve_class))
    if isinstance(ty, d.Result):
        return type_hint(ty.inner, role, resolve_class)
    sliced = sequence_slice(ty)
    if sliced is not None:
        return _slice_hint(*sliced, role)
    if isinstance(ty, (d.Ref, d.RefMut)):
        return type_hint(ty.inner, role, resolve_class)
    return ANY


def _slice_hint(elem: d.Type, mode: str, role: str) -> TypeHint:
    if is_js_value(elem):
        return TypeHint("Sequence[Any]", Sequence[Any]) if role == "arg" else TypeHint("list[Any]", list[Any])
    dtype = element_dtype(elem)
    if dtype is None:
        return ANY
    array = _ndarray_hint(dtype)
    if role == "ret":
        return BYTES if dtype == np.uint8 else array
    if mode == "mut":
        return _union(_BYTEARRAY, _MEMORYVIEW, array) if dtype == np.uint8 else array
    number = FLOAT if dtype.kind == "f" else INT
    sequence = TypeHint(f"Sequence[{number.text}]", _subscript(Sequence, number.runtime))
    if dtype == np.uint8:
        return _union(BYTES, _BYTEARRAY, _MEMORYVIEW, array, sequence)
    return _union(array, sequence)


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


def _has_default_none(params: Sequence[Param]) -> list[bool]:
    """Trailing ``Option`` parameters default to None (as in the TypeScript output)."""
    flags = [False] * len(params)
    for index in range(len(params) - 1, -1, -1):
        if not isinstance(unclamp(params[index].type), d.Option):
            break
        flags[index] = True
    return flags


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
    ret = NONE if member.kind == "constructor" else type_hint(member.ret, "ret", resolve_class)
    return PySignature(receiver, params, ret)
