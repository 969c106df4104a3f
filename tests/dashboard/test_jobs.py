"""The process-wide tagging job: runs in the background, reports progress, stops, resumes;
and the inbox poller that hands it the command line's tagging requests."""

from __future__ import annotations

import threading
from pathlib import Path

from dashboard.jobs import TaggingJob
from data.store import Store
from tests.dashboard.conftest import FakeTagger


def _pending(store: Store, model_id: str) -> int:
    return int(
        store.scalar(
            "SELECT count(*) FROM tickets t WHERE NOT EXISTS (SELECT 1 FROM tagged_tickets g"
            " WHERE g.ticket_key = t.ticket_key AND g.model_id = ?)",
            [model_id],
        )
    )


def test_job_tags_everything_and_reports(tmp_path: Path, demo_db_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    db.write_bytes(demo_db_path.read_bytes())
    with Store.open(db) as store:
        job = TaggingJob(store, loader=FakeTagger, batch_size=64)
        assert job.start()
        status = job.wait(60)
        assert status.state == "done", status.message
        assert status.device == "cpu" and status.model_id == "fake-tagger"
        assert status.done == status.total == 2000 and status.fraction == 1.0
        assert _pending(store, "fake-tagger") == 0
        assert store.scalar("SELECT count(*) FROM entities WHERE model_id = 'fake-tagger'") > 0
        assert job.start() and job.wait(60).done == 0  # nothing left: a no-op run
        assert job.status().message == (
            "All 2,000 tickets are tagged by fake-tagger: nothing to do."
        )


def test_job_status_says_what_the_tagger_runs_in(tmp_path: Path, demo_db_path: Path) -> None:
    """The tagger's own precision and compile state reach the job's status (the sidebar)."""

    class Fp32Tagger(FakeTagger):
        precision = "fp32"
        compiling = True  # as while int8 compiles in the background

    db = tmp_path / "db.duckdb"
    db.write_bytes(demo_db_path.read_bytes())
    gate = threading.Event()
    with Store.open(db) as store:
        job = TaggingJob(store, loader=lambda: Fp32Tagger(gate), batch_size=64)
        assert job.start()
        try:
            for _ in range(200):
                running = job.status()
                if running.done or running.message.startswith("Tagging:"):
                    break
                gate.wait(0.05)
            assert running.state == "running" and running.precision == "fp32"
            assert running.compiling and "int8 compiling" in running.message
        finally:
            gate.set()
        status = job.wait(60)
        assert status.state == "done" and not status.compiling
        assert status.message.startswith("Done: 2000 tickets tagged")


def test_job_stops_and_resumes_without_duplicates(tmp_path: Path, demo_db_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    db.write_bytes(demo_db_path.read_bytes())
    gate = threading.Event()
    tagger = FakeTagger(gate)
    with Store.open(db) as store:
        job = TaggingJob(store, loader=lambda: tagger, batch_size=16)  # 64 tickets a batch
        job.start()
        while tagger.calls < 1:
            threading.Event().wait(0.01)
        job.stop()
        gate.set()
        stopped = job.wait(60)
        assert stopped.state == "stopped" and 0 < stopped.done < 2000
        assert "start again to resume" in stopped.message
        left = _pending(store, "fake-tagger")
        assert left == 2000 - stopped.done
        job.start()
        assert job.wait(60).done == left
        assert _pending(store, "fake-tagger") == 0
        assert (
            store.scalar(
                "SELECT count(*) FROM (SELECT ticket_key FROM tagged_tickets"
                " GROUP BY ALL HAVING count(*) > 1)"
            )
            == 0
        )


def test_failed_tagger_is_reported_not_raised(tmp_path: Path) -> None:
    def broken() -> FakeTagger:
        raise FileNotFoundError("model/default is missing")

    with Store.open(tmp_path / "db.duckdb") as store:
        job = TaggingJob(store, loader=broken)
        job.start()
        status = job.wait(30)
        assert status.state == "failed" and "model/default is missing" in status.message


def test_inbox_poller_runs_tagging_requests_from_the_command_line(tmp_store: Store) -> None:
    """``python -m model tag --db`` on a held database drops a request; the poller takes it
    once and hands it to the app (which switches its job to the requested tagger)."""
    from dashboard.jobs import InboxPoller
    from data.tag_requests import request_tagging

    taken: list = []
    poller = InboxPoller(tmp_store, on_tag_request=taken.append, every=0)
    request_tagging(tmp_store.path, model_dir="some/tagger", batch_size=5)
    poller.poll_once()
    poller.poll_once()
    assert [(Path(r.model_dir).name, r.batch_size) for r in taken] == [("tagger", 5)]

    job = TaggingJob(tmp_store, loader=FakeTagger)
    job.use_tagger(None, 9)
    assert job.batch_size == 9 and job._loader is FakeTagger  # None keeps the app's tagger
