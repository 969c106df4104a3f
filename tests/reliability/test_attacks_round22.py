"""Round 22 of the hostile-user attacks (#12): what round 21 left unattacked.

- Over ``streamlit run dashboard/serve.py``'s real websocket (``signed.py``): back/forward
  runs (``is_history_navigation``, what the browser's buttons send) forged with hostile
  ``s_…`` inputs in the address, on Pricing and Price war (``history_links.follow_address``
  then forgets the session's what-if: bounds, notes, nothing half-written, a saved scenario
  untouched), and a back/forward between another user's what-if link and the session's own.
- A ``PUT`` to another session's upload address: whether any page, response or message
  another user gets carries a session id or an upload address.
- In Debian's chromium: Price war's back and forward buttons; two tabs of one user walking
  history at once; a shared link of another user's what-if between the session's own
  entries.
- AppTest: what-ifs the pages accept whose own address the link check then refuses (a
  reload, Back or a copied link would lose them).

Work is counted (runs, messages, bytes), never timed.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.WidgetStates_pb2 import WidgetState

from analytics.saved_scenarios import clean_scenario_name, scenario_name_length
from analytics.scenario import Scenario
from dashboard.scenario_links import MAX_LINK_COMPETITORS, scenario_link_problems
from tests.dashboard.conftest import app_db, secured  # noqa: F401 - fixtures
from tests.dashboard.signin import ANALYST as APP_ANALYST
from tests.reliability.conftest import needs_chromium, page_problems, record_figure
from tests.reliability.signed import (
    ADMIN,
    ANALYST,
    VIEWER,
    SignedServer,
    SignedSession,
    run,
    session,
    signed,
)
from tests.reliability.test_attacks_round17 import open_page, run_problems
from tests.reliability.test_attacks_round18 import peek, put_file, serving
from tests.reliability.test_attacks_round21 import _competitors, _cookie, _send_edits

# -- the what-if the pages accept, and the address that must bring it back ------------------


def _address_problems(query: dict[str, Any]) -> list[str]:
    """What the link check says of an address's what-if (``?s_…``)."""
    params = {k: [str(v)] for k, v in query.items() if k.startswith("s_")}
    return scenario_link_problems(params) if params else []


def test_a_competitor_table_the_address_cannot_carry_is_refused_in_words(
    secured: Path,
) -> None:
    """Expected: an analyst who adds rows to Price war's competitor table (the table takes
    new rows in the browser) up to 21 competitors is told the page models at most 20 and
    nothing changes: the what-if and its address keep the competitors before.

    Broke: the page took 21 (a scenario holds up to 30) and wrote them to the address, but
    a what-if link carries at most 20 (``scenario_links.MAX_LINK_COMPETITORS``): a reload,
    the browser's Back to that entry (``history_links.follow_address`` reads the address
    again) or the copied address showed "The what-if inputs in this link were not used:
    s_competitors lists 21 competitors (at most 20)" and the default inputs: the analyst's
    what-if was lost."""
    at = open_page(APP_ANALYST, "views/price_war.py")
    before = _competitors(at)
    assert not _address_problems(dict(at.query_params)), dict(at.query_params)
    address = dict(at.query_params)
    extra = MAX_LINK_COMPETITORS + 1 - len(before)
    added = [{"name": f"Rival {i}", "price": 1.0 + i / 100, "share": 0.005} for i in range(extra)]
    _send_edits(at, "pw_comp_", added_rows=added)
    assert not run_problems(at), run_problems(at)
    written = dict(at.query_params)
    problems = _address_problems(written)
    notes = [str(w.value) for w in at.warning]
    assert not problems, problems  # the address the page wrote can be read back
    assert any(
        n.startswith("Check the competitor table:") and f"at most {MAX_LINK_COMPETITORS}" in n
        for n in notes
    ), notes
    assert written == address, "the address changed"


@pytest.mark.parametrize(
    "typed", ["\u0958" * 80, "\ufb2c" * 80], ids=["devanagari_qa_80", "hebrew_shin_80"]
)
def test_a_saved_scenarios_own_link_is_read_back(typed: str) -> None:
    """Expected: a scenario saved under a name the Scenarios page's box holds (80 typed
    characters) has a what-if link (its Share-by-link address, the address of the what-if
    pages once it is loaded) that the link check reads back.

    Breaks: ``save_scenario`` holds the name against :func:`scenario_name_length` (the
    shorter of typed and NFC), and saves the NFC name, which spells U+0958 with two
    characters and U+FB2C with three (160 and 240); the link check allows 80, so the saved
    scenario's own link, a reload of a what-if page after loading it, and Back to such an
    entry give "The what-if inputs in this link were not used: s_name is 160 characters
    long (at most 80)" and the default inputs."""
    assert scenario_name_length(typed) <= 80  # the page saves it
    saved = Scenario(name=clean_scenario_name(typed))
    assert _address_problems(saved.to_query_params()) == []


