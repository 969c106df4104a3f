"""Roll-up tables: aggregates of tickets, usage and tags that the pages read instead of the
base tables, kept in step with them in the writers' own transactions.

What they hold (every count is exact; ``known`` is whether the customer is in ``customers``,
``segment``/``plan``/``region``/``industry`` are the customer's, NULL for an unknown one):

* ``rollup_ticket_days`` — per day (``CAST(created_at AS DATE)``, NULL for undated tickets)
  × known × segment × plan × region: ``tickets`` and ``ai_tickets`` (resolved by the AI).
* ``rollup_ticket_months`` — per month × known × segment × plan × region × ``dim`` (one of
  :data:`TICKET_DIMS`) × ``value`` (the ticket's channel, category, …; NULL kept): ``tickets``.
* ``rollup_usage_months`` — per usage month × known × segment × plan × region × industry:
  ``customers`` (customer-months with requests), ``requests``, ``input_tokens``,
  ``output_tokens``, ``revenue``.
* ``rollup_tagged_days`` — per model × day × known × segment × plan × region: ``tagged``
  (tickets with a ``tagged_tickets`` row of the model).
* ``rollup_entity_months`` — per model × month × label × ``key`` (``lower(text)``) × spelling
  ``text``: ``mentions`` (entity rows) and ``tickets`` (distinct tickets mentioning the key,
  each counted once, under the smallest of its spellings in that ticket: so the tickets of
  a key are the sum over its spellings).
* ``rollup_signal_days`` (part :data:`TAGS`, migration 5) — per sentiment source
  (``model_id``: :data:`GOLD_SOURCE` for ``gold_sentiment``, else the ``ticket_sentiment``
  model) × day (NULL for undated tickets) × ``unit`` (the ticket's customer; the ticket
  itself when it has none) × ``customer_id``, ``segment``, ``region``, ``plan``: ``tickets``
  with a label of that source and ``negative`` (labelled negative). The surge alerts, the
  negative-share trends and the risk features count customers per day from it
  (``analytics.alerts.signal_counts``). A model's writes (``model_id=``) change only its
  own rows, never the ground truth's.
* ``rollup_state`` — per part (:data:`TICKETS`, :data:`USAGE`, :data:`TAGS`) the base-table
  row counts the part was last brought up to date with (the tags part also counts
  ``ticket_sentiment`` and ``gold_sentiment``, since migration 5). A part whose counts differ from
  the base tables' is stale (something wrote without maintaining it) and readers use the
  base tables instead (``analytics.explore``).

Every ticket-derived roll-up is a sum of per-ticket contributions. A writer therefore
names the tickets its transaction touches (:func:`maintained`): their contribution is taken
out before the write and put back, as it is then, after it: exact for inserts, updates and
deletes alike, at a cost proportional to those tickets. Usage and customers change only with
the demo (a rebuild). ``python -m data rollups --db PATH`` rebuilds everything.

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
from dataclasses import dataclass
from typing import Any

__all__ = [
    "GOLD_SOURCE",
    "PARTS",
    "TABLES",
    "TAGS",
    "TICKETS",
    "TICKET_DIMS",
    "USAGE",
    "drop_statements",
    "fresh_parts",
    "maintained",
    "migration_statements",
    "rebuild_all",
    "signal_migration_statements",
    "signals_fresh",
    "rebuild_rollups",
    "refresh_rollups",
]

TICKETS = "tickets"
USAGE = "usage"
#: ``rollup_signal_days.model_id`` of the demo's ground-truth sentiment (``gold_sentiment``).
GOLD_SOURCE = "gold"
TAGS = "tags"
PARTS: tuple[str, ...] = (TICKETS, USAGE, TAGS)
#: Ticket columns ``rollup_ticket_months`` counts by (``dim``).
TICKET_DIMS: tuple[str, ...] = ("channel", "category", "priority", "resolved_by", "source")

#: The base tables each part is computed from (their row counts mark it fresh).
_DEPENDS: dict[str, tuple[str, ...]] = {
    TICKETS: ("tickets", "customers"),
    USAGE: ("usage", "customers"),
    TAGS: ("tickets", "customers", "tagged_tickets", "entities", "ticket_sentiment",
           "gold_sentiment"),
}
_COUNTED = ("tickets", "usage", "customers", "tagged_tickets", "entities", "ticket_sentiment",
            "gold_sentiment")
_STATE_COLUMNS = {"tickets": "tickets", "usage": "usage", "customers": "customers",
                  "tagged_tickets": "tagged", "entities": "entities",
                  "ticket_sentiment": "sentiments", "gold_sentiment": "gold_sentiments"}
#: What migration 4 (the first roll-ups) knew: its tables and state, as released.
_V4_TABLES = ("rollup_ticket_days", "rollup_ticket_months", "rollup_usage_months",
              "rollup_tagged_days", "rollup_entity_months")
_V4_COUNTED = ("tickets", "usage", "customers", "tagged_tickets", "entities")
_V4_DEPENDS: dict[str, tuple[str, ...]] = {
    TICKETS: ("tickets", "customers"),
    USAGE: ("usage", "customers"),
    TAGS: ("tickets", "customers", "tagged_tickets", "entities"),
}

_CUSTOMER = ("c.customer_id IS NOT NULL AS known, c.segment AS segment, c.plan AS plan,"
             " c.region AS region")


@dataclass(frozen=True)
class _Table:
    """One roll-up table: its part, columns and the SQL of its contributions."""

    name: str
    part: str
    groups: tuple[str, ...]
    measures: tuple[str, ...]
    create: str
    #: SELECT of the contributions (columns: groups then measures). ``{keys}`` is replaced by
    #: a join keeping the touched tickets (or nothing), ``{model}`` by a condition on the
    #: model (or TRUE).
    contrib: str
    by_model: bool = False
    #: the column the touched tickets' keys are matched on (``{keys}``)
    key_col: str = "t.ticket_key"
    #: the condition ``{model}`` becomes when the contributions are one model's
    model_where: str = "TRUE"

    @property
    def columns(self) -> str:
        return ", ".join(f'"{c}"' for c in (*self.groups, *self.measures))


_CUST_COLS = ("known", "segment", "plan", "region")

TABLES: tuple[_Table, ...] = (
    _Table(
        "rollup_ticket_days", TICKETS, ("day", *_CUST_COLS), ("tickets", "ai_tickets"),
        """
        CREATE TABLE rollup_ticket_days (
            day         DATE,              -- NULL: tickets without created_at
            known       BOOLEAN NOT NULL,  -- the customer is in customers
            segment     VARCHAR,
            plan        VARCHAR,
            region      VARCHAR,
            tickets     BIGINT NOT NULL,
            ai_tickets  BIGINT NOT NULL
        )
        """,
        "SELECT CAST(t.created_at AS DATE) AS day, " + _CUSTOMER + ","  # noqa: S608 - fixed names; values are parameters
        " count(*) AS tickets, count(*) FILTER (WHERE t.resolved_by = 'ai') AS ai_tickets"
        " FROM tickets t{keys} LEFT JOIN customers c ON c.customer_id = t.customer_id"
        " GROUP BY ALL",
    ),
    _Table(
        "rollup_ticket_months", TICKETS, ("month", *_CUST_COLS, "dim", "value"), ("tickets",),
        """
        CREATE TABLE rollup_ticket_months (
            month    DATE,              -- first day of the month; NULL: no created_at
            known    BOOLEAN NOT NULL,
            segment  VARCHAR,
            plan     VARCHAR,
            region   VARCHAR,
            dim      VARCHAR NOT NULL,  -- channel | category | priority | resolved_by | source
            value    VARCHAR,           -- the ticket's value of dim (NULL kept)
            tickets  BIGINT NOT NULL
        )
        """,
        "SELECT month, known, segment, plan, region, dim, value, count(*) AS tickets FROM ("  # noqa: S608 - fixed names; values are parameters
        " SELECT CAST(date_trunc('month', t.created_at) AS DATE) AS month, " + _CUSTOMER + ","
        " unnest([" + ", ".join(f"'{d}'" for d in TICKET_DIMS) + "]) AS dim,"
        " unnest([" + ", ".join(f"CAST(t.{d} AS VARCHAR)" for d in TICKET_DIMS) + "]) AS value"
        " FROM tickets t{keys} LEFT JOIN customers c ON c.customer_id = t.customer_id)"
        " GROUP BY ALL",
    ),
    _Table(
        "rollup_usage_months", USAGE,
        ("month", *_CUST_COLS, "industry"),
        ("customers", "requests", "input_tokens", "output_tokens", "revenue"),
        """
        CREATE TABLE rollup_usage_months (
            month          DATE NOT NULL,
            known          BOOLEAN NOT NULL,
            segment        VARCHAR,
            plan           VARCHAR,
            region         VARCHAR,
            industry       VARCHAR,
            customers      BIGINT NOT NULL,  -- customer-months with requests > 0
            requests       BIGINT NOT NULL,
            input_tokens   BIGINT NOT NULL,
            output_tokens  BIGINT NOT NULL,
            revenue        DOUBLE NOT NULL
        )
        """,
        "SELECT u.month AS month, " + _CUSTOMER + ", c.industry AS industry,"  # noqa: S608 - fixed names; values are parameters
        " count(*) FILTER (WHERE u.requests > 0) AS customers, sum(u.requests) AS requests,"
        " sum(u.input_tokens) AS input_tokens, sum(u.output_tokens) AS output_tokens,"
        " fsum(u.revenue) AS revenue"  # compensated: the same sum in any order
        " FROM usage u LEFT JOIN customers c ON c.customer_id = u.customer_id GROUP BY ALL",
    ),
    _Table(
        "rollup_tagged_days", TAGS, ("model_id", "day", *_CUST_COLS), ("tagged",),
        """
        CREATE TABLE rollup_tagged_days (
            model_id  VARCHAR NOT NULL,
            day       DATE,
            known     BOOLEAN NOT NULL,
            segment   VARCHAR,
            plan      VARCHAR,
            region    VARCHAR,
            tagged    BIGINT NOT NULL
        )
        """,
        "SELECT g.model_id AS model_id, CAST(t.created_at AS DATE) AS day, " + _CUSTOMER + ","  # noqa: S608 - fixed names; values are parameters
        " count(*) AS tagged"
        " FROM tagged_tickets g JOIN tickets t ON t.ticket_key = g.ticket_key{keys}"
        " LEFT JOIN customers c ON c.customer_id = t.customer_id"
        " WHERE {model} GROUP BY ALL",
        by_model=True, key_col="g.ticket_key", model_where="g.model_id = ?",
    ),
    _Table(
        "rollup_entity_months", TAGS, ("model_id", "month", "label", "key", "text"),
        ("mentions", "tickets"),
        """
        CREATE TABLE rollup_entity_months (
            model_id  VARCHAR NOT NULL,
            month     DATE,              -- of the ticket's created_at; NULL: undated ticket
            label     VARCHAR NOT NULL,
            key       VARCHAR NOT NULL,  -- lower(text): entities are grouped by it
            text      VARCHAR NOT NULL,  -- one spelling
            mentions  BIGINT NOT NULL,   -- entity rows with this spelling
            tickets   BIGINT NOT NULL    -- tickets whose smallest spelling of key this is
        )
        """,
        "SELECT model_id, month, label, key, text, sum(n) AS mentions,"
        " count_if(first) AS tickets FROM ("
        " SELECT e.model_id, CAST(date_trunc('month', t.created_at) AS DATE) AS month,"
        " e.label, lower(e.text) AS key, e.text, count(*) AS n,"
        " e.text = min(e.text) OVER (PARTITION BY e.ticket_key, e.model_id, e.label,"
        " lower(e.text)) AS first"
        " FROM entities e JOIN tickets t ON t.ticket_key = e.ticket_key{keys}"
        " WHERE {model} GROUP BY e.ticket_key, e.model_id, t.created_at, e.label, e.text)"
        " GROUP BY ALL",
        by_model=True, key_col="e.ticket_key", model_where="e.model_id = ?",
    ),
    _Table(
        "rollup_signal_days", TAGS,
        ("model_id", "day", "unit", "customer_id", "segment", "region", "plan"),
        ("tickets", "negative"),
        """
        CREATE TABLE rollup_signal_days (
            model_id     VARCHAR NOT NULL,  -- the sentiment's source: 'gold' or a model id
            day          DATE,              -- of created_at; NULL: undated tickets
            unit         VARCHAR NOT NULL,  -- the customer; the ticket when it has none
            customer_id  VARCHAR,
            segment      VARCHAR,           -- the customer's (NULL: unknown customer)
            region       VARCHAR,
            plan         VARCHAR,
            tickets      BIGINT NOT NULL,   -- tickets with a sentiment label of model_id
            negative     BIGINT NOT NULL    -- of them labelled negative
        )
        """,
        "SELECT s.model_id AS model_id, CAST(t.created_at AS DATE) AS day,"  # noqa: S608 - fixed names; values are parameters
        " coalesce(t.customer_id, t.ticket_key) AS unit, t.customer_id AS customer_id,"
        " c.segment AS segment, c.region AS region, c.plan AS plan, count(*) AS tickets,"
        " count(*) FILTER (WHERE s.label = 'negative') AS negative"
        " FROM (SELECT ticket_key, '" + GOLD_SOURCE + "' AS model_id, label FROM gold_sentiment"
        " WHERE {gold} UNION ALL SELECT ticket_key, model_id, label FROM ticket_sentiment"
        " WHERE {model}) s JOIN tickets t ON t.ticket_key = s.ticket_key{keys}"
        " LEFT JOIN customers c ON c.customer_id = t.customer_id GROUP BY ALL",
        by_model=True, model_where="model_id = ?",
    ),
)
_BY_NAME = {t.name: t for t in TABLES}

_STATE_SQL = """
CREATE TABLE rollup_state (
    part        VARCHAR PRIMARY KEY,  -- tickets | usage | tags
    tickets     BIGINT,               -- base-table row counts the part is up to date with
    usage       BIGINT,               -- (NULL: the part does not depend on that table)
    customers   BIGINT,
    tagged      BIGINT,
    entities    BIGINT
)
"""
#: Migration 5 adds the sentiment counts (NULL: the part does not depend on them).
_STATE_V5 = ["ALTER TABLE rollup_state ADD COLUMN sentiments BIGINT",
             "ALTER TABLE rollup_state ADD COLUMN gold_sentiments BIGINT"]


def _contrib_sql(table: _Table, keys_table: str | None, model: bool) -> str:
    keys = f" SEMI JOIN {keys_table} k ON k.ticket_key = {table.key_col}" if keys_table else ""
    where = table.model_where if model else "TRUE"
    # a model's contributions leave the ground truth's (another source) out
    return (table.contrib.replace("{keys}", keys).replace("{model}", where)
            .replace("{gold}", "FALSE" if model else "TRUE"))


def _counts_sql() -> str:
    return "SELECT " + ", ".join(f"(SELECT count(*) FROM {t})" for t in _COUNTED)  # noqa: S608 - fixed names; values are parameters


def _record_state(conn: Any, parts: Sequence[str]) -> None:
    """Mark ``parts`` as up to date with the base tables' current row counts."""
    counts = dict(zip(_COUNTED, conn.execute(_counts_sql()).fetchone(), strict=True))
    for part in parts:
        values = [counts[t] if t in _DEPENDS[part] else None for t in _COUNTED]
        conn.execute(
            "INSERT INTO rollup_state (part, tickets, usage, customers, tagged, entities,"
            " sentiments, gold_sentiments) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO UPDATE SET tickets = excluded.tickets, usage = excluded.usage,"
            " customers = excluded.customers, tagged = excluded.tagged,"
            " entities = excluded.entities, sentiments = excluded.sentiments,"
            " gold_sentiments = excluded.gold_sentiments",
            [part, *values])


