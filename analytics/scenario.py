"""Scenarios: every input of the what-if and price-war views in one dataclass.

A ``Scenario`` round-trips without loss through JSON (``to_json``/``from_json``) and URL
query parameters (``to_query_params``/``from_query_params``, a ``dict[str, str]`` as
``st.query_params`` holds it); it is saved in the store's ``scenarios`` table;
``compare_scenarios`` lays several side by side with their differences. Evaluation lives in
``analytics.evaluate``.

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
import math
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analytics import costs as _c
from analytics.errors import ScenarioError, ScenarioNotFoundError

SCHEMA_VERSION = 1
#: Default prefix of the URL query parameters, so they never collide with page filters.
QUERY_PREFIX = "s_"


@dataclass(frozen=True)
class Competitor:
    """One rival in the price-war model.

    Attributes:
        name: display name (vendor or model).
        price: blended list price, USD per 1M tokens.
        unit_cost: its assumed variable cost, USD per 1M tokens.
        quality: its logit quality term (utility at a zero price).
    """

    name: str
    price: float
    unit_cost: float
    quality: float

    def __post_init__(self) -> None:
        for f in ("price", "unit_cost", "quality"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ScenarioError(f"competitor {self.name!r}: {f} must be a finite number")
            object.__setattr__(self, f, float(v))
        if not isinstance(self.name, str):
            raise ScenarioError("competitor name must be text")
        if self.price <= 0:
            raise ScenarioError(f"competitor {self.name!r}: price must be > 0")


@dataclass(frozen=True)
class Scenario:
    """Every input of the what-if pricing and price-war views.

    Volumes are millions of tokens per month, prices and unit costs USD per 1M tokens,
    fixed costs and profits USD per month.

    Attributes:
        name: the scenario's name (key in the store).
        segment: the customer segment it describes (None: all).
        price_per_m: our price being evaluated.
        reference_price: the price at which ``reference_volume_m`` is observed.
        reference_volume_m: monthly volume at the reference price.
        elasticity, elasticity_ci_low, elasticity_ci_high: price elasticity and its 95 %
            interval (default: fitted from the store).
        mention_rate: competitor-mention rate the view assumes (share of tickets).
        mention_rate_ref: the rate at which ``elasticity`` was measured.
        mention_slope: change of elasticity per unit of mention rate (the fitted
            interaction); effective ε = elasticity + slope·(mention_rate − mention_rate_ref).
        gpu_cost_per_hour … fixed_cost_per_month: the cost model (``analytics.costs``).
        tickets_per_million: support tickets per 1M tokens.
        target_margin: goal seek, contribution margin (p − c)/p.
        target_profit: goal seek, monthly profit.
        price_min, price_max, curve_points: range of the profit curve and tables.
        sensitivity_pct: ± change of each input in the tornado, percent.
        mc_draws, mc_seed, gpu_cost_sd, volume_sd: Monte Carlo settings.
        our_quality, our_share: our logit quality and market share (α derives from ε).
        competitors: the rivals.
        cut_competitor: name of the rival that cuts its price ("" none).
        cut_pct: its cut, percent.
        quality_step, quality_cost: the "differentiate" strategy.
        niche_alpha_factor, niche_market_share: the "niche" strategy.
    """

    name: str = "base"
    segment: str | None = None
    price_per_m: float = 1.0
    reference_price: float = 1.0
    reference_volume_m: float = 100_000.0
    elasticity: float = -1.6
    elasticity_ci_low: float = -1.9
    elasticity_ci_high: float = -1.3
    mention_rate: float = 0.0
    mention_rate_ref: float = 0.0
    mention_slope: float = 0.0
    gpu_cost_per_hour: float = _c.DEFAULT_GPU_COST_PER_HOUR
    tokens_per_second: float = _c.DEFAULT_TOKENS_PER_SECOND
    utilisation: float = _c.DEFAULT_UTILISATION
    cache_hit_rate: float = _c.DEFAULT_CACHE_HIT_RATE
    cached_token_cost_factor: float = _c.DEFAULT_CACHED_TOKEN_COST_FACTOR
    human_ticket_cost: float = _c.DEFAULT_HUMAN_TICKET_COST
    ai_ticket_cost: float = _c.DEFAULT_AI_TICKET_COST
    ai_resolution_share: float = _c.DEFAULT_AI_RESOLUTION_SHARE
    tickets_per_million: float = 0.0
    fixed_cost_per_month: float = _c.DEFAULT_FIXED_COST_PER_MONTH
    target_margin: float = 0.55
    target_profit: float = 0.0
    price_min: float = 0.1
    price_max: float = 3.0
    curve_points: int = 200
    sensitivity_pct: float = 10.0
    mc_draws: int = 100_000
    mc_seed: int = 0
    gpu_cost_sd: float = 0.2
    volume_sd: float = 0.1
    our_quality: float = 0.0
    our_share: float = 0.1
    competitors: tuple[Competitor, ...] = field(default_factory=tuple)
    cut_competitor: str = ""
    cut_pct: float = 10.0
    quality_step: float = 0.5
    quality_cost: float = 0.0
    niche_alpha_factor: float = 0.5
    niche_market_share: float = 0.2

    def __post_init__(self) -> None:
        kinds = _kinds()
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            kind = kinds[f.name]
            if kind == "float":
                if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                    raise ScenarioError(f"{f.name} must be a finite number, got {v!r}")
                object.__setattr__(self, f.name, float(v))
            elif kind == "int":
                if isinstance(v, bool) or not isinstance(v, int):
                    raise ScenarioError(f"{f.name} must be a whole number, got {v!r}")
            elif kind == "str" and not isinstance(v, str):
                raise ScenarioError(f"{f.name} must be text, got {v!r}")
            elif kind == "optstr":
                if v == "":
                    object.__setattr__(self, f.name, None)
                elif v is not None and not isinstance(v, str):
                    raise ScenarioError(f"{f.name} must be text or None, got {v!r}")
            elif kind == "competitors":
                comps = tuple(c if isinstance(c, Competitor) else Competitor(**c) for c in v)
                object.__setattr__(self, f.name, comps)
        problems = []
        if self.price_per_m <= 0 or self.reference_price <= 0:
            problems.append("prices must be > 0")
        if self.reference_volume_m < 0:
            problems.append("reference_volume_m must be ≥ 0")
        if not self.elasticity_ci_low <= self.elasticity_ci_high:
            problems.append("elasticity_ci_low must not exceed elasticity_ci_high")
        if not 0 < self.price_min < self.price_max:
            problems.append("need 0 < price_min < price_max")
        if self.curve_points < 2 or self.mc_draws < 1:
            problems.append("curve_points must be ≥ 2 and mc_draws ≥ 1")
        if self.tickets_per_million < 0 or self.sensitivity_pct < 0:
            problems.append("tickets_per_million and sensitivity_pct must be ≥ 0")
        if not 0 <= self.our_share < 1 or not 0 < self.niche_market_share <= 1:
            problems.append("our_share must be in [0, 1) and niche_market_share in (0, 1]")
        if self.niche_alpha_factor <= 0:
            problems.append("niche_alpha_factor must be > 0")
        if self.target_margin >= 1:
            problems.append("target_margin must be < 1")
        if self.gpu_cost_sd < 0 or self.volume_sd < 0:
            problems.append("gpu_cost_sd and volume_sd must be ≥ 0")
        if self.cut_competitor and self.cut_competitor not in {c.name for c in self.competitors}:
            problems.append(f"cut_competitor {self.cut_competitor!r} is not among the competitors")
        try:
            self.cost_inputs()
        except ValueError as exc:
            problems.append(str(exc))
        if problems:
            raise ScenarioError("; ".join(problems))

    # -- derived -------------------------------------------------------------------------

    def cost_inputs(self) -> _c.CostInputs:
        """The cost-model part of the scenario."""
        return _c.CostInputs(**{f.name: getattr(self, f.name)
                                for f in dataclasses.fields(_c.CostInputs)})

    @property
    def effective_elasticity(self) -> float:
        """ε at the assumed competitor-mention rate."""
        return self.elasticity + self.mention_slope * (self.mention_rate - self.mention_rate_ref)

    @property
    def effective_elasticity_ci(self) -> tuple[float, float]:
        """The 95 % interval shifted with the mention rate."""
        shift = self.effective_elasticity - self.elasticity
        return self.elasticity_ci_low + shift, self.elasticity_ci_high + shift

    def replace(self, **changes: Any) -> Scenario:
        """A copy with some inputs changed (validated)."""
        return dataclasses.replace(self, **changes)

    # -- serialisation -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values by field name (competitors as dicts)."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["competitors"] = [dataclasses.asdict(c) for c in self.competitors]
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scenario:
        """Build from ``to_dict`` output; unknown keys (e.g. ``version``) are ignored."""
        known = {f.name for f in dataclasses.fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:
            raise ScenarioError(f"bad scenario data: {exc}") from None

    def to_json(self) -> str:
        """JSON text (floats written with full precision, so the round trip is exact)."""
        return json.dumps({"version": SCHEMA_VERSION, **self.to_dict()}, ensure_ascii=False,
                          allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> Scenario:
        """Parse ``to_json`` output; raises ``ScenarioError`` with the reason."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScenarioError(f"scenario JSON is not valid: {exc}") from None
        if not isinstance(data, dict):
            raise ScenarioError("scenario JSON must be an object")
        if int(data.get("version", SCHEMA_VERSION)) > SCHEMA_VERSION:
            raise ScenarioError("scenario was saved by a newer version of the app")
        return cls.from_dict(data)

    def to_query_params(self, *, prefix: str = QUERY_PREFIX,
                        only_changed: bool = True) -> dict[str, str]:
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
                text = json.dumps([[c.name, c.price, c.unit_cost, c.quality] for c in v],
                                  ensure_ascii=False, separators=(",", ":"))
            elif kind == "float":
                text = repr(v)
            else:
                text = str(v)
            out[prefix + f.name] = text
        return out

    @classmethod
    def from_query_params(cls, params: Mapping[str, str | Sequence[str]], *,
                          prefix: str = QUERY_PREFIX) -> Scenario:
        """Parse ``to_query_params`` output; other keys are ignored, missing ones default."""
        kinds = _kinds()
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
                elif kind == "competitors":
                    values[f.name] = tuple(Competitor(str(n), p, c, q)
                                           for n, p, c, q in json.loads(text))
                else:
                    values[f.name] = text
            except (ValueError, TypeError) as exc:
                raise ScenarioError(f"URL parameter {key}={text!r} is not valid: {exc}") from None
        return cls(**values)


