"""``data.rollups.ensure_rollups``: a store whose roll-ups were dropped, left stale or never
filled (an upgrade from before migration 6) gets them at start-up — the same tables a
rebuild gives, once (a second call does nothing), whole or not at all when the process dies
half-way, and once when two callers race. The competitor matcher's fingerprint ignores how
its modules are laid out, and follows a change of the code of either."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from data import competitor_names, reference, rollup_series, rollup_tables, rollups
from data.migrations import MIGRATIONS
from data.store import Store
from tests.data.test_rollups import (
    _assert_same_rollups,
    _snapshot,
    tagged_db,  # noqa: F401 - the module fixture, shared
)

ROOT = Path(__file__).resolve().parents[2]


def _copy(source: Path, tmp_path: Path, name: str = "db.duckdb") -> Path:
    path = tmp_path / name
    shutil.copy(source, path)
    return path


def _upgraded_from_migration_5(path: Path) -> None:
    """Make ``path`` a store created before the mention roll-ups: migrations 6 to 8 undone,
    then applied again on open (6 leaves the mention part stale and its tables empty; 7
    fills its table from the base tables; 8 indexes the entities, no roll-up)."""
    with Store.open(path) as store:

        def downgrade(conn) -> None:
            for name in (
                *(t.name for t in rollup_tables.MENTION_TABLES),
                rollup_series.SERIES_TABLE,
            ):
                conn.execute(f"DROP TABLE {name}")
            conn.execute("DROP TABLE entity_names")
            conn.execute("DROP TABLE rollup_name_state")
            for table in rollup_tables.SOURCE_TABLES:
                conn.execute(f"DROP TABLE {table.name}")
            conn.execute("DELETE FROM rollup_state WHERE part = ?", [rollup_tables.MENTIONS])
            conn.execute("DROP INDEX entities_ticket")
            conn.execute("DELETE FROM schema_version WHERE version >= 6")

        store.write(downgrade)
    assert max(MIGRATIONS) == 8, "a new migration: check what an upgrade leaves stale"


def test_an_upgraded_store_gets_its_mention_rollups_once(tagged_db: Path, tmp_path: Path) -> None:
    path = _copy(tagged_db, tmp_path)
    with Store.open(path, read_only=True) as store:
        expected = _snapshot(store)
    _upgraded_from_migration_5(path)
    with Store.open(path) as store:  # migrated again: the mention part is stale and empty
        assert rollups.fresh_parts(store.cursor()) == frozenset(rollup_tables.PARTS) - {
            rollup_tables.MENTIONS
        }
        assert store.scalar("SELECT count(*) FROM rollup_signal_mentions") == 0
        assert rollups.ensure_rollups(store) == (rollup_tables.MENTIONS,)
        assert rollups.fresh_parts(store.cursor()) == frozenset(rollup_tables.PARTS)
        _assert_same_rollups(expected, _snapshot(store))
        assert rollups.ensure_rollups(store) == ()  # idempotent: nothing left to do
        _assert_same_rollups(expected, _snapshot(store))


def test_dropped_rollups_of_every_part_are_filled(tagged_db: Path, tmp_path: Path) -> None:
    path = _copy(tagged_db, tmp_path)
    with Store.open(path) as store:
        expected = _snapshot(store)

        def drop(conn) -> None:
            for table in rollup_tables.TABLES:
                conn.execute(f"DELETE FROM {table.name}")
            conn.execute(f"DELETE FROM {rollup_series.SERIES_TABLE}")
            conn.execute("DELETE FROM entity_names")
            conn.execute("DELETE FROM rollup_state")

        store.write(drop)
        assert rollups.fresh_parts(store.cursor()) == frozenset()
        assert rollups.ensure_rollups(store) == rollup_tables.PARTS
        _assert_same_rollups(expected, _snapshot(store))
        assert rollups.fresh_parts(store.cursor()) == frozenset(rollup_tables.PARTS)


def test_only_the_stale_parts_are_rebuilt(tagged_db: Path, tmp_path: Path) -> None:
    path = _copy(tagged_db, tmp_path)
    with Store.open(path) as store:
        # a write that maintained no roll-up: the ticket and tag parts go stale
        store.execute_write(
            "INSERT INTO tickets (ticket_key, customer_id, created_at, channel, text, source)"
            " SELECT 'raw-1', customer_id, TIMESTAMP '2025-10-03 09:00', 'fax', 'raw', 'raw'"
            " FROM customers LIMIT 1"
        )
        usage_before = store.query("SELECT * FROM rollup_usage_months ORDER BY ALL")
        assert rollups.ensure_rollups(store) == (
            rollup_tables.TICKETS,
            rollup_tables.TAGS,
            rollup_tables.MENTIONS,
        )
        assert rollups.fresh_parts(store.cursor()) == frozenset(rollup_tables.PARTS)
        assert store.query("SELECT * FROM rollup_usage_months ORDER BY ALL").equals(usage_before)
        incremental = _snapshot(store)
        rollups.rebuild_rollups(store)
        _assert_same_rollups(incremental, _snapshot(store))


def test_a_read_only_store_is_left_as_it_is(tagged_db: Path, tmp_path: Path) -> None:
    path = _copy(tagged_db, tmp_path)
    _upgraded_from_migration_5(path)
    with Store.open(path):
        pass  # migrated, mention part stale
    with Store.open(path, read_only=True) as store:
        assert rollups.ensure_rollups(store) == ()
        assert rollup_tables.MENTIONS not in rollups.fresh_parts(store.cursor())


def test_two_callers_at_once_rebuild_once(tagged_db: Path, tmp_path: Path) -> None:
    path = _copy(tagged_db, tmp_path)
    _upgraded_from_migration_5(path)
    with Store.open(path) as store:
        results: list[tuple[str, ...]] = []
        start = threading.Barrier(2)

        def call() -> None:
            start.wait()
            results.append(rollups.ensure_rollups(store))

        threads = [threading.Thread(target=call) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [(), (rollup_tables.MENTIONS,)]
        assert rollups.fresh_parts(store.cursor()) == frozenset(rollup_tables.PARTS)


_CRASH = textwrap.dedent(
    """
    import os, sys
    from data import rollups
    from data.store import Store

    real_fill = rollups.fill
    filled = []

    def fill_then_die(conn, table, model_id=None):
        real_fill(conn, table, model_id)
        filled.append(table.name)
        if len(filled) == 2:  # two mention tables written, in the open transaction
            os._exit(9)

    rollups.fill = fill_then_die
    with Store.open(sys.argv[1]) as store:
        rollups.ensure_rollups(store)
    """
)


def test_a_crash_half_way_leaves_the_store_as_it_was(tagged_db: Path, tmp_path: Path) -> None:
    path = _copy(tagged_db, tmp_path)
    _upgraded_from_migration_5(path)
    with Store.open(path) as store:
        before = _snapshot(store)
    died = subprocess.run(
        [sys.executable, "-c", _CRASH, str(path)], cwd=ROOT, capture_output=True, text=True
    )
    assert died.returncode == 9, died.stderr
    with Store.open(path) as store:  # the transaction never committed: still stale, empty
        assert rollup_tables.MENTIONS not in rollups.fresh_parts(store.cursor())
        _assert_same_rollups(before, _snapshot(store))
        assert rollups.ensure_rollups(store) == (rollup_tables.MENTIONS,)
        assert rollups.fresh_parts(store.cursor()) == frozenset(rollup_tables.PARTS)
        assert store.scalar("SELECT count(*) FROM rollup_signal_mentions") > 0


def test_a_second_process_finds_nothing_to_do(tagged_db: Path, tmp_path: Path) -> None:
    path = _copy(tagged_db, tmp_path)
    _upgraded_from_migration_5(path)
    run = [
        sys.executable,
        "-c",
        "import sys; from data.rollups import ensure_rollups; from data.store import Store;"
        " print(ensure_rollups(Store.open(sys.argv[1])))",
        str(path),
    ]
    first = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, check=True)
    second = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, check=True)
    assert first.stdout.strip() == "('mentions',)"
    assert second.stdout.strip() == "()"


@pytest.mark.parametrize(
    ("changed", "same"),
    [
        ("\n\n# a comment\n", True),  # layout and comments
        ("def _added():\n    return 1\n", False),  # code
    ],
)
def test_the_matcher_fingerprint_follows_the_code_not_its_layout(changed: str, same: bool) -> None:
    code = Path(competitor_names.__file__).read_text(encoding="utf-8")
    reformatted = code.replace("\n\n\n", "\n\n\n\n").replace("(\n", "(  # wrapped\n")
    assert rollups.code_digest(reformatted) == rollups.code_digest(code)
    assert (rollups.code_digest(code + changed) == rollups.code_digest(code)) is same


@pytest.mark.parametrize("module", [competitor_names, reference])
def test_the_matcher_fingerprint_covers_the_matcher_and_the_names_it_reads(
    module, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The matcher (``data.competitor_names``) takes its names from ``data.reference``: a
    change of the code of either makes the mention roll-ups stale."""
    before = rollups.matcher_fingerprint()
    changed = tmp_path / Path(module.__file__).name
    changed.write_text(
        Path(module.__file__).read_text(encoding="utf-8") + "\n_ADDED = 1\n", encoding="utf-8"
    )
    monkeypatch.setattr(module, "__file__", str(changed))
    rollups.matcher_fingerprint.cache_clear()
    try:
        assert rollups.matcher_fingerprint() != before
    finally:
        monkeypatch.undo()
        rollups.matcher_fingerprint.cache_clear()
    assert rollups.matcher_fingerprint() == before
