"""The Entities page's and the tagging status's cached reads: the tagger shown, its
progress and last run, the entities, competitor mentions and the ticket list.

Each public function fetches the store and the :class:`~dashboard.data_versions.EntitiesVersion`
(tickets, customers and the tags) and calls its ``st.cache_data`` twin.

Example:
    >>> from analytics.explore import Filters
    >>> ticket_list(Filters(), None, search="refund")              # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from analytics import explore
from analytics.explore import Filters
from dashboard.data_versions import HOUR, EntitiesVersion, data_version, the_store
from data.store import Store


@st.cache_data(show_spinner=False, max_entries=64, ttl=HOUR)
def _current_model_id(_store: Store, version: EntitiesVersion) -> str | None:
    from analytics.alerts import current_tagger

    return current_tagger(_store)


def current_model_id() -> str | None:
    """The tagger whose entities the pages show (``explore.current_model_id``, from the
    roll-ups when they decide it: ``analytics.alerts.current_tagger``)."""
    return _current_model_id(the_store(), data_version().entities_version)


@st.cache_data(show_spinner=False, max_entries=64, ttl=HOUR)
def _tagging_progress(
    _store: Store, version: EntitiesVersion, model_id: str | None
) -> tuple[int, int]:
    return explore.tagging_progress(_store, model_id)


def tagging_progress(model_id: str | None) -> tuple[int, int]:
    """(tickets tagged by ``model_id``, all tickets) (``explore.tagging_progress``)."""
    return _tagging_progress(the_store(), data_version().entities_version, model_id)


@st.cache_data(show_spinner=False, max_entries=64, ttl=HOUR)
def _last_tagging_run(_store: Store, version: EntitiesVersion) -> dict[str, Any] | None:
    return explore.last_tagging_run(_store)


def last_tagging_run() -> dict[str, Any] | None:
    """The newest row of ``tagging_runs`` (``explore.last_tagging_run``), or None."""
    return _last_tagging_run(the_store(), data_version().entities_version)


@st.cache_data(show_spinner=False, max_entries=256, ttl=HOUR)
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
        the_store(), data_version().entities_version, filters, model_id, tuple(labels), limit
    )


@st.cache_data(show_spinner=False, max_entries=256, ttl=HOUR)
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
        the_store(), data_version().entities_version, filters, model_id, tuple(labels), top
    )


@st.cache_data(show_spinner=False, max_entries=256, ttl=HOUR)
def _competitor_mentions(
    _store: Store, version: EntitiesVersion, filters: Filters, model_id: str | None
) -> pd.DataFrame:
    return explore.competitor_mentions(_store, filters, model_id)


def competitor_mentions(filters: Filters, model_id: str | None) -> pd.DataFrame:
    """Monthly share of tagged tickets naming a competitor (``explore.competitor_mentions``)."""
    return _competitor_mentions(the_store(), data_version().entities_version, filters, model_id)


#: Ticket lists kept (every session together). Each holds the text of up to 200 tickets of at
#: most 128 KiB (``IngestLimits.max_text_bytes``), so at most 16 × 25 MiB = 400 MiB: any
#: viewer's searches each add one, and 256 of them could hold 6.4 GB.
TICKET_LIST_CACHE_ENTRIES = 16


@st.cache_data(show_spinner=False, max_entries=TICKET_LIST_CACHE_ENTRIES, ttl=HOUR)
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
        the_store(),
        data_version().entities_version,
        filters,
        model_id,
        entity,
        label,
        search,
        tuple(dict.fromkeys(sources)),  # each once: a forged choice can repeat a name
        limit,
    )
