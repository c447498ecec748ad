"""Loading a package's modules the way Node does: CommonJS (``require``), ES modules (live
bindings, ``export *``, cycles), JSON, ``*.wasm`` as an ES module (the bundler target's
``import * as wasm from "./x_bg.wasm"``), and the few Node built-ins glue code uses
(``fs.readFileSync`` inside the package, ``path``, ``util``, ``url``, ``module``).

A module the package cannot have (a bare specifier with no ``node_modules`` copy, a Node
built-in not provided) loads as a *missing* module: its names come from the user's
``imports={...}`` where given; any other name throws when used, naming the module and how to
supply it. Every module is compiled once (:mod:`realm_wasmer.js.compiler`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Optional

import attrs

from ..errors import JsThrow
from . import model as m
from . import typed
from .compiler import FIRST_SLOT, THIS, Compiler, ModuleCode
from .entry import package_entry
from .model import JSFunction, JsObject, Prop
from .parser import parse
from .stdlib import random_bytes
from .values import UNDEFINED
from .webassembly import WasmExports

BUILTIN_NAMES = ("fs", "path", "util", "url", "module", "crypto", "perf_hooks", "fs/promises", "process")


@attrs.define(eq=False)
class ModuleRecord:
    key: str
    kind: str  # esm, cjs, json, wasm, builtin, missing
    path: Optional[Path] = None
    code: Optional[ModuleCode] = None
    frame: Optional[list[Any]] = None
    namespace: Any = None
    module_object: Any = None
    state: str = "new"
    deps: list["ModuleRecord"] = attrs.Factory(list)
    data: Optional[bytes] = None


class Loader:
    """The module graph of one package load."""

    def __init__(
        self,
        realm: Any,
        root: Path,
        instantiate: Callable[[bytes, Any, str, Optional[WasmExports]], Any],
        provided: dict[str, Any],
    ) -> None:
        self.realm = realm
        self.root = root.resolve()
        self.instantiate = instantiate
        #: JS-level names the user supplied (``imports={"name": value}``), as JS values.
        self.provided = provided
        self.records: dict[str, ModuleRecord] = {}
        #: (specifier, referrer) of every module that could not be found.
        self.missing: list[tuple[str, str]] = []
        self.builtins: dict[str, JsObject] = {}
        #: Directories the package's JS may load files from: its root, and the ``node_modules``
        #: packages a bare specifier found (symlinks resolved). Anything else is refused.
        self.allowed: list[Path] = [self.root]
        realm.loader = self

    # -- resolution --------------------------------------------------------------------------
    def resolve(self, spec: str, referrer: Optional[Path], how: str = "require") -> tuple[str, Any]:
        """(kind, target) for ``spec`` asked by module ``referrer`` (None: the entry the user
        named). A file the package's JS asks for must lie inside :attr:`allowed` (after symlinks):
        else :class:`~realm_wasmer.errors.PackageEscape` naming the JS text (``how``: require/import),
        before anything outside is read or even tested for existence."""
        base = referrer.parent if referrer is not None else self.root
        name = spec[5:] if spec.startswith("node:") else spec
        if name in BUILTIN_NAMES:
            return ("builtin", name)
        original = spec
        if spec.startswith("file://"):
            from urllib.parse import unquote, urlparse

            spec = unquote(urlparse(spec).path)
        if spec.startswith(("./", "../", "/")) or spec in (".", ".."):
            target = (base / spec).resolve() if not spec.startswith("/") else Path(spec).resolve()
            if referrer is not None:
                self._confine(target, original, referrer, how)
            found = self._file_or_dir(target)
            if found is not None:
                if referrer is not None:
                    self._confine(found.resolve(), original, referrer, how)
                return ("file", found)
            return ("missing", spec)
        found = self._node_modules(spec, base)
        if found is not None:
            self._confine(found.resolve(), original, referrer, how)
            return ("file", found)
        return ("missing", spec)

    def _confine(self, path: Path, spec: str, referrer: Optional[Path], how: str) -> None:
        """Refuse ``path`` (resolved) outside the allowed directories."""
        for allowed in self.allowed:
            if path == allowed or allowed in path.parents:
                return
        from ..errors import PackageEscape

        where = f" in {referrer}" if referrer is not None else ""
        raise PackageEscape(f"{how}({json.dumps(spec)}){where}", str(path), str(self.root))

    def _file_or_dir(self, target: Path) -> Optional[Path]:
        if target.is_file():
            return target
        for ext in (".js", ".cjs", ".mjs", ".json"):
            candidate = target.with_name(target.name + ext)
            if candidate.is_file():
                return candidate
        if target.is_dir():

            try:
                return package_entry(target)
            except (FileNotFoundError, ValueError):
                return None
        return None

    def _node_modules(self, spec: str, base: Path) -> Optional[Path]:
        parts = spec.split("/")
        pkg_name = "/".join(parts[:2]) if spec.startswith("@") else parts[0]
        sub = spec[len(pkg_name) + 1 :]
        d = base
        while True:
            candidate = d / "node_modules" / pkg_name
            if candidate.is_dir():
                real = candidate.resolve()
                if real not in self.allowed:
                    self.allowed.append(real)
                return self._file_or_dir(candidate / sub) if sub else self._file_or_dir(candidate)
            if d == d.parent or not str(d).startswith(str(self.root.parent)):
                break
            d = d.parent
        own = self.root / "package.json"
        if own.is_file():
            try:
                if json.loads(own.read_text()).get("name") == pkg_name:
                    return self._file_or_dir(self.root / sub) if sub else self._file_or_dir(self.root)
            except ValueError:
                pass
        return None

    # -- loading -----------------------------------------------------------------------------
    def load(self, spec: str, referrer: Optional[Path], how: str = "import") -> ModuleRecord:
        kind, target = self.resolve(spec, referrer, how)
        key = f"{kind}:{target}"
        record = self.records.get(key)
        if record is not None:
            return record
        if kind == "builtin":
            record = ModuleRecord(key, "builtin")
            record.module_object = self.builtin(target)
            record.namespace = self._cjs_namespace(record.module_object)
            record.state = "done"
        elif kind == "missing":
            self.missing.append((spec, str(referrer) if referrer else "<entry>"))
            record = ModuleRecord(key, "missing")
            record.module_object = record.namespace = self._missing_namespace(spec)
            record.state = "done"
        else:
            record = self._load_file(key, target)
        self.records[key] = record
        return record

    def _load_file(self, key: str, path: Path) -> ModuleRecord:
        suffix = path.suffix
        if suffix == ".json":
            from .stdlib import json_parse

            rec = ModuleRecord(key, "json", path)
            rec.module_object = json_parse(path.read_text(encoding="utf-8"))
            rec.namespace = self._cjs_namespace(rec.module_object)
            rec.state = "done"
            return rec
        if suffix == ".wasm":
            rec = ModuleRecord(key, "wasm", path, data=path.read_bytes())
            ns = WasmExports()
            ns.proto = None
            ns.ctx = None
            ns.instance = None
            rec.namespace = ns
            return rec
        text = path.read_text(encoding="utf-8")
        root = parse(text, str(path))
        kind = self._module_kind(path, root)
        compiler = Compiler(self.realm, str(path), text)
        code = compiler.compile_module(root, kind)
        rec = ModuleRecord(key, kind, path, code)
        rec.frame = [None, UNDEFINED, [], None, UNDEFINED] + [UNDEFINED] * (code.size - FIRST_SLOT)
        if kind == "esm":
            rec.namespace = self._esm_namespace(rec)
        return rec

    def _module_kind(self, path: Path, root: Any) -> str:
        if path.suffix == ".mjs":
            return "esm"
        if path.suffix == ".cjs":
            return "cjs"
        d = path.parent
        while True:
            pj = d / "package.json"
            if pj.is_file():
                try:
                    if json.loads(pj.read_text()).get("type") == "module":
                        return "esm"
                except ValueError:
                    pass
                break
            if d == d.parent:
                break
            d = d.parent
        for node in root.named_children:
            if node.type in ("import_statement", "export_statement"):
                return "esm"
        return "cjs"

    # -- namespaces ----------------------------------------------------------------------------
    def _esm_namespace(self, rec: ModuleRecord) -> JsObject:
        ns = m.new_object(None, "Module")
        m.define(ns, m.SYM_TO_STRING_TAG, "Module")
        assert rec.code is not None
        for name, binding in rec.code.exports.items():
            dict.__setitem__(ns, name, Prop(getter=self._binding_getter(rec, binding), enumerable=True))
        return ns

    def _binding_getter(self, rec: ModuleRecord, binding: tuple[Any, ...]) -> JSFunction:
        if binding[0] == "slot":
            idx = binding[1]
            return JSFunction(lambda this, args: rec.frame[idx] if rec.frame is not None else UNDEFINED, "get")
        _, index, name = binding
        holder = rec.code.namespaces if rec.code is not None else []
        if name == "*":
            return JSFunction(lambda this, args: holder[index], "get")
        return JSFunction(lambda this, args: m.get(holder[index], name), "get")

    def _cjs_namespace(self, exports: Any) -> JsObject:
        ns = m.new_object(None, "Module")
        dict.__setitem__(ns, "default", Prop(exports, enumerable=True))
        if isinstance(exports, dict):
            for k in list(exports):
                if type(k) is str and k != "default":
                    dict.__setitem__(
                        ns,
                        k,
                        Prop(getter=JSFunction(lambda this, args, k=k: m.get(exports, k), "get"), enumerable=True),  # type: ignore[misc]
                    )
        return ns

    def _missing_namespace(self, spec: str) -> JsObject:
        provided = self.provided
        ns = m.new_object(None, "Module")

        class Missing(JsObject):
            __slots__ = ()

        ns_missing = Missing()
        ns_missing.proto = None
        ns_missing.cls = "Module"

        def lookup_missing(obj: Any, key: Any) -> Any:
            if key in provided:
                return provided[key]
            if key in ("then", "__esModule") or type(key) is m.Symbol:
                return UNDEFINED
            raise m.throw(
                "ReferenceError",
                f"{m.describe_key(key)} from module '{spec}' is not available to the JS evaluator; "
                f"pass it to load_package as imports={{'{m.describe_key(key)}': <Python callable or value>}}",
            )

        m.EXOTIC_GET[Missing] = lookup_missing
        _ = ns
        return ns_missing

    # -- evaluation ---------------------------------------------------------------------------
    def require(self, spec: str, referrer: Optional[Path]) -> Any:
        rec = self.load(spec, referrer, "require")
        if rec.kind == "missing" and not self.provided:
            raise m.throw("Error", f"Cannot find module '{spec}' (required from {referrer}); it is not in the package")
        self.evaluate(rec)
        if rec.kind in ("esm", "wasm"):
            return rec.namespace
        return unwrap_exports(rec.module_object)

    def import_namespace(self, spec: str, referrer: str) -> Any:
        rec = self.load(spec, Path(referrer) if referrer and not referrer.startswith("<") else None)
        self.evaluate(rec)
        return rec.namespace

    def evaluate(self, rec: ModuleRecord) -> None:
        if rec.state in ("evaluating", "done", "linked-evaluating"):
            return
        if rec.kind == "cjs":
            self._evaluate_cjs(rec)
        elif rec.kind == "esm":
            self._link(rec)
            self._evaluate_esm(rec)
        elif rec.kind == "wasm":
            self._evaluate_wasm(rec)

    def _link(self, rec: ModuleRecord) -> None:
        if rec.state != "new":
            return
        rec.state = "linking"
        code = rec.code
        assert code is not None and rec.frame is not None
        for i, spec in enumerate(code.requests):
            dep = self.load(spec, rec.path)
            rec.deps.append(dep)
            if dep.kind == "esm":
                self._link(dep)
            elif dep.kind == "cjs":
                self._evaluate_cjs(dep)
                dep.namespace = self._cjs_namespace(dep.module_object)
            code.namespaces[i] = dep.namespace
        for index in code.star_exports:
            dep_ns = code.namespaces[index]
            for key in list(dep_ns) if isinstance(dep_ns, dict) else []:
                if type(key) is str and key != "default" and key not in rec.namespace:
                    dict.__setitem__(
                        rec.namespace,
                        key,
                        Prop(
                            getter=JSFunction(lambda this, args, ns=dep_ns, key=key: m.get(ns, key), "get"),  # type: ignore[misc]
                            enumerable=True,
                        ),  # type: ignore[misc]
                    )
        rec.frame[THIS] = UNDEFINED
        code.hoist(rec.frame)
        rec.state = "linked"

    def _evaluate_esm(self, rec: ModuleRecord) -> None:
        if rec.state not in ("linked",):
            return
        rec.state = "evaluating"
        for dep in rec.deps:
            self.evaluate(dep)
        assert rec.code is not None and rec.frame is not None
        rec.code.run(rec.frame)
        rec.state = "done"

    def _evaluate_cjs(self, rec: ModuleRecord) -> None:
        if rec.state != "new":
            return
        rec.state = "evaluating"
        code, frame, path = rec.code, rec.frame, rec.path
        assert code is not None and frame is not None and path is not None
        module = m.new_object()
        exports = m.new_object()
        require = self.require_function(path)
        dict.__setitem__(module, "exports", exports)
        dict.__setitem__(module, "id", str(path))
        dict.__setitem__(module, "filename", str(path))
        dict.__setitem__(module, "loaded", False)
        dict.__setitem__(module, "require", require)
        dict.__setitem__(module, "paths", [])
        rec.module_object = exports
        slots = code.slots
        frame[slots["exports"]] = exports
        frame[slots["module"]] = module
        frame[slots["require"]] = require
        frame[slots["__filename"]] = str(path)
        frame[slots["__dirname"]] = str(path.parent)
        frame[THIS] = exports
        holder = _ModuleExports(module, rec)
        rec.module_object = holder
        code.hoist(frame)
        code.run(frame)
        dict.__setitem__(module, "loaded", True)
        rec.module_object = m.get(module, "exports")
        rec.state = "done"

    def _evaluate_wasm(self, rec: ModuleRecord) -> None:
        if rec.state != "new":
            return
        rec.state = "evaluating"
        from ..wasm import parse as parse_wasm

        assert rec.data is not None and rec.path is not None
        module = parse_wasm(rec.data)
        import_object = m.new_object()
        for name in dict.fromkeys(imp.module for imp in module.imports):
            dep = self.load(name, rec.path)
            if dep.kind == "esm":
                self._link(dep)
            self.evaluate(dep)
            ns = dep.namespace if dep.kind in ("esm", "wasm") else dep.module_object
            dict.__setitem__(import_object, name, ns)
        self.instantiate(rec.data, import_object, str(rec.path), rec.namespace)
        rec.state = "done"

    def require_function(self, path: Path) -> JSFunction:
        def require(this: Any, args: list[Any]) -> Any:
            return self.require(m.to_string(args[0] if args else UNDEFINED), path)

        fn = JSFunction(require, "require", 1)
        m.define(
            fn, "resolve", JSFunction(lambda this, args: str(self.resolve(m.to_string(args[0]), path)[1]), "resolve")
        )
        return fn

    # -- Node built-ins ------------------------------------------------------------------------
    def _inside(self, p: str) -> Path:
        path = Path(p[7:] if p.startswith("file://") else p).resolve()
        if path != self.root and self.root not in path.parents:
            raise self._fs_error("ENOENT", f"no such file or directory (outside the package): '{p}'")
        if not path.exists():
            raise self._fs_error("ENOENT", f"no such file or directory, open '{p}'")
        return path

    def _fs_error(self, code: str, message: str) -> JsThrow:
        err = m.make_error("Error", f"{code}: {message}")
        dict.__setitem__(err, "code", code)
        return JsThrow(err)

    def builtin(self, name: str) -> JsObject:
        if name in self.builtins:
            return self.builtins[name]
        obj = m.new_object()
        g = self.realm.global_object
        if name in ("fs", "fs/promises"):

            def read(p: Any, options: Any) -> Any:
                if isinstance(p, JsObject) and "href" in p:
                    p = m.get(p, "href")
                path = self._inside(m.to_string(p))
                encoding = (
                    options
                    if isinstance(options, str)
                    else (m.get(options, "encoding") if m.is_object(options) else UNDEFINED)
                )
                if isinstance(encoding, str):
                    return path.read_text(encoding="utf-8")
                arr = typed.new_bytes(path.read_bytes())
                return arr

            def read_file_sync(this: Any, args: list[Any]) -> Any:
                return read(args[0] if args else UNDEFINED, args[1] if len(args) > 1 else UNDEFINED)

            def exists(this: Any, args: list[Any]) -> Any:
                try:
                    self._inside(m.to_string(args[0] if args else ""))
                    return True
                except JsThrow:
                    return False

            def read_file_async(this: Any, args: list[Any]) -> Any:
                try:
                    return self.realm.promise_resolve(read_file_sync(this, args))
                except JsThrow as exc:
                    return self.realm.promise_rejected(exc.js_value)

            if name == "fs":
                m.define(obj, "readFileSync", JSFunction(read_file_sync, "readFileSync", 2), enumerable=True)
                m.define(obj, "existsSync", JSFunction(exists, "existsSync", 1), enumerable=True)
                promises = m.new_object()
                m.define(promises, "readFile", JSFunction(read_file_async, "readFile"), enumerable=True)
                m.define(obj, "promises", promises, enumerable=True)
            else:
                m.define(obj, "readFile", JSFunction(read_file_async, "readFile"), enumerable=True)
        elif name == "path":

            def s(args: list[Any], i: int) -> str:
                return m.to_string(args[i]) if i < len(args) else ""

            fns: dict[str, Callable[[Any, list[Any]], Any]] = {
                "join": lambda this, a: os.path.normpath(os.path.join(*[m.to_string(x) for x in a])) if a else ".",
                "resolve": lambda this, a: (
                    os.path.abspath(os.path.join(*[m.to_string(x) for x in a])) if a else os.getcwd()
                ),
                "dirname": lambda this, a: os.path.dirname(s(a, 0)) or ".",
                "basename": lambda this, a: (lambda b: b[: -len(s(a, 1))] if len(a) > 1 and b.endswith(s(a, 1)) else b)(
                    os.path.basename(s(a, 0))
                ),
                "extname": lambda this, a: os.path.splitext(s(a, 0))[1],
                "isAbsolute": lambda this, a: os.path.isabs(s(a, 0)),
                "normalize": lambda this, a: os.path.normpath(s(a, 0)),
                "relative": lambda this, a: os.path.relpath(s(a, 1), s(a, 0)),
            }
            for k, fn in fns.items():
                m.define(obj, k, JSFunction(fn, k), enumerable=True)
            m.define(obj, "sep", "/", enumerable=True)
            m.define(obj, "delimiter", ":", enumerable=True)
            m.define(obj, "posix", obj, enumerable=True)
        elif name == "util":
            from .stdlib import debug_text

            for k in ("TextEncoder", "TextDecoder"):
                m.define(obj, k, m.get(g, k), enumerable=True)
            m.define(
                obj,
                "inspect",
                JSFunction(lambda this, a: debug_text(a[0] if a else UNDEFINED), "inspect"),
                enumerable=True,
            )
        elif name == "url":

            def to_path(this: Any, args: list[Any]) -> Any:
                from urllib.parse import unquote, urlparse

                v = args[0] if args else UNDEFINED
                href = m.to_string(m.get(v, "href") if isinstance(v, JsObject) else v)
                return unquote(urlparse(href).path)

            m.define(obj, "fileURLToPath", JSFunction(to_path, "fileURLToPath"), enumerable=True)
            m.define(
                obj,
                "pathToFileURL",
                JSFunction(
                    lambda this, a: m.construct(m.get(g, "URL"), [Path(m.to_string(a[0])).resolve().as_uri()]),
                    "pathToFileURL",
                ),
                enumerable=True,
            )
            m.define(obj, "URL", m.get(g, "URL"), enumerable=True)
        elif name == "module":
            m.define(
                obj,
                "createRequire",
                JSFunction(
                    lambda this, a: self.require_function(
                        Path(
                            m.to_string(m.get(a[0], "href"))
                            if isinstance(a[0], JsObject)
                            else m.to_string(a[0]).removeprefix("file://")
                        )
                    ),
                    "createRequire",
                ),
                enumerable=True,
            )
        elif name == "crypto":
            m.define(obj, "webcrypto", m.get(g, "crypto"), enumerable=True)
            m.define(obj, "getRandomValues", m.get(m.get(g, "crypto"), "getRandomValues"), enumerable=True)
            m.define(
                obj,
                "randomBytes",
                JSFunction(lambda this, a: random_bytes(self.realm, a[0] if a else UNDEFINED), "randomBytes", 1),
                enumerable=True,
            )
        elif name == "perf_hooks":
            m.define(obj, "performance", m.get(g, "performance"), enumerable=True)
        elif name == "process":
            obj = m.get(g, "process")
        self.builtins[name] = obj
        return obj


class _ModuleExports:
    """Placeholder while a CommonJS module runs (a cycle sees its ``module.exports`` so far)."""

    def __init__(self, module: JsObject, rec: ModuleRecord) -> None:
        self.module = module
        self.rec = rec


def unwrap_exports(value: Any) -> Any:
    if isinstance(value, _ModuleExports):
        return m.get(value.module, "exports")
    return value


_ = json
