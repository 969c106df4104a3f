"""Round 18 of the hostile-user attacks (#12): what round 17's fuzzer did not reach.

Round 17 sent hostile values to every widget a page draws on its first run, under AppTest,
with no button pressed. This round attacks what that leaves out:

- widgets drawn only after a press (a what-if tab opened, a reset kind chosen, shards
  loaded), buttons themselves (every button a page drew, pressed at once with hostile
  values, and the forged presses of disabled buttons), the file uploader and the one
  callback (Settings' reset), under AppTest with the work counted as in round 17;
- the real websocket (``tests/reliability/signed.py``: a real ``streamlit run`` with sign-in
  and signed-in light sessions): an uploader state naming one uploaded file many times,
  fragment reruns after the user's access was taken away, forged presses of disabled
  buttons;
- work Streamlit does before the page runs: a forged 400,000-entry date list is parsed
  whole (``DateInputSerde``) when the session's next run starts, before any page code,
  measured on a real server and bounded in the app (``dashboard.widget_bounds``);
- uploads sent to a fresh server before its first page run (``dashboard/serve.py``).

Work is counted (SQL parameters, rows, audit rows, parse calls, bytes held), never timed.
"""

from __future__ import annotations

import contextlib
import time
import types
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.proto.Common_pb2 import UploadedFileInfo
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Button, Widget

from bench.light_client import LightSession
from tests.dashboard.conftest import app_db, secured  # noqa: F401 - fixtures
from tests.dashboard.signin import ADMIN as APP_ADMIN
from tests.dashboard.signin import ANALYST as APP_ANALYST
from tests.dashboard.signin import VIEWER as APP_VIEWER
from tests.reliability.conftest import copy_db, record_figure
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
from tests.reliability.test_attacks_round17 import (  # noqa: F401 - `work` is a fixture
    GENERIC_ERROR,
    MB,
    ROUNDS,
    Work,
    forged_state,
    fuzzed_widgets,
    open_page,
    run_problems,
    store_fingerprint,
    work,
)

#: How many times a forged uploader state names one uploaded file.
REPEATS = 300
#: Entries of the forged date list (round 16's figure: a 4.8 MB message).
DATES = 400_000
WHATIF_TABS = (
    "Profit curve",
    "Revenue and cost",
    "Segments",
    "Tornado",
    "Data tables",
    "Monte Carlo",
    "Goal seek",
)
#: Buttons never pressed by the button attack: they end the session (sign-out, sign-in).
SESSION_BUTTONS = ("access_sign_out", "access_sign_in_default")


# -- AppTest: what a press draws, and the presses themselves ------------------------------


def widget_id(at: AppTest, key: str) -> str:
    """The widget id Streamlit gave user key ``key`` in ``at``'s last run."""
    return at._session_state._state._key_id_mapper.get_id_from_key(key)


def forged_states(
    at: AppTest, widgets: list[Any], round_: int, extra: tuple[WidgetState, ...] = ()
) -> WidgetStates:
    """The widget states of ``at``'s last run, ``widgets`` given their round's hostile value
    and ``extra`` (triggers, a chosen tab) added."""
    base = at._tree.get_widget_states()
    forged = {ws.id: ws for ws in (forged_state(w, round_) for w in widgets) if ws is not None}
    forged |= {ws.id: ws for ws in extra}
    states = WidgetStates()
    for ws in base.widgets:
        states.widgets.append(forged.pop(ws.id, ws))
    states.widgets.extend(forged.values())
    return states


def fuzz(at: AppTest, work: Work, widgets: list[Any], where: str, *extra: WidgetState) -> None:
    """:data:`ROUNDS` page runs, each with every widget of ``widgets`` sent its round's
    hostile value (and ``extra``): no exception, no generic error, bounded work."""
    for round_ in range(ROUNDS):
        work.reset()
        at._run(forged_states(at, widgets, round_, extra))
        assert not run_problems(at), (where, round_, run_problems(at))
        assert not work.problems(), (where, round_, work.problems())


