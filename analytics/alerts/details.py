"""An alert's details, read per alert of :func:`analytics.alerts.surge_alerts`: its negative
tickets (oldest first), their distinct writers and the entities they name most, from the store
in one query (:func:`alert_keys`; the writers alone from the signal roll-ups when fresh,
:func:`rollup_customers`) or from a ticket frame already read; :func:`alert_details` adds them
to alerts read without them (an opened alert).

Example:
    >>> shown = surge_alerts(store, open_only=False, details=False).head(3)  # doctest: +SKIP
    >>> alert_details(store, shown)[["customers", "entities"]]            # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from analytics.alerts.counts import with_units
from analytics.alerts.reading import fresh_sources, mentions_source, name_map, rollup_names
from analytics.alerts.scopes import ENTITY_DIMS, GOLD
from analytics.alerts.sql import (
    Sql,
    alert_table,
    cte,
    customer_scope,
    day_between,
    entity_rows,
    name_table,
    sentiment_rows,
    with_ctes,
)

__all__ = [
    "alert_details",
    "alert_keys",
    "frame_keys",
    "last_day",
    "rollup_customers",
    "top_entities",
]


def alert_details(
    store: Any,
    alerts: pd.DataFrame,
    *,
    sentiment: str = GOLD,
    entities: str | None = None,
    start: dt.date | None = None,
    as_of: dt.date | None = None,
) -> pd.DataFrame:
    """``alerts`` (rows of :func:`surge_alerts` of the same arguments) with ``ticket_keys``,
    ``customers`` and ``entities`` read from their tickets: what ``details=True`` gives.

    Example:
        >>> shown = surge_alerts(store, open_only=False, details=False).head(3)  # doctest: +SKIP
        >>> alert_details(store, shown)["entities"]                           # doctest: +SKIP
    """
    if alerts.empty:
        return alerts
    entities = entities or sentiment
    names = (
        rollup_names(store, sentiment, entities)[0]
        if mentions_source(store, sentiment, entities)
        else tuple(name_map(store, sentiment, entities))
    )
    keys, customers, named = alert_keys(
        store,
        alerts.reset_index(drop=True),
        sentiment=sentiment,
        entities=entities,
        start=start,
        as_of=as_of,
        names=names,
    )
    return alerts.assign(ticket_keys=keys, customers=customers, entities=named)


def last_day(alerts: pd.DataFrame) -> pd.Series:
    """The last day of each alert's last period (a week ends six days after Monday)."""
    extra = pd.to_timedelta(np.where(alerts["freq"] == "week", 6, 0), unit="D")
    return (pd.to_datetime(alerts["last"]) + extra).dt.date


def _alerts_sql(alerts: pd.DataFrame, values: list[str] | None = None) -> Sql:
    """The alerts as the table ``al`` (:func:`analytics.alerts.sql.alert_table`)."""
    return alert_table(
        alerts["dimension"].astype(str).tolist(),
        values if values is not None else alerts["value"].astype(str).tolist(),
        [pd.Timestamp(d).date() for d in alerts["since"]],
        list(last_day(alerts)),
    )


def rollup_customers(
    store: Any,
    alerts: pd.DataFrame,
    *,
    sentiment: str,
    entities: str,
    start: dt.date | None,
    as_of: dt.date | None,
) -> list[int] | None:
    """Per alert, the distinct writers of its negative tickets (as :func:`alert_keys`
    counts them) from the signal roll-ups; None when they may not answer."""
    from_days, from_mentions = fresh_sources(store, sentiment, entities)
    if not from_days:
        return None
    by_entity = alerts["dimension"].isin(ENTITY_DIMS)
    if by_entity.any() and not from_mentions:
        return None
    values = alerts["value"].astype(str).tolist()
    if by_entity.any():  # products are stored under their key, shown under a name
        _, keys, shown = rollup_names(store, sentiment, entities)
        key_of = dict(zip(shown, keys, strict=True))
        values = [
            key_of.get(v, v) if d == "product" else v
            for d, v in zip(alerts["dimension"], values, strict=True)
        ]
    within = day_between(start, as_of, "r.day")
    # each alert's days as rows: equi-joins on the day (a range join reads far more)
    q = (
        with_ctes(  # noqa: S608 - fixed fragments; values are parameters
            cte("al", _alerts_sql(alerts, values)),
            cte(
                "ad",
                "SELECT i, dim, value,"
                " CAST(unnest(generate_series(lo, hi, INTERVAL 1 DAY)) AS DATE) AS day FROM al",
            ),
        )
        + Sql(
            " SELECT ad.i, count(DISTINCT r.unit) FROM ad JOIN rollup_signal_days r"
            " ON r.day = ad.day WHERE ad.dim IN ('all', 'segment', 'region', 'plan')"
            " AND r.model_id = ? AND r.negative > 0",
            (sentiment,),
        )
        + within
        + (" AND " + customer_scope("r", "ad") + " GROUP BY ad.i")
        + Sql(
            " UNION ALL SELECT ad.i, count(DISTINCT r.unit) FROM ad"
            " JOIN rollup_signal_mentions r ON r.dim = ad.dim AND r.value = ad.value"
            " AND r.day = ad.day WHERE r.model_id = ? AND r.entities = ? AND r.negative > 0",
            (sentiment, entities),
        )
        + within
        + " GROUP BY ad.i"
    )
    units = {int(i): int(n) for i, n in store.fetchall(q.text, q.args)}
    return [units.get(i, 0) for i in range(len(alerts))]


