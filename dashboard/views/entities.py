"""Entities: what the tickets talk about, competitor mentions against real price cuts.

Viewers see ticket text, entity names and the download with customer data masked
(``ui.visible_tickets``); analysts and admins see them as written.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import access, charts, queries, state, ui
from data.export import flatten_entities

LABELS = ["ORG", "PRODUCT", "PER", "LOC"]
LABEL_NAMES = {"ORG": "Organisations", "PRODUCT": "Products", "PER": "People", "LOC": "Places"}
ALL = "(all tickets)"
CARDS = 25  # tickets shown as cards; the table and the download hold all listed tickets
LIMIT = 200  # tickets listed at most

st.title("Entities")
st.caption(
    "Organisations, products, people and places that the tagger finds in support tickets. "
    "Click a bar (or pick an entity below the chart) to list the tickets that mention it. "
    "Competitor mentions are drawn against the real competitor price cuts (dashed lines). "
    "Dates and times are UTC."
)


@st.cache_data(show_spinner=False)
def reference_cuts() -> pd.DataFrame:
    """Price-cut events from the reference price data, as chart rules."""
    from data.reference import price_cut_events

    return cut_rules(price_cut_events())


def cut_rules(events: pd.DataFrame) -> pd.DataFrame:
    """Price-cut events (``data.reference.price_cut_events``) as chart rules:
    ``date``, ``vendor``, ``label`` ("model −x %")."""
    if events is None or len(events) == 0:
        return pd.DataFrame(
            {
                "date": pd.Series(dtype="datetime64[ns]"),
                "vendor": pd.Series(dtype=str),
                "label": pd.Series(dtype=str),
            }
        )
    out = pd.DataFrame(
        {"date": pd.to_datetime(events["date"]), "vendor": events["vendor"].astype(str)}
    )
    out["label"] = [
        f"{m} {p:+.0f} %" for m, p in zip(events["model"], events["pct_change"], strict=True)
    ]
    return out.reset_index(drop=True)


user = access.current_user()
options = queries.filter_options()
bounds = queries.date_bounds()
filters = ui.sidebar_filters(options, bounds)
model_id = queries.current_model_id()
done, total = queries.tagging_progress(model_id)
job = state.job().status()

if total == 0:
    st.info("There are no tickets yet. Upload ticket files on the **Batch tagging** page.")
    st.stop()
if model_id is None:
    if job.running:
        st.info(
            "The tagger is reading the tickets for the first time. This page fills in as "
            "tagging proceeds: come back in a moment."
        )
    else:
        st.info("No ticket has been tagged yet. Start tagging on the **Batch tagging** page.")
    st.stop()
if done < total:
    st.progress(
        done / total,
        text=f"{done:,} of {total:,} tickets tagged"
        + (
            " so far; this page fills in as tagging proceeds."
            if job.running
            else ". Start tagging on the Batch tagging page to tag the rest."
        ),
    )

labels = ui.chosen_options(
    st.pills(
        "Entity types",
        LABELS,
        selection_mode="multi",
        default=LABELS,
        format_func=lambda label: LABEL_NAMES[label],
        key="ent_labels",
    ),
    LABELS,
) or list(LABELS)

left, right = st.columns([2, 3])
with left:
    st.subheader("Top entities")
    top = ui.visible_column(
        queries.top_entities(filters, model_id, labels=tuple(labels), limit=8), ["entity"], user
    )
    picked: dict | None = None
    if ui.empty_frame(top):
        st.info("No entities in this selection. Widen the filters or tag more tickets.")
    else:
        event = st.vega_lite_chart(
            charts.chart_spec(charts.top_entities_chart, top),
            on_select="rerun",
            key="ent_chart",
            width="stretch",
        )
        points = (event.get("selection", {}) or {}).get(charts.ENTITY_SELECTION) or []
        if points:
            picked = {"label": points[0].get("label"), "entity": points[0].get("entity")}
with right:
    st.subheader("Competitor mentions and price cuts")
    try:
        cuts = reference_cuts()
    except ImportError:
        cuts = cut_rules(pd.DataFrame())
    mentions = queries.competitor_mentions(filters, model_id)
    if ui.empty_frame(mentions):
        st.info("No competitor mentions found in the tagged tickets of this selection.")
    else:
        period = queries.resolve_period(filters)
        st.vega_lite_chart(
            charts.chart_spec(
                charts.competitor_mentions_chart,
                mentions,
                cuts,
                start=period.start,
                end=period.end,
            ),
            width="stretch",
        )
        st.caption(
            "Share of tagged tickets each month that mention a competitor: an "
            "organisation or product named after a competitor or one of its model "
            "families (GPT-4o → OpenAI, Gemini 3 Pro → Google, Nova Pro → Amazon; not "
            "Google Sheets). Dashed lines: real list-price cuts in the selected period. "
            "Months are UTC."
        )

st.subheader("Trends")
trend = queries.entity_trends(filters, model_id, labels=tuple(labels), top=6)
if ui.empty_frame(trend):
    st.info("No entity mentions over time in this selection.")
else:
    st.vega_lite_chart(
        charts.chart_spec(charts.entity_trend_chart, ui.visible_column(trend, ["entity"], user)),
        width="stretch",
    )

st.subheader("Tickets")
choices = (
    [ALL] + [f"{r.label}: {r.entity}" for r in top.itertuples()]
    if not ui.empty_frame(top)
    else [ALL]
)
last_pick = st.session_state.get("_ent_last_pick")
if picked is not None and picked != last_pick:
    st.session_state["_ent_last_pick"] = picked
    choice = f"{picked['label']}: {picked['entity']}"
    if choice in choices:
        st.session_state["ent_pick"] = choice
if st.session_state.get("ent_pick") not in choices:
    st.session_state["ent_pick"] = ALL
c1, c2 = st.columns([1, 1])
choice = c1.selectbox("Tickets mentioning", choices, key="ent_pick")
search = c2.text_input(
    "Text contains", key="ent_search", max_chars=200, placeholder="any word, e.g. invoice"
)
label = entity = None
if choice != ALL:
    label, _, entity = choice.partition(": ")
tickets = queries.ticket_list(
    filters, model_id, entity=entity, label=label, search=search or None, limit=LIMIT
)
# masked for viewers; their text search keeps only what it finds in the masked text
tickets = ui.visible_tickets(tickets, user, search=search or None)
if ui.empty_frame(tickets):
    st.info("No ticket matches. Clear the entity or the text search, or widen the filters.")
    st.stop()

shown = tickets.head(CARDS)
listed = f"{len(tickets):,} newest matching tickets (at most {LIMIT})"
if len(shown) < len(tickets):
    listed += (
        f": the {len(shown)} newest below as cards, all {len(tickets):,} in the table "
        "and the download"
    )
else:
    listed += ", all below as cards"
st.caption(
    f"{listed}. Entities are highlighted; ticket text is shown exactly as written, "
    "never run. Dates are UTC."
)
st.html(ui.ticket_cards_html(shown, ("created_at", "segment", "channel", "category")))
table = flatten_entities(tickets)
with st.expander(f"All {len(tickets)} tickets as a table"):
    st.dataframe(table, hide_index=True, width="stretch")
ui.csv_download("Download these tickets (CSV)", table, "tickets.csv", "ent_csv")
