"""SQL aggregates behind the Overview and Entities pages.

Every function takes a :class:`data.store.Store` and a :class:`Filters` and returns a
DataFrame. Filter values always travel as SQL parameters; the only identifiers put into SQL
text come from fixed whitelists in this module. No Streamlit here: every number a page shows
can be computed (and tested) without it.

Definitions shared by every figure:

* **Periods.** Dates are UTC days, inclusive. Usage is monthly (``usage.month`` is the
  first day of the month): a month inside the period counts in full, a month the period
  covers in part counts pro rata by days (``tokens × days inside ÷ days in the month``),
  so no day of usage ever counts in two adjacent periods. The previous period is the same
  number of calendar months before a whole-months selection, the same number of days
  before any other.
* **Customers.** Segment, plan and region are the customer's (``customers``; the plan is
  the customer's current plan, for tickets and usage alike). Tickets and usage of a
  customer missing from ``customers`` count in every total and show as
  ``"(unknown customer)"``; a segment, plan or region filter leaves them out.
* **Active customers** are those with usage in the month that holds the period's last day
  (active at its end: a customer who churned during the period is not).
* **GPU cost** = input tokens × input rate + output tokens × output rate
  (:class:`CostRates`, from ``analytics.costs.CostInputs``).

Example:
    >>> from data.store import Store                                   # doctest: +SKIP
    >>> store = Store.open("var/pricewar.duckdb")                      # doctest: +SKIP
    >>> kpis(store, Filters(segments=("startup",)))                    # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import pandas as pd

from analytics.costs import CostInputs
from data.store import Store

_DEFAULT_COSTS = CostInputs()

__all__ = [
    "GROUPS_TICKETS",
    "GROUPS_USAGE",
    "CostRates",
    "Filters",
    "competitor_mentions",
    "cost_to_serve",
    "current_model_id",
    "data_version",
    "date_bounds",
    "entity_trends",
    "filter_options",
    "kpis",
    "last_tagging_run",
    "resolve_period",
    "sources",
    "tagging_progress",
    "ticket_list",
    "ticket_volume",
    "top_entities",
    "usage_volume",
]

Grain = Literal["day", "week", "month"]

# Whitelisted grouping expressions (the only identifiers formatted into SQL text).
GROUPS_TICKETS: dict[str, str] = {
    "channel": "t.channel",
    "category": "t.category",
    "priority": "t.priority",
    "resolved_by": "t.resolved_by",
    "segment": "c.segment",
    "plan": "c.plan",
    "region": "c.region",
    "source": "t.source",
}
GROUPS_USAGE: dict[str, str] = {
    "segment": "c.segment",
    "plan": "c.plan",
    "region": "c.region",
    "industry": "c.industry",
}
_GRAINS: frozenset[str] = frozenset({"day", "week", "month"})
#: The group of tickets and usage whose customer is not in ``customers``.
UNKNOWN_CUSTOMER = "(unknown customer)"


@dataclass(frozen=True)
class Filters:
    """What the sidebar selects: a date range (inclusive) and segment/plan/region sets.

    Empty tuples mean "all". ``start``/``end`` of None mean "from the first"/"to the last"
    date in the data.
    """

    start: dt.date | None = None
    end: dt.date | None = None
    segments: tuple[str, ...] = ()
    plans: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("segments", "plans", "regions"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = (value,)
            object.__setattr__(self, name, tuple(sorted({str(v) for v in value})))
        if self.start and self.end and self.start > self.end:
            start, end = self.end, self.start
            object.__setattr__(self, "start", start)
            object.__setattr__(self, "end", end)

    @property
    def has_customer_filter(self) -> bool:
        """Whether a segment, plan or region is selected (tickets need a known customer)."""
        return bool(self.segments or self.plans or self.regions)

    @property
    def whole_months(self) -> bool:
        """Whether the period starts on a month's first day and ends on a month's last."""
        if self.start is None or self.end is None:
            return False
        return self.start.day == 1 and (self.end + dt.timedelta(days=1)).day == 1

    def previous(self) -> Filters:
        """The same selection over the period of equal length just before this one.

        A whole-months selection steps back by the same number of calendar months
        (Jul–Dec → Jan–Jun); any other by the same number of days (Aug 2–31 → Jul 3–Aug 1).
        """
        if self.start is None or self.end is None:
            raise ValueError("previous() needs a resolved period; call resolve_period first")
        end = self.start - dt.timedelta(days=1)
        if self.whole_months:
            months = ((self.end.year - self.start.year) * 12 + self.end.month
                      - self.start.month + 1)
            index = self.start.year * 12 + self.start.month - 1 - months
            return replace(self, start=dt.date(index // 12, index % 12 + 1, 1), end=end)
        days = (self.end - self.start).days + 1
        return replace(self, start=end - dt.timedelta(days=days - 1), end=end)


@dataclass(frozen=True)
class CostRates:
    """Unit costs used for the cost-to-serve figures.

    The defaults are those of ``analytics.costs.CostInputs`` (one source of truth: the
    reference cost anchors in ``data.reference.COST_ANCHOR_DEFAULTS``).

    Attributes:
        gpu_input_cost_per_m: inference cost, USD per million input tokens (cache hits
            included: ``CostInputs.input_cost_per_million``).
        gpu_output_cost_per_m: inference cost, USD per million output tokens
            (``CostInputs.output_cost_per_million``).
        human_ticket_cost: USD per ticket handled by a person (also open/unknown ones).
        ai_ticket_cost: USD per ticket resolved by the AI agent.
    """

    gpu_input_cost_per_m: float = float(_DEFAULT_COSTS.input_cost_per_million)
    gpu_output_cost_per_m: float = float(_DEFAULT_COSTS.output_cost_per_million)
    human_ticket_cost: float = float(_DEFAULT_COSTS.human_ticket_cost)
    ai_ticket_cost: float = float(_DEFAULT_COSTS.ai_ticket_cost)

    def gpu_cost(self, input_tokens: Any, output_tokens: Any) -> Any:
        """GPU cost in USD of the given input and output tokens (numbers or Series)."""
        return (input_tokens / 1e6 * self.gpu_input_cost_per_m
                + output_tokens / 1e6 * self.gpu_output_cost_per_m)

    def support_cost(self, tickets: Any, ai_tickets: Any) -> Any:
        """Support cost in USD: AI-resolved tickets at the AI cost, all others at the
        human cost (numbers or Series)."""
        return ((tickets - ai_tickets) * self.human_ticket_cost
                + ai_tickets * self.ai_ticket_cost)


@dataclass
class _Where:
    """A WHERE clause under construction: SQL fragments and their parameters."""

    parts: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, sql: str, *params: Any) -> None:
        self.parts.append(sql)
        self.params.extend(params)

    @property
    def sql(self) -> str:
        return " AND ".join(self.parts) if self.parts else "TRUE"


def _ticket_where(f: Filters) -> _Where:
    """Conditions on ``tickets t LEFT JOIN customers c``."""
    w = _Where()
    if f.start is not None:
        w.add("t.created_at >= ?", dt.datetime.combine(f.start, dt.time()))
    if f.end is not None:
        w.add("t.created_at < ?", dt.datetime.combine(f.end + dt.timedelta(days=1), dt.time()))
    if f.segments:
        w.add("list_contains(?::VARCHAR[], c.segment)", list(f.segments))
    if f.plans:
        w.add("list_contains(?::VARCHAR[], c.plan)", list(f.plans))
    if f.regions:
        w.add("list_contains(?::VARCHAR[], c.region)", list(f.regions))
    return w


def _usage_where(f: Filters) -> _Where:
    """Conditions on ``usage u LEFT JOIN customers c`` (months overlapping the period)."""
    w = _Where()
    if f.start is not None:
        w.add("u.month >= ?", f.start.replace(day=1))
    if f.end is not None:
        w.add("u.month <= ?", f.end)
    if f.segments:
        w.add("list_contains(?::VARCHAR[], c.segment)", list(f.segments))
    if f.plans:
        w.add("list_contains(?::VARCHAR[], c.plan)", list(f.plans))
    if f.regions:
        w.add("list_contains(?::VARCHAR[], c.region)", list(f.regions))
    return w


def _usage_weight(f: Filters) -> tuple[str, list[Any]]:
    """SQL for the share of a usage month inside the period (days inside ÷ days in the
    month: 1 for a month inside, a fraction for an edge month) and its parameters."""
    sql = ("(greatest(0, datediff('day', greatest(u.month, coalesce(?::DATE, u.month)),"
           " least(last_day(u.month), coalesce(?::DATE, last_day(u.month)))) + 1)::DOUBLE"
           " / (datediff('day', u.month, last_day(u.month)) + 1))")
    return sql, [f.start, f.end]


# -- metadata ---------------------------------------------------------------------------


def data_version(store: Store) -> tuple[int, ...]:
    """A cheap fingerprint of the data (row counts) to key caches: changes on every write
    that matters to the pages (new tickets, usage, tagged tickets, entities, scenarios)."""
    row = store.fetchall(
        "SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM usage),"
        " (SELECT count(*) FROM tagged_tickets), (SELECT count(*) FROM entities),"
        " (SELECT count(*) FROM customers)"
    )[0]
    return tuple(int(v) for v in row)


def filter_options(store: Store) -> dict[str, list[str]]:
    """The values the sidebar offers: ``{"segments": [...], "plans": [...], "regions": [...]}``
    (from ``customers``: the filters select customers)."""
    return {
        "segments": [r[0] for r in store.fetchall(
            "SELECT DISTINCT segment FROM customers WHERE segment IS NOT NULL ORDER BY 1")],
        "plans": [r[0] for r in store.fetchall(  # the customer's plan: what the filter uses
            "SELECT DISTINCT plan FROM customers WHERE plan IS NOT NULL ORDER BY 1")],
        "regions": [r[0] for r in store.fetchall(
            "SELECT DISTINCT region FROM customers WHERE region IS NOT NULL ORDER BY 1")],
    }


def date_bounds(store: Store) -> tuple[dt.date, dt.date] | None:
    """First and last day with tickets or usage, or None for an empty store."""
    row = store.fetchall(
        "SELECT least(min(a), min(b)), greatest(max(a2), max(b2)) FROM"
        " (SELECT min(CAST(created_at AS DATE)) AS a, max(CAST(created_at AS DATE)) AS a2"
        "  FROM tickets) t,"
        " (SELECT min(month) AS b, max(last_day(month)) AS b2 FROM usage) u"
    )[0]
    if row[0] is None or row[1] is None:
        return None
    return _as_date(row[0]), _as_date(row[1])


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()


def resolve_period(store: Store, filters: Filters) -> Filters:
    """``filters`` with missing start/end replaced by the data's first/last day."""
    if filters.start is not None and filters.end is not None:
        return filters
    bounds = date_bounds(store)
    if bounds is None:
        today = dt.date.today()
        bounds = (today, today)
    return replace(filters, start=filters.start or bounds[0], end=filters.end or bounds[1])


