"""The what-if computations of the Pricing, Price war and Scenarios pages, cached once for
every session (``st.cache_data``): ten managers on the same scenario compute it once.

Each function has the name and arguments of the ``analytics`` function it wraps and
returns what that function returns (a copy: ``st.cache_data`` hands every caller its own).

What the key holds: these functions are pure. They read no store, file or clock, only
their arguments, and every input measured from the data (segment curves, elasticities,
mention shifts, rivals) is a field of the :class:`~analytics.scenario.Scenario`. So the key
is the scenario's every field (:func:`scenario_key`, its ``repr``: exact floats, types
kept) with the other arguments: a change in the data that changes an input changes the
key, and a change that does not leaves the shared result valid. A data version in the key
would only split the cache (tagging changes the mention counts every batch).

Errors are not cached (``st.cache_data`` keeps return values only): an input that fails
fails again on every call, as the uncached function does.

Example:
    >>> from analytics.scenario import Scenario
    >>> evaluate_scenario(Scenario()).profit == evaluate_scenario(Scenario()).profit
    True
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from analytics import evaluate as _evaluate
from analytics import goalseek as _goalseek
from analytics import scenario_sensitivity as _sensitivity
from analytics import scenario_tables as _tables
from analytics import war as _war
from analytics.evaluate import ScenarioResult
from analytics.goalseek import GoalSeekResult
from analytics.montecarlo import MonteCarloResult
from analytics.scenario import Scenario
from analytics.war import PriceWarResult

__all__ = [
    "compare_scenarios",
    "cut_price_table",
    "data_table",
    "evaluate_price_war",
    "evaluate_scenario",
    "goal_seek",
    "scenario_key",
    "scenario_monte_carlo",
    "scenario_tornado",
    "segment_table",
]


def scenario_key(s: Scenario) -> str:
    """What a cache key holds of a scenario: its ``repr``, every field with its type and
    exact value (floats round-trip), nested segments and rivals included."""
    return repr(s)


#: How the caches hash a scenario (every field, see :func:`scenario_key`).
_HASH = {Scenario: scenario_key}
#: Entries kept per function: 10 sessions × a few recent scenarios each, with room.
SMALL_RESULTS = 256
#: Monte Carlo results hold every draw (800 kB at 100,000 draws, 8 MB at the 1,000,000
#: the page allows), so fewer are kept.
LARGE_RESULTS = 32
#: The cache of every function: shared by all sessions, scenarios hashed by every field.
_shared = st.cache_data(show_spinner=False, max_entries=SMALL_RESULTS, hash_funcs=_HASH)


@_shared
def evaluate_scenario(s: Scenario) -> ScenarioResult:
    """:func:`analytics.evaluate.evaluate_scenario`, shared by every session."""
    return _evaluate.evaluate_scenario(s)


@st.cache_data(show_spinner=False, max_entries=LARGE_RESULTS, hash_funcs=_HASH)
def scenario_monte_carlo(s: Scenario, price: float | None = None) -> MonteCarloResult:
    """:func:`analytics.scenario_sensitivity.scenario_monte_carlo`, shared by every session."""
    return _sensitivity.scenario_monte_carlo(s, price)


@_shared
def scenario_tornado(s: Scenario, price: float | None = None) -> pd.DataFrame:
    """:func:`analytics.scenario_sensitivity.scenario_tornado`, shared by every session."""
    return _sensitivity.scenario_tornado(s, price)


@_shared
def data_table(
    s: Scenario,
    row_input: str,
    row_values: Sequence[float],
    col_input: str,
    col_values: Sequence[float],
    *,
    metric: str = "profit",
) -> pd.DataFrame:
    """:func:`analytics.scenario_sensitivity.data_table`, shared by every session."""
    return _sensitivity.data_table(s, row_input, row_values, col_input, col_values, metric=metric)


@_shared
def segment_table(s: Scenario) -> pd.DataFrame:
    """:func:`analytics.scenario_tables.segment_table`, shared by every session."""
    return _tables.segment_table(s)


@_shared
def goal_seek(
    s: Scenario, input_name: str, target: float, *, metric: str = "profit", points: int = 120
) -> GoalSeekResult:
    """:func:`analytics.goalseek.goal_seek`, shared by every session."""
    return _goalseek.goal_seek(s, input_name, target, metric=metric, points=points)


@_shared
def evaluate_price_war(s: Scenario) -> PriceWarResult:
    """:func:`analytics.war.evaluate_price_war`, shared by every session."""
    return _war.evaluate_price_war(s)


@_shared
def cut_price_table(
    s: Scenario, cuts_pct: Sequence[float], our_prices: Sequence[float]
) -> pd.DataFrame:
    """:func:`analytics.war.cut_price_table`, shared by every session."""
    return _war.cut_price_table(s, cuts_pct, our_prices)


@_shared
def _full_comparison(scenarios: tuple[Scenario, ...], baseline: int) -> pd.DataFrame:
    return _tables.compare_scenarios(scenarios, baseline=baseline)


def compare_scenarios(
    scenarios: Sequence[Scenario], *, baseline: int = 0, only_differences: bool = False
) -> pd.DataFrame:
    """:func:`analytics.scenario_tables.compare_scenarios`, shared by every session; the table
    with and without ``only_differences`` comes from one computation (the rows where all
    scenarios agree are dropped from the cached full table, by the same rule)."""
    table = _full_comparison(tuple(scenarios), baseline)
    if not only_differences:
        return table
    names = list(table.columns[1 : 1 + len(scenarios)])  # "kind", the scenarios, then "Δ …"
    same = table[names].astype(str).nunique(axis=1) <= 1
    return table[~same]
