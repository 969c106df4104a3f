"""Price war & positioning: today's market, a competitor's cut, our answers, the map."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from analytics.competition import CUT_TABLE_LABELS, STRATEGY_COLUMN_LABELS
from analytics.errors import EquilibriumNotConvergedError, ScenarioError
from analytics.scenario import Scenario
from analytics.scenario_parts import Competitor
from analytics.war import US
from dashboard import charts, history_links, queries, state, ui
from dashboard.editor_rows import incomplete_rows
from dashboard.scenario_links import MAX_LINK_COMPETITORS
from dashboard.scenario_state import long_name_problem
from dashboard.shared_compute import cut_price_table, evaluate_price_war, segment_table
from dashboard.tables import SEGMENT_TABLE_CONFIG
from dashboard.whatif_inputs import (
    COMPETITOR_COLUMNS,
    COMPETITOR_SHARE_HELP,
    CUT_PCT,
    CUT_TABLE_EXTRA_LABELS,
    MARKET_COLUMNS,
    OUR_SHARE,
    PRESSURE_COLUMNS,
    STRATEGY_INPUTS,
    clamped,
    outside_inputs,
    outside_note,
    pricing_inputs,
)

st.title("Price war & positioning")
st.caption(
    "What happens when a competitor cuts its list price. Customers choose between us, the "
    "competitors and buying from none of us (a logit market). The model starts from the "
    "market as it is today: our price and share, the competitors' real list prices and "
    "their shares reproduce themselves before any cut (calibrated, then perturbed). The "
    "price sensitivity comes from the elasticity on the Pricing page at today's price. "
    "Prices USD per 1M tokens; profits are contributions before our fixed costs, USD per "
    "month."
)

scenario = ui.linked_scenario(state.current_scenario)
rev = state.scenario_rev()

PRICE = st.column_config.NumberColumn(format="$%.3f")
MONEY = st.column_config.NumberColumn(format="dollar")
PCT = st.column_config.NumberColumn(format="percent")


def real_competitors(s: Scenario) -> tuple[Competitor, ...]:
    """The rivals from the real list prices (per vendor the model priced closest to ours)
    with assumed shares (``analytics.default_competitors``)."""
    return queries.default_competitors(s.price_now, s.our_share)


if not scenario.competitors:
    comps = real_competitors(scenario)
    if comps:
        scenario = scenario.replace(competitors=comps, cut_competitor=comps[0].name)
        state.set_scenario(scenario)

st.subheader("Today's market")
frame = pd.DataFrame(
    [{"name": c.name, "price": c.price, "share": c.share} for c in scenario.competitors],
    columns=["name", "price", "share"],
)
ui.drop_oversized_edits(f"pw_comp_{rev}", "competitor table")
edited = st.data_editor(
    frame,
    num_rows="dynamic",
    hide_index=True,
    width="stretch",
    key=f"pw_comp_{rev}",
    column_config={
        "name": st.column_config.TextColumn(
            COMPETITOR_COLUMNS["name"], required=True, max_chars=60
        ),
        "price": st.column_config.NumberColumn(
            COMPETITOR_COLUMNS["price"], min_value=0.0001, format="%.4f", required=True
        ),
        "share": st.column_config.NumberColumn(
            COMPETITOR_COLUMNS["share"],
            min_value=0.0001,
            max_value=0.99,
            format="%.3f",
            required=True,
            help=COMPETITOR_SHARE_HELP,
        ),
    },
)
if st.button("Reset to the real price data", key="pw_reset", icon=":material/restart_alt:"):
    comps = real_competitors(scenario)
    state.set_scenario(
        scenario.replace(competitors=comps, cut_competitor=comps[0].name if comps else ""),
        reload_inputs=True,
    )
    st.rerun()

# a cell Streamlit could not read for its column (a forged text for a price, "NaN") arrives
# empty: a competitor the table started with is then refused in words, never dropped
missing, unfinished = incomplete_rows(edited, frame, ["name", "price", "share"])
if missing:
    shown = "; ".join(missing[:3]) + (f"; and {len(missing) - 3} more" if len(missing) > 3 else "")
    st.warning(
        f"Check the competitor table: no valid value for {ui.md_text(shown)}. Every "
        "competitor needs a name, a list price and a share (a value that is not a number "
        "counts as none); nothing was changed."
    )
    st.stop()
if unfinished:
    st.caption(
        f"{unfinished} new row{'s are' if unfinished > 1 else ' is'} left out until the name, "
        "list price and share are filled in."
    )
rows = edited.dropna(subset=["name", "price", "share"])
# the table's 60 characters hold in the browser only: a forged edit is refused here
if (too_long := long_name_problem(rows["name"], "competitor")) is not None:
    st.warning(f"Check the competitor table: {ui.md_text(too_long)}.")
    st.stop()
try:
    competitors = tuple(
        Competitor(str(r.name).strip(), float(r.price), float(r.share)) for r in rows.itertuples()
    )
except ScenarioError as exc:
    st.warning(f"Check the competitor table: {ui.md_text(exc)}")
    st.stop()
if len(competitors) > MAX_LINK_COMPETITORS:
    # a scenario holds 30, but a what-if link 20: more would be written to the address that
    # a reload, the browser's Back or a copied link then refuses (round 22 of #12)
    st.warning(
        f"Check the competitor table: it lists {len(competitors)} competitors; the page "
        f"models at most {MAX_LINK_COMPETITORS}, as many as its address (the what-if link) "
        "carries, so that a reload, Back or a copied link brings the what-if back. Remove "
        f"{len(competitors) - MAX_LINK_COMPETITORS} row"
        f"{'s' if len(competitors) - MAX_LINK_COMPETITORS > 1 else ''}; nothing was changed."
    )
    st.stop()
names = [c.name for c in competitors]
if not names:
    st.info("Add at least one competitor (a row in the table) to model a price war.")
    st.stop()

st.subheader("The price cut and our options")
# a link's values outside these bounds are refused (scenario_links.LINK_RANGES); a saved
# scenario's (another program, the Python API) start at the nearest bound, in words: a
# widget given a value outside its bounds fails the page (round 24 of #12); Pricing's too, as
# the address this page writes carries them and a link must hold values the inputs take
# (round 25)
outside = outside_inputs(scenario, (CUT_PCT, OUR_SHARE, *STRATEGY_INPUTS))
elsewhere = outside_inputs(scenario, pricing_inputs(len(scenario.segments)))
if outside or elsewhere:
    st.warning(ui.md_text(outside_note(outside, elsewhere, "Pricing what-if")))
c1, c2, c3 = st.columns(3)
default_cut = scenario.cut_competitor if scenario.cut_competitor in names else names[0]
cutter = c1.selectbox(
    "Competitor that cuts its list price",
    names,
    index=names.index(default_cut),
    key=f"pw_cutter_{rev}",
)
cut_pct = c2.slider(
    **CUT_PCT.widget_args(),
    value=float(CUT_PCT.clamp(scenario.cut_pct)),
    key=f"{CUT_PCT.key}_{rev}",
)
our_share = c3.number_input(
    **OUR_SHARE.widget_args(),
    value=float(OUR_SHARE.clamp(scenario.our_share)),
    key=f"{OUR_SHARE.key}_{rev}",
)
strategy: dict[str, float] = {}
with st.expander("Strategy settings: differentiate and niche"):
    for col, spec in zip(st.columns(len(STRATEGY_INPUTS)), STRATEGY_INPUTS, strict=True):
        strategy[spec.field] = col.number_input(
            **spec.widget_args(),
            value=float(spec.clamp(getattr(scenario, spec.field))),
            key=f"{spec.key}_{rev}",
        )
try:
    s = scenario.replace(
        competitors=competitors,
        cut_competitor=cutter,
        cut_pct=cut_pct,
        our_share=our_share,
        **strategy,
        **clamped(scenario, pricing_inputs(len(scenario.segments))),
    )
except ScenarioError as exc:
    st.warning(f"These inputs do not make a valid scenario: {ui.md_text(exc)}")
    st.stop()
state.set_scenario(s)
# one history entry a change; in words when the address cannot hold it (round 26)
if unwritten := history_links.write_address(s):
    st.warning(ui.md_text(history_links.unwritten_note(unwritten)), icon=":material/link_off:")

try:
    war = evaluate_price_war(s)
except EquilibriumNotConvergedError as exc:
    st.warning(
        f"The market found no stable prices with these inputs ({ui.md_text(exc)}). "
        "Try a smaller cut or other shares."
    )
    st.stop()
except ScenarioError as exc:
    st.warning(ui.md_text(exc))
    st.stop()

assert war.cut_table is not None and war.strategies is not None
m = war.market
calib = m.to_frame()
held = calib[calib["holds"] & (calib["firm"] != US)]
st.caption(
    f"Calibration: elasticity {war.elasticity:.2f} at today's price ${m.prices[0]:,.3f} and "
    f"our share {m.shares[0]:.1%} give a price sensitivity α = {m.alpha:.3g} per USD; the "
    f"whole market is {m.market_size:,.0f} M tokens per month. Rivals' costs are implied by "
    "their list prices being their best prices."
)
if len(held):
    st.info(
        ui.md_text(
            f"{len(held)} of {len(calib) - 1} rivals keep their list price in every state: at "
            f"this price sensitivity no positive cost makes their list price their best price "
            "(the markup 1/(α(1 − share)) alone exceeds it). This happens when demand at today's "
            "price is inelastic; an elastic segment calibrates rivals that answer."
        )
    )
with st.expander("The calibrated market"):
    st.dataframe(
        calib,
        hide_index=True,
        width="stretch",
        column_config={
            "firm": MARKET_COLUMNS["firm"],
            "price": st.column_config.NumberColumn(MARKET_COLUMNS["price"], format="$%.3f"),
            "share": st.column_config.NumberColumn(MARKET_COLUMNS["share"], format="percent"),
            "quality": st.column_config.NumberColumn(MARKET_COLUMNS["quality"], format="%.2f"),
            "cost": st.column_config.NumberColumn(MARKET_COLUMNS["cost"], format="$%.3f"),
            "holds": MARKET_COLUMNS["holds"],
            "note": st.column_config.TextColumn(MARKET_COLUMNS["note"], width="large"),
        },
    )

table = war.cut_table
ours = table[table["firm"] == US].iloc[0]
st.markdown(
    f"**After {ui.md_text(cutter)} cuts its list price by {cut_pct:g} %** "
    f"(to ${table.loc[table['firm'] == cutter, 'price_after'].iloc[0]:,.3f}), if we "
    "re-optimise:"
)
k = [*st.columns(3), *st.columns(3)]
k[0].metric(
    "Our best price, USD per 1M tokens",
    f"${ours['price_after']:,.3f}",
    delta=f"{ours['price_change_pct']:+.1f} % vs today's ${ours['price_before']:,.3f}",
    delta_color="off",
    border=True,
)
k[1].metric(
    "Our market share",
    f"{ours['share_after']:.1%}",
    delta=f"{(ours['share_after'] - ours['share_before']) * 100:+.1f} pts",
    border=True,
)
k[2].metric(
    "Our contribution, USD/month",
    ui.fmt_number(ours["profit_after"], money=True),
    delta=ui.fmt_number(ours["profit_change"], money=True),
    border=True,
    help="Before fixed costs; the change is against today's market.",
)
best = war.strategies.table.sort_values("our_profit", ascending=False).iloc[0]
k[3].metric(
    "Best answer (most contribution)",
    str(best["strategy"]),
    border=True,
    help=ui.md_text(best["description"]),
)
absorb = war.absorbable_cut_pct
k[4].metric(
    "Deepest cut we absorb at break-even",
    "—" if absorb is None else (f"≥ {absorb:.0f} %" if absorb >= 95 else f"{absorb:.1f} %"),
    border=True,
    help=f"The largest cut of {ui.md_text(cutter)}'s list price after which our best "
    f"response still covers fixed costs of "
    f"{ui.fmt_number(s.fixed_cost_per_month, money=True)} per month "
    "(— : we do not cover them even without a cut).",
)
st.caption(
    f"Without any cut our best price in this market would be "
    f"${war.best_today.prices[0]:,.3f} (today ${m.prices[0]:,.3f}): the logit model's "
    "own optimum; the Pricing page's optimum uses the constant-elasticity curves."
)

tabs = st.tabs(["Prices", "Shares", "Profit", "Table"])
for tab, value in zip(tabs[:3], ["price", "share", "profit"], strict=True):
    with tab:
        st.vega_lite_chart(
            charts.chart_spec(charts.equilibrium_chart, table, value=value), width="stretch"
        )
with tabs[3]:
    labels = {**CUT_TABLE_LABELS, **CUT_TABLE_EXTRA_LABELS}
    st.dataframe(
        table.rename(columns=labels),
        hide_index=True,
        width="stretch",
        column_config={labels[c]: PRICE for c in ("list_price", "price_before", "price_after")}
        | {labels[c]: PCT for c in ("share_before", "share_after")}
        | {labels[c]: MONEY for c in ("profit_before", "profit_after", "profit_change")}
        | {labels["price_change_pct"]: st.column_config.NumberColumn(format="%+.1f %%")},
    )
    st.caption(
        "Before = today's market. After = the cutter at its cut list price, we "
        "re-optimise, rivals that can re-optimise do."
    )

st.subheader("Our answers compared")
st.vega_lite_chart(
    charts.chart_spec(charts.strategies_chart, war.strategies.table), width="stretch"
)
strat = war.strategies.table.rename(columns=STRATEGY_COLUMN_LABELS)
L = STRATEGY_COLUMN_LABELS
st.dataframe(
    strat,
    hide_index=True,
    width="stretch",
    column_config={
        L["our_price"]: PRICE,
        L["our_profit"]: MONEY,
        L["our_share"]: PCT,
        L["profit_vs_before"]: MONEY,
        L["profit_vs_hold"]: MONEY,
        L["competitor_price"]: PRICE,
        L["mean_rival_price"]: PRICE,
        L["description"]: st.column_config.TextColumn(width="large"),
    },
)


@st.fragment
@ui.guarded("the rival-cut table")
def cut_table_section(s: Scenario) -> None:
    """Data table: rival cut × the price we hold → our contribution."""
    if not st.toggle("Data table: rival cut × our price", key="pw_table"):
        return
    prices = np.round(np.linspace(s.price_floor, s.price_ceiling, 8), 3)
    cuts = [0, 10, 20, 30, 40, 50, 60]
    t = cut_price_table(s, cuts, prices)
    st.vega_lite_chart(
        charts.chart_spec(
            charts.heatmap_chart,
            pd.DataFrame(t.stack(future_stack=True).rename("value")).reset_index(),
            x="our_price",
            y="cut_pct",
            x_title="Our price, USD per 1M tokens",
            y_title="Rival's cut, % of its list price",
            value="value",
            value_title="Our contribution, USD/month",
        ),
        width="stretch",
    )
    st.dataframe(
        t.rename(columns=lambda p: f"${p:,.3f}", index=lambda c: f"cut {c:g} %"), width="stretch"
    )
    st.caption(
        "Each cell: the cutter at its cut list price, we hold the column's price, the "
        "other rivals re-optimise. Contribution before fixed costs, USD per month."
    )


cut_table_section(s)

st.subheader("Positioning map")
pm = queries.positioning_map(max_price=max(20.0, s.price_now * 20))
points = pd.concat(
    [
        pd.DataFrame(
            {
                "name": pm["name"],
                "vendor": pm["vendor"],
                "kind": pm["kind"],
                "price": pm["price_per_m"],
                "quality": pm["tier"] - 2.0,
                "mention_share": pm["mention_share"],
            }
        ),
        pd.DataFrame(
            [
                {
                    "name": "us (today, blended)",
                    "vendor": "us",
                    "kind": "us",
                    "price": s.price_now,
                    "quality": 0.0,
                    "mention_share": 0.0,
                }
            ]
        ),
    ],
    ignore_index=True,
)
st.vega_lite_chart(charts.chart_spec(charts.positioning_chart, points), width="stretch")
st.caption(
    "Our plans and every competitor model with a current list price: price (log scale) "
    "against quality tier (−1 budget, 0 mid, +1 frontier, from the reference data's "
    "model families). Larger points are vendors our customers mention more often."
)

st.subheader("Best price per segment")
everyone = queries.default_scenario(None)
try:
    per_segment = segment_table(
        everyone.replace(
            **{
                k: getattr(s, k)
                for k in (
                    "gpu_cost_per_hour",
                    "input_tokens_per_second",
                    "output_tokens_per_second",
                    "utilisation",
                    "cache_hit_rate",
                    "cached_token_cost_factor",
                    "human_ticket_cost",
                    "ai_ticket_cost",
                    "pressure_lever",
                    "price_floor",
                    "price_ceiling",
                )
            }
        )
    )
except ScenarioError as exc:
    st.info(f"Not enough usage history to fit per-segment elasticities yet ({ui.md_text(exc)}).")
else:
    ok = per_segment.rename(
        columns={"price_now": "price_per_m", "contribution_at_optimum": "profit"}
    )
    st.vega_lite_chart(charts.chart_spec(charts.segment_optima_chart, ok), width="stretch")
    st.dataframe(per_segment, hide_index=True, width="stretch", column_config=SEGMENT_TABLE_CONFIG)
    st.caption(
        "Each segment's own curve (the same elasticities and cost model as the Pricing "
        "page), optimised within the same price range. Green bars: the best price; "
        "black ticks: today's price. Contributions before fixed costs, USD per month."
    )

st.subheader("Competitor-mention pressure")
pressure = queries.competitor_pressure()
if ui.empty_frame(pressure):
    st.info("No tagged tickets yet, so no measured pressure. It appears as tagging proceeds.")
else:
    st.caption(
        "Share of tagged tickets per segment that mention a competitor; index above 1 "
        "means more pressure than average. On the Pricing page, the competitor-"
        "pressure lever turns this into an elasticity shift (off by default)."
    )
    formats = dict.fromkeys(("rate", "recent_rate", "previous_rate", "trend"), "percent")
    formats |= {"index": "%.2f", "tickets": "%d", "recent_tickets": "%d"}
    st.dataframe(
        pressure,
        hide_index=True,
        width="stretch",
        column_config={
            c: st.column_config.NumberColumn(label, format=formats[c]) if c in formats else label
            for c, label in PRESSURE_COLUMNS.items()
        },
    )
