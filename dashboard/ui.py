"""Small UI helpers shared by the pages: error guard, safe text, formatting, filters.

Ticket text, entity names and uploaded file names are untrusted: they are shown either
with widgets that render plain text (``st.text``, ``st.dataframe``, chart marks) or, where
HTML is needed for highlighting, escaped with :func:`html.escape` and passed to ``st.html``
(which does not interpret Markdown). :func:`md_text` escapes a string for ``st.markdown``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import html
import logging
import math
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import streamlit as st

from analytics.explore import Filters
from data.errors import DataError, StoreCorruptError, StoreLockedError

log = logging.getLogger("dashboard")
F = TypeVar("F", bound=Callable[..., Any])

LABEL_COLOURS: dict[str, str] = {
    "ORG": "#4c78a8",
    "PRODUCT": "#f58518",
    "PER": "#54a24b",
    "LOC": "#b279a2",
}

# -- errors -----------------------------------------------------------------------------


def friendly_message(exc: BaseException) -> str:
    """A plain-language message for ``exc`` saying what to do; never a traceback."""
    if isinstance(exc, StoreLockedError):
        return (f"The database is in use by another program ({exc.path.name}). Close the other "
                "program (for example a running `python -m data` command) or set PRICEWAR_DB "
                "to another file, then reload this page.")
    if isinstance(exc, StoreCorruptError):
        return (f"The database file {exc.path.name} cannot be read. Move it aside and restart "
                "the dashboard: it creates a fresh demo database.")
    if isinstance(exc, DataError):
        return f"{exc}"
    if isinstance(exc, ModuleNotFoundError):
        return (f"A part of the application is missing ({exc.name}). Install the requirements "
                "with `pip install -r requirements.txt` and restart.")
    return ("Something went wrong while preparing this page. Try changing the inputs or "
            "reloading the page; if it persists, the details are in the server log.")


@contextlib.contextmanager
def page_guard(what: str = "this page") -> Iterator[None]:
    """Show any exception raised inside as a plain ``st.error`` (logged with traceback)."""
    try:
        yield
    except Exception as exc:  # the user never sees a traceback; the log keeps it
        log.exception("error on %s", what)
        st.error(friendly_message(exc), icon=":material/error:")


def guarded(what: str) -> Callable[[F], F]:
    """Decorator form of :func:`page_guard` (fragments rerun outside the page's guard)."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            with page_guard(what):
                return fn(*args, **kwargs)
            return None

        return inner  # type: ignore[return-value]

    return wrap


# -- untrusted text ---------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$=:])")


def md_text(value: object) -> str:
    """Escape ``value`` so ``st.markdown`` shows it literally (no Markdown, HTML or LaTeX)."""
    escaped = html.escape(str(value), quote=False)  # <, >, & as entities: shown as text
    return _MD_SPECIAL.sub(r"\\\1", escaped).replace("\n", " ")


def highlight_html(text: str, entities: Sequence[dict[str, Any]]) -> str:
    """``text`` as escaped HTML with each entity span wrapped in a coloured ``<mark>``.

    Every character of ``text`` and of the labels goes through :func:`html.escape`;
    overlapping or out-of-range spans are skipped.
    """
    parts: list[str] = []
    pos = 0
    for ent in sorted(entities, key=lambda e: (int(e["start"]), -int(e["end"]))):
        start, end = int(ent["start"]), int(ent["end"])
        if start < pos or end > len(text) or start >= end:
            continue
        label = str(ent.get("label", ""))
        colour = LABEL_COLOURS.get(label, "#888888")
        parts.append(html.escape(text[pos:start]))
        parts.append(
            f'<mark style="background:{colour}33;border-bottom:2px solid {colour};'
            f'padding:0 2px" title="{html.escape(label)}">{html.escape(text[start:end])}'
            f'<sub style="color:{colour};font-size:0.65em"> {html.escape(label)}</sub></mark>'
        )
        pos = end
    parts.append(html.escape(text[pos:]))
    return "".join(parts)


# -- formatting -------------------------------------------------------------------------


def fmt_number(value: float, *, money: bool = False, pct: bool = False) -> str:
    """Short human formatting: 1.2 k, 3.4 M, $5.6 B, 12.3 %; '—' for NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if pct:
        return f"{value * 100:.1f} %"
    sign = "-" if value < 0 else ""
    v = abs(float(value))
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if v >= size:
            text = f"{v / size:.1f} {unit}"
            break
    else:
        text = f"{v:,.2f}" if money and v < 100 else f"{v:,.0f}"
    return f"{sign}${text}" if money else f"{sign}{text}"


def fmt_delta(change: float, *, points: bool = False) -> str | None:
    """Delta text for ``st.metric``: relative change in % or margin points; None if NaN."""
    if change is None or (isinstance(change, float) and (math.isnan(change) or math.isinf(change))):
        return None
    if points:
        return f"{change * 100:+.1f} pts"
    return f"{change * 100:+.1f} %"


# -- sidebar filters kept in the URL ----------------------------------------------------

FILTER_KEYS = ("from", "to", "segment", "plan", "region")


def sidebar_filters(options: dict[str, list[str]], bounds: tuple[dt.date, dt.date] | None) -> Filters:
    """Date, segment, plan and region filters in the sidebar, bound to the URL query string.

    The period defaults to the last 12 months of data (so KPIs have a previous period to
    compare with). The widgets use ``bind="query-params"``, so ``?from=2025-01-01&segment=smb`` opens the
    same view for whoever gets the link, and their values persist across pages.
    """
    sb = st.sidebar
    sb.subheader("Filters")
    start = end = None
    if bounds is not None:
        lo, hi = bounds
        default_start = max(lo, hi - dt.timedelta(days=364))  # the last 12 months
        start = sb.date_input("From", value=default_start, min_value=lo, max_value=hi, key="from",
                              bind="query-params", persist_state="session")
        end = sb.date_input("To", value=hi, min_value=lo, max_value=hi, key="to",
                            bind="query-params", persist_state="session")
    segments = sb.multiselect("Segment", options.get("segments", []), key="segment",
                              placeholder="All segments", bind="query-params",
                              persist_state="session")
    plans = sb.multiselect("Plan", options.get("plans", []), key="plan", placeholder="All plans",
                           bind="query-params", persist_state="session")
    regions = sb.multiselect("Region", options.get("regions", []), key="region",
                             placeholder="All regions", bind="query-params",
                             persist_state="session")
    sb.caption("The filters are part of the page address: copy the URL to share this view.")
    return Filters(
        start=start if isinstance(start, dt.date) else None,
        end=end if isinstance(end, dt.date) else None,
        segments=tuple(segments or ()),
        plans=tuple(plans or ()),
        regions=tuple(regions or ()),
    )
