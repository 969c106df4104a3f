"""Chart builders: specs compared as data (to_dict), deterministic, PNG-exportable."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from analytics.evaluate import evaluate_scenario
from analytics.scenario import Scenario
from analytics.scenario_parts import Competitor
from analytics.scenario_sensitivity import data_table, scenario_monte_carlo, scenario_tornado
from analytics.sensitivity import table_to_long
from analytics.war import evaluate_price_war
from dashboard import charts


def _layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


def _mark(spec: dict) -> str:
    mark = spec["mark"]
    return mark if isinstance(mark, str) else mark["type"]


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario(
        price_per_m=1.0,
        mc_draws=5000,
        fixed_cost_per_month=20_000.0,
        price_ceiling=20.0,
        competitors=(Competitor("A", 1.2, 0.3), Competitor("B", 0.6, 0.2)),
        cut_competitor="B",
        cut_pct=20,
    )


def test_volume_chart_spec() -> None:
    df = pd.DataFrame(
        {"period": [dt.date(2025, 1, 1)] * 2, "group": ["chat", "email"], "tickets": [3, 4]}
    )
    spec = charts.volume_chart(df, colour_title="channel").to_dict()
    assert _mark(spec) == "bar"
    assert spec["encoding"]["x"] == {"field": "period", "type": "temporal", "title": None}
    assert spec["encoding"]["y"]["aggregate"] == "sum"
    assert spec["encoding"]["color"]["field"] == "group"
    assert spec == charts.volume_chart(df, colour_title="channel").to_dict()  # deterministic


def test_cost_to_serve_chart_layers_costs_and_revenue() -> None:
    df = pd.DataFrame(
        {
            "segment": ["smb"],
            "tokens": [1e6],
            "revenue": [5.0],
            "gpu_cost": [1.0],
            "support_cost": [2.0],
            "tickets": [1],
            "ai_tickets": [0],
            "margin": [2.0],
            "margin_pct": [0.4],
            "cost_per_m": [3.0],
        }
    )
    spec = charts.cost_to_serve_chart(df).to_dict()
    assert [_mark(layer) for layer in spec["layer"]] == ["bar", "tick"]
    stacked = spec["datasets"][spec["layer"][0]["data"]["name"]]
    assert {r["component"] for r in stacked} == {"Inference (GPU)", "Support"}


def test_top_entities_chart_has_named_click_selection() -> None:
    df = pd.DataFrame({"label": ["ORG"], "entity": ["OpenAI"], "mentions": [3], "tickets": [2]})
    spec = charts.top_entities_chart(df).to_dict()
    (param,) = spec["params"]
    assert param["name"] == charts.ENTITY_SELECTION == "pick"
    assert param["select"]["fields"] == ["label", "entity"]
    assert spec["encoding"]["color"]["scale"]["domain"] == ["ORG", "PRODUCT", "PER", "LOC"]


def test_competitor_chart_draws_price_cuts_as_rules() -> None:
    mentions = pd.DataFrame(
        {"month": [dt.date(2025, 1, 1)], "vendor": ["OpenAI"], "rate": [0.1], "tickets": [3]}
    )
    cuts = pd.DataFrame(
        {"date": [pd.Timestamp("2025-01-15")], "vendor": ["OpenAI"], "label": ["gpt −80 %"]}
    )
    spec = charts.competitor_mentions_chart(mentions, cuts).to_dict()
    rules, lines = spec["layer"]
    assert _mark(rules) == "rule" and rules["encoding"]["x"]["field"] == "date"
    assert _mark(lines) == "line" and lines["encoding"]["y"]["field"] == "rate"


def test_pricing_charts_from_analytics_results(scenario: Scenario) -> None:
    r = evaluate_scenario(scenario)
    curve = r.curve.to_frame()
    spec = charts.profit_curve_chart(
        curve, price=1.0, optimum=r.optimum.price, break_even=[r.break_even_low, r.break_even_high]
    ).to_dict()
    marks = spec["datasets"][spec["layer"][2]["data"]["name"]]
    assert [m["what"] for m in marks] == ["our price", "optimum", "break-even", "break-even"]
    assert marks[1]["price"] == pytest.approx(r.optimum.price)
    spec = charts.revenue_cost_chart(curve).to_dict()
    assert {row["series"] for row in spec["datasets"][spec["data"]["name"]]} == {
        "Revenue",
        "Variable cost",
        "Total cost",
    }
    tor = scenario_tornado(scenario)
    spec = charts.tornado_chart(tor).to_dict()
    assert spec["layer"][0]["encoding"]["y"]["sort"] == list(tor["label"])
    table = data_table(scenario, "elasticity_shift", [-0.2, 0.0, 0.2], "price", [0.5, 1.0, 2.0])
    heat = charts.heatmap_chart(
        table_to_long(table, value_name="value"), x="price", y="elasticity_shift", value="value"
    ).to_dict()
    assert _mark(heat) == "rect" and heat["encoding"]["color"]["scale"]["scheme"] == "redblue"
    mc = scenario_monte_carlo(scenario)
    spec = charts.monte_carlo_chart(mc.histogram(), p5=mc.p5, p50=mc.p50, p95=mc.p95).to_dict()
    rules = spec["datasets"][spec["layer"][1]["data"]["name"]]
    assert [(m["what"], m["x"]) for m in rules] == [("P5", mc.p5), ("P50", mc.p50), ("P95", mc.p95)]


def test_price_war_charts(scenario: Scenario) -> None:
    war = evaluate_price_war(scenario)
    spec = charts.equilibrium_chart(war.cut_table, value="share").to_dict()
    rows = spec["datasets"][spec["data"]["name"]]
    assert len(rows) == 2 * len(war.cut_table)
    spec = charts.equilibrium_chart(war.cut_table, value="price").to_dict()
    # every firm's label shows: firms on the y axis, no label dropped for overlap
    assert spec["encoding"]["y"]["field"] == "firm"
    assert spec["encoding"]["y"]["axis"]["labelOverlap"] is False
    assert spec["encoding"]["x"]["title"] == "Price, USD per 1M tokens"
    spec = charts.strategies_chart(war.strategies.table).to_dict()
    assert spec["encoding"]["x"]["sort"] == list(war.strategies.table["strategy"])
    points = pd.DataFrame(
        {
            "name": ["us", "A"],
            "price": [1.0, 1.2],
            "quality": [0.0, 1.0],
            "kind": ["us", "competitor"],
        }
    )
    spec = charts.positioning_chart(points).to_dict()
    assert spec["layer"][0]["encoding"]["x"]["scale"] == {"type": "log"}
    seg = pd.DataFrame({"segment": ["smb"], "optimal_price": [1.2], "profit": [3.0]})
    spec = charts.segment_optima_chart(seg.assign(price_per_m=[0.9])).to_dict()
    assert [_mark(layer) for layer in spec["layer"]] == ["bar", "tick"]


def test_chart_exports_to_png() -> None:
    vlc = pytest.importorskip("vl_convert")
    df = pd.DataFrame({"scenario": ["a", "b"], "value": [1.0, 2.0]})
    png = vlc.vegalite_to_png(charts.comparison_chart(df).to_dict())
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
