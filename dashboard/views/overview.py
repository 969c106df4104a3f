"""Overview: KPIs with change against the previous period, volumes, cost to serve."""

from __future__ import annotations

import streamlit as st

from analytics.explore import KPI_LABELS, CostRates
from dashboard import charts, state, ui

st.title("Overview")
st.caption(
    "How the business is doing in the selected period: tickets, customers, tokens, revenue "
    "and margin, each with its change against the period of the same length just before. "
    "Use the filters in the sidebar; the page address keeps them, so a copied link shows "
    "the same view."
)


def default_rates() -> CostRates:
    """Unit costs from the analytics cost model's defaults (the reference cost anchors)."""
    return CostRates()


options = state.query("filter_options")
bounds = state.query("date_bounds")
filters = ui.sidebar_filters(options, bounds)

if bounds is None:
    st.info("The database has no tickets or usage yet. Upload ticket files on the "
            "**Batch tagging** page, or create a demo with `python -m data demo`.")
    st.stop()

base = default_rates()
with st.expander("Cost assumptions", icon=":material/calculate:"):
    st.caption("Used for gross margin and cost to serve. Defaults come from the reference "
               "cost anchors; the Pricing what-if page explores them in depth.")
    c1, c2, c3 = st.columns(3)
    rates = CostRates(
        gpu_cost_per_m=c1.number_input("Inference cost, USD per 1M tokens", min_value=0.0,
                                       value=round(base.gpu_cost_per_m, 4), step=0.05,
                                       format="%.4f", key="ov_gpu"),
        human_ticket_cost=c2.number_input("Human-handled ticket, USD", min_value=0.0,
                                          value=float(base.human_ticket_cost), step=0.5,
                                          key="ov_human"),
        ai_ticket_cost=c3.number_input("AI-resolved ticket, USD", min_value=0.0,
                                       value=float(base.ai_ticket_cost), step=0.1,
                                       key="ov_ai"),
    )

k = state.query("kpis", filters, rates).set_index("kpi")
if k.loc["tickets", "value"] == 0 and k.loc["revenue", "value"] == 0:
    st.info("Nothing matches this selection. Widen the dates or clear a filter in the sidebar.")

cols = st.columns(len(KPI_LABELS))
for col, (key, label) in zip(cols, KPI_LABELS.items(), strict=True):
    row = k.loc[key]
    col.metric(
        label,
        ui.fmt_number(row["value"], money=key in {"revenue", "cost_per_ticket"},
                      pct=key == "gross_margin"),
        delta=ui.fmt_delta(row["change"], points=key == "gross_margin"),
        delta_color="inverse" if key == "cost_per_ticket" else "normal",
        help=f"Previous period: {ui.fmt_number(row['previous'], pct=key == 'gross_margin')}",
        border=True,
    )

left, right = st.columns(2)
with left:
    st.subheader("Tickets over time")
    by = st.segmented_control("Split tickets by", ["channel", "category", "segment", "plan"],
                              default="channel", key="ov_ticket_by") or "channel"
    tv = state.query("ticket_volume", filters, by=by, grain="month")
    if state.empty_frame(tv):
        st.info("No tickets in this selection.")
    else:
        st.altair_chart(charts.volume_chart(tv, colour_title=by), width="stretch")
with right:
    st.subheader("Usage over time")
    ub = st.segmented_control("Split usage by", ["segment", "plan", "region"],
                              default="segment", key="ov_usage_by") or "segment"
    measure = st.segmented_control("Measure", ["tokens", "revenue", "requests"],
                                   default="tokens", key="ov_measure") or "tokens"
    uv = state.query("usage_volume", filters, by=ub)
    if state.empty_frame(uv):
        st.info("No usage in this selection.")
    else:
        st.altair_chart(charts.usage_chart(uv, y=measure), width="stretch")

st.subheader("Cost to serve per segment")
st.caption("Bars: inference (GPU) and support cost over the period; black tick: revenue. "
           "Where the bars rise above the tick, the segment loses money.")
cts = state.query("cost_to_serve", filters, rates)
if state.empty_frame(cts):
    st.info("No segment data in this selection.")
else:
    st.altair_chart(charts.cost_to_serve_chart(cts), width="stretch")
    st.dataframe(
        cts, hide_index=True, width="stretch",
        column_config={
            "segment": "Segment",
            "tokens": st.column_config.NumberColumn("Tokens", format="compact"),
            "revenue": st.column_config.NumberColumn("Revenue", format="dollar"),
            "gpu_cost": st.column_config.NumberColumn("Inference cost", format="dollar"),
            "support_cost": st.column_config.NumberColumn("Support cost", format="dollar"),
            "tickets": st.column_config.NumberColumn("Tickets"),
            "ai_tickets": st.column_config.NumberColumn("AI-resolved"),
            "margin": st.column_config.NumberColumn("Margin", format="dollar"),
            "margin_pct": st.column_config.NumberColumn("Margin %", format="percent"),
            "cost_per_m": st.column_config.NumberColumn("Cost per 1M tokens",
                                                        format="$%.3f"),
        },
    )
