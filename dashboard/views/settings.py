"""Settings (admins only): sign-in and the access lists in force, read-only, and data resets.

Listed in the navigation of admins only; the page also refuses anyone else itself (the
refusal is audited). The access lists live in the access file and the environment, not in
the app: the page shows them and where each entry comes from, and says how to change them.

A data reset (``data.reset``: one model's tagging results, one batch of tickets, every saved
scenario) needs the confirmation word typed before its button acts. The button's handler
(:func:`reset_data`) checks the admin role again and the word itself before anything is
removed, so a forged widget event from another role is refused and recorded; the reset and
its ``data_reset`` audit row are one transaction.
"""

from __future__ import annotations

import dataclasses
import logging
import operator
import os
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import access, queries, state, ui
from dashboard.access import Role
from data import reset, reset_targets

log = logging.getLogger("dashboard.views.settings")

#: What has to be typed before a reset button acts.
CONFIRM_WORD = state.RESET_CONFIRM_WORD
KIND_KEY, MODEL_KEY, BATCH_KEY = "set_kind", "set_model", "set_batch"
CONFIRM_KEY, RESULT_KEY = "set_confirm", "_set_reset_result"
KIND_LABELS = {
    reset.MODEL: "Tagging results of a model",
    reset.BATCH: "A batch of tickets",
    reset.SCENARIOS: "All saved scenarios",
}


def _on_reset(kind: str, target: str | None) -> None:
    """The reset button's handler: runs before the page (even for a forged event), so it
    catches everything and leaves the outcome for the page to show."""
    confirmation = str(st.session_state.get(CONFIRM_KEY) or "")
    st.session_state[CONFIRM_KEY] = ""  # every reset needs the word typed again
    try:
        result = state.reset_data(kind, target, confirmation)
    except access.AccessDenied as exc:
        st.session_state[RESULT_KEY] = ("error", str(exc))
    except reset.ResetError as exc:
        st.session_state[RESULT_KEY] = ("error", f"Nothing was reset: {ui.md_text(exc)}.")
    except Exception as exc:  # shown in words; the log has the traceback
        log.exception("data reset %s %r failed", kind, target)
        st.session_state[RESULT_KEY] = ("error", ui.friendly_message(exc))
    else:
        st.session_state[RESULT_KEY] = ("success", ui.md_text(result.message))


def _sign_in_section(user: access.User) -> None:
    st.subheader("Sign-in")
    try:
        providers = access.auth_providers()
    except access.AccessSettingsError as exc:
        st.error(f"Sign-in is misconfigured: {ui.md_text(exc)}", icon=":material/lock:")
        return
    if providers is None:
        st.info(
            f"Sign-in is **not configured** (local mode): the app answers on this machine "
            f"only, and its user ({ui.md_text(user.actor)}) is an admin. To open it to a "
            "network, configure sign-in in `.streamlit/secrets.toml` (README: Sign-in, "
            "roles and deployment).",
            icon=":material/computer:",
        )
    else:
        names = ", ".join(p or "the default provider" for p in providers)
        st.success(
            f"Sign-in is **configured** with {ui.md_text(names)} "
            "(`[auth]` in `.streamlit/secrets.toml`).",
            icon=":material/login:",
        )


def _access_section() -> None:
    st.subheader("Access lists")
    named = os.environ.get(access.ACCESS_FILE_ENV, "").strip()
    try:
        path = access.access_file()
        merged = access.settings()
        in_file = access.settings({access.ACCESS_FILE_ENV: named})  # the file alone
    except access.AccessSettingsError as exc:
        st.error(
            f"The access settings cannot be used, so nobody signing in is let in: "
            f"{ui.md_text(exc)}",
            icon=":material/error:",
        )
        return
    roles = {"allow": "viewer", "analysts": "analyst", "admins": "admin"}
    rows = []
    for key, variable in access.ENV_LISTS.items():
        entries, from_file = getattr(merged, key), getattr(in_file, key)
        rows.append(
            {
                "list": key,
                "role": roles[key],
                "file": access.actors(from_file),
                "environment": access.actors(e for e in entries if e not in from_file),
                "variable": variable,
            }
        )
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={
            "list": "List",
            "role": "Role",
            "file": st.column_config.TextColumn("From the access file", width="large"),
            "environment": st.column_config.TextColumn("Added by the environment", width="medium"),
            "variable": "Variable",
        },
    )
    origin = (
        f"named by {access.ACCESS_FILE_ENV}"
        if named
        else f"the default; {access.ACCESS_FILE_ENV} names another"
    )
    exists = "" if path.is_file() else " (it does not exist: its lists are empty)"
    st.caption(f"Access file: {ui.md_text(path)} ({origin}){exists}.")
    if merged.empty:
        st.warning(
            "Every list is empty: once sign-in is configured, nobody is let in.",
            icon=":material/group_off:",
        )
    st.caption(
        "Read-only here. To change who may come in and with which role, edit the "
        "access file: the app re-reads it when it changes, so the change holds from "
        "the next page run, without a restart. The variables "
        f"({', '.join(access.ENV_LISTS.values())}, comma-separated) add to the file's "
        "lists; they are read from the server's environment, so changing them needs a "
        "restart."
    )


