"""Read uploaded tables (CSV, TSV, JSONL, Parquet; optionally gzipped) in bounded chunks.

The reader streams: CSV and TSV through ``pyarrow.csv.open_csv``, JSONL line by line,
Parquet with ``iter_batches``, so memory depends on ``chunksize``, not on the file size.
Everything wrong with the file's *shape* is reported as an :class:`~data.errors.IngestError`
whose problems name the row and column: empty files, header-only files, binary content,
encodings other than UTF-8 / UTF-16 with a byte-order mark, NUL bytes, ragged rows, duplicate
or empty column names, broken JSON lines, unreadable Parquet. What the *values* mean (dates,
required columns) is the business of :mod:`data.ingest`.

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

import codecs
import csv
import gzip
import io
import json
import os
import shutil
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import IO, Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from data.errors import IngestError, Problem

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_PROBLEMS",
    "SUPPORTED_SUFFIXES",
    "detect_format",
    "read_table_chunks",
]

MAX_PROBLEMS = 20
DEFAULT_MAX_BYTES = 2 * 1024**3  # decompressed bytes read at most (zip-bomb guard)
DEFAULT_CHUNK_BYTES = 16 * 1024**2  # decoded bytes per chunk at most (memory, not a limit)
SUPPORTED_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".jsonl", ".ndjson", ".parquet", ".pq")
_BLOCK_SIZE = 2 * 1024 * 1024  # pyarrow CSV block: the longest row it can parse (and memory)
_HEAD = 64 * 1024
_HEADER_LIMIT = 1024 * 1024
_BYTES_HINT = "IngestLimits.max_bytes; set PRICEWAR_MAX_UPLOAD_BYTES to change it"
_COLUMNS_HINT = "IngestLimits.max_columns; set PRICEWAR_MAX_UPLOAD_COLUMNS to change it"
_PARQUET_BUFFER = 1 << 20  # Parquet column chunks are read through a buffer of this size

_MAGIC_NAMES = [
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook?); export it as CSV"),
    (b"\xd0\xcf\x11\xe0", "an old Office document (.xls?); export it as CSV"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x7fELF", "an executable program"),
    (b"MZ", "a Windows executable"),
    (b"BZh", "bzip2-compressed data (only gzip is supported)"),
    (b"\xfd7zXZ\x00", "xz-compressed data (only gzip is supported)"),
    (b"(\xb5/\xfd", "zstd-compressed data (only gzip is supported)"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"SQLite format 3", "an SQLite database"),
]


@dataclass(frozen=True)
class _Opened:
    stream: IO[bytes]
    encoding: str  # "utf-8" or "utf-16"
    fmt: str  # "csv" | "tsv" | "jsonl" | "parquet"
    raw: IO[bytes] | None = None  # the seekable undecompressed source, when not gzipped
    max_bytes: int = DEFAULT_MAX_BYTES
    counter: _LimitedReader | None = None  # bytes and quote characters read so far
    max_columns: int | None = None
    chunk_bytes: int = DEFAULT_CHUNK_BYTES
    select: Callable[[list[str]], list[str]] | None = None  # Parquet: the columns to read


class _Reject(Exception):
    def __init__(self, *problems: Problem) -> None:
        super().__init__(problems[0].message if problems else "")
        self.problems = list(problems)


class _LimitedReader(io.RawIOBase):
    """Wrap a binary stream and stop with a problem after ``limit`` bytes."""

    def __init__(self, inner: IO[bytes], limit: int) -> None:
        self._inner = inner
        self._limit = limit
        self.count = 0
        self.quotes = 0  # '"' bytes seen: an odd total means an unterminated quoted field

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._inner.read(len(view))
        if not data:
            return 0
        self.count += len(data)
        self.quotes += data.count(b'"')
        if self.count > self._limit:
            raise _Reject(Problem(
                f"the file is larger than the limit of {self._limit:,} bytes "
                f"(after decompression; {_BYTES_HINT})"))
        view[: len(data)] = data
        return len(data)


def detect_format(name: str, head: bytes = b"") -> str:
    """Guess ``csv``, ``tsv``, ``jsonl`` or ``parquet`` from the name, then from the content.

    Args:
        name: the file name (a trailing ``.gz`` is ignored).
        head: the first (decompressed) bytes, used when the suffix says nothing.
    """
    if head.startswith(b"PAR1"):
        return "parquet"
    lower = name.lower()
    if lower.endswith(".gz"):
        lower = lower[:-3]
    suffix = os.path.splitext(lower)[1]
    by_suffix = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl",
                 ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
    if suffix in by_suffix:
        return by_suffix[suffix]
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        return "jsonl"
    first_line = text.split(b"\n", 1)[0]
    return "tsv" if first_line.count(b"\t") > first_line.count(b",") else "csv"


def _open_source(source: Any, stack: ExitStack) -> IO[bytes]:
    if isinstance(source, str | os.PathLike):
        return stack.enter_context(open(source, "rb"))
    if hasattr(source, "read"):
        seekable = getattr(source, "seekable", None)
        if seekable is not None and seekable():
            source.seek(0)
            return source
        # A one-way stream: spool it to disk once so that it can be read again.
        spool = stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115
        shutil.copyfileobj(source, spool, 1 << 20)
        spool.seek(0)
        return spool
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(source))
    raise TypeError(f"cannot read a table from {type(source).__name__}")


def _classify_head(head: bytes) -> str:
    """Return the text encoding of ``head`` or raise ``_Reject`` for binary content."""
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)) and head[:4] in (
            codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE):
        raise _Reject(Problem("the file is UTF-32 encoded; save it as UTF-8"))
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    for magic, what in _MAGIC_NAMES:
        if head.startswith(magic):
            raise _Reject(Problem(f"binary content, not a text table: this looks like {what}"))
    if b"\x00" in head:
        sample = head[:4096]
        half = len(sample) / 2
        even = sample[0::2].count(0)
        odd = sample[1::2].count(0)
        # UTF-16 text has its NUL bytes on one side of each pair (the high byte of ASCII);
        # NUL bytes on both sides are padding or binary content.
        if max(even, odd) > 0.3 * half and min(even, odd) < 0.05 * half:
            raise _Reject(Problem(
                "the file looks like UTF-16 text without a byte-order mark; "
                "save it as UTF-8 (or UTF-16 with BOM)"))
        if min(even, odd) >= 0.05 * half:
            raise _Reject(Problem(
                f"the file contains {head.count(0):,} NUL bytes in its first "
                f"{len(head):,} bytes: binary content or padding, not a text table"))
    controls = sum(head.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13))
    if controls > 4 and controls > 0.05 * len(head):
        raise _Reject(Problem("binary content: this is not a text table"))
    return "utf-8"


def _open(raw: IO[bytes], name: str, stack: ExitStack, max_bytes: int,
          max_columns: int | None = None, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> _Opened:
    raw.seek(0)
    magic = raw.read(4)
    raw.seek(0)
    if not magic:
        raise _Reject(Problem("the file is empty"))
    stream: IO[bytes] = raw
    gz = magic[:2] == b"\x1f\x8b"
    if gz:
        stream = stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb"))
    counter = _LimitedReader(stream, max_bytes)
    limited = io.BufferedReader(counter, buffer_size=1 << 20)
    try:
        head = limited.peek(_HEAD)[:_HEAD]
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise _Reject(Problem(f"the gzip data is damaged ({exc})")) from None
    if not head.strip(b" \t\r\n\x00"):
        raise _Reject(Problem("the file is empty"))
    fmt = detect_format(name, head)
    if fmt == "parquet":
        if not head.startswith(b"PAR1"):
            raise _Reject(Problem("not a Parquet file (it does not start with PAR1)"))
        return _Opened(limited, "binary", fmt, None if gz else raw, max_bytes,
                       max_columns=max_columns, chunk_bytes=chunk_bytes)
    encoding = _classify_head(head)
    if encoding == "utf-8-sig":
        limited.read(len(codecs.BOM_UTF8))
        encoding = "utf-8"
    return _Opened(limited, encoding, fmt, max_bytes=max_bytes, counter=counter,
                   max_columns=max_columns, chunk_bytes=chunk_bytes)


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
            raw = _open_source(source, stack)
            opened = _open(raw, name, stack, max_bytes, max_columns, chunk_bytes)
            if opened.fmt == "parquet":
                opened = replace(opened, select=select)
                reader: Iterator[pd.DataFrame] = _parquet_chunks(opened, chunksize, stack)
            elif opened.fmt == "jsonl":
                reader = _jsonl_chunks(opened, chunksize)
            else:
                reader = _csv_chunks(
                    opened, chunksize,
                    lambda: _open(raw, name, stack, max_bytes, max_columns, chunk_bytes))
            yield from reader
        except _Reject as exc:
            raise IngestError(name, exc.problems[:MAX_PROBLEMS]) from None
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise IngestError(name, [Problem(f"the gzip data is damaged or truncated ({exc})")]
                              ) from None
        except OSError as exc:
            raise IngestError(name, [Problem(f"cannot read the file ({exc.strerror or exc})")]
                              ) from None


# -- CSV / TSV ---------------------------------------------------------------------------


def _too_many_columns(count: int, max_columns: int | None, *, at_least: bool = False
                      ) -> Problem | None:
    """The problem of a file with more than ``max_columns`` columns (None if within)."""
    if max_columns is None or count <= max_columns:
        return None
    return Problem(f"{'more than ' if at_least else ''}{count:,} columns, over the limit of "
                   f"{max_columns:,} ({_COLUMNS_HINT})")


def _check_names(names: list[str]) -> list[Problem]:
    problems = []
    seen: dict[str, int] = {}
    for i, col in enumerate(names, start=1):
        key = col.strip().lower()
        if not key:
            problems.append(Problem(f"column {i} of the header has no name"))
        elif key in seen:
            problems.append(Problem(
                f"duplicate column name (also column {seen[key]})", column=col))
        else:
            seen[key] = i
    return problems


def _csv_chunks(
    opened: _Opened, chunksize: int, reopen: Callable[[], _Opened]
) -> Iterator[pd.DataFrame]:
    delimiter = "\t" if opened.fmt == "tsv" else ","
    read_options = pa_csv.ReadOptions(
        block_size=_BLOCK_SIZE, use_threads=False,
        encoding="utf8" if opened.encoding == "utf-8" else opened.encoding)
    parse_options = pa_csv.ParseOptions(
        delimiter=delimiter, newlines_in_values=True)
    # Read the header alone first, so that every column can be declared binary: values are
    # then checked for UTF-8 and NUL bytes here, where the row and column can be named.
    names = _header_names(opened, delimiter)
    too_many = _too_many_columns(len(names), opened.max_columns)
    if too_many is not None:  # before any row is read (and before 100k names are checked)
        raise _Reject(too_many)
    problems = _check_names(names)
    if problems:
        raise _Reject(*problems)
    opened = reopen()  # the header read consumed part of the stream
    try:
        reader = pa_csv.open_csv(
            opened.stream, read_options=read_options, parse_options=parse_options,
            convert_options=pa_csv.ConvertOptions(
                column_types={n: pa.binary() for n in names}, strings_can_be_null=False,
                quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        if "columns, got" in str(exc):
            raise _Reject(*_locate_ragged(reopen, delimiter, len(names), str(exc))) from None
        if "Empty CSV file" in str(exc):  # a header without a line end, and nothing else
            raise _Reject(Problem("the file has a header but no data rows")) from None
        raise _Reject(_csv_error_problem(exc)) from None

    try:
        yield from _csv_batches(reader, chunksize, lambda msg: _locate_ragged(
            reopen, delimiter, len(names), msg), opened)
    finally:
        reader.close()


def _csv_batches(reader: Any, chunksize: int, ragged: Callable[[str], list[Problem]],
                 opened: _Opened) -> Iterator[pd.DataFrame]:
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
        raise _Reject(*problems[:MAX_PROBLEMS])
    if rows_done + pending_rows == 0:
        raise _Reject(Problem("the file has a header but no data rows"))
    if pending_rows:
        yield pa.Table.from_batches(pending).to_pandas()


def _unterminated_quote(opened: _Opened, last: pa.RecordBatch, last_row: int) -> list[Problem]:
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
            return [Problem("a quoted field is never closed: it runs from here to the end of "
                            "the file (a missing '\"')", row=last_row, column=name)]
    return []


def _header_names(opened: _Opened, delimiter: str) -> list[str]:
    """Parse the header row with Python's csv module from the first bytes of the stream."""
    decoder = codecs.getincrementaldecoder(opened.encoding)(errors="replace")
    data = opened.stream.read(_HEADER_LIMIT)
    at_end = len(data) < _HEADER_LIMIT
    text = decoder.decode(data, final=at_end)
    old_limit = csv.field_size_limit()
    csv.field_size_limit(_HEADER_LIMIT)
    try:
        records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        for fields in records:
            if not fields:
                continue
            if not at_end and not _record_ended(records, text):
                raise _Reject(_too_many_columns(len(fields), opened.max_columns, at_least=True)
                              or Problem(f"the header row is longer than "
                                         f"{_HEADER_LIMIT // 2**20} MiB: this is not a table "
                                         f"of tickets (or its line ends are missing)"))
            if any("\ufffd" in f for f in fields):
                raise _Reject(Problem(
                    "the header is not valid UTF-8; the file is probably Latin-1/Windows-1252: "
                    "save it as UTF-8"))
            return list(fields)
    except csv.Error as exc:
        raise _Reject(Problem(f"the header cannot be parsed ({exc})")) from None
    finally:
        csv.field_size_limit(old_limit)
    raise _Reject(Problem("the file is empty"))


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
        return Problem(f"a single row (this one or one shortly after) is longer than "
                       f"{_BLOCK_SIZE // 2**20} MiB",
                       row=None if rows_before is None else rows_before + 1)
    if "UTF8" in text or "UTF-8" in text:
        return Problem("the header is not valid UTF-8; save the file as UTF-8")
    if "Empty CSV file" in text:
        return Problem("the file is empty")
    return Problem(f"the file cannot be parsed as CSV: {text}")


