"""The scan: every test of the surge rule, one per series (dimension, value) and period,
as matrices of periods × values computed with integer codes and ``np.bincount`` (exact:
whole numbers), and the negative-share trends.

Example:
    >>> surge_scan(signal_counts(Store.open("demo.duckdb")), freq="week")  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.alerts.counts import SignalCounts, as_counts, calendar
from analytics.alerts.rule import (
    ROUGH_MARGIN,
    SurgeRule,
    control_limits,
    rough_tail,
    surge_p_value,
    trailing,
)
from analytics.alerts.scopes import (
    DIMENSIONS,
    ENTITY_DIMS,
    check_dimensions,
    check_freq,
)

__all__ = ["SCAN_COLUMNS", "Grid", "episode_positions", "grids", "negative_share", "surge_scan"]

#: Columns of :func:`surge_scan`.
SCAN_COLUMNS = [
    "period",
    "dimension",
    "value",
    "tickets",
    "negative_tickets",
    "negative",
    "exposure",
    "base_negative",
    "base_exposure",
    "expected",
    "p_value",
    "limit",
    "tested",
    "alarm",
]


@dataclass(frozen=True)
class Grid:
    """One dimension's tests as matrices of periods (rows) × values (columns).

    Attributes:
        dimension: the scope.
        values: its values (sorted), one per column.
        tickets, negative_tickets: tickets of the value, all and negative (int64).
        negative: x, customers of the value with a negative ticket; exposure: n, customers
            with any ticket (every value); base_negative, base_exposure: b_x, b_n (float).
        expected: the baseline's expected x; p_value: P(X >= x) (1 where not computed);
        tested: the baseline is big enough and n > 0; alarm: the rule alarms.
    """

    dimension: str
    values: np.ndarray
    tickets: np.ndarray
    negative_tickets: np.ndarray
    negative: np.ndarray
    exposure: np.ndarray
    base_negative: np.ndarray
    base_exposure: np.ndarray
    expected: np.ndarray
    p_value: np.ndarray
    tested: np.ndarray
    alarm: np.ndarray


# -- counting into matrices ----------------------------------------------------------------


@dataclass(frozen=True)
class _UnitCodes:
    """:attr:`SignalCounts.units` as integer codes (computed once per counts object)."""

    days: np.ndarray  # the distinct days (dates), ascending
    day: np.ndarray  # per row: its day's position in days
    unit: np.ndarray  # per row: its writer's code
    units: int  # how many writers
    tickets: np.ndarray
    negative: np.ndarray


def _unit_codes(counts: SignalCounts) -> _UnitCodes:
    def make() -> _UnitCodes:
        u = counts.units
        day, days = pd.factorize(u["day"], sort=True)
        unit, units = pd.factorize(u["unit"])
        return _UnitCodes(
            np.asarray(days, dtype=object),
            day,
            unit,
            len(units),
            u["tickets"].to_numpy("int64"),
            u["negative"].to_numpy("int64"),
        )

    return counts.cached("analytics.alerts.scan._UnitCodes", make)


def _value_codes(counts: SignalCounts, dimension: str) -> tuple[np.ndarray, np.ndarray]:
    """Per units row the code of its ``dimension`` value (-1: none), and the values sorted."""

    def make() -> tuple[np.ndarray, np.ndarray]:
        if dimension == "all":
            return np.zeros(len(counts.units), dtype=np.intp), np.array(["all"], dtype=object)
        codes, values = pd.factorize(counts.units[dimension].to_numpy(object), sort=True)
        return codes, np.asarray(values, dtype=object)

    return counts.cached(("analytics.alerts.scan.values", dimension), make)


def _positions(days: np.ndarray, first: dt.date, freq: str) -> np.ndarray:
    """Each day's period position in a calendar starting at period ``first``."""
    d = pd.to_datetime(pd.Series(days)).to_numpy().astype("datetime64[D]")
    start = np.datetime64(first, "D")
    if freq == "day":
        return (d - start).astype(np.int64)
    monday = d - ((d.astype(np.int64) + 3) % 7).astype("timedelta64[D]")  # 1970-01-01: a Thursday
    return (monday - start).astype(np.int64) // 7


def _cells(keys: np.ndarray, weights: np.ndarray | None, size: int) -> np.ndarray:
    """Sums of ``weights`` (or counts) per cell ``keys``, as int64 (whole numbers: exact)."""
    if weights is None:
        return np.bincount(keys, minlength=size).astype(np.int64)
    return np.rint(np.bincount(keys, weights=weights, minlength=size)).astype(np.int64)


def _distinct(keys: np.ndarray, cells: np.ndarray, size: int) -> np.ndarray:
    """Per cell, the distinct ``keys`` among rows in it (each key lies in one cell)."""
    _, first = np.unique(keys, return_index=True)
    return np.bincount(cells[first], minlength=size).astype(np.int64)


