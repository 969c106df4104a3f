"""The Signals page in a real browser: an open alert is listed, its tickets open with their
entities highlighted, and hostile ticket text among them stays text (no dialog, no element
made from it).

The module's own ``streamlit run`` serves a demo (2,000 tickets, seed 7) cut on the second
day of its planted Europe outage, so that surge is an open alert, with one more negative
ticket of a European customer that day carrying script and HTML.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.streamlit_server import run_streamlit
from tests.chromium import settle
from tests.e2e import test_hostile_text as hostile
from tests.e2e.conftest import ARTIFACTS, HOSTILE
from tests.e2e.test_hostile_text import healthy, shot

pytestmark = pytest.mark.e2e
#: A fresh page recording dialogs, elements made from hostile markup and remote requests,
#: on this module's ``hostile_server``.
hpage = hostile.hpage

MARK = "signalsprobe"
TEXT = f"{MARK} Everything times out since this morning. {HOSTILE}"
DAY2 = "2025-06-11 10:30:00"  # the outage runs 2025-06-10 to 06-12


def _cut_and_add_hostile(conn) -> None:
    """Cut the demo after the outage's second day, add the hostile negative ticket and store
    the gold spans (and the ticket's "OpenAI") as the entities of a stand-in model."""
    conn.execute("DELETE FROM tickets WHERE created_at >= DATE '2025-06-12'")
    conn.execute(
        "INSERT INTO tickets (ticket_key, customer_id, created_at, text, source,"
        " channel, category) SELECT 'hostile-signal', min(customer_id), ?, ?, 'demo',"
        " 'email', 'api_error' FROM customers WHERE region = 'Europe'",
        [DAY2, TEXT],
    )
    conn.execute("INSERT INTO gold_sentiment VALUES ('hostile-signal', 'negative', 'ticket', NULL)")
    conn.execute(
        "INSERT INTO entities SELECT g.ticket_key, 'gold-signals', g.start, g.\"end\","
        " g.label, g.text, 1.0 FROM gold_entities g JOIN tickets t USING (ticket_key)"
    )
    start = TEXT.index("OpenAI")
    conn.execute(
        "INSERT INTO entities VALUES ('hostile-signal', 'gold-signals', ?, ?, 'ORG', 'OpenAI', 1)",
        [start, start + len("OpenAI")],
    )
    conn.execute(
        "INSERT INTO tagged_tickets (ticket_key, model_id, run_id)"
        " SELECT ticket_key, 'gold-signals', 'e2e-signals' FROM tickets"
    )


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory, demo_db_path: Path) -> Iterator[str]:
    """This module's server (``hpage`` of test_hostile_text opens its pages), on a copy of
    the session's demo database with hostile tickets added."""
    from data.store import Store

    folder = tmp_path_factory.mktemp("e2e-signals")
    db = folder / "signals.duckdb"
    shutil.copy(demo_db_path, db)
    with Store.open(db) as store:
        store.write(_cut_and_add_hostile)
    env = {
        **os.environ,
        "PRICEWAR_DB": str(db),
        "PRICEWAR_AUTOTAG": "0",
        "PRICEWAR_INBOX_SECONDS": "0",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONWARNINGS": "ignore",
    }
    with run_streamlit(
        db, env, log=folder / "streamlit.log", keep_log=ARTIFACTS / "streamlit-signals.log"
    ) as running:
        yield running.url


def test_an_open_alert_opens_its_tickets_and_hostile_text_stays_text(
    hpage, hostile_server: str
) -> None:
    page = hpage
    page.goto(f"{hostile_server}/signals")
    page.wait_for_selector('h1:has-text("Signals")', timeout=90_000)
    settle(page)
    assert page.locator("h3", has_text="Open alerts (").first.is_visible()
    alert = page.locator(
        '[data-testid="stLayoutWrapper"]',  # the alert's bordered box
        has_text="negative surge: region Europe · open",
    ).first
    alert.wait_for()
    assert "Since 2025-06-10" in alert.inner_text()
    alert.get_by_text("Open its", exact=False).first.click()  # the toggle
    settle(page)
    cards = page.locator('[data-testid="stHtml"]', has_text=MARK)
    cards.first.wait_for()
    card = cards.first.locator("div", has_text=MARK).last
    assert '<script>alert("xss")</script>' in card.inner_text()  # shown, not run
    assert cards.first.locator("script, img, a").count() == 0
    assert cards.first.locator("mark").count() >= 1  # entities highlighted
    shot(page, "signals-hostile", MARK)
    healthy(page)
