"""The score against the usage-trend baseline on months later than it was fitted on
(:func:`risk_backtest`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analytics.errors import InsufficientDataError
from analytics.risk.model import (
    BASELINE_FEATURES,
    RiskModel,
    auc_standard_error,
    fit_risk_model,
    roc_auc,
)
from analytics.risk.panel import (
    check_window,
    load_data,
    month_start,
    months_with_labels,
    risk_panel,
)

#: Share of the as-of months the backtest fits on (the rest, later, are tested).
TRAIN_SHARE = 0.6


@dataclass(frozen=True)
class RiskBacktest:
    """The score against the usage-trend baseline on later months than it was fitted on.

    Attributes:
        auc, auc_se: ROC AUC of the score on the test rows and its Hanley–McNeil standard
            error (rows of one customer in consecutive months are not independent: read it
            as a rough guide).
        baseline_auc, baseline_se: the same for the usage-trend-only model.
        test_rows, test_positives: customer-months tested and how many churned.
        train_months, test_months: the as-of days of each part.
        model, baseline: the fitted models.
    """

    auc: float
    auc_se: float
    baseline_auc: float
    baseline_se: float
    test_rows: int
    test_positives: int
    train_months: tuple[dt.date, ...]
    test_months: tuple[dt.date, ...]
    model: RiskModel = field(repr=False)
    baseline: RiskModel = field(repr=False)


def risk_backtest(
    store: Any,
    *,
    sentiment: str = "gold",
    entities: str | None = None,
    horizon_months: int = 1,
    lookback_days: int = 90,
    split: dt.date | None = None,
    signals: Any = None,
) -> RiskBacktest:
    """Fit the score and the baseline on the as-of months before ``split`` (whose horizon
    ends before it) and measure both ROC AUCs on the months from ``split`` on.

    Args:
        split: first as-of month of the test part (default: the month after the first
            :data:`TRAIN_SHARE` of the as-of months).
        Others: as :func:`risk_panel`.

    Raises:
        InsufficientDataError: too few months or no churn in a part.
    """
    check_window(horizon_months, lookback_days)
    data = load_data(store, sentiment, entities, signals)
    months = months_with_labels(data, horizon_months, None)
    if len(months) < 4:
        raise InsufficientDataError(
            "the backtest needs at least four as-of months with four "
            "months of usage before and an observed horizon"
        )
    cut = (
        month_start(split)
        if split is not None
        else months[min(len(months) - 1, round(TRAIN_SHARE * len(months)))]
    )
    train_m = [m for m in months if m + pd.DateOffset(months=horizon_months) <= cut]
    test_m = [m for m in months if m >= cut]
    if not train_m or not test_m:
        raise InsufficientDataError(f"split {cut.date()} leaves no training or no test month")
    panel = risk_panel(
        store,
        horizon_months=horizon_months,
        lookback_days=lookback_days,
        months=[*train_m, *test_m],
        _data=data,
    )
    as_of = pd.to_datetime(panel["as_of"])
    train, test = panel[as_of < cut], panel[as_of >= cut]
    model = fit_risk_model(train)
    baseline = fit_risk_model(train, BASELINE_FEATURES)
    y = test["churned"].to_numpy(bool)
    if y.all() or not y.any():
        raise InsufficientDataError("the test months hold no churn (or only churn)")
    auc, base = roc_auc(y, model.predict(test)), roc_auc(y, baseline.predict(test))
    n1, n0 = int(y.sum()), int((~y).sum())
    return RiskBacktest(
        auc=auc,
        auc_se=auc_standard_error(auc, n1, n0),
        baseline_auc=base,
        baseline_se=auc_standard_error(base, n1, n0),
        test_rows=len(y),
        test_positives=n1,
        train_months=tuple(m.date() for m in train_m),
        test_months=tuple(m.date() for m in test_m),
        model=model,
        baseline=baseline,
    )
