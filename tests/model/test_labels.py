"""IOB2 label sets, --label-map parsing and repair."""

from __future__ import annotations

import pytest

from model.labels import (
    LabelMapError,
    iob2_labels,
    parse_label_map,
    repair_iob2,
    split_tag,
    tags_to_spans,
)


def test_iob2_labels_sorted_and_complete():
    assert iob2_labels(["PER", "LOC", "PER"]) == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]


def test_split_tag():
    assert split_tag("B-creative-work") == ("B", "creative-work")
    assert split_tag("O") == ("O", None)
    with pytest.raises(ValueError):
        split_tag("X-PER")


def test_repair_turns_orphan_inside_into_begin():
    assert repair_iob2(["I-PER", "I-PER", "O", "I-ORG", "B-ORG", "I-LOC"]) == [
        "B-PER",
        "I-PER",
        "O",
        "B-ORG",
        "B-ORG",
        "B-LOC",
    ]


def test_parse_label_map_renames_and_drops():
    mapping = parse_label_map("person=PER, group=ORG,creative-work=O,junk=")
    assert mapping == {"person": "PER", "group": "ORG", "creative-work": None, "junk": None}


def test_parse_label_map_preset():
    mapping = parse_label_map("wnut17")
    assert mapping["corporation"] == "ORG" and mapping["group"] == "ORG"
    assert mapping["product"] == "PRODUCT" and mapping["creative-work"] is None


@pytest.mark.parametrize("spec", ["", "person", "=PER", "a=B-PER", "a=X,a=Y", "a=two words"])
def test_parse_label_map_rejects(spec):
    with pytest.raises(LabelMapError):
        parse_label_map(spec)


def test_tags_to_spans_repairs_first():
    assert tags_to_spans(["O", "I-PER", "I-PER", "B-PER", "O", "B-LOC"]) == [
        (1, 3, "PER"),
        (3, 4, "PER"),
        (5, 6, "LOC"),
    ]
