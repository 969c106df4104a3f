"""The Entities page's counts: top entities, their trends, competitor mentions (from the
roll-ups when they are fresh, else the base tables). The ticket list is in
:mod:`analytics.explore.tickets`, the entities of given tickets in
:mod:`analytics.explore.entity_lookup`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from analytics.explore.filters import (
    Filters,
    entity_months_sql,
    rollup_where,
    rollups_fresh,
    split_months,
    ticket_where,
)
from data import rollup_tables
from data.store import Store


def top_entities(
    store: Store,
    filters: Filters,
    model_id: str | None,
    *,
    labels: tuple[str, ...] = (),
    limit: int = 10,
) -> pd.DataFrame:
    """The most mentioned entities per label: ``label``, ``entity``, ``mentions``, ``tickets``.

    Entities are grouped case-insensitively; ``entity`` is the most frequent spelling.
    At most ``limit`` rows per label.
    """
    labels = tuple(labels)
    split = split_months(filters)
    if (
        split is not None
        and not filters.has_customer_filter
        and rollups_fresh(store, rollup_tables.TAGS)
    ):
        sql, params = entity_months_sql(model_id, labels, split, dated=False)
        return store.query(
            f"WITH s AS (SELECT label, key, text, sum(mentions) AS n, sum(tickets) AS k"  # noqa: S608 - fixed SQL fragments; values are parameters
            f" FROM ({sql}) GROUP BY ALL)"
            " SELECT label, entity, mentions, tickets FROM ("
            " SELECT label, first(text ORDER BY n DESC, text) AS entity,"
            " sum(n)::BIGINT AS mentions, sum(k)::BIGINT AS tickets,"
            " row_number() OVER (PARTITION BY label ORDER BY sum(n) DESC, key) AS rank"
            " FROM s GROUP BY label, key)"
            " WHERE rank <= ? ORDER BY label, mentions DESC, entity",
            [*params, int(limit)],
        )
    w = ticket_where(filters)
    label_sql = " AND list_contains(?::VARCHAR[], e.label)" if labels else ""
    # A semi-join on the selected tickets (cheaper than joining every entity row).
    return store.query(
        "WITH x AS (SELECT e.label, lower(e.text) AS key, e.text, e.ticket_key"  # noqa: S608 - fixed SQL fragments; values are parameters
        f" FROM entities e WHERE e.model_id = ?{label_sql}"
        " AND e.ticket_key IN (SELECT t.ticket_key FROM tickets t"
        f"  LEFT JOIN customers c ON c.customer_id = t.customer_id WHERE {w.sql})),"
        # mentions per spelling, tickets per entity; an entity shows under its most
        # frequent spelling (ties: the smallest)
        " s AS (SELECT label, key, text, count(*) AS n FROM x GROUP BY ALL),"
        " k AS (SELECT label, key, count(DISTINCT ticket_key) AS tickets FROM x"
        "  GROUP BY label, key)"
        " SELECT label, entity, mentions, tickets FROM ("
        " SELECT s.label, first(s.text ORDER BY s.n DESC, s.text) AS entity,"
        " sum(s.n)::BIGINT AS mentions, any_value(k.tickets) AS tickets,"
        " row_number() OVER (PARTITION BY s.label ORDER BY sum(s.n) DESC, s.key) AS rank"
        " FROM s JOIN k ON k.label = s.label AND k.key = s.key GROUP BY s.label, s.key)"
        " WHERE rank <= ? ORDER BY label, mentions DESC, entity",
        [model_id, *([list(labels)] if labels else []), *w.params, int(limit)],
    )


def entity_trends(
    store: Store,
    filters: Filters,
    model_id: str | None,
    *,
    labels: tuple[str, ...] = (),
    top: int = 5,
) -> pd.DataFrame:
    """Monthly mentions of the ``top`` entities: ``month``, ``label``, ``entity``, ``mentions``
    (0 in months with mentions of other entities but none of this one)."""
    labels = tuple(labels)
    split = split_months(filters)
    if (
        split is not None
        and not filters.has_customer_filter
        and rollups_fresh(store, rollup_tables.TAGS)
    ):
        sql, params = entity_months_sql(model_id, labels, split, dated=True)
        s_sql = f"SELECT month, label, key, text, sum(mentions) AS n FROM ({sql}) GROUP BY ALL"  # noqa: S608 - fixed SQL fragments; values are parameters
    else:
        w = ticket_where(filters)
        if labels:
            w.add("list_contains(?::VARCHAR[], e.label)", list(labels))
        s_sql = (
            "SELECT CAST(date_trunc('month', t.created_at) AS DATE) AS month, e.label,"  # noqa: S608 - fixed SQL fragments; values are parameters
            " lower(e.text) AS key, e.text, count(*) AS n"
            " FROM entities e JOIN tickets t ON t.ticket_key = e.ticket_key"
            " LEFT JOIN customers c ON c.customer_id = t.customer_id"
            f" WHERE e.model_id = ? AND t.created_at IS NOT NULL AND {w.sql} GROUP BY ALL"
        )
        params = [model_id, *w.params]
    # s: mentions per month and spelling; the top entities over the period, each under its
    # most frequent spelling (ties: the smallest)
    return store.query(
        f"WITH s AS ({s_sql}),"  # noqa: S608 - fixed SQL fragments; values are parameters
        " top AS (SELECT label, key, first(text ORDER BY n DESC, text) AS entity FROM"
        "  (SELECT label, key, text, sum(n) AS n FROM s GROUP BY ALL) GROUP BY label, key"
        "  ORDER BY sum(n) DESC, key, label LIMIT ?),"
        " n AS (SELECT month, label, key, sum(n) AS mentions FROM s"
        "  JOIN top USING (label, key) GROUP BY ALL)"
        # every month with mentions, for every top entity (0 where it had none)
        " SELECT months.month, top.label, top.entity,"
        " coalesce(n.mentions, 0)::BIGINT AS mentions"
        " FROM (SELECT DISTINCT month FROM s) months CROSS JOIN top"
        " LEFT JOIN n ON n.month = months.month AND n.label = top.label AND n.key = top.key"
        " ORDER BY 1, 3, 2",
        [*params, int(top)],
    )


def competitor_mentions(
    store: Store,
    filters: Filters,
    model_id: str | None,
    aliases: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """Competitor mentions per month and vendor, from tagged entities.

    An entity names a competitor by ``data.competitor_names.match_competitor`` (through
    ``analytics.signals.competitor_entities``, the one rule of every mention figure):
    ORG/PRODUCT entities, normalised text, reference aliases and model families.
    ``aliases`` (a mapping or (alias, vendor) pairs) replaces the reference aliases and
    families by exactly these names.

    Columns: ``month``, ``vendor``, ``mentions``, ``tickets`` (tickets mentioning the
    vendor), ``tagged`` (tickets tagged that month), ``rate`` (tickets / tagged); every
    tagged month appears for every vendor mentioned at all (0 where it was not).
    """
    from analytics.signals import MATCH_TABLE_SQL, match_params

    custom = None if aliases is None else {str(k): str(v) for k, v in dict(aliases).items()}
    w = ticket_where(filters)
    if custom is None and rollups_fresh(store, rollup_tables.TAGS, rollup_tables.MENTIONS):
        return _competitor_mentions_days(store, filters, model_id)
    if rollups_fresh(store, rollup_tables.TAGS):
        return _competitor_mentions_rollup(store, filters, model_id, custom)
    return store.query(
        f"WITH a AS ({MATCH_TABLE_SQL}),"  # noqa: S608 - fixed SQL fragments; values are parameters
        " tt AS (SELECT t.ticket_key, CAST(date_trunc('month', t.created_at) AS DATE) AS month"
        "  FROM tagged_tickets g JOIN tickets t ON t.ticket_key = g.ticket_key"
        "  LEFT JOIN customers c ON c.customer_id = t.customer_id"
        f"  WHERE g.model_id = ? AND t.created_at IS NOT NULL AND {w.sql}),"
        " tagged AS (SELECT month, count(*) AS tagged FROM tt GROUP BY 1),"
        " hits AS (SELECT tt.month, a.vendor, count(*) AS mentions,"
        "  count(DISTINCT e.ticket_key) AS tickets"
        "  FROM entities e JOIN tt ON tt.ticket_key = e.ticket_key"
        "  JOIN a ON a.text = e.text AND a.label = e.label"
        "  WHERE e.model_id = ? GROUP BY 1, 2)"
        # every tagged month for every vendor mentioned at all (0 where it was not)
        " SELECT tagged.month, v.vendor, coalesce(hits.mentions, 0) AS mentions,"
        " coalesce(hits.tickets, 0) AS tickets, tagged.tagged,"
        " coalesce(hits.tickets, 0) / tagged.tagged AS rate"
        " FROM tagged CROSS JOIN (SELECT DISTINCT vendor FROM hits) v"
        " LEFT JOIN hits ON hits.month = tagged.month AND hits.vendor = v.vendor"
        " ORDER BY 1, 2",
        [*match_params(store, model_id, custom), model_id, *w.params, model_id],
    )


def _rollup_match_params(
    store: Store, model_id: str | None, aliases: dict[str, str] | None
) -> list[list[str]]:
    """``analytics.signals.match_params`` from the entity roll-up: the same (text, label)
    pairs of the model's entities (of tickets in the store: the only ones a mention can
    count), matched by the same rule."""
    from data.competitor_names import COMPETITOR_LABELS, match_competitor

    rows = store.fetchall(
        "SELECT DISTINCT text, label FROM rollup_entity_months WHERE model_id = ?"
        " AND list_contains(?::VARCHAR[], label) ORDER BY 1, 2",
        [model_id, list(COMPETITOR_LABELS)],
    )
    texts, labels, vendors = [], [], []
    for text, label in rows:
        vendor = match_competitor(text, label, aliases=aliases)
        if vendor is not None:
            texts.append(text)
            labels.append(label)
            vendors.append(vendor)
    return [texts, labels, vendors]


def _competitor_mentions_days(store: Store, f: Filters, model_id: str | None) -> pd.DataFrame:
    """:func:`competitor_mentions` (reference aliases) from the roll-ups alone: tagged
    tickets per day from ``rollup_tagged_days``, mentions per day and vendor from
    ``rollup_competitor_days`` (``data.rollups``), no entity read."""
    rw = rollup_where(f)
    return store.query(
        " WITH tagged AS (SELECT CAST(date_trunc('month', r.day) AS DATE) AS month,"  # noqa: S608 - fixed SQL fragments; values are parameters
        "  sum(r.tagged)::BIGINT AS tagged FROM rollup_tagged_days r"
        f"  WHERE r.model_id = ? AND r.day IS NOT NULL AND {rw.sql} GROUP BY 1),"
        " hits AS (SELECT CAST(date_trunc('month', r.day) AS DATE) AS month, r.vendor,"
        "  sum(r.mentions)::BIGINT AS mentions, sum(r.tickets)::BIGINT AS tickets"
        "  FROM rollup_competitor_days r WHERE r.entities = ? AND r.vendor IS NOT NULL"
        f"  AND {rw.sql} GROUP BY 1, 2)"
        " SELECT tagged.month, v.vendor, coalesce(hits.mentions, 0) AS mentions,"
        " coalesce(hits.tickets, 0) AS tickets, tagged.tagged,"
        " coalesce(hits.tickets, 0) / tagged.tagged AS rate"
        " FROM tagged CROSS JOIN (SELECT DISTINCT vendor FROM hits) v"
        " LEFT JOIN hits ON hits.month = tagged.month AND hits.vendor = v.vendor"
        " ORDER BY 1, 2",
        [model_id, *rw.params, model_id, *rw.params],
    )


def _competitor_mentions_rollup(
    store: Store, f: Filters, model_id: str | None, aliases: dict[str, str] | None
) -> pd.DataFrame:
    """:func:`competitor_mentions` with the tagged tickets per month from the roll-up and
    only the entities that name a competitor read from ``entities``."""
    from analytics.signals import MATCH_TABLE_SQL

    rw = rollup_where(f)
    w = ticket_where(f)
    return store.query(
        f"WITH a AS ({MATCH_TABLE_SQL}),"  # noqa: S608 - fixed SQL fragments; values are parameters
        " tagged AS (SELECT CAST(date_trunc('month', r.day) AS DATE) AS month,"
        "  sum(r.tagged)::BIGINT AS tagged FROM rollup_tagged_days r"
        f"  WHERE r.model_id = ? AND r.day IS NOT NULL AND {rw.sql} GROUP BY 1),"
        " hits AS (SELECT CAST(date_trunc('month', t.created_at) AS DATE) AS month, a.vendor,"
        "  count(*) AS mentions, count(DISTINCT e.ticket_key) AS tickets"
        "  FROM entities e JOIN a ON a.text = e.text AND a.label = e.label"
        "  JOIN tagged_tickets g ON g.ticket_key = e.ticket_key AND g.model_id = ?"
        "  JOIN tickets t ON t.ticket_key = e.ticket_key"
        "  LEFT JOIN customers c ON c.customer_id = t.customer_id"
        f"  WHERE e.model_id = ? AND t.created_at IS NOT NULL AND {w.sql} GROUP BY 1, 2)"
        " SELECT tagged.month, v.vendor, coalesce(hits.mentions, 0) AS mentions,"
        " coalesce(hits.tickets, 0) AS tickets, tagged.tagged,"
        " coalesce(hits.tickets, 0) / tagged.tagged AS rate"
        " FROM tagged CROSS JOIN (SELECT DISTINCT vendor FROM hits) v"
        " LEFT JOIN hits ON hits.month = tagged.month AND hits.vendor = v.vendor"
        " ORDER BY 1, 2",
        [
            *_rollup_match_params(store, model_id, aliases),
            model_id,
            *rw.params,
            model_id,
            model_id,
            *w.params,
        ],
    )
