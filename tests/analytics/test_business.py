"""Tests of analytics.business: the summed segment demand model, its constrained optimum,
the optimum's spread under elasticity uncertainty, and profit roots.

Every expected value is computed here, independently of the code under test: closed forms
for one segment, a dense numpy grid for several, scipy's brentq on a hand-written profit for
roots, finite differences for elasticities.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from analytics.business import (
    DemandModel,
    SegmentCurve,
    constrained_optimum,
    optimum_spread,
    profit_roots,
)

DENSE = 200_000


# -- independent helpers ---------------------------------------------------------------


def seg(
    name: str = "a",
    p0: float = 1.0,
    v0: float = 100.0,
    e: float = -2.0,
    lo: float | None = None,
    hi: float | None = None,
    c: float = 0.25,
) -> SegmentCurve:
    lo = e - 0.4 if lo is None else lo
    hi = e + 0.4 if hi is None else hi
    return SegmentCurve(name, p0, v0, e, lo, hi, c)


def hand_profit(
    segments: list[tuple[float, float, float, float]], fixed: float, p: np.ndarray | float
) -> np.ndarray:
    """Σ (p − c)·V0·(p/p0)^ε − F with segments given as (p0, V0, ε, c)."""
    p = np.asarray(p, float)
    total = np.zeros_like(p)
    for p0, v0, e, c in segments:
        total = total + (p - c) * v0 * (p / p0) ** e
    return total - fixed


def params(model: DemandModel) -> list[tuple[float, float, float, float]]:
    return [
        (s.reference_price, s.reference_volume_m, s.elasticity, s.unit_cost) for s in model.segments
    ]


def closed_form(c: float, e: float, floor: float, ceiling: float) -> float:
    """Single-segment optimum c·ε/(1+ε) clipped to [floor, ceiling] (ceiling if |ε| ≤ 1)."""
    free = c * e / (1.0 + e) if e < -1.0 else math.inf
    return min(max(free, floor), ceiling)


def dense_best(model: DemandModel, floor: float, ceiling: float) -> tuple[float, float]:
    grid = np.geomspace(floor, ceiling, DENSE)
    values = hand_profit(params(model), model.fixed_cost, grid)
    i = int(np.argmax(values))
    return float(grid[i]), float(values[i])


def assert_maximises(model: DemandModel, floor: float, ceiling: float) -> None:
    best = constrained_optimum(model, floor, ceiling)
    _, grid_max = dense_best(model, floor, ceiling)
    assert floor <= best.price <= ceiling
    own = float(hand_profit(params(model), model.fixed_cost, best.price))
    assert best.profit == pytest.approx(own, rel=1e-12, abs=1e-9)
    assert own >= grid_max - 1e-6 * abs(grid_max), (best, grid_max)


# -- one segment: the closed form ------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    e=st.floats(-5.0, -1.01),
    c=st.floats(0.01, 10.0),
    p0=st.floats(0.05, 20.0),
    v0=st.floats(1.0, 1e6),
    floor=st.floats(0.01, 10.0),
    factor=st.floats(1.01, 200.0),
    fixed=st.floats(0.0, 1e5),
)
def test_single_segment_optimum_is_clipped_closed_form(
    e: float, c: float, p0: float, v0: float, floor: float, factor: float, fixed: float
) -> None:
    ceiling = floor * factor
    free = c * e / (1 + e)
    # stay clear of the 1e-9 tolerance the bound detection allows
    assume(abs(free / floor - 1) > 1e-7 and abs(free / ceiling - 1) > 1e-7)
    m = DemandModel((seg(p0=p0, v0=v0, e=e, c=c),), fixed)
    best = constrained_optimum(m, floor, ceiling)
    expected = min(max(free, floor), ceiling)
    assert best.price == pytest.approx(expected, rel=1e-12)
    assert best.at_bound == ("floor" if free < floor else "ceiling" if free > ceiling else None)
    assert best.unconstrained_exists is True
    assert (best.floor, best.ceiling) == (floor, ceiling)
    assert best.volume_m == pytest.approx(v0 * (expected / p0) ** e, rel=1e-10)
    assert best.profit == pytest.approx(
        (expected - c) * v0 * (expected / p0) ** e - fixed, rel=1e-9, abs=1e-6
    )


def test_single_segment_docstring_numbers() -> None:
    m = DemandModel((seg(e=-2.0, c=0.25),))
    best = constrained_optimum(m, 0.1, 10.0)
    assert best.price == pytest.approx(0.5, rel=1e-12)
    assert best.at_bound is None
    assert best.profit == pytest.approx((0.5 - 0.25) * 100 * 0.5**-2.0)


@settings(max_examples=100, deadline=None)
@given(
    e=st.floats(-1.0, 0.0),
    c=st.floats(0.01, 10.0),
    floor=st.floats(0.01, 10.0),
    factor=st.floats(1.01, 200.0),
)
def test_inelastic_segment_goes_to_ceiling(e: float, c: float, floor: float, factor: float) -> None:
    ceiling = floor * factor
    m = DemandModel((seg(e=e, lo=e - 0.3, hi=e + 0.3, c=c),))
    best = constrained_optimum(m, floor, ceiling)
    assert best.price == ceiling
    assert best.at_bound == "ceiling"
    assert best.unconstrained_exists is False


def test_unit_elastic_exactly_minus_one_has_no_interior_optimum() -> None:
    m = DemandModel((seg(e=-1.0, c=0.3),))
    best = constrained_optimum(m, 0.1, 5.0)
    assert (best.price, best.at_bound, best.unconstrained_exists) == (5.0, "ceiling", False)


# -- several segments: a dense independent grid ----------------------------------------


def _random_models() -> list[tuple[DemandModel, float, float]]:
    rng = np.random.default_rng(20240611)
    out = []
    for _ in range(25):
        k = int(rng.integers(2, 5))
        segs = []
        for j in range(k):
            e = float(rng.uniform(-4.0, -0.6))
            segs.append(
                seg(
                    f"s{j}",
                    p0=float(rng.uniform(0.2, 3.0)),
                    v0=float(rng.uniform(10.0, 1e5)),
                    e=e,
                    lo=e - 0.3,
                    hi=e + 0.3,
                    c=float(rng.uniform(0.05, 1.0)),
                )
            )
        floor = float(rng.uniform(0.05, 0.5))
        out.append(
            (
                DemandModel(tuple(segs), float(rng.uniform(0.0, 1e3))),
                floor,
                floor * float(rng.uniform(3.0, 60.0)),
            )
        )
    return out


@pytest.mark.parametrize(
    ("model", "floor", "ceiling"), _random_models(), ids=[f"case{i}" for i in range(25)]
)
def test_multi_segment_optimum_maximises_summed_profit(
    model: DemandModel, floor: float, ceiling: float
) -> None:
    assert_maximises(model, floor, ceiling)
    best = constrained_optimum(model, floor, ceiling)
    assert best.unconstrained_exists is all(s.elasticity < -1 for s in model.segments)
    assert best.volume_m == pytest.approx(
        sum(v0 * (best.price / p0) ** e for p0, v0, e, _ in params(model)), rel=1e-10
    )


def _bimodal(premium_volume: float) -> DemandModel:
    cheap = seg("cheap", p0=0.15, v0=1000.0, e=-6.0, c=0.1)  # own peak at 0.12
    premium = seg("premium", p0=2.0, v0=premium_volume, e=-1.1, lo=-1.3, hi=-1.05, c=0.1)
    return DemandModel((cheap, premium), 0.0)  # own peak at 1.1


@pytest.mark.parametrize(("premium_volume", "global_peak"), [(60.0, "second"), (45.0, "first")])
def test_bimodal_profit_finds_the_global_peak(premium_volume: float, global_peak: str) -> None:
    m = _bimodal(premium_volume)
    floor, ceiling = 0.05, 5.0
    grid = np.geomspace(floor, ceiling, DENSE)
    values = hand_profit(params(m), 0.0, grid)
    d = np.diff(values)
    peaks = np.nonzero((d[:-1] > 0) & (d[1:] <= 0))[0] + 1
    assert len(peaks) == 2, "the case must be bimodal for the test to mean anything"
    first, second = grid[peaks]
    best = constrained_optimum(m, floor, ceiling)
    expected = second if global_peak == "second" else first
    assert best.price == pytest.approx(expected, rel=1e-3)
    assert best.at_bound is None
    assert_maximises(m, floor, ceiling)


@pytest.mark.parametrize("side", ["floor", "ceiling"])
def test_multi_segment_optimum_just_inside_a_bound_is_refined(side: str) -> None:
    # Two segments whose free optimum is 1.25 (ε = −5, c = 1 for both). With the optimum
    # 0.1 % inside the range, it falls between the first (or last) two points of the
    # code's 2,001-point grid.
    m = DemandModel(
        (seg("a", p0=1.0, v0=100.0, e=-5.0, c=1.0), seg("b", p0=1.2, v0=50.0, e=-5.0, c=1.0)), 0.0
    )
    if side == "floor":
        floor = 1.25 / 1.001
        ceiling = floor * 100
    else:
        ceiling = 1.25 * 1.001
        floor = ceiling / 100
    best = constrained_optimum(m, floor, ceiling)
    assert best.at_bound is None
    assert best.price == pytest.approx(1.25, rel=1e-6)
    assert_maximises(m, floor, ceiling)


@pytest.mark.parametrize(
    ("floor", "ceiling", "side"), [(1.4, 10.0, "floor"), (0.2, 1.1, "ceiling")]
)
def test_multi_segment_optimum_beyond_a_bound_sits_on_it(
    floor: float, ceiling: float, side: str
) -> None:
    m = DemandModel(
        (seg("a", p0=1.0, v0=100.0, e=-5.0, c=1.0), seg("b", p0=1.2, v0=50.0, e=-5.0, c=1.0)), 0.0
    )  # free optimum 1.25
    best = constrained_optimum(m, floor, ceiling)
    assert best.at_bound == side
    assert best.price == (floor if side == "floor" else ceiling)
    assert best.unconstrained_exists is True


def test_multi_segment_with_inelastic_part_has_no_unconstrained_optimum() -> None:
    m = DemandModel((seg("a", e=-3.0, c=0.2), seg("b", e=-0.5, lo=-0.8, hi=-0.2, c=0.2)))
    best = constrained_optimum(m, 0.1, 4.0)
    assert best.unconstrained_exists is False
    assert_maximises(m, 0.1, 4.0)


# -- profit roots ----------------------------------------------------------------------


def _quadratic_roots(c: float, v0: float, p0: float, fixed: float, target: float) -> list[float]:
    """Π(p) = (p − c)·k/p² − F = T with k = V0·p0² → (T + F)p² − kp + kc = 0."""
    k = v0 * p0**2
    a = target + fixed
    disc = k * k - 4 * a * k * c
    if disc < 0:
        return []
    r = math.sqrt(disc)
    return sorted([(k - r) / (2 * a), (k + r) / (2 * a)])


@pytest.mark.parametrize(
    ("c", "v0", "p0", "fixed", "target"),
    [
        (0.25, 100.0, 1.0, 20.0, 0.0),  # the docstring: 0.2639 and 4.7361
        (0.25, 100.0, 1.0, 0.0, 5.0),
        (0.4, 5e4, 0.8, 1e3, 2e3),
        (1.0, 10.0, 3.0, 2.0, 10.0),
        (0.05, 1e6, 0.3, 5e4, -1e4),
    ],
)
def test_profit_roots_match_quadratic_closed_form(
    c: float, v0: float, p0: float, fixed: float, target: float
) -> None:
    m = DemandModel((seg(p0=p0, v0=v0, e=-2.0, c=c),), fixed)
    expected = _quadratic_roots(c, v0, p0, fixed, target)
    assert len(expected) == 2
    got = profit_roots(m, target)
    assert got == pytest.approx(expected, rel=1e-9)
    assert got[0] < 2 * c < got[1]  # one on each side of the peak at 2c


def test_profit_roots_docstring_numbers() -> None:
    m = DemandModel((seg(e=-2.0, c=0.25),), 20.0)
    assert [round(p, 4) for p in profit_roots(m)] == [0.2639, 4.7361]


def test_profit_roots_none_when_target_exceeds_the_maximum() -> None:
    m = DemandModel((seg(p0=1.0, v0=100.0, e=-2.0, c=0.25),), 20.0)
    peak = (0.5 - 0.25) * 100 * 0.5**-2.0 - 20.0  # 80
    assert profit_roots(m, peak * 1.001) == []
    assert profit_roots(m, 1e6) == []
    near = profit_roots(m, peak - 0.5)
    assert len(near) == 2 and near[0] < 0.5 < near[1]


def test_zero_fixed_costs_break_even_at_unit_cost_only() -> None:
    # Π = (p − c)·V(p) crosses zero at p = c only (it tends to 0 from above as p → ∞).
    m = DemandModel((seg(e=-2.0, c=0.3),), 0.0)
    assert profit_roots(m, 0.0) == pytest.approx([0.3], rel=1e-10)


def test_inelastic_demand_has_only_a_lower_root() -> None:
    m = DemandModel((seg(p0=1.0, v0=100.0, e=-0.5, lo=-0.7, hi=-0.3, c=0.3),), 10.0)
    roots = profit_roots(m, 0.0)
    assert len(roots) == 1
    own = brentq(lambda p: float(hand_profit(params(m), 10.0, p)), 0.3, 10.0, xtol=1e-14)
    assert roots[0] == pytest.approx(own, rel=1e-9)


def _brentq_roots(model: DemandModel, target: float) -> list[float]:
    ps = [s.reference_price for s in model.segments]
    lo, hi = min(ps) / 1_000.0, max(ps) * 1_000.0
    grid = np.geomspace(lo, hi, 100_003)
    with np.errstate(over="ignore", invalid="ignore"):
        g = hand_profit(params(model), model.fixed_cost, grid) - target
    out = []
    for i in np.nonzero(np.sign(g[:-1]) * np.sign(g[1:]) < 0)[0]:
        out.append(
            brentq(
                lambda p: float(hand_profit(params(model), model.fixed_cost, p)) - target,
                grid[i],
                grid[i + 1],
                xtol=1e-15,
                rtol=1e-14,
            )
        )
    return out


@pytest.mark.parametrize(
    ("fixed", "target"), [(0.0, 0.0), (200.0, 0.0), (50.0, 300.0), (200.0, -100.0)]
)
def test_multi_segment_roots_match_independent_brentq(fixed: float, target: float) -> None:
    m = DemandModel(
        (
            seg("a", p0=0.5, v0=2000.0, e=-2.5, c=0.2),
            seg("b", p0=1.5, v0=500.0, e=-1.4, lo=-1.7, hi=-1.1, c=0.3),
        ),
        fixed,
    )
    expected = _brentq_roots(m, target)
    assert expected, "the case must have roots"
    assert profit_roots(m, target) == pytest.approx(expected, rel=1e-9)


def test_bimodal_profit_roots_found_on_every_side() -> None:
    m = _bimodal(60.0)
    target = 100.0  # below both peaks (≈107 and ≈116): four crossings
    expected = _brentq_roots(m, target)
    assert len(expected) == 4
    assert profit_roots(m, target) == pytest.approx(expected, rel=1e-9)


# -- elasticity of the aggregate -------------------------------------------------------


@pytest.mark.parametrize("price", [0.2, 0.6, 1.0, 2.5, 7.0])
def test_aggregate_elasticity_is_dlnV_dlnp(price: float) -> None:
    m = DemandModel(
        (
            seg("a", p0=0.5, v0=2000.0, e=-2.5, c=0.2),
            seg("b", p0=1.5, v0=500.0, e=-1.4, lo=-1.7, hi=-1.1, c=0.3),
            seg("c", p0=1.0, v0=3000.0, e=-0.6, lo=-0.9, hi=-0.3, c=0.25),
        )
    )
    h = 1e-5

    def ln_v(p: float) -> float:
        return math.log(sum(v0 * (p / p0) ** e for p0, v0, e, _ in params(m)))

    numeric = (ln_v(price * math.exp(h)) - ln_v(price * math.exp(-h))) / (2 * h)
    assert float(m.elasticity_at(price)) == pytest.approx(numeric, rel=1e-7)
    # the aggregate lies between the most and least elastic segment
    assert -2.5 < float(m.elasticity_at(price)) < -0.6


def test_aggregate_elasticity_interval_combines_segment_errors() -> None:
    a = seg("a", p0=0.5, v0=2000.0, e=-2.5, lo=-2.9, hi=-2.1, c=0.2)
    b = seg("b", p0=1.5, v0=500.0, e=-1.4, lo=-1.6, hi=-1.2, c=0.3)
    m = DemandModel((a, b))
    p = 0.9
    va, vb = 2000.0 * (p / 0.5) ** -2.5, 500.0 * (p / 1.5) ** -1.4
    wa, wb = va / (va + vb), vb / (va + vb)
    e = wa * -2.5 + wb * -1.4
    se = math.hypot(wa * 0.4 / 1.959963984540054, wb * 0.2 / 1.959963984540054)
    lo, hi = m.elasticity_ci_at(p)
    assert (lo, hi) == pytest.approx(
        (e - 1.959963984540054 * se, e + 1.959963984540054 * se), rel=1e-10
    )
    one = DemandModel((a,))
    assert one.elasticity_ci_at(p) == pytest.approx((-2.9, -2.1), rel=1e-12)


# -- the optimum's spread --------------------------------------------------------------


@pytest.mark.parametrize(
    ("e", "lo", "hi", "c", "floor", "ceiling"),
    [
        (-2.0, -2.4, -1.6, 0.25, 0.1, 10.0),
        (-3.0, -3.5, -2.5, 0.5, 0.1, 10.0),
        (-1.8, -2.2, -1.4, 0.4, 0.6, 1.5),  # both ends clipped differently
    ],
)
def test_optimum_spread_ends_are_closed_forms(
    e: float, lo: float, hi: float, c: float, floor: float, ceiling: float
) -> None:
    m = DemandModel((seg(e=e, lo=lo, hi=hi, c=c),))
    sp = optimum_spread(m, floor, ceiling)
    assert sp.low == pytest.approx(closed_form(c, lo, floor, ceiling), rel=1e-12)
    assert sp.high == pytest.approx(closed_form(c, hi, floor, ceiling), rel=1e-12)
    assert sp.p5 <= sp.p50 <= sp.p95
    assert sp.interval_crosses_minus_one is False
    assert sp.draws == 2_000
    step = (ceiling / floor) ** (1 / 399)  # the spread's own grid spacing
    # the median draw's optimum is the optimum at the median elasticity
    assert sp.p50 == pytest.approx(closed_form(c, e, floor, ceiling), rel=step - 1 + 0.01)
    # ε's 5th–95th percentiles lie inside its 95 % interval
    assert sp.low / step <= sp.p5 and sp.p95 <= sp.high * step


def test_docstring_spread() -> None:
    m = DemandModel((seg(e=-2.0, lo=-2.4, hi=-1.6, c=0.25),))
    sp = optimum_spread(m, 0.1, 10.0)
    assert (round(sp.low, 4), round(sp.high, 4)) == (0.4286, 0.6667)


def test_optimum_spread_with_interval_crossing_minus_one() -> None:
    m = DemandModel((seg(e=-1.1, lo=-1.5, hi=-0.7, c=0.25),))
    sp = optimum_spread(m, 0.1, 10.0)
    assert sp.interval_crosses_minus_one is True
    assert sp.low == pytest.approx(0.25 * 1.5 / 0.5, rel=1e-12)
    assert sp.high == 10.0
    assert sp.share_at_ceiling > 0
    # P(ε ≥ −1) for ε ~ N(−1.1, (0.4/1.96)²) ≈ 0.31, plus draws whose optimum c·ε/(1+ε)
    # exceeds the ceiling (ε > −1.026): ≈ 0.36 in all
    assert 0.25 < sp.share_at_ceiling < 0.5
    assert sp.p95 == 10.0
    assert sp.p5 <= sp.p50 <= sp.p95


def test_optimum_spread_multi_segment_flags_crossing_segment() -> None:
    m = DemandModel((seg("a", e=-2.5, c=0.2), seg("b", e=-1.3, lo=-1.6, hi=-1.0, c=0.3)))
    sp = optimum_spread(m, 0.1, 5.0, draws=500)
    assert sp.interval_crosses_minus_one is True
    assert sp.low <= sp.high
    assert sp.p5 <= sp.p50 <= sp.p95
    for k, price in (("ci_low", sp.low), ("ci_high", sp.high)):
        shifted = m.with_elasticities([getattr(s, k) for s in m.segments])
        assert_maximises(shifted, 0.1, 5.0)
        _, grid_max = dense_best(shifted, 0.1, 5.0)
        own = float(hand_profit(params(shifted), 0.0, price))
        assert own >= grid_max - 1e-6 * abs(grid_max)


# -- bad inputs ------------------------------------------------------------------------


_GOOD = {
    "name": "a",
    "reference_price": 1.0,
    "reference_volume_m": 100.0,
    "elasticity": -2.0,
    "ci_low": -2.4,
    "ci_high": -1.6,
    "unit_cost": 0.25,
}


@pytest.mark.parametrize(
    "field",
    ["reference_price", "reference_volume_m", "elasticity", "ci_low", "ci_high", "unit_cost"],
)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 1e300, -1e300])
def test_segment_rejects_non_finite_and_huge_numbers(field: str, bad: float) -> None:
    with pytest.raises(ValueError, match=field) as info:
        SegmentCurve(**{**_GOOD, field: bad})
    assert len(str(info.value)) < 200


@pytest.mark.parametrize(
    ("field", "bad", "words"),
    [
        ("reference_volume_m", 0.0, "reference volume"),
        ("reference_volume_m", -5.0, "reference volume"),
        ("reference_price", 0.0, "reference price"),
        ("elasticity", -3.0, "elasticity"),  # outside its interval
    ],
)
def test_segment_rejects_impossible_values(field: str, bad: float, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        SegmentCurve(**{**_GOOD, field: bad})


@pytest.mark.parametrize("bad", [10**300, 10**400], ids=["int1e300", "int1e400"])
def test_segment_rejects_huge_int_with_short_message(bad: int) -> None:
    with pytest.raises(ValueError, match="reference_volume_m") as info:
        SegmentCurve(**{**_GOOD, "reference_volume_m": bad})
    assert len(str(info.value)) < 200


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.0, 1e300])
def test_model_rejects_bad_fixed_cost(bad: float) -> None:
    with pytest.raises(ValueError, match="fixed cost") as info:
        DemandModel((seg(),), bad)
    assert len(str(info.value)) < 200


def test_model_needs_a_segment() -> None:
    with pytest.raises(ValueError, match="segment"):
        DemandModel((), 0.0)


@pytest.mark.parametrize(
    ("floor", "ceiling", "names"),
    [
        (2.0, 1.0, ("floor", "ceiling")),
        (1.0, 1.0, ("floor", "ceiling")),
        (0.0, 1.0, ("floor",)),
        (-1.0, 1.0, ("floor",)),
        (math.nan, 1.0, ("floor",)),
        (0.1, math.inf, ("ceiling",)),
        (0.1, math.nan, ("ceiling",)),
    ],
)
@pytest.mark.parametrize("n_segments", [1, 2])
def test_bad_range_raises_value_error(
    floor: float, ceiling: float, names: tuple[str, ...], n_segments: int
) -> None:
    m = DemandModel(tuple(seg(f"s{i}") for i in range(n_segments)))
    for call in (constrained_optimum, optimum_spread):
        with pytest.raises(ValueError) as info:
            call(m, floor, ceiling)
        assert all(n in str(info.value) for n in names), str(info.value)
        assert len(str(info.value)) < 200


@pytest.mark.parametrize("bad", [math.nan, math.inf, 1e300])
def test_profit_roots_rejects_bad_target(bad: float) -> None:
    with pytest.raises(ValueError, match="target") as info:
        profit_roots(DemandModel((seg(),)), bad)
    assert len(str(info.value)) < 200


@pytest.mark.parametrize(
    ("call", "bad"),
    [
        ("fixed_cost", 10**300),
        ("fixed_cost", 10**400),
        ("ceiling", 10**400),
        ("target", 10**300),
        ("target", 10**400),
    ],
    ids=["fixed-1e300", "fixed-1e400", "ceiling-1e400", "target-1e300", "target-1e400"],
)
def test_huge_int_inputs_raise_short_value_error(call: str, bad: int) -> None:
    m = DemandModel((seg(),))
    with pytest.raises(ValueError) as info:
        if call == "fixed_cost":
            DemandModel((seg(),), bad)
        elif call == "ceiling":
            constrained_optimum(m, 0.1, bad)
        else:
            profit_roots(m, bad)
    assert len(str(info.value)) < 200
