"""``load_package``: an npm wasm-bindgen package's own API, from Python, with no JS engine.

>>> import realm_wasmer as rw
>>> pkg = rw.load_package("node_modules/@deltachat/message_parser_wasm")
>>> pkg.parse_text("**hi**", True)

``source`` is a package directory (with ``package.json``), an npm ``.tgz``, a glue file
(``.js``/``.cjs``/``.mjs``) or a ``*_bg.wasm`` with its glue beside it; ``entry`` picks one
build of a package that ships several (a path inside the package), else the entry Node's
``require`` would resolve (``exports`` with the ``require``/``node``/``default`` conditions,
then ``main``; ``module``, then a lone ``*_bg.wasm``'s glue, for packages Node could not require).

The entry's JS runs on the evaluator (:mod:`realm_wasmer.js.compiler`); its ``WebAssembly``
calls load the wasm on ``engine``. When evaluating the entry did not instantiate the module
(web target), the package's own init is called with the module: ``initSync``, else the
default/``init``/``initWasm`` export (awaited). The result's attributes are the entry's
exports as Python values (see ``docs/js-values.md``); ``pkg.__realm__`` is the
:class:`PackageRuntime` behind it (instances, load report, console messages).
"""

from __future__ import annotations

import hashlib
import keyword
import logging
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import attrs

from ..errors import JsThrow, PackageError
from ..host.naming import parse_import_name, strip_hash
from ..host.resolver import Imports
from ..limits import Limits
from . import helpers, stdlib, webassembly
from . import model as m
from .bridge import Bridge
from .entry import glue_for_wasm, package_entry
from .model import JSFunction, JsObject
from .modules import Loader, unwrap_exports
from .runtime import Realm
from .values import UNDEFINED
from .webassembly import GlueResolver, WasmExports

log = logging.getLogger("realm_wasmer.js.package")

@attrs.define
class Unresolved:
    """A name the glue reaches that the evaluator does not provide."""

    import_name: str
    js_name: str
    js_text: str

    def __str__(self) -> str:
        return (
            f"import {self.import_name} uses `{self.js_name}` ({self.js_text}), which the JS evaluator does not "
            f"provide; pass imports={{'{self.js_name}': <Python callable or value>}} "
            f"or imports={{'{self.import_name}': <handler taking the raw wasm arguments>}}"
        )


def _package_root(path: Path) -> Path:
    for d in [path.parent, *path.parent.parents]:
        if (d / "package.json").is_file():
            return d
    return path.parent


def _unpack(tgz: Path) -> Path:
    digest = hashlib.sha256(tgz.read_bytes()).hexdigest()[:16]
    dest = Path(tempfile.gettempdir()) / "realm-wasmer-packages" / digest
    if not (dest / ".complete").is_file():
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tgz) as tar:
            tar.extractall(dest, filter="data")
        (dest / ".complete").write_text(str(tgz))
    inner = dest / "package"
    if inner.is_dir():
        return inner
    dirs = [d for d in dest.iterdir() if d.is_dir()]
    return dirs[0] if len(dirs) == 1 else dest


def locate(source: Union[str, Path], entry: Optional[str]) -> tuple[Path, Path]:
    """(package root, entry file) for a load_package source."""
    src = Path(source)
    if not src.exists():
        raise PackageError(f"{src}: no such package, glue file or wasm")
    if src.is_file() and src.name.endswith((".tgz", ".tar.gz")):
        src = _unpack(src)
    if src.is_dir():
        root = src
        if entry is not None:
            path = (root / entry).resolve()
            if not path.is_file():
                raise PackageError(f"entry {entry!r} is not a file in {root}")
            return root, path
        try:
            return root, package_entry(root)
        except FileNotFoundError as exc:
            raise PackageError(str(exc)) from None
    root = _package_root(src)
    if entry is not None:
        path = (root / entry).resolve()
        if not path.is_file():
            raise PackageError(f"entry {entry!r} is not a file in {root}")
        return root, path
    if src.suffix == ".wasm":
        try:
            return root, glue_for_wasm(src)
        except FileNotFoundError as exc:
            raise PackageError(str(exc)) from None
    return root, src.resolve()


