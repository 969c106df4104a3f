"""Round 24 of the hostile-user attacks (#12): what changed since round 23.

- ``dashboard/whatif_inputs.py``: Pricing and Price war build their inputs from
  ``InputSpec``s (Price war's strategy inputs in one loop into ``scenario.replace``, not
  clamped). Attacked with a saved scenario holding values the scenario's own ranges allow
  but the inputs do not take (written by another program or the Python API), and with
  forged widget values (NaN, ±inf, 1e300, below and above the bounds, the wrong kind) over
  ``serve.py``'s real websocket on both pages, then saved on Scenarios.
- ``dashboard/startup.py`` ``warm_up``: a step that fails (the reference files unreadable)
  must not stop the process preparing or the pages serving.
- Round 23's "Not attacked": ``server.trustedUserHeaders`` turned on by an operator.

Work is counted (runs, messages), never timed.
"""

from __future__ import annotations

import json
import math
import subprocess
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState

from analytics.saved_scenarios import load_scenario, save_scenario
from analytics.scenario import Scenario
from bench.streamlit_server import free_port
from dashboard import startup
from dashboard import whatif_inputs as wi
from dashboard.scenario_links import scenario_link_problems
from data.store import Store
from tests.dashboard.conftest import app_db, secured  # noqa: F401 - fixtures
from tests.dashboard.signin import ANALYST as APP_ANALYST
from tests.reliability.conftest import ROOT, cli_env, copy_db
from tests.reliability.signed import ANALYST, SignedServer, heard_addresses, run, session, signed
from tests.reliability.test_attacks_round17 import open_page, run_problems
from tests.reliability.test_attacks_round18 import peek, serving

PRICING = (*wi.MAIN_INPUTS, *wi.COST_INPUTS, *wi.MORE_INPUTS, wi.MC_DRAWS, wi.MC_SEED)
PRICE_WAR = (wi.CUT_PCT, wi.OUR_SHARE, *wi.STRATEGY_INPUTS)
NOTE = "This what-if holds values the inputs below do not take"

# -- a saved scenario the scenario's ranges allow and the inputs do not ----------------------

#: Values ``Scenario`` accepts (its own checks) outside the page's input: (page, field, value).
SAVED_OUTSIDE = {
    "niche_alpha_20": ("views/price_war.py", "niche_alpha_factor", 20.0),
    "quality_cost_2e4": ("views/price_war.py", "quality_cost", 2e4),
    "quality_step_50": ("views/price_war.py", "quality_step", 50.0),
    "niche_share_0005": ("views/price_war.py", "niche_market_share", 0.005),
    "cut_95": ("views/price_war.py", "cut_pct", 95.0),
    "our_share_00005": ("views/price_war.py", "our_share", 0.0005),
    "mc_draws_500": ("views/pricing.py", "mc_draws", 500),
    "mc_seed_2_60": ("views/pricing.py", "mc_seed", 2**60),
    "price_2e6": ("views/pricing.py", "price_per_m", 2e6),
}


def _spec(field: str) -> wi.InputSpec:
    return next(s for s in (*PRICING, *PRICE_WAR) if s.field == field)


def _plain(text: object) -> str:
    """A note's text without its Markdown escapes."""
    return str(text).replace("\\", "")


def _widget_values(at: Any) -> dict[str, Any]:
    """The what-if inputs' values in the last run, by spec key stem (no revision)."""
    found = {}
    for w in [*at.number_input, *at.slider]:
        if w.key:
            found[w.key.rsplit("_", 1)[0]] = w.value
    return found


