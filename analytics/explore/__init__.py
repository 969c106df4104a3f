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

Modules (one concern each; the pages' names are importable from ``analytics.explore``):
``filters`` (:class:`Filters`, :class:`CostRates`, the SQL conditions, when the roll-ups may
be read; its ``USE_ROLLUPS`` switch and ``base_tables()`` send every reader to the base
tables), ``metadata`` (data version, sidebar choices, period, the tagger and its progress),
``overview`` (KPIs, ticket and usage volume, cost to serve), ``entities`` (top entities,
trends, competitor mentions), ``tickets`` (the ticket list) and ``entity_lookup`` (the
entities a model found in given tickets).
"""

from __future__ import annotations

from analytics.explore.entities import (
    competitor_mentions,
    entity_trends,
    top_entities,
)
from analytics.explore.filters import (  # noqa: F401 - the package's names
    GROUPS_TICKETS,
    GROUPS_USAGE,
    UNKNOWN_CUSTOMER,
    CostRates,
    Filters,
    base_tables,
)
from analytics.explore.metadata import (
    current_model_id,
    data_version,
    date_bounds,
    filter_options,
    last_tagging_run,
    resolve_period,
    sources,
    tagging_progress,
)
from analytics.explore.overview import (
    KPI_LABELS,
    cost_to_serve,
    kpis,
    ticket_volume,
    usage_volume,
)
from analytics.explore.tickets import ticket_list

__all__ = [
    "KPI_LABELS",
    "UNKNOWN_CUSTOMER",
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
