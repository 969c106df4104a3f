"""IOB2 label sets, --label-map parsing and repair."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from model.labels import (
    LabelMapError,
    best_iob2_path,
    iob2_constraints,
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


LABELS = iob2_labels(["PER", "ORG"])  # O B-ORG I-ORG B-PER I-PER


def _valid(tags: list[str]) -> bool:
    return repair_iob2(tags) == tags


def test_constraints_are_iob2():
    follows, may_start = iob2_constraints(LABELS)
    for (i, a), (j, b) in itertools.product(enumerate(LABELS), repeat=2):
        assert follows[i, j] == _valid([a, b]) or not _valid([a])
    assert [bool(x) for x in may_start] == [_valid([label]) for label in LABELS]


def test_best_path_is_the_most_probable_valid_sequence():
    """Against brute force over every sequence of up to four items."""
    follows, may_start = iob2_constraints(LABELS)
    rng = np.random.default_rng(7)
    for n in range(5):
        for _ in range(40):
            probs = rng.dirichlet(np.full(len(LABELS), 0.3), size=n).astype(np.float32)
            path = best_iob2_path(probs, follows, may_start)
            assert len(path) == n
            assert _valid([LABELS[k] for k in path])

            def likelihood(seq, probs=probs) -> float:
                return float(np.prod([probs[i, k] for i, k in enumerate(seq)]))

            best = max(
                (
                    s
                    for s in itertools.product(range(len(LABELS)), repeat=n)
                    if _valid([LABELS[k] for k in s])
                ),
                key=likelihood,
            )
            assert likelihood(path) == pytest.approx(likelihood(best), rel=1e-6)


def test_a_valid_arg_max_is_kept_and_an_invalid_one_is_mended():
    follows, may_start = iob2_constraints(LABELS)
    o, b_org, i_org, b_per, i_per = range(5)
    probs = np.array([[0.1, 0.8, 0.05, 0.05, 0.0], [0.1, 0.1, 0.7, 0.0, 0.1]])
    assert best_iob2_path(probs, follows, may_start).tolist() == [b_org, i_org]
    # B-ORG then I-PER (invalid): I-PER's 0.6 with B-PER's 0.3 beats B-ORG's 0.5 with O's 0.3
    probs = np.array([[0.1, 0.5, 0.0, 0.3, 0.1], [0.3, 0.0, 0.1, 0.0, 0.6]])
    assert best_iob2_path(probs, follows, may_start).tolist() == [b_per, i_per]
    # an inside label first: its B- twin if that is the next best, else O
    assert best_iob2_path(np.array([[0.2, 0.3, 0.5, 0.0, 0.0]]), follows, may_start).tolist() == [
        b_org
    ]
    assert best_iob2_path(np.array([[0.4, 0.1, 0.5, 0.0, 0.0]]), follows, may_start).tolist() == [o]
    assert best_iob2_path(np.zeros((0, 5)), follows, may_start).tolist() == []
