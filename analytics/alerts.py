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

**What is read.** Every figure is a sum, or a count of distinct customers, over
:func:`signal_counts`: labelled tickets per day and customer (from the roll-up
``rollup_signal_days`` when it is fresh, else from the base tables: the same rows) and per
day, customer and product or competitor named (from the mention roll-ups of
``data.rollups``, ``rollup_signal_mentions`` and its series, when they are fresh, else from
the entities). The per-ticket frame of :func:`ticket_signals` gives the same answers (tests
compare all three); the alerts' own tickets are read for the alerts alone, and with
``details=False`` only when one is opened (:func:`alert_details`).

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
    "SignalCounts",
    "SignalSource",
    "signal_counts",
    "signal_source",
    "ALERT_COLUMNS",
    "DIMENSIONS",
    "GOLD",
    "STATED_FALSE_ALARM_RATE",
    "FalseAlarmReport",
    "SurgeRule",
    "alert_details",
    "control_limit",
    "false_alarm_rate",
    "negative_share",
    "open_alert_count",
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
    "alert",
    "dimension",
    "value",
    "freq",
    "since",
    "last",
    "periods",
    "open",
    "tickets",
    "negative",
    "customers",
    "share",
    "rate",
    "baseline_rate",
    "expected",
    "p_value",
    "entities",
    "ticket_keys",
    "rule",
)
_SCAN_COLUMNS = [
    "period",
    "dimension",
    "value",
    "tickets",
    "negative_tickets",
    "negative",
    "exposure",
    "base_negative",
    "base_exposure",
    "expected",
    "p_value",
    "limit",
    "tested",
    "alarm",
]


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
                raise ValueError(f"{name} must be a whole number >= 1, got {getattr(self, name)!r}")
        for name in ("min_baseline_tickets", "merge_gap", "open_periods"):
            if int(getattr(self, name)) != getattr(self, name) or getattr(self, name) < 0:
                raise ValueError(f"{name} must be a whole number >= 0, got {getattr(self, name)!r}")
        if not self.prior > 0:
            raise ValueError(f"prior must be > 0, got {self.prior!r}")

    def baseline(self, freq: str) -> int:
        """Baseline length in periods of ``freq``."""
        return self.baseline_days if _freq(freq) == "day" else self.baseline_weeks

    def describe(self, freq: str) -> str:
        """The rule in one line (what an alert row's ``rule`` says)."""
        unit = "days" if _freq(freq) == "day" else "weeks"
        return (
            f"one-sided beta-binomial test of the scope's customers with a negative "
            f"ticket per customer writing in, against the previous {self.baseline(freq)} "
            f"{unit}: alarm when P(X >= x) <= {self.alpha:g} and x >= "
            f"{self.min_negative}; stated false-alarm rate {self.alpha:g} per series "
            f"and {freq}"
        )


def _freq(freq: str) -> str:
    if freq not in FREQS:
        raise ValueError(f"freq must be one of {', '.join(FREQS)}; got {freq!r}")
    return freq


def _counts(name: str, value: ArrayLike) -> np.ndarray:
    a = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(a)) or np.any(a < 0) or np.any(a != np.round(a)):
        raise ValueError(f"{name} must be whole numbers >= 0")
    return a


def surge_p_value(
    negative: ArrayLike,
    tickets: ArrayLike,
    base_negative: ArrayLike,
    base_tickets: ArrayLike,
    prior: float = 0.5,
) -> np.ndarray:
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


def control_limit(
    tickets: int, base_negative: int, base_tickets: int, alpha: float, prior: float = 0.5
) -> int:
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
    store: Any,
    *,
    sentiment: str = GOLD,
    entities: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
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
        [*sent_params, *where_params],
    )
    columns = [
        "ticket_key",
        "created_at",
        "day",
        "customer_id",
        "segment",
        "region",
        "plan",
        "label",
        "negative",
        "products",
        "competitors",
    ]
    if base.empty:
        return pd.DataFrame(columns=columns)
    hits = store.query(
        f"WITH a AS ({MATCH_TABLE_SQL}), ent AS ({ent_sql}),"  # noqa: S608 - fixed fragments; values are parameters
        f" s AS ({sent_sql})"
        " SELECT DISTINCT ent.ticket_key, ent.label, ent.text, a.vendor FROM ent"
        " JOIN s ON s.ticket_key = ent.ticket_key"
        " LEFT JOIN a ON a.text = ent.text AND a.label = ent.label"
        " WHERE a.vendor IS NOT NULL OR ent.label = 'PRODUCT'",
        [*match_params(store, entities), *ent_params, *sent_params],
    )
    comp = hits.dropna(subset=["vendor"])
    prod = hits[hits["vendor"].isna() & (hits["label"] == "PRODUCT")].copy()
    prod["key"] = prod["text"].str.strip().str.lower()
    names = (
        prod.groupby(["key", "text"])
        .size()
        .reset_index(name="k")
        .sort_values(["key", "k", "text"], ascending=[True, False, True])
        .drop_duplicates("key")
        .set_index("key")["text"]
    )
    prod["name"] = prod["key"].map(names)

    def per_ticket(frame: pd.DataFrame, col: str) -> pd.Series:
        return frame.groupby("ticket_key")[col].agg(lambda v: tuple(sorted(set(v))))

    out = base.copy()
    out["day"] = pd.to_datetime(out["day"]).dt.date
    empty: tuple[str, ...] = ()
    out["products"] = (
        out["ticket_key"]
        .map(per_ticket(prod, "name"))
        .apply(lambda v: v if isinstance(v, tuple) else empty)
    )
    out["competitors"] = (
        out["ticket_key"]
        .map(per_ticket(comp, "vendor"))
        .apply(lambda v: v if isinstance(v, tuple) else empty)
    )
    out["negative"] = out["negative"].astype(bool)
    return out[columns]


#: Columns of :attr:`SignalCounts.units`, :attr:`SignalCounts.series` and
#: :attr:`SignalCounts.mentions`.
UNIT_COLUMNS = ["day", "unit", "customer_id", "segment", "region", "plan", "tickets", "negative"]
SERIES_COLUMNS = ["freq", "period", "dim", "value", "tickets", "negative_tickets", "negative"]
MENTION_COLUMNS = ["day", "customer_id", "dim", "value", "tickets"]
#: ``dim`` of :attr:`SignalCounts.mentions` rows counting tickets that name any competitor.
NAMED = "named"
#: The dimensions counted from the tickets' entities (the others from the customer).
ENTITY_DIMS = ("product", "competitor")


