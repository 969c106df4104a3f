"""Issue #16: the tagging job writes each batch's entity rows in their tickets' day order,
so the Entities page's ticket list for a picked entity reads only the rows of the entity's
newest months (``_newest_by_months``: the slice check holds). An ``ON CONFLICT`` insert
loses DuckDB's insert order within a statement (1–31 descents in batches of 30–50,000 rows;
72 of 576 rows out of day order here with the old insert, and the slice check failed)."""

from __future__ import annotations

from pathlib import Path

from data.ingest import ingest_files
from data.store import Store
from model.jobs import tag_store
from tests.month_tickets import assert_pick_reads_newest_months, month_tickets_csv

MONTHS = (3, 4, 5, 6, 7, 8)
PER_MONTH = 60


def _tickets_csv(path: Path) -> Path:
    """Tickets of six months naming ``Azure`` (PRODUCT) and ``Paris`` (LOC); every fifth
    names nothing."""
    return month_tickets_csv(
        path,
        MONTHS,
        PER_MONTH,
        lambda i: f"Azure down in Paris ticket {i}" if i % 5 else f"a quiet ticket {i}",
    )


def _tagged(tmp_path: Path, tagger) -> Store:
    store = Store.open(tmp_path / "job.duckdb")
    [report] = ingest_files(store, [_tickets_csv(tmp_path / "tickets.csv")])
    assert report.new_tickets == len(MONTHS) * PER_MONTH
    # written every 4 × 16 tickets: 64 tickets and about 100 entity rows per statement
    summary = tag_store(store, tagger, batch_size=16)
    assert summary.status == "done" and summary.tickets == len(MONTHS) * PER_MONTH
    return store


def test_the_job_stores_entity_rows_in_day_order(tmp_path: Path, keyword_tagger) -> None:
    with _tagged(tmp_path, keyword_tagger) as store:
        rows, out_of_order = store.fetchall(
            "SELECT count(*), count(*) FILTER (WHERE created < previous) FROM"
            " (SELECT CAST(t.created_at AS DATE) AS created,"
            "  lag(CAST(t.created_at AS DATE)) OVER (ORDER BY e.rowid) AS previous"
            "  FROM entities AS e JOIN tickets AS t ON t.ticket_key = e.ticket_key)"
        )[0]
        assert rows == 2 * len(MONTHS) * sum(1 for i in range(PER_MONTH) if i % 5)
        assert out_of_order == 0


def test_a_job_tagged_store_lists_an_entity_from_its_newest_months(
    tmp_path: Path, keyword_tagger
) -> None:
    model = keyword_tagger.model_id
    with _tagged(tmp_path, keyword_tagger) as store:
        for label, entity in (("PRODUCT", "Azure"), ("LOC", "Paris")):
            for limit in (5, 40, 50):
                assert_pick_reads_newest_months(store, model, entity, label, limit)


def test_rows_the_store_had_take_the_taggers_text_and_score(tmp_path: Path, keyword_tagger) -> None:
    """A ticket no run counted as tagged may have entity rows already: one the tagger finds
    again takes its text and score (as ``ON CONFLICT DO UPDATE`` did), another is kept."""
    model = keyword_tagger.model_id
    with Store.open(tmp_path / "had.duckdb") as store:
        ingest_files(store, [_tickets_csv(tmp_path / "tickets.csv")])
        key = store.scalar("SELECT ticket_key FROM tickets WHERE source_id = 'm3n1'")
        store.execute_write(
            'INSERT INTO entities (ticket_key, model_id, start, "end", label, text, score)'
            " VALUES (?, ?, 0, 5, 'PRODUCT', 'stale', 0.01), (?, ?, 20, 26, 'ORG', 'kept', 0.5)",
            [key, model, key, model],
        )
        summary = tag_store(store, keyword_tagger, batch_size=16)
        assert summary.status == "done"
        rows = store.fetchall(
            'SELECT start, "end", label, text, score > 0.01 FROM entities WHERE ticket_key = ?'
            " ORDER BY start",
            [key],
        )
        assert rows == [
            (0, 5, "PRODUCT", "Azure", True),
            (14, 19, "LOC", "Paris", True),
            (20, 26, "ORG", "kept", True),
        ]
        expected = 2 * len(MONTHS) * sum(1 for i in range(PER_MONTH) if i % 5) + 1
        assert store.scalar("SELECT count(*) FROM entities") == expected
