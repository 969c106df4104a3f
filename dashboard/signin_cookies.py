"""Two sign-in cookies of one name in one request: refused, in words (GAPS.md item 17).

Streamlit keeps a signed-in user in the cookie ``_streamlit_user`` (and the identity
provider's tokens in ``_streamlit_user_tokens``; a long one split into ``…_1``, ``…_2``),
host-only, without a ``__Host-`` prefix. A page on a sibling subdomain (``x.example.com``
beside the dashboard's ``pwr.example.com``) may set a cookie of that name for the parent
domain. It cannot sign one (the cookie secret), but it can plant one the dashboard signed
for the planter's own sign-in; the browser then sends both, the planted one last, and
Streamlit (Starlette's cookie parser: the last of a repeated name wins) signs the tab in
as the planter: login fixation, what the victim saves or imports audited as the planter.

A browser sends two cookies of one name only when they were set for different domains
or paths, which Streamlit never does. So a request carrying a sign-in cookie name twice
with different values is refused: the page run lets nobody in and says why
(:func:`page_cookie_problem`, read by ``access.current_user``), and under ``serve.py``
every request is refused before Streamlit reads a cookie (:class:`RepeatedSignInCookies`):
403 with the reason, and every sign-in cookie it carries deleted for this host and every
domain above it, so the next sign-in starts clean. Same values twice (an old copy at
another path) are let through: they sign in no one else.

Not covered (no server can tell): a browser holding **only** a planted cookie (never
signed in here, or signed out) sends one cookie, which is the planter's identity; the
sidebar names it ("Signed in as …"). Deploy on a host with no untrusted sibling
subdomains (README, "Sign-in, roles and deployment").
"""

from __future__ import annotations

import html
import ipaddress
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

log = logging.getLogger("dashboard.signin_cookies")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

#: Streamlit's sign-in cookies and their chunks (``streamlit.auth_util``: ``name_1`` …).
SIGNIN_COOKIE = re.compile(r"_streamlit_user(?:_tokens)?(?:_\d+)?\Z")


def repeated_signin_cookies(cookie_headers: Iterable[str]) -> list[str]:
    """The sign-in cookie names that ``cookie_headers`` (every ``Cookie`` header of one
    request) carry more than once with different values, read as Starlette reads them
    (names and values stripped; a part without ``=`` has no name).

    Example:
        >>> repeated_signin_cookies(["a=1; _streamlit_user=x", "_streamlit_user=y"])
        ['_streamlit_user']
        >>> repeated_signin_cookies(["_streamlit_user=x; _streamlit_user= x ; b=1; b=2"])
        []
    """
    seen: dict[str, set[str]] = {}
    for header in cookie_headers:
        for part in header.split(";"):
            if "=" not in part:
                continue
            name, value = (text.strip() for text in part.split("=", 1))
            if SIGNIN_COOKIE.match(name):
                seen.setdefault(name, set()).add(value)
    return sorted(name for name, values in seen.items() if len(values) > 1)


def signin_cookie_names(cookie_headers: Iterable[str]) -> list[str]:
    """Every sign-in cookie name (chunks too) that ``cookie_headers`` carry.

    Example:
        >>> signin_cookie_names(["_streamlit_user=a; _streamlit_user_1=b; x=1"])
        ['_streamlit_user', '_streamlit_user_1']
    """
    names = {
        part.split("=", 1)[0].strip() for header in cookie_headers for part in header.split(";")
    }
    return sorted(name for name in names if SIGNIN_COOKIE.match(name))


def repeated_problem(names: list[str]) -> str:
    """What the user is told when ``names`` (fixed cookie names, never a value) repeat.

    Example:
        >>> repeated_problem(["_streamlit_user"])[:62]
        'Two different sign-in cookies (_streamlit_user) reached the se'
    """
    return (
        f"Two different sign-in cookies ({', '.join(names)}) reached the server, so "
        "nobody is signed in: a page on another subdomain of this site's domain may have "
        "set one to sign you in as someone else. Delete this site's cookies, and those of "
        "the domains above it (your browser's site settings), then sign in again."
    )


def page_cookie_problem() -> str | None:
    """:func:`repeated_problem` for the current page run's websocket request (Streamlit's
    ``st.context.headers``: every ``Cookie`` header), else None; None outside a run."""
    try:
        import streamlit as st

        headers = st.context.headers.get_all("cookie")
    except Exception:  # no run context (a test, the CLI): no request to read
        return None
    names = repeated_signin_cookies(headers)
    return repeated_problem(names) if names else None


def domains_above(host: str) -> list[str]:
    """``host`` (without its port) and every domain above it with at least two labels:
    where a planted cookie may have been set. Empty for an IP address.

    Example:
        >>> domains_above("pwr.corp.example.com:8501")
        ['pwr.corp.example.com', 'corp.example.com', 'example.com']
        >>> domains_above("127.0.0.1:8501"), domains_above("localhost")
        ([], ['localhost'])
    """
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    name = name.strip("[]").rstrip(".").lower()
    try:
        ipaddress.ip_address(name)
        return []
    except ValueError:
        pass
    labels = [label for label in name.split(".") if label]
    if len(labels) < 2:
        return labels[:1]
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def deletions(names: list[str], host: str, paths: Iterable[str]) -> list[bytes]:
    """``Set-Cookie`` headers deleting each of ``names`` host-only and for every domain
    above ``host`` (a browser ignores a domain it would not have taken), at each path."""
    out = []
    for name in names:
        for path in dict.fromkeys(paths):
            base = f"{name}=; Max-Age=0; Path={path}; HttpOnly; SameSite=Lax"
            out.append(base.encode("latin-1"))
            for domain in domains_above(host)[1:] if "." in host else []:
                out.append(f"{base}; Domain={domain}".encode("latin-1"))
    return out


def _cookie_path() -> str:
    try:
        from streamlit import config

        base = config.get_option("server.baseUrlPath") or ""
    except Exception:  # outside a server: the root
        base = ""
    return "/" + base.strip("/") if base.strip("/") else "/"


def _page(problem: str) -> bytes:
    """The page a browser shows instead of the dashboard (no script, nothing from the
    request but fixed cookie names)."""
    return (
        "<!doctype html><meta charset=utf-8><title>Price War Room: sign-in refused</title>"
        f"<h1>Price War Room</h1><p>{html.escape(problem)}</p>"
    ).encode()


class RepeatedSignInCookies:
    """ASGI middleware (``dashboard/serve.py``): a request carrying a sign-in cookie name
    twice with different values gets 403 with :func:`repeated_problem` (a websocket: closed
    before it opens, code 1008; an upload: "Upload refused: …" as text) and every sign-in
    cookie it carries deleted; others pass."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers") or []
        cookies = [v.decode("latin-1") for k, v in headers if k.lower() == b"cookie"]
        names = repeated_signin_cookies(cookies)
        if not names:
            await self.app(scope, receive, send)
            return
        problem = repeated_problem(names)
        log.warning("request refused: repeated sign-in cookies %s", ", ".join(names))
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": problem[:120]})
            return
        from dashboard.upload_sender import upload_session

        host = next((v.decode("latin-1") for k, v in headers if k.lower() == b"host"), "")
        if upload_session(scope.get("method", ""), scope.get("path", "")) is not None:
            # the uploader shows the text, as for the upload sender check's refusals
            kind, body = b"text/plain", f"Upload refused: {problem}".encode()
        else:
            kind, body = b"text/html", _page(problem)
        set_cookies = deletions(signin_cookie_names(cookies), host, ("/", _cookie_path()))
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", kind + b"; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                    *((b"set-cookie", c) for c in set_cookies),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
