"""The Overview and Entities numbers recomputed independently on the demo data (plain
pandas over the tables), and what the pages show of them."""

from __future__ import annotations

import calendar
import datetime as dt
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics import explore
from analytics.explore import CostRates, Filters
from data.store import Store
from tests.dashboard.conftest import APP

D = dt.date


@pytest.fixture(scope="module")
def store(demo_db_path: Path):
    with Store.open(demo_db_path, read_only=True) as s:
        yield s


@pytest.fixture(scope="module")
def usage(store: Store) -> pd.DataFrame:
    df = store.query(
        "SELECT u.*, c.segment, c.plan AS customer_plan FROM usage u"
        " LEFT JOIN customers c USING (customer_id)"
    )
    df["month"] = pd.to_datetime(df["month"]).dt.date
    return df


@pytest.fixture(scope="module")
def tickets(store: Store) -> pd.DataFrame:
    df = store.query(
        "SELECT t.ticket_key, t.customer_id, t.created_at, t.resolved_by,"
        " c.segment FROM tickets t LEFT JOIN customers c USING (customer_id)"
    )
    df["day"] = pd.to_datetime(df["created_at"]).dt.date
    return df


def prorated(usage: pd.DataFrame, start: dt.date, end: dt.date, column: str) -> float:
    """Sum of ``column`` with each month weighted by its share of days in [start, end]."""
    total = 0.0
    for month, value in zip(usage["month"], usage[column], strict=True):
        days = calendar.monthrange(month.year, month.month)[1]
        last = month.replace(day=days)
        inside = (min(last, end) - max(month, start)).days + 1
        if inside > 0:
            total += float(value) * inside / days
    return total


def tokens(usage: pd.DataFrame, start: dt.date, end: dt.date) -> float:
    return prorated(usage, start, end, "input_tokens") + prorated(
        usage, start, end, "output_tokens"
    )


def ticket_count(tickets: pd.DataFrame, start: dt.date, end: dt.date) -> int:
    return int(((tickets["day"] >= start) & (tickets["day"] <= end)).sum())


# -- 12: period boundaries ---------------------------------------------------------------


def test_whole_months_compare_with_the_same_calendar_months_before(store, usage, tickets) -> None:
    k = explore.kpis(store, Filters(start=D(2025, 7, 1), end=D(2025, 12, 31))).set_index("kpi")
    in_months = usage["month"].between(D(2025, 7, 1), D(2025, 12, 1))
    before = usage["month"].between(D(2025, 1, 1), D(2025, 6, 1))
    expected = (usage.loc[in_months, "input_tokens"] + usage.loc[in_months, "output_tokens"]).sum()
    previous = (usage.loc[before, "input_tokens"] + usage.loc[before, "output_tokens"]).sum()
    assert k.loc["tokens", "value"] == pytest.approx(expected)
    assert k.loc["tokens", "previous"] == pytest.approx(previous)  # Jan–Jun, not from 29 Dec
    assert k.loc["revenue", "previous"] == pytest.approx(usage.loc[before, "revenue"].sum())
    assert k.loc["tickets", "previous"] == ticket_count(tickets, D(2025, 1, 1), D(2025, 6, 30))
    assert k.loc["tokens", "change"] == pytest.approx(expected / previous - 1)


@pytest.mark.parametrize(
    ("start", "end", "prev_start", "prev_end"),
    [
        (D(2026, 8, 2), D(2026, 8, 31), D(2026, 7, 3), D(2026, 8, 1)),  # "last 30 days"
        (D(2025, 3, 15), D(2025, 6, 14), D(2024, 12, 13), D(2025, 3, 14)),  # mid to mid month
        (D(2025, 2, 1), D(2025, 2, 20), D(2025, 1, 12), D(2025, 1, 31)),
    ],
)
def test_partial_months_count_pro_rata_by_day(
    store, usage, tickets, start, end, prev_start, prev_end
) -> None:
    f = Filters(start=start, end=end)
    assert (f.previous().start, f.previous().end) == (prev_start, prev_end)
    k = explore.kpis(store, f).set_index("kpi")
    now, before = tokens(usage, start, end), tokens(usage, prev_start, prev_end)
    assert k.loc["tokens", "value"] == pytest.approx(now)
    assert k.loc["tokens", "previous"] == pytest.approx(before)
    assert k.loc["tokens", "change"] == pytest.approx(now / before - 1)
    assert k.loc["revenue", "value"] == pytest.approx(prorated(usage, start, end, "revenue"))
    assert k.loc["revenue", "previous"] == pytest.approx(
        prorated(usage, prev_start, prev_end, "revenue")
    )
    assert k.loc["tickets", "value"] == ticket_count(tickets, start, end)
    assert k.loc["tickets", "previous"] == ticket_count(tickets, prev_start, prev_end)
    # the usage chart's months add up to the KPI
    assert explore.usage_volume(store, f)["tokens"].sum() == pytest.approx(now)


