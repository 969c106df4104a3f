"""The examples in the analytics docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "analytics",
    "analytics.demand",
    "analytics.optimize",
    "analytics.costs",
    "analytics.sensitivity",
    "analytics.montecarlo",
    "analytics.competition",
    "analytics.competition.equilibrium",
    "analytics.competition.calibration",
    "analytics.competition.price_cut",
    "analytics.competition.strategies",
    "analytics.scenario",
    "analytics.evaluate",
    "analytics.positioning",
    "analytics.alerts",
    "analytics.risk",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
