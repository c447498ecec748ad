"""Limits on what one guest call may use: ``rw.load(..., limits=Limits(fuel=..., timeout_s=...))``.

Every limit holds on every engine; how differs:

* ``fuel``: wasmtime natively (``Config.consume_fuel``, ``store.set_fuel`` before
  each call: one unit per executed instruction); wasmer through the ``metering``
  load transform (a fuel counter charged at function entries and loop headers).
* ``timeout_s``: wasmtime natively (``Config.epoch_interruption``, a ticker thread
  every :data:`EPOCH_TICK_S`); wasmer through the same counter, which calls a host
  check every :data:`CHECK_INTERVAL` units.
* ``max_memory_pages``, ``max_table_elements``: wasmtime natively
  (``store.set_limits``); wasmer through the ``grow_guard`` load transform (every
  ``memory.grow``/``table.grow`` asks the host first).

``fuel`` and ``timeout_s`` apply to each outermost export call (and to the start
section at instantiation, and to ``__wbindgen_start``); running out raises
:class:`~realm_wasmer.errors.ResourceExhausted` naming the export and the limit,
and poisons the instance. A grow past ``max_memory_pages`` or
``max_table_elements`` fails inside the guest the way a grow past a module's own
maximum does (``memory.grow`` returns -1); a module whose *initial* memory or
table is already larger is refused at instantiation with ``ResourceExhausted``.

Fuel is counted in instructions, but not identically: wasmtime counts the
instructions executed; wasmer's metering charges, at each function entry and
each loop iteration, the instructions of that function or loop body (an upper
bound; straight-line functions without calls or loops are not charged). Give
fuel as a budget with headroom, not as an exact count.

``max_host_bytes`` bounds what the host allocates on the guest's behalf during
one outermost call (the instantiation with its start section, ``__wbindgen_start``
and each export call count separately): the bytes wasm-bindgen's intrinsics copy
out of guest memory (``__wbindgen_string_new``, ``__wbindgen_error_new``,
``__wbindgen_json_parse``, ``__wbindgen_throw``, the string casts, the JS
evaluator's ``getStringFromWasm0``), console messages, and :data:`SLOT_BYTES` per
slot of host-side table or JS-value heap growth (``__wbindgen_externref_table_grow``,
every JS value an intrinsic hands the guest). The charge is made *before* the
allocation, so a refused request allocates nothing; it is an estimate (the
UTF-8 byte count of a string; Python's own objects may take up to ~5x that
transiently). Past it, the intrinsic raises
:class:`~realm_wasmer.errors.ResourceExhausted` naming the import and the limit,
and the instance is poisoned. The default is :data:`DEFAULT_MAX_HOST_BYTES`
(also when no ``Limits`` is given); ``max_host_bytes=None`` disables it. The
budget is per call, not per instance: values the guest keeps across calls
stay charged to the call that made them (see ``Instance.stats()`` for what is live).
Unlike the other limits it needs nothing of the engine (the host enforces it).
"""

from __future__ import annotations

from typing import Any, Optional

import attrs

from .errors import ResourceExhausted

#: wasmer: the host checks the deadline (and grants more fuel) every this many fuel units.
CHECK_INTERVAL = 1_000_000
#: ``Limits.max_host_bytes`` by default (and when no Limits is given): 256 MiB per call.
DEFAULT_MAX_HOST_BYTES = 256 * 1024 * 1024
#: What one slot of a host-side table or JS-value heap is charged (a Python list slot).
SLOT_BYTES = 8

#: wasmtime: the epoch ticker's period; a timeout is rounded up to whole ticks.
EPOCH_TICK_S = 0.005


def _positive(instance: Any, attribute: Any, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"Limits.{attribute.name} must be a positive number or None, not {value!r}")
    if attribute.name != "timeout_s" and not isinstance(value, int):
        raise ValueError(f"Limits.{attribute.name} must be an integer, not {value!r}")


@attrs.frozen
class Limits:
    """What each call into the guest may use (None: unlimited). See the module docstring."""

    #: Instructions per export call (see the module docstring for how each engine counts).
    fuel: Optional[int] = attrs.field(default=None, validator=_positive)
    #: Seconds per export call.
    timeout_s: Optional[float] = attrs.field(default=None, validator=_positive)
    #: Pages (64 KiB) linear memory may grow to.
    max_memory_pages: Optional[int] = attrs.field(default=None, validator=_positive)
    #: Elements any table may grow to.
    max_table_elements: Optional[int] = attrs.field(default=None, validator=_positive)
    #: Bytes the host may allocate for the guest per call (see the module docstring); None: unbounded.
    max_host_bytes: Optional[int] = attrs.field(default=DEFAULT_MAX_HOST_BYTES, validator=_positive)

    @property
    def stops_calls(self) -> bool:
        """True when a call can be stopped (``fuel`` or ``timeout_s``)."""
        return self.fuel is not None or self.timeout_s is not None

    @property
    def bounds_growth(self) -> bool:
        return self.max_memory_pages is not None or self.max_table_elements is not None

    @property
    def active(self) -> bool:
        """True when a limit the engine enforces is set (the load pipeline then uses a limited
        engine); ``max_host_bytes`` is enforced by the host on every engine."""
        return self.stops_calls or self.bounds_growth

    def needs(self) -> dict[str, str]:
        """The capabilities (``engines.base.CAPABILITIES``) these limits need of an engine, with the
        settings that need them."""
        needs: dict[str, str] = {}
        if self.stops_calls:
            needs["metering"] = f"fuel={self.fuel}, timeout_s={self.timeout_s}"
        if self.bounds_growth:
            needs["grow_limits"] = f"max_memory_pages={self.max_memory_pages}, "\
                f"max_table_elements={self.max_table_elements}"
        return needs


