"""SQL inputs and competitor-mention signals on a small hand-built store."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics.inputs import (
    current_prices,
    price_history,
    segment_snapshot,
    segments,
    usage_panel,
)
from analytics.signals import (
    competitor_mention_rates,
    competitor_pressure,
    mentions_by_vendor,
    newest_model_id,
)

ALIASES = {"gpt-4o": "OpenAI", "openai": "OpenAI", "deepseek": "DeepSeek"}


@pytest.fixture
def store(tmp_store):
    def fill(conn) -> None:
        conn.execute(
            "INSERT INTO customers VALUES"
            " ('a', 'A', 'smb', 'retail', 'Pro', 'EU', 10, '2025-01-01', NULL),"
            " ('b', 'B', 'enterprise', 'bank', 'Enterprise', 'US', 900, '2025-01-01',"
            "  NULL)"
        )
        conn.executemany(
            "INSERT INTO usage VALUES (?, ?, ?, 1, ?, ?, ?, ?)",
            [
                ("a", dt.date(2025, 1, 1), "Pro", 800_000, 200_000, 1.0, 1.0),
                ("a", dt.date(2025, 2, 1), "Pro", 1_600_000, 400_000, 0.5, 1.0),
                ("b", dt.date(2025, 2, 1), "Enterprise", 8_000_000, 2_000_000, 0.8, 8.0),
            ],
        )
        conn.execute(
            "INSERT INTO price_history VALUES"
            " ('Pro', '2025-01-01', '2025-02-01', 0.6, 2.4, 1.0),"
            " ('Pro', '2025-02-01', NULL, 0.3, 1.2, 0.5),"
            " ('Enterprise', '2025-01-01', NULL, 0.5, 2.0, 0.8)"
        )
        tickets = [
            ("t1", "a", "2025-01-05", "human"),
            ("t2", "a", "2025-02-05", "ai"),
            ("t3", "b", "2025-02-06", None),
            ("t4", "b", "2025-02-07", "ai"),
        ]
        for key, cust, day, by in tickets:
            conn.execute(
                "INSERT INTO tickets (ticket_key, customer_id, created_at, text,"
                " resolved_by, source) VALUES (?, ?, ?, 'x', ?, 'test')",
                [key, cust, day, by],
            )
        for key in ("t1", "t2", "t3", "t4"):
            conn.execute("INSERT INTO tagged_tickets VALUES (?, 'old', 'r0', '2025-03-01')", [key])
        for key in ("t1", "t2", "t3"):
            conn.execute("INSERT INTO tagged_tickets VALUES (?, 'new', 'r1', '2025-04-01')", [key])
        ents = [
            ("t1", "new", 0, 6, "PRODUCT", " GPT-4o "),
            ("t1", "new", 10, 16, "ORG", "OpenAI"),
            ("t2", "new", 0, 8, "ORG", "deepSEEK"),
            ("t3", "new", 0, 4, "PER", "Anna"),
            ("t4", "old", 0, 6, "ORG", "openai"),
        ]
        conn.executemany("INSERT INTO entities VALUES (?, ?, ?, ?, ?, ?, 0.9)", ents)

    tmp_store.write(fill)
    return tmp_store


def test_usage_and_prices(store) -> None:
    assert segments(store) == ["enterprise", "smb"]
    panel = usage_panel(store, segment="smb")
    assert panel["tokens"].tolist() == [1_000_000.0, 2_000_000.0]
    assert usage_panel(store, start=dt.date(2025, 2, 1))["customer_id"].tolist() == ["a", "b"]
    assert len(price_history(store)) == 3 and len(price_history(store, "Pro")) == 2
    cur = current_prices(store).set_index("plan")
    assert cur.loc["Pro", "price_per_m"] == 0.5


def test_segment_snapshot(store) -> None:
    snap = segment_snapshot(store, months=2)
    allrow = snap[snap["segment"].isna()].iloc[0]
    assert allrow["tokens"] == pytest.approx((1e6 + 2e6 + 10e6) / 2)
    assert allrow["tickets_per_million"] == pytest.approx((4 / 2) / (13 / 2))
    ent = snap[snap["segment"] == "enterprise"].iloc[0]
    assert ent["ai_share"] == 1.0  # the open ticket is not counted as resolved


def test_newest_model_and_mention_rates(store) -> None:
    assert newest_model_id(store) == "new"
    r = competitor_mention_rates(store, aliases=ALIASES)
    smb = r[r["segment"] == "smb"].set_index("month")
    assert smb["rate"].tolist() == [1.0, 1.0]  # " GPT-4o " and "deepSEEK" match, any case
    ent = r[r["segment"] == "enterprise"].iloc[0]
    assert (ent["tickets"], ent["mention_tickets"]) == (1, 0)  # t4 not tagged by "new"
    old = competitor_mention_rates(store, model_id="old", aliases=ALIASES)
    assert old.loc[old["segment"] == "enterprise", "mention_tickets"].sum() == 1
    v = mentions_by_vendor(store, aliases=ALIASES).set_index("vendor")
    assert v.loc["OpenAI", "tickets"] == 1 and v.loc["DeepSeek", "tickets"] == 1
    assert v.loc["OpenAI", "share"] == pytest.approx(1 / 3)
    p = competitor_pressure(store, aliases=ALIASES, recent_months=1).set_index("segment")
    assert p.loc["smb", "rate"] == 1.0 and p.loc["enterprise", "rate"] == 0.0


def test_signals_empty_store(tmp_store) -> None:
    assert newest_model_id(tmp_store) is None
    assert competitor_mention_rates(tmp_store).empty
    assert competitor_pressure(tmp_store).empty
    assert segment_snapshot(tmp_store).empty
