"""Customers, their planted negative experiences and churn, monthly usage and our price
history (see the package docstring for the model)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from data.demo import vocab as V
from data.demo.parameters import (
    COMPETITOR_MENTION_RATE,
    FIRST_MONTH,
    FRICTION_MEAN,
    FRICTION_SHAPE,
    HAZARD_BASE,
    HAZARD_CAP,
    HAZARD_PER_CUT,
    HAZARD_PER_EXPERIENCE,
    N_CUSTOMERS,
    N_MONTHS,
    OUTAGE_HIT,
    OUTPUT_PRICE_RATIO,
    PLAN_MIX,
    PLAN_PRICES,
    PLANS,
    SEGMENTS,
    SIZE_SCALE,
    TRUE_ELASTICITY,
    VOLUME_MULT,
    Truth,
    month_index,
    month_starts,
    plan_price,
)
from data.demo.surges import planned_surges
from data.reference import price_cut_events


def _cuts_by_month() -> np.ndarray:
    """cuts(k): the summed depth (0–1, deepest model per vendor and day) of the real competitor
    cuts in the two months before month k."""
    out = np.zeros(N_MONTHS)
    events = price_cut_events()
    for (day, _vendor), group in events.groupby(["date", "vendor_id"], sort=True):
        depth = float(-group["pct_change"].min()) / 100.0
        k = month_index(pd.Timestamp(day).date())
        for after in (k + 1, k + 2):
            if 0 <= after < N_MONTHS:
                out[after] += depth
    return out


def _plant_truth(
    rng: np.random.Generator, segment: np.ndarray, region: np.ndarray, signup_k: np.ndarray
) -> Truth:
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
        ko = month_index(surge.start)
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
    hazard = np.minimum(
        HAZARD_CAP,
        base[:, None] * np.exp(HAZARD_PER_EXPERIENCE * previous + HAZARD_PER_CUT * cut_exposure),
    )
    return Truth(experiences, outage, cut_exposure, hazard)


def make_customers(
    rng: np.random.Generator, truth_rng: np.random.Generator
) -> tuple[pd.DataFrame, Truth]:
    n = N_CUSTOMERS
    seg_p = np.array([V.SEGMENT_WEIGHTS[s] for s in SEGMENTS])
    segment = rng.choice(len(SEGMENTS), size=n, p=seg_p / seg_p.sum())
    industry = rng.integers(0, len(V.INDUSTRIES), size=n)
    region_p = np.array(V.REGION_WEIGHTS)
    region = rng.choice(len(V.REGIONS), size=n, p=region_p / region_p.sum())
    plan = np.array([rng.choice(len(PLANS), p=PLAN_MIX[SEGMENTS[s]]) for s in segment])
    scale = np.array([SIZE_SCALE[SEGMENTS[s]] for s in segment])
    size = np.clip(np.round((rng.pareto(1.15, size=n) + 1.0) * 4.0 * scale), 1, 250_000)
    # Sign-up: 55 % before the window (Jan 2023 .. Aug 2024), the rest during it, more later.
    before = rng.random(n) < 0.55
    k_before = rng.integers(-20, 0, size=n)
    k_during = np.floor(N_MONTHS * np.sqrt(rng.random(n))).astype(int).clip(0, N_MONTHS - 2)
    signup_k = np.where(before, k_before, k_during)
    truth = _plant_truth(
        truth_rng,
        np.array([SEGMENTS[s] for s in segment]),
        np.array([V.REGIONS[r] for r in region]),
        signup_k,
    )
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
            name = (
                V.COMPANY_PREFIX[rng.integers(len(V.COMPANY_PREFIX))]
                + " "
                + suffixes[rng.integers(len(suffixes))]
                + V.COMPANY_FORM[rng.integers(len(V.COMPANY_FORM))]
            )
            if name not in taken:
                break
        taken.add(name)
        names.append(name)

    def month_of(k: int) -> date | None:
        if k == -999:
            return None
        y, m = divmod(FIRST_MONTH.month - 1 + int(k), 12)
        return date(FIRST_MONTH.year + y, m + 1, 1)

    return pd.DataFrame(
        {
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
        }
    ), truth


def churn_truth_rows(customers: pd.DataFrame, truth: Truth) -> pd.DataFrame:
    """``demo_churn_truth``: one row per customer and month from sign-up to churn (the churn
    month included: its hazard is the one that fired). The first three months after sign-up
    have hazard 0 (no churn then)."""
    months = month_starts()
    k = np.arange(N_MONTHS)
    signup = customers["_signup_k"].to_numpy()[:, None]
    churn = customers["_churn_k"].to_numpy()[:, None]
    rows_i, rows_k = np.nonzero((k[None, :] >= signup) & (k[None, :] <= churn))
    hazard = np.where(rows_k >= signup[rows_i, 0] + 3, truth.hazard[rows_i, rows_k], 0.0)
    return pd.DataFrame(
        {
            "customer_id": customers["customer_id"].to_numpy()[rows_i],
            "month": [months[j] for j in rows_k],
            "experiences": truth.total[rows_i, rows_k].astype("int32"),
            "cut_exposure": truth.cut_exposure[rows_i, rows_k].round(6),
            "hazard": hazard.round(6),
        }
    )


def _season(month: int) -> float:
    dip = {12: -0.14, 8: -0.08, 1: -0.04}.get(month, 0.0)
    return 1.0 + 0.07 * np.sin(2 * np.pi * (month - 3) / 12) + dip


def make_usage(customers: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    months = month_starts()
    n = len(customers)
    k = np.arange(N_MONTHS)
    seg = customers["segment"].to_numpy()
    eps = np.array([TRUE_ELASTICITY[s] for s in seg])
    base = (
        customers["size"].to_numpy(dtype=float) ** 0.8
        * 4.0e6
        * np.array([VOLUME_MULT[s] for s in seg])
        * rng.lognormal(0.0, 0.6, size=n)
    )
    season = np.array([_season(m.month) for m in months])
    growth = 1.035**k
    since = k[None, :] - customers["_signup_k"].to_numpy()[:, None]
    ramp = np.select([since <= 0, since == 1], [0.5, 0.8], 1.0)
    price = np.array([[plan_price(p, m) for m in months] for p in customers["plan"]])
    noise = rng.normal(0.0, 0.15, size=(n, N_MONTHS))
    tokens = (
        base[:, None]
        * season[None, :]
        * growth[None, :]
        * ramp
        * price ** eps[:, None]
        * np.exp(noise)
    )
    active = (since >= 0) & (k[None, :] < customers["_churn_k"].to_numpy()[:, None])
    out_share = np.clip(rng.normal(0.24, 0.04, size=(n, N_MONTHS)), 0.08, 0.5)
    per_request = rng.lognormal(np.log(1800), 0.3, size=n)
    rows_i, rows_k = np.nonzero(active)
    tok = np.round(tokens[rows_i, rows_k]).astype("int64")
    output = np.round(tok * out_share[rows_i, rows_k]).astype("int64")
    p = price[rows_i, rows_k]
    return pd.DataFrame(
        {
            "customer_id": customers["customer_id"].to_numpy()[rows_i],
            "month": [months[j] for j in rows_k],
            "plan": customers["plan"].to_numpy()[rows_i],
            "requests": np.maximum(1, np.round(tok / per_request[rows_i])).astype("int64"),
            "input_tokens": tok - output,
            "output_tokens": output,
            "price_per_m": p,
            "revenue": np.round(tok / 1e6 * p, 2),
        }
    )


def make_price_history() -> pd.DataFrame:
    rows = []
    for plan, changes in PLAN_PRICES.items():
        for j, (start, blended) in enumerate(changes):
            end = changes[j + 1][0] if j + 1 < len(changes) else None
            # blended = 0.75·in + 0.25·out with out = ratio·in
            inp = blended / (0.75 + 0.25 * OUTPUT_PRICE_RATIO)
            rows.append(
                {
                    "plan": plan,
                    "valid_from": start,
                    "valid_to": end,
                    "input_price_per_m": round(inp, 6),
                    "output_price_per_m": round(inp * OUTPUT_PRICE_RATIO, 6),
                    "price_per_m": blended,
                }
            )
    return pd.DataFrame(rows)
