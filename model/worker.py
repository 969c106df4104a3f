"""A tagger in its own process: :class:`ProcessTagger`, the same surface as :class:`model.Tagger`.

The dashboard's background tagging used to run the model in a thread of the Streamlit
process, where its forward passes competed with the page scripts for the GIL and the cores.
:meth:`ProcessTagger.start` runs the model in a child process instead: a fresh interpreter
(``python -c`` through :mod:`subprocess`: nothing of the parent is forked or re-imported),
niced (``nice`` added to the parent's niceness), with its own torch thread count and
``HF_HUB_OFFLINE=1``. Texts go to the child over a pipe and the entities and sentiment come
back as the same :class:`model.Entity` / :class:`model.Sentiment` objects a
:class:`model.Tagger` gives; the parent keeps everything else (a DuckDB file has one writer
process: :func:`model.tag_store` writes from the parent exactly as with an in-process tagger).

- **Same answers.** The child runs :meth:`model.Tagger.tag_with_sentiment` on the texts it
  is sent; its status events (loading, int8 compiling in the background, ready) reach the
  parent's listeners (:meth:`ProcessTagger.add_listener`), and :attr:`ProcessTagger.precision`
  / :attr:`ProcessTagger.compiling` follow the child's.
- **No orphans.** The child ends itself when its parent is gone, even by ``kill -9``
  (:mod:`model.worker_child`, what runs in the child, says how). :meth:`ProcessTagger.close`
  (also the context manager's exit, and an ``atexit`` hook for every tagger still open) ends
  the child cleanly.
- **Failures are exceptions.** A child that dies (killed, out of memory) makes the call in
  flight, and every later one, raise :class:`TaggerProcessError` naming the pid and how it
  ended; start a new :class:`ProcessTagger` to go on. An error while loading (a bad or
  damaged artefact) is raised by :meth:`ProcessTagger.start` as the child raised it (e.g.
  :class:`model.errors.DamagedModelError` with its message); an error in a call (e.g. a
  text that is not a ``str``) is raised by that call, and the child goes on serving.

POSIX only (the pipe's end is handed to the child with ``pass_fds``).

Example:
    >>> with ProcessTagger.start(threads=1) as tagger:                  # doctest: +SKIP
    ...     tagger.tag(["Jane from Acme asked about Azure"])
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
import weakref
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, Pipe
from pathlib import Path
from typing import Any

from model.errors import ModelError, TaggerProcessError
from model.jobs import StatusFn, TagStatus
from model.results import Entity, Sentiment
from model.worker_child import DEFAULT_NICE

__all__ = ["ROOT", "ProcessTagger", "RemoteError"]

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]


_OPEN: weakref.WeakSet[ProcessTagger] = weakref.WeakSet()
_EXITING = threading.Event()


@atexit.register
def _close_all() -> None:
    """At interpreter exit, end every tagging child still running (registered once)."""
    _EXITING.set()
    for tagger in list(_OPEN):
        with contextlib.suppress(Exception):
            tagger.close(timeout=2.0)


def _exit_reason(returncode: int | None) -> str:
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"killed by {name}"
    return f"exited with status {returncode}"


class _Call:
    """One request in flight: its replies (progress, result, error) land in ``replies``."""

    def __init__(self, progress: Callable[[int], None] | None) -> None:
        self.progress = progress
        self.replies: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()


class ProcessTagger:
    """A :class:`model.Tagger` running in a child process (see the module docstring).

    Make one with :meth:`start`; it has the tagger's ``model_id``, ``device``, ``labels``,
    ``types``, ``sentiment_labels``, ``has_sentiment``, ``precision``, ``compiling``,
    ``status``, :meth:`tag`, :meth:`tag_with_sentiment`, :meth:`plan`, :meth:`add_listener`
    and :meth:`remove_listener`, plus :attr:`pid`, :attr:`alive` and :meth:`close`. Calls are
    safe from any thread; the child serves them one at a time.
    """

    def __init__(
        self,
        process: subprocess.Popen,
        conn: Connection,
        *,
        threads: int,
        nice: int,
        status: StatusFn | None = None,
    ) -> None:
        self._process = process
        self._conn = conn
        self.threads = threads
        self.nice = nice
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._calls: dict[int, _Call] = {}
        self._ids = itertools.count(1)
        self._listeners: list[StatusFn] = [status] if status is not None else []
        self._error: TaggerProcessError | None = None
        self._closing = False
        self._ready: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self.model_id = ""
        self.model_dir: Path | None = None
        self.device = "cpu"
        self.labels: list[str] = []
        self.types: list[str] = []
        self.sentiment_labels: list[str] = []
        self.segmentation = ""
        self._precision = ""
        self._compiling = False
        self.status = TagStatus("loading", "Starting the tagging process…")
        """The latest :class:`model.jobs.TagStatus` the child's tagger reported."""
        # the reader holds the tagger weakly: a tagger nobody uses any more can be collected
        # (its finaliser then ends the child)
        self._reader = threading.Thread(
            target=_read_loop,
            args=(weakref.ref(self), conn),
            name=f"tagger-process-{process.pid}",
            daemon=True,
        )
        self._finalizer = weakref.finalize(self, _end_process, process, conn)

    # -- starting ------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        model_dir: Path | str | None = None,
        *,
        threads: int = 1,
        nice: int = DEFAULT_NICE,
        precision: str | None = None,
        device: str = "auto",
        status: StatusFn | None = None,
        timeout: float | None = None,
    ) -> ProcessTagger:
        """Start a child process that loads the tagger in ``model_dir``; return when it is loaded.

        Args:
            model_dir: an artefact folder; ``None`` means :data:`model.DEFAULT_MODEL_DIR`.
            threads: torch intra-op threads of the child (also its CPU batch streams).
            nice: niceness the child adds to this process's (0 keeps the same priority).
            precision: as :meth:`model.Tagger.load`; ``None`` reads
                ``$PRICEWAR_TAG_PRECISION`` (in the child, which inherits the environment).
            device: ``auto``, ``cpu`` or ``cuda``, as :meth:`model.Tagger.load`.
            status: called with the child tagger's :class:`model.jobs.TagStatus` events
                (loading, ready, int8 compiling later), from a reader thread; it stays
                registered (as :meth:`add_listener`).
            timeout: seconds to wait for the load (``None``: as long as the child lives).

        Raises:
            model.errors.ModelNotFoundError, model.errors.DamagedModelError, ValueError,
                RuntimeError: what :meth:`model.Tagger.load` raised in the child, with its
                message (the child has ended).
            TaggerProcessError: the child died before the tagger was loaded, or the
                ``timeout`` passed (the child is ended).
        """
        if threads < 1:
            raise ValueError("threads must be at least 1")
        parent_end, child_end = Pipe(duplex=True)
        env = dict(os.environ)
        env.update(
            {
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
                # read when torch and the tokenizers load: the child's own thread counts
                "OMP_NUM_THREADS": str(threads),
                "MKL_NUM_THREADS": str(threads),
                "RAYON_NUM_THREADS": str(threads),
                "TOKENIZERS_PARALLELISM": "false",
                "PYTHONPATH": os.pathsep.join(
                    [str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
                ),
            }
        )
        args = [
            sys.executable,
            "-c",
            "import sys; from model.worker_child import child_main; "
            "sys.exit(child_main(sys.argv[1:]))",
            "--fd",
            str(child_end.fileno()),
            "--parent",
            str(os.getpid()),
            "--threads",
            str(threads),
            "--nice",
            str(nice),
            "--device",
            device,
            "--model-dir",
            "" if model_dir is None else str(Path(model_dir).resolve()),
            "--precision",
            precision or "",
        ]
        try:
            process = subprocess.Popen(
                args,
                env=env,
                cwd=str(ROOT),
                stdin=subprocess.DEVNULL,
                pass_fds=(child_end.fileno(),),
                close_fds=True,
            )
        finally:
            child_end.close()  # the child's copy only: its end closing is our EOF
        tagger = cls(process, parent_end, threads=threads, nice=nice, status=status)
        _OPEN.add(tagger)
        tagger._reader.start()
        try:
            kind, value = tagger._ready.get(timeout=timeout)
        except queue.Empty:
            tagger.close(timeout=1.0)
            raise TaggerProcessError(
                f"the tagging process (pid {process.pid}) did not load "
                f"the tagger within {timeout:g} s; it was ended"
            ) from None
        if kind == "ready":
            return tagger
        tagger.close(timeout=5.0)
        raise value

    # -- the tagger's surface --------------------------------------------------------------

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self._process.pid

    @property
    def alive(self) -> bool:
        """Whether the child is running and serving (False once it died or was closed)."""
        return self._error is None and not self._closing and self._process.poll() is None

    @property
    def precision(self) -> str:
        """What the child's new chunks run in now (``fp32``, ``int8``, ``bf16``)."""
        return self._precision

    @property
    def compiling(self) -> bool:
        """Whether the child compiles its int8 model in the background right now."""
        return self._compiling

    @property
    def has_sentiment(self) -> bool:
        """Whether the tagger also gives a sentiment per text (a two-head artefact)."""
        return bool(self.sentiment_labels)

    def add_listener(self, fn: StatusFn) -> None:
        """Call ``fn(status)`` on every status event of the child's tagger (reader thread)."""
        with self._lock:
            self._listeners.append(fn)

    def remove_listener(self, fn: StatusFn) -> None:
        """Stop calling ``fn`` (no error if it was not registered)."""
        with self._lock:
            if fn in self._listeners:
                self._listeners.remove(fn)

    def plan(self, job_texts: int, status: StatusFn | None = None) -> str:
        """:meth:`model.Tagger.plan` in the child: prepare for a job of ``job_texts`` texts;
        returns what runs it (``fp32``, ``bf16``, ``int8``, ``fp32-then-int8``, ...)."""
        if status is not None:
            self.add_listener(status)
        try:
            return str(self._request("plan", int(job_texts)))
        finally:
            if status is not None:
                self.remove_listener(status)

    def tag(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        progress: Callable[[int], None] | None = None,
    ) -> list[list[Entity]]:
        """Entities of every text, in input order (:meth:`model.Tagger.tag` in the child)."""
        return self.tag_with_sentiment(texts, batch_size=batch_size, progress=progress)[0]

    def tag_with_sentiment(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[list[list[Entity]], list[Sentiment | None]]:
        """Entities and sentiment of every text from one pass in the child (see
        :meth:`model.Tagger.tag_with_sentiment`); ``progress(n)`` is called in this thread
        with the texts finished after each chunk.

        Raises:
            TaggerProcessError: the child died (or was closed) before answering.
            TypeError, ValueError: what the child's tagger raised (e.g. a text not a ``str``).
        """
        texts = list(texts)
        entities, sentiments = self._request(
            "tag", texts, int(batch_size), progress is not None, progress=progress
        )
        return entities, sentiments if sentiments is not None else [None] * len(texts)

    def wait_compiled(self, timeout: float | None = None) -> bool:
        """Wait for the child's background int8 compile to end; whether it runs int8 now."""
        return bool(self._request("wait_compiled", timeout))

    def close(self, timeout: float = 5.0) -> None:
        """End the child: asked to exit, then terminated, then killed (each after ``timeout``).

        Idempotent; calls still in flight raise :class:`TaggerProcessError`.
        """
        with self._lock:
            self._closing = True
        with contextlib.suppress(OSError, ValueError), self._send_lock:
            self._conn.send(("close",))
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=timeout)  # it exits on its own after the batch
        _end_process(self._process, self._conn, timeout)
        self._finalizer.detach()
        _OPEN.discard(self)
        why = "interpreter shutdown" if _EXITING.is_set() else "closed"
        self._fail(TaggerProcessError(f"the tagging process (pid {self.pid}) was stopped ({why})"))

    def __enter__(self) -> ProcessTagger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"ProcessTagger(model_id={self.model_id!r}, device={self.device!r}, "
            f"pid={self.pid}, threads={self.threads})"
        )

    # -- plumbing ------------------------------------------------------------------------

    def _request(self, op: str, *args: Any, progress: Callable[[int], None] | None = None) -> Any:
        call = _Call(progress)
        with self._lock:
            if self._error is not None:
                raise TaggerProcessError(str(self._error))
            call_id = next(self._ids)
            self._calls[call_id] = call
        try:
            try:
                with self._send_lock:
                    self._conn.send((op, call_id, *args))
            except (OSError, ValueError) as exc:  # the pipe is closed: the child is gone
                self._fail(self._died(f"{type(exc).__name__}: {exc}"))
            while True:
                kind, value = call.replies.get()
                if kind == "progress":
                    if call.progress is not None:
                        call.progress(int(value))
                    continue
                if kind == "result":
                    return value
                raise value
        finally:
            with self._lock:
                self._calls.pop(call_id, None)

    def _died(self, detail: str = "") -> TaggerProcessError:
        """The error every call gets once the child has ended unasked."""
        try:
            returncode = self._process.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            returncode = None
        how = _exit_reason(returncode)
        extra = f"; {detail}" if detail and returncode is None else ""
        return TaggerProcessError(
            f"the tagging process (pid {self.pid}) ended unexpectedly ({how}{extra})"
        )

    def _fail(self, error: TaggerProcessError) -> None:
        """Make every call in flight and every later one raise ``error`` (first one wins)."""
        with self._lock:
            if self._error is None:
                self._error = error
            error = self._error
            calls = list(self._calls.values())
        for call in calls:
            call.replies.put(("error", error))
        self._ready.put(("error", error))

    def _handle(self, message: tuple) -> None:
        """One message from the child (on the reader thread)."""
        kind = message[0]
        if kind == "status":
            self._on_status(message[1])
        elif kind in {"result", "error", "progress"}:
            _, call_id, value, *state = message
            if state:
                self._precision, self._compiling = state
            with self._lock:
                call = self._calls.get(call_id)
            if call is not None:
                call.replies.put((kind, _exception(value, self.pid) if kind == "error" else value))
        elif kind == "ready":
            info = message[1]
            self.model_id = info["model_id"]
            self.model_dir = Path(info["model_dir"]) if info["model_dir"] else None
            self.device = info["device"]
            self.labels = list(info["labels"])
            self.types = list(info["types"])
            self.sentiment_labels = list(info["sentiment_labels"])
            self.segmentation = info["segmentation"]
            self._precision, self._compiling = info["precision"], info["compiling"]
            self._ready.put(("ready", None))
        elif kind == "failed":  # the load failed; the child exits (expected: no crash)
            with self._lock:
                self._closing = True
            self._ready.put(("error", _exception(message[1], self.pid)))

    def _on_status(self, status: TagStatus) -> None:
        self.status = status
        if status.precision:
            self._precision = status.precision
        self._compiling = bool(status.compiling)
        with self._lock:
            listeners = list(self._listeners)
        for fn in listeners:
            try:
                fn(status)
            except Exception:  # a progress display must never break the tagger
                log.debug("status listener failed", exc_info=True)


