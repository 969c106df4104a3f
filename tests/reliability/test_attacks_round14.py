"""Round 14 of the hostile-user attacks (#12): what broke, as regression tests.

The round was run attack-only (RELIABILITY.md, "Round 14"); its one break is fixed here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.ui import md_text
from tests.dashboard.conftest import APP, app_db  # noqa: F401  (the fixture)

BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
REVERSING = "a\u202eevil"


@pytest.mark.parametrize(
    "control",
    ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"],
)
def test_md_text_shows_a_bidirectional_control_as_its_escape(control: str) -> None:
    """Expected: a one-line label never carries an explicit bidirectional control raw (it
    would reorder the rest of the line); it shows the control's escape instead."""
    shown = md_text(f"x{control}y ×9; Claude ×14")
    assert not BIDI.search(shown)
    assert f"u{ord(control):04x}" in shown and "Claude" in shown


def test_a_right_to_left_override_in_an_alert_entity_does_not_reverse_the_list(
    app_db: Path,
) -> None:
    """Expected: an entity named ``a<U+202E>evil`` by the negative tickets of an open alert is
    shown on Signals (the alert's "Entities most named" and its title) with the override
    escaped, so "×14" still reads "×14".

    Broke: ``ui.md_text`` escaped Markdown and HTML but let U+202E through: in chromium the
    caption "Entities most named: a‮evil ×40; OpenAI ×43; Claude ×14" drew everything after
    the name backwards ("41×" for "×14"); round 8 had isolated the same in ticket cards only.
    """
    from data import rollups
    from data.store import Store

    with Store.open(app_db) as store:
        last = store.scalar("SELECT max(created_at) FROM tickets")

        def plant(conn) -> None:
            conn.execute(
                "CREATE TEMP TABLE surge AS SELECT 'surge-' || i AS ticket_key, customer_id,"
                " ?::TIMESTAMP - INTERVAL (i % 2) DAY AS created_at FROM (SELECT customer_id,"
                " row_number() OVER (ORDER BY customer_id) AS i FROM customers) WHERE i <= 40",
                [last],
            )
            conn.execute(
                "INSERT INTO tickets (ticket_key, source_id, customer_id, created_at, channel,"
                " category, subject, text, source) SELECT ticket_key, ticket_key, customer_id,"
                " created_at, 'email', 'billing', 'angry', 'refund now, I am leaving',"
                " 'surge.csv' FROM surge"
            )
            conn.execute(
                "INSERT INTO gold_sentiment SELECT ticket_key, 'negative', 'ticket', NULL FROM surge"
            )
            conn.execute(
                "INSERT INTO entities SELECT ticket_key, 'gold-test', 0, 6, 'PRODUCT', ?, 0.9"
                " FROM surge",
                [REVERSING],
            )
            conn.execute(
                "INSERT INTO tagged_tickets (ticket_key, model_id, run_id)"
                " SELECT ticket_key, 'gold-test', 'r' FROM surge"
            )

        store.write(plant)
        rollups.rebuild_rollups(store)
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.switch_page("views/signals.py").run()
    assert not at.exception, [e.value for e in at.exception]
    for toggle in at.toggle:
        if (toggle.key or "").startswith("sig_open_"):
            toggle.set_value(True)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = [c.value for c in at.caption] + [m.value for m in at.markdown]
    named = [s for s in shown if "evil" in s]
    assert named, "the planted entity is named on the page"
    assert all("u202e" in s for s in named), named
    assert not [s for s in shown if BIDI.search(s)]
