"""The command lines leave audit rows: ``python -m data demo|ingest`` and ``python -m model
tag --db``, each with the operating-system user as actor and source ``cli``."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from data import audit
from data.audit import read_log
from data.cli import main as data_main
from data.errors import StoreWriteError
from data.store import Store
from model.cli import main as model_main
from tests.model.conftest import (  # noqa: F401 - fixtures
    AUTO_ON_THIS_CPU,
    add_tickets,
    keyword_dir,
    tokenizer,
)

#: The actor the command lines write: the account of the real user id, whatever $USER says.
ACTOR = f"os:{pwd.getpwuid(os.getuid()).pw_name}"


def trail(db: Path) -> pd.DataFrame:
    """The whole audit trail of ``db``, oldest first."""
    with Store.open(db, read_only=True) as store:
        return read_log(store).iloc[::-1].reset_index(drop=True)


def tickets(db: Path) -> int:
    with Store.open(db, read_only=True) as store:
        return int(store.scalar("SELECT count(*) FROM tickets"))


def assert_cli_rows(log: pd.DataFrame) -> None:
    assert set(log["actor"]) == {ACTOR}
    assert set(log["source"]) == {"cli"}
    assert log["role"].isna().all()


@pytest.fixture
def csvs(tmp_path) -> dict[str, Path]:
    good = tmp_path / "good.csv"
    good.write_text("id,body\n1,The API is down\n2,Too expensive vs GPT-4o\n1,The API is down\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("id,body\n1,\n")
    return {"good": good, "bad": bad}


def test_demo_leaves_a_demo_row(tmp_path, capsys):
    db = tmp_path / "demo.duckdb"
    assert data_main(["demo", "--db", str(db), "--tickets", "30", "--seed", "5", "--quiet"]) == 0
    assert "demo data (seed 5)" in capsys.readouterr().out
    log = trail(db)
    assert log["action"].tolist() == [audit.DEMO]
    assert_cli_rows(log)
    row = log.iloc[0]
    assert row["target"] == "demo.duckdb"
    assert row["detail"].startswith("seed 5: ") and "30 tickets" in row["detail"]
    assert tickets(db) == 30


def ingest(capsys, db: Path, *files: Path) -> tuple[int, str, pd.DataFrame]:
    """``python -m data ingest --db db files…``: the exit status, what it said, the trail."""
    status = data_main(["ingest", "--db", str(db), *map(str, files)])
    said = capsys.readouterr()
    return status, said.out + said.err, trail(db)


def test_ingest_leaves_one_row_per_file_with_its_outcome(tmp_path, csvs, capsys):
    db = tmp_path / "ingest.duckdb"
    status, said, log = ingest(capsys, db, csvs["good"])
    assert status == 0 and "2 new tickets" in said
    assert log[["action", "target", "detail"]].values.tolist() == [
        [audit.INGEST, "good.csv", "imported: 3 rows, 2 new tickets, 1 already present or repeated"]
    ]
    assert_cli_rows(log)

    # the same file again: valid, nothing added, and the trail says so
    status, said, log = ingest(capsys, db, csvs["good"])
    assert status == 0 and "nothing added" in said
    assert log["detail"].tolist()[1] == "unchanged: this file was ingested before"
    assert tickets(db) == 2

    # a bad file is rejected (exit 2) with its own row; the good one beside it still counts
    status, said, log = ingest(capsys, db, csvs["bad"], csvs["good"])
    assert status == 2 and "bad.csv: rejected" in said
    assert log["action"].tolist() == [audit.INGEST] * 4
    assert log["target"].tolist()[2:] == ["bad.csv", "good.csv"]
    rejected = log["detail"].tolist()[2]
    assert rejected.startswith("rejected: ") and "row 1, column 'body': empty text" in rejected
    assert log["detail"].tolist()[3].startswith("unchanged")
    assert_cli_rows(log)
    assert tickets(db) == 2


def test_ingest_of_only_a_bad_file_leaves_the_rejected_row(tmp_path, csvs, capsys):
    db = tmp_path / "bad.duckdb"
    status, said, log = ingest(capsys, db, csvs["bad"])
    assert status == 2 and "empty text" in said
    assert log[["action", "target"]].values.tolist() == [[audit.INGEST, "bad.csv"]]
    assert log["detail"][0].startswith("rejected: ")
    assert tickets(db) == 0


def test_a_missing_file_is_refused_before_anything_is_written(tmp_path, capsys):
    db = tmp_path / "none.duckdb"
    Store.open(db).close()
    status, said, log = ingest(capsys, db, tmp_path / "missing.csv")
    assert status == 2 and "no such file" in said and log.empty


def test_ingest_and_its_row_commit_together(tmp_path, csvs, monkeypatch, capsys):
    db = tmp_path / "atomic.duckdb"

    def full_disk(store, **kwargs):
        raise StoreWriteError(db, "no space left on device")

    monkeypatch.setattr(audit, "record", full_disk)
    assert data_main(["ingest", "--db", str(db), str(csvs["good"])]) == 2
    assert "no space left" in capsys.readouterr().err
    monkeypatch.undo()
    assert tickets(db) == 0 and trail(db).empty  # no tickets without their audit row


def test_a_separate_process_records_the_real_user(tmp_path, csvs):
    db = tmp_path / "proc.duckdb"
    env = {**os.environ, "USER": "not-me", "LOGNAME": "not-me"}
    result = subprocess.run(
        [sys.executable, "-m", "data", "ingest", "--db", str(db), str(csvs["good"])],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    log = trail(db)
    assert log[["actor", "source", "action"]].values.tolist() == [[ACTOR, "cli", audit.INGEST]]


# -- python -m model tag --db ---------------------------------------------------------------


@pytest.fixture
def ticket_db(tmp_path) -> Path:
    db = tmp_path / "tag.duckdb"
    with Store.open(db) as store:
        add_tickets(store, ["Jane at Acme", "Paris", ""])
    return db


def tag(db: Path, model_dir: Path, *extra: str) -> int:
    return model_main(
        ["tag", "--db", str(db), "--model", str(model_dir), "--device", "cpu", *extra]
    )


def test_tag_leaves_start_and_end_rows(ticket_db, keyword_dir, capsys):
    assert tag(ticket_db, keyword_dir, "--batch-size", "4") == 0
    assert "tagged 3 tickets, 3 entities" in capsys.readouterr().out
    log = trail(ticket_db)
    assert log["action"].tolist() == [audit.TAG_START, audit.TAG_END]
    assert_cli_rows(log)
    with Store.open(ticket_db, read_only=True) as store:
        model_id, run_id = store.fetchall("SELECT model_id, run_id FROM tagging_runs")[0]
    assert log["target"].tolist() == [model_id, model_id]
    start, end = log["detail"].tolist()
    auto = AUTO_ON_THIS_CPU  # fp32, or bf16 on a CPU with AMX
    assert start == f"model dir {keyword_dir}, cpu ({auto}), batch size 4"
    assert end == (
        f"done: 3 tickets tagged, 3 entities, run {run_id}; model dir {keyword_dir}, cpu ({auto})"
    )
    assert log["at"].is_monotonic_increasing

    assert tag(ticket_db, keyword_dir) == 0  # nothing left to tag: still a start and an end
    assert "tagged 0 tickets" in capsys.readouterr().out
    log = trail(ticket_db)
    assert log["action"].tolist() == [audit.TAG_START, audit.TAG_END] * 2
    assert log["detail"].tolist()[3].startswith("done: 0 tickets tagged")


def test_an_interrupted_run_ends_with_a_stop_row(
    ticket_db,
    keyword_dir,
    monkeypatch,
    capsys,
):
    import model.jobs

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(model.jobs, "tag_store", interrupted)
    assert tag(ticket_db, keyword_dir) == 130
    log = trail(ticket_db)
    assert log["action"].tolist() == [audit.TAG_START, audit.TAG_STOP]
    assert log["detail"][1].startswith("interrupted by the user; model dir ")
    assert_cli_rows(log)


def test_a_failed_run_ends_with_its_reason(ticket_db, keyword_dir, monkeypatch):
    import model.jobs

    def fails(*args, **kwargs):
        raise RuntimeError("the device\nfell over")

    monkeypatch.setattr(model.jobs, "tag_store", fails)
    with pytest.raises(RuntimeError, match="fell over"):
        tag(ticket_db, keyword_dir)
    log = trail(ticket_db)
    assert log["action"].tolist() == [audit.TAG_START, audit.TAG_END]
    assert log["detail"][1].startswith("failed: RuntimeError: the device fell over; ")


def test_no_tagging_when_the_start_cannot_be_recorded(
    ticket_db,
    keyword_dir,
    monkeypatch,
    capsys,
):
    def full_disk(store, **kwargs):
        raise StoreWriteError(ticket_db, "no space left on device")

    monkeypatch.setattr(audit, "record", full_disk)
    assert tag(ticket_db, keyword_dir) == 2
    assert "no space left" in capsys.readouterr().err
    monkeypatch.undo()
    with Store.open(ticket_db, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM tagged_tickets") == 0
        assert store.scalar("SELECT count(*) FROM tagging_runs") == 0
    assert trail(ticket_db).empty
