"""Round 25 of the hostile-user attacks (#12): what round 24 changed and nobody attacked.

- ``dashboard/whatif_inputs.py`` ``InputSpec.clamp``, ``outside_inputs``, ``outside_note``:
  a saved scenario (written with ``analytics.save_scenario`` or SQL into the store) or a
  what-if link holding values outside an input's range, with a hostile name and the
  numbers ``Scenario`` lets through at its edges (±1e12, subnormals, -0.0, -1e-300); what
  the note says, how long it gets, what a save after the clamp stores.
- ``dashboard/trusted_headers.py`` and ``dashboard/access.py``'s refusal: every spelling of
  ``server.trustedUserHeaders`` (empty dict, list, text, JSON through the environment,
  ``.streamlit/config.toml`` or the command line).
- ``dashboard/access.py``: what else Streamlit 1.67 copies into ``st.user`` beside the
  signed cookie's claims.

Broke (fixed in ``whatif_inputs.clamped`` and both pages): after loading a saved scenario
outside both pages' inputs, the first what-if page wrote the other page's values into its
address as they were, an address the link check refuses, so a reload or Back to it showed
the default inputs.

Work is counted (runs, messages), never timed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from starlette.datastructures import Headers

from analytics.scenario import Scenario, ScenarioError
from analytics.scenario_parts import MAX_MAGNITUDE
from bench.streamlit_server import free_port
from dashboard import access
from dashboard import whatif_inputs as wi
from dashboard.scenario_links import LINK_RANGES, scenario_link_problems
from dashboard.trusted_headers import trusted_header_problem
from dashboard.untrusted_text import md_text
from data.store import Store
from tests.dashboard.conftest import app_db, secured  # noqa: F401 - fixtures
from tests.dashboard.signin import ANALYST as APP_ANALYST
from tests.reliability.conftest import ROOT, cli_env, copy_db
from tests.reliability.test_attacks_round17 import app_as, open_page, run_problems

PRICING = (*wi.MAIN_INPUTS, *wi.COST_INPUTS, *wi.MORE_INPUTS, wi.MC_DRAWS, wi.MC_SEED)
PRICE_WAR = (wi.CUT_PCT, wi.OUR_SHARE, *wi.STRATEGY_INPUTS)
NOTE = "This what-if holds values the inputs below do not take"
#: A scenario name with Markdown, HTML, LaTeX, a bidi override and a line break.
HOSTILE_NAME = (
    "r25 **bold** <img src=x onerror=alert(1)> $x^2$ \u202egnp.exe\n# head [a](javascript:x)"
)


def _plain(text: object) -> str:
    """A note's text without its Markdown escapes."""
    return str(text).replace("\\", "")


def _edges(spec: wi.InputSpec) -> list[Any]:
    """Values ``Scenario`` may accept for ``spec``'s field at the edges of what JSON holds."""
    if spec in (wi.MC_DRAWS, wi.MC_SEED):
        return [1, 999, 2**53, 2**63 - 1]
    return [MAX_MAGNITUDE, -MAX_MAGNITUDE, 5e-324, -5e-324, -0.0, -1e-300, 1e-12]


def _accepted(field: str, value: Any) -> Scenario | None:
    try:
        return Scenario(name="base").replace(**{field: value})
    except ScenarioError:
        return None


# -- the note: what it holds, how long it gets ----------------------------------------------


def test_the_note_holds_only_the_inputs_labels_and_numbers_and_is_bounded() -> None:
    """Expected: for every value ``Scenario`` accepts at the edges (±1e12, subnormals, -0.0,
    -1e-300, whole numbers past 2**53), the note names only our own labels and numbers
    (never the scenario's name or other text), at most one entry per input, each under
    200 characters; -0.0 is inside a range starting at 0 (no note) and ``clamp`` always
    lands inside the bounds."""
    longest = 0
    for spec in (*PRICING, *PRICE_WAR):
        for value in _edges(spec):
            scenario = _accepted(spec.field, value)
            if scenario is None:
                continue
            held = getattr(scenario, spec.field)
            lo, hi = spec.min_value, spec.max_value
            clamped = spec.clamp(held)
            assert (lo is None or clamped >= lo) and (hi is None or clamped <= hi), spec
            found = wi.outside_inputs(scenario.replace(name=HOSTILE_NAME), (spec,))
            assert len(found) <= 1
            if found:
                assert found[0].startswith(spec.label.strip() + " "), found
                assert "r25" not in found[0] and "<" not in found[0], found
                longest = max(longest, len(found[0]))
            elif value == -0.0 and lo == 0.0:
                assert clamped == 0.0
    assert 0 < longest < 200, longest
    everything = Scenario(name=HOSTILE_NAME, mc_draws=1, mc_seed=2**63 - 1).replace(
        price_per_m=MAX_MAGNITUDE, quality_step=MAX_MAGNITUDE, quality_cost=MAX_MAGNITUDE
    )
    note = wi.outside_note(wi.outside_inputs(everything, (*PRICING, *PRICE_WAR)))
    assert len(note) < 200 * len((*PRICING, *PRICE_WAR)) and "r25" not in note
    assert "<" not in md_text(note) and "\u202e" not in note


