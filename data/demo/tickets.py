"""The demo's tickets with gold entities and gold sentiment: every ticket's customer, time,
category, sentiment and handling drawn first (:func:`plan_tickets`: competitor mentions after
real price cuts, complaints about planted experiences, the planted surges' tickets), then their
texts written in chunks (:func:`iter_ticket_chunks`)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from data.demo import templates as T
from data.demo import vocab as V
from data.demo.parameters import (
    AI_OK,
    CHANNEL_P,
    CHANNELS,
    COMPETITOR_CATEGORY_P,
    COMPETITOR_MENTION_RATE,
    COMPLAINT_CATEGORIES,
    COMPLAINT_P,
    COMPLAINT_SHARE,
    CUT_BOOST,
    CUT_WINDOW_DAYS,
    FIRST_MONTH,
    HOUR_P,
    HUMAN_MINUTES,
    LAST_MONTH,
    N_MONTHS,
    PRIORITIES,
    SENTIMENTS,
    SURGE_SHARE,
    SURGE_TONE,
    Surge,
    Truth,
    month_index,
    plan_price,
)
from data.demo.surges import CutWindow, cut_windows, planned_surges
from data.demo.text import TextEngine, TicketContext
from data.demo.tone import sentiment_labels, tone_template, with_tone
from data.keys import ticket_key
from data.reference import competitor_models


def demo_vendor_prices() -> dict[str, float]:
    """Per vendor, the lower quartile of its models' list prices per 1M tokens: the price
    a demo ticket quotes for that vendor outside its price cuts' windows."""
    models = competitor_models().dropna(subset=["price_per_m"])
    return {
        str(k): float(v)
        for k, v in models.groupby("vendor_id")["price_per_m"].quantile(0.25).items()
    }


def mention_setup(
    created: np.ndarray, segment: np.ndarray, rng: np.random.Generator, windows: list[CutWindow]
) -> tuple[np.ndarray, list[str | None]]:
    """Which tickets mention a competitor, and the vendor when a cut drives it."""
    n = len(created)
    start = np.datetime64(FIRST_MONTH, "s")
    months_in = (created - start).astype("timedelta64[s]").astype(float) / (30.44 * 86400)
    rate = np.array([COMPETITOR_MENTION_RATE[s] for s in segment]) * (
        1 + 0.5 * months_in / N_MONTHS
    )
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