def fresh_parts(conn: Any) -> frozenset[str]:
    """The parts whose roll-ups match the base tables (their recorded row counts are the
    current ones); empty when the store has no roll-ups (a schema before them)."""
    import duckdb

    try:
        rows = conn.execute(
            "WITH n AS (" + _counts_sql() + ")"  # noqa: S608 - fixed names; values are parameters
            " SELECT s.part, s.tickets, s.usage, s.customers, s.tagged, s.entities,"
            " s.sentiments, s.gold_sentiments, n.* FROM rollup_state s, n").fetchall()
        counted = _COUNTED
    except duckdb.CatalogException:
        return frozenset()
    except duckdb.BinderException:  # a store of migration 4 opened read-only
        rows = conn.execute(
            "WITH n AS (SELECT " + ", ".join(f"(SELECT count(*) FROM {t})" for t in _V4_COUNTED)  # noqa: S608 - fixed names; values are parameters
            + ") SELECT s.part, s.tickets, s.usage, s.customers, s.tagged, s.entities, n.*"
            " FROM rollup_state s, n").fetchall()
        counted = _V4_COUNTED
    fresh = set()
    width = len(counted)
    for row in rows:
        stored, now = row[1:1 + width], row[1 + width:1 + 2 * width]
        if all(s is None or s == n for s, n in zip(stored, now, strict=True)):
            fresh.add(row[0])
    return frozenset(fresh)


