"""The Signals page's cached reads: surge alerts, customers at risk, the open-alert count
and an alert's tickets.

They read sentiment and the tags: their :class:`~dashboard.data_versions.SignalsVersion`
moves once per window of ``SIGNALS_REFRESH_WHILE_TAGGING`` seconds while tagging runs. Too
little history is cached too (``_NotEnoughData``) and raised again on every call.

Example:
    >>> source = signal_source()                                   # doctest: +SKIP
    >>> surge_alerts(source, freq="week")                          # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from dashboard.data_versions import (
    HOUR,
    EntitiesVersion,
    SignalsVersion,
    data_version,
    signals_version,
    the_store,
)
from data.store import Store

if TYPE_CHECKING:
    from analytics.alerts import SignalCounts, SignalSource
    from analytics.risk import RiskBacktest


@dataclass(frozen=True)
class _NotEnoughData:
    """An ``InsufficientDataError`` kept in the cache (the page says why, every run)."""

    message: str


@st.cache_data(show_spinner=False, max_entries=32, ttl=HOUR)
def _signal_source(_store: Store, version: SignalsVersion) -> SignalSource | None:
    from analytics.alerts import signal_source as find

    return find(_store)


def signal_source() -> SignalSource | None:
    """Where the signals' sentiment and entities come from (``analytics.alerts.
    signal_source``: the tagger's sentiment once it has labelled as many tickets as the
    demo's ground truth covers, else the ground truth); None when neither exists."""
    return _signal_source(the_store(), signals_version())


@st.cache_resource(show_spinner=False, max_entries=8, ttl=HOUR)
def _signal_counts(
    _store: Store, version: SignalsVersion, sentiment: str, entities: str, mentions: bool = True
) -> SignalCounts:
    """``analytics.alerts.signal_counts`` (per day and customer: the size of days ×
    customers, read from the signals' roll-ups when they are fresh), one shared object per
    data version: readers never modify it. ``mentions=False``: without the per-customer
    competitor mentions (what the alert count needs; the risk features read them)."""
    from analytics.alerts import signal_counts

    return signal_counts(_store, sentiment=sentiment, entities=entities, mentions=mentions)


@st.cache_data(show_spinner=False, max_entries=64, ttl=HOUR)
def _negative_share(
    _store: Store, version: SignalsVersion, sentiment: str, entities: str, freq: str, dimension: str
) -> pd.DataFrame:
    from analytics.alerts import negative_share as share

    return share(
        _signal_counts(_store, version, sentiment, entities), freq=freq, dimension=dimension
    )


def negative_share(
    source: SignalSource, *, freq: str = "day", dimension: str = "all"
) -> pd.DataFrame:
    """Negative share per period and value (``analytics.alerts.negative_share``)."""
    return _negative_share(
        the_store(), signals_version(), source.sentiment, source.entities, freq, dimension
    )


@st.cache_data(show_spinner=False, max_entries=16, ttl=HOUR)
def _signal_days(
    _store: Store, version: SignalsVersion, sentiment: str, entities: str
) -> tuple[dt.date, dt.date] | None:
    counts = _signal_counts(_store, version, sentiment, entities)
    days = counts.units["day"]
    return (min(days), max(days)) if len(days) else None


def signal_days(source: SignalSource) -> tuple[dt.date, dt.date] | None:
    """First and last day with a sentiment label, or None."""
    return _signal_days(the_store(), signals_version(), source.sentiment, source.entities)


@st.cache_data(show_spinner=False, max_entries=32, ttl=HOUR)
def _surge_alerts(
    _store: Store,
    version: SignalsVersion,
    sentiment: str,
    entities: str,
    freq: str,
    open_only: bool,
    details: bool,
) -> pd.DataFrame:
    from analytics.alerts import surge_alerts as alerts

    return alerts(
        _store,
        sentiment=sentiment,
        entities=entities,
        freq=freq,
        open_only=open_only,
        details=details,
        signals=_signal_counts(_store, version, sentiment, entities),
    )


def surge_alerts(
    source: SignalSource, *, freq: str = "day", open_only: bool = True, details: bool = True
) -> pd.DataFrame:
    """Surges of negative tickets (``analytics.alerts.surge_alerts``); ``details=False``
    leaves each alert's tickets and entities to :func:`alert_details` (no ticket read)."""
    return _surge_alerts(
        the_store(), signals_version(), source.sentiment, source.entities, freq, open_only, details
    )


