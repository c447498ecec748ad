"""Result readers: raw wasm results and retptr fields turned into Python values.

A :data:`Reader` reads one value from a sequence of raw fields at an index; a
call whose result is an aggregate goes through :func:`retcall` (an out slot in
guest memory), a scalar result through the expression :func:`direct_expr`.
"""

from __future__ import annotations

import struct
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..errors import InvalidGuestValue, JsResultError
from ..js.values import UNDEFINED, js_error
from . import descriptors as d
from .codegen import Namespace
from .runtime import Context
from .shapes import element_dtype, is_js_value, sequence_slice, unclamp

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


def reader(ty: d.Type, ctx: Context, where: str) -> tuple[int, Reader]:
    """(field count, reader) turning the retptr fields of ``ty`` into Python."""
    ty = unclamp(ty)
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
    if is_js_value(ty):
        return 1, lambda f, i: heap.take(f[i] & 0xFFFFFFFF)
    if isinstance(ty, d.RustStruct):
        wrap = ctx.wrap(ty.name)
        return 1, lambda f, i: wrap(f[i])
    if isinstance(ty, d.Str):
        take_string = abi.take_string
        return 2, lambda f, i: take_string(f[i], f[i + 1])
    sliced = sequence_slice(ty)
    if sliced is not None:
        return 2, _vector_reader(sliced[0], ctx)
    if isinstance(ty, d.Option):
        return _option_reader(ty, ctx, where)
    if isinstance(ty, d.Result):
        count, read = reader(ty.inner, ctx, where)

        def result(f: Sequence[Any], i: int) -> Any:
            if f[i + count + 1]:
                value = heap.take(f[i + count] & 0xFFFFFFFF)
                raise JsResultError(str(js_error(value)), value, where)
            return read(f, i)

        return count + 2, result
    raise d.UnsupportedType(f"cannot return {ty} to Python")


def _option_reader(ty: d.Option, ctx: Context, where: str) -> tuple[int, Reader]:
    inner = unclamp(ty.inner)
    count, read = reader(inner, ctx, where)
    if isinstance(inner, (d.Str, d.Vector, d.RustStruct)):
        return count, lambda f, i: None if f[i] == 0 else read(f, i)
    if d.is_small(inner) or isinstance(inner, d.Enum):
        return 1, lambda f, i: None if (f[i] & 0xFFFFFFFF) == 0xFFFFFF else read(f, i)
    if isinstance(inner, (d.Int, d.Float)):
        return 2, lambda f, i: read(f, i + 1) if f[i] else None
    if is_js_value(inner):
        return 1, lambda f, i: None if (value := read(f, i)) is UNDEFINED else value
    raise d.UnsupportedType(f"cannot read {ty}")


def _vector_reader(elem: d.Type, ctx: Context) -> Reader:
    abi, heap, memory = ctx.abi, ctx.instance.values, ctx.instance.memory
    if is_js_value(elem):

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


def retcall(ctx: Context, export: str, ty: d.Type, where: str) -> Callable[..., Any]:
    """Call an export whose result comes back through a retptr slot and convert it."""
    layout = d.abi_layout(ty)
    fmt, offset = "<", 0
    for at, leaf in layout.leaves:
        fmt += "x" * (at - offset) + _LEAF_FORMAT[leaf]
        offset = at + struct.calcsize("<" + _LEAF_FORMAT[leaf])
    packed = struct.Struct(fmt + "x" * (layout.size - offset))
    unpack, unpack_from = packed.unpack, packed.unpack_from
    size = layout.size
    _, read = reader(ty, ctx, where)
    instance, abi = ctx.instance, ctx.abi
    call, memory_read, out_slot = instance.call, instance.memory.read, abi.out_slot
    if size <= 16 and instance.info.roles.get("malloc"):
        # The hot path: the reusable out-slot, the export's bound caller, the fields
        # read straight from the memoryview the call has just been checked against.
        acquire, release, trusted = abi.acquire_slot, abi.release_slot, instance.memory.trusted
        guest = instance.context.calls.caller(export)

        def retcall(*raws: Any) -> Any:
            slot = acquire()
            try:
                guest(slot, *raws)
                fields = unpack_from(trusted(slot, size), slot)
            finally:
                release()
            return read(fields, 0)

        return retcall
    if size <= 16:

        def retcall_stack(*raws: Any) -> Any:
            with out_slot() as slot:
                call(export, slot, *raws)
                fields = unpack(memory_read(slot, size))
            return read(fields, 0)

        return retcall_stack

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


