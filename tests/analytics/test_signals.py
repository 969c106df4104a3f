"""Competitor matching: one rule (``data.competitor_names.match_competitor``) behind every
competitor-mention figure, checked per vendor, against negatives, and on the demo's gold
spans against the generator's own list of competitor names."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from analytics import explore, signals
from analytics.explore import Filters
from data.competitor_names import competitor_aliases, match_competitor, normalise_entity
from data.store import Store

#: Real ways people write each vendor's names (those of issue 11 and more), with a label.
POSITIVES: dict[str, list[tuple[str, str]]] = {
    "Google": [
        ("Google Cloud", "ORG"),
        ("Google DeepMind", "ORG"),
        ("Gemini 3 Pro", "PRODUCT"),
        ("GEMINI 2.5 PRO", "PRODUCT"),
        ("gemini-2.5-flash-lite", "PRODUCT"),
        ("Gemma 3 27B", "PRODUCT"),
        ("Google Gemini", "PRODUCT"),
        ("Google", "ORG"),
        ("Vertex AI", "PRODUCT"),
    ],
    "Mistral AI": [
        ("Mistral Large", "PRODUCT"),
        ("Mistral Small", "PRODUCT"),
        ("mistral-medium", "PRODUCT"),
        ("Mixtral 8x22B", "PRODUCT"),
        ("Ministral 8B", "PRODUCT"),
        ("Codestral", "PRODUCT"),
        ("Mistral AI", "ORG"),
        ("mistral_large_2", "PRODUCT"),
    ],
    "Alibaba Qwen": [
        ("Qwen team", "ORG"),
        ("qwen3.5-flash", "PRODUCT"),
        ("Qwen3 Max", "PRODUCT"),
        ("Qwen 3 Max", "PRODUCT"),
        ("Qwen2.5-72B-Instruct", "PRODUCT"),
        ("QwQ-32B", "PRODUCT"),
        ("Alibaba Cloud", "ORG"),
    ],
    "Amazon": [
        ("Nova Pro", "PRODUCT"),
        ("Nova Micro", "PRODUCT"),
        ("Nova 2 Lite", "PRODUCT"),
        ("Amazon Nova Lite", "PRODUCT"),
        ("Amazon Bedrock", "PRODUCT"),
        ("AWS", "ORG"),
        ("Amazon Web Services", "ORG"),
    ],
    "Meta": [
        ("Llama 4", "PRODUCT"),
        ("llama-3.3-70b", "PRODUCT"),
        ("Llama 4 Maverick", "PRODUCT"),
        ("Meta Llama 3.1", "PRODUCT"),
        ("llama3", "PRODUCT"),
        ("Muse Spark", "PRODUCT"),
        ("Meta", "ORG"),
        ("Meta AI", "ORG"),
    ],
    "OpenAI": [
        ("GPT-4o", "PRODUCT"),
        ("gpt_4o", "PRODUCT"),
        ("GPT 4.1", "PRODUCT"),
        ("o3", "PRODUCT"),
        ("o4-mini", "PRODUCT"),
        ("o3 Pro", "PRODUCT"),
        ("GPT-5.6 Luna", "PRODUCT"),
        ("ChatGPT", "PRODUCT"),
        ("OpenAI's", "ORG"),
        ("OpenAI API", "PRODUCT"),
    ],
    "Anthropic": [
        ("Claude Sonnet 4.5", "PRODUCT"),
        ("claude-3.5-haiku", "PRODUCT"),
        ("Claude Opus 4", "PRODUCT"),
        ("Opus 4.1", "PRODUCT"),
        ("Claude Code", "PRODUCT"),
        ("Anthropic", "ORG"),
    ],
    "Moonshot AI": [
        ("Kimi K2", "PRODUCT"),
        ("kimi-k2-turbo", "PRODUCT"),
        ("Kimi K2 Thinking", "PRODUCT"),
        ("Moonshot AI", "ORG"),
    ],
    "xAI": [
        ("Grok 4", "PRODUCT"),
        ("grok-4-fast", "PRODUCT"),
        ("Grok 3 Mini", "PRODUCT"),
        ("xAI", "ORG"),
    ],
    "DeepSeek": [
        ("DeepSeek-V3", "PRODUCT"),
        ("DeepSeek V4 Pro", "PRODUCT"),
        ("deepseek-reasoner", "PRODUCT"),
        ("Deepseek", "ORG"),
    ],
    "MiniMax": [("MiniMax M2", "PRODUCT"), ("minimax-m2", "PRODUCT")],
    "Zhipu AI": [("GLM-4.5", "PRODUCT"), ("glm 5", "PRODUCT")],
    "Baidu": [("ERNIE 4.5", "PRODUCT"), ("Ernie Bot", "PRODUCT")],
    "ByteDance": [("Doubao 1.5 Pro", "PRODUCT")],
    "Tencent": [("Hunyuan T1", "PRODUCT")],
}
#: Ordinary names that start like a vendor or family, and people and places.
NEGATIVES: list[tuple[str, str]] = [
    ("Google Sheets", "PRODUCT"),
    ("google sheets", "PRODUCT"),
    ("Google Maps API", "PRODUCT"),
    ("Nova Scotia", "LOC"),
    ("Nova Scotia", "ORG"),
    ("Nova", "ORG"),
    ("Nova Bank", "ORG"),
    ("Olga Novak", "PER"),
    ("Sara Ivanova", "PER"),
    ("Claude", "PER"),
    ("Ernie", "PER"),
    ("Amazon", "LOC"),
    ("Amazon Prime", "PRODUCT"),
    ("Meta Quest 3", "PRODUCT"),
    ("Llama Index", "PRODUCT"),
    ("Apache Spark", "PRODUCT"),
    ("Spark 3", "PRODUCT"),
    ("Step 2", "PRODUCT"),
    ("Microsoft Teams", "PRODUCT"),
    ("Vertex Law Partners", "ORG"),
    ("Gemini Exchange", "ORG"),
    ("Claude Bernard University", "ORG"),
    ("Opus Energy", "ORG"),
    ("Haiku", "PRODUCT"),
    ("O2", "ORG"),
    ("Muse", "ORG"),
    ("Tessera Chat", "PRODUCT"),
    ("", "ORG"),
    ("   ", "PRODUCT"),
]
CASES = [(v, t, lab) for v, names in POSITIVES.items() for t, lab in names]


@pytest.mark.parametrize(("vendor", "text", "label"), CASES)
def test_vendor_variants_match(vendor: str, text: str, label: str) -> None:
    assert match_competitor(text, label) == vendor


@pytest.mark.parametrize(("text", "label"), NEGATIVES)
def test_ordinary_words_people_and_places_do_not_match(text: str, label: str) -> None:
    assert match_competitor(text, label) is None


def test_normalisation() -> None:
    assert normalise_entity("  Qwen3.5-flash ") == normalise_entity("QWEN3_5  FLASH")
    assert normalise_entity("GPT-4o") == normalise_entity("gpt 4o") == "gpt 4o"
    # custom aliases match in normal form and without trailing versions, nothing more
    assert match_competitor("ACME-Model 3.1", "PRODUCT", aliases={"acme model": "Acme"}) == "Acme"
    assert match_competitor("Gemini 3 Pro", "PRODUCT", aliases={"acme": "Acme"}) is None
    assert match_competitor("acme", "PER", aliases={"acme": "Acme"}) is None
    assert match_competitor("GPT-4o") == "OpenAI"  # unknown label: accepted


def test_every_alias_still_matches_itself() -> None:
    """The reference aliases are all matched (nothing lost to the new rule)."""
    misses = {a: v for a, v in competitor_aliases().items() if match_competitor(a, "PRODUCT") != v}
    assert misses == {}


# -- on the demo's gold spans -----------------------------------------------------------


@pytest.fixture(scope="module")
def demo_store(demo_db_path: Path):
    with Store.open(demo_db_path, read_only=True) as store:
        yield store


def _truth_forms() -> dict[str, str]:
    """The generator's competitor names (lower case) → vendor display name."""
    from data.demo.vocab import COMPETITOR_MODELS, COMPETITOR_ORGS
    from data.reference import vendor_display

    return {
        f.lower(): vendor_display(v)
        for table in (COMPETITOR_MODELS, COMPETITOR_ORGS)
        for v, forms in table.items()
        for f in forms
    }