# -- a saved scenario with a hostile name and edge values, loaded, then saved again --------

#: Stored by SQL (another program): its name and edge values Pricing's and Price war's
#: inputs do not take; every one is a value ``Scenario``'s own checks accept.
EDGE_VALUES = {
    "price_per_m": MAX_MAGNITUDE,
    "gpu_cost_per_hour": 5e-324,
    "target_profit": -0.0,
    "fixed_cost_per_month": MAX_MAGNITUDE,
    "mc_draws": 1,
    "mc_seed": 2**63 - 1,
    "quality_step": -1e-300,
    "quality_cost": MAX_MAGNITUDE,
    "niche_market_share": 5e-324,
    "niche_alpha_factor": MAX_MAGNITUDE,
}


def _store_raw(db: Path, name: str, params: dict[str, Any]) -> None:
    """``params`` stored as scenario ``name`` by SQL, as another program would."""
    text = json.dumps(params, ensure_ascii=False)
    with Store.open(db) as store:
        store.write(
            lambda conn: (
                conn.execute(
                    "INSERT INTO scenarios (name, params) VALUES (?, ?::JSON)", [name, text]
                )
                and None
            )
        )


def _saved_params(db: Path, name: str) -> dict[str, Any]:
    copy = copy_db(db, db.parent / "peek" / f"{len(name)}.duckdb")  # the app holds it
    with Store.open(copy, read_only=True) as store:
        text = store.scalar("SELECT CAST(params AS VARCHAR) FROM scenarios WHERE name = ?", [name])
    return json.loads(text)


def test_a_hostile_saved_scenario_loads_with_one_plain_note_and_saves_back_in_range(
    secured: Path,
) -> None:
    """Expected: a scenario stored by SQL with a name holding Markdown, HTML, LaTeX, a bidi
    override and a line break, and the edge values of ``EDGE_VALUES``, loads; Pricing serves
    with one note naming only the inputs and numbers of both pages (not the name), Price
    war then with none (Pricing moved its values), the inputs at their bounds; Save on Scenarios then stores values inside every input's
    bounds, and the row loaded is unchanged."""
    params = {**json.loads(Scenario(name="x").to_json()), **EDGE_VALUES}
    Scenario.from_json(json.dumps(params))  # the scenario's own checks accept it
    _store_raw(secured, HOSTILE_NAME, params)
    before = _saved_params(secured, HOSTILE_NAME)
    at = open_page(APP_ANALYST, "views/scenarios.py")
    at.selectbox(key="sc_pick").set_value(HOSTILE_NAME).run()
    at.button(key="sc_load").click().run()
    assert not run_problems(at), run_problems(at)
    moved = [
        s.label.strip()
        for s in (*PRICING, *PRICE_WAR)
        if s.field in EDGE_VALUES and s.clamp(EDGE_VALUES[s.field]) != EDGE_VALUES[s.field]
    ]
    for page, specs, notes_wanted in (
        ("views/pricing.py", PRICING, 1),  # names both pages' moved values
        ("views/price_war.py", PRICE_WAR, 0),  # already moved by Pricing (round 25)
    ):
        at.switch_page(page).run()
        assert not run_problems(at), (page, run_problems(at))
        notes = [str(w.value) for w in at.warning if NOTE in _plain(w.value)]
        assert len(notes) == notes_wanted, (page, [str(w.value)[:200] for w in at.warning])
        if notes:
            assert "r25" not in notes[0] and "<img" not in notes[0], notes[0]
            assert all(label in _plain(notes[0]) for label in moved), (moved, notes[0])
            assert len(notes[0]) < 200 * len(moved)
        for w in [*at.number_input, *at.slider]:  # every input inside its bounds
            spec = next((s for s in specs if w.key and w.key.startswith(s.key + "_")), None)
            if spec is not None:
                assert spec.clamp(w.value) == w.value, (spec.field, w.value)
    at.switch_page("views/scenarios.py").run()
    at.text_input(key="sc_name").set_value("r25-after").run()
    at.button(key="sc_save").click().run()
    assert not run_problems(at), run_problems(at)
    assert any("Saved as" in str(s.value) for s in at.success), [s.value for s in at.success]
    after = _saved_params(secured, "r25-after")
    for spec in (*PRICING, *PRICE_WAR):
        assert spec.clamp(after[spec.field]) == after[spec.field], (spec.field, after[spec.field])
    assert _saved_params(secured, HOSTILE_NAME) == before