def test_last_30_days_tokens_change_is_not_halved(store) -> None:
    """Issue 11: the edge month used to land in both periods (−52 % instead of about −9 %)."""
    k = explore.kpis(store, Filters(start=D(2026, 8, 2), end=D(2026, 8, 31))).set_index("kpi")
    assert -0.25 < k.loc["tokens", "change"] < 0.1


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (D(2026, 8, 2), D(2026, 8, 31)),
        (D(2025, 3, 15), D(2025, 6, 14)),
        (D(2025, 7, 1), D(2025, 12, 31)),
        (D(2026, 1, 10), D(2026, 1, 10)),
    ],
)
def test_adjacent_periods_never_count_a_day_twice(store, usage, start, end) -> None:
    f = Filters(start=start, end=end)
    prev = f.previous()
    assert prev.end == start - dt.timedelta(days=1)
    union = Filters(start=prev.start, end=end)
    k = explore.kpis(store, f).set_index("kpi")
    whole = explore.kpis(store, union).set_index("kpi")
    for kpi in ("tokens", "revenue", "tickets"):
        assert k.loc[kpi, "value"] + k.loc[kpi, "previous"] == pytest.approx(
            whole.loc[kpi, "value"]
        )
    assert whole.loc["tokens", "value"] == pytest.approx(tokens(usage, prev.start, end))


# -- 13: a previous period before the data -------------------------------------------------


def test_previous_period_before_the_data_has_no_change(store, usage, tickets) -> None:
    first = min(min(usage["month"]), min(tickets["day"]))
    f = Filters(start=D(2025, 3, 1), end=D(2026, 8, 31))  # 18 months: the previous is not data
    assert f.previous().start < first
    k = explore.kpis(store, f)
    assert k["change"].isna().all()
    assert (k["note"] == f"previous period starts before the data (first data {first})").all()
    # a previous period that starts on the first day with data compares normally
    covered = explore.kpis(store, Filters(start=D(2025, 9, 1), end=D(2026, 8, 31)))
    assert covered["change"].notna().all() and (covered["note"] == "").all()


# -- 14: active customers -----------------------------------------------------------------


@pytest.mark.parametrize("segments", [(), ("smb",), ("enterprise",)])
def test_active_customers_are_those_active_at_the_end(store, usage, segments) -> None:
    customers = store.query("SELECT * FROM customers")
    last = pd.Timestamp("2025-12-01")
    signup = pd.to_datetime(customers["signup_month"])
    churn = pd.to_datetime(customers["churn_month"])
    active = (signup <= last) & (churn.isna() | (churn > last))
    if segments:
        active &= customers["segment"].isin(segments)
    f = Filters(start=D(2025, 1, 1), end=D(2025, 12, 31), segments=segments)
    k = explore.kpis(store, f).set_index("kpi")
    assert k.loc["customers", "value"] == active.sum()
    # the test discriminates: customers who churned during the year used the service
    in_year = usage["month"].between(D(2025, 1, 1), D(2025, 12, 1))
    if segments:
        in_year &= usage["segment"].isin(segments)
    assert usage.loc[in_year, "customer_id"].nunique() > active.sum()
    before = (signup <= pd.Timestamp("2024-12-01")) & (
        churn.isna() | (churn > pd.Timestamp("2024-12-01"))
    )
    if segments:
        before &= customers["segment"].isin(segments)
    assert k.loc["customers", "previous"] == before.sum()


# -- 16: cost to serve, plan filter, hover texts -----------------------------------------------


