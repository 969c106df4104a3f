"""Typed computation for the Price War Room: economics, competition, scenarios, and the
store reads behind the pages.

No Streamlit here: pages call these functions and draw what comes back. SQL lives in
``explore``, ``alerts``, ``risk``, ``signals``, ``inputs``, ``positioning`` and
``saved_scenarios`` (values always as parameters); ``defaults``, ``elasticity``, ``report``
and the ``cli`` take a store only to hand it to those; every other module takes numbers and
frames, not a store.
Modules, one concern each:

* ``demand``: linear, constant-elasticity and logit demand.
* ``costs``: GPU, support and fixed costs (defaults from the cost anchors).
* ``optimize``: profit, optimal price (MR = MC), break-even, margins, goal seek.
* ``sensitivity``: tornado and two-way tables. ``montecarlo``: profit under uncertainty.
* ``competition``: logit Bertrand–Nash equilibrium, price cuts, strategies.
* ``business``: the one demand model: segments' constant-elasticity curves summed at one
  price, the constrained optimum, its spread, break-even and goal-seek roots.
* ``scenario``: the ``Scenario`` dataclass (JSON, URL); ``scenario_parts``: its parts
  (``DemandSegment``, ``Competitor``) and the ranges every number is checked against;
  ``saved_scenarios``: scenarios kept in the store (names cleaned, save, load, list,
  delete). ``evaluate``: a scenario's result (profit, optimum, break-even, warnings);
  ``scenario_sensitivity``: its numbers with inputs varied (tornado, data tables, Monte
  Carlo); ``scenario_tables``: its segments and several scenarios side by side; ``war``: its
  price war (today's market calibrated); ``goalseek``: solve for any input; ``report``: the
  analysts' report.
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
#: so ``import analytics`` is cheap and a page pays only for the modules it reads. The public
#: surface is the economics engine (demand, costs, optimum, break-even, competition, price
#: war, goal seek, sensitivity, Monte Carlo), scenarios and their evaluation, the defaults,
#: the errors, and the three analyses a manager reads (surge alerts, customers at risk, the
#: positioning map); the store reads behind the pages (``explore``, ``inputs``, ``signals``,
#: the alerts' and risk's parts) are imported from their modules.
_HOME: dict[str, str] = {
    "SurgeRule": "analytics.alerts",
    "surge_alerts": "analytics.alerts",
    "BusinessOptimum": "analytics.business",
    "DemandModel": "analytics.business",
    "OptimumSpread": "analytics.business",
    "SegmentCurve": "analytics.business",
    "constrained_optimum": "analytics.business",
    "optimum_spread": "analytics.business",
    "profit_roots": "analytics.business",
    "CalibratedMarket": "analytics.competition",
    "EquilibriumResult": "analytics.competition",
    "PriceCutResult": "analytics.competition",
    "StrategyComparison": "analytics.competition",
    "calibrate_market": "analytics.competition",
    "compare_strategies": "analytics.competition",
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
    "estimate_elasticities": "analytics.elasticity",
    "AnalyticsError": "analytics.errors",
    "EquilibriumNotConvergedError": "analytics.errors",
    "GoalNotReachableError": "analytics.errors",
    "InsufficientDataError": "analytics.errors",
    "NoInteriorOptimumError": "analytics.errors",
    "ScenarioError": "analytics.errors",
    "ScenarioNotFoundError": "analytics.errors",
    "ScenarioResult": "analytics.evaluate",
    "TORNADO_INPUTS": "analytics.scenario_sensitivity",
    "compare_scenarios": "analytics.scenario_tables",
    "data_table": "analytics.scenario_sensitivity",
    "evaluate_profit": "analytics.evaluate",
    "evaluate_scenario": "analytics.evaluate",
    "metric_value": "analytics.scenario_sensitivity",
    "scenario_model": "analytics.evaluate",
    "scenario_monte_carlo": "analytics.scenario_sensitivity",
    "scenario_tornado": "analytics.scenario_sensitivity",
    "GoalSeekResult": "analytics.goalseek",
    "goal_seek": "analytics.goalseek",
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
    "positioning_map": "analytics.positioning",
    "RiskBacktest": "analytics.risk",
    "customers_at_risk": "analytics.risk",
    "risk_backtest": "analytics.risk",
    "clean_scenario_name": "analytics.saved_scenarios",
    "delete_scenario": "analytics.saved_scenarios",
    "list_scenarios": "analytics.saved_scenarios",
    "load_scenario": "analytics.saved_scenarios",
    "save_scenario": "analytics.saved_scenarios",
    "saved_scenario_size": "analytics.saved_scenarios",
    "Scenario": "analytics.scenario",
    "Competitor": "analytics.scenario_parts",
    "DemandSegment": "analytics.scenario_parts",
    "profit_table": "analytics.sensitivity",
    "table_to_long": "analytics.sensitivity",
    "tornado": "analytics.sensitivity",
    "two_way_table": "analytics.sensitivity",
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
