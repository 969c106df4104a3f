"""The planted surges of negative tickets (the rows of ``demo_surges``, :func:`planned_surges`)
and the real competitor price cuts behind some of them (:func:`cut_windows`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd

from data.demo.parameters import CUT_WINDOW_DAYS, FIRST_MONTH, LAST_MONTH, Surge
from data.reference import price_cut_events


@dataclass(frozen=True)
class CutWindow:
    """A real price cut the demo plants a surge after: when, whose, the new price per 1M."""

    start: datetime
    vendor_id: str
    new_price: float


def cut_windows() -> list[CutWindow]:
    events = price_cut_events()
    out = []
    for (day, vendor_id), group in events.groupby(["date", "vendor_id"], sort=True):
        out.append(
            CutWindow(
                pd.Timestamp(day).to_pydatetime(), str(vendor_id), float(group["new_price"].min())
            )
        )
    return out


def planned_surges() -> tuple[Surge, ...]:
    """The surges of negative tickets the demo plants (rows of ``demo_surges``): a region
    outage, a billing error in one segment, a faulty product, and a burst after every real
    competitor cut inside the demo's months (:func:`data.reference.price_cut_events`)."""
    from data.reference import VENDOR_DISPLAY

    surges = [
        Surge(
            1,
            "outage",
            "region",
            "Europe",
            date(2025, 6, 10),
            3,
            ("api_error", "latency"),
            "API outage in the Europe region: errors and timeouts for three days",
        ),
        Surge(
            2,
            "billing_error",
            "segment",
            "developer",
            date(2025, 12, 3),
            3,
            ("billing",),
            "a billing run charged developer-segment customers twice",
            segments=("developer",),
        ),
        Surge(
            3,
            "product_fault",
            "product",
            "Tessera Voice",
            date(2026, 3, 17),
            3,
            ("api_error", "latency", "integration"),
            "a faulty Tessera Voice release fails for three days",
        ),
    ]
    last_day = date(LAST_MONTH.year, LAST_MONTH.month, 28)
    for w in cut_windows():
        day = w.start.date()
        if not FIRST_MONTH <= day <= last_day - timedelta(days=4):
            continue
        name = VENDOR_DISPLAY.get(w.vendor_id, w.vendor_id)
        surges.append(
            Surge(
                len(surges) + 1,
                "competitor_cut",
                "competitor",
                name,
                day,
                4,
                ("pricing", "cancellation"),
                f"{name} cut its list prices: price-sensitive customers complain naming {name}",
                effect_days=CUT_WINDOW_DAYS - 4,
                segments=("scaleup", "smb", "developer"),
                vendor_id=w.vendor_id,
                price=w.new_price,
            )
        )
    return tuple(surges)


def make_surge_rows(surges: tuple[Surge, ...], counts: dict[int, int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "surge_id": pd.Series([x.surge_id for x in surges], dtype="int32"),
            "kind": pd.Series([x.kind for x in surges], dtype="str"),
            "dimension": pd.Series([x.dimension for x in surges], dtype="str"),
            "value": pd.Series([x.value for x in surges], dtype="str"),
            "start_day": [x.start for x in surges],
            "end_day": [x.end for x in surges],
            "effect_end": [x.effect_end for x in surges],
            "tickets": pd.Series([counts.get(x.surge_id, 0) for x in surges], dtype="int32"),
            "description": pd.Series([x.description for x in surges], dtype="str"),
        }
    )
