"""Scenarios: every input of the what-if and price-war views in one dataclass.

A ``Scenario`` round-trips without loss through JSON (``to_json``/``from_json``) and URL
query parameters (``to_query_params``/``from_query_params``, a ``dict[str, str]`` as
``st.query_params`` holds it). ``analytics.saved_scenarios`` keeps it in the store's
``scenarios`` table; ``analytics.scenario_tables`` lays several side by side with their
differences. Evaluation lives in ``analytics.evaluate``. Its parts (``DemandSegment``,
``Competitor``) and the ranges every number is checked against live in
``analytics.scenario_parts``.

The demand side is a tuple of ``DemandSegment``: one per customer segment in the view
("All customers" holds every segment and is their sum at one price). What a page shows is
exactly what every number uses: the only adjustment to a fitted elasticity is the explicit
``pressure_lever`` (off by default), which adds each segment's measured competitor-mention
shift and says so.

Example:
    >>> s = Scenario(name="cut", price_per_m=0.8)
    >>> Scenario.from_query_params(s.to_query_params()) == s
    True
    >>> Scenario.from_json(s.to_json()) == s
    True
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from analytics import costs as _c
from analytics.errors import ScenarioError
from analytics.scenario_parts import (
    MAX_COMPETITORS,
    MAX_SEGMENTS,
    PRICE_BOUND_RANGE,
    TOKENS_PER_SECOND_RANGE,
    UTILISATION_RANGE,
    Competitor,
    DemandSegment,
    check_text,
    finite,
    outside,
)

__all__ = ["QUERY_PREFIX", "SCHEMA_VERSION", "Scenario"]

SCHEMA_VERSION = 2
#: Default prefix of the URL query parameters, so they never collide with page filters.
QUERY_PREFIX = "s_"


def _whole(name: str, v: Any) -> Any:
    """An int field: a whole number (not a bool)."""
    if isinstance(v, bool) or not isinstance(v, int):
        raise ScenarioError(f"{name} must be a whole number, got {v!r}")
    return v


def _flag(name: str, v: Any) -> Any:
    """A bool field: true or false."""
    if not isinstance(v, bool):
        raise ScenarioError(f"{name} must be true or false, got {v!r}")
    return v


def _text(name: str, v: Any) -> Any:
    """A str field: text without a lone surrogate."""
    if not isinstance(v, str):
        raise ScenarioError(f"{name} must be text, got {v!r}")
    check_text(name, v)
    return v


def _text_or_none(name: str, v: Any) -> Any:
    """An optional text field: "" is kept as None."""
    if v == "" or v is None:
        return None
    if not isinstance(v, str):
        raise ScenarioError(f"{name} must be text or None, got {v!r}")
    check_text(name, v)
    return v


def _items(cls: type[Any]) -> Callable[[str, Any], tuple[Any, ...]]:
    """A field of ``cls`` items: each kept, or built from its dict."""

    def check(name: str, v: Any) -> tuple[Any, ...]:
        try:
            return tuple(c if isinstance(c, cls) else cls(**c) for c in v)
        except TypeError as exc:
            raise ScenarioError(f"bad {name}: {exc}") from None

    return check


#: How each kind of field (``_kinds``) is checked, in field order, one at a time: the value
#: kept (a float for a number, None for an empty optional text) or a ``ScenarioError``.
_FIELD_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "float": lambda name, v: finite("", name, v),
    "int": _whole,
    "bool": _flag,
    "str": _text,
    "optstr": _text_or_none,
    "competitors": _items(Competitor),
    "segments": _items(DemandSegment),
}

#: A check across fields: its sentence when the scenario breaks it, else None.
_Rule = Callable[["Scenario"], str | None]


def _when(broken: Callable[[Scenario], bool], message: str) -> _Rule:
    """A rule saying ``message`` when ``broken(scenario)``."""
    return lambda s: message if broken(s) else None


def _within(name: str, bounds: tuple[float, float]) -> _Rule:
    """A rule naming the field and its value when it lies outside ``bounds``."""
    return lambda s: outside("", name, getattr(s, name), bounds)


def _cut_competitor_listed(s: Scenario) -> str | None:
    """The competitor that cuts must be one of the competitors."""
    if s.cut_competitor and s.cut_competitor not in {c.name for c in s.competitors}:
        return f"cut_competitor {s.cut_competitor!r} is not among the competitors"
    return None


def _costs_valid(s: Scenario) -> str | None:
    """The cost model's own checks (``analytics.costs.CostInputs``)."""
    try:
        s.cost_inputs()
    except ValueError as exc:
        return str(exc)
    return None


