"""Default scenario inputs measured from the store (what the pages start from).

Everything here is measured or a documented assumption:

* price, volume, tickets per 1M tokens, AI resolution share: the segment's last months;
* elasticity and its interval: the fitted log-log regression (``analytics.elasticity``);
* competitor-mention pressure: the segment's mention rate and the fitted interaction slope;
* competitors: the vendors customers mention most (the measured pressure), each with its
  model priced closest to ours; their market shares (an assumption: ``inside_share`` split in
  proportion to mentions) and unit costs (price × (1 − gross margin), anchor: a16z 50–60 %)
  calibrate their logit qualities; our quality is calibrated the same way;
* the price cut: the median size of the real competitor price cuts in the price data.

Example:
    >>> from data.store import Store                                   # doctest: +SKIP
    >>> s = default_scenario(Store.open(), segment="smb")              # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analytics.competition import alpha_from_elasticity, calibrate_qualities
from analytics.costs import DEFAULT_FIXED_COST_PER_MONTH, CostInputs
from analytics.elasticity import estimate_mention_interaction, fit_elasticity
from analytics.errors import InsufficientDataError
from analytics.inputs import segment_snapshot, usage_panel
from analytics.positioning import competitor_price_points
from analytics.scenario import Competitor, Scenario
from analytics.signals import (
    competitor_mention_rates,
    competitor_pressure,
    mentions_by_vendor,
    newest_model_id,
)

__all__ = ["default_competitors", "default_cut_pct", "default_scenario"]

#: Gross margin assumed for competitors' unit costs. Anchor: a16z, AI companies 50–60 %.
COMPETITOR_GROSS_MARGIN = 0.55


def default_cut_pct() -> float:
    """The median size (percent, positive) of the real competitor price cuts on record."""
    from data.reference import price_cut_events
    cuts = price_cut_events()
    return round(float(-cuts["pct_change"].median()), 1) if len(cuts) else 20.0


def default_competitors(
    store: Any, *, reference_price: float, alpha: float, our_share: float = 0.1,
    inside_share: float = 0.6, n: int = 5, model_id: str | None = None,
    gross_margin: float = COMPETITOR_GROSS_MARGIN,
) -> tuple[tuple[Competitor, ...], float]:
    """The rivals for the price-war model, and our calibrated quality.

    Args:
        store: the store (competitor_prices, entities).
        reference_price: our price; each vendor's model priced closest to it (log scale).
        alpha: logit price sensitivity.
        our_share: our assumed market share.
        inside_share: assumed share of all inside options (us + rivals); the rest is the
            outside option.
        n: how many vendors, most mentioned first (by price closeness when untagged).
        model_id: the tagger for mentions (default newest).
        gross_margin: rivals' assumed gross margin (unit cost = price × (1 − margin)).

    Returns:
        (competitors, our quality term).
    """
    points = competitor_price_points(store)
    points = points[points["price_per_m"] > 0]
    if points.empty:
        return (), 0.0
    points = points.assign(dist=np.abs(np.log(points["price_per_m"] / reference_price)))
    closest = points.sort_values(["dist", "model_id"]).groupby("vendor", sort=False).head(1)
    mentions = mentions_by_vendor(store, model_id=model_id)
    closest = closest.merge(mentions[["vendor", "tickets"]], on="vendor", how="left")
    closest["tickets"] = closest["tickets"].fillna(0.0)
    chosen = closest.sort_values(["tickets", "dist", "vendor"],
                                 ascending=[False, True, True]).head(n)
    weights = (chosen["tickets"] + 1.0).to_numpy(float)
    rival_shares = (inside_share - our_share) * weights / weights.sum()
    prices = np.concatenate([[reference_price], chosen["price_per_m"].to_numpy(float)])
    qualities = calibrate_qualities(prices, np.concatenate([[our_share], rival_shares]), alpha)
    comps = tuple(
        Competitor(name=f"{v} ({m})", price=float(p), unit_cost=float(p * (1 - gross_margin)),
                   quality=float(q))
        for v, m, p, q in zip(chosen["vendor"], chosen["model_name"], prices[1:],
                              qualities[1:], strict=True))
    return comps, float(qualities[0])


def default_scenario(
    store: Any, segment: str | None = None, *, costs: CostInputs | None = None,
    model_id: str | None = None, months: int = 3, our_share: float = 0.1,
    min_tickets: int = 30, name: str = "base",
) -> Scenario:
    """A scenario with every input measured from the store where the data allow.

    Args:
        store: the store.
        segment: a segment, or None for all customers.
        costs: cost-model inputs (defaults from the anchors; the AI resolution share is
            replaced by the measured one when there are resolved tickets).
        model_id: the tagger for competitor mentions (default newest; "gold" = gold spans).
        months: how many recent months define price and volume.
        our_share: our assumed market share (sizes the market of the price-war model).
        min_tickets: tagged tickets needed in the recent months before the recent mention
            rate replaces the period's rate.
        name: the scenario's name.

    Falls back to ``Scenario``'s defaults for what the store cannot provide (no usage: the
    default scenario; an elasticity that cannot be fitted: the default elasticity).
    """
    costs = costs or CostInputs()
    snap = segment_snapshot(store, months=months)
    row = snap[snap["segment"].isna()] if segment is None else snap[snap["segment"] == segment]
    if row.empty:
        empty: dict[str, Any] = dict(costs.as_dict())
        return Scenario(name=name, segment=segment, **empty)
    r = row.iloc[0]
    total_revenue = float(snap.loc[snap["segment"].isna(), "revenue"].iloc[0])
    price = float(r["price_per_m"])
    volume = float(r["tokens"]) / 1e6
    cost_values: dict[str, Any] = dict(costs.as_dict())
    if pd.notna(r["ai_share"]):
        cost_values["ai_resolution_share"] = float(r["ai_share"])
    if costs.fixed_cost_per_month == DEFAULT_FIXED_COST_PER_MONTH and segment is not None \
            and total_revenue > 0:
        # fixed costs allocated to a segment by its share of revenue
        cost_values["fixed_cost_per_month"] = costs.fixed_cost_per_month * float(
            r["revenue"]) / total_revenue
    values: dict[str, Any] = {"name": name, "segment": segment, "price_per_m": price,
                              "reference_price": price, "reference_volume_m": volume,
                              "tickets_per_million": float(r["tickets_per_million"] or 0.0),
                              "our_share": our_share, **cost_values}
    panel = usage_panel(store, segment=segment)
    try:
        fit = fit_elasticity(panel, segment=segment)
        values.update(elasticity=fit.elasticity, elasticity_ci_low=fit.ci_low,
                      elasticity_ci_high=fit.ci_high)
    except InsufficientDataError:
        pass
    model_id = model_id or newest_model_id(store)
    if model_id is not None:
        try:
            rates = competitor_mention_rates(store, model_id=model_id)  # once: the costly query
            inter = estimate_mention_interaction(store, model_id=model_id, rates=rates)
            pressure = competitor_pressure(store, model_id=model_id, rates=rates)
            seg_p = pressure if segment is None else pressure[pressure["segment"] == segment]
            if not seg_p.empty:
                period = float((seg_p["rate"] * seg_p["tickets"]).sum() / seg_p["tickets"].sum())
                recent_n = int(seg_p["recent_tickets"].sum())
                recent = float((seg_p["recent_rate"].fillna(0) * seg_p["recent_tickets"]).sum()
                               / recent_n) if recent_n else period
                values.update(mention_slope=inter.slope, mention_rate_ref=period,
                              mention_rate=recent if recent_n >= min_tickets else period)
        except InsufficientDataError:
            pass
    draft = Scenario(**values)
    c = draft.cost_inputs().unit_cost_per_million(draft.tickets_per_million)
    e = draft.effective_elasticity
    top = max(3.0 * price, 1.5 * c * e / (1 + e) if e < -1 else 0.0)
    values.update(price_min=max(0.01, round(0.75 * c, 4)), price_max=round(top, 4))
    if e < 0:
        alpha = alpha_from_elasticity(e, price, our_share)
        comps, our_q = default_competitors(store, reference_price=price, alpha=alpha,
                                           our_share=our_share, model_id=model_id)
        if comps:
            values.update(competitors=comps, our_quality=our_q, cut_competitor=comps[0].name,
                          cut_pct=default_cut_pct())
    return Scenario(**values)
