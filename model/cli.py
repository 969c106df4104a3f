"""``python -m model train|evaluate|tag``: a thin command line over the tagger.

This module holds the parser, the error handling and the checks the verbs share; each verb
lives beside it: ``cli_train.py``, ``cli_evaluate.py``, ``cli_tag.py`` (files, Ray) and
``cli_tag_db.py`` (the store).

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
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from model.errors import ModelError

if TYPE_CHECKING:
    from model.tagger import Tagger

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class UsageError(ModelError):
    """Bad input: reported on one line, exit status 2."""


#: The ``--precision`` help of ``tag`` and ``evaluate``.
PRECISION_HELP = (
    "arithmetic of the model: auto (default, or $PRICEWAR_TAG_PRECISION) is bf16 "
    "on CUDA and on a CPU with AMX; on other CPUs chosen per job: bf16 (AVX-512 BF16, "
    "up to 20,000 texts) or fp32 (up to 5,000), above that the same while int8 compiles "
    "in the background when the artefact is calibrated for it (model/quantize.py)"
)


# -- shared by the verbs -------------------------------------------------------------------
def check_batch_size(n: int) -> None:
    """Refuse a batch size outside 1…4,096 (the most a tagging request to the app may ask,
    ``data.tag_requests.MAX_BATCH_SIZE``)."""
    from data.tag_requests import MAX_BATCH_SIZE

    if not 1 <= n <= MAX_BATCH_SIZE:
        raise UsageError(f"--batch-size must be between 1 and {MAX_BATCH_SIZE:,}, got {n:,}")


def limit_threads() -> None:
    """Let torch use at most one thread per CPU core (the verbs call it through this
    module, ``cli.limit_threads``: tests may replace it here)."""
    import torch

    torch.set_num_threads(max(1, min(torch.get_num_threads(), os.cpu_count() or 1)))


def load_tagger(model_dir: Path | None, device: str, precision: str | None = None) -> Tagger:
    """The tagger of ``model_dir`` (None: the built-in one); a missing or damaged artefact,
    or a precision or device this machine cannot run, is a ``UsageError`` (the verbs call it
    through this module, ``cli.load_tagger``: tests may replace it here)."""
    from data.tag_requests import check_model_files
    from model.errors import ModelNotFoundError
    from model.tagger import Tagger

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


# -- main ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m model`` argument parser."""
    from model.cli_evaluate import add_evaluate
    from model.cli_tag import add_tag
    from model.cli_train import add_train

    parser = argparse.ArgumentParser(
        prog="python -m model",
        description="The Price War Room entity tagger: train, evaluate, tag.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{train,evaluate,tag}")
    add_train(sub)
    add_evaluate(sub)
    add_tag(sub)
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
    except OSError as exc:  # a path the system refuses (a name too long, …): one line
        from data.cli_kit import shown_name

        where = f": {shown_name(exc.filename)}" if exc.filename else ""
        print(
            f"python -m model {args.command}: error: {exc.strerror or exc}{where}",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