def _times_in_months(
    month_start: np.ndarray, days_in: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Times in the given months: working days and hours (a weekend day is redrawn once with
    probability 0.6)."""
    m = len(month_start)
    day = np.floor(rng.random(m) * days_in).astype("int64")
    weekday = (month_start.astype("datetime64[D]").astype("int64") + day + 3) % 7  # 0 = Monday
    redraw = (weekday >= 5) & (rng.random(m) < 0.6)
    day = np.where(redraw, np.floor(rng.random(m) * days_in).astype("int64"), day)
    hour = rng.choice(24, size=m, p=HOUR_P)
    seconds = day * 86400 + hour * 3600 + rng.integers(0, 3600, size=m)
    return month_start + seconds.astype("timedelta64[s]")


def _extra_counts(
    n: int, truth: Truth | None, surges: tuple[Surge, ...]
) -> tuple[int, dict[int, int]]:
    """How many of the ``n`` tickets are complaints and how many each surge adds."""
    if truth is None or n <= 0:
        return 0, {}
    complaints = round(COMPLAINT_SHARE * n) if truth.experiences.any() else 0
    per_surge = {x.surge_id: round(SURGE_SHARE * n) for x in surges}
    if complaints + sum(per_surge.values()) > n:
        return 0, {}
    return complaints, per_surge


def _surge_tickets(
    surges: tuple[Surge, ...],
    counts: dict[int, int],
    usage: pd.DataFrame,
    row_ci: np.ndarray,
    row_k: np.ndarray,
    customers: pd.DataFrame,
    truth: Truth,
    rng: np.random.Generator,
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
        hour = rng.choice(24, size=m, p=HOUR_P)
        seconds = day * 86400 + hour * 3600 + rng.integers(0, 3600, size=m)
        created = np.datetime64(surge.start, "s") + seconds.astype("timedelta64[s]")
        scope = np.isin(seg, surge.segments)
        if surge.dimension == "region":
            scope &= region == surge.value
        if surge.kind == "outage":
            scope &= truth.outage[row_ci, row_k] > 0
        ks = np.array([month_index(d) for d in created.astype("datetime64[D]").tolist()])
        for t in range(m):
            rows = np.nonzero(scope & (row_k == ks[t]))[0]
            if rows.size == 0:
                rows = np.nonzero(row_k == ks[t])[0]
            w = weight[rows]
            out_ci.append(row_ci[rows[rng.choice(rows.size, p=w / w.sum())]])
            out_t.append(created[t])
            out_s.append(j)
    return (
        np.array(out_ci, dtype="int64"),
        np.array(out_t, dtype="datetime64[s]"),
        np.array(out_s, dtype="int64"),
    )


@dataclass(frozen=True)
class TicketPlan:
    """Every ticket's drawn attributes (one entry per ticket, in time order), before texts.

    Drawing them first, all at once, makes the tickets the same whatever the chunk size; the
    texts are then written in chunks (:func:`iter_ticket_chunks`), so ten million tickets
    never sit in memory as Python strings at once.
    """

    n: int
    seed: int
    truth: Truth | None
    surges: tuple[Surge, ...]
    ci: np.ndarray  # customer row of each ticket
    created: np.ndarray  # datetime64[s]
    origin: np.ndarray  # 0 ticket, 1 experience, 2 surge
    surge_of: np.ndarray  # index into surges (-1: none)
    mention: np.ndarray
    vendor: np.ndarray
    windows: list[CutWindow]
    category: np.ndarray
    sentiment: np.ndarray
    channel: np.ndarray
    priority: np.ndarray
    minutes: np.ndarray
    by_ai: np.ndarray
    open_: np.ndarray

    @property
    def in_surge(self) -> np.ndarray:
        return self.origin == 2

    def surge_counts(self) -> dict[int, int]:
        """Tickets per planted surge id (the surges with at least one ticket)."""
        ids = np.array([x.surge_id for x in self.surges], dtype="int64")
        drawn = ids[self.surge_of[self.in_surge]] if len(ids) else np.array([], dtype="int64")
        values, counts = np.unique(drawn, return_counts=True)
        return {int(v): int(c) for v, c in zip(values, counts, strict=True)}


def plan_tickets(
    customers: pd.DataFrame,
    usage: pd.DataFrame,
    n: int,
    seed: int,
    rng: np.random.Generator,
    truth: Truth | None = None,
) -> TicketPlan:
    """Draw every ticket's customer, time, category, sentiment and handling (no text yet).
    With ``truth``, some tickets are complaints about planted negative experiences and some
    belong to the planted surges."""
    surges = planned_surges() if truth is not None else ()
    n_complaints, surge_counts = _extra_counts(n, truth, surges)
    n_base = n - n_complaints - sum(surge_counts.values())
    tokens = (usage["input_tokens"] + usage["output_tokens"]).to_numpy(dtype=float)
    months = pd.to_datetime(usage["month"])
    row_start = months.to_numpy().astype("datetime64[s]")
    row_days = months.dt.days_in_month.to_numpy()
    cust_index = pd.Index(customers["customer_id"])
    row_ci = cust_index.get_indexer(usage["customer_id"].to_numpy())
    row_k = (
        (months.dt.year - FIRST_MONTH.year) * 12 + months.dt.month - FIRST_MONTH.month
    ).to_numpy()

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
        s_ci, s_t, s_j = _surge_tickets(
            surges, surge_counts, usage, row_ci, row_k, customers, truth, rng
        )
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
    windows = cut_windows()
    mention, vendor = mention_setup(created, segment, rng, windows)
    for t in np.nonzero(in_surge)[0]:
        surge = surges[surge_of[t]]
        mention[t] = surge.vendor_id is not None
        vendor[t] = surge.vendor_id
    base_p = np.array(T.CATEGORY_WEIGHTS) / sum(T.CATEGORY_WEIGHTS)
    comp_p = np.array(COMPETITOR_CATEGORY_P) / sum(COMPETITOR_CATEGORY_P)
    category = np.where(
        mention,
        rng.choice(len(T.CATEGORIES), size=n, p=comp_p),
        rng.choice(len(T.CATEGORIES), size=n, p=base_p),
    )
    complaint_cat = np.array([T.CATEGORIES.index(c) for c in COMPLAINT_CATEGORIES])
    complaint_draw = complaint_cat[rng.choice(len(complaint_cat), size=n, p=COMPLAINT_P)]
    category = np.where(origin == 1, complaint_draw, category)
    for t in np.nonzero(in_surge)[0]:
        cats = surges[surge_of[t]].categories
        category[t] = T.CATEGORIES.index(cats[rng.integers(len(cats))])
    # Customers who churn say so: half their tickets in the last active month are
    # cancellations or downgrades.
    churn = pd.to_datetime(customers["churn_month"]).to_numpy().astype("datetime64[s]")[ci]
    last_month = (
        (~np.isnat(churn)) & (created >= churn - np.timedelta64(31, "D")) & (created < churn)
    )
    leaving = last_month & (rng.random(n) < 0.5) & ~in_surge
    category = np.where(leaving, T.CATEGORIES.index("cancellation"), category)
    kidx = created.astype("datetime64[M]").astype("int64") - np.datetime64(FIRST_MONTH, "M").astype(
        "int64"
    )
    experienced = (
        truth.total[ci, np.clip(kidx, 0, N_MONTHS - 1)]
        if truth is not None
        else np.zeros(n, dtype="int64")
    )
    sentiment = sentiment_labels(category, mention, experienced, rng.random(n))
    sentiment = np.where(origin > 0, 0, sentiment)
    channel = rng.choice(len(CHANNELS), size=n, p=CHANNEL_P)
    is_ent = segment == "enterprise"
    urgent_cat = np.isin(category, [T.CATEGORIES.index(c) for c in ("api_error", "latency")])
    pr = rng.random(n) + 0.25 * urgent_cat + 0.1 * is_ent
    priority = np.digitize(pr, [0.25, 0.8, 1.05])
    months_in = (created - np.datetime64(FIRST_MONTH, "s")).astype(float) / (30.44 * 86400)
    ai_share = 0.18 + 0.42 * months_in / N_MONTHS
    ai_ok = np.isin(category, [T.CATEGORIES.index(c) for c in AI_OK])
    by_ai = ai_ok & (rng.random(n) < ai_share / 0.75)
    end = np.datetime64(LAST_MONTH, "s") + np.timedelta64(31, "D")
    open_ = (created > end - np.timedelta64(9, "D")) & (rng.random(n) < 0.6) | (
        rng.random(n) < 0.02
    )
    human_med = np.array([HUMAN_MINUTES[T.CATEGORIES[c]] for c in category], dtype=float)
    minutes = np.where(
        by_ai,
        rng.lognormal(np.log(4.0), 0.6, n),
        human_med * rng.lognormal(0.0, 0.7, n) * np.where(priority == 3, 0.5, 1.0),
    )
    minutes = np.round(minutes, 1)

    return TicketPlan(
        n=n,
        seed=seed,
        truth=truth,
        surges=surges,
        ci=ci,
        created=created,
        origin=origin,
        surge_of=surge_of,
        mention=mention,
        vendor=vendor,
        windows=windows,
        category=category,
        sentiment=sentiment,
        channel=channel,
        priority=priority,
        minutes=minutes,
        by_ai=by_ai,
        open_=open_,
    )


TICKET_CHUNK = 100_000
"""Tickets written per chunk by :func:`data.demo.generate_demo` (peak memory stays near that
of a 100,000-ticket demo, about 0.5 GB, whatever the total)."""


def iter_ticket_chunks(
    plan: TicketPlan,
    customers: pd.DataFrame,
    *,
    chunk_size: int = TICKET_CHUNK,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """``(tickets, gold entities)`` frames of ``chunk_size`` consecutive tickets of ``plan``,
    in order; together the same rows as one frame of all (the text streams run on across
    chunks). No chunk for zero tickets but one empty pair."""
    n, seed, truth, surges = plan.n, plan.seed, plan.truth, plan.surges
    ci, created, origin, surge_of = plan.ci, plan.created, plan.origin, plan.surge_of
    in_surge, mention, vendor, windows = plan.in_surge, plan.mention, plan.vendor, plan.windows
    category, sentiment, channel, priority = (
        plan.category,
        plan.sentiment,
        plan.channel,
        plan.priority,
    )
    minutes, by_ai, open_ = plan.minutes, plan.by_ai, plan.open_
    vendor_prices = demo_vendor_prices()
    win_price = {w.vendor_id: w.new_price for w in windows}
    engine = TextEngine()
    text_rng = random.Random(seed * 7919 + 17)
    tone_rng = random.Random(seed * 7919 + 29)
    names = customers["name"].to_numpy()
    regions = customers["region"].to_numpy()
    industries = customers["industry"].to_numpy()
    plans = customers["plan"].to_numpy()
    cust_ids = customers["customer_id"].to_numpy()
    surge_ids = np.array([x.surge_id for x in surges] + [0], dtype="int64")
    step = max(chunk_size, 1)
    for first in range(0, max(n, 1), step):
        last = min(n, first + step)
        keys: list[str] = []
        texts: list[str] = []
        subjects: list[str] = []
        gold_keys: list[str] = []
        gold_rows: list[tuple[int, int, str, str]] = []
        created_py = created[first:last].astype("datetime64[us]").astype(datetime)
        for t in range(first, last):
            c = ci[t]
            when = created_py[t - first]
            v = vendor[t]
            ctx = TicketContext(
                rng=text_rng,
                category=T.CATEGORIES[category[t]],
                customer=names[c],
                region=regions[c],
                industry=industries[c],
                plan=plans[c],
                price=plan_price(plans[c], when.date()),
                created_at=when,
                vendor=v if mention[t] else None,
            )
            if mention[t]:
                TextEngine._vendor(ctx)  # the cut vendor, or one drawn by market presence
                vid = ctx.vendor or ""
                ctx.competitor_price = (
                    win_price.get(vid) if v is not None else vendor_prices.get(vid)
                )
            surge = surges[surge_of[t]] if in_surge[t] else None
            if surge is not None and surge.dimension == "product":
                ctx.cache["product"] = surge.value  # every product the ticket names is this one
            subject = engine.subject(ctx)
            text, spans = engine.ticket(ctx)
            if surge is not None:
                values = {"product": (ctx.cache.get("product", surge.value), "PRODUCT")}
                if surge.vendor_id is not None:
                    values["vendor"] = (
                        ctx.cache.get("vendor") or V.COMPETITOR_ORGS[surge.vendor_id][0],
                        "ORG",
                    )
                tone = tone_rng.choice(SURGE_TONE[surge.kind])
                text, spans = with_tone(text, spans, tone, values)
            elif truth is not None:
                text, spans = with_tone(
                    text, spans, tone_template(SENTIMENTS[sentiment[t]], tone_rng)
                )
            # The key an upload of these columns would get (so a re-upload adds nothing).
            key = ticket_key(
                text,
                source_id=f"TCK-{t + 1:06d}",
                customer_id=cust_ids[c],
                created_at=when,
                subject=subject,
            )
            keys.append(key)
            texts.append(text)
            subjects.append(subject)
            for s, e, label in spans:
                gold_keys.append(key)
                gold_rows.append((s, e, label, text[s:e]))
            if progress is not None and (t + 1) % 2000 == 0:
                progress(t + 1, n)
        if progress is not None and last == n:
            progress(n, n)
        rows = slice(first, last)
        # Text columns get an explicit string dtype: with no ticket at all, pandas would make
        # them float64 and DuckDB would then compare VARCHAR keys with DOUBLE.
        tickets = pd.DataFrame(
            {
                "ticket_key": pd.Series(keys, dtype="str"),
                "source_id": pd.Series(
                    [f"TCK-{t + 1:06d}" for t in range(first, last)], dtype="str"
                ),
                "customer_id": cust_ids[ci[rows]],
                "created_at": created[rows].astype("datetime64[us]"),
                "channel": np.array(CHANNELS, dtype=object)[channel[rows]],
                "category": np.array(T.CATEGORIES, dtype=object)[category[rows]],
                "priority": np.array(PRIORITIES, dtype=object)[priority[rows]],
                "subject": pd.Series(subjects, dtype="str"),
                "text": pd.Series(texts, dtype="str"),
                "resolution_minutes": np.where(open_[rows], np.nan, minutes[rows]),
                "resolved_by": np.where(open_[rows], None, np.where(by_ai[rows], "ai", "human")),
            }
        )
        if truth is not None:
            tickets["_sentiment"] = np.array(SENTIMENTS, dtype=object)[sentiment[rows]]
            tickets["_origin"] = np.array(("ticket", "experience", "surge"), dtype=object)[
                origin[rows]
            ]
            drawn = np.where(in_surge[rows], surge_ids[surge_of[rows]], 0)
            tickets["_surge_id"] = pd.array(drawn, dtype="Int32")
            tickets.loc[~in_surge[rows], "_surge_id"] = pd.NA
        gold = pd.DataFrame(
            {
                "ticket_key": pd.Series(gold_keys, dtype="str"),
                "start": np.array([r[0] for r in gold_rows], dtype="int32"),
                "end": np.array([r[1] for r in gold_rows], dtype="int32"),
                "label": pd.Series([r[2] for r in gold_rows], dtype="str"),
                "text": pd.Series([r[3] for r in gold_rows], dtype="str"),
            }
        )
        yield tickets, gold.drop_duplicates(["ticket_key", "start", "end", "label"])
