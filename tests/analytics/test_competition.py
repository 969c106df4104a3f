"""Logit Bertrand–Nash equilibrium, price cuts and strategies."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from analytics import (
    EquilibriumNotConvergedError,
    compare_strategies,
    logit_nash_equilibrium,
    logit_shares,
    price_cut_scenario,
)
from analytics.competition import (
    CUT_TABLE_LABELS,
    STRATEGY_COLUMN_LABELS,
    CalibratedMarket,
    PriceCutResult,
    alpha_from_elasticity,
    best_response,
    calibrate_market,
    calibrate_qualities,
    implied_costs,
    largest_absorbable_cut,
)
from analytics.demand import LogitDemand


def _cut(market: CalibratedMarket, competitor: str, cut_pct: float) -> PriceCutResult:
    """``price_cut_scenario`` on a calibrated market: the cut applies to the competitor's
    list price; holding firms (ours included) keep their list prices in both states."""
    return price_cut_scenario(
        market.costs,
        market.qualities,
        market.alpha,
        names=market.names,
        market_size=market.market_size,
        competitor=competitor,
        cut_pct=cut_pct,
        list_prices=market.prices,
        fixed_prices=market.fixed_prices,
        start=market.prices,
    )


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 6),
    alpha=st.floats(0.2, 10.0),
    data=st.data(),
)
def test_equilibrium_satisfies_markup_rule(n: int, alpha: float, data: st.DataObject) -> None:
    costs = data.draw(st.lists(st.floats(0.0, 5.0), min_size=n, max_size=n))
    quals = data.draw(st.lists(st.floats(-3.0, 6.0), min_size=n, max_size=n))
    eq = logit_nash_equilibrium(costs, quals, alpha)
    assert eq.converged
    np.testing.assert_allclose(
        eq.prices, np.asarray(costs) + 1 / (alpha * (1 - eq.shares)), rtol=1e-9, atol=1e-9
    )
    np.testing.assert_allclose(eq.shares, logit_shares(eq.prices, quals, alpha))
    assert eq.outside_share == pytest.approx(1 - eq.shares.sum())


def test_no_firm_gains_by_deviating() -> None:
    c, q, a = [0.3, 0.5, 0.4], [1.0, 1.5, 1.2], 2.0
    eq = logit_nash_equilibrium(c, q, a, market_size=100)
    for j in range(3):
        for dp in (-0.01, 0.01):
            p = eq.prices.copy()
            p[j] += dp
            s = logit_shares(p, q, a)
            assert 100 * (p[j] - c[j]) * s[j] < eq.profits[j]
    np.testing.assert_allclose(best_response(eq.prices, c, q, a), eq.prices, atol=1e-10)


def test_non_convergence_is_reported_not_silent() -> None:
    with pytest.raises(EquilibriumNotConvergedError) as info:
        logit_nash_equilibrium([0.3, 0.5], [1.0, 1.5], 2.0, max_iter=2, damping=0.1)
    assert info.value.iterations == 2 and info.value.max_change > 0
    assert "did not converge" in str(info.value)
    flagged = logit_nash_equilibrium(
        [0.3, 0.5], [1.0, 1.5], 2.0, max_iter=2, damping=0.1, raise_on_failure=False
    )
    assert not flagged.converged and flagged.max_residual > 0


def test_fixed_price_and_names() -> None:
    eq = logit_nash_equilibrium(
        [0.3, 0.5], [1.0, 1.5], 2.0, names=["us", "them"], fixed_prices={"them": 0.6}
    )
    assert eq.prices[1] == 0.6 and eq.fixed.tolist() == [False, True]
    assert eq.prices[0] == pytest.approx(0.3 + 1 / (2.0 * (1 - eq.shares[0])))
    with pytest.raises(KeyError):
        logit_nash_equilibrium([0.3], [1.0], 2.0, names=["us"], fixed_prices={"x": 1.0})


def test_price_cut_lowers_rivals_prices_and_our_profit() -> None:
    r = price_cut_scenario(
        [0.3, 0.3, 0.4],
        [1, 1, 1.2],
        2.0,
        competitor="rival",
        cut_pct=20,
        names=["us", "rival", "other"],
    )
    t = r.table.set_index("firm")
    assert t.loc["rival", "price_after"] == pytest.approx(0.8 * t.loc["rival", "price_before"])
    assert t.loc["us", "price_after"] < t.loc["us", "price_before"]  # strategic complements
    assert t.loc["us", "profit_after"] < t.loc["us", "profit_before"]


def test_strategies_side_by_side() -> None:
    cmp = compare_strategies(
        [0.3, 0.3, 0.4],
        [1, 1, 1.2],
        2.0,
        competitor=1,
        cut_pct=20,
        names=["us", "rival", "other"],
        quality_step=0.5,
    )
    t = cmp.table.set_index("strategy")
    assert list(t.index) == ["hold", "match", "best response", "differentiate", "niche"]
    # best response: our price satisfies the markup rule against the others' new prices
    br = cmp.results["best response"]
    assert br.prices[0] == pytest.approx(0.3 + 1 / (2.0 * (1 - br.shares[0])))
    # matching a deep cut is worse than re-optimising here
    assert t.loc["best response", "our_profit"] > t.loc["match", "our_profit"]
    # free quality is worth having
    assert t.loc["differentiate", "our_profit"] > t.loc["best response", "our_profit"]
    assert t.loc["hold", "our_price"] == pytest.approx(cmp.before.prices[0])
    np.testing.assert_allclose(t["competitor_price"], 0.8 * cmp.before.prices[1])
    with pytest.raises(ValueError):
        compare_strategies([0.3, 0.3], [1, 1], 2.0, competitor=0, cut_pct=10)


def test_calibration_helpers() -> None:
    p, s, a = np.array([1.0, 2.0]), np.array([0.2, 0.3]), 1.5
    q = calibrate_qualities(p, s, a)
    np.testing.assert_allclose(logit_shares(p, q, a), s)
    c = implied_costs(p, s, a)
    eq = logit_nash_equilibrium(c, q, a)
    np.testing.assert_allclose(eq.prices, p, rtol=1e-8)
    assert alpha_from_elasticity(-2.0, 1.0, 0.5) == pytest.approx(4.0)
    with pytest.raises(ValueError):
        alpha_from_elasticity(0.5, 1.0, 0.5)


@settings(max_examples=40, deadline=None)
@given(alpha=st.floats(0.5, 5.0), dc=st.floats(0.01, 1.0), dq=st.floats(0.01, 1.0))
def test_own_cost_raises_price_and_quality_raises_share(alpha: float, dc: float, dq: float) -> None:
    c, q = np.array([0.3, 0.4, 0.5]), np.array([1.0, 1.2, 0.8])
    base = logit_nash_equilibrium(c, q, alpha)
    costlier = logit_nash_equilibrium(c + np.array([dc, 0, 0]), q, alpha)
    better = logit_nash_equilibrium(c, q + np.array([dq, 0, 0]), alpha)
    assert costlier.prices[0] > base.prices[0] and costlier.shares[0] < base.shares[0]
    assert better.shares[0] > base.shares[0] and better.profits[0] > base.profits[0]
    # rivals answer a costlier firm 0 with (weakly) higher prices: strategic complements
    assert (costlier.prices[1:] >= base.prices[1:] - 1e-12).all()


# --- numerics: leave-one-out log-sum-exp, stable shares --------------------------------


def _log_denominator_reference(u: list[float], leave_out: int | None = None) -> float:
    """log(1 + Σ_{k≠leave_out} e^{u_k}) with a shift and math.fsum (independent of numpy)."""
    terms = [0.0, *(x for k, x in enumerate(u) if k != leave_out)]
    m = max(terms)
    return m + math.log(math.fsum(math.exp(t - m) for t in terms))


def _best_response_reference(
    p: list[float], c: list[float], q: list[float], alpha: float, j: int
) -> float:
    """Firm j's best response solved from its FOC p = c + 1/(α(1 − s(p))) by brentq."""
    u = [qk - alpha * pk for qk, pk in zip(q, p, strict=True)]
    log_d = _log_denominator_reference(u, leave_out=j)

    def foc(x: float) -> float:
        outside_j = 1.0 / (1.0 + math.exp(q[j] - alpha * x - log_d))  # 1 − s_j, no cancelling
        return x - c[j] - 1.0 / (alpha * outside_j)

    hi = c[j] + 1.0 / alpha
    while foc(hi) < 0:
        hi *= 2
    return brentq(foc, c[j] + 1 / alpha, hi, xtol=1e-15, rtol=1e-15)


