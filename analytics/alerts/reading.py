"""Reading :class:`~analytics.alerts.counts.SignalCounts` from the store: from the signal
roll-ups of ``data.rollups`` when they are fresh, else from the base tables (the same rows);
the per-ticket frame (:func:`ticket_signals`); the name table of the entity dimensions; and
which tables may answer.

Example:
    >>> signal_counts(Store.open("demo.duckdb")).units.head()        # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.alerts.counts import (
    COUNT_COLUMNS,
    DAY_COLUMN,
    MENTION_COLUMNS,
    SERIES_COLUMNS,
    Names,
    SignalCounts,
    empty_counts,
)
from analytics.alerts.scopes import GOLD, NAMED
from analytics.alerts.sql import (
    Sql,
    created_between,
    cte,
    day_between,
    entity_rows,
    name_table,
    product_names,
    sentiment_rows,
    series_ctes,
    with_ctes,
)

__all__ = [
    "fresh_sources",
    "mentions_source",
    "name_map",
    "rollup_names",
    "rollup_source",
    "signal_counts",
    "ticket_signals",
]


# -- the tickets with their signals ---------------------------------------------------------


def ticket_signals(
    store: Any,
    *,
    sentiment: str = GOLD,
    entities: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pd.DataFrame:
    """Every ticket with a sentiment label, with what the alerts count.

    Args:
        store: the store.
        sentiment: ``"gold"`` or the model id whose ``ticket_sentiment`` labels count.
        entities: the model id of the entities (``"gold"``: gold spans); default the
            sentiment's source.
        start, end: first and last day (inclusive) of ``created_at``.

    Returns:
        Columns ``ticket_key``, ``created_at``, ``day`` (date), ``customer_id``, ``segment``,
        ``region``, ``plan`` (None for tickets of unknown customers), ``label``,
        ``negative`` (bool), ``products`` and ``competitors`` (tuples of names, sorted).
    """
    from analytics.signals import MATCH_TABLE_SQL, match_params

    sent = sentiment_rows(sentiment)
    entities = entities or sentiment
    base_q = (
        with_ctes(cte("s", sent))  # noqa: S608 - fixed fragments; values are parameters
        + " SELECT t.ticket_key, t.created_at, CAST(t.created_at AS DATE) AS day,"
        " t.customer_id, c.segment, c.region, c.plan, s.label, s.label = 'negative' AS negative"
        " FROM tickets t JOIN s ON s.ticket_key = t.ticket_key"
        " LEFT JOIN customers c ON c.customer_id = t.customer_id"
        " WHERE t.created_at IS NOT NULL"
        + created_between(start, end)
        + " ORDER BY t.created_at, t.ticket_key"
    )
    base = store.query(base_q.text, base_q.args)
    columns = [
        "ticket_key",
        "created_at",
        "day",
        "customer_id",
        "segment",
        "region",
        "plan",
        "label",
        "negative",
        "products",
        "competitors",
    ]
    if base.empty:
        return pd.DataFrame(columns=columns)
    hits_q = (
        with_ctes(  # noqa: S608 - fixed fragments; values are parameters
            cte("a", Sql(MATCH_TABLE_SQL, tuple(match_params(store, entities)))),
            cte("ent", entity_rows(entities)),
            cte("s", sent),
        )
        + " SELECT DISTINCT ent.ticket_key, ent.label, ent.text, a.vendor FROM ent"
        " JOIN s ON s.ticket_key = ent.ticket_key"
        " LEFT JOIN a ON a.text = ent.text AND a.label = ent.label"
        " WHERE a.vendor IS NOT NULL OR ent.label = 'PRODUCT'"
    )
    hits = store.query(hits_q.text, hits_q.args)
    comp = hits.dropna(subset=["vendor"])
    prod = hits[hits["vendor"].isna() & (hits["label"] == "PRODUCT")].copy()
    prod["key"] = prod["text"].str.strip().str.lower()
    names = (
        prod.groupby(["key", "text"])
        .size()
        .reset_index(name="k")
        .sort_values(["key", "k", "text"], ascending=[True, False, True])
        .drop_duplicates("key")
        .set_index("key")["text"]
    )
    prod["name"] = prod["key"].map(names)

    def per_ticket(frame: pd.DataFrame, col: str) -> pd.Series:
        return frame.groupby("ticket_key")[col].agg(lambda v: tuple(sorted(set(v))))

    out = base.copy()
    out["day"] = pd.to_datetime(out["day"]).dt.date
    empty: tuple[str, ...] = ()
    out["products"] = (
        out["ticket_key"]
        .map(per_ticket(prod, "name"))
        .apply(lambda v: v if isinstance(v, tuple) else empty)
    )
    out["competitors"] = (
        out["ticket_key"]
        .map(per_ticket(comp, "vendor"))
        .apply(lambda v: v if isinstance(v, tuple) else empty)
    )
    out["negative"] = out["negative"].astype(bool)
    return out[columns]


# -- typed frames from Arrow ------------------------------------------------------------------


def _frame(store: Any, query: Sql, kind: str) -> pd.DataFrame:
    """The rows of ``query`` as one of :class:`SignalCounts`' frames (``kind``: ``units``,
    ``series``, ``mentions``): dates as ``datetime.date``, counts as int64, text as
    objects with None for NULL. Read through Arrow (three times quicker than DuckDB's
    pandas conversion for text columns)."""
    with store.reading() as cur:
        table = cur.sql(query.text, params=query.args).to_arrow_table()
    return _frame_of_table(table, kind)


def _frame_of_table(table: pa.Table, kind: str) -> pd.DataFrame:
    """An Arrow table as :func:`_frame` types it."""
    day, counts = DAY_COLUMN[kind], COUNT_COLUMNS[kind]
    data = {}
    for col in table.column_names:
        values = table.column(col)
        if col == day:
            data[col] = pd.Series(_dates(values), dtype=object)
        elif col in counts:
            data[col] = pd.Series(np.asarray(values.to_numpy(), dtype="int64"))
        else:
            data[col] = pd.Series(_texts(values), dtype=object)
    return pd.DataFrame(data, columns=table.column_names)


def _texts(values: pa.ChunkedArray) -> np.ndarray:
    """A text column as an object array of ``str`` with None for NULL: each distinct text
    made once (through Arrow's dictionary encoding), as ``_dates`` makes each day."""
    if pa.types.is_null(values.type):
        return np.full(len(values), None, dtype=object)
    encoded = values.combine_chunks().dictionary_encode()
    words = np.append(
        np.asarray(encoded.dictionary.to_numpy(zero_copy_only=False), dtype=object), None
    )
    codes = encoded.indices.fill_null(len(words) - 1)
    return words[np.asarray(codes.to_numpy(), dtype=np.intp)]


def _typed_empty(kind: str, columns: list[str]) -> pd.DataFrame:
    """No rows, with the columns' types of :func:`_frame`."""
    return pd.DataFrame(
        {c: pd.Series([], dtype="int64" if c in COUNT_COLUMNS[kind] else object) for c in columns}
    )


def _dates(values: pa.ChunkedArray) -> np.ndarray:
    """A date column as an object array of ``datetime.date`` (each distinct day made once;
    None for NULL)."""
    if values.null_count:
        return np.array(values.to_pylist(), dtype=object)
    days = np.asarray(values.to_numpy(), dtype="datetime64[D]")
    codes, distinct = pd.factorize(days.view("int64"))
    return distinct.astype("datetime64[D]").astype(object)[codes]


# -- the name table of the entity dimensions --------------------------------------------------


def name_map(store: Any, sentiment: str, entities: str) -> Names:
    """(text, label, dim, value) of every entity text a dimension counts: competitor
    names (``analytics.signals.match_params``) and products (a PRODUCT text naming no
    competitor, under the most common spelling of its case-insensitive key among the
    labelled tickets; ties: the smallest), as parameter lists."""
    from analytics.signals import match_params

    texts, labels, vendors = match_params(store, entities)
    q = (
        with_ctes(cte("ent", entity_rows(entities)), cte("s", sentiment_rows(sentiment)))  # noqa: S608 - fixed fragments; values are parameters
        + " SELECT ent.text, count(DISTINCT ent.ticket_key) AS k FROM ent"
        " JOIN s ON s.ticket_key = ent.ticket_key WHERE ent.label = 'PRODUCT' GROUP BY 1"
    )
    counted = store.query(q.text, q.args)
    vendor_of = {(t, lab) for t, lab in zip(texts, labels, strict=True)}
    best: dict[str, tuple[int, str]] = {}
    keyed = []
    for text, k in zip(counted["text"], counted["k"], strict=True):
        if (text, "PRODUCT") in vendor_of:
            continue
        key = text.strip().lower()
        keyed.append((text, key))
        old = best.get(key)
        if old is None or (-int(k), text) < (-old[0], old[1]):
            best[key] = (int(k), text)
    out_t = list(texts) + [t for t, _ in keyed]
    out_l = list(labels) + ["PRODUCT"] * len(keyed)
    out_d = ["competitor"] * len(texts) + ["product"] * len(keyed)
    out_v = list(vendors) + [best[key][1] for _, key in keyed]
    return out_t, out_l, out_d, out_v


def rollup_names(store: Any, sentiment: str, entities: str) -> tuple[Names, list[str], list[str]]:
    """:func:`name_map` from the roll-ups (``entity_names``, ``rollup_signal_spellings``),
    and the product keys with the name each is shown under (its most common spelling among
    the labelled tickets; ties: the smallest)."""
    comp = store.fetchall(
        "SELECT text, label, vendor FROM entity_names WHERE vendor IS NOT NULL ORDER BY text, label"
    )
    spell = store.fetchall(
        "SELECT key, text, sum(tickets) FROM rollup_signal_spellings"
        " WHERE model_id = ? AND entities = ? GROUP BY key, text HAVING sum(tickets) > 0",
        [sentiment, entities],
    )
    best: dict[str, tuple[int, str]] = {}
    for key, text, k in spell:
        old = best.get(key)
        if old is None or (-int(k), text) < (-old[0], old[1]):
            best[key] = (int(k), text)
    names = (
        [t for t, _, _ in comp] + [t for _, t, _ in spell],
        [lab for _, lab, _ in comp] + ["PRODUCT"] * len(spell),
        ["competitor"] * len(comp) + ["product"] * len(spell),
        [v for _, _, v in comp] + [best[key][1] for key, _, _ in spell],
    )
    keys = sorted(best)
    return names, keys, [best[k][1] for k in keys]


# -- which tables answer ----------------------------------------------------------------------


def use_rollups() -> bool:
    """The package's switch (``analytics.alerts.USE_ROLLUPS``; tests turn it off)."""
    import analytics.alerts as package

    return bool(package.USE_ROLLUPS)


def rollup_source(store: Any, sentiment: str) -> bool:
    """Whether ``rollup_signal_days`` may be read: it is fresh (its part, ``data.rollup_tables.
    TAGS``) and holds every sentiment source, ``sentiment`` included."""
    from data import rollups

    if not use_rollups():
        return False
    with store.reading() as cur:
        return rollups.signals_fresh(cur)


def mentions_source(store: Any, sentiment: str, entities: str) -> bool:
    """Whether the mention roll-ups (``data.rollup_tables.MENTION_TABLES``) may be read for this
    pair of sources: they are fresh and hold it (the ground truth's sentiment with any
    entities, a model's sentiment with its own)."""
    from data import rollups

    if not use_rollups() or sentiment not in (GOLD, entities):
        return False
    with store.reading() as cur:
        return rollups.mentions_fresh(cur)


def fresh_sources(store: Any, sentiment: str, entities: str) -> tuple[bool, bool]:
    """(:func:`rollup_source`, :func:`mentions_source`) with one look at the roll-ups'
    state."""
    from data import rollup_tables, rollups

    if not use_rollups():
        return False, False
    with store.reading() as cur:
        has = dict(
            cur.execute(
                "SELECT table_name, count(*) FROM information_schema.tables"
                " WHERE table_schema = 'main'"
                " AND table_name IN ('rollup_signal_days', 'rollup_name_state') GROUP BY 1"
            ).fetchall()
        )
        fresh = rollups.fresh_parts(cur) if has else frozenset()
    signals = bool(has.get("rollup_signal_days")) and rollup_tables.TAGS in fresh
    mentions = (
        bool(has.get("rollup_name_state"))
        and rollup_tables.MENTIONS in fresh
        and sentiment in (GOLD, entities)
    )
    return signals, mentions


# -- reading the counts ------------------------------------------------------------------------


_COUNTS_SELECT = (
    " SELECT 's' AS kind, freq, period AS day, NULL::VARCHAR AS customer_id, dim, value,"
    " tickets, negative_tickets, negative FROM ser UNION ALL"
    " SELECT 'm', NULL, day, customer_id, dim, value, tickets, NULL, NULL FROM men"
    " ORDER BY kind DESC, freq, day, customer_id, dim, value"
)


def _split_rows(store: Any, query: Sql) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The series and mention rows of a query ending in :data:`_COUNTS_SELECT`."""
    with store.reading() as cur:
        table = cur.sql(query.text, params=query.args).to_arrow_table()
    kind = table.column("kind").to_numpy(zero_copy_only=False)
    frames = []
    for which, cols, name in (
        ("s", SERIES_COLUMNS, "series"),
        ("m", MENTION_COLUMNS, "mentions"),
    ):
        part = table.filter(pa.array(kind == which))
        if name == "series":
            part = part.rename_columns(["period" if c == "day" else c for c in part.column_names])
        part = part.select(cols)
        frames.append(_frame_of_table(part, name))
    return frames[0], frames[1]


def _stored_series(
    store: Any,
    sentiment: str,
    entities: str,
    keys: list[str],
    shown: list[str],
    *,
    mentions: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:attr:`SignalCounts.series` and :attr:`SignalCounts.mentions` (``mentions``: else
    none) of every day, read from ``rollup_signal_series`` and ``rollup_signal_mentions``
    (product keys shown under ``shown``), ordered as :func:`signal_counts` orders them."""
    series = _frame(
        store,
        with_ctes(cte("kn", product_names(keys, shown)))
        + Sql(
            " SELECT r.freq, r.period, r.dim,"
            " CASE WHEN r.dim = 'product' THEN kn.name ELSE r.value END AS value, r.tickets,"
            " r.negative_tickets, r.negative FROM rollup_signal_series r"
            " LEFT JOIN kn ON r.dim = 'product' AND kn.key = r.value"
            " WHERE r.model_id = ? AND r.entities = ? ORDER BY r.freq, r.period, r.dim, 4",
            (sentiment, entities),
        ),
        "series",
    )
    if not mentions:
        return series, _typed_empty("mentions", MENTION_COLUMNS)
    return series, _frame(
        store,
        Sql(
            "SELECT day, customer_id, dim, value, tickets FROM rollup_signal_mentions"
            " WHERE model_id = ? AND entities = ? AND day IS NOT NULL"
            " AND customer_id IS NOT NULL AND dim IN ('competitor', ?)"
            " ORDER BY day, customer_id, dim, value",
            (sentiment, entities, NAMED),
        ),
        "mentions",
    )


def signal_counts(
    store: Any,
    *,
    sentiment: str = GOLD,
    entities: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    rollups: bool = True,
    mentions: bool = True,
) -> SignalCounts:
    """:class:`SignalCounts` of the store: from the signal roll-ups (``data.rollups``) when
    they are fresh and hold this source, else from the base tables; the same either way.

    Args:
        store: the store.
        sentiment, entities: as :func:`ticket_signals`.
        start, end: first and last day (inclusive) of ``created_at``.
        rollups: False reads the base tables whatever the roll-ups' state.
        mentions: False leaves :attr:`SignalCounts.mentions` empty (the alerts and trends
            do not read them; the risk features do) and, from the roll-ups, unread.
    """
    entities = entities or sentiment
    sent = sentiment_rows(sentiment)
    from_days, from_mentions = fresh_sources(store, sentiment, entities) if rollups else (0, 0)
    if from_days:
        units = _frame(
            store,
            Sql(  # noqa: S608 - fixed fragments; values are parameters
                "SELECT day, unit, customer_id, segment, region, plan, tickets, negative"
                " FROM rollup_signal_days WHERE model_id = ? AND day IS NOT NULL",
                (sentiment,),
            )
            + day_between(start, end, "day")
            + " ORDER BY day, unit",
            "units",
        )
    else:
        units = _frame(
            store,
            with_ctes(  # noqa: S608 - fixed fragments; values are parameters
                cte("s", sent),
                cte(
                    "base",
                    "SELECT t.ticket_key, CAST(t.created_at AS DATE) AS day,"  # noqa: S608 - fixed fragments; values are parameters
                    " coalesce(t.customer_id, t.ticket_key) AS unit,"
                    " t.customer_id, c.segment, c.region, c.plan,"
                    " s.label = 'negative' AS negative"
                    " FROM tickets t JOIN s ON s.ticket_key = t.ticket_key"
                    " LEFT JOIN customers c ON c.customer_id = t.customer_id"
                    " WHERE t.created_at IS NOT NULL"
                    + day_between(start, end, "CAST(t.created_at AS DATE)"),
                ),
            )
            + " SELECT day, unit, customer_id, segment, region, plan,"
            " count(*) AS tickets, count(*) FILTER (WHERE negative) AS negative"
            " FROM base GROUP BY ALL ORDER BY day, unit",
            "units",
        )
    if units.empty:
        return empty_counts()
    if from_mentions:
        names, keys, shown = rollup_names(store, sentiment, entities)
        if start is None and end is None:  # whole periods: the series as stored
            series, men = _stored_series(store, sentiment, entities, keys, shown, mentions=mentions)
            return SignalCounts(units, series, men, names)
        q = (
            with_ctes(  # noqa: S608 - fixed fragments; values are parameters
                cte("kn", product_names(keys, shown)),
                cte(
                    "g",
                    Sql(
                        "SELECT r.day, r.unit, r.customer_id, r.dim,"
                        " CASE WHEN r.dim = 'product' THEN kn.name ELSE r.value END AS value,"
                        " r.tickets, r.negative AS neg FROM rollup_signal_mentions r"
                        " LEFT JOIN kn ON r.dim = 'product' AND kn.key = r.value"
                        " WHERE r.model_id = ? AND r.entities = ? AND r.day IS NOT NULL",
                        (sentiment, entities),
                    )
                    + day_between(start, end, "r.day"),
                    materialized=True,
                ),
            )
            + ","
            + series_ctes("(SELECT * FROM g WHERE dim <> 'named')")
            + " men AS (SELECT day, customer_id, dim, value, tickets FROM g"  # noqa: S608 - fixed fragments; values are parameters
            " WHERE dim = 'competitor' AND customer_id IS NOT NULL"
            f" UNION ALL SELECT day, customer_id, '{NAMED}', NULL, tickets FROM g"
            f" WHERE dim = '{NAMED}' AND customer_id IS NOT NULL)" + _COUNTS_SELECT
        )
        series, men = _split_rows(store, q)
        return SignalCounts(units, series, men, names)
    names = tuple(name_map(store, sentiment, entities))
    q = (
        with_ctes(  # noqa: S608 - fixed fragments; values are parameters
            cte("m", name_table(names)),
            cte("ent", entity_rows(entities)),
            cte("s", sent),
            cte(
                "base",
                "SELECT t.ticket_key, CAST(t.created_at AS DATE) AS day,"  # noqa: S608 - fixed fragments; values are parameters
                " coalesce(t.customer_id, t.ticket_key) AS unit, t.customer_id,"
                " s.label = 'negative' AS negative FROM tickets t"
                " JOIN s ON s.ticket_key = t.ticket_key WHERE t.created_at IS NOT NULL"
                + day_between(start, end, "CAST(t.created_at AS DATE)"),
            ),
            cte(
                "hit",
                "SELECT DISTINCT ent.ticket_key, m.dim, m.value FROM ent"
                " JOIN m ON m.text = ent.text AND m.label = ent.label",
            ),
            cte(
                "j",
                "SELECT b.ticket_key, b.day, b.unit, b.customer_id, b.negative,"
                " h.dim, h.value FROM base b JOIN hit h ON h.ticket_key = b.ticket_key",
            ),
            # per day, writer and value first (a writer's tickets of a day are one row)
            cte(
                "g",
                "SELECT day, unit, customer_id, dim, value, count(*) AS tickets,"
                " count(*) FILTER (WHERE negative) AS neg FROM j GROUP BY ALL",
                materialized=True,
            ),
        )
        + ","
        + series_ctes("g")
        + " men AS (SELECT day, customer_id, dim, value, tickets FROM g"  # noqa: S608 - fixed fragments; values are parameters
        " WHERE dim = 'competitor' AND customer_id IS NOT NULL"
        f" UNION ALL SELECT day, customer_id, '{NAMED}', NULL, count(DISTINCT ticket_key)"
        " FROM j WHERE dim = 'competitor' AND customer_id IS NOT NULL"
        " GROUP BY day, customer_id)" + _COUNTS_SELECT
    )
    series, men = _split_rows(store, q)
    return SignalCounts(units, series, men, names)
