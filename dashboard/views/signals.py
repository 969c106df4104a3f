"""Signals: surges of negative tickets (open alerts first), the negative-share trends behind
them, and the customers at risk with the offer to make.

Thin over ``analytics.alerts`` and ``analytics.risk`` (cached in ``dashboard.queries``). The
sentiment is the tagger's once it has labelled as many tickets as the demo's ground truth
covers, else the ground truth (``analytics.alerts.signal_source``); the page says which.
Viewers see ticket text, entity names and the download with customer data masked
(``ui.visible_tickets``, ``ui.visible_column``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pandas as pd
import streamlit as st

from analytics.alerts import DIMENSIONS, SurgeRule
from analytics.errors import InsufficientDataError
from analytics.risk import RISK_NOTE, offer_assumptions_text
from dashboard import access, charts, queries, ui

CARDS = 25  # an alert's tickets shown as cards (the newest alerts have fewer)
EARLIER_CARDS = 10  # closed alerts shown as cards; the table holds all of them
TREND_LINES = 6  # most series drawn in the trend chart
DIMENSION_NAMES = {
    "all": "All tickets",
    "segment": "Segment",
    "region": "Region",
    "plan": "Plan",
    "product": "Product",
    "competitor": "Competitor named",
}
NO_COMPETITOR = "(none named)"
SORTS = {
    "Risk": "risk",
    "Expected profit effect": "profit_effect",
    "Volume": "volume_m",
    "Negative tickets": "negative_tickets",
}
#: Masked for viewers: alert texts and entity names come from ticket text.
ALERT_TEXT_COLUMNS = ["alert", "value", "entities"]
RISK_TABLE = {
    "customer_id": "Customer",
    "name": "Name",
    "segment": "Segment",
    "plan": "Plan",
    "region": "Region",
    "risk": st.column_config.NumberColumn(
        "Risk (a month)", format="percent", help="Probability of leaving within a month"
    ),
    "lift": st.column_config.NumberColumn("× average", format="%.1f"),
    "negative_tickets": st.column_config.NumberColumn(
        "Negative tickets", format="%d", help="In the last 90 days"
    ),
    "competitor_tickets": st.column_config.NumberColumn("Naming a competitor", format="%d"),
    "top_competitor": "Competitor named most",
    "latest_cut": st.column_config.DateColumn("Its latest cut"),
    "latest_cut_pct": st.column_config.NumberColumn("Cut, %", format="%.0f"),
    "volume_m": st.column_config.NumberColumn("Volume, M tokens/month", format="%,.1f"),
    "price_per_m": st.column_config.NumberColumn("Price, USD per 1M", format="$%.3f"),
    "action": "Recommended action",
    "discount": st.column_config.NumberColumn("Discount", format="percent"),
    "new_plan": "New plan",
    "new_price": st.column_config.NumberColumn("New price, USD per 1M", format="$%.3f"),
    "profit_hold": st.column_config.NumberColumn(
        "Expected profit if we hold, USD/month", format="dollar"
    ),
    "profit_effect": st.column_config.NumberColumn(
        "Profit effect, USD/month", format="dollar", help="Expected change against holding"
    ),
    "reason": st.column_config.TextColumn("Why", width="large"),
}

st.title("Signals")
st.caption(
    "Where negative tickets surge (open alerts first), the trends behind the alerts, and the "
    "customers most at risk of leaving with the offer to make them. Each alert opens its "
    "negative tickets. Days are UTC; the sidebar filters do not apply here."
)


def alert_key(row: Any) -> str:
    """A stable widget key of an alert: ``<dimension>_<first period>_<hash of all of it>``."""
    text = f"{row.dimension}|{row.value}|{row.freq}|{row.since}"
    digest = hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()[:10]
    return f"{row.dimension}_{row.since:%Y-%m-%d}_{digest}"


def last_day(row: Any) -> dt.date:
    """The last day of an alert's last alarmed period (a week ends six days after Monday)."""
    return row.last + dt.timedelta(days=6 if row.freq == "week" else 0)


def show_tickets(row: Any, source: Any, user: access.User) -> None:
    """The entities most named by one alert's negative tickets and the tickets as cards,
    masked for viewers (read from the tickets only for the alert opened)."""
    details = queries.alert_details(source, row)
    named = ui.visible_column(
        pd.DataFrame({"entities": [details["entities"]]}), ["entities"], user
    )["entities"].iloc[0]
    if named:
        st.caption(f"Entities most named: {ui.md_text(named)}")
    model = None if source.entities == "gold" else source.entities
    keys = tuple(details["ticket_keys"])
    # only the tickets shown as cards are read, by their keys
    shown = queries.alert_tickets(keys[:CARDS], row.since, last_day(row), model)
    shown = ui.visible_tickets(shown, user)
    if ui.empty_frame(shown):
        st.info("Its tickets are no longer in the database.")
        return
    listed = f"{len(keys):,} negative tickets, oldest first" + (
        f"; the first {len(shown)} as cards" if len(shown) < len(keys) else ""
    )
    marks = (
        f"entities highlighted ({source.entities_label})"
        if model is not None
        else "no entities highlighted (no tagger has read these tickets yet)"
    )
    st.caption(f"{listed}; {marks}. Ticket text is shown exactly as written, never run.")
    st.html(
        ui.ticket_cards_html(shown, ("created_at", "customer_id", "segment", "channel", "category"))
    )