def _check_text_batch(batch: pa.RecordBatch, rows_before: int) -> tuple[pa.RecordBatch, list[Problem]]:
    """Cast binary columns to strings, locating invalid UTF-8 and NUL bytes."""
    problems: list[Problem] = []
    arrays = []
    for col_name, arr in zip(batch.schema.names, batch.columns, strict=True):
        if not (pa.types.is_binary(arr.type) or pa.types.is_string(arr.type)):
            # A column pyarrow typed itself (e.g. null for a column the header did not
            # name): its values are not text to check.
            arrays.append(pa.nulls(len(arr), pa.string()) if pa.types.is_null(arr.type)
                          else arr.cast(pa.string()))
            continue
        nul = pc.match_substring(arr, "\x00")
        if pc.any(nul).as_py():
            for i in pc.indices_nonzero(pc.fill_null(nul, False)).to_pylist()[:MAX_PROBLEMS]:
                problems.append(Problem("contains a NUL byte (binary content?)",
                                        row=rows_before + i + 1, column=col_name))
        try:
            arrays.append(arr.cast(pa.string()))
        except pa.ArrowInvalid:
            for i, value in enumerate(arr.to_pylist()):
                if value is None:
                    continue
                try:
                    value.decode("utf-8")
                except UnicodeDecodeError as exc:
                    problems.append(Problem(
                        f"not valid UTF-8 (byte 0x{value[exc.start]:02x}); the file is probably "
                        f"Latin-1/Windows-1252: save it as UTF-8",
                        row=rows_before + i + 1, column=col_name))
                    if len(problems) >= MAX_PROBLEMS:
                        break
            arrays.append(pa.nulls(len(arr), pa.string()))
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names), problems


