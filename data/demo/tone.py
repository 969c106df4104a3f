"""A ticket's gold sentiment: the label drawn from its category, a competitor mention and
the customer's negative experiences (``sentiment_labels``), and the tone sentence that says
it, put into the ticket's text with its entity spans (``with_tone``, ``tone_template``)."""

from __future__ import annotations

import random
import re

import numpy as np

from data.demo import templates as T
from data.demo.parameters import (
    EXPERIENCE_FACTOR,
    MENTION_NEGATIVE,
    NEGATIVE_TONE,
    NEUTRAL_TONE,
    POSITIVE_TONE,
    SENTIMENT_P,
)


def sentiment_labels(
    category: np.ndarray, mention: np.ndarray, experiences: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """Index into SENTIMENTS of each ticket's gold label (see the module docstring)."""
    names = np.array(T.CATEGORIES)[category]
    neg0 = np.array([SENTIMENT_P[c][0] for c in names]) + MENTION_NEGATIVE * mention
    pos0 = np.array([SENTIMENT_P[c][1] for c in names]) * np.where(mention, 0.5, 1.0)
    keep = EXPERIENCE_FACTOR**experiences
    neg = 1.0 - (1.0 - neg0) * keep
    pos = pos0 * keep
    return np.where(u < neg, 0, np.where(u < neg + pos, 2, 1))


def _slots(
    template: str, values: dict[str, tuple[str, str]]
) -> tuple[str, list[tuple[int, int, str]]]:
    """A tone sentence with its ``{vendor}`` / ``{product}`` slots filled, and their spans."""
    pieces: list[str] = []
    spans: list[tuple[int, int, str]] = []
    pos = 0
    for part in re.split(r"(\{\w+\})", template):
        if part.startswith("{") and part.endswith("}"):
            value, label = values[part[1:-1]]
            spans.append((pos, pos + len(value), label))
            part = value
        pieces.append(part)
        pos += len(part)
    return "".join(pieces), spans


def with_tone(
    text: str,
    spans: tuple[tuple[int, int, str], ...],
    template: str | None,
    values: dict[str, tuple[str, str]] | None = None,
) -> tuple[str, tuple[tuple[int, int, str], ...]]:
    """``text`` with the tone sentence inserted at the end of its body (before the last
    paragraph break, else at the end), in the ticket's case; the spans moved with it."""
    if template is None:
        return text, spans
    sentence, own = _slots(template, values or {})
    if text == text.lower() != text.upper() and len(sentence.lower()) == len(sentence):
        sentence = sentence.lower()
    elif text == text.upper() != text.lower() and len(sentence.upper()) == len(sentence):
        sentence = sentence.upper()
    brk = max(text.rfind("\n\n"), text.rfind("\r\n\r\n"))
    pos = brk if brk > 0 else len(text)
    lead = ". " if pos and text[pos - 1].isalnum() else " "
    insert = lead + sentence
    moved = [
        (a + len(insert), b + len(insert), lab) if a >= pos else (a, b, lab) for a, b, lab in spans
    ]
    moved += [(pos + len(lead) + a, pos + len(lead) + b, lab) for a, b, lab in own]
    return text[:pos] + insert + text[pos:], tuple(sorted(moved))


def tone_template(label: str, rng: random.Random) -> str | None:
    """A tone sentence for a ticket of gold sentiment ``label``; a neutral ticket gets a
    neutral one half the time (None: no tone sentence)."""
    if label == "negative":
        return rng.choice(NEGATIVE_TONE)
    if label == "positive":
        return rng.choice(POSITIVE_TONE)
    return rng.choice(NEUTRAL_TONE) if rng.random() < 0.5 else None
