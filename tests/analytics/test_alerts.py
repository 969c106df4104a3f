"""analytics.alerts: the surge rule against closed forms, on synthetic counts, and against the
demo's planted surges and quiet periods."""

from __future__ import annotations

import datetime as dt
import math
import shutil

import numpy as np
import pandas as pd
import pytest

from analytics.alerts import (
    ALERT_COLUMNS,
    STATED_FALSE_ALARM_RATE,
    SurgeRule,
    control_limit,
    false_alarm_rate,
    negative_share,
    surge_alerts,
    surge_p_value,
    surge_scan,
    ticket_signals,
)
from data.store import Store


def _betabinom_tail(x: int, n: int, a: float, b: float) -> float:
    """P(X >= x), X ~ BetaBinomial(n, a, b), summed from its pmf C(n,k) B(k+a, n-k+b) / B(a,b)."""

    def log_beta(p: float, q: float) -> float:
        return math.lgamma(p) + math.lgamma(q) - math.lgamma(p + q)

    return sum(
        math.comb(n, k) * math.exp(log_beta(k + a, n - k + b) - log_beta(a, b))
        for k in range(x, n + 1)
    )


def _binom_tail(x: int, n: int, p: float) -> float:
    return sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(x, n + 1))


# -- the rule in closed form -----------------------------------------------------------------


def test_p_value_closed_forms():
    # Jeffreys prior alone: P(X = 2 | n = 2) = B(2.5, .5)/B(.5, .5) = Γ(2.5)/(Γ(3)Γ(.5)) = 3/8
    assert float(surge_p_value(2, 2, 0, 0)) == pytest.approx(3 / 8, rel=1e-12)
    assert float(surge_p_value(1, 1, 0, 0)) == pytest.approx(1 / 2, rel=1e-12)
    assert float(surge_p_value(0, 5, 3, 40)) == 1.0
    for x, n, bx, bn in [(3, 10, 4, 60), (7, 12, 1, 80), (1, 3, 0, 30), (15, 40, 30, 300)]:
        expected = _betabinom_tail(x, n, 0.5 + bx, 0.5 + bn - bx)
        assert float(surge_p_value(x, n, bx, bn)) == pytest.approx(expected, rel=1e-9)


def test_a_long_baseline_gives_the_binomial_limit():
    # with 10^6 baseline tickets the share is known: the test is binomial at p = 0.1
    got = float(surge_p_value(5, 20, 100_000, 1_000_000))
    assert got == pytest.approx(_binom_tail(5, 20, 0.1), rel=1e-3)


def test_p_value_broadcasts():
    p = surge_p_value(np.array([[0, 1], [2, 3]]), 3, np.array([0, 5]), 50)
    assert p.shape == (2, 2)
    assert p[1, 1] == pytest.approx(_betabinom_tail(3, 3, 5.5, 45.5), rel=1e-9)


def test_control_limit_is_the_smallest_surprising_count():
    assert control_limit(2, 0, 0, alpha=0.4) == 2  # P(X≥2) = .375 ≤ .4 < P(X≥1) = .5
    assert control_limit(2, 0, 0, alpha=0.3) == 3  # never: one more than possible
    for n, bx, bn, alpha in [(10, 4, 60, 0.001), (25, 12, 100, 0.01), (5, 0, 40, 0.05)]:
        k = control_limit(n, bx, bn, alpha)
        assert _betabinom_tail(k, n, 0.5 + bx, 0.5 + bn - bx) <= alpha
        if k > 1:
            assert _betabinom_tail(k - 1, n, 0.5 + bx, 0.5 + bn - bx) > alpha


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((-1, 3, 0, 10), "whole numbers"),
        ((1.5, 3, 0, 10), "whole numbers"),
        ((4, 3, 0, 10), "cannot exceed tickets"),
        ((1, 3, 11, 10), "base_negative cannot exceed"),
        ((float("nan"), 3, 0, 10), "whole numbers"),
    ],
)
def test_p_value_bad_counts(args, match):
    with pytest.raises(ValueError, match=match):
        surge_p_value(*args)


