"""Roll-up upkeep inside a writer's own transaction: the roll-ups of ``data.rollup_tables``
follow each write that changes tickets or tags, so the pages can read them at once, without
a rebuild (``data.rollups``: freshness and rebuilds).

Every ticket-derived roll-up is a sum of per-ticket contributions. A writer therefore
names the tickets its transaction touches (:func:`maintained`): their contribution is taken
out before the write and put back, as it is then, after it: exact for inserts, updates and
deletes alike, at a cost proportional to those tickets (:func:`inserted_tickets`, for a
write that only inserts new tickets, merges their counts into the ticket roll-ups and leaves
the others: an upload's upkeep is a few statements). In the writer's transaction, so a
write that fails rolls its roll-ups back with it; a part that was fresh stays fresh.

Example:
    >>> def write(conn):                                               # doctest: +SKIP
    ...     with maintained(conn, "SELECT unnest(?::VARCHAR[]) AS ticket_key", [keys],
    ...                     parts=(TAGS,), model_id="tagger-v1"):
    ...         conn.execute("INSERT INTO entities ...")
    >>> store.write(write)                                             # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from data.rollup_series import fill_series, refresh_series
from data.rollup_tables import (
    MENTIONS,
    SRC_TABLES,
    TAGS,
    TICKETS,
    RollupTable,
    contrib_select,
    tables_of,
)
from data.rollups import (
    fill,
    fill_names,
    fresh_parts,
    freshness,
    has_mention_tables,
    rebuild_names,
    record_state,
)

__all__ = [
    "FEW_KEYS",
    "LOOKUP_MIN_TICKETS",
    "inserted_tickets",
    "look_up_keys",
    "maintained",
    "stored_keys",
]


def _with_mentions(
    conn: Any, parts: Sequence[str], was_fresh: frozenset[str], *, full: bool
) -> tuple[str, ...]:
    """``parts`` and, when they hold :data:`TAGS` and the mention roll-ups are fresh (or
    ``full``: recomputed whatever their state), :data:`MENTIONS` (tag-derived: every writer
    of tags keeps them; a stale one stays stale until a rebuild, at no cost to the writes)."""
    if TAGS not in parts or MENTIONS in parts:
        return tuple(parts)
    if MENTIONS in was_fresh or (full and has_mention_tables(conn)):
        return (*parts, MENTIONS)
    return tuple(parts)


def _touched_sources(conn: Any, keys_table: str, tag: str) -> dict[str, str]:
    """Temporary copies of the mention roll-ups' source tables kept to the tickets in
    ``keys_table`` (each big table read once, not once per roll-up); their names."""
    names = {}
    for name in SRC_TABLES:
        names[name] = f"_rollup_src_{name}_{tag}"
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE {names[name]} AS SELECT x.* FROM {name} x"  # noqa: S608 - fixed names; values are parameters
            f" SEMI JOIN {keys_table} k ON k.ticket_key = x.ticket_key"
        )
    return names


def _merge(conn: Any, table: RollupTable, source: str, params: Sequence[Any] = ()) -> None:
    """Add the rows of ``source`` (a SELECT of signed contributions: groups then measures,
    a group may repeat) to ``table`` in one statement; a row whose first measure reaches 0
    is dropped, one that no row held is added unless its first measure is 0.

    Each group has one row in a roll-up table (fills and merges keep it so), so a ``MERGE``
    on the groups adds the summed delta to it.
    """
    groups = ", ".join(f'"{c}"' for c in table.groups)
    sums = ", ".join(f'sum("{m}") AS "{m}"' for m in table.measures)
    nonzero = " OR ".join(f'sum("{m}") <> 0' for m in table.measures)
    on = " AND ".join(f'r."{c}" IS NOT DISTINCT FROM d."{c}"' for c in table.groups)
    first = table.measures[0]
    added = ", ".join(f'"{m}" = r."{m}" + d."{m}"' for m in table.measures)
    values = ", ".join(f'd."{c}"' for c in (*table.groups, *table.measures))
    conn.execute(
        f"MERGE INTO {table.name} r USING (SELECT {groups}, {sums} FROM ({source})"  # noqa: S608 - fixed names; values are parameters
        f" GROUP BY ALL HAVING {nonzero}) d ON {on}"
        f' WHEN MATCHED AND r."{first}" + d."{first}" = 0 THEN DELETE'
        f" WHEN MATCHED THEN UPDATE SET {added}"
        f' WHEN NOT MATCHED AND d."{first}" <> 0 THEN INSERT ({table.columns}) VALUES ({values})',
        list(params),
    )


@contextmanager
def maintained(
    conn: Any,
    keys_sql: str | None,
    params: Sequence[Any] = (),
    *,
    parts: Sequence[str] = (TICKETS, TAGS),
    model_id: str | None = None,
) -> Iterator[None]:
    """Keep the roll-ups of ``parts`` in step with a write done inside the block.

    Use it inside the write's transaction (``Store.write``): if the block raises, the
    transaction rolls back the roll-ups with the base tables. A block that only inserts new
    tickets (an ingest) costs less through :func:`inserted_tickets`.

    Args:
        conn: the writer's connection, inside a transaction.
        keys_sql: a SELECT with a ``ticket_key`` column: every ticket whose rows (the ticket,
            its tags) the block may insert, change or delete. Run before the block. None:
            recompute the parts from the base tables after the block (of ``model_id`` only
            when given) — for writes touching a whole model or everything.
        params: parameters of ``keys_sql``.
        parts: :data:`TICKETS` (the block writes tickets) and/or :data:`TAGS` (tickets,
            entities or tagged_tickets); :data:`USAGE` only with ``keys_sql`` None.
        model_id: the block changes only this model's tags (restricts :data:`TAGS`).
    """
    was_fresh = fresh_parts(conn)
    parts = _with_mentions(conn, parts, was_fresh, full=keys_sql is None and model_id is None)
    tables = tables_of(parts, by_keys=keys_sql is not None)
    tag = uuid.uuid4().hex[:12]
    keys = f"_rollup_keys_{tag}"
    deltas = {t.name: f"_rollup_delta_{t.name}_{tag}" for t in tables}
    sources = None
    if keys_sql is not None:
        sources = _take_out(conn, keys_sql, params, tables, model_id, keys, deltas, tag)
    yield
    if keys_sql is not None:
        _put_back(conn, parts, tables, model_id, keys, deltas, tag, sources)
    else:
        _recompute(conn, parts, tables, model_id)
        if model_id is None:  # recomputed in full: fresh whatever they were before
            was_fresh = frozenset(parts)
    record_state(conn, [p for p in parts if p in was_fresh])


def _take_out(
    conn: Any,
    keys_sql: str,
    params: Sequence[Any],
    tables: Sequence[RollupTable],
    model_id: str | None,
    keys: str,
    deltas: dict[str, str],
    tag: str,
) -> dict[str, str] | None:
    """Fill ``keys`` and each table's delta (their contributions taken out); the sources read."""
    conn.execute(
        f"CREATE TEMP TABLE {keys} AS SELECT DISTINCT ticket_key FROM ({keys_sql})",  # noqa: S608 - fixed names; values are parameters
        list(params),
    )
    sources = None
    if any(t.sourced for t in tables):
        sources = _touched_sources(conn, keys, tag)
    for table in tables:  # the touched tickets' contributions taken out ...
        before, before_params = contrib_select(table, keys, model_id, -1, sources)
        conn.execute(f"CREATE TEMP TABLE {deltas[table.name]} AS {before}", before_params)
    return sources


