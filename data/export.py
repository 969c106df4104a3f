"""Downloads: CSV and JSONL bytes, with spreadsheet formulas neutralised in CSV.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab, a carriage return, their
full-width forms ``＝ ＋ － ＠`` (which a spreadsheet with an East Asian input method may read
as the plain ones) or a NUL (OWASP ASVS 1.2.10) can run as a formula when a CSV is opened in
a spreadsheet (CSV injection);
so can one whose trigger follows leading blanks or characters that draw as nothing (NBSP,
Unicode spaces, the word joiner, zero-width joiners and other format characters, controls,
lone combining marks; after plain spaces only when it calls something:
``" =HYPERLINK(…)"``). Such text cells get a leading apostrophe,
which spreadsheets show as text. So does every line inside a cell that starts that way
after a line break (``"Refund\\r=cmd|…"``; CR, LF, VT, FF, FS, GS, RS, NEL, U+2028,
U+2029), because a reader that splits rows there would see that line as a cell of its own.
Numeric columns, text (or a line) that is just a number (``-5``, ``+3.2``), and list items
inside a cell (``"…\n- refund"``, but not ``"…\n+ cmd|…"``) are left as they are. Every
CSV cell is quoted, so a CR, LF, quote or comma inside a cell never ends the cell or the
row.

Example:
    >>> neutralise_formulas(pd.DataFrame({"t": ["=1+1", "ok"], "n": [-1, 2]}))["t"].tolist()
    ["'=1+1", 'ok']
"""

from __future__ import annotations

import csv
import functools
import json
import math
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from data.store import Store

__all__ = [
    "ENTITY_ROW_COLUMNS",
    "FORMULA_PREFIXES",
    "MAX_DOWNLOAD_BYTES",
    "TICKET_JSONL_COLUMNS",
    "built_one_at_a_time",
    "entities_csv",
    "entities_of_keys",
    "entity_rows",
    "flatten_entities",
    "join_bounded",
    "neutralise_cell",
    "neutralise_formulas",
    "now_or_on_click",
    "source_ticket_pages",
    "tagged_ticket_count",
    "text_bytes",
    "tickets_jsonl",
    "tickets_of_keys",
    "to_csv_bytes",
    "to_jsonl_bytes",
]

#: The full-width forms (U+FF1D ＝, U+FF0B ＋, U+FF0D －, U+FF20 ＠) count as the plain ones.
_FULL_WIDTH_TRIGGERS = ("\uff1d", "\uff0b", "\uff0d", "\uff20")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\0", *_FULL_WIDTH_TRIGGERS)
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
#: A line break inside a cell (kept as the separator when a cell is split into lines): CR,
#: LF, and the separators some readers also split lines at (NEL, VT, FF, U+2028, U+2029,
#: and the file, group and record separators that Python's ``str.splitlines`` splits at).
_LINE_BREAK = re.compile("(\r\n|[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029])")
#: What a line after a break may not start with (the break characters themselves excepted).
_LINE_PREFIXES = ("=", "+", "-", "@", "\t", "\0", *_FULL_WIDTH_TRIGGERS)
#: Blanks a spreadsheet may skip before a formula trigger: spaces, tabs, NBSP and the other
#: Unicode spaces, the byte-order mark.
_BLANKS = (
    " \t\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u200b\u202f\u205f\u3000\ufeff"
)
#: Formula syntax that calls a program or a function, or joins text into one
#: (``cmd|' /C calc'!A0``, ``HYPERLINK(…)``, ``"…"&A1``).
_CALL_SYNTAX = re.compile(r"[|(!&=@\uff1d\uff20]")
#: A list item or signature ("- refund", "+ faster", "-- Kwame"): inside a cell it is
#: prose; split off on its own line a spreadsheet shows at worst an error or a sum, never a
#: call — so only when the rest holds no formula syntax (``+ cmd|' /C calc'!A0`` is not one).
#: Left as written, so that an exported ticket re-imports as the same ticket.
_BULLET = re.compile(r"[-+\uff0b\uff0d]+ [^|(!&=@\uff1d\uff20]*", re.DOTALL)


