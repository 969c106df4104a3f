"""Profit, the profit-maximising price, break-even and goal seek.

Profit is Π(p) = (p − c)·Q(p) − F. The optimum is where marginal revenue equals marginal
cost, not where price equals marginal cost (that is only the price-taker case):

* linear demand Q = a − b·p: p* = (a/b + c)/2;
* constant elasticity Q = A·p^ε with ε < −1: p* = c·ε/(1 + ε) (with −1 ≤ ε there is no
  interior optimum: revenue never falls as the price rises, and ``NoInteriorOptimumError``
  says so instead of returning a number);
* logit: p* = c + (1 + W(e^{q − αc − 1}/D))/α (Lambert W), the solution of
  p = c + 1/(α(1 − s));
* anything else: ``scipy.optimize.minimize_scalar`` on a bounded interval.

Example:
    >>> r = optimal_price(LinearDemand(a=100, b=2), unit_cost=10)
    >>> r.price, r.quantity, r.profit
    (30.0, 40.0, 800.0)
    >>> break_even_volume(price=30, unit_cost=10, fixed_cost=1000)
    50.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import optimize as sopt
from scipy.special import lambertw

from analytics.demand import (
    ConstantElasticityDemand,
    Demand,
    FloatArray,
    LinearDemand,
    LogitDemand,
)
from analytics.errors import GoalNotReachableError, NoInteriorOptimumError


def _out(values: FloatArray, *likes: ArrayLike) -> FloatArray | float:
    return float(values) if all(np.ndim(x) == 0 for x in likes) else values


@dataclass(frozen=True)
class PriceOptimum:
    """The profit-maximising price and what it yields.

    Attributes:
        price: the optimal price p*.
        quantity: Q(p*).
        profit: Π(p*) = (p* − c)·Q(p*) − F (may be negative when F is large: see
            ``covers_fixed_cost``).
        revenue: p*·Q(p*).
        unit_cost: c.
        fixed_cost: F.
        method: "closed form" or "numerical".
    """

    price: float
    quantity: float
    profit: float
    revenue: float
    unit_cost: float
    fixed_cost: float
    method: str

    @property
    def contribution_margin(self) -> float:
        """(p* − c)/p*, the share of each dollar of revenue left after variable cost."""
        return (self.price - self.unit_cost) / self.price if self.price else float("nan")

    @property
    def markup(self) -> float:
        """(p* − c)/c."""
        return (self.price - self.unit_cost) / self.unit_cost if self.unit_cost else float("inf")

    @property
    def covers_fixed_cost(self) -> bool:
        """Whether the best price earns a non-negative profit after fixed costs."""
        return self.profit >= 0


def profit(
    demand: Demand, price: ArrayLike, unit_cost: ArrayLike, fixed_cost: ArrayLike = 0.0
) -> FloatArray | float:
    """Π = (p − c)·Q(p) − F, vectorised over any broadcastable arguments."""
    p = np.asarray(price, dtype=float)
    q = np.asarray(demand.quantity(p), dtype=float)
    values = (p - np.asarray(unit_cost, float)) * q - np.asarray(fixed_cost, float)
    return _out(values, price, unit_cost, fixed_cost)


def _result(demand: Demand, p: float, c: float, f: float, method: str) -> PriceOptimum:
    q = float(demand.quantity(p))
    return PriceOptimum(
        price=float(p),
        quantity=q,
        profit=(p - c) * q - f,
        revenue=p * q,
        unit_cost=float(c),
        fixed_cost=float(f),
        method=method,
    )


def optimal_price(
    demand: Demand,
    unit_cost: float,
    fixed_cost: float = 0.0,
    *,
    bounds: tuple[float, float] | None = None,
) -> PriceOptimum:
    """The profit-maximising price: marginal revenue = marginal cost.

    Args:
        demand: a ``LinearDemand``, ``ConstantElasticityDemand``, ``LogitDemand`` or any
            object with a vectorised ``quantity(price)`` (then ``bounds`` is required).
        unit_cost: variable cost per unit c (USD per million tokens).
        fixed_cost: fixed cost F per period; it changes the profit, never the price.
        bounds: search interval for demand curves without a closed form.

    Returns:
        A ``PriceOptimum`` with ``.price``, ``.quantity``, ``.profit``.

    Raises:
        NoInteriorOptimumError: when no finite price maximises profit (|ε| ≤ 1, or the
            unit cost is at or above the linear choke price, or the numerical maximum
            sits on a bound).

    Example:
        >>> optimal_price(ConstantElasticityDemand(scale=100, elasticity=-2), unit_cost=0.5).price
        1.0
    """
    c, f = float(unit_cost), float(fixed_cost)
    if not math.isfinite(c) or not math.isfinite(f):
        raise ValueError("unit_cost and fixed_cost must be finite")
    if isinstance(demand, LinearDemand):
        if c >= demand.choke_price:
            raise NoInteriorOptimumError(
                f"unit cost {c:g} is at or above the choke price {demand.choke_price:g}: "
                "no price sells at a profit"
            )
        return _result(demand, (demand.choke_price + c) / 2.0, c, f, "closed form")
    if isinstance(demand, ConstantElasticityDemand):
        e = demand.elasticity
        if e >= 0.0:
            raise NoInteriorOptimumError(
                f"elasticity {e:g} ≥ 0 means demand does not fall as the price rises: profit "
                "grows without bound, so there is no optimum. Check the elasticity's sign."
            )
        if e >= -1.0:
            raise NoInteriorOptimumError(
                f"elasticity {e:g} means demand is inelastic (|ε| ≤ 1): revenue keeps rising "
                "with the price, so profit has no interior maximum. Use a price ceiling, or "
                "re-estimate the elasticity."
            )
        if c <= 0:
            raise NoInteriorOptimumError(
                "with a zero unit cost and constant elasticity the optimum is at price 0"
            )
        return _result(demand, c * e / (1.0 + e), c, f, "closed form")
    if isinstance(demand, LogitDemand):
        a = demand.alpha
        w = lambertw(math.exp(demand.quality - a * c - 1.0) / demand.rival_denominator).real
        return _result(demand, c + (1.0 + float(w)) / a, c, f, "closed form")
    if bounds is None:
        raise ValueError("bounds=(low, high) is required for demand without a closed form")
    lo, hi = bounds
    res = sopt.minimize_scalar(
        lambda p: -float(profit(demand, p, c, f)),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-10 * max(1.0, hi)},
    )
    p = float(res.x)
    if not res.success or min(p - lo, hi - p) <= 1e-6 * (hi - lo):
        raise NoInteriorOptimumError(
            f"the profit maximum lies on the search bound ({p:g} in [{lo:g}, {hi:g}]): "
            "no interior optimum in that range"
        )
    return _result(demand, p, c, f, "numerical")


@dataclass(frozen=True)
class ProfitCurve:
    """Revenue, cost and profit along a grid of prices (arrays of equal length)."""

    price: FloatArray
    quantity: FloatArray
    revenue: FloatArray
    variable_cost: FloatArray
    total_cost: FloatArray
    profit: FloatArray

    def to_frame(self) -> pd.DataFrame:
        """One row per price."""
        return pd.DataFrame(
            {
                k: getattr(self, k)
                for k in ("price", "quantity", "revenue", "variable_cost", "total_cost", "profit")
            }
        )


def profit_curve(
    demand: Demand,
    unit_cost: float,
    fixed_cost: float = 0.0,
    *,
    prices: ArrayLike | None = None,
    low: float = 0.05,
    high: float = 5.0,
    points: int = 200,
) -> ProfitCurve:
    """Profit curve over ``prices`` (or ``points`` prices evenly spread on [low, high]).

    Example:
        >>> pc = profit_curve(LinearDemand(100, 2), 10, prices=[10, 30, 50])
        >>> pc.profit.tolist()
        [0.0, 800.0, 0.0]
    """
    p = np.asarray(prices if prices is not None else np.linspace(low, high, points), float)
    q = np.asarray(demand.quantity(p), float)
    vc = unit_cost * q
    return ProfitCurve(
        price=p,
        quantity=q,
        revenue=p * q,
        variable_cost=vc,
        total_cost=vc + fixed_cost,
        profit=p * q - vc - fixed_cost,
    )


def break_even_volume(price: float, unit_cost: float, fixed_cost: float) -> float:
    """The volume at which contribution covers fixed costs: F/(p − c).

    Returns ``math.inf`` when the price does not exceed the unit cost and F > 0 (no volume
    breaks even), and 0.0 when F = 0 (every volume breaks even at p ≥ c).

    Example:
        >>> break_even_volume(2.0, 0.5, 3000.0)
        2000.0
    """
    p, c, f = float(price), float(unit_cost), float(fixed_cost)
    if f <= 0:
        return 0.0 if p >= c else (0.0 if f == 0 else math.inf)
    return f / (p - c) if p > c else math.inf


def contribution_margin(price: ArrayLike, unit_cost: ArrayLike) -> FloatArray | float:
    """Contribution per unit, p − c."""
    return _out(np.asarray(price, float) - np.asarray(unit_cost, float), price, unit_cost)


def contribution_margin_ratio(price: ArrayLike, unit_cost: ArrayLike) -> FloatArray | float:
    """Contribution margin as a share of price, (p − c)/p (NaN at p = 0)."""
    p = np.asarray(price, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(p != 0, (p - np.asarray(unit_cost, float)) / np.where(p != 0, p, 1), np.nan)
    return _out(r, price, unit_cost)


def price_for_margin(unit_cost: float, target_margin: float) -> float:
    """Goal seek: the price whose contribution margin (p − c)/p equals ``target_margin``.

    p = c/(1 − m). Raises ``GoalNotReachableError`` for m ≥ 1.

    Example:
        >>> price_for_margin(0.4, 0.6)
        1.0
    """
    if target_margin >= 1:
        raise GoalNotReachableError("a margin of 100 % or more needs an infinite price")
    return float(unit_cost) / (1.0 - float(target_margin))


def price_for_profit(
    demand: Demand,
    unit_cost: float,
    fixed_cost: float,
    target_profit: float,
    *,
    side: Literal["lower", "upper"] = "lower",
    bounds: tuple[float, float] | None = None,
) -> float:
    """Goal seek: a price at which Π(p) = ``target_profit``.

    Profit is single-peaked in price, so the target is met (if at all) at one price below the
    optimum ("lower": more volume) and one above it ("upper"). With ``target_profit`` equal
    to 0 this is the break-even price.

    Raises:
        GoalNotReachableError: when the target exceeds the maximum profit, or lies below
            the profit reachable on that side (the upper side of constant-elasticity demand
            approaches −F only asymptotically).
        NoInteriorOptimumError: as ``optimal_price``.

    Example:
        >>> round(price_for_profit(LinearDemand(100, 2), 10, 0, 600, side="lower"), 6)
        20.0
    """
    c, f, t = float(unit_cost), float(fixed_cost), float(target_profit)
    best = optimal_price(demand, c, f, bounds=bounds)
    if t > best.profit + 1e-12 * max(1.0, abs(best.profit)):
        raise GoalNotReachableError(
            f"target profit {t:,.2f} exceeds the maximum {best.profit:,.2f} "
            f"(reached at price {best.price:,.4g})"
        )
    if math.isclose(t, best.profit, rel_tol=1e-12, abs_tol=1e-12):
        return best.price

    def g(p: float) -> float:
        return float(profit(demand, p, c, f)) - t

    if side == "lower":
        lo = max(c, 1e-12) if isinstance(demand, ConstantElasticityDemand) else c
        lo = min(lo, best.price)
        if g(lo) > 0:
            lo = 0.0 if not isinstance(demand, ConstantElasticityDemand) else lo
            if g(lo) > 0:
                raise GoalNotReachableError(
                    f"profit stays above {t:,.2f} down to price {lo:g} on the lower side"
                )
        return float(sopt.brentq(g, lo, best.price, xtol=1e-12, rtol=1e-12))
    if isinstance(demand, LinearDemand):
        if t > 0 or (t == 0 and f > 0):
            return float(sopt.brentq(g, best.price, demand.choke_price, xtol=1e-12, rtol=1e-12))
        if t < -f:
            raise GoalNotReachableError(
                f"profit never falls below {-f:,.2f} (no sales above the choke price)"
            )
        # Π = −F above the choke price; the smallest price reaching the target
        return float(
            sopt.brentq(g, best.price, demand.choke_price, xtol=1e-12, rtol=1e-12)
            if g(demand.choke_price) < 0
            else demand.choke_price
        )
    else:
        hi = best.price * 2
        while g(hi) > 0 and hi < best.price * 1e15:
            hi *= 4
    if g(hi) > 0:
        raise GoalNotReachableError(
            f"profit does not fall to {t:,.2f} at any higher price (it tends to {-f:,.2f})"
        )
    # solve on the log scale: the upper root can lie orders of magnitude above the optimum
    x = sopt.brentq(
        lambda lp: g(math.exp(lp)),
        math.log(best.price),
        math.log(hi),
        xtol=1e-14,
        rtol=1e-13,
        maxiter=500,
    )
    return float(math.exp(x))


def break_even_prices(
    demand: Demand,
    unit_cost: float,
    fixed_cost: float,
    *,
    bounds: tuple[float, float] | None = None,
) -> tuple[float, float]:
    """The lowest and highest prices with Π(p) = 0 (profit ≥ 0 in between).

    The upper one is ``math.inf`` when profit stays non-negative for every higher price
    (constant elasticity with F = 0).

    Raises:
        GoalNotReachableError: when no price covers the fixed cost.

    Example:
        >>> break_even_prices(LinearDemand(100, 2), 10, 0)
        (10.0, 50.0)
    """
    low = price_for_profit(demand, unit_cost, fixed_cost, 0.0, side="lower", bounds=bounds)
    try:
        high = price_for_profit(demand, unit_cost, fixed_cost, 0.0, side="upper", bounds=bounds)
    except GoalNotReachableError:
        high = math.inf
    return low, high