def test_best_response_is_exact_when_one_firm_dominates() -> None:
    # firm 0 is priced far below what its quality would carry: utility 40 at these prices,
    # so e^{u_0} swamps the other terms (the old "sum minus own term" lost them all)
    p, c, q, a = [2.5, 1.0, 1.0], [0.3, 0.5, 0.4], [45.0, 1.0, 0.5], 2.0
    br = best_response(p, c, q, a)
    for j in range(3):
        assert br[j] == pytest.approx(_best_response_reference(p, c, q, a, j), rel=1e-12)


@pytest.mark.parametrize("premium_margin", [3.0, 12.0])  # its share material / dominant
def test_premium_rival_market_solves(premium_margin: float) -> None:
    """Cheap models ($0.2–$3) and one premium rival at a $67.5 list price."""
    alpha = 2.2
    costs = np.array([0.35, 0.12, 0.3, 1.4, 27.0])
    quals = np.array([1.0, 0.2, 0.8, 3.0, alpha * 27.0 + premium_margin])
    eq = logit_nash_equilibrium(costs, quals, alpha)
    assert eq.converged
    np.testing.assert_allclose(eq.prices, costs + 1 / (alpha * (1 - eq.shares)), rtol=0, atol=1e-9)
    assert eq.shares[-1] > (0.5 if premium_margin > 10 else 0.05)
    again = logit_nash_equilibrium(costs, quals, alpha, start=eq.prices)
    assert again.converged and again.iterations == 1


