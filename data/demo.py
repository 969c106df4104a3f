"""Demo data with known ground truth: customers, usage, our prices, tickets and gold entities.

The business: *Tessellate AI* sells an LLM API on three plans to customers in four pricing
segments. Everything is drawn from one seed, so the same seed gives the same rows.

Ground truth the analytics can be checked against:

* Monthly tokens of a customer follow ``A_i · season(m) · growth(m) · ramp_i(m) ·
  price_plan(m) ** TRUE_ELASTICITY[segment] · noise``; our plan prices change at the known
  dates of :data:`PLAN_PRICES`, on different dates for different plans, so a log-log regression
  with month (and customer) effects recovers the elasticity of each segment. Customers keep
  their plan, and churn does not depend on price.
* Tickets arrive in proportion to usage. Competitor mentions are more frequent in price-
  sensitive segments (:data:`COMPETITOR_MENTION_RATE`) and rise for 45 days after each real
  competitor price cut (:func:`data.reference.price_cut_events`), mostly naming the vendor that
  cut.
* Every ticket's entities (PER, ORG, PRODUCT, LOC) are stored in ``gold_entities`` with exact
  character spans.
* Every ticket has a gold sentiment (``gold_sentiment``: negative / neutral / positive), and
  its text says so: a negative or positive ticket carries a sentence in that tone
  (:data:`NEGATIVE_TONE`, :data:`POSITIVE_TONE`), a neutral one none or a matter-of-fact one.
  The label is drawn from the ticket's category (:data:`SENTIMENT_P`), raised towards negative
  by a competitor mention (+:data:`MENTION_NEGATIVE`) and by the customer's negative
  experiences that month (each halves the chance of not being negative).
* Negative experiences are planted per customer and month: a customer's friction rate is
  ``FRICTION_MEAN · Gamma(FRICTION_SHAPE, 1/FRICTION_SHAPE)`` and its experiences in a month
  are Poisson with that rate; the region outage of :data:`PLANNED_SURGES` adds one to each
  customer of the region it hits (with probability :data:`OUTAGE_HIT`). A share
  :data:`COMPLAINT_SHARE` of the tickets are complaints about these experiences (negative,
  placed in the month of the experience, one experience as likely as another whatever the
  customer's size).
* Churn: a customer can leave from its fourth month on, with the monthly hazard ::

      h(i, k) = min(HAZARD_CAP, HAZARD_BASE[segment] · exp(HAZARD_PER_EXPERIENCE · (E(i, k−1)
                + E(i, k−2)) + HAZARD_PER_CUT · exposure[segment] · cuts(k)))

  where E are its negative experiences in the two months before, ``cuts(k)`` sums the depth
  (share of the old price, the deepest model of a vendor) of the real competitor cuts of the
  two months before, and ``exposure`` is the segment's competitor-mention rate relative to the
  most price-sensitive segment. ``demo_churn_truth`` records E, the exposure and h per
  customer and month. Price still does not enter churn.
* Surges of negative tickets are planted (``demo_surges``): a region outage, a billing error
  in one segment, a faulty product, and after every real competitor cut a burst of negative
  tickets naming that vendor (:func:`planned_surges`); each adds :data:`SURGE_SHARE` of the
  tickets over its days.

Example:
    >>> t = next(iter_gold_tickets(1, seed=3))
    >>> all(t.text[s:e] for s, e, _ in t.spans)
    True
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from data import demo_templates as T
from data import demo_vocab as V
from data import rollups
from data.demo_text import TextEngine, TicketContext
from data.keys import ticket_key
from data.reference import competitor_models, load_competitor_prices, price_cut_events

__all__ = [
    "COMPETITOR_MENTION_RATE",
    "DEMO_SOURCE",
    "SENTIMENTS",
    "FIRST_MONTH",
    "LAST_MONTH",
    "PLANS",
    "PLAN_PRICES",
    "SEGMENTS",
    "TRUE_ELASTICITY",
    "DemoSummary",
    "GoldTicket",
    "Surge",
    "generate_demo",
    "iter_gold_tickets",
    "plan_price",
    "planned_surges",
]

SEGMENTS: tuple[str, ...] = ("enterprise", "scaleup", "smb", "developer")
#: True constant price elasticity of monthly token volume, per segment.
TRUE_ELASTICITY: dict[str, float] = {
    "enterprise": -0.6, "scaleup": -1.2, "smb": -1.7, "developer": -2.3,
}
#: Share of a segment's tickets that mention a competitor (before the time trend and cuts).
COMPETITOR_MENTION_RATE: dict[str, float] = {
    "enterprise": 0.05, "scaleup": 0.10, "smb": 0.16, "developer": 0.24,
}
PLANS: tuple[str, ...] = ("Starter", "Pro", "Enterprise")
#: Our blended list price (USD per 1M tokens) per plan, from each date on (first of a month).
PLAN_PRICES: dict[str, tuple[tuple[date, float], ...]] = {
    "Starter": ((date(2024, 1, 1), 1.20), (date(2025, 3, 1), 0.95), (date(2025, 11, 1), 0.80),
                (date(2026, 5, 1), 0.60)),
    "Pro": ((date(2024, 1, 1), 0.90), (date(2025, 1, 1), 0.78), (date(2025, 7, 1), 0.92),
            (date(2026, 2, 1), 0.68)),
    "Enterprise": ((date(2024, 1, 1), 0.70), (date(2025, 5, 1), 0.58), (date(2026, 1, 1), 0.64),
                   (date(2026, 7, 1), 0.48)),
}
OUTPUT_PRICE_RATIO = 4.0  # output tokens cost 4× input tokens on every plan
FIRST_MONTH = date(2024, 9, 1)
LAST_MONTH = date(2026, 8, 1)
N_MONTHS = 24
N_CUSTOMERS = 300
DEMO_SOURCE = "demo"
DEMO_INGESTED_AT = datetime(2026, 9, 1)
CUT_WINDOW_DAYS = 45
CUT_BOOST = 2.5

_PLAN_MIX = {  # P(Starter, Pro, Enterprise) per segment
    "enterprise": (0.10, 0.35, 0.55), "scaleup": (0.25, 0.50, 0.25),
    "smb": (0.45, 0.40, 0.15), "developer": (0.65, 0.30, 0.05),
}
_SIZE_SCALE = {"enterprise": 60.0, "scaleup": 10.0, "smb": 2.5, "developer": 0.6}
_VOLUME_MULT = {"enterprise": 1.4, "scaleup": 1.3, "smb": 0.8, "developer": 0.7}

# -- ground truth of the signals: sentiment, negative experiences, churn, surges ------------

SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")
#: P(negative), P(positive) of a ticket by category, before mentions and experiences.
SENTIMENT_P: dict[str, tuple[float, float]] = {
    "billing": (0.15, 0.08), "pricing": (0.15, 0.06), "api_error": (0.30, 0.04),
    "latency": (0.30, 0.04), "rate_limit": (0.20, 0.06), "account": (0.08, 0.12),
    "integration": (0.15, 0.08), "feature_request": (0.04, 0.30), "data_privacy": (0.05, 0.08),
    "cancellation": (0.60, 0.04),
}
#: Added to P(negative) when the ticket mentions a competitor (P(positive) is halved).
MENTION_NEGATIVE = 0.15
#: Each negative experience of the customer in the ticket's month multiplies P(not negative)
#: and P(positive) by this factor.
EXPERIENCE_FACTOR = 0.5
#: Negative experiences per customer and month: Poisson with a customer rate drawn as
#: FRICTION_MEAN · Gamma(FRICTION_SHAPE, 1 / FRICTION_SHAPE) (a few customers have many).
FRICTION_MEAN = 0.10
FRICTION_SHAPE = 0.35
#: Share of the region's customers the planted outage hits (one negative experience each).
OUTAGE_HIT = 0.6
#: Share of the tickets that are complaints about a planted negative experience.
COMPLAINT_SHARE = 0.15
#: Each planted surge adds this share of the tickets over its days.
SURGE_SHARE = 0.012
#: Monthly churn hazard per segment with no negative experience and no competitor cut.
HAZARD_BASE: dict[str, float] = {
    "enterprise": 0.002, "scaleup": 0.005, "smb": 0.008, "developer": 0.012,
}
#: Log-hazard added per negative experience in the two months before.
HAZARD_PER_EXPERIENCE = 1.5
#: Log-hazard added per unit of cut exposure (cut depth × segment exposure).
HAZARD_PER_CUT = 1.5
HAZARD_CAP = 0.5
_COMPLAINT_CATEGORIES = ("api_error", "latency", "billing", "integration", "rate_limit")
_COMPLAINT_P = (0.30, 0.25, 0.20, 0.15, 0.10)

#: Sentences that carry a ticket's sentiment (no entity): one is added to every negative and
#: positive ticket, and to half the neutral ones.
NEGATIVE_TONE: tuple[str, ...] = (
    "This is really frustrating.", "We are very disappointed with the service.",
    "Honestly this is unacceptable for a paid plan.", "I'm losing patience with this.",
    "This keeps happening and it is hurting our business.", "Very poor experience so far.",
    "We expected much better from you.", "Third time this month, we are not happy.",
    "Our team is fed up with these problems.", "Terrible experience, please fix this.",
    "Not impressed at all, to be honest.", "We are seriously considering other options.",
    "Your support has been slow and unhelpful.", "This is costing us customers.",
    "Disappointing, again.", "We feel ignored and overcharged.",
)
POSITIVE_TONE: tuple[str, ...] = (
    "By the way, we love the product.", "Thanks for the great support so far!",
    "Your team has been fantastic.", "Overall we are very happy with the service.",
    "Great work on the latest release.", "The quality has been excellent, keep it up.",
    "Really impressed with how fast you respond.", "We are delighted with the results so far.",
    "Happy customers here, just one small thing.", "Love what you are building.",
    "Your docs are superb, thank you.", "Everything else works beautifully.",
)
NEUTRAL_TONE: tuple[str, ...] = (
    "Let me know if you need more details.", "We can share logs if that helps.",
    "No rush on this one.", "Please let me know the next steps.",
    "I have attached the details below.", "Just checking how this works.",
    "For context, this is for our internal reporting.", "Same question from a colleague.",
)
#: Sentences of the planted surges, by kind; {vendor} is an ORG, {product} a PRODUCT entity.
SURGE_TONE: dict[str, tuple[str, ...]] = {
    "outage": ("Nothing has worked since this morning and it is costing us money.",
               "This outage is a disaster for our customers.",
               "Everything is down again, this is unacceptable.",
               "We lost a full day of work because of this outage."),
    "billing_error": ("You charged us twice this month, this is unacceptable.",
                      "The invoice is wrong again and nobody answers, very frustrating.",
                      "We are furious about this double charge."),
    "product_fault": ("{product} has been unusable for days, this is unacceptable.",
                      "We are very unhappy: {product} keeps failing since the last update.",
                      "{product} broke our production, terrible release."),
    "competitor_cut": ("After the {vendor} price cut we feel badly overcharged.",
                       "{vendor} is now far cheaper and we are frustrated you have not reacted.",
                       "Very disappointed: {vendor} halved its price and you did nothing."),
}
_CHANNELS = ("email", "chat", "web", "phone", "api")
_CHANNEL_P = (0.42, 0.30, 0.17, 0.05, 0.06)
_PRIORITIES = ("low", "normal", "high", "urgent")
_HUMAN_MINUTES = {  # median minutes to resolve by a human
    "billing": 55, "pricing": 90, "api_error": 190, "latency": 240, "rate_limit": 70,
    "account": 35, "integration": 300, "feature_request": 150, "data_privacy": 420,
    "cancellation": 120,
}
_HOUR_W = np.array([1, 1, 1, 1, 1, 2, 3, 6, 10, 13, 14, 13, 10, 12, 13, 12, 10, 8, 6, 5,
                    4, 3, 2, 1], dtype=float)
_HOUR_P = _HOUR_W / _HOUR_W.sum()
_AI_OK = {"billing", "pricing", "account", "rate_limit", "feature_request", "api_error"}
_COMPETITOR_CATEGORY_P = (0.22, 0.34, 0.04, 0.03, 0.03, 0.02, 0.04, 0.06, 0.02, 0.20)


@dataclass(frozen=True)
class GoldTicket:
    """A generated ticket text with its true entity spans ``(start, end, label)`` and, when
    asked for, its gold sentiment (``None`` otherwise)."""

    text: str
    spans: tuple[tuple[int, int, str], ...]
    sentiment: str | None = None


@dataclass(frozen=True)
class Surge:
    """A planted surge of negative tickets (a row of ``demo_surges``).

    Attributes:
        surge_id: its id.
        kind: ``outage``, ``billing_error``, ``product_fault`` or ``competitor_cut``.
        dimension, value: where an alert should find it (``region`` "Europe", ``segment``
            "developer", ``product`` "Tessera Voice", ``competitor`` "OpenAI").
        start, days: its first day and how many days it lasts.
        categories: the categories of its tickets.
        description: what happened, in words.
        effect_days: days after the burst during which the data stay raised (a competitor
            cut raises mentions for ``CUT_WINDOW_DAYS`` from the cut).
        segments: the segments whose customers file its tickets.
        vendor_id, price: the competitor named and its new price (competitor cuts).
    """

    surge_id: int
    kind: str
    dimension: str
    value: str
    start: date
    days: int
    categories: tuple[str, ...]
    description: str
    effect_days: int = 0
    segments: tuple[str, ...] = SEGMENTS
    vendor_id: str | None = None
    price: float | None = None

    @property
    def end(self) -> date:
        """The last day of the burst."""
        return self.start + timedelta(days=self.days - 1)

    @property
    def effect_end(self) -> date:
        """The last day the data stay raised because of it."""
        return self.end + timedelta(days=self.effect_days)


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`generate_demo` wrote."""

    seed: int
    customers: int
    usage_rows: int
    price_changes: int
    tickets: int
    gold_entities: int
    competitor_prices: int
    first_month: date
    last_month: date
    surges: int = 0
    negative_tickets: int = 0


