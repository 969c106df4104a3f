"""The alerts: alarmed periods of a series grouped into episodes, each with its figures
(:func:`surge_alerts`; :func:`open_alert_count` counts the open ones without building them).
Their writers, tickets and most named entities are read by :mod:`analytics.alerts.details`.

Example:
    >>> surge_alerts(Store.open("demo.duckdb"), open_only=False)      # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from analytics.alerts.counts import SignalCounts, as_counts
from analytics.alerts.details import alert_keys, frame_keys, rollup_customers, top_entities
from analytics.alerts.reading import signal_counts
from analytics.alerts.rule import SurgeRule
from analytics.alerts.scan import episode_positions, grids
from analytics.alerts.scopes import DIMENSIONS, GOLD, check_freq

__all__ = [
    "ALERT_COLUMNS",
    "open_alert_count",
    "surge_alerts",
]

#: Columns of :func:`surge_alerts`.
ALERT_COLUMNS: tuple[str, ...] = (
    "alert",
    "dimension",
    "value",
    "freq",
    "since",
    "last",
    "periods",
    "open",
    "tickets",
    "negative",
    "customers",
    "share",
    "rate",
    "baseline_rate",
    "expected",
    "p_value",
    "entities",
    "ticket_keys",
    "rule",
)


def _alert_rows(
    counts: SignalCounts,
    *,
    freq: str,
    rule: SurgeRule,
    dimensions: Sequence[str],
    as_of: dt.date | None,
) -> list[dict[str, Any]]:
    """One dict per alert (episode) of the scan, without its tickets and writers."""
    periods, found = grids(
        counts, freq=freq, rule=rule, dimensions=dimensions, end=as_of, full=False
    )
    if not found:
        return []
    period = periods.to_numpy()
    days = np.asarray(period, dtype="datetime64[D]")
    step = dt.timedelta(days=1 if freq == "day" else 7)
    opened_from = period[-1] - rule.open_periods * step
    described = rule.describe(freq)
    rows = []
    for g in found:
        for j in np.flatnonzero(g.alarm.any(axis=0)):
            # one series' periods ascend: an episode's span is a slice
            tickets, negative_t = g.tickets[:, j], g.negative_tickets[:, j]
            x, n = g.negative[:, j].astype(int), g.exposure[:, j].astype(int)
            bx, bn = g.base_negative[:, j].astype(int), g.base_exposure[:, j].astype(int)
            expected, p = g.expected[:, j], g.p_value[:, j]
            value = g.values[j]
            for ep in episode_positions(days, g.alarm[:, j], freq, rule.merge_gap):
                since, last = period[ep[0]], period[ep[-1]]
                span = slice(int(ep[0]), int(ep[-1]) + 1)
                n_tickets, n_negative = tickets[span].sum(), negative_t[span].sum()
                rows.append(
                    {
                        "alert": f"negative surge: {g.dimension} {value}"
                        if g.dimension != "all"
                        else "negative surge: all tickets",
                        "dimension": g.dimension,
                        "value": value,
                        "freq": freq,
                        "since": since,
                        "last": last,
                        "periods": len(ep),
                        "open": bool(last >= opened_from),
                        "tickets": int(n_tickets),
                        "negative": int(n_negative),
                        "share": float(n_negative / max(n_tickets, 1)),
                        "rate": float(x[span].sum() / max(n[span].sum(), 1)),
                        "baseline_rate": float(bx[ep[0]] / max(bn[ep[0]], 1)),
                        "expected": float(expected[ep].sum()),
                        "p_value": float(p[ep].min()),
                        "rule": described,
                    }
                )
    return rows


def _read_counts(
    store: Any,
    signals: pd.DataFrame | SignalCounts | None,
    sentiment: str,
    entities: str | None,
    start: dt.date | None,
    as_of: dt.date | None,
) -> SignalCounts:
    """The counts the alert rule scans: ``signals`` as given, or read from the store (the
    roll-ups when fresh) for ``sentiment``, ``entities`` and the ``start``..``as_of`` days."""
    if signals is not None:
        return as_counts(signals)
    return signal_counts(store, sentiment=sentiment, entities=entities, start=start, end=as_of)


def surge_alerts(
    store: Any,
    *,
    sentiment: str = GOLD,
    entities: str | None = None,
    freq: str = "day",
    rule: SurgeRule | None = None,
    dimensions: Sequence[str] = DIMENSIONS,
    start: dt.date | None = None,
    as_of: dt.date | None = None,
    open_only: bool = True,
    signals: pd.DataFrame | SignalCounts | None = None,
    details: bool = True,
) -> pd.DataFrame:
    """The surge alerts: open ones by default, every one with ``open_only=False``.

    Args:
        store: the store.
        sentiment: ``"gold"`` or a model id (see :func:`ticket_signals`).
        entities: the entities' model id (default the sentiment's source).
        freq: ``"day"`` or ``"week"``.
        rule: the rule (default :class:`SurgeRule`).
        dimensions: scopes to scan (default all of :data:`DIMENSIONS`).
        start: first day of data read (the baseline needs the weeks before what you watch).
        as_of: the last day of data read and the day "open" is judged on (default the last
            ticket's day).
        open_only: only alerts still open on ``as_of``.
        signals: :func:`ticket_signals` already read (then ``store`` is only used for the
            entities of the alerts' tickets), or :func:`signal_counts` of the same
            ``sentiment``, ``entities``, ``start`` and ``as_of`` (then the alerts' tickets
            are read from the store).
        details: False leaves ``ticket_keys`` and ``entities`` out (None; read them for the
            alerts shown with :func:`alert_details`) and counts ``customers`` from the
            signal roll-ups when they are fresh, without reading a ticket.

    Returns:
        One row per alert, newest first, columns :data:`ALERT_COLUMNS`: ``alert`` (what, in
        words), ``dimension`` and ``value`` (where), ``freq``, ``since`` and ``last`` (first
        and last alarmed period), ``periods`` (alarmed periods), ``open``, ``tickets`` and
        ``negative`` (tickets of the scope, all and negative, from ``since`` to the end of
        ``last``), ``customers`` (distinct customers among the negative ones), ``share``
        (negative ÷ tickets), ``rate`` (the rule's x ÷ n summed over those periods: unhappy
        customers of the scope per customer writing in), ``baseline_rate`` (the same in the
        baseline of the first alarm), ``expected`` (unhappy customers expected in the
        alarmed periods), ``p_value`` (the smallest),
        ``entities`` (the entities most named by its negative tickets, "text ×count; …"),
        ``ticket_keys`` (its negative tickets, oldest first), ``rule`` (the rule in words).
    """
    freq = check_freq(freq)
    rule = rule or SurgeRule()
    frame = signals if isinstance(signals, pd.DataFrame) else None
    counts = _read_counts(store, signals, sentiment, entities, start, as_of)
    rows = _alert_rows(counts, freq=freq, rule=rule, dimensions=dimensions, as_of=as_of)
    alerts = pd.DataFrame(rows)
    if open_only and len(alerts):
        alerts = alerts[alerts["open"]]
    if alerts.empty:
        return pd.DataFrame(columns=list(ALERT_COLUMNS))
    alerts = alerts.reset_index(drop=True)
    entities = entities or sentiment
    if frame is not None:
        keys, customers = frame_keys(frame, alerts)
        alerts = alerts.assign(ticket_keys=keys, customers=customers)
        alerts = alerts.assign(entities=top_entities(store, alerts["ticket_keys"], entities))
    elif (
        not details
        and (
            customers := rollup_customers(
                store, alerts, sentiment=sentiment, entities=entities, start=start, as_of=as_of
            )
        )
        is not None
    ):
        alerts = alerts.assign(ticket_keys=None, customers=customers, entities=None)
    else:
        keys, customers, named = alert_keys(
            store,
            alerts,
            sentiment=sentiment,
            entities=entities,
            start=start,
            as_of=as_of,
            names=counts.names,
        )
        alerts = alerts.assign(ticket_keys=keys, customers=customers, entities=named)
    alerts = alerts.sort_values(["since", "dimension", "value"], ascending=[False, True, True])
    return alerts.reset_index(drop=True)[list(ALERT_COLUMNS)]


def open_alert_count(
    store: Any,
    *,
    sentiment: str = GOLD,
    entities: str | None = None,
    freq: str = "day",
    rule: SurgeRule | None = None,
    dimensions: Sequence[str] = DIMENSIONS,
    start: dt.date | None = None,
    as_of: dt.date | None = None,
    signals: pd.DataFrame | SignalCounts | None = None,
) -> int:
    """How many alerts are open: ``surge_alerts(..., open_only=False)["open"].sum()``
    without reading the alerts' tickets (the Overview's figure). Arguments as
    :func:`surge_alerts`."""
    freq = check_freq(freq)
    rule = rule or SurgeRule()
    counts = _read_counts(store, signals, sentiment, entities, start, as_of)
    periods, found = grids(
        counts, freq=freq, rule=rule, dimensions=dimensions, end=as_of, full=False
    )
    if not found:
        return 0
    period = periods.to_numpy()
    days = np.asarray(period, dtype="datetime64[D]")
    opened_from = period[-1] - rule.open_periods * dt.timedelta(days=1 if freq == "day" else 7)
    return sum(
        int(period[ep[-1]] >= opened_from)
        for g in found
        for j in np.flatnonzero(g.alarm.any(axis=0))
        for ep in episode_positions(days, g.alarm[:, j], freq, rule.merge_gap)
    )
