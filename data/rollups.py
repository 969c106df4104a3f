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
* The mention roll-ups (part :data:`MENTIONS`, migration 6; tag-derived, kept by every writer
  of :data:`TAGS` while fresh), keyed by the sentiment source (``model_id``, as above) and the
  entity source (``entities``: :data:`GOLD_SOURCE` for ``gold_entities``, else the model id;
  pairs held: the ground truth's sentiment with any entities, a model's with its own), with
  ``entity_names`` (per ORG/PRODUCT text: the competitor ``vendor`` it names by
  ``data.reference.match_competitor``, else for a PRODUCT its ``product_key``,
  ``text.strip().lower()``; filled in Python, so migration 6 leaves the part stale until
  ``python -m data rollups``; :func:`matcher_fingerprint` marks it stale when the matcher
  changes):

  - ``rollup_signal_mentions`` — per sources × day × unit (as ``rollup_signal_days``) ×
    ``dim`` (product, competitor, ``named``: any competitor) × ``value`` (product key,
    vendor): labelled ``tickets`` naming it and of them ``negative``;
  - ``rollup_signal_series`` (:data:`SERIES_TABLE`) — derived from it per sources × day or
    week × dim × value: ``tickets``, ``negative_tickets`` and ``negative`` (distinct writers
    with a negative ticket: no sum of tickets, so a write recomputes the groups it touched);
  - ``rollup_signal_spellings`` — per sources × product key × spelling: labelled tickets
    (the name a product is shown under: its most common spelling);
  - ``rollup_competitor_days`` — per entity source × day × known × segment × plan × region ×
    ``vendor`` (NULL: any competitor): tagged ``tickets`` naming it and their ``mentions``.
