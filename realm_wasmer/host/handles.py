"""The ``"handles"`` JS-value store: externref lowered to i32 handles, its tables on the host.

On engines that cannot pass externref (wasmer-python 1.1.0) the load pipeline
lowers the module (:mod:`realm_wasmer.transforms.externref`): an externref
becomes an i32 *handle*, and each externref table moves here, to a Python list
of handles that the guest reaches through injected imports
(``externref_get_T``, ``externref_set_T``, ...: :meth:`HandleStore.table_imports`).

The rest of the host does not see handles. The boundary converts, by the
*original* signatures: an import whose original signature has externref gets its
arguments as values and its result turned into a handle (:meth:`wrap_import`);
an export's externref arguments become handles and its results values
(:meth:`wrap_export`). So above the boundary this store behaves as
:class:`~realm_wasmer.host.values.ExternrefTableStore` does on wasmtime (values
cross as themselves; ``add``/``take`` place and take values in the exported
externref table, through the guest's ``__externref_table_alloc``/``dealloc``),
and every intrinsic, glue function and user handler works on Python values.

Lifetime: handle ``0`` is null (``None``). A handle is minted for each value
that crosses into the guest and *pinned* until the outermost export call ends
(it may sit on the guest's operand stack or in a local meanwhile); a handle the
guest reads out of a table is pinned too (the guest's ``take`` clears the slot
before it uses the value). Table slots count references; when the outermost
call ends, every pinned handle no slot refers to is released and its number
reused. So ``stats()`` returns to its baseline after calls that leave no value
in a table. Each handle and each table slot charges ``SLOT_BYTES`` to the
instance's :class:`~realm_wasmer.limits.HostBudget` (``Limits.max_host_bytes``).

Per crossing: the table intrinsics and the boundary conversions are generated as
Python source (:mod:`realm_wasmer.host.guarded`), so each links as one frame with
the import guard inlined; they are bound to the store's lists, which
:meth:`HandleStore.restore` therefore refills in place.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any, Callable, Iterator, Optional, Sequence

import attrs

from ..errors import GuestTrap, MissingRuntimeExport
from ..js.values import UNDEFINED
from ..limits import SLOT_BYTES
from ..wasm import FuncType, WasmModule
from .calls import GuestCalls, result_checker
from .guarded import source_handler

#: The handle of null (``ref.null extern``), the value ``None``.
NULL = 0
#: The value types lowered to ``i32`` handles.
EXTERNREF_TYPES = frozenset({"externref", "(ref null extern)", "(ref extern)"})
_EXTERNREF = EXTERNREF_TYPES


def lower_type(valtype: str) -> str:
    return "i32" if valtype in EXTERNREF_TYPES else valtype


def lower_signature(signature: FuncType) -> FuncType:
    """``signature`` with every externref lowered to i32 (itself when it has none)."""
    if not any(t in EXTERNREF_TYPES for t in signature.params + signature.results):
        return signature
    return FuncType(tuple(map(lower_type, signature.params)), tuple(map(lower_type, signature.results)))


#: The injected import that ``global.set`` of a mutable externref global calls first.
GLOBAL_SWAP = "externref_global_swap"


def import_name(operation: str, table: int, source: Optional[int] = None) -> str:
    """The injected import for ``operation`` (get/set/grow/size/fill) on lowered externref table
    ``table`` (``copy``: from table ``source``), in the load transforms' namespace."""
    return f"externref_{operation}_{table}" if source is None else f"externref_copy_{table}_{source}"


def _trap(calls: GuestCalls, message: str, label: str) -> GuestTrap:
    """What a trapping table instruction raises (the engine would have trapped)."""
    return GuestTrap(calls.budget.export or "<call>", message, label)


#: Bodies of the lowered tables' intrinsics (host/guarded.py; indentation 8). Names: the table's
#: ``slots``, the store's ``refs``/``values``/``pinned`` lists (restored in place, so bound once).
#: ``table.get``: the handle read is pinned (the guest's ``take`` clears the slot before it uses it).
_TABLE_GET = [
    "        i &= 0xFFFFFFFF",
    "        if i >= len(slots):",
    "            raise trap(guest, 'undefined table element', get_label)",
    "        handle = slots[i]",
    "        if handle:",
    "            pin(handle)",
    "        return handle",
]
#: ``table.set``: :meth:`HandleStore.put` inlined (retain the new handle, release the old one).
_TABLE_SET = [
    "        i &= 0xFFFFFFFF",
    "        if i >= len(slots):",
    "            raise trap(guest, 'undefined table element', set_label)",
    "        handle &= 0xFFFFFFFF",
    "        old = slots[i]",
    "        if handle:",
    "            refs[handle] += 1",
    "        slots[i] = handle",
    "        if old:",
    "            left = refs[old] - 1",
    "            refs[old] = left",
    "            if not left and old not in pinned:",
    "                values[old] = None",
    "                free_append(old)",
    "        return None",
]
_TABLE_GROW = ["        return grow(handle & 0xFFFFFFFF, delta, grow_label)"]
_TABLE_SIZE = ["        return len(slots)"]
_TABLE_FILL = ["        return fill(i, handle, n)"]


