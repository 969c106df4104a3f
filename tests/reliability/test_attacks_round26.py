"""Round 26 of the hostile-user attacks (#12): what round 25 changed and nobody attacked.

- ``dashboard/whatif_inputs.clamped`` and both what-if pages (commit e78fdf2): a saved
  scenario out of range in only the other page's inputs, in both, exactly at the bounds;
  segment and competitor lists of odd lengths; one scenario loaded after another; the
  pages visited back and forth; Save right after a clamp on either page.
- ``dashboard/history_links.write_address`` (commit 1d34abc), which refuses to write an
  address the link check would refuse: what the user sees then.
- The browser's Back and Forward after a loaded out-of-range scenario, in chromium against
  ``serve.py`` (round 25 sent Back over the websocket only).
- GAPS.md item 17: a ``_streamlit_user`` cookie planted for the parent domain arrives as a
  second cookie of the same name (``dashboard/signin_cookies.py``). Since
  ``dashboard/host_signin.py`` (``serve.py`` on https or loopback: sign-in cookies are
  ``__Host-`` ones, plain ones dropped) the planted cookie is never read there and the user
  stays signed in as themselves; the refusal in words still applies on plain http and
  under ``app.py``.

Broke (fixed in ``history_links.write_address`` and both pages): a what-if the address
cannot hold (a saved scenario with 21 segments or 21 competitors, 11 segments at 1,000,000
Monte Carlo draws, a competitor name longer than a link holds) was shown with no word that
the address did not follow; after the user's own change on the page the address kept the
older what-if, so a copied link or a reload showed another what-if than the screen; and
the next what-if page said "The what-if inputs in the link were not used … Showing the
default inputs" while it showed the loaded what-if. And (GAPS 17, fixed in
``dashboard/signin_cookies.py``, ``serve.py`` and ``access.py``) a request with the
analyst's identity and a planted one of the viewer's signed the tab in as the viewer.

Work is counted (runs, messages), never timed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from analytics.scenario import Scenario
from analytics.scenario_parts import Competitor, DemandSegment
from dashboard import whatif_inputs as wi
from dashboard.scenario_links import scenario_link_problems
from tests.chromium import new_page
from tests.dashboard.conftest import app_db, secured  # noqa: F401 - fixtures
from tests.dashboard.signin import ANALYST as APP_ANALYST
from tests.reliability.conftest import needs_chromium, record_figure
from tests.reliability.signed import run
from tests.reliability.test_attacks_round17 import open_page, run_problems
from tests.reliability.test_attacks_round25 import _saved_params, _store_raw

PRICING_PAGE = "views/pricing.py"
PRICE_WAR_PAGE = "views/price_war.py"
OTHER = {PRICING_PAGE: PRICE_WAR_PAGE, PRICE_WAR_PAGE: PRICING_PAGE}
CLAMP_NOTE = "values the inputs below do not take"
ELSEWHERE_NOTE = "page's inputs do not take"
UNWRITTEN = "The page address (the what-if link) does not hold this what-if"
REFUSED = "were not used"  # the link check's note ("The what-if inputs in … link were not used")


def _plain(text: object) -> str:
    return str(text).replace("\\", "")


def _warnings(at: Any) -> list[str]:
    return [_plain(w.value) for w in at.warning]


def _address(at: Any) -> dict[str, list[str]]:
    """The what-if inputs of the address the session holds (``s_…``)."""
    return {k: [str(v)] for k, v in at.query_params.items() if k.startswith("s_")}


def _segments(n: int) -> tuple[DemandSegment, ...]:
    return tuple(DemandSegment(name=f"r26 segment {i}") for i in range(n))


def _competitors(n: int, first: str = "r26 rival 0") -> tuple[Competitor, ...]:
    names = [first, *(f"r26 rival {i}" for i in range(1, n))]
    return tuple(Competitor(name=name, price=1.0, share=0.3 / max(n, 1)) for name in names)


def _load(db: Path, name: str, scenario: Scenario, at: Any = None) -> Any:
    """``scenario`` stored by SQL as ``name`` (another program) and loaded into the what-if
    on Scenarios (a fresh analyst session unless ``at``)."""
    _store_raw(db, name, json.loads(scenario.to_json()))
    if at is None:
        at = open_page(APP_ANALYST, "views/scenarios.py")
    else:
        at.switch_page("views/scenarios.py").run()
    at.selectbox(key="sc_pick").set_value(name).run()
    at.button(key="sc_load").click().run()
    assert not run_problems(at), run_problems(at)
    return at


# -- a what-if the address cannot hold -----------------------------------------------------

#: Saved scenarios ``Scenario`` accepts (50 segments, 30 competitors, names of 200
#: characters) that the link check refuses (20 segments, 20 competitors, a cutting
#: competitor's name of 60 characters). Its 10,000,000 Monte Carlo draws a page the pages
#: keep by lowering the draws input's top (GAPS 20: the tests below).
UNWRITABLE = {
    "21_segments": Scenario(name="r26").replace(segments=_segments(21)),
    "21_competitors": Scenario(name="r26").replace(competitors=_competitors(21)),
    "cut_competitor_100_chars": Scenario(name="r26").replace(
        competitors=_competitors(2, "C" * 100), cut_competitor="C" * 100
    ),
}


@pytest.mark.parametrize("page", [PRICING_PAGE, PRICE_WAR_PAGE])
@pytest.mark.parametrize("case", list(UNWRITABLE))
def test_a_loaded_what_if_the_address_cannot_hold_is_said_in_words(
    secured: Path, case: str, page: str
) -> None:
    """Expected: after "Load into the what-if" of a saved scenario the link check refuses
    (which ``Scenario`` and the pages accept), the what-if page serves it and says that its
    address does not hold it, naming why; the address holds no what-if inputs; the other
    what-if page and this one again say the same, and never that "the what-if inputs in
    the link were not used" (no link was).

    Held: Price war serves 21 competitors with its own check (remove a row) and writes
    nothing, as round 22 made it.

    Broke: no word at all (``write_address`` only logged); then the other what-if page and
    every later run said "The what-if inputs in the link were not used: s_segments lists
    21 segments (at most 20). Showing the default inputs", while the page showed the
    loaded what-if (``unreadable_address`` ran the link check, which remembers a refused
    link's note for the next what-if page)."""
    scenario = UNWRITABLE[case]
    assert scenario_link_problems({k: [v] for k, v in scenario.to_query_params().items()})
    at = _load(secured, "r26", scenario)
    for visit in (page, OTHER[page], page):
        at.switch_page(visit).run()
        assert not run_problems(at), (visit, run_problems(at))
        said = _warnings(at)
        assert not [w for w in said if REFUSED in w], (visit, said)
        assert not _address(at), (visit, _address(at))
        if case == "21_competitors" and visit == PRICE_WAR_PAGE:
            assert any("it lists 21 competitors" in w for w in said), said
            continue
        notes = [w for w in said if UNWRITTEN in w]
        assert len(notes) == 1, (visit, said)
        assert "save the what-if by name on the Scenarios page" in notes[0], notes[0]


@pytest.mark.parametrize(("segments", "top"), [(11, 909_090), (20, 500_000)])
def test_the_draws_input_keeps_a_page_run_within_a_links_monte_carlo_work(
    secured: Path, segments: int, top: int
) -> None:
    """Expected (GAPS 20): the Pricing page's draws input takes at most
    ``MAX_LINK_MC_WORK`` // segments draws, so a page run draws no more than a what-if link
    may ask for and its address holds the what-if. A loaded what-if of 11 or 20 segments at
    1,000,000 draws starts at that top with the clamp note naming it; the address then
    holds the whole what-if; Price war, visited first, moves the draws the same way.

    Broke (round 26, before the fix): the draws input took 1,000,000 whatever the
    segments; a saved scenario of 50 segments at 1,000,000 draws did 50 M draws every
    Pricing run (2.9–4.1 s, 0.93 GB) and its address could not hold it."""
    scenario = Scenario(name="r26-draws").replace(segments=_segments(segments), mc_draws=1_000_000)
    assert scenario_link_problems({k: [v] for k, v in scenario.to_query_params().items()})
    at = None
    for visit, note in ((PRICE_WAR_PAGE, ELSEWHERE_NOTE), (PRICING_PAGE, CLAMP_NOTE)):
        name = f"r26-draws-{segments}-{visit}"  # loaded anew: each page the first visited
        at = _load(secured, name, scenario.replace(name=name), at)
        at.switch_page(visit).run()
        assert not run_problems(at), run_problems(at)
        said = _warnings(at)
        assert not [w for w in said if UNWRITTEN in w or REFUSED in w], (visit, said)
        notes = [w for w in said if note in w]
        assert len(notes) == 1, (visit, said)
        assert f"Monte Carlo draws 1,000,000 (it takes 1,000 to {top:,})" in notes[0], notes
        assert at.session_state["_scenario"].mc_draws == top, visit
        written = _address(at)
        assert written.get("s_mc_draws") == [str(top)], written
        assert not scenario_link_problems(written), written
    at.switch_page(PRICING_PAGE).run()
    draws = next(w for w in at.number_input if (w.key or "").startswith(wi.MC_DRAWS.key + "_"))
    assert draws.max == top and draws.value == top, (draws.max, draws.value)


def test_fifty_segments_draw_at_most_a_links_work_a_run(secured: Path) -> None:
    """Expected (GAPS 20): the most segments a scenario holds (50) at 1,000,000 draws runs
    at 200,000 draws (10,000,000 in all), said in the clamp note; the address cannot hold
    50 segments (a link holds 20) and says so, never that a link was not used."""
    scenario = Scenario(name="r26-fifty").replace(segments=_segments(50), mc_draws=1_000_000)
    at = _load(secured, "r26-fifty", scenario)
    at.switch_page(PRICING_PAGE).run()
    assert not run_problems(at), run_problems(at)
    said = _warnings(at)
    assert any("Monte Carlo draws 1,000,000 (it takes 1,000 to 200,000)" in w for w in said)
    assert len([w for w in said if UNWRITTEN in w]) == 1, said
    assert not [w for w in said if REFUSED in w], said
    assert at.session_state["_scenario"].mc_draws == 200_000


# -- the cross-page clamp (round 25's fix), attacked ---------------------------------------

PRICING_SPECS = wi.PRICING_INPUTS
PRICE_WAR_SPECS = wi.PRICE_WAR_INPUTS
#: Out of range for one page's inputs only: Price war's cut and niche factor; Pricing's
#: Monte Carlo draws and seed.
ONLY_PRICE_WAR = {"cut_pct": 95.0, "niche_alpha_factor": 20.0}
ONLY_PRICING = {"mc_draws": 500, "mc_seed": 2**60}


def _inputs_within_bounds(at: Any, specs: tuple[wi.InputSpec, ...]) -> dict[str, float]:
    """The page's number inputs and sliders of ``specs``, each asserted within its bounds."""
    seen = {}
    for w in [*at.number_input, *at.slider]:
        spec = next((s for s in specs if (w.key or "").startswith(s.key + "_")), None)
        if spec is not None:
            assert spec.clamp(w.value) == w.value, (spec.field, w.value)
            seen[spec.field] = w.value
    return seen


def _assert_readable(at: Any) -> dict[str, list[str]]:
    written = _address(at)
    assert not scenario_link_problems(written), written
    for spec in (*PRICING_SPECS, *PRICE_WAR_SPECS):
        if f"s_{spec.field}" in written:
            number = float(written[f"s_{spec.field}"][-1])
            assert spec.clamp(number) == number, (spec.field, number)
    return written


@pytest.mark.parametrize(
    ("first", "values"),
    [(PRICING_PAGE, ONLY_PRICE_WAR), (PRICE_WAR_PAGE, ONLY_PRICING)],
    ids=["pricing_first_price_war_values", "price_war_first_pricing_values"],
)
def test_values_outside_only_the_other_pages_inputs_are_named_as_that_pages(
    secured: Path, first: str, values: dict[str, Any]
) -> None:
    """Held: a saved scenario out of range only in the other page's inputs, loaded; the
    first page visited says "This what-if holds values the <other> page's inputs do not
    take: …" (not "the inputs below"), names each moved input, and writes an address the
    link check reads back with the values at their bounds; the other page then shows no
    note and its inputs at the bounds."""
    at = _load(secured, "r26-other", Scenario(name="r26-other").replace(**values))
    at.switch_page(first).run()
    assert not run_problems(at), run_problems(at)
    notes = [w for w in _warnings(at) if ELSEWHERE_NOTE in w or CLAMP_NOTE in w]
    assert len(notes) == 1 and CLAMP_NOTE not in notes[0], notes
    other = "Price war" if first == PRICING_PAGE else "Pricing what-if"
    assert f"This what-if holds values the {other} page's inputs do not take" in notes[0]
    specs = PRICE_WAR_SPECS if first == PRICING_PAGE else PRICING_SPECS
    for spec in specs:
        if spec.field in values:
            assert spec.label.strip() in notes[0], (spec.field, notes[0])
    _assert_readable(at)
    at.switch_page(OTHER[first]).run()
    assert not run_problems(at), run_problems(at)
    assert not [w for w in _warnings(at) if ELSEWHERE_NOTE in w or CLAMP_NOTE in w]
    shown = _inputs_within_bounds(at, specs)
    for spec in specs:
        if spec.field in values and spec.field in shown:
            assert shown[spec.field] == spec.clamp(values[spec.field]), (spec.field, shown)
    _assert_readable(at)


def _at_bounds(which: str) -> Scenario:
    """A scenario holding every input's lower (or upper) bound that ``Scenario`` accepts."""
    scenario = Scenario(name=f"r26-{which}")
    for spec in (*PRICING_SPECS, *PRICE_WAR_SPECS):
        bound = spec.min_value if which == "low" else spec.max_value
        if bound is None:
            continue
        value = int(bound) if spec in (wi.MC_DRAWS, wi.MC_SEED) else float(bound)
        try:
            scenario = scenario.replace(**{spec.field: value})
        except Exception:  # a bound the scenario's own checks refuse (none measured)
            continue
    return scenario


@pytest.mark.parametrize("which", ["low", "high"])
def test_values_exactly_at_the_bounds_give_no_note_and_stay(secured: Path, which: str) -> None:
    """Held: every input at exactly its lower (or upper) bound, loaded: neither page says a
    value was moved, every input shows the saved value, and the address both pages write
    holds those values and is read back by the link check."""
    scenario = _at_bounds(which)
    at = _load(secured, f"r26-{which}", scenario)
    for page, specs in ((PRICING_PAGE, PRICING_SPECS), (PRICE_WAR_PAGE, PRICE_WAR_SPECS)):
        at.switch_page(page).run()
        assert not run_problems(at), (page, run_problems(at))
        said = _warnings(at)
        assert not [w for w in said if CLAMP_NOTE in w or ELSEWHERE_NOTE in w], said
        assert not [w for w in said if UNWRITTEN in w or REFUSED in w], said
        shown = _inputs_within_bounds(at, specs)
        for spec in specs:
            if spec.field in shown:
                assert shown[spec.field] == getattr(scenario, spec.field), (spec.field, shown)
        written = _assert_readable(at)
        for spec in (*PRICING_SPECS, *PRICE_WAR_SPECS):
            if f"s_{spec.field}" in written:
                number = float(written[f"s_{spec.field}"][-1])
                assert number == getattr(scenario, spec.field), (spec.field, number)


@pytest.mark.parametrize(("segments", "competitors"), [(1, 0), (3, 1), (19, 3), (20, 20)])
def test_segment_and_competitor_lists_of_odd_lengths_write_their_whole_address(
    secured: Path, segments: int, competitors: int
) -> None:
    """Held: a saved scenario with 1 to 20 segments and 0 to 20 competitors (the link's
    limits) and out-of-range values on both pages, loaded: each page serves with one clamp
    note, writes every segment and competitor into an address the link check reads back,
    and never says the address does not hold the what-if. With no competitor saved, Price
    war models the data's competitors (as for a new what-if) and writes them."""
    scenario = Scenario(name="r26-lists").replace(
        segments=_segments(segments),
        competitors=_competitors(competitors),
        cut_competitor="r26 rival 0" if competitors else "",
        **ONLY_PRICING,
        **ONLY_PRICE_WAR,
    )
    at = _load(secured, "r26-lists", scenario)
    for page in (PRICING_PAGE, PRICE_WAR_PAGE):
        at.switch_page(page).run()
        assert not run_problems(at), (page, run_problems(at))
        said = _warnings(at)
        assert not [w for w in said if UNWRITTEN in w or REFUSED in w], (page, said)
        written = _assert_readable(at)
        assert len(json.loads(written["s_segments"][-1])) == segments or segments == 1
        if competitors:
            assert len(json.loads(written["s_competitors"][-1])) == competitors, written
        elif page == PRICE_WAR_PAGE:  # none saved: the data's competitors, as for a new what-if
            assert json.loads(written["s_competitors"][-1]), written


def test_one_loaded_scenario_after_another_and_the_pages_back_and_forth(secured: Path) -> None:
    """Held: scenario A (out of range on both pages) loaded, then Pricing, Price war,
    Pricing, Price war: one note on the first visit only, a readable address on every
    visit, the same from Price war on (it adds the data's competitors to a scenario that
    has none); then B (in range, seed 7) loaded: no note, B's seed in the inputs and the
    address; then A again: the note again and the inputs back at the bounds (the loaded
    scenario resets them), A's saved row unchanged throughout."""
    a = Scenario(name="r26-a").replace(**ONLY_PRICING, **ONLY_PRICE_WAR)
    at = _load(secured, "r26-a", a)
    before = _saved_params(secured, "r26-a")
    notes, addresses = [], []
    for page in (PRICING_PAGE, PRICE_WAR_PAGE, PRICING_PAGE, PRICE_WAR_PAGE):
        at.switch_page(page).run()
        assert not run_problems(at), (page, run_problems(at))
        notes.append(len([w for w in _warnings(at) if CLAMP_NOTE in w or ELSEWHERE_NOTE in w]))
        addresses.append(_assert_readable(at))
    assert notes == [1, 0, 0, 0], notes
    # Price war adds the data's competitors to a scenario that has none (then kept)
    assert addresses[1] == addresses[2] == addresses[3], addresses
    assert all(addresses[1][k] == v for k, v in addresses[0].items()), addresses
    _load(secured, "r26-b", Scenario(name="r26-b").replace(mc_seed=7), at)
    at.switch_page(PRICING_PAGE).run()
    assert not [w for w in _warnings(at) if CLAMP_NOTE in w or ELSEWHERE_NOTE in w]
    assert _inputs_within_bounds(at, PRICING_SPECS)["mc_seed"] == 7
    assert _assert_readable(at)["s_mc_seed"] == ["7"]
    at.switch_page("views/scenarios.py").run()
    at.selectbox(key="sc_pick").set_value("r26-a").run()
    at.button(key="sc_load").click().run()
    at.switch_page(PRICE_WAR_PAGE).run()
    assert len([w for w in _warnings(at) if CLAMP_NOTE in w]) == 1, _warnings(at)
    shown = _inputs_within_bounds(at, PRICE_WAR_SPECS)
    assert shown["cut_pct"] == 90.0 and shown["niche_alpha_factor"] == 10.0, shown
    assert _assert_readable(at)["s_mc_draws"] == ["1000"]
    assert _saved_params(secured, "r26-a") == before


def test_save_right_after_a_clamp_on_price_war_stores_the_values_the_inputs_show(
    secured: Path,
) -> None:
    """Held: scenario A (out of range on both pages) loaded, Price war visited first (its
    note says "save the inputs again to keep the new values"), then Save on Scenarios:
    "Saved as …", the new row holds every value within every input's bounds (Pricing's
    too, moved by Price war), and A's row is unchanged."""
    a = Scenario(name="r26-a").replace(**ONLY_PRICING, **ONLY_PRICE_WAR)
    at = _load(secured, "r26-a", a)
    before = _saved_params(secured, "r26-a")
    at.switch_page(PRICE_WAR_PAGE).run()
    notes = [w for w in _warnings(at) if CLAMP_NOTE in w]
    assert len(notes) == 1 and "save the inputs again to keep the new values" in notes[0]
    at.switch_page("views/scenarios.py").run()
    at.text_input(key="sc_name").set_value("r26-after-war").run()
    at.button(key="sc_save").click().run()
    assert not run_problems(at), run_problems(at)
    assert any("Saved as" in str(s.value) for s in at.success), [s.value for s in at.success]
    after = _saved_params(secured, "r26-after-war")
    for spec in (*PRICING_SPECS, *PRICE_WAR_SPECS):
        assert spec.clamp(after[spec.field]) == after[spec.field], (spec.field, after)
    assert after["mc_draws"] == 1000 and after["cut_pct"] == 90.0, after
    assert _saved_params(secured, "r26-a") == before


# -- GAPS 17: a sign-in cookie planted for the parent domain ------------------------------

#: What the refusal says (``dashboard.signin_cookies.repeated_problem``).
TWO_COOKIES = "Two different sign-in cookies"


def _identity(email: str, origin: str) -> str:
    """``_streamlit_user`` as Streamlit signs it for ``email`` (what a browser holds)."""
    from tests.reliability.signed import COOKIE_SECRET, signed_identity

    return signed_identity(COOKIE_SECRET, origin, email)


def _chunked(email: str, origin: str) -> str:
    """The identity for ``email`` as Streamlit's ``set_cookie_with_chunks`` splits a long
    one: ``_streamlit_user=chunks-2`` and two signed chunks."""
    import time

    from streamlit.web.server.starlette.starlette_app_utils import create_signed_value

    from tests.reliability.signed import COOKIE_SECRET

    text = json.dumps(
        {"origin": origin, "is_logged_in": True, "email": email, "email_verified": True}
        | {"name": email.split("@")[0], "iat": int(time.time())}
    )
    half = len(text) // 2

    def sign(name: str, value: str) -> str:
        return create_signed_value(COOKIE_SECRET, name, value).decode()

    return (
        f"_streamlit_user={sign('_streamlit_user', 'chunks-2')}; "
        f"_streamlit_user_1={sign('_streamlit_user_1', text[:half])}; "
        f"_streamlit_user_2={sign('_streamlit_user_2', text[half:])}"
    )


def _request(
    url: str, method: str, path: str, cookies: list[str], host: str | None = None
) -> tuple[int, str, list[str]]:
    """``method path`` sent byte for byte with one ``Cookie`` header per item of
    ``cookies``: the status, the body's start and the ``Set-Cookie`` headers."""
    import http.client
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.putrequest(method, path, skip_host=True)
        conn.putheader("Host", host or parts.netloc)
        for cookie in cookies:
            conn.putheader("Cookie", cookie)
        if method == "PUT":
            conn.putheader("Content-Length", "0")
        conn.endheaders()
        response = conn.getresponse()
        body = response.read(4000).decode("utf-8", "replace")
        return response.status, body, response.headers.get_all("Set-Cookie") or []
    finally:
        conn.close()


async def _planted_session(url: str, cookie: str) -> tuple[Any, Any]:
    """A light session whose websocket carries ``cookie`` (after the XSRF cookie): the
    session after its first page run, or the handshake's refusal."""
    from websockets.exceptions import InvalidStatus

    from tests.reliability.signed import SignedSession

    s = SignedSession(url, "planted", sign_in_cookies=cookie, timeout=180)
    try:
        await s.connect()
    except InvalidStatus as exc:
        return None, exc.response.status_code
    try:
        opened = await s.open()
        return list(s.texts), opened.problems
    finally:
        await s.close()


def _as_host(cookies: str) -> str:
    """``cookies`` (``name=value; …``) with each name ``__Host-`` prefixed: what a browser
    signed in on ``serve.py`` holds (``dashboard.host_signin``; values signed under the
    plain names, as Streamlit signs them)."""
    return "; ".join(f"__Host-{part.strip()}" for part in cookies.split(";"))


#: The public host of the plain-http ``serve.py`` server below (``[auth] redirect_uri``):
#: browsers take no ``Secure`` (so no ``__Host-``) cookie from it, so ``host_signin`` is off
#: and plain sign-in cookies reach ``RepeatedSignInCookies``.
PLAIN_HTTP_HOST = "pwr.example.test"


def test_a_sign_in_cookie_planted_for_the_parent_domain_is_dropped_under_serve_py(
    tmp_path: Path, demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected, over ``serve.py``'s real HTTP and websocket with a loopback ``redirect_uri``
    (``dashboard.host_signin`` on, GAPS 17 closed there): the analyst's own identity as a
    browser holds it there (``__Host-_streamlit_user``) beside a plain ``_streamlit_user``
    the server signed for the viewer's sign-in (planted for the parent domain), before or
    after it, in one ``Cookie`` header or two, and for a chunked own identity beside a
    planted chunk: no refusal (the page 200 without "Two different sign-in cookies", no
    deletion of the planted cookie needed: it is never read), and the websocket signs in the
    analyst, never the viewer. The planted cookie alone signs nobody in. Two different
    ``__Host-`` identities (no other host can set one) are still refused (403) by
    ``RepeatedSignInCookies``, which runs after ``host_signin``.

    Before ``host_signin`` (round 26's fix, ``dashboard/signin_cookies.py``): every such
    request was refused (403, the websocket 403) and the user had to sign in again; before
    that (GAPS.md item 17, OPEN since round 24) the websocket took the last cookie of the
    name, so the tab was the viewer's ("Signed in as vera@example.com · viewer")."""
    from tests.reliability.signed import ANALYST, VIEWER, signed
    from tests.reliability.test_attacks_round18 import serving

    with (
        serving("dashboard/serve.py", monkeypatch),
        signed(tmp_path / "planted", demo_db) as server,
    ):
        url = server.url
        own, planted = _identity(ANALYST, url), _identity(VIEWER, url)
        mine, theirs = f"__Host-_streamlit_user={own}", f"_streamlit_user={planted}"
        both = {
            "own_then_planted": [f"{mine}; {theirs}"],
            "planted_then_own": [f"{theirs}; {mine}"],
            "two_headers": [mine, theirs],
            "two_headers_planted_first": [theirs, mine],
            "chunked_own_planted_chunk": [
                f"{_as_host(_chunked(ANALYST, url))}; _streamlit_user_1={planted}"
            ],
            "chunked_own_planted_whole": [f"{theirs}; {_as_host(_chunked(ANALYST, url))}"],
        }
        pages = {name: _request(url, "GET", "/", cookies) for name, cookies in both.items()}
        upload = _request(url, "PUT", "/_stcore/upload_file/a-session/a-file", both["two_headers"])
        sessions = {
            name: run(_planted_session(url, "; ".join(cookies))) for name, cookies in both.items()
        }
        planted_alone = run(_planted_session(url, theirs))
        two_host = _request(url, "GET", "/", [f"{mine}; __Host-_streamlit_user={planted}"])
        two_host_ws = run(_planted_session(url, f"{mine}; __Host-_streamlit_user={planted}"))
    for name, (status, body, set_cookies) in pages.items():
        assert status == 200 and TWO_COOKIES not in body, (name, status, body[:300])
        assert not any("Max-Age=0" in c for c in set_cookies), (name, set_cookies)
    assert TWO_COOKIES not in upload[1], upload[:2]  # refused for its unknown session only
    for name, (texts, problems) in sessions.items():
        assert texts is not None and not problems, (name, texts, problems)
        assert any(f"Signed in as **{ANALYST}**" in _plain(t) for t in texts), (name, texts)
        assert not any(VIEWER in _plain(t) for t in texts), (name, texts)
    texts, problems = planted_alone  # the sign-in gate: nobody's, and no refusal
    assert texts is not None and not any(TWO_COOKIES in _plain(p) for p in problems), problems
    assert not any("Signed in as" in _plain(t) for t in texts), texts
    assert two_host[0] == 403 and TWO_COOKIES in two_host[1], two_host[:2]
    texts, problems = two_host_ws  # opened as nobody's, the page saying why (round 27)
    assert any(TWO_COOKIES in _plain(p) for p in problems), (texts, problems)
    assert not any("Signed in as" in _plain(t) for t in texts), texts


def test_on_plain_http_a_second_sign_in_cookie_is_refused_in_words(
    tmp_path: Path, demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected, over ``serve.py``'s real HTTP and websocket with ``redirect_uri`` on plain
    http at a host that is not loopback (browsers refuse ``__Host-`` cookies there, so
    ``dashboard.host_signin`` is off and plain cookies are what a browser holds): the
    analyst's own identity followed by one the server signed for the viewer's sign-in
    (planted for the parent domain, so the browser sends both) is refused on every request
    before Streamlit reads a cookie: the page (``GET /``) answers 403 with the reason in
    words and deletes the sign-in cookies host-only and for every domain above the host;
    an upload ``PUT`` is refused (403, the same words); the websocket opens signed in as
    nobody, the page saying why (round 27; it was a 403 handshake); the same in two
    ``Cookie`` headers, in the other order, and for a chunked identity with a planted
    chunk. The analyst's identity alone, or twice with the same value, signs the analyst in
    as before.

    Broke (GAPS.md item 17, OPEN since round 24): the websocket took the last cookie of
    the name, so the tab was the viewer's ("Signed in as vera@example.com · viewer"), and
    what the analyst saved or imported would be audited as the viewer. Still not covered
    on plain http: a browser holding only a planted cookie (GAPS 17)."""
    from tests.reliability.signed import ANALYST, VIEWER, signed
    from tests.reliability.test_attacks_round18 import serving

    with (
        serving("dashboard/serve.py", monkeypatch),
        signed(tmp_path / "planted", demo_db, redirect_host=PLAIN_HTTP_HOST) as server,
    ):
        url = server.url
        own, planted = _identity(ANALYST, url), _identity(VIEWER, url)
        both = [
            [f"_streamlit_user={own}; _streamlit_user={planted}"],
            [f"_streamlit_user={planted}; _streamlit_user={own}"],
            [f"_streamlit_user={own}", f"_streamlit_user={planted}"],
            [f"{_chunked(ANALYST, url)}; _streamlit_user_1={planted}"],
        ]
        pages = [_request(url, "GET", "/", cookies) for cookies in both]
        named = _request(url, "GET", "/", both[0], host="pwr.corp.example.com")
        upload = _request(url, "PUT", "/_stcore/upload_file/a-session/a-file", both[0])
        fine = [
            _request(url, "GET", "/", [f"_streamlit_user={own}"]),
            _request(url, "GET", "/", [f"_streamlit_user={own}; _streamlit_user={own}"]),
        ]
        refused = run(_planted_session(url, both[0][0]))
        chunked = run(_planted_session(url, both[3][0]))
        alone = run(_planted_session(url, f"_streamlit_user={own}"))
    for status, body, set_cookies in pages:
        assert status == 403 and TWO_COOKIES in body, (status, body[:300])
        assert any(c.startswith("_streamlit_user=; Max-Age=0") for c in set_cookies)
    status, body, set_cookies = named
    assert status == 403, status
    for domain in ("corp.example.com", "example.com"):
        assert any(c.endswith(f"Domain={domain}") for c in set_cookies), set_cookies
    assert not any(c.endswith("Domain=com") for c in set_cookies), set_cookies
    assert upload[0] == 403 and TWO_COOKIES in upload[1], upload[:2]
    assert [status for status, _, _ in fine] == [200, 200], fine
    for texts, problems in (refused, chunked):
        assert texts is not None, problems  # opened, not refused
        assert any(TWO_COOKIES in _plain(p) for p in problems), (texts, problems)
        assert not any("Signed in as" in _plain(t) for t in texts), texts
    texts, problems = alone
    assert not problems, problems
    assert any(f"Signed in as **{ANALYST}**" in _plain(t) for t in texts), texts


def test_under_streamlit_run_app_py_the_page_lets_nobody_in_and_says_why(
    tmp_path: Path, demo_db: Path
) -> None:
    """Expected, under ``streamlit run dashboard/app.py`` (no middleware): a websocket
    carrying the analyst's identity and a planted one of the viewer's signs in nobody; the
    page shows the reason in words (``access.current_user``: ``st.context.headers``), not
    "Signed in as" anyone; the analyst's identity alone signs the analyst in.

    Broke (GAPS.md item 17): "Signed in as vera@example.com · viewer" (the last cookie)."""
    from tests.reliability.signed import ANALYST, VIEWER, signed

    with signed(tmp_path / "planted-app", demo_db) as server:
        url = server.url
        own, planted = _identity(ANALYST, url), _identity(VIEWER, url)
        texts, problems = run(
            _planted_session(url, f"_streamlit_user={own}; _streamlit_user={planted}")
        )
        alone = run(_planted_session(url, f"_streamlit_user={own}"))
    assert any(TWO_COOKIES in _plain(p) for p in problems), (problems, texts)
    assert not any("Signed in as" in t for t in texts), texts
    assert not alone[1] and any(f"Signed in as **{ANALYST}**" in _plain(t) for t in alone[0])


# -- Back and Forward in chromium after a loaded out-of-range scenario --------------------


@needs_chromium
@pytest.mark.e2e
def test_in_chromium_back_forward_and_reload_after_a_loaded_scenario_keep_the_what_if(
    tmp_path: Path, demo_db: Path, monkeypatch: pytest.MonkeyPatch, browser: Any
) -> None:
    """Expected, in chromium on ``serve.py`` as an analyst: "Load into the what-if" of a
    saved scenario outside both pages' inputs (round 25's: seed 2**60, 500 draws, a 95 %
    cut, niche factor × 20), Price war (entry A: one note), Pricing (entry B), then the
    browser's Back through A to Scenarios, as many presses Forward (back to B), and a
    reload of Pricing: every entry shows the loaded what-if at the bounds (cut 90 %, seed
    9,007,199,254,740,991), what its address says, with no problem and never "The what-if
    inputs in … link were not used"; ``history.length`` never changes during the walk.

    Round 25 sent Back over the websocket only; this is the browser's own history."""
    from tests.reliability.signed import ANALYST, signed
    from tests.reliability.test_attacks_round18 import serving
    from tests.reliability.test_attacks_round21 import _cookie
    from tests.reliability.test_attacks_round22 import _look, _nav
    from tests.reliability.test_attacks_round25 import _with_both_pages_outside

    def _refused(page: Any) -> int:
        return page.locator('[data-testid="stMain"]').get_by_text(REFUSED).count()

    seen: dict[str, dict[str, Any]] = {}
    with (
        serving("dashboard/serve.py", monkeypatch),
        signed(tmp_path / "chromium", demo_db, prepare=_with_both_pages_outside) as server,
        new_page(browser) as page,
    ):
        page.context.add_cookies([_cookie(server, ANALYST)])
        page.goto(server.url + "/")
        _look(page)
        _nav(page, "scenarios")
        _look(page)
        page.get_by_role("button", name="Load into the what-if").click()
        seen["loaded"] = _look(page)
        _nav(page, "price-war")
        seen["a"] = _look(page) | {"notes": page.get_by_text(CLAMP_NOTE).count()}
        _nav(page, "pricing")
        seen["b"] = _look(page)
        for step in range(8):  # Back until Scenarios, then as many presses Forward
            page.go_back()
            seen[f"go_back_{step}"] = _look(page) | {"refused_any": _refused(page)}
            if seen[f"go_back_{step}"]["url"] == "scenarios":
                break
        for press in range(step + 1):
            page.go_forward()
            seen[f"go_forward_{press}"] = _look(page) | {"refused_any": _refused(page)}
        page.reload()
        seen["reload_b"] = _look(page) | {"refused_any": _refused(page)}
    assert seen["a"]["notes"] == 1, seen["a"]
    for name, look in seen.items():
        assert not look["problems"], (name, look["problems"])
        assert not look["refused"] and not look.get("refused_any"), name
        if look["url"] in ("price-war", "pricing"):
            assert look["what_if"].get("s_name") == "r25-both", (name, look["what_if"])
            assert not scenario_link_problems({k: [v] for k, v in look["what_if"].items()})
        if look["url"] == "price-war":
            assert float(look["cut"]) == 90.0 == float(look["what_if"]["s_cut_pct"]), name
        if look["url"] == "pricing" and look["seed"] is not None:
            assert look["seed"] == str(2**53 - 1) == look["what_if"]["s_mc_seed"], name
    backs = [k for k in seen if k.startswith("go_back_")]
    forwards = [k for k in seen if k.startswith("go_forward_")]
    assert [seen[k]["url"] for k in backs][-1] == "scenarios", [seen[k]["url"] for k in backs]
    assert "price-war" in [seen[k]["url"] for k in backs], [seen[k]["url"] for k in backs]
    assert seen[forwards[-1]]["url"] == "pricing", [seen[k]["url"] for k in forwards]
    assert seen[forwards[-1]]["what_if"] == seen["b"]["what_if"]
    walked = ["b", *backs, *forwards]
    assert len({seen[k]["history"] for k in walked}) == 1, [seen[k]["history"] for k in walked]
    record_figure("round26_back_presses_from_pricing_to_scenarios_after_a_load", len(backs))
