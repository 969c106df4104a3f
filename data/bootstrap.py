"""First start: create the demo database when there is none (or it holds no tickets).

Example:
    >>> path = ensure_demo_database("var/pricewar.duckdb", tickets=3000)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from data.db_file import StorePathError, check_db_file, file_kind
from data.demo import generate_demo
from data.paths import default_db_path
from data.store import Store

__all__ = ["DEFAULT_DEMO_SEED", "DEFAULT_DEMO_TICKETS", "ensure_demo_database", "has_tickets"]

DEFAULT_DEMO_TICKETS = 3000
DEFAULT_DEMO_SEED = 7


def has_tickets(path: Path) -> bool:
    """Whether ``path`` is a database that holds at least one ticket."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return False
    with Store.open(path) as store:
        return bool(store.scalar("SELECT count(*) FROM tickets"))


def ensure_demo_database(
    path: Path | str | None = None,
    *,
    tickets: int = DEFAULT_DEMO_TICKETS,
    seed: int = DEFAULT_DEMO_SEED,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Create the demo database at ``path`` unless it already holds tickets; return the path.

    A missing file is generated under a temporary name and renamed into place, so a crash
    half-way never leaves a half-filled database behind. An existing file without tickets
    (for example a fresh, empty store) is filled in one transaction.

    Args:
        path: the database file (default: :func:`data.paths.default_db_path`).
        tickets: demo tickets to generate.
        seed: the demo seed.
        progress: called as ``progress(done, total)`` while tickets are generated.

    Raises:
        data.errors.StoreLockedError: another process holds the file.
        data.db_file.StorePathError: ``path`` names a named pipe, a device or a socket (also
            one that appears there while the demo is generated): never written over.
        data.errors.StoreCorruptError: ``path`` is a file that is not a DuckDB database.
    """
    path = Path(path) if path is not None else default_db_path()
    # a named pipe stats as 0 bytes "without tickets": the demo was renamed over it
    check_db_file(path)
    if has_tickets(path):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.stat().st_size > 0:
        with Store.open(path) as store:
            generate_demo(store, tickets=tickets, seed=seed, progress=progress)
        return path
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    try:
        with Store.open(tmp) as store:
            generate_demo(store, tickets=tickets, seed=seed, progress=progress)
        _put_in_place(tmp, path)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return path


def _put_in_place(tmp: Path, path: Path) -> None:
    """Move the generated database ``tmp`` to ``path`` unless something is there now.

    A missing path gets a hard link (never replaces what appeared meanwhile; a rename
    where links cannot be made); an empty regular file is replaced; a database another
    process wrote meanwhile is kept; anything else that is not a regular file (a named pipe
    made since the first check) is refused, never written over.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    if info is None and not os.path.lexists(path):
        try:
            os.link(tmp, path)
            return
        except FileExistsError:
            info = os.stat(path) if os.path.exists(path) else None
        except OSError:  # a file system without hard links
            os.replace(tmp, path)
            return
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise StorePathError(path, f"it is {file_kind(info.st_mode)}, not a database file")
    if info is not None and info.st_size > 0:
        return  # another process won
    os.replace(tmp, path)