def test_gross_margin_and_cost_to_serve_cost_input_and_output_separately(
    store, usage, tickets
) -> None:
    rates = CostRates(
        gpu_input_cost_per_m=0.2,
        gpu_output_cost_per_m=0.9,
        human_ticket_cost=12.0,
        ai_ticket_cost=1.5,
    )
    start, end = D(2026, 2, 10), D(2026, 5, 20)
    f = Filters(start=start, end=end)
    gpu = (
        prorated(usage, start, end, "input_tokens") * 0.2
        + prorated(usage, start, end, "output_tokens") * 0.9
    ) / 1e6
    t = tickets[(tickets["day"] >= start) & (tickets["day"] <= end)]
    ai = int((t["resolved_by"] == "ai").sum())
    support = (len(t) - ai) * 12.0 + ai * 1.5
    revenue = prorated(usage, start, end, "revenue")
    k = explore.kpis(store, f, rates).set_index("kpi")
    assert k.loc["gross_margin", "value"] == pytest.approx((revenue - gpu - support) / revenue)
    cts = explore.cost_to_serve(store, f, rates)
    assert cts["gpu_cost"].sum() == pytest.approx(gpu)
    assert cts["support_cost"].sum() == pytest.approx(support)
    assert cts["revenue"].sum() == pytest.approx(revenue)
    assert cts["tickets"].sum() == len(t) == k.loc["tickets", "value"]
    assert cts["tokens"].sum() == pytest.approx(k.loc["tokens", "value"])


@pytest.fixture
def edited_db(demo_db_path: Path, tmp_path: Path) -> Path:
    """The demo plus a ticket and usage of a customer missing from ``customers``, and one
    usage row whose plan differs from its customer's current plan."""
    db = tmp_path / "db.duckdb"
    shutil.copy(demo_db_path, db)
    with Store.open(db) as s:
        s.execute_write(
            "INSERT INTO tickets (ticket_key, customer_id, created_at, text,"
            " resolved_by, source) VALUES ('ghost-t', 'ghost', '2026-03-05 10:00',"
            " 'hello', 'human', 'test')"
        )
        s.execute_write(
            "INSERT INTO usage VALUES ('ghost', '2026-03-01', 'pro', 5, 3000000, 1000000, 1.0, 4.0)"
        )
        s.execute_write(
            "UPDATE usage SET plan = 'legacy' WHERE customer_id ="
            " (SELECT min(customer_id) FROM usage WHERE month = '2026-03-01'"
            "  AND customer_id <> 'ghost') AND month = '2026-03-01'"
        )
    return db


def test_cost_to_serve_and_kpis_keep_unknown_customers(edited_db: Path) -> None:
    march = Filters(start=D(2026, 3, 1), end=D(2026, 3, 31))
    with Store.open(edited_db, read_only=True) as s:
        raw_tickets = s.scalar(
            "SELECT count(*) FROM tickets WHERE created_at >= '2026-03-01'"
            " AND created_at < '2026-04-01'"
        )
        raw_tokens = s.scalar(
            "SELECT sum(input_tokens + output_tokens) FROM usage WHERE month = '2026-03-01'"
        )
        cts = explore.cost_to_serve(s, march).set_index("segment")
        k = explore.kpis(s, march).set_index("kpi")
        assert cts.loc[explore.UNKNOWN_CUSTOMER, "tickets"] == 1
        assert cts.loc[explore.UNKNOWN_CUSTOMER, "tokens"] == 4_000_000
        assert cts["tickets"].sum() == k.loc["tickets", "value"] == raw_tickets
        assert cts["tokens"].sum() == pytest.approx(k.loc["tokens", "value"])
        assert k.loc["tokens", "value"] == pytest.approx(raw_tokens)
        assert cts.index[-1] == explore.UNKNOWN_CUSTOMER  # its own row, after the segments


def test_plan_filter_uses_the_customers_plan_for_tickets_and_usage(edited_db: Path) -> None:
    with Store.open(edited_db, read_only=True) as s:
        cid, plan = s.fetchall(
            "SELECT u.customer_id, c.plan FROM usage u JOIN customers c"
            " USING (customer_id) WHERE u.plan = 'legacy'"
        )[0]
        expected = s.scalar(
            "SELECT sum(u.input_tokens + u.output_tokens) FROM usage u"
            " JOIN customers c USING (customer_id) WHERE c.plan = ?"
            " AND u.month = '2026-03-01'",
            [plan],
        )
        f = Filters(start=D(2026, 3, 1), end=D(2026, 3, 31), plans=(plan,))
        k = explore.kpis(s, f).set_index("kpi")
        assert k.loc["tokens", "value"] == pytest.approx(expected)
        by_plan = explore.usage_volume(
            s, Filters(start=D(2026, 3, 1), end=D(2026, 3, 31)), by="plan"
        )
        assert "legacy" not in set(by_plan["group"])
        assert cid  # the edited customer still counts under its own plan
        assert "legacy" not in explore.filter_options(s)["plans"]


