"""Customers at risk: a churn-risk score from the store's signals, its ROC AUC against a
usage-trend-only baseline, and the offer to make with its expected monthly profit effect.

**The score ranks risk; it does not prove why a customer leaves.** It is a discrete-time
churn model: for a customer active on a day ``as_of`` (used the service in the month before),
the probability that it is gone within ``horizon_months`` months (``churn_month`` in
[month of as_of, + horizon); default one month, so the risk is a monthly churn probability), by an L2-penalised logistic regression (Newton's method on
standardised features, :data:`PENALTY`) on :data:`FEATURES`, all measured before ``as_of``:

* ``usage_trend``: log of mean monthly tokens in the last 3 months over the 3 before (0 when
  there is no earlier quarter);
* ``log_negative``: log(1 + negative tickets in the last ``lookback_days`` days);
* ``log_tickets``: log(1 + all its tickets in that window) — big customers file many
  tickets, so what a negative ticket says depends on how many there are;
* ``log_competitor``: log(1 + tickets naming a competitor in that window);
* ``mentioned_cut``: the depth (share of the old price) of the deepest price cut, inside the
  window, of a competitor the customer named (its latest cut is reported beside);
* ``market_cut``: the deepest cut of any competitor inside the window;
* the customer's segment and plan (one indicator per value but the first).

The model is fitted on the store's own history (one row per active customer and month),
so it needs churn on record. :func:`risk_backtest` fits it on the earlier months and
measures the ROC AUC (Mann–Whitney) on the later ones, against the same model on the usage
trend alone.

**The offer** (:func:`recommend_action`, :class:`OfferAssumptions`). With V the customer's
monthly volume (millions of tokens), p its price, c its segment's unit cost (GPU + support,
from the scenario's cost model: ``Scenario.unit_cost``), ε its segment's elasticity
(``Scenario.used_elasticity``) and q its risk, the expected monthly contribution of each
action counts the customer as lost when it churns (conservative: as if at the start of the
horizon):

* hold:        π₀ = (1 − q)·(p − c)·V
* discount d:  π(d) = (1 − q·(1 − s_d·d/d_max))·(p·(1 − d) − c)·V·(1 − d)^ε, 0 < d ≤ d_max,
  the best d on a grid of ``discount_step``;
* plan change to a cheaper plan at list price p′:  (1 − q·(1 − s_p))·(p′ − c)·V·(p′/p)^ε;
* contact:     (1 − q·(1 − s_c))·(p − c)·V − contact_cost (one call a month at most).

The save rates s_d, s_p, s_c (the share of the risk an action removes) are **assumptions**,
not measured: nothing in the store says how customers answer an offer. The recommended action
is the one with the largest expected effect π − π₀; hold when none is positive.

Example:
    >>> round(offer_profit(risk=0.5, price=1.0, unit_cost=0.4, volume_m=100.0,
    ...                    elasticity=-1.0, discount=0.0, save=0.0), 6)
    30.0

The package's modules: :mod:`~analytics.risk.model` (the logistic score and its ROC AUC),
:mod:`~analytics.risk.panel` (the features per customer and month),
:mod:`~analytics.risk.backtest`, :mod:`~analytics.risk.offers` (the actions and their
profit effects) and :mod:`~analytics.risk.at_risk` (the scored list with its offers).
"""

from analytics.risk.at_risk import RISK_COLUMNS, RISK_NOTE, customers_at_risk
from analytics.risk.backtest import RiskBacktest, risk_backtest
from analytics.risk.model import FEATURES, RiskModel, fit_risk_model, roc_auc
from analytics.risk.offers import (
    ACTIONS,
    OfferAssumptions,
    offer_assumptions_text,
    offer_profit,
    recommend_action,
)
from analytics.risk.panel import risk_panel

__all__ = [
    "RISK_NOTE",
    "offer_assumptions_text",
    "ACTIONS",
    "FEATURES",
    "RISK_COLUMNS",
    "OfferAssumptions",
    "RiskBacktest",
    "RiskModel",
    "customers_at_risk",
    "fit_risk_model",
    "offer_profit",
    "recommend_action",
    "risk_backtest",
    "risk_panel",
    "roc_auc",
]
