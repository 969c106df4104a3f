"""An upload is taken only from the user whose session it is for.

Streamlit's upload endpoint (``PUT`` or ``DELETE /_stcore/upload_file/<session>/<file>``)
checks only an XSRF pair that the sender makes itself; ``dashboard.upload_guard`` checks
the role of the *session's* user. So whoever knows an analyst's upload address (session id
and file id, never shown to another user: round 22 of #12) could replace or delete the
file held for that analyst's next import: a viewer's ``PUT`` was answered 204.

:class:`UploadSenderCheck` (an ASGI middleware of ``dashboard/serve.py``) answers such a
request 403 unless the sender's signed identity cookie names the same signed-in user as
the session it writes to. With sign-in off (local mode: one local admin on a loopback
address) there is no identity to compare and requests pass as before.

The sender's identity is read as Streamlit reads a session's (round 23 of #12): the
cookies parsed by Starlette, as the websocket parses them (``http.cookies.SimpleCookie``
dropped every cookie of a header holding one it could not parse, such as another app's
``prefs={"a":1}`` on the same host, and refused the analyst's own upload), and a sender
who is not let in (an address the identity provider did not verify, a signed-out token)
writes to nobody's session, even one of the same address.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from dashboard import access

log = logging.getLogger("dashboard.upload_sender")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

#: ``/_stcore/upload_file/<session id>/<file id>`` under any base path.
UPLOAD_PATH = re.compile(r"/_stcore/upload_file/(?P<session>[^/]+)/(?P<file>[^/]+)/?$")


def upload_session(method: str, path: str) -> str | None:
    """The session id a request writes uploads to, or None for any other request.

    Example:
        >>> upload_session("PUT", "/_stcore/upload_file/abc/def")
        'abc'
        >>> upload_session("GET", "/_stcore/upload_file/abc/def") is None
        True
    """
    if method not in ("PUT", "DELETE"):
        return None
    match = UPLOAD_PATH.search(path)
    return match.group("session") if match else None


def sender_identity(cookies: dict[str, str], origin: str) -> dict[str, Any]:
    """The identity claims of the request's signed user cookie (Streamlit's own decoding:
    signature and origin checked), or {} when there is none or it does not verify."""
    from streamlit.web.server.server_util import AUTH_COOKIE_NAME
    from streamlit.web.server.starlette.starlette_websocket import (
        _get_signed_cookie_with_chunks,
        _parse_decoded_user_cookie,
    )

    decoded = _get_signed_cookie_with_chunks(cookies, AUTH_COOKIE_NAME)
    if decoded is None:
        return {}
    return _parse_decoded_user_cookie(decoded, origin)


def sender_problem(
    session_id: str, cookies: dict[str, str], origin: str, runtime: Any
) -> str | None:
    """Why the sender of an upload request may not write to ``session_id``, or None.

    Fails closed: a session that cannot be found, or identities that cannot be read."""
    try:
        providers = access.auth_providers()
    except access.AccessSettingsError:
        return "sign-in is misconfigured"
    if providers is None:
        return None  # local mode: no identities to compare
    try:
        active = runtime._session_mgr.get_active_session_info(session_id)
        owner_info = dict(active.session._user_info) if active is not None else None
    except Exception:
        log.exception("the identity of session %s cannot be read", session_id)
        return "the session's user cannot be read"
    if owner_info is None:
        return "no such session"
    owner = access.identity_user(owner_info, providers)
    sender = access.identity_user(sender_identity(cookies, origin), providers)
    if not sender.allowed:
        # ``User.email`` is set for an address that is not let in (unverified, not listed)
        return "the sender is not signed in as a user of this dashboard"
    if owner.email is None or sender.email != owner.email:
        return "the sender is not the session's signed-in user"
    return None


def request_cookies(scope: Scope) -> dict[str, str]:
    """The request's cookies as Streamlit's websocket reads them at a session's start
    (Starlette's parser, every ``Cookie`` header; the last of a repeated name wins).

    Example:
        >>> request_cookies({"type": "http", "headers": [(b"cookie", b'p={"a":1}; u=x')]})
        {'p': '{"a":1}', 'u': 'x'}
    """
    from starlette.requests import HTTPConnection

    return dict(HTTPConnection(scope).cookies)


def _origin(scope: Scope) -> str:
    from starlette.requests import HTTPConnection

    return HTTPConnection(scope).headers.get("origin") or ""


class UploadSenderCheck:
    """ASGI middleware: :func:`sender_problem` before Streamlit's upload endpoint."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session_id = (
            upload_session(scope.get("method", ""), scope.get("path", ""))
            if scope.get("type") == "http"
            else None
        )
        if session_id is not None:
            from streamlit.runtime import Runtime

            runtime = Runtime.instance() if Runtime.exists() else None
            problem = (
                "the server is starting"
                if runtime is None
                else sender_problem(session_id, request_cookies(scope), _origin(scope), runtime)
            )
            if problem is not None:
                log.warning("upload request refused: %s", problem)
                body = f"Upload refused: {problem}".encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 403,
                        "headers": [
                            (b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
