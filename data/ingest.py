"""Ingest uploaded ticket files: validate everything first, then write all or nothing.

Each file goes through two steps:

1. :func:`data.staging.stage_file` validates the file and writes its normalised rows to a
   staging Parquet file (:mod:`data.staging`); any problem rejects the file, and nothing is
   written to the store.
2. :func:`commit_staged` computes each staged row's :func:`data.keys.ticket_key`, inserts
   the rows whose key is not in the store yet, and records the file's hash in
   ``ingested_files``, in one transaction.

Uploading the same file again adds nothing (its hash is known); overlapping files add only
the new tickets.

Example:
    >>> reports = ingest_files(store, ["tickets.csv", "more.jsonl.gz"])  # doctest: +SKIP
    >>> [r.message for r in reports]                                    # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from data import rollup_upkeep
from data.errors import IngestError, Problem, StoreWriteError
from data.keys import ticket_key_sql
from data.limits import IngestLimits, limits_from_env
from data.paths import staging_dir_of
from data.staging import (
    StagedFile,
    check_file_name,
    hash_source,
    source_name,
    source_payload,
    stage_file,
)

__all__ = [
    "IngestReport",
    "already_ingested",
    "commit_staged",
    "ingest_files",
    "staging_dir_for",
]


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
    payload = source_payload(source)
    try:
        digest = hash_source(payload)
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
