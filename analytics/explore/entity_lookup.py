"""The entities a model found in given tickets, by key (through the index of migration 8)."""

from __future__ import annotations

from typing import Any

#: Most keys :func:`entities_of_tickets` looks up as an IN list of parameters (through the
#: index); more are joined as one list (a scan of the entities).
INDEXED_KEYS = 1000


#: Entities a listed ticket carries at most (the first by position), as many as its card
#: highlights (``dashboard.untrusted_text.MAX_CARD_HIGHLIGHTS``): 200 tickets of 14,000 entities each
#: held 2.2 GB in a list (round 12); the exports read every entity.
LISTED_ENTITIES_PER_TICKET = 1_000


def entities_of_tickets(
    store: Any, model_id: str, keys: list[str], per_ticket: int | None = None
) -> list[list[dict[str, Any]]]:
    """The entities ``model_id`` found in each ticket of ``keys``, in that order (each a
    list of ``start``, ``end``, ``label``, ``text``, ``score`` dicts, by position).

    The keys are an IN list of parameters, which DuckDB answers from the index
    ``entities_ticket`` (migration 8) when they are few against the entity rows: a
    semi-join on a list (``IN (SELECT unnest(?))``, ``= ANY(?)``) scans every entity row
    (1.4 s of 33 M rows at 10 M tickets), and a correlated subquery would aggregate them.
    ``per_ticket``: at most that many entities of each ticket, the first by position."""
    if not keys:
        return []
    rows = store.fetchall(*entity_lookup(model_id, keys, per_ticket))
    by_key: dict[str, list[dict[str, Any]]] = {}
    for key, start, end, label, text, score in rows:
        by_key.setdefault(key, []).append(entity_record(start, end, label, text, score))
    return [by_key.get(k, []) for k in keys]


def entity_lookup(
    model_id: str, keys: list[str], per_ticket: int | None = None
) -> tuple[str, list[Any]]:
    """The query of :func:`entities_of_tickets` and its parameters: the keys as an IN list
    of parameters (answered from the index ``entities_ticket``), or as one list joined
    when there are more than :data:`INDEXED_KEYS`; at most ``per_ticket`` rows a ticket."""
    if len(keys) > INDEXED_KEYS:  # one scan of the entities beats that many index probes
        where, args = "ticket_key IN (SELECT unnest(?::VARCHAR[]))", [list(keys)]
    else:
        where, args = f"ticket_key IN ({', '.join('?' for _ in keys)})", list(keys)
    first = ""
    if per_ticket is not None:
        first = (
            ' QUALIFY row_number() OVER (PARTITION BY ticket_key ORDER BY start, "end", label) <= ?'
        )
        args = [*args, int(per_ticket)]
    sql = (
        'SELECT ticket_key, start, "end", label, text, score FROM entities'  # noqa: S608 - placeholders only; values are parameters
        f" WHERE model_id = ? AND {where}{first}"
        ' ORDER BY ticket_key, start, "end", label'
    )
    return sql, [model_id, *args]


def entity_record(start: int, end: int, label: str, text: str, score: float) -> dict[str, Any]:
    """One entity as the ticket list holds it."""
    return {
        "start": int(start),
        "end": int(end),
        "label": label,
        "text": text,
        "score": float(score),
    }
