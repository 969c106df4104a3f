"""data.demo: determinism, realism, ground truth, gold spans."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data.demo import (
    FIRST_MONTH,
    LAST_MONTH,
    PLAN_PRICES,
    SEGMENTS,
    TRUE_ELASTICITY,
    GoldTicket,
    generate_demo,
    iter_gold_tickets,
    plan_price,
)
from data.reference import price_cut_events
from data.store import Store

LABELS = {"PER", "ORG", "PRODUCT", "LOC"}


@pytest.fixture(scope="module")
def demo(demo_db_path):
    with Store.open(demo_db_path, read_only=True) as store:
        yield {
            t: store.query(f"SELECT * FROM {t}")
            for t in (
                "customers",
                "usage",
                "price_history",
                "tickets",
                "gold_entities",
                "competitor_prices",
            )
        }


def test_contract_names():
    assert set(TRUE_ELASTICITY) == set(SEGMENTS)
    assert any(abs(e) < 1 for e in TRUE_ELASTICITY.values())
    assert any(abs(e) > 1 for e in TRUE_ELASTICITY.values())
    assert all(-2.5 <= e <= -0.3 for e in TRUE_ELASTICITY.values())
    with pytest.raises(AttributeError):
        GoldTicket("a", ()).text = "b"  # frozen


def test_gold_tickets_are_deterministic_and_spans_exact():
    first = list(iter_gold_tickets(400, seed=5))
    assert first == list(iter_gold_tickets(400, seed=5))
    assert first != list(iter_gold_tickets(400, seed=6))
    labels = set()
    for t in first:
        previous_end = 0
        for start, end, label in t.spans:
            assert label in LABELS
            assert 0 <= previous_end <= start < end <= len(t.text)
            entity = t.text[start:end]
            assert entity == entity.strip() and entity
            # whole words: an entity never starts or ends inside a word
            assert start == 0 or not t.text[start - 1].isalnum()
            assert end == len(t.text) or not t.text[end].isalnum()
            previous_end = end
            labels.add(label)
    assert labels == LABELS


def test_gold_tickets_vary():
    tickets = list(iter_gold_tickets(1000, seed=1))
    texts = [t.text for t in tickets]
    assert len(set(texts)) > 950
    lengths = [len(t) for t in texts]
    assert min(lengths) < 80 and max(lengths) > 500
    assert any(t.islower() for t in texts) and any(t.isupper() for t in texts)
    assert any("@" in t for t in texts)
    assert any("\n\n" in t for t in texts)


def test_same_seed_same_rows(tmp_path):
    frames = []
    for name in ("a", "b"):
        with Store.open(tmp_path / f"{name}.duckdb") as store:
            generate_demo(store, tickets=300, seed=11)
            frames.append(
                {
                    t: store.query(f"SELECT * FROM {t} ORDER BY ALL")
                    for t in ("customers", "usage", "price_history", "tickets", "gold_entities")
                }
            )
    for table in frames[0]:
        pd.testing.assert_frame_equal(frames[0][table], frames[1][table])


def test_regenerating_replaces_demo_rows(tmp_path):
    with Store.open(tmp_path / "db.duckdb") as store:
        generate_demo(store, tickets=200, seed=1)
        summary = generate_demo(store, tickets=100, seed=2)
        counts = store.table_counts()
    assert counts["tickets"] == summary.tickets == 100
    assert counts["gold_entities"] == summary.gold_entities
    assert counts["customers"] == summary.customers


def test_zero_tickets_gives_an_empty_ticket_table(tmp_path):
    """tickets=0 once crashed (VARCHAR keys compared with the DOUBLE of an empty column)."""
    with Store.open(tmp_path / "db.duckdb") as store:
        generate_demo(store, tickets=50, seed=3)
        summary = generate_demo(store, tickets=0, seed=3)
        counts = store.table_counts()
    assert summary.tickets == summary.gold_entities == 0
    assert counts["tickets"] == counts["gold_entities"] == 0
    assert counts["customers"] == summary.customers > 0
    assert counts["usage"] == summary.usage_rows > 0


def test_a_failed_demo_write_reports_its_own_error(tmp_path, monkeypatch):
    """An error inside the demo transaction reaches the caller, not the follow-up
    'transaction aborted' error of cleaning up a registered frame."""
    from data.demo import generate as demo_module

    real = demo_module.iter_ticket_chunks

    def broken(*args, **kwargs):
        for tickets, gold in real(*args, **kwargs):
            yield tickets, gold.assign(start="not a number")  # fails inside the INSERT

    monkeypatch.setattr(demo_module, "iter_ticket_chunks", broken)
    with Store.open(tmp_path / "db.duckdb") as store:
        with pytest.raises(Exception, match="Conversion Error") as info:
            generate_demo(store, tickets=20, seed=3)
        assert "aborted" not in str(info.value)
        assert store.table_counts()["tickets"] == 0


def test_customers_are_realistic(demo):
    c = demo["customers"]
    assert len(c) >= 200
    assert set(c["segment"]) == set(SEGMENTS)
    assert set(c["plan"]) == set(PLAN_PRICES)
    assert c["region"].nunique() >= 5 and c["industry"].nunique() >= 10
    assert c["name"].is_unique
    sizes = c["size"].to_numpy()
    assert sizes.max() > 50 * np.median(sizes)  # heavy tail
    assert c["churn_month"].notna().sum() > 10


def test_usage_covers_24_months_with_growth(demo):
    u = demo["usage"]
    months = sorted(pd.to_datetime(u["month"]).dt.date.unique())
    assert months[0] == FIRST_MONTH and months[-1] == LAST_MONTH and len(months) == 24
    by_month = u.groupby("month")["revenue"].sum()
    assert by_month.iloc[-3:].mean() > 1.5 * by_month.iloc[:3].mean()
    assert (
        u["revenue"] - (u["input_tokens"] + u["output_tokens"]) / 1e6 * u["price_per_m"]
    ).abs().max() < 0.01
    # price_per_m is the plan's list price that month
    sample = u.sample(50, random_state=0)
    for row in sample.itertuples():
        assert row.price_per_m == plan_price(row.plan, pd.Timestamp(row.month).date())


def test_elasticity_is_recoverable(demo):
    """Within-customer, within-month log-log regression recovers each segment's elasticity."""
    u = demo["usage"].merge(demo["customers"][["customer_id", "segment"]], on="customer_id")
    u["ly"] = np.log(u["input_tokens"] + u["output_tokens"])
    u["lp"] = np.log(u["price_per_m"])
    for segment, g in u.groupby("segment"):
        y, x = g["ly"].copy(), g["lp"].copy()
        for _ in range(30):
            for key in ("customer_id", "month"):
                y -= y.groupby(g[key]).transform("mean")
                x -= x.groupby(g[key]).transform("mean")
        slope = float((x * y).sum() / (x * x).sum())
        assert slope == pytest.approx(TRUE_ELASTICITY[segment], abs=0.2), segment


