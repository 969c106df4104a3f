"""GAPS.md item 17, the rest: a browser holding only a sign-in cookie planted from a sibling
subdomain (``dashboard/host_signin.py``: Streamlit's sign-in cookies as ``__Host-`` ones).

The rewriting is tested on its own and over a real Starlette app driven through ASGI; then,
end to end, Debian's chromium signs in on the real OpenID Connect provider (``tests/oidc``,
as ``tests/e2e/test_sign_in.py``) against ``streamlit run dashboard/serve.py``: the
browser holds ``__Host-_streamlit_user``, stays signed in on reload and is signed out by
Sign out; a browser holding only a plain ``_streamlit_user`` the server signed for another
user is not signed in.

Broke (before ``HostOnlySignIn`` in ``serve.py``'s middleware): that browser was signed in
as the planter ("Signed in as ana@example.com · analyst").
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request, cookie_parser
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from dashboard.host_signin import (
    SESSION_COOKIE,
    HostOnlySignIn,
    host_cookie_header,
    host_request_headers,
    host_set_cookie,
    host_set_cookies,
    is_deletion,
    takes_host_cookies,
)
from dashboard.signin_cookies import RepeatedSignInCookies
from tests import oidc
from tests.reliability.conftest import ARTIFACTS, cli_env, copy_db, needs_chromium, run_coroutine
from tests.reliability.signed import signed_identity

# -- Set-Cookie ------------------------------------------------------------------------------


def _attributes(header: str) -> dict[str, str]:
    """The attributes of a ``Set-Cookie`` value, names lower-cased (a flag maps to "")."""
    out = {}
    for attribute in header.split(";")[1:]:
        key, _, value = attribute.partition("=")
        assert key.strip().lower() not in out, header  # none twice
        out[key.strip().lower()] = value.strip()
    return out


def _starlette_set_cookies(build: Any) -> list[str]:
    """The ``Set-Cookie`` values Starlette writes for ``build(response)``."""
    response = Response()
    build(response)
    return [v.decode("latin-1") for k, v in response.raw_headers if k == b"set-cookie"]


@pytest.mark.parametrize(
    "name",
    [
        "_streamlit_user",
        "_streamlit_user_tokens",
        "_streamlit_user_3",
        "_streamlit_user_tokens_12",
        "_streamlit_session",
    ],
)
@pytest.mark.parametrize("path", ["/", "/pwr"])
def test_a_sign_in_cookie_is_set_as_a_host_cookie(name: str, path: str) -> None:
    """Held: Starlette's ``Set-Cookie`` for a sign-in or session cookie (as Streamlit sets it: a quoted
    signed value, HttpOnly, SameSite=lax, 30 days, the base path) comes out as
    ``__Host-<name>`` with the value and every other attribute as they were, ``Path=/`` and
    ``Secure``, and no ``Domain``."""
    value = "2|1:0|10:1700000000|15:_streamlit_user|8:eyJhIjoxfQ==|abc"
    (header,) = _starlette_set_cookies(
        lambda r: r.set_cookie(name, value, max_age=2592000, path=path, httponly=True)
    )
    rewritten = host_set_cookie(header)
    pair = rewritten.split(";", 1)[0]
    assert pair == f"__Host-{header.split(';', 1)[0]}", (header, rewritten)
    assert cookie_parser(pair) == {f"__Host-{name}": value}
    attributes = _attributes(rewritten)
    assert attributes["path"] == "/" and attributes["secure"] == "", rewritten
    assert "domain" not in attributes, rewritten
    assert attributes["max-age"] == "2592000" and attributes["samesite"] == "lax"
    assert "httponly" in attributes and not is_deletion(rewritten)


def test_a_deletion_deletes_the_host_cookie() -> None:
    """Held: Starlette's deletion (logout) of a sign-in cookie, at a base path or with a
    ``Domain`` (``RepeatedSignInCookies``' refusal), deletes ``__Host-<name>``: ``Max-Age=0``,
    ``Path=/``, ``Secure``, no ``Domain``."""
    headers = _starlette_set_cookies(
        lambda r: (
            r.delete_cookie("_streamlit_user", path="/pwr"),
            r.delete_cookie("_streamlit_user_tokens_2", domain="example.com"),
        )
    )
    for header in headers:
        rewritten = host_set_cookie(header)
        assert rewritten.startswith("__Host-_streamlit_user"), rewritten
        assert is_deletion(header) and is_deletion(rewritten), rewritten
        attributes = _attributes(rewritten)
        assert attributes["max-age"] == "0" and attributes["path"] == "/", rewritten
        assert "secure" in attributes and "domain" not in attributes, rewritten


@pytest.mark.parametrize(
    "header",
    [
        "_streamlit_xsrf=2|ab; Path=/; SameSite=Lax",
        "_streamlit_user_x=1; Path=/",
        "x_streamlit_user=1; Path=/",
        "__Host-_streamlit_user=1; Path=/; Secure",
    ],
)
def test_other_cookies_are_set_as_they_were(header: str) -> None:
    assert host_set_cookie(header) == header


def test_a_response_deleting_and_setting_a_cookie_keeps_the_setting() -> None:
    """Held: Streamlit's sign-in response under a base path deletes the old root cookie then
    sets it at the base path; both are ``Path=/`` host cookies now, so the deletion is
    dropped (else a browser that applies them in another order signs nobody in); a chunk
    deleted and not set stays deleted; a repeated deletion is sent once; other headers keep
    their order."""
    headers = [
        (b"location", b"/"),
        *(
            (b"set-cookie", v.encode())
            for v in _starlette_set_cookies(
                lambda r: (
                    r.delete_cookie("_streamlit_user", path="/"),
                    r.delete_cookie("_streamlit_user_3", path="/pwr"),
                    r.delete_cookie("_streamlit_user_3", path="/"),
                    r.set_cookie("_streamlit_user", "new", path="/pwr", httponly=True),
                    r.set_cookie("_streamlit_xsrf", "x", path="/"),
                )
            )
        ),
        (b"content-length", b"0"),
    ]
    out = host_set_cookies(headers)
    cookies = [v.decode() for k, v in out if k == b"set-cookie"]
    assert [k for k, _ in out] == [b"location", *[b"set-cookie"] * 3, b"content-length"]
    assert cookies[0].startswith("__Host-_streamlit_user_3=") and is_deletion(cookies[0])
    assert cookies[1].startswith("__Host-_streamlit_user=new;") and not is_deletion(cookies[1])
    assert cookies[2].startswith("_streamlit_xsrf=x;"), cookies


def test_streamlits_chunked_sign_in_cookies_fit_and_read_back() -> None:
    """Held: Streamlit's own sign-in response for a user whose claims need chunks
    (``starlette_auth_routes._set_auth_cookie``), rewritten: every cookie is a ``__Host-``
    one whose name and value fit in a browser's 4096 bytes, and the request a browser
    sends back, rewritten, is read by Streamlit's websocket code as the same claims."""
    from streamlit.web.server.starlette.starlette_auth_routes import _set_auth_cookie
    from streamlit.web.server.starlette.starlette_websocket import _get_signed_cookie_with_chunks

    claims = {"origin": "https://pwr.example.com", "email": "ana@example.com"}
    claims["groups"] = [secrets.token_hex(24) for _ in range(150)]  # ~7 kB, random
    tokens = {"id_token": secrets.token_urlsafe(4000)}  # compressed as they are signed
    response = Response()
    run_coroutine(_set_auth_cookie(response, claims, tokens))
    out = host_set_cookies(response.raw_headers)
    pairs = [v.decode("latin-1").split(";", 1)[0] for k, v in out if k == b"set-cookie"]
    names = [p.split("=", 1)[0] for p in pairs]
    assert "__Host-_streamlit_user_2" in names and "__Host-_streamlit_user_tokens_1" in names
    assert all(n.startswith("__Host-_streamlit_user") for n in names), names
    assert max(len(p) for p in pairs) <= 4096, max(len(p) for p in pairs)
    cookies = cookie_parser(host_cookie_header("; ".join(pairs)))
    assert not any(name.startswith("__Host-") for name in cookies), cookies
    assert json.loads(_get_signed_cookie_with_chunks(cookies, "_streamlit_user")) == claims
    assert json.loads(_get_signed_cookie_with_chunks(cookies, "_streamlit_user_tokens")) == tokens


def test_the_session_cookie_is_streamlits() -> None:
    """Held: :data:`SESSION_COOKIE` is the name of Streamlit's session cookie (Authlib's
    state between ``/auth/login`` and ``/oauth2callback``)."""
    from streamlit.web.server.starlette.starlette_server_config import SESSION_COOKIE_NAME

    assert SESSION_COOKIE == SESSION_COOKIE_NAME


# -- Cookie ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "read"),
    [
        # a planted plain cookie (or an old session's) is dropped; the host cookie is read
        ("_streamlit_user=planted", {}),
        ("__Host-_streamlit_user=own; _streamlit_user=planted", {"_streamlit_user": "own"}),
        ("_streamlit_user=planted; __Host-_streamlit_user=own", {"_streamlit_user": "own"}),
        # chunks and tokens, planted and own
        (
            "__Host-_streamlit_user=chunks-2; __Host-_streamlit_user_1=a; _streamlit_user_2=p; "
            "__Host-_streamlit_user_2=b; _streamlit_user_tokens=p",
            {"_streamlit_user": "chunks-2", "_streamlit_user_1": "a", "_streamlit_user_2": "b"},
        ),
        # quoted values, spaces around names and values: read as Starlette reads them
        ('__Host-_streamlit_user="2|1:0|a=="', {"_streamlit_user": "2|1:0|a=="}),
        (' __Host-_streamlit_user_tokens =  "x\\073y" ', {"_streamlit_user_tokens": "x;y"}),
        # other cookies as sent; other spellings of the prefix are not this host's
        (
            "_streamlit_xsrf=2|x; __HOST-_streamlit_user=p; __host-_streamlit_user=p; a",
            {
                "_streamlit_xsrf": "2|x",
                "__HOST-_streamlit_user": "p",
                "__host-_streamlit_user": "p",
                "": "a",
            },
        ),
        ("__Host-other=1; _streamlit_user_x=2", {"__Host-other": "1", "_streamlit_user_x": "2"}),
        # the sign-in's start (Authlib's state), planted and own
        (
            "_streamlit_session=planted; __Host-_streamlit_session=own",
            {"_streamlit_session": "own"},
        ),
    ],
)
def test_the_cookie_header_holds_only_host_sign_in_cookies(sent: str, read: dict[str, str]) -> None:
    assert cookie_parser(host_cookie_header(sent)) == read