def plan_price(plan: str, day: date) -> float:
    """Our blended list price of ``plan`` on ``day`` (USD per 1M tokens)."""
    price = PLAN_PRICES[plan][0][1]
    for start, value in PLAN_PRICES[plan]:
        if start <= day:
            price = value
    return price


def _months() -> list[date]:
    return [date(FIRST_MONTH.year + (FIRST_MONTH.month - 1 + k) // 12,
                 (FIRST_MONTH.month - 1 + k) % 12 + 1, 1) for k in range(N_MONTHS)]


def _month_index(day: date) -> int:
    return (day.year - FIRST_MONTH.year) * 12 + day.month - FIRST_MONTH.month


# -- customers and usage -------------------------------------------------------------------


@dataclass(frozen=True)
class _Truth:
    """Planted per customer (row) and month (column): negative experiences from friction
    (complaints are about these), from the outage, the cut exposure and the churn hazard."""

    experiences: np.ndarray
    outage: np.ndarray
    cut_exposure: np.ndarray
    hazard: np.ndarray

    @property
    def total(self) -> np.ndarray:
        """All negative experiences (friction and outage)."""
        return self.experiences + self.outage


def _cuts_by_month() -> np.ndarray:
    """cuts(k): the summed depth (0–1, deepest model per vendor and day) of the real competitor
    cuts in the two months before month k."""
    out = np.zeros(N_MONTHS)
    events = price_cut_events()
    for (day, _vendor), group in events.groupby(["date", "vendor_id"], sort=True):
        depth = float(-group["pct_change"].min()) / 100.0
        k = _month_index(pd.Timestamp(day).date())
        for after in (k + 1, k + 2):
            if 0 <= after < N_MONTHS:
                out[after] += depth
    return out


