"""Normalising a chunk of an uploaded file into the staged row shape (:data:`STAGED_SCHEMA`).

Every value is checked and converted column by column, vectorised with Arrow: text (required
``text``, optional id, customer, channel, category, priority, subject) with its length limits,
dates (text or typed, 1990–2100), resolution minutes and who resolved the ticket. Problems are
collected with their row and column (:class:`ProblemCollector`, at most
:data:`data.readers.MAX_PROBLEMS`); the caller rejects the file when there is any. Used by
:mod:`data.staging` (uploads, the inbox) and :mod:`data.keyed_tickets` (tagging outside the
store), so both read a file the same way.

Example:
    >>> import pandas as pd
    >>> from data.columns import map_columns
    >>> from data.limits import DEFAULT_LIMITS
    >>> out = ProblemCollector()
    >>> table = normalise_chunk(pd.DataFrame({"text": ["Refund please", " "]}),
    ...                        map_columns(["text"]), 1, DEFAULT_LIMITS, out)
    >>> table.num_rows, [(p.row, p.column, p.message) for p in out.problems]
    (2, [(2, 'text', 'empty text')])
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data.columns import ALIASES, ColumnMap, map_columns
from data.errors import Problem
from data.limits import IngestLimits, limit_hint
from data.readers import MAX_PROBLEMS

__all__ = [
    "DATE_RANGE",
    "MAX_DATE",
    "MIN_DATE",
    "OPTIONAL_TEXT",
    "STAGED_SCHEMA",
    "ProblemCollector",
    "latest_accepted_date",
    "mapped_columns",
    "missing_text_problem",
    "normalise_chunk",
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
OPTIONAL_TEXT = {
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
MIN_DATE = pd.Timestamp("1990-01-01")
MAX_DATE = pd.Timestamp("2100-01-01")
DATE_RANGE = "1990–2100"

BLANK_TEXT = r"^[\p{Cf}\p{Cc}\p{Z}]*$"
"""A text ingest refuses as empty (RE2, for ``pyarrow.compute``): nothing but white space
(Unicode separators Z, and the ASCII ones, which are control characters), invisible format
characters (zero-width space, word joiner, soft hyphen, bidi marks: Unicode category Cf) and
control characters (Cc: the DOS end-of-file mark Ctrl-Z that old exports end with, ESC, BEL),
which show as an empty ticket (a trailing Ctrl-Z was a ticket of its own)."""
_BLANK_CATEGORIES = ("Cf", "Cc", "Zs", "Zl", "Zp")


def is_blank_text(text: str) -> bool:
    """Whether ingest refuses ``text`` as empty: :data:`BLANK_TEXT` for one Python string
    (for paths that judge texts one at a time, such as tagging a file).

    Example:
        >>> is_blank_text(" \\u200b\\u00ad\\x1a"), is_blank_text("a\\u200b")
        (True, False)
    """
    return all(unicodedata.category(c) in _BLANK_CATEGORIES for c in text)


class ProblemCollector:
    """The problems found so far (row, column, message), at most ``MAX_PROBLEMS``."""

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
    out: ProblemCollector,
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
    # A match gives booleans: no copy of the text is made.
    blank = pc.fill_null(pc.match_substring_regex(arr, BLANK_TEXT), True)
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
                f"of {limit:,} ({limit_hint(limit_name)})",
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
                    f"{byte_limit:,} ({limit_hint('max_text_bytes')})",
                )
    if required:
        return arr
    return pc.if_else(blank, pa.scalar(None, pa.string()), pc.utf8_trim_whitespace(arr))


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
    return min(MAX_DATE, tomorrow)


def _dates_in_range(
    parsed: pd.Series, column: str, rows: np.ndarray, out: ProblemCollector
) -> pd.Series:
    """``parsed`` (timezone-naive UTC, any unit) with every date outside :data:`DATE_RANGE`
    or after :func:`latest_accepted_date` reported by row and column, then cleared (so no
    unit conversion can overflow)."""
    present = parsed.notna()
    outside = (present & ((parsed < MIN_DATE) | (parsed > MAX_DATE))).to_numpy()
    if outside.any():
        out.add_rows(rows[np.nonzero(outside)[0]], column, f"date outside {DATE_RANGE}")
    latest = latest_accepted_date()
    future = (present & (parsed >= latest)).to_numpy() & ~outside
    if future.any():
        day = (latest - pd.Timedelta(days=1)).date().isoformat()
        out.add_rows(rows[np.nonzero(future)[0]], column, f"date in the future (after {day}, UTC)")
    if outside.any() or future.any():
        parsed = parsed.mask(outside | future)
    return parsed


def _as_timestamps(
    series: pd.Series, column: str, rows: np.ndarray, out: ProblemCollector
) -> pd.Series:
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
# A year (four digits not inside a longer number or after a decimal point: the fraction of
# "10:30:00.1234" is no year) or a day/month/year pattern.
_HAS_DATE = re.compile(r"(?<![.,:\d])\d{4}|\d{1,2}[/.\-]\d{1,2}[/.\-]\d{1,4}")


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


def _as_minutes(
    series: pd.Series, column: str, rows: np.ndarray, out: ProblemCollector
) -> pd.Series:
    values = pd.to_numeric(series, errors="coerce")
    given = series.astype(object).map(lambda v: v is not None and str(v).strip() not in ("", "nan"))
    # "1e309", "inf", "Infinity" read as infinity: not a duration
    bad = (given & values.isna()) | (values < 0) | values.isin([np.inf, -np.inf])
    out.add_rows(
        rows[np.nonzero(bad.to_numpy())[0]], column, "must be a non-negative number of minutes"
    )
    return values.astype("float64")


def _as_resolver(
    series: pd.Series, column: str, rows: np.ndarray, out: ProblemCollector
) -> pd.Series:
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


def normalise_chunk(
    chunk: pd.DataFrame,
    cmap: ColumnMap,
    first_row: int,
    limits: IngestLimits,
    out: ProblemCollector,
) -> pa.Table:
    """``chunk`` (rows from ``first_row``, 1-based, unless the reader numbered them) as a
    table of :data:`STAGED_SCHEMA`; its problems go to ``out``."""
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
    for name, target in OPTIONAL_TEXT.items():
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


def missing_text_problem(columns: list[str]) -> Problem:
    """The problem of a file without any column :mod:`data.columns` reads as the text."""
    shown = ", ".join(repr(c) for c in columns[:15])
    accepted = ", ".join(ALIASES["text"][:8])
    return Problem(
        f"no text column: expected one of {accepted} … (case-insensitive); the file has {shown}"
    )


def mapped_columns(names: list[str]) -> list[str]:
    """The columns of a file that ingest reads (the others are ignored, never decoded)."""
    return list(map_columns([str(n) for n in names]).fields.values())
