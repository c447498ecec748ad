"""Argument checks and conversions: pure Python, run before anything reaches the guest.

Each check takes the value and ``where`` (the text naming the parameter in
messages) and returns the converted value or raises :class:`ArgumentError`
(:class:`ArgumentRangeError` for numbers out of range).
"""

from __future__ import annotations

import operator
from typing import Any, Callable, Sequence

import numpy as np
import numpy.typing as npt

from ..errors import ArgumentError, ArgumentRangeError

Converter = Callable[[Any, str], Any]


def type_name(value: Any) -> str:
    return type(value).__name__


def wrong_type(where: str, expected: str, value: Any) -> ArgumentError:
    """``<where> must be <expected>, got <type of value>``."""
    return ArgumentError(f"{where} must be {expected}, got {type_name(value)}")


def range_error(where: str, value: Any, rust: str, lo: int, hi: int) -> ArgumentRangeError:
    return ArgumentRangeError(f"{where} = {value} is out of range for {rust} ({lo}..={hi})")


def as_int(value: Any, where: str, rust: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not hasattr(type(value), "__index__"):
        raise wrong_type(where, f"an int ({rust})", value)
    return operator.index(value)


def as_float(value: Any, where: str, rust: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise wrong_type(where, f"a float ({rust})", value)
    try:
        return float(value)
    except OverflowError:  # an int past the largest f64
        bits = int(value).bit_length()
        message = f"{where} is out of range for {rust}: a {bits}-bit integer exceeds the largest float"
        raise ArgumentRangeError(message) from None


def as_bool(value: Any, where: str) -> bool:
    if isinstance(value, np.bool_):
        return bool(value)
    raise wrong_type(where, "a bool", value)


def as_char(value: Any, where: str) -> int:
    if not isinstance(value, str) or len(value) != 1:
        got = f"a str of length {len(value)}" if isinstance(value, str) else type_name(value)
        raise ArgumentError(f"{where} must be a single character (char), got {got}")
    code = ord(value)
    if 0xD800 <= code <= 0xDFFF:
        raise ArgumentError(f"{where} is the lone surrogate U+{code:04X}, which is not a Rust char")
    return code


def as_utf8(value: Any, where: str) -> bytes:
    if not isinstance(value, str):
        raise wrong_type(where, "a str", value)
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ArgumentError(
            f"{where} contains the lone surrogate U+{ord(value[exc.start]):04X} at index {exc.start}; "
            "Rust strings must be valid UTF-8"
        ) from None


def as_list(value: Any, where: str) -> list[Any]:
    """``Vec<JsValue>``: a list or tuple (any sequence but text, bytes and mappings)."""
    if isinstance(value, (str, bytes, bytearray, dict)) or not isinstance(value, (list, tuple, Sequence)):
        raise wrong_type(where, "a list or tuple of values", value)
    return list(value)


def bad_self(value: Any, class_name: str, qualname: str) -> None:
    raise ArgumentError(f"{qualname}() must be called on a {class_name} object, got {type_name(value)}")


def _check_range(array: npt.NDArray[Any], dtype: np.dtype[Any], where: str) -> None:
    if dtype.kind not in "iu" or not array.size:
        return
    info = np.iinfo(dtype)
    low, high = array.min(), array.max()
    if low < info.min or high > info.max:
        bad = int(np.argmax((array < info.min) | (array > info.max)))
        raise range_error(f"{where}[{bad}]", array[bad], dtype.name, info.min, info.max)


def array_converter(dtype: np.dtype[Any], rust: str) -> Converter:
    """A check that turns an argument into a contiguous little-endian array of
    ``dtype`` (or ``bytes`` for u8 input that already is bytes)."""
    is_u8 = dtype == np.uint8
    want = "ints" if dtype.kind in "iu" else "floats"
    expected = f"a sequence or numpy array of {rust}" + (" or a bytes-like object" if is_u8 else "")

    def convert(value: Any, where: str) -> Any:
        if is_u8 and type(value) is bytes:
            return value
        if isinstance(value, (bytes, bytearray, memoryview)):
            if not is_u8 and not isinstance(value, memoryview):
                raise wrong_type(where, expected, value)
            view = memoryview(value)
            if is_u8 and view.format in ("B", "b", "c") and view.contiguous:
                return view.cast("B").tobytes() if view.ndim != 1 or view.format != "B" else bytes(view)
            value = np.asarray(view)
        if isinstance(value, np.ndarray):
            array: npt.NDArray[Any] = value
            if array.ndim != 1:
                raise ArgumentError(f"{where} must be one-dimensional, got an array of shape {array.shape}")
            if array.dtype == dtype:
                return np.ascontiguousarray(array)
            if array.dtype.newbyteorder("=") == dtype.newbyteorder("="):
                return np.ascontiguousarray(array.astype(dtype))
            if not np.can_cast(array.dtype, dtype, "same_kind"):
                raise ArgumentError(f"{where} must be {expected}: dtype {array.dtype} does not convert to {dtype.name}")
            _check_range(array, dtype, where)
            return np.ascontiguousarray(array.astype(dtype))
        if isinstance(value, (str, dict)) or not hasattr(value, "__len__"):
            raise wrong_type(where, expected, value)
        try:
            array = np.asarray(value)
        except (ValueError, TypeError) as exc:
            raise ArgumentError(f"{where} must be {expected}: {exc}") from None
        if array.size == 0:
            return np.zeros(0, dtype)
        if array.ndim != 1 or array.dtype.kind not in ("iu" if want == "ints" else "iuf"):
            raise ArgumentError(f"{where} must be {expected} ({want}), got elements of type {array.dtype}")
        _check_range(array, dtype, where)
        return np.ascontiguousarray(array.astype(dtype))

    return convert


def writable_converter(dtype: np.dtype[Any], rust: str) -> Converter:
    """For ``&mut [T]``: a writable 1-D array of exactly ``dtype`` (or a
    bytearray / writable memoryview for u8), returned as a numpy view of it so
    the result can be copied back."""
    is_u8 = dtype == np.uint8
    kinds = "a bytearray, writable memoryview or " if is_u8 else "a "
    expected = f"{kinds}writable contiguous numpy array of {dtype.name} (&mut [{rust}])"

    def convert(value: Any, where: str) -> Any:
        if is_u8 and isinstance(value, (bytearray, memoryview)):
            view = memoryview(value)
            if view.readonly:
                raise ArgumentError(f"{where} must be writable (&mut [u8]), got a read-only memoryview")
            return np.frombuffer(view.cast("B") if view.format != "B" else view, dtype=np.uint8)
        if (
            isinstance(value, np.ndarray)
            and value.ndim == 1
            and value.dtype == dtype
            and value.flags.c_contiguous
            and value.flags.writeable
        ):
            return value
        raise wrong_type(where, expected, value)

    return convert
