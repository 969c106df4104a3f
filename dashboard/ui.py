"""Small UI helpers shared by the pages: error guard, safe text, formatting, filters.

Ticket text, entity names and uploaded file names are untrusted: they are shown either
with widgets that render plain text (``st.text``, ``st.dataframe``, chart marks) or, where
HTML is needed for highlighting, escaped with :func:`html.escape` and passed to ``st.html``
(which does not interpret Markdown). :func:`md_text` escapes a string for ``st.markdown``.

Customer data in ticket text (e-mail addresses, phone numbers, card-like numbers) is masked
for viewers by :func:`visible_tickets` and :func:`visible_column` (``data.masking``), on the
pages and in every download; analysts and admins see it as written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import html
import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from analytics.errors import ScenarioError
from analytics.explore import Filters
from dashboard.access import AccessDenied, User, current_user
from data.errors import DataError, StoreCorruptError, StoreLockedError
from data.inbox_entries import json_depth

log = logging.getLogger("dashboard")
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

LABEL_COLOURS: dict[str, str] = {
    "ORG": "#4c78a8",
    "PRODUCT": "#f58518",
    "PER": "#54a24b",
    "LOC": "#b279a2",
}

# -- errors -----------------------------------------------------------------------------


def friendly_message(exc: BaseException) -> str:
    """A plain-language message for ``exc`` saying what to do; never a traceback."""
    if isinstance(exc, AccessDenied):
        return str(exc)
    if isinstance(exc, StoreLockedError):
        return (
            f"The database is in use by another program ({exc.path.name}). Close the other "
            "program (for example a running `python -m data` command) or set PRICEWAR_DB "
            "to another file, then reload this page."
        )
    if isinstance(exc, StoreCorruptError):
        return (
            f"The database file {exc.path.name} cannot be read. Move it aside and restart "
            "the dashboard: it creates a fresh demo database."
        )
    if isinstance(exc, DataError):
        return f"{exc}"
    if isinstance(exc, ScenarioError):
        return (
            f"These inputs cannot be evaluated: {md_text(exc)}. Change the value named "
            "(or reload the page for the measured defaults)."
        )
    if isinstance(exc, ModuleNotFoundError):
        return (
            f"A part of the application is missing ({exc.name}). Install the requirements "
            "with `pip install -r requirements.txt` and restart."
        )
    return (
        "Something went wrong while preparing this page. Try changing the inputs or "
        "reloading the page; if it persists, the details are in the server log."
    )


@contextlib.contextmanager
def page_guard(what: str = "this page") -> Iterator[None]:
    """Show any exception raised inside as a plain ``st.error`` (logged with traceback).

    A refused action (:class:`dashboard.access.AccessDenied`, already logged and audited)
    is shown as its short message.
    """
    try:
        yield
    except AccessDenied as exc:
        st.error(str(exc), icon=":material/lock:")
    except Exception as exc:  # the user never sees a traceback; the log keeps it
        log.exception("error on %s", what)
        shown = friendly_message(exc)
        if isinstance(exc, DataError) and not isinstance(exc, StoreLockedError | StoreCorruptError):
            shown = md_text(shown)  # its message may quote a file name or a value as text
        st.error(shown, icon=":material/error:")


#: What a fragment shows instead of its content once its user is no longer let in.
ACCESS_GONE_NOTE = (
    "You are no longer let in with this sign-in (the access list or the sign-in changed): "
    "reload the page."
)


def guarded(what: str) -> Callable[[F], F]:
    """Decorator form of :func:`page_guard` for fragments, which rerun outside the page's
    guard and outside ``app.py``'s gate: each run first asks whether the user is still let
    in (the access file is read again when it changes; a sign-out in another tab counts),
    and draws only :data:`ACCESS_GONE_NOTE` when not (round 18: a user taken off the list
    kept getting the what-if through fragment reruns)."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            with page_guard(what):
                if not current_user().allowed:
                    st.warning(ACCESS_GONE_NOTE, icon=":material/lock:")
                    return None
                return fn(*args, **kwargs)
            return None

        return inner  # type: ignore[return-value]

    return wrap


