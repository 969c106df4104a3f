"""Charts of the Price war & positioning and Scenarios pages."""

from __future__ import annotations

import altair as alt
import pandas as pd


def equilibrium_chart(table: pd.DataFrame, *, value: str = "price", title: str = "") -> alt.Chart:
    """Before/after bars per firm for ``price``, ``share`` or ``profit``.

    ``table`` is ``PriceCutResult.table`` (``firm``, ``<value>_before``, ``<value>_after``).
    """
    long = pd.concat([
        pd.DataFrame({"firm": table["firm"], "when": "before the cut",
                      "value": table[f"{value}_before"]}),
        pd.DataFrame({"firm": table["firm"], "when": "after the cut",
                      "value": table[f"{value}_after"]}),
    ])
    fmt = {"price": "$.3f", "share": ".1%", "profit": "$,.3s"}.get(value, ",.3f")
    return alt.Chart(long, title=title).mark_bar().encode(
        x=alt.X("firm:N", title=None, sort=list(table["firm"])),
        xOffset=alt.XOffset("when:N", sort=["before the cut", "after the cut"]),
        y=alt.Y("value:Q", title=value.capitalize(), axis=alt.Axis(format=fmt)),
        color=alt.Color("when:N", title=None, sort=["before the cut", "after the cut"],
                        scale=alt.Scale(range=["#bab0ac", "#4c78a8"])),
        tooltip=["firm:N", "when:N", alt.Tooltip("value:Q", format=fmt)],
    ).properties(height=260)


def strategies_chart(table: pd.DataFrame, *, title: str = "") -> alt.Chart:
    """Our monthly profit under each strategy (``StrategyComparison.table``)."""
    return alt.Chart(table, title=title).mark_bar().encode(
        x=alt.X("strategy:N", title=None, sort=list(table["strategy"])),
        y=alt.Y("our_profit:Q", title="Our profit, USD per month", axis=alt.Axis(format="$,.3s")),
        color=alt.condition(alt.datum.our_profit >= 0, alt.value("#4c78a8"),
                            alt.value("#e45756")),
        tooltip=["strategy:N", alt.Tooltip("our_price:Q", format="$.3f"),
                 alt.Tooltip("our_share:Q", format=".1%"),
                 alt.Tooltip("our_profit:Q", format="$,.0f"), "description:N"],
    ).properties(height=260)


def positioning_chart(df: pd.DataFrame, *, title: str = "") -> alt.LayerChart:
    """Positioning map: price (x, log) against quality (y); ours in red and labelled.

    ``df`` has ``name``, ``price``, ``quality`` and ``kind`` ("us" or "competitor"); an
    optional ``mention_share`` sizes the competitors (measured pressure), an optional
    ``vendor`` shows in the tooltip.
    """
    data = df.copy()
    if "mention_share" not in data:
        data["mention_share"] = 0.0
    if "vendor" not in data:
        data["vendor"] = data["name"]
    base = alt.Chart(data)
    points = base.mark_circle(opacity=0.8).encode(
        x=alt.X("price:Q", title="Price, USD per 1M tokens (log scale)",
                scale=alt.Scale(type="log")),
        y=alt.Y("quality:Q", title="Quality tier", scale=alt.Scale(padding=12)),
        color=alt.Color("kind:N", title=None, scale=alt.Scale(domain=["us", "competitor"],
                                                              range=["#e45756", "#4c78a8"])),
        size=alt.Size("mention_share:Q", title="Mentioned in tickets",
                      scale=alt.Scale(range=[40, 600]), legend=alt.Legend(format=".0%")),
        tooltip=["name:N", "vendor:N", "kind:N", alt.Tooltip("price:Q", format="$.3f"),
                 alt.Tooltip("quality:Q", format=".1f"),
                 alt.Tooltip("mention_share:Q", format=".1%", title="mentioned in")],
    )
    labels = base.transform_filter(alt.datum.kind == "us").mark_text(
        align="left", dx=8, fontSize=12, fontWeight="bold", color="#e45756").encode(
        x="price:Q", y="quality:Q", text="name:N")
    return alt.layer(points, labels, title=title).properties(height=380)


def segment_optima_chart(df: pd.DataFrame, *, title: str = "") -> alt.Chart:
    """Optimal price per segment (bars) with the profit there in the tooltip.

    ``df`` has ``segment``, ``optimal_price`` and optionally ``profit``, ``elasticity``.
    """
    tooltip = ["segment:N", alt.Tooltip("optimal_price:Q", format="$.3f")]
    tooltip += [alt.Tooltip(f"{c}:Q", format=",.3f") for c in ("profit", "elasticity")
                if c in df]
    return alt.Chart(df, title=title).mark_bar().encode(
        x=alt.X("segment:N", title=None),
        y=alt.Y("optimal_price:Q", title="Optimal price, USD per 1M tokens"),
        tooltip=tooltip,
    ).properties(height=240)


def comparison_chart(df: pd.DataFrame, *, value: str = "profit", title: str = "") -> alt.Chart:
    """One bar per scenario for a headline result (``scenario`` and ``value`` columns)."""
    return alt.Chart(df, title=title).mark_bar().encode(
        x=alt.X("scenario:N", title=None, sort=list(df["scenario"])),
        y=alt.Y("value:Q", title=value.replace("_", " ").capitalize()),
        tooltip=["scenario:N", alt.Tooltip("value:Q", format=",.3f")],
    ).properties(height=240)
