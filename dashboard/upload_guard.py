"""Uploads are taken only from the sessions of users who may upload.

Streamlit's upload endpoint (``PUT /_stcore/upload_file/<session>/<file>``) keeps every
file it is sent in the server's memory until the session ends, for any open session, up to
``server.maxUploadSize`` a file and with no bound on their number; nothing there asks
whether the session's page drew an uploader, or who the session's user is. So a visitor
who is not signed in (the sign-in page is a session too) could hold a websocket open and
PUT 200 MB after 200 MB until the server ran out of memory (round 15: 5 × 50 MB held
250 MiB for as long as the session lived).

:func:`install` wraps the runtime's upload manager once per process: a file is kept only
for a session whose user may upload (analysts and admins, as ``state.upload_files``
checks again at import; in local mode the local admin); any other is answered 403 and
dropped. The check reads the session's identity claims, the same ones ``st.user`` gives its
page runs (``access.identity_user``).

Streamlit never drops a file its uploader no longer shows (only the browser's ``DELETE`` or
the session's end does), so even an analyst's session could PUT files until the server ran
out of memory (round 16). A session holds at most :func:`held_limits`' bytes of uploads, all
sessions together at most its second figure; a file past either is answered 413 naming the
limit and its variable. ``streamlit run`` offers no hook at server start, so the guard is
installed by the process's first page run; files PUT before then for sessions that may not
upload are dropped when it is installed.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

from dashboard import access
from dashboard.access import Role

log = logging.getLogger("dashboard.upload_guard")

_lock = threading.Lock()
_MARK = "_pricewar_upload_guard"

#: Environment variables of the held-upload limits (bytes): one session's, and all sessions'.
SESSION_HELD_ENV = "PRICEWAR_MAX_HELD_UPLOAD_BYTES"
TOTAL_HELD_ENV = "PRICEWAR_MAX_HELD_UPLOADS_TOTAL_BYTES"
#: Defaults: five files at Streamlit's default ``server.maxUploadSize`` (200 MB) per session.
DEFAULT_SESSION_HELD_BYTES = 1 << 30
DEFAULT_TOTAL_HELD_BYTES = 4 << 30
#: The least a held file counts for (so a session holds at most 16,384 files by default).
MIN_FILE_CHARGE = 64 * 1024


def held_limits(environ: Mapping[str, str] | None = None) -> tuple[int, int]:
    """The most bytes of uploads one session, and all sessions together, may hold.

    A value that is not a positive whole number falls back to the default (and is logged).

    Example:
        >>> held_limits({SESSION_HELD_ENV: "1000", TOTAL_HELD_ENV: "nope"})
        (1000, 4294967296)
    """
    env = os.environ if environ is None else environ
    limits = []
    for name, default in (
        (SESSION_HELD_ENV, DEFAULT_SESSION_HELD_BYTES),
        (TOTAL_HELD_ENV, DEFAULT_TOTAL_HELD_BYTES),
    ):
        text = env.get(name, "").strip()
        value = int(text) if text.isdigit() and len(text) <= 18 else 0
        if text and value <= 0:
            log.warning("%s=%r is not a positive whole number: %d used", name, text[:40], default)
        limits.append(value if value > 0 else default)
    return limits[0], limits[1]


def _charge(size: int) -> int:
    """What a held file counts for: its bytes, at least :data:`MIN_FILE_CHARGE` (an empty
    file still costs the server its record, so the count of files is bounded too)."""
    return max(size, MIN_FILE_CHARGE)


def held_problem(manager: Any, session_id: str, file_id: str, size: int) -> str | None:
    """Why a file of ``size`` bytes may not be held for ``session_id`` now, or None.

    Each held file counts for at least :data:`MIN_FILE_CHARGE`; the file it replaces (the
    same ``file_id``) is not counted."""
    per_session, total = held_limits()
    storage = dict(getattr(manager, "file_storage", {}))
    mine = storage.get(session_id) or {}
    session_bytes = sum(_charge(len(f.data)) for i, f in mine.items() if i != file_id)
    if session_bytes + _charge(size) > per_session:
        return (
            f"this session already holds {session_bytes:,} bytes of uploads; a session holds "
            f"at most {per_session:,} ({SESSION_HELD_ENV}; a file counts for at least "
            f"{MIN_FILE_CHARGE:,}): remove files from the uploader or reload the page"
        )
    all_bytes = sum(
        _charge(len(f.data))
        for sid, files in storage.items()
        for i, f in list(files.items())
        if (sid, i) != (session_id, file_id)
    )
    if all_bytes + _charge(size) > total:
        return (
            f"the server already holds {all_bytes:,} bytes of uploads; it holds at most "
            f"{total:,} ({TOTAL_HELD_ENV}): try again later"
        )
    return None


def drop_refused_sessions(manager: Any, runtime: Any) -> int:
    """Drop the files held for sessions that may not upload (PUT before the guard was
    installed); how many sessions lost files."""
    dropped = 0
    for session_id in list(getattr(manager, "file_storage", {})):
        if not may_upload(session_id, runtime):
            manager.remove_session_files(session_id)
            dropped += 1
    if dropped:
        log.warning("dropped the uploads of %d sessions that may not upload", dropped)
    return dropped


def may_upload(session_id: str, runtime: Any) -> bool:
    """Whether the user of Streamlit session ``session_id`` may upload files.

    Fails closed: a session that cannot be found, or an identity that cannot be read
    (Streamlit's internals changed), may not.
    """
    try:
        providers = access.auth_providers()
    except access.AccessSettingsError:
        return False  # nobody is let in while sign-in is misconfigured
    if providers is None:
        # local mode: the local admin, when the server listens on a loopback address only
        # (the request's own headers, checked on the pages too, are not known here)
        return access.exposure() is None
    try:
        active = runtime._session_mgr.get_active_session_info(session_id)
        info = dict(active.session._user_info) if active is not None else None
    except Exception:
        log.exception("the identity of session %s cannot be read", session_id)
        return False
    if info is None:
        return False
    return access.identity_user(info, providers).can(Role.ANALYST)


def install(runtime: Any = None) -> bool:
    """Wrap the runtime's upload manager (once per process); True when installed now."""
    if runtime is None:
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return False
        runtime = Runtime.instance()
    manager = runtime.uploaded_file_mgr
    if manager is None:
        return False
    with _lock:
        if getattr(manager, _MARK, False):
            return False
        add_file = manager.add_file

        def guarded_add_file(session_id: str, file: Any) -> None:
            if not may_upload(session_id, runtime):
                from starlette.exceptions import HTTPException

                log.warning(
                    "upload of %d bytes refused: session %s is not an analyst's",
                    len(getattr(file, "data", b"")),
                    session_id,
                )
                raise HTTPException(status_code=403, detail="Uploads need the analyst role")
            with _lock:  # the check and the add together: no two PUTs pass on one margin
                size = len(getattr(file, "data", b""))
                problem = held_problem(manager, session_id, getattr(file, "file_id", ""), size)
                if problem is not None:
                    from starlette.exceptions import HTTPException

                    log.warning("upload of %d bytes refused: %s", size, problem)
                    raise HTTPException(status_code=413, detail=f"Upload refused: {problem}")
                add_file(session_id=session_id, file=file)

        manager.add_file = guarded_add_file
        setattr(manager, _MARK, True)
        drop_refused_sessions(manager, runtime)
    log.info("uploads are taken only from sessions of analysts and admins")
    return True
