"""The roll-up tables' catalogue (``data.rollups``): the parts, the tables of each, and
the SQL of every table's per-ticket contributions.

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
  ``data.competitor_names.match_competitor``, else for a PRODUCT its ``product_key``,
  ``text.strip().lower()``; filled in Python, so migration 6 leaves the part stale until
  ``python -m data rollups``; :func:`data.rollups.matcher_fingerprint` marks it stale when the matcher
  changes):

  - ``rollup_signal_mentions`` — per sources × day × unit (as ``rollup_signal_days``) ×
    ``dim`` (product, competitor, ``named``: any competitor) × ``value`` (product key,
    vendor): labelled ``tickets`` naming it and of them ``negative``;
  - ``rollup_signal_series`` (:data:`data.rollup_series.SERIES_TABLE`) — derived from it per sources × day or
    week × dim × value: ``tickets``, ``negative_tickets`` and ``negative`` (distinct writers
    with a negative ticket: no sum of tickets, so a write recomputes the groups it touched);
  - ``rollup_signal_spellings`` — per sources × product key × spelling: labelled tickets
    (the name a product is shown under: its most common spelling);
  - ``rollup_competitor_days`` — per entity source × day × known × segment × plan × region ×
    ``vendor`` (NULL: any competitor): tagged ``tickets`` naming it and their ``mentions``.
* ``rollup_source_entities`` (part :data:`TAGS`, migration 7) — per model × batch
  (``tickets.source``): ``entities`` (entity rows of the batch's tickets), what the reset
  choices count (``data.reset_targets.reset_targets``) instead of joining every entity to its ticket.
* ``rollup_state`` — per part (:data:`TICKETS`, :data:`USAGE`, :data:`TAGS`) the base-table
  row counts the part was last brought up to date with (the tags part also counts
  ``ticket_sentiment`` and ``gold_sentiment``, since migration 5). A part whose counts differ from
  the base tables' is stale (something wrote without maintaining it) and readers use the
  base tables instead (``analytics.explore``).

Their freshness and rebuilds: ``data.rollups``; their upkeep in the writers' transactions:
``data.rollup_upkeep``; the derived series: ``data.rollup_series``; the migrations creating
the tables: ``data.rollup_schema``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BY_NAME",
    "COUNTED",
    "DEPENDS",
    "GOLD_SOURCE",
    "MENTIONS",
    "MENTION_TABLES",
    "NAMES_SQL",
    "NAME_STATE_SQL",
    "PARTS",
    "SOURCE_TABLES",
    "SRC_TABLES",
    "TABLES",
    "TAGS",
    "TICKETS",
    "TICKET_DIMS",
    "USAGE",
    "RollupTable",
    "contrib_select",
    "contrib_sql",
    "tables_of",
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
DEPENDS: dict[str, tuple[str, ...]] = {
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
#: The base tables whose row counts ``rollup_state`` records.
COUNTED = (
    "tickets",
    "usage",
    "customers",
    "tagged_tickets",
    "entities",
    "ticket_sentiment",
    "gold_sentiment",
)

_CUSTOMER = (
    "c.customer_id IS NOT NULL AS known, c.segment AS segment, c.plan AS plan, c.region AS region"
)


@dataclass(frozen=True)
class RollupTable:
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
    #: touched tickets, read once for every roll-up (``data.rollup_upkeep._touched_sources``)
    sourced: bool = False

    @property
    def columns(self) -> str:
        """The table's columns, quoted: groups then measures."""
        return ", ".join(f'"{c}"' for c in (*self.groups, *self.measures))


_CUST_COLS = ("known", "segment", "plan", "region")

