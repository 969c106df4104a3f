"""Pricing what-if: profit at a price, the optimum within a price range and its spread,
break-even, sensitivity, data tables, Monte Carlo and goal seek."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from analytics.errors import ScenarioError
from analytics.scenario_parts import DemandSegment
from analytics.scenario_sensitivity import NUMERIC_INPUTS, tornado_price
from analytics.sensitivity import table_to_long
from dashboard import charts, history_links, queries, state, ui
from dashboard.shared_compute import (
    data_table,
    evaluate_scenario,
    goal_seek,
    scenario_monte_carlo,
    scenario_tornado,
    segment_table,
)
from dashboard.tables import SEGMENT_TABLE_CONFIG
from dashboard.whatif_inputs import (
    COST_INPUTS,
    MAIN_INPUTS,
    MC_SEED,
    MORE_INPUTS,
    PRICE_WAR_INPUTS,
    SEGMENT_COLUMNS,
    InputSpec,
    clamped,
    mc_draws_input,
    outside_inputs,
    outside_note,
    pricing_inputs,
)

st.title("Pricing what-if")
st.caption(
    "Change the price or a cost and see monthly profit, the profit-maximising price "
    "(where marginal revenue equals marginal cost, not price = cost) within the price range "
    "you allow, and the break-even prices. Each segment's demand has a constant price "
    'elasticity fitted from our usage and price history; "All customers" is the sum of the '
    "segment curves at one price. Every number on this page uses exactly the demand table "
    "below. Prices are USD per 1M tokens (blended over input and output tokens at the "
    "token mix), volumes M tokens per month, money USD per month."
)


def number(spec: InputSpec, value: float, rev: int) -> float:
    """A number input for one scenario field, ``value`` clamped to its bounds (keyed by the
    spec's key and the scenario revision)."""
    return st.number_input(
        **spec.widget_args(), value=float(spec.clamp(value)), key=f"{spec.key}_{rev}"
    )


def money(v: float | None) -> str:
    """USD with sign, '—' when missing."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return ui.fmt_number(v, money=True)


def price(v: float | None) -> str:
    """USD per 1M tokens, '—' when missing (:func:`dashboard.formatting.fmt_price`)."""
    return ui.fmt_price(v)


def segment_picker() -> None:
    """Reload every input as measured for one segment (or all customers)."""
    segments = queries.filter_options()["segments"]
    current = ui.linked_scenario(state.current_scenario)
    c1, c2, _ = st.columns([2, 1, 3], vertical_alignment="bottom")
    options = ["All customers", *segments]
    index = options.index(current.segment) if current.segment in options else 0
    pick = c1.selectbox("Measure the inputs for", options, index=index, key="wi_segment")
    if c2.button("Load measured inputs", key="wi_measure", icon=":material/refresh:"):
        seg = None if pick == "All customers" else pick
        state.set_scenario(queries.default_scenario(seg), reload_inputs=True)
        st.rerun()


def demand_editor(base: Any, rev: int) -> tuple[DemandSegment, ...] | None:
    """The demand table: one editable row per segment; None when a row is invalid."""
    frame = pd.DataFrame([{k: getattr(g, k) for k in SEGMENT_COLUMNS} for g in base.segments])
    ui.drop_oversized_edits(f"wi_demand_{rev}", "demand table")
    edited = st.data_editor(
        frame,
        hide_index=True,
        width="stretch",
        disabled=["name"],
        key=f"wi_demand_{rev}",
        column_config={
            k: st.column_config.NumberColumn(v, format="%.4g")
            if k != "name"
            else st.column_config.TextColumn(v)
            for k, v in SEGMENT_COLUMNS.items()
        },
    )
    st.caption(
        "Output share: the share of tokens generated (an output token takes ~5× the "
        "GPU time of an input token). AI resolution share: the share of tickets the AI "
        "agent resolves. Both are measured per segment, so a segment costs the same "
        "here and in its own view."
    )
    rows = edited.to_dict("records")
    if len(rows) != len(base.segments):  # a forged edit added or removed a row
        st.warning("Check the demand table: it holds one row per segment; rows cannot be added.")
        return None
    for g, row in zip(base.segments, rows, strict=True):
        row["name"] = g.name  # the column is read-only: a forged edit does not rename
    widened = []
    for row in rows:
        e, lo, hi = (row.get(k) for k in ("elasticity", "elasticity_ci_low", "elasticity_ci_high"))
        if (
            all(isinstance(x, int | float) and math.isfinite(x) for x in (e, lo, hi))
            and not lo <= e <= hi
        ):
            row["elasticity_ci_low"], row["elasticity_ci_high"] = min(lo, e), max(hi, e)
            widened.append(str(row["name"]))
    if widened:
        st.caption(
            "The interval of " + ui.md_text(", ".join(widened)) + " was widened to "
            "hold the elasticity you entered."
        )
    try:
        return tuple(
            DemandSegment(
                **{
                    **{k: getattr(g, k) for k in ("mention_shift", "price_low", "price_high")},
                    **row,
                }
            )
            for g, row in zip(base.segments, rows, strict=True)
        )
    except (ScenarioError, TypeError) as exc:
        st.warning(f"Check the demand table: {ui.md_text(exc)}")
        return None


def pressure_lever(base: Any, rev: int) -> bool:
    """The explicit competitor-pressure lever with its evidence."""
    shifts = ", ".join(f"{ui.md_text(g.name)} {g.mention_shift:+.2f}" for g in base.segments)
    on = st.toggle(
        "What-if: competitor pressure shifts the elasticities",
        value=bool(base.pressure_lever),
        key=f"wi_pressure_{rev}",
    )
    if base.mention_slope:
        st.caption(
            f"Evidence: across segments, each +1 percentage point of tickets mentioning a "
            f"competitor goes with an elasticity change of {base.mention_slope / 100:+.4f} "
            f"(standard error {base.mention_slope_se / 100:.4f}), fitted from only as many "
            f"points as there are segments. Applied to each segment's recent rise in "
            f"mentions this gives the shifts {shifts}. Off by default: it is a what-if, "
            "not part of the fitted demand."
        )
    else:
        st.caption(
            "No measured mention pressure yet (tickets not tagged, or too little "
            "variation): the lever changes nothing."
        )
    return on


def show_metrics(r: Any, mc: Any) -> None:
    """The headline figures, each with its unit and period."""
    s = r.scenario
    o, sp = r.optimum, r.spread
    m = [*st.columns(3), *st.columns(3), *st.columns(3)]
    m[0].metric(
        "Profit at this price, USD/month",
        money(r.profit),
        border=True,
        help="After fixed costs, at our price for every segment in the view.",
    )
    m[1].metric(
        "Optimal price, USD per 1M tokens",
        price(o.price),
        border=True,
        delta=f"{(o.price / s.price_per_m - 1) * 100:+.0f} % vs ours",
        delta_color="off",
        help=f"Within the range {price(o.floor)}–{price(o.ceiling)}"
        + (f"; it sits on the {o.at_bound}." if o.at_bound else "."),
    )
    m[2].metric(
        "Optimum across the elasticity interval",
        f"{price(sp.low)} – {price(sp.high)}",
        border=True,
        help=f"Monte Carlo of the elasticities ({sp.draws:,} draws): P5 "
        f"{price(sp.p5)}, median {price(sp.p50)}, P95 {price(sp.p95)}; "
        f"{sp.share_at_ceiling:.0%} of draws on the ceiling.",
    )
    m[3].metric("Profit at the optimum, USD/month", money(o.profit), border=True)
    m[4].metric(
        "Break-even prices, USD per 1M tokens",
        f"{price(r.break_even_low)} – {price(r.break_even_high)}",
        border=True,
        help=ui.md_text(r.break_even_note)
        if r.break_even_note
        else "Profit after fixed costs is positive in between.",
    )
    m[5].metric(
        "Contribution margin at this price",
        ui.fmt_number(r.contribution_margin, pct=True),
        border=True,
        help=f"Unit cost {price(r.unit_cost)} per 1M tokens: GPU "
        f"{price(r.gpu_cost_per_m)} (input and output tokens at the mix), support "
        f"{price(r.support_cost_per_m)}.",
    )
    lo, hi = r.elasticity_now_ci
    m[6].metric(
        "Price elasticity at today's price",
        f"{r.elasticity_now:.2f}",
        border=True,
        help=f"95 % interval {lo:.2f} to {hi:.2f}. "
        + (
            "The implied elasticity of the sum of the segment curves at today's "
            f"price {price(r.price_now)}."
            if len(s.segments) > 1
            else "The segment's fitted elasticity."
        ),
    )
    m[7].metric(
        "Probability of a loss at this price",
        ui.fmt_number(mc.prob_loss, pct=True),
        border=True,
        help=f"{mc.draws:,} Monte Carlo draws (seed {mc.seed}).",
    )
    for w in r.warnings:
        st.warning(ui.md_text(w))


def goal_seek_tab(s: Any, r: Any) -> None:
    """Goal seek on the price and on any input."""
    g1, g2, g3 = st.columns(3)
    g1.metric(
        f"Lowest price for a {s.target_margin:.0%} margin, USD per 1M",
        price(r.price_for_target_margin),
    )
    lo, hi = r.target_profit_prices
    g2.metric(
        f"Prices for a profit of {money(s.target_profit)}/month",
        f"{price(lo)} – {price(hi)}",
        help="The lowest and highest price reaching the target (after fixed costs).",
    )
    st.markdown("**Solve for any input** (every other input held):")
    labels = {
        "price": "our price",
        "elasticity_shift": "elasticity shift (every segment)",
        "volume_factor": "volume factor (every segment)",
        "output_share": "output share of tokens (every segment)",
        "ai_resolution_share": "AI resolution share (every segment)",
        **{k: k.replace("_", " ") for k in NUMERIC_INPUTS},
    }
    c1, c2, c3 = st.columns(3)
    which = c1.selectbox(
        "Input",
        list(labels),
        format_func=labels.get,
        index=list(labels).index("utilisation"),
        key="gs_input",
    )
    metrics = {
        "margin": "contribution margin at our price (fraction)",
        "profit": "profit at our price, USD/month",
        "optimal_profit": "profit at the optimum, USD/month",
    }
    metric = c2.selectbox("Metric", list(metrics), format_func=metrics.get, key="gs_metric")
    target = c3.number_input(
        "Target", value=0.55 if metric == "margin" else 0.0, key=f"gs_target_{metric}"
    )
    res = goal_seek(s, which, float(target), metric=metric)
    if res.value is None:
        g3.metric(f"{labels[which]} needed", "—")
        st.caption(ui.md_text(res.note))
    else:
        g3.metric(
            f"{labels[which]} needed",
            f"{res.value:,.4g}",
            delta=f"today {res.current:,.4g}",
            delta_color="off",
        )
        if res.note:
            st.caption(ui.md_text(res.note) + ": " + ", ".join(f"{v:,.4g}" for v in res.solutions))


TABLE_INPUTS = (
    "price",
    "elasticity_shift",
    "volume_factor",
    "output_share",
    "ai_resolution_share",
    *NUMERIC_INPUTS,
)
_SHARE_INPUTS = (
    "utilisation",
    "cache_hit_rate",
    "output_share",
    "ai_resolution_share",
    "cached_token_cost_factor",
)


def table_values(s: Any, name: str) -> list[float]:
    """The values a data table tries for one input: the price range, fixed shifts and
    factors, or 50–150 % of today's value (shares capped at 1)."""
    if name == "price":
        return [round(float(p), 4) for p in np.linspace(s.price_floor, s.price_ceiling, 9)]
    if name == "elasticity_shift":
        return [-0.6, -0.4, -0.2, 0.0, 0.2, 0.4, 0.6]
    if name == "volume_factor":
        return [0.5, 0.75, 1.0, 1.25, 1.5]
    now = getattr(s, name) if hasattr(s, name) else getattr(s.cost_inputs(), name)
    values = {round(float(now) * f, 6) for f in (0.5, 0.75, 1.0, 1.25, 1.5)}
    return sorted({min(1.0, v) for v in values} if name in _SHARE_INPUTS else values)


def data_table_tab(s: Any, r: Any) -> None:
    """Excel-style data tables on any two inputs (default: elasticity shift × price)."""
    c1, c2, c3 = st.columns(3)
    label = {
        "price": "our price, USD per 1M",
        "elasticity_shift": "elasticity shift",
        "volume_factor": "volume factor",
    }
    fmt = lambda k: label.get(k, k.replace("_", " "))  # noqa: E731 - a one-line formatter
    rows = c1.selectbox("Rows: input", TABLE_INPUTS, index=1, format_func=fmt, key="dt_input")
    cols = c2.selectbox(
        "Columns: input",
        [k for k in TABLE_INPUTS if k != rows],
        index=0,
        format_func=fmt,
        key="dt_cols",
    )
    metric = c3.selectbox(
        "Cells",
        ["profit", "margin"],
        key="dt_metric",
        format_func={"profit": "profit, USD/month", "margin": "contribution margin"}.get,
    )
    table = data_table(s, rows, table_values(s, rows), cols, table_values(s, cols), metric=metric)
    st.vega_lite_chart(
        charts.chart_spec(
            charts.heatmap_chart,
            table_to_long(table, value_name="value"),
            x=cols,
            y=rows,
            x_title=fmt(cols),
            y_title=fmt(rows),
            value="value",
            value_title=metric,
        ),
        width="stretch",
    )
    st.dataframe(table.rename(columns=lambda v: f"{v:,.4g}"), width="stretch")
    st.caption(
        "Each cell recomputes the whole model with the row's and the column's input, "
        "every other input as above (shares and shifts apply to every segment). The "
        "rival-cut × our-price table is on the Price war page."
    )


def scenario_inputs(base: Any, rev: int) -> Any | None:
    """The what-if's inputs as a scenario (``None``, with a message, while they do not make
    one): prices, volumes and costs, demand per segment, the cost model and the analyses'
    settings, each widget keyed by ``rev`` (a loaded scenario resets them)."""
    values: dict[str, Any] = {}
    # a saved scenario (another program, the Python API) may hold values the inputs do not
    # take: they start at the nearest bound, in words (round 24 of #12); Price war's too, as
    # the address this page writes carries them and a link must hold values the inputs
    # take (round 25)
    # and the draws so that segments × draws stays within a link's Monte Carlo work (GAPS 20)
    draws_input = mc_draws_input(len(base.segments))
    outside = outside_inputs(base, pricing_inputs(len(base.segments)))
    elsewhere = outside_inputs(base, PRICE_WAR_INPUTS)
    if outside or elsewhere:
        st.warning(ui.md_text(outside_note(outside, elsewhere, "Price war")))
    values.update(clamped(base, PRICE_WAR_INPUTS))
    with st.container(border=True):
        cols = st.columns(len(MAIN_INPUTS))
        for col, spec in zip(cols, MAIN_INPUTS, strict=True):
            with col:
                values[spec.field] = number(spec, getattr(base, spec.field), rev)
        st.markdown("**Demand per segment** (edit to test another reading of the data)")
        segs = demand_editor(base, rev)
        values["pressure_lever"] = pressure_lever(base, rev)
        with st.expander("Cost model: token mix, throughput, cache, support"):
            cols = st.columns(4)
            for i, spec in enumerate(COST_INPUTS):
                with cols[i % 4]:
                    values[spec.field] = number(spec, getattr(base, spec.field), rev)
        with st.expander("More inputs: goal seek targets, tornado, Monte Carlo"):
            cols = st.columns(4)
            for i, spec in enumerate(MORE_INPUTS):
                with cols[i % 4]:
                    values[spec.field] = number(spec, getattr(base, spec.field), rev)
            for spec in (draws_input, MC_SEED):  # whole numbers
                values[spec.field] = int(
                    st.number_input(
                        **spec.widget_args(),
                        value=int(spec.clamp(getattr(base, spec.field))),
                        key=f"{spec.key}_{rev}",
                    )
                )
    if segs is None:
        return None
    try:
        return base.replace(segments=segs, **values)
    except ScenarioError as exc:
        st.warning(
            f"These inputs do not make a valid scenario: {ui.md_text(exc)}. "
            "Change the highlighted values."
        )
        return None


def profit_curve_tab(s: Any, r: Any) -> None:
    """Profit over the price range, with our price, the optimum and the break-evens."""
    be = [b for b in (r.break_even_low, r.break_even_high) if b is not None]
    st.vega_lite_chart(
        charts.chart_spec(
            charts.profit_curve_chart,
            r.curve.to_frame(),
            price=s.price_per_m,
            optimum=r.optimum.price,
            break_even=be,
        ),
        width="stretch",
    )
    st.caption(
        f"Profit after fixed costs over the price range {price(s.price_floor)}–"
        f"{price(s.price_ceiling)}. Orange: our price; green: the optimum; red "
        "dashed: break-even prices."
    )


def revenue_cost_tab(s: Any, r: Any) -> None:
    """Revenue and total cost over the price range."""
    chart = charts.chart_spec(charts.revenue_cost_chart, r.curve.to_frame())
    st.vega_lite_chart(chart, width="stretch")
    st.caption("Profit is the gap between revenue and total cost.")


def segments_tab(s: Any, r: Any) -> None:
    """Each segment optimised on its own curve."""
    st.dataframe(
        segment_table(s), hide_index=True, width="stretch", column_config=SEGMENT_TABLE_CONFIG
    )
    st.caption(
        "Each segment on its own curve, optimised within the same price range; "
        "contributions are before fixed costs (company-wide), USD per month."
    )


def tornado_tab(s: Any, r: Any) -> None:
    """Profit when each driver alone moves by the sensitivity step."""
    at = tornado_price(s)
    tor = scenario_tornado(s, at)
    st.vega_lite_chart(charts.chart_spec(charts.tornado_chart, tor), width="stretch")
    st.caption(
        f"Profit at {price(at)} per 1M tokens "
        f"({'the optimum' if s.tornado_price == 0 else 'the price you chose'}) "
        f"when each driver alone moves ±{s.sensitivity_pct:g} %. GPU $/hour, "
        "throughput and utilisation act on one driver, the GPU cost per token; "
        "elasticity, volume and tickets move on every segment at once."
    )


def monte_carlo_tab(s: Any, r: Any) -> None:
    """The distribution of profit at our price over the uncertain inputs."""
    mc = scenario_monte_carlo(s)  # shared with the metrics above (cached)
    st.vega_lite_chart(
        charts.chart_spec(
            charts.monte_carlo_chart, mc.histogram(), p5=mc.p5, p50=mc.p50, p95=mc.p95
        ),
        width="stretch",
    )
    st.caption(
        f"Profit at {price(s.price_per_m)}: {mc.draws:,} draws (seed {mc.seed}) "
        f"of every segment's elasticity within its interval, the GPU cost and the "
        f"volume level. P5 {money(mc.p5)}, median {money(mc.p50)}, P95 "
        f"{money(mc.p95)}; probability of a loss {mc.prob_loss:.1%}."
    )


WHATIF_TABS: tuple[tuple[str, Any], ...] = (
    ("Profit curve", profit_curve_tab),
    ("Revenue and cost", revenue_cost_tab),
    ("Segments", segments_tab),
    ("Tornado", tornado_tab),
    ("Data tables", data_table_tab),
    ("Monte Carlo", monte_carlo_tab),
    ("Goal seek", goal_seek_tab),
)
"""The what-if's analyses: only the open one is computed (a click on a tab reruns the
what-if), so a change of price costs one analysis, not seven."""


@st.fragment
@ui.guarded("the what-if")
def whatif() -> None:
    base = state.current_scenario()
    rev = state.scenario_rev()
    note = st.session_state.pop(state.SCENARIO_NOTE_KEY, None)
    if note:
        st.info(ui.md_text(note))
    s = scenario_inputs(base, rev)
    if s is None:
        return
    state.set_scenario(s)
    # one history entry a change; in words when the address cannot hold it (round 26)
    unwritten = history_links.write_address(s)
    if unwritten:
        st.warning(ui.md_text(history_links.unwritten_note(unwritten)), icon=":material/link_off:")

    r = evaluate_scenario(s)
    show_metrics(r, scenario_monte_carlo(s))
    tabs = st.tabs([name for name, _ in WHATIF_TABS], key="wi_tab", on_change="rerun")
    for tab, (_, show) in zip(tabs, WHATIF_TABS, strict=True):
        with tab:
            if tab.open:
                show(s, r)
    if not unwritten:  # else the note above says what the address holds instead
        st.caption(
            "The page address holds every input: copy it to share this what-if. Save it by "
            "name on the Scenarios page."
        )


segment_picker()
whatif()
