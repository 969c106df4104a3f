"""Altair chart builders: pure functions from DataFrames to charts (specs testable as data).

Example:
    >>> import pandas as pd
    >>> from dashboard.charts import volume_chart
    >>> spec = volume_chart(pd.DataFrame({"period": [], "group": [], "tickets": []})).to_dict()
"""

from __future__ import annotations

import re
from typing import Any

from dashboard.charts.entities import (
    ENTITY_SELECTION,
    competitor_mentions_chart,
    entity_trend_chart,
    top_entities_chart,
)
from dashboard.charts.overview import cost_to_serve_chart, usage_chart, volume_chart
from dashboard.charts.pricing import (
    heatmap_chart,
    monte_carlo_chart,
    profit_curve_chart,
    revenue_cost_chart,
    tornado_chart,
)
from dashboard.charts.war import (
    comparison_chart,
    equilibrium_chart,
    positioning_chart,
    segment_optima_chart,
    strategies_chart,
)

__all__ = [
    "ENTITY_SELECTION",
    "XML_INVALID",
    "comparison_chart",
    "competitor_mentions_chart",
    "cost_to_serve_chart",
    "entity_trend_chart",
    "equilibrium_chart",
    "heatmap_chart",
    "monte_carlo_chart",
    "positioning_chart",
    "profit_curve_chart",
    "revenue_cost_chart",
    "segment_optima_chart",
    "strategies_chart",
    "top_entities_chart",
    "tornado_chart",
    "usage_chart",
    "volume_chart",
    "xml_safe",
]


#: Characters XML 1.0 does not allow (C0 controls but tab and line breaks, lone surrogates,
#: U+FFFE and U+FFFF): an SVG renderer refuses them.
XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(value: Any) -> Any:
    r"""``value`` (a chart spec: dicts, lists, text, numbers) with every character that XML
    forbids in its texts and keys replaced by U+FFFD, for renderers that go through SVG.

    Example:
        >>> xml_safe({"title": "a\x1bb", "data": [1, "c\x00"]}) == {
        ...     "title": "a\ufffdb", "data": [1, "c\ufffd"]}
        True
    """
    if isinstance(value, str):
        return XML_INVALID.sub("\ufffd", value)
    if isinstance(value, dict):
        return {xml_safe(k): xml_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [xml_safe(v) for v in value]
    return value
