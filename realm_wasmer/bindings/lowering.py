"""Argument codecs: the generated lines that check one argument and lower it to raw wasm values.

A codec's :meth:`Arg.check` lines run first, for every argument (pure Python,
see :mod:`.convert`); its :meth:`Arg.lower` lines then make the guest
allocations, give the raw values of the call, and may clean up after it.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import attrs
import numpy as np

from ..errors import ArgumentError
from . import descriptors as d
from .codegen import Namespace
from .convert import (
    Converter,
    array_converter,
    as_bool,
    as_char,
    as_float,
    as_int,
    as_list,
    as_utf8,
    range_error,
    type_name,
    writable_converter,
    wrong_type,
)
from .runtime import BoundObject, Context, release_bound
from .shapes import element_dtype, is_js_value, sequence_slice, unclamp


@attrs.define
class Lowered:
    pre: list[str] = attrs.field(factory=list)
    raws: list[str] = attrs.field(factory=list)
    cleanup: list[str] = attrs.field(factory=list)


def _convert(v: str, where: str, g: Namespace, convert: Converter, hint: str) -> list[str]:
    """The check line ``v = convert(v, where)``."""
    return [f"{v} = {g.add(convert, hint)}({v}, {where})"]


class Arg:
    """How one argument is checked (pure Python) and lowered (guest allocations)."""

    rust: str = ""
    #: ``Option<...>``: ``None`` passes the check and lowers to the type's None.
    is_optional: bool = False

    def check(self, v: str, where: str, g: Namespace) -> list[str]:
        raise NotImplementedError

    def lower(self, v: str, g: Namespace) -> Lowered:
        return Lowered(raws=[v])

    def checks(self, v: str, where: str, g: Namespace) -> list[str]:
        """The check lines, skipped for ``None`` when the type is an ``Option``."""
        inner = self.check(v, where, g)
        if self.is_optional and inner:
            return [f"if {v} is not None:", *("    " + line for line in inner)]
        return inner

    def _pass_pair(self, v: str, passer: Callable[[Any], tuple[int, int]], g: Namespace) -> Lowered:
        """A (pointer, length) pair made by ``passer``; ``(0, 0)`` for a None ``Option``."""
        name = g.add(passer, "pass")
        value = f"(0, 0) if {v} is None else {name}({v})" if self.is_optional else f"{name}({v})"
        return Lowered(pre=[f"{v}p, {v}n = {value}"], raws=[f"{v}p", f"{v}n"])


class _IntArg(Arg):
    def __init__(self, ty: d.Int) -> None:
        self.ty = ty
        self.rust = ty.rust

    def check(self, v: str, where: str, g: Namespace) -> list[str]:
        lo, hi = self.ty.bounds
        to_int, err = g.add(as_int, "int"), g.add(range_error, "range")
        return [
            f"if type({v}) is not int: {v} = {to_int}({v}, {where}, {self.rust!r})",
            f"if not {lo} <= {v} <= {hi}: raise {err}({where}, {v}, {self.rust!r}, {lo}, {hi})",
        ]


class _FloatArg(Arg):
    def __init__(self, ty: d.Float) -> None:
        self.rust = str(ty)

    def check(self, v: str, where: str, g: Namespace) -> list[str]:
        return [f"if type({v}) is not float: {v} = {g.add(as_float, 'flt')}({v}, {where}, {self.rust!r})"]


class _BoolArg(Arg):
    rust = "bool"

    def check(self, v: str, where: str, g: Namespace) -> list[str]:
        return [f"if {v} is not True and {v} is not False: {v} = {g.add(as_bool, 'bool')}({v}, {where})"]

    def lower(self, v: str, g: Namespace) -> Lowered:
        return Lowered(raws=[f"(1 if {v} else 0)"])


class _CharArg(Arg):
    rust = "char"

    def check(self, v: str, where: str, g: Namespace) -> list[str]:
        return _convert(v, where, g, as_char, "chr")


class _EnumArg(_IntArg):
    def __init__(self, ty: d.Enum) -> None:
        super().__init__(d.Int(32, False))
        self.rust = str(ty)


class _StrArg(Arg):
    """``&str``/``String``: malloc'd UTF-8 the callee frees (0.2.83 anchors ``&str`` in a Box)."""

    rust = "str"

    def __init__(self, ctx: Context, optional: bool = False) -> None:
        self.ctx = ctx
        self.is_optional = optional

    def check(self, v: str, where: str, g: Namespace) -> list[str]:
        # A plain str is encoded inline; anything else (and a lone surrogate) goes
        # through as_utf8 for its error.
        utf8 = g.add(as_utf8, "utf8")
        return [
            "try:",
            f"    {v} = {v}.encode() if type({v}) is str else {utf8}({v}, {where})",
            "except UnicodeEncodeError:",
            f"    {utf8}({v}, {where})",
        ]

    def lower(self, v: str, g: Namespace) -> Lowered:
        abi = self.ctx.abi
        if self.is_optional or not abi.roles.get("malloc"):
            return self._pass_pair(v, abi.pass_bytes, g)
        # pass_bytes inline: one malloc crossing (counted), the copy on the view that call checked.
        memory = self.ctx.instance.memory
        trusted, mem = g.add(memory.trusted, "trusted"), g.add(memory)
        if g.region is not None:  # the raw malloc at the module's arity, in the guarded region
            stage, malloc = g.region.call(abi.roles["malloc"] or "")
            alloc = [stage, f"{v}p = {malloc}({v}n{', 1' if abi.malloc_arity == 2 else ''}) & 0xFFFFFFFF"]
        else:
            alloc = [f"{v}p = {g.add(abi.malloc_caller(), 'malloc')}({v}n, 1) & 0xFFFFFFFF"]
        return Lowered(
            pre=[
                f"{v}n = len({v})",
                f"{g.add(abi, 'abi')}.crossings += 1",
                *alloc,
                f"v = {mem}.trusted_view",
                f"if {v}p + {v}n > len(v): v = {trusted}({v}p, {v}n)",
                f"v[{v}p : {v}p + {v}n] = {v}",
            ],
            raws=[f"{v}p", f"{v}n"],
        )


