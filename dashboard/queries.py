"""Typed, cached reads of the store for the pages.

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

The pages call the public functions (:func:`kpis`, :func:`ticket_list`, …), which take the
page's arguments, fetch the store and the current version and call the cached function.

Example:
    >>> from analytics.explore import Filters
    >>> kpis(Filters())                                            # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from analytics import explore
from analytics.explore import CostRates, Filters
from dashboard import state
from data.store import Store

if TYPE_CHECKING:
    from analytics.alerts import SignalCounts, SignalSource
    from analytics.risk import RiskBacktest
    from analytics.scenario import Competitor, Scenario

log = logging.getLogger("dashboard.queries")

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
_HOUR = 3600


# -- data versions ------------------------------------------------------------------------


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


def _the_store() -> Store:
    return state.store()


def tagging_running() -> bool:
    """Whether the app's tagging job is running (its batches change the tags)."""
    app = state.app_state()
    return app.job is not None and app.job.status().running


def market_version() -> MarketVersion:
    """The market queries' data version (a new one every
    :data:`MARKET_REFRESH_WHILE_TAGGING` seconds while tagging runs)."""
    return data_version().market(tagging_running())


# -- the sidebar and the Overview (tickets, usage, customers) -----------------------------


@st.cache_data(show_spinner=False, max_entries=64, ttl=_HOUR)
def _filter_options(_store: Store, version: BusinessVersion) -> dict[str, list[str]]:
    return explore.filter_options(_store)


def filter_options() -> dict[str, list[str]]:
    """The sidebar's choices (``explore.filter_options``): segments, plans, regions."""
    return _filter_options(_the_store(), data_version().business)


@st.cache_data(show_spinner=False, max_entries=64, ttl=_HOUR)
def _date_bounds(_store: Store, version: BusinessVersion) -> tuple[dt.date, dt.date] | None:
    return explore.date_bounds(_store)


def date_bounds() -> tuple[dt.date, dt.date] | None:
    """First and last day with tickets or usage (``explore.date_bounds``); None if empty."""
    return _date_bounds(_the_store(), data_version().business)


@st.cache_data(show_spinner=False, max_entries=256, ttl=_HOUR)
def _resolve_period(_store: Store, version: BusinessVersion, filters: Filters) -> Filters:
    return explore.resolve_period(_store, filters)


def resolve_period(filters: Filters) -> Filters:
    """``filters`` with the period the data covers filled in (``explore.resolve_period``)."""
    return _resolve_period(_the_store(), data_version().business, filters)


@st.cache_data(show_spinner=False, max_entries=256, ttl=_HOUR)
def _kpis(
    _store: Store, version: BusinessVersion, filters: Filters, rates: CostRates | None
) -> pd.DataFrame:
    return explore.kpis(_store, filters, rates)


def kpis(filters: Filters, rates: CostRates | None = None) -> pd.DataFrame:
    """The Overview's KPIs against the previous period (``explore.kpis``)."""
    return _kpis(_the_store(), data_version().business, filters, rates)


@st.cache_data(show_spinner=False, max_entries=256, ttl=_HOUR)
def _ticket_volume(
    _store: Store, version: BusinessVersion, filters: Filters, by: str, grain: str
) -> pd.DataFrame:
    return explore.ticket_volume(_store, filters, by=by, grain=grain)  # type: ignore[arg-type]


def ticket_volume(filters: Filters, by: str = "channel", grain: str = "month") -> pd.DataFrame:
    """Tickets per period and group (``explore.ticket_volume``)."""
    return _ticket_volume(_the_store(), data_version().business, filters, by, grain)


@st.cache_data(show_spinner=False, max_entries=256, ttl=_HOUR)
def _usage_volume(
    _store: Store, version: BusinessVersion, filters: Filters, by: str
) -> pd.DataFrame:
    return explore.usage_volume(_store, filters, by=by)


def usage_volume(filters: Filters, by: str = "segment") -> pd.DataFrame:
    """Usage per month and group (``explore.usage_volume``)."""
    return _usage_volume(_the_store(), data_version().business, filters, by)


@st.cache_data(show_spinner=False, max_entries=256, ttl=_HOUR)
def _cost_to_serve(
    _store: Store, version: BusinessVersion, filters: Filters, rates: CostRates | None
) -> pd.DataFrame:
    return explore.cost_to_serve(_store, filters, rates)