# -- forged back/forward runs over the real websocket --------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> Iterator[SignedServer]:
    """``streamlit run dashboard/serve.py`` with sign-in, for this module's websocket and
    browser tests."""
    with (
        pytest.MonkeyPatch.context() as mp,
        serving("dashboard/serve.py", mp),
        signed(tmp_path_factory.mktemp("round22"), demo_db) as server,
    ):
        yield server


def _listen(s: SignedSession) -> dict[str, list[Any]]:
    """Every message the session receives (``raw``: serialised) and every address the
    server writes for it (``addresses``: ``page_info_changed`` query strings), in order."""
    seen: dict[str, list[Any]] = {"raw": [], "addresses": []}
    handle = s._handle

    def recorded(msg: Any) -> None:
        seen["raw"].append(msg.SerializeToString())
        if msg.WhichOneof("type") == "page_info_changed":
            seen["addresses"].append(msg.page_info_changed.query_string)
        handle(msg)

    s._handle = recorded  # type: ignore[method-assign]
    return seen


async def _history(s: SignedSession, name: str, query: str, page_hash: str) -> Any:
    """One run as the browser's back or forward button sends it (``popstate``): the
    entry's page and query string, ``is_history_navigation`` set, the widget values the
    tab holds."""

    async def send(**kwargs: Any) -> None:
        state = ClientState(
            query_string=query,
            page_script_hash=s.page_hash,
            fragment_id=kwargs.get("fragment_id", ""),
            is_history_navigation=True,
        )
        state.context_info.timezone = "UTC"
        state.context_info.url = s.base_url + "/" + s._url_path(s.page_hash)
        for value in [*s.values.values(), *kwargs.get("triggers", ())]:
            state.widget_states.widgets.append(value)
        back = BackMsg()
        back.rerun_script.CopyFrom(state)
        await s._send(back)

    plain = s._send_rerun
    s._send_rerun = send  # type: ignore[method-assign]
    try:
        return await s.run(name, page_hash=page_hash)
    finally:
        s._send_rerun = plain  # type: ignore[method-assign]


def _what_if(query: str) -> dict[str, str]:
    """The ``s_…`` inputs of a query string (the last value of each)."""
    return {k: v for k, v in urllib.parse.parse_qsl(query) if k.startswith("s_")}


def _seed(s: SignedSession) -> float:
    """The Monte Carlo seed input's starting value in the last run (the what-if's)."""
    return s.widget(r"wi_mc_seed_\d+").proto.default


def _quoted(text: str) -> str:
    return urllib.parse.quote(text, safe="")


#: Addresses a forged back/forward run lands on: every one is refused by the link check.
HOSTILE = {
    "seed_negative": "s_mc_seed=-1",
    "draws_ten_billion": "s_mc_draws=10000000000",
    "curve_points_sixty_million": "s_curve_points=60000000",
    "price_nan": "s_price_per_m=nan",
    "price_past_float": "s_price_per_m=1e309",
    "competitors_nested_5000": "s_competitors=" + "%5B" * 5_000 + "%5D" * 5_000,
    "competitors_21": "s_competitors="
    + _quoted(json.dumps([[f"r{i}", 1.0, 0.01] for i in range(21)])),
    "segments_not_json": "s_segments=" + _quoted("{oops"),
    "name_300000_chars": "s_name=" + "x" * 300_000,
    "last_of_repeated_values_bad": "s_mc_seed=5&s_mc_seed=-1",
    "names_the_saved_plan": "s_name=r22-plan&s_mc_seed=-1&s_price_per_m=nan",
    "hostile_filters_too": "segment=%E2%80%AEevil&from=0001-01-01&s_mc_seed=-1",
}
#: Price war's own inputs, hostile.
HOSTILE_WAR = {
    "war_competitors_21": HOSTILE["competitors_21"],
    "war_cut_competitor_5000": "s_cut_competitor=" + "z" * 5_000,
    "war_cut_95": "s_cut_pct=95",
    "war_shares_sum_past_one": "s_competitors=" + _quoted(json.dumps([["a", 1.0, 0.95]])),
}
#: An address the link check accepts although its name is hostile (a name is text, shown
#: escaped; saving cleans it): read as any link, "Inputs loaded from the link."
ODD_NAME = "s_name=" + _quoted("\x00\x1b[2J\u202eevil") + "&s_mc_seed=3"
REFUSED = "The what-if inputs in this link were not used"
LOADED = "Inputs loaded from the link"
RAW_CONTROLS = ("\x00", "\x1b", "\u202e")
#: Every saved scenario, its inputs and when it changed, in one text.
SAVED = (
    "SELECT string_agg(name || '|' || CAST(params AS VARCHAR) || '|' || "
    "CAST(updated_at AS VARCHAR), ';' ORDER BY name) FROM scenarios"
)