# -- untrusted text ---------------------------------------------------------------------

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


# -- customer data: masked for viewers ----------------------------------------------------

#: Columns of a ticket list (``analytics.explore.ticket_list``) that hold ticket text.
TICKET_TEXT_COLUMNS = ("subject", "text")
#: Other columns of a ticket row that an uploaded file fills with whatever its system had:
#: a helpdesk export keys requesters by e-mail address, a call centre's ticket id is the
#: caller's number, a file is named after a customer. Masked for viewers like the text.
TICKET_ID_COLUMNS = ("customer_id", "source", "source_id", "channel", "category")

#: Code points a page shows as nothing (or as a blank) that may sit inside a number or an
#: address without being seen: the soft hyphen, format characters (zero-width joiners, word
#: joiner, bidirectional marks, the Mongolian vowel separator, invisible operators), control
#: characters other than tab and line breaks, combining marks (the grapheme joiner,
#: variation selectors) and the Hangul fillers.
_HANGUL_FILLERS = (0x115F, 0x1160, 0x3164, 0xFFA0)


@functools.cache
def _invisible_pattern() -> re.Pattern[str]:
    """A character class of every :data:`_HANGUL_FILLERS`-like invisible code point (built
    once per process from the Unicode database)."""
    import unicodedata

    def invisible(cp: int) -> bool:
        if cp in (0x09, 0x0A, 0x0D):
            return False
        return unicodedata.category(chr(cp)) in ("Cf", "Cc", "Mn", "Me") or cp in _HANGUL_FILLERS

    ranges: list[tuple[int, int]] = []
    # planes 0, 1 and 14 (tags, variation selectors): the others hold ideographs and
    # private use only
    for cp in (*range(0x20000), *range(0xE0000, 0xF0000)):
        if 0xD800 <= cp <= 0xDFFF or not invisible(cp):
            continue
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    parts = "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )
    return re.compile(f"[{parts}]")


def mask_text(text: str) -> str:
    """``text`` with its customer data masked (``data.masking.mask_pii``), also where
    invisible characters sit inside a number or an address: ``4111\u00ad1111\u00ad…``
    (soft hyphens pasted from a word processor), ``jane\u00ad.doe@…``, a zero-width joiner
    or a bidirectional mark between digit groups. The page shows such a number whole, so it
    is looked for once more in the text without them, and what is found there is masked in
    the text as written. Same length as ``text`` (entity offsets stay valid).

    Example:
        >>> mask_text("card 4111\u00ad1111\u00ad1111\u00ad1111").replace("\u00ad", "-")
        'card ••••-••••-••••-1111'
    """
    from data.masking import MASK, mask_pii

    masked = mask_pii(text)
    if not isinstance(text, str) or _invisible_pattern().search(text) is None:
        return masked
    dropped = {m.start() for m in _invisible_pattern().finditer(text)}
    kept = [i for i in range(len(text)) if i not in dropped]
    compact = _invisible_pattern().sub("", text)
    found = mask_pii(compact)
    if found == compact:
        return masked
    chars = list(masked)
    for j, c in enumerate(found):
        if c == MASK and compact[j] != MASK:
            chars[kept[j]] = MASK
    return "".join(chars)


def _mask_entities(original: str, masked: str, entities: Any) -> list[dict[str, Any]]:
    """Entities of one ticket with their text read from the masked ticket text (offsets
    stay valid: masking keeps the length); an entity whose text is not its span of the
    ticket is masked on its own."""
    out = []
    for ent in list(entities) if entities is not None else []:
        item = dict(ent)
        start, end = int(item.get("start", -1)), int(item.get("end", -1))
        text = str(item.get("text", ""))
        if 0 <= start <= end <= len(original) and original[start:end] == text:
            item["text"] = masked[start:end]
        else:
            item["text"] = mask_text(text)
        out.append(item)
    return out


