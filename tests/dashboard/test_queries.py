"""The pages' typed cached queries (``dashboard.queries``) and the slow-page log
(``dashboard.pagelog``)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboard.conftest import APP

VIEWS = Path(__file__).resolve().parents[2] / "dashboard"


def test_each_query_is_keyed_by_the_data_it_reads(
    app_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New entities (tagging) leave the business figures' cache alone and make the entity
    queries run again; a write is seen at once after ``refresh``; no cache is emptied."""
    from analytics import explore
    from analytics.explore import Filters
    from dashboard import queries, state

    store = state.store()
    before = queries.data_version()
    assert before.db == str(state.db_path()) and before.tickets == 2000
    kpis = queries.kpis(Filters())
    assert queries.tagging_progress("other") == (0, 2000)

    store.execute_write(
        "INSERT INTO tagged_tickets (ticket_key, model_id, run_id)"
        " SELECT ticket_key, 'other', 'test' FROM tickets LIMIT 5"
    )
    queries.refresh()
    after = queries.data_version()
    assert after.tagged == before.tagged + 5
    assert after.business == before.business
    assert after.entities_version != before.entities_version

    def not_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("the business figures were read again")

    monkeypatch.setattr(explore, "kpis", not_again)
    assert queries.kpis(Filters()).equals(kpis)  # from the cache: its data did not change
    assert queries.tagging_progress("other") == (5, 2000)  # read again: its data did


def test_alert_tickets_and_signal_queries_answer(app_db: Path) -> None:
    from dashboard import queries

    source = queries.signal_source()
    assert source is not None
    alerts = queries.surge_alerts(source, freq="day", open_only=False)
    assert queries.open_alert_count() == int(alerts["open"].sum())
    days = queries.signal_days(source)
    assert days is not None and days[0] <= days[1]
    if len(alerts):
        row = alerts.iloc[0]
        got = queries.alert_tickets(tuple(row["ticket_keys"]), row["since"], days[1], None)
        assert set(got["ticket_key"]) <= set(row["ticket_keys"])


def test_an_alerts_tickets_are_looked_up_by_key(
    app_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening an alert reads its tickets by key: the rows read are the keys asked for,
    not every ticket of the alert's days (up to 50,000 before)."""
    from analytics.alerts import last_day
    from dashboard import queries
    from data.store import Store

    source = queries.signal_source()
    alerts = queries.surge_alerts(source, freq="day", open_only=False)
    alerts = alerts.assign(end=last_day(alerts))
    row = alerts.iloc[int(alerts["negative"].to_numpy().argmax())]
    keys = tuple(row["ticket_keys"])
    assert len(keys) > 3
    read: list[int] = []
    real = Store.query

    def counting(self: Store, sql: str, params: object = None) -> object:
        out = real(self, sql, params)
        if "FROM tickets t" in sql:
            read.append(len(out))
        return out

    monkeypatch.setattr(Store, "query", counting)
    got = queries.alert_tickets(keys[:3], row["since"], row["end"], "gold-test")
    assert list(got["ticket_key"]) == list(keys[:3])
    assert read == [3]
    assert any(got["entities"].map(len))  # the tagger's entities, to highlight


def test_no_page_empties_the_caches_or_names_a_query_by_string() -> None:
    for path in VIEWS.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "cache_data.clear()" not in text.replace("``st.cache_data.clear()``", ""), path
        assert not re.search(r"state\.(query|query_analytics|signal_query)\(", text), path


# -- the slow-page log ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"), [("", 1.0), ("2.5", 2.5), (" 0 ", 0.0), ("3_600", 3600.0)]
)
def test_slow_page_threshold_from_env(value: str, expected: float) -> None:
    from dashboard.pagelog import slow_page_seconds_from_env

    assert slow_page_seconds_from_env({"PRICEWAR_SLOW_PAGE_SECONDS": value}) == expected
    assert slow_page_seconds_from_env({}) == 1.0


@pytest.mark.parametrize("value", ["abc", "-1", "nan", "inf", "3601", "1e9"])
def test_a_bad_slow_page_threshold_names_the_variable(value: str) -> None:
    from dashboard.pagelog import slow_page_seconds_from_env
    from data.errors import ConfigError

    with pytest.raises(ConfigError, match="PRICEWAR_SLOW_PAGE_SECONDS"):
        slow_page_seconds_from_env({"PRICEWAR_SLOW_PAGE_SECONDS": value})


