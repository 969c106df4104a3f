"""The signals from the roll-ups (``rollup_signal_days``) and from the base tables are the
same — alerts, trends, scans, customers at risk, the Overview's open-alert count — and
every writer (tagging with sentiment, resets, a bypassing write, an upgrade) keeps the
roll-up equal to a rebuild."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import duckdb
import pandas as pd
import pytest

from analytics import alerts, risk
from data import rollup_series, rollup_tables, rollups
from data.migrations import MIGRATIONS
from data.reset import reset_batch, reset_model
from data.store import Store
from model.jobs import tag_store
from tests.conftest import open_copy, tag_a_copy
from tests.data.test_rollups import GoldTagger, _assert_equals_rebuild

MODEL = "gold-test"  # the tagger of tests.data.test_rollups (gold spans, mixed case)


def _surge_day(store: Store) -> dt.date:
    """The day after the demo's planted outage began: alerts are open then."""
    day = store.scalar(
        "SELECT start_day FROM demo_surges WHERE kind = 'outage' ORDER BY surge_id LIMIT 1"
    )
    return pd.Timestamp(day).date() + dt.timedelta(days=1)


class _Mood(NamedTuple):
    label: str
    score: float


class GoldSentimentTagger(GoldTagger):
    """:class:`GoldTagger` with a sentiment head that answers the gold sentiment, except
    every fifth ticket (so the model's labels differ from the ground truth's)."""

    has_sentiment = True

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        rows = store.fetchall(
            "SELECT t.text, g.label FROM gold_sentiment g"
            " JOIN tickets t USING (ticket_key) ORDER BY t.text"
        )
        flip = {"negative": "neutral", "neutral": "negative", "positive": "negative"}
        self.moods = {
            text: (flip[label] if i % 5 == 0 else label) for i, (text, label) in enumerate(rows)
        }

    def tag_with_sentiment(self, texts: list[str], batch_size: int = 32):
        return self.tag(texts, batch_size), [
            _Mood(self.moods.get(t, "neutral"), 0.9) for t in texts
        ]