def _unit_matrices(
    counts: SignalCounts, dimension: str, n_periods: int, pos_of_day: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """(values, tickets, negative tickets, unhappy writers) of a customer dimension."""
    c = _unit_codes(counts)
    codes, values = _value_codes(counts, dimension)
    if not len(values):
        return None
    pos = pos_of_day[c.day]
    inside = (codes >= 0) & (pos < n_periods)
    width = len(values)
    cell = pos[inside] * width + codes[inside]
    size = n_periods * width
    tickets = _cells(cell, c.tickets[inside], size)
    negative_tickets = _cells(cell, c.negative[inside], size)
    unhappy = c.negative[inside] > 0
    writer = pos[inside][unhappy] * np.int64(c.units) + c.unit[inside][unhappy]
    x = _distinct(writer, cell[unhappy], size)
    shape = (n_periods, width)
    return values, tickets.reshape(shape), negative_tickets.reshape(shape), x.reshape(shape)


def _entity_matrices(
    counts: SignalCounts, dimension: str, freq: str, first: dt.date, n_periods: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """The same of an entity dimension, from :attr:`SignalCounts.series` (writers counted)."""
    rows = counts.part(dimension, freq)
    if rows.empty:
        return None
    codes, values = pd.factorize(rows["value"], sort=True)
    values = np.asarray(values, dtype=object)
    pos = _positions(rows["period"].to_numpy(), first, freq)
    inside = (pos >= 0) & (pos < n_periods)
    width = len(values)
    cell = pos[inside] * width + codes[inside]
    size = n_periods * width
    shape = (n_periods, width)
    out = [
        _cells(cell, rows[col].to_numpy("int64")[inside], size).reshape(shape)
        for col in ("tickets", "negative_tickets", "negative")
    ]
    return values, out[0], out[1], out[2]


def grids(
    counts: SignalCounts,
    *,
    freq: str,
    rule: SurgeRule | None,
    dimensions: Sequence[str],
    end: dt.date | None,
    full: bool = True,
) -> tuple[pd.Index, list[Grid]]:
    """The calendar's periods (dates) and one :class:`Grid` per dimension with rows
    (computed once per counts object and arguments). ``full=False`` (what the alerts need)
    computes ``p_value`` only where an alarm is possible (1 elsewhere): the alarms, and
    every figure of the alarmed cells, are the same."""
    freq, dims = check_freq(freq), check_dimensions(dimensions)
    rule = rule or SurgeRule()
    key = ("analytics.alerts.scan.grids", freq, rule, dims, end, full)
    return counts.cached(key, lambda: _grids(counts, freq, rule, dims, end, full))


def _grids(
    counts: SignalCounts,
    freq: str,
    rule: SurgeRule,
    dims: tuple[str, ...],
    end: dt.date | None,
    full: bool,
) -> tuple[pd.Index, list[Grid]]:
    if counts.empty:
        return pd.Index([]), []
    c = _unit_codes(counts)
    last = end or c.days[-1]
    cal = calendar(c.days[0], last, freq)
    periods = pd.Index(cal.date)
    n_periods = len(periods)
    first = periods[0]
    pos_of_day = _positions(c.days, first, freq)
    inside = pos_of_day[c.day] < n_periods
    writers = pos_of_day[c.day][inside] * np.int64(c.units) + c.unit[inside]
    exposure = _distinct(writers, pos_of_day[c.day][inside], n_periods).astype(float)
    b = rule.baseline(freq)
    base_n = trailing(exposure, b)
    out = []
    for dim in dims:
        found = (
            _entity_matrices(counts, dim, freq, first, n_periods)
            if dim in ENTITY_DIMS
            else _unit_matrices(counts, dim, n_periods, pos_of_day)
        )
        if found is None:
            continue
        values, tickets, neg_t, neg = found
        x = neg.astype(float)
        base_x = trailing(x, b)
        n = np.broadcast_to(exposure[:, None], x.shape)
        bn = np.broadcast_to(base_n[:, None], x.shape)
        tested = (n > 0) & (bn >= rule.min_baseline_tickets)
        if full:
            p = surge_p_value(x, n, base_x, bn, rule.prior)
        else:
            p = np.ones(x.shape)
            can = tested & (x >= rule.min_negative)
            # exact p-values (scipy) only where a quick tail sum says an alarm is possible
            stop = ROUGH_MARGIN * rule.alpha
            rough = rough_tail(x[can], n[can], base_x[can], bn[can], rule.prior, stop)
            idx = np.flatnonzero(can)[rough <= stop]
            p.flat[idx] = surge_p_value(
                x.flat[idx], n.flat[idx], base_x.flat[idx], bn.flat[idx], rule.prior
            )
        alarm = tested & (p <= rule.alpha) & (x >= rule.min_negative)
        expected = n * (rule.prior + base_x) / (2 * rule.prior + bn)
        out.append(Grid(dim, values, tickets, neg_t, x, n, base_x, bn, expected, p, tested, alarm))
    return periods, out


# -- the public views --------------------------------------------------------------------------


def negative_share(
    signals: pd.DataFrame | SignalCounts, *, freq: str = "day", dimension: str = "all"
) -> pd.DataFrame:
    """Negative share per period and value of a dimension (the trend charts).

    Args:
        signals: :func:`ticket_signals` or :func:`signal_counts`.
        freq: ``"day"`` or ``"week"`` (weeks start on Monday).
        dimension: one of :data:`DIMENSIONS`.

    Returns:
        Columns ``period`` (date), ``dimension``, ``value``, ``tickets``, ``negative``,
        ``share`` (negative ÷ tickets of the value); periods without tickets are left out.
    """
    freq, (dimension,) = check_freq(freq), check_dimensions(dimension)
    cols = ["period", "dimension", "value", "tickets", "negative", "share"]
    counts = as_counts(signals)
    if counts.empty:
        return pd.DataFrame(columns=cols)
    long = counts.part(dimension, freq)
    negative = "negative_tickets" if dimension in ENTITY_DIMS else "negative"
    g = long.groupby(["period", "value"])[["tickets", negative]].sum().reset_index()
    g.columns = ["period", "value", "tickets", "negative"]
    g["tickets"] = g["tickets"].astype("int64")
    g["dimension"] = dimension
    g["negative"] = g["negative"].astype(int)
    g["share"] = g["negative"] / g["tickets"]
    return g[cols].sort_values(["dimension", "value", "period"]).reset_index(drop=True)


def surge_scan(
    signals: pd.DataFrame | SignalCounts,
    *,
    freq: str = "day",
    rule: SurgeRule | None = None,
    dimensions: Sequence[str] = DIMENSIONS,
    end: dt.date | None = None,
) -> pd.DataFrame:
    """Every test of the rule: one row per series (dimension, value) and period.

    Args:
        signals: :func:`ticket_signals` or :func:`signal_counts`.
        freq: ``"day"`` or ``"week"``.
        rule: the rule (default :class:`SurgeRule`).
        dimensions: which of :data:`DIMENSIONS` to scan.
        end: last day of the calendar (default the last ticket's day).

    Returns:
        Columns ``period`` (date: the day, or the Monday of the week), ``dimension``,
        ``value``, ``tickets`` and ``negative_tickets`` (of the value), ``negative`` (x:
        customers of the value with a negative ticket), ``exposure`` (n: customers with any
        ticket), ``base_negative`` and ``base_exposure`` (b_x, b_n), ``expected`` (the
        baseline's expected x), ``p_value``, ``limit`` (the control limit for n),
        ``tested`` (the baseline is big enough and n > 0), ``alarm``.
    """
    return scan_frame(as_counts(signals), freq=freq, rule=rule, dimensions=dimensions, end=end)


def scan_frame(
    counts: SignalCounts,
    *,
    freq: str,
    rule: SurgeRule | None,
    dimensions: Sequence[str],
    end: dt.date | None,
    full: bool = True,
) -> pd.DataFrame:
    """:func:`surge_scan` of counts; ``full=False`` as :func:`grids` (and no ``limit``: 0)."""
    rule = rule or SurgeRule()
    periods, found = grids(counts, freq=freq, rule=rule, dimensions=dimensions, end=end, full=full)
    if not found:
        return pd.DataFrame(columns=SCAN_COLUMNS)
    frames = []
    for g in found:
        k, j = np.meshgrid(np.arange(len(periods)), np.arange(len(g.values)), indexing="ij")
        frames.append(
            pd.DataFrame(
                {
                    "period": pd.Series(periods.to_numpy()[k.ravel()], dtype=object),
                    "dimension": g.dimension,
                    "value": g.values[j.ravel()],
                    "tickets": g.tickets[k, j].ravel(),
                    "negative_tickets": g.negative_tickets[k, j].ravel(),
                    "negative": g.negative.ravel().astype(int),
                    "exposure": g.exposure.ravel().astype(int),
                    "base_negative": g.base_negative.ravel().astype(int),
                    "base_exposure": g.base_exposure.ravel().astype(int),
                    "expected": g.expected.ravel(),
                    "p_value": g.p_value.ravel(),
                    "tested": g.tested.ravel(),
                    "alarm": g.alarm.ravel(),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out["limit"] = control_limits(out, rule) if full else 0
    return out[SCAN_COLUMNS]


def episode_positions(
    periods: np.ndarray, alarm: np.ndarray, freq: str, merge_gap: int
) -> list[np.ndarray]:
    """The alarmed positions of one series (``periods`` ascending: dates or
    ``datetime64[D]``; ``alarm`` its flags), grouped into episodes: alarmed periods at most
    ``merge_gap`` periods apart."""
    idx = np.flatnonzero(alarm)
    if not idx.size:
        return []
    step = 1 if freq == "day" else 7
    days = np.asarray(periods, dtype="datetime64[D]")[idx]
    gaps = np.diff(days).astype(np.int64) // step - 1
    return np.split(idx, np.flatnonzero(gaps > merge_gap) + 1)