#: Characters that draw as nothing, skipped like blanks before a trigger: Unicode format
#: characters (Cf: zero-width joiner, word joiner, LRM/RLM, bidirectional controls, tags),
#: controls other than line breaks (Cc), combining marks with no base (Mn, Me) and the
#: Hangul fillers. ``"\u2060=cmd|…"`` reads as ``=cmd|…`` on screen, and a reader that drops
#: them (as many do) sees a formula.
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Mn", "Me", "Zs"})
_HANGUL_FILLERS = "\u115f\u1160\u3164\uffa0"


def _lstrip_invisible(text: str) -> str:
    """``text`` without its leading blanks and invisible characters."""
    for i, ch in enumerate(text):
        if not (
            ch in _BLANKS
            or ch in _HANGUL_FILLERS
            or unicodedata.category(ch) in _INVISIBLE_CATEGORIES
        ):
            return text[i:]
    return ""


def _risky(text: str, prefixes: tuple[str, ...]) -> bool:
    if text.startswith(prefixes):
        return not _PLAIN_NUMBER.fullmatch(text)
    rest = _lstrip_invisible(text)
    if rest == text or not rest.startswith(prefixes) or _PLAIN_NUMBER.fullmatch(rest):
        return False
    # after blanks: always when they are not plain spaces (NBSP, Unicode spaces hide the
    # trigger); after plain spaces (" =1" is arithmetic at worst) only with call syntax
    return text[: len(text) - len(rest)].strip(" ") != "" or bool(_CALL_SYNTAX.search(rest[1:]))


