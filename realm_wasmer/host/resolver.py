"""The import resolver chain.

Every function import of a module is put to an ordered chain of resolvers; the
first that answers supplies the Python handler. The default chain is:

1. :class:`Imports`: the user's handlers, registered by exact name, by name with
   the 16-hex hash stripped, or by glob, per namespace (``"*"`` for any);
2. :class:`~realm_wasmer.host.intrinsics.IntrinsicResolver`: wasm-bindgen's runtime
   intrinsics, with the JS glue's semantics;
3. :class:`~realm_wasmer.host.intrinsics.ShimResolver`: the few js-sys/web-sys
   bindings that are known by name and signature (console logging);
4. :class:`MissingPolicy`: what to do with what is left: ``"error"`` (refuse to
   instantiate, listing every unresolved import), ``"trap"`` (the default: link
   a function that raises :class:`UnresolvedImport` naming the import when the
   guest calls it), or ``"stub"`` (return zeros, counted and logged).

User handlers receive a :class:`Caller` first, giving typed access to guest
memory and the JS heap, then the import's wasm arguments.
"""

from __future__ import annotations

import fnmatch
import functools
import logging
from typing import Any, Callable, Iterable, Optional, Protocol

import attrs

from ..errors import AmbiguousHandler, UnresolvedImport
from ..wasm import FuncType
from .context import ContextParts, HostContext
from .naming import ImportName, parse_import_name, strip_hash

log = logging.getLogger("realm_wasmer.imports")

POLICIES = ("error", "trap", "stub")


@attrs.frozen
class ImportRequest:
    """One function import: where it lives, its name and its wasm signature."""

    module: str
    name: str
    signature: FuncType

    @property
    def parsed(self) -> ImportName:
        return parse_import_name(self.name)

    def __str__(self) -> str:
        return f"{self.module}.{self.name} {self.signature}"


@attrs.frozen
class Resolution:
    """A resolver's answer: the handler, who answered, and what it does."""

    #: Called with the import's wasm arguments (already bound to the host context).
    handler: Callable[..., Any]
    #: e.g. ``user``, ``intrinsic``, ``shim``, ``policy:trap``.
    resolver: str
    description: str
    #: The import's category for inspection: intrinsic, shim, host or unknown.
    kind: str = "host"
    #: True/False: the handler's exceptions are (not) caught into ``Err`` for the
    #: guest (``#[wasm_bindgen(catch)]``); None: as the module's glue says.
    catch: Optional[bool] = None
    #: The user registration that answered (for ambiguity checks), if any.
    registration: Any = attrs.field(default=None, eq=False, repr=False)


class Resolver(Protocol):
    name: str

    def resolve(self, request: ImportRequest, ctx: HostContext) -> Optional[Resolution]: ...


@attrs.frozen
class Caller(ContextParts):
    """What a user handler gets as its first argument: the host context's parts
    (``memory``, ``values``/``heap``, ``abi``, ``tables``) and ``call``."""

    context: HostContext
    #: The import being served, e.g. ``env.realm_store_model``.
    import_name: str

    def call(self, export: str, *args: Any) -> Any:
        """Call an export of the guest from inside the handler (re-entrant)."""
        return self.context.calls.call(export, *args)


@attrs.define
class _Registration:
    namespace: str
    pattern: str
    match: str
    handler: Callable[..., Any]
    pass_caller: bool
    catch: Optional[bool] = None

    def matches(self, request: ImportRequest) -> bool:
        if self.namespace != "*" and self.namespace != request.module:
            return False
        if self.match == "exact":
            return self.pattern == request.name
        if self.match == "stripped":
            return self.pattern in (strip_hash(request.name), request.parsed.base)
        return fnmatch.fnmatchcase(request.name, self.pattern)