def alert_card(row: Any, shown: Any, source: Any, user: access.User) -> None:
    """One alert: what, where, since when, how many, which entities; its tickets on demand."""
    unit = row.freq + ("s" if row.periods != 1 else "")
    with st.container(border=True):
        st.markdown(f"**{ui.md_text(shown.alert)}** · {'open' if row.open else 'closed'}")
        st.caption(
            f"Since {row.since:%Y-%m-%d} (last alarmed {row.last:%Y-%m-%d}; {row.periods} "
            f"alarmed {unit}) · {row.negative:,} negative of {row.tickets:,} tickets, from "
            f"{row.customers:,} customers · unhappy customers of this scope per customer "
            f"writing in: {row.rate:.1%} against {row.baseline_rate:.1%} before "
            f"({row.expected:.1f} expected) · p = {row.p_value:.2g}"
        )
        if st.toggle(
            f"Open its {row.negative:,} negative tickets and the entities they name",
            key=f"sig_open_{alert_key(row)}",
        ):
            show_tickets(row, source, user)


def trend_section(alerts: pd.DataFrame, source: Any, user: access.User) -> None:
    """The negative-share trend of one dimension's busiest values and alerted ones."""
    st.subheader("Negative share behind the alerts")
    first = alerts.iloc[0]["dimension"] if len(alerts) else "all"
    c1, c2 = st.columns([2, 1])
    dim = c1.selectbox(
        "Scope",
        list(DIMENSIONS),
        index=list(DIMENSIONS).index(first),
        format_func=DIMENSION_NAMES.get,
        key="sig_dim",
    )
    freq = (
        c2.segmented_control("Trend per", ["day", "week"], default="week", key="sig_trend_freq")
        or "week"
    )
    share = queries.negative_share(source, freq=freq, dimension=dim)
    if ui.empty_frame(share):
        st.info("No ticket of this scope has a sentiment label.")
        return
    mine = alerts[alerts["dimension"] == dim]
    busiest = share.groupby("value")["tickets"].sum().sort_values(ascending=False).index
    values = list(dict.fromkeys([*mine["value"], *busiest]))[:TREND_LINES]
    share = ui.visible_column(share[share["value"].isin(values)], ["value"], user)
    marks = ui.visible_column(mine[mine["value"].isin(values)][["alert", "since"]], ["alert"], user)
    st.vega_lite_chart(
        charts.chart_spec(charts.negative_share_chart, share, marks, freq=freq), width="stretch"
    )
    st.caption(
        f"Share of each {DIMENSION_NAMES[dim].lower()} value's tickets that are "
        f"negative, per {freq} (weeks start on Monday); the {len(values)} values with "
        "alerts or the most tickets. Red dashed lines: the first alarmed period of an "
        "alert of this scope. The alerts test customers, not tickets: a customer "
        "writing five times about one incident counts once."
    )