def test_forged_back_and_forward_to_hostile_what_if_addresses_are_read_as_links(
    served: SignedServer,
) -> None:
    """Expected, over ``serve.py``'s websocket as an analyst with a changed what-if (Monte
    Carlo seed 7) and a saved scenario: each back/forward run forged to an address whose
    ``s_…`` inputs are hostile (out of range, NaN, past a float, nested 5,000 deep, 21
    competitors, not JSON, a 300,000-character or control-laden name, a repeated value
    whose last is bad, the saved scenario's name with bad inputs, hostile filters beside)
    ends without a problem, with one short note "The what-if inputs in this link were not
    used: …" (no raw control or bidi character), the default inputs in full (the seed input
    starts from the default, the address the page writes back is the default's: nothing of
    the hostile one is kept) and the saved scenario unchanged. Price war likewise for its
    own inputs (21 competitors, a 5,000-character cutter, a 95 % cut, shares past 1).
    The same for another analyst's what-if link (accepted): the address wins, seed 11;
    forward/back to the session's own entry: seed 7 again."""

    async def attack() -> dict[str, Any]:
        seen: dict[str, Any] = {"cases": {}}
        async with session(served, ANALYST) as other:  # saves a plan, shares a what-if
            await other.goto(other.page("scenarios"))
            await other.set_value("sc_name", "r22-plan")
            action = await other.click("sc_save")
            assert not action.problems, action.problems
            seen["saved_before"] = peek(served, SAVED)
            other_seen = _listen(other)
            await other.goto(other.page("pricing"))
            await other.set_value(r"wi_mc_seed_\d+", 11)
            seen["other_address"] = other_seen["addresses"][-1]
        async with session(served, ANALYST) as s:
            heard = _listen(s)
            pricing = s.page("pricing").script_hash
            await s.goto(s.page("pricing"))
            seen["default_seed"] = _seed(s)
            seen["default_address"] = _what_if(heard["addresses"][-1])
            for name, query in HOSTILE.items():
                await s.set_value(r"wi_mc_seed_\d+", 7)
                own = heard["addresses"][-1]
                action = await _history(s, name, query, pricing)
                seen["cases"][name] = {
                    "own_seed_7": _what_if(own).get("s_mc_seed"),
                    "problems": action.problems,
                    "texts": list(s.texts),
                    "seed": _seed(s),
                    "written": _what_if(heard["addresses"][-1]),
                }
            # another analyst's what-if link, then forward/back to the session's own entry
            await s.set_value(r"wi_mc_seed_\d+", 7)
            own = heard["addresses"][-1]
            for name, query in (
                ("odd_name", ODD_NAME),
                ("other_link", seen["other_address"]),
                ("own_entry", own),
            ):
                action = await _history(s, name, query, pricing)
                seen[name] = {"problems": action.problems, "seed": _seed(s), "texts": list(s.texts)}
                if name == "odd_name":  # the hostile name where names are shown
                    action = await s.goto(s.page("scenarios"))
                    seen[name]["problems"] += action.problems
                    seen[name]["texts"] += s.texts
                    await s.goto(s.page("pricing"))
            war = s.page("price-war").script_hash
            await s.goto(s.page("price-war"))  # with the seed 7 of the own entry
            for name, query in HOSTILE_WAR.items():
                action = await _history(s, name, query, war)
                seen["cases"][name] = {
                    "problems": action.problems,
                    "texts": list(s.texts),
                    "written": _what_if(heard["addresses"][-1]),
                }
            seen["saved_after"] = peek(served, SAVED)
        return seen

    seen = run(attack())
    for name, case in seen["cases"].items():
        assert not case["problems"], (name, case["problems"])
        notes = [t for t in case["texts"] if t.startswith(REFUSED)]
        assert len(notes) == 1, (name, [t[:200] for t in case["texts"]])
        assert len(notes[0]) < 1_000, (name, len(notes[0]))
        assert not [c for t in case["texts"] for c in RAW_CONTROLS if c in t], name
        if not name.startswith("war_"):
            assert case["own_seed_7"] == "7", (name, case["own_seed_7"])
            assert case["seed"] == seen["default_seed"], (name, case["seed"])
        assert case["written"] == seen["default_address"], (name, case["written"])
    assert seen["saved_after"] == seen["saved_before"], "the saved scenario changed"
    for name, seed in (("odd_name", 3), ("other_link", 11), ("own_entry", 7)):
        texts = seen[name]["texts"]
        assert not seen[name]["problems"], (name, seen[name]["problems"])
        assert seen[name]["seed"] == seed, (name, seen[name]["seed"])
        assert not [t for t in texts if t.startswith(REFUSED)], name
        assert [t for t in texts if t.startswith(LOADED)], (name, texts)
        assert not [c for t in texts for c in RAW_CONTROLS if c in t], name