class _SliceArg(Arg):
    """``Vec<T>``/``Box<[T]>`` (callee owns), ``&[T]`` (callee frees, as in 0.2.83),
    ``&mut [T]`` (the host copies the slice back, then frees it)."""

    def __init__(self, ctx: Context, elem: d.Type, mode: str, optional: bool = False) -> None:
        dtype = element_dtype(elem)
        assert dtype is not None
        self.ctx, self.dtype, self.mode, self.is_optional = ctx, dtype, mode, optional
        self.rust = str(elem)

    def check(self, v: str, where: str, g: Namespace) -> list[str]:
        make = writable_converter if self.mode == "mut" else array_converter
        return _convert(v, where, g, make(self.dtype, self.rust), "arr")

    def lower(self, v: str, g: Namespace) -> Lowered:
        abi, memory, itemsize = self.ctx.abi, self.ctx.instance.memory, self.dtype.itemsize

        def pass_array(data: Any) -> tuple[int, int]:
            if isinstance(data, bytes):
                return abi.pass_bytes(data, 1)
            ptr = abi.malloc(data.nbytes, itemsize)
            if data.nbytes:
                memory.write(ptr, data.view(np.uint8))
            return ptr, int(data.shape[0])

        lowered = self._pass_pair(v, pass_array, g)
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


class _JsArrayArg(Arg):
    """``Vec<JsValue>``: ``malloc(4n)`` of fresh heap indices; the callee owns both."""

    rust = "Vec<JsValue>"

    def __init__(self, ctx: Context, optional: bool = False) -> None:
        self.ctx, self.is_optional = ctx, optional

    def check(self, v: str, where: str, g: Namespace) -> list[str]:
        return _convert(v, where, g, as_list, "seq")

    def lower(self, v: str, g: Namespace) -> Lowered:
        abi, heap, memory = self.ctx.abi, self.ctx.instance.values, self.ctx.instance.memory

        def pass_values(values: list[Any]) -> tuple[int, int]:
            ptr = abi.malloc(4 * len(values), 4)
            if values:
                memory.set_u32s(ptr, [heap.add(value) for value in values])
            return ptr, len(values)

        return self._pass_pair(v, pass_values, g)


class _JsValueArg(Arg):
    """``JsValue`` (a new heap slot the callee owns) or ``&JsValue`` (the borrow stack)."""

    rust = "JsValue"

    def __init__(self, ctx: Context, borrowed: bool) -> None:
        self.ctx, self.borrowed = ctx, borrowed

    def check(self, v: str, where: str, g: Namespace) -> list[str]:
        return []

    def lower(self, v: str, g: Namespace) -> Lowered:
        heap = self.ctx.instance.values
        if not self.borrowed:
            return Lowered(raws=[f"{g.add(heap.add, 'hadd')}({v})"])
        push, pop = g.add(heap.borrow, "push"), g.add(heap.release_borrowed, "pop")
        return Lowered(pre=[f"{v}i = {push}({v})"], raws=[f"{v}i"], cleanup=[f"{pop}()"])


