"""Competitor-mention pressure from the tagged tickets.

A ticket "mentions a competitor" when one of its entities (from the tagger ``model_id``;
the newest one by default) names one by ``data.competitor_names.match_competitor``: an ORG or
PRODUCT entity whose normalised text is a competitor alias ("GPT-4o" → OpenAI, "gpt_4o",
"Claude Sonnet 4.5") or starts with a vendor or model-family word of the reference price
data ("Gemini 3 Pro" → Google, "Qwen team" → Alibaba Qwen, "Nova Pro" → Amazon), without
ordinary words ("Google Sheets", "Nova Scotia"). :func:`competitor_entities` applies it to
the distinct entity texts of a tagger; every figure here and
``analytics.explore.competitor_mentions`` joins on that table. The mention rate of a
segment and month is the share of its tagged tickets that mention a competitor. It is used as a measured pressure indicator: it
enters the elasticity regression as an interaction (``analytics.elasticity``), which shifts
the elasticity, the price-war α and the per-segment optima.

Example:
    >>> from data.store import Store                                   # doctest: +SKIP
    >>> competitor_mention_rates(Store.open()).head()                  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

__all__ = [
    "MATCH_TABLE_SQL",
    "competitor_entities",
    "competitor_mention_rates",
    "competitor_pressure",
    "match_params",
    "mentions_by_vendor",
    "newest_model_id",
]

GOLD = "gold"  # pseudo model id: the generator's gold spans (demo data, evaluation)


def newest_model_id(store: Any) -> str | None:
    """The tagger that tagged tickets most recently (None when nothing is tagged; ties: the
    smallest id). The rows of the newest time are found by the zone maps of ``tagged_at``
    (no grouping of every row by model: a fifth of the time on 10 M tags)."""
    newest = store.scalar("SELECT max(tagged_at) FROM tagged_tickets")
    if newest is None:
        return None
    return store.scalar(
        "SELECT min(model_id) FROM tagged_tickets WHERE tagged_at = ?::TIMESTAMP", [newest]
    )


def competitor_entities(
    store: Any,
    model_id: str | None,
    aliases: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The distinct entity texts of a tagger that name a competitor, with the vendor.

    Every competitor-mention figure joins entities on this table (``text`` and ``label``
    equal), so all of them use the one rule of ``data.competitor_names.match_competitor``.

    Args:
        store: the store.
        model_id: the tagger; ``"gold"`` reads the generator's gold spans.
        aliases: alias → vendor; default the reference aliases and model families
            (``match_competitor`` explains what custom aliases change).

    Returns:
        Columns ``text``, ``label``, ``vendor``; one row per matching (text, label).

    Example:
        >>> competitor_entities(Store.open(), "gold").head()               # doctest: +SKIP
    """
    from data.competitor_names import COMPETITOR_LABELS, match_competitor

    if model_id == GOLD:
        sql, params = "SELECT DISTINCT text, label FROM gold_entities WHERE", []
    else:
        sql, params = "SELECT DISTINCT text, label FROM entities WHERE model_id = ? AND", [model_id]
    df = store.query(
        sql + " list_contains(?::VARCHAR[], label) ORDER BY 1, 2",
        [*params, list(COMPETITOR_LABELS)],
    )
    mapping = None if aliases is None else dict(aliases)
    df["vendor"] = [
        match_competitor(t, lab, aliases=mapping)
        for t, lab in zip(df["text"], df["label"], strict=True)
    ]
    return df.dropna(subset=["vendor"]).reset_index(drop=True)[["text", "label", "vendor"]]


def match_params(
    store: Any,
    model_id: str | None,
    aliases: Mapping[str, str] | None = None,
) -> list[list[str]]:
    """``competitor_entities`` as three parallel lists (texts, labels, vendors): the
    parameters of a ``unnest(?::VARCHAR[])`` table joined on entity text and label."""
    m = competitor_entities(store, model_id, aliases)
    return [m["text"].tolist(), m["label"].tolist(), m["vendor"].tolist()]


#: SQL of the matched-entity table ``a`` (``text``, ``label``, ``vendor``), three parameters.
MATCH_TABLE_SQL = (
    "SELECT unnest(?::VARCHAR[]) AS text, unnest(?::VARCHAR[]) AS label,"
    " unnest(?::VARCHAR[]) AS vendor"
)


def _sources(model_id: str | None) -> tuple[str, str, list[Any], list[Any]]:
    """(tagged-ticket CTE, entity CTE, their params) for a model or the gold spans."""
    if model_id == GOLD:
        return (
            "SELECT ticket_key FROM tickets",
            "SELECT ticket_key, text, label FROM gold_entities",
            [],
            [],
        )
    return (
        "SELECT ticket_key FROM tagged_tickets WHERE model_id = ?",
        "SELECT ticket_key, text, label FROM entities WHERE model_id = ?",
        [model_id],
        [model_id],
    )


