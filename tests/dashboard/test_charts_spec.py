"""Chart specs built once per input without schema validation (``dashboard.charts.spec``):
the same chart as ``st.altair_chart`` sends today, for every builder on the demo data."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec
from streamlit.testing.v1 import AppTest

from dashboard import charts
from dashboard.charts import spec as chart_specs

ROOT = Path(__file__).resolve().parents[2]
MODEL = "gold-test"

Case = tuple[Any, tuple[Any, ...], dict[str, Any]]


def _demo_cases(db: Path) -> dict[str, Case]:
    """Every chart builder with the inputs its page gives it, read from the demo store."""
    from analytics import default_competitors, default_scenario
    from analytics.alerts import negative_share, signal_counts, surge_alerts
    from analytics.evaluate import evaluate_scenario
    from analytics.explore import Filters, entities, overview
    from analytics.positioning import positioning_map
    from analytics.scenario_sensitivity import (
        data_table,
        scenario_monte_carlo,
        scenario_tornado,
        tornado_price,
    )
    from analytics.scenario_tables import compare_scenarios, segment_table
    from analytics.sensitivity import table_to_long
    from analytics.war import cut_price_table, evaluate_price_war
    from data.reference import price_cut_events
    from data.store import Store

    f = Filters()
    with Store.open(db) as store:
        s = default_scenario(store, None)
        rivals = default_competitors(store, reference_price=s.price_per_m, our_share=s.our_share)
        volume = overview.ticket_volume(store, f, by="channel", grain="month")
        usage = overview.usage_volume(store, f, by="segment")
        cts = overview.cost_to_serve(store, f)
        top = entities.top_entities(store, f, MODEL, labels=(), limit=8)
        trend = entities.entity_trends(store, f, MODEL, labels=(), top=6)
        mentions = entities.competitor_mentions(store, f, MODEL)
        pm = positioning_map(store, max_price=20.0)
        counts = signal_counts(store)
        alerts = surge_alerts(store, freq="week", open_only=False, details=False, signals=counts)
    share = negative_share(counts, freq="week", dimension="segment")
    marks = alerts[alerts["dimension"] == "segment"][["alert", "since"]]
    s = s.replace(competitors=rivals, cut_competitor=rivals[0].name)
    events = price_cut_events()
    cuts = pd.DataFrame({"date": pd.to_datetime(events["date"]), "vendor": events["vendor"]})
    cuts["label"] = [
        f"{m} {p:+.0f} %" for m, p in zip(events["model"], events["pct_change"], strict=True)
    ]
    r = evaluate_scenario(s)
    curve = r.curve.to_frame()
    mc = scenario_monte_carlo(s)
    table = data_table(s, "elasticity_shift", [-0.2, 0.0, 0.2], "price", [0.3, 0.6, 0.9])
    war = evaluate_price_war(s)
    cut = cut_price_table(s, [0.0, 10.0, 20.0], [0.4, 0.6, 0.8])
    points = pd.DataFrame(
        {
            "name": pm["name"],
            "vendor": pm["vendor"],
            "kind": pm["kind"],
            "price": pm["price_per_m"],
            "quality": pm["tier"] - 2.0,
            "mention_share": pm["mention_share"],
        }
    )
    optima = segment_table(s).rename(
        columns={"price_now": "price_per_m", "contribution_at_optimum": "profit"}
    )
    results = compare_scenarios([s.replace(name="current"), s.replace(name="b", price_per_m=0.8)])
    cols = [c for c in results.columns if c != "kind" and not str(c).startswith("Δ ")]
    compared = pd.DataFrame(
        {"scenario": cols, "value": pd.to_numeric(results.loc["profit", cols], errors="coerce")}
    )
    be = [b for b in (r.break_even_low, r.break_even_high) if b is not None]
    return {
        "volume": (charts.volume_chart, (volume,), {"colour_title": "channel"}),
        "usage": (charts.usage_chart, (usage,), {"y": "revenue"}),
        "cost_to_serve": (charts.cost_to_serve_chart, (cts,), {}),
        "top_entities": (charts.top_entities_chart, (top,), {}),
        "entity_trend": (charts.entity_trend_chart, (trend,), {}),
        "competitor_mentions": (charts.competitor_mentions_chart, (mentions, cuts), {}),
        "profit_curve": (
            charts.profit_curve_chart,
            (curve,),
            {"price": s.price_per_m, "optimum": r.optimum.price, "break_even": be},
        ),
        "revenue_cost": (charts.revenue_cost_chart, (curve,), {}),
        "tornado": (charts.tornado_chart, (scenario_tornado(s, tornado_price(s)),), {}),
        "heatmap": (
            charts.heatmap_chart,
            (table_to_long(table, value_name="value"),),
            {"x": "price", "y": "elasticity_shift", "value": "value", "value_title": "profit"},
        ),
        "monte_carlo": (
            charts.monte_carlo_chart,
            (mc.histogram(),),
            {"p5": mc.p5, "p50": mc.p50, "p95": mc.p95},
        ),
        "cut_heatmap": (
            charts.heatmap_chart,
            (table_to_long(cut, value_name="profit"),),
            {"x": "our_price", "y": "cut_pct"},
        ),
        "equilibrium": (charts.equilibrium_chart, (war.cut_table,), {"value": "share"}),
        "strategies": (charts.strategies_chart, (war.strategies.table,), {}),
        "positioning": (charts.positioning_chart, (points,), {}),
        "segment_optima": (charts.segment_optima_chart, (optima,), {}),
        "comparison": (charts.comparison_chart, (compared,), {"value": "profit"}),
        "negative_share": (charts.negative_share_chart, (share, marks), {"freq": "week"}),
    }


@pytest.fixture(scope="module")
def tagged_demo(demo_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo store with its gold spans stored as one model's entities."""
    from data.store import Store

    db = tmp_path_factory.mktemp("charts") / "demo.duckdb"
    shutil.copy(demo_db_path, db)

    def gold_as_model(conn: Any) -> None:
        conn.execute(
            'INSERT INTO entities SELECT ticket_key, ?, start, "end", label, text, 1.0'
            " FROM gold_entities",
            [MODEL],
        )
        conn.execute(
            "INSERT INTO tagged_tickets (ticket_key, model_id, run_id)"
            " SELECT ticket_key, ?, 'test' FROM tickets",
            [MODEL],
        )

    with Store.open(db) as store:
        store.write(gold_as_model)
    return db


