"""Price War Room: ``streamlit run dashboard/app.py``.

The entry point (the project is installed editable by ``requirements.txt``, so its packages
import although Streamlit runs this file as a script) lets in only who may come in (``dashboard.access``: sign-in with the access list,
or local mode on a loopback address), opens the shared state (creating the demo database on
a fresh machine, with a progress bar), shows the user and the tagging job in the sidebar and
runs the selected page inside an error guard, so no traceback ever reaches the user. Each
run's script time is logged (``dashboard.pagelog``: the slow-page log).

A visitor who is not let in sees only the gate: the sign-in button, the refusal with a
``Sign out`` button, or the reason nobody is let in; no page runs.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()  # this run of the script: the slow-page log times it

import streamlit as st  # noqa: E402 - after the clock starts

from dashboard import (  # noqa: E402
    access,
    embed_options,
    history_links,
    pagelog,
    startup,
    state,
    ui,
    upload_guard,
    widget_bounds,
)
from dashboard.access import Role, User  # noqa: E402

st.set_page_config(page_title="Price War Room", page_icon=":material/monitoring:", layout="wide")
# Belt and braces: pages catch their errors (ui.page_guard); anything that still escapes
# is shown without its traceback.
st.set_option("client.showErrorDetails", "none")

PAGES = {
    "Explore": [
        st.Page(
            "views/overview.py", title="Overview", icon=":material/dashboard:", default=True
        ),  # served at "/" (a default page has no url path)
        st.Page(
            "views/entities.py", title="Entities", icon=":material/label:", url_path="entities"
        ),
        st.Page(
            "views/signals.py", title="Signals", icon=":material/notifications:", url_path="signals"
        ),
        st.Page(
            "views/batch_tagging.py",
            title="Batch tagging",
            icon=":material/upload_file:",
            url_path="batch-tagging",
        ),
    ],
    "Decide": [
        st.Page(
            "views/pricing.py", title="Pricing what-if", icon=":material/tune:", url_path="pricing"
        ),
        st.Page(
            "views/price_war.py",
            title="Price war & positioning",
            icon=":material/swords:",
            url_path="price-war",
        ),
        st.Page(
            "views/scenarios.py",
            title="Scenarios",
            icon=":material/bookmarks:",
            url_path="scenarios",
        ),
    ],
}
#: Pages in the navigation of admins only (each also refuses anyone else itself).
ADMIN_PAGES = {
    "Admin": [
        st.Page("views/audit.py", title="Audit trail", icon=":material/policy:", url_path="audit"),
        st.Page(
            "views/settings.py", title="Settings", icon=":material/settings:", url_path="settings"
        ),
    ],
}
SESSION_AUDITED = "_access_audited"  # the sign-in (or refusal) recorded for this session


def _record_once(user: User, action: str, detail: str) -> None:
    """Record the sign-in (or the refusal) of this browser session once, when the store is
    open (a refused visitor never creates the database)."""
    marker = f"{action}:{user.actor}"
    if st.session_state.get(SESSION_AUDITED) == marker:
        return
    app = state.app_state()
    if not app.ready:
        return
    state.record_audit(
        app.store,
        actor=user.actor,
        action=action,
        target=user.name,
        detail=detail,
        role=user.role_label,
    )
    st.session_state[SESSION_AUDITED] = marker


def _sign_out(user: User) -> None:
    from data import audit

    try:
        app = state.app_state()
        where = app.store if app.ready else None
    except Exception:  # a bad PRICEWAR_DB (shown on the page): signing out still works
        ui.log.warning("sign-out of %s not audited: no store", user.actor, exc_info=True)
        where = None
    state.record_audit(where, actor=user.actor, action=audit.SIGN_OUT, role=user.role_label)
    st.session_state.pop(SESSION_AUDITED, None)
    access.record_sign_out()  # ends this identity in the browser's other tabs too
    st.logout()
    st.stop()


def _gate(user: User) -> None:
    """All a visitor who is not let in sees: sign in, the refusal, or why nobody is let in."""
    st.title("Price War Room")
    if user.status == "signed_out":
        st.write("This dashboard holds customer data. Sign in with your company account.")
        if user.message and "signed out" in user.message:
            st.info(ui.md_text(user.message), icon=":material/logout:")
        providers = user.providers or (None,)
        for provider in providers:
            label = "Sign in" if len(providers) == 1 else f"Sign in with {provider or 'SSO'}"
            if st.button(
                label,
                type="primary",
                key=f"access_sign_in_{provider or 'default'}",
                icon=":material/login:",
            ):
                if provider is None:
                    st.login()
                else:
                    st.login(provider)
        return
    if user.status == "not_listed":
        from data import audit

        _record_once(user, audit.ACCESS_DENIED, f"sign in refused: {user.message}")
        st.warning(ui.md_text(user.message), icon=":material/block:")
        if st.button("Sign out", key="access_sign_out", icon=":material/logout:"):
            _sign_out(user)
        return
    st.error(ui.md_text(user.message), icon=":material/lock:")  # unprotected, misconfigured


def _user_line(user: User) -> None:
    """Who is signed in, with which role, in the sidebar (and the Sign out button)."""
    with st.sidebar:
        if user.mode == "local":
            st.caption(
                f"Local mode: {ui.md_text(user.actor)} ({user.role_label}). Sign-in "
                "is off; this server answers on this machine only."
            )
            return
        st.caption(f"Signed in as **{ui.md_text(user.email or user.name)}** · {user.role_label}")
        if st.button("Sign out", key="access_sign_out", icon=":material/logout:"):
            _sign_out(user)


def _open_state() -> bool:
    """Open the store; on a fresh machine create the demo database with a progress bar."""
    app = state.app_state()
    if app.ready:
        return True
    with ui.page_guard("start-up"):
        with st.status(
            "Preparing the database (first start creates a demo)…", expanded=True
        ) as status:
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
        if s.state == "loading":
            st.caption(ui.md_text(s.message or "Loading the tagger…"))
        elif s.running:
            if s.total > 0:
                rate = f", {s.rate:.0f} tickets/s" if s.rate else ""
                how = ", ".join(v for v in (s.device, s.precision) if v) or "…"
                extra = "; int8 compiling in the background" if s.compiling else ""
                st.caption(f"Tagging: {s.done:,} of {s.total:,}{rate} on {how}{extra}")
                st.progress(s.fraction)
            else:
                st.caption(ui.md_text(s.message or "Looking for tickets to tag…"))
        elif s.state == "failed":
            st.caption("Tagging stopped with an error: see Batch tagging.")
        elif s.state in {"done", "stopped"}:
            st.caption(ui.md_text(s.message))

    with st.sidebar:
        badge()


upload_guard.install()  # once per process: the upload endpoint asks for the role too
widget_bounds.install()  # once per process: a forged date list is not parsed whole
ignored = widget_bounds.take_notes()  # widget values the bounds ignored before this run
user = access.current_user()
if not user.allowed:
    # every address resolves (no "page not found"), but no page runs and none is listed
    st.navigation(PAGES, position="hidden")
    with ui.page_guard("the sign-in screen"):
        _gate(user)
    st.stop()

navigation = st.navigation({**PAGES, **ADMIN_PAGES} if user.can(Role.ADMIN) else PAGES)
# back/forward: the address's what-if wins over the session's (else the page rewrote the
# address at once, a new history entry, and Back never left it)
with ui.page_guard("the page address"):
    history_links.follow_address()
for note in ignored:
    st.warning(note, icon=":material/block:")
if embed_options.scrolling_turned_off(embed_options.current_query_string()):
    st.warning(embed_options.NO_SCROLL_NOTE, icon=":material/swipe_vertical:")
with ui.page_guard(navigation.title):
    # the slow-page log: this run's script time (a bad threshold: a message, no page)
    slow = pagelog.slow_page_seconds_from_env()
    with pagelog.timed_page(navigation.title, user.role_label, slow, started=STARTED):
        if _open_state():
            startup.prepare_process()  # once: page libraries loaded, collector frozen
            with ui.page_guard("the sidebar"):
                if user.mode == "oidc":
                    from data import audit

                    _record_once(user, audit.SIGN_IN, f"signed in as {user.role_label}")
                _user_line(user)
                _job_status()
            with ui.page_guard(navigation.title):
                navigation.run()
