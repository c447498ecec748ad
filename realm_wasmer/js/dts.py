"""A package's TypeScript declarations (``.d.ts``) as Python types: for ``inspect.signature``,
``realm-wasmer stubs PACKAGE`` and the int -> BigInt rule of the value table.

wasm-bindgen writes its ``.d.ts`` from a small vocabulary: ``export function f(a: T, b?: U): R;``,
``export class C { free(): void; constructor(...); static s(...): R; m(...): R; readonly p: T;
p: T; [Symbol.dispose](): void; }``, ``export enum E { A = 0, B = 1 }`` (string enums as a
``type E = "a" | "b"``), plus type aliases/interfaces from ``typescript_custom_section`` and the
init functions of the web target. This reader tokenises the declarations (comments dropped,
brackets balanced, ``=>`` one token) and keeps those shapes; anything else at the top level is
skipped whole (to its ``;`` or its balanced ``{...}``). Types are kept as their TS text and
mapped to Python annotations by :func:`py_type`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Optional

import attrs


@attrs.frozen
class Param:
    name: str
    ts: str  # the TS type text ("" when not written)
    optional: bool = False
    rest: bool = False


@attrs.frozen
class Func:
    name: str
    params: tuple[Param, ...]
    returns: str  # TS text; "" for a constructor


@attrs.frozen
class Member:
    """A class member: a method (``params`` not None) or a property/accessor."""

    name: str
    static: bool
    params: Optional[tuple[Param, ...]]
    ts: str  # return type of a method, type of a property
    readonly: bool = False


@attrs.define
class ClassDecl:
    name: str
    ctor: Optional[Func] = None
    members: list[Member] = attrs.field(factory=list)


@attrs.define
class Declarations:
    """What a ``.d.ts`` declares (exports, in source order per kind)."""

    path: Optional[Path] = None
    functions: dict[str, Func] = attrs.field(factory=dict)
    classes: dict[str, ClassDecl] = attrs.field(factory=dict)
    enums: dict[str, list[tuple[str, Any]]] = attrs.field(factory=dict)
    constants: dict[str, str] = attrs.field(factory=dict)
    #: interface / type alias names (objects passed as dicts), with a type alias's TS text
    types: dict[str, str] = attrs.field(factory=dict)

    def function(self, name: str) -> Optional[Func]:
        return self.functions.get(name)

    def method(self, cls: str, name: str, static: bool) -> Optional[Member]:
        decl = self.classes.get(cls)
        if decl is None:
            return None
        for member in decl.members:
            if member.name == name and member.static == static and member.params is not None:
                return member
        return None


# ---------------------------------------------------------------------------------------- tokens

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`)
  | (?P<number>-?\d[\d_]*(?:\.\d+)?(?:[eE][-+]?\d+)?n?|-?0[xXoObB][0-9a-fA-F_]+n?)
  | (?P<ident>[A-Za-z_$][\w$]*)
  | (?P<punct>=>|\.\.\.|\?\.|[^\s])
    """,
    re.S | re.X,
)


def tokenize(text: str) -> list[tuple[str, str, int, int]]:
    """(kind, text, start, end) of each token; whitespace and comments dropped."""
    out = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "punct"
        if kind in ("ws", "comment"):
            continue
        out.append((kind, match.group(), match.start(), match.end()))
    return out


