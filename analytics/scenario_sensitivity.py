"""A scenario's numbers with its inputs varied: the tornado of profit drivers, one input set
to a value (``apply_input``, ``metric_value``), two-input data tables and the Monte Carlo of
monthly profit. Every figure comes from the scenario's one demand model
(``analytics.evaluate.scenario_model``).

Example:
    >>> from analytics.scenario import Scenario
    >>> t = data_table(Scenario(), "price", [0.5, 1.0], "elasticity_shift", [0.0])
    >>> t.shape
    (2, 1)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analytics.business import constrained_optimum
from analytics.errors import ScenarioError
from analytics.evaluate import scenario_model
from analytics.montecarlo import MonteCarloResult, simulate_model_profit
from analytics.optimize import contribution_margin_ratio
from analytics.scenario import Scenario
from analytics.sensitivity import tornado

__all__ = [
    "NUMERIC_INPUTS",
    "SPECIAL_INPUTS",
    "TORNADO_INPUTS",
    "apply_input",
    "data_table",
    "metric_value",
    "scenario_monte_carlo",
    "scenario_tornado",
    "tornado_price",
    "with_segment_shares",
]

#: Drivers of the tornado with their labels. "gpu_cost" moves the GPU cost per token:
#: GPU $/h, throughput and utilisation act on it together (cost ∝ $/h ÷ (throughput × u)),
#: so they are one driver, not three correlated bars.
TORNADO_INPUTS: dict[str, str] = {
    "price": "price",
    "elasticity": "elasticity (every segment)",
    "volume": "volume level",
    "gpu_cost": "GPU cost per token (GPU $/h, throughput, utilisation)",
    "cache_hit_rate": "cache-hit rate (input tokens)",
    "output_share": "output share of tokens (every segment)",
    "tickets": "support tickets per 1M tokens",
    "human_ticket_cost": "human ticket cost",
    "ai_ticket_cost": "AI ticket cost",
    "ai_resolution_share": "AI resolution share (every segment)",
    "fixed_cost_per_month": "fixed costs",
}
_BOUNDS = {"cache_hit_rate": (0.0, 1.0)}


def tornado_price(s: Scenario) -> float:
    """The price the tornado is computed at: ``tornado_price``, or the optimum when 0."""
    if s.tornado_price > 0:
        return s.tornado_price
    return constrained_optimum(scenario_model(s), s.price_floor, s.price_ceiling).price


def with_segment_shares(
    s: Scenario,
    *,
    output_share: float | None = None,
    ai_resolution_share: float | None = None,
    factors: bool = False,
) -> Scenario:
    """Every segment's token mix and/or AI resolution share set to a value (or multiplied
    by a factor, clipped to [0, 1], with ``factors``)."""

    def new(old: float, v: float | None) -> float:
        if v is None:
            return old
        return min(1.0, max(0.0, old * v)) if factors else v

    segs = tuple(
        dataclasses.replace(
            g,
            output_share=new(g.output_share, output_share),
            ai_resolution_share=new(g.ai_resolution_share, ai_resolution_share),
        )
        for g in s.segments
    )
    return s.replace(segments=segs)


def _profit_with(
    s: Scenario,
    price: float,
    elasticity: float,
    volume: float,
    gpu_cost: float,
    tickets: float,
    output_share: float,
    ai_resolution_share: float,
    **fields: float,
) -> float:
    changed = with_segment_shares(
        s, output_share=output_share, ai_resolution_share=ai_resolution_share, factors=True
    )
    changed = changed.replace(gpu_cost_per_hour=s.gpu_cost_per_hour * gpu_cost, **fields)
    model = scenario_model(
        changed, elasticity_factor=elasticity, volume_factor=volume, tickets_factor=tickets
    )
    return float(model.profit(price))


def scenario_tornado(s: Scenario, price: float | None = None) -> pd.DataFrame:
    """Tornado of monthly profit at ``price`` (default ``tornado_price(s)``): each driver
    ± ``sensitivity_pct`` % alone. Elasticity, volume, GPU cost, tickets, the output share
    and the AI resolution share move as factors on every segment (low/high values are those
    factors).

    Columns as ``analytics.sensitivity.tornado`` plus ``price`` (where it was computed).
    """
    at = tornado_price(s) if price is None else float(price)
    base = {
        "price": at,
        "elasticity": 1.0,
        "volume": 1.0,
        "gpu_cost": 1.0,
        "tickets": 1.0,
        "cache_hit_rate": s.cache_hit_rate,
        "output_share": 1.0,
        "human_ticket_cost": s.human_ticket_cost,
        "ai_ticket_cost": s.ai_ticket_cost,
        "ai_resolution_share": 1.0,
        "fixed_cost_per_month": s.fixed_cost_per_month,
    }
    out = tornado(
        lambda **kw: _profit_with(s, **kw),
        base,
        pct=s.sensitivity_pct / 100.0,
        labels=TORNADO_INPUTS,
        bounds=_BOUNDS,
    )
    return out.assign(price=at)


#: Inputs a data table or goal seek can vary besides the scenario's own numeric fields:
#: "price" (our price), "elasticity_shift" (added to every segment's elasticity),
#: "volume_factor" (multiplies every segment's volume), and "output_share" and
#: "ai_resolution_share" (set for every segment).
SPECIAL_INPUTS = (
    "price",
    "elasticity_shift",
    "volume_factor",
    "output_share",
    "ai_resolution_share",
)


def apply_input(s: Scenario, name: str, value: float) -> tuple[Scenario, float, float, float]:
    """(scenario, price, elasticity shift, volume factor) with input ``name`` set to
    ``value``; raises ``ScenarioError`` for an unknown or invalid input."""
    if name == "price":
        if value <= 0:
            raise ScenarioError("the price must be > 0")
        return s, float(value), 0.0, 1.0
    if name == "elasticity_shift":
        return s, s.price_per_m, float(value), 1.0
    if name == "volume_factor":
        if value <= 0:
            raise ScenarioError("the volume factor must be > 0")
        return s, s.price_per_m, 0.0, float(value)
    if name in ("output_share", "ai_resolution_share"):
        return with_segment_shares(s, **{name: float(value)}), s.price_per_m, 0.0, 1.0
    if name not in NUMERIC_INPUTS:
        raise ScenarioError(
            f"unknown input {name!r}; choose one of {', '.join([*SPECIAL_INPUTS, *NUMERIC_INPUTS])}"
        )
    return s.replace(**{name: float(value)}), s.price_per_m, 0.0, 1.0


#: The scenario's numeric inputs that a data table or goal seek may vary.
NUMERIC_INPUTS = (
    "gpu_cost_per_hour",
    "input_tokens_per_second",
    "output_tokens_per_second",
    "utilisation",
    "cache_hit_rate",
    "cached_token_cost_factor",
    "human_ticket_cost",
    "ai_ticket_cost",
    "fixed_cost_per_month",
)


def metric_value(s: Scenario, name: str, value: float, metric: str = "profit") -> float:
    """A metric with one input changed: "profit" (monthly, after fixed costs, at our price),
    "margin" (contribution margin at our price) or "optimal_profit" (at the constrained
    optimum)."""
    s2, price, shift, factor = apply_input(s, name, value)
    model = scenario_model(s2, volume_factor=factor)
    if shift:
        model = model.with_elasticities([g.elasticity + shift for g in model.segments])
    if metric == "profit":
        return float(model.profit(price))
    if metric == "margin":
        return float(contribution_margin_ratio(price, model.unit_cost(price)))
    if metric == "optimal_profit":
        return constrained_optimum(model, s2.price_floor, s2.price_ceiling).profit
    raise ScenarioError(f"unknown metric {metric!r}; choose profit, margin or optimal_profit")


def data_table(
    s: Scenario,
    row_input: str,
    row_values: Sequence[float],
    col_input: str,
    col_values: Sequence[float],
    *,
    metric: str = "profit",
) -> pd.DataFrame:
    """Excel-style two-input data table: ``metric`` for every (row value, column value).

    Inputs are "price", "elasticity_shift", "volume_factor" or a numeric cost input; cells
    whose inputs are invalid are NaN.

    Example:
        >>> t = data_table(Scenario(), "price", [0.5, 1.0], "elasticity_shift", [0.0])
        >>> t.shape
        (2, 1)
    """
    grid = np.full((len(row_values), len(col_values)), np.nan)
    for i, rv in enumerate(row_values):
        try:
            s_row, p_row, sh_row, vf_row = apply_input(s, row_input, float(rv))
        except ScenarioError:
            continue
        for j, cv in enumerate(col_values):
            try:
                s2, p2, sh2, vf2 = apply_input(s_row, col_input, float(cv))
                price = p_row if row_input == "price" else p2
                model = scenario_model(s2, volume_factor=vf_row * vf2)
                shift = sh_row + sh2
                if shift:
                    model = model.with_elasticities([g.elasticity + shift for g in model.segments])
                if metric == "profit":
                    grid[i, j] = float(model.profit(price))
                elif metric == "margin":
                    grid[i, j] = contribution_margin_ratio(price, model.unit_cost(price))
                else:
                    raise ScenarioError(f"unknown metric {metric!r}")
            except (ScenarioError, ValueError) as exc:
                if isinstance(exc, ScenarioError) and "metric" in str(exc):
                    raise
    return pd.DataFrame(
        grid,
        index=pd.Index(list(map(float, row_values)), name=row_input),
        columns=pd.Index(list(map(float, col_values)), name=col_input),
    )


def scenario_monte_carlo(s: Scenario, price: float | None = None) -> MonteCarloResult:
    """Monte Carlo of monthly profit at ``price`` (default the scenario's): every segment's
    elasticity within its interval, GPU cost and volume uncertain; reproducible by
    ``mc_seed``."""
    model = scenario_model(s)
    return simulate_model_profit(
        model,
        price=s.price_per_m if price is None else price,
        gpu_cost=[s.segment_costs(g).gpu_cost_per_million for g in s.segments],
        gpu_cost_sd=s.gpu_cost_sd,
        volume_sd=s.volume_sd,
        draws=s.mc_draws,
        seed=s.mc_seed,
    )
