"""Data resets (admins): remove one model's tagging results, one batch of tickets, or every
saved scenario.

What a reset can remove, with counts: :mod:`data.reset_targets`.

Each reset is one transaction on the store's writer (:meth:`data.store.Store.write`): the
deletions and the ``data_reset`` row of the audit trail (:func:`data.audit.record`, which
joins the transaction) commit together or not at all, so a reset is never half done and
never done without its row. Targets are checked inside that transaction; an unknown one is
refused with :class:`ResetError` and nothing is written.

What each reset removes:

- **model** (:func:`reset_model`): the model's ``entities``, its ``tagged_tickets`` rows
  (the tagging progress), its ``ticket_sentiment`` rows (where the store has that table)
  and its ``tagging_runs``, so every ticket is pending again for that model and the next
  tagging run tags them all from scratch. Other models and the tickets themselves stay.
- **batch** (:func:`reset_batch`): a batch is the value of ``tickets.source``: the name of
  an uploaded file (ingest writes it there and into ``ingested_files.file_name``), or
  ``demo`` for the generated tickets. The batch's tickets go, with every model's entities,
  ``tagged_tickets`` and ``ticket_sentiment`` rows of those tickets, their
  ``gold_entities`` and ``gold_sentiment`` rows, and the ``ingested_files`` rows of that
  name (so uploading the same file again imports it again). A ticket belongs to the first
  file it came in; an identical row of a later file was never stored twice, so it goes
  with the batch that holds it. Customers, usage, prices and the demo's other ground truth
  (surges, churn) stay.
- **scenarios** (:func:`reset_scenarios`): every saved what-if scenario.

Exceptions::

    DataError
    └── ResetError     an unknown kind or target, or a target that is not a name

Example:
    >>> from data.reset_targets import reset_targets                     # doctest: +SKIP
    >>> targets = reset_targets(store)                                   # doctest: +SKIP
    >>> [(m.model_id, m.tagged_tickets) for m in targets.models]         # doctest: +SKIP
    [('minilm-ner-3f2a', 2000)]
    >>> reset_model(store, "minilm-ner-3f2a", actor="boss@example.com",  # doctest: +SKIP
    ...             role="admin").message
    'Removed the tagging results of model minilm-ner-3f2a: 2,000 tagged tickets, ...'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from data import audit, rollup_tables, rollup_upkeep
from data.errors import DataError

__all__ = [
    "BATCH",
    "KINDS",
    "MODEL",
    "SCENARIOS",
    "ResetError",
    "ResetResult",
    "reset",
    "reset_batch",
    "reset_model",
    "reset_scenarios",
]

#: The kinds of reset, as :func:`reset` and the audit rows' targets name them.
MODEL = "model"
BATCH = "batch"
SCENARIOS = "scenarios"
KINDS: tuple[str, ...] = (MODEL, BATCH, SCENARIOS)
#: The longest model id or batch name accepted (longer text is not a name in the store).
MAX_NAME = 500


class ResetError(DataError, ValueError):
    """A reset was refused (unknown kind or target); nothing was removed."""


# -- resets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResetResult:
    """What a reset removed.

    Attributes:
        kind: :data:`MODEL`, :data:`BATCH` or :data:`SCENARIOS`.
        target: the model id or batch name (None for scenarios).
        removed: rows removed, by what they were (``"entities"``, ``"tickets"`` …), in the
            order of the message.
    """

    kind: str
    target: str | None
    removed: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Rows removed, all tables together."""
        return sum(self.removed.values())

    @property
    def audit_target(self) -> str:
        """The audit row's target: ``model:<id>``, ``batch:<name>`` or ``scenarios``."""
        return self.kind if self.target is None else f"{self.kind}:{self.target}"

    @property
    def counts(self) -> str:
        """The counts in words: ``2,000 tagged tickets, 5,120 entities, 1 tagging run``."""
        return ", ".join(
            f"{n:,} {what if n != 1 else _singular(what)}" for what, n in self.removed.items()
        )

    @property
    def message(self) -> str:
        """One sentence saying what was removed."""
        what = {
            MODEL: f"the tagging results of model {self.target}",
            BATCH: f"the batch {self.target}",
            SCENARIOS: "the saved scenarios",
        }[self.kind]
        return f"Removed {what}: {self.counts}."


def _singular(what: str) -> str:
    """``entities`` → ``entity``, ``tagging runs`` → ``tagging run``."""
    return what[:-3] + "y" if what.endswith("ies") else what.removesuffix("s")


