"""The demo's parameters and ground-truth constants (segments, plans and prices, elasticities,
sentiment, friction, churn hazard, surges) and its result types."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

SEGMENTS: tuple[str, ...] = ("enterprise", "scaleup", "smb", "developer")
#: True constant price elasticity of monthly token volume, per segment.
TRUE_ELASTICITY: dict[str, float] = {
    "enterprise": -0.6,
    "scaleup": -1.2,
    "smb": -1.7,
    "developer": -2.3,
}
#: Share of a segment's tickets that mention a competitor (before the time trend and cuts).
COMPETITOR_MENTION_RATE: dict[str, float] = {
    "enterprise": 0.05,
    "scaleup": 0.10,
    "smb": 0.16,
    "developer": 0.24,
}
PLANS: tuple[str, ...] = ("Starter", "Pro", "Enterprise")
#: Our blended list price (USD per 1M tokens) per plan, from each date on (first of a month).
PLAN_PRICES: dict[str, tuple[tuple[date, float], ...]] = {
    "Starter": (
        (date(2024, 1, 1), 1.20),
        (date(2025, 3, 1), 0.95),
        (date(2025, 11, 1), 0.80),
        (date(2026, 5, 1), 0.60),
    ),
    "Pro": (
        (date(2024, 1, 1), 0.90),
        (date(2025, 1, 1), 0.78),
        (date(2025, 7, 1), 0.92),
        (date(2026, 2, 1), 0.68),
    ),
    "Enterprise": (
        (date(2024, 1, 1), 0.70),
        (date(2025, 5, 1), 0.58),
        (date(2026, 1, 1), 0.64),
        (date(2026, 7, 1), 0.48),
    ),
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

PLAN_MIX = {  # P(Starter, Pro, Enterprise) per segment
    "enterprise": (0.10, 0.35, 0.55),
    "scaleup": (0.25, 0.50, 0.25),
    "smb": (0.45, 0.40, 0.15),
    "developer": (0.65, 0.30, 0.05),
}
SIZE_SCALE = {"enterprise": 60.0, "scaleup": 10.0, "smb": 2.5, "developer": 0.6}
VOLUME_MULT = {"enterprise": 1.4, "scaleup": 1.3, "smb": 0.8, "developer": 0.7}

# -- ground truth of the signals: sentiment, negative experiences, churn, surges ------------

SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")
#: P(negative), P(positive) of a ticket by category, before mentions and experiences.
SENTIMENT_P: dict[str, tuple[float, float]] = {
    "billing": (0.15, 0.08),
    "pricing": (0.15, 0.06),
    "api_error": (0.30, 0.04),
    "latency": (0.30, 0.04),
    "rate_limit": (0.20, 0.06),
    "account": (0.08, 0.12),
    "integration": (0.15, 0.08),
    "feature_request": (0.04, 0.30),
    "data_privacy": (0.05, 0.08),
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
    "enterprise": 0.002,
    "scaleup": 0.005,
    "smb": 0.008,
    "developer": 0.012,
}
#: Log-hazard added per negative experience in the two months before.
HAZARD_PER_EXPERIENCE = 1.5
#: Log-hazard added per unit of cut exposure (cut depth × segment exposure).
HAZARD_PER_CUT = 1.5
HAZARD_CAP = 0.5
COMPLAINT_CATEGORIES = ("api_error", "latency", "billing", "integration", "rate_limit")
COMPLAINT_P = (0.30, 0.25, 0.20, 0.15, 0.10)

#: Sentences that carry a ticket's sentiment (no entity): one is added to every negative and
#: positive ticket, and to half the neutral ones.
NEGATIVE_TONE: tuple[str, ...] = (
    "This is really frustrating.",
    "We are very disappointed with the service.",
    "Honestly this is unacceptable for a paid plan.",
    "I'm losing patience with this.",
    "This keeps happening and it is hurting our business.",
    "Very poor experience so far.",
    "We expected much better from you.",
    "Third time this month, we are not happy.",
    "Our team is fed up with these problems.",
    "Terrible experience, please fix this.",
    "Not impressed at all, to be honest.",
    "We are seriously considering other options.",
    "Your support has been slow and unhelpful.",
    "This is costing us customers.",
    "Disappointing, again.",
    "We feel ignored and overcharged.",
)
POSITIVE_TONE: tuple[str, ...] = (
    "By the way, we love the product.",
    "Thanks for the great support so far!",
    "Your team has been fantastic.",
    "Overall we are very happy with the service.",
    "Great work on the latest release.",
    "The quality has been excellent, keep it up.",
    "Really impressed with how fast you respond.",
    "We are delighted with the results so far.",
    "Happy customers here, just one small thing.",
    "Love what you are building.",
    "Your docs are superb, thank you.",
    "Everything else works beautifully.",
)
NEUTRAL_TONE: tuple[str, ...] = (
    "Let me know if you need more details.",
    "We can share logs if that helps.",
    "No rush on this one.",
    "Please let me know the next steps.",
    "I have attached the details below.",
    "Just checking how this works.",
    "For context, this is for our internal reporting.",
    "Same question from a colleague.",
)
#: Sentences of the planted surges, by kind; {vendor} is an ORG, {product} a PRODUCT entity.
SURGE_TONE: dict[str, tuple[str, ...]] = {
    "outage": (
        "Nothing has worked since this morning and it is costing us money.",
        "This outage is a disaster for our customers.",
        "Everything is down again, this is unacceptable.",
        "We lost a full day of work because of this outage.",
    ),
    "billing_error": (
        "You charged us twice this month, this is unacceptable.",
        "The invoice is wrong again and nobody answers, very frustrating.",
        "We are furious about this double charge.",
    ),
    "product_fault": (
        "{product} has been unusable for days, this is unacceptable.",
        "We are very unhappy: {product} keeps failing since the last update.",
        "{product} broke our production, terrible release.",
    ),
    "competitor_cut": (
        "After the {vendor} price cut we feel badly overcharged.",
        "{vendor} is now far cheaper and we are frustrated you have not reacted.",
        "Very disappointed: {vendor} halved its price and you did nothing.",
    ),
}
CHANNELS = ("email", "chat", "web", "phone", "api")
CHANNEL_P = (0.42, 0.30, 0.17, 0.05, 0.06)
PRIORITIES = ("low", "normal", "high", "urgent")
HUMAN_MINUTES = {  # median minutes to resolve by a human
    "billing": 55,
    "pricing": 90,
    "api_error": 190,
    "latency": 240,
    "rate_limit": 70,
    "account": 35,
    "integration": 300,
    "feature_request": 150,
    "data_privacy": 420,
    "cancellation": 120,
}
_HOUR_W = np.array(
    [1, 1, 1, 1, 1, 2, 3, 6, 10, 13, 14, 13, 10, 12, 13, 12, 10, 8, 6, 5, 4, 3, 2, 1], dtype=float
)
HOUR_P = _HOUR_W / _HOUR_W.sum()
AI_OK = {"billing", "pricing", "account", "rate_limit", "feature_request", "api_error"}
COMPETITOR_CATEGORY_P = (0.22, 0.34, 0.04, 0.03, 0.03, 0.02, 0.04, 0.06, 0.02, 0.20)


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


def month_starts() -> list[date]:
    return [
        date(
            FIRST_MONTH.year + (FIRST_MONTH.month - 1 + k) // 12,
            (FIRST_MONTH.month - 1 + k) % 12 + 1,
            1,
        )
        for k in range(N_MONTHS)
    ]


def month_index(day: date) -> int:
    return (day.year - FIRST_MONTH.year) * 12 + day.month - FIRST_MONTH.month


@dataclass(frozen=True)
class Truth:
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