def _locate_ragged(
    reopen: Callable[[], _Opened], delimiter: str, width: int | None, arrow_message: str
) -> list[Problem]:
    """Find the rows with the wrong number of fields by a second, Python-level pass."""
    problems: list[Problem] = []
    try:
        opened = reopen()
        text = io.TextIOWrapper(opened.stream, encoding=opened.encoding, errors="replace",
                                newline="")
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
                    problems.append(Problem(
                        f"has {len(fields)} fields where the header has {width}",
                        row=number, column=None))
                    if len(problems) >= MAX_PROBLEMS:
                        break
        finally:
            csv.field_size_limit(old_limit)
    except (OSError, _Reject, csv.Error):
        problems = []
    if not problems:  # the second pass disagreed: report what pyarrow saw
        problems = [Problem(f"a row has the wrong number of fields: {arrow_message[:200]}")]
    return problems


# -- JSONL -------------------------------------------------------------------------------


def _jsonl_chunks(opened: _Opened, chunksize: int) -> Iterator[pd.DataFrame]:
    if opened.encoding == "utf-16":
        lines: Iterator[bytes] = (
            line.encode("utf-8") for line in io.TextIOWrapper(
                opened.stream, encoding="utf-16", errors="strict", newline=None))
    else:
        lines = iter(opened.stream)
    problems: list[Problem] = []
    records: list[dict[str, Any]] = []
    numbers: list[int] = []
    pending_bytes = 0
    total = 0
    number = 0
    keys: set[str] = set()  # every key so far: the columns the frames will have
    while True:
        try:
            raw = next(lines)
        except StopIteration:
            break
        except UnicodeDecodeError as exc:
            problems.append(Problem(f"the text cannot be decoded as UTF-16 ({exc.reason})",
                                    row=number + 1))
            break
        number += 1
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(Problem(
                f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
                row=number))
        else:
            problem = None
            if "\x00" in line:
                problem = Problem("contains a NUL byte (binary content?)", row=number)
            else:
                try:
                    value = json.loads(line)
                except (ValueError, RecursionError) as exc:
                    # ValueError: also a number of over 4,300 digits (not a JSONDecodeError)
                    msg = (exc.msg if isinstance(exc, json.JSONDecodeError)
                           else "nested too deep" if isinstance(exc, RecursionError)
                           else str(exc).splitlines()[0][:200] if str(exc) else "a bad value")
                    problem = Problem(f"not valid JSON ({msg})", row=number)
                else:
                    if not isinstance(value, dict):
                        problem = Problem(
                            f"each line must be a JSON object, found {type(value).__name__}",
                            row=number)
                    elif (wide := _too_many_columns(len(value), opened.max_columns)) is not None:
                        problem = replace(wide, row=number)
                    elif (lone := _lone_surrogate(line, value)) is not None:
                        problem = replace(lone, row=number)
                    elif opened.max_columns is not None and _new_keys_over(
                            keys, value, opened.max_columns):
                        # The records *together* are over the limit: refuse before any
                        # frame of that many columns is built.
                        wide = _too_many_columns(len(keys), opened.max_columns, at_least=True)
                        assert wide is not None
                        raise _Reject(Problem(
                            f"the records together have {wide.message}", row=number))
                    elif not problems:
                        records.append({k: _json_scalar(v) for k, v in value.items()})
                        numbers.append(number)
                        pending_bytes += len(raw)
            if problem is not None:
                problems.append(problem)
        if len(problems) >= MAX_PROBLEMS:
            break
        if records and not problems and (len(records) >= chunksize
                                         or pending_bytes >= opened.chunk_bytes):
            total += len(records)
            yield _records_frame(records, numbers)
            records, numbers, pending_bytes = [], [], 0
    if problems:
        raise _Reject(*problems)
    if total + len(records) == 0:
        raise _Reject(Problem("the file has no JSON records"))
    if records:
        yield _records_frame(records, numbers)


