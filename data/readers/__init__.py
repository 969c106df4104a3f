"""Read uploaded tables (CSV, TSV, JSONL, Parquet; optionally gzipped) in bounded chunks.

The reader streams: CSV and TSV through ``pyarrow.csv.open_csv``, JSONL line by line,
Parquet with ``iter_batches``, so memory depends on ``chunksize``, not on the file size.
Everything wrong with the file's *shape* is reported as an :class:`~data.errors.IngestError`
whose problems name the row and column: empty files, header-only files, binary content,
encodings other than UTF-8 / UTF-16 with a byte-order mark, NUL bytes, ragged rows, duplicate
or empty column names, broken JSON lines, unreadable Parquet. What the *values* mean (dates,
required columns) is the business of :mod:`data.staging`.

Memory is bounded by bytes as well as rows: a chunk holds at most ``chunk_bytes`` of decoded
data (long rows make short chunks), and every format counts its *decoded* bytes against
``max_bytes`` — gzip stops decompressing past it, Parquet is checked against its own
metadata (uncompressed sizes) and then counted batch by batch with dictionary-encoded text
kept encoded until counted, so a tiny file that expands to gigabytes is refused before it
is expanded. ``max_columns`` is checked from the header (CSV/TSV), the schema (Parquet) or
each record (JSONL), before any row is read.

Rows are numbered from 1 and exclude the header; for JSONL a row is a line number, also
given per chunk in ``chunk.attrs["rows"]`` (blank lines are skipped). Text formats
give every value as ``str`` (or missing); Parquet keeps its column types.

Example:
    >>> for chunk in read_table_chunks("tickets.csv.gz", name="tickets.csv.gz"):  # doctest: +SKIP
    ...     print(len(chunk), list(chunk.columns))
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import replace
from typing import Any

import pandas as pd

from data.errors import IngestError, Problem
from data.readers.csv_rows import csv_chunks
from data.readers.jsonl_rows import jsonl_chunks
from data.readers.opening import (
    DEFAULT_CHUNK_BYTES,
    DEFAULT_MAX_BYTES,
    MAX_PROBLEMS,
    SUPPORTED_SUFFIXES,
    Reject,
    detect_format,
    open_source,
    open_table,
)
from data.readers.parquet_rows import parquet_chunks

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "DEFAULT_MAX_BYTES",
    "MAX_PROBLEMS",
    "SUPPORTED_SUFFIXES",
    "detect_format",
    "read_table_chunks",
]


def read_table_chunks(
    source: Any,
    *,
    name: str,
    chunksize: int = 50_000,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_columns: int | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    select: Callable[[list[str]], list[str]] | None = None,
) -> Iterator[pd.DataFrame]:
    """Yield the rows of an uploaded table as DataFrames of at most ``chunksize`` rows.

    Args:
        source: a path, bytes, or a binary file-like object (e.g. a Streamlit UploadedFile).
        name: the file's name, used for the format (suffix) and in messages.
        chunksize: rows per chunk at most.
        max_bytes: stop with a problem after this many decoded bytes (decompressed, and for
            Parquet expanded from its encodings).
        max_columns: refuse a file with more columns (checked before any row is read);
            ``None``: no limit.
        chunk_bytes: decoded bytes per chunk at most (a longer single row makes a chunk of
            one row).
        select: given the file's column names, the ones to read (Parquet only: the other
            columns are neither decoded nor counted; the text formats read every column).
            Every chunk then lists all the file's names in ``chunk.attrs["columns"]``; a
            selected column of a nested type (list, struct, map) is refused before it is
            decoded. ``None``: read every column.

    Raises:
        IngestError: the file is not a readable table; carries up to 20 located problems.
            It may be raised after some chunks were yielded: callers that write must stage
            the chunks and discard them on error (as :func:`data.ingest.ingest_files` does).

    Example:
        >>> chunks = read_table_chunks(b"text\\nhello\\n", name="t.csv")
        >>> next(chunks)["text"].tolist()
        ['hello']
    """
    if chunksize < 1 or chunk_bytes < 1:
        raise ValueError("chunksize and chunk_bytes must be at least 1")
    with ExitStack() as stack:
        try:
            raw = open_source(source, stack)
            opened = open_table(raw, name, stack, max_bytes, max_columns, chunk_bytes)
            if opened.fmt == "parquet":
                opened = replace(opened, select=select)
                reader: Iterator[pd.DataFrame] = parquet_chunks(opened, chunksize, stack)
            elif opened.fmt == "jsonl":
                reader = jsonl_chunks(opened, chunksize)
            else:
                reader = csv_chunks(
                    opened,
                    chunksize,
                    lambda: open_table(raw, name, stack, max_bytes, max_columns, chunk_bytes),
                )
            yield from reader
        except Reject as exc:
            raise IngestError(name, exc.problems[:MAX_PROBLEMS]) from None
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise IngestError(
                name, [Problem(f"the gzip data is damaged or truncated ({exc})")]
            ) from None
        except OSError as exc:
            raise IngestError(
                name, [Problem(f"cannot read the file ({exc.strerror or exc})")]
            ) from None
