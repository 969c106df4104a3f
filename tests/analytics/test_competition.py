"""Logit Bertrand–Nash equilibrium, price cuts and strategies."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics import (
    EquilibriumNotConvergedError,
    alpha_from_elasticity,
    best_response,
    calibrate_qualities,
    compare_strategies,
    implied_costs,
    logit_nash_equilibrium,
    logit_shares,
    price_cut_scenario,
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
    np.testing.assert_allclose(eq.prices, np.asarray(costs) + 1 / (alpha * (1 - eq.shares)),
                               rtol=1e-9, atol=1e-9)
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
    flagged = logit_nash_equilibrium([0.3, 0.5], [1.0, 1.5], 2.0, max_iter=2, damping=0.1,
                                     raise_on_failure=False)
    assert not flagged.converged and flagged.max_residual > 0


def test_fixed_price_and_names() -> None:
    eq = logit_nash_equilibrium([0.3, 0.5], [1.0, 1.5], 2.0, names=["us", "them"],
                                fixed_prices={"them": 0.6})
    assert eq.prices[1] == 0.6 and eq.fixed.tolist() == [False, True]
    assert eq.prices[0] == pytest.approx(0.3 + 1 / (2.0 * (1 - eq.shares[0])))
    with pytest.raises(KeyError):
        logit_nash_equilibrium([0.3], [1.0], 2.0, names=["us"], fixed_prices={"x": 1.0})


def test_price_cut_lowers_rivals_prices_and_our_profit() -> None:
    r = price_cut_scenario([0.3, 0.3, 0.4], [1, 1, 1.2], 2.0, competitor="rival", cut_pct=20,
                           names=["us", "rival", "other"])
    t = r.table.set_index("firm")
    assert t.loc["rival", "price_after"] == pytest.approx(0.8 * t.loc["rival", "price_before"])
    assert t.loc["us", "price_after"] < t.loc["us", "price_before"]  # strategic complements
    assert t.loc["us", "profit_after"] < t.loc["us", "profit_before"]


def test_strategies_side_by_side() -> None:
    cmp = compare_strategies([0.3, 0.3, 0.4], [1, 1, 1.2], 2.0, competitor=1, cut_pct=20,
                             names=["us", "rival", "other"], quality_step=0.5)
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
def test_own_cost_raises_price_and_quality_raises_share(alpha: float, dc: float,
                                                        dq: float) -> None:
    c, q = np.array([0.3, 0.4, 0.5]), np.array([1.0, 1.2, 0.8])
    base = logit_nash_equilibrium(c, q, alpha)
    costlier = logit_nash_equilibrium(c + np.array([dc, 0, 0]), q, alpha)
    better = logit_nash_equilibrium(c, q + np.array([dq, 0, 0]), alpha)
    assert costlier.prices[0] > base.prices[0] and costlier.shares[0] < base.shares[0]
    assert better.shares[0] > base.shares[0] and better.profits[0] > base.profits[0]
    # rivals answer a costlier firm 0 with (weakly) higher prices: strategic complements
    assert (costlier.prices[1:] >= base.prices[1:] - 1e-12).all()
