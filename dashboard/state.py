"""Process-wide state of the dashboard: the store, its jobs, the scenario, the write actions.

One :class:`AppState` per database path lives in ``st.cache_resource``, so every browser
session of the Streamlit process shares the same :class:`data.store.Store` (the single
writer), the same :class:`dashboard.jobs.TaggingJob` (which keeps running while users switch
pages) and the same :class:`dashboard.jobs.InboxPoller` (which imports work that
command-line jobs hand to the running app). The pages read data through the cached typed
queries of :mod:`dashboard.queries`.

Environment:
    PRICEWAR_DB               database file (default ``var/pricewar.duckdb``)
    PRICEWAR_DEMO_TICKETS     tickets in the demo created on first start (default 3000)
    PRICEWAR_AUTOTAG, PRICEWAR_INBOX_SECONDS, PRICEWAR_TAG_BATCH, PRICEWAR_TAG_PROCESS,
    PRICEWAR_TAG_THREADS, PRICEWAR_MODEL_DIR
                              the background jobs' settings (``dashboard.jobs``)
    PRICEWAR_TAG_PRECISION    read by ``model.Tagger.load``: auto (int8 on a CPU for a
                              calibrated tagger), fp32, int8 or bf16

Every write a person can start from a page goes through one of the actions at the end of this
module (:func:`upload_files`, :func:`start_tagging`, :func:`stop_tagging`,
:func:`load_shards`, :func:`save_scenario`, :func:`delete_scenario`, :func:`reset_data`):
each checks the current user's role itself (``dashboard.access.require``), so a crafted
rerun cannot reach the write, and leaves a row in the audit trail (``data.audit``). After a
write the data version is read again at once (:func:`dashboard.queries.refresh`), so the
next run of any page sees the new data; no cache is emptied.
"""

from __future__ import annotations

import atexit
import concurrent.futures.thread  # noqa: F401  (its shutdown hook first, so ours runs before it)
import logging
import os
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard.jobs import (
    CLI_ACTOR,
    SYSTEM_ACTOR,
    InboxPoller,
    TaggingJob,
    autotag_enabled,
    inbox_seconds_from_env,
    record_audit,
    tag_batch_from_env,
    tag_process_enabled,
    tag_threads_from_env,
    whole_number_setting,
)
from data.paths import default_db_path
from data.store import Store, check_db_file

__all__ = [
    "RESET_CONFIRM_WORD",
    "SCENARIO_NOTE_KEY",
    "AppState",
    "app_state",
    "current_scenario",
    "db_path",
    "delete_scenario",
    "job",
    "load_shards",
    "record_audit",
    "reset_data",
    "save_scenario",
    "scenario_rev",
    "set_scenario",
    "start_tagging",
    "stop_tagging",
    "store",
    "sync_scenario_url",
    "tag_batch_from_env",
    "upload_files",
]

log = logging.getLogger("dashboard.state")

Progress = Callable[[float, str], None]


# -- the application state --------------------------------------------------------------


DEMO_TICKETS_VAR = "PRICEWAR_DEMO_TICKETS"
MAX_DEMO_TICKETS = 10_000_000


def demo_tickets_from_env(environ: dict[str, str] | None = None) -> int:
    """Tickets of the demo made on a fresh machine: ``$PRICEWAR_DEMO_TICKETS`` (default
    3,000; a whole number from 1 to 10,000,000).

    Raises:
        data.errors.ConfigError: anything else, naming the variable.
    """
    return whole_number_setting(
        os.environ if environ is None else environ,
        DEMO_TICKETS_VAR,
        3000,
        MAX_DEMO_TICKETS,
        "tickets of the demo made on first start",
    )


