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
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from data import rollup_upkeep
from data.columns import ColumnMap, map_columns
from data.errors import IngestError, Problem, StoreWriteError
from data.keys import ticket_key_sql
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
from data.paths import STAGING_PREFIX, staging_dir_of
from data.readers import read_table_chunks

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "IngestReport",
    "StagedFile",
    "already_ingested",
    "check_file_name",
    "commit_staged",
    "ingest_files",
    "source_name",
    "stage_file",
    "staging_dir_for",
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


def _digest(payload: Any, name: str, file_hash: str | None) -> str:
    """``file_hash``, or the SHA-256 of ``payload``; a file that cannot be read is refused."""
    try:
        return file_hash or _hash_source(payload)
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
    payload = _payload(source)
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


# -- writing -------------------------------------------------------------------------------


def already_ingested(store: Any, digest: str) -> bool:
    """Whether a file of content hash ``digest`` was ingested before (recorded in
    ``ingested_files``; its rows are in the store)."""
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
        if rollup_upkeep.look_up_keys(before, staged.rows):  # by the tickets' primary key: no scan
            listed = f"SELECT k.ticket_key, k.width FROM {keys} AS k"  # noqa: S608 - fixed expression
            found = conn.execute(listed, [parquet]).fetchall()
            distinct = sorted({k for k, _ in found})
            stored = rollup_upkeep.stored_keys(conn, "tickets", distinct)
            repeated = len(found) - len(distinct)
            present = sum(k in stored for k, _ in found)
            widest = max((int(w) for _, w in found), default=0)
        else:  # a scan of every ticket's key
            repeated, present, widest = conn.execute(
                f"SELECT count(*) - count(DISTINCT k.ticket_key),"  # noqa: S608 - fixed expression
                f" count(*) FILTER (WHERE k.ticket_key IN (SELECT ticket_key FROM tickets)),"
                f" coalesce(max(k.width), 0) FROM {keys} AS k",
                [parquet],
            ).fetchone()
        # the roll-ups follow the file's new tickets, in this transaction (the block only
        # inserts tickets: data.rollup_upkeep.inserted_tickets merges their counts, nothing
        # else)
        file_keys = f"SELECT {key} AS ticket_key FROM read_parquet(?) AS s"  # noqa: S608 - fixed expression
        with (
            rollup_upkeep.inserted_tickets(conn, file_keys, [parquet]),
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
    try:
        check_file_name(name)
    except IngestError as exc:
        return _rejected(exc.file, exc)
    payload = _payload(source)
    try:
        digest = _hash_source(payload)
    except OSError as exc:
        return _rejected(name, IngestError(name, [Problem(f"cannot read the file ({exc})")]))
    if already_ingested(store, digest):
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
