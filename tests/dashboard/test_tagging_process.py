"""The app's tagging job with the model in its own process (``model.worker.ProcessTagger``):
the store ends exactly as with the in-process thread, a killed child fails the run with a
message and the next start resumes in a new child, a bad artefact says what is wrong, and
the settings are checked."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from dashboard.jobs import TaggingJob, tag_process_enabled, tag_threads_from_env
from data.errors import ConfigError
from data.store import Store
from model.tagger import Tagger
from model.worker import ProcessTagger
from tests.model.conftest import LABELS, save_two_head
from tests.tiny_models import random_two_head

TICKETS = 240


@pytest.fixture(scope="module")
def two_head_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random two-head artefact: entities and sentiment, fast."""
    return save_two_head(
        random_two_head(LABELS, seed=5), tmp_path_factory.mktemp("two") / "two", name="two"
    )


@pytest.fixture
def small_db(demo_db_path: Path, tmp_path: Path) -> Path:
    """A copy of the demo store with its first ``TICKETS`` tickets."""
    db = tmp_path / "small.duckdb"
    shutil.copy(demo_db_path, db)

    def keep_few(conn) -> None:
        keep = "SELECT ticket_key FROM tickets ORDER BY ticket_key LIMIT ?"
        conn.execute(f"DELETE FROM gold_entities WHERE ticket_key NOT IN ({keep})", [TICKETS])
        conn.execute(f"DELETE FROM tickets WHERE ticket_key NOT IN ({keep})", [TICKETS])

    with Store.open(db) as store:
        store.write(keep_few)
        from data.rollups import rebuild_rollups

        rebuild_rollups(store)
    return db


@pytest.fixture
def tagger_env(monkeypatch: pytest.MonkeyPatch, two_head_dir: Path) -> None:
    monkeypatch.setenv("PRICEWAR_MODEL_DIR", str(two_head_dir))
    monkeypatch.setenv("PRICEWAR_TAG_PRECISION", "fp32")
    monkeypatch.setenv("PRICEWAR_TAG_THREADS", "1")


def _tables(db: Path) -> dict[str, list]:
    """What a tagging run leaves in the store, without run ids and times."""
    queries = {
        "entities": 'SELECT ticket_key, model_id, start, "end", label, text, score '
        "FROM entities ORDER BY ALL",
        "sentiment": "SELECT ticket_key, model_id, label, score FROM ticket_sentiment ORDER BY ALL",
        "tagged": "SELECT ticket_key, model_id FROM tagged_tickets ORDER BY ALL",
        "runs": "SELECT model_id, device, status, tickets, entities FROM tagging_runs "
        "WHERE status = 'done' ORDER BY ALL",
        "rollup_tagged": "SELECT * FROM rollup_tagged_days ORDER BY ALL",
        "rollup_entities": "SELECT * FROM rollup_entity_months ORDER BY ALL",
    }
    with Store.open(db, read_only=True) as store:
        return {name: store.fetchall(sql) for name, sql in queries.items()}


def _run_job(db: Path, batch_size: int = 8) -> tuple[str, str, type]:
    with Store.open(db) as store:
        job = TaggingJob(store, batch_size=batch_size)  # the app's default loader
        try:
            assert job.start()
            status = job.wait(300)
            kind = type(job._tagger)
        finally:
            job.close()
        return status.state, status.message, kind


