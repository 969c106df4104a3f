"""Resumable batch tagging of the store's tickets.

:func:`tag_store` tags every ticket that has no ``tagged_tickets`` row for the tagger's
model id, day by day and shortest first within a day (:func:`pending_tickets`: entity rows
in day order, little padding). Each batch's entities and its ``tagged_tickets``
rows are written in ONE transaction through the store's writer, both as upserts, together
with the run's counters in ``tagging_runs``. A process killed at any moment (``kill -9``
included) therefore leaves every ticket either fully tagged or untouched, and the next run
picks up exactly the untouched ones: the final rows equal those of a clean run. A two-head
tagger (``tagger.has_sentiment``) also writes each ticket's sentiment to ``ticket_sentiment``
(``ticket_key, model_id, label, score``; upsert) in that same transaction.

Example:
    >>> with Store.open("var/pricewar.duckdb") as store:            # doctest: +SKIP
    ...     summary = tag_store(store, Tagger.load(), batch_size=64)
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from data import rollup_tables, rollup_upkeep

ProgressFn = Callable[[int, int], None]
"""``progress(done, total)``: tickets tagged so far in this run, tickets pending at its start."""


@dataclass(frozen=True)
class TagStatus:
    """What the tagger or a tagging job is doing, for a progress display.

    ``state`` is one of ``loading`` (the model is being loaded), ``ready`` (loaded, or int8
    compiled), ``compiling`` (int8 is being compiled; with ``compiling`` also true while a job
    tags in fp32 or bf16 meanwhile), ``tagging`` (``done`` of ``total`` tickets at ``rate`` tickets/s),
    ``done`` (all tagged), ``stopped`` or ``failed``. ``message`` says it in one line for
    people (e.g. "Tagging: 1,280 of 3,000 tickets at 92 tickets/s (fp32; int8 compiling in
    the background)"); ``precision`` is what new batches run in.
    """

    state: str
    message: str
    done: int = 0
    total: int = 0
    rate: float = 0.0
    precision: str = ""
    compiling: bool = False


StatusFn = Callable[[TagStatus], None]
"""``status(TagStatus)``: called by :meth:`model.Tagger.load`, :meth:`model.Tagger.plan` and
:func:`tag_store` whenever what they do changes (and after every written batch)."""

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
    """Keys of the tickets without a ``tagged_tickets`` row for ``model_id``: day by day
    (oldest first, undated last), shortest first within a day.

    The job writes entity rows in this order, so the entities of a day's tickets lie
    together and the days follow each other: the Entities page's ticket list reads only
    the rows of an entity's newest months (``analytics.explore.tickets._mentions_in``).
    Shortest first within a day keeps the padding of the tagger's batches low (it sorts
    each batch's windows by length anyway)."""
    rows = store.fetchall(
        "SELECT t.ticket_key FROM tickets t "
        "WHERE NOT EXISTS (SELECT 1 FROM tagged_tickets g "
        "                  WHERE g.ticket_key = t.ticket_key AND g.model_id = ?) "
        "ORDER BY CAST(t.created_at AS DATE) NULLS LAST, length(t.text), t.ticket_key",
        [model_id],
    )
    return [r[0] for r in rows]


def untagged_count(store: Any, model_id: str) -> int:
    """How many tickets have no ``tagged_tickets`` row for ``model_id``."""
    return int(
        store.scalar(
            "SELECT count(*) FROM tickets t WHERE NOT EXISTS (SELECT 1 FROM tagged_tickets g "
            "WHERE g.ticket_key = t.ticket_key AND g.model_id = ?)",
            [model_id],
        )
        or 0
    )


def _left_message(left: int) -> str:
    return (
        f"{left:,} tickets still need tagging (their tags were reset, or they were added, "
        "while the run went on): start again to tag them"
    )


def _texts(store: Any, keys: list[str]) -> list[str]:
    rows = store.fetchall(
        "SELECT ticket_key, text FROM tickets WHERE ticket_key IN (SELECT unnest(?))", [keys]
    )
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