def new_widgets(at: AppTest, page: str, seen: set[str]) -> list[Any]:
    return [w for w in fuzzed_widgets(at, page) if _id(w) not in seen]


def _id(widget: Any) -> str:
    return getattr(widget, "id", "") or widget.proto.id


@pytest.mark.parametrize("email", [APP_VIEWER, APP_ANALYST])
def test_forged_values_on_every_what_if_tab_are_bounded(
    secured: Path, work: Work, email: str
) -> None:
    """Every what-if tab opened (its analyses and their widgets are drawn only then: Data
    tables' and Goal seek's pickers), then every widget the tab drew fuzzed."""
    page = "views/pricing.py"
    at = open_page(email, page)
    seen = {_id(w) for w in fuzzed_widgets(at, page)}
    tabs_id = widget_id(at, "wi_tab")
    fuzzed: list[str] = []
    for label in WHATIF_TABS:
        tab = WidgetState(id=tabs_id, string_value=label)
        at._run(forged_states(at, [], 0, (tab,)))
        assert not run_problems(at), (label, run_problems(at))
        widgets = new_widgets(at, page, seen)
        if widgets:
            fuzz(at, work, widgets, f"{email}, tab {label}", tab)
        fuzzed += [getattr(w, "key", None) or "" for w in widgets]
    assert {"dt_input", "dt_cols", "dt_metric", "gs_input"} <= set(fuzzed), fuzzed


def test_forged_values_for_every_reset_kind_and_its_forged_press_change_nothing(
    secured: Path, work: Work
) -> None:
    """Settings: each kind of reset chosen (the model and batch pickers are drawn only for
    their kind), every widget fuzzed, and the Reset button pressed in each round without
    the confirmation word (a forged press of a disabled button with a callback)."""
    from data import reset

    page = "views/settings.py"
    at = open_page(APP_ADMIN, page)
    before = store_fingerprint()
    seen: set[str] = set()
    fuzzed: list[str] = []
    for kind in (reset.MODEL, reset.BATCH, reset.SCENARIOS):
        at.radio(key="set_kind").set_value(kind).run()
        assert not run_problems(at), (kind, run_problems(at))
        widgets = [w for w in new_widgets(at, page, seen) if getattr(w, "key", "") != "set_kind"]
        seen |= {_id(w) for w in widgets}
        press = WidgetState(id=widget_id(at, "set_reset"), trigger_value=True)
        fuzz(at, work, widgets, f"reset kind {kind}", press)
        fuzzed += [getattr(w, "key", None) or "" for w in widgets]
    assert {"set_model", "set_batch", "set_confirm"} <= set(fuzzed), fuzzed
    assert store_fingerprint() == before


#: Pages with buttons, and the roles that see them.
BUTTON_CASES = [
    pytest.param(email, page, id=f"{email.split('@')[0]}-{page.split('/')[1][:-3]}")
    for email, page in (
        (APP_ANALYST, "views/batch_tagging.py"),
        (APP_ANALYST, "views/scenarios.py"),
        (APP_VIEWER, "views/scenarios.py"),
        (APP_ANALYST, "views/price_war.py"),
        (APP_ADMIN, "views/settings.py"),
    )
]


@pytest.mark.parametrize(("email", "page"), BUTTON_CASES)
def test_every_button_pressed_at_once_with_hostile_values_is_bounded(
    secured: Path, work: Work, email: str, page: str
) -> None:
    """Every button the page drew (sign-out and sign-in aside) pressed in one forged
    message, with every widget given its round's hostile value: no exception, no generic
    error, bounded work (the store may change: Save saves, Delete deletes)."""
    at = open_page(email, page)
    buttons = [
        n
        for n in at._tree
        if isinstance(n, Button) and (getattr(n, "key", None) or "") not in SESSION_BUTTONS
    ]
    assert buttons, f"{page} drew no button"
    presses = tuple(WidgetState(id=b.id, trigger_value=True) for b in buttons)
    fuzz(at, work, fuzzed_widgets(at, page), f"{email} on {page}", *presses)