def test_calibrated_premium_rival_reproduces_list_prices() -> None:
    prices = np.array([1.0, 0.25, 0.6, 3.0, 67.5])
    for shares in ([0.1, 0.15, 0.2, 0.1, 0.2], [0.02, 0.01, 0.02, 0.02, 0.9]):
        s = np.array(shares)
        q = calibrate_qualities(prices, s, 2.2)
        c = implied_costs(prices, s, 2.2)
        held = {j: prices[j] for j in range(5) if c[j] <= 0}
        for start in (prices, None):  # from today's prices and from a cold start
            eq = logit_nash_equilibrium(c, q, 2.2, fixed_prices=held, start=start)
            assert eq.converged
            np.testing.assert_allclose(eq.prices, prices, rtol=1e-9, atol=0)
            np.testing.assert_allclose(eq.shares, s, rtol=1e-9)


@pytest.mark.parametrize(
    "utilities",
    [[800.0, 800.0], [-800.0, -800.0], [800.0, -800.0, 0.0], [-800.0, 800.0], [745.0, 746.0, -1e4]],
)
def test_logit_shares_finite_at_extreme_utilities(utilities: list[float]) -> None:
    u = np.array(utilities)
    s = logit_shares(np.zeros_like(u), u, 1.0)
    assert np.isfinite(s).all() and (s >= 0).all() and s.sum() <= 1.0
    d = LogitDemand(1.0, float(u[0]), (0.0,) * (u.size - 1), tuple(u[1:]))
    assert np.isfinite(d.share(0.0)) and d.share(0.0) == pytest.approx(s[0], rel=1e-12)