@st.cache_data(show_spinner=False, max_entries=256, ttl=HOUR)
def _alert_details(
    _store: Store,
    version: SignalsVersion,
    sentiment: str,
    entities: str,
    alert: tuple[str, str, str, dt.date, dt.date],
) -> pd.Series:
    from analytics.alerts import alert_details as details

    dimension, value, freq, since, last = alert
    one = pd.DataFrame(
        {
            "dimension": [dimension],
            "value": [value],
            "freq": [freq],
            "since": [since],
            "last": [last],
        }
    )
    return details(_store, one, sentiment=sentiment, entities=entities).iloc[0]


def alert_details(source: SignalSource, row: Any) -> pd.Series:
    """One alert's ``ticket_keys`` (its negative tickets, oldest first), ``customers`` and
    ``entities`` (most named), read from its tickets (``analytics.alerts.alert_details``):
    only for the alert a user opens."""
    return _alert_details(
        the_store(),
        signals_version(),
        source.sentiment,
        source.entities,
        (str(row.dimension), str(row.value), str(row.freq), row.since, row.last),
    )


@st.cache_data(show_spinner=False, max_entries=16, ttl=HOUR)
def _customers_at_risk(
    _store: Store, version: SignalsVersion, sentiment: str, entities: str
) -> pd.DataFrame | _NotEnoughData:
    from analytics.errors import InsufficientDataError
    from analytics.risk import customers_at_risk as score

    try:  # the offers are priced by the segments' economics alone (no market reads)
        return score(
            _store,
            sentiment=sentiment,
            entities=entities,
            signals=_signal_counts(_store, version, sentiment, entities),
        )
    except InsufficientDataError as exc:  # cached too: the page says why
        return _NotEnoughData(str(exc))


def customers_at_risk(source: SignalSource) -> pd.DataFrame:
    """Customers most likely to leave with the offer to make (``analytics.risk.
    customers_at_risk``).

    Raises:
        InsufficientDataError: too little history to fit the risk model.
    """
    return _raise_if_refused(
        _customers_at_risk(the_store(), signals_version(), source.sentiment, source.entities)
    )


@st.cache_data(show_spinner=False, max_entries=16, ttl=HOUR)
def _risk_backtest(
    _store: Store, version: SignalsVersion, sentiment: str, entities: str
) -> RiskBacktest | _NotEnoughData:
    from analytics.errors import InsufficientDataError
    from analytics.risk import risk_backtest as backtest

    try:
        return backtest(
            _store,
            sentiment=sentiment,
            entities=entities,
            signals=_signal_counts(_store, version, sentiment, entities),
        )
    except InsufficientDataError as exc:
        return _NotEnoughData(str(exc))


def risk_backtest(source: SignalSource) -> RiskBacktest:
    """How well the risk model ranks later months (``analytics.risk.risk_backtest``).

    Raises:
        InsufficientDataError: too little history for a backtest.
    """
    return _raise_if_refused(
        _risk_backtest(the_store(), signals_version(), source.sentiment, source.entities)
    )


def _raise_if_refused(result: Any) -> Any:
    if isinstance(result, _NotEnoughData):
        from analytics.errors import InsufficientDataError

        raise InsufficientDataError(result.message)
    return result


def open_alert_count() -> int | None:
    """Daily surge alerts still open on the last day with tickets (the Signals page's first
    list); None when no ticket has a sentiment label."""
    source = signal_source()
    if source is None:
        return None
    return _open_alert_count(the_store(), signals_version(), source.sentiment, source.entities)


@st.cache_data(show_spinner=False, max_entries=16, ttl=HOUR)
def _open_alert_count(_store: Store, version: SignalsVersion, sentiment: str, entities: str) -> int:
    from analytics.alerts import open_alert_count as count

    # the count needs no alert's tickets (cheaper than surge_alerts(...)["open"].sum()) and
    # no customer's mentions
    return count(
        _store,
        sentiment=sentiment,
        entities=entities,
        freq="day",
        signals=_signal_counts(_store, version, sentiment, entities, False),
    )


@st.cache_data(show_spinner=False, max_entries=256, ttl=HOUR)
def _alert_tickets(
    _store: Store,
    version: EntitiesVersion,
    keys: tuple[str, ...],
    first: dt.date,
    last: dt.date,
    model_id: str | None,
) -> pd.DataFrame:
    from analytics.alerts import alert_tickets as read

    return read(_store, keys, model_id, start=first, end=last)


def alert_tickets(
    keys: tuple[str, ...], first: dt.date, last: dt.date, model_id: str | None
) -> pd.DataFrame:
    """The tickets ``keys`` of an alert (created from day ``first`` to ``last``), oldest
    first, with ``model_id``'s entities, looked up by key (``analytics.alerts.
    alert_tickets``: the alert's days' row groups of the tickets, nothing else)."""
    return _alert_tickets(
        the_store(), data_version().entities_version, tuple(keys), first, last, model_id
    )
