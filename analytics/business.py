"""One demand model for the whole business: the sum of the segments' constant-elasticity
curves, with unit costs and fixed costs.

Each segment s has demand V_s(p) = V0_s·(p / p0_s)^ε_s (millions of tokens per month at a
price p in USD per 1M tokens) and a unit cost c_s. "All customers" is the *sum* of the
segment curves at one price, never a pooled fit:

    Π(p) = Σ_s (p − c_s)·V_s(p) − F,      ε_all(p) = Σ_s ε_s·V_s(p) / Σ_s V_s(p).

Every optimisation runs over a stated price range [floor, ceiling]. Profit of one segment
is single-peaked (or rising, when |ε| ≤ 1), so its constrained optimum is the closed form
c·ε/(1 + ε) clipped to the range; for several segments a fine log-spaced grid finds the
best region and a bounded scalar search refines it. Break-even prices and goal seeks find
every root of Π(p) = target on a wide log grid, so both sides are found, for inelastic
demand too.

Example:
    >>> m = DemandModel((SegmentCurve("a", 1.0, 100.0, -2.0, -2.4, -1.6, 0.25),), 0.0)
    >>> best = constrained_optimum(m, 0.1, 10.0)
    >>> round(best.price, 6), best.at_bound
    (0.5, None)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize as sopt

from analytics.demand import FloatArray

__all__ = [
    "BusinessOptimum",
    "DemandModel",
    "OptimumSpread",
    "SegmentCurve",
    "constrained_optimum",
    "optimum_spread",
    "profit_roots",
]

Z95 = 1.959963984540054
#: Largest magnitude any input may have (1e300 is refused, not computed).
MAX_MAGNITUDE = 1e12


def checked_number(what: str, value: object, limit: float = MAX_MAGNITUDE) -> float:
    """``value`` as a float, or ``ValueError`` naming ``what`` when it is not a finite
    number within ±``limit`` (never an OverflowError or a 300-digit message).

    Example:
        >>> checked_number("price", 2)
        2.0
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number, got {type(value).__name__}")
    try:
        v = float(value)
    except OverflowError:
        raise ValueError(f"{what} is out of range (at most {limit:g} in size)") from None
    if not math.isfinite(v):
        raise ValueError(f"{what} must be a finite number, got {v!r}")
    if abs(v) > limit:
        raise ValueError(f"{what} = {v:.3g} is out of range (at most {limit:g} in size)")
    return v


#: Points of the log grid that brackets optima and roots.
GRID_POINTS = 2_001
#: The root search spans this factor below the lowest and above the highest reference price.
SEARCH_SPAN = 1_000.0


@dataclass(frozen=True)
class SegmentCurve:
    """One segment's demand V(p) = V0·(p/p0)^ε and its unit cost.

    Attributes:
        name: the segment.
        reference_price: p0, USD per 1M tokens, where ``reference_volume_m`` is observed.
        reference_volume_m: V0, millions of tokens per month at p0.
        elasticity: ε used by every number (the fitted value, plus any explicit lever).
        ci_low, ci_high: its 95 % interval.
        unit_cost: c, USD per 1M tokens (GPU + support).
    """

    name: str
    reference_price: float
    reference_volume_m: float
    elasticity: float
    ci_low: float
    ci_high: float
    unit_cost: float

    def __post_init__(self) -> None:
        for f in (
            "reference_price",
            "reference_volume_m",
            "elasticity",
            "ci_low",
            "ci_high",
            "unit_cost",
        ):
            object.__setattr__(
                self, f, checked_number(f"segment {self.name!r}: {f}", getattr(self, f))
            )
        if self.reference_price <= 0:
            raise ValueError(f"segment {self.name!r}: the reference price must be > 0")
        if self.reference_volume_m <= 0:
            raise ValueError(
                f"segment {self.name!r}: the reference volume must be > 0 "
                "(no volume, no demand curve)"
            )
        if not self.ci_low <= self.elasticity <= self.ci_high:
            raise ValueError(
                f"segment {self.name!r}: the elasticity {self.elasticity:g} lies "
                f"outside its interval [{self.ci_low:g}, {self.ci_high:g}]"
            )

    @property
    def std_error(self) -> float:
        """Standard error implied by the 95 % interval (half-width ÷ 1.96)."""
        return (self.ci_high - self.ci_low) / (2 * Z95)

    def volume(self, price: ArrayLike, elasticity: ArrayLike | None = None) -> FloatArray:
        """V(p), broadcasting ``price`` against ``elasticity`` (default ε)."""
        e = self.elasticity if elasticity is None else np.asarray(elasticity, float)
        p = np.asarray(price, float)
        return self.reference_volume_m * np.exp(e * np.log(p / self.reference_price))


