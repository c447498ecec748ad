"""Limits and confinement for ``load_package`` (issue 11 for the JS evaluator).

* ``limits=`` reaches every wasm instance a package makes: fuel and timeout stop a guest inside a
  package call with ``ResourceExhausted`` naming the export and the limit, and poison it.
* The package's ``require``/``import`` cannot read outside the package root (``..``, absolute
  paths, symlinks pointing out): ``PackageEscape`` naming the JS text, before anything is read.
* Copies and allocations the evaluator makes on the package's behalf (``new ArrayBuffer(n)``,
  typed arrays, ``Array(n)``, ``repeat``, ``TextDecoder``, ``randomBytes``) are charged to
  ``Limits.max_host_bytes``: past it, ``ResourceExhausted`` and the package's instances are poisoned.
* ``crypto.getRandomValues`` / ``crypto.randomBytes`` check their arguments as Node 20 does
  (compared with ``node`` running the same script).

Hostile glue is written as small packages in ``tmp_path`` wrapping a real corpus package
(message_parser, a web-target ES module glue) so the wasm underneath is real.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import realm_wasmer as rw
from realm_wasmer.errors import PackageEscape, PoisonedInstance
from realm_wasmer.js.script import run_script

from .conftest import CORPUS_CACHE
from .node_json import node_exports

ENGINES = ["wasmtime", "wasmer-cranelift"]
TEXT = "hello **world** https://example.org #tag " * 1500


def message_parser() -> Path:
    return CORPUS_CACHE / "pkgs" / "message_parser" / "package"


def hostile(tmp_path: Path, body: str, name: str = "hostile.mjs") -> Path:
    """A package: message_parser's files plus an entry ``name`` re-exporting its API and ``body``."""
    root = tmp_path / "pkg"
    shutil.copytree(message_parser(), root)
    (root / name).write_text(
        'export * from "./message_parser_wasm.js";\n'
        'export { default } from "./message_parser_wasm.js";\n' + body,
        encoding="utf-8",
    )
    return root


# ------------------------------------------------------------------------------------ fuel, timeout


@pytest.mark.parametrize("engine", ENGINES)
def test_fuel_stops_a_guest_inside_a_package_call(corpus: dict[str, Any], engine: str) -> None:
    pkg = rw.load_package(message_parser(), engine=engine, limits=rw.Limits(fuel=5_000_000))
    assert pkg.parse_text("hi **x**", True)[1]["t"] == "Bold"  # small calls run under the limit
    with pytest.raises(rw.ResourceExhausted) as info:
        pkg.parse_text(TEXT * 10, True)
    assert (info.value.export, info.value.limit, info.value.value) == ("parse_text", "fuel", 5_000_000)
    with pytest.raises(PoisonedInstance):
        pkg.parse_text("hi", True)


@pytest.mark.parametrize("engine", ENGINES)
def test_timeout_stops_a_guest_inside_a_package_call(corpus: dict[str, Any], engine: str) -> None:
    pkg = rw.load_package(message_parser(), engine=engine, limits=rw.Limits(timeout_s=0.02))
    with pytest.raises(rw.ResourceExhausted) as info:
        pkg.parse_text(TEXT * 10, True)
    assert (info.value.export, info.value.limit) == ("parse_text", "timeout_s")


def test_no_limits_unchanged(corpus: dict[str, Any]) -> None:
    pkg = rw.load_package(message_parser(), engine="wasmtime")
    assert pkg.parse_text("hi **x**", True)[1]["t"] == "Bold"
    assert pkg.__realm__.realm.budget.limit == rw.limits.DEFAULT_MAX_HOST_BYTES


# ------------------------------------------------------------------------------------ confinement