def visible_tickets(
    frame: pd.DataFrame, user: User | None = None, *, search: str | None = None
) -> pd.DataFrame:
    """Ticket rows as ``user`` (default: the current user) may see them.

    Analysts and admins see them as they are. For a viewer, e-mail addresses, phone numbers
    and card-like numbers in ``subject`` and ``text`` are masked (``data.masking.mask_pii``),
    and in the ids, file name, channel and category (:data:`TICKET_ID_COLUMNS`),
    each entity's ``text`` is read from the masked text, and with ``search`` (the text
    search that selected the rows) only rows whose masked text still contains it are kept,
    so a viewer cannot find tickets by an address they may not see.

    Example:
        >>> viewer = User(actor="v@example.com", role=Role.VIEWER)  # doctest: +SKIP
        >>> visible_tickets(tickets, viewer)["text"].iloc[0]        # doctest: +SKIP
        'Mail me at •••••••••••••••, thanks'
    """
    user = current_user() if user is None else user
    if user.sees_pii or frame is None or len(frame) == 0:
        return frame
    out = frame.copy()
    if "text" in out.columns:
        originals = ["" if pd.isna(t) else str(t) for t in out["text"]]
        masked = [mask_text(t) for t in originals]
        if "entities" in out.columns:
            out["entities"] = [
                _mask_entities(o, m, e)
                for o, m, e in zip(originals, masked, out["entities"], strict=True)
            ]
        out["text"] = [
            m if not pd.isna(t) else t for m, t in zip(masked, frame["text"], strict=True)
        ]
        if search:
            needle = search.lower()
            out = out[[needle in m.lower() for m in masked]]
    for column in TICKET_TEXT_COLUMNS:
        if column != "text" and column in out.columns:
            out[column] = [t if pd.isna(t) else mask_text(str(t)) for t in out[column]]
    for column in TICKET_ID_COLUMNS:
        if column in out.columns:
            out[column] = _masked_values(out[column])
    return out


def _masked_values(series: pd.Series) -> list[Any]:
    """The values of ``series`` with text masked (:func:`mask_text`), each distinct value
    masked once (ids, file names and channels repeat over thousands of rows)."""
    seen: dict[str, str] = {}
    out: list[Any] = []
    for value in series.tolist():
        if isinstance(value, str):
            masked = seen.get(value)
            if masked is None:
                masked = seen[value] = mask_text(value)
            out.append(masked)
        else:
            out.append(value)
    return out


def visible_column(
    frame: pd.DataFrame, columns: Sequence[str], user: User | None = None
) -> pd.DataFrame:
    """``frame`` with customer data in ``columns`` masked for a viewer (entity names,
    tables derived from ticket text); unchanged for analysts and admins."""
    user = current_user() if user is None else user
    if user.sees_pii or frame is None or len(frame) == 0:
        return frame
    out = frame.copy()
    for column in dict.fromkeys(c for c in columns if c in frame.columns):
        series = out[column]
        if not (
            series.dtype == object or isinstance(series.dtype, pd.StringDtype | pd.CategoricalDtype)
        ):
            continue  # numbers, dates, flags: no text to mask
        values = [v if not isinstance(v, str) else mask_text(v) for v in series.tolist()]
        out[column] = pd.Series(
            values,
            index=series.index,
            name=series.name,
            dtype=series.dtype if isinstance(series.dtype, pd.StringDtype) else object,
        )
    return out


def empty_frame(df: pd.DataFrame | None) -> bool:
    """True for None or a DataFrame without rows."""
    return df is None or len(df) == 0


# -- formatting -------------------------------------------------------------------------


