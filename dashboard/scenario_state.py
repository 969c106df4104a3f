"""This browser session's what-if scenario, bound to the session state and the URL.

The scenario a session works on lives in ``st.session_state`` (:func:`current_scenario`,
:func:`set_scenario`); the first use reads it from the link that opened the page (``?s_…``
query parameters, ``analytics.scenario.QUERY_PREFIX``), and the what-if pages write it back
to the address in one update (``dashboard.history_links.write_address``), so a copied
address shares the inputs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import streamlit as st

__all__ = [
    "SCENARIO_KEY",
    "SCENARIO_NOTE_KEY",
    "SCENARIO_REV_KEY",
    "MAX_INPUT_NAME_CHARS",
    "MAX_SAVED_SCENARIO_BYTES",
    "current_scenario",
    "long_name_problem",
    "scenario_name_problem",
    "scenario_rev",
    "set_scenario",
]

log = logging.getLogger(__name__)

SCENARIO_KEY = "_scenario"
SCENARIO_REV_KEY = "_scenario_rev"
SCENARIO_NOTE_KEY = "_scenario_note"
#: The longest name a what-if input may hold (a competitor, a demand segment, the
#: competitor that cuts). The pages' tables promise less (a competitor name has at most 60
#: characters in the Price war table), but a browser's limits are not the server's: a
#: forged widget event sent a 5,000,000-character name, which a saved scenario then carried
#: to every page that compares it.
MAX_INPUT_NAME_CHARS = 200
#: The largest saved scenario (its JSON, bytes) the pages read: 50 segments and 30
#: competitors with names at their limit take about 40 KiB.
MAX_SAVED_SCENARIO_BYTES = 256 * 1024


#: Most scenarios one comparison solves (each in full: about 25 ms). A forged multiselect
#: value repeating one option 2,000 times held a page run for 48 s (round 16).
MAX_COMPARED_SCENARIOS = 25


def compared_names(chosen: Sequence[str]) -> tuple[list[str], str | None]:
    """The scenarios a comparison shows: each once, in the order chosen, at most
    :data:`MAX_COMPARED_SCENARIOS`; and a note naming the limit when some were left out.

    Example:
        >>> compared_names(["a", "b", "a"])
        (['a', 'b'], None)
        >>> names, note = compared_names([str(i) for i in range(30)])
        >>> len(names), note
        (25, 'the first 25 of the 30 scenarios chosen are compared (at most 25 at once)')
    """
    once = list(dict.fromkeys(chosen))  # a browser never repeats one; a forged value can
    if len(once) <= MAX_COMPARED_SCENARIOS:
        return once, None
    return once[:MAX_COMPARED_SCENARIOS], (
        f"the first {MAX_COMPARED_SCENARIOS} of the {len(once):,} scenarios chosen are "
        f"compared (at most {MAX_COMPARED_SCENARIOS} at once)"
    )


def current_scenario() -> Any:
    """This session's scenario: from the URL (``?s_…``) on first use, else the default.

    A link whose inputs cannot be used (too long, nested too deep, out of range, invalid)
    gives a warning on the page that opened it, naming the parameter and the reason, and
    the defaults; the raw values are checked (``ui.scenario_link_problems``) before parsing.
    """
    if SCENARIO_KEY not in st.session_state:
        from analytics.errors import ScenarioError
        from analytics.scenario import QUERY_PREFIX, Scenario
        from dashboard.queries import default_scenario
        from dashboard.ui import md_text, scenario_link_problems

        params = {
            k: st.query_params.get_all(k) for k in st.query_params if k.startswith(QUERY_PREFIX)
        }
        scenario = None
        problem = "; ".join(scenario_link_problems(params, QUERY_PREFIX)) if params else ""
        if params and not problem:
            try:
                scenario = Scenario.from_query_params(params)
                st.session_state[SCENARIO_NOTE_KEY] = "Inputs loaded from the link."
            except ScenarioError as exc:
                problem = str(exc)
            except (ValueError, TypeError, OverflowError, RecursionError) as exc:
                log.warning("link scenario refused: %s", exc)
                problem = f"its inputs do not make a valid scenario ({exc})"
        if problem:
            st.warning(
                f"The what-if inputs in this link were not used: {md_text(problem)}. "
                "Showing the default inputs (measured from the data).",
                icon=":material/link_off:",
            )
        st.session_state[SCENARIO_KEY] = scenario or default_scenario()
        st.session_state.setdefault(SCENARIO_REV_KEY, 0)
    return st.session_state[SCENARIO_KEY]


def long_name_problem(names: Any, what: str) -> str | None:
    """A sentence naming the first of ``names`` longer than :data:`MAX_INPUT_NAME_CHARS`
    (by ``what`` and its position, with its first characters), else None."""
    for i, name in enumerate(names, start=1):
        text = "" if name is None else str(name)
        if len(text) > MAX_INPUT_NAME_CHARS:
            return (
                f"{what} {i} has a name of {len(text):,} characters "
                f"(“{text[:24]}…”); a name has at most {MAX_INPUT_NAME_CHARS}"
            )
    return None


def scenario_name_problem(scenario: Any) -> str | None:
    """The first name of ``scenario`` over :data:`MAX_INPUT_NAME_CHARS` (its segment, a
    demand segment, a competitor, the competitor that cuts) in a sentence, else None."""
    checks = (
        ([scenario.segment], "the segment"),
        ([g.name for g in scenario.segments], "demand segment"),
        ([c.name for c in scenario.competitors], "competitor"),
        ([scenario.cut_competitor], "the competitor that cuts"),
    )
    for names, what in checks:
        if (problem := long_name_problem(names, what)) is not None:
            return problem.replace(" 1 has", " has") if what.startswith("the ") else problem
    return None


def set_scenario(scenario: Any, *, reload_inputs: bool = False) -> None:
    """Make ``scenario`` current; ``reload_inputs`` resets the input widgets to its values."""
    st.session_state[SCENARIO_KEY] = scenario
    if reload_inputs:
        st.session_state[SCENARIO_REV_KEY] = st.session_state.get(SCENARIO_REV_KEY, 0) + 1


def scenario_rev() -> int:
    """Bumped whenever a loaded scenario replaces the inputs (part of the widget keys)."""
    return int(st.session_state.get(SCENARIO_REV_KEY, 0))
