"""Rounding that keeps events small and JSON valid: significant digits for scalars, nothing non-finite ever escapes."""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np
import orjson

SIG_DIGITS = 6


def sig(value: float, digits: int = SIG_DIGITS) -> float | None:
    """value to `digits` significant digits; None (JSON null) for NaN or ±inf."""
    if not math.isfinite(value):
        return None
    if value == 0.0:
        return 0.0
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def places(values: np.ndarray, decimals: int) -> list[Any]:
    """An array rounded to fixed decimals as nested lists; whole numbers as ints (a saturated boundary is mostly 0 and 1,
    one character each), non-finite entries as None."""
    arr = np.round(np.asarray(values, dtype=np.float64), decimals)
    finite = np.isfinite(arr)
    whole = finite & (arr == np.round(arr)) & (np.abs(arr) < 2**53)
    out = arr.astype(object)
    out[whole] = arr[whole].astype(np.int64).astype(object)
    out[~finite] = None
    return out.tolist()


def sig_round(values: np.ndarray, digits: int) -> np.ndarray:
    """An array rounded to `digits` significant digits, vectorised (one numpy pass for a whole epoch's values); non-finite
    entries stay as they are."""
    arr = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        safe = np.where(np.isfinite(arr) & (arr != 0), np.abs(arr), 1.0)
        scale = 10.0 ** (digits - 1 - np.floor(np.log10(safe)))
        return np.round(arr * scale) / scale


def json_list(arr: np.ndarray) -> list[Any]:
    """Nested lists for JSON, with None (null) for NaN and ±inf."""
    finite = np.isfinite(arr)
    if finite.all():
        return arr.tolist()
    out = np.where(finite, arr, 0.0).astype(object)
    out[~finite] = None
    return out.tolist()


def sig_array(values: np.ndarray, digits: int = 4) -> list[Any]:
    """An array to `digits` significant digits (for histogram edges and small weight matrices)."""
    return json_list(sig_round(values, digits))


class JsonText:
    """A value already encoded as JSON (fixed_json's grids): nndojo.jobs.wire.to_json splices it in as it is."""

    __slots__ = ("text",)

    def __init__(self, text: bytes):
        self.text = text

    def __repr__(self) -> str:
        return f"JsonText({self.text[:40]!r}…)"


FIXED_LIMIT = 9_999  # fixed_json's table: |value| · 10**decimals up to this (|value| < 100 at 2 decimals)


def fixed_json(values: np.ndarray, decimals: int) -> JsonText:
    """The JSON text of places(values, decimals), built in numpy: each value's text and comma come from a table of every
    fixed-point number up to FIXED_LIMIT, the brackets where rows end from a table of the shape, so no Python object is
    made per value (a 17-unit map set takes under a quarter of the time places and orjson take). Out of the table's range, not
    finite, or deeper than 4 dimensions: places and orjson."""
    arr = np.asarray(values, dtype=np.float64)
    q = np.rint(arr * 10.0**decimals)
    if not 0 < arr.ndim <= 4 or arr.size == 0 or not np.isfinite(q).all() or np.abs(q).max() > FIXED_LIMIT:
        return JsonText(orjson.dumps(places(arr, decimals)))
    with_comma, bare = _number_tables(decimals)
    index = q.ravel().astype(np.intp) + FIXED_LIMIT
    ends, brackets = _row_ends(arr.shape)
    tokens = with_comma[index]
    tokens[ends] = bare[index[ends]]  # a row's last value: its brackets follow instead of a comma
    return JsonText(b"[" * arr.ndim + np.insert(tokens, ends + 1, brackets).tobytes().translate(None, b"\0"))


@cache
def _number_tables(decimals: int) -> tuple[np.ndarray, np.ndarray]:
    """Row k: the text places gives k / 10**decimals (an int when whole), with a comma after it and without, each
    NUL-padded to 8 bytes as one uint64."""
    scale = 10**decimals
    tables = np.zeros((2, 2 * FIXED_LIMIT + 1, 8), dtype=np.uint8)
    for k in range(-FIXED_LIMIT, FIXED_LIMIT + 1):
        text = (str(k // scale) if k % scale == 0 else repr(k / scale)).encode()
        tables[0, k + FIXED_LIMIT, : len(text) + 1] = np.frombuffer(text + b",", dtype=np.uint8)
        tables[1, k + FIXED_LIMIT, : len(text)] = np.frombuffer(text, dtype=np.uint8)
    with_comma, bare = tables.view(np.uint64)[..., 0]
    return with_comma, bare


@cache
def _row_ends(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Where each innermost list of a C-ordered array of this shape ends (the index of its last value), and what
    follows it in the nested-list JSON: '],[' after a row, ']],[[' after a plane, the closing brackets after the last;
    NUL-padded uint64s."""
    n, ndim, row = math.prod(shape), len(shape), shape[-1]
    ends = np.arange(row - 1, n, row)
    closed = np.ones(len(ends), dtype=np.int64)  # how many lists end there: the row, and each outer one it completes
    stride = row
    for size in reversed(shape[:-1]):
        stride *= size
        closed += (ends + 1) % stride == 0
    brackets = np.zeros((len(ends), 8), dtype=np.uint8)
    for depth in range(1, ndim + 1):
        text = ("]" * depth + ("," + "[" * depth if depth < ndim else "")).encode()
        brackets[closed == depth, : len(text)] = np.frombuffer(text, dtype=np.uint8)
    return ends, brackets.view(np.uint64).ravel()
