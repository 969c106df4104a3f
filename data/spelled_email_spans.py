"""E-mail addresses spelled out to slip past a filter (``jane at example dot com``), found
in text for masking (:mod:`data.masking`).

An address is a local part, an *at* and a domain of two or more labels joined by *dots*:

- *at*: ``at`` in brackets, parentheses, braces or angle brackets (``[at]``, ``(AT)``,
  ``{ at }``), or the word ``at`` between spaces;
- *dot*: ``dot`` in such brackets or between spaces, or a ``.``;
- the local part: letters, digits and ``._%+'-`` (up to 64 characters), its own dots
  spelled out or not (``jane dot doe``), starting with a letter or digit; the labels: letters,
  digits and ``-``; the last label (the top-level domain) letters only.

With a bracketed *at* any top-level domain counts. The bare word ``at`` is in many a
sentence (``signed up at openai.com``), so after it the address must also spell at least
one *dot* out and end in a common top-level domain (:data:`PLAIN_TLDS`: ``com``, ``org``,
``io``, ``uk`` …; not ``it``, ``in`` or ``me``, which are English words).

Masked like an address with ``@`` (:func:`masked_positions`): the local part's first
character and the top-level domain stay; every other character of the local part and of the
other labels becomes ``•``; the *at* and the spelled *dots* stay, so the reader sees that an
address was there. A masked address is not found again (``•`` is no letter).

Each *at* is judged on a bounded window around it, so the scan is linear in the length of
the text.

Example:
    >>> text = "write to jane dot doe [at] example [dot] com or bob at corp dot io!"
    >>> spelled_email_spans(text)
    [(9, 44, 'email'), (48, 66, 'email')]
"""

from __future__ import annotations

import re

__all__ = ["PLAIN_TLDS", "masked_positions", "spelled_email_spans"]

#: Top-level domains an address after the bare word "at" may end in.
# fmt: off
PLAIN_TLDS = frozenset({
    "com", "net", "org", "edu", "gov", "mil", "int", "io", "co", "ai", "app", "dev", "info",
    "biz", "eu", "uk", "de", "fr", "nl", "es", "ch", "at", "au", "ca", "nz", "jp", "cn", "ru",
    "br", "se", "pl", "be", "dk", "fi", "pt", "ie", "cz",
})
# fmt: on

_OPEN, _CLOSE = r"[\[({<]", r"[\])}>]"
#: The "at" of an address: bracketed (spaces inside optional) or the bare word between spaces.
_AT = re.compile(rf"(?i){_OPEN} ?at ?{_CLOSE}|(?<= )at(?= )")
#: A spelled dot (bracketed or the bare word between spaces) and any dot.
_SPELLED_DOT = rf"(?: ?{_OPEN} ?dot ?{_CLOSE} ?| {{1,3}}dot {{1,3}})"
_DOT = re.compile(rf"(?i){_SPELLED_DOT}|\.")
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
#: The domain after the "at": two to eight labels joined by dots.
_DOMAIN = re.compile(
    rf"(?i) {{0,3}}{_LABEL}(?:{_SPELLED_DOT}|\.)(?:{_LABEL}(?:{_SPELLED_DOT}|\.))"
    rf"{{0,6}}{_LABEL}(?![\w-])"
)
_LOCAL_MAX = 64
_LOCAL_CHARS = r"[\w.%+'-]{1,64}"
#: The local part before the "at", read backwards (on the reversed text): characters, then
#: up to four spelled dots, each followed by more characters.
_REVERSED_LOCAL = re.compile(
    rf"(?i) {{0,3}}{_LOCAL_CHARS}(?:(?: ?{_CLOSE} ?tod ?{_OPEN} ?| {{1,3}}tod {{1,3}})"
    rf"{_LOCAL_CHARS}){{0,4}}"
)


def _local_start(text: str, at: int) -> int | None:
    """Where the local part before the "at" at ``at`` starts, if there is one."""
    window = text[max(0, at - 2 * _LOCAL_MAX) : at]
    match = _REVERSED_LOCAL.match(window[::-1])
    if match is None:
        return None
    start = at - match.end()
    before = text[start - 1] if start else " "
    if before.isalnum() or before in "_\u2022" or not text[start].isalnum():
        return None
    if len(text[start:at].rstrip(" ")) > _LOCAL_MAX:
        return None
    return start


def _domain_end(text: str, after: int, bare_at: bool) -> int | None:
    """Where the domain starting at ``after`` ends, if there is one: its last label letters
    only and, after the bare word "at", a dot spelled out and a common top-level domain."""
    match = _DOMAIN.match(text, after, min(len(text), after + 300))
    if match is None:
        return None
    dots = list(_DOT.finditer(text, match.start(), match.end()))
    tld = text[dots[-1].end() : match.end()]
    if not tld.isalpha():
        return None
    if bare_at and (tld.lower() not in PLAIN_TLDS or all(d.group() == "." for d in dots)):
        return None
    return match.end()


def spelled_email_spans(text: str) -> list[tuple[int, int, str]]:
    """The spelled-out e-mail addresses in ``text``, as sorted, non-overlapping
    ``(start, end, "email")`` spans."""
    spans: list[tuple[int, int, str]] = []
    for at in _AT.finditer(text):
        found = _address_at(text, at)
        if found is not None and (not spans or found[0] >= spans[-1][1]):
            spans.append((*found, "email"))
    return spans


def _address_at(text: str, at: re.Match[str]) -> tuple[int, int] | None:
    """The address around the "at" ``at``, if there is one: its start and end."""
    start = _local_start(text, at.start())
    if start is None:
        return None
    end = _domain_end(text, at.end(), bare_at=at.group().isalpha())
    return None if end is None else (start, end)


def masked_positions(text: str, start: int, end: int) -> list[int]:
    """The positions in ``text[start:end]``, an address :func:`spelled_email_spans` found,
    that masking replaces: the local part's but its first, the labels' but the last one's;
    never a space, the "at" or a spelled dot."""
    at = next(
        (at for at in _AT.finditer(text, start, end) if _address_at(text, at) == (start, end)), None
    )
    if at is None:
        return []
    kept = {start}
    for dot in _DOT.finditer(text, start, at.start()):
        if dot.group() != ".":
            kept.update(range(dot.start(), dot.end()))
    dots = list(_DOT.finditer(text, at.end(), end))
    for dot in dots:
        kept.update(range(dot.start(), dot.end()))
    return [
        i
        for i in [*range(start, at.start()), *range(at.end(), dots[-1].start())]
        if i not in kept and text[i] != " "
    ]
