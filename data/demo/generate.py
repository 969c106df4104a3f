"""Writing a demo into the store in one transaction (:func:`generate_demo`), its tickets in
chunks of :data:`data.demo.tickets.TICKET_CHUNK` (ten million fit in a few GB)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import numpy as np
import pandas as pd

from data import rollups
from data.demo.customers import churn_truth_rows, make_customers, make_price_history, make_usage
from data.demo.parameters import DEMO_INGESTED_AT, DEMO_SOURCE, FIRST_MONTH, LAST_MONTH, DemoSummary
from data.demo.surges import make_surge_rows
from data.demo.tickets import iter_ticket_chunks, plan_tickets
from data.reference import load_competitor_prices


def _insert(
    conn: Any, table: str, df: pd.DataFrame, columns: list[str], casts: dict[str, str] | None = None
) -> None:
    casts = casts or {}
    view = f"_demo_{table}"
    with _registered(conn, view, df):
        select = ", ".join(f"CAST({c} AS {casts[c]})" if c in casts else f'"{c}"' for c in columns)
        cols = ", ".join(f'"{c}"' for c in columns)
        conn.execute(f"INSERT INTO {table} ({cols}) SELECT {select} FROM {view}")  # noqa: S608 - fixed names


@contextmanager
def _registered(conn: Any, name: str, df: pd.DataFrame) -> Iterator[None]:
    """``df`` visible to SQL as ``name`` inside the block.

    When the block fails, the transaction is aborted and unregistering would fail too: that
    second error is suppressed so that the first one (the real cause) reaches the caller.
    """
    conn.register(name, df)
    try:
        yield
    except BaseException:
        import duckdb  # here, not at the top: the gold tickets (data.demo) need no database

        with suppress(duckdb.Error):
            conn.unregister(name)
        raise
    conn.unregister(name)


def _insert_tickets(
    conn: Any, ticket_df: pd.DataFrame, gold: pd.DataFrame, upload_keys: frozenset[str]
) -> int:
    """Write one chunk of demo tickets with their gold entities and gold sentiment, replacing
    uploaded tickets (``upload_keys``) of the same key; returns how many are negative."""
    ticket_df["source"] = DEMO_SOURCE
    ticket_df["ingested_at"] = pd.Timestamp(DEMO_INGESTED_AT).as_unit("us")
    gold_sentiment = pd.DataFrame(
        {
            "ticket_key": ticket_df["ticket_key"],
            "label": ticket_df.pop("_sentiment").astype("str"),
            "origin": ticket_df.pop("_origin").astype("str"),
            "surge_id": ticket_df.pop("_surge_id"),
        }
    )
    # An uploaded ticket with the same key (same text and id) is replaced by the demo row;
    # only the chunk's keys among the uploads' are deleted, so a chunk does not scan the
    # tickets the earlier chunks wrote (quadratic at ten million).
    clashes = ticket_df.loc[ticket_df["ticket_key"].isin(upload_keys), ["ticket_key"]]
    if len(clashes):
        with _registered(conn, "_demo_keys", clashes):
            conn.execute(
                "DELETE FROM tickets WHERE ticket_key IN "
                "(SELECT CAST(ticket_key AS VARCHAR) FROM _demo_keys)"
            )
    _insert(
        conn,
        "tickets",
        ticket_df,
        list(ticket_df.columns),
        {"created_at": "TIMESTAMP", "ingested_at": "TIMESTAMP", "resolution_minutes": "DOUBLE"},
    )
    _insert(conn, "gold_entities", gold, list(gold.columns))
    _insert(
        conn,
        "gold_sentiment",
        gold_sentiment,
        list(gold_sentiment.columns),
        {"surge_id": "INTEGER"},
    )
    return int((gold_sentiment["label"] == "negative").sum())


def generate_demo(
    store: Any,
    *,
    tickets: int,
    seed: int,
    progress: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    """Replace the demo data in ``store`` with freshly generated rows.

    Writes customers, usage, price_history, competitor_prices, tickets (source ``demo``),
    their gold_entities and gold_sentiment, and the ground truth of the signals
    (demo_surges, demo_churn_truth) in one transaction; uploaded tickets are kept; model
    sentiment of the old demo tickets (ticket_sentiment) is removed with them. Same seed,
    same rows.

    Args:
        store: a writable :class:`data.store.Store`.
        tickets: how many tickets to generate.
        seed: the random seed.
        progress: called as ``progress(done, total)`` while tickets are generated.
    """
    if tickets < 0:
        raise ValueError("tickets must be >= 0")
    root = np.random.SeedSequence(seed)
    cust_seq, usage_seq, ticket_seq = root.spawn(3)
    (truth_seq,) = root.spawn(1)  # spawned after the first three: those streams are unchanged
    customers, truth = make_customers(
        np.random.default_rng(cust_seq), np.random.default_rng(truth_seq)
    )
    usage = make_usage(customers, np.random.default_rng(usage_seq))
    prices = make_price_history()
    plan = plan_tickets(customers, usage, tickets, seed, np.random.default_rng(ticket_seq), truth)
    surge_rows = make_surge_rows(plan.surges, plan.surge_counts())
    churn_truth = churn_truth_rows(customers, truth)
    full_customers, customers = customers, customers.drop(columns=["_signup_k", "_churn_k"])
    written = {"gold": 0, "negative": 0}

    def write(conn: Any) -> None:
        written.update(gold=0, negative=0)
        for table in ("gold_entities", "gold_sentiment", "ticket_sentiment"):
            conn.execute(
                f"DELETE FROM {table} WHERE ticket_key IN "  # noqa: S608 - fixed names
                "(SELECT ticket_key FROM tickets WHERE source = ?)",
                [DEMO_SOURCE],
            )
        for table in ("demo_surges", "demo_churn_truth"):
            conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
        for table in ("entities", "tagged_tickets"):
            conn.execute(
                f"DELETE FROM {table} WHERE ticket_key IN "  # noqa: S608 - fixed names
                "(SELECT ticket_key FROM tickets WHERE source = ?)",
                [DEMO_SOURCE],
            )
        conn.execute("DELETE FROM tickets WHERE source = ?", [DEMO_SOURCE])
        for table in ("usage", "customers", "price_history"):
            conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
        _insert(
            conn,
            "customers",
            customers,
            list(customers.columns),
            {"signup_month": "DATE", "churn_month": "DATE"},
        )
        _insert(conn, "usage", usage, list(usage.columns), {"month": "DATE"})
        _insert(
            conn,
            "price_history",
            prices,
            list(prices.columns),
            {"valid_from": "DATE", "valid_to": "DATE"},
        )
        upload_keys = frozenset(
            key for (key,) in conn.execute("SELECT ticket_key FROM tickets").fetchall()
        )  # the demo's own were deleted above: the uploads' keys
        for ticket_df, gold in iter_ticket_chunks(plan, full_customers, progress=progress):
            written["gold"] += len(gold)
            written["negative"] += _insert_tickets(conn, ticket_df, gold, upload_keys)
        _insert(
            conn,
            "demo_surges",
            surge_rows,
            list(surge_rows.columns),
            {"start_day": "DATE", "end_day": "DATE", "effect_end": "DATE"},
        )
        _insert(conn, "demo_churn_truth", churn_truth, list(churn_truth.columns), {"month": "DATE"})
        rollups.rebuild_all(conn)  # customers and usage changed: every roll-up again

    store.write(write)
    n_prices = load_competitor_prices(store)
    return DemoSummary(
        seed=seed,
        customers=len(customers),
        usage_rows=len(usage),
        price_changes=len(prices),
        tickets=tickets,
        gold_entities=written["gold"],
        competitor_prices=n_prices,
        first_month=FIRST_MONTH,
        last_month=LAST_MONTH,
        surges=len(surge_rows),
        negative_tickets=written["negative"],
    )
