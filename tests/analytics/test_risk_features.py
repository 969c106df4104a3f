"""The churn-risk features checked against an independent computation: plain SQL over the
base tables of the demo store (tickets, gold sentiment, gold entities matched to vendors,
usage), not the signal roll-ups and numpy windows that ``analytics.risk.panel`` uses."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analytics.risk.panel import HISTORY_MONTHS, risk_panel

LOOKBACK = 90


def _independent(store, as_of: pd.Timestamp) -> pd.DataFrame:
    """Per customer with usage in the month before ``as_of``: the features by SQL."""
    lo = (as_of - pd.Timedelta(days=LOOKBACK)).date()
    m = as_of.date()
    prev = (as_of - pd.DateOffset(months=1)).date()
    m3 = (as_of - pd.DateOffset(months=3)).date()
    m6 = (as_of - pd.DateOffset(months=6)).date()
    return store.query(
        """
        WITH w AS (
            SELECT t.ticket_key, t.customer_id FROM tickets t
            WHERE CAST(t.created_at AS DATE) >= ? AND CAST(t.created_at AS DATE) < ?
              AND t.customer_id IS NOT NULL),
        named AS (  -- the vendors a ticket names (each ticket counted once per vendor)
            SELECT DISTINCT w.ticket_key, w.customer_id, n.vendor
            FROM w JOIN gold_entities g ON g.ticket_key = w.ticket_key
            JOIN entity_names n ON n.text = g.text AND n.label = g.label
            WHERE n.vendor IS NOT NULL),
        per_vendor AS (
            SELECT customer_id, vendor, count(*) AS k FROM named GROUP BY ALL),
        top AS (
            SELECT customer_id, arg_min(vendor, (-k, vendor)) AS top_competitor
            FROM per_vendor GROUP BY ALL),
        counts AS (
            SELECT w.customer_id, count(*) AS tickets,
                   count(*) FILTER (WHERE s.label = 'negative') AS negative_tickets,
                   count(DISTINCT w.ticket_key)
                       FILTER (WHERE w.ticket_key IN (SELECT ticket_key FROM named))
                       AS competitor_tickets
            FROM w LEFT JOIN gold_sentiment s ON s.ticket_key = w.ticket_key GROUP BY ALL),
        tokens AS (
            SELECT customer_id, month, (input_tokens + output_tokens)::DOUBLE AS t FROM usage),
        recent AS (SELECT customer_id, avg(t) AS r FROM tokens
                   WHERE month >= ? AND month < ? GROUP BY ALL),
        earlier AS (SELECT customer_id, avg(t) AS b FROM tokens
                    WHERE month >= ? AND month < ? GROUP BY ALL)
        SELECT u.customer_id, u.plan, u.price_per_m, r.r / 1e6 AS volume_m,
               CASE WHEN e.b IS NULL THEN 0.0 ELSE ln((r.r + 1) / (e.b + 1)) END
                   AS usage_trend,
               coalesce(c.tickets, 0) AS tickets,
               coalesce(c.negative_tickets, 0) AS negative_tickets,
               coalesce(c.competitor_tickets, 0) AS competitor_tickets,
               top.top_competitor
        FROM usage u
        LEFT JOIN recent r USING (customer_id)
        LEFT JOIN earlier e USING (customer_id)
        LEFT JOIN counts c USING (customer_id)
        LEFT JOIN top USING (customer_id)
        WHERE u.month = ?
        ORDER BY u.customer_id
        """,
        [lo, m, m3, m, m6, m3, prev],
    )


@pytest.mark.parametrize("months_before_last", [0, 6])
def test_the_features_match_plain_sql_over_the_base_tables(demo_store, months_before_last):
    last = demo_store.fetchall("SELECT max(month) FROM usage")[0][0]
    as_of = pd.Timestamp(last) + pd.DateOffset(months=1 - months_before_last)
    first = pd.Timestamp(demo_store.fetchall("SELECT min(month) FROM usage")[0][0])
    assert as_of >= first + pd.DateOffset(months=HISTORY_MONTHS)
    got = risk_panel(demo_store, months=[as_of.date()], lookback_days=LOOKBACK)
    got = got.sort_values("customer_id").reset_index(drop=True)
    want = _independent(demo_store, as_of)
    assert len(got) == len(want) > 50
    assert list(got["customer_id"]) == list(want["customer_id"])
    for col in ("tickets", "negative_tickets", "competitor_tickets"):
        assert got[col].astype(int).tolist() == want[col].astype(int).tolist(), col
    assert got["tickets"].sum() > 0 and got["competitor_tickets"].sum() > 0
    assert got["plan"].tolist() == want["plan"].tolist()
    assert got["price_per_m"].tolist() == pytest.approx(want["price_per_m"].tolist(), rel=1e-12)
    assert got["volume_m"].tolist() == pytest.approx(want["volume_m"].tolist(), rel=1e-12)
    assert got["usage_trend"].tolist() == pytest.approx(want["usage_trend"].tolist(), abs=1e-12)
    tops = [None if pd.isna(v) else v for v in got["top_competitor"]]
    assert tops == [None if pd.isna(v) else v for v in want["top_competitor"]]
    assert got["log_negative"].tolist() == pytest.approx(
        [math.log1p(v) for v in want["negative_tickets"]], rel=1e-12
    )
