"""Closed forms and honest edge cases of the profit optimum, break-even and goal seek."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics import (
    ConstantElasticityDemand,
    GoalNotReachableError,
    LinearDemand,
    LogitDemand,
    NoInteriorOptimumError,
    break_even_prices,
    break_even_volume,
    contribution_margin,
    contribution_margin_ratio,
    optimal_price,
    price_for_margin,
    price_for_profit,
    profit,
    profit_curve,
)

pos = st.floats(min_value=0.05, max_value=50.0, allow_nan=False)
elastic = st.floats(min_value=-6.0, max_value=-1.05, allow_nan=False)


@settings(deadline=None)
@given(a=st.floats(10, 1e6), b=st.floats(0.01, 100), share=st.floats(0.0, 0.95))
def test_linear_closed_form(a: float, b: float, share: float) -> None:
    c = share * a / b
    r = optimal_price(LinearDemand(a, b), c)
    assert r.price == pytest.approx((a / b + c) / 2)
    assert r.quantity == pytest.approx(a - b * r.price)
    assert r.profit == pytest.approx((r.price - c) * r.quantity)
    # it is a maximum: neighbours earn less
    d = LinearDemand(a, b)
    for dp in (-1e-3, 1e-3):
        assert profit(d, r.price * (1 + dp), c) <= r.profit + 1e-9 * abs(r.profit)


@settings(deadline=None)
@given(e=elastic, c=pos, scale=st.floats(1, 1e9))
def test_constant_elasticity_closed_form(e: float, c: float, scale: float) -> None:
    r = optimal_price(ConstantElasticityDemand(scale, e), c)
    assert r.price == pytest.approx(c * e / (1 + e))
    assert r.method == "closed form"
    # marginal revenue = marginal cost: (p - c)/p = -1/e (Lerner)
    assert (r.price - c) / r.price == pytest.approx(-1 / e)


def test_price_equals_marginal_cost_is_not_the_optimum() -> None:
    d = LinearDemand(100, 2)
    at_mc = profit(d, 10.0, 10.0, fixed_cost=100.0)
    assert at_mc == -100.0  # the price-taker rule loses the fixed cost
    assert optimal_price(d, 10.0, 100.0).profit == 700.0


@pytest.mark.parametrize(
    ("e", "why"),
    [(-1.0, "inelastic"), (-0.5, "inelastic"), (0.0, "does not fall"), (0.3, "does not fall")],
)
def test_inelastic_demand_has_no_interior_optimum(e: float, why: str) -> None:
    with pytest.raises(NoInteriorOptimumError, match=why):
        optimal_price(ConstantElasticityDemand(100, e), 1.0)


def test_cost_above_choke_price_has_no_optimum() -> None:
    with pytest.raises(NoInteriorOptimumError, match="choke"):
        optimal_price(LinearDemand(100, 2), 60.0)


def test_logit_optimum_satisfies_markup_rule() -> None:
    d = LogitDemand(alpha=1.5, quality=2.0, rival_prices=(1.0, 2.0), rival_qualities=(1.0, 2.5))
    r = optimal_price(d, 0.4)
    s = float(d.share(r.price))
    assert r.price == pytest.approx(0.4 + 1 / (1.5 * (1 - s)), rel=1e-12)
    numeric = optimal_price(_Wrapped(d), 0.4, bounds=(0.0, 20.0))
    assert numeric.price == pytest.approx(r.price, rel=1e-6)


class _Wrapped:
    """Demand without a closed form (forces the numerical path)."""

    def __init__(self, inner: LogitDemand) -> None:
        self.inner = inner

    def quantity(self, price):
        return self.inner.quantity(price)


def test_numerical_optimum_on_bound_is_reported() -> None:
    with pytest.raises(NoInteriorOptimumError, match="bound"):
        optimal_price(_Wrapped(LogitDemand(1.0, 1.0)), 0.1, bounds=(0.2, 0.5))
    with pytest.raises(ValueError, match="bounds"):
        optimal_price(_Wrapped(LogitDemand(1.0, 1.0)), 0.1)


@settings(deadline=None)
@given(p=pos, c=pos, f=st.floats(1, 1e7))
def test_break_even_volume_closed_form(p: float, c: float, f: float) -> None:
    v = break_even_volume(p, c, f)
    if p > c:
        assert v == pytest.approx(f / (p - c))
        assert (p - c) * v - f == pytest.approx(0.0, abs=1e-6 * f)
    else:
        assert v == math.inf


def test_break_even_volume_edges() -> None:
    assert isinstance(break_even_volume(2, 1, 10), float)
    assert break_even_volume(2, 1, 0) == 0.0
    assert break_even_volume(1, 1, 5) == math.inf


@settings(deadline=None)
@given(e=elastic, c=pos, f_share=st.floats(0.0, 0.9))
def test_break_even_prices_bracket_the_optimum(e: float, c: float, f_share: float) -> None:
    d = ConstantElasticityDemand(1000.0, e)
    best = optimal_price(d, c)
    f = f_share * best.profit
    lo, hi = break_even_prices(d, c, f)
    assert lo <= best.price <= hi
    assert profit(d, lo, c, f) == pytest.approx(0.0, abs=1e-6 * max(1.0, best.profit))
    if math.isfinite(hi):
        assert profit(d, hi, c, f) == pytest.approx(0.0, abs=1e-6 * max(1.0, best.profit))


def test_break_even_linear_and_unreachable() -> None:
    assert break_even_prices(LinearDemand(100, 2), 10, 0) == (10.0, 50.0)
    with pytest.raises(GoalNotReachableError, match="exceeds the maximum"):
        break_even_prices(LinearDemand(100, 2), 10, 801)


def test_goal_seek() -> None:
    assert price_for_margin(0.4, 0.6) == pytest.approx(1.0)
    with pytest.raises(GoalNotReachableError):
        price_for_margin(0.4, 1.0)
    d = LinearDemand(100, 2)
    assert price_for_profit(d, 10, 0, 600, side="lower") == pytest.approx(20.0)
    assert price_for_profit(d, 10, 0, 600, side="upper") == pytest.approx(40.0)
    assert price_for_profit(d, 10, 0, 800) == pytest.approx(30.0)


def test_margins_and_curve_vectorised() -> None:
    assert contribution_margin(1.0, 0.4) == pytest.approx(0.6)
    assert contribution_margin_ratio(2.0, 0.5) == pytest.approx(0.75)
    np.testing.assert_allclose(contribution_margin_ratio(np.array([1.0, 2.0]), 0.5), [0.5, 0.75])
    pc = profit_curve(LinearDemand(100, 2), 10, 50, prices=[10, 30, 50])
    np.testing.assert_allclose(pc.profit, [-50, 750, -50])
    assert list(pc.to_frame().columns)[:2] == ["price", "quantity"]


# -- monotonicity (properties) ------------------------------------------------------------


@settings(deadline=None)
@given(e=elastic, p=pos, c1=pos, c2=pos, f=st.floats(0, 1e6))
def test_profit_falls_as_cost_rises_at_fixed_price(e, p, c1, c2, f) -> None:
    d = ConstantElasticityDemand(1e4, e)
    lo, hi = sorted((c1, c2))
    assert profit(d, p, hi, f) <= profit(d, p, lo, f)


@settings(deadline=None)
@given(e=elastic, c1=pos, c2=pos)
def test_optimal_price_rises_with_unit_cost(e: float, c1: float, c2: float) -> None:
    d = ConstantElasticityDemand(1e4, e)
    lo, hi = sorted((c1, c2))
    assert optimal_price(d, lo).price <= optimal_price(d, hi).price
    assert optimal_price(d, lo).profit >= optimal_price(d, hi).profit * (1 - 1e-12)


@settings(deadline=None)
@given(a=st.floats(10, 1e4), b=st.floats(0.1, 10), f1=st.floats(0, 1e4), f2=st.floats(0, 1e4))
def test_fixed_cost_moves_profit_not_price(a, b, f1, f2) -> None:
    d = LinearDemand(a, b)
    c = 0.2 * a / b
    r1, r2 = optimal_price(d, c, f1), optimal_price(d, c, f2)
    assert r1.price == r2.price
    assert r1.profit - r2.profit == pytest.approx(f2 - f1, abs=1e-6 * max(1, f1, f2))


@settings(max_examples=50, deadline=None)
@given(e1=elastic, e2=elastic, c=pos)
def test_more_elastic_demand_means_lower_optimal_price(e1, e2, c) -> None:
    more, less = sorted((e1, e2))  # more negative = more elastic
    assert optimal_price(ConstantElasticityDemand(1, more), c).price <= optimal_price(
        ConstantElasticityDemand(1, less), c
    ).price * (1 + 1e-12)


@settings(deadline=None)
@given(c=pos, f=st.floats(1, 1e6), p1=pos, p2=pos)
def test_break_even_volume_falls_as_price_rises(c: float, f: float, p1: float, p2: float) -> None:
    lo, hi = sorted((p1, p2))
    assert break_even_volume(hi, c, f) <= break_even_volume(lo, c, f)
