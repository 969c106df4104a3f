"""Ingest uploaded ticket files: validate everything first, then write all or nothing.

Each file goes through two steps:

1. :func:`stage_file` streams the file (:func:`data.readers.read_table_chunks`), maps its
   columns (:mod:`data.columns`), checks every value, computes each row's
   :func:`data.keys.ticket_key`, and writes the normalised rows to a staging Parquet file,
   never holding the whole file in memory. Up to 20 problems are reported with row and
   column; any problem rejects the file.
2. :func:`commit_staged` inserts the staged rows whose key is not in the store yet, and
   records the file's hash in ``ingested_files``, in one transaction.

Uploading the same file again adds nothing (its hash is known); overlapping files add only
the new tickets. The staged Parquet is also what a command-line job hands to a running
dashboard through the inbox (:mod:`data.inbox`).

Example:
    >>> reports = ingest_files(store, ["tickets.csv", "more.jsonl.gz"])  # doctest: +SKIP
    >>> [r.message for r in reports]                                    # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from data import rollups
from data.columns import ALIASES, ColumnMap, map_columns
from data.errors import ConfigError, IngestError, Problem, StoreWriteError
from data.keys import ticket_key_sql
from data.paths import STAGING_PREFIX, staging_dir_of
from data.readers import DEFAULT_CHUNK_BYTES, MAX_PROBLEMS, read_table_chunks

__all__ = [
    "DEFAULT_LIMITS",
    "STAGED_SCHEMA",
    "IngestLimits",
    "IngestReport",
    "LIMIT_ENV_VARS",
    "StagedFile",
    "commit_staged",
    "ingest_files",
    "limits_from_env",
    "source_name",
    "stage_file",
    "staging_dir_for",
]

STAGED_SCHEMA = pa.schema(
    [
        ("row", pa.int64()),
        ("source_id", pa.string()),
        ("customer_id", pa.string()),
        ("created_at", pa.timestamp("us")),
        ("channel", pa.string()),
        ("category", pa.string()),
        ("priority", pa.string()),
        ("subject", pa.string()),
        ("text", pa.string()),
        ("resolution_minutes", pa.float64()),
        ("resolved_by", pa.string()),
    ]
)
_META_PREFIX = b"pricewar."
_OPTIONAL_TEXT = {
    "id": "source_id",
    "customer": "customer_id",
    "channel": "channel",
    "category": "category",
    "priority": "priority",
    "subject": "subject",
}
#: Dates a ticket may carry, whether the file gives them as text or as a typed (Parquet)
#: timestamp; both are checked by :func:`_dates_in_range`, for direct uploads and for files
#: handed through the inbox alike.
_MIN_DATE = pd.Timestamp("1990-01-01")
_MAX_DATE = pd.Timestamp("2100-01-01")
_DATE_RANGE = "1990–2100"


@dataclass(frozen=True)
class IngestLimits:
    """Limits an upload must respect; each rejection message names the limit it broke."""

    max_bytes: int = 1024**3  # decoded: after decompression and Parquet's encodings
    max_rows: int = 2_000_000
    max_columns: int = 500
    max_text_chars: int = 100_000  # one ticket's text
    # One ticket's text in UTF-8 bytes: DuckDB holds about two 2,048-row groups of the
    # widest tickets while it inserts them, so this bounds that memory (2 × 2,048 × 128 KiB
    # = 512 MiB); 100,000 ASCII characters fit, 100,000 four-byte emoji do not.
    max_text_bytes: int = 128 * 1024
    max_field_chars: int = 2_000  # id, customer, channel, subject, category, priority
    chunksize: int = 50_000  # rows read at a time (memory, not a limit on the file)
    chunk_bytes: int = DEFAULT_CHUNK_BYTES  # decoded bytes read at a time (memory too)


DEFAULT_LIMITS = IngestLimits()

#: Environment variables that change the upload limits (for the dashboard, the CLI and the
#: inbox alike), by :class:`IngestLimits` field.
LIMIT_ENV_VARS: dict[str, str] = {
    "max_bytes": "PRICEWAR_MAX_UPLOAD_BYTES",
    "max_rows": "PRICEWAR_MAX_UPLOAD_ROWS",
    "max_columns": "PRICEWAR_MAX_UPLOAD_COLUMNS",
    "max_text_chars": "PRICEWAR_MAX_TEXT_CHARS",
    "max_text_bytes": "PRICEWAR_MAX_TEXT_BYTES",
    "max_field_chars": "PRICEWAR_MAX_FIELD_CHARS",
}


#: The largest value an upload limit may be given in the environment (far above any file a
#: server could hold, and well inside the 64-bit integers the readers compare with).
MAX_LIMIT = 10**15


def limits_from_env(
    base: IngestLimits = DEFAULT_LIMITS, environ: Mapping[str, str] | None = None
) -> IngestLimits:
    """``base`` with every limit given in the environment (:data:`LIMIT_ENV_VARS`) applied.

    Raises:
        data.errors.ConfigError: a variable is set to something other than a whole number
            from 1 to :data:`MAX_LIMIT` (the message names the variable).

    Example:
        >>> limits_from_env(environ={"PRICEWAR_MAX_UPLOAD_ROWS": "1000"}).max_rows
        1000
    """
    env = os.environ if environ is None else environ
    changes: dict[str, int] = {}
    for field_name, var in LIMIT_ENV_VARS.items():
        text = env.get(var, "").strip().replace("_", "")
        if not text:
            continue
        # ASCII digits only: str.isdigit() is also true for "²" or "④", which int() refuses.
        # At most MAX_LIMIT: the text limits reach pyarrow's compute kernels as int64 (a
        # larger number raised a TypeError out of every upload).
        ok = text.isascii() and text.isdigit() and len(text) <= 20
        if not ok or not 1 <= int(text) <= MAX_LIMIT:
            shown = env[var] if len(env[var]) <= 40 else env[var][:39] + "…"
            raise ConfigError(
                f"{var} must be a whole number from 1 to {MAX_LIMIT:,}, not {shown!r}"
            )
        changes[field_name] = int(text)
    return replace(base, **changes) if changes else base


def _limit_hint(field_name: str) -> str:
    return f"IngestLimits.{field_name}; set {LIMIT_ENV_VARS[field_name]} to change it"


@dataclass
class StagedFile:
    """A validated file, its rows normalised into a Parquet file at ``path``."""

    name: str
    file_hash: str
    rows: int
    path: Path
    columns: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)


@dataclass
class IngestReport:
    """What happened to one file.

    ``status`` is ``"imported"`` (new tickets written), ``"unchanged"`` (valid, but every
    ticket or the whole file was there already) or ``"rejected"`` (nothing written; see
    ``problems``).
    """

    file: str
    status: str
    rows: int = 0
    new_tickets: int = 0
    duplicates: int = 0
    already_ingested: bool = False
    file_hash: str = ""
    columns: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    error: IngestError | None = None

    @property
    def accepted(self) -> bool:
        """Whether the file was valid (imported or unchanged)."""
        return self.status != "rejected"

    @property
    def message(self) -> str:
        """One human sentence (several lines for a rejection)."""
        if self.status == "rejected":
            return str(self.error) if self.error else f"{self.file}: rejected"
        if self.already_ingested:
            return f"{self.file}: this file was ingested before; nothing added"
        dup = f", {self.duplicates:,} already present or repeated" if self.duplicates else ""
        return (
            f"{self.file}: {_count(self.rows, 'row')}, "
            f"{_count(self.new_tickets, 'new ticket')}{dup}"
        )

    def __str__(self) -> str:
        return self.message


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


# -- sources -------------------------------------------------------------------------------


def source_name(source: Any) -> str:
    """The display name of a source: a path's file name, an upload's ``name``."""
    if isinstance(source, tuple):
        return str(source[0])
    if isinstance(source, str | os.PathLike):
        return Path(source).name
    return Path(str(getattr(source, "name", "") or "upload")).name


def _payload(source: Any) -> Any:
    return source[1] if isinstance(source, tuple) else source


def _hash_source(source: Any) -> str:
    digest = hashlib.sha256()
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    if isinstance(source, bytes | bytearray | memoryview):
        digest.update(source)
        return digest.hexdigest()
    if hasattr(source, "getbuffer"):
        digest.update(source.getbuffer())
        return digest.hexdigest()
    if hasattr(source, "seek"):
        source.seek(0)
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
        source.seek(0)
        return digest.hexdigest()
    raise TypeError(f"cannot ingest from {type(source).__name__}")


# -- validation ----------------------------------------------------------------------------


class _Collector:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    @property
    def full(self) -> bool:
        return len(self.problems) >= MAX_PROBLEMS

    def add_rows(self, rows: Iterable[int], column: str | None, message: str) -> None:
        for row in rows:
            if self.full:
                return
            self.problems.append(Problem(message, row=int(row), column=column))


def _arrow(series: pd.Series) -> pa.Array:
    """The column as one Arrow array (zero-copy for Arrow-backed strings)."""
    try:
        arr = pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        arr = pa.array(series.astype(object).map(_to_str), type=pa.string(), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr


def _rows_where(mask: pa.Array, rows: np.ndarray) -> np.ndarray:
    return rows[np.asarray(pc.indices_nonzero(pc.fill_null(mask, False)))[:MAX_PROBLEMS]]


def _text_array(
    series: pd.Series,
    column: str,
    rows: np.ndarray,
    out: _Collector,
    *,
    limit: int,
    limit_name: str,
    required: bool,
    byte_limit: int | None = None,
) -> pa.Array:
    """Strings (null for missing) with located problems for wrong types and long values
    (over ``limit`` characters, or over ``byte_limit`` UTF-8 bytes when given)."""
    arr = _arrow(series)
    if pa.types.is_dictionary(arr.type):  # e.g. a pandas Categorical of text
        arr = arr.dictionary_decode()
    if pa.types.is_null(arr.type):
        arr = pa.nulls(len(arr), pa.string())
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        if required or pa.types.is_nested(arr.type) or pa.types.is_binary(arr.type):
            out.add_rows(
                _rows_where(pc.is_valid(arr), rows), column, f"must hold text, found {arr.type}"
            )
            return pa.nulls(len(arr), pa.string())
        arr = pa.array(series.astype(object).map(_to_str), type=pa.string(), from_pandas=True)
    arr = arr.cast(pa.string())
    trimmed = pc.utf8_trim_whitespace(arr)
    blank = pc.fill_null(pc.equal(trimmed, ""), True)
    if required:
        out.add_rows(_rows_where(blank, rows), column, "empty text")
    lengths = pc.utf8_length(arr)
    too_long = pc.greater(lengths, limit)
    if pc.any(too_long).as_py():
        for i in np.asarray(pc.indices_nonzero(too_long))[:MAX_PROBLEMS]:
            out.add_rows(
                [rows[i]],
                column,
                f"{lengths[int(i)].as_py():,} characters, over the limit "
                f"of {limit:,} ({_limit_hint(limit_name)})",
            )
    if byte_limit is not None:
        sizes = pc.binary_length(arr)
        too_big = pc.and_(pc.greater(sizes, byte_limit), pc.invert(too_long))
        if pc.any(too_big).as_py():
            for i in np.asarray(pc.indices_nonzero(too_big))[:MAX_PROBLEMS]:
                out.add_rows(
                    [rows[i]],
                    column,
                    f"{sizes[int(i)].as_py():,} bytes of UTF-8, over the limit of "
                    f"{byte_limit:,} ({_limit_hint('max_text_bytes')})",
                )
    if required:
        return arr
    return pc.if_else(blank, pa.scalar(None, pa.string()), trimmed)


def _to_str(value: Any) -> str | None:
    """An optional column's value as text: a missing value (None, NaN: how pandas reads the
    nulls of a Parquet float column, pd.NA, NaT) stays missing, never the text "nan"."""
    if value is None or isinstance(value, str):
        return value
    if (
        value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float | np.floating) and np.isnan(value))
    ):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def latest_accepted_date() -> pd.Timestamp:
    """The latest date a ticket may carry: tomorrow (UTC; a ticket from the future is a typo
    or an attack, and one would move every page's default period past the real data)."""
    tomorrow = pd.Timestamp.now(tz="UTC").tz_localize(None).normalize() + pd.Timedelta(days=2)
    return min(_MAX_DATE, tomorrow)


def _dates_in_range(parsed: pd.Series, column: str, rows: np.ndarray, out: _Collector) -> pd.Series:
    """``parsed`` (timezone-naive UTC, any unit) with every date outside :data:`_DATE_RANGE`
    or after :func:`latest_accepted_date` reported by row and column, then cleared (so no
    unit conversion can overflow)."""
    present = parsed.notna()
    outside = (present & ((parsed < _MIN_DATE) | (parsed > _MAX_DATE))).to_numpy()
    if outside.any():
        out.add_rows(rows[np.nonzero(outside)[0]], column, f"date outside {_DATE_RANGE}")
    latest = latest_accepted_date()
    future = (present & (parsed >= latest)).to_numpy() & ~outside
    if future.any():
        day = (latest - pd.Timedelta(days=1)).date().isoformat()
        out.add_rows(rows[np.nonzero(future)[0]], column, f"date in the future (after {day}, UTC)")
    if outside.any() or future.any():
        parsed = parsed.mask(outside | future)
    return parsed


def _as_timestamps(series: pd.Series, column: str, rows: np.ndarray, out: _Collector) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):  # a typed (Parquet) column
        parsed = pd.to_datetime(series)
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        return _dates_in_range(parsed, column, rows, out).astype("datetime64[us]")
    raw = series.astype(object).map(
        lambda v: (
            None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip() or None
        )
    )
    present = raw.notna().to_numpy()
    parsed = pd.Series(pd.NaT, index=series.index, dtype="datetime64[us]")
    if present.any():
        values = raw[present]
        first = _parse_dates(values, iso=True)
        retry = first.isna().to_numpy()
        if retry.any():
            first[retry] = _parse_dates(values[retry], iso=False)
        parsed[present] = first.astype("datetime64[us]")
    bad = present & parsed.isna().to_numpy()
    for i in np.nonzero(bad)[0][:MAX_PROBLEMS]:
        out.add_rows([rows[i]], column, f"cannot read the date {str(raw.iloc[i])[:40]!r}")
    # "12:30", "2:30 PM", a Parquet time-of-day column, "now", "today": pandas dates them
    # today (the moment of the upload), so every such ticket landed on the day of the upload
    dateless = (
        present
        & ~bad
        & ~raw.map(lambda v: isinstance(v, str) and _HAS_DATE.search(v) is not None).to_numpy(
            dtype=bool
        )
    )
    for i in np.nonzero(dateless)[0][:MAX_PROBLEMS]:
        out.add_rows(
            [rows[i]],
            column,
            f"{str(raw.iloc[i])[:40]!r} has no date (a time of "
            "day, or a word such as 'now'); write dates as YYYY-MM-DD",
        )
    if dateless.any():
        parsed = parsed.mask(dateless)
    return _dates_in_range(parsed, column, rows, out)


