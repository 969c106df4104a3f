"""Real tone in generated tickets: sentences people wrote (GoEmotions, Reddit, CC BY 4.0) as
the tone sentence of a generated ticket of the same sentiment class.

The generator's tickets say their sentiment in one of a few dozen fixed sentences
(``data/demo/parameters.py``), so a head trained on them learns those sentences, not tone:
every default read the polite or sarcastic complaints of the hand-written tickets as
neutral. Here each ticket gets a real sentence of its gold class instead (neutral tickets
too, so a foreign sentence is no cue by itself), drawn from a GoEmotions split: training
tickets from the training part, the selection set from the selection part, the reported
set from GoEmotions dev. The tickets are sentiment-only (``annotated=False``): a Reddit
sentence may name people or things nobody labelled.

Example:
    >>> sentences = {"negative": ["This is a joke."], "neutral": ["Ok."], "positive": ["Nice!"]}
    >>> ex = real_tone_tickets(1, 7, sentences)[0]
    >>> ex.sentiment in sentences and not ex.annotated
    True
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from model.datasets import Example

MIN_WORDS = 3
MAX_WORDS = 30
"""Sentences of 3 to 30 words: a tone sentence, not a post."""

_UNUSABLE = re.compile(r"\[[A-Z]+\]|https?://|www\.|\br/|\bu/", re.IGNORECASE)
"""GoEmotions' placeholders (``[NAME]``, ``[RELIGION]``), links and subreddit/user names."""


def tone_sentences(examples: Iterable[Example]) -> dict[str, list[str]]:
    """The usable sentiment-labelled texts of ``examples`` by class, in input order: 3 to 30
    words, no placeholder, link or Reddit name; a final ``.`` added where the text ends
    without punctuation."""
    out: dict[str, list[str]] = {}
    for ex in examples:
        text = " ".join(ex.text.split())
        if ex.sentiment is None or _UNUSABLE.search(text):
            continue
        if not MIN_WORDS <= len(text.split()) <= MAX_WORDS:
            continue
        if text[-1].isalnum():
            text += "."
        out.setdefault(ex.sentiment, []).append(text)
    return out


def tone_picker(sentences: dict[str, Sequence[str]], seed: int) -> Callable[[str], str | None]:
    """A function giving a seeded random sentence of a class (``None`` for a class without
    sentences)."""
    rng = random.Random(seed)

    def pick(label: str) -> str | None:
        choices = sentences.get(label)
        return rng.choice(choices) if choices else None

    return pick


def real_tone_tickets(
    n: int, seed: int, sentences: dict[str, Sequence[str]], exclude: set[str] | None = None
) -> list[Example]:
    """``n`` generated tickets of ``seed`` with a sentence of ``sentences`` as their tone
    (sentiment-only examples), minus any text in ``exclude`` and the tickets of a class
    without sentences (a small split may lack one)."""
    from data.demo import iter_gold_tickets
    from model.datasets import examples_from_gold

    gold = iter_gold_tickets(n, seed, sentiment=True, tone=tone_picker(sentences, seed))
    return [
        replace(ex, annotated=False)
        for ex in examples_from_gold(gold)
        if sentences.get(ex.sentiment or "") and (not exclude or ex.text not in exclude)
    ]
