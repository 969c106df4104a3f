"""The surge rule and its statistics: the one-sided beta-binomial test of an alert, its
control limit, the quick screen of the scan and the false-alarm rate measured on quiet
periods (the rule in words: ``analytics.alerts``).

Example:
    >>> round(float(surge_p_value(2, 2, 0, 0)), 3)   # Beta(½, ½) prior: P(X = 2) = 3/8
    0.375
    >>> control_limit(20, base_negative=10, base_tickets=100, alpha=0.001)
    9
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special, stats

from analytics.alerts.scopes import check_freq

__all__ = [
    "ROUGH_MARGIN",
    "STATED_FALSE_ALARM_RATE",
    "FalseAlarmReport",
    "SurgeRule",
    "control_limit",
    "control_limits",
    "false_alarm_rate",
    "rough_tail",
    "surge_p_value",
    "trailing",
]

#: The false-alarm rate the rule promises per series and period (its default α).
STATED_FALSE_ALARM_RATE = 0.001


@dataclass(frozen=True)
class SurgeRule:
    """Parameters of the surge rule (see the module docstring).

    Attributes:
        alpha: one-sided level of each test: the stated false-alarm rate per series and period.
        baseline_days, baseline_weeks: length of the trailing baseline for days and weeks.
        min_negative: fewest unhappy customers of the scope in a period to alarm.
        min_baseline_tickets: fewest customer-periods with tickets in the baseline to test
            at all.
        merge_gap: alarmed periods at most this many periods apart form one alert.
        open_periods: an alert is open when its last alarmed period is at most this many
            periods before the last period of the data (or ``as_of``).
        prior: the Beta prior's two parameters (½: Jeffreys).
    """

    alpha: float = STATED_FALSE_ALARM_RATE
    baseline_days: int = 28
    baseline_weeks: int = 8
    min_negative: int = 3
    min_baseline_tickets: int = 30
    merge_gap: int = 2
    open_periods: int = 2
    prior: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 0.5:
            raise ValueError(f"alpha must be between 0 and 0.5, got {self.alpha!r}")
        for name in ("baseline_days", "baseline_weeks", "min_negative"):
            if int(getattr(self, name)) != getattr(self, name) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {getattr(self, name)!r}")
        for name in ("min_baseline_tickets", "merge_gap", "open_periods"):
            if int(getattr(self, name)) != getattr(self, name) or getattr(self, name) < 0:
                raise ValueError(f"{name} must be a whole number >= 0, got {getattr(self, name)!r}")
        if not self.prior > 0:
            raise ValueError(f"prior must be > 0, got {self.prior!r}")

    def baseline(self, freq: str) -> int:
        """Baseline length in periods of ``freq``."""
        return self.baseline_days if check_freq(freq) == "day" else self.baseline_weeks

    def describe(self, freq: str) -> str:
        """The rule in one line (what an alert row's ``rule`` says)."""
        unit = "days" if check_freq(freq) == "day" else "weeks"
        return (
            f"one-sided beta-binomial test of the scope's customers with a negative "
            f"ticket per customer writing in, against the previous {self.baseline(freq)} "
            f"{unit}: alarm when P(X >= x) <= {self.alpha:g} and x >= "
            f"{self.min_negative}; stated false-alarm rate {self.alpha:g} per series "
            f"and {freq}"
        )


def _counts(name: str, value: ArrayLike) -> np.ndarray:
    a = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(a)) or np.any(a < 0) or np.any(a != np.round(a)):
        raise ValueError(f"{name} must be whole numbers >= 0")
    return a