def test_page_runs_are_logged_with_page_seconds_and_role(
    app_db: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="dashboard.pages")
    monkeypatch.setenv("PRICEWAR_SLOW_PAGE_SECONDS", "3600")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception and not at.error
    runs = [r for r in caplog.records if r.name == "dashboard.pages"]
    assert runs and all(r.levelno == logging.INFO for r in runs)
    assert re.fullmatch(
        r"page run: page='Overview' seconds=\d+\.\d{3} role=admin", runs[-1].getMessage()
    )

    caplog.clear()
    monkeypatch.setenv("PRICEWAR_SLOW_PAGE_SECONDS", "0")  # every run is slow
    at.switch_page("views/scenarios.py").run()
    slow = [r for r in caplog.records if r.name == "dashboard.pages"]
    assert slow and slow[-1].levelno == logging.WARNING
    assert slow[-1].getMessage().startswith("slow page run: page='Scenarios' seconds=")


def test_a_bad_slow_page_threshold_is_shown_on_the_page(
    app_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRICEWAR_SLOW_PAGE_SECONDS", "soon")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert any(
        "PRICEWAR_SLOW_PAGE_SECONDS" in e.value.replace("\\", "")  # Markdown-escaped
        for e in at.error
    )


def test_a_tagging_batch_keeps_the_market_caches_while_tagging_runs(
    app_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pricing inputs read the competitor mentions, which every tagging batch changes:
    while the tagging job runs, a batch leaves their cache alone (they are measured again
    once per window of ``MARKET_REFRESH_WHILE_TAGGING`` seconds); once it has ended, the
    new tags are read at once."""
    import threading

    import analytics
    from dashboard import data_versions, queries, state, tagging_job
    from tests.dashboard.conftest import FakeTagger

    class HeldAfterOneBatch(FakeTagger):
        """Tags one batch, then holds the next until released: the job keeps running."""

        def __init__(self) -> None:
            super().__init__()
            self.holding, self.release = threading.Event(), threading.Event()

        def tag(self, texts, batch_size=64, progress=None):  # type: ignore[no-untyped-def]
            if self.calls >= 1:
                self.holding.set()
                self.release.wait(30)
            return super().tag(texts, batch_size, progress)

    tagger = HeldAfterOneBatch()
    monkeypatch.setattr(tagging_job, "default_loader", lambda: tagger)
    # one window all along: the clock is patched where the versions read it
    monkeypatch.setattr(data_versions, "_clock", lambda: 1_000_000.0)
    measured: list[str | None] = []
    real = analytics.default_scenario

    def measuring(store, segment=None, **kwargs):  # type: ignore[no-untyped-def]
        measured.append(segment)
        return real(store, segment, **kwargs)

    monkeypatch.setattr(analytics, "default_scenario", measuring)
    store = state.store()
    idle = queries.market_version()
    assert idle.window == 0 and idle.tagged == queries.data_version().tagged
    queries.default_scenario()
    assert measured == [None]

    job = state.job()
    assert job.start()
    try:
        assert tagger.holding.wait(60), "the first batch was not tagged"
        assert job.status().running
        queries.refresh()
        tagged = store.scalar("SELECT count(*) FROM tagged_tickets WHERE model_id = 'fake-tagger'")
        assert tagged > 0  # the first batch is in
        running = queries.market_version()
        assert (running.tagged, running.entities) == (-1, -1)
        assert running.window == 1_000_000 // queries.MARKET_REFRESH_WHILE_TAGGING
        scenario = queries.default_scenario()  # measured once for the run
        assert measured == [None, None]

        # another batch, as the job writes it (its tagged tickets)
        before = queries.data_version().tagged
        store.execute_write(
            "INSERT INTO tagged_tickets (ticket_key, model_id, run_id) SELECT ticket_key,"
            " 'fake-tagger', 'test' FROM tickets WHERE ticket_key NOT IN (SELECT ticket_key"
            " FROM tagged_tickets WHERE model_id = 'fake-tagger') LIMIT 64"
        )
        queries.refresh()
        assert queries.data_version().tagged == before + 64
        assert queries.market_version() == running
        assert queries.default_scenario() == scenario  # from the cache
        assert measured == [None, None]
    finally:
        tagger.release.set()
    job.wait(60)
    queries.refresh()
    done = queries.market_version()
    assert done.window == 0 and done.tagged == queries.data_version().tagged
    queries.default_scenario()  # the run's tags, read at once
    assert measured == [None, None, None]


def test_the_ticket_list_cache_is_bounded_in_memory() -> None:
    """Every session's searches share the ticket-list cache and each entry holds the text of
    up to ``limit`` tickets: its entries × the page's limit × the widest accepted ticket stays
    under 512 MiB (256 entries could hold 6.4 GB, round 11)."""
    import inspect

    from dashboard import entity_queries, queries
    from data.limits import IngestLimits

    limit = inspect.signature(queries.ticket_list).parameters["limit"].default
    entries = entity_queries._ticket_list._info.max_entries
    assert entries == queries.TICKET_LIST_CACHE_ENTRIES
    assert entries * limit * IngestLimits().max_text_bytes <= 512 * 2**20