class Imports:
    """The user's import handlers.

    >>> imports = Imports()
    >>> @imports.handler("env", "realm_store_model")
    ... def store(caller, ptr, length, model_id):
    ...     data = caller.memory.read(ptr, length)
    ...     return 0

    ``match`` is ``"exact"`` (the default), ``"stripped"`` (the name without
    its 16-hex hash: ``__wbg_log`` or ``log`` matches ``__wbg_log_<hash>``), or
    ``"glob"`` (``fnmatch`` pattern). Exact registrations win over stripped
    ones, which win over globs. With ``caller=False`` the handler gets only the
    wasm arguments (the fastest form, for hot imports). ``catch=True`` gives the
    import ``#[wasm_bindgen(catch)]`` semantics (an exception becomes the guest's
    ``Err``); by default that follows the module's glue when it was given.
    """

    name = "user"

    def __init__(self, handlers: Optional[dict[tuple[str, str], Callable[..., Any]]] = None) -> None:
        self._registrations: list[_Registration] = []
        for (namespace, name), handler in (handlers or {}).items():
            self.register(namespace, name, handler)

    def register(
        self,
        namespace: str,
        name: str,
        handler: Callable[..., Any],
        *,
        match: str = "exact",
        caller: bool = True,
        catch: Optional[bool] = None,
    ) -> None:
        if match not in ("exact", "stripped", "glob"):
            raise ValueError(f"match must be 'exact', 'stripped' or 'glob', not {match!r}")
        self._registrations.append(_Registration(namespace, name, match, handler, caller, catch))

    def handler(
        self, namespace: str, name: str, *, match: str = "exact", caller: bool = True, catch: Optional[bool] = None
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator form of :meth:`register`."""

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            self.register(namespace, name, func, match=match, caller=caller, catch=catch)
            return func

        return decorate

    def __len__(self) -> int:
        return len(self._registrations)

    def resolve(self, request: ImportRequest, ctx: HostContext) -> Optional[Resolution]:
        # Within a mode, a registration for the import's own namespace beats one for "*".
        ordered = sorted(self._registrations, key=lambda r: r.namespace == "*")
        for mode in ("exact", "stripped", "glob"):
            for registration in ordered:
                if registration.match == mode and registration.matches(request):
                    handler = registration.handler
                    bound: Callable[..., Any] = handler
                    if registration.pass_caller:
                        caller = Caller(ctx, f"{request.module}.{request.name}")
                        bound = functools.partial(handler, caller)  # C-level: no extra Python frame
                    label = getattr(handler, "__qualname__", repr(handler))
                    return Resolution(
                        bound,
                        f"user:{mode}",
                        f"user handler {label}",
                        "host",
                        catch=registration.catch,
                        registration=registration,
                    )
        return None


def _refuse_ambiguous(resolved: dict[tuple[str, str], tuple[ImportRequest, Resolution]]) -> None:
    """A ``match="stripped"`` registration must not answer two different
    bindings: ``__wbg_new`` would otherwise serve both ``new Array()`` and
    ``new Object()`` (distinct hashes) with one handler."""
    by_registration: dict[int, list[str]] = {}
    for request, resolution in resolved.values():
        if resolution.resolver == "user:stripped" and resolution.registration is not None:
            by_registration.setdefault(id(resolution.registration), []).append(request.name)
    for names in by_registration.values():
        hashes = {parse_import_name(n).hash for n in names}
        if len(hashes) > 1:
            raise AmbiguousHandler(
                f"a handler registered by stripped name would answer {len(names)} different imports "
                f"({', '.join(sorted(names))}); register each by its exact name"
            )


def zero_of(valtype: str) -> Any:
    return 0.0 if valtype in ("f32", "f64") else (None if valtype in ("externref", "funcref") else 0)


def zeros(signature: FuncType) -> Any:
    if not signature.results:
        return None
    if len(signature.results) == 1:
        return zero_of(signature.results[0])
    return tuple(zero_of(t) for t in signature.results)


class MissingPolicy:
    """The last link of the chain: what happens to imports nobody answered."""

    def __init__(self, policy: str = "trap") -> None:
        if policy not in POLICIES:
            raise ValueError(f"on_missing must be one of {POLICIES}, not {policy!r}")
        self.policy = policy
        self.name = f"policy:{policy}"
        #: Calls made to stubbed imports, by ``module.name``.
        self.stub_calls: dict[str, int] = {}

    def resolve(self, request: ImportRequest, ctx: HostContext) -> Optional[Resolution]:
        label = f"{request.module}.{request.name}"
        if self.policy == "error":
            return None
        if self.policy == "trap":

            def trap(*args: Any) -> Any:
                raise UnresolvedImport(
                    f"the guest called import {label} {request.signature} with arguments {list(args)}, "
                    "but no handler is registered for it (on_missing='trap'); register one with "
                    f"Imports.register({request.module!r}, {request.name!r}, handler)",
                    [(request.module, request.name, str(request.signature))],
                )

            return Resolution(trap, self.name, "raises UnresolvedImport when called", "unknown")

        result = zeros(request.signature)

        def stub(*args: Any) -> Any:
            self.stub_calls[label] = self.stub_calls.get(label, 0) + 1
            log.warning("stubbed import %s called with %s; returning %r", label, list(args), result)
            return result

        return Resolution(stub, self.name, f"stub returning {result!r} (counted, logged)", "unknown")


def resolve_all(
    requests: Iterable[ImportRequest], chain: list[Any], ctx: HostContext
) -> dict[tuple[str, str], tuple[ImportRequest, Resolution]]:
    """Resolve every request through ``chain``; under the ``error`` policy,
    raise one :class:`UnresolvedImport` listing all that are left."""
    resolved: dict[tuple[str, str], tuple[ImportRequest, Resolution]] = {}
    missing: list[ImportRequest] = []
    for request in requests:
        for resolver in chain:
            answer = resolver.resolve(request, ctx)
            if answer is not None:
                resolved[(request.module, request.name)] = (request, answer)
                break
        else:
            missing.append(request)
    _refuse_ambiguous(resolved)
    if missing:
        listing = "\n".join(f"  {r}" for r in missing)
        raise UnresolvedImport(
            f"{len(missing)} import(s) have no handler (on_missing='error'):\n{listing}",
            [(r.module, r.name, str(r.signature)) for r in missing],
        )
    return resolved
