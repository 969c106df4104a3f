"""What runs in the tagging child process that :class:`model.worker.ProcessTagger` starts.

The parent starts a fresh interpreter (``python -c`` through :mod:`subprocess`) that calls
:func:`child_main`: it ignores Ctrl-C (the parent decides when it ends), nices itself
(``nice`` added to the parent's niceness), sets its own torch thread count, loads a
:class:`model.Tagger` and tells the parent it is ready (or why the load failed); then
:func:`_serve` answers the parent's requests over the pipe one at a time (``tag``, ``plan``,
``wait_compiled``, ``close``), each reply carrying the tagger's precision and whether it
compiles, and the tagger's status events go to the parent as they come. The model runs here,
in a process of its own, so that its forward passes never compete with the app's page scripts
for the GIL and the cores (see :mod:`model.worker`). This module never imports
:mod:`model.worker` (the parent's side imports :data:`DEFAULT_NICE` from here).

- **No orphans.** The child exits when the pipe to its parent closes (the parent ended, even
  by ``kill -9``) and, while it computes, a watcher thread (:func:`_watch_parent`) ends it
  within a second once its parent process is gone. ``prctl(PR_SET_PDEATHSIG)`` is
  deliberately not used: Linux sends it when the *thread* that started the child ends, and a
  job starts its tagger from a short-lived thread.
- **Errors go back whole.** An exception of the load or of a call is sent as itself when it
  survives pickling, else as its type name and message (the parent raises those as a
  :class:`model.worker.RemoteError`); after an error in a call the child goes on serving.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from model.jobs import TagStatus

__all__ = ["DEFAULT_NICE", "PARENT_CHECK_SECONDS", "child_main"]

DEFAULT_NICE = 10
"""Niceness the child adds to its parent's: the pages' process comes first for the CPU."""

PARENT_CHECK_SECONDS = 0.5
"""How often the child's watcher looks whether its parent process is still there."""


def _payload(exc: BaseException) -> Any:
    """``exc`` itself when it survives pickling, else ``(type name, message)``."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return (type(exc).__name__, str(exc))


def _watch_parent(parent: int) -> None:
    """End this process (at once) when the parent process is gone: no orphaned taggers."""
    while True:
        if os.getppid() != parent:
            os._exit(3)
        time.sleep(PARENT_CHECK_SECONDS)


def child_main(argv: list[str]) -> int:
    """Entry point of the tagging child (started by :meth:`ProcessTagger.start`)."""
    ap = argparse.ArgumentParser(prog="model.worker_child")
    ap.add_argument("--fd", type=int, required=True)
    ap.add_argument("--parent", type=int, required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--nice", type=int, default=DEFAULT_NICE)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--model-dir", default="")
    ap.add_argument("--precision", default="")
    args = ap.parse_args(argv)
    # the parent decides when this process ends: a Ctrl-C in its terminal stops its job
    # after the current batch, which this process must still answer
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(
        target=_watch_parent, args=(args.parent,), name="watch-parent", daemon=True
    ).start()
    if args.nice:
        with contextlib.suppress(OSError):
            os.nice(args.nice)
    conn = Connection(args.fd)
    send_lock = threading.Lock()

    def send(message: tuple) -> None:
        with send_lock:
            conn.send(message)

    def on_status(status: TagStatus) -> None:
        with contextlib.suppress(OSError, ValueError):
            send(("status", status))

    try:
        import torch

        torch.set_num_threads(args.threads)
        with contextlib.suppress(RuntimeError):  # only possible before any parallel work
            torch.set_num_interop_threads(1)
        from model.tagger import Tagger

        tagger = Tagger.load(
            args.model_dir or None,
            device=args.device,
            precision=args.precision or None,
            status=on_status,
        )
    except BaseException as exc:  # sent back whole: the parent raises it with its message
        with contextlib.suppress(OSError, ValueError):
            send(("failed", _payload(exc)))
        return 1
    send(
        (
            "ready",
            {
                "model_id": tagger.model_id,
                "model_dir": str(tagger.model_dir) if tagger.model_dir else "",
                "device": tagger.device,
                "labels": tagger.labels,
                "types": tagger.types,
                "sentiment_labels": tagger.sentiment_labels,
                "segmentation": tagger.segmentation,
                "precision": tagger.precision,
                "compiling": tagger.compiling,
            },
        )
    )
    return _serve(conn, send, tagger)


def _serve(conn: Connection, send: Callable[[tuple], None], tagger: Any) -> int:
    """Answer the parent's requests one at a time until it says close or goes away."""
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return 0  # the parent is gone or closed its end
        op = message[0]
        if op == "close":
            return 0
        call_id = message[1]
        try:
            if op == "tag":
                texts, batch_size, want_progress = message[2:]

                def progress(n: int, call_id: int = call_id) -> None:
                    send(("progress", call_id, n))

                entities, sentiments = tagger.tag_with_sentiment(
                    texts, batch_size=batch_size, progress=progress if want_progress else None
                )
                value: Any = (entities, sentiments if tagger.has_sentiment else None)
            elif op == "plan":
                value = tagger.plan(message[2])
            elif op == "wait_compiled":
                value = tagger.wait_compiled(message[2])
            else:
                raise ValueError(f"unknown request {op!r}")
            reply: tuple = ("result", call_id, value)
        except Exception as exc:
            reply = ("error", call_id, _payload(exc))
        try:
            send((*reply, tagger.precision, tagger.compiling))
        except (OSError, ValueError):
            return 0
