"""Compiling JavaScript (a tree-sitter tree) into Python closures, once, at load.

Every expression becomes ``fn(frame) -> value`` and every statement ``fn(frame) ->
None | completion`` (a ``(BREAK|CONTINUE, label)`` or ``(RETURN, value)`` tuple). A frame is a
Python list: ``[parent frame, this, arguments, function, new.target, *variables]``; each
variable's slot and the number of function frames between its use and its declaration are
settled at compile time, so a variable access is a list index. Names no scope declares are
globals (``realm.global_object``).

Functions declared at a module's top level whose names are wasm-bindgen's own helpers
(``passStringToWasm0``, ``getObject``, ...) are not compiled: the realm's helper registry
supplies a Python implementation (:mod:`realm_wasmer.js.helpers`).

Syntax the evaluator does not run (generators, private fields, ``with``, ...) is refused at
compile time with :class:`~realm_wasmer.js.parser.JsSyntaxError` naming the file, line and text.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Optional

import attrs

from ..errors import JsShortCircuit, JsSyntaxError, JsThrow
from . import model as m
from .model import JSFunction, JsObject, Prop
from .parser import node_text
from .values import UNDEFINED

Expr = Callable[[list[Any]], Any]
Stmt = Callable[[list[Any]], Any]

BREAK, CONTINUE, RETURN = 1, 2, 3
THIS, ARGS, FUNC, NEW_TARGET = 1, 2, 3, 4
FIRST_SLOT = 5
_ABRUPT: Any = object()


# ---------------------------------------------------------------------------------------- scopes


class FnScope:
    def __init__(self, arrow: bool, kind: str = "function") -> None:
        self.free: set[str] = set()
        self.size = FIRST_SLOT
        self.arrow = arrow
        self.kind = kind

    def new_slot(self) -> int:
        slot = self.size
        self.size += 1
        return slot


@attrs.define
class ImportRef:
    """A name bound by an ``import``: property ``name`` of request ``index``'s namespace ('*': the namespace)."""

    index: int
    name: str


class Scope:
    def __init__(self, fn: FnScope, parent: Optional["Scope"]) -> None:
        self.fn = fn
        self.parent = parent
        self.names: dict[str, Any] = {}

    def declare(self, name: str) -> int:
        slot = self.names.get(name)
        if isinstance(slot, int):
            return slot
        slot = self.fn.new_slot()
        self.names[name] = slot
        return slot


def _frame_get(hops: int, idx: int) -> Expr:
    if hops == 0:
        return lambda f: f[idx]
    if hops == 1:
        return lambda f: f[0][idx]
    if hops == 2:
        return lambda f: f[0][0][idx]

    def get(f: list[Any]) -> Any:
        for _ in range(hops):
            f = f[0]
        return f[idx]

    return get


def _frame_of(hops: int) -> Callable[[list[Any]], list[Any]]:
    if hops == 0:
        return lambda f: f
    if hops == 1:
        return lambda f: f[0]  # type: ignore[no-any-return]

    def up(f: list[Any]) -> list[Any]:
        for _ in range(hops):
            f = f[0]
        return f

    return up


def _frame_set(hops: int, idx: int) -> Callable[[list[Any], Any], None]:
    if hops == 0:

        def set0(f: list[Any], v: Any) -> None:
            f[idx] = v

        return set0
    if hops == 1:

        def set1(f: list[Any], v: Any) -> None:
            f[0][idx] = v

        return set1
    up = _frame_of(hops)

    def setn(f: list[Any], v: Any) -> None:
        up(f)[idx] = v

    return setn


# ---------------------------------------------------------------------------------------- literals

_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def unescape(seq: str) -> str:
    c = seq[1]
    if c in _SIMPLE_ESCAPES and (c != "0" or len(seq) == 2):
        return _SIMPLE_ESCAPES[c]
    if c == "x":
        return chr(int(seq[2:4], 16))
    if c == "u":
        if seq[2] == "{":
            return chr(int(seq[3:-1], 16))
        return chr(int(seq[2:6], 16))
    if c in "\r\n\u2028\u2029":
        return ""
    if c.isdigit():
        return chr(int(seq[1:], 8))
    return seq[1:]


def string_value(node: Any) -> str:
    parts = []
    for child in node.named_children:
        if child.type == "string_fragment":
            parts.append(child.text.decode("utf-8", "surrogatepass"))
        elif child.type == "escape_sequence":
            parts.append(unescape(child.text.decode("utf-8")))
    return m.canonical("".join(parts))


_LEGACY_OCTAL = re.compile(r"^0[0-7]+$")


def number_value(text: str) -> Any:
    t = text.replace("_", "")
    if t.endswith("n"):
        return m.BigInt(int(t[:-1], 0) if not _LEGACY_OCTAL.match(t[:-1]) else int(t[:-1], 8))
    low = t.lower()
    if low.startswith(("0x", "0o", "0b")):
        return m.num(float(int(t, 0)))
    if _LEGACY_OCTAL.match(t):
        return int(t, 8)
    return m.num(float(t))


# ---------------------------------------------------------------------------------------- compiled units


@attrs.define(eq=False)
class FunctionTemplate:
    name: str
    nparams: int
    size: int
    kind: str  # function, arrow, method, getter, setter, constructor
    is_async: bool
    bind: Callable[[list[Any], list[Any]], None]
    body: Stmt
    expression_body: bool
    self_slot: Optional[int]
    source: str
    free: frozenset[str] = frozenset()
    params: tuple[str, ...] = ()
    #: ``factory(env, fn) -> direct``: the body translated to Python source (js/direct.py), or None.
    direct: Optional[Callable[[list[Any], Any], Any]] = None


@attrs.define(eq=False)
class ModuleCode:
    """A compiled module (ESM or CommonJS) ready to be instantiated by the loader."""

    origin: str
    kind: str
    size: int
    #: Run the top-level code on a frame (function declarations already made by ``hoist``).
    run: Stmt
    hoist: Callable[[list[Any]], None]
    #: ESM: import specifiers in order; ``namespaces[i]`` is filled by the loader before ``run``.
    requests: list[str]
    namespaces: list[Any]
    #: ESM: export name -> ("slot", idx) | ("import", request index, name).
    exports: dict[str, tuple[Any, ...]]
    #: ESM: request indices re-exported wholesale (``export * from``).
    star_exports: list[int]
    #: Top-level names -> slot.
    slots: dict[str, int]
    #: Free names (globals) the code reads, with the text of their first use.
    free_names: dict[str, str]