def neutralise_cell(value: Any) -> Any:
    """``value`` with an apostrophe before its start, and before every line after a line
    break, that a spreadsheet would evaluate; anything but text is returned unchanged.

    Example:
        >>> neutralise_cell("Refund please\\r=cmd|' /C calc'!A0")
        "Refund please\\r'=cmd|' /C calc'!A0"
    """
    if not isinstance(value, str):
        return value
    out = "'" + value if _risky(value, FORMULA_PREFIXES) else value
    if not _LINE_BREAK.search(out):
        return out
    parts = _LINE_BREAK.split(out)  # text, break, text, break, …
    for i in range(2, len(parts), 2):
        if _risky(parts[i], _LINE_PREFIXES) and not _BULLET.fullmatch(_lstrip_invisible(parts[i])):
            parts[i] = "'" + parts[i]
    return "".join(parts)


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells cannot run as spreadsheet formulas.

    Column names are neutralised too. Numeric, boolean and datetime columns are unchanged.
    """
    out = df.copy()
    for col in out.columns:
        series = out[col]
        if (
            pd.api.types.is_numeric_dtype(series.dtype)
            or pd.api.types.is_bool_dtype(series.dtype)
            or pd.api.types.is_datetime64_any_dtype(series.dtype)
        ):
            continue
        out[col] = series.map(neutralise_cell, na_action="ignore")
    out.columns = [neutralise_cell(c) for c in out.columns]
    return out


def to_csv_bytes(df: pd.DataFrame, *, neutralise: bool = True, header: bool = True) -> bytes:
    """UTF-8 CSV bytes of ``df`` (no index, every cell quoted), formulas neutralised unless
    told otherwise; without the header line with ``header=False`` (a later part of one
    file)."""
    frame = neutralise_formulas(df) if neutralise else df
    return frame.to_csv(
        index=False, header=header, lineterminator="\n", quoting=csv.QUOTE_ALL
    ).encode("utf-8")


def _json_value(value: Any) -> Any:
    """``value`` as plain JSON: NaN and ±infinity as null (``json`` would write ``NaN`` and
    ``Infinity``, which are not JSON: other readers refuse the line), bytes as UTF-8 text,
    lists and objects converted inside."""
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if value is pd.NaT or value is None or value is pd.NA:
        return None
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.ndarray):
        return [_json_value(v) for v in value.tolist()]
    return value


#: Line breaks that JSON may hold raw inside a string but that line splitters other than
#: ``\n`` split at (Python's ``str.splitlines``, editors, JavaScript before ES2019):
#: written as ``\u`` escapes, the same values.
_RAW_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def to_jsonl_bytes(records: Iterable[Mapping[str, Any]] | pd.DataFrame) -> bytes:
    """UTF-8 JSON Lines, one object per record (a DataFrame gives one per row); no record
    holds a character any line splitter breaks at (NEL, U+2028 and U+2029 are escaped)."""
    if isinstance(records, pd.DataFrame):
        records = records.to_dict(orient="records")
    lines = [
        json.dumps(
            {str(k): _json_value(v) for k, v in r.items()}, ensure_ascii=False, default=str
        ).translate(_RAW_LINE_BREAKS)
        for r in records
    ]
    return ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")


# -- ticket lists with entities (``analytics.explore.ticket_list``) ------------------------

#: Columns of :func:`entity_rows`.
ENTITY_ROW_COLUMNS = [
    "ticket_key",
    "source",
    "source_id",
    "label",
    "entity",
    "start",
    "end",
    "score",
]


def flatten_entities(tickets: pd.DataFrame) -> pd.DataFrame:
    """A ticket list as a flat table (for a table or a CSV): its ``entities`` column (a list
    of dicts per ticket) joined as ``LABEL:text; LABEL:text``.

    Example:
        >>> flatten_entities(pd.DataFrame({"text": ["Hi OpenAI"], "entities": [[
        ...     {"label": "ORG", "text": "OpenAI"}]]}))["entities"].tolist()
        ['ORG:OpenAI']
    """
    out = tickets.drop(columns=["entities"]).copy()
    out["entities"] = [
        "; ".join(f"{e['label']}:{e['text']}" for e in ents) for ents in tickets["entities"]
    ]
    return out


def entity_rows(tickets: pd.DataFrame) -> pd.DataFrame:
    """One row per entity of a ticket list (columns :data:`ENTITY_ROW_COLUMNS`; the score
    rounded to 4 places); the list needs ``ticket_key``, ``source``, ``source_id`` and
    ``entities``."""
    return pd.DataFrame(
        [
            {
                "ticket_key": r.ticket_key,
                "source": r.source,
                "source_id": r.source_id,
                "label": e["label"],
                "entity": e["text"],
                "start": e["start"],
                "end": e["end"],
                "score": round(float(e["score"]), 4),
            }
            for r in tickets.itertuples()
            for e in r.entities
        ],
        columns=ENTITY_ROW_COLUMNS,
    )


# -- downloads of whole uploaded files, page by page ------------------------------------

#: Most bytes one download of uploaded files' tickets holds (the newest tickets first). A
#: page that built the JSON Lines of every chosen ticket at each run held about ten times
#: the files' text: 3,000 tickets of 99,000 characters (297 MB) peaked at 3.5 GB.
MAX_DOWNLOAD_BYTES = 256 * 2**20
#: Most ticket text one page of tickets holds in memory (a longer ticket is a page alone).
PAGE_TEXT_BYTES = 16 * 2**20
#: Most tickets one page holds.
PAGE_ROWS = 1_000
#: Most entities the tickets of one page hold (with a model; a ticket with more is a page
#: alone: a ticket of 100,000 characters has at most 100,000 entities that do not overlap).
PAGE_ENTITIES = 200_000
#: Bytes counted for each ticket beside its text (keys, dates, entities, JSON syntax).
_TICKET_OVERHEAD = 512
#: The order of the ticket lists (``analytics.explore.ticket_list``): newest first.
_NEWEST_FIRST = "created_at DESC NULLS LAST, ticket_key"


def distinct_sources(sources: Iterable[str]) -> list[str]:
    """The file names ``sources``, each once, in order: each query below tests every ticket
    against the whole list, and a forged "Files" choice repeating one name 400,000 times
    held a page run for 22 s (round 16).

    Example:
        >>> distinct_sources(["a.csv", "b.csv", "a.csv"])
        ['a.csv', 'b.csv']
    """
    return list(dict.fromkeys(str(s) for s in sources))


def source_ticket_pages(
    store: Store,
    sources: Iterable[str],
    *,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
    page_bytes: int = PAGE_TEXT_BYTES,
    page_rows: int = PAGE_ROWS,
    model_id: str | None = None,
    page_entities: int = PAGE_ENTITIES,
) -> Iterator[list[str]]:
    """Keys of the tickets of the uploaded files ``sources``, newest first, in pages of at
    most ``page_rows`` tickets or ``page_bytes`` of text, as many as fit ``max_bytes`` (text
    plus an allowance per ticket): a download built page by page never holds more than one
    page of tickets beside what it has written. With ``model_id``, a page also holds at most
    ``page_entities`` of that model's entities (a ticket with more is a page alone): a
    tagger finds one entity per word of "GPT-4o GPT-4o …", so a 16 MiB page held 2.3
    million of them (over 2 GB as Python objects).

    Example:
        >>> [len(p) for p in source_ticket_pages(store, ["a.csv"])]  # doctest: +SKIP
        [1000, 1000, 312]
    """
    chosen = distinct_sources(sources)
    counted = (
        "(SELECT count(*) FROM entities e WHERE e.model_id = ? AND e.ticket_key = t.ticket_key)"
        if model_id is not None
        else "0"
    )
    keys = store.query(
        "SELECT ticket_key, n, m FROM (SELECT t.ticket_key, t.created_at,"  # noqa: S608 - fixed SQL fragments; values are parameters
        f" coalesce(strlen(t.text), 0) + {_TICKET_OVERHEAD} AS n, {counted} AS m"
        " FROM tickets t WHERE list_contains(?::VARCHAR[], t.source))"
        f" QUALIFY sum(n) OVER (ORDER BY {_NEWEST_FIRST} ROWS UNBOUNDED PRECEDING) - n < ?"
        f" ORDER BY {_NEWEST_FIRST}",
        [*([model_id] if model_id is not None else []), chosen, int(max_bytes)],
    )
    page: list[str] = []
    held = entities = 0
    for key, size, found in zip(
        keys["ticket_key"].tolist(), keys["n"].tolist(), keys["m"].tolist(), strict=True
    ):
        if page and (
            len(page) >= page_rows or held + size > page_bytes or entities + found > page_entities
        ):
            yield page
            page, held, entities = [], 0, 0
        page.append(key)
        held += int(size)
        entities += int(found)
    if page:
        yield page


def entities_of_keys(
    store: Store, model_id: str | None, keys: list[str], *, limit: int
) -> list[list[dict[str, Any]]]:
    """The entities ``model_id`` found in each ticket of ``keys`` (in that order), at most
    ``limit`` in all, the first tickets' first (each a ``start``, ``end``, ``label``,
    ``text``, ``score`` dict, by position, as a ticket list holds them). A table of a few
    hundred entity rows reads no more: reading every entity of its tickets held 2.8
    million entities (+2.9 GB) for 200 tickets of 14,000 "GPT-4o"s."""
    if model_id is None or not keys or limit <= 0:
        return [[] for _ in keys]
    marks = ", ".join("?" for _ in keys)  # an IN list: answered from the ticket index
    rows = store.fetchall(
        'SELECT ticket_key, start, "end", label, text, score FROM entities'  # noqa: S608 - placeholders only; values are parameters
        f" WHERE model_id = ? AND ticket_key IN ({marks})"
        ' ORDER BY list_position(?::VARCHAR[], ticket_key), start, "end", label LIMIT ?',
        [model_id, *keys, list(keys), int(limit)],
    )
    by_key: dict[str, list[dict[str, Any]]] = {}
    for key, start, end, label, text, score in rows:
        by_key.setdefault(key, []).append(
            {
                "start": int(start),
                "end": int(end),
                "label": label,
                "text": text,
                "score": float(score),
            }
        )
    return [by_key.get(k, []) for k in keys]


def tickets_of_keys(store: Store, keys: list[str]) -> pd.DataFrame:
    """The tickets ``keys`` (in that order) with the columns of a ticket list
    (``analytics.explore.ticket_list``) but ``entities``."""
    df = store.query(
        "SELECT t.ticket_key, t.source, t.source_id, t.created_at, t.customer_id, c.segment,"
        " t.channel, t.category, t.resolved_by, t.subject, t.text"
        " FROM tickets t LEFT JOIN customers c ON c.customer_id = t.customer_id"
        " WHERE t.ticket_key IN (SELECT unnest(?::VARCHAR[]))",
        [list(keys)],
    )
    order = {key: i for i, key in enumerate(keys)}
    return df.sort_values("ticket_key", key=lambda s: s.map(order)).reset_index(drop=True)


def tagged_ticket_count(store: Store, model_id: str | None, sources: Iterable[str]) -> int:
    """How many tickets of the uploaded files ``sources`` have entities of ``model_id``."""
    if model_id is None:
        return 0
    return int(
        store.scalar(
            "SELECT count(DISTINCT e.ticket_key) FROM entities e JOIN tickets t"
            " ON t.ticket_key = e.ticket_key"
            " WHERE e.model_id = ? AND list_contains(?::VARCHAR[], t.source)",
            [model_id, distinct_sources(sources)],
        )
        or 0
    )


def text_bytes(store: Store, sources: Iterable[str]) -> int:
    """Bytes of ticket text (UTF-8) the uploaded files ``sources`` hold in the store."""
    return int(
        store.scalar(
            "SELECT coalesce(sum(strlen(text)), 0) FROM tickets"
            " WHERE list_contains(?::VARCHAR[], source)",
            [distinct_sources(sources)],
        )
        or 0
    )


def join_bounded(parts: Iterable[bytes], max_bytes: int = MAX_DOWNLOAD_BYTES) -> bytes:
    """The ``parts`` joined, stopping before the first part that would take the total past
    ``max_bytes`` (each part whole: a CSV row or JSON line is never cut); the parts after
    it are not made."""
    out = bytearray()
    for part in parts:
        if len(out) + len(part) > max_bytes:
            break
        out += part
    return bytes(out)


#: Held while a download built on click is built (see :func:`built_one_at_a_time`).
_BUILDING = threading.Lock()


def built_one_at_a_time(build: Callable[[], bytes]) -> bytes:
    """``build()``, while no other download built on click in this process is: each such
    build holds several times its bound at its peak (a 79 MB JSON Lines download of Batch
    tagging: +371 MiB), and Streamlit runs every click in a worker thread of its own, so
    six clicks sent at once held six builds (+1,369 MiB; at the 256 MiB bound about 1.2 GB
    each, and a server has up to 32 such threads). A click waits for the one before it."""
    with _BUILDING:
        return build()


#: The columns of the tickets-with-entities JSON Lines download (:func:`tickets_jsonl`).
TICKET_JSONL_COLUMNS = ["ticket_key", "source", "source_id", "created_at", "text", "entities"]


def entities_csv(pages: Iterable[pd.DataFrame], max_bytes: int = MAX_DOWNLOAD_BYTES) -> bytes:
    """One formula-safe CSV of the entities (:func:`entity_rows`) of ticket ``pages``, the
    header once, at most ``max_bytes`` (:func:`join_bounded`: later pages are not read)."""
    return join_bounded(
        (to_csv_bytes(entity_rows(page), header=i == 0) for i, page in enumerate(pages)),
        max_bytes,
    )


def tickets_jsonl(pages: Iterable[pd.DataFrame], max_bytes: int = MAX_DOWNLOAD_BYTES) -> bytes:
    """JSON Lines of ticket ``pages`` with their entities (:data:`TICKET_JSONL_COLUMNS`), at
    most ``max_bytes`` (:func:`join_bounded`: later pages are not read)."""
    return join_bounded((to_jsonl_bytes(page[TICKET_JSONL_COLUMNS]) for page in pages), max_bytes)


def now_or_on_click(build: Callable[[], bytes], *, now: bool) -> bytes | Callable[[], bytes]:
    """What a download button is given: ``build()``'s bytes when ``now`` (a small download,
    ready with the page), else ``build`` itself, run when the button is clicked, one such
    build at a time in the process (:func:`built_one_at_a_time`).

    Example:
        >>> now_or_on_click(lambda: b"a,b", now=True)
        b'a,b'
        >>> now_or_on_click(lambda: b"a,b", now=False)()
        b'a,b'
    """
    return build() if now else functools.partial(built_one_at_a_time, build)
