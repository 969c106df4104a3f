"""Round 27 of the hostile-user attacks (#12): what round 26 changed and nobody attacked.

- ``dashboard/signin_cookies.py`` (GAPS 17's fix): cookie spellings Starlette reads as one
  name and value but the check might read otherwise (quoted values, whitespace, empty
  values, parts without ``=``, names differing in case, ``_streamlit_user_tokens``, chunk
  sets), several ``Cookie`` headers and one folded by a proxy, Streamlit's ``/auth/login``
  and ``/auth/logout``, HEAD, OPTIONS, static files, the refusal's ``Set-Cookie``
  deletions, a cookie planted for one path only, and the websocket under ``streamlit run
  dashboard/app.py`` (no middleware).
- ``history_links.write_address``'s cleared address: a what-if the address cannot hold,
  then Back, Forward, a reload and a copied link in chromium; then a change the address
  can hold again.
- ``whatif_inputs.mc_draws_input``: Monte Carlo draws from links (many segments, at and
  over ``MAX_LINK_MC_WORK // segments``, 0, negative, 1e999, not numbers) and forged
  widget values above the clamp (in-process and over ``serve.py``'s websocket), the draws
  actually run counted.

Broke (fixed in ``dashboard/signin_cookies.py``): a sign-in cookie planted for the
websocket's path alone (``Path=/_stcore/stream``; a sibling subdomain can set one for the
parent domain) reaches no page request, so ``GET /`` answered 200 and only the websocket
carried two cookies of the name; ``serve.py`` refused its handshake (403), which chromium
retries for as long as the tab is open: Streamlit's grey loading skeleton, no word, for
good; a new sign-in did not help (it replaces the cookie at ``/`` only). And a refused page
request deleted the sign-in cookies at ``/`` (and the base path) only, never at the path a
planted cookie was set for (``/_stcore``, ``/_stcore/stream``, a page's path).

Held: every other spelling (the check refuses whenever Starlette could read two values,
and lets through only what Starlette reads as one), Streamlit's auth routes, HEAD, OPTIONS
and static files refused alike; the cleared address in chromium; the Monte Carlo work of
every path within a link's.

Work is counted (runs, draws, headers), never timed.
"""

from __future__ import annotations

import functools
import json
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from starlette.requests import cookie_parser

from analytics.scenario import Scenario
from analytics.scenario_parts import Competitor, DemandSegment
from dashboard import signin_cookies as sc
from dashboard import whatif_inputs as wi
from dashboard.scenario_links import MAX_LINK_MC_WORK, scenario_link_problems
from tests.chromium import new_page
from tests.dashboard.conftest import APP, app_db  # noqa: F401 - fixture
from tests.reliability.conftest import needs_chromium, record_figure
from tests.reliability.signed import heard_addresses, run

TWO_COOKIES = "Two different sign-in cookies"
UNWRITTEN = "The page address (the what-if link) does not hold this what-if"
REFUSED = "were not used"
PRICING_PAGE = "views/pricing.py"

# -- 1. sign-in cookie spellings, as Starlette reads them ----------------------------------


def _starlette_values(headers: list[str]) -> dict[str, set[str]]:
    """Every value Starlette could take for each sign-in name of ``headers``: its parser
    (``cookie_parser``: last of a name wins, values unquoted) run on each part alone."""
    seen: dict[str, set[str]] = {}
    for header in headers:
        for part in header.split(";"):
            for name, value in cookie_parser(part).items():
                if sc.SIGNIN_COOKIE.match(name):
                    seen.setdefault(name, set()).add(value)
    return seen


#: Spellings of two cookies of one name: (headers, whether Starlette reads two values).
SPELLINGS: dict[str, tuple[list[str], bool]] = {
    "quoted_vs_plain_same": (['_streamlit_user="abc"; _streamlit_user=abc'], False),
    "quoted_escape_same": (['_streamlit_user="\\141bc"; _streamlit_user=abc'], False),
    "quoted_vs_plain_other": (['_streamlit_user="abc"; _streamlit_user=abd'], True),
    "whitespace_same": (["_streamlit_user = abc ;_streamlit_user=abc"], False),
    "tab_and_nbsp": (["\t_streamlit_user\t=abc\xa0; _streamlit_user=abd"], True),
    "empty_value": (["_streamlit_user=; _streamlit_user=abc"], True),
    "part_without_equals": (["_streamlit_user; _streamlit_user=abc"], False),
    "other_case": (["_Streamlit_User=abc; _streamlit_user=abd"], False),
    "tokens_twice": (["_streamlit_user_tokens=a; _streamlit_user_tokens=b"], True),
    "chunk_twice": (["_streamlit_user_1=a", "_streamlit_user_1=b"], True),
    "chunk_extra": (["_streamlit_user=chunks-2; _streamlit_user_1=a; _streamlit_user_3=c"], False),
    "folded_by_a_proxy": (["_streamlit_user=abc, _streamlit_user=abd"], False),
    "folded_with_semicolon": (["_streamlit_user=abc; , _streamlit_user=abd"], False),
    "three_headers": (["_streamlit_user=a", "x=1", "_streamlit_user=a"], False),
}