def test_gold_spans_match_exactly_the_generators_competitor_names(demo_store) -> None:
    gold = demo_store.query("SELECT DISTINCT text, label FROM gold_entities")
    truth = gold["text"].str.lower().map(_truth_forms())
    got = pd.Series(
        [match_competitor(t, lab) for t, lab in zip(gold["text"], gold["label"], strict=True)]
    )
    wrong = gold.assign(truth=truth, got=got)[truth.fillna("-") != got.fillna("-")]
    assert wrong.empty, wrong.to_string()
    assert truth.notna().sum() > 30  # the demo has many distinct competitor names


def _gold_vendor_tickets(store: Store) -> pd.Series:
    """Tickets per vendor from the gold spans and the generator's names, in plain pandas."""
    gold = store.query("SELECT ticket_key, text FROM gold_entities")
    gold["vendor"] = gold["text"].str.lower().map(_truth_forms())
    return gold.dropna(subset=["vendor"]).groupby("vendor")["ticket_key"].nunique()


def test_mentions_by_vendor_counts_every_variant(demo_store) -> None:
    expected = _gold_vendor_tickets(demo_store)
    got = signals.mentions_by_vendor(demo_store, model_id="gold").set_index("vendor")["tickets"]
    assert got.sort_index().to_dict() == expected.sort_index().to_dict()
    n = demo_store.scalar("SELECT count(*) FROM tickets")
    shares = signals.mentions_by_vendor(demo_store, model_id="gold").set_index("vendor")["share"]
    assert shares.to_dict() == pytest.approx((expected / n).to_dict())


