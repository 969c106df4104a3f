"""Roll-up tables: aggregates of tickets, usage and tags that the pages read instead of the
base tables. This module says whether they may be read and rebuilds them.

What they hold, table by table: ``data.rollup_tables`` (the catalogue); the signal
series: ``data.rollup_series``; their migrations: ``data.rollup_schema``; their upkeep in
the writers' own transactions: ``data.rollup_upkeep``. Here: freshness (each part records
the base tables' row counts it matches, :func:`fresh_parts`; the mention part also the
competitor matcher it was built with, :func:`matcher_fingerprint`) and rebuilds. Usage and
customers change only with the demo (a rebuild). ``python -m data rollups --db PATH``
rebuilds everything; :func:`ensure_rollups` rebuilds only the stale parts (at start-up: an
upgraded store).
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from data.rollup_schema import (
    V4_COUNTED,
)
from data.rollup_series import SERIES_TABLE, fill_series
from data.rollup_tables import (
    COUNTED,
    DEPENDS,
    MENTIONS,
    PARTS,
    TABLES,
    TAGS,
    RollupTable,
    contrib_sql,
)

if TYPE_CHECKING:
    from data.store import Store

__all__ = [
    "code_digest",
    "ensure_rollups",
    "fill",
    "fill_names",
    "fresh_parts",
    "freshness",
    "has_mention_tables",
    "matcher_fingerprint",
    "mentions_fresh",
    "rebuild_all",
    "rebuild_names",
    "record_state",
    "signals_fresh",
    "tagged_per_model",
    "rebuild_rollups",
]


# -- freshness ---------------------------------------------------------------------------


def _counts_sql() -> str:
    return "SELECT " + ", ".join(f"(SELECT count(*) FROM {t})" for t in COUNTED)  # noqa: S608 - fixed names; values are parameters


def record_state(conn: Any, parts: Sequence[str]) -> None:
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
    return freshness(conn)[0]


def freshness(conn: Any) -> tuple[frozenset[str], int | None]:
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


def has_mention_tables(conn: Any) -> bool:
    """Whether the store has the mention roll-ups (migration 6: ``rollup_name_state``)."""
    return bool(
        conn.execute(
            "SELECT count(*) FROM information_schema.tables"
            " WHERE table_schema = 'main' AND table_name = 'rollup_name_state'"
        ).fetchone()[0]
    )


def mentions_fresh(conn: Any) -> bool:
    """Whether the mention roll-ups (:data:`MENTION_TABLES`, ``entity_names``) may be read:
    the store has them (migration 6), they are up to date with the base tables and were
    built with the current competitor matcher."""
    return has_mention_tables(conn) and MENTIONS in fresh_parts(conn)


def fill_names(
    conn: Any, keys_table: str | None = None, sources: dict[str, str] | None = None
) -> int:
    """Add to ``entity_names`` every ORG or PRODUCT text of the entities (of the tickets in
    ``keys_table``, or in ``sources``: ``data.rollup_upkeep._touched_sources``, or all) it
    lacks, with its vendor and product key; the rows added."""
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


def rebuild_names(conn: Any) -> None:
    """``entity_names`` from scratch with the current matcher (its fingerprint recorded)."""
    conn.execute("DELETE FROM entity_names")
    fill_names(conn)
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


def fill(conn: Any, table: RollupTable, model_id: str | None = None) -> None:
    """Insert ``table``'s rows as the base tables give them (of ``model_id`` only, when
    given) into the table, which holds none of them yet."""
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
        rebuild_names(conn)
    for table in TABLES:
        if table.part in parts:
            conn.execute(f"DELETE FROM {table.name}")  # noqa: S608 - fixed names; values are parameters
            fill(conn, table)
    if MENTIONS in parts:
        fill_series(conn)
    record_state(conn, parts)


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
