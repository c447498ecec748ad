"""The WebAssembly opcode table, as data.

``OPCODES`` maps an opcode key to its :class:`OpInfo` (text-format name and the
kinds of its immediates, in encoding order). A key is the opcode byte for
one-byte opcodes, or ``(prefix, subopcode)`` for the ``0xFB`` (GC), ``0xFC``
(saturating truncation, bulk memory, table ops, wide arithmetic), ``0xFD``
(SIMD, relaxed SIMD) and ``0xFE`` (threads) families.

Covered: the MVP, sign extension, multi-value block types, non-trapping
float-to-int, bulk memory, reference types, typed function references, tail
calls, multi-memory, memory64, SIMD and relaxed SIMD, threads, legacy and
current exception handling, GC, extended constant expressions and wide
arithmetic.

Immediate kinds (see :mod:`realm_wasmer.wasm.instructions` for their Python values):

==============  ================================================================
``blocktype``   0x40 (empty), a value type, or an s33 type index
``label``       relative branch depth (u32)
``func``        function index (u32): what a function-index shift rewrites
``type``        type index (u32)
``table``       table index (u32)
``local``       local index (u32)
``global``      global index (u32)
``tag``         tag index (u32)
``elem``        element segment index (u32)
``data``        data segment index (u32)
``mem``         memory index (u32; a single 0x00 byte before multi-memory)
``field``       struct field index (u32)
``count``       a plain u32 (``array.new_fixed``'s length)
``memarg``      alignment flags (bit 6: a memory index follows), [memory], offset
``lane``        one lane-index byte
``zero``        one reserved byte (``atomic.fence``)
``i32``         s32 ``i64``: s64
``f32``         4 raw bytes ``f64``: 8 raw bytes ``v128``: 16 raw bytes
``shuffle``     16 lane-index bytes
``br_table``    vec(label) then the default label
``valtypes``    vec(value type) (typed ``select``)
``heaptype``    a heap type (s33 type index or an abstract heap type byte)
``catches``     vec(catch clause) (``try_table``)
``castflags``   one byte: bit 0 source nullable, bit 1 target nullable
==============  ================================================================
"""

from __future__ import annotations

from typing import Union

import attrs

#: An opcode key: the byte, or ``(prefix byte, subopcode)``.
OpKey = Union[int, tuple[int, int]]

PREFIXES = (0xFB, 0xFC, 0xFD, 0xFE)

IMMEDIATE_KINDS = frozenset(
    "blocktype label func type table local global tag elem data mem field count memarg lane zero "
    "i32 i64 f32 f64 v128 shuffle br_table valtypes heaptype catches castflags".split()
)
#: Kinds that hold a plain u32 index (decoded and encoded the same way).
INDEX_KINDS = frozenset("label func type table local global tag elem data mem field count".split())


@attrs.frozen
class OpInfo:
    """One opcode: its text-format name and the kinds of its immediates."""

    name: str
    immediates: tuple[str, ...] = ()


