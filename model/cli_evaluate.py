"""``python -m model evaluate``: score a tagger on a gold file.

Entity P/R/F1 (seqeval, strict IOB2) for annotated texts and the sentiment head's macro-F1
for texts with a gold sentiment, as text or JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from model import cli
from model.cli import PRECISION_HELP, check_batch_size


def add_evaluate(sub: argparse._SubParsersAction) -> None:
    """The ``evaluate`` verb and its flags."""
    p = sub.add_parser(
        "evaluate",
        help="entity P/R/F1 (seqeval, strict IOB2) and sentiment macro-F1 of a tagger",
        description="Score a tagger on a gold file: entity-level precision, recall and F1 per "
        "type and overall (seqeval, strict IOB2) for annotated texts, and the "
        "sentiment head's macro-F1 for texts with a gold sentiment (JSONL "
        "'sentiment', or a GoEmotions group_*.tsv: single-group rows, 3 classes).",
    )
    p.add_argument(
        "--data",
        required=True,
        metavar="FILE",
        help="CoNLL, JSONL (spans and/or sentiment) or GoEmotions .tsv gold file",
    )
    p.add_argument("--model", type=Path, metavar="DIR", help="artefact folder (default: built-in)")
    p.add_argument("--label-map", metavar="SPEC", help="rename or drop the file's labels")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument(
        "--precision", default=None, choices=["auto", "fp32", "bf16", "int8"], help=PRECISION_HELP
    )
    p.add_argument("--json", action="store_true", help="print the scores as JSON")
    p.set_defaults(func=_cmd_evaluate)


def _gold_examples(path: str, label_map) -> list:
    from model.datasets import read_examples, read_goemotions

    if Path(path).suffix.lower() == ".tsv":
        return read_goemotions(path, single_group=True)
    return read_examples(path, label_map)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from model.evaluate import evaluate_examples, evaluate_sentiment, format_scores
    from model.labels import parse_label_map

    label_map = parse_label_map(args.label_map) if args.label_map else None
    examples = _gold_examples(args.data, label_map)
    check_batch_size(args.batch_size)
    cli.limit_threads()
    tagger = cli.load_tagger(args.model, args.device, args.precision)
    precision = tagger.plan(len(examples)) if hasattr(tagger, "plan") else tagger.precision
    with_head = bool(getattr(tagger, "has_sentiment", False))
    moody = [ex for ex in examples if ex.sentiment is not None]
    if with_head:
        found, moods = tagger.tag_with_sentiment(
            [ex.text for ex in examples], batch_size=args.batch_size
        )
    else:
        found, moods = tagger.tag([ex.text for ex in examples], batch_size=args.batch_size), []
    by_text = dict(zip((id(ex) for ex in examples), found, strict=True))
    annotated = [ex for ex in examples if ex.annotated]
    scores = None
    if annotated:
        answers = iter([by_text[id(ex)] for ex in annotated])
        scores = evaluate_examples(lambda texts: [next(answers) for _ in texts], annotated)
    sentiment = None
    if moody and with_head:
        predicted = {id(ex): m for ex, m in zip(examples, moods, strict=True)}
        sentiment = evaluate_sentiment(
            [ex.sentiment for ex in moody],
            [predicted[id(ex)].label if predicted[id(ex)] is not None else None for ex in moody],
            tagger.sentiment_labels,
        )
    if args.json:
        result = {
            "model_id": tagger.model_id,
            "precision": precision,
            "data": str(args.data),
            "examples": len(examples),
            "scores": scores,
        }
        if moody:
            result["sentiment"] = sentiment
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"model {tagger.model_id} ({precision} on {tagger.device}) on {args.data} "
        f"({len(examples)} examples)"
    )
    if scores is not None:
        print(format_scores(scores))
    if sentiment is not None:
        print(
            f"sentiment: macro-F1 {sentiment['macro_f1']:.4f} accuracy "
            f"{sentiment['accuracy']:.4f} ({sentiment['support']} texts)"
        )
        print(f"  {'class':<12}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
        for label, row in sentiment["per_class"].items():
            print(
                f"  {label:<12}{row['precision']:>10.4f}{row['recall']:>10.4f}"
                f"{row['f1']:>10.4f}{row['support']:>9d}"
            )
    elif moody:
        print(
            f"sentiment: not scored ({len(moody)} texts have a gold sentiment, but the "
            "model has no sentiment head)"
        )
    return 0
