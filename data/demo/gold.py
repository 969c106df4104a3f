"""Generated tickets with gold entity spans, one at a time and without a store
(:func:`iter_gold_tickets`): the tagger's generated training and test texts."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import numpy as np

from data.demo import templates as T
from data.demo import vocab as V
from data.demo.parameters import (
    COMPETITOR_CATEGORY_P,
    COMPETITOR_MENTION_RATE,
    FIRST_MONTH,
    LAST_MONTH,
    PLAN_MIX,
    PLANS,
    SEGMENTS,
    SENTIMENTS,
    GoldTicket,
    plan_price,
)
from data.demo.text import TextEngine, TicketContext
from data.demo.tickets import demo_vendor_prices
from data.demo.tone import sentiment_labels, tone_template, with_tone


def _random_company(rng: random.Random) -> tuple[str, str]:
    industry = rng.choice(V.INDUSTRIES)
    name = (
        rng.choice(V.COMPANY_PREFIX)
        + " "
        + rng.choice(V.INDUSTRY_SUFFIX[industry])
        + rng.choice(V.COMPANY_FORM)
    )
    return name, industry


def iter_gold_tickets(
    n: int,
    seed: int,
    *,
    sentiment: bool = False,
    tone: Callable[[str], str | None] | None = None,
) -> Iterator[GoldTicket]:
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
        tone: with ``sentiment``, gives the tone sentence for a gold label in place of the
            generator's own (for every ticket, neutral ones included; braces become
            parentheses, since the generator's sentences use ``{slot}``), or ``None`` to keep
            the generator's. The tickets are otherwise the same as without it
            (model/real_tone.py).

    Example:
        >>> t = next(iter_gold_tickets(1, seed=3, sentiment=True))
        >>> t.sentiment in SENTIMENTS
        True
    """
    rng = random.Random(seed)
    engine = TextEngine()
    span_days = (LAST_MONTH - FIRST_MONTH).days + 30
    seg_w = [V.SEGMENT_WEIGHTS[s] for s in SEGMENTS]
    vendor_prices = demo_vendor_prices()
    for _ in range(n):
        segment = rng.choices(SEGMENTS, seg_w)[0]
        mention = rng.random() < min(0.9, 2.0 * COMPETITOR_MENTION_RATE[segment] + 0.1)
        category = rng.choices(
            T.CATEGORIES, COMPETITOR_CATEGORY_P if mention else T.CATEGORY_WEIGHTS
        )[0]
        name, industry = _random_company(rng)
        plan = rng.choices(PLANS, PLAN_MIX[segment])[0]
        when = datetime.combine(FIRST_MONTH, datetime.min.time()) + timedelta(
            seconds=rng.randrange(span_days * 86400)
        )
        ctx = TicketContext(
            rng=rng,
            category=category,
            customer=name,
            region=rng.choices(V.REGIONS, V.REGION_WEIGHTS)[0],
            industry=industry,
            plan=plan,
            price=plan_price(plan, when.date()),
            created_at=when,
        )
        if mention:
            TextEngine._vendor(ctx)
            ctx.competitor_price = vendor_prices.get(ctx.vendor or "")
        text, spans = engine.ticket(ctx)
        if not sentiment:
            yield GoldTicket(text, spans)
            continue
        label = SENTIMENTS[
            int(
                sentiment_labels(
                    np.array([T.CATEGORIES.index(category)]),
                    np.array([mention]),
                    np.zeros(1, dtype="int64"),
                    np.array([rng.random()]),
                )[0]
            )
        ]
        template = tone_template(label, rng)  # drawn either way: the same tickets follow
        chosen = tone(label) if tone is not None else None
        if chosen is not None:
            template = chosen.replace("{", "(").replace("}", ")")
        text, spans = with_tone(text, spans, template)
        yield GoldTicket(text, spans, label)
