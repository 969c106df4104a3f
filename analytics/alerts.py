"""Surge alerts: negative-ticket share per day or week, per segment, region, plan, product and
competitor mentioned, and a stated statistical rule for a surge.

**Sentiment source.** ``sentiment="gold"`` reads the generator's gold labels
(``gold_sentiment``, demo data); any other value is a model id whose labels are read from
``ticket_sentiment``. Entities (products, competitors) come from ``entities`` of the model id
``entities`` (default: the sentiment's model; ``"gold"`` = ``gold_entities``). Tickets
without a sentiment label are left out of every count. A ticket mentions a competitor when
one of its entities names it by ``data.reference.match_competitor`` (the one rule of
``analytics.signals.competitor_entities``); a product is a PRODUCT entity that names no
competitor, grouped case-insensitively.

**The rule** (one-sided beta-binomial control limit; :func:`surge_p_value`). It counts
*customers*, not tickets: a customer filing five tickets about one incident is one unhappy
customer (tickets without a customer count one each). For a scope s (say region "Europe")
and a period t (a day or an ISO week):

* x = customers of s with a negative ticket in t; n = customers with any ticket in t (every
  scope: the exposure, so the weekly rhythm and the growth of ticket volume cancel out);
* baseline: the ``baseline`` periods before t (28 days or 8 weeks), holding b_x and b_n
  such customer-periods;
* under "no surge" the share of ticket-filing customers who are unhappy customers of s is
  the baseline's, estimated with a Jeffreys prior: π ~ Beta(½ + b_x, ½ + b_n − b_x), so
  x ~ BetaBinomial(n, ½ + b_x, ½ + b_n − b_x) (this carries the baseline's own uncertainty:
  a sparse baseline needs a bigger excess);
* **alarm** when P(X ≥ x) ≤ α (default 0.001), x ≥ ``min_negative`` (3 customers) and the
  baseline holds at least ``min_baseline_tickets`` (30) customer-periods. Equivalently x
  reaches the control limit ``control_limit(n, b_x, b_n, α)``, the smallest k with
  P(X ≥ k) ≤ α.

It catches both kinds of surge: more unhappy customers in a scope because more of its
customers are unhappy, and because a burst of extra customers writes in. Alarmed periods of
a series no more than ``merge_gap`` periods apart form one alert (an episode).

**Assumptions.** Given the baseline share, customers are independent (one incident that hits
many customers at once is exactly what should alarm); the share is stable over baseline +
one period (slow trends are followed by the trailing window; a sudden lasting shift alarms
until the window has absorbed it, then stops); the labels are right (a model's errors add
noise but no bias between periods unless its error rate changes).

**False-alarm rate.** Under these assumptions each test alarms with probability at most α
(:data:`STATED_FALSE_ALARM_RATE`; less in practice, counts being discrete). Many series are
tested every period, so expect about α × (series × periods) false alarms in all.
:func:`false_alarm_rate` measures it on periods known to be quiet (the demo's: every day
outside its planted surges and their effects).

Example:
    >>> round(float(surge_p_value(2, 2, 0, 0)), 3)   # Beta(½, ½) prior: P(X = 2) = 3/8
    0.375
    >>> control_limit(20, base_negative=10, base_tickets=100, alpha=0.001)
    9
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special, stats

__all__ = [
    "SignalSource",
    "signal_source",
    "ALERT_COLUMNS",
    "DIMENSIONS",
    "GOLD",
    "STATED_FALSE_ALARM_RATE",
    "FalseAlarmReport",
    "SurgeRule",
    "control_limit",
    "false_alarm_rate",
    "negative_share",
    "surge_alerts",
    "surge_p_value",
    "surge_scan",
    "ticket_signals",
]

GOLD = "gold"  # the sentiment (and entity) source of the generator's ground truth
#: Scopes a surge is looked for in ("all" = every ticket).
DIMENSIONS: tuple[str, ...] = ("all", "segment", "region", "plan", "product", "competitor")
FREQS = ("day", "week")
#: The false-alarm rate the rule promises per series and period (its default α).
STATED_FALSE_ALARM_RATE = 0.001
#: Columns of :func:`surge_alerts`.
ALERT_COLUMNS: tuple[str, ...] = (
    "alert", "dimension", "value", "freq", "since", "last", "periods", "open", "tickets",
    "negative", "customers", "share", "rate", "baseline_rate", "expected", "p_value",
    "entities", "ticket_keys", "rule")
_SCAN_COLUMNS = ["period", "dimension", "value", "tickets", "negative_tickets", "negative",
                 "exposure", "base_negative", "base_exposure", "expected", "p_value", "limit",
                 "tested", "alarm"]


@dataclass(frozen=True)
class SurgeRule:
    """Parameters of the surge rule (see the module docstring).

    Attributes:
        alpha: one-sided level of each test: the stated false-alarm rate per series and period.
        baseline_days, baseline_weeks: length of the trailing baseline for days and weeks.
        min_negative: fewest unhappy customers of the scope in a period to alarm.
        min_baseline_tickets: fewest customer-periods with tickets in the baseline to test
            at all.
        merge_gap: alarmed periods at most this many periods apart form one alert.
        open_periods: an alert is open when its last alarmed period is at most this many
            periods before the last period of the data (or ``as_of``).
        prior: the Beta prior's two parameters (½: Jeffreys).
    """

    alpha: float = STATED_FALSE_ALARM_RATE
    baseline_days: int = 28
    baseline_weeks: int = 8
    min_negative: int = 3
    min_baseline_tickets: int = 30
    merge_gap: int = 2
    open_periods: int = 2
    prior: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 0.5:
            raise ValueError(f"alpha must be between 0 and 0.5, got {self.alpha!r}")
        for name in ("baseline_days", "baseline_weeks", "min_negative"):
            if int(getattr(self, name)) != getattr(self, name) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got "
                                 f"{getattr(self, name)!r}")
        for name in ("min_baseline_tickets", "merge_gap", "open_periods"):
            if int(getattr(self, name)) != getattr(self, name) or getattr(self, name) < 0:
                raise ValueError(f"{name} must be a whole number >= 0, got "
                                 f"{getattr(self, name)!r}")
        if not self.prior > 0:
            raise ValueError(f"prior must be > 0, got {self.prior!r}")

    def baseline(self, freq: str) -> int:
        """Baseline length in periods of ``freq``."""
        return self.baseline_days if _freq(freq) == "day" else self.baseline_weeks

    def describe(self, freq: str) -> str:
        """The rule in one line (what an alert row's ``rule`` says)."""
        unit = "days" if _freq(freq) == "day" else "weeks"
        return (f"one-sided beta-binomial test of the scope's customers with a negative "
                f"ticket per customer writing in, against the previous {self.baseline(freq)} "
                f"{unit}: alarm when P(X >= x) <= {self.alpha:g} and x >= "
                f"{self.min_negative}; stated false-alarm rate {self.alpha:g} per series "
                f"and {freq}")


def _freq(freq: str) -> str:
    if freq not in FREQS:
        raise ValueError(f"freq must be one of {', '.join(FREQS)}; got {freq!r}")
    return freq


def _counts(name: str, value: ArrayLike) -> np.ndarray:
    a = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(a)) or np.any(a < 0) or np.any(a != np.round(a)):
        raise ValueError(f"{name} must be whole numbers >= 0")
    return a


