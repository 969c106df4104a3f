"""Roll-up tables: aggregates of tickets, usage and tags that the pages read instead of the
base tables, kept in step with them in the writers' own transactions.

What they hold, table by table: ``data.rollup_tables`` (the catalogue); the signal
series: ``data.rollup_series``; their migrations: ``data.rollup_schema``. This module
keeps them: freshness, upkeep in the writers' transactions, rebuilds.

Every ticket-derived roll-up is a sum of per-ticket contributions. A writer therefore
names the tickets its transaction touches (:func:`maintained`): their contribution is taken
out before the write and put back, as it is then, after it: exact for inserts, updates and
deletes alike, at a cost proportional to those tickets (:func:`inserted_tickets`, for a
write that only inserts new tickets, merges their counts into the ticket roll-ups and leaves
the others: an upload's upkeep is a few statements). Usage and customers change only with
the demo (a rebuild). ``python -m data rollups --db PATH`` rebuilds everything;
:func:`ensure_rollups` rebuilds only the stale parts (at start-up: an upgraded store).

Example:
    >>> def write(conn):                                               # doctest: +SKIP
    ...     with maintained(conn, "SELECT unnest(?::VARCHAR[]) AS ticket_key", [keys],
    ...                     parts=(TAGS,), model_id="tagger-v1"):
    ...         conn.execute("INSERT INTO entities ...")
    >>> store.write(write)                                             # doctest: +SKIP
"""

from __future__ import annotations

import ast
import hashlib
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from data.rollup_schema import (
    V4_COUNTED,
)
from data.rollup_series import SERIES_TABLE, fill_series, refresh_series
from data.rollup_tables import (
    COUNTED,
    DEPENDS,
    MENTIONS,
    PARTS,
    SRC_TABLES,
    TABLES,
    TAGS,
    TICKETS,
    RollupTable,
    contrib_select,
    contrib_sql,
    tables_of,
)

if TYPE_CHECKING:
    from data.store import Store

__all__ = [
    "code_digest",
    "ensure_rollups",
    "FEW_KEYS",
    "LOOKUP_MIN_TICKETS",
    "fresh_parts",
    "inserted_tickets",
    "look_up_keys",
    "maintained",
    "matcher_fingerprint",
    "mentions_fresh",
    "rebuild_all",
    "signals_fresh",
    "stored_keys",
    "tagged_per_model",
    "rebuild_rollups",
]


# -- freshness ---------------------------------------------------------------------------


def _counts_sql() -> str:
    return "SELECT " + ", ".join(f"(SELECT count(*) FROM {t})" for t in COUNTED)  # noqa: S608 - fixed names; values are parameters


def _record_state(conn: Any, parts: Sequence[str]) -> None:
    """Mark ``parts`` as up to date with the base tables' current row counts (one statement
    to count, one to record)."""
    if not parts:
        return
    counts = dict(zip(COUNTED, conn.execute(_counts_sql()).fetchone(), strict=True))
    rows = [[part, *(counts[t] if t in DEPENDS[part] else None for t in COUNTED)] for part in parts]
    conn.execute(
        "INSERT INTO rollup_state (part, tickets, usage, customers, tagged, entities,"  # noqa: S608 - fixed names; values are parameters
        " sentiments, gold_sentiments) VALUES "
        + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * len(rows))
        + " ON CONFLICT DO UPDATE SET tickets = excluded.tickets, usage = excluded.usage,"
        " customers = excluded.customers, tagged = excluded.tagged,"
        " entities = excluded.entities, sentiments = excluded.sentiments,"
        " gold_sentiments = excluded.gold_sentiments",
        [v for row in rows for v in row],
    )


def fresh_parts(conn: Any) -> frozenset[str]:
    """The parts whose roll-ups match the base tables (their recorded row counts are the
    current ones); empty when the store has no roll-ups (a schema before them)."""
    return _freshness(conn)[0]


