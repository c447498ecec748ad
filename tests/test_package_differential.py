"""Differential tests: generated inputs give the same output from load_package (Python) and from
Node running the package's own glue (one long-lived ``node tests/packages/node_server.mjs``
answering JSON lines, so each example is cheap). Skipped only where ``node`` is absent.

Functions: tiktoken (cl100k_base) encode / encode_ordinary / decode, @wasm-fmt/sql_fmt format and
@wasm-fmt/lua_fmt format (with configs), blake3-wasm hash. Outputs and thrown values compare with
the corpus encoder and comparator (../shared/corpus/check_calls.py).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import realm_wasmer as rw

from .conftest import CORPUS_CACHE
from .package_cases import PACKAGES_DIR, check_calls

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")
ENGINE = "wasmtime"
TIKTOKEN = CORPUS_CACHE / "pkgs" / "tiktoken" / "package"


class NodeServer:
    def __init__(self, setup: list[dict[str, Any]]) -> None:
        self.setup = setup
        self.start()

    def start(self) -> None:
        assert NODE is not None
        self.proc = subprocess.Popen(
            [NODE, str(PACKAGES_DIR / "node_server.mjs")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1,
        )
        for request in self.setup:
            self.ask(**request)

    def restart(self) -> None:
        """A new process with fresh instances (after a trap, as the Python side reloads)."""
        self.close()
        self.start()

    def ask(self, **request: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the node server ended"
        answer: dict[str, Any] = json.loads(line)
        assert "server_error" not in answer, answer["server_error"]
        return answer

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def node_files(new_packages: dict[str, Path]) -> dict[str, tuple[str, str]]:
    return {
        "sql": (str(new_packages["sql_fmt"] / "sql_fmt_node.js"), "import"),
        "lua": (str(new_packages["lua_fmt"] / "lua_fmt_node.js"), "import"),
        "b3": (str(new_packages["blake3"] / "dist/wasm/nodejs/blake3_js.js"), "require"),
    }


@pytest.fixture(scope="module")
def node(corpus: dict[str, Any], new_packages: dict[str, Path]) -> Iterator[NodeServer]:
    enc = str(TIKTOKEN / "encoders" / "cl100k_base.json")
    setup: list[dict[str, Any]] = [
        {"op": "load", "as": "tk", "file": str(TIKTOKEN / "lite" / "tiktoken.cjs"), "mode": "require"},
        {"op": "new", "as": "enc", "on": "tk", "cls": "Tiktoken",
         "args": [{"$json_file": enc, "$json_path": p} for p in ("bpe_ranks", "special_tokens", "pat_str")]},
    ]
    setup += [{"op": "load", "as": name, "file": f, "mode": m} for name, (f, m) in node_files(new_packages).items()]
    server = NodeServer(setup)
    yield server
    server.close()


@pytest.fixture(scope="module")
def py(corpus: dict[str, Any], new_packages: dict[str, Path]) -> dict[str, Any]:
    tk = rw.load_package(TIKTOKEN, engine=ENGINE, entry="lite/tiktoken.cjs")
    data = json.loads((TIKTOKEN / "encoders" / "cl100k_base.json").read_text())
    loaders = {
        "sql": lambda: rw.load_package(new_packages["sql_fmt"], engine=ENGINE),
        "lua": lambda: rw.load_package(new_packages["lua_fmt"], engine=ENGINE),
        "b3": lambda: rw.load_package(new_packages["blake3"], engine=ENGINE, entry="dist/wasm/nodejs/blake3_js.js"),
    }
    out: dict[str, Any] = {name: load() for name, load in loaders.items()}
    out["enc"] = tk.Tiktoken(data["bpe_ranks"], data["special_tokens"], data["pat_str"])
    out["reload"] = lambda name: out.__setitem__(name, loaders[name]())
    return out


@pytest.fixture(scope="module")
def cc() -> Any:
    return check_calls()


def same(cc: Any, node: NodeServer, py_call: Any, on: str, fn: str, args: list[Any], js_args: list[Any],
         result_arg: int | None = None, py: dict[str, Any] | None = None) -> None:
    """Node's answer for on.fn(*js_args) equals Python's py_call() (value or thrown). When both
    trapped (a Rust panic: RuntimeError in Node, rw.GuestTrap here), both sides load the package
    afresh, as the trapped instance is unusable (``py`` holds the reloaders)."""
    request: dict[str, Any] = {"op": "call", "on": on, "fn": fn, "args": js_args}
    if result_arg is not None:
        request["result_arg"] = result_arg
    want = node.ask(**request)
    raised: BaseException | None = None
    result: Any = None
    try:
        result = py_call()
    except Exception as exc:  # noqa: BLE001 - compared with Node's throw
        raised = exc
    if "throws" in want:
        problem = cc.check_throw({"throws": want["throws"]}, raised, result)
        if problem is None and isinstance(raised, rw.GuestTrap) and py is not None:
            py["reload"](on)
            node.restart()
    else:
        assert raised is None, f"{fn}{tuple(args)!r}: Node gave {str(want['output'])[:200]}, Python raised {raised!r}"
        problem = cc.diff(cc.enc(result), want["output"])
    assert problem is None, f"{fn}{tuple(args)!r}: {problem}"


# text with astral characters, combining marks, and now and then a lone surrogate
TEXT = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(["a", " ", "é", "\u0301", "🎉", "中", "\n", "<|endoftext|>", "\ud800", "'s", "123"]),
             max_size=20).map("".join),
)


@given(TEXT)
def test_tiktoken_encode(cc: Any, node: NodeServer, py: dict[str, Any], text: str) -> None:
    same(cc, node, lambda: py["enc"].encode(text, ["<|endoftext|>"]), "enc", "encode", [text],
         [text, ["<|endoftext|>"]])
    same(cc, node, lambda: py["enc"].encode_ordinary(text), "enc", "encode_ordinary", [text], [text])


@given(st.lists(st.integers(min_value=0, max_value=100_255), max_size=30))
def test_tiktoken_decode(cc: Any, node: NodeServer, py: dict[str, Any], tokens: list[int]) -> None:
    arr = np.array(tokens, dtype=np.uint32)
    same(cc, node, lambda: py["enc"].decode(arr), "enc", "decode", [tokens], [{"$u32": tokens}])


SQL_WORDS = ["select", "SELECT", "from", "where", "a", "b1", "t", "(", ")", ",", "*", "=", "1", "'x'", "and", "join",
             "on", "group by", "order by", "limit", ";", "--c\n", "insert into", "values", "é", "\"q\"", "$1", " "]
SQL = st.one_of(st.lists(st.sampled_from(SQL_WORDS), max_size=25).map(" ".join), st.text(max_size=40))
SQL_CONFIG = st.one_of(
    st.none(),
    st.fixed_dictionaries({}, optional={
        "uppercase": st.booleans(),
        "indent_width": st.integers(min_value=0, max_value=8),
        "indent_style": st.sampled_from(["tab", "space", "weird"]),
        "lines_between_queries": st.integers(min_value=0, max_value=3),
        "inline": st.booleans(),
        "dialect": st.sampled_from(["generic", "postgresql", "sqlserver"]),
    }),
)


@given(SQL, SQL_CONFIG)
def test_sql_fmt_format(cc: Any, node: NodeServer, py: dict[str, Any], sql: str, config: Any) -> None:
    same(cc, node, lambda: py["sql"].format(sql, config), "sql", "format", [sql, config], [sql, config], py=py)


LUA_WORDS = ["local", "x", "=", "1", "function", "f", "(", ")", "end", "if", "then", "else", "return", "{", "}", ",",
             "'s'", "\"d\"", "..", "+", "print", "--c\n", "\n", "for", "i", "do", "nil", "🎉"]
LUA = st.one_of(st.lists(st.sampled_from(LUA_WORDS), max_size=25).map(" ".join), st.text(max_size=30))
LUA_CONFIG = st.one_of(
    st.none(),
    st.fixed_dictionaries({}, optional={
        "indent_style": st.sampled_from(["tab", "space"]),
        "indent_width": st.integers(min_value=1, max_value=8),
        "line_width": st.integers(min_value=10, max_value=120),
        "quote_style": st.sampled_from(["AutoPreferDouble", "ForceSingle", "Bogus"]),
        "call_parentheses": st.sampled_from(["Always", "None", "Input"]),
    }),
)


@given(LUA, LUA_CONFIG)
def test_lua_fmt_format(cc: Any, node: NodeServer, py: dict[str, Any], lua: str, config: Any) -> None:
    same(cc, node, lambda: py["lua"].format(lua, config), "lua", "format", [lua, config], [lua, config], py=py)


@given(st.binary(max_size=300), st.integers(min_value=0, max_value=80))
def test_blake3_hash(cc: Any, node: NodeServer, py: dict[str, Any], data: bytes, size: int) -> None:
    def call() -> Any:
        out = np.zeros(size, dtype=np.uint8)
        py["b3"].hash(data, out)
        return out

    b64 = base64.b64encode(data).decode()
    same(cc, node, call, "b3", "hash", [data, size], [{"$bytes_b64": b64}, {"$zeros": size}], result_arg=1, py=py)
