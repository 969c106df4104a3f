"""The price war of a scenario: today's market calibrated, a rival's cut, our answers.

The logit market starts from the market as it is today (calibrate, then perturb):

* α, the price sensitivity, comes from the elasticity the Pricing page shows (the implied
  aggregate one for "All customers") at today's price and our share: α = −ε / (p·(1 − s));
* qualities are inverted from today's shares at today's list prices (Berry), so the model's
  shares at today's prices are the observed ones;
* rivals' marginal costs are implied by their first-order conditions, so their list prices
  are their best responses; a rival whose list price no positive cost could justify keeps
  its price (and the page says so);
* our cost is our cost model's unit cost, and today we are at today's price (we are not
  assumed to be optimal: the "best response" strategy shows where we would go).

A cut is applied to the rival's *list* price. Profits are contributions (before our fixed
costs), USD per month; volumes are millions of tokens per month.

Example:
    >>> from analytics.scenario import Scenario
    >>> from analytics.scenario_parts import Competitor
    >>> s = Scenario(price_per_m=1.0, competitors=(Competitor("rival", 0.9, 0.3),),
    ...              cut_competitor="rival", cut_pct=20)
    >>> war = evaluate_price_war(s)
    >>> [round(float(p), 6) for p in war.before.prices]
    [1.0, 0.9]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.competition import (
    CalibratedMarket,
    EquilibriumResult,
    StrategyComparison,
    alpha_from_elasticity,
    calibrate_market,
    compare_strategies,
    largest_absorbable_cut,
    logit_nash_equilibrium,
)
from analytics.errors import ScenarioError
from analytics.evaluate import scenario_model
from analytics.scenario import Scenario

__all__ = ["US", "PriceWarResult", "cut_price_table", "evaluate_price_war", "price_war_market"]

US = "us"


def price_war_market(s: Scenario) -> CalibratedMarket:
    """Today's logit market of a scenario (see module).

    Raises:
        ScenarioError: no competitors, or inputs that define no market.
    """
    if not s.competitors:
        raise ScenarioError("add at least one competitor to model a price war")
    model = scenario_model(s)
    price = model.price_now
    elasticity = float(model.elasticity_at(price))
    if not elasticity < 0:
        raise ScenarioError("the elasticity must be negative for a price war model")
    alpha = alpha_from_elasticity(elasticity, price, s.our_share)
    volume = float(model.volume(price))
    try:
        return calibrate_market(
            [price, *[c.price for c in s.competitors]],
            [s.our_share, *[c.share for c in s.competitors]],
            alpha,
            names=[US, *[c.name for c in s.competitors]],
            market_size=volume / s.our_share,
            known_costs={US: float(model.unit_cost(price))},
        )
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None


@dataclass(frozen=True)
class PriceWarResult:
    """What the price-war page shows.

    Attributes:
        market: today's calibrated market (names, list prices, shares, qualities, costs).
        elasticity: the elasticity that set α (at today's price).
        before: today's market as an equilibrium (reproduces the list prices and shares).
        best_today: where we would go without any cut (we re-optimise, rivals answer).
        strategies: our answers after the cut (None when no competitor cuts).
        cut_table: per firm before and after the cut when we best-respond (None without a
            cut).
        absorbable_cut_pct: the largest cut of the rival's list price after which our best
            response still covers our fixed costs (None when we lose money even without a
            cut; the maximum searched when every cut is absorbed).
    """

    market: CalibratedMarket
    elasticity: float
    before: EquilibriumResult
    best_today: EquilibriumResult
    strategies: StrategyComparison | None
    cut_table: pd.DataFrame | None
    absorbable_cut_pct: float | None


def _holds(m: CalibratedMarket) -> dict[int | str, float]:
    return {i: float(m.prices[i]) for i in range(len(m.names)) if m.holds[i] and m.names[i] != US}


def evaluate_price_war(s: Scenario) -> PriceWarResult:
    """Today's market, our best response without a cut, and our strategies after the cut.

    Raises:
        ScenarioError: no competitors, or inputs that define no market.
        EquilibriumNotConvergedError: when best response does not converge.
    """
    m = price_war_market(s)
    holds = _holds(m)
    today = {**holds, US: float(m.prices[0])}
    common = {"names": m.names, "market_size": m.market_size}
    before = logit_nash_equilibrium(
        m.costs, m.qualities, m.alpha, fixed_prices=today, start=m.prices, **common
    )
    best_today = logit_nash_equilibrium(
        m.costs, m.qualities, m.alpha, fixed_prices=holds, start=m.prices, **common
    )
    strategies = cut_table = absorbable = None
    if s.cut_competitor:
        strategies = compare_strategies(
            m.costs,
            m.qualities,
            m.alpha,
            competitor=s.cut_competitor,
            cut_pct=s.cut_pct,
            ours=US,
            quality_step=s.quality_step,
            quality_cost=s.quality_cost,
            niche_alpha_factor=s.niche_alpha_factor,
            niche_market_share=s.niche_market_share,
            fixed_prices=today,
            list_prices=m.prices,
            start=m.prices,
            **common,
        )
        after = strategies.results["best response"]
        cut_table = pd.DataFrame(
            {
                "firm": list(m.names),
                "list_price": m.prices,
                "price_before": before.prices,
                "price_after": after.prices,
                "price_change_pct": (after.prices / before.prices - 1) * 100,
                "share_before": before.shares,
                "share_after": after.shares,
                "profit_before": before.profits,
                "profit_after": after.profits,
                "profit_change": after.profits - before.profits,
                "holds_price": m.holds,
            }
        )
        absorbable = largest_absorbable_cut(
            m, competitor=s.cut_competitor, ours=US, fixed_cost=s.fixed_cost_per_month
        )
    return PriceWarResult(
        market=m,
        elasticity=float(scenario_model(s).elasticity_at(m.prices[0])),
        before=before,
        best_today=best_today,
        strategies=strategies,
        cut_table=cut_table,
        absorbable_cut_pct=absorbable,
    )


def cut_price_table(
    s: Scenario, cuts_pct: Sequence[float], our_prices: Sequence[float]
) -> pd.DataFrame:
    """Data table: our monthly contribution (before fixed costs) for every rival cut
    (rows, percent of its list price) and price we hold (columns); the other rivals
    re-optimise, rivals that hold keep their list prices.

    Raises:
        ScenarioError: without a competitor that cuts.
    """
    if not s.cut_competitor:
        raise ScenarioError("choose the competitor that cuts")
    m = price_war_market(s)
    x = list(m.names).index(s.cut_competitor)
    holds = _holds(m)
    grid = np.full((len(cuts_pct), len(our_prices)), np.nan)
    for i, cut in enumerate(cuts_pct):
        start = m.prices.copy()
        for j, p in enumerate(our_prices):
            eq = logit_nash_equilibrium(
                m.costs,
                m.qualities,
                m.alpha,
                names=m.names,
                market_size=m.market_size,
                fixed_prices={
                    **holds,
                    x: float(m.prices[x]) * (1 - float(cut) / 100.0),
                    US: float(p),
                },
                start=start,
                raise_on_failure=False,
            )
            if eq.converged:
                grid[i, j] = float(eq.profits[0])
                start = eq.prices
    return pd.DataFrame(
        grid,
        index=pd.Index([float(c) for c in cuts_pct], name="cut_pct"),
        columns=pd.Index([float(p) for p in our_prices], name="our_price"),
    )
