"""Evaluate a ``Scenario`` into every number the what-if, price-war and scenario pages show.

Pages call these and draw the results; nothing here imports Streamlit.

Example:
    >>> from analytics.scenario import Scenario
    >>> r = evaluate_scenario(Scenario(price_per_m=1.0, elasticity=-2.0))
    >>> r.optimum is not None and r.optimum.price > r.unit_cost
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.competition import (
    EquilibriumResult,
    PriceCutResult,
    StrategyComparison,
    alpha_from_elasticity,
    compare_strategies,
    logit_nash_equilibrium,
    price_cut_scenario,
)
from analytics.costs import gpu_cost_per_million, support_cost_per_ticket
from analytics.demand import ConstantElasticityDemand
from analytics.errors import GoalNotReachableError, NoInteriorOptimumError, ScenarioError
from analytics.montecarlo import MonteCarloResult, simulate_profit
from analytics.optimize import (
    PriceOptimum,
    ProfitCurve,
    break_even_prices,
    break_even_volume,
    optimal_price,
    price_for_margin,
    price_for_profit,
    profit_curve,
)
from analytics.scenario import Scenario, scenario_inputs_frame
from analytics.sensitivity import profit_table, tornado


@dataclass(frozen=True)
class ScenarioResult:
    """What the what-if page shows for one scenario.

    Attributes:
        scenario: the inputs.
        elasticity: the effective elasticity used (after the mention-rate shift).
        gpu_cost_per_m, support_cost_per_m, unit_cost: variable cost per 1M tokens.
        demand: the constant-elasticity curve through the reference point.
        volume_m, revenue, variable_cost, profit: at the scenario's price, per month.
        contribution_per_m: p − c; contribution_margin: (p − c)/p;
        gross_margin: (revenue − variable cost)/revenue (same as contribution margin here).
        break_even_volume_m: F/(p − c) in millions of tokens (inf when p ≤ c).
        break_even_low, break_even_high: prices with zero profit (None with the reason in
            ``break_even_note`` when no price covers the fixed cost).
        optimum: the profit-maximising price (None with the reason in ``optimum_note``).
        price_for_target_margin: goal seek for ``target_margin``.
        price_for_target_profit: goal seek for ``target_profit`` (lower side; None with the
            reason in ``target_profit_note``).
        curve: revenue, cost and profit over [price_min, price_max].
    """

    scenario: Scenario
    elasticity: float
    gpu_cost_per_m: float
    support_cost_per_m: float
    unit_cost: float
    demand: ConstantElasticityDemand
    volume_m: float
    revenue: float
    variable_cost: float
    profit: float
    contribution_per_m: float
    contribution_margin: float
    break_even_volume_m: float
    break_even_low: float | None
    break_even_high: float | None
    break_even_note: str
    optimum: PriceOptimum | None
    optimum_note: str
    price_for_target_margin: float | None
    price_for_target_profit: float | None
    target_profit_note: str
    curve: ProfitCurve

    def summary(self) -> dict[str, float]:
        """The headline figures by name (NaN where a figure does not exist)."""
        nan = float("nan")
        o = self.optimum
        return {
            "elasticity": self.elasticity, "unit_cost": self.unit_cost,
            "gpu_cost_per_m": self.gpu_cost_per_m, "support_cost_per_m": self.support_cost_per_m,
            "volume_m": self.volume_m, "revenue": self.revenue, "profit": self.profit,
            "contribution_margin": self.contribution_margin,
            "break_even_volume_m": self.break_even_volume_m,
            "break_even_low": nan if self.break_even_low is None else self.break_even_low,
            "break_even_high": nan if self.break_even_high is None else self.break_even_high,
            "optimal_price": nan if o is None else o.price,
            "optimal_profit": nan if o is None else o.profit,
            "price_for_target_margin": (nan if self.price_for_target_margin is None
                                        else self.price_for_target_margin),
            "price_for_target_profit": (nan if self.price_for_target_profit is None
                                        else self.price_for_target_profit),
        }


def _unit_costs(s: Scenario) -> tuple[float, float]:
    gpu = float(gpu_cost_per_million(s.gpu_cost_per_hour, s.tokens_per_second, s.utilisation,
                                     s.cache_hit_rate, s.cached_token_cost_factor))
    support = s.tickets_per_million * float(support_cost_per_ticket(
        s.human_ticket_cost, s.ai_ticket_cost, s.ai_resolution_share))
    return gpu, support


def scenario_demand(s: Scenario) -> ConstantElasticityDemand:
    """Constant-elasticity demand through (reference price, reference volume) with the
    effective elasticity."""
    if s.reference_volume_m <= 0:
        raise ScenarioError("the reference volume must be > 0 to build a demand curve")
    return ConstantElasticityDemand.through(s.reference_price, s.reference_volume_m,
                                            s.effective_elasticity)


def evaluate_scenario(s: Scenario) -> ScenarioResult:
    """Profit at the price, optimum, break-even, margins, goal seek and the profit curve.

    Where a figure does not exist (no interior optimum with |ε| ≤ 1, no price covering the
    fixed costs, an unreachable profit target) it is None and its ``*_note`` says why.

    Raises:
        ScenarioError: when the reference volume is 0 (no demand curve to evaluate).
    """
    gpu, support = _unit_costs(s)
    c, f, p = gpu + support, s.fixed_cost_per_month, s.price_per_m
    demand = scenario_demand(s)
    q = float(demand.quantity(p))
    try:
        best = optimal_price(demand, c, f)
        optimum: PriceOptimum | None = best
        optimum_note = ("" if best.covers_fixed_cost else
                        "even the best price does not cover the fixed costs")
    except NoInteriorOptimumError as exc:
        optimum, optimum_note = None, str(exc)
    be_low = be_high = None
    be_note = ""
    target_price: float | None = None
    target_note = ""
    if optimum is None:
        be_note = target_note = "needs an interior optimum: " + optimum_note
    else:
        try:
            be_low, be_high = break_even_prices(demand, c, f)
        except GoalNotReachableError as exc:
            be_note = str(exc)
        try:
            target_price = price_for_profit(demand, c, f, s.target_profit, side="lower")
        except GoalNotReachableError as exc:
            target_note = str(exc)
    try:
        margin_price: float | None = price_for_margin(c, s.target_margin)
    except GoalNotReachableError:
        margin_price = None
    curve = profit_curve(demand, c, f, prices=np.linspace(s.price_min, s.price_max,
                                                          s.curve_points))
    return ScenarioResult(
        scenario=s, elasticity=s.effective_elasticity, gpu_cost_per_m=gpu,
        support_cost_per_m=support, unit_cost=c, demand=demand, volume_m=q, revenue=p * q,
        variable_cost=c * q, profit=(p - c) * q - f, contribution_per_m=p - c,
        contribution_margin=(p - c) / p, break_even_volume_m=break_even_volume(p, c, f),
        break_even_low=be_low, break_even_high=be_high, break_even_note=be_note,
        optimum=optimum, optimum_note=optimum_note, price_for_target_margin=margin_price,
        price_for_target_profit=target_price, target_profit_note=target_note, curve=curve)


#: Inputs the tornado varies, with their display labels.
TORNADO_INPUTS: dict[str, str] = {
    "price_per_m": "price", "elasticity": "elasticity",
    "reference_volume_m": "volume level", "gpu_cost_per_hour": "GPU $/hour",
    "tokens_per_second": "throughput", "utilisation": "utilisation",
    "cache_hit_rate": "cache-hit rate", "tickets_per_million": "tickets per 1M tokens",
    "human_ticket_cost": "human ticket cost", "ai_ticket_cost": "AI ticket cost",
    "ai_resolution_share": "AI resolution share", "fixed_cost_per_month": "fixed costs",
}
_INF = float("inf")
#: Valid ranges, so that a large ± % never produces an invalid scenario.
_BOUNDS = {"utilisation": (1e-9, 1.0), "cache_hit_rate": (0.0, 1.0),
           "ai_resolution_share": (0.0, 1.0), "price_per_m": (1e-9, _INF),
           "reference_volume_m": (1e-9, _INF), "tokens_per_second": (1e-9, _INF),
           "gpu_cost_per_hour": (0.0, _INF), "tickets_per_million": (0.0, _INF)}


def _profit_at(s: Scenario, **inputs: float) -> float:
    return evaluate_profit(s.replace(**inputs))


def evaluate_profit(s: Scenario) -> float:
    """Monthly profit at the scenario's price (the cheap part of ``evaluate_scenario``)."""
    gpu, support = _unit_costs(s)
    q = float(scenario_demand(s).quantity(s.price_per_m))
    return (s.price_per_m - gpu - support) * q - s.fixed_cost_per_month


