"""Quality tiers of competitor models: name rules by whole words, and the explicit table."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.positioning import (
    _name_tier,
    _tier_rows,
    _words,
    competitor_price_points,
    quality_tier,
)
from data.reference import competitor_price_rows


def _current_models() -> pd.DataFrame:
    """Every (vendor, model) with a current price, as ``competitor_price_points`` reads it."""
    df = competitor_price_rows()
    df = df[df["valid_to"].isna() & df["input_price_usd"].notna() & df["output_price_usd"].notna()]
    df = df.sort_values("currency", key=lambda c: c != "USD", kind="stable")
    df = df.drop_duplicates(["vendor", "model_id"]).reset_index(drop=True)
    df["tier"] = [
        quality_tier(n, vendor=v, model_id=i)
        for v, i, n in zip(df["vendor"], df["model_id"], df["model_name"], strict=True)
    ]
    return df


@pytest.fixture(scope="module")
def models() -> pd.DataFrame:
    return _current_models()


@pytest.mark.parametrize(
    ("name", "tier"),
    [
        ("Gemini 2.5 Pro", 3),
        ("Gemini 2.5 Flash", 1),
        ("Gemini 2.5 Flash-Lite", 1),
        ("Gemini 1.5 Pro ≤128k", 3),
        ("GPT-4o mini", 1),
        ("gpt-4o-mini", 1),
        ("GPT-4.5", 3),
        ("gpt-4.5", 3),
        ("Claude Opus 4.5", 3),
        ("Claude 3.5 Haiku", 1),
        ("Nova Pro", 3),
        ("Nova Micro", 1),
        ("Mistral Large", 3),
        ("Mistral Small", 1),
        ("Llama 3.3 70B", 2),
        ("Llama 3.1 8B", 1),
        ("DeepSeek Reasoner", 3),
        ("o3-mini", 1),
        ("o3", 3),
        ("o1 and o1-preview", 3),
        ("MiniMax M2", 2),
        ("Mixtral 8x7B", 2),
        ("GLM-4.5-Air", 1),
        ("GPT-4o", 2),
        ("Claude Sonnet 4.5", 2),
    ],
)
def test_name_rules_read_whole_words(name: str, tier: int) -> None:
    assert quality_tier(name) == tier


def test_words_keep_versions_and_split_on_hyphens() -> None:
    assert _words("gpt-4o-mini") == ["gpt", "4o", "mini"]
    assert _words("GPT-4.5") == ["gpt", "4.5"]
    assert _words("Gemini 2.5 Flash-Lite") == ["gemini", "2.5", "flash", "lite"]


# One current model per vendor family, with the tier a pricing manager would give it.
PER_VENDOR = {
    ("OpenAI", "gpt-4o-mini"): 1,
    ("OpenAI", "gpt-4.5"): 3,
    ("OpenAI", "gpt-5"): 2,
    ("Anthropic", "claude-opus-4-5"): 3,
    ("Anthropic", "claude-3.5-haiku"): 1,
    ("Anthropic", "claude-sonnet-4-6"): 2,
    ("Google", "gemini-2.5-pro"): 3,
    ("Google", "gemini-2.5-flash"): 1,
    ("Google", "gemini-2.5-flash-lite"): 1,
    ("Amazon", "amazon-nova-pro"): 3,
    ("Amazon", "amazon-nova-micro"): 1,
    ("Mistral AI", "mistral-large-latest"): 3,
    ("Mistral AI", "mistral-small-latest"): 1,
    ("Mistral AI", "mistral-medium-2505"): 2,
    ("DeepSeek", "deepseek-reasoner"): 3,
    ("DeepSeek", "deepseek-chat"): 2,
    ("Alibaba Qwen", "qwen3-5-flash"): 1,
    ("Alibaba Qwen", "qwen3-max"): 3,
    ("xAI", "grok-4-fast"): 1,
    ("xAI", "grok-3-mini"): 1,
    ("xAI", "grok-4"): 2,
    ("Meta", "muse-spark-1.2"): 2,
    ("MiniMax", "minimax-m2"): 2,
    ("MiniMax", "minimax-m3"): 3,
    ("Moonshot AI", "kimi-k2-thinking"): 3,
    ("Moonshot AI", "kimi-k2-0905-preview"): 2,
    ("Zhipu AI", "glm-4-7"): 2,
    ("Zhipu AI", "glm-5"): 3,
    ("iFlytek", "spark-x2-flash"): 1,
    ("iFlytek", "spark-x2"): 3,
    ("Baidu", "ernie-4-5-turbo"): 2,
    ("ByteDance", "doubao-seed-2-1-pro"): 3,
    ("ByteDance", "doubao-1-5-pro"): 1,
    ("Tencent", "hunyuan-turbos"): 2,
    ("Xiaomi", "mimo-v2-5"): 2,
    ("StepFun", "step-3-7-flash"): 1,
    ("Baichuan", "baichuan-m2"): 2,
}


def test_one_model_per_vendor_family(models: pd.DataFrame) -> None:
    tiers = models.set_index(["vendor", "model_id"])["tier"]
    for key, tier in PER_VENDOR.items():
        assert tiers[key] == tier, key
    # every vendor in the price data is covered (a new vendor needs a line above)
    assert set(models["vendor"]) == {v for v, _ in PER_VENDOR}
    assert set(models["tier"]) == {1, 2, 3}


def test_no_gemini_is_budget_unless_flash_lite_or_nano(models: pd.DataFrame) -> None:
    gemini = models[models["model_name"].str.contains("gemini", case=False)]
    assert len(gemini) > 10
    for name, tier in zip(gemini["model_name"], gemini["tier"], strict=True):
        if tier == 1:
            assert {"flash", "lite", "nano"} & set(_words(name)), name
    pro = gemini[gemini["model_name"].str.contains(r"\bPro\b")]
    assert len(pro) >= 5 and (pro["tier"] == 3).all()


def test_no_word_matches_inside_another(models: pd.DataFrame) -> None:
    """ "mini" inside "Gemini"/"MiniMax", "max" inside "MiniMax", "air" inside "Blair"."""
    for name in ("Gemini Ultra", "MiniMax M2", "Blair 1", "Promax 2", "Smallville"):
        assert quality_tier(name) in {2, 3}
    assert quality_tier("MiniMax M2") == 2 and quality_tier("Gemini Ultra") == 3


def test_tier_table_is_explicit_and_minimal(models: pd.DataFrame) -> None:
    table = pd.DataFrame(list(_tier_rows()), columns=["vendor", "model_id", "tier", "reason"])
    assert len(table) > 0 and not table.duplicated(["vendor", "model_id"]).any()
    assert table["tier"].isin([1, 2, 3]).all() and table["reason"].str.len().gt(10).all()
    names = models.set_index(["vendor", "model_id"])["model_name"]
    for row in table.itertuples():
        assert (row.vendor, row.model_id) in names.index, row  # a model in the price data
        name = names[(row.vendor, row.model_id)]
        assert _name_tier(name) != row.tier, row  # only where the name rules are wrong
        assert quality_tier(name, vendor=row.vendor, model_id=row.model_id) == row.tier
        assert quality_tier(name, model_id=row.model_id) == row.tier


def test_table_lookup_falls_back_to_the_name_rules() -> None:
    assert quality_tier("Grok 4 Fast", vendor="xAI", model_id="grok-4-fast") == 1
    assert quality_tier("Grok 4 Fast") == 2  # the name alone
    assert quality_tier("Grok 4 Fast", vendor="OpenAI", model_id="grok-4-fast") == 2
    assert quality_tier("Some Pro", vendor="xAI", model_id="not-in-the-table") == 3


class _FakeStore:
    """Answers ``competitor_price_points``'s one query with a fixed frame."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame

    def query(self, sql: str) -> pd.DataFrame:
        return self.frame.copy()


def test_competitor_price_points_use_the_table() -> None:
    store = _FakeStore(
        pd.DataFrame(
            {
                "vendor": ["xAI", "Google", "OpenAI"],
                "model_id": ["grok-4-fast", "gemini-2.5-pro", "gpt-4.5"],
                "model_name": ["Grok 4 Fast", "Gemini 2.5 Pro ≤200k", "GPT-4.5"],
                "input_price": [0.2, 1.25, 75.0],
                "output_price": [0.5, 10.0, 150.0],
            }
        )
    )
    points = competitor_price_points(store, input_share=0.75)
    assert points["tier"].tolist() == [1, 3, 3]
    assert points["tier_label"].tolist() == ["budget", "frontier", "frontier"]
