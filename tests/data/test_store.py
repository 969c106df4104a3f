"""data.store and data.migrations: schema, re-open, the single writer under threads, locks."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import duckdb
import pytest

from data.errors import StoreCorruptError, StoreLockedError
from data.migrations import LATEST_VERSION, MIGRATIONS
from data.store import Store

TABLES = {
    "customers",
    "usage",
    "price_history",
    "tickets",
    "gold_entities",
    "entities",
    "tagged_tickets",
    "tagging_runs",
    "scenarios",
    "competitor_prices",
    "ingested_files",
    "schema_version",
    "audit_log",
    "ticket_sentiment",
    "gold_sentiment",
    "demo_surges",
    "demo_churn_truth",
    "rollup_ticket_days",
    "rollup_ticket_months",
    "rollup_usage_months",
    "rollup_tagged_days",
    "rollup_entity_months",
    "rollup_signal_days",
    "rollup_state",
    "entity_names",
    "rollup_name_state",
    "rollup_signal_mentions",
    "rollup_signal_spellings",
    "rollup_competitor_days",
    "rollup_signal_series",
    "rollup_source_entities",
}


def test_fresh_store_has_every_table_and_the_latest_version(tmp_store):
    assert set(tmp_store.table_counts()) == TABLES
    assert tmp_store.scalar("SELECT max(version) FROM schema_version") == LATEST_VERSION
    versions = [r[0] for r in tmp_store.fetchall("SELECT version FROM schema_version ORDER BY 1")]
    assert versions == sorted(MIGRATIONS)


def test_reopen_keeps_data_and_does_not_migrate_again(tmp_path):
    path = tmp_path / "db.duckdb"
    with Store.open(path) as store:
        store.execute_write("INSERT INTO scenarios (name, params) VALUES (?, ?)", ["a", "{}"])
    with Store.open(path) as store:
        assert store.scalar("SELECT count(*) FROM schema_version") == len(MIGRATIONS)
        assert store.scalar("SELECT name FROM scenarios") == "a"
    with Store.open(path, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM scenarios") == 1
        with pytest.raises(PermissionError):
            store.execute_write("DELETE FROM scenarios")


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "db.duckdb"
    Store.open(path).close()
    conn = duckdb.connect(str(path))
    conn.execute("INSERT INTO schema_version (version) VALUES (?)", [LATEST_VERSION + 1])
    conn.close()
    with pytest.raises(StoreCorruptError, match="newer"):
        Store.open(path)


def test_garbage_file_is_a_clear_error(tmp_path):
    path = tmp_path / "db.duckdb"
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(StoreCorruptError, match="not a readable DuckDB database"):
        Store.open(path)


def test_concurrent_writes_from_threads_are_all_kept(tmp_store):
    errors: list[BaseException] = []

    def worker(t: int) -> None:
        try:
            for i in range(25):
                tmp_store.execute_write(
                    "INSERT INTO scenarios (name, params) VALUES (?, ?)", [f"t{t}-{i}", "{}"]
                )
                tmp_store.query("SELECT count(*) FROM scenarios")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert tmp_store.scalar("SELECT count(*) FROM scenarios") == 200


def test_a_failing_write_rolls_back_and_the_writer_keeps_going(tmp_store):
    def half_then_fail(conn):
        conn.execute("INSERT INTO scenarios (name, params) VALUES (?, ?)", ["x", "{}"])
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        tmp_store.write(half_then_fail)
    assert tmp_store.scalar("SELECT count(*) FROM scenarios") == 0
    tmp_store.execute_write("INSERT INTO scenarios (name, params) VALUES (?, ?)", ["y", "{}"])
    assert tmp_store.scalar("SELECT count(*) FROM scenarios") == 1


def test_values_are_parameters_not_sql(tmp_store):
    evil = "x'); DROP TABLE tickets; --"
    tmp_store.execute_write("INSERT INTO scenarios (name, params) VALUES (?, ?)", [evil, "{}"])
    assert tmp_store.scalar("SELECT name FROM scenarios WHERE name = ?", [evil]) == evil
    assert "tickets" in tmp_store.table_counts()


HOLD = textwrap.dedent("""
    import sys, time
    from data.store import Store
    store = Store.open(sys.argv[1])
    print("held", flush=True)
    sys.stdin.readline()
    store.close()
""")


@pytest.fixture
def held_db(tmp_path):
    """A database file held open for writing by another process."""
    path = tmp_path / "held.duckdb"
    Store.open(path).close()
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "held"
        yield path
    finally:
        proc.stdin.write("\n")
        proc.stdin.flush()
        proc.wait(timeout=30)


def test_a_held_file_raises_store_locked(held_db):
    with pytest.raises(StoreLockedError) as info:  # at once: DuckDB does not wait for a lock
        Store.open(held_db)
    assert "in use by another process" in str(info.value)
    assert "PID" in str(info.value)


def test_a_write_inside_a_write_runs_in_the_same_transaction(tmp_store):
    def outer(conn):
        conn.execute("INSERT INTO scenarios (name, params) VALUES (?, ?)", ["outer", "{}"])
        tmp_store.execute_write(
            "INSERT INTO scenarios (name, params) VALUES (?, ?)", ["inner", "{}"]
        )
        raise RuntimeError("roll both back")

    with pytest.raises(RuntimeError):
        tmp_store.write(outer)
    assert tmp_store.scalar("SELECT count(*) FROM scenarios") == 0


def test_a_new_migration_is_applied_on_open_and_a_failing_one_rolls_back(tmp_path, monkeypatch):
    import data.store as store_module

    path = tmp_path / "db.duckdb"
    Store.open(path).close()
    extra = dict(MIGRATIONS)
    extra[LATEST_VERSION + 1] = ["CREATE TABLE extra_notes (note VARCHAR)"]
    monkeypatch.setattr(store_module, "MIGRATIONS", extra)
    monkeypatch.setattr(store_module, "LATEST_VERSION", LATEST_VERSION + 1)
    with Store.open(path) as store:
        assert store.scalar("SELECT max(version) FROM schema_version") == LATEST_VERSION + 1
        assert "extra_notes" in store.table_counts()

    broken = dict(extra)
    broken[LATEST_VERSION + 2] = ["CREATE TABLE half_done (x INT)", "THIS IS NOT SQL"]
    monkeypatch.setattr(store_module, "MIGRATIONS", broken)
    monkeypatch.setattr(store_module, "LATEST_VERSION", LATEST_VERSION + 2)
    with pytest.raises(duckdb.Error):
        Store.open(path)
    monkeypatch.setattr(store_module, "MIGRATIONS", extra)
    monkeypatch.setattr(store_module, "LATEST_VERSION", LATEST_VERSION + 1)
    with Store.open(path) as store:
        assert store.scalar("SELECT max(version) FROM schema_version") == LATEST_VERSION + 1
        assert "half_done" not in store.table_counts()


def test_a_damaged_block_met_by_the_roll_up_check_is_a_store_corrupt_error(demo_db_path, tmp_path):
    """The analytics' freshness check reads through ``Store.reading``: a file cut in half
    that opens but fails on a later block is a StoreCorruptError (the app's 'move it aside'
    message), never a bare DuckDB IOException."""
    from analytics import explore

    data = demo_db_path.read_bytes()
    damaged = tmp_path / "damaged.duckdb"
    damaged.write_bytes(data[: len(data) // 2])
    with Store.open(damaged) as store:
        with store.reading() as cur:
            assert cur.execute("SELECT 1").fetchone() == (1,)
        with pytest.raises(StoreCorruptError, match="damaged.duckdb"):
            explore.date_bounds(store)