@dataclass(frozen=True)
class _Run:
    """What a run's ``tagging_runs`` row holds from its start (written again by a batch
    when a reset of the model removed it meanwhile)."""

    run_id: str
    model_id: str
    device: str
    started_at: datetime


def _write_batch(
    run: _Run,
    keys: list[str],
    entities: pd.DataFrame,
    sentiment: list[tuple[str, str, float]] | None = None,
):
    """The writer-thread function storing one batch (entities + sentiment + tagged_tickets +
    counters): one transaction."""
    run_id, model_id = run.run_id, run.model_id

    def write(conn) -> None:
        # Only the tickets still in the store: a batch whose tickets were removed since the
        # run listed them (a reset of their batch) must not leave tags of tickets that are
        # gone (they counted as tagged: "208 / 200 tickets tagged"). Checked in the write's
        # own transaction, so no reset can come between the check and the rows.
        present = {
            r[0]
            for r in conn.execute(
                "SELECT ticket_key FROM tickets WHERE ticket_key IN (SELECT unnest(?::VARCHAR[]))",
                [keys],
            ).fetchall()
        }
        kept = [k for k in keys if k in present]
        if not kept:
            return
        rows = entities[entities["ticket_key"].isin(present)] if len(entities) else entities
        moods = [r for r in sentiment if r[0] in present] if sentiment else sentiment
        # the entity and tagged-ticket roll-ups follow this batch (data.rollup_upkeep)
        with rollup_upkeep.maintained(
            conn,
            "SELECT unnest(?::VARCHAR[]) AS ticket_key",
            [kept],
            parts=(rollup_tables.TAGS,),
            model_id=model_id,
        ):
            _write_rows(conn, kept, rows, moods)

    def _write_rows(
        conn,
        keys: list[str],
        entities: pd.DataFrame,
        sentiment: list[tuple[str, str, float]] | None,
    ) -> None:
        if sentiment:
            conn.execute(
                "INSERT INTO ticket_sentiment (ticket_key, model_id, label, score) "
                "SELECT unnest(?), ?, unnest(?), unnest(?) "
                "ON CONFLICT DO UPDATE SET label = excluded.label, score = excluded.score",
                [
                    [r[0] for r in sentiment],
                    model_id,
                    [r[1] for r in sentiment],
                    [r[2] for r in sentiment],
                ],
            )
        if len(entities):
            _write_entities(conn, model_id, entities)
        conn.execute(
            "INSERT INTO tagged_tickets (ticket_key, model_id, run_id, tagged_at) "
            "SELECT unnest(?), ?, ?, ? "
            "ON CONFLICT DO UPDATE SET run_id = excluded.run_id, tagged_at = excluded.tagged_at",
            [keys, model_id, run_id, _now()],
        )
        # An upsert, not an update: a reset of this model while the run goes on removes
        # the run's row with its results; the batches written after it are this run's
        # again, counted from zero (an update found no row: tagged tickets of no run).
        conn.execute(
            "INSERT INTO tagging_runs (run_id, model_id, device, started_at, status, tickets,"
            " entities) VALUES (?, ?, ?, ?, 'running', ?, ?) ON CONFLICT (run_id) DO UPDATE"
            " SET tickets = tickets + excluded.tickets, entities = entities + excluded.entities",
            [run_id, model_id, run.device, run.started_at, len(keys), len(entities)],
        )

    return write


_BATCH_ENTITIES = (
    'SELECT unnest(?) AS ticket_key, unnest(?) AS start, unnest(?) AS "end",'
    " unnest(?) AS label, unnest(?) AS text, unnest(?) AS score, unnest(range(?)) AS pos"
)

_INSERT_ENTITIES = (
    'INSERT INTO entities (ticket_key, model_id, start, "end", label, text, score)'  # noqa: S608 - fixed SQL fragments; values are parameters
    ' SELECT n.ticket_key, ?, n.start, n."end", n.label, n.text, n.score'
    f" FROM ({_BATCH_ENTITIES}) AS n"
    ' ANTI JOIN (SELECT ticket_key, start, "end", label FROM entities WHERE model_id = ?'
    "  AND ticket_key IN (SELECT unnest(?::VARCHAR[]))) AS x"
    '  ON x.ticket_key = n.ticket_key AND x.start = n.start AND x."end" = n."end"'
    "  AND x.label = n.label"
    " ORDER BY n.pos"
)
"""A batch's entity rows the store lacks, in the batch's order (its tickets' creation order):
the store's entity rows then follow the days as the Entities page's entity pick expects
(``analytics.explore.tickets._mentions_in``). Not ``ON CONFLICT``: DuckDB does not keep the
insert order of a statement with a conflict clause (28 of 100 rows out of order)."""