# Single-byte opcodes with immediates or irregular names (control, reference, variable, memory, constants).
_CONTROL: dict[int, tuple[str, str]] = {
    0x00: ("unreachable", ""),
    0x01: ("nop", ""),
    0x02: ("block", "blocktype"),
    0x03: ("loop", "blocktype"),
    0x04: ("if", "blocktype"),
    0x05: ("else", ""),
    0x06: ("try", "blocktype"),
    0x07: ("catch", "tag"),
    0x08: ("throw", "tag"),
    0x09: ("rethrow", "label"),
    0x0A: ("throw_ref", ""),
    0x0B: ("end", ""),
    0x0C: ("br", "label"),
    0x0D: ("br_if", "label"),
    0x0E: ("br_table", "br_table"),
    0x0F: ("return", ""),
    0x10: ("call", "func"),
    0x11: ("call_indirect", "type table"),
    0x12: ("return_call", "func"),
    0x13: ("return_call_indirect", "type table"),
    0x14: ("call_ref", "type"),
    0x15: ("return_call_ref", "type"),
    0x18: ("delegate", "label"),
    0x19: ("catch_all", ""),
    0x1A: ("drop", ""),
    0x1B: ("select", ""),
    0x1C: ("select_t", "valtypes"),
    0x1F: ("try_table", "blocktype catches"),
    0x20: ("local.get", "local"),
    0x21: ("local.set", "local"),
    0x22: ("local.tee", "local"),
    0x23: ("global.get", "global"),
    0x24: ("global.set", "global"),
    0x25: ("table.get", "table"),
    0x26: ("table.set", "table"),
    0x3F: ("memory.size", "mem"),
    0x40: ("memory.grow", "mem"),
    0x41: ("i32.const", "i32"),
    0x42: ("i64.const", "i64"),
    0x43: ("f32.const", "f32"),
    0x44: ("f64.const", "f64"),
    0xD0: ("ref.null", "heaptype"),
    0xD1: ("ref.is_null", ""),
    0xD2: ("ref.func", "func"),
    0xD3: ("ref.eq", ""),
    0xD4: ("ref.as_non_null", ""),
    0xD5: ("br_on_null", "label"),
    0xD6: ("br_on_non_null", "label"),
}

# 0x28..0x3E: loads and stores, each with a memarg.
_MEMORY_OPS = """
i32.load i64.load f32.load f64.load i32.load8_s i32.load8_u i32.load16_s i32.load16_u
i64.load8_s i64.load8_u i64.load16_s i64.load16_u i64.load32_s i64.load32_u
i32.store i64.store f32.store f64.store i32.store8 i32.store16 i64.store8 i64.store16 i64.store32
"""

# 0x45..0xC4: numeric instructions without immediates (MVP, then sign extension at 0xC0).
_NUMERIC_OPS = """
i32.eqz i32.eq i32.ne i32.lt_s i32.lt_u i32.gt_s i32.gt_u i32.le_s i32.le_u i32.ge_s i32.ge_u
i64.eqz i64.eq i64.ne i64.lt_s i64.lt_u i64.gt_s i64.gt_u i64.le_s i64.le_u i64.ge_s i64.ge_u
f32.eq f32.ne f32.lt f32.gt f32.le f32.ge f64.eq f64.ne f64.lt f64.gt f64.le f64.ge
i32.clz i32.ctz i32.popcnt i32.add i32.sub i32.mul i32.div_s i32.div_u i32.rem_s i32.rem_u
i32.and i32.or i32.xor i32.shl i32.shr_s i32.shr_u i32.rotl i32.rotr
i64.clz i64.ctz i64.popcnt i64.add i64.sub i64.mul i64.div_s i64.div_u i64.rem_s i64.rem_u
i64.and i64.or i64.xor i64.shl i64.shr_s i64.shr_u i64.rotl i64.rotr
f32.abs f32.neg f32.ceil f32.floor f32.trunc f32.nearest f32.sqrt f32.add f32.sub f32.mul f32.div
f32.min f32.max f32.copysign
f64.abs f64.neg f64.ceil f64.floor f64.trunc f64.nearest f64.sqrt f64.add f64.sub f64.mul f64.div
f64.min f64.max f64.copysign
i32.wrap_i64 i32.trunc_f32_s i32.trunc_f32_u i32.trunc_f64_s i32.trunc_f64_u
i64.extend_i32_s i64.extend_i32_u i64.trunc_f32_s i64.trunc_f32_u i64.trunc_f64_s i64.trunc_f64_u
f32.convert_i32_s f32.convert_i32_u f32.convert_i64_s f32.convert_i64_u f32.demote_f64
f64.convert_i32_s f64.convert_i32_u f64.convert_i64_s f64.convert_i64_u f64.promote_f32
i32.reinterpret_f32 i64.reinterpret_f64 f32.reinterpret_i32 f64.reinterpret_i64
i32.extend8_s i32.extend16_s i64.extend8_s i64.extend16_s i64.extend32_s
"""

