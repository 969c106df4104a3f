"""Untrusted text shown safely: Markdown-escaped labels, ticket cards and CSV downloads.

Ticket text, entity names and uploaded file names are untrusted: they are shown either
with widgets that render plain text (``st.text``, ``st.dataframe``, chart marks) or, where
HTML is needed for highlighting, escaped with :func:`html.escape` and passed to ``st.html``
(which does not interpret Markdown). :func:`md_text` escapes a string for ``st.markdown``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

LABEL_COLOURS: dict[str, str] = {
    "ORG": "#4c78a8",
    "PRODUCT": "#f58518",
    "PER": "#54a24b",
    "LOC": "#b279a2",
}

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$=:])")
#: Markdown's line endings (CommonMark: LF, CR and CR LF): a text shown inline keeps none,
#: or ``"a\r\rb"`` would start a paragraph of its own.
_LINE_END = re.compile(r"\r\n|\r|\n")


#: Explicit bidirectional controls (embeddings, overrides, isolates and their ends): in a
#: one-line label they reorder what follows them, the rest of the line included (an entity
#: name holding U+202E drew a whole alert's list backwards).
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def md_text(value: object) -> str:
    """Escape ``value`` so ``st.markdown`` shows it literally (no Markdown, HTML or LaTeX),
    on one line: every line ending (LF, CR, CR LF) becomes a space, leading spaces and
    tabs (four of them start a code block) are dropped, and an explicit bidirectional
    control is shown as its escape (``\\u202e``), never acted on.

    Example:
        >>> md_text("a\\r\\r# b")
        'a  \\\\# b'
    """
    shown = _BIDI_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", str(value))
    escaped = html.escape(shown, quote=False)  # <, >, & as entities: shown as text
    return _LINE_END.sub(" ", _MD_SPECIAL.sub(r"\\\1", escaped)).lstrip(" \t")


#: Most entities one card highlights (the first by position; the rest of the text is
#: plain). A tagger finds one entity per word of an uploaded "GPT-4o GPT-4o …": ten cards of
#: 14,000 each were 25 MB of HTML sent to the browser at every run of Batch tagging.
MAX_CARD_HIGHLIGHTS = 1_000


def highlight_html(text: str, entities: Sequence[dict[str, Any]]) -> str:
    """``text`` as escaped HTML with each entity span wrapped in a coloured ``<mark>``.

    Every character of ``text`` and of the labels goes through :func:`html.escape`;
    overlapping or out-of-range spans are skipped. Each label is isolated (``<bdi>``), so
    a bidirectional override in the ticket text cannot draw it backwards. At most
    :data:`MAX_CARD_HIGHLIGHTS` spans are marked.
    """
    parts: list[str] = []
    pos = marked = 0
    for ent in sorted(entities, key=lambda e: (int(e["start"]), -int(e["end"]))):
        start, end = int(ent["start"]), int(ent["end"])
        if start < pos or end > len(text) or start >= end:
            continue
        if marked >= MAX_CARD_HIGHLIGHTS:
            break
        marked += 1
        label = str(ent.get("label", ""))
        colour = LABEL_COLOURS.get(label, "#888888")
        parts.append(html.escape(text[pos:start]))
        parts.append(
            f'<mark style="background:{colour}33;border-bottom:2px solid {colour};'
            f'padding:0 2px" title="{html.escape(label)}">{html.escape(text[start:end])}'
            f'<sub style="color:{colour};font-size:0.65em"> <bdi>{html.escape(label)}</bdi>'
            "</sub></mark>"
        )
        pos = end
    parts.append(html.escape(text[pos:]))
    return "".join(parts)


#: CSS of a ticket's text: line breaks kept, any word (even 90,000 characters of one) wrapped
#: at the card's edge instead of widening the card.
WRAP_STYLE = "white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word"
#: CSS of a ticket card: what cannot wrap scrolls inside the card. A line can only break
#: between grapheme clusters, and one cluster can be any length (3,000 emoji joined by
#: zero-width joiners, 5,000 Hangul leading jamo, 5,000 Arabic prepended signs before a
#: letter): such a ticket made the page 15,000-25,000 px wide.
CONTAIN_STYLE = "overflow-x:auto"


#: CSS of a card's text box: at most this tall (about 26 lines), then it scrolls. A ticket of
#: 50,000 short lines (or one long line wrapped) made its card 1,050,036 px tall, and every
#: card after it that far down the page.
CARD_TEXT_STYLE = "max-height:40em;overflow-y:auto"
#: A ticket longer than this (lines, or characters) gets a note under its box saying so.
LONG_TICKET_LINES = 26
LONG_TICKET_CHARS = 3_000


def _long_ticket_note(text: str) -> str:
    """A note under a text that overflows its box ("Long ticket: N lines, …"), or nothing."""
    lines = len(_LINE_END.split(text))
    if lines <= LONG_TICKET_LINES and len(text) <= LONG_TICKET_CHARS:
        return ""
    return (
        '<div style="color:#666;font-size:12px">'
        f"Long ticket: {lines:,} line{'s' if lines != 1 else ''}, {len(text):,} characters; "
        "scroll inside the box to read it all.</div>"
    )


def ticket_card_html(text: str, entities: Sequence[dict[str, Any]], meta: Sequence[object]) -> str:
    """One ticket as an HTML card: escaped ``meta`` line above the highlighted, escaped text,
    wrapped within the card's width (:data:`WRAP_STYLE`); what cannot wrap (one grapheme
    cluster wider than the card) scrolls inside the card (:data:`CONTAIN_STYLE`). The text's
    box is at most :data:`CARD_TEXT_STYLE` tall and scrolls; a long ticket says so under it.

    Example:
        >>> "overflow-wrap:anywhere" in ticket_card_html("x" * 90_000, [], ["smb"])
        True
    """
    # each value isolated (<bdi>): an unclosed right-to-left override in one (a channel
    # "\u202eenterprise") would otherwise draw every value after it backwards
    line = " · ".join(f"<bdi>{html.escape(str(v))}</bdi>" for v in meta)
    return (
        '<div style="border:1px solid #ddd;border-radius:6px;'
        "padding:8px 10px;margin:6px 0;font-family:sans-serif;font-size:14px;"
        "line-height:1.5;max-width:100%;min-width:0;box-sizing:border-box;"
        f'{WRAP_STYLE};{CONTAIN_STYLE}"><div style="color:#666;font-size:12px">{line}</div>'
        f'<div style="{CARD_TEXT_STYLE}"><div style="{WRAP_STYLE}">'
        f"{highlight_html(text, entities)}</div></div>{_long_ticket_note(text)}</div>"
    )


#: A ticket card's meta line: a column, or alternatives (the first with a value is shown).
MetaField = str | tuple[str, ...]


def _meta_value(row: Any, field: MetaField) -> object | None:
    for name in (field,) if isinstance(field, str) else field:
        value = getattr(row, name, None)
        if name == "created_at":
            return value.strftime("%Y-%m-%d %H:%M UTC") if pd.notna(value) else "—"
        if value is not None and str(value) not in {"", "nan", "None", "NaT", "<NA>"}:
            return value
    return None


def ticket_cards_html(
    tickets: pd.DataFrame,
    meta: Sequence[MetaField] = ("created_at", "segment", "channel", "category"),
) -> str:
    """A ticket list (``text``, ``entities`` and the ``meta`` columns) as escaped HTML cards
    with the entities highlighted (:func:`ticket_card_html`), for one ``st.html``. The meta
    line shows the ``meta`` values present (``created_at`` as UTC time, "—" when missing)."""
    cards = []
    for row in tickets.itertuples():
        line = [v for v in (_meta_value(row, f) for f in meta) if v is not None]
        cards.append(ticket_card_html(str(row.text), row.entities, line))
    return "".join(cards)


#: Said under every CSV download button.
CSV_NOTE = (
    "Exported cells that start like a spreadsheet formula (=, +, -, @) are prefixed "
    "so that a spreadsheet shows them as text."
)


def csv_download(
    label: str,
    frame: pd.DataFrame,
    file_name: str,
    key: str,
    *,
    note: bool = True,
    where: Any = None,
) -> None:
    """A download button of ``frame`` as formula-safe CSV (``data.export.to_csv_bytes``),
    with :data:`CSV_NOTE` under it unless ``note`` is False; drawn in ``where`` (a column
    or container; default the page)."""
    from data.export import to_csv_bytes  # neutralises formula-like cells

    target = st if where is None else where
    target.download_button(
        label,
        to_csv_bytes(frame),
        file_name=file_name,
        mime="text/csv",
        icon=":material/download:",
        key=key,
        on_click="ignore",
    )
    if note:
        st.caption(CSV_NOTE)