_UPDATE_ENTITIES = (
    "UPDATE entities SET text = n.text, score = n.score"  # noqa: S608 - fixed SQL fragments; values are parameters
    f" FROM ({_BATCH_ENTITIES}) AS n"
    " WHERE entities.model_id = ? AND entities.ticket_key = n.ticket_key"
    ' AND entities.start = n.start AND entities."end" = n."end" AND entities.label = n.label'
)
"""The text and score of rows the store had already (of a ticket no run counted as tagged
for this model): the rare case, as ``ON CONFLICT DO UPDATE`` did."""


def _write_entities(conn: Any, model_id: str, entities: pd.DataFrame) -> None:
    """Insert ``entities`` (one batch, in creation order), updating rows the store has."""
    batch = [
        entities["ticket_key"].tolist(),
        entities["start"].tolist(),
        entities["end"].tolist(),
        entities["label"].tolist(),
        entities["text"].tolist(),
        entities["score"].tolist(),
        len(entities),
    ]
    keys = list(dict.fromkeys(batch[0]))
    inserted = conn.execute(_INSERT_ENTITIES, [model_id, *batch, model_id, keys]).fetchone()
    if int(inserted[0]) < len(entities):
        conn.execute(_UPDATE_ENTITIES, [*batch, model_id])


def _finish(store: Any, run_id: str, status: str, message: str | None) -> None:
    store.execute_write(
        "UPDATE tagging_runs SET status = ?, finished_at = ?, message = ? WHERE run_id = ?",
        [status, _now(), message, run_id],
    )


def _progress_message(done: int, total: int, rate: float, precision: str, compiling: bool) -> str:
    how = precision + ("; int8 compiling in the background" if compiling else "")
    speed = f" at {rate:,.1f} tickets/s" if done else ""
    return f"Tagging: {done:,} of {total:,} tickets{speed} ({how})"


class _JobReport:
    """A tagging job's progress for ``status`` (never raising into the job): tickets done
    of those pending, the rate since the first batch started, the tagger's precision."""

    def __init__(self, tagger: Any, status: StatusFn | None) -> None:
        self.tagger, self.status = tagger, status
        self.done, self.total = 0, 0
        self.tagging_since: float | None = None  # set when the first batch starts

    @property
    def precision(self) -> str:
        return str(getattr(self.tagger, "precision", "") or "")

    @property
    def compiling(self) -> bool:
        return bool(getattr(self.tagger, "compiling", False))

    def rate(self) -> float:
        if self.tagging_since is None or not self.done:
            return 0.0
        return self.done / max(time.monotonic() - self.tagging_since, 1e-6)

    def say(self, state: str, text: str) -> None:
        if self.status is None:
            return
        with contextlib.suppress(Exception):  # a progress display must never break the job
            self.status(
                TagStatus(
                    state,
                    text,
                    self.done,
                    self.total,
                    self.rate(),
                    self.precision,
                    self.compiling,
                )
            )

    def tagging(self) -> None:
        """After every written batch (and when the first starts)."""
        self.say(
            "tagging",
            _progress_message(self.done, self.total, self.rate(), self.precision, self.compiling),
        )

    def on_tagger(self, event: TagStatus) -> None:
        """The tagger's own news (a compile started or ended) during the job."""
        if self.tagging_since is not None:
            self.tagging()
        elif self.status is not None:
            with contextlib.suppress(Exception):
                self.status(dataclasses.replace(event, total=self.total))