def test_price_changes_differ_between_plans(demo):
    ph = demo["price_history"]
    dates = {plan: set(g["valid_from"].astype(str)) for plan, g in ph.groupby("plan")}
    assert len({frozenset(d) for d in dates.values()}) == len(dates)
    assert (ph["valid_to"].isna().groupby(ph["plan"]).sum() == 1).all()


def test_tickets_and_gold_entities(demo):
    t, g = demo["tickets"], demo["gold_entities"]
    assert len(t) == 2000 and t["ticket_key"].is_unique
    assert set(t["resolved_by"].dropna()) == {"human", "ai"}
    assert t["channel"].nunique() >= 4 and t["category"].nunique() >= 8
    assert t["priority"].nunique() == 4
    texts = t.set_index("ticket_key")["text"]
    for row in g.itertuples():
        assert texts[row.ticket_key][row.start : row.end] == row.text
    assert set(g["label"]) == LABELS
    # tickets follow usage: the biggest customers by tokens file the most tickets
    u = demo["usage"].assign(tok=lambda d: d.input_tokens + d.output_tokens)
    tok = u.groupby("customer_id")["tok"].sum()
    n = t.groupby("customer_id").size().reindex(tok.index, fill_value=0)
    assert np.corrcoef(np.log1p(tok), np.log1p(n))[0, 1] > 0.5


def _mention_rate(tickets: pd.DataFrame, customers: pd.DataFrame) -> pd.Series:
    from data.competitor_names import competitor_aliases

    aliases = sorted(competitor_aliases(), key=len, reverse=True)
    pattern = "|".join(
        r"(?<![\w.-])"
        + pd.Series([a]).str.replace(r"([.+*?()\[\]^$|{}\\])", r"\\\1", regex=True)[0]
        + r"(?![\w-])"
        for a in aliases
        if len(a) > 3
    )
    m = tickets["text"].str.lower().str.contains(pattern, regex=True)
    seg = tickets["customer_id"].map(customers.set_index("customer_id")["segment"])
    return m.groupby(seg).mean()