def test_bad_rules_and_arguments():
    for kwargs in (
        {"alpha": 0},
        {"alpha": 0.7},
        {"baseline_days": 0},
        {"min_negative": 0},
        {"merge_gap": -1},
        {"prior": 0},
        {"baseline_weeks": 1.5},
    ):
        with pytest.raises(ValueError):
            SurgeRule(**kwargs)
    with pytest.raises(ValueError, match="alpha"):
        control_limit(3, 0, 10, alpha=1.5)
    sig = _synthetic()
    with pytest.raises(ValueError, match="freq"):
        surge_scan(sig, freq="month")
    with pytest.raises(ValueError, match="dimensions"):
        surge_scan(sig, dimensions=("country",))
    with pytest.raises(ValueError, match="ends before"):
        false_alarm_rate(surge_scan(sig), [(dt.date(2025, 2, 1), dt.date(2025, 1, 1))])


# -- synthetic counts ------------------------------------------------------------------------


def _synthetic(burst_day: int = 60, burst: int = 12, one_writer: bool = False) -> pd.DataFrame:
    """Ten tickets a day for 90 days from ten customers, two of them negative (one per
    segment, "a" or "b"); on ``burst_day`` ``burst`` extra negative tickets of segment 'b'
    naming vendor 'X', from as many new customers (or all from one)."""
    rows = []
    start = dt.date(2025, 1, 1)
    for d in range(90):
        day = start + dt.timedelta(days=d)
        for i in range(10):
            rows.append((day, "a" if i % 2 else "b", i % 5 == 0, (), f"c{i}"))
        if d == burst_day:
            rows += [(day, "b", True, ("X",), "w" if one_writer else f"w{j}") for j in range(burst)]
    df = pd.DataFrame(rows, columns=["day", "segment", "negative", "competitors", "customer_id"])
    df["ticket_key"] = [f"k{i}" for i in range(len(df))]
    df["created_at"] = pd.to_datetime(df["day"])
    df["region"], df["plan"] = "r", "p"
    df["products"] = [()] * len(df)
    df["label"] = np.where(df["negative"], "negative", "neutral")
    return df


def test_a_burst_is_found_on_its_day_and_nowhere_else():
    scan = surge_scan(_synthetic(), freq="day")
    alarms = scan[scan["alarm"]]
    assert set(alarms["period"]) == {dt.date(2025, 3, 2)}  # day 60
    assert {("segment", "b"), ("competitor", "X"), ("all", "all")} <= set(
        zip(alarms["dimension"], alarms["value"], strict=True)
    )
    # the baseline is the 28 days before, never the day itself
    row = scan[
        (scan["dimension"] == "segment")
        & (scan["value"] == "b")
        & (scan["period"] == dt.date(2025, 3, 2))
    ].iloc[0]
    assert (row.base_exposure, row.base_negative, row.exposure, row.negative) == (280, 28, 22, 13)
    assert row.p_value == pytest.approx(_betabinom_tail(13, 22, 28.5, 252.5), rel=1e-9)
    # the first 3 days have no baseline of 30 tickets: not tested
    first = scan[scan["period"] < dt.date(2025, 1, 4)]
    assert not first["tested"].any()
    tested = scan[scan["tested"]]
    expected = [
        control_limit(r.exposure, r.base_negative, r.base_exposure, 0.001)
        for r in tested.sample(40, random_state=0).itertuples()
    ]
    assert list(tested.sample(40, random_state=0)["limit"]) == expected


def test_one_customer_writing_many_times_is_one_unhappy_customer():
    scan = surge_scan(_synthetic(one_writer=True), freq="day")
    assert not scan["alarm"].any()
    row = scan[
        (scan["dimension"] == "segment")
        & (scan["value"] == "b")
        & (scan["period"] == dt.date(2025, 3, 2))
    ].iloc[0]
    assert (row.tickets, row.negative_tickets, row.negative, row.exposure) == (17, 13, 2, 11)


def test_a_small_excess_stays_quiet_and_weeks_work():
    scan = surge_scan(_synthetic(burst=2), freq="day")
    assert not scan["alarm"].any()
    weekly = surge_scan(_synthetic(), freq="week")
    assert set(pd.to_datetime(weekly["period"]).dt.day_of_week) == {0}
    hits = weekly[weekly["alarm"] & (weekly["dimension"] == "competitor")]
    assert list(hits["period"]) == [dt.date(2025, 3, 2) - dt.timedelta(days=6)]


