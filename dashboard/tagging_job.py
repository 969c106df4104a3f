"""The app's background tagging job: :class:`TaggingJob` and its snapshot :class:`JobStatus`.

:class:`TaggingJob` tags every untagged ticket from one background thread (resumable: a
stopped or killed run loses nothing). One lives in the process-wide
``dashboard.app_state.AppState``, so its progress is the same on every page and in every
browser session.

The model itself runs in a child process (:class:`model.worker.ProcessTagger`: niced, with
its own torch thread count), so its forward passes never compete with the page scripts for
the GIL; the job's thread sends it the texts and writes the entities it gets back through the
app's store (DuckDB has one writer process: the app's). A child that dies fails the run with
a message saying so; the tickets written before stay, and the next start resumes in a new
child. ``PRICEWAR_TAG_PROCESS=0`` runs the model in the job's thread instead (as before).

The job's batch writes give way to the pages (:class:`PagesFirstStore`): a batch is not
written while a page script runs (at most ``dashboard.activity.MAX_YIELD_SECONDS`` of
waiting), so uploads and saved scenarios seldom queue behind it on the store's one writer,
and its roll-up work does not compete with the pages: the job slows, the pages do not.

Its settings (``PRICEWAR_TAG_BATCH``, ``PRICEWAR_TAG_PROCESS``, ``PRICEWAR_TAG_THREADS``)
are read by ``dashboard.job_settings``; ``PRICEWAR_MODEL_DIR`` (the tagger artefact;
default ``model.DEFAULT_MODEL_DIR``) by :func:`default_loader`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analytics import explore
from dashboard.job_settings import SYSTEM_ACTOR, load_tagger, record_audit, tag_batch_from_env
from data.store import Store

log = logging.getLogger("dashboard.jobs")  # the name the log has always used


def _close_tagger(tagger: Any) -> None:
    """End a tagger's child process, if it has one (never raises)."""
    close = getattr(tagger, "close", None)
    if callable(close):
        try:
            close()
        except Exception:
            log.warning("the tagging process could not be closed", exc_info=True)


class PagesFirstStore:
    """The store as the tagging job writes to it: each batch write first waits (at most
    ``most`` seconds, :func:`dashboard.activity.wait_for_quiet_pages`) until no page script
    runs, so a page's writes (an upload, a saved scenario) seldom queue behind a batch of
    entities and its roll-up work does not compete with the page. Everything else is the wrapped :class:`data.store.Store`'s own.

    The batches and what they write are unchanged; only when they are written moves.
    """

    def __init__(
        self, store: Store, *, stop: threading.Event | None = None, most: float | None = None
    ) -> None:
        from dashboard.activity import MAX_YIELD_SECONDS

        self._store = store
        self._stop = stop
        self._most = MAX_YIELD_SECONDS if most is None else most
        self.waited = 0.0  # seconds the writes gave way to the pages, in all

    def write(self, fn: Callable[[Any], Any]) -> Any:
        """``Store.write(fn)`` once the pages are quiet (or the wait is up)."""
        from dashboard.activity import wait_for_quiet_pages

        self.waited += wait_for_quiet_pages(self._most, stop=self._stop)
        return self._store.write(fn)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


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
        return (
            min(1.0, self.done / self.total)
            if self.total
            else (1.0 if self.state == "done" else 0.0)
        )


def default_loader() -> Any:
    """Load the tagger (``$PRICEWAR_MODEL_DIR`` or the default one; GPU when there is one),
    in its own process unless ``PRICEWAR_TAG_PROCESS=0`` (:func:`load_tagger`)."""
    return load_tagger(os.environ.get("PRICEWAR_MODEL_DIR") or None)


