"""Charts of the Pricing what-if page: profit curve, revenue and cost, tornado, heat map,
Monte Carlo histogram."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd


def _markers(points: Sequence[tuple[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"what": w, "price": float(p)} for w, p in points if p is not None],
        columns=["what", "price"],
    )


def profit_curve_chart(
    curve: pd.DataFrame,
    *,
    price: float,
    optimum: float | None = None,
    break_even: Sequence[float] = (),
    title: str = "",
) -> alt.LayerChart:
    """Monthly profit against price, with our price, the optimum and break-even prices.

    ``curve`` has ``price`` and ``profit`` columns (``ProfitCurve.to_frame()``). The x axis
    is the curve's price range (markers outside it are left out); the y axis is clipped at
    twice the best profit below zero, so a steep loss at very low prices does not flatten
    the interesting part.
    """
    lo, hi = float(curve["price"].min()), float(curve["price"].max())
    points = [("our price", price)]
    if optimum is not None:
        points.append(("optimum", optimum))
    points += [("break-even", b) for b in break_even]
    marks = _markers([(w, p) for w, p in points if p is not None and lo <= p <= hi])
    top = float(curve["profit"].max())
    bottom = float(curve["profit"].min())
    floor = max(bottom, -2.0 * abs(top)) if top > 0 else bottom
    y_scale = alt.Scale(domain=[floor, top + 0.1 * abs(top - floor)], nice=False)
    x_scale = alt.Scale(domain=[lo, hi], nice=False)
    line = (
        alt.Chart(curve)
        .mark_line(color="#4c78a8", strokeWidth=2.5, clip=True)
        .encode(
            x=alt.X("price:Q", title="Price, USD per 1M tokens", scale=x_scale),
            y=alt.Y(
                "profit:Q",
                title="Profit, USD per month",
                axis=alt.Axis(format="$,.3s"),
                scale=y_scale,
            ),
            tooltip=[
                alt.Tooltip("price:Q", format="$.3f"),
                alt.Tooltip("profit:Q", format="$,.0f"),
            ],
        )
    )
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color="#999").encode(y=alt.Y("y:Q"))
    rules = (
        alt.Chart(marks)
        .mark_rule(strokeWidth=2)
        .encode(
            x=alt.X("price:Q"),
            color=alt.Color(
                "what:N",
                title=None,
                scale=alt.Scale(
                    domain=["our price", "optimum", "break-even"],
                    range=["#f58518", "#54a24b", "#e45756"],
                ),
            ),
            strokeDash=alt.StrokeDashValue(
                **alt.condition(
                    alt.datum.what == "break-even", alt.value([5, 3]), alt.value([1, 0])
                )
            ),
            tooltip=[alt.Tooltip("what:N"), alt.Tooltip("price:Q", format="$.3f")],
        )
    )
    return alt.layer(zero, line, rules, title=title).properties(height=300)


def revenue_cost_chart(curve: pd.DataFrame, *, title: str = "") -> alt.Chart:
    """Revenue, variable cost and total cost against price (``ProfitCurve.to_frame()``)."""
    long = curve.melt(
        id_vars=["price"],
        value_vars=["revenue", "variable_cost", "total_cost"],
        var_name="series",
        value_name="usd",
    )
    long["series"] = long["series"].map(
        {"revenue": "Revenue", "variable_cost": "Variable cost", "total_cost": "Total cost"}
    )
    return (
        alt.Chart(long, title=title)
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("price:Q", title="Price, USD per 1M tokens"),
            y=alt.Y("usd:Q", title="USD per month", axis=alt.Axis(format="$,.3s")),
            color=alt.Color(
                "series:N",
                title=None,
                scale=alt.Scale(
                    domain=["Revenue", "Variable cost", "Total cost"],
                    range=["#54a24b", "#f58518", "#e45756"],
                ),
            ),
            tooltip=[
                alt.Tooltip("series:N"),
                alt.Tooltip("price:Q", format="$.3f"),
                alt.Tooltip("usd:Q", format="$,.0f"),
            ],
        )
        .properties(height=300)
    )


def tornado_chart(df: pd.DataFrame, *, title: str = "") -> alt.LayerChart:
    """Tornado: profit when each input moves down (left colour) or up, sorted by impact.

    ``df`` has the columns of ``analytics.sensitivity.tornado``.
    """
    order = list(df["label"])
    long = pd.concat(
        [
            df.assign(move="input down", output=df["low_output"]),
            df.assign(move="input up", output=df["high_output"]),
        ]
    )[["label", "move", "output", "base_output", "low_value", "high_value", "impact"]]
    base = float(df["base_output"].iloc[0]) if len(df) else 0.0
    bars = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", sort=order, title=None),
            x=alt.X("output:Q", title="Profit, USD per month", axis=alt.Axis(format="$,.3s")),
            x2=alt.X2("base_output:Q"),
            color=alt.Color(
                "move:N",
                title=None,
                scale=alt.Scale(domain=["input down", "input up"], range=["#e45756", "#4c78a8"]),
            ),
            tooltip=[
                alt.Tooltip("label:N"),
                alt.Tooltip("move:N"),
                alt.Tooltip("output:Q", format="$,.0f"),
                alt.Tooltip("impact:Q", format="$,.0f"),
            ],
        )
    )
    rule = alt.Chart(pd.DataFrame({"x": [base]})).mark_rule(color="black").encode(x=alt.X("x:Q"))
    return alt.layer(bars, rule, title=title).properties(height=alt.Step(22))


def heatmap_chart(
    long: pd.DataFrame,
    *,
    x: str = "price",
    y: str = "unit_cost",
    x_title: str = "Price, USD per 1M tokens",
    y_title: str = "Unit cost, USD per 1M tokens",
    value: str = "profit",
    value_title: str = "Profit, USD/month",
    title: str = "",
) -> alt.Chart:
    """A two-input data table as a heat map: ``x`` × ``y`` → ``value``, red below zero.

    The colour scale is symmetric around zero and saturates at the 10th/90th percentile;
    empty cells (inputs that make no valid scenario) are left out.

    ``long`` has the ``x``, ``y`` and ``value`` columns (one row per cell,
    ``analytics.sensitivity.table_to_long``).
    """
    df = long.dropna(subset=[value]).copy()
    df["x_label"] = df[x].map(lambda v: f"{v:.3g}")
    df["y_label"] = df[y].map(lambda v: f"{v:.3g}")
    # Symmetric colours around zero, saturating at the 10th/90th percentile so a few huge
    # losses at extreme inputs do not wash out the rest of the table.
    lo, hi = (float(df[value].quantile(q)) for q in (0.1, 0.9)) if len(df) else (0.0, 0.0)
    bound = max(abs(lo), abs(hi), 1e-9)
    return (
        alt.Chart(df, title=title)
        .mark_rect()
        .encode(
            x=alt.X("x_label:O", title=x_title, sort=None),
            y=alt.Y("y_label:O", title=y_title, sort=None),
            color=alt.Color(
                f"{value}:Q",
                title=value_title,
                scale=alt.Scale(scheme="redblue", domain=[-bound, bound], clamp=True),
                legend=alt.Legend(format="$,.2s"),
            ),
            tooltip=[
                alt.Tooltip(f"{x}:Q", title=x_title, format=".4g"),
                alt.Tooltip(f"{y}:Q", title=y_title, format=".4g"),
                alt.Tooltip(f"{value}:Q", title=value_title, format="$,.0f"),
            ],
        )
        .properties(height=300)
    )


def monte_carlo_chart(
    hist: pd.DataFrame, *, p5: float, p50: float, p95: float, title: str = ""
) -> alt.LayerChart:
    """Histogram of simulated profit with P5, P50 and P95 rules and zero in black.

    ``hist`` has ``bin_start``, ``bin_end``, ``count`` (``MonteCarloResult.histogram()``).
    """
    df = hist.assign(loss=hist["bin_end"] <= 0)
    bars = (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X(
                "bin_start:Q",
                bin="binned",
                title="Profit, USD per month",
                axis=alt.Axis(format="$,.3s"),
            ),
            x2=alt.X2("bin_end:Q"),
            y=alt.Y("count:Q", title="Draws"),
            color=alt.Color(
                "loss:N",
                title=None,
                legend=None,
                scale=alt.Scale(domain=[True, False], range=["#e45756", "#4c78a8"]),
            ),
            tooltip=[
                alt.Tooltip("bin_start:Q", format="$,.0f", title="from"),
                alt.Tooltip("bin_end:Q", format="$,.0f", title="to"),
                alt.Tooltip("count:Q"),
            ],
        )
    )
    marks = pd.DataFrame({"what": ["P5", "P50", "P95"], "x": [p5, p50, p95]})
    rules = (
        alt.Chart(marks)
        .mark_rule(strokeDash=[4, 3], color="black")
        .encode(
            x=alt.X("x:Q"),
            tooltip=[alt.Tooltip("what:N"), alt.Tooltip("x:Q", format="$,.0f", title="profit")],
        )
    )
    labels = (
        alt.Chart(marks)
        .mark_text(dy=-6, align="left", dx=3)
        .encode(x=alt.X("x:Q"), y=alt.YValue(8), text=alt.Text("what:N"))
    )
    return alt.layer(bars, rules, labels, title=title).properties(height=260)