def _read_loop(ref: weakref.ref[ProcessTagger], conn: Connection) -> None:
    """The reader thread: hand every message of the child to its tagger until EOF."""
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError, ValueError, pickle.UnpicklingError):
            break
        tagger = ref()
        if tagger is None:
            return
        try:
            tagger._handle(message)
        except Exception:
            log.exception("bad message from the tagging process")
        del tagger
    tagger = ref()
    if tagger is not None and not tagger._closing:
        error = tagger._died()
        log.error("%s", error)
        tagger._fail(error)
        _OPEN.discard(tagger)


def _end_process(process: subprocess.Popen, conn: Connection, timeout: float = 5.0) -> None:
    """Close our end of the pipe and make sure the child has exited (terminate, then kill)."""
    with contextlib.suppress(OSError):
        conn.close()
    for stop in (None, process.terminate, process.kill):
        if stop is not None:
            with contextlib.suppress(OSError):
                stop()
        try:
            process.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            continue


class RemoteError(ModelError, RuntimeError):
    """An exception of the child that could not be sent as itself (its type and message).

    A ``RuntimeError`` as well, so that :func:`model.jobs.is_shutdown_error` still recognises
    a child refusing work at interpreter shutdown whose exception could not be pickled.
    """


def _exception(payload: Any, pid: int) -> BaseException:
    """The exception the child sent (itself when it could be pickled)."""
    if isinstance(payload, BaseException):
        with contextlib.suppress(Exception):
            payload.add_note(f"(raised in the tagging process, pid {pid})")
        return payload
    name, text = payload
    return RemoteError(f"{name}: {text}" if text else name)