def _freshness(conn: Any) -> tuple[frozenset[str], int | None]:
    """:func:`fresh_parts` and the tickets in the store (None: no roll-up state to count
    with)."""
    import duckdb

    try:
        rows = conn.execute(
            "WITH n AS (" + _counts_sql() + ")"  # noqa: S608 - fixed names; values are parameters
            " SELECT s.part, s.tickets, s.usage, s.customers, s.tagged, s.entities,"
            " s.sentiments, s.gold_sentiments, n.* FROM rollup_state s, n"
        ).fetchall()
        counted = COUNTED
    except duckdb.CatalogException:
        return frozenset(), None
    except duckdb.BinderException:  # a store of migration 4 opened read-only
        rows = conn.execute(
            "WITH n AS (SELECT "  # noqa: S608 - fixed names; values are parameters
            + ", ".join(f"(SELECT count(*) FROM {t})" for t in V4_COUNTED)  # noqa: S608 - fixed names; values are parameters
            + ") SELECT s.part, s.tickets, s.usage, s.customers, s.tagged, s.entities, n.*"
            " FROM rollup_state s, n"
        ).fetchall()
        counted = V4_COUNTED
    fresh = set()
    width = len(counted)
    for row in rows:
        stored, now = row[1 : 1 + width], row[1 + width : 1 + 2 * width]
        if all(s is None or s == n for s, n in zip(stored, now, strict=True)):
            fresh.add(row[0])
    if MENTIONS in fresh and not _names_current(conn):
        fresh.discard(MENTIONS)
    tickets = int(rows[0][1 + width]) if rows else None  # "tickets" counts first
    return frozenset(fresh), tickets


@lru_cache(maxsize=1)
def matcher_fingerprint() -> str:
    """A digest of what ``data.competitor_names.match_competitor`` decides by: its code (the
    module, and ``data.reference`` that reads the names from the price files) and the
    reference files. ``entity_names`` (and so :data:`MENTIONS`) is fresh only when built with
    the current one. The modules count by their syntax trees, so reformatting them changes
    nothing."""
    from data import competitor_names, reference

    digest = hashlib.sha256()
    for module in (competitor_names, reference):
        digest.update(code_digest(Path(module.__file__).read_text(encoding="utf-8")).encode())
    for path in sorted(p for p in reference.REFERENCE_DIR.rglob("*") if p.is_file()):
        digest.update(path.relative_to(reference.REFERENCE_DIR).as_posix().encode("utf-8"))
        digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def code_digest(source: str) -> str:
    """A digest of Python ``source`` by its syntax tree (no line numbers, comments or
    layout): reformatting a module keeps it, a change of what the code does changes it."""
    return hashlib.sha256(ast.dump(ast.parse(source)).encode("utf-8")).hexdigest()


def _names_current(conn: Any) -> bool:
    row = conn.execute("SELECT min(fingerprint), count(*) FROM rollup_name_state").fetchone()
    return row is not None and row[1] == 1 and row[0] == matcher_fingerprint()


def mentions_fresh(conn: Any) -> bool:
    """Whether the mention roll-ups (:data:`MENTION_TABLES`, ``entity_names``) may be read:
    the store has them (migration 6), they are up to date with the base tables and were
    built with the current competitor matcher."""
    return _has_mention_tables(conn) and MENTIONS in fresh_parts(conn)


