"""The Signals page and the Overview's open-alerts count under AppTest, on the demo database
(2,000 tickets, seed 7, gold spans stored as the entities of the model ``gold-test``).

The demo plants four surges (``demo_surges``); they lie in the past of the demo's last day,
so the page lists them as earlier alerts. A copy cut on the second day of the Europe outage
makes that surge an open alert.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboard.conftest import APP
from tests.dashboard.signin import (
    ANALYST,
    EMAIL,
    VIEWER,
    app_as,
    no_pii,
    plain,
    texts,
)

PAGE = "views/signals.py"
OUTAGE_DAY2 = "2025-06-11"  # the demo's Europe outage runs 2025-06-10 to 06-12


def store_write(db: Path, fn: Any) -> None:
    from data.store import Store

    with Store.open(db) as store:
        store.write(fn)


def planted() -> list[tuple[str, str]]:
    """The demo's planted surges (from the store the app holds open)."""
    from dashboard import state

    return [
        tuple(r)
        for r in state.store().fetchall(
            "SELECT dimension, value FROM demo_surges ORDER BY surge_id"
        )
    ]


def run_page(at: AppTest | None = None) -> AppTest:
    if at is None:
        at = AppTest.from_file(str(APP), default_timeout=90)
    at.run()
    at.switch_page(PAGE).run()
    clean(at)
    return at


def clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def headlines(at: AppTest) -> list[str]:
    return [
        plain(m.value).replace("**", "")
        for m in at.markdown
        if m.value.startswith("**negative surge")
    ]


def toggle(at: AppTest, prefix: str) -> Any:
    found = [t for t in at.toggle if (t.key or "").startswith(f"sig_open_{prefix}")]
    assert len(found) == 1, [t.key for t in at.toggle]
    return found[0]


def cards(at: AppTest) -> list[str]:
    return [h.proto.body for h in at.get("html")]


@pytest.fixture
def cut_in_outage(app_db: Path) -> Path:
    """The app's database with every ticket from the outage's third day on removed."""

    def cut(conn: Any) -> None:
        conn.execute("DELETE FROM tickets WHERE created_at >= CAST(? AS DATE) + 1", [OUTAGE_DAY2])
        for table in ("tagged_tickets", "entities"):
            conn.execute(
                f"DELETE FROM {table} WHERE ticket_key NOT IN (SELECT ticket_key FROM tickets)"
            )

    store_write(app_db, cut)
    return app_db


def test_every_planted_surge_is_listed_with_its_source(app_db: Path) -> None:
    at = run_page()
    text = texts(at)
    assert "demo ground truth" in text and "model gold-test" in text
    assert at.subheader[0].value == "Open alerts (0)"
    assert "No open alerts" in text
    listed = " | ".join(headlines(at))
    for dimension, value in planted():
        assert f"negative surge: {dimension} {value} · closed" in listed, (dimension, value)
    assert at.get("vega_lite_chart"), "the trend chart"
    assert "it does not prove why a customer leaves" in text
    assert "ROC AUC" in text
    assert "removes 50% of the risk" in text  # the OfferAssumptions defaults


def test_an_open_alert_opens_its_tickets_and_overview_counts_it(cut_in_outage: Path) -> None:
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.run()
    clean(at)
    count = next(m for m in at.metric if m.label == "Open alerts")
    at.switch_page(PAGE).run()
    clean(at)
    opened = int(at.subheader[0].value.split("(")[1].rstrip(")"))
    assert opened >= 1 and count.value == str(opened)
    assert "negative surge: region Europe · open" in headlines(at)
    assert not cards(at)  # tickets only on demand
    switch = toggle(at, "region_2025-06-10")
    n = int(switch.label.split()[2])
    switch.set_value(True).run()
    clean(at)
    shown = cards(at)
    assert len(shown) == 1 and shown[0].count("border:1px solid #ddd") == min(n, 25)
    assert "<mark" in shown[0]  # entities highlighted
    assert f"{n} negative tickets, oldest first" in texts(at)


def test_risk_filters_sort_and_formula_safe_csv(app_db: Path, downloads: dict[str, bytes]) -> None:
    store_write(
        app_db,
        lambda conn: conn.execute(
            "UPDATE customers SET name = '=HYPERLINK(\"http://x\")' || customer_id"
        ),
    )
    at = run_page()
    table = at.dataframe[-1].value
    assert len(table) > 0 and list(table["risk"]) == sorted(table["risk"], reverse=True)
    at.multiselect(key="sig_seg").set_value(["developer"]).run()
    at.selectbox(key="sig_sort").set_value("Expected profit effect").run()
    clean(at)
    table = at.dataframe[-1].value
    assert set(table["segment"]) == {"developer"}
    assert list(table["profit_effect"]) == sorted(table["profit_effect"], reverse=True)
    rows = list(csv.DictReader(io.StringIO(downloads["customers-at-risk.csv"].decode())))
    assert [r["customer_id"] for r in rows] == list(table["customer_id"])
    assert rows and all(r["name"].startswith("'=HYPERLINK") for r in rows)
    competitors = at.multiselect(key="sig_comp").options
    assert "(none named)" in competitors
    at.multiselect(key="sig_comp").set_value(["(none named)"]).run()
    assert at.dataframe[-1].value["top_competitor"].isna().all()


@pytest.fixture
def pii_in_outage(secured: Path) -> Path:
    """The secured database with one of the outage's negative tickets carrying customer data
    (and the e-mail address as an entity, so the alert names it)."""
    from tests.dashboard.signin import PII_TEXT

    def plant(conn: Any) -> None:
        key = conn.execute(
            "SELECT min(ticket_key) FROM gold_sentiment WHERE surge_id = 1"
        ).fetchone()[0]
        conn.execute("UPDATE tickets SET text = ? WHERE ticket_key = ?", [PII_TEXT, key])
        conn.execute("DELETE FROM entities WHERE ticket_key = ?", [key])
        start = PII_TEXT.index(EMAIL)
        conn.execute(
            "INSERT INTO entities VALUES (?, 'gold-test', ?, ?, 'PER', ?, 0.9)",
            [key, start, start + len(EMAIL), EMAIL],
        )

    store_write(secured, plant)
    return secured


@pytest.mark.usefixtures("loopback")
def test_a_viewer_sees_customer_data_masked(pii_in_outage: Path) -> None:
    for email, masked in ((VIEWER, True), (ANALYST, False)):
        at = run_page(app_as(email))
        toggle(at, "region_2025-06-10").set_value(True).run()
        clean(at)
        page = texts(at)
        assert "negative surge: region Europe" in page
        assert no_pii(page) is masked, email
        if not masked:
            assert EMAIL in page


def test_no_sentiment_says_so_and_overview_shows_a_dash(app_db: Path) -> None:
    store_write(app_db, lambda conn: conn.execute("DELETE FROM gold_sentiment"))
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.run()
    assert next(m for m in at.metric if m.label == "Open alerts").value == "—"
    at.switch_page(PAGE).run()
    clean(at)
    assert "No ticket has a sentiment label" in texts(at)
    assert not at.dataframe and not at.toggle


def test_the_model_sentiment_is_preferred_to_ground_truth(app_db: Path) -> None:
    store_write(
        app_db,
        lambda conn: conn.execute(
            "INSERT INTO ticket_sentiment SELECT ticket_key, 'gold-test', label, 0.9"
            " FROM gold_sentiment"
        ),
    )
    at = run_page()
    text = texts(at).replace("**", "")
    assert "Sentiment shown: model gold-test" in text and "demo ground truth" not in text
    assert len(headlines(at)) >= len(planted())
