"""Charts of the Overview page: volumes over time and cost to serve per segment."""

from __future__ import annotations

import altair as alt
import pandas as pd


def volume_chart(
    df: pd.DataFrame,
    *,
    x: str = "period",
    y: str = "tickets",
    color: str = "group",
    title: str = "",
    y_title: str | None = None,
    colour_title: str = "",
) -> alt.Chart:
    """Stacked bars of ``y`` per ``x`` (a date) and ``color`` group.

    Example:
        >>> volume_chart(pd.DataFrame({"period": [], "group": [], "tickets": []}))  # doctest: +SKIP
    """
    return (
        alt.Chart(df, title=title)
        .mark_bar()
        .encode(
            x=alt.X(f"{x}:T", title=None),
            y=alt.Y(f"sum({y}):Q", title=y_title or y.replace("_", " ").capitalize()),
            color=alt.Color(f"{color}:N", title=colour_title or None),
            tooltip=[
                alt.Tooltip(f"{x}:T", title="period (UTC)"),
                alt.Tooltip(f"{color}:N"),
                alt.Tooltip(f"sum({y}):Q", title=y, format=",.0f"),
            ],
        )
        .properties(height=280)
    )


def usage_chart(df: pd.DataFrame, *, y: str = "tokens", title: str = "") -> alt.Chart:
    """Monthly usage (``tokens``, ``requests`` or ``revenue``) per group as stacked areas."""
    titles = {"tokens": "Tokens", "requests": "Requests", "revenue": "Revenue (USD)"}
    fmt = "$,.0f" if y == "revenue" else ",.3s"
    tip = "$,.2f" if y == "revenue" else ",.0f"  # hover: money in dollars and cents
    return (
        alt.Chart(df, title=title)
        .mark_area(opacity=0.85)
        .encode(
            x=alt.X("month:T", title=None),
            y=alt.Y(f"{y}:Q", title=titles.get(y, y), stack=True, axis=alt.Axis(format=fmt)),
            color=alt.Color("group:N", title=None),
            tooltip=[
                alt.Tooltip("month:T", format="%Y-%m", title="month (UTC)"),
                alt.Tooltip("group:N"),
                alt.Tooltip(f"{y}:Q", format=tip, title=titles.get(y, y)),
            ],
        )
        .properties(height=280)
    )


def cost_to_serve_chart(df: pd.DataFrame, *, title: str = "") -> alt.LayerChart:
    """Per segment: inference and support cost as stacked bars, revenue as a black tick.

    ``df`` has the columns of ``analytics.explore.cost_to_serve``.
    """
    costs = df.melt(
        id_vars=["segment"],
        value_vars=["gpu_cost", "support_cost"],
        var_name="component",
        value_name="usd",
    )
    costs["component"] = costs["component"].map(
        {"gpu_cost": "Inference (GPU)", "support_cost": "Support"}
    )
    bars = (
        alt.Chart(costs)
        .mark_bar()
        .encode(
            x=alt.X("segment:N", title=None, sort=list(df["segment"]), axis=alt.Axis(labelAngle=0)),
            y=alt.Y("usd:Q", title="USD", stack=True, axis=alt.Axis(format="$,.3s")),
            color=alt.Color(
                "component:N", title=None, scale=alt.Scale(range=["#4c78a8", "#f58518"])
            ),
            tooltip=[
                alt.Tooltip("segment:N"),
                alt.Tooltip("component:N"),
                alt.Tooltip("usd:Q", format="$,.2f", title="cost"),
            ],
        )
    )
    revenue = (
        alt.Chart(df)
        .mark_tick(color="black", thickness=3, size=40)
        .encode(
            x=alt.X("segment:N", sort=list(df["segment"])),
            y=alt.Y("revenue:Q"),
            tooltip=[
                alt.Tooltip("segment:N"),
                alt.Tooltip("revenue:Q", format="$,.2f", title="revenue"),
                alt.Tooltip("margin:Q", format="$,.2f", title="margin"),
                alt.Tooltip("margin_pct:Q", format=".1%", title="margin %"),
            ],
        )
    )
    return alt.layer(bars, revenue, title=title).properties(height=280)
