"""Process-wide state of the dashboard: the store, the background tagging job, the inbox.

One :class:`AppState` per database path lives in ``st.cache_resource``, so every browser
session of the Streamlit process shares the same :class:`data.store.Store` (the single
writer), the same :class:`TaggingJob` (which keeps running while users switch pages) and the
same :class:`InboxPoller` (which imports work that command-line jobs hand to the running app).

Environment:
    PRICEWAR_DB               database file (default ``var/pricewar.duckdb``)
    PRICEWAR_DEMO_TICKETS     tickets in the demo created on first start (default 3000)
    PRICEWAR_AUTOTAG          "0" to not start background tagging by itself (default "1")
    PRICEWAR_INBOX_SECONDS    how often the inbox is checked (default 5; 0 disables)
    PRICEWAR_TAG_BATCH        batch size of background tagging (default 32; 1–4,096, else
                              every page says what is wrong with it)
    PRICEWAR_MODEL_DIR        tagger artefact to use (default ``model.DEFAULT_MODEL_DIR``)
    PRICEWAR_TAG_PRECISION    read by ``model.Tagger.load``: auto (int8 on a CPU for a
                              calibrated tagger), fp32, int8 or bf16

Every write a person can start from a page goes through one of the actions at the end of this
module (:func:`upload_files`, :func:`start_tagging`, :func:`stop_tagging`,
:func:`load_shards`, :func:`save_scenario`, :func:`delete_scenario`, :func:`reset_data`):
each checks the current user's role itself (``dashboard.access.require``), so a crafted
rerun cannot reach the write, and leaves a row in the audit trail (``data.audit``).
"""

from __future__ import annotations

import atexit
import concurrent.futures.thread  # noqa: F401  (its shutdown hook first, so ours runs before it)
import dataclasses
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from analytics import explore
from data.paths import default_db_path
from data.store import Store

log = logging.getLogger("dashboard.state")

Progress = Callable[[float, str], None]

#: Who acts when the app starts tagging by itself (on start, after an inbox import).
SYSTEM_ACTOR = "system"
#: Who acts for a tagging request handed over by a command line that did not say.
CLI_ACTOR = "cli"


def record_audit(store: Store | None, *, actor: str, action: str, target: str | None = None,
                 detail: str | None = None, role: str | None = None,
                 source: str = "app") -> None:
    """One row of the audit trail (``data.audit.record``); a failure is logged, never raised
    (the action it records has already happened)."""
    if store is None:
        return
    try:
        from data import audit

        audit.record(store, actor=actor, action=action, target=target, detail=detail,
                     role=role, source=source)
    except Exception:
        log.exception("audit row not written: %s %s %s", actor, action, target)


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


TAG_BATCH_VAR = "PRICEWAR_TAG_BATCH"
DEFAULT_TAG_BATCH = 32


def tag_batch_from_env(environ: dict[str, str] | None = None) -> int:
    """The batch size of background tagging: ``$PRICEWAR_TAG_BATCH`` (default 32).

    Read when the app opens its store (never at import), so a bad value is shown on the
    page as a message naming the variable (like the upload limits,
    ``data.ingest.limits_from_env``) instead of stopping the app.

    Raises:
        data.errors.ConfigError: not a whole number from 1 to 4,096 (the most a tagging
            request may ask, ``data.tag_requests.MAX_BATCH_SIZE``).
    """
    from data.errors import ConfigError
    from data.tag_requests import MAX_BATCH_SIZE

    env = os.environ if environ is None else environ
    text = env.get(TAG_BATCH_VAR, "").strip()
    if not text:
        return DEFAULT_TAG_BATCH
    digits = text.replace("_", "")
    if not digits.isdigit() or not 1 <= int(digits) <= MAX_BATCH_SIZE:
        shown = text if len(text) <= 40 else text[:39] + "…"
        raise ConfigError(f"{TAG_BATCH_VAR} must be a whole number from 1 to "
                          f"{MAX_BATCH_SIZE:,} (the batch size of background tagging), "
                          f"not {shown!r}; fix or unset it and restart the app")
    return int(digits)


