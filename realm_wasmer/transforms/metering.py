"""The limit transforms: metering (fuel and timeouts) and grow guards for wasmer.

* :data:`METERING` (wasmer; capability ``metering``): a fuel counter, a mutable
  i64 global exported as :data:`FUEL_EXPORT`, charged at every function entry
  and every loop header with the static cost of that function or loop body (its
  instructions, nested loops excluded: what wasmer's own metering middleware
  does per basic block, coarser). Straight-line functions without calls or loops
  are not charged (they cannot run forever). When the counter drops below zero
  the guest calls ``__realm_wasmer.out_of_fuel(counter) -> counter``: the host
  (:meth:`Governor.refuel <realm_wasmer.limits.Governor.refuel>`) accounts for
  the fuel used, checks the call's deadline, and either raises
  :class:`~realm_wasmer.errors.ResourceExhausted` (the guest unwinds through the
  call guard, which poisons the instance) or grants the next
  :data:`~realm_wasmer.limits.CHECK_INTERVAL` units. So ``timeout_s`` holds on
  wasmer, where no Python thread can run during a guest call: the guest itself
  comes back to the host every ``CHECK_INTERVAL`` units. The counter starts at 0
  in the module (the start section's first charge asks the host) and the
  limited engine sets it before each outermost call; no limit value is in the
  code, so one compiled artifact serves every setting.
* :data:`GROW_GUARD` (wasmer; capability ``grow_limits``): every ``memory.grow``
  and ``table.grow`` becomes a call to an added guard function that asks
  ``__realm_wasmer.memory_grow``/``table_grow(current, delta) -> allowed`` and
  grows, or returns -1 as a grow past the module's own maximum does.
The injected imports' handlers take the instance's
:class:`~realm_wasmer.limits.Governor` first: the limited engine
(:mod:`realm_wasmer.engines.limited`) binds it when it instantiates.
"""

from __future__ import annotations

from typing import Any, Callable

from ..host.context import HostContext
from ..wasm import FuncType, GlobalDef, Import, ImportDef, Instruction, Module, WasmModule, decode_module, encode_module
from .base import TRANSFORM_NAMESPACE, Transform
from .edits import add_function_imports, add_functions, add_global, const_expr, imported_count, ins

#: The fuel counter's export name.
FUEL_EXPORT = "__realm_fuel"
OUT_OF_FUEL = "out_of_fuel"
MEMORY_GROW = "memory_grow"
TABLE_GROW = "table_grow"
#: The injected imports whose handlers take the instance's Governor first.
GOVERNED = (OUT_OF_FUEL, MEMORY_GROW, TABLE_GROW)

_REFUEL = FuncType(("i64",), ("i64",))
_GROW_CHECK = FuncType(("i32", "i32"), ("i32",))

_LOOP, _END, _DELEGATE = 0x03, 0x0B, 0x18
_OPENERS = frozenset({0x02, 0x03, 0x04, 0x06, 0x1F})  # block loop if try try_table
_CALLS = frozenset({0x10, 0x11, 0x12, 0x13, 0x14, 0x15})  # call(_indirect/_ref), return_call(_indirect/_ref)
_MEMORY_GROW = 0x40
_TABLE_GROW = (0xFC, 15)


# --- metering ---------------------------------------------------------------------------------------------------


def body_costs(instructions: list[Instruction]) -> tuple[int, dict[int, int], bool]:
    """``(entry cost, {loop position: cost of one iteration}, charge the entry?)``: each
    instruction counts once, in the innermost enclosing loop (or the function)."""
    costs = [0]
    current = [0]
    opened: list[bool] = []  # one per open block: True for a loop
    loops: dict[int, int] = {}
    calls = False
    for position, instruction in enumerate(instructions):
        op = instruction.op
        costs[current[-1]] += 1
        if op == _LOOP:
            costs.append(0)
            loops[position] = len(costs) - 1
            current.append(len(costs) - 1)
            opened.append(True)
        elif op in _OPENERS:
            opened.append(False)
        elif op in (_END, _DELEGATE):
            if opened and opened.pop():
                current.pop()
        elif op in _CALLS:
            calls = True
    return costs[0], {position: costs[at] for position, at in loops.items()}, calls or bool(loops)


class _Charge:
    """The instructions that charge ``cost`` to the counter (shared, immutable pieces)."""

    def __init__(self, fuel: int, refuel: int) -> None:
        self.head = Instruction.of("global.get", fuel)
        self.sub = Instruction.of("i64.sub")
        self.fuel = fuel
        self.refuel = refuel
        self._costs: dict[int, Instruction] = {}
        self._tails: dict[int, list[Instruction]] = {}

    def __call__(self, cost: int, tmp: int) -> list[Instruction]:
        constant = self._costs.get(cost)
        if constant is None:
            constant = self._costs[cost] = Instruction.of("i64.const", cost)
        tail = self._tails.get(tmp)
        if tail is None:
            tail = self._tails[tmp] = [
                ins("local.tee", tmp), ins("global.set", self.fuel),
                ins("local.get", tmp), ins("i64.const", 0), ins("i64.lt_s"), ins("if", None),
                ins("local.get", tmp), ins("call", self.refuel), ins("global.set", self.fuel), ins("end"),
            ]
        return [self.head, constant, self.sub, *tail]


