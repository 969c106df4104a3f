"""Checks of the price-war model's inputs: finite numbers, one per firm, within the
plausibility limits beyond which a number is a unit mistake."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from analytics.demand import FloatArray

# Plausibility limits of calibrate_market's inputs: beyond them a number is a unit mistake,
# and the floating-point model would lose the precision the calibration promises.
MAX_PRICE = 1e6  # USD per 1M tokens
MAX_ALPHA = 1e6  # utility per USD
MAX_UTILITY = 1e6  # α·p, utility units
MAX_MARKET = 1e15  # millions of tokens per month


def number(what: str, value: Any) -> float:
    """``value`` as a float, or a ValueError that names ``what`` (never a 290-digit repr)."""
    try:
        out = float(value)
    except OverflowError:
        raise ValueError(f"{what} is too large to be a number of this model") from None
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, got a {type(value).__name__}") from None
    if math.isnan(out):
        raise ValueError(f"{what} is not a number (NaN)")
    if math.isinf(out):
        raise ValueError(f"{what} must be finite, got {out}")
    return out


def firm_numbers(what: str, values: ArrayLike, names: Sequence[str]) -> FloatArray:
    """A 1-D float array, one finite value per firm, or a ValueError naming the firm."""
    try:
        arr = np.asarray(values, dtype=float)
    except OverflowError:
        raise ValueError(f"{what}: a value is too large to be a number of this model") from None
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be numbers") from None
    if arr.ndim != 1 or arr.size != len(names):
        raise ValueError(
            f"{what} must have one value per firm ({len(names)}), got shape {arr.shape}"
        )
    for name, v in zip(names, arr, strict=True):
        if not math.isfinite(v):
            raise ValueError(f"{what} of {name!r} is not a finite number ({v})")
    return arr


def usd(value: float) -> str:
    """``value`` as dollars with four significant digits and thousands commas, for notes."""
    return f"${value:,.4g}"