def test_price_sensitive_segments_mention_competitors_more(demo):
    rate = _mention_rate(demo["tickets"], demo["customers"])
    ordered = sorted(
        SEGMENTS, key=lambda s: TRUE_ELASTICITY[s], reverse=True
    )  # least elastic first
    assert rate[ordered[0]] < rate[ordered[-1]]


def test_mentions_rise_after_real_price_cuts():
    cuts = price_cut_events()
    assert not cuts.empty and (cuts["pct_change"] < 0).all()
    from data.demo.surges import cut_windows
    from data.demo.tickets import mention_setup

    windows = cut_windows()
    start = np.datetime64(windows[-1].start, "s")
    created = np.concatenate(
        [
            start - np.timedelta64(20, "D") + np.zeros(20000, "timedelta64[s]"),
            start + np.timedelta64(5, "D") + np.zeros(20000, "timedelta64[s]"),
        ]
    )
    segment = np.array(["smb"] * 40000)
    mention, vendor = mention_setup(created, segment, np.random.default_rng(0), windows)
    before, after = mention[:20000].mean(), mention[20000:].mean()
    assert after > 2 * before
    assert sum(v == windows[-1].vendor_id for v in vendor[20000:]) > 0.5 * mention[20000:].sum()


def test_tickets_written_in_chunks_are_the_tickets_of_one_piece():
    """The demo writes its tickets in chunks (10 M would not fit in memory at once); the
    chunks, put together, are exactly the rows of one piece: same texts, keys, gold spans."""
    from data.demo.customers import make_customers, make_usage
    from data.demo.tickets import iter_ticket_chunks, plan_tickets

    def inputs():
        root = np.random.SeedSequence(5)
        cust_seq, usage_seq, ticket_seq = root.spawn(3)
        (truth_seq,) = root.spawn(1)
        customers, truth = make_customers(
            np.random.default_rng(cust_seq), np.random.default_rng(truth_seq)
        )
        usage = make_usage(customers, np.random.default_rng(usage_seq))
        return customers, usage, np.random.default_rng(ticket_seq), truth

    customers, usage, rng, truth = inputs()
    whole = plan_tickets(customers, usage, 250, 5, rng, truth)
    (whole_tickets, whole_gold), *more = iter_ticket_chunks(whole, customers, chunk_size=250)
    assert more == []
    customers, usage, rng, truth = inputs()
    plan = plan_tickets(customers, usage, 250, 5, rng, truth)
    done: list[int] = []
    chunks = list(
        iter_ticket_chunks(plan, customers, chunk_size=37, progress=lambda d, n: done.append(d))
    )
    assert [len(t) for t, _ in chunks] == [37] * 6 + [28]
    assert done[-1] == 250
    pd.testing.assert_frame_equal(
        pd.concat([t for t, _ in chunks], ignore_index=True), whole_tickets
    )
    pd.testing.assert_frame_equal(
        pd.concat([g for _, g in chunks], ignore_index=True),
        whole_gold.reset_index(drop=True),
    )
    assert plan.surge_counts() == {
        int(k): int(v) for k, v in whole_tickets["_surge_id"].dropna().value_counts().items()
    }


def test_an_uploaded_ticket_with_a_demo_tickets_key_is_replaced_and_other_uploads_kept(tmp_path):
    """A demo ticket's key held by an upload (the same columns uploaded) is replaced by the
    demo row, not a primary-key clash; every other upload stays."""
    with Store.open(tmp_path / "db.duckdb") as store:
        generate_demo(store, tickets=60, seed=4)
        key = store.scalar("SELECT min(ticket_key) FROM tickets")

        def as_uploads(conn) -> None:  # as if uploaded before the demo was made
            for table in ("gold_entities", "gold_sentiment"):
                conn.execute(f"DELETE FROM {table} WHERE ticket_key = ?", [key])
            conn.execute("UPDATE tickets SET source = 'upload' WHERE ticket_key = ?", [key])
            conn.execute(
                "INSERT INTO tickets (ticket_key, text, source, ingested_at) "
                "VALUES ('own-1', 'an uploaded ticket', 'upload', now())"
            )

        store.write(as_uploads)
        summary = generate_demo(store, tickets=60, seed=4)
        assert summary.tickets == 60
        assert store.scalar("SELECT count(*) FROM tickets") == 61
        assert store.scalar("SELECT source FROM tickets WHERE ticket_key = ?", [key]) == "demo"
        assert store.scalar("SELECT text FROM tickets WHERE ticket_key = 'own-1'")