#: Stored by SQL with a value of the wrong kind where a number belongs.
WRONG_KIND = {
    "nan_text": ("price_per_m", "NaN"),
    "bool": ("cut_pct", True),
    "text": ("quality_step", "5"),
    "huge_int": ("quality_cost", 10**400),
    "list": ("our_share", [0.1]),
    "null": ("niche_alpha_factor", None),
    "seed_past_63_bits": ("mc_seed", 2**64),
    "float_draws": ("mc_draws", 1000.5),
}


@pytest.mark.parametrize("case", list(WRONG_KIND))
def test_a_saved_scenario_with_the_wrong_kind_of_value_is_refused_in_words(
    secured: Path, case: str
) -> None:
    """Expected: a stored scenario with a text, bool, list, null or an integer too large for
    a float where a number belongs is refused with a message naming it; the page serves, the
    what-if keeps its inputs, and nothing reaches the clamp (no note on Pricing).

    Held: Scenarios lists it as "cannot be read (…); it is left out" and Load is not
    offered for it."""
    field, value = WRONG_KIND[case]
    params = json.loads(Scenario(name="x").to_json())
    text = json.dumps(params).replace(f'"{field}": ', f'"{field}": {json.dumps(value)}, "_":', 1)
    with pytest.raises(ScenarioError):
        Scenario.from_json(text)
    with Store.open(secured) as store:
        store.write(
            lambda conn: (
                conn.execute(
                    "INSERT INTO scenarios (name, params) VALUES ('r25-wrong', ?::JSON)", [text]
                )
                and None
            )
        )
    at = open_page(APP_ANALYST, "views/scenarios.py")
    assert not run_problems(at), run_problems(at)
    said = [_plain(m.value) for m in at.warning]
    assert any("r25-wrong" in m and "cannot be read" in m for m in said), said
    if "r25-wrong" in at.selectbox(key="sc_pick").options:  # left out, or not loadable
        at.selectbox(key="sc_pick").set_value("r25-wrong").run()
        assert at.button(key="sc_load").disabled
    at.switch_page("views/pricing.py").run()
    assert not run_problems(at), run_problems(at)
    assert not [w for w in at.warning if NOTE in _plain(w.value)]


# -- what-if links ------------------------------------------------------------------------


def test_every_link_range_lies_inside_its_inputs_bounds() -> None:
    """Expected: a link is refused outside ``LINK_RANGES``; every range lies within its
    input's bounds, so a link accepted there never needs the clamp for those fields."""
    for spec in (*PRICING, *PRICE_WAR):
        if spec.field in LINK_RANGES:
            lo, hi = LINK_RANGES[spec.field]
            assert spec.clamp(lo) == lo and spec.clamp(hi) == hi, spec.field


#: Link values the link check lets through that Pricing's inputs do not take, or at edges.
LINK = {
    "s_price_per_m": "1000000000000",
    "s_gpu_cost_per_hour": "5e-324",
    "s_target_profit": "-0",
    "s_fixed_cost_per_month": "1e12",
}


