"""Price war: multi-firm logit Bertrand–Nash equilibrium and strategy comparison.

Customers choose one product among J firms (one product each) or an outside option of
utility 0; product j gives utility q_j − α·p_j. Firm j's profit is M·(p_j − c_j)·s_j. Its
first-order condition is p_j = c_j + 1/(α(1 − s_j)); given its rivals' prices the best
response has the closed form p_j = c_j + (1 + W(e^{q_j − α c_j − 1}/D_j))/α with Lambert W
and D_j = 1 + Σ_{k≠j} e^{q_k − α p_k}; log D_j is a leave-one-out log-sum-exp (the outside
option's 0 included), so one firm's utility dominating the market loses no precision. The
equilibrium is found by damped best response; non-convergence raises
``EquilibriumNotConvergedError`` (or is flagged when asked), never returns a silent wrong
answer.

A model of a real market starts from the market as observed: ``calibrate_market`` turns
today's list prices and shares into qualities (Berry inversion) and unit costs (the
first-order condition), so that the "before" state reproduces today's prices and shares;
firms whose list price no positive cost can explain hold it, and say why. A competitor's
cut is then applied to its list price (``price_cut_scenario``, ``compare_strategies``) and
``largest_absorbable_cut`` says how deep a cut we can take before our profit turns
negative. Prices and costs are USD per 1M tokens, α is utility per USD, market sizes are
millions of tokens per month, so profits are USD per month.

Example:
    >>> eq = logit_nash_equilibrium([0.3, 0.5], [1.0, 1.5], alpha=2.0)
    >>> eq.converged, [round(float(p), 4) for p in eq.prices]
    (True, [0.9429, 1.1569])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq
from scipy.special import wrightomega

from analytics.demand import FloatArray, _log1p_sum_exp, _shifted_exp, logit_shares
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


def _leave_one_out_log_denominator(u: FloatArray) -> FloatArray:
    """log D_j = log(1 + Σ_{k≠j} e^{u_k}) for every j: a J×J log-sum-exp with the diagonal
    left out, exact to a few ulp however one utility dominates."""
    leave_out = np.eye(u.size, dtype=bool)
    return _log1p_sum_exp(np.where(leave_out, -np.inf, u[np.newaxis, :]), axis=1)


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


def _fixed_by_index(
    names: Sequence[str], fixed_prices: Mapping[int | str, float] | None
) -> dict[int, float]:
    """``fixed_prices`` keyed by firm position, each price checked to be a finite number."""
    out: dict[int, float] = {}
    for firm, price in (fixed_prices or {}).items():
        value = float(price)
        if not math.isfinite(value):
            raise ValueError(f"the fixed price of {firm!r} is not a finite number")
        out[_index(names, firm)] = value
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
    for i, price in _fixed_by_index(firm_names, fixed_prices).items():
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
    m, _, total = _shifted_exp(q - alpha * p)
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


# Plausibility limits of calibrate_market's inputs: beyond them a number is a unit mistake,
# and the floating-point model would lose the precision the calibration promises.
_MAX_PRICE = 1e6  # USD per 1M tokens
_MAX_ALPHA = 1e6  # utility per USD
_MAX_UTILITY = 1e6  # α·p, utility units
_MAX_MARKET = 1e15  # millions of tokens per month


def _number(what: str, value: Any) -> float:
    """``value`` as a float, or a ValueError that names ``what`` (never a 290-digit repr)."""
    try:
        out = float(value)
    except OverflowError:
        raise ValueError(f"{what} is too large to be a number of this model") from None
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, got a {type(value).__name__}") from None
    if math.isnan(out):
        raise ValueError(f"{what} is not a number (NaN)")
    if math.isinf(out):
        raise ValueError(f"{what} must be finite, got {out}")
    return out


def _numbers(what: str, values: ArrayLike, names: Sequence[str]) -> FloatArray:
    """A 1-D float array, one finite value per firm, or a ValueError naming the firm."""
    try:
        arr = np.asarray(values, dtype=float)
    except OverflowError:
        raise ValueError(f"{what}: a value is too large to be a number of this model") from None
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be numbers") from None
    if arr.ndim != 1 or arr.size != len(names):
        raise ValueError(
            f"{what} must have one value per firm ({len(names)}), got shape {arr.shape}"
        )
    for name, v in zip(names, arr, strict=True):
        if not math.isfinite(v):
            raise ValueError(f"{what} of {name!r} is not a finite number ({v})")
    return arr


def _usd(value: float) -> str:
    return f"${value:,.4g}"


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
        return _index(self.names, firm)

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

    def price_cut(self, *, competitor: int | str, cut_pct: float, **solver: Any) -> PriceCutResult:
        """``price_cut_scenario`` on this market: the cut applies to the competitor's list
        price; holding firms (ours included: this is "we hold our price", the other answers
        are in ``strategies``) keep their list prices in both states."""
        return price_cut_scenario(
            self.costs,
            self.qualities,
            self.alpha,
            names=self.names,
            market_size=self.market_size,
            competitor=competitor,
            cut_pct=cut_pct,
            list_prices=self.prices,
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
    if isinstance(names, str):
        raise ValueError("names must be a sequence of firm names, not one string")
    firm_names = tuple(str(n) for n in names) if names is not None else ()
    if not firm_names:
        raise ValueError("names: give one name per firm")
    if len(set(firm_names)) != len(firm_names):
        raise ValueError("firm names must be unique")
    a = _number("alpha", alpha)
    if a <= 0:
        raise ValueError(f"alpha (price sensitivity) must be > 0, got {a:.3g}")
    if a > _MAX_ALPHA:
        raise ValueError(
            f"alpha {a:.3g} is implausibly large (more than {_MAX_ALPHA:.0e} "
            "utility per USD); check its unit"
        )
    size = _number("market_size", market_size)
    if not 0 < size <= _MAX_MARKET:
        raise ValueError(
            f"market_size must be > 0 and at most {_MAX_MARKET:.0e} "
            f"(millions of tokens per month), got {size:.3g}"
        )
    p = _numbers("price", prices, firm_names)
    s = _numbers("share", shares, firm_names)
    for name, price, share in zip(firm_names, p, s, strict=True):
        if price <= 0:
            raise ValueError(f"the price of {name!r} must be > 0, got {price:.3g}")
        if price > _MAX_PRICE:
            raise ValueError(
                f"the price of {name!r} ({price:.3g}) is above "
                f"{_MAX_PRICE:,.0f} USD per 1M tokens; check its unit"
            )
        if a * price > _MAX_UTILITY:
            raise ValueError(
                f"alpha × price for {name!r} is {a * price:.3g}, more than "
                f"{_MAX_UTILITY:.0e} utility units; check the units of alpha "
                "(utility per USD) and the price (USD per 1M tokens)"
            )
        if not 0 < share < 1:
            raise ValueError(
                f"the share of {name!r} must be between 0 and 1 (exclusive), got {share:.3g}"
            )
    outside = 1.0 - math.fsum(s.tolist())
    if outside <= 0:
        raise ValueError(
            f"the shares sum to {math.fsum(s.tolist()):.6g}; they must sum to "
            "less than 1 (the rest is the outside option: not buying)"
        )
    known = np.zeros(len(firm_names), bool)
    costs = p - 1.0 / (a * (1.0 - s))
    for firm, value in (known_costs or {}).items():
        try:
            i = _index(firm_names, firm)
        except (KeyError, TypeError):
            label = (
                repr(firm) if not isinstance(firm, int) or abs(firm) < 10**6 else "at that index"
            )
            label = label if len(label) <= 40 else f"{label[:37]}..."
            raise ValueError(
                f"known_costs names no firm {label}; firms: {', '.join(firm_names)}"
            ) from None
        cost = _number(f"the known cost of {firm_names[i]!r}", value)
        if not 0 <= cost <= _MAX_PRICE:
            raise ValueError(
                f"the known cost of {firm_names[i]!r} must be ≥ 0 and at most "
                f"{_MAX_PRICE:,.0f} USD per 1M tokens, got {cost:.3g}"
            )
        known[i] = True
        costs[i] = cost
    qualities = np.log(s / outside) + a * p
    holds = known | (costs <= 0)
    notes = []
    for i in np.flatnonzero(holds):
        name, price, share = firm_names[i], float(p[i]), float(s[i])
        if known[i]:
            notes.append(
                f"{name} keeps today's price of {_usd(price)} per 1M tokens in the before "
                f"state: its unit cost ({_usd(float(costs[i]))}) is known, and today's price "
                "is not assumed to be its most profitable one."
            )
        else:
            markup = 1.0 / (a * (1.0 - share))
            notes.append(
                f"{name} holds its list price of {_usd(price)} per 1M tokens: with a "
                f"{share:.1%} share and these customers' price sensitivity, its most "
                f"profitable price would be at least {_usd(markup)} above its unit cost, "
                "more than the price itself, so no positive cost makes this price its best "
                "answer. It keeps this price in every scenario (its cost is taken as 0)."
            )
            costs[i] = 0.0
    return CalibratedMarket(
        names=firm_names,
        prices=p,
        shares=s,
        qualities=qualities,
        costs=costs,
        alpha=a,
        market_size=size,
        holds=holds,
        notes=tuple(notes),
    )


def _cut_inputs(
    names: Sequence[str],
    before: EquilibriumResult,
    competitor: int | str,
    cut_pct: float,
    list_prices: ArrayLike | None,
) -> tuple[int, float]:
    """The cutter's position and its price after a cut of ``cut_pct`` % of its list price."""
    k = _number("cut_pct", cut_pct)
    if k >= 100:
        raise ValueError(f"a cut of {k:g} % leaves no positive price; cut less than 100 %")
    i = before.index(competitor)
    if list_prices is None:
        base = float(before.prices[i])
    else:
        lp = np.asarray(list_prices, float).ravel()
        if lp.size != len(names):
            raise ValueError(f"list_prices must have one price per firm ({len(names)})")
        base = _number(f"the list price of {names[i]!r}", lp[i])
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
    i, cut = _cut_inputs(before.names, before, competitor, cut_pct, lists)
    held: dict[int | str, float] = {**_fixed_by_index(before.names, fixed_prices), i: cut}
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
    _number("quality_step", quality_step)
    _number("quality_cost", quality_cost)
    if not _number("niche_alpha_factor", niche_alpha_factor) > 0:
        raise ValueError("niche_alpha_factor must be > 0")
    if not 0 < _number("niche_market_share", niche_market_share) <= 1:
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
    x, cut = _cut_inputs(before.names, before, x, cut_pct, list_prices)
    held = _fixed_by_index(before.names, fixed_prices)
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
        >>> m = calibrate_market([1.0, 0.8], [0.2, 0.3], 2.0, names=["us", "rival"],
        ...                      market_size=1000, known_costs={"us": 0.3})
        >>> k = largest_absorbable_cut(m, competitor="rival", fixed_cost=100)
        >>> round(k, 2)
        54.84
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    f_cost = _number("fixed_cost", fixed_cost)
    top = _number("max_cut_pct", max_cut_pct)
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
