"""Price war: multi-firm logit Bertrand–Nash equilibrium and strategy comparison.

Customers choose one product among J firms (one product each) or an outside option of
utility 0; product j gives utility q_j − α·p_j. Firm j's profit is M·(p_j − c_j)·s_j. Its
first-order condition is p_j = c_j + 1/(α(1 − s_j)); given its rivals' prices the best
response has the closed form p_j = c_j + (1 + W(e^{q_j − α c_j − 1}/D_j))/α with Lambert W
and D_j = 1 + Σ_{k≠j} e^{q_k − α p_k}; log D_j is a leave-one-out log-sum-exp (the outside
option's 0 included), so one firm's utility dominating the market loses no precision. The
equilibrium is found by damped best response; non-convergence raises
``EquilibriumNotConvergedError`` (or is flagged when asked), never returns a silent wrong
answer.

A model of a real market starts from the market as observed: ``calibrate_market`` turns
today's list prices and shares into qualities (Berry inversion) and unit costs (the
first-order condition), so that the "before" state reproduces today's prices and shares;
firms whose list price no positive cost can explain hold it, and say why. A competitor's
cut is then applied to its list price (``price_cut_scenario``, ``compare_strategies``) and
``largest_absorbable_cut`` says how deep a cut we can take before our profit turns
negative. Prices and costs are USD per 1M tokens, α is utility per USD, market sizes are
millions of tokens per month, so profits are USD per month.

Example:
    >>> eq = logit_nash_equilibrium([0.3, 0.5], [1.0, 1.5], alpha=2.0)
    >>> eq.converged, [round(float(p), 4) for p in eq.prices]
    (True, [0.9429, 1.1569])

Modules: ``equilibrium`` (the solver), ``calibration`` (today's market), ``price_cut``
(a competitor's cut), ``strategies`` (our answers to it), ``checks`` (input checks).
"""

from __future__ import annotations

from analytics.competition.calibration import (
    CalibratedMarket,
    alpha_from_elasticity,
    calibrate_market,
    calibrate_qualities,
    implied_costs,
)
from analytics.competition.equilibrium import (
    EquilibriumResult,
    best_response,
    logit_nash_equilibrium,
)
from analytics.competition.price_cut import CUT_TABLE_LABELS, PriceCutResult, price_cut_scenario
from analytics.competition.strategies import (
    STRATEGIES,
    STRATEGY_COLUMN_LABELS,
    StrategyComparison,
    compare_strategies,
    largest_absorbable_cut,
)
from analytics.errors import EquilibriumNotConvergedError

__all__ = [
    "CUT_TABLE_LABELS",
    "STRATEGIES",
    "STRATEGY_COLUMN_LABELS",
    "CalibratedMarket",
    "EquilibriumNotConvergedError",
    "EquilibriumResult",
    "PriceCutResult",
    "StrategyComparison",
    "alpha_from_elasticity",
    "best_response",
    "calibrate_market",
    "calibrate_qualities",
    "compare_strategies",
    "implied_costs",
    "largest_absorbable_cut",
    "logit_nash_equilibrium",
    "price_cut_scenario",
]