def signals_fresh(conn: Any) -> bool:
    """Whether ``rollup_signal_days`` may be read: the store has it (migration 5) and its
    part (:data:`TAGS`) is fresh."""
    has = conn.execute("SELECT count(*) FROM information_schema.tables"
                       " WHERE table_schema = 'main' AND table_name = 'rollup_signal_days'"
                       ).fetchone()[0]
    return bool(has) and TAGS in fresh_parts(conn)


# -- building ---------------------------------------------------------------------------


def _fill(conn: Any, table: _Table, model_id: str | None = None) -> None:
    sql = _contrib_sql(table, None, model_id is not None)
    conn.execute(f"INSERT INTO {table.name} ({table.columns}) {sql}",
                 [model_id] if model_id is not None else [])


def rebuild_all(conn: Any, parts: Sequence[str] = PARTS) -> None:
    """Recompute the roll-ups of ``parts`` from the base tables, inside the caller's
    transaction, and mark them fresh."""
    for table in TABLES:
        if table.part in parts:
            conn.execute(f"DELETE FROM {table.name}")  # noqa: S608 - fixed names; values are parameters
            _fill(conn, table)
    _record_state(conn, parts)


def rebuild_rollups(store: Any) -> dict[str, int]:
    """Recompute every roll-up from the base tables in one transaction; their row counts
    by table name."""

    def write(conn: Any) -> dict[str, int]:
        rebuild_all(conn)
        return {t.name: int(conn.execute(f"SELECT count(*) FROM {t.name}").fetchone()[0])  # noqa: S608 - fixed names; values are parameters
                for t in TABLES}

    return store.write(write)


