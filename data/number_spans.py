"""Phone and card numbers found in text, for masking (:mod:`data.masking`).

:func:`number_spans` finds the numbers a viewer must not read, and leaves alone the
numbers a ticket is full of (prices, dates, order ids, versions), so it judges each run of
digits by how it is written:

- **card**: 13-19 digits, in one run, in groups of 3-6, or digit by digit (``4 1 1 1
  …``), separated by spaces or hyphens (up to three separator characters, as
  in ``4111 - 1111``), or in groups of 4 or more between dots, that pass the Luhn check
  (so order numbers and ticket ids mostly stay). A card number after a currency sign is
  still a card, and so is one glued to a letter or a sign (``cc#4111 …``, ``CARD4111…``,
  ``…1111/123``), where a phone number would be part of an identifier: a Luhn-valid id
  masked costs a viewer less than a card shown. Not when glued to a digit, a ``+``, or a
  decimal point.
- **phone**: 7-15 digits written as a phone number: with a ``+`` country code, with an
  area code in parentheses, in the North American 3-3-4 shape, in a national format
  starting with the trunk ``0`` (``020 7946 0958``, ``06 12 34 56 78``, ``030/1234567``) or the
  international prefix ``00`` (``0049 30 1234567``), or any digits
  shortly after a word such as "phone", "tel", "mobile", "WhatsApp" or "call me". Dates,
  IP addresses, decimals, versions, prices, percentages and numbers glued to letters
  (``TCK-2024-000123``, ``v2.13.0``) are not phone numbers. A number in parentheses is
  found inside them (``(555-123-4567)``).

Two numbers in a row where the first could also end inside the second (``12345678901 4111
1111 1111 1111``: the first with ``4111`` passes as a card of 15 digits) are one span, of the
second's kind: the card after an order number is not left whole.

The text is read as :mod:`data.masking` hands it over: look-alike characters already in
their plain form, e-mail addresses already masked, bank accounts (IBANs) as letters. A ``•``
(:data:`MASK`) counts as a digit that is already masked, so a number containing one is never
found again, nor are the kept digits after it: that is what makes masking idempotent. A lone
``•`` before a group of 3 or more digits is a list bullet (``• 4111 1111 1111 1111``), not a
masked digit.

The scan is linear in the length of the text: candidates are found by regular
expressions without nested ambiguity (each digit group is followed by a separator that is
not a digit), and each candidate is judged on a bounded number of windows.

Example:
    >>> number_spans("call +44 20 7946 0958 (card 4111 1111 1111 1111)", [])
    [(5, 21, 'phone'), (28, 47, 'card')]
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

__all__ = ["MASK", "number_spans", "overlaps_any"]

#: The character that replaces every masked character (:mod:`data.masking` writes it; here it
#: reads as a digit already masked).
MASK = "\u2022"

_SPACES = " \u00a0\u2009\u202f"
_DASHES = "-\u2010\u2011\u2012\u2013"
_SEPARATORS = _SPACES + _DASHES + ".()"
#: A run of digit groups (or already masked ``•``) joined by one to three separators
#: (``4111 - 1111``), with an
#: optional leading "+" or "(" and trailing ")". A separator is never a digit, so a run
#: splits into groups one way only: no backtracking blow-up.
_NUMBER_RUN = re.compile(
    rf"(?:\(\+|\+?\(?)[\d{MASK}]+(?:[{re.escape(_SEPARATORS)}]{{1,3}}[\d{MASK}]+)*\)?"
)
#: A country code in parentheses at the start of a number: ``(+44) 20 7946 0958``.
_COUNTRY_CODE_IN_PARENS = re.compile(r"\(\+(\d{1,3})\)")
_CHUNK = re.compile(f"[^{_SPACES}]+")
_DIGIT_GROUP = re.compile(r"\d+")
_DASH_TABLE = str.maketrans({d: "-" for d in _DASHES} | {s: " " for s in _SPACES})
#: Words after which a run of digits is a phone number (within :data:`_KEYWORD_REACH`).
_KEYWORD = re.compile(
    r"(?i)(?<![^\W_])(?:phone|telephone|tel|ph|mobile|cell|cellphone|whatsapp|sms|fax|"
    r"telefon|telefono|tel[eé]fono|t[eé]l[eé]phone|t[eé]l|handy|m[oó]vil|portable|"
    r"call me|text me|reach me|ring me|call back|callback)(?![^\W_])"
)
_KEYWORD_REACH = 24
#: Phone numbers written with a dialling prefix: the prefix, the lengths of the first group
#: (the prefix with the area or country code) and the numbers of digits.
_DIALLING_PREFIXES = (
    ("0", range(2, 6), range(9, 13)),  # the trunk 0: 020 7946 0958, 06 12 34 56 78
    ("00", range(3, 6), range(10, 16)),  # the international prefix for "+": 0049 30 1234567
)
#: An area code before a slash, as written in German-speaking countries (``030/1234567``,
#: ``0171 / 2345678``): a trunk ``0`` and up to 4 more digits, not inside a path, a decimal
#: or an identifier, then a group of 3 or more digits. The slash reads as a space, so the
#: trunk-0 rule judges the number (``01/2024``, 6 digits, stays a date).
_AREA_CODE_SLASH = re.compile(r"0\d{1,4} ?/ ?(?=\d{3})")
_NOT_BEFORE_AREA_CODE = f"/.-{MASK}"
#: Most digits a window holds (the longest card number).
_MAX_WINDOW_DIGITS = 19
_CURRENCY = "$€£¥₹₽¢"
#: Characters before a number that make it part of something else: a decimal, an
#: identifier (``TCK-2024-…``), a path, a ticket number (``#…``), a handle, a minus sign.
_BAD_BEFORE = ".-_/\\#%@" + _DASHES + _CURRENCY
#: Characters after a number that, followed by a letter or digit, make it part of an
#: identifier or an address.
_JOINERS_AFTER = ".-_%+" + _DASHES


def _wordish(c: str) -> bool:
    return c.isalnum() or c in ("_", MASK)


def _digitish(c: str) -> bool:
    return c.isdecimal() or c == MASK


def _luhn(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _card_grouping(groups: list[str], whole_run: bool = True) -> bool:
    """Whether digit groups are written as a card number is: one run, groups of 3 or more
    (``4111 1111 1111 1111``, ``3782 822463 10005``), or every digit on its own (``4 1 1 1
    …``: typed to slip past a filter) not starting with 0 (no card number does; a row of
    zeros is no card) and making up the whole run (``whole_run``: not 16 digits out of a
    longer list). Pairs (``41 11 11 …``) stay: they read as codes or scores."""
    if len(groups) == 1 or all(len(g) >= 3 for g in groups):
        return True
    return whole_run and not groups[0].startswith("0") and all(len(g) == 1 for g in groups)


def _is_date(groups: list[str]) -> bool:
    if len(groups) != 3:
        return False
    lengths = [len(g) for g in groups]
    if lengths[0] == 4 and lengths[1] <= 2 and lengths[2] <= 2:
        year, a, b = groups
    elif lengths[2] == 4 and lengths[0] <= 2 and lengths[1] <= 2:
        a, b, year = groups
    else:
        return False
    x, y = int(a), int(b)
    return 1900 <= int(year) <= 2100 and 1 <= min(x, y) <= 12 and 1 <= max(x, y) <= 31


def _is_grouped_thousands(groups: list[str], seps: set[str]) -> bool:
    return (
        len(groups) >= 2
        and len(seps) == 1
        and seps <= {" ", "."}
        and 1 <= len(groups[0]) <= 3
        and all(len(g) == 3 for g in groups[1:])
    )


def _parens_ok(body: str) -> bool | None:
    """None without parentheses; True for one area code ``(555)`` or ``(0)``; else False."""
    if "(" not in body and ")" not in body:
        return None
    if body.count("(") != 1 or body.count(")") != 1:
        return False
    left, right = body.index("("), body.index(")")
    inside = body[left + 1 : right]
    return left < right and inside.isdecimal() and 1 <= len(inside) <= 4


def _classify(window: str, keyword: bool, whole_run: bool = True) -> str | None:
    """``"card"``, ``"phone"`` or None for a run of digits and separators; ``whole_run``:
    the window is all the digit groups of its run (a card typed digit by digit must be:
    16 digits out of a longer list of single digits are no card)."""
    code = _COUNTRY_CODE_IN_PARENS.match(window)
    if code:  # (+44) 20 7946 0958: read as +44 20 7946 0958
        window = f"+{code.group(1)} {window[code.end() :]}"
    plus = window.startswith("+")
    body = (window[1:] if plus else window).translate(_DASH_TABLE)
    groups = _DIGIT_GROUP.findall(body)
    digits = "".join(groups)
    n = len(digits)
    parens = _parens_ok(body)
    if parens is False:
        return None
    seps = set(_DIGIT_GROUP.sub("", body)) - {"(", ")"}
    if (
        not plus
        and parens is None
        and 13 <= n <= 19
        and (
            (seps <= {" ", "-"} and _card_grouping(groups, whole_run))
            or (seps == {"."} and all(len(g) >= 4 for g in groups))  # 4111.1111.1111.1111
        )
        and _luhn(digits)
    ):
        return "card"
    if not 7 <= n <= 15:
        return None
    if parens is None and _is_date(groups):
        return None
    if seps == {"."} and (
        len(groups) == 2  # a decimal
        or (len(groups) == 4 and all(len(g) <= 3 and int(g) <= 255 for g in groups))
    ):  # an IP address
        return None
    if plus or parens:
        return "phone"
    lengths = [len(g) for g in groups]
    if seps and (lengths == [3, 3, 4] or (lengths == [1, 3, 3, 4] and groups[0] == "1")):
        return "phone"  # North American 555-123-4567, 1-800-555-0199
    if (
        len(groups) >= 2
        and all(length >= 2 for length in lengths)
        and not _is_grouped_thousands(groups, seps)
        and any(
            groups[0].startswith(prefix) and len(groups[0]) in first and n in digits
            for prefix, first, digits in _DIALLING_PREFIXES
        )
    ):
        return "phone"
    if keyword:
        return "phone"
    return None


def _clean_before(text: str, start: int) -> bool:
    if start == 0:
        return True
    c0 = text[start - 1]
    c1 = text[start - 2] if start > 1 else ""
    if c0 in _SPACES or c0 in "\t\r\n":
        return True
    if _wordish(c0) or c0 in _BAD_BEFORE or c0 == "+":
        return False
    return not (c0 == "," and c1 and _digitish(c1))


def _card_edges(text: str, start: int, end: int) -> bool:
    """Whether a card number may lie at ``[start, end)`` although the text around it would
    make a phone number part of something else: a card is masked after a letter or a sign
    (``CARD4111…``, ``cc#4111 …``, ``No.4111 …``, ``card-4111…``) and before a letter or a
    slash (``…1111exp``, ``…1111/123``: its code), since 13-19 digits that pass Luhn are
    rarely anything else, and an order id masked by mistake costs a viewer less than a card
    shown. Not when a digit, a mask or a ``+`` touches it, nor inside a decimal or a
    thousands grouping (``0.4111…``, ``…1111,50``)."""
    if start > 0:
        c0 = text[start - 1]
        c1 = text[start - 2] if start > 1 else ""
        if _digitish(c0) or c0 == "+" or (c0 in ".," and c1 and _digitish(c1)):
            return False
    if end < len(text):
        n0 = text[end]
        n1 = text[end + 1] if end + 1 < len(text) else ""
        if _digitish(n0) or (n0 in ".," and n1 and _digitish(n1)):
            return False
    return True


def _after_currency(text: str, start: int) -> bool:
    """Whether a currency sign and one space come before ``start`` (``$ 1 234 567``): an
    amount, not a phone number. A card number is never an amount, so it is masked there."""
    return (
        start > 1
        and text[start - 2] in _CURRENCY
        and (text[start - 1] in _SPACES or text[start - 1] in "\t\r\n")
    )


def _clean_after(text: str, end: int) -> bool:
    if end >= len(text):
        return True
    n0 = text[end]
    n1 = text[end + 1] if end + 1 < len(text) else ""
    if _wordish(n0) or n0 in "%@":
        return False
    if n0 in ",:/" and n1 and _digitish(n1):
        return False
    return not (n0 in _JOINERS_AFTER and n1 and _wordish(n1))


def _trim_parens(text: str, start: int, end: int) -> tuple[int, int]:
    """The window without the parentheses around it or an unmatched one at an end:
    ``(4111 1111 1111 1111)``, ``(or (555) 123-4567)``."""
    window = text[start:end]
    opened, closed = window.count("("), window.count(")")
    if window.startswith("(") and window.endswith(")") and opened == closed == 1:
        return start + 1, end - 1
    if window.startswith("(") and opened > closed:
        return start + 1, end
    if window.endswith(")") and closed > opened:
        return start, end - 1
    return start, end


def _live_chunks(text: str, chunks: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The ranges ``[lo, hi)`` of a run's chunks that may hold a number not yet masked.

    Chunks from the first one holding a mask on are spent: a mask is a masked digit, and the
    digits kept after it belong to the number it masked. Except a bullet: a lone ``•``
    followed by a chunk of 3 or more digits and no mask (``• 4111 1111 1111 1111``) is not
    a masked digit, because what follows a masked digit keeps at most 2 digits in a chunk
    of their own (a phone's; a card's groups are never a single digit). The run goes on
    after the bullet, so a list item is masked like any other text and masked again
    unchanged.
    """
    live: list[tuple[int, int]] = []
    lo = 0
    for k, (s, e) in enumerate(chunks):
        if MASK not in text[s:e]:
            continue
        live.append((lo, k))
        if not (e - s == 1 and k + 1 < len(chunks) and _bullet_before(text, *chunks[k + 1])):
            return live
        lo = k + 1
    live.append((lo, len(chunks)))
    return live


def _bullet_before(text: str, start: int, end: int) -> bool:
    chunk = text[start:end]
    return MASK not in chunk and sum(c.isdecimal() for c in chunk) >= 3


class _Marks:
    """Where a text's keywords end and its spans masked before (e-mail addresses, IBANs) lie,
    looked up by offset."""

    def __init__(self, text: str, masked: list[tuple[int, int, str]]) -> None:
        self.keyword_ends = [m.end() for m in _KEYWORD.finditer(text)]
        self.masked = masked

    def near_keyword(self, start: int) -> bool:
        """Whether a keyword ends at most :data:`_KEYWORD_REACH` characters before ``start``."""
        i = bisect_right(self.keyword_ends, start) - 1
        return i >= 0 and start - self.keyword_ends[i] <= _KEYWORD_REACH

    def overlaps_masked(self, start: int, end: int) -> bool:
        """Whether ``[start, end)`` overlaps a span masked before."""
        return overlaps_any(self.masked, start, end)


def _slash_as_space(text: str, code: re.Match[str]) -> str:
    """The area code ``code`` with its slash as a space, unless it follows a letter, digit,
    ``_``, path, decimal point, hyphen or mask (then it is part of something else)."""
    before = text[code.start() - 1] if code.start() else " "
    if _wordish(before) or before in _NOT_BEFORE_AREA_CODE:
        return code.group()
    return code.group().replace("/", " ")


def overlaps_any(spans: list[tuple[int, int, str]], start: int, end: int) -> bool:
    """Whether ``[start, end)`` overlaps one of the sorted, non-overlapping ``spans``.

    Example:
        >>> overlaps_any([(0, 4, "email"), (10, 12, "iban")], 4, 10)
        False
    """
    i = bisect_left(spans, (end,)) - 1
    return i >= 0 and spans[i][1] > start


@dataclass(frozen=True)
class _Run:
    """A number run's chunks and the digit counts its windows are found by."""

    #: Each chunk's ``(start, end)`` in the text (the run split at spaces).
    chunks: list[tuple[int, int]]
    #: The digits before chunk ``k`` (``counts[-1]``: all of the run's).
    counts: list[int]
    #: The first chunk of 1-2 digits (no group of a card but a whole run's) at or after ``k``.
    next_short: list[int]
    #: The first chunk of 1 digit (no group of a national number) at or after ``k``.
    next_one: list[int]
    #: Whether the run has a parenthesis.
    parens: bool


def _run_of(text: str, run: re.Match[str]) -> _Run:
    """The chunks of a match of :data:`_NUMBER_RUN` and their digit counts."""
    chunks = [
        (run.start() + m.start(), run.start() + m.end()) for m in _CHUNK.finditer(run.group())
    ]
    parens = "(" in run.group() or ")" in run.group()
    counts = [0]
    digits = [sum(c.isdecimal() for c in text[s:e]) for s, e in chunks]
    for d in digits:
        counts.append(counts[-1] + d)
    next_short = [len(chunks)] * (len(chunks) + 1)
    next_one = [len(chunks)] * (len(chunks) + 1)
    for k in range(len(chunks) - 1, -1, -1):
        next_short[k] = k if 1 <= digits[k] <= 2 else next_short[k + 1]
        next_one[k] = k if digits[k] == 1 else next_one[k + 1]
    return _Run(chunks, counts, next_short, next_one, parens)


def _window_sizes(text: str, run: _Run, i: int, lo: int, hi: int, marks: _Marks) -> list[int]:
    """The digit counts of the windows from chunk ``i`` that some rule could take, longest first."""
    # A window is known by its number of digits n (it ends on a digit chunk), the longest
    # first, at most 19 (a card in single digits is 16 chunks, 31 with " - " between them).
    # Only the n some rule could take get the string work: a card of 13-19 digits has no
    # group of 1-2 digits unless it is typed digit by digit as its whole run; a phone number
    # of 7-15 starts like one (a "+", parentheses, a word such as "phone" before it), or is a
    # national number with the trunk 0 (9-12 digits, no group of 1), or has the North
    # American shape (10-11 digits: 555 123 4567, 1 800 555 0199).
    # (Linear: a few windows per chunk, as many as before windows grew.)
    counts, (start, end) = run.counts, run.chunks[i]
    no_short = counts[min(run.next_short[i], hi)] - counts[i]
    first_short = counts[min(run.next_short[i + 1], hi)] - counts[i]
    if text[start] in "+(" or run.parens or marks.near_keyword(start):
        sizes = set(range(7, 16))
    else:
        sizes = {n for n in (10, 11) if n <= first_short}
        if text[start:end].startswith("0"):
            no_one = counts[min(run.next_one[i], hi)] - counts[i]
            longest = 15 if text[start:end].startswith("00") else 12
            sizes.update(range(9, min(longest, no_one) + 1))
    sizes.update(range(13, min(_MAX_WINDOW_DIGITS, no_short) + 1))
    if counts[i] == counts[lo] and 13 <= counts[hi] - counts[i] <= 19:
        sizes.add(counts[hi] - counts[i])
    return sorted(sizes, reverse=True)


def _window_span(
    text: str, run: _Run, i: int, j: int, lo: int, hi: int, marks: _Marks
) -> tuple[int, int, str] | None:
    """The card or phone number that chunks ``i`` to ``j - 1`` are (without parentheses), if any."""
    whole = run.counts[i] == run.counts[lo] and run.counts[j] == run.counts[hi]
    start, end = _trim_parens(text, run.chunks[i][0], run.chunks[j - 1][1])
    clean = _clean_before(text, start) and _clean_after(text, end)
    if not (clean or _card_edges(text, start, end)) or marks.overlaps_masked(start, end):
        return None
    kind = _classify(text[start:end], marks.near_keyword(start), whole)
    if kind is None or (kind == "phone" and (not clean or _after_currency(text, start))):
        return None
    return start, end, kind


def _number_at(
    text: str, run: _Run, i: int, lo: int, hi: int, marks: _Marks
) -> tuple[tuple[int, int, str], int] | None:
    """The longest number starting at chunk ``i`` of ``[lo, hi)`` and the chunk after it, if any."""
    for n in _window_sizes(text, run, i, lo, hi, marks):
        j = bisect_left(run.counts, run.counts[i] + n, i + 1, hi + 1)
        if j > hi or run.counts[j] != run.counts[i] + n:
            continue
        span = _window_span(text, run, i, j, lo, hi, marks)
        if span is not None:
            return span, j
    return None


def _live_spans(
    text: str, run: _Run, lo: int, hi: int, marks: _Marks
) -> list[tuple[int, int, str]]:
    """The numbers in the live chunks ``[lo, hi)`` of a run (:func:`_live_chunks`), in order.

    The longest number at a chunk is taken first, and it may end inside another one: the
    end of an order number and the first group of a card (``12345678901 4111`` passes as a
    card of 15 digits, ``4111 1111 1111 1111`` follows). So each chunk inside a number found
    is also read as a start, and a number from there that runs on past it joins it: one
    span, of the kind of its last part (whose last digits it keeps). Each chunk is still
    read as a start at most once.
    """
    spans: list[tuple[int, int, str]] = []
    i = lo
    while i < hi:
        found = _number_from(text, run, i, lo, hi, marks)
        if found is None:
            i += 1
            continue
        (start, end, kind), j = found
        k = i + 1
        while k < j:
            inner = _number_from(text, run, k, lo, hi, marks)
            if inner is not None and inner[1] > j:
                (_, end, kind), j = inner
            k += 1
        spans.append((start, end, kind))
        i = j
    return spans


def _number_from(
    text: str, run: _Run, i: int, lo: int, hi: int, marks: _Marks
) -> tuple[tuple[int, int, str], int] | None:
    """:func:`_number_at` for a chunk that holds a digit; None for a chunk of separators
    (`` - ``), where no number starts."""
    if run.counts[i + 1] == run.counts[i]:
        return None
    return _number_at(text, run, i, lo, hi, marks)


def number_spans(text: str, masked: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """The card and phone numbers in ``text``, none overlapping the sorted spans ``masked``
    (the e-mail addresses and bank accounts found and masked before)."""
    text = _AREA_CODE_SLASH.sub(lambda code: _slash_as_space(text, code), text)
    marks = _Marks(text, masked)
    spans: list[tuple[int, int, str]] = []
    for match in _NUMBER_RUN.finditer(text):
        run = _run_of(text, match)
        for lo, hi in _live_chunks(text, run.chunks):
            spans += _live_spans(text, run, lo, hi, marks)
    return spans
