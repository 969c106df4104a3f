"""Mention replacement (model/mention_swap.py): copies keep their sentence and change names."""

from __future__ import annotations

from pathlib import Path

from model.datasets import examples_from_tokens, read_examples
from model.labels import parse_label_map
from model.mention_swap import swap_mentions

WNUT = Path(__file__).resolve().parents[2] / "model" / "datasets" / "wnut17" / "wnut17train.conll"


def _sentences():
    return [
        examples_from_tokens(
            ["Ask", "Jane", "Doe", "in", "Paris"], ["O", "B-PER", "I-PER", "O", "B-LOC"]
        ),
        examples_from_tokens(
            ["Bob", "moved", "to", "New", "York"], ["B-PER", "O", "O", "B-LOC", "I-LOC"]
        ),
        examples_from_tokens(["Acme", "hired", "Ann"], ["B-ORG", "O", "B-PER"]),
        examples_from_tokens(["nothing", "here"], ["O", "O"]),
    ]


def _context(example) -> tuple[str, ...]:
    """The example's words with each mention replaced by its type."""
    out: list[str] = []
    at = 0
    for start, end, kind in example.spans:
        out += example.text[at:start].split()
        out.append(f"<{kind}>")
        at = end
    return (*out, *example.text[at:].split())


def test_copies_keep_a_source_sentence_and_take_names_of_the_same_type():
    sources = _sentences()
    names = {(ex.text[s:e], kind) for ex in sources for s, e, kind in ex.spans}
    contexts = {_context(ex) for ex in sources}
    copies = swap_mentions(sources, 40, seed=3, share=0.5)
    assert len(copies) == 40
    for copy in copies:
        assert _context(copy) in contexts
        assert {(copy.text[s:e], kind) for s, e, kind in copy.spans} <= names
        assert copy.text not in {ex.text for ex in sources}  # a name changed
        assert [copy.text[a:b] for a, b in copy.words] == copy.text.split(" ")


def test_the_same_seed_gives_the_same_copies_and_another_seed_others():
    first = swap_mentions(_sentences(), 20, seed=5)
    assert first == swap_mentions(_sentences(), 20, seed=5)
    assert first != swap_mentions(_sentences(), 20, seed=6)


def test_nothing_to_swap_gives_no_copies():
    assert swap_mentions(_sentences(), 10, seed=1, share=0.0) == []
    assert swap_mentions([_sentences()[3]], 10, seed=1) == []


def test_real_wnut_sentences_swap_into_well_formed_examples():
    sources = read_examples(WNUT, parse_label_map("wnut17"))[:500]
    copies = swap_mentions(sources, 200, seed=13)
    assert len(copies) == 200
    contexts = {_context(ex) for ex in sources}
    for copy in copies:
        assert _context(copy) in contexts
        assert copy.spans and copy.text not in {ex.text for ex in sources}