def test_the_process_path_writes_exactly_what_the_thread_path_writes(
    small_db: Path, tmp_path: Path, tagger_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    thread_db = Path(shutil.copy(small_db, tmp_path / "thread.duckdb"))
    monkeypatch.setenv("PRICEWAR_TAG_PROCESS", "1")
    state, message, kind = _run_job(small_db)
    assert (state, kind) == ("done", ProcessTagger), message
    assert message.startswith(f"Done: {TICKETS} tickets tagged")
    monkeypatch.setenv("PRICEWAR_TAG_PROCESS", "0")
    state, message, kind = _run_job(thread_db)
    assert (state, kind) == ("done", Tagger), message
    by_process, by_thread = _tables(small_db), _tables(thread_db)
    assert by_process == by_thread
    assert len(by_process["tagged"]) == TICKETS and by_process["sentiment"]
    assert by_process["entities"] and by_process["rollup_entities"]


def test_a_killed_tagging_process_fails_the_run_and_the_next_start_resumes(
    small_db: Path, tmp_path: Path, tagger_env: None
) -> None:
    clean = Path(shutil.copy(small_db, tmp_path / "clean.duckdb"))
    with Store.open(small_db) as store:
        job = TaggingJob(store, batch_size=1)  # 4 tickets a batch: many batches
        try:
            job.start()
            deadline = time.monotonic() + 120
            while job.status().done < 8 and time.monotonic() < deadline:
                assert job.status().state in {"loading", "running"}, job.status().message
                time.sleep(0.02)
            child = job._tagger
            assert isinstance(child, ProcessTagger)
            os.kill(child.pid, signal.SIGKILL)
            failed = job.wait(60)
            assert failed.state == "failed", failed.message
            assert f"the tagging process (pid {child.pid}) ended unexpectedly" in failed.message
            assert "killed by SIGKILL" in failed.message
            assert "Press Start tagging to resume" in failed.message
            assert job._tagger is None and not child.alive
            runs = store.fetchall("SELECT status, message FROM tagging_runs")
            assert [r[0] for r in runs] == ["failed"] and "SIGKILL" in runs[0][1]
            kept = store.scalar("SELECT count(*) FROM tagged_tickets")
            assert 8 <= kept < TICKETS

            assert job.start()  # a new process, resuming after the kept tickets
            resumed = job.wait(300)
            assert resumed.state == "done", resumed.message
            assert resumed.done == TICKETS - kept
            assert isinstance(job._tagger, ProcessTagger) and job._tagger.pid != child.pid
        finally:
            job.close()
    with Store.open(clean) as store:
        job = TaggingJob(store, batch_size=1)
        try:
            job.start()
            assert job.wait(300).state == "done"
        finally:
            job.close()
    resumed_tables, clean_tables = _tables(small_db), _tables(clean)
    for name in ("entities", "sentiment", "tagged", "rollup_tagged", "rollup_entities"):
        assert resumed_tables[name] == clean_tables[name], name


def test_close_ends_the_jobs_tagging_process(small_db: Path, tagger_env: None) -> None:
    with Store.open(small_db) as store:
        job = TaggingJob(store, batch_size=64)
        job.start()
        assert job.wait(300).state == "done"
        child = job._tagger
        assert isinstance(child, ProcessTagger) and child.alive
        job.start()  # the same process serves the next run
        assert job.wait(60).state == "done" and job._tagger is child
        job.close()
        assert not child.alive and job._tagger is None


def test_a_requested_tagger_replaces_the_process_and_a_failed_one_falls_back(
    small_db: Path, tmp_path: Path, two_head_dir: Path, tagger_env: None
) -> None:
    other = save_two_head(random_two_head(LABELS, seed=6), tmp_path / "other", name="other")
    broken = Path(shutil.copytree(two_head_dir, tmp_path / "broken"))
    (broken / "model.safetensors").write_bytes(b"")
    with Store.open(small_db) as store:
        job = TaggingJob(store, batch_size=64)
        try:
            job.start()
            assert job.wait(300).state == "done"
            first = job._tagger
            assert isinstance(first, ProcessTagger)
            job.use_tagger(str(other))  # as a command-line request does
            job.start()
            done = job.wait(300)
            assert done.state == "done" and done.model_id.startswith("other-"), done.message
            second = job._tagger
            assert isinstance(second, ProcessTagger) and second.alive and not first.alive
            job.use_tagger(str(broken))
            job.start()
            failed = job.wait(300)
            assert failed.state == "failed" and "cannot be loaded" in failed.message
            assert "the app's own are used again" in failed.message
            assert job._tagger is second and second.alive  # back to the one before
        finally:
            job.close()
    assert not second.alive


def test_a_damaged_artefact_fails_the_run_with_its_message(
    small_db: Path, tmp_path: Path, two_head_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = Path(shutil.copytree(two_head_dir, tmp_path / "broken"))
    (broken / "model.safetensors").write_bytes(b"\x00\xffnot a model file at all" * 10)
    monkeypatch.setenv("PRICEWAR_MODEL_DIR", str(broken))
    monkeypatch.setenv("PRICEWAR_TAG_THREADS", "1")
    state, message, _ = _run_job(small_db)
    assert state == "failed"
    assert f"the tagger in {broken} cannot be loaded" in message
    assert "Press Start tagging" in message or "press Start tagging" in message


@pytest.mark.parametrize(("value", "expected"), [("", None), ("1", 1), (" 3 ", 3)])
def test_tag_threads_setting(value: str, expected: int | None) -> None:
    from dashboard.jobs import default_tag_threads

    all_but_one = max(1, len(os.sched_getaffinity(0)) - 1)
    assert default_tag_threads() == all_but_one
    assert tag_threads_from_env({"PRICEWAR_TAG_THREADS": value}) == (expected or all_but_one)


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", "²", "257"])
def test_a_bad_tag_threads_setting_names_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="PRICEWAR_TAG_THREADS must be a whole number"):
        tag_threads_from_env({"PRICEWAR_TAG_THREADS": value})


def test_tag_process_setting() -> None:
    assert tag_process_enabled({}) and tag_process_enabled({"PRICEWAR_TAG_PROCESS": "1"})
    assert not tag_process_enabled({"PRICEWAR_TAG_PROCESS": "0"})
    assert not tag_process_enabled({"PRICEWAR_TAG_PROCESS": "false"})


def test_a_bad_tag_threads_setting_stops_the_store_opening_only_in_process_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboard.state import AppState

    monkeypatch.setenv("PRICEWAR_TAG_THREADS", "lots")
    monkeypatch.setenv("PRICEWAR_AUTOTAG", "0")
    monkeypatch.setenv("PRICEWAR_INBOX_SECONDS", "0")
    app = AppState(tmp_path / "app.duckdb")
    with pytest.raises(ConfigError, match="PRICEWAR_TAG_THREADS"):
        app.open()
    assert app.store is None and not (tmp_path / "app.duckdb").exists()
    monkeypatch.setenv("PRICEWAR_TAG_PROCESS", "0")  # the setting is not used: no message
    monkeypatch.setenv("PRICEWAR_DEMO_TICKETS", "20")
    try:
        assert app.open() is not None
    finally:
        app.close()


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("PRICEWAR_INBOX_SECONDS", "0.5", "PRICEWAR_INBOX_SECONDS must be a whole number"),
        ("PRICEWAR_INBOX_SECONDS", "1e3", "PRICEWAR_INBOX_SECONDS must be a whole number"),
        ("PRICEWAR_AUTOTAG", "sometimes", "PRICEWAR_AUTOTAG must be on or off"),
        ("PRICEWAR_DEMO_TICKETS", "3k", "PRICEWAR_DEMO_TICKETS must be a whole number"),
        ("PRICEWAR_DEMO_TICKETS", "-5", "PRICEWAR_DEMO_TICKETS must be a whole number"),
        ("PRICEWAR_DEMO_TICKETS", "0", "PRICEWAR_DEMO_TICKETS must be a whole number"),
    ],
)
def test_a_bad_app_setting_stops_the_opening_with_its_name(
    tmp_path, monkeypatch, name, value, says
) -> None:
    """Round 6 of #12: these settings fell back to a default (or crashed) in silence."""
    from dashboard.state import AppState
    from data.errors import ConfigError

    monkeypatch.setenv(name, value)
    state = AppState(tmp_path / "bad.duckdb")
    with pytest.raises(ConfigError, match=says):
        state.open()
    assert not (tmp_path / "bad.duckdb").exists()  # nothing was made


def test_off_switches_and_never_polling_are_understood() -> None:
    from dashboard.jobs import autotag_enabled, inbox_seconds_from_env

    assert not autotag_enabled({"PRICEWAR_AUTOTAG": "OFF"})
    assert autotag_enabled({}) and autotag_enabled({"PRICEWAR_AUTOTAG": "yes"})
    assert inbox_seconds_from_env({"PRICEWAR_INBOX_SECONDS": "off"}) == 0
    assert inbox_seconds_from_env({"PRICEWAR_INBOX_SECONDS": " 12 "}) == 12
    assert inbox_seconds_from_env({}) == 5
