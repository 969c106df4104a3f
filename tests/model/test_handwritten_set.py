"""The hand-written evaluation tickets (``model/datasets/handwritten/``): well-formed spans,
our four labels, enough products, counts as the README says, and nothing from training."""

from __future__ import annotations

import re
import string
from collections import Counter
from pathlib import Path

import pytest

from model.datasets import read_examples

HANDWRITTEN = Path(__file__).resolve().parents[2] / "model" / "datasets" / "handwritten"
LABELS = {"PER", "ORG", "PRODUCT", "LOC"}
# characters a span must neither start nor end with (quotes, dashes, brackets, …)
EDGE = set(string.whitespace + string.punctuation + "—–‘’“”«»…·|")


@pytest.fixture(scope="module")
def examples():
    return read_examples(HANDWRITTEN / "tickets.jsonl")


def test_thirty_tickets_with_sentiment(examples):
    assert len(examples) == 30
    assert all(ex.sentiment in ("negative", "neutral", "positive") for ex in examples)
    assert len({ex.text for ex in examples}) == 30


def test_spans_are_whole_names_without_surrounding_punctuation(examples):
    for ex in examples:
        starts = {s for s, _ in ex.words}
        ends = {e for _, e in ex.words}
        for start, end, label in ex.spans:
            name = ex.text[start:end]
            assert label in LABELS, (label, name)
            assert name == name.strip(), name
            assert name[0] not in EDGE and name[-1] not in EDGE, name
            # a span covers whole evaluation words (it neither cuts nor half-covers a word)
            assert start in starts and end in ends, name
            assert "@" not in name and "://" not in name, name


def test_enough_products(examples):
    counts = Counter(label for ex in examples for _, _, label in ex.spans)
    assert counts["PRODUCT"] >= 35
    assert set(counts) == LABELS


def test_no_ticket_comes_from_the_generated_training_tickets(examples):
    from data.demo import iter_gold_tickets
    from model.name_augmentation import augment_ticket_names

    generated = [t.text for t in iter_gold_tickets(3000, 1000, sentiment=True)]
    # what `model.train` trains on by default: 1500 tickets of seed 1000, names augmented
    generated += [
        t.text
        for t in augment_ticket_names(
            iter_gold_tickets(1500, 1000, sentiment=True), seed=1000, share=0.4
        )
    ]
    corpus = "\0".join(generated)
    for ex in examples:
        assert ex.text not in corpus
        # nor any longer sentence or line of it
        for piece in re.split(r"(?<=[.!?])\s+|\n+", ex.text):
            piece = piece.strip()
            if len(piece) >= 25:
                assert piece not in corpus, piece


def _readme_table(text: str, header: str) -> dict[str, int]:
    """``{row name: number}`` of the two-column Markdown table whose first header is ``header``."""
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if re.match(rf"\|\s*{header}\s*\|", line))
    table = {}
    for line in lines[first + 2 :]:
        m = re.match(r"\|\s*([^|]+?)\s*\|\s*(\d+)\s*\|$", line.strip())
        if not m:
            break
        table[m.group(1)] = int(m.group(2))
    return table


def test_readme_counts_match_the_file(examples):
    readme = (HANDWRITTEN / "README.md").read_text(encoding="utf-8")
    types = Counter(label for ex in examples for _, _, label in ex.spans)
    sentiments = Counter(ex.sentiment for ex in examples)
    assert _readme_table(readme, "Type") == {**types, "Total": sum(types.values())}
    assert _readme_table(readme, "Sentiment") == {**sentiments, "Total": len(examples)}


def test_every_span_becomes_one_entity_of_its_type(examples):
    for ex in examples:
        begins = [tag[2:] for tag in ex.gold_tags() if tag.startswith("B-")]
        assert begins == [label for _, _, label in ex.spans], ex.text