def scenario_tornado(s: Scenario) -> pd.DataFrame:
    """Tornado of profit at the scenario's price: each input ± ``sensitivity_pct`` %.

    Columns as ``analytics.sensitivity.tornado``; inputs at zero have no bar (impact 0).
    """
    base = {k: getattr(s, k) for k in TORNADO_INPUTS}
    return tornado(lambda **kw: _profit_at(s, **kw), base, pct=s.sensitivity_pct / 100.0,
                   labels=TORNADO_INPUTS, bounds=_BOUNDS)


def scenario_profit_table(s: Scenario, *, prices: int = 12, costs: int = 9,
                          cost_range: float = 0.5) -> pd.DataFrame:
    """Two-way table of profit: price (columns, over [price_min, price_max]) × unit cost
    (rows, ± ``cost_range`` around the scenario's unit cost)."""
    gpu, support = _unit_costs(s)
    c = gpu + support
    return profit_table(scenario_demand(s), np.linspace(s.price_min, s.price_max, prices),
                        np.linspace(c * (1 - cost_range), c * (1 + cost_range), costs),
                        s.fixed_cost_per_month)


def scenario_monte_carlo(s: Scenario) -> MonteCarloResult:
    """Monte Carlo of profit at the scenario's price (elasticity within its interval, GPU
    cost and volume uncertain), reproducible by ``mc_seed``."""
    gpu, support = _unit_costs(s)
    return simulate_profit(
        price=s.price_per_m, reference_price=s.reference_price,
        reference_volume=s.reference_volume_m, elasticity=s.effective_elasticity,
        elasticity_ci=s.effective_elasticity_ci, gpu_cost=gpu, other_unit_cost=support,
        fixed_cost=s.fixed_cost_per_month, gpu_cost_sd=s.gpu_cost_sd, volume_sd=s.volume_sd,
        draws=s.mc_draws, seed=s.mc_seed)