class AppState:
    """Everything shared by all sessions for one database file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.store: Store | None = None
        self.job: TaggingJob | None = None
        self.inbox: InboxPoller | None = None
        self.created_demo = False

    @property
    def ready(self) -> bool:
        """Whether the store is open (the first start has finished)."""
        return self.store is not None

    def open(self, progress: Progress | None = None) -> Store:
        """Open the store, creating the demo database on a fresh machine; start the jobs."""
        with self._lock:
            if self.store is not None:
                return self.store
            batch_size = tag_batch_from_env()  # a bad setting: a message, nothing opened
            autotag_enabled()
            inbox_seconds_from_env()
            demo_tickets = demo_tickets_from_env()
            if tag_process_enabled():
                tag_threads_from_env()  # checked as early, read again by the job's loader
            # a named pipe hung every page for good; a CSV/Parquet/JSON file would be opened
            # by DuckDB as an empty database in memory, losing every upload at the restart
            check_db_file(self.path)
            self.created_demo = self._ensure_demo(progress, demo_tickets)
            store = Store.open(self.path)
            self.job = TaggingJob(store, batch_size=batch_size)
            self.inbox = InboxPoller(
                store, on_new=self._new_tickets, on_tag_request=self._tag_request
            )
            self.store = store
            atexit.register(self.close)
            _register_before_shutdown(_while_alive(self.stop_jobs))
            self.inbox.start()
            if autotag_enabled():
                self.job.start(SYSTEM_ACTOR)
            return store

    def stop_jobs(self, timeout: float = 10.0) -> None:
        """Stop the inbox and the tagging job after its current batch, waiting ``timeout``.

        Runs at interpreter shutdown *before* ``concurrent.futures`` refuses new work, so the
        tagger's thread pool can finish the batch and the run is recorded as ``interrupted``
        (resumed by the next start), not ``failed``.
        """
        if self.inbox is not None:
            self.inbox.stop()
        if self.job is not None:
            self.job.stop()
            self.job.wait(timeout)

    def close(self) -> None:
        """Stop the jobs after their current batch and close the store (at exit, or when
        the state is dropped before). A closed state no longer waits for the exit."""
        if self.inbox is not None:
            self.inbox.stop()
        if self.job is not None:
            self.job.close(10)  # also ends its tagging process
        if self.store is not None:
            self.store.close()
        atexit.unregister(self.close)

    def _ensure_demo(self, progress: Progress | None, tickets: int) -> bool:
        from data.bootstrap import ensure_demo_database, has_tickets

        if has_tickets(self.path):
            return False
        ensure_demo_database(self.path, tickets=tickets, progress=_adapt_progress(progress))
        return True

    def _new_tickets(self) -> None:
        if self.job is not None and autotag_enabled():
            self.job.start(SYSTEM_ACTOR)

    def _tag_request(self, request: Any) -> None:
        """Run a tagging request handed over by ``python -m model tag --db`` (even when
        automatic tagging is off: a person asked for it).

        Raises:
            ValueError: the request's tagger or batch size cannot be used (the job is
                unchanged; the poller reports it).
        """
        if self.job is not None:
            self.job.use_tagger(request.model_dir, request.batch_size)
            # the command line's OS user, when the request carries it (``data.tag_requests``)
            actor = str(getattr(request, "actor", None) or CLI_ACTOR)
            self.job.start(actor, source="cli")


def _while_alive(method: Callable[[], Any]) -> Callable[[], None]:
    """``method`` (bound) called through a weak reference: a shutdown hook that does not
    keep its object, and so its store's connection, alive."""
    ref = weakref.WeakMethod(method)

    def call() -> None:
        bound = ref()
        if bound is not None:
            bound()

    return call


def _register_before_shutdown(hook: Callable[[], Any]) -> None:
    """Run ``hook`` when the main thread ends, before ``concurrent.futures`` shuts down.

    ``threading._register_atexit`` hooks run in reverse order of registration when the
    interpreter starts shutting down, before ``atexit``; ``concurrent.futures.thread``
    registers its own (which makes every pool refuse new work) at import, above, so this
    one runs first. Without the private hook (another Python) only ``atexit`` is used.
    """
    register = getattr(threading, "_register_atexit", None)
    if register is None:
        return
    try:
        register(hook)
    except RuntimeError:  # shutdown already under way: atexit's close still runs
        log.debug("shutdown hook not registered", exc_info=True)


def _adapt_progress(progress: Progress | None) -> Callable[[int, int], None] | None:
    """Turn the bootstrap's ``progress(done, total)`` into ``progress(fraction, text)``."""
    if progress is None:
        return None

    def report(done: int, total: int) -> None:
        try:
            fraction = min(1.0, done / total) if total else 0.0
            progress(fraction, f"Creating demo tickets: {done:,} of {total:,}")
        except Exception:  # a progress display must never break the bootstrap
            log.debug("progress report ignored", exc_info=True)

    return report


def db_path() -> Path:
    """The database file this process serves (``$PRICEWAR_DB`` or the default)."""
    return default_db_path().expanduser().resolve()


@st.cache_resource(show_spinner=False)
def _app_state(path: str) -> AppState:
    return AppState(Path(path))


def app_state() -> AppState:
    """The shared state for the current database path."""
    return _app_state(str(db_path()))


def store() -> Store:
    """The open store (opening it first if needed, without a progress display)."""
    return app_state().open()


def job() -> TaggingJob:
    """The process-wide tagging job."""
    state = app_state()
    state.open()
    assert state.job is not None
    return state.job


