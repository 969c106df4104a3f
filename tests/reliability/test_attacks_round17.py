"""Round 17 of the hostile-user attacks (#12): a fuzzer of forged widget values.

Rounds 15 and 16 found, one widget at a time, that Streamlit takes whatever value a session
sends for a widget id (a list repeating one option 400,000 times, names outside the options,
1 MB strings, NaN, edits of read-only table columns). This round closes the class: for every
page and every role that may open it (viewer, analyst, admin), the fuzzer opens the page
under AppTest, enumerates every widget the page drew, and sends each a hostile value of its
kind through Streamlit's own ``WidgetStates`` message (the path a websocket message takes on
the server: the same deserialisation, no AppTest checks in between). For each page run it
asserts:

- the run ends without an exception element or the generic "Something went wrong" box;
- bounded work, counted, never timed: no SQL parameter list longer than
  :data:`MAX_PARAM_LIST`, at most :data:`MAX_PARAM_BYTES` of SQL parameters in all and at
  most :data:`MAX_MASK_CALLS` calls of ``ui.mask_text`` in one run;
- the store is unchanged (no button is pressed: a forged value alone must never write).

The hostile values come in :data:`ROUNDS` rounds; in each, every widget the page drew gets
its round's value at once (one page run a round, so 23 page/role pairs fit the time budget).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.elements.widgets import data_editor
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import (
    ButtonGroup,
    Dataframe,
    DateInput,
    Multiselect,
    NumberInput,
    Radio,
    Selectbox,
    TextArea,
    TextInput,
    Toggle,
    Widget,
)

from tests.dashboard.conftest import app_db, secured  # noqa: F401 - fixtures
from tests.dashboard.signin import ADMIN, ANALYST, VIEWER, app_as

#: Longest list of values one SQL statement may get from a page run (the largest option
#: list of the demo store is far below; a forged 100,000-entry list must never get through).
MAX_PARAM_LIST = 1_000
#: SQL parameter bytes of one page run, all statements together (a forged 1 MB string must
#: never reach a query).
MAX_PARAM_BYTES = 64 * 1024
#: ``ui.mask_text`` calls of one page run (the demo pages mask a few hundred values).
MAX_MASK_CALLS = 5_000
#: Rows Streamlit may add to a data editor's frame in one page run (``_assign_row_values``
#: calls: one ``df.loc`` append each, quadratic in the rows sent).
MAX_ROWS_ADDED = 200
#: How many copies of one option a forged multiselect sends.
REPEATS = 100_000
#: How many made-up names a forged multiselect sends.
MADE_UP = 10_000
MB = 1 << 20
GENERIC_ERROR = "Something went wrong"
#: Control, bidirectional and zero-width characters, and a NUL.
CONTROL_TEXT = "\x00\x1b[31m\u202eevil\u2066\u200b\r\n\t" * 64

VIEWER_PAGES = [
    "views/overview.py",
    "views/entities.py",
    "views/signals.py",
    "views/batch_tagging.py",
    "views/pricing.py",
    "views/price_war.py",
    "views/scenarios.py",
]
ADMIN_PAGES = ["views/audit.py", "views/settings.py"]
CASES = [
    pytest.param(email, page, id=f"{email.split('@')[0]}-{page.split('/')[1][:-3]}")
    for email, pages in (
        (VIEWER, VIEWER_PAGES),
        (ANALYST, VIEWER_PAGES),
        (ADMIN, VIEWER_PAGES + ADMIN_PAGES),
    )
    for page in pages
]
#: The sidebar filters are the same widgets on every page: fuzzed on the Overview page only.
SIDEBAR_KEYS = ("from", "to", "segment", "plan", "region")


# -- what a page run does --------------------------------------------------------------


class Work:
    """What the page runs asked of the store and of the masking, counted."""

    def __init__(self) -> None:
        self.statements = 0
        self.longest_list = 0
        self.param_bytes = 0
        self.mask_calls = 0
        self.rows_added = 0

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]

    def record(self, params: Any) -> None:
        self.statements += 1
        for value in _flat(params):
            if isinstance(value, list | tuple):
                self.longest_list = max(self.longest_list, len(value))
                self.param_bytes += sum(len(str(v)) for v in value)
            else:
                self.param_bytes += len(str(value))

    def problems(self) -> list[str]:
        out = []
        if self.longest_list > MAX_PARAM_LIST:
            out.append(f"a SQL parameter list of {self.longest_list:,}")
        if self.param_bytes > MAX_PARAM_BYTES:
            out.append(f"{self.param_bytes:,} bytes of SQL parameters")
        if self.mask_calls > MAX_MASK_CALLS:
            out.append(f"{self.mask_calls:,} mask_text calls")
        if self.rows_added > MAX_ROWS_ADDED:
            out.append(f"{self.rows_added:,} rows added to a data editor's frame")
        return out


def _flat(params: Any) -> list[Any]:
    if params is None:
        return []
    if isinstance(params, dict):
        return list(params.values())
    return list(params)


class RecordingCursor:
    """A DuckDB cursor whose ``execute`` counts its parameters into a :class:`Work`."""

    def __init__(self, cursor: Any, work: Work) -> None:
        self._cursor = cursor
        self._work = work

    def execute(self, sql: str, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        self._work.record(params)
        return self._cursor.execute(sql, params, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    def __enter__(self) -> RecordingCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self._cursor.close()


@pytest.fixture
def work(monkeypatch: pytest.MonkeyPatch) -> Work:
    """Every read cursor of the store and every ``ui.mask_text`` call counted."""
    from dashboard import ui, viewer_masking
    from data.store import Store

    counted = Work()
    real_cursor = Store.cursor
    monkeypatch.setattr(
        Store, "cursor", lambda self: RecordingCursor(real_cursor(self), counted), raising=True
    )
    real_mask = viewer_masking.mask_text

    def mask(text: str) -> str:
        counted.mask_calls += 1
        return real_mask(text)

    monkeypatch.setattr(viewer_masking, "mask_text", mask)  # the masking module's own calls
    monkeypatch.setattr(ui, "mask_text", mask)  # the pages' ``ui.mask_text`` calls
    real_assign = data_editor._assign_row_values

    def assign(*args: Any, **kwargs: Any) -> Any:
        counted.rows_added += 1
        return real_assign(*args, **kwargs)

    monkeypatch.setattr(data_editor, "_assign_row_values", assign)
    return counted


def store_fingerprint() -> dict[str, tuple[int, str]]:
    """Row count and content checksum of every table, through the app's own store (the
    file is open read-write in this process, so it cannot be opened again)."""
    from dashboard import state

    store = state.store()
    out = {}
    tables = [
        r[0]
        for r in store.fetchall(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        )
    ]
    for table in tables:
        if table in ("audit_log", "tagging_runs"):  # sign-in rows, page timings
            continue
        n, digest = store.fetchall(
            f"SELECT count(*), md5(coalesce(string_agg(md5(CAST(t AS VARCHAR)), '' ORDER BY "
            f"md5(CAST(t AS VARCHAR))), '')) FROM \"{table}\" t"
        )[0]
        out[table] = (int(n), str(digest))
    return out


# -- hostile values ----------------------------------------------------------------------


def _options(widget: Any) -> list[str]:
    return [str(o) for o in getattr(widget, "options", [])]


def _multiselect_values(widget: Any, round_: int) -> list[str]:
    options = _options(widget) or ["x"]
    if round_ == 0:
        return [options[0]] * REPEATS
    if round_ == 1:
        return [f"made-up name {i}" for i in range(MADE_UP)]
    return [options[-1], "\u202e" + options[0], "A" * MB]


def _text_value(round_: int) -> str:
    return ("A" * MB, CONTROL_TEXT, "")[round_]


def _number_state(ws: WidgetState, widget: NumberInput, round_: int) -> None:
    whole = widget.proto.data_type == widget.proto.INT
    hi = widget.max if widget.max is not None else 1e308
    lo = widget.min if widget.min is not None else -1e308
    if whole:  # Streamlit itself fails on NaN for a whole number (round 16): not sent
        ws.int_value = int((2**62, min(hi + 1, 2**62), max(lo - 1, -(2**62)))[round_])
        return
    ws.double_value = (math.nan, 1e308 if hi >= 1e308 else hi * 10 + 1, -0.0)[round_]
    if round_ == 2 and lo > 0:
        ws.double_value = -math.inf


def _date_values(widget: DateInput, round_: int) -> list[str]:
    if round_ == 0:
        return ["0001-01-01", "9999-12-31"] if widget.is_range else ["9999-12-31"]
    if round_ == 1:
        return ["0001-01-01"]
    hi, lo = widget.max.isoformat(), widget.min.isoformat()
    return [hi, lo] if widget.is_range else [hi, lo, hi]  # backwards; three for one date


def _editor_value(table: Dataframe, round_: int) -> str:
    frame = table.value
    columns = [str(c) for c in frame.columns]
    if round_ == 0:  # 10,000 added rows (short values: Streamlit refuses a widget state of
        # over 25 MB itself, `server.maxWidgetStateSize`, in the sender's session)
        added = [{c: "Z" * 20 for c in columns} for _ in range(10_000)]
        return json.dumps({"edited_rows": {}, "added_rows": added, "deleted_rows": []})
    if round_ == 1:  # every cell of the first row, read-only columns included
        edits = {"0": {c: "Z" * 5_000 for c in columns}}
        return json.dumps({"edited_rows": edits, "added_rows": [], "deleted_rows": [0]})
    edits = {str(i): {c: None for c in columns} for i in range(len(frame))}
    return json.dumps({"edited_rows": edits, "added_rows": [{}], "deleted_rows": []})


def forged_state(widget: Any, round_: int) -> WidgetState | None:
    """The hostile value of ``widget`` in round ``round_`` (None: its kind takes none)."""
    ws = WidgetState()
    ws.id = widget.id if not isinstance(widget, Dataframe) else widget.proto.id
    if isinstance(widget, Multiselect):
        ws.string_array_value.data[:] = _multiselect_values(widget, round_)
    elif isinstance(widget, ButtonGroup):
        ws.string_array_value.data[:] = _multiselect_values(widget, round_)[:REPEATS]
    elif isinstance(widget, Selectbox | Radio):
        ws.string_value = ("not an option " * 100, "A" * MB, "\u202e" + CONTROL_TEXT)[round_]
    elif isinstance(widget, TextInput | TextArea):
        ws.string_value = _text_value(round_)
    elif isinstance(widget, NumberInput):
        _number_state(ws, widget, round_)
    elif isinstance(widget, DateInput):
        ws.string_array_value.data[:] = _date_values(widget, round_)
    elif isinstance(widget, Dataframe):
        ws.string_value = _editor_value(widget, round_)
    else:
        return None
    return ws


ROUNDS = 3


# -- driving a page ----------------------------------------------------------------------


def open_page(email: str, page: str) -> AppTest:
    at = app_as(email)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    for toggle in at.toggle:  # open every optional section, so its widgets are drawn too
        toggle.set_value(True)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def fuzzed_widgets(at: AppTest, page: str) -> list[Any]:
    """Every widget of the page that takes a hostile value (the sidebar's on Overview only)."""
    found: list[Any] = []
    for node in at._tree:
        if not isinstance(node, Widget | Dataframe):
            continue
        key = getattr(node, "key", None) or ""
        if page != "views/overview.py" and key in SIDEBAR_KEYS:
            continue
        if isinstance(node, Toggle):
            continue
        if isinstance(node, Dataframe):
            if node.editing_mode != "read_only":
                found.append(node)
        elif forged_state(node, 2) is not None:
            found.append(node)
    return found


def forged_run(at: AppTest, base: WidgetStates, widgets: list[Any], round_: int) -> AppTest:
    """One page run with every widget of ``widgets`` sent its round's hostile value and the
    others the values of ``base``."""
    states = WidgetStates()
    forged = {ws.id: ws for ws in (forged_state(w, round_) for w in widgets) if ws is not None}
    for ws in base.widgets:
        states.widgets.append(forged.pop(ws.id, ws))
    states.widgets.extend(forged.values())
    return at._run(states)


def run_problems(at: AppTest) -> list[str]:
    out = [f"exception: {e.value}" for e in at.exception]
    out += [f"error: {e.value}" for e in at.error if GENERIC_ERROR in str(e.value)]
    return out


def describe(widgets: list[Any]) -> list[str]:
    return [
        f"{type(w).__name__}({getattr(w, 'key', None) or getattr(w, 'label', '')})" for w in widgets
    ]


@pytest.mark.parametrize(("email", "page"), CASES)
def test_forged_widget_values_are_bounded_and_change_nothing(
    secured: Path,
    work: Work,
    email: str,
    page: str,
) -> None:
    at = open_page(email, page)
    widgets = fuzzed_widgets(at, page)
    assert widgets, f"{page} drew no widget to fuzz"
    base = at._tree.get_widget_states()
    before = store_fingerprint()
    for round_ in range(ROUNDS):
        work.reset()
        forged_run(at, base, widgets, round_)
        where = f"{email} on {page}, round {round_}, widgets {describe(widgets)}"
        assert not run_problems(at), (where, run_problems(at))
        assert not work.problems(), (where, work.problems())
    assert store_fingerprint() == before, f"{email} on {page}: the store changed"


# -- the breaks the fuzzer found, one by one ---------------------------------------------


def _forge(at: AppTest, key: str, fill: Callable[[WidgetState], None]) -> AppTest:
    base = at._tree.get_widget_states()
    widget = next(n for n in at._tree if isinstance(n, Widget) and getattr(n, "key", None) == key)
    ws = WidgetState()
    ws.id = widget.id
    fill(ws)
    return forged_run_states(at, base, ws)


def forged_run_states(at: AppTest, base: WidgetStates, forged: WidgetState) -> AppTest:
    states = WidgetStates()
    states.widgets.extend(w for w in base.widgets if w.id != forged.id)
    states.widgets.append(forged)
    return at._run(states)


def test_forged_entity_types_reach_the_queries_once_each(secured: Path, work: Work) -> None:
    """Broke before round 17: the Entities page's "Entity types" pills sent one label
    100,000 times reached every query of the page as a 100,000-entry list."""
    at = open_page(VIEWER, "views/entities.py")
    work.reset()
    pills = next(n for n in at._tree if getattr(n, "key", None) == "ent_labels")
    shown = pills.options[0]  # the wire value is the option as shown ("Organisations"…)
    _forge(at, "ent_labels", lambda ws: ws.string_array_value.data.extend([shown] * REPEATS))
    assert not run_problems(at), run_problems(at)
    assert work.longest_list <= 4, work.longest_list  # one entry per entity type at most


def test_forged_audit_actions_reach_the_log_query_once_each(secured: Path, work: Work) -> None:
    """Broke before round 17: the Audit trail's "Actions" multiselect sent one action
    100,000 times reached ``audit.read_log``'s query whole."""
    at = open_page(ADMIN, "views/audit.py")
    actions = next(m for m in at.multiselect if m.key == "au_actions").options
    work.reset()
    _forge(at, "au_actions", lambda ws: ws.string_array_value.data.extend([actions[0]] * REPEATS))
    assert not run_problems(at), run_problems(at)
    assert work.longest_list <= len(actions), work.longest_list


def test_a_forged_edit_adding_thousands_of_rows_is_dropped_before_streamlit_applies_it(
    secured: Path, work: Work
) -> None:
    """Broke before round 17: 10,000 rows added to Price war's competitor table in one
    forged message (0.5 MB) were appended by ``st.data_editor`` one ``df.loc`` at a time
    (quadratic: the page run went on for minutes). 1,000 here: the edits are dropped, with
    a warning naming the table, before Streamlit applies them."""
    at = open_page(ANALYST, "views/price_war.py")
    table = next(t for t in at.data_editor if t.proto.id)
    rows = [{"name": f"r{i}", "price": 1.0, "share": 0.001} for i in range(1_000)]
    forged = WidgetState()
    forged.id = table.proto.id
    forged.string_value = json.dumps({"edited_rows": {}, "added_rows": rows, "deleted_rows": []})
    work.reset()
    forged_run_states(at, at._tree.get_widget_states(), forged)
    assert not run_problems(at), run_problems(at)
    assert work.rows_added == 0, work.rows_added
    notes = [str(w.value) for w in at.warning]
    assert any("competitor table" in n and "1,000 rows" in n for n in notes), notes


def test_chosen_options_keeps_each_option_once_and_nothing_else() -> None:
    from dashboard.ui import chosen_options

    assert chosen_options(["b", "a", "b", "zz"] * 50_000, ["a", "b", "c"]) == ["b", "a"]
    assert chosen_options(None, ["a"]) == []
