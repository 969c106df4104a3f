"""Bounds on the work Streamlit does with a session's widget values before a page runs.

When a session's next run starts, Streamlit deserialises the value the session sent for
every widget its run before drew, with that widget's own deserialiser, before any page
code runs (``SessionState._widget_changed``, to find the callbacks to call), and again
when the page draws the widget. A date input's deserialiser parses every entry of the list
it is sent (``DateInputSerde._parse_date``: ``datetime.strptime``), and the session decides
how long that list is: a forged list of 400,000 dates for the sidebar's "From" (a 4.8 MB
message, under ``server.maxWidgetStateSize``'s 25 MB) was parsed whole before any code of
ours could see it: 2.5 s of a core per message on a real server, for any signed-in viewer,
as often as the session sends it. A data editor's deserialiser parses the JSON of its
edits whole (``DataEditorSerde``: ``json.loads``) before the page can drop edits that are
too many (``ui.drop_oversized_edits``): a forged 19.6 MB state of 1.4 million tiny added
rows took the server's peak memory up by 312 MiB; JSON that is not an editor's state
failed the sender's runs (round 18 of #12). A multiselect's deserialiser looks every entry
of its list up among the options (``MultiSelectSerde``: ``list.index``), multi-choice pills'
likewise: a forged list of 2,000,000 made-up names (a 6 MB message) took 0.74 s of a core per
parse, twice a run, before ``ui.chosen_options`` could drop them (round 19). A number
input's deserialiser calls ``int`` on the value sent: NaN or an infinity raised there
(``NumberInputSerde``), before any page code, at every run of the sender's session; and a
data editor's edits naming a row or a column the table does not have (row 1,000,000,000,
row -1, a made-up column) raised inside ``st.data_editor`` (``df.iat``, ``df.drop``,
``columns.get_loc``): "Something went wrong" in place of the page. And Streamlit hands a
widget's deserialiser whichever field of the widget message the session set (a number for a
selectbox, a text for a date input…), then records that field as the widget's: 22 widgets
of the seven pages failed the sender's runs so (round 20).

:func:`install` (once per process, from the first page run: no widget has a deserialiser
before a page has drawn it) bounds both before they parse: a date input's list of more than
:data:`MAX_DATE_ENTRIES` entries, a multiselect's or multi-choice pills' list of more
entries than the widget has options and than :data:`MAX_CHOICE_ENTRIES`, and a data
editor's state of more than :data:`MAX_EDITOR_STATE_CHARS` characters (or not an editor's
state), count as no value sent: the widget keeps its default (no edits), as Streamlit
does itself for a date it cannot parse, and the next full run says so (:data:`OVERSIZED_NOTE`,
or :data:`WRONG_KIND_NOTE` for what is not an editor's state; round 21: the dropped edits
were only logged). So does a value sent in a field of the
widget message that does not :func:`fits` the widget's, or not of the kind its deserialiser
takes (:func:`of_kind`), and a number input's value that is not a number (or, for whole
numbers, not finite: :func:`bounded_number`), each with a note (:func:`take_notes`, shown
by ``app.py`` on the next full run); a data editor's edits of rows or columns its table does
not have are dropped before Streamlit applies the rest, with a warning above the table
(:func:`existing_edits`).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import threading
from collections.abc import Callable, Container, Sequence
from typing import Any

log = logging.getLogger("dashboard.widget_bounds")

#: The most entries a date input's value has (a range: start and end).
MAX_DATE_ENTRIES = 2
#: The most entries a multi-choice widget's value is parsed with when it has fewer options
#: (a browser sends each chosen option once; Streamlit reads at most 1,000 values of a page
#: address too).
MAX_CHOICE_ENTRIES = 1_000
#: The longest data editor state parsed (the app's tables hold a few dozen rows: edits of
#: all of them, ``ui.MAX_EDITOR_CHANGES`` rows at 200 characters a cell, stay far below).
MAX_EDITOR_STATE_CHARS = 1 << 20
#: The most digits of a row number in a data editor's edits (``int`` refuses over 4,300).
MAX_ROW_DIGITS = 18
#: The note shown when a widget was sent a value of another kind than it takes.
WRONG_KIND_NOTE = (
    "A value sent for an input was not of its kind (a number for a text, a text for a "
    "list…): it was ignored and the input set back to its default."
)
#: The note shown when a whole-number input was sent something that is not a number.
NOT_A_NUMBER_NOTE = (
    "A value sent for a number input was not a number it can take (NaN or an infinity for "
    "a whole number, or not a number at all): it was ignored and the input set back to its "
    "default."
)
#: The note shown when a date, multi-choice or data editor value was too large to parse
#: (round 21: it was dropped with a log line only, so a table's edits vanished unexplained).
OVERSIZED_NOTE = (
    "A value sent for an input was larger than any it takes (more dates or choices than it "
    "has, or more table edits than it can hold): it was ignored and the input set back to "
    "its default."
)
_MARK = "_pricewar_bounded"
_lock = threading.Lock()
#: Notes of this script thread's runs (the widget values are read in the script's thread,
#: before the page runs), taken and shown by ``app.py``: a set, so repeats count once.
_notes = threading.local()


def bounded_dates(ui_value: Any) -> Any:
    """``ui_value`` (a date input's list of ISO dates, as the session sent it), or None when
    it has more than :data:`MAX_DATE_ENTRIES` entries (no value sent).

    Example:
        >>> bounded_dates(["2025-01-01", "2025-02-01"])
        ['2025-01-01', '2025-02-01']
        >>> bounded_dates(["2025-01-01"] * 3) is None
        True
    """
    if ui_value is not None and len(ui_value) > MAX_DATE_ENTRIES:
        log.warning("a date input was sent %s values: ignored", f"{len(ui_value):,}")
        _note(OVERSIZED_NOTE)
        return None
    return ui_value


def bounded_choices(ui_value: Any, options: int) -> Any:
    """``ui_value`` (a multiselect's or multi-choice pills' list of chosen option labels, as
    the session sent it), or None when it has more entries than the widget's ``options``
    and than :data:`MAX_CHOICE_ENTRIES` (no value sent).

    Example:
        >>> bounded_choices(["smb", "enterprise"], 3)
        ['smb', 'enterprise']
        >>> bounded_choices(["smb"] * 1_001, 3) is None
        True
    """
    if ui_value is not None and len(ui_value) > max(options, MAX_CHOICE_ENTRIES):
        log.warning("a multi-choice widget was sent %s values: ignored", f"{len(ui_value):,}")
        _note(OVERSIZED_NOTE)
        return None
    return ui_value


def bounded_editor_state(ui_value: Any) -> Any:
    """``ui_value`` (a data editor's state, JSON text, as the session sent it), or None (no
    edits) when it is longer than :data:`MAX_EDITOR_STATE_CHARS` or not an editor's state:
    a JSON object with ``edited_rows`` (row number → object of cells), ``added_rows``
    (objects) and ``deleted_rows`` (row numbers), each optional.

    Example:
        >>> bounded_editor_state('{"edited_rows": {"0": {"price": 1.5}}}')
        '{"edited_rows": {"0": {"price": 1.5}}}'
        >>> [bounded_editor_state(v) for v in ("[1]", '{"edited_rows": {"x": {}}}', "[" * 9)]
        [None, None, None]
    """
    if not isinstance(ui_value, str):
        return ui_value
    if len(ui_value) > MAX_EDITOR_STATE_CHARS:
        log.warning("a data editor was sent %s characters of edits: ignored", f"{len(ui_value):,}")
        _note(OVERSIZED_NOTE)
        return None
    try:
        if not _is_editor_state(json.loads(ui_value)):
            raise ValueError("not an editor's state")
    except (ValueError, RecursionError):
        log.warning("a data editor was sent a value that is not an editor's state: ignored")
        _note(WRONG_KIND_NOTE)
        return None
    return ui_value


def bounded_number(ui_value: Any, whole: bool) -> Any:
    """``ui_value`` (a number input's value, as the session sent it), or None (no value: the
    input's default) when it is not a number (a forged text or list, which Streamlit's
    checks cannot compare), or when the input takes whole numbers and ``ui_value`` is NaN
    or an infinity, which Streamlit's ``int`` cannot convert (a note is kept for the page).

    Example:
        >>> bounded_number(5.0, True), bounded_number(float("nan"), False)
        (5.0, nan)
        >>> [bounded_number(v, True) for v in (float("nan"), float("-inf"), "7", [1], True)]
        [None, None, None, None, None]
    """
    if ui_value is None:
        return None
    if not _number(ui_value) or (whole and not math.isfinite(ui_value)):
        log.warning("a number input was sent %s: ignored", repr(ui_value)[:40])
        _note(NOT_A_NUMBER_NOTE)
        return None
    return ui_value


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _all(values: Any, ok: Callable[[Any], bool]) -> bool:
    """Whether every entry of ``values`` is ``ok``: all of a list (JSON parsed: any mix), the
    first of a protobuf array (one type throughout)."""
    if isinstance(values, list):
        return all(ok(v) for v in values)
    return not len(values) or ok(values[0])


def of_kind(ui_value: Any, kind: str) -> Any:
    """``ui_value`` (a widget's value as the session sent it, in whichever field of the
    message it chose), or None (no value: the widget's default, with a note) when it is not
    of ``kind``: ``"text"`` (a string), ``"texts"`` (a list of strings), ``"numbers"`` (a
    list of finite numbers; a list of more than two is left to Streamlit, which resets it)
    or ``"files"`` (an uploader's state).

    Example:
        >>> of_kind("smb", "text"), of_kind(["a", "b"], "texts"), of_kind([0.5], "numbers")
        ('smb', ['a', 'b'], [0.5])
        >>> [of_kind(v, k) for v, k in ((5, "text"), ("ab", "texts"), ([1, "a"], "texts"))]
        [None, None, None]
        >>> of_kind([float("nan")], "numbers") is None, of_kind("x", "files") is None
        (True, True)
    """
    if ui_value is None:
        return None
    if kind == "text":
        ok = isinstance(ui_value, str)
    elif kind == "files":
        from streamlit.proto.Common_pb2 import FileUploaderState

        ok = isinstance(ui_value, FileUploaderState)
    else:
        ok = isinstance(ui_value, Sequence) and not isinstance(ui_value, str | bytes)
        if ok and kind == "texts":
            ok = _all(ui_value, lambda v: isinstance(v, str))
        elif ok and len(ui_value) <= 2:
            ok = all(_number(v) and math.isfinite(v) for v in ui_value)
    if not ok:
        log.warning("a widget was sent a value of another kind: %s", repr(ui_value)[:40])
        _note(WRONG_KIND_NOTE)
        return None
    return ui_value


def _note(text: str) -> None:
    notes = getattr(_notes, "notes", None)
    if notes is None:
        notes = _notes.notes = set()
    notes.add(text)


def take_notes() -> list[str]:
    """The notes on ignored widget values kept by this thread's runs since the last call
    (each once, sorted); cleared."""
    notes = sorted(getattr(_notes, "notes", None) or ())
    _notes.notes = set()
    return notes


def existing_edits(state: Any, rows: int, columns: Container[Any]) -> tuple[dict[str, Any], int]:
    """A data editor's deserialised edits ``state`` with only what its table has: edited and
    deleted rows at positions ``0 … rows - 1``, cells of ``columns``; and how many edits
    (rows named, cells) were dropped.

    Example:
        >>> state = {"edited_rows": {0: {"a": 1, "zz": 2}, 7: {"a": 3}, -1: {"a": 4}},
        ...          "added_rows": [{"a": 5, "zz": 6}], "deleted_rows": [1, 10**9, -1]}
        >>> existing_edits(state, 2, {"a"})
        ({'edited_rows': {0: {'a': 1}}, 'added_rows': [{'a': 5}], 'deleted_rows': [1]}, 6)
    """
    dropped = 0

    def here(row: Any) -> bool:
        nonlocal dropped
        ok = isinstance(row, int) and not isinstance(row, bool) and 0 <= row < rows
        dropped += not ok
        return ok

    def cells(values: dict[Any, Any]) -> dict[Any, Any]:
        nonlocal dropped
        kept = {k: v for k, v in values.items() if isinstance(k, str) and k in columns}
        dropped += len(values) - len(kept)
        return kept

    edited = {r: cells(v) for r, v in (state.get("edited_rows") or {}).items() if here(r)}
    deleted = [r for r in state.get("deleted_rows") or () if here(r)]
    added = [cells(r) for r in state.get("added_rows") or ()]
    return {"edited_rows": edited, "added_rows": added, "deleted_rows": deleted}, dropped


def _is_editor_state(state: Any) -> bool:
    if not isinstance(state, dict):
        return False
    edited = state.get("edited_rows") or {}
    added = state.get("added_rows") or []
    deleted = state.get("deleted_rows") or []
    return (
        isinstance(edited, dict)
        and all(
            k.lstrip("-").isdigit() and len(k) <= MAX_ROW_DIGITS and isinstance(v, dict)
            for k, v in edited.items()
        )
        and isinstance(added, list)
        and all(isinstance(r, dict) for r in added)
        and isinstance(deleted, list)
        and all(isinstance(r, int) and not isinstance(r, bool) for r in deleted)
    )


def _wrap(cls: Any, bound: Callable[[Any, Any], Any]) -> bool:
    """Make ``cls.deserialize`` pass its value through ``bound(serde, value)`` first; False
    if done."""
    original = cls.deserialize
    if getattr(original, _MARK, False):
        return False

    @functools.wraps(original)
    def deserialize(self: Any, ui_value: Any) -> Any:
        return original(self, bound(self, ui_value))

    setattr(deserialize, _MARK, True)
    cls.deserialize = deserialize
    return True


def _choices(serde: Any, ui_value: Any) -> Any:
    return bounded_choices(ui_value, len(getattr(serde, "options", ()) or ()))


def _number_bound(serde: Any, ui_value: Any) -> Any:
    from streamlit.proto.NumberInput_pb2 import NumberInput

    return bounded_number(ui_value, getattr(serde, "data_type", None) == NumberInput.INT)


def _wrap_apply_edits(module: Any) -> bool:
    """Make ``module._apply_dataframe_edits`` (``st.data_editor``'s) apply only the edits of
    rows and columns its table has, with a warning when some were dropped; False if done."""
    from streamlit.elements.lib.column_config_utils import INDEX_IDENTIFIER

    original = module._apply_dataframe_edits
    if getattr(original, _MARK, False):
        return False

    @functools.wraps(original)
    def apply(df: Any, state: Any, schema: Any) -> Any:
        columns = {str(c) for c in df.columns if str(c) in schema} | {INDEX_IDENTIFIER}
        kept, dropped = existing_edits(state, len(df), columns)
        if dropped:
            import streamlit as st

            log.warning("a data editor was sent %d edits of rows or columns it lacks", dropped)
            edits = "1 edit" if dropped == 1 else f"{dropped:,} edits"
            st.warning(
                f"{edits} of the table below named rows or columns it does not have: not used.",
                icon=":material/table_rows:",
            )
        return original(df, kept, schema)

    setattr(apply, _MARK, True)
    module._apply_dataframe_edits = apply
    return True


#: What each of Streamlit's widget deserialisers takes (:func:`of_kind`): anything else,
#: sent in another field of the widget message, counts as no value sent.
KINDS = {
    "selectbox.SelectboxSerde": "text",
    "radio.RadioSerde": "text",
    "text_widgets.TextInputSerde": "text",
    "text_widgets.TextAreaSerde": "text",
    "color_picker.ColorPickerSerde": "text",
    "data_editor.DataEditorSerde": "text",
    "multiselect.MultiSelectSerde": "texts",
    "button_group._MultiSelectButtonGroupSerde": "texts",
    "button_group._SingleSelectButtonGroupSerde": "texts",
    "select_slider.SelectSliderSerde": "texts",
    "time_widgets.DateInputSerde": "texts",
    "slider.SliderSerde": "numbers",
    "file_uploader.FileUploaderSerde": "files",
}


#: Fields of the widget message that stand for one another (a whole-number input registers
#: ``double_value`` and its browser sends ``int_value``; Streamlit then records the field).
_SAME_FIELDS = ({"double_value", "int_value"}, {"double_array_value", "int_array_value"})


def fits(sent: str | None, registered: str | None) -> bool:
    """Whether a value sent in the widget message's field ``sent`` fits a widget registered
    with the field ``registered`` (unknown, or ``json_value``, which a custom component's
    browser side may send in any field: yes).

    Example:
        >>> fits("int_value", "double_value"), fits("string_value", "string_value")
        (True, True)
        >>> fits("string_value", "string_array_value"), fits("json_value", "string_value")
        (False, False)
    """
    if sent is None or registered in {None, "json_value"} or sent == registered:
        return True
    return any(sent in same and registered in same for same in _SAME_FIELDS)


def _unfit(states: Any, widget_id: str, registered: str | None) -> bool:
    """Whether ``states`` (Streamlit's ``WStates``) holds for ``widget_id`` a value as sent
    in a field other than ``registered``."""
    from streamlit.runtime.state.session_state import Serialized

    held = states.states.get(widget_id)
    if not isinstance(held, Serialized):
        return False
    sent = held.value.WhichOneof("value")
    if fits(sent, registered):
        return False
    log.warning("a widget registered for %s was sent %s: ignored", registered, sent)
    _note(WRONG_KIND_NOTE)
    return True


def _wrap_fields() -> bool:
    """Drop, as not sent, a widget value sent in another field of the widget message than
    the widget takes: when it arrives for a widget the session's last run drew, and when a
    widget is drawn; False if done.

    Streamlit deserialises the field the message sets, whatever the widget, and then records
    that field as the widget's (``WStates.__getitem__``): a date input sent a text made the
    widget's value unwritable for the rest of the run (``setattr`` of a list into
    ``string_value``: ``TypeError``), before any check of ours could reset it."""
    from streamlit.runtime.state.session_state import SessionState, WStates

    original_set = WStates.set_widget_from_proto
    original_register = SessionState.register_widget
    if getattr(original_set, _MARK, False):
        return False

    @functools.wraps(original_set)
    def set_widget_from_proto(self: Any, widget_state: Any) -> None:
        meta = self.widget_metadata.get(widget_state.id)
        sent = widget_state.WhichOneof("value")
        if meta is not None and not fits(sent, meta.value_type):
            log.warning("a widget registered for %s was sent %s: ignored", meta.value_type, sent)
            _note(WRONG_KIND_NOTE)
            return
        original_set(self, widget_state)

    @functools.wraps(original_register)
    def register_widget(self: Any, metadata: Any, user_key: str | None) -> Any:
        if _unfit(self._new_widget_state, metadata.id, metadata.value_type):
            del self._new_widget_state.states[metadata.id]
        return original_register(self, metadata, user_key)

    for fn in (set_widget_from_proto, register_widget):
        setattr(fn, _MARK, True)
    WStates.set_widget_from_proto = set_widget_from_proto
    SessionState.register_widget = register_widget
    return True


def _bound(name: str, kind: str) -> Callable[[Any, Any], Any]:
    """The bound of the deserialiser ``name``: its kind first, then its own bound."""
    short = name.rsplit(".", 1)[-1]

    def bound(serde: Any, value: Any) -> Any:
        value = of_kind(value, kind)
        if short == "DateInputSerde":
            return bounded_dates(value)
        if short == "DataEditorSerde":
            return bounded_editor_state(value)
        if short in {"MultiSelectSerde", "_MultiSelectButtonGroupSerde"}:
            return _choices(serde, value)
        return value

    return bound


def install() -> bool:
    """Bound Streamlit's widget deserialisers (:data:`KINDS`: the kind of value each takes;
    dates, multi-choice lists and editor states by size; number inputs) and the data
    editor's edits, once per process; True when done now."""
    import importlib

    from streamlit.elements.widgets import data_editor
    from streamlit.elements.widgets.number_input import NumberInputSerde

    with _lock:
        done = False
        for name, kind in KINDS.items():
            module, cls = name.rsplit(".", 1)
            serde = getattr(
                importlib.import_module(f"streamlit.elements.widgets.{module}"), cls, None
            )
            if serde is not None:
                done = _wrap(serde, _bound(name, kind)) or done
        done = _wrap(NumberInputSerde, _number_bound) or done
        done = _wrap_fields() or done
        done = _wrap_apply_edits(data_editor) or done
    if done:
        log.info(
            "widget values are checked for their kind; date inputs take at most %d values, "
            "multi-choice widgets %s (or their options), data editors %s characters of edits",
            MAX_DATE_ENTRIES,
            f"{MAX_CHOICE_ENTRIES:,}",
            f"{MAX_EDITOR_STATE_CHARS:,}",
        )
    return done