def autotag_enabled() -> bool:
    """Whether the app tags new tickets in the background by itself."""
    return os.environ.get("PRICEWAR_AUTOTAG", "1").strip().lower() not in {"0", "false", "no"}


# -- the background tagging job ---------------------------------------------------------


@dataclass(frozen=True)
class JobStatus:
    """A snapshot of the tagging job for display."""

    state: str = "idle"  # idle | loading | running | done | stopped | failed
    done: int = 0  # tickets tagged by this run
    total: int = 0  # tickets that were waiting when this run started
    rate: float = 0.0  # tickets per second over this run
    device: str | None = None
    model_id: str | None = None
    message: str = ""
    started: float | None = None
    finished: float | None = None
    precision: str = ""  # what new batches run in (fp32, int8, bf16)
    compiling: bool = False  # int8 being compiled in the background meanwhile

    @property
    def running(self) -> bool:
        """True while the job loads the tagger or tags."""
        return self.state in {"loading", "running"}

    @property
    def fraction(self) -> float:
        """Share of the waiting tickets done (1.0 when nothing was waiting)."""
        return min(1.0, self.done / self.total) if self.total else (1.0 if self.state == "done" else 0.0)


def _default_loader() -> Any:
    """Load the tagger (``$PRICEWAR_MODEL_DIR`` or the default one; GPU when there is one)."""
    from model import Tagger

    return Tagger.load(os.environ.get("PRICEWAR_MODEL_DIR") or None, device="auto")


