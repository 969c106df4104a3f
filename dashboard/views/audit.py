"""Audit trail (admins only): who uploaded, tagged, loaded, saved or deleted what, and when.

Listed in the navigation of admins only; the page also refuses anyone else itself (the
refusal is audited too). The access settings in force and the data resets are on the
Settings page (linked at the end).
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboard import access, state, ui
from dashboard.access import Role
from data import audit

user = access.require(Role.ADMIN, "audit_view", target="audit")  # AccessDenied: a message

st.title("Audit trail")
st.caption(
    "Who uploaded which file, started or stopped which tagging run, loaded entity shards, "
    "saved or deleted which scenario, reset which data, signed in or out, and which actions "
    "were refused: "
    "newest first, times in UTC. Actions from the command line name the OS user "
    "(source cli). Filter below; the download holds the rows shown."
)

ACTIONS = [
    audit.UPLOAD,
    audit.TAG_START,
    audit.TAG_STOP,
    audit.TAG_END,
    audit.SHARD_LOAD,
    audit.SCENARIO_SAVE,
    audit.SCENARIO_DELETE,
    audit.DATA_RESET,
    audit.SIGN_IN,
    audit.SIGN_OUT,
    audit.ACCESS_DENIED,
]

c1, c2, c3, c4 = st.columns([3, 2, 1, 1])
# a session may forge any list for a widget: each action once, no other (#12 round 17)
actions = ui.chosen_options(
    c1.multiselect("Actions", ACTIONS, key="au_actions", placeholder="All actions"), ACTIONS
)
actor = c2.text_input(
    "Who",
    key="au_actor",
    max_chars=200,
    placeholder="an e-mail address, local:NAME or system",
    help="Rows of exactly this actor (case does not matter).",
)
since = c3.date_input(
    "Since (UTC)",
    value=None,
    key="au_since",
    format="YYYY-MM-DD",
    help="Empty: from the first row.",
)
limit = int(
    c4.number_input(
        "Rows at most", min_value=10, max_value=100_000, value=1000, step=100, key="au_limit"
    )
)

since_at = (
    dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC) if isinstance(since, dt.date) else None
)
rows = audit.read_log(
    state.store(),
    limit=limit,
    actions=actions or None,
    actor=(actor or "").strip() or None,
    since=since_at,
    ignore_case=True,  # as the filter's help says
)
if rows is None or len(rows) == 0:
    st.info("No audit rows match. Clear a filter, or come back once someone has acted.")
else:
    st.caption(
        f"{len(rows):,} rows" + (f" (the newest {limit:,})" if len(rows) >= limit else "") + "."
    )
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        column_config={
            "at": st.column_config.DatetimeColumn("When (UTC)"),
            "detail": st.column_config.TextColumn("Detail", width="large"),
        },
    )
st.download_button(
    "Download audit log (CSV)",
    audit.log_csv(rows),
    file_name="audit-log.csv",
    mime="text/csv",
    key="au_csv",
    icon=":material/download:",
    on_click="ignore",
    disabled=rows is None or len(rows) == 0,
)

st.page_link(
    "views/settings.py", label="Access settings and data resets", icon=":material/settings:"
)
