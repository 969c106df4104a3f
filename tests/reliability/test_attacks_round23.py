"""Round 23 of the hostile-user attacks (#12): ``dashboard/upload_sender.py``, the check
that only a session's own signed-in user may ``PUT`` or ``DELETE`` its uploads.

The attacker is a signed-in viewer (or an admin, or a stranger the identity provider
signed in) who knows an analyst's upload address (session id and file id; round 22 found
no way to learn it, so it is given here). All over ``streamlit run dashboard/serve.py``
with sign-in (``signed.py``), raw HTTP requests written byte for byte (``http.client``:
no client tidies a path):

- Path variants: a base path (``server.baseUrlPath``), a trailing slash, doubled slashes,
  percent-encoded separators and letters, upper case, ``..`` segments, a query string,
  ``;`` parameters, the absolute form, other methods and method-override headers. For each,
  the owner's own request shows whether Streamlit routes it to the upload handler; the
  viewer's must never be taken.
- Identity cookies: unverified or signed-out claims of the analyst's address, expired or
  badly signed values, chunked cookies, a repeated name, a malformed header, a missing or
  odd ``Origin``; and the owner's own upload beside other cookies of the host. Every
  identity is sent as a browser on ``serve.py`` holds it, ``__Host-_streamlit_user``
  (``dashboard.host_signin``, GAPS 17; before it, as ``_streamlit_user``); plain ones are
  what a page on a sibling subdomain could plant.
- Sessions: a ``DELETE`` of another session's file, a closed tab, a reconnect (the owner's,
  and a viewer's reconnect to the analyst's session id), a sign-out, a role taken away,
  ``PUT`` s racing the owner's import; local mode; a base path; the analyst's upload in
  Debian's chromium beside another application's cookies.

Work is counted (statuses, rows), never timed.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState

from bench.light_client import LightSession
from tests.reliability.conftest import (
    needs_chromium,
    page_problems,
    record_figure,
    streamlit_server,
)
from tests.reliability.signed import (
    ADMIN,
    ANALYST,
    COOKIE_SECRET,
    VIEWER,
    SignedServer,
    SignedSession,
    identity_claims,
    run,
    session,
    signed,
)
from tests.reliability.test_attacks_round18 import peek, put_file, serving

#: The identity cookie's name as Streamlit signs it (the salt of its value).
NAME = "_streamlit_user"
#: Its name in a browser signed in on ``serve.py`` (``dashboard.host_signin``: on a loopback
#: ``redirect_uri`` the server sets ``__Host-`` cookies and drops plain ones, which only a
#: page on a sibling subdomain could have planted), hence in every request below.
USER = "__Host-" + NAME
#: The words of ``dashboard.upload_sender``'s refusals (Streamlit's own 403 says "XSRF
#: token missing or invalid", the upload guard's "Uploads need the analyst role").
REFUSED = "Upload refused: "

# -- identity cookies, signed as Streamlit signs them after a sign-in -------------------------


def signed_value(name: str, text: str, *, age_s: float = 0, secret: str = COOKIE_SECRET) -> str:
    """``text`` signed as Streamlit signs cookie ``name`` (itsdangerous, salted with the
    name), ``age_s`` seconds ago."""
    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    class Aged(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - age_s)

    return URLSafeTimedSerializer(secret, salt=name, signer=Aged).dumps(text)


def identity(
    email: str, origin: str, *, age_s: float = 0, cookie: str = USER, **changes: Any
) -> str:
    """``__Host-_streamlit_user=…`` for ``email`` (see :func:`claims`), or the cookie named
    ``cookie`` (the plain :data:`NAME`: one planted from another host); always signed under
    :data:`NAME`, as Streamlit signs it."""
    text = json.dumps(identity_claims(email, origin, **changes))
    return f"{cookie}={signed_value(NAME, text, age_s=age_s)}"


def chunked_identity(email: str, origin: str, **changes: Any) -> list[str]:
    """The cookies Streamlit sets for claims too large for one cookie (its own
    ``set_cookie_with_chunks``): ``_streamlit_user=chunks-N`` and ``_streamlit_user_1…N``
    (a long random display name, which no compression shortens, makes them too large), as
    a browser on ``serve.py`` holds them: each ``__Host-`` prefixed."""
    import secrets

    from streamlit.auth_util import set_cookie_with_chunks

    changes.setdefault("name", secrets.token_urlsafe(4500))

    jar: list[str] = []
    set_cookie_with_chunks(
        lambda name, value: jar.append(f"__Host-{name}={signed_value(name, value)}"),
        lambda name, value: signed_value(name, value).encode(),
        NAME,
        identity_claims(email, origin, **changes),
        cookie_attr_size=60,
    )
    assert len(jar) > 2, jar  # really chunked
    return jar


class Tab(SignedSession):
    """A signed-in session whose claims, ``Origin`` and reconnect id the test chooses."""

    def __init__(
        self,
        base_url: str,
        email: str,
        *,
        origin: str,
        changes: dict[str, Any] | None = None,
        resume: str = "",
    ) -> None:
        super().__init__(base_url, email, timeout=180)
        self.origin, self.changes, self.resume = origin, dict(changes or {}), resume

    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        self._xsrf = await asyncio.to_thread(xsrf_token, self.base_url)
        self._cookie = f"_streamlit_xsrf={self._xsrf}; " + identity(
            self.email, self.origin, **self.changes
        )
        protocols = ["streamlit", self._xsrf, *([self.resume] if self.resume else [])]
        self._ws = await connect(
            "ws" + self.base_url[4:] + "/_stcore/stream",
            subprotocols=protocols,
            additional_headers={"Origin": self.origin, "Cookie": self._cookie},
            max_size=None,
            open_timeout=self.timeout,
            ping_interval=None,
        )
        self._reader = asyncio.create_task(self._read(), name="round23-tab-reader")


@contextlib.asynccontextmanager
async def tab(base: str, email: str, origin: str, **kwargs: Any) -> Any:
    """An open :class:`Tab` whose first page run showed no problem."""
    s = Tab(base, email, origin=origin, **kwargs)
    await s.connect()
    try:
        opened = await s.open()
        assert not opened.problems, opened.problems
        yield s
    finally:
        await s.close()


# -- raw HTTP --------------------------------------------------------------------------------


def xsrf_token(base: str) -> str:
    """An XSRF token of the server's own making (what any visitor gets with a page)."""
    with urllib.request.urlopen(base + "/_stcore/health", timeout=60) as response:
        for name, value in response.headers.items():
            if name.lower() == "set-cookie" and value.startswith("_streamlit_xsrf="):
                return value.split(";", 1)[0].split("=", 1)[1].strip('"')
    raise AssertionError("no XSRF cookie")


