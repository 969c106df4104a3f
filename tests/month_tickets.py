"""A CSV of tickets spread over whole months, for tests of the entity rows' day order."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path


def month_tickets_csv(
    path: Path, months: Sequence[int], per_month: int, text: Callable[[int], str]
) -> Path:
    """``per_month`` tickets in each of ``months`` of 2026 (ids ``m<month>n<i>``, days 1–28,
    one minute apart), ticket ``i``'s text ``text(i)``; ``path``."""
    rows = ["id,created_at,channel,category,resolved_by,text"]
    for month in months:
        for i in range(per_month):
            at = dt.datetime(2026, month, 1 + i % 28, 8) + dt.timedelta(minutes=i)
            rows.append(f"m{month}n{i},{at.isoformat()},chat,billing,ai,{text(i)}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path
