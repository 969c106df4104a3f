"""The process-wide state of the dashboard: the store and its background jobs.

One :class:`AppState` per database path lives in ``st.cache_resource``, so every browser
session of the Streamlit process shares the same :class:`data.store.Store` (the single
writer), the same :class:`dashboard.tagging_job.TaggingJob` (which keeps running while users
switch pages) and the same :class:`dashboard.inbox_poller.InboxPoller` (which imports work
that command-line jobs hand to the running app). :func:`store` and :func:`job` open it on first
use; the pages read data through the cached typed queries of :mod:`dashboard.queries`.

Environment:
    PRICEWAR_DB               database file (default ``var/pricewar.duckdb``)
    PRICEWAR_DEMO_TICKETS     tickets in the demo created on first start (default 3000)
    PRICEWAR_AUTOTAG, PRICEWAR_INBOX_SECONDS, PRICEWAR_TAG_BATCH, PRICEWAR_TAG_PROCESS,
    PRICEWAR_TAG_THREADS, PRICEWAR_MODEL_DIR
                              the background jobs' settings (``dashboard.job_settings``;
                              ``PRICEWAR_MODEL_DIR``: ``dashboard.tagging_job``)
    PRICEWAR_TAG_PRECISION    read by ``model.Tagger.load``: auto (per job on a CPU: bf16
                              or fp32, int8 for large jobs of a calibrated tagger), fp32,
                              int8 or bf16
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
    tag_batch_from_env,
    tag_process_enabled,
    tag_threads_from_env,
    whole_number_setting,
)
from data.db_file import check_db_file
from data.paths import default_db_path
from data.store import Store

__all__ = [
    "DEMO_TICKETS_VAR",
    "MAX_DEMO_TICKETS",
    "AppState",
    "app_state",
    "db_path",
    "demo_tickets_from_env",
    "job",
    "store",
    "register_before_shutdown",
]

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

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
        self.rollups: threading.Thread | None = None
        """Brings stale roll-ups up to date after the store opens (:meth:`_refresh_rollups`)."""

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
            register_before_shutdown(_while_alive(self.stop_jobs))
            self.inbox.start()
            self.rollups = threading.Thread(
                target=self._refresh_rollups, args=(store,), name="rollups", daemon=True
            )
            self.rollups.start()
            if autotag_enabled():
                self.job.start(SYSTEM_ACTOR)
            return store

    @staticmethod
    def _refresh_rollups(store: Store) -> None:
        """Rebuild the roll-up parts an upgrade or another program left stale (a store made
        before migration 6 has no mention roll-ups), in the background: until it finishes
        the pages read the base tables (same answers, slower first loads)."""
        from data.rollups import ensure_rollups

        try:
            rebuilt = ensure_rollups(store)
        except Exception:  # a page must still open; `python -m data rollups` can do it later
            log.exception("could not bring the roll-up tables up to date")
            return
        if rebuilt:
            log.info("roll-up tables rebuilt at start-up: %s", ", ".join(rebuilt))

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
        if self.rollups is not None:
            # its read or rebuild must end before the connection closes (a kill instead
            # rolls a rebuild back: the parts stay stale and the next start does it again)
            self.rollups.join(120)
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


def register_before_shutdown(hook: Callable[[], Any]) -> None:
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