# -- the current what-if scenario (per browser session) -----------------------------------

SCENARIO_KEY = "_scenario"
SCENARIO_REV_KEY = "_scenario_rev"
SCENARIO_NOTE_KEY = "_scenario_note"


def current_scenario() -> Any:
    """This session's scenario: from the URL (``?s_…``) on first use, else the default.

    A link whose inputs cannot be used (too long, nested too deep, out of range, invalid)
    gives a warning on the page that opened it, naming the parameter and the reason, and
    the defaults; the raw values are checked (``ui.scenario_link_problems``) before parsing.
    """
    if SCENARIO_KEY not in st.session_state:
        from analytics.errors import ScenarioError
        from analytics.scenario import QUERY_PREFIX, Scenario
        from dashboard.queries import default_scenario
        from dashboard.ui import md_text, scenario_link_problems

        params = {
            k: st.query_params.get_all(k) for k in st.query_params if k.startswith(QUERY_PREFIX)
        }
        scenario = None
        problem = "; ".join(scenario_link_problems(params, QUERY_PREFIX)) if params else ""
        if params and not problem:
            try:
                scenario = Scenario.from_query_params(params)
                st.session_state[SCENARIO_NOTE_KEY] = "Inputs loaded from the link."
            except ScenarioError as exc:
                problem = str(exc)
            except (ValueError, TypeError, OverflowError, RecursionError) as exc:
                log.warning("link scenario refused: %s", exc)
                problem = f"its inputs do not make a valid scenario ({exc})"
        if problem:
            st.warning(
                f"The what-if inputs in this link were not used: {md_text(problem)}. "
                "Showing the default inputs (measured from the data).",
                icon=":material/link_off:",
            )
        st.session_state[SCENARIO_KEY] = scenario or default_scenario()
        st.session_state.setdefault(SCENARIO_REV_KEY, 0)
    return st.session_state[SCENARIO_KEY]


def set_scenario(scenario: Any, *, reload_inputs: bool = False) -> None:
    """Make ``scenario`` current; ``reload_inputs`` resets the input widgets to its values."""
    st.session_state[SCENARIO_KEY] = scenario
    if reload_inputs:
        st.session_state[SCENARIO_REV_KEY] = st.session_state.get(SCENARIO_REV_KEY, 0) + 1


def scenario_rev() -> int:
    """Bumped whenever a loaded scenario replaces the inputs (part of the widget keys)."""
    return int(st.session_state.get(SCENARIO_REV_KEY, 0))


def sync_scenario_url(scenario: Any) -> None:
    """Mirror ``scenario`` into the URL query string so the address shares the inputs."""
    from analytics.scenario import QUERY_PREFIX

    wanted = scenario.to_query_params()
    qp = st.query_params
    for key in [k for k in qp if k.startswith(QUERY_PREFIX) and k not in wanted]:
        del qp[key]
    for key, value in wanted.items():
        if qp.get(key) != value:
            qp[key] = value


# -- write actions: each checks the role itself and is audited ---------------------------


def _require(role_name: str, action: str, target: str | None = None) -> Any:
    """``access.require`` for the app's store (the refusal's audit row goes there)."""
    from dashboard import access

    app = app_state()
    return access.require(
        access.Role[role_name], action, target=target, store=app.store if app.ready else None
    )


def _data_changed() -> None:
    """After a write: the next page run reads the data version again (no cache emptied)."""
    from dashboard import queries

    queries.refresh()


def upload_files(files: list[Any]) -> list[Any]:
    """Check and import uploaded ticket files (``data.ingest.ingest_files``), as an analyst.

    Records one ``upload`` row per file (target: the file's name, detail: the outcome).

    Raises:
        AccessDenied: the current user is not an analyst (nothing is read or written).
    """
    from data import audit
    from data.ingest import ingest_files

    names = ", ".join(str(getattr(f, "name", "?")) for f in files)[:500]
    user = _require("ANALYST", audit.UPLOAD, names or None)
    the_store = store()
    reports = ingest_files(the_store, list(files))
    for report in reports:
        outcome = (
            f"{report.status}: {int(report.rows):,} rows, {int(report.new_tickets):,} "
            f"new tickets, {int(report.duplicates):,} duplicates"
        )
        if report.status == "rejected":
            outcome += "; " + "; ".join(str(p) for p in report.problems)[:500]
        record_audit(
            the_store,
            actor=user.actor,
            action=audit.UPLOAD,
            target=str(report.file),
            detail=outcome,
            role=user.role_label,
        )
    _data_changed()
    return reports


