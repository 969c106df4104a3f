"""The cost model: GPU cost per million tokens, support cost per ticket, fixed costs.

Defaults come from ``data/reference/cost-anchors.md`` (each constant names its row; the
shared values are read from ``data.reference.COST_ANCHOR_DEFAULTS``); every
input is overridable.

* GPU cost per 1M tokens = GPU $/h ÷ (tokens/s × 3600 × utilisation) × 10⁶, then reduced
  by the cache-hit rate: cached tokens cost ``cached_token_cost_factor`` of a fresh one.
* Support cost: human-handled and AI-resolved tickets at their own unit costs.
* Unit (variable) cost per 1M tokens = GPU cost + support cost per 1M tokens
  (tickets per million tokens × blended cost per ticket).

Example:
    >>> round(gpu_cost_per_million(2.0, 2000.0, 0.45), 4)
    0.6173
    >>> CostInputs().unit_cost_per_million(tickets_per_million=0.0) < 0.6
    True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from analytics.demand import FloatArray
from data.reference import COST_ANCHOR_DEFAULTS as _ANCHORS

#: GPU rental, USD per GPU-hour. Anchor: "H100 rental about $2/GPU-hour" (gmicloud.ai) and
#: DeepSeek's own costing of H800s at $2 per GPU-hour (open-infra-index, day 6).
DEFAULT_GPU_COST_PER_HOUR = _ANCHORS.gpu_hour_usd  # 2.0
#: Blended (input + output) tokens per second one GPU serves while busy. Anchor: DeepSeek's
#: serving day, 776 B tokens on 226.75 × 8 H800s in 86,400 s, about 4,950 tokens/s per GPU
#: averaged over the day (utilisation and cache included). 3,000 at full load is a cautious
#: figure for a start-up; with the defaults below it gives $0.30 per 1M tokens, the anchors'
#: "variable cost about $0.30/M" (``COST_ANCHOR_DEFAULTS.variable_cost_per_m``).
DEFAULT_TOKENS_PER_SECOND = 3_000.0
#: Share of paid GPU time doing useful work. Anchor: "typical utilisation of rented GPUs
#: 30–60 %" (gmicloud.ai); the middle.
DEFAULT_UTILISATION = _ANCHORS.utilisation  # 0.45
#: Share of tokens served from a context cache. Anchor: DeepSeek served 56.3 % of input
#: tokens from cache; input is ~78 % of its tokens, so ~44 % of all tokens. 0.3 is a
#: cautious default for a smaller service.
DEFAULT_CACHE_HIT_RATE = 0.3
#: Cost of a cached token relative to a fresh one. Anchor: cached-input list prices are
#: typically 10–50 % of fresh input (e.g. GPT-4o $1.25 vs $2.50; llm-prices data); compute
#: for a cache hit is lower still. 0.1.
DEFAULT_CACHED_TOKEN_COST_FACTOR = 0.1
#: Human-handled ticket, USD. Anchor: Gartner 2024, assisted contact $13.50.
DEFAULT_HUMAN_TICKET_COST = _ANCHORS.human_ticket_usd  # 13.50
#: AI-resolved ticket, USD. Anchor: Gartner 2024, self-service $1.84 (Intercom Fin charges
#: $0.99 per resolution).
DEFAULT_AI_TICKET_COST = _ANCHORS.self_service_ticket_usd  # 1.84
#: Share of tickets resolved by AI when the store has no tickets to measure it.
DEFAULT_AI_RESOLUTION_SHARE = 0.5
#: Fixed cost per month, USD (staff, platform, reserved capacity). Not an anchor: an
#: assumption to override; ``default_scenario`` replaces it by a share of revenue.
DEFAULT_FIXED_COST_PER_MONTH = 50_000.0


def gpu_cost_per_million(
    gpu_cost_per_hour: ArrayLike,
    tokens_per_second: ArrayLike,
    utilisation: ArrayLike,
    cache_hit_rate: ArrayLike = 0.0,
    cached_token_cost_factor: ArrayLike = DEFAULT_CACHED_TOKEN_COST_FACTOR,
) -> FloatArray | float:
    """GPU cost per 1M tokens, vectorised.

    cost = $/h ÷ (tokens/s × 3600 × utilisation) × 10⁶ × (1 − h·(1 − k)), with cache-hit
    rate h and cached-token cost factor k.

    Example:
        >>> gpu_cost_per_million(16.0, 14_800.0, 1.0) > 0.30
        True
    """
    h = np.asarray(cache_hit_rate, float)
    base = (np.asarray(gpu_cost_per_hour, float)
            / (np.asarray(tokens_per_second, float) * 3600.0 * np.asarray(utilisation, float))
            * 1e6)
    v = base * (1.0 - h * (1.0 - np.asarray(cached_token_cost_factor, float)))
    scalar = all(np.ndim(x) == 0 for x in (gpu_cost_per_hour, tokens_per_second, utilisation,
                                            cache_hit_rate, cached_token_cost_factor))
    return float(v) if scalar else v


def support_cost_per_ticket(
    human_ticket_cost: ArrayLike, ai_ticket_cost: ArrayLike, ai_resolution_share: ArrayLike
) -> FloatArray | float:
    """Blended cost of one ticket: (1 − s)·human + s·AI."""
    s = np.asarray(ai_resolution_share, float)
    v = (1 - s) * np.asarray(human_ticket_cost, float) + s * np.asarray(ai_ticket_cost, float)
    return float(v) if np.ndim(v) == 0 else v


def support_cost(
    human_tickets: ArrayLike, ai_tickets: ArrayLike,
    human_ticket_cost: float = DEFAULT_HUMAN_TICKET_COST,
    ai_ticket_cost: float = DEFAULT_AI_TICKET_COST,
) -> FloatArray | float:
    """Support cost of ticket volumes: human × cost + AI × cost (tickets still open count as
    human-handled when you add them to ``human_tickets``)."""
    v = (np.asarray(human_tickets, float) * human_ticket_cost
         + np.asarray(ai_tickets, float) * ai_ticket_cost)
    return float(v) if np.ndim(v) == 0 else v


@dataclass(frozen=True)
class CostInputs:
    """Every input of the cost model, with defaults from the cost anchors.

    Attributes:
        gpu_cost_per_hour: USD per GPU-hour.
        tokens_per_second: blended tokens/s one busy GPU serves.
        utilisation: share of paid GPU time in use (0–1].
        cache_hit_rate: share of tokens served from cache [0–1].
        cached_token_cost_factor: cost of a cached token relative to a fresh one [0–1].
        human_ticket_cost: USD per human-handled ticket.
        ai_ticket_cost: USD per AI-resolved ticket.
        ai_resolution_share: share of tickets resolved by AI [0–1].
        fixed_cost_per_month: USD per month.
    """

    gpu_cost_per_hour: float = DEFAULT_GPU_COST_PER_HOUR
    tokens_per_second: float = DEFAULT_TOKENS_PER_SECOND
    utilisation: float = DEFAULT_UTILISATION
    cache_hit_rate: float = DEFAULT_CACHE_HIT_RATE
    cached_token_cost_factor: float = DEFAULT_CACHED_TOKEN_COST_FACTOR
    human_ticket_cost: float = DEFAULT_HUMAN_TICKET_COST
    ai_ticket_cost: float = DEFAULT_AI_TICKET_COST
    ai_resolution_share: float = DEFAULT_AI_RESOLUTION_SHARE
    fixed_cost_per_month: float = DEFAULT_FIXED_COST_PER_MONTH

    def __post_init__(self) -> None:
        problems = []
        if self.gpu_cost_per_hour < 0:
            problems.append("gpu_cost_per_hour must be ≥ 0")
        if self.tokens_per_second <= 0:
            problems.append("tokens_per_second must be > 0")
        if not 0 < self.utilisation <= 1:
            problems.append("utilisation must be in (0, 1]")
        for name in ("cache_hit_rate", "cached_token_cost_factor", "ai_resolution_share"):
            if not 0 <= getattr(self, name) <= 1:
                problems.append(f"{name} must be in [0, 1]")
        if problems:
            raise ValueError("; ".join(problems))

    def replace(self, **changes: Any) -> CostInputs:
        """A copy with some inputs changed."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, float]:
        """The inputs by name."""
        return asdict(self)

    @property
    def gpu_cost_per_million(self) -> float:
        """GPU cost per 1M tokens after cache hits."""
        return float(gpu_cost_per_million(self.gpu_cost_per_hour, self.tokens_per_second,
                                           self.utilisation, self.cache_hit_rate,
                                           self.cached_token_cost_factor))

    @property
    def cost_per_ticket(self) -> float:
        """Blended support cost of one ticket."""
        return float(support_cost_per_ticket(self.human_ticket_cost, self.ai_ticket_cost,
                                             self.ai_resolution_share))

    def support_cost_per_million(self, tickets_per_million: float) -> float:
        """Support cost per 1M tokens at ``tickets_per_million`` tickets per 1M tokens."""
        return tickets_per_million * self.cost_per_ticket

    def unit_cost_per_million(self, tickets_per_million: float) -> float:
        """Variable cost per 1M tokens: GPU + support."""
        return self.gpu_cost_per_million + self.support_cost_per_million(tickets_per_million)


