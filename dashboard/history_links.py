"""The browser's back and forward buttons on the what-if pages.

The what-if pages (Pricing, Price war) keep the session's scenario and mirror it into the
address (``state.sync_scenario_url``: the what-if link), each change a new history entry.
A what-if read its link only on a session's first run (``state.current_scenario``), so the
browser's Back button led to an older entry whose address the page then rewrote at once to
the session's newer inputs: a new entry, which dropped the forward ones. Measured in
chromium (round 21 of #12): after one visit of Pricing and one changed input, eight presses
of Back never left the page, and Forward did nothing.

:func:`follow_address` lets the address win on a back/forward navigation, as Streamlit does
for the widgets bound to the address: when the entry's ``s_…`` inputs are not the session's
scenario, the scenario is forgotten, so the page reads it from the address again (with the
link's checks and notes) and its input widgets start from it; the page then writes nothing
back, and Back goes on to the entry before.
"""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st

from dashboard.scenario_state import SCENARIO_KEY, SCENARIO_REV_KEY

log = logging.getLogger("dashboard.history_links")


def is_history_navigation() -> bool:
    """Whether this run answers the browser's back or forward button (Streamlit's
    ``is_history_navigation`` of the run's context)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx is not None and getattr(ctx, "is_history_navigation", False))


def address_inputs(query: dict[str, list[str]], prefix: str) -> dict[str, str]:
    """The what-if inputs of an address's query (``prefix``-ed names, the last value of
    each), as ``Scenario.to_query_params`` writes them.

    Example:
        >>> address_inputs({"s_price": ["1", "2"], "from": ["2025-01-01"]}, "s_")
        {'s_price': '2'}
    """
    return {k: v[-1] for k, v in query.items() if k.startswith(prefix) and v}


def follow_address(scenario: Any = None) -> bool:
    """On a back/forward navigation to an address holding what-if inputs other than the
    session's scenario (``scenario``, or the session's), forget the scenario so the page
    reads it from the address; True when forgotten."""
    from analytics.scenario import QUERY_PREFIX

    if not is_history_navigation():
        return False
    current = scenario if scenario is not None else st.session_state.get(SCENARIO_KEY)
    query = {k: st.query_params.get_all(k) for k in st.query_params}
    wanted = address_inputs(query, QUERY_PREFIX)
    if current is None or not wanted or wanted == current.to_query_params():
        return False
    del st.session_state[SCENARIO_KEY]
    st.session_state[SCENARIO_REV_KEY] = int(st.session_state.get(SCENARIO_REV_KEY, 0)) + 1
    return True


def unreadable_address(params: dict[str, str]) -> str:
    """Why the what-if link check (``scenario_links.scenario_link_problems``) would refuse an
    address holding ``params``; empty when it would read it. Asked of an address a page is
    about to write, not of a link that opened one: the link check's note for a refused link
    (``scenario_links.LINK_PROBLEM_KEY``) is left as it was, or a what-if page would say
    next that "the what-if inputs in the link were not used" (round 26 of #12).

    Example:
        >>> unreadable_address({"s_mc_seed": "-1"})
        's_mc_seed=-1 is outside 0 to 9,007,199,254,740,991'
        >>> unreadable_address({"s_mc_seed": "7"})
        ''
    """
    from dashboard.scenario_links import scenario_link_problems

    problems = scenario_link_problems({k: [v] for k, v in params.items()}, remember=False)
    return "; ".join(problems)


def unwritten_note(problem: str) -> str:
    """What a what-if page says when its address cannot hold the what-if on the screen
    (``problem``: :func:`write_address`'s answer, the link check's words).

    Example:
        >>> unwritten_note("s_segments lists 21 segments (at most 20)")[:75]
        'The page address (the what-if link) does not hold this what-if: s_segments '
    """
    return (
        f"The page address (the what-if link) does not hold this what-if: {problem}. A reload "
        "or a copied address opens the default inputs (measured from the data); save the "
        "what-if by name on the Scenarios page to keep it or share it."
    )


def write_address(scenario: Any) -> str:
    """Mirror ``scenario`` into the address (the what-if link) in one change: one history
    entry however many inputs changed, none when the address already says it. Returns why
    the address cannot hold ``scenario`` (the link check would refuse it), else "".

    ``state.sync_scenario_url`` set and deleted the ``s_…`` parameters one at a time, and
    Streamlit sends the address after each: the browser added a history entry for each
    (opening Pricing added 10 entries, each a half-written what-if, all for Back to walk
    through).

    A scenario the link check refuses (21 segments, 11 segments at 1,000,000 Monte Carlo
    draws, a competitor name longer than a link holds: a saved scenario can) is not
    written: an entry Back, a reload or a copied link would turn into the default inputs.
    Its ``s_…`` parameters are removed instead, so the address never holds an older
    what-if than the one on the screen, and the page says so (:func:`unwritten_note`;
    before round 26 of #12 it said nothing and the address kept the older what-if)."""
    from streamlit.runtime.state.session_state_proxy import get_session_state

    from analytics.scenario import QUERY_PREFIX

    wanted = scenario.to_query_params()
    refused = unreadable_address(wanted)
    if refused:
        log.warning("what-if address not written: %s", refused[:500])
        wanted = {}  # no what-if rather than an older one
    qp = st.query_params
    stale = [k for k in qp if k.startswith(QUERY_PREFIX) and k not in wanted]
    changed = {k: v for k, v in wanted.items() if qp.get(k) != v}
    if not stale and not changed:
        return refused
    if stale:  # removed without a message of their own: the update below sends the address
        with get_session_state().query_params() as params:
            for key in stale:
                params._query_params.pop(key, None)
    qp.update(changed)  # one message, the whole address
    return refused