class Compiler:
    """Compiles one module's tree into closures (see the module docstring)."""

    #: For js/direct.py (which must not import this module): the frame layout and the catch value.
    first_slot = FIRST_SLOT
    caught_value = staticmethod(lambda exc: caught_value(exc))

    def __init__(self, realm: Any, origin: str, text: str) -> None:
        self.realm = realm
        self.origin = origin
        self.text = text
        self.free_names: dict[str, str] = {}
        self.requests: list[str] = []
        self.namespaces: list[Any] = []
        self.exports: dict[str, tuple[Any, ...]] = {}
        self.star_exports: list[int] = []
        self.module_scope: Optional[Scope] = None
        self.helper_decls: dict[str, Any] = {}
        #: js/direct.py's translations by function node span (a handleError wrapper's inner one).
        self.translations: dict[tuple[int, int], Any] = {}

    # -- errors -----------------------------------------------------------------------------
    def unsupported(self, node: Any, what: str) -> JsSyntaxError:
        row = node.start_point[0] + 1
        return JsSyntaxError(f"{self.origin}:{row}: {what} is not supported by the JS evaluator: {node_text(node)!r}")

    # -- modules ----------------------------------------------------------------------------
    def compile_module(self, root: Any, kind: str) -> ModuleCode:
        fn = FnScope(arrow=False, kind="module")
        scope = Scope(fn, None)
        self.module_scope = scope
        if kind == "cjs":
            for name in ("exports", "require", "module", "__filename", "__dirname"):
                scope.declare(name)
        stmts = list(root.named_children)
        if kind == "esm":
            self._declare_imports(stmts, scope)
        self.hoist_vars(stmts, scope)
        hoist = self.declare_block(stmts, scope, top=True)
        body = self.block(stmts, scope)
        slots = {k: v for k, v in scope.names.items() if isinstance(v, int)}
        return ModuleCode(
            self.origin,
            kind,
            fn.size,
            body,
            hoist,
            self.requests,
            self.namespaces,
            self.exports,
            self.star_exports,
            slots,
            self.free_names,
        )

    def _request(self, source: Any) -> int:
        spec = string_value(source)
        self.requests.append(spec)
        self.namespaces.append(None)
        return len(self.requests) - 1

    def _declare_imports(self, stmts: list[Any], scope: Scope) -> None:
        for node in stmts:
            if node.type == "import_statement":
                index = self._request(node.child_by_field_name("source"))
                clause = next((c for c in node.named_children if c.type == "import_clause"), None)
                if clause is None:
                    continue
                for part in clause.named_children:
                    if part.type == "identifier":
                        scope.names[part.text.decode()] = ImportRef(index, "default")
                    elif part.type == "namespace_import":
                        ident = part.named_children[-1]
                        scope.names[ident.text.decode()] = ImportRef(index, "*")
                    elif part.type == "named_imports":
                        for spec in part.named_children:
                            name = spec.child_by_field_name("name")
                            alias = spec.child_by_field_name("alias") or name
                            scope.names[alias.text.decode()] = ImportRef(index, self._export_name(name))
            elif node.type == "export_statement":
                source = node.child_by_field_name("source")
                if source is None:
                    continue
                index = self._request(source)
                clause = next((c for c in node.named_children if c.type == "export_clause"), None)
                if clause is None:
                    ns = next((c for c in node.named_children if c.type == "namespace_export"), None)
                    if ns is not None:
                        self.exports[self._export_name(ns.named_children[-1])] = ("import", index, "*")
                    else:
                        self.star_exports.append(index)
                    continue
                for spec in clause.named_children:
                    name = spec.child_by_field_name("name")
                    alias = spec.child_by_field_name("alias") or name
                    self.exports[self._export_name(alias)] = ("import", index, self._export_name(name))

    @staticmethod
    def _export_name(node: Any) -> str:
        return string_value(node) if node.type == "string" else str(node.text.decode())

    # -- declarations -----------------------------------------------------------------------
    def hoist_vars(self, nodes: list[Any], scope: Scope) -> None:
        """Declare every ``var`` of a function body (not descending into nested functions)."""
        fn_scope = scope
        stack = list(nodes)
        while stack:
            node = stack.pop()
            t = node.type
            if t in _FUNCTION_NODES or t in ("class_declaration", "class"):
                continue
            if t == "variable_declaration":
                for decl in node.named_children:
                    if decl.type == "variable_declarator":
                        for name in _pattern_names(decl.child_by_field_name("name")):
                            if name not in fn_scope.names:
                                fn_scope.declare(name)
            if t == "for_in_statement":
                kind = node.child_by_field_name("kind")
                if kind is not None and kind.type == "var":
                    for name in _pattern_names(node.child_by_field_name("left")):
                        if name not in fn_scope.names:
                            fn_scope.declare(name)
            if t.endswith("expression") and t not in ("expression_statement",):
                continue
            stack.extend(node.named_children)

    def declare_block(self, stmts: list[Any], scope: Scope, top: bool = False) -> Callable[[list[Any]], None]:
        """Declare the block's let/const/class/function names; return the function
        declarations' instantiation (run when the block is entered)."""
        makers: list[Callable[[list[Any]], None]] = []
        pending: list[tuple[Any, int, str]] = []
        for node in stmts:
            decl = node
            if node.type == "export_statement":
                decl = node.child_by_field_name("declaration")
                if decl is None:
                    continue
            t = decl.type
            if t == "lexical_declaration":
                for d in decl.named_children:
                    if d.type == "variable_declarator":
                        for name in _pattern_names(d.child_by_field_name("name")):
                            scope.declare(name)
            elif t == "class_declaration":
                scope.declare(decl.child_by_field_name("name").text.decode())
            elif t == "function_declaration":
                name = decl.child_by_field_name("name").text.decode()
                pending.append((decl, scope.declare(name), name))
            elif t in ("generator_function_declaration",):
                raise self.unsupported(decl, "a generator function")
        for decl, slot, name in pending:
            makers.append(self._function_declaration(decl, scope, slot, name, top))

        def instantiate(f: list[Any]) -> None:
            for make in makers:
                make(f)

        return instantiate

    def _function_declaration(
        self, node: Any, scope: Scope, slot: int, name: str, top: bool
    ) -> Callable[[list[Any]], None]:
        if top and name in self.realm.helpers and self.module_scope is not None:
            factory = self.realm.helpers[name]
            access = GlueAccess(self, self.module_scope, node)
            if factory.applies(access):
                self.helper_decls[name] = node
                compiled = self.function(node, scope, name)

                def make_helper(f: list[Any]) -> None:
                    fallback = compiled(f)
                    made = factory.make(access, f, fallback)
                    f[slot] = made if made is not None else fallback

                return make_helper
        make = self.function(node, scope, name)

        def make_fn(f: list[Any]) -> None:
            f[slot] = make(f)

        return make_fn

    # -- statements ---------------------------------------------------------------------------
    def block(self, stmts: list[Any], scope: Scope) -> Stmt:
        compiled = [s for s in (self.statement(n, scope) for n in stmts) if s is not None]
        if not compiled:
            return lambda f: None
        if len(compiled) == 1:
            return compiled[0]
        if len(compiled) == 2:
            s0, s1 = compiled

            def run2(f: list[Any]) -> Any:
                r = s0(f)
                if r is not None:
                    return r
                return s1(f)

            return run2
        items = tuple(compiled)

        def run(f: list[Any]) -> Any:
            for s in items:
                r = s(f)
                if r is not None:
                    return r
            return None

        return run

    def scoped_block(self, node: Any, scope: Scope) -> Stmt:
        stmts = [c for c in node.named_children if c.type != "comment"]
        inner = Scope(scope.fn, scope)
        hoist = self.declare_block(stmts, inner)
        body = self.block(stmts, inner)
        if not inner.names:
            return body

        def run(f: list[Any]) -> Any:
            hoist(f)
            return body(f)

        return run

    def statement(self, node: Any, scope: Scope, labels: tuple[str, ...] = ()) -> Optional[Stmt]:
        t = node.type
        handler = getattr(self, "s_" + t, None)
        if handler is None:
            if t in ("comment", "empty_statement", "hash_bang_line", "debugger_statement"):
                return None
            raise self.unsupported(node, f"the statement {t!r}")
        result: Optional[Stmt] = (
            handler(node, scope, labels) if t in _LOOPS or t == "labeled_statement" else handler(node, scope)
        )
        return result

    def s_expression_statement(self, node: Any, scope: Scope) -> Stmt:
        expr = self.expr(node.named_children[0], scope)

        def run(f: list[Any]) -> None:
            expr(f)

        return run

    def s_statement_block(self, node: Any, scope: Scope) -> Stmt:
        return self.scoped_block(node, scope)

    def s_lexical_declaration(self, node: Any, scope: Scope) -> Optional[Stmt]:
        return self.s_variable_declaration(node, scope)

    def s_variable_declaration(self, node: Any, scope: Scope) -> Optional[Stmt]:
        parts: list[Stmt] = []
        is_var = node.type == "variable_declaration"
        for decl in node.named_children:
            if decl.type != "variable_declarator":
                continue
            target = decl.child_by_field_name("name")
            value_node = decl.child_by_field_name("value")
            if value_node is None:
                if is_var:
                    continue
                value: Expr = lambda f: UNDEFINED  # noqa: E731
            else:
                value = self.expr(value_node, scope, name_hint=_simple_name(target))
            assign = self.binding_target(target, scope)

            def run(f: list[Any], assign: Any = assign, value: Expr = value) -> None:
                assign(f, value(f))

            parts.append(run)
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]

        def run_all(f: list[Any]) -> None:
            for p in parts:
                p(f)

        return run_all

    def s_function_declaration(self, node: Any, scope: Scope) -> None:
        return None  # instantiated when its block is entered (declare_block)

    def s_class_declaration(self, node: Any, scope: Scope) -> Stmt:
        name = node.child_by_field_name("name").text.decode()
        make = self.class_(node, scope, name)
        assign = self.binding_target(node.child_by_field_name("name"), scope)

        def run(f: list[Any]) -> None:
            assign(f, make(f))

        return run

    def s_return_statement(self, node: Any, scope: Scope) -> Stmt:
        if not node.named_children or node.named_children[0].type == "comment":
            return lambda f: (RETURN, UNDEFINED)
        value = self.expr(node.named_children[0], scope)
        return lambda f: (RETURN, value(f))

    def s_throw_statement(self, node: Any, scope: Scope) -> Stmt:
        value = self.expr(node.named_children[0], scope)

        def run(f: list[Any]) -> None:
            raise JsThrow(value(f))

        return run

    def s_if_statement(self, node: Any, scope: Scope) -> Stmt:
        test = self.condition(node.child_by_field_name("condition"), scope)
        then = self.statement(node.child_by_field_name("consequence"), scope) or (lambda f: None)
        alt_node = node.child_by_field_name("alternative")
        if alt_node is None:

            def run1(f: list[Any]) -> Any:
                if test(f):
                    return then(f)
                return None

            return run1
        alt_stmt = alt_node.named_children[0] if alt_node.type == "else_clause" else alt_node
        alt = self.statement(alt_stmt, scope) or (lambda f: None)

        def run2(f: list[Any]) -> Any:
            if test(f):
                return then(f)
            return alt(f)

        return run2

    def condition(self, node: Any, scope: Scope) -> Callable[[list[Any]], bool]:
        """A test as a Python bool (the JS truthiness of the expression)."""
        if node.type == "parenthesized_expression":
            node = node.named_children[0]
        if node.type == "binary_expression":
            op = node.child_by_field_name("operator").type
            fast = _COMPARE.get(op)
            if fast is not None:
                left = self.expr(node.child_by_field_name("left"), scope)
                right = self.expr(node.child_by_field_name("right"), scope)
                return lambda f: fast(left(f), right(f))
        if node.type == "unary_expression" and node.child_by_field_name("operator").type == "!":
            inner = self.condition(node.child_by_field_name("argument"), scope)
            return lambda f: not inner(f)
        expr = self.expr(node, scope)
        to_bool = m.to_boolean
        return lambda f: to_bool(expr(f))

    def s_labeled_statement(self, node: Any, scope: Scope, labels: tuple[str, ...] = ()) -> Stmt:
        label = node.child_by_field_name("label").text.decode()
        body_node = node.child_by_field_name("body")
        body = self.statement(body_node, scope, labels + (label,)) or (lambda f: None)

        def run(f: list[Any]) -> Any:
            r = body(f)
            if r is not None and r[0] == BREAK and r[1] == label:
                return None
            return r

        return run

    def s_break_statement(self, node: Any, scope: Scope) -> Stmt:
        label = node.child_by_field_name("label")
        result = (BREAK, label.text.decode() if label is not None else None)
        return lambda f: result

    def s_continue_statement(self, node: Any, scope: Scope) -> Stmt:
        label = node.child_by_field_name("label")
        result = (CONTINUE, label.text.decode() if label is not None else None)
        return lambda f: result

    def _loop_body(self, node: Any, scope: Scope) -> Stmt:
        return self.statement(node, scope) or (lambda f: None)

    def s_while_statement(self, node: Any, scope: Scope, labels: tuple[str, ...] = ()) -> Stmt:
        test = self.condition(node.child_by_field_name("condition"), scope)
        body = self._loop_body(node.child_by_field_name("body"), scope)

        def run(f: list[Any]) -> Any:
            while test(f):
                r = body(f)
                if r is not None:
                    verdict = _loop_verdict(r, labels)
                    if verdict is _ABRUPT:
                        return r
                    if verdict:
                        break
            return None

        return run

    def s_do_statement(self, node: Any, scope: Scope, labels: tuple[str, ...] = ()) -> Stmt:
        test = self.condition(node.child_by_field_name("condition"), scope)
        body = self._loop_body(node.child_by_field_name("body"), scope)

        def run(f: list[Any]) -> Any:
            while True:
                r = body(f)
                if r is not None:
                    verdict = _loop_verdict(r, labels)
                    if verdict is _ABRUPT:
                        return r
                    if verdict:
                        break
                if not test(f):
                    break
            return None

        return run

    def s_for_statement(self, node: Any, scope: Scope, labels: tuple[str, ...] = ()) -> Stmt:
        init_node = node.child_by_field_name("initializer")
        fresh = (
            init_node is not None
            and init_node.type == "lexical_declaration"
            and _contains_closure(node.child_by_field_name("body"))
        )
        inner = Scope(FnScope(arrow=True, kind="block"), scope) if fresh else Scope(scope.fn, scope)
        init: Stmt = lambda f: None  # noqa: E731
        if init_node is not None and init_node.type != "empty_statement":
            if init_node.type in ("lexical_declaration", "variable_declaration"):
                self.declare_block([init_node], inner)
                init = self.statement(init_node, inner) or init
            else:
                e = self.expr(
                    init_node.named_children[0] if init_node.type == "expression_statement" else init_node, inner
                )
                init = lambda f: e(f) and None  # noqa: E731
        cond_node = node.child_by_field_name("condition")
        if cond_node is not None and cond_node.type == "expression_statement":
            cond_node = cond_node.named_children[0]
        test = (
            self.condition(cond_node, inner)
            if cond_node is not None and cond_node.type != "empty_statement"
            else (lambda f: True)
        )
        inc_node = node.child_by_field_name("increment")
        inc = self.expr(inc_node, inner) if inc_node is not None else (lambda f: None)
        body = self._loop_body(node.child_by_field_name("body"), inner)
        if fresh:
            block_size = inner.fn.size

            def run_fresh(f: list[Any]) -> Any:
                frame = [f, UNDEFINED, UNDEFINED, None, UNDEFINED] + [UNDEFINED] * (block_size - FIRST_SLOT)
                init(frame)
                while test(frame):
                    r = body(frame)
                    if r is not None:
                        verdict = _loop_verdict(r, labels)
                        if verdict is _ABRUPT:
                            return r
                        if verdict:
                            break
                    frame = list(frame)  # each iteration's closures keep their own copy
                    inc(frame)
                return None

            return run_fresh

        def run(f: list[Any]) -> Any:
            init(f)
            while test(f):
                r = body(f)
                if r is not None:
                    verdict = _loop_verdict(r, labels)
                    if verdict is _ABRUPT:
                        return r
                    if verdict:
                        break
                inc(f)
            return None

        return run

    def s_for_in_statement(self, node: Any, scope: Scope, labels: tuple[str, ...] = ()) -> Stmt:
        kind = node.child_by_field_name("kind")
        left = node.child_by_field_name("left")
        lexical = kind is not None and kind.type in ("let", "const")
        fresh = lexical and _contains_closure(node.child_by_field_name("body"))
        # A closure in the body captures each iteration's own binding: the body then runs in a
        # frame of its own per iteration (a block frame, transparent to this/arguments).
        inner = Scope(FnScope(arrow=True, kind="block"), scope) if fresh else Scope(scope.fn, scope)
        if lexical:
            for name in _pattern_names(left):
                inner.declare(name)
        assign = self.binding_target(left, inner)
        right = self.expr(node.child_by_field_name("right"), scope)
        body = self._loop_body(node.child_by_field_name("body"), inner)
        operator = node.child_by_field_name("operator")
        is_of = operator is not None and operator.type == "of"
        if any(c.type == "await" for c in node.children):
            raise self.unsupported(node, "for await")
        block_size = inner.fn.size

        def run(f: list[Any]) -> Any:
            source = right(f)
            items = m.iterate(source) if is_of else iter(_for_in_keys(source))
            for item in items:
                frame = (
                    [f, UNDEFINED, UNDEFINED, None, UNDEFINED] + [UNDEFINED] * (block_size - FIRST_SLOT) if fresh else f
                )
                assign(frame, item)
                r = body(frame)
                if r is not None:
                    verdict = _loop_verdict(r, labels)
                    if verdict is _ABRUPT:
                        return r
                    if verdict:
                        break
            return None

        return run

    def s_switch_statement(self, node: Any, scope: Scope) -> Stmt:
        value = self.expr(node.child_by_field_name("value"), scope)
        inner = Scope(scope.fn, scope)
        cases: list[tuple[Optional[Expr], Stmt]] = []
        body = node.child_by_field_name("body")
        all_stmts = []
        for case in body.named_children:
            if case.type not in ("switch_case", "switch_default"):
                continue
            stmts = [c for c in case.children_by_field_name("body")]
            all_stmts.extend(stmts)
        hoist = self.declare_block(all_stmts, inner)
        for case in body.named_children:
            if case.type not in ("switch_case", "switch_default"):
                continue
            test_node = case.child_by_field_name("value")
            test = self.expr(test_node, inner) if test_node is not None else None
            cases.append((test, self.block(list(case.children_by_field_name("body")), inner)))

        def run(f: list[Any]) -> Any:
            hoist(f)
            v = value(f)
            start = -1
            for i, (test, _) in enumerate(cases):
                if test is not None and m.strict_equals(v, test(f)):
                    start = i
                    break
            if start < 0:
                start = next((i for i, (test, _) in enumerate(cases) if test is None), -1)
                if start < 0:
                    return None
            for _, stmts in cases[start:]:
                r = stmts(f)
                if r is not None:
                    if r[0] == BREAK and r[1] is None:
                        return None
                    return r
            return None

        return run

    def s_try_statement(self, node: Any, scope: Scope) -> Stmt:
        block = self.scoped_block(node.child_by_field_name("body"), scope)
        handler_node = node.child_by_field_name("handler")
        finalizer_node = node.child_by_field_name("finalizer")
        handler: Optional[Callable[[list[Any], BaseException], Any]] = None
        if handler_node is not None:
            inner = Scope(scope.fn, scope)
            param = handler_node.child_by_field_name("parameter")
            assign = None
            if param is not None:
                for name in _pattern_names(param):
                    inner.declare(name)
                assign = self.binding_target(param, inner)
            catch_body = self.scoped_block(handler_node.child_by_field_name("body"), inner)

            def handle(f: list[Any], exc: BaseException) -> Any:
                if assign is not None:
                    assign(f, caught_value(exc))
                return catch_body(f)

            handler = handle
        final = self.scoped_block(finalizer_node.named_children[-1], scope) if finalizer_node is not None else None
        catchable = self.realm.catchable

        if final is None:
            assert handler is not None
            h = handler

            def run_catch(f: list[Any]) -> Any:
                try:
                    return block(f)
                except catchable as exc:
                    return h(f, exc)

            return run_catch

        def run(f: list[Any]) -> Any:
            try:
                if handler is None:
                    r = block(f)
                else:
                    try:
                        r = block(f)
                    except catchable as exc:
                        r = handler(f, exc)
            except BaseException:
                fr = final(f)
                if fr is not None:
                    return fr
                raise
            fr = final(f)
            return fr if fr is not None else r

        return run

    def s_export_statement(self, node: Any, scope: Scope) -> Optional[Stmt]:
        if node.child_by_field_name("source") is not None:
            return None
        decl = node.child_by_field_name("declaration")
        if decl is not None:
            if decl.type in ("function_declaration", "class_declaration"):
                name = decl.child_by_field_name("name").text.decode()
                self.exports[name] = ("slot", scope.names[name])
            else:
                for d in decl.named_children:
                    if d.type == "variable_declarator":
                        for name in _pattern_names(d.child_by_field_name("name")):
                            self.exports[name] = ("slot", scope.names[name])
            return self.statement(decl, scope)
        if any(c.type == "default" for c in node.children):
            value_node = node.child_by_field_name("value") or node.named_children[-1]
            slot = scope.declare("*default*")
            self.exports["default"] = ("slot", slot)
            if value_node.type in ("function_declaration", "class_declaration"):
                name_node = value_node.child_by_field_name("name")
                if value_node.type == "function_declaration" and name_node is not None:
                    inner_slot = scope.names[name_node.text.decode()]
                    return lambda f: f.__setitem__(slot, f[inner_slot])
                stmt = self.statement(value_node, scope)
                if name_node is not None:
                    inner_slot = scope.names[name_node.text.decode()]

                    def run_named(f: list[Any]) -> None:
                        if stmt is not None:
                            stmt(f)
                        f[slot] = f[inner_slot]

                    return run_named
            value = self.expr(value_node, scope, name_hint="default")

            def run(f: list[Any]) -> None:
                f[slot] = value(f)

            return run
        clause = next((c for c in node.named_children if c.type == "export_clause"), None)
        if clause is not None:
            for spec in clause.named_children:
                name = spec.child_by_field_name("name").text.decode()
                alias = spec.child_by_field_name("alias")
                exported = self._export_name(alias) if alias is not None else name
                binding = self._resolve_static(name, scope)
                self.exports[exported] = binding
        return None

    def _resolve_static(self, name: str, scope: Scope) -> tuple[Any, ...]:
        found = scope.names.get(name)
        if isinstance(found, ImportRef):
            return ("import", found.index, found.name)
        if found is None:
            raise JsSyntaxError(f"{self.origin}: export of undeclared name {name!r}")
        return ("slot", found)

    def s_import_statement(self, node: Any, scope: Scope) -> None:
        return None

    # -- binding targets --------------------------------------------------------------------
    def binding_target(self, node: Any, scope: Scope) -> Callable[[list[Any], Any], None]:
        t = node.type
        if t in ("identifier", "shorthand_property_identifier_pattern", "undefined"):
            return self.assign_name(node.text.decode(), scope)
        if t == "parenthesized_expression":
            return self.binding_target(node.named_children[0], scope)
        if t in ("member_expression", "subscript_expression"):
            obj = self.expr(node.child_by_field_name("object"), scope)
            key = self._member_key(node, scope)
            put = m.put

            def assign_member(f: list[Any], v: Any) -> None:
                put(obj(f), key(f), v)

            return assign_member
        if t == "assignment_pattern":
            inner = self.binding_target(node.child_by_field_name("left"), scope)
            default = self.expr(
                node.child_by_field_name("right"), scope, name_hint=_simple_name(node.child_by_field_name("left"))
            )

            def assign_default(f: list[Any], v: Any) -> None:
                inner(f, default(f) if v is UNDEFINED else v)

            return assign_default
        if t == "object_pattern":
            return self._object_pattern(node, scope)
        if t == "array_pattern":
            return self._array_pattern(node, scope)
        raise self.unsupported(node, f"the binding target {t!r}")

    def _object_pattern(self, node: Any, scope: Scope) -> Callable[[list[Any], Any], None]:
        steps: list[Callable[[list[Any], Any, list[Any]], None]] = []
        for part in node.named_children:
            t = part.type
            if t == "shorthand_property_identifier_pattern":
                name = part.text.decode()
                assign = self.assign_name(name, scope)
                steps.append(
                    lambda f, v, used, name=name, assign=assign: (used.append(name), assign(f, m.get(v, name))) and None  # type: ignore[misc]
                )  # type: ignore[misc]
            elif t == "object_assignment_pattern":
                left = part.child_by_field_name("left")
                name = left.text.decode()
                assign = self.assign_name(name, scope)
                default = self.expr(part.child_by_field_name("right"), scope, name_hint=name)

                def step_default(
                    f: list[Any],
                    v: Any,
                    used: list[Any],
                    name: str = name,
                    assign: Any = assign,
                    default: Expr = default,
                ) -> None:
                    used.append(name)
                    got = m.get(v, name)
                    assign(f, default(f) if got is UNDEFINED else got)

                steps.append(step_default)
            elif t == "pair_pattern":
                key = self._property_key(part.child_by_field_name("key"), scope)
                assign = self.binding_target(part.child_by_field_name("value"), scope)

                def step_pair(f: list[Any], v: Any, used: list[Any], key: Expr = key, assign: Any = assign) -> None:
                    k = key(f)
                    used.append(k)
                    assign(f, m.get(v, k))

                steps.append(step_pair)
            elif t == "rest_pattern":
                assign = self.binding_target(part.named_children[0], scope)

                def step_rest(f: list[Any], v: Any, used: list[Any], assign: Any = assign) -> None:
                    rest = m.new_object()
                    for k in m.own_enumerable_keys(v):
                        if k not in used:
                            dict.__setitem__(rest, k, m.get(v, k))
                    assign(f, rest)

                steps.append(step_rest)
            elif t == "comment":
                continue
            else:
                raise self.unsupported(part, f"the object pattern part {t!r}")

        def assign_obj(f: list[Any], v: Any) -> None:
            if v is None or v is UNDEFINED:
                raise m.throw("TypeError", f"Cannot destructure '{m.to_string(v)}' as it is {m.to_string(v)}.")
            used: list[Any] = []
            for step in steps:
                step(f, v, used)

        return assign_obj

    def _array_pattern(self, node: Any, scope: Scope) -> Callable[[list[Any], Any], None]:
        targets: list[tuple[str, Any]] = []
        for part in node.named_children:
            if part.type == "comment":
                continue
            if part.type == "rest_pattern":
                targets.append(("rest", self.binding_target(part.named_children[0], scope)))
            else:
                targets.append(("one", self.binding_target(part, scope)))

        def assign_arr(f: list[Any], v: Any) -> None:
            items = v if type(v) is list else list(m.iterate(v))
            for i, (kind, assign) in enumerate(targets):
                if kind == "rest":
                    assign(f, list(items[i:]))
                else:
                    assign(f, items[i] if i < len(items) else UNDEFINED)

        return assign_arr

    def resolve(self, name: str, scope: Scope) -> tuple[Any, ...]:
        hops = 0
        s: Optional[Scope] = scope
        while s is not None:
            found = s.names.get(name)
            if found is not None:
                if isinstance(found, ImportRef):
                    return ("import", found)
                return ("slot", hops, found)
            parent = s.parent
            if parent is not None and parent.fn is not s.fn:
                hops += 1
            s = parent
        return ("global",)

    def assign_name(self, name: str, scope: Scope) -> Callable[[list[Any], Any], None]:
        where = self.resolve(name, scope)
        if where[0] == "slot":
            return _frame_set(where[1], where[2])
        if where[0] == "import":
            raise JsSyntaxError(f"{self.origin}: assignment to imported binding {name!r}")
        g = self.realm.global_object

        def set_global(f: list[Any], v: Any) -> None:
            m.put(g, name, v)

        return set_global

    # -- expressions ----------------------------------------------------------------------------
    def expr(self, node: Any, scope: Scope, name_hint: Optional[str] = None) -> Expr:
        t = node.type
        if t in ("function_expression", "arrow_function", "function"):
            return self.function(node, scope, name_hint or "")
        if t == "class":
            name_node = node.child_by_field_name("name")
            return self.class_(node, scope, name_node.text.decode() if name_node is not None else (name_hint or ""))
        handler = getattr(self, "e_" + t, None)
        if handler is None:
            raise self.unsupported(node, f"the expression {t!r}")
        result: Expr = handler(node, scope)
        return result

    def e_parenthesized_expression(self, node: Any, scope: Scope) -> Expr:
        inner = [c for c in node.named_children if c.type != "comment"]
        return self.expr(inner[0], scope)

    def e_number(self, node: Any, scope: Scope) -> Expr:
        value = number_value(node.text.decode())
        return lambda f: value

    def e_string(self, node: Any, scope: Scope) -> Expr:
        value = string_value(node)
        return lambda f: value

    def e_true(self, node: Any, scope: Scope) -> Expr:
        return lambda f: True

    def e_false(self, node: Any, scope: Scope) -> Expr:
        return lambda f: False

    def e_null(self, node: Any, scope: Scope) -> Expr:
        return lambda f: None

    def e_undefined(self, node: Any, scope: Scope) -> Expr:
        where = self.resolve("undefined", scope)
        if where[0] == "slot":
            return self.e_identifier(node, scope)
        return lambda f: UNDEFINED

    def e_regex(self, node: Any, scope: Scope) -> Expr:
        pattern = node.child_by_field_name("pattern").text.decode()
        flags_node = node.child_by_field_name("flags")
        flags = flags_node.text.decode() if flags_node is not None else ""
        make = self.realm.make_regexp
        return lambda f: make(pattern, flags)

    def e_template_string(self, node: Any, scope: Scope) -> Expr:
        parts: list[Any] = []
        for child in node.named_children:
            if child.type == "string_fragment":
                parts.append(child.text.decode("utf-8", "surrogatepass"))
            elif child.type == "escape_sequence":
                parts.append(unescape(child.text.decode()))
            elif child.type == "template_substitution":
                parts.append(self.expr(child.named_children[0], scope))
        pieces: list[Any] = []
        for p in parts:
            if isinstance(p, str) and pieces and isinstance(pieces[-1], str):
                pieces[-1] += p
            else:
                pieces.append(p)
        pieces = [m.canonical(p) if isinstance(p, str) else p for p in pieces]
        to_string, concat = m.to_string, m.concat

        def run(f: list[Any]) -> str:
            out = ""
            for p in pieces:
                out = concat(out, p if type(p) is str else to_string(p(f)))
            return out

        return run

    def e_identifier(self, node: Any, scope: Scope) -> Expr:
        name = node.text.decode()
        where = self.resolve(name, scope)
        if where[0] == "slot":
            return _frame_get(where[1], where[2])
        if where[0] == "import":
            ref: ImportRef = where[1]
            holder = self.namespaces
            index, key = ref.index, ref.name
            if key == "*":
                return lambda f: holder[index]
            get = m.get
            return lambda f: get(holder[index], key)
        if name == "undefined":
            return lambda f: UNDEFINED
        if name == "arguments":
            return _frame_get(self._this_hops(scope), ARGS)
        self.free_names.setdefault(name, node_text(node.parent if node.parent is not None else node))
        scope.fn.free.add(name)
        g = self.realm.global_object
        missing = m._MISSING

        def get_global(f: list[Any]) -> Any:
            v = dict.get(g, name, missing)
            if v is missing:
                raise m.throw("ReferenceError", f"{name} is not defined")
            if type(v) is Prop:
                return m.lookup(g, name, g)
            return v

        return get_global

    def e_this(self, node: Any, scope: Scope) -> Expr:
        hops = self._this_hops(scope)
        return _frame_get(hops, THIS)

    def _this_hops(self, scope: Scope) -> int:
        hops = 0
        s: Optional[Scope] = scope
        while s is not None:
            parent = s.parent
            if parent is None or parent.fn is not s.fn:
                if not s.fn.arrow:
                    return hops
                hops += 1
            s = parent
        return hops

    def e_meta_property(self, node: Any, scope: Scope) -> Expr:
        text = node.text.decode()
        if text == "new.target":
            return _frame_get(self._this_hops(scope), NEW_TARGET)
        meta = self.realm.import_meta(self.origin)
        return lambda f: meta

    def e_array(self, node: Any, scope: Scope) -> Expr:
        return self._arguments(node, scope)  # the same list as a call's arguments, spreads included

    def _property_key(self, node: Any, scope: Scope) -> Expr:
        t = node.type
        if t in ("property_identifier", "identifier", "shorthand_property_identifier"):
            key = node.text.decode()
            return lambda f: key
        if t == "string":
            skey = string_value(node)
            return lambda f: skey
        if t == "number":
            nkey = m.to_property_key(number_value(node.text.decode()))
            return lambda f: nkey
        if t == "computed_property_name":
            inner = self.expr(node.named_children[0], scope)
            to_key = m.to_property_key
            return lambda f: to_key(inner(f))
        if t == "private_property_identifier":
            raise self.unsupported(node, "a private class member")
        raise self.unsupported(node, f"the property key {t!r}")

    def e_object(self, node: Any, scope: Scope) -> Expr:
        steps: list[Callable[[list[Any], JsObject], None]] = []
        for part in node.named_children:
            t = part.type
            if t == "pair":
                key_node = part.child_by_field_name("key")
                value_node = part.child_by_field_name("value")
                if key_node.type == "property_identifier" and key_node.text == b"__proto__":
                    proto = self.expr(value_node, scope)

                    def set_proto(f: list[Any], o: JsObject, proto: Expr = proto) -> None:
                        p = proto(f)
                        if p is None or isinstance(p, JsObject):
                            o.proto = p

                    steps.append(set_proto)
                    continue
                key = self._property_key(key_node, scope)
                hint = key_node.text.decode() if key_node.type in ("property_identifier", "string") else None
                if hint and key_node.type == "string":
                    hint = string_value(key_node)
                value = self.expr(value_node, scope, name_hint=hint)
                if key_node.type != "computed_property_name":
                    fixed = key(None)  # type: ignore[arg-type]

                    def set_fixed(f: list[Any], o: JsObject, k: Any = fixed, value: Expr = value) -> None:
                        dict.__setitem__(o, k, value(f))

                    steps.append(set_fixed)
                else:

                    def set_pair(f: list[Any], o: JsObject, key: Expr = key, value: Expr = value) -> None:
                        dict.__setitem__(o, key(f), value(f))

                    steps.append(set_pair)
            elif t == "shorthand_property_identifier":
                name = part.text.decode()
                value = self.e_identifier(part, scope)
                steps.append(lambda f, o, name=name, value=value: dict.__setitem__(o, name, value(f)))  # type: ignore[misc]
            elif t == "method_definition":
                steps.append(self._method(part, scope, static=False, on_class=False))
            elif t == "spread_element":
                source = self.expr(part.named_children[0], scope)

                def spread(f: list[Any], o: JsObject, source: Expr = source) -> None:
                    v = source(f)
                    if v is None or v is UNDEFINED:
                        return
                    for k in m.own_enumerable_keys(v):
                        dict.__setitem__(o, k, m.get(v, k))

                steps.append(spread)
            elif t == "comment":
                continue
            else:
                raise self.unsupported(part, f"the object literal part {t!r}")
        new = JsObject

        def run(f: list[Any]) -> JsObject:
            o = new()
            for step in steps:
                step(f, o)
            return o

        return run

    def _method(self, node: Any, scope: Scope, static: bool, on_class: bool) -> Callable[[list[Any], JsObject], None]:
        words = {c.type for c in node.children if not c.is_named}
        if "*" in words:
            raise self.unsupported(node, "a generator method")
        key_node = node.child_by_field_name("name")
        key = self._property_key(key_node, scope)
        kind = (
            "getter"
            if "get" in words and _has_modifier(node, "get")
            else ("setter" if "set" in words and _has_modifier(node, "set") else "method")
        )
        name = key_node.text.decode() if key_node.type == "property_identifier" else ""
        make = self.function(node, scope, name, kind="method")

        def define(f: list[Any], target: JsObject) -> None:
            k = key(f)
            fn = make(f)
            fn.home = target
            if kind == "method":
                if on_class:
                    dict.__setitem__(target, k, Prop(fn, enumerable=False))
                else:
                    dict.__setitem__(target, k, fn)
                return
            current = dict.get(target, k)
            prop = current if type(current) is Prop and current.accessor else Prop(enumerable=not on_class)
            if kind == "getter":
                prop.getter = fn
            else:
                prop.setter = fn
            dict.__setitem__(target, k, prop)

        return define

    def e_member_expression(self, node: Any, scope: Scope) -> Expr:
        return self._chain_top(node, self._member(node, scope))

    def e_subscript_expression(self, node: Any, scope: Scope) -> Expr:
        return self._chain_top(node, self._member(node, scope))

    def _member_key(self, node: Any, scope: Scope) -> Expr:
        if node.type == "member_expression":
            prop = node.child_by_field_name("property")
            if prop.type == "private_property_identifier":
                raise self.unsupported(node, "a private class member")
            name = prop.text.decode()
            return lambda f: name
        index = self.expr(node.child_by_field_name("index"), scope)
        return index

    def _member(self, node: Any, scope: Scope) -> Expr:
        obj_node = node.child_by_field_name("object")
        optional = node.child_by_field_name("optional_chain") is not None
        get = m.get
        if obj_node.type == "super":
            key = self._member_key(node, scope)
            fn_get = _frame_get(self._this_hops(scope), FUNC)
            this_get = _frame_get(self._this_hops(scope), THIS)
            return lambda f: m.lookup(_super_base(fn_get(f)), m.to_property_key(key(f)), this_get(f))
        obj = self._inner(obj_node, scope)
        text = node_text(node)
        if node.type == "member_expression" and node.child_by_field_name("property").type == "property_identifier":
            name = node.child_by_field_name("property").text.decode()
            if optional:

                def opt_named(f: list[Any]) -> Any:
                    o = obj(f)
                    if o is None or o is UNDEFINED:
                        raise JsShortCircuit()
                    return get(o, name)

                return opt_named
            js_object = JsObject
            missing = m._MISSING

            def named(f: list[Any]) -> Any:
                o = obj(f)
                if type(o) is js_object:
                    v = dict.get(o, name, missing)
                    if v is not missing and type(v) is not Prop:
                        return v
                try:
                    return get(o, name)
                except JsThrow as exc:
                    _annotate(exc, text)
                    raise

            return named
        key = self._member_key(node, scope)

        def indexed(f: list[Any]) -> Any:
            o = obj(f)
            if optional and (o is None or o is UNDEFINED):
                raise JsShortCircuit()
            k = key(f)
            if type(o) is list and type(k) is int and 0 <= k < len(o):
                return o[k]
            return get(o, k)

        return indexed

    def _inner(self, node: Any, scope: Scope) -> Expr:
        """An expression inside an optional chain (no short-circuit catch of its own)."""
        if node.type in ("member_expression", "subscript_expression"):
            return self._member(node, scope)
        if node.type == "call_expression":
            return self._call(node, scope)
        return self.expr(node, scope)

    def _chain_top(self, node: Any, run: Expr) -> Expr:
        if not _has_optional(node):
            return run

        def top(f: list[Any]) -> Any:
            try:
                return run(f)
            except JsShortCircuit:
                return UNDEFINED

        return top

    def e_call_expression(self, node: Any, scope: Scope) -> Expr:
        return self._chain_top(node, self._call(node, scope))

    def _tagged_template_arguments(self, node: Any, scope: Scope) -> Callable[[list[Any]], list[Any]]:
        """A tag's arguments: the strings object (cooked strings by index, ``raw``), then the
        substitutions, as a tagged template passes them (e.g. String.raw with the text util)."""
        cooked: list[str] = [""]
        raw: list[str] = [""]
        subs: list[Expr] = []
        for child in node.named_children:
            if child.type == "template_substitution":
                subs.append(self.expr(child.named_children[0], scope))
                cooked.append("")
                raw.append("")
            elif child.type in ("string_fragment", "escape_sequence"):
                text = child.text.decode("utf-8", "surrogatepass")
                raw[-1] += text
                cooked[-1] += unescape(text) if child.type == "escape_sequence" else text
        raw_js = [m.canonical(r) for r in raw]
        cooked_js = [m.canonical(c) for c in cooked]

        def run(f: list[Any]) -> list[Any]:
            strings = m.new_object()
            for i, c in enumerate(cooked_js):
                dict.__setitem__(strings, str(i), c)
            dict.__setitem__(strings, "length", len(cooked_js))
            dict.__setitem__(strings, "raw", list(raw_js))
            return [strings, *[s(f) for s in subs]]

        return run

    def _arguments(self, node: Any, scope: Scope) -> Callable[[list[Any]], list[Any]]:
        items: list[tuple[bool, Expr]] = []
        if node is not None:
            for child in node.named_children:
                if child.type == "comment":
                    continue
                if child.type == "spread_element":
                    items.append((True, self.expr(child.named_children[0], scope)))
                else:
                    items.append((False, self.expr(child, scope)))
        if not items:
            return lambda f: []
        if not any(s for s, _ in items):
            exprs = tuple(e for _, e in items)
            if len(exprs) == 1:
                e0 = exprs[0]
                return lambda f: [e0(f)]
            if len(exprs) == 2:
                e0, e1 = exprs
                return lambda f: [e0(f), e1(f)]
            return lambda f: [e(f) for e in exprs]

        def run(f: list[Any]) -> list[Any]:
            out: list[Any] = []
            for spread, e in items:
                if spread:
                    out.extend(m.iterate(e(f)))
                else:
                    out.append(e(f))
            return out

        return run

    def _call(self, node: Any, scope: Scope) -> Expr:
        callee = node.child_by_field_name("function")
        arg_node = node.child_by_field_name("arguments")
        if arg_node is not None and arg_node.type == "template_string":
            args = self._tagged_template_arguments(arg_node, scope)
        else:
            args = self._arguments(arg_node, scope)
        optional = node.child_by_field_name("optional_chain") is not None
        text = node_text(callee, 60)
        if callee.type == "super":
            return self._super_call(node, scope, args)
        if callee.type == "import":
            load = self.realm.dynamic_import
            origin = self.origin
            return lambda f: load(args(f)[0], origin)
        js_fn = JSFunction
        if (
            callee.type in ("member_expression", "subscript_expression")
            and callee.child_by_field_name("object").type != "super"
        ):
            obj = self._inner(callee.child_by_field_name("object"), scope)
            obj_optional = callee.child_by_field_name("optional_chain") is not None
            key = self._member_key(callee, scope)
            get = m.get

            def method_call(f: list[Any]) -> Any:
                o = obj(f)
                if obj_optional and (o is None or o is UNDEFINED):
                    raise JsShortCircuit()
                try:
                    fn = get(o, key(f))
                except JsThrow as exc:
                    _annotate(exc, text)
                    raise
                if type(fn) is js_fn:
                    return fn.impl(o, args(f))
                if optional and (fn is None or fn is UNDEFINED):
                    raise JsShortCircuit()
                if isinstance(fn, js_fn):
                    return fn.impl(o, args(f))
                raise m.throw("TypeError", f"{text} is not a function")

            return method_call
        if callee.type == "member_expression":  # super.method(...)
            fn_expr = self._member(callee, scope)
            this_get = _frame_get(self._this_hops(scope), THIS)

            def super_method(f: list[Any]) -> Any:
                return m.call(fn_expr(f), this_get(f), args(f))

            return super_method
        fn_expr = self._inner(callee, scope)

        def plain_call(f: list[Any]) -> Any:
            fn = fn_expr(f)
            if type(fn) is js_fn:
                return fn.impl(UNDEFINED, args(f))
            if optional and (fn is None or fn is UNDEFINED):
                raise JsShortCircuit()
            if isinstance(fn, js_fn):
                return fn.impl(UNDEFINED, args(f))
            raise m.throw("TypeError", f"{text} is not a function")

        return plain_call

    def _super_call(self, node: Any, scope: Scope, args: Callable[[list[Any]], list[Any]]) -> Expr:
        hops = self._this_hops(scope)
        frame_of = _frame_of(hops)

        def run(f: list[Any]) -> Any:
            frame = frame_of(f)
            cls = frame[FUNC]
            parent = cls.proto
            this = m.construct(parent, args(f), frame[NEW_TARGET])
            frame[THIS] = this
            for init in cls.fields:
                init(this)
            return UNDEFINED

        return run

    def e_new_expression(self, node: Any, scope: Scope) -> Expr:
        ctor = self.expr(node.child_by_field_name("constructor"), scope)
        args = self._arguments(node.child_by_field_name("arguments"), scope)
        text = node_text(node.child_by_field_name("constructor"), 60)

        def run(f: list[Any]) -> Any:
            fn = ctor(f)
            if not isinstance(fn, JSFunction) or fn.make is None:
                raise m.throw("TypeError", f"{text} is not a constructor")
            return fn.make(args(f), fn)

        return run

    def e_await_expression(self, node: Any, scope: Scope) -> Expr:
        value = self.expr(node.named_children[0], scope)
        wait = self.realm.await_value
        return lambda f: wait(value(f))

    def e_sequence_expression(self, node: Any, scope: Scope) -> Expr:
        exprs = [self.expr(c, scope) for c in node.named_children if c.type != "comment"]

        def run(f: list[Any]) -> Any:
            v = UNDEFINED
            for e in exprs:
                v = e(f)
            return v

        return run

    def e_ternary_expression(self, node: Any, scope: Scope) -> Expr:
        test = self.condition(node.child_by_field_name("condition"), scope)
        yes = self.expr(node.child_by_field_name("consequence"), scope)
        no = self.expr(node.child_by_field_name("alternative"), scope)
        return lambda f: yes(f) if test(f) else no(f)

    def e_unary_expression(self, node: Any, scope: Scope) -> Expr:
        op = node.child_by_field_name("operator").type
        arg_node = node.child_by_field_name("argument")
        if op == "typeof":
            if arg_node.type == "identifier" and self.resolve(arg_node.text.decode(), scope)[0] == "global":
                name = arg_node.text.decode()
                g = self.realm.global_object

                def typeof_global(f: list[Any]) -> str:
                    if name not in g:
                        return "undefined"
                    return m.typeof(m.get(g, name))

                return typeof_global
            arg = self.expr(arg_node, scope)
            typeof = m.typeof
            return lambda f: typeof(arg(f))
        if op == "delete":
            if arg_node.type in ("member_expression", "subscript_expression"):
                obj = self.expr(arg_node.child_by_field_name("object"), scope)
                key = self._member_key(arg_node, scope)
                return lambda f: m.delete(obj(f), key(f))
            return lambda f: True
        arg = self.expr(arg_node, scope)
        if op == "!":
            to_bool = m.to_boolean
            return lambda f: not to_bool(arg(f))
        if op == "-":
            if arg_node.type == "number":
                value = m.negate(number_value(arg_node.text.decode()))
                return lambda f: value
            return lambda f: m.negate(arg(f))
        if op == "+":
            return lambda f: m.to_number(arg(f))
        if op == "~":
            return lambda f: m.bit_not(arg(f))
        if op == "void":
            return lambda f: (arg(f), UNDEFINED)[1]
        raise self.unsupported(node, f"the unary operator {op!r}")

    def e_binary_expression(self, node: Any, scope: Scope) -> Expr:
        op = node.child_by_field_name("operator").type
        left_node = node.child_by_field_name("left")
        if left_node.type == "private_property_identifier":
            raise self.unsupported(node, "#x in obj")
        left = self.expr(left_node, scope)
        right = self.expr(node.child_by_field_name("right"), scope)
        if op == "&&":
            to_bool = m.to_boolean

            def and_(f: list[Any]) -> Any:
                v = left(f)
                return right(f) if to_bool(v) else v

            return and_
        if op == "||":
            to_bool = m.to_boolean

            def or_(f: list[Any]) -> Any:
                v = left(f)
                return v if to_bool(v) else right(f)

            return or_
        if op == "??":

            def nullish(f: list[Any]) -> Any:
                v = left(f)
                return right(f) if v is None or v is UNDEFINED else v

            return nullish
        if op == "instanceof":
            return lambda f: m.instance_of(left(f), right(f))
        if op == "in":

            def in_(f: list[Any]) -> bool:
                key = left(f)  # JS evaluates the key first
                return m.has_property(right(f), key)

            return in_
        if op == "===":
            eq = m.strict_equals

            def seq(f: list[Any]) -> bool:
                a = left(f)
                b = right(f)
                if a is b and type(a) is not float:
                    return True
                return eq(a, b)

            return seq
        if op == "!==":
            eq = m.strict_equals

            def sne(f: list[Any]) -> bool:
                a = left(f)
                b = right(f)
                if a is b and type(a) is not float:
                    return False
                return not eq(a, b)

            return sne
        fn = _BINARY.get(op)
        if fn is None:
            raise self.unsupported(node, f"the binary operator {op!r}")
        if op == "+":
            add = m.add

            def plus(f: list[Any]) -> Any:
                a = left(f)
                b = right(f)
                if type(a) is int and type(b) is int:
                    r = a + b
                    if -m.MAX_SAFE <= r <= m.MAX_SAFE:
                        return r
                return add(a, b)

            return plus
        binop = fn
        return lambda f: binop(left(f), right(f))

    def e_assignment_expression(self, node: Any, scope: Scope) -> Expr:
        left = node.child_by_field_name("left")
        value = self.expr(node.child_by_field_name("right"), scope, name_hint=_simple_name(left))
        if left.type == "identifier":
            where = self.resolve(left.text.decode(), scope)
            if where[0] == "slot" and where[1] == 0:
                idx = where[2]

                def assign_local(f: list[Any]) -> Any:
                    v = f[idx] = value(f)
                    return v

                return assign_local
        assign = self.binding_target(left, scope)

        def run(f: list[Any]) -> Any:
            v = value(f)
            assign(f, v)
            return v

        return run

    def e_augmented_assignment_expression(self, node: Any, scope: Scope) -> Expr:
        op = node.child_by_field_name("operator").type
        left = node.child_by_field_name("left")
        right = self.expr(node.child_by_field_name("right"), scope)
        read, write = self._reference(left, scope)
        if op in ("&&=", "||=", "??="):
            to_bool = m.to_boolean

            def logical(f: list[Any]) -> Any:
                ref = read(f)
                v = ref[0]
                if op == "&&=" and not to_bool(v):
                    return v
                if op == "||=" and to_bool(v):
                    return v
                if op == "??=" and not (v is None or v is UNDEFINED):
                    return v
                nv = right(f)
                write(f, ref, nv)
                return nv

            return logical
        fn = _BINARY[op[:-1]]

        def run(f: list[Any]) -> Any:
            ref = read(f)
            nv = fn(ref[0], right(f))
            write(f, ref, nv)
            return nv

        return run

    def _reference(
        self, node: Any, scope: Scope
    ) -> tuple[Callable[[list[Any]], Any], Callable[[list[Any], Any, Any], None]]:
        """(read -> (value, obj, key), write(frame, ref, value)) for an assignable expression."""
        if node.type == "parenthesized_expression":
            return self._reference(node.named_children[0], scope)
        if node.type in ("identifier", "undefined"):
            get = self.e_identifier(node, scope)
            put = self.assign_name(node.text.decode(), scope)
            return (lambda f: (get(f), None, None)), (lambda f, ref, v: put(f, v))
        if node.type in ("member_expression", "subscript_expression"):
            obj = self.expr(node.child_by_field_name("object"), scope)
            key = self._member_key(node, scope)

            def read(f: list[Any]) -> Any:
                o = obj(f)
                k = key(f)
                return (m.get(o, k), o, k)

            return read, (lambda f, ref, v: m.put(ref[1], ref[2], v))
        raise self.unsupported(node, f"assignment to {node.type!r}")

    def e_update_expression(self, node: Any, scope: Scope) -> Expr:
        op = node.child_by_field_name("operator").type
        arg = node.child_by_field_name("argument")
        prefix = node.children[0].type in ("++", "--")
        delta = 1 if op == "++" else -1
        if arg.type == "identifier":
            where = self.resolve(arg.text.decode(), scope)
            if where[0] == "slot" and where[1] == 0:
                idx = where[2]

                def local(f: list[Any]) -> Any:
                    old = f[idx]
                    if type(old) is not int:
                        old = m.to_numeric(old)
                    new = m.add(old, m.BigInt(delta) if type(old) is m.BigInt else delta)
                    f[idx] = new
                    return new if prefix else old

                return local
        read, write = self._reference(arg, scope)

        def run(f: list[Any]) -> Any:
            ref = read(f)
            old = m.to_numeric(ref[0])
            new = m.add(old, m.BigInt(delta) if type(old) is m.BigInt else delta)
            write(f, ref, new)
            return new if prefix else old

        return run

    def e_spread_element(self, node: Any, scope: Scope) -> Expr:
        raise self.unsupported(node, "spread outside a call, array or object")

    def e_yield_expression(self, node: Any, scope: Scope) -> Expr:
        raise self.unsupported(node, "yield (generators)")

    def e_super(self, node: Any, scope: Scope) -> Expr:
        raise self.unsupported(node, "super outside a member access or call")

    # -- functions and classes ----------------------------------------------------------------
    def function(
        self, node: Any, scope: Scope, name: str = "", kind: Optional[str] = None
    ) -> Callable[[list[Any]], JSFunction]:
        t = node.type
        words = {c.type for c in node.children if not c.is_named}
        if "*" in words or t.startswith("generator"):
            raise self.unsupported(node, "a generator function")
        arrow = t == "arrow_function"
        is_async = "async" in words
        kind = kind or ("arrow" if arrow else "function")
        fn_scope = FnScope(arrow=arrow, kind=kind)
        inner = Scope(fn_scope, scope)
        name_node = node.child_by_field_name("name")
        self_slot = None
        if name_node is not None and t in ("function_expression", "function"):
            name = name_node.text.decode()
            self_slot = inner.declare(name)
        elif name_node is not None and not name:
            name = name_node.text.decode()
        params_node = node.child_by_field_name("parameters")
        if params_node is None:
            params_node = node.child_by_field_name("parameter")
            params = [params_node] if params_node is not None else []
        else:
            params = [p for p in params_node.named_children if p.type != "comment"]
        bind, nparams = self._params(params, inner)
        body_node = node.child_by_field_name("body")
        expression_body = body_node.type != "statement_block"
        if expression_body:
            expr = self.expr(body_node, inner)
            body: Stmt = expr
        else:
            stmts = [c for c in body_node.named_children if c.type != "comment"]
            self.hoist_vars(stmts, inner)
            hoist = self.declare_block(stmts, inner)
            block = self.block(stmts, inner)
            if hoist_is_empty(stmts):
                body = block
            else:

                def body_with_hoist(f: list[Any]) -> Any:
                    hoist(f)
                    return block(f)

                body = body_with_hoist
        template = FunctionTemplate(
            name=name,
            nparams=nparams,
            size=fn_scope.size,
            kind=kind,
            is_async=is_async,
            bind=bind,
            body=body,
            expression_body=expression_body,
            self_slot=self_slot,
            source=node_text(node, 200),
            free=frozenset(fn_scope.free),
            params=tuple(_param_name(p) for p in params),
        )
        if not is_async and kind in ("function", "arrow", "method", "getter", "setter", "constructor"):
            from .direct import translate

            param_slots = (
                [inner.names[p.text.decode()] for p in params] if all(p.type == "identifier" for p in params) else None
            )
            template.direct = translate(self, node, inner, param_slots, self_slot, expression_body)
        return self.realm.closure_maker(template)  # type: ignore[no-any-return]

    def _params(self, params: list[Any], scope: Scope) -> tuple[Callable[[list[Any], list[Any]], None], int]:
        simple: list[int] = []
        complex_: list[Callable[[list[Any], list[Any]], None]] = []
        nparams = 0
        for i, p in enumerate(params):
            if p.type == "identifier" and not complex_:
                simple.append(scope.declare(p.text.decode()))
                nparams += 1
                continue
            for name in _pattern_names(p):
                scope.declare(name)
            if p.type == "rest_pattern":
                assign = self.binding_target(p.named_children[0], scope)
                complex_.append(lambda f, args, i=i, assign=assign: assign(f, list(args[i:])))  # type: ignore[misc]
            else:
                assign = self.binding_target(p, scope)
                if p.type not in ("assignment_pattern",):
                    nparams += 1
                complex_.append(
                    lambda f, args, i=i, assign=assign: assign(f, args[i] if i < len(args) else UNDEFINED)  # type: ignore[misc]
                )
        slots = tuple(simple)
        count = len(slots)

        def bind(f: list[Any], args: list[Any]) -> None:
            n = len(args)
            if n >= count:
                for i, s in enumerate(slots):
                    f[s] = args[i]
            else:
                for i, s in enumerate(slots):
                    f[s] = args[i] if i < n else UNDEFINED
            for c in complex_:
                c(f, args)

        if not slots and not complex_:
            return (lambda f, args: None), 0
        if count == 1 and not complex_:
            s0 = slots[0]

            def bind1(f: list[Any], args: list[Any]) -> None:
                f[s0] = args[0] if args else UNDEFINED

            return bind1, 1
        return bind, nparams

    def class_(self, node: Any, scope: Scope, name: str) -> Callable[[list[Any]], JSFunction]:
        inner = Scope(scope.fn, scope)
        name_node = node.child_by_field_name("name")
        self_slot = inner.declare(name_node.text.decode()) if name_node is not None else None
        heritage = next((c for c in node.children if c.type == "class_heritage"), None)
        parent_expr = self.expr(heritage.named_children[-1], inner) if heritage is not None else None
        body = node.child_by_field_name("body")
        ctor_node = None
        members: list[Callable[[list[Any], JsObject], None]] = []
        statics: list[Callable[[list[Any], JsObject], None]] = []
        fields: list[tuple[Expr, Optional[Callable[[list[Any]], JSFunction]]]] = []
        static_fields: list[tuple[Expr, Optional[Callable[[list[Any]], JSFunction]]]] = []
        for member in body.named_children:
            t = member.type
            if t == "method_definition":
                key_node = member.child_by_field_name("name")
                is_static = any(c.type == "static" for c in member.children)
                if key_node.type == "property_identifier" and key_node.text == b"constructor" and not is_static:
                    ctor_node = member
                    continue
                (statics if is_static else members).append(self._method(member, inner, is_static, on_class=True))
            elif t == "field_definition":
                is_static = any(c.type == "static" for c in member.children)
                key = self._property_key(member.child_by_field_name("property"), inner)
                value_node = member.child_by_field_name("value")
                init = None
                if value_node is not None:
                    # The initialiser runs as a method of the instance (its `this`).
                    init = self._field_initializer(value_node, inner)
                (static_fields if is_static else fields).append((key, init))
            elif t == "class_static_block":
                raise self.unsupported(member, "a static block")
            elif t in ("comment", ";"):
                continue
        ctor_make = self.function(ctor_node, inner, name, kind="constructor") if ctor_node is not None else None
        realm = self.realm

        def make(f: list[Any]) -> JSFunction:
            parent = parent_expr(f) if parent_expr is not None else None
            if parent_expr is not None and parent is not None and not (isinstance(parent, JSFunction) and parent.make):
                raise m.throw("TypeError", f"Class extends value {m.describe(parent)} is not a constructor or null")
            proto_parent = (
                m.OBJECT_PROTO if parent_expr is None else (None if parent is None else m.get(parent, "prototype"))
            )
            proto = m.new_object(proto_parent)
            ctor_fn = ctor_make(f) if ctor_make is not None else None
            cls = realm.make_class(name, proto, parent, parent_expr is not None, ctor_fn)
            if self_slot is not None:
                f[self_slot] = cls
            for define in members:
                define(f, proto)
            for define in statics:
                define(f, cls)
            for key, init in fields:
                cls.fields.append(_field_setter(key(f), init(f) if init is not None else None))
            for key, init in static_fields:
                k = key(f)
                dict.__setitem__(cls, k, m.call(init(f), cls, []) if init is not None else UNDEFINED)
            return cls  # type: ignore[no-any-return]

        return make

    def _field_initializer(self, value_node: Any, scope: Scope) -> Callable[[list[Any]], JSFunction]:
        fn_scope = FnScope(arrow=False, kind="method")
        inner = Scope(fn_scope, scope)
        expr = self.expr(value_node, inner)
        template = FunctionTemplate(
            name="<field>",
            nparams=0,
            size=fn_scope.size,
            kind="method",
            is_async=False,
            bind=lambda f, a: None,
            body=expr,
            expression_body=True,
            self_slot=None,
            source=node_text(value_node),
        )
        make: Callable[[list[Any]], JSFunction] = self.realm.closure_maker(template)
        return make


