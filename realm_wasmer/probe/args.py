"""Constructor arguments for probe trials, written as text tokens.

A token is one of:

* ``42``, ``0x10``, ``-1``, ``1.5``: a raw wasm value;
* ``str:TEXT``: TEXT as UTF-8 in a fresh guest allocation: two wasm values
  ``(ptr, len)`` (the callee frees ``&str``/``String`` arguments, so every
  call gets its own copy);
* ``bytes:HEX``: the same for raw bytes;
* ``js:TEXT``: a JS string value in the host heap: one wasm value (its index);
* ``null``: the wasm value 0 (a ``None``/null pointer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence, Union

import attrs

from ..errors import BadArgument as BadArgument

if TYPE_CHECKING:
    from ..instance import Instance


@attrs.frozen
class ArgSpec:
    """One argument token, parsed."""

    kind: str  # "raw", "str", "bytes", "js"
    value: Union[int, float, str, bytes]

    @property
    def width(self) -> int:
        """How many wasm values the token becomes."""
        return 2 if self.kind in ("str", "bytes") else 1

    def __str__(self) -> str:
        if self.kind == "raw":
            return repr(self.value)
        if self.kind == "bytes":
            assert isinstance(self.value, bytes)
            return f"bytes:{self.value.hex()}"
        text = self.value if isinstance(self.value, str) else repr(self.value)
        return f"{self.kind}:{text}"


def parse_arg(token: str) -> ArgSpec:
    """Parse one token (see the module docstring)."""
    if token == "null":
        return ArgSpec("raw", 0)
    for prefix in ("str", "js"):
        if token.startswith(prefix + ":"):
            return ArgSpec(prefix, token[len(prefix) + 1 :])
    if token.startswith("bytes:"):
        try:
            return ArgSpec("bytes", bytes.fromhex(token[6:]))
        except ValueError:
            raise BadArgument(f"probe argument {token!r}: bytes: needs hex digits") from None
    try:
        return ArgSpec("raw", int(token, 0))
    except ValueError:
        pass
    try:
        return ArgSpec("raw", float(token))
    except ValueError:
        raise BadArgument(
            f"probe argument {token!r} is not a number, str:TEXT, bytes:HEX, js:TEXT or null"
        ) from None


def parse_args(tokens: Sequence[str]) -> tuple[ArgSpec, ...]:
    return tuple(parse_arg(t) for t in tokens)


def materialize(instance: "Instance", specs: Sequence[ArgSpec]) -> list[Any]:
    """The wasm values for ``specs`` in ``instance``, allocating fresh copies."""
    values: list[Any] = []
    for spec in specs:
        if spec.kind == "raw":
            values.append(spec.value)
        elif spec.kind == "str":
            values.extend(instance.abi.pass_string(str(spec.value)))
        elif spec.kind == "bytes":
            assert isinstance(spec.value, bytes)
            values.extend(instance.abi.pass_bytes(spec.value))
        else:
            values.append(instance.heap.add(str(spec.value)))
    return values


def width(specs: Sequence[ArgSpec]) -> int:
    return sum(s.width for s in specs)
