"""Pure, typed computation for the Price War Room: economics, competition, scenarios.

No Streamlit here: pages call these functions and draw what comes back. Modules, one
concern each:

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

from analytics import explore as _explore
from analytics.alerts import (
    ALERT_COLUMNS,
    STATED_FALSE_ALARM_RATE,
    FalseAlarmReport,
    SurgeRule,
    control_limit,
    false_alarm_rate,
    negative_share,
    surge_alerts,
    surge_p_value,
    surge_scan,
    ticket_signals,
)
from analytics.business import (
    BusinessOptimum,
    DemandModel,
    OptimumSpread,
    SegmentCurve,
    constrained_optimum,
    optimum_spread,
    profit_roots,
)
from analytics.competition import (
    CUT_TABLE_LABELS,
    STRATEGIES,
    STRATEGY_COLUMN_LABELS,
    CalibratedMarket,
    EquilibriumResult,
    PriceCutResult,
    StrategyComparison,
    alpha_from_elasticity,
    best_response,
    calibrate_market,
    calibrate_qualities,
    compare_strategies,
    implied_costs,
    largest_absorbable_cut,
    logit_nash_equilibrium,
    price_cut_scenario,
)
from analytics.costs import (
    CostInputs,
    gpu_cost_per_million,
    segment_cost_to_serve,
    support_cost,
    support_cost_per_ticket,
)
from analytics.defaults import default_competitors, default_cut_pct, default_scenario
from analytics.demand import (
    ConstantElasticityDemand,
    Demand,
    LinearDemand,
    LogitDemand,
    logit_shares,
)
from analytics.elasticity import (
    ElasticityEstimate,
    MentionInteraction,
    estimate_elasticities,
    estimate_mention_interaction,
    fit_elasticity,
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
    ScenarioResult,
    compare_scenarios,
    data_table,
    evaluate_profit,
    evaluate_scenario,
    metric_value,
    scenario_model,
    scenario_monte_carlo,
    scenario_tornado,
)
from analytics.explore import *  # noqa: F403 - Overview/Entities aggregates, listed in explore.__all__
from analytics.goalseek import GoalSeekResult, goal_seek
from analytics.inputs import (
    current_prices,
    price_history,
    segment_snapshot,
    segments,
    ticket_volumes,
    usage_by_segment_month,
    usage_panel,
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
from analytics.positioning import (
    TIER_LABELS,
    competitor_price_points,
    model_tier_table,
    positioning_map,
    quality_tier,
    segment_optima,
    segment_optima_from,
)
from analytics.risk import (
    RISK_COLUMNS,
    OfferAssumptions,
    RiskBacktest,
    RiskModel,
    customers_at_risk,
    fit_risk_model,
    offer_profit,
    recommend_action,
    risk_backtest,
    risk_panel,
    roc_auc,
)
from analytics.scenario import (
    Competitor,
    DemandSegment,
    Scenario,
    clean_scenario_name,
    delete_scenario,
    list_scenarios,
    load_scenario,
    save_scenario,
)
from analytics.sensitivity import profit_table, table_to_long, tornado, two_way_table
from analytics.signals import (
    competitor_mention_rates,
    competitor_pressure,
    mentions_by_vendor,
    newest_model_id,
)
from analytics.war import PriceWarResult, cut_price_table, evaluate_price_war, price_war_market

__all__ = [
    "ALERT_COLUMNS",
    "CUT_TABLE_LABELS",
    "RISK_COLUMNS",
    "STATED_FALSE_ALARM_RATE",
    "STRATEGIES",
    "STRATEGY_COLUMN_LABELS",
    "TIER_LABELS",
    "TORNADO_INPUTS",
    "AnalyticsError",
    "BusinessOptimum",
    "CalibratedMarket",
    "Competitor",
    "ConstantElasticityDemand",
    "CostInputs",
    "Demand",
    "DemandModel",
    "DemandSegment",
    "ElasticityEstimate",
    "EquilibriumNotConvergedError",
    "EquilibriumResult",
    "FalseAlarmReport",
    "GoalNotReachableError",
    "GoalSeekResult",
    "InsufficientDataError",
    "LinearDemand",
    "LogitDemand",
    "MentionInteraction",
    "MonteCarloResult",
    "NoInteriorOptimumError",
    "OfferAssumptions",
    "OptimumSpread",
    "PriceCutResult",
    "PriceOptimum",
    "PriceWarResult",
    "ProfitCurve",
    "RiskBacktest",
    "RiskModel",
    "Scenario",
    "ScenarioError",
    "ScenarioNotFoundError",
    "ScenarioResult",
    "SegmentCurve",
    "StrategyComparison",
    "SurgeRule",
    "alpha_from_elasticity",
    "best_response",
    "break_even_prices",
    "break_even_volume",
    "calibrate_market",
    "calibrate_qualities",
    "clean_scenario_name",
    "compare_scenarios",
    "compare_strategies",
    "competitor_mention_rates",
    "competitor_pressure",
    "competitor_price_points",
    "constrained_optimum",
    "contribution_margin",
    "contribution_margin_ratio",
    "control_limit",
    "current_prices",
    "customers_at_risk",
    "cut_price_table",
    "data_table",
    "default_competitors",
    "default_cut_pct",
    "default_scenario",
    "delete_scenario",
    "estimate_elasticities",
    "estimate_mention_interaction",
    "evaluate_price_war",
    "evaluate_profit",
    "evaluate_scenario",
    "false_alarm_rate",
    "fit_elasticity",
    "fit_risk_model",
    "goal_seek",
    "gpu_cost_per_million",
    "implied_costs",
    "largest_absorbable_cut",
    "list_scenarios",
    "load_scenario",
    "logit_nash_equilibrium",
    "logit_shares",
    "mentions_by_vendor",
    "metric_value",
    "model_tier_table",
    "negative_share",
    "newest_model_id",
    "offer_profit",
    "optimal_price",
    "optimum_spread",
    "positioning_map",
    "price_cut_scenario",
    "price_for_margin",
    "price_for_profit",
    "price_history",
    "price_war_market",
    "profit",
    "profit_curve",
    "profit_roots",
    "profit_table",
    "quality_tier",
    "recommend_action",
    "risk_backtest",
    "risk_panel",
    "roc_auc",
    "save_scenario",
    "scenario_model",
    "scenario_monte_carlo",
    "scenario_tornado",
    "segment_cost_to_serve",
    "segment_optima",
    "segment_optima_from",
    "segment_snapshot",
    "segments",
    "simulate_profit",
    "support_cost",
    "support_cost_per_ticket",
    "surge_alerts",
    "surge_p_value",
    "surge_scan",
    "table_to_long",
    "ticket_signals",
    "ticket_volumes",
    "tornado",
    "two_way_table",
    "usage_by_segment_month",
    "usage_panel",
    *_explore.__all__,
]
