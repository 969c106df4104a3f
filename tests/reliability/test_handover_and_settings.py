"""Issue #12, what remained: ``model tag`` says honestly who takes a handed tagging run,
refuses batch sizes the app would refuse, and ``PRICEWAR_TAG_BATCH`` is checked.

The database is held by a real second process (a bare DuckDB connection, or one that also
writes the app's inbox heartbeat, as a polling dashboard does); the tagger is never loaded
(the handover does not need it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from data.errors import ConfigError
from data.paths import inbox_dir
from data.store import Store
from data.tag_requests import MAX_BATCH_SIZE, take_tagging_requests
from tests.reliability.conftest import ROOT, assert_no_traceback, cli_env
from tests.reliability.test_inbox_hardening import HOLD


@pytest.fixture
def no_tagger(monkeypatch: pytest.MonkeyPatch) -> None:
    """``model.cli`` without loading a tagger (the handover does not use it)."""
    import model.cli

    monkeypatch.setattr(model.cli, "load_tagger", lambda *a, **k: object())
    monkeypatch.setattr(model.cli, "limit_threads", lambda: None)


def _hold(db: Path, heartbeat: bool) -> subprocess.Popen[str]:
    """A process holding ``db`` for writing (with the dashboard's heartbeat if asked)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db), "1" if heartbeat else "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


@pytest.fixture
def held(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Path, int]]:
    """A database held by another process; ``request.param``: whether it beats."""
    db = tmp_path / "held.duckdb"
    Store.open(db).close()
    holder = _hold(db, heartbeat=request.param)
    try:
        yield db, holder.pid
    finally:
        holder.communicate("", timeout=30)


def _tag(db: Path, *extra: str) -> int:
    from model.cli import main

    return main(["tag", "--db", str(db), *extra])


# -- 3. who takes a handed tagging run -----------------------------------------------------