@pytest.mark.parametrize("page", ["views/batch_tagging.py", "views/scenarios.py"])
def test_a_viewer_pressing_the_buttons_only_analysts_see_changes_nothing(
    secured: Path, work: Work, page: str
) -> None:
    """Guard: the buttons an analyst's page draws (Start tagging, Load entity shards, Check
    and import, Save, Delete), pressed by a viewer's forged message with every widget of
    the viewer's page given its round's hostile value: Streamlit acts only on buttons the
    run draws, so nothing is written and no page run fails."""
    analyst = open_page(APP_ANALYST, page)
    theirs = {
        n.id
        for n in analyst._tree
        if isinstance(n, Button) and (getattr(n, "key", None) or "") not in SESSION_BUTTONS
    }
    at = open_page(APP_VIEWER, page)
    mine = {n.id for n in at._tree if isinstance(n, Button)}
    presses = tuple(WidgetState(id=i, trigger_value=True) for i in sorted(theirs - mine))
    assert len(presses) >= 2, sorted(theirs)
    before = store_fingerprint()
    fuzz(at, work, fuzzed_widgets(at, page), f"viewer on {page}", *presses)
    assert store_fingerprint() == before


#: Shard folders an analyst may type: a home folder of nobody, a NUL, a 1 MB name, /proc.
HOSTILE_FOLDERS = ("~nobody-round18/shards", "a\x00b", "A" * MB, "/proc", "~")


def test_a_shard_folder_that_cannot_be_read_is_refused_in_words(secured: Path) -> None:
    """Expected: any folder typed into "Load entity shards" is refused in words naming it
    (the rest of Batch tagging is drawn), and the attempt is in the audit trail.

    Broke: a folder starting with ``~name`` of no such user (``~nobody/shards``, a typo of
    ``~/shards`` away) raised ``RuntimeError: Could not determine home directory`` from
    ``Path.expanduser`` before the role check: "Something went wrong", the Results
    section was never drawn and no ``shard_load`` row was written."""
    from dashboard import state

    at = open_page(APP_ANALYST, "views/batch_tagging.py")
    count = "SELECT count(*) FROM audit_log WHERE action = 'shard_load'"
    for folder in HOSTILE_FOLDERS:
        before = state.store().scalar(count)
        at.text_input(key="bt_shards").set_value(folder).run()
        at.button(key="bt_load_shards").click().run()
        where = repr(folder[:30])
        assert not run_problems(at), (where, run_problems(at))
        errors = [str(e.value) for e in at.error]
        assert errors and all(GENERIC_ERROR not in e for e in errors), (where, errors)
        assert any(s.value == "3. Results" for s in at.subheader), where
        assert state.store().scalar(count) == before + 1, where


# -- the real websocket ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def signed_server(
    tmp_path_factory: pytest.TempPathFactory, demo_db: Path
) -> Iterator[SignedServer]:
    with signed(tmp_path_factory.mktemp("round18"), demo_db) as server:
        yield server


def peek(server: SignedServer, sql: str, params: list[Any] | None = None) -> Any:
    """One value read from a copy of the running app's store (the server holds its lock)."""
    import duckdb

    copy = copy_db(server.db, server.db.parent / f"peek-{time.monotonic_ns()}" / "peek.duckdb")
    with duckdb.connect(str(copy), read_only=True) as conn:
        return conn.execute(sql, params or []).fetchone()[0]


async def put_file(s: SignedSession, filename: str, content: bytes) -> UploadedFileInfo:
    """Upload one file as the uploader's frontend does; what its widget state lists."""
    (urls,) = await s.upload_urls([filename])
    return await s.put_file(urls, filename, content)


