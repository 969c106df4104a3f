"""Composed numbers tested against what the demo knows to be true, and the price war's
calibration against the market it starts from."""

from __future__ import annotations

import numpy as np
import pytest

from analytics import default_scenario, evaluate_scenario
from analytics.scenario import Scenario
from analytics.scenario_parts import Competitor, DemandSegment
from analytics.scenario_tables import segment_table
from analytics.war import US, cut_price_table, evaluate_price_war, price_war_market
from data.demo import TRUE_ELASTICITY


@pytest.fixture(scope="module")
def everyone(demo_store) -> Scenario:
    return default_scenario(demo_store, None, model_id="gold")


def test_every_segment_interval_holds_the_true_elasticity(everyone: Scenario) -> None:
    assert {g.name for g in everyone.segments} == set(TRUE_ELASTICITY)
    for g in everyone.segments:
        assert g.elasticity_ci_low <= TRUE_ELASTICITY[g.name] <= g.elasticity_ci_high, g


def test_all_customers_is_the_sum_of_the_segments(everyone: Scenario) -> None:
    r = evaluate_scenario(everyone)
    # the true aggregate elasticity at today's price, from the true segment elasticities
    v = np.array([g.reference_volume_m for g in everyone.segments])
    truth = float(np.sum([TRUE_ELASTICITY[g.name] for g in everyone.segments] * v) / v.sum())
    lo, hi = r.elasticity_now_ci
    assert lo <= truth <= hi
    assert -0.95 < r.elasticity_now < -0.75  # enterprise, 2/3 of tokens, is inelastic
    # the "all" curve is the sum of the segments' own curves, priced and costed alike
    segs = segment_table(everyone)
    p = 0.9
    total = (
        sum(
            (p - row.unit_cost) * row.volume_m * (p / row.price_now) ** row.elasticity
            for row in segs.itertuples()
        )
        - everyone.fixed_cost_per_month
    )
    assert float(r.model.profit(p)) == pytest.approx(total, rel=1e-12)
    # every segment in the view sits at its own today's price: today's volume is the sum
    assert float(r.model.volume(r.price_now)) == pytest.approx(v.sum(), rel=0.02)


def test_all_customers_optimum_under_the_truth(everyone: Scenario) -> None:
    """With the true elasticities the business optimum sits on the ceiling (enterprise is
    inelastic); the page says so instead of printing an interior number."""
    r = evaluate_scenario(everyone)
    true_segs = tuple(
        DemandSegment(
            g.name,
            g.reference_price,
            g.reference_volume_m,
            TRUE_ELASTICITY[g.name],
            TRUE_ELASTICITY[g.name] - 0.01,
            TRUE_ELASTICITY[g.name] + 0.01,
            g.tickets_per_million,
        )
        for g in everyone.segments
    )
    truth = evaluate_scenario(everyone.replace(segments=true_segs))
    assert truth.optimum.at_bound == r.optimum.at_bound == "ceiling"
    assert r.optimum.price == everyone.price_ceiling
    assert any("inelastic" in w for w in r.warnings)
    assert r.spread.interval_crosses_minus_one


@pytest.mark.parametrize("segment", ["developer", "smb"])
def test_elastic_segment_optimum_range_holds_the_true_optimum(demo_store, segment) -> None:
    s = default_scenario(demo_store, segment, model_id="gold")
    r = evaluate_scenario(s)
    c = r.unit_cost
    e = TRUE_ELASTICITY[segment]
    true_optimum = min(max(c * e / (1 + e), s.price_floor), s.price_ceiling)
    assert r.spread.low <= true_optimum <= r.spread.high
    assert r.optimum.at_bound is None
    assert s.fixed_cost_per_month == 0.0  # fixed costs are company-wide


def test_inelastic_segment_has_break_even_and_a_bounded_optimum(demo_store) -> None:
    s = default_scenario(demo_store, "enterprise", model_id="gold").replace(
        fixed_cost_per_month=30_000.0
    )
    r = evaluate_scenario(s)
    assert r.break_even_low is not None and r.unit_cost < r.break_even_low < s.price_now
    assert float(r.model.profit(r.break_even_low)) == pytest.approx(0.0, abs=1e-6)
    assert r.optimum.at_bound == "ceiling"


