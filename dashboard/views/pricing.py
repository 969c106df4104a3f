"""Pricing what-if: profit at a price, optimum, break-even, sensitivity, Monte Carlo."""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from analytics.errors import ScenarioError
from analytics.evaluate import (
    evaluate_scenario,
    scenario_monte_carlo,
    scenario_profit_table,
    scenario_tornado,
)
from analytics.sensitivity import table_to_long
from dashboard import charts, state, ui

st.title("Pricing what-if")
st.caption(
    "Change the price or a cost and see monthly profit, the profit-maximising price "
    "(where marginal revenue equals marginal cost, not price = cost) and the break-even "
    "prices. Demand follows a constant price elasticity fitted from our usage and price "
    "history; the uncertainty charts show what the result depends on. Prices are USD per "
    "million tokens, money is USD per month."
)

# (field, label, min, max, step, format, help)
MAIN_INPUTS: list[tuple[str, str, float, float | None, float, str, str]] = [
    ("price_per_m", "Our price, USD per 1M tokens", 0.01, 1000.0, 0.05, "%.3f",
     "Blended over input and output tokens."),
    ("gpu_cost_per_hour", "GPU cost, USD per hour", 0.0, 1000.0, 0.1, "%.2f",
     "Rental or amortised cost of one GPU."),
    ("tokens_per_second", "Throughput, tokens/s per GPU", 1.0, None, 50.0, "%.0f",
     "Tokens one busy GPU serves per second."),
    ("utilisation", "GPU utilisation (0–1)", 0.01, 1.0, 0.05, "%.2f",
     "Share of paid GPU time that serves traffic (30–60 % is typical)."),
    ("cache_hit_rate", "Cache-hit rate (0–1)", 0.0, 1.0, 0.05, "%.2f",
     "Share of tokens served from the context cache."),
    ("fixed_cost_per_month", "Fixed costs, USD per month", 0.0, None, 1000.0, "%.0f",
     "Salaries, offices, reserved capacity."),
    ("human_ticket_cost", "Support: human ticket, USD", 0.0, None, 0.5, "%.2f",
     "Cost of a ticket handled by a person."),
    ("ai_ticket_cost", "Support: AI-resolved ticket, USD", 0.0, None, 0.1, "%.2f",
     "Cost of a ticket the AI agent resolves."),
    ("ai_resolution_share", "AI resolution share (0–1)", 0.0, 1.0, 0.05, "%.2f",
     "Share of tickets the AI agent resolves."),
    ("elasticity", "Price elasticity", -20.0, 0.0, 0.05, "%.3f",
     "% change in volume for +1 % price. Below −1 an optimum exists."),
]
MORE_INPUTS: list[tuple[str, str, float, float | None, float, str, str]] = [
    ("elasticity_ci_low", "Elasticity, 95 % interval low", -20.0, 0.0, 0.05, "%.3f", ""),
    ("elasticity_ci_high", "Elasticity, 95 % interval high", -20.0, 0.0, 0.05, "%.3f", ""),
    ("reference_price", "Reference price, USD per 1M", 0.01, None, 0.05, "%.3f",
     "The price at which the reference volume is observed."),
    ("reference_volume_m", "Reference volume, M tokens/month", 0.0, None, 1000.0, "%.0f", ""),
    ("tickets_per_million", "Support tickets per 1M tokens", 0.0, None, 0.001, "%.5f", ""),
    ("target_margin", "Goal seek: target margin (0–1)", -1.0, 0.99, 0.05, "%.2f", ""),
    ("target_profit", "Goal seek: target profit, USD/month", None, None, 1000.0, "%.0f", ""),
    ("price_min", "Chart range: lowest price", 0.001, None, 0.05, "%.3f", ""),
    ("price_max", "Chart range: highest price", 0.01, None, 0.5, "%.3f", ""),
    ("sensitivity_pct", "Tornado: ± change, %", 0.0, 100.0, 5.0, "%.0f", ""),
    ("gpu_cost_sd", "Monte Carlo: GPU cost uncertainty (log sd)", 0.0, 2.0, 0.05, "%.2f", ""),
    ("volume_sd", "Monte Carlo: volume uncertainty (log sd)", 0.0, 2.0, 0.05, "%.2f", ""),
]


def number(field: str, label: str, lo: float | None, hi: float | None, step: float,
           fmt: str, help_: str, value: float, rev: int) -> float:
    """A number input for one scenario field (keyed by field and scenario revision)."""
    if lo is not None:
        value = max(value, lo)
    if hi is not None:
        value = min(value, hi)
    return st.number_input(label, min_value=lo, max_value=hi, value=float(value), step=step,
                           format=fmt, help=help_ or None, key=f"wi_{field}_{rev}")