def test_an_uploader_state_naming_one_file_many_times_imports_it_once(
    signed_server: SignedServer,
) -> None:
    """Expected: a file listed many times in one uploader state (a browser lists each file
    once) is checked and imported once: one report, one ``upload`` audit row; a state
    naming files the server does not hold (gone, or another session's) imports nothing and
    says to choose a file.

    Broke: Streamlit builds one ``UploadedFile`` per listed entry, so one uploaded file
    named 300 times in the state was hashed, looked up and audited 300 times (and a file
    that is rejected, staged and parsed 300 times): one 200 MB file named 100,000 times
    (a 15 MB message) is 20 TB to hash, and 100,000 audit rows."""
    good = b"text\nOpenAI cut its prices again\nDeepSeek is cheaper now\n"
    bad = b"no_text_column\n1\n2\n"
    rejected = "was rejected"  # the bad file's own error box: expected, once

    async def attack() -> tuple[list[Any], list[str]]:
        actions = []
        async with session(signed_server, ANALYST) as s:
            await s.goto(s.page("batch-tagging"))
            uploader, submit = s.widget("bt_files"), s.widget("bt_import")
            press = WidgetState(id=submit.id, trigger_value=True)
            infos = [
                await put_file(s, n, c) for n, c in (("r18-good.csv", good), ("r18-bad.csv", bad))
            ]
            gone = UploadedFileInfo(name="gone.csv", size=10, file_id=uuid.uuid4().hex)
            for name, listed in (("good", infos[0]), ("bad", infos[1]), ("gone", gone)):
                state = WidgetState(id=uploader.id)
                state.file_uploader_state_value.uploaded_file_info.extend([listed] * REPEATS)
                s.values[uploader.id] = state
                action = await s.run(f"import {name}", triggers=(press,))
                boxes = [p for p in action.problems if rejected in p]
                assert len(boxes) <= 1, f"{len(boxes)} rejection boxes for one file"
                action.problems = [p for p in action.problems if rejected not in p]
                actions.append(action)
                s.values.pop(uploader.id, None)
            return actions, list(s.texts)

    actions, texts = run(attack())
    for action in actions:
        assert not action.problems, (action.name, action.problems)
    assert any("Choose one or more ticket files" in t for t in texts), texts  # "gone"
    audited = "SELECT count(*) FROM audit_log WHERE action = 'upload' AND target = ?"
    assert peek(signed_server, audited, ["r18-good.csv"]) == 1
    assert peek(signed_server, audited, ["r18-bad.csv"]) == 1
    assert peek(signed_server, "SELECT count(*) FROM tickets WHERE source = 'r18-good.csv'") == 2


def test_a_fragment_rerun_after_access_was_taken_away_draws_nothing(
    signed_server: SignedServer,
) -> None:
    """Expected: once a user is taken off the access list, their open page's fragments (the
    what-if, the tagging panel, the sidebar's job line) draw nothing but a note: the access
    list holds "from the next page run" (Settings), fragment runs included.

    Broke: a fragment rerun runs the fragment's function only, not ``app.py``'s gate, so a
    session whose user had been removed from the access file went on getting the what-if
    (its inputs, metrics and analyses, from the store's usage data) for as long as it kept
    sending fragment reruns; only a full page run was refused."""
    access_file = signed_server.db.parent / "access.toml"
    original = access_file.read_text(encoding="utf-8")

    async def attack() -> tuple[list[str], list[str], Any, list[str]]:
        async with session(signed_server, VIEWER) as s:
            await s.goto(s.page("pricing"))
            fragment = s.widget(r"wi_price_per_m_\d+").fragment_id
            assert fragment, "the what-if's inputs are drawn in a fragment"
            access_file.write_text(
                f'analysts = ["{ANALYST}"]\nadmins = ["{ADMIN}"]\n', encoding="utf-8"
            )
            s._run_ids, s.texts = set(), []
            action = await s.run("what-if fragment, removed", fragment_id=fragment)
            drawn = sorted(w.split("-", 2)[-1] for w in s._run_ids)
            texts = list(s.texts)
            await s.run("full run, removed")
            return drawn, texts, action, list(s.texts)

    try:
        drawn, texts, action, gate = run(attack())
    finally:
        access_file.write_text(original, encoding="utf-8")
    assert any("not on" in t or "access" in t for t in gate), gate  # the gate, as before
    assert not action.problems, action.problems
    assert drawn == [], f"the fragment drew {drawn[:10]} for a removed user"
    assert any("reload" in t.lower() for t in texts), texts