def current_model_id(store: Store) -> str | None:
    """The tagger whose entities the pages show: the one that tagged the most tickets."""
    return store.scalar(
        "SELECT model_id FROM tagged_tickets GROUP BY model_id"
        " ORDER BY count(*) DESC, max(tagged_at) DESC LIMIT 1"
    )


def tagging_progress(store: Store, model_id: str | None) -> tuple[int, int]:
    """(tickets tagged by ``model_id``, tickets in the store)."""
    total = int(store.scalar("SELECT count(*) FROM tickets") or 0)
    if model_id is None:
        return 0, total
    done = int(store.scalar(
        "SELECT count(*) FROM tagged_tickets WHERE model_id = ?", [model_id]) or 0)
    return done, total


def last_tagging_run(store: Store) -> dict[str, Any] | None:
    """The newest row of ``tagging_runs`` as a dict (None before the first run)."""
    df = store.query("SELECT run_id, model_id, device, started_at, finished_at, status,"
                     " tickets, entities, message FROM tagging_runs"
                     " ORDER BY started_at DESC LIMIT 1")
    return None if df.empty else df.iloc[0].to_dict()


def sources(store: Store) -> pd.DataFrame:
    """Uploaded sources (not the demo), newest first: ``source``, ``tickets``, ``ingested_at``."""
    return store.query(
        "SELECT source, count(*) AS tickets, max(ingested_at) AS ingested_at FROM tickets"
        " WHERE source <> 'demo' GROUP BY source ORDER BY ingested_at DESC, source"
    )