class TaggingJob:
    """Resumable batch tagging of every untagged ticket, from one background thread.

    ``model.tag_store`` writes a ticket's entities and its ``tagged_tickets`` row in one
    transaction, so stopping (or a killed process) loses nothing: the next :meth:`start`
    continues with the tickets still untagged. The default loader runs the model in a child
    process (:func:`load_tagger`); it is kept for the next runs, and replaced when it died.
    """

    def __init__(
        self, store: Store, loader: Callable[[], Any] | None = None, batch_size: int | None = None
    ) -> None:
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

    def start(
        self, actor: str = SYSTEM_ACTOR, *, role: str | None = None, source: str = "app"
    ) -> bool:
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
            if (
                current is not None
                and current is not threading.current_thread()
                and (current.is_alive() or current.ident is None)
            ):
                self._again = True
                self._again_by = (actor, role, source)
            else:
                self._stop = threading.Event()
                self._again = False
                self._started_by = (actor, role, source)
                self._status = JobStatus(
                    state="loading",
                    message="Loading the tagger…",
                    started=time.time(),
                    device=self._status.device,
                    model_id=self._status.model_id,
                )
                self._thread = thread = threading.Thread(
                    target=self._run, name="pricewar-tagging", daemon=True
                )
        # recorded before the run starts, so its tag_start row comes before its tag_end row
        self._audit(
            "TAG_START",
            actor,
            role,
            source,
            "started" if thread is not None else "queued: runs again when the current run ends",
        )
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

    def stop(
        self, actor: str | None = None, *, role: str | None = None, source: str = "app"
    ) -> None:
        """Ask the running job to stop after the current batch (its work is kept).

        With an ``actor`` (a person asked), the request is recorded in the audit trail
        (``tag_stop``); the app's own stops (shutdown) are not.
        """
        running = self.status().running
        self._stop.set()
        if actor is not None:
            self._audit(
                "TAG_STOP",
                actor,
                role,
                source,
                "stop requested: ends after the current batch"
                if running
                else "nothing was running",
            )

    def _audit(
        self,
        action: str,
        actor: str,
        role: str | None,
        source: str,
        detail: str,
        target: str | None = None,
    ) -> None:
        """Record a tagging event (``action`` names a ``data.audit`` constant)."""
        try:
            from data import audit

            name = getattr(audit, action)
        except (ImportError, AttributeError):
            log.exception("audit action %s unknown", action)
            return
        model = target or self._status.model_id or "the app's tagger"
        record_audit(
            self.store,
            actor=actor,
            action=name,
            target=model,
            detail=detail,
            role=role,
            source=source,
        )

    def use_tagger(self, model_dir: str | None, batch_size: int | None = None) -> None:
        """Tag with the artefact in ``model_dir`` (None: the app's tagger) and ``batch_size``
        (None: unchanged) from the next run on.

        If that run fails, the job goes back to the tagger and batch size it had before, so
        a bad request never breaks later runs ("Start tagging").

        Raises:
            ValueError: ``batch_size`` is not a whole number in 1…``MAX_BATCH_SIZE``, or
                ``model_dir`` is not an existing folder; the job is unchanged.
        """
        from data.tag_requests import check_batch_size, check_model_dir, check_model_files

        batch = check_batch_size(batch_size)
        folder = check_model_dir(str(model_dir) if isinstance(model_dir, Path) else model_dir)
        if folder is not None and not Path(folder).is_dir():
            raise ValueError(f"model_dir {folder[:200]} is not a folder")
        if folder is not None:
            check_model_files(folder)  # a FIFO or /dev/zero link as tagger.json
        if folder is None and batch is None:
            return

        def load() -> Any:
            return load_tagger(folder)

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

    def close(self, timeout: float = 10.0) -> None:
        """Stop after the current batch (waiting ``timeout``) and end the tagging process.

        A later :meth:`start` loads the tagger again.
        """
        self.stop()
        self.wait(timeout)
        with self._lock:
            taggers = [self._tagger, self._fallback[1] if self._fallback else None]
            self._tagger = None
            if self._fallback is not None:
                self._fallback = (self._fallback[0], None, self._fallback[2])
        for tagger in taggers:
            if tagger is not None:
                _close_tagger(tagger)

    def _run(self) -> None:
        """One run, in the job's thread: tag, show how it ended, audit it, rerun if asked."""
        with self._lock:  # a requested tagger is on trial in this run
            fallback, self._fallback = self._fallback, None
        result: Any = None
        try:
            if self._tagger is None:
                self._set(state="loading", message="Loading the tagger…")
                self._tagger = (self._loader or default_loader)()
            tagger = self._tagger
            model_id = str(tagger.model_id)
            done_before, total = explore.tagging_progress(self.store, model_id)
            started = time.time()
            self._set(
                state="running",
                total=max(0, total - done_before),
                done=0,
                device=str(tagger.device),
                model_id=model_id,
                started=started,
                message="Tagging tickets…",
                precision=str(getattr(tagger, "precision", "") or ""),
            )
            last_done: list[str] = []  # the job's own "all tagged" line, when it gives one
            result = self._tag(tagger, started, last_done)
            self._show_end(result, model_id, done_before, started, last_done)
            if fallback is not None and fallback[1] is not None and fallback[1] is not self._tagger:
                _close_tagger(fallback[1])  # the requested tagger replaced the app's own
        except Exception as exc:  # shown to the user as a plain message
            log.exception("tagging failed")
            self._fail(exc, fallback)
        self._audit_end(result)
        self._rerun_if_asked()

    def _tag(self, tagger: Any, started: float, last_done: list[str]) -> Any:
        """``model.tag_store`` through :class:`PagesFirstStore`, reporting into the status."""

        def progress(done: int, total: int) -> None:
            elapsed = max(time.time() - started, 1e-6)
            self._set(done=int(done), total=int(total), rate=int(done) / elapsed)

        def on_status(s: Any) -> None:  # model.jobs.TagStatus: what the job is doing
            if s.state == "done":
                last_done.append(s.message)
                return
            changes: dict[str, Any] = {"precision": s.precision, "compiling": bool(s.compiling)}
            if s.state in {"tagging", "compiling", "loading"}:
                changes["message"] = s.message
            self._set(**changes)

        from model import tag_store

        return tag_store(
            PagesFirstStore(self.store, stop=self._stop),  # type: ignore[arg-type]
            tagger,
            batch_size=self.batch_size,
            progress=progress,
            stop=self._stop,
            status=on_status,
        )

    def _show_end(
        self, result: Any, model_id: str, done_before: int, started: float, last_done: list[str]
    ) -> None:
        """Show a run that raised nothing as done or stopped, with what it tagged."""
        done_after, total_after = explore.tagging_progress(self.store, model_id)
        # the run's own count: a reset of the model during the run takes tickets
        # tagged before it away from the store's count
        tagged = int(getattr(result, "tickets", done_after - done_before))
        left = total_after - done_after
        elapsed = max(time.time() - started, 1e-6)
        stopped = self._stop.is_set()
        message = _end_message(stopped, tagged, left, elapsed, total_after, model_id, last_done)
        self._set(
            state="stopped" if stopped else "done",
            done=tagged,
            rate=tagged / elapsed if tagged else 0.0,
            finished=time.time(),
            message=message,
            compiling=False,
        )
        log.info("tagging finished: %s", result)

    def _fail(self, exc: Exception, fallback: tuple[Any, Any, int] | None) -> None:
        """Show a failed run in plain words; drop a dead tagger; go back to ``fallback``."""
        from dashboard.ui import friendly_message
        from model.worker import TaggerProcessError

        message = friendly_message(exc)
        failed = self._tagger
        if isinstance(exc, TaggerProcessError):
            done = self.status().done
            message = (
                f"Tagging stopped: {exc} after {done:,} tickets of this run (those "
                "are kept). Press Start tagging to resume: a new tagging process "
                "is started."
            )
        elif type(exc).__module__.startswith("model") or isinstance(exc, OSError):
            message = (
                f"The tagger could not be loaded or run ({exc}). If the default "
                "tagger is missing, train it with: python -m model train. Then "
                "press Start tagging: the run resumes where it stopped."
            )
        if failed is not None and getattr(failed, "alive", True) is False:
            _close_tagger(failed)  # a dead tagging process: the next run starts a new one
            self._tagger = None
        if fallback is not None:  # the requested tagger failed: back to the app's own
            with self._lock:
                self._loader, self._tagger, self.batch_size = fallback
            if failed is not None and failed is not self._tagger:
                _close_tagger(failed)
            message += (
                " This run used a tagger or batch size requested from the command "
                "line; the app's own are used again from the next run."
            )
        self._set(state="failed", finished=time.time(), message=message, compiling=False)

    def _audit_end(self, result: Any) -> None:
        """Record the run's end (``tag_end``) for whoever started it."""
        actor, role, source = self._started_by
        status = self.status()
        run_id = getattr(result, "run_id", None)
        self._audit(
            "TAG_END",
            actor,
            role,
            source,
            f"{status.state}: {status.message}",
            target=f"{status.model_id or 'tagger'} run {run_id}" if run_id else None,
        )

    def _rerun_if_asked(self) -> None:
        """Start again when a start was asked while this run went on (and no stop since)."""
        again = False
        with self._lock:
            again, self._again = self._again, False
            again_by = self._again_by
        if again and not self._stop.is_set():
            self.start(again_by[0], role=again_by[1], source=again_by[2])


def _end_message(
    stopped: bool,
    tagged: int,
    left: int,
    elapsed: float,
    total_after: int,
    model_id: str,
    last_done: list[str],
) -> str:
    """The status line of a run that raised nothing: stopped, done with tickets left, or done."""
    if stopped:
        return f"Stopped: {tagged} tickets tagged, {left} left (start again to resume)."
    if tagged and left > 0:  # reset or added while the run went on
        return (
            f"Done: {tagged} tickets tagged in {elapsed:.1f} s; {left:,} still need "
            "tagging (their tags were reset, or they were added, while the run went "
            "on): start again to tag them."
        )
    if tagged == 0:
        return (
            last_done[-1] + "."
            if last_done
            else f"All {total_after:,} tickets are tagged by {model_id}: nothing to do."
        )
    return f"Done: {tagged} tickets tagged in {elapsed:.1f} s."