# 0xFB: garbage collection.
_GC: dict[int, tuple[str, str]] = {
    0x00: ("struct.new", "type"),
    0x01: ("struct.new_default", "type"),
    0x02: ("struct.get", "type field"),
    0x03: ("struct.get_s", "type field"),
    0x04: ("struct.get_u", "type field"),
    0x05: ("struct.set", "type field"),
    0x06: ("array.new", "type"),
    0x07: ("array.new_default", "type"),
    0x08: ("array.new_fixed", "type count"),
    0x09: ("array.new_data", "type data"),
    0x0A: ("array.new_elem", "type elem"),
    0x0B: ("array.get", "type"),
    0x0C: ("array.get_s", "type"),
    0x0D: ("array.get_u", "type"),
    0x0E: ("array.set", "type"),
    0x0F: ("array.len", ""),
    0x10: ("array.fill", "type"),
    0x11: ("array.copy", "type type"),
    0x12: ("array.init_data", "type data"),
    0x13: ("array.init_elem", "type elem"),
    0x14: ("ref.test", "heaptype"),
    0x15: ("ref.test null", "heaptype"),
    0x16: ("ref.cast", "heaptype"),
    0x17: ("ref.cast null", "heaptype"),
    0x18: ("br_on_cast", "castflags label heaptype heaptype"),
    0x19: ("br_on_cast_fail", "castflags label heaptype heaptype"),
    0x1A: ("any.convert_extern", ""),
    0x1B: ("extern.convert_any", ""),
    0x1C: ("ref.i31", ""),
    0x1D: ("i31.get_s", ""),
    0x1E: ("i31.get_u", ""),
}

# 0xFC: saturating truncation, bulk memory, table instructions, memory.discard, wide arithmetic.
_MISC: dict[int, tuple[str, str]] = {
    0x00: ("i32.trunc_sat_f32_s", ""),
    0x01: ("i32.trunc_sat_f32_u", ""),
    0x02: ("i32.trunc_sat_f64_s", ""),
    0x03: ("i32.trunc_sat_f64_u", ""),
    0x04: ("i64.trunc_sat_f32_s", ""),
    0x05: ("i64.trunc_sat_f32_u", ""),
    0x06: ("i64.trunc_sat_f64_s", ""),
    0x07: ("i64.trunc_sat_f64_u", ""),
    0x08: ("memory.init", "data mem"),
    0x09: ("data.drop", "data"),
    0x0A: ("memory.copy", "mem mem"),
    0x0B: ("memory.fill", "mem"),
    0x0C: ("table.init", "elem table"),
    0x0D: ("elem.drop", "elem"),
    0x0E: ("table.copy", "table table"),
    0x0F: ("table.grow", "table"),
    0x10: ("table.size", "table"),
    0x11: ("table.fill", "table"),
    0x12: ("memory.discard", "mem"),
    0x13: ("i64.add128", ""),
    0x14: ("i64.sub128", ""),
    0x15: ("i64.mul_wide_s", ""),
    0x16: ("i64.mul_wide_u", ""),
}