@dataclass(frozen=True)
class DemandModel:
    """The business: segment curves at one price, and the fixed costs per month."""

    segments: tuple[SegmentCurve, ...]
    fixed_cost: float = 0.0

    def __post_init__(self) -> None:
        if not self.segments:
            raise ValueError("the demand model needs at least one segment")
        object.__setattr__(self, "fixed_cost", checked_number("fixed costs", self.fixed_cost))
        if self.fixed_cost < 0:
            raise ValueError(f"fixed costs must be ≥ 0, got {self.fixed_cost:g}")

    @property
    def price_now(self) -> float:
        """Today's blended price: revenue ÷ volume at the reference points."""
        v = sum(s.reference_volume_m for s in self.segments)
        return sum(s.reference_price * s.reference_volume_m for s in self.segments) / v

    def volume(self, price: ArrayLike) -> FloatArray:
        """Σ_s V_s(p)."""
        return sum(s.volume(price) for s in self.segments)  # type: ignore[return-value]

    def variable_cost(self, price: ArrayLike) -> FloatArray:
        """Σ_s c_s·V_s(p)."""
        return sum(s.unit_cost * s.volume(price) for s in self.segments)  # type: ignore[return-value]

    def unit_cost(self, price: ArrayLike) -> FloatArray:
        """Volume-weighted unit cost at p (the mix moves with the price)."""
        return self.variable_cost(price) / self.volume(price)

    def profit(self, price: ArrayLike, elasticities: ArrayLike | None = None) -> FloatArray:
        """Π(p) = Σ_s (p − c_s)·V_s(p) − F.

        ``elasticities`` (shape (..., S), one column per segment) replaces the ε_s; it
        broadcasts against ``price`` placed on a new last-but-one axis when both are arrays.
        """
        p = np.asarray(price, float)
        if elasticities is None:
            return sum((p - s.unit_cost) * s.volume(p) for s in self.segments) - self.fixed_cost
        e = np.asarray(elasticities, float)
        total = 0.0
        for i, s in enumerate(self.segments):
            total = total + (p - s.unit_cost) * s.volume(p, e[..., i])
        return total - self.fixed_cost

    def elasticity_at(self, price: ArrayLike) -> FloatArray:
        """Implied aggregate elasticity d ln V / d ln p = Σ ε_s V_s(p) / Σ V_s(p)."""
        return sum(s.elasticity * s.volume(price) for s in self.segments) / self.volume(price)

    def elasticity_ci_at(self, price: float) -> tuple[float, float]:
        """95 % interval of the aggregate elasticity at p: segments' fits are independent,
        weights w_s = V_s(p)/ΣV held at the point estimates, se = √Σ w_s² se_s²."""
        v = np.array([float(s.volume(price)) for s in self.segments])
        w = v / v.sum()
        se = math.sqrt(float(np.sum((w * [s.std_error for s in self.segments]) ** 2)))
        e = float(self.elasticity_at(price))
        return e - Z95 * se, e + Z95 * se

    def with_elasticities(self, values: Sequence[float]) -> DemandModel:
        """The same model with other point elasticities (intervals widened to hold them)."""
        segs = tuple(
            replace(
                s,
                elasticity=float(e),
                ci_low=min(s.ci_low, float(e)),
                ci_high=max(s.ci_high, float(e)),
            )
            for s, e in zip(self.segments, values, strict=True)
        )
        return replace(self, segments=segs)

    def search_range(self) -> tuple[float, float]:
        """Where roots are searched: SEARCH_SPAN below the lowest reference price and
        above the highest."""
        ps = [s.reference_price for s in self.segments]
        return min(ps) / SEARCH_SPAN, max(ps) * SEARCH_SPAN


@dataclass(frozen=True)
class BusinessOptimum:
    """The profit-maximising price within [floor, ceiling].

    Attributes:
        price, volume_m, profit: at the constrained optimum (profit after fixed costs).
        floor, ceiling: the price range searched.
        at_bound: "floor" or "ceiling" when the optimum sits on a bound, else None.
        unconstrained_exists: whether a finite interior optimum exists without the range
            (False when demand is inelastic: profit keeps rising with the price).
    """

    price: float
    volume_m: float
    profit: float
    floor: float
    ceiling: float
    at_bound: str | None
    unconstrained_exists: bool


def _check_range(floor: float, ceiling: float) -> None:
    floor = checked_number("the price floor", floor)
    ceiling = checked_number("the price ceiling", ceiling)
    if not 0 < floor < ceiling:
        raise ValueError(f"need 0 < price floor < price ceiling, got [{floor:g}, {ceiling:g}]")


def _single_optimum(s: SegmentCurve, elasticity: float) -> float:
    """Unconstrained optimum of one segment: c·ε/(1 + ε), inf when |ε| ≤ 1, 0 when c ≤ 0."""
    if elasticity >= -1.0:
        return math.inf
    if s.unit_cost <= 0:
        return 0.0
    return s.unit_cost * elasticity / (1.0 + elasticity)