# ---------------------------------------------------------------------------------------- the runtime


class PackageRuntime:
    """One loaded package: its realm, module graph, wasm instances and Python bridge."""

    def __init__(
        self,
        root: Path,
        entry: Path,
        engine: str,
        imports: Optional[Mapping[str, Any]],
        limits: Optional[Limits] = None,
    ) -> None:
        self.root = root
        self.entry = entry
        self.engine = engine
        #: Limits applied to every wasm instance the package makes (and ``max_host_bytes`` to
        #: the evaluator's own copies on the guest's behalf: :class:`~realm_wasmer.limits.HostBudget`).
        self.limits = limits
        self.realm = realm = Realm()
        realm.budget.limit = (limits or Limits()).max_host_bytes
        stdlib.install(realm)
        helpers.install(realm)
        self.bridge = Bridge(realm)
        self.wasm_protos = webassembly.install(realm.global_object, realm, self.instantiate)
        self.user_imports = dict(imports or {})
        self.instances: list[Any] = realm.instances
        self.unresolved: list[Unresolved] = []
        self._heap_offsets: list[int] = []
        self._heap_seen: set[str] = set()
        provided = {k: self.bridge.to_js(v) for k, v in self.user_imports.items()}
        self.loader = Loader(realm, root, self._instantiate_into, provided)
        self._provided = provided
        self.exports: Any = None
        #: global names the glue's code uses that nothing provides -> the JS text (logged at load)
        self.missing_globals: dict[str, str] = {}
        #: the package's .d.ts declarations (realm_wasmer.js.dts.Declarations), when it has one
        self.declarations: Any = None

    # -- wasm instances ----------------------------------------------------------------------------
    def _wasm_imports(self, names: list[str]) -> Imports:
        """The user's handlers that name wasm imports (exact, or without the hash)."""
        imports = Imports()
        for key, handler in self.user_imports.items():
            if not callable(handler):
                continue
            for name in names:
                parsed = parse_import_name(name)
                if key == name:
                    imports.register("*", key, handler, match="exact", caller=False)
                    break
                if key in (strip_hash(name), parsed.base) and key not in self._js_names():
                    imports.register("*", key, handler, match="stripped", caller=False)
                    break
        return imports

    def _js_names(self) -> set[str]:
        names: set[str] = set()
        for rec in self.loader.records.values():
            if rec.code is not None:
                names.update(rec.code.free_names)
        return names

    def instantiate(self, data: bytes, import_object: Any, origin: str) -> Any:
        return self._instantiate_into(data, import_object, origin, None)

    def _instantiate_into(self, data: bytes, import_object: Any, origin: str, target: Optional[WasmExports]) -> Any:
        from ..instance import CompiledModule, compile
        from ..spec import LoadSpec
        from ..wasm import parse as parse_wasm

        module = parse_wasm(data)
        names = [imp.name for imp in module.imports if imp.kind == "func"]
        resolver = GlueResolver(import_object, self._report)
        spec = LoadSpec(
            data,
            engine=self.engine,
            imports=self._wasm_imports(names),
            on_missing="trap",
            start=False,
            resolvers=(resolver,),  # type: ignore[arg-type]
            limits=self.limits,
        )
        compiled = compile(spec)
        conventions = compiled.info.conventions
        offset = self._heap_offsets[0] if self._heap_offsets else None
        if offset is not None and conventions.value_store == "heap" and offset != conventions.value_offset:
            info = attrs.evolve(compiled.info, conventions=attrs.evolve(conventions, value_offset=offset))
            compiled = CompiledModule(attrs.evolve(compiled.prepared, info=info))
        instance = compiled.instantiate()
        exports = target if target is not None else WasmExports()
        exports.proto = None
        webassembly.fill_exports(exports, instance.context, instance, self.wasm_protos)
        self.instances.append(instance)
        missing = [
            f"{r.module}.{r.name} {r.signature}"
            for r, res in instance.resolutions.values()
            if res.resolver.startswith("policy")
        ]
        for item in missing:
            self.unresolved.append(
                Unresolved(item.split(" ")[0], "(no JS function)", "the import object has no such function")
            )
        return instance, exports

    def _report(self, module: str, name: str, fn: JSFunction) -> None:
        g = self.realm.global_object
        for js_name in sorted(fn.free):
            if js_name in g or js_name in self._provided:
                continue
            self.unresolved.append(Unresolved(name, js_name, fn.source or ""))

    # -- loading -------------------------------------------------------------------------------
    def load(self) -> Any:
        realm = self.realm
        with self.bridge.lock:
            previous = m.activate(realm.intrinsics)
            try:
                return self._load()
            finally:
                m.activate(previous)

    def _load(self) -> Any:
        realm = self.realm
        realm.budget.export = "<load>"
        self._define_provided_globals()
        rec = self.loader.load(str(self.entry), None)
        self._collect_heap_offsets()
        try:
            self.loader.evaluate(rec)
            realm.run_jobs()
            exports = rec.namespace if rec.kind in ("esm", "wasm") else unwrap_exports(rec.module_object)
            self._collect_heap_offsets()
            if not self.instances:
                self._init(exports)
        except JsThrow as exc:
            raise PackageError(
                f"{self.entry}: the package's JS threw while loading: {exc.name or 'value'}: {exc.message}"
            ) from exc
        if not self.instances:
            raise PackageError(
                f"{self.entry}: evaluating the entry and its init did not instantiate a wasm module; "
                "pass entry='<the glue file>' (e.g. the build for Node or the web)"
            )
        self.exports = exports
        self.missing_globals = self._missing_globals()
        if self.missing_globals:
            log.info(
                "package %s: the glue names globals the evaluator lacks, outside the imports the wasm "
                "calls (reached only if that code runs; pass imports={name: value} to supply one): %s",
                self.root.name,
                "; ".join(f"{k} ({v})" for k, v in self.missing_globals.items()),
            )
        if self.unresolved:
            log.warning(
                "package %s: %d name(s) the glue reaches are not provided:\n  %s",
                self.root.name,
                len(self.unresolved),
                "\n  ".join(str(u) for u in self.unresolved),
            )
        return exports

    def _missing_globals(self) -> dict[str, str]:
        """Free names of the loaded modules that neither the realm nor ``imports`` provides, with
        the JS text using each (e.g. ``Buffer`` in an old nodejs glue's unused string helper)."""
        g = self.realm.global_object
        out: dict[str, str] = {}
        for rec in self.loader.records.values():
            if rec.code is None:
                continue
            for name, text in rec.code.free_names.items():
                if name not in g and name not in self._provided:
                    out.setdefault(name, text)
        return out

    def _define_provided_globals(self) -> None:
        g = self.realm.global_object
        for key, value in self._provided.items():
            if key.startswith("__wbg") or key.startswith("__wbindgen"):
                continue
            if key not in g:
                m.define(g, key, value)

    def _collect_heap_offsets(self) -> None:
        for rec in self.loader.records.values():
            if rec.code is None or rec.path is None or rec.key in self._heap_seen:
                continue
            self._heap_seen.add(rec.key)
            offset = _heap_declaration(rec.path)
            if offset is not None:
                self._heap_offsets.append(offset)

    def _init(self, exports: Any) -> None:
        wasm_files = sorted(self.entry.parent.glob("*_bg.wasm")) or sorted(self.root.rglob("*_bg.wasm"))
        if len(wasm_files) != 1:
            raise PackageError(
                f"{self.entry}: the entry needs an init call, but the wasm to pass is ambiguous "
                f"({len(wasm_files)} *_bg.wasm found)"
            )
        data = wasm_files[0].read_bytes()
        from ..conventions import ERAS
        from ..inspection import inspect

        version = inspect(data).conventions.version_tuple
        form = ERAS["init_argument"].at(version)
        module = m.construct(m.get(m.get(self.realm.global_object, "WebAssembly"), "Module"), [_bytes_js(data)])
        init_sync = m.get(exports, "initSync") if m.is_object(exports) else UNDEFINED
        if m.is_callable(init_sync):
            arg = module
            if form == "object":
                arg = m.new_object()
                dict.__setitem__(arg, "module", module)
            m.call(init_sync, UNDEFINED, [arg])
            self.realm.run_jobs()
            return
        for name in ("default", "init", "initWasm", "initialize"):
            fn = m.get(exports, name) if m.is_object(exports) else UNDEFINED
            if m.is_callable(fn) and not getattr(fn, "is_class", False):
                arg = module
                if form == "object":
                    arg = m.new_object()
                    dict.__setitem__(arg, "module_or_path", module)
                result = m.call(fn, UNDEFINED, [arg])
                self.realm.await_value(result)
                self.realm.run_jobs()
                return
        raise PackageError(
            f"{self.entry}: the entry did not instantiate its wasm and exports no initSync/init/initWasm to call"
        )