def meter(module: Module) -> int:
    """Add the fuel counter, its export and the ``out_of_fuel`` import, and charge every
    function; returns how many functions were charged."""
    refuel_type = module.add_type(_REFUEL)
    (refuel,) = module.add_imports([ImportDef(TRANSFORM_NAMESPACE, OUT_OF_FUEL, "func", refuel_type)])
    module.globals.append(GlobalDef("i64", True, const_expr("i64.const", 0)))
    fuel = imported_count(module, "global") + len(module.globals) - 1
    module.add_export(FUEL_EXPORT, "global", fuel)
    charge = _Charge(fuel, refuel)
    charged = 0
    for index, body in module.function_bodies():
        instructions = body.instructions
        entry, loops, at_entry = body_costs(instructions)
        if not loops and not at_entry:
            continue
        tmp = len(module.function_type(index).params) + sum(count for count, _ in body.locals)
        body.locals = body.locals + ((1, "i64"),)
        out = charge(entry, tmp) if at_entry else []
        for position, instruction in enumerate(instructions):
            out.append(instruction)
            if position in loops:
                out.extend(charge(loops[position], tmp))
        body.instructions = out
        charged += 1
    return charged


def _meter_apply(data: bytes, outline: WasmModule) -> bytes:
    module = decode_module(data)
    meter(module)
    return encode_module(module)


def _meter_outline(module: WasmModule) -> WasmModule:
    module = add_function_imports(module, [Import(TRANSFORM_NAMESPACE, OUT_OF_FUEL, "func", _REFUEL)])
    return add_global(module, "i64", 0, FUEL_EXPORT)


def _out_of_fuel(governor: Any, counter: int) -> int:
    refilled: int = governor.refuel(counter)
    return refilled


def _metering_imports(ctx: HostContext) -> dict[str, Callable[..., Any]]:
    return {OUT_OF_FUEL: _out_of_fuel}


METERING = Transform(
    name="metering",
    version=1,
    provides=frozenset({"metering"}),
    apply=_meter_apply,
    outline=_meter_outline,
    host_imports=_metering_imports,
)


# --- grow guards ------------------------------------------------------------------------------------------------


def _grow_imports(outline: WasmModule) -> list[Import]:
    out = []
    if outline.memories:
        out.append(Import(TRANSFORM_NAMESPACE, MEMORY_GROW, "func", _GROW_CHECK))
    if outline.tables:
        out.append(Import(TRANSFORM_NAMESPACE, TABLE_GROW, "func", _GROW_CHECK))
    return out


def _guard_types(outline: WasmModule) -> list[FuncType]:
    memories = [FuncType(("i32",), ("i32",)) for _ in outline.memories]
    return memories + [FuncType((table.element, "i32"), ("i32",)) for table in outline.tables]


def guard_growth(module: Module, outline: WasmModule) -> int:
    """Route every ``memory.grow``/``table.grow`` through an added guard; returns how many were."""
    wanted = _grow_imports(outline)
    if not wanted:
        return 0
    check_type = module.add_type(_GROW_CHECK)
    indices = module.add_imports([ImportDef(i.module, i.name, "func", check_type) for i in wanted])
    checks = dict(zip([i.name for i in wanted], indices, strict=True))
    guards: dict[tuple[str, int], int] = {}
    types = iter(_guard_types(outline))
    for memory in range(len(outline.memories)):
        code = [
            ins("memory.size", memory), ins("local.get", 0), ins("call", checks[MEMORY_GROW]), ins("if", "i32"),
            ins("local.get", 0), ins("memory.grow", memory), ins("else"), ins("i32.const", -1), ins("end"), ins("end"),
        ]
        guards[("memory", memory)] = module.add_function(module.add_type(next(types)), (), code)
    for table in range(len(outline.tables)):
        code = [
            ins("table.size", table), ins("local.get", 1), ins("call", checks[TABLE_GROW]), ins("if", "i32"),
            ins("local.get", 0), ins("local.get", 1), ins("table.grow", table), ins("else"), ins("i32.const", -1),
            ins("end"), ins("end"),
        ]
        guards[("table", table)] = module.add_function(module.add_type(next(types)), (), code)
    own = set(guards.values())
    replaced = 0
    for index, body in module.function_bodies():
        if index in own:
            continue
        instructions = body.instructions
        for position, instruction in enumerate(instructions):
            kind = "memory" if instruction.op == _MEMORY_GROW else "table" if instruction.op == _TABLE_GROW else None
            if kind is not None:
                instructions[position] = Instruction.of("call", guards[(kind, instruction.imm[0])])
                replaced += 1
    return replaced


def _grow_apply(data: bytes, outline: WasmModule) -> bytes:
    module = decode_module(data)
    guard_growth(module, outline)
    return encode_module(module)


def _grow_outline(module: WasmModule) -> WasmModule:
    types = _guard_types(module)
    module = add_function_imports(module, _grow_imports(module))
    return add_functions(module, types, [None] * len(types))


def _memory_grow(governor: Any, current: int, delta: int) -> int:
    return 1 if governor.may_grow("memory", current, delta) else 0


def _table_grow(governor: Any, current: int, delta: int) -> int:
    return 1 if governor.may_grow("table", current, delta) else 0


def _grow_host_imports(ctx: HostContext) -> dict[str, Callable[..., Any]]:
    return {MEMORY_GROW: _memory_grow, TABLE_GROW: _table_grow}


GROW_GUARD = Transform(
    name="grow_guard",
    version=1,
    provides=frozenset({"grow_limits"}),
    apply=_grow_apply,
    outline=_grow_outline,
    host_imports=_grow_host_imports,
)
