"""Scenarios as the pages' tables: each segment of a scenario on its own
(``segment_table``) and several scenarios side by side with their differences
(``compare_scenarios``; their inputs, one column per scenario under a name no other column
takes: ``scenario_inputs_frame``).

Example:
    >>> from analytics.scenario import Scenario
    >>> t = compare_scenarios([Scenario(name="a"), Scenario(name="b", price_per_m=1.25)])
    >>> float(t.loc["price_per_m", "Δ b"])
    0.25
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analytics.business import DemandModel, constrained_optimum, optimum_spread
from analytics.errors import ScenarioError
from analytics.evaluate import evaluate_scenario, scenario_model
from analytics.scenario import Scenario

__all__ = ["RESULT_NOTES", "compare_scenarios", "segment_table"]


def compare_scenarios(
    scenarios: Sequence[Scenario], *, baseline: int = 0, only_differences: bool = False
) -> pd.DataFrame:
    """Inputs and headline results of several scenarios side by side, with differences.

    Returns:
        One row per input or result (index ``item``, column ``kind`` "input"/"result"),
        one column per scenario, and for every other scenario a column
        ``Δ <name>`` = its value − the baseline's (numbers only). With
        ``only_differences`` rows where all scenarios agree are dropped.

    Example:
        >>> t = compare_scenarios([Scenario(name="a"), Scenario(name="b", price_per_m=1.25)])
        >>> float(t.loc["price_per_m", "Δ b"])
        0.25
    """
    if not scenarios:
        raise ScenarioError("nothing to compare")
    inputs = scenario_inputs_frame(scenarios)
    names = list(inputs.columns)
    results = pd.DataFrame(
        {n: evaluate_scenario(s).summary() for n, s in zip(names, scenarios, strict=True)}
    )
    results = results.astype(object).apply(
        lambda col: [_result_cell(item, v) for item, v in zip(results.index, col, strict=True)]
    )
    table = pd.concat([inputs.assign(kind="input"), results.assign(kind="result")])
    table.index.name = "item"
    base = names[baseline]
    for n in names:
        if n == base:
            continue
        a = pd.to_numeric(table[n], errors="coerce")
        b = pd.to_numeric(table[base], errors="coerce")
        numeric = table[n].map(_is_number) & table[base].map(_is_number)
        table[f"Δ {n}"] = (a - b).where(numeric)
    if only_differences:
        same = table[names].astype(str).nunique(axis=1) <= 1
        table = table[~same]
    return table[["kind", *[c for c in table.columns if c != "kind"]]]


#: What the comparison shows instead of a result that does not exist (NaN in ``summary``)
#: or is unbounded (inf): a manager reads a sentence, never "nan" or "inf".
RESULT_NOTES: dict[str, str] = {
    "break_even_volume_m": "none: the price does not cover the unit cost",
    "break_even_low": "none: no price covers the costs",
    "break_even_high": "none: profit stays positive as the price rises",
    "price_for_target_margin": "none in the prices searched",
    "price_for_target_profit": "none in the prices searched",
}


def _result_cell(item: object, value: object) -> object:
    """A result of the comparison: the number, or a note where it is not a finite number."""
    if isinstance(value, int | float | np.floating) and not math.isfinite(float(value)):
        return RESULT_NOTES.get(str(item), "none")
    return value


def _is_number(v: object) -> bool:
    return (
        isinstance(v, int | float | np.floating | np.integer)
        and not isinstance(v, bool)
        and math.isfinite(float(v))
    )


def scenario_inputs_frame(scenarios: Sequence[Scenario]) -> pd.DataFrame:
    """Inputs of several scenarios: one row per input, one column per scenario name
    (competitors summarised as "name @ price" text)."""
    cols: dict[str, dict[str, Any]] = {}
    for i, s in enumerate(scenarios):
        d = s.to_dict()
        d["competitors"] = ", ".join(
            f"{c.name} @ {c.price:g} ({c.share:.0%})" for c in s.competitors
        )
        d["segments"] = ", ".join(
            f"{g.name} ε {g.elasticity:.2f} @ {g.reference_price:g}" for g in s.segments
        )
        d.pop("name")
        cols[_unique(s.name, i, cols)] = d
    return pd.DataFrame(cols)


#: Columns a comparison table adds beside the scenarios' own (``kind``, the index ``item``,
#: ``Δ <name>``; analytics.scenario_tables.compare_scenarios): no scenario column takes these names.
_TABLE_COLUMNS = frozenset({"kind", "item"})
_DIFFERENCE_PREFIX = "Δ "


def _unique(name: str, i: int, taken: Mapping[str, Any]) -> str:
    """A column name for the ``i``-th scenario ``name``: not one ``taken`` and not one of
    the comparison's own columns (a saved scenario named ``kind`` lost its column to the
    table's, names ``a``, ``a (3)``, ``a`` made two columns one and the comparison
    failed). A reserved name is quoted; a taken one gets a number."""
    if name in _TABLE_COLUMNS or name.startswith(_DIFFERENCE_PREFIX):
        name = f"“{name}”"
    column, n = name, i + 1
    while column in taken:
        column = f"{name} ({n})"
        n += 1
    return column


def segment_table(s: Scenario) -> pd.DataFrame:
    """Each segment of the scenario on its own: its curve, unit cost, today's contribution
    and its optimum within the scenario's price range with the range across its elasticity
    interval. Contributions are before fixed costs (company-wide), USD per month.

    Columns: ``segment``, ``price_now``, ``volume_m``, ``elasticity``, ``ci_low``,
    ``ci_high``, ``unit_cost``, ``contribution_now``, ``optimal_price``, ``optimal_low``,
    ``optimal_high``, ``at_bound``, ``contribution_at_optimum``, ``gain``, ``note``.
    """
    model = scenario_model(s)
    rows = []
    for seg in model.segments:
        one = DemandModel((seg,), 0.0)
        best = constrained_optimum(one, s.price_floor, s.price_ceiling)
        spread = optimum_spread(one, s.price_floor, s.price_ceiling, draws=200, seed=s.mc_seed)
        now = (seg.reference_price - seg.unit_cost) * seg.reference_volume_m
        note = ""
        if seg.elasticity >= -1:
            note = "inelastic (|ε| ≤ 1): profit rises with the price up to the ceiling"
        elif seg.ci_high >= -1:
            note = "interval reaches −1: the optimum may be unbounded"
        rows.append(
            {
                "segment": seg.name,
                "price_now": seg.reference_price,
                "volume_m": seg.reference_volume_m,
                "elasticity": seg.elasticity,
                "ci_low": seg.ci_low,
                "ci_high": seg.ci_high,
                "unit_cost": seg.unit_cost,
                "contribution_now": now,
                "optimal_price": best.price,
                "optimal_low": spread.low,
                "optimal_high": spread.high,
                "at_bound": best.at_bound or "",
                "contribution_at_optimum": best.profit,
                "gain": best.profit - now,
                "note": note,
            }
        )
    return pd.DataFrame(rows)
