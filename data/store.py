"""The DuckDB store: one file, one writer thread, readers on their own cursors.

DuckDB lets one process write a database file at a time, and inside that process a
connection must not be shared between threads. ``Store`` therefore owns one connection,
gives every write to a single writer thread through a queue (as datasette's
``Database._execute_writes`` does), and serves reads from fresh cursors, which are safe to
use from any thread.

Example:
    >>> with Store.open("var/demo.duckdb") as store:          # doctest: +SKIP
    ...     store.execute_write("DELETE FROM scenarios WHERE name = ?", ["old"])
    ...     store.query("SELECT count(*) AS n FROM tickets")
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import re
import stat
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd

from data.db_file import StorePathError, check_db_file, check_db_path
from data.errors import StoreCorruptError, StoreLockedError, StoreWriteError
from data.migrations import LATEST_VERSION, MIGRATIONS
from data.paths import default_db_path, sweep_staging

T = TypeVar("T")
_STOP = object()


#: Rows per row group of the attached database file. DuckDB writes a transaction's rows to
#: the file as soon as a row group is full (its "optimistic write"), and otherwise keeps them
#: in memory until the commit, which then copies them in 2,048-row vectors: with the default
#: 122,880 rows, ingesting 10,800 tickets of 99,000 characters (1 GB of text) peaked at
#: 3.1 GB; with 2,048 rows (the smallest DuckDB allows) it stays near one vector.
ROW_GROUP_SIZE = 2048
#: The name the database file is attached under (the default catalog of every cursor).
CATALOG = "pricewar"


def temp_dir_of(db_path: Path) -> Path:
    """Folder where DuckDB spills what does not fit in memory: ``<db>.tmp`` beside the file
    (set explicitly: the in-memory instance the file is attached to would use ``.tmp`` in
    the working directory)."""
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".tmp")


def sweep_temp(db_path: Path) -> list[Path]:
    """Remove DuckDB's spill files left in ``<db>.tmp`` by a process killed while it held
    the database; return them. Only call it while holding the file for writing (no other
    process can be using the folder then). Links and folders inside are left alone."""
    folder = temp_dir_of(db_path)
    removed: list[Path] = []
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return removed
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        try:
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _instance_name(path: Path, read_only: bool) -> str:
    """The name of the in-memory DuckDB instance that holds ``path`` in this process: the
    same for every :class:`Store` of one file and mode, so they share one instance (and one
    lock), as ``duckdb.connect(path)`` did."""
    digest = hashlib.sha256(str(path).encode("utf-8", "surrogatepass")).hexdigest()[:24]
    return f":memory:pricewar-{digest}{'-ro' if read_only else ''}"


def connect(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open ``path`` with DuckDB, turning lock and corruption failures into clear errors.

    The file is attached (``ROW_GROUP_SIZE`` :data:`ROW_GROUP_SIZE`, so large inserts go to
    the file row group by row group instead of piling up in memory) to an in-memory
    instance shared by the process's connections to it, and made the default catalog;
    DuckDB spills to :func:`temp_dir_of` ``<db>.tmp``.

    Raises:
        StorePathError: the path contains ``?`` (see :func:`check_db_path`), or names a
            named pipe, device or socket (see :func:`check_db_file`).
        StoreCorruptError: the file is not a DuckDB database (a CSV file, say) or is
            damaged.
    """
    path = Path(path)
    check_db_path(path)
    check_db_file(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    absolute = Path(os.path.abspath(path))  # never read as a URL or an extension's prefix
    existed = os.path.lexists(absolute)
    conn = duckdb.connect(_instance_name(absolute, read_only))
    try:
        # TYPE duckdb: never a CSV, Parquet or JSON file attached as a view in memory
        # (whatever the file became after check_db_file looked at it)
        options = f"TYPE duckdb, ROW_GROUP_SIZE {ROW_GROUP_SIZE}" + (
            ", READ_ONLY" if read_only else ""
        )
        first = not conn.execute(
            "SELECT count(*) FROM duckdb_databases() WHERE database_name = ?", [CATALOG]
        ).fetchone()[0]
        conn.execute(f"ATTACH IF NOT EXISTS ? AS {CATALOG} ({options})", [str(absolute)])
        if first and not read_only:
            # This process now holds the file for writing, and no connection of it has
            # spilled yet: what is in ``<db>.tmp`` was left by a killed process.
            sweep_temp(absolute)
        conn.execute(f"USE {CATALOG}")
        conn.execute("DETACH DATABASE IF EXISTS memory")  # cursors then default to the file
        conn.execute("SET temp_directory = ?", [str(temp_dir_of(absolute))])
        # A bulk insert writes each full row group at once instead of buffering five
        # (with wide rows, five row groups were hundreds of MB).
        conn.execute("SET write_buffer_row_group_count = 1")
        return conn
    except duckdb.IOException as exc:
        conn.close()
        text = str(exc)
        low = text.lower()
        first = text.splitlines()[0] if text else type(exc).__name__
        if "could not set lock" in low or "conflicting lock" in low:
            raise StoreLockedError(path, _lock_holder(text)) from None
        if not existed:
            _remove_new_empty_file(absolute)  # else the next try meets "not a database"
        if any(w in low for w in _WRITE_FAILURES):
            # a full disk while a new file was set up: not a damaged file
            raise StoreWriteError(path, first) from None
        if any(w in low for w in _NOT_WRITABLE):
            raise StorePathError(
                path,
                (
                    f"it cannot be opened for writing ({first}). The file is fine: "
                    "commands that only read it (python -m data stats, python -m analytics) "
                    "work; to change it, copy it to a writable folder and point --db or "
                    "PRICEWAR_DB there"
                ),
            ) from None
        if "lock" in low:
            raise StoreLockedError(path, _lock_holder(text)) from None
        raise StoreCorruptError(path, first) from None
    except (
        duckdb.SerializationException,
        duckdb.InternalException,
        duckdb.InvalidInputException,
    ) as exc:
        conn.close()
        raise StoreCorruptError(path, str(exc).splitlines()[0]) from None
    except BaseException:
        conn.close()
        raise


_WRITE_FAILURES = (
    "could not write",
    "no space left",
    "file too large",
    "disk quota",
    "could not fsync",
    "could not truncate",
    "could not extend",
)
#: What DuckDB says when it may read a file but not write it (a read-only file system, a
#: file or folder without write permission).
_NOT_WRITABLE = ("read-only file system", "permission denied", "operation not permitted")


def _remove_new_empty_file(path: Path) -> None:
    """Remove the empty file (and WAL) DuckDB created at ``path`` before it failed to set
    it up (a full disk): what is left would be refused as "not a DuckDB database" by the
    next try, once there is room. Anything with content, or not a regular file, stays."""
    for leftover in (path, path.with_name(path.name + ".wal")):
        try:
            info = os.lstat(leftover)
            if stat.S_ISREG(info.st_mode) and info.st_size == 0:
                os.unlink(leftover)
        except OSError:
            continue


_DAMAGE = (
    "could not read enough bytes",
    "checksum",
    "corrupt",
    "not a valid duckdb",
    "failed to read",
    "invalid block",
)


def translate_error(path: Path, exc: BaseException) -> BaseException:
    """A DuckDB failure caused by the file itself as a :mod:`data.errors` exception.

    A full disk or a size limit becomes :class:`StoreWriteError`; a damaged file (found
    only when a damaged block is read) becomes :class:`StoreCorruptError`. Anything else
    is returned unchanged.
    """
    if not isinstance(
        exc,
        duckdb.IOException
        | duckdb.InternalException
        | duckdb.FatalException
        | duckdb.SerializationException
        | duckdb.TransactionException,
    ):
        return exc
    text = str(exc)
    low = text.lower()
    detail = text.splitlines()[0] if text else type(exc).__name__
    new: BaseException
    if any(w in low for w in _WRITE_FAILURES):
        new = StoreWriteError(path, detail)
    elif any(d in low for d in _DAMAGE):
        new = StoreCorruptError(path, detail)
    else:
        return exc
    new.__cause__ = exc
    return new


def _lock_holder(message: str) -> str:
    """Extract 'PID n' from DuckDB's lock message when present."""
    match = re.search(r"PID (\d+)", message)
    return f"held by PID {match.group(1)}" if match else ""


def lock_pid(exc: StoreLockedError) -> int | None:
    """The process id DuckDB named as the holder of the lock in ``exc``, when it did."""
    match = re.search(r"PID (\d+)", exc.detail or "")
    return int(match.group(1)) if match else None


def _database_file(conn: duckdb.DuckDBPyConnection) -> str:
    """The file of the connection's default catalog (for messages)."""
    row = conn.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    return str(row[0]) if row and row[0] else "the database"


def apply_migrations(conn: duckdb.DuckDBPyConnection) -> int:
    """Bring the schema to the latest version; return the version the file had before."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
    )
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    before = int(row[0]) if row else 0
    if before > LATEST_VERSION:
        raise StoreCorruptError(
            Path(_database_file(conn)),
            f"schema version {before} is newer than this program's {LATEST_VERSION}; upgrade",
        )
    for version in sorted(v for v in MIGRATIONS if v > before):
        conn.execute("BEGIN TRANSACTION")
        try:
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", [version])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return before


class Store:
    """A DuckDB database file with a single writer thread and thread-safe reads."""

    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._conn = connect(self.path, read_only=read_only)
        self._closed = False
        self._queue: queue.Queue[Any] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._writer_conn: duckdb.DuckDBPyConnection | None = None
        if not read_only:
            try:
                apply_migrations(self._conn)
                # This process now holds the file for writing: staging files of ingests
                # killed before they finished (their process is gone) are leftovers
                # (``connect`` has swept DuckDB's spill files).
                sweep_staging(self.path)
                self._writer = threading.Thread(
                    target=self._write_loop, name=f"duckdb-writer:{self.path.name}", daemon=True
                )
                self._writer.start()
            except BaseException:
                # Whatever failed after ``connect``: do not leave the file held.
                self._writer = None
                self._conn.close()
                raise

    @classmethod
    def open(cls, path: Path | str | None = None, *, read_only: bool = False) -> Store:
        """Open (creating and migrating if needed) the store at ``path`` or the default one."""
        return cls(Path(path) if path is not None else default_db_path(), read_only=read_only)

    # -- reads ---------------------------------------------------------------------------

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor for reading; close it when done (or use ``query``)."""
        self._check_open()
        return self._conn.cursor()

    @contextlib.contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read cursor for several statements, closed on exit; a damaged file or a full
        disk met on the way is raised as :func:`translate_error` names it (as ``query``)."""
        cur = self.cursor()
        try:
            yield cur
        except duckdb.Error as exc:
            raise translate_error(self.path, exc) from exc
        finally:
            cur.close()

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        """Run a read-only SQL statement with parameters and return a DataFrame."""
        cur = self.cursor()
        try:
            return cur.execute(sql, params).df()
        except duckdb.Error as exc:
            raise translate_error(self.path, exc) from exc
        finally:
            cur.close()

    def fetchall(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
    ) -> list[tuple]:
        """Run a read-only SQL statement with parameters and return its rows."""
        cur = self.cursor()
        try:
            return cur.execute(sql, params).fetchall()
        except duckdb.Error as exc:
            raise translate_error(self.path, exc) from exc
        finally:
            cur.close()

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        """The first column of the first row (None when there is no row)."""
        rows = self.fetchall(sql, params)
        return rows[0][0] if rows else None

    def table_counts(self) -> dict[str, int]:
        """Row count of every table in the main schema, by name."""
        names = [
            r[0]
            for r in self.fetchall(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY table_name"
            )
        ]
        return {name: int(self.scalar(f'SELECT count(*) FROM "{name}"')) for name in names}  # noqa: S608 - names come from the catalog

    # -- writes --------------------------------------------------------------------------

    def write(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``fn(conn)`` on the writer thread, in one transaction, and return its result.

        Exceptions raised by ``fn`` roll the transaction back and are re-raised here.
        """
        return self.submit(fn).result()

    def submit(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> Future[T]:
        """Queue ``fn(conn)`` for the writer thread, to run in one transaction, and return a
        future of its result (``python -m data`` waits on it with a progress line)."""
        self._check_open()
        if self.read_only:
            raise PermissionError(f"{self.path} was opened read-only")
        future: Future[T] = Future()
        if threading.current_thread() is self._writer and self._writer_conn is not None:
            # A write function that writes again: run it inside the current transaction
            # instead of queueing it behind itself (which would deadlock).
            try:
                future.set_result(fn(self._writer_conn))
            except BaseException as exc:
                future.set_exception(exc)
            return future
        self._queue.put((fn, future))
        return future

    def execute_write(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> None:
        """Run one parameterised write statement through the writer."""
        self.write(lambda conn: conn.execute(sql, params) and None)

    def _write_loop(self) -> None:
        conn = self._conn.cursor()
        self._writer_conn = conn
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    return
                fn, future = item
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    conn.execute("BEGIN TRANSACTION")
                    try:
                        result = fn(conn)
                    except BaseException:
                        conn.execute("ROLLBACK")
                        raise
                    conn.execute("COMMIT")
                except BaseException as exc:  # handed to the caller through the future
                    future.set_exception(translate_error(self.path, exc))
                else:
                    future.set_result(result)
        finally:
            conn.close()

    # -- lifecycle -----------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"store {self.path} is closed")

    def close(self) -> None:
        """Finish queued writes, stop the writer and close the file."""
        if self._closed:
            return
        if self._writer is not None:
            self._queue.put(_STOP)
            self._writer.join()
        self._closed = True
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
