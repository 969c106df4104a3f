"""Opening an uploaded table: the source, gzip, the byte limit, the encoding and the format.

Shared by the format readers of this package; nothing here reads rows.
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import shutil
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import IO, Any

from data.errors import Problem

MAX_PROBLEMS = 20
DEFAULT_MAX_BYTES = 2 * 1024**3  # decompressed bytes read at most (zip-bomb guard)
DEFAULT_CHUNK_BYTES = 16 * 1024**2  # decoded bytes per chunk at most (memory, not a limit)
SUPPORTED_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".jsonl", ".ndjson", ".parquet", ".pq")
BLOCK_SIZE = 2 * 1024 * 1024  # pyarrow CSV block: the longest row it can parse (and memory)
_HEAD = 64 * 1024
HEADER_LIMIT = 1024 * 1024
BYTES_HINT = "IngestLimits.max_bytes; set PRICEWAR_MAX_UPLOAD_BYTES to change it"
COLUMNS_HINT = "IngestLimits.max_columns; set PRICEWAR_MAX_UPLOAD_COLUMNS to change it"
PARQUET_BUFFER = 1 << 20  # Parquet column chunks are read through a buffer of this size

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
class Opened:
    stream: IO[bytes]
    encoding: str  # "utf-8" or "utf-16"
    fmt: str  # "csv" | "tsv" | "jsonl" | "parquet"
    raw: IO[bytes] | None = None  # the seekable undecompressed source, when not gzipped
    max_bytes: int = DEFAULT_MAX_BYTES
    counter: _LimitedReader | None = None  # bytes and quote characters read so far
    max_columns: int | None = None
    chunk_bytes: int = DEFAULT_CHUNK_BYTES
    select: Callable[[list[str]], list[str]] | None = None  # Parquet: the columns to read


class Reject(Exception):
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
            raise Reject(
                Problem(
                    f"the file is larger than the limit of {self._limit:,} bytes "
                    f"(after decompression; {BYTES_HINT})"
                )
            )
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
    by_suffix = {
        ".csv": "csv",
        ".tsv": "tsv",
        ".tab": "tsv",
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".json": "jsonl",
        ".parquet": "parquet",
        ".pq": "parquet",
    }
    if suffix in by_suffix:
        return by_suffix[suffix]
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        return "jsonl"
    first_line = text.split(b"\n", 1)[0]
    return "tsv" if first_line.count(b"\t") > first_line.count(b",") else "csv"


def open_source(source: Any, stack: ExitStack) -> IO[bytes]:
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
    """Return the text encoding of ``head`` or raise ``Reject`` for binary content."""
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)) and head[:4] in (
        codecs.BOM_UTF32_LE,
        codecs.BOM_UTF32_BE,
    ):
        raise Reject(Problem("the file is UTF-32 encoded; save it as UTF-8"))
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    for magic, what in _MAGIC_NAMES:
        if head.startswith(magic):
            raise Reject(Problem(f"binary content, not a text table: this looks like {what}"))
    if b"\x00" in head:
        sample = head[:4096]
        half = len(sample) / 2
        even = sample[0::2].count(0)
        odd = sample[1::2].count(0)
        # UTF-16 text has its NUL bytes on one side of each pair (the high byte of ASCII);
        # NUL bytes on both sides are padding or binary content.
        if max(even, odd) > 0.3 * half and min(even, odd) < 0.05 * half:
            raise Reject(
                Problem(
                    "the file looks like UTF-16 text without a byte-order mark; "
                    "save it as UTF-8 (or UTF-16 with BOM)"
                )
            )
        if min(even, odd) >= 0.05 * half:
            raise Reject(
                Problem(
                    f"the file contains {head.count(0):,} NUL bytes in its first "
                    f"{len(head):,} bytes: binary content or padding, not a text table"
                )
            )
    controls = sum(head.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13))
    if controls > 4 and controls > 0.05 * len(head):
        raise Reject(Problem("binary content: this is not a text table"))
    return "utf-8"


def open_table(
    raw: IO[bytes],
    name: str,
    stack: ExitStack,
    max_bytes: int,
    max_columns: int | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> Opened:
    raw.seek(0)
    magic = raw.read(4)
    raw.seek(0)
    if not magic:
        raise Reject(Problem("the file is empty"))
    stream: IO[bytes] = raw
    gz = magic[:2] == b"\x1f\x8b"
    if gz:
        stream = stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb"))
    counter = _LimitedReader(stream, max_bytes)
    limited = io.BufferedReader(counter, buffer_size=1 << 20)
    try:
        head = limited.peek(_HEAD)[:_HEAD]
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise Reject(Problem(f"the gzip data is damaged ({exc})")) from None
    if not head.strip(b" \t\r\n\x00"):
        raise Reject(Problem("the file is empty"))
    fmt = detect_format(name, head)
    if fmt == "parquet":
        if not head.startswith(b"PAR1"):
            raise Reject(Problem("not a Parquet file (it does not start with PAR1)"))
        return Opened(
            limited,
            "binary",
            fmt,
            None if gz else raw,
            max_bytes,
            max_columns=max_columns,
            chunk_bytes=chunk_bytes,
        )
    encoding = _classify_head(head)
    if encoding == "utf-8-sig":
        limited.read(len(codecs.BOM_UTF8))
        encoding = "utf-8"
    return Opened(
        limited,
        encoding,
        fmt,
        max_bytes=max_bytes,
        counter=counter,
        max_columns=max_columns,
        chunk_bytes=chunk_bytes,
    )


def too_many_columns(
    count: int, max_columns: int | None, *, at_least: bool = False
) -> Problem | None:
    """The problem of a file with more than ``max_columns`` columns (None if within)."""
    if max_columns is None or count <= max_columns:
        return None
    return Problem(
        f"{'more than ' if at_least else ''}{count:,} columns, over the limit of "
        f"{max_columns:,} ({COLUMNS_HINT})"
    )


def check_names(names: list[str]) -> list[Problem]:
    problems = []
    seen: dict[str, int] = {}
    for i, col in enumerate(names, start=1):
        key = col.strip().lower()
        if not key:
            problems.append(Problem(f"column {i} of the header has no name"))
        elif key in seen:
            problems.append(Problem(f"duplicate column name (also column {seen[key]})", column=col))
        else:
            seen[key] = i
    return problems
