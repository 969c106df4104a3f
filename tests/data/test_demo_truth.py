"""data.demo: the ground truth of the signals — gold sentiment, planted surges, churn."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from data.competitor_names import match_competitor
from data.demo import (
    COMPLAINT_SHARE,
    HAZARD_BASE,
    HAZARD_CAP,
    HAZARD_PER_CUT,
    HAZARD_PER_EXPERIENCE,
    NEGATIVE_TONE,
    NEUTRAL_TONE,
    POSITIVE_TONE,
    SENTIMENTS,
    SURGE_SHARE,
    SURGE_TONE,
    generate_demo,
    iter_gold_tickets,
    planned_surges,
)
from data.reference import price_cut_events
from data.store import Store
from tests.conftest import DEMO_TICKETS


@pytest.fixture(scope="module")
def demo(demo_db_path):
    with Store.open(demo_db_path, read_only=True) as store:
        yield {
            "tickets": store.query(
                "SELECT t.*, c.segment, c.region, g.label AS sentiment, g.origin, g.surge_id"
                " FROM tickets t JOIN customers c USING (customer_id)"
                " LEFT JOIN gold_sentiment g USING (ticket_key)"
            ),
            "surges": store.query("SELECT * FROM demo_surges ORDER BY surge_id"),
            "truth": store.query("SELECT * FROM demo_churn_truth"),
            "customers": store.query("SELECT * FROM customers"),
            "gold": store.query("SELECT * FROM gold_entities"),
            "model_sentiment": store.scalar("SELECT count(*) FROM ticket_sentiment"),
        }


def _lower(sentences) -> list[str]:
    return [s.lower() for s in sentences]


def test_every_ticket_has_a_gold_sentiment_its_text_carries(demo):
    t = demo["tickets"]
    assert t["sentiment"].notna().all() and set(t["sentiment"]) == set(SENTIMENTS)
    assert demo["model_sentiment"] == 0  # the tagger fills ticket_sentiment, not the demo
    text = t["text"].str.lower()
    neg = text.apply(lambda x: any(s in x for s in _lower(NEGATIVE_TONE)))
    pos = text.apply(lambda x: any(s in x for s in _lower(POSITIVE_TONE)))
    surge = t["origin"] == "surge"
    assert neg[(t["sentiment"] == "negative") & ~surge].all()
    assert pos[t["sentiment"] == "positive"].all()
    assert not (neg | pos)[t["sentiment"] == "neutral"].any()
    assert not pos[t["sentiment"] == "negative"].any()
    neutral_lines = text[t["sentiment"] == "neutral"].apply(
        lambda x: any(s in x for s in _lower(NEUTRAL_TONE))
    )
    assert 0.3 < neutral_lines.mean() < 0.7  # half carry a matter-of-fact sentence
    # complaints about planted experiences: their share of the tickets, all negative
    origin = t["origin"].value_counts()
    assert origin["experience"] == round(COMPLAINT_SHARE * DEMO_TICKETS)
    assert (t.loc[t["origin"] != "ticket", "sentiment"] == "negative").all()
    share = (t["sentiment"] == "negative").mean()
    assert 0.2 < share < 0.5


def test_surges_are_planted_where_and_when_recorded(demo):
    t, surges = demo["tickets"], demo["surges"]
    assert list(surges["surge_id"]) == [s.surge_id for s in planned_surges()]
    assert set(surges["dimension"]) == {"region", "segment", "product", "competitor"}
    assert (surges["tickets"] == round(SURGE_SHARE * DEMO_TICKETS)).all()
    gold = demo["gold"]
    for s in surges.itertuples():
        rows = t[t["surge_id"] == s.surge_id]
        assert len(rows) == s.tickets
        days = pd.to_datetime(rows["created_at"]).dt.date
        assert days.min() == pd.Timestamp(s.start_day).date()
        assert days.max() <= pd.Timestamp(s.end_day).date()
        assert (rows["sentiment"] == "negative").all()
        text = rows["text"].str.lower()
        literals = [
            max(re.split(r"\{\w+\}", p), key=len).strip().lower() for p in SURGE_TONE[s.kind]
        ]
        assert text.apply(lambda x, lit=literals: any(v in x for v in lit)).all()
        ents = gold[gold["ticket_key"].isin(rows["ticket_key"])]
        if s.dimension == "region":
            assert (rows["region"] == s.value).all()
        elif s.dimension == "segment":
            assert (rows["segment"] == s.value).all()
        elif s.dimension == "product":
            named = ents[
                (ents["label"] == "PRODUCT") & (ents["text"].str.lower() == s.value.lower())
            ]
            assert set(named["ticket_key"]) == set(rows["ticket_key"])
        else:
            vendors = ents.assign(
                v=[
                    match_competitor(x, lab)
                    for x, lab in zip(ents["text"], ents["label"], strict=True)
                ]
            )
            named = vendors[vendors["v"] == s.value]
            assert set(named["ticket_key"]) == set(rows["ticket_key"])
            assert s.effect_end > s.end_day  # mentions stay up after the cut


def test_competitor_surges_follow_the_real_cuts():
    cuts = price_cut_events()
    comp = [s for s in planned_surges() if s.kind == "competitor_cut"]
    assert comp, "the reference data hold a cut inside the demo's months"
    for s in comp:
        assert s.start in set(pd.to_datetime(cuts["date"]).dt.date)
        assert s.value in set(cuts["vendor"])


def test_churn_hazard_follows_its_documented_formula(demo):
    truth = demo["truth"].merge(
        demo["customers"][["customer_id", "segment", "signup_month", "churn_month"]],
        on="customer_id",
    )
    truth["month"] = pd.to_datetime(truth["month"])
    truth = truth.sort_values(["customer_id", "month"])
    e = truth.groupby("customer_id")["experiences"]
    previous = (e.shift(1).fillna(0) + e.shift(2).fillna(0)).to_numpy()
    # a month before the window has no planted experience: rows start at the sign-up or the
    # first demo month, so the shifts above are exact
    base = truth["segment"].map(HAZARD_BASE).to_numpy()
    expected = np.minimum(
        HAZARD_CAP,
        base * np.exp(HAZARD_PER_EXPERIENCE * previous + HAZARD_PER_CUT * truth["cut_exposure"]),
    )
    signup = pd.to_datetime(truth["signup_month"])
    grace = (truth["month"].dt.year - signup.dt.year) * 12 + truth[
        "month"
    ].dt.month - signup.dt.month < 3
    expected = np.where(grace, 0.0, expected)
    assert np.allclose(truth["hazard"], expected, atol=2e-6)
    # the churn month's hazard is recorded, and cuts only count after a real cut
    churned = truth[truth["month"] == pd.to_datetime(truth["churn_month"])]
    assert len(churned) == demo["customers"]["churn_month"].notna().sum() > 10
    assert truth.loc[truth["cut_exposure"] > 0, "month"].min() > pd.Timestamp(
        price_cut_events()["date"].min()
    )


def test_churners_had_more_planted_negative_experiences(demo):
    truth = demo["truth"].sort_values(["customer_id", "month"])
    e = truth.groupby("customer_id")["experiences"]
    truth = truth.assign(previous=e.shift(1).fillna(0) + e.shift(2).fillna(0))
    churn = pd.to_datetime(
        truth["customer_id"].map(demo["customers"].set_index("customer_id")["churn_month"])
    )
    at_churn = pd.to_datetime(truth["month"]) == churn
    rate_churn = (truth.loc[at_churn, "previous"] > 0).mean()
    rate_other = (truth.loc[~at_churn & (truth["hazard"] > 0), "previous"] > 0).mean()
    assert rate_churn > 2 * rate_other


def test_new_truth_tables_are_deterministic_and_replaced(tmp_path):
    tables = ("gold_sentiment", "demo_surges", "demo_churn_truth")
    with Store.open(tmp_path / "db.duckdb") as store:
        generate_demo(store, tickets=300, seed=11)
        first = {t: store.query(f"SELECT * FROM {t} ORDER BY ALL") for t in tables}
        store.execute_write(
            "INSERT INTO ticket_sentiment SELECT ticket_key, 'm', 'neutral', 0.9 FROM tickets"
        )
        generate_demo(store, tickets=300, seed=11)  # the same seed again: the same truth
        for t in tables:
            pd.testing.assert_frame_equal(store.query(f"SELECT * FROM {t} ORDER BY ALL"), first[t])
        assert store.table_counts()["ticket_sentiment"] == 0  # went with the old tickets
        summary = generate_demo(store, tickets=100, seed=2)
        counts = store.table_counts()
    assert counts["gold_sentiment"] == counts["tickets"] == summary.tickets == 100
    assert counts["demo_surges"] == summary.surges == len(planned_surges())
    assert summary.negative_tickets > 0


def test_zero_tickets_still_records_the_truth(tmp_path):
    with Store.open(tmp_path / "db.duckdb") as store:
        summary = generate_demo(store, tickets=0, seed=3)
        counts = store.table_counts()
        planted = store.scalar("SELECT sum(tickets) FROM demo_surges")
    assert summary.tickets == counts["gold_sentiment"] == 0 and planted == 0
    assert counts["demo_churn_truth"] > 0


def test_gold_tickets_with_sentiment_are_deterministic_and_honest():
    plain = list(iter_gold_tickets(200, seed=4))
    assert all(t.sentiment is None for t in plain)
    first = list(iter_gold_tickets(200, seed=4, sentiment=True))
    assert first == list(iter_gold_tickets(200, seed=4, sentiment=True))
    assert {t.sentiment for t in first} == set(SENTIMENTS)
    for t in first:
        low = t.text.lower()
        if t.sentiment == "negative":
            assert any(s in low for s in _lower(NEGATIVE_TONE))
        elif t.sentiment == "positive":
            assert any(s in low for s in _lower(POSITIVE_TONE))
        else:
            assert not any(s in low for s in _lower(NEGATIVE_TONE + POSITIVE_TONE))
        previous_end = 0
        for start, end, _label in t.spans:
            assert previous_end <= start < end <= len(t.text)
            assert t.text[start:end] == t.text[start:end].strip()
            assert start == 0 or not t.text[start - 1].isalnum()
            assert end == len(t.text) or not t.text[end].isalnum()
            previous_end = end
