"""Scenarios: save the what-if inputs by name, load, compare, share by URL, export.

Saving and deleting are for analysts: the controls are drawn for them only, and
``state.save_scenario`` / ``state.delete_scenario`` check the role again and audit.
"""

from __future__ import annotations

import urllib.parse

import pandas as pd
import streamlit as st

from analytics.errors import ScenarioError, ScenarioNotFoundError
from analytics.saved_scenarios import list_scenarios, load_scenario, saved_scenario_size
from dashboard import access, charts, state, ui
from dashboard.access import Role
from dashboard.scenario_state import (
    MAX_SAVED_SCENARIO_BYTES,
    compared_names,
    scenario_name_problem,
)
from dashboard.shared_compute import compare_scenarios

st.title("Scenarios")
st.caption(
    "Save the inputs of the Pricing what-if and Price war pages under a name, load them "
    "back, and compare several side by side: the table shows each input and result with its "
    "difference from the first scenario. Every scenario also has a link that opens the "
    "what-if with exactly its inputs."
)

CURRENT = "(current inputs)"
store = state.store()
current = ui.linked_scenario(state.current_scenario)
may_write = access.current_user().can(Role.ANALYST)


def share_link(scenario: object) -> str:
    """An address of the Pricing what-if page carrying the scenario's inputs."""
    query = urllib.parse.urlencode(scenario.to_query_params())  # type: ignore[attr-defined]
    base = (st.context.url or "").split("?")[0].rstrip("/")
    root = base.rsplit("/", 1)[0] if base.endswith("/scenarios") else base
    return f"{root}/pricing?{query}"


if may_write:
    st.subheader("Save the current inputs")
    c1, c2 = st.columns([3, 1])
    name = c1.text_input(
        "Name",
        max_chars=80,
        key="sc_name",
        placeholder="e.g. cut to $0.80",
        value=current.name if current.name != "base" else "",
    )
    # Save is always pressable: the click carries what the box holds, so a typed name is
    # saved without pressing Enter first (a button enabled only after the name's own rerun
    # left it disabled whenever that rerun was lost or still to come).
    pressed = c2.button("Save", type="primary", key="sc_save", icon=":material/save:")
    if pressed and not (name or "").strip():
        st.warning("Type a name for the scenario, then press Save: nothing was saved.")
    elif pressed:
        try:
            # checks the role, audits; saved under the cleaned name (NFC, no controls)
            saved_as = state.save_scenario(current.replace(name=name.strip()))
            state.set_scenario(current.replace(name=saved_as))
            st.success(f"Saved as “{ui.md_text(saved_as)}”.")
        except ScenarioError as exc:
            st.error(f"Could not save: {ui.md_text(exc)}")
else:
    st.caption(
        "Saving and deleting scenarios need the analyst role; you can load, compare, "
        "share and export them."
    )

saved = list_scenarios(store)
st.subheader("Saved scenarios")
if saved.empty:
    st.info(
        "No saved scenario yet. Set the inputs on **Pricing what-if**, then save them "
        "here under a name."
        if may_write
        else "No saved scenario yet."
    )
    st.stop()
st.dataframe(
    saved,
    hide_index=True,
    width="stretch",
    column_config={"name": "Name", "created_at": "Created", "updated_at": "Changed"},
)

names = list(saved["name"])
#: Scenarios of the store that cannot be read (saved by another program or an older
#: version: a value out of range, not JSON): named with the reason, never evaluated, so
#: one of them cannot take the page down for everyone; an analyst can still delete it.
unreadable: dict[str, str] = {}


