"""python -m data: verbs, exit codes, messages, the locked-database way forward."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from data.cli import main
from data.inbox import import_inbox, pending
from data.store import Store
from tests.data.test_store import held_db  # noqa: F401 - fixture


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "data", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("verb", [None, "demo", "ingest", "stats"])
def test_help_on_every_verb(verb):
    result = run(*([verb] if verb else []), "--help")
    assert result.returncode == 0
    assert "usage: python -m data" in result.stdout
    assert "--db" in result.stdout or verb is None


def test_demo_then_stats_json(tmp_path, capsys):
    db = tmp_path / "d.duckdb"
    assert main(["demo", "--db", str(db), "--tickets", "50", "--seed", "3", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["stats", "--db", str(db), "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["tickets"] == 50 and counts["customers"] >= 200
    assert set(counts) >= {"usage", "gold_entities", "competitor_prices", "schema_version"}


def test_ingest_exit_codes(tmp_path, capsys):
    db = tmp_path / "d.duckdb"
    good = tmp_path / "good.csv"
    good.write_text("id,body\n1,The API is down\n2,Too expensive vs GPT-4o\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("id,body\n1,\n")
    assert main(["ingest", "--db", str(db), str(good)]) == 0
    assert "2 new tickets" in capsys.readouterr().out
    assert main(["ingest", "--db", str(db), str(good)]) == 0
    assert "nothing added" in capsys.readouterr().out
    assert main(["ingest", "--db", str(db), str(bad), str(good)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv: rejected" in err and "row 1, column 'body': empty text" in err
    assert main(["ingest", "--db", str(db), str(tmp_path / "missing.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["ingest", "--db", str(db), "--max-rows", "1", str(good)]) == 0  # known file
    other = tmp_path / "other.csv"
    other.write_text("text\na\nb\n")
    assert main(["ingest", "--db", str(db), "--max-rows", "1", str(other)]) == 2
    assert "max_rows" in capsys.readouterr().err


def test_bad_input_is_one_line_and_no_traceback(tmp_path):
    garbage = tmp_path / "garbage.duckdb"
    garbage.write_bytes(b"\x00garbage" * 64)
    for args in (
        ["stats", "--db", str(garbage)],
        ["stats", "--db", str(tmp_path / "no.duckdb")],
        ["demo", "--tickets", "-3", "--db", str(tmp_path / "x.duckdb")],
        ["frobnicate"],
    ):
        result = run(*args)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr
        assert result.stderr.strip()


def test_locked_database_hands_files_to_the_running_app(held_db, tmp_path):
    upload = tmp_path / "locked.csv"
    upload.write_text("id,text\n1,queued while the app runs\n")
    result = run("ingest", "--db", str(held_db), str(upload))
    assert result.returncode == 0, result.stderr
    assert "in use by another process" in result.stdout and "inbox" in result.stdout
    assert "Traceback" not in result.stderr
    assert len(pending(held_db)) == 1

    bad = tmp_path / "bad.csv"
    bad.write_text("")
    rejected = run("ingest", "--db", str(held_db), str(bad))
    assert rejected.returncode == 2 and "empty" in rejected.stderr
    assert len(pending(held_db)) == 1

    stats = run("stats", "--db", str(held_db))
    assert stats.returncode == 2 and "in use" in stats.stderr and "Traceback" not in stats.stderr


def test_inbox_is_imported_once_the_app_reads_it(tmp_path):
    from data.inbox import hand_to_inbox

    db = tmp_path / "app.duckdb"
    upload = tmp_path / "u.csv"
    upload.write_text("text\nfirst\nsecond\n")
    hand_to_inbox(db, [upload])
    hand_to_inbox(db, [upload])  # the same file twice: one inbox entry
    assert len(pending(db)) == 1
    with Store.open(db) as store:
        assert import_inbox(store) == ["u.csv: 2 rows, 2 new tickets"]
        assert import_inbox(store) == []
        hand_to_inbox(db, [upload])
        assert import_inbox(store) == ["u.csv: this file was ingested before; nothing added"]
        assert store.scalar("SELECT count(*) FROM tickets") == 2
    assert pending(db) == []


def test_damaged_inbox_file_is_set_aside(tmp_path):
    from data.paths import inbox_dir

    db = tmp_path / "app.duckdb"
    inbox = inbox_dir(db)
    inbox.mkdir()
    (inbox / "broken.parquet").write_bytes(b"PAR1 nope")
    with Store.open(db) as store:
        [message] = import_inbox(store)
    assert "could not be imported" in message
    assert (inbox / "failed" / "broken.parquet").exists()