def surge_p_value(
    negative: ArrayLike,
    tickets: ArrayLike,
    base_negative: ArrayLike,
    base_tickets: ArrayLike,
    prior: float = 0.5,
) -> np.ndarray:
    """P(X ≥ negative) for X ~ BetaBinomial(tickets, prior + base_negative,
    prior + base_tickets − base_negative): how surprising ``negative`` negative tickets
    among ``tickets`` received are, given the baseline. Broadcasts; 1 where ``negative``
    is 0.

    Raises:
        ValueError: counts that are negative or not whole, ``negative > tickets`` or
            ``base_negative > base_tickets``, ``prior <= 0``.

    Example:
        >>> round(float(surge_p_value(1, 1, 0, 0)), 3)
        0.5
    """
    x, n = _counts("negative", negative), _counts("tickets", tickets)
    bx, bn = _counts("base_negative", base_negative), _counts("base_tickets", base_tickets)
    if np.any(x > n):
        raise ValueError("negative cannot exceed tickets")
    if np.any(bx > bn):
        raise ValueError("base_negative cannot exceed base_tickets")
    if not prior > 0:
        raise ValueError(f"prior must be > 0, got {prior!r}")
    x, n, bx, bn = np.broadcast_arrays(x, n, bx, bn)
    p = np.ones(x.shape)
    pos = x > 0
    p[pos] = stats.betabinom.sf(x[pos] - 1, n[pos], prior + bx[pos], prior + bn[pos] - bx[pos])
    return np.clip(p, 0.0, 1.0)