def _new_keys_over(keys: set[str], record: dict[str, Any], max_columns: int) -> bool:
    """Add the keys of ``record`` to ``keys``; whether they are now over ``max_columns``
    (``keys`` then holds just one more than the limit, not every key of the record)."""
    for key in record:
        if key not in keys:
            keys.add(key)
            if len(keys) > max_columns:
                return True
    return False


def _lone_surrogate(line: str, value: dict[str, Any]) -> Problem | None:
    """The problem of a record holding a lone surrogate (a ``\\ud800`` escape is valid JSON
    but no character: UTF-8 cannot hold it), or None."""
    if "\\ud" not in line.lower():  # every surrogate is \\ud800–\\udfff
        return None
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return Problem("holds a \\u escape of a lone surrogate (\\ud800–\\udfff), which is "
                       "not a character; save the file as UTF-8 without it")
    return None


def _records_frame(records: list[dict[str, Any]], numbers: list[int]) -> pd.DataFrame:
    """A chunk of JSON records; ``attrs["rows"]`` holds their line numbers."""
    frame = pd.DataFrame.from_records(records)
    frame.attrs["rows"] = numbers
    return frame


def _json_scalar(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    return value


# -- Parquet -----------------------------------------------------------------------------


def _parquet_chunks(opened: _Opened, chunksize: int, stack: ExitStack) -> Iterator[pd.DataFrame]:
    """Parquet in chunks bounded by rows and decoded bytes, checked against ``max_bytes``.

    The uncompressed sizes in the file's metadata are checked first. They cannot tell what
    dictionary-encoded text expands to (one 100,000-character value repeated on 50,000
    rows is a few hundred bytes of file), so text columns are read as dictionaries, their
    decoded size counted from the dictionary's value lengths, and only then decoded, a
    chunk of at most ``chunk_bytes`` at a time.
    """
    # Parquet needs random access: spool the (possibly decompressed) bytes to a temp file.
    if opened.raw is not None:
        spool = opened.raw
        spool.seek(0, io.SEEK_END)
        if spool.tell() > opened.max_bytes:
            raise _Reject(Problem(
                f"the file is larger than the limit of {opened.max_bytes:,} bytes "
                f"({_BYTES_HINT})"))
    else:
        spool = stack.enter_context(tempfile.TemporaryFile(suffix=".parquet"))  # noqa: SIM115
        try:
            shutil.copyfileobj(opened.stream, spool, 1 << 20)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise _Reject(Problem(f"the gzip data is damaged ({exc})")) from None
    spool.seek(0)
    try:
        pfile = pq.ParquetFile(spool)
        schema = pfile.schema_arrow
        names = list(schema.names)
        too_many = _too_many_columns(len(names), opened.max_columns)
        if too_many is not None:
            raise _Reject(too_many)
        problems = _check_names(names)
        if problems:
            raise _Reject(*problems)
        wanted = names
        if opened.select is not None:
            chosen = set(opened.select(list(names)))
            wanted = [n for n in names if n in chosen]
            problems = [Problem(f"must hold text or one value per row, found nested values "
                                f"({schema.field(n).type})", column=n)
                        for n in wanted if pa.types.is_nested(schema.field(n).type)]
            if problems:  # refused before anything is decoded
                raise _Reject(*problems[:MAX_PROBLEMS])
        row_bytes = _parquet_size_check(pfile.metadata, opened.max_bytes,
                                        _leaves_of(schema, set(wanted)))
        if not wanted:  # nothing the caller can use: it sees the names, and no rows
            empty = pd.DataFrame(columns=names)
            empty.attrs["columns"] = names
            yield empty
            return
        text = [f.name for f in schema if f.name in wanted and _is_text(f.type)]
        spool.seek(0)
        pfile = pq.ParquetFile(spool, read_dictionary=text or None,
                               buffer_size=_PARQUET_BUFFER)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _Reject(Problem(f"not a readable Parquet file ({str(exc).splitlines()[0]})")) from None
    batch_rows = max(1, min(chunksize, opened.chunk_bytes // max(1, row_bytes)))
    total = 0
    decoded = 0
    problems = []
    try:
        for batch in pfile.iter_batches(batch_size=batch_rows, columns=wanted):
            if batch.num_rows == 0:
                continue
            sizes = _row_sizes(batch)
            decoded += int(sizes.sum())
            if decoded > opened.max_bytes:
                raise _Reject(Problem(
                    f"the data is larger than the limit of {opened.max_bytes:,} bytes once "
                    f"decoded (the Parquet file holds {pfile.metadata.num_rows:,} rows; "
                    f"{_BYTES_HINT})", row=total + 1))
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
                frame.attrs["columns"] = names
                total += piece.num_rows
                yield frame
    except (pa.ArrowMemoryError, MemoryError):
        raise _Reject(Problem(
            f"there is not enough memory to decode the Parquet data (its values expand "
            f"past what this machine can hold; {_BYTES_HINT})", row=total + 1)) from None
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _Reject(Problem(f"the Parquet data is damaged ({str(exc).splitlines()[0]})",
                              row=total + 1)) from None
    if problems:
        raise _Reject(*problems[:MAX_PROBLEMS])
    if total == 0:
        raise _Reject(Problem("the file has a header but no data rows"))


def _parquet_text_problems(batch: pa.RecordBatch, rows_before: int) -> list[Problem]:
    """Values of the text columns of ``batch`` that are not valid UTF-8 (Parquet writers do
    not check it: DuckDB would refuse them at the insert) or hold NUL bytes, located.
    Dictionary-encoded columns are checked through their dictionary."""
    problems: list[Problem] = []
    for col_name, arr in zip(batch.schema.names, batch.columns, strict=True):
        values = arr.dictionary if pa.types.is_dictionary(arr.type) else arr
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            continue
        as_bytes = values.cast(pa.large_binary() if pa.types.is_large_string(values.type)
                               else pa.binary())
        bad: dict[int, str] = {}
        try:
            values.validate(full=True)
        except pa.ArrowInvalid:
            for i, value in enumerate(as_bytes.to_pylist()):
                if value is None:
                    continue
                try:
                    value.decode("utf-8")
                except UnicodeDecodeError as exc:
                    bad[i] = (f"not valid UTF-8 (byte 0x{value[exc.start]:02x}); the Parquet "
                              f"file's text must be UTF-8")
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
            located = [(int(i), bad[arr.indices[int(i)].as_py()]) for i in
                       pc.indices_nonzero(pc.fill_null(hit, False)).to_pylist()[:MAX_PROBLEMS]]
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
    if (pa.types.is_list(type_) or pa.types.is_large_list(type_)
            or pa.types.is_fixed_size_list(type_)):
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
    return (pa.types.is_string(type_) or pa.types.is_large_string(type_)
            or pa.types.is_binary(type_) or pa.types.is_large_binary(type_))


def _parquet_size_check(meta: pq.FileMetaData, max_bytes: int,
                        read: list[bool] | None = None) -> int:
    """Refuse a file whose metadata says it is over ``max_bytes`` uncompressed; return the
    largest uncompressed bytes per row of its row groups (to size the batches).

    ``read``: for each leaf column, whether it will be read (only those are counted); when
    it does not match the metadata's columns, every column is counted."""
    total = 0
    per_row = 1
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        if read is not None and len(read) == group.num_columns:
            size = sum(group.column(j).total_uncompressed_size
                       for j in range(group.num_columns) if read[j])
        else:
            size = max(group.total_byte_size,
                       sum(group.column(j).total_uncompressed_size
                           for j in range(group.num_columns)))
        total += size
        if group.num_rows:
            per_row = max(per_row, -(-size // group.num_rows))
    if total > max_bytes:
        raise _Reject(Problem(
            f"the data is larger than the limit of {max_bytes:,} bytes once decompressed "
            f"(the Parquet metadata says {total:,} bytes; {_BYTES_HINT})"))
    return per_row


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
            sizes += pc.fill_null(pc.binary_length(arr), 0).cast(pa.int64()).to_numpy(
                zero_copy_only=False)
        else:
            sizes += -(-arr.nbytes // max(1, len(arr)))
    return sizes


def _byte_slices(batch: pa.RecordBatch, sizes: Any, chunk_bytes: int,
                 chunksize: int) -> Iterator[pa.RecordBatch]:
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


def _decoded(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``batch`` with its dictionary-encoded text decoded into plain text columns."""
    arrays = [arr.dictionary_decode() if pa.types.is_dictionary(arr.type) else arr
              for arr in batch.columns]
    fields = [pa.field(f.name, a.type, f.nullable) for f, a in
              zip(batch.schema, arrays, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields, batch.schema.metadata))
