"""Price elasticity of token volume, fitted from usage and our price history.

The regression, per segment, is the log-log panel model

    ln Q_it = ε·ln p_it + Σ_k θ_k·[tenure_it = k] + α_i + δ_t + u_it

with customer effects α_i (size, industry), month effects δ_t (growth, seasonality, anything
common to the segment that month) and dummies for a customer's first months (onboarding
ramp). Prices change per plan at different dates, so ε is identified from the timing
differences between plans. Both sets of effects are absorbed by alternating projections;
standard errors are clustered by customer (CR1) and the interval uses Student's t with
(clusters − 1) degrees of freedom.

The competitor-mention interaction pools the segments and lets the elasticity depend on the
mention rate m: ε = β + γ·(m − m̄), with segment × month effects. γ < 0 means that where
competitors are mentioned more, customers are more price sensitive.

Example:
    >>> from data.store import Store                                   # doctest: +SKIP
    >>> estimate_elasticities(Store.open())[["segment", "elasticity", "ci_low", "ci_high"]]
    ...                                                                # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analytics.errors import InsufficientDataError
from analytics.inputs import usage_panel
from analytics.signals import competitor_mention_rates, newest_model_id

__all__ = [
    "ElasticityEstimate",
    "MentionInteraction",
    "estimate_elasticities",
    "estimate_mention_interaction",
    "fit_elasticity",
]


@dataclass(frozen=True)
class ElasticityEstimate:
    """A fitted price elasticity.

    Attributes:
        segment: the segment (None: all customers pooled).
        elasticity: the estimate ε̂.
        std_error: its cluster-robust standard error.
        ci_low, ci_high: the confidence interval at ``level``.
        level: confidence level (0.95).
        n_obs: customer-months used; n_customers; n_months.
        dropped: rows left out (zero volume or price).
        r2_within: R² of the demeaned regression.
    """

    segment: str | None
    elasticity: float
    std_error: float
    ci_low: float
    ci_high: float
    level: float
    n_obs: int
    n_customers: int
    n_months: int
    dropped: int
    r2_within: float


def _codes(values: Any) -> tuple[np.ndarray, int]:
    codes, uniques = pd.factorize(pd.Series(values), sort=True)
    return codes.astype(np.int64), len(uniques)


def _demean(
    x: np.ndarray,
    groups: list[tuple[np.ndarray, int]],
    *,
    tol: float = 1e-11,
    max_iter: int = 1_000,
) -> np.ndarray:
    """Remove every set of fixed effects from the columns of ``x`` (alternating projections)."""
    x = x.astype(float, copy=True)
    counts = [np.bincount(g, minlength=k).astype(float) for g, k in groups]
    scale = max(1.0, float(np.abs(x).max())) if x.size else 1.0
    for _ in range(max_iter):
        moved = 0.0
        for (g, k), n in zip(groups, counts, strict=True):
            for j in range(x.shape[1]):
                means = np.bincount(g, weights=x[:, j], minlength=k) / np.maximum(n, 1)
                moved = max(moved, float(np.abs(means).max()))
                x[:, j] -= means[g]
        if len(groups) < 2 or moved < tol * scale:
            break
    return x


@dataclass(frozen=True)
class _Fit:
    beta: np.ndarray
    cov: np.ndarray
    n: int
    clusters: int
    r2: float


def _fe_ols(
    y: np.ndarray, x: np.ndarray, groups: list[tuple[np.ndarray, int]], cluster: np.ndarray
) -> _Fit:
    """OLS of y on x after absorbing ``groups``; CR1 covariance clustered by ``cluster``."""
    data = _demean(np.column_stack([y, x]), groups)
    yd, xd = data[:, 0], data[:, 1:]
    keep = np.abs(xd).max(axis=0) > 1e-12  # drop columns the effects absorb entirely
    xk = xd[:, keep]
    xtx = xk.T @ xk
    try:
        xtx_inv = np.linalg.inv(xtx)
    except np.linalg.LinAlgError:
        raise InsufficientDataError(
            "the price does not vary within customers and months: the elasticity is not identified"
        ) from None
    beta_k = xtx_inv @ (xk.T @ yd)
    resid = yd - xk @ beta_k
    c_codes, g = _codes(cluster)
    scores = np.zeros((g, xk.shape[1]))
    np.add.at(scores, c_codes, xk * resid[:, None])
    n, k = xk.shape
    absorbed = sum(kk for _, kk in groups) - (len(groups) - 1)
    dof = max(n - k - absorbed, 1)
    factor = g / max(g - 1, 1) * (n - 1) / dof
    cov_k = factor * xtx_inv @ (scores.T @ scores) @ xtx_inv
    beta = np.full(x.shape[1], np.nan)
    beta[keep] = beta_k
    cov = np.full((x.shape[1], x.shape[1]), np.nan)
    cov[np.ix_(keep, keep)] = cov_k
    tss = float(yd @ yd)
    return _Fit(
        beta=beta,
        cov=cov,
        n=n,
        clusters=g,
        r2=1 - float(resid @ resid) / tss if tss > 0 else float("nan"),
    )


def _prepare(panel: pd.DataFrame, onboarding_months: int) -> tuple[pd.DataFrame, int]:
    ok = (panel["tokens"] > 0) & (panel["price_per_m"] > 0)
    df = panel.loc[ok].copy()
    df["month"] = pd.to_datetime(df["month"])
    first = df.groupby("customer_id")["month"].transform("min")
    df["tenure"] = (df["month"].dt.year - first.dt.year) * 12 + (
        df["month"].dt.month - first.dt.month
    )
    df["ln_q"] = np.log(df["tokens"].to_numpy(float))
    df["ln_p"] = np.log(df["price_per_m"].to_numpy(float))
    for k in range(onboarding_months):
        df[f"tenure_{k}"] = (df["tenure"] == k).astype(float)
    return df, int((~ok).sum())


def _interval(est: float, se: float, clusters: int, level: float) -> tuple[float, float]:
    t = float(stats.t.ppf(0.5 + level / 2, max(clusters - 1, 1)))
    return est - t * se, est + t * se


def fit_elasticity(
    panel: pd.DataFrame,
    *,
    segment: str | None = None,
    level: float = 0.95,
    onboarding_months: int = 3,
    min_obs: int = 30,
) -> ElasticityEstimate:
    """Fit ε on a usage panel (``analytics.inputs.usage_panel`` columns).

    Args:
        panel: rows with ``customer_id``, ``month``, ``tokens``, ``price_per_m`` (and
            ``segment`` when pooling several: month effects are then per segment).
        segment: label to put on the result.
        level: confidence level of the interval.
        onboarding_months: dummies for a customer's first months (their ramp-up).
        min_obs: fewer usable rows raise ``InsufficientDataError``.

    Raises:
        InsufficientDataError: too few rows, or no price variation left after the effects.
    """
    df, dropped = _prepare(panel, onboarding_months)
    if len(df) < min_obs:
        raise InsufficientDataError(
            f"only {len(df)} customer-months with usage{f' in {segment}' if segment else ''};"
            f" need at least {min_obs}"
        )
    time_key = (
        df["segment"].astype(str) + "|" + df["month"].astype(str)
        if "segment" in df and df["segment"].nunique() > 1
        else df["month"]
    )
    groups = [_codes(df["customer_id"]), _codes(time_key)]
    x = df[["ln_p", *[f"tenure_{k}" for k in range(onboarding_months)]]].to_numpy(float)
    fit = _fe_ols(df["ln_q"].to_numpy(float), x, groups, df["customer_id"].to_numpy())
    est, se = float(fit.beta[0]), float(np.sqrt(fit.cov[0, 0]))
    if not np.isfinite(est) or not np.isfinite(se):
        raise InsufficientDataError("the price does not vary within customers and months")
    lo, hi = _interval(est, se, fit.clusters, level)
    return ElasticityEstimate(
        segment=segment,
        elasticity=est,
        std_error=se,
        ci_low=lo,
        ci_high=hi,
        level=level,
        n_obs=fit.n,
        n_customers=fit.clusters,
        n_months=int(df["month"].nunique()),
        dropped=dropped,
        r2_within=fit.r2,
    )


def estimate_elasticities(
    store: Any,
    *,
    level: float = 0.95,
    pooled: bool = False,
    min_obs: int = 30,
) -> pd.DataFrame:
    """ε per segment from the store (and all customers pooled when ``pooled``).

    Returns:
        Columns ``segment``, ``elasticity``, ``std_error``, ``ci_low``, ``ci_high``,
        ``n_obs``, ``n_customers``, ``n_months``, ``r2_within``, ``note`` (why a segment has
        no estimate; empty otherwise).
    """
    panel = usage_panel(store)
    rows = []
    names: list[str | None] = sorted(panel["segment"].unique())
    if pooled:
        names.append(None)
    for seg in names:
        part = panel if seg is None else panel[panel["segment"] == seg]
        try:
            e = fit_elasticity(part, segment=seg, level=level, min_obs=min_obs)
            rows.append({**e.__dict__, "note": ""})
        except InsufficientDataError as exc:
            rows.append({"segment": seg, "note": str(exc)})
    cols = [
        "segment",
        "elasticity",
        "std_error",
        "ci_low",
        "ci_high",
        "n_obs",
        "n_customers",
        "n_months",
        "r2_within",
        "note",
    ]
    return pd.DataFrame(rows, columns=cols)


@dataclass(frozen=True)
class MentionInteraction:
    """How the competitor-mention rate shifts the elasticity: ε(m) = β + γ·(m − m̄).

    Attributes:
        slope: γ, change of ε per unit of mention rate (per 1.0 = 100 percentage points).
        std_error, ci_low, ci_high: γ's cluster-robust SE and interval.
        base_elasticity: β, ε at the mean rate m̄; base_ci its interval.
        mean_rate: m̄ (ticket-weighted over customer-months).
        level: confidence level.
        n_obs, n_customers: the regression's size.
        model_id: whose entities gave the rates.
        by_segment: per segment ``segment``, ``mention_rate``, ``elasticity_at_rate``
            (β + γ·(m − m̄)), and ``elasticity``/``ci_low``/``ci_high`` of the separate fit.
        heterogeneity_p: p-value of the test that the separate per-segment elasticities lie
            on the line β + γ·m (small = the mention rate does not explain all of the
            differences between segments). NaN with fewer than three segments.
    """

    slope: float
    std_error: float
    ci_low: float
    ci_high: float
    base_elasticity: float
    base_ci: tuple[float, float]
    mean_rate: float
    level: float
    n_obs: int
    n_customers: int
    model_id: str
    by_segment: pd.DataFrame = field(repr=False)
    heterogeneity_p: float

    def elasticity_at(self, rate: float) -> float:
        """ε at a mention rate."""
        return self.base_elasticity + self.slope * (rate - self.mean_rate)

    @property
    def significant(self) -> bool:
        """Whether γ's interval excludes 0."""
        return self.ci_high < 0 or self.ci_low > 0