def test_logit_demand_without_rivals_is_a_binary_logit() -> None:
    d = LogitDemand(2.0, 3.0)
    assert d.rival_denominator == 1.0
    assert d.share(1.0) == pytest.approx(math.exp(1.0) / (1.0 + math.exp(1.0)), rel=1e-15)
    np.testing.assert_allclose(d.share(np.array([1.0, 400.0])), [d.share(1.0), 0.0])


@settings(max_examples=80, deadline=None)
@given(u=st.lists(st.floats(-60.0, 60.0), min_size=1, max_size=8))
def test_logit_shares_match_an_fsum_reference(u: list[float]) -> None:
    log_d = _log_denominator_reference(u)
    reference = [math.exp(x - log_d) for x in u]
    s = logit_shares([0.0] * len(u), u, 1.0)
    np.testing.assert_allclose(s, reference, rtol=1e-12, atol=0)


def test_outside_share_is_exact_when_a_held_firm_dominates() -> None:
    # a firm held at a price far below its quality: utility 40, outside share ≈ e^{-40}
    eq = logit_nash_equilibrium([0.3, 0.4], [42.0, 1.0], 1.0, fixed_prices={0: 2.0})
    u = [40.0, 1.0 - eq.prices[1]]
    assert eq.outside_share == pytest.approx(math.exp(-_log_denominator_reference(u)), rel=1e-12)
    assert eq.outside_share > 0


# --- calibrated market: before = today, cuts applied to list prices ---------------------

NAMES = ["us", "budget", "mid", "big", "premium"]
PRICES = [1.0, 0.25, 0.6, 3.0, 67.5]
SHARES = [0.1, 0.3, 0.15, 0.1, 0.05]


@pytest.fixture
def market() -> CalibratedMarket:
    return calibrate_market(
        PRICES, SHARES, 2.2, names=NAMES, market_size=5_000.0, known_costs={"us": 0.35}
    )


def test_calibrated_before_state_reproduces_list_prices_and_shares(
    market: CalibratedMarket,
) -> None:
    assert market.costs[0] == 0.35 and market.holds[0]
    # "budget" ($0.25 at a 30 % share): 1/(α(1 − s)) = $0.65 > $0.25, so it holds
    assert market.holds.tolist() == [True, True, False, False, False]
    for start in (market.prices, None):
        before = logit_nash_equilibrium(
            market.costs,
            market.qualities,
            market.alpha,
            names=market.names,
            market_size=market.market_size,
            fixed_prices=market.fixed_prices,
            start=start,
        )
        assert before.converged
        np.testing.assert_allclose(before.prices, PRICES, rtol=1e-9, atol=0)
        np.testing.assert_allclose(before.shares, SHARES, rtol=1e-9, atol=0)
    free = ~market.holds
    np.testing.assert_allclose(
        market.prices[free],
        (market.costs + 1 / (market.alpha * (1 - market.shares)))[free],
        rtol=1e-12,
    )


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 8), alpha=st.floats(0.05, 20.0), data=st.data())
def test_calibration_reproduces_any_observed_market(
    n: int, alpha: float, data: st.DataObject
) -> None:
    prices = data.draw(st.lists(st.floats(0.01, 300.0), min_size=n, max_size=n))
    weights = data.draw(st.lists(st.floats(0.01, 1.0), min_size=n + 1, max_size=n + 1))
    shares = np.array(weights[:-1]) / sum(weights)
    m = calibrate_market(prices, shares, alpha, names=[f"f{i}" for i in range(n)])
    before = m.before()
    np.testing.assert_allclose(before.prices, prices, rtol=1e-9, atol=0)
    np.testing.assert_allclose(before.shares, shares, rtol=1e-9, atol=0)
    assert len(m.notes) == int(m.holds.sum())
    assert (m.costs >= 0).all()


