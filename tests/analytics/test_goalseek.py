"""Tests of analytics.goalseek: the input value that makes a metric hit a target.

Expected values come from closed forms worked out here by hand from the cost model's
formulas (``analytics.costs`` docstring) and the constant-elasticity demand curve.
"""

from __future__ import annotations

import math

import pytest

from analytics.errors import ScenarioError
from analytics.goalseek import goal_seek
from analytics.scenario import Scenario
from analytics.scenario_parts import DemandSegment

COSTS = {
    "gpu_cost_per_hour": 2.0,
    "input_tokens_per_second": 9_000.0,
    "output_tokens_per_second": 1_800.0,
    "utilisation": 0.45,
    "cache_hit_rate": 0.3,
    "cached_token_cost_factor": 0.1,
    "output_share": 0.25,
    "human_ticket_cost": 13.5,
    "ai_ticket_cost": 1.84,
    "ai_resolution_share": 0.5,
}
#: Measured per segment (on the demand segment), the rest are scenario-wide.
SEGMENT_SHARES = ("output_share", "ai_resolution_share")
TICKETS_PER_M = 0.002


def gpu_per_m_at_full_use() -> float:
    """GPU cost per 1M tokens × utilisation: $/h ÷ 3600 × 10⁶ × [(1−o)(1−h(1−k))/r_in + o/r_out]."""
    c = COSTS
    mix = (1 - c["output_share"]) * (
        1 - c["cache_hit_rate"] * (1 - c["cached_token_cost_factor"])
    ) / c["input_tokens_per_second"] + c["output_share"] / c["output_tokens_per_second"]
    return c["gpu_cost_per_hour"] / 3600.0 * 1e6 * mix


def support_per_m() -> float:
    c = COSTS
    per_ticket = (1 - c["ai_resolution_share"]) * c["human_ticket_cost"] + c[
        "ai_resolution_share"
    ] * c["ai_ticket_cost"]
    return TICKETS_PER_M * per_ticket


def unit_cost(utilisation: float = COSTS["utilisation"]) -> float:
    return gpu_per_m_at_full_use() / utilisation + support_per_m()


def one_segment(
    price: float = 0.5,
    *,
    elasticity: float = -2.0,
    fixed: float = 1_000.0,
    reference_price: float = 0.5,
    volume: float = 100_000.0,
) -> Scenario:
    seg = DemandSegment(
        name="solo",
        reference_price=reference_price,
        reference_volume_m=volume,
        elasticity=elasticity,
        elasticity_ci_low=elasticity - 0.3,
        elasticity_ci_high=elasticity + 0.3,
        tickets_per_million=TICKETS_PER_M,
        **{k: COSTS[k] for k in SEGMENT_SHARES},
    )
    return Scenario(
        price_per_m=price,
        segments=(seg,),
        fixed_cost_per_month=fixed,
        price_floor=0.05,
        price_ceiling=5.0,
        **{k: v for k, v in COSTS.items() if k not in SEGMENT_SHARES},
    )


# -- margin: utilisation ---------------------------------------------------------------


@pytest.mark.parametrize(("price", "margin"), [(0.5, 0.55), (0.8, 0.55), (0.5, 0.3), (1.2, 0.75)])
def test_utilisation_for_target_margin_is_closed_form(price: float, margin: float) -> None:
    # (p − c(u))/p = m with c(u) = G/u + S  ⇒  u = G / ((1 − m)·p − S)
    expected = gpu_per_m_at_full_use() / ((1 - margin) * price - support_per_m())
    assert 1e-3 < expected <= 1, "the case must have its answer inside (0, 1]"
    s = one_segment(price)
    r = goal_seek(s, "utilisation", margin, metric="margin")
    assert r.value == pytest.approx(expected, rel=1e-9)
    assert r.solutions == pytest.approx((expected,), rel=1e-9)
    assert (r.input, r.metric, r.target) == ("utilisation", "margin", margin)
    assert r.current == COSTS["utilisation"]
    # plugging the answer back into the hand-written margin gives the target
    assert (price - unit_cost(r.value)) / price == pytest.approx(margin, abs=1e-9)


def test_margin_needing_more_than_full_utilisation_is_unreachable() -> None:
    # at u = 1 the margin is (p − G − S)/p; ask for more than that
    price = 0.5
    best = (price - gpu_per_m_at_full_use() - support_per_m()) / price
    r = goal_seek(one_segment(price), "utilisation", best + 0.05, metric="margin")
    assert r.value is None
    assert r.solutions == ()
    assert "utilisation" in r.note and "no value" in r.note