@pytest.fixture(scope="module")
def tagged_db(demo_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session demo with every ticket tagged, entities and sentiment, batch by batch
    (``model.jobs.tag_store``: the roll-ups maintained in each batch's transaction)."""
    return tag_a_copy(
        demo_db_path,
        tmp_path_factory.mktemp("signal-rollups") / "tagged.duckdb",
        GoldSentimentTagger,
    )


@pytest.fixture
def tagged_store(tagged_db: Path, tmp_path: Path) -> Iterator[Store]:
    """A writable copy of :func:`tagged_db`."""
    with open_copy(tagged_db, tmp_path) as store:
        yield store


SOURCES = [("gold", "gold"), ("gold", MODEL), (MODEL, MODEL)]


def _both(store: Store, **kw) -> tuple[alerts.SignalCounts, alerts.SignalCounts]:
    assert rollups.signals_fresh(store.cursor())
    return (alerts.signal_counts(store, **kw), alerts.signal_counts(store, rollups=False, **kw))


@pytest.mark.parametrize(("sentiment", "entities"), SOURCES)
def test_counts_are_the_same_from_rollups_and_base_tables(tagged_db, sentiment, entities):
    with Store.open(tagged_db, read_only=True) as store:
        for start, end in [(None, None), (dt.date(2025, 3, 5), _surge_day(store))]:
            a, b = _both(store, sentiment=sentiment, entities=entities, start=start, end=end)
            assert len(a.units)
            pd.testing.assert_frame_equal(a.units, b.units)
            pd.testing.assert_frame_equal(a.series, b.series)
            pd.testing.assert_frame_equal(a.mentions, b.mentions)


@pytest.mark.parametrize(("sentiment", "entities"), SOURCES)
def test_every_signal_is_the_same_from_rollups_base_tables_and_ticket_signals(
    tagged_db, sentiment, entities
):
    """The figures from the roll-up, from the base tables and from the per-ticket frame
    (:func:`analytics.alerts.ticket_signals`, how they were computed before the roll-up)."""
    with Store.open(tagged_db, read_only=True) as store:
        rolled, base = _both(store, sentiment=sentiment, entities=entities)
        frame = alerts.ticket_signals(store, sentiment=sentiment, entities=entities)
        kw = {"sentiment": sentiment, "entities": entities}
        for freq in ("day", "week"):
            for as_of in (None, _surge_day(store)):
                shown = []
                for signals in (rolled, base, frame):
                    if as_of is not None and signals is not frame:
                        signals = alerts.signal_counts(
                            store, end=as_of, **kw, rollups=signals is rolled
                        )
                    elif as_of is not None:
                        signals = frame[frame["day"] <= as_of]
                    got = alerts.surge_alerts(
                        store, freq=freq, open_only=False, as_of=as_of, signals=signals, **kw
                    )
                    count = alerts.open_alert_count(
                        store, freq=freq, as_of=as_of, signals=signals, **kw
                    )
                    assert count == int(got["open"].sum())
                    shown.append(got)
                assert len(shown[0])
                pd.testing.assert_frame_equal(shown[0], shown[1])
                pd.testing.assert_frame_equal(shown[0], shown[2])
                # and read by surge_alerts itself, from the store
                pd.testing.assert_frame_equal(
                    shown[0],
                    alerts.surge_alerts(store, freq=freq, open_only=False, as_of=as_of, **kw),
                )
            for dim in alerts.DIMENSIONS:
                want = alerts.negative_share(frame, freq=freq, dimension=dim)
                pd.testing.assert_frame_equal(
                    want, alerts.negative_share(rolled, freq=freq, dimension=dim)
                )
                pd.testing.assert_frame_equal(
                    want, alerts.negative_share(base, freq=freq, dimension=dim)
                )
            pd.testing.assert_frame_equal(
                alerts.surge_scan(frame, freq=freq), alerts.surge_scan(rolled, freq=freq)
            )
        at_risk = risk.customers_at_risk(store, signals=rolled, **kw)
        assert len(at_risk)
        pd.testing.assert_frame_equal(at_risk, risk.customers_at_risk(store, signals=frame, **kw))
        pd.testing.assert_frame_equal(at_risk, risk.customers_at_risk(store, **kw))
        one, two = (risk.risk_backtest(store, signals=s, **kw) for s in (rolled, frame))
        assert dataclasses.astuple(one) == dataclasses.astuple(two)


def test_open_alerts_on_a_surge_day_are_counted(tagged_db):
    with Store.open(tagged_db, read_only=True) as store:
        day = _surge_day(store)
        got = alerts.surge_alerts(store, as_of=day, open_only=True)
        assert len(got) and alerts.open_alert_count(store, as_of=day) == len(got)


def test_tagging_with_sentiment_and_resets_equal_a_rebuild(tagged_db, tagged_store):
    with Store.open(tagged_db, read_only=True) as store:
        rows = store.query("SELECT * FROM rollup_signal_days")
    assert set(rows["model_id"]) == {"gold", MODEL}
    _assert_equals_rebuild(tagged_store)
    reset_model(tagged_store, MODEL, actor="test@example.com")
    _assert_equals_rebuild(tagged_store)
    assert set(
        tagged_store.query("SELECT DISTINCT model_id FROM rollup_signal_days")["model_id"]
    ) == {"gold"}
    tag_store(tagged_store, GoldSentimentTagger(tagged_store), batch_size=200)
    _assert_equals_rebuild(tagged_store)
    reset_batch(tagged_store, "demo", actor="test@example.com")
    _assert_equals_rebuild(tagged_store)
    assert tagged_store.scalar("SELECT count(*) FROM rollup_signal_days") == 0


def test_a_sentiment_write_that_bypasses_them_sends_readers_to_the_base_tables(tagged_store):
    tagged_store.execute_write(
        "UPDATE ticket_sentiment SET label = 'negative' WHERE ticket_key IN"
        " (SELECT ticket_key FROM ticket_sentiment WHERE label = 'neutral' LIMIT 50)"
    )
    tagged_store.execute_write(  # a row more: the counts no longer match
        "DELETE FROM ticket_sentiment WHERE ticket_key IN"
        " (SELECT ticket_key FROM ticket_sentiment LIMIT 1)"
    )
    assert not rollups.signals_fresh(tagged_store.cursor())
    a = alerts.signal_counts(tagged_store, sentiment=MODEL)
    b = alerts.signal_counts(tagged_store, sentiment=MODEL, rollups=False)
    pd.testing.assert_frame_equal(a.units, b.units)
    rollups.rebuild_rollups(tagged_store)
    assert rollups.signals_fresh(tagged_store.cursor())


def test_an_older_store_gets_the_signal_rollup_on_upgrade(tagged_db, tmp_path):
    """A store of migration 4 (fresh roll-ups) opens as migration 5 with the signal roll-up
    filled and fresh; one whose tags part was stale stays stale until a rebuild. (Migration
    6 adds the mention roll-ups, stale until a rebuild either way.)"""
    for stale in (False, True):
        path = tmp_path / f"old-{stale}.duckdb"
        shutil.copy(tagged_db, path)
        conn = duckdb.connect(str(path))
        for statement in (
            "DROP TABLE rollup_signal_days",
            *(f"DROP TABLE {t.name}" for t in rollup_tables.MENTION_TABLES),
            f"DROP TABLE {rollup_series.SERIES_TABLE}",
            "DROP TABLE entity_names",
            "DROP TABLE rollup_name_state",
            "DELETE FROM rollup_state WHERE part = 'mentions'",
            "ALTER TABLE rollup_state DROP COLUMN sentiments",
            "ALTER TABLE rollup_state DROP COLUMN gold_sentiments",
            "DELETE FROM schema_version WHERE version >= 5",
        ):
            conn.execute(statement)
        if stale:
            conn.execute("UPDATE rollup_state SET entities = entities + 1 WHERE part = 'tags'")
        conn.close()
        with Store.open(path, read_only=True) as old:  # not migrated: the base tables
            assert not rollups.signals_fresh(old.cursor())
            assert (rollup_tables.TAGS in rollups.fresh_parts(old.cursor())) is not stale
        with Store.open(path) as store:
            assert store.scalar("SELECT max(version) FROM schema_version") == max(MIGRATIONS)
            assert rollups.signals_fresh(store.cursor()) is not stale
            assert not rollups.mentions_fresh(store.cursor())
            migrated = store.query("SELECT * FROM rollup_signal_days")
            rollups.rebuild_rollups(store)
            if not stale:  # the migration's signal roll-up is the rebuild's
                rebuilt = store.query("SELECT * FROM rollup_signal_days")
                keys = list(migrated.columns)
                pd.testing.assert_frame_equal(
                    migrated.sort_values(keys).reset_index(drop=True),
                    rebuilt.sort_values(keys).reset_index(drop=True),
                )
            _assert_equals_rebuild(store)


@pytest.mark.parametrize("model_id", [None, MODEL, "no-such-model"])
def test_signal_source_is_the_same_from_rollups_and_base_tables(tagged_db, model_id, monkeypatch):
    with Store.open(tagged_db, read_only=True) as store:
        assert rollups.signals_fresh(store.cursor())
        fast = alerts.signal_source(store, model_id)
        monkeypatch.setattr(alerts, "USE_ROLLUPS", False)
        assert alerts.signal_source(store, model_id) == fast
