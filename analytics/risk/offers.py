"""The offer to make a customer at risk and its expected monthly profit effect (the
formulas are in :mod:`analytics.risk`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

ACTIONS: tuple[str, ...] = ("hold", "discount", "plan change", "contact")


# -- the offer -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfferAssumptions:
    """What an action does, by assumption (nothing in the store measures it).

    Attributes:
        max_discount: the cap of a discount (share of the price).
        discount_step: the grid step of the discount search.
        discount_save: share of the risk removed by a discount at the cap (linear below).
        plan_save: share of the risk removed by moving to a cheaper plan.
        contact_save: share of the risk removed by a customer-success contact.
        contact_cost: USD per contact (default four human-handled tickets' worth of staff
            time, from the cost anchors' $13.50 a ticket).
        horizon_months: the risk's horizon (1: q is the probability of leaving this month,
            so every figure is per month).
        min_lift: a customer is at risk when its risk is at least this multiple of the
            average risk of the customers scored.
    """

    max_discount: float = 0.20
    discount_step: float = 0.005
    discount_save: float = 0.5
    plan_save: float = 0.4
    contact_save: float = 0.2
    contact_cost: float = 54.0
    horizon_months: int = 1
    min_lift: float = 2.0

    def __post_init__(self) -> None:
        for name in ("max_discount", "discount_save", "plan_save", "contact_save"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and 0 <= v <= 1):
                raise ValueError(f"{name} must be between 0 and 1, got {v!r}")
        if not 0 < self.discount_step <= max(self.max_discount, 1e-9):
            raise ValueError("discount_step must be > 0 and at most max_discount")
        if not self.contact_cost >= 0:
            raise ValueError(f"contact_cost must be >= 0, got {self.contact_cost!r}")
        if int(self.horizon_months) != self.horizon_months or self.horizon_months < 1:
            raise ValueError(
                f"horizon_months must be a whole number >= 1, got {self.horizon_months!r}"
            )
        if not self.min_lift > 0:
            raise ValueError(f"min_lift must be > 0, got {self.min_lift!r}")


def offer_profit(
    *,
    risk: float,
    price: float,
    unit_cost: float,
    volume_m: float,
    elasticity: float,
    discount: float = 0.0,
    save: float = 0.0,
    new_price: float | None = None,
    fixed: float = 0.0,
) -> float:
    """Expected monthly contribution of a customer under an action (USD per month):
    ``(1 − risk·(1 − save))·(p′ − c)·V·(p′/p)^ε − fixed`` with p′ = ``new_price`` or
    p·(1 − ``discount``).

    Raises:
        ValueError: a risk or save outside [0, 1], a non-positive price or new price, a
            negative volume, a discount outside [0, 1).
    """
    if not 0 <= risk <= 1 or not 0 <= save <= 1:
        raise ValueError("risk and save must be between 0 and 1")
    if not price > 0 or not volume_m >= 0 or not 0 <= discount < 1:
        raise ValueError("price must be > 0, volume_m >= 0 and discount in [0, 1)")
    p_new = price * (1.0 - discount) if new_price is None else new_price
    if not p_new > 0:
        raise ValueError("the new price must be > 0")
    volume = volume_m * (p_new / price) ** elasticity
    return (1.0 - risk * (1.0 - save)) * (p_new - unit_cost) * volume - fixed


def recommend_action(
    *,
    risk: float,
    price: float,
    unit_cost: float,
    volume_m: float,
    elasticity: float | None,
    plans: dict[str, float] | None = None,
    plan: str | None = None,
    assumptions: OfferAssumptions | None = None,
) -> dict[str, Any]:
    """The action with the largest expected monthly profit effect over holding.

    Args:
        risk: probability of leaving within the horizon.
        price: the customer's price per 1M tokens; unit_cost: its segment's cost per 1M.
        volume_m: monthly volume, millions of tokens.
        elasticity: its segment's elasticity (None: no discount or plan change is priced).
        plans: current list price per plan (a plan change goes to the cheapest one below
            ``price``); plan: the customer's plan.
        assumptions: :class:`OfferAssumptions`.

    Returns:
        ``action``, ``discount`` (share, 0 unless a discount), ``new_plan``, ``new_price``,
        ``profit_hold`` (π₀), ``profit_effect`` (π − π₀), ``reason``.
    """
    a = assumptions or OfferAssumptions()
    eps = 0.0 if elasticity is None else elasticity
    base = dict(risk=risk, price=price, unit_cost=unit_cost, volume_m=volume_m, elasticity=eps)
    hold = offer_profit(**base)
    options: list[tuple[float, str, dict[str, Any]]] = []
    if elasticity is not None and a.max_discount > 0:
        grid = np.arange(a.discount_step, a.max_discount + 1e-12, a.discount_step)
        values = [
            offer_profit(
                **base, discount=float(d), save=a.discount_save * float(d) / a.max_discount
            )
            for d in grid
        ]
        best = int(np.argmax(values))
        d = round(float(grid[best]), 6)
        options.append(
            (values[best] - hold, "discount", {"discount": d, "new_price": price * (1 - d)})
        )
    if elasticity is not None and plans:
        cheaper = {k: v for k, v in plans.items() if k != plan and 0 < v < price}
        if cheaper:
            name = min(cheaper, key=lambda k: (cheaper[k], k))
            value = offer_profit(**base, new_price=cheaper[name], save=a.plan_save)
            options.append(
                (value - hold, "plan change", {"new_plan": name, "new_price": cheaper[name]})
            )
    contact = offer_profit(**base, save=a.contact_save, fixed=a.contact_cost)
    options.append((contact - hold, "contact", {}))
    effect, action, extra = max(options, key=lambda o: o[0])
    out = {
        "action": "hold",
        "discount": 0.0,
        "new_plan": None,
        "new_price": price,
        "profit_hold": hold,
        "profit_effect": 0.0,
        "reason": "no action pays for itself at this risk",
    }
    if effect > 0:
        out.update(extra, action=action, profit_effect=effect, reason=_reason(action, extra))
    return out


def _reason(action: str, extra: dict[str, Any]) -> str:
    if action == "discount":
        return f"discount {extra['discount']:.1%}: keeps more of the margin than it gives away"
    if action == "plan change":
        return f"move to {extra['new_plan']} at ${extra['new_price']:.2f} per 1M tokens"
    return "a customer-success call costs less than the margin it is expected to keep"


def offer_assumptions_text(assumptions: Any = None) -> str:
    """What the recommended actions' profit effects assume, in one paragraph
    (``analytics.risk.OfferAssumptions``, the defaults when None)."""
    a = assumptions or OfferAssumptions()
    return (
        f"Profit effects are expected contributions per month (USD) against doing "
        f"nothing, with the customer counted as lost when it churns. They assume, since "
        f"nothing in the store measures how customers answer an offer: a discount at its "
        f"cap of {a.max_discount:.0%} removes {a.discount_save:.0%} of the risk (less in "
        f"proportion below the cap) and moves volume by the segment's elasticity; a move "
        f"to a cheaper plan removes {a.plan_save:.0%}; a customer-success contact removes "
        f"{a.contact_save:.0%} and costs ${a.contact_cost:,.0f}. Costs per token are the "
        f'segment\'s from the pricing model. "At risk" means a risk at least '
        f"{a.min_lift:g}× the average of the customers scored."
    )
