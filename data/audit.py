"""The audit trail: who uploaded which file, started or stopped which tagging run, saved or
deleted which scenario, signed in or was refused, and when.

Rows go to the ``audit_log`` table (migration 2) and are only ever added. ``at`` is UTC.
``source`` is ``"app"`` for the dashboard and ``"cli"`` for ``python -m data`` /
``python -m model``, whose actor is the operating-system user (:func:`os_actor`).

When the audit row cannot be written (a full disk), the action must not happen silently
without it. Two ways, by what the code path allows:

- **same transaction**: inside a write function the row joins the change and commits or
  rolls back with it, because :meth:`data.store.Store.write` runs a nested write on the
  writer thread inside the current transaction::

      def save(conn):
          conn.execute("INSERT INTO scenarios ...", [...])
          record(store, actor=user, action=SCENARIO_SAVE, target=name)  # same transaction
      store.write(save)

  ``python -m data ingest`` does this: each file's tickets and its ``ingest`` row commit
  together (a rejected file commits its row alone).
- **record first**: where the change is not one transaction (a tagging run writes many),
  record the start before acting and let a failure to record stop the action;
  ``python -m model tag`` records ``tagging_start`` before the first batch and
  ``tagging_end`` (or ``tagging_stop`` when interrupted) after the last.

Example:
    >>> record(store, actor="ana@example.com", role="analyst", action=UPLOAD,  # doctest: +SKIP
    ...        target="tickets.csv", detail="1,204 rows, 1,180 new tickets")
    >>> read_log(store, actions=[UPLOAD], limit=20)  # doctest: +SKIP
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from data.export import to_csv_bytes

__all__ = [
    "ACCESS_DENIED",
    "ACTIONS",
    "COLUMNS",
    "DATA_RESET",
    "DEMO",
    "INGEST",
    "MAX_TEXT",
    "SCENARIO_DELETE",
    "SCENARIO_SAVE",
    "SHARD_LOAD",
    "SIGN_IN",
    "SIGN_OUT",
    "SOURCES",
    "TAG_END",
    "TAG_START",
    "TAG_STOP",
    "UPLOAD",
    "log_csv",
    "os_actor",
    "read_log",
    "record",
]

UPLOAD = "upload"
TAG_START = "tagging_start"
TAG_STOP = "tagging_stop"
TAG_END = "tagging_end"
SHARD_LOAD = "shard_load"
SCENARIO_SAVE = "scenario_save"
SCENARIO_DELETE = "scenario_delete"
DATA_RESET = "data_reset"
SIGN_IN = "sign_in"
SIGN_OUT = "sign_out"
ACCESS_DENIED = "access_denied"
INGEST = "ingest"
DEMO = "demo"

#: Every action the trail knows; :func:`record` refuses any other.
ACTIONS: frozenset[str] = frozenset(
    {
        UPLOAD,
        TAG_START,
        TAG_STOP,
        TAG_END,
        SHARD_LOAD,
        SCENARIO_SAVE,
        SCENARIO_DELETE,
        DATA_RESET,
        SIGN_IN,
        SIGN_OUT,
        ACCESS_DENIED,
        INGEST,
        DEMO,
    }
)
#: Where an action came from.
SOURCES: frozenset[str] = frozenset({"app", "cli"})
#: The most characters a text field keeps: ``target`` and ``detail`` are cut to it (ending
#: in "…"); a longer ``actor`` or ``role`` is refused.
MAX_TEXT = 2000
#: The columns :func:`read_log` returns, in order.
COLUMNS = ("at", "actor", "role", "source", "action", "target", "detail")

_READ = (
    'SELECT "at", actor, role, source, action, target, detail FROM audit_log '
    "WHERE ($actions::VARCHAR[] IS NULL OR list_contains($actions::VARCHAR[], action)) "
    "AND ($actor::VARCHAR IS NULL OR actor = $actor::VARCHAR"
    " OR ($fold AND lower(actor) = lower($actor::VARCHAR))) "
    'AND ($since::TIMESTAMP IS NULL OR "at" >= $since::TIMESTAMP) '
    'ORDER BY "at" DESC, id DESC LIMIT $limit'
)
_INSERT = (
    'INSERT INTO audit_log ("at", actor, role, source, action, target, detail) '
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _cap(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"audit {name} must be text or None, got {type(value).__name__}")
    return value if len(value) <= MAX_TEXT else value[: MAX_TEXT - 1] + "…"


def _checked(name: str, value: Any, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"audit {name} must be non-empty text, got {value!r}")
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise ValueError(
            f"audit {name} is {len(value):,} characters long; at most {MAX_TEXT:,} are allowed"
        )
    return value


def record(
    store: Any,
    *,
    actor: str,
    action: str,
    target: str | None = None,
    detail: str | None = None,
    role: str | None = None,
    source: str = "app",
) -> None:
    """Add one row to the audit trail, through the store's writer.

    Called inside a write function (on the writer thread), the row joins that function's
    transaction; otherwise it is a transaction of its own.

    Args:
        store: a writable :class:`data.store.Store` (the app's or a command line's).
        actor: who acted: an e-mail address, or :func:`os_actor` on the command line.
        action: one of :data:`ACTIONS` (``UPLOAD``, ``TAG_START`` …).
        target: what it was about (file name, scenario name, model); cut to
            :data:`MAX_TEXT` characters.
        detail: the outcome in words; cut to :data:`MAX_TEXT` characters.
        role: the actor's role (``"viewer"``, ``"analyst"``, ``"admin"``), if known.
        source: ``"app"`` or ``"cli"``.

    Raises:
        ValueError: an unknown action or source, an empty or over-long actor or role, a
            target or detail that is not text.
        StoreWriteError: the row could not be written (disk full); nothing was recorded.

    Example:
        >>> record(store, actor="os:alice", action=DEMO, source="cli",  # doctest: +SKIP
        ...        detail="3,000 tickets, seed 7")
    """
    if not isinstance(action, str) or action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; known: {', '.join(sorted(ACTIONS))}")
    if not isinstance(source, str) or source not in SOURCES:
        raise ValueError(f"unknown audit source {source!r}; known: app, cli")
    row = [
        _now(),
        _checked("actor", actor, required=True),
        _checked("role", role, required=False),
        source,
        action,
        _cap("target", target),
        _cap("detail", detail),
    ]
    store.execute_write(_INSERT, row)


def os_actor() -> str:
    """The operating-system user running a command line, as the trail writes it.

    The account name of the real user id comes first (``$USER`` can be set to anything);
    without one (a container user with no passwd entry), :func:`getpass.getuser`; when both
    fail, the user id.

    Example:
        >>> os_actor()  # doctest: +SKIP
        'os:alice'
    """
    uid = os.getuid() if hasattr(os, "getuid") else None
    name = ""
    if uid is not None:
        try:
            import pwd

            name = pwd.getpwuid(uid).pw_name
        except (ImportError, KeyError, OSError):
            name = ""
    if not name:
        try:
            name = getpass.getuser()
        except Exception:  # OSError (3.13+), KeyError (older): no name anywhere
            name = ""
    name = " ".join(str(name).split())[:200]
    if not name:
        name = f"uid={uid}" if uid is not None else "unknown"
    return f"os:{name}"


def _utc_naive(since: datetime | date) -> datetime:
    if not isinstance(since, datetime):
        if isinstance(since, date):
            return datetime(since.year, since.month, since.day)
        raise ValueError(f"since must be a datetime, got {type(since).__name__}")
    if since.tzinfo is not None:
        return since.astimezone(UTC).replace(tzinfo=None)
    return since


def read_log(
    store: Any,
    *,
    limit: int = 1000,
    actions: Sequence[str] | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    ignore_case: bool = False,
) -> pd.DataFrame:
    """The newest rows of the audit trail, newest first.

    Args:
        store: a :class:`data.store.Store` (read-only is fine).
        limit: at most this many rows (0 gives none).
        actions: only these actions (None or empty: all).
        actor: only this actor (exact match).
        ignore_case: match ``actor`` whatever its case (the audit page's "Who" filter:
            sign-in stores addresses in lower case, an admin may type them otherwise).
        since: only rows at or after this time; naive times are UTC, aware ones are
            converted.

    Returns:
        A DataFrame with the columns :data:`COLUMNS` (``at`` in UTC, without time zone).

    Raises:
        ValueError: a negative limit or an unknown action name.

    Example:
        >>> read_log(store, actions=[SIGN_IN, ACCESS_DENIED], limit=50)  # doctest: +SKIP
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit must be a whole number of 0 or more, got {limit!r}")
    names: list[str] | None = None
    if actions:
        names = [actions] if isinstance(actions, str) else list(actions)
        unknown = [name for name in names if not isinstance(name, str) or name not in ACTIONS]
        if unknown:
            raise ValueError(f"unknown audit action(s): {', '.join(map(repr, unknown))}")
    params = {
        "actions": names,
        "actor": actor,
        "since": _utc_naive(since) if since is not None else None,
        "limit": limit,
        "fold": bool(ignore_case),
    }
    return store.query(_READ, params)


def log_csv(df: pd.DataFrame) -> bytes:
    """CSV bytes of an audit table for download, spreadsheet formulas neutralised (actors,
    targets and file names are typed by users).

    Example:
        >>> log_csv(pd.DataFrame({"actor": ["=HYPERLINK(1)"]}))
        b'"actor"\\n"\\'=HYPERLINK(1)"\\n'
    """
    return to_csv_bytes(df)