def control_limit(
    tickets: int, base_negative: int, base_tickets: int, alpha: float, prior: float = 0.5
) -> int:
    """The smallest count k with P(X ≥ k) ≤ ``alpha`` (``tickets + 1`` when none): an alarm
    needs at least k negative tickets of the scope among ``tickets`` received.

    Example:
        >>> control_limit(1, 0, 0, alpha=0.4)   # one ticket can never be that surprising
        2
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    n = int(_counts("tickets", tickets))
    ks = np.arange(1, n + 1)
    p = surge_p_value(ks, n, base_negative, base_tickets, prior)
    below = np.nonzero(p <= alpha)[0]
    return int(ks[below[0]]) if below.size else n + 1


#: A rough tail (:func:`rough_tail`) above this multiple of α cannot alarm: its exact
#: p-value is left uncomputed. The rough sum is within a few 1e-6 (relative) of the exact
#: tail around α (measured on the 100k and 1M demos), far inside the margin; every alarm
#: and every figure of an alarmed row come from exact p-values all the same.
ROUGH_MARGIN = 1.05


def rough_tail(
    x: np.ndarray,
    n: np.ndarray,
    bx: np.ndarray,
    bn: np.ndarray,
    prior: float,
    stop: float | None = None,
) -> np.ndarray:
    """P(X ≥ x) of :func:`surge_p_value`'s beta-binomial, summed in floating point from
    pmf(x) by the ratio of successive terms (vectorised; a screen, not the reported value).

    ``stop``: a cell whose partial sum passes it is left there (its tail is above ``stop``
    whatever the rest adds: the sum only grows); the cells at or below it are summed in
    full, exactly as without it.
    """
    if x.size == 0:
        return np.ones(0)
    a, b = prior + bx, prior + bn - bx
    logpmf = (
        special.gammaln(n + 1)
        - special.gammaln(x + 1)
        - special.gammaln(n - x + 1)
        + special.betaln(x + a, n - x + b)
        - special.betaln(a, b)
    )
    term = np.exp(logpmf)
    total = term.copy()
    k = x.astype(float).copy()
    live = np.flatnonzero(k < n) if stop is None else np.flatnonzero((k < n) & (total <= stop))
    t, kk, nn, aa, bb = term[live], k[live], n[live], a[live], b[live]
    while live.size:
        t = t * ((nn - kk) / (kk + 1) * (kk + aa) / np.maximum(nn - kk - 1 + bb, 1e-300))
        total[live] += t
        kk = kk + 1
        keep = kk < nn
        if stop is not None:
            keep &= total[live] <= stop
        if not keep.all():
            live, t, kk, nn, aa, bb = (v[keep] for v in (live, t, kk, nn, aa, bb))
    return total


def trailing(a: np.ndarray, b: int) -> np.ndarray:
    """Sum of the ``b`` rows before each row (fewer at the start)."""
    c = np.concatenate([np.zeros((1, *a.shape[1:])), np.cumsum(a, axis=0)])
    idx = np.arange(a.shape[0])
    return c[idx] - c[np.maximum(idx - b, 0)]


def control_limits(scan: pd.DataFrame, rule: SurgeRule) -> np.ndarray:
    """Control limits of the tested rows (0 elsewhere): the same number as
    :func:`control_limit`, from one log-space table of beta-binomial tails per distinct input."""
    out = np.zeros(len(scan), dtype=int)
    rows = scan[scan["tested"]]
    if rows.empty:
        return out
    keys = rows[["exposure", "base_negative", "base_exposure"]].drop_duplicates()
    n_all, bx_all, bn_all = (keys[c].to_numpy(float) for c in keys.columns)
    limits = np.empty(len(keys), dtype=int)
    width = int(n_all.max()) + 1
    chunk = max(1, 2_000_000 // width)
    k = np.arange(width, dtype=float)[None, :]
    for lo in range(0, len(keys), chunk):
        n = n_all[lo : lo + chunk, None]
        a = rule.prior + bx_all[lo : lo + chunk, None]
        b = rule.prior + bn_all[lo : lo + chunk, None] - bx_all[lo : lo + chunk, None]
        valid = k <= n
        kk = np.where(valid, k, 0.0)
        logpmf = (
            special.gammaln(n + 1)
            - special.gammaln(kk + 1)
            - special.gammaln(n - kk + 1)
            + special.betaln(kk + a, n - kk + b)
            - special.betaln(a, b)
        )
        pmf = np.where(valid, np.exp(logpmf), 0.0)
        tail = np.cumsum(pmf[:, ::-1], axis=1)[:, ::-1]  # tail[:, j] = P(X >= j)
        ok = (tail <= rule.alpha) & valid & (k >= 1)
        first = np.where(ok.any(axis=1), ok.argmax(axis=1), n[:, 0] + 1)
        limits[lo : lo + chunk] = first
    lim = dict(zip(map(tuple, keys.to_numpy(int)), limits, strict=True))
    out[rows.index.to_numpy()] = [
        lim[(a, b_, c)]
        for a, b_, c in zip(
            rows["exposure"], rows["base_negative"], rows["base_exposure"], strict=True
        )
    ]
    return out


@dataclass(frozen=True)
class FalseAlarmReport:
    """False alarms of a scan on quiet periods.

    Attributes:
        tests: tested (series, period) pairs in the quiet periods.
        alarms: how many of them alarmed.
        rate: alarms ÷ tests (compare with the rule's α).
        quiet_periods: periods counted as quiet.
        alarms_per_30_days: alarms in all series together per 30 quiet days.
        alarmed: the alarmed rows (period, dimension, value, p_value).
    """

    tests: int
    alarms: int
    rate: float
    quiet_periods: int
    alarms_per_30_days: float
    alarmed: pd.DataFrame = field(repr=False)


def false_alarm_rate(
    scan: pd.DataFrame, busy: Iterable[tuple[dt.date, dt.date]] = ()
) -> FalseAlarmReport:
    """Measure the false alarms of :func:`surge_scan` on the periods outside ``busy``.

    Args:
        scan: :func:`surge_scan` output.
        busy: (first, last) days (inclusive) that are not quiet: known surges and their
            effects. A week is busy when any of its days is.
    """
    cols = ["period", "dimension", "value", "p_value"]
    if scan.empty:
        return FalseAlarmReport(0, 0, 0.0, 0, 0.0, pd.DataFrame(columns=cols))
    periods = pd.Series(sorted(set(scan["period"])))
    weekly = len(periods) > 1 and (periods.iloc[1] - periods.iloc[0]).days == 7
    width = dt.timedelta(days=6 if weekly else 0)
    quiet = pd.Series(True, index=periods.to_numpy())
    for lo, hi in busy:
        if lo > hi:
            raise ValueError(f"a busy window ends before it starts: {lo} > {hi}")
        quiet &= ~((periods + width >= lo) & (periods <= hi)).to_numpy()
    on = scan["period"].map(quiet) & scan["tested"]
    tests, alarms = int(on.sum()), int((on & scan["alarm"]).sum())
    n_quiet = int(quiet.sum())
    days = n_quiet * (7 if weekly else 1)
    return FalseAlarmReport(
        tests=tests,
        alarms=alarms,
        rate=alarms / tests if tests else 0.0,
        quiet_periods=n_quiet,
        alarms_per_30_days=alarms / days * 30 if days else 0.0,
        alarmed=scan.loc[on & scan["alarm"], cols].reset_index(drop=True),
    )
