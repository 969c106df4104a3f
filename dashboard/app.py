"""Price War Room: ``streamlit run dashboard/app.py``.

The entry point puts the repository root on ``sys.path`` (Streamlit runs this file as a
script), opens the shared state (creating the demo database on a fresh machine, with a
progress bar), shows the tagging job in the sidebar and runs the selected page inside an
error guard, so no traceback ever reaches the user.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import state, ui  # noqa: E402

st.set_page_config(page_title="Price War Room", page_icon=":material/monitoring:",
                   layout="wide")
# Belt and braces: pages catch their errors (ui.page_guard); anything that still escapes
# is shown without its traceback.
st.set_option("client.showErrorDetails", "none")

PAGES = {
    "Explore": [
        st.Page("views/overview.py", title="Overview", icon=":material/dashboard:",
                default=True),  # served at "/" (a default page has no url path)
        st.Page("views/entities.py", title="Entities", icon=":material/label:",
                url_path="entities"),
        st.Page("views/batch_tagging.py", title="Batch tagging", icon=":material/upload_file:",
                url_path="batch-tagging"),
    ],
    "Decide": [
        st.Page("views/pricing.py", title="Pricing what-if", icon=":material/tune:",
                url_path="pricing"),
        st.Page("views/price_war.py", title="Price war & positioning",
                icon=":material/swords:", url_path="price-war"),
        st.Page("views/scenarios.py", title="Scenarios", icon=":material/bookmarks:",
                url_path="scenarios"),
    ],
}


def _open_state() -> bool:
    """Open the store; on a fresh machine create the demo database with a progress bar."""
    app = state.app_state()
    if app.ready:
        return True
    with ui.page_guard("start-up"):
        with st.status("Preparing the database (first start creates a demo)…",
                       expanded=True) as status:
            bar = st.progress(0.0, text="Opening the database…")
            app.open(progress=lambda fraction, text: bar.progress(fraction, text=text))
            status.update(label="Database ready", state="complete", expanded=False)
        if app.created_demo:
            st.toast("Demo database created; tagging runs in the background.")
        return True
    return False


SIDEBAR_REFRESH_SECONDS = 5.0  # how often the sidebar's tagging line refreshes while it runs


def _job_status() -> None:
    """A line in the sidebar about the background tagging job (refreshes while it runs)."""
    job = state.job()
    # Every refresh is a fragment run on the server (and, with Streamlit's default
    # postScriptGC, a full garbage collection): with many open pages a slow refresh keeps
    # the server responsive (GAPS.md item 4). The Batch tagging panel refreshes faster.
    run_every = SIDEBAR_REFRESH_SECONDS if job.status().running else None

    @st.fragment(run_every=run_every)
    @ui.guarded("tagging status")
    def badge() -> None:
        s = job.status()
        if s.running:
            rate = f", {s.rate:.0f} tickets/s" if s.rate else ""
            st.caption(f"Tagging: {s.done:,} of {s.total:,}{rate} on {s.device or '…'}")
            st.progress(s.fraction)
        elif s.state == "failed":
            st.caption("Tagging stopped with an error: see Batch tagging.")
        elif s.state in {"done", "stopped"}:
            st.caption(ui.md_text(s.message))

    with st.sidebar:
        badge()


navigation = st.navigation(PAGES)
if _open_state():
    with ui.page_guard("the sidebar"):
        _job_status()
    with ui.page_guard(navigation.title):
        navigation.run()
