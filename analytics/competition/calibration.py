"""A market calibrated to today's list prices and shares: qualities by Berry inversion,
unit costs from the first-order condition, α from an elasticity."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from analytics.competition.checks import (
    MAX_ALPHA,
    MAX_MARKET,
    MAX_PRICE,
    MAX_UTILITY,
    firm_numbers,
    number,
    usd,
)
from analytics.competition.equilibrium import EquilibriumResult, firm_index, logit_nash_equilibrium
from analytics.competition.strategies import (
    StrategyComparison,
    compare_strategies,
)
from analytics.demand import FloatArray


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
class CalibratedMarket:
    """A logit market calibrated to today's list prices and shares (see ``calibrate_market``).

    Attributes:
        names: firm names.
        prices: today's list prices, USD per 1M tokens.
        shares: today's market shares (fractions; the rest is the outside option).
        qualities: quality terms (utility units) that reproduce ``shares`` at ``prices``.
        costs: unit costs, USD per 1M tokens: known ones as given, the others implied by
            the first-order condition (0 for a firm whose list price no positive cost
            explains).
        alpha: price sensitivity α, utility per USD.
        market_size: the whole market (all options), millions of tokens per month.
        holds: firms that keep today's price in the "before" state: firms with a known cost
            (we are not assumed to be optimal today) and firms whose list price no positive
            cost makes a best response (those hold in every state).
        notes: one plain-English line per holding firm, saying why it holds.
    """

    names: tuple[str, ...]
    prices: FloatArray
    shares: FloatArray
    qualities: FloatArray
    costs: FloatArray
    alpha: float
    market_size: float
    holds: NDArray[np.bool_]
    notes: tuple[str, ...]

    def index(self, firm: int | str) -> int:
        """Position of a firm given by name or index."""
        return firm_index(self.names, firm)

    @property
    def fixed_prices(self) -> dict[int, float]:
        """The holding firms' list prices by position: the ``fixed_prices`` of the before state."""
        return {int(i): float(self.prices[i]) for i in np.flatnonzero(self.holds)}

    def before(self, **solver: Any) -> EquilibriumResult:
        """The before state: holding firms at their list prices, the others best-responding
        (which reproduces today's list prices and shares).

        Args:
            solver: passed to ``logit_nash_equilibrium`` (damping, tol, max_iter).
        """
        return logit_nash_equilibrium(
            self.costs,
            self.qualities,
            self.alpha,
            names=self.names,
            market_size=self.market_size,
            fixed_prices=self.fixed_prices,
            start=self.prices,
            **solver,
        )

    def strategies(
        self, *, competitor: int | str, cut_pct: float, ours: int | str = "us", **options: Any
    ) -> StrategyComparison:
        """``compare_strategies`` on this market, from the calibrated before state.

        Args:
            competitor: the firm that cuts its list price.
            cut_pct: the cut in percent of its list price.
            ours: our firm (default "us").
            options: ``compare_strategies`` options (quality_step, quality_cost, niche_…)
                and solver settings.
        """
        return compare_strategies(
            self.costs,
            self.qualities,
            self.alpha,
            names=self.names,
            market_size=self.market_size,
            competitor=competitor,
            cut_pct=cut_pct,
            ours=ours,
            list_prices=self.prices,
            fixed_prices=self.fixed_prices,
            start=self.prices,
            **options,
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per firm: ``firm``, ``price``, ``share``, ``quality``, ``cost``,
        ``holds`` and ``note`` (empty for firms that best-respond)."""
        notes = dict.fromkeys(range(len(self.names)), "")
        for i, note in zip(np.flatnonzero(self.holds), self.notes, strict=True):
            notes[int(i)] = note
        return pd.DataFrame(
            {
                "firm": list(self.names),
                "price": self.prices,
                "share": self.shares,
                "quality": self.qualities,
                "cost": self.costs,
                "holds": self.holds,
                "note": [notes[i] for i in range(len(self.names))],
            }
        )


def calibrate_market(
    prices: ArrayLike,
    shares: ArrayLike,
    alpha: float,
    *,
    names: Sequence[str],
    market_size: float = 1.0,
    known_costs: Mapping[int | str, float] | None = None,
) -> CalibratedMarket:
    """Calibrate a logit market to today's list prices and shares ("before" = today).

    Qualities come from the Berry inversion q_j = ln(s_j/s₀) + α·p_j, so the shares at
    today's prices are reproduced exactly. Costs: a firm in ``known_costs`` (us, with our
    cost model's unit cost) gets that cost and holds today's price in the before state (we
    are not assumed to price optimally today); every other firm gets the implied cost
    c_j = p_j − 1/(α(1 − s_j)), which makes its list price its best response. Where that
    cost is ≤ 0 no positive cost explains the price (it is below the markup 1/(α(1 − s_j))
    alone), so the firm holds its list price, its cost is set to 0 and a note says why.
    ``market.before()`` then reproduces today's prices and shares.

    Args:
        prices: today's list prices, USD per 1M tokens (> 0).
        shares: today's market shares, fractions > 0 summing to less than 1 (the rest
            is the outside option: not buying, or a provider outside the model).
        alpha: price sensitivity α > 0, utility per USD (``alpha_from_elasticity``).
        names: firm names, one per price, unique.
        market_size: the whole market, millions of tokens per month (> 0).
        known_costs: unit costs known for some firms (by name or index), USD per 1M tokens.

    Returns:
        A ``CalibratedMarket``.

    Raises:
        ValueError: an input that is missing, NaN, infinite, out of range or implausibly
            large (a price above $1,000,000 per 1M tokens, α·p above 1e6), with the firm
            named.

    Example:
        >>> m = calibrate_market([1.0, 0.5, 2.0], [0.1, 0.3, 0.2], 2.0,
        ...                      names=["us", "rival", "other"], known_costs={"us": 0.4})
        >>> [round(float(c), 3) for c in m.costs]
        [0.4, 0.0, 1.375]
        >>> m.holds.tolist()
        [True, True, False]
        >>> b = m.before()
        >>> bool(abs(b.prices - m.prices).max() < 1e-9)
        True
    """
    firm_names = _firm_names(names)
    a = _checked_alpha(alpha)
    size = _checked_market_size(market_size)
    p, s, outside = _checked_prices_and_shares(prices, shares, firm_names, a)
    known = np.zeros(len(firm_names), bool)
    costs = p - 1.0 / (a * (1.0 - s))
    for firm, value in (known_costs or {}).items():
        i, cost = _known_cost(firm_names, firm, value)
        known[i] = True
        costs[i] = cost
    qualities = np.log(s / outside) + a * p
    holds = known | (costs <= 0)
    notes = tuple(
        _hold_note(
            firm_names[i], float(p[i]), float(s[i]), a, float(costs[i]) if known[i] else None
        )
        for i in np.flatnonzero(holds)
    )
    costs[holds & ~known] = 0.0  # no positive cost explains their list price
    return CalibratedMarket(
        names=firm_names,
        prices=p,
        shares=s,
        qualities=qualities,
        costs=costs,
        alpha=a,
        market_size=size,
        holds=holds,
        notes=notes,
    )


def _firm_names(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` as a tuple of strings, or a ValueError: none, one string, or a name twice."""
    if isinstance(names, str):
        raise ValueError("names must be a sequence of firm names, not one string")
    firm_names = tuple(str(n) for n in names) if names is not None else ()
    if not firm_names:
        raise ValueError("names: give one name per firm")
    if len(set(firm_names)) != len(firm_names):
        raise ValueError("firm names must be unique")
    return firm_names


