"""CSV and TSV rows through ``pyarrow.csv.open_csv``, with ragged rows, bad names and
unterminated quotes located by row and column."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from data.errors import Problem
from data.readers.opening import (
    BLOCK_SIZE,
    HEADER_LIMIT,
    MAX_PROBLEMS,
    Opened,
    Reject,
    check_names,
    too_many_columns,
)


def csv_chunks(
    opened: Opened, chunksize: int, reopen: Callable[[], Opened]
) -> Iterator[pd.DataFrame]:
    delimiter = "\t" if opened.fmt == "tsv" else ","
    read_options = pa_csv.ReadOptions(
        block_size=BLOCK_SIZE,
        use_threads=False,
        encoding="utf8" if opened.encoding == "utf-8" else opened.encoding,
    )
    parse_options = pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    # Read the header alone first, so that every column can be declared binary: values are
    # then checked for UTF-8 and NUL bytes here, where the row and column can be named.
    names = _header_names(opened, delimiter)
    too_many = too_many_columns(len(names), opened.max_columns)
    if too_many is not None:  # before any row is read (and before 100k names are checked)
        raise Reject(too_many)
    problems = check_names(names)
    if problems:
        raise Reject(*problems)
    opened = reopen()  # the header read consumed part of the stream
    try:
        reader = pa_csv.open_csv(
            opened.stream,
            read_options=read_options,
            parse_options=parse_options,
            convert_options=pa_csv.ConvertOptions(
                column_types={n: pa.binary() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        if "columns, got" in str(exc):
            raise Reject(*_locate_ragged(reopen, delimiter, len(names), str(exc))) from None
        if "Empty CSV file" in str(exc):  # a header without a line end, and nothing else
            raise Reject(Problem("the file has a header but no data rows")) from None
        raise Reject(_csv_error_problem(exc)) from None

    try:
        yield from _csv_batches(
            reader,
            chunksize,
            lambda msg: _locate_ragged(reopen, delimiter, len(names), msg),
            opened,
        )
    finally:
        reader.close()


def _csv_batches(
    reader: Any, chunksize: int, ragged: Callable[[str], list[Problem]], opened: Opened
) -> Iterator[pd.DataFrame]:
    problems: list[Problem] = []
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    pending_bytes = 0
    rows_done = 0
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            if "columns, got" in str(exc):  # a ragged row: find all of them, by row
                reader.close()  # stop its read-ahead before the stream is read again
                problems += ragged(str(exc))
            else:
                problems.append(_csv_error_problem(exc, rows_done + pending_rows))
            break
        batch, found = _check_text_batch(batch, rows_done + pending_rows)
        problems += found
        if problems:
            if len(problems) >= MAX_PROBLEMS:
                break
            pending_rows += batch.num_rows
            continue
        pending.append(batch)
        pending_rows += batch.num_rows
        pending_bytes += batch.nbytes
        # A chunk ends at ``chunksize`` rows or ``chunk_bytes`` bytes, whichever comes first.
        while pending_rows >= chunksize or (pending_rows and pending_bytes >= opened.chunk_bytes):
            take = min(chunksize, pending_rows)
            table = pa.Table.from_batches(pending)
            yield table.slice(0, take).to_pandas()
            rest = table.slice(take)
            pending = rest.to_batches()
            pending_rows = rest.num_rows
            pending_bytes = rest.nbytes
            rows_done += take
    if not problems and pending:
        problems += _unterminated_quote(opened, pending[-1], rows_done + pending_rows)
    if problems:
        raise Reject(*problems[:MAX_PROBLEMS])
    if rows_done + pending_rows == 0:
        raise Reject(Problem("the file has a header but no data rows"))
    if pending_rows:
        yield pa.Table.from_batches(pending).to_pandas()


def _unterminated_quote(opened: Opened, last: pa.RecordBatch, last_row: int) -> list[Problem]:
    """A quoted field left open runs to the end of the file: pyarrow accepts it silently.

    Detected when the file holds an odd number of quote characters and a field of the last
    row spans lines (UTF-8 files only, where a quote is always the byte 0x22).
    """
    counter = opened.counter
    if counter is None or opened.encoding != "utf-8" or counter.quotes % 2 == 0:
        return []
    if last.num_rows == 0:
        return []
    for name, column in zip(last.schema.names, last.columns, strict=True):
        value = column[last.num_rows - 1].as_py()
        if isinstance(value, str) and ("\n" in value or "\r" in value):
            return [
                Problem(
                    "a quoted field is never closed: it runs from here to the end of "
                    "the file (a missing '\"')",
                    row=last_row,
                    column=name,
                )
            ]
    return []


def _header_names(opened: Opened, delimiter: str) -> list[str]:
    """Parse the header row with Python's csv module from the first bytes of the stream."""
    decoder = codecs.getincrementaldecoder(opened.encoding)(errors="replace")
    data = opened.stream.read(HEADER_LIMIT)
    at_end = len(data) < HEADER_LIMIT
    text = decoder.decode(data, final=at_end)
    old_limit = csv.field_size_limit()
    csv.field_size_limit(HEADER_LIMIT)
    try:
        records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        for fields in records:
            if not fields:
                continue
            if not at_end and not _record_ended(records, text):
                raise Reject(
                    too_many_columns(len(fields), opened.max_columns, at_least=True)
                    or Problem(
                        f"the header row is longer than "
                        f"{HEADER_LIMIT // 2**20} MiB: this is not a table "
                        f"of tickets (or its line ends are missing)"
                    )
                )
            if any("\ufffd" in f for f in fields):
                raise Reject(
                    Problem(
                        "the header is not valid UTF-8; the file is probably Latin-1/Windows-1252: "
                        "save it as UTF-8"
                    )
                )
            return list(fields)
    except csv.Error as exc:
        raise Reject(Problem(f"the header cannot be parsed ({exc})")) from None
    finally:
        csv.field_size_limit(old_limit)
    raise Reject(Problem("the file is empty"))


