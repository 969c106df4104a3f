"""Customer data in ticket rows and tables, masked for viewers.

Customer data in ticket text (e-mail addresses, also spelled out, phone numbers, card-like
numbers, IBANs, US social security numbers) is masked for viewers by :func:`visible_tickets` and :func:`visible_column` (``data.masking``), on the
pages and in every download; analysts and admins see it as written.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from dashboard.access import User, current_user

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
def invisible_pattern() -> re.Pattern[str]:
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
    from data.masking import mask_pii
    from data.number_spans import MASK

    masked = mask_pii(text)
    if not isinstance(text, str) or invisible_pattern().search(text) is None:
        return masked
    dropped = {m.start() for m in invisible_pattern().finditer(text)}
    kept = [i for i in range(len(text)) if i not in dropped]
    compact = invisible_pattern().sub("", text)
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

    Analysts and admins see them as they are. For a viewer, e-mail addresses, phone numbers,
    card-like numbers, IBANs and social security numbers in ``subject`` and ``text`` are masked
    (``data.masking.mask_pii``),
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
