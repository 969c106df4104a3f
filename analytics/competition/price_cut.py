"""A competitor's price cut: the equilibrium before and after, firm by firm."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from analytics.competition.checks import number
from analytics.competition.equilibrium import (
    EquilibriumResult,
    fixed_by_index,
    logit_nash_equilibrium,
)


def cut_inputs(
    names: Sequence[str],
    before: EquilibriumResult,
    competitor: int | str,
    cut_pct: float,
    list_prices: ArrayLike | None,
) -> tuple[int, float]:
    """The cutter's position and its price after a cut of ``cut_pct`` % of its list price."""
    k = number("cut_pct", cut_pct)
    if k >= 100:
        raise ValueError(f"a cut of {k:g} % leaves no positive price; cut less than 100 %")
    i = before.index(competitor)
    if list_prices is None:
        base = float(before.prices[i])
    else:
        lp = np.asarray(list_prices, float).ravel()
        if lp.size != len(names):
            raise ValueError(f"list_prices must have one price per firm ({len(names)})")
        base = number(f"the list price of {names[i]!r}", lp[i])
    return i, base * (1.0 - k / 100.0)


#: Human headers with units for ``PriceCutResult.table`` (share columns hold fractions,
#: 0.25 = 25 %: show them formatted as percent).
CUT_TABLE_LABELS: dict[str, str] = {
    "firm": "Firm",
    "price_before": "Price before the cut, USD per 1M tokens",
    "price_after": "Price after the cut, USD per 1M tokens",
    "price_change_pct": "Price change, %",
    "share_before": "Market share before the cut, %",
    "share_after": "Market share after the cut, %",
    "profit_before": "Profit before the cut, USD/month (before fixed costs)",
    "profit_after": "Profit after the cut, USD/month (before fixed costs)",
    "profit_change": "Profit change, USD/month",
}


@dataclass(frozen=True)
class PriceCutResult:
    """Before and after a competitor's price cut.

    Attributes:
        before: the equilibrium before the cut.
        after: the equilibrium with the competitor's price fixed at the cut.
        competitor: the index of the firm that cut.
        table: per firm ``firm``, ``price_before``, ``price_after``, ``share_before``,
            ``share_after``, ``profit_before``, ``profit_after`` and the changes
            (headers with units: ``CUT_TABLE_LABELS``).
    """

    before: EquilibriumResult
    after: EquilibriumResult
    competitor: int
    table: pd.DataFrame


def price_cut_scenario(
    costs: ArrayLike,
    qualities: ArrayLike,
    alpha: float,
    *,
    competitor: int | str,
    cut_pct: float,
    names: Sequence[str] | None = None,
    market_size: float = 1.0,
    base_prices: ArrayLike | None = None,
    list_prices: ArrayLike | None = None,
    fixed_prices: Mapping[int | str, float] | None = None,
    start: ArrayLike | None = None,
    **solver: Any,
) -> PriceCutResult:
    """ "Competitor X cuts its list price by k %": the new equilibrium, others re-optimising.

    Args:
        competitor: the firm that cuts (index or name).
        cut_pct: the cut in percent of X's list price (10 = 10 % lower; < 100).
        list_prices: today's list prices per firm, USD per 1M tokens; the cut price is
            list_prices[X]·(1 − cut_pct/100). Default: X's before-equilibrium price.
        base_prices: older name of ``list_prices`` (give one or the other).
        fixed_prices: firms (by index or name) held at these prices in both states, e.g.
            the holding firms of a ``CalibratedMarket``; the cutter's cut price replaces
            its own entry after the cut.
        start: starting prices of the before equilibrium (default: costs + 1/α).
        solver: passed to ``logit_nash_equilibrium`` (damping, tol, max_iter).

    Example:
        >>> r = price_cut_scenario([0.3, 0.3], [1, 1], 2.0, competitor=1, cut_pct=50,
        ...                        list_prices=[0.9, 1.0])
        >>> float(r.after.prices[1])
        0.5
    """
    if base_prices is not None and list_prices is not None:
        raise ValueError("give list_prices or its older name base_prices, not both")
    lists = list_prices if list_prices is not None else base_prices
    before = logit_nash_equilibrium(
        costs,
        qualities,
        alpha,
        names=names,
        market_size=market_size,
        fixed_prices=fixed_prices,
        start=start,
        **solver,
    )
    i, cut = cut_inputs(before.names, before, competitor, cut_pct, lists)
    held: dict[int | str, float] = {**fixed_by_index(before.names, fixed_prices), i: cut}
    after = logit_nash_equilibrium(
        costs,
        qualities,
        alpha,
        names=before.names,
        market_size=market_size,
        fixed_prices=held,
        start=before.prices,
        **solver,
    )
    b, a = before.to_frame(), after.to_frame()
    table = pd.DataFrame(
        {
            "firm": b["firm"],
            "price_before": b["price"],
            "price_after": a["price"],
            "price_change_pct": (a["price"] / b["price"] - 1) * 100,
            "share_before": b["share"],
            "share_after": a["share"],
            "profit_before": b["profit"],
            "profit_after": a["profit"],
            "profit_change": a["profit"] - b["profit"],
        }
    )
    return PriceCutResult(before=before, after=after, competitor=i, table=table)