def cost_to_serve(filters: Filters, rates: CostRates | None = None) -> pd.DataFrame:
    """Revenue, GPU and support cost per segment (``explore.cost_to_serve``)."""
    return _cost_to_serve(_the_store(), data_version().business, filters, rates)


@st.cache_data(show_spinner=False, max_entries=16, ttl=_HOUR)
def _sources(_store: Store, version: BusinessVersion) -> pd.DataFrame:
    return explore.sources(_store)


def sources() -> pd.DataFrame:
    """Uploaded sources, newest first (``explore.sources``)."""
    return _sources(_the_store(), data_version().business)


# -- tagging, entities and tickets ----------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=64, ttl=_HOUR)
def _current_model_id(_store: Store, version: EntitiesVersion) -> str | None:
    from analytics.alerts import current_tagger

    return current_tagger(_store)


def current_model_id() -> str | None:
    """The tagger whose entities the pages show (``explore.current_model_id``, from the
    roll-ups when they decide it: ``analytics.alerts.current_tagger``)."""
    return _current_model_id(_the_store(), data_version().entities_version)


@st.cache_data(show_spinner=False, max_entries=64, ttl=_HOUR)
def _tagging_progress(
    _store: Store, version: EntitiesVersion, model_id: str | None
) -> tuple[int, int]:
    return explore.tagging_progress(_store, model_id)


def tagging_progress(model_id: str | None) -> tuple[int, int]:
    """(tickets tagged by ``model_id``, all tickets) (``explore.tagging_progress``)."""
    return _tagging_progress(_the_store(), data_version().entities_version, model_id)


@st.cache_data(show_spinner=False, max_entries=64, ttl=_HOUR)
def _last_tagging_run(_store: Store, version: EntitiesVersion) -> dict[str, Any] | None:
    return explore.last_tagging_run(_store)


def last_tagging_run() -> dict[str, Any] | None:
    """The newest row of ``tagging_runs`` (``explore.last_tagging_run``), or None."""
    return _last_tagging_run(_the_store(), data_version().entities_version)


@st.cache_data(show_spinner=False, max_entries=256, ttl=_HOUR)
def _top_entities(
    _store: Store,
    version: EntitiesVersion,
    filters: Filters,
    model_id: str | None,
    labels: tuple[str, ...],
    limit: int,
) -> pd.DataFrame:
    return explore.top_entities(_store, filters, model_id, labels=labels, limit=limit)


def top_entities(
    filters: Filters, model_id: str | None, *, labels: tuple[str, ...] = (), limit: int = 10
) -> pd.DataFrame:
    """The most mentioned entities per label (``explore.top_entities``)."""
    return _top_entities(
        _the_store(), data_version().entities_version, filters, model_id, tuple(labels), limit
    )


@st.cache_data(show_spinner=False, max_entries=256, ttl=_HOUR)
def _entity_trends(
    _store: Store,
    version: EntitiesVersion,
    filters: Filters,
    model_id: str | None,
    labels: tuple[str, ...],
    top: int,
) -> pd.DataFrame:
    return explore.entity_trends(_store, filters, model_id, labels=labels, top=top)


def entity_trends(
    filters: Filters, model_id: str | None, *, labels: tuple[str, ...] = (), top: int = 5
) -> pd.DataFrame:
    """Monthly mentions of the top entities (``explore.entity_trends``)."""
    return _entity_trends(
        _the_store(), data_version().entities_version, filters, model_id, tuple(labels), top
    )


@st.cache_data(show_spinner=False, max_entries=256, ttl=_HOUR)
def _competitor_mentions(
    _store: Store, version: EntitiesVersion, filters: Filters, model_id: str | None
) -> pd.DataFrame:
    return explore.competitor_mentions(_store, filters, model_id)


def competitor_mentions(filters: Filters, model_id: str | None) -> pd.DataFrame:
    """Monthly share of tagged tickets naming a competitor (``explore.competitor_mentions``)."""
    return _competitor_mentions(_the_store(), data_version().entities_version, filters, model_id)


#: Ticket lists kept (every session together). Each holds the text of up to 200 tickets of at
#: most 128 KiB (``IngestLimits.max_text_bytes``), so at most 16 × 25 MiB = 400 MiB: any
#: viewer's searches each add one, and 256 of them could hold 6.4 GB.
TICKET_LIST_CACHE_ENTRIES = 16


