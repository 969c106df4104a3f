"""Sign-outs, remembered beside the database (``dashboard.access``).

Streamlit reads the identity cookie only when a session starts, and ``st.logout`` clears
``st.user`` only in the session that calls it: another tab of the same browser (or one
left open on another machine) kept the signed-out identity, with its role, for as long
as it stayed open, even after the browser had signed in as someone else. So a sign-out
is remembered, by address, with the issue time (``iat``) of the ID token it ended; a
session holding a token of that address issued no later is treated as signed out. A new
sign-in brings a newer token.

The record is kept in memory and in a small JSON file (``$PRICEWAR_SIGNOUT_FILE``, by
default ``<database>.signouts.json`` beside the database), so a restart of the server, or
another server process behind the same address, sees it too. The file is read only when
it is a regular file of at most :data:`MAX_SIGN_OUT_FILE_BYTES` (never through a link),
cached by its modification time, and written whole under a lock by an atomic rename; when
it cannot be written, the record in memory still holds for this process.

This module keeps the file; ``dashboard.access`` keeps the record in memory and reads
and writes the file under its lock (the file's cache here is guarded by it).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path
from stat import S_ISREG
from typing import Any

__all__ = [
    "MAX_SIGN_OUTS",
    "MAX_SIGN_OUT_FILE_BYTES",
    "SIGN_OUT_FILE_ENV",
    "issued_at",
    "read_sign_outs",
    "sign_out_file",
    "write_sign_out",
]

#: The access checks' one logger, whichever module of them writes.
log = logging.getLogger("dashboard.access")

#: Environment variable naming the sign-out file.
SIGN_OUT_FILE_ENV = "PRICEWAR_SIGNOUT_FILE"
#: The sign-out file holds at most this many addresses (the latest sign-outs are kept) …
MAX_SIGN_OUTS = 10_000
#: … and is read only up to this size.
MAX_SIGN_OUT_FILE_BYTES = 1 << 20

#: The sign-out file last read: (path, stamp) → its record.
_SIGN_OUT_CACHE: dict[str, tuple[tuple[int, int, int], dict[str, float]]] = {}


def sign_out_file(environ: Mapping[str, str] | None = None) -> Path | None:
    """Where sign-outs are shared between server processes and restarts:
    ``$PRICEWAR_SIGNOUT_FILE``, or ``<database>.signouts.json`` beside the database the
    app serves; None when neither can be told (a bad ``PRICEWAR_DB``, shown elsewhere)."""
    environ = os.environ if environ is None else environ
    named = environ.get(SIGN_OUT_FILE_ENV, "").strip()
    try:
        if named:
            return Path(named).expanduser()
        from data.paths import default_db_path

        db = default_db_path().expanduser().resolve()
    except Exception:  # never raises: a bad PRICEWAR_DB is shown by the page guard
        log.debug(
            "no sign-out file: %s or PRICEWAR_DB cannot be used", SIGN_OUT_FILE_ENV, exc_info=True
        )
        return None
    return db.with_name(db.name + ".signouts.json")


def issued_at(info: Mapping[str, Any]) -> float | None:
    """The issue time (``iat``) of the identity claims ``info`` as a finite number; None
    when it is missing or not a number."""
    value = info.get("iat")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        issued = float(value)
    except (ValueError, OverflowError):
        return None
    return issued if issued == issued and abs(issued) != float("inf") else None


def _parse_sign_outs(data: bytes) -> dict[str, float]:
    import json

    record = json.loads(data.decode("utf-8"))
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    out: dict[str, float] = {}
    for email, issued in record.items():
        if (
            isinstance(email, str)
            and len(email) <= 320
            and not isinstance(issued, bool)
            and isinstance(issued, int | float)
            and math.isfinite(issued)
        ):
            out[email] = float(issued)
    return out


def read_sign_outs(path: Path) -> dict[str, float]:
    """The record in the sign-out file (empty when there is none or it cannot be used)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        log.warning("sign-out file %s cannot be read: %s", path, exc.strerror or exc)
        return {}
    try:
        stat = os.fstat(fd)
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if not S_ISREG(stat.st_mode) or stat.st_size > MAX_SIGN_OUT_FILE_BYTES:
            log.warning(
                "sign-out file %s is not a regular file of at most %s bytes: not used",
                path,
                f"{MAX_SIGN_OUT_FILE_BYTES:,}",
            )
            return {}
        cached = _SIGN_OUT_CACHE.get(str(path))
        if cached is not None and cached[0] == stamp:
            return cached[1]
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(MAX_SIGN_OUT_FILE_BYTES + 1)
        record = _parse_sign_outs(data) if len(data) <= MAX_SIGN_OUT_FILE_BYTES else {}
    except (OSError, ValueError, RecursionError) as exc:
        log.warning("sign-out file %s cannot be used: %s", path, exc)
        return {}
    finally:
        os.close(fd)
    _SIGN_OUT_CACHE.clear()
    _SIGN_OUT_CACHE[str(path)] = (stamp, record)
    return record


def write_sign_out(path: Path, email: str, issued: float) -> None:
    """Add one sign-out to the file, under a lock, by an atomic rename."""
    import fcntl
    import json
    import tempfile

    lock = os.open(
        path.with_name(path.name + ".lock"),
        os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
        0o600,
    )
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        record = dict(read_sign_outs(path))
        record[email] = max(issued, record.get(email, issued))
        if len(record) > MAX_SIGN_OUTS:  # the oldest sign-outs go first
            record = dict(sorted(record.items(), key=lambda kv: kv[1])[-MAX_SIGN_OUTS:])
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(record, f, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    finally:
        os.close(lock)
