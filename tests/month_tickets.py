"""Tests of the entity rows' day order: a CSV of tickets spread over whole months, and the
check that the Entities pick reads only the newest months' rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


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


def assert_pick_reads_newest_months(
    store: Any, model_id: str, entity: str, label: str, limit: int
) -> None:
    """The Entities pick of ``entity`` answers from its newest months' entity rows (the
    slice check holds) and lists what the path over every row lists."""
    import pandas as pd

    from analytics import explore
    from analytics.explore import Filters
    from analytics.explore import tickets as ticket_lists
    from analytics.explore.filters import ticket_where

    fast = ticket_lists._newest_by_months(
        store, ticket_where(Filters()), Filters(), model_id, entity, label, False, limit
    )
    assert fast is not None, f"the slice check failed for {entity}, limit {limit}"
    kwargs = {"entity": entity, "label": label, "limit": limit}
    got = explore.ticket_list(store, Filters(), model_id, **kwargs)
    with explore.base_tables():
        whole = explore.ticket_list(store, Filters(), model_id, **kwargs)
    pd.testing.assert_frame_equal(got, whole)
    assert [k for k, _ in fast] == whole["ticket_key"].tolist()
