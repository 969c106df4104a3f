"""Whether a path is a DuckDB database file we may open, looked at before DuckDB touches it.

DuckDB misreads some paths (``?``, a backslash, bytes that are not UTF-8, a name that is a
folder), waits for good on a named pipe, attaches a CSV, Parquet or JSON file as a database in
memory, and writes through a ``<db>.wal`` that is a link. :func:`check_db_file` refuses all of
these with a one-line :class:`StorePathError` (or ``StoreCorruptError``) naming the file.
:func:`data.store.connect` (so every ``Store``) calls it, and so do the command lines, the
app and :func:`data.bootstrap.ensure_demo_database` before they open or create anything.

This module imports neither DuckDB nor pandas (only ``os``, ``stat``, ``pathlib`` and
:mod:`data.errors`), so a command line can check its ``--db`` path, and
:mod:`model.filemode` and :mod:`data.entity_shards` can name a file's kind
(:func:`file_kind`), without loading DuckDB.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from data.errors import DataError, StoreCorruptError


class StorePathError(DataError, ValueError):
    """The database path cannot be used by DuckDB: it contains ``?``, names a named pipe,
    a device or a socket, has a write-ahead log that is a link or not a file, or cannot be
    opened for writing (a read-only file system)."""

    def __init__(self, path: Path, detail: str) -> None:
        self.path = Path(path)
        super().__init__(f"cannot use {self.path} as a database path: {detail}")


def check_db_path(path: Path) -> None:
    """Refuse a path DuckDB would misread.

    DuckDB takes what follows a ``?`` as URL query parameters when it derives the
    write-ahead log's name, so every commit to such a file fails. It also reads a backslash
    as a folder separator (as on Windows): ``reports\\prod.duckdb``, a legal file name on
    Linux, was opened as ``reports/prod.duckdb``, another file, which ``data demo`` then
    rebuilt while saying it made the first (and the write-ahead-log, lock and inbox checks
    looked at the name given, not at the file DuckDB wrote).

    DuckDB takes file names as UTF-8 text only: a path holding bytes that are not UTF-8
    (``caf\xe9.duckdb`` from a Latin-1 system; Python keeps them as lone surrogates) failed
    inside DuckDB with "Python Conversion Failure", reported as a damaged database to be
    moved aside, although no file was even there.

    A path that names no file (``--db ""``, ``.``, ``/``) raised a ``ValueError``
    traceback from ``pathlib`` when the write-ahead log's name was derived.

    Raises:
        StorePathError: the path contains ``?`` or a backslash, is not UTF-8, or names no
            file.
    """
    if not path.name or path.name in {".", ".."}:
        raise StorePathError(path, "it names a folder, not a file; give the database file's path")
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        raise StorePathError(
            path,
            "its name holds bytes that are not UTF-8 text (shown as \\udcXX), and DuckDB "
            "takes only UTF-8 file names; rename the file or folder",
        ) from None
    if "?" in str(path):
        raise StorePathError(
            path,
            "DuckDB reads '?' as the start of URL parameters and every "
            "commit would fail; rename the file or folder without '?'",
        )
    if "\\" in str(path):
        raise StorePathError(
            path,
            "DuckDB reads a backslash as a folder separator, so it would open "
            "another file; rename the file or folder without '\\'",
        )


def file_kind(mode: int) -> str:
    """What a file of ``mode`` (``st_mode``) is, in words: "a named pipe (FIFO)", "a
    device", "a socket", "a folder", else "not a regular file"."""
    for test, name in (
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    ):
        if test(mode):
            return name
    return "not a regular file"


#: Bytes 8-11 of every DuckDB database file (after the header's checksum).
DUCKDB_MAGIC = b"DUCK"


def check_db_file(path: Path | str, what: str = "database") -> None:
    """Refuse a database path that names something other than a DuckDB database file
    (followed through links), before DuckDB touches it: a named pipe made every command
    (and the dashboard) wait for a writer for good; a device or socket is no database; and
    DuckDB 2 attaches an existing CSV, Parquet or JSON file as a database *in memory*
    holding a view of the file, so ``--db tickets.csv`` "imported" rows that were gone at
    exit. The file is looked at without blocking (``O_NONBLOCK``, ``fstat`` of the opened
    descriptor, never a device opened) and not changed. Its write-ahead log ``<db>.wal``,
    when there is one, must be a regular file, not a link (:func:`_check_wal`). A missing
    file is left to the caller (the store creates it, or a read-only command says there is
    none); an empty file to DuckDB. A folder is refused as what it is (it was left to
    DuckDB, whose refusal read "not a readable DuckDB database …; move it aside").

    :func:`connect` (so every :class:`Store`) calls it; so does
    :func:`data.bootstrap.ensure_demo_database` before it creates anything.

    Raises:
        StorePathError: a path DuckDB would misread (:func:`check_db_path`), a folder,
            named pipe, device or socket (naming what it is), a file that cannot be read, or a
            write-ahead log that is a link or not a regular file.
        data.errors.StoreCorruptError: a non-empty regular file without DuckDB's header.
    """
    path = Path(path)
    check_db_path(path)  # a name DuckDB would misread, before anything is looked at
    _check_wal(path, what)
    try:
        mode = os.stat(path).st_mode  # never open a device or a pipe: stat first
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StorePathError(path, f"it cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(mode):
        raise StorePathError(path, f"it is {file_kind(mode)}, not a {what} file")
    try:
        # the file may have been swapped for a pipe since the stat: O_NONBLOCK, and the
        # descriptor's own fstat decides
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StorePathError(path, f"it cannot be read ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise StorePathError(path, f"it is {file_kind(info.st_mode)}, not a {what} file")
        head = os.pread(fd, len(DUCKDB_MAGIC) + 8, 0) if info.st_size > 0 else b""
    except OSError as exc:
        raise StorePathError(path, f"it cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if head and head[8:] != DUCKDB_MAGIC:
        raise StoreCorruptError(
            path,
            "it does not start like a DuckDB database file; "
            "DuckDB would open a CSV, Parquet or JSON file as a "
            "view in memory, and every write would be lost",
        )


def wal_of(path: Path | str) -> Path:
    """DuckDB's write-ahead log of the database file ``path``: ``<db>.wal`` beside it."""
    path = Path(path)
    return path.with_name(path.name + ".wal")


def _check_wal(path: Path, what: str) -> None:
    """Refuse a database whose ``<db>.wal`` is a link or not a regular file. DuckDB only
    ever creates it as a regular file; opened through a planted link it **overwrote the
    file the link named** (another program's data, replaced by log records) and a named
    pipe there made every command wait for good.

    Raises:
        StorePathError: naming the log and what it is.
    """
    wal = wal_of(path)
    try:
        info = os.lstat(wal)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StorePathError(
            path, f"its write-ahead log {wal} cannot be read ({exc.strerror or exc})"
        ) from None
    if stat.S_ISLNK(info.st_mode):
        raise StorePathError(
            path,
            (
                f"its write-ahead log {wal} is a link (to {os.readlink(wal)!s:.200}): DuckDB would "
                f"write through it and overwrite what it names; remove the link (the {what} "
                "never makes one)"
            ),
        )
    if not stat.S_ISREG(info.st_mode):
        raise StorePathError(
            path,
            f"its write-ahead log {wal} is {file_kind(info.st_mode)}, "
            f"not a file; remove it (the {what} never makes one)",
        )
