"""Charts of the Price war & positioning and Scenarios pages."""

from __future__ import annotations

import altair as alt
import pandas as pd

#: Axis title and number format of ``equilibrium_chart`` per value (units in the title).
EQUILIBRIUM_AXES: dict[str, tuple[str, str]] = {
    "price": ("Price, USD per 1M tokens", "$.3f"),
    "share": ("Market share, %", ".1%"),
    "profit": ("Profit, USD/month (before fixed costs)", "$,.3s"),
}
_WHEN = ["before the cut", "after the cut"]


def equilibrium_chart(table: pd.DataFrame, *, value: str = "price", title: str = "") -> alt.Chart:
    """Before/after bars per firm for ``price``, ``share`` or ``profit``.

    Horizontal bars, one band per firm on the y axis, so every firm's name shows however
    many firms there are and however long their names (labels are never dropped for
    overlap, up to 280 px wide); the value axis is titled with its unit.

    ``table`` is ``PriceCutResult.table`` (``firm``, ``<value>_before``, ``<value>_after``).
    """
    long = pd.concat(
        [
            pd.DataFrame(
                {"firm": table["firm"], "when": _WHEN[0], "value": table[f"{value}_before"]}
            ),
            pd.DataFrame(
                {"firm": table["firm"], "when": _WHEN[1], "value": table[f"{value}_after"]}
            ),
        ]
    )
    axis_title, fmt = EQUILIBRIUM_AXES.get(value, (value.replace("_", " ").capitalize(), ",.3f"))
    return (
        alt.Chart(long, title=title)
        .mark_bar()
        .encode(
            y=alt.Y(
                "firm:N",
                title=None,
                sort=list(table["firm"]),
                axis=alt.Axis(labelOverlap=False, labelLimit=280),
            ),
            yOffset=alt.YOffset("when:N", sort=_WHEN),
            x=alt.X("value:Q", title=axis_title, axis=alt.Axis(format=fmt)),
            color=alt.Color(
                "when:N",
                title=None,
                sort=_WHEN,
                scale=alt.Scale(range=["#bab0ac", "#4c78a8"]),
                legend=alt.Legend(orient="top"),
            ),
            tooltip=[
                alt.Tooltip("firm:N", title="Firm"),
                alt.Tooltip("when:N", title="When"),
                alt.Tooltip("value:Q", format=fmt, title=axis_title),
            ],
        )
        .properties(height=alt.Step(26, **{"for": "position"}))
    )


def strategies_chart(table: pd.DataFrame, *, title: str = "") -> alt.Chart:
    """Our monthly profit under each strategy (``StrategyComparison.table``)."""
    return (
        alt.Chart(table, title=title)
        .mark_bar()
        .encode(
            x=alt.X(
                "strategy:N", title=None, sort=list(table["strategy"]), axis=alt.Axis(labelAngle=0)
            ),
            y=alt.Y(
                "our_profit:Q", title="Our profit, USD per month", axis=alt.Axis(format="$,.3s")
            ),
            color=alt.ColorValue(
                **alt.condition(
                    alt.datum.our_profit >= 0, alt.value("#4c78a8"), alt.value("#e45756")
                )
            ),
            tooltip=[
                alt.Tooltip("strategy:N"),
                alt.Tooltip("our_price:Q", format="$.3f"),
                alt.Tooltip("our_share:Q", format=".1%"),
                alt.Tooltip("our_profit:Q", format="$,.0f"),
                alt.Tooltip("description:N"),
            ],
        )
        .properties(height=260)
    )


