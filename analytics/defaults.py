"""Default scenario inputs measured from the store (what the pages start from).

Everything here is measured or a documented assumption:

* per segment: today's price, volume, tickets per 1M tokens (the last months), the fitted
  elasticity and its interval (``analytics.elasticity``), the observed price range;
  "All customers" holds every segment (their sum at one price), never a pooled fit;
* the token mix (output share) and the AI resolution share: measured per segment, so a
  segment's unit cost is the same in its own view and inside "All customers";
* competitor-mention pressure: the fitted interaction slope γ and each segment's recent
  rise in mentions give a *measured shift* γ·(recent rate − period rate), kept as evidence
  for the explicit pressure lever, which is off by default;
* competitors: the vendors customers mention most (by price closeness when untagged), each
  with its model priced closest to ours; their shares are an assumption
  (``INSIDE_SHARE`` of the market split in proportion to mentions + 1), editable on the page;
* the price range: from our lowest observed price and the cheapest chosen rival to our
  highest observed price and the dearest chosen rival (so the optimum is never silently an
  extrapolation far beyond any price seen in this market);
* the price cut: the median size of the real competitor price cuts in the price data;
* strategies: a quality step of ``QUALITY_STEP`` utility at ``QUALITY_COST_FACTOR`` × our
  GPU cost per 1M tokens (serving a better model costs more GPU time per token; a16z's
  "LLMflation": the same capability gets 10× cheaper per year, so one tier up costs roughly
  what our model cost a few months ago), a niche of 20 % of the market half as price
  sensitive.

Example:
    >>> from data.store import Store                                   # doctest: +SKIP
    >>> s = default_scenario(Store.open(), segment="smb")              # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analytics.costs import CostInputs
from analytics.elasticity import estimate_elasticities, estimate_mention_interaction
from analytics.errors import InsufficientDataError
from analytics.inputs import segment_snapshot
from analytics.positioning import competitor_price_points
from analytics.scenario import Scenario
from analytics.scenario_parts import PRICE_RANGE, Competitor, DemandSegment
from analytics.signals import (
    competitor_mention_rates,
    competitor_pressure,
    mentions_by_vendor,
    newest_model_id,
)

__all__ = ["default_competitors", "default_cut_pct", "default_scenario"]

#: Assumed share of the whole market buying from us or a listed rival (the rest buy from
#: none of us: other vendors, self-hosting, not at all).
INSIDE_SHARE = 0.6
#: Utility gain of the "differentiate" strategy (logit units).
QUALITY_STEP = 0.5
#: Its extra unit cost as a multiple of our GPU cost per 1M tokens.
QUALITY_COST_FACTOR = 0.5


def default_cut_pct() -> float:
    """The median size (percent, positive) of the real competitor price cuts on record."""
    from data.reference import price_cut_events

    cuts = price_cut_events()
    return round(float(-cuts["pct_change"].median()), 1) if len(cuts) else 20.0


def default_competitors(
    store: Any,
    *,
    reference_price: float,
    our_share: float = 0.1,
    inside_share: float = INSIDE_SHARE,
    n: int = 5,
    model_id: str | None = None,
) -> tuple[Competitor, ...]:
    """The rivals for the price-war model with today's list prices and assumed shares.

    Args:
        store: the store (competitor_prices, entities).
        reference_price: our price; each vendor's model priced closest to it (log scale).
        our_share: our market share.
        inside_share: share of the whole market buying from us or a listed rival; the rivals
            split ``inside_share − our_share`` in proportion to their mentions + 1.
        n: how many vendors, most mentioned first (by price closeness when untagged).
        model_id: the tagger for mentions (default newest).
    """
    points = competitor_price_points(store)
    lo, hi = PRICE_RANGE  # a rival's price the model accepts; a 1e300 list price is a typo
    points = points[points["price_per_m"].between(lo, hi)]
    if points.empty or inside_share <= our_share:
        return ()
    points = points.assign(dist=np.abs(np.log(points["price_per_m"] / reference_price)))
    closest = points.sort_values(["dist", "model_id"]).groupby("vendor", sort=False).head(1)
    mentions = mentions_by_vendor(store, model_id=model_id)
    closest = closest.merge(mentions[["vendor", "tickets"]], on="vendor", how="left")
    closest["tickets"] = closest["tickets"].fillna(0.0)
    chosen = closest.sort_values(["tickets", "dist", "vendor"], ascending=[False, True, True]).head(
        n
    )
    weights = (chosen["tickets"] + 1.0).to_numpy(float)
    shares = (inside_share - our_share) * weights / weights.sum()
    return tuple(
        Competitor(name=f"{v} ({m})", price=float(p), share=float(s))
        for v, m, p, s in zip(
            chosen["vendor"], chosen["model_name"], chosen["price_per_m"], shares, strict=True
        )
    )


def _mention_evidence(
    store: Any, model_id: str | None, min_tickets: int
) -> tuple[dict[str, float], float, float]:
    """Per segment the measured elasticity shift γ·(recent − period rate) (0 with fewer than
    ``min_tickets`` recent tagged tickets), and γ with its standard error."""
    model_id = model_id or newest_model_id(store)
    if model_id is None:
        return {}, 0.0, 0.0
    try:
        rates = competitor_mention_rates(store, model_id=model_id)
        inter = estimate_mention_interaction(store, model_id=model_id, rates=rates)
        pressure = competitor_pressure(store, model_id=model_id, rates=rates)
    except InsufficientDataError:
        return {}, 0.0, 0.0
    shifts = {}
    for r in pressure.itertuples():
        enough = (r.recent_tickets or 0) >= min_tickets and pd.notna(r.recent_rate)
        shifts[str(r.segment)] = float(inter.slope * (r.recent_rate - r.rate)) if enough else 0.0
    return shifts, float(inter.slope), float(inter.std_error)


def default_scenario(
    store: Any,
    segment: str | None = None,
    *,
    costs: CostInputs | None = None,
    model_id: str | None = None,
    months: int = 3,
    our_share: float = 0.1,
    min_tickets: int = 30,
    name: str = "base",
    market: bool = True,
) -> Scenario:
    """A scenario with every input measured from the store where the data allow.

    Args:
        store: the store.
        segment: a segment, or None for all customers (every segment, summed).
        costs: cost-model inputs (defaults from the anchors; each segment's output share and
            AI resolution share are measured, these are the fallbacks).
        model_id: the tagger for competitor mentions (default newest; "gold" = gold spans).
        months: how many recent months define price and volume.
        our_share: our market share (calibrates the price-war market).
        min_tickets: tagged tickets needed in the recent months before a segment's mention
            shift is measured (a rate from a handful of tickets is noise).
        name: the scenario's name.
        market: measure the market around the segments too (competitor-mention shifts,
            competitors, the price range they span). False gives the segments' economics
            only: the same unit costs and elasticities (``Scenario.unit_cost``,
            ``used_elasticity`` with the pressure lever off), at a fraction of the reads.

    Falls back to ``Scenario``'s defaults for what the store cannot provide (no usage: the
    default scenario; a segment whose elasticity cannot be fitted is left out, and a
    single segment without a fit keeps the default elasticity).
    """
    costs = costs or CostInputs()
    snap = segment_snapshot(store, months=months)
    scope = snap[snap["segment"].isna()] if segment is None else snap[snap["segment"] == segment]
    # the token mix and AI resolution share are measured per segment (below)
    values: dict[str, Any] = {
        "name": name,
        "segment": segment,
        "our_share": our_share,
        **{
            k: v
            for k, v in costs.as_dict().items()
            if k not in ("output_share", "ai_resolution_share")
        },
    }
    if scope.empty:
        return Scenario(**values)
    if segment is not None:
        values["fixed_cost_per_month"] = 0.0  # fixed costs are company-wide
    fits = estimate_elasticities(store).set_index("segment")
    shifts, slope, slope_se = (
        _mention_evidence(store, model_id, min_tickets) if market else ({}, 0.0, 0.0)
    )
    rows = snap[snap["segment"].notna()]
    if segment is not None:
        rows = rows[rows["segment"] == segment]
    parts = []
    for row in rows.itertuples():
        if not (row.tokens > 0 and row.price_per_m > 0):
            continue
        fit = fits.loc[row.segment] if row.segment in fits.index else None
        fitted = fit is not None and pd.notna(fit["elasticity"])
        if not fitted and segment is None:
            continue
        e = (
            (float(fit["elasticity"]), float(fit["ci_low"]), float(fit["ci_high"]))
            if fitted
            else (
                DemandSegment.elasticity,
                DemandSegment.elasticity_ci_low,
                DemandSegment.elasticity_ci_high,
            )
        )
        parts.append(
            DemandSegment(
                name=str(row.segment),
                reference_price=float(row.price_per_m),
                reference_volume_m=float(row.tokens) / 1e6,
                elasticity=e[0],
                elasticity_ci_low=e[1],
                elasticity_ci_high=e[2],
                tickets_per_million=float(row.tickets_per_million or 0.0),
                mention_shift=shifts.get(str(row.segment), 0.0),
                price_low=float(row.price_low) if pd.notna(row.price_low) else 0.0,
                price_high=float(row.price_high) if pd.notna(row.price_high) else 0.0,
                output_share=(
                    float(row.output_share) if pd.notna(row.output_share) else costs.output_share
                ),
                ai_resolution_share=(
                    float(row.ai_share) if pd.notna(row.ai_share) else costs.ai_resolution_share
                ),
            )
        )
    if not parts:
        return Scenario(**values)
    draft = Scenario(**values, segments=tuple(parts))
    if not market:
        return draft
    price = draft.price_now
    comps = default_competitors(
        store, reference_price=price, our_share=our_share, model_id=model_id
    )
    seen = draft.observed_price_range or (price, price)
    rival_prices = [c.price for c in comps]
    floor = min([seen[0], *rival_prices])
    ceiling = max([seen[1], *rival_prices])
    values.update(
        segments=tuple(parts),
        price_per_m=round(price, 6),
        mention_slope=slope,
        mention_slope_se=slope_se,
        price_floor=round(max(0.01, 0.8 * floor), 4),
        price_ceiling=round(1.25 * ceiling, 4),
        quality_step=QUALITY_STEP,
        quality_cost=round(QUALITY_COST_FACTOR * draft.cost_inputs().gpu_cost_per_million, 6),
    )
    if comps:
        values.update(competitors=comps, cut_competitor=comps[0].name, cut_pct=default_cut_pct())
    return Scenario(**values)