def test_firms_no_positive_cost_explains_hold_with_a_note(market: CalibratedMarket) -> None:
    assert implied_costs(PRICES, SHARES, 2.2)[1] <= 0
    assert market.costs[1] == 0.0
    frame = market.to_frame().set_index("firm")
    assert frame.loc["budget", "holds"] and frame.loc["us", "holds"]
    note = frame.loc["budget", "note"]
    assert "budget" in note and "$0.25" in note and "no positive cost" in note
    assert "known" in frame.loc["us", "note"]
    assert frame.loc["mid", "note"] == ""
    assert len(market.notes) == 2
    # a holding rival keeps its list price after someone else's cut too
    cut = _cut(market, "mid", 30)
    assert cut.after.prices[1] == 0.25 and cut.after.prices[0] == 1.0


BAD_INPUTS = [
    ({"prices": [1.0, float("nan")]}, "not a finite number"),
    ({"prices": [1.0, -0.5]}, "must be > 0"),
    ({"prices": [1.0, 0.0]}, "must be > 0"),
    ({"prices": [1.0, 1e300]}, "check its unit"),
    ({"prices": [1.0, 10**400]}, "too large"),
    ({"prices": [1.0, "cheap"]}, "must be numbers"),
    ({"prices": [1.0]}, "one value per firm"),
    ({"alpha": 0.0}, "alpha"),
    ({"alpha": -2.0}, "alpha"),
    ({"alpha": float("nan")}, "alpha"),
    ({"alpha": 1e300}, "alpha"),
    ({"alpha": 10**400}, "alpha"),
    ({"alpha": 1e6}, "alpha × price"),
    ({"shares": [0.0, 0.3]}, "between 0 and 1"),
    ({"shares": [0.6, 0.4]}, "sum to less than 1"),
    ({"shares": [0.7, 0.5]}, "sum to less than 1"),
    ({"shares": [0.1, float("inf")]}, "not a finite number"),
    ({"names": ["us", "us"]}, "unique"),
    ({"names": ["us"]}, "one value per firm"),
    ({"market_size": 0.0}, "market_size"),
    ({"known_costs": {"nobody": 0.3}}, "no firm 'nobody'"),
    ({"known_costs": {10**400: 0.3}}, "no firm"),
    ({"known_costs": {"us": float("nan")}}, "not a number"),
    ({"known_costs": {"us": -1.0}}, "≥ 0"),
]


@pytest.mark.parametrize(("change", "message"), BAD_INPUTS)
def test_calibrate_market_rejects_bad_inputs_clearly(change: dict, message: str) -> None:
    args = {
        "prices": [1.0, 2.0],
        "shares": [0.2, 0.3],
        "alpha": 2.0,
        "names": ["us", "x"],
        "market_size": 100.0,
        "known_costs": None,
        **change,
    }
    with pytest.raises(ValueError, match=None) as info:
        calibrate_market(args.pop("prices"), args.pop("shares"), args.pop("alpha"), **args)
    text = str(info.value)
    assert message in text
    assert len(text) < 300 and not re.search(r"\d{25}", text)  # no 290-digit numbers


def test_a_fifty_percent_cut_halves_the_list_price(market: CalibratedMarket) -> None:
    cut = _cut(market, "premium", 50)
    assert cut.after.prices[4] == 0.5 * 67.5 and cut.after.converged
    t = cut.table.set_index("firm")
    assert t.loc["premium", "price_change_pct"] == pytest.approx(-50.0)
    # the cut starts from the list price, not from an equilibrium price different from it
    r = price_cut_scenario(
        [0.3, 0.3], [1.0, 1.0], 2.0, competitor=1, cut_pct=50, list_prices=[0.9, 1.7]
    )
    assert r.after.prices[1] == 0.85 and r.before.prices[1] != pytest.approx(1.7)
    cmp = market.strategies(competitor="premium", cut_pct=50)
    assert (cmp.table["competitor_price"] == 0.5 * 67.5).all()
    with pytest.raises(ValueError, match="not both"):
        price_cut_scenario(
            [0.3, 0.3], [1, 1], 2.0, competitor=1, cut_pct=5, list_prices=[1, 1], base_prices=[1, 1]
        )
    with pytest.raises(ValueError, match="100 %"):
        price_cut_scenario([0.3, 0.3], [1, 1], 2.0, competitor=1, cut_pct=100)


