"""Evaluate a ``Scenario`` into every number the what-if and scenario pages show.

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

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

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
from analytics.montecarlo import MonteCarloResult, simulate_model_profit
from analytics.optimize import ProfitCurve, contribution_margin_ratio
from analytics.scenario import Scenario, scenario_inputs_frame
from analytics.sensitivity import tornado

__all__ = [
    "TORNADO_INPUTS",
    "VOLUME_RANGE",
    "ScenarioResult",
    "compare_scenarios",
    "data_table",
    "evaluate_profit",
    "evaluate_scenario",
    "scenario_model",
    "scenario_monte_carlo",
    "scenario_tornado",
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


# -- sensitivity ------------------------------------------------------------------------

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


def compare_scenarios(
    scenarios: Sequence[Scenario], *, baseline: int = 0, only_differences: bool = False
) -> pd.DataFrame:
    """Inputs and headline results of several scenarios side by side, with differences.

    Returns:
        One row per input or result (index ``item``, column ``kind`` "input"/"result"),
        one column per scenario, and for every other scenario a column
        ``Δ <name>`` = its value − the baseline's (numbers only). With
        ``only_differences`` rows where all scenarios agree are dropped.

    Example:
        >>> t = compare_scenarios([Scenario(name="a"), Scenario(name="b", price_per_m=1.25)])
        >>> float(t.loc["price_per_m", "Δ b"])
        0.25
    """
    if not scenarios:
        raise ScenarioError("nothing to compare")
    inputs = scenario_inputs_frame(scenarios)
    names = list(inputs.columns)
    results = pd.DataFrame(
        {n: evaluate_scenario(s).summary() for n, s in zip(names, scenarios, strict=True)}
    )
    results = results.astype(object).apply(
        lambda col: [_result_cell(item, v) for item, v in zip(results.index, col, strict=True)]
    )
    table = pd.concat([inputs.assign(kind="input"), results.assign(kind="result")])
    table.index.name = "item"
    base = names[baseline]
    for n in names:
        if n == base:
            continue
        a = pd.to_numeric(table[n], errors="coerce")
        b = pd.to_numeric(table[base], errors="coerce")
        numeric = table[n].map(_is_number) & table[base].map(_is_number)
        table[f"Δ {n}"] = (a - b).where(numeric)
    if only_differences:
        same = table[names].astype(str).nunique(axis=1) <= 1
        table = table[~same]
    return table[["kind", *[c for c in table.columns if c != "kind"]]]


#: What the comparison shows instead of a result that does not exist (NaN in ``summary``)
#: or is unbounded (inf): a manager reads a sentence, never "nan" or "inf".
RESULT_NOTES: dict[str, str] = {
    "break_even_volume_m": "none: the price does not cover the unit cost",
    "break_even_low": "none: no price covers the costs",
    "break_even_high": "none: profit stays positive as the price rises",
    "price_for_target_margin": "none in the prices searched",
    "price_for_target_profit": "none in the prices searched",
}


def _result_cell(item: object, value: object) -> object:
    """A result of the comparison: the number, or a note where it is not a finite number."""
    if isinstance(value, int | float | np.floating) and not math.isfinite(float(value)):
        return RESULT_NOTES.get(str(item), "none")
    return value


def _is_number(v: object) -> bool:
    return (
        isinstance(v, int | float | np.floating | np.integer)
        and not isinstance(v, bool)
        and math.isfinite(float(v))
    )


def segment_table(s: Scenario) -> pd.DataFrame:
    """Each segment of the scenario on its own: its curve, unit cost, today's contribution
    and its optimum within the scenario's price range with the range across its elasticity
    interval. Contributions are before fixed costs (company-wide), USD per month.

    Columns: ``segment``, ``price_now``, ``volume_m``, ``elasticity``, ``ci_low``,
    ``ci_high``, ``unit_cost``, ``contribution_now``, ``optimal_price``, ``optimal_low``,
    ``optimal_high``, ``at_bound``, ``contribution_at_optimum``, ``gain``, ``note``.
    """
    model = scenario_model(s)
    rows = []
    for seg in model.segments:
        one = DemandModel((seg,), 0.0)
        best = constrained_optimum(one, s.price_floor, s.price_ceiling)
        spread = optimum_spread(one, s.price_floor, s.price_ceiling, draws=200, seed=s.mc_seed)
        now = (seg.reference_price - seg.unit_cost) * seg.reference_volume_m
        note = ""
        if seg.elasticity >= -1:
            note = "inelastic (|ε| ≤ 1): profit rises with the price up to the ceiling"
        elif seg.ci_high >= -1:
            note = "interval reaches −1: the optimum may be unbounded"
        rows.append(
            {
                "segment": seg.name,
                "price_now": seg.reference_price,
                "volume_m": seg.reference_volume_m,
                "elasticity": seg.elasticity,
                "ci_low": seg.ci_low,
                "ci_high": seg.ci_high,
                "unit_cost": seg.unit_cost,
                "contribution_now": now,
                "optimal_price": best.price,
                "optimal_low": spread.low,
                "optimal_high": spread.high,
                "at_bound": best.at_bound or "",
                "contribution_at_optimum": best.profit,
                "gain": best.profit - now,
                "note": note,
            }
        )
    return pd.DataFrame(rows)