def test_forged_presses_of_disabled_buttons_do_nothing(signed_server: SignedServer) -> None:
    """Guard (held: Streamlit 1.67 drops a disabled widget's value and callback on the
    server): Batch tagging's "Load entity shards" with no folder and Settings' "Reset"
    without the word, each pressed by a forged message: nothing is loaded or reset, and no
    audit row is written. Scenarios' "Save" is always pressable (GAPS 21): pressed with no
    name it saves nothing and says so."""
    count = "SELECT count(*) FROM audit_log WHERE action IN ('shard_load', 'scenario_save', 'data_reset')"
    before = peek(signed_server, count)

    async def attack() -> list[Any]:
        actions = []
        async with session(signed_server, ANALYST) as s:
            await s.goto(s.page("batch-tagging"))
            assert s.widget("bt_load_shards").proto.disabled
            actions.append(await s.click("bt_load_shards"))
            await s.goto(s.page("scenarios"))
            actions.append(await s.click("sc_save"))
            if not any("Type a name for the scenario" in t for t in s.texts):
                actions[-1].problems.append("an empty name's Save said nothing")
        async with session(signed_server, ADMIN) as s:
            await s.goto(s.page("settings"))
            await s.set_value("set_kind", "All saved scenarios")  # no model tagged here
            assert s.widget("set_reset").proto.disabled
            actions.append(await s.click("set_reset"))
            actions[-1].problems += [t for t in s.texts if "Nothing was reset" in t]
        return actions

    for action in run(attack()):
        assert not action.problems, (action.name, action.problems)
    assert peek(signed_server, count) == before


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, clock ticks


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_forged_date_list_costs_the_server_what_one_date_does(
    signed_server: SignedServer,
) -> None:
    """Measured, then bounded: the sidebar's "From" date sent as a list of 400,000 dates
    (a 4.8 MB message). Streamlit parses every entry (``datetime.strptime``) when the
    session's next run starts, before any page code runs, with the widget's metadata of
    the run before (``SessionState._widget_changed``). ``dashboard.widget_bounds`` makes a
    date input's list of more than two entries count as no value (Streamlit's own answer to
    an unparseable date: the default). Figures (not asserted): the server's CPU ticks and
    resident memory around the run, one date before and after as the control; before the
    bound, 2.53 s of CPU and +25 MB resident for the forged list, 0.19 s for one date."""
    pid = signed_server.server.proc.pid

    async def attack() -> dict[str, tuple[int, int, list[str]]]:
        seen = {}
        async with session(signed_server, VIEWER) as s:
            w = s.widget("from")
            for name, count in (("one date", 1), ("forged list", DATES), ("one again", 1)):
                state = WidgetState(id=w.id)
                state.string_array_value.data.extend(["2025-01-01"] * count)
                s.values[w.id] = state
                ticks, rss = _cpu_ticks(pid), _rss_kib(pid)
                action = await s.run(name)
                seen[name] = (_cpu_ticks(pid) - ticks, _rss_kib(pid) - rss, action.problems)
        return seen

    seen = run(attack())
    for name, (ticks, rss, problems) in seen.items():
        assert not problems, (name, problems)
        record_figure(f"round18_date_list_{name.replace(' ', '_')}_cpu_ticks", ticks)
        record_figure(f"round18_date_list_{name.replace(' ', '_')}_rss_kib", rss)
    assert seen["forged list"][1] < 64 * 1024, seen  # KiB held after the run


