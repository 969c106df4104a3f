"""Positioning: the price-against-quality map and the quality tiers behind it.

Quality proxy (documented, not measured): the price data carry no benchmark score, so a
model's quality tier — 1 "budget", 2 "mid", 3 "frontier" — is its place in its vendor's
line-up, read in two steps:

1. ``data/reference/model-tiers.csv`` (``vendor``, ``model_id``, ``tier``, ``reason``): the
   models whose name misleads the rules below, each with its reason. It was written once,
   by hand, from two documented sources and a review: the vendor listings' own labels in
   ``llm-prices-cn.json`` (旗舰 "flagship" → 3, 极便宜 "very cheap" → 1), carried over to
   the same model's other ids in ``llm-prices/*.json``; and a review of every current
   model's tier by the rules against its vendor's line-up and prices (xAI's "Fast" models
   are its budget line; "Spark Ultra" is not iFlytek's flagship). It lists only models
   where it disagrees with the rules; add a row when a new model's name misleads them.
2. Name rules, for every model not in the table. The name is split into words (letters and
   digits, a dot kept inside a version: "gpt-4o-mini" → gpt, 4o, mini; "GPT-4.5" → gpt,
   4.5), so a word never matches inside another ("mini" is not in "Gemini" or "MiniMax"):

   * tier 1, "budget", when any word is one of nano, micro, lite, flash, mini, haiku,
     small, air, nemo, ministral, or a size of at most 14B parameters (3b, 8b, 12b);
   * else tier 3, "frontier", when a word is one of opus, pro, max, premier, large,
     ultra, reasoner, thinking, o1, o3, fable, mythos, or the words read "gpt 4.5";
   * else tier 2, "mid".

   The budget rule wins ("Gemini 2.5 Flash-Lite" and "o3-mini" are budget, "Nova Pro" and
   "Gemini 2.5 Pro" frontier). Our plans sit at ``our_tier`` (default 2, mid).

Example:
    >>> quality_tier("GPT-4o Mini"), quality_tier("Claude Opus 4.5"), quality_tier("GPT-4o")
    (1, 3, 2)
    >>> quality_tier("Gemini 2.5 Pro"), quality_tier("GPT-4.5"), quality_tier("o3-mini")
    (3, 3, 1)
    >>> quality_tier("Grok 4 Fast", vendor="xAI", model_id="grok-4-fast")  # from the table
    1
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from typing import Any

import pandas as pd

from analytics.inputs import current_prices
from analytics.signals import mentions_by_vendor

__all__ = [
    "TIER_LABELS",
    "competitor_price_points",
    "positioning_map",
    "quality_tier",
]

TIER_LABELS: dict[int, str] = {1: "budget", 2: "mid", 3: "frontier"}
_BUDGET_WORDS = frozenset(
    {"nano", "micro", "lite", "flash", "mini", "haiku", "small", "air", "nemo", "ministral"}
)
_FRONTIER_WORDS = frozenset(
    {
        "opus",
        "pro",
        "max",
        "premier",
        "large",
        "ultra",
        "reasoner",
        "thinking",
        "o1",
        "o3",
        "fable",
        "mythos",
    }
)
_FRONTIER_PHRASES: tuple[tuple[str, ...], ...] = (("gpt", "4.5"), ("gpt", "4", "5"))
_WORD = re.compile(r"[a-z0-9]+(?:\.[a-z0-9]+)*")
_SIZE = re.compile(r"(\d+(?:\.\d+)?)b")
_MAX_BUDGET_BILLIONS = 14.0
_TIER_TABLE = "model-tiers.csv"


def _words(model_name: str) -> list[str]:
    """Lower-case words of a model name: letters and digits, dots inside versions kept."""
    return _WORD.findall(model_name.lower())


def _has_phrase(words: list[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(words[i : i + n]) == phrase for i in range(len(words) - n + 1))


def _name_tier(model_name: str) -> int:
    """The name rules of the module docstring."""
    words = _words(model_name)
    sizes = [float(m.group(1)) for w in words if (m := _SIZE.fullmatch(w))]
    if _BUDGET_WORDS.intersection(words) or any(x <= _MAX_BUDGET_BILLIONS for x in sizes):
        return 1
    if _FRONTIER_WORDS.intersection(words) or any(
        _has_phrase(words, ph) for ph in _FRONTIER_PHRASES
    ):
        return 3
    return 2


@lru_cache(maxsize=1)
def _tier_rows() -> tuple[tuple[str, str, int, str], ...]:
    from data.reference import REFERENCE_DIR

    path = REFERENCE_DIR / _TIER_TABLE
    if not path.exists():
        return ()
    with path.open(encoding="utf-8", newline="") as f:
        rows = tuple(
            (r["vendor"].strip(), r["model_id"].strip(), int(r["tier"]), r["reason"].strip())
            for r in csv.DictReader(f)
        )
    bad = [r for r in rows if r[2] not in TIER_LABELS]
    if bad:
        raise ValueError(f"{_TIER_TABLE}: tier must be 1, 2 or 3 (rows {bad})")
    return rows


def _table_tier(vendor: str | None, model_id: str) -> int | None:
    hits = [
        t
        for v, m, t, _ in _tier_rows()
        if m == model_id and (vendor is None or v.lower() == vendor.lower())
    ]
    return hits[0] if len(set(hits)) == 1 else None


def quality_tier(model_name: str, *, vendor: str | None = None, model_id: str | None = None) -> int:
    """Quality tier 1 (budget), 2 (mid) or 3 (frontier) of a model (see the module docstring).

    Args:
        model_name: the model's display name, e.g. "Gemini 2.5 Flash-Lite".
        vendor: its vendor's display name ("OpenAI"), to look the model up in the table.
        model_id: its id in the price data ("gpt-4o-mini"); with it, the explicit tier
            table decides when it lists the model (by vendor and id, or by id alone when
            ``vendor`` is not given and the id is unambiguous); the name rules otherwise.
    """
    if model_id:
        tier = _table_tier(vendor, model_id)
        if tier is not None:
            return tier
    return _name_tier(model_name)


def competitor_price_points(store: Any, *, input_share: float | None = None) -> pd.DataFrame:
    """Current competitor list prices, one row per (vendor, model), blended per 1M tokens.

    Prices billed in USD are preferred over converted ones for the same model.

    Returns:
        Columns ``vendor``, ``model_id``, ``model_name``, ``price_per_m`` (blended at
        ``input_share`` input tokens, default ``data.reference.BLEND_INPUT_SHARE``),
        ``input_price``, ``output_price`` (USD), ``tier``, ``tier_label``.
    """
    if input_share is None:
        from data.reference import BLEND_INPUT_SHARE

        input_share = BLEND_INPUT_SHARE
    df = store.query(
        "SELECT vendor, model_id, model_name, input_price_usd AS input_price,"
        " output_price_usd AS output_price FROM competitor_prices"
        " WHERE valid_to IS NULL AND input_price_usd IS NOT NULL AND output_price_usd IS NOT NULL"
        " QUALIFY row_number() OVER (PARTITION BY vendor, model_id ORDER BY"
        "  (currency = 'USD') DESC, valid_from DESC NULLS LAST) = 1"
        " ORDER BY vendor, model_id"
    )
    df["price_per_m"] = input_share * df["input_price"] + (1 - input_share) * df["output_price"]
    df["tier"] = pd.Series(
        [
            quality_tier(n, vendor=v, model_id=i)
            for v, i, n in zip(df["vendor"], df["model_id"], df["model_name"], strict=True)
        ],
        index=df.index,
        dtype=int,
    )
    df["tier_label"] = df["tier"].map(TIER_LABELS)
    return df[
        [
            "vendor",
            "model_id",
            "model_name",
            "price_per_m",
            "input_price",
            "output_price",
            "tier",
            "tier_label",
        ]
    ]


def positioning_map(
    store: Any,
    *,
    our_name: str = "us",
    our_tier: float = 2.0,
    model_id: str | None = None,
    max_price: float | None = None,
) -> pd.DataFrame:
    """Points of the positioning map: our plans and the competitors' models.

    Args:
        store: the store.
        our_name: the label of our points' ``vendor``.
        our_tier: our quality tier (the proxy has no way to measure our own model).
        model_id: tagger whose entities give the mention pressure (default newest).
        max_price: leave out models above this blended price (outliers squash a chart).

    Returns:
        Columns ``name``, ``vendor``, ``kind`` ("us"/"competitor"), ``price_per_m``,
        ``tier``, ``tier_label``, ``mention_tickets`` and ``mention_share`` (tickets naming
        the vendor, the measured pressure each competitor exerts; 0 for us or untagged).
    """
    ours = current_prices(store)
    us = pd.DataFrame(
        {
            "name": ours["plan"],
            "vendor": our_name,
            "kind": "us",
            "price_per_m": ours["price_per_m"].astype(float),
            "tier": float(our_tier),
        }
    )
    comp = competitor_price_points(store)
    them = pd.DataFrame(
        {
            "name": comp["model_name"],
            "vendor": comp["vendor"],
            "kind": "competitor",
            "price_per_m": comp["price_per_m"],
            "tier": comp["tier"].astype(float),
        }
    )
    if max_price is not None:
        them = them[them["price_per_m"] <= max_price]
    mentions = mentions_by_vendor(store, model_id=model_id)
    out = pd.concat([us, them], ignore_index=True)
    out = out.merge(
        mentions.rename(columns={"tickets": "mention_tickets", "share": "mention_share"}),
        on="vendor",
        how="left",
    )
    out[["mention_tickets", "mention_share"]] = (
        out[["mention_tickets", "mention_share"]].astype(float).fillna(0.0)
    )
    out["tier_label"] = out["tier"].round().astype(int).map(TIER_LABELS)
    return out[
        [
            "name",
            "vendor",
            "kind",
            "price_per_m",
            "tier",
            "tier_label",
            "mention_tickets",
            "mention_share",
        ]
    ]
