"""data.masking: what is masked (e-mails, phones, cards), what is not, and the promises
that hold for any text (same length, idempotent, nothing touched outside a span)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.masking import mask_frame, mask_pii, pii_spans
from data.number_spans import MASK

M = MASK


def only(text: str) -> tuple[str, str]:
    """The one span of ``text``: its kind and its masked form."""
    spans = pii_spans(text)
    assert len(spans) == 1, (text, spans)
    start, end, kind = spans[0]
    return kind, mask_pii(text)[start:end]


# -- e-mail -----------------------------------------------------------------------------


#: Addresses: the first character, "@" and ".tld" stay.
EMAILS = [
    ("Mail jane.doe@example.com now", f"Mail j{M * 7}@{M * 7}.com now"),
    ("a@b.io", f"a@{M}.io"),
    ("X.Y+tag@mail.example.co.uk.", f"X{M * 6}@{M * 15}.uk."),  # the sentence's dot stays
    ("<o'brien_99@sub-domain.org>", f"<o{M * 9}@{M * 10}.org>"),
    ("(ana%ops@corp.io)", f"(a{M * 6}@{M * 4}.io)"),
    ("José.Núñez@correo.es, thanks", f"J{M * 9}@{M * 6}.es, thanks"),
    ("two: a1@x.com;b2@y.org", f"two: a{M}@{M}.com;b{M}@{M}.org"),
]


def test_email_span_is_the_address_without_punctuation():
    text = "Reach me at bob@corp.io or 555-123-4567."
    assert pii_spans(text) == [(12, 23, "email"), (27, 39, "phone")]
    assert text[12:23] == "bob@corp.io"


def test_email_local_part_up_to_64_characters():
    local = "a" * 64
    assert only(f"to {local}@example.com") == ("email", f"a{M * 63}@{M * 7}.com")


@pytest.mark.parametrize(
    "text",
    [
        "user@localhost",
        "a@b.c",
        "meet @ 5pm",
        "@handle",
        "x@1.2.3.4",
        "a@.com",
        "name@ domain.com",
        "foo@bar",
        "a@b.12",
    ],
)
def test_not_an_email(text):
    assert [s for s in pii_spans(text) if s[2] == "email"] == []


# -- phone numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, masked",
    [
        # a "+" country code
        ("+44 20 7946 0958", f"+{M * 2} {M * 2} {M * 4} {M * 2}58"),
        ("+1-555-123-4567", f"+{M}-{M * 3}-{M * 3}-{M * 2}67"),
        ("+33 6 12 34 56 78", f"+{M * 2} {M} {M * 2} {M * 2} {M * 2} 78"),
        ("+49 151 23456789", f"+{M * 2} {M * 3} {M * 6}89"),
        ("+44 (0) 20 7946 0958", f"+{M * 2} ({M}) {M * 2} {M * 4} {M * 2}58"),
        ("(+44) 20 7946 0958", f"(+{M * 2}) {M * 2} {M * 4} {M * 2}58"),
        ("(+1) 415-555-2671", f"(+{M}) {M * 3}-{M * 3}-{M * 2}71"),
        # an area code in parentheses
        ("(555) 123-4567", f"({M * 3}) {M * 3}-{M * 2}67"),
        ("(020) 7946-0958", f"({M * 3}) {M * 4}-{M * 2}58"),
        ("(555)123-4567", f"({M * 3}){M * 3}-{M * 2}67"),
        # North American 3-3-4, with or without the leading 1
        ("555-123-4567", f"{M * 3}-{M * 3}-{M * 2}67"),
        ("555.123.4567", f"{M * 3}.{M * 3}.{M * 2}67"),
        ("555 123 4567", f"{M * 3} {M * 3} {M * 2}67"),
        ("1-800-555-0199", f"{M}-{M * 3}-{M * 3}-{M * 2}99"),
        ("1 800 555 0199", f"{M} {M * 3} {M * 3} {M * 2}99"),
        # national formats with the trunk 0
        ("020 7946 0958", f"{M * 3} {M * 4} {M * 2}58"),
        ("06 12 34 56 78", f"{M * 2} {M * 2} {M * 2} {M * 2} 78"),
        ("07700 900123", f"{M * 5} {M * 4}23"),
        ("0151 2345 6789", f"{M * 4} {M * 4} {M * 2}89"),
        # the area code before a slash (German-speaking countries)
        ("030/1234567", f"{M * 3}/{M * 5}67"),
        ("0171 / 2345678", f"{M * 4} / {M * 5}78"),
        ("089/123 456 78", f"{M * 3}/{M * 3} {M * 3} 78"),
        # the international prefix 00 for the "+"
        ("0049 30 1234567", f"{M * 4} {M * 2} {M * 5}67"),
        ("0044 20 7946 0958", f"{M * 4} {M * 2} {M * 4} {M * 2}58"),
    ],
)
def test_phone_shapes_keep_the_last_two_digits(text, masked):
    for framed in (text, f"Please call {text} today.", f"({text})"):
        start = framed.index(text)
        assert only(framed) == ("phone", masked), framed
        assert pii_spans(framed)[0][:2] == (start, start + len(text))


#: Any digits shortly after a phone word are a phone number: the last 2 digits stay.
AFTER_PHONE_WORDS = [
    ("phone: 5551234", f"phone: {M * 5}34"),
    ("Phone 12345678", f"Phone {M * 6}78"),
    ("call me 12345678", f"call me {M * 6}78"),
    ("call me at 98765432 tomorrow", f"call me at {M * 6}32 tomorrow"),
    ("tel:+1-555-123-4567", f"tel:+{M}-{M * 3}-{M * 3}-{M * 2}67"),
    ("Tel. 089 12345678", f"Tel. {M * 3} {M * 6}78"),
    ("WhatsApp 12 34 567 89", f"WhatsApp {M * 2} {M * 2} {M * 3} 89"),
    ("mobile: 9876543210", f"mobile: {M * 8}10"),
    ("SMS 5551234", f"SMS {M * 5}34"),
    ("text me on 4567 8901", f"text me on {M * 4} {M * 2}01"),
]


@pytest.mark.parametrize(
    "kind, text, masked",
    [("email", *e) for e in EMAILS] + [("phone", *p) for p in AFTER_PHONE_WORDS],
)
def test_masked_as_documented(kind, text, masked):
    assert mask_pii(text) == masked
    assert {k for _, _, k in pii_spans(text)} == {kind}


def test_phone_word_reaches_only_a_short_way():
    far = "phone me whenever you like, the code is 12345678"
    assert pii_spans(far) == []
    assert pii_spans("12345678") == []  # no shape and no phone word
    assert pii_spans("telephonebook 12345678") == []  # a word, not the keyword


@pytest.mark.parametrize(
    "text", ["call 555-12", "tel 123456", "+44 20 79", "phone 12345678901234567"]
)
def test_too_short_or_too_long_for_a_phone(text):
    assert pii_spans(text) == []


# -- cards ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, masked",
    [
        ("4111 1111 1111 1111", f"{M * 4} {M * 4} {M * 4} 1111"),
        ("4111-1111-1111-1111", f"{M * 4}-{M * 4}-{M * 4}-1111"),
        ("4111111111111111", f"{M * 12}1111"),
        ("5555-5555-5555-4444", f"{M * 4}-{M * 4}-{M * 4}-4444"),
        ("6011 1111 1111 1117", f"{M * 4} {M * 4} {M * 4} 1117"),
        ("3782 822463 10005", f"{M * 4} {M * 6} {M}0005"),  # Amex 4-6-5
        ("378282246310005", f"{M * 11}0005"),  # 15 digits in a run
        ("4222222222222", f"{M * 9}2222"),  # 13 digits
        ("6011000990139424", f"{M * 12}9424"),
        ("411 111 111 111 1111", f"{M * 3} {M * 3} {M * 3} {M * 3} 1111"),  # groups of 3
        ("6304 0000 0000 0000 018", f"{M * 4} {M * 4} {M * 4} {M * 3}0 018"),  # 19 digits
    ],
)
def test_luhn_valid_cards_keep_the_last_four_digits(text, masked):
    for framed in (text, f"card: {text}.", f"({text})", f"paid with {text}, thanks"):
        assert only(framed) == ("card", masked), framed


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",
        "4111111111111112",
        "5555-5555-5555-4445",
        "1234 5678 9012 3456",
        "4111 1111 1111",  # 12 digits: too short for a card
        "41 11 11 11 11 11 11 11",  # groups of 2 are no card
    ],
)
def test_luhn_invalid_or_ungrouped_numbers_stay(text):
    assert mask_pii(f"order {text}") == f"order {text}"


@pytest.mark.parametrize(
    "text, masked",
    [
        # "12345678901 4111" passes as a card of 15 digits: the card after it was left whole
        (
            "ref 12345678901 4111 1111 1111 1111",
            f"ref {M * 11} {M * 4} {M * 4} {M * 4} 1111",
        ),
        # "555 123 4567 4111" passes as a card of 14 digits (Luhn by chance)
        (
            "call 555 123 4567 4111 1111 1111 1111",
            f"call {M * 3} {M * 3} {M * 4} {M * 4} {M * 4} {M * 4} 1111",
        ),
        # a national phone number of 15 digits with the card's first group, after a phone word
        (
            "phone 020 7946 0958 4111 1111 1111 1111",
            f"phone {M * 3} {M * 4} {M * 4} {M * 4} {M * 4} {M * 4} 1111",
        ),
        ("00000000000 000 000000 0000", f"{M * 11} {M * 3} {M * 6} 0000"),  # found by Hypothesis
    ],
)
def test_a_card_that_a_number_before_it_runs_into_is_masked_with_it(text, masked):
    # The two numbers become one span, which keeps the last four digits of the card.
    assert [kind for _, _, kind in pii_spans(text)] == ["card"]
    assert mask_pii(text) == masked
    assert mask_pii(masked) == masked


def test_two_cards_in_a_row_each_keep_their_last_four():
    text = "cards 4111 1111 1111 1111 5500 0000 0000 0004"
    assert mask_pii(text) == f"cards {M * 4} {M * 4} {M * 4} 1111 {M * 4} {M * 4} {M * 4} 0004"


@pytest.mark.parametrize(
    "text, masked",
    [
        # glued to a label or a sign before it: unlike a phone number, still a card
        ("cc#4111 1111 1111 1111", f"cc#{M * 4} {M * 4} {M * 4} 1111"),
        ("Card No.4111 1111 1111 1111", f"Card No.{M * 4} {M * 4} {M * 4} 1111"),
        ("CARD4111111111111111", f"CARD{M * 12}1111"),
        ("card-4111111111111111", f"card-{M * 12}1111"),
        ("card_5555555555554444", f"card_{M * 12}4444"),
        ("pay/4111111111111111", f"pay/{M * 12}1111"),
        # glued to what follows: the expiry, the security code
        ("4111 1111 1111 1111exp 12/27", f"{M * 4} {M * 4} {M * 4} 1111exp 12/27"),
        ("4111111111111111/123", f"{M * 12}1111/123"),
        # groups of four between dots
        ("card 4111.1111.1111.1111", f"card {M * 4}.{M * 4}.{M * 4}.1111"),
    ],
)
def test_a_card_glued_to_the_text_around_it_is_masked(text, masked):
    assert mask_pii(text) == masked
    assert mask_pii(masked) == masked


@pytest.mark.parametrize(
    "text",
    [
        "ID#4111111111111112",  # glued, but no Luhn: an id
        "x 0.4111111111111111",  # decimals
        "1.4111111111111111 tokens",
        "total 4111111111111111,50",
        "+4111111111111111",  # a "+": no card (and no phone of 16 digits)
        "4111.111.1111.1111",  # a group of three between dots
        "ref 0012345678",  # one group after 00: no phone
    ],
)
def test_glued_numbers_that_are_no_card_stay(text):
    assert mask_pii(text) == text


def test_a_card_is_not_a_price():
    # A currency sign before a number makes it an amount, but no amount has 13 digits
    # that pass Luhn: the card is masked there too.
    assert mask_pii("$ 4111 1111 1111 1111") == f"$ {M * 4} {M * 4} {M * 4} 1111"
    assert mask_pii("€ 555-123-4567") == "€ 555-123-4567"  # an amount, not a phone


def test_bulleted_numbers_are_masked_and_stay_masked():
    text = "Details:\n• 4111 1111 1111 1111\n• 555-123-4567\n• order 12345678"
    masked = mask_pii(text)
    assert masked == (
        f"Details:\n• {M * 4} {M * 4} {M * 4} 1111\n• {M * 3}-{M * 3}-{M * 2}67\n• order 12345678"
    )
    assert mask_pii(masked) == masked


def test_mixed_text():
    text = "Mail jane.doe@example.com or call +44 20 7946 0958 (card 4111 1111 1111 1111)"
    assert mask_pii(text) == (
        f"Mail j{M * 7}@{M * 7}.com or call +{M * 2} {M * 2} {M * 4} "
        f"{M * 2}58 (card {M * 4} {M * 4} {M * 4} 1111)"
    )
    assert [kind for _, _, kind in pii_spans(text)] == ["email", "phone", "card"]


# -- what is not personal data ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        # dates and times
        "on 2024-03-15 at",
        "due 15.03.2024",
        "on 03/15/2024",
        "2024/03/15",
        "03.15.2024",
        "at 2024-03-15 14:30:00 UTC",
        "the number 2024 0315 1430",
        # IP addresses
        "10.0.0.1 and 192.168.100.200",
        "host 192.168.1.100:8080",
        # decimals
        "pi is 3.14159265358979",
        "ratio 0.123456789",
        # versions
        "upgrade to v2.13.0 please",
        "release 10.12.0.1234",
        "version 2.13.0-rc1",
        "v1.2.3.4567",
        # prices and amounts
        "$1,234,567.89",
        "€ 1 234 567",
        "€1234567",
        "£ 12345678",
        "1,234,567 USD",
        "USD 12345678",
        "used 12,345,678 tokens",
        "in 1234567 tokens",
        # percentages
        "12.5%",
        "growth of 1234567%",
        "up 1234567 %",
        # identifiers: numbers glued to letters, or after #, - or /
        "TCK-2024-000123",
        "INV-0012345678",
        "order #12345678",
        "ABC1234567890",
        "id_5551234567",
        "/api/v1/12345678901",
        "path/0123456789",
        "path/030/1234567",
        "x.030/1234567",
        "valid 01/2024",  # a month, not an area code
        "on 01/12/2024",
        "ref 0012345678",
        "user5551234567",
        "5551234567abc",
    ],
)
def test_not_personal_data(text):
    assert pii_spans(text) == []
    assert mask_pii(text) == text


def test_documented_non_matches_stay_even_after_a_phone_word():
    for text in (
        "tel 2024-03-15",
        "phone 192.168.1.1",
        "call me on v2.13.0",
        "phone TCK-2024-000123",
        "tel 3.14159265",
        "phone 12.5%",
    ):
        assert pii_spans(text) == [], text


@pytest.mark.parametrize("value", [None, float("nan"), 12345678, b"a@b.io", ["a@b.io"]])
def test_anything_but_text_is_returned_unchanged(value):
    assert pii_spans(value) == []
    result = mask_pii(value)
    assert result is value or (isinstance(value, float) and math.isnan(result))


def test_empty_text():
    assert pii_spans("") == [] and mask_pii("") == ""


# -- large and adversarial inputs (no timing: counts only) --------------------------------------


def test_large_text_gives_the_spans_of_its_parts():
    unit = (
        "Mail a.b@ex.com, call +44 20 7946 0958 or 4111 1111 1111 1111.\n• (555) 123-4567\n"
        "IBAN DE89 3704 0044 0532 0130 00\n"
    )
    small = pii_spans(unit)
    assert [kind for _, _, kind in small] == ["email", "phone", "card", "phone", "iban"]
    n = 4000  # about 260 kB
    big = unit * n
    spans = pii_spans(big)
    assert len(spans) == len(small) * n
    assert spans[-len(small) :] == [
        (s + len(unit) * (n - 1), e + len(unit) * (n - 1), k) for s, e, k in small
    ]
    assert mask_pii(big) == mask_pii(unit) * n


@pytest.mark.parametrize(
    "unit",
    [
        "1 ",
        "0 ",
        "12  ",
        "1.",
        "1-",
        "(1) ",
        "+1 ",
        "a@",
        "•1 ",
        "4111 ",
        "phone 1 ",
        "DE89 ",
        "AB12 ",
    ],
)
def test_adversarial_runs_complete_and_match_a_small_sample(unit):
    # Long runs of digits and separators (one "number" of 50,000 characters) finish, and
    # give the same result as a small sample of the same pattern: none.
    big = unit * (50_000 // len(unit))
    assert pii_spans(unit * 8) == []
    assert pii_spans(big) == []
    assert len(mask_pii(big)) == len(big)


def test_long_local_parts_and_domains_complete():
    text = "x" * 200_000 + "@b.com " + "a@" + "b-" * 100_000 + " c@" + "d." * 100_000
    assert pii_spans(text) == []


# -- properties for any text ----------------------------------------------------------------

#: Text with many near-misses: digits, separators, parentheses, "+", "@", masks, phone words.
_PIECES = list("0123456789" * 3 + " -.()+@/,:%#$€_abxyzAé•\n'\t") + [
    "phone ",
    "call me ",
    "tel:",
    ".com",
    "+44 ",
    "0",
    "4111 ",
    "a@b",
    "\u00a0",
    "DE89 3704 0044 0532 0130 00",
    "GB29NWBK60161331926819",
    "DE",
    " at ",
    "[at]",
    " dot ",
    "(dot)",
    "com",
    "SSN ",
    "123-45-6789",
    "030/",
]
NOISY = st.lists(st.sampled_from(_PIECES), max_size=60).map("".join)
ANY = st.one_of(NOISY, st.text(max_size=60))
_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(ANY)
def test_masking_keeps_the_length_and_is_idempotent(text):
    masked = mask_pii(text)
    assert len(masked) == len(text)
    assert mask_pii(masked) == masked


@_SETTINGS
@given(ANY)
def test_only_characters_inside_spans_change_and_only_to_the_mask(text):
    spans = pii_spans(text)
    assert spans == sorted(spans)
    inside = set()
    for k, (start, end, kind) in enumerate(spans):
        assert 0 <= start < end <= len(text) and kind in ("email", "phone", "card", "iban", "ssn")
        assert k == 0 or spans[k - 1][1] <= start  # no overlap
        inside.update(range(start, end))
    masked = mask_pii(text)
    for i, (before, after) in enumerate(zip(text, masked, strict=True)):
        if i not in inside:
            assert after == before, (text, i)
        elif after != before:
            assert after == MASK and before != MASK


# e-mail addresses and cards in random text

_LOCAL_TAIL = "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789é._%+-'"
_local = st.builds(str.__add__, st.sampled_from("abcxyzAZ09é"), st.text(_LOCAL_TAIL, max_size=30))
_label = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_tld = st.from_regex(r"[a-zA-Z]{2,6}", fullmatch=True)
EMAIL = st.tuples(_local, st.lists(_label, min_size=1, max_size=3).map(".".join), _tld)
#: What may stand between personal data and the text around it.
BOUNDARY = st.sampled_from([" ", "\n", "\t", " (", ") ", ", ", ": ", " <", "> ", "; ", "\n- "])


def luhn_complete(body: str) -> str:
    """``body`` with the check digit that makes it pass the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(body + "0")):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return body + str(-total % 10)


