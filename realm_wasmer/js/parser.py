"""Parsing JavaScript with tree-sitter (``tree-sitter`` + ``tree-sitter-javascript``).

``parse(text, origin)`` returns the tree's root node, or raises :class:`JsSyntaxError`
naming the file, line and the text around the first error node.
"""

from __future__ import annotations

import functools
from typing import Any

from ..errors import JsSyntaxError


@functools.lru_cache(maxsize=1)
def _parser() -> Any:
    import tree_sitter_javascript
    from tree_sitter import Language, Parser

    return Parser(Language(tree_sitter_javascript.language()))


def first_error(node: Any) -> Any:
    if node.type == "ERROR" or node.is_missing:
        return node
    for child in node.children:
        if child.has_error:
            found = first_error(child)
            if found is not None:
                return found
    return node if node.has_error else None


def parse(text: str, origin: str = "<js>") -> Any:
    """The root node of ``text``; :class:`JsSyntaxError` when tree-sitter reports an error."""
    tree = _parser().parse(text.encode("utf-8"))
    root = tree.root_node
    if root.has_error:
        bad = first_error(root)
        row, col = bad.start_point if bad is not None else (0, 0)
        line = text.splitlines()[row] if row < len(text.splitlines()) else ""
        raise JsSyntaxError(f"{origin}:{row + 1}:{col + 1}: cannot parse JavaScript near: {line.strip()[:120]!r}")
    return root


def node_text(node: Any, limit: int = 80) -> str:
    """The source text of a node, shortened for messages."""
    text = node.text.decode("utf-8", "replace")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
