"""Pure, typed computation for the Price War Room: economics, competition, scenarios.

No Streamlit here: pages call these functions and draw what comes back. Modules, one
concern each:

* ``demand``: linear, constant-elasticity and logit demand.
* ``costs``: GPU, support and fixed costs (defaults from the cost anchors).
* ``optimize``: profit, optimal price (MR = MC), break-even, margins, goal seek.
* ``sensitivity``: tornado and two-way tables. ``montecarlo``: profit under uncertainty.
* ``competition``: logit Bertrand–Nash equilibrium, price cuts, strategies.
* ``scenario``: the ``Scenario`` dataclass (JSON, URL, store). ``evaluate``: a scenario's
  numbers for the what-if, price-war and scenario pages.
* ``inputs``, ``signals``, ``elasticity``, ``positioning``: the store-fed parts (usage,
  prices, tickets, competitor-mention pressure, fitted elasticities, positioning map).
* ``explore``: the Overview and Entities aggregates.

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

from analytics.competition import (
    STRATEGIES,
    EquilibriumResult,
    PriceCutResult,
    StrategyComparison,
    alpha_from_elasticity,
    best_response,
    calibrate_qualities,
    compare_strategies,
    implied_costs,
    logit_nash_equilibrium,
    price_cut_scenario,
)
from analytics.costs import (
    CostInputs,
    gpu_cost_per_million,
    support_cost,
    support_cost_per_ticket,
)
from analytics.demand import (
    ConstantElasticityDemand,
    Demand,
    LinearDemand,
    LogitDemand,
    logit_shares,
)
from analytics.errors import (
    AnalyticsError,
    EquilibriumNotConvergedError,
    GoalNotReachableError,
    InsufficientDataError,
    NoInteriorOptimumError,
    ScenarioError,
    ScenarioNotFoundError,
)
from analytics.evaluate import (
    TORNADO_INPUTS,
    PriceWarResult,
    ScenarioResult,
    compare_scenarios,
    evaluate_price_war,
    evaluate_profit,
    evaluate_scenario,
    price_war_inputs,
    scenario_demand,
    scenario_monte_carlo,
    scenario_profit_table,
    scenario_tornado,
)
from analytics.montecarlo import MonteCarloResult, simulate_profit
from analytics.optimize import (
    PriceOptimum,
    ProfitCurve,
    break_even_prices,
    break_even_volume,
    contribution_margin,
    contribution_margin_ratio,
    optimal_price,
    price_for_margin,
    price_for_profit,
    profit,
    profit_curve,
)
from analytics.scenario import (
    Competitor,
    Scenario,
    delete_scenario,
    list_scenarios,
    load_scenario,
    save_scenario,
)
from analytics.sensitivity import profit_table, table_to_long, tornado, two_way_table

__all__ = [
    "STRATEGIES",
    "TORNADO_INPUTS",
    "AnalyticsError",
    "Competitor",
    "ConstantElasticityDemand",
    "CostInputs",
    "Demand",
    "EquilibriumNotConvergedError",
    "EquilibriumResult",
    "GoalNotReachableError",
    "InsufficientDataError",
    "LinearDemand",
    "LogitDemand",
    "MonteCarloResult",
    "NoInteriorOptimumError",
    "PriceCutResult",
    "PriceOptimum",
    "PriceWarResult",
    "ProfitCurve",
    "Scenario",
    "ScenarioError",
    "ScenarioNotFoundError",
    "ScenarioResult",
    "StrategyComparison",
    "alpha_from_elasticity",
    "best_response",
    "break_even_prices",
    "break_even_volume",
    "calibrate_qualities",
    "compare_scenarios",
    "compare_strategies",
    "contribution_margin",
    "contribution_margin_ratio",
    "delete_scenario",
    "evaluate_price_war",
    "evaluate_profit",
    "evaluate_scenario",
    "gpu_cost_per_million",
    "implied_costs",
    "list_scenarios",
    "load_scenario",
    "logit_nash_equilibrium",
    "logit_shares",
    "optimal_price",
    "price_cut_scenario",
    "price_for_margin",
    "price_for_profit",
    "price_war_inputs",
    "profit",
    "profit_curve",
    "profit_table",
    "save_scenario",
    "scenario_demand",
    "scenario_monte_carlo",
    "scenario_profit_table",
    "scenario_tornado",
    "simulate_profit",
    "support_cost",
    "support_cost_per_ticket",
    "table_to_long",
    "tornado",
    "two_way_table",
]