def _checked_alpha(alpha: float) -> float:
    """``alpha`` as a float, or a ValueError: not > 0, or above :data:`MAX_ALPHA`."""
    a = number("alpha", alpha)
    if a <= 0:
        raise ValueError(f"alpha (price sensitivity) must be > 0, got {a:.3g}")
    if a > MAX_ALPHA:
        raise ValueError(
            f"alpha {a:.3g} is implausibly large (more than {MAX_ALPHA:.0e} "
            "utility per USD); check its unit"
        )
    return a


def _checked_market_size(market_size: float) -> float:
    """``market_size`` as a float, or a ValueError: not > 0, or above :data:`MAX_MARKET`."""
    size = number("market_size", market_size)
    if not 0 < size <= MAX_MARKET:
        raise ValueError(
            f"market_size must be > 0 and at most {MAX_MARKET:.0e} "
            f"(millions of tokens per month), got {size:.3g}"
        )
    return size


def _checked_prices_and_shares(
    prices: ArrayLike, shares: ArrayLike, firm_names: tuple[str, ...], alpha: float
) -> tuple[FloatArray, FloatArray, float]:
    """The firms' prices and shares, each checked (:func:`_check_firm`), and the outside share."""
    p = firm_numbers("price", prices, firm_names)
    s = firm_numbers("share", shares, firm_names)
    for name, price, share in zip(firm_names, p, s, strict=True):
        _check_firm(name, price, share, alpha)
    outside = 1.0 - math.fsum(s.tolist())
    if outside <= 0:
        raise ValueError(
            f"the shares sum to {math.fsum(s.tolist()):.6g}; they must sum to "
            "less than 1 (the rest is the outside option: not buying)"
        )
    return p, s, outside