@dataclass(frozen=True)
class SignalCounts:
    """What the alerts, the trends and the risk features count: every figure of this
    module and ``analytics.risk`` is a sum, or a count of distinct writers, over these
    rows, so they give the same answers as :func:`ticket_signals` at the size of days ×
    customers (and days × products or competitors) instead of tickets.

    Attributes:
        units: per ``day`` × ``unit`` (the ticket's customer; the ticket itself when it has
            none) with the customer's ``customer_id``, ``segment``, ``region``, ``plan``:
            ``tickets`` (with a sentiment label, dated) and ``negative`` (of them negative).
        series: per ``freq`` (``"day"``, ``"week"``) × ``period`` (the day, or the Monday
            of the week) × ``dim`` (:data:`ENTITY_DIMS`) × ``value`` (a ticket counts once
            per distinct value it names): ``tickets``, ``negative_tickets`` and
            ``negative`` (distinct writers with a negative ticket).
        mentions: per ``day`` × ``customer_id`` (known customers' tickets) × ``dim``
            ``"competitor"`` (``value`` the vendor) or :data:`NAMED` (value None: naming
            any competitor): ``tickets``.
    """

    units: pd.DataFrame
    series: pd.DataFrame
    mentions: pd.DataFrame
    #: the name table of the entity dimensions (``_name_map``), when read from the store
    names: tuple[list[str], list[str], list[str], list[str]] | None = field(
        default=None, repr=False, compare=False
    )
    _parts: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def empty(self) -> bool:
        """No dated ticket with a sentiment label."""
        return self.units.empty

    def part(self, dimension: str, freq: str) -> pd.DataFrame:
        """The rows of ``dimension`` with their ``value`` and ``period`` (of ``freq``),
        computed once (readers never modify them): :attr:`units` rows, or for
        :data:`ENTITY_DIMS` the :attr:`series` rows."""
        key = (dimension, freq)
        if key not in self._parts:
            if dimension in ENTITY_DIMS:
                ser = self.series
                self._parts[key] = ser[(ser["freq"] == freq) & (ser["dim"] == dimension)]
            else:
                long = _long(self, dimension)
                self._parts[key] = long.assign(period=_period_of(long["day"], freq))
        return self._parts[key]


def _empty_counts() -> SignalCounts:
    return SignalCounts(
        pd.DataFrame(columns=UNIT_COLUMNS),
        pd.DataFrame(columns=SERIES_COLUMNS),
        pd.DataFrame(columns=MENTION_COLUMNS),
    )


def _counts_from_signals(signals: pd.DataFrame) -> SignalCounts:
    """:class:`SignalCounts` of a :func:`ticket_signals` frame (in pandas)."""
    if signals.empty:
        return _empty_counts()
    sig = _with_units(signals)
    sig = sig.assign(day=pd.to_datetime(sig["day"]).dt.date, negative=sig["negative"].astype(bool))
    keys = ["day", "unit", "customer_id", "segment", "region", "plan"]
    units = (
        sig.groupby(keys, dropna=False, sort=True)["negative"]
        .agg(["size", "sum"])
        .reset_index()
        .rename(columns={"size": "tickets", "sum": "negative"})
    )
    frames = []
    for dim, col in (("product", "products"), ("competitor", "competitors")):
        ex = (
            sig[["ticket_key", "day", "unit", "customer_id", "negative", col]]
            .explode(col)
            .dropna(subset=[col])
        )
        frames.append(ex.rename(columns={col: "value"}).assign(dim=dim))
    long = pd.concat(frames, ignore_index=True)
    series = []
    for freq in FREQS:
        g = long.assign(period=_period_of(long["day"], freq)).groupby(["period", "dim", "value"])
        agg = (
            g["negative"]
            .agg(["size", "sum"])
            .rename(columns={"size": "tickets", "sum": "negative_tickets"})
        )
        agg["negative"] = (
            long[long["negative"]]
            .assign(period=_period_of(long.loc[long["negative"], "day"], freq))
            .groupby(["period", "dim", "value"])["unit"]
            .nunique()
            .reindex(agg.index, fill_value=0)
        )
        series.append(agg.reset_index().assign(freq=freq))
    known = long[long["customer_id"].notna() & (long["dim"] == "competitor")]
    mentions = (
        known.groupby(["day", "customer_id", "dim", "value"]).size().reset_index(name="tickets")
    )
    named = (
        known.groupby(["day", "customer_id"])["ticket_key"]
        .nunique()
        .reset_index(name="tickets")
        .assign(dim=NAMED, value=None)
    )
    return _typed(
        units, pd.concat(series, ignore_index=True), pd.concat([mentions, named], ignore_index=True)
    )


def _typed(
    units: pd.DataFrame,
    series: pd.DataFrame,
    mentions: pd.DataFrame,
    names: tuple[list[str], list[str], list[str], list[str]] | None = None,
    *,
    ordered: bool = False,
) -> SignalCounts:
    """The frames with their columns' types, ordered by their group columns (``ordered``:
    they already are)."""
    units = units[UNIT_COLUMNS].copy()
    series = series[SERIES_COLUMNS].copy()
    mentions = mentions[MENTION_COLUMNS].copy()
    for frame, day, counts in (
        (units, "day", ("tickets", "negative")),
        (series, "period", ("tickets", "negative_tickets", "negative")),
        (mentions, "day", ("tickets",)),
    ):
        frame[day] = pd.to_datetime(frame[day]).dt.date
        for col in counts:
            frame[col] = frame[col].astype("int64")
        for col in frame.columns:
            if col != day and col not in counts:
                frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    if not ordered:
        units = units.sort_values(["day", "unit"], kind="stable")
        series = series.sort_values(["freq", "period", "dim", "value"], kind="stable")
        mentions = mentions.sort_values(["day", "customer_id", "dim", "value"], kind="stable")
    return SignalCounts(
        units.reset_index(drop=True),
        series.reset_index(drop=True),
        mentions.reset_index(drop=True),
        names,
    )


def _name_map(
    store: Any, sentiment: str, entities: str
) -> tuple[list[str], list[str], list[str], list[str]]:
    """(text, label, dim, value) of every entity text a dimension counts: competitor
    names (``analytics.signals.match_params``) and products (a PRODUCT text naming no
    competitor, under the most common spelling of its case-insensitive key among the
    labelled tickets; ties: the smallest), as parameter lists."""
    from analytics.signals import match_params

    texts, labels, vendors = match_params(store, entities)
    sent_sql, sent_params = _sentiment_sql(sentiment)
    ent_sql, ent_params = _entity_sql(entities)
    counted = store.query(
        f"WITH ent AS ({ent_sql}), s AS ({sent_sql})"  # noqa: S608 - fixed fragments; values are parameters
        " SELECT ent.text, count(DISTINCT ent.ticket_key) AS k FROM ent"
        " JOIN s ON s.ticket_key = ent.ticket_key WHERE ent.label = 'PRODUCT' GROUP BY 1",
        [*ent_params, *sent_params],
    )
    vendor_of = {(t, lab) for t, lab in zip(texts, labels, strict=True)}
    best: dict[str, tuple[int, str]] = {}
    keyed = []
    for text, k in zip(counted["text"], counted["k"], strict=True):
        if (text, "PRODUCT") in vendor_of:
            continue
        key = text.strip().lower()
        keyed.append((text, key))
        old = best.get(key)
        if old is None or (-int(k), text) < (-old[0], old[1]):
            best[key] = (int(k), text)
    out_t = list(texts) + [t for t, _ in keyed]
    out_l = list(labels) + ["PRODUCT"] * len(keyed)
    out_d = ["competitor"] * len(texts) + ["product"] * len(keyed)
    out_v = list(vendors) + [best[key][1] for _, key in keyed]
    return out_t, out_l, out_d, out_v


#: SQL of the name table ``m`` (``text``, ``label``, ``dim``, ``value``), four parameters.
NAME_TABLE_SQL = (
    "SELECT unnest(?::VARCHAR[]) AS text, unnest(?::VARCHAR[]) AS label,"
    " unnest(?::VARCHAR[]) AS dim, unnest(?::VARCHAR[]) AS value"
)


def _day_sql(start: dt.date | None, end: dt.date | None, col: str) -> tuple[str, list[Any]]:
    sql, params = "", []
    if start is not None:
        sql += f" AND {col} >= ?"
        params.append(pd.Timestamp(start).date())
    if end is not None:
        sql += f" AND {col} <= ?"
        params.append(pd.Timestamp(end).date())
    return sql, params


