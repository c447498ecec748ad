"""Live counts of one instance, for leak checks and reports."""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class Stats:
    """What :meth:`Instance.stats() <realm_wasmer.instance.Instance.stats>` returns.

    Fields are read as attributes (``stats.heap_live``) or, as before this was a
    record, by key (``stats["heap_live"]``).
    """

    #: Owned JS values the guest holds (heap slab or externref table), and the slab's high-water mark.
    heap_live: int
    heap_peak: int
    #: ``&JsValue`` arguments currently on the heap's borrow stack.
    borrowed: int
    #: Object handles not yet closed.
    objects_live: int
    #: Live slots of a raw module's host-side externref table.
    externref_live: int
    #: Live handles of an externref module lowered for wasmer (``HandleStore.handle_count``:
    #: held by a table slot or pinned by the current call, the four constants included); 0
    #: where values are not lowered to handles.
    handles_live: int
    #: Size of every exported table.
    tables: dict[str, int]
    memory_bytes: int
    #: Export calls (host -> guest), and the ABI helpers' crossings.
    calls: int
    crossings: int
    #: Calls to stubbed imports (``on_missing="stub"``), by ``module.name``.
    stub_calls: dict[str, int]
    poisoned: bool

    def __getitem__(self, key: str) -> Any:
        if key not in attrs.fields_dict(Stats):
            raise KeyError(key)
        return getattr(self, key)

    def as_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)
