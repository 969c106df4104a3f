"""The parts of a scenario, and the ranges every number of one is checked against.

A ``Scenario`` (``analytics.scenario``) holds one ``DemandSegment`` per customer segment
(its measured demand curve, ticket rate and token mix) and one ``Competitor`` per rival (its
list price and share today). Each part checks itself when built, so a bad value is refused
with its field named wherever it comes from: a link, a saved scenario, a page's table.

The ranges are why a number is refused rather than computed: past them a value is no
plausible input but a typo or an attack (1e300, 1e-300, a denormal price floor), and it
would overflow or underflow the model (every volume 0, the demand curve infinite) instead
of failing with a sentence. ``analytics.scenario`` checks its own fields against the same
ranges, with ``finite``, ``outside`` and ``check_text``.

Example:
    >>> Competitor("rival", price=0.9, share=0.3).price
    0.9
    >>> outside("", "price", 1e9, PRICE_RANGE)
    'price = 1e+09 is outside 1e-06 to 1e+06'
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from analytics import costs as _c
from analytics.business import checked_number
from analytics.errors import ScenarioError

__all__ = [
    "ELASTICITY_RANGE",
    "MAX_COMPETITORS",
    "MAX_MAGNITUDE",
    "MAX_SEGMENTS",
    "PRICE_BOUND_RANGE",
    "PRICE_RANGE",
    "TOKENS_PER_SECOND_RANGE",
    "UTILISATION_RANGE",
    "Competitor",
    "DemandSegment",
    "check_text",
    "finite",
    "outside",
]

#: Largest magnitude any number of a scenario may have (1e300 is refused, not computed).
MAX_MAGNITUDE = 1e12
#: Most demand segments and competitors a scenario may hold (bounds a link's work).
MAX_SEGMENTS = 50
MAX_COMPETITORS = 30
#: Plausible range of a price, USD per 1M tokens (a segment's price today, a rival's list
#: price). The reference list prices span $0.01–$600 and the demo's prices lie within; a
#: price of 1e-300 would make every volume underflow to 0.
PRICE_RANGE = (1e-6, 1e6)
#: Range of the price floor and ceiling (the Pricing page's inputs accept the same; the
#: measured defaults are ≥ 0.01). A denormal floor overflows the demand curve.
PRICE_BOUND_RANGE = (1e-3, 1e6)
#: Plausible range of an elasticity, its interval and its mention shift (fitted values are
#: a few units; ±100 leaves room for noisy fits, not for 1e12).
ELASTICITY_RANGE = (-100.0, 100.0)
#: Range of the GPU utilisation (the cost per token divides by it) …
UTILISATION_RANGE = (1e-3, 1.0)
#: … and of the tokens per second of one GPU (also divisors; defaults 9,212 and 1,850): no
#: underflow to 0; a unit cost past the magnitude cap is named by ``scenario_model``.
TOKENS_PER_SECOND_RANGE = (1e-6, 1e9)


def outside(owner: str, name: str, value: float, bounds: tuple[float, float]) -> str | None:
    """A sentence naming the field when ``value`` lies outside ``bounds``, else None."""
    lo, hi = bounds
    if lo <= value <= hi:
        return None
    return f"{owner}{name} = {value:.6g} is outside {lo:g} to {hi:g}"


_SURROGATE = re.compile("[\ud800-\udfff]")


def check_text(what: str, value: str) -> None:
    """Refuse text holding a lone surrogate: a link's JSON may write one as ``\\ud800``
    (plain ASCII, so any browser sends it), but it is no character; UTF-8 cannot hold it,
    so every page that showed the name failed ("Something went wrong")."""
    if _SURROGATE.search(value):
        raise ScenarioError(
            f"{what} holds a \\u escape of a lone surrogate (\\ud800–\\udfff), which is "
            "not a character"
        )


def finite(owner: str, name: str, v: Any) -> float:
    """``v`` as a float, or ``ScenarioError`` naming it unless finite within ±MAX_MAGNITUDE."""
    try:
        return checked_number(f"{owner}{name}", v, MAX_MAGNITUDE)
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None


@dataclass(frozen=True)
class Competitor:
    """One rival in the price-war model, as observed today.

    Attributes:
        name: display name (vendor and model).
        price: its blended list price today, USD per 1M tokens.
        share: its market share today (0–1); with ours and the outside option they sum to 1.
    """

    name: str
    price: float
    share: float

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ScenarioError("competitor name must be non-empty text")
        check_text(f"competitor {self.name!r}: name", self.name)
        for f in ("price", "share"):
            object.__setattr__(self, f, finite(f"competitor {self.name!r}: ", f, getattr(self, f)))
        if self.price <= 0:
            raise ScenarioError(f"competitor {self.name!r}: price must be > 0")
        if (
            bad := outside(f"competitor {self.name!r}: ", "price", self.price, PRICE_RANGE)
        ) is not None:
            raise ScenarioError(bad)
        if not 0 < self.share < 1:
            raise ScenarioError(f"competitor {self.name!r}: share must be between 0 and 1")


@dataclass(frozen=True)
class DemandSegment:
    """One segment's demand as measured: V(p) = reference_volume_m·(p/reference_price)^ε.

    Attributes:
        name: the segment.
        reference_price: today's price of the segment, USD per 1M tokens.
        reference_volume_m: its monthly volume at that price, millions of tokens.
        elasticity, elasticity_ci_low, elasticity_ci_high: the fitted elasticity and its
            95 % interval.
        tickets_per_million: support tickets per 1M tokens.
        mention_shift: the measured change of ε with competitor-mention pressure (evidence
            for the pressure lever; 0 when untagged). Used only when the lever is on.
        price_low, price_high: the lowest and highest price observed (the range the curve
            was fitted on; 0 when unknown).
        output_share: share of the segment's tokens that are output tokens (its token mix).
        ai_resolution_share: share of its tickets the AI agent resolves.
    """

    name: str = "example"
    reference_price: float = 1.0
    reference_volume_m: float = 100_000.0
    elasticity: float = -1.6
    elasticity_ci_low: float = -1.9
    elasticity_ci_high: float = -1.3
    tickets_per_million: float = 0.0
    mention_shift: float = 0.0
    price_low: float = 0.0
    price_high: float = 0.0
    output_share: float = _c.DEFAULT_OUTPUT_SHARE
    ai_resolution_share: float = _c.DEFAULT_AI_RESOLUTION_SHARE

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ScenarioError("a demand segment needs a name")
        owner = f"segment {self.name!r}: "
        check_text(owner + "name", self.name)
        for f in dataclasses.fields(self):
            if f.name != "name":
                object.__setattr__(self, f.name, finite(owner, f.name, getattr(self, f.name)))
        if self.reference_price <= 0:
            raise ScenarioError(owner + "reference_price must be > 0")
        bad = [
            outside(owner, "reference_price", self.reference_price, PRICE_RANGE),
            *(
                outside(owner, f, getattr(self, f), ELASTICITY_RANGE)
                for f in ("elasticity", "elasticity_ci_low", "elasticity_ci_high", "mention_shift")
            ),
        ]
        if any(bad):
            raise ScenarioError("; ".join(b for b in bad if b))
        if self.reference_volume_m <= 0:
            raise ScenarioError(
                owner + "reference_volume_m must be > 0 (no volume, no demand curve)"
            )
        if not self.elasticity_ci_low <= self.elasticity <= self.elasticity_ci_high:
            raise ScenarioError(
                owner + "the elasticity must lie within its interval "
                "(elasticity_ci_low ≤ elasticity ≤ elasticity_ci_high)"
            )
        if self.tickets_per_million < 0 or self.price_low < 0 or self.price_high < 0:
            raise ScenarioError(owner + "tickets_per_million and observed prices must be ≥ 0")
        if not (0 <= self.output_share <= 1 and 0 <= self.ai_resolution_share <= 1):
            raise ScenarioError(owner + "output_share and ai_resolution_share must be in [0, 1]")
