"""The filters every Overview and Entities figure takes, the SQL conditions they make (values
as parameters, identifiers from fixed whitelists), and when the roll-ups may be read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from analytics.costs import CostInputs
from data import rollups
from data.store import Store

_DEFAULT_COSTS = CostInputs()


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
GRAINS: frozenset[str] = frozenset({"day", "week", "month"})
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
            months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1
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
        return (
            input_tokens / 1e6 * self.gpu_input_cost_per_m
            + output_tokens / 1e6 * self.gpu_output_cost_per_m
        )

    def support_cost(self, tickets: Any, ai_tickets: Any) -> Any:
        """Support cost in USD: AI-resolved tickets at the AI cost, all others at the
        human cost (numbers or Series)."""
        return (tickets - ai_tickets) * self.human_ticket_cost + ai_tickets * self.ai_ticket_cost


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


def ticket_where(f: Filters) -> _Where:
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


def usage_where(f: Filters, cust: str = "c") -> _Where:
    """Conditions on ``usage u LEFT JOIN customers c`` (months overlapping the period);
    ``cust="u"``: on the usage roll-up ``u``, which carries the customer's columns."""
    w = _Where()
    if f.start is not None:
        w.add("u.month >= ?", f.start.replace(day=1))
    if f.end is not None:
        w.add("u.month <= ?", f.end)
    customer_conditions(w, f, cust)
    return w


def customer_conditions(w: _Where, f: Filters, cust: str) -> None:
    if f.segments:
        w.add(f"list_contains(?::VARCHAR[], {cust}.segment)", list(f.segments))
    if f.plans:
        w.add(f"list_contains(?::VARCHAR[], {cust}.plan)", list(f.plans))
    if f.regions:
        w.add(f"list_contains(?::VARCHAR[], {cust}.region)", list(f.regions))


def usage_weight(f: Filters) -> tuple[str, list[Any]]:
    """SQL for the share of a usage month inside the period (days inside ÷ days in the
    month: 1 for a month inside, a fraction for an edge month) and its parameters."""
    sql = (
        "(greatest(0, datediff('day', greatest(u.month, coalesce(?::DATE, u.month)),"
        " least(last_day(u.month), coalesce(?::DATE, last_day(u.month)))) + 1)::DOUBLE"
        " / (datediff('day', u.month, last_day(u.month)) + 1))"
    )
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
#     the (few) matching entities from ``entities``;
#   - ``current_model_id``: ``rollup_tagged_days`` when it decides exactly (one tagger
#     ahead), else ``tagged_tickets``; ``tagging_progress``: the tagged count from
#     ``rollup_tagged_days`` (the total from ``tickets``).
# ``ticket_list``, ``sources``, ``data_version``, ``has_tickets``, ``last_tagging_run`` and
# ``filter_options`` read the base tables (they are lookups, counts or already small).

#: Read the roll-ups when they can answer (False: always the base tables).
USE_ROLLUPS = True
_FORCE_BASE: ContextVar[bool] = ContextVar("explore_force_base", default=False)


@contextmanager
def base_tables() -> Iterator[None]:
    """Inside the block every query reads the base tables (tests compare both ways)."""
    token = _FORCE_BASE.set(True)
    try:
        yield
    finally:
        _FORCE_BASE.reset(token)


def rollups_fresh(store: Store, *parts: str) -> bool:
    """Whether the roll-ups of every part in ``parts`` may be read."""
    if not USE_ROLLUPS or _FORCE_BASE.get():
        return False
    with store.reading() as cur:
        fresh = rollups.fresh_parts(cur)
    return all(p in fresh for p in parts)


def rollup_where(f: Filters, day: str = "r.day", cust: str = "r") -> _Where:
    """Conditions on a day-grain roll-up ``r`` (its ``day`` and customer columns)."""
    w = _Where()
    if f.start is not None:
        w.add(f"{day} >= ?", f.start)
    if f.end is not None:
        w.add(f"{day} <= ?", f.end)
    customer_conditions(w, f, cust)
    return w


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


@dataclass(frozen=True)
class MonthSplit:
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
            params += [
                dt.datetime.combine(first, dt.time()),
                dt.datetime.combine(last + dt.timedelta(days=1), dt.time()),
            ]
        w.add("(" + " OR ".join(parts) + ")", *params)
        return w


def split_months(f: Filters) -> MonthSplit | None:
    """The period of ``f`` as whole months and edge days; None when it holds no whole
    month (the base tables answer it all)."""
    lo = None if f.start is None else (f.start if f.start.day == 1 else _next_month(f.start))
    hi = None
    if f.end is not None:
        hi = _next_month(f.end) if (f.end + dt.timedelta(days=1)).day == 1 else f.end.replace(day=1)
    if lo is not None and hi is not None and lo >= hi:
        return None
    edges = []
    if f.start is not None and lo is not None and f.start < lo:
        edges.append((f.start, lo - dt.timedelta(days=1)))
    if f.end is not None and hi is not None and hi <= f.end:
        edges.append((hi, f.end))
    return MonthSplit(lo, hi, tuple(edges))


def _entity_edge_sql(
    model_id: str | None, labels: tuple[str, ...], split: MonthSplit
) -> tuple[str, list[Any]]:
    """Entity counts of the edge days, at the roll-up's grain: ``month``, ``label``, ``key``,
    ``text``, ``mentions``, ``tickets`` (each ticket under its smallest spelling of a key)."""
    w = split.edges_sql()
    if labels:
        w.add("list_contains(?::VARCHAR[], e.label)", list(labels))
    sql = (
        "SELECT month, label, key, text, sum(n) AS mentions, count_if(first) AS tickets"  # noqa: S608 - fixed SQL fragments; values are parameters
        " FROM (SELECT CAST(date_trunc('month', t.created_at) AS DATE) AS month, e.label,"
        " lower(e.text) AS key, e.text, count(*) AS n,"
        " e.text = min(e.text) OVER (PARTITION BY e.ticket_key, e.label, lower(e.text))"
        " AS first"
        " FROM entities e JOIN tickets t ON t.ticket_key = e.ticket_key"
        f" WHERE e.model_id = ? AND {w.sql}"
        " GROUP BY e.ticket_key, t.created_at, e.label, e.text) GROUP BY ALL"
    )
    return sql, [model_id, *w.params]


def entity_months_sql(
    model_id: str | None, labels: tuple[str, ...], split: MonthSplit, *, dated: bool
) -> tuple[str, list[Any]]:
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
    sql = (
        "SELECT r.month, r.label, r.key, r.text, r.mentions, r.tickets"  # noqa: S608 - fixed SQL fragments; values are parameters
        f" FROM rollup_entity_months r WHERE {w.sql}"
    )
    params = list(w.params)
    if split.edges:
        edge_sql, edge_params = _entity_edge_sql(model_id, labels, split)
        sql += " UNION ALL " + edge_sql
        params += edge_params
    return sql, params
