"""Typed computation for the Price War Room: economics, competition, scenarios, and the
store reads behind the pages.

No Streamlit here: pages call these functions and draw what comes back. SQL lives in
``explore``, ``alerts``, ``risk``, ``signals``, ``inputs``, ``positioning`` and ``scenario``
(values always as parameters); ``defaults``, ``elasticity``, ``report`` and the ``cli`` take
a store only to hand it to those; every other module takes numbers and frames, not a store.
Modules, one concern each:

* ``demand``: linear, constant-elasticity and logit demand.
* ``costs``: GPU, support and fixed costs (defaults from the cost anchors).
* ``optimize``: profit, optimal price (MR = MC), break-even, margins, goal seek.
* ``sensitivity``: tornado and two-way tables. ``montecarlo``: profit under uncertainty.
* ``competition``: logit Bertrand–Nash equilibrium, price cuts, strategies.
* ``business``: the one demand model: segments' constant-elasticity curves summed at one
  price, the constrained optimum, its spread, break-even and goal-seek roots.
* ``scenario``: the ``Scenario`` dataclass (JSON, URL, store). ``evaluate``: a scenario's
  numbers for the what-if and scenario pages; ``war``: its price war (today's market
  calibrated); ``goalseek``: solve for any input; ``report``: the analysts' report.
* ``inputs``, ``signals``, ``elasticity``, ``positioning``: the store-fed parts (usage,
  prices, tickets, competitor-mention pressure, fitted elasticities, positioning map).
* ``explore``: the Overview and Entities aggregates.
* ``alerts``: negative-ticket share per day or week and scope, the surge rule and its
  measured false-alarm rate; ``risk``: customers at risk (score, backtest AUC against a
  usage-trend baseline) and the offer to make with its expected monthly profit effect.

Errors (``analytics.errors``)::

    AnalyticsError
    ├── NoInteriorOptimumError, GoalNotReachableError, InsufficientDataError (ValueError)
    ├── EquilibriumNotConvergedError (RuntimeError)
    └── ScenarioError (ValueError) └── ScenarioNotFoundError (KeyError)

Example:
    >>> from analytics import LinearDemand, optimal_price
    >>> optimal_price(LinearDemand(a=100, b=2), unit_cost=10).price
    30.0
"""

from __future__ import annotations

import importlib
from typing import Any