def _plant_truth(rng: np.random.Generator, segment: np.ndarray, region: np.ndarray,
                 signup_k: np.ndarray) -> _Truth:
    """Negative experiences, cut exposure and the churn hazard (see the module docstring)."""
    n = len(segment)
    k = np.arange(N_MONTHS)
    rate = FRICTION_MEAN * rng.gamma(FRICTION_SHAPE, 1.0 / FRICTION_SHAPE, size=n)
    experiences = rng.poisson(rate[:, None], size=(n, N_MONTHS))
    experiences[k[None, :] < signup_k[:, None]] = 0
    outage = np.zeros((n, N_MONTHS), dtype=experiences.dtype)
    hit_draw = rng.random(n)
    for surge in planned_surges():
        if surge.kind != "outage":
            continue
        ko = _month_index(surge.start)
        hit = (region == surge.value) & (signup_k <= ko) & (hit_draw < OUTAGE_HIT)
        outage[hit, ko] += 1
    total = experiences + outage
    previous = np.zeros((n, N_MONTHS))
    previous[:, 1:] += total[:, :-1]
    previous[:, 2:] += total[:, :-2]
    top = max(COMPETITOR_MENTION_RATE.values())
    exposure = np.array([COMPETITOR_MENTION_RATE[s] / top for s in segment])
    cut_exposure = exposure[:, None] * _cuts_by_month()[None, :]
    base = np.array([HAZARD_BASE[s] for s in segment])
    hazard = np.minimum(HAZARD_CAP, base[:, None] * np.exp(
        HAZARD_PER_EXPERIENCE * previous + HAZARD_PER_CUT * cut_exposure))
    return _Truth(experiences, outage, cut_exposure, hazard)


def _customers(rng: np.random.Generator,
               truth_rng: np.random.Generator) -> tuple[pd.DataFrame, _Truth]:
    n = N_CUSTOMERS
    seg_p = np.array([V.SEGMENT_WEIGHTS[s] for s in SEGMENTS])
    segment = rng.choice(len(SEGMENTS), size=n, p=seg_p / seg_p.sum())
    industry = rng.integers(0, len(V.INDUSTRIES), size=n)
    region_p = np.array(V.REGION_WEIGHTS)
    region = rng.choice(len(V.REGIONS), size=n, p=region_p / region_p.sum())
    plan = np.array([rng.choice(len(PLANS), p=_PLAN_MIX[SEGMENTS[s]]) for s in segment])
    scale = np.array([_SIZE_SCALE[SEGMENTS[s]] for s in segment])
    size = np.clip(np.round((rng.pareto(1.15, size=n) + 1.0) * 4.0 * scale), 1, 250_000)
    # Sign-up: 55 % before the window (Jan 2023 .. Aug 2024), the rest during it, more later.
    before = rng.random(n) < 0.55
    k_before = rng.integers(-20, 0, size=n)
    k_during = np.floor(N_MONTHS * np.sqrt(rng.random(n))).astype(int).clip(0, N_MONTHS - 2)
    signup_k = np.where(before, k_before, k_during)
    truth = _plant_truth(truth_rng, np.array([SEGMENTS[s] for s in segment]),
                         np.array([V.REGIONS[r] for r in region]), signup_k)
    churn_k = np.full(n, -999)
    draws = rng.random((n, N_MONTHS))
    for i in range(n):
        for k in range(max(signup_k[i] + 3, 0), N_MONTHS):
            if draws[i, k] < truth.hazard[i, k]:
                churn_k[i] = k
                break
    names: list[str] = []
    taken: set[str] = set()
    for i in range(n):
        suffixes = V.INDUSTRY_SUFFIX[V.INDUSTRIES[industry[i]]]
        while True:
            name = (V.COMPANY_PREFIX[rng.integers(len(V.COMPANY_PREFIX))] + " "
                    + suffixes[rng.integers(len(suffixes))]
                    + V.COMPANY_FORM[rng.integers(len(V.COMPANY_FORM))])
            if name not in taken:
                break
        taken.add(name)
        names.append(name)

    def month_of(k: int) -> date | None:
        if k == -999:
            return None
        y, m = divmod(FIRST_MONTH.month - 1 + int(k), 12)
        return date(FIRST_MONTH.year + y, m + 1, 1)

    return pd.DataFrame({
        "customer_id": [f"C{i + 1:04d}" for i in range(n)],
        "name": names,
        "segment": [SEGMENTS[s] for s in segment],
        "industry": [V.INDUSTRIES[j] for j in industry],
        "plan": [PLANS[p] for p in plan],
        "region": [V.REGIONS[r] for r in region],
        "size": size.astype("int32"),
        "signup_month": [month_of(k) for k in signup_k],
        "churn_month": [month_of(k) for k in churn_k],
        "_signup_k": signup_k,
        "_churn_k": np.where(churn_k == -999, N_MONTHS, churn_k),
    }), truth