def _bytes_js(data: bytes) -> Any:
    from .typed import new_bytes

    return new_bytes(data)


#: :func:`_heap_declaration`'s answers by the file's text (a pure function of it), bounded: loading
#: the same package again does not parse its glue a second time for it.
_HEAP_DECLARATIONS: dict[str, Optional[int]] = {}
_HEAP_DECLARATIONS_ENTRIES = 256


def _heap_declaration(path: Path) -> Optional[int]:
    """N of a top-level ``heap = new Array(N)`` (wasm-bindgen's heap slab), else None."""
    try:
        text = path.read_text(encoding="utf-8")
    except Exception:  # noqa: BLE001
        return None
    if "heap" not in text:  # no declarator named heap: nothing to parse for
        return None
    if text in _HEAP_DECLARATIONS:
        return _HEAP_DECLARATIONS[text]
    found = _heap_declaration_in(text, str(path))
    if len(_HEAP_DECLARATIONS) >= _HEAP_DECLARATIONS_ENTRIES:
        _HEAP_DECLARATIONS.clear()
    _HEAP_DECLARATIONS[text] = found
    return found


def _heap_declaration_in(text: str, origin: str) -> Optional[int]:
    from .parser import parse

    try:
        root = parse(text, origin)
    except Exception:  # noqa: BLE001
        return None
    for node in root.named_children:
        if node.type not in ("lexical_declaration", "variable_declaration"):
            continue
        for decl in node.named_children:
            name = decl.child_by_field_name("name")
            value = decl.child_by_field_name("value")
            if name is None or value is None or name.text != b"heap":
                continue
            new = value
            while new.type == "call_expression":  # new Array(N).fill(undefined)
                callee = new.child_by_field_name("function")
                new = callee.child_by_field_name("object") if callee.type == "member_expression" else callee
            if new.type == "new_expression" and new.child_by_field_name("constructor").text == b"Array":
                args = new.child_by_field_name("arguments")
                nums = [a for a in args.named_children if a.type == "number"] if args is not None else []
                if nums:
                    return int(nums[0].text.decode())
    return None