def _tag_batch(
    store: Any, tagger: Any, keys: list[str], batch_size: int
) -> tuple[pd.DataFrame, list[tuple[str, str, float]] | None]:
    """Tag the tickets ``keys``: their entity rows, and their sentiments (``None`` when the
    tagger has no sentiment head), scores rounded to :data:`SCORE_DECIMALS`."""
    texts = _texts(store, keys)
    moods: list[tuple[str, str, float]] | None = None
    if getattr(tagger, "has_sentiment", False):
        found, sentiments = tagger.tag_with_sentiment(texts, batch_size=batch_size)
        moods = [
            (key, m.label, round(float(m.score), SCORE_DECIMALS))
            for key, m in zip(keys, sentiments, strict=True)
            if m is not None
        ]
    else:
        found = tagger.tag(texts, batch_size=batch_size)
    rows = [
        (key, e.start, e.end, e.label, e.text, round(float(e.score), SCORE_DECIMALS))
        for key, entities in zip(keys, found, strict=True)
        for e in entities
    ]
    frame = pd.DataFrame(rows, columns=["ticket_key", "start", "end", "label", "text", "score"])
    return frame, moods


def _record_end(store: Any, run_id: str, exc: BaseException, report: _JobReport) -> None:
    """Record what stopped a run: an interruption (the user, the process exiting, the
    interpreter shutting down) or a failure."""
    stopped = _stopped_message(report.done, report.total)
    if isinstance(exc, KeyboardInterrupt):
        _finish(store, run_id, "interrupted", "interrupted by the user")
        report.say("stopped", stopped)
    elif isinstance(exc, SystemExit):
        _finish(store, run_id, "interrupted", "interrupted: the process is exiting")
        report.say("stopped", stopped)
    elif is_shutdown_error(exc):
        _finish(
            store,
            run_id,
            "interrupted",
            f"interrupted by interpreter shutdown ({type(exc).__name__}: {exc})",
        )
        report.say("stopped", stopped)
    else:
        _finish(store, run_id, "failed", f"{type(exc).__name__}: {exc}")
        report.say(
            "failed",
            f"Tagging failed after {report.done:,} of {report.total:,} tickets: "
            f"{type(exc).__name__}: {exc}",
        )


def _begin_tagging(
    store: Any,
    tagger: Any,
    model_id: str,
    keys: list[str],
    report: _JobReport,
    progress: ProgressFn | None,
) -> None:
    """A run's start: ``progress(0, n)``; "nothing to do" if none waits, else ``tagger.plan``."""
    report.total = len(keys)
    if progress is not None:
        progress(0, len(keys))
    if not keys:
        all_tickets = store.scalar("SELECT count(*) FROM tickets") or 0
        report.say("done", f"All {all_tickets:,} tickets are tagged by {model_id}: nothing to do")
    elif hasattr(tagger, "plan"):
        tagger.plan(len(keys))


def _tag_in_batches(
    store: Any,
    tagger: Any,
    run: _Run,
    keys: list[str],
    batch_size: int,
    report: _JobReport,
    progress: ProgressFn | None,
    stop: Any,
) -> tuple[int, str]:
    """Tag and write ``keys`` in groups of ``4 × batch_size``; return (entities, run status)."""
    n_entities, status_ = 0, "done"
    group = 4 * batch_size
    for start in range(0, len(keys), group):
        if _stopped(stop):
            status_ = "interrupted"
            break
        if report.tagging_since is None:
            report.tagging_since = time.monotonic()
            report.tagging()
        batch_keys = keys[start : start + group]
        frame, moods = _tag_batch(store, tagger, batch_keys, batch_size)
        store.write(_write_batch(run, batch_keys, frame, moods))
        report.done += len(batch_keys)
        n_entities += len(frame)
        if progress is not None:
            progress(report.done, len(keys))
        report.tagging()
    return n_entities, status_


