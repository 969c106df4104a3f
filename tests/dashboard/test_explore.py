"""analytics.explore on a tiny hand-made store: exact figures, filters, hostile values."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from analytics import explore
from analytics.explore import CostRates, Filters
from data.store import Store

INJECTIONS = [
    "'; DROP TABLE tickets; --",
    "x' OR '1'='1",
    '" OR 1=1 --',
    "%",
    "_",
    "smb') UNION SELECT * FROM customers --",
]


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    """Two customers, two months of usage, five tickets, entities from one model."""
    s = Store.open(tmp_path / "tiny.duckdb")

    def fill(conn) -> None:
        conn.executemany(
            "INSERT INTO customers VALUES (?,?,?,?,?,?,?,?,?)",
            [
                ("c1", "One", "smb", "retail", "pro", "EU", 10, dt.date(2025, 1, 1), None),
                ("c2", "Two", "enterprise", "bank", "scale", "NA", 900, dt.date(2025, 1, 1), None),
            ],
        )
        conn.executemany(
            "INSERT INTO usage VALUES (?,?,?,?,?,?,?,?)",
            [
                ("c1", dt.date(2025, 1, 1), "pro", 10, 1_000_000, 1_000_000, 1.0, 2.0),
                ("c1", dt.date(2025, 2, 1), "pro", 10, 2_000_000, 2_000_000, 1.0, 4.0),
                ("c2", dt.date(2025, 2, 1), "scale", 10, 5_000_000, 5_000_000, 1.0, 10.0),
            ],
        )
        rows = [
            ("k1", "c1", dt.datetime(2025, 1, 5), "email", "billing", "OpenAI is cheaper", "human"),
            ("k2", "c1", dt.datetime(2025, 2, 3), "chat", "api", "GPT-4o beats you", "ai"),
            ("k3", "c2", dt.datetime(2025, 2, 10), "chat", "api", "Call Alice in Berlin", "ai"),
            ("k4", "c2", dt.datetime(2025, 2, 20), "email", "api", "<script>x</script>", None),
            ("k5", None, dt.datetime(2025, 2, 21), "email", "api", '=HYPERLINK("x")', "human"),
        ]
        conn.executemany(
            "INSERT INTO tickets (ticket_key, customer_id, created_at, channel, category, text,"
            " resolved_by, source) VALUES (?,?,?,?,?,?,?,'demo')",
            rows,
        )
        ents = [
            ("k1", "m", 0, 6, "ORG", "OpenAI", 0.9),
            ("k2", "m", 0, 6, "PRODUCT", "GPT-4o", 0.9),
            ("k3", "m", 5, 10, "PER", "Alice", 0.9),
            ("k3", "m", 14, 20, "LOC", "Berlin", 0.9),
        ]
        conn.executemany("INSERT INTO entities VALUES (?,?,?,?,?,?,?)", ents)
        conn.executemany(
            "INSERT INTO tagged_tickets (ticket_key, model_id, run_id) VALUES (?, 'm', 'r')",
            [("k1",), ("k2",), ("k3",), ("k4",)],
        )

    s.write(fill)
    yield s
    s.close()


def test_metadata(store: Store) -> None:
    assert explore.filter_options(store) == {
        "segments": ["enterprise", "smb"],
        "plans": ["pro", "scale"],
        "regions": ["EU", "NA"],
    }
    assert explore.date_bounds(store) == (dt.date(2025, 1, 1), dt.date(2025, 2, 28))
    assert explore.current_model_id(store) == "m"
    assert explore.tagging_progress(store, "m") == (4, 5)
    assert explore.tagging_progress(store, None) == (0, 5)


def test_kpis_and_change_against_previous_period(store: Store) -> None:
    rates = CostRates(
        gpu_input_cost_per_m=1.0,
        gpu_output_cost_per_m=3.0,
        human_ticket_cost=10.0,
        ai_ticket_cost=1.0,
    )
    feb = Filters(start=dt.date(2025, 2, 1), end=dt.date(2025, 2, 28))
    k = explore.kpis(store, feb, rates).set_index("kpi")
    assert k.loc["tickets", "value"] == 4
    assert k.loc["tickets", "previous"] == 1  # a whole month: the previous one is January
    assert k.loc["tickets", "change"] == pytest.approx(3.0)
    assert k.loc["tokens", "value"] == 14_000_000
    assert k.loc["tokens", "previous"] == 2_000_000
    assert k.loc["revenue", "value"] == pytest.approx(14.0)
    assert k.loc["customers", "value"] == 2
    assert (k["note"] == "").all()
    # support: k2, k3 by AI (1 each), k4 open + k5 human at 10 each = 22;
    # gpu: 7 M input × $1 + 7 M output × $3 = $28
    assert k.loc["cost_per_ticket", "value"] == pytest.approx(22 / 4)
    assert k.loc["gross_margin", "value"] == pytest.approx((14 - 28 - 22) / 14)


def test_filters_restrict_every_query(store: Store) -> None:
    smb = Filters(segments=("smb",))
    assert explore.ticket_volume(store, smb, by="segment")["group"].unique().tolist() == ["smb"]
    assert explore.usage_volume(store, smb, by="plan")["tokens"].sum() == 6_000_000
    cts = explore.cost_to_serve(store, Filters()).set_index("segment")
    assert cts.loc["enterprise", "tickets"] == 2 and cts.loc["smb", "revenue"] == 6.0
    # k5 has no customer: its own row, last, as in the KPIs' ticket count
    assert cts.index[-1] == explore.UNKNOWN_CUSTOMER
    assert cts.loc[explore.UNKNOWN_CUSTOMER, "tickets"] == 1
    assert (
        cts["tickets"].sum()
        == explore.kpis(store, Filters()).set_index("kpi").loc["tickets", "value"]
    )
    assert explore.UNKNOWN_CUSTOMER not in set(explore.cost_to_serve(store, smb)["segment"])
    top = explore.top_entities(store, smb, "m")
    assert sorted(top["entity"]) == ["GPT-4o", "OpenAI"]
    assert explore.top_entities(store, Filters(), "m", labels=("LOC",))["entity"].tolist() == [
        "Berlin"
    ]


def test_competitor_mentions_use_aliases(store: Store) -> None:
    df = explore.competitor_mentions(
        store, Filters(), "m", {"openai": "OpenAI", "gpt-4o": "OpenAI"}
    )
    assert df[["vendor", "tickets", "tagged"]].values.tolist() == [
        ["OpenAI", 1, 1],
        ["OpenAI", 1, 3],
    ]
    assert df["rate"].tolist() == pytest.approx([1.0, 1 / 3])


def test_ticket_list_with_entities_and_filters(store: Store) -> None:
    tl = explore.ticket_list(store, Filters(), "m")
    assert tl["ticket_key"].tolist() == ["k5", "k4", "k3", "k2", "k1"]
    k3 = tl.set_index("ticket_key").loc["k3", "entities"]
    assert [(e["label"], e["text"]) for e in k3] == [("PER", "Alice"), ("LOC", "Berlin")]
    assert explore.ticket_list(store, Filters(), "m", entity="alice")["ticket_key"].tolist() == [
        "k3"
    ]
    assert explore.ticket_list(store, Filters(), "m", entity="alice", label="LOC").empty
    assert explore.ticket_list(store, Filters(), "m", search="SCRIPT")["ticket_key"].tolist() == [
        "k4"
    ]
    assert explore.ticket_list(store, Filters(), "m", limit=2)["ticket_key"].tolist() == [
        "k5",
        "k4",
    ]


@pytest.mark.parametrize("evil", INJECTIONS)
def test_hostile_filter_values_are_parameters(store: Store, evil: str) -> None:
    f = Filters(segments=(evil,), plans=(evil,), regions=(evil,))
    assert explore.kpis(store, f).set_index("kpi").loc["tickets", "value"] == 0
    assert explore.ticket_volume(store, f).empty
    assert explore.usage_volume(store, f).empty
    assert explore.top_entities(store, f, evil).empty
    assert explore.ticket_list(store, Filters(), evil, entity=evil, search=evil).empty
    assert explore.competitor_mentions(store, Filters(), evil, {evil: evil}).empty
    assert store.table_counts()["tickets"] == 5


def test_grouping_is_whitelisted(store: Store) -> None:
    with pytest.raises(ValueError, match="cannot group"):
        explore.ticket_volume(store, Filters(), by="text; DROP TABLE tickets")
    with pytest.raises(ValueError, match="cannot group"):
        explore.usage_volume(store, Filters(), by="1=1")


def test_filters_normalise() -> None:
    f = Filters(start=dt.date(2025, 3, 1), end=dt.date(2025, 1, 1), segments=("b", "a", "a"))
    assert (f.start, f.end, f.segments) == (dt.date(2025, 1, 1), dt.date(2025, 3, 1), ("a", "b"))
    assert f.previous() == Filters(
        start=dt.date(2024, 11, 2), end=dt.date(2024, 12, 31), segments=("a", "b")
    )
    months = Filters(start=dt.date(2025, 3, 1), end=dt.date(2025, 4, 30))  # whole months
    assert months.whole_months and not f.whole_months
    assert months.previous() == Filters(start=dt.date(2025, 1, 1), end=dt.date(2025, 2, 28))
    year = Filters(start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31))
    assert year.previous() == Filters(start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31))
    with pytest.raises(ValueError):
        Filters().previous()


def test_empty_store(tmp_path: Path) -> None:
    with Store.open(tmp_path / "empty.duckdb") as s:
        assert explore.date_bounds(s) is None
        assert explore.current_model_id(s) is None
        k = explore.kpis(s, Filters()).set_index("kpi")
        assert k.loc["tickets", "value"] == 0


def test_last_tagging_run(store: Store) -> None:
    assert explore.last_tagging_run(store) is None
    store.execute_write(
        "INSERT INTO tagging_runs (run_id, model_id, device, started_at, status)"
        " VALUES ('r1', 'm', 'cpu', now()::TIMESTAMP, 'interrupted')"
    )
    assert explore.last_tagging_run(store)["status"] == "interrupted"


def test_trends_fill_months_without_mentions_with_zero(store: Store) -> None:
    trend = explore.entity_trends(store, Filters(), "m", top=4)
    openai = trend[trend["entity"] == "OpenAI"]
    assert [str(m)[:10] for m in openai["month"]] == ["2025-01-01", "2025-02-01"]
    assert openai["mentions"].tolist() == [1, 0]
    df = explore.competitor_mentions(store, Filters(), "m", {"gpt-4o": "OpenAI"})
    assert df[["vendor", "tickets", "tagged"]].values.tolist() == [
        ["OpenAI", 0, 1],
        ["OpenAI", 1, 3],
    ]


def test_competitor_mentions_skip_people_and_places(store: Store) -> None:
    """Only ORG and PRODUCT entities name a competitor, whatever the aliases say."""
    assert explore.competitor_mentions(store, Filters(), "m", {"alice": "Alice Corp"}).empty
    default = explore.competitor_mentions(store, Filters(), "m")  # reference aliases
    assert set(default["vendor"]) == {"OpenAI"}
    assert default["tickets"].sum() == 2


def test_cost_rates_default_to_the_cost_model_anchors() -> None:
    """One source of truth: Overview's cost-to-serve uses the cost model's defaults."""
    from analytics.costs import CostInputs
    from data.reference import COST_ANCHOR_DEFAULTS

    rates, inputs = CostRates(), CostInputs()
    assert (
        rates.human_ticket_cost == inputs.human_ticket_cost == COST_ANCHOR_DEFAULTS.human_ticket_usd
    )
    assert rates.ai_ticket_cost == inputs.ai_ticket_cost
    assert rates.gpu_input_cost_per_m == inputs.input_cost_per_million
    assert rates.gpu_output_cost_per_m == inputs.output_cost_per_million
    assert rates.gpu_cost(1e6, 1e6) == pytest.approx(
        inputs.input_cost_per_million + inputs.output_cost_per_million
    )
