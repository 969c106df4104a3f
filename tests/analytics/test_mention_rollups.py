"""The mention roll-ups (``data.rollup_tables.MENTIONS``: ``entity_names``, the signal mentions,
their series and spellings, the competitor days) answer exactly as the base tables:
competitor mention rates and vendors, the alerts' customers without reading a ticket, the
details read for one alert, the newest tickets and the tagging progress; a changed
competitor matcher or a stale part sends readers back to the base tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from analytics import alerts, explore, signals
from analytics.alerts import details, scan
from analytics.explore import Filters
from data import rollup_tables, rollups
from data.store import Store
from model.jobs import tag_store
from tests.analytics.test_signals_rollups import MODEL, GoldSentimentTagger
from tests.conftest import open_copy, tag_a_copy
from tests.data.test_rollups import _assert_equals_rebuild

SOURCES = [("gold", "gold"), ("gold", MODEL), (MODEL, MODEL)]


@pytest.fixture(scope="module")
def tagged(demo_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session demo tagged batch by batch, entities and sentiment (the roll-ups kept
    by ``model.jobs.tag_store``)."""
    return tag_a_copy(
        demo_db_path, tmp_path_factory.mktemp("mentions") / "tagged.duckdb", GoldSentimentTagger
    )


@pytest.fixture
def writable(tagged: Path, tmp_path: Path) -> Iterator[Store]:
    """A writable copy of :func:`tagged`."""
    with open_copy(tagged, tmp_path) as store:
        yield store


