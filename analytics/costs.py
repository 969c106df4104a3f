"""The cost model: GPU cost per million tokens by token type, support cost, fixed costs.

Defaults come from ``data/reference/cost-anchors.md`` (each constant names its row; the
shared values are read from ``data.reference.COST_ANCHOR_DEFAULTS``); every
input is overridable.

Input (prompt) and output (generated) tokens cost different GPU time: one GPU prefills about
9.2 k input tokens/s but decodes about 1.85 k output tokens/s (DeepSeek's serving day), so at
24 % output tokens the output tokens take 61 % of the GPU time. Hence:

* GPU cost per 1M input tokens  = GPU $/h ÷ (input tokens/s × 3600 × utilisation) × 10⁶,
  reduced by the cache: a share ``cache_hit_rate`` of *input* tokens is served from the
  context cache at ``cached_token_cost_factor`` of the fresh cost (output is never cached);
* GPU cost per 1M output tokens = GPU $/h ÷ (output tokens/s × 3600 × utilisation) × 10⁶;
* blended GPU cost per 1M tokens = (1 − output share)·input cost + output share·output cost.
* Support cost: human-handled and AI-resolved tickets at their own unit costs.
* Unit (variable) cost per 1M tokens = GPU cost + support cost per 1M tokens
  (tickets per million tokens × blended cost per ticket).

Serving capacity is paid through the GPU cost (utilisation is the share of paid GPU time
that serves traffic), so the fixed costs hold only what does not scale with tokens: staff,
offices, platform and tools.

Example:
    >>> round(gpu_cost_per_million(2.0, 9_200.0, 1_850.0, 0.45, output_share=0.0), 4)
    0.1342
    >>> round(gpu_cost_per_million(2.0, 9_200.0, 1_850.0, 0.45, output_share=1.0), 4)
    0.6673
    >>> 0.1 < CostInputs().unit_cost_per_million(tickets_per_million=0.0) < 0.6
    True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from analytics.business import checked_number
from analytics.demand import FloatArray
from data.reference import COST_ANCHOR_DEFAULTS as _ANCHORS

#: GPU rental, USD per GPU-hour. Anchor: "H100 rental about $2/GPU-hour" (gmicloud.ai) and
#: DeepSeek's own costing of H800s at $2 per GPU-hour (open-infra-index, day 6).
DEFAULT_GPU_COST_PER_HOUR = _ANCHORS.gpu_hour_usd  # 2.0
#: Input tokens per second one busy GPU prefills. Anchor: DeepSeek's serving day, about
#: 73.7 k input tokens/s per 8-GPU node (cache hits included) → 9,212 per GPU.
DEFAULT_INPUT_TOKENS_PER_SECOND = _ANCHORS.input_tokens_per_s_per_node / _ANCHORS.node_gpus
#: Output tokens per second one busy GPU decodes. Anchor: the same day, about 14.8 k output
#: tokens/s per node → 1,850 per GPU.
DEFAULT_OUTPUT_TOKENS_PER_SECOND = _ANCHORS.output_tokens_per_s_per_node / _ANCHORS.node_gpus
#: Share of paid GPU time doing useful work. Anchor: "typical utilisation of rented GPUs
#: 30–60 %" (gmicloud.ai); the middle.
DEFAULT_UTILISATION = _ANCHORS.utilisation  # 0.45
#: Share of *input* tokens served from the context cache. Anchor: DeepSeek served 56.3 % of
#: input tokens from cache; 0.3 is a cautious default for a smaller service.
DEFAULT_CACHE_HIT_RATE = 0.3
#: GPU cost of a cached input token relative to a fresh one. Anchor: cached-input list prices
#: are typically 10–50 % of fresh input (e.g. GPT-4o $1.25 vs $2.50; llm-prices data);
#: compute for a cache hit is lower still. 0.1.
DEFAULT_CACHED_TOKEN_COST_FACTOR = 0.1
#: Share of tokens that are output tokens when the store has no usage to measure it.
#: Anchor: DeepSeek's serving day, 168 B output of 776 B tokens (21.6 %).
DEFAULT_OUTPUT_SHARE = round(168 / (608 + 168), 4)
#: Human-handled ticket, USD. Anchor: Gartner 2024, assisted contact $13.50.
DEFAULT_HUMAN_TICKET_COST = _ANCHORS.human_ticket_usd  # 13.50
#: AI-resolved ticket, USD. Anchor: Gartner 2024, self-service $1.84 (Intercom Fin charges
#: $0.99 per resolution).
DEFAULT_AI_TICKET_COST = _ANCHORS.self_service_ticket_usd  # 1.84
#: Share of tickets resolved by AI when the store has no tickets to measure it.
DEFAULT_AI_RESOLUTION_SHARE = 0.5
#: Fixed cost per month, USD: staff, offices, platform and tools — not serving capacity,
#: which the GPU cost per token already pays for. Not an anchor: an assumption to override.
DEFAULT_FIXED_COST_PER_MONTH = 50_000.0


def _scalar_or_array(v: FloatArray, *likes: ArrayLike) -> FloatArray | float:
    return float(v) if all(np.ndim(x) == 0 for x in likes) else v


def gpu_cost_per_million(
    gpu_cost_per_hour: ArrayLike,
    input_tokens_per_second: ArrayLike,
    output_tokens_per_second: ArrayLike,
    utilisation: ArrayLike,
    cache_hit_rate: ArrayLike = 0.0,
    cached_token_cost_factor: ArrayLike = DEFAULT_CACHED_TOKEN_COST_FACTOR,
    output_share: ArrayLike = DEFAULT_OUTPUT_SHARE,
) -> FloatArray | float:
    """Blended GPU cost per 1M tokens at a mix of input and output tokens, vectorised.

    cost = $/h ÷ (3600 × u) × 10⁶ × [(1 − o)·(1 − h·(1 − k)) / r_in + o / r_out], with
    utilisation u, output share o, cache-hit rate h (of input tokens), cached cost factor k
    and throughputs r_in, r_out (tokens/s per busy GPU).

    Example:
        >>> round(gpu_cost_per_million(16.0, 73_700.0, 14_800.0, 1.0, output_share=1.0), 3)
        0.3
    """
    per_token_second = (
        np.asarray(gpu_cost_per_hour, float) / (3600.0 * np.asarray(utilisation, float)) * 1e6
    )
    o = np.asarray(output_share, float)
    h = np.asarray(cache_hit_rate, float)
    k = np.asarray(cached_token_cost_factor, float)
    v = per_token_second * (
        (1.0 - o) * (1.0 - h * (1.0 - k)) / np.asarray(input_tokens_per_second, float)
        + o / np.asarray(output_tokens_per_second, float)
    )
    return _scalar_or_array(
        v,
        gpu_cost_per_hour,
        input_tokens_per_second,
        output_tokens_per_second,
        utilisation,
        cache_hit_rate,
        cached_token_cost_factor,
        output_share,
    )


def support_cost_per_ticket(
    human_ticket_cost: ArrayLike, ai_ticket_cost: ArrayLike, ai_resolution_share: ArrayLike
) -> FloatArray | float:
    """Blended cost of one ticket: (1 − s)·human + s·AI."""
    s = np.asarray(ai_resolution_share, float)
    v = (1 - s) * np.asarray(human_ticket_cost, float) + s * np.asarray(ai_ticket_cost, float)
    return float(v) if np.ndim(v) == 0 else v


def support_cost(
    human_tickets: ArrayLike,
    ai_tickets: ArrayLike,
    human_ticket_cost: float = DEFAULT_HUMAN_TICKET_COST,
    ai_ticket_cost: float = DEFAULT_AI_TICKET_COST,
) -> FloatArray | float:
    """Support cost of ticket volumes: human × cost + AI × cost (tickets still open count as
    human-handled when you add them to ``human_tickets``)."""
    v = (
        np.asarray(human_tickets, float) * human_ticket_cost
        + np.asarray(ai_tickets, float) * ai_ticket_cost
    )
    return float(v) if np.ndim(v) == 0 else v


@dataclass(frozen=True)
class CostInputs:
    """Every input of the cost model, with defaults from the cost anchors.

    Attributes:
        gpu_cost_per_hour: USD per GPU-hour.
        input_tokens_per_second: input tokens/s one busy GPU prefills.
        output_tokens_per_second: output tokens/s one busy GPU decodes.
        utilisation: share of paid GPU time in use (0–1].
        cache_hit_rate: share of *input* tokens served from the context cache [0–1].
        cached_token_cost_factor: cost of a cached input token relative to a fresh one [0–1].
        output_share: share of tokens that are output tokens [0–1].
        human_ticket_cost: USD per human-handled ticket.
        ai_ticket_cost: USD per AI-resolved ticket.
        ai_resolution_share: share of tickets resolved by AI [0–1].
        fixed_cost_per_month: USD per month (staff, offices, platform; not GPUs).
    """

    gpu_cost_per_hour: float = DEFAULT_GPU_COST_PER_HOUR
    input_tokens_per_second: float = DEFAULT_INPUT_TOKENS_PER_SECOND
    output_tokens_per_second: float = DEFAULT_OUTPUT_TOKENS_PER_SECOND
    utilisation: float = DEFAULT_UTILISATION
    cache_hit_rate: float = DEFAULT_CACHE_HIT_RATE
    cached_token_cost_factor: float = DEFAULT_CACHED_TOKEN_COST_FACTOR
    output_share: float = DEFAULT_OUTPUT_SHARE
    human_ticket_cost: float = DEFAULT_HUMAN_TICKET_COST
    ai_ticket_cost: float = DEFAULT_AI_TICKET_COST
    ai_resolution_share: float = DEFAULT_AI_RESOLUTION_SHARE
    fixed_cost_per_month: float = DEFAULT_FIXED_COST_PER_MONTH

    def __post_init__(self) -> None:
        problems = []
        for name, value in asdict(self).items():
            try:
                checked_number(name, value)
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            raise ValueError("; ".join(problems))
        for name in (
            "gpu_cost_per_hour",
            "human_ticket_cost",
            "ai_ticket_cost",
            "fixed_cost_per_month",
        ):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be ≥ 0")
        for name in ("input_tokens_per_second", "output_tokens_per_second"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be > 0")
        if not 0 < self.utilisation <= 1:
            problems.append("utilisation must be in (0, 1]")
        for name in (
            "cache_hit_rate",
            "cached_token_cost_factor",
            "output_share",
            "ai_resolution_share",
        ):
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

    def _per_token_second(self) -> float:
        return self.gpu_cost_per_hour / (3600.0 * self.utilisation) * 1e6

    @property
    def input_cost_per_million(self) -> float:
        """GPU cost per 1M input tokens, cache hits included."""
        h, k = self.cache_hit_rate, self.cached_token_cost_factor
        return self._per_token_second() * (1.0 - h * (1.0 - k)) / self.input_tokens_per_second

    @property
    def output_cost_per_million(self) -> float:
        """GPU cost per 1M output tokens (never cached)."""
        return self._per_token_second() / self.output_tokens_per_second

    def gpu_cost_at(self, output_share: float) -> float:
        """Blended GPU cost per 1M tokens at another output share."""
        return float(
            (1.0 - output_share) * self.input_cost_per_million
            + output_share * self.output_cost_per_million
        )

    @property
    def gpu_cost_per_million(self) -> float:
        """Blended GPU cost per 1M tokens at ``output_share``."""
        return self.gpu_cost_at(self.output_share)

    @property
    def cost_per_ticket(self) -> float:
        """Blended support cost of one ticket."""
        return float(
            support_cost_per_ticket(
                self.human_ticket_cost, self.ai_ticket_cost, self.ai_resolution_share
            )
        )

    def support_cost_per_million(self, tickets_per_million: float) -> float:
        """Support cost per 1M tokens at ``tickets_per_million`` tickets per 1M tokens."""
        return tickets_per_million * self.cost_per_ticket

    def unit_cost_per_million(
        self, tickets_per_million: float, output_share: float | None = None
    ) -> float:
        """Variable cost per 1M tokens: GPU (at ``output_share``, default the inputs') +
        support."""
        o = self.output_share if output_share is None else output_share
        return self.gpu_cost_at(o) + self.support_cost_per_million(tickets_per_million)