def test_mention_rates_and_pressure_use_the_same_matching(demo_store) -> None:
    gold = demo_store.query(
        "SELECT g.ticket_key, g.text, c.segment FROM gold_entities g"
        " JOIN tickets t ON t.ticket_key = g.ticket_key"
        " JOIN customers c ON c.customer_id = t.customer_id"
    )
    gold = gold[gold["text"].str.lower().isin(_truth_forms())]
    expected = gold.groupby("segment")["ticket_key"].nunique()
    rates = signals.competitor_mention_rates(demo_store, model_id="gold")
    assert rates.groupby("segment")["mention_tickets"].sum().to_dict() == expected.to_dict()
    pressure = signals.competitor_pressure(demo_store, model_id="gold").set_index("segment")
    tickets = demo_store.query(
        "SELECT c.segment, count(*) AS n FROM tickets t JOIN customers c"
        " ON c.customer_id = t.customer_id GROUP BY 1"
    ).set_index("segment")["n"]
    assert pressure["rate"].to_dict() == pytest.approx((expected / tickets).to_dict())


def test_explore_competitor_mentions_uses_the_same_matching(
    demo_db_path: Path, tmp_path: Path
) -> None:
    db = tmp_path / "db.duckdb"
    shutil.copy(demo_db_path, db)
    with Store.open(db) as store:
        store.execute_write(
            "INSERT INTO entities SELECT ticket_key, 'g', start, \"end\","
            " label, text, 1.0 FROM gold_entities"
        )
        store.execute_write(
            "INSERT INTO tagged_tickets (ticket_key, model_id, run_id)"
            " SELECT ticket_key, 'g', 'r' FROM tickets"
        )
        df = explore.competitor_mentions(store, Filters(), "g")
        expected = _gold_vendor_tickets(store)
        # tickets per vendor and month summed over months = tickets per vendor (a ticket
        # lies in one month)
        assert df.groupby("vendor")["tickets"].sum().to_dict() == expected.to_dict()
        same = signals.mentions_by_vendor(store, model_id="g").set_index("vendor")["tickets"]
        assert same.to_dict() == expected.to_dict()


def test_hostile_entity_text_and_aliases_are_parameters(tmp_store) -> None:
    evil = "'; DROP TABLE tickets; --"

    def fill(conn) -> None:
        conn.execute(
            "INSERT INTO customers VALUES ('a', 'A', 'smb', 'x', 'pro', 'EU', 1,"
            " '2025-01-01', NULL)"
        )
        conn.execute(
            "INSERT INTO tickets (ticket_key, customer_id, created_at, text, source)"
            " VALUES ('k', 'a', '2025-01-02', ?, 'test')",
            [evil],
        )
        conn.execute("INSERT INTO entities VALUES ('k', 'm', 0, 5, 'ORG', ?, 1.0)", [evil])
        conn.execute("INSERT INTO entities VALUES ('k', 'm', 6, 12, 'PRODUCT', 'Nova Pro', 1.0)")
        conn.execute(
            "INSERT INTO tagged_tickets (ticket_key, model_id, run_id) VALUES ('k', 'm', 'r')"
        )

    tmp_store.write(fill)
    assert signals.mentions_by_vendor(tmp_store, model_id="m")["vendor"].tolist() == ["Amazon"]
    custom = signals.mentions_by_vendor(tmp_store, model_id="m", aliases={evil: evil})
    assert custom["vendor"].tolist() == [evil]
    assert explore.competitor_mentions(tmp_store, Filters(), evil, {evil: evil}).empty
    assert tmp_store.scalar("SELECT count(*) FROM tickets") == 1
