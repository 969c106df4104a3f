"""E-mail addresses spelled out to slip past a filter (data/spelled_email_spans.py), masked
as an address with "@" is (data/masking.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data.masking import mask_pii, pii_spans
from data.number_spans import MASK as M
from data.spelled_email_spans import PLAIN_TLDS, spelled_email_spans


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("mail jane at example dot com", f"mail j{M * 3} at {M * 7} dot com"),
        ("jane [at] example [dot] com", f"j{M * 3} [at] {M * 7} [dot] com"),
        ("jane(at)example(dot)com", f"j{M * 3}(at){M * 7}(dot)com"),
        ("jane{at}mail.example.org!", f"j{M * 3}{{at}}{M * 4}.{M * 7}.org!"),
        ("jane <AT> corp <DOT> io", f"j{M * 3} <AT> {M * 4} <DOT> io"),
        ("jane.doe AT example DOT co DOT uk", f"j{M * 7} AT {M * 7} DOT {M * 2} DOT uk"),
        ("write jane dot doe at corp dot com.", f"write j{M * 3} dot {M * 3} at {M * 4} dot com."),
        ("x9 [ at ] my-host [ dot ] dev", f"x{M} [ at ] {M * 7} [ dot ] dev"),
        ("bob [at] corp.example", f"b{M * 2} [at] {M * 4}.example"),  # any TLD when bracketed
    ],
)
def test_spelled_out_addresses_are_masked_like_addresses(text, masked):
    assert mask_pii(text) == masked
    assert mask_pii(masked) == masked
    assert [kind for _, _, kind in pii_spans(text)] == ["email"]


@pytest.mark.parametrize(
    "text",
    [
        "signed up at openai.com",  # the bare word "at" with a plain dot: a sentence
        "meet at noon at the office dot com",
        "look at this dot it",  # "it" is no common top-level domain after a bare "at"
        "I'm at home dot now",
        "price (at) list",  # no domain
        "jane [at] example [dot] 123",  # the top-level domain is letters only
        "jane [at] example",  # one label
        "jane at example dot zz",  # an uncommon top-level domain after a bare "at"
        "_x [at] corp [dot] com",  # a local part starts with a letter or digit
    ],
)
def test_sentences_and_near_misses_are_no_address(text):
    assert spelled_email_spans(text) == []
    assert mask_pii(text) == text


def test_a_spelled_address_beside_a_real_one_and_a_card():
    text = "a@b.io or jane123 [at] mail4u [dot] com, card 4111 1111 1111 1111"
    assert mask_pii(text) == (
        f"a@{M}.io or j{M * 6} [at] {M * 6} [dot] com, card {M * 4} {M * 4} {M * 4} 1111"
    )


def test_long_runs_of_markers_complete_without_spans():
    for unit in (" at ", "[at]", " dot ", "a at a dot ", "a.a.", "jane [at] "):
        text = unit * (50_000 // len(unit))
        assert isinstance(spelled_email_spans(text), list)
        assert len(mask_pii(text)) == len(text)


_word = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
_AT_FORMS = ["[at]", " [at] ", "(at)", " (AT) ", "{at}", "<at>"]
_DOT_FORMS = ["[dot]", " [dot] ", "(dot)", " DOT ", "."]


@settings(max_examples=300, deadline=None)
@given(
    st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True),
    st.lists(_word, min_size=1, max_size=3),
    st.sampled_from(sorted(PLAIN_TLDS)),
    st.sampled_from(_AT_FORMS),
    st.sampled_from(_DOT_FORMS),
    st.sampled_from(["", "mail ", "to: ", "("]),
)
def test_any_spelled_address_keeps_only_its_first_character_and_tld(
    local, labels, tld, at, dot, before
):
    address = local + at + dot.join([*labels, tld])
    text = f"{before}{address}, thanks"
    assert spelled_email_spans(text) == [(len(before), len(before) + len(address), "email")]
    shown = mask_pii(text)[len(before) : len(before) + len(address)]
    assert shown[0] == local[0] and shown.endswith(dot + tld)
    assert shown.count(M) == len(local) - 1 + sum(len(label) for label in labels)
    assert mask_pii(mask_pii(text)) == mask_pii(text)
