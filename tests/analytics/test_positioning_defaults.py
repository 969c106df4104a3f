"""Positioning, per-segment optima (``segment_table``) and the default scenario on the demo
database."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from analytics import (
    Scenario,
    default_scenario,
    evaluate_price_war,
    evaluate_scenario,
    load_scenario,
    positioning_map,
    save_scenario,
)
from analytics.positioning import quality_tier
from analytics.scenario_tables import segment_table


@pytest.mark.parametrize(
    ("name", "tier"),
    [
        ("GPT-4o Mini", 1),
        ("Gemini 2.5 Flash-Lite", 1),
        ("Claude 3 Haiku", 1),
        ("Claude Opus 4.5", 3),
        ("Amazon Nova Pro", 3),
        ("o3", 3),
        ("GPT-4o", 2),
        ("Mistral Medium 3", 2),
    ],
)
def test_quality_tier(name: str, tier: int) -> None:
    assert quality_tier(name) == tier


def test_positioning_map(demo_store) -> None:
    m = positioning_map(demo_store, model_id="gold", max_price=5.0)
    us = m[m["kind"] == "us"]
    assert sorted(us["name"]) == ["Enterprise", "Pro", "Starter"]
    them = m[m["kind"] == "competitor"]
    assert len(them) > 20 and them["price_per_m"].le(5.0).all()
    assert set(them["tier"]) <= {1.0, 2.0, 3.0}
    assert them["mention_tickets"].sum() > 0  # pressure measured from the tickets


def test_segment_table_optima_closed_form(demo_store) -> None:
    """The Price war page's best price per segment (``segment_table`` of the all-customers
    scenario): each elastic segment's optimum is the closed form c·ε/(1+ε) within the
    price range; inelastic enterprise has none inside it, and the table says why."""
    from data.demo import TRUE_ELASTICITY

    s = default_scenario(demo_store, None, model_id="gold")
    opt = segment_table(s).set_index("segment")
    assert set(opt.index) == set(TRUE_ELASTICITY)
    assert "inelastic" in opt.loc["enterprise", "note"]
    for seg in ("smb", "developer"):
        e, c = opt.loc[seg, "elasticity"], opt.loc[seg, "unit_cost"]
        closed_form = min(max(c * e / (1 + e), s.price_floor), s.price_ceiling)
        assert opt.loc[seg, "optimal_price"] == pytest.approx(closed_form, rel=1e-6)
        assert opt.loc[seg, "contribution_at_optimum"] >= opt.loc[seg, "contribution_now"]


@pytest.mark.parametrize("segment", [None, "smb", "enterprise"])
def test_default_scenario_is_measured_and_evaluates(demo_store, segment) -> None:
    s = default_scenario(demo_store, segment, model_id="gold")
    assert s.segment == segment
    assert 0.3 < s.price_per_m < 1.5
    assert len(s.segments) == (4 if segment is None else 1)
    for g in s.segments:
        assert g.reference_volume_m > 0
        assert g.elasticity_ci_low < g.elasticity < g.elasticity_ci_high
        assert 0 < g.price_low <= g.reference_price <= g.price_high
    assert s.competitors and s.cut_competitor == s.competitors[0].name
    assert s.mention_slope < 0 and not s.pressure_lever  # evidence kept, lever off
    r = evaluate_scenario(s)
    assert np.isfinite(r.profit)
    assert r.optimum.unconstrained_exists == all(g.elasticity < -1 for g in s.segments)
    pw = evaluate_price_war(s)
    assert pw.before.converged and pw.strategies is not None


def test_default_scenario_round_trips_through_the_store(demo_db_path, tmp_path) -> None:
    from data.store import Store

    shutil.copy(demo_db_path, tmp_path / "db.duckdb")
    with Store.open(tmp_path / "db.duckdb") as store:
        s = default_scenario(store, "smb", model_id="gold", name="smb base")
        save_scenario(store, s)
        assert load_scenario(store, "smb base") == s
        assert Scenario.from_query_params(s.to_query_params()) == s


def test_precomputed_mention_rates_give_the_same_results(demo_store) -> None:
    """Passing ``competitor_mention_rates`` (the costly query, run once by the dashboard and
    by ``default_scenario``) changes nothing in the results."""
    import pandas as pd

    from analytics.elasticity import estimate_mention_interaction
    from analytics.signals import competitor_mention_rates, competitor_pressure

    rates = competitor_mention_rates(demo_store, model_id="gold")
    inter = estimate_mention_interaction(demo_store, model_id="gold")
    again = estimate_mention_interaction(demo_store, model_id="gold", rates=rates)
    assert (again.slope, again.ci_low, again.ci_high) == (inter.slope, inter.ci_low, inter.ci_high)
    pd.testing.assert_frame_equal(
        competitor_pressure(demo_store, model_id="gold", rates=rates),
        competitor_pressure(demo_store, model_id="gold"),
    )


def test_a_rival_list_price_outside_the_models_range_is_left_out(demo_db_path, tmp_path) -> None:
    """One competitor price of 1e300 (a typo in a price file) used to stop the Price war page
    and ``analytics report`` for everyone (``Competitor`` refuses it); now that rival is
    left out and the others are priced as before."""
    from analytics import default_competitors
    from data.store import Store

    path = shutil.copy(demo_db_path, tmp_path / "db.duckdb")
    with Store.open(path) as store:
        # rivals chosen by their mentions in the gold entities: the most named vendor comes
        # first whatever its price
        before = default_competitors(store, reference_price=1.0, model_id="gold")
        vendor = before[0].name.split(" (")[0]
        store.execute_write(
            "UPDATE competitor_prices SET input_price_usd = 1e300, output_price_usd = 1e300"
            " WHERE vendor = ?",
            [vendor],
        )
        after = default_competitors(store, reference_price=1.0, model_id="gold")
    assert after and all(c.price < 1e6 for c in after)
    assert vendor not in {c.name.split(" (")[0] for c in after}
