"""What bound code runs against: the bound object and module classes, and the
per-module context that generated functions close over."""

from __future__ import annotations

import enum
from typing import Any, Callable, ClassVar, TypeVar

from ..errors import BindingError, RealmWasmerError, UseAfterFree
from ..instance import Instance, Object
from ..objects import HandleKind, free_object
from .program import Api

_T = TypeVar("_T", bound="BoundObject")


class BoundObject:
    """Base of every bound class: a handle that owns one guest object.

    The object is freed by ``close()`` (``free()`` in JS terms), by leaving a
    ``with`` block, or by a finalizer when the handle is dropped; use after
    that raises :class:`~realm_wasmer.errors.UseAfterFree`. ``handle`` is the
    :class:`~realm_wasmer.instance.Object` face of the same ownership.

    The bound object holds the handle's state itself (no second object per guest
    object on the hot path): the :class:`~realm_wasmer.objects.HandleKind`, the
    pointer, and whether it stopped owning it; ``handle`` is a :class:`BoundHandle`
    reading and writing that state. Generated code reads these slots directly.
    """

    __slots__ = ("_wbg_kind", "_wbg_ptr", "_wbg_closed", "__weakref__")
    _wbg_class: ClassVar[str] = ""
    _wbg_scalar_props: ClassVar[tuple[str, ...]] = ()
    _wbg_kind: HandleKind
    _wbg_ptr: int
    _wbg_closed: bool

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise BindingError(
            f"{type(self).__name__} has no #[wasm_bindgen(constructor)]; its objects come from "
            "static methods or functions that return it"
        )

    @classmethod
    def _wbg_from_handle(cls: type[_T], handle: Object) -> _T:
        obj = cls.__new__(cls)
        obj._wbg_adopt(handle)
        return obj

    def _wbg_adopt(self, handle: Object) -> None:
        """Own what ``handle`` owned (an :class:`Object`, or another bound object's
        :class:`BoundHandle`): its state moves here, and ``handle`` stops owning without
        freeing (the object count is unchanged: the ownership only moved)."""
        self._wbg_kind = handle._kind
        self._wbg_ptr = handle._ptr
        self._wbg_closed = handle.closed
        handle.closed = True

    @property
    def handle(self) -> Object:
        """The :class:`~realm_wasmer.instance.Object` face of this ownership: a new face
        each time (a cached one would make a reference cycle, and a dropped bound
        object would then wait for the garbage collector to be freed)."""
        return BoundHandle(self)

    @property
    def ptr(self) -> int:
        """The guest pointer (raises UseAfterFree once freed)."""
        if self._wbg_closed:
            use_after_free(self)
        return self._wbg_ptr

    @property
    def closed(self) -> bool:
        return self._wbg_closed

    def close(self) -> None:
        """Free the guest object (a second call does nothing).

        :meth:`Object.close <realm_wasmer.objects.Object.close>` on this state (bound
        classes whose handles come from their constructor get a generated one,
        ``construct.compile_close``, that falls back to this); keep the two in step."""
        if self._wbg_closed:
            return
        kind = self._wbg_kind
        kind.calls.check_thread()  # a foreign thread is refused with the handle still open
        self._wbg_closed = True
        registry = kind.registry
        if registry is not None:
            registry.count -= 1
        if kind.calls.poisoned_by is not None:
            return
        free_call = kind.free_call
        args = (self._wbg_ptr, 0) if kind.free_arity == 2 else (self._wbg_ptr,)
        if free_call is None:
            kind.calls.call(kind.free_export, *args)
        else:
            free_call(*args)

    #: The JS name of :meth:`close`.
    free = close

    def __del__(self) -> None:
        # Object.__del__ on this state: the glue's FinalizationRegistry.
        try:
            if self._wbg_closed:
                return
        except AttributeError:  # never fully made: owns nothing
            return
        self._wbg_closed = True
        kind = self._wbg_kind
        if kind.registry is not None:
            kind.registry.count -= 1
        free_object(kind.calls, kind.free_export, self._wbg_ptr, kind.free_arity)

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        name = type(self).__name__
        if not hasattr(self, "_wbg_closed"):
            return f"<{name} (not constructed)>"
        if self._wbg_closed:
            return f"<{name} (freed)>"
        parts = [f"ptr={self._wbg_ptr:#x}"]
        if self._wbg_kind.calls.poisoned_by is None:
            try:
                for prop in type(self)._wbg_scalar_props:
                    value = getattr(self, prop)
                    parts.append(f"{prop}={value:.7g}" if isinstance(value, float) else f"{prop}={value!r}")
            except RealmWasmerError:
                parts = parts[:1]
        return f"<{name} {' '.join(parts)}>"