#: A handle the guest passed, ``{x}``, lifted to its value in place (:meth:`HandleStore.value_of`
#: inlined; a handle that is not live goes to ``value_of``, which traps).
_LIFT = [
    "        if {x}:",
    "            {x} &= 0xFFFFFFFF",
    "            if {x} < len(values) and (refs[{x}] or {x} in pinned):",
    "                {x} = values[{x}]",
    "            else:",
    "                {x} = value_of({x})",
    "        else:",
    "            {x} = None",
]
#: A value, ``{x}``, minted a pinned handle in place (:meth:`HandleStore.mint` inlined, its
#: ``max_host_bytes`` charge too: ``charge`` only raises, naming the import).
_MINT = [
    "        if {x} is None:",
    "            {x} = 0",
    "        else:",
    "            used = budget.used + SLOT",
    "            limit = budget.limit",
    "            if limit is not None and used > limit:",
    "                charge(SLOT, 'externref handle')",
    "            budget.used = used",
    "            if free:",
    "                h = free_pop()",
    "                values[h] = {x}",
    "            else:",
    "                h = len(values)",
    "                values_append({x})",
    "                refs_append(0)",
    "            pin(h)",
    "            {x} = h",
]


#: A lowered import's other result, ``{x}``, checked as the import guard checks it (an i32
#: inline; ``check{k}`` raises ``HostResultError`` naming the import).
_CHECK_I32 = [
    "        if type({x}) is not int or not -2147483648 <= {x} <= 4294967295:",
    "            {x} = check{k}({x})",
]
_CHECK = ["        {x} = check{k}({x})"]


@attrs.define(eq=False)
class HostTable:
    """One lowered externref table: slots of handles, and the original maximum."""

    index: int
    slots: list[int]
    maximum: Optional[int]


class HostTableView:
    """A lowered table with the engine-table API the JS ``WebAssembly.Table`` uses
    (``get``/``set``/``grow``/``size``, each taking a store argument it ignores)."""

    def __init__(self, store: "HandleStore", table: HostTable) -> None:
        self._store = store
        self._table = table

    def size(self, _store: Any = None) -> int:
        return len(self._table.slots)

    def get(self, _store: Any, index: int) -> Any:
        return self._store.value_of(self._store.slot(self._table, index, "Table.get"))

    def set(self, _store: Any, index: int, value: Any) -> None:
        self._store.put(self._table, index, self._store.mint(value, pinned=False), "Table.set")

    def grow(self, _store: Any, delta: int, value: Any = None) -> int:
        store = self._store
        with store.held():  # a grow refused (-1, or over budget) leaves no handle behind
            return store.grow(self._table, store.mint(value), delta, "Table.grow")


