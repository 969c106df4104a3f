"""Which competitor an entity names: the alias table and the one matching rule.

:func:`match_competitor` is the rule every competitor-mention figure uses (signals, alerts,
the Entities page, the mention roll-ups): an ``ORG`` or ``PRODUCT`` entity's text, in
:func:`normalise_entity` form, against :func:`competitor_aliases` (vendor and model names
and ids of the reference price files in :mod:`data.reference`, plus common short forms) and
the vendors' model families. The mention roll-ups are kept only as long as this module, the
price-file reader it takes the names from (:mod:`data.reference`) and the reference files
are unchanged (``data.rollups.matcher_fingerprint``).

Example:
    >>> aliases = competitor_aliases()
    >>> aliases["gpt-4o"], aliases["kimi"]
    ('OpenAI', 'Moonshot AI')
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from data.reference import VENDOR_DISPLAY, cn_file, us_files, vendor_display

__all__ = [
    "COMPETITOR_LABELS",
    "competitor_aliases",
    "match_competitor",
    "normalise_entity",
]

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


@lru_cache(maxsize=1)
def _aliases() -> tuple[tuple[str, str], ...]:
    out: dict[str, str] = {}

    def add(alias: str, vendor_id: str) -> None:
        key = re.sub(r"\s+", " ", alias.strip().lower())
        if key and key not in out:
            out[key] = vendor_display(vendor_id)

    for vendor_id, data in us_files():
        add(vendor_id, vendor_id)
        add(vendor_display(vendor_id), vendor_id)
        for model in data.get("models", []):
            add(model["id"], vendor_id)
            add(model["id"].replace("-", " "), vendor_id)
            name = model.get("name") or ""
            if "≤" not in name and ">" not in name:
                add(name, vendor_id)
    for model in cn_file().get("models", []):
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

    for vendor_id, data in us_files():
        add(vendor_id, vendor_id, vendor=True)
        add(vendor_display(vendor_id), vendor_id, vendor=True)
        for model in data.get("models", []):
            add(model["id"], vendor_id)
            add(model.get("name") or "", vendor_id)
    for model in cn_file().get("models", []):
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
