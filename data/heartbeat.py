"""Who is there to take the work: the running dashboard's heartbeat in the inbox.

While it polls the inbox, the app keeps a small JSON file there (:func:`write_heartbeat`:
its process id, the time, its poll interval), so a command line can say honestly whether a
dashboard is there to import what it hands over (:func:`running_dashboard`) instead of
guessing from who holds the database.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from data.inbox import real_inbox
from data.inbox_entries import FOLDER_FLAGS, InboxEntryError, read_json_entry, remove_entry
from data.paths import inbox_dir, process_alive

__all__ = ["MAX_POLL_SECONDS", "clear_heartbeat", "running_dashboard", "write_heartbeat"]

log = logging.getLogger("data.inbox")

_HEARTBEAT = ".app-heartbeat"

#: Longest poll interval of the app (seconds; ``PRICEWAR_INBOX_SECONDS`` is capped to it).
#: A heartbeat claiming a longer one is not believed (it would stay "fresh" for hours).
MAX_POLL_SECONDS = 300.0


# -- who is there to take the work -------------------------------------------------------


def write_heartbeat(db_path: Path | str, every: float) -> None:
    """Record in the inbox that this process imports it every ``every`` seconds.

    Written under a temporary name and renamed (a link at the final name is replaced,
    never followed), both relative to the inbox opened without following a link (an inbox
    swapped for a link after its check is not written through). Failures are logged, not
    raised: the app works without it.
    """
    try:
        inbox = real_inbox(db_path, create=True)
        assert inbox is not None
        folder = os.open(inbox, FOLDER_FLAGS)
        try:
            tmp = f"{_HEARTBEAT}.{os.getpid()}.tmp"
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_NONBLOCK
            fd = os.open(tmp, flags, 0o644, dir_fd=folder)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"pid": os.getpid(), "time": time.time(), "every": float(every)}, f)
            os.replace(tmp, _HEARTBEAT, src_dir_fd=folder, dst_dir_fd=folder)
        finally:
            os.close(folder)
    except OSError:
        log.warning("could not write the inbox heartbeat", exc_info=True)


def clear_heartbeat(db_path: Path | str) -> None:
    """Remove this process's heartbeat (when it stops polling)."""
    path = inbox_dir(Path(db_path)) / _HEARTBEAT
    try:
        if read_json_entry(path, max_bytes=4096).get("pid") == os.getpid():
            remove_entry(path)
    except (OSError, InboxEntryError):
        return


def running_dashboard(db_path: Path | str, lock_pid: int | None = None) -> int | None:
    """The process id of a dashboard that polls the inbox of ``db_path`` now, or None.

    A dashboard counts when its heartbeat is recent (within 4 polls, at least 2 minutes;
    an interval over :data:`MAX_POLL_SECONDS`, or a time in the future, is not believed),
    its process is alive and, when the holder of the database lock is known (``lock_pid``),
    it is that process.
    """
    try:
        beat = read_json_entry(inbox_dir(Path(db_path)) / _HEARTBEAT, max_bytes=4096)
    except (OSError, InboxEntryError):
        return None
    pid, when, every = beat.get("pid"), beat.get("time"), beat.get("every")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return None
    if not isinstance(when, int | float) or not isinstance(every, int | float):
        return None
    if isinstance(every, bool) or not 0 < every <= MAX_POLL_SECONDS:
        return None  # not an interval the app polls at (NaN and infinity included)
    age = time.time() - when
    if not -60.0 <= age <= max(120.0, 4 * float(every)):
        return None  # stale, or "written" in the future
    if lock_pid is not None and lock_pid != pid:
        return None
    return pid if process_alive(pid) else None