@pytest.mark.parametrize("case", list(SPELLINGS))
def test_each_spelling_is_refused_exactly_when_starlette_could_read_two_values(case: str) -> None:
    """Held: the check (``repeated_signin_cookies``) refuses every request for which
    Starlette's parser could take two different values of one sign-in name (so which one
    signs in depends on the order), and lets through one whose values Starlette reads as
    one: a quoted copy of the same value is refused too (stricter: the raw texts differ),
    never the other way round. A part without ``=`` is a cookie with no name to Starlette;
    ``_Streamlit_User`` is another cookie (names are case-sensitive, Streamlit looks up
    ``_streamlit_user``); a proxy folding two headers with ", " makes one value Streamlit
    cannot verify (nobody signed in)."""
    headers, two = SPELLINGS[case]
    refused = sc.repeated_signin_cookies(headers)
    starlette_two = any(len(v) > 1 for v in _starlette_values(headers).values())
    assert starlette_two == two, _starlette_values(headers)
    if two:
        assert refused, (case, headers)
    if refused and not two:  # stricter than Starlette: only raw texts that differ
        raw = {p.split("=", 1)[1].strip() for h in headers for p in h.split(";") if "=" in p}
        assert len(raw) > 1, (case, raw)


_NAMES = hs.sampled_from(
    ["_streamlit_user", "_streamlit_user_1", "_streamlit_user_tokens", "_Streamlit_user", "x"]
)
_VALUES = hs.sampled_from(["a", '"a"', " a ", "", '"\\141"', "b", '"b', "a,b", "chunks-2"])
_SEPARATORS = hs.sampled_from([";", "; ", " ;", ";\t", ", "])


@settings(max_examples=400, deadline=None, derandomize=True)
@given(
    hs.lists(
        hs.lists(hs.tuples(_NAMES, _VALUES, _SEPARATORS), min_size=1, max_size=4),
        min_size=1,
        max_size=3,
    )
)
def test_no_spelling_lets_through_two_values_starlette_would_read(parts: Any) -> None:
    """Held (400 generated requests of 1-3 headers, spellings mixed): whenever the check
    lets a request through, Starlette reads one value for each sign-in name, whichever
    occurrence it takes."""
    headers = ["".join(f"{n}={v}{sep}" for n, v, sep in header) for header in parts]
    if not sc.repeated_signin_cookies(headers):
        assert all(len(v) == 1 for v in _starlette_values(headers).values()), headers


# -- 1b. the refusal itself, through the middleware (in process) -----------------------------


async def _through(scope: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Any]]:
    """``scope`` through ``RepeatedSignInCookies``: what it sent, and the scopes it passed
    on to the app."""
    sent: list[dict[str, Any]] = []
    passed: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        passed.append(scope)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await sc.RepeatedSignInCookies(app)(scope, receive, send)
    return sent, passed


def _scope(kind: str, path: str, cookies: list[str], host: str = "127.0.0.1:8501") -> Any:
    headers = [(b"host", host.encode("latin-1"))]
    headers += [(b"cookie", c.encode("latin-1")) for c in cookies]
    return {
        "type": kind,
        "method": "GET",
        "path": urllib.parse.unquote(path),
        "raw_path": path.encode("latin-1"),
        "headers": headers,
    }


def _set_cookies(sent: list[dict[str, Any]]) -> list[str]:
    start = next(m for m in sent if m["type"].endswith("response.start"))
    return [v.decode("latin-1") for k, v in start["headers"] if k == b"set-cookie"]


PAIR = ["_streamlit_xsrf=2|x; _streamlit_user=own; _streamlit_user=planted"]