* ``rollup_source_entities`` (part :data:`TAGS`, migration 7) — per model × batch
  (``tickets.source``): ``entities`` (entity rows of the batch's tickets), what the reset
  choices count (``data.reset.reset_targets``) instead of joining every entity to its ticket.
* ``rollup_state`` — per part (:data:`TICKETS`, :data:`USAGE`, :data:`TAGS`) the base-table
  row counts the part was last brought up to date with (the tags part also counts
  ``ticket_sentiment`` and ``gold_sentiment``, since migration 5). A part whose counts differ from
  the base tables' is stale (something wrote without maintaining it) and readers use the
  base tables instead (``analytics.explore``).

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
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from data.store import Store

__all__ = [
    "GOLD_SOURCE",
    "MENTIONS",
    "MENTION_TABLES",
    "PARTS",
    "SERIES_TABLE",
    "SOURCE_TABLES",
    "TABLES",
    "TAGS",
    "TICKETS",
    "TICKET_DIMS",
    "USAGE",
    "code_digest",
    "drop_statements",
    "ensure_rollups",
    "FEW_KEYS",
    "LOOKUP_MIN_TICKETS",
    "fresh_parts",
    "inserted_tickets",
    "look_up_keys",
    "maintained",
    "matcher_fingerprint",
    "mention_migration_statements",
    "mentions_fresh",
    "migration_statements",
    "rebuild_all",
    "signal_migration_statements",
    "signals_fresh",
    "stored_keys",
    "tagged_per_model",
    "source_migration_statements",
    "rebuild_rollups",
    "refresh_rollups",
]

TICKETS = "tickets"
USAGE = "usage"
#: ``rollup_signal_days.model_id`` of the demo's ground-truth sentiment (``gold_sentiment``).
GOLD_SOURCE = "gold"
TAGS = "tags"
#: The entity-mention roll-ups (migration 6): tag-derived, kept with :data:`TAGS` by every
#: writer that maintains it, fresh only once built with the current competitor matcher.
MENTIONS = "mentions"
PARTS: tuple[str, ...] = (TICKETS, USAGE, TAGS, MENTIONS)
#: Ticket columns ``rollup_ticket_months`` counts by (``dim``).
TICKET_DIMS: tuple[str, ...] = ("channel", "category", "priority", "resolved_by", "source")

#: The base tables each part is computed from (their row counts mark it fresh).
_DEPENDS: dict[str, tuple[str, ...]] = {
    TICKETS: ("tickets", "customers"),
    USAGE: ("usage", "customers"),
    TAGS: (
        "tickets",
        "customers",
        "tagged_tickets",
        "entities",
        "ticket_sentiment",
        "gold_sentiment",
    ),
    MENTIONS: (
        "tickets",
        "customers",
        "tagged_tickets",
        "entities",
        "ticket_sentiment",
        "gold_sentiment",
    ),
}
_COUNTED = (
    "tickets",
    "usage",
    "customers",
    "tagged_tickets",
    "entities",
    "ticket_sentiment",
    "gold_sentiment",
)
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
_V4_COUNTED = ("tickets", "usage", "customers", "tagged_tickets", "entities")
_V4_DEPENDS: dict[str, tuple[str, ...]] = {
    TICKETS: ("tickets", "customers"),
    USAGE: ("usage", "customers"),
    TAGS: ("tickets", "customers", "tagged_tickets", "entities"),
}

_CUSTOMER = (
    "c.customer_id IS NOT NULL AS known, c.segment AS segment, c.plan AS plan, c.region AS region"
)


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
    #: the column holding the model whose writes change a row (``by_model``)
    model_col: str = "model_id"
    #: ORDER BY of a fill (readers filter by these columns: zone maps skip the rest)
    order: str = ""
    #: its SQL reads its big tables as ``{src:NAME}``: in a keyed write, copies kept to the
    #: touched tickets, read once for every roll-up (:func:`_touched_sources`)
    sourced: bool = False

    @property
    def columns(self) -> str:
        return ", ".join(f'"{c}"' for c in (*self.groups, *self.measures))


_CUST_COLS = ("known", "segment", "plan", "region")

TABLES: tuple[_Table, ...] = (
    _Table(
        "rollup_ticket_days",
        TICKETS,
        ("day", *_CUST_COLS),
        ("tickets", "ai_tickets"),
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
        "rollup_ticket_months",
        TICKETS,
        ("month", *_CUST_COLS, "dim", "value"),
        ("tickets",),
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
        "rollup_usage_months",
        USAGE,
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
        "rollup_tagged_days",
        TAGS,
        ("model_id", "day", *_CUST_COLS),
        ("tagged",),
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
        " FROM {src:tagged_tickets} g JOIN tickets t ON t.ticket_key = g.ticket_key{keys}"
        " LEFT JOIN customers c ON c.customer_id = t.customer_id"
        " WHERE {model} GROUP BY ALL",
        by_model=True,
        key_col="g.ticket_key",
        model_where="g.model_id = ?",
        sourced=True,
    ),
    _Table(
        "rollup_entity_months",
        TAGS,
        ("model_id", "month", "label", "key", "text"),
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
        " FROM {src:entities} e JOIN tickets t ON t.ticket_key = e.ticket_key{keys}"
        " WHERE {model} GROUP BY e.ticket_key, e.model_id, t.created_at, e.label, e.text)"
        " GROUP BY ALL",
        by_model=True,
        key_col="e.ticket_key",
        model_where="e.model_id = ?",
        sourced=True,
    ),
    _Table(
        "rollup_signal_days",
        TAGS,
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
        " FROM (SELECT ticket_key, '" + GOLD_SOURCE + "' AS model_id, label"
        " FROM {src:gold_sentiment} WHERE {gold} UNION ALL SELECT ticket_key, model_id, label"
        " FROM {src:ticket_sentiment} WHERE {model}) s"
        " JOIN tickets t ON t.ticket_key = s.ticket_key{keys}"
        " LEFT JOIN customers c ON c.customer_id = t.customer_id GROUP BY ALL",
        by_model=True,
        model_where="model_id = ?",
        sourced=True,
    ),
)
# -- the entity-mention roll-ups (part MENTIONS, migration 6) -------------------------------

#: Every entity row of a source: ``e`` is the entity source (:data:`GOLD_SOURCE` for
#: ``gold_entities``, else the tagger's model id). Alias ``x`` so ``{keys}`` fits each part.
_ENTITY_ROWS = (
    "SELECT x.ticket_key, '"  # noqa: S608 - fixed names; values are parameters
    + GOLD_SOURCE
    + "' AS e, x.text, x.label FROM {src:gold_entities} x{keys}"
    " WHERE {gold} UNION ALL SELECT x.ticket_key, x.model_id, x.text, x.label"
    " FROM {src:entities} x{keys} WHERE {model}"
)
#: Every sentiment label of a source (``model_id``: :data:`GOLD_SOURCE` or the model's).
_SENTIMENT_ROWS = (
    "SELECT x.ticket_key, '"  # noqa: S608 - fixed names; values are parameters
    + GOLD_SOURCE
    + "' AS model_id, x.label FROM {src:gold_sentiment} x{keys}"
    " UNION ALL SELECT x.ticket_key, x.model_id, x.label FROM {src:ticket_sentiment} x{keys}"
)
#: The (sentiment, entity) source pairs the roll-ups hold: the ground truth's sentiment with
#: any entities, a model's sentiment with its own entities (what the pages read).
_PAIR = "(s.model_id = '" + GOLD_SOURCE + "' OR s.model_id = {e})"

MENTION_TABLES: tuple[_Table, ...] = (
    _Table(
        "rollup_signal_mentions",
        MENTIONS,
        ("model_id", "entities", "day", "unit", "customer_id", "dim", "value"),
        ("tickets", "negative"),
        """
        CREATE TABLE rollup_signal_mentions (
            model_id     VARCHAR NOT NULL,  -- the sentiment's source: 'gold' or a model id
            entities     VARCHAR NOT NULL,  -- the entities' source: 'gold' or a model id
            day          DATE,              -- of created_at; NULL: undated tickets
            unit         VARCHAR NOT NULL,  -- the customer; the ticket when it has none
            customer_id  VARCHAR,
            dim          VARCHAR NOT NULL,  -- product | competitor | named (any competitor)
            value        VARCHAR,           -- product key, vendor; NULL for named
            tickets      BIGINT NOT NULL,   -- labelled tickets naming it
            negative     BIGINT NOT NULL    -- of them labelled negative
        )
        """,
        "SELECT * FROM (WITH ent AS (" + _ENTITY_ROWS + "),"  # noqa: S608 - fixed names; values are parameters
        " hit AS (SELECT DISTINCT ent.ticket_key, ent.e,"
        " CASE WHEN n.vendor IS NULL THEN 'product' ELSE 'competitor' END AS dim,"
        " coalesce(n.vendor, n.product_key) AS value FROM ent JOIN entity_names n"
        " ON n.text = ent.text AND n.label = ent.label"
        " WHERE n.vendor IS NOT NULL OR n.product_key IS NOT NULL),"
        " h AS (SELECT * FROM hit UNION ALL SELECT DISTINCT ticket_key, e, 'named', NULL"
        " FROM hit WHERE dim = 'competitor'),"
        " s AS (" + _SENTIMENT_ROWS + ")"
        " SELECT s.model_id AS model_id, h.e AS entities, CAST(t.created_at AS DATE) AS day,"
        " coalesce(t.customer_id, t.ticket_key) AS unit, t.customer_id AS customer_id,"
        " h.dim AS dim, h.value AS value, count(*) AS tickets,"
        " count(*) FILTER (WHERE s.label = 'negative') AS negative"
        " FROM h JOIN tickets t ON t.ticket_key = h.ticket_key"
        " JOIN s ON s.ticket_key = h.ticket_key AND "
        + _PAIR.replace("{e}", "h.e")
        + " GROUP BY ALL)",
        by_model=True,
        key_col="x.ticket_key",
        model_where="x.model_id = ?",
        model_col="entities",
        order="model_id, entities, dim, day",
        sourced=True,
    ),
    _Table(
        "rollup_signal_spellings",
        MENTIONS,
        ("model_id", "entities", "key", "text"),
        ("tickets",),
        """
        CREATE TABLE rollup_signal_spellings (
            model_id  VARCHAR NOT NULL,  -- the sentiment's source
            entities  VARCHAR NOT NULL,  -- the entities' source
            key       VARCHAR NOT NULL,  -- entity_names.product_key
            text      VARCHAR NOT NULL,  -- one spelling (a PRODUCT naming no competitor)
            tickets   BIGINT NOT NULL    -- labelled tickets with this spelling
        )
        """,
        "SELECT * FROM (WITH ent AS (" + _ENTITY_ROWS + "),"  # noqa: S608 - fixed names; values are parameters
        " s AS (" + _SENTIMENT_ROWS + "),"
        " p AS (SELECT DISTINCT ent.ticket_key, ent.e, n.product_key AS key, ent.text FROM ent"
        " JOIN entity_names n ON n.text = ent.text AND n.label = ent.label"
        " WHERE n.product_key IS NOT NULL)"
        " SELECT s.model_id AS model_id, p.e AS entities, p.key AS key, p.text AS text,"
        " count(*) AS tickets FROM p"
        " JOIN s ON s.ticket_key = p.ticket_key AND "
        + _PAIR.replace("{e}", "p.e")
        + " GROUP BY ALL)",
        by_model=True,
        key_col="x.ticket_key",
        model_where="x.model_id = ?",
        model_col="entities",
        sourced=True,
    ),
    _Table(
        "rollup_competitor_days",
        MENTIONS,
        ("entities", "day", *_CUST_COLS, "vendor"),
        ("tickets", "mentions"),
        """
        CREATE TABLE rollup_competitor_days (
            entities  VARCHAR NOT NULL,  -- the entities' source: 'gold' or a model id
            day       DATE NOT NULL,     -- of created_at (undated tickets are left out)
            known     BOOLEAN NOT NULL,  -- the customer is in customers
            segment   VARCHAR,           -- the customer's (NULL: unknown customer)
            plan      VARCHAR,
            region    VARCHAR,
            vendor    VARCHAR,           -- the competitor named; NULL: any competitor
            tickets   BIGINT NOT NULL,   -- tagged tickets naming it (gold: every ticket)
            mentions  BIGINT NOT NULL    -- their entities naming it
        )
        """,
        "SELECT * FROM (WITH ent AS (" + _ENTITY_ROWS + "),"  # noqa: S608 - fixed names; values are parameters
        " hit AS (SELECT ent.ticket_key, ent.e, n.vendor, count(*) AS mentions FROM ent"
        " JOIN entity_names n ON n.text = ent.text AND n.label = ent.label"
        " WHERE n.vendor IS NOT NULL GROUP BY ALL),"
        " h AS (SELECT * FROM hit UNION ALL SELECT ticket_key, e, NULL, sum(mentions)"
        " FROM hit GROUP BY ticket_key, e),"
        " g AS (SELECT x.ticket_key, x.model_id FROM {src:tagged_tickets} x{keys})"
        " SELECT h.e AS entities, CAST(t.created_at AS DATE) AS day, " + _CUSTOMER + ","
        " h.vendor AS vendor, count(*) AS tickets, sum(h.mentions) AS mentions"
        " FROM h JOIN tickets t ON t.ticket_key = h.ticket_key"
        " LEFT JOIN customers c ON c.customer_id = t.customer_id"
        " LEFT JOIN g ON g.ticket_key = h.ticket_key AND g.model_id = h.e"
        " WHERE t.created_at IS NOT NULL"
        " AND (h.e = '" + GOLD_SOURCE + "' OR g.model_id IS NOT NULL) GROUP BY ALL)",
        by_model=True,
        key_col="x.ticket_key",
        model_where="x.model_id = ?",
        model_col="entities",
        order="entities, day",
        sourced=True,
    ),
)
#: The names the mention roll-ups group entity texts by (filled in Python: the competitor
#: matcher, ``data.reference.match_competitor``, is Python).
_NAMES_SQL = """
CREATE TABLE entity_names (
    text         VARCHAR NOT NULL,
    label        VARCHAR NOT NULL,  -- ORG | PRODUCT (the labels that may name a competitor)
    vendor       VARCHAR,           -- match_competitor(text, label); NULL: no competitor
    product_key  VARCHAR,           -- text.strip().lower() of a PRODUCT naming no competitor
    PRIMARY KEY (text, label)
)
"""
_NAME_STATE_SQL = "CREATE TABLE rollup_name_state (fingerprint VARCHAR NOT NULL)"

#: ``rollup_source_entities`` (part :data:`TAGS`, migration 7): entity rows per model and
#: batch, what the Settings page's reset choices count (``data.reset.reset_targets``).
SOURCE_TABLES: tuple[_Table, ...] = (
    _Table(
        "rollup_source_entities",
        TAGS,
        ("model_id", "source"),
        ("entities",),
        """
        CREATE TABLE rollup_source_entities (
            model_id  VARCHAR NOT NULL,
            source    VARCHAR NOT NULL,  -- the tickets' batch (tickets.source)
            entities  BIGINT NOT NULL    -- the model's entity rows of the batch's tickets
        )
        """,
        "SELECT e.model_id AS model_id, t.source AS source, count(*) AS entities"
        " FROM {src:entities} e JOIN tickets t ON t.ticket_key = e.ticket_key{keys}"
        " WHERE {model} GROUP BY ALL",
        by_model=True,
        key_col="e.ticket_key",
        model_where="e.model_id = ?",
        sourced=True,
    ),
)
TABLES = TABLES + MENTION_TABLES + SOURCE_TABLES

#: ``rollup_signal_series`` (part :data:`MENTIONS`) is derived from ``rollup_signal_mentions``
#: rather than summed from tickets: its ``negative`` counts distinct writers, which no sum of
#: per-ticket contributions gives. A write recomputes the groups it touched.
SERIES_TABLE = "rollup_signal_series"
_SERIES_CREATE = """
CREATE TABLE rollup_signal_series (
    model_id          VARCHAR NOT NULL,  -- the sentiment's source
    entities          VARCHAR NOT NULL,  -- the entities' source
    freq              VARCHAR NOT NULL,  -- day | week
    period            DATE NOT NULL,     -- the day, or the Monday of the week
    dim               VARCHAR NOT NULL,  -- product | competitor
    value             VARCHAR NOT NULL,  -- product key, vendor
    tickets           BIGINT NOT NULL,   -- dated labelled tickets naming it
    negative_tickets  BIGINT NOT NULL,   -- of them negative
    negative          BIGINT NOT NULL    -- distinct writers with a negative one
)
"""
_SERIES_COLUMNS = (
    "model_id",
    "entities",
    "freq",
    "period",
    "dim",
    "value",
    "tickets",
    "negative_tickets",
    "negative",
)
#: Rows of rollup_signal_series from rollup_signal_mentions rows ``r`` kept by ``{where}``
#: (day) and ``{week_where}`` (week).
_SERIES_SELECT = (
    "SELECT r.model_id, r.entities, 'day', r.day, r.dim, r.value, sum(r.tickets),"
    " sum(r.negative), count(*) FILTER (WHERE r.negative > 0)"
    " FROM rollup_signal_mentions r{where} AND r.day IS NOT NULL AND r.dim <> 'named'"
    " GROUP BY r.model_id, r.entities, r.day, r.dim, r.value"
    " UNION ALL SELECT r.model_id, r.entities, 'week', CAST(date_trunc('week', r.day) AS DATE),"
    " r.dim, r.value, sum(r.tickets), sum(r.negative),"
    " count(DISTINCT r.unit) FILTER (WHERE r.negative > 0)"
    " FROM rollup_signal_mentions r{week_where} AND r.day IS NOT NULL AND r.dim <> 'named'"
    " GROUP BY ALL"
)


def _fill_series(conn: Any, model_id: str | None = None) -> None:
    """``rollup_signal_series`` from ``rollup_signal_mentions``: all of it, or the rows of
    one entity source."""
    where = " WHERE r.entities = ?" if model_id is not None else " WHERE TRUE"
    params = [model_id, model_id] if model_id is not None else []
    one = " WHERE entities = ?" if model_id is not None else ""
    conn.execute(
        f"DELETE FROM {SERIES_TABLE}{one}",  # noqa: S608 - fixed names; values are parameters
        [model_id] if model_id is not None else [],
    )
    cols = ", ".join(_SERIES_COLUMNS)
    conn.execute(
        f"INSERT INTO {SERIES_TABLE} ({cols}) "
        + _SERIES_SELECT.replace("{where}", where).replace("{week_where}", where),
        params,
    )


def _refresh_series(conn: Any, touched: str) -> None:
    """Recompute the ``rollup_signal_series`` rows of the days (and their weeks) × values in
    ``touched`` (columns model_id, entities, day, dim, value) from the mention roll-up."""
    weeks = touched + "_weeks"
    conn.execute(
        f"CREATE TEMP TABLE {weeks} AS SELECT DISTINCT model_id, entities,"  # noqa: S608 - fixed names; values are parameters
        f" CAST(date_trunc('week', day) AS DATE) AS period, dim, value FROM {touched}"
    )
    try:
        same = (
            "r.model_id = d.model_id AND r.entities = d.entities AND r.dim = d.dim"
            " AND r.value = d.value"
        )
        conn.execute(
            f"DELETE FROM {SERIES_TABLE} r USING {touched} d WHERE r.freq = 'day'"  # noqa: S608 - fixed names; values are parameters
            f" AND r.period = d.day AND {same}"
        )
        conn.execute(
            f"DELETE FROM {SERIES_TABLE} r USING {weeks} d WHERE r.freq = 'week'"  # noqa: S608 - fixed names; values are parameters
            f" AND r.period = d.period AND {same}"
        )
        day = f" SEMI JOIN {touched} d ON r.day = d.day AND {same} WHERE TRUE"
        week = (
            f" SEMI JOIN {weeks} d ON CAST(date_trunc('week', r.day) AS DATE) = d.period"
            f" AND {same} WHERE TRUE"
        )
        conn.execute(
            f"INSERT INTO {SERIES_TABLE} ({', '.join(_SERIES_COLUMNS)}) "
            + _SERIES_SELECT.replace("{where}", day).replace("{week_where}", week)
        )
    finally:
        conn.execute(f"DROP TABLE IF EXISTS {weeks}")


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
_STATE_V5 = [
    "ALTER TABLE rollup_state ADD COLUMN sentiments BIGINT",
    "ALTER TABLE rollup_state ADD COLUMN gold_sentiments BIGINT",
]


#: The base tables the mention roll-ups read (``{src:NAME}`` in their SQL).
_SOURCES = ("gold_entities", "entities", "gold_sentiment", "ticket_sentiment", "tagged_tickets")


def _contrib_sql(
    table: _Table, keys_table: str | None, model: bool, sources: dict[str, str] | None = None
) -> str:
    """The contributions' SELECT of ``table``: of every ticket, of those in ``keys_table``,
    or (``sources``: the source tables already kept to the touched tickets, by name) of
    those in the given tables."""
    keys = f" SEMI JOIN {keys_table} k ON k.ticket_key = {table.key_col}" if keys_table else ""
    where = table.model_where if model else "TRUE"
    sql = table.contrib
    for name in _SOURCES:
        sql = sql.replace("{src:" + name + "}", (sources or {}).get(name, name))
    if sources:
        keys = ""  # the sources hold the touched tickets' rows only
    # a model's contributions leave the ground truth's (another source) out
    return (
        sql.replace("{keys}", keys)
        .replace("{model}", where)
        .replace("{gold}", "FALSE" if model else "TRUE")
    )


def _touched_sources(conn: Any, keys_table: str, tag: str) -> dict[str, str]:
    """Temporary copies of the mention roll-ups' source tables kept to the tickets in
    ``keys_table`` (each big table read once, not once per roll-up); their names."""
    names = {}
    for name in _SOURCES:
        names[name] = f"_rollup_src_{name}_{tag}"
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE {names[name]} AS SELECT x.* FROM {name} x"  # noqa: S608 - fixed names; values are parameters
            f" SEMI JOIN {keys_table} k ON k.ticket_key = x.ticket_key"
        )
    return names