class GlueAccess:
    """What a helper implementation may read of the module that declares it: its
    top-level names (``wasm``, ``WASM_VECTOR_LEN``...) and the helper's own tree."""

    def __init__(self, compiler: Compiler, scope: Scope, node: Any) -> None:
        self.node = node
        self.origin = compiler.origin
        self.names = scope.names
        self.namespaces = compiler.namespaces
        self.params = [
            p.text.decode() for p in (node.child_by_field_name("parameters").named_children) if p.type != "comment"
        ]

    def has(self, name: str) -> bool:
        return name in self.names

    def getter(self, name: str) -> Callable[[list[Any]], Any]:
        found = self.names[name]
        if isinstance(found, ImportRef):
            holder, index, key = self.namespaces, found.index, found.name
            if key == "*":
                return lambda f: holder[index]
            return lambda f: m.get(holder[index], key)
        return lambda f: f[found]

    def setter(self, name: str) -> Callable[[list[Any], Any], None]:
        slot = self.names[name]
        if not isinstance(slot, int):
            raise JsSyntaxError(f"{self.origin}: {name} is not a module variable")

        def put(f: list[Any], v: Any) -> None:
            f[slot] = v

        return put

    def member_calls(self, object_name: str = "wasm") -> list[str]:
        """Names ``X`` of every ``<object_name>.X(...)`` call in the helper's body, in order."""
        found: list[str] = []
        stack = [self.node]
        while stack:
            n = stack.pop(0)
            if n.type == "call_expression":
                callee = n.child_by_field_name("function")
                if (
                    callee.type == "member_expression"
                    and callee.child_by_field_name("object").text == object_name.encode()
                ):
                    found.append(callee.child_by_field_name("property").text.decode())
            stack[0:0] = list(n.named_children)
        return found