@pytest.mark.parametrize(
    ("path", "planted_at"),
    [
        ("/_stcore/health", "/_stcore"),
        ("/_stcore/host-config", "/_stcore/"),
        ("/pricing", "/pricing"),
        ("/", "/_stcore/stream"),
        ("/static/js/index.js", "/static/js"),
    ],
)
def test_a_refused_request_deletes_the_sign_in_cookies_where_they_may_have_been_planted(
    path: str, planted_at: str
) -> None:
    """Expected: a refused request's answer deletes each sign-in cookie it carried at every
    path a cookie sent with it may have been set for (RFC 6265's path match: each prefix of
    its path that ends before a "/", with and without it) and at the websocket's, host-only
    and for each domain above the host: a planted cookie sits at whichever path the
    planter chose.

    Broke (round 26's refusal): ``Path=/`` (and the base path) only; a cookie planted at
    ``/_stcore``, a page's path or the websocket's outlived the refusal, so "delete this
    site's cookies … then sign in again" did not start clean."""
    sent, passed = run(_through(_scope("http", path, PAIR, "pwr.corp.example.com")))
    assert not passed and sent[0]["status"] == 403, sent[:1]
    deleted = _set_cookies(sent)
    for domain in ("", "; Domain=corp.example.com", "; Domain=example.com"):
        wanted = f"_streamlit_user=; Max-Age=0; Path={planted_at}; HttpOnly; SameSite=Lax{domain}"
        assert wanted in deleted, (wanted, deleted)
    assert not [c for c in deleted if c.endswith("Domain=com")], deleted


def test_a_hostile_path_or_host_adds_no_cookie_attribute_and_few_headers() -> None:
    """Held: a refused request whose path or ``Host`` holds ``;``, a comma or an encoded
    line break adds no attribute to a ``Set-Cookie`` it gets; one naming 400 chunks and a
    host of 40 labels and a path of 300 steps gets a bounded number of deletions."""
    sent, _ = run(_through(_scope("http", "/a;Domain=evil/%0d%0aX:1/b", PAIR, "x;y.example.com")))
    for header in _set_cookies(sent):
        assert header.count(";") == 4 + ("Domain=" in header), header
        assert "evil" not in header and "\r" not in header and "x;y" not in header, header
    chunks = "; ".join(f"_streamlit_user_{i}=v{i}" for i in range(400))
    host = ".".join(f"l{i}" for i in range(40)) + ".example.com"
    sent, _ = run(_through(_scope("http", "/a" * 300, [*PAIR, chunks], host)))
    deleted = _set_cookies(sent)
    assert sent[0]["status"] == 403
    most = sc.MAX_DELETED_NAMES * (1 + sc.MAX_DOMAINS) * (2 * sc.MAX_PATH_STEPS + 4)
    assert 0 < len(deleted) <= most, len(deleted)
    record_figure("round27_set_cookie_headers_of_a_hostile_refusal", len(deleted))


def test_a_websocket_with_two_sign_in_cookies_opens_as_nobody_with_the_reason() -> None:
    """Expected: a websocket carrying a sign-in cookie name twice is passed to Streamlit
    with no sign-in cookie at all (the XSRF cookie kept) and the header naming why, so
    Streamlit signs nobody in and the page says so in words.

    Broke: refused before it opened (403), which a browser retries for as long as the tab
    is open: chromium showed Streamlit's loading skeleton, no word (the chromium test
    below)."""
    sent, passed = run(_through(_scope("websocket", "/_stcore/stream", PAIR)))
    assert not sent and len(passed) == 1, sent
    headers = passed[0]["headers"]
    cookies = [v.decode() for k, v in headers if k == b"cookie"]
    assert cookies == ["_streamlit_xsrf=2|x"], cookies
    assert (sc.REFUSED_HEADER, b"_streamlit_user") in headers, headers


# -- 1c. over real HTTP and websockets: serve.py, and app.py without middleware -------------

#: The public host of the ``serve.py`` servers below (``[auth] redirect_uri``): plain http
#: on a host that is not a loopback one, where browsers take no ``Secure`` (so no
#: ``__Host-``) cookie and plain sign-in cookies reach ``RepeatedSignInCookies`` (on a
#: loopback or https origin ``dashboard.host_signin``, if ``serve.py`` installs it, drops
#: them first).
PLAIN_HTTP_HOST = "pwr.example.test"


