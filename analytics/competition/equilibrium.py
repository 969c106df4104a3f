"""The logit Bertrand–Nash equilibrium: best responses in closed form (Lambert W) and
damped best-response iteration, with some firms' prices held fixed."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.special import wrightomega

from analytics.demand import FloatArray, log1p_sum_exp, logit_shares, shifted_exp
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
        converged: whether the largest FOC residual fell below the tolerance (relative to
            the price above a price of 1).
        max_residual: max |p_j − BR_j(p)| over the optimising firms at the end (USD).
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
        return pd.DataFrame(
            {
                "firm": list(self.names),
                "price": self.prices,
                "cost": self.costs,
                "quality": self.qualities,
                "share": self.shares,
                "profit": self.profits,
                "margin": (self.prices - self.costs) / self.prices,
                "fixed": self.fixed,
            }
        )

    def index(self, firm: int | str) -> int:
        """Position of a firm given by name or index."""
        return firm_index(self.names, firm)


NDArrayBool = np.ndarray


def firm_index(names: Sequence[str], firm: int | str) -> int:
    """The position of ``firm`` (a name or an index, negative from the end) in ``names``;
    ``KeyError`` naming the firms when there is none."""
    if isinstance(firm, str):
        try:
            return list(names).index(firm)
        except ValueError:
            raise KeyError(f"no firm named {firm!r}; firms: {', '.join(names)}") from None
    if not -len(names) <= firm < len(names):
        raise KeyError(f"firm index {firm} out of range")
    return int(firm) % len(names)


def _leave_one_out_log_denominator(u: FloatArray) -> FloatArray:
    """log D_j = log(1 + Σ_{k≠j} e^{u_k}) for every j: a J×J log-sum-exp with the diagonal
    left out, exact to a few ulp however one utility dominates."""
    leave_out = np.eye(u.size, dtype=bool)
    return log1p_sum_exp(np.where(leave_out, -np.inf, u[np.newaxis, :]), axis=1)


def best_response(
    prices: ArrayLike, costs: ArrayLike, qualities: ArrayLike, alpha: float
) -> FloatArray:
    """Every firm's profit-maximising price given the others' ``prices`` (vectorised).

    p_j = c_j + (1 + W(e^{q_j − α c_j − 1}/D_j))/α, with log D_j a leave-one-out
    log-sum-exp and W(e^z) evaluated as Wright's ω(z), so no step over- or underflows.

    Example:
        >>> [round(float(p), 4) for p in best_response([1.0, 1.0], [0.3, 0.5], [1, 1.5], 2.0)]
        [0.9313, 1.1607]
    """
    p, c, q = (np.asarray(x, float).ravel() for x in (prices, costs, qualities))
    log_d = _leave_one_out_log_denominator(q - alpha * p)
    with np.errstate(invalid="ignore"):
        w = wrightomega(q - alpha * c - 1.0 - log_d).real  # W(e^z) without overflow
    return c + (1.0 + w) / alpha


def fixed_by_index(
    names: Sequence[str], fixed_prices: Mapping[int | str, float] | None
) -> dict[int, float]:
    """``fixed_prices`` keyed by firm position, each price checked to be a finite number."""
    out: dict[int, float] = {}
    for firm, price in (fixed_prices or {}).items():
        value = float(price)
        if not math.isfinite(value):
            raise ValueError(f"the fixed price of {firm!r} is not a finite number")
        out[firm_index(names, firm)] = value
    return out


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
        tol: convergence tolerance on max |BR(p) − p| / max(1, |p|) (absolute for prices
            up to 1, relative above, so a $100 price is not asked for 1e-14 of a dollar).
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
    if start is not None:
        p = np.asarray(start, float).ravel().copy()
        if p.shape != c.shape:
            raise ValueError(f"start must have one price per firm ({c.size}), got {p.size}")
    else:
        p = c + 1.0 / alpha
    fixed = np.zeros(c.size, bool)
    for i, price in fixed_by_index(firm_names, fixed_prices).items():
        fixed[i] = True
        p[i] = price
    free = ~fixed
    residual = scaled = 0.0
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - reported after the loop
        with np.errstate(invalid="ignore"):
            step = np.where(free, best_response(p, c, q, alpha) - p, 0.0)
        residual = float(np.abs(step).max()) if free.any() else 0.0
        scaled = float((np.abs(step) / np.maximum(1.0, np.abs(p))).max()) if free.any() else 0.0
        if not (np.isfinite(residual) and np.isfinite(scaled)) or scaled < tol:
            break
        p = p + damping * step
    converged = bool(np.isfinite(residual) and np.isfinite(scaled) and scaled < tol)
    if not converged and raise_on_failure:
        raise EquilibriumNotConvergedError(
            f"best response did not converge in {iterations} iterations "
            f"(last price change {residual:.3g} ≥ tolerance {tol:.3g}); "
            "try more iterations or a smaller damping",
            iterations=iterations,
            max_change=residual,
            last=p.copy(),
        )
    s = logit_shares(p, q, alpha)
    m, _, total = shifted_exp(q - alpha * p)
    outside = float((np.exp(-m) / total)[0])  # exact, never 1 − (a sum close to 1)
    return EquilibriumResult(
        names=firm_names,
        prices=p,
        shares=s,
        profits=market_size * (p - c) * s,
        outside_share=outside,
        costs=c,
        qualities=q,
        alpha=float(alpha),
        market_size=float(market_size),
        fixed=fixed,
        iterations=iterations,
        converged=converged,
        max_residual=residual,
    )
