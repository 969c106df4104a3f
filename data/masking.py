"""Customer data kept in its place: e-mail addresses, phone, card, bank account and social
security numbers masked.

Viewers see ticket text with personal data masked; analysts see it whole. Masking keeps the
length of the text exactly (every masked character becomes ``•``, U+2022), so entity
offsets computed on the original text still point at the same words.

What is found (:func:`pii_spans`):

- **e-mail**: ``local@domain.tld``, the local part up to 64 characters of letters, digits
  and ``._%+-'``, the domain two or more labels ending in an alphabetic top-level domain.
  Kept: the first character, the ``@`` and the ``.tld`` (``j•••••••@•••••••.com``). Also
  spelled out (``jane at example dot com``, ``jane [at] example [dot] com``:
  :mod:`data.spelled_email_spans`), kept the same way (``j••• at ••••••• dot com``).
- **card**: 13-19 digits written as a card number that pass the Luhn check
  (:mod:`data.number_spans` has the rules). Kept: the last 4 digits and the separators
  (``•••• •••• •••• 1111``).
- **phone**: 7-15 digits written as a phone number (:mod:`data.number_spans`). Kept: the
  last 2 digits, the ``+``, parentheses and separators (``+•• •• •••• ••58``).
- **iban**: a bank account number (IBAN) whose check digits hold (:mod:`data.account_spans`).
  Kept: the country, the last 4 characters and the spaces (``DE•• •••• •••• •••• ••30 00``).
- **ssn**: a US social security or taxpayer number (SSN, ITIN), ``123-45-6789``, or nine
  digits in one run after a label such as ``SSN`` (:mod:`data.national_id_spans`). Kept: the
  last 4 digits and the separators (``•••-••-6789``).

Numbers and addresses are also found when written with look-alike characters: full-width
digits, ``＋`` and ``＠`` (``＋４４ ２０ ７９４６ ０９５８``), any Unicode space or zero-width
space between digit groups, an em dash or minus sign as the hyphen; other decimal digits
(Arabic-Indic, …) count as digits.

Masking is idempotent (``mask_pii(mask_pii(x)) == mask_pii(x)``): numbers are looked for in
the text with its e-mail addresses masked (and its IBANs and social security numbers read as
letters), and a number already masked is not found again.

Example:
    >>> mask_pii("Mail jane.doe@example.com or call +44 20 7946 0958 (card 4111 1111 1111 1111)")
    'Mail j•••••••@•••••••.com or call +•• •• •••• ••58 (card •••• •••• •••• 1111)'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from data.account_spans import iban_spans
from data.national_id_spans import ssn_spans
from data.number_spans import MASK, number_spans, overlaps_any
from data.spelled_email_spans import masked_positions, spelled_email_spans

__all__ = ["mask_frame", "mask_pii", "pii_spans"]

# -- e-mail ---------------------------------------------------------------------------------

_LOCAL_MAX = 64
_DOMAIN_MAX = 255
#: The local part before an "@" (at most 64 characters, one more to see that it is longer).
_LOCAL_TAIL = re.compile(r"[\w.%+'\u2019\-]{1," + str(_LOCAL_MAX + 1) + r"}\Z")
#: The domain after an "@" (at most 255 characters, one more to see that it is longer).
_DOMAIN_RUN = re.compile(r"[\w\-.]{1," + str(_DOMAIN_MAX + 1) + "}")
_LOCAL_CHAR = re.compile(r"[\w.%+'\u2019\-]")
_LABEL = re.compile(r"[\w\-]+")
_ALPHA_PREFIX = re.compile(r"[^\W\d_]+")


def _email_at(text: str, at: int) -> tuple[int, int] | None:
    """The (start, end) of the e-mail address around the ``@`` at ``at``, if it is one."""
    if (
        at == 0
        or at + 1 >= len(text)
        or not (_LOCAL_CHAR.match(text, at - 1) and _LOCAL_CHAR.match(text, at + 1))
    ):
        return None
    window = text[max(0, at - _LOCAL_MAX - 1) : at]
    local = _LOCAL_TAIL.search(window)
    if local is None or len(local.group()) > _LOCAL_MAX:
        return None
    run_start = at - len(local.group())
    if run_start > 0 and text[run_start - 1] in ("@", MASK):
        return None  # the domain of a previous address, or a masked one
    start = run_start
    while start < at and text[start] in ".+-'\u2019":  # nor do quotes start a local part
        start += 1
    if start == at:
        return None
    domain = _DOMAIN_RUN.match(text, at + 1)
    if domain is None or len(domain.group()) > _DOMAIN_MAX:
        return None
    labels = domain.group().rstrip(".-").split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels[:-1]):
        return None
    tld = _ALPHA_PREFIX.match(labels[-1])  # "example.com5551234567": the domain ends at "com"
    if tld is None or len(tld.group()) < 2:
        return None
    end = at + 1 + sum(len(label) + 1 for label in labels[:-1]) + len(tld.group())
    return start, end


def _email_spans(text: str) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    at = text.find("@")
    while at != -1:
        found = _email_at(text, at)
        if found is not None and (not spans or found[0] >= spans[-1][1]):
            spans.append((found[0], found[1], "email"))
        at = text.find("@", at + 1)
    return spans


def _mask_email(chars: list[str], start: int, end: int) -> None:
    at = chars.index("@", start, end)
    dot = max(i for i in range(at, end) if chars[i] == ".")
    for i in range(start + 1, at):
        chars[i] = MASK
    for i in range(at + 1, dot):
        chars[i] = MASK


def _apply(text: str, spans: list[tuple[int, int, str]], seen: str | None = None) -> str:
    """``text`` with ``spans`` masked; ``seen`` is the text the spans were found in (the
    same length: :func:`_normalised`), where the ``@``, dots and digits are looked up."""
    if not spans:
        return text
    chars = list(text)
    marks = list(text if seen is None else seen)
    for start, end, kind in spans:
        if kind == "email" and "@" not in marks[start:end]:  # spelled out
            for i in masked_positions(seen or text, start, end):
                chars[i] = MASK
        elif kind == "email":
            masked = marks[:]
            _mask_email(masked, start, end)
            for i in range(start, end):
                if masked[i] == MASK and marks[i] != MASK:
                    chars[i] = MASK
        elif kind == "iban":  # the country and the last 4 characters stay
            characters = [i for i in range(start, end) if marks[i].isalnum()]
            for i in characters[2:-4]:
                chars[i] = MASK
        else:
            digits = [i for i in range(start, end) if marks[i].isdecimal()]
            keep = 4 if kind in ("card", "ssn") else 2
            for i in digits[: max(0, len(digits) - keep)]:
                chars[i] = MASK
    return "".join(chars)


# -- look-alike characters ----------------------------------------------------------------

#: Characters read as their plain form before anything is looked for, one for one (so every
#: offset stays): every Unicode space (figure, en, em, ideographic …) and the zero-width
#: ones as a space; em dash, minus sign, small and full-width hyphens as "-"; full-width
#: ASCII (``＋４４``, ``ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ``) as ASCII; the ideographic full stop
#: as ".". A number or address written with them is found as if typed in ASCII.
_LOOKALIKES: dict[int, str] = {
    **{
        c: " "
        for c in (
            0x00A0,
            0x1680,
            *range(0x2000, 0x200B),
            0x202F,
            0x205F,
            0x3000,
            0x200B,
            0x200C,
            0x200D,
            0x2060,
            0xFEFF,
        )
    },
    **{
        c: "-"
        for c in (0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2015, 0x2212, 0xFE58, 0xFE63, 0xFF0D)
    },
    **{c: chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F) if c != 0xFF0D},
    0x3002: ".",
    0xFF61: ".",
}


def _normalised(text: str) -> str:
    """``text`` with look-alike characters as their plain form (same length)."""
    return text.translate(_LOOKALIKES)


# -- public API -----------------------------------------------------------------------------


def pii_spans(text: str) -> list[tuple[int, int, str]]:
    """The personal data in ``text``: sorted, non-overlapping ``(start, end, kind)`` spans.

    ``kind`` is ``"email"`` (spelled out or not), ``"phone"``, ``"card"``, ``"iban"`` or
    ``"ssn"``; ``text[start:end]`` is the address or number (without surrounding punctuation). Anything but a string has no spans.

    Example:
        >>> pii_spans("Reach me at bob@corp.io or 555-123-4567.")
        [(12, 23, 'email'), (27, 39, 'phone')]
    """
    if not isinstance(text, str) or not text:
        return []
    text = _normalised(text)
    emails = _email_spans(text) if "@" in text else []
    emails = sorted(
        emails
        + [span for span in spelled_email_spans(text) if not overlaps_any(emails, span[0], span[1])]
    )
    accounts = [
        span
        for span in iban_spans(text) + ssn_spans(text)
        if not overlaps_any(emails, span[0], span[1])
    ]
    masked = sorted(emails + accounts)
    # Numbers are judged on the text with the e-mail addresses already masked, as a second
    # pass over masked text sees it: that is what makes masking idempotent. An IBAN (or a
    # social security number) reads as letters, so that a number after it starts a run of its own (its masked form would spend
    # the run: a card after it would stay whole, and a second pass would find nothing new).
    numbers = number_spans(_as_letters(_apply(text, emails), accounts), masked)
    return sorted(masked + numbers)


def _as_letters(text: str, spans: list[tuple[int, int, str]]) -> str:
    """``text`` with the characters of ``spans`` read as letters (same length)."""
    if not spans:
        return text
    chars = list(text)
    for start, end, _ in spans:
        chars[start:end] = "x" * (end - start)
    return "".join(chars)


def mask_pii(text: Any) -> Any:
    """``text`` with its e-mail addresses, phone, card, bank account and social security
    numbers masked.

    Every masked character becomes ``•`` and nothing else moves, so the length and every
    offset stay as they were. Kept: an address's first character, ``@`` (or spelled *at*)
    and ``.tld``; a phone number's last 2 digits; a card's and a social security number's
    last 4; an IBAN's country and last 4 characters; separators. Anything but a string (None, NaN) is returned unchanged.

    Example:
        >>> mask_pii("card 4111-1111-1111-1111, phone (555) 123-4567")
        'card ••••-••••-••••-1111, phone (•••) •••-••67'
    """
    if not isinstance(text, str):
        return text
    return _apply(text, pii_spans(text), _normalised(text))


def mask_frame(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """A copy of ``df`` with the text of ``columns`` masked (:func:`mask_pii`).

    Columns that ``df`` does not have are ignored; missing values stay as they are (None,
    NaN, ``pd.NA``).

    Example:
        >>> mask_frame(pd.DataFrame({"text": ["a@b.io"], "n": [1]}), ["text", "subject"])
        ... # doctest: +NORMALIZE_WHITESPACE
             text  n
        0  a@•.io  1
    """
    if isinstance(columns, str):
        columns = [columns]
    out = df.copy()
    for column in dict.fromkeys(columns):
        if column not in out.columns:
            continue
        series = out[column]
        if series.dtype == object:  # element by element: map would turn None into NaN
            out[column] = pd.Series(
                [mask_pii(v) for v in series.tolist()],
                index=series.index,
                name=series.name,
                dtype=object,
            )
            continue
        masked = series.map(mask_pii, na_action="ignore")
        if isinstance(series.dtype, pd.StringDtype):  # keep the text dtype (map gives object)
            masked = masked.astype(series.dtype)
        out[column] = masked
    return out
