"""Mention replacement in real training text (training-time augmentation).

WNUT-17 scores a tagger on *emerging* entities: most names in its dev set never occur in
training, so a tagger that remembers names gains little there. :func:`swap_mentions` makes
copies of annotated training sentences in which each entity mention is, with probability
``share``, replaced by another mention of the same type drawn from the same sentences (Dai and
Adel, COLING 2020, "mention replacement"): the context stays, the name changes, so the context
has to carry the label. Training data only; the copies are drawn once, from a seed.

Example:
    >>> from model.datasets import examples_from_tokens
    >>> a = examples_from_tokens(["Ask", "Jane", "Doe"], ["O", "B-PER", "I-PER"])
    >>> b = examples_from_tokens(["Bob", "left"], ["B-PER", "O"])
    >>> sorted(ex.text for ex in swap_mentions([a, b], 2, seed=1, share=1.0))
    ['Ask Bob', 'Jane Doe left']
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from model.datasets import Example, examples_from_tokens, project_spans

__all__ = ["swap_mentions"]


def _tokens_and_tags(example: Example) -> tuple[list[str], list[str]]:
    """The words of a CoNLL-built example (joined by single spaces) and their IOB2 tags."""
    tokens = [example.text[a:b] for a, b in example.words]
    return tokens, project_spans(example.words, example.spans)


def _mentions(tags: list[str]) -> list[tuple[int, int, str]]:
    """``(first, last + 1, type)`` of each entity in IOB2 ``tags``."""
    found: list[tuple[int, int, str]] = []
    for i, tag in enumerate(tags):
        if tag.startswith("B-"):
            found.append((i, i + 1, tag[2:]))
        elif tag.startswith("I-") and found and found[-1][1] == i:
            found[-1] = (found[-1][0], i + 1, found[-1][2])
    return found


def swap_mentions(
    examples: Sequence[Example], n: int, *, seed: int, share: float = 0.5
) -> list[Example]:
    """``n`` copies of annotated ``examples`` with entities, each mention replaced with
    probability ``share`` by another mention of its type from ``examples``.

    The examples must be built from tokens joined by single spaces
    (:func:`model.datasets.examples_from_tokens`: WNUT-17, BTC, WikiGold), so their words
    are their tokens. A copy in which no mention changed is drawn again (at most ``10 n``
    draws in all), so every copy differs from its source.
    """
    rng = random.Random(seed)
    parsed = [_tokens_and_tags(ex) for ex in examples if ex.annotated and ex.spans]
    pool: dict[str, list[tuple[str, ...]]] = {}
    for tokens, tags in parsed:
        for first, end, kind in _mentions(tags):
            pool.setdefault(kind, []).append(tuple(tokens[first:end]))
    copies: list[Example] = []
    draws = 0
    while parsed and len(copies) < n and draws < 10 * n:
        draws += 1
        tokens, tags = rng.choice(parsed)
        new_tokens: list[str] = []
        new_tags: list[str] = []
        changed = False
        at = 0
        for first, end, kind in _mentions(tags):
            new_tokens += tokens[at:first]
            new_tags += tags[at:first]
            mention = tuple(tokens[first:end])
            if rng.random() < share and len(pool[kind]) > 1:
                other = rng.choice(pool[kind])
                changed = changed or other != mention
                mention = other
            new_tokens += mention
            new_tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(mention) - 1)
            at = end
        new_tokens += tokens[at:]
        new_tags += tags[at:]
        if changed:
            copies.append(examples_from_tokens(new_tokens, new_tags))
    return copies