def _fill_names(
    conn: Any, keys_table: str | None = None, sources: dict[str, str] | None = None
) -> int:
    """Add to ``entity_names`` every ORG or PRODUCT text of the entities (of the tickets in
    ``keys_table``, or in ``sources``: :func:`_touched_sources`, or all) it lacks, with its
    vendor and product key; the rows added."""
    from data.competitor_names import COMPETITOR_LABELS, match_competitor

    keys = f" SEMI JOIN {keys_table} k ON k.ticket_key = x.ticket_key" if keys_table else ""
    gold, ents = "gold_entities", "entities"
    if sources:
        gold, ents, keys = sources["gold_entities"], sources["entities"], ""
    missing = conn.execute(
        f"SELECT DISTINCT text, label FROM (SELECT x.text, x.label FROM {gold} x{keys}"  # noqa: S608 - fixed names; values are parameters
        f" UNION ALL SELECT x.text, x.label FROM {ents} x{keys}) e"
        " WHERE list_contains(?::VARCHAR[], label) AND NOT EXISTS (SELECT 1 FROM entity_names n"
        " WHERE n.text = e.text AND n.label = e.label)",
        [list(COMPETITOR_LABELS)],
    ).fetchall()
    if not missing:
        return 0
    texts = [t for t, _ in missing]
    labels = [lab for _, lab in missing]
    vendors = [match_competitor(t, lab) for t, lab in missing]
    products = [
        t.strip().lower() if lab == "PRODUCT" and v is None else None
        for t, lab, v in zip(texts, labels, vendors, strict=True)
    ]
    conn.execute(
        "INSERT INTO entity_names (text, label, vendor, product_key)"
        " SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]),"
        " unnest(?::VARCHAR[])",
        [texts, labels, vendors, products],
    )
    return len(missing)


def _rebuild_names(conn: Any) -> None:
    """``entity_names`` from scratch with the current matcher (its fingerprint recorded)."""
    conn.execute("DELETE FROM entity_names")
    _fill_names(conn)
    conn.execute("DELETE FROM rollup_name_state")
    conn.execute("INSERT INTO rollup_name_state VALUES (?)", [matcher_fingerprint()])


def signals_fresh(conn: Any) -> bool:
    """Whether ``rollup_signal_days`` may be read: the store has it (migration 5) and its
    part (:data:`TAGS`) is fresh."""
    has = conn.execute(
        "SELECT count(*) FROM information_schema.tables"
        " WHERE table_schema = 'main' AND table_name = 'rollup_signal_days'"
    ).fetchone()[0]
    return bool(has) and TAGS in fresh_parts(conn)


def tagged_per_model(conn: Any) -> dict[str, int] | None:
    """Per model its ``tagged_tickets`` rows, from ``rollup_tagged_days`` when that is
    exact: :data:`TAGS` is fresh and the roll-up holds every row of the table (no tag of a
    removed ticket: a model's roll-up count never exceeds its rows, so equal sums make every
    model's count equal); None otherwise (count the table)."""
    if TAGS not in fresh_parts(conn):
        return None
    rows = conn.execute(
        "SELECT model_id, sum(tagged) FROM rollup_tagged_days GROUP BY model_id"
        " HAVING sum(tagged) > 0"
    ).fetchall()
    total = conn.execute("SELECT count(*) FROM tagged_tickets").fetchone()[0]
    counts = {str(model): int(n) for model, n in rows}
    return counts if sum(counts.values()) == int(total) else None


# -- building ---------------------------------------------------------------------------


def _fill(conn: Any, table: RollupTable, model_id: str | None = None) -> None:
    sql = contrib_sql(table, None, model_id is not None)
    # stored in the order its readers filter by, so they skip the row groups of the others
    order = f" ORDER BY {table.order}" if table.order else ""
    conn.execute(
        f"INSERT INTO {table.name} ({table.columns}) SELECT * FROM ({sql}){order}",  # noqa: S608 - fixed names; values are parameters
        [model_id] if model_id is not None else [],
    )


def rebuild_all(conn: Any, parts: Sequence[str] = PARTS) -> None:
    """Recompute the roll-ups of ``parts`` from the base tables, inside the caller's
    transaction, and mark them fresh."""
    if MENTIONS in parts:
        _rebuild_names(conn)
    for table in TABLES:
        if table.part in parts:
            conn.execute(f"DELETE FROM {table.name}")  # noqa: S608 - fixed names; values are parameters
            _fill(conn, table)
    if MENTIONS in parts:
        fill_series(conn)
    _record_state(conn, parts)


