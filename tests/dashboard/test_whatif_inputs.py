"""The what-if pages' input catalogue (``dashboard.whatif_inputs``) against the scenario: every
input sets a real scenario field, its bounds and step make a widget, the starting scenario
on the demo store lies within them and its format shows it; the tables' column labels name
real columns."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pandas as pd
import pytest

from analytics.scenario import Scenario
from analytics.scenario_parts import Competitor, DemandSegment
from dashboard import whatif_inputs as wi
from dashboard.scenario_links import LINK_RANGES

PRICING = (*wi.MAIN_INPUTS, *wi.COST_INPUTS, *wi.MORE_INPUTS, wi.MC_DRAWS, wi.MC_SEED)
PRICE_WAR = (wi.CUT_PCT, wi.OUR_SHARE, *wi.STRATEGY_INPUTS)
SPECS = (*PRICING, *PRICE_WAR)
WHOLE = {"mc_draws", "mc_seed"}  # whole-number widgets
FIELDS = {f.name: f for f in dataclasses.fields(Scenario)}


@pytest.fixture(scope="module")
def starting(demo_db_path: Path) -> dict[str, Scenario]:
    """The scenarios the pages start from on the demo store: all customers and each
    segment (the Pricing page's segment picker), as ``analytics.default_scenario`` measures
    them, and the documented defaults (the pages' fallback)."""
    from analytics import default_scenario
    from data.store import Store

    with Store.open(demo_db_path, read_only=True) as store:
        everyone = default_scenario(store, None)
        found = {"All customers": everyone}
        for g in everyone.segments:
            found[g.name] = default_scenario(store, g.name)
    assert len(found) > 2, "the demo store should have several segments"
    return found | {"documented defaults": Scenario()}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.field)
def test_every_input_sets_a_number_field_of_the_scenario(spec: wi.InputSpec) -> None:
    assert spec.field in FIELDS, f"{spec.field!r} is not a Scenario field"
    assert FIELDS[spec.field].type == ("int" if spec.field in WHOLE else "float")


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.field)
def test_every_input_makes_a_widget(spec: wi.InputSpec) -> None:
    lo, hi = spec.min_value, spec.max_value
    assert spec.step > 0
    assert lo is not None, "every input has a lower bound"
    assert hi is None or lo < hi
    assert spec.label.strip() and spec.key
    numbers = (lo, spec.step) if hi is None else (lo, hi, spec.step)
    # Streamlit makes a whole-number widget only when bounds and step are all int
    assert all(type(v) is (int if spec.field in WHOLE else float) for v in numbers)
    args = spec.widget_args()
    assert args["label"] == spec.label and args["help"] == (spec.help or None)


def test_widget_keys_and_labels_are_unique_per_page() -> None:
    for page, prefix in ((PRICING, "wi_"), (PRICE_WAR, "pw_")):
        keys = [s.key for s in page]
        assert len(set(keys)) == len(keys)
        assert all(k.startswith(prefix) for k in keys)
        labels = [s.label for s in page]
        assert len(set(labels)) == len(labels), "browser tests find the widgets by label"


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.field)
def test_the_starting_scenarios_lie_within_the_bounds(
    spec: wi.InputSpec, starting: dict[str, Scenario]
) -> None:
    """A starting value outside the bounds is clamped (Pricing) or fails the widget
    (Price war, Monte Carlo): neither shows the measured value."""
    for name, s in starting.items():
        value = getattr(s, spec.field)
        assert math.isfinite(value), name
        assert spec.min_value is not None and spec.min_value <= value, (name, value)
        assert spec.max_value is None or value <= spec.max_value, (name, value)


@pytest.mark.parametrize("spec", [s for s in SPECS if s.format], ids=lambda s: s.field)
def test_the_format_shows_the_starting_values(
    spec: wi.InputSpec, starting: dict[str, Scenario]
) -> None:
    """The format renders each starting value, and a value that is not 0 does not show as
    0 (a format too coarse for the input)."""
    assert spec.format is not None
    for name, s in starting.items():
        value = getattr(s, spec.field)
        shown = spec.format % value
        assert shown.strip(), (name, value)
        assert value == 0 or float(shown) != 0, (name, value, shown)


@pytest.mark.parametrize(
    "spec", [s for s in SPECS if s.field in LINK_RANGES], ids=lambda s: s.field
)
def test_unclamped_inputs_take_what_a_link_may_carry(spec: wi.InputSpec) -> None:
    """Price war's inputs and the Monte Carlo draws and seed do not clamp a linked value: the
    link check must refuse exactly what the widget cannot take."""
    lo, hi = LINK_RANGES[spec.field]
    assert spec.min_value == lo
    assert (spec.max_value if spec.max_value is not None else 2**53 - 1) == hi


def test_the_tables_columns_are_real_columns(starting: dict[str, Scenario]) -> None:
    from analytics.competition import CUT_TABLE_LABELS
    from analytics.signals import competitor_pressure
    from analytics.war import evaluate_price_war

    assert set(wi.SEGMENT_COLUMNS) <= {f.name for f in dataclasses.fields(DemandSegment)}
    assert set(wi.COMPETITOR_COLUMNS) <= {f.name for f in dataclasses.fields(Competitor)}
    rivals = (Competitor("a", 0.8, 0.3), Competitor("b", 1.5, 0.2))
    s = starting["All customers"].replace(competitors=rivals, cut_competitor="a")
    war = evaluate_price_war(s)
    assert war.cut_table is not None
    assert set(wi.MARKET_COLUMNS) == set(war.market.to_frame().columns)
    assert set(war.cut_table.columns) == set(CUT_TABLE_LABELS) | set(wi.CUT_TABLE_EXTRA_LABELS)
    empty = competitor_pressure(None, rates=pd.DataFrame())
    assert list(wi.PRESSURE_COLUMNS) == list(empty.columns)