def surge_p_value(negative: ArrayLike, tickets: ArrayLike, base_negative: ArrayLike,
                  base_tickets: ArrayLike, prior: float = 0.5) -> np.ndarray:
    """P(X ≥ negative) for X ~ BetaBinomial(tickets, prior + base_negative,
    prior + base_tickets − base_negative): how surprising ``negative`` negative tickets
    among ``tickets`` received are, given the baseline. Broadcasts; 1 where ``negative``
    is 0.

    Raises:
        ValueError: counts that are negative or not whole, ``negative > tickets`` or
            ``base_negative > base_tickets``, ``prior <= 0``.

    Example:
        >>> round(float(surge_p_value(1, 1, 0, 0)), 3)
        0.5
    """
    x, n = _counts("negative", negative), _counts("tickets", tickets)
    bx, bn = _counts("base_negative", base_negative), _counts("base_tickets", base_tickets)
    if np.any(x > n):
        raise ValueError("negative cannot exceed tickets")
    if np.any(bx > bn):
        raise ValueError("base_negative cannot exceed base_tickets")
    if not prior > 0:
        raise ValueError(f"prior must be > 0, got {prior!r}")
    x, n, bx, bn = np.broadcast_arrays(x, n, bx, bn)
    p = np.ones(x.shape)
    pos = x > 0
    p[pos] = stats.betabinom.sf(x[pos] - 1, n[pos], prior + bx[pos], prior + bn[pos] - bx[pos])
    return np.clip(p, 0.0, 1.0)


