"""The realm: one JS world (global object, job queues) in which a package's modules run.

It turns compiled function templates into JS functions and classes, runs promise jobs
(microtasks), timers and ``FinalizationRegistry`` cleanups, and implements ``await``:
an ``await`` drains the job queue until its promise settles (the evaluator runs an async
function to completion before returning its promise; a promise nothing can settle is an
error naming it, never a hang).
"""

from __future__ import annotations

import collections
import re
from typing import Any, Callable, Iterator, Optional

from ..errors import JsError, JsThrow
from ..limits import HostBudget
from . import model as m
from .compiler import ARGS, FIRST_SLOT, NEW_TARGET, RETURN, THIS, FunctionTemplate
from .model import JSFunction, JsObject
from .values import UNDEFINED

CATCHABLE: tuple[type[BaseException], ...] = (JsError, RecursionError)


class PromiseObject(JsObject):
    __slots__ = ("state", "result", "reactions", "handled")

    def __init__(self, proto: Any) -> None:
        super().__init__()
        self.proto = proto
        self.cls = "Promise"
        self.state = "pending"
        self.result: Any = UNDEFINED
        self.reactions: list[tuple[Any, Any, "PromiseObject"]] = []
        self.handled = False


class Realm:
    """Globals, helper registry and job queues of one package load."""

    catchable = CATCHABLE

    def __init__(self) -> None:
        #: This realm's prototypes and exotic-value tables (see :class:`~realm_wasmer.js.model.Intrinsics`);
        #: made active here, so the standard library installs into them.
        self.intrinsics = m.Intrinsics()
        m.activate(self.intrinsics)
        self.global_object = m.new_object()
        self.jobs: collections.deque[Callable[[], None]] = collections.deque()
        self.timers: list[tuple[int, int, Callable[[], None]]] = []
        self._timer_seq = 0
        #: FinalizationRegistry cleanups waiting for a safe point (between API calls).
        self.cleanups: collections.deque[Callable[[], None]] = collections.deque()
        #: name -> helper implementation (see helpers.py); filled by the package loader.
        self.helpers: dict[str, Any] = {}
        self.promise_proto: Any = None
        self.iterator_proto = m.new_object(cls="Iterator")
        self.loader: Any = None
        self.regexp_factory: Optional[Callable[[str, str], Any]] = None
        #: What the evaluator allocated on the package's behalf in the current outermost
        #: package call (``Limits.max_host_bytes``): copies out of wasm memory, new buffers,
        #: big strings and arrays. The bridge resets it on each call from Python.
        self.budget: HostBudget = self.intrinsics.budget
        #: The wasm instances of this realm (poisoned when the budget runs out).
        self.instances: list[Any] = []
        m.define(self.iterator_proto, m.SYM_ITERATOR, JSFunction(lambda this, args: this, "[Symbol.iterator]"))

    def poison(self, exc: BaseException) -> None:
        """A limit ran out in this realm's JS (the host budget): its JS heap may be half-updated,
        so every wasm instance refuses further calls (``PoisonedInstance``)."""
        from ..errors import RealmWasmerError

        for instance in self.instances:
            calls = instance.context.calls
            if calls.poisoned_by is None:
                calls.poisoned_by = exc if isinstance(exc, RealmWasmerError) else RealmWasmerError(str(exc))

    def charge(self, size: int, what: str) -> None:
        """Account ``size`` bytes the evaluator is about to allocate for ``what`` (the JS text)
        against ``Limits.max_host_bytes``; raises ResourceExhausted (nothing allocated) past it."""
        self.budget.charge(size, what)

    # -- classes and functions ------------------------------------------------------------
    def native_class(
        self,
        name: str,
        proto: JsObject,
        make: Optional[Callable[[list[Any], Any], Any]],
        g: Optional[JsObject],
        call: Optional[Callable[[Any, list[Any]], Any]] = None,
    ) -> JSFunction:
        def no_call(this: Any, args: list[Any]) -> Any:
            raise m.throw("TypeError", f"Class constructor {name} cannot be invoked without 'new'")

        ctor = JSFunction(call or no_call, name, 1, make=make)
        ctor.is_class = True
        m.define(ctor, "prototype", proto, writable=False)
        m.define(proto, "constructor", ctor)
        if g is not None:
            m.define(g, name, ctor)
        return ctor

    def closure_maker(self, tpl: FunctionTemplate) -> Callable[[list[Any]], JSFunction]:
        init = [UNDEFINED] * (tpl.size - FIRST_SLOT)
        bind, body, name, nparams = tpl.bind, tpl.body, tpl.name, tpl.nparams
        self_slot = tpl.self_slot
        kind = tpl.kind
        expression = tpl.expression_body
        source = tpl.source
        free = tpl.free
        params = tpl.params
        direct_factory = tpl.direct
        realm = self

        def make(env: list[Any]) -> JSFunction:
            fn = JSFunction(_unset, name, nparams, kind=kind)
            fn.source = source
            fn.free = free
            fn.params = params
            if expression:

                def impl(this: Any, args: list[Any]) -> Any:
                    f = [env, this, args, fn, UNDEFINED, *init]
                    bind(f, args)
                    return body(f)

            else:

                def impl(this: Any, args: list[Any]) -> Any:
                    f = [env, this, args, fn, UNDEFINED, *init]
                    bind(f, args)
                    if self_slot is not None:
                        f[self_slot] = fn
                    r = body(f)
                    if r is not None and r[0] == RETURN:
                        return r[1]
                    return UNDEFINED

            if tpl.is_async:
                sync = impl

                def impl(this: Any, args: list[Any]) -> Any:  # noqa: F811
                    try:
                        return realm.promise_resolve(sync(this, args))
                    except CATCHABLE as exc:
                        return realm.promise_rejected(caught(exc))

            fn.impl = impl
            translated = direct_factory(env, fn) if direct_factory is not None else None
            if translated is not None and kind != "constructor":
                if getattr(translated, "uses_this", False):
                    fn.impl = translated  # takes (this, args) as impl does
                else:
                    fn.direct = translated
                    fn.impl = lambda this, args: translated(*args)
            if kind == "function" and not tpl.is_async:

                def construct(args: list[Any], new_target: Any) -> Any:
                    this = m.new_object(_prototype_for(new_target))
                    f = [env, this, args, fn, new_target, *init]
                    bind(f, args)
                    if self_slot is not None:
                        f[self_slot] = fn
                    r = body(f)
                    if r is not None and r[0] == RETURN and m.is_object(r[1]):
                        return r[1]
                    return this

                fn.make = construct
            elif kind == "constructor":

                def run_ctor(args: list[Any], ctx: Any) -> Any:
                    new_target, this, cls = ctx
                    f = [env, this, args, cls, new_target, *init]
                    bind(f, args)
                    r = body(f)
                    if r is not None and r[0] == RETURN and m.is_object(r[1]):
                        return r[1]
                    if f[THIS] is UNDEFINED:
                        raise m.throw(
                            "ReferenceError",
                            "Must call super constructor in derived class before accessing 'this' "
                            "or returning from derived constructor",
                        )
                    return f[THIS]

                fn.make = run_ctor if translated is None else _translated_ctor(translated, run_ctor)
            return fn

        return make

    def make_class(
        self, name: str, proto: JsObject, parent: Any, derived: bool, ctor: Optional[JSFunction]
    ) -> JSFunction:
        def no_call(this: Any, args: list[Any]) -> Any:
            raise m.throw("TypeError", f"Class constructor {name} cannot be invoked without 'new'")

        cls = JSFunction(no_call, name, ctor.nparams if ctor is not None else 0, kind="class")
        cls.is_class = True
        cls.is_derived = derived and parent is not None
        cls.home = proto
        if isinstance(parent, JSFunction):
            cls.proto = parent
        m.define(cls, "prototype", proto, writable=False)
        m.define(proto, "constructor", cls)
        fields = cls.fields

        if cls.is_derived:

            def make(args: list[Any], new_target: Any) -> Any:
                if ctor is None:
                    this = m.construct(cls.proto, args, new_target)
                    for init in fields:
                        init(this)
                    return this
                assert ctor.make is not None
                return ctor.make(args, (new_target, UNDEFINED, cls))

        else:

            def make(args: list[Any], new_target: Any) -> Any:
                # ``prototype`` of a class is read-only: ``new C()`` needs no look-up
                this = m.new_object(proto if new_target is cls else _prototype_for(new_target))
                for init in fields:
                    init(this)
                if ctor is None:
                    return this
                assert ctor.make is not None
                return ctor.make(args, (new_target, this, cls))

        cls.make = make
        if ctor is not None:
            ctor.home = proto
            cls.params = ctor.params
        elif isinstance(parent, JSFunction):
            cls.params = parent.params
        return cls

    # -- iterators ----------------------------------------------------------------------------
    def make_iterator(self, items: Iterator[Any]) -> JsObject:
        it = m.new_object(self.iterator_proto, "Array Iterator")

        def next_(this: Any, args: list[Any]) -> Any:
            result = m.new_object()
            try:
                value = next(items)
            except StopIteration:
                dict.__setitem__(result, "value", UNDEFINED)
                dict.__setitem__(result, "done", True)
                return result
            dict.__setitem__(result, "value", value)
            dict.__setitem__(result, "done", False)
            return result

        m.define(it, "next", JSFunction(next_, "next"))
        return it

    # -- promises and jobs ------------------------------------------------------------------------
    def new_promise(self) -> PromiseObject:
        return PromiseObject(self.promise_proto)

    def resolve(self, p: PromiseObject, value: Any) -> None:
        if p.state != "pending":
            return
        if value is p:
            self.reject(p, m.make_error("TypeError", "Chaining cycle detected for promise"))
            return
        if m.is_object(value):
            try:
                then = m.get(value, "then")
            except CATCHABLE as exc:
                self.reject(p, caught(exc))
                return
            if m.is_callable(then):
                resolve_fn, reject_fn = self.resolving_functions(p)

                def job() -> None:
                    try:
                        m.call(then, value, [resolve_fn, reject_fn])
                    except CATCHABLE as exc:
                        m.call(reject_fn, UNDEFINED, [caught(exc)])

                self.jobs.append(job)
                return
        self._settle(p, "fulfilled", value)

    def reject(self, p: PromiseObject, reason: Any) -> None:
        if p.state == "pending":
            self._settle(p, "rejected", reason)

    def _settle(self, p: PromiseObject, state: str, value: Any) -> None:
        p.state, p.result = state, value
        reactions, p.reactions = p.reactions, []
        for on_ok, on_err, derived in reactions:
            self._enqueue_reaction(p, on_ok, on_err, derived)

    def resolving_functions(self, p: PromiseObject) -> tuple[JSFunction, JSFunction]:
        done = [False]

        def res(this: Any, args: list[Any]) -> Any:
            if not done[0]:
                done[0] = True
                self.resolve(p, args[0] if args else UNDEFINED)
            return UNDEFINED

        def rej(this: Any, args: list[Any]) -> Any:
            if not done[0]:
                done[0] = True
                self.reject(p, args[0] if args else UNDEFINED)
            return UNDEFINED

        return JSFunction(res, "resolve", 1), JSFunction(rej, "reject", 1)

    def _enqueue_reaction(self, p: PromiseObject, on_ok: Any, on_err: Any, derived: PromiseObject) -> None:
        def job() -> None:
            handler = on_ok if p.state == "fulfilled" else on_err
            if not m.is_callable(handler):
                if p.state == "fulfilled":
                    self.resolve(derived, p.result)
                else:
                    self.reject(derived, p.result)
                return
            try:
                self.resolve(derived, m.call(handler, UNDEFINED, [p.result]))
            except CATCHABLE as exc:
                self.reject(derived, caught(exc))

        self.jobs.append(job)

    def then(self, p: PromiseObject, on_ok: Any, on_err: Any) -> PromiseObject:
        derived = self.new_promise()
        p.handled = True
        if p.state == "pending":
            p.reactions.append((on_ok, on_err, derived))
        else:
            self._enqueue_reaction(p, on_ok, on_err, derived)
        return derived

    def promise_resolve(self, value: Any) -> PromiseObject:
        if isinstance(value, PromiseObject):
            return value
        p = self.new_promise()
        self.resolve(p, value)
        return p

    def promise_rejected(self, reason: Any) -> PromiseObject:
        p = self.new_promise()
        self.reject(p, reason)
        return p

    def run_jobs(self) -> None:
        """Run every pending promise job (microtask)."""
        jobs = self.jobs
        while jobs:
            jobs.popleft()()

    def add_timer(self, delay: int, callback: Callable[[], None]) -> int:
        self._timer_seq += 1
        self.timers.append((max(0, delay), self._timer_seq, callback))
        self.timers.sort()
        return self._timer_seq

    def cancel_timer(self, handle: int) -> None:
        self.timers = [t for t in self.timers if t[1] != handle]

    def run_until_idle(self, limit: int = 100000) -> None:
        """Microtasks, then timers in order (virtual time), until nothing is left."""
        for _ in range(limit):
            self.run_jobs()
            if not self.timers:
                return
            _, _, callback = self.timers.pop(0)
            callback()
        raise JsThrow(m.make_error("Error", "the JS job queue did not become idle (a timer keeps rescheduling)"))

    def settle(self, p: PromiseObject, what: str = "a promise") -> Any:
        """Run jobs until ``p`` settles; its value, or raise its rejection."""
        while p.state == "pending":
            if self.jobs:
                self.run_jobs()
                continue
            if self.timers:
                _, _, callback = self.timers.pop(0)
                callback()
                continue
            raise JsThrow(
                m.make_error(
                    "Error",
                    f"{what} never settles: nothing left in the job queue can resolve it "
                    "(it waits for something outside the JS evaluator, e.g. I/O)",
                )
            )
        if p.state == "rejected":
            p.handled = True
            raise JsThrow(p.result)
        return p.result

    def await_value(self, value: Any) -> Any:
        if isinstance(value, PromiseObject):
            return self.settle(value, "an awaited promise")
        if m.is_object(value):
            then = m.get(value, "then")
            if m.is_callable(then):
                return self.settle(self.promise_resolve(value), "an awaited thenable")
        return value

    def run_cleanups(self) -> None:
        while self.cleanups:
            self.cleanups.popleft()()

    # -- odds and ends ----------------------------------------------------------------------------
    def make_regexp(self, pattern: str, flags: str) -> Any:
        if self.regexp_factory is None:
            raise m.throw("SyntaxError", "regular expressions are not available")
        return self.regexp_factory(pattern, flags)

    def import_meta(self, origin: str) -> JsObject:
        meta = m.new_object(None)
        from pathlib import Path

        path = Path(origin)
        dict.__setitem__(meta, "url", path.resolve().as_uri() if path.is_absolute() else origin)
        dict.__setitem__(meta, "filename", str(path))
        dict.__setitem__(meta, "dirname", str(path.parent))
        return meta

    def dynamic_import(self, specifier: Any, referrer: str) -> Any:
        if self.loader is None:
            return self.promise_rejected(m.make_error("Error", "dynamic import() is not available"))
        try:
            return self.promise_resolve(self.loader.import_namespace(m.to_string(specifier), referrer))
        except CATCHABLE as exc:
            return self.promise_rejected(caught(exc))


