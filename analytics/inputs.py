"""SQL over the store: the inputs of the economics (all values as parameters).

Example:
    >>> from data.store import Store                                   # doctest: +SKIP
    >>> with Store.open("var/pricewar.duckdb") as store:               # doctest: +SKIP
    ...     usage_panel(store, segment="startup").head()
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

__all__ = [
    "current_prices",
    "price_history",
    "segment_snapshot",
    "segments",
    "usage_panel",
]


def _period(
    alias: str, column: str, start: dt.date | None, end: dt.date | None
) -> tuple[str, list[Any]]:
    sql, params = "", []
    if start is not None:
        sql += f" AND {alias}.{column} >= ?"
        params.append(start)
    if end is not None:
        sql += f" AND {alias}.{column} <= ?"
        params.append(end)
    return sql, params


def segments(store: Any) -> list[str]:
    """Customer segments present, sorted."""
    return [r[0] for r in store.fetchall("SELECT DISTINCT segment FROM customers ORDER BY 1")]


def usage_panel(
    store: Any,
    *,
    segment: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pd.DataFrame:
    """Monthly usage per customer: the panel of the elasticity regression.

    Columns: ``customer_id``, ``segment``, ``plan``, ``month``, ``tokens`` (input + output),
    ``requests``, ``revenue``, ``price_per_m`` (blended price paid).
    """
    where, params = _period("u", "month", start, end)
    if segment is not None:
        where += " AND c.segment = ?"
        params.append(segment)
    return store.query(
        "SELECT u.customer_id, c.segment, u.plan, u.month,"  # noqa: S608 - fixed fragments; values are parameters
        " (u.input_tokens + u.output_tokens)::DOUBLE AS tokens, u.requests, u.revenue,"
        " u.price_per_m FROM usage u JOIN customers c ON c.customer_id = u.customer_id"
        f" WHERE TRUE{where} ORDER BY u.customer_id, u.month",
        params,
    )


def price_history(store: Any, plan: str | None = None) -> pd.DataFrame:
    """Our list prices per plan over time (``valid_to`` NULL = current)."""
    if plan is None:
        return store.query("SELECT * FROM price_history ORDER BY plan, valid_from")
    return store.query("SELECT * FROM price_history WHERE plan = ? ORDER BY valid_from", [plan])


def current_prices(store: Any) -> pd.DataFrame:
    """The latest list price of every plan: ``plan``, ``valid_from``, ``price_per_m``,
    ``input_price_per_m``, ``output_price_per_m``."""
    return store.query(
        "SELECT plan, valid_from, price_per_m, input_price_per_m, output_price_per_m"
        " FROM price_history QUALIFY row_number() OVER (PARTITION BY plan"
        " ORDER BY valid_from DESC) = 1 ORDER BY plan"
    )


def segment_snapshot(store: Any, *, months: int = 3) -> pd.DataFrame:
    """Recent state of every segment (and ``segment`` = None for all customers).

    Over the last ``months`` months with usage: average monthly ``tokens`` and ``revenue``,
    ``price_per_m`` (revenue per million tokens), ``customers``, ``tickets`` per month,
    ``tickets_per_million`` (tickets per 1M tokens), ``ai_share`` (AI-resolved share of
    resolved tickets), ``output_share`` (output tokens / all tokens), the window
    ``start``/``end``, and ``price_low``/``price_high``: the lowest and highest price per
    1M tokens any customer of the segment paid in any month on record (the observed range
    the demand curve is fitted on).
    """
    end = store.scalar("SELECT max(month) FROM usage")
    columns = [
        "segment",
        "start",
        "end",
        "customers",
        "tokens",
        "revenue",
        "price_per_m",
        "tickets",
        "ai_tickets",
        "human_tickets",
        "tickets_per_million",
        "ai_share",
        "output_share",
        "price_low",
        "price_high",
    ]
    if end is None:
        return pd.DataFrame(columns=columns)
    end = pd.Timestamp(end).date()
    start = (pd.Timestamp(end) - pd.DateOffset(months=months - 1)).date()
    ticket_end = (pd.Timestamp(end) + pd.DateOffset(months=1)).date()
    df = store.query(
        "WITH u AS (SELECT c.segment, count(DISTINCT u.customer_id) AS customers,"
        "  sum(u.input_tokens + u.output_tokens)::DOUBLE / ? AS tokens,"
        "  sum(u.revenue) / ? AS revenue,"
        "  sum(u.output_tokens)::DOUBLE / nullif(sum(u.input_tokens + u.output_tokens), 0)"
        "  AS output_share"
        "  FROM usage u JOIN customers c ON c.customer_id = u.customer_id"
        "  WHERE u.month BETWEEN ? AND ? GROUP BY ROLLUP (c.segment)),"
        " r AS (SELECT c.segment, min(u.price_per_m) AS price_low,"
        "  max(u.price_per_m) AS price_high"
        "  FROM usage u JOIN customers c ON c.customer_id = u.customer_id"
        "  WHERE u.requests > 0 GROUP BY ROLLUP (c.segment)),"
        " t AS (SELECT c.segment, count(*)::DOUBLE / ? AS tickets,"
        "  count_if(t.resolved_by = 'ai')::DOUBLE / ? AS ai_tickets,"
        "  count_if(t.resolved_by = 'human')::DOUBLE / ? AS human_tickets"
        "  FROM tickets t JOIN customers c ON c.customer_id = t.customer_id"
        "  WHERE t.created_at >= ? AND t.created_at < ? GROUP BY ROLLUP (c.segment))"
        " SELECT u.segment, u.customers, u.tokens, u.revenue, u.output_share,"
        "  coalesce(t.tickets, 0) AS tickets, coalesce(t.ai_tickets, 0) AS ai_tickets,"
        "  coalesce(t.human_tickets, 0) AS human_tickets, r.price_low, r.price_high"
        " FROM u LEFT JOIN t ON u.segment IS NOT DISTINCT FROM t.segment"
        " LEFT JOIN r ON u.segment IS NOT DISTINCT FROM r.segment"
        " ORDER BY u.segment NULLS LAST",
        [months, months, start, end, months, months, months, start, ticket_end],
    )
    df["start"], df["end"] = start, end
    df["price_per_m"] = df["revenue"] / (df["tokens"] / 1e6).where(df["tokens"] > 0)
    df["tickets_per_million"] = df["tickets"] / (df["tokens"] / 1e6).where(df["tokens"] > 0)
    resolved = (df["ai_tickets"] + df["human_tickets"]).where(lambda s: s > 0)
    df["ai_share"] = df["ai_tickets"] / resolved
    return df[columns]
