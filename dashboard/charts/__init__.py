"""Altair chart builders: pure functions from DataFrames to charts (specs testable as data),
and their specs and PNGs built once per input for every session (``chart_spec``, ``chart_png``).

Modules, one per page's charts: ``overview`` (volumes over time, cost to serve per segment),
``entities`` (top entities, trends, competitor mentions against price cuts), ``pricing`` (the
what-if's profit curve, revenue and cost, tornado, heat map, Monte Carlo histogram),
``war`` (the Price war & positioning and Scenarios pages), ``signals`` (negative share per
period with the alerts); and ``spec`` (the specs and PNGs shared by every session),
``safe`` (specs made safe for renderers that go through SVG).

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
from dashboard.charts.pricing import (
    heatmap_chart,
    monte_carlo_chart,
    profit_curve_chart,
    revenue_cost_chart,
    tornado_chart,
)
from dashboard.charts.safe import XML_INVALID, xml_safe
from dashboard.charts.signals import negative_share_chart
from dashboard.charts.spec import chart_png, chart_spec, vega_lite_spec
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
    "chart_png",
    "chart_spec",
    "comparison_chart",
    "competitor_mentions_chart",
    "cost_to_serve_chart",
    "entity_trend_chart",
    "equilibrium_chart",
    "heatmap_chart",
    "monte_carlo_chart",
    "negative_share_chart",
    "positioning_chart",
    "profit_curve_chart",
    "revenue_cost_chart",
    "segment_optima_chart",
    "strategies_chart",
    "top_entities_chart",
    "tornado_chart",
    "usage_chart",
    "vega_lite_spec",
    "volume_chart",
    "xml_safe",
]