@dataclass(frozen=True)
class PriceWarResult:
    """What the price-war page shows.

    Attributes:
        alpha: logit price sensitivity implied by the effective elasticity at our price.
        market_size_m: whole market (all options) in millions of tokens per month.
        equilibrium: the equilibrium with everyone optimising (before any cut).
        cut: the price-cut scenario (None when no competitor cuts).
        strategies: our strategies after the cut (None when no competitor cuts).
    """

    alpha: float
    market_size_m: float
    equilibrium: EquilibriumResult
    cut: PriceCutResult | None
    strategies: StrategyComparison | None


US = "us"


@dataclass(frozen=True)
class LogitMarket:
    """The logit market of a scenario: firm names (us first), unit costs, quality terms,
    price sensitivity α and market size (millions of tokens per month)."""

    names: list[str]
    costs: list[float]
    qualities: list[float]
    alpha: float
    market_size: float


def price_war_inputs(s: Scenario) -> LogitMarket:
    """The logit market of a scenario (α from the effective elasticity at our price and
    share: α = −ε/(p(1 − s)); market size = our volume ÷ our share)."""
    if not s.competitors:
        raise ScenarioError("add at least one competitor to model a price war")
    if s.our_share <= 0:
        raise ScenarioError("our market share must be > 0 to size the market")
    gpu, support = _unit_costs(s)
    e = s.effective_elasticity
    if e >= 0:
        raise ScenarioError("the elasticity must be negative for a price war model")
    alpha = alpha_from_elasticity(e, s.price_per_m, s.our_share)
    names = [US, *[c.name for c in s.competitors]]
    if len(set(names)) != len(names):
        raise ScenarioError("competitor names must be unique and not 'us'")
    return LogitMarket(names=names,
                       costs=[gpu + support, *[c.unit_cost for c in s.competitors]],
                       qualities=[s.our_quality, *[c.quality for c in s.competitors]],
                       alpha=alpha, market_size=s.reference_volume_m / s.our_share)


def evaluate_price_war(s: Scenario) -> PriceWarResult:
    """Equilibrium, the competitor's cut and our strategies for a scenario.

    Profits in the result are contributions (before our fixed costs), USD per month.

    Raises:
        ScenarioError: no competitors, or inputs that define no market.
        EquilibriumNotConvergedError: when best response does not converge.
    """
    m = price_war_inputs(s)
    eq = logit_nash_equilibrium(m.costs, m.qualities, m.alpha, names=m.names,
                                market_size=m.market_size)
    cut = strategies = None
    if s.cut_competitor:
        cut = price_cut_scenario(m.costs, m.qualities, m.alpha, names=m.names,
                                 market_size=m.market_size, competitor=s.cut_competitor,
                                 cut_pct=s.cut_pct)
        strategies = compare_strategies(
            m.costs, m.qualities, m.alpha, names=m.names,
            market_size=m.market_size, competitor=s.cut_competitor, cut_pct=s.cut_pct,
            ours=US, quality_step=s.quality_step, quality_cost=s.quality_cost,
            niche_alpha_factor=s.niche_alpha_factor, niche_market_share=s.niche_market_share)
    return PriceWarResult(alpha=m.alpha, market_size_m=m.market_size,
                          equilibrium=eq, cut=cut, strategies=strategies)


def compare_scenarios(scenarios: Sequence[Scenario], *, baseline: int = 0,
                      only_differences: bool = False) -> pd.DataFrame:
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
    results = pd.DataFrame({n: evaluate_scenario(s).summary() for n, s in zip(names, scenarios,
                                                                              strict=True)})
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


def _is_number(v: object) -> bool:
    return isinstance(v, int | float | np.floating | np.integer) and not isinstance(v, bool) \
        and math.isfinite(float(v))