def test_a_link_past_the_inputs_starts_at_their_bounds_and_writes_an_address_it_reads(
    secured: Path,
) -> None:
    """Expected: a Pricing link with values the link check accepts and the inputs do not
    take opens with one note (labels and numbers only); the inputs start at their bounds;
    the address the page then writes is one the link check reads back."""
    assert not scenario_link_problems({k: [v] for k, v in LINK.items()})
    at = app_as(APP_ANALYST)
    at.query_params.update(LINK)
    at.run()
    at.switch_page("views/pricing.py").run()
    assert not run_problems(at), run_problems(at)
    notes = [_plain(w.value) for w in at.warning if NOTE in _plain(w.value)]
    assert len(notes) == 1, [str(w.value)[:200] for w in at.warning]
    assert "Our price, USD per 1M tokens 1,000,000,000,000" in notes[0], notes[0]
    written = {k: [v] for k, v in at.query_params.items() if k.startswith("s_")}
    assert not scenario_link_problems(written), written
    for spec in PRICING:
        value = written.get(f"s_{spec.field}")
        if value:
            number = float(value[-1])
            assert spec.clamp(number) == number, (spec.field, value)


# -- server.trustedUserHeaders, every spelling --------------------------------------------


_PROBE = """
import json, sys
from streamlit import config
from streamlit.web import cli

def show():  # called by ``streamlit run`` right after it loads the config
    print(json.dumps({"value": config.get_option("server.trustedUserHeaders")}))
    sys.exit(0)

cli.check_credentials = show
try:
    cli.main(args=sys.argv[1:], prog_name="streamlit", standalone_mode=False)
except Exception as exc:
    print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
"""


def _configured(
    tmp_path: Path, *, env: str | None = None, toml: str | None = None, flag: str | None = None
) -> Any:
    """``server.trustedUserHeaders`` as ``streamlit run`` parses it (stopped before it
    serves), set through the environment, a ``.streamlit/config.toml`` beside the script or
    the command line: ``{"value": …}``, or ``{"error": …}`` when Streamlit refuses it."""
    work = tmp_path / f"cfg{len(list(tmp_path.iterdir()))}"
    (work / ".streamlit").mkdir(parents=True)
    (work / "app.py").write_text("")
    if toml is not None:
        (work / ".streamlit" / "config.toml").write_text(f"[server]\ntrustedUserHeaders = {toml}\n")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    if env is not None:
        environ["STREAMLIT_SERVER_TRUSTED_USER_HEADERS"] = env
    args = [sys.executable, "-c", _PROBE, "run", "app.py", "--server.headless", "true"]
    args += ["--server.trustedUserHeaders", flag] if flag is not None else []
    out = subprocess.run(args, cwd=work, env=environ, capture_output=True, text=True)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {"error": (out.stdout + out.stderr)[-300:]}


SPELLINGS = {
    "env_empty_object": ({"env": "{}"}, "harmless"),
    "env_empty_text": ({"env": ""}, "harmless"),
    "env_object": ({"env": '{"X-Email": "email"}'}, "refused"),
    "env_list": ({"env": '[["X-Email", "email"]]'}, "error"),
    "env_text": ({"env": "X-Email"}, "error"),
    "env_object_non_text": ({"env": '{"X-Email": 1}'}, "error"),
    "toml_empty_table": ({"toml": "{}"}, "harmless"),
    "toml_table": ({"toml": '{ "X-Email" = "email" }'}, "refused"),
    "toml_empty_list": ({"toml": "[]"}, "error"),
    "toml_list": ({"toml": '["X-Email"]'}, "error"),
    "toml_text": ({"toml": '"X-Email"'}, "error"),
    "toml_json_text": ({"toml": '\'{"X-Email": "email"}\''}, "refused"),
    "toml_empty_text": ({"toml": '""'}, "error"),
    "flag_object": ({"flag": '{"X-Email": "email"}'}, "refused"),
    "flag_empty_object": ({"flag": "{}"}, "harmless"),
    "flag_list": ({"flag": '["X-Email"]'}, "error"),
}


