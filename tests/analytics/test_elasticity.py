"""Elasticity: recovery of the generator's truth, the estimator on synthetic panels, and the
competitor-mention interaction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import InsufficientDataError, estimate_elasticities
from analytics.elasticity import estimate_mention_interaction, fit_elasticity


def test_recovers_true_elasticity_per_segment(demo_store) -> None:
    from data.demo import TRUE_ELASTICITY

    fits = estimate_elasticities(demo_store, pooled=True).set_index("segment", drop=False)
    for segment, truth in TRUE_ELASTICITY.items():
        row = fits.loc[segment]
        assert row["ci_low"] <= truth <= row["ci_high"], (segment, truth, row.to_dict())
        assert row["ci_high"] - row["ci_low"] < 1.0  # informative, not just wide
        assert row["n_obs"] > 100 and row["n_customers"] > 10 and row["n_months"] == 24
        assert row["note"] == ""
    assert fits["segment"].isna().sum() == 1  # the pooled row


def _panel(
    eps: float, *, customers: int = 60, months: int = 18, seed: int = 0, vary: bool = True
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    plan = rng.integers(0, 3, customers)
    change = np.array([4, 9, 13])  # each plan changes price in a different month
    rows = []
    for i in range(customers):
        size = rng.lognormal(10, 1)
        for t in range(months):
            price = 1.0 * (0.8 if vary and t >= change[plan[i]] else 1.0) * (1 + 0.1 * plan[i])
            q = size * 1.03**t * price**eps * np.exp(rng.normal(0, 0.2))
            rows.append(
                {
                    "customer_id": f"c{i}",
                    "month": pd.Timestamp(2025, 1, 1) + pd.DateOffset(months=t),
                    "tokens": q,
                    "price_per_m": price,
                }
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("eps", [-0.5, -1.5, -2.5])
def test_fit_on_synthetic_panel(eps: float) -> None:
    fit = fit_elasticity(_panel(eps, seed=int(-eps * 10)), segment="x")
    assert fit.ci_low <= eps <= fit.ci_high
    assert fit.segment == "x" and fit.n_obs == 60 * 18 and fit.level == 0.95


def test_no_price_variation_is_an_error() -> None:
    with pytest.raises(InsufficientDataError, match="not identified|does not vary"):
        fit_elasticity(_panel(-1.5, vary=False))
    with pytest.raises(InsufficientDataError, match="need at least"):
        fit_elasticity(_panel(-1.5).head(10))


def test_zero_volumes_are_dropped_and_counted() -> None:
    p = _panel(-1.5)
    p.loc[:4, "tokens"] = 0.0
    assert fit_elasticity(p).dropped == 5


def test_mention_interaction_on_demo(demo_store) -> None:
    from data.demo import TRUE_ELASTICITY

    inter = estimate_mention_interaction(demo_store, model_id="gold")
    # the demo makes price-sensitive segments mention competitors more: γ < 0
    assert inter.slope < 0 and inter.ci_high < 0 and inter.significant
    assert inter.ci_low < inter.slope < inter.ci_high
    assert inter.n_obs > 1000
    seg = inter.by_segment.set_index("segment")
    assert set(seg.index) == set(TRUE_ELASTICITY)
    # more mentions, more elastic, along the fitted line
    order = seg.sort_values("mention_rate").index
    assert seg.loc[order, "elasticity_at_rate"].is_monotonic_decreasing
    assert inter.elasticity_at(inter.mean_rate) == pytest.approx(inter.base_elasticity)
    assert 0 <= inter.heterogeneity_p <= 1
    monthly = estimate_mention_interaction(demo_store, model_id="gold", by="segment-month")
    assert np.isfinite(monthly.slope) and monthly.ci_low < monthly.ci_high


def test_mention_interaction_needs_tags(demo_store) -> None:
    with pytest.raises(InsufficientDataError, match="tag"):
        estimate_mention_interaction(demo_store)  # the demo has gold spans, no tagger yet
