"""Parquet rows with ``iter_batches``: sizes checked against the metadata first, then the
decoded bytes counted batch by batch (dictionary text kept encoded until counted)."""

from __future__ import annotations

import gzip
import io
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from data.errors import Problem
from data.readers.opening import (
    BYTES_HINT,
    MAX_PROBLEMS,
    PARQUET_BUFFER,
    Opened,
    Reject,
    check_names,
    too_many_columns,
)
from data.readers.parquet_pages import page_figures

#: The most bytes the largest pages of the columns read may hold together, decompressed, in
#: chunks of ``chunk_bytes`` (16 × 16 MiB = 256 MiB by default): a reader holds one
#: decompressed page of each column at a time, whatever the batch size (pyarrow and DuckDB
#: write pages of about 100 MB for 1,024 tickets of 100,000 characters).
PAGE_CHUNKS_AT_ONCE = 16
#: Largest Parquet footer read (500 columns of full statistics in about 200 row groups; a
#: file of 20 columns fits thousands).
MAX_FOOTER_BYTES = 16 * 1024**2


#: Unit legacy INT96 timestamps (Spark, Impala) are read in. In nanoseconds (pyarrow's
#: default) a day number past 2262 wraps around silently: 2608-07-23 was read as 2024-01-02
#: and accepted; in milliseconds every INT96 day number fits, and the date check sees it.
INT96_UNIT = "ms"


def parquet_chunks(opened: Opened, chunksize: int, stack: ExitStack) -> Iterator[pd.DataFrame]:
    """Parquet in chunks bounded by rows and decoded bytes, checked against ``max_bytes``.

    The uncompressed sizes in the file's metadata are checked first. They cannot tell what
    dictionary-encoded text expands to (one 100,000-character value repeated on 50,000
    rows is a few hundred bytes of file), so text columns are read as dictionaries, their
    decoded size counted from the dictionary's value lengths, and only then decoded, a
    chunk of at most ``chunk_bytes`` at a time.
    """
    spool = _spooled(opened, stack)
    _footer_check(spool)
    plan = _read_plan(spool, opened)
    if plan.pfile is None:  # nothing the caller can use: it sees the names, and no rows
        empty = pd.DataFrame(columns=plan.names)
        empty.attrs["columns"] = plan.names
        yield empty
        return
    yield from _checked_chunks(plan, opened, chunksize)


def _spooled(opened: Opened, stack: ExitStack) -> Any:
    """The (possibly decompressed) bytes in a seekable file (Parquet needs random access):
    the raw file itself when it is one (refused over ``max_bytes``), else a temporary copy."""
    if opened.raw is not None:
        spool = opened.raw
        spool.seek(0, io.SEEK_END)
        if spool.tell() > opened.max_bytes:
            raise Reject(
                Problem(
                    f"the file is larger than the limit of {opened.max_bytes:,} bytes "
                    f"({BYTES_HINT})"
                )
            )
        return spool
    spool = stack.enter_context(tempfile.TemporaryFile(suffix=".parquet"))  # noqa: SIM115
    try:
        shutil.copyfileobj(opened.stream, spool, 1 << 20)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise Reject(Problem(f"the gzip data is damaged ({exc})")) from None
    return spool


@dataclass(frozen=True)
class _ReadPlan:
    """What to read of a checked Parquet file: all its column ``names``, the ``wanted``
    ones, the most decoded bytes a row may take, and the file opened to read them with its
    text as dictionaries (None when nothing is wanted)."""

    names: list[str]
    wanted: list[str]
    row_bytes: int
    pfile: pq.ParquetFile | None


def _read_plan(spool: Any, opened: Opened) -> _ReadPlan:
    """The file's columns checked (count, names, nested ones selected) and its sizes
    checked (the footer's claims, then the page headers), before any value is decoded."""
    spool.seek(0)
    try:
        pfile = pq.ParquetFile(spool, coerce_int96_timestamp_unit=INT96_UNIT)
        schema = pfile.schema_arrow
        names = list(schema.names)
        too_many = too_many_columns(len(names), opened.max_columns)
        if too_many is not None:
            raise Reject(too_many)
        problems = check_names(names)
        if problems:
            raise Reject(*problems)
        wanted = _selected(schema, names, opened)
        read = _leaves_of(schema, set(wanted))
        row_bytes = _parquet_size_check(pfile.metadata, opened.max_bytes, read)
        if len(read) != pfile.metadata.num_columns:
            read = [True] * pfile.metadata.num_columns
        # The footer's sizes are only claims: the page headers say what decoding allocates.
        row_bytes = max(row_bytes, _page_check(spool, pfile.metadata, read, opened))
        if not wanted:
            return _ReadPlan(names, wanted, row_bytes, None)
        text = [f.name for f in schema if f.name in wanted and _is_text(f.type)]
        spool.seek(0)
        pfile = pq.ParquetFile(
            spool,
            read_dictionary=text or None,
            buffer_size=PARQUET_BUFFER,
            coerce_int96_timestamp_unit=INT96_UNIT,
        )
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise Reject(Problem(f"not a readable Parquet file ({str(exc).splitlines()[0]})")) from None
    return _ReadPlan(names, wanted, row_bytes, pfile)


