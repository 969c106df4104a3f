"""US social security and taxpayer numbers found in text (data/national_id_spans.py) and
masked (data/masking.py).

Whether a number may be issued is decided here by the Social Security Administration's and
the IRS's published rules, written out below, not by the module's check (python-stdnum).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data.masking import mask_pii, pii_spans
from data.national_id_spans import ssn_spans
from data.number_spans import MASK as M

#: Numbers published in advertising (a wallet insert, ...), never a person's.
_ADVERTISED = {"078-05-1120", "219-09-9999", "457-55-5462"}
#: The groups of an individual taxpayer number (ITIN: area 9xx), as the IRS lists them.
_ITIN_GROUPS = {*range(50, 66), *range(70, 89), *range(90, 93), *range(94, 100)}


def issued(area: int, group: int, serial: int) -> bool:
    """Whether ``area-group-serial`` may be an SSN or ITIN, by the published rules."""
    if f"{area:03d}-{group:02d}-{serial:04d}" in _ADVERTISED:
        return False
    if area >= 900:
        return group in _ITIN_GROUPS
    return area not in (0, 666) and group != 0 and serial != 0


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("my SSN is 123-45-6789, thanks", f"my SSN is {M * 3}-{M * 2}-6789, thanks"),
        ("ssn 123 45 6789", f"ssn {M * 3} {M * 2} 6789"),
        ("SSN: 123456789", f"SSN: {M * 5}6789"),
        ("SSN#123456789", f"SSN#{M * 5}6789"),
        ("Social Security Number: 123456789", f"Social Security Number: {M * 5}6789"),
        ("soc. sec. no. 123456789.", f"soc. sec. no. {M * 5}6789."),
        ("ITIN 912-70-1234", f"ITIN {M * 3}-{M * 2}-1234"),
        ("(123-45-6789)", f"({M * 3}-{M * 2}-6789)"),
        ("SSN 123\u201345\u20136789", f"SSN {M * 3}\u2013{M * 2}\u20136789"),  # en dashes
        # an SSN, then a phone number: each masked as its kind
        ("123-45-6789 555-123-4567", f"{M * 3}-{M * 2}-6789 {M * 3}-{M * 3}-{M * 2}67"),
    ],
)
def test_social_security_numbers_keep_their_last_four_digits(text, masked):
    assert mask_pii(text) == masked
    assert "ssn" in {kind for _, _, kind in pii_spans(text)}


@pytest.mark.parametrize(
    "text",
    [
        "order 123456789",  # nine digits without a label: an id
        "SSN is on file with us; your order 123456789",  # a label, but too far away
        "SSN 2024: order 123456789",  # a digit between the label and the number
        "000-12-3456",  # area 000
        "666-12-3456",  # area 666
        "123-00-4567",  # group 00
        "123-45-0000",  # serial 0000
        "900-12-3456",  # area 9xx with a group the IRS does not issue
        "078-05-1120",  # the wallet-insert number
        "123-45 6789",  # two different separators
        "123-45-67890",  # a longer run
        "tel 1-123-45-6789",  # part of a longer number
        "555 123-45-6789",
        "123 45 6789 10",
        "v1.123-45-6789",
        "+123-45-6789",
        "123-45-6789-1",
    ],
)
def test_what_is_no_social_security_number(text):
    assert ssn_spans(text) == []


_AREAS = st.integers(0, 999)
_GROUPS = st.integers(0, 99)
_SERIALS = st.integers(0, 9999)


@settings(max_examples=500, deadline=None)
@given(
    _AREAS, _GROUPS, _SERIALS, st.sampled_from(["-", " "]), st.sampled_from(["", "x ", "(", ": "])
)
def test_a_number_is_found_exactly_when_it_may_be_issued(area, group, serial, sep, before):
    written = f"{area:03d}{sep}{group:02d}{sep}{serial:04d}"
    text = f"{before}{written}, thanks"
    start = len(before)
    expected = [(start, start + len(written), "ssn")] if issued(area, group, serial) else []
    assert ssn_spans(text) == expected
    if expected:
        shown = mask_pii(text)[start : start + len(written)]
        assert shown == f"{M * 3}{sep}{M * 2}{sep}{serial:04d}"
        assert mask_pii(mask_pii(text)) == mask_pii(text)


@settings(max_examples=300, deadline=None)
@given(
    _AREAS,
    _GROUPS,
    _SERIALS,
    st.sampled_from(["SSN ", "SSN: ", "ssn#", "social security number is ", "ITIN "]),
)
def test_nine_digits_after_a_label_are_found_when_they_may_be_issued(area, group, serial, label):
    digits = f"{area:03d}{group:02d}{serial:04d}"
    text = f"{label}{digits}"
    found = ssn_spans(text)
    assert found == ([(len(label), len(text), "ssn")] if issued(area, group, serial) else [])
    assert ssn_spans(f"ref {digits}") == []