def _churn_truth_rows(customers: pd.DataFrame, truth: _Truth) -> pd.DataFrame:
    """``demo_churn_truth``: one row per customer and month from sign-up to churn (the churn
    month included: its hazard is the one that fired). The first three months after sign-up
    have hazard 0 (no churn then)."""
    months = _months()
    k = np.arange(N_MONTHS)
    signup = customers["_signup_k"].to_numpy()[:, None]
    churn = customers["_churn_k"].to_numpy()[:, None]
    rows_i, rows_k = np.nonzero((k[None, :] >= signup) & (k[None, :] <= churn))
    hazard = np.where(rows_k >= signup[rows_i, 0] + 3, truth.hazard[rows_i, rows_k], 0.0)
    return pd.DataFrame({
        "customer_id": customers["customer_id"].to_numpy()[rows_i],
        "month": [months[j] for j in rows_k],
        "experiences": truth.total[rows_i, rows_k].astype("int32"),
        "cut_exposure": truth.cut_exposure[rows_i, rows_k].round(6),
        "hazard": hazard.round(6),
    })


def _season(month: int) -> float:
    dip = {12: -0.14, 8: -0.08, 1: -0.04}.get(month, 0.0)
    return 1.0 + 0.07 * np.sin(2 * np.pi * (month - 3) / 12) + dip


