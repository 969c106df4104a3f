"""analytics.risk: ROC AUC, the risk model, the offer's profit against closed forms, and the
score against the usage-trend baseline on the demo's churn."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from analytics.errors import InsufficientDataError
from analytics.risk import (
    ACTIONS,
    RISK_COLUMNS,
    OfferAssumptions,
    customers_at_risk,
    fit_risk_model,
    offer_profit,
    recommend_action,
    risk_backtest,
    roc_auc,
)

# -- ROC AUC ---------------------------------------------------------------------------------


def test_auc_is_the_share_of_correctly_ordered_pairs():
    rng = np.random.default_rng(0)
    y = rng.random(60) < 0.3
    s = np.round(rng.normal(size=60) + y, 1)  # rounded: ties happen
    pairs = [(1.0 if a > b else 0.5 if a == b else 0.0) for a, b in itertools.product(s[y], s[~y])]
    assert roc_auc(y, s) == pytest.approx(np.mean(pairs), rel=1e-12)
    assert roc_auc([0, 1], [0.2, 0.9]) == 1.0 and roc_auc([0, 1], [0.9, 0.2]) == 0.0
    assert roc_auc([0, 1, 0, 1], [1, 1, 1, 1]) == 0.5


@pytest.mark.parametrize(
    ("labels", "scores", "match"),
    [
        ([1, 1], [0.1, 0.2], "both"),
        ([0, 1], [0.1], "same length"),
        ([0, 1], [0.1, float("nan")], "finite"),
    ],
)
def test_auc_bad_inputs(labels, scores, match):
    with pytest.raises(ValueError, match=match):
        roc_auc(labels, scores)


# -- the model -------------------------------------------------------------------------------


def test_fit_recovers_a_known_logistic_model():
    rng = np.random.default_rng(1)
    n = 20_000
    x = rng.normal(size=(n, 2))
    p = 1 / (1 + np.exp(-(-2.0 + 1.0 * x[:, 0] - 0.5 * x[:, 1])))
    panel = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "churned": rng.random(n) < p})
    m = fit_risk_model(panel, ["a", "b"], penalty=0.0)
    # coefficients are per standard deviation: divide by the scales to compare
    assert m.coef[0] / m.scales[0] == pytest.approx(1.0, abs=0.08)
    assert m.coef[1] / m.scales[1] == pytest.approx(-0.5, abs=0.08)
    assert roc_auc(panel["churned"], m.predict(panel)) > 0.7


def test_fit_bad_inputs():
    one_class = pd.DataFrame({"a": [1.0, 2.0], "churned": [False, False]})
    with pytest.raises(InsufficientDataError, match="churned and retained"):
        fit_risk_model(one_class, ["a"])
    with pytest.raises(InsufficientDataError):
        fit_risk_model(pd.DataFrame())
    ok = pd.DataFrame({"a": [1.0, 2.0], "churned": [False, True]})
    with pytest.raises(ValueError, match="unknown feature"):
        fit_risk_model(ok, ["nope"])
    with pytest.raises(ValueError, match="penalty"):
        fit_risk_model(ok, ["a"], penalty=-1)


# -- the offer against closed forms ----------------------------------------------------------


def test_offer_profit_matches_the_closed_form():
    # (1 − q(1 − s))·(p(1 − d) − c)·V·(1 − d)^ε, computed by hand
    q, p, c, v, e, d, s = 0.2, 1.0, 0.4, 100.0, -2.0, 0.1, 0.25
    by_hand = (1 - 0.2 * 0.75) * (0.9 - 0.4) * 100.0 / 0.81
    assert by_hand == pytest.approx(52.46913580246913, rel=1e-12)
    assert offer_profit(
        risk=q, price=p, unit_cost=c, volume_m=v, elasticity=e, discount=d, save=s
    ) == pytest.approx(by_hand, rel=1e-12)
    # a new price instead of a discount, and a fixed cost
    assert offer_profit(
        risk=0.1,
        price=0.8,
        unit_cost=0.3,
        volume_m=50.0,
        elasticity=-1.5,
        new_price=0.6,
        save=0.4,
        fixed=5.0,
    ) == pytest.approx((1 - 0.1 * 0.6) * 0.3 * 50.0 * (0.6 / 0.8) ** -1.5 - 5.0, rel=1e-12)


def test_recommended_action_is_the_best_priced_option():
    a = OfferAssumptions()
    q, p, c, v, e = 0.3, 0.68, 0.24, 200.0, -2.3
    plans = {"Starter": 0.60, "Pro": 0.68, "Enterprise": 0.48}
    rec = recommend_action(
        risk=q,
        price=p,
        unit_cost=c,
        volume_m=v,
        elasticity=e,
        plans=plans,
        plan="Pro",
        assumptions=a,
    )
    hold = (1 - q) * (p - c) * v

    def discount(d: float) -> float:  # independent of the module's code
        return (
            (1 - q * (1 - a.discount_save * d / a.max_discount))
            * (p * (1 - d) - c)
            * v
            * (1 - d) ** e
        )

    grid = [k * a.discount_step for k in range(1, round(a.max_discount / a.discount_step) + 1)]
    best_d = max(grid, key=discount)
    options = {
        "discount": discount(best_d) - hold,
        "plan change": (1 - q * (1 - a.plan_save)) * (0.48 - c) * v * (0.48 / p) ** e - hold,
        "contact": q * a.contact_save * (p - c) * v - a.contact_cost,
    }
    action = max(options, key=options.get)
    assert rec["profit_hold"] == pytest.approx(hold, rel=1e-12)
    assert rec["action"] == action
    assert rec["profit_effect"] == pytest.approx(options[action], rel=1e-9)
    if action == "plan change":
        assert rec["new_plan"] == "Enterprise" and rec["new_price"] == 0.48


def test_a_discount_priced_by_elasticity_and_a_hold():
    # inelastic, thin margin, low risk: nothing pays for itself
    rec = recommend_action(
        risk=0.01, price=0.5, unit_cost=0.45, volume_m=10.0, elasticity=-0.5, plans={}, plan="Pro"
    )
    assert rec["action"] == "hold" and rec["profit_effect"] == 0.0
    # elastic, fat margin, high risk, no cheaper plan: the capped discount
    a = OfferAssumptions(max_discount=0.1, discount_save=0.6, contact_save=0.0)
    rec = recommend_action(
        risk=0.4,
        price=1.0,
        unit_cost=0.2,
        volume_m=100.0,
        elasticity=-2.0,
        plans={"Pro": 1.0},
        plan="Pro",
        assumptions=a,
    )
    assert rec["action"] == "discount" and 0 < rec["discount"] <= 0.1
    d = rec["discount"]
    closed = (1 - 0.4 * (1 - 0.6 * d / 0.1)) * (1 - d - 0.2) * 100.0 * (
        1 - d
    ) ** -2.0 - 0.6 * 0.8 * 100.0
    assert rec["profit_effect"] == pytest.approx(closed, rel=1e-12)
    assert rec["new_price"] == pytest.approx(1 - d)


def test_offer_bad_inputs():
    with pytest.raises(ValueError):
        offer_profit(risk=1.2, price=1.0, unit_cost=0.1, volume_m=1.0, elasticity=-1.0)
    with pytest.raises(ValueError):
        offer_profit(risk=0.1, price=0.0, unit_cost=0.1, volume_m=1.0, elasticity=-1.0)
    with pytest.raises(ValueError):
        offer_profit(
            risk=0.1, price=1.0, unit_cost=0.1, volume_m=1.0, elasticity=-1.0, discount=1.0
        )
    for kwargs in (
        {"max_discount": 1.5},
        {"discount_save": -0.1},
        {"contact_cost": -1},
        {"horizon_months": 0},
        {"discount_step": 0},
        {"min_lift": 0},
    ):
        with pytest.raises(ValueError):
            OfferAssumptions(**kwargs)


# -- the demo --------------------------------------------------------------------------------


def test_the_score_beats_the_usage_trend_on_the_demo_churn(demo_store):
    bt = risk_backtest(demo_store)
    assert bt.test_positives >= 15 and bt.test_months[0] > bt.train_months[-1]
    assert bt.auc >= 0.65
    assert bt.auc >= bt.baseline_auc + 0.05, bt
    weights = bt.model.weights()
    assert weights["log_negative"] > 0  # planted: negative experiences raise the hazard


def test_customers_at_risk_with_their_offer(demo_store):
    from analytics.defaults import default_scenario

    scenario = default_scenario(demo_store, None)
    at_risk = customers_at_risk(demo_store, scenario=scenario)
    assert list(at_risk.columns) == list(RISK_COLUMNS)
    assert len(at_risk) > 0 and (at_risk["lift"] >= 2.0).all()
    assert at_risk["risk"].is_monotonic_decreasing
    assert set(at_risk["action"]) <= set(ACTIONS)
    assert (at_risk["profit_effect"] >= 0).all()
    seg = {g.name: g for g in scenario.segments}
    for r in at_risk.itertuples():
        g = seg[r.segment]
        assert r.unit_cost == pytest.approx(scenario.unit_cost(g))
        assert r.elasticity == pytest.approx(scenario.used_elasticity(g)[0])
        hold = (1 - r.risk) * (r.price_per_m - r.unit_cost) * r.volume_m
        assert r.profit_hold == pytest.approx(hold, rel=1e-9)
        if r.action == "discount":
            d, s = r.discount, 0.5 * r.discount / 0.2
            closed = (
                (1 - r.risk * (1 - s))
                * (r.price_per_m * (1 - d) - r.unit_cost)
                * r.volume_m
                * (1 - d) ** r.elasticity
            ) - hold
            assert r.profit_effect == pytest.approx(closed, rel=1e-9)
    everyone = customers_at_risk(demo_store, scenario=scenario, all_customers=True)
    assert len(everyone) > len(at_risk)
    assert everyone["lift"].mean() == pytest.approx(1.0)


def test_offers_priced_by_the_segments_economics_alone(demo_store):
    """The default pricing of the offers skips the market (mentions, competitors) and gives
    the same unit costs and elasticities, hence the same table, as the full scenario."""
    from analytics.defaults import default_scenario

    full = default_scenario(demo_store, None)
    light = default_scenario(demo_store, None, market=False)
    assert not light.competitors and full.competitors  # the market was not measured
    assert [g.name for g in light.segments] == [g.name for g in full.segments]
    for a, b in zip(light.segments, full.segments, strict=True):
        assert light.unit_cost(a) == full.unit_cost(b)
        assert light.used_elasticity(a) == full.used_elasticity(b)
    pd.testing.assert_frame_equal(
        customers_at_risk(demo_store, all_customers=True),
        customers_at_risk(demo_store, scenario=full, all_customers=True),
    )


def test_risk_bad_inputs(demo_store):
    with pytest.raises(ValueError, match="horizon_months"):
        risk_backtest(demo_store, horizon_months=0)
    with pytest.raises(ValueError, match="lookback_days"):
        customers_at_risk(demo_store, lookback_days=0)
    with pytest.raises(InsufficientDataError):
        risk_backtest(demo_store, split=pd.Timestamp("2024-10-01").date())


def test_an_empty_store_says_so(tmp_store):
    with pytest.raises(InsufficientDataError, match="no usage"):
        customers_at_risk(tmp_store)
    with pytest.raises(InsufficientDataError):
        risk_backtest(tmp_store)