@st.composite
def cards(draw: st.DrawFn) -> tuple[str, str]:
    """A Luhn-valid card number: (its digits, as written: a run or groups of 3-6)."""
    n = draw(st.integers(13, 19))
    digits = luhn_complete(draw(st.text("0123456789", min_size=n - 1, max_size=n - 1)))
    style = draw(st.sampled_from(["run", "fours", "groups"]))
    if style == "run":
        return digits, digits
    if style == "fours":
        sizes = [4] * (n // 4) + ([n % 4] if n % 4 else [])
        if sizes[-1] < 3:
            sizes[-2:] = [sizes[-2] + sizes[-1]]
    else:
        sizes, left = [], n
        while left:
            size = left if left <= 6 else draw(st.integers(3, min(6, left - 3)))
            sizes.append(size)
            left -= size
    sep = draw(st.sampled_from([" ", "-"]))
    parts, i = [], 0
    for size in sizes:
        parts.append(digits[i : i + size])
        i += size
    return digits, sep.join(parts)


def test_luhn_helper():
    assert luhn_complete("411111111111111") == "4111111111111111"
    assert luhn_complete("37828224631000") == "378282246310005"


@_SETTINGS
@given(ANY, BOUNDARY, EMAIL, BOUNDARY, ANY)
def test_an_email_in_any_text_is_masked_as_documented(before, left, email, right, after):
    local, domain, tld = email
    address = f"{local}@{domain}.{tld}"
    text = before + left + address + right + after
    start = len(before) + len(left)
    assert (start, start + len(address), "email") in pii_spans(text)
    masked = mask_pii(text)
    assert masked[start : start + len(address)] == (
        local[0] + MASK * (len(local) - 1) + "@" + MASK * len(domain) + "." + tld
    )
    assert address not in masked


#: Text around a card: anything but the mask itself (a "•" before a number marks it as
#: masked already; bullets are tested above).
NO_MASK = st.one_of(
    st.lists(st.sampled_from([p for p in _PIECES if MASK not in p]), max_size=40).map("".join),
    st.text(st.characters(blacklist_characters=MASK), max_size=40),
)


@_SETTINGS
@given(NO_MASK, BOUNDARY, cards(), BOUNDARY, NO_MASK)
def test_a_card_in_any_text_never_stays_whole(before, left, card, right, after):
    digits, written = card
    text = before + left + written + right + after
    start = len(before) + len(left)
    shown = mask_pii(text)[start : start + len(written)]
    assert shown != written  # some digit before the last four is masked
    assert shown[:-4] != written[:-4]


#: Text glued to a card with no space: labels and signs, never a digit or a "+".
_GLUED_BEFORE = st.lists(
    st.sampled_from(list("abcXYZé#=:-_/*'`") + ["No.", "card", "cc#"]), max_size=4
).map("".join)
_GLUED_AFTER = st.lists(st.sampled_from(list("abcXYZé/#*'`") + ["exp", "."]), max_size=4).map(
    "".join
)


@_SETTINGS
@given(NO_MASK, _GLUED_BEFORE, cards(), _GLUED_AFTER, NO_MASK)
def test_a_card_glued_to_letters_or_signs_keeps_exactly_its_last_four(
    before, glued_before, card, glued_after, after
):
    digits, written = card
    text = f"{before}\n{glued_before}{written}{glued_after}\n{after}"
    start = len(before) + 1 + len(glued_before)
    shown = mask_pii(text)[start : start + len(written)]
    assert shown[-4:] == written[-4:]
    assert sum(c.isdecimal() for c in shown) == 4, (text, shown)


_CLEAR = st.lists(st.sampled_from(list("abcxyz ABC.,!?é") + ["phone", "+", "#"]), max_size=30).map(
    "".join
)
#: Boundaries after which nothing can join the card to the text around it.
_APART = st.sampled_from(["\n", ", ", ": ", "; ", " (", ") ", "\n* "])


@_SETTINGS
@given(_CLEAR, _APART, cards(), _APART, _CLEAR)
def test_a_card_apart_from_other_digits_keeps_exactly_its_last_four(
    before, left, card, right, after
):
    digits, written = card
    text = before + left + written + right + after
    start = len(before) + len(left)
    assert (start, start + len(written), "card") in pii_spans(text)
    shown = mask_pii(text)[start : start + len(written)]
    assert "".join(c for c in shown if c.isdecimal()) == digits[-4:]
    assert shown.endswith(written[-4:]) or not written[-4:].isdecimal()
    assert [c for c in shown if c not in MASK + "0123456789"] == [
        c for c in written if not c.isdecimal()
    ]  # the separators stay


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=n, max_size=n)