def migration_statements() -> list[str]:
    """The SQL creating the first roll-up tables and filling them from the data already in
    the store: migration 4, exactly as released (its five tables and state)."""
    tables = [_BY_NAME[n] for n in _V4_TABLES]
    statements = [t.create for t in tables] + [_STATE_SQL]
    for table in tables:
        statements.append(f"INSERT INTO {table.name} ({table.columns}) "
                          + _contrib_sql(table, None, False))
    for part in PARTS:
        counted = [t for t in _V4_COUNTED if t in _V4_DEPENDS[part]]
        cols = ", ".join(_STATE_COLUMNS[t] for t in counted)
        vals = ", ".join(f"(SELECT count(*) FROM {t})" for t in counted)  # noqa: S608 - fixed names; values are parameters
        statements.append(f"INSERT INTO rollup_state (part, {cols}) VALUES ('{part}', {vals})")  # noqa: S608 - fixed names; values are parameters
    return statements


def signal_migration_statements() -> list[str]:
    """Migration 5: ``rollup_signal_days`` (created and filled) and the sentiment counts in
    ``rollup_state``. The tags part records them only where it was fresh: a stale part
    stays stale (its readers keep to the base tables until a rebuild)."""
    table = _BY_NAME["rollup_signal_days"]
    fresh_before = " AND ".join(
        f"{_STATE_COLUMNS[t]} = (SELECT count(*) FROM {t})" for t in _V4_DEPENDS[TAGS])  # noqa: S608 - fixed names; values are parameters
    fill = f"INSERT INTO {table.name} ({table.columns}) " + _contrib_sql(table, None, False)
    counts = ("UPDATE rollup_state SET sentiments = (SELECT count(*) FROM ticket_sentiment),"  # noqa: S608 - fixed names; values are parameters
              " gold_sentiments = (SELECT count(*) FROM gold_sentiment)"
              " WHERE part = 'tags' AND " + fresh_before)
    stale = ("UPDATE rollup_state SET sentiments = -1, gold_sentiments = -1"
             " WHERE part = 'tags' AND sentiments IS NULL")
    return [*_STATE_V5, table.create, fill, counts, stale]