class HandleStore:
    """JS values as i32 handles, with the module's externref tables on the host
    (see the module docstring)."""

    kind = "handles"
    #: Above the boundary values cross as themselves, as externref does on wasmtime.
    wasm_type = "externref"

    def __init__(
        self,
        offset: int,
        table_names: tuple[str, ...],
        calls: GuestCalls,
        original: WasmModule,
    ) -> None:
        #: Where undefined/null/true/false sit (``Conventions.value_offset``).
        self.offset = offset
        self._calls = calls
        self._values: list[Any] = [None]
        self._refs: list[int] = [0]
        self._free: list[int] = []
        self._pinned: set[int] = set()
        #: Pins are kept while this is nonzero (see :meth:`held`).
        self._holds = 0
        self.tables: dict[int, HostTable] = {
            index: HostTable(index, [NULL] * table.limits.minimum, table.limits.maximum)
            for index, table in enumerate(original.tables)
            if table.element in _EXTERNREF
        }
        exported = {e.name: e.index for e in original.exports if e.kind == "table" and e.index in self.tables}
        #: Export name -> table, for the host (``table_names`` first: the one ``add``/``take`` use).
        self.by_name: dict[str, HostTable] = {name: self.tables[index] for name, index in exported.items()}
        self.table_names = tuple(n for n in table_names if n in self.by_name) + tuple(
            n for n in self.by_name if n not in table_names
        )
        calls.after_outermost.append(self.release_pinned)

    # -- handles ----------------------------------------------------------------------------------------------
    def mint(self, value: Any, pinned: bool = True) -> int:
        """A new handle for ``value`` (``None``: the null handle), pinned for the current call."""
        if value is None:
            return NULL
        self._calls.budget.charge(SLOT_BYTES, "externref handle")
        free = self._free
        if free:
            handle = free.pop()
            self._values[handle] = value
        else:
            handle = len(self._values)
            self._values.append(value)
            self._refs.append(0)
        if pinned:
            self._pinned.add(handle)
        return handle

    def value_of(self, handle: int) -> Any:
        """The value a handle stands for (the guest passed it, borrowed)."""
        handle &= 0xFFFFFFFF
        if handle == NULL:
            return None
        values = self._values
        if handle >= len(values) or (self._refs[handle] == 0 and handle not in self._pinned):
            raise _trap(self._calls, f"externref handle {handle} is not live", "externref handle")
        return values[handle]

    def _retain(self, handle: int) -> None:
        if handle != NULL:
            self._refs[handle] += 1

    def _release(self, handle: int) -> None:
        if handle == NULL:
            return
        refs = self._refs
        refs[handle] -= 1
        if refs[handle] == 0 and handle not in self._pinned:
            self._drop(handle)

    def _drop(self, handle: int) -> None:
        self._values[handle] = None
        self._free.append(handle)

    def release_pinned(self) -> None:
        """End of the outermost call: handles no table slot holds are released."""
        pinned = self._pinned
        if not pinned or self._holds:
            return
        refs = self._refs
        for handle in pinned:
            if refs[handle] == 0:
                self._drop(handle)
        pinned.clear()

    def handle_count(self) -> int:
        """Live handles (held by a table slot or pinned by the current call)."""
        return len(self._values) - 1 - len(self._free)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Keep this call's pins past the end of the guest call inside (a host-side wrapper that
        converts the call's handles to values afterwards, e.g. a call through a trampoline)."""
        self._holds += 1
        try:
            yield
        finally:
            self._holds -= 1
            if not self._holds and not self._calls.busy:
                self.release_pinned()

    # -- the lowered tables (the guest's side) ------------------------------------------------------------------
    def slot(self, table: HostTable, index: int, label: str) -> int:
        index &= 0xFFFFFFFF
        if index >= len(table.slots):
            raise _trap(self._calls, "undefined table element", label)
        return table.slots[index]

    def put(self, table: HostTable, index: int, handle: int, label: str) -> None:
        index &= 0xFFFFFFFF
        slots = table.slots
        if index >= len(slots):
            raise _trap(self._calls, "undefined table element", label)
        old = slots[index]
        self._retain(handle)
        slots[index] = handle
        self._release(old)

    def grow(self, table: HostTable, handle: int, delta: int, label: str) -> int:
        delta &= 0xFFFFFFFF
        old = len(table.slots)
        if table.maximum is not None and old + delta > table.maximum or old + delta > 0xFFFFFFFF:
            return -1
        self._calls.budget.charge(delta * SLOT_BYTES, label)
        table.slots.extend([handle] * delta)
        if handle != NULL:
            self._refs[handle] += delta
        return old

    def table_imports(self) -> dict[str, Callable[..., Any]]:
        """Handlers of the injected imports (raw i32s: handles and indices)."""
        out: dict[str, Callable[..., Any]] = {GLOBAL_SWAP: self._global_swap}
        for index, table in self.tables.items():
            out.update(self._imports_of(index, table, import_name))
            for source_index, source in self.tables.items():
                out[import_name("copy", index, source_index)] = self._copier(table, source, index, source_index)
        return out

    def _imports_of(
        self, index: int, table: HostTable, import_name: Callable[..., str]
    ) -> dict[str, Callable[..., Any]]:
        """The table's intrinsics, each generated as source (host/guarded.py): linked as an
        import, one frame with the guard inlined (css_inline calls get/set ~127 times per
        ``inline``)."""
        label = f"table {index}"
        env = {"slots": table.slots, "refs": self._refs, "values": self._values, "pinned": self._pinned,
               "pin": self._pinned.add, "free_append": self._free.append, "trap": _trap, "guest": self._calls,
               "grow": functools.partial(self.grow, table), "fill": self._filler(table, label),
               "get_label": f"table.get {label}", "set_label": f"table.set {label}",
               "grow_label": f"table.grow {label}"}  # fmt: skip
        return {
            import_name("get", index): source_handler("table_get", "i", _TABLE_GET, env),
            import_name("set", index): source_handler("table_set", "i, handle", _TABLE_SET, env),
            import_name("grow", index): source_handler("table_grow", "handle, delta", _TABLE_GROW, env),
            import_name("size", index): source_handler("table_size", "", _TABLE_SIZE, env),
            import_name("fill", index): source_handler("table_fill", "i, handle, n", _TABLE_FILL, env),
        }

    def _filler(self, table: HostTable, label: str) -> Callable[[int, int, int], None]:
        def fill(i: int, handle: int, n: int) -> None:
            i, n = i & 0xFFFFFFFF, n & 0xFFFFFFFF
            if i + n > len(table.slots):
                raise _trap(self._calls, "undefined table element", f"table.fill {label}")
            for k in range(i, i + n):
                self.put(table, k, handle & 0xFFFFFFFF, f"table.fill {label}")

        return fill

    def _global_swap(self, new: int, old: int) -> int:
        """``global.set`` of a mutable externref global: the global now refers to ``new``; ``old``
        (which the guest may still hold on its stack) stays pinned for the call."""
        new, old = new & 0xFFFFFFFF, old & 0xFFFFFFFF
        self._retain(new)
        if old != NULL:
            self._pinned.add(old)
            self._release(old)
        return new

    def _copier(self, dst: HostTable, src: HostTable, d_index: int, s_index: int) -> Callable[..., None]:
        label = f"table.copy {d_index} {s_index}"

        def copy(d: int, s: int, n: int) -> None:
            d, s, n = d & 0xFFFFFFFF, s & 0xFFFFFFFF, n & 0xFFFFFFFF
            if d + n > len(dst.slots) or s + n > len(src.slots):
                raise _trap(self._calls, "undefined table element", label)
            moved = src.slots[s : s + n]
            for k, handle in enumerate(moved):
                self.put(dst, d + k, handle, label)

        return copy

    # -- the boundary (original signatures) ------------------------------------------------------------------
    def wrap_import(
        self, handler: Callable[..., Any], original: FuncType, label: str = "<import>"
    ) -> Callable[..., Any]:
        """``handler`` (over values, for the import's original signature) as the lowered import
        ``label``. Its other results are checked as the import guard checks them
        (:func:`~realm_wasmer.host.calls.result_checker`): generated as source, the conversion
        carries its guarded form, so the linker links guard, conversion and checks as one frame."""
        return self._boundary(handler, original.params, original.results, label)

    def wrap_export(self, function: Callable[..., Any], original: FuncType) -> Callable[..., Any]:
        """The engine's lowered export, called with values by the original signature."""
        return self._boundary(function, original.params, original.results, None)

    def _boundary(
        self, inner: Callable[..., Any], params: tuple[str, ...], results: tuple[str, ...], label: Optional[str]
    ) -> Callable[..., Any]:
        """``inner`` with its externref arguments and results converted, generated as source
        for the signature (one frame, no per-call loops): an import (``label`` given) lifts
        handles to values on the way in, mints handles for its externref results and checks
        the others; an export does the reverse."""
        ins = [t in _EXTERNREF for t in params]
        outs = [t in _EXTERNREF for t in results]
        if not any(ins) and not any(outs):
            return inner
        importing = label is not None
        into, out_of = (_LIFT, _MINT) if importing else (_MINT, _LIFT)
        args = [f"a{k}" for k in range(len(params))]
        env: dict[str, Any] = {}
        body = [line.format(x=arg) for arg, ref in zip(args, ins, strict=True) if ref for line in into]
        body.append(f"        r = inner({', '.join(args)})")
        names = [f"r{k}" for k in range(len(results))] if len(results) > 1 else ["r"] * len(results)
        if len(results) > 1:
            body.append(f"        {', '.join(names)}, = r")
        for k, (name, valtype, ref) in enumerate(zip(names, results, outs, strict=True)):
            if ref:
                body += [line.format(x=name) for line in out_of]
            elif importing:
                env[f"check{k}"] = result_checker(FuncType((), (valtype,)), str(label))
                body += [line.format(x=name, k=k) for line in (_CHECK_I32 if valtype == "i32" else _CHECK)]
        if not results and importing:
            env["check0"] = result_checker(FuncType((), ()), str(label))
            body += ["        if r is not None:", "            r = check0(r)"]
        body.append(f"        return ({', '.join(names)},)" if len(results) > 1 else "        return r")
        budget = self._calls.budget
        env.update({"inner": inner, "values": self._values, "refs": self._refs, "pinned": self._pinned,
                    "pin": self._pinned.add, "free": self._free, "free_pop": self._free.pop,
                    "values_append": self._values.append, "refs_append": self._refs.append,
                    "value_of": self.value_of, "budget": budget, "charge": budget.charge,
                    "SLOT": SLOT_BYTES})  # fmt: skip
        return source_handler("lowered" if importing else "call", ", ".join(args), body, env)

    def wrappers(self, original: WasmModule) -> dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]]:
        """Export name -> its wrapper, for the exports whose original signature has externref."""
        return {
            name: functools.partial(self._wrap_with, sig)
            for name, sig in original.function_exports()
            if any(t in _EXTERNREF for t in sig.params + sig.results)
        }

    def _wrap_with(self, signature: FuncType, function: Callable[..., Any]) -> Callable[..., Any]:
        return self.wrap_export(function, signature)

    # -- JsValueStore: as ExternrefTableStore (values cross as themselves above the boundary) ------------------
    @staticmethod
    def lift(raw: Any) -> Any:
        return raw

    lift_owned = lift
    lower = lift
    borrow = lift

    def release_borrowed(self) -> None:
        return None

    def _main_table(self) -> HostTable:
        for name in self.table_names:
            return self.by_name[name]
        if len(self.tables) == 1:
            return next(iter(self.tables.values()))
        raise MissingRuntimeExport(f"the module exports no externref table (lowered tables: {sorted(self.tables)})")

    def view(self, name: str) -> Optional[HostTableView]:
        """The lowered table exported as ``name``, with an engine-table API, or None."""
        table = self.by_name.get(name)
        return HostTableView(self, table) if table is not None else None

    def init_table(self) -> None:
        """``__wbindgen_init_externref_table``: slot 0 = undefined and undefined/null/true/false
        at ``offset..offset+3``, growing the table by 4 when it is not that large."""
        table = self._main_table()
        size = len(table.slots)
        if size < self.offset + 4:
            self.grow(table, NULL, self.offset + 4 - size, "__wbindgen_init_externref_table")
        self.put(table, 0, self.mint(UNDEFINED, pinned=False), "__wbindgen_init_externref_table")
        for i, value in enumerate((UNDEFINED, None, True, False)):
            self.put(table, self.offset + i, self.mint(value, pinned=False), "__wbindgen_init_externref_table")

    def add(self, value: Any) -> int:
        """The glue's ``addToExternrefTable0``: a slot from the guest's allocator, then set."""
        if not self._calls.has("__externref_table_alloc"):
            raise MissingRuntimeExport("the module exports no __externref_table_alloc to place a JS value in its table")
        index = int(self._calls.call("__externref_table_alloc")) & 0xFFFFFFFF
        self.put(self._main_table(), index, self.mint(value, pinned=False), "__externref_table_alloc")
        return index

    def take(self, index: int) -> Any:
        """The glue's ``takeFromExternrefTable0``: read the slot, then the guest's dealloc frees it."""
        value = self.value_of(self.slot(self._main_table(), index, "takeFromExternrefTable0"))
        if self._calls.has("__externref_table_dealloc"):
            self._calls.call("__externref_table_dealloc", index)
        return value

    def live_count(self) -> int:
        """Owned slots above the four constants of the exported table (as on wasmtime)."""
        try:
            table = self._main_table()
        except MissingRuntimeExport:
            return 0
        return sum(1 for handle in table.slots[self.offset + 4 :] if handle != NULL)

    def snapshot(self) -> Any:
        tables = {index: list(table.slots) for index, table in self.tables.items()}
        return (list(self._values), list(self._refs), list(self._free), tables)

    def restore(self, snapshot: Any) -> None:
        values, refs, free, tables = snapshot
        self._values[:] = values
        self._refs[:] = refs
        self._free[:] = free
        self._pinned.clear()
        for index, slots in tables.items():
            self.tables[index].slots[:] = slots


def lowered_signatures(original: WasmModule, runnable: WasmModule) -> dict[tuple[str, str], FuncType]:
    """Original signatures of the function imports that the lowering changed, by (module, name)."""
    lowered = {(i.module, i.name): i.type for i in runnable.imports if i.kind == "func"}
    return {
        (i.module, i.name): i.type
        for i in original.imports
        if i.kind == "func" and isinstance(i.type, FuncType) and lowered.get((i.module, i.name)) != i.type
    }


__all__: Sequence[str] = [
    "EXTERNREF_TYPES", "GLOBAL_SWAP", "NULL", "HandleStore", "HostTable", "HostTableView", "import_name",
    "lower_signature", "lower_type", "lowered_signatures",
]
