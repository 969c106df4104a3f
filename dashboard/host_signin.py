"""Sign-in cookies a sibling subdomain cannot plant: ``__Host-`` (GAPS.md item 17).

Streamlit keeps the signed-in user in host-only cookies named ``_streamlit_user`` and
``_streamlit_user_tokens`` (chunks ``…_1``, ``…_2``). A page on a sibling subdomain may
set a cookie of that name for the parent domain, signed by this server for the planter's
own sign-in; a browser holding only that cookie (never signed in here, or signed out) is
then signed in as the planter (login fixation). A cookie named ``__Host-…`` is taken by a
browser only from this very host, with ``Secure``, ``Path=/`` and no ``Domain``
(RFC 6265bis 4.1.3.2), so no other host can set one.

The same goes for the sign-in's start: between ``/auth/login`` and ``/oauth2callback``
Authlib keeps the state in Streamlit's session cookie ``_streamlit_session``. A planter that
starts a sign-in, signs in on the provider and keeps the redirect back unfollowed can plant
its session cookie and send the victim to that ``/oauth2callback?code=…&state=…``: the
server finished the planter's sign-in in the victim's browser (measured in chromium, with
only the ``_streamlit_user`` cookies prefixed: "Signed in as" the planter).

:class:`HostOnlySignIn` (ASGI middleware, ``dashboard/serve.py``) keeps these cookies
(:func:`is_host_cookie`) under that prefix: every ``Set-Cookie`` of one (deletions too) is
sent as ``__Host-<name>`` with ``Secure; Path=/`` and no ``Domain``
(:func:`host_set_cookie`); in every request (page, upload, websocket) the plain ones are
dropped (the server never sets them any more: only a planter or an old session could have)
and the ``__Host-`` ones are handed to Streamlit under the plain name
(:func:`host_cookie_header`). Streamlit reads only what a browser can have got from this
host. A user with an old plain cookie is signed out once.

Browsers take ``Secure`` cookies only from secure origins: https, and http on a loopback
host (Chromium 150 takes them from http://127.0.0.1, 127.0.0.2, [::1], localhost and
pwr.localhost: checked in the real browser; Safari has refused them on http://localhost,
so a loopback trial there needs https). The deployment's public URL is ``[auth]
redirect_uri`` in the secrets (:func:`takes_host_cookies`): on plain http elsewhere the
middleware changes nothing and logs one warning at start, and without sign-in configured
it changes nothing. Streamlit sizes its chunks for ``name=value`` plus some 50 bytes of
attributes within 4096 bytes; the prefix adds 7 to the name, still within browsers' 4096
for name and value.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from dashboard.signin_cookies import SIGNIN_COOKIE, Receive, Scope, Send

log = logging.getLogger("dashboard.host_signin")

#: The prefix browsers keep for cookies of this host alone.
PREFIX = "__Host-"
#: The attributes a ``__Host-`` cookie must not carry otherwise (replaced by ``Path=/`` and
#: ``Secure``).
_REPLACED = {"domain", "path", "secure"}
#: Streamlit's session cookie (``SessionMiddleware``), where Authlib keeps a sign-in's state
#: between ``/auth/login`` and ``/oauth2callback``: planted, it finishes the planter's
#: sign-in in the victim's browser (the planter's code and state), so it is kept like them.
SESSION_COOKIE = "_streamlit_session"
#: ``redirect_uri`` unread (the middleware reads the secrets).
_FROM_SECRETS: Any = object()

#: The ASGI messages whose headers may set cookies.
_WITH_HEADERS = ("http.response.start", "websocket.http.response.start", "websocket.accept")

Headers = list[tuple[bytes, bytes]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def takes_host_cookies(url: str) -> bool:
    """Whether browsers take ``Secure`` (so ``__Host-``) cookies from ``url``'s origin:
    https, or http on a loopback host (``localhost``, ``*.localhost``, 127.0.0.0/8, ::1).

    Example:
        >>> [takes_host_cookies(u) for u in ("https://pwr.example.com/oauth2callback",
        ...  "http://127.0.0.1:8501/x", "http://[::1]:8501/", "http://localhost/")]
        [True, True, True, True]
        >>> [takes_host_cookies(u) for u in ("http://pwr.example.com/", "http://10.0.0.5/",
        ...  "ftp://localhost/", "")]
        [False, False, False, False]
    """
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return False
    if parts.scheme.lower() == "https":
        return bool(host)
    if parts.scheme.lower() != "http" or not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_host_cookie(name: str) -> bool:
    """Whether ``name`` is one this middleware keeps as a ``__Host-`` cookie: a sign-in
    cookie (``dashboard.signin_cookies.SIGNIN_COOKIE``: ``_streamlit_user``,
    ``_streamlit_user_tokens``, their chunks) or :data:`SESSION_COOKIE`.

    Example:
        >>> names = ("_streamlit_user_2", "_streamlit_session", "_streamlit_xsrf", "x")
        >>> [is_host_cookie(name) for name in names]
        [True, True, False, False]
    """
    return name == SESSION_COOKIE or SIGNIN_COOKIE.match(name) is not None


def _cookie_name(pair: str) -> str:
    """The name of ``pair`` (``name=value``) as Starlette reads it (stripped)."""
    return pair.split("=", 1)[0].strip() if "=" in pair else ""


def host_set_cookie(header: str) -> str:
    """``header`` (a ``Set-Cookie`` value) as a ``__Host-`` cookie where
    :func:`is_host_cookie` names its cookie: the name prefixed, ``Domain``, ``Path`` and
    ``Secure`` replaced by ``Path=/; Secure``, the value and other attributes kept; any
    other cookie unchanged.

    Example:
        >>> host_set_cookie("_streamlit_user_1=v; HttpOnly; Path=/app; SameSite=lax")
        '__Host-_streamlit_user_1=v; HttpOnly; SameSite=lax; Path=/; Secure'
        >>> host_set_cookie('_streamlit_user=""; Max-Age=0; Domain=example.com; Path=/')
        '__Host-_streamlit_user=""; Max-Age=0; Path=/; Secure'
        >>> host_set_cookie("_streamlit_xsrf=x; Path=/")
        '_streamlit_xsrf=x; Path=/'
    """
    pair, _, rest = header.partition(";")
    name = _cookie_name(pair)
    if not is_host_cookie(name):
        return header
    value = pair.split("=", 1)[1].strip()
    attributes = [a.strip() for a in rest.split(";") if a.strip()]
    kept = [a for a in attributes if a.split("=", 1)[0].strip().lower() not in _REPLACED]
    return "; ".join([f"{PREFIX}{name}={value}", *kept, "Path=/", "Secure"])


def is_deletion(header: str, now: float | None = None) -> bool:
    """Whether ``header`` (a ``Set-Cookie`` value) deletes its cookie: ``Max-Age`` of 0 or
    less, or else an ``Expires`` date before ``now``.

    Example:
        >>> is_deletion('a=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/')
        True
        >>> is_deletion("a=1; Max-Age=2592000"), is_deletion("a=1; Path=/")
        (False, False)
    """
    now = time.time() if now is None else now
    expires = None
    for attribute in header.split(";")[1:]:
        key, _, value = attribute.partition("=")
        key, value = key.strip().lower(), value.strip()
        if key == "max-age":
            try:
                return int(value) <= 0
            except ValueError:
                continue
        if key == "expires":
            try:
                expires = parsedate_to_datetime(value).timestamp()
            except (TypeError, ValueError, IndexError):
                continue
    return expires is not None and expires < now


def host_set_cookies(headers: Iterable[tuple[bytes, bytes]]) -> Headers:
    """Response ``headers`` with every ``Set-Cookie`` as :func:`host_set_cookie` writes
    it, in order; a repeat dropped, and a deletion dropped where the response also
    sets that cookie (Streamlit deletes a base path's old cookie at ``/`` before setting
    it at the base path: both are ``Path=/`` now).

    Example:
        >>> for k, v in host_set_cookies([(b"Set-Cookie", b"_streamlit_user=; Max-Age=0; Path=/"),
        ...         (b"set-cookie", b"_streamlit_user=new; Path=/app"), (b"x", b"1")]):
        ...     print(k.decode(), v.decode())
        set-cookie __Host-_streamlit_user=new; Path=/; Secure
        x 1
    """
    out: Headers = []
    for key, value in headers:
        if key.lower() == b"set-cookie":
            value = host_set_cookie(value.decode("latin-1")).encode("latin-1")
        out.append((key, value))
    set_names = {
        _cookie_name(v.decode("latin-1").split(";", 1)[0])
        for k, v in out
        if k.lower() == b"set-cookie" and not is_deletion(v.decode("latin-1"))
    }
    seen: set[bytes] = set()
    kept: Headers = []
    for key, value in out:
        if key.lower() == b"set-cookie":
            text = value.decode("latin-1")
            name = _cookie_name(text.split(";", 1)[0])
            if value in seen or (
                name.startswith(PREFIX) and name in set_names and is_deletion(text)
            ):
                continue
            seen.add(value)
        kept.append((key, value))
    return kept


def host_cookie_header(header: str) -> str:
    """``header`` (a ``Cookie`` value) as Streamlit is to read it: the plain cookies
    :func:`is_host_cookie` names dropped, ``__Host-`` ones under the plain name, the rest
    (and every value, quoted or not) as sent.

    Example:
        >>> host_cookie_header("a=1; _streamlit_user=planted; __Host-_streamlit_user=own")
        'a=1; _streamlit_user=own'
        >>> host_cookie_header('__Host-_streamlit_user_tokens_2="q; r"')
        '_streamlit_user_tokens_2="q; r"'
        >>> host_cookie_header("_streamlit_user_1=x; __HOST-_streamlit_user=y")
        '__HOST-_streamlit_user=y'
    """
    parts = []
    for part in header.split(";"):
        name = _cookie_name(part)
        if is_host_cookie(name):
            continue  # only a planter (or an old session) could have set a plain one
        if name.startswith(PREFIX) and is_host_cookie(name[len(PREFIX) :]):
            part = f"{name[len(PREFIX) :]}={part.split('=', 1)[1].strip()}"
        if part.strip():
            parts.append(part.strip())
    return "; ".join(parts)


def host_request_headers(headers: Iterable[tuple[bytes, bytes]]) -> Headers:
    """Request ``headers`` with each ``Cookie`` header as :func:`host_cookie_header` writes
    it (one left empty dropped), the others and their order unchanged.

    Example:
        >>> host_request_headers([(b"cookie", b"_streamlit_user=p"),
        ...     (b"cookie", b"__Host-_streamlit_user=o"), (b"host", b"h")])
        [(b'cookie', b'_streamlit_user=o'), (b'host', b'h')]
    """
    out: Headers = []
    for key, value in headers:
        if key.lower() == b"cookie":
            value = host_cookie_header(value.decode("latin-1")).encode("latin-1")
            if not value:
                continue
        out.append((key, value))
    return out


def configured_redirect_uri() -> str | None:
    """``[auth] redirect_uri`` of the secrets as Streamlit reads it (``{port}`` filled in),
    else None (no sign-in configured, or no secrets readable)."""
    try:
        from streamlit.auth_util import get_redirect_uri, get_secrets_auth_section

        return get_redirect_uri(get_secrets_auth_section())
    except Exception:  # no secrets file, or one Streamlit cannot read: no sign-in
        return None


class HostOnlySignIn:
    """ASGI middleware: Streamlit's sign-in and session cookies as ``__Host-`` cookies, sent
    (:func:`host_set_cookies`) and read (:func:`host_request_headers`), where the deployment's
    public URL (``redirect_uri``, read from the secrets unless given) is one browsers take
    them from (:func:`takes_host_cookies`); else every request and response passes as
    they are."""

    def __init__(self, app: App, redirect_uri: str | None = _FROM_SECRETS) -> None:
        self.app = app
        if redirect_uri is _FROM_SECRETS:
            redirect_uri = configured_redirect_uri()
        self.enabled = bool(redirect_uri) and takes_host_cookies(str(redirect_uri))
        if redirect_uri and not self.enabled:
            log.warning(
                "sign-in cookies can be planted: redirect_uri %s is plain http on a host "
                "that is not loopback, where browsers refuse __Host- cookies; a page on "
                "another subdomain of its domain can sign a browser in as someone else "
                "(serve the dashboard over https: README, 'Sign-in, roles and deployment')",
                redirect_uri,
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.enabled or scope.get("type") not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        scope = dict(scope)
        scope["headers"] = host_request_headers(scope.get("headers") or [])

        async def send_host_cookies(message: MutableMapping[str, Any]) -> None:
            if message.get("type") in _WITH_HEADERS:
                message = dict(message)
                message["headers"] = host_set_cookies(message.get("headers") or [])
            await send(message)

        await self.app(scope, receive, send_host_cookies)
