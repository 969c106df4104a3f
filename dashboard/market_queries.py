"""The pricing inputs measured from the store, cached: the starting scenario, the rivals,
the positioning map and the competitor pressure.

They read the tagger's competitor mentions, which every tagging batch changes: their
:class:`~dashboard.data_versions.MarketVersion` moves once per window of
``MARKET_REFRESH_WHILE_TAGGING`` seconds while tagging runs.

Example:
    >>> default_scenario("enterprise").segment                    # doctest: +SKIP
    'enterprise'
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from dashboard.data_versions import HOUR, MarketVersion, market_version, the_store
from data.store import Store

if TYPE_CHECKING:
    from analytics.scenario import Scenario
    from analytics.scenario_parts import Competitor

#: The facade's name, kept: logging set up for the pages' reads still sees these records.
log = logging.getLogger("dashboard.queries")


@st.cache_data(show_spinner=False, max_entries=32, ttl=HOUR)
def _default_scenario(_store: Store, version: MarketVersion, segment: str | None) -> Scenario:
    from analytics import default_scenario as measured

    return measured(_store, segment)


def default_scenario(segment: str | None = None) -> Scenario:
    """The starting scenario, every input measured from the store where the data allow
    (``analytics.default_scenario``); the documented defaults when that fails (logged)."""
    from analytics.scenario import Scenario

    try:
        return _default_scenario(the_store(), market_version(), segment)
    except Exception:  # the documented defaults still work; the log says why
        log.exception("could not measure the default scenario from the store")
        return Scenario(segment=segment)


@st.cache_data(show_spinner=False, max_entries=64, ttl=HOUR)
def _default_competitors(
    _store: Store, version: MarketVersion, reference_price: float, our_share: float
) -> tuple[Competitor, ...]:
    from analytics import default_competitors as rivals

    return rivals(_store, reference_price=reference_price, our_share=our_share)


def default_competitors(reference_price: float, our_share: float) -> tuple[Competitor, ...]:
    """The rivals from the real list prices (per vendor the model priced closest to
    ``reference_price``) with assumed shares (``analytics.default_competitors``)."""
    return _default_competitors(
        the_store(), market_version(), float(reference_price), float(our_share)
    )


@st.cache_data(show_spinner=False, max_entries=32, ttl=HOUR)
def _positioning_map(
    _store: Store, version: MarketVersion, max_price: float | None
) -> pd.DataFrame:
    from analytics.positioning import positioning_map as build

    return build(_store, max_price=max_price)


def positioning_map(max_price: float | None = None) -> pd.DataFrame:
    """Our plans and the competitors' models, price against tier
    (``analytics.positioning.positioning_map``)."""
    return _positioning_map(the_store(), market_version(), max_price)


@st.cache_data(show_spinner=False, max_entries=16, ttl=HOUR)
def _competitor_mention_rates(
    _store: Store, version: MarketVersion, model_id: str | None
) -> pd.DataFrame:
    from analytics.signals import competitor_mention_rates

    return competitor_mention_rates(_store, model_id=model_id)


@st.cache_data(show_spinner=False, max_entries=16, ttl=HOUR)
def _competitor_pressure(
    _store: Store, version: MarketVersion, model_id: str | None
) -> pd.DataFrame:
    from analytics.signals import competitor_pressure as pressure

    # the mention-rate query is the costly part on a large store: read once, cached
    rates = _competitor_mention_rates(_store, version, model_id)
    return pressure(_store, model_id=model_id, rates=rates)


def competitor_pressure(model_id: str | None = None) -> pd.DataFrame:
    """Competitor-mention pressure per segment (``analytics.signals.competitor_pressure``)."""
    return _competitor_pressure(the_store(), market_version(), model_id)