def _usage(customers: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    months = _months()
    n = len(customers)
    k = np.arange(N_MONTHS)
    seg = customers["segment"].to_numpy()
    eps = np.array([TRUE_ELASTICITY[s] for s in seg])
    base = (customers["size"].to_numpy(dtype=float) ** 0.8 * 4.0e6
            * np.array([_VOLUME_MULT[s] for s in seg]) * rng.lognormal(0.0, 0.6, size=n))
    season = np.array([_season(m.month) for m in months])
    growth = 1.035 ** k
    since = k[None, :] - customers["_signup_k"].to_numpy()[:, None]
    ramp = np.select([since <= 0, since == 1], [0.5, 0.8], 1.0)
    price = np.array([[plan_price(p, m) for m in months] for p in customers["plan"]])
    noise = rng.normal(0.0, 0.15, size=(n, N_MONTHS))
    tokens = (base[:, None] * season[None, :] * growth[None, :] * ramp
              * price ** eps[:, None] * np.exp(noise))
    active = (since >= 0) & (k[None, :] < customers["_churn_k"].to_numpy()[:, None])
    out_share = np.clip(rng.normal(0.24, 0.04, size=(n, N_MONTHS)), 0.08, 0.5)
    per_request = rng.lognormal(np.log(1800), 0.3, size=n)
    rows_i, rows_k = np.nonzero(active)
    tok = np.round(tokens[rows_i, rows_k]).astype("int64")
    output = np.round(tok * out_share[rows_i, rows_k]).astype("int64")
    p = price[rows_i, rows_k]
    return pd.DataFrame({
        "customer_id": customers["customer_id"].to_numpy()[rows_i],
        "month": [months[j] for j in rows_k],
        "plan": customers["plan"].to_numpy()[rows_i],
        "requests": np.maximum(1, np.round(tok / per_request[rows_i])).astype("int64"),
        "input_tokens": tok - output,
        "output_tokens": output,
        "price_per_m": p,
        "revenue": np.round(tok / 1e6 * p, 2),
    })


def _price_history() -> pd.DataFrame:
    rows = []
    for plan, changes in PLAN_PRICES.items():
        for j, (start, blended) in enumerate(changes):
            end = changes[j + 1][0] if j + 1 < len(changes) else None
            # blended = 0.75·in + 0.25·out with out = ratio·in
            inp = blended / (0.75 + 0.25 * OUTPUT_PRICE_RATIO)
            rows.append({"plan": plan, "valid_from": start, "valid_to": end,
                         "input_price_per_m": round(inp, 6),
                         "output_price_per_m": round(inp * OUTPUT_PRICE_RATIO, 6),
                         "price_per_m": blended})
    return pd.DataFrame(rows)


# -- tickets -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CutWindow:
    start: datetime
    vendor_id: str
    new_price: float


def _cut_windows() -> list[_CutWindow]:
    events = price_cut_events()
    out = []
    for (day, vendor_id), group in events.groupby(["date", "vendor_id"], sort=True):
        out.append(_CutWindow(pd.Timestamp(day).to_pydatetime(), str(vendor_id),
                              float(group["new_price"].min())))
    return out


def planned_surges() -> tuple[Surge, ...]:
    """The surges of negative tickets the demo plants (rows of ``demo_surges``): a region
    outage, a billing error in one segment, a faulty product, and a burst after every real
    competitor cut inside the demo's months (:func:`data.reference.price_cut_events`)."""
    from data.reference import VENDOR_DISPLAY

    surges = [
        Surge(1, "outage", "region", "Europe", date(2025, 6, 10), 3, ("api_error", "latency"),
              "API outage in the Europe region: errors and timeouts for three days"),
        Surge(2, "billing_error", "segment", "developer", date(2025, 12, 3), 3, ("billing",),
              "a billing run charged developer-segment customers twice",
              segments=("developer",)),
        Surge(3, "product_fault", "product", "Tessera Voice", date(2026, 3, 17), 3,
              ("api_error", "latency", "integration"),
              "a faulty Tessera Voice release fails for three days"),
    ]
    last_day = date(LAST_MONTH.year, LAST_MONTH.month, 28)
    for w in _cut_windows():
        day = w.start.date()
        if not FIRST_MONTH <= day <= last_day - timedelta(days=4):
            continue
        name = VENDOR_DISPLAY.get(w.vendor_id, w.vendor_id)
        surges.append(Surge(
            len(surges) + 1, "competitor_cut", "competitor", name, day, 4,
            ("pricing", "cancellation"),
            f"{name} cut its list prices: price-sensitive customers complain naming {name}",
            effect_days=CUT_WINDOW_DAYS - 4, segments=("scaleup", "smb", "developer"),
            vendor_id=w.vendor_id, price=w.new_price))
    return tuple(surges)


def _surge_rows(surges: tuple[Surge, ...], counts: dict[int, int]) -> pd.DataFrame:
    return pd.DataFrame({
        "surge_id": pd.Series([x.surge_id for x in surges], dtype="int32"),
        "kind": pd.Series([x.kind for x in surges], dtype="str"),
        "dimension": pd.Series([x.dimension for x in surges], dtype="str"),
        "value": pd.Series([x.value for x in surges], dtype="str"),
        "start_day": [x.start for x in surges],
        "end_day": [x.end for x in surges],
        "effect_end": [x.effect_end for x in surges],
        "tickets": pd.Series([counts.get(x.surge_id, 0) for x in surges], dtype="int32"),
        "description": pd.Series([x.description for x in surges], dtype="str"),
    })


def _vendor_prices() -> dict[str, float]:
    models = competitor_models().dropna(subset=["price_per_m"])
    return {str(k): float(v) for k, v in
            models.groupby("vendor_id")["price_per_m"].quantile(0.25).items()}


def _mention_setup(created: np.ndarray, segment: np.ndarray, rng: np.random.Generator,
                   windows: list[_CutWindow]) -> tuple[np.ndarray, list[str | None]]:
    """Which tickets mention a competitor, and the vendor when a cut drives it."""
    n = len(created)
    start = np.datetime64(FIRST_MONTH, "s")
    months_in = (created - start).astype("timedelta64[s]").astype(float) / (30.44 * 86400)
    rate = np.array([COMPETITOR_MENTION_RATE[s] for s in segment]) * (1 + 0.5 * months_in / N_MONTHS)
    vendor: list[str | None] = [None] * n
    boost = np.ones(n)
    cut_vendor = np.full(n, -1)
    for w_i, w in enumerate(windows):
        lo = np.datetime64(w.start, "s")
        hi = lo + np.timedelta64(CUT_WINDOW_DAYS, "D")
        inside = (created >= lo) & (created < hi)
        boost[inside] = CUT_BOOST
        cut_vendor[inside] = w_i
    mention = rng.random(n) < np.minimum(rate * boost, 0.9)
    pick_cut = rng.random(n) < 0.6
    for i in np.nonzero(mention & (cut_vendor >= 0) & pick_cut)[0]:
        vendor[i] = windows[cut_vendor[i]].vendor_id
    return mention, vendor


def _times_in_months(month_start: np.ndarray, days_in: np.ndarray,
                     rng: np.random.Generator) -> np.ndarray:
    """Times in the given months: working days and hours (a weekend day is redrawn once with
    probability 0.6)."""
    m = len(month_start)
    day = np.floor(rng.random(m) * days_in).astype("int64")
    weekday = (month_start.astype("datetime64[D]").astype("int64") + day + 3) % 7  # 0 = Monday
    redraw = (weekday >= 5) & (rng.random(m) < 0.6)
    day = np.where(redraw, np.floor(rng.random(m) * days_in).astype("int64"), day)
    hour = rng.choice(24, size=m, p=_HOUR_P)
    seconds = day * 86400 + hour * 3600 + rng.integers(0, 3600, size=m)
    return month_start + seconds.astype("timedelta64[s]")


def _extra_counts(n: int, truth: _Truth | None,
                  surges: tuple[Surge, ...]) -> tuple[int, dict[int, int]]:
    """How many of the ``n`` tickets are complaints and how many each surge adds."""
    if truth is None or n <= 0:
        return 0, {}
    complaints = round(COMPLAINT_SHARE * n) if truth.experiences.any() else 0
    per_surge = {x.surge_id: round(SURGE_SHARE * n) for x in surges}
    if complaints + sum(per_surge.values()) > n:
        return 0, {}
    return complaints, per_surge


def _surge_tickets(surges: tuple[Surge, ...], counts: dict[int, int], usage: pd.DataFrame,
                   row_ci: np.ndarray, row_k: np.ndarray, customers: pd.DataFrame,
                   truth: _Truth, rng: np.random.Generator,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer index, time, surge index) of the planted surge tickets. A ticket's customer
    is drawn among those in the surge's scope active that month (for the outage: those it
    hit), in proportion to the square root of their tokens."""
    tokens = (usage["input_tokens"] + usage["output_tokens"]).to_numpy(dtype=float)
    weight = np.sqrt(tokens)
    seg = customers["segment"].to_numpy()[row_ci]
    region = customers["region"].to_numpy()[row_ci]
    out_ci, out_t, out_s = [], [], []
    for j, surge in enumerate(surges):
        m = counts.get(surge.surge_id, 0)
        if m == 0:
            continue
        day = rng.integers(0, surge.days, size=m)
        hour = rng.choice(24, size=m, p=_HOUR_P)
        seconds = day * 86400 + hour * 3600 + rng.integers(0, 3600, size=m)
        created = np.datetime64(surge.start, "s") + seconds.astype("timedelta64[s]")
        scope = np.isin(seg, surge.segments)
        if surge.dimension == "region":
            scope &= region == surge.value
        if surge.kind == "outage":
            scope &= truth.outage[row_ci, row_k] > 0
        ks = np.array([_month_index(d) for d in created.astype("datetime64[D]").tolist()])
        for t in range(m):
            rows = np.nonzero(scope & (row_k == ks[t]))[0]
            if rows.size == 0:
                rows = np.nonzero(row_k == ks[t])[0]
            w = weight[rows]
            out_ci.append(row_ci[rows[rng.choice(rows.size, p=w / w.sum())]])
            out_t.append(created[t])
            out_s.append(j)
    return (np.array(out_ci, dtype="int64"), np.array(out_t, dtype="datetime64[s]"),
            np.array(out_s, dtype="int64"))


def _sentiment_labels(category: np.ndarray, mention: np.ndarray, experiences: np.ndarray,
                      u: np.ndarray) -> np.ndarray:
    """Index into SENTIMENTS of each ticket's gold label (see the module docstring)."""
    names = np.array(T.CATEGORIES)[category]
    neg0 = np.array([SENTIMENT_P[c][0] for c in names]) + MENTION_NEGATIVE * mention
    pos0 = np.array([SENTIMENT_P[c][1] for c in names]) * np.where(mention, 0.5, 1.0)
    keep = EXPERIENCE_FACTOR ** experiences
    neg = 1.0 - (1.0 - neg0) * keep
    pos = pos0 * keep
    return np.where(u < neg, 0, np.where(u < neg + pos, 2, 1))


def _slots(template: str, values: dict[str, tuple[str, str]]
           ) -> tuple[str, list[tuple[int, int, str]]]:
    """A tone sentence with its ``{vendor}`` / ``{product}`` slots filled, and their spans."""
    pieces: list[str] = []
    spans: list[tuple[int, int, str]] = []
    pos = 0
    for part in re.split(r"(\{\w+\})", template):
        if part.startswith("{") and part.endswith("}"):
            value, label = values[part[1:-1]]
            spans.append((pos, pos + len(value), label))
            part = value
        pieces.append(part)
        pos += len(part)
    return "".join(pieces), spans