def _name(kind: str, value: object) -> str:
    """``value`` as a model id or batch name, or :class:`ResetError`."""
    if not isinstance(value, str) or not value.strip():
        raise ResetError(f"a {kind} reset needs a {kind} name, got {value!r}")
    if len(value) > MAX_NAME:
        raise ResetError(f"a {kind} name is at most {MAX_NAME} characters long")
    return value


def _deleted(conn: Any, sql: str, params: list[Any]) -> int:
    """Run one DELETE and return how many rows it removed."""
    row = conn.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


#: Tables of results per ticket and model, with what the counts call their rows. The first
#: two are always there; the others (a later migration's) are cleared when the store has them.
_MODEL_TABLES = {
    "tagged_tickets": "tagged tickets",
    "entities": "entities",
    "ticket_sentiment": "sentiments",
}
#: Tables of rows about a ticket, cleared with its batch (before the tickets themselves).
_TICKET_TABLES = {
    **_MODEL_TABLES,
    "gold_entities": "gold entities",
    "gold_sentiment": "gold sentiments",
}
_ALWAYS = frozenset({"tagged_tickets", "entities", "gold_entities"})


def _clear(conn: Any, tables: dict[str, str], where: str, params: list[Any]) -> dict[str, int]:
    """``DELETE FROM <table> <where>`` for each of ``tables`` the store has; the counts by
    name (a table that is not always there is named only when it lost rows)."""
    present = {
        r[0]
        for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
    }
    removed = {}
    for table, name in tables.items():
        if table in present:
            n = _deleted(conn, f"DELETE FROM {table} {where}", params)  # noqa: S608 - names are constants, values parameters
            if n or table in _ALWAYS:
                removed[name] = n
    return removed


def _apply(
    store: Any,
    result_of: Callable[[Any], ResetResult],
    *,
    actor: str,
    role: str | None,
    source: str,
) -> ResetResult:
    """Run ``result_of(conn)`` and record its ``data_reset`` row, in one transaction."""

    def write(conn: Any) -> ResetResult:
        result = result_of(conn)
        audit.record(
            store,
            actor=actor,
            action=audit.DATA_RESET,
            target=result.audit_target,
            detail=f"removed {result.counts}",
            role=role,
            source=source,
        )
        return result

    return store.write(write)


def _known(names: list[tuple[Any, ...]], what: str, limit: int = 10) -> str:
    shown = [str(n[0]) for n in names[:limit]]
    more = f" and {len(names) - limit:,} more" if len(names) > limit else ""
    return f"{what}: {', '.join(shown)}{more}" if shown else f"there are no {what}"


def reset_model(
    store: Any, model_id: str, *, actor: str, role: str | None = None, source: str = "app"
) -> ResetResult:
    """Remove the tagging results of ``model_id``, so its next run tags every ticket again.

    Removes the model's ``tagged_tickets`` rows, entities, sentiments (where the store has
    them) and tagging runs, and records a ``data_reset`` row (target ``model:<id>``), in
    one transaction.

    Args:
        store: a writable :class:`data.store.Store`.
        model_id: the model whose results go.
        actor: who asked (an e-mail address, ``local:<user>`` or ``os:<user>``).
        role: the actor's role, as the audit trail writes it.
        source: ``"app"`` or ``"cli"``.

    Returns:
        The counts removed: ``tagged tickets``, ``entities``, (``sentiments``),
        ``tagging runs``.

    Raises:
        ResetError: ``model_id`` is not a name, or the store has no result of that model.
        ValueError: ``actor``, ``role`` or ``source`` cannot be recorded (nothing removed).

    Example:
        >>> reset_model(store, "fake-tagger", actor="boss@example.com").removed  # doctest: +SKIP
        {'tagged tickets': 2000, 'entities': 4180, 'tagging runs': 1}
    """
    model_id = _name(MODEL, model_id)

    def remove(conn: Any) -> ResetResult:
        # the model's roll-up rows are recomputed (to none) after the deletes
        with rollup_upkeep.maintained(conn, None, parts=(rollup_tables.TAGS,), model_id=model_id):
            removed = _clear(conn, _MODEL_TABLES, "WHERE model_id = ?", [model_id])
        removed["tagging runs"] = _deleted(
            conn, "DELETE FROM tagging_runs WHERE model_id = ?", [model_id]
        )
        if not any(removed.values()):
            known = conn.execute(
                "SELECT DISTINCT model_id FROM tagged_tickets ORDER BY 1"
            ).fetchall()
            raise ResetError(
                f"no tagging result of model {model_id!r} in the store "
                f"({_known(known, 'tagged models')})"
            )
        return ResetResult(MODEL, model_id, removed)

    return _apply(store, remove, actor=actor, role=role, source=source)