def _put_back(
    conn: Any,
    parts: Sequence[str],
    tables: Sequence[RollupTable],
    model_id: str | None,
    keys: str,
    deltas: dict[str, str],
    tag: str,
    sources: dict[str, str] | None,
) -> None:
    """After the block: the keys' contributions put back as they are now; temp tables dropped."""
    if sources is not None:  # as the block left them
        sources = _touched_sources(conn, keys, tag)
    if MENTIONS in parts:
        fill_names(conn, keys, sources)
    touched = f"_rollup_touched_{tag}"
    for table in tables:  # ... and put back as they are now, in one merge per table
        delta = deltas[table.name]
        after, after_params = contrib_select(table, keys, model_id, 1, sources)
        if table.name == "rollup_signal_mentions":  # the series follow it (derived)
            conn.execute(f"INSERT INTO {delta} {after}", after_params)
            conn.execute(
                f"CREATE TEMP TABLE {touched} AS SELECT DISTINCT model_id,"  # noqa: S608 - fixed names; values are parameters
                f" entities, day, dim, value FROM {delta}"
                " WHERE day IS NOT NULL AND dim <> 'named'"
            )
            _merge(conn, table, f"SELECT * FROM {delta}")  # noqa: S608 - fixed names
        else:
            _merge(conn, table, f"SELECT * FROM {delta} UNION ALL {after}", after_params)  # noqa: S608 - fixed names; values are parameters
        conn.execute(f"DROP TABLE {delta}")
    if MENTIONS in parts:
        refresh_series(conn, touched)
        conn.execute(f"DROP TABLE {touched}")
    for name in (sources or {}).values():
        conn.execute(f"DROP TABLE {name}")
    conn.execute(f"DROP TABLE {keys}")


def _recompute(
    conn: Any, parts: Sequence[str], tables: Sequence[RollupTable], model_id: str | None
) -> None:
    """After a block without keys: ``tables`` recomputed (of ``model_id`` only, where given)."""
    if MENTIONS in parts:
        if model_id is not None:
            fill_names(conn, None, None)
        else:
            rebuild_names(conn)
    for table in tables:
        if model_id is not None and table.by_model:
            conn.execute(
                f"DELETE FROM {table.name} WHERE {table.model_col} = ?",  # noqa: S608 - fixed names; values are parameters
                [model_id],
            )
            fill(conn, table, model_id)
        else:
            conn.execute(f"DELETE FROM {table.name}")  # noqa: S608 - fixed names; values are parameters
            fill(conn, table)
    if MENTIONS in parts:
        fill_series(conn, model_id)


