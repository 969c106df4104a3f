"""Sensitivity analysis: tornado (one input at a time) and two-way tables.

Example:
    >>> def pi(price, unit_cost, volume):
    ...     return (price - unit_cost) * volume
    >>> t = tornado(pi, {"price": 1.0, "unit_cost": 0.4, "volume": 100.0}, pct=0.1)
    >>> t["input"].tolist()
    ['price', 'volume', 'unit_cost']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from analytics.demand import Demand
from analytics.optimize import profit


def tornado(
    fn: Callable[..., float],
    base: Mapping[str, float],
    *,
    pct: float = 0.1,
    inputs: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
) -> pd.DataFrame:
    """Move each input by ±``pct`` alone and record the output; sorted by impact.

    Args:
        fn: the output as a function of keyword inputs (all of ``base``).
        base: the base-case inputs.
        pct: relative change, e.g. 0.1 for ±10 %.
        inputs: the inputs to vary (default: all of ``base``).
        labels: display names by input.
        bounds: optional (low, high) clip per input (e.g. shares within [0, 1]).

    Returns:
        Columns ``input``, ``label``, ``low_value``, ``high_value``, ``low_output``,
        ``high_output``, ``base_output``, ``impact`` (|high − low| output), biggest first.
    """
    if pct < 0:
        raise ValueError("pct must be ≥ 0")
    base_out = float(fn(**base))
    rows = []
    for name in inputs if inputs is not None else list(base):
        v = float(base[name])
        lo_v, hi_v = v * (1 - pct), v * (1 + pct)
        if bounds and name in bounds:
            lo_v, hi_v = (float(np.clip(x, *bounds[name])) for x in (lo_v, hi_v))
        lo = float(fn(**{**base, name: lo_v}))
        hi = float(fn(**{**base, name: hi_v}))
        rows.append(
            {
                "input": name,
                "label": (labels or {}).get(name, name),
                "low_value": lo_v,
                "high_value": hi_v,
                "low_output": lo,
                "high_output": hi,
                "base_output": base_out,
                "impact": abs(hi - lo),
            }
        )
    df = pd.DataFrame(
        rows,
        columns=[
            "input",
            "label",
            "low_value",
            "high_value",
            "low_output",
            "high_output",
            "base_output",
            "impact",
        ],
    )
    return df.sort_values("impact", ascending=False, kind="stable").reset_index(drop=True)


def profit_table(
    demand: Demand, prices: ArrayLike, unit_costs: ArrayLike, fixed_cost: float = 0.0
) -> pd.DataFrame:
    """Two-way table: profit for every (unit cost, price) pair, vectorised.

    Returns:
        A DataFrame indexed by unit cost (name ``unit_cost``) with one column per price
        (columns name ``price``).

    Example:
        >>> from analytics.demand import LinearDemand
        >>> profit_table(LinearDemand(100, 2), [20, 30], [10]).loc[10].tolist()
        [600.0, 800.0]
    """
    return two_way_table(
        lambda c, p: profit(demand, p, c, fixed_cost), "unit_cost", unit_costs, "price", prices
    )


def two_way_table(
    fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
    row_name: str,
    row_values: ArrayLike,
    col_name: str,
    col_values: ArrayLike,
) -> pd.DataFrame:
    """Any broadcasting function of two inputs as a table (rows × columns)."""
    r = np.asarray(row_values, float)
    c = np.asarray(col_values, float)
    grid = np.broadcast_to(np.asarray(fn(r[:, None], c[None, :]), float), (r.size, c.size))
    return pd.DataFrame(grid, index=pd.Index(r, name=row_name), columns=pd.Index(c, name=col_name))


def table_to_long(table: pd.DataFrame, value_name: str = "profit") -> pd.DataFrame:
    """A two-way table in long form (one row per cell), as heat-map charts want it."""
    long = table.stack().rename(value_name).reset_index()
    return long