@pytest.mark.parametrize(
    "js",
    [
        'require("../../etc/passwd")',
        'require("/etc/passwd")',
        'require("file:///etc/passwd")',
        'require("./../outside.js")',
        'require("./inside/../../outside.js")',
    ],
)
def test_require_outside_the_package_is_refused(corpus: dict[str, Any], tmp_path: Path, js: str) -> None:
    (tmp_path / "outside.js").write_text("module.exports = 'secret'")
    root = hostile(tmp_path, "", name="unused.mjs")
    (root / "inside").mkdir()
    (root / "escape.cjs").write_text(f"module.exports = {js};\n")
    with pytest.raises(PackageEscape) as info:
        rw.load_package(root, engine="wasmtime", entry="escape.cjs")
    assert js in info.value.js_text
    assert str(root.resolve()) == info.value.root
    assert not Path(info.value.path).resolve().is_relative_to(root.resolve())


def test_symlink_out_of_the_package_is_refused(corpus: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "outside.js").write_text("module.exports = 'secret'")
    root = hostile(tmp_path, "", name="unused.mjs")
    (root / "link.js").symlink_to(tmp_path / "outside.js")
    (root / "escape.mjs").write_text('import secret from "./link.js";\nexport { secret };\n')
    with pytest.raises(PackageEscape) as info:
        rw.load_package(root, engine="wasmtime", entry="escape.mjs")
    assert 'import("./link.js")' in info.value.js_text
    assert info.value.path == str((tmp_path / "outside.js").resolve())


def test_try_catch_in_the_package_cannot_swallow_an_escape(corpus: dict[str, Any], tmp_path: Path) -> None:
    root = hostile(tmp_path, "", name="unused.mjs")
    (root / "escape.cjs").write_text(
        'let got = "refused";\ntry { got = require("/etc/hostname"); } catch (e) { got = "caught"; }\n'
        "module.exports = got;\n"
    )
    with pytest.raises(PackageEscape):
        rw.load_package(root, engine="wasmtime", entry="escape.cjs")


def test_requires_inside_the_package_still_work(corpus: dict[str, Any], tmp_path: Path) -> None:
    root = hostile(tmp_path, 'import { helper } from "./lib/helper.mjs";\nexport const h = helper;\n')
    (root / "lib").mkdir()
    (root / "lib" / "helper.mjs").write_text('export const helper = () => "ok";\n')
    pkg = rw.load_package(root, engine="wasmtime", entry="hostile.mjs")
    assert pkg.h() == "ok"
    assert pkg.parse_text("**a**", True)[0]["t"] == "Bold"