_OPEN = {"(": ")", "[": "]", "{": "}", "<": ">"}


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = tokenize(text)
        self.i = 0

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.toks[j][1] if j < len(self.toks) else ""

    def next(self) -> str:
        tok = self.peek()
        self.i += 1
        return tok

    def accept(self, *texts: str) -> bool:
        if self.peek() in texts:
            self.i += 1
            return True
        return False

    def skip_balanced(self) -> None:
        """Skip one token, or a whole bracketed group when it opens one."""
        stack: list[str] = []
        while self.i < len(self.toks):
            tok = self.next()
            if tok in _OPEN and (tok != "<" or stack or True):
                stack.append(_OPEN[tok])
            elif stack and tok == stack[-1]:
                stack.pop()
            if not stack:
                return

    def skip_statement(self) -> None:
        """Skip to the end of a top-level declaration: its ``;`` or its closing brace."""
        depth = 0
        while self.i < len(self.toks):
            tok = self.next()
            if tok in ("(", "[", "{"):
                depth += 1
            elif tok in (")", "]", "}"):
                depth -= 1
                if depth <= 0 and tok == "}" and self.peek() != "|" and self.peek() != "&":
                    self.accept(";")
                    return
            elif tok == ";" and depth <= 0:
                return

    def type_text(self, stops: tuple[str, ...]) -> str:
        """The TS type text up to one of ``stops`` at bracket depth 0 (not consumed)."""
        start_i = self.i
        depth = 0
        while self.i < len(self.toks):
            tok = self.peek()
            if depth == 0 and tok in stops:
                break
            if tok in ("(", "[", "{", "<"):
                depth += 1
            elif tok in (")", "]", "}", ">"):
                if depth == 0:
                    break
                depth -= 1
            self.i += 1
        if self.i == start_i:
            return ""
        a = self.toks[start_i][2]
        b = self.toks[self.i - 1][3]
        return " ".join(self.text[a:b].split())

    def params(self) -> tuple[Param, ...]:
        out: list[Param] = []
        if not self.accept("("):
            return ()
        while self.peek() and not self.accept(")"):
            rest = self.accept("...")
            name = self.next()
            if name in ("{", "["):  # a destructured parameter
                self.i -= 1
                self.skip_balanced()
                name = f"arg{len(out)}"
            optional = self.accept("?")
            ts = ""
            if self.accept(":"):
                ts = self.type_text((",", ")"))
            out.append(Param(name, ts, optional, rest))
            self.accept(",")
        return tuple(out)


def parse(text: str, path: Optional[Path] = None) -> Declarations:
    """The declarations of one ``.d.ts`` text."""
    r = _Reader(text)
    decls = Declarations(path)
    while r.i < len(r.toks):
        start = r.i
        exported = r.accept("export")
        default = exported and r.accept("default")
        r.accept("declare")
        tok = r.peek()
        if not exported and tok not in ("interface", "type", "declare", "enum", "class", "function"):
            r.skip_statement()
            continue
        if tok == "function":
            r.next()
            name = r.next()
            if r.peek() == "<":
                r.skip_balanced()
            params = r.params()
            returns = r.type_text((";", "{")) if r.accept(":") else ""
            r.accept(";")
            decls.functions["default" if default else name] = Func(name, params, returns)
        elif tok == "class":
            r.next()
            cls = _class(r)
            decls.classes[cls.name] = cls
        elif tok in ("enum", "const") and (tok == "enum" or r.peek(1) == "enum"):
            if tok == "const":
                r.next()
            r.next()
            name = r.next()
            decls.enums[name] = _enum(r)
        elif tok in ("const", "let", "var"):
            r.next()
            name = r.next()
            decls.constants[name] = r.type_text((";",)) if r.accept(":") else ""
            r.skip_statement()
        elif tok == "interface":
            r.next()
            decls.types[r.next()] = "{}"
            r.skip_statement()
        elif tok == "type" and r.peek(1) not in ("*", "{"):
            r.next()
            name = r.next()
            if r.peek() == "<":
                r.skip_balanced()
            decls.types[name] = r.type_text((";",)) if r.accept("=") else ""
            r.skip_statement()
        else:
            r.skip_statement()
        if r.i == start:
            r.i += 1
    return decls