def test_strategies_start_from_the_calibrated_market(market: CalibratedMarket) -> None:
    cmp = market.strategies(competitor="mid", cut_pct=20)
    t = cmp.table.set_index("strategy")
    np.testing.assert_allclose(cmp.before.prices, PRICES, rtol=1e-9)
    assert t.loc["hold", "our_price"] == 1.0
    assert t.loc["match", "our_price"] == pytest.approx(0.8)
    assert (t["competitor_price"] == 0.8 * 0.6).all()
    for k in ("best response", "differentiate", "niche"):  # we are freed and re-optimise
        r = cmp.results[k]
        assert not r.fixed[0]
        assert r.prices[0] == pytest.approx(
            r.costs[0] + 1 / (r.alpha * (1 - r.shares[0])), rel=1e-9
        )
    for r in cmp.results.values():
        assert r.converged and r.prices[1] == 0.25 and r.fixed[1]  # the holding firm holds
        for j in (3, 4):  # the others re-optimise
            assert r.prices[j] == pytest.approx(
                r.costs[j] + 1 / (r.alpha * (1 - r.shares[j])), rel=1e-9
            )
    assert t.loc["best response", "our_profit"] >= t.loc["hold", "our_profit"]
    assert t.loc["hold", "profit_vs_before"] < 0
    assert list(cmp.table.columns) == list(STRATEGY_COLUMN_LABELS)


def test_column_labels_have_units(market: CalibratedMarket) -> None:
    cut = _cut(market, "mid", 20)
    assert list(cut.table.columns) == list(CUT_TABLE_LABELS)
    for labels in (STRATEGY_COLUMN_LABELS, CUT_TABLE_LABELS):
        for column, label in labels.items():
            if "price" in column and "pct" not in column:
                assert label.endswith("USD per 1M tokens")
            if "profit" in column:
                assert "USD/month" in label
            if "share" in column or column.endswith("pct"):
                assert label.endswith("%")


@pytest.mark.parametrize("strategy", ["best response", "hold"])
def test_largest_absorbable_cut_is_where_profit_reaches_zero(
    market: CalibratedMarket, strategy: str
) -> None:
    def our_profit(cut_pct: float) -> float:
        t = market.strategies(competitor="mid", cut_pct=cut_pct).table.set_index("strategy")
        return float(t.loc[strategy, "our_profit"])

    cuts = np.linspace(0, 95, 12)
    profits = [our_profit(k) for k in cuts]
    assert all(np.diff(profits) < 0)  # a deeper cut always costs us profit here
    fixed_cost = 0.5 * (profits[0] + profits[-1])
    k = largest_absorbable_cut(market, competitor="mid", fixed_cost=fixed_cost, strategy=strategy)
    assert k is not None and 0 < k < 95
    assert our_profit(k) - fixed_cost == pytest.approx(0, abs=1e-6 * fixed_cost)
    assert our_profit(k + 0.5) < fixed_cost < our_profit(k - 0.5)
    assert (
        largest_absorbable_cut(
            market, competitor="mid", fixed_cost=2 * profits[0], strategy=strategy
        )
        is None
    )
    assert (
        largest_absorbable_cut(
            market, competitor="mid", fixed_cost=0.5 * profits[-1], strategy=strategy
        )
        == 95.0
    )
    with pytest.raises(ValueError, match="unknown strategy"):
        largest_absorbable_cut(market, competitor="mid", fixed_cost=1.0, strategy="panic")