def _counts_sql() -> str:
    return "SELECT " + ", ".join(f"(SELECT count(*) FROM {t})" for t in _COUNTED)  # noqa: S608 - fixed names; values are parameters


def _record_state(conn: Any, parts: Sequence[str]) -> None:
    """Mark ``parts`` as up to date with the base tables' current row counts (one statement
    to count, one to record)."""
    if not parts:
        return
    counts = dict(zip(_COUNTED, conn.execute(_counts_sql()).fetchone(), strict=True))
    rows = [
        [part, *(counts[t] if t in _DEPENDS[part] else None for t in _COUNTED)] for part in parts
    ]
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
        counted = _COUNTED
    except duckdb.CatalogException:
        return frozenset(), None
    except duckdb.BinderException:  # a store of migration 4 opened read-only
        rows = conn.execute(
            "WITH n AS (SELECT "  # noqa: S608 - fixed names; values are parameters
            + ", ".join(f"(SELECT count(*) FROM {t})" for t in _V4_COUNTED)  # noqa: S608 - fixed names; values are parameters
            + ") SELECT s.part, s.tickets, s.usage, s.customers, s.tagged, s.entities, n.*"
            " FROM rollup_state s, n"
        ).fetchall()
        counted = _V4_COUNTED
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
    """A digest of what ``data.reference.match_competitor`` decides by: its code and the
    reference files. ``entity_names`` (and so :data:`MENTIONS`) is fresh only when built with
    the current one. The module counts by its syntax tree, so reformatting it changes
    nothing."""
    from data import reference

    digest = hashlib.sha256()
    digest.update(code_digest(Path(reference.__file__).read_text(encoding="utf-8")).encode())
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
    from data.reference import COMPETITOR_LABELS, match_competitor

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