# -- upload addresses and session ids ---------------------------------------------------------


def _get(server: SignedServer, path: str, email: str | None) -> bytes:
    """The body of a GET, as a browser signed in as ``email`` (None: no identity) gets it."""
    headers = {}
    if email is not None:
        cookie = _cookie(server, email)
        headers["Cookie"] = f"{cookie['name']}={cookie['value']}"
    request = urllib.request.Request(server.url + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        return exc.read()


def _put_status(server: SignedServer, url: str, xsrf: str, cookie: str) -> int:
    """The status of a multipart PUT of a small CSV to ``url`` (with this XSRF pair)."""
    boundary = "r22boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\ntext\nswapped\r\n--{boundary}--\r\n"
    ).encode()
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Origin": server.url,
        "X-Xsrftoken": xsrf,
        "Cookie": cookie,
    }
    request = urllib.request.Request(url, data=body, method="PUT", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_no_page_message_or_response_shows_a_session_id_to_another_user(
    served: SignedServer,
) -> None:
    """Expected: an analyst's session uploads a file on Batch tagging and imports it; an
    admin (who sees the most: Audit trail with the upload's row, Settings) and a viewer
    then open every page of their navigation, and fetch the server's health, host-config
    and metrics answers and the page itself: none of the messages or bodies they get
    holds the analyst's session id, the file's id or its upload address. (A ``PUT`` to
    that address needs all three; measured below with the address known, for the report.)"""
    content = b"text\nOpenAI cut its prices again\nDeepSeek is cheaper now\n"

    async def attack() -> dict[str, Any]:
        seen: dict[str, Any] = {"problems": [], "bodies": []}
        async with session(served, ANALYST) as victim:
            await victim.goto(victim.page("batch-tagging"))
            info = await put_file(victim, "r22-victim.csv", content)
            state = WidgetState(id=victim.widget("bt_files").id)
            state.file_uploader_state_value.uploaded_file_info.append(info)
            victim.values[state.id] = state
            press = WidgetState(id=victim.widget("bt_import").id, trigger_value=True)
            action = await victim.run("import", triggers=(press,))
            seen["problems"] += action.problems
            secrets = {
                "session id": victim.session_id,
                "file id": info.file_id,
                "upload address": info.file_urls.upload_url,
            }
            for email in (ADMIN, VIEWER):
                async with session(served, email) as observer:
                    heard = _listen(observer)
                    for page in observer.pages:
                        action = await observer.goto(page)
                        seen["problems"] += [
                            f"{email} {page.url_path}: {p}" for p in action.problems
                        ]
                    seen["bodies"] += heard["raw"]
                    seen[f"pages_{email}"] = len(observer.pages)
            for path in ("/_stcore/health", "/_stcore/host-config", "/_stcore/metrics", "/"):
                for email in (ADMIN, None):
                    seen["bodies"].append(_get(served, path, email))
            # the PUT an attacker would send if the address were known: only the session's
            # own user may write to it (dashboard.upload_sender; a viewer's was answered 204)
            address = served.url + info.file_urls.upload_url
            seen["put_known_address"] = _put_status(served, address, victim._xsrf, victim._cookie)
            async with session(served, VIEWER) as stranger:
                seen["put_from_other_session"] = _put_status(
                    served, address, stranger._xsrf, stranger._cookie
                )
            async with session(served, ANALYST) as other_tab:  # the same user, another tab
                seen["put_from_own_other_session"] = _put_status(
                    served, address, other_tab._xsrf, other_tab._cookie
                )
        seen["secrets"] = secrets
        return seen

    seen = run(attack())
    assert not seen["problems"], seen["problems"]
    assert seen[f"pages_{ADMIN}"] > seen[f"pages_{VIEWER}"] >= 7
    assert peek(served, "SELECT count(*) FROM tickets WHERE source = ?", ["r22-victim.csv"]) == 2
    audited = "SELECT count(*) FROM audit_log WHERE action = 'upload' AND target = ?"
    assert peek(served, audited, ["r22-victim.csv"]) == 1
    for what, secret in seen["secrets"].items():
        assert secret, what
        shown = [i for i, body in enumerate(seen["bodies"]) if secret.encode() in body]
        assert not shown, (what, shown)
    assert seen["put_known_address"] == 204  # the session's own user
    assert seen["put_from_other_session"] == 403  # a viewer who learnt the address
    assert seen["put_from_own_other_session"] == 204  # the same user's other tab
    record_figure("round22_messages_and_bodies_searched_for_a_session_id", len(seen["bodies"]))
    record_figure("round22_put_to_a_known_upload_address_own_xsrf", seen["put_known_address"])
    record_figure(
        "round22_put_to_a_known_upload_address_other_session", seen["put_from_other_session"]
    )


# -- the real browser ------------------------------------------------------------------------

#: Presses of back (or forward) allowed to reach a page visited before.
STEPS = 6


def _look(page: Any) -> dict[str, Any]:
    from tests.chromium import settle

    settle(page)
    main = page.locator('[data-testid="stMain"]')
    slider = page.locator('[data-testid="stSlider"] input[type="range"]')
    seed = page.get_by_label("Monte Carlo seed")
    query = page.url.split("?", 1)[1] if "?" in page.url else ""
    return {
        "url": page.url.split("?", 1)[0].rsplit("/", 1)[-1],
        "query": query,
        "what_if": _what_if(query),
        "title": page.locator("h1").first.inner_text() if page.locator("h1").count() else "",
        "problems": page_problems(page, errors_allowed=True),
        "history": page.evaluate("history.length"),
        "refused": main.get_by_text(REFUSED).count(),
        "cut": slider.first.input_value() if slider.count() else None,
        "seed": seed.input_value() if seed.count() else None,
    }


def _nav(page: Any, path: str) -> None:
    page.locator(f'[data-testid="stSidebarNav"] a[href$="/{path}"]').click()


def _set_seed(page: Any, value: int) -> None:
    from tests.chromium import settle

    settle(page)
    if not page.get_by_label("Monte Carlo seed").is_visible():
        page.get_by_text("More inputs").click()
    seed = page.get_by_label("Monte Carlo seed")
    seed.fill(str(value))
    seed.press("Enter")


def _walk(page: Any, seen: dict[str, Any], tag: str, goal: str) -> None:
    """Back until the page titled ``goal``, then forward until where it started."""
    start = _look(page)["title"]
    for move, target in ((page.go_back, goal), (page.go_forward, start)):
        for step in range(STEPS):
            move()
            look = seen[f"{tag}_{move.__name__}_{step}"] = _look(page)
            if look["title"] == target:
                seen[f"{tag}_{move.__name__}_reached"] = look
                break


def _cut_says_its_address(look: dict[str, Any]) -> bool:
    cut = look["what_if"].get("s_cut_pct", "10")  # absent: the scenario's default
    return look["cut"] is None or float(look["cut"]) == float(cut)


@needs_chromium
@pytest.mark.e2e
def test_price_wars_back_and_forward_buttons_walk_its_entries(
    served: SignedServer, browser: Any
) -> None:
    """Expected, in chromium on ``serve.py`` as an analyst: Overview → Price war, its cut
    moved one step with the keyboard (10 → 11 %), → Entities; Back shows Price war with the
    11 % cut and its address; further Back reaches the Overview and Forward Entities again
    in a few presses each, ``history.length`` never changing (no entry added or dropped),
    every Price war entry's cut slider saying what its address says, no problem, no note."""
    from tests.chromium import new_page

    seen: dict[str, Any] = {}
    with new_page(browser) as page:
        page.context.add_cookies([_cookie(served, ANALYST)])
        page.goto(served.url + "/")
        seen["overview"] = _look(page)
        _nav(page, "price-war")
        seen["war"] = _look(page)
        slider = page.locator('[data-testid="stSlider"] input[type="range"]').first
        slider.focus()
        slider.press("ArrowRight")
        seen["war_cut"] = _look(page)
        _nav(page, "entities")
        seen["entities"] = _look(page)
        page.go_back()
        seen["back_to_war"] = _look(page)
        _walk(page, seen, "war", seen["overview"]["title"])
    for name, look in seen.items():
        assert not look["problems"], (name, look["problems"])
        assert not look["refused"], name
        if look["url"] == "price-war":
            assert _cut_says_its_address(look), (name, look["cut"], look["what_if"])
    moved = float(seen["war"]["cut"]) + 1
    assert float(seen["war_cut"]["what_if"]["s_cut_pct"]) == moved, seen["war_cut"]
    assert float(seen["back_to_war"]["cut"]) == moved, seen["back_to_war"]
    assert "war_go_back_reached" in seen and "war_go_forward_reached" in seen, list(seen)
    moves = [k for k in seen if k.startswith("war_go_") and not k.endswith("_reached")]
    assert len({seen[k]["history"] for k in ["entities", *moves]}) == 1, moves
    record_figure(
        "round22_price_war_back_presses_from_entities_to_overview",
        len([k for k in moves if "go_back" in k]) + 1,
    )


def _seed_says_its_address(look: dict[str, Any]) -> bool:
    if look["url"] != "pricing" or look["seed"] is None:
        return True
    return look["seed"] == look["what_if"].get("s_mc_seed", "0")


@needs_chromium
@pytest.mark.e2e
def test_two_tabs_of_one_user_and_another_users_link_walk_history_apart(
    served: SignedServer, browser: Any
) -> None:
    """Expected, in chromium on ``serve.py``: two tabs of one viewer (one browser context:
    one identity cookie, two Streamlit sessions) each change Pricing's seed (7 and 9), go
    to Entities and press Back in turn without waiting for the other: each tab shows its
    own seed and address, and further Back/Forward in both keeps every Pricing entry's seed
    equal to its address. Then the first tab opens another user's what-if link (an
    analyst's address with seed 11): seed 11; Back: the tab's own entry with its own seed;
    Forward: seed 11 again; no note, no problem anywhere."""
    from tests.chromium import new_page, settle

    seen: dict[str, Any] = {}
    with new_page(browser) as other:
        other.context.add_cookies([_cookie(served, ANALYST)])
        other.goto(served.url + "/pricing")
        _set_seed(other, 11)
        seen["other"] = _look(other)
    shared = served.url + "/pricing?" + seen["other"]["query"]
    with new_page(browser) as one:
        one.context.add_cookies([_cookie(served, VIEWER)])
        two = one.context.new_page()  # the same identity cookie, a session of its own
        two.dialogs = []  # what ``page_problems`` reads (``new_page`` sets it on ``one``)
        two.set_default_timeout(60_000)
        for tab, seed in ((one, 7), (two, 9)):
            tab.goto(served.url + "/pricing")
            _set_seed(tab, seed)
            seen[f"seed_{seed}"] = _look(tab)
            _nav(tab, "entities")
            settle(tab)
        for step in range(2):  # both tabs press Back, then both settle
            one.go_back()
            two.go_back()
            seen[f"one_back_{step}"] = _look(one)
            seen[f"two_back_{step}"] = _look(two)
        for step in range(2):
            one.go_forward()
            two.go_forward()
            seen[f"one_forward_{step}"] = _look(one)
            seen[f"two_forward_{step}"] = _look(two)
        one.go_back()
        seen["one_own"] = _look(one)
        one.goto(shared)
        seen["one_shared"] = _look(one)
        one.go_back()
        seen["one_back_from_shared"] = _look(one)
        one.go_forward()
        seen["one_forward_to_shared"] = _look(one)
    for name, look in seen.items():
        assert not look["problems"], (name, look["problems"])
        assert not look["refused"], name
        assert _seed_says_its_address(look), (name, look["seed"], look["what_if"])
    assert seen["other"]["what_if"].get("s_mc_seed") == "11", seen["other"]["what_if"]
    assert (seen["one_back_0"]["seed"], seen["two_back_0"]["seed"]) == ("7", "9"), seen
    assert seen["one_shared"]["seed"] == "11", seen["one_shared"]
    assert seen["one_back_from_shared"]["what_if"] == seen["one_own"]["what_if"], seen
    assert seen["one_forward_to_shared"]["seed"] == "11", seen["one_forward_to_shared"]
