"""Rounding that keeps events small and JSON valid: significant digits for scalars, nothing non-finite ever escapes."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

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
