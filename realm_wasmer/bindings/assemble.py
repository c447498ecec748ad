"""The bound module put together: classes with their methods and properties,
enums and free functions, published under their JS names and snake_case aliases."""

from __future__ import annotations

import enum
import logging
from pathlib import Path
from typing import Any, Callable, Optional

from ..instance import Instance
from . import descriptors as d
from .construct import compile_close
from .generate import compile_member
from .hints import type_hint
from .naming import class_members, member_names, unique_names
from .program import Api, ApiClass, EnumInfo, Property, python_identifier
from .runtime import BoundModule, BoundObject, Context
from .shapes import unclamp

log = logging.getLogger("realm_wasmer.bindings")

Entry = tuple[list[str], Any]

#: ``BoundModule`` attributes a bound name shadows (with a warning).
_RESERVED = frozenset({"instance", "api", "classes", "functions", "enums", "unbound"})


def assemble(instance: Instance, api: Api, label: Optional[str] = None) -> BoundModule:
    """The :class:`BoundModule` of ``api`` on ``instance``."""
    ctx = Context(instance, api)
    module = BoundModule(instance, api, label or "module")
    #: Bound classes show as ``<stem>.<Class>`` (``realm.Realm`` for realm.wasm) in signatures and help().
    module_name = python_identifier(Path(label).stem) if label else "bound"
    # Classes first (empty), so that signatures and wrappers can refer to each other.
    for cls in api.classes.values():
        ctx.classes[cls.name] = type(cls.name, (BoundObject,), {"__slots__": (), "_wbg_class": cls.name})
    entries: list[Entry] = []
    for cls in api.classes.values():
        target = ctx.classes[cls.name]
        for key, value in _class_namespace(cls, ctx).items():
            if key != "__slots__":
                setattr(target, key, value)
        target.__module__ = module_name
        target.__qualname__ = cls.name
        module.classes[cls.name] = target
        entries.append(([python_identifier(cls.name)], target))
    for name, info in api.enums.items():
        module.enums[name] = _make_enum(info)
        entries.append(([python_identifier(name)], module.enums[name]))
    for member in api.functions.values():
        function = compile_member(member, ctx, member.js_name).function
        module.functions[member.js_name] = function
        entries.append((member_names(member.js_name), function))
    for name, value in unique_names(entries):
        if name in _RESERVED:
            log.warning("bound name %r shadows BoundModule.%s (still reachable as _wbg_%s)", name, name, name)
        setattr(module, name, value)
    return module


def _scalar_props(cls: ApiClass) -> tuple[str, ...]:
    return tuple(
        p.name
        for p in cls.properties
        if p.getter is not None and not p.static and isinstance(unclamp(p.type), (d.Int, d.Float, d.Bool))
    )


def _class_namespace(cls: ApiClass, ctx: Context) -> dict[str, Any]:
    ns: dict[str, Any] = {"__slots__": (), "_wbg_class": cls.name, "_wbg_scalar_props": _scalar_props(cls)}
    doc = [f"The wasm-bindgen class ``{cls.name}`` (free export ``{cls.free_export}``)."]
    doc.extend(c.strip() for c in cls.comments)
    ns["__doc__"] = "\n".join(doc)
    if cls.constructor is not None:
        compiled = compile_member(cls.constructor, ctx, f"{cls.name}.__init__", self_class=cls.name)
        ns["__init__"] = compiled.function
    entries: list[Entry] = []
    for js_name, kind, item in class_members(cls):
        qualname = f"{cls.name}.{js_name}"
        value: Any
        if isinstance(item, Property):
            value = _property(item, qualname, cls.name, ctx)
        elif kind == "method":
            value = compile_member(item, ctx, qualname, self_class=cls.name).function
        else:
            value = staticmethod(compile_member(item, ctx, qualname).function)
        entries.append((member_names(js_name), value))
    ns.update(unique_names(entries, ns))
    close = _close(cls, ctx)
    for name in ("close", "free"):  # a JS member of that name keeps it, as before
        if close is not None and name not in ns:
            ns[name] = close
    return ns


def _close(cls: ApiClass, ctx: Context) -> Optional[Callable[[Any], None]]:
    """``close``/``free`` for the handles the class's constructor makes (one guarded
    crossing into the free export; others go through :meth:`BoundObject.close`), or
    None (the inherited one) where the engine has no guarded regions or the
    constructor export is not one the host core classified."""
    instance, ctor = ctx.instance, cls.constructor
    if ctor is None or not any(c.export == ctor.export for c in instance.class_info(cls.name).constructors):
        return None
    _, kind, _ = instance.constructor_parts(cls.name, ctor.export)
    return compile_close(kind, BoundObject.close, f"{cls.name}.close")


def _property(prop: Property, qualname: str, class_name: str, ctx: Context) -> property:
    fget = compile_member(prop.getter, ctx, qualname, self_class=class_name).function if prop.getter else None
    fset = compile_member(prop.setter, ctx, qualname, self_class=class_name).function if prop.setter else None
    hint = type_hint(prop.type, "ret", ctx.resolve_class)
    kind = "read/write" if fset else "read-only"
    doc = f"{prop.name}: {prop.type} ({kind} property; Python type {hint.text})"
    return property(fget, fset, None, doc)


def _make_enum(info: EnumInfo) -> type[enum.IntEnum]:
    members = [(python_identifier(v.name), v.value) for v in info.variants]
    made = enum.IntEnum(python_identifier(info.name), members)  # type: ignore[misc]
    made.__doc__ = "\n".join(c.strip() for c in info.comments) or f"The wasm-bindgen enum {info.name}."
    return made
