"""Our answers to a competitor's cut side by side (hold, match, best response,
differentiate, niche), and the deepest cut we can absorb."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analytics.competition.checks import number
from analytics.competition.equilibrium import (
    EquilibriumResult,
    fixed_by_index,
    logit_nash_equilibrium,
)
from analytics.competition.price_cut import cut_inputs

if TYPE_CHECKING:
    from analytics.competition.calibration import CalibratedMarket
from numpy.typing import ArrayLike
from scipy.optimize import brentq

from analytics.demand import FloatArray

STRATEGIES: tuple[str, ...] = ("hold", "match", "best response", "differentiate", "niche")

#: Human headers with units for ``StrategyComparison.table`` (``our_share`` is a fraction,
#: shown as percent).
STRATEGY_COLUMN_LABELS: dict[str, str] = {
    "strategy": "Strategy",
    "our_price": "Our price, USD per 1M tokens",
    "our_share": "Our market share, %",
    "our_profit": "Our profit, USD/month (before fixed costs)",
    "profit_vs_before": "Profit vs before the cut, USD/month",
    "profit_vs_hold": "Profit vs holding our price, USD/month",
    "competitor_price": "Cutter's price, USD per 1M tokens",
    "mean_rival_price": "Mean rival price, USD per 1M tokens",
    "description": "What we do",
}


@dataclass(frozen=True)
class StrategyComparison:
    """Our options after a competitor's cut, side by side.

    Attributes:
        table: one row per strategy: ``strategy``, ``our_price``, ``our_share``,
            ``our_profit``, ``profit_vs_before`` (change against the pre-cut equilibrium),
            ``profit_vs_hold``, ``competitor_price``, ``mean_rival_price``, ``description``
            (headers with units: ``STRATEGY_COLUMN_LABELS``).
        results: the equilibrium behind each row, by strategy.
        before: the pre-cut equilibrium.
    """

    table: pd.DataFrame
    results: dict[str, EquilibriumResult]
    before: EquilibriumResult


# One strategy's market: (costs, qualities, alpha, market size, fixed prices by position).
_Run = tuple[FloatArray, FloatArray, float, float, dict[int | str, float]]


def _strategy_run(
    strategy: str,
    before: EquilibriumResult,
    *,
    us: int,
    cutter: int,
    cut: float,
    cut_pct: float,
    held: Mapping[int, float],
    quality_step: float,
    quality_cost: float,
    niche_alpha_factor: float,
    niche_market_share: float,
) -> _Run:
    """The market of one strategy after the cut: who is held at which price, and how our
    costs, quality, α and market size change."""
    c, q, alpha, size = before.costs, before.qualities, before.alpha, before.market_size
    fixed: dict[int | str, float] = {j: v for j, v in held.items() if j != us}
    fixed[cutter] = cut
    if strategy == "hold":
        return c, q, alpha, size, {**fixed, us: float(before.prices[us])}
    if strategy == "match":
        return c, q, alpha, size, {**fixed, us: float(before.prices[us]) * (1 - cut_pct / 100)}
    if strategy == "best response":
        return c, q, alpha, size, fixed
    if strategy == "differentiate":
        q_diff, c_diff = q.copy(), c.copy()
        q_diff[us] += quality_step
        c_diff[us] += quality_cost
        return c_diff, q_diff, alpha, size, fixed
    if strategy == "niche":
        return c, q, alpha * niche_alpha_factor, size * niche_market_share, fixed
    raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")


def _check_options(
    quality_step: float, quality_cost: float, niche_alpha_factor: float, niche_market_share: float
) -> None:
    number("quality_step", quality_step)
    number("quality_cost", quality_cost)
    if not number("niche_alpha_factor", niche_alpha_factor) > 0:
        raise ValueError("niche_alpha_factor must be > 0")
    if not 0 < number("niche_market_share", niche_market_share) <= 1:
        raise ValueError("niche_market_share must be in (0, 1]")


def compare_strategies(
    costs: ArrayLike,
    qualities: ArrayLike,
    alpha: float,
    *,
    competitor: int | str,
    cut_pct: float,
    ours: int | str = 0,
    names: Sequence[str] | None = None,
    market_size: float = 1.0,
    quality_step: float = 0.5,
    quality_cost: float = 0.0,
    niche_alpha_factor: float = 0.5,
    niche_market_share: float = 0.2,
    list_prices: ArrayLike | None = None,
    fixed_prices: Mapping[int | str, float] | None = None,
    start: ArrayLike | None = None,
    **solver: Any,
) -> StrategyComparison:
    """Compare hold, match, best response, differentiate and niche after a competitor's cut.

    Every strategy holds the competitor at its cut price, list_prices[X]·(1 − cut_pct/100);
    firms in ``fixed_prices`` other than us keep their prices; every other rival
    re-optimises.

    * hold: we keep our before price.
    * match: we cut our before price by the same percentage.
    * best response: we re-optimise (freed even when ``fixed_prices`` held us before).
    * differentiate: our quality rises by ``quality_step`` at an extra unit cost
      ``quality_cost``, and we re-optimise.
    * niche: we serve only a niche segment of ``niche_market_share`` of the market whose
      customers are less price sensitive (α × ``niche_alpha_factor``), and re-optimise.

    Args:
        costs, qualities, alpha: the market (USD per 1M tokens, utility, utility per USD).
        competitor: the firm that cuts (index or name).
        cut_pct: the cut in percent of its list price (< 100).
        ours: our firm (index or name).
        names, market_size: as for ``logit_nash_equilibrium``.
        quality_step: the quality gain of "differentiate", in utility units; customers
            value it like a price cut of quality_step/α USD per 1M tokens.
        quality_cost: the extra unit cost of "differentiate", USD per 1M tokens.
        niche_alpha_factor, niche_market_share: the niche segment (see above).
        list_prices: today's list prices (default: the before-equilibrium prices).
        fixed_prices: firms held in every state (the holding firms; in the before state
            also us at today's price, as ``CalibratedMarket.fixed_prices`` gives).
        start: starting prices of the before equilibrium.
        solver: passed to ``logit_nash_equilibrium`` (damping, tol, max_iter).

    Example:
        >>> cmp = compare_strategies([0.3, 0.3, 0.4], [1, 1, 1.2], 2.0, competitor=1,
        ...                          cut_pct=20, names=["us", "rival", "other"])
        >>> cmp.table["strategy"].tolist()
        ['hold', 'match', 'best response', 'differentiate', 'niche']
    """
    _check_options(quality_step, quality_cost, niche_alpha_factor, niche_market_share)
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
    us, x = before.index(ours), before.index(competitor)
    if us == x:
        raise ValueError("the competitor that cuts must not be us")
    x, cut = cut_inputs(before.names, before, x, cut_pct, list_prices)
    held = fixed_by_index(before.names, fixed_prices)
    a = before.alpha
    descriptions = {
        "hold": "keep our price; the cutter and rivals move",
        "match": f"cut our price by the same {cut_pct:g} %",
        "best response": "re-optimise our price against the cut",
        "differentiate": f"raise quality by {quality_step:g} (worth ${quality_step / a:.3g} "
        f"per 1M tokens to customers) at +${quality_cost:.3g} per 1M tokens "
        "unit cost, and re-optimise",
        "niche": f"serve only a {niche_market_share:.0%} niche, "
        f"{niche_alpha_factor:g}× as price sensitive, and re-optimise",
    }
    results = {}
    for k in STRATEGIES:
        cc, qq, aa, mm, fixed = _strategy_run(
            k,
            before,
            us=us,
            cutter=x,
            cut=cut,
            cut_pct=cut_pct,
            held=held,
            quality_step=quality_step,
            quality_cost=quality_cost,
            niche_alpha_factor=niche_alpha_factor,
            niche_market_share=niche_market_share,
        )
        results[k] = logit_nash_equilibrium(
            cc,
            qq,
            aa,
            names=before.names,
            market_size=mm,
            fixed_prices=fixed,
            start=before.prices,
            **solver,
        )
    hold_profit = results["hold"].profits[us]
    rivals = [j for j in range(len(before.names)) if j != us]
    rows = [
        {
            "strategy": k,
            "our_price": r.prices[us],
            "our_share": r.shares[us],
            "our_profit": r.profits[us],
            "profit_vs_before": r.profits[us] - before.profits[us],
            "profit_vs_hold": r.profits[us] - hold_profit,
            "competitor_price": r.prices[x],
            "mean_rival_price": float(r.prices[rivals].mean()) if rivals else float("nan"),
            "description": descriptions[k],
        }
        for k, r in results.items()
    ]
    return StrategyComparison(table=pd.DataFrame(rows), results=results, before=before)


def largest_absorbable_cut(
    market: CalibratedMarket,
    *,
    competitor: int | str,
    ours: int | str = "us",
    fixed_cost: float,
    strategy: str = "best response",
    max_cut_pct: float = 95.0,
    quality_step: float = 0.5,
    quality_cost: float = 0.0,
    niche_alpha_factor: float = 0.5,
    niche_market_share: float = 0.2,
    **solver: Any,
) -> float | None:
    """The deepest cut of a competitor's list price that we can absorb without a loss.

    Our profit after a cut of k % is M·(p − c)·s − ``fixed_cost`` in the equilibrium of
    ``strategy`` (as in ``compare_strategies``, from ``market.before()``). The answer is the
    k at which it reaches 0, found by ``brentq`` on k after a scan of 20 steps locates the
    first sign change, so every cut up to the answer leaves us at a profit ≥ 0.

    Args:
        market: the calibrated market.
        competitor: the firm that cuts (name or index).
        ours: our firm (default "us").
        fixed_cost: our fixed costs, USD per month.
        strategy: our answer, one of ``STRATEGIES``.
        max_cut_pct: the deepest cut considered, percent (0 < max_cut_pct < 100).
        quality_step, quality_cost, niche_alpha_factor, niche_market_share: the
            strategy's settings (see ``compare_strategies``).
        solver: passed to ``logit_nash_equilibrium``.

    Returns:
        The cut in percent; None when even no cut leaves us at a profit ≥ 0;
        ``max_cut_pct`` when every cut up to it is absorbed.

    Raises:
        ValueError: an unknown strategy, ``competitor`` = ``ours``, or a setting out of range.
        EquilibriumNotConvergedError: when an equilibrium on the way does not converge.

    Example:
        >>> from analytics.competition import calibrate_market
        >>> m = calibrate_market([1.0, 0.8], [0.2, 0.3], 2.0, names=["us", "rival"],
        ...                      market_size=1000, known_costs={"us": 0.3})
        >>> k = largest_absorbable_cut(m, competitor="rival", fixed_cost=100)
        >>> round(k, 2)
        54.84
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    f_cost = number("fixed_cost", fixed_cost)
    top = number("max_cut_pct", max_cut_pct)
    if not 0 < top < 100:
        raise ValueError(f"max_cut_pct must be between 0 and 100 (exclusive), got {top:g}")
    _check_options(quality_step, quality_cost, niche_alpha_factor, niche_market_share)
    before = market.before(**solver)
    us, x = market.index(ours), market.index(competitor)
    if us == x:
        raise ValueError("the competitor that cuts must not be us")
    held = market.fixed_prices

    def profit(k: float) -> float:
        cc, qq, aa, mm, fixed = _strategy_run(
            strategy,
            before,
            us=us,
            cutter=x,
            cut=float(market.prices[x]) * (1 - k / 100),
            cut_pct=k,
            held=held,
            quality_step=quality_step,
            quality_cost=quality_cost,
            niche_alpha_factor=niche_alpha_factor,
            niche_market_share=niche_market_share,
        )
        r = logit_nash_equilibrium(
            cc,
            qq,
            aa,
            names=market.names,
            market_size=mm,
            fixed_prices=fixed,
            start=before.prices,
            **solver,
        )
        return float(r.profits[us]) - f_cost

    return _first_root(profit, top)


def _first_root(f: Callable[[float], float], top: float, steps: int = 20) -> float | None:
    """The first k in [0, top] where f turns negative (None if f(0) < 0, top if never)."""
    lo, f_lo = 0.0, f(0.0)
    if f_lo < 0:
        return None
    for hi in np.linspace(0.0, top, steps + 1)[1:]:
        f_hi = f(float(hi))
        if f_hi < 0:
            return float(brentq(f, lo, float(hi), xtol=1e-12, rtol=8 * np.finfo(float).eps))
        lo = float(hi)
    return top
