"""The driver's side of the Ray pipeline: rows of each input file gathered as they come back,
and the file's shard written once all of them are in (see model/ray_engine.py).

A file's rows may arrive in any order and, after a worker failure, twice: a
:class:`PendingShard` counts them by row number against the file's ``end`` row, and
:func:`finish_shard` deduplicates, sorts and writes the shard, its sentiment and then its
completion marker (:mod:`data.entity_shards`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from data.entity_shards import SENTIMENT_SCHEMA
from model.ray_stages import OUT_SCHEMA

__all__ = [
    "PendingShard",
    "ShardResult",
    "fingerprint",
    "finish_shard",
    "now_iso",
    "sentiment_table",
    "shard_tables",
]


@dataclass(frozen=True)
class ShardResult:
    """One input file's shard: tagged now, or skipped because it was complete already."""

    input: str
    name: str
    rows: int
    tagged: int
    entities: int
    bad_rows: list[dict[str, Any]]
    skipped: bool = False


def fingerprint(path: Path) -> dict[str, Any]:
    """What a completion marker records of its input file (a rerun skips the shard when the
    file still matches)."""
    st = path.stat()
    return {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def now_iso() -> str:
    """The current UTC time, to the second, without a zone (as the store's timestamps)."""
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


@dataclass
class PendingShard:
    """Rows of one input file received so far."""

    input: Path
    name: str
    tables: list[pa.Table] = field(default_factory=list)
    received: int = 0  # tagged + bad rows (Ray may deliver a re-run batch twice)
    total: int | None = None  # the file's row count, from its 'end' row
    failed: str | None = None

    def add(self, table: pa.Table) -> None:
        """Take in this file's rows of one block (markers, tagged/bad and entity rows)."""
        kinds = table["kind"]
        ends = table.filter(pc.equal(kinds, "end"))
        if ends.num_rows:
            self.total = int(ends["total"][0].as_py())
        fails = table.filter(pc.equal(kinds, "failed"))
        if fails.num_rows and self.failed is None:
            self.failed = str(fails["problem"][0].as_py())
            self.tables.clear()
        if self.failed is not None:
            return
        self.received += int(pc.sum(pc.is_in(kinds, pa.array(["tagged", "bad"]))).as_py() or 0)
        self.tables.append(table)

    def complete(self) -> bool:
        """Whether every row of the file is in, each row number once at least."""
        if self.failed is not None or self.total is None or self.received < self.total:
            return False
        rows = pa.concat_tables(self.tables)
        rows = rows.filter(pc.is_in(rows["kind"], pa.array(["tagged", "bad"])))
        return pc.count_distinct(rows["row"]).as_py() == self.total


def sentiment_table(rows: pa.Table, model_id: str) -> pa.Table | None:
    """One sentiment row per tagged ticket (first row wins), or ``None`` when the rows carry
    no sentiment (a tagger without the head)."""
    import duckdb

    if rows.num_rows == 0 or rows["sentiment_label"].null_count == rows.num_rows:
        return None
    with duckdb.connect() as conn:
        conn.register("r", rows)
        return (
            conn.sql(
                "SELECT ticket_key, ? AS model_id, arg_min(sentiment_label, row) AS label,"
                " arg_min(sentiment_score, row) AS score FROM r"
                " WHERE kind = 'tagged' AND sentiment_label IS NOT NULL"
                " GROUP BY ticket_key ORDER BY min(row)",
                params=[model_id],
            )
            .to_arrow_table()
            .cast(SENTIMENT_SCHEMA)
        )


def shard_tables(rows: pa.Table, model_id: str) -> tuple[pa.Table, pa.Table, list[dict]]:
    """Entities, tagged tickets and bad rows of one file's rows, deduplicated and sorted."""
    import duckdb

    with duckdb.connect() as conn:
        conn.register("r", rows)
        entities = conn.sql(
            'SELECT ticket_key, ? AS model_id, start, "end", label, text, score FROM r'
            " WHERE kind = 'entity' QUALIFY row_number() OVER"
            ' (PARTITION BY ticket_key, start, "end", label ORDER BY row) = 1'
            ' ORDER BY row, start, "end", label',
            params=[model_id],
        ).to_arrow_table()
        tagged = conn.sql(
            "SELECT ticket_key, min(row) AS row, arg_min(source_id, row) AS source_id FROM r"
            " WHERE kind = 'tagged' GROUP BY ticket_key ORDER BY row"
        ).to_arrow_table()
        bad = conn.sql(
            "SELECT DISTINCT row, \"column\", problem FROM r WHERE kind = 'bad' ORDER BY row"
        ).fetchall()
    return entities, tagged, [{"row": r, "column": c, "problem": p} for r, c, p in bad]


def finish_shard(
    item: PendingShard,
    output: Path,
    model_id: str,
    *,
    device: str,
    workers: int,
    run_started: str,
    warn: Callable[[str], None] | None,
) -> ShardResult:
    """Write one complete file's shard and its marker; report its bad rows."""
    from data.entity_shards import write_shard

    rows = pa.concat_tables(item.tables).cast(OUT_SCHEMA)
    entities, tagged, bad = shard_tables(rows, model_id)
    total = int(item.total or 0)
    sentiment = sentiment_table(rows, model_id)  # written before the marker, with the shard
    write_shard(
        output,
        item.name,
        entities,
        tagged,
        {
            "name": item.name,
            "input": fingerprint(item.input),
            "model_id": model_id,
            "engine": "ray",
            "device": device,
            "workers": workers,
            "rows": total,
            "tagged": total - len(bad),
            "tickets": tagged.num_rows,
            "entities": entities.num_rows,
            "bad_rows": bad,
            "started_at": run_started,
            "finished_at": now_iso(),
        },
        sentiment=sentiment,
    )
    if warn is not None:
        for b in bad[:20]:
            warn(f"{item.input}: row {b['row']}, column {b['column']!r}: {b['problem']}")
        if len(bad) > 20:
            warn(
                f"{item.input}: … {len(bad) - 20} more bad rows (see "
                f"{output / '_done' / (item.name + '.json')})"
            )
    return ShardResult(str(item.input), item.name, total, total - len(bad), entities.num_rows, bad)