def readable(name: str) -> object | None:
    """The saved scenario ``name``, or None (noted in ``unreadable``) when it cannot be
    read (too large, invalid, an input named past ``MAX_INPUT_NAME_CHARS``); None too when
    another session deleted it meanwhile."""
    size = saved_scenario_size(store, name)
    if size is not None and size > MAX_SAVED_SCENARIO_BYTES:
        # not read at all: saved before the name limit, or written by another program
        unreadable[name] = (
            f"it takes {size:,} bytes; a scenario takes at most {MAX_SAVED_SCENARIO_BYTES:,}"
        )
        return None
    try:
        scenario = load_scenario(store, name)
    except ScenarioNotFoundError:
        return None
    except (ScenarioError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        text = " ".join(str(exc).split()) or type(exc).__name__
        unreadable[name] = text if len(text) <= 300 else text[:299] + "…"
        return None
    if (problem := scenario_name_problem(scenario)) is not None:
        unreadable[name] = problem
        return None
    return scenario


def note_unreadable(names_seen: list[str]) -> None:
    for name in names_seen:
        if name in unreadable:
            st.warning(
                f"The saved scenario “{ui.md_text(name)}” cannot be read "
                f"({ui.md_text(unreadable[name])}); it is left out. "
                + (
                    "Delete it, or save the inputs again under its name."
                    if may_write
                    else "An analyst can delete it."
                ),
                icon=":material/warning:",
            )


c1, c2, c3 = st.columns([3, 1, 1])
pick = c1.selectbox("Scenario", names, key="sc_pick")
picked = readable(pick) if pick is not None else None
if c2.button(
    "Load into the what-if", key="sc_load", icon=":material/upload:", disabled=picked is None
):
    state.set_scenario(picked, reload_inputs=True)
    st.success(f"Loaded “{ui.md_text(pick)}”: open **Pricing what-if** to see it.")
    st.page_link("views/pricing.py", label="Open Pricing what-if", icon=":material/tune:")
if may_write and c3.button("Delete", key="sc_delete", icon=":material/delete:"):
    state.delete_scenario(pick)  # checks the role, audits
    st.rerun()
note_unreadable([pick])
if picked is not None:
    with st.expander("Share by link"):
        st.caption("Anyone with this address opens the what-if with these inputs.")
        st.code(share_link(picked), language=None, wrap_lines=True)

st.subheader("Compare")
chosen = st.multiselect(
    "Scenarios to compare (the first is the baseline)",
    [CURRENT, *names],
    default=[CURRENT, *names[:2]],
    key="sc_compare",
)
chosen, left_out = compared_names(ui.chosen_options(chosen, [CURRENT, *names]))
if left_out is not None:
    st.info(ui.md_text(left_out[0].upper() + left_out[1:]) + ".", icon=":material/info:")
only_diff = st.toggle("Only rows that differ", value=True, key="sc_only_diff")
loaded = {n: readable(n) for n in chosen if n != CURRENT}
note_unreadable([n for n in chosen if n != pick])
chosen = [n for n in chosen if n == CURRENT or loaded.get(n) is not None]
if len(chosen) < 1:
    st.info("Pick at least one scenario.")
    st.stop()
scenarios = [current.replace(name="current") if n == CURRENT else loaded[n] for n in chosen]
table = compare_scenarios(scenarios, only_differences=only_diff)
# a result that does not exist is a note (analytics.scenario_tables.RESULT_NOTES); an empty cell
# (no segment, no difference between texts) is a dash, never "nan" or "None"
cells = table.reset_index().astype(object)
st.dataframe(cells.where(cells.notna(), "—").astype(str), hide_index=True, width="stretch")

results = compare_scenarios(scenarios, only_differences=False)
cols = [c for c in results.columns if c != "kind" and not str(c).startswith("Δ ")]
metric = (
    st.segmented_control(
        "Chart",
        ["profit", "optimal_price", "optimal_profit", "contribution_margin"],
        default="profit",
        key="sc_metric",
    )
    or "profit"
)
chart_df = pd.DataFrame(
    {"scenario": cols, "value": pd.to_numeric(results.loc[metric, cols], errors="coerce")}
)
st.vega_lite_chart(
    charts.chart_spec(charts.comparison_chart, chart_df, value=metric), width="stretch"
)

d1, d2, _ = st.columns([1, 1, 3])
ui.csv_download(
    "Comparison (CSV)", table.reset_index(), "scenarios.csv", "sc_csv", note=False, where=d1
)


d2.download_button(
    "Chart (PNG)",
    lambda: charts.chart_png(charts.comparison_chart, chart_df, value=metric),  # on click
    file_name=f"scenarios-{metric}.png",
    mime="image/png",
    key="sc_png",
    icon=":material/image:",
    on_click="ignore",
)