@pytest.mark.parametrize("case", list(SPELLINGS))
def test_every_spelling_of_trusted_user_headers_is_refused_or_harmless(
    tmp_path: Path, case: str
) -> None:
    """Expected, for each way to spell the option: Streamlit's own parse fails (the server
    cannot start), or the value copies no header into ``st.user`` (empty, or not a mapping:
    Streamlit's ``gather_user_info`` skips it), or ``trusted_header_problem`` refuses it
    (``serve.py`` exits, ``access.current_user`` lets nobody in)."""
    from streamlit.web.server.starlette.starlette_websocket import gather_user_info

    how, expected = SPELLINGS[case]
    got = _configured(tmp_path, **how)
    if expected == "error":
        assert "error" in got, got
        return
    assert "value" in got, got
    value = got["value"]
    problem = trusted_header_problem(value)
    headers = Headers({"x-email": "boss@example.com", "email": "boss@example.com"})
    if expected == "harmless":
        assert problem is None, problem
        from streamlit import config

        old = config.get_option("server.trustedUserHeaders")
        config.set_option("server.trustedUserHeaders", value)
        try:
            assert all(v is None for v in gather_user_info(headers).values())
            assert "email" not in gather_user_info(headers)
        finally:
            config.set_option("server.trustedUserHeaders", old)
    else:
        assert problem is not None and "unset the option" in problem, (value, problem)


def test_serve_refuses_trusted_user_headers_given_on_the_command_line(
    tmp_path: Path, demo_db: Path
) -> None:
    """Expected: ``--server.trustedUserHeaders '{"X-Email": "email"}'`` on the command line
    (round 24 tested the environment) makes ``serve.py`` exit before serving, in words."""
    db = copy_db(demo_db, tmp_path / "db.duckdb")
    env = cli_env(PRICEWAR_DB=str(db), PRICEWAR_AUTOTAG="0")
    env.pop("STREAMLIT_SERVER_TRUSTED_USER_HEADERS", None)
    args = ["streamlit", "run", "dashboard/serve.py", "--server.headless", "true"]
    args += ["--server.port", str(free_port())]
    args += ["--server.trustedUserHeaders", '{"X-Email": "email"}']
    proc = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        out, _ = proc.communicate(timeout=60)  # a guard: a server that starts keeps serving
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail("the server started with server.trustedUserHeaders on the command line")
    assert proc.returncode != 0, out[-2000:]
    assert "server.trustedUserHeaders is set (X-Email → email)" in out, out[-2000:]


# -- what Streamlit puts into st.user beside the cookie's claims ----------------------------


def test_without_trusted_headers_no_request_header_reaches_the_users_claims() -> None:
    """Expected (Streamlit 1.67's websocket: the signed cookie's claims, the signed tokens
    cookie's ``tokens``, then ``gather_user_info``): with the option unset, no request
    header, however named, becomes a claim; a cookie whose ``origin`` is not the request's
    gives no claim at all; and ``identity_user`` reads only ``is_logged_in``, ``email``,
    ``email_verified``, ``name`` and ``iat``, none of which a header can set."""
    from streamlit import config
    from streamlit.web.server.starlette.starlette_websocket import (
        _parse_decoded_user_cookie,
        gather_user_info,
    )

    assert config.get_option("server.trustedUserHeaders") in ({}, None)
    names = ["email", "X-Email", "is_logged_in", "email_verified", "X-Forwarded-User", "tokens"]
    headers = Headers({n: "boss@example.com" for n in names})
    assert gather_user_info(headers) == {}
    claims = {"origin": "https://evil.example", "is_logged_in": True, "email": "boss@example.com"}
    assert _parse_decoded_user_cookie(json.dumps(claims).encode(), "https://pwr.example") == {}
    kept = _parse_decoded_user_cookie(
        json.dumps({**claims, "origin": "https://pwr.example"}).encode(), "https://pwr.example"
    )
    assert kept["email"] == "boss@example.com" and "origin" not in kept
    user = access.identity_user({"email": "boss@example.com"}, (None,))
    assert user.role is None and user.status == "signed_out"


# -- the address a what-if page writes after a saved scenario it cannot show ---------------

#: A saved scenario with a value outside each page's inputs (and the link check's ranges).
BOTH_PAGES = {"mc_seed": 2**60, "mc_draws": 500, "niche_alpha_factor": 20.0, "cut_pct": 95.0}


