"""Scenario round trips (JSON and URL), the store, evaluation and comparison."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import (
    Competitor,
    Scenario,
    ScenarioError,
    ScenarioNotFoundError,
    compare_scenarios,
    delete_scenario,
    evaluate_price_war,
    evaluate_scenario,
    list_scenarios,
    load_scenario,
    save_scenario,
    scenario_monte_carlo,
    scenario_profit_table,
    scenario_tornado,
)

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
unit = st.floats(0.0, 1.0)
positive = st.floats(1e-6, 1e6)


@st.composite
def competitors(draw: st.DrawFn) -> tuple[Competitor, ...]:
    names = draw(st.lists(st.text(min_size=1, max_size=12), unique=True, max_size=4))
    return tuple(Competitor(n, draw(positive), draw(finite), draw(finite)) for n in names)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    comps = draw(competitors())
    lo = draw(st.floats(-5, 0))
    pmin = draw(st.floats(1e-3, 10))
    return Scenario(
        name=draw(st.text(max_size=20)),
        segment=draw(st.none() | st.text(min_size=1, max_size=10)),
        price_per_m=draw(positive), reference_price=draw(positive),
        reference_volume_m=draw(st.floats(0, 1e12)),
        elasticity=draw(finite), elasticity_ci_low=lo,
        elasticity_ci_high=lo + draw(st.floats(0, 3)),
        mention_rate=draw(unit), mention_slope=draw(finite),
        gpu_cost_per_hour=draw(st.floats(0, 100)), tokens_per_second=draw(positive),
        utilisation=draw(st.floats(1e-3, 1.0)), cache_hit_rate=draw(unit),
        ai_resolution_share=draw(unit), tickets_per_million=draw(st.floats(0, 10)),
        fixed_cost_per_month=draw(finite), target_margin=draw(st.floats(-1, 0.99)),
        price_min=pmin, price_max=pmin * draw(st.floats(1.01, 100)),
        curve_points=draw(st.integers(2, 1000)), mc_seed=draw(st.integers(0, 2**63)),
        our_quality=draw(finite), our_share=draw(st.floats(0, 0.99)),
        competitors=comps,
        cut_competitor=draw(st.sampled_from([""] + [c.name for c in comps])),
        cut_pct=draw(finite),
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
    with pytest.raises(ScenarioError, match="prices must be > 0"):
        Scenario.from_query_params({"s_price_per_m": "-1"})
    with pytest.raises(ScenarioError, match="not valid"):
        Scenario.from_json("{")
    with pytest.raises(ScenarioError, match="finite"):
        Scenario(price_per_m=math.nan)
    with pytest.raises(ScenarioError, match="cut_competitor"):
        Scenario(cut_competitor="nobody")


def test_store_save_load_list_delete(tmp_path) -> None:
    from data.store import Store

    with Store.open(tmp_path / "s.duckdb") as store:
        a = Scenario(name="base")
        b = Scenario(name="cut 20 %", price_per_m=0.8,
                     competitors=(Competitor("DeepSeek", 0.5, 0.2, 0.3),),
                     cut_competitor="DeepSeek")
        save_scenario(store, a)
        save_scenario(store, b)
        assert load_scenario(store, "cut 20 %") == b
        save_scenario(store, b.replace(price_per_m=0.7))  # upsert
        assert load_scenario(store, "cut 20 %").price_per_m == 0.7
        assert set(list_scenarios(store)["name"]) == {"base", "cut 20 %"}
        assert delete_scenario(store, "base") is True
        assert delete_scenario(store, "base") is False
        with pytest.raises(ScenarioNotFoundError, match="base"):
            load_scenario(store, "base")
        with pytest.raises(ScenarioError):
            save_scenario(store, Scenario(name="  "))


def test_evaluate_scenario_numbers_agree() -> None:
    s = Scenario(price_per_m=1.0, reference_price=1.0, reference_volume_m=1000.0,
                 elasticity=-2.0, tickets_per_million=0.01, fixed_cost_per_month=100.0)
    r = evaluate_scenario(s)
    assert r.unit_cost == pytest.approx(r.gpu_cost_per_m + r.support_cost_per_m)
    assert r.profit == pytest.approx((1.0 - r.unit_cost) * 1000.0 - 100.0)
    assert r.optimum is not None and r.optimum.price == pytest.approx(2 * r.unit_cost)
    assert r.break_even_volume_m == pytest.approx(100.0 / (1.0 - r.unit_cost))
    assert r.break_even_low < r.optimum.price < r.break_even_high
    assert r.price_for_target_margin == pytest.approx(r.unit_cost / (1 - s.target_margin))
    assert len(r.curve.price) == s.curve_points
    inelastic = evaluate_scenario(s.replace(elasticity=-0.8))
    assert inelastic.optimum is None and "inelastic" in inelastic.optimum_note
    assert math.isnan(inelastic.summary()["optimal_price"])


def test_mention_pressure_shifts_elasticity() -> None:
    s = Scenario(elasticity=-1.5, mention_rate_ref=0.1, mention_slope=-2.0)
    assert s.replace(mention_rate=0.3).effective_elasticity == pytest.approx(-1.9)
    lo, hi = s.replace(mention_rate=0.3).effective_elasticity_ci
    assert lo == pytest.approx(s.elasticity_ci_low - 0.4)
    assert evaluate_scenario(s.replace(mention_rate=0.3)).elasticity == pytest.approx(-1.9)


def test_scenario_views() -> None:
    s = Scenario(price_per_m=1.2, tickets_per_million=0.01, mc_draws=5000)
    t = scenario_tornado(s)
    assert t["impact"].is_monotonic_decreasing and "elasticity" in set(t["input"])
    table = scenario_profit_table(s, prices=5, costs=3)
    assert table.shape == (3, 5)
    assert scenario_monte_carlo(s).summary() == scenario_monte_carlo(s).summary()
    with pytest.raises(ScenarioError, match="competitor"):
        evaluate_price_war(s)
    pw = evaluate_price_war(s.replace(
        competitors=(Competitor("A", 1.0, 0.4, 1.0), Competitor("B", 0.5, 0.2, 0.3)),
        cut_competitor="B", cut_pct=30))
    assert pw.equilibrium.names == ("us", "A", "B")
    assert pw.strategies is not None and len(pw.strategies.table) == 5
    assert pw.cut is not None


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
    t = scenario_tornado(Scenario(sensitivity_pct=150.0, tickets_per_million=0.01))
    assert t["low_output"].notna().all() and t["high_output"].notna().all()
    row = t.set_index("input").loc["utilisation"]
    assert row["high_value"] == 1.0


def test_positive_elasticity_is_explained() -> None:
    r = evaluate_scenario(Scenario(elasticity=0.4, elasticity_ci_low=0.1, elasticity_ci_high=0.7))
    assert r.optimum is None and "does not fall" in r.optimum_note
