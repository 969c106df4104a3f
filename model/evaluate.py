"""Entity-level precision, recall and F1 (seqeval, strict IOB2), per type and overall.

Predicted entities (character spans) are projected onto each example's evaluation words
(the dataset's own tokens for CoNLL), so scores are comparable with published CoNLL/WNUT
results. Token-level accuracy is never reported: the many ``O`` tags inflate it.

Example:
    >>> scores = score_tags([["B-PER", "O"]], [["B-PER", "O"]])
    >>> scores["overall"]["f1"]
    1.0
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

from seqeval.metrics import classification_report
from seqeval.scheme import IOB2

from model.datasets import Example, project_spans


def score_tags(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict:
    """Scores of IOB2 tag sequences: ``{type: {precision, recall, f1, support}, "overall": …}``.

    ``overall`` is the micro average over entities.
    """
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted hold different numbers of sequences")
    with warnings.catch_warnings():  # seqeval averages empty arrays when there is no entity
        warnings.simplefilter("ignore", RuntimeWarning)
        report = classification_report(
            [list(s) for s in gold],
            [list(s) for s in predicted],
            mode="strict",
            scheme=IOB2,
            output_dict=True,
            zero_division=0,
        )
    scores: dict = {}
    for name, row in report.items():
        if name in ("macro avg", "weighted avg"):
            continue
        key = "overall" if name == "micro avg" else name
        scores[key] = {
            "precision": round(float(row["precision"]), 4),
            "recall": round(float(row["recall"]), 4),
            "f1": round(float(row["f1-score"]), 4),
            "support": int(row["support"]),
        }
    if "overall" not in scores:
        scores["overall"] = {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    return scores


def evaluate_examples(tag: Callable[[list[str]], list[list]], examples: Sequence[Example]) -> dict:
    """Tag the examples' texts with ``tag`` and score the result against their gold spans.

    Args:
        tag: maps texts to lists of entities (objects with ``start``, ``end``, ``label``),
            e.g. ``tagger.tag``.
        examples: the gold data.
    """
    predictions = tag([ex.text for ex in examples])
    gold = [ex.gold_tags() for ex in examples]
    predicted = [
        project_spans(ex.words, [(e.start, e.end, e.label) for e in entities])
        for ex, entities in zip(examples, predictions, strict=True)
    ]
    return score_tags(gold, predicted)


def format_scores(scores: dict) -> str:
    """A fixed-width table of the scores, one line per type then ``overall``."""
    lines = [f"{'type':<14}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}"]
    names = sorted(k for k in scores if k != "overall") + ["overall"]
    for name in names:
        row = scores[name]
        lines.append(
            f"{name:<14}{row['precision']:>10.4f}{row['recall']:>10.4f}"
            f"{row['f1']:>10.4f}{row['support']:>9d}"
        )
    return "\n".join(lines)


def evaluate_sentiment(
    gold: Sequence[str | None], predicted: Sequence[str | None], labels: Sequence[str]
) -> dict:
    """Sentiment scores: ``macro_f1`` (unweighted mean of the classes' F1), ``accuracy``,
    ``support`` and ``per_class`` precision/recall/F1/support.

    Items whose gold label is ``None`` are skipped; a ``None`` prediction (a text without a
    token) counts as wrong.

    Example:
        >>> evaluate_sentiment(["negative", "positive"], ["negative", "neutral"],
        ...                    ["negative", "neutral", "positive"])["accuracy"]
        0.5
    """
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted hold different numbers of items")
    pairs = [(g, p) for g, p in zip(gold, predicted, strict=True) if g is not None]
    per_class: dict[str, dict] = {}
    raw: dict[str, float] = {}
    for label in labels:
        tp = sum(1 for g, p in pairs if g == label and p == label)
        fp = sum(1 for g, p in pairs if g != label and p == label)
        fn = sum(1 for g, p in pairs if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        raw[label] = f1
        per_class[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": tp + fn,
        }
    present = [label for label in labels if per_class[label]["support"] > 0] or list(labels)
    macro = sum(raw[label] for label in present) / max(1, len(present))
    correct = sum(1 for g, p in pairs if g == p)
    return {
        "macro_f1": round(macro, 4),
        "accuracy": round(correct / len(pairs), 4) if pairs else 0.0,
        "support": len(pairs),
        "per_class": per_class,
    }