def _class(r: _Reader) -> ClassDecl:
    cls = ClassDecl(r.next())
    while r.peek() and r.peek() != "{":
        r.next()  # extends / implements clauses
    r.accept("{")
    while r.peek() and not r.accept("}"):
        static = readonly = False
        accessor = ""
        while r.peek() in ("static", "readonly", "public", "private", "protected", "get", "set") and r.peek(1) not in (
            "(",
            ":",
            "?",
            ";",
        ):
            word = r.next()
            static = static or word == "static"
            readonly = readonly or word == "readonly"
            accessor = word if word in ("get", "set") else accessor
        if r.peek() == "[":  # [Symbol.dispose](): void;
            r.skip_balanced()
            r.params()
            if r.accept(":"):
                r.type_text((";", "}"))
            r.accept(";")
            continue
        name = r.next()
        r.accept("?")
        if r.peek() == "(":
            params = r.params()
            ts = r.type_text((";", "}")) if r.accept(":") else ""
            r.accept(";")
            if name == "constructor":
                cls.ctor = Func(name, params, "")
            elif accessor == "get":
                cls.members.append(Member(name, static, None, ts, readonly=True))
            elif accessor == "set":
                _merge_setter(cls, name, static, params[0].ts if params else "")
            else:
                cls.members.append(Member(name, static, params, ts))
        else:
            ts = r.type_text((";", "}")) if r.accept(":") else ""
            r.accept(";")
            cls.members.append(Member(name, static, None, ts, readonly=readonly))
    r.accept(";")
    return cls


def _merge_setter(cls: ClassDecl, name: str, static: bool, ts: str) -> None:
    for k, member in enumerate(cls.members):
        if member.name == name and member.params is None and member.static == static:
            cls.members[k] = attrs.evolve(member, readonly=False)
            return
    cls.members.append(Member(name, static, None, ts, readonly=False))


def _enum(r: _Reader) -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    r.accept("{")
    value: Any = -1
    while r.peek() and not r.accept("}"):
        name = r.next().strip("\"'")
        if r.accept("="):
            text = r.type_text((",", "}"))
            try:
                value = json.loads(text) if text[:1] in "\"'" and text[0] == '"' else int(text, 0)
            except ValueError:
                value = text.strip("'\"") if text[:1] in "'\"" else text
        else:
            value = value + 1 if isinstance(value, int) else value
        items.append((name, value))
        r.accept(",")
    return items


def read(path: Path, _depth: int = 0) -> Declarations:
    """The declarations of ``path`` and the interfaces/aliases of the ``.d.ts`` files it imports."""
    text = path.read_text(encoding="utf-8")
    decls = parse(text, path)
    toks = tokenize(text)
    for k, (_kind, tok, _, _) in enumerate(toks):
        if tok != "from" or k + 1 >= len(toks) or toks[k + 1][0] != "string":
            continue
        spec = toks[k + 1][1][1:-1]
        if not spec.startswith("."):
            continue
        star = k >= 2 and toks[k - 1][1] == "*" and toks[k - 2][1] == "export"
        target = (path.parent / spec).resolve()
        for candidate in (target, target.with_suffix(".d.ts"), Path(str(target) + ".d.ts")):
            if candidate.is_file() and candidate != path:
                other = read(candidate, _depth + 1) if star and _depth < 4 else parse(candidate.read_text("utf-8"))
                for name, ts in other.types.items():
                    decls.types.setdefault(name, ts)
                if star:  # export * from "./x": its declarations are this module's
                    for field in ("functions", "classes", "enums", "constants"):
                        for name, value in getattr(other, field).items():
                            getattr(decls, field).setdefault(name, value)
                break
    return decls


def find(root: Path, entry: Path) -> Optional[Path]:
    """The ``.d.ts`` describing ``entry``: beside it (same stem), else package.json's
    ``types``/``typings``/``exports["."].types``, else the one ``.d.ts`` beside the entry."""
    stem = entry.name.split(".")[0]
    for name in (f"{stem}.d.ts", f"{stem}.d.cts", f"{stem}.d.mts"):
        if (entry.parent / name).is_file():
            return entry.parent / name
    meta: dict[str, Any] = {}
    if (root / "package.json").is_file():
        try:
            meta = json.loads((root / "package.json").read_text())
        except ValueError:
            meta = {}
    dot = meta.get("exports", {}).get(".") if isinstance(meta.get("exports"), dict) else None
    for value in (meta.get("types"), meta.get("typings"), dot.get("types") if isinstance(dot, dict) else None):
        if isinstance(value, str) and (root / value).is_file():
            return root / value
    found = [p for p in entry.parent.glob("*.d.ts") if not p.name.endswith(".wasm.d.ts")]
    return found[0] if len(found) == 1 else None


# ---------------------------------------------------------------------------------------- TS -> Python