def test_a_forged_date_list_is_parsed_at_most_twice_an_input(
    secured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: a date input's value is parsed entry by entry at most for the two entries
    a date range has, whatever the message holds.

    Broke: a forged list of 400,000 dates for Overview's "From" was parsed whole
    (``DateInputSerde._parse_date``: 400,001 calls in the run) when the run started,
    before any check of ours could see it; on the real server 2.5 s of a core for one
    4.8 MB message (about 13 times what the same run costs with one date), any viewer, as
    often as the session sends it."""
    from streamlit.elements.widgets.time_widgets import DateInputSerde

    calls = [0]
    real = DateInputSerde._parse_date

    def counted(value: str) -> Any:
        calls[0] += 1
        return real(value)

    monkeypatch.setattr(DateInputSerde, "_parse_date", staticmethod(counted))
    at = open_page(APP_VIEWER, "views/overview.py")
    widget = next(n for n in at._tree if isinstance(n, Widget) and n.key == "from")
    forged = WidgetState(id=widget.id)
    forged.string_array_value.data.extend(["2025-01-01"] * DATES)
    calls[0] = 0
    at._run(forged_states(at, [], 0, (forged,)))
    assert not run_problems(at), run_problems(at)
    assert calls[0] <= 8, f"{calls[0]:,} dates parsed"


def _peak_reset(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS (Linux)


def _kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field}")


#: Added rows of the forged data editor state (about 20 MB of JSON).
EDITOR_ROWS = 1_400_000


def forged_editor_json(rows: int = EDITOR_ROWS) -> str:
    return (
        '{"edited_rows": {}, "deleted_rows": [], "added_rows": ['
        + ",".join(['{"name": "x"}'] * rows)
        + "]}"
    )


def test_a_forged_data_editor_state_of_megabytes_is_never_parsed(
    signed_server: SignedServer,
) -> None:
    """Expected: a data editor's state of megabytes (a million tiny added rows) costs the
    server about its own size, not the Python objects of its rows; the page says nothing
    went wrong.

    Broke: Streamlit parses the state whole (``json.loads``) when the session's next run
    starts, before ``ui.drop_oversized_edits`` can drop it: a 19.6 MB state of 1.4 million
    ``{"name": "x"}`` rows took the server's peak memory up by 312 MiB (``VmHWM``, reset
    before the run), any viewer, on Price war's competitor table; ten such sessions at
    once, 3 GB."""
    pid = signed_server.server.proc.pid
    text = forged_editor_json()

    async def attack() -> tuple[int, Any]:
        async with session(signed_server, VIEWER) as s:
            await s.goto(s.page("price-war"))
            w = s.widget(r"pw_comp_\d+")
            s.values[w.id] = WidgetState(id=w.id, string_value=text)
            _peak_reset(pid)
            before = _kib(pid, "VmRSS")
            action = await s.run("forged editor state", fragment_id=w.fragment_id)
            return _kib(pid, "VmHWM") - before, action

    peak, action = run(attack())
    record_figure("round18_forged_editor_state_mb", round(len(text) / 1e6, 1))
    record_figure("round18_forged_editor_state_peak_growth_mib", round(peak / 1024))
    assert not action.problems, action.problems
    # the message itself, its parse and its text stay (68 MiB measured with the bound)
    assert peak < 6 * len(text) / 1024, f"peak +{peak / 1024:.0f} MiB for {len(text) / 1e6:.1f} MB"


def test_a_forged_data_editor_state_is_parsed_only_when_it_is_small(
    secured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: Streamlit's data editor parses at most ``MAX_EDITOR_STATE_CHARS`` of a
    state's JSON; a state that is not an editor's (a list, 100,000 nested brackets, a row
    named "x") is no edit, not a failed run.

    Broke: the whole state was parsed (``json.loads`` of 20 MB) before any page code ran,
    and a state that is not an object stopped the sender's page runs."""
    from streamlit.elements.widgets import data_editor

    from dashboard.widget_bounds import MAX_EDITOR_STATE_CHARS

    parsed: list[int] = []
    real_json = data_editor.json

    def loads(text: str, *args: Any, **kwargs: Any) -> Any:
        parsed.append(len(text))
        return real_json.loads(text, *args, **kwargs)

    monkeypatch.setattr(
        data_editor, "json", types.SimpleNamespace(loads=loads, dumps=real_json.dumps)
    )
    at = open_page(APP_ANALYST, "views/price_war.py")
    table = next(t for t in at.data_editor if t.proto.id)
    for value in (forged_editor_json(), "[1]", "[" * 100_000, '{"edited_rows": {"x": {}}}'):
        parsed.clear()
        forged = WidgetState(id=table.proto.id, string_value=value)
        at._run(forged_states(at, [], 0, (forged,)))
        assert not run_problems(at), (value[:30], run_problems(at))
        assert sum(parsed) <= 2 * MAX_EDITOR_STATE_CHARS, (value[:30], sum(parsed))


