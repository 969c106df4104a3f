"""Bank account numbers (IBAN) found in text, for masking (:mod:`data.masking`).

An IBAN is two capital letters (a country of the IBAN registry), two check digits and 11-30
capital letters or digits, in the electronic form (``DE89370400440532013000``) or the printed
one, in groups of four with one space between (``DE89 3704 0044 0532 0130 00``), 15-34
characters in all. It is found only when ``stdnum.iban`` (python-stdnum, which carries the
SWIFT registry) accepts it: a registered country, that country's length and account format,
and check digits that hold (ISO 13616 mod 97), so a product code or request id of the same
shape is left alone. The national checks stdnum can add (a bank code it does not list, as
for the registry's own Belgian example) are not asked for: an unlisted bank's account is
still an account. A printed IBAN followed by a capitalised word (``… 0130 00 THX``) is
still found: when the whole match fails, it is tried again without the groups of letters alone
it ends with.

Not found: lower-case IBANs and IBANs glued to a letter or digit, which read as identifiers.

Example:
    >>> iban_spans("Refund to DE89 3704 0044 0532 0130 00 please")
    [(10, 37, 'iban')]
"""

from __future__ import annotations

import re

from stdnum import iban

__all__ = ["iban_spans"]

#: A candidate: country and check digits, then groups of four (each after an optional single
#: space) and a last, shorter group. Each piece is a fixed width, so a match splits one way.
_CANDIDATE = re.compile(
    r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])"
)
_PIECE = re.compile(r" ?[A-Z0-9]{1,4}")


def _iban_at(match: re.Match[str]) -> tuple[int, int] | None:
    """The IBAN the candidate ``match`` is, or starts with when the groups it ends with are
    words (a space, then letters only: ``… 32 THX``), if any."""
    text = match.group()
    pieces = [m.group() for m in _PIECE.finditer(text, 4)]
    end = len(text)
    while pieces:  # stdnum checks the length too (15-34, each country its own)
        if iban.is_valid(text[:end].replace(" ", ""), check_country=False):
            return match.start(), match.start() + end
        last = pieces.pop()
        if not (last.startswith(" ") and last[1:].isalpha()):
            return None
        end -= len(last)
    return None


def iban_spans(text: str) -> list[tuple[int, int, str]]:
    """The IBANs in ``text``, as sorted ``(start, end, "iban")`` spans."""
    spans: list[tuple[int, int, str]] = []
    for match in _CANDIDATE.finditer(text):
        found = _iban_at(match)
        if found is not None:
            spans.append((found[0], found[1], "iban"))
    return spans
