"""The per-member code generator: one compiled Python function per bound export.

The function binds its arguments (a fast path for positional calls), runs the
argument checks of :mod:`.lowering`'s codecs, then makes the guest allocations,
one call, and converts the result with :mod:`.lifting`. Its source is compiled
by :func:`.codegen.compile_function` and kept as ``__wbg_source__``.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Optional

import attrs

from ..errors import ArgumentError
from ..instance import Object
from . import descriptors as d
from .codegen import Namespace, compile_function
from .construct import construct_lines
from .convert import bad_self
from .hints import python_signature
from .lifting import direct_expr, inline_retcall, retcall
from .lowering import arg_codec
from .program import Member, python_identifier
from .region import Region
from .runtime import BoundObject, Context, release_bound, use_after_free


@attrs.frozen
class Compiled:
    function: Callable[..., Any]
    signature: inspect.Signature


def compile_member(
    member: Member,
    ctx: Context,
    qualname: str,
    *,
    self_class: Optional[str] = None,
    param_names: Optional[list[str]] = None,
) -> Compiled:
    """Generate the Python function for one member."""
    g = Namespace()
    params = list(member.params)
    spec = python_signature(member, ctx.resolve_class, param_names)
    names = [p.name for p in spec.params]
    receiver = spec.receiver
    sig_params: list[inspect.Parameter] = []
    if receiver:
        sig_params.append(inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD))
    for p in spec.params:
        sig_params.append(
            inspect.Parameter(
                p.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=None if p.default_none else inspect.Parameter.empty,
                annotation=p.hint.runtime,
            )
        )
    signature = inspect.Signature(sig_params, return_annotation=spec.ret.runtime)
    vars_ = [f"a{i}" for i in range(len(sig_params))]
    arg_vars = vars_[1:] if receiver else vars_
    lines: list[str] = []
    binder = g.add(_binder(signature, qualname), "bind")
    # A constructor's receiver always comes positionally (from type.__call__): a parameter
    # of its own, so a call with no arguments binds nothing more.
    positional = "a0, " if member.kind == "constructor" else ""
    if member.kind == "constructor" and len(vars_) == 1:
        lines.append(f"if args or kwargs: {binder}((a0, *args), kwargs)")
    elif positional:
        lines.append(f"if kwargs or len(args) != {len(vars_) - 1}: args = {binder}((a0, *args), kwargs)[1:]")
        lines.append(f"{', '.join(vars_[1:])}, = args")
    elif vars_:
        lines.append(f"if kwargs or len(args) != {len(vars_)}: args = {binder}(args, kwargs)")
        lines.append(f"{', '.join(vars_)}, = args")
    else:
        lines.append(f"if args or kwargs: {binder}(args, kwargs)")
    if receiver:
        assert self_class is not None
        cls = g.add(ctx.classes[self_class], "cls")
        lines.append(
            f"if type(a0) is not {cls} and not isinstance(a0, {cls}): "
            f"{g.add(bad_self, 'self')}(a0, {self_class!r}, {qualname!r})"
        )
    codecs = [arg_codec(p.type, ctx) for p in params]
    for var, name, codec in zip(arg_vars, names, codecs, strict=True):
        where = g.add(_where(member, qualname, name), "w")
        lines.extend(codec.checks(var, where, g))
    # -- from here on the guest is involved --
    raws: list[str] = []
    if member.receiver == "ref":
        lines.append(f"if a0._wbg_closed: {g.add(use_after_free, 'freed')}(a0)")
        lines.append("s = a0._wbg_ptr")
        raws.append("s")
    elif member.receiver == "consume":
        lines.append(f"s = {g.add(release_bound, 'rel')}(a0)")
        raws.append("s")
    body: list[str] = []
    indent = ""
    export = member.export
    inline_ctor = _inline_constructor(ctx, member)
    if member.kind != "constructor" or inline_ctor:
        g.region = Region.open(ctx.instance.context.calls, g, export)
    closers: list[list[str]] = []
    for var, codec in zip(arg_vars, codecs, strict=True):
        lowered = codec.lower(var, g)
        body.extend(indent + line for line in lowered.pre)
        raws.extend(lowered.raws)
        if lowered.cleanup:
            body.append(indent + "try:")
            closers.append([indent + "finally:", *(indent + "    " + c for c in lowered.cleanup)])
            indent += "    "
    raw_list = ", ".join(raws)
    tail: list[str] = []
    if member.kind == "constructor" and g.region is not None:
        # The constructor's crossing in this function's region; the handle made after it.
        _, kind, failed = ctx.instance.constructor_parts(member.class_name or "", export)
        crossing, tail = construct_lines(g.region, ctx.abi, ctx.instance.memory, export, raw_list, kind, failed, "a0")
        body.extend(indent + line for line in crossing)
    elif member.kind == "constructor":
        body.append(indent + f"a0._wbg_adopt({g.add(_constructor(ctx, member, qualname), 'ctor')}({raw_list}))")
    else:
        layout = d.abi_layout(member.ret)
        aggregate = layout.aggregate and bool(layout.leaves)
        inline = inline_retcall(ctx, export, member.ret, qualname, g, raw_list) if aggregate else None
        if layout.aggregate and layout.leaves and inline is not None:
            body.extend(indent + line for line in inline)
        elif layout.aggregate and layout.leaves:
            body.append(indent + f"return {g.add(retcall(ctx, export, member.ret, qualname), 'ret')}({raw_list})")
        else:
            # The export's raw callable in the region, or its bound caller (GuestCalls.caller):
            # the arity is right by construction.
            if g.region is not None:
                stage, guest = g.region.call(export)
                body.append(indent + stage)
            else:
                guest = g.add(ctx.instance.context.calls.caller(export), "guest")
            if not layout.leaves:
                body.append(indent + f"{guest}({raw_list})")
                body.append(indent + "return None")
            else:
                body.append(indent + f"r = {guest}({raw_list})")
                body.append(indent + f"return {direct_expr(member.ret, 'r', ctx, g, qualname)}")
    for closer in reversed(closers):
        body.extend(closer)
    lines.extend(body if g.region is None else g.region.wrap(body))
    lines.extend(tail)
    fname = python_identifier(qualname.rsplit(".", 1)[-1])
    source = f"def {fname}({positional}*args, **kwargs):\n" + "".join(f"    {line}\n" for line in lines)
    function = compile_function(source, fname, g.ns, qualname)
    function.__signature__ = signature  # type: ignore[attr-defined]
    function.__qualname__ = qualname
    function.__name__ = qualname.rsplit(".", 1)[-1]
    function.__annotations__ = {
        p.name: p.annotation for p in sig_params if p.annotation is not inspect.Parameter.empty
    } | {"return": signature.return_annotation}
    function.__doc__ = _docstring(member)
    function.__wbg_source__ = source  # type: ignore[attr-defined]
    return Compiled(function, signature)


def _where(member: Member, qualname: str, name: str) -> str:
    if member.kind == "setter":
        return f"{qualname.rsplit('.', 1)[0]}.{member.property_name or member.js_name} value"
    return f"{qualname}() argument {name!r}"


Binder = Callable[[tuple[Any, ...], dict[str, Any]], tuple[Any, ...]]


def _binder(signature: inspect.Signature, qualname: str) -> Binder:
    def bind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise ArgumentError(f"{qualname}(): {exc}") from None
        bound.apply_defaults()
        return tuple(bound.arguments.values())

    return bind


def _inline_constructor(ctx: Context, member: Member) -> bool:
    """Whether ``member`` is a Pattern 3 constructor the host core knows, whose crossing
    the generated ``__init__`` makes itself (:func:`.construct.construct_lines`: the
    reusable out-slot, so the module has malloc)."""
    instance = ctx.instance
    if member.kind != "constructor" or member.class_name is None or not instance.info.roles.get("malloc"):
        return False
    info = instance.class_info(member.class_name)
    ctor = next((c for c in info.constructors if c.export == member.export), None)
    return ctor is not None and ctor.pattern == 3 and not ctor.multi_value


def _constructor(ctx: Context, member: Member, qualname: str) -> Callable[..., Object]:
    """Build an object through the host core's pattern machinery
    (``Instance.construct``). A constructor export that inspection did not
    classify is called here and its pointer wrapped (``Instance.wrap``)."""
    instance, class_name, export = ctx.instance, member.class_name, member.export
    assert class_name is not None
    info = instance.class_info(class_name)
    if any(c.export == export for c in info.constructors):
        return instance.constructor(class_name, export)
    if d.abi_layout(member.ret).aggregate:
        call_retptr = retcall(ctx, export, member.ret, qualname)

        def construct_retptr(*raws: Any) -> Object:
            handle: Object = BoundObject.handle.fget(call_retptr(*raws))  # type: ignore[attr-defined]
            return handle

        return construct_retptr

    def construct_direct(*raws: Any) -> Object:
        return instance.wrap(class_name, int(instance.call(export, *raws)))

    return construct_direct


def _docstring(member: Member) -> str:
    lines = [f"``{member.rust_signature}`` (wasm export ``{member.export}`` {member.signature})"]
    if member.comments:
        lines.append("")
        lines.extend(c.strip() for c in member.comments)
    if isinstance(member.ret, d.Result):
        lines.append("")
        if member.kind == "constructor":
            lines.append("Raises realm_wasmer.JsError when the Rust constructor returns Err.")
        else:
            lines.append("Raises JsResultError (a realm_wasmer.JsError) when the Rust function returns Err.")
    return "\n".join(lines)