# 0xFD: SIMD instructions with immediates.
_SIMD_IMMEDIATE: dict[int, tuple[str, str]] = {
    0x00: ("v128.load", "memarg"),
    0x01: ("v128.load8x8_s", "memarg"),
    0x02: ("v128.load8x8_u", "memarg"),
    0x03: ("v128.load16x4_s", "memarg"),
    0x04: ("v128.load16x4_u", "memarg"),
    0x05: ("v128.load32x2_s", "memarg"),
    0x06: ("v128.load32x2_u", "memarg"),
    0x07: ("v128.load8_splat", "memarg"),
    0x08: ("v128.load16_splat", "memarg"),
    0x09: ("v128.load32_splat", "memarg"),
    0x0A: ("v128.load64_splat", "memarg"),
    0x0B: ("v128.store", "memarg"),
    0x0C: ("v128.const", "v128"),
    0x0D: ("i8x16.shuffle", "shuffle"),
    0x15: ("i8x16.extract_lane_s", "lane"),
    0x16: ("i8x16.extract_lane_u", "lane"),
    0x17: ("i8x16.replace_lane", "lane"),
    0x18: ("i16x8.extract_lane_s", "lane"),
    0x19: ("i16x8.extract_lane_u", "lane"),
    0x1A: ("i16x8.replace_lane", "lane"),
    0x1B: ("i32x4.extract_lane", "lane"),
    0x1C: ("i32x4.replace_lane", "lane"),
    0x1D: ("i64x2.extract_lane", "lane"),
    0x1E: ("i64x2.replace_lane", "lane"),
    0x1F: ("f32x4.extract_lane", "lane"),
    0x20: ("f32x4.replace_lane", "lane"),
    0x21: ("f64x2.extract_lane", "lane"),
    0x22: ("f64x2.replace_lane", "lane"),
    0x54: ("v128.load8_lane", "memarg lane"),
    0x55: ("v128.load16_lane", "memarg lane"),
    0x56: ("v128.load32_lane", "memarg lane"),
    0x57: ("v128.load64_lane", "memarg lane"),
    0x58: ("v128.store8_lane", "memarg lane"),
    0x59: ("v128.store16_lane", "memarg lane"),
    0x5A: ("v128.store32_lane", "memarg lane"),
    0x5B: ("v128.store64_lane", "memarg lane"),
    0x5C: ("v128.load32_zero", "memarg"),
    0x5D: ("v128.load64_zero", "memarg"),
}

