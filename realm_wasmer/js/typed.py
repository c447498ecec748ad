"""``ArrayBuffer``, the typed arrays and ``DataView``, over Python bytes or over wasm memory.

A :class:`MemoryBuffer` stands for ``wasm.memory.buffer``: it never detaches; every access
reads the instance's current memory (so views made before a ``memory.grow`` stay valid,
and a typed array made over the whole buffer tracks its size). Element access goes through
``struct`` on a memoryview, bulk copies through numpy.
"""

from __future__ import annotations

import math
import struct
from typing import Any, Callable, Iterator, Optional

import numpy as np

from ..limits import SLOT_BYTES
from . import model as m
from .model import JSFunction, JsObject
from .values import UNDEFINED

# kind name -> (struct code, itemsize, numpy dtype, is_float, is_bigint)
KINDS: dict[str, tuple[str, int, str, bool, bool]] = {
    "Int8Array": ("b", 1, "<i1", False, False),
    "Uint8Array": ("B", 1, "<u1", False, False),
    "Uint8ClampedArray": ("B", 1, "<u1", False, False),
    "Int16Array": ("h", 2, "<i2", False, False),
    "Uint16Array": ("H", 2, "<u2", False, False),
    "Int32Array": ("i", 4, "<i4", False, False),
    "Uint32Array": ("I", 4, "<u4", False, False),
    "Float32Array": ("f", 4, "<f4", True, False),
    "Float64Array": ("d", 8, "<f8", True, False),
    "BigInt64Array": ("q", 8, "<i8", False, True),
    "BigUint64Array": ("Q", 8, "<u8", False, True),
}
#: kind name -> (struct of one element, itemsize, is_float, is_bigint), built once: a typed array
#: is made on every ``subarray`` and every array passed to wasm.
_LAYOUT: dict[str, tuple[struct.Struct, int, bool, bool]] = {
    kind: (struct.Struct("<" + code), size, is_float, is_big)
    for kind, (code, size, _, is_float, is_big) in KINDS.items()
}
#: numpy dtype -> typed array kind (for values coming in from Python).
KIND_OF_DTYPE = {
    np.dtype("int8"): "Int8Array",
    np.dtype("uint8"): "Uint8Array",
    np.dtype("int16"): "Int16Array",
    np.dtype("uint16"): "Uint16Array",
    np.dtype("int32"): "Int32Array",
    np.dtype("uint32"): "Uint32Array",
    np.dtype("float32"): "Float32Array",
    np.dtype("float64"): "Float64Array",
    np.dtype("int64"): "BigInt64Array",
    np.dtype("uint64"): "BigUint64Array",
    np.dtype("bool"): "Uint8Array",
}


