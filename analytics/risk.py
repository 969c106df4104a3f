"""Customers at risk: a churn-risk score from the store's signals, its ROC AUC against a
usage-trend-only baseline, and the offer to make with its expected monthly profit effect.

**The score ranks risk; it does not prove why a customer leaves.** It is a discrete-time
churn model: for a customer active on a day ``as_of`` (used the service in the month before),
the probability that it is gone within ``horizon_months`` months (``churn_month`` in
[month of as_of, + horizon); default one month, so the risk is a monthly churn probability), by an L2-penalised logistic regression (Newton's method on
standardised features, :data:`PENALTY`) on :data:`FEATURES`, all measured before ``as_of``:

* ``usage_trend``: log of mean monthly tokens in the last 3 months over the 3 before (0 when
  there is no earlier quarter);
* ``log_negative``: log(1 + negative tickets in the last ``lookback_days`` days);
* ``log_tickets``: log(1 + all its tickets in that window) — big customers file many
  tickets, so what a negative ticket says depends on how many there are;
* ``log_competitor``: log(1 + tickets naming a competitor in that window);
* ``mentioned_cut``: the depth (share of the old price) of the deepest price cut, inside the
  window, of a competitor the customer named (its latest cut is reported beside);
* ``market_cut``: the deepest cut of any competitor inside the window;
* the customer's segment and plan (one indicator per value but the first).

The model is fitted on the store's own history (one row per active customer and month),
so it needs churn on record. :func:`risk_backtest` fits it on the earlier months and
measures the ROC AUC (Mann–Whitney) on the later ones, against the same model on the usage
trend alone.

**The offer** (:func:`recommend_action`, :class:`OfferAssumptions`). With V the customer's
monthly volume (millions of tokens), p its price, c its segment's unit cost (GPU + support,
from the scenario's cost model: ``Scenario.unit_cost``), ε its segment's elasticity
(``Scenario.used_elasticity``) and q its risk, the expected monthly contribution of each
action counts the customer as lost when it churns (conservative: as if at the start of the
horizon):

* hold:        π₀ = (1 − q)·(p − c)·V
* discount d:  π(d) = (1 − q·(1 − s_d·d/d_max))·(p·(1 − d) − c)·V·(1 − d)^ε, 0 < d ≤ d_max,
  the best d on a grid of ``discount_step``;
* plan change to a cheaper plan at list price p′:  (1 − q·(1 − s_p))·(p′ − c)·V·(p′/p)^ε;
* contact:     (1 − q·(1 − s_c))·(p − c)·V − contact_cost (one call a month at most).

The save rates s_d, s_p, s_c (the share of the risk an action removes) are **assumptions**,
not measured: nothing in the store says how customers answer an offer. The recommended action
is the one with the largest expected effect π − π₀; hold when none is positive.

Example:
    >>> round(offer_profit(risk=0.5, price=1.0, unit_cost=0.4, volume_m=100.0,
    ...                    elasticity=-1.0, discount=0.0, save=0.0), 6)
    30.0
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analytics.errors import InsufficientDataError

__all__ = [
    "RISK_NOTE",
    "offer_assumptions_text",
    "ACTIONS",
    "FEATURES",
    "RISK_COLUMNS",
    "OfferAssumptions",
    "RiskBacktest",
    "RiskModel",
    "customers_at_risk",
    "fit_risk_model",
    "offer_profit",
    "recommend_action",
    "risk_backtest",
    "risk_panel",
    "roc_auc",
]

#: What the customers-at-risk list may and may not be read as (page and command line).
RISK_NOTE = (
    "The score ranks customers by their risk of leaving within a month; it does not "
    "prove why a customer leaves."
)

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
#: Months of usage an as-of month needs before it (for the trend) to enter the panel.
HISTORY_MONTHS = 4
#: Share of the as-of months the backtest fits on (the rest, later, are tested).
TRAIN_SHARE = 0.6
ACTIONS: tuple[str, ...] = ("hold", "discount", "plan change", "contact")
#: Columns of :func:`customers_at_risk`.
RISK_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "name",
    "segment",
    "plan",
    "region",
    "risk",
    "lift",
    "usage_trend",
    "negative_tickets",
    "competitor_tickets",
    "top_competitor",
    "latest_cut",
    "latest_cut_pct",
    "volume_m",
    "price_per_m",
    "unit_cost",
    "elasticity",
    "action",
    "discount",
    "new_plan",
    "new_price",
    "profit_hold",
    "profit_effect",
    "reason",
)


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


def _auc_se(auc: float, n1: int, n0: int) -> float:
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


# -- features --------------------------------------------------------------------------------


@dataclass
class _Data:
    customers: pd.DataFrame
    usage: pd.DataFrame
    #: per customer and day (``day`` a Timestamp): ``tickets``, ``negative``, ``named``
    #: (tickets naming a competitor)
    days: pd.DataFrame
    #: per customer, day and competitor named (``vendor``): ``tickets``
    mentions: pd.DataFrame
    cuts: pd.DataFrame
    #: :func:`_features_at` already computed, by (as-of day, lookback)
    features: dict[tuple[pd.Timestamp, int], pd.DataFrame] = field(default_factory=dict)
    #: :func:`_columns` of ``days`` and ``mentions`` (numpy arrays, computed once)
    arrays: dict[str, Any] = field(default_factory=dict)


def _columns(data: _Data) -> dict[str, Any]:
    """``days`` and ``mentions`` as numpy columns with integer customer (and vendor) codes,
    so a window's sums per customer are slices and ``np.bincount`` (exact: whole numbers)."""
    if not data.arrays:
        d, m = data.days, data.mentions
        ids = pd.unique(np.concatenate([d["customer_id"].to_numpy(object), m["customer_id"]]))
        customers = pd.Index(sorted(ids), dtype=object)
        vendors = pd.Index(sorted(pd.unique(m["vendor"].to_numpy(object))), dtype=object)
        data.arrays.update(
            customers=customers,
            vendors=vendors,
            day=d["day"].to_numpy(),
            code=customers.get_indexer(d["customer_id"]),
            tickets=d["tickets"].to_numpy(),
            negative=d["negative"].to_numpy(),
            named=d["named"].to_numpy(),
            m_day=m["day"].to_numpy(),
            m_code=customers.get_indexer(m["customer_id"]),
            m_vendor=vendors.get_indexer(m["vendor"]),
            m_tickets=m["tickets"].to_numpy(),
        )
        u, c = data.usage, data.customers
        data.arrays.update(
            u_month=u["month"].to_numpy(),
            u_customer=u["customer_id"].to_numpy(object),
            u_plan=u["plan"].to_numpy(object),
            u_price=u["price_per_m"].to_numpy(),
            c_index=pd.Index(c["customer_id"].to_numpy(object)),
            c_name=c["name"].to_numpy(object),
            c_segment=c["segment"].to_numpy(object),
            c_region=c["region"].to_numpy(object),
            c_churn=c["churn_month"].dt.date.to_numpy(object),
        )
        cuts = data.cuts.sort_values(["date", "depth"], kind="stable")
        data.arrays["cuts"] = list(
            zip(cuts["date"], cuts["depth"], cuts["vendor"], cuts["pct_change"], strict=True)
        )
    return data.arrays


