"""Price war: multi-firm logit Bertrand–Nash equilibrium and strategy comparison.

Customers choose one product among J firms (one product each) or an outside option of
utility 0; product j gives utility q_j − α·p_j. Firm j's profit is M·(p_j − c_j)·s_j. Its
first-order condition is p_j = c_j + 1/(α(1 − s_j)); given its rivals' prices the best
response has the closed form p_j = c_j + (1 + W(e^{q_j − α c_j − 1}/D_j))/α with Lambert W
and D_j = 1 + Σ_{k≠j} e^{q_k − α p_k}. The equilibrium is found by damped best response;
non-convergence raises ``EquilibriumNotConvergedError`` (or is flagged when asked), never
returns a silent wrong answer.

Example:
    >>> eq = logit_nash_equilibrium([0.3, 0.5], [1.0, 1.5], alpha=2.0)
    >>> eq.converged, [round(float(p), 4) for p in eq.prices]
    (True, [0.9429, 1.1569])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.special import wrightomega

from analytics.demand import FloatArray, logit_shares
from analytics.errors import EquilibriumNotConvergedError


@dataclass(frozen=True)
class EquilibriumResult:
    """Prices, shares and profits of a (possibly partly fixed) logit price equilibrium.

    Attributes:
        names: firm names.
        prices, shares, profits: per firm (profits = market_size·(p − c)·s).
        outside_share: share of the outside option.
        costs, qualities, alpha, market_size: the inputs.
        fixed: which firms' prices were held fixed (not optimised).
        iterations: best-response iterations run.
        converged: whether the largest FOC residual fell below the tolerance.
        max_residual: max |p_j − BR_j(p)| over the optimising firms at the end.
    """

    names: tuple[str, ...]
    prices: FloatArray
    shares: FloatArray
    profits: FloatArray
    outside_share: float
    costs: FloatArray
    qualities: FloatArray
    alpha: float
    market_size: float
    fixed: NDArrayBool = field(repr=False)
    iterations: int
    converged: bool
    max_residual: float

    def to_frame(self) -> pd.DataFrame:
        """One row per firm: ``firm``, ``price``, ``cost``, ``quality``, ``share``,
        ``profit``, ``margin`` ((p − c)/p), ``fixed``."""
        return pd.DataFrame({
            "firm": list(self.names), "price": self.prices, "cost": self.costs,
            "quality": self.qualities, "share": self.shares, "profit": self.profits,
            "margin": (self.prices - self.costs) / self.prices, "fixed": self.fixed,
        })

    def index(self, firm: int | str) -> int:
        """Position of a firm given by name or index."""
        return _index(self.names, firm)


NDArrayBool = np.ndarray


def _index(names: Sequence[str], firm: int | str) -> int:
    if isinstance(firm, str):
        try:
            return list(names).index(firm)
        except ValueError:
            raise KeyError(f"no firm named {firm!r}; firms: {', '.join(names)}") from None
    if not -len(names) <= firm < len(names):
        raise KeyError(f"firm index {firm} out of range")
    return int(firm) % len(names)


def best_response(prices: ArrayLike, costs: ArrayLike, qualities: ArrayLike,
                  alpha: float) -> FloatArray:
    """Every firm's profit-maximising price given the others' ``prices`` (vectorised)."""
    p, c, q = (np.asarray(x, float) for x in (prices, costs, qualities))
    u = q - alpha * p
    m = max(float(u.max()), 0.0)
    e = np.exp(u - m)
    log_d = m + np.log(np.exp(-m) + e.sum() - e)        # log(1 + Σ_{k≠j} e^{u_k})
    w = wrightomega(q - alpha * c - 1.0 - log_d).real   # W(e^z) without overflow
    return c + (1.0 + w) / alpha


def logit_nash_equilibrium(
    costs: ArrayLike,
    qualities: ArrayLike,
    alpha: float,
    *,
    names: Sequence[str] | None = None,
    market_size: float = 1.0,
    fixed_prices: Mapping[int | str, float] | None = None,
    start: ArrayLike | None = None,
    damping: float = 0.7,
    tol: float = 1e-12,
    max_iter: int = 5_000,
    raise_on_failure: bool = True,
) -> EquilibriumResult:
    """Bertrand–Nash equilibrium prices of a logit market, by damped best response.

    Args:
        costs: unit cost per firm (one product per firm).
        qualities: quality term per firm (utility at a zero price).
        alpha: price sensitivity α > 0 (utility per USD).
        names: firm names (default "firm 0", "firm 1", …).
        market_size: customers (or units) in the market, scales profits.
        fixed_prices: firms (by index or name) whose prices are held at the given values,
            e.g. a competitor that has cut its price; the others best-respond.
        start: starting prices (default: costs + 1/α).
        damping: weight λ ∈ (0, 1] of the best response in p ← p + λ·(BR(p) − p).
        tol: convergence tolerance on max |BR(p) − p|.
        max_iter: iteration limit.
        raise_on_failure: raise ``EquilibriumNotConvergedError`` on non-convergence
            (default); when False, return the last iterate with ``converged=False``.

    Returns:
        An ``EquilibriumResult``; at convergence p_j = c_j + 1/(α(1 − s_j)) for every
        optimising firm.

    Example:
        >>> eq = logit_nash_equilibrium([1, 1], [2, 2], alpha=1.0, names=["us", "them"])
        >>> abs(eq.prices[0] - 1 - 1 / (1 - eq.shares[0])) < 1e-9
        np.True_
    """
    c = np.asarray(costs, float).ravel()
    q = np.asarray(qualities, float).ravel()
    if c.shape != q.shape or c.size == 0:
        raise ValueError("costs and qualities must be non-empty and of equal length")
    if not alpha > 0:
        raise ValueError("alpha must be > 0")
    if not 0 < damping <= 1:
        raise ValueError("damping must be in (0, 1]")
    firm_names = tuple(names) if names is not None else tuple(f"firm {i}" for i in range(c.size))
    if len(firm_names) != c.size:
        raise ValueError("names must have one entry per firm")
    p = np.asarray(start, float).copy() if start is not None else c + 1.0 / alpha
    fixed = np.zeros(c.size, bool)
    for firm, price in (fixed_prices or {}).items():
        i = _index(firm_names, firm)
        fixed[i] = True
        p[i] = float(price)
    free = ~fixed
    residual = 0.0
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - reported after the loop
        step = np.where(free, best_response(p, c, q, alpha) - p, 0.0)
        residual = float(np.abs(step).max()) if free.any() else 0.0
        if not np.isfinite(residual):
            break
        if residual < tol:
            break
        p = p + damping * step
    converged = bool(np.isfinite(residual) and residual < tol)
    if not converged and raise_on_failure:
        raise EquilibriumNotConvergedError(
            f"best response did not converge in {iterations} iterations "
            f"(last price change {residual:.3g} ≥ tolerance {tol:.3g}); "
            "try more iterations or a smaller damping",
            iterations=iterations, max_change=residual, last=p.copy())
    s = logit_shares(p, q, alpha)
    return EquilibriumResult(
        names=firm_names, prices=p, shares=s, profits=market_size * (p - c) * s,
        outside_share=float(1.0 - s.sum()), costs=c, qualities=q, alpha=float(alpha),
        market_size=float(market_size), fixed=fixed, iterations=iterations,
        converged=converged, max_residual=residual)


def alpha_from_elasticity(elasticity: float, price: float, share: float) -> float:
    """Logit α implied by an own-price elasticity: ε = −α·p·(1 − s) ⇒ α = −ε/(p(1 − s)).

    This is how a fitted elasticity (and its shift with competitor-mention pressure) feeds
    the price-war model.
    """
    if price <= 0 or not 0 <= share < 1:
        raise ValueError("need price > 0 and share in [0, 1)")
    if elasticity >= 0:
        raise ValueError("elasticity must be negative")
    return -elasticity / (price * (1.0 - share))


def calibrate_qualities(prices: ArrayLike, shares: ArrayLike, alpha: float) -> FloatArray:
    """Quality terms that reproduce observed shares at observed prices (Berry inversion):
    q_j = ln(s_j/s₀) + α·p_j, with s₀ = 1 − Σ s_j the outside share."""
    s = np.asarray(shares, float)
    s0 = 1.0 - s.sum()
    if np.any(s <= 0) or s0 <= 0:
        raise ValueError("shares must be positive and sum to less than 1 (outside option)")
    return np.log(s / s0) + alpha * np.asarray(prices, float)


def implied_costs(prices: ArrayLike, shares: ArrayLike, alpha: float) -> FloatArray:
    """Unit costs that make observed prices an equilibrium: c_j = p_j − 1/(α(1 − s_j))."""
    return np.asarray(prices, float) - 1.0 / (alpha * (1.0 - np.asarray(shares, float)))


@dataclass(frozen=True)
class PriceCutResult:
    """Before and after a competitor's price cut.

    Attributes:
        before: the equilibrium before the cut.
        after: the equilibrium with the competitor's price fixed at the cut.
        competitor: the index of the firm that cut.
        table: per firm ``firm``, ``price_before``, ``price_after``, ``share_before``,
            ``share_after``, ``profit_before``, ``profit_after`` and the changes.
    """

    before: EquilibriumResult
    after: EquilibriumResult
    competitor: int
    table: pd.DataFrame


def price_cut_scenario(
    costs: ArrayLike, qualities: ArrayLike, alpha: float, *,
    competitor: int | str, cut_pct: float, names: Sequence[str] | None = None,
    market_size: float = 1.0, base_prices: ArrayLike | None = None, **solver: Any,
) -> PriceCutResult:
    """"Competitor X cuts its price by k %": the new equilibrium, others re-optimising.

    Args:
        competitor: the firm that cuts (index or name).
        cut_pct: the cut in percent (10 = 10 % lower).
        base_prices: the price the cut starts from (default: X's equilibrium price).
        solver: passed to ``logit_nash_equilibrium`` (damping, tol, max_iter).
    """
    before = logit_nash_equilibrium(costs, qualities, alpha, names=names,
                                    market_size=market_size, **solver)
    i = before.index(competitor)
    base = (np.asarray(base_prices, float) if base_prices is not None else before.prices)[i]
    after = logit_nash_equilibrium(costs, qualities, alpha, names=before.names,
                                   market_size=market_size,
                                   fixed_prices={i: base * (1 - cut_pct / 100.0)},
                                   start=before.prices, **solver)
    b, a = before.to_frame(), after.to_frame()
    table = pd.DataFrame({
        "firm": b["firm"], "price_before": b["price"], "price_after": a["price"],
        "price_change_pct": (a["price"] / b["price"] - 1) * 100,
        "share_before": b["share"], "share_after": a["share"],
        "profit_before": b["profit"], "profit_after": a["profit"],
        "profit_change": a["profit"] - b["profit"],
    })
    return PriceCutResult(before=before, after=after, competitor=i, table=table)


STRATEGIES: tuple[str, ...] = ("hold", "match", "best response", "differentiate", "niche")


@dataclass(frozen=True)
class StrategyComparison:
    """Our options after a competitor's cut, side by side.

    Attributes:
        table: one row per strategy: ``strategy``, ``our_price``, ``our_share``,
            ``our_profit``, ``profit_vs_before`` (change against the pre-cut equilibrium),
            ``profit_vs_hold``, ``competitor_price``, ``mean_rival_price``, ``description``.
        results: the equilibrium behind each row, by strategy.
        before: the pre-cut equilibrium.
    """

    table: pd.DataFrame
    results: dict[str, EquilibriumResult]
    before: EquilibriumResult


def compare_strategies(
    costs: ArrayLike, qualities: ArrayLike, alpha: float, *,
    competitor: int | str, cut_pct: float, ours: int | str = 0,
    names: Sequence[str] | None = None, market_size: float = 1.0,
    quality_step: float = 0.5, quality_cost: float = 0.0,
    niche_alpha_factor: float = 0.5, niche_market_share: float = 0.2,
    **solver: Any,
) -> StrategyComparison:
    """Compare hold, match, best response, differentiate and niche after a competitor's cut.

    Every strategy holds the competitor at its cut price; rivals other than us and the
    competitor re-optimise.

    * hold: we keep our pre-cut equilibrium price.
    * match: we cut our price by the same percentage.
    * best response: we re-optimise (the new equilibrium).
    * differentiate: our quality rises by ``quality_step`` (utility units) at an extra unit
      cost ``quality_cost``, and we re-optimise.
    * niche: we serve only a niche segment of ``niche_market_share`` of the market whose
      customers are less price sensitive (α × ``niche_alpha_factor``), and re-optimise.

    Example:
        >>> cmp = compare_strategies([0.3, 0.3, 0.4], [1, 1, 1.2], 2.0, competitor=1,
        ...                          cut_pct=20, names=["us", "rival", "other"])
        >>> cmp.table["strategy"].tolist()
        ['hold', 'match', 'best response', 'differentiate', 'niche']
    """
    before = logit_nash_equilibrium(costs, qualities, alpha, names=names,
                                    market_size=market_size, **solver)
    us, x = before.index(ours), before.index(competitor)
    if us == x:
        raise ValueError("the competitor that cuts must not be us")
    cut = float(before.prices[x] * (1 - cut_pct / 100.0))
    c, q = before.costs, before.qualities
    q_diff = q.copy()
    q_diff[us] += quality_step
    c_diff = c.copy()
    c_diff[us] += quality_cost
    our_cut = before.prices[us] * (1 - cut_pct / 100.0)
    # strategy: (costs, qualities, alpha, market size, fixed prices)
    runs: dict[str, tuple[FloatArray, FloatArray, float, float, dict[int | str, float]]] = {
        "hold": (c, q, alpha, market_size, {x: cut, us: float(before.prices[us])}),
        "match": (c, q, alpha, market_size, {x: cut, us: our_cut}),
        "best response": (c, q, alpha, market_size, {x: cut}),
        "differentiate": (c_diff, q_diff, alpha, market_size, {x: cut}),
        "niche": (c, q, alpha * niche_alpha_factor, market_size * niche_market_share, {x: cut}),
    }
    descriptions = {
        "hold": "keep our price; the cutter and rivals move",
        "match": f"cut our price by the same {cut_pct:g} %",
        "best response": "re-optimise our price against the cut",
        "differentiate": f"raise quality by {quality_step:g} (unit cost +{quality_cost:g}) "
                         "and re-optimise",
        "niche": f"serve only a {niche_market_share:.0%} niche, "
                 f"{niche_alpha_factor:g}× as price sensitive, and re-optimise",
    }
    results = {
        k: logit_nash_equilibrium(cc, qq, aa, names=before.names, market_size=mm,
                                  fixed_prices=fixed, start=before.prices, **solver)
        for k, (cc, qq, aa, mm, fixed) in runs.items()}
    hold_profit = results["hold"].profits[us]
    rivals = [j for j in range(len(before.names)) if j != us]
    rows = [{
        "strategy": k, "our_price": r.prices[us], "our_share": r.shares[us],
        "our_profit": r.profits[us],
        "profit_vs_before": r.profits[us] - before.profits[us],
        "profit_vs_hold": r.profits[us] - hold_profit,
        "competitor_price": r.prices[x], "mean_rival_price": float(r.prices[rivals].mean()),
        "description": descriptions[k],
    } for k, r in results.items()]
    return StrategyComparison(table=pd.DataFrame(rows), results=results, before=before)
