"""The pages' typed, cached reads of the store, one import away: ``from dashboard import
queries`` then ``queries.kpis(filters)``.

The pages call the public functions (:func:`kpis`, :func:`ticket_list`, …), which take the
page's arguments, fetch the store and the current data version and call a cached function.
Each part lives in its own module; this one re-exports their names:

- ``data_versions``: the data versions that key every cache (row counts of the tables a
  query reads; while tagging runs, windows of time for the signals and the market), how
  they are read (:func:`data_version`) and read again after a write (:func:`refresh`), and
  why no cache is ever emptied;
- ``business_queries``: the sidebar and the Overview (tickets, usage, customers);
- ``entity_queries``: the tagger shown, its progress, the entities and the ticket list;
- ``market_queries``: the pricing inputs measured from the store;
- ``signal_queries``: surge alerts, customers at risk and an alert's tickets;
- ``reset_queries``: what a reset can remove (the Settings page).

A test that replaces one of these names must patch the module that defines it (the modules
call each other directly, not through ``queries``): e.g. ``dashboard.data_versions._clock``.

Example:
    >>> from analytics.explore import Filters
    >>> kpis(Filters())                                            # doctest: +SKIP
"""

from __future__ import annotations

from dashboard.business_queries import (
    cost_to_serve,
    date_bounds,
    filter_options,
    kpis,
    resolve_period,
    sources,
    ticket_volume,
    usage_volume,
)
from dashboard.data_versions import (
    MARKET_REFRESH_WHILE_TAGGING,
    SIGNALS_REFRESH_WHILE_TAGGING,
    VERSION_TTL,
    BusinessVersion,
    DataVersion,
    EntitiesVersion,
    MarketVersion,
    SignalsVersion,
    data_version,
    market_version,
    refresh,
    signals_version,
    tagging_running,
)
from dashboard.entity_queries import (
    TICKET_LIST_CACHE_ENTRIES,
    competitor_mentions,
    current_model_id,
    entity_trends,
    last_tagging_run,
    tagging_progress,
    ticket_list,
    top_entities,
)
from dashboard.market_queries import (
    competitor_pressure,
    default_competitors,
    default_scenario,
    positioning_map,
)
from dashboard.reset_queries import reset_targets
from dashboard.signal_queries import (
    alert_details,
    alert_tickets,
    customers_at_risk,
    negative_share,
    open_alert_count,
    risk_backtest,
    signal_days,
    signal_source,
    surge_alerts,
)

__all__ = [
    # data_versions
    "MARKET_REFRESH_WHILE_TAGGING",
    "SIGNALS_REFRESH_WHILE_TAGGING",
    "VERSION_TTL",
    "BusinessVersion",
    "DataVersion",
    "EntitiesVersion",
    "MarketVersion",
    "SignalsVersion",
    "data_version",
    "market_version",
    "refresh",
    "signals_version",
    "tagging_running",
    # business_queries
    "cost_to_serve",
    "date_bounds",
    "filter_options",
    "kpis",
    "resolve_period",
    "sources",
    "ticket_volume",
    "usage_volume",
    # entity_queries
    "TICKET_LIST_CACHE_ENTRIES",
    "competitor_mentions",
    "current_model_id",
    "entity_trends",
    "last_tagging_run",
    "tagging_progress",
    "ticket_list",
    "top_entities",
    # market_queries
    "competitor_pressure",
    "default_competitors",
    "default_scenario",
    "positioning_map",
    # signal_queries
    "alert_details",
    "alert_tickets",
    "customers_at_risk",
    "negative_share",
    "open_alert_count",
    "risk_backtest",
    "signal_days",
    "signal_source",
    "surge_alerts",
    # reset_queries
    "reset_targets",
]
