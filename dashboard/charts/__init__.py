"""Altair chart builders: pure functions from DataFrames to charts (specs testable as data).

Example:
    >>> import pandas as pd
    >>> from dashboard.charts import volume_chart
    >>> spec = volume_chart(pd.DataFrame({"period": [], "group": [], "tickets": []})).to_dict()
"""

from __future__ import annotations

from dashboard.charts.entities import (
    ENTITY_SELECTION,
    competitor_mentions_chart,
    entity_trend_chart,
    top_entities_chart,
)
from dashboard.charts.overview import cost_to_serve_chart, usage_chart, volume_chart

__all__ = [
    "ENTITY_SELECTION",
    "competitor_mentions_chart",
    "cost_to_serve_chart",
    "entity_trend_chart",
    "top_entities_chart",
    "usage_chart",
    "volume_chart",
]