def test_chart_hover_shows_money_in_dollars_and_cents() -> None:
    from dashboard import charts

    df = pd.DataFrame(
        {
            "segment": ["smb"],
            "tokens": [1e6],
            "revenue": [10.36],
            "gpu_cost": [1.0],
            "support_cost": [2.0],
            "tickets": [1],
            "ai_tickets": [0],
            "margin": [7.36],
            "margin_pct": [0.7],
            "cost_per_m": [3.0],
        }
    )
    spec = charts.cost_to_serve_chart(df).to_dict()
    money = [
        t
        for layer in spec["layer"]
        for t in layer["encoding"]["tooltip"]
        if isinstance(t, dict) and t.get("field") in {"usd", "revenue", "margin"}
    ]
    assert money and all(t["format"] == "$,.2f" for t in money)
    uv = pd.DataFrame(
        {
            "month": [D(2025, 1, 1)],
            "group": ["smb"],
            "tokens": [1.0],
            "requests": [1.0],
            "revenue": [10.36],
        }
    )
    tip = charts.usage_chart(uv, y="revenue").to_dict()["encoding"]["tooltip"][-1]
    assert tip["format"] == "$,.2f"


# -- the pages ---------------------------------------------------------------------------


def _metric(at: AppTest, label: str):
    return next(m for m in at.metric if m.label == label)


def test_overview_hover_shows_previous_money_with_cents(app_db: Path, usage) -> None:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["from"] = "2026-03-01"
    at.query_params["to"] = "2026-08-31"
    at.run()
    assert not at.exception
    previous = usage.loc[usage["month"].between(D(2025, 9, 1), D(2026, 2, 1)), "revenue"].sum()
    for label in ("Revenue (USD)", "Support cost per ticket (USD)"):
        assert re.search(r"Previous period: \$[\d,]+\.\d\d\.", _metric(at, label).help)
    assert f"${previous:,.2f}" in _metric(at, "Revenue (USD)").help
    assert "end of the period" in _metric(at, "Active customers").help
    assert any("UTC" in c.value for c in at.caption)


def test_overview_says_why_there_is_no_change(app_db: Path) -> None:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["from"] = "2025-03-01"
    at.query_params["to"] = "2026-08-31"
    at.run()
    assert not at.exception
    tickets = _metric(at, "Tickets")
    assert tickets.proto.delta == "—"
    assert "previous period starts before the data (first data 2024-09-01)" in tickets.help
    assert "+" not in "".join(m.proto.delta for m in at.metric)


def test_entities_caption_and_cards_agree(app_db: Path) -> None:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("views/entities.py").run()
    assert not at.exception

    def listed() -> tuple[str, int]:
        caption = next(c.value for c in at.caption if "newest matching tickets" in c.value)
        html = "".join(h.proto.body for h in at.get("html"))
        return caption, html.count('<div style="border:1px solid #ddd')

    caption, cards = listed()
    total = int(caption.split()[0].replace(",", ""))
    assert total > cards == 25
    assert f"the {cards} newest below as cards, all {total} in the table" in caption
    at.text_input(key="ent_search").set_value("invoice").run()
    caption, cards = listed()
    total = int(caption.split()[0].replace(",", ""))
    if total <= 25:
        assert cards == total and "all below as cards" in caption
    else:
        assert cards == 25 and f"all {total} in the table" in caption
    assert any("UTC" in c.value for c in at.caption)


def test_price_cuts_are_limited_to_the_period() -> None:
    from dashboard import charts

    mentions = pd.DataFrame(
        {
            "month": [D(2025, 3, 1), D(2025, 4, 1)],
            "vendor": ["OpenAI"] * 2,
            "rate": [0.1, 0.2],
            "tickets": [3, 4],
        }
    )
    cuts = pd.DataFrame(
        {
            "date": pd.to_datetime(["2023-06-13", "2025-03-15", "2025-04-30", "2025-05-01"]),
            "vendor": ["OpenAI"] * 4,
            "label": ["a", "b", "c", "d"],
        }
    )
    spec = charts.competitor_mentions_chart(mentions, cuts).to_dict()
    rules = spec["datasets"][spec["layer"][0]["data"]["name"]]
    assert [r["label"] for r in rules] == ["b", "c"]
    spec = charts.competitor_mentions_chart(
        mentions, cuts, start=D(2025, 3, 20), end=D(2025, 5, 1)
    ).to_dict()
    rules = spec["datasets"][spec["layer"][0]["data"]["name"]]
    assert [r["label"] for r in rules] == ["c", "d"]
