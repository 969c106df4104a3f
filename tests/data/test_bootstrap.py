"""data.bootstrap, data.reference and the alias table of data.competitor_names."""

from __future__ import annotations

import pandas as pd

from data.bootstrap import ensure_demo_database, has_tickets
from data.competitor_names import competitor_aliases
from data.reference import (
    COST_ANCHOR_DEFAULTS,
    competitor_price_rows,
    load_competitor_prices,
    price_cut_events,
)
from data.store import Store


def test_first_start_creates_the_demo_database(tmp_path):
    db = tmp_path / "sub" / "pricewar.duckdb"
    calls = []
    assert ensure_demo_database(db, tickets=120, progress=lambda d, t: calls.append((d, t))) == db
    assert has_tickets(db) and calls[-1] == (120, 120)
    assert not list(db.parent.glob(".*.tmp*"))
    mtime = db.stat().st_mtime_ns
    ensure_demo_database(db, tickets=120)  # already there: untouched
    assert db.stat().st_mtime_ns == mtime


def test_an_empty_store_is_filled(tmp_path):
    db = tmp_path / "empty.duckdb"
    Store.open(db).close()
    assert not has_tickets(db)
    ensure_demo_database(db, tickets=30)
    with Store.open(db, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM tickets") == 30


def test_competitor_prices_load_usd_and_cny(tmp_store):
    n = load_competitor_prices(tmp_store)
    rows = tmp_store.query("SELECT * FROM competitor_prices")
    assert n == len(rows) == len(competitor_price_rows())
    assert {"USD", "CNY"} <= set(rows["currency"])
    cny = rows[rows["currency"] == "CNY"].iloc[0]
    assert cny["input_price_usd"] < cny["input_price"]  # converted at ~6.7 CNY/USD
    dated = rows.dropna(subset=["valid_to"])
    assert len(dated) >= 4
    assert load_competitor_prices(tmp_store) == n  # replaces, never duplicates
    assert tmp_store.scalar("SELECT count(*) FROM competitor_prices") == n


def test_aliases():
    aliases = competitor_aliases()
    expected = {
        "gpt-4o": "OpenAI",
        "claude 3.5 sonnet": "Anthropic",
        "deepseek-v3": "DeepSeek",
        "openai": "OpenAI",
        "anthropic": "Anthropic",
        "deepseek": "DeepSeek",
        "moonshot": "Moonshot AI",
        "kimi": "Moonshot AI",
        "qwen": "Alibaba Qwen",
        "alibaba": "Alibaba Qwen",
    }
    for alias, vendor in expected.items():
        assert aliases[alias] == vendor
    assert all(a == a.lower().strip() for a in aliases)


def test_price_cut_events_are_the_real_cuts():
    cuts = price_cut_events()
    assert list(cuts.columns)[:5] == ["vendor", "vendor_id", "model_id", "model", "date"]
    assert (cuts["pct_change"] < 0).all() and (cuts["new_price"] < cuts["old_price"]).all()
    luna = cuts[cuts["model_id"] == "gpt-5.6-luna"].iloc[0]
    assert luna["date"] == pd.Timestamp("2026-07-30") and luna["pct_change"] == -80.0
    everything = price_cut_events(include_rises=True)
    assert (everything["pct_change"] > 0).any() and len(everything) > len(cuts)


def test_cost_anchor_defaults():
    a = COST_ANCHOR_DEFAULTS
    assert a.gpu_hour_usd == 2.0 and a.human_ticket_usd == 13.5
    assert a.self_service_ticket_usd == 1.84 and a.ai_resolution_usd == 0.99
    assert 0.3 <= a.utilisation <= 0.6
