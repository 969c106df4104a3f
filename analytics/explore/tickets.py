"""The ticket list: the newest tickets matching the filters, an entity, a text search or
chosen files, found in a window of the newest days (or, for an entity, the entity rows of
its newest months) widened until it holds the limit; same rows as one query over the whole
period."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from analytics.explore.entity_lookup import (
    LISTED_ENTITIES_PER_TICKET,
    entities_of_tickets,
    entity_record,
)
from analytics.explore.filters import (
    Filters,
    rollup_where,
    rollups_fresh,
    ticket_where,
)
from data import rollup_tables
from data.store import Store

#: How many more tickets each wider window of :func:`ticket_list` holds than the one before.
WINDOW_GROWTH = 8
#: A text search or a batch choice keeps an unknown share of the tickets: the first window
#: holds this many times ``limit`` tickets (or tickets mentioning the entity).
SELECTIVE_FACTOR = 16


def _cut_at(counts: list[tuple[dt.date, float]], wanted: float) -> dt.date | None:
    """The latest period start of ``counts`` (newest first) from which on at least
    ``wanted`` are counted; None when all of them are fewer."""
    total = 0.0
    for start, n in counts:
        total += float(n)
        if total >= wanted:
            return start
    return None


def _ladder(
    counts: list[tuple[dt.date, float]], first: int, start: dt.date | None
) -> list[dt.date]:
    """Cuts holding ``first``, then :data:`WINDOW_GROWTH` times more … of ``counts``, each
    later than ``start`` (the period's first day, before which nothing is read anyway)."""
    cuts: list[dt.date] = []
    wanted = max(1, first)
    while (cut := _cut_at(counts, wanted)) is not None:
        if start is not None and cut <= start:
            break
        if not cuts or cut < cuts[-1]:
            cuts.append(cut)
        wanted *= WINDOW_GROWTH
    return cuts


def _day_counts(store: Store, filters: Filters) -> list[tuple[dt.date, int]]:
    """Tickets matching ``filters`` per day, newest first (the ticket roll-up; empty when it
    may not answer)."""
    if not rollups_fresh(store, rollup_tables.TICKETS):
        return []
    rw = rollup_where(filters)
    return store.fetchall(
        "SELECT r.day, sum(r.tickets) FROM rollup_ticket_days r"  # noqa: S608 - fixed SQL fragments; values are parameters
        f" WHERE r.day IS NOT NULL AND {rw.sql} GROUP BY r.day ORDER BY r.day DESC",
        rw.params,
    )


def _entity_months(
    store: Store, filters: Filters, model_id: str | None, entity: str, label: str | None
) -> list[tuple[dt.date, int]]:
    """Tickets mentioning ``entity`` (of ``label``) per month of the period, newest first,
    of every customer (the entity roll-up; empty when it may not answer). Without a label, a
    ticket naming it under two labels counts twice: an estimate, never used as an answer."""
    if not rollups_fresh(store, rollup_tables.TAGS):
        return []
    w = ["r.model_id = ?", "r.key = lower(?)", "r.month IS NOT NULL"]
    params: list[Any] = [model_id, entity]
    if label:
        w.append("r.label = ?")
        params.append(label)
    if filters.start is not None:
        w.append("r.month >= ?")
        params.append(filters.start.replace(day=1))
    if filters.end is not None:
        w.append("r.month <= ?")
        params.append(filters.end)
    return store.fetchall(
        "SELECT r.month, sum(r.tickets) FROM rollup_entity_months r"  # noqa: S608 - fixed SQL fragments; values are parameters
        f" WHERE {' AND '.join(w)} GROUP BY r.month ORDER BY r.month DESC",
        params,
    )


def _spellings(
    store: Store, model_id: str | None, entity: str, label: str | None
) -> list[str] | None:
    """Every spelling of ``entity`` (case-insensitive, of ``label``) among the model's
    entities of tickets in the store (the entity roll-up), or None when it may not answer:
    ``text IN (spellings)`` keeps the same rows as ``lower(text) = lower(entity)`` there,
    and reads the text column without lower-casing 30 million of them."""
    if not rollups_fresh(store, rollup_tables.TAGS):
        return None
    w = "r.model_id = ? AND r.key = lower(?)" + (" AND r.label = ?" if label else "")
    rows = store.fetchall(
        f"SELECT DISTINCT r.text FROM rollup_entity_months r WHERE {w} ORDER BY 1",  # noqa: S608 - fixed SQL fragments; values are parameters
        [model_id, entity, *([label] if label else [])],
    )
    return [r[0] for r in rows]


def _entity_days(
    months: list[tuple[dt.date, int]], days: list[tuple[dt.date, int]]
) -> list[tuple[dt.date, float]]:
    """An entity's tickets per day, newest first, estimated from its tickets per month
    (``months``), shared out over the month's days as the tickets are (``days``)."""
    in_month: dict[dt.date, int] = {}
    for day, n in days:
        in_month[day.replace(day=1)] = in_month.get(day.replace(day=1), 0) + int(n)
    mentions = {month: int(n) for month, n in months}
    return [
        (day, mentions.get(day.replace(day=1), 0) * int(n) / in_month[day.replace(day=1)])
        for day, n in days
        if in_month[day.replace(day=1)]
    ]


def _windows(
    store: Store,
    filters: Filters,
    model_id: str | None,
    entity: str | None,
    label: str | None,
    selective: bool,
    limit: int,
) -> list[dt.date]:
    """First days of ever wider windows of the newest tickets, each expected to hold
    ``limit`` matches more surely than the one before (from the roll-ups' counts: tickets
    per day, an entity's tickets per month shared out over its days); empty when the
    roll-ups cannot say. Only the speed depends on them: :func:`ticket_list` checks each
    window's answer."""
    if limit < 1:
        return []
    factor = SELECTIVE_FACTOR if selective else 1
    days = _day_counts(store, filters)
    if entity:
        months = _entity_months(store, filters, model_id, entity, label)
        if months and days:  # twice the estimate: one window, mostly
            return _ladder(_entity_days(months, days), 2 * limit * factor, filters.start)
        if months:
            return _ladder(months, limit * factor, filters.start)
        factor *= SELECTIVE_FACTOR  # an entity's share of the tickets is unknown
    return _ladder(days, limit * factor, filters.start)


def _mention(
    store: Store, model_id: str | None, entity: str, label: str | None
) -> tuple[str, list[Any]]:
    """The condition on an entity row ``x`` that it is ``model_id``'s mention of ``entity``
    (case-insensitive; of ``label`` when given), and its parameters."""
    spellings = _spellings(store, model_id, entity, label)
    params: list[Any] = [model_id, entity if spellings is None else spellings]
    if spellings is None:
        cond = "x.model_id = ? AND lower(x.text) = lower(?)"
    else:
        cond = "x.model_id = ? AND list_contains(?::VARCHAR[], x.text)"
    if label:
        cond += " AND x.label = ?"
        params.append(label)
    return cond, params


_Found = tuple[list[tuple[str, dt.datetime | None]], list[list[dict[str, Any]]] | None]


def _newest(
    store: Store,
    where: Any,
    mention: tuple[str, list[Any]] | None,
    since: dt.date | None,
    limit: int,
) -> list[tuple[str, dt.datetime | None]]:
    """(key, created_at) of the newest ``limit`` tickets matching ``where`` (conditions on
    ``tickets t``, ``customers c``) and mentioning ``mention``, created on ``since`` or
    later (None: whenever)."""
    sql, params = where.sql, list(where.params)
    if mention is not None:
        sql += f" AND t.ticket_key IN (SELECT x.ticket_key FROM entities x WHERE {mention[0]})"  # noqa: S608 - fixed SQL fragments; values are parameters
        params += mention[1]
    if since is not None:
        sql += " AND t.created_at >= ?"
        params.append(dt.datetime.combine(since, dt.time()))
    return store.fetchall(
        "SELECT t.ticket_key, t.created_at"  # noqa: S608 - fixed SQL fragments; values are parameters
        " FROM tickets t LEFT JOIN customers c ON c.customer_id = t.customer_id"
        f" WHERE {sql} ORDER BY t.created_at DESC NULLS LAST, t.ticket_key LIMIT ?",
        [*params, int(limit)],
    )


def _newest_mentioning(
    store: Store,
    where: Any,
    mention: tuple[str, list[Any]],
    model_id: str | None,
    since: dt.date,
    limit: int,
) -> _Found:
    """:func:`_newest` for a mention, with the tickets' entities, from one read of the
    entities of the window's tickets (``w``): the mention and the entities shown both come
    from it, where a mention looked up among every entity and the shown ones by key would
    read every entity row twice."""
    rows = store.fetchall(
        "WITH w AS MATERIALIZED (SELECT t.ticket_key, t.created_at FROM tickets t"  # noqa: S608 - fixed SQL fragments; values are parameters
        " LEFT JOIN customers c ON c.customer_id = t.customer_id"
        f"  WHERE {where.sql} AND t.created_at >= ?),"
        ' e AS MATERIALIZED (SELECT x.ticket_key, x.model_id, x.start, x."end", x.label,'
        " x.text, x.score FROM entities x"
        "  WHERE x.model_id = ? AND x.ticket_key IN (SELECT ticket_key FROM w)),"
        " top AS (SELECT w.ticket_key, w.created_at FROM w WHERE w.ticket_key IN"
        f"  (SELECT x.ticket_key FROM e x WHERE {mention[0]})"
        "  ORDER BY w.created_at DESC NULLS LAST, w.ticket_key LIMIT ?)"
        ' SELECT top.ticket_key, top.created_at, e.start, e."end", e.label, e.text, e.score'
        " FROM top LEFT JOIN (SELECT *, row_number() OVER (PARTITION BY ticket_key"
        '  ORDER BY start, "end", label) AS n FROM e) e'
        "  ON e.ticket_key = top.ticket_key AND e.n <= ?"
        ' ORDER BY top.created_at DESC NULLS LAST, top.ticket_key, e.start, e."end", e.label',
        [
            *where.params,
            dt.datetime.combine(since, dt.time()),
            model_id,
            *mention[1],
            int(limit),
            LISTED_ENTITIES_PER_TICKET,
        ],
    )
    keys: list[tuple[str, dt.datetime | None]] = []
    found: list[list[dict[str, Any]]] = []
    for key, created, start, end, label, text, score in rows:
        if not keys or keys[-1][0] != key:
            keys.append((key, created))
            found.append([])
        if start is not None:
            found[-1].append(entity_record(start, end, label, text, score))
    return keys, found


#: Tickets of a month whose entities :func:`_first_entity_row` looks up (through the index):
#: this many of the first created, and as many of the shortest of the month's first day.
FIRST_TICKETS = 64


def _month_after(day: dt.date) -> dt.date:
    """The first day of the month after ``day``'s."""
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def _first_tickets(store: Store, month: dt.date) -> list[str]:
    """Keys of the tickets of ``month`` whose entities were written first when the tickets
    were tagged in ticket order (``data demo``: the first created) or day by day, shortest
    first within a day (the tagging job, ``model.jobs.pending_tickets``: the shortest of the
    month's first day with tickets); empty when the month has none."""
    first = store.fetchall(
        "SELECT ticket_key, created_at FROM tickets WHERE created_at >= ? AND created_at < ?"
        " ORDER BY created_at, ticket_key LIMIT ?",
        [
            dt.datetime.combine(month, dt.time()),
            dt.datetime.combine(_month_after(month), dt.time()),
            FIRST_TICKETS,
        ],
    )
    if not first:
        return []
    day = first[0][1].date()
    shortest = store.fetchall(
        "SELECT ticket_key FROM tickets WHERE created_at >= ? AND created_at < ?"
        " ORDER BY length(text), ticket_key LIMIT ?",
        [
            dt.datetime.combine(day, dt.time()),
            dt.datetime.combine(day + dt.timedelta(days=1), dt.time()),
            FIRST_TICKETS,
        ],
    )
    return sorted({k for k, _ in first} | {k for (k,) in shortest})


def _first_entity_row(store: Store, model_id: str | None, month: dt.date) -> int | None:
    """The first entity row (``rowid``) of ``model_id``'s entities of the tickets of
    ``month`` written first (:func:`_first_tickets`): where the entities of that month's
    tickets begin when they were written in ticket order or day by day; None when those
    tickets have none. Only a guess: :func:`_mentions_in` checks it."""
    keys = _first_tickets(store, month)
    if not keys:
        return None
    marks = ", ".join("?" for _ in keys)
    row = store.fetchall(
        f"SELECT min(rowid) FROM entities WHERE model_id = ? AND ticket_key IN ({marks})",  # noqa: S608 - placeholders only; values are parameters
        [model_id, *keys],
    )
    return None if row[0][0] is None else int(row[0][0])


def _mention_count(
    store: Store,
    model_id: str | None,
    entity: str,
    label: str | None,
    months: tuple[dt.date, dt.date | None],
) -> int:
    """Mentions of ``entity`` (of ``label``) by ``model_id`` in tickets created in the
    months from ``months[0]`` until ``months[1]`` (excluded; None: on) (the entity roll-up)."""
    cond = "model_id = ? AND key = lower(?) AND month >= ?"
    params: list[Any] = [model_id, entity, months[0]]
    if months[1] is not None:
        cond += " AND month < ?"
        params.append(months[1])
    if label:
        cond += " AND label = ?"
        params.append(label)
    rows = store.fetchall(
        f"SELECT coalesce(sum(mentions), 0) FROM rollup_entity_months WHERE {cond}",  # noqa: S608 - fixed SQL fragments; values are parameters
        params,
    )
    return int(rows[0][0])


def _mentions_in(
    store: Store,
    mention: tuple[str, list[Any]],
    model_id: str | None,
    entity: str,
    label: str | None,
    months: tuple[dt.date, dt.date | None],
) -> list[str] | None:
    """Keys of every ticket created in the months from ``months[0]`` until ``months[1]``
    (first days; excluded; None: on) that mentions ``entity``, read from the entity rows
    between the first rows of those months' tickets and of the next month's
    (:func:`_first_entity_row`; zone maps skip the other row groups); None when those rows
    may not hold every such mention: their count differs from the roll-up's
    (``rollup_entity_months``, fresh), or they are most of the entity rows (no faster than
    the caller's path)."""
    first = _first_entity_row(store, model_id, months[0])
    end = None if months[1] is None else _first_entity_row(store, model_id, months[1])
    total = int(store.fetchall("SELECT count(*) FROM entities")[0][0])
    # entity rows written out of day order (tickets added to past days, tags reset and
    # written again, imported entity shards): a range over most of them saves little
    # against the caller's path
    if first is None or (total if end is None else end) - first > total // 2:
        return None
    cond, params = "x.rowid >= ?", [first]
    if end is not None:
        cond += " AND x.rowid < ?"
        params.append(end)
    when, at = "t.created_at >= ?", [dt.datetime.combine(months[0], dt.time())]
    if months[1] is not None:
        when += " AND t.created_at < ?"
        at.append(dt.datetime.combine(months[1], dt.time()))
    rows = store.fetchall(
        "SELECT m.ticket_key, m.n FROM (SELECT x.ticket_key, count(*) AS n FROM entities x"  # noqa: S608 - fixed SQL fragments; values are parameters
        f"  WHERE {cond} AND {mention[0]} GROUP BY x.ticket_key) m"
        f" JOIN tickets t ON t.ticket_key = m.ticket_key WHERE {when}",
        [*params, *mention[1], *at],
    )
    if sum(int(n) for _, n in rows) != _mention_count(store, model_id, entity, label, months):
        return None
    return [k for k, _ in rows]


def _newest_by_months(
    store: Store,
    where: Any,
    filters: Filters,
    model_id: str | None,
    entity: str,
    label: str | None,
    selective: bool,
    limit: int,
) -> list[tuple[str, dt.datetime | None]] | None:
    """:func:`_newest` for a mention of ``entity`` from the newest months of its mentions
    on (``rollup_entity_months``): the tickets mentioning it since a month come from the
    entity rows of those months (:func:`_mentions_in`, checked against the roll-up's
    count), not from the keys of every entity row. Wider ranges of months are tried while
    fewer than ``limit`` tickets match; None when the roll-ups may not answer, a range's
    rows fail the check, or undated tickets may be next (the caller's path answers)."""
    if limit < 1 or not rollups_fresh(store, rollup_tables.TAGS):
        return None
    months = _entity_months(store, filters, model_id, entity, label)
    if not months:
        return None
    factor = SELECTIVE_FACTOR if selective else 1
    cuts = _ladder(months, 2 * limit * factor, None)
    if not cuts or cuts[-1] > months[-1][0]:
        cuts.append(months[-1][0])  # every month of the period with a mention
    mention = _mention(store, model_id, entity, label)
    until = None if filters.end is None else _month_after(filters.end)
    for cut in cuts:
        keys = _mentions_in(store, mention, model_id, entity, label, (cut, until))
        if keys is None:
            return None
        found = store.fetchall(
            "SELECT t.ticket_key, t.created_at"  # noqa: S608 - fixed SQL fragments; values are parameters
            " FROM tickets t LEFT JOIN customers c ON c.customer_id = t.customer_id"
            f" WHERE {where.sql} AND t.created_at >= ?"
            " AND t.ticket_key IN (SELECT unnest(?::VARCHAR[]))"
            " ORDER BY t.created_at DESC NULLS LAST, t.ticket_key LIMIT ?",
            [*where.params, dt.datetime.combine(cut, dt.time()), keys, int(limit)],
        )
        if len(found) >= limit:
            return found
    # every dated match of the period is found; undated ones (last) match no period
    if filters.start is None and filters.end is None and _undated(store, model_id, entity, label):
        return None
    return found


def _undated(store: Store, model_id: str | None, entity: str, label: str | None) -> bool:
    """Whether an undated ticket mentions ``entity`` (of ``label``; the entity roll-up)."""
    cond = "model_id = ? AND key = lower(?) AND month IS NULL" + (" AND label = ?" if label else "")
    rows = store.fetchall(
        f"SELECT count(*) FROM rollup_entity_months WHERE {cond}",  # noqa: S608 - fixed SQL fragments; values are parameters
        [model_id, entity, *([label] if label else [])],
    )
    return bool(rows[0][0])


def ticket_list(
    store: Store,
    filters: Filters,
    model_id: str | None,
    *,
    entity: str | None = None,
    label: str | None = None,
    search: str | None = None,
    sources: tuple[str, ...] = (),
    limit: int = 200,
) -> pd.DataFrame:
    """The newest tickets matching the filters, with their entities.

    ``entity`` keeps tickets mentioning it (case-insensitive, optionally of ``label``);
    ``search`` keeps tickets whose text contains it (case-insensitive, literal);
    ``sources`` keeps tickets from those uploaded files (``tickets.source``).
    Columns: ``ticket_key``, ``source``, ``source_id``, ``created_at``, ``customer_id``,
    ``segment``, ``channel``,
    ``category``, ``resolved_by``, ``subject``, ``text``, ``entities`` (list of dicts with
    ``start``, ``end``, ``label``, ``text``, ``score``; empty when not tagged yet).

    The newest tickets are looked for in the newest days first (:func:`_windows`): a window
    from day ``d`` on holding ``limit`` matches holds the newest ``limit`` of all (every
    other match is older, or undated: last), so only its tickets are read; else the next,
    wider window is tried, and finally the whole period. Same rows as one query over it.
    An entity's tickets come first from the newest months of its mentions
    (:func:`_newest_by_months`), which reads the entity rows of those months only.
    """
    w = ticket_where(filters)
    if search:
        w.add("contains(lower(t.text), lower(?))", search)
    if sources:
        w.add("list_contains(?::VARCHAR[], t.source)", [str(s) for s in sources])
    selective = bool(search or sources)
    newest = (
        _newest_by_months(store, w, filters, model_id, entity, label, selective, limit)
        if entity
        else None
    )
    if newest is not None:
        df = _tickets_by_key(store, newest)
        df["entities"] = entities_of_tickets(
            store, model_id, [k for k, _ in newest], LISTED_ENTITIES_PER_TICKET
        )
        return df
    mention = _mention(store, model_id, entity, label) if entity else None
    found: _Found = ([], None)
    for cut in _windows(store, filters, model_id, entity, label, selective, limit):
        if mention is None:
            found = (_newest(store, w, None, cut, limit), None)
        else:
            found = _newest_mentioning(store, w, mention, model_id, cut, limit)
        if len(found[0]) >= limit:
            break
    else:
        found = (_newest(store, w, mention, None, limit), None)
    keys, entities = found
    df = _tickets_by_key(store, keys)
    df["entities"] = (
        entities
        if entities is not None
        else entities_of_tickets(store, model_id, [k for k, _ in keys], LISTED_ENTITIES_PER_TICKET)
    )
    return df


def _tickets_by_key(store: Store, keys: list[tuple[str, dt.datetime | None]]) -> pd.DataFrame:
    """The :func:`ticket_list` columns of the tickets ``keys`` (key, created_at), in the same
    order (newest first): the rows of their days only, whatever the text columns weigh."""
    dated = [c for _, c in keys if c is not None]
    days = ""
    params: list[Any] = [[k for k, _ in keys]]
    if not keys:
        days = " AND FALSE"
    elif len(dated) == len(keys):  # zone maps skip the row groups of other days
        days = " AND t.created_at BETWEEN ? AND ?"
        params += [min(dated), max(dated)]
    return store.query(
        "SELECT t.ticket_key, t.source, t.source_id, t.created_at, t.customer_id, c.segment,"  # noqa: S608 - fixed SQL fragments; values are parameters
        " t.channel, t.category, t.resolved_by, t.subject, t.text"
        " FROM tickets t LEFT JOIN customers c ON c.customer_id = t.customer_id"
        f" WHERE t.ticket_key IN (SELECT unnest(?::VARCHAR[])){days}"
        " ORDER BY t.created_at DESC NULLS LAST, t.ticket_key",
        params,
    )