def test_several_cookie_headers_are_each_rewritten_and_an_empty_one_dropped() -> None:
    """Held: a request with three ``Cookie`` headers (HTTP/2 sends one per cookie): the one
    holding only a planted cookie is gone, the others rewritten in place, other headers
    untouched; Starlette reads the host cookie under the plain name."""
    headers = [
        (b"host", b"pwr.example.com"),
        (b"cookie", b"_streamlit_user=planted"),
        (b"Cookie", b"a=1; __Host-_streamlit_user=own"),
        (b"origin", b"https://pwr.example.com"),
        (b"cookie", b"_streamlit_user_1=planted; b=2"),
    ]
    out = host_request_headers(headers)
    assert out == [
        (b"host", b"pwr.example.com"),
        (b"Cookie", b"a=1; _streamlit_user=own"),
        (b"origin", b"https://pwr.example.com"),
        (b"cookie", b"b=2"),
    ]
    scope = {"type": "http", "headers": [(k.lower(), v) for k, v in out]}
    assert Request(scope).cookies == {"a": "1", "_streamlit_user": "own", "b": "2"}


# -- the middleware over a real Starlette app ----------------------------------------------


async def _who(request: Request) -> JSONResponse:
    return JSONResponse(request.cookies)


async def _login(request: Request) -> Response:
    response = Response(status_code=302, headers={"location": "/"})
    response.set_cookie("_streamlit_user", "signed", path="/", httponly=True, max_age=60)
    return response


