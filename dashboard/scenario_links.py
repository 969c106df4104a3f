"""What-if inputs read from a link (``?s_…``): checked on the raw text before any
parsing, and a refused link's note repeated on the what-if pages."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import streamlit as st

from analytics.errors import ScenarioError
from analytics.saved_scenarios import MAX_NAME_CHARS
from dashboard.filter_links import quoted_link_value  # a link's value, cut and quoted for a note
from dashboard.untrusted_text import md_text
from data.inbox_entries import json_depth

log = logging.getLogger("dashboard")

#: Longest value of one ``s_…`` parameter (20 segments of a link take about 6 KiB).
MAX_LINK_VALUE_CHARS = 16 * 1024
#: Deepest JSON nesting a link's segments or competitors may have (a list of lists).
MAX_LINK_JSON_DEPTH = 2
#: Most demand segments / competitors a link may carry.
MAX_LINK_SEGMENTS = 20
MAX_LINK_COMPETITORS = 20
#: Longest text inputs (the Scenarios page's name box and the competitor table's cells). A
#: name is saved in NFC, which spells some letters with two or three characters (80 typed
#: Devanagari क़ are saved as 160), so a link may carry what a saved name may hold: 3 × the
#: name box's 80 (``analytics.saved_scenarios.scenario_name_length``).
MAX_LINK_TEXT = {"name": 3 * MAX_NAME_CHARS, "segment": 200, "cut_competitor": 60}
#: Monte Carlo work of one page (segments × draws): 10 segments at 1,000,000 draws.
MAX_LINK_MC_WORK = 10_000_000
#: Ranges of the inputs whose page widgets do not clamp a linked value (Pricing's Monte Carlo
#: draws and seed, Price war's cut and strategy settings): a value outside them is refused
#: here rather than failing in the widget.
LINK_RANGES: dict[str, tuple[float, float]] = {
    "mc_draws": (1_000, 1_000_000),
    "mc_seed": (0, 2**53 - 1),
    "cut_pct": (0, 90),
    "our_share": (0.001, 0.99),
    "quality_step": (0, 10),
    "quality_cost": (0, 1e4),
    "niche_market_share": (0.01, 1),
    "niche_alpha_factor": (0.01, 10),
}
_WHOLE = {"mc_draws", "mc_seed", "curve_points"}
_DEFAULT_MC_DRAWS = 100_000


def _link_number(text: str, whole: bool) -> float | None:
    """``text`` as a number, or None when it is none (the scenario's parser says why)."""
    try:
        return int(text) if whole else float(text)
    except ValueError:
        return None


def scenario_link_problems(
    params: Mapping[str, Sequence[str]], prefix: str = "s_", *, remember: bool = True
) -> list[str]:
    """What makes a link's what-if inputs (``?s_…``) unsafe to read, checked on the raw text
    before any parsing: over-long values, deep or long JSON lists, text longer than its box,
    numbers outside what the pages' inputs accept, too much Monte Carlo work. One sentence per
    problem, naming the parameter; an empty list when the link may be parsed. ``remember``:
    keep the problems for the next what-if page's note (``linked_scenario``); ``False`` for
    an address a page is about to write, which no link opened.

    Example:
        >>> scenario_link_problems({"s_mc_seed": ["-1"]})
        ['s_mc_seed=-1 is outside 0 to 9,007,199,254,740,991']
        >>> scenario_link_problems({"s_" + "K" * 50: ["1" * 20_000]})
        ['s_KKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKK… is 20,000 characters long (at most 16,384)']
    """
    problems = _link_problems(params, prefix)
    if remember:
        _remember_link_problems(problems)
    return problems


def _link_problems(params: Mapping[str, Sequence[str]], prefix: str) -> list[str]:
    """:func:`scenario_link_problems` without remembering them: the length check first
    (nothing else reads a value over its length), then lists, ranges, work and the
    scenario's own parse."""
    last = {k: (list(v)[-1] if v else "") for k, v in params.items()}
    problems = _length_problems(last, prefix)
    if problems:
        return problems
    problems, segments = _list_problems(last, prefix)
    problems += _range_problems(last, prefix)
    draws = _link_number(last.get(prefix + "mc_draws", ""), True) or _DEFAULT_MC_DRAWS
    if not problems and segments * draws > MAX_LINK_MC_WORK:
        problems.append(
            f"{segments} segments × {draws:,} Monte Carlo draws is more than "
            f"{MAX_LINK_MC_WORK:,} draws for one page (lower {prefix}mc_draws)"
        )
    if not problems:
        from analytics.scenario import Scenario

        try:  # the scenario's own ranges (a price of 1e-300, an elasticity of -1e12, …)
            Scenario.from_query_params(params, prefix=prefix)
        except ScenarioError as exc:
            problems.append(str(exc))
    return problems


def _length_problems(last: Mapping[str, str], prefix: str) -> list[str]:
    """Values longer than any link's, or than their own box (:data:`MAX_LINK_TEXT`)."""
    problems = []
    for key, text in last.items():
        name = key[len(prefix) :]
        if len(text) > MAX_LINK_VALUE_CHARS:  # any name: cut and escaped like a value
            problems.append(
                f"{quoted_link_value(key)[1:-1]} is {len(text):,} characters long "
                f"(at most {MAX_LINK_VALUE_CHARS:,})"
            )
        elif name in MAX_LINK_TEXT and len(text) > MAX_LINK_TEXT[name]:
            problems.append(
                f"{key} is {len(text):,} characters long (at most {MAX_LINK_TEXT[name]})"
            )
    return problems


def _list_problems(last: Mapping[str, str], prefix: str) -> tuple[list[str], int]:
    """Segment and competitor lists nested too deep or too long; and how many segments
    the link lists (1 when none)."""
    problems = []
    segments = 1
    for name, most in (("segments", MAX_LINK_SEGMENTS), ("competitors", MAX_LINK_COMPETITORS)):
        key = prefix + name
        if key not in last:
            continue
        depth = json_depth(last[key])
        if depth > MAX_LINK_JSON_DEPTH:
            problems.append(
                f"{key} is JSON nested {depth:,} levels deep (at most "
                f"{MAX_LINK_JSON_DEPTH}: a list of lists)"
            )
            continue
        try:
            items = json.loads(last[key])
        except ValueError:
            continue  # the scenario's parser names the problem
        if isinstance(items, list) and len(items) > most:
            problems.append(f"{key} lists {len(items):,} {name} (at most {most})")
        elif isinstance(items, list) and name == "segments":
            segments = max(1, len(items))
    return problems, segments


def _range_problems(last: Mapping[str, str], prefix: str) -> list[str]:
    """Numbers outside what the pages' inputs accept (:data:`LINK_RANGES`)."""
    problems = []
    for name, (lo, hi) in LINK_RANGES.items():
        key = prefix + name
        if key not in last:
            continue
        value = _link_number(last[key], name in _WHOLE)
        if value is not None and not lo <= value <= hi:
            problems.append(
                f"{key}={quoted_link_value(last[key])[1:-1]} is outside {lo:,g} to {hi:,g}"
                if name not in _WHOLE
                else f"{key}={quoted_link_value(last[key])[1:-1]} is outside {lo:,} to {hi:,}"
            )
    return problems


#: Session key of a refused link's problems: the link is read on whichever page opens first
#: (often Overview), so the what-if pages repeat the note (``linked_scenario``).
LINK_PROBLEM_KEY = "_scenario_link_problem"


def _remember_link_problems(problems: list[str]) -> None:
    if not problems:
        return
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        if get_script_run_ctx(suppress_warning=True) is not None:
            st.session_state[LINK_PROBLEM_KEY] = "; ".join(problems)
    except Exception:  # outside a page run (a test, the CLI): nothing to remember
        log.debug("link problem not remembered", exc_info=True)


def linked_scenario(current: Callable[[], Any]) -> Any:
    """``current()`` (``state.current_scenario``) for a what-if page, repeating the note of
    a link whose inputs were refused when another page read it first (the page that reads
    it shows the note itself)."""
    earlier = st.session_state.pop(LINK_PROBLEM_KEY, None)
    scenario = current()
    st.session_state.pop(LINK_PROBLEM_KEY, None)  # read, and shown, on this page
    if earlier:
        st.warning(
            f"The what-if inputs in the link were not used: {md_text(earlier)}. "
            "Showing the default inputs (measured from the data).",
            icon=":material/link_off:",
        )
    return scenario