#: What a date written as text must hold: a four-digit year or a day-month-year triple
#: (``2024-01-05``, ``05/01/24``, ``20240105``, ``5 January 2024``).
_HAS_DATE = re.compile(r"\d{4}|\d{1,2}[/.\-]\d{1,2}[/.\-]\d{1,4}")


def _parse_dates(values: pd.Series, *, iso: bool) -> pd.Series:
    try:
        parsed = pd.to_datetime(
            values, errors="coerce", utc=True, format="ISO8601" if iso else "mixed"
        )
    except (ValueError, OverflowError, TypeError):
        parsed = pd.Series(
            [_one_date(v) for v in values], index=values.index, dtype="datetime64[us, UTC]"
        )
    return parsed.dt.tz_localize(None).astype("datetime64[us]")


def _one_date(value: str) -> pd.Timestamp:
    try:
        return pd.to_datetime(value, utc=True)
    except (ValueError, OverflowError, TypeError):
        return pd.NaT


def _as_minutes(series: pd.Series, column: str, rows: np.ndarray, out: _Collector) -> pd.Series:
    values = pd.to_numeric(series, errors="coerce")
    given = series.astype(object).map(lambda v: v is not None and str(v).strip() not in ("", "nan"))
    # "1e309", "inf", "Infinity" read as infinity: not a duration
    bad = (given & values.isna()) | (values < 0) | values.isin([np.inf, -np.inf])
    out.add_rows(
        rows[np.nonzero(bad.to_numpy())[0]], column, "must be a non-negative number of minutes"
    )
    return values.astype("float64")


