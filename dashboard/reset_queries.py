"""The Settings page's cached read: what a reset can remove (``data.reset``).

Example:
    >>> reset_targets()                                            # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard.data_versions import HOUR, DataVersion, data_version, the_store
from data.store import Store


@st.cache_data(show_spinner=False, max_entries=16, ttl=HOUR)
def _reset_targets(_store: Store, version: DataVersion, runs: int, scenarios: int) -> Any:
    from data.reset_targets import reset_targets as targets

    return targets(_store)


def reset_targets() -> Any:
    """What a reset can remove (``data.reset_targets.reset_targets``: from the roll-ups, a few
    milliseconds, whenever they answer exactly), read again when the data version, the
    number of tagging runs or of saved scenarios changes."""
    store = the_store()
    runs, scenarios = store.fetchall(
        "SELECT (SELECT count(*) FROM tagging_runs), (SELECT count(*) FROM scenarios)"
    )[0]
    return _reset_targets(store, data_version(), int(runs), int(scenarios))
