"""Read a ticket file into keyed rows, with the ticket keys ingest would give them.

Tagging outside the store (on a cluster, :mod:`model.ray_engine`) must produce entities
that join the tickets ``python -m data ingest`` stores from the same files. This module reads
a file exactly as ingest does (:func:`data.readers.read_table_chunks`, the column mapping of
:mod:`data.columns`, the value normalisation of :mod:`data.normalise`) and computes each row's
key with the very SQL expression ingest uses (:func:`data.keys.ticket_key_sql`, run by an
in-memory DuckDB over the chunk), so the keys are equal by construction.

Unlike ingest, a row whose text cannot be tagged (missing, empty, not a string) does not
reject the file: it comes back with ``problem`` set and no text, so the caller reports it
(file, row, column). Problems of the file's *shape* (unreadable, ragged CSV, broken JSON
line, no text column) still raise :class:`~data.errors.IngestError`, as in ingest.

Example:
    >>> for chunk in keyed_ticket_chunks("tickets.csv"):              # doctest: +SKIP
    ...     chunk.column_names
    ['row', 'ticket_key', 'source_id', 'text', 'problem', 'column']
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from data.columns import ColumnMap, map_columns
from data.errors import IngestError, Problem
from data.keys import ticket_key_sql
from data.limits import DEFAULT_LIMITS
from data.normalise import (
    ProblemCollector,
    is_blank_text,
    missing_text_problem,
    normalise_chunk,
)
from data.readers import read_table_chunks

__all__ = ["KEYED_SCHEMA", "NO_BYTE_LIMIT", "column_map_for", "keyed_ticket_chunks", "text_problem"]

KEYED_SCHEMA = pa.schema(
    [
        ("row", pa.int64()),  # 1-based data row (JSONL: line number), as ingest counts
        ("ticket_key", pa.string()),  # data.keys.ticket_key of the row, as ingest computes it
        ("source_id", pa.string()),  # the row's id column, normalised as ingest does
        ("text", pa.string()),  # null when the row cannot be tagged
        ("problem", pa.string()),  # why the row cannot be tagged, else null
        ("column", pa.string()),  # the column the problem is in
    ]
)

NO_BYTE_LIMIT = 1 << 62
"""Tagging reads trusted shards of any size: no decompressed-size guard as for uploads."""

_KEY_SQL = ticket_key_sql("s")


def text_problem(value: Any) -> str | None:
    """Why ``value`` cannot be tagged as a ticket text, or ``None`` when it can.

    Example:
        >>> text_problem("hello"), text_problem(" \\u200b"), text_problem(None), text_problem(3)
        (None, 'empty text', 'missing text', 'text is not a string (int)')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "missing text"
    if type(value).__name__ in ("NAType", "NaTType"):
        return "missing text"
    if not isinstance(value, str):
        return f"text is not a string ({type(value).__name__})"
    if is_blank_text(value):  # ingest's rule: white space, invisible and control characters
        return "empty text"
    return None


def column_map_for(
    columns: list[str], *, name: str, text_column: str | None = None, id_column: str | None = None
) -> ColumnMap:
    """The ingest column mapping of a file's columns, with explicit text/id columns applied.

    Raises:
        IngestError: no text column, or a named column is not in the file.
    """
    cmap = map_columns(columns)
    fields = dict(cmap.fields)
    for field_name, chosen, flag in (
        ("text", text_column, "--text-column"),
        ("id", id_column, "--id-column"),
    ):
        if chosen is None:
            continue
        if chosen not in columns:
            raise IngestError(
                name,
                [
                    Problem(
                        f"no column {chosen!r} ({flag}); the file has "
                        f"{', '.join(repr(c) for c in columns[:15])}"
                    )
                ],
            )
        fields = {k: v for k, v in fields.items() if v != chosen}
        fields[field_name] = chosen
    if "text" not in fields:
        raise IngestError(name, [missing_text_problem(columns)])
    ignored = [c for c in columns if c not in fields.values()]
    return ColumnMap(fields, ignored)


def _keys(table: pa.Table) -> pa.Array:
    """Ingest's ticket keys of normalised rows (``data.normalise.STAGED_SCHEMA`` columns)."""
    with duckdb.connect() as conn:
        conn.register("s", table)
        return conn.sql(f"SELECT {_KEY_SQL} AS k FROM s").to_arrow_table()["k"].combine_chunks()  # noqa: S608 - fixed expression


def keyed_ticket_chunks(
    source: Path | str,
    *,
    name: str | None = None,
    text_column: str | None = None,
    id_column: str | None = None,
    chunksize: int = 5000,
) -> Iterator[pa.Table]:
    """Yield the rows of a ticket file as Arrow tables of :data:`KEYED_SCHEMA`.

    Args:
        source: a CSV, TSV, JSONL or Parquet file (optionally gzipped).
        name: the name used in messages (default: the file name).
        text_column: the text column (default: ingest's choice, e.g. ``text`` or ``body``).
        id_column: the id column (default: ingest's choice, e.g. ``id`` or ``ticket_id``).
        chunksize: rows per table.

    Raises:
        IngestError: the file is unreadable or has no (named) text column; may be raised
            after some tables were yielded.
    """
    name = name or Path(source).name
    cmap: ColumnMap | None = None
    rows = 0
    limits = DEFAULT_LIMITS
    for chunk in read_table_chunks(source, name=name, chunksize=chunksize, max_bytes=NO_BYTE_LIMIT):
        chunk = chunk.reset_index(drop=True)
        if cmap is None:
            cmap = column_map_for(
                [str(c) for c in chunk.columns],
                name=name,
                text_column=text_column,
                id_column=id_column,
            )
        for col in cmap.fields.values():
            if col not in chunk.columns:  # JSONL: a chunk without that key
                chunk[col] = None
        text_col = cmap.fields["text"]
        problems = [text_problem(v) for v in chunk[text_col].tolist()]
        bad = np.array([p is not None for p in problems], dtype=bool)
        # ingest's normalisation; its (capped) problem list is not used: text problems are
        # found above for every row, and other fields only feed the key
        normal = normalise_chunk(chunk, cmap, rows + 1, limits, ProblemCollector())
        text = normal["text"]
        if bad.any():
            text = pa.array(
                [None if b else t for b, t in zip(bad.tolist(), text.to_pylist(), strict=True)],
                pa.string(),
            )
        yield pa.table(
            {
                "row": normal["row"],
                "ticket_key": _keys(normal),
                "source_id": normal["source_id"],
                "text": text,
                "problem": pa.array(problems, pa.string()),
                "column": pa.array([text_col if b else None for b in bad.tolist()], pa.string()),
            },
            schema=KEYED_SCHEMA,
        )
        rows += len(chunk)
    if cmap is None:
        raise IngestError(name, [Problem("the file has no data rows")])
