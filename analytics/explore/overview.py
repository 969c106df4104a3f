"""The Overview's figures: KPIs against the previous period, ticket and usage volume, cost to
serve (definitions in the package docstring)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analytics.explore.filters import (
    GRAINS,
    GROUPS_TICKETS,
    GROUPS_USAGE,
    UNKNOWN_CUSTOMER,
    CostRates,
    Filters,
    Grain,
    MonthSplit,
    customer_conditions,
    rollup_where,
    rollups_fresh,
    split_months,
    ticket_where,
    usage_weight,
    usage_where,
)
from analytics.explore.metadata import date_bounds, resolve_period
from data import rollup_tables
from data.store import Store


def _period_totals(store: Store, f: Filters, rates: CostRates) -> dict[str, float]:
    if rollups_fresh(store, rollup_tables.TICKETS):
        tw = rollup_where(f)
        trow = store.fetchall(
            "SELECT coalesce(sum(r.tickets), 0), coalesce(sum(r.ai_tickets), 0)"  # noqa: S608 - fixed SQL fragments; values are parameters
            f" FROM rollup_ticket_days r WHERE {tw.sql}",
            tw.params,
        )[0]
    else:
        tw = ticket_where(f)
        trow = store.fetchall(
            "SELECT count(*), count_if(t.resolved_by = 'ai')"  # noqa: S608 - fixed SQL fragments; values are parameters
            " FROM tickets t LEFT JOIN customers c ON c.customer_id = t.customer_id"
            f" WHERE {tw.sql}",
            tw.params,
        )[0]
    weight, wparams = usage_weight(f)
    last_month = f.end.replace(day=1) if f.end is not None else None
    if rollups_fresh(store, rollup_tables.USAGE):
        uw = usage_where(f, cust="u")
        active = "coalesce(sum(u.customers) FILTER (WHERE u.month = ?), 0)"
        usage = "rollup_usage_months u"
    else:
        uw = usage_where(f)
        active = "count(DISTINCT u.customer_id) FILTER (WHERE u.requests > 0 AND u.month = ?)"
        usage = "usage u LEFT JOIN customers c ON c.customer_id = u.customer_id"
    urow = store.fetchall(
        f"SELECT {active},"  # noqa: S608 - fixed SQL fragments; values are parameters
        f" coalesce(sum(u.input_tokens * {weight}), 0),"
        f" coalesce(sum(u.output_tokens * {weight}), 0),"
        f" coalesce(sum(u.revenue * {weight}), 0)"
        f" FROM {usage} WHERE {uw.sql}",
        [last_month, *wparams, *wparams, *wparams, *uw.params],
    )[0]
    tickets, ai = int(trow[0]), int(trow[1] or 0)
    input_tokens, output_tokens, revenue = float(urow[1]), float(urow[2]), float(urow[3])
    support = float(rates.support_cost(tickets, ai))
    gpu = float(rates.gpu_cost(input_tokens, output_tokens))
    return {
        "tickets": float(tickets),
        "customers": float(urow[0] or 0),
        "tokens": input_tokens + output_tokens,
        "revenue": revenue,
        "gross_margin": (revenue - gpu - support) / revenue if revenue else float("nan"),
        "cost_per_ticket": support / tickets if tickets else float("nan"),
    }


KPI_LABELS: dict[str, str] = {
    "tickets": "Tickets",
    "customers": "Active customers",
    "tokens": "Tokens served",
    "revenue": "Revenue (USD)",
    "gross_margin": "Gross margin",
    "cost_per_ticket": "Support cost per ticket (USD)",
}


def kpis(store: Store, filters: Filters, rates: CostRates | None = None) -> pd.DataFrame:
    """Headline figures for the period and their change against the previous period.

    Usage is prorated by days and the previous period is chosen as the module docstring
    says; ``customers`` counts customers active at the end of each period.

    Returns:
        One row per KPI: ``kpi``, ``label``, ``value``, ``previous``, ``change`` and
        ``note``. ``change`` is relative (0.1 = +10 %) except for ``gross_margin``, where
        it is the difference in margin points (fractions). ``change`` is NaN where it is
        undefined (nothing in the previous period) and for every KPI when the previous
        period starts before the first day with data (it would compare with a part of a
        period); ``note`` then says why ("previous period starts before the data (first
        data 2024-09-01)"), and is "" otherwise.

    Example:
        >>> kpis(store, Filters(start=dt.date(2026, 8, 2), end=dt.date(2026, 8, 31)))  # doctest: +SKIP
    """
    rates = rates or CostRates()
    f = resolve_period(store, filters)
    prev = f.previous()
    now = _period_totals(store, f, rates)
    before = _period_totals(store, prev, rates)
    bounds = date_bounds(store)
    note = ""
    if bounds is None:
        note = "no data to compare with"
    elif prev.start is not None and prev.start < bounds[0]:
        note = f"previous period starts before the data (first data {bounds[0].isoformat()})"
    rows = []
    for key, label in KPI_LABELS.items():
        value, before_value = now[key], before[key]
        if note:
            change = float("nan")
        elif key == "gross_margin":
            change = value - before_value
        else:
            change = (value - before_value) / before_value if before_value else float("nan")
        rows.append(
            {
                "kpi": key,
                "label": label,
                "value": value,
                "previous": before_value,
                "change": change,
                "note": note,
            }
        )
    return pd.DataFrame(rows)


def ticket_volume(
    store: Store, filters: Filters, by: str = "channel", grain: Grain = "month"
) -> pd.DataFrame:
    """Tickets per period and group: columns ``period``, ``group``, ``tickets``."""
    if by not in GROUPS_TICKETS:
        raise ValueError(f"cannot group tickets by {by!r}; choose one of {sorted(GROUPS_TICKETS)}")
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}")
    if rollups_fresh(store, rollup_tables.TICKETS):
        if by in ("segment", "plan", "region"):
            rw = rollup_where(filters)
            return store.query(
                "SELECT CAST(date_trunc(?, r.day) AS DATE) AS period,"  # noqa: S608 - fixed SQL fragments; values are parameters
                f" coalesce(CAST(r.{by} AS VARCHAR), '(unknown)') AS \"group\","
                " sum(r.tickets)::BIGINT AS tickets FROM rollup_ticket_days r"
                f" WHERE r.day IS NOT NULL AND {rw.sql} GROUP BY ALL ORDER BY 1, 2",
                [grain, *rw.params],
            )
        split = split_months(filters) if grain == "month" else None
        if split is not None:
            return _ticket_volume_months(store, filters, by, split)
    w = ticket_where(filters)
    return store.query(
        f"SELECT CAST(date_trunc(?, t.created_at) AS DATE) AS period,"  # noqa: S608 - fixed SQL fragments; values are parameters
        f" coalesce(CAST({GROUPS_TICKETS[by]} AS VARCHAR), '(unknown)') AS \"group\","
        " count(*) AS tickets"
        " FROM tickets t LEFT JOIN customers c ON c.customer_id = t.customer_id"
        f" WHERE t.created_at IS NOT NULL AND {w.sql} GROUP BY ALL ORDER BY 1, 2",
        [grain, *w.params],
    )


def _ticket_volume_months(store: Store, f: Filters, by: str, split: MonthSplit) -> pd.DataFrame:
    """:func:`ticket_volume` by a ticket column per month: the roll-up's whole months and
    the edge days from ``tickets``."""
    mw = split.months_sql("r.month")
    mw.add("r.month IS NOT NULL")
    customer_conditions(mw, f, "r")
    sql = (
        "SELECT r.month AS period, r.value AS g, r.tickets AS n"  # noqa: S608 - fixed SQL fragments; values are parameters
        f" FROM rollup_ticket_months r WHERE r.dim = ? AND {mw.sql}"
    )
    params: list[Any] = [by, *mw.params]
    if split.edges:
        ew = split.edges_sql()
        customer_conditions(ew, f, "c")
        sql += (
            " UNION ALL SELECT CAST(date_trunc('month', t.created_at) AS DATE),"  # noqa: S608 - fixed SQL fragments; values are parameters
            f" CAST({GROUPS_TICKETS[by]} AS VARCHAR), count(*)"
            " FROM tickets t LEFT JOIN customers c ON c.customer_id = t.customer_id"
            f" WHERE {ew.sql} GROUP BY ALL"
        )
        params += ew.params
    return store.query(
        "SELECT period, coalesce(g, '(unknown)') AS \"group\", sum(n)::BIGINT AS tickets"  # noqa: S608 - fixed SQL fragments; values are parameters
        f" FROM ({sql}) GROUP BY ALL ORDER BY 1, 2",
        params,
    )


def usage_volume(store: Store, filters: Filters, by: str = "segment") -> pd.DataFrame:
    """Monthly usage per group: ``month``, ``group``, ``tokens``, ``requests``, ``revenue``.

    Edge months of the period count pro rata by days (as in :func:`kpis`), so the months
    add up to the KPIs; usage of unknown customers is the group ``"(unknown customer)"``.
    """
    if by not in GROUPS_USAGE:
        raise ValueError(f"cannot group usage by {by!r}; choose one of {sorted(GROUPS_USAGE)}")
    weight, wparams = usage_weight(filters)
    if rollups_fresh(store, rollup_tables.USAGE):
        w = usage_where(filters, cust="u")
        unknown, group = "NOT u.known", f"u.{by}"
        usage = "rollup_usage_months u"
    else:
        w = usage_where(filters)
        unknown, group = "c.customer_id IS NULL", GROUPS_USAGE[by]
        usage = "usage u LEFT JOIN customers c ON c.customer_id = u.customer_id"
    return store.query(
        f"SELECT u.month AS month, CASE WHEN {unknown} THEN ? ELSE"  # noqa: S608 - fixed SQL fragments; values are parameters
        f" coalesce({group}, '(unknown)') END AS \"group\","
        f" sum((u.input_tokens + u.output_tokens) * {weight})::DOUBLE AS tokens,"
        f" sum(u.requests * {weight})::DOUBLE AS requests,"
        f" sum(u.revenue * {weight}) AS revenue"
        f" FROM {usage}"
        f" WHERE {w.sql} GROUP BY ALL ORDER BY 1, 2",
        [UNKNOWN_CUSTOMER, *wparams, *wparams, *wparams, *w.params],
    )


def cost_to_serve(store: Store, filters: Filters, rates: CostRates | None = None) -> pd.DataFrame:
    """Revenue, inference and support cost, and margin per segment over the period.

    The same totals as :func:`kpis` (usage prorated by days, GPU cost by input and output
    tokens): tickets and usage of customers missing from ``customers`` form the row
    ``"(unknown customer)"`` instead of vanishing.

    Columns: ``segment``, ``tokens``, ``input_tokens``, ``output_tokens``, ``revenue``,
    ``gpu_cost``, ``support_cost``, ``tickets``, ``ai_tickets``, ``margin`` (USD),
    ``margin_pct``, ``cost_per_m`` (USD per million tokens, inference plus support).
    """
    rates = rates or CostRates()
    weight, wparams = usage_weight(filters)
    seg = "CASE WHEN c.customer_id IS NULL THEN ? ELSE coalesce(c.segment, '(unknown)') END"
    if rollups_fresh(store, rollup_tables.USAGE):
        uw = usage_where(filters, cust="u")
        useg = "CASE WHEN NOT u.known THEN ? ELSE coalesce(u.segment, '(unknown)') END"
        usage = "rollup_usage_months u"
    else:
        uw = usage_where(filters)
        useg, usage = seg, "usage u LEFT JOIN customers c ON c.customer_id = u.customer_id"
    if rollups_fresh(store, rollup_tables.TICKETS):
        tickets = (
            "SELECT CASE WHEN NOT t.known THEN ? ELSE coalesce(t.segment, '(unknown)')"
            " END AS segment, sum(t.tickets)::BIGINT AS tickets,"
            " sum(t.ai_tickets)::HUGEINT AS ai_tickets FROM rollup_ticket_days t"
        )
        tw = rollup_where(filters, day="t.day", cust="t")
    else:
        tw = ticket_where(filters)
        tickets = (
            f"SELECT {seg} AS segment, count(*) AS tickets,"  # noqa: S608 - fixed SQL fragments; values are parameters
            " count_if(t.resolved_by = 'ai') AS ai_tickets"
            " FROM tickets t LEFT JOIN customers c ON c.customer_id = t.customer_id"
        )
    df = store.query(
        f"WITH u AS (SELECT {useg} AS segment,"  # noqa: S608 - fixed SQL fragments; values are parameters
        f"  sum(u.input_tokens * {weight})::DOUBLE AS input_tokens,"
        f"  sum(u.output_tokens * {weight})::DOUBLE AS output_tokens,"
        f"  sum(u.revenue * {weight}) AS revenue"
        f"  FROM {usage}"
        f"  WHERE {uw.sql} GROUP BY 1),"
        f" t AS ({tickets}"
        f"  WHERE {tw.sql} GROUP BY 1)"
        " SELECT coalesce(u.segment, t.segment) AS segment,"
        " coalesce(u.input_tokens, 0) AS input_tokens,"
        " coalesce(u.output_tokens, 0) AS output_tokens,"
        " coalesce(u.revenue, 0) AS revenue, coalesce(t.tickets, 0) AS tickets,"
        " coalesce(t.ai_tickets, 0) AS ai_tickets"
        " FROM u FULL OUTER JOIN t ON u.segment = t.segment"
        " ORDER BY coalesce(u.segment, t.segment) = ?, 1",
        [
            UNKNOWN_CUSTOMER,
            *wparams,
            *wparams,
            *wparams,
            *uw.params,
            UNKNOWN_CUSTOMER,
            *tw.params,
            UNKNOWN_CUSTOMER,
        ],
    )
    df["tokens"] = df["input_tokens"] + df["output_tokens"]
    df["gpu_cost"] = rates.gpu_cost(df["input_tokens"], df["output_tokens"])
    df["support_cost"] = rates.support_cost(df["tickets"], df["ai_tickets"])
    df["margin"] = df["revenue"] - df["gpu_cost"] - df["support_cost"]
    revenue = df["revenue"].where(df["revenue"] != 0)
    df["margin_pct"] = df["margin"] / revenue
    tokens_m = (df["tokens"] / 1e6).where(df["tokens"] > 0)
    df["cost_per_m"] = (df["gpu_cost"] + df["support_cost"]) / tokens_m
    return df[
        [
            "segment",
            "tokens",
            "input_tokens",
            "output_tokens",
            "revenue",
            "gpu_cost",
            "support_cost",
            "tickets",
            "ai_tickets",
            "margin",
            "margin_pct",
            "cost_per_m",
        ]
    ]
