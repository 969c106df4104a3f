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
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import pandas as pd

from analytics.costs import CostInputs
from data import rollups
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


def _usage_where(f: Filters, cust: str = "c") -> _Where:
    """Conditions on ``usage u LEFT JOIN customers c`` (months overlapping the period);
    ``cust="u"``: on the usage roll-up ``u``, which carries the customer's columns."""
    w = _Where()
    if f.start is not None:
        w.add("u.month >= ?", f.start.replace(day=1))
    if f.end is not None:
        w.add("u.month <= ?", f.end)
    _customer_conditions(w, f, cust)
    return w


def _customer_conditions(w: _Where, f: Filters, cust: str) -> None:
    if f.segments:
        w.add(f"list_contains(?::VARCHAR[], {cust}.segment)", list(f.segments))
    if f.plans:
        w.add(f"list_contains(?::VARCHAR[], {cust}.plan)", list(f.plans))
    if f.regions:
        w.add(f"list_contains(?::VARCHAR[], {cust}.region)", list(f.regions))


def _usage_weight(f: Filters) -> tuple[str, list[Any]]:
    """SQL for the share of a usage month inside the period (days inside ÷ days in the
    month: 1 for a month inside, a fraction for an edge month) and its parameters."""
    sql = ("(greatest(0, datediff('day', greatest(u.month, coalesce(?::DATE, u.month)),"
           " least(last_day(u.month), coalesce(?::DATE, last_day(u.month)))) + 1)::DOUBLE"
           " / (datediff('day', u.month, last_day(u.month)) + 1))")
    return sql, [f.start, f.end]


# -- roll-ups ----------------------------------------------------------------------------
#
# The figures below read the roll-up tables of ``data.rollups`` (thousands of rows) instead
# of scanning tickets and entities, with the same answers (up to the order floating-point
# sums are added in), whenever
#
# * the part they read is fresh (``data.rollups.fresh_parts``: its recorded row counts are
#   the base tables' — a write that bypassed the roll-ups sends every reader back to the
#   base tables until ``python -m data rollups`` rebuilds them);
# * and the roll-up can answer the question:
#   - ``kpis``, ``cost_to_serve``, ``usage_volume``, ``date_bounds``: always;
#   - ``ticket_volume``: by segment, plan or region at any grain; by a ticket column
#     (channel, category, priority, resolved_by, source) at the month grain only (whole
#     months from the roll-up, the days of partial edge months from ``tickets``); else
#     the base tables;
#   - ``top_entities``, ``entity_trends``: without a segment, plan or region filter (whole
#     months from the roll-up, edge days from ``entities``); with one, the base tables;
#   - ``competitor_mentions``: tagged tickets per month from the roll-up with any filter,
#     the (few) matching entities from ``entities``.
# ``ticket_list``, ``sources``, ``current_model_id``, ``tagging_progress`` and
# ``filter_options`` read the base tables (they are lookups or already small).

#: Read the roll-ups when they can answer (False: always the base tables).
USE_ROLLUPS = True
_FORCE_BASE: ContextVar[bool] = ContextVar("explore_force_base", default=False)


@contextmanager
def _base_tables() -> Iterator[None]:
    """Inside the block every query reads the base tables (tests compare both ways)."""
    token = _FORCE_BASE.set(True)
    try:
        yield
    finally:
        _FORCE_BASE.reset(token)


def _fresh(store: Store, *parts: str) -> bool:
    """Whether the roll-ups of every part in ``parts`` may be read."""
    if not USE_ROLLUPS or _FORCE_BASE.get():
        return False
    with store.reading() as cur:
        fresh = rollups.fresh_parts(cur)
    return all(p in fresh for p in parts)