class TaggingJob:
    """Resumable batch tagging of every untagged ticket, in one background thread.

    ``model.tag_store`` writes a ticket's entities and its ``tagged_tickets`` row in one
    transaction, so stopping (or a killed process) loses nothing: the next :meth:`start`
    continues with the tickets still untagged.
    """

    def __init__(self, store: Store, loader: Callable[[], Any] | None = None,
                 batch_size: int | None = None) -> None:
        self.store = store
        self._loader = loader
        self._tagger: Any = None
        self.batch_size = batch_size or tag_batch_from_env()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._status = JobStatus()
        self._again = False
        # (loader, tagger, batch size) from before a requested tagger: restored if it fails
        self._fallback: tuple[Any, Any, int] | None = None
        # who started the current run, for its end in the audit trail: (actor, role, source)
        self._started_by: tuple[str, str | None, str] = (SYSTEM_ACTOR, None, "app")
        self._again_by: tuple[str, str | None, str] = (SYSTEM_ACTOR, None, "app")

    def status(self) -> JobStatus:
        """The current snapshot (cheap; safe from any thread)."""
        with self._lock:
            return self._status

    def _set(self, **changes: Any) -> None:
        with self._lock:
            self._status = dataclasses.replace(self._status, **changes)

    def start(self, actor: str = SYSTEM_ACTOR, *, role: str | None = None,
              source: str = "app") -> bool:
        """Start tagging unless a run is active (then rerun once it ends); True if started.

        ``actor`` (with ``role`` and ``source``: ``app`` or ``cli``) is recorded in the audit
        trail as who started the run (``tag_start``), and again when it ends (``tag_end``).
        The role check is the caller's (:func:`start_tagging` for a page).
        """
        thread: threading.Thread | None = None
        with self._lock:
            current = self._thread
            # a thread made but not yet started (ident None) is a run about to begin; the
            # run's own thread asking (the rerun at its end) is a run that has ended
            if (current is not None and current is not threading.current_thread()
                    and (current.is_alive() or current.ident is None)):
                self._again = True
                self._again_by = (actor, role, source)
            else:
                self._stop = threading.Event()
                self._again = False
                self._started_by = (actor, role, source)
                self._status = JobStatus(state="loading", message="Loading the tagger…",
                                         started=time.time(), device=self._status.device,
                                         model_id=self._status.model_id)
                self._thread = thread = threading.Thread(target=self._run,
                                                         name="pricewar-tagging", daemon=True)
        # recorded before the run starts, so its tag_start row comes before its tag_end row
        self._audit("TAG_START", actor, role, source,
                    "started" if thread is not None else
                    "queued: runs again when the current run ends")
        if thread is None:
            return False
        try:
            thread.start()
        except RuntimeError:  # interpreter shutting down: no run
            with self._lock:
                self._thread = None
            self._set(state="failed", message="Tagging could not start (the app is stopping).")
            raise
        return True

    def stop(self, actor: str | None = None, *, role: str | None = None,
             source: str = "app") -> None:
        """Ask the running job to stop after the current batch (its work is kept).

        With an ``actor`` (a person asked), the request is recorded in the audit trail
        (``tag_stop``); the app's own stops (shutdown) are not.
        """
        running = self.status().running
        self._stop.set()
        if actor is not None:
            self._audit("TAG_STOP", actor, role, source,
                        "stop requested: ends after the current batch" if running else
                        "nothing was running")

    def _audit(self, action: str, actor: str, role: str | None, source: str,
               detail: str, target: str | None = None) -> None:
        """Record a tagging event (``action`` names a ``data.audit`` constant)."""
        try:
            from data import audit

            name = getattr(audit, action)
        except (ImportError, AttributeError):
            log.exception("audit action %s unknown", action)
            return
        model = target or self._status.model_id or "the app's tagger"
        record_audit(self.store, actor=actor, action=name, target=model, detail=detail,
                     role=role, source=source)

    def use_tagger(self, model_dir: str | None, batch_size: int | None = None) -> None:
        """Tag with the artefact in ``model_dir`` (None: the app's tagger) and ``batch_size``
        (None: unchanged) from the next run on.

        If that run fails, the job goes back to the tagger and batch size it had before, so
        a bad request never breaks later runs ("Start tagging").

        Raises:
            ValueError: ``batch_size`` is not a whole number in 1…``MAX_BATCH_SIZE``, or
                ``model_dir`` is not an existing folder; the job is unchanged.
        """
        from data.tag_requests import check_batch_size, check_model_dir

        batch = check_batch_size(batch_size)
        folder = check_model_dir(str(model_dir) if isinstance(model_dir, Path) else model_dir)
        if folder is not None and not Path(folder).is_dir():
            raise ValueError(f"model_dir {folder[:200]} is not a folder")
        if folder is None and batch is None:
            return

        def load() -> Any:
            from model import Tagger

            return Tagger.load(folder, device="auto")

        with self._lock:
            if self._fallback is None:
                self._fallback = (self._loader, self._tagger, self.batch_size)
            if folder is not None:
                self._loader = load
                self._tagger = None
            if batch is not None:
                self.batch_size = batch

    def wait(self, timeout: float | None = None) -> JobStatus:
        """Block until the current run ends (or ``timeout``); return the status."""
        thread = self._thread
        if thread is not None and thread.ident is not None:  # started
            thread.join(timeout)
        return self.status()

    def _run(self) -> None:
        with self._lock:  # a requested tagger is on trial in this run
            fallback, self._fallback = self._fallback, None
        result: Any = None
        try:
            if self._tagger is None:
                self._set(state="loading", message="Loading the tagger…")
                self._tagger = (self._loader or _default_loader)()
            tagger = self._tagger
            model_id = str(tagger.model_id)
            done_before, total = explore.tagging_progress(self.store, model_id)
            started = time.time()
            self._set(state="running", total=max(0, total - done_before), done=0,
                      device=str(tagger.device), model_id=model_id, started=started,
                      message="Tagging tickets…",
                      precision=str(getattr(tagger, "precision", "") or ""))
            last_done: list[str] = []  # the job's own "all tagged" line, when it gives one

            def progress(done: int, total: int) -> None:
                elapsed = max(time.time() - started, 1e-6)
                self._set(done=int(done), total=int(total), rate=int(done) / elapsed)

            def on_status(s: Any) -> None:  # model.jobs.TagStatus: what the job is doing
                if s.state == "done":
                    last_done.append(s.message)
                    return
                changes: dict[str, Any] = {"precision": s.precision,
                                           "compiling": bool(s.compiling)}
                if s.state in {"tagging", "compiling", "loading"}:
                    changes["message"] = s.message
                self._set(**changes)

            from model import tag_store

            result = tag_store(self.store, tagger, batch_size=self.batch_size,
                               progress=progress, stop=self._stop, status=on_status)
            done_after, total_after = explore.tagging_progress(self.store, model_id)
            tagged = done_after - done_before
            elapsed = max(time.time() - started, 1e-6)
            stopped = self._stop.is_set()
            if stopped:
                message = (f"Stopped: {tagged} tickets tagged, {total_after - done_after} "
                           "left (start again to resume).")
            elif tagged == 0:
                message = (last_done[-1] + "." if last_done else
                           f"All {total_after:,} tickets are tagged by {model_id}: "
                           "nothing to do.")
            else:
                message = f"Done: {tagged} tickets tagged in {elapsed:.1f} s."
            self._set(state="stopped" if stopped else "done", done=tagged,
                      rate=tagged / elapsed if tagged else 0.0, finished=time.time(),
                      message=message, compiling=False)
            log.info("tagging finished: %s", result)
        except Exception as exc:  # shown to the user as a plain message
            log.exception("tagging failed")
            from dashboard.ui import friendly_message

            message = friendly_message(exc)
            if type(exc).__module__.startswith("model") or isinstance(exc, OSError):
                message = (f"The tagger could not be loaded or run ({exc}). If the default "
                           "tagger is missing, train it with: python -m model train. Then "
                           "press Start tagging: the run resumes where it stopped.")
            if fallback is not None:  # the requested tagger failed: back to the app's own
                with self._lock:
                    self._loader, self._tagger, self.batch_size = fallback
                message += (" This run used a tagger or batch size requested from the command "
                            "line; the app's own are used again from the next run.")
            self._set(state="failed", finished=time.time(), message=message)
        actor, role, source = self._started_by
        status = self.status()
        run_id = getattr(result, "run_id", None)
        self._audit("TAG_END", actor, role, source, f"{status.state}: {status.message}",
                    target=f"{status.model_id or 'tagger'} run {run_id}" if run_id else None)
        again = False
        with self._lock:
            again, self._again = self._again, False
            again_by = self._again_by
        if again and not self._stop.is_set():
            self.start(again_by[0], role=again_by[1], source=again_by[2])