# ---------------------------------------------------------------------------------------- the API object


class Package:
    """A loaded package: its exports as attributes (``pkg.Resvg``, ``pkg.parse_text``, ...)."""

    __realm__: PackageRuntime
    _names: list[str]

    def __init__(self, runtime: PackageRuntime) -> None:
        object.__setattr__(self, "__realm__", runtime)
        object.__setattr__(self, "_names", [])
        bridge = runtime.bridge
        exports = runtime.exports
        names: list[str] = []
        for key in m.own_keys(exports) if m.is_object(exports) else []:
            if key == "__esModule":
                continue
            try:
                value = m.get(exports, key)
            except JsThrow:
                continue
            py = self._convert(bridge, key, value)
            for attr in [key] + ([key + "_"] if keyword.iskeyword(key) else []):
                object.__setattr__(self, attr, py)
            names.append(key)
        object.__setattr__(self, "_names", names)
        _apply_declarations(self, runtime)

    @staticmethod
    def _convert(bridge: Bridge, key: str, value: Any) -> Any:
        if isinstance(value, JSFunction):
            if value.is_class:
                return bridge.py_class(value, key)
            return bridge.py_function(value, key)
        if isinstance(value, JsObject):
            as_enum = bridge.as_enum(key, value)
            if as_enum is not None:
                return as_enum
        return bridge.to_py(value)

    def __dir__(self) -> list[str]:
        return list(self._names) + ["__realm__"]

    def __repr__(self) -> str:
        runtime = self.__realm__
        return f"<package {runtime.root.name} ({runtime.entry.name}) on {runtime.engine}: {', '.join(self._names)}>"

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a package's exports are read-only")


