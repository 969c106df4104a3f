"""Charts of the Entities page: top entities, trends, competitor mentions vs price cuts."""

from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd

LABEL_DOMAIN = ["ORG", "PRODUCT", "PER", "LOC"]
LABEL_RANGE = ["#4c78a8", "#f58518", "#54a24b", "#b279a2"]
ENTITY_SELECTION = "pick"


def top_entities_chart(df: pd.DataFrame, *, title: str = "") -> alt.Chart:
    """Horizontal bars of mentions per entity, coloured by label; click selects an entity.

    The point selection is named ``pick`` over ``label`` and ``entity``, so
    ``st.altair_chart(..., on_select="rerun")`` reports the clicked entity.
    """
    pick = alt.selection_point(
        name=ENTITY_SELECTION, fields=["label", "entity"], on="click", clear="dblclick"
    )
    return (
        alt.Chart(df, title=title)
        .mark_bar()
        .encode(
            y=alt.Y(
                "entity:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False, labelLimit=170)
            ),
            x=alt.X("mentions:Q", title="Mentions"),
            color=alt.Color(
                "label:N", title="Type", scale=alt.Scale(domain=LABEL_DOMAIN, range=LABEL_RANGE)
            ),
            opacity=alt.OpacityValue(**alt.condition(pick, alt.value(1.0), alt.value(0.35))),
            tooltip=[
                alt.Tooltip("label:N"),
                alt.Tooltip("entity:N"),
                alt.Tooltip("mentions:Q"),
                alt.Tooltip("tickets:Q", title="tickets"),
            ],
        )
        .add_params(pick)
        .properties(height=alt.Step(20))
    )


def entity_trend_chart(df: pd.DataFrame, *, title: str = "") -> alt.Chart:
    """Monthly mentions per entity as lines (columns ``month``, ``entity``, ``mentions``)."""
    return (
        alt.Chart(df, title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X("month:T", title=None),
            y=alt.Y("mentions:Q", title="Mentions per month"),
            color=alt.Color("entity:N", title=None),
            tooltip=[
                alt.Tooltip("month:T", format="%Y-%m"),
                alt.Tooltip("entity:N"),
                alt.Tooltip("label:N"),
                alt.Tooltip("mentions:Q"),
            ],
        )
        .properties(height=260)
    )


def competitor_mentions_chart(
    mentions: pd.DataFrame,
    cuts: pd.DataFrame,
    *,
    title: str = "",
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> alt.LayerChart:
    """Share of tagged tickets mentioning each competitor per month, with price cuts as rules.

    ``mentions``: ``month``, ``vendor``, ``rate``, ``tickets``; ``cuts``: ``date``,
    ``vendor``, ``label`` (one row per real price cut, drawn as a dashed vertical rule).
    Only the cuts from ``start`` to ``end`` (default: the first to the last day of the
    months in ``mentions``) are drawn, so cuts outside the period never stretch the axis.
    Dates are UTC days.
    """
    cuts = cuts_in_period(cuts, mentions, start=start, end=end)
    lines = (
        alt.Chart(mentions)
        .mark_line(point=True)
        .encode(
            x=alt.X("month:T", title=None),
            y=alt.Y("rate:Q", title="Tickets mentioning (share)", axis=alt.Axis(format="%")),
            color=alt.Color("vendor:N", title="Competitor"),
            tooltip=[
                alt.Tooltip("month:T", format="%Y-%m", title="month (UTC)"),
                alt.Tooltip("vendor:N"),
                alt.Tooltip("rate:Q", format=".1%"),
                alt.Tooltip("tickets:Q"),
            ],
        )
    )
    rules = (
        alt.Chart(cuts)
        .mark_rule(strokeDash=[4, 3], color="#d62728", opacity=0.7)
        .encode(
            x=alt.X("date:T"),
            tooltip=[
                alt.Tooltip("date:T", title="price cut"),
                alt.Tooltip("vendor:N"),
                alt.Tooltip("label:N", title="what"),
            ],
        )
    )
    return alt.layer(rules, lines, title=title).properties(height=300)


def cuts_in_period(
    cuts: pd.DataFrame,
    mentions: pd.DataFrame,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pd.DataFrame:
    """The rows of ``cuts`` dated from ``start`` to ``end`` inclusive; a missing bound is
    the first day of the first month (or the last day of the last month) in ``mentions``."""
    months = (
        pd.to_datetime(mentions["month"]) if len(mentions) else pd.Series(dtype="datetime64[ns]")
    )
    lo = pd.Timestamp(start) if start is not None else (months.min() if len(months) else None)
    hi = (
        pd.Timestamp(end)
        if end is not None
        else (months.max() + pd.offsets.MonthEnd(0) if len(months) else None)
    )
    dates = pd.to_datetime(cuts["date"])
    keep = pd.Series(True, index=cuts.index)
    if lo is not None:
        keep &= dates >= lo
    if hi is not None:
        keep &= dates < hi + pd.Timedelta(days=1)
    return cuts[keep].reset_index(drop=True)
