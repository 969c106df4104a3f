"""The sidebar's and the Overview's cached reads: tickets, usage and customers.

Each public function fetches the store and the :class:`~dashboard.data_versions.BusinessVersion`
(tagging leaves it alone) and calls its ``st.cache_data`` twin over ``analytics.explore``.

Example:
    >>> from analytics.explore import Filters
    >>> kpis(Filters())                                            # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from analytics import explore
from analytics.explore import CostRates, Filters
from dashboard.data_versions import HOUR, BusinessVersion, data_version, the_store
from data.store import Store


@st.cache_data(show_spinner=False, max_entries=64, ttl=HOUR)
def _filter_options(_store: Store, version: BusinessVersion) -> dict[str, list[str]]:
    return explore.filter_options(_store)


def filter_options() -> dict[str, list[str]]:
    """The sidebar's choices (``explore.filter_options``): segments, plans, regions."""
    return _filter_options(the_store(), data_version().business)


@st.cache_data(show_spinner=False, max_entries=64, ttl=HOUR)
def _date_bounds(_store: Store, version: BusinessVersion) -> tuple[dt.date, dt.date] | None:
    return explore.date_bounds(_store)


def date_bounds() -> tuple[dt.date, dt.date] | None:
    """First and last day with tickets or usage (``explore.date_bounds``); None if empty."""
    return _date_bounds(the_store(), data_version().business)


@st.cache_data(show_spinner=False, max_entries=256, ttl=HOUR)
def _resolve_period(_store: Store, version: BusinessVersion, filters: Filters) -> Filters:
    return explore.resolve_period(_store, filters)


def resolve_period(filters: Filters) -> Filters:
    """``filters`` with the period the data covers filled in (``explore.resolve_period``)."""
    return _resolve_period(the_store(), data_version().business, filters)


@st.cache_data(show_spinner=False, max_entries=256, ttl=HOUR)
def _kpis(
    _store: Store, version: BusinessVersion, filters: Filters, rates: CostRates | None
) -> pd.DataFrame:
    return explore.kpis(_store, filters, rates)


def kpis(filters: Filters, rates: CostRates | None = None) -> pd.DataFrame:
    """The Overview's KPIs against the previous period (``explore.kpis``)."""
    return _kpis(the_store(), data_version().business, filters, rates)


@st.cache_data(show_spinner=False, max_entries=256, ttl=HOUR)
def _ticket_volume(
    _store: Store, version: BusinessVersion, filters: Filters, by: str, grain: str
) -> pd.DataFrame:
    return explore.ticket_volume(_store, filters, by=by, grain=grain)  # type: ignore[arg-type]


def ticket_volume(filters: Filters, by: str = "channel", grain: str = "month") -> pd.DataFrame:
    """Tickets per period and group (``explore.ticket_volume``)."""
    return _ticket_volume(the_store(), data_version().business, filters, by, grain)


@st.cache_data(show_spinner=False, max_entries=256, ttl=HOUR)
def _usage_volume(
    _store: Store, version: BusinessVersion, filters: Filters, by: str
) -> pd.DataFrame:
    return explore.usage_volume(_store, filters, by=by)


def usage_volume(filters: Filters, by: str = "segment") -> pd.DataFrame:
    """Usage per month and group (``explore.usage_volume``)."""
    return _usage_volume(the_store(), data_version().business, filters, by)


@st.cache_data(show_spinner=False, max_entries=256, ttl=HOUR)
def _cost_to_serve(
    _store: Store, version: BusinessVersion, filters: Filters, rates: CostRates | None
) -> pd.DataFrame:
    return explore.cost_to_serve(_store, filters, rates)


def cost_to_serve(filters: Filters, rates: CostRates | None = None) -> pd.DataFrame:
    """Revenue, GPU and support cost per segment (``explore.cost_to_serve``)."""
    return _cost_to_serve(the_store(), data_version().business, filters, rates)


@st.cache_data(show_spinner=False, max_entries=16, ttl=HOUR)
def _sources(_store: Store, version: BusinessVersion) -> pd.DataFrame:
    return explore.sources(_store)


def sources() -> pd.DataFrame:
    """Uploaded sources, newest first (``explore.sources``)."""
    return _sources(the_store(), data_version().business)
