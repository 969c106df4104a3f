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

from data.demo.generate import (
    generate_demo,
)
from data.demo.gold import iter_gold_tickets
from data.demo.parameters import (  # noqa: F401 - the package's names
    COMPETITOR_MENTION_RATE,
    COMPLAINT_SHARE,
    CUT_BOOST,
    CUT_WINDOW_DAYS,
    DEMO_INGESTED_AT,
    DEMO_SOURCE,
    EXPERIENCE_FACTOR,
    FIRST_MONTH,
    FRICTION_MEAN,
    FRICTION_SHAPE,
    HAZARD_BASE,
    HAZARD_CAP,
    HAZARD_PER_CUT,
    HAZARD_PER_EXPERIENCE,
    LAST_MONTH,
    MENTION_NEGATIVE,
    N_CUSTOMERS,
    N_MONTHS,
    NEGATIVE_TONE,
    NEUTRAL_TONE,
    OUTAGE_HIT,
    OUTPUT_PRICE_RATIO,
    PLAN_PRICES,
    PLANS,
    POSITIVE_TONE,
    SEGMENTS,
    SENTIMENT_P,
    SENTIMENTS,
    SURGE_SHARE,
    SURGE_TONE,
    TRUE_ELASTICITY,
    DemoSummary,
    GoldTicket,
    Surge,
    plan_price,
)
from data.demo.surges import planned_surges

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