@pytest.fixture(scope="module")
def cases(tagged_demo: Path) -> dict[str, Case]:
    return _demo_cases(tagged_demo)


@pytest.fixture(autouse=True)
def empty_caches() -> Iterator[None]:
    chart_specs._spec.clear()
    chart_specs._png.clear()
    yield


def test_every_builder_has_a_demo_case(cases: dict[str, Case]) -> None:
    builders = {c[0] for c in cases.values()}
    exported = {getattr(charts, n) for n in charts.__all__ if n.endswith("_chart")}
    assert builders == exported
    for name in ("volume", "top_entities", "competitor_mentions", "positioning", "negative_share"):
        assert len(cases[name][1][0]) > 0, name  # real demo rows, not empty frames


@pytest.mark.parametrize(
    "name",
    [
        "volume",
        "usage",
        "cost_to_serve",
        "top_entities",
        "entity_trend",
        "competitor_mentions",
        "profit_curve",
        "revenue_cost",
        "tornado",
        "heatmap",
        "monte_carlo",
        "cut_heatmap",
        "equilibrium",
        "strategies",
        "positioning",
        "segment_optima",
        "comparison",
        "negative_share",
    ],
)
def test_spec_is_what_st_altair_chart_sends_and_passes_the_schema(
    cases: dict[str, Case], name: str
) -> None:
    """The spec skips altair's schema validation yet equals, key for key and byte for byte
    of its Arrow data, what ``st.altair_chart`` converts today (validated); the builder's
    own ``to_dict()`` still validates, and skipping validation changes nothing in it."""
    builder, args, kwargs = cases[name]
    chart = builder(*args, **kwargs)
    today = _convert_altair_to_vega_lite_spec(chart)  # validates against the schema
    assert charts.chart_spec(builder, *args, **kwargs) == today
    assert charts.vega_lite_spec(chart) == today
    assert chart.to_dict(validate=False) == chart.to_dict()


