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

Example:
    >>> t = next(iter_gold_tickets(1, seed=3))
    >>> all(t.text[s:e] for s, e, _ in t.spans)
    True
"""

from __future__ import annotations

import random
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
from data.demo_text import TextEngine, TicketContext
from data.keys import ticket_key
from data.reference import competitor_models, load_competitor_prices, price_cut_events

__all__ = [
    "COMPETITOR_MENTION_RATE",
    "DEMO_SOURCE",
    "FIRST_MONTH",
    "LAST_MONTH",
    "PLANS",
    "PLAN_PRICES",
    "SEGMENTS",
    "TRUE_ELASTICITY",
    "DemoSummary",
    "GoldTicket",
    "generate_demo",
    "iter_gold_tickets",
    "plan_price",
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
_CHURN_HAZARD = {"enterprise": 0.005, "scaleup": 0.011, "smb": 0.018, "developer": 0.028}
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
    """A generated ticket text with its true entity spans ``(start, end, label)``."""

    text: str
    spans: tuple[tuple[int, int, str], ...]


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


def _customers(rng: np.random.Generator) -> pd.DataFrame:
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
    hazard = np.array([_CHURN_HAZARD[SEGMENTS[s]] for s in segment])
    churn_k = np.full(n, -999)
    draws = rng.random((n, N_MONTHS))
    for i in range(n):
        for k in range(max(signup_k[i] + 3, 0), N_MONTHS):
            if draws[i, k] < hazard[i]:
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


def _tickets(customers: pd.DataFrame, usage: pd.DataFrame, n: int, seed: int,
             rng: np.random.Generator,
             progress: Callable[[int, int], None] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    tokens = (usage["input_tokens"] + usage["output_tokens"]).to_numpy(dtype=float)
    cell = np.sort(rng.choice(len(usage), size=n, p=tokens / tokens.sum()))
    months = pd.to_datetime(usage["month"])
    month_start = months.to_numpy().astype("datetime64[s]")[cell]
    days_in = months.dt.days_in_month.to_numpy()[cell]
    # Working days and hours: a weekend day is redrawn once with probability 0.6.
    day = np.floor(rng.random(n) * days_in).astype("int64")
    weekday = (month_start.astype("datetime64[D]").astype("int64") + day + 3) % 7  # 0 = Monday
    redraw = (weekday >= 5) & (rng.random(n) < 0.6)
    day = np.where(redraw, np.floor(rng.random(n) * days_in).astype("int64"), day)
    hour = rng.choice(24, size=n, p=_HOUR_P)
    seconds = day * 86400 + hour * 3600 + rng.integers(0, 3600, size=n)
    created = month_start + seconds.astype("timedelta64[s]")
    order = np.argsort(created, kind="stable")
    cell, created = cell[order], created[order]

    cust_index = pd.Index(customers["customer_id"])
    ci = cust_index.get_indexer(usage["customer_id"].to_numpy()[cell])
    segment = customers["segment"].to_numpy()[ci]
    windows = _cut_windows()
    mention, vendor = _mention_setup(created, segment, rng, windows)
    base_p = np.array(T.CATEGORY_WEIGHTS) / sum(T.CATEGORY_WEIGHTS)
    comp_p = np.array(_COMPETITOR_CATEGORY_P) / sum(_COMPETITOR_CATEGORY_P)
    category = np.where(mention, rng.choice(len(T.CATEGORIES), size=n, p=comp_p),
                        rng.choice(len(T.CATEGORIES), size=n, p=base_p))
    # Customers who churn say so: half their tickets in the last active month are
    # cancellations or downgrades.
    churn = pd.to_datetime(customers["churn_month"]).to_numpy().astype("datetime64[s]")[ci]
    last_month = (~np.isnat(churn)) & (created >= churn - np.timedelta64(31, "D")) & (created < churn)
    leaving = last_month & (rng.random(n) < 0.5)
    category = np.where(leaving, T.CATEGORIES.index("cancellation"), category)
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
        subject = engine.subject(ctx)
        text, spans = engine.ticket(ctx)
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


def iter_gold_tickets(n: int, seed: int) -> Iterator[GoldTicket]:
    """Yield ``n`` generated tickets with their gold entity spans (pure: no store).

    The distribution matches the demo tickets (categories, typos, case, lengths), with
    competitor mentions more frequent so that every label is well represented.

    Args:
        n: how many tickets.
        seed: same seed, same tickets.
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
        yield GoldTicket(text, spans)


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

    Writes customers, usage, price_history, competitor_prices, tickets (source ``demo``) and
    their gold_entities in one transaction; uploaded tickets are kept. Same seed, same rows.

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
    customers = _customers(np.random.default_rng(cust_seq))
    usage = _usage(customers, np.random.default_rng(usage_seq))
    prices = _price_history()
    ticket_df, gold = _tickets(customers, usage, tickets, seed,
                               np.random.default_rng(ticket_seq), progress)
    ticket_df["source"] = DEMO_SOURCE
    ticket_df["ingested_at"] = pd.Timestamp(DEMO_INGESTED_AT).as_unit("us")
    customers = customers.drop(columns=["_signup_k", "_churn_k"])

    def write(conn: Any) -> None:
        conn.execute("DELETE FROM gold_entities WHERE ticket_key IN "
                     "(SELECT ticket_key FROM tickets WHERE source = ?)", [DEMO_SOURCE])
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

    store.write(write)
    n_prices = load_competitor_prices(store)
    return DemoSummary(
        seed=seed, customers=len(customers), usage_rows=len(usage),
        price_changes=len(prices), tickets=len(ticket_df), gold_entities=len(gold),
        competitor_prices=n_prices, first_month=FIRST_MONTH, last_month=LAST_MONTH,
    )