def positioning_chart(df: pd.DataFrame, *, title: str = "") -> alt.LayerChart:
    """Positioning map: price (x, log) against quality (y); ours as red labelled diamonds.

    ``df`` has ``name``, ``price``, ``quality`` and ``kind`` ("us" or "competitor"); an
    optional ``mention_share`` sizes the competitors (measured pressure), an optional
    ``vendor`` shows in the tooltip. Competitors get a small deterministic vertical spread
    (``y_plot``) so that models on the same tier do not hide each other; our own points are
    stacked apart likewise.
    """
    data = df.reset_index(drop=True).copy()
    if "mention_share" not in data:
        data["mention_share"] = 0.0
    if "vendor" not in data:
        data["vendor"] = data["name"]
    spread = ((data.index.to_series() * 0.618034) % 1.0 - 0.5) * 0.35
    is_us = data["kind"] == "us"
    rank = is_us.cumsum() - 1  # our points are stacked apart so their labels stay readable
    ours = (rank - (int(is_us.sum()) - 1) / 2.0) * 0.2
    data["y_plot"] = data["quality"] + spread.where(~is_us, ours)
    x = alt.X("price:Q", title="Price, USD per 1M tokens (log scale)", scale=alt.Scale(type="log"))
    y = alt.Y(
        "y_plot:Q",
        title="Quality tier (−1 budget, 0 mid, +1 frontier)",
        scale=alt.Scale(padding=14),
    )
    tooltip = [
        alt.Tooltip("name:N"),
        alt.Tooltip("vendor:N"),
        alt.Tooltip("price:Q", format="$.3f"),
        alt.Tooltip("quality:Q", format=".1f"),
        alt.Tooltip("mention_share:Q", format=".1%", title="mentioned in"),
    ]
    base = alt.Chart(data)
    them = (
        base.transform_filter(alt.datum.kind == "competitor")
        .mark_circle(color="#4c78a8", opacity=0.55)
        .encode(
            x=x,
            y=y,
            tooltip=tooltip,
            size=alt.Size(
                "mention_share:Q",
                title="Mentioned in tickets",
                scale=alt.Scale(range=[40, 600]),
                legend=alt.Legend(format=".0%"),
            ),
        )
    )
    us = base.transform_filter(alt.datum.kind == "us")
    ours = us.mark_point(shape="diamond", filled=True, size=220, color="#e45756").encode(
        x=x, y=y, tooltip=tooltip
    )
    labels = us.mark_text(
        align="left", dx=9, fontSize=12, fontWeight="bold", color="#e45756"
    ).encode(x=x, y=y, text=alt.Text("name:N"))
    return alt.layer(them, ours, labels, title=title).properties(height=400)


def segment_optima_chart(df: pd.DataFrame, *, title: str = "") -> alt.LayerChart:
    """Optimal price per segment (bars) with today's price as a black tick when given.

    ``df`` has ``segment``, ``optimal_price`` and optionally ``price_per_m`` (today),
    ``profit`` and ``elasticity`` (tooltip).
    """
    tooltip = [alt.Tooltip("segment:N"), alt.Tooltip("optimal_price:Q", format="$.3f")]
    tooltip += [
        alt.Tooltip(f"{c}:Q", format=",.3f")
        for c in ("price_per_m", "profit", "elasticity")
        if c in df
    ]
    x = alt.X("segment:N", title=None, axis=alt.Axis(labelAngle=0))
    bars = (
        alt.Chart(df)
        .mark_bar(color="#54a24b")
        .encode(x=x, y=alt.Y("optimal_price:Q", title="USD per 1M tokens"), tooltip=tooltip)
    )
    layers = [bars]
    if "price_per_m" in df:
        layers.append(
            alt.Chart(df)
            .mark_tick(color="black", thickness=3, size=60)
            .encode(x=x, y=alt.Y("price_per_m:Q"), tooltip=tooltip)
        )
    return alt.layer(*layers, title=title).properties(height=240)


def comparison_chart(df: pd.DataFrame, *, value: str = "profit", title: str = "") -> alt.Chart:
    """One bar per scenario for a headline result (``scenario`` and ``value`` columns)."""
    return (
        alt.Chart(df, title=title)
        .mark_bar()
        .encode(
            x=alt.X("scenario:N", title=None, sort=list(df["scenario"])),
            y=alt.Y("value:Q", title=value.replace("_", " ").capitalize()),
            tooltip=[alt.Tooltip("scenario:N"), alt.Tooltip("value:Q", format=",.3f")],
        )
        .properties(height=240)
    )
