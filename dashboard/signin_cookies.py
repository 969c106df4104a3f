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
domain above it, at every path it may have been set for (:func:`refusal_paths`), so the
next sign-in starts clean. A websocket is not refused but opened with its sign-in cookies
removed (:func:`as_nobody`): nobody signed in, the page saying why (a refused handshake
left chromium on Streamlit's loading skeleton, without a word, for as long as the tab was
open: round 27 of #12). Same values twice (an old copy at another path) are let through:
they sign in no one else; so is anything Starlette reads as one value (the check compares
the raw texts: a quoted copy of another value is refused too).

Not covered here (no server can tell from one cookie): a browser holding **only** a
planted cookie (never signed in here, or signed out) sends one cookie, which is the
planter's identity. ``serve.py`` closes that on https or loopback with ``__Host-`` sign-in
cookies (:mod:`dashboard.host_signin`, first in its middleware, so this check then sees
only cookies this host set); under ``app.py`` or on plain http to another host, deploy on
a host with no untrusted sibling subdomains (README, "Sign-in, roles and deployment").
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
    ``st.context.headers``: every ``Cookie`` header, and :data:`REFUSED_HEADER` where
    ``serve.py``'s middleware removed repeated sign-in cookies), else None; None outside a
    run."""
    try:
        import streamlit as st

        headers = st.context.headers
        cookies = headers.get_all("cookie")
        refused = headers.get_all(REFUSED_HEADER.decode())
    except Exception:  # no run context (a test, the CLI): no request to read
        return None
    names = set(repeated_signin_cookies(cookies))
    for text in refused:  # any text refuses: the header names fixed cookie names only
        names |= {n.strip() for n in text.split(",") if SIGNIN_COOKIE.match(n.strip())}
        names = names or {"_streamlit_user"}
    return repeated_problem(sorted(names)) if names else None


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


#: Streamlit's websocket, under the base path: a cookie planted for it alone (``Path=`` this
#: path) reaches no page request, so every refusal deletes the sign-in cookies at its paths.
STREAM_PATH = "/_stcore/stream"
#: The most ``/``-separated steps of a request path whose cookie paths a refusal deletes
#: (Streamlit's deepest: ``/base/_stcore/upload_file/<session>/<file>``).
MAX_PATH_STEPS = 8
#: The most sign-in cookie names a refusal deletes (the two names and their chunks; a
#: request naming more gets no more ``Set-Cookie`` headers: it harms only its sender).
MAX_DELETED_NAMES = 16
#: The most domains above the host a refusal deletes at.
MAX_DOMAINS = 8
_PATH_TEXT = re.compile(r"/[A-Za-z0-9._~!$&'()*+=:@%/-]*\Z")
_LABEL = re.compile(r"[a-z0-9_-]{1,63}\Z")


def cookie_paths(path: str) -> list[str]:
    """Every ``Path`` of a cookie a browser sends with a request for ``path`` (the URL's
    path as sent, percent-encoded; RFC 6265 5.1.4: "/", each prefix that ends before a "/",
    with and without that "/", and the path itself), for at most :data:`MAX_PATH_STEPS`
    steps; none with a character a ``Set-Cookie`` attribute cannot hold.

    Example:
        >>> cookie_paths("/_stcore/stream")
        ['/', '/_stcore', '/_stcore/', '/_stcore/stream']
        >>> cookie_paths("/a;b/c"), cookie_paths("")
        (['/'], ['/'])
    """
    out = ["/"]
    if not path.startswith("/"):
        return out
    cuts = [i for i, c in enumerate(path) if c == "/" and i > 0][: MAX_PATH_STEPS - 1]
    for cut in cuts:
        out += [path[:cut], path[: cut + 1]]
    if len(cuts) < MAX_PATH_STEPS - 1:
        out.append(path)
    return [p for p in dict.fromkeys(out) if _PATH_TEXT.match(p)]


def deletions(names: list[str], host: str, paths: Iterable[str]) -> list[bytes]:
    """``Set-Cookie`` headers deleting each of ``names`` (at most :data:`MAX_DELETED_NAMES`)
    host-only and for every domain above ``host`` (a browser ignores a domain it would not
    have taken; at most :data:`MAX_DOMAINS`, each of plain labels), at each path."""
    domains = [
        d
        for d in (domains_above(host)[1:] if "." in host else [])
        if all(_LABEL.match(label) for label in d.split("."))
    ][:MAX_DOMAINS]
    out = []
    first = sorted(names, key=lambda n: (n not in ("_streamlit_user", "_streamlit_user_tokens"), n))
    for name in first[:MAX_DELETED_NAMES]:
        for path in dict.fromkeys(paths):
            base = f"{name}=; Max-Age=0; Path={path}; HttpOnly; SameSite=Lax"
            out.append(base.encode("latin-1"))
            for domain in domains:
                out.append(f"{base}; Domain={domain}".encode("latin-1"))
    return out


def refusal_paths(scope: Scope) -> list[str]:
    """The cookie paths a refusal of the request ``scope`` deletes at: those of the request's
    own path (:func:`cookie_paths`) and of the websocket's (:data:`STREAM_PATH` under
    ``server.baseUrlPath``), where a planted sign-in cookie may sit unseen by the pages."""
    raw = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "replace")
    path = raw.decode("latin-1").split("?", 1)[0]
    base = _cookie_path().rstrip("/")
    return list(dict.fromkeys([*cookie_paths(path), *cookie_paths(base + STREAM_PATH)]))


def _cookie_path() -> str:
    try:
        from streamlit import config

        base = config.get_option("server.baseUrlPath") or ""
    except Exception:  # outside a server: the root
        base = ""
    return "/" + base.strip("/") if base.strip("/") else "/"


#: The request header :class:`RepeatedSignInCookies` gives a websocket whose sign-in cookies
#: it removed: the names that repeated (read by :func:`page_cookie_problem`). A client
#: sending it itself only refuses its own sign-in.
REFUSED_HEADER = b"x-pricewar-signin-refused"


def without_signin_cookies(header: str) -> str:
    """A ``Cookie`` header's text without its sign-in cookies (the others as they were).

    Example:
        >>> without_signin_cookies("_streamlit_xsrf=2|a; _streamlit_user=x;b=1; _streamlit_user_1=y")
        '_streamlit_xsrf=2|a;b=1'
    """
    kept = [p for p in header.split(";") if not SIGNIN_COOKIE.match(p.split("=", 1)[0].strip())]
    return ";".join(kept).strip()


def as_nobody(scope: Scope, names: list[str]) -> Scope:
    """``scope`` (a websocket's) with every sign-in cookie removed from its ``Cookie``
    headers, so Streamlit signs nobody in, and :data:`REFUSED_HEADER` naming ``names``, so
    the page says why. A websocket cannot be refused in words: a browser refused the
    handshake (403) retries it for as long as the tab is open, showing Streamlit's loading
    skeleton, and keeps no ``Set-Cookie`` of the refusal (chromium, round 27 of #12: a
    cookie planted for the websocket's path alone, which no page request carries)."""
    headers = [
        (k, without_signin_cookies(v.decode("latin-1")).encode("latin-1"))
        if k.lower() == b"cookie"
        else (k, v)
        for k, v in scope.get("headers") or []
        if k.lower() != REFUSED_HEADER
    ]
    headers.append((REFUSED_HEADER, ", ".join(names).encode("latin-1")))
    return {**scope, "headers": headers}


def _page(problem: str) -> bytes:
    """The page a browser shows instead of the dashboard (no script, nothing from the
    request but fixed cookie names)."""
    return (
        "<!doctype html><meta charset=utf-8><title>Price War Room: sign-in refused</title>"
        f"<h1>Price War Room</h1><p>{html.escape(problem)}</p>"
    ).encode()


class RepeatedSignInCookies:
    """ASGI middleware (``dashboard/serve.py``): a request carrying a sign-in cookie name
    twice with different values gets 403 with :func:`repeated_problem` (an upload: "Upload
    refused: …" as text) and every sign-in cookie it carries deleted at every path it may
    have been set for (:func:`refusal_paths`); such a websocket opens as nobody's
    (:func:`as_nobody`), so the page says why; others pass."""

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
        host = next((v.decode("latin-1") for k, v in headers if k.lower() == b"host"), "")
        set_cookies = deletions(signin_cookie_names(cookies), host, refusal_paths(scope))
        if scope["type"] == "websocket":
            # opened signed in as nobody, the page saying why (a refused handshake showed
            # Streamlit's loading skeleton for good: round 27 of #12)
            await self.app(as_nobody(scope, names), receive, send)
            return
        from dashboard.upload_sender import upload_session

        if upload_session(scope.get("method", ""), scope.get("path", "")) is not None:
            # the uploader shows the text, as for the upload sender check's refusals
            kind, body = b"text/plain", f"Upload refused: {problem}".encode()
        else:
            kind, body = b"text/html", _page(problem)
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
