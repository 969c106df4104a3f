"""Surge alerts: negative-ticket share per day or week, per segment, region, plan, product and
competitor mentioned, and a stated statistical rule for a surge.

**Sentiment source.** ``sentiment="gold"`` reads the generator's gold labels
(``gold_sentiment``, demo data); any other value is a model id whose labels are read from
``ticket_sentiment``. Entities (products, competitors) come from ``entities`` of the model id
``entities`` (default: the sentiment's model; ``"gold"`` = ``gold_entities``). Tickets
without a sentiment label are left out of every count. A ticket mentions a competitor when
one of its entities names it by ``data.competitor_names.match_competitor`` (the one rule of
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

**Modules** (one concern each; every public name is importable from ``analytics.alerts``):
``scopes`` (sources, dimensions, periods), ``rule`` (the rule, its p-value, control limit
and false-alarm rate), ``sql`` (the SQL fragments and the one builder of common table
expressions), ``counts`` (:class:`SignalCounts`, their periods and scopes, counted from
the tickets in pandas), ``reading`` (the counts from the roll-ups or the base tables, and
the per-ticket frame), ``scan`` (every test as matrices of periods × values; the trends),
``assembly`` (alerts from the scan: episodes and their figures), ``details`` (each alert's
negative tickets, their writers and most named entities), ``tickets`` (an opened alert's
tickets by key), ``source`` (which sentiment and entities the signals read).

Example:
    >>> round(float(surge_p_value(2, 2, 0, 0)), 3)   # Beta(½, ½) prior: P(X = 2) = 3/8
    0.375
    >>> control_limit(20, base_negative=10, base_tickets=100, alpha=0.001)
    9
"""

from __future__ import annotations

from analytics.alerts.assembly import ALERT_COLUMNS, open_alert_count, surge_alerts
from analytics.alerts.counts import (
    MENTION_COLUMNS,
    SERIES_COLUMNS,
    UNIT_COLUMNS,
    SignalCounts,
    as_counts,
)
from analytics.alerts.details import alert_details, last_day
from analytics.alerts.reading import signal_counts, ticket_signals
from analytics.alerts.rule import (
    STATED_FALSE_ALARM_RATE,
    FalseAlarmReport,
    SurgeRule,
    control_limit,
    false_alarm_rate,
    surge_p_value,
)
from analytics.alerts.scan import negative_share, surge_scan
from analytics.alerts.scopes import DIMENSIONS, ENTITY_DIMS, FREQS, GOLD, NAMED
from analytics.alerts.source import SignalSource, current_tagger, signal_source
from analytics.alerts.sql import NAME_TABLE_SQL
from analytics.alerts.tickets import TICKET_COLUMNS, alert_tickets

__all__ = [
    "ALERT_COLUMNS",
    "DIMENSIONS",
    "ENTITY_DIMS",
    "FREQS",
    "GOLD",
    "MENTION_COLUMNS",
    "NAMED",
    "NAME_TABLE_SQL",
    "SERIES_COLUMNS",
    "STATED_FALSE_ALARM_RATE",
    "TICKET_COLUMNS",
    "UNIT_COLUMNS",
    "FalseAlarmReport",
    "SignalCounts",
    "SignalSource",
    "SurgeRule",
    "alert_details",
    "alert_tickets",
    "as_counts",
    "control_limit",
    "current_tagger",
    "false_alarm_rate",
    "last_day",
    "negative_share",
    "open_alert_count",
    "signal_counts",
    "signal_source",
    "surge_alerts",
    "surge_p_value",
    "surge_scan",
    "ticket_signals",
]

#: Read the signal roll-ups (``data.rollups``) when they are fresh (False: never; every
#: reader of the package looks here at call time).
USE_ROLLUPS = True