#: Read the signal roll-up (``rollup_signal_days``) when it is fresh (False: never).
USE_ROLLUPS = True


def _rollup_source(store: Any, sentiment: str) -> bool:
    """Whether ``rollup_signal_days`` may be read: it is fresh (its part, ``data.rollups.
    TAGS``) and holds every sentiment source, ``sentiment`` included."""
    from data import rollups

    if not USE_ROLLUPS:
        return False
    with store.reading() as cur:
        return rollups.signals_fresh(cur)


#: The series of :class:`SignalCounts` from ``{g}`` (per day, writer, dimension and value:
#: ``tickets``, ``neg``), the same SQL on the base tables and the roll-ups.
_SERIES_SQL = (
    " ser AS (SELECT 'day' AS freq, day AS period, dim, value, sum(tickets) AS tickets,"
    " sum(neg) AS negative_tickets, count(*) FILTER (WHERE neg > 0) AS negative"
    " FROM {g} GROUP BY ALL"
    " UNION ALL SELECT 'week', CAST(date_trunc('week', day) AS DATE), dim, value,"
    " sum(tickets), sum(neg), count(DISTINCT unit) FILTER (WHERE neg > 0)"
    " FROM {g} GROUP BY ALL),"
)
_COUNTS_SELECT = (
    " SELECT 's' AS kind, freq, period AS day, NULL::VARCHAR AS customer_id, dim, value,"
    " tickets, negative_tickets, negative FROM ser UNION ALL"
    " SELECT 'm', NULL, day, customer_id, dim, value, tickets, NULL, NULL FROM men"
    " ORDER BY kind DESC, freq, day, customer_id, dim, value"
)


def _mentions_source(store: Any, sentiment: str, entities: str) -> bool:
    """Whether the mention roll-ups (``data.rollups.MENTION_TABLES``) may be read for this
    pair of sources: they are fresh and hold it (the ground truth's sentiment with any
    entities, a model's sentiment with its own)."""
    from data import rollups

    if not USE_ROLLUPS or sentiment not in (GOLD, entities):
        return False
    with store.reading() as cur:
        return rollups.mentions_fresh(cur)


def _rollup_names(
    store: Any, sentiment: str, entities: str
) -> tuple[tuple[list[str], list[str], list[str], list[str]], list[str], list[str]]:
    """:func:`_name_map` from the roll-ups (``entity_names``, ``rollup_signal_spellings``),
    and the product keys with the name each is shown under (its most common spelling among
    the labelled tickets; ties: the smallest)."""
    comp = store.fetchall(
        "SELECT text, label, vendor FROM entity_names WHERE vendor IS NOT NULL ORDER BY text, label"
    )
    spell = store.fetchall(
        "SELECT key, text, sum(tickets) FROM rollup_signal_spellings"
        " WHERE model_id = ? AND entities = ? GROUP BY key, text HAVING sum(tickets) > 0",
        [sentiment, entities],
    )
    best: dict[str, tuple[int, str]] = {}
    for key, text, k in spell:
        old = best.get(key)
        if old is None or (-int(k), text) < (-old[0], old[1]):
            best[key] = (int(k), text)
    names = (
        [t for t, _, _ in comp] + [t for _, t, _ in spell],
        [lab for _, lab, _ in comp] + ["PRODUCT"] * len(spell),
        ["competitor"] * len(comp) + ["product"] * len(spell),
        [v for _, _, v in comp] + [best[key][1] for key, _, _ in spell],
    )
    keys = sorted(best)
    return names, keys, [best[k][1] for k in keys]


