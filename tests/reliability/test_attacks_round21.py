"""Round 21 of the hostile-user attacks (#12): the browser's own back and forward buttons,
and what round 20's widget wrappers let through.

- Values of the right field but the wrong size, range or shape (round 20's field and kind
  checks let them through to Streamlit and the pages): selectboxes and radios sent
  positions or names that are no option, multiselects lists with repeats and names outside
  the options, a slider a reversed pair or values outside its bounds, date inputs reversed
  periods, year 1 or 9999 and impossible dates, data editors cells of the wrong type (a text
  for a number, ``"NaN"``, 1e308, a list, a whole number too large for a float), rows with
  made-up columns and 10,000 added rows; all under AppTest, through Streamlit's own
  ``WidgetStates`` message (what a websocket message becomes on the server).
- Over ``streamlit run dashboard/serve.py``'s real websocket (``signed.py``): an uploader
  state naming a file another session uploaded.
- In Debian's chromium on the same server: the browser's back and forward buttons across
  pages, what-if values and filters, history entries the page itself pushed (an admin's
  page, a hostile query string), and back after the viewer was taken off the access file.

Work is counted (rows, page runs), never timed.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.proto.Common_pb2 import UploadedFileInfo
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest

from dashboard import widget_bounds
from dashboard.editor_rows import incomplete_rows
from tests.dashboard.conftest import app_db, secured  # noqa: F401 - fixtures
from tests.dashboard.signin import ADMIN as APP_ADMIN
from tests.dashboard.signin import ANALYST as APP_ANALYST
from tests.dashboard.signin import VIEWER as APP_VIEWER
from tests.reliability.conftest import needs_chromium, page_problems, record_figure
from tests.reliability.signed import (
    ADMIN,
    ANALYST,
    COOKIE_SECRET,
    VIEWER,
    SignedServer,
    run,
    session,
    signed,
    signed_identity,
)
from tests.reliability.test_attacks_round17 import (  # noqa: F401 - `work` is a fixture
    Work,
    forged_run_states,
    open_page,
    run_problems,
    work,
)
from tests.reliability.test_attacks_round18 import put_file, serving

# -- data editors: cells of the wrong type ----------------------------------------------------

#: Cell values of the wrong type for a number column, as a forged editor state sends them.
WRONG_CELLS = {
    "text": "abc",
    "nan_text": "NaN",
    "empty_text": "",
    "list": [1, 2],
    "object": {"a": 1},
    "int_too_big_for_float": 10**400,
    "none": None,
}


def _editor(at: AppTest, prefix: str) -> Any:
    return next(t for t in at.data_editor if t.proto.id and prefix in t.proto.id)


def _send_edits(at: AppTest, prefix: str, **state: Any) -> None:
    table = _editor(at, prefix)
    edits = {"edited_rows": {}, "added_rows": [], "deleted_rows": [], **state}
    forged = WidgetState(id=table.proto.id, string_value=json.dumps(edits))
    forged_run_states(at, at._tree.get_widget_states(), forged)


def _competitors(at: AppTest) -> list[str]:
    return [str(n) for n in _editor(at, "pw_comp_").value["name"]]


@pytest.mark.parametrize(
    ("column", "value"),
    [("price", v) for v in WRONG_CELLS.values()] + [("share", "NaN"), ("name", None)],
    ids=[f"price_{k}" for k in WRONG_CELLS] + ["share_nan_text", "name_none"],
)
def test_a_competitor_cell_that_is_not_a_value_is_refused_in_words(
    secured: Path, column: str, value: Any
) -> None:
    """Expected: a forged edit giving one competitor of Price war's table a cell Streamlit
    cannot read for its column (a text, ``"NaN"``, an empty text, a list, an object or a
    whole number too large for a float for the price; ``"NaN"`` for the share; no name)
    ends the run with "Check the competitor table: no valid value for <competitor>: <column>"
    and changes nothing: the next run still models every competitor.

    Broke: Streamlit turns such a cell into an empty one (``_parse_value``: None) and the page
    dropped rows with an empty cell (``dropna``), so the competitor silently left the price
    war, and, the scenario being saved with each run, the table, a saved scenario and the
    what-if link, until "Reset to the real price data"."""
    at = open_page(APP_ANALYST, "views/price_war.py")
    before = _competitors(at)
    _send_edits(at, "pw_comp_", edited_rows={"0": {column: value}})
    assert not run_problems(at), run_problems(at)
    notes = [str(w.value) for w in at.warning]
    assert any(
        n.startswith("Check the competitor table: no valid value for") and column in n
        for n in notes
    ), notes
    at.run()  # the session's next run: nothing was taken out
    assert not run_problems(at), run_problems(at)
    assert _competitors(at) == before, (_competitors(at), before)


def test_a_new_competitor_row_still_being_filled_in_is_left_out_in_words(
    secured: Path,
) -> None:
    """Expected: a row added in the browser has empty cells until they are typed: the page
    models the other competitors and says the new row is left out (no refusal). Before:
    left out with nothing said (the caption is new with the refusal above)."""
    at = open_page(APP_ANALYST, "views/price_war.py")
    before = _competitors(at)
    _send_edits(at, "pw_comp_", added_rows=[{"name": "New rival"}])
    assert not run_problems(at), run_problems(at)
    assert not [w for w in at.warning if "Check the competitor table" in str(w.value)]
    assert any("1 new row is left out" in str(c.value) for c in at.caption)
    assert at.subheader and "The price cut and our options" in [s.value for s in at.subheader]
    assert _competitors(at)[: len(before)] == before


def test_incomplete_rows_tells_rows_of_the_table_from_added_ones() -> None:
    """Expected: rows the table started with are named with their empty columns (a repeated
    or made-up index label does not fail it); added rows are counted."""
    original = pd.DataFrame({"name": ["a", "b"], "price": [1.0, 2.0], "share": [0.1, 0.2]})
    edited = pd.DataFrame(
        {
            "name": ["a", None, "c", "d"],
            "price": [math.nan, 2.0, math.nan, 1.0],
            "share": [0.1, math.nan, 0.3, 0.3],
        },
        index=pd.Index([0, 1, 2, "x"], dtype=object),
    )
    missing, added = incomplete_rows(edited, original, ["name", "price", "share"])
    assert missing == ["a: price", "b: name, share"]
    assert added == 1
    repeated = edited.set_axis(pd.Index([0, 0, 5, 6]))
    assert incomplete_rows(repeated, original, ["name", "price"]) == (["a: price", "a: name"], 1)


#: Forged demand-table states (Pricing): every numeric cell of the wrong type, huge, or rows
#: the table cannot take.
def _every_cell(value: Any) -> Any:
    def edits(cols: list[str], n: int) -> dict[str, Any]:
        return {"edited_rows": {str(r): {c: value for c in cols if c != "name"} for r in range(n)}}

    return edits


DEMAND_EDITS = {
    "every_cell_text": _every_cell("abc"),
    "every_cell_nan_text": _every_cell("NaN"),
    "every_cell_1e308": _every_cell(1e308),
    "every_cell_list": _every_cell([1]),
    "added_made_up_columns": lambda cols, n: {"added_rows": [{"zz": 1, "made_up": "x"}]},
}
DEMAND_NOTES = ("Check the demand table", "not used")


@pytest.mark.parametrize("name", list(DEMAND_EDITS))
def test_guard_wrong_cells_in_the_demand_table_are_refused_in_words(
    secured: Path, work: Work, name: str
) -> None:
    """Guard (held): Pricing's demand table sent cells of the wrong type in every row (a
    text, ``"NaN"``, 1e308, a list) or an added row of made-up columns: the run ends with a
    note ("Check the demand table…", "…not used") and no exception, and Streamlit appends
    at most one row."""
    at = open_page(APP_VIEWER, "views/pricing.py")
    table = _editor(at, "wi_demand_")
    columns, rows = [str(c) for c in table.value.columns], len(table.value)
    work.reset()
    _send_edits(at, "wi_demand_", **DEMAND_EDITS[name](columns, rows))
    assert not run_problems(at), run_problems(at)
    assert work.rows_added <= 1, work.rows_added
    notes = [str(w.value) for w in at.warning]
    assert any(any(n in note for n in DEMAND_NOTES) for note in notes), notes


#: Values too large for their widget, each under Streamlit's 25 MB message limit.
OVERSIZED = {
    "editor_state_of_10000_rows": (
        "views/pricing.py",
        "wi_demand_",
        lambda cols: {
            "string_value": json.dumps(
                {"added_rows": [dict.fromkeys(cols, 1.0)] * 10_000, "deleted_rows": []}
            )
        },
    ),
    "three_dates_for_from": (
        "views/overview.py",
        "from",
        lambda cols: {"string_array_value": ["2025-01-01"] * 3},
    ),
    "choices_2000_for_segment": (
        "views/overview.py",
        "segment",
        lambda cols: {"string_array_value": ["smb"] * 2_000},
    ),
}


@pytest.mark.parametrize("name", list(OVERSIZED))
def test_a_value_too_large_for_its_widget_is_ignored_in_words(
    secured: Path, work: Work, name: str
) -> None:
    """Expected: a data editor state over 1 MiB (10,000 added rows of the demand table),
    three dates for one date input, 2,000 choices for a four-option multiselect: the value
    is ignored (no rows appended, the widget at its default) and the page says so ("A value
    sent for an input was larger than any it takes…").

    Broke (weak): round 18-19's bounds (``widget_bounds``) dropped them with a log line
    only: the table's edits, or the filter, vanished with nothing said."""
    page, key, value = OVERSIZED[name]
    at = open_page(APP_ANALYST, page)
    widget = _editor(at, key) if key.endswith("_") else _widget(at, key)
    wid = widget.proto.id if key.endswith("_") else widget.id
    columns = [str(c) for c in widget.value.columns] if key.endswith("_") else []
    work.reset()
    forged_run_states(at, at._tree.get_widget_states(), _state(wid, **value(columns)))
    assert not run_problems(at), run_problems(at)
    assert work.rows_added == 0, work.rows_added
    notes = [str(w.value) for w in at.warning]
    assert widget_bounds.OVERSIZED_NOTE in notes, notes


# -- choices, sliders and dates: the right field, the wrong size or range -----------------------


def _state(widget_id: str, **value: Any) -> WidgetState:
    ws = WidgetState(id=widget_id)
    for field, v in value.items():
        if field.endswith("array_value"):
            getattr(ws, field).data.extend(v)
        else:
            setattr(ws, field, v)
    return ws


def _widget(at: AppTest, key: str) -> Any:
    """The widget whose key is ``key`` (or starts with it, for a key ending in ``_``: the
    pages' keys that carry the scenario's revision)."""
    return next(
        n
        for n in at._tree
        if getattr(n, "id", "")
        and (
            (getattr(n, "key", None) or "").startswith(key)
            if key.endswith("_")
            else getattr(n, "key", None) == key
        )
    )


def _offered(widget: Any, value: Any) -> bool:
    """Whether ``value`` is one a widget offers: one of its options, within its bounds."""
    options = getattr(widget, "options", None)
    if options:
        return str(value) in [str(o) for o in options]
    lo = getattr(widget, "min", None)
    hi = getattr(widget, "max", None)
    if lo is None or hi is None or value is None:
        return value is None or lo is None
    return lo <= value <= hi


#: (page, role, widget key prefix, forged field and value, what the page must show after).
SHAPES = {
    "selectbox_position_not_name": ("views/price_war.py", "pw_cutter_", {"string_value": "-1"}),
    "selectbox_empty_name": ("views/price_war.py", "pw_cutter_", {"string_value": ""}),
    "slider_reversed_pair": ("views/price_war.py", "pw_cut_", {"double_array_value": [90, 0]}),
    "slider_below_range": ("views/price_war.py", "pw_cut_", {"double_array_value": [-1e9]}),
    "slider_above_range": ("views/price_war.py", "pw_cut_", {"double_array_value": [1e300]}),
    "slider_three_values": ("views/price_war.py", "pw_cut_", {"double_array_value": [1, 2, 3]}),
    "multiselect_repeats_and_strangers": (
        "views/overview.py",
        "segment",
        {"string_array_value": ["smb", "smb", "no-such-segment", "", "smb"] * 100},
    ),
    "date_year_1": ("views/overview.py", "from", {"string_array_value": ["0001-01-01"]}),
    "date_year_9999": ("views/overview.py", "to", {"string_array_value": ["9999-12-31"]}),
    "date_impossible": ("views/overview.py", "from", {"string_array_value": ["2025-02-30"]}),
    "date_reversed_pair": (
        "views/overview.py",
        "from",
        {"string_array_value": ["2026-08-01", "2024-09-01"]},
    ),
    "date_empty_list": ("views/overview.py", "to", {"string_array_value": []}),
    "radio_not_an_option": ("views/settings.py", "set_kind", {"string_value": "everything"}),
    "audit_since_year_1": ("views/audit.py", "au_since", {"string_array_value": ["0001-01-01"]}),
}


@pytest.mark.parametrize("name", list(SHAPES))
def test_guard_choices_sliders_and_dates_out_of_range_keep_a_value_the_widget_has(
    secured: Path, name: str
) -> None:
    """Guard (held): a value in the widget's own field but no value the widget offers (a
    selectbox's position or an empty name, a slider's reversed pair, three values or values
    outside its bounds, a multiselect's repeats and strangers, a date in year 1 or 9999, an
    impossible date, two dates for one, no date, a radio's made-up choice) ends the run with
    no exception and the widget holding a value it offers (Streamlit resets it, the pages'
    ``chosen_options`` keep each option once)."""
    page, prefix, value = SHAPES[name]
    email = APP_ADMIN if page in {"views/settings.py", "views/audit.py"} else APP_ANALYST
    at = open_page(email, page)
    widget = _widget(at, prefix)
    default = widget.value
    forged_run_states(at, at._tree.get_widget_states(), _state(widget.id, **value))
    assert not run_problems(at), run_problems(at)
    after = _widget(at, prefix)
    if name.startswith("multiselect"):
        assert set(after.value) <= {"smb"}, after.value[:10]
    else:  # Streamlit's default, or (two dates for one) the first date, within the bounds
        assert after.value == default or _offered(after, after.value), (after.value, default)


def test_guard_a_period_whose_start_is_after_its_end_is_read_in_order(secured: Path) -> None:
    """Guard (held): the sidebar's From set after its To (each a valid date of the data)
    ends the Overview's run without a problem; the period is read from the earlier to the
    later date (``Filters`` swaps them)."""
    at = open_page(APP_VIEWER, "views/overview.py")
    lo, hi = _widget(at, "from").value, _widget(at, "to").value
    states = at._tree.get_widget_states()
    forged = [
        _state(_widget(at, "from").id, string_array_value=[hi.isoformat()]),
        _state(_widget(at, "to").id, string_array_value=[lo.isoformat()]),
    ]
    forged_run_states(at, states, forged[0])
    forged_run_states(at, at._tree.get_widget_states(), forged[1])
    assert not run_problems(at), run_problems(at)
    assert (_widget(at, "from").value, _widget(at, "to").value) == (hi, lo)


# -- the real websocket and the real browser, on serve.py ------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> Iterator[SignedServer]:
    """``streamlit run dashboard/serve.py`` with sign-in, for this module's websocket and
    browser tests (the access file is restored after each test that changes it)."""
    with (
        pytest.MonkeyPatch.context() as mp,
        serving("dashboard/serve.py", mp),
        signed(tmp_path_factory.mktemp("round21"), demo_db) as server,
    ):
        yield server


def _count(server: SignedServer, sql: str, params: list[Any]) -> Any:
    from tests.reliability.test_attacks_round18 import peek

    return peek(server, sql, params)


def test_an_uploader_state_naming_another_sessions_file_imports_nothing(
    served: SignedServer,
) -> None:
    """Guard (held): an analyst's session sends, as its uploader's state, the file id (and
    name and size) of a file another analyst's session uploaded, then presses "Check and
    import": nothing is imported or audited for it, the page asks to choose a file, no
    problem; the owner's own import of the same file then works once."""
    content = b"text\nOpenAI cut its prices again\nDeepSeek is cheaper now\n"

    async def attack() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with session(served, ANALYST) as owner, session(served, ADMIN) as thief:
            await owner.goto(owner.page("batch-tagging"))
            info = await put_file(owner, "r21-owner.csv", content)
            await thief.goto(thief.page("batch-tagging"))
            uploader, submit = thief.widget("bt_files"), thief.widget("bt_import")
            state = WidgetState(id=uploader.id)
            stolen = UploadedFileInfo(name=info.name, size=info.size, file_id=info.file_id)
            stolen.file_urls.CopyFrom(info.file_urls)
            state.file_uploader_state_value.uploaded_file_info.append(stolen)
            thief.values[uploader.id] = state
            press = WidgetState(id=submit.id, trigger_value=True)
            action = await thief.run("import another session's file", triggers=(press,))
            seen["thief_problems"] = action.problems
            seen["thief_texts"] = list(thief.texts)
            seen["after_thief"] = _count(
                served, "SELECT count(*) FROM tickets WHERE source = ?", ["r21-owner.csv"]
            )
            owner_state = WidgetState(id=owner.widget("bt_files").id)
            owner_state.file_uploader_state_value.uploaded_file_info.append(info)
            owner.values[owner_state.id] = owner_state
            own_press = WidgetState(id=owner.widget("bt_import").id, trigger_value=True)
            action = await owner.run("import own file", triggers=(own_press,))
            seen["owner_problems"] = action.problems
        return seen

    seen = run(attack())
    assert not seen["thief_problems"], seen["thief_problems"]
    assert any("Choose one or more ticket files" in t for t in seen["thief_texts"])
    assert seen["after_thief"] == 0, seen["after_thief"]
    assert not seen["owner_problems"], seen["owner_problems"]
    audited = "SELECT count(*) FROM audit_log WHERE action = 'upload' AND target = ?"
    assert _count(served, audited, ["r21-owner.csv"]) == 1
    assert _count(served, "SELECT count(*) FROM tickets WHERE source = ?", ["r21-owner.csv"]) == 2


#: Presses of back (or forward) that must reach a page visited before.
STEPS = 6
#: Texts only the admins' pages draw (their titles and first widgets).
ADMIN_TEXTS = ("Audit trail", "Reset data", "Settings")


def takes_host_cookies(server: SignedServer) -> bool:
    """Whether ``server`` keeps its sign-in cookies as ``__Host-`` ones
    (``dashboard.host_signin``): ``serve.py`` with a ``[auth] redirect_uri`` on https or a
    loopback host; ``app.py``, or plain http elsewhere, keeps the plain names."""
    import tomllib

    from dashboard import host_signin

    if "dashboard/serve.py" not in [str(a) for a in server.server.proc.args]:
        return False
    secrets = tomllib.loads((server.db.parent / "secrets.toml").read_text(encoding="utf-8"))
    return host_signin.takes_host_cookies(secrets["auth"]["redirect_uri"])


def _cookie(server: SignedServer, email: str) -> dict[str, Any]:
    """The identity cookie a browser holds once ``email`` signed in to ``server`` (for
    ``add_cookies``): ``__Host-_streamlit_user`` (Secure, host-only, ``Path=/``) where
    :func:`takes_host_cookies`, else ``_streamlit_user``; the value is signed under the plain
    name either way, as Streamlit signs it."""
    from urllib.parse import urlsplit

    value = signed_identity(COOKIE_SECRET, server.url, email)
    if not takes_host_cookies(server):
        return {"name": "_streamlit_user", "value": value, "url": server.url}
    host = urlsplit(server.url).hostname
    return {
        "name": "__Host-_streamlit_user",
        "value": value,
        "domain": host,
        "path": "/",
        "secure": True,
        "httpOnly": True,
    }


@contextlib.contextmanager
def _access(
    server: SignedServer, allow: list[str], admins: tuple[str, ...] = (ADMIN,)
) -> Iterator[None]:
    """The access file with ``allow`` as its viewers and ``admins``; restored afterwards."""
    path = server.db.parent / "access.toml"
    original = path.read_text(encoding="utf-8")
    time.sleep(1.1)  # a new modification time for the access file's check
    path.write_text(
        f'allow = {json.dumps(allow)}\nanalysts = ["{ANALYST}"]\n'
        f"admins = {json.dumps(list(admins))}\n",
        encoding="utf-8",
    )
    try:
        yield
    finally:
        time.sleep(1.1)
        path.write_text(original, encoding="utf-8")


def _look(page: Any) -> dict[str, Any]:
    from tests.chromium import settle

    settle(page)
    main = page.locator('[data-testid="stMain"]')
    return {
        "url": page.url.split("?", 1)[0].rsplit("/", 1)[-1],
        "query": page.url.split("?", 1)[1] if "?" in page.url else "",
        "title": page.locator("h1").first.inner_text() if page.locator("h1").count() else "",
        "problems": page_problems(page, errors_allowed=True),
        "admin": [t for t in ADMIN_TEXTS if main.get_by_text(t, exact=True).count()],
        "nav": page.locator('[data-testid="stSidebarNav"] a').count(),
        "history": page.evaluate("history.length"),
        "texts": main.inner_text()[:2000],
        "seed": seed.input_value()
        if (seed := page.get_by_label("Monte Carlo seed")).count()
        else None,
    }


@needs_chromium
@pytest.mark.e2e
def test_the_browsers_back_and_forward_buttons_are_checked_like_any_run(
    served: SignedServer, browser: Any
) -> None:
    """Expected, in chromium on ``serve.py`` signed in as a viewer, with the browser's own
    back and forward buttons (``page.go_back`` / ``go_forward``: a ``popstate`` the page
    answers with a history-navigation rerun): moving across Overview, Pricing (its Monte
    Carlo seed changed: the what-if link) and Entities and back again shows each page with
    its own title and the address it had, never a problem; history entries the page pushed
    itself (``history.pushState``: the admins' ``/settings`` and ``/audit`` with a hostile
    query string: a bidi override, year 1, 5,000 characters) reached with back and forward
    draw none of the admins' texts and no exception; after the viewer is taken off the
    access file, back and forward show only the gate (no navigation, no page), and once
    let in again the pages come back."""
    from tests.chromium import new_page

    seen: dict[str, Any] = {}
    hostile = "?segment=%E2%80%AEevil&from=0001-01-01&s_mc_seed=-1&x=" + "y" * 5_000
    with new_page(browser) as page:
        page.context.add_cookies([_cookie(served, VIEWER)])
        page.goto(served.url + "/")
        seen["overview"] = _look(page)
        page.locator('[data-testid="stSidebarNav"] a[href$="/pricing"]').click()
        seen["pricing"] = _look(page)
        page.get_by_text("More inputs").click()
        seed = page.get_by_label("Monte Carlo seed")
        seed.fill("7")
        seed.press("Enter")
        seen["pricing_seed"] = _look(page)
        page.locator('[data-testid="stSidebarNav"] a[href$="/entities"]').click()
        seen["entities"] = _look(page)
        page.go_back()
        seen["back_to_pricing"] = _look(page)
        seen["back_seed"] = page.get_by_label("Monte Carlo seed").input_value()
        # Streamlit adds history entries of its own (a page's address rewritten by its run):
        # back until the Overview, then forward until Entities, a few steps at most
        for move, goal in ((page.go_back, "overview"), (page.go_forward, "entities")):
            for step in range(STEPS):
                move()
                look = seen[f"{move.__name__}_{step}"] = _look(page)
                if look["title"] == seen[goal]["title"]:
                    seen[f"{goal}_again"] = look
                    break
        for target in ("settings", "audit"):
            page.evaluate(f"history.pushState({{}}, '', '/{target}{hostile}')")
            page.evaluate("history.pushState({}, '', '/entities')")
            page.go_back()
            seen[f"back_to_pushed_{target}"] = _look(page)
            page.go_forward()
            seen[f"forward_from_pushed_{target}"] = _look(page)
        with _access(served, []):
            page.go_back()
            seen["back_after_removal"] = _look(page)
            page.go_back()
            seen["back_twice_after_removal"] = _look(page)
            page.go_forward()
            seen["forward_after_removal"] = _look(page)
        page.reload()
        seen["let_in_again"] = _look(page)
    with new_page(browser) as page:  # an admin made a viewer, then back to Settings
        page.context.add_cookies([_cookie(served, ADMIN)])
        page.goto(served.url + "/settings")
        admin_settings = _look(page)
        page.locator('[data-testid="stSidebarNav"] a[href$="/entities"]').click()
        _look(page)
        with _access(served, [ADMIN], admins=()):
            page.go_back()
            seen["demoted_back_to_settings"] = _look(page)
            page.go_forward()
            seen["demoted_forward"] = _look(page)
    for name, look in seen.items():
        if isinstance(look, dict):
            assert not look["problems"], (name, look["problems"])
            assert not look["admin"], (name, look["admin"], look["title"])
    assert seen["overview"]["title"] != seen["pricing"]["title"] != seen["entities"]["title"]
    assert seen["back_to_pricing"]["title"] == seen["pricing"]["title"], seen["back_to_pricing"]
    assert "s_mc_seed=7" in seen["back_to_pricing"]["query"], seen["back_to_pricing"]["query"]
    assert seen["back_seed"] == "7", seen["back_seed"]
    assert "overview_again" in seen and "entities_again" in seen, list(seen)
    moves = [k for k in seen if k.startswith(("go_back_", "go_forward_"))]
    record_figure(
        "round21_back_presses_from_entities_to_overview",
        len([k for k in moves if k.startswith("go_back_")]) + 1,
    )
    # back and forward walk the entries (none added), each Pricing entry showing its own
    # what-if: the seed input says what the address says
    assert len({seen[k]["history"] for k in ["entities", *moves]}) == 1, moves
    for name in ["back_to_pricing", *moves]:
        look = seen[name]
        if look["url"] == "pricing":
            assert (look["seed"] == "7") == ("s_mc_seed=7" in look["query"]), (name, look)
    for name in ("back_after_removal", "back_twice_after_removal", "forward_after_removal"):
        look = seen[name]
        assert look["nav"] == 0, (name, look)
        assert "not" in look["texts"].lower() and "Sign out" in look["texts"], (name, look)
        assert look["title"] == "Price War Room", (name, look["title"])
    assert seen["let_in_again"]["nav"] > 0, seen["let_in_again"]
    assert "Settings" in admin_settings["admin"], admin_settings  # the control: an admin's
    assert seen["demoted_back_to_settings"]["nav"] == seen["overview"]["nav"], seen
