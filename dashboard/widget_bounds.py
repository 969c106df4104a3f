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
parse, twice a run, before ``ui.chosen_options`` could drop them (round 19).

:func:`install` (once per process, from the first page run: no widget has a deserialiser
before a page has drawn it) bounds both before they parse: a date input's list of more than
:data:`MAX_DATE_ENTRIES` entries, a multiselect's or multi-choice pills' list of more
entries than the widget has options and than :data:`MAX_CHOICE_ENTRIES`, and a data
editor's state of more than :data:`MAX_EDITOR_STATE_CHARS` characters (or not an editor's
state), count as no value sent: the widget keeps its value or default (no edits), as Streamlit does itself for a date
it cannot parse.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable
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
_MARK = "_pricewar_bounded"
_lock = threading.Lock()


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
        return None
    try:
        if not _is_editor_state(json.loads(ui_value)):
            raise ValueError("not an editor's state")
    except (ValueError, RecursionError):
        log.warning("a data editor was sent a value that is not an editor's state: ignored")
        return None
    return ui_value


def _is_editor_state(state: Any) -> bool:
    if not isinstance(state, dict):
        return False
    edited = state.get("edited_rows") or {}
    added = state.get("added_rows") or []
    deleted = state.get("deleted_rows") or []
    return (
        isinstance(edited, dict)
        and all(k.lstrip("-").isdigit() and isinstance(v, dict) for k, v in edited.items())
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


def install() -> bool:
    """Bound Streamlit's date input, multiselect, multi-choice pills and data editor
    deserialisers (once per process); True when done now."""
    from streamlit.elements.widgets import button_group
    from streamlit.elements.widgets.data_editor import DataEditorSerde
    from streamlit.elements.widgets.multiselect import MultiSelectSerde
    from streamlit.elements.widgets.time_widgets import DateInputSerde

    pills = getattr(button_group, "_MultiSelectButtonGroupSerde", None)
    with _lock:
        done = _wrap(DateInputSerde, lambda _serde, value: bounded_dates(value))
        done = _wrap(DataEditorSerde, lambda _serde, value: bounded_editor_state(value)) or done
        done = _wrap(MultiSelectSerde, _choices) or done
        if pills is not None:
            done = _wrap(pills, _choices) or done
    if done:
        log.info(
            "date inputs take at most %d values, multi-choice widgets %s (or their options), "
            "data editors %s characters of edits",
            MAX_DATE_ENTRIES,
            f"{MAX_CHOICE_ENTRIES:,}",
            f"{MAX_EDITOR_STATE_CHARS:,}",
        )
    return done