def _apply_declarations(pkg: Package, runtime: PackageRuntime) -> None:
    """Typed signatures from the package's ``.d.ts`` (names and types for ``inspect.signature``),
    and the value table's int -> BigInt rule where a parameter's declared type is ``bigint``."""
    from . import dts
    from .bridge import JsInstance
    from .stubs import signature

    path = dts.find(runtime.root, runtime.entry)
    if path is None:
        return
    try:
        decls = dts.read(path)
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("package %s: cannot read %s: %s", runtime.root.name, path, exc)
        return
    runtime.declarations = decls
    values = {name: getattr(pkg, name) for name in pkg._names}
    names = {k: v for k, v in values.items() if isinstance(v, type)}

    def typed(fn: Any, params: tuple[dts.Param, ...], returns: Optional[str], method: bool) -> Any:
        big = [i + (1 if method else 0) for i, p in enumerate(params) if dts.is_bigint(p.ts)]
        out = fn
        if big:

            def out(*args: Any) -> Any:
                return fn(*[m.BigInt(a) if k in big and type(a) is int else a for k, a in enumerate(args)])

            out.__name__ = out.__qualname__ = fn.__name__
            out.__doc__ = fn.__doc__
        out.__signature__ = signature(params, returns, decls, names, method)
        return out

    for name, value in values.items():
        fn_decl = decls.function(name)
        if fn_decl is not None and callable(value) and hasattr(value, "_js"):
            value = typed(value, fn_decl.params, fn_decl.returns, False)
            for attr in [name] + ([name + "_"] if keyword.iskeyword(name) else []):
                object.__setattr__(pkg, attr, value)
        cls_decl = decls.classes.get(name)
        if cls_decl is None or not (isinstance(value, type) and issubclass(value, JsInstance)):
            continue
        if cls_decl.ctor is not None and "__init__" in vars(value):
            init = typed(vars(value)["__init__"], cls_decl.ctor.params, None, True)
            type.__setattr__(value, "__init__", init)
        for member in cls_decl.members:
            if member.params is None:
                continue
            for attr in [member.name] + ([member.name + "_"] if keyword.iskeyword(member.name) else []):
                raw = vars(value).get(attr)
                fn = raw.__func__ if isinstance(raw, staticmethod) else raw
                if not callable(fn):
                    continue
                made = typed(fn, member.params, member.ts, not member.static)
                setattr(value, attr, staticmethod(made) if isinstance(raw, staticmethod) else made)


def load_package(
    source: Union[str, Path],
    engine: str = "wasmer-cranelift",
    imports: Optional[Mapping[str, Any]] = None,
    entry: Optional[str] = None,
    limits: Optional[Limits] = None,
) -> Package:
    """Load an npm wasm-bindgen package and return its API (see the module docstring).

    ``limits`` (:class:`~realm_wasmer.limits.Limits`) applies to every wasm instance the package
    makes, as ``rw.load(..., limits=)`` does: ``fuel``/``timeout_s`` stop a guest call inside a
    package call with :class:`~realm_wasmer.errors.ResourceExhausted` naming the export;
    ``max_host_bytes`` also bounds what the JS evaluator copies or allocates on the package's
    behalf in one package call (typed arrays, strings, ``new ArrayBuffer(n)``...)."""
    root, entry_path = locate(source, entry)
    from .bridge import EVAL_LOCK

    with EVAL_LOCK:  # the realm made here becomes the active one: restore the caller's after
        previous = m.ACTIVE
        try:
            runtime = PackageRuntime(root, entry_path, engine, imports, limits)
            runtime.load()
            m.activate(runtime.realm.intrinsics)
            return Package(runtime)
        finally:
            m.activate(previous)