@functools.cache
def _kinds() -> dict[str, str]:
    hints = typing.get_type_hints(Scenario)
    out = {}
    for name, hint in hints.items():
        if hint is float:
            out[name] = "float"
        elif hint is int:
            out[name] = "int"
        elif hint is str:
            out[name] = "str"
        elif isinstance(hint, types.UnionType) and set(hint.__args__) == {str, type(None)}:
            out[name] = "optstr"
        else:
            out[name] = "competitors"
    return out


# -- store -------------------------------------------------------------------------------


def save_scenario(store: Any, scenario: Scenario) -> None:
    """Insert or replace the scenario under ``scenario.name`` (through the store's writer)."""
    if not scenario.name.strip():
        raise ScenarioError("a scenario needs a name to be saved")
    params = [scenario.name, scenario.to_json()]
    store.write(lambda conn: conn.execute(
        "INSERT INTO scenarios (name, params) VALUES (?, ?::JSON) ON CONFLICT (name) DO UPDATE"
        " SET params = excluded.params, updated_at = now()", params) and None)


def load_scenario(store: Any, name: str) -> Scenario:
    """The saved scenario ``name``; raises ``ScenarioNotFoundError`` when there is none."""
    text = store.scalar("SELECT CAST(params AS VARCHAR) FROM scenarios WHERE name = ?", [name])
    if text is None:
        raise ScenarioNotFoundError(f"no saved scenario named {name!r}")
    return Scenario.from_json(text).replace(name=name)


