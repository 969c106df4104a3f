"""The features of the churn-risk score: one row per active customer and as-of month,
read from the store's usage, tickets and signals (:func:`risk_panel`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analytics.risk.model import FEATURES

#: Months of usage an as-of month needs before it (for the trend) to enter the panel.
HISTORY_MONTHS = 4


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
    #: :func:`features_at` already computed, by (as-of day, lookback)
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
        # per usage row, once: its customer's row of the customers table and its code
        # among the customers with tickets (-1: none)
        data.arrays.update(
            u_at=data.arrays["c_index"].get_indexer(data.arrays["u_customer"]),
            u_code=customers.get_indexer(data.arrays["u_customer"]),
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


def month_start(day: dt.date | pd.Timestamp) -> pd.Timestamp:
    """The first day of ``day``'s month (midnight)."""
    return pd.Timestamp(day).to_period("M").to_timestamp()


def load_data(store: Any, sentiment: str, entities: str | None, signals: Any) -> _Data:
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


def features_at(data: _Data, as_of: pd.Timestamp, lookback_days: int) -> pd.DataFrame:
    """Features of the customers active at ``as_of`` (usage in the month before); a copy of
    the frame computed once per ``data``."""
    prepare_features(data, [as_of], lookback_days)
    return data.features[(pd.Timestamp(as_of), int(lookback_days))].copy()


def prepare_features(data: _Data, days: Sequence[Any], lookback_days: int) -> None:
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
    means = _usage_means(data, [month_start(d) for d in todo])
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


_NO_MEANS = (np.nan, np.nan)  # a customer without usage in the 6 months before


def _compute_features(
    data: _Data,
    as_of: pd.Timestamp,
    lookback_days: int,
    means: dict[tuple[pd.Timestamp, str], tuple[float, float]],
) -> pd.DataFrame:
    m = month_start(as_of)
    prev = m - pd.DateOffset(months=1)
    a = _columns(data)
    last = np.flatnonzero(a["u_month"] == np.datetime64(prev))  # in usage order
    if not last.size:
        return pd.DataFrame()
    ids = a["u_customer"][last]
    at = a["u_at"][last]
    if (at < 0).any():
        raise KeyError(f"customers not in the customers table: {list(ids[at < 0])[:5]}")
    pairs = [means.get((m, c), _NO_MEANS) for c in ids]
    recent, before = np.array(pairs, dtype=float).reshape(len(ids), 2).T
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
    codes = a["u_code"][last]
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
    names = np.append(vendors.to_numpy(object), np.nan)  # the last: no vendor named
    picked = (codes >= 0) & named_any[np.maximum(codes, 0)].any(axis=1)
    top_code = (
        np.where(picked, best[np.maximum(codes, 0)], len(vendors))
        if len(vendors)
        else (np.full(len(codes), 0))
    )
    top = names[top_code]
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
    deep = deepest[np.maximum(codes, 0)]
    f["mentioned_cut"] = np.where((codes >= 0) & (deep > -np.inf), deep, 0.0).astype(float)
    f["market_cut"] = max(window.values(), default=0.0)
    f["log_negative"] = np.log1p(f["negative_tickets"])
    f["log_competitor"] = np.log1p(f["competitor_tickets"])
    f["log_tickets"] = np.log1p(f["tickets"])
    f["as_of"] = as_of.date()
    f["churn_month"] = pd.Series(a["c_churn"][at], dtype=object)
    return pd.DataFrame(f)


def _label(frame: pd.DataFrame, horizon_months: int) -> pd.Series:
    m = pd.to_datetime(frame["as_of"]).dt.to_period("M").dt.to_timestamp()
    churn = pd.to_datetime(frame["churn_month"])
    return (churn >= m) & (churn < m + pd.DateOffset(months=horizon_months))


def check_window(horizon_months: int, lookback_days: int) -> None:
    """Refuse a horizon or a ticket window that is not a whole number of at least 1.

    Raises:
        ValueError: naming the argument and the value given.
    """
    if int(horizon_months) != horizon_months or horizon_months < 1:
        raise ValueError(f"horizon_months must be a whole number >= 1, got {horizon_months!r}")
    if int(lookback_days) != lookback_days or lookback_days < 1:
        raise ValueError(f"lookback_days must be a whole number >= 1, got {lookback_days!r}")


def months_with_labels(
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
        stop = min(stop, month_start(before) - pd.DateOffset(months=horizon_months))
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
    check_window(horizon_months, lookback_days)
    data = _data or load_data(store, sentiment, entities, signals)
    when = (
        [pd.Timestamp(m) for m in months]
        if months is not None
        else months_with_labels(data, horizon_months, None)
    )
    prepare_features(data, when, lookback_days)
    frames = [f for m in when if not (f := features_at(data, m, lookback_days)).empty]
    if not frames:
        return pd.DataFrame(columns=["customer_id", "as_of", *FEATURES, "churned"])
    panel = pd.concat(frames, ignore_index=True)
    panel["churned"] = _label(panel, horizon_months)
    return panel
