"""What the pages need to know about the store before any figure: its data version, whether
it holds tickets, the sidebar's choices, the period, the tagger in use and its progress."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pandas as pd

from analytics.explore import filters as explore_filters  # its roll-up switches, read at call time
from analytics.explore.filters import Filters, rollups_fresh
from data import rollup_tables, rollups
from data.store import Store


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


def has_tickets(store: Store) -> bool:
    """Whether the store holds at least one ticket (stops at the first: no count)."""
    return bool(store.scalar("SELECT EXISTS (SELECT 1 FROM tickets)"))


def filter_options(store: Store) -> dict[str, list[str]]:
    """The values the sidebar offers: ``{"segments": [...], "plans": [...], "regions": [...]}``
    (from ``customers``: the filters select customers)."""
    return {
        "segments": [
            r[0]
            for r in store.fetchall(
                "SELECT DISTINCT segment FROM customers WHERE segment IS NOT NULL ORDER BY 1"
            )
        ],
        "plans": [
            r[0]
            for r in store.fetchall(  # the customer's plan: what the filter uses
                "SELECT DISTINCT plan FROM customers WHERE plan IS NOT NULL ORDER BY 1"
            )
        ],
        "regions": [
            r[0]
            for r in store.fetchall(
                "SELECT DISTINCT region FROM customers WHERE region IS NOT NULL ORDER BY 1"
            )
        ],
    }


def date_bounds(store: Store) -> tuple[dt.date, dt.date] | None:
    """First and last day with tickets or usage, or None for an empty store."""
    if rollups_fresh(store, rollup_tables.TICKETS, rollup_tables.USAGE):
        tickets = "SELECT min(day) AS a, max(day) AS a2 FROM rollup_ticket_days"
        usage = "rollup_usage_months"
    else:
        tickets = (
            "SELECT min(CAST(created_at AS DATE)) AS a,"
            " max(CAST(created_at AS DATE)) AS a2 FROM tickets"
        )
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
    """The tagger whose entities the pages show: the one that tagged the most tickets (a
    tie: the latest to tag). From ``rollup_tagged_days`` when that decides it exactly (it
    holds every tag and one tagger is ahead: a tie needs the tagging times), else counted
    from ``tagged_tickets``."""
    if explore_filters.USE_ROLLUPS and not explore_filters._FORCE_BASE.get():
        with store.reading() as cur:
            counts = rollups.tagged_per_model(cur)
        if counts is not None:
            if not counts:
                return None
            ranked = sorted(counts.values(), reverse=True)
            if len(ranked) == 1 or ranked[0] > ranked[1]:
                return max(counts, key=counts.__getitem__)
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
    if rollups_fresh(store, rollup_tables.TAGS):  # the roll-up counts exactly those
        return int(
            store.scalar(
                "SELECT coalesce(sum(tagged), 0) FROM rollup_tagged_days WHERE model_id = ?",
                [model_id],
            )
            or 0
        ), total
    done = int(
        store.scalar(
            "SELECT count(*) FROM tagged_tickets g SEMI JOIN tickets t"
            " ON t.ticket_key = g.ticket_key WHERE g.model_id = ?",
            [model_id],
        )
        or 0
    )
    return done, total


def last_tagging_run(store: Store) -> dict[str, Any] | None:
    """The newest row of ``tagging_runs`` as a dict (None before the first run)."""
    df = store.query(
        "SELECT run_id, model_id, device, started_at, finished_at, status,"
        " tickets, entities, message FROM tagging_runs"
        " ORDER BY started_at DESC LIMIT 1"
    )
    return None if df.empty else df.iloc[0].to_dict()


def sources(store: Store) -> pd.DataFrame:
    """Uploaded sources (not the demo), newest first: ``source``, ``tickets``, ``ingested_at``."""
    return store.query(
        "SELECT source, count(*) AS tickets, max(ingested_at) AS ingested_at FROM tickets"
        " WHERE source <> 'demo' GROUP BY source ORDER BY ingested_at DESC, source"
    )