def _rollup_where(f: Filters, day: str = "r.day", cust: str = "r") -> _Where:
    """Conditions on a day-grain roll-up ``r`` (its ``day`` and customer columns)."""
    w = _Where()
    if f.start is not None:
        w.add(f"{day} >= ?", f.start)
    if f.end is not None:
        w.add(f"{day} <= ?", f.end)
    _customer_conditions(w, f, cust)
    return w


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


@dataclass(frozen=True)
class _MonthSplit:
    """A period as the whole months a month-grain roll-up answers (``month`` in
    [``lo``, ``hi``), either bound open when None) and the edge day ranges (inclusive) the
    base tables answer."""

    lo: dt.date | None
    hi: dt.date | None
    edges: tuple[tuple[dt.date, dt.date], ...]

    def months_sql(self, column: str) -> _Where:
        w = _Where()
        if self.lo is not None:
            w.add(f"{column} >= ?", self.lo)
        if self.hi is not None:
            w.add(f"{column} < ?", self.hi)
        return w

    def edges_sql(self, column: str = "t.created_at") -> _Where:
        w = _Where()
        parts, params = [], []
        for first, last in self.edges:
            parts.append(f"({column} >= ? AND {column} < ?)")
            params += [dt.datetime.combine(first, dt.time()),
                       dt.datetime.combine(last + dt.timedelta(days=1), dt.time())]
        w.add("(" + " OR ".join(parts) + ")", *params)
        return w


def _split_months(f: Filters) -> _MonthSplit | None:
    """The period of ``f`` as whole months and edge days; None when it holds no whole
    month (the base tables answer it all)."""
    lo = None if f.start is None else (f.start if f.start.day == 1 else _next_month(f.start))
    hi = None
    if f.end is not None:
        hi = _next_month(f.end) if (f.end + dt.timedelta(days=1)).day == 1 \
            else f.end.replace(day=1)
    if lo is not None and hi is not None and lo >= hi:
        return None
    edges = []
    if f.start is not None and lo is not None and f.start < lo:
        edges.append((f.start, lo - dt.timedelta(days=1)))
    if f.end is not None and hi is not None and hi <= f.end:
        edges.append((hi, f.end))
    return _MonthSplit(lo, hi, tuple(edges))


def _entity_edge_sql(model_id: str | None, labels: tuple[str, ...],
                     split: _MonthSplit) -> tuple[str, list[Any]]:
    """Entity counts of the edge days, at the roll-up's grain: ``month``, ``label``, ``key``,
    ``text``, ``mentions``, ``tickets`` (each ticket under its smallest spelling of a key)."""
    w = split.edges_sql()
    if labels:
        w.add("list_contains(?::VARCHAR[], e.label)", list(labels))
    sql = ("SELECT month, label, key, text, sum(n) AS mentions, count_if(first) AS tickets"  # noqa: S608 - fixed SQL fragments; values are parameters
           " FROM (SELECT CAST(date_trunc('month', t.created_at) AS DATE) AS month, e.label,"
           " lower(e.text) AS key, e.text, count(*) AS n,"
           " e.text = min(e.text) OVER (PARTITION BY e.ticket_key, e.label, lower(e.text))"
           " AS first"
           " FROM entities e JOIN tickets t ON t.ticket_key = e.ticket_key"
           f" WHERE e.model_id = ? AND {w.sql}"
           " GROUP BY e.ticket_key, t.created_at, e.label, e.text) GROUP BY ALL")
    return sql, [model_id, *w.params]


def _entity_months_sql(model_id: str | None, labels: tuple[str, ...], split: _MonthSplit,
                       *, dated: bool) -> tuple[str, list[Any]]:
    """The roll-up's entity rows of the whole months and the edge days' counts (same
    columns as :func:`_entity_edge_sql`), one relation; ``dated``: leave out undated
    tickets."""
    w = split.months_sql("r.month")
    w.parts.insert(0, "r.model_id = ?")
    w.params.insert(0, model_id)
    if dated:
        w.add("r.month IS NOT NULL")
    if labels:
        w.add("list_contains(?::VARCHAR[], r.label)", list(labels))
    sql = ("SELECT r.month, r.label, r.key, r.text, r.mentions, r.tickets"  # noqa: S608 - fixed SQL fragments; values are parameters
           f" FROM rollup_entity_months r WHERE {w.sql}")
    params = list(w.params)
    if split.edges:
        edge_sql, edge_params = _entity_edge_sql(model_id, labels, split)
        sql += " UNION ALL " + edge_sql
        params += edge_params
    return sql, params


