"""Stage an uploaded ticket file: validate it whole and write it, normalised, to Parquet.

:func:`stage_file` streams the file (:func:`data.readers.read_table_chunks`), maps its
columns (:mod:`data.columns`), checks every value (:mod:`data.normalise`), and writes the
normalised rows to a staging Parquet file, never holding the whole file in memory. Up to 20
problems are reported with row and column; any problem rejects the file, and its staging
file is deleted. Nothing here touches the store: committing a staged file is
:mod:`data.ingest`'s (:func:`data.ingest.commit_staged`), so a file is checked in full before
anything of it is written. The staged Parquet, with the file's name, hash, rows and column map
in its metadata, is also what a command-line job hands to a running dashboard through the
inbox (:mod:`data.inbox`), which stages it again with the same checks.

Example:
    >>> staged = stage_file("tickets.csv", staging_dir=folder)  # doctest: +SKIP
    >>> staged.rows, staged.columns                             # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from data.columns import ColumnMap, map_columns
from data.errors import IngestError, Problem
from data.limits import (
    MAX_FILE_NAME_CHARS,
    IngestLimits,
    limit_hint,
    limits_from_env,
)
from data.normalise import (
    STAGED_SCHEMA,
    ProblemCollector,
    mapped_columns,
    missing_text_problem,
    normalise_chunk,
)
from data.paths import STAGING_PREFIX
from data.readers import read_table_chunks

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "StagedFile",
    "check_file_name",
    "hash_source",
    "source_name",
    "source_payload",
    "stage_file",
]

_META_PREFIX = b"pricewar."


@dataclass
class StagedFile:
    """A validated file, its rows normalised into a Parquet file at ``path``."""

    name: str
    file_hash: str
    rows: int
    path: Path
    columns: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)


def source_name(source: Any) -> str:
    """The display name of a source: a path's file name, an upload's ``name``; bytes of a
    file name that are not UTF-8 (and any lone surrogate) shown as U+FFFD, since the name
    is stored and printed as text.

    Example:
        >>> source_name("/tmp/bad\\udcff.csv")
        'bad�.csv'
    """
    if isinstance(source, tuple):
        name = str(source[0])
    elif isinstance(source, str | os.PathLike):
        name = Path(source).name
    else:
        name = Path(str(getattr(source, "name", "") or "upload")).name
    return _printable_text(name)


def check_file_name(name: str) -> None:
    """Refuse a file name longer than :data:`data.limits.MAX_FILE_NAME_CHARS`; the
    rejection names the file by its first characters.

    Raises:
        IngestError: the name is too long.
    """
    if len(name) > MAX_FILE_NAME_CHARS:
        raise IngestError(
            f"{name[:60]}… ({len(name):,} characters)",
            [
                Problem(
                    f"the file name is {len(name):,} characters long, over the limit of "
                    f"{MAX_FILE_NAME_CHARS} (the longest name a file system allows); "
                    "rename the file"
                )
            ],
        )


def _printable_text(name: str) -> str:
    try:
        raw = name.encode("utf-8", "surrogateescape")  # the file system's own bytes
    except UnicodeEncodeError:
        raw = name.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "replace")


def source_payload(source: Any) -> Any:
    """The file of ``source``: a path, bytes or a file-like (a ``(name, file)`` pair's file)."""
    return source[1] if isinstance(source, tuple) else source


def hash_source(source: Any) -> str:
    """SHA-256 (hex) of the bytes of ``source`` (a path, bytes or a file-like)."""
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


def _digest(payload: Any, name: str, file_hash: str | None) -> str:
    """``file_hash``, or the SHA-256 of ``payload``; a file that cannot be read is refused."""
    try:
        return file_hash or hash_source(payload)
    except OSError as exc:
        raise IngestError(
            name, [Problem(f"cannot read the file ({exc.strerror or exc})")]
        ) from None


def _staging_path(staging_dir: Path | None) -> Path:
    """A new empty staging file named for this process, in ``staging_dir`` or the temp folder."""
    fd, tmp = tempfile.mkstemp(
        prefix=f"{STAGING_PREFIX}{os.getpid()}-",
        suffix=".parquet",
        dir=str(staging_dir) if staging_dir else None,
    )
    os.close(fd)
    return Path(tmp)


def _column_map(chunk: pd.DataFrame, name: str, limits: IngestLimits) -> ColumnMap:
    """The first chunk's columns mapped to fields; too many columns or no text is refused."""
    # Parquet reads only the mapped columns (``select``) and lists them all here.
    columns = [str(c) for c in chunk.attrs.get("columns", chunk.columns)]
    if len(columns) > limits.max_columns:
        raise IngestError(
            name,
            [
                Problem(
                    f"{len(columns)} columns, over the limit of {limits.max_columns} "
                    f"({limit_hint('max_columns')})"
                )
            ],
        )
    cmap = map_columns(columns)
    if not cmap.has_text:
        raise IngestError(name, [missing_text_problem(columns)])
    return cmap


def _fill_missing(chunk: pd.DataFrame, cmap: ColumnMap) -> None:
    """Give a later chunk the mapped columns it lacks, empty (JSONL: a chunk without that key)."""
    for col in cmap.fields.values():
        if col not in chunk.columns:
            chunk[col] = None


def _staged_metadata(name: str, digest: str, rows: int, cmap: ColumnMap) -> dict[bytes, bytes]:
    """The staging file's key-value metadata: the file's name, hash, rows and column map."""
    return {
        _META_PREFIX + b"name": name.encode("utf-8", "surrogatepass"),
        _META_PREFIX + b"file_hash": digest.encode(),
        _META_PREFIX + b"rows": str(rows).encode(),
        _META_PREFIX + b"columns": repr(sorted(cmap.fields.items())).encode(
            "utf-8", "surrogatepass"
        ),
    }


class _StagingFile:
    """The staging Parquet file at ``path``; its writer opens with the first rows written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writer: pq.ParquetWriter | None = None

    def write(self, table: pa.Table) -> None:
        """Append ``table`` to the file, opening its writer first."""
        if self.writer is None:
            self.writer = pq.ParquetWriter(str(self.path), STAGED_SCHEMA, compression="zstd")
        self.writer.write_table(table)

    def finish(self, name: str, digest: str, rows: int, cmap: ColumnMap) -> None:
        """Close the file with its metadata (:func:`_staged_metadata`), if it was opened."""
        if self.writer is not None:
            self.writer.add_key_value_metadata(_staged_metadata(name, digest, rows, cmap))
            self.writer.close()
            self.writer = None

    def discard(self) -> None:
        """Close the writer if open, a failure to close ignored, and delete the file."""
        if self.writer is not None:
            with contextlib.suppress(OSError):  # closing flushes: it fails on a full disk too
                self.writer.close()
        self.path.unlink(missing_ok=True)


def _stage_chunks(
    payload: Any, name: str, limits: IngestLimits, out: ProblemCollector, staged: _StagingFile
) -> tuple[ColumnMap | None, int]:
    """Read, check and stage the chunks (problems into ``out``); the column map and rows read."""
    rows = 0
    cmap: ColumnMap | None = None
    for chunk in read_table_chunks(
        payload,
        name=name,
        chunksize=limits.chunksize,
        max_bytes=limits.max_bytes,
        max_columns=limits.max_columns,
        chunk_bytes=limits.chunk_bytes,
        select=mapped_columns,
    ):
        if cmap is None:
            cmap = _column_map(chunk, name, limits)
        else:
            _fill_missing(chunk, cmap)
        if rows + len(chunk) > limits.max_rows:
            out.problems.append(
                Problem(
                    f"more than {limits.max_rows:,} rows, over the limit "
                    f"({limit_hint('max_rows')})",
                    row=limits.max_rows + 1,
                )
            )
            break
        table = normalise_chunk(chunk.reset_index(drop=True), cmap, rows + 1, limits, out)
        rows += len(chunk)
        if out.full:
            break
        if not out.problems:
            staged.write(table)
    return cmap, rows


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
    check_file_name(name)  # stored with every ticket of the file
    limits = limits if limits is not None else limits_from_env()
    payload = source_payload(source)
    digest = _digest(payload, name, file_hash)
    staged = _StagingFile(_staging_path(staging_dir))
    out = ProblemCollector()
    try:
        cmap, rows = _stage_chunks(payload, name, limits, out, staged)
        if out.problems:
            raise IngestError(name, out.problems)
        if cmap is None or rows == 0:
            raise IngestError(name, [Problem("the file has no data rows")])
        staged.finish(name, digest, rows, cmap)
        return StagedFile(name, digest, rows, staged.path, dict(cmap.fields), list(cmap.ignored))
    except BaseException:
        staged.discard()
        raise
    finally:
        # Arrow's allocator keeps what the chunks used; hand it back before DuckDB's insert
        # needs its own (about 120 MiB less at the peak of a 1 GB file).
        pa.default_memory_pool().release_unused()