@pytest.mark.parametrize("case", list(SAVED_OUTSIDE))
def test_a_saved_scenario_the_inputs_cannot_show_starts_at_their_bounds_in_words(
    secured: Path, case: str
) -> None:
    """Expected: "Load into the what-if" of a saved scenario holding a value its own ranges
    allow but the page's input does not take (saved by another program, the Python API or
    an older version) opens the page with a note naming the input, its value and range; the
    input starts at the nearest value it takes; the saved scenario is not changed.

    Broke: Price war (niche sensitivity 20, quality cost 2e4, quality step 50, niche share
    0.005) and Pricing (500 Monte Carlo draws, seed 2**60) gave the generic "Something went
    wrong" (Streamlit's ``StreamlitValueAboveMaxError`` / ``BelowMin`` / ``JSNumberBounds``
    from the widget), on every visit until the what-if was reset; a 95 % cut showed the
    slider past its end and a 2e6 price was clamped with nothing said."""
    page, field, value = SAVED_OUTSIDE[case]
    spec = _spec(field)
    saved = Scenario(name="r24-odd").replace(**{field: value})
    with Store.open(secured) as store:
        save_scenario(store, saved)
        before = load_scenario(store, "r24-odd")
    at = open_page(APP_ANALYST, "views/scenarios.py")
    at.selectbox(key="sc_pick").set_value("r24-odd").run()
    at.button(key="sc_load").click().run()
    assert not run_problems(at), run_problems(at)
    at.switch_page(page).run()
    assert not run_problems(at), run_problems(at)
    notes = [_plain(w.value) for w in at.warning if NOTE in _plain(w.value)]
    assert len(notes) == 1, [str(w.value)[:200] for w in at.warning]
    assert spec.label.strip() in notes[0] and wi._number(value) in notes[0], notes[0]
    shown = _widget_values(at)
    assert shown[spec.key] == spec.clamp(value), shown
    copy = copy_db(secured, secured.parent / "peek" / "peek.duckdb")  # the app holds it
    with Store.open(copy, read_only=True) as store:
        assert load_scenario(store, "r24-odd") == before  # the saved one untouched


def test_outside_inputs_names_only_values_past_the_bounds() -> None:
    assert wi.outside_inputs(Scenario(), (*PRICING, *PRICE_WAR)) == []
    found = wi.outside_inputs(Scenario(mc_draws=500, mc_seed=2**60), PRICING)
    assert found == [
        "Monte Carlo draws 500 (it takes 1,000 to 1,000,000)",
        "Monte Carlo seed 1.15292e+18 (it takes 0 to 9,007,199,254,740,991)",
    ], found
    assert wi.MC_SEED.clamp(2**60) == 2**53 - 1  # Streamlit's whole-number top


# -- forged widget values over serve.py's websocket -----------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> Iterator[SignedServer]:
    """``streamlit run dashboard/serve.py`` with sign-in."""
    with (
        pytest.MonkeyPatch.context() as mp,
        serving("dashboard/serve.py", mp),
        signed(tmp_path_factory.mktemp("round24"), demo_db) as server,
    ):
        yield server


#: Hostile values for a number input, as ``WidgetState`` fields: name → (kind, value).
FORGED = {
    "nan": ("double_value", math.nan),
    "inf": ("double_value", math.inf),
    "minus_inf": ("double_value", -math.inf),
    "huge": ("double_value", 1e300),
    "below": ("double_value", -5.0),
    "above": ("double_value", 1e7),
    "text": ("string_value", "abc"),
    "int_past_js": ("int_value", 2**62),
    "bool": ("bool_value", True),
}
SAVED = (
    "SELECT string_agg(name || '|' || CAST(params AS VARCHAR) || '|' || "
    "CAST(updated_at AS VARCHAR), ';' ORDER BY name) FROM scenarios"
)


def _what_if(query: str) -> dict[str, str]:
    return {k: v for k, v in urllib.parse.parse_qsl(query) if k.startswith("s_")}


