"""Issue #16: entity shards loaded into the store (``data.shard_loading``) leave the entity
rows in their tickets' creation order, whatever order the shards hold them in, so the
Entities page's ticket list for a picked entity reads only the rows of the entity's newest
months (``_newest_by_months``: the slice check holds), as on a store the tagging job
tagged."""

from __future__ import annotations

import random
from pathlib import Path

from data.ingest import ingest_files
from data.shard_loading import load_entity_shards
from data.store import Store
from tests.data.test_entity_shards import MODEL, keyed, make_shard
from tests.month_tickets import assert_pick_reads_newest_months, month_tickets_csv

MONTHS = (5, 6, 7, 8)
PER_MONTH = 30
#: Entity rows of the shard: two for each ticket but every fourth.
ENTITY_ROWS = 2 * len(MONTHS) * sum(1 for i in range(PER_MONTH) if i % 4)


def _tickets_csv(path: Path) -> Path:
    """Tickets of four months, each naming ``tokens`` (a PRODUCT at 0–6) and ``Paris`` (a
    LOC at 10–15); every fourth one has no entity."""
    return month_tickets_csv(
        path,
        MONTHS,
        PER_MONTH,
        lambda i: f"tokens in Paris ticket {i}" if i % 4 else f"a quiet ticket {i}",
    )


def _shuffled_shard(folder: Path, csv: Path) -> list[str]:
    """One shard of every ticket's entities in a shuffled order (a Ray job writes them in
    its input's row order, which need not be the tickets' creation order); the keys."""
    listed = keyed(csv)
    rows = [
        row
        for key, text in zip(listed["ticket_key"], listed["text"], strict=True)
        if text.startswith("tokens")
        for row in ((key, 0, 6, "PRODUCT", "tokens", 0.9), (key, 10, 15, "LOC", "Paris", 0.8))
    ]
    keys = list(listed["ticket_key"])
    shuffle = random.Random(16).shuffle
    shuffle(rows)
    shuffle(keys)
    make_shard(folder, csv, rows, keys)
    return keys


def _loaded(tmp_path: Path) -> Store:
    store = Store.open(tmp_path / "shards.duckdb")
    csv = _tickets_csv(tmp_path / "tickets.csv")
    [report] = ingest_files(store, [csv])
    assert report.new_tickets == len(MONTHS) * PER_MONTH
    _shuffled_shard(tmp_path / "shards", csv)
    loaded = load_entity_shards(store, tmp_path / "shards")
    assert (loaded.new_tickets, loaded.new_entities) == (len(MONTHS) * PER_MONTH, ENTITY_ROWS)
    return store


def test_shard_entities_are_stored_in_creation_order(tmp_path: Path) -> None:
    with _loaded(tmp_path) as store:
        out_of_order = store.scalar(
            "SELECT count(*) FROM (SELECT t.created_at AS created,"
            " lag(t.created_at) OVER (ORDER BY e.rowid) AS previous"
            " FROM entities AS e JOIN tickets AS t ON t.ticket_key = e.ticket_key)"
            " WHERE created < previous"
        )
        assert out_of_order == 0


def test_a_shard_loaded_store_lists_an_entity_from_its_newest_months(tmp_path: Path) -> None:
    with _loaded(tmp_path) as store:
        for label, entity in (("PRODUCT", "tokens"), ("LOC", "Paris")):
            for limit in (5, 10):
                assert_pick_reads_newest_months(store, MODEL, entity, label, limit)


def test_rows_the_store_has_already_are_kept(tmp_path: Path) -> None:
    """An entity row of a ticket no run counts as tagged (the same key as a shard row) is
    kept as it is, the ticket's other rows are added: as ``ON CONFLICT DO NOTHING`` did."""
    with Store.open(tmp_path / "kept.duckdb") as store:
        csv = _tickets_csv(tmp_path / "tickets.csv")
        ingest_files(store, [csv])
        key = keyed(csv)["ticket_key"][1]
        store.execute_write(
            'INSERT INTO entities (ticket_key, model_id, start, "end", label, text, score)'
            " VALUES (?, ?, 0, 6, 'PRODUCT', 'kept', 0.5)",
            [key, MODEL],
        )
        _shuffled_shard(tmp_path / "shards", csv)
        loaded = load_entity_shards(store, tmp_path / "shards")
        assert loaded.new_entities == ENTITY_ROWS - 1
        assert store.fetchall(
            "SELECT start, text, score FROM entities WHERE ticket_key = ? ORDER BY start", [key]
        ) == [(0, "kept", 0.5), (10, "Paris", 0.8)]