@pytest.mark.parametrize("page", ["views/price_war.py", "views/pricing.py"])
def test_the_address_written_after_a_loaded_scenario_is_one_a_reload_reads_back(
    secured: Path, page: str
) -> None:
    """Expected: after "Load into the what-if" of a saved scenario holding values outside
    both what-if pages' inputs, the first what-if page visited writes an address (the
    what-if link, a history entry) that the link check reads back, so a reload, a copied
    link or Back/Forward to that entry brings the what-if back; the note names the other
    page's moved values too; the saved row is unchanged.

    Broke: each page clamped only its own inputs and wrote the other page's values as they
    were: Price war wrote ``s_mc_seed=1152921504606846976`` and Pricing
    ``s_niche_alpha_factor=20.0`` / ``s_cut_pct=95.0``, which the link check refuses
    ("s_mc_seed=… is outside 0 to 9,007,199,254,740,991"): a reload of that address
    dropped the whole what-if, and Back/Forward to the entry (``history_links``, which
    forgets the session's scenario to read the address) dropped it too."""
    params = {**json.loads(Scenario(name="x").to_json()), **BOTH_PAGES}
    _store_raw(secured, "r25-both", params)
    before = _saved_params(secured, "r25-both")
    at = open_page(APP_ANALYST, "views/scenarios.py")
    at.selectbox(key="sc_pick").set_value("r25-both").run()
    at.button(key="sc_load").click().run()
    at.switch_page(page).run()
    assert not run_problems(at), run_problems(at)
    written = {k: [v] for k, v in at.query_params.items()}
    assert not scenario_link_problems(written), written
    for spec in (*PRICING, *PRICE_WAR):
        if f"s_{spec.field}" in written:
            number = float(written[f"s_{spec.field}"][-1])
            assert spec.clamp(number) == number, (spec.field, number)
    notes = [_plain(w.value) for w in at.warning if NOTE in _plain(w.value)]
    assert len(notes) == 1, [str(w.value)[:200] for w in at.warning]
    for spec in (*PRICING, *PRICE_WAR):
        if spec.field in BOTH_PAGES:
            assert spec.label.strip() in notes[0], (spec.field, notes[0])
    assert _saved_params(secured, "r25-both") == before


# -- Back/Forward after a loaded scenario, over serve.py's websocket ------------------------


def _with_both_pages_outside(db: Path) -> None:
    _store_raw(db, "r25-both", {**json.loads(Scenario(name="x").to_json()), **BOTH_PAGES})


def test_back_to_the_first_what_if_entry_after_a_loaded_scenario_keeps_the_what_if(
    tmp_path: Path, demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected, over ``serve.py``'s websocket as an analyst: "Load into the what-if" of a
    saved scenario holding values outside both pages' inputs, Price war (entry A), Pricing
    (entry B), then Back to A as the browser sends it (``is_history_navigation``): the run
    has no problem and no "The what-if inputs in this link were not used" note, and the
    address it writes is one the link check reads.

    Broke (before round 25's fix): entry A carried ``s_mc_seed=1152921504606846976`` and
    ``s_mc_draws=500``; Back to it forgot the session's scenario (``history_links``) and
    refused the address, so the loaded what-if was replaced by the defaults."""
    from tests.reliability.signed import ANALYST, run, session, signed
    from tests.reliability.test_attacks_round18 import serving
    from tests.reliability.test_attacks_round22 import REFUSED, _history, _listen

    async def walk() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with session(server, ANALYST) as s:
            heard = _listen(s)
            await s.goto(s.page("scenarios"))
            seen["load"] = (await s.click("sc_load")).problems
            war = s.page("price-war").script_hash
            await s.goto(s.page("price-war"))
            seen["entry_a"] = heard["addresses"][-1]
            await s.goto(s.page("pricing"))
            seen["entry_b"] = heard["addresses"][-1]
            action = await _history(s, "back to A", seen["entry_a"], war)
            seen["back"] = {"problems": action.problems, "texts": list(s.texts)}
            seen["written"] = heard["addresses"][-1]
        return seen

    with (
        serving("dashboard/serve.py", monkeypatch),
        signed(tmp_path / "back", demo_db, prepare=_with_both_pages_outside) as server,
    ):
        seen = run(walk())
    assert not seen["load"], seen["load"]
    entry_a = {k: [v] for k, v in urllib.parse.parse_qsl(seen["entry_a"]) if k.startswith("s_")}
    assert entry_a.get("s_name") == ["r25-both"], entry_a  # the loaded scenario's entry
    assert not scenario_link_problems(entry_a), entry_a
    assert not seen["back"]["problems"], seen["back"]["problems"]
    assert not [t for t in seen["back"]["texts"] if t.startswith(REFUSED)], seen["back"]
    written = {k: [v] for k, v in urllib.parse.parse_qsl(seen["written"]) if k.startswith("s_")}
    assert not scenario_link_problems(written), written