def test_false_alarm_rate_counts_tested_quiet_periods():
    scan = surge_scan(_synthetic(), freq="day")
    busy = false_alarm_rate(scan)
    assert busy.alarms == int(scan["alarm"].sum()) and busy.tests == int(scan["tested"].sum())
    quiet = false_alarm_rate(scan, [(dt.date(2025, 3, 2), dt.date(2025, 3, 2))])
    assert quiet.alarms == 0 and quiet.rate == 0.0 and quiet.quiet_periods == 89


def test_negative_share_per_period():
    share = negative_share(_synthetic(), freq="week", dimension="segment")
    assert share["tickets"].sum() == len(_synthetic())
    assert ((share["share"] - share["negative"] / share["tickets"]).abs() < 1e-12).all()


# -- the demo's planted surges and quiet periods ---------------------------------------------


@pytest.fixture(scope="module")
def signals(demo_store):
    return ticket_signals(demo_store, sentiment="gold")


@pytest.fixture(scope="module")
def surges(demo_store):
    df = demo_store.query("SELECT * FROM demo_surges ORDER BY surge_id")
    for c in ("start_day", "end_day", "effect_end"):
        df[c] = pd.to_datetime(df[c]).dt.date
    return df


def _busy(surges: pd.DataFrame) -> list[tuple[dt.date, dt.date]]:
    return [(s.start_day, s.effect_end + dt.timedelta(days=2)) for s in surges.itertuples()]


def test_every_planted_surge_is_found_within_two_days(demo_store, signals, surges):
    alerts = surge_alerts(demo_store, signals=signals, open_only=False)
    assert list(alerts.columns) == list(ALERT_COLUMNS)
    assert len(surges) >= 4
    for s in surges.itertuples():
        found = alerts[
            (alerts["dimension"] == s.dimension)
            & (alerts["value"].str.lower() == s.value.lower())
            & (alerts["since"] >= s.start_day)
            & (alerts["since"] <= s.start_day + dt.timedelta(days=2))
        ]
        assert len(found) == 1, (s.kind, s.value)
        a = found.iloc[0]
        assert a["negative"] >= 0.5 * s.tickets and a["p_value"] <= STATED_FALSE_ALARM_RATE
        assert a["rate"] > a["baseline_rate"]
        if s.dimension in ("product", "competitor"):
            assert s.value.lower() in a["entities"].lower()
        assert len(a["ticket_keys"]) == a["negative"]


def test_quiet_periods_stay_within_the_stated_false_alarm_rate(signals, surges):
    for freq in ("day", "week"):
        report = false_alarm_rate(surge_scan(signals, freq=freq), _busy(surges))
        assert report.tests > (20_000 if freq == "day" else 3_000)
        assert report.rate <= STATED_FALSE_ALARM_RATE, report.alarmed


def test_open_alerts_on_a_surge_day(demo_store, signals, surges):
    outage = surges[surges["kind"] == "outage"].iloc[0]
    as_of = outage.start_day + dt.timedelta(days=1)
    alerts = surge_alerts(demo_store, as_of=as_of)
    assert alerts["open"].all()
    assert ((alerts["dimension"] == "region") & (alerts["value"] == outage.value)).any()
    later = surge_alerts(demo_store, as_of=outage.end_day + dt.timedelta(days=20))
    assert not ((later["dimension"] == "region") & (later["value"] == outage.value)).any()


def test_a_model_id_reads_ticket_sentiment(demo_db_path, tmp_path, signals):
    path = tmp_path / "db.duckdb"
    shutil.copy(demo_db_path, path)
    with Store.open(path) as store:
        assert ticket_signals(store, sentiment="m1", entities="gold").empty
        assert surge_alerts(store, sentiment="m1", entities="gold", open_only=False).empty
        store.execute_write(
            "INSERT INTO ticket_sentiment SELECT ticket_key, ?, label, 0.9 FROM gold_sentiment",
            ["m1"],
        )
        model = ticket_signals(store, sentiment="m1", entities="gold")
        pd.testing.assert_frame_equal(model, signals)
        with pytest.raises(ValueError, match="sentiment"):
            ticket_signals(store, sentiment="")