def drop_statements() -> list[str]:
    """DROP statements of every roll-up table (for a later migration that redefines them)."""
    return [f"DROP TABLE IF EXISTS {t.name}" for t in TABLES] + [
        "DROP TABLE IF EXISTS rollup_state"]


# -- incremental maintenance --------------------------------------------------------------


def _tables(parts: Sequence[str], *, by_keys: bool) -> list[_Table]:
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown roll-up parts {sorted(unknown)}; known: {PARTS}")
    if by_keys and USAGE in parts:
        raise ValueError("usage roll-ups do not depend on tickets: recompute them (keys_sql=None)")
    return [t for t in TABLES if t.part in parts]


def _add_contrib(conn: Any, table: _Table, keys: str, model_id: str | None, sign: int,
                 delta: str, create: bool) -> None:
    model = model_id is not None and table.by_model
    sql = _contrib_sql(table, keys, model)
    groups = ", ".join(f'"{c}"' for c in table.groups)
    measures = ", ".join(f'{sign} * "{m}" AS "{m}"' for m in table.measures)
    select = f"SELECT {groups}, {measures} FROM ({sql})"  # noqa: S608 - fixed names; values are parameters
    head = f"CREATE TEMP TABLE {delta} AS " if create else f"INSERT INTO {delta} "
    conn.execute(head + select, [model_id] if model else [])