def inline_retcall(ctx: Context, export: str, ty: d.Type, where: str, g: Namespace, raws: str) -> Optional[list[str]]:
    """:func:`retcall`'s hot path as lines of the generated function (no frame of its
    own): the reusable out-slot, the export's bound caller, the fields unpacked from the
    view the call was checked against, then the reader (a String taken directly).
    None where that path does not apply (no malloc, or a result over 16 bytes)."""
    layout = d.abi_layout(ty)
    instance, abi = ctx.instance, ctx.abi
    if layout.size > 16 or not instance.info.roles.get("malloc"):
        return None
    fmt, offset = "<", 0
    for at, leaf in layout.leaves:
        fmt += "x" * (at - offset) + _LEAF_FORMAT[leaf]
        offset = at + struct.calcsize("<" + _LEAF_FORMAT[leaf])
    unpack_from = struct.Struct(fmt + "x" * (layout.size - offset)).unpack_from
    # Ranges are checked against the memory's last view (GuestMemory.trusted_view) inline;
    # GuestMemory.trusted refreshes it when one lies past its end.
    mem, memory = g.add(instance.memory.trusted, "trusted"), g.add(instance.memory, "memory")
    size = layout.size
    if g.region is not None:
        # In the guarded region (one thread, the owner's): the slot of this depth, no lock.
        lines = g.region.slot_call(export, raws, abi, instance.memory, unpack_from, size)
    else:
        acquire, release = g.add(abi.acquire_slot, "acquire"), g.add(abi.release_slot, "release")
        guest = g.add(instance.context.calls.caller(export), "guest")
        lines = [
            f"slot = {acquire}()",
            "try:",
            f"    {guest}(slot{', ' if raws else ''}{raws})",
            f"    v = {memory}.trusted_view",
            f"    f = {g.add(unpack_from, 'unpack')}(v if slot + {size} <= len(v) else {mem}(slot, {size}), slot)",
            "finally:",
            f"    {release}()",
        ]
    if not isinstance(unclamp(ty), d.Str) or not instance.info.roles.get("free"):
        return [*lines, f"return {g.add(reader(ty, ctx, where)[1], 'read')}(f, 0)"]
    # Abi.take_string inline: decode on the view, free (counted) even when decoding fails.
    return [
        *lines,
        "rp, rn = f",
        "try:",
        "    try:",
        f"        return str((v if rp + rn <= len(v) else {mem}(rp, rn))[rp : rp + rn], 'utf-8')",
        "    except UnicodeDecodeError:",
        f"        return {g.add(instance.memory.string, 'string')}(rp, rn)",
        "finally:",
        "    if rn:",
        f"        {g.add(abi, 'abi')}.crossings += 1",
        *("        " + line for line in _free_lines(ctx, g)),
    ]


def _free_lines(ctx: Context, g: Namespace) -> list[str]:
    """``free(rp, rn, 1)`` at the module's arity: raw in the guarded region, else the bound caller."""
    abi = ctx.abi
    if g.region is None:
        return [f"{g.add(abi.free_caller(), 'free')}(rp, rn, 1)"]
    stage, free = g.region.call(abi.roles["free"] or "")
    return [stage, f"{free}(rp, rn{', 1' if abi.free_arity == 3 else ''})"]


def direct_expr(ty: d.Type, r: str, ctx: Context, g: Namespace, where: str) -> str:
    """A Python expression converting the raw wasm result ``r``."""
    ty = unclamp(ty)
    if isinstance(ty, d.Int):
        return _int_expr(ty, r)
    if isinstance(ty, d.Float):
        return r
    if isinstance(ty, d.Bool):
        return f"{r} != 0"
    _, read = reader(ty, ctx, where)
    return f"{g.add(read, 'read')}(({r},), 0)"
