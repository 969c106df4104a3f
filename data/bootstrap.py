"""First start: create the demo database when there is none (or it holds no tickets).

Example:
    >>> path = ensure_demo_database("var/pricewar.duckdb", tickets=3000)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

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
    """
    path = Path(path) if path is not None else default_db_path()
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
        if not (path.exists() and path.stat().st_size > 0):  # another process may have won
            os.replace(tmp, path)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return path
