"""Reference data shipped in ``data/reference/``: competitor prices, aliases, cost anchors.

* ``llm-prices/*.json``: list prices in USD per million tokens by vendor and model, with
  ``price_history`` entries (``from_date`` / ``to_date``) recording real price changes.
* ``llm-prices-cn.json``: Chinese vendors' list prices in their billing currency, with the
  USD→CNY rate of the snapshot.
* ``cost-anchors.md``: published cost, margin and support figures; :data:`COST_ANCHOR_DEFAULTS`
  holds the defaults derived from it.

Blended prices (one number per model) weight input and output tokens
``BLEND_INPUT_SHARE : 1 − BLEND_INPUT_SHARE`` (3:1, the usual chat mix).

Example:
    >>> aliases = competitor_aliases()
    >>> aliases["gpt-4o"], aliases["kimi"]
    ('OpenAI', 'Moonshot AI')
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "BLEND_INPUT_SHARE",
    "COMPETITOR_LABELS",
    "COST_ANCHOR_DEFAULTS",
    "REFERENCE_DIR",
    "VENDOR_DISPLAY",
    "CostAnchors",
    "blended_price",
    "competitor_aliases",
    "competitor_models",
    "competitor_price_rows",
    "load_competitor_prices",
    "match_competitor",
    "normalise_entity",
    "price_cut_events",
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

# Names people use that the price files do not contain (lower case → vendor id).
# A bare "nova" is not one: "Nova" alone is as often a bank, a person or Nova Scotia; Amazon's
# models match through the family rule ("Nova Pro", "Nova 2 Lite", "Amazon Nova").
_EXTRA_ALIASES: dict[str, str] = {
    "open ai": "openai",
    "chatgpt": "openai",
    "gpt": "openai",
    "gpt-4": "openai",
    "gpt4": "openai",
    "gpt4o": "openai",
    "gpt-5": "openai",
    "claude": "anthropic",
    "claude sonnet": "anthropic",
    "sonnet": "anthropic",
    "claude 3.5 sonnet": "anthropic",
    "claude opus": "anthropic",
    "claude haiku": "anthropic",
    "deep seek": "deepseek",
    "deepseek-v3": "deepseek",
    "deepseek v3": "deepseek",
    "deepseek-r1": "deepseek",
    "deepseek r1": "deepseek",
    "gemini": "google",
    "google ai": "google",
    "vertex ai": "google",
    "deepmind": "google",
    "google deepmind": "google",
    "google cloud": "google",
    "mistral": "mistral",
    "mistral ai": "mistral",
    "le chat": "mistral",
    "moonshot": "moonshot-ai",
    "moonshot ai": "moonshot-ai",
    "kimi": "moonshot-ai",
    "kimi k2": "moonshot-ai",
    "qwen": "qwen",
    "alibaba": "qwen",
    "alibaba cloud": "qwen",
    "tongyi": "qwen",
    "grok": "xai",
    "x.ai": "xai",
    "llama": "meta-ai",
    "meta": "meta-ai",
    "meta ai": "meta-ai",
    "bedrock": "amazon",
    "aws": "amazon",
    "amazon bedrock": "amazon",
    "amazon nova": "amazon",
    "doubao": "bytedance",
    "ernie": "baidu",
    "hunyuan": "tencent",
    "glm": "zhipu",
}

#: Model families people name without a price-file id (first word → vendor id).
_EXTRA_FAMILIES: dict[str, str] = {
    "llama": "meta-ai",
    "codellama": "meta-ai",
    "gemma": "google",
    "qwq": "qwen",
    "devstral": "mistral",
    "chatglm": "zhipu",
    "abab": "minimax",
    "nova": "amazon",
    "sonnet": "anthropic",
    "opus": "anthropic",
    "haiku": "anthropic",
    "aws": "amazon",
    "iflytek": "xfyun",
    "ernie": "baidu",
    "tongyi": "qwen",
}
#: First words of reference model ids that are ordinary words elsewhere: matched only as
#: whole aliases ("spark pro", "step 3.7 flash"), never as a family ("Apache Spark 3").
_NOT_FAMILIES: frozenset[str] = frozenset({"open", "text", "spark", "step", "x", "the"})
#: Family or vendor words that are also ordinary words, names or places: they match only
#: with a qualifier ("Nova Pro", "Opus 4", "o3 mini"; "Google Cloud", "Amazon Nova").
#: Words of one or two characters ("o1", "o3") are always treated so.
_AMBIGUOUS_WORDS: frozenset[str] = frozenset(
    {
        "nova",
        "muse",
        "mimo",
        "sonnet",
        "opus",
        "haiku",  # model families
        "google",
        "amazon",
        "meta",
        "alibaba",
        "moonshot",
        "xiaomi",
        "aws",  # vendor names
    }
)
#: Words that may follow a vendor name in the name of its organisation or platform.
_ORG_WORDS: frozenset[str] = frozenset(
    {
        "ai",
        "cloud",
        "deepmind",
        "research",
        "labs",
        "lab",
        "team",
        "inc",
        "llc",
        "ltd",
        "corp",
        "corporation",
        "company",
        "co",
        "group",
        "technologies",
        "technology",
        "tech",
        "web",
        "services",
        "bedrock",
        "vertex",
        "studio",
        "platform",
        "platforms",
        "api",
        "apis",
        "dashscope",
        "qianfan",
        "volcengine",
        "developers",
        "console",
        "brain",
        "llm",
        "llms",
        "model",
        "models",
    }
)
#: Size, tier and variant words of model names (besides those in the reference names).
_TIER_WORDS: frozenset[str] = frozenset(
    {
        "pro",
        "lite",
        "light",
        "micro",
        "mini",
        "nano",
        "premier",
        "max",
        "plus",
        "flash",
        "turbo",
        "ultra",
        "large",
        "medium",
        "small",
        "tiny",
        "base",
        "instruct",
        "chat",
        "coder",
        "code",
        "codex",
        "vision",
        "vl",
        "omni",
        "audio",
        "realtime",
        "embed",
        "embedding",
        "embeddings",
        "reasoning",
        "reasoner",
        "thinking",
        "think",
        "fast",
        "preview",
        "latest",
        "exp",
        "experimental",
        "deep",
        "research",
        "sonic",
        "canvas",
        "reel",
        "air",
        "speed",
        "high",
        "low",
        "long",
        "scout",
        "maverick",
        "behemoth",
        "guard",
        "math",
        "enterprise",
        "premium",
        "standard",
        "instant",
        "it",
        "hf",
        "bot",
        "assistant",
    }
)
_STOP_WORDS: frozenset[str] = frozenset({"and", "or", "of", "the", "with", "for", "tokens"})
#: Entity labels that can name a competitor; people and places never do ("Nova Scotia",
#: "Ernie Smith").
COMPETITOR_LABELS: tuple[str, ...] = ("ORG", "PRODUCT")


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
def _us_files() -> tuple[tuple[str, dict[str, Any]], ...]:
    out = []
    for path in sorted((REFERENCE_DIR / "llm-prices").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        out.append((str(data.get("vendor") or path.stem), data))
    return tuple(out)


@lru_cache(maxsize=1)
def _cn_file() -> dict[str, Any]:
    return json.loads((REFERENCE_DIR / "llm-prices-cn.json").read_text(encoding="utf-8"))


def _date(value: Any) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def vendor_display(vendor_id: str) -> str:
    """Display name of a vendor id (the id title-cased when unknown)."""
    return VENDOR_DISPLAY.get(vendor_id, vendor_id.replace("-", " ").title())


def competitor_price_rows() -> pd.DataFrame:
    """All reference price rows in the layout of the ``competitor_prices`` table (pure)."""
    rows: list[dict[str, Any]] = []
    for vendor_id, data in _us_files():
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
    cn = _cn_file()
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
    for vendor_id, data in _us_files():
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


@lru_cache(maxsize=1)
def _aliases() -> tuple[tuple[str, str], ...]:
    out: dict[str, str] = {}

    def add(alias: str, vendor_id: str) -> None:
        key = re.sub(r"\s+", " ", alias.strip().lower())
        if key and key not in out:
            out[key] = vendor_display(vendor_id)

    for vendor_id, data in _us_files():
        add(vendor_id, vendor_id)
        add(vendor_display(vendor_id), vendor_id)
        for model in data.get("models", []):
            add(model["id"], vendor_id)
            add(model["id"].replace("-", " "), vendor_id)
            name = model.get("name") or ""
            if "≤" not in name and ">" not in name:
                add(name, vendor_id)
    for model in _cn_file().get("models", []):
        vendor_id = model.get("vendor_id", "")
        add(vendor_id, vendor_id)
        add(vendor_display(vendor_id), vendor_id)
        add(model.get("vendor_name") or "", vendor_id)
        add(model["id"], vendor_id)
        add(model.get("name") or "", vendor_id)
    for alias, vendor_id in _EXTRA_ALIASES.items():
        add(alias, vendor_id)
    return tuple(sorted(out.items()))


def competitor_aliases() -> dict[str, str]:
    """Lower-case names of competitors and their models → vendor display name.

    Covers vendor ids and names ("openai", "moonshot", "kimi", "qwen", "alibaba"), model ids
    and names from the price files ("gpt-4o", "claude 3.5 sonnet"), Chinese vendor names, and
    common short forms ("chatgpt", "claude", "deepseek-v3"). :func:`match_competitor` matches
    entity text against these and, beyond them, against the vendors' model families.
    """
    return dict(_aliases())


# -- matching entity text to a competitor -----------------------------------------------

_NON_WORD = re.compile(r"[\W_]+")
_POSSESSIVE = re.compile(r"['’]s\b")
_VERSION = re.compile(r"^v?\d")  # "4", "4o", "70b", "8x22b", "v3": a trailing version
_LETTERS = re.compile(r"^[^\W\d_]+")


def normalise_entity(text: str) -> str:
    """Entity or alias text in the form matching compares: Unicode-normalised, case-folded,
    with hyphens, underscores, dots and other punctuation read as spaces.

    Example:
        >>> normalise_entity("  Qwen3.5-flash ") == normalise_entity("qwen3 5 FLASH")
        True
        >>> normalise_entity("Llama_3.3-70B")
        'llama 3 3 70b'
    """
    text = unicodedata.normalize("NFKC", str(text)).casefold()
    text = _POSSESSIVE.sub("", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def _strip_versions(tokens: list[str]) -> list[str]:
    """``tokens`` without trailing version numbers ("claude sonnet 4 5" → "claude sonnet")."""
    end = len(tokens)
    while end > 1 and _VERSION.match(tokens[end - 1]):
        end -= 1
    return tokens[:end]


def _index(pairs: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Normalised alias (and alias without trailing version) → vendor; first one wins."""
    out: dict[str, str] = {}
    for alias, vendor in pairs:
        tokens = normalise_entity(alias).split()
        if tokens:
            out.setdefault(" ".join(tokens), str(vendor))
    for alias, vendor in pairs:
        tokens = _strip_versions(normalise_entity(alias).split())
        if len(tokens) == 1 and (tokens[0] in _AMBIGUOUS_WORDS or len(tokens[0]) <= 2):
            continue  # "MiMo V2.5" is an alias, a bare "mimo" is not
        if tokens:
            out.setdefault(" ".join(tokens), str(vendor))
    return out