def money(v: float | None) -> str:
    """USD with sign, '—' when missing."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return ui.fmt_number(v, money=True)


def price(v: float | None) -> str:
    """USD per 1M tokens, '—' when missing."""
    return "—" if v is None or not math.isfinite(v) else f"${v:,.3f}"


def segment_picker() -> None:
    """Reload every input as measured for one segment (or all customers)."""
    segments = state.query("filter_options")["segments"]
    current = state.current_scenario()
    c1, c2, _ = st.columns([2, 1, 3], vertical_alignment="bottom")
    options = ["All customers", *segments]
    index = options.index(current.segment) if current.segment in options else 0
    pick = c1.selectbox("Measure the inputs for", options, index=index, key="wi_segment")
    if c2.button("Load measured inputs", key="wi_measure", icon=":material/refresh:"):
        seg = None if pick == "All customers" else pick
        state.set_scenario(state.default_scenario(seg), reload_inputs=True)
        st.rerun()


@st.fragment
@ui.guarded("the what-if")
def whatif() -> None:
    base = state.current_scenario()
    rev = state.scenario_rev()
    note = st.session_state.pop(state.SCENARIO_NOTE_KEY, None)
    if note:
        st.info(ui.md_text(note))
    values: dict[str, Any] = {}
    with st.container(border=True):
        cols = st.columns(5)
        for i, spec in enumerate(MAIN_INPUTS):
            with cols[i % 5]:
                values[spec[0]] = number(*spec, value=getattr(base, spec[0]), rev=rev)
        st.caption(f"Fitted elasticity interval: {base.elasticity_ci_low:.2f} to "
                   f"{base.elasticity_ci_high:.2f} (95 %).")
        with st.expander("More inputs: reference point, goal seek, chart range, uncertainty"):
            cols = st.columns(4)
            for i, spec in enumerate(MORE_INPUTS):
                with cols[i % 4]:
                    values[spec[0]] = number(*spec, value=getattr(base, spec[0]), rev=rev)
            values["mc_draws"] = int(st.number_input(
                "Monte Carlo draws", min_value=1000, max_value=1_000_000,
                value=int(base.mc_draws), step=10_000, key=f"wi_mc_draws_{rev}"))
            values["mc_seed"] = int(st.number_input(
                "Monte Carlo seed", min_value=0, value=int(base.mc_seed), step=1,
                key=f"wi_mc_seed_{rev}"))
    try:
        s = base.replace(**values)
    except ScenarioError as exc:
        st.warning(f"These inputs do not make a valid scenario: {ui.md_text(exc)}. "
                   "Change the highlighted values.")
        return
    state.set_scenario(s)
    state.sync_scenario_url(s)

    r = evaluate_scenario(s)
    mc = scenario_monte_carlo(s)
    m = [*st.columns(3), *st.columns(3)]
    m[0].metric("Profit at this price", money(r.profit), border=True,
                help="Per month, after fixed costs.")
    m[1].metric("Optimal price", price(r.optimum.price if r.optimum else None), border=True,
                delta=(f"{(r.optimum.price / s.price_per_m - 1) * 100:+.0f} % vs ours"
                       if r.optimum else None), delta_color="off")
    m[2].metric("Profit at the optimum", money(r.optimum.profit if r.optimum else None),
                border=True)
    m[3].metric("Break-even prices",
                f"{price(r.break_even_low)} – {price(r.break_even_high)}"
                if r.break_even_low is not None else "—", border=True)
    m[4].metric("Contribution margin", ui.fmt_number(r.contribution_margin, pct=True),
                border=True, help=f"Unit cost {price(r.unit_cost)} per 1M tokens "
                f"(GPU {price(r.gpu_cost_per_m)}, support {price(r.support_cost_per_m)}).")
    m[5].metric("Probability of a loss", ui.fmt_number(mc.prob_loss, pct=True), border=True)
    if r.optimum is None:
        st.warning(f"No profit-maximising price: {ui.md_text(r.optimum_note)}. With demand "
                   "this inelastic, raising the price always raises profit in this model; "
                   "check the elasticity.")
    elif r.optimum_note:
        st.warning(ui.md_text(r.optimum_note).capitalize() + ".")
    if r.break_even_note:
        st.caption("Break-even: " + ui.md_text(r.break_even_note))

    tabs = st.tabs(["Profit curve", "Revenue and cost", "Tornado", "Heat map", "Monte Carlo",
                    "Goal seek"])
    curve = r.curve.to_frame()
    with tabs[0]:
        be = [b for b in (r.break_even_low, r.break_even_high) if b is not None]
        st.altair_chart(charts.profit_curve_chart(
            curve, price=s.price_per_m, optimum=r.optimum.price if r.optimum else None,
            break_even=be), width="stretch")
        st.caption("Orange: our price; green: the optimum; red dashed: break-even prices.")
    with tabs[1]:
        st.altair_chart(charts.revenue_cost_chart(curve), width="stretch")
        st.caption("Profit is the gap between revenue and total cost.")
    with tabs[2]:
        tor = scenario_tornado(s)
        st.altair_chart(charts.tornado_chart(tor), width="stretch")
        st.caption(f"Profit when each input alone moves ±{s.sensitivity_pct:g} %; the longest "
                   "bars are the inputs to get right first.")
    with tabs[3]:
        table = scenario_profit_table(s)
        st.altair_chart(charts.heatmap_chart(table_to_long(table)), width="stretch")
        st.caption("Profit for each price and unit cost; red cells lose money.")
    with tabs[4]:
        st.altair_chart(charts.monte_carlo_chart(mc.histogram(), p5=mc.p5, p50=mc.p50,
                                                 p95=mc.p95), width="stretch")
        st.caption(f"{mc.draws:,} draws (seed {mc.seed}): P5 {money(mc.p5)}, median "
                   f"{money(mc.p50)}, P95 {money(mc.p95)}; probability of a loss "
                   f"{mc.prob_loss:.1%}.")
    with tabs[5]:
        g1, g2 = st.columns(2)
        g1.metric(f"Price for a {s.target_margin:.0%} margin",
                  price(r.price_for_target_margin))
        g2.metric(f"Lowest price for a profit of {money(s.target_profit)}",
                  price(r.price_for_target_profit))
        if r.target_profit_note:
            st.caption(ui.md_text(r.target_profit_note))
        st.caption("Set the targets under “More inputs”.")


segment_picker()
whatif()
st.caption("The page address holds every input: copy it to share this what-if. Save it by "
           "name on the Scenarios page.")
