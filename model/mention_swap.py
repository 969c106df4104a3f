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
from model.labels import tags_to_spans

__all__ = ["swap_mentions"]


def _parsed(example: Example) -> tuple[list[str], list[str], list[tuple[int, int, str]]]:
    """The words of a CoNLL-built example (joined by single spaces), their IOB2 tags and its
    mentions as ``(first, last + 1, type)`` word ranges."""
    tokens = [example.text[a:b] for a, b in example.words]
    tags = project_spans(example.words, example.spans)
    return tokens, tags, tags_to_spans(tags)


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
    parsed = [_parsed(ex) for ex in examples if ex.annotated and ex.spans]
    pool: dict[str, list[tuple[str, ...]]] = {}
    for tokens, _, mentions in parsed:
        for first, end, kind in mentions:
            pool.setdefault(kind, []).append(tuple(tokens[first:end]))
    copies: list[Example] = []
    draws = 0
    while parsed and len(copies) < n and draws < 10 * n:
        draws += 1
        tokens, tags, mentions = rng.choice(parsed)
        new_tokens: list[str] = []
        new_tags: list[str] = []
        changed = False
        at = 0
        for first, end, kind in mentions:
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