# -- the inbox --------------------------------------------------------------------------


class InboxPoller:
    """Imports what command-line jobs drop into the inbox, every few seconds.

    Every entry is handled on its own (``data.inbox``, ``data.tag_requests``): a refused
    entry is moved aside and reported in :attr:`last_message`, and a failing step or
    callback is logged; the poller always goes on to the next entry and the next poll.
    While it polls it keeps a heartbeat in the inbox, so the command lines can say whether
    a dashboard is there to take their work.
    """

    def __init__(self, store: Store, on_new: Callable[[], Any] | None = None,
                 every: float | None = None,
                 on_tag_request: Callable[[Any], Any] | None = None) -> None:
        self.store = store
        self.on_new = on_new
        self.on_tag_request = on_tag_request
        self.every = float(every if every is not None else _env_int("PRICEWAR_INBOX_SECONDS", 5))
        self.last_message = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start polling (no-op when disabled or already started)."""
        if self.every <= 0 or self._thread is not None:
            return
        from data.inbox import write_heartbeat

        write_heartbeat(self.store.path, self.every)
        self._thread = threading.Thread(target=self._loop, name="pricewar-inbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling (and remove the heartbeat)."""
        self._stop.set()
        if self._thread is not None:
            from data.inbox import clear_heartbeat

            clear_heartbeat(self.store.path)

    def poll_once(self) -> list[str]:
        """Import the inbox now, then take the tagging requests; return the import messages
        (``data.inbox.import_inbox``). Never raises for a bad entry or a failing callback."""
        from data.inbox import import_inbox
        from data.tag_requests import take_tagging_requests

        notes: list[str] = []
        result: list[str] = []
        try:
            result = import_inbox(self.store)
        except Exception as exc:  # e.g. the inbox folder unreadable: try again next poll
            log.exception("inbox import failed")
            notes.append(f"The inbox could not be read ({exc})")
        if result:
            notes.extend(str(m) for m in result)
            self._call(self.on_new, notes)
        refused: list[str] = []
        try:
            requests = take_tagging_requests(self.store.path, refused=refused)
        except Exception as exc:
            log.exception("tagging requests could not be taken")
            requests, refused = [], [f"Tagging requests could not be read ({exc})"]
        notes.extend(refused)
        for request in requests:
            if self._call(self.on_tag_request, notes, request):
                notes.append("Tagging requested from the command line")
        if notes:
            self.last_message = "; ".join(notes)
        return result

    @staticmethod
    def _call(callback: Callable[..., Any] | None, notes: list[str], *args: Any) -> bool:
        """Run ``callback(*args)``; a failure is logged and noted, never raised."""
        if callback is None:
            return True
        try:
            callback(*args)
            return True
        except Exception as exc:
            log.warning("inbox callback failed: %s", exc, exc_info=True)
            what = "Tagging request refused" if args else "Could not start tagging"
            notes.append(f"{what}: {' '.join(str(exc).split())[:300]}")
            return False

    def _loop(self) -> None:
        from data.inbox import write_heartbeat

        while not self._stop.wait(self.every):
            write_heartbeat(self.store.path, self.every)
            try:
                self.poll_once()
            except ModuleNotFoundError:
                return
            except Exception:  # keep polling; the log has the details
                log.exception("inbox import failed")


