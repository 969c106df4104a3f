"""Column configurations shared by pages (headers with units)."""

from __future__ import annotations

import streamlit as st

#: ``analytics.scenario_tables.segment_table`` columns with their headers and formats.
SEGMENT_TABLE_CONFIG = {
    "segment": "Segment",
    "price_now": st.column_config.NumberColumn("Price today, USD per 1M", format="$%.3f"),
    "volume_m": st.column_config.NumberColumn("Volume, M tokens/month", format="%,.0f"),
    "elasticity": st.column_config.NumberColumn("Elasticity", format="%.2f"),
    "ci_low": st.column_config.NumberColumn("95 % low", format="%.2f"),
    "ci_high": st.column_config.NumberColumn("95 % high", format="%.2f"),
    "unit_cost": st.column_config.NumberColumn("Unit cost, USD per 1M", format="$%.3f"),
    "contribution_now": st.column_config.NumberColumn(
        "Contribution today, USD/month", format="dollar"
    ),
    "optimal_price": st.column_config.NumberColumn("Optimal price, USD per 1M", format="$%.3f"),
    "optimal_low": st.column_config.NumberColumn("Optimum, interval low", format="$%.3f"),
    "optimal_high": st.column_config.NumberColumn("Optimum, interval high", format="$%.3f"),
    "at_bound": "On a bound",
    "contribution_at_optimum": st.column_config.NumberColumn(
        "Contribution at the optimum, USD/month", format="dollar"
    ),
    "gain": st.column_config.NumberColumn("Gain, USD/month", format="dollar"),
    "note": st.column_config.TextColumn("Note", width="large"),
}