@pytest.mark.parametrize("held", [False], indirect=True)
def test_model_tag_does_not_claim_a_dashboard_that_is_not_there(
    held: tuple[Path, int], no_tagger: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Held by a process that is not a dashboard: the request waits in the inbox, and the
    message says so (it said "handed to the running dashboard")."""
    db, pid = held
    assert _tag(db, "--batch-size", "7") == 0
    out = capsys.readouterr().out
    assert f"in use by another process (PID {pid}), which is not a dashboard" in out, out
    assert "tagging request left in the inbox" in out
    assert "running dashboard" not in out and "handed to it" not in out
    [request] = take_tagging_requests(db)
    assert request.batch_size == 7 and str(request.path.parent) in out


@pytest.mark.parametrize("held", [True], indirect=True)
def test_model_tag_names_the_dashboard_that_polls_the_inbox(
    held: tuple[Path, int], no_tagger: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Held by a process with a fresh heartbeat: handed to that dashboard, named by PID."""
    db, pid = held
    assert _tag(db) == 0
    out = capsys.readouterr().out
    assert f"held by the running dashboard (PID {pid}): tagging handed to it" in out, out
    assert len(take_tagging_requests(db)) == 1


@pytest.mark.parametrize("held", [False], indirect=True)
@pytest.mark.parametrize("beat", ["stale", "other_pid"])
def test_a_stale_or_foreign_heartbeat_is_not_a_dashboard(
    held: tuple[Path, int], beat: str, no_tagger: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """A heartbeat an hour old, or one written by a live process that does not hold the
    database (here: this test), does not make the holder a dashboard."""
    db, pid = held
    when = time.time() - 3600 if beat == "stale" else time.time()
    writer = pid if beat == "stale" else os.getpid()
    inbox_dir(db).mkdir(exist_ok=True)
    (inbox_dir(db) / ".app-heartbeat").write_text(
        json.dumps({"pid": writer, "time": when, "every": 5.0})
    )
    assert _tag(db) == 0
    out = capsys.readouterr().out
    assert "which is not a dashboard" in out and "running dashboard" not in out, out


# -- 3. --batch-size within what the app accepts -------------------------------------------


@pytest.mark.parametrize("value", ["0", "-3", str(MAX_BATCH_SIZE + 1), "1000000"])
def test_model_tag_refuses_a_batch_size_the_app_would_refuse(
    tmp_path: Path, value: str, no_tagger: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 2 and one line naming the flag, before any store is touched (4,097 tagged a
    free database, or was handed to the app, which then refused the request)."""
    db = tmp_path / "free.duckdb"
    Store.open(db).close()
    assert _tag(db, "--batch-size", value) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "--batch-size must be between 1 and 4,096" in err[0], err
    assert not inbox_dir(db).exists()


def test_the_batch_size_bounds_hold_for_every_verb_and_4096_is_accepted(
    tmp_path: Path, no_tagger: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from model.cli import main

    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"text": "Jane", "spans": [[0, 4, "PER"]]}\n')
    assert main(["evaluate", "--data", str(gold), "--batch-size", "4097"]) == 2
    assert "--batch-size" in capsys.readouterr().err
    assert (
        main(
            [
                "train",
                "--output",
                str(tmp_path / "o"),
                "--demo-train",
                "1",
                "--demo-dev",
                "1",
                "--batch-size",
                "0",
            ]
        )
        == 2
    )
    assert "--batch-size" in capsys.readouterr().err
    db = tmp_path / "held.duckdb"
    Store.open(db).close()
    holder = _hold(db, heartbeat=False)
    try:
        assert _tag(db, "--batch-size", str(MAX_BATCH_SIZE)) == 0
    finally:
        holder.communicate("", timeout=30)
    assert [r.batch_size for r in take_tagging_requests(db)] == [MAX_BATCH_SIZE]


# -- 4. PRICEWAR_TAG_BATCH -----------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-5", "4097", "abc", "1e3", "32.5", "9" * 40])
def test_a_bad_tag_batch_setting_is_a_clear_message(value: str) -> None:
    from dashboard.jobs import tag_batch_from_env
    from dashboard.ui import friendly_message

    with pytest.raises(ConfigError) as caught:
        tag_batch_from_env({"PRICEWAR_TAG_BATCH": value})
    shown = friendly_message(caught.value)
    assert "PRICEWAR_TAG_BATCH must be a whole number from 1 to 4,096" in shown
    assert len(shown) < 300


@pytest.mark.parametrize(
    "value, expected", [("", 32), ("  ", 32), ("64", 64), ("4_096", 4096), ("1", 1)]
)
def test_a_good_or_missing_tag_batch_setting_is_used(value: str, expected: int) -> None:
    from dashboard.jobs import tag_batch_from_env

    assert tag_batch_from_env({"PRICEWAR_TAG_BATCH": value}) == expected
    assert tag_batch_from_env({}) == 32


def test_a_bad_tag_batch_setting_stops_nothing_but_the_store_opening(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app imports fine (the value is read when it opens its store); opening says what
    is wrong before anything is created; the job no longer runs with batch size 0."""
    from dashboard.jobs import TaggingJob
    from dashboard.state import AppState

    result = subprocess.run(
        [sys.executable, "-c", "import dashboard.state"],
        cwd=ROOT,
        env=cli_env(PRICEWAR_TAG_BATCH="abc"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert_no_traceback(result.stderr)
    monkeypatch.setenv("PRICEWAR_TAG_BATCH", "0")
    app = AppState(tmp_path / "app.duckdb")
    with pytest.raises(ConfigError, match="PRICEWAR_TAG_BATCH"):
        app.open()
    assert app.store is None and not (tmp_path / "app.duckdb").exists()
    with (
        Store.open(tmp_path / "other.duckdb") as store,
        pytest.raises(ConfigError, match="PRICEWAR_TAG_BATCH"),
    ):
        TaggingJob(store)
    monkeypatch.setenv("PRICEWAR_TAG_BATCH", "48")
    with Store.open(tmp_path / "other.duckdb") as store:
        assert TaggingJob(store).batch_size == 48
