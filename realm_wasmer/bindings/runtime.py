"""What bound code runs against: the bound object and module classes, and the
per-module context that generated functions close over."""

from __future__ import annotations

import enum
from typing import Any, Callable, ClassVar, TypeVar

from ..errors import BindingError, RealmWasmerError
from ..instance import Instance, Object
from .program import Api

_T = TypeVar("_T", bound="BoundObject")


class BoundObject:
    """Base of every bound class: a handle that owns one guest object.

    The object is freed by ``close()`` (``free()`` in JS terms), by leaving a
    ``with`` block, or by a finalizer when the handle is dropped; use after
    that raises :class:`~realm_wasmer.errors.UseAfterFree`. The underlying
    :class:`~realm_wasmer.instance.Object` is ``handle``.
    """

    __slots__ = ("_wbg_handle", "__weakref__")
    _wbg_class: ClassVar[str] = ""
    _wbg_scalar_props: ClassVar[tuple[str, ...]] = ()
    _wbg_handle: Object

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise BindingError(
            f"{type(self).__name__} has no #[wasm_bindgen(constructor)]; its objects come from "
            "static methods or functions that return it"
        )

    @classmethod
    def _wbg_from_handle(cls: type[_T], handle: Object) -> _T:
        obj = cls.__new__(cls)
        obj._wbg_handle = handle
        return obj

    @property
    def handle(self) -> Object:
        """The :class:`~realm_wasmer.instance.Object` owning the pointer."""
        return self._wbg_handle

    @property
    def ptr(self) -> int:
        """The guest pointer (raises UseAfterFree once freed)."""
        return self._wbg_handle.ptr

    @property
    def closed(self) -> bool:
        return self._wbg_handle.closed

    def close(self) -> None:
        """Free the guest object (a second call does nothing).

        :meth:`Object.close <realm_wasmer.objects.Object.close>` inline (one frame
        less on the hot path of ``Realm().free()``); keep the two in step."""
        h = self._wbg_handle
        if h.closed:
            return
        kind = h._kind
        kind.calls.check_thread()  # a foreign thread is refused with the handle still open
        h.closed = True
        registry = kind.registry
        if registry is not None:
            registry.count -= 1
        if kind.calls.poisoned_by is not None:
            return
        free_call = kind.free_call
        if free_call is None:
            h.close_free()
        elif kind.free_arity == 2:
            free_call(h._ptr, 0)
        else:
            free_call(h._ptr)

    #: The JS name of :meth:`close`.
    free = close

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        name = type(self).__name__
        handle = getattr(self, "_wbg_handle", None)
        if handle is None:
            return f"<{name} (not constructed)>"
        if handle.closed:
            return f"<{name} (freed)>"
        parts = [f"ptr={handle.ptr:#x}"]
        if not handle.poisoned:
            try:
                for prop in type(self)._wbg_scalar_props:
                    value = getattr(self, prop)
                    parts.append(f"{prop}={value:.7g}" if isinstance(value, float) else f"{prop}={value!r}")
            except RealmWasmerError:
                parts = parts[:1]
        return f"<{name} {' '.join(parts)}>"


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
