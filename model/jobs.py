"""Resumable batch tagging of the store's tickets.

:func:`tag_store` tags every ticket that has no ``tagged_tickets`` row for the tagger's
model id, shortest first (little padding). Each batch's entities and its ``tagged_tickets``
rows are written in ONE transaction through the store's writer, both as upserts, together
with the run's counters in ``tagging_runs``. A process killed at any moment (``kill -9``
included) therefore leaves every ticket either fully tagged or untouched, and the next run
picks up exactly the untouched ones: the final rows equal those of a clean run.

Example:
    >>> with Store.open("var/pricewar.duckdb") as store:            # doctest: +SKIP
    ...     summary = tag_store(store, Tagger.load(), batch_size=64)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

ProgressFn = Callable[[int, int], None]
"""``progress(done, total)``: tickets tagged so far in this run, tickets pending at its start."""

SCORE_DECIMALS = 4  # stored scores are rounded: a resumed run then writes the same values


@dataclass(frozen=True)
class TagRunSummary:
    """What a :func:`tag_store` run did."""

    run_id: str
    model_id: str
    device: str
    status: str  # 'done' | 'interrupted' | 'failed'
    tickets: int
    entities: int
    pending: int  # tickets that needed tagging when the run started
    seconds: float


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def pending_tickets(store: Any, model_id: str) -> list[str]:
    """Keys of the tickets without a ``tagged_tickets`` row for ``model_id``, shortest first."""
    rows = store.fetchall(
        "SELECT t.ticket_key FROM tickets t "
        "WHERE NOT EXISTS (SELECT 1 FROM tagged_tickets g "
        "                  WHERE g.ticket_key = t.ticket_key AND g.model_id = ?) "
        "ORDER BY length(t.text), t.ticket_key",
        [model_id],
    )
    return [r[0] for r in rows]


def _texts(store: Any, keys: list[str]) -> list[str]:
    rows = store.fetchall(
        "SELECT ticket_key, text FROM tickets WHERE ticket_key IN (SELECT unnest(?))", [keys])
    by_key = dict(rows)
    return [by_key.get(k) or "" for k in keys]


def _stopped(stop: Any) -> bool:
    if stop is None:
        return False
    if hasattr(stop, "is_set"):
        return bool(stop.is_set())
    return bool(stop())


def is_shutdown_error(exc: BaseException) -> bool:
    """Whether ``exc`` is ``concurrent.futures`` refusing work because Python is exiting.

    The engine tokenizes on a thread pool; once the interpreter has begun shutting down (a
    server stopped while its tagging job runs, before ``atexit`` hooks stop the job),
    ``submit`` raises ``RuntimeError("cannot schedule new futures after interpreter
    shutdown")``. That is an interruption, not a failure of the tagger.
    """
    return isinstance(exc, RuntimeError) and "interpreter shutdown" in str(exc)


def _write_batch(run_id: str, model_id: str, keys: list[str], entities: pd.DataFrame):
    """The writer-thread function storing one batch (entities + tagged_tickets + counters)."""

    def write(conn) -> None:
        if len(entities):
            conn.execute(
                'INSERT INTO entities (ticket_key, model_id, start, "end", label, text, score) '
                "SELECT unnest(?), ?, unnest(?), unnest(?), unnest(?), unnest(?), unnest(?) "
                "ON CONFLICT DO UPDATE SET text = excluded.text, score = excluded.score",
                [entities["ticket_key"].tolist(), model_id, entities["start"].tolist(),
                 entities["end"].tolist(), entities["label"].tolist(),
                 entities["text"].tolist(), entities["score"].tolist()])
        conn.execute(
            "INSERT INTO tagged_tickets (ticket_key, model_id, run_id, tagged_at) "
            "SELECT unnest(?), ?, ?, ? "
            "ON CONFLICT DO UPDATE SET run_id = excluded.run_id, tagged_at = excluded.tagged_at",
            [keys, model_id, run_id, _now()])
        conn.execute(
            "UPDATE tagging_runs SET tickets = tickets + ?, entities = entities + ? "
            "WHERE run_id = ?", [len(keys), len(entities), run_id])

    return write


def _finish(store: Any, run_id: str, status: str, message: str | None) -> None:
    store.execute_write(
        "UPDATE tagging_runs SET status = ?, finished_at = ?, message = ? WHERE run_id = ?",
        [status, _now(), message, run_id])


def tag_store(
    store: Any,
    tagger: Any,
    *,
    batch_size: int = 64,
    progress: ProgressFn | None = None,
    stop: Any = None,
) -> TagRunSummary:
    """Tag every ticket lacking a ``tagged_tickets`` row for ``tagger.model_id``.

    Args:
        store: an open, writable :class:`data.store.Store`.
        tagger: a :class:`model.Tagger` (``model_id``, ``device``, ``tag``).
        batch_size: windows per forward pass; tickets are written every ``4 × batch_size``.
        progress: ``progress(done, total)`` after every written batch (and once at start).
        stop: a ``threading.Event`` or a callable returning ``True`` to stop after the
            current batch (the run is then recorded as ``interrupted``).

    Returns:
        A :class:`TagRunSummary`; the run is also recorded in ``tagging_runs``.

    Raises:
        Whatever stopped the run, after recording it: ``KeyboardInterrupt``, ``SystemExit``
        and the thread pool's interpreter-shutdown ``RuntimeError`` (see
        :func:`is_shutdown_error`) as ``interrupted``, any other exception as ``failed``.
        The batches written before stay; the next run resumes after them.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    started = time.monotonic()
    run_id = uuid.uuid4().hex
    model_id = tagger.model_id
    store.execute_write(
        "INSERT INTO tagging_runs (run_id, model_id, device, started_at, status) "
        "VALUES (?, ?, ?, ?, 'running')", [run_id, model_id, tagger.device, _now()])
    done = n_entities = 0
    status, message = "done", None
    keys: list[str] = []
    try:
        keys = pending_tickets(store, model_id)
        if progress is not None:
            progress(0, len(keys))
        group = 4 * batch_size
        for start in range(0, len(keys), group):
            if _stopped(stop):
                status = "interrupted"
                break
            batch_keys = keys[start:start + group]
            texts = _texts(store, batch_keys)
            found = tagger.tag(texts, batch_size=batch_size)
            rows = [(key, e.start, e.end, e.label, e.text, round(float(e.score), SCORE_DECIMALS))
                    for key, entities in zip(batch_keys, found, strict=True) for e in entities]
            frame = pd.DataFrame(rows, columns=["ticket_key", "start", "end", "label", "text",
                                                "score"])
            store.write(_write_batch(run_id, model_id, batch_keys, frame))
            done += len(batch_keys)
            n_entities += len(rows)
            if progress is not None:
                progress(done, len(keys))
    except KeyboardInterrupt:
        _finish(store, run_id, "interrupted", "interrupted by the user")
        raise
    except SystemExit:
        _finish(store, run_id, "interrupted", "interrupted: the process is exiting")
        raise
    except Exception as exc:
        if is_shutdown_error(exc):
            _finish(store, run_id, "interrupted",
                    f"interrupted by interpreter shutdown ({type(exc).__name__}: {exc})")
        else:
            _finish(store, run_id, "failed", f"{type(exc).__name__}: {exc}")
        raise
    _finish(store, run_id, status, message)
    return TagRunSummary(run_id, model_id, tagger.device, status, done, n_entities, len(keys),
                         time.monotonic() - started)
