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
            [list(s) for s in gold], [list(s) for s in predicted],
            mode="strict", scheme=IOB2, output_dict=True, zero_division=0,
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


def evaluate_examples(
    tag: Callable[[list[str]], list[list]], examples: Sequence[Example]
) -> dict:
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
        lines.append(f"{name:<14}{row['precision']:>10.4f}{row['recall']:>10.4f}"
                     f"{row['f1']:>10.4f}{row['support']:>9d}")
    return "\n".join(lines)
