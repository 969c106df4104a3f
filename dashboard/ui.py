"""The pages' small UI helpers, one import away: ``from dashboard import ui``.

Each concern lives in its own module; this one re-exports their names (the pages, the
tests and ``startup.PAGE_MODULES`` use them as ``ui.…``):

- ``page_errors``: the error guard (:func:`page_guard`, :func:`guarded`, :func:`friendly_message`);
- ``untrusted_text``: :func:`md_text`, ticket cards and CSV downloads;
- ``viewer_masking``: customer data masked for viewers (:func:`visible_tickets`, …);
- ``formatting``: :func:`fmt_number`, :func:`fmt_price`, :func:`fmt_delta`, :func:`delta_arrow`;
- ``widget_values``: widget values as a page may use them (:func:`chosen_options`, …);
- ``filter_links``: the sidebar's filters kept in the page address;
- ``scenario_links``: what-if inputs read from a link (``?s_…``).

A test that replaces one of these functions must patch the module that defines it (the
modules call each other directly, not through ``ui``).
"""

from __future__ import annotations

from dashboard.filter_links import (
    FILTER_KEYS,
    MAX_FILTER_CHARS,
    MAX_FILTER_VALUES,
    filter_link_problems,
    sidebar_filters,
)
from dashboard.formatting import ZERO_DELTA_SIGN, delta_arrow, fmt_delta, fmt_number, fmt_price
from dashboard.page_errors import ACCESS_GONE_NOTE, F, friendly_message, guarded, log, page_guard
from dashboard.scenario_links import (
    LINK_PROBLEM_KEY,
    LINK_RANGES,
    MAX_LINK_COMPETITORS,
    MAX_LINK_JSON_DEPTH,
    MAX_LINK_MC_WORK,
    MAX_LINK_SEGMENTS,
    MAX_LINK_TEXT,
    MAX_LINK_VALUE_CHARS,
    linked_scenario,
    scenario_link_problems,
)
from dashboard.untrusted_text import (
    CARD_TEXT_STYLE,
    CONTAIN_STYLE,
    CSV_NOTE,
    LABEL_COLOURS,
    LONG_TICKET_CHARS,
    LONG_TICKET_LINES,
    MAX_CARD_HIGHLIGHTS,
    WRAP_STYLE,
    MetaField,
    csv_download,
    highlight_html,
    md_text,
    ticket_card_html,
    ticket_cards_html,
)
from dashboard.viewer_masking import (
    TICKET_ID_COLUMNS,
    TICKET_TEXT_COLUMNS,
    empty_frame,
    invisible_pattern,
    mask_text,
    visible_column,
    visible_tickets,
)
from dashboard.widget_values import MAX_EDITOR_CHANGES, T, chosen_options, drop_oversized_edits

__all__ = [
    # page_errors
    "ACCESS_GONE_NOTE",
    "F",
    "friendly_message",
    "guarded",
    "log",
    "page_guard",
    # untrusted_text
    "CARD_TEXT_STYLE",
    "CONTAIN_STYLE",
    "CSV_NOTE",
    "LABEL_COLOURS",
    "LONG_TICKET_CHARS",
    "LONG_TICKET_LINES",
    "MAX_CARD_HIGHLIGHTS",
    "WRAP_STYLE",
    "MetaField",
    "csv_download",
    "highlight_html",
    "md_text",
    "ticket_card_html",
    "ticket_cards_html",
    # viewer_masking
    "TICKET_ID_COLUMNS",
    "TICKET_TEXT_COLUMNS",
    "empty_frame",
    "mask_text",
    "visible_column",
    "visible_tickets",
    # formatting
    "ZERO_DELTA_SIGN",
    "delta_arrow",
    "fmt_delta",
    "fmt_number",
    "fmt_price",
    # widget_values
    "MAX_EDITOR_CHANGES",
    "T",
    "chosen_options",
    "drop_oversized_edits",
    # filter_links
    "FILTER_KEYS",
    "MAX_FILTER_CHARS",
    "MAX_FILTER_VALUES",
    "filter_link_problems",
    "sidebar_filters",
    # scenario_links
    "LINK_PROBLEM_KEY",
    "LINK_RANGES",
    "MAX_LINK_COMPETITORS",
    "MAX_LINK_JSON_DEPTH",
    "MAX_LINK_MC_WORK",
    "MAX_LINK_SEGMENTS",
    "MAX_LINK_TEXT",
    "MAX_LINK_VALUE_CHARS",
    "linked_scenario",
    "scenario_link_problems",
    # private names some tests use through ``ui``
    "invisible_pattern",
]