def _competitor_names_ok(s: Scenario) -> bool:
    """Competitor names are unique and none is ours."""
    names = [c.name for c in s.competitors]
    return len(set(names)) == len(names) and "us" not in names


#: The checks across fields once every field has its kind: each broken rule adds its
#: sentence, in this order, and the scenario is refused with all of them.
_RULES: tuple[_Rule, ...] = (
    _when(lambda s: s.price_per_m <= 0, "price_per_m must be > 0"),
    _when(lambda s: not s.segments, "a scenario needs at least one demand segment"),
    _when(
        lambda s: len({g.name for g in s.segments}) != len(s.segments),
        "segment names must be unique",
    ),
    _when(
        lambda s: not 0 < s.price_floor < s.price_ceiling, "need 0 < price_floor < price_ceiling"
    ),
    _within("price_floor", PRICE_BOUND_RANGE),
    _within("price_ceiling", PRICE_BOUND_RANGE),
    _within("utilisation", UTILISATION_RANGE),
    _within("input_tokens_per_second", TOKENS_PER_SECOND_RANGE),
    _within("output_tokens_per_second", TOKENS_PER_SECOND_RANGE),
    _when(
        lambda s: s.curve_points < 2 or s.curve_points > 10_000,
        "curve_points must be between 2 and 10,000",
    ),
    _when(lambda s: not 1 <= s.mc_draws <= 1_000_000, "mc_draws must be between 1 and 1,000,000"),
    _when(lambda s: not 0 <= s.mc_seed < 2**63, "mc_seed must be a whole number ≥ 0"),
    _when(
        lambda s: len(s.segments) > MAX_SEGMENTS or len(s.competitors) > MAX_COMPETITORS,
        f"at most {MAX_SEGMENTS} segments and {MAX_COMPETITORS} competitors",
    ),
    _when(
        lambda s: s.sensitivity_pct < 0 or s.sensitivity_pct >= 100,
        "sensitivity_pct must be in [0, 100)",
    ),
    _when(lambda s: s.tornado_price < 0, "tornado_price must be ≥ 0 (0: at the optimum)"),
    _when(
        lambda s: not 0 < s.our_share < 1 or not 0 < s.niche_market_share <= 1,
        "our_share must be in (0, 1) and niche_market_share in (0, 1]",
    ),
    _when(
        lambda s: s.our_share + sum(c.share for c in s.competitors) >= 1,
        "our share and the competitors' shares must sum to less than 1 "
        "(the rest are customers who buy from none of us)",
    ),
    _when(
        lambda s: s.niche_alpha_factor <= 0 or s.quality_cost < 0,
        "niche_alpha_factor must be > 0 and quality_cost ≥ 0",
    ),
    _when(lambda s: s.target_margin >= 1, "target_margin must be < 1"),
    _when(
        lambda s: s.gpu_cost_sd < 0 or s.volume_sd < 0 or s.mention_slope_se < 0,
        "gpu_cost_sd, volume_sd and mention_slope_se must be ≥ 0",
    ),
    _when(lambda s: not 0 <= s.cut_pct < 100, "cut_pct must be in [0, 100)"),
    _when(lambda s: not _competitor_names_ok(s), "competitor names must be unique and not 'us'"),
    _cut_competitor_listed,
    _costs_valid,
)


