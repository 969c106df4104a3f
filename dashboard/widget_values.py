"""Values read from widgets in page code: a session may forge any of them.

(``widget_bounds`` bounds what Streamlit parses before a page runs; these helpers bound
what a page then uses.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

import streamlit as st

from dashboard.untrusted_text import md_text

T = TypeVar("T")


def chosen_options(values: Iterable[T] | None, options: Sequence[T]) -> list[T]:
    """A multi-choice widget's value (``st.multiselect``, ``st.pills``, …) as a page may
    use it: only the widget's own ``options``, each once, in the order chosen.

    Streamlit takes whatever list a session sends for a widget id: a forged message may
    repeat one option 100,000 times or name values that are no option (round 17 of #12:
    a 100,000-entry ``labels`` list reached every query of the Entities page). The result
    holds at most ``len(options)`` values, whatever was sent.
    """
    if values is None:
        return []
    allowed = set(options)
    return [v for v in dict.fromkeys(values) if v in allowed]


#: Rows a data editor's edits may add, edit or delete in one message (the project's tables
#: hold at most a few dozen rows; Streamlit adds rows one ``df.loc`` at a time, so 10,000
#: forged added rows cost minutes of a core inside ``st.data_editor``).
MAX_EDITOR_CHANGES = 200


def drop_oversized_edits(key: str, label: str, max_changes: int = MAX_EDITOR_CHANGES) -> bool:
    """Forget a data editor's edits (call it before ``st.data_editor(key=key)``) when they
    add, edit or delete more than ``max_changes`` rows, with a warning naming the table;
    True when dropped.

    Streamlit applies a data editor's edits inside ``st.data_editor``, before the page can
    look at them: 10,000 added rows sent in one 0.5 MB message kept a page run busy for
    minutes (round 17 of #12). The table then shows its rows as they were.
    """
    edits = st.session_state.get(key)
    if not isinstance(edits, Mapping):
        return False
    changes = {
        part: len(edits.get(part) or ()) for part in ("added_rows", "edited_rows", "deleted_rows")
    }
    if max(changes.values()) <= max_changes:
        return False
    del st.session_state[key]
    st.warning(
        f"The edits of the {md_text(label)} were not used: they changed "
        f"{max(changes.values()):,} rows at once (at most {max_changes:,}).",
        icon=":material/table_rows:",
    )
    return True