def _say_end(
    store: Any,
    report: _JobReport,
    status_: str,
    keys: list[str],
    left: int,
    message: str | None,
    seconds: float,
) -> None:
    """Say how a run that raised nothing ended: stopped, done with tickets left, or all tagged."""
    if status_ == "interrupted":
        report.say("stopped", _stopped_message(report.done, len(keys)))
    elif keys and left:
        report.say(
            "done",
            f"{report.done:,} tickets tagged in this run ({seconds:.1f} s, {report.precision}); "
            f"{message}",
        )
    elif keys:
        all_tickets = store.scalar("SELECT count(*) FROM tickets") or 0
        report.say(
            "done",
            f"All {all_tickets:,} tickets tagged ({report.done:,} in this run, "
            f"{seconds:.1f} s, {report.precision})",
        )


def tag_store(
    store: Any,
    tagger: Any,
    *,
    batch_size: int = 64,
    progress: ProgressFn | None = None,
    stop: Any = None,
    status: StatusFn | None = None,
) -> TagRunSummary:
    """Tag every ticket lacking a ``tagged_tickets`` row for ``tagger.model_id``.

    Args:
        store: an open, writable :class:`data.store.Store`.
        tagger: a :class:`model.Tagger` (``model_id``, ``device``, ``tag``; ``plan``,
            ``precision``, ``compiling`` and ``add_listener`` are used when present).
        batch_size: windows per forward pass; tickets are written every ``4 × batch_size``.
        progress: ``progress(done, total)`` after every written batch (and once at start).
        stop: a ``threading.Event`` or a callable returning ``True`` to stop after the
            current batch (the run is then recorded as ``interrupted``).
        status: ``status(TagStatus)`` whenever the job's state changes: the tagger compiling
            (before or while tagging), ``tagging`` with done/total/rate after every written
            batch, and at the end ``done`` ("All 3,000 tickets tagged …", also when there was
            nothing to do), ``stopped`` or ``failed``.

    Returns:
        A :class:`TagRunSummary`; the run is also recorded in ``tagging_runs``.

    Raises:
        Whatever stopped the run, after recording it: ``KeyboardInterrupt``, ``SystemExit``
        and the thread pool's interpreter-shutdown ``RuntimeError`` (see
        :func:`is_shutdown_error`) as ``interrupted``, any other exception as ``failed``.
        The batches written before stay; the next run resumes after them.

    With ``auto`` precision on a CPU the tagger is told the job's size first
    (:meth:`model.Tagger.plan`): a small job runs in fp32 (bf16 on a CPU with AVX-512 BF16)
    at once, a large one starts so while int8 compiles in the background. Scores are rounded
    to 4 decimals; a text's entities come from one precision, so a resumed run equals a clean
    one where both tagged it in the same precision.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    started = time.monotonic()
    run_id = uuid.uuid4().hex
    model_id = tagger.model_id
    run = _Run(run_id, model_id, str(tagger.device), _now())
    store.execute_write(
        "INSERT INTO tagging_runs (run_id, model_id, device, started_at, status) "
        "VALUES (?, ?, ?, ?, 'running')",
        [run_id, model_id, run.device, run.started_at],
    )
    report = _JobReport(tagger, status)
    keys: list[str] = []
    listening = status is not None and hasattr(tagger, "add_listener")
    if listening:
        tagger.add_listener(report.on_tagger)
    try:
        keys = pending_tickets(store, model_id)
        _begin_tagging(store, tagger, model_id, keys, report, progress)
        n_entities, status_ = _tag_in_batches(
            store, tagger, run, keys, batch_size, report, progress, stop
        )
    except BaseException as exc:
        if isinstance(exc, Exception | KeyboardInterrupt | SystemExit):
            _record_end(store, run_id, exc, report)
        raise
    finally:
        if listening:
            tagger.remove_listener(report.on_tagger)
    left = untagged_count(store, model_id) if status_ == "done" and keys else 0
    message = _left_message(left) if left else None  # reset or added while the run went on
    _finish(store, run_id, status_, message)
    seconds = time.monotonic() - started
    _say_end(store, report, status_, keys, left, message, seconds)
    return TagRunSummary(
        run_id, model_id, tagger.device, status_, report.done, n_entities, len(keys), seconds
    )


def _stopped_message(done: int, total: int) -> str:
    return (
        f"Stopped: {done:,} of {total:,} tickets tagged in this run, {total - done:,} left "
        "(start again to resume)"
    )