def _base(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every reader on the base tables."""
    monkeypatch.setattr(signals, "USE_ROLLUPS", False)
    monkeypatch.setattr(alerts, "USE_ROLLUPS", False)
    monkeypatch.setattr(explore.filters, "USE_ROLLUPS", False)  # where the switch lives


@pytest.mark.parametrize("model_id", ["gold", MODEL])
def test_competitor_rates_and_vendors_are_the_same_both_ways(tagged, model_id, monkeypatch):
    with Store.open(tagged, read_only=True) as store:
        assert rollups.mentions_fresh(store.cursor())
        segments = [
            None,
            *sorted(store.query("SELECT DISTINCT segment FROM customers")["segment"]),
            "no-such-segment",
        ]
        rates = signals.competitor_mention_rates(store, model_id=model_id)
        vendors = [
            signals.mentions_by_vendor(store, model_id=model_id, segment=s) for s in segments
        ]
        pressure = signals.competitor_pressure(store, model_id=model_id)
        assert len(rates) and rates["mention_tickets"].sum() > 0 and len(vendors[0])
        _base(monkeypatch)
        pd.testing.assert_frame_equal(
            rates, signals.competitor_mention_rates(store, model_id=model_id), check_exact=True
        )
        for segment, got in zip(segments, vendors, strict=True):
            pd.testing.assert_frame_equal(
                got,
                signals.mentions_by_vendor(store, model_id=model_id, segment=segment),
                check_exact=True,
            )
        pd.testing.assert_frame_equal(
            pressure, signals.competitor_pressure(store, model_id=model_id), check_exact=True
        )


def test_custom_aliases_read_the_base_tables(tagged, monkeypatch):
    aliases = {"openai": "OpenAI", "gemini": "Google"}
    with Store.open(tagged, read_only=True) as store:
        got = signals.competitor_mention_rates(store, model_id=MODEL, aliases=aliases)
        _base(monkeypatch)
        pd.testing.assert_frame_equal(
            got,
            signals.competitor_mention_rates(store, model_id=MODEL, aliases=aliases),
            check_exact=True,
        )


@pytest.mark.parametrize(("sentiment", "entities"), SOURCES)
@pytest.mark.parametrize("freq", ["day", "week"])
def test_alert_customers_come_from_the_rollups_and_details_on_demand(
    tagged, sentiment, entities, freq
):
    kw = {"sentiment": sentiment, "entities": entities, "freq": freq, "open_only": False}
    with Store.open(tagged, read_only=True) as store:
        for as_of in (None, dt.date(2025, 6, 12)):
            full = alerts.surge_alerts(store, as_of=as_of, **kw)
            lite = alerts.surge_alerts(store, as_of=as_of, details=False, **kw)
            assert len(full)
            assert lite["ticket_keys"].isna().all() and lite["entities"].isna().all()
            pd.testing.assert_frame_equal(
                lite.drop(columns=["ticket_keys", "entities"]),
                full.drop(columns=["ticket_keys", "entities"]),
            )
            assert (full["ticket_keys"].map(len) == full["negative"]).all()
            picked = lite.iloc[[0, len(lite) // 2, len(lite) - 1]]
            shown = alerts.alert_details(
                store, picked, sentiment=sentiment, entities=entities, as_of=as_of
            )
            pd.testing.assert_frame_equal(
                shown.reset_index(drop=True),
                full.iloc[[0, len(full) // 2, len(full) - 1]].reset_index(drop=True),
            )


@pytest.mark.parametrize(("sentiment", "entities"), SOURCES)
def test_customers_of_any_scope_and_span_are_the_tickets_writers(tagged, sentiment, entities):
    """Made-up alerts over every dimension and value, spans of a day to months: the
    writers counted from the roll-ups are those of the alerts' negative tickets."""
    with Store.open(tagged, read_only=True) as store:
        counts = alerts.signal_counts(store, sentiment=sentiment, entities=entities)
        rows = []
        for dim in alerts.DIMENSIONS:
            values = (
                ["all"]
                if dim == "all"
                else sorted(counts.part(dim, "day")["value"].dropna().unique())
            )
            for i, value in enumerate(values):
                since = dt.date(2025, 1, 1) + dt.timedelta(days=17 * i)
                for freq, days in (("day", 0), ("day", 40), ("week", 0), ("week", 91)):
                    rows.append(
                        {
                            "dimension": dim,
                            "value": value,
                            "freq": freq,
                            "since": since,
                            "last": since + dt.timedelta(days=days),
                        }
                    )
        made = pd.DataFrame(rows)
        assert set(made["dimension"]) == set(alerts.DIMENSIONS)
        for start, as_of in ((None, None), (dt.date(2025, 2, 1), dt.date(2025, 4, 30))):
            got = details.rollup_customers(
                store, made, sentiment=sentiment, entities=entities, start=start, as_of=as_of
            )
            _, want, _ = details.alert_keys(
                store, made, sentiment=sentiment, entities=entities, start=start, as_of=as_of
            )
            assert got == want and sum(got) > 0


def test_without_fresh_rollups_the_alert_customers_are_read_from_tickets(tagged, monkeypatch):
    with Store.open(tagged, read_only=True) as store:
        full = alerts.surge_alerts(store, open_only=False)
        _base(monkeypatch)
        lite = alerts.surge_alerts(store, open_only=False, details=False)
        pd.testing.assert_frame_equal(lite, full)  # details read all the same


@pytest.mark.parametrize(
    "filters",
    [
        Filters(),
        Filters(segments=("smb",)),
        Filters(end=dt.date(2025, 6, 30)),
        Filters(start=dt.date(2025, 3, 1), end=dt.date(2025, 3, 2), regions=("Europe",)),
    ],
)
@pytest.mark.parametrize("limit", [1, 37, 200, 10_000])
def test_the_newest_tickets_are_the_same_both_ways(tagged, filters, limit, monkeypatch):
    with Store.open(tagged, read_only=True) as store:
        got = explore.ticket_list(store, filters, MODEL, limit=limit)
        progress = explore.tagging_progress(store, MODEL)
        _base(monkeypatch)
        pd.testing.assert_frame_equal(got, explore.ticket_list(store, filters, MODEL, limit=limit))
        assert progress == explore.tagging_progress(store, MODEL)


def test_a_changed_matcher_makes_the_mentions_stale(writable, monkeypatch):
    store = writable
    fast = alerts.signal_counts(store, sentiment="gold", entities=MODEL)
    assert rollups.mentions_fresh(store.cursor())
    monkeypatch.setattr(rollups, "matcher_fingerprint", lambda: "another matcher")
    assert not rollups.mentions_fresh(store.cursor())
    assert rollup_tables.MENTIONS not in rollups.fresh_parts(store.cursor())
    slow = alerts.signal_counts(store, sentiment="gold", entities=MODEL)  # base tables
    pd.testing.assert_frame_equal(fast.series, slow.series)
    rollups.rebuild_rollups(store)
    assert rollups.mentions_fresh(store.cursor())


def test_a_stale_mention_part_stays_stale_through_writes_until_a_rebuild(writable):
    store = writable
    store.execute_write(
        "UPDATE rollup_state SET entities = -1 WHERE part = ?", [rollup_tables.MENTIONS]
    )
    assert rollups.fresh_parts(store.cursor()) == frozenset(rollup_tables.PARTS) - {
        rollup_tables.MENTIONS
    }
    store.execute_write(
        "DELETE FROM tagged_tickets WHERE ticket_key IN (SELECT ticket_key"
        " FROM tagged_tickets WHERE model_id = ? LIMIT 40)",
        [MODEL],
    )
    store.execute_write(
        "DELETE FROM entities WHERE model_id = ? AND ticket_key NOT IN"
        " (SELECT ticket_key FROM tagged_tickets WHERE model_id = ?)",
        [MODEL, MODEL],
    )
    rollups.rebuild_rollups(store)  # every part fresh again, the mentions too
    store.execute_write(
        "UPDATE rollup_state SET entities = -1 WHERE part = ?", [rollup_tables.MENTIONS]
    )
    tag_store(store, GoldSentimentTagger(store), batch_size=16)  # the 40 tickets again
    assert rollup_tables.MENTIONS not in rollups.fresh_parts(store.cursor())
    assert rollup_tables.TAGS in rollups.fresh_parts(store.cursor())
    rollups.rebuild_rollups(store)
    _assert_equals_rebuild(store)


@pytest.mark.parametrize(("sentiment", "entities"), SOURCES)
def test_counts_without_mentions_give_the_same_alert_count(tagged, sentiment, entities):
    kw = {"sentiment": sentiment, "entities": entities}
    with Store.open(tagged, read_only=True) as store:
        full = alerts.signal_counts(store, **kw)
        light = alerts.signal_counts(store, mentions=False, **kw)
        assert len(full.mentions) and light.mentions.empty
        pd.testing.assert_frame_equal(light.units, full.units)
        pd.testing.assert_frame_equal(light.series, full.series)
        for freq in ("day", "week"):
            for as_of in (None, dt.date(2025, 6, 12)):
                counts = alerts.signal_counts(store, end=as_of, mentions=False, **kw)
                assert alerts.open_alert_count(
                    store, freq=freq, as_of=as_of, signals=counts, **kw
                ) == alerts.open_alert_count(store, freq=freq, as_of=as_of, **kw)


@pytest.mark.parametrize(("sentiment", "entities"), SOURCES)
@pytest.mark.parametrize("freq", ["day", "week"])
def test_the_quick_scan_alarms_as_the_full_scan(tagged, sentiment, entities, freq):
    """The alerts' scan computes exact p-values only where a rough tail says an alarm is
    possible: the same alarms, and the same p-values where they alarm."""
    with Store.open(tagged, read_only=True) as store:
        counts = alerts.signal_counts(store, sentiment=sentiment, entities=entities)
        kw = {"freq": freq, "rule": None, "dimensions": alerts.DIMENSIONS, "end": None}
        full = scan.scan_frame(counts, full=True, **kw)
        quick = scan.scan_frame(counts, full=False, **kw)
        assert full["alarm"].any()
        assert full["alarm"].tolist() == quick["alarm"].tolist()
        alarmed = full["alarm"]
        assert (full.loc[alarmed, "p_value"] == quick.loc[alarmed, "p_value"]).all()


def test_competitor_mentions_per_month_are_the_same_both_ways(tagged, monkeypatch):
    """The Entities page's mentions per month and vendor, from ``rollup_competitor_days``
    (any period, whole months or not, and customer filters) and from the entities."""
    filters = [
        Filters(),
        Filters(start=dt.date(2025, 9, 1), end=dt.date(2026, 8, 31)),
        Filters(start=dt.date(2025, 3, 5), end=dt.date(2025, 11, 20)),
        Filters(start=dt.date(2025, 1, 1), segments=("smb",), regions=("Europe",)),
        Filters(end=dt.date(2025, 6, 10), plans=("Pro",)),
    ]
    with Store.open(tagged, read_only=True) as store:
        got = [explore.competitor_mentions(store, f, MODEL) for f in filters]
        assert got[0]["tickets"].sum() > 0
        _base(monkeypatch)
        for f, frame in zip(filters, got, strict=True):
            pd.testing.assert_frame_equal(
                frame, explore.competitor_mentions(store, f, MODEL), check_exact=True
            )
