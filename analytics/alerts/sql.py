"""The SQL the alerts read the store with, built from one set of fragments: the sentiment
and entity rows of a source, the name table of the entity dimensions, the alerts as a table,
day filters, and :func:`with_ctes` that puts them together with their parameters in order.

Every value is a parameter; only fixed names are written into the text.

Example:
    >>> q = with_ctes(cte("s", sentiment_rows("m1"))) + " SELECT count(*) FROM s"
    >>> q.text.replace("ticket_key, label FROM ticket_sentiment", "…")
    'WITH s AS (SELECT … WHERE model_id = ?) SELECT count(*) FROM s'
    >>> q.params
    ('m1',)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analytics.alerts.scopes import GOLD

__all__ = [
    "NAME_TABLE_SQL",
    "Sql",
    "alert_table",
    "created_between",
    "cte",
    "customer_scope",
    "day_between",
    "entity_rows",
    "name_table",
    "product_names",
    "sentiment_rows",
    "series_ctes",
    "with_ctes",
]


@dataclass(frozen=True)
class Sql:
    """SQL text and its parameters, in the order of their ``?``."""

    text: str
    params: tuple[Any, ...] = ()

    def __add__(self, other: Sql | str) -> Sql:
        if isinstance(other, str):
            return Sql(self.text + other, self.params)
        return Sql(self.text + other.text, (*self.params, *other.params))

    def __radd__(self, other: str) -> Sql:
        return Sql(other + self.text, self.params)

    @property
    def args(self) -> list[Any]:
        """The parameters as the list DuckDB takes."""
        return list(self.params)


def cte(name: str, body: Sql | str, *, materialized: bool = False) -> Sql:
    """``name AS [MATERIALIZED] (body)``."""
    body = body if isinstance(body, Sql) else Sql(body)
    return Sql(f"{name} AS {'MATERIALIZED ' if materialized else ''}(") + body + ")"


def with_ctes(*ctes: Sql) -> Sql:
    """``WITH`` and the common table expressions (:func:`cte`), their parameters in order."""
    out = Sql("WITH ")
    for i, part in enumerate(ctes):
        out = out + (", " if i else "") + part
    return out


def sentiment_rows(sentiment: str) -> Sql:
    """``ticket_key``, ``label`` of every sentiment label of a source (``"gold"``: the
    demo's ground truth, else a model id).

    Raises:
        ValueError: an empty or non-text source.
    """
    if not isinstance(sentiment, str) or not sentiment.strip():
        raise ValueError("sentiment must be 'gold' or a model id")
    if sentiment == GOLD:
        return Sql("SELECT ticket_key, label FROM gold_sentiment")
    return Sql("SELECT ticket_key, label FROM ticket_sentiment WHERE model_id = ?", (sentiment,))


def entity_rows(entities: str) -> Sql:
    """``ticket_key``, ``text``, ``label`` of every entity of a source (``"gold"``: the
    gold spans, else a model id)."""
    if entities == GOLD:
        return Sql("SELECT ticket_key, text, label FROM gold_entities")
    return Sql("SELECT ticket_key, text, label FROM entities WHERE model_id = ?", (entities,))


#: SQL of the name table (``text``, ``label``, ``dim``, ``value``), four parameters.
NAME_TABLE_SQL = (
    "SELECT unnest(?::VARCHAR[]) AS text, unnest(?::VARCHAR[]) AS label,"
    " unnest(?::VARCHAR[]) AS dim, unnest(?::VARCHAR[]) AS value"
)


def name_table(names: Sequence[list[str]]) -> Sql:
    """The name table of the entity dimensions (``text``, ``label``, ``dim``, ``value``)
    from its four lists."""
    return Sql(NAME_TABLE_SQL, tuple(names))


def product_names(keys: list[str], shown: list[str]) -> Sql:
    """``key``, ``name``: the name each product key is shown under."""
    return Sql("SELECT unnest(?::VARCHAR[]) AS key, unnest(?::VARCHAR[]) AS name", (keys, shown))


def alert_table(
    dims: list[str], values: list[str], since: list[dt.date], until: list[dt.date]
) -> Sql:
    """The alerts as rows ``i`` (position), ``dim``, ``value``, ``lo``, ``hi`` (first and
    last day)."""
    return Sql(
        "SELECT unnest(?::BIGINT[]) AS i, unnest(?::VARCHAR[]) AS dim,"
        " unnest(?::VARCHAR[]) AS value, unnest(?::DATE[]) AS lo, unnest(?::DATE[]) AS hi",
        (list(range(len(dims))), dims, values, since, until),
    )


def customer_scope(rows: str, alerts: str = "al") -> str:
    """The condition that a row of ``rows`` (with ``segment``, ``region``, ``plan``) is in
    the scope of an alert of ``alerts`` whose dimension is a customer's (or ``all``)."""
    return (
        f"({alerts}.dim = 'all'"
        f" OR ({alerts}.dim = 'segment' AND {rows}.segment = {alerts}.value)"
        f" OR ({alerts}.dim = 'region' AND {rows}.region = {alerts}.value)"
        f" OR ({alerts}.dim = 'plan' AND {rows}.plan = {alerts}.value))"
    )


def day_between(start: dt.date | None, end: dt.date | None, col: str) -> Sql:
    """`` AND col >= start AND col <= end`` (days; either may be open)."""
    out = Sql("")
    if start is not None:
        out = out + Sql(f" AND {col} >= ?", (pd.Timestamp(start).date(),))
    if end is not None:
        out = out + Sql(f" AND {col} <= ?", (pd.Timestamp(end).date(),))
    return out


def created_between(start: dt.date | None, end: dt.date | None) -> Sql:
    """`` AND t.created_at`` from the start of day ``start`` to the end of day ``end``."""
    out = Sql("")
    if start is not None:
        out = out + Sql(" AND t.created_at >= ?", (pd.Timestamp(start).to_pydatetime(),))
    if end is not None:  # end is a day: include all of it
        nxt = (pd.Timestamp(end) + pd.Timedelta(days=1)).to_pydatetime()
        out = out + Sql(" AND t.created_at < ?", (nxt,))
    return out


def series_ctes(rows: str) -> str:
    """The CTE ``ser`` of :attr:`SignalCounts.series` from ``rows`` (per day, writer,
    dimension and value: ``tickets``, ``neg``), the same on the base tables and the
    roll-ups."""
    return (
        " ser AS (SELECT 'day' AS freq, day AS period, dim, value, sum(tickets) AS tickets,"  # noqa: S608 - fixed fragments; values are parameters
        " sum(neg) AS negative_tickets, count(*) FILTER (WHERE neg > 0) AS negative"
        f" FROM {rows} GROUP BY ALL"
        " UNION ALL SELECT 'week', CAST(date_trunc('week', day) AS DATE), dim, value,"
        " sum(tickets), sum(neg), count(DISTINCT unit) FILTER (WHERE neg > 0)"
        f" FROM {rows} GROUP BY ALL),"
    )
