"""The churn-risk score: an L2-penalised logistic regression (Newton's method on
standardised features) and its ROC AUC (Mann-Whitney), with the AUC's standard error."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analytics.errors import InsufficientDataError

#: Numeric features of the score (segment and plan indicators are added per store).
FEATURES: tuple[str, ...] = (
    "usage_trend",
    "log_negative",
    "log_tickets",
    "log_competitor",
    "mentioned_cut",
    "market_cut",
)
BASELINE_FEATURES: tuple[str, ...] = ("usage_trend",)
#: L2 penalty on the standardised coefficients (not the intercept).
PENALTY = 1.0


# -- ROC AUC ---------------------------------------------------------------------------------


def roc_auc(labels: Sequence[bool] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """Area under the ROC curve: P(score of a positive > score of a negative), ties ½
    (the Mann–Whitney statistic).

    Raises:
        ValueError: lengths differ, non-finite scores, or only one class present.

    Example:
        >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
        0.75
    """
    y = np.asarray(labels).astype(bool)
    s = np.asarray(scores, dtype=float)
    if y.shape != s.shape or y.ndim != 1:
        raise ValueError("labels and scores must be 1-D and of the same length")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite")
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        raise ValueError("roc_auc needs both positive and negative labels")
    ranks = stats.rankdata(s)
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def auc_standard_error(auc: float, n1: int, n0: int) -> float:
    """Hanley & McNeil (1982) standard error of an AUC."""
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n1 - 1) * (q1 - auc * auc) + (n0 - 1) * (q2 - auc * auc)) / (n1 * n0)
    return math.sqrt(max(var, 0.0))


# -- the model -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RiskModel:
    """A fitted penalised logistic model: P(churn within the horizon | features).

    Attributes:
        features: the columns it reads (numeric features and indicator columns).
        intercept, coef: on standardised features.
        means, scales: the standardisation learnt on the training rows.
        base_rate: the share of positive rows in training.
        rows, positives: training size.
    """

    features: tuple[str, ...]
    intercept: float
    coef: tuple[float, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    base_rate: float
    rows: int
    positives: int

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Churn probabilities of the rows of ``frame`` (missing indicators count as 0)."""
        x = _design(frame, self.features)
        z = (x - np.array(self.means)) / np.array(self.scales)
        return _sigmoid(self.intercept + z @ np.array(self.coef))

    def weights(self) -> pd.Series:
        """Coefficients per feature (standardised: comparable in size)."""
        return pd.Series(self.coef, index=list(self.features), name="coef")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -35, 35)))


def _design(frame: pd.DataFrame, features: Sequence[str]) -> np.ndarray:
    cols = []
    for f in features:
        if f.startswith(("segment=", "plan=")):
            key, _, value = f.partition("=")
            cols.append(
                (frame[key] == value).to_numpy(float) if key in frame else np.zeros(len(frame))
            )
        else:
            cols.append(frame[f].to_numpy(float))
    return np.column_stack(cols) if cols else np.zeros((len(frame), 0))


def _indicators(frame: pd.DataFrame) -> list[str]:
    out = []
    for key in ("segment", "plan"):
        values = sorted(str(v) for v in frame[key].dropna().unique())
        out += [f"{key}={v}" for v in values[1:]]
    return out


def fit_risk_model(
    panel: pd.DataFrame, features: Sequence[str] | None = None, *, penalty: float = PENALTY
) -> RiskModel:
    """Fit the penalised logistic model on a :func:`risk_panel` (column ``churned``).

    Args:
        panel: training rows with the feature columns and ``churned``.
        features: the columns (default :data:`FEATURES` + segment and plan indicators).
        penalty: L2 penalty on standardised coefficients.

    Raises:
        InsufficientDataError: no rows, or only one class of ``churned``.
        ValueError: ``penalty`` < 0 or an unknown feature.
    """
    if not penalty >= 0:
        raise ValueError(f"penalty must be >= 0, got {penalty!r}")
    if panel.empty or "churned" not in panel:
        raise InsufficientDataError("no customer-months to fit the risk score on")
    y = panel["churned"].to_numpy(bool)
    if y.all() or not y.any():
        raise InsufficientDataError(
            "the risk score needs churned and retained customers on record "
            f"({int(y.sum())} of {len(y)} customer-months churned)"
        )
    features = tuple(features) if features is not None else (*FEATURES, *_indicators(panel))
    missing = [f for f in features if not f.startswith(("segment=", "plan=")) and f not in panel]
    if missing:
        raise ValueError(f"unknown feature(s): {', '.join(missing)}")
    x = _design(panel, features)
    means = x.mean(axis=0)
    scales = x.std(axis=0)
    scales = np.where(scales > 1e-12, scales, 1.0)
    z = np.column_stack([np.ones(len(x)), (x - means) / scales])
    pen = np.full(z.shape[1], penalty)
    pen[0] = 0.0
    beta = np.zeros(z.shape[1])
    beta[0] = math.log(y.mean() / (1 - y.mean()))
    for _ in range(100):
        p = _sigmoid(z @ beta)
        grad = z.T @ (p - y) + pen * beta
        hess = (z * (p * (1 - p))[:, None]).T @ z + np.diag(pen) + 1e-9 * np.eye(z.shape[1])
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.max(np.abs(step)) < 1e-9:
            break
    return RiskModel(
        features=features,
        intercept=float(beta[0]),
        coef=tuple(float(b) for b in beta[1:]),
        means=tuple(map(float, means)),
        scales=tuple(map(float, scales)),
        base_rate=float(y.mean()),
        rows=len(y),
        positives=int(y.sum()),
    )
