"""What the alerts, the trends and the risk features count (:class:`SignalCounts`): labelled
tickets per day and writer, and per day and product or competitor named; their periods and
scopes; and the counts of a per-ticket frame (``analytics.alerts.reading.ticket_signals``),
in pandas. Reading them from the store: ``analytics.alerts.reading``.

Example:
    >>> period_of(pd.Series([dt.date(2025, 6, 12)]), "week").tolist()
    [datetime.date(2025, 6, 9)]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from analytics.alerts.scopes import ENTITY_DIMS, FREQS, NAMED

__all__ = [
    "COUNT_COLUMNS",
    "DAY_COLUMN",
    "MENTION_COLUMNS",
    "SERIES_COLUMNS",
    "UNIT_COLUMNS",
    "Names",
    "SignalCounts",
    "as_counts",
    "calendar",
    "empty_counts",
    "long_rows",
    "period_of",
    "with_units",
]

T = TypeVar("T")

#: Columns of :attr:`SignalCounts.units`, :attr:`SignalCounts.series` and
#: :attr:`SignalCounts.mentions`.
UNIT_COLUMNS = ["day", "unit", "customer_id", "segment", "region", "plan", "tickets", "negative"]
SERIES_COLUMNS = ["freq", "period", "dim", "value", "tickets", "negative_tickets", "negative"]
MENTION_COLUMNS = ["day", "customer_id", "dim", "value", "tickets"]
#: Per frame of :class:`SignalCounts`, its date column and its count columns (int64).
DAY_COLUMN = {"units": "day", "series": "period", "mentions": "day"}
COUNT_COLUMNS = {
    "units": ("tickets", "negative"),
    "series": ("tickets", "negative_tickets", "negative"),
    "mentions": ("tickets",),
}

Names = tuple[list[str], list[str], list[str], list[str]]


@dataclass(frozen=True)
class SignalCounts:
    """What the alerts, the trends and the risk features count: every figure of
    ``analytics.alerts`` and ``analytics.risk`` is a sum, or a count of distinct writers,
    over these rows, so they give the same answers as :func:`ticket_signals` at the size of
    days × customers (and days × products or competitors) instead of tickets.

    Attributes:
        units: per ``day`` × ``unit`` (the ticket's customer; the ticket itself when it has
            none) with the customer's ``customer_id``, ``segment``, ``region``, ``plan``:
            ``tickets`` (with a sentiment label, dated) and ``negative`` (of them negative).
        series: per ``freq`` (``"day"``, ``"week"``) × ``period`` (the day, or the Monday
            of the week) × ``dim`` (:data:`ENTITY_DIMS`) × ``value`` (a ticket counts once
            per distinct value it names): ``tickets``, ``negative_tickets`` and
            ``negative`` (distinct writers with a negative ticket).
        mentions: per ``day`` × ``customer_id`` (known customers' tickets) × ``dim``
            ``"competitor"`` (``value`` the vendor) or :data:`NAMED` (value None: naming
            any competitor): ``tickets``.
    """

    units: pd.DataFrame
    series: pd.DataFrame
    mentions: pd.DataFrame
    #: the name table of the entity dimensions (:func:`name_map`), when read from the store
    names: Names | None = field(default=None, repr=False, compare=False)
    _parts: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def empty(self) -> bool:
        """No dated ticket with a sentiment label."""
        return self.units.empty

    def cached(self, key: Any, make: Callable[[], T]) -> T:
        """``make()``, computed once per counts object under ``key`` (what is derived from
        the counts: readers never modify it)."""
        if key not in self._parts:
            self._parts[key] = make()
        return self._parts[key]

    def part(self, dimension: str, freq: str) -> pd.DataFrame:
        """The rows of ``dimension`` with their ``value`` and ``period`` (of ``freq``),
        computed once (readers never modify them): :attr:`units` rows, or for
        :data:`ENTITY_DIMS` the :attr:`series` rows."""

        def make() -> pd.DataFrame:
            if dimension in ENTITY_DIMS:
                ser = self.series
                return ser[(ser["freq"] == freq) & (ser["dim"] == dimension)]
            long = long_rows(self, dimension)
            return long.assign(period=period_of(long["day"], freq))

        return self.cached((dimension, freq), make)


def as_counts(signals: pd.DataFrame | SignalCounts) -> SignalCounts:
    """``signals`` as :class:`SignalCounts` (a ``ticket_signals`` frame is counted)."""
    return signals if isinstance(signals, SignalCounts) else _counts_from_signals(signals)


# -- periods and scopes of the rows ----------------------------------------------------------


def period_of(days: pd.Series, freq: str) -> pd.Series:
    """The period (the day, or the Monday of its ISO week) of each day, as dates."""
    if len(days) > 1000:  # many rows, few days: convert each day once
        codes, uniques = pd.factorize(days)
        return pd.Series(
            np.asarray(period_of(pd.Series(uniques), freq), dtype=object)[codes]
            if len(uniques)
            else [],
            index=days.index,
            dtype=object,
        )
    d = pd.to_datetime(days)
    if freq == "week":
        d = d - pd.to_timedelta(d.dt.day_of_week, unit="D")  # the Monday of its ISO week
    return d.dt.date


def calendar(first: dt.date, last: dt.date, freq: str) -> pd.DatetimeIndex:
    """Every period from the one holding ``first`` to ``last``."""
    step = "D" if freq == "day" else "7D"
    if freq == "week":
        first = first - dt.timedelta(days=first.weekday())
    return pd.date_range(first, last, freq=step)


def long_rows(counts: SignalCounts, dimension: str) -> pd.DataFrame:
    """The :attr:`SignalCounts.units` rows of a customer ``dimension`` (or all) with its
    ``value`` (the entity dimensions are :attr:`SignalCounts.series`)."""
    if dimension == "all":
        return counts.units.assign(value="all")
    units = counts.units
    return units[units[dimension].notna()].assign(value=lambda d: d[dimension])


def with_units(signals: pd.DataFrame) -> pd.DataFrame:
    """``unit``: who wrote the ticket (its customer; the ticket itself when unknown)."""
    return signals.assign(
        unit=signals["customer_id"].where(signals["customer_id"].notna(), signals["ticket_key"])
    )


# -- counting --------------------------------------------------------------------------------


def empty_counts() -> SignalCounts:
    return SignalCounts(
        pd.DataFrame(columns=UNIT_COLUMNS),
        pd.DataFrame(columns=SERIES_COLUMNS),
        pd.DataFrame(columns=MENTION_COLUMNS),
    )


def _counts_from_signals(signals: pd.DataFrame) -> SignalCounts:
    """:class:`SignalCounts` of a :func:`ticket_signals` frame (in pandas)."""
    if signals.empty:
        return empty_counts()
    sig = with_units(signals)
    sig = sig.assign(day=pd.to_datetime(sig["day"]).dt.date, negative=sig["negative"].astype(bool))
    keys = ["day", "unit", "customer_id", "segment", "region", "plan"]
    units = (
        sig.groupby(keys, dropna=False, sort=True)["negative"]
        .agg(["size", "sum"])
        .reset_index()
        .rename(columns={"size": "tickets", "sum": "negative"})
    )
    frames = []
    for dim, col in (("product", "products"), ("competitor", "competitors")):
        ex = (
            sig[["ticket_key", "day", "unit", "customer_id", "negative", col]]
            .explode(col)
            .dropna(subset=[col])
        )
        frames.append(ex.rename(columns={col: "value"}).assign(dim=dim))
    long = pd.concat(frames, ignore_index=True)
    series = []
    for freq in FREQS:
        g = long.assign(period=period_of(long["day"], freq)).groupby(["period", "dim", "value"])
        agg = (
            g["negative"]
            .agg(["size", "sum"])
            .rename(columns={"size": "tickets", "sum": "negative_tickets"})
        )
        agg["negative"] = (
            long[long["negative"]]
            .assign(period=period_of(long.loc[long["negative"], "day"], freq))
            .groupby(["period", "dim", "value"])["unit"]
            .nunique()
            .reindex(agg.index, fill_value=0)
        )
        series.append(agg.reset_index().assign(freq=freq))
    known = long[long["customer_id"].notna() & (long["dim"] == "competitor")]
    mentions = (
        known.groupby(["day", "customer_id", "dim", "value"]).size().reset_index(name="tickets")
    )
    named = (
        known.groupby(["day", "customer_id"])["ticket_key"]
        .nunique()
        .reset_index(name="tickets")
        .assign(dim=NAMED, value=None)
    )
    return _typed(
        units, pd.concat(series, ignore_index=True), pd.concat([mentions, named], ignore_index=True)
    )


def _typed(units: pd.DataFrame, series: pd.DataFrame, mentions: pd.DataFrame) -> SignalCounts:
    """The frames of pandas counting with the types the store's reads give them
    (``analytics.alerts.reading``), ordered by their group columns."""
    frames = {"units": units[UNIT_COLUMNS], "series": series[SERIES_COLUMNS]}
    frames["mentions"] = mentions[MENTION_COLUMNS]
    out = {}
    for kind, frame in frames.items():
        day, counts = DAY_COLUMN[kind], COUNT_COLUMNS[kind]
        data = {}
        for col in frame.columns:
            if col == day:
                data[col] = pd.Series(pd.to_datetime(frame[col]).dt.date.to_numpy(), dtype=object)
            elif col in counts:
                data[col] = pd.Series(frame[col].to_numpy("int64"))
            else:
                values = frame[col].astype(object)
                data[col] = pd.Series(values.where(values.notna(), None).to_numpy(), dtype=object)
        out[kind] = pd.DataFrame(data, columns=list(frame.columns))
    units = out["units"].sort_values(["day", "unit"], kind="stable")
    series = out["series"].sort_values(["freq", "period", "dim", "value"], kind="stable")
    mentions = out["mentions"].sort_values(["day", "customer_id", "dim", "value"], kind="stable")
    return SignalCounts(
        units.reset_index(drop=True), series.reset_index(drop=True), mentions.reset_index(drop=True)
    )