def frame_keys(
    signals: pd.DataFrame, alerts: pd.DataFrame
) -> tuple[list[tuple[str, ...]], list[int]]:
    """Per alert, its negative tickets (oldest first) and the distinct writers among them,
    from a :func:`ticket_signals` frame."""
    out, customers = [], []
    unhappy = with_units(signals[signals["negative"].astype(bool)])
    for row, end in zip(alerts.itertuples(index=False), last_day(alerts), strict=True):
        scope = _long_frame(unhappy, row.dimension)
        scope = scope[
            (scope["value"] == row.value) & (scope["day"] >= row.since) & (scope["day"] <= end)
        ]
        out.append(tuple(scope["ticket_key"].drop_duplicates()))
        customers.append(int(scope["unit"].nunique()))
    return out, customers


def _long_frame(signals: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """A :func:`ticket_signals` frame with one row per ticket and value of ``dimension``."""
    if dimension == "all":
        return signals.assign(value="all")
    if dimension in ENTITY_DIMS:
        col = dimension + "s"
        return signals.explode(col).dropna(subset=[col]).assign(value=lambda d: d[col])
    return signals.dropna(subset=[dimension]).assign(value=lambda d: d[dimension])


def alert_keys(
    store: Any,
    alerts: pd.DataFrame,
    *,
    sentiment: str,
    entities: str,
    start: dt.date | None,
    as_of: dt.date | None,
    names: Sequence[list[str]] | None = None,
    top: int = 5,
) -> tuple[list[tuple[str, ...]], list[int], list[str]]:
    """Per alert, its negative tickets (oldest first) — those of its scope created from its
    first period to the end of its last —, the distinct writers among them (customers; a
    ticket without one counts alone) and their most named entities (as
    :func:`top_entities`), read from the store in one query."""
    names = names if names is not None else tuple(name_map(store, sentiment, entities))
    q = (
        with_ctes(  # noqa: S608 - fixed fragments; values are parameters
            cte("al", _alerts_sql(alerts)),
            cte(
                "days",
                "SELECT DISTINCT CAST(unnest(generate_series(lo, hi, INTERVAL 1 DAY))"
                "  AS DATE) AS day FROM al",
            ),
            cte("m", name_table(names)),
            cte("ent", entity_rows(entities)),
            cte("s", sentiment_rows(sentiment)),
            cte(
                "neg",
                Sql(
                    "SELECT t.ticket_key, t.created_at, coalesce(t.customer_id, t.ticket_key) AS unit,"
                    " CAST(t.created_at AS DATE) AS day, c.segment, c.region, c.plan FROM tickets t"
                    " JOIN s ON s.ticket_key = t.ticket_key"
                    " LEFT JOIN customers c ON c.customer_id = t.customer_id"
                    " WHERE t.created_at IS NOT NULL AND s.label = 'negative'"
                    " AND CAST(t.created_at AS DATE) IN (SELECT day FROM days)"
                )
                + day_between(start, as_of, "CAST(t.created_at AS DATE)"),
                materialized=True,
            ),
            # the entities of those tickets only (one scan of the entities)
            cte(
                "ne",
                "SELECT ent.ticket_key, ent.text, ent.label FROM ent"
                " SEMI JOIN neg ON neg.ticket_key = ent.ticket_key",
                materialized=True,
            ),
            cte(
                "hit",
                "SELECT DISTINCT ne.ticket_key, m.dim, m.value FROM ne"
                " JOIN m ON m.text = ne.text AND m.label = ne.label"
                " WHERE m.dim IN (SELECT dim FROM al)",
            ),
            cte(
                "pairs",
                "SELECT DISTINCT i, ticket_key, created_at, unit FROM ("  # noqa: S608 - fixed fragments; values are parameters
                " SELECT al.i, neg.ticket_key, neg.created_at, neg.unit FROM al"
                " JOIN neg ON neg.day >= al.lo AND neg.day <= al.hi"
                " WHERE " + customer_scope("neg") + " UNION ALL"
                " SELECT al.i, neg.ticket_key, neg.created_at, neg.unit FROM al"
                " JOIN neg ON neg.day >= al.lo AND neg.day <= al.hi"
                " JOIN hit ON hit.ticket_key = neg.ticket_key AND hit.dim = al.dim"
                " AND hit.value = al.value)",
                materialized=True,
            ),
            cte(
                "kk",
                "SELECT i, list(ticket_key ORDER BY created_at, ticket_key) AS keys,"
                "  count(DISTINCT unit) AS units FROM pairs GROUP BY i",
            ),
            cte(
                "et",
                "SELECT DISTINCT ticket_key, text FROM ne"
                "  WHERE ticket_key IN (SELECT ticket_key FROM pairs)",
            ),
            cte(
                "ee",
                "SELECT p.i, et.text, count(*) AS n FROM pairs p"
                "  JOIN et ON et.ticket_key = p.ticket_key GROUP BY ALL",
            ),
            cte(
                "tops",
                "SELECT i, list(text ORDER BY n DESC, text) AS texts,"
                "  list(n ORDER BY n DESC, text) AS ns FROM ee GROUP BY i",
            ),
        )
        + (
            " SELECT kk.i, kk.keys, kk.units, tops.texts, tops.ns FROM kk"
            " LEFT JOIN tops ON tops.i = kk.i"
        )
    )
    keys: dict[int, tuple[str, ...]] = {}
    units: dict[int, int] = {}
    named: dict[int, str] = {}
    for i, ks, n_units, texts, ns in store.fetchall(q.text, q.args):
        keys[int(i)] = tuple(ks)
        units[int(i)] = int(n_units)
        best = list(zip(texts or [], ns or [], strict=True))[:top]
        named[int(i)] = "; ".join(f"{t} ×{n}" for t, n in best)
    return (
        [keys.get(i, ()) for i in range(len(alerts))],
        [units.get(i, 0) for i in range(len(alerts))],
        [named.get(i, "") for i in range(len(alerts))],
    )


def top_entities(store: Any, keys: pd.Series, entities: str, top: int = 5) -> list[str]:
    """Per alert, its tickets' most named entities as ``"text ×count; …"`` (most tickets
    first, ties by text)."""
    which = [i for i, ks in enumerate(keys) for _ in ks]
    flat = [k for ks in keys for k in ks]
    if not flat:
        return ["" for _ in keys]
    q = with_ctes(  # noqa: S608 - fixed fragments; values are parameters
        cte("ent", entity_rows(entities)),
        cte(
            "k",
            Sql(
                "SELECT unnest(?::BIGINT[]) AS i, unnest(?::VARCHAR[]) AS ticket_key", (which, flat)
            ),
        ),
        cte(
            "e",
            "SELECT DISTINCT ticket_key, text FROM ent"
            "  WHERE ticket_key IN (SELECT ticket_key FROM k)",
        ),
    ) + (
        " SELECT k.i, e.text, count(*) AS n FROM (SELECT DISTINCT i, ticket_key FROM k) k"
        " JOIN e ON e.ticket_key = k.ticket_key GROUP BY ALL"
    )
    per: dict[int, list[tuple[int, str]]] = {}
    for i, text, n in store.fetchall(q.text, q.args):
        per.setdefault(int(i), []).append((-int(n), text))
    out = []
    for i in range(len(keys)):
        best = sorted(per.get(i, []))[:top]
        out.append("; ".join(f"{t} ×{-n}" for n, t in best))
    return out
