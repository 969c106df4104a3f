"""``python -m model train|evaluate|tag``: a thin command line over the tagger.

Exit status: 0 on success, 2 with a one-line reason on bad input (missing or malformed file,
unknown column, locked database, …), 130 when interrupted.

Example:
    $ python -m model evaluate --data model/datasets/wnut17/emerging.dev.conll --label-map wnut17
    $ python -m model tag --db var/pricewar.duckdb --batch-size 64
    $ python -m model tag --input tickets.csv --output entities.jsonl --text-column body
    $ python -m model tag --engine ray --input 'shards/*.parquet' --output var/entity-shards
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from model.errors import ModelError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class UsageError(ModelError):
    """Bad input: reported on one line, exit status 2."""


def _threads() -> None:
    import torch

    torch.set_num_threads(max(1, min(torch.get_num_threads(), os.cpu_count() or 1)))


#: The ``--precision`` help of ``tag`` and ``evaluate``.
PRECISION_HELP = (
    "arithmetic of the model: auto (default, or $PRICEWAR_TAG_PRECISION) is bf16 "
    "on CUDA and, on a CPU, chosen per job: fp32 up to 5,000 texts, above that "
    "fp32 while int8 compiles in the background when the artefact is calibrated "
    "for it (model/quantize.py)"
)


# -- train ---------------------------------------------------------------------------------


def _add_train(sub: argparse._SubParsersAction) -> None:
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
    from model.train import EvalSet, TrainConfig, train

    _check_train_numbers(args)
    label_map = parse_label_map(args.label_map) if args.label_map else None
    if not args.train and not args.demo_train:
        raise UsageError("nothing to train on: give --train FILE and/or --demo-train N")
    if not args.dev and not args.demo_dev:
        raise UsageError("no dev data for early stopping: give --dev FILE and/or --demo-dev N")
    _check_batch_size(args.batch_size)
    _threads()
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
    config = TrainConfig(
        output=args.output,
        name=args.name,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        head_lr=args.head_lr,
        rank=args.rank,
        alpha=args.alpha,
        full=args.full,
        class_weight_power=args.class_weight_power,
        o_weight=args.o_weight,
        max_length=args.max_length,
        seed=args.seed,
        patience=args.patience,
    )
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


# -- evaluate ------------------------------------------------------------------------------


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
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
    _check_batch_size(args.batch_size)
    _threads()
    tagger = _load_tagger(args.model, args.device, args.precision)
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


# -- tag -----------------------------------------------------------------------------------


def _add_tag(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tag",
        help="tag the store's tickets (--db) or a file (--input/--output)",
        description="Tag every ticket of the database that has no entities for this model "
        "(resumable: stop it any time and run it again), or tag a CSV/TSV/JSONL/"
        "Parquet file into a JSONL file (one object per input row).",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--db", type=Path, metavar="PATH", help="DuckDB store to tag")
    where.add_argument(
        "--input",
        type=Path,
        metavar="FILE",
        help="CSV, TSV, JSONL or Parquet file (--engine ray: a folder or glob "
        "of them, DIR_OR_GLOB)",
    )
    p.add_argument(
        "--output",
        type=Path,
        metavar="FILE.jsonl",
        help="JSONL output of file mode (--engine ray: the folder of entity shards)",
    )
    p.add_argument(
        "--text-column",
        default=None,
        metavar="C",
        help="file mode: text column (default: text; --engine ray: as ingest finds it)",
    )
    p.add_argument(
        "--engine",
        default="local",
        choices=["local", "ray"],
        help="local (this process) or ray: tag files on Ray Data, one actor and "
        "model per worker, into Parquet entity shards (model/ray_engine.py)",
    )
    p.add_argument(
        "--address",
        metavar="ADDR",
        help="--engine ray: a running Ray cluster (auto, host:6379, "
        "ray://host:10001); default: a local Ray on this machine",
    )
    p.add_argument(
        "--num-gpus-per-worker",
        type=float,
        metavar="N",
        help="--engine ray: GPUs per tagging actor (default 1 when the cluster has "
        "GPUs, else 0; 0.5 puts two actors on a GPU)",
    )
    p.add_argument(
        "--num-workers",
        type=int,
        metavar="N",
        help="--engine ray: tagging actors (default: one per GPU, else per CPU)",
    )
    p.add_argument(
        "--id-column",
        metavar="C",
        help="file mode: id column (default: 'id' if present, else the row number)",
    )
    p.add_argument("--model", type=Path, metavar="DIR", help="artefact folder (default: built-in)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--batch-size", type=int, default=64, metavar="N")
    p.add_argument(
        "--precision", default=None, choices=["auto", "fp32", "bf16", "int8"], help=PRECISION_HELP
    )
    p.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="--db: wait this long for a database held by another process, then "
        "leave the tagging as a request in its inbox, for the dashboard "
        "(default: at once)",
    )
    p.set_defaults(func=_cmd_tag)


def _check_batch_size(n: int) -> None:
    """Refuse a batch size outside 1…4,096 (the most a tagging request to the app may ask,
    ``data.tag_requests.MAX_BATCH_SIZE``)."""
    from data.tag_requests import MAX_BATCH_SIZE

    if not 1 <= n <= MAX_BATCH_SIZE:
        raise UsageError(f"--batch-size must be between 1 and {MAX_BATCH_SIZE:,}, got {n:,}")


def _load_tagger(model_dir: Path | None, device: str, precision: str | None = None):
    from data.tag_requests import check_model_files
    from model.tagger import ModelNotFoundError, Tagger

    if model_dir is not None and Path(model_dir).is_dir():
        try:  # a FIFO as tagger.json hung the command; a link to /dev/zero ran out of memory
            check_model_files(model_dir)
        except ValueError as exc:
            raise UsageError(f"--model {exc}") from None
    try:
        return Tagger.load(model_dir, device=device, precision=precision)
    except ModelNotFoundError as exc:
        raise UsageError(str(exc)) from None
    except ValueError as exc:  # a precision the device cannot run
        raise UsageError(str(exc)) from None
    except RuntimeError as exc:
        if "CUDA" in str(exc):
            raise UsageError(str(exc)) from None
        raise


#: Longest ``--wait`` (a day): a held database is handed to the app after it.
MAX_WAIT_SECONDS = 86_400


def _check_wait(seconds: float) -> None:
    """Refuse a ``--wait`` that is negative, not a number, or longer than a day."""
    import math

    if not (math.isfinite(seconds) and 0 <= seconds <= MAX_WAIT_SECONDS):
        raise UsageError(
            f"--wait must be between 0 and {MAX_WAIT_SECONDS:,} seconds, got {seconds!r}"
        )


def _cmd_tag(args: argparse.Namespace) -> int:
    _check_batch_size(args.batch_size)
    _check_wait(args.wait)
    if args.engine == "ray":
        return _tag_ray(args)
    for flag, value in (
        ("--address", args.address),
        ("--num-gpus-per-worker", args.num_gpus_per_worker),
        ("--num-workers", args.num_workers),
    ):
        if value is not None:
            raise UsageError(f"{flag} belongs to --engine ray")
    if args.db is not None:
        if args.output is not None:
            raise UsageError("--output belongs to file mode (--input); --db writes to the store")
        return _tag_db(args)
    if args.output is None:
        raise UsageError("file mode needs --output FILE.jsonl")
    return _tag_file(args)


def _open_store(path: Path, wait: float):
    """The store at ``path``, waiting up to ``wait`` s while another process holds it; the
    ``StoreLockedError`` if it is still held then."""
    import time

    from data.errors import StoreLockedError
    from data.store import Store, lock_pid

    deadline = time.monotonic() + wait
    announced = False
    while True:
        try:
            return Store.open(path)
        except StoreLockedError as exc:
            if time.monotonic() >= deadline:
                return exc
            if not announced:
                pid = lock_pid(exc)
                print(
                    f"{path} is in use by another process"
                    f"{f' (PID {pid})' if pid is not None else ''}; waiting up to "
                    f"{wait:.0f}s for it to close",
                    file=sys.stderr,
                )
                announced = True
            time.sleep(1.0)


def _tag_db(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from data.cli import check_db_file
    from data.errors import DataError, StoreLockedError

    try:
        check_db_file(args.db)  # a CSV file opened as an empty database in memory
    except DataError as exc:
        raise UsageError(str(exc)) from None
    if not args.db.is_file():
        raise UsageError(f"{args.db}: no such database file")
    _threads()
    tagger = _load_tagger(args.model, args.device, args.precision)
    try:
        store = _open_store(args.db, args.wait)
    except DataError as exc:
        raise UsageError(str(exc)) from None
    if isinstance(store, StoreLockedError):
        return _hand_to_app(args, store)
    with (
        store,
        tqdm(
            unit="ticket",
            desc=f"tagging ({tagger.device}, {tagger.precision})",
            dynamic_ncols=True,
            mininterval=1.0,
        ) as bar,
    ):

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        def status(s) -> None:  # the precision can change part-way (int8 compiled)
            where = ", ".join(v for v in (tagger.device, s.precision) if v)
            extra = "; int8 compiling" if s.compiling else ""
            bar.set_description(f"tagging ({where}{extra})", refresh=False)

        summary = _tag_store_audited(store, tagger, args, progress, status)
    print(
        f"tagged {summary.tickets} tickets, {summary.entities} entities with "
        f"{summary.model_id} on {summary.device} ({tagger.precision}) in {summary.seconds:.1f}s "
        f"(run {summary.run_id}, {summary.status})"
    )
    return 0


def _tag_store_audited(store, tagger, args: argparse.Namespace, progress, status=None):
    """``tag_store`` between audit rows (actor: the OS user): ``tagging_start`` first, then
    ``tagging_end`` (``tagging_stop`` when interrupted).

    The start is recorded before any ticket is tagged, so a store that cannot record it
    (disk full) tags nothing. The batches commit one by one, so a failure to record the end
    cannot undo them: it is reported (exit 2) with what was tagged.
    """
    from data import audit
    from data.errors import DataError
    from model.jobs import tag_store

    actor = audit.os_actor()
    model_dir = str(args.model) if args.model else "built-in"
    where = f"model dir {model_dir}, {tagger.device} ({tagger.precision})"

    def end(action: str, detail: str) -> None:
        audit.record(
            store,
            actor=actor,
            action=action,
            target=tagger.model_id,
            detail=f"{detail}; {where}",
            source="cli",
        )

    audit.record(
        store,
        actor=actor,
        action=audit.TAG_START,
        target=tagger.model_id,
        detail=f"{where}, batch size {args.batch_size}",
        source="cli",
    )
    try:
        summary = tag_store(
            store, tagger, batch_size=args.batch_size, progress=progress, status=status
        )
    except BaseException as exc:
        stopped = isinstance(exc, KeyboardInterrupt | SystemExit)
        try:
            end(
                audit.TAG_STOP if stopped else audit.TAG_END,
                "interrupted by the user"
                if stopped
                else f"failed: {type(exc).__name__}: {' '.join(str(exc).split())}",
            )
        except Exception as audit_exc:  # the run's own failure is what the user must see
            print(
                f"the audit trail could not record the end of the run: {audit_exc}", file=sys.stderr
            )
        raise
    try:
        end(
            audit.TAG_END if summary.status == "done" else audit.TAG_STOP,
            f"{summary.status}: {summary.tickets} tickets tagged, {summary.entities} entities, "
            f"run {summary.run_id}",
        )
    except DataError as exc:
        raise UsageError(
            f"tagged {summary.tickets} tickets (run {summary.run_id}, "
            f"{summary.status}), but the audit trail could not record the end: "
            f"{exc}"
        ) from None
    return summary


def _hand_to_app(args: argparse.Namespace, locked) -> int:
    """The database is held by another process: leave the tagging as a request in its inbox
    and say honestly who will run it: the dashboard holding the database when its heartbeat
    is fresh (``data.heartbeat.running_dashboard``), else nobody until a dashboard starts."""
    from data.heartbeat import running_dashboard
    from data.store import lock_pid
    from data.tag_requests import request_tagging

    request = request_tagging(args.db, model_dir=args.model or None, batch_size=args.batch_size)
    holder = lock_pid(locked)
    app = running_dashboard(args.db, holder)
    if app is not None:
        print(
            f"{args.db} is held by the running dashboard (PID {app}): tagging handed to it "
            f"through its inbox ({request}); it starts within seconds and its progress "
            f"shows on the Batch tagging page."
        )
    else:
        who = f"another process (PID {holder})" if holder is not None else "another process"
        print(
            f"{args.db} is in use by {who}, which is not a dashboard polling its inbox: "
            f"tagging request left in the inbox ({request}). Nothing is tagged until a "
            f"dashboard runs on this database (it takes the request within seconds of "
            f"starting), or run this command again once the database is free."
        )
    return 0


def _tag_file(args: argparse.Namespace) -> int:
    from model.filemode import FileModeError, check_output, tag_file

    if args.input.is_dir():
        raise UsageError(
            f"{args.input}: is a folder; give one ticket file (a folder of files is tagged "
            "with --engine ray)"
        )
    if not args.input.is_file():
        raise UsageError(f"{args.input}: no such file")
    try:
        # before the model load: a bad --output (a pipe, a device, the input) is quick
        check_output(args.input, args.output)
    except FileModeError as exc:
        raise UsageError(str(exc)) from None
    _threads()
    tagger = _load_tagger(args.model, args.device, args.precision)
    try:
        report = tag_file(
            tagger,
            args.input,
            args.output,
            text_column=args.text_column or "text",
            id_column=args.id_column,
            batch_size=args.batch_size,
            warn=lambda m: print(m, file=sys.stderr),
        )
    except FileModeError as exc:
        raise UsageError(str(exc)) from None
    print(
        f"{report.rows} rows, {report.entities} entities, {report.bad_rows} bad rows "
        f"→ {args.output}"
    )
    return 0


def _tag_ray(args: argparse.Namespace) -> int:
    """``--engine ray``: tag files on Ray Data into a folder of entity shards."""
    from data.entity_shards import EntityShardError
    from model.ray_engine import RayMissingError, RayTagError, tag_on_ray
    from model.tagger import ModelNotFoundError

    if args.db is not None or args.output is None:
        raise UsageError(
            "--engine ray tags files: give --input DIR_OR_GLOB --output DIR (the "
            "store is tagged by the local engine, or load the shards with "
            "python -m data ingest DIR)"
        )
    if args.output.exists() and not args.output.is_dir():
        raise UsageError(f"--output {args.output} is a file; --engine ray writes a folder")
    from tqdm.auto import tqdm

    with tqdm(unit="ticket", desc="tagging on ray", dynamic_ncols=True, mininterval=1.0) as bar:

        def progress(done: int, shards_done: int, shards_total: int) -> None:
            bar.n = done
            bar.set_postfix_str(f"shards {shards_done}/{shards_total}", refresh=True)

        try:
            report = tag_on_ray(
                str(args.input),
                args.output,
                model_dir=args.model,
                address=args.address,
                device=args.device,
                num_gpus_per_worker=args.num_gpus_per_worker,
                num_workers=args.num_workers,
                batch_size=args.batch_size,
                precision=args.precision,
                text_column=args.text_column,
                id_column=args.id_column,
                progress=progress,
                warn=lambda m: tqdm.write(m, file=sys.stderr),
            )
        except (RayMissingError, RayTagError, ModelNotFoundError, EntityShardError) as exc:
            raise UsageError(str(exc)) from None
    print(
        f"{report.rows} rows, {report.entities} entities, {report.bad_rows} bad rows in "
        f"{len(report.shards) - report.skipped} shards ({report.skipped} complete already) "
        f"with {report.model_id} on {report.workers} {report.device} workers in "
        f"{report.seconds:.1f}s → {args.output}"
    )
    if report.failed:
        for path, reason in report.failed:
            print(f"{path}: not tagged: {' '.join(reason.split())}", file=sys.stderr)
        raise UsageError(
            f"{len(report.failed)} input file(s) could not be tagged (first: "
            f"{report.failed[0][0]}); the other shards are complete"
        )
    print(f"load them into the store with: python -m data ingest --db PATH {args.output}")
    return 0


# -- main ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m model`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m model",
        description="The Price War Room entity tagger: train, evaluate, tag.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{train,evaluate,tag}")
    _add_train(sub)
    _add_evaluate(sub)
    _add_tag(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    from data.errors import DataError
    from model.datasets import DatasetError
    from model.labels import LabelMapError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (UsageError, DatasetError, LabelMapError, DataError) as exc:
        message = " ".join(str(exc).split())
        print(f"python -m model {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