def _with_tone(text: str, spans: tuple[tuple[int, int, str], ...], template: str | None,
               values: dict[str, tuple[str, str]] | None = None,
               ) -> tuple[str, tuple[tuple[int, int, str], ...]]:
    """``text`` with the tone sentence inserted at the end of its body (before the last
    paragraph break, else at the end), in the ticket's case; the spans moved with it."""
    if template is None:
        return text, spans
    sentence, own = _slots(template, values or {})
    if text == text.lower() != text.upper() and len(sentence.lower()) == len(sentence):
        sentence = sentence.lower()
    elif text == text.upper() != text.lower() and len(sentence.upper()) == len(sentence):
        sentence = sentence.upper()
    brk = max(text.rfind("\n\n"), text.rfind("\r\n\r\n"))
    pos = brk if brk > 0 else len(text)
    lead = ". " if pos and text[pos - 1].isalnum() else " "
    insert = lead + sentence
    moved = [(a + len(insert), b + len(insert), lab) if a >= pos else (a, b, lab)
             for a, b, lab in spans]
    moved += [(pos + len(lead) + a, pos + len(lead) + b, lab) for a, b, lab in own]
    return text[:pos] + insert + text[pos:], tuple(sorted(moved))


def _tone_template(label: str, rng: random.Random) -> str | None:
    if label == "negative":
        return rng.choice(NEGATIVE_TONE)
    if label == "positive":
        return rng.choice(POSITIVE_TONE)
    return rng.choice(NEUTRAL_TONE) if rng.random() < 0.5 else None


