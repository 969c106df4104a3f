"""Training features: token ids with one label per word, on the word's first sub-word.

Words are those of the segmentation the tagger will run with (model/words.py): ``words``
(the default: whole names such as ``gpt-4o-mini``, punctuation split off; the pre-split
words are tokenized with ``is_split_into_words``, as the engine does) or ``bert`` (the fast
tokenizer's pre-tokenizer words, ``word_ids``; what older artefacts were trained on). The
artefact records which one in ``tagger.json`` (``"segmentation"``), so the engine tags the
same words whole. A word gets ``B-T`` when it is the first word overlapping a gold span of type
``T``, ``I-T`` for the following ones, ``O`` otherwise; continuation sub-words, ``[CLS]``,
``[SEP]`` and padding get ``-100`` (ignored by the loss). Texts longer than the window are cut
into consecutive windows, so every word is trained on.

Two-head training (model/sentiment.py): a feature also carries the example's sentiment class
(``sentiment``, ``-100`` when it has none); an example without entity annotation
(``Example.annotated`` false, e.g. GoEmotions) has every token label ``-100``, and words of a
span of type :data:`model.datasets.IGNORE_TYPE` (WikiGold's ``MISC``) are ``-100`` too, so
each example trains only the head(s) it has labels for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from model.casing import word_cases
from model.datasets import IGNORE_TYPE, Example
from model.engine import window_bounds
from model.words import BERT, WORDS, check_segmentation, split_words

IGNORE = -100


@dataclass(frozen=True)
class Feature:
    """One training window: ``input_ids`` with ``[CLS]``/``[SEP]`` and aligned ``labels``;
    ``cases``, aligned too, the word shape of every token (model/casing.py) when the run
    uses casing."""

    input_ids: np.ndarray
    labels: np.ndarray
    sentiment: int = -100
    cases: np.ndarray | None = None


def word_labels(
    word_spans: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int, str]]
) -> list[str]:
    """IOB2 tag of every word (character ranges) for gold character spans."""
    tags = ["O"] * len(word_spans)
    for start, end, label in spans:
        first = True
        for i, (ws, we) in enumerate(word_spans):
            if ws < end and we > start and tags[i] == "O":
                tags[i] = f"{'B' if first else 'I'}-{label}"
                first = False
    return tags


def build_features(
    examples: Sequence[Example],
    tokenizer,
    label2id: dict[str, int],
    *,
    max_length: int = 128,
    segmentation: str = WORDS,
    sentiment2id: dict[str, int] | None = None,
    casing: bool = False,
) -> list[Feature]:
    """Tokenize ``examples`` and align their gold spans to first sub-words of the words of
    ``segmentation`` (``words`` or ``bert``, model/words.py).

    With ``sentiment2id``, every window of an example with a gold sentiment carries its
    class id (the sentiment head's label); without it, sentiment is ignored. With
    ``casing``, every feature carries its tokens' word shapes (``words`` segmentation only).

    Raises:
        KeyError: an example holds a label missing from ``label2id`` (or a sentiment missing
            from ``sentiment2id``).
        ValueError: an unknown segmentation, or casing with ``bert`` segmentation.
    """
    segmentation = check_segmentation(segmentation)
    if casing and segmentation != WORDS:
        raise ValueError(f"casing needs {WORDS!r} segmentation, not {segmentation!r}")
    features: list[Feature] = []
    for start in range(0, len(examples), 1024):
        part = examples[start : start + 1024]
        for example, ids, words, ranges, cases in _tokenized(part, tokenizer, segmentation, casing):
            n = len(ids)
            firsts = [
                i for i in range(n) if words[i] is not None and (i == 0 or words[i] != words[i - 1])
            ]
            token_labels = np.full(n, IGNORE, dtype=np.int64)
            if getattr(example, "annotated", True):
                tags = word_labels(ranges, example.spans)
                for i, tag in zip(firsts, tags, strict=True):
                    if not tag.endswith(IGNORE_TYPE):
                        token_labels[i] = label2id[tag]
            sentiment = getattr(example, "sentiment", None)
            sentiment_id = (
                sentiment2id[sentiment]
                if sentiment2id is not None and sentiment is not None
                else IGNORE
            )
            ids_arr = np.asarray(ids, dtype=np.int64)
            for a, b in window_bounds(n, max_length - 2, 0):
                features.append(
                    Feature(
                        np.concatenate(
                            ([tokenizer.cls_token_id], ids_arr[a:b], [tokenizer.sep_token_id])
                        ),
                        np.concatenate(([IGNORE], token_labels[a:b], [IGNORE])),
                        sentiment_id,
                        np.concatenate(([0], cases[a:b], [0])) if casing else None,
                    )
                )
    return features


def _tokenized(examples: Sequence[Example], tokenizer, segmentation: str, casing: bool = False):
    """Per example: ``(example, token ids, word id per token, character range of every word
    that has a token, in order, word shape per token)`` (shapes: with ``casing``, ``words``
    segmentation only, else ``None``)."""
    texts = [ex.text for ex in examples]
    if segmentation == BERT:
        enc = tokenizer(
            texts,
            add_special_tokens=False,
            return_offsets_mapping=True,
            return_attention_mask=False,
            return_token_type_ids=False,
            truncation=False,
        )
        for j, ids in enumerate(enc["input_ids"]):
            offsets = enc["offset_mapping"][j]
            words = enc.word_ids(j)
            n = len(ids)
            firsts = [
                i for i in range(n) if words[i] is not None and (i == 0 or words[i] != words[i - 1])
            ]
            ranges = []
            for k, i in enumerate(firsts):
                last = (firsts[k + 1] if k + 1 < len(firsts) else n) - 1
                ranges.append((offsets[i][0], offsets[last][1]))
            yield examples[j], ids, words, ranges, None
        return
    spans = [split_words(text) for text in texts]
    enc = tokenizer(
        [[text[a:b] for a, b in words] for text, words in zip(texts, spans, strict=True)],
        is_split_into_words=True,
        add_special_tokens=False,
        return_attention_mask=False,
        return_token_type_ids=False,
        truncation=False,
    )
    for j, ids in enumerate(enc["input_ids"]):
        words = enc.word_ids(j)
        # a word without any token (e.g. only a zero-width character) gets no label
        present = sorted({w for w in words if w is not None})
        cases = (
            word_cases(texts[j], spans[j])[np.asarray(words, dtype=np.int64)] if casing else None
        )
        yield examples[j], ids, words, [spans[j][w] for w in present], cases


def collate(features: Sequence[Feature], pad_id: int = 0) -> dict[str, np.ndarray]:
    """Pad a batch to its longest feature: ``input_ids``, ``attention_mask``, ``labels``,
    ``sentiment`` (one class id per feature, ``-100`` where it has none), and
    ``token_type_ids`` (the word shapes, 0 on padding) when the features carry them."""
    width = max(len(f.input_ids) for f in features)
    ids = np.full((len(features), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(features), width), dtype=np.int64)
    labels = np.full((len(features), width), IGNORE, dtype=np.int64)
    for row, f in enumerate(features):
        n = len(f.input_ids)
        ids[row, :n] = f.input_ids
        mask[row, :n] = 1
        labels[row, :n] = f.labels
    sentiment = np.asarray([f.sentiment for f in features], dtype=np.int64)
    batch = {"input_ids": ids, "attention_mask": mask, "labels": labels, "sentiment": sentiment}
    if features[0].cases is not None:
        types = np.zeros((len(features), width), dtype=np.int64)
        for row, f in enumerate(features):
            types[row, : len(f.cases)] = f.cases
        batch["token_type_ids"] = types
    return batch
