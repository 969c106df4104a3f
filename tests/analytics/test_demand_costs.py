"""Demand curves and the cost model."""

from __future__ import annotations

import numpy as np
import pytest

from analytics import (
    ConstantElasticityDemand,
    CostInputs,
    LinearDemand,
    LogitDemand,
    gpu_cost_per_million,
    logit_shares,
    support_cost,
    support_cost_per_ticket,
)


def test_linear_demand() -> None:
    d = LinearDemand(100, 2)
    np.testing.assert_allclose(d.quantity(np.array([0.0, 10.0, 60.0])), [100, 80, 0])
    assert isinstance(d.quantity(10.0), float)
    assert d.choke_price == 50
    assert d.elasticity_at(25.0) == pytest.approx(-1.0)
    t = LinearDemand.through(2.0, 10.0, -0.5)
    assert t.quantity(2.0) == pytest.approx(10.0)
    assert t.elasticity_at(2.0) == pytest.approx(-0.5)
    with pytest.raises(ValueError):
        LinearDemand(-1, 1)


def test_constant_elasticity_demand() -> None:
    d = ConstantElasticityDemand.through(2.0, 50.0, -1.5)
    assert d.quantity(2.0) == pytest.approx(50.0)
    assert d.quantity(4.0) / d.quantity(2.0) == pytest.approx(2**-1.5)
    with pytest.raises(ValueError):
        d.quantity(0.0)


def test_logit_shares_sum_below_one_and_stable() -> None:
    s = logit_shares([1.0, 2.0], [1.0, 1.0], 1.0)
    assert 0 < s.sum() < 1
    assert s[0] > s[1]
    big = logit_shares([0.0, 0.0], [800.0, 800.0], 1.0)  # no overflow
    np.testing.assert_allclose(big, [0.5, 0.5])
    grid = logit_shares(np.array([[1.0, 2.0], [2.0, 1.0]]), [1.0, 1.0], 1.0)
    assert grid.shape == (2, 2)
    d = LogitDemand(1.0, 1.0, (2.0,), (1.0,), market_size=10)
    assert d.quantity(1.0) == pytest.approx(10 * s[0])
    assert d.elasticity_at(1.0) == pytest.approx(-1.0 * (1 - s[0]))


def test_gpu_cost_formula_and_anchor() -> None:
    # DeepSeek's serving day: $16/h per 8-GPU node, 14.8 k output tokens/s -> about $0.30/M
    assert gpu_cost_per_million(16.0, 73_700.0, 14_800.0, 1.0, output_share=1.0) == pytest.approx(
        0.30, abs=0.005
    )
    assert gpu_cost_per_million(16.0, 73_700.0, 14_800.0, 1.0, output_share=0.0) == pytest.approx(
        16.0 / (73_700 * 3600) * 1e6
    )
    per_s = 2.0 / (3600 * 0.5) * 1e6
    mixed = gpu_cost_per_million(2.0, 9000.0, 1800.0, 0.5, 0.0, 0.1, 0.25)
    assert mixed == pytest.approx(per_s * (0.75 / 9000 + 0.25 / 1800))
    # the cache discounts input tokens only
    cached = gpu_cost_per_million(2.0, 9000.0, 1800.0, 0.5, 0.5, 0.0, 0.25)
    assert cached == pytest.approx(per_s * (0.75 * 0.5 / 9000 + 0.25 / 1800))
    assert gpu_cost_per_million(2.0, 9000.0, 1800.0, 0.5, 1.0, 0.0, 1.0) == pytest.approx(
        per_s / 1800
    )
    v = gpu_cost_per_million(np.array([1.0, 2.0]), 9000.0, 1800.0, 0.5)
    assert v.shape == (2,)


def test_token_mix_follows_the_anchors() -> None:
    """At 24 % output tokens the output tokens take about 61 % of the GPU time (cost anchors:
    ~9.2 k input vs 1.85 k output tokens/s per GPU)."""
    ci = CostInputs(cache_hit_rate=0.0, output_share=0.24)
    assert ci.input_tokens_per_second == pytest.approx(9212.5)
    assert ci.output_tokens_per_second == pytest.approx(1850.0)
    out = 0.24 / ci.output_tokens_per_second  # GPU seconds per output token's share
    assert out / (0.76 / ci.input_tokens_per_second + out) == pytest.approx(0.61, abs=0.005)
    assert ci.output_cost_per_million / ci.input_cost_per_million == pytest.approx(9212.5 / 1850)
    assert ci.gpu_cost_per_million == pytest.approx(
        0.76 * ci.input_cost_per_million + 0.24 * ci.output_cost_per_million
    )


def test_support_and_cost_inputs() -> None:
    assert support_cost_per_ticket(10.0, 2.0, 0.25) == pytest.approx(8.0)
    assert support_cost(3, 4, 10.0, 1.0) == pytest.approx(34.0)
    ci = CostInputs(ai_resolution_share=1.0, ai_ticket_cost=2.0)
    assert ci.cost_per_ticket == 2.0
    assert ci.unit_cost_per_million(0.5) == pytest.approx(ci.gpu_cost_per_million + 1.0)
    assert ci.unit_cost_per_million(0.0, output_share=1.0) == pytest.approx(
        ci.output_cost_per_million
    )
    assert ci.replace(gpu_cost_per_hour=4.0).gpu_cost_per_million == pytest.approx(
        2 * ci.gpu_cost_per_million
    )
    with pytest.raises(ValueError, match="utilisation"):
        CostInputs(utilisation=0.0)
    with pytest.raises(ValueError, match="gpu_cost_per_hour"):
        CostInputs(gpu_cost_per_hour=1e300)
    with pytest.raises(ValueError, match="output_share"):
        CostInputs(output_share=float("nan"))
    defaults = CostInputs()
    assert 0.1 <= defaults.gpu_cost_per_million <= 0.6  # anchors: $0.1–0.6 per 1M tokens
    assert 8 <= defaults.human_ticket_cost <= 14 and 0.9 <= defaults.ai_ticket_cost <= 2