async def _logout(request: Request) -> Response:
    response = Response(status_code=302, headers={"location": "/"})
    for name in request.cookies:  # as Streamlit does: the names the request carries
        if name.startswith("_streamlit_user"):
            response.delete_cookie(name, path="/")
    return response


async def _stream(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json(websocket.cookies)
    await websocket.close()


APP = Starlette(
    routes=[
        Route("/", _who),
        Route("/auth/login", _login),
        Route("/auth/logout", _logout),
        WebSocketRoute("/_stcore/stream", _stream),
    ]
)


def _through(app: Any, kind: str, path: str, cookies: list[str]) -> list[dict[str, Any]]:
    """The ASGI messages ``app`` sends for one ``kind`` ("http" or "websocket") request of
    ``path`` carrying one ``Cookie`` header per item of ``cookies``."""
    scope = {
        "type": kind,
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": "https" if kind == "http" else "wss",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "server": ("127.0.0.1", 8501),
        "client": ("127.0.0.1", 50000),
        "headers": [(b"host", b"pwr.example.com"), *((b"cookie", c.encode()) for c in cookies)],
        "subprotocols": [],
    }
    incoming = [{"type": "http.request", "body": b"", "more_body": False}]
    if kind == "websocket":
        incoming = [{"type": "websocket.connect"}, {"type": "websocket.disconnect", "code": 1000}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    run_coroutine(app(scope, receive, send))
    return sent


def _set_cookies(messages: list[dict[str, Any]]) -> list[str]:
    start = next(m for m in messages if m["type"].endswith("response.start"))
    return [v.decode() for k, v in start["headers"] if k.lower() == b"set-cookie"]


def _read(messages: list[dict[str, Any]]) -> dict[str, str]:
    """What the app read as the request's cookies (the page's body or the websocket's
    first message)."""
    for m in messages:
        if m["type"] == "http.response.body" or m["type"] == "websocket.send":
            return json.loads(m.get("body") or m.get("text"))
    raise AssertionError(messages)


def test_the_middleware_sets_and_reads_only_host_cookies() -> None:
    """Held, over Starlette (routes as Streamlit's: sign-in sets, sign-out deletes what the
    request carries, the page and the websocket read ``cookies``), with
    ``RepeatedSignInCookies`` inside as in ``serve.py``: sign-in sets ``__Host-`` cookies;
    the page and the websocket read the host cookie under the plain name and never a planted
    plain one (alone, beside the host cookie, or two different planted ones: no refusal,
    nothing of them read); sign-out deletes the host cookies."""
    app = HostOnlySignIn(RepeatedSignInCookies(APP), "https://pwr.example.com/oauth2callback")
    assert app.enabled
    (login,) = _set_cookies(_through(app, "http", "/auth/login", []))
    assert login.startswith("__Host-_streamlit_user=signed;") and "; Secure" in login, login
    for kind, path in (("http", "/"), ("websocket", "/_stcore/stream")):
        assert _read(_through(app, kind, path, ["_streamlit_user=planted; a=1"])) == {"a": "1"}
        both = ["_streamlit_user=planted", "__Host-_streamlit_user=signed"]
        assert _read(_through(app, kind, path, both)) == {"_streamlit_user": "signed"}
        two = ["_streamlit_user=p1; _streamlit_user=p2; __Host-_streamlit_user=signed"]
        assert _read(_through(app, kind, path, two)) == {"_streamlit_user": "signed"}
    sent = ["__Host-_streamlit_user=signed; __Host-_streamlit_user_tokens_1=t; _streamlit_user=p"]
    logout = _set_cookies(_through(app, "http", "/auth/logout", sent))
    assert sorted(c.split("=", 1)[0] for c in logout) == [
        "__Host-_streamlit_user",
        "__Host-_streamlit_user_tokens_1",
    ], logout
    assert all(is_deletion(c) and "; Secure" in c for c in logout), logout


@pytest.mark.parametrize(
    ("redirect_uri", "enabled", "warned"),
    [
        ("https://pwr.example.com/oauth2callback", True, False),
        ("http://127.0.0.1:8501/oauth2callback", True, False),
        ("http://localhost:8501/oauth2callback", True, False),
        ("http://pwr.example.com/oauth2callback", False, True),
        ("http://10.0.0.5:8501/oauth2callback", False, True),
        (None, False, False),
    ],
)
def test_host_cookies_only_where_browsers_take_them(
    redirect_uri: str | None, enabled: bool, warned: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """Held: ``__Host-`` cookies where the public URL (``redirect_uri``) is https or http
    on loopback; elsewhere on plain http (browsers refuse ``Secure`` cookies there), or
    with no sign-in configured, requests and responses pass as they are, and plain http
    logs one warning naming the hole."""
    with caplog.at_level(logging.WARNING, logger="dashboard.host_signin"):
        app = HostOnlySignIn(APP, redirect_uri)
    assert app.enabled is enabled
    assert takes_host_cookies(redirect_uri) is enabled if redirect_uri else not enabled
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == (1 if warned else 0), warnings
    if warned:
        assert "sign-in cookies can be planted" in warnings[0], warnings
    read = _read(_through(app, "http", "/", ["_streamlit_user=plain"]))
    assert read == ({} if enabled else {"_streamlit_user": "plain"}), read
    (login,) = _set_cookies(_through(app, "http", "/auth/login", []))
    assert login.startswith("__Host-" if enabled else "_streamlit_user="), login


# -- end to end: chromium, the real provider, ``streamlit run dashboard/serve.py`` --------

VIEWER = oidc.User("vera@example.com", "vera-" + secrets.token_hex(8))
ANALYST = oidc.User("ana@example.com", "ana-" + secrets.token_hex(8))
CLIENT_ID = "price-war-room"


@dataclass
class ServeSetup:
    url: str
    provider: oidc.Provider
    cookie_secret: str


@pytest.fixture(scope="module")
def serve_signin(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> Iterator[ServeSetup]:
    """The provider, and ``streamlit run dashboard/serve.py`` configured against it (a
    viewer and an analyst on the access list)."""
    from bench.streamlit_server import free_port, run_streamlit
    from tests.reliability.test_attacks_round18 import serving

    if (missing := oidc.is_available()) is not None:
        pytest.skip(missing)
    folder = tmp_path_factory.mktemp("host-signin")
    port = free_port()
    redirect_uri = f"http://127.0.0.1:{port}/oauth2callback"
    client_secret, cookie_secret = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
    client = oidc.OidcClient(CLIENT_ID, client_secret, [redirect_uri], [redirect_uri])
    with (
        pytest.MonkeyPatch.context() as monkeypatch,
        oidc.run_provider(folder / "provider", [VIEWER, ANALYST], [client]) as provider,
    ):
        secrets_file, access_file = oidc.write_sign_in_files(
            folder,
            redirect_uri=redirect_uri,
            cookie_secret=cookie_secret,
            client_id=CLIENT_ID,
            client_secret=client_secret,
            metadata_url=provider.discovery_url,
            allow=[VIEWER.email],
            analysts=[ANALYST.email],
        )
        db = copy_db(demo_db, folder / "app.duckdb")
        env = cli_env(
            PRICEWAR_DB=str(db),
            PRICEWAR_AUTOTAG="0",
            PRICEWAR_INBOX_SECONDS="2",
            PRICEWAR_ACCESS_FILE=str(access_file),
        )
        for name in ("PRICEWAR_ALLOW", "PRICEWAR_ANALYSTS", "PRICEWAR_ADMINS"):
            env.pop(name, None)
        with (
            serving("dashboard/serve.py", monkeypatch),
            run_streamlit(
                db,
                env,
                log=folder / "streamlit.log",
                port=port,
                secrets=secrets_file,
                keep_log=ARTIFACTS / "streamlit-host-signin.log",
            ) as server,
        ):
            yield ServeSetup(server.url, provider, cookie_secret)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(provider.log, ARTIFACTS / "oidc-provider-host-signin.log")


def _button(page: Any, name: str) -> Any:
    return page.get_by_role("button", name=name, exact=True)


def _landed(page: Any) -> str:
    """The page's text once it shows Sign in or Sign out and its run has finished."""
    from tests.chromium import settle

    page.get_by_role("button", name=re.compile(r"^Sign (in|out)$")).first.wait_for(timeout=90_000)
    settle(page)
    return page.locator('[data-testid="stApp"]').inner_text()


def _signed_out(page: Any) -> None:
    """The sign-in prompt, no Sign out, and none of the pages."""
    text = _landed(page)
    said = re.findall(r"Signed in as[^\n]*", text) or [text[:200]]
    assert _button(page, "Sign out").count() == 0, said
    assert _button(page, "Sign in").count() == 1, said
    assert page.locator('[data-testid="stSidebarNavLink"]').count() == 0, said
    assert page.locator('[data-testid="stMetric"]').count() == 0, said


def _signed_in_as(page: Any, email: str) -> None:
    text = _landed(page)
    assert _button(page, "Sign out").count() == 1, text[:400]
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert email in sidebar, sidebar


def _sign_in_cookies(page: Any) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in page.context.cookies() if "_streamlit_user" in c["name"]}


def _planted(setup: ServeSetup, email: str) -> dict[str, Any]:
    """``_streamlit_user`` the server signed for ``email``'s sign-in, as a page on a sibling
    subdomain would set it: a plain cookie, no ``Secure``, sent with every request here."""
    value = signed_identity(setup.cookie_secret, setup.url, email)
    host = setup.url.split("//", 1)[1].rsplit(":", 1)[0]
    return {"name": "_streamlit_user", "value": value, "domain": host, "path": "/"}


@needs_chromium
@pytest.mark.e2e
def test_sign_in_keeps_a_host_cookie_and_sign_out_deletes_it(
    serve_signin: ServeSetup, browser: Any
) -> None:
    """Expected: signing in on the provider's form leaves the browser holding
    ``__Host-_streamlit_user`` (Secure, Path=/, host-only) and no plain sign-in cookie; a
    reload stays signed in; a plain cookie the server signed for the analyst, planted
    beside it, changes nothing (the viewer stays the viewer, nothing refused); Sign out
    deletes the host cookies and a reload stays signed out."""
    from tests.chromium import new_page

    setup = serve_signin
    with new_page(browser) as page:
        page.goto(setup.url)
        _signed_out(page)
        _button(page, "Sign in").click()
        page.wait_for_url(re.compile(re.escape(setup.provider.url) + r"/accounts/login/"))
        page.get_by_label("Username").fill(VIEWER.email)
        page.get_by_label("Password").fill(VIEWER.password)
        _button(page, "Sign in").click()  # the provider's form
        page.wait_for_url(re.compile(re.escape(setup.url) + r"/"), timeout=60_000)
        _signed_in_as(page, VIEWER.email)
        held = _sign_in_cookies(page)
        assert "__Host-_streamlit_user" in held, sorted(held)
        assert all(n.startswith("__Host-") for n in held), sorted(held)
        user = held["__Host-_streamlit_user"]
        assert user["secure"] and user["path"] == "/" and user["httpOnly"], user
        assert user["domain"] == "127.0.0.1", user  # host-only: no leading dot
        page.reload()
        _signed_in_as(page, VIEWER.email)
        page.context.add_cookies([_planted(setup, ANALYST.email)])
        page.reload()
        _signed_in_as(page, VIEWER.email)
        assert ANALYST.email not in page.locator('[data-testid="stSidebar"]').inner_text()
        assert page.get_by_text("Two different sign-in cookies").count() == 0
        _button(page, "Sign out").click()
        _button(page, "Sign in").wait_for(timeout=90_000)  # back from the provider
        _signed_out(page)
        left = _sign_in_cookies(page)
        assert not [n for n in left if n.startswith("__Host-")], sorted(left)
        page.reload()
        _signed_out(page)


@needs_chromium
@pytest.mark.e2e
def test_a_browser_holding_only_a_planted_cookie_is_not_signed_in(
    serve_signin: ServeSetup, browser: Any
) -> None:
    """Expected: a browser that never signed in here, holding only a plain
    ``_streamlit_user`` the server signed for the analyst's sign-in (what a page on a
    sibling subdomain can plant for the parent domain), sees the sign-in prompt and none of
    the pages, on the first page and on a deep link.

    Broke (``serve.py`` without ``HostOnlySignIn``): "Signed in as ana@example.com ·
    analyst", the Batch tagging uploader included (login fixation)."""
    from tests.chromium import new_page

    with new_page(browser) as page:
        page.context.add_cookies([_planted(serve_signin, ANALYST.email)])
        for path in ("", "batch-tagging"):
            page.goto(f"{serve_signin.url}/{path}")
            _signed_out(page)
            assert ANALYST.email not in page.locator('[data-testid="stApp"]').inner_text()
            assert page.locator('input[type="file"]').count() == 0
        # the same value as only this host can set it signs the analyst in: the planted
        # cookie was refused for where it came from, not for what it held
        planted = _planted(serve_signin, ANALYST.email)
        page.context.add_cookies(
            [planted | {"name": "__Host-_streamlit_user", "secure": True, "httpOnly": True}]
        )
        page.reload()
        _signed_in_as(page, ANALYST.email)


@needs_chromium
@pytest.mark.e2e
def test_a_planted_sign_in_start_does_not_finish_in_another_browser(
    serve_signin: ServeSetup, browser: Any
) -> None:
    """Expected: the planter starts a sign-in in its own browser, signs in on the provider
    and keeps the redirect back (``/oauth2callback?code=…&state=…``) unfollowed; it plants
    its sign-in start (Streamlit's ``_streamlit_session`` cookie, where Authlib keeps the
    state) as a plain cookie in the victim's browser and sends the victim to that address:
    the victim's browser is not signed in as the planter.

    Broke (with only the ``_streamlit_user`` cookies kept as host cookies): the server took
    the planted state, exchanged the planter's code and gave the victim's browser a
    ``__Host-_streamlit_user`` of the planter's ("Signed in as ana@example.com ·
    analyst")."""
    from urllib.parse import urljoin

    from tests.chromium import new_page

    setup = serve_signin
    with new_page(browser) as planter:
        planter.goto(setup.url)
        _signed_out(planter)
        _button(planter, "Sign in").click()  # the sign-in start: Streamlit's session cookie
        planter.wait_for_url(re.compile(re.escape(setup.provider.url) + r"/accounts/login/"))
        # the provider's form sent by hand, its redirects followed up to the callback alone
        fields = {
            "csrfmiddlewaretoken": planter.locator("input[name=csrfmiddlewaretoken]"),
            "next": planter.locator("input[name=next]"),
        }
        form = {k: v.get_attribute("value") or "" for k, v in fields.items()}
        form |= {"username": ANALYST.email, "password": ANALYST.password}
        action = urljoin(planter.url, planter.locator("form").get_attribute("action") or "")
        answer = planter.request.post(action, form=form, max_redirects=0)
        address = urljoin(action, answer.headers.get("location", ""))
        for _ in range(6):
            if address.startswith(setup.url + "/oauth2callback?"):
                break
            answer = planter.request.get(address, max_redirects=0)
            address = urljoin(address, answer.headers.get("location", ""))
        assert address.startswith(setup.url + "/oauth2callback?code="), address
        everything = planter.context.cookies()
    started = {c["name"]: c for c in everything if c["name"].endswith("_streamlit_session")}
    assert len(started) == 1, sorted((c["name"], c["domain"]) for c in everything)
    (session,) = started.values()
    host = setup.url.split("//", 1)[1].rsplit(":", 1)[0]
    with new_page(browser) as victim:
        victim.context.add_cookies(
            [{"name": "_streamlit_session", "value": session["value"], "domain": host, "path": "/"}]
        )
        victim.goto(address)
        _signed_out(victim)
        held = _sign_in_cookies(victim)
        assert not held, sorted(held)
        # the same start as only this host can set it finishes the sign-in: the planted
        # cookie was refused for where it came from, and the code was still good
        victim.context.add_cookies(
            [
                {
                    "name": "__Host-_streamlit_session",
                    "value": session["value"],
                    "domain": host,
                    "path": "/",
                    "secure": True,
                }
            ]
        )
        victim.goto(address)
        _signed_in_as(victim, ANALYST.email)
