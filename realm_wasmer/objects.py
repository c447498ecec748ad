"""Handles that own guest objects: freed once, by the class's free export, never twice."""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional

import attrs

from .errors import ConstructorError, UseAfterFree
from .host.calls import GuestCalls
from .inspection import ClassInfo, Constructor

log = logging.getLogger("realm_wasmer")


@attrs.define
class ExplainStep:
    """One step of an explained construction: what happened, with the words involved."""

    what: str
    detail: dict[str, Any]

    def __str__(self) -> str:
        fields = ", ".join(f"{k}={_fmt(v)}" for k, v in self.detail.items())
        return f"{self.what}: {fields}" if fields else self.what


def _fmt(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value > 9:
        return f"{value:#x}"
    return repr(value)


def free_object(calls: GuestCalls, free_export: str, ptr: int, arity: int) -> None:
    if calls.poisoned_by is not None:
        return
    try:
        args = (ptr, 1) if arity == 2 else (ptr,)
        calls.call(free_export, *args)
    except Exception as exc:  # a finalizer must not raise (ForeignThread, a trap...)
        log.warning("finalizer could not free object %#x with %s: %s", ptr, free_export, exc)


def free_export_of(info: ClassInfo, constructor: Constructor, has_export: Any) -> tuple[str, int]:
    """The export that frees an object of ``info`` built by ``constructor``, and its arity."""
    if constructor.pattern == 2:
        base = constructor.export.rsplit("_", 1)[0]
        name = f"{base}_free"
        if not has_export(name):
            raise ConstructorError(f"C-style constructor {constructor.export} has no matching {name} export")
        return name, 1
    if info.free is None:
        raise ConstructorError(f"class {info.name!r} has no free export")
    return info.free, info.free_arity or 1


class LiveObjects:
    """How many handles of one instance still own their object (``Stats.objects_live``):
    a counter each handle updates when it stops owning (close, release, finalizer), so
    making a handle costs no weak reference."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


@attrs.frozen(eq=False)
class HandleKind:
    """What every handle made by one constructor shares: one object referenced by each
    handle instead of seven slots filled per handle (the hot path makes one per object)."""

    calls: GuestCalls
    info: ClassInfo
    constructor: Constructor
    free_export: str
    free_arity: int
    #: The free export's bound caller (``GuestCalls.caller``), from a prebuilt constructor.
    free_call: Optional[Callable[..., Any]] = None
    registry: Optional[LiveObjects] = None


class Object:
    """A handle owning one guest object. ``close()`` (or leaving a ``with``
    block) frees it with the class's free export at its arity; a finalizer does
    the same (with ``allow_delayed=1``, as the JS FinalizationRegistry does) if
    the handle is dropped first. Use after close raises :class:`UseAfterFree`;
    a second ``close()`` does nothing, so a double free cannot happen."""

    # Slots: a handle is made per guest object on the hot path (no per-handle dict); what
    # handles of one constructor share is one HandleKind. Hot paths make a handle with
    # ``Object.__new__`` and set ``_kind``, ``_ptr`` and (last) ``closed`` (see ``from_kind``).
    __slots__ = ("_kind", "_ptr", "_explain", "closed", "__weakref__")

    def __init__(
        self,
        calls: GuestCalls,
        info: ClassInfo,
        ptr: int,
        constructor: Constructor,
        registry: Optional[LiveObjects] = None,
        free: Optional[tuple[str, int]] = None,
        free_call: Optional[Callable[..., Any]] = None,
    ) -> None:
        # ``free``: free_export_of(info, constructor, ...) computed once by a prebuilt constructor.
        free_export, arity = free if free is not None else free_export_of(info, constructor, calls.has)
        self._kind = HandleKind(calls, info, constructor, free_export, arity, free_call, registry)
        self._ptr = ptr
        if registry is not None:
            registry.count += 1
        self.closed = False  # owning from here on (the finalizer frees only a fully made handle)

    @classmethod
    def from_kind(cls, kind: HandleKind, ptr: int) -> "Object":
        """A handle of ``kind`` owning ``ptr`` (what the hot paths inline)."""
        obj = cls.__new__(cls)
        obj._kind = kind
        obj._ptr = ptr
        if kind.registry is not None:
            kind.registry.count += 1
        obj.closed = False
        return obj

    @property
    def explain(self) -> list[ExplainStep]:
        """The steps of an explained construction (``Instance.construct``), else empty."""
        try:
            return self._explain
        except AttributeError:
            self._explain: list[ExplainStep] = []
            return self._explain

    @explain.setter
    def explain(self, steps: list[ExplainStep]) -> None:
        self._explain = steps

    @property
    def _calls(self) -> GuestCalls:
        return self._kind.calls

    @property
    def class_info(self) -> ClassInfo:
        return self._kind.info

    @property
    def constructor(self) -> Constructor:
        return self._kind.constructor

    @property
    def _free_export(self) -> str:
        return self._kind.free_export

    @property
    def _free_arity(self) -> int:
        return self._kind.free_arity

    @property
    def _free_call(self) -> Optional[Callable[..., Any]]:
        return self._kind.free_call

    @property
    def _registry(self) -> Optional[LiveObjects]:
        return self._kind.registry

    @property
    def poisoned(self) -> bool:
        """Whether the instance that owns the object trapped (its memory may be inconsistent)."""
        return self._calls.poisoned_by is not None

    @property
    def ptr(self) -> int:
        if self.closed:
            raise UseAfterFree(f"{self.class_info.name} object at {self._ptr:#x} was already freed")
        return self._ptr

    def call(self, export: str, *args: Any) -> Any:
        """Call a method export with this object's pointer as its first argument (raw wasm values)."""
        return self._calls.call(export, self.ptr, *args)

    def release(self) -> int:
        """Give up ownership without freeing: the guest took the object by value
        (a method consuming ``self``, or an argument passed by value)."""
        ptr = self.ptr
        self._disown()
        return ptr

    def _disown(self) -> None:
        self.closed = True
        if self._registry is not None:
            self._registry.count -= 1

    def close(self) -> None:
        """Free the object. On a poisoned instance nothing is called (its memory
        is discarded with it on ``reset()``)."""
        if self.closed:
            return
        self._calls.check_thread()  # a foreign thread is refused with the handle still open
        self._disown()
        if self._calls.poisoned_by is not None:
            return
        self.close_free()

    def close_free(self) -> None:
        """The free call of :meth:`close` (``BoundObject.close`` inlines the rest)."""
        args = (self._ptr, 0) if self._free_arity == 2 else (self._ptr,)
        if self._free_call is not None:
            self._free_call(*args)
        else:
            self._calls.call(self._free_export, *args)

    def __del__(self) -> None:
        # The glue's FinalizationRegistry: a dropped handle frees its object, with
        # allow_delayed=1 where the free export takes it (cheaper than weakref.finalize).
        try:
            if self.closed:
                return
        except AttributeError:  # a handle that was never fully made owns nothing
            return
        self._disown()
        free_object(self._calls, self._free_export, self._ptr, self._free_arity)

    def __enter__(self) -> "Object":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "freed" if self.closed else f"ptr={self._ptr:#x}"
        return f"<{self.class_info.name} {state} (pattern {self.constructor.pattern} via {self.constructor.export})>"