def test_no_builder_converts_an_encoding_through_altairs_from_dict(
    cases: dict[str, Case], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every encoding is given as its channel class (``alt.X("price:Q")``,
    ``alt.Tooltip("vendor:N")``, ``alt.OpacityValue(**alt.condition(...))``): altair turns a
    shorthand string, a value or a condition dict into one through ``from_dict``, whose
    converter hashes every class of the Vega-Lite schema again on each call
    (vega/altair#3547, 3-4 ms an encoding: most of a chart's build under ten sessions)."""
    from altair.utils import schemapi

    converters: list[int] = []
    original = schemapi._FromDict.__init__

    def counted(self: Any, *args: Any, **kwargs: Any) -> None:
        converters.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(schemapi._FromDict, "__init__", counted)
    slow = {}
    for name, (builder, args, kwargs) in cases.items():
        converters.clear()
        charts.vega_lite_spec(builder(*args, **kwargs))
        if converters:
            slow[name] = len(converters)
    assert slow == {}


def test_equal_inputs_build_once_and_any_difference_builds_again() -> None:
    built: list[pd.DataFrame] = []

    def counted_comparison_chart(df: pd.DataFrame, *, value: str = "profit") -> Any:
        built.append(df)
        return charts.comparison_chart(df, value=value)

    def frame(values: list[Any], scenario: str = "scenario") -> pd.DataFrame:
        return pd.DataFrame({scenario: ["a", "b"], "value": values})

    first = charts.chart_spec(counted_comparison_chart, frame([1.0, 2.0]), value="profit")
    again = charts.chart_spec(counted_comparison_chart, frame([1.0, 2.0]), value="profit")
    assert len(built) == 1 and again == first  # an equal frame built anew: one build
    for args, kwargs in [
        ((frame([1.0, 2.5]),), {"value": "profit"}),  # one value
        ((frame([1, 2]),), {"value": "profit"}),  # the dtype (int, not float)
        ((frame([1.0, 2.0]),), {"value": "optimal_price"}),  # an option
        ((frame([1.0, 2.0]).iloc[::-1],), {"value": "profit"}),  # the row order
    ]:
        n = len(built)
        charts.chart_spec(counted_comparison_chart, *args, **kwargs)
        assert len(built) == n + 1, (args, kwargs)


def test_frame_key_sees_names_types_and_every_row() -> None:
    base = pd.DataFrame({"a": range(300_000), "b": 1.0})
    changed = base.copy()
    changed.loc[123_456, "b"] = 2.0  # Streamlit's own hash samples frames this long
    assert chart_specs.frame_key(base) == chart_specs.frame_key(base.copy())
    assert chart_specs.frame_key(base) != chart_specs.frame_key(changed)
    assert chart_specs.frame_key(base) != chart_specs.frame_key(base.rename(columns={"b": "c"}))
    ones = pd.DataFrame({"x": [1, "a"]})
    assert chart_specs.frame_key(ones) != chart_specs.frame_key(pd.DataFrame({"x": ["1", "a"]}))


_TWO_WAYS = """
import streamlit as st
from dashboard import charts
from tests.dashboard.test_charts_spec import _demo_cases
builder, args, kwargs = _demo_cases(DB)[NAME]
select = {"on_select": "rerun", "key": "old"} if NAME == "top_entities" else {}
st.altair_chart(builder(*args, **kwargs), width="stretch", **select)
if select:
    select["key"] = "new"
st.vega_lite_chart(charts.chart_spec(builder, *args, **kwargs), width="stretch", **select)
"""


@pytest.mark.parametrize("name", ["top_entities", "profit_curve", "volume", "positioning"])
def test_the_browser_gets_the_same_chart_element(tagged_demo: Path, name: str) -> None:
    """Drawn with ``st.vega_lite_chart(chart_spec(...))`` the page sends the same element as
    ``st.altair_chart``: spec, Arrow datasets, theme, width, and for the entity chart the
    click selection (``on_select="rerun"``, the same selection modes)."""
    script = _TWO_WAYS.replace("DB", repr(str(tagged_demo))).replace("NAME", repr(name))
    at = AppTest.from_string(script, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    old, new = (e.proto for e in at.get("vega_lite_chart"))
    assert old.spec == new.spec
    assert [(d.name, d.data.data) for d in old.datasets] == [
        (d.name, d.data.data) for d in new.datasets
    ]
    assert len(old.datasets) > 0
    for field in ("theme", "use_container_width", "selection_mode", "form_id", "alt"):
        assert getattr(old, field) == getattr(new, field), field
    assert old.data == new.data
    if name == "top_entities":
        assert list(new.selection_mode) == [charts.ENTITY_SELECTION]
        assert old.id != "" and new.id != ""  # both are selection widgets


def test_png_is_the_pages_png_and_renders_once(cases: dict[str, Case]) -> None:
    """``chart_png`` draws the same bytes as the Scenarios page's PNG today (the validated
    altair spec through JSON, made XML-safe, vl-convert at scale 2), once per input."""
    import vl_convert as vlc

    builder, args, kwargs = cases["comparison"]
    today = vlc.vegalite_to_png(
        charts.xml_safe(json.loads(json.dumps(builder(*args, **kwargs).to_dict(), sort_keys=True))),
        scale=2,
    )
    assert charts.chart_png(builder, *args, **kwargs) == today
    built: list[int] = []

    def counted(df: pd.DataFrame, *, value: str = "profit") -> Any:
        built.append(1)
        return charts.comparison_chart(df, value=value)

    charts.chart_png(counted, *args, **kwargs)
    charts.chart_png(counted, args[0].copy(), **kwargs)
    assert built == [1]


_RENDER_HOSTILE = """
import pandas as pd
from dashboard import charts
df = pd.DataFrame({"scenario": ["old\\x1bname", "nul\\x00name", "bs\\x08\\ufffe"], "value": [1.0, 2.0, 3.0]})
png = charts.chart_png(charts.comparison_chart, df, value="profit")
print(png[:4] == b"\\x89PNG")
"""


def test_png_of_names_xml_forbids_renders_instead_of_aborting() -> None:
    """A scenario name with ESC, NUL or U+FFFE (saved before names were cleaned) renders;
    vl-convert would abort the whole process on it (run in a child for that reason)."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_RENDER_HOSTILE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "True"