def csv_body(content: bytes, filename: str = "x.csv") -> tuple[bytes, str]:
    """A multipart body holding one file, as the uploader's frontend sends it."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def send(
    base: str,
    method: str,
    target: str,
    *,
    cookies: list[str] | tuple[str, ...] = (),
    origin: str | None = "",
    content: bytes = b"text\nr23 nobody\n",
    headers: tuple[tuple[str, str], ...] = (),
    xsrf: str = "",
    filename: str = "x.csv",
) -> tuple[int, str]:
    """Send ``method target`` as written (no normalising) with each of ``cookies`` as one
    ``Cookie`` header (an XSRF pair of the server's own making is added to the first), the
    ``Origin`` given (``""``: the server's own; None: none) and a one-file body; the status
    and the start of the answer (status 0: the connection closed without one)."""
    parts = urllib.parse.urlsplit(base)
    token = xsrf or xsrf_token(f"{parts.scheme}://{parts.netloc}{parts.path}")
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        body, kind = csv_body(content, filename)
        if method.upper() in ("PUT", "POST", "PATCH"):
            conn.putheader("Content-Type", kind)
            conn.putheader("Content-Length", str(len(body)))
        else:
            body = b""
        if origin is not None:
            conn.putheader("Origin", origin or f"{parts.scheme}://{parts.netloc}")
        conn.putheader("X-Xsrftoken", token)
        jar = list(cookies) or [""]
        for i, cookie in enumerate(jar):
            value = "; ".join(
                c for c in (f"_streamlit_xsrf={token}" if i == 0 else "", cookie) if c
            )
            conn.putheader("Cookie", value)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders(body or None)
        response = conn.getresponse()
        return response.status, response.read()[:300].decode("utf-8", "replace")
    except (http.client.HTTPException, OSError) as exc:
        return 0, f"no answer: {type(exc).__name__}: {exc}"
    finally:
        conn.close()


async def asend(base: str, method: str, target: str, **kwargs: Any) -> tuple[int, str]:
    """:func:`send` in a thread (the sessions' websockets keep being read meanwhile)."""
    return await asyncio.to_thread(send, base, method, target, **kwargs)


def upload_path(session_id: str, file_id: str) -> str:
    return f"/_stcore/upload_file/{session_id}/{file_id}"


async def import_file(s: SignedSession, info: Any) -> Any:
    """Press "Check and import" on Batch tagging with ``info`` listed in the uploader."""
    state = WidgetState(id=s.widget("bt_files").id)
    state.file_uploader_state_value.uploaded_file_info.append(info)
    s.values[state.id] = state
    press = WidgetState(id=s.widget("bt_import").id, trigger_value=True)
    return await s.run("import", triggers=(press,))


def imported_texts(server: SignedServer, source: str) -> list[str]:
    """The texts of the tickets imported from ``source``, sorted."""
    rows = peek(server, "SELECT list(text ORDER BY text) FROM tickets WHERE source = ?", [source])
    return list(rows or [])


def owner_file(name: str) -> bytes:
    return f"text\n{name} owner ticket one\n{name} owner ticket two\n".encode()


def owner_texts(name: str) -> list[str]:
    return [f"{name} owner ticket one", f"{name} owner ticket two"]


# -- the server ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> Iterator[SignedServer]:
    """``streamlit run dashboard/serve.py`` with sign-in, for this module."""
    with (
        pytest.MonkeyPatch.context() as mp,
        serving("dashboard/serve.py", mp),
        signed(tmp_path_factory.mktemp("round23"), demo_db) as server,
    ):
        yield server


# -- 1. paths ------------------------------------------------------------------------------

#: (name, method, target template, extra headers): ``{s}`` session id, ``{f}`` file id,
#: ``{S}`` the session id in upper case, ``{abs}`` the server's address.
VARIANTS: list[tuple[str, str, str, tuple[tuple[str, str], ...]]] = [
    ("plain", "PUT", "/_stcore/upload_file/{s}/{f}", ()),
    ("trailing_slash", "PUT", "/_stcore/upload_file/{s}/{f}/", ()),
    ("leading_double_slash", "PUT", "//_stcore/upload_file/{s}/{f}", ()),
    ("double_slash_after_stcore", "PUT", "/_stcore//upload_file/{s}/{f}", ()),
    ("double_slash_before_session", "PUT", "/_stcore/upload_file//{s}/{f}", ()),
    ("double_slash_before_file", "PUT", "/_stcore/upload_file/{s}//{f}", ()),
    ("encoded_separator", "PUT", "/_stcore/upload_file/{s}%2F{f}", ()),
    ("encoded_separator_lower", "PUT", "/_stcore%2fupload_file/{s}/{f}", ()),
    ("encoded_underscore", "PUT", "/%5Fstcore/upload_file/{s}/{f}", ()),
    ("encoded_underscore_lower", "PUT", "/_stcore/upload%5ffile/{s}/{f}", ()),
    ("encoded_letters", "PUT", "/_st%63ore/upload_fil%65/{s}/{f}", ()),
    ("encoded_session", "PUT", "/_stcore/upload_file/%{s0}{srest}/{f}", ()),
    ("upper_case_prefix", "PUT", "/_STCORE/upload_file/{s}/{f}", ()),
    ("upper_case_route", "PUT", "/_stcore/UPLOAD_FILE/{s}/{f}", ()),
    ("upper_case_session", "PUT", "/_stcore/upload_file/{S}/{f}", ()),
    ("dot_dot_before", "PUT", "/x/../_stcore/upload_file/{s}/{f}", ()),
    ("encoded_dot_dot_before", "PUT", "/x/%2e%2e/_stcore/upload_file/{s}/{f}", ()),
    ("dot_dot_after", "PUT", "/_stcore/upload_file/{s}/{f}/..", ()),
    ("dot_dot_between", "PUT", "/_stcore/upload_file/{s}/x/../{f}", ()),
    ("dot_segment", "PUT", "/_stcore/./upload_file/{s}/{f}", ()),
    ("query_string", "PUT", "/_stcore/upload_file/{s}/{f}?x=1&_method=GET", ()),
    ("semicolon_parameter", "PUT", "/_stcore/upload_file/{s}/{f};x=1", ()),
    ("encoded_newline_after_file", "PUT", "/_stcore/upload_file/{s}/{f}%0A", ()),
    ("encoded_nul_after_file", "PUT", "/_stcore/upload_file/{s}/{f}%00", ()),
    ("absolute_form", "PUT", "{abs}/_stcore/upload_file/{s}/{f}", ()),
    ("lower_case_method", "put", "/_stcore/upload_file/{s}/{f}", ()),
    ("post", "POST", "/_stcore/upload_file/{s}/{f}", ()),
    ("patch", "PATCH", "/_stcore/upload_file/{s}/{f}", ()),
    ("head", "HEAD", "/_stcore/upload_file/{s}/{f}", ()),
    ("options", "OPTIONS", "/_stcore/upload_file/{s}/{f}", ()),
    ("get", "GET", "/_stcore/upload_file/{s}/{f}", ()),
    (
        "post_method_override",
        "POST",
        "/_stcore/upload_file/{s}/{f}?_method=PUT",
        (
            ("X-HTTP-Method-Override", "PUT"),
            ("X-HTTP-Method", "PUT"),
            ("X-Method-Override", "PUT"),
        ),
    ),
    ("delete", "DELETE", "/_stcore/upload_file/{s}/{f}", ()),
    ("delete_trailing_slash", "DELETE", "/_stcore/upload_file/{s}/{f}/", ()),
    ("delete_encoded", "DELETE", "/%5Fstcore/upload_file/{s}%2F{f}", ()),
]


def _target(template: str, base: str, session_id: str, file_id: str) -> str:
    return template.format(
        s=session_id,
        f=file_id,
        S=session_id.upper(),
        s0=f"{ord(session_id[0]):02X}",
        srest=session_id[1:],
        abs=base,
    )


def test_every_path_streamlit_routes_to_the_upload_handler_is_checked(
    served: SignedServer,
) -> None:
    """Expected: for each variant of the upload address, the analyst's own request (to a
    file id of their own) shows whether Streamlit routes it to the upload handler (204, or
    308 to the plain address; GET and HEAD get the app's page, OPTIONS the preflight); the viewer's request for the analyst's held file is never
    taken (403 with the check's words wherever the owner's was routed; otherwise
    Streamlit's own 400, 404 or 405), and the analyst's import then takes their own file."""
    source = "r23-paths.csv"

    async def attack() -> dict[str, Any]:
        seen: dict[str, Any] = {"owner": {}, "viewer": {}}
        async with session(served, ANALYST) as victim:
            await victim.goto(victim.page("batch-tagging"))
            info = await put_file(victim, source, owner_file("r23paths"))
            own = victim._cookie.split("; ", 1)[1]
            stranger = identity(VIEWER, served.url)
            for name, method, template, headers in VARIANTS:
                mine = uuid.uuid4().hex
                seen["owner"][name] = await asend(
                    served.url,
                    method,
                    _target(template, served.url, victim.session_id, mine),
                    cookies=[own],
                    headers=headers,
                    content=f"text\nr23 owner variant {name}\n".encode(),
                )
                seen["viewer"][name] = await asend(
                    served.url,
                    method,
                    _target(template, served.url, victim.session_id, info.file_id),
                    cookies=[stranger],
                    headers=headers,
                    content=f"text\nr23 viewer swap {name}\n".encode(),
                )
            # Streamlit's agent API (off unless server.enableAgentApi) drives a session too
            seen["agent_api"] = await asend(
                served.url, "POST", "/_stcore/agent/interact", cookies=[stranger]
            )
            seen["import"] = await import_file(victim, info)
        return seen

    seen = run(attack())
    record_figure("round23_agent_api_status", seen["agent_api"])
    assert seen["agent_api"][0] >= 400, seen["agent_api"]
    table = {n: (seen["owner"][n][0], seen["viewer"][n][0]) for n, *_ in VARIANTS}
    record_figure("round23_upload_path_variants_owner_viewer_status", table)
    # not the upload handler: the app's page (GET, HEAD) and the CORS preflight (OPTIONS)
    for name in ("get", "head", "options"):
        assert table[name][0] == table[name][1] in (200, 204), (name, table[name])
    assert seen["viewer"]["get"][1].startswith("<!"), seen["viewer"]["get"]  # an HTML page
    for name, (owner, viewer) in table.items():
        if name in ("get", "head", "options"):
            continue
        assert viewer not in (200, 201, 204), (name, table[name], seen["viewer"][name])
        if owner in (204, 307, 308):  # routed to the handler (or redirected to it)
            assert viewer == 403, (name, seen["viewer"][name])
            assert REFUSED in seen["viewer"][name][1], (name, seen["viewer"][name])
        elif viewer == 403:  # refused by the check where Streamlit would not route it
            assert REFUSED in seen["viewer"][name][1], (name, seen["viewer"][name])
        else:
            assert owner == viewer and owner in (0, 400, 404, 405), (name, table[name])
    assert table["plain"] == (204, 403)
    assert table["options"][0] == 204  # the preflight stores nothing
    assert not seen["import"].problems, seen["import"].problems
    assert imported_texts(served, source) == owner_texts("r23paths")
    assert peek(served, "SELECT count(*) FROM tickets WHERE text LIKE 'r23 viewer swap%'") == 0


# -- 2. identity cookies -----------------------------------------------------------------------


def _attacker_cookies(url: str) -> dict[str, list[str]]:
    """Cookie headers a viewer (or anyone the identity provider signed in) could send."""
    other = "http://evil.example:8501"
    ana_chunks = chunked_identity(ANALYST, url, email_verified=False)
    return {
        "viewer": [identity(VIEWER, url)],
        "admin": [identity(ADMIN, url)],
        "no_identity": [""],
        "unverified_false": [identity(ANALYST, url, email_verified=False)],
        "unverified_text_false": [identity(ANALYST, url, email_verified="false")],
        "unverified_text_null": [identity(ANALYST, url, email_verified="null")],
        "unverified_zero": [identity(ANALYST, url, email_verified=0)],
        "unverified_other_case": [identity(ANALYST.upper(), url, email_verified=False)],
        "unverified_chunked": ["; ".join(ana_chunks)],
        "not_logged_in": [identity(ANALYST, url, is_logged_in=False)],
        "not_logged_in_text": [identity(ANALYST, url, is_logged_in="yes")],
        "expired": [identity(ANALYST, url, age_s=40 * 86400)],
        "other_secret": [
            f"{USER}="
            + signed_value(
                NAME, json.dumps(identity_claims(ANALYST, url)), secret="not-the-secret-000000"
            )
        ],
        "other_origin_claims": [identity(ANALYST, other)],
        "unsigned_claims": [
            f"{USER}=" + json.dumps(identity_claims(ANALYST, url)).replace(";", ",")
        ],
        "forged_chunk_marker": [f"{USER}=chunks-2; {USER}_1=x; {USER}_2=y"],
        "viewer_chunked": ["; ".join(chunked_identity(VIEWER, url))],
        "viewer_main_with_missing_chunk": ["; ".join(chunked_identity(VIEWER, url)[:-1])],
        "viewer_then_unverified": [
            identity(VIEWER, url) + "; " + identity(ANALYST, url, email_verified=False)
        ],
        "two_headers_viewer_unverified": [
            identity(VIEWER, url),
            identity(ANALYST, url, email_verified=False),
        ],
        "malformed_header": [identity(VIEWER, url) + '; x="unterminated; ;;=; =='],
        # the analyst's verified identity as a plain cookie (only a page on a sibling
        # subdomain, or a session from before dashboard.host_signin, could have set one):
        # dropped, so nobody's
        "plain_analyst_identity": [identity(ANALYST, url, cookie=NAME)],
        "plain_analyst_chunked": [
            "; ".join(c.removeprefix("__Host-") for c in chunked_identity(ANALYST, url))
        ],
    }


#: Other cookies a browser sends to the dashboard's host: another app on the same host
#: (cookies ignore the port), a consent banner, a proxy. Browsers send them as set.
HOST_COOKIES = {
    "json_value": 'prefs={"theme":"dark","n":1}',
    "space_in_value": "greeting=hello world",
    "quote_in_value": 'q=a"b',
    "backslash": "path_hint=C:\\temp",
    "non_ascii_latin1": "lang=fran\xe7ais",
    "attribute_name": "path=/reports",
    "nameless": "flag",
}


def test_only_the_sessions_own_verified_user_may_write_to_it(served: SignedServer) -> None:
    """Expected: with the analyst's address known, no cookie a viewer, an admin or a
    stranger signed in by the identity provider can hold is taken: their own identity, an
    address the provider did not verify (``email_verified`` false, "false", "null", 0,
    chunked), claims that are not signed in, expired, signed with another secret or for
    another origin, unsigned, forged chunks, a repeated name, a malformed header: 403 in
    the check's words, and the analyst's import takes the analyst's file. The analyst's own
    requests are taken with the cookies a browser sends beside the identity (another app's
    JSON or spaced cookie on the same host, a chunked identity, two ``Cookie`` headers) and
    refused in words without an ``Origin`` or from another origin (Streamlit reads no
    identity then, nor does it for the websocket). Since ``dashboard.host_signin`` (GAPS
    17): a plain ``_streamlit_user`` (the analyst's own value included) signs nobody in,
    and one planted beside the analyst's ``__Host-`` identity, before or after it or in
    another ``Cookie`` header, is dropped: the upload is taken as the analyst's.

    Broke (before round 23): the check compared addresses only, so a stranger whose
    identity provider did not verify ``ana@example.com`` (never let in to any page) wrote
    to the analyst's session (204); and it parsed cookies with ``SimpleCookie``, which drops
    every cookie of a header once one does not fit its grammar (a JSON value, a space), so
    the analyst's own upload was refused (403) beside such a cookie while Streamlit's
    websocket (Starlette's parser) had signed them in."""
    source = "r23-cookies.csv"

    async def attack() -> dict[str, Any]:
        seen: dict[str, Any] = {"attacker": {}, "owner": {}}
        async with session(served, ANALYST) as victim:
            await victim.goto(victim.page("batch-tagging"))
            info = await put_file(victim, source, owner_file("r23cookies"))
            target = upload_path(victim.session_id, info.file_id)
            for name, cookies in _attacker_cookies(served.url).items():
                for method in ("PUT", "DELETE"):
                    seen["attacker"][f"{name}_{method}"] = await asend(
                        served.url,
                        method,
                        target,
                        cookies=cookies,
                        content=f"text\nr23 cookie swap {name}\n".encode(),
                    )
            seen["attacker"]["unverified_with_own_origin_header"] = await asend(
                served.url,
                "PUT",
                target,
                cookies=[identity(ANALYST, "http://evil.example:8501", email_verified=False)],
                origin="http://evil.example:8501",
                content=b"text\nr23 cookie swap origin\n",
            )
            own = victim._cookie.split("; ", 1)[1]

            def mine() -> str:
                return upload_path(victim.session_id, uuid.uuid4().hex)

            owner_cases: dict[str, tuple[list[str], str | None]] = {
                "own": ([own], ""),
                **{f"beside_{k}": ([f"{v}; {own}"], "") for k, v in HOST_COOKIES.items()},
                "after_all_host_cookies": (["; ".join([*HOST_COOKIES.values(), own])], ""),
                "own_chunked": (
                    ["; ".join(chunked_identity(ANALYST, served.url))],
                    "",
                ),
                "own_in_second_header": (['prefs={"a":1}', own], ""),
                "own_other_ascii_case": ([identity(ANALYST.upper(), served.url)], ""),
                "viewer_then_own": ([identity(VIEWER, served.url) + "; " + own], ""),
                "planted_viewer_then_own": (
                    [identity(VIEWER, served.url, cookie=NAME) + "; " + own],
                    "",
                ),
                "own_then_planted_viewer": (
                    [own + "; " + identity(VIEWER, served.url, cookie=NAME)],
                    "",
                ),
                "planted_viewer_in_first_header": (
                    [identity(VIEWER, served.url, cookie=NAME), own],
                    "",
                ),
                "own_then_viewer": ([own + "; " + identity(VIEWER, served.url)], ""),
                "own_without_origin": ([own], None),
                "own_origin_null": ([own], "null"),
                "own_from_other_site": ([own], "http://evil.example:8501"),
                "own_expired": ([identity(ANALYST, served.url, age_s=40 * 86400)], ""),
            }
            for name, (cookies, origin) in owner_cases.items():
                seen["owner"][name] = await asend(
                    served.url, "PUT", mine(), cookies=cookies, origin=origin
                )
            seen["import"] = await import_file(victim, info)
        return seen

    seen = run(attack())
    record_figure(
        "round23_identity_cookie_statuses",
        {k: v[0] for k, v in {**seen["attacker"], **seen["owner"]}.items()},
    )
    wrong = [
        (name, status, text)
        for name, (status, text) in seen["attacker"].items()
        if status != 403 or REFUSED not in text
    ]
    taken = {"own", "own_chunked", "own_in_second_header", "own_other_ascii_case"}
    taken |= {f"beside_{k}" for k in HOST_COOKIES} | {"after_all_host_cookies"}
    # a plain identity planted beside the analyst's own __Host- one is dropped
    # (dashboard.host_signin): the analyst's upload is taken, as the analyst's
    taken |= {"planted_viewer_then_own", "own_then_planted_viewer"}
    taken |= {"planted_viewer_in_first_header"}
    # "viewer_then_own": two different __Host- identities (no other host can set one) are
    # still refused in words (round 26's RepeatedSignInCookies, after host_signin)
    for name, (status, text) in seen["owner"].items():
        if (status != 204) if name in taken else (status != 403 or REFUSED not in text):
            wrong.append((f"owner {name}", status, text))
    assert not wrong, [(name, status, text[:60]) for name, status, text in wrong]
    assert not seen["import"].problems, seen["import"].problems
    assert imported_texts(served, source) == owner_texts("r23cookies")
    assert peek(served, "SELECT count(*) FROM tickets WHERE text LIKE 'r23 cookie swap%'") == 0


# -- 3. sessions: delete, closed tab, reconnect, sign-out, role, race ------------------------------


def _write_access(server: SignedServer, analysts: list[str], allow: list[str]) -> None:
    time.sleep(1.1)  # a new modification time for the access file's cache
    (server.db.parent / "access.toml").write_text(
        f'allow = {json.dumps(allow)}\nanalysts = {json.dumps(analysts)}\nadmins = ["{ADMIN}"]\n',
        encoding="utf-8",
    )


@contextlib.contextmanager
def _access_changed(server: SignedServer) -> Iterator[Any]:
    path = server.db.parent / "access.toml"
    original = path.read_text(encoding="utf-8")
    try:
        yield lambda analysts, allow: _write_access(server, analysts, allow)
    finally:
        time.sleep(1.1)
        path.write_text(original, encoding="utf-8")


def test_closed_resumed_signed_out_and_demoted_sessions_take_only_their_owners_uploads(
    served: SignedServer,
) -> None:
    """Expected: a viewer's ``DELETE`` of the analyst's file is refused and the file is
    still imported; while the analyst's tab is closed, nobody (the analyst included) may
    write to its session (Streamlit itself answers 400 there); the analyst's reconnect
    resumes the same session and uploads again; a viewer who reconnects with the analyst's
    session id gets a session of their own and still may not write to the analyst's; once
    the analyst signed out in another tab, neither the old token nor a new sign-in writes
    to the signed-out session, while the new sign-in's own session takes uploads; taking
    the analyst role away refuses the analyst's uploads in words."""
    origin = served.url
    old_iat = int(time.time()) - 60  # a token issued a minute ago (its sign-out below)

    async def attack() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        viewer = [identity(VIEWER, origin)]
        a = Tab(served.url, ANALYST, origin=origin, changes={"iat": old_iat})
        await a.connect()
        assert not (await a.open()).problems
        await a.goto(a.page("batch-tagging"))
        info = await put_file(a, "r23-resume.csv", owner_file("r23resume"))
        target = upload_path(a.session_id, info.file_id)
        own = a._cookie.split("; ", 1)[1]
        seen["viewer_delete"] = await asend(served.url, "DELETE", target, cookies=viewer)
        first_id = a.session_id
        await a.close()
        await asyncio.sleep(1)
        seen["owner_put_closed"] = await asend(served.url, "PUT", target, cookies=[own])
        seen["viewer_put_closed"] = await asend(served.url, "PUT", target, cookies=viewer)
        # a viewer reconnecting with the analyst's session id while the tab is closed
        async with tab(served.url, VIEWER, origin, resume=first_id) as taker:
            seen["taker_session_is_own"] = taker.session_id != first_id
            seen["taker_put"] = await asend(
                served.url, "PUT", target, cookies=[taker._cookie.split("; ", 1)[1]]
            )
        # the analyst's reconnect (same token) resumes the session and its held file
        async with tab(
            served.url, ANALYST, origin, changes={"iat": old_iat}, resume=first_id
        ) as back:
            seen["resumed_same_session"] = back.session_id == first_id
            await back.goto(back.page("batch-tagging"))
            seen["owner_put_resumed"] = await asend(
                served.url,
                "PUT",
                upload_path(back.session_id, uuid.uuid4().hex),
                cookies=[back._cookie.split("; ", 1)[1]],
            )
            seen["import_resumed"] = await import_file(back, info)
            # sign out in another tab of the same browser (same token)
            async with tab(served.url, ANALYST, origin, changes={"iat": old_iat}) as other:
                seen["sign_out_run"] = (await other.click("access_sign_out")).problems
            seen["old_token_put_signed_out"] = await asend(
                served.url, "PUT", upload_path(back.session_id, uuid.uuid4().hex), cookies=[own]
            )
            fresh = identity(ANALYST, origin)  # a new sign-in: a newer token
            seen["new_token_put_signed_out_session"] = await asend(
                served.url, "PUT", upload_path(back.session_id, uuid.uuid4().hex), cookies=[fresh]
            )
        async with session(served, ANALYST) as new:
            await new.goto(new.page("batch-tagging"))
            mine = upload_path(new.session_id, uuid.uuid4().hex)
            own_new = new._cookie.split("; ", 1)[1]
            seen["new_sign_in_put"] = await asend(served.url, "PUT", mine, cookies=[own_new])
            with _access_changed(served) as access:
                access([], [VIEWER, ANALYST])  # the analyst role taken away
                seen["demoted_put"] = await asend(served.url, "PUT", mine, cookies=[own_new])
                access([], [VIEWER])  # taken off the list
                seen["removed_put"] = await asend(served.url, "PUT", mine, cookies=[own_new])
            await asyncio.sleep(0.5)
            seen["restored_put"] = await asend(served.url, "PUT", mine, cookies=[own_new])
        return seen

    seen = run(attack())
    record_figure(
        "round23_session_case_statuses",
        {
            k: v[0] if isinstance(v, tuple) else v
            for k, v in seen.items()
            if "_run" not in k and "import" not in k
        },
    )
    for name in (
        "viewer_delete",
        "owner_put_closed",
        "viewer_put_closed",
        "taker_put",
        "old_token_put_signed_out",
        "new_token_put_signed_out_session",
    ):
        status, text = seen[name]
        assert status == 403 and REFUSED in text, (name, status, text)
    # off the access list: refused by the sender check (before round 23: by the guard)
    assert seen["removed_put"][0] == 403, seen["removed_put"]
    assert REFUSED in seen["removed_put"][1] or "analyst role" in seen["removed_put"][1]
    assert seen["demoted_put"][0] == 403 and "analyst role" in seen["demoted_put"][1]
    assert seen["taker_session_is_own"] and seen["resumed_same_session"]
    for name in ("owner_put_resumed", "new_sign_in_put", "restored_put"):
        assert seen[name][0] == 204, (name, seen[name])
    assert not seen["import_resumed"].problems, seen["import_resumed"].problems
    assert imported_texts(served, "r23-resume.csv") == owner_texts("r23resume")


#: The most requests a viewer sends while one import runs.
RACING_REQUESTS = 40


def test_puts_racing_the_owners_import_never_reach_it_half_way(served: SignedServer) -> None:
    """Expected: while the analyst's import of a held file runs, a viewer's ``PUT`` and
    ``DELETE`` requests for it (sent without pause) are all refused, and the analyst's own
    second tab replacing it with another file races the import: the import takes one whole
    file (the first or the second, never a mix) once, with one audit row, and no problem."""
    source = "r23-race.csv"
    second = f"text\n{source} second file one\n{source} second file two\n".encode()

    async def attack() -> dict[str, Any]:
        seen: dict[str, Any] = {"viewer": []}
        async with session(served, ANALYST) as victim, session(served, ANALYST) as other:
            await victim.goto(victim.page("batch-tagging"))
            info = await put_file(victim, source, owner_file("r23race"))
            target = upload_path(victim.session_id, info.file_id)
            viewer = [identity(VIEWER, served.url)]
            stop = asyncio.Event()

            async def hammer() -> None:
                i = 0
                while not stop.is_set() and i < RACING_REQUESTS:
                    method = "PUT" if i % 2 == 0 else "DELETE"
                    seen["viewer"].append(await asend(served.url, method, target, cookies=viewer))
                    i += 1

            async def replace() -> tuple[int, str]:
                await asyncio.sleep(0.05)
                own = other._cookie.split("; ", 1)[1]
                return await asend(
                    served.url, "PUT", target, cookies=[own], content=second, filename=source
                )

            hammering = asyncio.create_task(hammer())
            replaced = asyncio.create_task(replace())
            seen["import"] = await import_file(victim, info)
            seen["replaced"] = await replaced
            stop.set()
            await hammering
        return seen

    seen = run(attack())
    record_figure("round23_viewer_requests_during_an_import", len(seen["viewer"]))
    assert seen["viewer"], "no request raced the import"
    assert all(s == 403 and REFUSED in t for s, t in seen["viewer"]), seen["viewer"]
    assert seen["replaced"][0] == 204, seen["replaced"]
    assert not seen["import"].problems, seen["import"].problems
    texts = imported_texts(served, source)
    assert texts in (owner_texts("r23race"), sorted(second.decode().splitlines()[1:])), texts
    record_figure(
        "round23_race_import_took", "first" if texts == owner_texts("r23race") else "second"
    )
    audited = "SELECT count(*) FROM audit_log WHERE action = 'upload' AND target = ?"
    assert peek(served, audited, [source]) == 1


# -- 4. a base path, and local mode -------------------------------------------------------------


@contextlib.contextmanager
def _healthy_under(monkeypatch: pytest.MonkeyPatch, base: str) -> Iterator[None]:
    """``bench.streamlit_server`` waits for ``/<base>/_stcore/health`` instead."""
    import bench.streamlit_server as launcher

    plain = launcher.wait_healthy

    def wait(server: Any, timeout: float) -> None:
        shifted = type(server)(server.url + base, server.proc, server.db, server.log)
        plain(shifted, timeout)

    monkeypatch.setattr(launcher, "wait_healthy", wait)
    yield


def test_with_a_base_path_the_owner_uploads_and_nobody_else_does(
    tmp_path: Path, demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected, with ``server.baseUrlPath = "pwr"``: the analyst uploads (from two tabs)
    and imports through ``/pwr/_stcore/upload_file/…``; the viewer's requests for that file
    under the base path, with a trailing slash, encoded, doubled or without the base path
    are never taken."""
    source = "r23-base.csv"

    async def attack(server: SignedServer) -> dict[str, Any]:
        base = server.url + "/pwr"
        seen: dict[str, Any] = {"viewer": {}}
        async with tab(base, ANALYST, server.url) as victim, tab(base, ANALYST, server.url) as two:
            await victim.goto(victim.page("batch-tagging"))
            info = await put_file(victim, source, owner_file("r23base"))
            s, f = victim.session_id, info.file_id
            seen["second_tab"] = await asend(
                base,
                "PUT",
                "/pwr" + upload_path(s, uuid.uuid4().hex),
                cookies=[two._cookie.split("; ", 1)[1]],
            )
            viewer = [identity(VIEWER, server.url)]
            for name, target in {
                "base": f"/pwr/_stcore/upload_file/{s}/{f}",
                "base_trailing_slash": f"/pwr/_stcore/upload_file/{s}/{f}/",
                "base_encoded": f"/pwr/%5Fstcore/upload_file/{s}%2F{f}",
                "base_doubled": f"/pwr//_stcore/upload_file/{s}/{f}",
                "base_upper": f"/PWR/_stcore/upload_file/{s}/{f}",
                "no_base": f"/_stcore/upload_file/{s}/{f}",
                "base_dot_dot": f"/pwr/x/../_stcore/upload_file/{s}/{f}",
            }.items():
                for method in ("PUT", "DELETE"):
                    seen["viewer"][f"{name}_{method}"] = await asend(
                        base, method, target, cookies=viewer, content=b"text\nr23 base swap\n"
                    )
            seen["import"] = await import_file(victim, info)
        return seen

    with (
        serving("dashboard/serve.py", monkeypatch),
        _healthy_under(monkeypatch, "/pwr"),
        signed(tmp_path, demo_db, STREAMLIT_SERVER_BASE_URL_PATH="pwr") as server,
    ):
        seen = run(attack(server))
        assert seen["second_tab"][0] == 204, seen["second_tab"]
        for name, (status, text) in seen["viewer"].items():
            assert status in (400, 403, 404, 405), (name, status, text)
            if status == 403:
                assert REFUSED in text, (name, text)
        assert seen["viewer"]["base_PUT"][0] == 403
        assert not seen["import"].problems, seen["import"].problems
        assert imported_texts(server, source) == owner_texts("r23base")
        assert peek(server, "SELECT count(*) FROM tickets WHERE text LIKE 'r23 base swap%'") == 0
    record_figure("round23_base_path_viewer_statuses", {k: v[0] for k, v in seen["viewer"].items()})


def test_local_mode_takes_uploads_as_before(
    tmp_path: Path, demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected, with sign-in off (local mode on a loopback address) on ``serve.py``: the
    local admin uploads and imports, from a second tab too (no identity to compare)."""
    from tests.reliability.conftest import copy_db

    db = copy_db(demo_db, tmp_path / "db.duckdb")
    source = "r23-local.csv"

    async def attack(url: str) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with LightSession(url, timeout=180) as s, LightSession(url, timeout=180) as two:
            await s.open()
            await two.open()
            await s.goto(s.page("batch-tagging"))
            info = await put_file(s, source, owner_file("r23local"))
            seen["second_tab"] = await asend(
                url, "PUT", upload_path(s.session_id, uuid.uuid4().hex), cookies=[""]
            )
            seen["delete_from_second_tab"] = await asend(
                url, "DELETE", upload_path(s.session_id, uuid.uuid4().hex)
            )
            seen["import"] = await import_file(s, info)
        return seen

    with serving("dashboard/serve.py", monkeypatch), streamlit_server(db) as server:
        seen = run(attack(server.url))
    assert seen["second_tab"][0] == 204, seen["second_tab"]
    assert seen["delete_from_second_tab"][0] == 204, seen["delete_from_second_tab"]
    assert not seen["import"].problems, seen["import"].problems
    assert imported_texts(SignedServer(server, db), source) == owner_texts("r23local")


# -- 5. the browser ------------------------------------------------------------------------


@pytest.mark.e2e
@needs_chromium
def test_in_a_browser_the_analyst_uploads_beside_other_cookies_of_the_host(
    served: SignedServer, browser: Any, tmp_path: Path
) -> None:
    """Expected, in chromium on ``serve.py`` signed in as the analyst, with cookies another
    application on the same host set (a JSON value, a value with a space: browsers send them
    as set): the uploader's ``PUT`` is taken and "Check and import" imports the file, in a
    first tab and in a second one.

    Broke (before round 23): ``SimpleCookie`` gave up on the whole ``Cookie`` header, so the
    sender had no identity: the browser's upload was answered 403 (the uploader showed an
    error) while the page, signed in through Starlette's parser, showed the analyst."""
    import re

    from tests.chromium import new_page, settle
    from tests.reliability.test_attacks_round21 import _cookie

    host = urllib.parse.urlsplit(served.url).hostname
    extra = [
        {"name": "prefs", "value": '{"theme":"dark","n":1}', "domain": host, "path": "/"},
        {"name": "greeting", "value": "hello world", "domain": host, "path": "/"},
    ]
    found: dict[str, Any] = {}
    log_before = len(served.server.log_text())
    with new_page(browser) as page:
        page.context.add_cookies(extra)  # set by the other app before the sign-in
        page.context.add_cookies([_cookie(served, ANALYST)])
        for n, tab_page in enumerate((page, page.context.new_page())):
            csv = tmp_path / f"r23-browser-{n}.csv"
            csv.write_bytes(owner_file(f"r23browser{n}"))
            tab_page.set_default_timeout(60_000)
            if not hasattr(tab_page, "dialogs"):
                tab_page.dialogs = []
            tab_page.goto(served.url + "/batch-tagging")
            tab_page.locator("h1", has_text="Batch tagging").wait_for(timeout=120_000)
            settle(tab_page)
            tab_page.locator('input[type="file"]').set_input_files(str(csv))
            tab_page.get_by_role("button", name=re.compile("Check and import")).click()
            settle(tab_page)
            done = tab_page.get_by_text("Import done")
            nothing = tab_page.get_by_text("Choose one or more ticket files above first")
            done.or_(nothing).first.wait_for(timeout=120_000)
            found[f"uploader{n}"] = tab_page.locator('[data-testid="stFileUploader"]').inner_text()
            found[f"done{n}"] = done.count() > 0
            found[f"tab{n}"] = page_problems(tab_page)
            found[f"cookies{n}"] = sorted(c["name"] for c in page.context.cookies())
    for n in (0, 1):
        assert found[f"done{n}"], found  # not "Choose one or more ticket files above first"
        assert found[f"tab{n}"] == [], found
        assert imported_texts(served, f"r23-browser-{n}.csv") == owner_texts(f"r23browser{n}")
    assert {"prefs", "greeting"} <= set(found["cookies0"]), found
    assert "upload request refused" not in served.server.log_text()[log_before:]
