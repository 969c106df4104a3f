"""Exceptions raised by the analytics package.

Hierarchy::

    AnalyticsError
    ├── NoInteriorOptimumError      (also ValueError)  no finite profit-maximising price
    ├── GoalNotReachableError       (also ValueError)  a goal-seek target cannot be met
    ├── EquilibriumNotConvergedError (also RuntimeError) the best-response iteration failed
    ├── InsufficientDataError       (also ValueError)  too little data for an estimate
    └── ScenarioError               (also ValueError)  a scenario cannot be parsed or found
        └── ScenarioNotFoundError   (also KeyError)
"""

from __future__ import annotations

from typing import Any


class AnalyticsError(Exception):
    """Base class of every error raised on purpose by ``analytics``."""


class NoInteriorOptimumError(AnalyticsError, ValueError):
    """The profit function has no finite maximiser (for example |elasticity| <= 1).

    The message says why in plain language, so a page can show it as it is.
    """


class GoalNotReachableError(AnalyticsError, ValueError):
    """A goal-seek target (margin or profit) cannot be reached at any price."""


class EquilibriumNotConvergedError(AnalyticsError, RuntimeError):
    """Damped best response did not converge; ``last`` holds the last iterate.

    Attributes:
        iterations: iterations run.
        max_change: the largest price change of the last iteration.
        last: the last price vector (not an equilibrium).
    """

    def __init__(
        self, message: str, *, iterations: int, max_change: float, last: Any = None
    ) -> None:
        super().__init__(message)
        self.iterations = iterations
        self.max_change = max_change
        self.last = last


class InsufficientDataError(AnalyticsError, ValueError):
    """The store holds too little data (or too little price variation) for an estimate."""


class ScenarioError(AnalyticsError, ValueError):
    """A scenario could not be parsed or validated."""


class ScenarioNotFoundError(ScenarioError, KeyError):
    """No saved scenario has the given name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""
