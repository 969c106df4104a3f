"""Goal seek on any input, like Excel's: the value of one input that makes a metric hit a
target, with every other input held.

The input's valid range is scanned on a grid (log-spaced for open-ended positive inputs) and
every sign change is refined by Brent's method, so solutions on both sides are found; the
one nearest the input's current value is reported first.

Example:
    >>> from analytics.scenario import Scenario
    >>> r = goal_seek(Scenario(), "utilisation", 0.75, metric="margin")
    >>> r.value is not None and 0 < r.value <= 1
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from analytics.business import checked_number
from analytics.errors import ScenarioError
from analytics.scenario import Scenario
from analytics.scenario_sensitivity import NUMERIC_INPUTS, SPECIAL_INPUTS, metric_value

__all__ = ["INPUT_RANGES", "GoalSeekResult", "goal_seek"]

_SHARES = (0.0, 1.0)
#: Where each input is searched: (low, high, log-spaced).
INPUT_RANGES: dict[str, tuple[float, float, bool]] = {
    "price": (1e-4, 1e4, True),
    "elasticity_shift": (-10.0, 10.0, False),
    "volume_factor": (1e-3, 1e3, True),
    "gpu_cost_per_hour": (0.0, 1e4, False),
    "input_tokens_per_second": (1.0, 1e7, True),
    "output_tokens_per_second": (1.0, 1e7, True),
    "utilisation": (1e-3, 1.0, False),
    "cache_hit_rate": (*_SHARES, False),
    "cached_token_cost_factor": (*_SHARES, False),
    "output_share": (*_SHARES, False),
    "human_ticket_cost": (0.0, 1e4, False),
    "ai_ticket_cost": (0.0, 1e4, False),
    "ai_resolution_share": (*_SHARES, False),
    "fixed_cost_per_month": (0.0, 1e9, False),
}


@dataclass(frozen=True)
class GoalSeekResult:
    """The answer of a goal seek.

    Attributes:
        input, metric, target: what was asked.
        value: the input value nearest its current value that hits the target (None when
            no value in the searched range does).
        solutions: every value found, ascending.
        current: the input's current value; searched: the range searched.
        note: why there is no solution, or what to read with it.
    """

    input: str
    metric: str
    target: float
    value: float | None
    solutions: tuple[float, ...]
    current: float
    searched: tuple[float, float]
    note: str


def _current(s: Scenario, name: str) -> float:
    if name == "price":
        return s.price_per_m
    if name == "elasticity_shift":
        return 0.0
    if name == "volume_factor":
        return 1.0
    if name in ("output_share", "ai_resolution_share"):
        return float(getattr(s.cost_inputs(), name))  # the view's (weighted) value
    return float(getattr(s, name))


def goal_seek(
    s: Scenario, input_name: str, target: float, *, metric: str = "profit", points: int = 120
) -> GoalSeekResult:
    """The value of ``input_name`` at which ``metric`` equals ``target``.

    Args:
        s: the scenario.
        input_name: "price", "elasticity_shift", "volume_factor" or a numeric cost input
            (``analytics.scenario_sensitivity.NUMERIC_INPUTS``).
        target: the metric's target (USD per month for profits, a fraction for margin).
        metric: "profit" (after fixed costs, at our price), "margin" (contribution margin at
            our price) or "optimal_profit" (at the constrained optimum).
        points: grid points of the scan.

    Raises:
        ScenarioError: unknown input or metric, or a target that is not a finite number.
    """
    if input_name not in (*SPECIAL_INPUTS, *NUMERIC_INPUTS):
        raise ScenarioError(
            f"goal seek cannot vary {input_name!r}; choose one of "
            f"{', '.join([*SPECIAL_INPUTS, *NUMERIC_INPUTS])}"
        )
    if metric not in ("profit", "margin", "optimal_profit"):
        raise ScenarioError(f"unknown metric {metric!r}; choose profit, margin or optimal_profit")
    try:
        target = checked_number("the target", target, 1e15)
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None
    lo, hi, log = INPUT_RANGES[input_name]
    if input_name == "utilisation":
        lo = max(lo, 1e-3)
    grid = np.geomspace(lo, hi, points) if log else np.linspace(lo, hi, points)

    def gap(x: float) -> float:
        try:
            return metric_value(s, input_name, float(x), metric) - target
        except (ScenarioError, ValueError):
            return math.nan

    values = np.array([gap(x) for x in grid])
    found: list[float] = []
    for i in range(points - 1):
        a, b = values[i], values[i + 1]
        if not (np.isfinite(a) and np.isfinite(b)):
            continue
        if a == 0:
            found.append(float(grid[i]))
        elif a * b < 0:
            found.append(float(brentq(gap, grid[i], grid[i + 1], xtol=1e-12, rtol=1e-12)))
    if np.isfinite(values[-1]) and values[-1] == 0:
        found.append(float(grid[-1]))
    current = _current(s, input_name)
    found = sorted(set(found))
    if not found:
        finite = values[np.isfinite(values)]
        reach = (
            f"; between {input_name} {lo:g} and {hi:g} the {metric} ranges from "
            f"{(finite.min() + target):,.4g} to {(finite.max() + target):,.4g}"
            if finite.size
            else ""
        )
        return GoalSeekResult(
            input_name,
            metric,
            float(target),
            None,
            (),
            current,
            (lo, hi),
            f"no value of {input_name} reaches the target{reach}",
        )
    best = min(found, key=lambda v: abs(v - current))
    note = (
        ""
        if len(found) == 1
        else f"{len(found)} values reach the target; the one nearest today's value is shown"
    )
    return GoalSeekResult(
        input_name, metric, float(target), best, tuple(found), current, (lo, hi), note
    )