#: Every public name and the module it lives in; a name is imported on first use (PEP 562),
#: so ``import analytics`` is cheap and a page pays only for the modules it reads.
_HOME: dict[str, str] = {
    "ALERT_COLUMNS": "analytics.alerts",
    "FalseAlarmReport": "analytics.alerts",
    "STATED_FALSE_ALARM_RATE": "analytics.alerts",
    "SurgeRule": "analytics.alerts",
    "control_limit": "analytics.alerts",
    "false_alarm_rate": "analytics.alerts",
    "negative_share": "analytics.alerts",
    "surge_alerts": "analytics.alerts",
    "surge_p_value": "analytics.alerts",
    "surge_scan": "analytics.alerts",
    "ticket_signals": "analytics.alerts",
    "BusinessOptimum": "analytics.business",
    "DemandModel": "analytics.business",
    "OptimumSpread": "analytics.business",
    "SegmentCurve": "analytics.business",
    "constrained_optimum": "analytics.business",
    "optimum_spread": "analytics.business",
    "profit_roots": "analytics.business",
    "CUT_TABLE_LABELS": "analytics.competition",
    "CalibratedMarket": "analytics.competition",
    "EquilibriumResult": "analytics.competition",
    "PriceCutResult": "analytics.competition",
    "STRATEGIES": "analytics.competition",
    "STRATEGY_COLUMN_LABELS": "analytics.competition",
    "StrategyComparison": "analytics.competition",
    "alpha_from_elasticity": "analytics.competition",
    "best_response": "analytics.competition",
    "calibrate_market": "analytics.competition",
    "calibrate_qualities": "analytics.competition",
    "compare_strategies": "analytics.competition",
    "implied_costs": "analytics.competition",
    "largest_absorbable_cut": "analytics.competition",
    "logit_nash_equilibrium": "analytics.competition",
    "price_cut_scenario": "analytics.competition",
    "CostInputs": "analytics.costs",
    "gpu_cost_per_million": "analytics.costs",
    "support_cost": "analytics.costs",
    "support_cost_per_ticket": "analytics.costs",
    "default_competitors": "analytics.defaults",
    "default_cut_pct": "analytics.defaults",
    "default_scenario": "analytics.defaults",
    "ConstantElasticityDemand": "analytics.demand",
    "Demand": "analytics.demand",
    "LinearDemand": "analytics.demand",
    "LogitDemand": "analytics.demand",
    "logit_shares": "analytics.demand",
    "ElasticityEstimate": "analytics.elasticity",
    "MentionInteraction": "analytics.elasticity",
    "estimate_elasticities": "analytics.elasticity",
    "estimate_mention_interaction": "analytics.elasticity",
    "fit_elasticity": "analytics.elasticity",
    "AnalyticsError": "analytics.errors",
    "EquilibriumNotConvergedError": "analytics.errors",
    "GoalNotReachableError": "analytics.errors",
    "InsufficientDataError": "analytics.errors",
    "NoInteriorOptimumError": "analytics.errors",
    "ScenarioError": "analytics.errors",
    "ScenarioNotFoundError": "analytics.errors",
    "ScenarioResult": "analytics.evaluate",
    "TORNADO_INPUTS": "analytics.evaluate",
    "compare_scenarios": "analytics.evaluate",
    "data_table": "analytics.evaluate",
    "evaluate_profit": "analytics.evaluate",
    "evaluate_scenario": "analytics.evaluate",
    "metric_value": "analytics.evaluate",
    "scenario_model": "analytics.evaluate",
    "scenario_monte_carlo": "analytics.evaluate",
    "scenario_tornado": "analytics.evaluate",
    "CostRates": "analytics.explore",
    "Filters": "analytics.explore",
    "GROUPS_TICKETS": "analytics.explore",
    "GROUPS_USAGE": "analytics.explore",
    "competitor_mentions": "analytics.explore",
    "cost_to_serve": "analytics.explore",
    "current_model_id": "analytics.explore",
    "data_version": "analytics.explore",
    "date_bounds": "analytics.explore",
    "entity_trends": "analytics.explore",
    "filter_options": "analytics.explore",
    "kpis": "analytics.explore",
    "last_tagging_run": "analytics.explore",
    "resolve_period": "analytics.explore",
    "sources": "analytics.explore",
    "tagging_progress": "analytics.explore",
    "ticket_list": "analytics.explore",
    "ticket_volume": "analytics.explore",
    "top_entities": "analytics.explore",
    "usage_volume": "analytics.explore",
    "GoalSeekResult": "analytics.goalseek",
    "goal_seek": "analytics.goalseek",
    "current_prices": "analytics.inputs",
    "price_history": "analytics.inputs",
    "segment_snapshot": "analytics.inputs",
    "segments": "analytics.inputs",
    "ticket_volumes": "analytics.inputs",
    "usage_by_segment_month": "analytics.inputs",
    "usage_panel": "analytics.inputs",
    "MonteCarloResult": "analytics.montecarlo",
    "simulate_profit": "analytics.montecarlo",
    "PriceOptimum": "analytics.optimize",
    "ProfitCurve": "analytics.optimize",
    "break_even_prices": "analytics.optimize",
    "break_even_volume": "analytics.optimize",
    "contribution_margin": "analytics.optimize",
    "contribution_margin_ratio": "analytics.optimize",
    "optimal_price": "analytics.optimize",
    "price_for_margin": "analytics.optimize",
    "price_for_profit": "analytics.optimize",
    "profit": "analytics.optimize",
    "profit_curve": "analytics.optimize",
    "TIER_LABELS": "analytics.positioning",
    "competitor_price_points": "analytics.positioning",
    "model_tier_table": "analytics.positioning",
    "positioning_map": "analytics.positioning",
    "quality_tier": "analytics.positioning",
    "segment_optima": "analytics.positioning",
    "segment_optima_from": "analytics.positioning",
    "OfferAssumptions": "analytics.risk",
    "RISK_COLUMNS": "analytics.risk",
    "RiskBacktest": "analytics.risk",
    "RiskModel": "analytics.risk",
    "customers_at_risk": "analytics.risk",
    "fit_risk_model": "analytics.risk",
    "offer_profit": "analytics.risk",
    "recommend_action": "analytics.risk",
    "risk_backtest": "analytics.risk",
    "risk_panel": "analytics.risk",
    "roc_auc": "analytics.risk",
    "Competitor": "analytics.scenario",
    "DemandSegment": "analytics.scenario",
    "Scenario": "analytics.scenario",
    "clean_scenario_name": "analytics.scenario",
    "delete_scenario": "analytics.scenario",
    "list_scenarios": "analytics.scenario",
    "load_scenario": "analytics.scenario",
    "save_scenario": "analytics.scenario",
    "saved_scenario_size": "analytics.scenario",
    "profit_table": "analytics.sensitivity",
    "table_to_long": "analytics.sensitivity",
    "tornado": "analytics.sensitivity",
    "two_way_table": "analytics.sensitivity",
    "competitor_mention_rates": "analytics.signals",
    "competitor_pressure": "analytics.signals",
    "mentions_by_vendor": "analytics.signals",
    "newest_model_id": "analytics.signals",
    "PriceWarResult": "analytics.war",
    "cut_price_table": "analytics.war",
    "evaluate_price_war": "analytics.war",
    "price_war_market": "analytics.war",
}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (and a submodule by its name)."""
    if name in _HOME:
        value = getattr(importlib.import_module(_HOME[name]), name)
        globals()[name] = value
        return value
    try:
        return importlib.import_module(f"analytics.{name}")
    except ModuleNotFoundError:
        raise AttributeError(f"module 'analytics' has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
