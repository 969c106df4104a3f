"""The sidebar's filters, kept in the page address (``?from=…&segment=…``), and the
checks of a link's filter values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import streamlit as st

from analytics.explore import Filters
from dashboard.untrusted_text import md_text
from dashboard.widget_values import chosen_options

FILTER_KEYS = ("from", "to", "segment", "plan", "region")


#: A link's list filter (segment, plan, region) may hold at most this many values …
MAX_FILTER_VALUES = 50
#: … of at most this many characters each.
MAX_FILTER_CHARS = 100
_FILTER_LISTS = {
    "segment": ("segments", "segments"),
    "plan": ("plans", "plans"),
    "region": ("regions", "regions"),
}


def quoted_link_value(value: str, limit: int = 40) -> str:
    """A value from a link, cut to ``limit`` characters and quoted for a note."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def filter_link_problems(
    params: Mapping[str, Sequence[str]],
    options: dict[str, list[str]],
    bounds: tuple[dt.date, dt.date] | None,
) -> list[str]:
    """What is wrong with a link's filters (``from``, ``to``, ``segment``, ``plan``,
    ``region``): one plain sentence per problem, naming the parameter and the reason.

    Example:
        >>> filter_link_problems({"from": ["soon"]}, {}, None)
        ["from='soon' is not a date (YYYY-MM-DD)"]
    """
    problems: list[str] = []
    for key in ("from", "to"):
        values = list(params.get(key) or [])
        if not values:
            continue
        text = values[-1]
        try:
            day = dt.date.fromisoformat(text) if len(text) <= 10 else None
        except ValueError:
            day = None
        if day is None:
            problems.append(f"{key}={quoted_link_value(text)} is not a date (YYYY-MM-DD)")
        elif bounds is not None and not bounds[0] <= day <= bounds[1]:
            problems.append(
                f"{key}={day.isoformat()} is outside the data "
                f"({bounds[0].isoformat()} to {bounds[1].isoformat()})"
            )
    for key, (option_key, noun) in _FILTER_LISTS.items():
        values = list(params.get(key) or [])
        if len(values) > MAX_FILTER_VALUES:
            problems.append(f"{key} has {len(values):,} values (at most {MAX_FILTER_VALUES})")
            continue
        long = [v for v in values if len(v) > MAX_FILTER_CHARS]
        if long:
            problems.append(
                f"{key}={quoted_link_value(long[0])} is longer than {MAX_FILTER_CHARS} characters"
            )
            continue
        known = set(options.get(option_key, []))
        unknown = list(dict.fromkeys(v for v in values if v not in known))
        if unknown:
            problems.append(
                f"{key}="
                + ", ".join(quoted_link_value(v) for v in unknown[:3])
                + (f" and {len(unknown) - 3} more" if len(unknown) > 3 else "")
                + f" {'is' if len(unknown) == 1 else 'are'} not among the {noun}"
            )
    return problems


def sidebar_filters(
    options: dict[str, list[str]], bounds: tuple[dt.date, dt.date] | None
) -> Filters:
    """Date, segment, plan and region filters in the sidebar, bound to the URL query string.

    The period defaults to the last 12 months of data (so KPIs have a previous period to
    compare with). The widgets use ``bind="query-params"``, so ``?from=2025-01-01&segment=smb`` opens the
    same view for whoever gets the link, and their values persist across pages.
    """
    sb = st.sidebar
    sb.subheader("Filters")
    link = {k: st.query_params.get_all(k) for k in FILTER_KEYS if k in st.query_params}
    problems = filter_link_problems(link, options, bounds)
    if problems:
        sb.warning(
            "Values of this link's filters were not used: " + md_text("; ".join(problems)) + ".",
            icon=":material/link_off:",
        )
    start = end = None
    if bounds is not None:
        lo, hi = bounds
        default_start = max(lo, hi - dt.timedelta(days=364))  # the last 12 months
        start = sb.date_input(
            "From",
            value=default_start,
            min_value=lo,
            max_value=hi,
            key="from",
            bind="query-params",
            persist_state="session",
        )
        end = sb.date_input(
            "To",
            value=hi,
            min_value=lo,
            max_value=hi,
            key="to",
            bind="query-params",
            persist_state="session",
        )
    chosen = {
        key: tuple(
            chosen_options(
                sb.multiselect(
                    label,
                    options.get(f"{key}s", []),
                    key=key,
                    placeholder=f"All {key}s",
                    bind="query-params",
                    persist_state="session",
                ),
                options.get(f"{key}s", []),
            )
        )
        for key, label in (("segment", "Segment"), ("plan", "Plan"), ("region", "Region"))
    }
    sb.caption("The filters are part of the page address: copy the URL to share this view.")
    return Filters(
        start=start if isinstance(start, dt.date) else None,
        end=end if isinstance(end, dt.date) else None,
        segments=chosen["segment"],
        plans=chosen["plan"],
        regions=chosen["region"],
    )
