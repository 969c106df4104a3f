"""This browser session's what-if scenario, bound to the session state and the URL.

The scenario a session works on lives in ``st.session_state`` (:func:`current_scenario`,
:func:`set_scenario`); the first use reads it from the link that opened the page (``?s_…``
query parameters, ``analytics.scenario.QUERY_PREFIX``), and :func:`sync_scenario_url` writes
it back to the address, so a copied address shares the inputs.
"""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st

__all__ = [
    "SCENARIO_KEY",
    "SCENARIO_NOTE_KEY",
    "SCENARIO_REV_KEY",
    "current_scenario",
    "scenario_rev",
    "set_scenario",
    "sync_scenario_url",
]

log = logging.getLogger(__name__)

SCENARIO_KEY = "_scenario"
SCENARIO_REV_KEY = "_scenario_rev"
SCENARIO_NOTE_KEY = "_scenario_note"


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


def set_scenario(scenario: Any, *, reload_inputs: bool = False) -> None:
    """Make ``scenario`` current; ``reload_inputs`` resets the input widgets to its values."""
    st.session_state[SCENARIO_KEY] = scenario
    if reload_inputs:
        st.session_state[SCENARIO_REV_KEY] = st.session_state.get(SCENARIO_REV_KEY, 0) + 1


def scenario_rev() -> int:
    """Bumped whenever a loaded scenario replaces the inputs (part of the widget keys)."""
    return int(st.session_state.get(SCENARIO_REV_KEY, 0))


def sync_scenario_url(scenario: Any) -> None:
    """Mirror ``scenario`` into the URL query string so the address shares the inputs."""
    from analytics.scenario import QUERY_PREFIX

    wanted = scenario.to_query_params()
    qp = st.query_params
    for key in [k for k in qp if k.startswith(QUERY_PREFIX) and k not in wanted]:
        del qp[key]
    for key, value in wanted.items():
        if qp.get(key) != value:
            qp[key] = value