def list_scenarios(store: Any) -> pd.DataFrame:
    """Saved scenarios, newest change first: ``name``, ``created_at``, ``updated_at``."""
    return store.query("SELECT name, created_at, updated_at FROM scenarios"
                       " ORDER BY updated_at DESC, name")


def delete_scenario(store: Any, name: str) -> bool:
    """Delete the saved scenario ``name``; True when one was deleted."""
    def run(conn: Any) -> bool:
        found = conn.execute("SELECT count(*) FROM scenarios WHERE name = ?", [name]).fetchone()
        conn.execute("DELETE FROM scenarios WHERE name = ?", [name])
        return bool(found and found[0])
    return bool(store.write(run))


def scenario_inputs_frame(scenarios: Sequence[Scenario]) -> pd.DataFrame:
    """Inputs of several scenarios: one row per input, one column per scenario name
    (competitors summarised as "name @ price" text)."""
    cols: dict[str, dict[str, Any]] = {}
    for i, s in enumerate(scenarios):
        d = s.to_dict()
        d["competitors"] = ", ".join(f"{c.name} @ {c.price:g}" for c in s.competitors)
        d.pop("name")
        cols[_unique(s.name, i, cols)] = d
    return pd.DataFrame(cols)


def _unique(name: str, i: int, taken: Mapping[str, Any]) -> str:
    return name if name not in taken else f"{name} ({i + 1})"
