"""The cheaper reads of the pages' first loads give today's answers: the tagger of the most
tickets from the roll-ups (``analytics.alerts.current_tagger``), the newest tagger through the
zone maps (``analytics.signals.newest_model_id``), the text columns of the signal counts
made once per distinct text, and the entities of the shown tickets by key through the
index ``entities_ticket`` (migration 8)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from analytics.alerts import current_tagger
from analytics.alerts.reading import _texts
from analytics.explore import current_model_id
from analytics.explore import entity_lookup as explore_lookup
from analytics.explore.entity_lookup import entities_of_tickets, entity_lookup
from analytics.signals import newest_model_id
from data import rollups
from data.store import Store
from model.jobs import tag_store
from tests.conftest import open_copy
from tests.data.test_rollups import MODEL, GoldTagger

OTHER = "other-test"


def _after_one_batch():
    """A ``stop`` of ``tag_store`` that stops after its first batch."""
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 1

    return stop


class OtherTagger(GoldTagger):
    """:class:`GoldTagger` under another model id."""

    model_id = OTHER


def _grouped_current(store: Store) -> str | None:
    """``current_model_id`` as it was: every tag grouped by model."""
    return store.scalar(
        "SELECT model_id FROM tagged_tickets GROUP BY model_id"
        " ORDER BY count(*) DESC, max(tagged_at) DESC LIMIT 1"
    )


def _grouped_newest(store: Store) -> str | None:
    """``newest_model_id`` as it was: every tag grouped by model."""
    return store.scalar(
        "SELECT model_id FROM tagged_tickets GROUP BY model_id"
        " ORDER BY max(tagged_at) DESC, model_id LIMIT 1"
    )


def _table_counts(store: Store) -> dict[str, int]:
    return {
        str(m): int(n)
        for m, n in store.fetchall("SELECT model_id, count(*) FROM tagged_tickets GROUP BY 1")
    }


def _per_model(store: Store) -> dict[str, int] | None:
    with store.reading() as cur:
        return rollups.tagged_per_model(cur)


def test_current_tagger_is_the_tagger_of_the_most_tickets(demo_db_path: Path, tmp_path: Path):
    with open_copy(demo_db_path, tmp_path) as store:
        assert _per_model(store) == {}
        assert current_tagger(store) is None and _grouped_current(store) is None
        tag_store(store, GoldTagger(store), batch_size=64)
        tag_store(store, OtherTagger(store), batch_size=16, stop=_after_one_batch())
        counts = _table_counts(store)
        assert counts[MODEL] > counts[OTHER] > 0
        assert _per_model(store) == counts  # from the roll-up, exact
        assert current_tagger(store) == current_model_id(store) == _grouped_current(store) == MODEL
        # a tie: both models tagged every ticket; the latest to tag wins (tagging times)
        tag_store(store, OtherTagger(store), batch_size=64)
        assert _per_model(store) == _table_counts(store)
        assert len(set(_table_counts(store).values())) == 1
        assert current_tagger(store) == _grouped_current(store) == OTHER
        # tags written past the roll-ups (and one of a ticket not in the store): stale, so
        # the table is counted
        store.write(
            lambda conn: conn.execute(
                "INSERT INTO tagged_tickets (ticket_key, model_id, run_id)"
                " VALUES ('no-such-ticket', ?, 'manual')",
                [MODEL],
            )
        )
        assert _per_model(store) is None
        assert current_tagger(store) == _grouped_current(store) == MODEL


def test_current_tagger_reads_the_table_when_the_rollups_are_off(
    demo_db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import analytics.alerts as package

    with open_copy(demo_db_path, tmp_path) as store:
        tag_store(store, OtherTagger(store), batch_size=16, stop=_after_one_batch())
        monkeypatch.setattr(package, "USE_ROLLUPS", False)
        assert current_tagger(store) == _grouped_current(store) == OTHER


def test_newest_model_id_is_the_latest_to_tag_ties_by_id(tmp_store: Store):
    assert newest_model_id(tmp_store) is None
    when = dt.datetime(2026, 1, 2, 3, 4, 5, 678901)
    rows = [("t1", "b-model", when), ("t2", "b-model", when - dt.timedelta(days=1))]
    rows += [("t1", "c-model", when - dt.timedelta(microseconds=1))]

    def insert(conn, batch):
        conn.executemany(
            "INSERT INTO tagged_tickets (ticket_key, model_id, run_id, tagged_at)"
            " VALUES (?, ?, 'r', ?)",
            batch,
        )

    tmp_store.write(lambda conn: insert(conn, rows))
    assert newest_model_id(tmp_store) == _grouped_newest(tmp_store) == "b-model"
    # a tie to the microsecond: the smallest id
    tmp_store.write(lambda conn: insert(conn, [("t3", "a-model", when)]))
    assert newest_model_id(tmp_store) == _grouped_newest(tmp_store) == "a-model"
    tmp_store.write(lambda conn: insert(conn, [("t4", "z-model", when + dt.timedelta(0, 1))]))
    assert newest_model_id(tmp_store) == _grouped_newest(tmp_store) == "z-model"


@pytest.mark.parametrize(
    "values",
    [
        pa.chunked_array([pa.array(["b", None, "a"]), pa.array(["a", "b", None])]),
        pa.chunked_array([pa.array([None, None], type=pa.string())]),
        pa.chunked_array([], type=pa.string()),
        pa.chunked_array([pa.array([], type=pa.null())]),
        pa.chunked_array([pa.array(["x", "é", ""], type=pa.large_string())]),
    ],
)
def test_texts_are_the_strings_with_none_for_null(values: pa.ChunkedArray):
    got = _texts(values)
    assert got.dtype == object
    assert list(got) == values.to_pylist()
    assert all(v is None or type(v) is str for v in got)


def _reference(store: Store, model_id: str, keys: list[str]) -> list[list[dict]]:
    """Every entity of the model, grouped in Python."""
    rows = store.fetchall(
        'SELECT ticket_key, start, "end", label, text, score FROM entities WHERE model_id = ?'
        ' ORDER BY ticket_key, start, "end", label',
        [model_id],
    )
    by_key: dict[str, list[dict]] = {}
    for key, start, end, label, text, score in rows:
        by_key.setdefault(key, []).append(
            {"start": start, "end": end, "label": label, "text": text, "score": score}
        )
    return [by_key.get(k, []) for k in keys]


def test_entities_of_tickets_by_index_and_by_scan_are_the_same(
    demo_db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    with open_copy(demo_db_path, tmp_path) as store:
        tag_store(store, GoldTagger(store), batch_size=64)
        keys = [k for (k,) in store.fetchall("SELECT ticket_key FROM tickets ORDER BY 1")]
        picks = [
            keys[:1],
            keys[-200:],
            keys[5:50] + ["no-such-ticket", keys[7], "it's; DROP TABLE entities"],
            keys,  # more than INDEXED_KEYS: one joined list
        ]
        for want in picks:
            indexed = entities_of_tickets(store, MODEL, want)
            assert indexed == _reference(store, MODEL, want)
            monkeypatch.setattr(explore_lookup, "INDEXED_KEYS", 0)  # always the scan
            assert entities_of_tickets(store, MODEL, want) == indexed
            monkeypatch.undo()
        assert entities_of_tickets(store, MODEL, []) == []
        assert entities_of_tickets(store, OTHER, keys[:10]) == [[]] * 10
        assert store.scalar("SELECT count(*) FROM entities") > 0


def test_a_few_tickets_entities_are_read_through_the_index(demo_db_path: Path, tmp_path: Path):
    with open_copy(demo_db_path, tmp_path) as store:
        tag_store(store, GoldTagger(store), batch_size=64)
        assert store.scalar(
            "SELECT count(*) FROM duckdb_indexes() WHERE index_name = 'entities_ticket'"
        )
        key = store.scalar(
            "SELECT ticket_key FROM entities WHERE model_id = ? ORDER BY 1 LIMIT 1", [MODEL]
        )
        sql, args = entity_lookup(MODEL, [key])
        plan = store.fetchall("EXPLAIN ANALYZE " + sql, args)[0][1]
        assert "Index Scan" in plan


def test_migration_8_runs_again_after_a_wind_back(demo_db_path: Path, tmp_path: Path):
    with open_copy(demo_db_path, tmp_path) as store:
        path = store.path
        store.write(lambda conn: conn.execute("DELETE FROM schema_version WHERE version >= 8"))
    with Store.open(path) as store:
        assert store.scalar("SELECT max(version) FROM schema_version") >= 8
        assert store.scalar(
            "SELECT count(*) FROM duckdb_indexes() WHERE index_name = 'entities_ticket'"
        )


def test_a_listed_ticket_carries_at_most_its_first_thousand_entities(
    demo_db_path: Path, tmp_path: Path
):
    """A ticket with 1,200 entities: the ticket lists (every path: the newest tickets, a
    picked entity) carry its first 1,000 by position, as its card highlights; the exports'
    lookup (no cap) still reads all 1,200."""
    from analytics.explore import Filters, ticket_list

    n = 1_200
    with open_copy(demo_db_path, tmp_path) as store:
        tag_store(store, GoldTagger(store), batch_size=64)
        key = store.scalar("SELECT ticket_key FROM tickets ORDER BY created_at DESC LIMIT 1")

        def many(conn):
            conn.execute("DELETE FROM entities WHERE ticket_key = ? AND model_id = ?", [key, MODEL])
            conn.execute(
                "INSERT INTO entities SELECT ?, ?, i * 3, i * 3 + 2, 'PRODUCT', 'Zq', 0.9"
                " FROM range(?) r(i)",
                [key, MODEL, n],
            )

        store.write(many)
        every = entities_of_tickets(store, MODEL, [key])[0]
        assert len(every) == n
        first = every[: explore_lookup.LISTED_ENTITIES_PER_TICKET]
        for listed in (
            ticket_list(store, Filters(), MODEL, limit=20),
            ticket_list(store, Filters(), MODEL, entity="Zq", limit=20),
            ticket_list(store, Filters(), MODEL, entity="Zq", label="PRODUCT", search="", limit=5),
        ):
            row = listed[listed["ticket_key"] == key]
            assert len(row) == 1
            assert row["entities"].iloc[0] == first
