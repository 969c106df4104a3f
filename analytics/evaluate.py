"""Evaluate a ``Scenario`` into its result: profit at its price, the constrained optimum and
its spread, break-even, the prices for a target margin or profit, and warnings. The same
numbers with inputs varied are in ``analytics.scenario_sensitivity``; the pages' tables of
segments and of several scenarios in ``analytics.scenario_tables``.

One demand model (``analytics.business``) behind every number: each segment's
constant-elasticity curve with the elasticity the page shows, "All customers" as their sum
at one price, unit costs from the scenario's cost model. Pages call these and draw the
results; nothing here imports Streamlit.

Example:
    >>> from analytics.scenario import Scenario
    >>> r = evaluate_scenario(Scenario(price_per_m=1.0))
    >>> r.optimum.price > r.unit_cost and r.optimum.at_bound is None
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analytics.business import (
    BusinessOptimum,
    DemandModel,
    OptimumSpread,
    SegmentCurve,
    constrained_optimum,
    optimum_spread,
    profit_roots,
)
from analytics.errors import ScenarioError
from analytics.optimize import ProfitCurve, contribution_margin_ratio
from analytics.scenario import Scenario

__all__ = [
    "VOLUME_RANGE",
    "ScenarioResult",
    "evaluate_profit",
    "evaluate_scenario",
    "scenario_model",
]

#: Draws of the optimum's Monte Carlo distribution (each draw optimises on a grid).
OPTIMUM_DRAWS = 1_000
#: Monthly volume, millions of tokens, that a segment's demand curve may give anywhere in the
#: view (its price, floor and ceiling, at either end of its elasticity interval). Each
#: input has its own plausible range (``analytics.scenario``), but together they can still
#: ask V₀·(p/p₀)^ε for 1e-1197 (0 in floating point: a division by zero) or 1e1203 (inf,
#: then NaN): refused with a note naming the segment and the price instead. 1e15 M tokens a
#: month is about a million times today's whole market; 1e-30 is no demand at all.
VOLUME_RANGE = (1e-30, 1e15)


def _log10_volume(g: SegmentCurve, price: float, elasticity: float) -> float:
    return math.log10(g.reference_volume_m) + elasticity * math.log10(price / g.reference_price)


def _check_volumes(s: Scenario, segs: Sequence[SegmentCurve]) -> None:
    """Refuse a view whose demand curves leave :data:`VOLUME_RANGE` at one of its prices.

    Raises:
        ScenarioError: naming the segment, the price and the volume (as a power of ten).
    """
    lo, hi = (math.log10(v) for v in VOLUME_RANGE)
    prices = sorted(
        {s.price_floor, s.price_ceiling, s.price_per_m}
        | ({s.tornado_price} if s.tornado_price > 0 else set())
    )
    for g in segs:
        for p in prices:
            for e in (g.ci_low, g.elasticity, g.ci_high):
                v = _log10_volume(g, p, e)
                if lo <= v <= hi:
                    continue
                raise ScenarioError(
                    f"segment {g.name!r}: its demand curve ({g.reference_volume_m:,.4g} M "
                    f"tokens a month at ${g.reference_price:.4g}, elasticity {g.ci_low:.4g} "
                    f"to {g.ci_high:.4g}) gives about 1e{v:+.0f} M tokens a month at "
                    f"${p:.4g}, outside {VOLUME_RANGE[0]:g} to {VOLUME_RANGE[1]:g}: the "
                    "numbers would be meaningless. Check its reference price and "
                    "elasticity, or bring the price, floor and ceiling closer to its "
                    "reference price"
                )


def scenario_model(
    s: Scenario,
    *,
    elasticity_factor: float = 1.0,
    volume_factor: float = 1.0,
    tickets_factor: float = 1.0,
) -> DemandModel:
    """The scenario's demand model: its segments with the elasticities the page shows and
    unit costs from its cost model (factors scale every segment, for sensitivity)."""
    segs = []
    try:  # a plain ValueError of the model (a unit cost past its cap …) is the inputs' fault
        for g in s.segments:
            e, lo, hi = (elasticity_factor * x for x in s.used_elasticity(g))
            lo, hi = min(lo, hi), max(lo, hi)
            costs = s.segment_costs(g)
            segs.append(
                SegmentCurve(
                    name=g.name,
                    reference_price=g.reference_price,
                    reference_volume_m=g.reference_volume_m * volume_factor,
                    elasticity=e,
                    ci_low=lo,
                    ci_high=hi,
                    unit_cost=costs.unit_cost_per_million(g.tickets_per_million * tickets_factor),
                )
            )
        _check_volumes(s, segs)
        return DemandModel(tuple(segs), s.fixed_cost_per_month)
    except ScenarioError:
        raise
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None


@dataclass(frozen=True)
class ScenarioResult:
    """What the what-if page shows for one scenario.

    Attributes:
        scenario: the inputs; model: the demand model every number uses.
        price_now: today's blended price of the view (Σ p0·V0 / Σ V0).
        elasticity_now, elasticity_now_ci: the (implied aggregate) elasticity at today's
            price and its 95 % interval.
        elasticity, elasticity_ci: the same at the scenario's price.
        gpu_cost_per_m, support_cost_per_m, unit_cost: variable cost per 1M tokens at the
            scenario's price (support and the total weighted by the segments' volumes there).
        volume_m, revenue, variable_cost, profit: at the scenario's price, per month (profit
            after fixed costs).
        profit_now: profit at today's price.
        contribution_per_m: p − c; contribution_margin: (p − c)/p.
        break_even_volume_m: F/(p − c) in millions of tokens (inf when p ≤ c).
        break_even_low, break_even_high: the lowest and highest price with zero profit
            (None where there is none; ``break_even_note`` says why).
        optimum: the profit-maximising price within [price_floor, price_ceiling].
        spread: the optimum's range across the elasticity interval and its Monte Carlo
            distribution.
        price_for_target_margin: lowest price with the target contribution margin.
        target_profit_prices: (lower, upper) prices with the target profit (None where none).
        warnings: plain-English cautions a manager must read with the numbers.
        curve: revenue, cost and profit over [price_floor, price_ceiling].
    """

    scenario: Scenario
    model: DemandModel
    price_now: float
    elasticity_now: float
    elasticity_now_ci: tuple[float, float]
    elasticity: float
    elasticity_ci: tuple[float, float]
    gpu_cost_per_m: float
    support_cost_per_m: float
    unit_cost: float
    volume_m: float
    revenue: float
    variable_cost: float
    profit: float
    profit_now: float
    contribution_per_m: float
    contribution_margin: float
    break_even_volume_m: float
    break_even_low: float | None
    break_even_high: float | None
    break_even_note: str
    optimum: BusinessOptimum
    spread: OptimumSpread
    price_for_target_margin: float | None
    target_profit_prices: tuple[float | None, float | None]
    warnings: tuple[str, ...]
    curve: ProfitCurve

    def summary(self) -> dict[str, float]:
        """The headline figures by name (NaN where a figure does not exist)."""
        nan = float("nan")

        def v(x: float | None) -> float:
            return nan if x is None else float(x)

        return {
            "elasticity": self.elasticity,
            "unit_cost": self.unit_cost,
            "gpu_cost_per_m": self.gpu_cost_per_m,
            "support_cost_per_m": self.support_cost_per_m,
            "volume_m": self.volume_m,
            "revenue": self.revenue,
            "profit": self.profit,
            "contribution_margin": self.contribution_margin,
            "break_even_volume_m": self.break_even_volume_m,
            "break_even_low": v(self.break_even_low),
            "break_even_high": v(self.break_even_high),
            "optimal_price": self.optimum.price,
            "optimal_profit": self.optimum.profit,
            "optimal_price_low": self.spread.low,
            "optimal_price_high": self.spread.high,
            "price_for_target_margin": v(self.price_for_target_margin),
            "price_for_target_profit": v(self.target_profit_prices[0]),
        }


def _break_even(model: DemandModel) -> tuple[float | None, float | None, str]:
    """Lowest price where profit turns positive and highest where it turns negative again."""
    roots = profit_roots(model, 0.0)
    lo_p, hi_p = model.search_range()
    if not roots:
        if float(model.profit(model.price_now)) < 0:
            return None, None, "no price covers the costs: profit is negative at every price"
        return None, None, "profit is positive at every price searched"
    low = roots[0] if float(model.profit(roots[0] * 1.0001)) > 0 else None
    high = roots[-1] if float(model.profit(roots[-1] * 0.9999)) > 0 else None
    note = ""
    if high is None:
        note = (
            "no upper break-even: profit stays positive as the price rises (demand this "
            "inelastic keeps revenue growing)"
        )
    return low, high, note


def _price_for_margin(model: DemandModel, margin: float) -> float | None:
    """Lowest price with contribution margin (p − c(p))/p = ``margin`` (c(p): volume-weighted)."""
    lo, hi = model.search_range()
    grid = np.geomspace(lo, hi, 4_001)
    gap = 1.0 - model.unit_cost(grid) / grid - margin
    idx = np.nonzero(np.sign(gap[:-1]) * np.sign(gap[1:]) <= 0)[0]
    if idx.size == 0:
        return None
    from scipy.optimize import brentq

    i = int(idx[0])
    if gap[i] == 0:
        return float(grid[i])
    return float(
        brentq(
            lambda p: 1.0 - float(model.unit_cost(p)) / p - margin,
            grid[i],
            grid[i + 1],
            xtol=1e-14,
            rtol=1e-13,
        )
    )


def _target_prices(model: DemandModel, target: float) -> tuple[float | None, float | None]:
    roots = profit_roots(model, target)
    if not roots:
        return None, None
    low = roots[0] if float(model.profit(roots[0] * 1.0001)) > target else None
    high = roots[-1] if float(model.profit(roots[-1] * 0.9999)) > target else None
    return low, high


def _warnings(
    s: Scenario,
    model: DemandModel,
    best: BusinessOptimum,
    spread: OptimumSpread,
    high: float | None,
) -> tuple[str, ...]:
    out = []
    if spread.interval_crosses_minus_one:
        names = [g.name for g in model.segments if g.ci_high >= -1.0]
        out.append(
            "The elasticity interval of " + ", ".join(names) + " reaches −1 or above: "
            "demand may be inelastic, where profit keeps rising with the price and only "
            "the price ceiling stops the optimum."
        )
    if best.at_bound:
        out.append(
            f"The optimum sits on the price {best.at_bound} (${getattr(best, best.at_bound):,.3f}"
            "): the best price may lie beyond the range you set."
        )
    seen = s.observed_price_range
    if seen and not seen[0] <= best.price <= seen[1]:
        out.append(
            f"The optimum ${best.price:,.3f} lies outside the prices we have observed "
            f"(${seen[0]:,.2f}–${seen[1]:,.2f}): the demand curve is extrapolated there."
        )
    if seen and high is not None and high > seen[1]:
        out.append(
            f"The upper break-even ${high:,.2f} is an extrapolation "
            f"({high / seen[1]:,.0f}× the highest price observed); do not rely on it."
        )
    if s.pressure_lever:
        out.append(
            "The competitor-pressure lever is on: elasticities include the measured "
            "mention shift (a what-if, not the fitted values)."
        )
    return tuple(out)


def evaluate_scenario(s: Scenario) -> ScenarioResult:
    """Profit at the price, the optimum within the range and its spread, break-even prices,
    goal seeks, warnings and the profit curve.

    Raises:
        ScenarioError: when the inputs define no demand model.
    """
    model = scenario_model(s)
    p = s.price_per_m
    q = float(model.volume(p))
    c = float(model.unit_cost(p))
    gpu = (
        sum(
            s.segment_costs(g).gpu_cost_per_million * float(m.volume(p))
            for g, m in zip(s.segments, model.segments, strict=True)
        )
        / q
    )
    best = constrained_optimum(model, s.price_floor, s.price_ceiling)
    spread = optimum_spread(
        model, s.price_floor, s.price_ceiling, draws=min(OPTIMUM_DRAWS, s.mc_draws), seed=s.mc_seed
    )
    be_low, be_high, be_note = _break_even(model)
    now = model.price_now
    grid = np.linspace(s.price_floor, s.price_ceiling, s.curve_points)
    vol = model.volume(grid)
    vc = model.variable_cost(grid)
    curve = ProfitCurve(
        price=grid,
        quantity=vol,
        revenue=grid * vol,
        variable_cost=vc,
        total_cost=vc + s.fixed_cost_per_month,
        profit=grid * vol - vc - s.fixed_cost_per_month,
    )
    f = s.fixed_cost_per_month
    shown = {
        "volume": q,
        "unit cost": c,
        "GPU cost": gpu,
        "profit": (p - c) * q - f,
        "profit today": float(model.profit(now)),
        "optimal profit": best.profit,
        "elasticity": float(model.elasticity_at(p)),
        "elasticity today": float(model.elasticity_at(now)),
        "profit curve": float(np.sum(curve.profit)),
    }
    if bad := [k for k, v in shown.items() if not math.isfinite(v)]:
        raise ScenarioError(
            f"these inputs give no finite {', '.join(bad)}: the demand "
            "curve overflows in the price range; bring the price, floor and "
            "ceiling closer to the reference prices"
        )
    return ScenarioResult(
        scenario=s,
        model=model,
        price_now=now,
        elasticity_now=float(model.elasticity_at(now)),
        elasticity_now_ci=model.elasticity_ci_at(now),
        elasticity=float(model.elasticity_at(p)),
        elasticity_ci=model.elasticity_ci_at(p),
        gpu_cost_per_m=gpu,
        support_cost_per_m=c - gpu,
        unit_cost=c,
        volume_m=q,
        revenue=p * q,
        variable_cost=c * q,
        profit=(p - c) * q - f,
        profit_now=float(model.profit(now)),
        contribution_per_m=p - c,
        contribution_margin=float(contribution_margin_ratio(p, c)),
        break_even_volume_m=(f / (p - c) if p > c else math.inf) if f > 0 else 0.0,
        break_even_low=be_low,
        break_even_high=be_high,
        break_even_note=be_note,
        optimum=best,
        spread=spread,
        price_for_target_margin=_price_for_margin(model, s.target_margin),
        target_profit_prices=_target_prices(model, s.target_profit),
        warnings=_warnings(s, model, best, spread, be_high),
        curve=curve,
    )


def evaluate_profit(s: Scenario, price: float | None = None) -> float:
    """Monthly profit after fixed costs at ``price`` (default the scenario's)."""
    return float(scenario_model(s).profit(s.price_per_m if price is None else price))
