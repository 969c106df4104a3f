"""What a training run is told: :class:`TrainConfig`, its evaluation sets (:class:`EvalSet`),
the large sources sampled per epoch (:class:`EpochPool`) and the precision it trains in."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch

from model.datasets import Example

CHECKPOINT_FILE = "checkpoint.pt"


LORA_TARGETS = ("query", "key", "value", "dense")


TRAIN_PRECISIONS = ("auto", "fp32", "bf16")
TRAIN_DEVICES = ("auto", "cpu", "cuda")


@dataclass
class TrainConfig:
    """Hyper-parameters and output of one training run."""

    output: Path
    name: str = "tagger"
    epochs: int = 8
    batch_size: int = 32
    lr: float = 2e-3
    head_lr: float = 5e-3
    weight_decay: float = 0.01
    warmup: float = 0.06
    rank: int = 16
    alpha: int = 32
    lora_dropout: float = 0.05
    full: bool = False
    class_weight_power: float = 0.5
    o_weight: float = 0.5
    max_length: int = 128
    seed: int = 13
    #: seed of the selection splits the recipe carves from its training files (None: ``seed``)
    split_seed: int | None = None
    patience: int = 2
    infer_max_length: int = 256
    stride: int = 64
    sentiment_weight: float = 1.0
    sentiment_class_power: float = 0.0
    time_budget_s: float | None = None
    #: stop after this epoch although the schedule is drawn for ``epochs`` (None: run them all)
    stop_after_epoch: int | None = None
    int8_scores: bool = True
    sentiment_offsets: bool = True
    init_from: str | None = None
    precision: str = "fp32"
    #: where the weights train: ``cpu``, ``cuda`` or ``auto`` (cuda when torch sees one)
    device: str = "cpu"
    #: word shapes as token types (model/casing.py); ``words`` segmentation
    casing: bool = False
    #: with ``full``: the word embeddings stay the backbone's (the fitted adapters of
    #: model/lora_fit.py then hold the whole change)
    freeze_word_embeddings: bool = False
    extra: dict = field(default_factory=dict)


def config_from_args(args: argparse.Namespace, **overrides: Any) -> TrainConfig:
    """The :class:`TrainConfig` of a parsed command line: every field an argument names (same
    attribute name, e.g. ``--head-lr`` → ``head_lr``), then ``overrides`` on top."""
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if hasattr(args, f.name)}
    return TrainConfig(**{**given, **overrides})


@dataclass
class EvalSet:
    """A named evaluation set (used for early stopping when ``for_selection``).

    ``kind``: ``entities`` (entity F1), ``sentiment`` (macro-F1 of the sentiment head) or
    ``both`` (entity F1 and sentiment macro-F1; selection uses their mean).
    """

    name: str
    examples: Sequence[Example]
    for_selection: bool = True
    kind: str = "entities"

    @property
    def entities(self) -> bool:
        return self.kind in ("entities", "both")

    @property
    def sentiment(self) -> bool:
        return self.kind in ("sentiment", "both")


@dataclass
class EpochPool:
    """A large source of which every epoch trains on a seeded sample of ``per_epoch``."""

    name: str
    examples: Sequence[Example]
    per_epoch: int


def training_device(device: str) -> str:
    """The device ``device`` trains on: ``cpu`` or ``cuda`` (``auto``: cuda when torch sees
    a GPU, else cpu).

    Raises:
        ValueError: an unknown name, or ``cuda`` where torch sees no GPU.
    """
    if device not in TRAIN_DEVICES:
        raise ValueError(f"unknown device {device!r} ({', '.join(TRAIN_DEVICES)})")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: torch sees no CUDA GPU here; use --device cpu")
    return device


def training_precision(precision: str, device: str = "cpu") -> str:
    """The precision ``precision`` trains in on ``device``: ``fp32`` or ``bf16``.

    On a CPU ``auto`` is bf16 where :func:`model.engine.cpu_runs_bf16_fast` (Intel AMX),
    else fp32; on a GPU bf16 where torch says it runs bf16, else fp32.

    Raises:
        ValueError: an unknown name, or ``bf16`` on a CPU without fast bf16 (emulated bf16
            is slower than fp32 there and would only cost accuracy) or a GPU without it.
    """
    from model.engine import cpu_runs_bf16_fast

    if precision not in TRAIN_PRECISIONS:
        raise ValueError(f"unknown precision {precision!r} ({', '.join(TRAIN_PRECISIONS)})")
    if device == "cuda":
        fast = torch.cuda.is_bf16_supported()
        if precision == "bf16" and not fast:
            raise ValueError("bf16 training needs a GPU that runs bf16; use --precision fp32")
        return "bf16" if precision == "auto" and fast else precision.replace("auto", "fp32")
    if precision == "auto":
        return "bf16" if cpu_runs_bf16_fast() else "fp32"
    if precision == "bf16" and not cpu_runs_bf16_fast():
        raise ValueError(
            "bf16 training needs a CPU with AMX and AVX-512 bf16 (this one has none); "
            "use --precision fp32"
        )
    return precision
