"""Where the JS values a guest refers to live: one protocol, one store per representation.

wasm-bindgen modules hand JS values across the boundary in one of two ways,
which the :class:`~realm_wasmer.conventions.Conventions` record names:

* ``"heap"``: an i32 index into a host-side slab (:class:`~realm_wasmer.host.heap.JsHeap`);
* ``"externref"``: the value itself, as an ``externref``, kept by the guest in an
  exported externref table (:class:`ExternrefTableStore`; engines that pass
  externref to Python, i.e. wasmtime).

* ``"handles"``: externref lowered to i32 handles for engines that cannot pass
  externref (:class:`~realm_wasmer.host.handles.HandleStore`, chosen by the
  externref lowering transform on wasmer); above the boundary it behaves as
  ``"externref"`` does (:data:`GLUE_SEMANTICS`).

Every intrinsic, binding and handler
goes through this protocol, so none of them knows which store it works on.
The method names are the glue's: ``add`` is ``addHeapObject`` /
``addToExternrefTable0``, ``take`` is ``takeObject`` / ``takeFromExternrefTable0``.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Protocol

from ..engines.base import EngineInstance
from ..errors import MissingRuntimeExport, UnsupportedFeature
from ..js.values import UNDEFINED

#: The glue semantics each store follows (which intrinsics exist for it): the handle store
#: is the externref ABI with the values kept on the host.
GLUE_SEMANTICS: dict[str, str] = {"heap": "heap", "externref": "externref", "handles": "externref"}


class JsValueStore(Protocol):
    """The host side of the JS values a guest holds."""

    #: "heap", "externref" or "handles" (the ``Conventions.value_store`` it serves, or the
    #: store a load transform asks for).
    kind: str
    #: The wasm type a JS value crosses as ("i32" or "externref").
    wasm_type: str

    def add(self, value: Any) -> int:
        """Store ``value`` and return a new owned i32 index the guest may keep."""

    def take(self, index: int) -> Any:
        """The value at an owned index the guest handed back, releasing the index."""

    def lift(self, raw: Any) -> Any:
        """A JS value the guest passes to an import, borrowed."""

    def lift_owned(self, raw: Any) -> Any:
        """A JS value the guest passes to an import, giving up its reference."""

    def lower(self, value: Any) -> Any:
        """A JS value an import returns: what the guest receives for it."""

    def borrow(self, value: Any) -> Any:
        """A ``&JsValue`` argument of an export call; undone by :meth:`release_borrowed`."""

    def release_borrowed(self) -> None: ...

    def live_count(self) -> int:
        """Owned values the guest currently holds (for leak checks)."""

    def snapshot(self) -> Any: ...

    def restore(self, snapshot: Any) -> None: ...


def _identity(value: Any) -> Any:
    return value


def unwrap(value: Any) -> Any:
    """wasmtime-py returns some externref table entries wrapped in a ``Val``."""
    return getattr(value, "value", value) if type(value).__name__ == "Val" else value


class ExternrefTableStore:
    """JS values as externrefs in the module's exported externref table.

    Values cross the boundary as themselves, so ``lift``/``lower``/``borrow``
    are the identity; indices appear only where the ABI passes an i32 slot
    (``takeFromExternrefTable0`` for returned values, ``addToExternrefTable0``
    for ``exn_store``), and those need the engine's table API.
    """

    kind = "externref"
    wasm_type = "externref"
    lift = staticmethod(_identity)
    lift_owned = staticmethod(_identity)
    lower = staticmethod(_identity)
    borrow = staticmethod(_identity)

    def __init__(
        self,
        offset: int,
        table_names: tuple[str, ...],
        call: Callable[..., Any],
        exported_functions: frozenset[str],
    ) -> None:
        #: Where undefined/null/true/false sit (``Conventions.value_offset``).
        self.offset = offset
        self.table_names = table_names
        self._call = call
        self._exports = exported_functions
        self._engine: Optional[EngineInstance] = None
        #: The (table, store) pair found by :meth:`_table`, kept for the instance's life.
        self._found: Optional[tuple[Any, Any]] = None

    def bind(self, engine_instance: EngineInstance) -> None:
        self._engine = engine_instance
        self._found = None

    def release_borrowed(self) -> None:
        return None

    def _table(self) -> tuple[Any, Any]:
        """The module's externref table and the engine's store (looked up once per binding:
        ``add``/``take`` run per crossing on externref modules)."""
        found = self._found
        if found is not None:
            return found
        engine = self._engine
        table_of = getattr(engine, "table", None)
        store = getattr(engine, "store", None)
        if table_of is not None and store is not None:
            for name in self.table_names:
                table = table_of(name)
                if table is not None:
                    self._found = (table, store)
                    return self._found
        raise UnsupportedFeature(
            "this engine cannot reach the module's externref table from the host "
            f"(tables: {list(self.table_names)}); use engine='wasmtime'"
        )

    def init_table(self) -> None:
        """``__wbindgen_init_externref_table``, as the glue does it: slot 0 =
        undefined, and undefined/null/true/false at ``offset..offset+3``, growing
        the table by 4 when it is not already that large (css_inline 0.2.127
        grows; rollup 0.2.130 is preallocated to 1028 and sets them directly)."""
        table, store = self._table()
        size = int(table.size(store))
        if size < self.offset + 4:
            table.grow(store, self.offset + 4 - size, None)
        table.set(store, 0, UNDEFINED)
        for i, value in enumerate((UNDEFINED, None, True, False)):
            table.set(store, self.offset + i, value)

    def add(self, value: Any) -> int:
        """The glue's ``addToExternrefTable0``: a slot from the guest's allocator, then set."""
        if "__externref_table_alloc" not in self._exports:
            raise MissingRuntimeExport("the module exports no __externref_table_alloc to place a JS value in its table")
        index = int(self._call("__externref_table_alloc")) & 0xFFFFFFFF
        table, store = self._table()
        table.set(store, index, value)
        return index

    def take(self, index: int) -> Any:
        """The glue's ``takeFromExternrefTable0``: read the slot, then the guest's dealloc frees it."""
        table, store = self._table()
        value = unwrap(table.get(store, index))
        if "__externref_table_dealloc" in self._exports:
            self._call("__externref_table_dealloc", index)
        return value

    def live_count(self) -> int:
        """Owned slots above the four constants. Not for hot paths: on wasmtime
        each slot read is a few microseconds."""
        table, store = self._table()
        first = self.offset + 4
        return sum(1 for i in range(first, int(table.size(store))) if unwrap(table.get(store, i)) is not None)

    def snapshot(self) -> Any:
        table, store = self._table()
        return [unwrap(table.get(store, i)) for i in range(int(table.size(store)))]

    def restore(self, snapshot: Any) -> None:
        table, store = self._table()
        size = int(table.size(store))
        if size < len(snapshot):
            table.grow(store, len(snapshot) - size, None)
        for i, value in enumerate(snapshot):
            table.set(store, i, value)
        for i in range(len(snapshot), size):
            table.set(store, i, None)
