"""An opened alert's tickets: read by their keys (a few row groups of the tickets, found by
the alert's days), with a tagger's entities, for the ticket cards.

Example:
    >>> keys = alert_details(store, shown)["ticket_keys"].iloc[0]      # doctest: +SKIP
    >>> alert_tickets(store, keys[:25], "tagger-v1")                   # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd

from analytics.alerts.sql import Sql, created_between
from analytics.explore.entity_lookup import LISTED_ENTITIES_PER_TICKET, entities_of_tickets

__all__ = ["TICKET_COLUMNS", "alert_tickets"]

#: Columns of :func:`alert_tickets` (those of ``analytics.explore.ticket_list``).
TICKET_COLUMNS = [
    "ticket_key",
    "source",
    "source_id",
    "created_at",
    "customer_id",
    "segment",
    "channel",
    "category",
    "resolved_by",
    "subject",
    "text",
    "entities",
]


def alert_tickets(
    store: Any,
    keys: Sequence[str],
    model_id: str | None,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pd.DataFrame:
    """The tickets ``keys`` (those still in the store), oldest first, with ``model_id``'s
    entities (a list of dicts ``start``, ``end``, ``label``, ``text``, ``score`` per
    ticket; empty when None or not tagged).

    Args:
        store: the store.
        keys: ticket keys (an alert's ``ticket_keys``, or the first of them).
        model_id: the tagger whose entities are highlighted.
        start, end: the first and last day the tickets were created on (the alert's
            span): only those days' row groups of the tickets are read.
    """
    keys = [str(k) for k in keys]
    if not keys:
        return pd.DataFrame(columns=TICKET_COLUMNS)
    q = (
        Sql(  # noqa: S608 - fixed fragments; values are parameters
            "SELECT t.ticket_key, t.source, t.source_id, t.created_at, t.customer_id,"
            " c.segment, t.channel, t.category, t.resolved_by, t.subject, t.text"
            " FROM tickets t LEFT JOIN customers c ON c.customer_id = t.customer_id"
            " WHERE t.ticket_key IN (SELECT unnest(?::VARCHAR[]))",
            (keys,),
        )
        + created_between(start, end)
        + " ORDER BY t.created_at, t.ticket_key"
    )
    tickets = store.query(q.text, q.args)
    tickets["entities"] = entities_of_tickets(
        store, model_id, tickets["ticket_key"].tolist(), LISTED_ENTITIES_PER_TICKET
    )
    return tickets.reset_index(drop=True)[TICKET_COLUMNS]
