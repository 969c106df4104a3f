"""Positioning: per-segment optima and the price-against-quality map.

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

import numpy as np
import pandas as pd

from analytics.costs import CostInputs
from analytics.demand import ConstantElasticityDemand
from analytics.elasticity import MentionInteraction, estimate_elasticities
from analytics.errors import NoInteriorOptimumError
from analytics.inputs import current_prices, segment_snapshot
from analytics.optimize import optimal_price
from analytics.signals import competitor_pressure, mentions_by_vendor

__all__ = [
    "TIER_LABELS",
    "competitor_price_points",
    "model_tier_table",
    "positioning_map",
    "quality_tier",
    "segment_optima",
    "segment_optima_from",
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


def model_tier_table() -> pd.DataFrame:
    """The explicit tiers of ``data/reference/model-tiers.csv`` (see the module docstring).

    Returns:
        Columns ``vendor`` (display name, as in ``competitor_prices``), ``model_id``,
        ``tier`` and ``reason``.
    """
    return pd.DataFrame(list(_tier_rows()), columns=["vendor", "model_id", "tier", "reason"])


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


def segment_optima_from(inputs: pd.DataFrame, costs: CostInputs | None = None) -> pd.DataFrame:
    """Optimal price and contribution per segment from a table of inputs (pure).

    Args:
        inputs: per segment ``segment``, ``price_per_m`` (current), ``volume_m`` (monthly
            volume at that price), ``elasticity``, ``tickets_per_million`` and optionally
            ``ai_share`` (measured AI resolution share; else the cost inputs').
        costs: the cost model (defaults from the anchors).

    Returns:
        The inputs plus ``unit_cost``, ``current_contribution``, ``optimal_price``,
        ``optimal_volume_m``, ``optimal_contribution``, ``gain`` and ``note`` (why a
        segment has no optimum: |ε| ≤ 1). Contributions are before fixed costs, USD/month.
    """
    costs = costs or CostInputs()
    rows = []
    for rec in inputs.to_dict("records"):
        share = rec.get("ai_share")
        ci = (
            costs
            if share is None or not np.isfinite(share)
            else costs.replace(ai_resolution_share=float(share))
        )
        c = ci.unit_cost_per_million(float(rec.get("tickets_per_million") or 0.0))
        p, q, e = float(rec["price_per_m"]), float(rec["volume_m"]), float(rec["elasticity"])
        row = {
            **rec,
            "unit_cost": c,
            "current_contribution": (p - c) * q,
            "optimal_price": np.nan,
            "optimal_volume_m": np.nan,
            "optimal_contribution": np.nan,
            "gain": np.nan,
            "note": "",
        }
        try:
            best = optimal_price(ConstantElasticityDemand.through(p, q, e), c)
            row.update(
                optimal_price=best.price,
                optimal_volume_m=best.quantity,
                optimal_contribution=best.profit,
                gain=best.profit - row["current_contribution"],
            )
        except (NoInteriorOptimumError, ValueError) as exc:
            row["note"] = str(exc)
        rows.append(row)
    return pd.DataFrame(rows)


def segment_optima(
    store: Any,
    costs: CostInputs | None = None,
    *,
    interaction: MentionInteraction | None = None,
    model_id: str | None = None,
    months: int = 3,
    min_tickets: int = 30,
    rates: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per-segment optimal price and contribution from the store.

    Uses each segment's fitted elasticity; when ``interaction`` (from
    ``estimate_mention_interaction``) is given, the elasticity is shifted by the change of the
    segment's competitor-mention rate: ε_now = ε + γ·(recent rate − period rate), so rising
    pressure lowers the optimal price. The shift needs at least ``min_tickets`` tagged tickets
    in the recent months (a rate from a handful of tickets is noise). Volumes and prices are
    the last ``months`` months. ``rates``: ``competitor_mention_rates`` for ``model_id``
    when already computed (saves its query).

    Returns:
        ``segment_optima_from`` columns plus ``ci_low``, ``ci_high``, ``fitted_elasticity``,
        ``mention_rate``, ``recent_mention_rate``, ``pressure_index``, ``recent_tickets``.
    """
    snap = segment_snapshot(store, months=months)
    snap = snap[snap["segment"].notna()]
    fits = estimate_elasticities(store)
    df = snap.merge(
        fits[["segment", "elasticity", "ci_low", "ci_high", "note"]], on="segment", how="left"
    ).rename(columns={"note": "fit_note"})
    df["volume_m"] = df["tokens"] / 1e6
    df["fitted_elasticity"] = df["elasticity"]
    pressure = competitor_pressure(store, model_id=model_id, rates=rates)
    df = df.merge(
        pressure[["segment", "rate", "recent_rate", "index", "recent_tickets"]].rename(
            columns={
                "rate": "mention_rate",
                "recent_rate": "recent_mention_rate",
                "index": "pressure_index",
            }
        ),
        on="segment",
        how="left",
    )
    if interaction is not None:
        shift = interaction.slope * (df["recent_mention_rate"] - df["mention_rate"])
        enough = df["recent_tickets"].fillna(0) >= min_tickets
        df["elasticity"] = df["elasticity"] + shift.where(enough, 0.0).fillna(0.0)
    ok = df["elasticity"].notna()
    out = segment_optima_from(
        df.loc[
            ok,
            [
                "segment",
                "price_per_m",
                "volume_m",
                "elasticity",
                "tickets_per_million",
                "ai_share",
                "fitted_elasticity",
                "ci_low",
                "ci_high",
                "mention_rate",
                "recent_mention_rate",
                "pressure_index",
                "recent_tickets",
            ],
        ],
        costs,
    )
    missing = df.loc[~ok, ["segment", "fit_note"]].rename(columns={"fit_note": "note"})
    return pd.concat([out, missing], ignore_index=True) if len(missing) else out