def _stored_series(
    store: Any,
    sentiment: str,
    entities: str,
    keys: list[str],
    shown: list[str],
    *,
    mentions: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:attr:`SignalCounts.series` and :attr:`SignalCounts.mentions` (``mentions``: else
    none) of every day, read from ``rollup_signal_series`` and ``rollup_signal_mentions``
    (product keys shown under ``shown``), ordered as :func:`signal_counts` orders them."""
    series = store.query(
        "WITH kn AS (SELECT unnest(?::VARCHAR[]) AS key, unnest(?::VARCHAR[]) AS name)"
        " SELECT r.freq, r.period,  r.dim,"
        " CASE WHEN r.dim = 'product' THEN kn.name ELSE r.value END AS value, r.tickets,"
        " r.negative_tickets, r.negative FROM rollup_signal_series r"
        " LEFT JOIN kn ON r.dim = 'product' AND kn.key = r.value"
        " WHERE r.model_id = ? AND r.entities = ? ORDER BY r.freq, r.period, r.dim, 4",
        [keys, shown, sentiment, entities],
    )
    if not mentions:
        return series, pd.DataFrame(columns=MENTION_COLUMNS)
    return series, store.query(
        "SELECT day, customer_id, dim, value, tickets FROM rollup_signal_mentions"
        " WHERE model_id = ? AND entities = ? AND day IS NOT NULL AND customer_id IS NOT NULL"
        " AND dim IN ('competitor', ?) ORDER BY day, customer_id, dim, value",
        [sentiment, entities, NAMED],
    )


def signal_counts(
    store: Any,
    *,
    sentiment: str = GOLD,
    entities: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    rollups: bool = True,
    mentions: bool = True,
) -> SignalCounts:
    """:class:`SignalCounts` of the store: from the signal roll-ups (``data.rollups``) when
    they are fresh and hold this source, else from the base tables; the same either way.

    Args:
        store: the store.
        sentiment, entities: as :func:`ticket_signals`.
        start, end: first and last day (inclusive) of ``created_at``.
        rollups: False reads the base tables whatever the roll-ups' state.
        mentions: False leaves :attr:`SignalCounts.mentions` empty (the alerts and trends
            do not read them; the risk features do) and, from the roll-ups, unread.
    """
    entities = entities or sentiment
    sent_sql, sent_params = _sentiment_sql(sentiment)
    ent_sql, ent_params = _entity_sql(entities)
    where, wp = _day_sql(start, end, "CAST(t.created_at AS DATE)")
    if rollups and _rollup_source(store, sentiment):
        rwhere, rwp = _day_sql(start, end, "day")
        units = store.query(
            "SELECT day, unit, customer_id, segment, region, plan, tickets, negative"  # noqa: S608 - fixed fragments; values are parameters
            " FROM rollup_signal_days WHERE model_id = ? AND day IS NOT NULL"
            + rwhere
            + " ORDER BY day, unit",
            [sentiment, *rwp],
        )
    else:
        units = store.query(
            f"WITH s AS ({sent_sql}), base AS (SELECT t.ticket_key,"  # noqa: S608 - fixed fragments; values are parameters
            " CAST(t.created_at AS DATE) AS day, coalesce(t.customer_id, t.ticket_key) AS unit,"
            " t.customer_id, c.segment, c.region, c.plan, s.label = 'negative' AS negative"
            " FROM tickets t JOIN s ON s.ticket_key = t.ticket_key"
            " LEFT JOIN customers c ON c.customer_id = t.customer_id"
            f" WHERE t.created_at IS NOT NULL{where})"
            " SELECT day, unit, customer_id, segment, region, plan,"
            " count(*) AS tickets, count(*) FILTER (WHERE negative) AS negative"
            " FROM base GROUP BY ALL ORDER BY day, unit",
            [*sent_params, *wp],
        )
    if units.empty:
        return _empty_counts()
    if rollups and _mentions_source(store, sentiment, entities):
        names, keys, shown = _rollup_names(store, sentiment, entities)
        if start is None and end is None:  # whole periods: the series as stored
            return _typed(
                units,
                *_stored_series(store, sentiment, entities, keys, shown, mentions=mentions),
                names,
                ordered=True,
            )
        rwhere, rwp = _day_sql(start, end, "r.day")
        rows = store.query(
            "WITH kn AS (SELECT unnest(?::VARCHAR[]) AS key, unnest(?::VARCHAR[]) AS name),"  # noqa: S608 - fixed fragments; values are parameters
            " g AS MATERIALIZED (SELECT r.day, r.unit, r.customer_id, r.dim,"
            " CASE WHEN r.dim = 'product' THEN kn.name ELSE r.value END AS value,"
            " r.tickets, r.negative AS neg FROM rollup_signal_mentions r"
            " LEFT JOIN kn ON r.dim = 'product' AND kn.key = r.value"
            " WHERE r.model_id = ? AND r.entities = ? AND r.day IS NOT NULL"
            + rwhere
            + "),"
            + _SERIES_SQL.replace("{g}", "(SELECT * FROM g WHERE dim <> 'named')")
            + " men AS (SELECT day, customer_id, dim, value, tickets FROM g"  # noqa: S608 - fixed fragments; values are parameters
            " WHERE dim = 'competitor' AND customer_id IS NOT NULL"
            f" UNION ALL SELECT day, customer_id, '{NAMED}', NULL, tickets FROM g"
            f" WHERE dim = '{NAMED}' AND customer_id IS NOT NULL)" + _COUNTS_SELECT,
            [keys, shown, sentiment, entities, *rwp],
        )
        ser = rows[rows["kind"] == "s"].rename(columns={"day": "period"})
        men = rows[rows["kind"] == "m"]
        return _typed(units, ser, men, names, ordered=True)
    names = tuple(_name_map(store, sentiment, entities))
    rows = store.query(
        f"WITH m AS ({NAME_TABLE_SQL}), ent AS ({ent_sql}), s AS ({sent_sql}),"  # noqa: S608 - fixed fragments; values are parameters
        " base AS (SELECT t.ticket_key, CAST(t.created_at AS DATE) AS day,"
        " coalesce(t.customer_id, t.ticket_key) AS unit, t.customer_id,"
        " s.label = 'negative' AS negative FROM tickets t JOIN s ON s.ticket_key = t.ticket_key"
        f" WHERE t.created_at IS NOT NULL{where}),"
        " hit AS (SELECT DISTINCT ent.ticket_key, m.dim, m.value FROM ent"
        " JOIN m ON m.text = ent.text AND m.label = ent.label),"
        " j AS (SELECT b.ticket_key, b.day, b.unit, b.customer_id, b.negative,"
        " h.dim, h.value FROM base b JOIN hit h ON h.ticket_key = b.ticket_key),"
        # per day, writer and value first (a writer's tickets of a day are one row)
        " g AS MATERIALIZED (SELECT day, unit, customer_id, dim, value, count(*) AS tickets,"
        " count(*) FILTER (WHERE negative) AS neg FROM j GROUP BY ALL),"
        + _SERIES_SQL.replace("{g}", "g")
        + " men AS (SELECT day, customer_id, dim, value, tickets FROM g"  # noqa: S608 - fixed fragments; values are parameters
        " WHERE dim = 'competitor' AND customer_id IS NOT NULL"
        f" UNION ALL SELECT day, customer_id, '{NAMED}', NULL, count(DISTINCT ticket_key)"
        " FROM j WHERE dim = 'competitor' AND customer_id IS NOT NULL"
        " GROUP BY day, customer_id)" + _COUNTS_SELECT,
        [*names, *ent_params, *sent_params, *wp],
    )
    ser = rows[rows["kind"] == "s"].rename(columns={"day": "period"})
    men = rows[rows["kind"] == "m"]
    return _typed(units, ser, men, names, ordered=True)


def _as_counts(signals: pd.DataFrame | SignalCounts) -> SignalCounts:
    return signals if isinstance(signals, SignalCounts) else _counts_from_signals(signals)


def _period_of(days: pd.Series, freq: str) -> pd.Series:
    if len(days) > 1000:  # many rows, few days: convert each day once
        codes, uniques = pd.factorize(days)
        return pd.Series(
            np.asarray(_period_of(pd.Series(uniques), freq), dtype=object)[codes]
            if len(uniques)
            else [],
            index=days.index,
            dtype=object,
        )
    d = pd.to_datetime(days)
    if freq == "week":
        d = d - pd.to_timedelta(d.dt.day_of_week, unit="D")  # the Monday of its ISO week
    return d.dt.date


def _calendar(first: dt.date, last: dt.date, freq: str) -> pd.DatetimeIndex:
    step = "D" if freq == "day" else "7D"
    if freq == "week":
        first = first - dt.timedelta(days=first.weekday())
    return pd.date_range(first, last, freq=step)


def _long(counts: SignalCounts, dimension: str) -> pd.DataFrame:
    """The :attr:`SignalCounts.units` rows of a customer ``dimension`` (or all) with its
    ``value`` (the entity dimensions are :attr:`SignalCounts.series`)."""
    if dimension == "all":
        return counts.units.assign(value="all")
    units = counts.units
    return units[units[dimension].notna()].assign(value=lambda d: d[dimension])


def _dimensions(dimensions: Sequence[str] | str) -> tuple[str, ...]:
    dims = (dimensions,) if isinstance(dimensions, str) else tuple(dimensions)
    bad = [d for d in dims if d not in DIMENSIONS]
    if bad or not dims:
        raise ValueError(f"dimensions must be among {', '.join(DIMENSIONS)}; got {bad or dims}")
    return dims


def negative_share(
    signals: pd.DataFrame | SignalCounts, *, freq: str = "day", dimension: str = "all"
) -> pd.DataFrame:
    """Negative share per period and value of a dimension (the trend charts).

    Args:
        signals: :func:`ticket_signals` or :func:`signal_counts`.
        freq: ``"day"`` or ``"week"`` (weeks start on Monday).
        dimension: one of :data:`DIMENSIONS`.

    Returns:
        Columns ``period`` (date), ``dimension``, ``value``, ``tickets``, ``negative``,
        ``share`` (negative ÷ tickets of the value); periods without tickets are left out.
    """
    freq, (dimension,) = _freq(freq), _dimensions(dimension)
    cols = ["period", "dimension", "value", "tickets", "negative", "share"]
    counts = _as_counts(signals)
    if counts.empty:
        return pd.DataFrame(columns=cols)
    long = counts.part(dimension, freq)
    negative = "negative_tickets" if dimension in ENTITY_DIMS else "negative"
    g = long.groupby(["period", "value"])[["tickets", negative]].sum().reset_index()
    g.columns = ["period", "value", "tickets", "negative"]
    g["tickets"] = g["tickets"].astype("int64")
    g["dimension"] = dimension
    g["negative"] = g["negative"].astype(int)
    g["share"] = g["negative"] / g["tickets"]
    return g[cols].sort_values(["dimension", "value", "period"]).reset_index(drop=True)


def surge_scan(
    signals: pd.DataFrame | SignalCounts,
    *,
    freq: str = "day",
    rule: SurgeRule | None = None,
    dimensions: Sequence[str] = DIMENSIONS,
    end: dt.date | None = None,
) -> pd.DataFrame:
    """Every test of the rule: one row per series (dimension, value) and period.

    Args:
        signals: :func:`ticket_signals` or :func:`signal_counts`.
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
    return _scan(_as_counts(signals), freq=freq, rule=rule, dimensions=dimensions, end=end)


def _scan(
    counts: SignalCounts,
    *,
    freq: str,
    rule: SurgeRule | None,
    dimensions: Sequence[str],
    end: dt.date | None,
    full: bool = True,
) -> pd.DataFrame:
    """:func:`surge_scan`; ``full=False`` (what the alerts need) computes ``p_value`` only
    where an alarm is possible (1 elsewhere) and no ``limit`` (0): the alarms, and every
    figure of the alarmed rows, are the same."""
    freq, dims = _freq(freq), _dimensions(dimensions)
    rule = rule or SurgeRule()
    if counts.empty:
        return pd.DataFrame(columns=_SCAN_COLUMNS)
    days = counts.units["day"]
    last = end or max(days)
    cal = _calendar(min(days), last, freq)
    periods = pd.Index(cal.date)
    units = counts.part("all", freq)
    exposure = (
        units.groupby("period")["unit"].nunique().reindex(periods, fill_value=0).to_numpy(float)
    )
    b = rule.baseline(freq)
    base_n = _trailing(exposure, b)
    frames = []
    for dim in dims:
        long = counts.part(dim, freq)
        if long.empty:
            continue
        tickets = (
            long.groupby(["period", "value"])["tickets"]
            .sum()
            .unstack(fill_value=0)
            .reindex(index=periods, fill_value=0)
        )
        if dim in ENTITY_DIMS:  # one row per period and value, writers already counted
            unhappy = long[long["negative_tickets"] > 0].groupby(["period", "value"])
            neg_t, neg = unhappy["negative_tickets"].sum(), unhappy["negative"].sum()
        else:
            unhappy = long[long["negative"] > 0].groupby(["period", "value"])
            neg_t, neg = unhappy["negative"].sum(), unhappy["unit"].nunique()
        neg_t = neg_t.unstack(fill_value=0).reindex(
            index=periods, columns=tickets.columns, fill_value=0
        )
        neg = neg.unstack(fill_value=0).reindex(
            index=periods, columns=tickets.columns, fill_value=0
        )
        x = neg.to_numpy(float)
        base_x = _trailing(x, b)
        n = np.broadcast_to(exposure[:, None], x.shape)
        bn = np.broadcast_to(base_n[:, None], x.shape)
        tested = (n > 0) & (bn >= rule.min_baseline_tickets)
        if full:
            p = surge_p_value(x, n, base_x, bn, rule.prior)
        else:
            p = np.ones(x.shape)
            can = tested & (x >= rule.min_negative)
            # exact p-values (scipy) only where a quick tail sum says an alarm is possible
            rough = _rough_tail(x[can], n[can], base_x[can], bn[can], rule.prior)
            idx = np.flatnonzero(can)[rough <= _ROUGH_MARGIN * rule.alpha]
            p.flat[idx] = surge_p_value(
                x.flat[idx], n.flat[idx], base_x.flat[idx], bn.flat[idx], rule.prior
            )
        alarm = tested & (p <= rule.alpha) & (x >= rule.min_negative)
        expected = n * (rule.prior + base_x) / (2 * rule.prior + bn)
        values = tickets.columns.to_numpy()
        k, j = np.meshgrid(np.arange(len(periods)), np.arange(len(values)), indexing="ij")
        frames.append(
            pd.DataFrame(
                {
                    "period": periods.to_numpy()[k.ravel()],
                    "dimension": dim,
                    "value": values[j.ravel()],
                    "tickets": tickets.to_numpy()[k, j].ravel(),
                    "negative_tickets": neg_t.to_numpy()[k, j].ravel(),
                    "negative": x.ravel().astype(int),
                    "exposure": n.ravel().astype(int),
                    "base_negative": base_x.ravel().astype(int),
                    "base_exposure": bn.ravel().astype(int),
                    "expected": expected.ravel(),
                    "p_value": p.ravel(),
                    "tested": tested.ravel(),
                    "alarm": alarm.ravel(),
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=_SCAN_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    out["limit"] = _limits(out, rule) if full else 0
    return out[_SCAN_COLUMNS]


#: A rough tail (:func:`_rough_tail`) above this multiple of α cannot alarm: its exact
#: p-value is left uncomputed. The rough sum is within a few 1e-6 (relative) of the exact
#: tail around α (measured on the 100k and 1M demos), far inside the margin; every alarm
#: and every figure of an alarmed row come from exact p-values all the same.
_ROUGH_MARGIN = 1.05


def _rough_tail(
    x: np.ndarray, n: np.ndarray, bx: np.ndarray, bn: np.ndarray, prior: float
) -> np.ndarray:
    """P(X ≥ x) of :func:`surge_p_value`'s beta-binomial, summed in floating point from
    pmf(x) by the ratio of successive terms (vectorised; a screen, not the reported value)."""
    if x.size == 0:
        return np.ones(0)
    a, b = prior + bx, prior + bn - bx
    logpmf = (
        special.gammaln(n + 1)
        - special.gammaln(x + 1)
        - special.gammaln(n - x + 1)
        + special.betaln(x + a, n - x + b)
        - special.betaln(a, b)
    )
    term = np.exp(logpmf)
    total = term.copy()
    k = x.astype(float).copy()
    for _ in range(int(np.max(n - x)) if x.size else 0):
        live = k < n
        if not live.any():
            break
        ratio = np.where(live, (n - k) / (k + 1) * (k + a) / np.maximum(n - k - 1 + b, 1e-300), 0.0)
        term = term * ratio
        total += term
        k = k + 1
    return total


def _with_units(signals: pd.DataFrame) -> pd.DataFrame:
    """``unit``: who wrote the ticket (its customer; the ticket itself when unknown)."""
    return signals.assign(
        unit=signals["customer_id"].where(signals["customer_id"].notna(), signals["ticket_key"])
    )


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
        n = n_all[lo : lo + chunk, None]
        a = rule.prior + bx_all[lo : lo + chunk, None]
        b = rule.prior + bn_all[lo : lo + chunk, None] - bx_all[lo : lo + chunk, None]
        valid = k <= n
        kk = np.where(valid, k, 0.0)
        logpmf = (
            special.gammaln(n + 1)
            - special.gammaln(kk + 1)
            - special.gammaln(n - kk + 1)
            + special.betaln(kk + a, n - kk + b)
            - special.betaln(a, b)
        )
        pmf = np.where(valid, np.exp(logpmf), 0.0)
        tail = np.cumsum(pmf[:, ::-1], axis=1)[:, ::-1]  # tail[:, j] = P(X >= j)
        ok = (tail <= rule.alpha) & valid & (k >= 1)
        first = np.where(ok.any(axis=1), ok.argmax(axis=1), n[:, 0] + 1)
        limits[lo : lo + chunk] = first
    lim = dict(zip(map(tuple, keys.to_numpy(int)), limits, strict=True))
    out[rows.index.to_numpy()] = [
        lim[(a, b_, c)]
        for a, b_, c in zip(
            rows["exposure"], rows["base_negative"], rows["base_exposure"], strict=True
        )
    ]
    return out


def _episode_positions(
    periods: np.ndarray, alarm: np.ndarray, freq: str, merge_gap: int
) -> list[np.ndarray]:
    """:func:`_episodes` as positions in one series (``periods`` ascending, ``alarm`` its
    flags): the alarmed positions of each episode."""
    idx = np.flatnonzero(alarm)
    if not idx.size:
        return []
    step = 1 if freq == "day" else 7
    days = pd.to_datetime(pd.Series(periods[idx])).to_numpy()
    gaps = np.diff(days).astype("timedelta64[D]").astype(int) // step - 1
    return np.split(idx, np.flatnonzero(gaps > merge_gap) + 1)


def _episodes(alarms: pd.DataFrame, freq: str, merge_gap: int) -> list[pd.DataFrame]:
    """Alarmed rows of one series grouped into episodes (gaps of at most ``merge_gap``)."""
    step = 1 if freq == "day" else 7
    days = pd.to_datetime(alarms["period"]).to_numpy()
    gaps = np.diff(days).astype("timedelta64[D]").astype(int) // step - 1
    cut = np.concatenate([[0], np.cumsum(gaps > merge_gap)])
    return [g for _, g in alarms.groupby(cut)]


def surge_alerts(
    store: Any,
    *,
    sentiment: str = GOLD,
    entities: str | None = None,
    freq: str = "day",
    rule: SurgeRule | None = None,
    dimensions: Sequence[str] = DIMENSIONS,
    start: dt.date | None = None,
    as_of: dt.date | None = None,
    open_only: bool = True,
    signals: pd.DataFrame | None = None,
    details: bool = True,
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
            entities of the alerts' tickets), or :func:`signal_counts` of the same
            ``sentiment``, ``entities``, ``start`` and ``as_of`` (then the alerts' tickets
            are read from the store).
        details: False leaves ``ticket_keys`` and ``entities`` out (None; read them for the
            alerts shown with :func:`alert_details`) and counts ``customers`` from the
            signal roll-ups when they are fresh, without reading a ticket.

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
    frame = signals if isinstance(signals, pd.DataFrame) else None
    counts = (
        signal_counts(store, sentiment=sentiment, entities=entities, start=start, end=as_of)
        if signals is None
        else _as_counts(signals)
    )
    scan = _scan(counts, freq=freq, rule=rule, dimensions=dimensions, end=as_of, full=False)
    if scan.empty or not scan["alarm"].any():
        return pd.DataFrame(columns=list(ALERT_COLUMNS))
    step = dt.timedelta(days=1 if freq == "day" else 7)
    last_period = max(scan["period"])
    rows = []
    alarmed = scan[scan["alarm"]]
    for (dim, value), series in scan[
        scan.set_index(["dimension", "value"]).index.isin(
            alarmed.set_index(["dimension", "value"]).index
        )
    ].groupby(["dimension", "value"], sort=False):
        # one series' periods ascend (the scan's order): an episode's span is a slice
        col = {
            c: series[c].to_numpy()
            for c in (
                "period",
                "tickets",
                "negative_tickets",
                "negative",
                "exposure",
                "base_negative",
                "base_exposure",
                "expected",
                "p_value",
            )
        }
        for ep in _episode_positions(
            col["period"], series["alarm"].to_numpy(bool), freq, rule.merge_gap
        ):
            since, last = col["period"][ep[0]], col["period"][ep[-1]]
            span = slice(int(ep[0]), int(ep[-1]) + 1)
            tickets, negative = col["tickets"][span].sum(), col["negative_tickets"][span].sum()
            is_open = last >= last_period - rule.open_periods * step
            rows.append(
                {
                    "alert": f"negative surge: {dim} {value}"
                    if dim != "all"
                    else "negative surge: all tickets",
                    "dimension": dim,
                    "value": value,
                    "freq": freq,
                    "since": since,
                    "last": last,
                    "periods": len(ep),
                    "open": bool(is_open),
                    "tickets": int(tickets),
                    "negative": int(negative),
                    "share": float(negative / max(tickets, 1)),
                    "rate": float(
                        col["negative"][span].sum() / max(col["exposure"][span].sum(), 1)
                    ),
                    "baseline_rate": float(
                        col["base_negative"][ep[0]] / max(col["base_exposure"][ep[0]], 1)
                    ),
                    "expected": float(col["expected"][ep].sum()),
                    "p_value": float(col["p_value"][ep].min()),
                    "rule": rule.describe(freq),
                }
            )
    alerts = pd.DataFrame(rows)
    if open_only:
        alerts = alerts[alerts["open"]]
    if alerts.empty:
        return pd.DataFrame(columns=list(ALERT_COLUMNS))
    alerts = alerts.reset_index(drop=True)
    if frame is not None:
        keys, customers = _frame_keys(frame, alerts)
        alerts = alerts.assign(ticket_keys=keys, customers=customers)
        alerts = alerts.assign(
            entities=_top_entities(store, alerts["ticket_keys"], entities or sentiment)
        )
    elif (
        not details
        and (
            customers := _rollup_customers(
                store,
                alerts,
                sentiment=sentiment,
                entities=entities or sentiment,
                start=start,
                as_of=as_of,
            )
        )
        is not None
    ):
        alerts = alerts.assign(ticket_keys=None, customers=customers, entities=None)
    else:
        keys, customers, named = _alert_keys(
            store,
            alerts,
            sentiment=sentiment,
            entities=entities or sentiment,
            start=start,
            as_of=as_of,
            names=counts.names,
        )
        alerts = alerts.assign(ticket_keys=keys, customers=customers, entities=named)
    alerts = alerts.sort_values(["since", "dimension", "value"], ascending=[False, True, True])
    return alerts.reset_index(drop=True)[list(ALERT_COLUMNS)]


def alert_details(
    store: Any,
    alerts: pd.DataFrame,
    *,
    sentiment: str = GOLD,
    entities: str | None = None,
    start: dt.date | None = None,
    as_of: dt.date | None = None,
) -> pd.DataFrame:
    """``alerts`` (rows of :func:`surge_alerts` of the same arguments) with ``ticket_keys``,
    ``customers`` and ``entities`` read from their tickets: what ``details=True`` gives.

    Example:
        >>> shown = surge_alerts(store, open_only=False, details=False).head(3)  # doctest: +SKIP
        >>> alert_details(store, shown)["entities"]                           # doctest: +SKIP
    """
    if alerts.empty:
        return alerts
    entities = entities or sentiment
    names = (
        _rollup_names(store, sentiment, entities)[0]
        if _mentions_source(store, sentiment, entities)
        else tuple(_name_map(store, sentiment, entities))
    )
    keys, customers, named = _alert_keys(
        store,
        alerts.reset_index(drop=True),
        sentiment=sentiment,
        entities=entities,
        start=start,
        as_of=as_of,
        names=names,
    )
    return alerts.assign(ticket_keys=keys, customers=customers, entities=named)


def _rollup_customers(
    store: Any,
    alerts: pd.DataFrame,
    *,
    sentiment: str,
    entities: str,
    start: dt.date | None,
    as_of: dt.date | None,
) -> list[int] | None:
    """Per alert, the distinct writers of its negative tickets (as :func:`_alert_keys`
    counts them) from the signal roll-ups; None when they may not answer."""
    if not _rollup_source(store, sentiment):
        return None
    by_entity = alerts["dimension"].isin(ENTITY_DIMS)
    if by_entity.any() and not _mentions_source(store, sentiment, entities):
        return None
    values = alerts["value"].astype(str).tolist()
    if by_entity.any():  # products are stored under their key, shown under a name
        _, keys, shown = _rollup_names(store, sentiment, entities)
        key_of = dict(zip(shown, keys, strict=True))
        values = [
            key_of.get(v, v) if d == "product" else v
            for d, v in zip(alerts["dimension"], values, strict=True)
        ]
    where, wp = _day_sql(start, as_of, "r.day")
    found = store.fetchall(
        "WITH al AS (SELECT unnest(?::BIGINT[]) AS i, unnest(?::VARCHAR[]) AS dim,"  # noqa: S608 - fixed fragments; values are parameters
        " unnest(?::VARCHAR[]) AS value, unnest(?::DATE[]) AS lo, unnest(?::DATE[]) AS hi)"
        " SELECT al.i, count(DISTINCT r.unit) FROM al JOIN rollup_signal_days r"
        " ON r.day >= al.lo AND r.day <= al.hi"
        " WHERE r.model_id = ? AND r.negative > 0" + where + " AND (al.dim = 'all'"
        " OR (al.dim = 'segment' AND r.segment = al.value)"
        " OR (al.dim = 'region' AND r.region = al.value)"
        " OR (al.dim = 'plan' AND r.plan = al.value)) GROUP BY al.i"
        " UNION ALL SELECT al.i, count(DISTINCT r.unit) FROM al"
        " JOIN rollup_signal_mentions r ON r.dim = al.dim AND r.value = al.value"
        " AND r.day >= al.lo AND r.day <= al.hi"
        " WHERE r.model_id = ? AND r.entities = ? AND r.negative > 0" + where + " GROUP BY al.i",
        [
            list(range(len(alerts))),
            alerts["dimension"].astype(str).tolist(),
            values,
            [pd.Timestamp(d).date() for d in alerts["since"]],
            list(_last_day(alerts)),
            sentiment,
            *wp,
            sentiment,
            entities,
            *wp,
        ],
    )
    units = {int(i): int(n) for i, n in found}
    return [units.get(i, 0) for i in range(len(alerts))]


def open_alert_count(
    store: Any,
    *,
    sentiment: str = GOLD,
    entities: str | None = None,
    freq: str = "day",
    rule: SurgeRule | None = None,
    dimensions: Sequence[str] = DIMENSIONS,
    start: dt.date | None = None,
    as_of: dt.date | None = None,
    signals: pd.DataFrame | SignalCounts | None = None,
) -> int:
    """How many alerts are open: ``surge_alerts(..., open_only=False)["open"].sum()``
    without reading the alerts' tickets (the Overview's figure). Arguments as
    :func:`surge_alerts`."""
    freq = _freq(freq)
    rule = rule or SurgeRule()
    counts = (
        signal_counts(store, sentiment=sentiment, entities=entities, start=start, end=as_of)
        if signals is None
        else _as_counts(signals)
    )
    scan = _scan(counts, freq=freq, rule=rule, dimensions=dimensions, end=as_of, full=False)
    if scan.empty or not scan["alarm"].any():
        return 0
    step = dt.timedelta(days=1 if freq == "day" else 7)
    last_period = max(scan["period"])
    alarmed = scan[scan["alarm"]]
    return sum(
        int(ep["period"].max() >= last_period - rule.open_periods * step)
        for _, series in alarmed.groupby(["dimension", "value"], sort=False)
        for ep in _episodes(series, freq, rule.merge_gap)
    )


def _last_day(alerts: pd.DataFrame) -> pd.Series:
    """The last day of each alert's last period (a week ends six days after Monday)."""
    extra = pd.to_timedelta(np.where(alerts["freq"] == "week", 6, 0), unit="D")
    return (pd.to_datetime(alerts["last"]) + extra).dt.date


def _frame_keys(
    signals: pd.DataFrame, alerts: pd.DataFrame
) -> tuple[list[tuple[str, ...]], list[int]]:
    """Per alert, its negative tickets (oldest first) and the distinct writers among them,
    from a :func:`ticket_signals` frame."""
    out, customers = [], []
    unhappy = _with_units(signals[signals["negative"].astype(bool)])
    for row, end in zip(alerts.itertuples(index=False), _last_day(alerts), strict=True):
        scope = _long_frame(unhappy, row.dimension)
        scope = scope[
            (scope["value"] == row.value) & (scope["day"] >= row.since) & (scope["day"] <= end)
        ]
        out.append(tuple(scope["ticket_key"].drop_duplicates()))
        customers.append(int(scope["unit"].nunique()))
    return out, customers


def _long_frame(signals: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """:func:`_long` of a :func:`ticket_signals` frame: one row per ticket and value."""
    if dimension == "all":
        return signals.assign(value="all")
    if dimension in ("product", "competitor"):
        col = dimension + "s"
        return signals.explode(col).dropna(subset=[col]).assign(value=lambda d: d[col])
    return signals.dropna(subset=[dimension]).assign(value=lambda d: d[dimension])


def _alert_keys(
    store: Any,
    alerts: pd.DataFrame,
    *,
    sentiment: str,
    entities: str,
    start: dt.date | None,
    as_of: dt.date | None,
    names: tuple[list[str], ...] | None = None,
    top: int = 5,
) -> tuple[list[tuple[str, ...]], list[int], list[str]]:
    """Per alert, its negative tickets (oldest first) — those of its scope created from its
    first period to the end of its last —, the distinct writers among them (customers; a
    ticket without one counts alone) and their most named entities (as
    :func:`_top_entities`), read from the store in one query."""
    sent_sql, sent_params = _sentiment_sql(sentiment)
    ent_sql, ent_params = _entity_sql(entities)
    where, wp = _day_sql(start, as_of, "CAST(t.created_at AS DATE)")
    names = names if names is not None else tuple(_name_map(store, sentiment, entities))
    ends = _last_day(alerts)
    found = store.fetchall(
        f"WITH al AS (SELECT unnest(?::BIGINT[]) AS i, unnest(?::VARCHAR[]) AS dim,"  # noqa: S608 - fixed fragments; values are parameters
        " unnest(?::VARCHAR[]) AS value, unnest(?::DATE[]) AS lo, unnest(?::DATE[]) AS hi),"
        " days AS (SELECT DISTINCT CAST(unnest(generate_series(lo, hi, INTERVAL 1 DAY))"
        "  AS DATE) AS day FROM al),"
        f" m AS ({NAME_TABLE_SQL}), ent AS ({ent_sql}), s AS ({sent_sql}),"
        " neg AS MATERIALIZED (SELECT t.ticket_key, t.created_at,"
        " coalesce(t.customer_id, t.ticket_key) AS unit,"
        " CAST(t.created_at AS DATE) AS day, c.segment, c.region, c.plan FROM tickets t"
        " JOIN s ON s.ticket_key = t.ticket_key"
        " LEFT JOIN customers c ON c.customer_id = t.customer_id"
        " WHERE t.created_at IS NOT NULL AND s.label = 'negative'"
        " AND CAST(t.created_at AS DATE) IN (SELECT day FROM days)" + where + "),"
        # the entities of those tickets only (one scan of the entities)
        " ne AS MATERIALIZED (SELECT ent.ticket_key, ent.text, ent.label FROM ent"
        " SEMI JOIN neg ON neg.ticket_key = ent.ticket_key),"
        " hit AS (SELECT DISTINCT ne.ticket_key, m.dim, m.value FROM ne"
        " JOIN m ON m.text = ne.text AND m.label = ne.label"
        " WHERE m.dim IN (SELECT dim FROM al)),"
        " pairs AS MATERIALIZED (SELECT DISTINCT i, ticket_key, created_at, unit FROM ("
        " SELECT al.i, neg.ticket_key, neg.created_at, neg.unit FROM al"
        " JOIN neg ON neg.day >= al.lo AND neg.day <= al.hi"
        " WHERE al.dim = 'all' OR (al.dim = 'segment' AND neg.segment = al.value)"
        " OR (al.dim = 'region' AND neg.region = al.value)"
        " OR (al.dim = 'plan' AND neg.plan = al.value)"
        " UNION ALL SELECT al.i, neg.ticket_key, neg.created_at, neg.unit FROM al"
        " JOIN neg ON neg.day >= al.lo AND neg.day <= al.hi"
        " JOIN hit ON hit.ticket_key = neg.ticket_key AND hit.dim = al.dim"
        " AND hit.value = al.value)),"
        " kk AS (SELECT i, list(ticket_key ORDER BY created_at, ticket_key) AS keys,"
        "  count(DISTINCT unit) AS units FROM pairs GROUP BY i),"
        " et AS (SELECT DISTINCT ticket_key, text FROM ne"
        "  WHERE ticket_key IN (SELECT ticket_key FROM pairs)),"
        " ee AS (SELECT p.i, et.text, count(*) AS n FROM pairs p"
        "  JOIN et ON et.ticket_key = p.ticket_key GROUP BY ALL),"
        " tops AS (SELECT i, list(text ORDER BY n DESC, text) AS texts,"
        "  list(n ORDER BY n DESC, text) AS ns FROM ee GROUP BY i)"
        " SELECT kk.i, kk.keys, kk.units, tops.texts, tops.ns FROM kk"
        " LEFT JOIN tops ON tops.i = kk.i",
        [
            list(range(len(alerts))),
            alerts["dimension"].astype(str).tolist(),
            alerts["value"].astype(str).tolist(),
            [pd.Timestamp(d).date() for d in alerts["since"]],
            list(ends),
            *names,
            *ent_params,
            *sent_params,
            *wp,
        ],
    )
    keys: dict[int, tuple[str, ...]] = {}
    units: dict[int, int] = {}
    named: dict[int, str] = {}
    for i, ks, n_units, texts, ns in found:
        keys[int(i)] = tuple(ks)
        units[int(i)] = int(n_units)
        best = list(zip(texts or [], ns or [], strict=True))[:top]
        named[int(i)] = "; ".join(f"{t} ×{n}" for t, n in best)
    return (
        [keys.get(i, ()) for i in range(len(alerts))],
        [units.get(i, 0) for i in range(len(alerts))],
        [named.get(i, "") for i in range(len(alerts))],
    )


def _top_entities(store: Any, keys: pd.Series, entities: str, top: int = 5) -> list[str]:
    """Per alert, its tickets' most named entities as ``"text ×count; …"`` (most tickets
    first, ties by text)."""
    which = [i for i, ks in enumerate(keys) for _ in ks]
    flat = [k for ks in keys for k in ks]
    if not flat:
        return ["" for _ in keys]
    ent_sql, ent_params = _entity_sql(entities)
    counted = store.fetchall(
        f"WITH ent AS ({ent_sql}), k AS (SELECT unnest(?::BIGINT[]) AS i,"  # noqa: S608 - fixed fragments; values are parameters
        " unnest(?::VARCHAR[]) AS ticket_key),"
        " e AS (SELECT DISTINCT ticket_key, text FROM ent"
        "  WHERE ticket_key IN (SELECT ticket_key FROM k))"
        " SELECT k.i, e.text, count(*) AS n FROM (SELECT DISTINCT i, ticket_key FROM k) k"
        " JOIN e ON e.ticket_key = k.ticket_key GROUP BY ALL",
        [*ent_params, which, flat],
    )
    per: dict[int, list[tuple[int, str]]] = {}
    for i, text, n in counted:
        per.setdefault(int(i), []).append((-int(n), text))
    out = []
    for i in range(len(keys)):
        best = sorted(per.get(i, []))[:top]
        out.append("; ".join(f"{t} ×{-n}" for n, t in best))
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


def false_alarm_rate(
    scan: pd.DataFrame, busy: Iterable[tuple[dt.date, dt.date]] = ()
) -> FalseAlarmReport:
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
        tests=tests,
        alarms=alarms,
        rate=alarms / tests if tests else 0.0,
        quiet_periods=n_quiet,
        alarms_per_30_days=alarms / days * 30 if days else 0.0,
        alarmed=scan.loc[on & scan["alarm"], cols].reset_index(drop=True),
    )


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
        model: the tagger whose results the pages show (None before any tagging).
        model_labelled: tickets in the store with a sentiment label of ``model``.
        gold_labelled: tickets in the store with a demo ground-truth label.
        tickets: tickets in the store.
    """

    sentiment: str
    entities: str
    label: str
    entities_label: str
    model: str | None = None
    model_labelled: int = 0
    gold_labelled: int = 0
    tickets: int = 0

    @property
    def partial(self) -> bool:
        """The signals read the tagger's sentiment although it has not labelled every
        ticket yet (there is no ground truth to use instead)."""
        return self.sentiment != GOLD and self.model_labelled < self.tickets


def signal_source(store: Any, model_id: str | None = None) -> SignalSource | None:
    """The sentiment the signals use: the model's (``ticket_sentiment`` rows of ``model_id``,
    default the tagger that tagged the most tickets) once it has labelled at least as many
    tickets as the demo's gold sentiment covers (or whenever there is no gold sentiment),
    else the gold sentiment; None when neither exists.

    The entities are the model's when it has tagged at least as many tickets as the gold
    sentiment covers (or there is none), else the gold spans. So the first batches of a
    tagging run (shortest tickets first) never replace the ground truth of the whole store
    on the Signals page: with 128 of 3,000 tickets labelled, every alert had vanished.

    Example:
        >>> signal_source(Store.open("demo.duckdb"))                   # doctest: +SKIP
        SignalSource(sentiment='gold', entities='gold', label='demo ground truth', ...)
    """
    from analytics.explore import current_model_id

    model = model_id if model_id is not None else current_model_id(store)
    tickets = int(store.scalar("SELECT count(*) FROM tickets") or 0)
    labelled = tagged = 0
    if _rollup_source(store, GOLD):  # the same counts from the roll-ups
        gold, labelled, tagged = (
            int(v or 0)
            for v in store.fetchall(
                "SELECT (SELECT sum(tickets) FROM rollup_signal_days WHERE model_id = ?),"
                " (SELECT sum(tickets) FROM rollup_signal_days WHERE model_id = ?),"
                " (SELECT sum(tagged) FROM rollup_tagged_days WHERE model_id = ?)",
                [GOLD, model, model],
            )[0]
        )
    else:
        gold = int(
            store.scalar(
                "SELECT count(*) FROM gold_sentiment g SEMI JOIN tickets t"
                " ON t.ticket_key = g.ticket_key"
            )
            or 0
        )
        if model is not None:
            labelled = int(
                store.scalar(
                    "SELECT count(*) FROM ticket_sentiment s SEMI JOIN tickets t"
                    " ON t.ticket_key = s.ticket_key WHERE s.model_id = ?",
                    [model],
                )
                or 0
            )
            tagged = int(
                store.scalar(
                    "SELECT count(*) FROM tagged_tickets g SEMI JOIN tickets t"
                    " ON t.ticket_key = g.ticket_key WHERE g.model_id = ?",
                    [model],
                )
                or 0
            )
    counts = {"model": model, "model_labelled": labelled, "gold_labelled": gold, "tickets": tickets}
    if model is not None and labelled and labelled >= gold:
        return SignalSource(model, model, f"model {model}", f"model {model}", **counts)
    if gold:
        if model is None or tagged < gold:
            return SignalSource(GOLD, GOLD, "demo ground truth", "demo ground truth", **counts)
        return SignalSource(GOLD, model, "demo ground truth", f"model {model}", **counts)
    return None
