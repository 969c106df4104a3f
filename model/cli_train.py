"""``python -m model train``: fine-tune a tagger from files and/or generated gold tickets.

Its flags, their ranges (refused on one line, exit 2, before any work) and the run itself
(``model.train.train``); the shared checks and the error handling are in ``model/cli.py``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from model import cli
from model.cli import UsageError, check_batch_size


def add_train(sub: argparse._SubParsersAction) -> None:
    """The ``train`` verb and its flags."""
    p = sub.add_parser(
        "train",
        help="fine-tune a tagger (LoRA) and write its artefact folder",
        description="Fine-tune the MiniLM backbone (LoRA + head) on CoNLL/JSONL files and/or "
        "generated gold tickets; keep the best epoch by dev F1; write the artefact "
        "and its metrics.json.",
    )
    p.add_argument(
        "--train",
        action="append",
        default=[],
        metavar="FILE",
        help="training file, CoNLL or JSONL with character spans (repeatable)",
    )
    p.add_argument(
        "--dev",
        action="append",
        default=[],
        metavar="FILE",
        help="dev file for early stopping (repeatable)",
    )
    p.add_argument(
        "--test",
        action="append",
        default=[],
        metavar="FILE",
        help="extra file scored at the end only (repeatable)",
    )
    p.add_argument(
        "--label-map",
        metavar="SPEC",
        help="rename or drop labels of the files: 'old=NEW,x=O' or a preset (wnut17)",
    )
    p.add_argument(
        "--demo-train",
        type=int,
        default=0,
        metavar="N",
        help="add N generated gold tickets (data.demo.iter_gold_tickets) to training",
    )
    p.add_argument(
        "--demo-dev",
        type=int,
        default=0,
        metavar="N",
        help="N held-out generated tickets for early stopping",
    )
    p.add_argument(
        "--demo-test",
        type=int,
        default=0,
        metavar="N",
        help="N held-out generated tickets scored at the end",
    )
    p.add_argument(
        "--demo-seed",
        type=int,
        default=1000,
        help="seed of the generated training tickets (dev: +1, test: +2)",
    )
    p.add_argument(
        "--limit", type=int, metavar="N", help="use only the first N examples of each file"
    )
    p.add_argument("--output", required=True, type=Path, metavar="DIR", help="artefact folder")
    p.add_argument("--name", default="tagger", help="artefact name (prefix of the model id)")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3, help="learning rate of the LoRA adapters")
    p.add_argument("--head-lr", type=float, default=5e-3, help="learning rate of the head")
    p.add_argument("--rank", type=int, default=16, help="LoRA rank")
    p.add_argument("--alpha", type=int, default=32, help="LoRA alpha")
    p.add_argument("--full", action="store_true", help="full fine-tuning instead of LoRA")
    p.add_argument(
        "--casing",
        action="store_true",
        help="each word's shape (lower, Title, UPPER, mIxed) as the token type (model/casing.py)",
    )
    p.add_argument(
        "--class-weight-power",
        type=float,
        default=0.5,
        help="entity-label loss weight = (mean count / count) ** power",
    )
    p.add_argument("--o-weight", type=float, default=0.5, help="loss weight of the O label")
    p.add_argument("--max-length", type=int, default=128, help="training window (tokens)")
    p.add_argument(
        "--patience", type=int, default=2, help="epochs without dev gain before stopping"
    )
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_train)


def _demo_examples(n: int, seed: int, exclude: set[str]) -> list:
    try:
        from data.demo import iter_gold_tickets
    except ImportError as exc:
        raise UsageError(f"generated tickets need data.demo.iter_gold_tickets ({exc})") from None
    from model.datasets import examples_from_gold

    examples = examples_from_gold(iter_gold_tickets(n, seed))
    return [ex for ex in examples if ex.text not in exclude]


def _read(paths: Sequence[str], label_map, limit: int | None) -> list:
    from model.datasets import read_examples

    out = []
    for path in paths:
        examples = read_examples(path, label_map)
        out += examples[:limit] if limit else examples
    return out


#: Whole-number flags of ``train`` and their ranges (inclusive; ``--limit`` may be left out).
#: Outside them training failed with a traceback (``--epochs 0``: AssertionError, ``--rank
#: 0``, ``--max-length 0``, ``--seed -1``, ``--demo-train -5``: ValueError).
TRAIN_WHOLE_RANGES: dict[str, tuple[int, int]] = {
    "epochs": (1, 1_000),
    "rank": (1, 1_024),
    "alpha": (1, 65_536),
    "max_length": (8, 512),  # the backbone's positions
    "patience": (0, 1_000),
    "seed": (0, 2**32 - 1),  # numpy's seeds
    "demo_train": (0, 10_000_000),
    "demo_dev": (0, 10_000_000),
    "demo_test": (0, 10_000_000),
    "demo_seed": (0, 2**32 - 3),  # dev and test take +1 and +2
    "limit": (1, 10**12),
}
#: Number flags of ``train``: finite, within (low, high], or [low, high] when low is 0 for
#: ``--class-weight-power``. ``--lr nan`` and ``--o-weight nan`` trained without a word and
#: wrote an artefact that finds nothing (dev F1 0.0000), exit 0.
TRAIN_NUMBER_RANGES: dict[str, tuple[float, float, bool]] = {
    "lr": (0.0, 10.0, False),  # (low, high, low included)
    "head_lr": (0.0, 10.0, False),
    "o_weight": (0.0, 1_000.0, False),
    "class_weight_power": (0.0, 10.0, True),
}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _check_train_numbers(args: argparse.Namespace) -> None:
    """Refuse a ``train`` number outside its range, naming the flag (one line, exit 2)."""
    import math

    for name, (low, high) in TRAIN_WHOLE_RANGES.items():
        value = getattr(args, name)
        if value is not None and not low <= value <= high:
            raise UsageError(f"{_flag(name)} must be from {low:,} to {high:,}, got {value:,}")
    for name, (low, high, closed) in TRAIN_NUMBER_RANGES.items():
        value = getattr(args, name)
        above = value >= low if closed else value > low
        if not (math.isfinite(value) and above and value <= high):
            bound = "from" if closed else "above"
            raise UsageError(
                f"{_flag(name)} must be a number {bound} {low:g} up to {high:g}, got {value}"
            )


def _cmd_train(args: argparse.Namespace) -> int:
    from model.labels import parse_label_map
    from model.train import train
    from model.train_config import EvalSet, config_from_args

    _check_train_numbers(args)
    label_map = parse_label_map(args.label_map) if args.label_map else None
    if not args.train and not args.demo_train:
        raise UsageError("nothing to train on: give --train FILE and/or --demo-train N")
    if not args.dev and not args.demo_dev:
        raise UsageError("no dev data for early stopping: give --dev FILE and/or --demo-dev N")
    check_batch_size(args.batch_size)
    cli.limit_threads()
    train_examples = _read(args.train, label_map, args.limit)
    data: dict = {
        "train_files": args.train,
        "dev_files": args.dev,
        "test_files": args.test,
        "label_map": args.label_map,
        "limit": args.limit,
    }
    seen = {ex.text for ex in train_examples}
    if args.demo_train:
        demo = _demo_examples(args.demo_train, args.demo_seed, set())
        train_examples += demo
        seen |= {ex.text for ex in demo}
        data["demo_train"] = {"n": args.demo_train, "seed": args.demo_seed}
    dev_sets = [EvalSet(Path(f).stem, _read([f], label_map, None)) for f in args.dev]
    test_sets = [EvalSet(Path(f).stem, _read([f], label_map, None), False) for f in args.test]
    if args.demo_dev:
        dev = _demo_examples(args.demo_dev, args.demo_seed + 1, seen)
        dev_sets.append(EvalSet("generated_dev", dev))
        data["demo_dev"] = {"n": args.demo_dev, "seed": args.demo_seed + 1, "kept": len(dev)}
    if args.demo_test:
        test = _demo_examples(args.demo_test, args.demo_seed + 2, seen)
        test_sets.append(EvalSet("generated_test", test, False))
        data["demo_test"] = {"n": args.demo_test, "seed": args.demo_seed + 2, "kept": len(test)}
    data["train_examples"] = len(train_examples)
    data["command"] = "python -m model " + " ".join(sys.argv[1:])
    config = config_from_args(args)
    metrics = train(
        config,
        train_examples,
        dev_sets,
        test_sets=test_sets,
        data_description=data,
        log=lambda m: print(m, file=sys.stderr, flush=True),
        show_progress=not args.quiet,
    )
    from model.evaluate import format_scores

    for name, scores in metrics["scores"].items():
        print(f"== {name}")
        print(format_scores(scores))
    print(f"model {metrics['model_id']} written to {args.output}")
    return 0