# -- a fresh server, before its first page run ------------------------------------------------


@contextlib.contextmanager
def serving(script: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``signed(...)`` below starts ``streamlit run <script>`` instead of
    ``dashboard/app.py`` (``bench.streamlit_server`` names the script itself)."""
    import subprocess

    import bench.streamlit_server as launcher

    def popen(args: list[str], *rest: Any, **kwargs: Any) -> subprocess.Popen:
        args = [script if a == "dashboard/app.py" else a for a in args]
        return subprocess.Popen(args, *rest, **kwargs)

    shim = types.SimpleNamespace(
        Popen=popen, STDOUT=subprocess.STDOUT, TimeoutExpired=subprocess.TimeoutExpired
    )
    monkeypatch.setattr(launcher, "subprocess", shim)
    yield


def test_uploads_sent_to_a_fresh_server_before_any_page_ran_are_refused(
    tmp_path: Path, demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: on a server started with ``streamlit run dashboard/serve.py``, a visitor who
    never signed in and never asked for a page, on a server where no page has run yet, is
    refused (403) and nothing is held; the app then serves its pages, sign-in and uploads
    as with ``dashboard/app.py``.

    Broke (round 16's note, still so with ``dashboard/app.py``): ``streamlit run`` runs no
    project code until a page runs, so until the first page run the upload endpoint kept
    every file for any open websocket (2 × 5 MiB held in round 16's test; nothing bounds
    their number, so a visitor could fill the memory before anyone opened a page). No
    setting of ``.streamlit/config.toml`` runs code or bounds the count
    (``server.maxUploadSize`` bounds one file)."""
    from tests.reliability.test_attacks_round16 import SMALL, held_upload_bytes, put_files

    async def attack(server: SignedServer) -> tuple[list[str], int, Any]:
        visitor = LightSession(server.url, timeout=180)  # not signed in, no page run
        await visitor.connect()
        try:
            refused = [r for _, r in await put_files(visitor, 3, SMALL)]  # see SMALL
        finally:
            await visitor.close()
        held = held_upload_bytes(server)
        async with session(server, ANALYST) as analyst:
            await analyst.goto(analyst.page("batch-tagging"))
            imported = await analyst.upload_and_submit(
                "bt_files", "bt_import", "round18-serve.csv", b"text\nKimi cut its prices\n"
            )
        return refused, held, imported

    with serving("dashboard/serve.py", monkeypatch), signed(tmp_path, demo_db) as server:
        refused, held, imported = run(attack(server))
        tickets = peek(server, "SELECT count(*) FROM tickets WHERE source = 'round18-serve.csv'")
    assert len(refused) == 3 and all("403" in r for r in refused), refused
    assert held == 0, f"{held:,} bytes held before the first page run"
    assert not imported.problems, imported.problems
    assert tickets == 1
