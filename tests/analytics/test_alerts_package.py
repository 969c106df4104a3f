"""``analytics.alerts`` as a package: every name it had as one module is still importable
from it (and from ``analytics``), its modules stay small, the SQL builder keeps the
parameters in the order of the text, the quick screen of the scan decides as the full sum,
and an opened alert's tickets are read by their keys."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

import numpy as np
import pytest

import analytics
from analytics import alerts
from analytics.alerts import rule, sql
from data.store import Store

#: What ``analytics.alerts`` offered as one module, and the private names other modules
#: and tests use.
NAMES = [
    "ALERT_COLUMNS",
    "DIMENSIONS",
    "ENTITY_DIMS",
    "FREQS",
    "GOLD",
    "MENTION_COLUMNS",
    "NAMED",
    "NAME_TABLE_SQL",
    "SERIES_COLUMNS",
    "STATED_FALSE_ALARM_RATE",
    "UNIT_COLUMNS",
    "USE_ROLLUPS",
    "FalseAlarmReport",
    "SignalCounts",
    "SignalSource",
    "SurgeRule",
    "alert_details",
    "control_limit",
    "false_alarm_rate",
    "negative_share",
    "open_alert_count",
    "signal_counts",
    "signal_source",
    "surge_alerts",
    "surge_p_value",
    "surge_scan",
    "ticket_signals",
]
MODULES = [
    "analytics.alerts.scopes",
    "analytics.alerts.rule",
    "analytics.alerts.sql",
    "analytics.alerts.counts",
    "analytics.alerts.scan",
    "analytics.alerts.assembly",
    "analytics.alerts.details",
    "analytics.alerts.tickets",
    "analytics.alerts.source",
]


@pytest.mark.parametrize("name", NAMES)
def test_every_name_of_the_module_is_still_importable(name: str) -> None:
    assert getattr(alerts, name) is not None


def test_the_lazy_exports_of_analytics_resolve() -> None:
    for name, home in analytics._HOME.items():
        if home == "analytics.alerts":
            assert getattr(analytics, name) is getattr(alerts, name)


def test_each_module_is_small() -> None:
    for name in MODULES:
        path = Path(importlib.import_module(name).__file__)
        assert len(path.read_text(encoding="utf-8").splitlines()) < 600, path


def test_the_cte_builder_keeps_parameters_in_text_order() -> None:
    q = sql.with_ctes(
        sql.cte("s", sql.sentiment_rows("m1")),
        sql.cte("ent", sql.entity_rows("m2"), materialized=True),
        sql.cte("g", sql.Sql("SELECT 1 WHERE TRUE") + sql.day_between(None, "2025-01-02", "d")),
    ) + sql.Sql(" SELECT ? FROM s", ("last",))
    assert q.text.startswith("WITH s AS (SELECT ticket_key, label FROM ticket_sentiment")
    assert "ent AS MATERIALIZED (" in q.text
    assert q.text.count("?") == len(q.params)
    assert q.params[:2] == ("m1", "m2") and q.params[-1] == "last"
    assert sql.entity_rows("gold").params == () and "gold_entities" in sql.entity_rows("gold").text
    with pytest.raises(ValueError, match="sentiment"):
        sql.sentiment_rows(" ")


def test_the_quick_screen_decides_as_the_full_sum() -> None:
    gen = np.random.default_rng(7)
    n = gen.integers(1, 300, 4000).astype(float)
    x = np.floor(n * gen.uniform(0, 0.6, n.size))
    bn = gen.integers(0, 5000, n.size).astype(float)
    bx = np.floor(bn * gen.uniform(0, 0.3, n.size))
    stop = rule.ROUGH_MARGIN * 0.001
    full = rule.rough_tail(x, n, bx, bn, 0.5)
    quick = rule.rough_tail(x, n, bx, bn, 0.5, stop)
    assert ((full <= stop) == (quick <= stop)).all()
    below = full <= stop
    assert below.any() and (~below).any()
    assert (full[below] == quick[below]).all()  # summed alike, to the last bit


def _alert(store: Store) -> tuple[tuple[str, ...], object, object]:
    found = alerts.surge_alerts(store, open_only=False)
    row = found.iloc[int(found["negative"].to_numpy().argmax())]
    return tuple(row["ticket_keys"]), row["since"], alerts.last_day(found).iloc[row.name]


def test_an_alerts_tickets_are_read_by_key_oldest_first(demo_db_path: Path) -> None:
    with Store.open(demo_db_path, read_only=True) as store:
        keys, first, last = _alert(store)
        assert len(keys) > 3
        got = alerts.alert_tickets(store, keys, None, start=first, end=last)
        assert list(got.columns) == alerts.TICKET_COLUMNS
        assert tuple(got["ticket_key"]) == keys  # the alert's order: oldest first
        assert got["entities"].map(len).eq(0).all()  # no tagger: nothing highlighted
        some = alerts.alert_tickets(store, ("no-such-ticket", keys[2], keys[0]), None)
        assert list(some["ticket_key"]) == [keys[0], keys[2]]
        assert alerts.alert_tickets(store, (), None).empty


def test_an_alerts_tickets_carry_the_taggers_entities(demo_db_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "tagged.duckdb"
    shutil.copy(demo_db_path, path)
    with Store.open(path) as store:
        keys, first, last = _alert(store)
        store.execute_write(
            'INSERT INTO entities (ticket_key, model_id, start, "end", label, text, score)'
            " SELECT ticket_key, 'm', start, \"end\", label, text, 1.0 FROM gold_entities"
            " WHERE ticket_key = ?",
            [keys[0]],
        )
        got = alerts.alert_tickets(store, keys[:2], "m", start=first, end=last)
        spans = store.fetchall(
            'SELECT start, "end", label, text FROM gold_entities WHERE ticket_key = ?'
            ' ORDER BY start, "end"',
            [keys[0]],
        )
        assert [(e["start"], e["end"], e["label"], e["text"]) for e in got["entities"][0]] == [
            tuple(s) for s in spans
        ]
        assert got["entities"][1] == []
