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
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from dashboard import access
from dashboard.access import Role

log = logging.getLogger("dashboard.upload_guard")

_lock = threading.Lock()
_MARK = "_pricewar_upload_guard"


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
            add_file(session_id=session_id, file=file)

        manager.add_file = guarded_add_file
        setattr(manager, _MARK, True)
    log.info("uploads are taken only from sessions of analysts and admins")
    return True
