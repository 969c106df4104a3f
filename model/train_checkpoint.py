"""Resuming a stopped run: after every epoch ``checkpoint.pt`` holds the trainable weights,
optimizer, schedule, random states and history, under a key of the settings that must match."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import torch

from model.train_config import CHECKPOINT_FILE, TrainConfig


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    return {k: v.detach().clone() for k, v in model.state_dict().items() if k in names}


def config_key(config: TrainConfig) -> dict:
    # the device is not part of it: a run stopped on one device resumes on another
    skip = {
        "time_budget_s",
        "stop_after_epoch",
        "output",
        "int8_scores",
        "sentiment_offsets",
        "device",
    }
    # absent from older checkpoints
    for newer in ("sentiment_class_power", "init_from", "casing", "freeze_word_embeddings"):
        if not getattr(config, newer):
            skip.add(newer)
    if config.split_seed in (None, config.seed):  # the splits every older run drew
        skip.add("split_seed")
    if config.precision == "fp32":  # older checkpoints were all fp32 and lack the key
        skip.add("precision")
    return {
        k: (str(v) if isinstance(v, Path) else v)
        for k, v in asdict(config).items()
        if k not in skip
    }


def save_checkpoint(out: Path, state: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / (CHECKPOINT_FILE + ".tmp")
    torch.save(state, tmp)
    tmp.replace(out / CHECKPOINT_FILE)


def load_checkpoint(out: Path, config: TrainConfig, log: Callable[[str], None]) -> dict | None:
    path = out / CHECKPOINT_FILE
    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=False)
    if state.get("config") != config_key(config):
        raise ValueError(f"{path} is from a run with other settings; delete it to start over")
    log(f"resuming after epoch {state['epoch']} from {path}")
    return state
