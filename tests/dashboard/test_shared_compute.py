"""The what-if computations cached once for every session (``dashboard.shared_compute``):
equal inputs compute once, any difference computes again, results equal the uncached
functions' on a scenario measured from the demo store."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics import evaluate, goalseek, scenario_sensitivity, scenario_tables, war
from analytics.errors import ScenarioError
from analytics.scenario import Scenario
from analytics.scenario_parts import Competitor, DemandSegment
from dashboard import shared_compute

CACHED = [
    shared_compute.evaluate_scenario,
    shared_compute.scenario_monte_carlo,
    shared_compute.scenario_tornado,
    shared_compute.data_table,
    shared_compute.segment_table,
    shared_compute.goal_seek,
    shared_compute.evaluate_price_war,
    shared_compute.cut_price_table,
    shared_compute._full_comparison,
]


@pytest.fixture(autouse=True)
def empty_caches() -> Iterator[None]:
    for f in CACHED:
        f.clear()
    yield


@pytest.fixture(scope="module")
def measured(demo_db_path: Path) -> Scenario:
    """The Pricing page's starting scenario on the demo store, with the measured rivals."""
    from analytics import default_competitors, default_scenario
    from data.store import Store

    with Store.open(demo_db_path, read_only=True) as store:
        s = default_scenario(store, None)
        rivals = default_competitors(store, reference_price=s.price_per_m, our_share=s.our_share)
    return s.replace(competitors=rivals, cut_competitor=rivals[0].name, mc_draws=20_000)