class _ObjectArg(Arg):
    """A bound class: ``&T``/``&mut T`` lend the pointer; ``T`` hands it over."""

    def __init__(self, ctx: Context, class_name: str, by_value: bool, optional: bool = False) -> None:
        self.ctx, self.class_name, self.by_value, self.is_optional = ctx, class_name, by_value, optional
        self.rust = class_name

    def check(self, v: str, where: str, g: Namespace) -> list[str]:
        ctx, name, optional = self.ctx, self.class_name, self.is_optional

        def as_bound(value: Any, where: str) -> Optional[BoundObject]:
            if value is None and optional:
                return None
            cls = ctx.classes.get(name)
            if cls is None or not isinstance(value, cls):
                other = isinstance(value, BoundObject) and type_name(value) == name
                hint = " from another bind() (each bound module has its own instance)" if other else ""
                raise wrong_type(where, f"a {name} object{hint}", value)
            if value._wbg_closed:
                raise ArgumentError(f"{where} is a {name} object that was already freed")
            return value

        return _convert(v, where, g, as_bound, "obj")

    def lower(self, v: str, g: Namespace) -> Lowered:
        raw = f"{g.add(release_bound, 'rel')}({v})" if self.by_value else f"{v}._wbg_ptr"
        return Lowered(raws=[f"(0 if {v} is None else {raw})" if self.is_optional else raw])


class _OptionArg(Arg):
    """``Option<T>`` of a number (``(is_some, value)``) or of a small type (the 0xFFFFFF niche)."""

    is_optional = True

    def __init__(self, inner: Arg, niche: bool, zero: str = "0") -> None:
        self.inner, self.niche, self.zero = inner, niche, zero
        self.rust = f"Option<{inner.rust}>"

    def check(self, v: str, where: str, g: Namespace) -> list[str]:
        return self.inner.check(v, where, g)

    def lower(self, v: str, g: Namespace) -> Lowered:
        (raw,) = self.inner.lower(v, g).raws
        if self.niche:
            return Lowered(raws=[f"(16777215 if {v} is None else {raw})"])
        return Lowered(raws=[f"(0 if {v} is None else 1)", f"({self.zero} if {v} is None else {raw})"])


def _pointer_codec(ty: d.Type, ctx: Context, optional: bool) -> Optional[Arg]:
    """The codec of a string, object or slice argument (``ty`` unclamped), also
    as the inner type of an ``Option`` (then ``&mut [T]`` is not accepted, and
    ``Vec<JsValue>`` may be borrowed); None for any other type."""
    if isinstance(ty, d.Str) or (isinstance(ty, d.Ref) and isinstance(ty.inner, d.Str)):
        return _StrArg(ctx, optional=optional)
    if isinstance(ty, d.RustStruct):
        return _ObjectArg(ctx, ty.name, by_value=True, optional=optional)
    if isinstance(ty, (d.Ref, d.RefMut)) and isinstance(ty.inner, d.RustStruct):
        return _ObjectArg(ctx, ty.inner.name, by_value=False, optional=optional)
    sliced = sequence_slice(ty)
    if sliced is not None and not (optional and sliced[1] == "mut"):
        elem, mode = sliced
        if is_js_value(elem) and (optional or mode == "owned"):
            return _JsArrayArg(ctx, optional=optional)
        if element_dtype(elem) is not None:
            return _SliceArg(ctx, elem, mode, optional=optional)
    return None


def arg_codec(ty: d.Type, ctx: Context) -> Arg:
    """The codec of an argument of type ``ty``; raises UnsupportedType when there is none."""
    ty = unclamp(ty)
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
    if is_js_value(ty):
        return _JsValueArg(ctx, borrowed=False)
    if isinstance(ty, (d.Ref, d.RefMut)) and is_js_value(ty.inner):
        return _JsValueArg(ctx, borrowed=True)
    codec = _pointer_codec(ty, ctx, optional=False)
    if codec is not None:
        return codec
    if isinstance(ty, d.Option):
        inner = unclamp(ty.inner)
        codec = _pointer_codec(inner, ctx, optional=True)
        if codec is not None:
            return codec
        if d.is_small(inner) or isinstance(inner, d.Enum):
            return _OptionArg(arg_codec(inner, ctx), niche=True)
        if isinstance(inner, (d.Int, d.Float)):
            return _OptionArg(arg_codec(inner, ctx), niche=False, zero="0.0" if isinstance(inner, d.Float) else "0")
    raise d.UnsupportedType(f"cannot pass {ty} from Python")
