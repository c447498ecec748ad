"""A guarded region: a binding's whole sequence of crossings as one guarded call.

Where the engine hands out raw callables and is bound to one thread (wasmer), a
generated binding does the per-call bookkeeping of :meth:`GuestCalls.caller`
once for its malloc, export and free instead of once per crossing: the owner and
poison checks, the outermost-call resets (last import, pending host exception,
host budget), the depth, one ``try`` that turns an engine error into
:class:`~realm_wasmer.errors.GuestTrap` naming the export that was running (the
stage ``_k`` reached), the call count (one per crossing made) and the hooks after
the outermost call. Elsewhere (:meth:`Region.open` gives None) the bindings call
the bound callers as before.
"""

from __future__ import annotations

import struct
import threading
from typing import Any, Callable, Optional

from ..host.abi import Abi
from ..host.calls import GuestCalls
from ..host.memory import GuestMemory
from .codegen import Namespace


class Region:
    """The crossings of one generated function, and the lines around them."""

    def __init__(self, calls: GuestCalls, g: Namespace, export: str) -> None:
        self.calls = calls
        self.g = g
        self.export = export
        self.names: list[str] = []

    @classmethod
    def open(cls, calls: GuestCalls, g: Namespace, export: str) -> Optional["Region"]:
        """A region for the function being generated, or None where the engine has none."""
        return cls(calls, g, export) if calls.raw(export) is not None else None

    def call(self, export: str) -> tuple[str, str]:
        """(the stage line, the callee's name) for one crossing into ``export``: its raw
        callable, or its bound caller (a nested guarded call) where it has no raw one."""
        raw = self.calls.raw(export)
        if raw is None:
            return "pass", self.g.add(self.calls.caller(export), "guest")
        self.names.append(export)
        return f"_k = {len(self.names) - 1}", self.g.add(raw, "raw")

    def slot_call(
        self,
        export: str,
        raws: str,
        abi: Abi,
        memory: GuestMemory,
        unpack_from: Callable[[Any, int], tuple[Any, ...]],
        size: int,
        clear: Optional[Callable[..., None]] = None,
    ) -> list[str]:
        """Lines calling ``export(slot, raws)`` with the reusable out-slot of this call
        depth (in the region: the owner's thread, so no lock), then unpacking its first
        ``size`` bytes into ``f``, read through the view left in ``v`` (memory keeps its
        base when it grows: a view covering the slot before the call still covers it).
        ``clear``: a ``pack_into`` that zeroes the slot before the call. Both are a
        :class:`struct.Struct`'s: a view too short for the slot raises ``struct.error``
        (``TypeError`` for ``pack_into`` on the read-only empty view memory starts with),
        and only then is the range checked (``GuestMemory.trusted``: the view refreshed,
        or :class:`~realm_wasmer.errors.GuestMemoryError`), not with ``len()`` per call."""
        stage, guest = self.call(export)
        g = self.g
        a, slots = g.add(abi, "abi"), g.add(abi.slot_list, "slots")
        view, trusted = g.add(memory, "memory"), g.add(memory.trusted, "trusted")
        unpack, short = g.add(unpack_from, "unpack"), g.add((struct.error, TypeError), "short")
        call = f"{guest}(slot{', ' if raws else ''}{raws})"
        if clear is None:
            inner = [stage, call, f"v = {view}.trusted_view",
                     "try:", f"    f = {unpack}(v, slot)",
                     f"except {short}:", f"    f = {unpack}({trusted}(slot, {size}), slot)"]  # fmt: skip
        else:
            zeros = ", ".join(["0"] * len(unpack_from(bytes(size), 0)))
            pack = f"{g.add(clear, 'clear')}(v, slot, {zeros})"
            inner = [f"v = {view}.trusted_view", "try:", f"    {pack}",
                     f"except {short}:", f"    v = {trusted}(slot, {size})", f"    {pack}",
                     stage, call, f"f = {unpack}(v, slot)"]  # fmt: skip
        return [
            f"_sd = {a}._slot_depth",
            "try:",  # the slot of this depth is there but the first time (no len() per call)
            f"    slot = {slots}[_sd]",
            "except IndexError:",
            f"    slot = {a}.slot_at(_sd)",
            f"{a}._slot_depth = _sd + 1",
            "try:",
            *("    " + line for line in inner),
            "finally:",
            f"    {a}._slot_depth = _sd",
        ]

    def wrap(self, body: list[str], refused: Optional[list[str]] = None) -> list[str]:
        """``body`` (which makes the crossings of :meth:`call`) inside the guarded region.
        ``refused``: lines run instead of ``_refuse()`` when the gate is shut (poisoned, or a
        foreign thread); they must return or raise."""
        if not self.names:
            return body
        g, calls = self.g, self.calls
        c = g.add(calls, "calls")
        budget, export = g.add(calls.budget, "budget"), g.add(self.export, "export")
        return [
            # The poison and owner checks as one comparison (GuestCalls._gate).
            f"if {g.add(threading.get_ident, 'ident')}() != {c}._gate:",
            *("    " + line for line in (refused or [f"{c}._refuse()"])),
            f"_d = {c}._depth",
            # The outermost resets, each stored only when it changes (a load is cheaper than a
            # store; a call that imported nothing leaves them as they were). A pending host
            # exception is only ever recorded by an import call, which first names itself in
            # _last_import (a "module.name" label: never falsy), so it is looked at only then.
            "if not _d:",
            f"    if {c}._last_import:",
            f"        {c}._last_import = None",
            f"        if {c}._host_exception: {c}._host_exception = None",
            f"    if {budget}.used: {budget}.used = 0",
            f"    if {budget}.export is not {export}: {budget}.export = {export}",
            f"{c}._depth = _d + 1",
            "_k = -1",
            "try:",
            *("    " + line for line in body),
            "except BaseException as _e:",
            f"    if _k >= 0: {g.add(calls.region_failed, 'failed')}({tuple(self.names)!r}, _k, _e)",
            "    raise",
            "finally:",
            f"    {c}._depth = _d",
            f"    {c}.calls += _k + 1",
            f"    if not _d and {g.add(calls.after_outermost, 'hooks')}: {c}.run_hooks()",
        ]