def control_limit(tickets: int, base_negative: int, base_tickets: int, alpha: float,
                  prior: float = 0.5) -> int:
    """The smallest count k with P(X ≥ k) ≤ ``alpha`` (``tickets + 1`` when none): an alarm
    needs at least k negative tickets of the scope among ``tickets`` received.

    Example:
        >>> control_limit(1, 0, 0, alpha=0.4)   # one ticket can never be that surprising
        2
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    n = int(_counts("tickets", tickets))
    ks = np.arange(1, n + 1)
    p = surge_p_value(ks, n, base_negative, base_tickets, prior)
    below = np.nonzero(p <= alpha)[0]
    return int(ks[below[0]]) if below.size else n + 1


# -- the tickets with their signals ---------------------------------------------------------


def _sentiment_sql(sentiment: str) -> tuple[str, list[Any]]:
    if not isinstance(sentiment, str) or not sentiment.strip():
        raise ValueError("sentiment must be 'gold' or a model id")
    if sentiment == GOLD:
        return "SELECT ticket_key, label FROM gold_sentiment", []
    return "SELECT ticket_key, label FROM ticket_sentiment WHERE model_id = ?", [sentiment]


def _entity_sql(entities: str) -> tuple[str, list[Any]]:
    if entities == GOLD:
        return "SELECT ticket_key, text, label FROM gold_entities", []
    return "SELECT ticket_key, text, label FROM entities WHERE model_id = ?", [entities]


def _period_sql(start: dt.date | None, end: dt.date | None) -> tuple[str, list[Any]]:
    sql, params = "", []
    if start is not None:
        sql += " AND t.created_at >= ?"
        params.append(pd.Timestamp(start).to_pydatetime())
    if end is not None:  # end is a day: include all of it
        sql += " AND t.created_at < ?"
        params.append((pd.Timestamp(end) + pd.Timedelta(days=1)).to_pydatetime())
    return sql, params


def ticket_signals(
    store: Any, *, sentiment: str = GOLD, entities: str | None = None,
    start: dt.date | None = None, end: dt.date | None = None,
) -> pd.DataFrame:
    """Every ticket with a sentiment label, with what the alerts count.

    Args:
        store: the store.
        sentiment: ``"gold"`` or the model id whose ``ticket_sentiment`` labels count.
        entities: the model id of the entities (``"gold"``: gold spans); default the
            sentiment's source.
        start, end: first and last day (inclusive) of ``created_at``.

    Returns:
        Columns ``ticket_key``, ``created_at``, ``day`` (date), ``customer_id``, ``segment``,
        ``region``, ``plan`` (None for tickets of unknown customers), ``label``,
        ``negative`` (bool), ``products`` and ``competitors`` (tuples of names, sorted).
    """
    from analytics.signals import MATCH_TABLE_SQL, match_params

    sent_sql, sent_params = _sentiment_sql(sentiment)
    entities = entities or sentiment
    ent_sql, ent_params = _entity_sql(entities)
    where, where_params = _period_sql(start, end)
    base = store.query(
        f"WITH s AS ({sent_sql})"  # noqa: S608 - fixed fragments; values are parameters
        " SELECT t.ticket_key, t.created_at, CAST(t.created_at AS DATE) AS day, t.customer_id,"
        " c.segment, c.region, c.plan, s.label, s.label = 'negative' AS negative"
        " FROM tickets t JOIN s ON s.ticket_key = t.ticket_key"
        " LEFT JOIN customers c ON c.customer_id = t.customer_id"
        f" WHERE t.created_at IS NOT NULL{where} ORDER BY t.created_at, t.ticket_key",
        [*sent_params, *where_params])
    columns = ["ticket_key", "created_at", "day", "customer_id", "segment", "region", "plan",
               "label", "negative", "products", "competitors"]
    if base.empty:
        return pd.DataFrame(columns=columns)
    hits = store.query(
        f"WITH a AS ({MATCH_TABLE_SQL}), ent AS ({ent_sql}),"  # noqa: S608 - fixed fragments; values are parameters
        f" s AS ({sent_sql})"
        " SELECT DISTINCT ent.ticket_key, ent.label, ent.text, a.vendor FROM ent"
        " JOIN s ON s.ticket_key = ent.ticket_key"
        " LEFT JOIN a ON a.text = ent.text AND a.label = ent.label"
        " WHERE a.vendor IS NOT NULL OR ent.label = 'PRODUCT'",
        [*match_params(store, entities), *ent_params, *sent_params])
    comp = hits.dropna(subset=["vendor"])
    prod = hits[hits["vendor"].isna() & (hits["label"] == "PRODUCT")].copy()
    prod["key"] = prod["text"].str.strip().str.lower()
    names = (prod.groupby(["key", "text"]).size().reset_index(name="k")
             .sort_values(["key", "k", "text"], ascending=[True, False, True])
             .drop_duplicates("key").set_index("key")["text"])
    prod["name"] = prod["key"].map(names)

    def per_ticket(frame: pd.DataFrame, col: str) -> pd.Series:
        return frame.groupby("ticket_key")[col].agg(lambda v: tuple(sorted(set(v))))

    out = base.copy()
    out["day"] = pd.to_datetime(out["day"]).dt.date
    empty: tuple[str, ...] = ()
    out["products"] = out["ticket_key"].map(per_ticket(prod, "name")).apply(
        lambda v: v if isinstance(v, tuple) else empty)
    out["competitors"] = out["ticket_key"].map(per_ticket(comp, "vendor")).apply(
        lambda v: v if isinstance(v, tuple) else empty)
    out["negative"] = out["negative"].astype(bool)
    return out[columns]


def _period_of(days: pd.Series, freq: str) -> pd.Series:
    d = pd.to_datetime(days)
    if freq == "week":
        d = d - pd.to_timedelta(d.dt.day_of_week, unit="D")  # the Monday of its ISO week
    return d.dt.date


def _calendar(first: dt.date, last: dt.date, freq: str) -> pd.DatetimeIndex:
    step = "D" if freq == "day" else "7D"
    if freq == "week":
        first = first - dt.timedelta(days=first.weekday())
    return pd.date_range(first, last, freq=step)


def _long(signals: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """One row per (ticket, value of ``dimension``) — a ticket naming two competitors counts
    once for each."""
    if dimension == "all":
        return signals.assign(value="all")
    if dimension in ("products", "competitors", "product", "competitor"):
        col = "products" if dimension.startswith("product") else "competitors"
        return signals.explode(col).dropna(subset=[col]).assign(value=lambda d: d[col])
    return signals.dropna(subset=[dimension]).assign(value=lambda d: d[dimension])


def _dimensions(dimensions: Sequence[str] | str) -> tuple[str, ...]:
    dims = (dimensions,) if isinstance(dimensions, str) else tuple(dimensions)
    bad = [d for d in dims if d not in DIMENSIONS]
    if bad or not dims:
        raise ValueError(f"dimensions must be among {', '.join(DIMENSIONS)}; got {bad or dims}")
    return dims


def negative_share(signals: pd.DataFrame, *, freq: str = "day",
                   dimension: str = "all") -> pd.DataFrame:
    """Negative share per period and value of a dimension (the trend charts).

    Args:
        signals: :func:`ticket_signals`.
        freq: ``"day"`` or ``"week"`` (weeks start on Monday).
        dimension: one of :data:`DIMENSIONS`.

    Returns:
        Columns ``period`` (date), ``dimension``, ``value``, ``tickets``, ``negative``,
        ``share`` (negative ÷ tickets of the value); periods without tickets are left out.
    """
    freq, (dimension,) = _freq(freq), _dimensions(dimension)
    cols = ["period", "dimension", "value", "tickets", "negative", "share"]
    if signals.empty:
        return pd.DataFrame(columns=cols)
    long = _long(signals, dimension).assign(period=lambda d: _period_of(d["day"], freq))
    g = long.groupby(["period", "value"])["negative"].agg(["size", "sum"]).reset_index()
    g.columns = ["period", "value", "tickets", "negative"]
    g["dimension"] = dimension
    g["negative"] = g["negative"].astype(int)
    g["share"] = g["negative"] / g["tickets"]
    return g[cols].sort_values(["dimension", "value", "period"]).reset_index(drop=True)


def surge_scan(
    signals: pd.DataFrame, *, freq: str = "day", rule: SurgeRule | None = None,
    dimensions: Sequence[str] = DIMENSIONS, end: dt.date | None = None,
) -> pd.DataFrame:
    """Every test of the rule: one row per series (dimension, value) and period.

    Args:
        signals: :func:`ticket_signals`.
        freq: ``"day"`` or ``"week"``.
        rule: the rule (default :class:`SurgeRule`).
        dimensions: which of :data:`DIMENSIONS` to scan.
        end: last day of the calendar (default the last ticket's day).

    Returns:
        Columns ``period`` (date: the day, or the Monday of the week), ``dimension``,
        ``value``, ``tickets`` and ``negative_tickets`` (of the value), ``negative`` (x:
        customers of the value with a negative ticket), ``exposure`` (n: customers with any
        ticket), ``base_negative`` and ``base_exposure`` (b_x, b_n), ``expected`` (the
        baseline's expected x), ``p_value``, ``limit`` (the control limit for n),
        ``tested`` (the baseline is big enough and n > 0), ``alarm``.
    """
    freq, dims = _freq(freq), _dimensions(dimensions)
    rule = rule or SurgeRule()
    if signals.empty:
        return pd.DataFrame(columns=_SCAN_COLUMNS)
    last = end or max(signals["day"])
    cal = _calendar(min(signals["day"]), last, freq)
    periods = pd.Index(cal.date)
    sig = _with_units(signals).assign(period=_period_of(signals["day"], freq))
    exposure = (sig.groupby("period")["unit"].nunique().reindex(periods, fill_value=0)
                .to_numpy(float))
    b = rule.baseline(freq)
    base_n = _trailing(exposure, b)
    frames = []
    for dim in dims:
        long = _long(sig, dim)
        if long.empty:
            continue
        tickets = (long.groupby(["period", "value"]).size().unstack(fill_value=0)
                   .reindex(index=periods, fill_value=0))
        unhappy = long[long["negative"]].groupby(["period", "value"])
        neg_t = (unhappy.size().unstack(fill_value=0)
                 .reindex(index=periods, columns=tickets.columns, fill_value=0))
        neg = (unhappy["unit"].nunique().unstack(fill_value=0)
               .reindex(index=periods, columns=tickets.columns, fill_value=0))
        x = neg.to_numpy(float)
        base_x = _trailing(x, b)
        n = np.broadcast_to(exposure[:, None], x.shape)
        bn = np.broadcast_to(base_n[:, None], x.shape)
        p = surge_p_value(x, n, base_x, bn, rule.prior)
        tested = (n > 0) & (bn >= rule.min_baseline_tickets)
        alarm = tested & (p <= rule.alpha) & (x >= rule.min_negative)
        expected = n * (rule.prior + base_x) / (2 * rule.prior + bn)
        values = tickets.columns.to_numpy()
        k, j = np.meshgrid(np.arange(len(periods)), np.arange(len(values)), indexing="ij")
        frames.append(pd.DataFrame({
            "period": periods.to_numpy()[k.ravel()], "dimension": dim,
            "value": values[j.ravel()], "tickets": tickets.to_numpy()[k, j].ravel(),
            "negative_tickets": neg_t.to_numpy()[k, j].ravel(), "negative": x.ravel().astype(int), "exposure": n.ravel().astype(int),
            "base_negative": base_x.ravel().astype(int), "base_exposure": bn.ravel().astype(int),
            "expected": expected.ravel(), "p_value": p.ravel(), "tested": tested.ravel(),
            "alarm": alarm.ravel()}))
    if not frames:
        return pd.DataFrame(columns=_SCAN_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    out["limit"] = _limits(out, rule)
    return out[_SCAN_COLUMNS]


def _with_units(signals: pd.DataFrame) -> pd.DataFrame:
    """``unit``: who wrote the ticket (its customer; the ticket itself when unknown)."""
    return signals.assign(unit=signals["customer_id"].where(signals["customer_id"].notna(),
                                                           signals["ticket_key"]))


def _trailing(a: np.ndarray, b: int) -> np.ndarray:
    """Sum of the ``b`` rows before each row (fewer at the start)."""
    c = np.concatenate([np.zeros((1, *a.shape[1:])), np.cumsum(a, axis=0)])
    idx = np.arange(a.shape[0])
    return c[idx] - c[np.maximum(idx - b, 0)]


def _limits(scan: pd.DataFrame, rule: SurgeRule) -> np.ndarray:
    """Control limits of the tested rows (0 elsewhere): the same number as
    :func:`control_limit`, from one log-space table of beta-binomial tails per distinct input."""
    out = np.zeros(len(scan), dtype=int)
    rows = scan[scan["tested"]]
    if rows.empty:
        return out
    keys = rows[["exposure", "base_negative", "base_exposure"]].drop_duplicates()
    n_all, bx_all, bn_all = (keys[c].to_numpy(float) for c in keys.columns)
    limits = np.empty(len(keys), dtype=int)
    width = int(n_all.max()) + 1
    chunk = max(1, 2_000_000 // width)
    k = np.arange(width, dtype=float)[None, :]
    for lo in range(0, len(keys), chunk):
        n = n_all[lo:lo + chunk, None]
        a = rule.prior + bx_all[lo:lo + chunk, None]
        b = rule.prior + bn_all[lo:lo + chunk, None] - bx_all[lo:lo + chunk, None]
        valid = k <= n
        kk = np.where(valid, k, 0.0)
        logpmf = (special.gammaln(n + 1) - special.gammaln(kk + 1) - special.gammaln(n - kk + 1)
                  + special.betaln(kk + a, n - kk + b) - special.betaln(a, b))
        pmf = np.where(valid, np.exp(logpmf), 0.0)
        tail = np.cumsum(pmf[:, ::-1], axis=1)[:, ::-1]  # tail[:, j] = P(X >= j)
        ok = (tail <= rule.alpha) & valid & (k >= 1)
        first = np.where(ok.any(axis=1), ok.argmax(axis=1), n[:, 0] + 1)
        limits[lo:lo + chunk] = first
    lim = dict(zip(map(tuple, keys.to_numpy(int)), limits, strict=True))
    out[rows.index.to_numpy()] = [lim[(a, b_, c)] for a, b_, c in zip(
        rows["exposure"], rows["base_negative"], rows["base_exposure"], strict=True)]
    return out


def _episodes(alarms: pd.DataFrame, freq: str, merge_gap: int) -> list[pd.DataFrame]:
    """Alarmed rows of one series grouped into episodes (gaps of at most ``merge_gap``)."""
    step = 1 if freq == "day" else 7
    days = pd.to_datetime(alarms["period"]).to_numpy()
    gaps = np.diff(days).astype("timedelta64[D]").astype(int) // step - 1
    cut = np.concatenate([[0], np.cumsum(gaps > merge_gap)])
    return [g for _, g in alarms.groupby(cut)]


def surge_alerts(
    store: Any, *, sentiment: str = GOLD, entities: str | None = None, freq: str = "day",
    rule: SurgeRule | None = None, dimensions: Sequence[str] = DIMENSIONS,
    start: dt.date | None = None, as_of: dt.date | None = None, open_only: bool = True,
    signals: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The surge alerts: open ones by default, every one with ``open_only=False``.

    Args:
        store: the store.
        sentiment: ``"gold"`` or a model id (see :func:`ticket_signals`).
        entities: the entities' model id (default the sentiment's source).
        freq: ``"day"`` or ``"week"``.
        rule: the rule (default :class:`SurgeRule`).
        dimensions: scopes to scan (default all of :data:`DIMENSIONS`).
        start: first day of data read (the baseline needs the weeks before what you watch).
        as_of: the last day of data read and the day "open" is judged on (default the last
            ticket's day).
        open_only: only alerts still open on ``as_of``.
        signals: :func:`ticket_signals` already read (then ``store`` is only used for the
            entities of the alerts' tickets).

    Returns:
        One row per alert, newest first, columns :data:`ALERT_COLUMNS`: ``alert`` (what, in
        words), ``dimension`` and ``value`` (where), ``freq``, ``since`` and ``last`` (first
        and last alarmed period), ``periods`` (alarmed periods), ``open``, ``tickets`` and
        ``negative`` (tickets of the scope, all and negative, from ``since`` to the end of
        ``last``), ``customers`` (distinct customers among the negative ones), ``share``
        (negative ÷ tickets), ``rate`` (the rule's x ÷ n summed over those periods: unhappy
        customers of the scope per customer writing in), ``baseline_rate`` (the same in the
        baseline of the first alarm), ``expected`` (unhappy customers expected in the
        alarmed periods), ``p_value`` (the smallest),
        ``entities`` (the entities most named by its negative tickets, "text ×count; …"),
        ``ticket_keys`` (its negative tickets, oldest first), ``rule`` (the rule in words).
    """
    freq = _freq(freq)
    rule = rule or SurgeRule()
    if signals is None:
        signals = ticket_signals(store, sentiment=sentiment, entities=entities, start=start,
                                 end=as_of)
    scan = surge_scan(signals, freq=freq, rule=rule, dimensions=dimensions, end=as_of)
    if scan.empty or not scan["alarm"].any():
        return pd.DataFrame(columns=list(ALERT_COLUMNS))
    step = dt.timedelta(days=1 if freq == "day" else 7)
    last_period = max(scan["period"])
    sig = _with_units(signals).assign(period=_period_of(signals["day"], freq))
    rows = []
    for (dim, value), series in scan.groupby(["dimension", "value"], sort=False):
        alarms = series[series["alarm"]]
        if alarms.empty:
            continue
        scope = _long(sig, dim)
        scope = scope[scope["value"] == value]
        for ep in _episodes(alarms, freq, rule.merge_gap):
            since, last = ep["period"].min(), ep["period"].max()
            span = series[(series["period"] >= since) & (series["period"] <= last)]
            inside = scope[(scope["period"] >= since) & (scope["period"] <= last)]
            first = ep.iloc[0]
            unhappy = inside[inside["negative"]]
            neg_keys = unhappy["ticket_key"].drop_duplicates()
            is_open = last >= last_period - rule.open_periods * step
            rows.append({
                "alert": f"negative surge: {dim} {value}" if dim != "all"
                else "negative surge: all tickets",
                "dimension": dim, "value": value, "freq": freq, "since": since, "last": last,
                "periods": len(ep), "open": bool(is_open),
                "tickets": int(span["tickets"].sum()),
                "negative": int(span["negative_tickets"].sum()),
                "customers": int(unhappy["unit"].nunique()),
                "share": float(span["negative_tickets"].sum() / max(span["tickets"].sum(), 1)),
                "rate": float(span["negative"].sum() / max(span["exposure"].sum(), 1)),
                "baseline_rate": float(first["base_negative"] / max(first["base_exposure"], 1)),
                "expected": float(ep["expected"].sum()), "p_value": float(ep["p_value"].min()),
                "ticket_keys": tuple(neg_keys), "rule": rule.describe(freq)})
    alerts = pd.DataFrame(rows)
    if open_only:
        alerts = alerts[alerts["open"]]
    if alerts.empty:
        return pd.DataFrame(columns=list(ALERT_COLUMNS))
    alerts = alerts.assign(entities=_top_entities(store, alerts["ticket_keys"],
                                                  entities or sentiment))
    alerts = alerts.sort_values(["since", "dimension", "value"], ascending=[False, True, True])
    return alerts.reset_index(drop=True)[list(ALERT_COLUMNS)]


def _top_entities(store: Any, keys: pd.Series, entities: str, top: int = 5) -> list[str]:
    """Per alert, its tickets' most named entities as ``"text ×count; …"``."""
    everything = sorted({k for ks in keys for k in ks})
    if not everything:
        return ["" for _ in keys]
    ent_sql, ent_params = _entity_sql(entities)
    ents = store.query(
        f"WITH ent AS ({ent_sql}) SELECT DISTINCT ticket_key, text FROM ent"  # noqa: S608 - fixed fragments; values are parameters
        " WHERE ticket_key IN (SELECT unnest(?::VARCHAR[]))", [*ent_params, everything])
    by_ticket = ents.groupby("ticket_key")["text"].agg(list).to_dict()
    out = []
    for ks in keys:
        counts = pd.Series([t for k in ks for t in by_ticket.get(k, [])], dtype="object")
        vc = counts.value_counts(sort=False).reset_index()
        if vc.empty:
            out.append("")
            continue
        vc.columns = ["text", "n"]
        vc = vc.sort_values(["n", "text"], ascending=[False, True]).head(top)
        out.append("; ".join(f"{t} ×{n}" for t, n in zip(vc["text"], vc["n"], strict=True)))
    return out


@dataclass(frozen=True)
class FalseAlarmReport:
    """False alarms of a scan on quiet periods.

    Attributes:
        tests: tested (series, period) pairs in the quiet periods.
        alarms: how many of them alarmed.
        rate: alarms ÷ tests (compare with the rule's α).
        quiet_periods: periods counted as quiet.
        alarms_per_30_days: alarms in all series together per 30 quiet days.
        alarmed: the alarmed rows (period, dimension, value, p_value).
    """

    tests: int
    alarms: int
    rate: float
    quiet_periods: int
    alarms_per_30_days: float
    alarmed: pd.DataFrame = field(repr=False)


def false_alarm_rate(scan: pd.DataFrame,
                     busy: Iterable[tuple[dt.date, dt.date]] = ()) -> FalseAlarmReport:
    """Measure the false alarms of :func:`surge_scan` on the periods outside ``busy``.

    Args:
        scan: :func:`surge_scan` output.
        busy: (first, last) days (inclusive) that are not quiet: known surges and their
            effects. A week is busy when any of its days is.
    """
    cols = ["period", "dimension", "value", "p_value"]
    if scan.empty:
        return FalseAlarmReport(0, 0, 0.0, 0, 0.0, pd.DataFrame(columns=cols))
    periods = pd.Series(sorted(set(scan["period"])))
    weekly = len(periods) > 1 and (periods.iloc[1] - periods.iloc[0]).days == 7
    width = dt.timedelta(days=6 if weekly else 0)
    quiet = pd.Series(True, index=periods.to_numpy())
    for lo, hi in busy:
        if lo > hi:
            raise ValueError(f"a busy window ends before it starts: {lo} > {hi}")
        quiet &= ~((periods + width >= lo) & (periods <= hi)).to_numpy()
    on = scan["period"].map(quiet) & scan["tested"]
    tests, alarms = int(on.sum()), int((on & scan["alarm"]).sum())
    n_quiet = int(quiet.sum())
    days = n_quiet * (7 if weekly else 1)
    return FalseAlarmReport(
        tests=tests, alarms=alarms, rate=alarms / tests if tests else 0.0,
        quiet_periods=n_quiet, alarms_per_30_days=alarms / days * 30 if days else 0.0,
        alarmed=scan.loc[on & scan["alarm"], cols].reset_index(drop=True))


# -- where the signals come from (page and command line) ---------------------------------


@dataclass(frozen=True)
class SignalSource:
    """Where the sentiment and the entities of the signals come from.

    Attributes:
        sentiment: ``"gold"`` (the demo's ground truth) or the model id whose
            ``ticket_sentiment`` labels count.
        entities: ``"gold"`` (gold spans) or the model id whose entities count.
        label: the sentiment source in words: ``"demo ground truth"`` or ``"model <id>"``.
        entities_label: the entities' source in words.
    """

    sentiment: str
    entities: str
    label: str
    entities_label: str


def signal_source(store: Any, model_id: str | None = None) -> SignalSource | None:
    """The sentiment the signals use: the model's (``ticket_sentiment`` rows of ``model_id``,
    default the tagger that tagged the most tickets) when it has any, else the demo's gold
    sentiment when present (with the model's entities when a model has tagged, else the gold
    spans); None when neither exists.

    Example:
        >>> signal_source(Store.open("demo.duckdb"))                   # doctest: +SKIP
        SignalSource(sentiment='gold', entities='gold', label='demo ground truth', ...)
    """
    from analytics.explore import current_model_id

    model = model_id if model_id is not None else current_model_id(store)
    if model is not None and store.scalar(
            "SELECT count(*) FROM (SELECT 1 FROM ticket_sentiment WHERE model_id = ? LIMIT 1)",
            [model]):
        return SignalSource(model, model, f"model {model}", f"model {model}")
    if store.scalar("SELECT count(*) FROM (SELECT 1 FROM gold_sentiment LIMIT 1)"):
        if model is None:
            return SignalSource("gold", "gold", "demo ground truth", "demo ground truth")
        return SignalSource("gold", model, "demo ground truth", f"model {model}")
    return None