def _as_resolver(series: pd.Series, column: str, rows: np.ndarray, out: _Collector) -> pd.Series:
    values = series.astype(object).map(
        lambda v: (
            None
            if v is None or (isinstance(v, float) and np.isnan(v))
            else str(v).strip().lower() or None
        )
    )
    bad = values.notna() & ~values.isin(["human", "ai"])
    out.add_rows(rows[np.nonzero(bad.to_numpy())[0]], column, "must be 'human', 'ai' or empty")
    return values


def _none_array(n: int, type_: pa.DataType) -> pa.Array:
    return pa.nulls(n, type_)


def _normalise_chunk(
    chunk: pd.DataFrame, cmap: ColumnMap, first_row: int, limits: IngestLimits, out: _Collector
) -> pa.Table:
    n = len(chunk)
    f = cmap.fields
    given = chunk.attrs.get("rows")  # the reader's own numbering (JSONL: line numbers)
    rows = (
        np.asarray(given, dtype="int64")
        if given is not None and len(given) == n
        else np.arange(first_row, first_row + n, dtype="int64")
    )
    arrays: dict[str, pa.Array] = {"row": pa.array(rows)}
    arrays["text"] = _text_array(
        chunk[f["text"]],
        f["text"],
        rows,
        out,
        limit=limits.max_text_chars,
        limit_name="max_text_chars",
        required=True,
        byte_limit=limits.max_text_bytes,
    )
    for name, target in _OPTIONAL_TEXT.items():
        arrays[target] = (
            _text_array(
                chunk[f[name]],
                f[name],
                rows,
                out,
                limit=limits.max_field_chars,
                limit_name="max_field_chars",
                required=False,
            )
            if name in f
            else _none_array(n, pa.string())
        )
    arrays["created_at"] = (
        pa.array(
            _as_timestamps(chunk[f["created_at"]], f["created_at"], rows, out).to_numpy(
                dtype="datetime64[us]"
            ),
            type=pa.timestamp("us"),
        )
        if "created_at" in f
        else _none_array(n, pa.timestamp("us"))
    )
    arrays["resolution_minutes"] = (
        pa.array(
            _as_minutes(
                chunk[f["resolution_minutes"]], f["resolution_minutes"], rows, out
            ).to_numpy(),
            type=pa.float64(),
            from_pandas=True,
        )
        if "resolution_minutes" in f
        else _none_array(n, pa.float64())
    )
    arrays["resolved_by"] = (
        pa.array(
            _as_resolver(chunk[f["resolved_by"]], f["resolved_by"], rows, out).tolist(),
            type=pa.string(),
            from_pandas=True,
        )  # NaN (pandas' missing) → null
        if "resolved_by" in f
        else _none_array(n, pa.string())
    )
    return pa.table([arrays[name] for name in STAGED_SCHEMA.names], schema=STAGED_SCHEMA)