def _identity(email: str, origin: str) -> str:
    from tests.reliability.test_attacks_round26 import _identity as signed_identity

    return signed_identity(email, origin)


async def _planted(url: str, cookie: str) -> tuple[list[str], list[str]]:
    """A session whose websocket carries ``cookie`` after the XSRF cookie: its texts and
    problems after the first page run (a refused handshake: its status as a problem)."""
    from websockets.exceptions import InvalidStatus

    from tests.reliability.signed import SignedSession

    s = SignedSession(url, "planted", sign_in_cookies=cookie, timeout=180)
    try:
        await s.connect()
    except InvalidStatus as exc:
        return [], [f"handshake {exc.response.status_code}"]
    try:
        opened = await s.open()
        return [str(t).replace("\\", "") for t in s.texts], opened.problems
    finally:
        await s.close()


def _segments(n: int) -> tuple[DemandSegment, ...]:
    return tuple(DemandSegment(name=f"r27 segment {i}") for i in range(n))


def _link(segments: int, draws: str, seed: int) -> dict[str, str]:
    params = Scenario(name="r27").replace(segments=_segments(segments)).to_query_params()
    return {"s_segments": params["s_segments"], "s_mc_draws": draws, "s_mc_seed": str(seed)}


async def _forge_draws(url: str, email: str) -> dict[str, Any]:
    """Pricing opened by a 20-segment link at 500,000 draws (a link's most), then the
    draws input sent values above its top (and below, and not whole) as a hostile client
    would: the widget's top and value after each, and the address the page wrote."""
    from tests.reliability.signed import SignedSession

    seen: dict[str, Any] = {"problems": []}
    s = SignedSession(url, email, timeout=180)
    await s.connect()
    try:
        heard = heard_addresses(s)
        query = urllib.parse.urlencode(_link(20, "500000", 27))
        s._send_rerun = functools.partial(s._send_rerun, query=query)  # the tab's link
        seen["problems"] += (await s.open()).problems
        seen["problems"] += (await s.goto(s.page("pricing"))).problems
        s._send_rerun = s._send_rerun.func
        draws = s.widget(r"wi_mc_draws_\d+")
        seen["top"] = draws.proto.max
        seen["start"] = draws.proto.default
        for value in (5_000_000.0, 500_001.0, 1e300, 999.0, 123_456.7):
            action = await s.set_value(r"wi_mc_draws_\d+", value)
            seen["problems"] += action.problems
            w = s.widget(r"wi_mc_draws_\d+")
            seen[value] = {
                "value": w.proto.value if w.proto.set_value else None,
                "address": heard[-1] if heard else "",
            }
        seen["texts"] = [str(t) for t in s.texts]
    finally:
        await s.close()
    return seen


def _request(url: str, method: str, path: str, cookies: list[str]) -> tuple[int, list[str]]:
    from tests.reliability.test_attacks_round26 import _request as send

    status, _, set_cookies = send(url, method, path, cookies)
    return status, set_cookies


