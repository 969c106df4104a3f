"""Price war & positioning: a competitor cuts its price; equilibrium, strategies, map."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics import alpha_from_elasticity, default_competitors
from analytics.errors import EquilibriumNotConvergedError, ScenarioError
from analytics.evaluate import US, evaluate_price_war
from analytics.scenario import Competitor, Scenario
from dashboard import charts, state, ui

st.title("Price war & positioning")
st.caption(
    "What happens when a competitor cuts its price. Customers choose between us, the "
    "competitors and not buying (a logit market); every firm then sets its best price "
    "(a Bertrand–Nash equilibrium). The tables compare prices, market shares and monthly "
    "profit before and after the cut, and our possible answers side by side. Edit the "
    "competitor set: it starts from the real list prices."
)

store = state.store()
scenario = state.current_scenario()
rev = state.scenario_rev()


def real_competitors(s: Scenario) -> tuple[tuple[Competitor, ...], float]:
    """The rivals from the real list prices, and our calibrated quality
    (``analytics.default_competitors``: per vendor the model priced closest to ours)."""
    alpha = alpha_from_elasticity(s.effective_elasticity, s.price_per_m, s.our_share)
    return default_competitors(store, reference_price=s.price_per_m, alpha=alpha,
                               our_share=s.our_share)


if not scenario.competitors and scenario.effective_elasticity < 0:
    comps, quality = real_competitors(scenario)
    scenario = scenario.replace(competitors=comps, our_quality=quality)
    state.set_scenario(scenario)

st.subheader("Competitors")
frame = pd.DataFrame([{"name": c.name, "price": c.price, "unit_cost": c.unit_cost,
                       "quality": c.quality} for c in scenario.competitors],
                     columns=["name", "price", "unit_cost", "quality"])
edited = st.data_editor(
    frame, num_rows="dynamic", hide_index=True, width="stretch", key=f"pw_comp_{rev}",
    column_config={
        "name": st.column_config.TextColumn("Competitor", required=True, max_chars=60),
        "price": st.column_config.NumberColumn("Price, USD per 1M", min_value=0.0001,
                                               format="%.4f", required=True),
        "unit_cost": st.column_config.NumberColumn("Its unit cost, USD per 1M", min_value=0.0,
                                                   format="%.4f", required=True),
        "quality": st.column_config.NumberColumn("Quality (utility)", format="%.2f",
                                                 required=True),
    },
)
if st.button("Reset to the real price data", key="pw_reset", icon=":material/restart_alt:"):
    comps, quality = real_competitors(scenario)
    state.set_scenario(scenario.replace(competitors=comps, our_quality=quality,
                                        cut_competitor=comps[0].name if comps else ""),
                       reload_inputs=True)
    st.rerun()

rows = edited.dropna(subset=["name", "price", "unit_cost", "quality"])
try:
    competitors = tuple(Competitor(str(r.name).strip(), float(r.price), float(r.unit_cost),
                                   float(r.quality)) for r in rows.itertuples())
except ScenarioError as exc:
    st.warning(f"Check the competitor table: {ui.md_text(exc)}")
    st.stop()
names = [c.name for c in competitors]
if not names:
    st.info("Add at least one competitor (a row in the table) to model a price war.")
    st.stop()

st.subheader("The price cut")
c1, c2, c3, c4 = st.columns(4)
default_cut = scenario.cut_competitor if scenario.cut_competitor in names else names[0]
cutter = c1.selectbox("Competitor that cuts", names, index=names.index(default_cut),
                      key=f"pw_cutter_{rev}")
cut_pct = c2.slider("Its price cut, %", 0.0, 90.0, float(scenario.cut_pct), 1.0,
                    key=f"pw_cut_{rev}")
our_quality = c3.number_input("Our quality (utility)", value=float(scenario.our_quality),
                              step=0.1, key=f"pw_quality_{rev}")
our_share = c4.number_input("Our market share today", min_value=0.001, max_value=0.99,
                            value=float(scenario.our_share), step=0.01, format="%.3f",
                            key=f"pw_share_{rev}")
try:
    s = scenario.replace(competitors=competitors, cut_competitor=cutter, cut_pct=cut_pct,
                         our_quality=our_quality, our_share=our_share)
except ScenarioError as exc:
    st.warning(f"These inputs do not make a valid scenario: {ui.md_text(exc)}")
    st.stop()
state.set_scenario(s)
state.sync_scenario_url(s)

try:
    war = evaluate_price_war(s)
except EquilibriumNotConvergedError as exc:
    st.warning(f"The market found no stable prices with these inputs ({ui.md_text(exc)}). "
               "Try a smaller cut, closer qualities or a larger elasticity.")
    st.stop()
except ScenarioError as exc:
    st.warning(ui.md_text(exc))
    st.stop()

assert war.cut is not None and war.strategies is not None
table = war.cut.table
ours = table[table["firm"] == US].iloc[0]
m = st.columns(4)
m[0].metric("Our equilibrium price", f"${ours['price_after']:.3f}",
            delta=f"{ours['price_change_pct']:+.1f} %", delta_color="off", border=True)
m[1].metric("Our market share", f"{ours['share_after']:.1%}",
            delta=f"{(ours['share_after'] - ours['share_before']) * 100:+.1f} pts", border=True)
m[2].metric("Our profit (before fixed costs)", ui.fmt_number(ours["profit_after"], money=True),
            delta=ui.fmt_number(ours["profit_change"], money=True), border=True)
best = war.strategies.table.sort_values("our_profit", ascending=False).iloc[0]
m[3].metric("Best answer", str(best["strategy"]), border=True,
            help=str(best["description"]))

MONEY = st.column_config.NumberColumn(format="dollar")
PRICE = st.column_config.NumberColumn(format="$%.3f")
tabs = st.tabs(["Prices", "Shares", "Profit", "Table"])
for tab, value in zip(tabs[:3], ["price", "share", "profit"], strict=True):
    with tab:
        st.altair_chart(charts.equilibrium_chart(table, value=value), width="stretch")
with tabs[3]:
    pct = st.column_config.NumberColumn(format="percent")
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "price_before": PRICE, "price_after": PRICE,
        "price_change_pct": st.column_config.NumberColumn(format="%+.1f %%"),
        "share_before": pct, "share_after": pct, "profit_before": MONEY,
        "profit_after": MONEY, "profit_change": MONEY})
if not (war.cut.before.converged and war.cut.after.converged):
    st.warning("The equilibrium search did not fully converge; treat the numbers as rough.")

st.subheader("Our answers compared")
st.altair_chart(charts.strategies_chart(war.strategies.table), width="stretch")
st.dataframe(war.strategies.table, hide_index=True, width="stretch",
             column_config={"strategy": "Strategy", "our_price": PRICE, "our_profit": MONEY,
                            "our_share": st.column_config.NumberColumn(format="percent"),
                            "profit_vs_before": MONEY, "profit_vs_hold": MONEY,
                            "competitor_price": PRICE, "mean_rival_price": PRICE,
                            "description": st.column_config.TextColumn(width="large")})

st.subheader("Positioning map")
pm = state.query_analytics("positioning_map", max_price=max(20.0, s.price_per_m * 20))
points = pd.concat([
    pd.DataFrame({"name": pm["name"], "vendor": pm["vendor"], "kind": pm["kind"],
                  "price": pm["price_per_m"], "quality": pm["tier"] - 2.0,
                  "mention_share": pm["mention_share"]}),
    pd.DataFrame([{"name": "us (this scenario)", "vendor": "us", "kind": "us",
                   "price": s.price_per_m, "quality": s.our_quality, "mention_share": 0.0}]),
], ignore_index=True)
st.altair_chart(charts.positioning_chart(points), width="stretch")
st.caption("Our plans and every competitor model with a current list price: price (log scale) "
           "against quality tier (−1 budget, 0 mid, +1 frontier, from the model names). Larger "
           "points are vendors our customers mention more often in tickets.")

st.subheader("Best price per segment")
optima = state.query_analytics("segment_optima")
if state.empty_frame(optima):
    st.info("Not enough usage history to fit per-segment elasticities yet.")
else:
    ok = optima[optima["optimal_price"].notna()]
    if len(ok):
        st.altair_chart(charts.segment_optima_chart(ok.rename(columns={
            "optimal_contribution": "profit"})), width="stretch")
    st.dataframe(optima[[c for c in ("segment", "price_per_m", "elasticity", "ci_low", "ci_high",
                                     "unit_cost", "optimal_price", "current_contribution",
                                     "optimal_contribution", "gain", "note") if c in optima]],
                 hide_index=True, width="stretch",
                 column_config={"price_per_m": PRICE, "unit_cost": PRICE, "optimal_price": PRICE,
                                "current_contribution": MONEY, "optimal_contribution": MONEY,
                                "gain": MONEY,
                                "elasticity": st.column_config.NumberColumn(format="%.2f"),
                                "ci_low": st.column_config.NumberColumn(format="%.2f"),
                                "ci_high": st.column_config.NumberColumn(format="%.2f")})
    st.caption("Green bars: the best price for each segment; black ticks: today's price. "
               "Each segment's own fitted elasticity (with its 95 % interval) gives its own "
               "optimal price; where |elasticity| ≤ 1 there is no finite optimum and the note "
               "says so. Contributions are before fixed costs, USD per month.")

st.subheader("Competitor-mention pressure")
pressure = state.query_analytics("competitor_pressure")
if state.empty_frame(pressure):
    st.info("No tagged tickets yet, so no measured pressure. It appears as tagging proceeds.")
else:
    st.caption("Share of tagged tickets per segment that mention a competitor; index above 1 "
               "means more pressure than average. More pressure usually means more price-"
               "sensitive customers.")
    st.dataframe(pressure, hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="percent")
                                for c in ("rate", "recent_rate", "previous_rate", "trend")})