@st.composite
def phones(draw: st.DrawFn) -> str:
    """A phone number in a documented shape: 3-3-4, an area code in parentheses, or a
    "+" country code with groups of 2-4 digits (7-15 digits in all)."""
    shape = draw(st.sampled_from(["nanp", "area", "plus"]))
    if shape == "nanp":
        sep = draw(st.sampled_from([" ", "-", "."]))
        return sep.join([draw(_digits(3)), draw(_digits(3)), draw(_digits(4))])
    if shape == "area":
        return f"({draw(_digits(3))}) {draw(_digits(3))}-{draw(_digits(4))}"
    groups = [draw(_digits(draw(st.integers(1, 3))))]
    while (n := sum(map(len, groups))) < 7 or (n < 13 and draw(st.booleans())):
        groups.append(draw(_digits(draw(st.integers(2, min(4, 15 - n))))))
    return "+" + draw(st.sampled_from([" ", "-"])).join(groups)


@_SETTINGS
@given(_CLEAR, _APART, phones(), _APART, _CLEAR)
def test_a_phone_apart_from_other_digits_keeps_exactly_its_last_two(
    before, left, phone, right, after
):
    text = before + left + phone + right + after
    start = len(before) + len(left)
    assert (start, start + len(phone), "phone") in pii_spans(text)
    shown = mask_pii(text)[start : start + len(phone)]
    digits = [c for c in phone if c.isdecimal()]
    assert [c for c in shown if c.isdecimal()] == digits[-2:]
    assert [c for c in shown if c not in MASK + "0123456789"] == [
        c for c in phone if not c.isdecimal()
    ]