def segment_cost_to_serve(
    store: Any, costs: CostInputs | None = None, *, start: Any = None, end: Any = None,
) -> pd.DataFrame:
    """Cost to serve per segment over a period, from usage and ticket volumes in the store.

    GPU cost = tokens × ``costs.gpu_cost_per_million``; support cost = human-resolved tickets
    × human cost + AI-resolved × AI cost, tickets still open (or of unknown resolver) counted
    at the human cost. Fixed costs are not allocated.

    Args:
        store: the store.
        costs: the cost model (defaults from the anchors).
        start, end: optional first and last month (dates) of the period.

    Returns:
        One row per segment: ``segment``, ``tokens``, ``revenue``, ``tickets``, ``human``,
        ``ai``, ``open``, ``gpu_cost``, ``support_cost``, ``cost_to_serve``,
        ``cost_per_million``, ``revenue_per_million``, ``gross_margin`` (share of revenue).
    """
    from analytics.inputs import ticket_volumes, usage_by_segment_month

    costs = costs or CostInputs()
    usage = usage_by_segment_month(store, start=start, end=end)
    u = usage.groupby("segment")[["tokens", "revenue"]].sum()
    ticket_end = None if end is None else (pd.Timestamp(end) + pd.DateOffset(months=1)
                                           - pd.Timedelta(microseconds=1)).to_pydatetime()
    t = ticket_volumes(store, by="segment", start=start, end=ticket_end)
    t = t.groupby("segment")[["tickets", "human", "ai", "open"]].sum()
    df = u.join(t, how="outer").fillna(0.0)
    df["gpu_cost"] = df["tokens"] / 1e6 * costs.gpu_cost_per_million
    df["support_cost"] = ((df["human"] + df["open"]) * costs.human_ticket_cost
                          + df["ai"] * costs.ai_ticket_cost)
    df["cost_to_serve"] = df["gpu_cost"] + df["support_cost"]
    tokens_m = (df["tokens"] / 1e6).where(df["tokens"] > 0)
    df["cost_per_million"] = df["cost_to_serve"] / tokens_m
    df["revenue_per_million"] = df["revenue"] / tokens_m
    df["gross_margin"] = (df["revenue"] - df["cost_to_serve"]) / df["revenue"].where(
        df["revenue"] > 0)
    return df.reset_index()[["segment", "tokens", "revenue", "tickets", "human", "ai", "open",
                             "gpu_cost", "support_cost", "cost_to_serve", "cost_per_million",
                             "revenue_per_million", "gross_margin"]]