def test_default_price_range_comes_from_observed_prices(everyone: Scenario) -> None:
    seen = everyone.observed_price_range
    rivals = [c.price for c in everyone.competitors]
    assert seen is not None
    assert everyone.price_floor == pytest.approx(round(0.8 * min(seen[0], *rivals), 4))
    assert everyone.price_ceiling == pytest.approx(round(1.25 * max(seen[1], *rivals), 4))
    assert everyone.price_floor < everyone.price_now < everyone.price_ceiling


def test_price_war_baseline_is_todays_market(everyone: Scenario) -> None:
    war = evaluate_price_war(everyone)
    m = war.market
    assert m.names[0] == US
    np.testing.assert_allclose(war.before.prices, m.prices, rtol=1e-9)
    np.testing.assert_allclose(
        war.before.prices[1:], [c.price for c in everyone.competitors], rtol=1e-9
    )
    assert war.before.prices[0] == pytest.approx(everyone.price_now, rel=1e-9)
    np.testing.assert_allclose(
        war.before.shares, [everyone.our_share, *[c.share for c in everyone.competitors]], rtol=1e-9
    )
    # our contribution today in the war model equals the Pricing page's contribution today
    r = evaluate_scenario(everyone)
    assert war.before.profits[0] == pytest.approx(
        r.profit_now + everyone.fixed_cost_per_month, rel=1e-6
    )


def test_the_cut_applies_to_the_list_price_and_our_share_recalibrates(everyone: Scenario) -> None:
    s = everyone.replace(cut_pct=50.0)
    war = evaluate_price_war(s)
    cutter = list(war.market.names).index(s.cut_competitor)
    after = war.strategies.results["best response"]
    assert after.prices[cutter] == pytest.approx(0.5 * war.market.prices[cutter], rel=1e-12)
    other = evaluate_price_war(
        s.replace(
            our_share=0.3,
            competitors=tuple(Competitor(c.name, c.price, c.share * 0.5) for c in s.competitors),
        )
    )
    assert other.before.shares[0] == pytest.approx(0.3, rel=1e-9)


def test_elastic_market_rivals_answer_the_cut(demo_store) -> None:
    s = default_scenario(demo_store, "developer", model_id="gold").replace(cut_pct=30.0)
    war = evaluate_price_war(s)
    assert not war.market.holds[1:].all()  # elastic demand: rivals' costs are implied
    implied = war.market.prices - 1 / (war.market.alpha * (1 - war.market.shares))
    free = ~war.market.holds
    np.testing.assert_allclose(war.market.costs[free], implied[free], rtol=1e-9)


def test_a_premium_rival_solves(everyone: Scenario) -> None:
    premium = Competitor("premium (GPT-4.5)", 67.5, 0.02)
    s = everyone.replace(competitors=(*everyone.competitors, premium))
    war = evaluate_price_war(s)
    assert war.before.converged and war.strategies is not None
    assert all(r.converged for r in war.strategies.results.values())
    assert war.before.prices[-1] == pytest.approx(67.5)


def test_rival_cut_by_our_price_table(everyone: Scenario) -> None:
    t = cut_price_table(everyone, [0, 20, 40], [0.5, 0.6])
    assert t.shape == (2 + 1, 2) and t.notna().all().all()
    # a deeper cut never helps us at the same price
    assert (t.diff().iloc[1:] <= 1e-6).all().all()
    # no cut and today's price: today's contribution
    today = cut_price_table(everyone, [0], [everyone.price_now]).iloc[0, 0]
    assert today == pytest.approx(evaluate_price_war(everyone).before.profits[0], rel=1e-6)


def test_price_war_refuses_bad_markets(everyone: Scenario) -> None:
    from analytics.errors import ScenarioError

    with pytest.raises(ScenarioError, match="competitor"):
        price_war_market(everyone.replace(competitors=(), cut_competitor=""))
    with pytest.raises(ScenarioError):
        everyone.replace(our_share=0.95)  # shares sum past 1