# -- profit: price, both sides ---------------------------------------------------------


def price_roots(
    target: float, fixed: float, *, reference_price: float = 0.5, volume: float = 100_000.0
) -> tuple[float, float]:
    """ε = −2: (p − c)·k/p² − F = T, k = V0·p0²  ⇒  (T + F)p² − kp + kc = 0."""
    c, k, a = unit_cost(), volume * reference_price**2, target + fixed
    r = math.sqrt(k * k - 4 * a * k * c)
    return (k - r) / (2 * a), (k + r) / (2 * a)


def peak_profit(fixed: float, *, reference_price: float = 0.5, volume: float = 100_000.0) -> float:
    c = unit_cost()
    p = 2 * c  # c·ε/(1+ε) at ε = −2
    return (p - c) * volume * (p / reference_price) ** -2 - fixed


@pytest.mark.parametrize("side", ["lower", "upper"])
def test_price_for_profit_target_finds_both_sides(side: str) -> None:
    fixed = 1_000.0
    target = 0.6 * peak_profit(fixed)
    low, high = price_roots(target, fixed)
    assert low < 2 * unit_cost() < high
    today = low * 1.05 if side == "lower" else high * 0.95
    # today's point is on the same demand curve: V0 rescaled to the new reference price
    s = one_segment(
        today, reference_price=today, fixed=fixed, volume=100_000.0 * (0.5 / today) ** 2
    )
    r = goal_seek(s, "price", target)
    assert r.solutions == pytest.approx((low, high), rel=1e-9)
    assert r.value == pytest.approx(low if side == "lower" else high, rel=1e-9)
    assert r.current == today
    assert "2 values" in r.note


def test_price_for_profit_target_nearest_today_not_first() -> None:
    # today's price between the roots but nearer the upper one
    fixed = 1_000.0
    target = 0.3 * peak_profit(fixed)
    low, high = price_roots(target, fixed)
    today = 0.6 * (low + high)
    assert abs(today - high) < abs(today - low)
    s = one_segment(today, reference_price=0.5, fixed=fixed)
    assert s.price_now == 0.5  # the demand curve is the same; only our price moved
    r = goal_seek(s, "price", target)
    assert r.value == pytest.approx(high, rel=1e-9)


def test_unreachable_profit_target_gives_none_with_note() -> None:
    fixed = 1_000.0
    s = one_segment(0.5, fixed=fixed)
    r = goal_seek(s, "price", peak_profit(fixed) * 1.01 + 10.0)
    assert r.value is None
    assert r.solutions == ()
    assert r.note.startswith("no value of price reaches the target")
    assert r.searched == (1e-4, 1e4)


def test_fixed_cost_for_zero_profit_is_the_contribution() -> None:
    # Π = (p − c)·V(p) − F = 0 at F = (p − c)·V(p)
    price = 0.7
    s = one_segment(price)
    expected = (price - unit_cost()) * 100_000.0 * (price / 0.5) ** -2
    r = goal_seek(s, "fixed_cost_per_month", 0.0)
    assert r.value == pytest.approx(expected, rel=1e-9)


# -- bad requests ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["nonsense", "price_floor", "segments", ""])
def test_unknown_input_raises(name: str) -> None:
    with pytest.raises(ScenarioError, match="goal seek cannot vary"):
        goal_seek(one_segment(), name, 0.0)


@pytest.mark.parametrize("metric", ["revenue", "Profit", ""])
def test_unknown_metric_raises(metric: str) -> None:
    with pytest.raises(ScenarioError, match="unknown metric"):
        goal_seek(one_segment(), "price", 0.0, metric=metric)


@pytest.mark.parametrize("target", [math.nan, math.inf, -math.inf, 1e300, "100", None])
def test_bad_target_raises(target: object) -> None:
    with pytest.raises(ScenarioError, match="target") as info:
        goal_seek(one_segment(), "price", target)  # type: ignore[arg-type]
    assert len(str(info.value)) < 200


@pytest.mark.parametrize("target", [10**300, 10**400], ids=["int1e300", "int1e400"])
def test_huge_int_target_raises_short_scenario_error(target: int) -> None:
    with pytest.raises(ScenarioError, match="target") as info:
        goal_seek(one_segment(), "price", target)
    assert len(str(info.value)) < 200
