"""Issue 16: an ingest keeps the roll-ups with a few statements (``data.rollup_upkeep.
inserted_tickets``): new tickets touch only the ticket roll-ups, in one merge each; the
answers stay those of a rebuild, tag rows stored under a new ticket's key included."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from data import rollup_series, rollup_tables, rollup_upkeep, rollups
from data.ingest import ingest_files
from data.store import Store
from tests.data.test_rollups import _assert_equals_rebuild, _snapshot

#: Roll-up tables an ingest of untagged new tickets cannot change.
_TAG_ROLLUPS = sorted(
    {t.name for t in rollup_tables.TABLES if t.part != rollup_tables.TICKETS}
    | {rollup_series.SERIES_TABLE, "entity_names"}
)
_TICKET_ROLLUPS = sorted(t.name for t in rollup_tables.TABLES if t.part == rollup_tables.TICKETS)


@pytest.fixture(autouse=True, params=["keys-looked-up", "keys-joined"])
def key_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test both ways: the new keys looked up by key (as in a store of a million
    tickets) and joined with the tables (as in the demo's 2,000)."""
    if request.param == "keys-looked-up":
        monkeypatch.setattr(rollup_upkeep, "LOOKUP_MIN_TICKETS", 0)
    else:
        monkeypatch.setattr(rollup_upkeep, "LOOKUP_MIN_TICKETS", 10**12)
    return str(request.param)


@pytest.fixture
def store(demo_db_path: Path, tmp_path: Path) -> Iterator[Store]:
    """A writable copy of the session demo (its roll-ups fresh, mentions included)."""
    path = tmp_path / "db.duckdb"
    shutil.copy(demo_db_path, path)
    with Store.open(path) as opened:
        assert rollups.fresh_parts(opened.cursor()) == frozenset(rollup_tables.PARTS)
        yield opened


class _Recording:
    """The writer's connection, recording the SQL of every statement it runs."""

    def __init__(self, conn: Any, log: list[str]) -> None:
        self._conn = conn
        self._log = log

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        self._log.append(" ".join(str(sql).split()))
        return self._conn.execute(sql, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL every ``Store.write`` runs from here on (the real connection underneath)."""
    log: list[str] = []
    real_write = Store.write

    def write(self: Store, fn: Any) -> Any:
        return real_write(self, lambda conn: fn(_Recording(conn, log)))

    monkeypatch.setattr(Store, "write", write)
    return log


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text("id,customer_id,created_at,text\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _rows(store: Store, prefix: str, n: int) -> list[str]:
    customers = [c for (c,) in store.fetchall("SELECT customer_id FROM customers LIMIT 3")]
    return [
        f"{prefix}{i},{customers[i % 3] if i % 4 else 'nobody'},"
        f"{'' if i % 5 == 0 else f'2025-0{1 + i % 8}-1{i % 9}T08:00:00'},"
        f"OpenAI undercut us again ({prefix}{i})"
        for i in range(n)
    ]


def test_an_upload_of_new_tickets_rewrites_only_the_ticket_rollups(
    store: Store, tmp_path: Path, statements: list[str]
) -> None:
    tag_rollups = {name: df for name, df in _snapshot(store).items() if name in _TAG_ROLLUPS}
    [report] = ingest_files(store, [_csv(tmp_path / "up.csv", _rows(store, "u", 3))])
    assert report.new_tickets == 3

    touching = [sql for sql in statements if any(name in sql for name in _TAG_ROLLUPS)]
    assert touching == []
    for name in _TICKET_ROLLUPS:  # each kept by one merge of the new tickets' counts
        assert [sql for sql in statements if name in sql] == [
            sql for sql in statements if sql.startswith(f"MERGE INTO {name} ")
        ]
        assert len([sql for sql in statements if name in sql]) == 1
    after = _snapshot(store)
    for name, df in tag_rollups.items():
        assert after[name].equals(df), name
    _assert_equals_rebuild(store)


@pytest.mark.parametrize("few_keys", [rollup_upkeep.FEW_KEYS, 2], ids=["small-file", "large-file"])
def test_uploads_with_known_repeated_and_undated_rows_equal_a_rebuild(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, few_keys: int
) -> None:
    # a file of more keys than FEW_KEYS (here: 2) is joined whatever the store's size
    monkeypatch.setattr(rollup_upkeep, "FEW_KEYS", few_keys)
    first = _rows(store, "k", 12)
    [report] = ingest_files(store, [_csv(tmp_path / "a.csv", first)])
    assert report.new_tickets == 12
    _assert_equals_rebuild(store)

    # half known, one repeated inside the file, the rest new
    mixed = first[:6] + _rows(store, "m", 5) + [_rows(store, "m", 5)[2]]
    [report] = ingest_files(store, [_csv(tmp_path / "b.csv", mixed)])
    assert (report.new_tickets, report.duplicates) == (5, 7)
    _assert_equals_rebuild(store)

    # every row known already: nothing new, the roll-ups as they were
    before = _snapshot(store)
    [report] = ingest_files(store, [_csv(tmp_path / "c.csv", first[3:9])])
    assert report.new_tickets == 0
    after = _snapshot(store)
    for name in before:
        assert after[name].equals(before[name]), name
    _assert_equals_rebuild(store)


def test_tag_rows_stored_under_a_new_tickets_key_start_counting(
    store: Store, tmp_path: Path
) -> None:
    rows = _rows(store, "o", 4)
    ingest_files(store, [_csv(tmp_path / "first.csv", rows[:2])])
    key = store.scalar("SELECT ticket_key FROM tickets WHERE source_id = 'o1'")
    assert key is not None

    # tag the ticket (a model and the ground truth), then remove the ticket alone: its tag
    # rows stay behind, counted by no roll-up that joins the tickets
    def tag_then_drop_ticket(conn: Any) -> None:
        with rollup_upkeep.maintained(conn, "SELECT ? AS ticket_key", [key]):
            conn.execute(
                "INSERT INTO entities VALUES (?, 'm1', 0, 6, 'ORG', 'OpenAI', 0.9),"
                " (?, 'm1', 7, 14, 'PRODUCT', 'Gemini', 0.8)",
                [key, key],
            )
            conn.execute(
                "INSERT INTO tagged_tickets (ticket_key, model_id, run_id) VALUES (?, 'm1', 'r')",
                [key],
            )
            conn.execute(
                "INSERT INTO ticket_sentiment (ticket_key, model_id, label, score)"
                " VALUES (?, 'm1', 'negative', 0.9)",
                [key],
            )
            conn.execute(
                'INSERT INTO gold_entities (ticket_key, start, "end", label, text)'
                " VALUES (?, 0, 6, 'ORG', 'OpenAI')",
                [key],
            )
            conn.execute(
                "INSERT INTO gold_sentiment (ticket_key, label, origin) VALUES (?, 'negative', 'ticket')",
                [key],
            )
            conn.execute("DELETE FROM tickets WHERE ticket_key = ?", [key])

    store.write(tag_then_drop_ticket)
    _assert_equals_rebuild(store)
    mentions = store.scalar("SELECT count(*) FROM rollup_signal_mentions WHERE entities = 'm1'")

    # the ticket comes back with a later upload: its stored tags count again
    [report] = ingest_files(store, [_csv(tmp_path / "again.csv", rows)])
    assert report.new_tickets == 3
    assert store.scalar("SELECT count(*) FROM rollup_signal_mentions WHERE entities = 'm1'") > (
        mentions
    )
    _assert_equals_rebuild(store)