def estimate_mention_interaction(
    store: Any,
    *,
    model_id: str | None = None,
    aliases: Any = None,
    level: float = 0.95,
    by: str = "segment",
    onboarding_months: int = 3,
    rates: pd.DataFrame | None = None,
) -> MentionInteraction:
    """Estimate whether the competitor-mention rate explains price sensitivity.

    Args:
        store: the store.
        model_id: whose entities count (default the newest tagger; "gold" = gold spans).
        aliases: alias → vendor mapping (default ``data.competitor_names.competitor_aliases()``).
        level: confidence level.
        by: "segment" uses each segment's mention rate over the whole period (the
            differences between segments); "segment-month" uses the monthly rate.
        onboarding_months: as ``fit_elasticity``.
        rates: ``competitor_mention_rates`` for ``model_id`` when already computed (the
            query is the costly part on a large store).

    Raises:
        InsufficientDataError: nothing tagged, or too little variation in the rate.
    """
    if by not in ("segment", "segment-month"):
        raise ValueError("by must be 'segment' or 'segment-month'")
    model_id = model_id or newest_model_id(store)
    if model_id is None:
        raise InsufficientDataError("no tagged tickets yet: tag tickets to measure mentions")
    if rates is None:
        rates = competitor_mention_rates(store, model_id=model_id, aliases=aliases)
    if rates.empty:
        raise InsufficientDataError("no tagged tickets with a customer and a date")
    seg_rates = rates.groupby("segment")[["mention_tickets", "tickets"]].sum()
    seg_rates = seg_rates["mention_tickets"] / seg_rates["tickets"]
    df, _ = _prepare(usage_panel(store), onboarding_months)
    df = df[df["segment"].isin(seg_rates.index)]
    if by == "segment":
        df["m"] = df["segment"].map(seg_rates).astype(float)
    else:
        r = rates.assign(month=pd.to_datetime(rates["month"]))
        df = df.merge(r[["segment", "month", "rate"]], on=["segment", "month"], how="inner")
        df["m"] = df["rate"].astype(float)
    if len(df) < 30 or df["m"].nunique() < 2:
        raise InsufficientDataError("the mention rate does not vary enough to estimate its effect")
    m_bar = float(df["m"].mean())
    df["ln_p_m"] = df["ln_p"] * (df["m"] - m_bar)
    groups = [
        _codes(df["customer_id"]),
        _codes(df["segment"].astype(str) + "|" + df["month"].astype(str)),
    ]
    x = df[["ln_p", "ln_p_m", *[f"tenure_{k}" for k in range(onboarding_months)]]].to_numpy(float)
    fit = _fe_ols(df["ln_q"].to_numpy(float), x, groups, df["customer_id"].to_numpy())
    beta, gamma = float(fit.beta[0]), float(fit.beta[1])
    se_b, se_g = float(np.sqrt(fit.cov[0, 0])), float(np.sqrt(fit.cov[1, 1]))
    if not (np.isfinite(gamma) and np.isfinite(se_g)):
        raise InsufficientDataError("the interaction is not identified by these data")
    lo, hi = _interval(gamma, se_g, fit.clusters, level)
    # separate fits per segment, and the test that they lie on the fitted line
    seg_rows, est, ses, ms = [], [], [], []
    for seg, part in df.groupby("segment"):
        try:
            e = fit_elasticity(
                part, segment=str(seg), level=level, onboarding_months=onboarding_months
            )
        except InsufficientDataError:
            continue
        m = float(seg_rates[seg])
        seg_rows.append(
            {
                "segment": seg,
                "mention_rate": m,
                "elasticity_at_rate": beta + gamma * (m - m_bar),
                "elasticity": e.elasticity,
                "ci_low": e.ci_low,
                "ci_high": e.ci_high,
            }
        )
        est.append(e.elasticity)
        ses.append(e.std_error)
        ms.append(m)
    het_p = float("nan")
    if len(est) >= 3:
        w = 1 / np.square(ses)
        design = np.column_stack([np.ones(len(ms)), ms])
        coef = np.linalg.solve(design.T @ (design * w[:, None]), design.T @ (w * np.asarray(est)))
        chi2 = float(np.sum(w * np.square(np.asarray(est) - design @ coef)))
        het_p = float(stats.chi2.sf(chi2, len(est) - 2))
    return MentionInteraction(
        slope=gamma,
        std_error=se_g,
        ci_low=lo,
        ci_high=hi,
        base_elasticity=beta,
        base_ci=_interval(beta, se_b, fit.clusters, level),
        mean_rate=m_bar,
        level=level,
        n_obs=fit.n,
        n_customers=fit.clusters,
        model_id=str(model_id),
        by_segment=pd.DataFrame(seg_rows),
        heterogeneity_p=het_p,
    )