_SIMPLE = {
    "string": "str",
    "number": "float",
    "boolean": "bool",
    "bigint": "int",
    "BigInt": "int",
    "void": "None",
    "undefined": "None",
    "null": "None",
    "any": "Any",
    "unknown": "Any",
    "object": "dict[str, Any]",
    "Object": "dict[str, Any]",
    "Function": "Callable[..., Any]",
    "never": "NoReturn",
    "Date": "Any",
    "Error": "Exception",
}
_TYPED = {
    "Uint8Array",
    "Int8Array",
    "Uint8ClampedArray",
    "Int16Array",
    "Uint16Array",
    "Int32Array",
    "Uint32Array",
    "Float32Array",
    "Float64Array",
    "BigInt64Array",
    "BigUint64Array",
    "ArrayBuffer",
}


def split_top(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` outside brackets and strings."""
    parts, depth, cur, quote = [], 0, "", ""
    k = 0
    while k < len(text):
        c = text[k]
        if quote:
            cur += c
            if c == "\\" and k + 1 < len(text):
                cur += text[k + 1]
                k += 1
            elif c == quote:
                quote = ""
        elif c in "\"'`":
            quote = c
            cur += c
        elif c in "([{<":
            depth += 1
            cur += c
        elif c in ")]}>" and not (c == ">" and k > 0 and text[k - 1] == "="):
            depth -= 1
            cur += c
        elif c == sep and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += c
        k += 1
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def py_type(ts: str, decls: Optional[Declarations] = None, param: bool = False) -> str:
    """The Python annotation (as text) for a TS type of the package (see docs/js-values.md)."""
    ts = ts.strip()
    if not ts:
        return "Any"
    union = split_top(ts, "|")
    if len(union) > 1:
        out: list[str] = []
        for part in union:
            t = py_type(part, decls, param)
            if t not in out:
                out.append(t)
        if "Any" in out:
            return "Any"
        return " | ".join(out)
    if ts.startswith("(") and ts.endswith(")") and "=>" not in ts:
        return py_type(ts[1:-1], decls, param)
    if "=>" in ts:
        return "Callable[..., Any]"
    if ts[:1] in "\"'`":
        return "str"
    if re.fullmatch(r"-?\d+(\.\d+)?", ts):
        return "float"
    if ts in ("true", "false"):
        return "bool"
    if ts.endswith("[]"):
        return f"list[{py_type(ts[:-2], decls, param)}]"
    if ts.startswith("{"):
        return "dict[str, Any]"
    if ts.startswith("["):
        return "list[Any]"
    match = re.fullmatch(r"([\w$.]+)\s*<(.*)>", ts, re.S)
    if match:
        head, args = match.group(1), split_top(match.group(2), ",")
        inner = [py_type(a, decls, param) for a in args]
        if head in ("Array", "ReadonlyArray"):
            return f"list[{inner[0]}]" if inner else "list[Any]"
        if head == "Promise":
            return f"Awaitable[{inner[0] if inner else 'Any'}]"
        if head in ("Map", "ReadonlyMap"):
            return "JsMap"
        if head in ("Set", "ReadonlySet"):
            return f"set[{inner[0]}]" if inner else "set[Any]"
        if head in ("Record", "Partial", "Readonly"):
            return "dict[str, Any]"
        return "Any"
    if ts in _SIMPLE:
        return _SIMPLE[ts]
    if ts in _TYPED:
        return "Bytes" if param else "numpy.ndarray[Any, Any]"
    if ts == "Map":
        return "JsMap"
    if ts == "Set":
        return "set[Any]"
    if decls is not None:
        if ts in decls.classes or ts in decls.enums:
            return ts
        if ts in decls.types:
            alias = decls.types[ts]
            if alias and alias != "{}" and not alias.startswith("{"):
                return py_type(alias, None, param)  # one level: string-literal unions and the like
            return "dict[str, Any]"
    return "Any"


def is_bigint(ts: str) -> bool:
    """Whether a parameter's TS type takes a bigint (a Python int goes in as a BigInt there)."""
    parts = split_top(ts, "|")
    return any(p in ("bigint", "BigInt") for p in parts)