def _missing_text_problem(columns: list[str]) -> Problem:
    shown = ", ".join(repr(c) for c in columns[:15])
    accepted = ", ".join(ALIASES["text"][:8])
    return Problem(
        f"no text column: expected one of {accepted} … (case-insensitive); the file has {shown}"
    )


def _mapped_columns(names: list[str]) -> list[str]:
    """The columns of a file that ingest reads (the others are ignored, never decoded)."""
    return list(map_columns([str(n) for n in names]).fields.values())


def stage_file(
    source: Any,
    *,
    name: str | None = None,
    limits: IngestLimits | None = None,
    staging_dir: Path | None = None,
    file_hash: str | None = None,
) -> StagedFile:
    """Validate one file and write its normalised rows to a staging Parquet file.

    Args:
        source: a path, bytes, a binary file-like (e.g. a Streamlit UploadedFile) or a
            ``(name, file-like)`` tuple.
        name: the name shown in messages (default: from the source).
        limits: size, row and field limits (default: :func:`limits_from_env`).
        staging_dir: where to put the Parquet file (default: the system temp folder;
            :func:`ingest_one` uses the store's own ``<db>.staging`` folder, which a
            writable :class:`data.store.Store` sweeps of leftovers when it opens).
        file_hash: the file's SHA-256 if already computed.

    Raises:
        IngestError: the file was rejected; ``problems`` name row and column.
    """
    name = name or source_name(source)
    limits = limits if limits is not None else limits_from_env()
    payload = _payload(source)
    try:
        digest = file_hash or _hash_source(payload)
    except OSError as exc:
        raise IngestError(
            name, [Problem(f"cannot read the file ({exc.strerror or exc})")]
        ) from None
    fd, tmp = tempfile.mkstemp(
        prefix=f"{STAGING_PREFIX}{os.getpid()}-",
        suffix=".parquet",
        dir=str(staging_dir) if staging_dir else None,
    )
    os.close(fd)
    path = Path(tmp)
    out = _Collector()
    rows = 0
    cmap: ColumnMap | None = None
    writer: pq.ParquetWriter | None = None
    try:
        for chunk in read_table_chunks(
            payload,
            name=name,
            chunksize=limits.chunksize,
            max_bytes=limits.max_bytes,
            max_columns=limits.max_columns,
            chunk_bytes=limits.chunk_bytes,
            select=_mapped_columns,
        ):
            if cmap is None:
                # Parquet reads only the mapped columns (``select``) and lists them all here.
                columns = [str(c) for c in chunk.attrs.get("columns", chunk.columns)]
                if len(columns) > limits.max_columns:
                    raise IngestError(
                        name,
                        [
                            Problem(
                                f"{len(columns)} columns, over the limit of {limits.max_columns} "
                                f"({_limit_hint('max_columns')})"
                            )
                        ],
                    )
                cmap = map_columns(columns)
                if not cmap.has_text:
                    raise IngestError(name, [_missing_text_problem(columns)])
            else:
                for col in cmap.fields.values():
                    if col not in chunk.columns:  # JSONL: a chunk without that key
                        chunk[col] = None
            if rows + len(chunk) > limits.max_rows:
                out.problems.append(
                    Problem(
                        f"more than {limits.max_rows:,} rows, over the limit "
                        f"({_limit_hint('max_rows')})",
                        row=limits.max_rows + 1,
                    )
                )
                break
            table = _normalise_chunk(chunk.reset_index(drop=True), cmap, rows + 1, limits, out)
            rows += len(chunk)
            if out.full:
                break
            if out.problems:
                continue
            if writer is None:
                writer = pq.ParquetWriter(str(path), STAGED_SCHEMA, compression="zstd")
            writer.write_table(table)
        if out.problems:
            raise IngestError(name, out.problems)
        if cmap is None or rows == 0:
            raise IngestError(name, [Problem("the file has no data rows")])
        if writer is not None:
            meta = {
                _META_PREFIX + b"name": name.encode("utf-8", "surrogatepass"),
                _META_PREFIX + b"file_hash": digest.encode(),
                _META_PREFIX + b"rows": str(rows).encode(),
                _META_PREFIX + b"columns": repr(sorted(cmap.fields.items())).encode(
                    "utf-8", "surrogatepass"
                ),
            }
            writer.add_key_value_metadata(meta)
            writer.close()
            writer = None
        return StagedFile(name, digest, rows, path, dict(cmap.fields), list(cmap.ignored))
    except BaseException:
        if writer is not None:
            with contextlib.suppress(OSError):  # closing flushes: it fails on a full disk too
                writer.close()
        path.unlink(missing_ok=True)
        raise
    finally:
        # Arrow's allocator keeps what the chunks used; hand it back before DuckDB's insert
        # needs its own (about 120 MiB less at the peak of a 1 GB file).
        pa.default_memory_pool().release_unused()