def test_forged_what_if_values_are_bounded_and_a_save_keeps_only_valid_inputs(
    served: SignedServer,
) -> None:
    """Expected, over ``serve.py``'s websocket as an analyst: each forged value (NaN, ±inf,
    1e300, below and above the bounds, a text, an integer past JavaScript's, a bool) for
    each of Price war's cut, share and four strategy inputs and Pricing's price, draws and
    seed ends the run without a problem; the address the page writes is one the link check
    reads back (nothing out of range kept); a save on Scenarios then stores only values
    within the inputs' bounds; a scenario saved before is untouched."""

    async def attack() -> dict[str, Any]:
        seen: dict[str, Any] = {"cases": {}}
        async with session(served, ANALYST) as s:
            await s.goto(s.page("scenarios"))
            await s.set_value("sc_name", "r24-before")
            assert not (await s.click("sc_save")).problems
            seen["saved_before"] = peek(served, SAVED)
            addresses = heard_addresses(s)
            for page, specs in (
                ("price-war", PRICE_WAR),
                ("pricing", (wi.MAIN_INPUTS[0], wi.MC_DRAWS, wi.MC_SEED)),
            ):
                await s.goto(s.page(page))
                for spec in specs:
                    for name, (kind, value) in FORGED.items():
                        w = s.widget(rf"{spec.key}_\d+")
                        state = WidgetState(id=w.id)
                        setattr(state, kind, value)
                        s.values[w.id] = state
                        action = await s.run(f"{spec.field}={name}", fragment_id=w.fragment_id)
                        seen["cases"][f"{page}:{spec.field}:{name}"] = {
                            "problems": action.problems,
                            "address": addresses[-1] if addresses else "",
                        }
            await s.goto(s.page("scenarios"))
            await s.set_value("sc_name", "r24-after")
            seen["save"] = (await s.click("sc_save")).problems
            seen["saved_after"] = peek(served, SAVED)
        return seen

    seen = run(attack())
    bad = {
        name: case["problems"]
        or scenario_link_problems({k: [v] for k, v in _what_if(case["address"]).items()})
        for name, case in seen["cases"].items()
    }
    assert not {k: v for k, v in bad.items() if v}, {k: v for k, v in bad.items() if v}
    assert len(seen["cases"]) == (len(PRICE_WAR) + 3) * len(FORGED)
    assert not seen["save"], seen["save"]
    before, after = seen["saved_before"], seen["saved_after"]
    assert after.startswith(before.split(";")[0].split("|")[0]) or before in after
    assert [r for r in after.split(";") if r.startswith("r24-before|")] == [
        r for r in before.split(";") if r.startswith("r24-before|")
    ]
    row = next(r for r in after.split(";") if r.startswith("r24-after|"))
    params = json.loads(row.split("|")[1])
    for spec in (*PRICING, *PRICE_WAR):
        if spec.field in params:
            assert spec.clamp(params[spec.field]) == params[spec.field], (spec.field, params)


# -- start-up warm-up ---------------------------------------------------------------------


