"""How a descriptor type looks from Python: numpy element dtypes and slice-like shapes.

Shared by the type hints, the argument codecs and the result readers.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from . import descriptors as d


def unclamp(ty: d.Type) -> d.Type:
    """``Clamped<T>`` is ``T`` on the Python side."""
    return ty.inner if isinstance(ty, d.Clamped) else ty


def element_dtype(ty: d.Type) -> Optional[np.dtype[Any]]:
    """The numpy dtype of a numeric element type (little-endian), else None."""
    ty = unclamp(ty)
    if isinstance(ty, d.Int) and ty.bits <= 64 and not ty.as_f64:
        return np.dtype(f"<{'i' if ty.signed else 'u'}{ty.bits // 8}")
    if isinstance(ty, d.Float):
        return np.dtype(f"<f{ty.bits // 8}")
    return None


def sequence_slice(ty: d.Type) -> Optional[tuple[d.Type, str]]:
    """(element type, mode) of a slice-like type: mode ``owned`` (Vec/Box),
    ``ref`` (``&[T]``) or ``mut`` (``&mut [T]``)."""
    ty = unclamp(ty)
    if isinstance(ty, d.Vector):
        return unclamp(ty.inner), "owned"
    if isinstance(ty, d.Slice):
        return unclamp(ty.inner), "ref"
    if isinstance(ty, (d.Ref, d.RefMut)):
        inner = unclamp(ty.inner)
        if isinstance(inner, d.Slice):
            return unclamp(inner.inner), "mut" if isinstance(ty, d.RefMut) else "ref"
    return None


def is_js_value(ty: d.Type) -> bool:
    """``JsValue`` or a named extern type (both live in the instance's JS heap)."""
    return isinstance(ty, (d.Externref, d.NamedExternref))