def _selected(schema: pa.Schema, names: list[str], opened: Opened) -> list[str]:
    """The columns ``opened.select`` chooses (all without it), in the file's order; a
    chosen nested column is refused before anything is decoded."""
    if opened.select is None:
        return names
    chosen = set(opened.select(list(names)))
    wanted = [n for n in names if n in chosen]
    problems = [
        Problem(
            f"must hold text or one value per row, found nested values ({schema.field(n).type})",
            column=n,
        )
        for n in wanted
        if pa.types.is_nested(schema.field(n).type)
    ]
    if problems:
        raise Reject(*problems[:MAX_PROBLEMS])
    return wanted


def _checked_chunks(plan: _ReadPlan, opened: Opened, chunksize: int) -> Iterator[pd.DataFrame]:
    """The wanted columns of ``plan`` in frames of at most ``chunksize`` rows and
    ``opened.chunk_bytes`` decoded bytes, the decoded total held to ``max_bytes`` and the
    text checked (UTF-8, NUL) by row and column before anything is converted."""
    pfile = plan.pfile
    assert pfile is not None
    batch_rows = max(1, min(chunksize, opened.chunk_bytes // max(1, plan.row_bytes)))
    total = 0
    decoded = 0
    problems: list[Problem] = []
    try:
        for batch in pfile.iter_batches(batch_size=batch_rows, columns=plan.wanted):
            if batch.num_rows == 0:
                continue
            sizes = _row_sizes(batch)
            decoded += int(sizes.sum())
            if decoded > opened.max_bytes:
                raise Reject(
                    Problem(
                        f"the data is larger than the limit of {opened.max_bytes:,} bytes once "
                        f"decoded (the Parquet file holds {pfile.metadata.num_rows:,} rows; "
                        f"{BYTES_HINT})",
                        row=total + 1,
                    )
                )
            # Text is checked as CSV's is (UTF-8, NUL bytes), by row and column, before
            # anything is decoded or converted.
            problems += _parquet_text_problems(batch, total)
            if problems:
                total += batch.num_rows
                if len(problems) >= MAX_PROBLEMS:
                    break
                continue
            for piece in _byte_slices(batch, sizes, opened.chunk_bytes, chunksize):
                # Dates stay numpy datetimes (a date32 past year 9999 is no Python date):
                # ingest then refuses dates outside its range by row and column.
                frame = _decoded(piece).to_pandas(date_as_object=False)
                frame.attrs["columns"] = plan.names
                total += piece.num_rows
                yield frame
    except (pa.ArrowMemoryError, MemoryError):
        raise Reject(
            Problem(
                f"there is not enough memory to decode the Parquet data (its values expand "
                f"past what this machine can hold; {BYTES_HINT})",
                row=total + 1,
            )
        ) from None
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise Reject(
            Problem(f"the Parquet data is damaged ({str(exc).splitlines()[0]})", row=total + 1)
        ) from None
    if problems:
        raise Reject(*problems[:MAX_PROBLEMS])
    if total == 0:
        raise Reject(Problem("the file has a header but no data rows"))


def _parquet_text_problems(batch: pa.RecordBatch, rows_before: int) -> list[Problem]:
    """Values of the text columns of ``batch`` that are not valid UTF-8 (Parquet writers do
    not check it: DuckDB would refuse them at the insert) or hold NUL bytes, located.
    Dictionary-encoded columns are checked through their dictionary."""
    problems: list[Problem] = []
    for col_name, arr in zip(batch.schema.names, batch.columns, strict=True):
        values = arr.dictionary if pa.types.is_dictionary(arr.type) else arr
        if pa.types.is_string_view(values.type):
            # Arrow's string view (a file's ``ARROW:schema`` can ask for it): checked as
            # plain text; without it NUL bytes passed and bad UTF-8 raised out of ingest.
            as_bytes = values.cast(pa.binary_view()).cast(pa.large_binary())
            checked = as_bytes.view(pa.large_string())
        elif pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            as_bytes = values.cast(
                pa.large_binary() if pa.types.is_large_string(values.type) else pa.binary()
            )
            checked = values
        else:
            continue
        bad: dict[int, str] = {}
        try:
            checked.validate(full=True)
        except pa.ArrowInvalid:
            for i, value in enumerate(as_bytes.to_pylist()):
                if value is None:
                    continue
                try:
                    value.decode("utf-8")
                except UnicodeDecodeError as exc:
                    bad[i] = (
                        f"not valid UTF-8 (byte 0x{value[exc.start]:02x}); the Parquet "
                        f"file's text must be UTF-8"
                    )
                    if len(bad) >= MAX_PROBLEMS:
                        break
        nul = pc.fill_null(pc.match_substring(as_bytes, b"\x00"), False)
        if pc.any(nul).as_py():
            for i in pc.indices_nonzero(nul).to_pylist()[:MAX_PROBLEMS]:
                bad.setdefault(i, "contains a NUL byte (binary content?)")
        if not bad:
            continue
        if values is arr:
            located = sorted(bad.items())
        else:  # the rows whose dictionary entry is bad
            hit = pc.is_in(arr.indices, value_set=pa.array(sorted(bad), arr.indices.type))
            located = [
                (int(i), bad[arr.indices[int(i)].as_py()])
                for i in pc.indices_nonzero(pc.fill_null(hit, False)).to_pylist()[:MAX_PROBLEMS]
            ]
        for i, message in located:
            problems.append(Problem(message, row=rows_before + i + 1, column=col_name))
        if len(problems) >= MAX_PROBLEMS:
            break
    return problems[:MAX_PROBLEMS]


def _leaf_count(type_: pa.DataType) -> int:
    """How many Parquet leaf columns a field of this Arrow type is stored as."""
    if pa.types.is_struct(type_):
        return sum(_leaf_count(type_.field(i).type) for i in range(type_.num_fields))
    if pa.types.is_map(type_):
        return _leaf_count(type_.key_type) + _leaf_count(type_.item_type)
    if (
        pa.types.is_list(type_)
        or pa.types.is_large_list(type_)
        or pa.types.is_fixed_size_list(type_)
    ):
        return _leaf_count(type_.value_type)
    return 1


def _leaves_of(schema: pa.Schema, wanted: set[str]) -> list[bool]:
    """For each Parquet leaf column, whether it belongs to a ``wanted`` top-level field."""
    flags: list[bool] = []
    for f in schema:
        flags += [f.name in wanted] * _leaf_count(f.type)
    return flags


def _is_text(type_: pa.DataType) -> bool:
    """String or binary (any width), or a dictionary of them."""
    if pa.types.is_dictionary(type_):
        type_ = type_.value_type
    return (
        pa.types.is_string(type_)
        or pa.types.is_large_string(type_)
        or pa.types.is_binary(type_)
        or pa.types.is_large_binary(type_)
    )


def _parquet_size_check(
    meta: pq.FileMetaData, max_bytes: int, read: list[bool] | None = None
) -> int:
    """Refuse a file whose metadata says it is over ``max_bytes`` uncompressed; return the
    largest uncompressed bytes per row of its row groups (to size the batches).

    ``read``: for each leaf column, whether it will be read (only those are counted); when
    it does not match the metadata's columns, every column is counted."""
    total = 0
    per_row = 1
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        if read is not None and len(read) == group.num_columns:
            size = sum(
                group.column(j).total_uncompressed_size for j in range(group.num_columns) if read[j]
            )
        else:
            size = max(
                group.total_byte_size,
                sum(group.column(j).total_uncompressed_size for j in range(group.num_columns)),
            )
        total += size
        if group.num_rows:
            per_row = max(per_row, -(-size // group.num_rows))
    if total > max_bytes:
        raise Reject(
            Problem(
                f"the data is larger than the limit of {max_bytes:,} bytes once decompressed "
                f"(the Parquet metadata says {total:,} bytes; {BYTES_HINT})"
            )
        )
    return per_row


def _footer_check(spool: Any) -> None:
    """Refuse a file whose footer (its metadata, parsed whole before anything can be
    checked) is over :data:`MAX_FOOTER_BYTES`: pyarrow holds about 15 bytes per footer byte
    while parsing, so a 5.8 MB ``.parquet.gz`` of 300,000 columns (a 61 MB footer) peaked
    at 1,059 MiB before its column count was refused."""
    spool.seek(0, io.SEEK_END)
    if spool.tell() < 12:
        return  # pyarrow names the problem
    spool.seek(-8, io.SEEK_END)
    tail = spool.read(8)
    size = int.from_bytes(tail[:4], "little")
    if tail[4:] == b"PAR1" and size > MAX_FOOTER_BYTES:
        raise Reject(
            Problem(
                f"its metadata (the Parquet footer) is {size:,} bytes, over the limit of "
                f"{MAX_FOOTER_BYTES:,}: far more columns or row groups than a table of "
                f"tickets has"
            )
        )


def _page_check(spool: Any, meta: pq.FileMetaData, read: list[bool], opened: Opened) -> int:
    """Refuse a file whose page headers (not its footer's claims) hold more than
    ``max_bytes`` decompressed, or whose read columns' largest pages together exceed
    :data:`PAGE_CHUNKS_AT_ONCE` chunks (a reader decompresses one page of each column at a
    time, whole, whatever the batch size); return the most decoded bytes per row."""
    max_bytes = opened.max_bytes
    most_at_once = PAGE_CHUNKS_AT_ONCE * opened.chunk_bytes
    figures = [f for f in page_figures(spool, meta, read) if f is not None]
    total = sum(f.uncompressed for f in figures)
    if total > max_bytes:
        raise Reject(
            Problem(
                f"the data is larger than the limit of {max_bytes:,} bytes once decompressed "
                f"(its pages hold {total:,} bytes, whatever its metadata says; {BYTES_HINT})"
            )
        )
    at_once = sum(f.largest_page for f in figures)
    if at_once > most_at_once:
        raise Reject(
            Problem(
                f"its pages are too large to read: the largest page of each column "
                f"together hold {at_once:,} bytes decompressed, over the limit of "
                f"{most_at_once:,} (write the file with smaller pages or row "
                f"groups)"
            )
        )
    return max(1, sum(f.per_value for f in figures))


def _row_sizes(batch: pa.RecordBatch) -> Any:
    """Decoded bytes of each row of ``batch`` (a numpy array), without decoding anything."""
    import numpy as np

    sizes = np.zeros(batch.num_rows, dtype="int64")
    for arr in batch.columns:
        if pa.types.is_dictionary(arr.type) and _is_text(arr.type):
            lengths = pc.binary_length(arr.dictionary).cast(pa.int64())
            per_row = pc.fill_null(pc.take(lengths, arr.indices), 0)
            sizes += per_row.to_numpy(zero_copy_only=False)
        elif _is_text(arr.type):
            sizes += (
                pc.fill_null(pc.binary_length(arr), 0)
                .cast(pa.int64())
                .to_numpy(zero_copy_only=False)
            )
        else:
            sizes += -(-arr.nbytes // max(1, len(arr)))
    return sizes


def _byte_slices(
    batch: pa.RecordBatch, sizes: Any, chunk_bytes: int, chunksize: int
) -> Iterator[pa.RecordBatch]:
    """``batch`` cut into slices of at most ``chunk_bytes`` decoded (and ``chunksize`` rows);
    a single longer row is a slice of its own."""
    import numpy as np

    ends = np.cumsum(sizes)
    start = 0
    n = batch.num_rows
    while start < n:
        before = int(ends[start - 1]) if start else 0
        end = int(np.searchsorted(ends, before + chunk_bytes, side="right"))
        end = min(max(end, start + 1), start + chunksize, n)
        yield batch.slice(start, end - start)
        start = end


def _plain(arr: pa.Array) -> pa.Array:
    """``arr`` with dictionaries decoded and string views as plain text (checked first by
    :func:`_parquet_text_problems`)."""
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_string_view(arr.type):
        return arr.cast(pa.large_string())
    return arr


def _decoded(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``batch`` with its dictionary-encoded text decoded into plain text columns and string
    views as plain text."""
    arrays = [_plain(arr) for arr in batch.columns]
    fields = [
        pa.field(f.name, a.type, f.nullable) for f, a in zip(batch.schema, arrays, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields, batch.schema.metadata))
