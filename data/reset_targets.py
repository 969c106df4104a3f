"""What a data reset can remove (admins' Settings page): the models with their tagging
results, the batches of tickets, the saved scenarios, with counts (:func:`reset_targets`);
:mod:`data.reset` removes them.

The counts come from the roll-ups when they answer exactly, else from the base tables; the
answer is the same either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from data import rollup_tables, rollups

__all__ = ["Batch", "ModelResults", "ResetTargets", "reset_targets"]


@dataclass(frozen=True)
class ModelResults:
    """The tagging results of one model.

    Attributes:
        model_id: the model's id (``model.Tagger.model_id``).
        tagged_tickets: tickets the model has processed (with or without entities).
        entities: entities the model found.
        runs: tagging runs recorded for the model.
    """

    model_id: str
    tagged_tickets: int
    entities: int
    runs: int


@dataclass(frozen=True)
class Batch:
    """One batch of tickets: an uploaded file's name, or ``demo``.

    Attributes:
        source: the batch's name (``tickets.source``).
        tickets: tickets of the batch.
        entities: entities of those tickets, over every model.
        files: ``ingested_files`` rows of that name (0 for the demo; more than 1 when files
            of the same name but different content were uploaded).
    """

    source: str
    tickets: int
    entities: int
    files: int


@dataclass(frozen=True)
class ResetTargets:
    """Everything a reset can remove, with counts (see :func:`reset_targets`)."""

    models: tuple[ModelResults, ...] = ()
    batches: tuple[Batch, ...] = ()
    scenarios: int = 0
    tickets: int = 0  # every ticket in the store, over all batches


_MODELS = """
    WITH ids AS (SELECT model_id FROM tagged_tickets UNION SELECT model_id FROM entities
                 UNION SELECT model_id FROM tagging_runs)
    SELECT ids.model_id,
           (SELECT count(*) FROM tagged_tickets g WHERE g.model_id = ids.model_id),
           (SELECT count(*) FROM entities e WHERE e.model_id = ids.model_id),
           (SELECT count(*) FROM tagging_runs r WHERE r.model_id = ids.model_id)
    FROM ids ORDER BY ids.model_id
"""
_BATCHES = """
    WITH t AS (SELECT source, count(*) AS n FROM tickets GROUP BY source),
         e AS (SELECT t.source, count(*) AS n FROM entities e
               JOIN tickets t ON t.ticket_key = e.ticket_key GROUP BY t.source),
         f AS (SELECT file_name AS source, count(*) AS n FROM ingested_files GROUP BY file_name)
    SELECT coalesce(t.source, f.source) AS source, coalesce(t.n, 0), coalesce(e.n, 0),
           coalesce(f.n, 0)
    FROM t FULL OUTER JOIN f ON f.source = t.source LEFT JOIN e ON e.source = t.source
    ORDER BY 1
"""


#: The same from the roll-ups (``data.rollups``): tagged tickets per model from
#: ``rollup_tagged_days``, entities per model and batch from ``rollup_source_entities``,
#: tickets per batch from ``rollup_ticket_months`` — a few thousand rows, not every entity
#: joined to its ticket. The roll-ups count rows of tickets in the store; so do the queries
#: above once no tag is left of a ticket that is gone (:func:`_rollups_answer` checks).
_ROLLUP_MODELS = """
    WITH g AS (SELECT model_id, sum(tagged) AS n FROM rollup_tagged_days GROUP BY 1),
         e AS (SELECT model_id, sum(entities) AS n FROM rollup_source_entities GROUP BY 1),
         r AS (SELECT model_id, count(*) AS n FROM tagging_runs GROUP BY 1),
         ids AS (SELECT model_id FROM g UNION SELECT model_id FROM e
                 UNION SELECT model_id FROM r)
    SELECT ids.model_id, coalesce(g.n, 0), coalesce(e.n, 0), coalesce(r.n, 0)
    FROM ids LEFT JOIN g ON g.model_id = ids.model_id LEFT JOIN e ON e.model_id = ids.model_id
    LEFT JOIN r ON r.model_id = ids.model_id
    ORDER BY ids.model_id
"""
_ROLLUP_BATCHES = """
    WITH t AS (SELECT value AS source, sum(tickets) AS n FROM rollup_ticket_months
               WHERE dim = 'source' GROUP BY 1),
         e AS (SELECT source, sum(entities) AS n FROM rollup_source_entities GROUP BY 1),
         f AS (SELECT file_name AS source, count(*) AS n FROM ingested_files GROUP BY file_name)
    SELECT coalesce(t.source, f.source) AS source, coalesce(t.n, 0), coalesce(e.n, 0),
           coalesce(f.n, 0)
    FROM t FULL OUTER JOIN f ON f.source = t.source LEFT JOIN e ON e.source = t.source
    ORDER BY 1
"""
#: Tag rows of tickets still in the store, by the roll-ups, against every tag row.
_ROLLED_UP_TAGS = """
    SELECT (SELECT coalesce(sum(tagged), 0) FROM rollup_tagged_days)
               = (SELECT count(*) FROM tagged_tickets),
           (SELECT coalesce(sum(entities), 0) FROM rollup_source_entities)
               = (SELECT count(*) FROM entities)
"""


def _rollups_answer(conn: Any) -> bool:
    """Whether the roll-ups give the counts of the base tables: the store has
    ``rollup_source_entities`` (migration 7), the ticket and tag parts are fresh, and every
    tag row belongs to a ticket in the store (the roll-ups count only those)."""
    import duckdb

    if not {rollup_tables.TICKETS, rollup_tables.TAGS} <= rollups.fresh_parts(conn):
        return False
    try:
        tagged, entities = conn.execute(_ROLLED_UP_TAGS).fetchone()
    except duckdb.CatalogException:  # a store before migration 7, opened read-only
        return False
    return bool(tagged and entities)


def reset_targets(store: Any, *, use_rollups: bool = True) -> ResetTargets:
    """What a reset can remove: models with their counts, batches with theirs, the number
    of saved scenarios.

    The counts come from the roll-ups when they answer exactly (:func:`_rollups_answer`:
    milliseconds at ten million tickets), else from the base tables (every entity joined
    to its ticket: seconds). The answer is the same either way.

    Args:
        store: a :class:`data.store.Store` (read-only is fine).
        use_rollups: False: count from the base tables whatever the roll-ups' state.

    Example:
        >>> reset_targets(store).scenarios  # doctest: +SKIP
        3
    """
    with store.reading() as conn:
        conn.execute("BEGIN TRANSACTION")  # one snapshot: the state checked is the one read
        fast = use_rollups and _rollups_answer(conn)
        models = tuple(
            ModelResults(str(m), int(g), int(e), int(r))
            for m, g, e, r in conn.execute(_ROLLUP_MODELS if fast else _MODELS).fetchall()
        )
        batches = tuple(
            Batch(str(s), int(t), int(e), int(f))
            for s, t, e, f in conn.execute(_ROLLUP_BATCHES if fast else _BATCHES).fetchall()
        )
        scenarios, tickets = conn.execute(
            "SELECT (SELECT count(*) FROM scenarios), (SELECT count(*) FROM tickets)"
        ).fetchone()
        conn.execute("COMMIT")
    return ResetTargets(
        models=models, batches=batches, scenarios=int(scenarios or 0), tickets=int(tickets or 0)
    )