def test_serve_py_refuses_every_route_and_opens_the_websocket_as_nobody_in_words(
    tmp_path: Path, demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected, over ``serve.py``'s real HTTP and websocket, the analyst's identity and a
    planted viewer's: HEAD, OPTIONS, a static file, ``/auth/login`` and ``/auth/logout``
    (whose sign-out would clear the host's cookie only, leaving the planted one to sign
    the tab in) answered 403 with the deletions; the websocket opens signed in as nobody,
    the page saying why, for two ``Cookie`` headers, a planted chunk, a planted
    ``_streamlit_user_tokens``, and a quoted copy of a different value; a proxy's folded
    header (one value Streamlit cannot verify) signs nobody in; the analyst alone, her value
    quoted, or beside a stray chunk (``_streamlit_user_1`` beside an identity that is not
    chunked: Streamlit never reads it) signs her in. And (attack 3) a forged draws value above the input's top
    for 20 segments: the input back at its top, the address at 500,000 draws.

    Broke (before the fix): the websocket carrying two values was refused (403) without a
    word (in chromium, the loading skeleton for good)."""
    from tests.reliability.signed import ANALYST, VIEWER, signed
    from tests.reliability.test_attacks_round18 import serving
    from tests.reliability.test_attacks_round26 import _chunked

    with (
        serving("dashboard/serve.py", monkeypatch),
        signed(tmp_path / "r27-serve", demo_db, redirect_host=PLAIN_HTTP_HOST) as server,
    ):
        url = server.url
        own, planted = _identity(ANALYST, url), _identity(VIEWER, url)
        pair = [f"_streamlit_user={own}; _streamlit_user={planted}"]
        routes = {
            f"{method} {path}": _request(url, method, path, pair)
            for method, path in (
                ("HEAD", "/"),
                ("OPTIONS", "/"),
                ("GET", "/static/index.html"),
                ("GET", "/auth/login"),
                ("GET", "/auth/logout"),
                ("GET", "/_stcore/health"),
            )
        }
        fine = _request(url, "GET", "/auth/logout", [f"_streamlit_user={own}"])
        sessions = {
            name: run(_planted(url, cookie))
            for name, cookie in {
                "one_header": pair[0],
                "planted_chunk": f"{_chunked(ANALYST, url)}; _streamlit_user_1={planted}",
                "stray_chunk": f"_streamlit_user={own}; _streamlit_user_1={planted}",
                "planted_tokens": f"_streamlit_user={own}; _streamlit_user_tokens=a; "
                "_streamlit_user_tokens=b",
                "quoted_other": f'_streamlit_user={own}; _streamlit_user="{planted}"',
                "folded": f"_streamlit_user={own}, _streamlit_user={planted}",
                "alone": f"_streamlit_user={own}",
                "alone_quoted": f'_streamlit_user="{own}"',
            }.items()
        }
        forged = run(_forge_draws(url, ANALYST))
    for route, (status, deleted) in routes.items():
        assert status == 403, (route, status)
        assert any(c.startswith("_streamlit_user=; Max-Age=0; Path=/;") for c in deleted), route
    assert fine[0] in (302, 303, 307), fine  # a sign-out of the analyst alone goes on
    for name in ("one_header", "planted_chunk", "planted_tokens", "quoted_other"):
        texts, problems = sessions[name]  # the gate's words are an error box: a problem
        assert any(TWO_COOKIES in t.replace("\\", "") for t in problems), (name, problems)
        assert not any("Signed in as" in t for t in texts), (name, texts)
    texts, problems = sessions["folded"]
    assert not problems and not any("Signed in as" in t for t in texts), texts
    for name in ("alone", "alone_quoted", "stray_chunk"):  # a chunk of no chunked cookie: unread
        texts, problems = sessions[name]
        assert not problems and any(f"Signed in as **{ANALYST}**" in t for t in texts), texts
    assert not forged["problems"], forged["problems"]
    assert forged["top"] == 500_000 == MAX_LINK_MC_WORK // 20, forged["top"]
    for value in (5_000_000.0, 500_001.0, 1e300, 999.0):
        assert forged[value]["value"] in (None, 500_000), (value, forged[value])
        assert "s_mc_draws=500000" in forged[value]["address"] or not forged[value]["address"]
    assert "s_mc_draws=123456" in forged[123_456.7]["address"], forged[123_456.7]


def test_under_streamlit_run_app_py_two_headers_a_chunk_or_tokens_let_nobody_in(
    tmp_path: Path, demo_db: Path
) -> None:
    """Held, under ``streamlit run dashboard/app.py`` (no middleware: ``access.current_user``
    reads the websocket's headers): the analyst's identity and a planted viewer's in two
    ``Cookie`` headers (Starlette merges them, the last winning), a planted chunk beside a
    chunked identity, and two ``_streamlit_user_tokens``: nobody signed in, the reason in
    words."""
    from tests.reliability.signed import ANALYST, VIEWER, SignedSession, signed
    from tests.reliability.test_attacks_round26 import _chunked

    class TwoHeaders(SignedSession):
        async def connect(self) -> None:  # the planted identity in a second Cookie header
            from websockets.asyncio import client

            real = client.connect

            def connect(*args: Any, **kwargs: Any) -> Any:
                headers = kwargs.pop("additional_headers")
                kwargs["additional_headers"] = [
                    ("Origin", headers["Origin"]),
                    ("Cookie", headers["Cookie"]),
                    ("Cookie", f"_streamlit_user={self.planted}"),
                ]
                return real(*args, **kwargs)

            client.connect = connect
            try:
                await super().connect()
            finally:
                client.connect = real

    async def two_headers(url: str, own: str, planted: str) -> list[str]:
        s = TwoHeaders(url, "two", sign_in_cookies=f"_streamlit_user={own}", timeout=180)
        s.planted = planted
        await s.connect()
        try:
            opened = await s.open()
            return [str(t).replace("\\", "") for t in [*s.texts, *opened.problems]]
        finally:
            await s.close()

    with signed(tmp_path / "r27-app", demo_db) as server:
        url = server.url
        own, planted = _identity(ANALYST, url), _identity(VIEWER, url)
        seen = {
            "two_headers": ([], run(two_headers(url, own, planted))),
            "chunk": run(_planted(url, f"{_chunked(ANALYST, url)}; _streamlit_user_1={planted}")),
            "tokens": run(
                _planted(
                    url,
                    f"_streamlit_user={own}; _streamlit_user_tokens=a; _streamlit_user_tokens=b",
                )
            ),
        }
    for name, (texts, problems) in seen.items():
        said = [t.replace("\\", "") for t in [*texts, *problems]]
        assert any(TWO_COOKIES in t for t in said), (name, texts, problems)
        assert not any("Signed in as" in t for t in texts), (name, texts)


@needs_chromium
@pytest.mark.e2e
def test_in_chromium_a_cookie_planted_for_the_websocket_alone_is_said_in_words(
    tmp_path: Path, demo_db: Path, monkeypatch: pytest.MonkeyPatch, browser: Any
) -> None:
    """Expected, in chromium on ``serve.py``: the analyst's identity at ``/`` and a viewer's
    planted at ``Path=/_stcore/stream`` (no page request carries it, only the websocket):
    the tab says "Two different sign-in cookies (_streamlit_user) reached the server, so
    nobody is signed in …", never "Signed in as" anyone.

    Broke: the page loaded (``GET /``: one cookie), the websocket was refused (403) and
    retried for good: Streamlit's grey loading skeleton and no word, 60 s measured, the
    planted cookie kept (a refused handshake's ``Set-Cookie`` is not taken)."""
    from tests.chromium import settle
    from tests.reliability.signed import ANALYST, VIEWER, signed
    from tests.reliability.test_attacks_round18 import serving
    from tests.reliability.test_attacks_round21 import _cookie

    with (
        serving("dashboard/serve.py", monkeypatch),
        signed(tmp_path / "r27-chromium-cookie", demo_db, redirect_host=PLAIN_HTTP_HOST) as server,
        new_page(browser) as page,
    ):
        planted = _cookie(server, VIEWER)
        page.context.add_cookies(
            [
                _cookie(server, ANALYST),
                {
                    "name": planted["name"],
                    "value": planted["value"],
                    "domain": "127.0.0.1",
                    "path": "/_stcore/stream",
                },
            ]
        )
        page.goto(server.url + "/")
        settle(page)
        main = page.locator("body").inner_text()
    assert TWO_COOKIES in main, main[:500]
    assert "Signed in as" not in main, main[:500]


# -- 2. the cleared address in chromium -----------------------------------------------------

#: A saved scenario whose address the link check refuses only for its cutting competitor's
#: name (100 characters; a link holds 60): Price war can pick another cutter.
LONG_CUTTER = "C" * 100


def _with_long_cutter(db: Path) -> None:
    from tests.reliability.test_attacks_round25 import _store_raw

    scenario = Scenario(name="r27-long").replace(
        competitors=(
            Competitor(name=LONG_CUTTER, price=1.0, share=0.1),
            Competitor(name="r27 rival", price=2.0, share=0.1),
        ),
        cut_competitor=LONG_CUTTER,
    )
    _store_raw(db, "r27-long", json.loads(scenario.to_json()))


@needs_chromium
@pytest.mark.e2e
def test_in_chromium_the_cleared_address_back_forward_reload_link_and_a_holdable_change(
    tmp_path: Path, demo_db: Path, monkeypatch: pytest.MonkeyPatch, browser: Any
) -> None:
    """Expected, in chromium on ``serve.py`` as an analyst: Pricing first (an address with
    the measured what-if), then "Load into the what-if" of a scenario the address cannot
    hold (a 100-character cutting competitor), Price war and Pricing: each says the address
    does not hold it and the address has no ``s_…`` inputs. Back to the first Pricing entry
    shows the what-if its address holds; Forward returns with the screen and the address
    agreeing (either the loaded what-if with the note and no inputs in the address, or an
    address read back by the link check); never "… were not used", no problem. A reload,
    and the copied address opened in a new tab, show the measured inputs without the note.
    Loaded again, Price war with another competitor picked to cut: the address holds the
    whole what-if again (``s_cut_competitor`` the one picked) and the note is gone."""
    from tests.chromium import settle
    from tests.reliability.signed import ANALYST, signed
    from tests.reliability.test_attacks_round18 import serving
    from tests.reliability.test_attacks_round21 import _cookie
    from tests.reliability.test_attacks_round22 import _look, _nav

    def look(page: Any) -> dict[str, Any]:
        seen = _look(page)
        main = page.locator('[data-testid="stMain"]')
        return seen | {
            "unwritten": main.get_by_text(UNWRITTEN).count(),
            "refused_any": main.get_by_text(REFUSED).count(),
        }

    def load(page: Any) -> None:
        _nav(page, "scenarios")
        settle(page)
        page.get_by_role("button", name="Load into the what-if").click()
        settle(page)

    seen: dict[str, dict[str, Any]] = {}
    with (
        serving("dashboard/serve.py", monkeypatch),
        signed(
            tmp_path / "r27-chromium",
            demo_db,
            prepare=_with_long_cutter,
            redirect_host=PLAIN_HTTP_HOST,  # a plain _streamlit_user cookie signs in
        ) as server,
        new_page(browser) as page,
    ):
        page.context.add_cookies([_cookie(server, ANALYST)])
        page.goto(server.url + "/")
        settle(page)
        _nav(page, "pricing")
        seen["first"] = look(page)
        load(page)
        _nav(page, "price-war")
        seen["war"] = look(page)
        _nav(page, "pricing")
        seen["pricing"] = look(page)
        copied = page.url
        for step in range(8):
            page.go_back()
            seen[f"back_{step}"] = look(page)
            if seen[f"back_{step}"]["query"] == seen["first"]["query"]:
                break
        for press in range(step + 1):
            page.go_forward()
            seen[f"forward_{press}"] = look(page)
        page.reload()
        seen["reload"] = look(page)
        with new_page(browser) as tab:
            tab.context.add_cookies([_cookie(server, ANALYST)])
            tab.goto(copied)
            seen["copied"] = look(tab)
        load(page)
        _nav(page, "price-war")
        seen["war_again"] = look(page)
        page.locator('[data-testid="stSelectbox"]').filter(
            has_text="Competitor that cuts its list price"
        ).first.click()
        page.get_by_role("option", name="r27 rival").click()
        seen["holdable"] = look(page)
    for name, s in seen.items():
        assert not s["problems"] and not s["refused"] and not s["refused_any"], (name, s)
        if s["unwritten"]:
            assert not s["what_if"], (name, s["what_if"])
        elif s["what_if"]:
            assert not scenario_link_problems({k: [v] for k, v in s["what_if"].items()})
    for name in ("war", "pricing", "war_again"):
        assert seen[name]["unwritten"] == 1 and not seen[name]["what_if"], (name, seen[name])
    assert seen["first"]["what_if"] and not seen["first"]["unwritten"], seen["first"]
    for name in ("reload", "copied"):
        assert not seen[name]["unwritten"], (name, seen[name])
    holdable = seen["holdable"]
    assert not holdable["unwritten"], holdable
    assert holdable["what_if"].get("s_cut_competitor") == "r27 rival", holdable["what_if"]
    backs = [k for k in seen if k.startswith("back_")]
    record_figure("round27_back_presses_to_the_first_pricing_entry", len(backs))


# -- 3. Monte Carlo draws: links and forged widget values, counted ---------------------------


@pytest.fixture
def draws_run(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Each Monte Carlo run of this process: (segments, draws), as
    ``analytics.scenario_sensitivity`` asks ``simulate_model_profit`` for them (the cache
    of ``dashboard.shared_compute`` emptied first, so every run is counted)."""
    import analytics.scenario_sensitivity as sens
    from dashboard.shared_compute import scenario_monte_carlo

    scenario_monte_carlo.clear()
    runs: list[tuple[int, int]] = []
    real = sens.simulate_model_profit

    def counted(model: Any, **kwargs: Any) -> Any:
        runs.append((len(kwargs["gpu_cost"]), int(kwargs["draws"])))
        return real(model, **kwargs)

    monkeypatch.setattr(sens, "simulate_model_profit", counted)
    return runs


def _open_pricing(query: dict[str, str]) -> Any:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=180)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(PRICING_PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _said(at: Any) -> list[str]:
    return [str(e.value).replace("\\", "") for e in (*at.warning, *at.info, *at.error)]


#: Links: (segments, the draws' text, what the page does: the draws it runs, or refused).
LINKS: dict[str, tuple[int, str, int | None]] = {
    "20_at_the_top": (20, "500000", 500_000),
    "20_one_over": (20, "500001", None),
    "11_at_the_top": (11, "909090", 909_090),
    "11_one_over": (11, "909091", None),
    "10_at_a_million": (10, "1000000", 1_000_000),
    "20_zero": (20, "0", None),
    "20_negative": (20, "-500000", None),
    "20_1e999": (20, "1e999", None),
    "20_exponent": (20, "5e5", None),
    "20_text": (20, "half a million", None),
    "20_underscores": (20, "500_000", 500_000),
    "20_full_width": (20, "５００００１", None),
}


@pytest.mark.parametrize("case", list(LINKS))
def test_a_links_monte_carlo_draws_stay_within_a_links_work(
    app_db: Path, draws_run: list[tuple[int, int]], case: str
) -> None:
    """Held: a what-if link of 10, 11 or 20 segments whose ``s_mc_draws`` is at
    ``MAX_LINK_MC_WORK // segments``, one over, 0, negative, 1e999, 5e5, words, ``500_000``
    (Python's ``int`` reads it, as both the link check and the scenario do) or full-width
    digits over the top: Pricing either runs exactly the linked draws (at most 10,000,000
    draws in all) or says the link was not used and runs the measured inputs' draws; every
    Monte Carlo run of the page counted within a link's work."""
    segments, draws, runs = LINKS[case]
    at = _open_pricing(_link(segments, draws, 2700 + list(LINKS).index(case)))
    said = _said(at)
    assert draws_run, "no Monte Carlo ran"
    assert all(n * d <= MAX_LINK_MC_WORK for n, d in draws_run), draws_run
    if runs is None:
        assert any(REFUSED in t for t in said), said
        assert (segments, int(draws) if draws.isascii() and draws.isdigit() else 0) not in (
            draws_run
        )
    else:
        assert not any(REFUSED in t for t in said), said
        assert (segments, runs) in draws_run, draws_run
    record_figure(f"round27_mc_work_{case}", max(n * d for n, d in draws_run))


@pytest.mark.parametrize("forged", [5_000_000, 500_001, 10**300, -1, 0])
def test_a_forged_draws_value_above_the_inputs_top_runs_no_more_than_a_link(
    app_db: Path, draws_run: list[tuple[int, int]], forged: int
) -> None:
    """Held: Pricing opened by a 20-segment link at 500,000 draws (the top the draws input
    takes for 20 segments), then the draws input given a value the browser's input never
    sends (above its top, below its bottom), as a forged message would: Streamlit puts the
    input back at its starting value (``NumberInputSerde``'s bounds), so every Monte Carlo
    run draws at most 10,000,000 in all and the address keeps 500,000."""
    at = _open_pricing(_link(20, "500000", 2750))
    draws = next(w for w in at.number_input if (w.key or "").startswith(wi.MC_DRAWS.key + "_"))
    assert draws.max == 500_000 == draws.value, (draws.max, draws.value)
    draws_run.clear()
    draws.set_value(forged).run()
    assert not at.exception, [e.value for e in at.exception]
    assert all(n * d <= MAX_LINK_MC_WORK for n, d in draws_run), draws_run
    assert at.session_state["_scenario"].mc_draws == 500_000
    assert at.query_params.get("s_mc_draws") == "500000", dict(at.query_params)


def test_the_draws_input_bounds_every_segment_count_a_scenario_holds() -> None:
    """Held: for every segment count a scenario holds (1 to 50), the draws input's top
    times the segments is at most ``MAX_LINK_MC_WORK``, its top never under its bottom,
    and a link of that many segments at that top (20 at most) is read by the link check."""
    from analytics.scenario_parts import MAX_SEGMENTS

    for n in range(1, MAX_SEGMENTS + 1):
        spec = wi.mc_draws_input(n)
        assert n * spec.max_value <= MAX_LINK_MC_WORK, (n, spec.max_value)
        assert spec.max_value >= spec.min_value, n
        if n <= 20:
            assert not scenario_link_problems(
                {k: [v] for k, v in _link(n, str(int(spec.max_value)), 1).items()}
            ), n