@lru_cache(maxsize=1)
def _default_index() -> dict[str, str]:
    return _index(_aliases())


@lru_cache(maxsize=16)
def _custom_index(pairs: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return _index(pairs)


def _family_word(token: str) -> tuple[str, bool]:
    """(family word, glued version?) of a first token: "qwen3" → ("qwen", True); "o3" and
    "gpt" stay whole."""
    m = _LETTERS.match(token)
    if m is None or len(m.group()) <= 2 or m.group() == token:
        return token, False
    return m.group(), True


@dataclass(frozen=True)
class _Families:
    words: dict[str, str]  # family or vendor word → vendor display name
    vendor_words: frozenset[str]  # the words that are vendor names
    qualifiers: frozenset[str]  # tier words and words of the reference model names


@lru_cache(maxsize=1)
def _families() -> _Families:
    seen: dict[str, set[str]] = {}
    vendor_words: set[str] = set()
    qualifiers: set[str] = set(_TIER_WORDS)

    def add(name: str, vendor_id: str, *, vendor: bool = False) -> None:
        tokens = normalise_entity(name).split()
        if not tokens:
            return
        word = _family_word(tokens[0])[0]
        if word in _NOT_FAMILIES or word.isdigit():
            return
        seen.setdefault(word, set()).add(vendor_display(vendor_id))
        if vendor:
            vendor_words.add(word)
        qualifiers.update(
            t for t in tokens[1:] if t.isalpha() and len(t) > 1 and t not in _STOP_WORDS
        )

    for vendor_id, data in _us_files():
        add(vendor_id, vendor_id, vendor=True)
        add(vendor_display(vendor_id), vendor_id, vendor=True)
        for model in data.get("models", []):
            add(model["id"], vendor_id)
            add(model.get("name") or "", vendor_id)
    for model in _cn_file().get("models", []):
        vendor_id = model.get("vendor_id", "")
        add(vendor_id, vendor_id, vendor=True)
        add(vendor_display(vendor_id), vendor_id, vendor=True)
        add(model["id"], vendor_id)
        add(model.get("name") or "", vendor_id)
    for vendor_id in VENDOR_DISPLAY:
        add(vendor_id, vendor_id, vendor=True)
        add(vendor_display(vendor_id), vendor_id, vendor=True)
    for word, vendor_id in _EXTRA_FAMILIES.items():
        add(word, vendor_id)
    vendor_words.add("aws")
    # a word two vendors use names neither
    words = {w: next(iter(v)) for w, v in seen.items() if len(v) == 1}
    return _Families(words, frozenset(vendor_words), frozenset(qualifiers - set(words)))


def _is_version(token: str) -> bool:
    return any(ch.isdigit() for ch in token) and len(token) <= 8


def _family_match(tokens: list[str]) -> str | None:
    """The vendor of a name that starts with a vendor or model-family word (see
    :func:`match_competitor`), or None."""
    fam = _families()
    if tokens and tokens[0] == "the":
        tokens = tokens[1:]
    if not tokens:
        return None
    word, glued = _family_word(tokens[0])
    vendor = fam.words.get(word)
    if vendor is None:
        return None
    rest = tokens[1:]

    def same_vendor(token: str) -> bool:
        return fam.words.get(_family_word(token)[0]) == vendor

    def qualifier(token: str) -> bool:
        return (
            _is_version(token)
            or token in fam.qualifiers
            or token in _ORG_WORDS
            or same_vendor(token)
        )

    if word not in _AMBIGUOUS_WORDS and len(word) > 2:
        return vendor if all(qualifier(t) for t in rest) else None
    if word in fam.vendor_words:
        # "Google Cloud", "Amazon Nova Lite", "Meta Llama 3" — never "Google Sheets"
        if not rest or not (rest[0] in _ORG_WORDS or same_vendor(rest[0])):
            return None
        return vendor if all(qualifier(t) for t in rest[1:]) else None
    # an ambiguous model family: "Nova Pro", "Nova 2 Lite", "Opus 4", "o3 mini"
    if not (glued or rest):
        return None
    return vendor if all(_is_version(t) or t in _TIER_WORDS for t in rest) else None


def match_competitor(
    text: str,
    label: str | None = None,
    *,
    aliases: Mapping[str, str] | None = None,
) -> str | None:
    """The competitor vendor an entity names, or None.

    The rule (one function, used by every competitor-mention figure):

    1. Only ``ORG`` and ``PRODUCT`` entities (:data:`COMPETITOR_LABELS`) name a competitor;
       ``label=None`` means unknown and is accepted.
    2. Text is compared in :func:`normalise_entity` form (case, hyphens, underscores, dots
       and spaces do not matter) against the aliases, also without trailing version numbers
       ("Claude Sonnet 4.5" → "claude sonnet").
    3. With the default aliases (``aliases=None``: :func:`competitor_aliases`), a name also
       matches through its first word when that is a vendor or model family of the
       reference price data ("gemini", "llama", "qwen3", "mixtral", "kimi", "glm" …), and
       every further word is a version ("3.3", "70b", "k2"), a tier or model word ("pro",
       "large", "thinking", "sonnet"), or an organisation word ("cloud", "team", "ai").
       Ambiguous words need such a qualifier: "Nova Pro" and "Opus 4" match, "Nova Scotia"
       does not; vendor names need an organisation word or one of their families next
       ("Google Cloud", "Amazon Nova Lite"), so "Google Sheets" and "Meta Quest" do not.
       Ordinary words among the reference first words ("spark", "step") match only as
       whole aliases. Custom ``aliases`` match as given (rules 1 and 2 only).

    Example:
        >>> match_competitor("Gemini 3 Pro", "PRODUCT"), match_competitor("Qwen team", "ORG")
        ('Google', 'Alibaba Qwen')
        >>> match_competitor("Nova Scotia", "ORG") is None
        True
    """
    if label is not None and str(label).upper() not in COMPETITOR_LABELS:
        return None
    if aliases is None:
        return _match_default(str(text))
    pairs = tuple((str(k), str(v)) for k, v in dict(aliases).items())
    return _match(str(text), _custom_index(pairs), families=False)


@lru_cache(maxsize=1 << 18)
def _match_default(text: str) -> str | None:
    """:func:`match_competitor` with the reference aliases, cached: a store's entity texts
    repeat across the queries of one page."""
    return _match(text, _default_index(), families=True)


def _match(text: str, index: Mapping[str, str], *, families: bool) -> str | None:
    tokens = normalise_entity(text).split()
    if not tokens:
        return None
    hit = index.get(" ".join(tokens)) or index.get(" ".join(_strip_versions(tokens)))
    if hit is not None or not families:
        return hit
    return _family_match(tokens)


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
    for vendor_id, data in _us_files():
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
