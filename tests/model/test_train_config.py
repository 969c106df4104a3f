"""``config_from_args``: the command line's flags become the run's :class:`TrainConfig`."""

from __future__ import annotations

import argparse
from pathlib import Path

from model.cli import build_parser
from model.train_config import TrainConfig, config_from_args


def test_every_train_flag_reaches_the_config_and_the_rest_keep_their_defaults() -> None:
    args = build_parser().parse_args(
        ["train", "--train", "a.conll", "--dev", "b.conll", "--output", "out"]
        + ["--lr", "0.01", "--head-lr", "0.02", "--rank", "4", "--alpha", "8"]
        + ["--patience", "5", "--o-weight", "0.3", "--epochs", "3", "--seed", "7"]
    )
    config = config_from_args(args)
    assert Path(config.output) == Path("out")
    assert (config.lr, config.head_lr, config.rank, config.alpha) == (0.01, 0.02, 4, 8)
    assert (config.patience, config.o_weight, config.epochs, config.seed) == (5, 0.3, 3, 7)
    default = TrainConfig(output=Path("out"))
    assert (config.sentiment_weight, config.precision, config.init_from, config.casing) == (
        default.sentiment_weight,
        default.precision,
        default.init_from,
        False,
    )
    cased = build_parser().parse_args(
        ["train", "--train", "a.conll", "--dev", "b.conll", "--output", "out", "--casing"]
    )
    assert config_from_args(cased).casing is True


def test_overrides_win_over_the_arguments_and_unknown_arguments_are_left_out() -> None:
    args = argparse.Namespace(output=Path("o"), rank=8, alpha=None, time_budget_min=5, threads=2)
    config = config_from_args(args, alpha=16, time_budget_s=300.0)
    assert (config.rank, config.alpha, config.time_budget_s) == (8, 16, 300.0)