def _check_firm(name: str, price: float, share: float, alpha: float) -> None:
    """A ValueError naming the firm if its price, α·price or share is out of range."""
    if price <= 0:
        raise ValueError(f"the price of {name!r} must be > 0, got {price:.3g}")
    if price > MAX_PRICE:
        raise ValueError(
            f"the price of {name!r} ({price:.3g}) is above "
            f"{MAX_PRICE:,.0f} USD per 1M tokens; check its unit"
        )
    if alpha * price > MAX_UTILITY:
        raise ValueError(
            f"alpha × price for {name!r} is {alpha * price:.3g}, more than "
            f"{MAX_UTILITY:.0e} utility units; check the units of alpha "
            "(utility per USD) and the price (USD per 1M tokens)"
        )
    if not 0 < share < 1:
        raise ValueError(
            f"the share of {name!r} must be between 0 and 1 (exclusive), got {share:.3g}"
        )


def _known_cost(firm_names: tuple[str, ...], firm: int | str, value: float) -> tuple[int, float]:
    """A ``known_costs`` entry's firm position and checked cost (ValueError: no such firm)."""
    try:
        i = firm_index(firm_names, firm)
    except (KeyError, TypeError):
        label = repr(firm) if not isinstance(firm, int) or abs(firm) < 10**6 else "at that index"
        label = label if len(label) <= 40 else f"{label[:37]}..."
        raise ValueError(
            f"known_costs names no firm {label}; firms: {', '.join(firm_names)}"
        ) from None
    cost = number(f"the known cost of {firm_names[i]!r}", value)
    if not 0 <= cost <= MAX_PRICE:
        raise ValueError(
            f"the known cost of {firm_names[i]!r} must be ≥ 0 and at most "
            f"{MAX_PRICE:,.0f} USD per 1M tokens, got {cost:.3g}"
        )
    return i, cost


def _hold_note(
    name: str, price: float, share: float, alpha: float, known_cost: float | None
) -> str:
    """Why a holding firm keeps its list price: its cost is known, or (None) no cost explains it."""
    if known_cost is not None:
        return (
            f"{name} keeps today's price of {usd(price)} per 1M tokens in the before "
            f"state: its unit cost ({usd(known_cost)}) is known, and today's price "
            "is not assumed to be its most profitable one."
        )
    markup = 1.0 / (alpha * (1.0 - share))
    return (
        f"{name} holds its list price of {usd(price)} per 1M tokens: with a "
        f"{share:.1%} share and these customers' price sensitivity, its most "
        f"profitable price would be at least {usd(markup)} above its unit cost, "
        "more than the price itself, so no positive cost makes this price its best "
        "answer. It keeps this price in every scenario (its cost is taken as 0)."
    )