class ArrayBuffer:
    """An ``ArrayBuffer`` holding its own bytes."""

    __slots__ = ("data", "_mv", "__weakref__")
    tracking = False

    def __init__(self, data: Any) -> None:
        """``data``: a bytearray it owns, or a writable byte memoryview it shares (see :func:`shared`)."""
        self.data = data
        self._mv = memoryview(data)

    def np(self) -> Any:
        return np.frombuffer(self.data, dtype=np.uint8)

    def mv(self) -> memoryview:
        return self._mv

    def byte_length(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return f"ArrayBuffer({len(self.data)} bytes)"


class MemoryBuffer:
    """``wasm.memory.buffer`` of one instance (see the module docstring)."""

    __slots__ = ("memory", "_np", "_mv", "__weakref__")
    tracking = True

    def __init__(self, memory: Any) -> None:
        self.memory = memory
        self._np: Any = None
        self._mv = memoryview(b"")

    def np(self) -> Any:
        return self.memory._engine.memory_view()  # GuestMemory.view() without its frame

    def mv(self) -> memoryview:
        view = self.memory._engine.memory_view()
        if view is not self._np:
            self._np = view
            self._mv = memoryview(view)
        return self._mv

    def byte_length(self) -> int:
        return int(self.memory.size)

    def __repr__(self) -> str:
        return "ArrayBuffer(<wasm memory>)"


class TypedArray:
    """A typed array: ``kind`` (``Uint8Array``...), a buffer, a byte offset and a length
    (None: the rest of a wasm memory buffer, tracking its growth)."""

    __slots__ = ("kind", "buffer", "offset", "fixed", "code", "size", "is_float", "is_big", "__weakref__")

    def __init__(self, kind: str, buffer: Any, offset: int = 0, length: Optional[int] = None) -> None:
        self.kind = kind
        self.buffer = buffer
        self.offset = offset
        self.fixed = length
        self.code, self.size, self.is_float, self.is_big = _LAYOUT[kind]

    @property
    def length(self) -> int:
        if self.fixed is not None:
            return self.fixed
        return max(0, (int(self.buffer.byte_length()) - self.offset) // self.size)

    def numpy(self) -> Any:
        """A live numpy view (do not keep it across a call into the guest)."""
        n = self.fixed
        if n is None:
            n = self.length
        start = self.offset
        raw = self.buffer.np()[start : start + n * self.size]
        return raw if self.size == 1 and self.kind != "Int8Array" else raw.view(KINDS[self.kind][2])

    def copy(self) -> Any:
        """A numpy array owning a copy of the elements."""
        return self.numpy().copy()

    def get(self, i: int) -> Any:
        buf = self.buffer  # its current bytes: their length bounds a tracking array
        if buf.tracking:  # MemoryBuffer.mv() inlined where the engine's view has not changed
            mv = buf._mv if buf.memory._engine.memory_view() is buf._np else buf.mv()
        else:
            mv = buf._mv
        n = self.fixed if self.fixed is not None else (len(mv) - self.offset) // self.size
        if i < 0 or i >= n:
            return UNDEFINED
        v = self.code.unpack_from(mv, self.offset + i * self.size)[0]
        if self.is_big:
            return m.BigInt(v)
        if self.is_float:
            return m.num(v) if v == v and v not in (math.inf, -math.inf) else v
        return v

    def set(self, i: int, value: Any) -> None:
        mv = self.buffer.mv()
        n = self.fixed if self.fixed is not None else (len(mv) - self.offset) // self.size
        if i < 0 or i >= n:
            return
        self.code.pack_into(mv, self.offset + i * self.size, self.coerce(value))

    def coerce(self, value: Any) -> Any:
        if self.is_big:
            value = to_bigint(value)
            bits = self.size * 8
            v = int(value) & ((1 << bits) - 1)
            if self.code.format[-1] == "q" and v >= 1 << (bits - 1):
                v -= 1 << bits
            return v
        if self.is_float:
            return float(m.to_number(value))
        n = m.to_number(value)
        if self.kind == "Uint8ClampedArray":
            if n != n:
                return 0
            return int(min(255, max(0, round(n))))
        bits = self.size * 8
        if type(n) is not int:
            if n != n or n in (math.inf, -math.inf):
                return 0
            n = int(n)
        v = n & ((1 << bits) - 1)
        if self.code.format[-1] in "bhiq" and v >= 1 << (bits - 1):
            v -= 1 << bits
        return v

    def write(self, index: int, source: Any) -> None:
        """``set(source, index)``: copy an array-like in at element ``index``."""
        if type(source) is TypedArray and source.kind == self.kind:  # a byte copy (numpy copes with overlap)
            n = source.length
            if index < 0 or index + n > self.length:
                raise m.throw("RangeError", "offset is out of bounds")
            if n:
                start, size, at = self.offset + index * self.size, n * self.size, source.offset
                self.buffer.np()[start : start + size] = source.buffer.np()[at : at + size]
            return
        if isinstance(source, TypedArray):
            values = source.numpy()
            if source.kind != self.kind:
                values = values.astype(KINDS[self.kind][2]) if not self.is_big else values.astype(KINDS[self.kind][2])
            else:
                values = values.copy()
        elif isinstance(source, list):
            values = [self.coerce(v) for v in source]
            values = np.array(values, dtype=KINDS[self.kind][2]) if values else np.zeros(0, KINDS[self.kind][2])
        else:
            items = list(m.iterate(source)) if m.is_object(source) else []
            values = np.array([self.coerce(v) for v in items], dtype=KINDS[self.kind][2])
        n = len(values)
        if index < 0 or index + n > self.length:
            raise m.throw("RangeError", "offset is out of bounds")
        if n:
            self.numpy()[index : index + n] = values

    def __repr__(self) -> str:
        return f"{self.kind}({self.length})"


class DataView:
    __slots__ = ("buffer", "offset", "fixed", "__weakref__")

    def __init__(self, buffer: Any, offset: int = 0, length: Optional[int] = None) -> None:
        self.buffer = buffer
        self.offset = offset
        self.fixed = length

    @property
    def length(self) -> int:
        return self.fixed if self.fixed is not None else self.buffer.byte_length() - self.offset


def _copy_of(source: TypedArray, start: int, end: int) -> TypedArray:
    """A typed array of ``source``'s kind owning a copy of its elements ``[start, end)`` (in
    range): one copy straight out of the buffer's memoryview (wasm memory or an ArrayBuffer)."""
    size = source.size
    first = source.offset + start * size
    buf = source.buffer
    mv = buf.mv() if buf.tracking else buf._mv
    data = bytearray(mv[first : first + max(0, end - start) * size])
    return TypedArray(source.kind, ArrayBuffer(data), 0, len(data) // size)


def new_bytes(data: bytes | bytearray, kind: str = "Uint8Array") -> TypedArray:
    buf = ArrayBuffer(bytearray(data))
    return TypedArray(kind, buf, 0, len(buf.data) // KINDS[kind][1])


def to_bigint(value: Any) -> int:
    """ECMAScript ToBigInt, as a BigInt64Array/BigUint64Array store applies it: a bigint, a boolean
    or a numeric string; a Number (even 5) is a TypeError ``Cannot convert 5 to a BigInt``."""
    t = type(value)
    if t is m.BigInt or t is bool:
        return int(value)
    if t is str:
        try:
            return int(value.strip(m._WS) or "0", 0)
        except ValueError:
            raise m.throw("SyntaxError", f"Cannot convert {value} to a BigInt") from None
    if t in (int, float) or value is None or value is UNDEFINED:
        raise m.throw("TypeError", f"Cannot convert {m.to_string(value)} to a BigInt")
    if isinstance(value, JsObject):
        return to_bigint(m.to_primitive(value, "number"))
    raise m.throw("TypeError", f"Cannot convert {m.describe(value)} to a BigInt")


def shared(value: Any) -> Optional[TypedArray]:
    """A typed array over the memory of a writable Python buffer (bytearray, writable
    memoryview, writable C-contiguous numpy array of a native little-endian dtype), so what JS
    writes into it (a Rust ``&mut [u8]`` the glue copies back) is seen in Python; None when
    ``value`` cannot be shared (read-only, strided, another byte order): it is then copied."""
    if isinstance(value, np.ndarray):
        if not (value.flags.c_contiguous and value.flags.writeable) or value.ndim == 0:
            return None
        dtype = value.dtype
        if dtype.byteorder == ">" or (dtype.byteorder == "=" and not _LITTLE):
            return None
        kind = KIND_OF_DTYPE.get(dtype.newbyteorder("=") if dtype.byteorder not in "=|" else dtype)
        if kind is None:
            return None
        view = memoryview(value.reshape(-1)).cast("B")  # type: ignore[arg-type]
    elif isinstance(value, bytearray):
        kind, view = "Uint8Array", memoryview(value)
    elif isinstance(value, memoryview):
        if value.readonly or not value.c_contiguous:
            return None
        kind, view = "Uint8Array", value.cast("B")
    else:
        return None
    return TypedArray(kind, ArrayBuffer(view), 0, len(view) // KINDS[kind][1])


_LITTLE = bool(np.little_endian)
#: What one element is charged when a typed array is turned into JS values (a Python object slot).
m_SLOT = SLOT_BYTES


def from_numpy(array: Any) -> TypedArray:
    arr = np.ascontiguousarray(array).reshape(-1)
    kind = KIND_OF_DTYPE.get(arr.dtype.newbyteorder("=") if arr.dtype.byteorder not in "=|" else arr.dtype)
    if kind is None:
        raise TypeError(f"no JS typed array for numpy dtype {arr.dtype}")
    little = arr.astype(KINDS[kind][2], copy=False)
    return new_bytes(little.tobytes(), kind)


def install(realm: Any, g: JsObject) -> None:
    """Define ArrayBuffer, the typed array classes and DataView on the global object ``g``."""
    get_int = m.to_integer

    # -- ArrayBuffer -----------------------------------------------------------------------
    buffer_proto = m.new_object(cls="ArrayBuffer")

    charge = realm.charge

    def make_buffer(args: list[Any], nt: Any) -> Any:
        n = get_int(args[0]) if args else 0
        if n < 0:
            raise m.throw("RangeError", "Array buffer allocation failed")
        charge(n, f"new ArrayBuffer({n})")
        return ArrayBuffer(bytearray(n))

    ab = realm.native_class("ArrayBuffer", buffer_proto, make_buffer, g)
    m.PROTO_OF[ArrayBuffer] = buffer_proto
    m.PROTO_OF[MemoryBuffer] = buffer_proto

    @m.method(ab, "isView", 1)
    def _is_view(this: Any, args: list[Any]) -> Any:
        return bool(args) and isinstance(args[0], (TypedArray, DataView))

    def buffer_get(obj: Any, key: Any) -> Any:
        if key == "byteLength":
            return obj.byte_length()
        if key == "detached":
            return False
        if key == "resizable":
            return False
        return m.lookup(buffer_proto, m.to_property_key(key), obj)

    m.EXOTIC_GET[ArrayBuffer] = buffer_get
    m.EXOTIC_GET[MemoryBuffer] = buffer_get

    @m.method(buffer_proto, "slice", 2)
    def _buffer_slice(this: Any, args: list[Any]) -> Any:
        n = this.byte_length()
        start, end = _range(args, n)
        charge(end - start, f"ArrayBuffer.prototype.slice({start}, {end})")
        return ArrayBuffer(bytearray(this.mv()[start:end]))  # one copy

    # -- typed arrays -----------------------------------------------------------------------
    typed_base_proto = m.new_object(cls="TypedArray")
    m.PROTO_OF[TypedArray] = typed_base_proto
    protos: dict[str, JsObject] = {}

    typed_fields: dict[str, Callable[[TypedArray], Any]] = {
        "length": lambda obj: obj.length,
        "byteLength": lambda obj: obj.length * obj.size,
        "byteOffset": lambda obj: obj.offset,
        "buffer": lambda obj: obj.buffer,
        "BYTES_PER_ELEMENT": lambda obj: obj.size,
    }

    lookup, array_index, to_big = m.lookup, m.array_index, m.BigInt

    def typed_get(obj: TypedArray, key: Any) -> Any:
        t = type(key)
        if t is int:  # TypedArray.get inlined: the glue's getInt32Memory0()[retptr / 4 + i]
            buf = obj.buffer
            if buf.tracking:  # MemoryBuffer.mv() inlined where the engine's view has not changed
                mv = buf._mv if buf.memory._engine.memory_view() is buf._np else buf.mv()
            else:
                mv = buf._mv
            n = obj.fixed if obj.fixed is not None else (len(mv) - obj.offset) // obj.size
            if key < 0 or key >= n:
                return UNDEFINED
            v = obj.code.unpack_from(mv, obj.offset + key * obj.size)[0]
            if obj.is_big:
                return to_big(v)
            if obj.is_float:
                return m.num(v) if v == v and v not in (math.inf, -math.inf) else v
            return v
        if t is str:
            read = typed_fields.get(key)  # no field name is an index
            if read is not None:
                return read(obj)
            if key.isdigit():
                i = array_index(key)
                if i >= 0:
                    return obj.get(i)
            return lookup(protos[obj.kind], key, obj)  # a method (slice, subarray, set...)
        if t is float and key.is_integer():
            return obj.get(int(key))
        return lookup(protos[obj.kind], m.to_property_key(key), obj)

    def typed_set(obj: TypedArray, key: Any, value: Any) -> None:
        t = type(key)
        if t is int:
            obj.set(key, value)
        elif t is float and key.is_integer():
            obj.set(int(key), value)
        elif t is str and m.array_index(key) >= 0:
            obj.set(m.array_index(key), value)

    m.PROTO_FN[TypedArray] = lambda obj: protos[obj.kind]
    m.EXOTIC_GET[TypedArray] = typed_get
    m.EXOTIC_SET[TypedArray] = typed_set
    m.HAS_OWN[TypedArray] = lambda obj, key: 0 <= m.array_index(key) < obj.length
    m.OWN_KEYS[TypedArray] = lambda obj: [str(i) for i in range(obj.length)]

    def typed_iter(obj: TypedArray) -> Any:
        charge(obj.length * m_SLOT, f"iterating a {obj.kind}({obj.length})")
        values = obj.copy().tolist()
        return iter([m.BigInt(v) for v in values] if obj.is_big else values)

    m.FAST_ITER[TypedArray] = typed_iter

    def make_typed(kind: str) -> Callable[[list[Any], Any], Any]:
        size = KINDS[kind][1]

        def make(args: list[Any], nt: Any) -> Any:
            first = args[0] if args else 0
            if isinstance(first, (MemoryBuffer, ArrayBuffer)):
                nargs = len(args)
                offset = args[1] if nargs > 1 else UNDEFINED
                offset = offset if type(offset) is int else get_int(offset) if offset is not UNDEFINED else 0
                if offset % size:
                    raise m.throw("RangeError", f"start offset of {kind} should be a multiple of {size}")
                given = args[2] if nargs > 2 else UNDEFINED
                length: Optional[int] = None
                if given is not UNDEFINED:
                    length = given if type(given) is int else get_int(given)
                available = first.byte_length()  # read once: the glue's new Uint8Array(memory.buffer, ptr, len)
                if given is UNDEFINED and not first.tracking:
                    length = (available - offset) // size
                end = offset + (length or 0) * size
                if offset > available or end > available:
                    raise m.throw("RangeError", f"Invalid typed array length: {length}")
                return TypedArray(kind, first, offset, length)
            if not m.is_object(first):
                n = get_int(first) if first is not UNDEFINED else 0
                if n < 0:
                    raise m.throw("RangeError", f"Invalid typed array length: {n}")
                charge(n * size, f"new {kind}({n})")
                return TypedArray(kind, ArrayBuffer(bytearray(n * size)), 0, n)
            items = (
                first if isinstance(first, TypedArray) else (first if type(first) is list else list(m.iterate(first)))
            )
            n = items.length if isinstance(items, TypedArray) else len(items)
            charge(n * size, f"new {kind}(<{n} items>)")
            if type(items) is TypedArray and items.kind == kind:  # a byte copy: one pass
                return _copy_of(items, 0, n)
            arr = TypedArray(kind, ArrayBuffer(bytearray(n * size)), 0, n)
            arr.write(0, items)
            return arr

        return make

    typed_ctor_base = realm.native_class("TypedArray", typed_base_proto, None, None)
    for kind, (_, size, _, _, _) in KINDS.items():
        proto = m.new_object(typed_base_proto, kind)
        protos[kind] = proto
        ctor = realm.native_class(kind, proto, make_typed(kind), g)
        ctor.proto = typed_ctor_base
        m.define(ctor, "BYTES_PER_ELEMENT", size)
        m.define(proto, "BYTES_PER_ELEMENT", size)
        m.define(proto, m.SYM_TO_STRING_TAG, kind)

        def _from(this: Any, args: list[Any], kind: str = kind) -> Any:
            source = args[0] if args else []
            mapper = args[1] if len(args) > 1 and args[1] is not UNDEFINED else None
            if isinstance(source, TypedArray):
                charge(source.length * m_SLOT, f"{kind}.from({source.kind}({source.length}))")
            items = list(m.iterate(source)) if not isinstance(source, TypedArray) else source.copy().tolist()
            if mapper is not None:
                items = [m.call(mapper, UNDEFINED, [v, i]) for i, v in enumerate(items)]
            return make_typed(kind)([items], this)

        m.define(ctor, "from", JSFunction(_from, "from", 1))
        m.define(ctor, "of", JSFunction(lambda this, args, kind=kind: make_typed(kind)([list(args)], this), "of"))  # type: ignore[misc]

    P = typed_base_proto

    @m.method(P, "set", 1)
    def _set(this: TypedArray, args: list[Any]) -> Any:
        if not isinstance(this, TypedArray):
            raise m.throw("TypeError", "this is not a typed array")
        this.write(get_int(args[1]) if len(args) > 1 else 0, args[0] if args else UNDEFINED)
        return UNDEFINED

    budget = realm.budget  # never replaced (Bridge._make_enter reads it once too)

    @m.method(P, "subarray", 2)
    def _subarray(this: TypedArray, args: list[Any]) -> Any:
        n = this.fixed if this.fixed is not None else this.length
        start, end = _range(args, n)
        return TypedArray(this.kind, this.buffer, this.offset + start * this.size, max(0, end - start))

    @m.method(P, "slice", 2)
    def _slice(this: TypedArray, args: list[Any]) -> Any:
        n = this.fixed if this.fixed is not None else this.length
        start, end = _range(args, n) if args else (0, n)
        size = max(0, end - start) * this.size
        limit = budget.limit
        if limit is None or budget.used + size <= limit:  # charge()'s test, its message made only to raise
            if size > 0:
                budget.used += size
        else:
            charge(size, f"{this.kind}.prototype.slice({start}, {end})")
        return _copy_of(this, start, end)

    @m.method(P, "fill", 1)
    def _fill(this: TypedArray, args: list[Any]) -> Any:
        start, end = _range(args[1:], this.length)
        if end > start:
            this.numpy()[start:end] = this.coerce(args[0] if args else UNDEFINED)
        return this

    @m.method(P, "at", 1)
    def _at(this: TypedArray, args: list[Any]) -> Any:
        i = get_int(args[0]) if args else 0
        return this.get(i + this.length if i < 0 else i)

    def _values(this: TypedArray) -> list[Any]:
        charge(this.length * m_SLOT, f"reading all of a {this.kind}({this.length})")
        return [this.get(i) for i in range(this.length)]

    @m.method(P, "indexOf", 1)
    def _index_of(this: TypedArray, args: list[Any]) -> Any:
        target = args[0] if args else UNDEFINED
        for i, v in enumerate(_values(this)):
            if m.strict_equals(v, target):
                return i
        return -1

    @m.method(P, "includes", 1)
    def _includes(this: TypedArray, args: list[Any]) -> Any:
        target = args[0] if args else UNDEFINED
        return any(m.same_value_zero(v, target) for v in _values(this))

    @m.method(P, "join", 1)
    def _join(this: TypedArray, args: list[Any]) -> Any:
        sep = "," if not args or args[0] is UNDEFINED else m.to_string(args[0])
        return sep.join(m.to_string(v) for v in _values(this))

    @m.method(P, "toString", 0)
    def _to_string(this: TypedArray, args: list[Any]) -> Any:
        return _join(this, [])

    @m.method(P, "forEach", 1)
    def _for_each(this: TypedArray, args: list[Any]) -> Any:
        for i, v in enumerate(_values(this)):
            m.call(args[0], UNDEFINED, [v, i, this])
        return UNDEFINED

    @m.method(P, "map", 1)
    def _map(this: TypedArray, args: list[Any]) -> Any:
        out = make_typed(this.kind)([this.length], None)
        for i, v in enumerate(_values(this)):
            out.set(i, m.call(args[0], UNDEFINED, [v, i, this]))
        return out

    @m.method(P, "reduce", 1)
    def _reduce(this: TypedArray, args: list[Any]) -> Any:
        items = _values(this)
        acc, start = (args[1], 0) if len(args) > 1 else (items[0], 1)
        for i in range(start, len(items)):
            acc = m.call(args[0], UNDEFINED, [acc, items[i], i, this])
        return acc

    def _iter_values(this: Any, args: list[Any]) -> Any:
        return realm.make_iterator(iter(_values(this)))

    m.define(P, "values", JSFunction(_iter_values, "values"))
    m.define(P, m.SYM_ITERATOR, JSFunction(_iter_values, "[Symbol.iterator]"))
    m.define(P, "keys", JSFunction(lambda this, args: realm.make_iterator(iter(range(this.length))), "keys"))
    m.define(
        P,
        "entries",
        JSFunction(
            lambda this, args: realm.make_iterator(iter([[i, v] for i, v in enumerate(_values(this))])), "entries"
        ),
    )

    # -- DataView -----------------------------------------------------------------------------
    dv_proto = m.new_object(cls="DataView")
    m.PROTO_OF[DataView] = dv_proto

    def make_dv(args: list[Any], nt: Any) -> Any:
        buf = args[0] if args else UNDEFINED
        if not isinstance(buf, (ArrayBuffer, MemoryBuffer)):
            raise m.throw("TypeError", "First argument to DataView constructor must be an ArrayBuffer")
        offset = get_int(args[1]) if len(args) > 1 and args[1] is not UNDEFINED else 0
        length = get_int(args[2]) if len(args) > 2 and args[2] is not UNDEFINED else None
        return DataView(buf, offset, length)

    realm.native_class("DataView", dv_proto, make_dv, g)

    m.EXOTIC_GET[DataView] = m.field_getter(dv_proto, {
        "buffer": lambda obj: obj.buffer,
        "byteLength": lambda obj: obj.length,
        "byteOffset": lambda obj: obj.offset,
    })  # fmt: skip
    for name, code in (
        ("Int8", "b"),
        ("Uint8", "B"),
        ("Int16", "h"),
        ("Uint16", "H"),
        ("Int32", "i"),
        ("Uint32", "I"),
        ("Float32", "f"),
        ("Float64", "d"),
        ("BigInt64", "q"),
        ("BigUint64", "Q"),
    ):
        little, big = struct.Struct("<" + code), struct.Struct(">" + code)
        probe = TypedArray(
            {
                "b": "Int8Array",
                "B": "Uint8Array",
                "h": "Int16Array",
                "H": "Uint16Array",
                "i": "Int32Array",
                "I": "Uint32Array",
                "f": "Float32Array",
                "d": "Float64Array",
                "q": "BigInt64Array",
                "Q": "BigUint64Array",
            }[code],
            ArrayBuffer(bytearray(8)),
            0,
            1,
        )

        lo, hi = (-(1 << (8 * little.size - 1)), (1 << (8 * little.size - 1)) - 1) if code in "bhiq" else (
            0, (1 << (8 * little.size)) - 1)  # fmt: skip
        plain_int = code not in "fdqQ"  # an int in range is stored as itself (what coerce() gives it)

        def dv_read(this: DataView, args: list[Any], little: Any = little, big: Any = big, probe: Any = probe) -> Any:
            pos = args[0] if args and type(args[0]) is int else get_int(args[0] if args else 0)
            flag = args[1] if len(args) > 1 else False
            fmt = little if flag is True or (flag is not False and m.to_boolean(flag)) else big
            buf = this.buffer  # its current bytes: their length bounds a tracking view
            if buf.tracking:
                mv = buf._mv if buf.memory._engine.memory_view() is buf._np else buf.mv()
            else:
                mv = buf._mv
            if pos < 0 or pos + fmt.size > (this.fixed if this.fixed is not None else len(mv) - this.offset):
                raise m.throw("RangeError", "Offset is outside the bounds of the DataView")
            v = fmt.unpack_from(mv, this.offset + pos)[0]
            if probe.is_big:
                return m.BigInt(v)
            if probe.is_float:
                return m.num(v) if v == v and v not in (math.inf, -math.inf) else v
            return v

        def dv_write(this: DataView, args: list[Any], little: Any = little, big: Any = big, probe: Any = probe,
                     lo: int = lo, hi: int = hi, plain_int: bool = plain_int) -> Any:  # fmt: skip
            pos = args[0] if args and type(args[0]) is int else get_int(args[0] if args else 0)
            flag = args[2] if len(args) > 2 else False
            fmt = little if flag is True or (flag is not False and m.to_boolean(flag)) else big
            buf = this.buffer
            if buf.tracking:
                mv = buf._mv if buf.memory._engine.memory_view() is buf._np else buf.mv()
            else:
                mv = buf._mv
            if pos < 0 or pos + fmt.size > (this.fixed if this.fixed is not None else len(mv) - this.offset):
                raise m.throw("RangeError", "Offset is outside the bounds of the DataView")
            value = args[1] if len(args) > 1 else UNDEFINED
            if not (plain_int and type(value) is int and lo <= value <= hi):
                value = probe.coerce(value)
            fmt.pack_into(mv, this.offset + pos, value)
            return UNDEFINED

        m.define(dv_proto, "get" + name, JSFunction(dv_read, "get" + name, 1))
        m.define(dv_proto, "set" + name, JSFunction(dv_write, "set" + name, 2))


def _range(args: list[Any], n: int) -> tuple[int, int]:
    """(start, end) of ``slice(start, end)``-style arguments over a length ``n``."""
    if len(args) == 2:
        start, end = args
        if type(start) is int and type(end) is int and 0 <= start <= end <= n:  # the glue's subarray(ptr, ptr + len)
            return start, end
    start = m.to_integer(args[0]) if args and args[0] is not UNDEFINED else 0
    end = m.to_integer(args[1]) if len(args) > 1 and args[1] is not UNDEFINED else n
    if start < 0:
        start = max(0, n + start)
    if end < 0:
        end = max(0, n + end)
    start, end = min(start, n), min(end, n)
    return start, max(start, end)


def iter_bytes(value: Any) -> Iterator[int]:
    if isinstance(value, TypedArray):
        yield from value.copy().tolist()
