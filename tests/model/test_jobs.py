"""Resumable batch tagging of the store: upserts, stop, kill -9 and rerun; the job's status."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from data.store import Store
from model.jobs import TagStatus, is_shutdown_error, pending_tickets, tag_store
from model.tagger import Tagger
from tests.model.conftest import AUTO_ON_THIS_CPU, add_tickets, entity_rows, ticket_texts

REPO = Path(__file__).resolve().parents[2]


def _clean_run(path: Path, tagger, texts: list[str]) -> list[tuple]:
    with Store.open(path) as store:
        add_tickets(store, texts)
        summary = tag_store(store, tagger, batch_size=8)
        assert summary.status == "done" and summary.tickets == len(texts)
        return entity_rows(store, tagger.model_id)


def test_tag_store_writes_entities_and_marks_every_ticket(tmp_path, keyword_tagger):
    texts = ticket_texts(60)
    with Store.open(tmp_path / "a.duckdb") as store:
        keys = add_tickets(store, texts)
        seen = []
        summary = tag_store(
            store,
            keyword_tagger,
            batch_size=4,
            progress=lambda done, total: seen.append((done, total)),
        )
        assert seen[0] == (0, 60) and seen[-1] == (60, 60)
        expected = sorted(
            (key, e.start, e.end, e.label, e.text)
            for key, found in zip(keys, keyword_tagger.tag(texts), strict=True)
            for e in found
        )
        rows = entity_rows(store, keyword_tagger.model_id)
        assert [r[:5] for r in rows] == expected
        assert all(texts[keys.index(k)][s:e] == t for k, s, e, _, t, _ in rows)
        assert (
            store.scalar(
                "SELECT count(*) FROM tagged_tickets WHERE model_id = ?", [keyword_tagger.model_id]
            )
            == 60
        )  # the empty ticket too
        run = store.fetchall(
            "SELECT status, tickets, entities, model_id, device FROM tagging_runs WHERE run_id = ?",
            [summary.run_id],
        )
        assert run == [("done", 60, len(rows), keyword_tagger.model_id, "cpu")]
        # a second run finds nothing to do and duplicates nothing
        again = tag_store(store, keyword_tagger, batch_size=4)
        assert (again.tickets, again.entities, again.pending) == (0, 0, 0)
        assert entity_rows(store, keyword_tagger.model_id) == rows


def test_pending_tickets_shortest_first(tmp_path, keyword_tagger):
    with Store.open(tmp_path / "p.duckdb") as store:
        add_tickets(store, ["a much longer text", "mid text", "x"])
        assert pending_tickets(store, keyword_tagger.model_id) == ["t00002", "t00001", "t00000"]


def test_stop_then_resume_equals_a_clean_run(tmp_path, keyword_tagger):
    texts = ticket_texts(80)
    clean = _clean_run(tmp_path / "clean.duckdb", keyword_tagger, texts)
    with Store.open(tmp_path / "stop.duckdb") as store:
        add_tickets(store, texts)
        stop = threading.Event()
        stop.set()
        first = tag_store(store, keyword_tagger, batch_size=4, stop=stop)
        assert (first.status, first.tickets) == ("interrupted", 0)
        calls = []
        partial = tag_store(
            store, keyword_tagger, batch_size=4, stop=lambda: calls.append(1) or len(calls) > 2
        )
        assert partial.status == "interrupted" and partial.tickets == 32
        rest = tag_store(store, keyword_tagger, batch_size=4)
        assert rest.tickets == 48 and rest.status == "done"
        assert entity_rows(store, keyword_tagger.model_id) == clean
        statuses = store.fetchall("SELECT status FROM tagging_runs ORDER BY started_at")
        assert [s for (s,) in statuses] == ["interrupted", "interrupted", "done"]


def test_kill_9_mid_run_then_rerun_equals_a_clean_run(tmp_path, keyword_dir, keyword_tagger):
    texts = ticket_texts(600)
    clean = _clean_run(tmp_path / "clean.duckdb", keyword_tagger, texts)
    db = tmp_path / "killed.duckdb"
    with Store.open(db) as store:
        add_tickets(store, texts)
    command = [
        sys.executable,
        "-m",
        "model",
        "tag",
        "--db",
        str(db),
        "--model",
        str(keyword_dir),
        "--batch-size",
        "2",
        "--device",
        "cpu",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        command, cwd=REPO, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    assert proc.stderr is not None
    buffer = b""
    done = 0
    while done < 40:
        chunk = proc.stderr.read1(4096)
        assert chunk, f"the tagger ended before it could be killed: {buffer[-500:]!r}"
        buffer = (buffer + chunk)[-4096:]
        counts = re.findall(rb"(\d+)/600", buffer)
        done = int(counts[-1]) if counts else 0
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for suffix in ("", ".wal"):  # committed batches may still sit in the write-ahead log
        if Path(f"{db}{suffix}").exists():
            shutil.copy(f"{db}{suffix}", f"{tmp_path / 'after-kill.duckdb'}{suffix}")
    with Store.open(tmp_path / "after-kill.duckdb", read_only=True) as store:
        tagged = store.scalar("SELECT count(*) FROM tagged_tickets")
    assert 40 <= tagged < 600  # it really stopped half-way
    rerun = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert re.search(rf"tagged {600 - tagged} tickets", rerun.stdout)
    with Store.open(db) as store:
        assert entity_rows(store, keyword_tagger.model_id) == clean
        assert store.scalar("SELECT count(*) FROM tagged_tickets") == 600
        runs = store.fetchall("SELECT status FROM tagging_runs ORDER BY started_at")
        assert [s for (s,) in runs] == ["running", "done"]  # the killed run never finished


class _StopsAfterFirstBatch:
    """A tagger whose second ``tag`` call meets ``failure`` (the first batch is written)."""

    def __init__(self, tagger, failure) -> None:
        self.tagger, self.failure, self.calls = tagger, failure, 0
        self.model_id, self.device = tagger.model_id, tagger.device

    def tag(self, texts, batch_size=64):
        self.calls += 1
        if self.calls > 1:
            self.failure()
        return self.tagger.tag(texts, batch_size=batch_size)


def _shutdown_pool(tagger):
    """Run the real engine while ``concurrent.futures`` believes Python is exiting."""

    def fail():
        import concurrent.futures.thread as cft

        saved, cft._shutdown = cft._shutdown, True
        try:
            tagger.tag(["Jane at Acme"])
        finally:
            cft._shutdown = saved

    return fail


def _raise(exc):
    def fail():
        raise exc

    return fail


@pytest.mark.parametrize("kind", ["interpreter_shutdown", "keyboard_interrupt", "system_exit"])
def test_an_interruption_is_recorded_as_interrupted_then_resumes(kind, tmp_path, keyword_tagger):
    texts = ticket_texts(40)
    clean = _clean_run(tmp_path / "clean.duckdb", keyword_tagger, texts)
    failure, expected = {
        "interpreter_shutdown": (_shutdown_pool(keyword_tagger), RuntimeError),
        "keyboard_interrupt": (_raise(KeyboardInterrupt()), KeyboardInterrupt),
        "system_exit": (_raise(SystemExit(0)), SystemExit),
    }[kind]
    with Store.open(tmp_path / "i.duckdb") as store:
        add_tickets(store, texts)
        with pytest.raises(expected) as info:
            tag_store(store, _StopsAfterFirstBatch(keyword_tagger, failure), batch_size=4)
        if kind == "interpreter_shutdown":
            assert is_shutdown_error(info.value)
        runs = store.fetchall("SELECT status, tickets, message FROM tagging_runs")
        assert len(runs) == 1 and runs[0][:2] == ("interrupted", 16), runs
        assert "interrupt" in runs[0][2]
        rest = tag_store(store, keyword_tagger, batch_size=4)
        assert (rest.status, rest.tickets) == ("done", 24)
        assert entity_rows(store, keyword_tagger.model_id) == clean


def test_any_other_error_is_recorded_as_failed(tmp_path, keyword_tagger):
    with Store.open(tmp_path / "f.duckdb") as store:
        add_tickets(store, ticket_texts(40))
        with pytest.raises(RuntimeError, match="boom"):
            tag_store(
                store,
                _StopsAfterFirstBatch(keyword_tagger, _raise(RuntimeError("boom"))),
                batch_size=4,
            )
        assert store.fetchall("SELECT status, tickets, message FROM tagging_runs") == [
            ("failed", 16, "RuntimeError: boom")
        ]


def test_is_shutdown_error():
    assert is_shutdown_error(RuntimeError("cannot schedule new futures after interpreter shutdown"))
    assert not is_shutdown_error(RuntimeError("CUDA out of memory"))
    assert not is_shutdown_error(ValueError("interpreter shutdown"))


def test_the_job_says_what_it_is_doing(tmp_path, keyword_dir):
    """Loading, N of M tagged at R tickets/s, all tagged; and 'all tagged' (not '0 of 0')
    when there is nothing to do."""
    seen: list[TagStatus] = []
    tagger = Tagger.load(keyword_dir, device="cpu", status=seen.append)
    assert [s.state for s in seen] == ["loading", "ready"]
    assert "Loading the tagger" in seen[0].message and tagger.status is seen[-1]
    seen.clear()
    with Store.open(tmp_path / "s.duckdb") as store:
        add_tickets(store, ticket_texts(40))
        tag_store(store, tagger, batch_size=4, status=seen.append)
        states = [s.state for s in seen]
        assert states[0] == "tagging" and states[-1] == "done"
        assert set(states) == {"tagging", "done"}
        tagging = [s for s in seen if s.state == "tagging"]
        assert [s.done for s in tagging] == [0, 16, 32, 40]
        assert all(s.total == 40 and s.precision == AUTO_ON_THIS_CPU for s in tagging)
        assert tagging[0].message == f"Tagging: 0 of 40 tickets ({AUTO_ON_THIS_CPU})"
        assert tagging[-1].rate > 0
        assert re.fullmatch(
            rf"Tagging: 16 of 40 tickets at [\d,.]+ tickets/s \({AUTO_ON_THIS_CPU}\)",
            tagging[1].message,
        )
        assert seen[-1].message.startswith("All 40 tickets tagged (40 in this run, ")
        seen.clear()
        tag_store(store, tagger, batch_size=4, status=seen.append)
        assert [(s.state, s.message) for s in seen] == [
            ("done", f"All 40 tickets are tagged by {tagger.model_id}: nothing to do")
        ]
        add_tickets(store, ticket_texts(8), prefix="new")
        seen.clear()
        stop = threading.Event()
        stop.set()
        tag_store(store, tagger, batch_size=4, status=seen.append, stop=stop)
        assert seen[-1].state == "stopped"
        assert seen[-1].message.startswith("Stopped: 0 of 8 tickets tagged in this run, 8 left")


def test_a_failing_status_display_does_not_stop_the_job(tmp_path, keyword_tagger):
    def broken(_status):
        raise ValueError("display gone")

    with Store.open(tmp_path / "b.duckdb") as store:
        add_tickets(store, ticket_texts(10))
        assert tag_store(store, keyword_tagger, batch_size=4, status=broken).tickets == 10