def _span(days: np.ndarray, lo: pd.Timestamp, hi: pd.Timestamp) -> slice:
    """The rows of sorted ``days`` with ``lo <= day < hi``."""
    unit = days.dtype if days.dtype.kind == "M" else "datetime64[ns]"
    return slice(
        int(np.searchsorted(days, np.datetime64(lo).astype(unit), "left")),
        int(np.searchsorted(days, np.datetime64(hi).astype(unit), "left")),
    )


def _per_customer(
    sums: np.ndarray, present: np.ndarray, codes: np.ndarray, dtype: Any
) -> np.ndarray:
    """Per customer ``codes`` (-1: none) its sum, as ``groupby(...).sum().reindex(...)
    .fillna(0)`` gives it: of ``dtype`` when every customer has rows, else float."""
    has = (codes >= 0) & present[np.maximum(codes, 0)]
    values = np.where(has, sums[np.maximum(codes, 0)], 0)
    return values.astype(dtype) if has.all() else values.astype(float)


def _month_start(day: dt.date | pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(day).to_period("M").to_timestamp()


def _load(store: Any, sentiment: str, entities: str | None, signals: Any) -> _Data:
    """What the features are computed from. Given :func:`analytics.alerts.signal_counts`,
    it is computed once per counts object (kept with it: the score and the backtest of one
    page share it; a counts object belongs to one state of the store)."""
    from analytics.alerts import SignalCounts

    if isinstance(signals, SignalCounts):
        key = ("analytics.risk._Data", id(store))
        return signals.cached(key, lambda: _read(store, sentiment, entities, signals))
    return _read(store, sentiment, entities, signals)


def _read(store: Any, sentiment: str, entities: str | None, signals: Any) -> _Data:
    from analytics.alerts import NAMED, SignalCounts, as_counts, signal_counts
    from data.reference import price_cut_events

    customers = store.query(
        "SELECT customer_id, name, segment, plan, region, signup_month, churn_month"
        " FROM customers ORDER BY customer_id"
    )
    usage = store.query(
        "SELECT customer_id, month, plan, (input_tokens + output_tokens)::DOUBLE AS tokens,"
        " price_per_m FROM usage ORDER BY customer_id, month"
    )
    usage["month"] = pd.to_datetime(usage["month"])
    customers["churn_month"] = pd.to_datetime(customers["churn_month"])
    counts: SignalCounts = (
        signal_counts(store, sentiment=sentiment, entities=entities)
        if signals is None
        else as_counts(signals)
    )
    # per known customer and day: its units rows (a known customer's tickets of a day are
    # one row, the rows ordered by day then customer), with the tickets naming a competitor
    units = counts.units[counts.units["customer_id"].notna()]
    day = _day_array(units["day"])
    days = pd.DataFrame(
        {
            "customer_id": pd.Series(units["customer_id"].to_numpy(object), dtype=object),
            "day": day,
            "tickets": units["tickets"].to_numpy("int64"),
            "negative": units["negative"].to_numpy("int64"),
        }
    )
    # the mention rows as numpy columns, each converted once (named and competitor rows
    # are picked from them)
    vals = counts.mentions
    dim = vals["dim"].to_numpy(object)
    m_customer = vals["customer_id"].to_numpy(object)
    m_day = _day_array(vals["day"])
    m_tickets = vals["tickets"].to_numpy("int64")
    is_named = dim == NAMED
    days["named"] = np.zeros(len(days), dtype=np.int64)
    if is_named.any() and len(days):  # one row per customer and day on both sides
        named_customer = m_customer[is_named]
        ids = pd.Index(
            pd.unique(np.concatenate([days["customer_id"].to_numpy(), named_customer])),
            dtype=object,
        )
        width = np.int64(len(ids))
        have = m_day[is_named].astype(np.int64) * width + ids.get_indexer(named_customer)
        want = day.astype(np.int64) * width + ids.get_indexer(days["customer_id"].to_numpy())
        order = np.argsort(have, kind="stable")
        at = np.minimum(np.searchsorted(have[order], want), len(have) - 1)
        hit = have[order][at] == want
        days["named"] = np.where(hit, m_tickets[is_named][order][at], 0)
    is_competitor = dim == "competitor"
    mentions = pd.DataFrame(
        {
            "customer_id": pd.Series(m_customer[is_competitor], dtype=object),
            "day": m_day[is_competitor],
            "vendor": pd.Series(vals["value"].to_numpy(object)[is_competitor], dtype=object),
            "tickets": m_tickets[is_competitor],
        }
    )
    # by day, so a window is a slice (_span)
    days, mentions = _by_day(days), _by_day(mentions)
    cuts = price_cut_events()[["vendor", "date", "pct_change"]].copy()
    cuts["date"] = pd.to_datetime(cuts["date"])
    cuts["depth"] = -cuts["pct_change"] / 100.0
    return _Data(customers, usage, days, mentions, cuts)


def _by_day(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` sorted by ``day`` (stable), index reset: as it is when already in order
    (the counts come ordered by day)."""
    if not frame["day"].is_monotonic_increasing:
        frame = frame.sort_values("day", kind="stable")
    return frame.reset_index(drop=True)


def _day_array(days: pd.Series) -> np.ndarray:
    """Dates (``datetime.date``) as ``datetime64[D]``, each distinct day converted once."""
    codes, distinct = pd.factorize(days.to_numpy(object))
    return np.asarray(list(distinct), dtype="datetime64[D]")[codes]


def _features_at(data: _Data, as_of: pd.Timestamp, lookback_days: int) -> pd.DataFrame:
    """Features of the customers active at ``as_of`` (usage in the month before); a copy of
    the frame computed once per ``data``."""
    _prepare_features(data, [as_of], lookback_days)
    return data.features[(pd.Timestamp(as_of), int(lookback_days))].copy()


def _prepare_features(data: _Data, days: Sequence[Any], lookback_days: int) -> None:
    """Compute the features at each of ``days`` not computed yet, the usage means of all
    of them in one pass (:func:`_usage_means`)."""
    todo = list(
        dict.fromkeys(
            pd.Timestamp(d)
            for d in days
            if (pd.Timestamp(d), int(lookback_days)) not in data.features
        )
    )
    if not todo:
        return
    means = _usage_means(data, [_month_start(d) for d in todo])
    for day in todo:
        data.features[(day, int(lookback_days))] = _compute_features(
            data, day, lookback_days, means
        )


def _usage_means(
    data: _Data, months: Sequence[pd.Timestamp]
) -> dict[tuple[pd.Timestamp, str], tuple[float, float]]:
    """Per as-of month and customer, its mean monthly tokens over the 3 months before the
    month (``recent``) and the 3 before those (``before``; NaN when none), as
    ``groupby(...).mean()`` of each month's rows gives them (one group-by for all months:
    a group's rows in the same order, so the same sums)."""
    usage = data.usage
    month = usage["month"].to_numpy()
    picks: dict[str, list[np.ndarray]] = {"recent": [], "before": []}
    keys: dict[str, list[np.ndarray]] = {"recent": [], "before": []}
    for i, m in enumerate(dict.fromkeys(months)):
        lo3, lo6 = m - pd.DateOffset(months=3), m - pd.DateOffset(months=6)
        for name, rows in (
            ("recent", np.flatnonzero((month < np.datetime64(m)) & (month >= np.datetime64(lo3)))),
            (
                "before",
                np.flatnonzero((month < np.datetime64(lo3)) & (month >= np.datetime64(lo6))),
            ),
        ):
            picks[name].append(rows)
            keys[name].append(np.full(len(rows), i))
    out: dict[tuple[pd.Timestamp, str], list[float]] = {}
    order = list(dict.fromkeys(months))
    for slot, name in enumerate(("recent", "before")):
        rows = np.concatenate(picks[name]) if picks[name] else np.zeros(0, dtype=int)
        frame = pd.DataFrame(
            {
                "k": np.concatenate(keys[name]) if keys[name] else np.zeros(0, dtype=int),
                "customer_id": pd.Series(usage["customer_id"].to_numpy(object)[rows], dtype=object),
                "tokens": usage["tokens"].to_numpy()[rows],
            }
        )
        means = frame.groupby(["k", "customer_id"], sort=False)["tokens"].mean()
        for (k, customer), value in zip(means.index, means.to_numpy(), strict=True):
            out.setdefault((order[k], customer), [np.nan, np.nan])[slot] = value
    return {key: (v[0], v[1]) for key, v in out.items()}


def _compute_features(
    data: _Data,
    as_of: pd.Timestamp,
    lookback_days: int,
    means: dict[tuple[pd.Timestamp, str], tuple[float, float]],
) -> pd.DataFrame:
    m = _month_start(as_of)
    prev = m - pd.DateOffset(months=1)
    a = _columns(data)
    last = np.flatnonzero(a["u_month"] == np.datetime64(prev))  # in usage order
    if not last.size:
        return pd.DataFrame()
    ids = a["u_customer"][last]
    at = a["c_index"].get_indexer(ids)
    if (at < 0).any():
        raise KeyError(f"customers not in the customers table: {list(ids[at < 0])[:5]}")
    recent = np.array([means.get((m, c), (np.nan, np.nan))[0] for c in ids], dtype=float)
    before = np.array([means.get((m, c), (np.nan, np.nan))[1] for c in ids], dtype=float)
    trend = np.log((recent + 1.0) / (before + 1.0))
    f: dict[str, Any] = {
        "customer_id": ids,
        "name": a["c_name"][at],
        "segment": a["c_segment"][at],
        "region": a["c_region"][at],
        "plan": a["u_plan"][last],
        "price_per_m": a["u_price"][last],
        "volume_m": recent / 1e6,
        "usage_trend": np.where(~np.isnan(before), trend, 0.0),
    }
    lo = as_of - pd.Timedelta(days=lookback_days)
    # whole days: as_of and lo are midnights, so a ticket's day decides its window; sums
    # per customer by np.bincount on the window's rows (whole numbers: exact)
    n_cust = len(a["customers"])
    codes = a["customers"].get_indexer(ids)
    active = np.zeros(n_cust, dtype=bool)
    active[codes[codes >= 0]] = True
    w = _span(a["day"], lo, as_of)
    code = a["code"][w]
    keep = active[code]
    rows = np.bincount(code[keep], minlength=n_cust) > 0
    for col in ("negative", "tickets"):
        sums = np.bincount(code[keep], weights=a[col][w][keep], minlength=n_cust)
        f[col if col == "tickets" else "negative_tickets"] = _per_customer(
            sums, rows, codes, a[col].dtype
        )
    named = keep & (a["named"][w] > 0)
    f["competitor_tickets"] = _per_customer(
        np.bincount(code[named], weights=a["named"][w][named], minlength=n_cust),
        np.bincount(code[named], minlength=n_cust) > 0,
        codes,
        a["named"].dtype,
    )
    vendors = a["vendors"]
    w = _span(a["m_day"], lo, as_of)
    m_code, m_vendor = a["m_code"][w], a["m_vendor"][w]
    keep = active[m_code]
    cells = m_code[keep] * len(vendors) + m_vendor[keep]
    shape = (n_cust, len(vendors))
    n = np.bincount(
        cells, weights=a["m_tickets"][w][keep], minlength=n_cust * len(vendors)
    ).reshape(shape)
    named_any = (np.bincount(cells, minlength=n_cust * len(vendors)) > 0).reshape(shape)
    # the most named vendor (ties: the first by name, the vendors being sorted)
    best = np.argmax(np.where(named_any, n, -np.inf), axis=1) if len(vendors) else None
    names = vendors.to_numpy(object)
    top = [names[best[c]] if c >= 0 and named_any[c].any() else np.nan for c in codes]
    f["top_competitor"] = pd.Series(top, dtype=object)
    # the cuts before as_of, oldest first (ties: the shallowest first): a vendor's latest is
    # its last; those from lo on give the deepest of the window
    when: dict[Any, dt.date] = {}
    pct: dict[Any, float] = {}
    window: dict[Any, float] = {}
    for day, depth_, vendor, change in a["cuts"]:
        if day >= as_of:
            break
        when[vendor], pct[vendor] = day.date(), change
        if day >= lo:
            window[vendor] = max(window.get(vendor, depth_), depth_)
    f["latest_cut"] = pd.Series([when.get(v) for v in top], dtype=object)
    f["latest_cut_pct"] = [pct.get(v, np.nan) for v in top]
    depth = np.array([window.get(v, np.nan) for v in vendors], dtype=float)
    cut = np.where(named_any & ~np.isnan(depth), depth, -np.inf)  # vendors named with a cut
    deepest = cut.max(axis=1, initial=-np.inf)
    f["mentioned_cut"] = [
        float(deepest[c]) if c >= 0 and deepest[c] > -np.inf else 0.0 for c in codes
    ]
    f["market_cut"] = max(window.values(), default=0.0)
    frame = pd.DataFrame(f)
    frame["log_negative"] = np.log1p(frame["negative_tickets"])
    frame["log_competitor"] = np.log1p(frame["competitor_tickets"])
    frame["log_tickets"] = np.log1p(frame["tickets"])
    frame["as_of"] = as_of.date()
    frame["churn_month"] = pd.Series(a["c_churn"][at], dtype=object)
    return frame


def _label(frame: pd.DataFrame, horizon_months: int) -> pd.Series:
    m = pd.to_datetime(frame["as_of"]).dt.to_period("M").dt.to_timestamp()
    churn = pd.to_datetime(frame["churn_month"])
    return (churn >= m) & (churn < m + pd.DateOffset(months=horizon_months))


def _check(horizon_months: int, lookback_days: int) -> None:
    if int(horizon_months) != horizon_months or horizon_months < 1:
        raise ValueError(f"horizon_months must be a whole number >= 1, got {horizon_months!r}")
    if int(lookback_days) != lookback_days or lookback_days < 1:
        raise ValueError(f"lookback_days must be a whole number >= 1, got {lookback_days!r}")


def _months_with_labels(
    data: _Data, horizon_months: int, before: pd.Timestamp | None
) -> list[pd.Timestamp]:
    """As-of months (first days) with HISTORY_MONTHS months of usage before them and a fully
    observed horizon."""
    if data.usage.empty:
        return []
    first, last = data.usage["month"].min(), data.usage["month"].max()
    start = first + pd.DateOffset(months=HISTORY_MONTHS)
    stop = last - pd.DateOffset(months=horizon_months - 1)  # churn by `last` is observed
    if before is not None:
        stop = min(stop, _month_start(before) - pd.DateOffset(months=horizon_months))
    return list(pd.date_range(start, stop, freq="MS"))


def risk_panel(
    store: Any,
    *,
    sentiment: str = "gold",
    entities: str | None = None,
    horizon_months: int = 1,
    lookback_days: int = 90,
    months: Sequence[dt.date] | None = None,
    signals: Any = None,
    _data: _Data | None = None,
) -> pd.DataFrame:
    """One row per customer active at the first day of each month, with its features and
    ``churned`` (gone within ``horizon_months``).

    Args:
        store: the store.
        sentiment: ``"gold"`` or the model id of the ticket sentiment.
        entities: the entities' model id (default the sentiment's source).
        horizon_months: the churn horizon.
        lookback_days: the ticket window of the features.
        months: the as-of days (default every month with :data:`HISTORY_MONTHS` months of
            usage before it and an observed horizon).
        signals: :func:`analytics.alerts.ticket_signals` or :func:`analytics.alerts.
            signal_counts` already read.

    Returns:
        Columns ``customer_id``, ``as_of``, the features, ``name``, ``segment``, ``region``,
        ``plan``, ``price_per_m``, ``volume_m``, ``negative_tickets``, ``competitor_tickets``,
        ``top_competitor``, ``latest_cut``, ``latest_cut_pct``, ``churn_month``, ``churned``.
    """
    _check(horizon_months, lookback_days)
    data = _data or _load(store, sentiment, entities, signals)
    when = (
        [pd.Timestamp(m) for m in months]
        if months is not None
        else _months_with_labels(data, horizon_months, None)
    )
    _prepare_features(data, when, lookback_days)
    frames = [f for m in when if not (f := _features_at(data, m, lookback_days)).empty]
    if not frames:
        return pd.DataFrame(columns=["customer_id", "as_of", *FEATURES, "churned"])
    panel = pd.concat(frames, ignore_index=True)
    panel["churned"] = _label(panel, horizon_months)
    return panel


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
    _check(horizon_months, lookback_days)
    data = _load(store, sentiment, entities, signals)
    months = _months_with_labels(data, horizon_months, None)
    if len(months) < 4:
        raise InsufficientDataError(
            "the backtest needs at least four as-of months with four "
            "months of usage before and an observed horizon"
        )
    cut = (
        _month_start(split)
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
        auc_se=_auc_se(auc, n1, n0),
        baseline_auc=base,
        baseline_se=_auc_se(base, n1, n0),
        test_rows=len(y),
        test_positives=n1,
        train_months=tuple(m.date() for m in train_m),
        test_months=tuple(m.date() for m in test_m),
        model=model,
        baseline=baseline,
    )


# -- the offer -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfferAssumptions:
    """What an action does, by assumption (nothing in the store measures it).

    Attributes:
        max_discount: the cap of a discount (share of the price).
        discount_step: the grid step of the discount search.
        discount_save: share of the risk removed by a discount at the cap (linear below).
        plan_save: share of the risk removed by moving to a cheaper plan.
        contact_save: share of the risk removed by a customer-success contact.
        contact_cost: USD per contact (default four human-handled tickets' worth of staff
            time, from the cost anchors' $13.50 a ticket).
        horizon_months: the risk's horizon (1: q is the probability of leaving this month,
            so every figure is per month).
        min_lift: a customer is at risk when its risk is at least this multiple of the
            average risk of the customers scored.
    """

    max_discount: float = 0.20
    discount_step: float = 0.005
    discount_save: float = 0.5
    plan_save: float = 0.4
    contact_save: float = 0.2
    contact_cost: float = 54.0
    horizon_months: int = 1
    min_lift: float = 2.0

    def __post_init__(self) -> None:
        for name in ("max_discount", "discount_save", "plan_save", "contact_save"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and 0 <= v <= 1):
                raise ValueError(f"{name} must be between 0 and 1, got {v!r}")
        if not 0 < self.discount_step <= max(self.max_discount, 1e-9):
            raise ValueError("discount_step must be > 0 and at most max_discount")
        if not self.contact_cost >= 0:
            raise ValueError(f"contact_cost must be >= 0, got {self.contact_cost!r}")
        if int(self.horizon_months) != self.horizon_months or self.horizon_months < 1:
            raise ValueError(
                f"horizon_months must be a whole number >= 1, got {self.horizon_months!r}"
            )
        if not self.min_lift > 0:
            raise ValueError(f"min_lift must be > 0, got {self.min_lift!r}")


def offer_profit(
    *,
    risk: float,
    price: float,
    unit_cost: float,
    volume_m: float,
    elasticity: float,
    discount: float = 0.0,
    save: float = 0.0,
    new_price: float | None = None,
    fixed: float = 0.0,
) -> float:
    """Expected monthly contribution of a customer under an action (USD per month):
    ``(1 − risk·(1 − save))·(p′ − c)·V·(p′/p)^ε − fixed`` with p′ = ``new_price`` or
    p·(1 − ``discount``).

    Raises:
        ValueError: a risk or save outside [0, 1], a non-positive price or new price, a
            negative volume, a discount outside [0, 1).
    """
    if not 0 <= risk <= 1 or not 0 <= save <= 1:
        raise ValueError("risk and save must be between 0 and 1")
    if not price > 0 or not volume_m >= 0 or not 0 <= discount < 1:
        raise ValueError("price must be > 0, volume_m >= 0 and discount in [0, 1)")
    p_new = price * (1.0 - discount) if new_price is None else new_price
    if not p_new > 0:
        raise ValueError("the new price must be > 0")
    volume = volume_m * (p_new / price) ** elasticity
    return (1.0 - risk * (1.0 - save)) * (p_new - unit_cost) * volume - fixed


def recommend_action(
    *,
    risk: float,
    price: float,
    unit_cost: float,
    volume_m: float,
    elasticity: float | None,
    plans: dict[str, float] | None = None,
    plan: str | None = None,
    assumptions: OfferAssumptions | None = None,
) -> dict[str, Any]:
    """The action with the largest expected monthly profit effect over holding.

    Args:
        risk: probability of leaving within the horizon.
        price: the customer's price per 1M tokens; unit_cost: its segment's cost per 1M.
        volume_m: monthly volume, millions of tokens.
        elasticity: its segment's elasticity (None: no discount or plan change is priced).
        plans: current list price per plan (a plan change goes to the cheapest one below
            ``price``); plan: the customer's plan.
        assumptions: :class:`OfferAssumptions`.

    Returns:
        ``action``, ``discount`` (share, 0 unless a discount), ``new_plan``, ``new_price``,
        ``profit_hold`` (π₀), ``profit_effect`` (π − π₀), ``reason``.
    """
    a = assumptions or OfferAssumptions()
    eps = 0.0 if elasticity is None else elasticity
    base = dict(risk=risk, price=price, unit_cost=unit_cost, volume_m=volume_m, elasticity=eps)
    hold = offer_profit(**base)
    options: list[tuple[float, str, dict[str, Any]]] = []
    if elasticity is not None and a.max_discount > 0:
        grid = np.arange(a.discount_step, a.max_discount + 1e-12, a.discount_step)
        values = [
            offer_profit(
                **base, discount=float(d), save=a.discount_save * float(d) / a.max_discount
            )
            for d in grid
        ]
        best = int(np.argmax(values))
        d = round(float(grid[best]), 6)
        options.append(
            (values[best] - hold, "discount", {"discount": d, "new_price": price * (1 - d)})
        )
    if elasticity is not None and plans:
        cheaper = {k: v for k, v in plans.items() if k != plan and 0 < v < price}
        if cheaper:
            name = min(cheaper, key=lambda k: (cheaper[k], k))
            value = offer_profit(**base, new_price=cheaper[name], save=a.plan_save)
            options.append(
                (value - hold, "plan change", {"new_plan": name, "new_price": cheaper[name]})
            )
    contact = offer_profit(**base, save=a.contact_save, fixed=a.contact_cost)
    options.append((contact - hold, "contact", {}))
    effect, action, extra = max(options, key=lambda o: o[0])
    out = {
        "action": "hold",
        "discount": 0.0,
        "new_plan": None,
        "new_price": price,
        "profit_hold": hold,
        "profit_effect": 0.0,
        "reason": "no action pays for itself at this risk",
    }
    if effect > 0:
        out.update(extra, action=action, profit_effect=effect, reason=_reason(action, extra))
    return out


def _reason(action: str, extra: dict[str, Any]) -> str:
    if action == "discount":
        return f"discount {extra['discount']:.1%}: keeps more of the margin than it gives away"
    if action == "plan change":
        return f"move to {extra['new_plan']} at ${extra['new_price']:.2f} per 1M tokens"
    return "a customer-success call costs less than the margin it is expected to keep"


def customers_at_risk(
    store: Any,
    *,
    sentiment: str = "gold",
    entities: str | None = None,
    as_of: dt.date | None = None,
    lookback_days: int = 90,
    scenario: Any = None,
    assumptions: OfferAssumptions | None = None,
    all_customers: bool = False,
    signals: Any = None,
) -> pd.DataFrame:
    """Customers active at ``as_of`` scored for risk, with the recommended action.

    Args:
        store: the store.
        sentiment, entities: the sources of the signals (see :func:`risk_panel`).
        as_of: the day scored (default the first day after the last usage month); the model
            is fitted on the months whose horizon ends by then.
        lookback_days: the ticket window of the features.
        scenario: the economics (``analytics.Scenario`` with segments) that prices the
            offers; default ``analytics.default_scenario(store, None, market=False)`` (the
            segments' unit costs and elasticities are all the offers use).
        assumptions: :class:`OfferAssumptions`.
        all_customers: every active customer, not only those at risk.
        signals: :func:`analytics.alerts.ticket_signals` or :func:`analytics.alerts.
            signal_counts` already read.

    Returns:
        Columns :data:`RISK_COLUMNS`, riskiest first: the customer, ``risk`` (probability of
        leaving within ``assumptions.horizon_months``), ``lift`` (÷ the average risk scored),
        the signals behind it, ``volume_m`` (monthly, millions of tokens), ``price_per_m``,
        the segment's ``unit_cost`` and ``elasticity``, and the action: ``action``,
        ``discount``, ``new_plan``, ``new_price``, ``profit_hold`` (expected monthly
        contribution if we do nothing, USD), ``profit_effect`` (expected monthly change,
        USD), ``reason``.

    Raises:
        InsufficientDataError: no usage, or no churn on record to fit the score on.
    """
    a = assumptions or OfferAssumptions()
    _check(a.horizon_months, lookback_days)
    data = _load(store, sentiment, entities, signals)
    if data.usage.empty:
        raise InsufficientDataError("no usage in the store: nothing to score")
    when = (
        pd.Timestamp(as_of)
        if as_of is not None
        else data.usage["month"].max() + pd.DateOffset(months=1)
    )
    months = _months_with_labels(data, a.horizon_months, when)
    _prepare_features(data, [*months, when], lookback_days)
    panel = risk_panel(
        store,
        horizon_months=a.horizon_months,
        lookback_days=lookback_days,
        months=months,
        _data=data,
    )
    model = fit_risk_model(panel)
    now = _features_at(data, when, lookback_days)
    if now.empty:
        return pd.DataFrame(columns=list(RISK_COLUMNS))
    now["risk"] = model.predict(now)
    now["lift"] = now["risk"] / now["risk"].mean()
    if not all_customers:
        now = now[now["lift"] >= a.min_lift]
    segments, plans = _economics(store, scenario)
    rows = []
    for r in now.itertuples():
        seg = segments.get(r.segment)
        cost, eps = seg if seg is not None else (float("nan"), None)
        rec = (
            recommend_action(
                risk=float(r.risk),
                price=float(r.price_per_m),
                unit_cost=cost,
                volume_m=float(r.volume_m),
                elasticity=eps,
                plans=plans,
                plan=r.plan,
                assumptions=a,
            )
            if seg is not None
            else {
                "action": "contact",
                "discount": 0.0,
                "new_plan": None,
                "new_price": float(r.price_per_m),
                "profit_hold": float("nan"),
                "profit_effect": float("nan"),
                "reason": "the economics have no curve for this segment: talk to them",
            }
        )
        rows.append({**r._asdict(), "unit_cost": cost, "elasticity": eps, **rec})
    out = pd.DataFrame(
        rows,
        columns=[
            *now.columns,
            "unit_cost",
            "elasticity",
            "action",
            "discount",
            "new_plan",
            "new_price",
            "profit_hold",
            "profit_effect",
            "reason",
        ],
    )
    out = out.sort_values(["risk", "customer_id"], ascending=[False, True])
    return out.reset_index(drop=True)[list(RISK_COLUMNS)]


def _economics(
    store: Any, scenario: Any
) -> tuple[dict[str, tuple[float, float]], dict[str, float]]:
    """(segment → (unit cost, elasticity)) from the scenario, and plan → current list price."""
    from analytics.inputs import current_prices

    if scenario is None:
        from analytics.defaults import default_scenario

        scenario = default_scenario(store, None, market=False)  # costs and elasticities only
    segments = {
        g.name: (float(scenario.unit_cost(g)), float(scenario.used_elasticity(g)[0]))
        for g in scenario.segments
    }
    prices = current_prices(store)
    plans = {str(p): float(v) for p, v in zip(prices["plan"], prices["price_per_m"], strict=True)}
    return segments, plans


def offer_assumptions_text(assumptions: Any = None) -> str:
    """What the recommended actions' profit effects assume, in one paragraph
    (``analytics.risk.OfferAssumptions``, the defaults when None)."""
    a = assumptions or OfferAssumptions()
    return (
        f"Profit effects are expected contributions per month (USD) against doing "
        f"nothing, with the customer counted as lost when it churns. They assume, since "
        f"nothing in the store measures how customers answer an offer: a discount at its "
        f"cap of {a.max_discount:.0%} removes {a.discount_save:.0%} of the risk (less in "
        f"proportion below the cap) and moves volume by the segment's elasticity; a move "
        f"to a cheaper plan removes {a.plan_save:.0%}; a customer-success contact removes "
        f"{a.contact_save:.0%} and costs ${a.contact_cost:,.0f}. Costs per token are the "
        f'segment\'s from the pricing model. "At risk" means a risk at least '
        f"{a.min_lift:g}× the average of the customers scored."
    )
