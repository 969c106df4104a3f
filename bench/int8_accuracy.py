"""What reduced precision costs in F1: the default tagger in fp32 and in int8 (or bf16, on a
CPU with AVX-512 BF16) on the same data.

Two sets, entity-level seqeval strict IOB2 (as ``python -m model evaluate``): WNUT-17 dev
with mapped labels (real user-written text), and the held-out generated tickets of the
default tagger's training record (seed 1002, minus any text seen in training). The last
line printed is::

    int8_cost: wnut17_dev=<fp32 F1 - int8 F1> generated_test=<fp32 F1 - int8 F1>

(in F1 points, 0..100; negative means int8 scored higher; ``bf16_cost:`` with
``--precision bf16``). Usage::

    python -m bench.int8_accuracy [--model DIR] [--tickets 1000] [--precision int8|bf16]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("HF_HUB_OFFLINE", "1")

WNUT_DEV = ROOT / "model" / "datasets" / "wnut17" / "emerging.dev.conll"
WNUT_TRAIN = ROOT / "model" / "datasets" / "wnut17" / "wnut17train.conll"


def main(argv: list[str] | None = None) -> int:
    """Score fp32 and int8 and print the per-type table and the summary line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.int8_accuracy", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--model", type=Path, help="artefact folder (default: built-in)")
    parser.add_argument("--tickets", type=int, default=1000, help="generated test tickets")
    parser.add_argument(
        "--precision",
        choices=("int8", "bf16"),
        default="int8",
        help="the reduced precision set against fp32 (bf16: a CPU with AVX-512 BF16)",
    )
    args = parser.parse_args(argv)

    import torch

    from data.demo import iter_gold_tickets
    from model.datasets import examples_from_gold, read_examples
    from model.evaluate import evaluate_examples
    from model.labels import parse_label_map
    from model.tagger import Tagger

    torch.set_num_threads(2)
    wnut_map = parse_label_map("wnut17")
    seen = {ex.text for ex in read_examples(WNUT_TRAIN, wnut_map)} | {
        t.text for t in iter_gold_tickets(3000, 1000)
    }
    sets = {
        "wnut17_dev": read_examples(WNUT_DEV, wnut_map),
        "generated_test": [
            ex
            for ex in examples_from_gold(iter_gold_tickets(args.tickets, 1002))
            if ex.text not in seen
        ],
    }
    f1: dict[tuple[str, str], float] = {}
    reduced = args.precision
    for precision in ("fp32", reduced):
        tagger = Tagger.load(args.model, device="cpu", precision=precision)
        for name, examples in sets.items():
            scores = evaluate_examples(lambda t, tg=tagger: tg.tag(t, batch_size=64), examples)
            f1[precision, name] = scores["overall"]["f1"]
            per_type = " ".join(f"{k}={v['f1']:.4f}" for k, v in sorted(scores.items()))
            print(f"{precision} {name} ({len(examples)} texts): {per_type}", flush=True)
    costs = " ".join(f"{name}={100 * (f1['fp32', name] - f1[reduced, name]):+.2f}" for name in sets)
    print(f"{reduced}_cost: {costs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
