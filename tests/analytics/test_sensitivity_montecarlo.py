"""Tornado, two-way table and Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest

from analytics import LinearDemand, profit_table, simulate_profit, table_to_long, tornado


def test_tornado_sorted_by_impact() -> None:
    def pi(price: float, unit_cost: float, volume: float) -> float:
        return (price - unit_cost) * volume

    t = tornado(
        pi, {"price": 1.0, "unit_cost": 0.4, "volume": 100.0}, pct=0.1, labels={"price": "Price"}
    )
    assert t["input"].tolist() == ["price", "volume", "unit_cost"]
    assert t["impact"].is_monotonic_decreasing
    row = t.set_index("input").loc["price"]
    assert row["low_output"] == pytest.approx(50.0) and row["high_output"] == pytest.approx(70.0)
    assert row["label"] == "Price" and row["base_output"] == pytest.approx(60.0)
    clipped = tornado(
        pi,
        {"price": 1.0, "unit_cost": 0.9, "volume": 1.0},
        pct=0.5,
        bounds={"unit_cost": (0.0, 1.0)},
    )
    assert clipped.set_index("input").loc["unit_cost", "high_value"] == 1.0


def test_profit_table() -> None:
    t = profit_table(LinearDemand(100, 2), [20, 30, 40], [5, 10], fixed_cost=100)
    assert t.shape == (2, 3)
    assert t.loc[10, 30] == pytest.approx(700.0)
    assert (t.loc[10] <= t.loc[5]).all()  # higher cost, lower profit
    long = table_to_long(t)
    assert list(long.columns) == ["unit_cost", "price", "profit"] and len(long) == 6


KW = dict(
    price=1.2,
    reference_price=1.0,
    reference_volume=1000.0,
    elasticity=-1.5,
    elasticity_ci=(-1.8, -1.2),
    gpu_cost=0.4,
    other_unit_cost=0.1,
    fixed_cost=300.0,
)


def test_monte_carlo_reproducible_by_seed() -> None:
    a = simulate_profit(**KW, draws=20_000, seed=42)
    b = simulate_profit(**KW, draws=20_000, seed=42)
    c = simulate_profit(**KW, draws=20_000, seed=43)
    np.testing.assert_array_equal(a.profits, b.profits)
    assert a.summary() == b.summary()
    assert not np.array_equal(a.profits, c.profits)


def test_monte_carlo_statistics() -> None:
    r = simulate_profit(**KW, draws=100_000, seed=1)
    assert r.profits.shape == (100_000,)
    assert r.p5 < r.p50 < r.p95
    assert r.prob_loss == pytest.approx(float((r.profits < 0).mean()))
    # the median is near the deterministic profit (median GPU cost, median ε)
    q = 1000.0 * 1.2**-1.5
    det = (1.2 - 0.4 - 0.1) * q - 300.0
    assert r.p50 == pytest.approx(det, rel=0.05)
    certain = simulate_profit(
        **{**KW, "elasticity_ci": None}, gpu_cost_sd=0.0, volume_sd=0.0, draws=10, seed=0
    )
    np.testing.assert_allclose(certain.profits, det)
    assert certain.prob_loss == 0.0
    h = r.histogram(bins=20)
    assert int(h["count"].sum()) == 100_000


def test_probability_of_loss_rises_with_fixed_cost() -> None:
    low = simulate_profit(**{**KW, "fixed_cost": 100.0}, draws=20_000, seed=5)
    high = simulate_profit(**{**KW, "fixed_cost": 500.0}, draws=20_000, seed=5)
    assert high.prob_loss >= low.prob_loss
    np.testing.assert_allclose(low.profits - high.profits, 400.0)  # common random numbers