def start_tagging() -> bool:
    """Start (or queue) the tagging job as an analyst; True if a run started.

    Raises:
        AccessDenied: the current user is not an analyst (the job is unchanged).
    """
    from data import audit

    user = _require("ANALYST", audit.TAG_START)
    return job().start(user.actor, role=user.role_label)


def stop_tagging() -> None:
    """Ask the tagging job to stop after its current batch, as an analyst.

    Raises:
        AccessDenied: the current user is not an analyst (the job is unchanged).
    """
    from data import audit

    user = _require("ANALYST", audit.TAG_STOP)
    job().stop(user.actor, role=user.role_label)


def load_shards(folder: str | Path) -> Any:
    """Load a folder of entity shards (``data.entity_shards.load_entity_shards``), as an
    analyst; the ``shard_load`` row has the folder and the outcome (or the error).

    Raises:
        AccessDenied: the current user is not an analyst (nothing is read or written).
        DataError, OSError: the folder cannot be loaded (recorded, then raised).
    """
    from data import audit
    from data.entity_shards import load_entity_shards

    path = Path(str(folder).strip()).expanduser()
    user = _require("ANALYST", audit.SHARD_LOAD, str(path))
    the_store = store()
    try:
        report = load_entity_shards(the_store, path)
    except Exception as exc:
        record_audit(
            the_store,
            actor=user.actor,
            action=audit.SHARD_LOAD,
            target=str(path),
            detail=f"failed: {exc}"[:500],
            role=user.role_label,
        )
        raise
    record_audit(
        the_store,
        actor=user.actor,
        action=audit.SHARD_LOAD,
        target=str(path),
        detail=str(report.message),
        role=user.role_label,
    )
    _data_changed()
    return report


def save_scenario(scenario: Any) -> str:
    """Save ``scenario`` under its cleaned name (``analytics.scenario.save_scenario``:
    NFC, no control or invisible characters), as an analyst; returns the name it was
    saved under.

    Raises:
        AccessDenied: the current user is not an analyst (nothing is saved).
        ScenarioError: the scenario cannot be saved (no name, or a name too long).
    """
    from analytics.scenario import clean_scenario_name
    from analytics.scenario import save_scenario as save
    from data import audit

    scenario = scenario.replace(name=clean_scenario_name(scenario.name))
    user = _require("ANALYST", audit.SCENARIO_SAVE, scenario.name)
    the_store = store()
    existed = the_store.scalar("SELECT count(*) FROM scenarios WHERE name = ?", [scenario.name])
    save(the_store, scenario)
    record_audit(
        the_store,
        actor=user.actor,
        action=audit.SCENARIO_SAVE,
        target=scenario.name,
        detail="replaced" if existed else "created",
        role=user.role_label,
    )
    return str(scenario.name)


def delete_scenario(name: str) -> bool:
    """Delete the saved scenario ``name``, as an analyst; True when one was deleted.

    Raises:
        AccessDenied: the current user is not an analyst (nothing is deleted).
    """
    from analytics.scenario import delete_scenario as delete
    from data import audit

    user = _require("ANALYST", audit.SCENARIO_DELETE, name)
    the_store = store()
    deleted = delete(the_store, name)
    record_audit(
        the_store,
        actor=user.actor,
        action=audit.SCENARIO_DELETE,
        target=name,
        detail="deleted" if deleted else "not found",
        role=user.role_label,
    )
    return deleted


#: The word an admin types to confirm a data reset (Settings page).
RESET_CONFIRM_WORD = "RESET"


def reset_data(kind: str, target: str | None, confirmation: str) -> Any:
    """Run one data reset (``data.reset.reset``) as an admin; returns its ``ResetResult``.

    Raises:
        AccessDenied: the current user is not an admin (recorded; nothing is removed).
        data.reset.ResetError: the confirmation word is wrong, tagging is running (for a
            model or a batch), or the target is unknown; nothing is removed.
    """
    from data import audit, reset

    where = kind if target is None else f"{kind}:{target}"
    admin = _require("ADMIN", audit.DATA_RESET, where)
    if (confirmation or "").strip() != RESET_CONFIRM_WORD:
        raise reset.ResetError(f"type {RESET_CONFIRM_WORD} to confirm the reset")
    if kind != reset.SCENARIOS and job().status().running:
        raise reset.ResetError(
            "tagging is running: stop it on Batch tagging (it stops "
            "after its current batch), then reset"
        )
    try:
        return reset.reset(store(), kind, target, actor=admin.actor, role=admin.role_label)
    finally:
        _data_changed()