@st.cache_data(show_spinner=False, max_entries=TICKET_LIST_CACHE_ENTRIES, ttl=_HOUR)
def _ticket_list(
    _store: Store,
    version: EntitiesVersion,
    filters: Filters,
    model_id: str | None,
    entity: str | None,
    label: str | None,
    search: str | None,
    sources: tuple[str, ...],
    limit: int,
) -> pd.DataFrame:
    return explore.ticket_list(
        _store,
        filters,
        model_id,
        entity=entity,
        label=label,
        search=search,
        sources=sources,
        limit=limit,
    )


def ticket_list(
    filters: Filters,
    model_id: str | None,
    *,
    entity: str | None = None,
    label: str | None = None,
    search: str | None = None,
    sources: tuple[str, ...] = (),
    limit: int = 200,
) -> pd.DataFrame:
    """The newest matching tickets with their entities (``explore.ticket_list``)."""
    return _ticket_list(
        _the_store(),
        data_version().entities_version,
        filters,
        model_id,
        entity,
        label,
        search,
        tuple(dict.fromkeys(sources)),  # each once: a forged choice can repeat a name
        limit,
    )


# -- pricing inputs measured from the store -------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=32, ttl=_HOUR)
def _default_scenario(_store: Store, version: MarketVersion, segment: str | None) -> Scenario:
    from analytics import default_scenario as measured

    return measured(_store, segment)


def default_scenario(segment: str | None = None) -> Scenario:
    """The starting scenario, every input measured from the store where the data allow
    (``analytics.default_scenario``); the documented defaults when that fails (logged)."""
    from analytics.scenario import Scenario

    try:
        return _default_scenario(_the_store(), market_version(), segment)
    except Exception:  # the documented defaults still work; the log says why
        log.exception("could not measure the default scenario from the store")
        return Scenario(segment=segment)


@st.cache_data(show_spinner=False, max_entries=64, ttl=_HOUR)
def _default_competitors(
    _store: Store, version: MarketVersion, reference_price: float, our_share: float
) -> tuple[Competitor, ...]:
    from analytics import default_competitors as rivals

    return rivals(_store, reference_price=reference_price, our_share=our_share)


def default_competitors(reference_price: float, our_share: float) -> tuple[Competitor, ...]:
    """The rivals from the real list prices (per vendor the model priced closest to
    ``reference_price``) with assumed shares (``analytics.default_competitors``)."""
    return _default_competitors(
        _the_store(), market_version(), float(reference_price), float(our_share)
    )


@st.cache_data(show_spinner=False, max_entries=32, ttl=_HOUR)
def _positioning_map(
    _store: Store, version: MarketVersion, max_price: float | None
) -> pd.DataFrame:
    from analytics.positioning import positioning_map as build

    return build(_store, max_price=max_price)


def positioning_map(max_price: float | None = None) -> pd.DataFrame:
    """Our plans and the competitors' models, price against tier
    (``analytics.positioning.positioning_map``)."""
    return _positioning_map(_the_store(), market_version(), max_price)


@st.cache_data(show_spinner=False, max_entries=16, ttl=_HOUR)
def _competitor_mention_rates(
    _store: Store, version: MarketVersion, model_id: str | None
) -> pd.DataFrame:
    from analytics.signals import competitor_mention_rates

    return competitor_mention_rates(_store, model_id=model_id)


@st.cache_data(show_spinner=False, max_entries=16, ttl=_HOUR)
def _competitor_pressure(
    _store: Store, version: MarketVersion, model_id: str | None
) -> pd.DataFrame:
    from analytics.signals import competitor_pressure as pressure

    # the mention-rate query is the costly part on a large store: read once, cached
    rates = _competitor_mention_rates(_store, version, model_id)
    return pressure(_store, model_id=model_id, rates=rates)


def competitor_pressure(model_id: str | None = None) -> pd.DataFrame:
    """Competitor-mention pressure per segment (``analytics.signals.competitor_pressure``)."""
    return _competitor_pressure(_the_store(), market_version(), model_id)


# -- signals: surge alerts and customers at risk ----------------------------------------------


@dataclass(frozen=True)
class _NotEnoughData:
    """An ``InsufficientDataError`` kept in the cache (the page says why, every run)."""

    message: str


def signals_version() -> SignalsVersion:
    """The signals' data version (one new one a minute while tagging runs)."""
    return data_version().signals(tagging_running())


@st.cache_data(show_spinner=False, max_entries=32, ttl=_HOUR)
def _signal_source(_store: Store, version: SignalsVersion) -> SignalSource | None:
    from analytics.alerts import signal_source as find

    return find(_store)


