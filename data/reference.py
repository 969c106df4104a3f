"""Reference data shipped in ``data/reference/``: competitor prices, price cuts, cost anchors.

* ``llm-prices/*.json``: list prices in USD per million tokens by vendor and model, with
  ``price_history`` entries (``from_date`` / ``to_date``) recording real price changes.
* ``llm-prices-cn.json``: Chinese vendors' list prices in their billing currency, with the
  USD→CNY rate of the snapshot.
* ``cost-anchors.md``: published cost, margin and support figures; :data:`COST_ANCHOR_DEFAULTS`
  holds the defaults derived from it.

Blended prices (one number per model) weight input and output tokens
``BLEND_INPUT_SHARE : 1 − BLEND_INPUT_SHARE`` (3:1, the usual chat mix). Which competitor an
entity names (the aliases and the matching rule) is :mod:`data.competitor_names`.

Example:
    >>> blended_price(1.0, 4.0)
    1.75
    >>> vendor_display("moonshot-ai"), vendor_display("new-vendor")
    ('Moonshot AI', 'New Vendor')
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "BLEND_INPUT_SHARE",
    "COST_ANCHOR_DEFAULTS",
    "REFERENCE_DIR",
    "VENDOR_DISPLAY",
    "CostAnchors",
    "blended_price",
    "competitor_models",
    "competitor_price_rows",
    "load_competitor_prices",
    "price_cut_events",
    "cn_file",
    "us_files",
]

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
BLEND_INPUT_SHARE = 0.75

#: vendor id in the price files → display name used everywhere in the product.
VENDOR_DISPLAY: dict[str, str] = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "deepseek": "DeepSeek",
    "google": "Google",
    "mistral": "Mistral AI",
    "moonshot-ai": "Moonshot AI",
    "moonshot": "Moonshot AI",
    "qwen": "Alibaba Qwen",
    "alibaba": "Alibaba Qwen",
    "xai": "xAI",
    "meta-ai": "Meta",
    "amazon": "Amazon",
    "minimax": "MiniMax",
    "bytedance": "ByteDance",
    "baidu": "Baidu",
    "tencent": "Tencent",
    "zhipu": "Zhipu AI",
    "xfyun": "iFlytek",
    "xiaomi": "Xiaomi",
    "stepfun": "StepFun",
    "baichuan": "Baichuan",
}


@dataclass(frozen=True)
class CostAnchors:
    """Documented defaults of the cost model (see ``data/reference/cost-anchors.md``).

    Money in USD; token prices per million tokens.
    """

    gpu_hour_usd: float = 2.0  # H100/H800 rental, DeepSeek's costing and gmicloud.ai
    utilisation: float = 0.45  # rented GPUs run at 30–60 %
    utilisation_range: tuple[float, float] = (0.30, 0.60)
    node_gpus: int = 8
    input_tokens_per_s_per_node: float = 73_700.0  # DeepSeek serving day, 2025-02
    output_tokens_per_s_per_node: float = 14_800.0
    variable_cost_per_m_range: tuple[float, float] = (0.1, 0.6)
    variable_cost_per_m: float = 0.30  # ≈ DeepSeek's derived output cost
    list_price_range_per_m: tuple[float, float] = (0.3, 3.0)
    gross_margin_target: tuple[float, float] = (0.50, 0.60)  # a16z
    inference_share_of_revenue: float = 0.23  # ICONIQ
    cost_decline_per_year: float = 10.0  # a16z "LLMflation": ×10 cheaper per year
    human_ticket_usd: float = 13.50  # Gartner 2024, assisted contact
    human_ticket_range_usd: tuple[float, float] = (8.0, 14.0)
    self_service_ticket_usd: float = 1.84  # Gartner 2024, self-service
    ai_resolution_usd: float = 0.99  # Intercom Fin, price per resolution
    ai_ticket_range_usd: tuple[float, float] = (1.0, 2.0)
    source: str = "data/reference/cost-anchors.md"


COST_ANCHOR_DEFAULTS = CostAnchors()


def blended_price(input_price: float | None, output_price: float | None) -> float | None:
    """One price per million tokens at the 3:1 input:output mix (None when unknown)."""
    if input_price is None or output_price is None:
        return None
    return BLEND_INPUT_SHARE * float(input_price) + (1 - BLEND_INPUT_SHARE) * float(output_price)


@lru_cache(maxsize=1)
def us_files() -> tuple[tuple[str, dict[str, Any]], ...]:
    """Every ``llm-prices/*.json`` price file, read: (vendor, its JSON)."""
    out = []
    for path in sorted((REFERENCE_DIR / "llm-prices").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        out.append((str(data.get("vendor") or path.stem), data))
    return tuple(out)


@lru_cache(maxsize=1)
def cn_file() -> dict[str, Any]:
    """The Chinese vendors' price file ``llm-prices-cn.json``, read."""
    return json.loads((REFERENCE_DIR / "llm-prices-cn.json").read_text(encoding="utf-8"))


def _date(value: Any) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def vendor_display(vendor_id: str) -> str:
    """Display name of a vendor id (the id title-cased when unknown)."""
    return VENDOR_DISPLAY.get(vendor_id, vendor_id.replace("-", " ").title())


def competitor_price_rows() -> pd.DataFrame:
    """All reference price rows in the layout of the ``competitor_prices`` table (pure)."""
    rows: list[dict[str, Any]] = []
    for vendor_id, data in us_files():
        for model in data.get("models", []):
            for entry in model.get("price_history", []):
                rows.append(
                    {
                        "vendor": vendor_display(vendor_id),
                        "model_id": model["id"],
                        "model_name": model.get("name") or model["id"],
                        "currency": "USD",
                        "input_price": entry.get("input"),
                        "output_price": entry.get("output"),
                        "input_price_usd": entry.get("input"),
                        "output_price_usd": entry.get("output"),
                        "cached_input_price_usd": entry.get("input_cached"),
                        "valid_from": _date(entry.get("from_date")),
                        "valid_to": _date(entry.get("to_date")),
                        "source": f"llm-prices/{vendor_id}.json (simonw/llm-prices)",
                    }
                )
    cn = cn_file()
    rate = float(cn["usd_to_cny_rate"])
    for model in cn.get("models", []):

        def usd(key: str, m: dict[str, Any] = model) -> float | None:
            value = m.get(key)
            return None if value is None else round(float(value) / rate, 6)

        rows.append(
            {
                "vendor": vendor_display(model.get("vendor_id", "")),
                "model_id": model["id"],
                "model_name": model.get("name") or model["id"],
                "currency": model.get("billing_currency") or "CNY",
                "input_price": model.get("input_price_orig_per_m"),
                "output_price": model.get("output_price_orig_per_m"),
                "input_price_usd": usd("input_price_cny_per_m"),
                "output_price_usd": usd("output_price_cny_per_m"),
                "cached_input_price_usd": usd("cached_input_price_cny_per_m"),
                "valid_from": None,
                "valid_to": _date(model.get("last_verified")) if model.get("retired") else None,
                "source": f"llm-prices-cn.json (llmabacus.com, CC-BY 4.0, {rate} CNY/USD)",
            }
        )
    df = pd.DataFrame(rows)
    for col in (
        "input_price",
        "output_price",
        "input_price_usd",
        "output_price_usd",
        "cached_input_price_usd",
    ):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    return df


def load_competitor_prices(store: Any) -> int:
    """Replace the ``competitor_prices`` table with the reference data; return its row count.

    Args:
        store: a writable :class:`data.store.Store`.
    """
    df = competitor_price_rows()

    def write(conn: Any) -> int:
        conn.execute("DELETE FROM competitor_prices")
        conn.register("competitor_rows", df)
        try:
            conn.execute(
                "INSERT INTO competitor_prices (vendor, model_id, model_name, currency,"
                " input_price, output_price, input_price_usd, output_price_usd,"
                " cached_input_price_usd, valid_from, valid_to, source)"
                " SELECT vendor, model_id, model_name, currency, input_price, output_price,"
                " input_price_usd, output_price_usd, cached_input_price_usd,"
                " CAST(valid_from AS DATE), CAST(valid_to AS DATE), source FROM competitor_rows"
            )
        finally:
            conn.unregister("competitor_rows")
        return len(df)

    return int(store.write(write))


def competitor_models() -> pd.DataFrame:
    """One row per (vendor, model) with its current blended USD price (pure).

    Columns: ``vendor``, ``vendor_id``, ``model_id``, ``model_name``, ``price_per_m``.
    """
    rows = []
    for vendor_id, data in us_files():
        for model in data.get("models", []):
            current = [e for e in model.get("price_history", []) if not e.get("to_date")]
            entry = current[0] if current else model["price_history"][-1]
            rows.append(
                {
                    "vendor": vendor_display(vendor_id),
                    "vendor_id": vendor_id,
                    "model_id": model["id"],
                    "model_name": model.get("name") or model["id"],
                    "price_per_m": blended_price(entry.get("input"), entry.get("output")),
                }
            )
    return pd.DataFrame(rows)


def price_cut_events(*, include_rises: bool = False) -> pd.DataFrame:
    """The real list-price changes recorded in the price histories, oldest first.

    Args:
        include_rises: also return price increases (by default only cuts).

    Returns:
        Columns ``vendor``, ``vendor_id``, ``model_id``, ``model``, ``date`` (the day the new
        price applies), ``old_input``, ``old_output``, ``new_input``, ``new_output``,
        ``old_price``, ``new_price`` (blended USD per 1M tokens) and ``pct_change``
        (negative for a cut).
    """
    rows = []
    for vendor_id, data in us_files():
        for model in data.get("models", []):
            history = model.get("price_history", [])
            by_from = {e.get("from_date"): e for e in history if e.get("from_date")}
            for old in history:
                day = old.get("to_date")
                new = by_from.get(day) if day else None
                if new is None:
                    continue
                old_p = blended_price(old.get("input"), old.get("output"))
                new_p = blended_price(new.get("input"), new.get("output"))
                if old_p is None or new_p is None or old_p == new_p:
                    continue
                pct = (new_p - old_p) / old_p * 100.0
                if pct > 0 and not include_rises:
                    continue
                rows.append(
                    {
                        "vendor": vendor_display(vendor_id),
                        "vendor_id": vendor_id,
                        "model_id": model["id"],
                        "model": model.get("name") or model["id"],
                        "date": pd.Timestamp(day),
                        "old_input": float(old["input"]),
                        "old_output": float(old["output"]),
                        "new_input": float(new["input"]),
                        "new_output": float(new["output"]),
                        "old_price": old_p,
                        "new_price": new_p,
                        "pct_change": round(pct, 2),
                    }
                )
    columns = [
        "vendor",
        "vendor_id",
        "model_id",
        "model",
        "date",
        "old_input",
        "old_output",
        "new_input",
        "new_output",
        "old_price",
        "new_price",
        "pct_change",
    ]
    df = pd.DataFrame(rows, columns=columns)
    return df.sort_values(["date", "vendor", "model_id"], kind="stable").reset_index(drop=True)
