"""The ``name`` custom section: module, function, local and label names (and the
other name maps of the extended name section), decoded and encoded.

Subsections keep their original bytes: an untouched subsection is copied byte for
byte; one replaced in ``subsections`` is encoded afresh.
"""

from __future__ import annotations

from typing import Callable, Optional, TypeVar

import attrs

from ..errors import InvalidModule, Malformed
from .leb import read_u32, uleb
from .model import codec_error, same_objects

NameMap = tuple[tuple[int, str], ...]
IndirectNameMap = tuple[tuple[int, NameMap], ...]

MODULE, FUNCTIONS, LOCALS, LABELS = 0, 1, 2, 3
#: Subsections that are a name map (index -> name).
NAME_MAP_IDS = frozenset({1, 4, 5, 6, 7, 8, 9, 11})
#: Subsections that are an indirect name map (index -> index -> name).
INDIRECT_MAP_IDS = frozenset({2, 3, 10})
#: Subsections keyed by function index.
FUNCTION_KEYED_IDS = frozenset({1, 2, 3})


@attrs.frozen
class NameSubsection:
    """One subsection: ``module_name`` (id 0), ``names`` (name maps), ``indirect``
    (indirect maps), or only ``raw`` (an unknown subsection's payload)."""

    id: int
    module_name: Optional[str] = None
    names: Optional[NameMap] = None
    indirect: Optional[IndirectNameMap] = None
    raw: bytes = b""


@attrs.define(eq=False)
class NameSection:
    subsections: list[NameSubsection]
    source: bytes = attrs.field(default=b"", repr=False)
    _original: tuple[NameSubsection, ...] = attrs.field(default=(), repr=False)
    _spans: dict[int, tuple[int, int]] = attrs.field(factory=dict, repr=False)

    @property
    def modified(self) -> bool:
        current, original = self.subsections, self._original
        return not same_objects(current, original)

    def subsection(self, subsection_id: int) -> Optional[NameSubsection]:
        for sub in self.subsections:
            if sub.id == subsection_id:
                return sub
        return None

    def function_names(self) -> dict[int, str]:
        sub = self.subsection(FUNCTIONS)
        return dict(sub.names or ()) if sub else {}

    def set_function_name(self, index: int, name: str) -> None:
        names = self.function_names()
        names[index] = name
        self._put(NameSubsection(FUNCTIONS, names=tuple(sorted(names.items()))))

    def _put(self, new: NameSubsection) -> None:
        for i, sub in enumerate(self.subsections):
            if sub.id == new.id:
                self.subsections[i] = new
                return
        at = next((i for i, sub in enumerate(self.subsections) if sub.id > new.id), len(self.subsections))
        self.subsections.insert(at, new)

    def shift_functions(self, delta: int, at: int) -> None:
        """Add ``delta`` to every function index ``>= at`` (function, local and label names)."""
        for i, sub in enumerate(self.subsections):
            if sub.id not in FUNCTION_KEYED_IDS:
                continue
            if sub.names is not None and any(k >= at for k, _ in sub.names):
                self.subsections[i] = attrs.evolve(sub, names=tuple((k + delta if k >= at else k, v)
                                                                    for k, v in sub.names))
            elif sub.indirect is not None and any(k >= at for k, _ in sub.indirect):
                self.subsections[i] = attrs.evolve(sub, indirect=tuple((k + delta if k >= at else k, v)
                                                                       for k, v in sub.indirect))

    def encode(self, canonical: bool = False) -> bytes:
        parts = []
        for sub in self.subsections:
            span = None if canonical else self._spans.get(id(sub))
            if span is not None:
                parts.append(self.source[span[0] : span[1]])
            else:
                payload = encode_subsection(sub)
                parts.append(bytes((sub.id,)) + uleb(len(payload)) + payload)
        return b"".join(parts)


def _name(data: bytes, pos: int, end: int) -> tuple[str, int]:
    size, pos = read_u32(data, pos)
    if pos + size > end:
        raise Malformed("name runs past its subsection", pos)
    try:
        return data[pos : pos + size].decode("utf-8"), pos + size
    except UnicodeDecodeError:
        raise Malformed("name is not UTF-8", pos) from None


def _count(data: bytes, pos: int, end: int) -> tuple[int, int]:
    count, pos = read_u32(data, pos)
    if count > end - pos:
        raise Malformed(f"{count} entries cannot fit in the subsection", pos)
    return count, pos


_T = TypeVar("_T")


def _indexed(
    data: bytes, pos: int, end: int, read_value: Callable[[bytes, int, int], tuple[_T, int]]
) -> tuple[tuple[tuple[int, _T], ...], int]:
    """A vector of (index, value) entries, each value read by ``read_value``."""
    count, pos = _count(data, pos, end)
    entries = []
    for _ in range(count):
        index, pos = read_u32(data, pos)
        value, pos = read_value(data, pos, end)
        entries.append((index, value))
    return tuple(entries), pos


def _name_map(data: bytes, pos: int, end: int) -> tuple[NameMap, int]:
    return _indexed(data, pos, end, _name)


def _indirect_map(data: bytes, pos: int, end: int) -> tuple[IndirectNameMap, int]:
    return _indexed(data, pos, end, _name_map)


def _subsection(sub_id: int, data: bytes, pos: int, end: int) -> NameSubsection:
    if sub_id == MODULE:
        name, pos = _name(data, pos, end)
        sub = NameSubsection(sub_id, module_name=name)
    elif sub_id in NAME_MAP_IDS:
        names, pos = _name_map(data, pos, end)
        sub = NameSubsection(sub_id, names=names)
    elif sub_id in INDIRECT_MAP_IDS:
        indirect, pos = _indirect_map(data, pos, end)
        sub = NameSubsection(sub_id, indirect=indirect)
    else:
        return NameSubsection(sub_id, raw=data[pos:end])
    if pos != end:
        raise Malformed(f"name subsection {sub_id} has {end - pos} bytes left over", pos)
    return sub


def decode_names(data: bytes, pos: int, end: int) -> NameSection:
    """Decode the name section whose payload (after the section's name) is ``data[pos:end]``."""
    subsections, spans = [], {}
    try:
        while pos < end:
            start = pos
            sub_id = data[pos]
            size, pos = read_u32(data, pos + 1)
            if pos + size > end:
                raise Malformed(f"name subsection {sub_id} runs past the section", start)
            sub = _subsection(sub_id, data, pos, pos + size)
            pos += size
            subsections.append(sub)
            spans[id(sub)] = (start, pos)
    except Malformed as exc:
        raise codec_error(exc.message, section="custom 'name'", offset=exc.pos) from None
    except (IndexError, InvalidModule):
        raise codec_error("unexpected end of data", section="custom 'name'", offset=pos) from None
    return NameSection(subsections, data, tuple(subsections), spans)


def encode_subsection(sub: NameSubsection) -> bytes:
    if sub.module_name is not None:
        return _encode_name(sub.module_name)
    if sub.names is not None:
        return _encode_name_map(sub.names)
    if sub.indirect is not None:
        return uleb(len(sub.indirect)) + b"".join(uleb(i) + _encode_name_map(m) for i, m in sub.indirect)
    return sub.raw


def _encode_name(text: str) -> bytes:
    raw = text.encode("utf-8")
    return uleb(len(raw)) + raw


def _encode_name_map(names: NameMap) -> bytes:
    return uleb(len(names)) + b"".join(uleb(i) + _encode_name(n) for i, n in names)