def _translated_ctor(
    translated: Callable[..., Any], closures: Callable[[list[Any], Any], Any]
) -> Callable[[list[Any], Any], Any]:
    """A class constructor's ``make`` running its translation (js/direct.py) for a base class
    (``this`` made by the class's ``make``): an object it returns is the result, else
    ``this``, as in JS. A derived class's constructor (``this`` unset until ``super()``,
    which the translation refuses) runs on ``closures``."""
    takes_this = getattr(translated, "uses_this", False)
    is_object = m.is_object

    def run_ctor(args: list[Any], ctx: Any) -> Any:
        this = ctx[1]
        if this is UNDEFINED:
            return closures(args, ctx)
        r = translated(this, args) if takes_this else translated(*args)
        return r if is_object(r) else this

    return run_ctor


def _unset(this: Any, args: list[Any]) -> Any:
    raise m.throw("TypeError", "function used before it was made")


def _prototype_for(new_target: Any) -> Any:
    proto = m.get(new_target, "prototype") if new_target is not None else m.OBJECT_PROTO
    return proto if isinstance(proto, JsObject) else m.OBJECT_PROTO


def caught(exc: BaseException) -> Any:
    from .compiler import caught_value

    return caught_value(exc)


_ = (ARGS, NEW_TARGET, re)