def _record_ended(records: Iterator[list[str]], text: str) -> bool:
    """Whether the record just read from ``records`` ended inside ``text`` (a truncated
    header runs to the end of the text without a line end)."""
    try:
        next(records)
    except StopIteration:
        return text.endswith(("\n", "\r"))
    except csv.Error:
        return True  # the next row is odd, but the header did end
    return True


def _csv_error_problem(exc: Exception, rows_before: int | None = None) -> Problem:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, UnicodeDecodeError):
        return Problem(f"the text cannot be decoded ({exc.reason}); save the file as UTF-8")
    if "straddling" in text or "block size" in text:
        return Problem(
            f"a single row (this one or one shortly after) is longer than "
            f"{BLOCK_SIZE // 2**20} MiB",
            row=None if rows_before is None else rows_before + 1,
        )
    if "UTF8" in text or "UTF-8" in text:
        return Problem("the header is not valid UTF-8; save the file as UTF-8")
    if "Empty CSV file" in text:
        return Problem("the file is empty")
    return Problem(f"the file cannot be parsed as CSV: {text}")


def _check_text_batch(
    batch: pa.RecordBatch, rows_before: int
) -> tuple[pa.RecordBatch, list[Problem]]:
    """Cast binary columns to strings, locating invalid UTF-8 and NUL bytes."""
    problems: list[Problem] = []
    arrays = []
    for col_name, arr in zip(batch.schema.names, batch.columns, strict=True):
        if not (pa.types.is_binary(arr.type) or pa.types.is_string(arr.type)):
            # A column pyarrow typed itself (e.g. null for a column the header did not
            # name): its values are not text to check.
            arrays.append(
                pa.nulls(len(arr), pa.string())
                if pa.types.is_null(arr.type)
                else arr.cast(pa.string())
            )
            continue
        nul = pc.match_substring(arr, "\x00")
        if pc.any(nul).as_py():
            for i in pc.indices_nonzero(pc.fill_null(nul, False)).to_pylist()[:MAX_PROBLEMS]:
                problems.append(
                    Problem(
                        "contains a NUL byte (binary content?)",
                        row=rows_before + i + 1,
                        column=col_name,
                    )
                )
        try:
            arrays.append(arr.cast(pa.string()))
        except pa.ArrowInvalid:
            for i, value in enumerate(arr.to_pylist()):
                if value is None:
                    continue
                try:
                    value.decode("utf-8")
                except UnicodeDecodeError as exc:
                    problems.append(
                        Problem(
                            f"not valid UTF-8 (byte 0x{value[exc.start]:02x}); the file is probably "
                            f"Latin-1/Windows-1252: save it as UTF-8",
                            row=rows_before + i + 1,
                            column=col_name,
                        )
                    )
                    if len(problems) >= MAX_PROBLEMS:
                        break
            arrays.append(pa.nulls(len(arr), pa.string()))
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names), problems


def _locate_ragged(
    reopen: Callable[[], Opened], delimiter: str, width: int | None, arrow_message: str
) -> list[Problem]:
    """Find the rows with the wrong number of fields by a second, Python-level pass."""
    problems: list[Problem] = []
    try:
        opened = reopen()
        text = io.TextIOWrapper(
            opened.stream, encoding=opened.encoding, errors="replace", newline=""
        )
        old_limit = csv.field_size_limit()
        csv.field_size_limit(2**31 - 1)
        try:
            rows = csv.reader(text, delimiter=delimiter)
            header = next(rows, None) or []
            width = len(header) if width is None else width
            number = 0
            for fields in rows:
                if not fields:
                    continue
                number += 1
                if len(fields) != width:
                    problems.append(
                        Problem(
                            f"has {len(fields)} fields where the header has {width}",
                            row=number,
                            column=None,
                        )
                    )
                    if len(problems) >= MAX_PROBLEMS:
                        break
        finally:
            csv.field_size_limit(old_limit)
    except (OSError, Reject, csv.Error):
        problems = []
    if not problems:  # the second pass disagreed: report what pyarrow saw
        problems = [Problem(f"a row has the wrong number of fields: {arrow_message[:200]}")]
    return problems