def constrained_optimum(model: DemandModel, floor: float, ceiling: float) -> BusinessOptimum:
    """The price in [floor, ceiling] that maximises Π(p) (see module).

    Raises:
        ValueError: when the range is not 0 < floor < ceiling.
    """
    _check_range(floor, ceiling)
    if len(model.segments) == 1:
        s = model.segments[0]
        free = _single_optimum(s, s.elasticity)
        p = min(max(free, floor), ceiling)
        exists = math.isfinite(free) and free > 0
    else:
        grid = np.geomspace(floor, ceiling, GRID_POINTS)
        values = model.profit(grid)
        i = int(np.argmax(values))
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
        # refine around the best grid point (next to a bound too: the peak may lie just
        # inside it), keeping the grid point when the search finds nothing better
        res = sopt.minimize_scalar(
            lambda x: -float(model.profit(x)),
            bounds=(lo, hi),
            method="bounded",
            options={"xatol": 1e-12 * hi},
        )
        p = float(res.x) if -res.fun > values[i] else float(grid[i])
        exists = _has_interior_peak(model)
    at = "floor" if p <= floor * (1 + 1e-9) else "ceiling" if p >= ceiling * (1 - 1e-9) else None
    return BusinessOptimum(
        price=p,
        volume_m=float(model.volume(p)),
        profit=float(model.profit(p)),
        floor=floor,
        ceiling=ceiling,
        at_bound=at,
        unconstrained_exists=bool(exists),
    )


def _has_interior_peak(model: DemandModel) -> bool:
    """Whether profit falls again at high prices: true when every segment is elastic
    (|ε| > 1); one inelastic segment makes profit grow without bound."""
    return all(s.elasticity < -1.0 for s in model.segments)


@dataclass(frozen=True)
class OptimumSpread:
    """How far the optimum moves with the elasticities' uncertainty.

    Attributes:
        low, high: the constrained optimum with every segment's elasticity at one end of its
            95 % interval and then the other (sorted).
        p5, p50, p95: percentiles of the constrained optimum over Monte Carlo draws of the
            elasticities (independent normals from the intervals).
        share_at_ceiling: share of draws whose optimum sits on the ceiling.
        draws: number of draws.
        interval_crosses_minus_one: whether any segment's interval reaches |ε| ≤ 1 (then the
            optimum may be unbounded and only the ceiling stops it).
    """

    low: float
    high: float
    p5: float
    p50: float
    p95: float
    share_at_ceiling: float
    draws: int
    interval_crosses_minus_one: bool


def optimum_spread(
    model: DemandModel,
    floor: float,
    ceiling: float,
    *,
    draws: int = 2_000,
    seed: int = 0,
    grid_points: int = 400,
) -> OptimumSpread:
    """The optimum's range across the elasticity interval and its Monte Carlo distribution.

    Example:
        >>> m = DemandModel((SegmentCurve("a", 1.0, 100.0, -2.0, -2.4, -1.6, 0.25),))
        >>> sp = optimum_spread(m, 0.1, 10.0)
        >>> round(sp.low, 4), round(sp.high, 4)
        (0.4286, 0.6667)
    """
    _check_range(floor, ceiling)
    ends = [
        constrained_optimum(
            model.with_elasticities([getattr(s, k) for s in model.segments]), floor, ceiling
        ).price
        for k in ("ci_low", "ci_high")
    ]
    rng = np.random.default_rng(seed)
    mean = np.array([s.elasticity for s in model.segments])
    sd = np.array([s.std_error for s in model.segments])
    e = mean + sd * rng.standard_normal((draws, mean.size))
    grid = np.geomspace(floor, ceiling, grid_points)
    values = model.profit(grid[None, :], e[:, None, :])  # (draws, grid)
    best = grid[np.argmax(values, axis=1)]
    p5, p50, p95 = np.percentile(best, [5, 50, 95])
    return OptimumSpread(
        low=min(ends),
        high=max(ends),
        p5=float(p5),
        p50=float(p50),
        p95=float(p95),
        share_at_ceiling=float(np.mean(best >= grid[-1])),
        draws=draws,
        interval_crosses_minus_one=any(s.ci_high >= -1.0 for s in model.segments),
    )


def profit_roots(model: DemandModel, target: float = 0.0) -> list[float]:
    """Every price where Π(p) = ``target`` within ``model.search_range()``, ascending.

    Example:
        >>> m = DemandModel((SegmentCurve("a", 1.0, 100.0, -2.0, -2.4, -1.6, 0.25),), 20.0)
        >>> [round(p, 4) for p in profit_roots(m)]
        [0.2639, 4.7361]
    """
    target = checked_number("the target", target, 1e15)
    lo, hi = model.search_range()
    log_grid = np.linspace(math.log(lo), math.log(hi), 8 * GRID_POINTS)
    with np.errstate(over="ignore", invalid="ignore"):
        g = model.profit(np.exp(log_grid)) - target
    roots: list[float] = []
    sign = np.sign(g)
    for i in np.nonzero(sign[:-1] * sign[1:] < 0)[0]:
        x = sopt.brentq(
            lambda lp: float(model.profit(math.exp(lp))) - target,
            log_grid[i],
            log_grid[i + 1],
            xtol=1e-14,
            rtol=1e-13,
        )
        roots.append(math.exp(x))
    roots.extend(math.exp(x) for x in log_grid[sign == 0])
    return sorted(roots)