TABLES: tuple[RollupTable, ...] = (
    RollupTable(
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
    RollupTable(
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
    RollupTable(
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
    RollupTable(
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
    RollupTable(
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
    RollupTable(
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

#: The entity rows (``ent``) joined to the names they are grouped by (``n``).
_NAMED = "FROM ent JOIN entity_names n ON n.text = ent.text AND n.label = ent.label"


def _mention_table(
    name: str,
    groups: tuple[str, ...],
    measures: tuple[str, ...],
    create: str,
    ctes: tuple[str, ...],
    select: str,
    order: str = "",
) -> RollupTable:
    """A mention roll-up: kept by entity source, from the ``{src:…}`` copies; its
    contributions are ``select`` (grouped by all) over ``ent`` (every entity row of a source:
    :data:`_ENTITY_ROWS`) and then ``ctes`` (``name AS (…)`` each)."""
    with_ = ", ".join(("ent AS (" + _ENTITY_ROWS + ")", *ctes))
    return RollupTable(
        name,
        MENTIONS,
        groups,
        measures,
        create,
        "SELECT * FROM (WITH " + with_ + " " + select + " GROUP BY ALL)",  # noqa: S608 - fixed names; values are parameters
        by_model=True,
        key_col="x.ticket_key",
        model_where="x.model_id = ?",
        model_col="entities",
        order=order,
        sourced=True,
    )


MENTION_TABLES: tuple[RollupTable, ...] = (
    _mention_table(
        "rollup_signal_mentions",
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
        (
            "hit AS (SELECT DISTINCT ent.ticket_key, ent.e,"
            " CASE WHEN n.vendor IS NULL THEN 'product' ELSE 'competitor' END AS dim,"
            " coalesce(n.vendor, n.product_key) AS value "
            + _NAMED
            + " WHERE n.vendor IS NOT NULL OR n.product_key IS NOT NULL)",
            "h AS (SELECT * FROM hit UNION ALL SELECT DISTINCT ticket_key, e, 'named', NULL"
            " FROM hit WHERE dim = 'competitor')",
            "s AS (" + _SENTIMENT_ROWS + ")",
        ),
        "SELECT s.model_id AS model_id, h.e AS entities, CAST(t.created_at AS DATE) AS day,"  # noqa: S608 - fixed names; values are parameters
        " coalesce(t.customer_id, t.ticket_key) AS unit, t.customer_id AS customer_id,"
        " h.dim AS dim, h.value AS value, count(*) AS tickets,"
        " count(*) FILTER (WHERE s.label = 'negative') AS negative"
        " FROM h JOIN tickets t ON t.ticket_key = h.ticket_key"
        " JOIN s ON s.ticket_key = h.ticket_key AND " + _PAIR.replace("{e}", "h.e"),
        order="model_id, entities, dim, day",
    ),
    _mention_table(
        "rollup_signal_spellings",
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
        (
            "s AS (" + _SENTIMENT_ROWS + ")",
            "p AS (SELECT DISTINCT ent.ticket_key, ent.e, n.product_key AS key, ent.text "
            + _NAMED
            + " WHERE n.product_key IS NOT NULL)",
        ),
        "SELECT s.model_id AS model_id, p.e AS entities, p.key AS key, p.text AS text,"  # noqa: S608 - fixed names; values are parameters
        " count(*) AS tickets FROM p"
        " JOIN s ON s.ticket_key = p.ticket_key AND " + _PAIR.replace("{e}", "p.e"),
    ),
    _mention_table(
        "rollup_competitor_days",
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
        (
            "hit AS (SELECT ent.ticket_key, ent.e, n.vendor, count(*) AS mentions "
            + _NAMED
            + " WHERE n.vendor IS NOT NULL GROUP BY ALL)",
            "h AS (SELECT * FROM hit UNION ALL SELECT ticket_key, e, NULL, sum(mentions)"
            " FROM hit GROUP BY ticket_key, e)",
            "g AS (SELECT x.ticket_key, x.model_id FROM {src:tagged_tickets} x{keys})",
        ),
        "SELECT h.e AS entities, CAST(t.created_at AS DATE) AS day, " + _CUSTOMER + ","  # noqa: S608 - fixed names; values are parameters
        " h.vendor AS vendor, count(*) AS tickets, sum(h.mentions) AS mentions"
        " FROM h JOIN tickets t ON t.ticket_key = h.ticket_key"
        " LEFT JOIN customers c ON c.customer_id = t.customer_id"
        " LEFT JOIN g ON g.ticket_key = h.ticket_key AND g.model_id = h.e"
        " WHERE t.created_at IS NOT NULL"
        " AND (h.e = '" + GOLD_SOURCE + "' OR g.model_id IS NOT NULL)",
        order="entities, day",
    ),
)
#: The names the mention roll-ups group entity texts by (filled in Python: the competitor
#: matcher, ``data.competitor_names.match_competitor``, is Python).
NAMES_SQL = """
CREATE TABLE entity_names (
    text         VARCHAR NOT NULL,
    label        VARCHAR NOT NULL,  -- ORG | PRODUCT (the labels that may name a competitor)
    vendor       VARCHAR,           -- match_competitor(text, label); NULL: no competitor
    product_key  VARCHAR,           -- text.strip().lower() of a PRODUCT naming no competitor
    PRIMARY KEY (text, label)
)
"""
NAME_STATE_SQL = "CREATE TABLE rollup_name_state (fingerprint VARCHAR NOT NULL)"

#: ``rollup_source_entities`` (part :data:`TAGS`, migration 7): entity rows per model and
#: batch, what the Settings page's reset choices count (``data.reset_targets.reset_targets``).
SOURCE_TABLES: tuple[RollupTable, ...] = (
    RollupTable(
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

#: Every roll-up table by its name.
BY_NAME = {t.name: t for t in TABLES}

#: The base tables the mention roll-ups read (``{src:NAME}`` in their SQL).
SRC_TABLES = ("gold_entities", "entities", "gold_sentiment", "ticket_sentiment", "tagged_tickets")


def contrib_sql(
    table: RollupTable, keys_table: str | None, model: bool, sources: dict[str, str] | None = None
) -> str:
    """The contributions' SELECT of ``table``: of every ticket, of those in ``keys_table``,
    or (``sources``: the source tables already kept to the touched tickets, by name) of
    those in the given tables."""
    keys = f" SEMI JOIN {keys_table} k ON k.ticket_key = {table.key_col}" if keys_table else ""
    where = table.model_where if model else "TRUE"
    sql = table.contrib
    for name in SRC_TABLES:
        sql = sql.replace("{src:" + name + "}", (sources or {}).get(name, name))
    if sources:
        keys = ""  # the sources hold the touched tickets' rows only
    # a model's contributions leave the ground truth's (another source) out
    return (
        sql.replace("{keys}", keys)
        .replace("{model}", where)
        .replace("{gold}", "FALSE" if model else "TRUE")
    )


def tables_of(parts: Sequence[str], *, by_keys: bool) -> list[RollupTable]:
    """The tables of ``parts``, in :data:`TABLES` order.

    Raises:
        ValueError: an unknown part, or :data:`USAGE` kept by ticket keys (``by_keys``).
    """
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown roll-up parts {sorted(unknown)}; known: {PARTS}")
    if by_keys and USAGE in parts:
        raise ValueError("usage roll-ups do not depend on tickets: recompute them (keys_sql=None)")
    return [t for t in TABLES if t.part in parts]


def contrib_select(
    table: RollupTable,
    keys: str,
    model_id: str | None,
    sign: int,
    sources: dict[str, str] | None = None,
) -> tuple[str, list[Any]]:
    """The signed contributions of the tickets in ``keys`` to ``table`` (columns: groups
    then measures) and its parameters."""
    model = model_id is not None and table.by_model
    sql = contrib_sql(table, keys, model, sources if table.sourced else None)
    groups = ", ".join(f'"{c}"' for c in table.groups)
    measures = ", ".join(f'{sign} * "{m}" AS "{m}"' for m in table.measures)
    return f"SELECT {groups}, {measures} FROM ({sql})", [model_id] if model else []  # noqa: S608 - fixed names; values are parameters