def _fill(conn: Any, table: _Table, model_id: str | None = None) -> None:
    sql = _contrib_sql(table, None, model_id is not None)
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
        _fill_series(conn)
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


def migration_statements() -> list[str]:
    """The SQL creating the first roll-up tables and filling them from the data already in
    the store: migration 4, exactly as released (its five tables and state)."""
    tables = [_BY_NAME[n] for n in _V4_TABLES]
    statements = [t.create for t in tables] + [_STATE_SQL]
    for table in tables:
        statements.append(
            f"INSERT INTO {table.name} ({table.columns}) " + _contrib_sql(table, None, False)
        )
    for part in _V4_DEPENDS:
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
        f"{_STATE_COLUMNS[t]} = (SELECT count(*) FROM {t})"  # noqa: S608 - fixed names
        for t in _V4_DEPENDS[TAGS]
    )
    fill = f"INSERT INTO {table.name} ({table.columns}) " + _contrib_sql(table, None, False)
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
    table = _BY_NAME["rollup_source_entities"]
    fill = f"INSERT INTO {table.name} ({table.columns}) " + _contrib_sql(table, None, False)
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
    return [_NAMES_SQL, _NAME_STATE_SQL, *(t.create for t in MENTION_TABLES), _SERIES_CREATE, stale]