def _pick(items: tuple[Any, ...], label: str, key: str, columns: dict[str, str]) -> Any:
    """A table of ``items`` (dataclasses; ``columns``: field → heading, the first names
    them) and a box to pick one by that name; the item picked."""
    st.dataframe(
        pd.DataFrame([dataclasses.asdict(i) for i in items]),
        hide_index=True,
        width="stretch",
        column_config=columns,
    )
    name_of = operator.attrgetter(next(iter(columns)))
    picked = st.selectbox(label, [name_of(i) for i in items], key=key)
    return next(i for i in items if name_of(i) == picked)


def _choose(targets: reset_targets.ResetTargets) -> tuple[str, str | None, str] | None:
    """The reset chosen on the page: (kind, target, what it removes in words), or None."""
    kind = st.radio(
        "What to reset",
        list(KIND_LABELS),
        format_func=KIND_LABELS.__getitem__,
        key=KIND_KEY,
        horizontal=True,
    )
    if kind == reset.SCENARIOS:
        return (kind, None, f"{targets.scenarios:,} saved scenarios")
    if kind == reset.MODEL:
        if not targets.models:
            st.info("No model has tagged any ticket yet.")
            return None
        m = _pick(
            targets.models,
            "Model",
            MODEL_KEY,
            {
                "model_id": "Model",
                "tagged_tickets": "Tagged tickets",
                "entities": "Entities",
                "runs": "Tagging runs",
            },
        )
        return (
            kind,
            m.model_id,
            f"{m.tagged_tickets:,} tagged tickets, {m.entities:,} "
            f"entities and {m.runs:,} tagging runs of this model; its next tagging run "
            "tags every ticket again",
        )
    if not targets.batches:
        st.info("The store holds no ticket.")
        return None
    b = _pick(
        targets.batches,
        "Batch",
        BATCH_KEY,
        {
            "source": "Batch (file name, or demo)",
            "tickets": "Tickets",
            "entities": "Entities (all models)",
            "files": "Ingested files",
        },
    )
    if b.tickets and b.tickets == targets.tickets:
        st.warning(
            "This batch holds every ticket in the store. With no ticket left, the app "
            "creates the demo tickets again on its next start.",
            icon=":material/warning:",
        )
    files = (
        f", and its {b.files:,} ingested-file record{'s' if b.files != 1 else ''} "
        "(so the same file can be uploaded again)"
        if b.files
        else ""
    )
    return (
        kind,
        b.source,
        f"{b.tickets:,} tickets with their {b.entities:,} entities (all models){files}",
    )


def _reset_section() -> None:
    st.subheader("Data reset")
    st.caption(
        "Removes data for good, in one step that is recorded in the audit trail. "
        "Customers, usage and prices are never touched."
    )
    outcome = st.session_state.pop(RESULT_KEY, None)
    if outcome is not None:
        kind, message = outcome
        (st.success if kind == "success" else st.error)(message)
    chosen = _choose(queries.reset_targets())
    if chosen is None:
        return
    kind, target, removes = chosen
    st.markdown(f"This removes {ui.md_text(removes)}.")
    running = kind != reset.SCENARIOS and state.job().status().running
    if running:
        st.warning(
            "Tagging is running. Stop it on Batch tagging first (it stops after its "
            "current batch).",
            icon=":material/hourglass_top:",
        )
    typed = st.text_input(
        f"Type {CONFIRM_WORD} to confirm", key=CONFIRM_KEY, max_chars=20, placeholder=CONFIRM_WORD
    )
    st.button(
        "Reset",
        key="set_reset",
        type="primary",
        icon=":material/delete_forever:",
        disabled=running or (typed or "").strip() != CONFIRM_WORD,
        on_click=_on_reset,
        args=(kind, target),
    )


user = access.require(Role.ADMIN, "settings_view", target="settings")  # AccessDenied: a message

st.title("Settings")
st.caption(
    "Who may come in and with which role (read-only: see below how to change it), and data resets."
)
_sign_in_section(user)
_access_section()
_reset_section()