def _hits_sql(model_id: str | None) -> tuple[str, list[Any]]:
    tagged, ents, tp, ep = _sources(model_id)
    sql = (
        f"WITH a AS ({MATCH_TABLE_SQL}),"  # noqa: S608 - fixed fragments; values are parameters
        f" tagged AS ({tagged}),"
        f" ent AS ({ents}),"
        " hit AS (SELECT DISTINCT ent.ticket_key, a.vendor FROM ent"
        "  JOIN a ON a.text = ent.text AND a.label = ent.label),"
        " base AS (SELECT t.ticket_key, c.segment,"
        "  CAST(date_trunc('month', t.created_at) AS DATE) AS month"
        "  FROM tagged g JOIN tickets t ON t.ticket_key = g.ticket_key"
        "  JOIN customers c ON c.customer_id = t.customer_id WHERE t.created_at IS NOT NULL)"
    )
    return sql, [*tp, *ep]


#: Read the mention roll-ups (``data.rollup_tables.MENTION_TABLES``) when they are fresh (False:
#: never; the tests compare both ways).
USE_ROLLUPS = True


def _rollup_tagged(
    store: Any, model_id: str, aliases: Mapping[str, str] | None
) -> tuple[str, list[Any]] | None:
    """SQL of the tagged tickets of known customers per ``segment`` and ``month``
    (``tickets``) from the roll-ups, with its parameters; None when the roll-ups may not
    answer (custom aliases, stale roll-ups)."""
    from data import rollup_tables, rollups

    if not USE_ROLLUPS or aliases is not None:
        return None
    with store.reading() as cur:
        fresh = rollups.fresh_parts(cur)  # read once: it counts every base table
        if rollup_tables.MENTIONS not in fresh:  # (never fresh in a store without the tables)
            return None
    if model_id == GOLD:  # the gold spans cover every ticket
        if rollup_tables.TICKETS not in fresh:
            return None
        return (
            "SELECT segment, CAST(date_trunc('month', day) AS DATE) AS month,"
            " sum(tickets) AS tickets FROM rollup_ticket_days"
            " WHERE known AND day IS NOT NULL GROUP BY ALL HAVING sum(tickets) > 0",
            [],
        )
    if rollup_tables.TAGS not in fresh:
        return None
    return (
        "SELECT segment, CAST(date_trunc('month', day) AS DATE) AS month,"
        " sum(tagged) AS tickets FROM rollup_tagged_days"
        " WHERE model_id = ? AND known AND day IS NOT NULL GROUP BY ALL"
        " HAVING sum(tagged) > 0",
        [model_id],
    )