def ensure_rollups(store: Store) -> tuple[str, ...]:
    """Bring the store's stale or never-filled roll-up parts up to date; the parts rebuilt,
    in :data:`PARTS` order (empty when every part was fresh).

    For a store upgraded from before its roll-ups (migration 6 leaves the mention part
    stale) or written by a program that did not maintain them. Idempotent: fresh parts are
    left alone, so a second call does nothing. All the parts are rebuilt in one write
    transaction that checks their state again inside it: concurrent calls queue on the
    store's writer and the later ones find nothing to do (another process cannot write the
    file meanwhile: DuckDB locks it), and a crash mid-way rolls the whole rebuild back,
    leaving the parts as stale as they were (readers keep to the base tables). A read-only
    store is left as it is (nothing rebuilt). Costs what ``python -m data rollups`` costs
    for the parts it rebuilds (the mention part: 15-17 s at a million tickets on a loaded
    2-core machine; a call with nothing to do, a few milliseconds).

    Example:
        >>> with Store.open("var/pricewar.duckdb") as store:            # doctest: +SKIP
        ...     ensure_rollups(store)
        ('mentions',)
    """
    if store.read_only:
        return ()
    with store.reading() as conn:
        if not _stale_parts(conn):
            return ()

    def write(conn: Any) -> tuple[str, ...]:
        stale = _stale_parts(conn)  # again: another call may have rebuilt them meanwhile
        if stale:
            rebuild_all(conn, stale)
        return stale

    return store.write(write)


def _stale_parts(conn: Any) -> tuple[str, ...]:
    fresh = fresh_parts(conn)
    return tuple(p for p in PARTS if p not in fresh)


def rebuild_rollups(store: Any) -> dict[str, int]:
    """Recompute every roll-up from the base tables in one transaction; their row counts
    by table name."""

    def write(conn: Any) -> dict[str, int]:
        rebuild_all(conn)
        return {
            name: int(conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0])  # noqa: S608 - fixed names; values are parameters
            for name in [*(t.name for t in TABLES), SERIES_TABLE]
        }

    return store.write(write)


# -- incremental maintenance --------------------------------------------------------------


def _with_mentions(
    conn: Any, parts: Sequence[str], was_fresh: frozenset[str], *, full: bool
) -> tuple[str, ...]:
    """``parts`` and, when they hold :data:`TAGS` and the mention roll-ups are fresh (or
    ``full``: recomputed whatever their state), :data:`MENTIONS` (tag-derived: every writer
    of tags keeps them; a stale one stays stale until a rebuild, at no cost to the writes)."""
    if TAGS not in parts or MENTIONS in parts:
        return tuple(parts)
    if MENTIONS in was_fresh or (full and _has_mention_tables(conn)):
        return (*parts, MENTIONS)
    return tuple(parts)


def _has_mention_tables(conn: Any) -> bool:
    return bool(
        conn.execute(
            "SELECT count(*) FROM information_schema.tables"
            " WHERE table_schema = 'main' AND table_name = 'rollup_name_state'"
        ).fetchone()[0]
    )


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
    _record_state(conn, [p for p in parts if p in was_fresh])


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
        _fill_names(conn, keys, sources)
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
            _fill_names(conn, None, None)
        else:
            _rebuild_names(conn)
    for table in tables:
        if model_id is not None and table.by_model:
            conn.execute(
                f"DELETE FROM {table.name} WHERE {table.model_col} = ?",  # noqa: S608 - fixed names; values are parameters
                [model_id],
            )
            _fill(conn, table, model_id)
        else:
            conn.execute(f"DELETE FROM {table.name}")  # noqa: S608 - fixed names; values are parameters
            _fill(conn, table)
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
    was_fresh, tickets = _freshness(conn)
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
        _record_state(conn, [p for p in kept if p in was_fresh])
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
