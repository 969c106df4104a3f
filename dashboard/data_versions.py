"""The data versions that key the pages' cached reads (the ``*_queries`` modules).

Every query is one ``st.cache_data`` function (``_kpis``, ``_ticket_list``, …) whose first
argument is the store (``_store``: not hashed, every session shares the one store) and whose
second is a named data version: row counts of exactly the tables that query reads, with the
database it reads. Writes change the counts, so a query's cache is left behind only when its
own data changed: tagging changes the entity counts, not the ticket, usage and customer
counts behind the Overview's figures, so those stay cached while tagging runs. The signals
and the market (pricing inputs) read the tags too; while tagging runs, their versions leave
the tag counts out and move once per window of time instead (:class:`SignalsVersion`,
:class:`MarketVersion`), so a batch does not send every page's figures back to the store.
No cache is ever emptied (``st.cache_data.clear()`` would empty every session's caches);
after a write the app reads the version again at once (:func:`refresh`).

The query modules take the store from :func:`the_store` and keep their answers at most
``HOUR`` seconds (both defined here, for them only; the pages use the public names).

Example:
    >>> from dashboard.data_versions import BusinessVersion
    >>> BusinessVersion("a.duckdb", tickets=3, usage=2, customers=1).tickets
    3
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import streamlit as st

from dashboard import state
from data.store import Store

#: How long a read of the row counts is reused (seconds): a page run reads them once.
VERSION_TTL = 2
#: While tagging runs, the signal caches refresh at most this often (seconds): entities
#: change with every batch, and re-reading every ticket's signals per batch would slow the
#: Signals page and the Overview's alert count.
SIGNALS_REFRESH_WHILE_TAGGING = 60
#: While tagging runs, the market caches (pricing inputs, price war, scenarios) refresh at
#: most this often (seconds): their competitor-mention inputs change with every batch, and
#: measuring the market again per batch would empty every page's market caches each time.
MARKET_REFRESH_WHILE_TAGGING = 300
#: The clock of the refresh windows (seconds since the epoch).
_clock = time.time
#: How long a query's cached answer is kept at most (seconds).
HOUR = 3600


@dataclass(frozen=True)
class BusinessVersion:
    """What the business figures read: tickets, usage and customers (tagging leaves it)."""

    db: str
    tickets: int
    usage: int
    customers: int


@dataclass(frozen=True)
class EntitiesVersion:
    """What the entity and ticket-list queries read: tickets, customers and the tags."""

    db: str
    tickets: int
    customers: int
    tagged: int
    entities: int


@dataclass(frozen=True)
class MarketVersion:
    """What the store-fed pricing inputs read: tickets, usage and customers (row counts),
    and the tagger's competitor mentions (tagged tickets and entities).

    The mentions change with every tagging batch. While tagging runs, the tag counts are
    left out (-1) and ``window`` moves once every :data:`MARKET_REFRESH_WHILE_TAGGING`
    seconds instead, so a batch leaves the market caches alone and their mention inputs
    are at most that old; otherwise ``window`` is 0 and the exact counts key the caches (a
    finished run is seen at once)."""

    db: str
    tickets: int
    usage: int
    customers: int
    tagged: int
    entities: int
    window: int


@dataclass(frozen=True)
class SignalsVersion:
    """What the surge alerts and customers at risk read. While tagging runs, the tags and
    sentiment are left out (-1) and ``window`` moves once every
    :data:`SIGNALS_REFRESH_WHILE_TAGGING` seconds instead; otherwise ``window`` is 0."""

    db: str
    tickets: int
    usage: int
    customers: int
    tagged: int
    entities: int
    ticket_sentiment: int
    gold_sentiment: int
    window: int


@dataclass(frozen=True)
class DataVersion:
    """Row counts of the store (read at most every :data:`VERSION_TTL` seconds), and the
    part of them each kind of query reads."""

    db: str
    tickets: int
    usage: int
    customers: int
    tagged: int
    entities: int
    ticket_sentiment: int
    gold_sentiment: int

    @property
    def business(self) -> BusinessVersion:
        """Tickets, usage, customers."""
        return BusinessVersion(self.db, self.tickets, self.usage, self.customers)

    @property
    def entities_version(self) -> EntitiesVersion:
        """Tickets, customers, tagged tickets, entities."""
        return EntitiesVersion(self.db, self.tickets, self.customers, self.tagged, self.entities)

    def market(self, tagging: bool, now: float | None = None) -> MarketVersion:
        """The market's version; ``tagging``: the tagging job is running."""
        if tagging:
            window = int((_clock() if now is None else now) // MARKET_REFRESH_WHILE_TAGGING)
            return MarketVersion(self.db, self.tickets, self.usage, self.customers, -1, -1, window)
        return MarketVersion(
            self.db, self.tickets, self.usage, self.customers, self.tagged, self.entities, 0
        )

    def signals(self, tagging: bool, now: float | None = None) -> SignalsVersion:
        """The signals' version; ``tagging``: the tagging job is running."""
        if tagging:
            window = int((_clock() if now is None else now) // SIGNALS_REFRESH_WHILE_TAGGING)
            return SignalsVersion(
                self.db, self.tickets, self.usage, self.customers, -1, -1, -1, -1, window
            )
        return SignalsVersion(
            self.db,
            self.tickets,
            self.usage,
            self.customers,
            self.tagged,
            self.entities,
            self.ticket_sentiment,
            self.gold_sentiment,
            0,
        )


@st.cache_data(ttl=VERSION_TTL, show_spinner=False, max_entries=64)
def _row_counts(_store: Store, db: str) -> DataVersion:
    row = _store.fetchall(
        "SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM usage),"
        " (SELECT count(*) FROM customers), (SELECT count(*) FROM tagged_tickets),"
        " (SELECT count(*) FROM entities), (SELECT count(*) FROM ticket_sentiment),"
        " (SELECT count(*) FROM gold_sentiment)"
    )[0]
    return DataVersion(db, *(int(v) for v in row))


def data_version() -> DataVersion:
    """The current row counts of the app's store."""
    return _row_counts(state.store(), str(state.db_path()))


def refresh() -> None:
    """Read the row counts again on the next call (after a write from a page), so every
    query whose data changed runs again; the other caches are kept."""
    _row_counts.clear(None, str(state.db_path()))


def the_store() -> Store:
    """The app's open store (``dashboard.state.store``): the first argument of every cached
    read, so each read is cached per store."""
    return state.store()


def tagging_running() -> bool:
    """Whether the app's tagging job is running (its batches change the tags)."""
    app = state.app_state()
    return app.job is not None and app.job.status().running


def market_version() -> MarketVersion:
    """The market queries' data version (a new one every
    :data:`MARKET_REFRESH_WHILE_TAGGING` seconds while tagging runs)."""
    return data_version().market(tagging_running())


def signals_version() -> SignalsVersion:
    """The signals' data version (one new one a minute while tagging runs)."""
    return data_version().signals(tagging_running())
