"""Overview: KPIs with change against the previous period, volumes, cost to serve."""

from __future__ import annotations

import math

import streamlit as st

from analytics.explore import KPI_LABELS, UNKNOWN_CUSTOMER, CostRates
from dashboard import charts, queries, state, ui

MONEY_KPIS = frozenset({"revenue", "cost_per_ticket"})

st.title("Overview")
st.caption(
    "How the business is doing in the selected period: tickets, customers, tokens, revenue "
    "and margin, each with its change against the period of the same length just before "
    "(the same number of calendar months for whole months, of days otherwise). Usage is "
    "monthly: a month the period covers in part counts pro rata by days. Dates are UTC. "
    "Use the filters in the sidebar; the page address keeps them, so a copied link shows "
    "the same view."
)


def default_rates() -> CostRates:
    """Unit costs of the current scenario's cost model (the one the Pricing page shows;
    its defaults are the reference cost anchors)."""
    costs = state.current_scenario().cost_inputs()
    return CostRates(
        gpu_input_cost_per_m=costs.input_cost_per_million,
        gpu_output_cost_per_m=costs.output_cost_per_million,
        human_ticket_cost=costs.human_ticket_cost,
        ai_ticket_cost=costs.ai_ticket_cost,
    )


def exact(value: float, *, money: bool = False, pct: bool = False) -> str:
    """A KPI value in full for the hover help: "$10.36", "1,234,567", "58.4 %"; "—" for NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if pct:
        return f"{value * 100:.1f} %"
    if money:
        return f"{'-' if value < 0 else ''}${abs(value):,.2f}"
    return f"{value:,.0f}"


def kpi_help(key: str, previous: float, note: str) -> str:
    """Hover text of a KPI: the previous period's value (or why there is none) and, for
    active customers, the definition."""
    text = (
        f"Previous period: — ({note})."
        if note
        else f"Previous period: {exact(previous, money=key in MONEY_KPIS, pct=key == 'gross_margin')}."
    )
    if key == "customers":
        text += (
            " Active customers: customers with usage in the month that holds the "
            "period's last day (active at the end of the period; customers who churned "
            "during it are not counted)."
        )
    return text


options = queries.filter_options()
bounds = queries.date_bounds()
filters = ui.sidebar_filters(options, bounds)

if bounds is None:
    st.info(
        "The database has no tickets or usage yet. Upload ticket files on the "
        "**Batch tagging** page, or create a demo with `python -m data demo`."
    )
    st.stop()

base = default_rates()
with st.expander("Cost assumptions", icon=":material/calculate:"):
    st.caption(
        "Used for gross margin and cost to serve: GPU cost = input tokens × input "
        "cost + output tokens × output cost. They start from the cost model of the "
        "Pricing what-if page (GPU $/hour, throughput per token type, utilisation, "
        "cache hits), so both pages use the same costs."
    )
    c1, c2, c3, c4 = st.columns(4)
    rates = CostRates(
        gpu_input_cost_per_m=c1.number_input(
            "Inference, USD per 1M input tokens",
            min_value=0.0,
            value=round(base.gpu_input_cost_per_m, 4),
            step=0.01,
            format="%.4f",
            key="ov_gpu_in",
            help="GPU cost of input (prompt) tokens, cache hits included.",
        ),
        gpu_output_cost_per_m=c2.number_input(
            "Inference, USD per 1M output tokens",
            min_value=0.0,
            value=round(base.gpu_output_cost_per_m, 4),
            step=0.05,
            format="%.4f",
            key="ov_gpu_out",
            help="GPU cost of generated tokens.",
        ),
        human_ticket_cost=c3.number_input(
            "Human-handled ticket, USD",
            min_value=0.0,
            value=float(base.human_ticket_cost),
            step=0.5,
            key="ov_human",
        ),
        ai_ticket_cost=c4.number_input(
            "AI-resolved ticket, USD",
            min_value=0.0,
            value=float(base.ai_ticket_cost),
            step=0.1,
            key="ov_ai",
        ),
    )

k = queries.kpis(filters, rates).set_index("kpi")
if k.loc["tickets", "value"] == 0 and k.loc["revenue", "value"] == 0:
    st.info("Nothing matches this selection. Widen the dates or clear a filter in the sidebar.")

cols = st.columns(len(KPI_LABELS))
for col, (key, label) in zip(cols, KPI_LABELS.items(), strict=True):
    row = k.loc[key]
    note = str(row.get("note") or "")
    delta = "—" if note else ui.fmt_delta(row["change"], points=key == "gross_margin")
    col.metric(
        label,
        ui.fmt_number(row["value"], money=key in MONEY_KPIS, pct=key == "gross_margin"),
        delta=delta,
        delta_color="gray" if note else ("inverse" if key == "cost_per_ticket" else "normal"),
        delta_arrow="off" if note else ui.delta_arrow(delta),  # no arrow for "±0.0 %"
        help=kpi_help(key, row["previous"], note),
        border=True,
    )
if str(k["note"].iloc[0] or ""):
    st.caption(
        f"No change is shown: the {k['note'].iloc[0]}, so it would be compared with a "
        "part of a period. Choose a later start date to compare."
    )

with ui.page_guard("the open alerts"):
    open_alerts = queries.open_alert_count()
    a1, a2 = st.columns([1, 5], vertical_alignment="center")
    a1.metric(
        "Open alerts",
        "—" if open_alerts is None else f"{open_alerts:,}",
        help="Surges of negative tickets still open on the last day with tickets, over "
        "all tickets (the filters do not apply)."
        if open_alerts is not None
        else "No ticket has a sentiment label yet: no alerts can be raised.",
    )
    a2.page_link(
        "views/signals.py",
        label="Signals: the alerts, their tickets and the customers at risk",
        icon=":material/notifications:",
    )

left, right = st.columns(2)
with left:
    st.subheader("Tickets over time")
    by = (
        st.segmented_control(
            "Split tickets by",
            ["channel", "category", "segment", "plan"],
            default="channel",
            key="ov_ticket_by",
        )
        or "channel"
    )
    tv = queries.ticket_volume(filters, by=by, grain="month")
    if ui.empty_frame(tv):
        st.info("No tickets in this selection.")
    else:
        st.vega_lite_chart(
            charts.chart_spec(charts.volume_chart, tv, colour_title=by), width="stretch"
        )
with right:
    st.subheader("Usage over time")
    ub = (
        st.segmented_control(
            "Split usage by", ["segment", "plan", "region"], default="segment", key="ov_usage_by"
        )
        or "segment"
    )
    measure = (
        st.segmented_control(
            "Measure", ["tokens", "revenue", "requests"], default="tokens", key="ov_measure"
        )
        or "tokens"
    )
    uv = queries.usage_volume(filters, by=ub)
    if ui.empty_frame(uv):
        st.info("No usage in this selection.")
    else:
        st.vega_lite_chart(charts.chart_spec(charts.usage_chart, uv, y=measure), width="stretch")
st.caption(
    "Months are UTC calendar months; the first and last month count pro rata when the "
    "period covers them in part. Segment, plan and region are the customer's: the plan "
    "is the customer's current plan, for tickets and usage alike."
)

st.subheader("Cost to serve per segment")
st.caption(
    "Bars: inference (GPU) and support cost over the period; black tick: revenue. "
    "Where the bars rise above the tick, the segment loses money. Tickets and usage of "
    f"customers missing from the customer list form the row “{UNKNOWN_CUSTOMER}”; the "
    "rows add up to the figures above."
)
cts = queries.cost_to_serve(filters, rates)
if ui.empty_frame(cts):
    st.info("No segment data in this selection.")
else:
    st.vega_lite_chart(charts.chart_spec(charts.cost_to_serve_chart, cts), width="stretch")
    st.dataframe(
        cts,
        hide_index=True,
        width="stretch",
        column_config={
            "segment": "Segment",
            "tokens": st.column_config.NumberColumn("Tokens", format="compact"),
            "input_tokens": st.column_config.NumberColumn("Input tokens", format="compact"),
            "output_tokens": st.column_config.NumberColumn("Output tokens", format="compact"),
            "revenue": st.column_config.NumberColumn("Revenue", format="dollar"),
            "gpu_cost": st.column_config.NumberColumn("Inference cost", format="dollar"),
            "support_cost": st.column_config.NumberColumn("Support cost", format="dollar"),
            "tickets": st.column_config.NumberColumn("Tickets"),
            "ai_tickets": st.column_config.NumberColumn("AI-resolved"),
            "margin": st.column_config.NumberColumn("Margin", format="dollar"),
            "margin_pct": st.column_config.NumberColumn("Margin %", format="percent"),
            "cost_per_m": st.column_config.NumberColumn("Cost per 1M tokens", format="$%.3f"),
        },
    )