# -- mask_frame ----------------------------------------------------------------------------


def test_mask_frame_masks_only_the_named_columns_and_does_not_change_its_input():
    df = pd.DataFrame(
        {
            "text": ["mail a@b.io", None, "call 555-123-4567"],
            "subject": ["card 4111 1111 1111 1111", "ok", None],
            "author": ["a@b.io"] * 3,
            "n": [1, 2, 3],
        }
    )
    before = df.copy(deep=True)
    out = mask_frame(df, ["text", "subject", "not_there"])
    pd.testing.assert_frame_equal(df, before)
    assert out is not df
    assert out["text"][0] == f"mail a@{M}.io" and pd.isna(out["text"][1])
    assert out["text"][2] == f"call {M * 3}-{M * 3}-{M * 2}67"
    assert out["subject"].tolist()[:2] == [f"card {M * 4} {M * 4} {M * 4} 1111", "ok"]
    assert pd.isna(out["subject"][2])
    assert out["author"].tolist() == ["a@b.io"] * 3  # not named: left whole
    assert out["n"].tolist() == [1, 2, 3]
    assert list(out.columns) == list(df.columns) and list(out.index) == list(df.index)
    assert out.dtypes.tolist() == df.dtypes.tolist()


@pytest.mark.parametrize(
    "dtype, missing",
    [
        (object, [None, float("nan")]),
        ("string", [pd.NA, pd.NA]),
        (None, [math.nan, math.nan]),
    ],
)
def test_mask_frame_keeps_missing_values_and_the_dtype(dtype, missing):
    values = pd.Series(["a@b.io", *missing, "plain"], dtype=dtype, index=[10, 11, 12, 13])
    df = pd.DataFrame({"text": values})
    out = mask_frame(df, "text")  # one name is a list of one
    assert out["text"].dtype == df["text"].dtype
    assert out["text"][10] == f"a@{M}.io" and out["text"][13] == "plain"
    for got, want in zip(out["text"][[11, 12]].tolist(), missing, strict=True):
        assert got is want or (isinstance(want, float) and math.isnan(got))
    assert df["text"][10] == "a@b.io"


def test_mask_frame_of_an_empty_frame_and_of_no_columns():
    empty = pd.DataFrame({"text": pd.Series([], dtype=object)})
    assert mask_frame(empty, ["text"]).empty
    df = pd.DataFrame({"text": ["a@b.io"]})
    assert mask_frame(df, []).equals(df)
