"""IBANs found in text (data/account_spans.py) and masked (data/masking.py).

The check digits in the property below are computed here, by ISO 13616's own recipe
(98 minus the remainder), not by the module's check.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data.account_spans import iban_spans
from data.masking import mask_pii, pii_spans
from data.number_spans import MASK as M

#: Published example IBANs (each country's bank association or the ECBS register).
EXAMPLES = [
    "DE89 3704 0044 0532 0130 00",
    "GB29 NWBK 6016 1331 9268 19",
    "FR14 2004 1010 0505 0001 3M02 606",
    "NL91 ABNA 0417 1643 00",
    "ES91 2100 0418 4502 0005 1332",
    "IT60 X054 2811 1010 0000 0123 456",
    "BE68 5390 0754 7034",
    "CH93 0076 2011 6238 5295 7",
    "NO93 8601 1117 947",
]


def _with_check_digits(country: str, bban: str) -> str:
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


@pytest.mark.parametrize("iban", EXAMPLES)
def test_published_ibans_are_found_printed_and_electronic(iban):
    for written in (iban, iban.replace(" ", "")):
        text = f"Please refund to {written}, thanks"
        assert iban_spans(text) == [(17, 17 + len(written), "iban")]


def test_a_wrong_check_digit_lower_case_or_glued_iban_is_not_found():
    assert iban_spans("DE89 3704 0044 0532 0130 01") == []  # last digit changed
    assert iban_spans("DE98 3704 0044 0532 0130 00") == []  # check digits swapped
    assert iban_spans("de89370400440532013000") == []
    assert iban_spans("xDE89370400440532013000") == []
    assert iban_spans("DE89370400440532013000x") == []
    assert iban_spans("AB12 CDEF GHIJ KLMN") == []
    assert iban_spans("DE89 3704 0044 0532 0130 0") == []  # one digit short for Germany
    assert iban_spans("ZX72 0000 0000 0000 00") == []  # check digits right, no such country
    assert iban_spans("DE36 0000 0000 0000 0000 00") == [(0, 27, "iban")]
    assert iban_spans("NO93 8601 111") == []  # too short


def test_a_capitalised_word_after_a_printed_iban_is_left_out():
    text = "GB82 WEST 1234 5698 7654 32 THX"
    assert iban_spans(text) == [(0, 27, "iban")]
    text = "DE89 3704 0044 0532 0130 00 ABCD"
    assert iban_spans(text) == [(0, 27, "iban")]


@pytest.mark.parametrize(
    "text, masked",
    [
        ("to DE89 3704 0044 0532 0130 00.", f"to DE{M * 2} {M * 4} {M * 4} {M * 4} {M * 2}30 00."),
        ("to DE89370400440532013000", f"to DE{M * 16}3000"),
        ("GB29 NWBK 6016 1331 9268 19", f"GB{M * 2} {M * 4} {M * 4} {M * 4} {M * 2}68 19"),
        # a card right after it is found on its own (the masked IBAN does not spend its run)
        (
            "DE89 3704 0044 0532 0130 00 4111 1111 1111 1111",
            f"DE{M * 2} {M * 4} {M * 4} {M * 4} {M * 2}30 00 {M * 4} {M * 4} {M * 4} 1111",
        ),
    ],
)
def test_an_iban_keeps_its_country_and_last_four_characters(text, masked):
    assert mask_pii(text) == masked
    assert mask_pii(masked) == masked


def test_an_iban_inside_an_e_mail_address_is_masked_as_the_address():
    assert [kind for _, _, kind in pii_spans("DE89370400440532013000@bank.de")] == ["email"]


_DIGITS = "0123456789"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _text(alphabet: str, size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=size, max_size=size)


#: Account formats (BBAN) of some registry countries (SWIFT IBAN registry).
_BBANS = st.one_of(
    st.tuples(st.just("DE"), _text(_DIGITS, 18)),
    st.tuples(st.just("GB"), st.builds(str.__add__, _text(_LETTERS, 4), _text(_DIGITS, 14))),
    st.tuples(st.just("NL"), st.builds(str.__add__, _text(_LETTERS, 4), _text(_DIGITS, 10))),
    st.tuples(st.just("PL"), _text(_DIGITS, 24)),
    st.tuples(st.just("NO"), _text(_DIGITS, 11)),
    st.tuples(
        st.just("CH"), st.builds(str.__add__, _text(_DIGITS, 5), _text(_DIGITS + _LETTERS, 12))
    ),
)


@settings(max_examples=300, deadline=None)
@given(_BBANS, st.booleans())
def test_any_iban_with_right_check_digits_is_found_and_one_changed_character_is_not(
    country_and_bban, printed
):
    country, bban = country_and_bban
    iban = _with_check_digits(country, bban)
    written = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)) if printed else iban
    text = f"IBAN: {written}\n"
    assert iban_spans(text) == [(6, 6 + len(written), "iban")]
    shown = mask_pii(text)[6 : 6 + len(written)]
    assert shown.replace(" ", "")[:2] == country and shown.replace(" ", "")[-4:] == iban[-4:]
    assert sum(c != M for c in shown.replace(" ", "")) == 6
    # mod 97 catches every digit changed for another digit, or letter for letter (its value
    # moves by d x 10^k with 0 < |d| < 97, which 97, a prime, does not divide)
    position = 4 + len(bban) // 2
    was = iban[position]
    changed = ("0" if was != "0" else "1") if was.isdecimal() else ("A" if was != "A" else "B")
    wrong = iban[:position] + changed + iban[position + 1 :]
    assert iban_spans(f"IBAN: {wrong}\n") == []
