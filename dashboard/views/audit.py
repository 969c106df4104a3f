"""Audit trail (admins only): who uploaded, tagged, loaded, saved or deleted what, and when.

Listed in the navigation of admins only; the page also refuses anyone else itself (the
refusal is audited too). Shows the access settings in force, read-only: they live in the
access file and the environment, not in the app.
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
    "saved or deleted which scenario, signed in or out, and which actions were refused: "
    "newest first, times in UTC. Actions from the command line name the OS user "
    "(source cli). Filter below; the download holds the rows shown."
)

ACTIONS = [audit.UPLOAD, audit.TAG_START, audit.TAG_STOP, audit.TAG_END, audit.SHARD_LOAD,
           audit.SCENARIO_SAVE, audit.SCENARIO_DELETE, audit.DATA_RESET, audit.SIGN_IN,
           audit.SIGN_OUT, audit.ACCESS_DENIED]

c1, c2, c3, c4 = st.columns([3, 2, 1, 1])
actions = c1.multiselect("Actions", ACTIONS, key="au_actions", placeholder="All actions")
actor = c2.text_input("Who", key="au_actor", max_chars=200,
                      placeholder="an e-mail address, local:NAME or system",
                      help="Rows of exactly this actor (case does not matter).")
since = c3.date_input("Since (UTC)", value=None, key="au_since", format="YYYY-MM-DD",
                      help="Empty: from the first row.")
limit = int(c4.number_input("Rows at most", min_value=10, max_value=100_000, value=1000,
                            step=100, key="au_limit"))

since_at = (dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC)
            if isinstance(since, dt.date) else None)
rows = audit.read_log(state.store(), limit=limit, actions=actions or None,
                      actor=(actor or "").strip() or None, since=since_at)
if rows is None or len(rows) == 0:
    st.info("No audit rows match. Clear a filter, or come back once someone has acted.")
else:
    st.caption(f"{len(rows):,} rows" + (f" (the newest {limit:,})" if len(rows) >= limit
                                         else "") + ".")
    st.dataframe(rows, hide_index=True, width="stretch",
                 column_config={"at": st.column_config.DatetimeColumn("When (UTC)"),
                                "detail": st.column_config.TextColumn("Detail",
                                                                      width="large")})
st.download_button("Download audit log (CSV)", audit.log_csv(rows), file_name="audit-log.csv",
                   mime="text/csv", key="au_csv", icon=":material/download:",
                   on_click="ignore", disabled=rows is None or len(rows) == 0)

st.subheader("Access settings")
try:
    providers = access.auth_providers()
except access.AccessSettingsError as exc:
    providers = None
    st.error(ui.md_text(exc))
if providers is None:
    st.caption(f"Local mode: sign-in is not configured, so the app answers on this machine "
               f"only and its user ({ui.md_text(user.actor)}) is an admin.")
else:
    names = ", ".join(p or "default" for p in providers)
    st.caption(f"Sign-in with {ui.md_text(names)} (.streamlit/secrets.toml). Change who may "
               f"come in and their roles in the access file or the environment (below); the "
               "app reads the change on the next page run.")
try:
    current = access.settings()
except access.AccessSettingsError as exc:
    st.error(f"The access settings cannot be used: {ui.md_text(exc)}")
else:
    st.dataframe(
        [{"role": "admin", "entries": access.actors(current.admins)},
         {"role": "analyst", "entries": access.actors(current.analysts)},
         {"role": "viewer (allow)", "entries": access.actors(current.allow)}],
        hide_index=True, width="stretch",
        column_config={"role": "Role", "entries": st.column_config.TextColumn(
            "E-mail addresses and @domains", width="large")})
    st.caption(f"From {ui.md_text(current.source or access.access_file())} "
               f"({access.ACCESS_FILE_ENV}; {', '.join(access.ENV_LISTS.values())} add to "
               "the lists).")
