"""Scenario round trips (JSON and URL), evaluation and comparison."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import (
    Competitor,
    DemandSegment,
    Scenario,
    ScenarioError,
    compare_scenarios,
    data_table,
    evaluate_scenario,
    scenario_monte_carlo,
    scenario_tornado,
)

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=64)
unit = st.floats(0.0, 1.0)
positive = st.floats(1e-6, 1e6)


@st.composite
def competitors(draw: st.DrawFn) -> tuple[Competitor, ...]:
    names = draw(
        st.lists(
            st.text(min_size=1, max_size=12).filter(lambda t: t.strip() and t != "us"),
            unique=True,
            max_size=4,
        )
    )
    return tuple(Competitor(n, draw(positive), draw(st.floats(1e-4, 0.2))) for n in names)


@st.composite
def segments(draw: st.DrawFn) -> tuple[DemandSegment, ...]:
    names = draw(
        st.lists(
            st.text(min_size=1, max_size=8).filter(str.strip), unique=True, min_size=1, max_size=4
        )
    )
    out = []
    for n in names:
        lo = draw(st.floats(-5, 0))
        hi = lo + draw(st.floats(0, 3))
        out.append(
            DemandSegment(
                n,
                draw(positive),
                draw(st.floats(1e-3, 1e12)),
                draw(st.floats(lo, hi)),
                lo,
                hi,
                draw(st.floats(0, 10)),
                draw(st.floats(-1, 1)),
                draw(st.floats(0, 5)),
                draw(st.floats(0, 5)),
                draw(unit),
                draw(unit),
            )
        )
    return tuple(out)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    comps = draw(competitors())
    pmin = draw(st.floats(1e-3, 10))
    return Scenario(
        name=draw(st.text(max_size=20)),
        segment=draw(st.none() | st.text(min_size=1, max_size=10)),
        price_per_m=draw(positive),
        segments=draw(segments()),
        pressure_lever=draw(st.booleans()),
        mention_slope=draw(finite),
        gpu_cost_per_hour=draw(st.floats(0, 100)),
        input_tokens_per_second=draw(positive),
        output_tokens_per_second=draw(positive),
        utilisation=draw(st.floats(1e-3, 1.0)),
        cache_hit_rate=draw(unit),
        fixed_cost_per_month=draw(st.floats(0, 1e9)),
        target_margin=draw(st.floats(-1, 0.99)),
        price_floor=pmin,
        price_ceiling=pmin * draw(st.floats(1.01, 100)),
        curve_points=draw(st.integers(2, 1000)),
        mc_seed=draw(st.integers(0, 2**63 - 1)),
        our_share=draw(st.floats(0.001, 0.19)),
        competitors=comps,
        cut_competitor=draw(st.sampled_from([""] + [c.name for c in comps])),
        cut_pct=draw(st.floats(0, 99)),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_json_round_trip(s: Scenario) -> None:
    assert Scenario.from_json(s.to_json()) == s


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.booleans())
def test_url_round_trip(s: Scenario, only_changed: bool) -> None:
    params = s.to_query_params(only_changed=only_changed)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in params.items())
    assert Scenario.from_query_params(params) == s
    # other page parameters in the URL are ignored
    assert Scenario.from_query_params({**params, "segment": "x", "page": "2"}) == s


def test_url_params_reject_bad_values() -> None:
    with pytest.raises(ScenarioError, match="s_price_per_m"):
        Scenario.from_query_params({"s_price_per_m": "cheap"})
    with pytest.raises(ScenarioError, match="price_per_m must be > 0"):
        Scenario.from_query_params({"s_price_per_m": "-1"})
    with pytest.raises(ScenarioError, match="not valid"):
        Scenario.from_json("{")
    with pytest.raises(ScenarioError, match="finite"):
        Scenario(price_per_m=math.nan)
    with pytest.raises(ScenarioError, match="cut_competitor"):
        Scenario(cut_competitor="nobody")


def test_evaluate_scenario_numbers_agree() -> None:
    seg = DemandSegment("one", 1.0, 1000.0, -2.0, -2.2, -1.8, tickets_per_million=0.01)
    s = Scenario(
        price_per_m=1.0,
        segments=(seg,),
        fixed_cost_per_month=100.0,
        price_floor=0.05,
        price_ceiling=10.0,
    )
    r = evaluate_scenario(s)
    c = s.cost_inputs().unit_cost_per_million(0.01)
    assert r.unit_cost == pytest.approx(c) == pytest.approx(r.gpu_cost_per_m + r.support_cost_per_m)
    assert r.profit == pytest.approx((1.0 - c) * 1000.0 - 100.0)
    assert r.optimum.price == pytest.approx(2 * c) and r.optimum.at_bound is None
    assert r.break_even_volume_m == pytest.approx(100.0 / (1.0 - c))
    assert r.break_even_low < r.optimum.price < r.break_even_high
    assert r.price_for_target_margin == pytest.approx(c / (1 - s.target_margin))
    assert len(r.curve.price) == s.curve_points
    # the optimum's range across the interval: c·ε/(1 + ε) at each end
    assert (r.spread.low, r.spread.high) == (
        pytest.approx(c * 2.2 / 1.2),
        pytest.approx(c * 1.8 / 0.8),
    )


def test_inelastic_segment_optimum_is_the_ceiling_and_break_even_exists() -> None:
    seg = DemandSegment("ent", 0.56, 1000.0, -0.6, -0.7, -0.5)
    s = Scenario(
        price_per_m=0.56,
        segments=(seg,),
        fixed_cost_per_month=50.0,
        price_floor=0.3,
        price_ceiling=1.5,
    )
    r = evaluate_scenario(s)
    assert r.optimum.at_bound == "ceiling" and r.optimum.price == 1.5
    assert not r.optimum.unconstrained_exists
    assert any("inelastic" in w for w in r.warnings)
    # break-even exists on the lower side: (p − c)·V(p) = F, solved independently
    from scipy.optimize import brentq

    c = r.unit_cost
    lower = brentq(lambda p: (p - c) * 1000.0 * (p / 0.56) ** -0.6 - 50.0, c, 0.56)
    assert r.break_even_low == pytest.approx(lower, rel=1e-9)
    assert r.break_even_high is None and "no upper break-even" in r.break_even_note


def test_pressure_lever_is_explicit() -> None:
    seg = DemandSegment("a", 1.0, 100.0, -1.5, -1.7, -1.3, mention_shift=-0.4)
    off = evaluate_scenario(Scenario(segments=(seg,)))
    on = evaluate_scenario(Scenario(segments=(seg,), pressure_lever=True))
    assert off.elasticity == pytest.approx(-1.5)
    assert on.elasticity == pytest.approx(-1.9)
    assert on.model.segments[0].ci_low == pytest.approx(-2.1)
    assert any("lever is on" in w for w in on.warnings)
    assert not any("lever" in w for w in off.warnings)


def test_scenario_views() -> None:
    s = Scenario(price_per_m=1.2, mc_draws=5000)
    t = scenario_tornado(s)
    assert t["impact"].is_monotonic_decreasing
    assert {"elasticity", "gpu_cost", "price"} <= set(t["input"])
    assert "utilisation" not in set(t["input"])  # one GPU-cost driver, not three
    # computed at the optimum by default: the elasticity matters there
    assert t.set_index("input").loc["elasticity", "impact"] > 0
    assert t["price"].iloc[0] == pytest.approx(evaluate_scenario(s).optimum.price)
    table = data_table(s, "elasticity_shift", [-0.2, 0.0, 0.2], "price", [0.5, 1.0, 1.5, 2.0])
    assert table.shape == (3, 4)
    base = evaluate_scenario(s.replace(price_per_m=1.5)).profit
    assert table.loc[0.0, 1.5] == pytest.approx(base)
    assert scenario_monte_carlo(s).summary() == scenario_monte_carlo(s).summary()


def test_compare_scenarios() -> None:
    a, b = Scenario(name="a"), Scenario(name="b", price_per_m=1.25)
    t = compare_scenarios([a, b])
    assert t.loc["price_per_m", "Δ b"] == pytest.approx(0.25)
    assert t.loc["profit", "kind"] == "result"
    diff = compare_scenarios([a, b], only_differences=True)
    assert "price_per_m" in diff.index and "gpu_cost_per_hour" not in diff.index
    same = compare_scenarios([a, a])
    assert list(same.columns) == ["kind", "a", "a (2)", "Δ a (2)"]


def test_tornado_with_large_swings_stays_valid() -> None:
    t = scenario_tornado(Scenario(sensitivity_pct=99.0))
    assert t["low_output"].notna().all() and t["high_output"].notna().all()
    row = t.set_index("input").loc["cache_hit_rate"]
    assert row["high_value"] <= 1.0


@pytest.mark.parametrize(
    "bad",
    [
        {"price_per_m": float("nan")},
        {"price_per_m": 1e300},
        {"fixed_cost_per_month": -1.0},
        {"our_share": 0.0},
        {"price_floor": 2.0, "price_ceiling": 1.0},
        {"utilisation": 0.0},
        {"segments": ()},
        {"mc_seed": -1},
        {"segments": tuple(DemandSegment(name=f"s{i}") for i in range(51))},
    ],
)
def test_bad_inputs_give_a_clear_message(bad) -> None:
    with pytest.raises(ScenarioError) as info:
        Scenario(**bad)
    assert len(str(info.value)) < 300 and "e+" not in str(info.value)[:5]


@pytest.mark.parametrize(
    "seg",
    [
        {"reference_volume_m": 0.0},
        {"elasticity": float("nan")},
        {"reference_price": 1e300},
        {"elasticity": -3.0},  # outside its interval
    ],
)
def test_bad_demand_segments_are_refused(seg) -> None:
    with pytest.raises(ScenarioError, match="segment"):
        DemandSegment(**seg)


def test_version_1_scenarios_are_upgraded() -> None:
    import json

    old = {
        "version": 1,
        "name": "old",
        "segment": "smb",
        "price_per_m": 0.7,
        "reference_price": 0.6,
        "reference_volume_m": 500.0,
        "elasticity": -1.7,
        "elasticity_ci_low": -1.8,
        "elasticity_ci_high": -1.6,
        "tickets_per_million": 0.1,
        "tokens_per_second": 3000.0,
        "price_min": 0.2,
        "price_max": 2.0,
        "competitors": [{"name": "x", "price": 1.0, "unit_cost": 0.4, "quality": 1.0}],
    }
    s = Scenario.from_json(json.dumps(old))
    assert s.segments == (DemandSegment("smb", 0.6, 500.0, -1.7, -1.8, -1.6, 0.1),)
    assert (s.price_floor, s.price_ceiling, s.competitors) == (0.2, 2.0, ())


@pytest.mark.parametrize("version", ["1e400", "-1e400", "NaN"])
def test_a_version_no_integer_can_hold_is_a_scenario_error(version: str) -> None:
    """``{"version": 1e400}`` let an OverflowError out of ``from_json`` (and ``NaN`` a
    ValueError): every caller of ``load_scenario`` expects a ScenarioError."""
    with pytest.raises(ScenarioError, match="bad version"):
        Scenario.from_json('{"version": ' + version + "}")