def risk_section(source: Any, user: access.User) -> None:
    """Customers at risk: filters, a sortable table, the notes and a formula-safe CSV."""
    st.subheader("Customers at risk")
    st.caption(
        f"{RISK_NOTE} Signals behind it: usage trend, negative tickets, competitor "
        "mentions (and that competitor's latest price cut), plan and segment."
    )
    try:
        risk = queries.customers_at_risk(source)
    except InsufficientDataError as exc:
        st.info(f"Customers are not scored: {ui.md_text(exc)}.")
        return
    try:
        bt = queries.risk_backtest(source)
        st.caption(
            f"How well it ranks: ROC AUC {bt.auc:.2f} ± {bt.auc_se:.2f} on later months "
            f"than it was fitted on ({bt.test_rows:,} customer-months, "
            f"{bt.test_positives:,} churned), against {bt.baseline_auc:.2f} for the "
            "usage trend alone (0.5 = chance)."
        )
    except InsufficientDataError as exc:
        st.caption(f"No backtest: {ui.md_text(exc)}.")
    if ui.empty_frame(risk):
        st.info("No customer's risk stands out from the average today.")
        return
    named = risk["top_competitor"].fillna(NO_COMPETITOR).astype(str)
    c1, c2, c3 = st.columns(3)
    segment_options = sorted(risk["segment"].dropna().unique())
    segments = ui.chosen_options(
        c1.multiselect("Segment", segment_options, key="sig_seg", placeholder="All segments"),
        segment_options,
    )
    competitor_options = sorted(set(named))
    competitors = ui.chosen_options(
        c2.multiselect(
            "Competitor named",
            competitor_options,
            key="sig_comp",
            placeholder="Any competitor or none",
        ),
        competitor_options,
    )
    by = c3.selectbox("Sort by", list(SORTS), key="sig_sort")
    keep = pd.Series(True, index=risk.index)
    if segments:
        keep &= risk["segment"].isin(segments)
    if competitors:
        keep &= named.isin(competitors)
    view = risk[keep].sort_values([SORTS[by], "customer_id"], ascending=[False, True])
    view = ui.visible_column(view[list(RISK_TABLE)], ["name", "customer_id"], user)
    st.caption(
        f"{len(view):,} of {len(risk):,} customers at risk, by "
        f"{by.lower()}; click a column header to sort by it."
    )
    st.dataframe(view, hide_index=True, width="stretch", column_config=RISK_TABLE)
    st.caption(offer_assumptions_text())
    ui.csv_download("Download these customers (CSV)", view, "customers-at-risk.csv", "sig_csv")


user = access.current_user()
source = queries.signal_source()
if source is None:
    _, total = queries.tagging_progress(None)
    if total == 0:
        st.info("There are no tickets yet. Upload ticket files on the **Batch tagging** page.")
    else:
        st.info(
            "No ticket has a sentiment label: neither a tagger with a sentiment head nor "
            "demo ground truth has labelled these tickets, so there are no alerts and no "
            "customers at risk to show. Tag the tickets with a tagger that has a "
            "sentiment head, or create a demo with `python -m data demo`."
        )
    st.stop()

if source.sentiment == "gold":
    why = (
        "no tagger has labelled sentiment yet"
        if not source.model_labelled
        else f"the tagger {ui.md_text(source.model)} has labelled {source.model_labelled:,} of "
        f"{source.tickets:,} tickets so far; its sentiment is shown once it has labelled "
        f"as many as the ground truth covers ({source.gold_labelled:,})"
    )
    st.info(
        f"Sentiment shown: **demo ground truth** (the labels the demo generator planted; "
        f"{why}). Entities: {ui.md_text(source.entities_label)}.",
        icon=":material/science:",
    )
else:
    st.caption(
        f"Sentiment shown: **{ui.md_text(source.label)}**. Entities: "
        f"{ui.md_text(source.entities_label)}."
    )
    if source.partial:
        st.warning(
            f"The tagger has labelled the sentiment of {source.model_labelled:,} of "
            f"{source.tickets:,} tickets so far: the alerts and customers at risk "
            "count only those until tagging has finished.",
            icon=":material/hourglass_top:",
        )

freq = st.segmented_control("Alerts per", ["day", "week"], default="day", key="sig_freq") or "day"
# no ticket read for the list: an alert's tickets and entities load when it is opened
alerts = queries.surge_alerts(source, freq=freq, open_only=False, details=False)
days = queries.signal_days(source)
shown = ui.visible_column(alerts, ALERT_TEXT_COLUMNS, user)
rows = list(zip(alerts.itertuples(index=False), shown.itertuples(index=False), strict=True))
opened = [(row, text) for row, text in rows if row.open]
closed = [(row, text) for row, text in rows if not row.open]

st.subheader(f"Open alerts ({len(opened)})")
st.caption(
    f"An alert is open while its scope alarmed in the last {SurgeRule().open_periods} "
    f"{freq}s before the last day with tickets"
    + (f" ({days[1]:%Y-%m-%d})" if days else "")
    + ". Rule: "
    + ui.md_text(SurgeRule().describe(freq))
    + "."
)
if not opened:
    st.success(
        "No open alerts: no scope's negative tickets surge now.", icon=":material/check_circle:"
    )
for row, text in opened:
    alert_card(row, text, source, user)

st.subheader(f"Earlier alerts ({len(closed)})")
if not closed:
    st.caption("None in the data.")
else:
    st.caption(
        f"Newest first; the {min(EARLIER_CARDS, len(closed))} newest as cards, all in "
        "the table below them."
    )
    for row, text in closed[:EARLIER_CARDS]:
        alert_card(row, text, source, user)
    with st.expander(f"All {len(closed)} earlier alerts as a table"):
        st.dataframe(
            shown[~alerts["open"].astype(bool)].drop(
                columns=["ticket_keys", "entities", "rule", "open"]
            ),
            hide_index=True,
            width="stretch",
        )

trend_section(alerts, source, user)
risk_section(source, user)