def caught_value(exc: BaseException) -> Any:
    """The JS value a ``catch`` binds for a Python exception."""
    if isinstance(exc, JsThrow):
        return exc.js_value
    value = getattr(exc, "value", None)
    if value is not None:
        return value
    if isinstance(exc, RecursionError):
        return m.make_error("RangeError", "Maximum call stack size exceeded")
    return m.make_error(getattr(exc, "name", None) or "Error", str(exc))


def _super_base(fn: Any) -> Any:
    home = fn.home if isinstance(fn, JSFunction) else None
    if home is None:
        raise m.throw("SyntaxError", "'super' keyword unexpected here")
    return home.proto


def _field_setter(key: Any, init: Optional[JSFunction]) -> Callable[[Any], None]:
    def set_field(this: Any) -> None:
        m.put(this, key, m.call(init, this, []) if init is not None else UNDEFINED)

    return set_field


def _annotate(exc: JsThrow, text: str) -> None:
    if exc.message and "(reading" in exc.message and "in `" not in exc.message:
        exc.message = f"{exc.message} in `{text}`"


def _loop_verdict(r: Any, labels: tuple[str, ...]) -> Any:
    """For a loop body's completion: True to break, False to continue, _ABRUPT to propagate."""
    kind, label = r
    if kind == BREAK and (label is None or label in labels):
        return True
    if kind == CONTINUE and (label is None or label in labels):
        return False
    return _ABRUPT