def competitor_mention_rates(
    store: Any,
    *,
    model_id: str | None = None,
    aliases: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Share of tagged tickets mentioning a competitor, per segment and month.

    Args:
        store: the store.
        model_id: the tagger whose entities count (default: ``newest_model_id``);
            ``"gold"`` uses the generator's gold spans over all tickets.
        aliases: alias → vendor (default: the reference aliases and model families; see
            ``data.competitor_names.match_competitor``).

    Returns:
        Columns ``segment``, ``month``, ``tickets`` (tagged), ``mention_tickets``, ``rate``.
        Empty when nothing is tagged.
    """
    model_id = model_id or newest_model_id(store)
    cols = ["segment", "month", "tickets", "mention_tickets", "rate"]
    if model_id is None:
        return pd.DataFrame(columns=cols)
    rolled = _rollup_tagged(store, model_id, aliases)
    if rolled is not None:  # the same counts from the roll-ups
        tagged, tp = rolled
        df = store.query(
            f"WITH base AS ({tagged}),"  # noqa: S608 - fixed fragments; values are parameters
            " m AS (SELECT segment, CAST(date_trunc('month', day) AS DATE) AS month,"
            " sum(tickets) AS tickets FROM rollup_competitor_days WHERE entities = ?"
            " AND vendor IS NULL AND known GROUP BY ALL)"
            " SELECT base.segment, base.month, CAST(base.tickets AS BIGINT) AS tickets,"
            " CAST(coalesce(m.tickets, 0) AS BIGINT) AS mention_tickets FROM base"
            " LEFT JOIN m ON m.segment = base.segment AND m.month = base.month ORDER BY 1, 2",
            [*tp, model_id],
        )
        df["rate"] = df["mention_tickets"] / df["tickets"]
        return df[cols]
    sql, params = _hits_sql(model_id)
    df = store.query(
        sql + " SELECT base.segment, base.month, count(DISTINCT base.ticket_key) AS tickets,"  # noqa: S608 - fixed fragments; values are parameters
        " count(DISTINCT hit.ticket_key) AS mention_tickets"
        " FROM base LEFT JOIN hit ON hit.ticket_key = base.ticket_key"
        " GROUP BY 1, 2 ORDER BY 1, 2",
        [*match_params(store, model_id, aliases), *params],
    )
    df["rate"] = df["mention_tickets"] / df["tickets"]
    return df[cols]


def mentions_by_vendor(
    store: Any,
    *,
    model_id: str | None = None,
    aliases: Mapping[str, str] | None = None,
    segment: str | None = None,
) -> pd.DataFrame:
    """Tickets mentioning each competitor vendor: ``vendor``, ``tickets``, ``share`` (of the
    tagged tickets in scope), most mentioned first."""
    model_id = model_id or newest_model_id(store)
    if model_id is None:
        return pd.DataFrame(columns=["vendor", "tickets", "share"])
    seg = " WHERE base.segment = ?" if segment is not None else ""
    extra = [segment] if segment is not None else []
    rolled = _rollup_tagged(store, model_id, aliases)
    if rolled is not None:  # the same counts from the roll-ups
        tagged, tp = rolled
        mseg = " AND m.segment = ?" if segment is not None else ""
        return store.query(
            f"WITH base AS ({tagged}), scope AS (SELECT * FROM base{seg})"  # noqa: S608 - fixed fragments; values are parameters
            " SELECT m.vendor, CAST(sum(m.tickets) AS BIGINT) AS tickets,"
            " sum(m.tickets) / (SELECT sum(tickets) FROM scope) AS share"
            " FROM rollup_competitor_days m WHERE m.entities = ? AND m.vendor IS NOT NULL"
            f" AND m.known{mseg} GROUP BY 1 HAVING sum(m.tickets) > 0 ORDER BY 2 DESC, 1",
            [*tp, *extra, model_id, *extra],
        )
    sql, params = _hits_sql(model_id)
    df = store.query(
        sql + ", scope AS (SELECT * FROM base" + seg + ")"  # noqa: S608 - fixed fragments; values are parameters
        " SELECT hit.vendor, count(DISTINCT hit.ticket_key) AS tickets,"
        " count(DISTINCT hit.ticket_key) / (SELECT count(*) FROM scope) AS share"
        " FROM scope JOIN hit ON hit.ticket_key = scope.ticket_key"
        " GROUP BY 1 ORDER BY 2 DESC, 1",
        [*match_params(store, model_id, aliases), *params, *extra],
    )
    return df


def competitor_pressure(
    store: Any,
    *,
    model_id: str | None = None,
    aliases: Mapping[str, str] | None = None,
    recent_months: int = 3,
    rates: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Competitive pressure per segment from the mention rate.

    Returns:
        Columns ``segment``, ``rate`` (whole period), ``recent_rate`` (last
        ``recent_months`` months), ``previous_rate`` (the months before those, same length),
        ``trend`` (recent − previous), ``index`` (recent rate ÷ the all-segment recent rate;
        above 1 = more pressure than average), ``tickets`` (tagged tickets),
        ``recent_tickets`` (tagged tickets in the recent months: few means a noisy rate).
    """
    if rates is None:
        rates = competitor_mention_rates(store, model_id=model_id, aliases=aliases)
    cols = [
        "segment",
        "rate",
        "recent_rate",
        "previous_rate",
        "trend",
        "index",
        "tickets",
        "recent_tickets",
    ]
    if rates.empty:
        return pd.DataFrame(columns=cols)
    months = sorted(rates["month"].unique())
    recent = set(months[-recent_months:])
    previous = set(months[-2 * recent_months : -recent_months])

    def agg(frame: pd.DataFrame) -> pd.Series:
        return frame.groupby("segment")[["mention_tickets", "tickets"]].sum()

    whole = agg(rates)
    r = agg(rates[rates["month"].isin(recent)])
    p = agg(rates[rates["month"].isin(previous)])
    out = pd.DataFrame(
        {"rate": whole["mention_tickets"] / whole["tickets"], "tickets": whole["tickets"]}
    )
    out["recent_rate"] = r["mention_tickets"] / r["tickets"]
    out["recent_tickets"] = r["tickets"].reindex(out.index).fillna(0).astype(int)
    out["previous_rate"] = p["mention_tickets"] / p["tickets"] if len(p) else float("nan")
    out["trend"] = out["recent_rate"] - out["previous_rate"]
    overall = r["mention_tickets"].sum() / r["tickets"].sum() if r["tickets"].sum() else 0.0
    out["index"] = out["recent_rate"] / overall if overall else float("nan")
    return out.reset_index()[cols]