def drop_statements() -> list[str]:
    """DROP statements of every roll-up table (for a later migration that redefines them)."""
    return [f"DROP TABLE IF EXISTS {t.name}" for t in TABLES] + [
        "DROP TABLE IF EXISTS rollup_state",
        "DROP TABLE IF EXISTS entity_names",
        f"DROP TABLE IF EXISTS {SERIES_TABLE}",
        "DROP TABLE IF EXISTS rollup_name_state",
    ]


# -- incremental maintenance --------------------------------------------------------------


def _tables(parts: Sequence[str], *, by_keys: bool) -> list[_Table]:
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown roll-up parts {sorted(unknown)}; known: {PARTS}")
    if by_keys and USAGE in parts:
        raise ValueError("usage roll-ups do not depend on tickets: recompute them (keys_sql=None)")
    return [t for t in TABLES if t.part in parts]


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


def _contrib_select(
    table: _Table,
    keys: str,
    model_id: str | None,
    sign: int,
    sources: dict[str, str] | None = None,
) -> tuple[str, list[Any]]:
    """The signed contributions of the tickets in ``keys`` to ``table`` (columns: groups
    then measures) and its parameters."""
    model = model_id is not None and table.by_model
    sql = _contrib_sql(table, keys, model, sources if table.sourced else None)
    groups = ", ".join(f'"{c}"' for c in table.groups)
    measures = ", ".join(f'{sign} * "{m}" AS "{m}"' for m in table.measures)
    return f"SELECT {groups}, {measures} FROM ({sql})", [model_id] if model else []  # noqa: S608 - fixed names; values are parameters


