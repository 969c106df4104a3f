"""Links and exports (issue #12, items 15–19): a hostile link is a note naming the parameter,
never "Something went wrong" or a slow page; CSV downloads survive readers that split rows
at a bare CR; tables have no built-in download; a long word does not widen a ticket card.

The AppTest cases open the app the way a shared link does (the query string set before the
first run) on a copy of the demo database (``tests/dashboard/conftest.py::app_db``).
"""

from __future__ import annotations

import csv
import io
import json
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboard.conftest import APP, app_db  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parents[2]
SOMETHING_WRONG = "Something went wrong"
DEEP = "[" * 5_000 + "]" * 5_000
SEGMENT = ["g", 1.0, 1000.0, -1.6, -1.9, -1.3]


def _open(page: str | None, query: dict[str, str | list[str]]) -> AppTest:
    """The app opened with ``query`` (then switched to ``page``). A value that would make a
    page compute for minutes fails the run (AppTest's timeout); a refused one shows a note
    naming it, which the tests check (no timing: what bounds the work is the refusal)."""
    at = AppTest.from_file(str(APP), default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    if page is not None:
        at.switch_page(page).run()
    return at


def _texts(at: AppTest) -> list[str]:
    return [str(e.value) for e in (*at.warning, *at.info, *at.error)]


# -- 15 and 16: what-if links ------------------------------------------------------------

LINKS: dict[str, tuple[dict[str, str], str]] = {
    "curve_points_60M": ({"s_curve_points": "60000000"}, "curve\\_points"),
    "mc_draws_60M": ({"s_mc_draws": "60000000"}, "s\\_mc\\_draws"),
    "mc_draws_below_the_widget": ({"s_mc_draws": "5"}, "s\\_mc\\_draws"),
    "mc_seed_negative": ({"s_mc_seed": "-1"}, "s\\_mc\\_seed"),
    "mc_seed_huge": ({"s_mc_seed": "9" * 30}, "s\\_mc\\_seed"),
    "competitors_5000_deep": ({"s_competitors": DEEP}, "s\\_competitors"),
    "segments_5000_deep": ({"s_segments": DEEP}, "s\\_segments"),
    "competitors_too_many": (
        {"s_competitors": json.dumps([[f"c{i}", 1.0, 1e-4] for i in range(500)])},
        "s\\_competitors",
    ),
    "segments_too_many": (
        {"s_segments": json.dumps([[f"g{i}", *SEGMENT[1:]] for i in range(200)])},
        "s\\_segments",
    ),
    "segments_times_draws": (
        {
            "s_segments": json.dumps([[f"g{i}", *SEGMENT[1:]] for i in range(15)]),
            "s_mc_draws": "1000000",
        },
        "Monte Carlo",
    ),
    "value_over_16_KiB": ({"s_segment": "x" * 40_000}, "s\\_segment"),
    "name_longer_than_its_box": ({"s_name": "n" * 500}, "s\\_name"),
    "cut_pct_beyond_the_slider": ({"s_cut_pct": "95"}, "s\\_cut\\_pct"),
    # 16: what-if extremes, refused by analytics.scenario with the field named
    "fixed_cost_1e300": ({"s_fixed_cost_per_month": "1e300"}, "fixed\\_cost\\_per\\_month"),
    "price_1e300": ({"s_price_per_m": "1e300"}, "price\\_per\\_m"),
    "reference_price_1e300": (
        {"s_segments": json.dumps([["smb", 1e300, 10, -1.5, -2, -1]])},
        "reference\\_price",
    ),
    "reference_volume_0": (
        {"s_segments": json.dumps([["smb", 1.0, 0, -1.5, -2, -1]])},
        "reference\\_volume\\_m must be &gt; 0",
    ),
}


@pytest.mark.usefixtures("app_db")
@pytest.mark.parametrize("case", list(LINKS))
@pytest.mark.parametrize("page", ["views/pricing.py", "views/price_war.py"])
def test_a_bad_what_if_link_is_a_note_naming_the_parameter(case: str, page: str) -> None:
    query, named = LINKS[case]
    at = _open(None, query)  # the page that opens the link shows the note
    notes = [t for t in _texts(at) if "link were not used" in t]
    assert len(notes) == 1, _texts(at)
    assert named in notes[0] and "default inputs" in notes[0], notes[0]
    assert not at.exception and not at.error
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any(SOMETHING_WRONG in t for t in _texts(at)), _texts(at)
    assert not at.error, _texts(at)


@pytest.mark.usefixtures("app_db")
def test_a_good_link_still_loads_its_inputs() -> None:
    at = _open("views/pricing.py", {"s_price_per_m": "0.75", "s_mc_seed": "7"})
    assert not at.exception and not at.error
    assert not [w for w in at.warning if "link were not used" in str(w.value)]
    assert any("Inputs loaded from the link" in str(i.value) for i in at.info)
    assert at.session_state["_scenario"].price_per_m == 0.75
    assert at.session_state["_scenario"].mc_seed == 7


def test_link_checks_name_parameter_and_bound() -> None:
    from dashboard.ui import scenario_link_problems
    from data.inbox_entries import json_depth

    assert json_depth(DEEP) == 5_000 and json_depth('[["[[[", 1]]') == 2
    assert scenario_link_problems({"s_price_per_m": ["0.8"], "s_mc_seed": ["12"]}) == []
    [problem] = scenario_link_problems({"s_curve_points": ["60000000"], "s_segments": [DEEP]})
    assert problem.startswith("s_segments is JSON nested 5,000 levels deep")


# -- 15: sidebar filters read from the URL -------------------------------------------------


FILTER_LINKS: dict[str, tuple[dict[str, str | list[str]], str]] = {
    "from_not_a_date": ({"from": "garbage"}, "from\\='garbage' is not a date"),
    "from_very_long": ({"from": "2025-01-01" * 5_000}, "is not a date"),
    "to_outside_the_data": ({"to": "9999-12-31"}, "to\\=9999\\-12\\-31 is outside the data"),
    "too_many_segments": ({"segment": ["smb"] * 200}, "segment has 200 values"),
    "segment_too_long": ({"segment": ["x" * 50_000, "smb"]}, "longer than 100 characters"),
    "unknown_region": ({"region": ["<b>mars</b>"]}, "region\\='&lt;b&gt;mars&lt;/b&gt;' is not"),
}


@pytest.mark.usefixtures("app_db")
@pytest.mark.parametrize("case", list(FILTER_LINKS))
def test_bad_filters_in_a_link_give_a_sidebar_note(case: str) -> None:
    query, expected = FILTER_LINKS[case]
    at = _open(None, query)
    assert not at.exception and not at.error, _texts(at)
    notes = [str(w.value) for w in at.sidebar.warning if "filters were not used" in str(w.value)]
    assert len(notes) == 1 and expected in notes[0], (notes, _texts(at))
    at.run()  # the widgets corrected the URL: the note is not repeated
    assert not [w for w in at.sidebar.warning if "filters were not used" in str(w.value)]


# -- 17: CSV downloads -----------------------------------------------------------------------

EVIL_TICKETS = [
    "Refund please\r=cmd|' /C calc'!A0",
    "ok\n+SUM(A1)",
    "a\r\n@x",
    "line\r\tq",
    '=HYPERLINK("http://x")',
    'quote " and, comma',
    "-5",
    "fine\n-3",
]
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _unsafe(cell: str) -> bool:
    """A cell, or a line inside it, that starts like a formula (a plain number is fine)."""
    import re

    number = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
    lines = [cell, *re.split(r"\r\n|\r|\n", cell)[1:]]
    return any(line.startswith(FORMULA) and not number.fullmatch(line) for line in lines)


def test_ticket_csv_is_quoted_and_neutralised_after_line_breaks() -> None:
    from data.export import to_csv_bytes

    frame = pd.DataFrame({"text": EVIL_TICKETS, "n": range(len(EVIL_TICKETS))})
    data = to_csv_bytes(frame)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert len(rows) == 1 + len(EVIL_TICKETS)  # no row split at a bare CR or LF
    back = [row[0] for row in rows[1:]]
    assert back[0] == "Refund please\r'=cmd|' /C calc'!A0"
    assert back[6] == "-5" and back[7] == "fine\n-3"
    assert not [c for row in rows for c in row if _unsafe(c)]
    read = pd.read_csv(io.BytesIO(data))
    assert read["text"].tolist() == back and read["n"].tolist() == list(range(len(back)))
    # a reader that splits rows at every CR and LF still sees no line starting a formula
    for line in data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        assert not line.lstrip('"').startswith(("=", "+", "@", "\t")), line
        assert not (line.lstrip('"').startswith("-") and not line.lstrip('"')[1:2].isdigit())


def test_neutralising_twice_adds_nothing_after_line_breaks() -> None:
    from data.export import neutralise_cell

    once = [neutralise_cell(t) for t in EVIL_TICKETS]
    assert [neutralise_cell(t) for t in once] == once


# -- 18: no built-in table download --------------------------------------------------------


def test_tables_have_no_built_in_csv_download() -> None:
    """``client.disableDataExport`` hides st.dataframe's "Download as CSV", which would
    export ticket text as is (the browser check is in tests/e2e/test_exports_e2e.py)."""
    from streamlit import config

    settings = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert settings["client"]["disableDataExport"] is True
    assert "client.disableDataExport" in config._config_options_template  # a real option


# -- 19: long words wrap ---------------------------------------------------------------------


def test_a_ticket_card_wraps_long_words_and_escapes_text() -> None:
    from dashboard.ui import ticket_card_html

    card = ticket_card_html(
        "<b>" + "w" * 90_000, [{"start": 0, "end": 3, "label": "ORG"}], ["2026-01-01", "<i>smb</i>"]
    )
    assert "overflow-wrap:anywhere" in card and "word-break:break-word" in card
    assert "<b>" not in card and "<i>" not in card and "&lt;i&gt;smb&lt;/i&gt;" in card