# -- metadata ---------------------------------------------------------------------------


def data_version(store: Store) -> tuple[int, ...]:
    """A cheap fingerprint of the data to key caches: the row counts of tickets, usage,
    tagged tickets, entities and customers. Writes that only update rows in place, and the
    tables it does not count (scenarios, price_history), leave it unchanged."""
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
    if _fresh(store, rollups.TICKETS, rollups.USAGE):
        tickets = "SELECT min(day) AS a, max(day) AS a2 FROM rollup_ticket_days"
        usage = "rollup_usage_months"
    else:
        tickets = ("SELECT min(CAST(created_at AS DATE)) AS a,"
                   " max(CAST(created_at AS DATE)) AS a2 FROM tickets")
        usage = "usage"
    row = store.fetchall(
        "SELECT least(min(a), min(b)), greatest(max(a2), max(b2)) FROM"  # noqa: S608 - fixed SQL fragments; values are parameters
        f" ({tickets}) t,"
        f" (SELECT min(month) AS b, max(last_day(month)) AS b2 FROM {usage}) u"
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
    # only tickets still in the store: tags of removed tickets (left by a store written
    # before model.jobs checked for them) would count above the total
    if _fresh(store, rollups.TAGS):  # the roll-up counts exactly those
        return int(store.scalar("SELECT coalesce(sum(tagged), 0) FROM rollup_tagged_days"
                                " WHERE model_id = ?", [model_id]) or 0), total
    done = int(store.scalar(
        "SELECT count(*) FROM tagged_tickets g SEMI JOIN tickets t"
        " ON t.ticket_key = g.ticket_key WHERE g.model_id = ?", [model_id]) or 0)
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
    if _fresh(store, rollups.TICKETS):
        tw = _rollup_where(f)
        trow = store.fetchall(
            "SELECT coalesce(sum(r.tickets), 0), coalesce(sum(r.ai_tickets), 0)"  # noqa: S608 - fixed SQL fragments; values are parameters
            f" FROM rollup_ticket_days r WHERE {tw.sql}", tw.params)[0]
    else:
        tw = _ticket_where(f)
        trow = store.fetchall(
            "SELECT count(*), count_if(t.resolved_by = 'ai')"  # noqa: S608 - fixed SQL fragments; values are parameters
            " FROM tickets t LEFT JOIN customers c ON c.customer_id = t.customer_id"
            f" WHERE {tw.sql}",
            tw.params,
        )[0]
    weight, wparams = _usage_weight(f)
    last_month = f.end.replace(day=1) if f.end is not None else None
    if _fresh(store, rollups.USAGE):
        uw = _usage_where(f, cust="u")
        active = "coalesce(sum(u.customers) FILTER (WHERE u.month = ?), 0)"
        usage = "rollup_usage_months u"
    else:
        uw = _usage_where(f)
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
    if _fresh(store, rollups.TICKETS):
        if by in ("segment", "plan", "region"):
            rw = _rollup_where(filters)
            return store.query(
                "SELECT CAST(date_trunc(?, r.day) AS DATE) AS period,"  # noqa: S608 - fixed SQL fragments; values are parameters
                f" coalesce(CAST(r.{by} AS VARCHAR), '(unknown)') AS \"group\","
                " sum(r.tickets)::BIGINT AS tickets FROM rollup_ticket_days r"
                f" WHERE r.day IS NOT NULL AND {rw.sql} GROUP BY ALL ORDER BY 1, 2",
                [grain, *rw.params],
            )
        split = _split_months(filters) if grain == "month" else None
        if split is not None:
            return _ticket_volume_months(store, filters, by, split)
    w = _ticket_where(filters)
    return store.query(
        f"SELECT CAST(date_trunc(?, t.created_at) AS DATE) AS period,"  # noqa: S608 - fixed SQL fragments; values are parameters
        f" coalesce(CAST({GROUPS_TICKETS[by]} AS VARCHAR), '(unknown)') AS \"group\","
        " count(*) AS tickets"
        " FROM tickets t LEFT JOIN customers c ON c.customer_id = t.customer_id"
        f" WHERE t.created_at IS NOT NULL AND {w.sql} GROUP BY ALL ORDER BY 1, 2",
        [grain, *w.params],
    )


def _ticket_volume_months(store: Store, f: Filters, by: str, split: _MonthSplit) -> pd.DataFrame:
    """:func:`ticket_volume` by a ticket column per month: the roll-up's whole months and
    the edge days from ``tickets``."""
    mw = split.months_sql("r.month")
    mw.add("r.month IS NOT NULL")
    _customer_conditions(mw, f, "r")
    sql = ("SELECT r.month AS period, r.value AS g, r.tickets AS n"  # noqa: S608 - fixed SQL fragments; values are parameters
           f" FROM rollup_ticket_months r WHERE r.dim = ? AND {mw.sql}")
    params: list[Any] = [by, *mw.params]
    if split.edges:
        ew = split.edges_sql()
        _customer_conditions(ew, f, "c")
        sql += (" UNION ALL SELECT CAST(date_trunc('month', t.created_at) AS DATE),"  # noqa: S608 - fixed SQL fragments; values are parameters
                f" CAST({GROUPS_TICKETS[by]} AS VARCHAR), count(*)"
                " FROM tickets t LEFT JOIN customers c ON c.customer_id = t.customer_id"
                f" WHERE {ew.sql} GROUP BY ALL")
        params += ew.params
    return store.query(
        "SELECT period, coalesce(g, '(unknown)') AS \"group\", sum(n)::BIGINT AS tickets"  # noqa: S608 - fixed SQL fragments; values are parameters
        f" FROM ({sql}) GROUP BY ALL ORDER BY 1, 2", params)


def usage_volume(store: Store, filters: Filters, by: str = "segment") -> pd.DataFrame:
    """Monthly usage per group: ``month``, ``group``, ``tokens``, ``requests``, ``revenue``.

    Edge months of the period count pro rata by days (as in :func:`kpis`), so the months
    add up to the KPIs; usage of unknown customers is the group ``"(unknown customer)"``.
    """
    if by not in GROUPS_USAGE:
        raise ValueError(f"cannot group usage by {by!r}; choose one of {sorted(GROUPS_USAGE)}")
    weight, wparams = _usage_weight(filters)
    if _fresh(store, rollups.USAGE):
        w = _usage_where(filters, cust="u")
        unknown, group = "NOT u.known", f"u.{by}"
        usage = "rollup_usage_months u"
    else:
        w = _usage_where(filters)
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
    weight, wparams = _usage_weight(filters)
    seg = "CASE WHEN c.customer_id IS NULL THEN ? ELSE coalesce(c.segment, '(unknown)') END"
    if _fresh(store, rollups.USAGE):
        uw = _usage_where(filters, cust="u")
        useg = "CASE WHEN NOT u.known THEN ? ELSE coalesce(u.segment, '(unknown)') END"
        usage = "rollup_usage_months u"
    else:
        uw = _usage_where(filters)
        useg, usage = seg, "usage u LEFT JOIN customers c ON c.customer_id = u.customer_id"
    if _fresh(store, rollups.TICKETS):
        tickets = ("SELECT CASE WHEN NOT t.known THEN ? ELSE coalesce(t.segment, '(unknown)')"
                   " END AS segment, sum(t.tickets)::BIGINT AS tickets,"
                   " sum(t.ai_tickets)::HUGEINT AS ai_tickets FROM rollup_ticket_days t")
        tw = _rollup_where(filters, day="t.day", cust="t")
    else:
        tw = _ticket_where(filters)
        tickets = (f"SELECT {seg} AS segment, count(*) AS tickets,"  # noqa: S608 - fixed SQL fragments; values are parameters
                   " count_if(t.resolved_by = 'ai') AS ai_tickets"
                   " FROM tickets t LEFT JOIN customers c ON c.customer_id = t.customer_id")
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
    labels = tuple(labels)
    split = _split_months(filters)
    if (split is not None and not filters.has_customer_filter
            and _fresh(store, rollups.TAGS)):
        sql, params = _entity_months_sql(model_id, labels, split, dated=False)
        return store.query(
            f"WITH s AS (SELECT label, key, text, sum(mentions) AS n, sum(tickets) AS k"  # noqa: S608 - fixed SQL fragments; values are parameters
            f" FROM ({sql}) GROUP BY ALL)"
            " SELECT label, entity, mentions, tickets FROM ("
            " SELECT label, first(text ORDER BY n DESC, text) AS entity,"
            " sum(n)::BIGINT AS mentions, sum(k)::BIGINT AS tickets,"
            " row_number() OVER (PARTITION BY label ORDER BY sum(n) DESC, key) AS rank"
            " FROM s GROUP BY label, key)"
            " WHERE rank <= ? ORDER BY label, mentions DESC, entity",
            [*params, int(limit)],
        )
    w = _ticket_where(filters)
    label_sql = " AND list_contains(?::VARCHAR[], e.label)" if labels else ""
    # A semi-join on the selected tickets (cheaper than joining every entity row).
    return store.query(
        "WITH x AS (SELECT e.label, lower(e.text) AS key, e.text, e.ticket_key"  # noqa: S608 - fixed SQL fragments; values are parameters
        f" FROM entities e WHERE e.model_id = ?{label_sql}"
        " AND e.ticket_key IN (SELECT t.ticket_key FROM tickets t"
        f"  LEFT JOIN customers c ON c.customer_id = t.customer_id WHERE {w.sql})),"
        # mentions per spelling, tickets per entity; an entity shows under its most
        # frequent spelling (ties: the smallest)
        " s AS (SELECT label, key, text, count(*) AS n FROM x GROUP BY ALL),"
        " k AS (SELECT label, key, count(DISTINCT ticket_key) AS tickets FROM x"
        "  GROUP BY label, key)"
        " SELECT label, entity, mentions, tickets FROM ("
        " SELECT s.label, first(s.text ORDER BY s.n DESC, s.text) AS entity,"
        " sum(s.n)::BIGINT AS mentions, any_value(k.tickets) AS tickets,"
        " row_number() OVER (PARTITION BY s.label ORDER BY sum(s.n) DESC, s.key) AS rank"
        " FROM s JOIN k ON k.label = s.label AND k.key = s.key GROUP BY s.label, s.key)"
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
    labels = tuple(labels)
    split = _split_months(filters)
    if (split is not None and not filters.has_customer_filter
            and _fresh(store, rollups.TAGS)):
        sql, params = _entity_months_sql(model_id, labels, split, dated=True)
        s_sql = f"SELECT month, label, key, text, sum(mentions) AS n FROM ({sql}) GROUP BY ALL"  # noqa: S608 - fixed SQL fragments; values are parameters
    else:
        w = _ticket_where(filters)
        if labels:
            w.add("list_contains(?::VARCHAR[], e.label)", list(labels))
        s_sql = ("SELECT CAST(date_trunc('month', t.created_at) AS DATE) AS month, e.label,"  # noqa: S608 - fixed SQL fragments; values are parameters
                 " lower(e.text) AS key, e.text, count(*) AS n"
                 " FROM entities e JOIN tickets t ON t.ticket_key = e.ticket_key"
                 " LEFT JOIN customers c ON c.customer_id = t.customer_id"
                 f" WHERE e.model_id = ? AND t.created_at IS NOT NULL AND {w.sql} GROUP BY ALL")
        params = [model_id, *w.params]
    # s: mentions per month and spelling; the top entities over the period, each under its
    # most frequent spelling (ties: the smallest)
    return store.query(
        f"WITH s AS ({s_sql}),"  # noqa: S608 - fixed SQL fragments; values are parameters
        " top AS (SELECT label, key, first(text ORDER BY n DESC, text) AS entity FROM"
        "  (SELECT label, key, text, sum(n) AS n FROM s GROUP BY ALL) GROUP BY label, key"
        "  ORDER BY sum(n) DESC, key, label LIMIT ?),"
        " n AS (SELECT month, label, key, sum(n) AS mentions FROM s"
        "  JOIN top USING (label, key) GROUP BY ALL)"
        # every month with mentions, for every top entity (0 where it had none)
        " SELECT months.month, top.label, top.entity,"
        " coalesce(n.mentions, 0)::BIGINT AS mentions"
        " FROM (SELECT DISTINCT month FROM s) months CROSS JOIN top"
        " LEFT JOIN n ON n.month = months.month AND n.label = top.label AND n.key = top.key"
        " ORDER BY 1, 3, 2",
        [*params, int(top)],
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
    if custom is None and _fresh(store, rollups.TAGS, rollups.MENTIONS):
        return _competitor_mentions_days(store, filters, model_id)
    if _fresh(store, rollups.TAGS):
        return _competitor_mentions_rollup(store, filters, model_id, custom)
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


def _rollup_match_params(store: Store, model_id: str | None,
                         aliases: dict[str, str] | None) -> list[list[str]]:
    """``analytics.signals.match_params`` from the entity roll-up: the same (text, label)
    pairs of the model's entities (of tickets in the store: the only ones a mention can
    count), matched by the same rule."""
    from data.reference import COMPETITOR_LABELS, match_competitor

    rows = store.fetchall(
        "SELECT DISTINCT text, label FROM rollup_entity_months WHERE model_id = ?"
        " AND list_contains(?::VARCHAR[], label) ORDER BY 1, 2",
        [model_id, list(COMPETITOR_LABELS)])
    texts, labels, vendors = [], [], []
    for text, label in rows:
        vendor = match_competitor(text, label, aliases=aliases)
        if vendor is not None:
            texts.append(text)
            labels.append(label)
            vendors.append(vendor)
    return [texts, labels, vendors]


def _competitor_mentions_days(store: Store, f: Filters, model_id: str | None) -> pd.DataFrame:
    """:func:`competitor_mentions` (reference aliases) from the roll-ups alone: tagged
    tickets per day from ``rollup_tagged_days``, mentions per day and vendor from
    ``rollup_competitor_days`` (``data.rollups``), no entity read."""
    rw = _rollup_where(f)
    return store.query(
        " WITH tagged AS (SELECT CAST(date_trunc('month', r.day) AS DATE) AS month,"  # noqa: S608 - fixed SQL fragments; values are parameters
        "  sum(r.tagged)::BIGINT AS tagged FROM rollup_tagged_days r"
        f"  WHERE r.model_id = ? AND r.day IS NOT NULL AND {rw.sql} GROUP BY 1),"
        " hits AS (SELECT CAST(date_trunc('month', r.day) AS DATE) AS month, r.vendor,"
        "  sum(r.mentions)::BIGINT AS mentions, sum(r.tickets)::BIGINT AS tickets"
        "  FROM rollup_competitor_days r WHERE r.entities = ? AND r.vendor IS NOT NULL"
        f"  AND {rw.sql} GROUP BY 1, 2)"
        " SELECT tagged.month, v.vendor, coalesce(hits.mentions, 0) AS mentions,"
        " coalesce(hits.tickets, 0) AS tickets, tagged.tagged,"
        " coalesce(hits.tickets, 0) / tagged.tagged AS rate"
        " FROM tagged CROSS JOIN (SELECT DISTINCT vendor FROM hits) v"
        " LEFT JOIN hits ON hits.month = tagged.month AND hits.vendor = v.vendor"
        " ORDER BY 1, 2",
        [model_id, *rw.params, model_id, *rw.params],
    )


def _competitor_mentions_rollup(store: Store, f: Filters, model_id: str | None,
                                aliases: dict[str, str] | None) -> pd.DataFrame:
    """:func:`competitor_mentions` with the tagged tickets per month from the roll-up and
    only the entities that name a competitor read from ``entities``."""
    from analytics.signals import MATCH_TABLE_SQL

    rw = _rollup_where(f)
    w = _ticket_where(f)
    return store.query(
        f"WITH a AS ({MATCH_TABLE_SQL}),"  # noqa: S608 - fixed SQL fragments; values are parameters
        " tagged AS (SELECT CAST(date_trunc('month', r.day) AS DATE) AS month,"
        "  sum(r.tagged)::BIGINT AS tagged FROM rollup_tagged_days r"
        f"  WHERE r.model_id = ? AND r.day IS NOT NULL AND {rw.sql} GROUP BY 1),"
        " hits AS (SELECT CAST(date_trunc('month', t.created_at) AS DATE) AS month, a.vendor,"
        "  count(*) AS mentions, count(DISTINCT e.ticket_key) AS tickets"
        "  FROM entities e JOIN a ON a.text = e.text AND a.label = e.label"
        "  JOIN tagged_tickets g ON g.ticket_key = e.ticket_key AND g.model_id = ?"
        "  JOIN tickets t ON t.ticket_key = e.ticket_key"
        "  LEFT JOIN customers c ON c.customer_id = t.customer_id"
        f"  WHERE e.model_id = ? AND t.created_at IS NOT NULL AND {w.sql} GROUP BY 1, 2)"
        " SELECT tagged.month, v.vendor, coalesce(hits.mentions, 0) AS mentions,"
        " coalesce(hits.tickets, 0) AS tickets, tagged.tagged,"
        " coalesce(hits.tickets, 0) / tagged.tagged AS rate"
        " FROM tagged CROSS JOIN (SELECT DISTINCT vendor FROM hits) v"
        " LEFT JOIN hits ON hits.month = tagged.month AND hits.vendor = v.vendor"
        " ORDER BY 1, 2",
        [*_rollup_match_params(store, model_id, aliases), model_id, *rw.params, model_id,
         model_id, *w.params],
    )


def _newest_days(store: Store, filters: Filters, limit: int) -> dt.date | None:
    """The latest day from which on at least ``limit`` tickets match ``filters`` (from the
    ticket roll-up): the newest ``limit`` of them were all created on or after it. None when
    the roll-up may not answer or fewer tickets match."""
    if limit < 1 or not _fresh(store, rollups.TICKETS):
        return None
    rw = _rollup_where(filters)
    return store.scalar(
        "SELECT max(day) FROM (SELECT day, sum(sum(r.tickets)) OVER (ORDER BY day DESC)"  # noqa: S608 - fixed SQL fragments; values are parameters
        f" AS newer FROM rollup_ticket_days r WHERE r.day IS NOT NULL AND {rw.sql}"
        " GROUP BY day) WHERE newer >= ?", [*rw.params, limit])


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
    elif not entity and not search:
        cut = _newest_days(store, filters, int(limit))
        if cut is not None:  # the newest tickets lie on these days: the rest is not read
            w.add("t.created_at >= ?", dt.datetime.combine(cut, dt.time()))
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