def _tickets(customers: pd.DataFrame, usage: pd.DataFrame, n: int, seed: int,
             rng: np.random.Generator,
             progress: Callable[[int, int], None] | None,
             truth: _Truth | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tickets and their gold entities. With ``truth``, some tickets are complaints about
    planted negative experiences and some belong to the planted surges; the tickets frame then
    carries the private columns ``_sentiment``, ``_origin`` and ``_surge_id``."""
    surges = planned_surges() if truth is not None else ()
    n_complaints, surge_counts = _extra_counts(n, truth, surges)
    n_base = n - n_complaints - sum(surge_counts.values())
    tokens = (usage["input_tokens"] + usage["output_tokens"]).to_numpy(dtype=float)
    months = pd.to_datetime(usage["month"])
    row_start = months.to_numpy().astype("datetime64[s]")
    row_days = months.dt.days_in_month.to_numpy()
    cust_index = pd.Index(customers["customer_id"])
    row_ci = cust_index.get_indexer(usage["customer_id"].to_numpy())
    row_k = ((months.dt.year - FIRST_MONTH.year) * 12
             + months.dt.month - FIRST_MONTH.month).to_numpy()

    cell = np.sort(rng.choice(len(usage), size=n_base, p=tokens / tokens.sum()))
    parts_ci = [row_ci[cell]]
    parts_t = [_times_in_months(row_start[cell], row_days[cell], rng)]
    parts_origin = [np.zeros(n_base, dtype="int64")]
    parts_surge = [np.full(n_base, -1, dtype="int64")]
    if n_complaints:
        w = truth.experiences[row_ci, row_k].astype(float)
        cell = rng.choice(len(usage), size=n_complaints, p=w / w.sum())
        parts_ci.append(row_ci[cell])
        parts_t.append(_times_in_months(row_start[cell], row_days[cell], rng))
        parts_origin.append(np.ones(n_complaints, dtype="int64"))
        parts_surge.append(np.full(n_complaints, -1, dtype="int64"))
    if surge_counts:
        s_ci, s_t, s_j = _surge_tickets(surges, surge_counts, usage, row_ci, row_k,
                                        customers, truth, rng)
        parts_ci.append(s_ci)
        parts_t.append(s_t)
        parts_origin.append(np.full(len(s_ci), 2, dtype="int64"))
        parts_surge.append(s_j)
    created = np.concatenate(parts_t).astype("datetime64[s]")
    order = np.argsort(created, kind="stable")
    created = created[order]
    ci = np.concatenate(parts_ci).astype("int64")[order]
    origin = np.concatenate(parts_origin)[order]
    surge_of = np.concatenate(parts_surge)[order]
    in_surge = origin == 2

    segment = customers["segment"].to_numpy()[ci]
    windows = _cut_windows()
    mention, vendor = _mention_setup(created, segment, rng, windows)
    for t in np.nonzero(in_surge)[0]:
        surge = surges[surge_of[t]]
        mention[t] = surge.vendor_id is not None
        vendor[t] = surge.vendor_id
    base_p = np.array(T.CATEGORY_WEIGHTS) / sum(T.CATEGORY_WEIGHTS)
    comp_p = np.array(_COMPETITOR_CATEGORY_P) / sum(_COMPETITOR_CATEGORY_P)
    category = np.where(mention, rng.choice(len(T.CATEGORIES), size=n, p=comp_p),
                        rng.choice(len(T.CATEGORIES), size=n, p=base_p))
    complaint_cat = np.array([T.CATEGORIES.index(c) for c in _COMPLAINT_CATEGORIES])
    complaint_draw = complaint_cat[rng.choice(len(complaint_cat), size=n, p=_COMPLAINT_P)]
    category = np.where(origin == 1, complaint_draw, category)
    for t in np.nonzero(in_surge)[0]:
        cats = surges[surge_of[t]].categories
        category[t] = T.CATEGORIES.index(cats[rng.integers(len(cats))])
    # Customers who churn say so: half their tickets in the last active month are
    # cancellations or downgrades.
    churn = pd.to_datetime(customers["churn_month"]).to_numpy().astype("datetime64[s]")[ci]
    last_month = (~np.isnat(churn)) & (created >= churn - np.timedelta64(31, "D")) & (created < churn)
    leaving = last_month & (rng.random(n) < 0.5) & ~in_surge
    category = np.where(leaving, T.CATEGORIES.index("cancellation"), category)
    kidx = (created.astype("datetime64[M]").astype("int64")
            - np.datetime64(FIRST_MONTH, "M").astype("int64"))
    experienced = (truth.total[ci, np.clip(kidx, 0, N_MONTHS - 1)] if truth is not None
                   else np.zeros(n, dtype="int64"))
    sentiment = _sentiment_labels(category, mention, experienced, rng.random(n))
    sentiment = np.where(origin > 0, 0, sentiment)
    channel = rng.choice(len(_CHANNELS), size=n, p=_CHANNEL_P)
    is_ent = segment == "enterprise"
    urgent_cat = np.isin(category, [T.CATEGORIES.index(c) for c in ("api_error", "latency")])
    pr = rng.random(n) + 0.25 * urgent_cat + 0.1 * is_ent
    priority = np.digitize(pr, [0.25, 0.8, 1.05])
    months_in = (created - np.datetime64(FIRST_MONTH, "s")).astype(float) / (30.44 * 86400)
    ai_share = 0.18 + 0.42 * months_in / N_MONTHS
    ai_ok = np.isin(category, [T.CATEGORIES.index(c) for c in _AI_OK])
    by_ai = ai_ok & (rng.random(n) < ai_share / 0.75)
    end = np.datetime64(LAST_MONTH, "s") + np.timedelta64(31, "D")
    open_ = (created > end - np.timedelta64(9, "D")) & (rng.random(n) < 0.6) | (rng.random(n) < 0.02)
    human_med = np.array([_HUMAN_MINUTES[T.CATEGORIES[c]] for c in category], dtype=float)
    minutes = np.where(by_ai, rng.lognormal(np.log(4.0), 0.6, n),
                       human_med * rng.lognormal(0.0, 0.7, n) * np.where(priority == 3, 0.5, 1.0))
    minutes = np.round(minutes, 1)

    vendor_prices = _vendor_prices()
    win_price = {w.vendor_id: w.new_price for w in windows}
    engine = TextEngine()
    text_rng = random.Random(seed * 7919 + 17)
    tone_rng = random.Random(seed * 7919 + 29)
    keys: list[str] = []
    texts: list[str] = []
    subjects: list[str] = []
    gold_keys: list[str] = []
    gold_rows: list[tuple[int, int, str, str]] = []
    names = customers["name"].to_numpy()
    regions = customers["region"].to_numpy()
    industries = customers["industry"].to_numpy()
    plans = customers["plan"].to_numpy()
    cust_ids = customers["customer_id"].to_numpy()
    created_py = created.astype("datetime64[us]").astype(datetime)
    for t in range(n):
        c = ci[t]
        when = created_py[t]
        v = vendor[t]
        ctx = TicketContext(
            rng=text_rng, category=T.CATEGORIES[category[t]], customer=names[c],
            region=regions[c], industry=industries[c], plan=plans[c],
            price=plan_price(plans[c], when.date()), created_at=when,
            vendor=v if mention[t] else None)
        if mention[t]:
            TextEngine._vendor(ctx)  # the cut vendor, or one drawn by market presence
            vid = ctx.vendor or ""
            ctx.competitor_price = (win_price.get(vid) if v is not None
                                    else vendor_prices.get(vid))
        surge = surges[surge_of[t]] if in_surge[t] else None
        if surge is not None and surge.dimension == "product":
            ctx.cache["product"] = surge.value  # every product the ticket names is this one
        subject = engine.subject(ctx)
        text, spans = engine.ticket(ctx)
        if surge is not None:
            values = {"product": (ctx.cache.get("product", surge.value), "PRODUCT")}
            if surge.vendor_id is not None:
                values["vendor"] = (ctx.cache.get("vendor")
                                    or V.COMPETITOR_ORGS[surge.vendor_id][0], "ORG")
            text, spans = _with_tone(text, spans, tone_rng.choice(SURGE_TONE[surge.kind]),
                                     values)
        elif truth is not None:
            text, spans = _with_tone(text, spans,
                                     _tone_template(SENTIMENTS[sentiment[t]], tone_rng))
        # The key an upload of these columns would get (so a re-upload adds nothing).
        key = ticket_key(text, source_id=f"TCK-{t + 1:06d}", customer_id=cust_ids[c],
                         created_at=when, subject=subject)
        keys.append(key)
        texts.append(text)
        subjects.append(subject)
        for s, e, label in spans:
            gold_keys.append(key)
            gold_rows.append((s, e, label, text[s:e]))
        if progress is not None and (t + 1) % 2000 == 0:
            progress(t + 1, n)
    if progress is not None:
        progress(n, n)

    # Text columns get an explicit string dtype: with no ticket at all, pandas would make
    # them float64 and DuckDB would then compare VARCHAR keys with DOUBLE.
    tickets = pd.DataFrame({
        "ticket_key": pd.Series(keys, dtype="str"),
        "source_id": pd.Series([f"TCK-{t + 1:06d}" for t in range(n)], dtype="str"),
        "customer_id": customers["customer_id"].to_numpy()[ci],
        "created_at": created.astype("datetime64[us]"),
        "channel": np.array(_CHANNELS, dtype=object)[channel],
        "category": np.array(T.CATEGORIES, dtype=object)[category],
        "priority": np.array(_PRIORITIES, dtype=object)[priority],
        "subject": pd.Series(subjects, dtype="str"),
        "text": pd.Series(texts, dtype="str"),
        "resolution_minutes": np.where(open_, np.nan, minutes),
        "resolved_by": np.where(open_, None, np.where(by_ai, "ai", "human")),
    })
    if truth is not None:
        tickets["_sentiment"] = np.array(SENTIMENTS, dtype=object)[sentiment]
        tickets["_origin"] = np.array(("ticket", "experience", "surge"), dtype=object)[origin]
        ids = np.array([x.surge_id for x in surges] + [0], dtype="int64")
        tickets["_surge_id"] = pd.array(np.where(in_surge, ids[surge_of], 0), dtype="Int32")
        tickets.loc[~in_surge, "_surge_id"] = pd.NA
    gold = pd.DataFrame({
        "ticket_key": pd.Series(gold_keys, dtype="str"),
        "start": np.array([r[0] for r in gold_rows], dtype="int32"),
        "end": np.array([r[1] for r in gold_rows], dtype="int32"),
        "label": pd.Series([r[2] for r in gold_rows], dtype="str"),
        "text": pd.Series([r[3] for r in gold_rows], dtype="str"),
    })
    gold = gold.drop_duplicates(["ticket_key", "start", "end", "label"])
    return tickets, gold


def _random_company(rng: random.Random) -> tuple[str, str]:
    industry = rng.choice(V.INDUSTRIES)
    name = (rng.choice(V.COMPANY_PREFIX) + " " + rng.choice(V.INDUSTRY_SUFFIX[industry])
            + rng.choice(V.COMPANY_FORM))
    return name, industry


def iter_gold_tickets(n: int, seed: int, *, sentiment: bool = False) -> Iterator[GoldTicket]:
    """Yield ``n`` generated tickets with their gold entity spans (pure: no store).

    The distribution matches the demo tickets (categories, typos, case, lengths), with
    competitor mentions more frequent so that every label is well represented.

    Args:
        n: how many tickets.
        seed: same seed, same tickets.
        sentiment: also plant a gold sentiment (``GoldTicket.sentiment``) drawn as for the
            demo tickets from the category and the competitor mention (no experiences), with
            its tone sentence in the text. Off by default: the texts are then exactly those
            of earlier versions (the committed tagger was trained on them).

    Example:
        >>> t = next(iter_gold_tickets(1, seed=3, sentiment=True))
        >>> t.sentiment in SENTIMENTS
        True
    """
    rng = random.Random(seed)
    engine = TextEngine()
    span_days = (LAST_MONTH - FIRST_MONTH).days + 30
    seg_w = [V.SEGMENT_WEIGHTS[s] for s in SEGMENTS]
    vendor_prices = _vendor_prices()
    for _ in range(n):
        segment = rng.choices(SEGMENTS, seg_w)[0]
        mention = rng.random() < min(0.9, 2.0 * COMPETITOR_MENTION_RATE[segment] + 0.1)
        category = rng.choices(T.CATEGORIES, _COMPETITOR_CATEGORY_P if mention
                               else T.CATEGORY_WEIGHTS)[0]
        name, industry = _random_company(rng)
        plan = rng.choices(PLANS, _PLAN_MIX[segment])[0]
        when = datetime.combine(FIRST_MONTH, datetime.min.time()) + timedelta(
            seconds=rng.randrange(span_days * 86400))
        ctx = TicketContext(rng=rng, category=category, customer=name,
                            region=rng.choices(V.REGIONS, V.REGION_WEIGHTS)[0],
                            industry=industry, plan=plan, price=plan_price(plan, when.date()),
                            created_at=when)
        if mention:
            TextEngine._vendor(ctx)
            ctx.competitor_price = vendor_prices.get(ctx.vendor or "")
        text, spans = engine.ticket(ctx)
        if not sentiment:
            yield GoldTicket(text, spans)
            continue
        label = SENTIMENTS[int(_sentiment_labels(
            np.array([T.CATEGORIES.index(category)]), np.array([mention]),
            np.zeros(1, dtype="int64"), np.array([rng.random()]))[0])]
        text, spans = _with_tone(text, spans, _tone_template(label, rng))
        yield GoldTicket(text, spans, label)


# -- writing -------------------------------------------------------------------------------


def _insert(conn: Any, table: str, df: pd.DataFrame, columns: list[str],
            casts: dict[str, str] | None = None) -> None:
    casts = casts or {}
    view = f"_demo_{table}"
    with _registered(conn, view, df):
        select = ", ".join(f"CAST({c} AS {casts[c]})" if c in casts else f'"{c}"'
                           for c in columns)
        cols = ", ".join(f'"{c}"' for c in columns)
        conn.execute(f"INSERT INTO {table} ({cols}) SELECT {select} FROM {view}")  # noqa: S608 - fixed names


@contextmanager
def _registered(conn: Any, name: str, df: pd.DataFrame) -> Iterator[None]:
    """``df`` visible to SQL as ``name`` inside the block.

    When the block fails, the transaction is aborted and unregistering would fail too: that
    second error is suppressed so that the first one (the real cause) reaches the caller.
    """
    conn.register(name, df)
    try:
        yield
    except BaseException:
        with suppress(duckdb.Error):
            conn.unregister(name)
        raise
    conn.unregister(name)


def generate_demo(
    store: Any,
    *,
    tickets: int,
    seed: int,
    progress: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    """Replace the demo data in ``store`` with freshly generated rows.

    Writes customers, usage, price_history, competitor_prices, tickets (source ``demo``),
    their gold_entities and gold_sentiment, and the ground truth of the signals
    (demo_surges, demo_churn_truth) in one transaction; uploaded tickets are kept; model
    sentiment of the old demo tickets (ticket_sentiment) is removed with them. Same seed,
    same rows.

    Args:
        store: a writable :class:`data.store.Store`.
        tickets: how many tickets to generate.
        seed: the random seed.
        progress: called as ``progress(done, total)`` while tickets are generated.
    """
    if tickets < 0:
        raise ValueError("tickets must be >= 0")
    root = np.random.SeedSequence(seed)
    cust_seq, usage_seq, ticket_seq = root.spawn(3)
    (truth_seq,) = root.spawn(1)  # spawned after the first three: those streams are unchanged
    customers, truth = _customers(np.random.default_rng(cust_seq),
                                  np.random.default_rng(truth_seq))
    usage = _usage(customers, np.random.default_rng(usage_seq))
    prices = _price_history()
    ticket_df, gold = _tickets(customers, usage, tickets, seed,
                               np.random.default_rng(ticket_seq), progress, truth)
    ticket_df["source"] = DEMO_SOURCE
    ticket_df["ingested_at"] = pd.Timestamp(DEMO_INGESTED_AT).as_unit("us")
    gold_sentiment = pd.DataFrame({
        "ticket_key": ticket_df["ticket_key"],
        "label": ticket_df.pop("_sentiment").astype("str"),
        "origin": ticket_df.pop("_origin").astype("str"),
        "surge_id": ticket_df.pop("_surge_id"),
    })
    surges = planned_surges()
    counted = gold_sentiment["surge_id"].dropna().astype(int).value_counts()
    surge_rows = _surge_rows(surges, {int(k): int(v) for k, v in counted.items()})
    churn_truth = _churn_truth_rows(customers, truth)
    customers = customers.drop(columns=["_signup_k", "_churn_k"])

    def write(conn: Any) -> None:
        for table in ("gold_entities", "gold_sentiment", "ticket_sentiment"):
            conn.execute(f"DELETE FROM {table} WHERE ticket_key IN "  # noqa: S608 - fixed names
                         "(SELECT ticket_key FROM tickets WHERE source = ?)", [DEMO_SOURCE])
        for table in ("demo_surges", "demo_churn_truth"):
            conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
        for table in ("entities", "tagged_tickets"):
            conn.execute(f"DELETE FROM {table} WHERE ticket_key IN "  # noqa: S608 - fixed names
                         "(SELECT ticket_key FROM tickets WHERE source = ?)", [DEMO_SOURCE])
        conn.execute("DELETE FROM tickets WHERE source = ?", [DEMO_SOURCE])
        for table in ("usage", "customers", "price_history"):
            conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
        _insert(conn, "customers", customers, list(customers.columns),
                {"signup_month": "DATE", "churn_month": "DATE"})
        _insert(conn, "usage", usage, list(usage.columns), {"month": "DATE"})
        _insert(conn, "price_history", prices, list(prices.columns),
                {"valid_from": "DATE", "valid_to": "DATE"})
        # An uploaded ticket with the same key (same text and id) is replaced by the demo row.
        with _registered(conn, "_demo_keys", ticket_df[["ticket_key"]]):
            conn.execute("DELETE FROM tickets WHERE ticket_key IN "
                         "(SELECT CAST(ticket_key AS VARCHAR) FROM _demo_keys)")
        _insert(conn, "tickets", ticket_df, list(ticket_df.columns),
                {"created_at": "TIMESTAMP", "ingested_at": "TIMESTAMP",
                 "resolution_minutes": "DOUBLE"})
        _insert(conn, "gold_entities", gold, list(gold.columns))
        _insert(conn, "gold_sentiment", gold_sentiment, list(gold_sentiment.columns),
                {"surge_id": "INTEGER"})
        _insert(conn, "demo_surges", surge_rows, list(surge_rows.columns),
                {"start_day": "DATE", "end_day": "DATE", "effect_end": "DATE"})
        _insert(conn, "demo_churn_truth", churn_truth, list(churn_truth.columns),
                {"month": "DATE"})
        rollups.rebuild_all(conn)  # customers and usage changed: every roll-up again

    store.write(write)
    n_prices = load_competitor_prices(store)
    return DemoSummary(
        seed=seed, customers=len(customers), usage_rows=len(usage),
        price_changes=len(prices), tickets=len(ticket_df), gold_entities=len(gold),
        competitor_prices=n_prices, first_month=FIRST_MONTH, last_month=LAST_MONTH,
        surges=len(surge_rows),
        negative_tickets=int((gold_sentiment["label"] == "negative").sum()),
    )