def fmt_number(value: float, *, money: bool = False, pct: bool = False) -> str:
    """Short human formatting: 1.2 k, 3.4 M, $5.6 B, 12.3 %; '—' for NaN, infinity or None.

    Never a negative zero ("-0", "-$0.00", "-0.0 %"), and a positive or negative amount of
    money under half a cent keeps two significant digits ("$0.0043", "$1e-09") instead of
    reading "$0.00".
    """
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "—"
    if not math.isfinite(value):
        return "—"
    v = abs(value)
    if pct:
        text, suffix = f"{v * 100:,.1f}", " %"
    else:
        suffix = ""
        for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
            if round(v / size, 1) >= 1.0:  # 999,950 is "1.0 M", not "1000.0 k"
                text = f"{v / size:,.1f} {unit}"
                break
        else:
            if money and 0 < v < 0.005:
                text = f"{v:.2g}"
            else:
                text = f"{v:,.2f}" if money and v < 100 else f"{v:,.0f}"
    sign = "-" if value < 0 and any(c in "123456789" for c in text) else ""
    return f"{sign}${text}" if money else f"{sign}{text}{suffix}"


def fmt_price(value: float | None) -> str:
    """A price or unit cost in USD per 1M tokens to three decimals; '—' when missing or not
    finite. A positive (or negative) one under $0.0005 keeps two significant digits
    ("$0.00021") instead of reading "$0.000"; no negative zero."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "—"
    if not math.isfinite(v):
        return "—"
    text = f"{abs(v):.2g}" if 0 < abs(v) < 0.0005 else f"{abs(v):,.3f}"
    sign = "-" if v < 0 and any(c in "123456789" for c in text) else ""
    return f"{sign}${text}"


#: The sign of a delta that rounds to zero (neither up nor down).
ZERO_DELTA_SIGN = "±"


def fmt_delta(change: float, *, points: bool = False) -> str | None:
    """Delta text for ``st.metric``: relative change in % or margin points; None if missing,
    NaN or infinite. A change that rounds to zero reads "±0.0 %", never "-0.0 %" (which
    ``st.metric`` would draw as a fall); pass :func:`delta_arrow` of the text as the metric's
    ``delta_arrow`` to draw no arrow for it.

    Example:
        >>> fmt_delta(0.1), fmt_delta(-0.0004), fmt_delta(-0.02, points=True)
        ('+10.0 %', '±0.0 %', '-2.0 pts')
    """
    try:
        value = float(change)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(value * 100):
        return None
    text = f"{abs(value) * 100:,.1f}"
    sign = ZERO_DELTA_SIGN if not any(c in "123456789" for c in text) else "+" if value > 0 else "-"
    return f"{sign}{text} {'pts' if points else '%'}"


def delta_arrow(delta: str | None) -> str:
    """``st.metric``'s ``delta_arrow`` for a :func:`fmt_delta` text: "off" for a change
    that rounds to zero (or none), else "auto"."""
    return "off" if not delta or delta.startswith(ZERO_DELTA_SIGN) else "auto"


# -- values read from widgets (a session may forge any of them) -------------------------


def chosen_options(values: Iterable[T] | None, options: Sequence[T]) -> list[T]:
    """A multi-choice widget's value (``st.multiselect``, ``st.pills``, …) as a page may
    use it: only the widget's own ``options``, each once, in the order chosen.

    Streamlit takes whatever list a session sends for a widget id: a forged message may
    repeat one option 100,000 times or name values that are no option (round 17 of #12:
    a 100,000-entry ``labels`` list reached every query of the Entities page). The result
    holds at most ``len(options)`` values, whatever was sent.
    """
    if values is None:
        return []
    allowed = set(options)
    return [v for v in dict.fromkeys(values) if v in allowed]


#: Rows a data editor's edits may add, edit or delete in one message (the project's tables
#: hold at most a few dozen rows; Streamlit adds rows one ``df.loc`` at a time, so 10,000
#: forged added rows cost minutes of a core inside ``st.data_editor``).
MAX_EDITOR_CHANGES = 200


def drop_oversized_edits(key: str, label: str, max_changes: int = MAX_EDITOR_CHANGES) -> bool:
    """Forget a data editor's edits (call it before ``st.data_editor(key=key)``) when they
    add, edit or delete more than ``max_changes`` rows, with a warning naming the table;
    True when dropped.

    Streamlit applies a data editor's edits inside ``st.data_editor``, before the page can
    look at them: 10,000 added rows sent in one 0.5 MB message kept a page run busy for
    minutes (round 17 of #12). The table then shows its rows as they were.
    """
    edits = st.session_state.get(key)
    if not isinstance(edits, Mapping):
        return False
    changes = {
        part: len(edits.get(part) or ()) for part in ("added_rows", "edited_rows", "deleted_rows")
    }
    if max(changes.values()) <= max_changes:
        return False
    del st.session_state[key]
    st.warning(
        f"The edits of the {md_text(label)} were not used: they changed "
        f"{max(changes.values()):,} rows at once (at most {max_changes:,}).",
        icon=":material/table_rows:",
    )
    return True


# -- sidebar filters kept in the URL ----------------------------------------------------

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


def _shown(value: str, limit: int = 40) -> str:
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
            problems.append(f"{key}={_shown(text)} is not a date (YYYY-MM-DD)")
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
            problems.append(f"{key}={_shown(long[0])} is longer than {MAX_FILTER_CHARS} characters")
            continue
        known = set(options.get(option_key, []))
        unknown = list(dict.fromkeys(v for v in values if v not in known))
        if unknown:
            problems.append(
                f"{key}="
                + ", ".join(_shown(v) for v in unknown[:3])
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


# -- what-if inputs read from a link (``?s_…``) -------------------------------------------

#: Longest value of one ``s_…`` parameter (20 segments of a link take about 6 KiB).
MAX_LINK_VALUE_CHARS = 16 * 1024
#: Deepest JSON nesting a link's segments or competitors may have (a list of lists).
MAX_LINK_JSON_DEPTH = 2
#: Most demand segments / competitors a link may carry.
MAX_LINK_SEGMENTS = 20
MAX_LINK_COMPETITORS = 20
#: Longest text inputs (the Scenarios page's name box and the competitor table's cells).
MAX_LINK_TEXT = {"name": 80, "segment": 200, "cut_competitor": 60}
#: Monte Carlo work of one page (segments × draws): 10 segments at 1,000,000 draws.
MAX_LINK_MC_WORK = 10_000_000
#: Ranges of the inputs whose page widgets do not clamp a linked value (Pricing's Monte Carlo
#: draws and seed, Price war's cut and strategy settings): a value outside them is refused
#: here rather than failing in the widget.
LINK_RANGES: dict[str, tuple[float, float]] = {
    "mc_draws": (1_000, 1_000_000),
    "mc_seed": (0, 2**53 - 1),
    "cut_pct": (0, 90),
    "our_share": (0.001, 0.99),
    "quality_step": (0, 10),
    "quality_cost": (0, 1e4),
    "niche_market_share": (0.01, 1),
    "niche_alpha_factor": (0.01, 10),
}
_WHOLE = {"mc_draws", "mc_seed", "curve_points"}
_DEFAULT_MC_DRAWS = 100_000


def _link_number(text: str, whole: bool) -> float | None:
    """``text`` as a number, or None when it is none (the scenario's parser says why)."""
    try:
        return int(text) if whole else float(text)
    except ValueError:
        return None


def scenario_link_problems(params: Mapping[str, Sequence[str]], prefix: str = "s_") -> list[str]:
    """What makes a link's what-if inputs (``?s_…``) unsafe to read, checked on the raw text
    before any parsing: over-long values, deep or long JSON lists, text longer than its box,
    numbers outside what the pages' inputs accept, too much Monte Carlo work. One sentence per
    problem, naming the parameter; an empty list when the link may be parsed.

    Example:
        >>> scenario_link_problems({"s_mc_seed": ["-1"]})
        ['s_mc_seed=-1 is outside 0 to 9,007,199,254,740,991']
        >>> scenario_link_problems({"s_" + "K" * 50: ["1" * 20_000]})
        ['s_KKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKK… is 20,000 characters long (at most 16,384)']
    """
    problems: list[str] = []
    last = {k: (list(v)[-1] if v else "") for k, v in params.items()}
    for key, text in last.items():
        name = key[len(prefix) :]
        if len(text) > MAX_LINK_VALUE_CHARS:  # any name: cut and escaped like a value
            problems.append(
                f"{_shown(key)[1:-1]} is {len(text):,} characters long "
                f"(at most {MAX_LINK_VALUE_CHARS:,})"
            )
        elif name in MAX_LINK_TEXT and len(text) > MAX_LINK_TEXT[name]:
            problems.append(
                f"{key} is {len(text):,} characters long (at most {MAX_LINK_TEXT[name]})"
            )
    if problems:
        return problems
    segments = 1
    for name, most in (("segments", MAX_LINK_SEGMENTS), ("competitors", MAX_LINK_COMPETITORS)):
        key = prefix + name
        if key not in last:
            continue
        depth = json_depth(last[key])
        if depth > MAX_LINK_JSON_DEPTH:
            problems.append(
                f"{key} is JSON nested {depth:,} levels deep (at most "
                f"{MAX_LINK_JSON_DEPTH}: a list of lists)"
            )
            continue
        try:
            items = json.loads(last[key])
        except ValueError:
            continue  # the scenario's parser names the problem
        if isinstance(items, list) and len(items) > most:
            problems.append(f"{key} lists {len(items):,} {name} (at most {most})")
        elif isinstance(items, list) and name == "segments":
            segments = max(1, len(items))
    for name, (lo, hi) in LINK_RANGES.items():
        key = prefix + name
        if key not in last:
            continue
        value = _link_number(last[key], name in _WHOLE)
        if value is not None and not lo <= value <= hi:
            problems.append(
                f"{key}={_shown(last[key])[1:-1]} is outside {lo:,g} to {hi:,g}"
                if name not in _WHOLE
                else f"{key}={_shown(last[key])[1:-1]} is outside {lo:,} to {hi:,}"
            )
    draws = _link_number(last.get(prefix + "mc_draws", ""), True) or _DEFAULT_MC_DRAWS
    if not problems and segments * draws > MAX_LINK_MC_WORK:
        problems.append(
            f"{segments} segments × {draws:,} Monte Carlo draws is more than "
            f"{MAX_LINK_MC_WORK:,} draws for one page (lower {prefix}mc_draws)"
        )
    if not problems:
        from analytics.scenario import Scenario

        try:  # the scenario's own ranges (a price of 1e-300, an elasticity of -1e12, …)
            Scenario.from_query_params(params, prefix=prefix)
        except ScenarioError as exc:
            problems.append(str(exc))
    _remember_link_problems(problems)
    return problems


#: Session key of a refused link's problems: the link is read on whichever page opens first
#: (often Overview), so the what-if pages repeat the note (``linked_scenario``).
LINK_PROBLEM_KEY = "_scenario_link_problem"


def _remember_link_problems(problems: list[str]) -> None:
    if not problems:
        return
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        if get_script_run_ctx(suppress_warning=True) is not None:
            st.session_state[LINK_PROBLEM_KEY] = "; ".join(problems)
    except Exception:  # outside a page run (a test, the CLI): nothing to remember
        log.debug("link problem not remembered", exc_info=True)


def linked_scenario(current: Callable[[], Any]) -> Any:
    """``current()`` (``state.current_scenario``) for a what-if page, repeating the note of
    a link whose inputs were refused when another page read it first (the page that reads
    it shows the note itself)."""
    earlier = st.session_state.pop(LINK_PROBLEM_KEY, None)
    scenario = current()
    st.session_state.pop(LINK_PROBLEM_KEY, None)  # read, and shown, on this page
    if earlier:
        st.warning(
            f"The what-if inputs in the link were not used: {md_text(earlier)}. "
            "Showing the default inputs (measured from the data).",
            icon=":material/link_off:",
        )
    return scenario
