"""The customers most likely to leave, scored, each with its recommended offer
(:func:`customers_at_risk`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from analytics.errors import InsufficientDataError
from analytics.risk.model import fit_risk_model
from analytics.risk.offers import OfferAssumptions, recommend_action
from analytics.risk.panel import (
    check_window,
    features_at,
    load_data,
    months_with_labels,
    prepare_features,
    risk_panel,
)

#: What the customers-at-risk list may and may not be read as (page and command line).
RISK_NOTE = (
    "The score ranks customers by their risk of leaving within a month; it does not "
    "prove why a customer leaves."
)
#: The economics and the recommended offer, after the customer's own columns.
_OFFER_COLUMNS: tuple[str, ...] = (
    "unit_cost",
    "elasticity",
    "action",
    "discount",
    "new_plan",
    "new_price",
    "profit_hold",
    "profit_effect",
    "reason",
)
#: Columns of :func:`customers_at_risk`.
RISK_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "name",
    "segment",
    "plan",
    "region",
    "risk",
    "lift",
    "usage_trend",
    "negative_tickets",
    "competitor_tickets",
    "top_competitor",
    "latest_cut",
    "latest_cut_pct",
    "volume_m",
    "price_per_m",
    *_OFFER_COLUMNS,
)


def customers_at_risk(
    store: Any,
    *,
    sentiment: str = "gold",
    entities: str | None = None,
    as_of: dt.date | None = None,
    lookback_days: int = 90,
    scenario: Any = None,
    assumptions: OfferAssumptions | None = None,
    all_customers: bool = False,
    signals: Any = None,
) -> pd.DataFrame:
    """Customers active at ``as_of`` scored for risk, with the recommended action.

    Args:
        store: the store.
        sentiment, entities: the sources of the signals (see :func:`risk_panel`).
        as_of: the day scored (default the first day after the last usage month); the model
            is fitted on the months whose horizon ends by then.
        lookback_days: the ticket window of the features.
        scenario: the economics (``analytics.Scenario`` with segments) that prices the
            offers; default ``analytics.default_scenario(store, None, market=False)`` (the
            segments' unit costs and elasticities are all the offers use).
        assumptions: :class:`OfferAssumptions`.
        all_customers: every active customer, not only those at risk.
        signals: :func:`analytics.alerts.ticket_signals` or :func:`analytics.alerts.
            signal_counts` already read.

    Returns:
        Columns :data:`RISK_COLUMNS`, riskiest first: the customer, ``risk`` (probability of
        leaving within ``assumptions.horizon_months``), ``lift`` (÷ the average risk scored),
        the signals behind it, ``volume_m`` (monthly, millions of tokens), ``price_per_m``,
        the segment's ``unit_cost`` and ``elasticity``, and the action: ``action``,
        ``discount``, ``new_plan``, ``new_price``, ``profit_hold`` (expected monthly
        contribution if we do nothing, USD), ``profit_effect`` (expected monthly change,
        USD), ``reason``.

    Raises:
        InsufficientDataError: no usage, or no churn on record to fit the score on.
    """
    a = assumptions or OfferAssumptions()
    check_window(a.horizon_months, lookback_days)
    data = load_data(store, sentiment, entities, signals)
    if data.usage.empty:
        raise InsufficientDataError("no usage in the store: nothing to score")
    when = (
        pd.Timestamp(as_of)
        if as_of is not None
        else data.usage["month"].max() + pd.DateOffset(months=1)
    )
    months = months_with_labels(data, a.horizon_months, when)
    prepare_features(data, [*months, when], lookback_days)
    panel = risk_panel(
        store,
        horizon_months=a.horizon_months,
        lookback_days=lookback_days,
        months=months,
        _data=data,
    )
    model = fit_risk_model(panel)
    now = features_at(data, when, lookback_days)
    if now.empty:
        return pd.DataFrame(columns=list(RISK_COLUMNS))
    now["risk"] = model.predict(now)
    now["lift"] = now["risk"] / now["risk"].mean()
    if not all_customers:
        now = now[now["lift"] >= a.min_lift]
    segments, plans = _economics(store, scenario)
    rows = []
    for r in now.itertuples():
        seg = segments.get(r.segment)
        cost, eps = seg if seg is not None else (float("nan"), None)
        rec = (
            recommend_action(
                risk=float(r.risk),
                price=float(r.price_per_m),
                unit_cost=cost,
                volume_m=float(r.volume_m),
                elasticity=eps,
                plans=plans,
                plan=r.plan,
                assumptions=a,
            )
            if seg is not None
            else {
                "action": "contact",
                "discount": 0.0,
                "new_plan": None,
                "new_price": float(r.price_per_m),
                "profit_hold": float("nan"),
                "profit_effect": float("nan"),
                "reason": "the economics have no curve for this segment: talk to them",
            }
        )
        rows.append({**r._asdict(), "unit_cost": cost, "elasticity": eps, **rec})
    out = pd.DataFrame(
        rows,
        columns=[*now.columns, *_OFFER_COLUMNS],
    )
    out = out.sort_values(["risk", "customer_id"], ascending=[False, True])
    return out.reset_index(drop=True)[list(RISK_COLUMNS)]


def _economics(
    store: Any, scenario: Any
) -> tuple[dict[str, tuple[float, float]], dict[str, float]]:
    """(segment → (unit cost, elasticity)) from the scenario, and plan → current list price."""
    from analytics.inputs import current_prices

    if scenario is None:
        from analytics.defaults import default_scenario

        scenario = default_scenario(store, None, market=False)  # costs and elasticities only
    segments = {
        g.name: (float(scenario.unit_cost(g)), float(scenario.used_elasticity(g)[0]))
        for g in scenario.segments
    }
    prices = current_prices(store)
    plans = {str(p): float(v) for p, v in zip(prices["plan"], prices["price_per_m"], strict=True)}
    return segments, plans
