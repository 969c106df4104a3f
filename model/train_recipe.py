"""The shipped two-head recipe's data and command line: ``python -m model.train two-head``
(WNUT-17 + BTC + WikiGold + GoEmotions + generated tickets with real names)."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from model.datasets import Example
from model.train import train
from model.train_config import (
    TRAIN_DEVICES,
    TRAIN_PRECISIONS,
    EpochPool,
    EvalSet,
    config_from_args,
    training_device,
    training_precision,
)

DATASETS = Path(__file__).resolve().parent / "datasets"
#: Copies drawn once by ``--mention-swap-per-epoch`` (each epoch samples its share of them).
SWAPPED_COPIES = 20_000


def two_head_data(
    args,
) -> tuple[list[Example], list[EpochPool], list[EvalSet], list[EvalSet], dict]:
    """The data of the shipped two-head tagger: ``(train, pools, dev sets, test sets, record)``.

    Training: WNUT-17 train (labels mapped), BTC sections a b e f g and WikiGold (``MISC``
    ignored), generated tickets with gold sentiment and real names
    (:func:`model.name_augmentation.augment_ticket_names`), GoEmotions train (sentiment
    only). Selection (never WNUT-17 dev): a seeded ``val_share`` of WNUT-17 train + BTC a b
    e f g (``val_real``), generated tickets of ``ticket_seed + 1`` (``val_tickets``) and a
    seeded part of GoEmotions *train* (``val_goemotions``); ``val_real`` and
    ``val_goemotions`` are drawn with ``split_seed`` (``None``: the training ``seed``), so
    runs of other training seeds can be ranked on the same selection texts. Reported only:
    WNUT-17 dev, BTC section h, generated tickets of ``ticket_seed + 2`` (entities and
    sentiment), GoEmotions dev (single-group) and the hand-written tickets (entities and
    sentiment).
    """
    from data.demo import iter_gold_tickets
    from model.datasets import (
        examples_from_gold,
        read_btc,
        read_examples,
        read_goemotions,
        read_wikigold,
        split_off,
    )
    from model.labels import parse_label_map
    from model.name_augmentation import augment_ticket_names
    from model.real_tone import real_tone_tickets, tone_sentences

    root = Path(args.data_dir)
    scale = args.scale
    wnut_map = parse_label_map("wnut17")

    def cut(examples: list, n: int | None = None) -> list:
        if scale >= 1.0 and n is None:
            return examples
        keep = round(len(examples) * scale) if n is None else n
        return examples[: max(1, keep)]

    wnut = cut(read_examples(root / "wnut17" / "wnut17train.conll", wnut_map))
    btc = cut(read_btc([root / "btc" / f"{s}.conll" for s in "abefg"]))
    wiki = cut(read_wikigold(root / "wikigold" / "wikigold.conll"))
    goemo = cut(read_goemotions(root / "goemotions" / "group_train.tsv"))
    split_seed = args.seed if args.split_seed is None else args.split_seed
    wnut_train, wnut_val = split_off(wnut, args.val_share, split_seed)
    btc_train, btc_val = split_off(btc, args.val_share, split_seed + 1)
    goemo_train, goemo_val = split_off(
        goemo, min(0.5, args.goemotions_val / len(goemo)), split_seed + 2
    )
    tickets = examples_from_gold(
        augment_ticket_names(
            iter_gold_tickets(args.tickets, args.ticket_seed, sentiment=True),
            seed=args.ticket_seed,
            share=args.name_share,
        )
    )
    seen = {ex.text for ex in tickets}

    def generated(n: int, seed: int) -> list:
        return [
            ex
            for ex in examples_from_gold(iter_gold_tickets(n, seed, sentiment=True))
            if ex.text not in seen
        ]

    train_examples = [*wnut_train, *tickets]
    pools = [
        EpochPool("btc", btc_train, args.btc_per_epoch),
        EpochPool("wikigold", wiki, args.wikigold_per_epoch),
        EpochPool("goemotions", goemo_train, args.goemotions_per_epoch),
    ]
    swapped: list = []
    if args.mention_swap_per_epoch:
        from model.mention_swap import swap_mentions

        swapped = swap_mentions(
            [*wnut_train, *btc_train],
            SWAPPED_COPIES,
            seed=args.seed,
            share=args.mention_swap_share,
        )
        pools.append(EpochPool("mention_swap", swapped, args.mention_swap_per_epoch))
    toned: list = []
    if args.real_tone_per_epoch:
        toned = real_tone_tickets(
            args.tickets, args.ticket_seed + 3, tone_sentences(goemo_train), exclude=seen
        )
        pools.append(EpochPool("ticket_tone", toned, args.real_tone_per_epoch))
    val_tickets = generated(args.val_tickets, args.ticket_seed + 1)
    # generated tickets whose tone is a real sentence of the selection part of GoEmotions: a
    # selection set (scored every epoch) when the run trains on such tickets, else reported
    # with the test sets (scored once, at the end; model/real_tone.py)
    val_tone = real_tone_tickets(
        args.val_tickets, args.ticket_seed + 4, tone_sentences(goemo_val), exclude=seen
    )
    tone_chosen = bool(args.real_tone_per_epoch)
    val_tone_set = EvalSet("val_ticket_tone", val_tone, tone_chosen, kind="sentiment")
    dev_sets = [
        EvalSet("val_real", [*wnut_val, *btc_val]),
        EvalSet("val_tickets", val_tickets),
        EvalSet("val_goemotions", goemo_val, kind="sentiment"),
        *([val_tone_set] if tone_chosen else []),
    ]
    test_tickets = generated(args.test_tickets, args.ticket_seed + 2)
    goemo_dev = cut(read_goemotions(root / "goemotions" / "group_dev.tsv", single_group=True))
    test_sets = [
        EvalSet(
            "wnut17_dev",
            cut(read_examples(root / "wnut17" / "emerging.dev.conll", wnut_map)),
            False,
        ),
        EvalSet("btc_h", cut(read_btc([root / "btc" / "h.conll"])), False),
        EvalSet("generated_test", test_tickets, False, kind="both"),
        EvalSet("goemotions_dev", goemo_dev, False, kind="sentiment"),
        EvalSet(
            "ticket_tone_test",
            real_tone_tickets(
                args.test_tickets, args.ticket_seed + 5, tone_sentences(goemo_dev), exclude=seen
            ),
            False,
            kind="sentiment",
        ),
        *([] if tone_chosen else [val_tone_set]),
        EvalSet(
            "handwritten",
            cut(read_examples(root / "handwritten" / "tickets.jsonl")),
            False,
            kind="both",
        ),
    ]
    record = {
        "train": {
            "wnut17_train": len(wnut_train),
            "generated_tickets": {
                "n": args.tickets,
                "seed": args.ticket_seed,
                "sentiment": True,
                "real_names_share": args.name_share,
            },
        },
        "pools_per_epoch": {
            "btc_abefg": {"of": len(btc_train), "per_epoch": args.btc_per_epoch},
            "wikigold": {"of": len(wiki), "per_epoch": args.wikigold_per_epoch},
            "goemotions_train": {"of": len(goemo_train), "per_epoch": args.goemotions_per_epoch},
            **(
                {
                    "mention_swap": {
                        "of": len(swapped),
                        "per_epoch": args.mention_swap_per_epoch,
                        "share": args.mention_swap_share,
                        "from": "WNUT-17 train + BTC a b e f g (training parts)",
                    }
                }
                if swapped
                else {}
            ),
            **(
                {
                    "ticket_tone": {
                        "of": len(toned),
                        "per_epoch": args.real_tone_per_epoch,
                        "seed": args.ticket_seed + 3,
                        "tone": "GoEmotions train (training part), sentiment only",
                    }
                }
                if toned
                else {}
            ),
        },
        "selection": {
            "split_seed": split_seed,
            "val_real": {
                "wnut17_train": len(wnut_val),
                "btc_abefg": len(btc_val),
                "share": args.val_share,
            },
            "val_tickets": {"seed": args.ticket_seed + 1, "kept": len(val_tickets)},
            "val_goemotions": {"from": "group_train.tsv", "n": len(goemo_val)},
            "val_ticket_tone": {
                "seed": args.ticket_seed + 4,
                "kept": len(val_tone),
                "tone": "val_goemotions' texts",
                "for_selection": tone_chosen,
            },
        },
        "reported_only": {
            "wnut17_dev": "emerging.dev.conll (never used for any choice)",
            "btc_h": "BTC section h (held out)",
            "generated_test": {"seed": args.ticket_seed + 2, "kept": len(test_tickets)},
            "goemotions_dev": "group_dev.tsv, single-group rows, 3 classes",
            "ticket_tone_test": {
                "seed": args.ticket_seed + 5,
                "tone": "goemotions_dev's texts",
            },
            "handwritten": "handwritten/tickets.jsonl: 30 tickets written by the team, never "
            "trained on (entities per type and sentiment)",
        },
        "label_maps": {
            "wnut17": "preset wnut17",
            "wikigold": "MISC ignored in the loss",
            "goemotions": "ambiguous→neutral; rows whose groups disagree dropped",
        },
        "scale": scale,
    }
    return train_examples, pools, dev_sets, test_sets, record


def data_options(args: argparse.Namespace) -> dict:
    """The recipe's optional data in the checkpoint key (``TrainConfig.extra``): the swapped
    copies and the real-tone tickets change the data (and the selection), so a checkpoint of
    a run without them (or with others) must not resume into this one; empty when off, so
    older checkpoints still resume."""
    options: dict = {}
    if args.mention_swap_per_epoch:
        options["mention_swap_per_epoch"] = args.mention_swap_per_epoch
        options["mention_swap_share"] = args.mention_swap_share
    if args.real_tone_per_epoch:
        options["real_tone_per_epoch"] = args.real_tone_per_epoch
    return options


def recipe_parser() -> argparse.ArgumentParser:
    """``python -m model.train``'s parser: the ``two-head`` recipe and ``rescore``."""
    parser = argparse.ArgumentParser(
        prog="python -m model.train",
        description="Train the two-head tagger (entities + sentiment) on the shipped data recipe.",
    )
    sub = parser.add_subparsers(dest="recipe", required=True)
    p = sub.add_parser("two-head", help="WNUT-17 + BTC + WikiGold + GoEmotions + tickets")
    p.add_argument("--output", type=Path, required=True)
    p.add_argument("--name", default="default")
    p.add_argument("--data-dir", type=Path, default=DATASETS)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument(
        "--split-seed",
        type=int,
        default=None,
        help="seed of the selection splits (val_real, val_goemotions) carved from the training "
        "files; default: --seed. Fix it to rank runs of several --seed on the same texts",
    )
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--tickets", type=int, default=1500)
    p.add_argument("--ticket-seed", type=int, default=1000)
    p.add_argument("--name-share", type=float, default=0.4)
    p.add_argument("--val-tickets", type=int, default=300)
    p.add_argument("--test-tickets", type=int, default=1000)
    p.add_argument("--val-share", type=float, default=0.1)
    p.add_argument("--goemotions-val", type=int, default=800)
    p.add_argument("--btc-per-epoch", type=int, default=2500)
    p.add_argument("--wikigold-per-epoch", type=int, default=800)
    p.add_argument("--goemotions-per-epoch", type=int, default=8000)
    p.add_argument(
        "--mention-swap-per-epoch",
        type=int,
        default=0,
        help="train each epoch on this many copies of WNUT-17/BTC training sentences whose "
        "entity mentions are swapped for others of their type (model/mention_swap.py)",
    )
    p.add_argument(
        "--mention-swap-share",
        type=float,
        default=0.5,
        help="probability that a mention in such a copy is swapped",
    )
    p.add_argument(
        "--real-tone-per-epoch",
        type=int,
        default=0,
        metavar="N",
        help="train each epoch on N generated tickets whose tone sentence is a real GoEmotions "
        "sentence of their class (sentiment only; model/real_tone.py); also makes "
        "val_ticket_tone a selection set",
    )
    p.add_argument("--sentiment-weight", type=float, default=1.0)
    p.add_argument(
        "--sentiment-class-power",
        type=float,
        default=0.0,
        help="weigh sentiment classes by (mean count / count) ** P (0: unweighted)",
    )
    p.add_argument("--time-budget-min", type=float, default=None)
    p.add_argument(
        "--stop-after-epoch",
        type=int,
        default=None,
        metavar="N",
        help="stop after epoch N; the learning-rate schedule stays that of --epochs",
    )
    p.add_argument("--rank", type=int, default=16, help="LoRA rank of every adapter")
    p.add_argument("--alpha", type=int, default=None, help="LoRA alpha (default: twice the rank)")
    p.add_argument(
        "--full",
        action="store_true",
        help="train every weight (no adapters); with --init-from, from the artefact's adapters "
        "merged in",
    )
    p.add_argument(
        "--freeze-word-embeddings",
        action="store_true",
        help="with --full: keep the backbone's word embeddings (their change is 18,500 rows, "
        "which no low-rank adapter holds: python -m model.train fit-lora)",
    )
    p.add_argument(
        "--casing",
        action="store_true",
        help="give the model each word's shape (lower, Title, UPPER, mIxed) as its token type "
        "(model/casing.py): the uncased backbone cannot see case otherwise",
    )
    p.add_argument(
        "--lr", type=float, default=2e-3, help="learning rate of the LoRA adapters (or weights)"
    )
    p.add_argument("--head-lr", type=float, default=5e-3, help="learning rate of the heads")
    p.add_argument(
        "--init-from",
        type=Path,
        default=None,
        metavar="DIR",
        help="start from this LoRA artefact's weights (a second training stage)",
    )
    p.add_argument(
        "--scale", type=float, default=1.0, help="use this share of every file (a quick smoke run)"
    )
    p.add_argument("--no-int8", action="store_true", help="skip the int8 scores")
    p.add_argument(
        "--no-sentiment-offsets",
        action="store_true",
        help="keep the sentiment head's argmax (no macro-F1 class offsets fitted "
        "on val_goemotions)",
    )
    p.add_argument(
        "--precision",
        choices=TRAIN_PRECISIONS,
        default="auto",
        help="training precision: bf16 autocast (fp32 master weights) needs a CPU with AMX; "
        "auto = bf16 where the CPU runs it fast, else fp32",
    )
    p.add_argument(
        "--device",
        choices=TRAIN_DEVICES,
        default="auto",
        help="where to train: auto = cuda when torch sees a GPU, else cpu",
    )
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--quiet", action="store_true")
    from model.lora_fit import add_fit_lora
    from model.train_rescore import add_rescore

    add_rescore(sub)
    add_fit_lora(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m model.train two-head --output DIR [...]``: train the two-head tagger
    (``rescore DIR``: :mod:`model.train_rescore`; ``fit-lora FULL_DIR``: :mod:`model.lora_fit`).

    Resumable: run the same command again after a stop and it continues after the last
    finished epoch (``checkpoint.pt`` in ``--output``).
    """
    parser = recipe_parser()
    args = parser.parse_args(argv)
    if args.recipe in ("rescore", "fit-lora"):
        return args.func(args)
    if args.rank < 1 or (args.alpha is not None and args.alpha < 1):
        parser.error("--rank and --alpha must be at least 1")
    if args.freeze_word_embeddings and not args.full:
        parser.error("--freeze-word-embeddings needs --full (LoRA never trains them)")
    if args.stop_after_epoch is not None and not 1 <= args.stop_after_epoch <= args.epochs:
        parser.error(f"--stop-after-epoch must be between 1 and --epochs ({args.epochs})")
    try:  # before the data is read: a device or precision this machine lacks, in one line
        training_precision(args.precision, training_device(args.device))
    except ValueError as exc:
        parser.error(str(exc))
    if args.threads:
        torch.set_num_threads(args.threads)
    train_examples, pools, dev_sets, test_sets, record = two_head_data(args)
    record["command"] = "python -m model.train " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    config = config_from_args(
        args,
        init_from=str(args.init_from) if args.init_from else None,
        alpha=args.alpha if args.alpha is not None else 2 * args.rank,
        time_budget_s=args.time_budget_min * 60 if args.time_budget_min else None,
        int8_scores=not args.no_int8,
        sentiment_offsets=not args.no_sentiment_offsets,
        extra=data_options(args),
    )

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    metrics = train(
        config,
        train_examples,
        dev_sets,
        test_sets=test_sets,
        pools=pools,
        data_description=record,
        log=log,
        show_progress=not args.quiet,
    )
    from model.evaluate import format_scores

    for name, scores in metrics["scores"].items():
        print(f"== {name}")
        print(format_scores(scores))
    for name, scores in metrics.get("sentiment_scores", {}).items():
        print(
            f"== {name} sentiment: macro-F1 {scores['macro_f1']:.4f} "
            f"accuracy {scores['accuracy']:.4f} ({scores['support']} texts)"
        )
    print(f"model {metrics['model_id']} written to {args.output}")
    return 0