# -- the application state --------------------------------------------------------------


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
            self.created_demo = self._ensure_demo(progress)
            store = Store.open(self.path)
            self.job = TaggingJob(store, batch_size=batch_size)
            self.inbox = InboxPoller(store, on_new=self._new_tickets,
                                     on_tag_request=self._tag_request)
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
            self.job.stop()
            self.job.wait(10)
        if self.store is not None:
            self.store.close()
        atexit.unregister(self.close)

    def _ensure_demo(self, progress: Progress | None) -> bool:
        from data.bootstrap import ensure_demo_database, has_tickets

        if has_tickets(self.path):
            return False
        tickets = _env_int("PRICEWAR_DEMO_TICKETS", 3000)
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


# -- cached queries ---------------------------------------------------------------------


@st.cache_data(ttl=2, show_spinner=False, max_entries=64)
def _version(path: str) -> tuple[int, ...]:
    return explore.data_version(_app_state(path).open())


def data_version() -> tuple[int, ...]:
    """Row counts that key the query caches (re-read at most every 2 s)."""
    return _version(str(db_path()))


@st.cache_data(show_spinner=False, max_entries=1024, ttl=3600)
def _explore(path: str, version: tuple[int, ...], name: str, args: tuple[Any, ...],
             kwargs: tuple[tuple[str, Any], ...]) -> Any:
    fn = getattr(explore, name)
    return fn(_app_state(path).open(), *args, **dict(kwargs))