def test_a_warm_up_step_that_fails_does_not_stop_the_process_preparing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: with the competitor matcher's module unreadable (not UTF-8: its digest
    fails), ``warm_up`` names the step that failed and returns; ``prepare_process`` then
    finishes (the collector frozen once), so the first page of the process runs on and the
    next runs do not retry."""
    from data import competitor_names
    from data.rollups import matcher_fingerprint

    bad = tmp_path / "competitor_names.py"
    bad.write_bytes(b"\xff\xfe not python \x00")
    monkeypatch.setattr(competitor_names, "__file__", str(bad))
    matcher_fingerprint.cache_clear()
    monkeypatch.setattr(startup, "_prepared", False)
    try:
        assert startup.warm_up() == ["matcher fingerprint"]
        assert startup.prepare_process() is True
        assert startup.prepare_process() is False  # once: no retry on the next run
    finally:
        monkeypatch.undo()
        matcher_fingerprint.cache_clear()


# -- server.trustedUserHeaders, if an operator sets it ------------------------------------


def test_a_server_with_trusted_user_headers_set_refuses_to_start_in_words(
    tmp_path: Path, demo_db: Path
) -> None:
    """Expected: ``streamlit run dashboard/serve.py`` with ``server.trustedUserHeaders`` set
    (here ``{"X-Pwr-Email": "email"}``, as for a proxy that signs users in) exits before
    serving, saying why.

    Broke (measured with sign-in on the old ``serve.py``): Streamlit put the header into
    ``st.user`` over the signed cookie's claims, and the access check read the address from
    it beside the cookie's ``email_verified``: a signed-in viewer sending ``X-Pwr-Email``
    with the admin's address was the admin (9 pages, "Signed in as boss@example.com ·
    admin"); an analyst whose request lacked the header was refused ("The identity
    provider sent no e-mail address")."""
    db = copy_db(demo_db, tmp_path / "db.duckdb")
    env = cli_env(
        PRICEWAR_DB=str(db),
        PRICEWAR_AUTOTAG="0",
        STREAMLIT_SERVER_TRUSTED_USER_HEADERS='{"X-Pwr-Email": "email"}',
    )
    args = ["streamlit", "run", "dashboard/serve.py", "--server.headless", "true"]
    args += ["--server.port", str(free_port())]
    proc = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        out, _ = proc.communicate(timeout=60)  # a guard: the old serve.py keeps serving
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail("the server started and served with server.trustedUserHeaders set")
    assert proc.returncode != 0, out[-2000:]
    assert "server.trustedUserHeaders is set (X-Pwr-Email → email)" in out, out[-2000:]
    assert "unset the option" in out


# -- Streamlit's agent API, if an operator turns it on ------------------------------------


def test_the_agent_api_turned_on_gets_only_the_sign_in_gate(
    tmp_path: Path, demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: with ``server.enableAgentApi`` on (the project's config leaves it off:
    round 23 measured 403 ``not_available``) and sign-in configured, a program driving the
    app over ``POST /_stcore/agent/interact`` gets the sign-in gate only, with or without
    the admin's signed identity cookie (Streamlit withholds cookies from agent sessions,
    which are anonymous without ``server.trustedUserHeaders``, itself refused at start)."""
    import time
    import urllib.error
    import urllib.request

    from streamlit.web.server.starlette.starlette_app_utils import create_signed_value

    from tests.reliability.signed import ADMIN, COOKIE_SECRET

    with (
        serving("dashboard/serve.py", monkeypatch),
        signed(tmp_path / "agent", demo_db, STREAMLIT_SERVER_ENABLE_AGENT_API="true") as server,
    ):
        claims = {
            "origin": server.url,
            "is_logged_in": True,
            "email": ADMIN,
            "email_verified": True,
            "name": "boss",
            "iat": int(time.time()),
        }
        value = create_signed_value(COOKIE_SECRET, "_streamlit_user", json.dumps(claims))
        # the identity as a browser signed in on serve.py holds it (dashboard.host_signin:
        # a plain _streamlit_user is dropped there, which would test nothing)
        admin_cookie = f"__Host-_streamlit_user={value.decode()}"
        answers = {}
        for name, cookie in (("none", None), ("admin_cookie", admin_cookie)):
            headers = {"Content-Type": "application/json", **({"Cookie": cookie} if cookie else {})}
            request = urllib.request.Request(
                server.url + "/_stcore/agent/interact", data=b"{}", headers=headers, method="POST"
            )
            with urllib.request.urlopen(request, timeout=120) as response:
                answers[name] = (response.status, json.loads(response.read()))
    for name, (status, body) in answers.items():
        assert status == 200, name
        texts = json.dumps(body["tree"])
        assert "Sign in with your company account" in texts, (name, texts[:500])
        assert [a["key"] for a in body["actions"]] == ["access_sign_in_default"], name
        assert {p["url_path"] for p in body["pages"]}.isdisjoint({"audit", "settings"}), name