def signal_source() -> SignalSource | None:
    """Where the signals' sentiment and entities come from (``analytics.alerts.
    signal_source``: the tagger's sentiment once it has labelled as many tickets as the
    demo's ground truth covers, else the ground truth); None when neither exists."""
    return _signal_source(_the_store(), signals_version())


@st.cache_resource(show_spinner=False, max_entries=8, ttl=_HOUR)
def _signal_counts(
    _store: Store, version: SignalsVersion, sentiment: str, entities: str, mentions: bool = True
) -> SignalCounts:
    """``analytics.alerts.signal_counts`` (per day and customer: the size of days ×
    customers, read from the signals' roll-ups when they are fresh), one shared object per
    data version: readers never modify it. ``mentions=False``: without the per-customer
    competitor mentions (what the alert count needs; the risk features read them)."""
    from analytics.alerts import signal_counts

    return signal_counts(_store, sentiment=sentiment, entities=entities, mentions=mentions)


@st.cache_data(show_spinner=False, max_entries=64, ttl=_HOUR)
def _negative_share(
    _store: Store, version: SignalsVersion, sentiment: str, entities: str, freq: str, dimension: str
) -> pd.DataFrame:
    from analytics.alerts import negative_share as share

    return share(
        _signal_counts(_store, version, sentiment, entities), freq=freq, dimension=dimension
    )


def negative_share(
    source: SignalSource, *, freq: str = "day", dimension: str = "all"
) -> pd.DataFrame:
    """Negative share per period and value (``analytics.alerts.negative_share``)."""
    return _negative_share(
        _the_store(), signals_version(), source.sentiment, source.entities, freq, dimension
    )


@st.cache_data(show_spinner=False, max_entries=16, ttl=_HOUR)
def _signal_days(
    _store: Store, version: SignalsVersion, sentiment: str, entities: str
) -> tuple[dt.date, dt.date] | None:
    counts = _signal_counts(_store, version, sentiment, entities)
    days = counts.units["day"]
    return (min(days), max(days)) if len(days) else None


def signal_days(source: SignalSource) -> tuple[dt.date, dt.date] | None:
    """First and last day with a sentiment label, or None."""
    return _signal_days(_the_store(), signals_version(), source.sentiment, source.entities)


@st.cache_data(show_spinner=False, max_entries=32, ttl=_HOUR)
def _surge_alerts(
    _store: Store,
    version: SignalsVersion,
    sentiment: str,
    entities: str,
    freq: str,
    open_only: bool,
    details: bool,
) -> pd.DataFrame:
    from analytics.alerts import surge_alerts as alerts

    return alerts(
        _store,
        sentiment=sentiment,
        entities=entities,
        freq=freq,
        open_only=open_only,
        details=details,
        signals=_signal_counts(_store, version, sentiment, entities),
    )


def surge_alerts(
    source: SignalSource, *, freq: str = "day", open_only: bool = True, details: bool = True
) -> pd.DataFrame:
    """Surges of negative tickets (``analytics.alerts.surge_alerts``); ``details=False``
    leaves each alert's tickets and entities to :func:`alert_details` (no ticket read)."""
    return _surge_alerts(
        _the_store(), signals_version(), source.sentiment, source.entities, freq, open_only, details
    )


@st.cache_data(show_spinner=False, max_entries=256, ttl=_HOUR)
def _alert_details(
    _store: Store,
    version: SignalsVersion,
    sentiment: str,
    entities: str,
    alert: tuple[str, str, str, dt.date, dt.date],
) -> pd.Series:
    from analytics.alerts import alert_details as details

    dimension, value, freq, since, last = alert
    one = pd.DataFrame(
        {
            "dimension": [dimension],
            "value": [value],
            "freq": [freq],
            "since": [since],
            "last": [last],
        }
    )
    return details(_store, one, sentiment=sentiment, entities=entities).iloc[0]


def alert_details(source: SignalSource, row: Any) -> pd.Series:
    """One alert's ``ticket_keys`` (its negative tickets, oldest first), ``customers`` and
    ``entities`` (most named), read from its tickets (``analytics.alerts.alert_details``):
    only for the alert a user opens."""
    return _alert_details(
        _the_store(),
        signals_version(),
        source.sentiment,
        source.entities,
        (str(row.dimension), str(row.value), str(row.freq), row.since, row.last),
    )