def read_staged(path: Path) -> StagedFile:
    """The :class:`StagedFile` of a staging Parquet file written by :func:`stage_file`."""
    meta = pq.ParquetFile(str(path)).metadata.metadata or {}

    def get(key: str) -> str:
        return meta.get(_META_PREFIX + key.encode(), b"").decode("utf-8", "surrogatepass")

    return StagedFile(
        get("name") or Path(path).name, get("file_hash"), int(get("rows") or 0), Path(path)
    )


# -- writing -------------------------------------------------------------------------------


def _known_file(store: Any, digest: str) -> bool:
    return bool(store.scalar("SELECT count(*) FROM ingested_files WHERE file_hash = ?", [digest]))


_TICKET_COLUMNS = (
    "ticket_key, source_id, customer_id, created_at, channel, category, "
    "priority, subject, text, resolution_minutes, resolved_by"
)
_WIDTH_COLUMNS = ("text", "subject", "source_id", "customer_id", "channel", "category", "priority")


def _insert_sql(relation: str) -> str:
    """``INSERT INTO tickets`` of every row of ``relation`` (alias ``k``, keyed), whose one
    parameter is the source name. A plain scan, so DuckDB runs it as a batch insert that
    writes each full row group to the file (:data:`data.store.ROW_GROUP_SIZE`) instead of
    holding the file's text in memory until the commit."""
    values = ", ".join(f"k.{c}" for c in _TICKET_COLUMNS.split(", "))
    return (
        f"INSERT INTO tickets ({_TICKET_COLUMNS}, source)"  # noqa: S608 - fixed expression; values are parameters
        f" SELECT {values}, ? FROM {relation} AS k"
    )


