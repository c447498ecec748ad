"""Python names of JS names: snake_case aliases, and which name each member gets.

A bound member is reachable under its JS name (made a valid identifier) and
under its snake_case alias. JS names are placed first, then the aliases that
collide with none: the runtime classes and the ``.pyi`` stubs both use
:func:`unique_names`, so the two always name the same things.
"""

from __future__ import annotations

import re
from typing import Collection, Sequence, TypeVar, Union

from .program import ApiClass, Member, Property, python_identifier

_V = TypeVar("_V")

#: What a class exposes besides its constructor: ``(JS name, kind, item)``, kind one of
#: ``method``, ``static`` (a ``Member``) or ``property`` (a ``Property``).
ClassMember = tuple[str, str, Union[Member, Property]]


def snake_case(name: str) -> str:
    """``loadModel`` -> ``load_model``, ``topP`` -> ``top_p``, ``HTMLParser`` -> ``html_parser``."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return name.lower()


def member_names(js_name: str) -> list[str]:
    """The Python attribute names of a JS name: the name itself (made a valid
    identifier if needed) and its snake_case alias when that differs."""
    primary = python_identifier(js_name)
    names = [primary]
    alias = python_identifier(snake_case(js_name))
    if alias != primary:
        names.append(alias)
    return names


def unique_names(entries: Sequence[tuple[list[str], _V]], taken: Collection[str] = ()) -> list[tuple[str, _V]]:
    """``(name, value)`` pairs for ``entries`` of ``(names, value)``: every first
    (JS) name, then the snake_case aliases; a name already ``taken`` or placed
    before is skipped."""
    seen = set(taken)
    out: list[tuple[str, _V]] = []

    def place(name: str, value: _V) -> None:
        if name not in seen:
            seen.add(name)
            out.append((name, value))

    for names, value in entries:
        place(names[0], value)
    for names, value in entries:
        for alias in names[1:]:
            place(alias, value)
    return out


def class_members(cls: ApiClass) -> list[ClassMember]:
    """The members of ``cls`` in binding order: methods, static methods, then
    properties. A static property becomes a static getter under its name and a
    static setter under ``set_<name>``."""
    out: list[ClassMember] = [(m.js_name, "method", m) for m in cls.methods]
    out.extend((m.js_name, "static", m) for m in cls.statics)
    for prop in cls.properties:
        if not prop.static:
            out.append((prop.name, "property", prop))
            continue
        if prop.getter is not None:
            out.append((prop.name, "static", prop.getter))
        if prop.setter is not None:
            out.append((f"set_{prop.name}", "static", prop.setter))
    return out