@st.cache_data(show_spinner=False, max_entries=16, ttl=_HOUR)
def _customers_at_risk(
    _store: Store, version: SignalsVersion, sentiment: str, entities: str
) -> pd.DataFrame | _NotEnoughData:
    from analytics.errors import InsufficientDataError
    from analytics.risk import customers_at_risk as score

    try:  # the offers are priced by the segments' economics alone (no market reads)
        return score(
            _store,
            sentiment=sentiment,
            entities=entities,
            signals=_signal_counts(_store, version, sentiment, entities),
        )
    except InsufficientDataError as exc:  # cached too: the page says why
        return _NotEnoughData(str(exc))


def customers_at_risk(source: SignalSource) -> pd.DataFrame:
    """Customers most likely to leave with the offer to make (``analytics.risk.
    customers_at_risk``).

    Raises:
        InsufficientDataError: too little history to fit the risk model.
    """
    return _raise_if_refused(
        _customers_at_risk(_the_store(), signals_version(), source.sentiment, source.entities)
    )


@st.cache_data(show_spinner=False, max_entries=16, ttl=_HOUR)
def _risk_backtest(
    _store: Store, version: SignalsVersion, sentiment: str, entities: str
) -> RiskBacktest | _NotEnoughData:
    from analytics.errors import InsufficientDataError
    from analytics.risk import risk_backtest as backtest

    try:
        return backtest(
            _store,
            sentiment=sentiment,
            entities=entities,
            signals=_signal_counts(_store, version, sentiment, entities),
        )
    except InsufficientDataError as exc:
        return _NotEnoughData(str(exc))


def risk_backtest(source: SignalSource) -> RiskBacktest:
    """How well the risk model ranks later months (``analytics.risk.risk_backtest``).

    Raises:
        InsufficientDataError: too little history for a backtest.
    """
    return _raise_if_refused(
        _risk_backtest(_the_store(), signals_version(), source.sentiment, source.entities)
    )


def _raise_if_refused(result: Any) -> Any:
    if isinstance(result, _NotEnoughData):
        from analytics.errors import InsufficientDataError

        raise InsufficientDataError(result.message)
    return result


def open_alert_count() -> int | None:
    """Daily surge alerts still open on the last day with tickets (the Signals page's first
    list); None when no ticket has a sentiment label."""
    source = signal_source()
    if source is None:
        return None
    return _open_alert_count(_the_store(), signals_version(), source.sentiment, source.entities)


@st.cache_data(show_spinner=False, max_entries=16, ttl=_HOUR)
def _open_alert_count(_store: Store, version: SignalsVersion, sentiment: str, entities: str) -> int:
    from analytics.alerts import open_alert_count as count

    # the count needs no alert's tickets (cheaper than surge_alerts(...)["open"].sum()) and
    # no customer's mentions
    return count(
        _store,
        sentiment=sentiment,
        entities=entities,
        freq="day",
        signals=_signal_counts(_store, version, sentiment, entities, False),
    )


@st.cache_data(show_spinner=False, max_entries=256, ttl=_HOUR)
def _alert_tickets(
    _store: Store,
    version: EntitiesVersion,
    keys: tuple[str, ...],
    first: dt.date,
    last: dt.date,
    model_id: str | None,
) -> pd.DataFrame:
    from analytics.alerts import alert_tickets as read

    return read(_store, keys, model_id, start=first, end=last)


def alert_tickets(
    keys: tuple[str, ...], first: dt.date, last: dt.date, model_id: str | None
) -> pd.DataFrame:
    """The tickets ``keys`` of an alert (created from day ``first`` to ``last``), oldest
    first, with ``model_id``'s entities, looked up by key (``analytics.alerts.
    alert_tickets``: the alert's days' row groups of the tickets, nothing else)."""
    return _alert_tickets(
        _the_store(), data_version().entities_version, tuple(keys), first, last, model_id
    )


# -- the Settings page ----------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=16, ttl=_HOUR)
def _reset_targets(_store: Store, version: DataVersion, runs: int, scenarios: int) -> Any:
    from data.reset import reset_targets as targets

    return targets(_store)


def reset_targets() -> Any:
    """What a reset can remove (``data.reset.reset_targets``: from the roll-ups, a few
    milliseconds, whenever they answer exactly), read again when the data version, the
    number of tagging runs or of saved scenarios changes."""
    store = _the_store()
    runs, scenarios = store.fetchall(
        "SELECT (SELECT count(*) FROM tagging_runs), (SELECT count(*) FROM scenarios)"
    )[0]
    return _reset_targets(store, data_version(), int(runs), int(scenarios))