# -- Overview ---------------------------------------------------------------------------


def _period_totals(store: Store, f: Filters, rates: CostRates) -> dict[str, float]:
    tw = _ticket_where(f)
    trow = store.fetchall(
        "SELECT count(*), count_if(t.resolved_by = 'ai')"  # noqa: S608 - fixed SQL fragments; values are parameters
        " FROM tickets t LEFT JOIN customers c ON c.customer_id = t.customer_id"
        f" WHERE {tw.sql}",
        tw.params,
    )[0]
    uw = _usage_where(f)
    weight, wparams = _usage_weight(f)
    last_month = f.end.replace(day=1) if f.end is not None else None
    urow = store.fetchall(
        "SELECT count(DISTINCT u.customer_id) FILTER (WHERE u.requests > 0"  # noqa: S608 - fixed SQL fragments; values are parameters
        "  AND u.month = ?),"
        f" coalesce(sum(u.input_tokens * {weight}), 0),"
        f" coalesce(sum(u.output_tokens * {weight}), 0),"
        f" coalesce(sum(u.revenue * {weight}), 0)"
        " FROM usage u LEFT JOIN customers c ON c.customer_id = u.customer_id"
        f" WHERE {uw.sql}",
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
        rows.append({"kpi": key, "label": label, "value": value, "previous": before_value,
                     "change": change, "note": note})
    return pd.DataFrame(rows)


def ticket_volume(
    store: Store, filters: Filters, by: str = "channel", grain: Grain = "month"
) -> pd.DataFrame:
    """Tickets per period and group: columns ``period``, ``group``, ``tickets``."""
    if by not in GROUPS_TICKETS:
        raise ValueError(f"cannot group tickets by {by!r}; choose one of {sorted(GROUPS_TICKETS)}")
    if grain not in _GRAINS:
        raise ValueError(f"unknown grain {grain!r}")
    w = _ticket_where(filters)
    return store.query(
        f"SELECT CAST(date_trunc(?, t.created_at) AS DATE) AS period,"  # noqa: S608 - fixed SQL fragments; values are parameters
        f" coalesce(CAST({GROUPS_TICKETS[by]} AS VARCHAR), '(unknown)') AS \"group\","
        " count(*) AS tickets"
        " FROM tickets t LEFT JOIN customers c ON c.customer_id = t.customer_id"
        f" WHERE t.created_at IS NOT NULL AND {w.sql} GROUP BY ALL ORDER BY 1, 2",
        [grain, *w.params],
    )


def usage_volume(store: Store, filters: Filters, by: str = "segment") -> pd.DataFrame:
    """Monthly usage per group: ``month``, ``group``, ``tokens``, ``requests``, ``revenue``.

    Edge months of the period count pro rata by days (as in :func:`kpis`), so the months
    add up to the KPIs; usage of unknown customers is the group ``"(unknown customer)"``.
    """
    if by not in GROUPS_USAGE:
        raise ValueError(f"cannot group usage by {by!r}; choose one of {sorted(GROUPS_USAGE)}")
    w = _usage_where(filters)
    weight, wparams = _usage_weight(filters)
    return store.query(
        f"SELECT u.month AS month, CASE WHEN c.customer_id IS NULL THEN ? ELSE"  # noqa: S608 - fixed SQL fragments; values are parameters
        f" coalesce({GROUPS_USAGE[by]}, '(unknown)') END AS \"group\","
        f" sum((u.input_tokens + u.output_tokens) * {weight})::DOUBLE AS tokens,"
        f" sum(u.requests * {weight})::DOUBLE AS requests,"
        f" sum(u.revenue * {weight}) AS revenue"
        " FROM usage u LEFT JOIN customers c ON c.customer_id = u.customer_id"
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
    uw = _usage_where(filters)
    tw = _ticket_where(filters)
    weight, wparams = _usage_weight(filters)
    seg = "CASE WHEN c.customer_id IS NULL THEN ? ELSE coalesce(c.segment, '(unknown)') END"
    df = store.query(
        f"WITH u AS (SELECT {seg} AS segment,"  # noqa: S608 - fixed SQL fragments; values are parameters
        f"  sum(u.input_tokens * {weight})::DOUBLE AS input_tokens,"
        f"  sum(u.output_tokens * {weight})::DOUBLE AS output_tokens,"
        f"  sum(u.revenue * {weight}) AS revenue"
        "  FROM usage u LEFT JOIN customers c ON c.customer_id = u.customer_id"
        f"  WHERE {uw.sql} GROUP BY 1),"
        f" t AS (SELECT {seg} AS segment, count(*) AS tickets,"
        "  count_if(t.resolved_by = 'ai') AS ai_tickets"
        "  FROM tickets t LEFT JOIN customers c ON c.customer_id = t.customer_id"
        f"  WHERE {tw.sql} GROUP BY 1)"
        " SELECT coalesce(u.segment, t.segment) AS segment,"
        " coalesce(u.input_tokens, 0) AS input_tokens,"
        " coalesce(u.output_tokens, 0) AS output_tokens,"
        " coalesce(u.revenue, 0) AS revenue, coalesce(t.tickets, 0) AS tickets,"
        " coalesce(t.ai_tickets, 0) AS ai_tickets"
        " FROM u FULL OUTER JOIN t ON u.segment = t.segment"
        " ORDER BY coalesce(u.segment, t.segment) = ?, 1",
        [UNKNOWN_CUSTOMER, *wparams, *wparams, *wparams, *uw.params, UNKNOWN_CUSTOMER,
         *tw.params, UNKNOWN_CUSTOMER],
    )
    df["tokens"] = df["input_tokens"] + df["output_tokens"]
    df["gpu_cost"] = rates.gpu_cost(df["input_tokens"], df["output_tokens"])
    df["support_cost"] = rates.support_cost(df["tickets"], df["ai_tickets"])
    df["margin"] = df["revenue"] - df["gpu_cost"] - df["support_cost"]
    revenue = df["revenue"].where(df["revenue"] != 0)
    df["margin_pct"] = df["margin"] / revenue
    tokens_m = (df["tokens"] / 1e6).where(df["tokens"] > 0)
    df["cost_per_m"] = (df["gpu_cost"] + df["support_cost"]) / tokens_m
    return df[["segment", "tokens", "input_tokens", "output_tokens", "revenue", "gpu_cost",
               "support_cost", "tickets", "ai_tickets", "margin", "margin_pct",
               "cost_per_m"]]


# -- Entities ---------------------------------------------------------------------------


def top_entities(
    store: Store,
    filters: Filters,
    model_id: str | None,
    *,
    labels: tuple[str, ...] = (),
    limit: int = 10,
) -> pd.DataFrame:
    """The most mentioned entities per label: ``label``, ``entity``, ``mentions``, ``tickets``.

    Entities are grouped case-insensitively; ``entity`` is the most frequent spelling.
    At most ``limit`` rows per label.
    """
    w = _ticket_where(filters)
    label_sql = " AND list_contains(?::VARCHAR[], e.label)" if labels else ""
    # A semi-join on the selected tickets (cheaper than joining every entity row).
    return store.query(
        "WITH x AS (SELECT e.label, lower(e.text) AS key, e.text, e.ticket_key"  # noqa: S608 - fixed SQL fragments; values are parameters
        f" FROM entities e WHERE e.model_id = ?{label_sql}"
        " AND e.ticket_key IN (SELECT t.ticket_key FROM tickets t"
        f"  LEFT JOIN customers c ON c.customer_id = t.customer_id WHERE {w.sql}))"
        " SELECT label, entity, mentions, tickets FROM ("
        " SELECT label, mode(text) AS entity, count(*) AS mentions,"
        " count(DISTINCT ticket_key) AS tickets,"
        " row_number() OVER (PARTITION BY label ORDER BY count(*) DESC, key) AS rank"
        " FROM x GROUP BY label, key)"
        " WHERE rank <= ? ORDER BY label, mentions DESC, entity",
        [model_id, *([list(labels)] if labels else []), *w.params, int(limit)],
    )


def entity_trends(
    store: Store,
    filters: Filters,
    model_id: str | None,
    *,
    labels: tuple[str, ...] = (),
    top: int = 5,
) -> pd.DataFrame:
    """Monthly mentions of the ``top`` entities: ``month``, ``label``, ``entity``, ``mentions``
    (0 in months with mentions of other entities but none of this one)."""
    w = _ticket_where(filters)
    if labels:
        w.add("list_contains(?::VARCHAR[], e.label)", list(labels))
    return store.query(
        "WITH m AS (SELECT e.label, lower(e.text) AS key, e.text,"  # noqa: S608 - fixed SQL fragments; values are parameters
        "  CAST(date_trunc('month', t.created_at) AS DATE) AS month"
        "  FROM entities e JOIN tickets t ON t.ticket_key = e.ticket_key"
        "  LEFT JOIN customers c ON c.customer_id = t.customer_id"
        f"  WHERE e.model_id = ? AND t.created_at IS NOT NULL AND {w.sql}),"
        " top AS (SELECT label, key, mode(text) AS entity FROM m GROUP BY 1, 2"
        "  ORDER BY count(*) DESC, key LIMIT ?),"
        " n AS (SELECT month, label, key, count(*) AS mentions FROM m"
        "  JOIN top USING (label, key) GROUP BY ALL)"
        # every month with mentions, for every top entity (0 where it had none)
        " SELECT months.month, top.label, top.entity, coalesce(n.mentions, 0) AS mentions"
        " FROM (SELECT DISTINCT month FROM m) months CROSS JOIN top"
        " LEFT JOIN n ON n.month = months.month AND n.label = top.label AND n.key = top.key"
        " ORDER BY 1, 3",
        [model_id, *w.params, int(top)],
    )


def competitor_mentions(
    store: Store,
    filters: Filters,
    model_id: str | None,
    aliases: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """Competitor mentions per month and vendor, from tagged entities.

    An entity names a competitor by ``data.reference.match_competitor`` (through
    ``analytics.signals.competitor_entities``, the one rule of every mention figure):
    ORG/PRODUCT entities, normalised text, reference aliases and model families.
    ``aliases`` (a mapping or (alias, vendor) pairs) replaces the reference aliases and
    families by exactly these names.

    Columns: ``month``, ``vendor``, ``mentions``, ``tickets`` (tickets mentioning the
    vendor), ``tagged`` (tickets tagged that month), ``rate`` (tickets / tagged); every
    tagged month appears for every vendor mentioned at all (0 where it was not).
    """
    from analytics.signals import MATCH_TABLE_SQL, match_params

    custom = None if aliases is None else {str(k): str(v) for k, v in dict(aliases).items()}
    w = _ticket_where(filters)
    return store.query(
        f"WITH a AS ({MATCH_TABLE_SQL}),"  # noqa: S608 - fixed SQL fragments; values are parameters
        " tt AS (SELECT t.ticket_key, CAST(date_trunc('month', t.created_at) AS DATE) AS month"
        "  FROM tagged_tickets g JOIN tickets t ON t.ticket_key = g.ticket_key"
        "  LEFT JOIN customers c ON c.customer_id = t.customer_id"
        f"  WHERE g.model_id = ? AND t.created_at IS NOT NULL AND {w.sql}),"
        " tagged AS (SELECT month, count(*) AS tagged FROM tt GROUP BY 1),"
        " hits AS (SELECT tt.month, a.vendor, count(*) AS mentions,"
        "  count(DISTINCT e.ticket_key) AS tickets"
        "  FROM entities e JOIN tt ON tt.ticket_key = e.ticket_key"
        "  JOIN a ON a.text = e.text AND a.label = e.label"
        "  WHERE e.model_id = ? GROUP BY 1, 2)"
        # every tagged month for every vendor mentioned at all (0 where it was not)
        " SELECT tagged.month, v.vendor, coalesce(hits.mentions, 0) AS mentions,"
        " coalesce(hits.tickets, 0) AS tickets, tagged.tagged,"
        " coalesce(hits.tickets, 0) / tagged.tagged AS rate"
        " FROM tagged CROSS JOIN (SELECT DISTINCT vendor FROM hits) v"
        " LEFT JOIN hits ON hits.month = tagged.month AND hits.vendor = v.vendor"
        " ORDER BY 1, 2",
        [*match_params(store, model_id, custom), model_id, *w.params, model_id],
    )


def ticket_list(
    store: Store,
    filters: Filters,
    model_id: str | None,
    *,
    entity: str | None = None,
    label: str | None = None,
    search: str | None = None,
    sources: tuple[str, ...] = (),
    limit: int = 200,
) -> pd.DataFrame:
    """The newest tickets matching the filters, with their entities.

    ``entity`` keeps tickets mentioning it (case-insensitive, optionally of ``label``);
    ``search`` keeps tickets whose text contains it (case-insensitive, literal);
    ``sources`` keeps tickets from those uploaded files (``tickets.source``).
    Columns: ``ticket_key``, ``source``, ``source_id``, ``created_at``, ``customer_id``,
    ``segment``, ``channel``,
    ``category``, ``resolved_by``, ``subject``, ``text``, ``entities`` (list of dicts with
    ``start``, ``end``, ``label``, ``text``, ``score``; empty when not tagged yet).
    """
    w = _ticket_where(filters)
    if entity:
        cond = ("t.ticket_key IN (SELECT x.ticket_key FROM entities x WHERE x.model_id = ?"
                " AND lower(x.text) = lower(?)")
        params: list[Any] = [model_id, entity]
        if label:
            cond += " AND x.label = ?"
            params.append(label)
        w.add(cond + ")", *params)
    if search:
        w.add("contains(lower(t.text), lower(?))", search)
    if sources:
        w.add("list_contains(?::VARCHAR[], t.source)", [str(s) for s in sources])
    df = store.query(
        "SELECT t.ticket_key, t.source, t.source_id, t.created_at, t.customer_id, c.segment,"  # noqa: S608 - fixed SQL fragments; values are parameters
        " t.channel, t.category, t.resolved_by, t.subject, t.text"
        " FROM tickets t LEFT JOIN customers c ON c.customer_id = t.customer_id"
        f" WHERE {w.sql} ORDER BY t.created_at DESC NULLS LAST, t.ticket_key LIMIT ?",
        [*w.params, int(limit)],
    )
    # Entities of just these tickets (a semi-join on the keys; a correlated subquery would
    # aggregate every entity in the store first).
    ents = store.query(
        "SELECT ticket_key, start, \"end\", label, text, score FROM entities"
        " WHERE model_id = ? AND ticket_key IN (SELECT unnest(?::VARCHAR[]))"
        " ORDER BY ticket_key, start, \"end\"",
        [model_id, df["ticket_key"].tolist()],
    )
    by_key: dict[str, list[dict[str, Any]]] = {}
    for row in ents.itertuples(index=False):
        by_key.setdefault(row.ticket_key, []).append(
            {"start": int(row.start), "end": int(row.end), "label": row.label,
             "text": row.text, "score": float(row.score)})
    df["entities"] = [by_key.get(k, []) for k in df["ticket_key"]]
    return df