# 0xFD: SIMD instructions without immediates, as (first subopcode, names in order); "-" marks an unused code.
_SIMD_PLAIN: tuple[tuple[int, str], ...] = (
    (0x0E, "i8x16.swizzle i8x16.splat i16x8.splat i32x4.splat i64x2.splat f32x4.splat f64x2.splat"),
    (
        0x23,
        "i8x16.eq i8x16.ne i8x16.lt_s i8x16.lt_u i8x16.gt_s i8x16.gt_u i8x16.le_s i8x16.le_u i8x16.ge_s i8x16.ge_u "
        "i16x8.eq i16x8.ne i16x8.lt_s i16x8.lt_u i16x8.gt_s i16x8.gt_u i16x8.le_s i16x8.le_u i16x8.ge_s i16x8.ge_u "
        "i32x4.eq i32x4.ne i32x4.lt_s i32x4.lt_u i32x4.gt_s i32x4.gt_u i32x4.le_s i32x4.le_u i32x4.ge_s i32x4.ge_u "
        "f32x4.eq f32x4.ne f32x4.lt f32x4.gt f32x4.le f32x4.ge f64x2.eq f64x2.ne f64x2.lt f64x2.gt f64x2.le f64x2.ge "
        "v128.not v128.and v128.andnot v128.or v128.xor v128.bitselect v128.any_true",
    ),
    (
        0x5E,
        "f32x4.demote_f64x2_zero f64x2.promote_low_f32x4 "
        "i8x16.abs i8x16.neg i8x16.popcnt i8x16.all_true i8x16.bitmask i8x16.narrow_i16x8_s i8x16.narrow_i16x8_u "
        "f32x4.ceil f32x4.floor f32x4.trunc f32x4.nearest i8x16.shl i8x16.shr_s i8x16.shr_u "
        "i8x16.add i8x16.add_sat_s i8x16.add_sat_u i8x16.sub i8x16.sub_sat_s i8x16.sub_sat_u "
        "f64x2.ceil f64x2.floor i8x16.min_s i8x16.min_u i8x16.max_s i8x16.max_u f64x2.trunc i8x16.avgr_u "
        "i16x8.extadd_pairwise_i8x16_s i16x8.extadd_pairwise_i8x16_u "
        "i32x4.extadd_pairwise_i16x8_s i32x4.extadd_pairwise_i16x8_u "
        "i16x8.abs i16x8.neg i16x8.q15mulr_sat_s i16x8.all_true i16x8.bitmask "
        "i16x8.narrow_i32x4_s i16x8.narrow_i32x4_u i16x8.extend_low_i8x16_s i16x8.extend_high_i8x16_s "
        "i16x8.extend_low_i8x16_u i16x8.extend_high_i8x16_u i16x8.shl i16x8.shr_s i16x8.shr_u "
        "i16x8.add i16x8.add_sat_s i16x8.add_sat_u i16x8.sub i16x8.sub_sat_s i16x8.sub_sat_u "
        "f64x2.nearest i16x8.mul i16x8.min_s i16x8.min_u i16x8.max_s i16x8.max_u - i16x8.avgr_u "
        "i16x8.extmul_low_i8x16_s i16x8.extmul_high_i8x16_s i16x8.extmul_low_i8x16_u i16x8.extmul_high_i8x16_u "
        "i32x4.abs i32x4.neg - i32x4.all_true i32x4.bitmask - - "
        "i32x4.extend_low_i16x8_s i32x4.extend_high_i16x8_s i32x4.extend_low_i16x8_u i32x4.extend_high_i16x8_u "
        "i32x4.shl i32x4.shr_s i32x4.shr_u i32x4.add - - i32x4.sub - - - i32x4.mul "
        "i32x4.min_s i32x4.min_u i32x4.max_s i32x4.max_u i32x4.dot_i16x8_s - "
        "i32x4.extmul_low_i16x8_s i32x4.extmul_high_i16x8_s i32x4.extmul_low_i16x8_u i32x4.extmul_high_i16x8_u "
        "i64x2.abs i64x2.neg - i64x2.all_true i64x2.bitmask - - "
        "i64x2.extend_low_i32x4_s i64x2.extend_high_i32x4_s i64x2.extend_low_i32x4_u i64x2.extend_high_i32x4_u "
        "i64x2.shl i64x2.shr_s i64x2.shr_u i64x2.add - - i64x2.sub - - - i64x2.mul "
        "i64x2.eq i64x2.ne i64x2.lt_s i64x2.gt_s i64x2.le_s i64x2.ge_s "
        "i64x2.extmul_low_i32x4_s i64x2.extmul_high_i32x4_s i64x2.extmul_low_i32x4_u i64x2.extmul_high_i32x4_u "
        "f32x4.abs f32x4.neg - f32x4.sqrt f32x4.add f32x4.sub f32x4.mul f32x4.div f32x4.min f32x4.max "
        "f32x4.pmin f32x4.pmax "
        "f64x2.abs f64x2.neg - f64x2.sqrt f64x2.add f64x2.sub f64x2.mul f64x2.div f64x2.min f64x2.max "
        "f64x2.pmin f64x2.pmax "
        "i32x4.trunc_sat_f32x4_s i32x4.trunc_sat_f32x4_u f32x4.convert_i32x4_s f32x4.convert_i32x4_u "
        "i32x4.trunc_sat_f64x2_s_zero i32x4.trunc_sat_f64x2_u_zero "
        "f64x2.convert_low_i32x4_s f64x2.convert_low_i32x4_u",
    ),
    (
        0x100,
        "i8x16.relaxed_swizzle i32x4.relaxed_trunc_f32x4_s i32x4.relaxed_trunc_f32x4_u "
        "i32x4.relaxed_trunc_f64x2_s_zero i32x4.relaxed_trunc_f64x2_u_zero "
        "f32x4.relaxed_madd f32x4.relaxed_nmadd f64x2.relaxed_madd f64x2.relaxed_nmadd "
        "i8x16.relaxed_laneselect i16x8.relaxed_laneselect i32x4.relaxed_laneselect i64x2.relaxed_laneselect "
        "f32x4.relaxed_min f32x4.relaxed_max f64x2.relaxed_min f64x2.relaxed_max "
        "i16x8.relaxed_q15mulr_s i16x8.relaxed_dot_i8x16_i7x16_s i32x4.relaxed_dot_i8x16_i7x16_add_s",
    ),
)