def _for_in_keys(value: Any) -> list[Any]:
    if value is None or value is UNDEFINED:
        return []
    keys: list[Any] = []
    seen: set[Any] = set()
    o = value
    first = True
    while o is not None:
        for k in m.own_enumerable_keys(o) if first or isinstance(o, dict) else []:
            if k not in seen:
                seen.add(k)
                keys.append(k)
        first = False
        o = m.proto_of(o)
        if o is m.OBJECT_PROTO or o is None:
            break
    return keys


def _contains_closure(node: Any) -> bool:
    if node is None:
        return False
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type in _FUNCTION_NODES or n.type in ("class", "class_declaration"):
            return True
        stack.extend(n.named_children)
    return False


def _pattern_names(node: Any) -> list[str]:
    if node is None:
        return []
    t = node.type
    if t in ("identifier", "shorthand_property_identifier_pattern"):
        return [node.text.decode()]
    if t in ("object_pattern", "array_pattern", "rest_pattern"):
        out: list[str] = []
        for c in node.named_children:
            out.extend(_pattern_names(c))
        return out
    if t == "pair_pattern":
        return _pattern_names(node.child_by_field_name("value"))
    if t in ("assignment_pattern", "object_assignment_pattern"):
        return _pattern_names(node.child_by_field_name("left"))
    return []


