"""``rollup_signal_series``, the signal series per day and week: its table and its upkeep.

The series are derived from ``rollup_signal_mentions`` (part ``mentions`` of
``data.rollups``): filled in full by a rebuild, or, after a keyed write, only the groups
the write touched recomputed."""

from __future__ import annotations

from typing import Any

__all__ = ["SERIES_CREATE", "SERIES_TABLE", "fill_series", "refresh_series"]

#: ``rollup_signal_series`` (part ``mentions``) is derived from ``rollup_signal_mentions``
#: rather than summed from tickets: its ``negative`` counts distinct writers, which no sum of
#: per-ticket contributions gives. A write recomputes the groups it touched.
SERIES_TABLE = "rollup_signal_series"
#: Its CREATE statement (migration 6).
SERIES_CREATE = """
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


def fill_series(conn: Any, model_id: str | None = None) -> None:
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


def refresh_series(conn: Any, touched: str) -> None:
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