class BoundHandle(Object):
    """The :class:`~realm_wasmer.objects.Object` face of a bound object: its handle
    state (kind, pointer, closed) is the bound object's, read and written through.
    The bound object frees on drop; this face never does."""

    __slots__ = ("_owner",)

    def __init__(self, owner: BoundObject) -> None:
        self._owner = owner

    @property
    def _kind(self) -> HandleKind:  # type: ignore[override]
        return self._owner._wbg_kind

    @property
    def _ptr(self) -> int:  # type: ignore[override]
        return self._owner._wbg_ptr

    @property  # type: ignore[override]
    def closed(self) -> bool:
        return self._owner._wbg_closed

    @closed.setter
    def closed(self, value: bool) -> None:
        self._owner._wbg_closed = value

    def __del__(self) -> None:
        pass  # the owner frees


def use_after_free(obj: BoundObject) -> None:
    """Raise :class:`~realm_wasmer.errors.UseAfterFree` for a freed bound object."""
    raise UseAfterFree(f"{type(obj)._wbg_class or type(obj).__name__} object at {obj._wbg_ptr:#x} was already freed")


def release_bound(obj: BoundObject) -> int:
    """Hand a bound object's pointer to the guest (a by-value argument or receiver):
    it stops owning without freeing, as the glue's ``__destroy_into_raw``."""
    if obj._wbg_closed:
        use_after_free(obj)
    obj._wbg_closed = True
    registry = obj._wbg_kind.registry
    if registry is not None:
        registry.count -= 1
    return obj._wbg_ptr


class BoundModule:
    """The namespace :func:`bind` returns: bound classes, functions and enums as
    attributes (JS names, plus snake_case aliases), and

    * ``instance``: the :class:`~realm_wasmer.instance.Instance` they run on;
    * ``api``: the decoded :class:`~realm_wasmer.bindings.program.Api`;
    * ``classes``/``functions``/``enums``: by JS name;
    * ``unbound``: exports that were not bound, with the reason.

    A JS name equal to one of these attribute names shadows it; the values stay
    reachable as ``_wbg_instance`` and ``_wbg_api``.
    """

    def __init__(self, instance: Instance, api: Api, label: str) -> None:
        self._wbg_instance = instance
        self._wbg_api = api
        self._wbg_label = label
        self.instance = instance
        self.api = api
        self.classes: dict[str, type[BoundObject]] = {}
        self.functions: dict[str, Callable[..., Any]] = {}
        self.enums: dict[str, type[enum.IntEnum]] = {}
        self.unbound: dict[str, str] = {u.export: u.reason for u in api.unbound}

    def __repr__(self) -> str:
        classes = ", ".join(self.classes) or "none"
        return (
            f"<bound wasm-bindgen module {self._wbg_label} on {self._wbg_instance.engine_name}: "
            f"classes {classes}; {len(self.functions)} functions; {len(self.unbound)} unbound>"
        )


class Context:
    """What generated code needs of one bound module."""

    def __init__(self, instance: Instance, api: Api) -> None:
        self.instance = instance
        self.abi = instance.abi
        self.api = api
        self.classes: dict[str, type[BoundObject]] = {}

    def wrap(self, class_name: str) -> Callable[[int], Any]:
        instance, classes = self.instance, self.classes

        def wrap(ptr: int) -> Any:
            return classes[class_name]._wbg_from_handle(instance.wrap(class_name, ptr))

        return wrap

    def resolve_class(self, name: str) -> Any:
        return self.classes.get(name, name)