def _param_name(node: Any) -> str:
    if node.type == "identifier":
        return str(node.text.decode())
    if node.type == "assignment_pattern":
        return _param_name(node.child_by_field_name("left"))
    if node.type == "rest_pattern":
        return "*" + _param_name(node.named_children[0])
    return "arg"


def _simple_name(node: Any) -> Optional[str]:
    if node is not None and node.type == "identifier":
        return str(node.text.decode())
    if node is not None and node.type == "member_expression":
        prop = node.child_by_field_name("property")
        return str(prop.text.decode()) if prop is not None else None
    return None


def _has_modifier(node: Any, word: str) -> bool:
    name = node.child_by_field_name("name")
    for c in node.children:
        if c == name:
            return False
        if c.type == word:
            return True
    return False


def _has_optional(node: Any) -> bool:
    while node is not None and node.type in ("member_expression", "subscript_expression", "call_expression"):
        if node.child_by_field_name("optional_chain") is not None:
            return True
        node = node.child_by_field_name("object") or node.child_by_field_name("function")
    return False


def hoist_is_empty(stmts: list[Any]) -> bool:
    for s in stmts:
        d = s.child_by_field_name("declaration") if s.type == "export_statement" else s
        if d is not None and d.type in ("function_declaration", "lexical_declaration", "class_declaration"):
            if d.type == "function_declaration":
                return False
    return True


_FUNCTION_NODES = frozenset(
    {
        "function_declaration",
        "function_expression",
        "arrow_function",
        "function",
        "method_definition",
        "generator_function_declaration",
        "generator_function",
    }
)
_LOOPS = frozenset({"for_statement", "for_in_statement", "while_statement", "do_statement"})

_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": m.add,
    "-": m.sub,
    "*": m.mul,
    "/": m.div,
    "%": m.mod,
    "**": m.power,
    "&": m.bit_and,
    "|": m.bit_or,
    "^": m.bit_xor,
    "<<": m.shl,
    ">>": m.sar,
    ">>>": m.shr,
    "==": m.loose_equals,
    "!=": lambda a, b: not m.loose_equals(a, b),
    "===": m.strict_equals,
    "!==": lambda a, b: not m.strict_equals(a, b),
    "<": m.lt,
    ">": m.gt,
    "<=": m.le,
    ">=": m.ge,
}
#: The comparison operators of _BINARY (the same functions).
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    op: _BINARY[op] for op in ("===", "!==", "==", "!=", "<", ">", "<=", ">=")
}