def test_fs_outside_the_package_reads_nothing(corpus: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("secret")
    root = hostile(
        tmp_path,
        'import fs from "fs";\nexport function peek(p) {\n'
        '  try { return fs.readFileSync(p, "utf8"); } catch (e) { return e.code; }\n}\n',
    )
    pkg = rw.load_package(root, engine="wasmtime", entry="hostile.mjs")
    assert pkg.peek(str(tmp_path / "secret.txt")) == "ENOENT"
    assert pkg.peek("../secret.txt") == "ENOENT"
    (root / "peek-link").symlink_to(tmp_path / "secret.txt")
    assert pkg.peek(str(root / "peek-link")) == "ENOENT"


# ------------------------------------------------------------------------------------ host bytes

ALLOCATORS = {
    "new ArrayBuffer(n)": "return new ArrayBuffer(n).byteLength;",
    "new Uint8Array(n)": "return new Uint8Array(n).length;",
    "new Float64Array(n)": "return new Float64Array(n / 8).length;",
    "Array(n)": "return new Array(n / 8).length;",
    "repeat": 'return "ab".repeat(n / 2).length;',
    "padStart": 'return "x".padStart(n).length;',
    "randomBytes": 'return require_crypto().randomBytes(n).length;',
    "typed copy (slice)": "const a = new Uint8Array(n / 2); return a.slice().length + a.slice().length;",
    "TextDecoder on a big view": (
        "const a = new Uint8Array(n / 2); return new TextDecoder().decode(a).length + "
        "new TextDecoder().decode(a).length;"
    ),
    "string concatenation": 'let s = "x".repeat(n / 4); s = s + s; s = s + s; return s.length;',
}
LIMIT = 1 << 20


@pytest.mark.parametrize("what", list(ALLOCATORS))
def test_evaluator_copies_are_charged_to_max_host_bytes(corpus: dict[str, Any], tmp_path: Path, what: str) -> None:
    root = hostile(
        tmp_path,
        'import { createRequire } from "module";\n'
        'const require_crypto = () => createRequire(import.meta.url)("crypto");\n'
        f"export function alloc(n) {{ {ALLOCATORS[what]} }}\n",
    )
    pkg = rw.load_package(root, engine="wasmtime", entry="hostile.mjs", limits=rw.Limits(max_host_bytes=LIMIT))
    assert pkg.alloc(LIMIT // 4) > 0  # a quarter of the limit is fine
    assert pkg.alloc(LIMIT // 4) > 0  # and the budget is per call, not cumulative across calls
    with pytest.raises(rw.ResourceExhausted) as info:
        pkg.alloc(LIMIT * 4)
    assert (info.value.export, info.value.limit, info.value.value) == ("alloc", "max_host_bytes", LIMIT)
    with pytest.raises(PoisonedInstance):  # the package's instances are poisoned
        pkg.parse_text("hi", True)


def test_huge_allocation_is_refused_before_it_is_made(corpus: dict[str, Any], tmp_path: Path) -> None:
    """Under the default limit, a 64 GiB buffer is refused (nothing allocated), not attempted."""
    root = hostile(tmp_path, "export function alloc() { return new ArrayBuffer(2 ** 36).byteLength; }\n")
    pkg = rw.load_package(root, engine="wasmtime", entry="hostile.mjs")
    with pytest.raises(rw.ResourceExhausted) as info:
        pkg.alloc()
    assert info.value.limit == "max_host_bytes"
    assert "new ArrayBuffer(68719476736)" in str(info.value)


def test_many_small_allocations_add_up(corpus: dict[str, Any], tmp_path: Path) -> None:
    root = hostile(
        tmp_path,
        "export function hoard(k) { const keep = []; for (let i = 0; i < k; i++) keep.push(new Uint8Array(65536));"
        " return keep.length; }\n",
    )
    pkg = rw.load_package(root, engine="wasmtime", entry="hostile.mjs", limits=rw.Limits(max_host_bytes=LIMIT))
    assert pkg.hoard(8) == 8
    with pytest.raises(rw.ResourceExhausted):
        pkg.hoard(64)


# ------------------------------------------------------------------------------------ crypto vs Node

CRYPTO_JS = r"""
const c = require("crypto");
function t(f) { try { const r = f(); return ["ok", r.length]; } catch (e) { return [e.name, e.code, e.message]; } }
module.exports = [
  t(() => crypto.getRandomValues(new Uint8Array(65536))),
  t(() => crypto.getRandomValues(new Uint8Array(65537))),
  t(() => crypto.getRandomValues(new Uint32Array(16385))),
  t(() => crypto.getRandomValues(new BigInt64Array(2))),
  t(() => crypto.getRandomValues(new Float32Array(2))),
  t(() => crypto.getRandomValues([1, 2])),
  t(() => crypto.getRandomValues()),
  t(() => c.getRandomValues(new Uint8Array(70000))),
  t(() => c.randomBytes(10)),
  t(() => c.randomBytes(1.5)),
  t(() => c.randomBytes(-1)),
  t(() => c.randomBytes(2 ** 31)),
  t(() => c.randomBytes(NaN)),
  t(() => c.randomBytes("5")),
  t(() => c.randomBytes()),
  t(() => c.randomBytes(null)),
];
"""


def test_crypto_range_checks_match_node(tmp_path: Path) -> None:
    expected = node_exports(tmp_path, CRYPTO_JS)
    assert run_script(CRYPTO_JS) == expected
