"""The roll-up tables' migrations: the statements creating and filling each generation of
roll-ups (migrations 4 to 7, ``data.migrations`` runs them) exactly as released. The tables
themselves are described in ``data.rollup_tables``."""

from __future__ import annotations

from data.rollup_series import SERIES_CREATE
from data.rollup_tables import (
    BY_NAME,
    MENTION_TABLES,
    MENTIONS,
    NAME_STATE_SQL,
    NAMES_SQL,
    TAGS,
    TICKETS,
    USAGE,
    contrib_sql,
)

__all__ = [
    "V4_COUNTED",
    "mention_migration_statements",
    "migration_statements",
    "signal_migration_statements",
    "source_migration_statements",
]

#: The ``rollup_state`` column of each counted base table.
_STATE_COLUMNS = {
    "tickets": "tickets",
    "usage": "usage",
    "customers": "customers",
    "tagged_tickets": "tagged",
    "entities": "entities",
    "ticket_sentiment": "sentiments",
    "gold_sentiment": "gold_sentiments",
}
#: What migration 4 (the first roll-ups) knew: its tables and state, as released.
_V4_TABLES = (
    "rollup_ticket_days",
    "rollup_ticket_months",
    "rollup_usage_months",
    "rollup_tagged_days",
    "rollup_entity_months",
)
#: The base tables migration 4's state counts (a store of it opened read-only is judged
#: by them: ``data.rollups.fresh_parts``).
V4_COUNTED = ("tickets", "usage", "customers", "tagged_tickets", "entities")
_V4_DEPENDS: dict[str, tuple[str, ...]] = {
    TICKETS: ("tickets", "customers"),
    USAGE: ("usage", "customers"),
    TAGS: ("tickets", "customers", "tagged_tickets", "entities"),
}

#: ``rollup_state`` as migration 4 created it.
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
_STATE_V5 = [
    "ALTER TABLE rollup_state ADD COLUMN sentiments BIGINT",
    "ALTER TABLE rollup_state ADD COLUMN gold_sentiments BIGINT",
]


def migration_statements() -> list[str]:
    """The SQL creating the first roll-up tables and filling them from the data already in
    the store: migration 4, exactly as released (its five tables and state)."""
    tables = [BY_NAME[n] for n in _V4_TABLES]
    statements = [t.create for t in tables] + [_STATE_SQL]
    for table in tables:
        statements.append(
            f"INSERT INTO {table.name} ({table.columns}) " + contrib_sql(table, None, False)
        )
    for part in _V4_DEPENDS:
        counted = [t for t in V4_COUNTED if t in _V4_DEPENDS[part]]
        cols = ", ".join(_STATE_COLUMNS[t] for t in counted)
        vals = ", ".join(f"(SELECT count(*) FROM {t})" for t in counted)  # noqa: S608 - fixed names; values are parameters
        statements.append(f"INSERT INTO rollup_state (part, {cols}) VALUES ('{part}', {vals})")  # noqa: S608 - fixed names; values are parameters
    return statements


def signal_migration_statements() -> list[str]:
    """Migration 5: ``rollup_signal_days`` (created and filled) and the sentiment counts in
    ``rollup_state``. The tags part records them only where it was fresh: a stale part
    stays stale (its readers keep to the base tables until a rebuild)."""
    table = BY_NAME["rollup_signal_days"]
    fresh_before = " AND ".join(
        f"{_STATE_COLUMNS[t]} = (SELECT count(*) FROM {t})"  # noqa: S608 - fixed names
        for t in _V4_DEPENDS[TAGS]
    )
    fill = f"INSERT INTO {table.name} ({table.columns}) " + contrib_sql(table, None, False)
    counts = (
        "UPDATE rollup_state SET sentiments = (SELECT count(*) FROM ticket_sentiment),"  # noqa: S608 - fixed names; values are parameters
        " gold_sentiments = (SELECT count(*) FROM gold_sentiment)"
        " WHERE part = 'tags' AND " + fresh_before
    )
    stale = (
        "UPDATE rollup_state SET sentiments = -1, gold_sentiments = -1"
        " WHERE part = 'tags' AND sentiments IS NULL"
    )
    return [*_STATE_V5, table.create, fill, counts, stale]


def source_migration_statements() -> list[str]:
    """Migration 7: ``rollup_source_entities`` (entity rows per model and batch), created
    and filled from the data already in the store. Part :data:`TAGS`, whose state stays as
    it was: filled from the base tables, the table matches them now, fresh or not. (A store
    of an earlier schema never has the table; one whose version rows were set back, as an
    upgrade test does, gets it afresh.)"""
    table = BY_NAME["rollup_source_entities"]
    fill = f"INSERT INTO {table.name} ({table.columns}) " + contrib_sql(table, None, False)
    return [f"DROP TABLE IF EXISTS {table.name}", table.create, fill]


def mention_migration_statements() -> list[str]:
    """Migration 6: ``entity_names``, ``rollup_name_state`` and the mention roll-ups
    (:data:`MENTION_TABLES`), created empty and stale: the competitor matcher is Python, so
    ``python -m data rollups`` (or the demo) fills them; until then readers keep to the base
    tables, and the other parts stay as they were."""
    stale = (
        "INSERT INTO rollup_state (part, tickets, customers, tagged, entities, sentiments,"  # noqa: S608 - fixed names; values are parameters
        " gold_sentiments) VALUES ('" + MENTIONS + "', -1, -1, -1, -1, -1, -1)"
    )
    return [NAMES_SQL, NAME_STATE_SQL, *(t.create for t in MENTION_TABLES), SERIES_CREATE, stale]