def reset_batch(
    store: Any, batch: str, *, actor: str, role: str | None = None, source: str = "app"
) -> ResetResult:
    """Remove the tickets of one batch (an uploaded file's name, or ``demo``).

    Removes the batch's tickets with every model's ``tagged_tickets`` rows, entities and
    sentiments of those tickets, their gold entities and gold sentiments, and the
    ``ingested_files`` rows of that name, and records a ``data_reset`` row (target
    ``batch:<name>``), in one transaction.

    Args:
        store: a writable :class:`data.store.Store`.
        batch: the batch's name, exactly as :func:`data.reset_targets.reset_targets` lists it.
        actor: who asked.
        role: the actor's role, as the audit trail writes it.
        source: ``"app"`` or ``"cli"``.

    Returns:
        The counts removed: ``tickets``, ``tagged tickets``, ``entities``, (``sentiments``),
        ``gold entities``, (``gold sentiments``), ``ingested files``.

    Raises:
        ResetError: ``batch`` is not a name, or neither a ticket nor an ingested file has
            that name.
        ValueError: ``actor``, ``role`` or ``source`` cannot be recorded (nothing removed).

    Example:
        >>> reset_batch(store, "tickets-2024.csv", actor="boss@example.com").removed[
        ...     "tickets"]  # doctest: +SKIP
        1180
    """
    batch = _name(BATCH, batch)

    def remove(conn: Any) -> ResetResult:
        # the batch's tickets leave the roll-ups with them (data.rollup_upkeep)
        with rollup_upkeep.maintained(
            conn,
            "SELECT ticket_key FROM tickets WHERE source = ?",
            [batch],
            parts=(rollup_tables.TICKETS, rollup_tables.TAGS),
        ):
            about = _clear(
                conn,
                _TICKET_TABLES,
                "WHERE ticket_key IN (SELECT ticket_key FROM tickets WHERE source = ?)",
                [batch],
            )
            tickets = _deleted(conn, "DELETE FROM tickets WHERE source = ?", [batch])
        files = _deleted(conn, "DELETE FROM ingested_files WHERE file_name = ?", [batch])
        if not (tickets or files):
            known = conn.execute("SELECT DISTINCT source FROM tickets ORDER BY 1").fetchall()
            raise ResetError(f"no batch named {batch!r} in the store ({_known(known, 'batches')})")
        return ResetResult(BATCH, batch, {"tickets": tickets, **about, "ingested files": files})

    return _apply(store, remove, actor=actor, role=role, source=source)


def reset_scenarios(
    store: Any, *, actor: str, role: str | None = None, source: str = "app"
) -> ResetResult:
    """Remove every saved scenario, and record a ``data_reset`` row (target ``scenarios``),
    in one transaction.

    With no scenario saved, nothing is removed and the row says ``removed 0 scenarios``.

    Args:
        store: a writable :class:`data.store.Store`.
        actor: who asked.
        role: the actor's role, as the audit trail writes it.
        source: ``"app"`` or ``"cli"``.

    Returns:
        The count removed: ``scenarios``.

    Raises:
        ValueError: ``actor``, ``role`` or ``source`` cannot be recorded (nothing removed).
    """

    def remove(conn: Any) -> ResetResult:
        return ResetResult(
            SCENARIOS, None, {"scenarios": _deleted(conn, "DELETE FROM scenarios", [])}
        )

    return _apply(store, remove, actor=actor, role=role, source=source)


def reset(
    store: Any,
    kind: str,
    target: str | None = None,
    *,
    actor: str,
    role: str | None = None,
    source: str = "app",
) -> ResetResult:
    """The reset of ``kind`` (:data:`KINDS`) for ``target``: :func:`reset_model`,
    :func:`reset_batch` or :func:`reset_scenarios` (which takes no target).

    Raises:
        ResetError: an unknown kind, a missing or unknown target, or a target given to the
            scenarios reset.
    """
    if kind == MODEL:
        return reset_model(store, target, actor=actor, role=role, source=source)  # type: ignore[arg-type]
    if kind == BATCH:
        return reset_batch(store, target, actor=actor, role=role, source=source)  # type: ignore[arg-type]
    if kind == SCENARIOS:
        if target is not None:
            raise ResetError(
                "the scenarios reset removes every saved scenario: it takes no "
                f"target, got {target!r}"
            )
        return reset_scenarios(store, actor=actor, role=role, source=source)
    raise ResetError(f"unknown reset {kind!r} (known: {', '.join(KINDS)})")