#: Rows wider than this (bytes of text and fields) are inserted by one DuckDB thread: each
#: thread of a parallel insert fills its own row groups of 2,048 rows, so memory grew with
#: the thread count (1 GB of 99,000-character rows: 0.5 GB on one thread, 0.7 GB on two,
#: 1.6 GB on sixteen); short rows keep the parallel insert.
WIDE_ROW_BYTES = 8 * 1024


@contextlib.contextmanager
def _one_thread(store: Any, wide: bool) -> Iterator[None]:
    """DuckDB on one thread inside (when ``wide``), its thread count restored after.

    Set through a reading cursor of its own: the writer's transaction may be aborted by then
    (a failed insert), and DuckDB refuses any statement in it until the rollback. The
    setting is the whole instance's: in the app, queries running meanwhile use one thread
    too, for the seconds the insert takes.
    """
    if not wide:
        yield
        return
    cursor = store.cursor()
    try:
        threads = int(cursor.execute("SELECT current_setting('threads')").fetchone()[0])
        cursor.execute("SET threads = 1")
        try:
            yield
        finally:
            cursor.execute("SET threads = ?", [threads])
    finally:
        cursor.close()


def commit_staged(store: Any, staged: StagedFile) -> IngestReport:
    """Insert a staged file's new tickets and record the file, in one transaction.

    The insert is a plain scan of the staged file, which DuckDB writes to the database row
    group by row group (:data:`data.store.ROW_GROUP_SIZE`), on one thread for wide rows
    (:data:`WIDE_ROW_BYTES`). When some of the file's tickets are in the store already, or
    repeated inside it, the new ones are first copied into a second staging file beside
    the first: a join in front of the insert made DuckDB hold every inserted row until the
    commit (1.3 GB for 1 GB of text).
    """
    parquet = str(staged.path)
    key = ticket_key_sql("s")
    keyed = f"(SELECT {key} AS ticket_key, s.* FROM read_parquet(?) AS s)"  # noqa: S608
    only_new = staged.path.with_name(f"{staged.path.stem}-new.parquet")
    width = " + ".join(f"coalesce(strlen(s.{c}), 0)" for c in _WIDTH_COLUMNS)

    def write(conn: Any) -> tuple[int, bool]:
        if conn.execute(
            "SELECT count(*) FROM ingested_files WHERE file_hash = ?", [staged.file_hash]
        ).fetchone()[0]:
            return 0, True
        before = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
        keys = (
            f"(SELECT {key} AS ticket_key, {width} AS width"  # noqa: S608 - fixed expression
            f" FROM read_parquet(?) AS s)"
        )
        repeated, present, widest = conn.execute(
            f"SELECT count(*) - count(DISTINCT k.ticket_key),"  # noqa: S608 - fixed expression
            f" count(*) FILTER (WHERE k.ticket_key IN (SELECT ticket_key FROM tickets)),"
            f" coalesce(max(k.width), 0) FROM {keys} AS k",
            [parquet],
        ).fetchone()
        # the roll-ups follow the file's tickets (data.rollups), in this transaction
        file_keys = f"SELECT {key} AS ticket_key FROM read_parquet(?) AS s"  # noqa: S608 - fixed expression
        with (
            rollups.maintained(conn, file_keys, [parquet], parts=(rollups.TICKETS, rollups.TAGS)),
            _one_thread(store, widest > WIDE_ROW_BYTES),
        ):
            if not repeated and not present:
                conn.execute(_insert_sql(keyed), [staged.name, parquet])
            else:
                # Rows repeated inside the file: keep the first of each key.
                first_only = (
                    f" WHERE k.row IN (SELECT min(row) FROM {keyed}"  # noqa: S608
                    f" GROUP BY ticket_key)"
                    if repeated
                    else ""
                )
                conn.execute(
                    f"COPY (SELECT k.* FROM {keyed} AS k ANTI JOIN tickets AS t"  # noqa: S608
                    f" ON t.ticket_key = k.ticket_key{first_only}) TO ?"
                    f" (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE_BYTES '16MB')",
                    [parquet] + ([parquet] if repeated else []) + [str(only_new)],
                )
                conn.execute(_insert_sql("read_parquet(?)"), [staged.name, str(only_new)])
        new = conn.execute("SELECT count(*) FROM tickets").fetchone()[0] - before
        conn.execute(
            "INSERT INTO ingested_files (file_hash, file_name, rows, new_tickets)"
            " VALUES (?, ?, ?, ?)",
            [staged.file_hash, staged.name, staged.rows, new],
        )
        return int(new), False

    try:
        new, known = store.write(write)
    finally:
        only_new.unlink(missing_ok=True)
    return IngestReport(
        file=staged.name,
        status="imported" if new else "unchanged",
        rows=staged.rows,
        new_tickets=new,
        duplicates=0 if known else staged.rows - new,
        already_ingested=known,
        file_hash=staged.file_hash,
        columns=staged.columns,
        ignored_columns=staged.ignored_columns,
    )


