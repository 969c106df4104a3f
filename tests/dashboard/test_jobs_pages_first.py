"""The tagging job gives way to the pages: its batch writes wait while a page script runs
(``dashboard.activity``, ``dashboard.jobs.PagesFirstStore``), a bounded time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dashboard import activity
from dashboard.jobs import TaggingJob
from data.store import Store
from tests.dashboard.conftest import FakeTagger

#: Generous bound for a test's own waiting (never asserted on).
DEADLINE = 60


@contextmanager
def page_running() -> Iterator[threading.Event]:
    """A thread named as Streamlit names a session's script thread, running until the
    yielded event is set (or the block ends)."""
    done = threading.Event()
    thread = threading.Thread(target=done.wait, name=activity.SCRIPT_THREAD_NAME, daemon=True)
    thread.start()
    try:
        yield done
    finally:
        done.set()
        thread.join(DEADLINE)


def test_running_pages_counts_script_threads_only() -> None:
    before = activity.running_pages()
    with page_running():
        assert activity.running_pages() == before + 1
    assert activity.running_pages() == before


def test_the_wait_ends_when_the_page_ends() -> None:
    with page_running() as page:
        timer = threading.Timer(0.2, page.set)
        timer.start()
        waited = activity.wait_for_quiet_pages(DEADLINE)
        assert page.is_set() and waited > 0
    assert activity.wait_for_quiet_pages(DEADLINE) == 0.0  # nothing running: no wait


def test_the_wait_is_bounded_and_stops_on_request() -> None:
    with page_running():
        activity.wait_for_quiet_pages(0.1)  # returns although the page still runs
        assert activity.running_pages() >= 1
        stop = threading.Event()
        stop.set()
        activity.wait_for_quiet_pages(DEADLINE, stop=stop)  # returns at once: stopping


def test_tagging_writes_wait_for_the_running_page(
    tmp_path: Path, demo_db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a page script runs, the job tags its first group but writes nothing; once the
    page ends it writes every batch, exactly as without a page (fails on a job that writes
    at once: its first batch lands while the page runs)."""
    monkeypatch.setattr(activity, "MAX_YIELD_SECONDS", 600.0)  # the bound never applies here
    waiting = threading.Event()
    real_wait = activity.wait_for_quiet_pages

    def spied_wait(*args: object, **kwargs: object) -> float:
        if activity.running_pages():
            waiting.set()
        return real_wait(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(activity, "wait_for_quiet_pages", spied_wait)
    db = tmp_path / "db.duckdb"
    db.write_bytes(demo_db_path.read_bytes())
    tagger = FakeTagger()
    with Store.open(db) as store, page_running() as page:
        job = TaggingJob(store, loader=lambda: tagger, batch_size=64)
        assert job.start()
        for _ in range(DEADLINE * 20):  # until the first write waits, or (old job) lands
            if waiting.is_set() or job.status().done > 0:
                break
            waiting.wait(0.05)
        assert waiting.is_set() and tagger.calls == 1
        assert job.status().done == 0 and job.status().running
        assert store.scalar("SELECT count(*) FROM tagged_tickets") == 0
        page.set()
        status = job.wait(DEADLINE)
        assert status.state == "done" and status.done == status.total == 2000
        assert store.scalar("SELECT count(*) FROM tagged_tickets") == 2000