@dataclass(frozen=True)
class Scenario:
    """Every input of the what-if pricing and price-war views.

    Volumes are millions of tokens per month, prices and unit costs USD per 1M tokens
    (blended over input and output tokens at each segment's token mix), fixed costs and
    profits USD per month.

    Attributes:
        name: the scenario's name (key in the store).
        segment: the customer segment it describes (None: all customers).
        price_per_m: our price being evaluated (one price for every segment in the view).
        segments: the demand of each segment in the view (``DemandSegment``).
        pressure_lever: add each segment's measured competitor-mention shift to its
            elasticity (a labelled what-if; off by default).
        mention_slope, mention_slope_se: the fitted interaction behind the shifts (evidence).
        gpu_cost_per_hour … fixed_cost_per_month: the cost model (``analytics.costs``); the
            token mix and the AI resolution share are measured per segment.
        price_floor, price_ceiling: the range every optimisation and chart uses.
        target_margin: goal seek, contribution margin (p − c)/p.
        target_profit: goal seek, monthly profit after fixed costs.
        curve_points: points of the profit curve.
        sensitivity_pct: ± change of each input in the tornado, percent.
        tornado_price: the price the tornado is computed at (0: at the optimum).
        mc_draws, mc_seed, gpu_cost_sd, volume_sd: Monte Carlo settings.
        our_share: our market share today (calibrates the price-war market).
        competitors: the rivals as observed today (list price and share).
        cut_competitor: name of the rival that cuts its list price ("" none).
        cut_pct: its cut, percent of its list price.
        quality_step: the "differentiate" strategy's quality gain, logit utility units.
        quality_cost: its extra unit cost, USD per 1M tokens.
        niche_alpha_factor, niche_market_share: the "niche" strategy.
    """

    name: str = "base"
    segment: str | None = None
    price_per_m: float = 1.0
    segments: tuple[DemandSegment, ...] = (DemandSegment(),)
    pressure_lever: bool = False
    mention_slope: float = 0.0
    mention_slope_se: float = 0.0
    gpu_cost_per_hour: float = _c.DEFAULT_GPU_COST_PER_HOUR
    input_tokens_per_second: float = _c.DEFAULT_INPUT_TOKENS_PER_SECOND
    output_tokens_per_second: float = _c.DEFAULT_OUTPUT_TOKENS_PER_SECOND
    utilisation: float = _c.DEFAULT_UTILISATION
    cache_hit_rate: float = _c.DEFAULT_CACHE_HIT_RATE
    cached_token_cost_factor: float = _c.DEFAULT_CACHED_TOKEN_COST_FACTOR
    human_ticket_cost: float = _c.DEFAULT_HUMAN_TICKET_COST
    ai_ticket_cost: float = _c.DEFAULT_AI_TICKET_COST
    fixed_cost_per_month: float = _c.DEFAULT_FIXED_COST_PER_MONTH
    price_floor: float = 0.1
    price_ceiling: float = 3.0
    target_margin: float = 0.55
    target_profit: float = 0.0
    curve_points: int = 200
    sensitivity_pct: float = 10.0
    tornado_price: float = 0.0
    mc_draws: int = 100_000
    mc_seed: int = 0
    gpu_cost_sd: float = 0.2
    volume_sd: float = 0.1
    our_share: float = 0.1
    competitors: tuple[Competitor, ...] = field(default_factory=tuple)
    cut_competitor: str = ""
    cut_pct: float = 10.0
    quality_step: float = 0.5
    quality_cost: float = 0.1
    niche_alpha_factor: float = 0.5
    niche_market_share: float = 0.2

    def __post_init__(self) -> None:
        kinds = _kinds()
        for f in dataclasses.fields(self):
            checked = _FIELD_CHECKS[kinds[f.name]](f.name, getattr(self, f.name))
            object.__setattr__(self, f.name, checked)
        problems = [p for rule in _RULES if (p := rule(self)) is not None]
        if problems:
            raise ScenarioError("; ".join(problems))

    # -- derived -------------------------------------------------------------------------

    def cost_inputs(self) -> _c.CostInputs:
        """The cost-model part of the scenario, at the view's token mix (segments weighted
        by today's volume) and AI resolution share (weighted by today's tickets)."""
        volumes = [g.reference_volume_m for g in self.segments] or [1.0]
        tickets = [g.tickets_per_million * g.reference_volume_m for g in self.segments]
        weights = tickets if sum(tickets) > 0 else volumes
        mix = {
            "output_share": _weighted(
                [g.output_share for g in self.segments], volumes, _c.DEFAULT_OUTPUT_SHARE
            ),
            "ai_resolution_share": _weighted(
                [g.ai_resolution_share for g in self.segments],
                weights,
                _c.DEFAULT_AI_RESOLUTION_SHARE,
            ),
        }
        return _c.CostInputs(
            **{
                f.name: mix[f.name] if f.name in mix else getattr(self, f.name)
                for f in dataclasses.fields(_c.CostInputs)
            }
        )

    def segment_costs(self, segment: DemandSegment) -> _c.CostInputs:
        """The cost model of one segment: the scenario's, at the segment's token mix and AI
        resolution share."""
        return self.cost_inputs().replace(
            output_share=segment.output_share, ai_resolution_share=segment.ai_resolution_share
        )

    def unit_cost(self, segment: DemandSegment) -> float:
        """A segment's variable cost per 1M tokens: GPU at its token mix + its support."""
        return self.segment_costs(segment).unit_cost_per_million(segment.tickets_per_million)

    def used_elasticity(self, segment: DemandSegment) -> tuple[float, float, float]:
        """(ε, low, high) a segment's numbers use: the fitted values, shifted by its
        measured mention shift only when ``pressure_lever`` is on."""
        shift = segment.mention_shift if self.pressure_lever else 0.0
        return (
            segment.elasticity + shift,
            segment.elasticity_ci_low + shift,
            segment.elasticity_ci_high + shift,
        )

    @property
    def price_now(self) -> float:
        """Today's blended price of the view: Σ p0·V0 / Σ V0."""
        v = sum(s.reference_volume_m for s in self.segments)
        return sum(s.reference_price * s.reference_volume_m for s in self.segments) / v

    @property
    def observed_price_range(self) -> tuple[float, float] | None:
        """Lowest and highest price observed in the view's segments (None when unknown)."""
        lows = [s.price_low for s in self.segments if s.price_low > 0]
        highs = [s.price_high for s in self.segments if s.price_high > 0]
        return (min(lows), max(highs)) if lows and highs else None

    def replace(self, **changes: Any) -> Scenario:
        """A copy with some inputs changed (validated)."""
        return dataclasses.replace(self, **changes)

    # -- serialisation -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values by field name (competitors and segments as dicts)."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["competitors"] = [dataclasses.asdict(c) for c in self.competitors]
        d["segments"] = [dataclasses.asdict(s) for s in self.segments]
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scenario:
        """Build from ``to_dict`` output; unknown keys (e.g. ``version``) are ignored and a
        version-1 scenario (one segment's fields at the top level) is upgraded."""
        data = _upgrade_v1(data) if int(data.get("version", SCHEMA_VERSION)) < 2 else data
        known = {f.name for f in dataclasses.fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:
            raise ScenarioError(f"bad scenario data: {exc}") from None

    def to_json(self) -> str:
        """JSON text (floats written with full precision, so the round trip is exact)."""
        return json.dumps(
            {"version": SCHEMA_VERSION, **self.to_dict()}, ensure_ascii=False, allow_nan=False
        )

    @classmethod
    def from_json(cls, text: str) -> Scenario:
        """Parse ``to_json`` output; raises ``ScenarioError`` with the reason."""
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise ScenarioError(f"scenario JSON is not valid: {exc}") from None
        if not isinstance(data, dict):
            raise ScenarioError("scenario JSON must be an object")
        try:
            version = int(data.get("version", SCHEMA_VERSION))
        except (TypeError, ValueError, OverflowError):
            raise ScenarioError("scenario JSON has a bad version") from None
        if version > SCHEMA_VERSION:
            raise ScenarioError("scenario was saved by a newer version of the app")
        return cls.from_dict(data)

    def to_query_params(
        self, *, prefix: str = QUERY_PREFIX, only_changed: bool = True
    ) -> dict[str, str]:
        """URL query parameters (all strings). Fields at their default are left out unless
        ``only_changed`` is False; ``from_query_params`` fills them back in."""
        kinds, default = _kinds(), Scenario()
        out: dict[str, str] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if only_changed and v == getattr(default, f.name) and f.name != "name":
                continue
            kind = kinds[f.name]
            if kind == "optstr" and v is None:
                continue  # absent = None (the default)
            if kind == "competitors":
                text = json.dumps(
                    [[c.name, c.price, c.share] for c in v],
                    ensure_ascii=False,
                    separators=(",", ":"),
                )
            elif kind == "segments":
                text = json.dumps(
                    [[getattr(s, g.name) for g in dataclasses.fields(s)] for s in v],
                    ensure_ascii=False,
                    separators=(",", ":"),
                )
            elif kind == "float":
                text = repr(v)
            elif kind == "bool":
                text = "1" if v else "0"
            else:
                text = str(v)
            out[prefix + f.name] = text
        return out

    @classmethod
    def from_query_params(
        cls, params: Mapping[str, str | Sequence[str]], *, prefix: str = QUERY_PREFIX
    ) -> Scenario:
        """Parse ``to_query_params`` output; other keys are ignored, missing ones default."""
        kinds = _kinds()
        seg_fields = [g.name for g in dataclasses.fields(DemandSegment)]
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            key = prefix + f.name
            if key not in params:
                continue
            raw = params[key]
            text = raw if isinstance(raw, str) else (raw[-1] if raw else "")
            kind = kinds[f.name]
            try:
                if kind == "float":
                    values[f.name] = float(text)
                elif kind == "int":
                    values[f.name] = int(text)
                elif kind == "bool":
                    if text not in ("0", "1"):
                        raise ValueError("expected 0 or 1")
                    values[f.name] = text == "1"
                elif kind == "competitors":
                    values[f.name] = tuple(Competitor(str(n), p, s) for n, p, s in json.loads(text))
                elif kind == "segments":
                    rows = json.loads(text)
                    if not isinstance(rows, list) or any(
                        not isinstance(r, list) or len(r) > len(seg_fields) for r in rows
                    ):
                        raise ValueError(f"expected lists of at most {len(seg_fields)} values")
                    # a shorter row (an older link) leaves its last fields at their defaults
                    values[f.name] = tuple(
                        DemandSegment(**dict(zip(seg_fields, row, strict=False))) for row in rows
                    )
                else:
                    values[f.name] = text
            except (ValueError, TypeError, RecursionError) as exc:
                raise ScenarioError(
                    f"URL parameter {key}={text[:80]!r} is not valid: {exc}"
                ) from None
        return cls(**values)


_V1_SEGMENT_KEYS = {
    "reference_price": "reference_price",
    "reference_volume_m": "reference_volume_m",
    "elasticity": "elasticity",
    "elasticity_ci_low": "elasticity_ci_low",
    "elasticity_ci_high": "elasticity_ci_high",
    "tickets_per_million": "tickets_per_million",
    "ai_resolution_share": "ai_resolution_share",
}


def _weighted(values: Sequence[float], weights: Sequence[float], default: float) -> float:
    total = float(sum(weights))
    if not values or total <= 0:
        return default
    return min(1.0, max(0.0, sum(v * w for v, w in zip(values, weights, strict=True)) / total))


def _upgrade_v1(data: Mapping[str, Any]) -> dict[str, Any]:
    """A version-1 scenario (one segment's demand at the top level, competitors with
    assumed costs and qualities) as version 2: its demand becomes one segment; its
    competitors are dropped (version 2 calibrates them from list prices and shares)."""
    out = dict(data)
    seg = {new: out.pop(old) for old, new in _V1_SEGMENT_KEYS.items() if old in out}
    if seg:
        seg["name"] = out.get("segment") or "all customers"
        out["segments"] = [seg]
    out.pop("competitors", None)
    out.pop("cut_competitor", None)
    for old, new in (("price_min", "price_floor"), ("price_max", "price_ceiling")):
        if old in out:
            out[new] = out.pop(old)
    return out


@functools.cache
def _kinds() -> dict[str, str]:
    hints = typing.get_type_hints(Scenario)
    out = {}
    for name, hint in hints.items():
        if hint is float:
            out[name] = "float"
        elif hint is bool:
            out[name] = "bool"
        elif hint is int:
            out[name] = "int"
        elif hint is str:
            out[name] = "str"
        elif isinstance(hint, types.UnionType) and set(hint.__args__) == {str, type(None)}:
            out[name] = "optstr"
        elif name == "segments":
            out[name] = "segments"
        else:
            out[name] = "competitors"
    return out