def query(name: str, *args: Any, **kwargs: Any) -> Any:
    """``analytics.explore.<name>(store, *args, **kwargs)``, cached by arguments and data."""
    if name not in explore.__all__:
        raise ValueError(f"unknown query {name!r}")
    key = tuple(sorted((k, _freeze(v)) for k, v in kwargs.items()))
    version = data_version()
    if name in _TICKET_AND_USAGE_ONLY:  # not touched by tagging: keep the cache while it runs
        version = (version[0], version[1], version[4])
    return _explore(str(db_path()), version, name, tuple(_freeze(a) for a in args), key)


#: Queries that read only tickets, usage and customers (data_version's 1st, 2nd, 5th count).
_TICKET_AND_USAGE_ONLY = frozenset({"filter_options", "date_bounds", "kpis", "ticket_volume",
                                    "usage_volume", "cost_to_serve", "sources"})


_ANALYTICS_QUERIES: dict[str, str] = {
    "competitor_price_points": "analytics.positioning",
    "positioning_map": "analytics.positioning",
    "segment_optima": "analytics.positioning",
    "competitor_pressure": "analytics.signals",
    "competitor_mention_rates": "analytics.signals",
    "estimate_elasticities": "analytics.elasticity",
}


@st.cache_data(show_spinner=False, max_entries=256, ttl=3600)
def _analytics(path: str, version: tuple[int, ...], name: str,
               kwargs: tuple[tuple[str, Any], ...]) -> Any:
    import importlib

    fn = getattr(importlib.import_module(_ANALYTICS_QUERIES[name]), name)
    options = dict(kwargs)
    if name in _USES_MENTION_RATES and "aliases" not in options:
        # the mention-rate query is the costly part on a large store: run it once, cached
        rate_key = tuple((k, v) for k, v in kwargs if k == "model_id")
        options["rates"] = _analytics(path, version, "competitor_mention_rates", rate_key)
    return fn(_app_state(path).open(), **options)


#: Analytics queries that accept ``rates=competitor_mention_rates(...)`` precomputed.
_USES_MENTION_RATES = frozenset({"competitor_pressure", "segment_optima"})


def query_analytics(name: str, **kwargs: Any) -> Any:
    """A store-fed analytics function (``_ANALYTICS_QUERIES``), cached by arguments and data."""
    if name not in _ANALYTICS_QUERIES:
        raise ValueError(f"unknown query {name!r}")
    key = tuple(sorted((k, _freeze(v)) for k, v in kwargs.items()))
    return _analytics(str(db_path()), data_version(), name, key)


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def empty_frame(df: pd.DataFrame | None) -> bool:
    """True for None or a DataFrame without rows."""
    return df is None or len(df) == 0


# -- signals: surge alerts and customers at risk (cached) ----------------------------------

#: While tagging runs, the signal caches refresh at most this often (seconds): entities
#: change with every batch, and re-reading every ticket's signals per batch would slow the
#: Signals page and the Overview's alert count.
SIGNALS_REFRESH_WHILE_TAGGING = 60
#: Most tickets of an alert's days read to find its tickets (``alert_tickets``).
ALERT_TICKETS_READ = 50_000
_SIGNAL_QUERIES = frozenset({"surge_alerts", "negative_share", "customers_at_risk",
                             "risk_backtest", "signal_days"})


@st.cache_data(ttl=2, show_spinner=False, max_entries=64)
def _sentiment_rows(path: str) -> tuple[int, int]:
    return tuple(int(v) for v in _app_state(path).open().fetchall(
        "SELECT (SELECT count(*) FROM ticket_sentiment), (SELECT count(*) FROM gold_sentiment)"
    )[0])