def _merge(conn: Any, table: _Table, delta: str) -> None:
    """Add the rows of ``delta`` (signed contributions) to ``table``; drop rows that reach 0."""
    tag = uuid.uuid4().hex[:12]
    agg, new = f"_rollup_agg_{tag}", f"_rollup_new_{tag}"
    groups = ", ".join(f'"{c}"' for c in table.groups)
    sums = ", ".join(f'sum("{m}") AS "{m}"' for m in table.measures)
    nonzero = " OR ".join(f'sum("{m}") <> 0' for m in table.measures)
    on = " AND ".join(f'r."{c}" IS NOT DISTINCT FROM d."{c}"' for c in table.groups)
    conn.execute(f"CREATE TEMP TABLE {agg} AS SELECT {groups}, {sums} FROM {delta}"  # noqa: S608 - fixed names; values are parameters
                 f" GROUP BY ALL HAVING {nonzero}")
    try:
        if not conn.execute(f"SELECT count(*) FROM {agg}").fetchone()[0]:  # noqa: S608 - fixed names; values are parameters
            return
        conn.execute(
            f"CREATE TEMP TABLE {new} AS SELECT {groups}, {sums} FROM ("  # noqa: S608 - fixed names; values are parameters
            f" SELECT {table.columns} FROM {table.name} r SEMI JOIN {agg} d ON {on}"
            f" UNION ALL SELECT {table.columns} FROM {agg}) GROUP BY ALL")
        conn.execute(f"DELETE FROM {table.name} r USING {agg} d WHERE {on}")  # noqa: S608 - fixed names; values are parameters
        conn.execute(f"INSERT INTO {table.name} ({table.columns}) SELECT {table.columns}"  # noqa: S608 - fixed names; values are parameters
                     f' FROM {new} WHERE "{table.measures[0]}" <> 0')
        conn.execute(f"DROP TABLE {new}")
    finally:
        conn.execute(f"DROP TABLE IF EXISTS {agg}")


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
    transaction rolls back the roll-ups with the base tables.

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
    tables = _tables(parts, by_keys=keys_sql is not None)
    was_fresh = fresh_parts(conn)
    tag = uuid.uuid4().hex[:12]
    keys = f"_rollup_keys_{tag}"
    deltas = {t.name: f"_rollup_delta_{t.name}_{tag}" for t in tables}
    if keys_sql is not None:
        conn.execute(f"CREATE TEMP TABLE {keys} AS SELECT DISTINCT ticket_key FROM ({keys_sql})",  # noqa: S608 - fixed names; values are parameters
                     list(params))
        for table in tables:
            _add_contrib(conn, table, keys, model_id, -1, deltas[table.name], create=True)
    yield
    if keys_sql is not None:
        for table in tables:
            _add_contrib(conn, table, keys, model_id, 1, deltas[table.name], create=False)
            _merge(conn, table, deltas[table.name])
            conn.execute(f"DROP TABLE {deltas[table.name]}")
        conn.execute(f"DROP TABLE {keys}")
    else:
        for table in tables:
            if model_id is not None and table.by_model:
                conn.execute(f"DELETE FROM {table.name} WHERE model_id = ?", [model_id])  # noqa: S608 - fixed names; values are parameters
                _fill(conn, table, model_id)
            else:
                conn.execute(f"DELETE FROM {table.name}")  # noqa: S608 - fixed names; values are parameters
                _fill(conn, table)
        if model_id is None:  # recomputed in full: fresh whatever they were before
            was_fresh = frozenset(parts)
    _record_state(conn, [p for p in parts if p in was_fresh])


def refresh_rollups(conn: Any, *, parts: Sequence[str] = PARTS) -> None:
    """Recompute the roll-ups of ``parts`` from the base tables after a write that did not
    maintain them (inside its transaction), and mark them fresh: :func:`rebuild_all`."""
    rebuild_all(conn, parts)
