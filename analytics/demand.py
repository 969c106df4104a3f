"""Demand curves: linear, constant elasticity, and logit shares with an outside option.

Every ``quantity`` accepts a scalar or a NumPy array of prices and returns the same shape.
Prices are USD per million tokens; quantities are in whatever unit the curve was calibrated
in (the scenario layer uses millions of tokens per month).

Example:
    >>> d = LinearDemand(a=100.0, b=2.0)
    >>> float(d.quantity(10.0))
    80.0
    >>> c = ConstantElasticityDemand.through(price=1.0, quantity=500.0, elasticity=-1.8)
    >>> round(float(c.quantity(2.0)), 2)
    143.59
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit

FloatArray = NDArray[np.float64]


@runtime_checkable
class Demand(Protocol):
    """Anything with a vectorised ``quantity(price)``."""

    def quantity(self, price: ArrayLike) -> FloatArray | float:
        """Quantity demanded at ``price``."""
        ...


def _out(values: FloatArray, like: ArrayLike) -> FloatArray | float:
    """Return a Python float for scalar input, the array otherwise."""
    return float(values) if np.ndim(like) == 0 else values


@dataclass(frozen=True)
class LinearDemand:
    """Linear demand Q = a − b·p, floored at zero above the choke price a/b.

    Args:
        a: quantity at a zero price (> 0).
        b: slope, quantity lost per USD of price (> 0).
    """

    a: float
    b: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.a) and math.isfinite(self.b)) or self.a <= 0 or self.b <= 0:
            raise ValueError(f"LinearDemand needs a > 0 and b > 0, got a={self.a}, b={self.b}")

    @property
    def choke_price(self) -> float:
        """The price at which demand reaches zero, a/b."""
        return self.a / self.b

    def quantity(self, price: ArrayLike) -> FloatArray | float:
        """Q(p) = max(a − b·p, 0)."""
        p = np.asarray(price, dtype=float)
        return _out(np.maximum(self.a - self.b * p, 0.0), price)

    def elasticity_at(self, price: ArrayLike) -> FloatArray | float:
        """Point elasticity −b·p / Q(p) (−inf at or above the choke price)."""
        p = np.asarray(price, dtype=float)
        q = self.a - self.b * p
        with np.errstate(divide="ignore", invalid="ignore"):
            e = np.where(q > 0, -self.b * p / np.where(q > 0, q, 1.0), -np.inf)
        return _out(e, price)

    @classmethod
    def through(cls, price: float, quantity: float, elasticity: float) -> LinearDemand:
        """The linear curve through (price, quantity) with the given point elasticity (< 0)."""
        if elasticity >= 0 or price <= 0 or quantity <= 0:
            raise ValueError("need price > 0, quantity > 0 and a negative elasticity")
        b = -elasticity * quantity / price
        return cls(a=quantity + b * price, b=b)


@dataclass(frozen=True)
class ConstantElasticityDemand:
    """Constant-elasticity demand Q = scale·p^elasticity (p > 0).

    Args:
        scale: quantity at a price of 1 (> 0).
        elasticity: the price elasticity ε (normally negative; |ε| > 1 for an interior
            profit maximum).
    """

    scale: float
    elasticity: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.scale) and math.isfinite(self.elasticity)) or self.scale <= 0:
            raise ValueError(
                f"ConstantElasticityDemand needs scale > 0 and a finite elasticity, "
                f"got scale={self.scale}, elasticity={self.elasticity}"
            )

    def quantity(self, price: ArrayLike) -> FloatArray | float:
        """Q(p) = scale·p^ε; prices must be positive."""
        p = np.asarray(price, dtype=float)
        if np.any(p <= 0):
            raise ValueError("constant-elasticity demand is defined for positive prices only")
        return _out(self.scale * np.power(p, self.elasticity), price)

    def elasticity_at(self, price: ArrayLike) -> FloatArray | float:
        """ε at every price."""
        return _out(np.full(np.shape(price), self.elasticity, dtype=float), price)

    @classmethod
    def through(cls, price: float, quantity: float, elasticity: float) -> ConstantElasticityDemand:
        """The curve with elasticity ε passing through (price, quantity)."""
        if price <= 0 or quantity <= 0:
            raise ValueError("need price > 0 and quantity > 0")
        return cls(scale=quantity / price**elasticity, elasticity=elasticity)


def shifted_exp(u: ArrayLike, axis: int = -1) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(m, e, t): m = max(0, max_k u_k), e = exp(u − m), t = exp(−m) + Σ_k e_k along ``axis``.

    The shift makes the largest of {0 (the outside option), u_k} exactly 1, so t lies in
    [1, J + 1] with no overflow and no cancellation: 1 + Σ_k exp(u_k) = e^m·t, shares are
    e/t, the outside share exp(−m)/t. −inf terms (left out) are allowed; NaN or +inf
    utilities give NaN, without a warning. m and t keep ``axis`` (size 1).
    """
    a = np.asarray(u, dtype=float)
    with np.errstate(invalid="ignore", over="ignore"):
        m = np.maximum(np.max(a, axis=axis, keepdims=True, initial=-np.inf), 0.0)
        e = np.exp(a - m)
        return m, e, np.exp(-m) + e.sum(axis=axis, keepdims=True)