def _rejected(name: str, error: IngestError, digest: str = "") -> IngestReport:
    return IngestReport(
        file=name, status="rejected", problems=list(error.problems), error=error, file_hash=digest
    )


_OUT_OF_SPACE = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def _is_out_of_space(exc: OSError) -> bool:
    """Whether ``exc`` says the disk is full or a file size limit was reached (Arrow puts the
    errno only in its message)."""
    if exc.errno in _OUT_OF_SPACE:
        return True
    text = str(exc)
    return any(f"[errno {code}]" in text for code in _OUT_OF_SPACE)


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def staging_dir_for(store: Any) -> Path | None:
    """The store's staging folder ``<db>.staging`` (created), or None (the temp folder) for
    a store without a file path, or when ``<db>.staging`` is a symbolic link."""
    path = getattr(store, "path", None)
    if not isinstance(path, str | os.PathLike) or str(path) in ("", ":memory:"):
        return None
    folder = staging_dir_of(Path(path))
    if folder.is_symlink():
        # Not followed: whoever can write beside the database could point it anywhere (and
        # the sweep of leftovers would then delete there). Stage in the temp folder instead.
        return None
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def ingest_one(
    store: Any, source: Any, *, limits: IngestLimits | None = None, name: str | None = None
) -> IngestReport:
    """Ingest one file (see :func:`ingest_files`)."""
    name = name or source_name(source)
    payload = _payload(source)
    try:
        digest = _hash_source(payload)
    except OSError as exc:
        return _rejected(name, IngestError(name, [Problem(f"cannot read the file ({exc})")]))
    if _known_file(store, digest):
        return IngestReport(file=name, status="unchanged", already_ingested=True, file_hash=digest)
    try:
        staged = stage_file(
            payload, name=name, limits=limits, file_hash=digest, staging_dir=staging_dir_for(store)
        )
    except IngestError as exc:
        return _rejected(name, exc, digest)
    except OSError as exc:
        if _is_out_of_space(exc) and isinstance(getattr(store, "path", None), Path):
            # The staging copy lives beside the database: a full disk there is a failed write
            # to the database, and nothing of the file was committed.
            raise StoreWriteError(store.path, _first_line(exc)) from exc
        raise
    try:
        return commit_staged(store, staged)
    finally:
        staged.path.unlink(missing_ok=True)


def ingest_files(
    store: Any, sources: Sequence[Any] | Any, *, limits: IngestLimits | None = None
) -> list[IngestReport]:
    """Validate and ingest ticket files, each all or nothing.

    Args:
        store: a writable :class:`data.store.Store`.
        sources: paths, Streamlit UploadedFiles (anything with ``name`` and ``read``), bytes
            or ``(name, file-like)`` tuples; a single source is accepted too.
        limits: size, row and field limits (reported in rejection messages); default
            :data:`DEFAULT_LIMITS` changed by the environment (:func:`limits_from_env`).

    Returns:
        One :class:`IngestReport` per file, in order. A rejected file has ``status ==
        "rejected"`` and its problems; nothing of it was written.
    """
    if isinstance(sources, str | os.PathLike | bytes | io.IOBase | tuple) or hasattr(
        sources, "read"
    ):
        sources = [sources]
    limits = limits if limits is not None else limits_from_env()
    return [ingest_one(store, source, limits=limits) for source in sources]