@contextmanager
def inserted_tickets(conn: Any, keys_sql: str, params: Sequence[Any] = ()) -> Iterator[None]:
    """Keep the roll-ups in step with a block that only inserts tickets (an ingest).

    The block may insert tickets whose keys ``keys_sql`` (a SELECT with a ``ticket_key``
    column, run before the block) lists and the store does not hold yet; it changes no
    other row of any table the roll-ups count. What :func:`maintained` with ``parts=(TICKETS,
    TAGS)`` keeps, at a fraction of the statements: a ticket that was not in the store
    contributed nothing before, and one with no tag row contributes only to the ticket
    roll-ups (every tag and mention roll-up counts tag rows, and the series and entity names
    follow them), so those two take the new tickets' counts in one ``MERGE`` each and the
    others are left as they are. Tag rows already stored under a new ticket's key (left by
    some earlier write) would start counting: then every part is kept the full way.

    Args:
        conn: the writer's connection, inside a transaction.
        keys_sql: a SELECT with a ``ticket_key`` column: the keys the block may insert.
        params: parameters of ``keys_sql``.
    """
    was_fresh, tickets = freshness(conn)
    keys = f"_rollup_new_keys_{uuid.uuid4().hex[:12]}"
    few: list[str] = []
    if tickets is not None and tickets >= LOOKUP_MIN_TICKETS:
        few = [
            k
            for (k,) in conn.execute(
                f"SELECT DISTINCT ticket_key FROM ({keys_sql}) LIMIT {FEW_KEYS + 1}",  # noqa: S608 - fixed names; values are parameters
                list(params),
            ).fetchall()
        ]
    if few and look_up_keys(int(tickets or 0), len(few)):  # by key: no table scanned
        new = sorted(set(few) - stored_keys(conn, "tickets", few))
        conn.execute(
            f"CREATE TEMP TABLE {keys} AS SELECT unnest(?::VARCHAR[]) AS ticket_key", [new]
        )
        marks = ", ".join("?" for _ in new)
        exists = (
            f"EXISTS (SELECT 1 FROM {name} WHERE ticket_key IN ({marks}))"  # noqa: S608 - fixed names; values are parameters
            for name in SRC_TABLES
        )
        tagged = (
            bool(new)
            and conn.execute("SELECT " + " OR ".join(exists), new * len(SRC_TABLES)).fetchone()[0]
        )
    else:
        conn.execute(
            f"CREATE TEMP TABLE {keys} AS SELECT DISTINCT n.ticket_key FROM ({keys_sql}) n"  # noqa: S608 - fixed names; values are parameters
            " ANTI JOIN tickets t ON t.ticket_key = n.ticket_key",
            list(params),
        )
        exists = (
            f"EXISTS (SELECT 1 FROM {name} x SEMI JOIN {keys} k ON k.ticket_key = x.ticket_key)"  # noqa: S608 - fixed names
            for name in SRC_TABLES
        )
        tagged = conn.execute("SELECT " + " OR ".join(exists)).fetchone()[0]
    if tagged:
        with maintained(conn, f"SELECT ticket_key FROM {keys}", parts=(TICKETS, TAGS)):  # noqa: S608 - fixed names
            yield
    else:
        yield
        for table in tables_of((TICKETS,), by_keys=True):
            _merge(conn, table, *contrib_select(table, keys, None, 1))
        kept = _with_mentions(conn, (TICKETS, TAGS), was_fresh, full=False)
        record_state(conn, [p for p in kept if p in was_fresh])
    conn.execute(f"DROP TABLE {keys}")


#: Up to this many keys are looked up one by one through an ``IN`` list of parameters, which
#: DuckDB answers from a table's index on ``ticket_key`` (the tickets' primary key, migration
#: 8's on ``entities``) instead of scanning the table; more are joined.
FEW_KEYS = 1000


#: ... and only in a store of at least this many tickets: in a smaller one a join scans the
#: tables in about the time the lookups' extra statements take.
LOOKUP_MIN_TICKETS = 100_000


def look_up_keys(tickets: int, keys: int) -> bool:
    """Whether ``keys`` ticket keys are looked up by key (:func:`stored_keys`) in a store of
    ``tickets`` tickets, rather than joined with the tables."""
    return keys <= FEW_KEYS and tickets >= LOOKUP_MIN_TICKETS


def stored_keys(conn: Any, table: str, keys: Sequence[str]) -> set[str]:
    """The ``keys`` (at most :data:`FEW_KEYS`) that have a row in ``table`` (one of the
    tables keyed by ``ticket_key``)."""
    found: set[str] = set()
    for start in range(0, len(keys), FEW_KEYS):
        part = list(keys[start : start + FEW_KEYS])
        marks = ", ".join("?" for _ in part)
        found.update(
            k
            for (k,) in conn.execute(
                f"SELECT DISTINCT ticket_key FROM {table} WHERE ticket_key IN ({marks})",  # noqa: S608 - fixed names; values are parameters
                part,
            ).fetchall()
        )
    return found