def _signal_version() -> tuple[Any, ...]:
    """``data_version`` and the sentiment rows, for the signal caches; while tagging runs,
    one new key a minute."""
    version = (*data_version(), *_sentiment_rows(str(db_path())))
    app = app_state()
    if app.job is not None and app.job.status().running:
        return (version[0], version[1], version[4], "tagging",
                int(time.time() // SIGNALS_REFRESH_WHILE_TAGGING))
    return version


@st.cache_data(show_spinner=False, max_entries=32, ttl=3600)
def _signal_source(path: str, version: tuple[Any, ...]) -> Any:
    from analytics.alerts import signal_source as find

    return find(_app_state(path).open())


def signal_source() -> Any:
    """Where the signals' sentiment and entities come from (``analytics.alerts.signal_source``:
    the tagger's sentiment when it has labelled tickets, else the demo's ground truth);
    None when neither exists."""
    return _signal_source(str(db_path()), _signal_version())


@st.cache_resource(show_spinner=False, max_entries=4, ttl=3600)
def _ticket_signals(path: str, version: tuple[Any, ...], sentiment: str,
                    entities: str) -> pd.DataFrame:
    """``analytics.alerts.ticket_signals``, one shared object per data version (a large
    store's signals are too big to copy per use: readers never modify it)."""
    from analytics.alerts import ticket_signals

    return ticket_signals(_app_state(path).open(), sentiment=sentiment, entities=entities)


@st.cache_data(show_spinner=False, max_entries=128, ttl=3600)
def _signal_query(path: str, version: tuple[Any, ...], name: str, sentiment: str,
                  entities: str, kwargs: tuple[tuple[str, Any], ...]) -> Any:
    from analytics import alerts, risk
    from analytics.errors import InsufficientDataError

    signals = _ticket_signals(path, version, sentiment, entities)
    options = dict(kwargs)
    if name == "negative_share":
        return alerts.negative_share(signals, **options)
    if name == "signal_days":  # (first day, last day) with a sentiment label, or None
        return (min(signals["day"]), max(signals["day"])) if len(signals) else None
    fn = {"surge_alerts": alerts.surge_alerts, "customers_at_risk": risk.customers_at_risk,
          "risk_backtest": risk.risk_backtest}[name]
    try:
        return fn(_app_state(path).open(), sentiment=sentiment, entities=entities,
                  signals=signals, **options)
    except InsufficientDataError as exc:  # cached too: the page says why
        return InsufficientDataError(str(exc))


def signal_query(name: str, source: Any, **kwargs: Any) -> Any:
    """``analytics.alerts.surge_alerts`` / ``negative_share``, ``analytics.risk.
    customers_at_risk`` / ``risk_backtest`` or ``"signal_days"`` for ``source``
    (:func:`signal_source`), sharing one read of the tickets' signals; cached by arguments
    and data.

    Raises:
        InsufficientDataError: the analytics function raised it (e.g. no churn on record).
    """
    if name not in _SIGNAL_QUERIES:
        raise ValueError(f"unknown signal query {name!r}")
    key = tuple(sorted((k, _freeze(v)) for k, v in kwargs.items()))
    result = _signal_query(str(db_path()), _signal_version(), name, source.sentiment,
                           source.entities, key)
    if isinstance(result, Exception):
        raise type(result)(str(result))
    return result


def open_alert_count() -> int | None:
    """Daily surge alerts still open on the last day with tickets (the Signals page's first
    list); None when no ticket has a sentiment label."""
    source = signal_source()
    if source is None:
        return None
    alerts = signal_query("surge_alerts", source, freq="day", open_only=False)
    return int(alerts["open"].sum()) if len(alerts) else 0


def alert_tickets(keys: tuple[str, ...], first: Any, last: Any,
                  model_id: str | None) -> pd.DataFrame:
    """The tickets ``keys`` of an alert (created from day ``first`` to ``last``), oldest
    first, with ``model_id``'s entities: ``explore.ticket_list`` over those days (at most
    :data:`ALERT_TICKETS_READ` of them), kept to the keys."""
    listed = query("ticket_list", explore.Filters(start=first, end=last), model_id,
                   limit=ALERT_TICKETS_READ)
    picked = listed[listed["ticket_key"].isin(set(keys))]
    return picked.sort_values(["created_at", "ticket_key"]).reset_index(drop=True)


# -- the current what-if scenario (per browser session) -----------------------------------

SCENARIO_KEY = "_scenario"
SCENARIO_REV_KEY = "_scenario_rev"
SCENARIO_NOTE_KEY = "_scenario_note"


@st.cache_data(show_spinner=False, max_entries=32, ttl=3600)
def _default_scenario(path: str, version: tuple[int, ...], segment: str | None) -> Any:
    from analytics import default_scenario as measured

    return measured(_app_state(path).open(), segment)


def default_scenario(segment: str | None = None) -> Any:
    """The starting scenario, every input measured from the store where the data allow
    (``analytics.default_scenario``: recent price and volume, fitted elasticity with its
    interval, mention pressure, competitors from the real price list)."""
    from analytics.scenario import Scenario

    try:
        return _default_scenario(str(db_path()), data_version(), segment)
    except Exception:  # the documented defaults still work; the log says why
        log.exception("could not measure the default scenario from the store")
        return Scenario(segment=segment)


def current_scenario() -> Any:
    """This session's scenario: from the URL (``?s_…``) on first use, else the default.

    A link whose inputs cannot be used (too long, nested too deep, out of range, invalid)
    gives a warning on the page that opened it, naming the parameter and the reason, and
    the defaults; the raw values are checked (``ui.scenario_link_problems``) before parsing.
    """
    if SCENARIO_KEY not in st.session_state:
        from analytics.errors import ScenarioError
        from analytics.scenario import QUERY_PREFIX, Scenario
        from dashboard.ui import md_text, scenario_link_problems

        params = {k: st.query_params.get_all(k) for k in st.query_params
                  if k.startswith(QUERY_PREFIX)}
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
            st.warning(f"The what-if inputs in this link were not used: {md_text(problem)}. "
                       "Showing the default inputs (measured from the data).",
                       icon=":material/link_off:")
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
    return access.require(access.Role[role_name], action, target=target,
                          store=app.store if app.ready else None)


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
        outcome = (f"{report.status}: {int(report.rows):,} rows, {int(report.new_tickets):,} "
                   f"new tickets, {int(report.duplicates):,} duplicates")
        if report.status == "rejected":
            outcome += "; " + "; ".join(str(p) for p in report.problems)[:500]
        record_audit(the_store, actor=user.actor, action=audit.UPLOAD,
                     target=str(report.file), detail=outcome, role=user.role_label)
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
        record_audit(the_store, actor=user.actor, action=audit.SHARD_LOAD, target=str(path),
                     detail=f"failed: {exc}"[:500], role=user.role_label)
        raise
    record_audit(the_store, actor=user.actor, action=audit.SHARD_LOAD, target=str(path),
                 detail=str(report.message), role=user.role_label)
    return report


def save_scenario(scenario: Any) -> None:
    """Save ``scenario`` under its name (``analytics.scenario.save_scenario``), as an analyst.

    Raises:
        AccessDenied: the current user is not an analyst (nothing is saved).
        ScenarioError: the scenario cannot be saved (no name).
    """
    from analytics.scenario import save_scenario as save
    from data import audit

    user = _require("ANALYST", audit.SCENARIO_SAVE, scenario.name)
    the_store = store()
    existed = the_store.scalar("SELECT count(*) FROM scenarios WHERE name = ?",
                               [scenario.name])
    save(the_store, scenario)
    record_audit(the_store, actor=user.actor, action=audit.SCENARIO_SAVE, target=scenario.name,
                 detail="replaced" if existed else "created", role=user.role_label)


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
    record_audit(the_store, actor=user.actor, action=audit.SCENARIO_DELETE, target=name,
                 detail="deleted" if deleted else "not found", role=user.role_label)
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
        raise reset.ResetError("tagging is running: stop it on Batch tagging (it stops "
                               "after its current batch), then reset")
    return reset.reset(store(), kind, target, actor=admin.actor, role=admin.role_label)