# 0xFE: threads. 0x00..0x03 are irregular; 0x10..0x4E are loads, stores and read-modify-writes with a memarg.
_ATOMIC_IRREGULAR: dict[int, tuple[str, str]] = {
    0x00: ("memory.atomic.notify", "memarg"),
    0x01: ("memory.atomic.wait32", "memarg"),
    0x02: ("memory.atomic.wait64", "memarg"),
    0x03: ("atomic.fence", "zero"),
}
_ATOMIC_LOAD_STORE = """
i32.atomic.load i64.atomic.load i32.atomic.load8_u i32.atomic.load16_u
i64.atomic.load8_u i64.atomic.load16_u i64.atomic.load32_u
i32.atomic.store i64.atomic.store i32.atomic.store8 i32.atomic.store16
i64.atomic.store8 i64.atomic.store16 i64.atomic.store32
"""
#: Each read-modify-write operation comes in these seven widths, in this order.
_ATOMIC_RMW_OPS = ("add", "sub", "and", "or", "xor", "xchg", "cmpxchg")
_ATOMIC_RMW_WIDTHS = ("i32.atomic.rmw.{}", "i64.atomic.rmw.{}", "i32.atomic.rmw8.{}_u", "i32.atomic.rmw16.{}_u",
                      "i64.atomic.rmw8.{}_u", "i64.atomic.rmw16.{}_u", "i64.atomic.rmw32.{}_u")


def _info(name: str, immediates: str) -> OpInfo:
    return OpInfo(name, tuple(immediates.split()))


def _build() -> dict[OpKey, OpInfo]:
    table: dict[OpKey, OpInfo] = {code: _info(*entry) for code, entry in _CONTROL.items()}
    table.update({0x28 + i: OpInfo(name, ("memarg",)) for i, name in enumerate(_MEMORY_OPS.split())})
    table.update({0x45 + i: OpInfo(name) for i, name in enumerate(_NUMERIC_OPS.split())})
    for prefix, entries in ((0xFB, _GC), (0xFC, _MISC), (0xFD, _SIMD_IMMEDIATE), (0xFE, _ATOMIC_IRREGULAR)):
        table.update({(prefix, sub): _info(*entry) for sub, entry in entries.items()})
    for first, names in _SIMD_PLAIN:
        table.update({(0xFD, first + i): OpInfo(name) for i, name in enumerate(names.split()) if name != "-"})
    atomics = _ATOMIC_LOAD_STORE.split() + [w.format(op) for op in _ATOMIC_RMW_OPS for w in _ATOMIC_RMW_WIDTHS]
    table.update({(0xFE, 0x10 + i): OpInfo(name, ("memarg",)) for i, name in enumerate(atomics)})
    return table


#: Every opcode this codec reads and writes.
OPCODES: dict[OpKey, OpInfo] = _build()
#: Opcode key by text-format name.
BY_NAME: dict[str, OpKey] = {info.name: key for key, info in OPCODES.items()}
#: Opcodes that open a block closed by ``end``.
BLOCK_OPENERS: frozenset[OpKey] = frozenset({0x02, 0x03, 0x04, 0x06, 0x1F})
#: Opcodes with a function-index immediate.
FUNCTION_INDEX_OPS: frozenset[OpKey] = frozenset(k for k, v in OPCODES.items() if "func" in v.immediates)

assert len(BY_NAME) == len(OPCODES), "opcode names must be unique"
assert all(kind in IMMEDIATE_KINDS for info in OPCODES.values() for kind in info.immediates)