def _calls(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[tuple[Any, ...]]:
    """The arguments of every call of the real ``module.name`` from now on (it still runs)."""
    real = getattr(module, name)
    seen: list[tuple[Any, ...]] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        seen.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return seen


def assert_same(a: Any, b: Any, where: str = "result") -> None:
    """``a`` equals ``b`` all the way down: dataclass fields, frames, arrays, NaN as NaN."""
    assert type(a) is type(b), where
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert a == b, where


def _cases(s: Scenario) -> list[tuple[Callable[..., Any], Callable[..., Any], tuple, dict]]:
    prices = [0.4, 0.6, 0.8]
    return [
        (shared_compute.evaluate_scenario, evaluate.evaluate_scenario, (s,), {}),
        (shared_compute.scenario_monte_carlo, scenario_sensitivity.scenario_monte_carlo, (s,), {}),
        (
            shared_compute.scenario_monte_carlo,
            scenario_sensitivity.scenario_monte_carlo,
            (s, 0.7),
            {},
        ),
        (shared_compute.scenario_tornado, scenario_sensitivity.scenario_tornado, (s, 0.7), {}),
        (
            shared_compute.data_table,
            scenario_sensitivity.data_table,
            (s, "elasticity_shift", [-0.2, 0.0, 0.2], "price", prices),
            {"metric": "margin"},
        ),
        (shared_compute.segment_table, scenario_tables.segment_table, (s,), {}),
        (
            shared_compute.goal_seek,
            goalseek.goal_seek,
            (s, "utilisation", 0.55),
            {"metric": "margin"},
        ),
        (shared_compute.evaluate_price_war, war.evaluate_price_war, (s,), {}),
        (shared_compute.cut_price_table, war.cut_price_table, (s, [0.0, 10.0, 20.0], prices), {}),
    ]


def test_results_equal_the_uncached_functions(measured: Scenario) -> None:
    for cached, plain, args, kwargs in _cases(measured):
        expected = plain(*args, **kwargs)
        assert_same(cached(*args, **kwargs), expected, cached.__name__)  # computed
        assert_same(cached(*args, **kwargs), expected, cached.__name__)  # from the cache


@pytest.mark.parametrize(
    ("module", "name"),
    [
        (evaluate, "evaluate_scenario"),
        (scenario_sensitivity, "scenario_monte_carlo"),
        (scenario_sensitivity, "scenario_tornado"),
        (scenario_sensitivity, "data_table"),
        (scenario_tables, "segment_table"),
        (goalseek, "goal_seek"),
        (war, "evaluate_price_war"),
        (war, "cut_price_table"),
    ],
)
def test_equal_inputs_compute_once(
    measured: Scenario, monkeypatch: pytest.MonkeyPatch, module: object, name: str
) -> None:
    cached, _, args, kwargs = next(c for c in _cases(measured) if c[1].__name__ == name)
    calls = _calls(monkeypatch, module, name)
    cached(*args, **kwargs)
    equal = (measured.replace(), *args[1:])  # an equal scenario, another object
    cached(*equal, **kwargs)
    assert len(calls) == 1
    cached(measured.replace(price_per_m=measured.price_per_m * 1.01), *args[1:], **kwargs)
    assert len(calls) == 2


@pytest.mark.parametrize(
    "change",
    [
        {"price_per_m": math.nextafter(1.0, 2.0)},  # the next float up
        {"pressure_lever": True},
        {"mc_seed": 1},
        {"name": "saved"},  # the result carries its scenario
        {"segments": (DemandSegment(elasticity=-1.6000000001),)},
        {"competitors": (Competitor("A", 1.2, 0.31),)},
        {"cut_competitor": "A"},
    ],
)
def test_a_change_in_any_field_computes_again(
    monkeypatch: pytest.MonkeyPatch, change: dict[str, Any]
) -> None:
    """The key holds the scenario's every field exactly, nested segments and rivals too."""
    calls = _calls(monkeypatch, evaluate, "evaluate_scenario")
    base = Scenario(competitors=(Competitor("A", 1.2, 0.3),))
    shared_compute.evaluate_scenario(base)
    changed = shared_compute.evaluate_scenario(base.replace(**change))
    assert len(calls) == 2
    assert changed.scenario == base.replace(**change)


def test_arguments_beside_the_scenario_are_in_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _calls(monkeypatch, goalseek, "goal_seek")
    s = Scenario()
    shared_compute.goal_seek(s, "utilisation", 0.55, metric="margin")
    shared_compute.goal_seek(s, "utilisation", 0.55, metric="margin")
    shared_compute.goal_seek(s, "utilisation", 0.56, metric="margin")
    shared_compute.goal_seek(s, "utilisation", 0.55, metric="profit")
    shared_compute.goal_seek(s, "gpu_cost_per_hour", 0.55, metric="margin")
    assert len(calls) == 4


def test_errors_are_raised_every_time_and_never_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _calls(monkeypatch, goalseek, "goal_seek")
    for _ in range(2):
        with pytest.raises(ScenarioError, match="cannot vary"):
            shared_compute.goal_seek(Scenario(), "no_such_input", 1.0)
    assert len(calls) == 2


@pytest.mark.parametrize("only_differences", [False, True])
@pytest.mark.parametrize("baseline", [0, 1])
def test_comparison_equals_the_uncached_one_and_computes_once(
    measured: Scenario, monkeypatch: pytest.MonkeyPatch, only_differences: bool, baseline: int
) -> None:
    scenarios = [
        measured.replace(name="current"),
        measured.replace(name="cut", price_per_m=0.8),
        measured.replace(name="cut"),  # a second scenario of the same name
        measured.replace(name="Δ odd", fixed_cost_per_month=1.0),
    ]
    expected = scenario_tables.compare_scenarios(
        scenarios, baseline=baseline, only_differences=only_differences
    )
    calls = _calls(monkeypatch, scenario_tables, "compare_scenarios")
    got = shared_compute.compare_scenarios(
        scenarios, baseline=baseline, only_differences=only_differences
    )
    other = shared_compute.compare_scenarios(
        scenarios, baseline=baseline, only_differences=not only_differences
    )
    assert_same(got, expected)
    assert len(other) != len(got)
    assert len(calls) == 1  # the table with and without the equal rows: one computation


_SESSION = """
import streamlit as st
from analytics.scenario import Scenario
from dashboard import shared_compute
st.write(shared_compute.evaluate_scenario(Scenario(price_per_m=0.9)).profit)
"""


def test_two_sessions_share_one_computation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two sessions (two app runs) on the same scenario compute it once."""
    calls = _calls(monkeypatch, evaluate, "evaluate_scenario")
    first = AppTest.from_string(_SESSION, default_timeout=60).run()
    second = AppTest.from_string(_SESSION, default_timeout=60).run()
    assert not first.exception and not second.exception
    assert first.markdown[0].value == second.markdown[0].value
    assert len(calls) == 1
