"""The Signals page's chart: negative share per period with the alerts' first periods."""

from __future__ import annotations

import altair as alt
import pandas as pd


def negative_share_chart(
    share: pd.DataFrame, marks: pd.DataFrame, *, freq: str = "week"
) -> alt.LayerChart:
    """Negative share per period and value (lines), the alerts' first periods as red rules.

    ``share``: ``period``, ``value``, ``share``, ``negative``, ``tickets`` (one row per period
    and value); ``marks``: ``alert``, ``since`` (one dashed rule per alert); ``freq``: ``day``
    or ``week``, named in the axis title.
    """
    lines = (
        alt.Chart(share)
        .mark_line(point=True)
        .encode(
            x=alt.X("period:T", title=None),
            y=alt.Y(
                "share:Q", title=f"Negative share of tickets per {freq}", axis=alt.Axis(format="%")
            ),
            color=alt.Color("value:N", title=None),
            tooltip=[
                alt.Tooltip("period:T", format="%Y-%m-%d"),
                alt.Tooltip("value:N"),
                alt.Tooltip("share:Q", format=".0%"),
                alt.Tooltip("negative:Q"),
                alt.Tooltip("tickets:Q"),
            ],
        )
    )
    rules = (
        alt.Chart(marks)
        .mark_rule(color="#d62728", strokeDash=[4, 3])
        .encode(
            x=alt.X("since:T"),
            tooltip=[alt.Tooltip("alert:N"), alt.Tooltip("since:T", format="%Y-%m-%d")],
        )
    )
    return alt.layer(lines, rules).properties(height=300)
