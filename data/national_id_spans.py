"""US social security and taxpayer numbers (SSN, ITIN) found in text, for masking
(:mod:`data.masking`).

A number is found in two ways:

- written in its own shape, three digits, two, then four, with one hyphen or one space
  between them both times (``123-45-6789``, ``123 45 6789``), standing apart from other
  digits: no digit, ``•``, ``+`` or digit-and-separator before it, no digit or the same
  separator and a digit after it (``555 123-45-6789`` is not one, nor is ``123 45 6789
  10``), so phone numbers and longer runs are left to :mod:`data.number_spans`;
- as nine digits in one run (``123456789``) at most 24 characters after a label: ``SSN``,
  ``SS#``, ``social security`` (``number``, ``no.``), ``soc. sec.``, ``ITIN`` or
  ``taxpayer id``, with no digit between. Nine digits alone are an order or account id.

Either way it is found only when python-stdnum accepts it as an SSN (area not 000, 666 or
9xx, group not 00, serial not 0000, not one of the numbers published in advertising) or it
is an ITIN: area 9xx with a group the IRS issues, 50-65, 70-88, 90-92 or 94-99 (stdnum's own
ITIN check predates the 50-65 range). The text is read as :mod:`data.masking`
hands it over: look-alike characters already in their plain form (an en dash is ``-``).

Example:
    >>> ssn_spans("SSN 123-45-6789, or ssn: 219099998, not 000-12-3456")
    [(4, 15, 'ssn'), (25, 34, 'ssn')]
"""

from __future__ import annotations

import re

from stdnum.us import ssn

__all__ = ["ssn_spans"]

#: Digits three, two and four, the same separator twice, no digit group after them (what
#: comes before is checked by :func:`_apart`: a pattern that starts with a digit is found
#: fast).
_SHAPED = re.compile(r"\d{3}([- ])\d{2}\1\d{4}(?!\d)(?!\1\d)(?![-.]\d)")
#: Nine digits in one run.
_NINE_DIGITS = re.compile(r"\d{9}(?![\d\u2022])")
_MASK = "\u2022"
_LABEL = re.compile(
    r"(?i)(?<![^\W_])(?:ssn|ss#|social security(?: number| no\.?| #)?|soc\.? ?sec\.?"
    r"(?: no\.?)?|itin|taxpayer id(?:entification number)?)(?![^\W_])"
)
_LABEL_REACH = 24
#: The groups (fourth and fifth digits) of the ITINs the IRS issues.
_ITIN_GROUPS = frozenset(
    f"{group:02d}" for group in (*range(50, 66), *range(70, 89), *range(90, 93), *range(94, 100))
)
_NO_DIGIT = re.compile(r"\D*")


def _issued_shape(number: str) -> bool:
    """Whether ``number`` (hyphens or spaces between the groups, or none) is an SSN or ITIN."""
    number = number.replace(" ", "-")
    digits = number.replace("-", "")
    return ssn.is_valid(number) or (digits[0] == "9" and digits[3:5] in _ITIN_GROUPS)


def _digitish(c: str) -> bool:
    return c.isdecimal() or c == _MASK


def _apart(text: str, start: int, separators: str) -> bool:
    """Whether the number at ``start`` stands apart: no digit, ``•`` or ``+`` right before it,
    nor a digit (or ``•``) and one of ``separators``."""
    before = text[start - 1] if start else " "
    if _digitish(before) or before == "+":
        return False
    return not (before in separators and start >= 2 and _digitish(text[start - 2]))


def _after_label(text: str, start: int) -> bool:
    """Whether a label ends within :data:`_LABEL_REACH` characters before ``start``, with no
    digit between."""
    window = text[max(0, start - _LABEL_REACH - 30) : start]
    for label in _LABEL.finditer(window):
        between = window[label.end() :]
        if len(between) <= _LABEL_REACH and _NO_DIGIT.fullmatch(between):
            return True
    return False


def ssn_spans(text: str) -> list[tuple[int, int, str]]:
    """The SSNs and ITINs in ``text``, as sorted ``(start, end, "ssn")`` spans."""
    spans = [
        (m.start(), m.end(), "ssn")
        for m in _SHAPED.finditer(text)
        if _apart(text, m.start(), "-. ") and _issued_shape(m.group())
    ]
    spans += [
        (m.start(), m.end(), "ssn")
        for m in _NINE_DIGITS.finditer(text)
        if _apart(text, m.start(), "")
        and _issued_shape(m.group())
        and _after_label(text, m.start())
    ]
    return sorted(spans)