def limit_needs(limits: Optional[Limits]) -> dict[str, str]:
    """:meth:`Limits.needs`, or nothing without limits."""
    return limits.needs() if limits is not None else {}


class Governor:
    """One instance's account of its limits: what the current call used, its deadline,
    and the grows refused. The limited engine makes one per instance and hands it to
    the injected imports (``transforms.metering``) and its own per-call hooks."""

    def __init__(self, limits: Limits, clock: Any = None) -> None:
        import time

        self.limits = limits
        self._clock = clock or time.monotonic
        #: The export being called (the outermost one), for the error.
        self.export = "<instantiation>"
        #: Fuel units used by the current call, and granted to the guest's counter since the last check.
        self.used = 0
        self.granted = 0
        self.deadline: Optional[float] = None
        #: Host checks made (wasmer metering), and grows refused: ``(kind, current, delta)``.
        self.checks = 0
        self.refused: list[tuple[str, int, int]] = []

    # -- calls ----------------------------------------------------------------------
    def begin(self, export: str, counter_set: bool = True) -> int:
        """A new outermost call (or the instantiation, whose counter starts at 0 in the
        module: ``counter_set=False``): returns the fuel to put in the guest's counter."""
        self.export = export
        self.used = 0
        timeout = self.limits.timeout_s
        self.deadline = self._clock() + timeout if timeout is not None else None
        self.granted = self._grant() if counter_set else 0
        return self.granted

    def _grant(self) -> int:
        fuel = self.limits.fuel
        return CHECK_INTERVAL if fuel is None else max(0, min(CHECK_INTERVAL, fuel - self.used))

    def refuel(self, counter: int) -> int:
        """The guest's counter went below zero (``counter``): account for what was used,
        raise :class:`ResourceExhausted` past a limit, else return the counter's new value."""
        self.checks += 1
        self.used += self.granted - counter
        fuel = self.limits.fuel
        if fuel is not None and self.used > fuel:
            raise ResourceExhausted(self.export, "fuel", fuel, f"used at least {self.used} units")
        self.check_deadline()
        self.granted = self._grant()
        return self.granted

    def check_deadline(self) -> None:
        if self.deadline is not None and self._clock() > self.deadline:
            late = self._clock() - self.deadline
            raise ResourceExhausted(self.export, "timeout_s", self.limits.timeout_s, f"{late:.3f} s past the deadline")

    def exhausted(self, limit: str, detail: str = "") -> ResourceExhausted:
        """The error for ``limit`` (a field of :class:`Limits`) in the current call."""
        return ResourceExhausted(self.export, limit, getattr(self.limits, limit), detail)

    # -- growth ---------------------------------------------------------------------
    def may_grow(self, kind: str, current: int, delta: int) -> bool:
        """Whether a ``memory.grow`` (``kind="memory"``, in pages) or ``table.grow``
        (``"table"``, in elements) from ``current`` by ``delta`` stays within the limits."""
        current &= 0xFFFFFFFF
        delta &= 0xFFFFFFFF
        bound = self.limits.max_memory_pages if kind == "memory" else self.limits.max_table_elements
        if bound is None or current + delta <= bound:
            return True
        self.refused.append((kind, current, delta))
        return False


class HostBudget:
    """The bytes the host allocated for the guest in the current outermost call, against
    ``Limits.max_host_bytes`` (``limit``; None: unbounded). One per instance, held by its
    :class:`~realm_wasmer.host.calls.GuestCalls`, which resets ``used`` and names ``export``
    when an outermost call begins; intrinsics :meth:`charge` before they allocate."""

    __slots__ = ("limit", "used", "export")

    def __init__(self, limit: Optional[int] = DEFAULT_MAX_HOST_BYTES) -> None:
        self.limit = limit
        self.used = 0
        self.export = "<instantiation>"

    def charge(self, size: int, what: str) -> None:
        """Account for ``size`` bytes about to be allocated by import ``what``, or raise
        :class:`ResourceExhausted` (nothing is charged then)."""
        if size <= 0:
            return
        limit = self.limit
        used = self.used + size
        if limit is not None and used > limit:
            raise ResourceExhausted(
                self.export, "max_host_bytes", limit,
                f"import {what} asked the host for {size} bytes with {self.used} already allocated in this call",
            )
        self.used = used


__all__ = [
    "CHECK_INTERVAL", "DEFAULT_MAX_HOST_BYTES", "EPOCH_TICK_S", "SLOT_BYTES", "Governor", "HostBudget", "Limits",
    "limit_needs",
]