def log1p_sum_exp(u: ArrayLike, axis: int = -1) -> FloatArray:
    """log(1 + Σ_k exp(u_k)) along ``axis`` (a log-sum-exp with the outside option's 0)."""
    m, _, total = shifted_exp(u, axis)
    return np.squeeze(m + np.log(total), axis=axis)


def logit_shares(prices: ArrayLike, qualities: ArrayLike, alpha: float) -> FloatArray:
    """Multinomial-logit market shares with an outside option of utility 0.

    Utility of product j is qualities[j] − alpha·prices[j]; share
    s_j = exp(u_j) / (1 + Σ_k exp(u_k)) = exp(u_j − L), L = log(1 + Σ_k exp(u_k)) a
    log-sum-exp with the outside option's 0, evaluated as exp(u_j − m)/exp(L − m) with m the
    largest of {0, u_k}: no overflow, no cancellation, each share exact to a few ulp, so
    utilities of ±800 give finite shares. Broadcasts over leading axes (the last axis is the
    products), so a grid of price vectors gives a grid of share vectors.

    Args:
        prices: prices, shape (..., J).
        qualities: quality terms, shape (J,) or broadcastable.
        alpha: price sensitivity (> 0), utility per USD.

    Returns:
        Shares of the inside products, same shape as ``prices``; 1 − their sum is the
        outside option's share.

    Example:
        >>> [float(s) for s in logit_shares([0.0, 0.0], [800.0, 800.0], 1.0)]
        [0.5, 0.5]
    """
    u = np.asarray(qualities, dtype=float) - alpha * np.asarray(prices, dtype=float)
    _, e, total = shifted_exp(u, axis=-1)
    with np.errstate(invalid="ignore"):
        return e / total


@dataclass(frozen=True)
class LogitDemand:
    """Our demand when customers choose by logit among us, rivals and an outside option.

    Args:
        alpha: price sensitivity (> 0).
        quality: our quality term.
        rival_prices: the rivals' prices (held fixed).
        rival_qualities: the rivals' quality terms.
        market_size: the number of units the whole market (all options) buys.
    """

    alpha: float
    quality: float
    rival_prices: tuple[float, ...] = field(default_factory=tuple)
    rival_qualities: tuple[float, ...] = field(default_factory=tuple)
    market_size: float = 1.0

    def __post_init__(self) -> None:
        if self.alpha <= 0 or self.market_size <= 0:
            raise ValueError("LogitDemand needs alpha > 0 and market_size > 0")
        if len(self.rival_prices) != len(self.rival_qualities):
            raise ValueError("rival_prices and rival_qualities differ in length")

    @property
    def _log_rival_denominator(self) -> float:
        """log(1 + Σ exp(q_k − α·p_k)) over the rivals, as a log-sum-exp."""
        u = np.asarray(self.rival_qualities, float) - self.alpha * np.asarray(
            self.rival_prices, float
        )
        return float(log1p_sum_exp(u))

    @property
    def rival_denominator(self) -> float:
        """1 + Σ exp(q_k − α·p_k) over the rivals (the outside option counts 1)."""
        u = np.asarray(self.rival_qualities, float) - self.alpha * np.asarray(
            self.rival_prices, float
        )
        m, _, total = shifted_exp(u)
        with np.errstate(over="ignore"):
            return float((np.exp(m) * total)[0])  # e^m·t: exact for moderate utilities

    def share(self, price: ArrayLike) -> FloatArray | float:
        """Our market share at ``price``: expit(u − log D), stable for any utilities."""
        p = np.asarray(price, dtype=float)
        return _out(expit(self.quality - self.alpha * p - self._log_rival_denominator), price)

    def quantity(self, price: ArrayLike) -> FloatArray | float:
        """market_size × share."""
        return _out(self.market_size * np.asarray(self.share(price)), price)

    def elasticity_at(self, price: ArrayLike) -> FloatArray | float:
        """Own-price elasticity −α·p·(1 − s)."""
        p = np.asarray(price, dtype=float)
        return _out(-self.alpha * p * (1.0 - np.asarray(self.share(p))), price)