def _merge(conn: Any, table: _Table, source: str, params: Sequence[Any] = ()) -> None:
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
    tables = _tables(parts, by_keys=keys_sql is not None)
    tag = uuid.uuid4().hex[:12]
    keys = f"_rollup_keys_{tag}"
    deltas = {t.name: f"_rollup_delta_{t.name}_{tag}" for t in tables}
    sources = None
    if keys_sql is not None:
        conn.execute(
            f"CREATE TEMP TABLE {keys} AS SELECT DISTINCT ticket_key FROM ({keys_sql})",  # noqa: S608 - fixed names; values are parameters
            list(params),
        )
        if any(t.sourced for t in tables):
            sources = _touched_sources(conn, keys, tag)
        for table in tables:  # the touched tickets' contributions taken out ...
            before, before_params = _contrib_select(table, keys, model_id, -1, sources)
            conn.execute(f"CREATE TEMP TABLE {deltas[table.name]} AS {before}", before_params)
    yield
    if keys_sql is not None and sources is not None:  # as the block left them
        sources = _touched_sources(conn, keys, tag)
    if MENTIONS in parts and not (keys_sql is None and model_id is None):
        _fill_names(conn, keys if keys_sql is not None else None, sources)
    if keys_sql is not None:
        touched = f"_rollup_touched_{tag}"
        for table in tables:  # ... and put back as they are now, in one merge per table
            delta = deltas[table.name]
            after, after_params = _contrib_select(table, keys, model_id, 1, sources)
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
            _refresh_series(conn, touched)
            conn.execute(f"DROP TABLE {touched}")
        for name in (sources or {}).values():
            conn.execute(f"DROP TABLE {name}")
        conn.execute(f"DROP TABLE {keys}")
    else:
        if MENTIONS in parts and model_id is None:
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
            _fill_series(conn, model_id)
        if model_id is None:  # recomputed in full: fresh whatever they were before
            was_fresh = frozenset(parts)
    _record_state(conn, [p for p in parts if p in was_fresh])


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
            for name in _SOURCES
        )
        tagged = (
            bool(new)
            and conn.execute("SELECT " + " OR ".join(exists), new * len(_SOURCES)).fetchone()[0]
        )
    else:
        conn.execute(
            f"CREATE TEMP TABLE {keys} AS SELECT DISTINCT n.ticket_key FROM ({keys_sql}) n"  # noqa: S608 - fixed names; values are parameters
            " ANTI JOIN tickets t ON t.ticket_key = n.ticket_key",
            list(params),
        )
        exists = (
            f"EXISTS (SELECT 1 FROM {name} x SEMI JOIN {keys} k ON k.ticket_key = x.ticket_key)"  # noqa: S608 - fixed names
            for name in _SOURCES
        )
        tagged = conn.execute("SELECT " + " OR ".join(exists)).fetchone()[0]
    if tagged:
        with maintained(conn, f"SELECT ticket_key FROM {keys}", parts=(TICKETS, TAGS)):  # noqa: S608 - fixed names
            yield
    else:
        yield
        for table in _tables((TICKETS,), by_keys=True):
            _merge(conn, table, *_contrib_select(table, keys, None, 1))
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


def refresh_rollups(conn: Any, *, parts: Sequence[str] = PARTS) -> None:
    """Recompute the roll-ups of ``parts`` from the base tables after a write that did not
    maintain them (inside its transaction), and mark them fresh: :func:`rebuild_all`."""
    rebuild_all(conn, parts)
