"""Word shape as a model input: what an uncased backbone cannot see.

The backbone (MiniLM-L6, uncased) lower-cases every text before it is tokenized, so
``Apple`` and ``apple`` reach it as the same tokens. In WNUT-17 train a word written
``Title`` is an entity 19 % of the time, a lower-case word 0.9 % (dev: 28 % and 2.8 %).
A tagger trained with casing gets each token's *word shape* as its token type: BERT's
segment embedding, unused for one-sentence inputs, widened from 2 rows to
:data:`CASE_CLASSES`, each new row starting as a copy of row 0 (so an untrained casing
model computes exactly what the backbone computes) and learnt with the rest. One table
lookup per token: no extra layer, no extra pass.

Example:
    >>> [case_of(w) for w in ["gpt-4o-mini", "Paris", "IBM", "iPhone", "42", "É"]]
    [0, 1, 2, 3, 0, 1]
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np
import torch

CASING = "word-shape"
"""The value of ``"casing"`` in ``tagger.json`` and of ``config.casing`` for such a model."""

LOWER, TITLE, UPPER, MIXED = 0, 1, 2, 3
"""Word shapes: no upper-case letter (also: no letter at all, [CLS], [SEP], padding);
first letter upper and the rest lower (``Paris``, ``I``); every letter upper, two or more
(``IBM``); any other mix (``iPhone``, ``OpenAI``)."""

CASE_CLASSES = 4


def case_of(word: str) -> int:
    """The shape class of one word (letters of any script; other characters are ignored)."""
    letters = [c for c in word if c.isalpha()]
    if not any(c.isupper() for c in letters):
        return LOWER
    if letters[0].isupper() and not any(c.isupper() for c in letters[1:]):
        return TITLE
    if len(letters) > 1 and not any(c.islower() for c in letters):
        return UPPER
    return MIXED


def word_cases(text: str, spans: np.ndarray | Sequence[tuple[int, int]]) -> np.ndarray:
    """The shape class of every word ``text[a:b]`` of ``spans``, as int64."""
    return np.asarray([case_of(text[a:b]) for a, b in spans], dtype=np.int64)


def token_cases(
    text: str, spans: Sequence[tuple[int, int]], offsets: Sequence[tuple[int, int]]
) -> np.ndarray:
    """Per token (character ``offsets``), the shape of the word of ``spans`` it starts in:
    the classes a tokenizer's own output gets where the engine's word ids are not at hand
    (int8 calibration). A token outside every word (special tokens: ``(0, 0)``) is 0."""
    cases = word_cases(text, spans)
    starts = [a for a, _ in spans]
    out = np.zeros(len(offsets), dtype=np.int64)
    for i, (a, b) in enumerate(offsets):
        k = bisect.bisect_right(starts, a) - 1
        if b > a and k >= 0 and a < spans[k][1]:
            out[i] = cases[k]
    return out


def casing_of(model: torch.nn.Module) -> str | None:
    """:data:`CASING` when ``model`` takes word shapes as token types, else ``None``.

    Raises:
        ValueError: the model's config names another casing (an artefact of a newer
            release).
    """
    casing = getattr(getattr(model, "config", None), "casing", None)
    if casing not in (None, CASING):
        raise ValueError(f"unknown casing {casing!r} (this release knows {CASING!r})")
    return casing


def enable_casing(model: torch.nn.Module) -> torch.nn.Module:
    """Widen ``model``'s token-type embedding to :data:`CASE_CLASSES` rows, each a copy of
    row 0, and mark its config (``casing``, ``type_vocab_size``); in place, returned.

    The model then computes what it computed before for every input whose token types are
    all 0, and its outputs differ by shape only once the new rows are trained.
    """
    embeddings = model.get_input_embeddings()  # the word embeddings: find their parent
    parent = next(
        m
        for m in model.modules()
        if getattr(m, "word_embeddings", None) is embeddings and hasattr(m, "token_type_embeddings")
    )
    old = parent.token_type_embeddings
    new = torch.nn.Embedding(CASE_CLASSES, old.embedding_dim)
    new.to(device=old.weight.device, dtype=old.weight.dtype)
    with torch.no_grad():
        new.weight.copy_(old.weight[:1].expand(CASE_CLASSES, -1))
    parent.token_type_embeddings = new
    model.config.type_vocab_size = CASE_CLASSES
    model.config.casing = CASING
    return model
