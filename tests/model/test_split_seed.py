"""``--split-seed``: the two-head recipe's selection splits drawn apart from the training seed,
so runs of several training seeds are ranked on the same selection texts."""

from __future__ import annotations

import dataclasses

import pytest

from model.train_checkpoint import config_key, load_checkpoint, save_checkpoint
from model.train_config import TrainConfig, config_from_args
from model.train_recipe import recipe_parser, two_head_data

SLIVER = ["--scale", "0.02", "--tickets", "24", "--val-tickets", "12", "--test-tickets", "12",
          "--goemotions-val", "40"]  # fmt: skip


def _data(*flags: str) -> tuple:
    args = recipe_parser().parse_args(["two-head", "--output", "unused", *SLIVER, *flags])
    train, pools, dev_sets, _test, record = two_head_data(args)
    texts = {s.name: [ex.text for ex in s.examples] for s in dev_sets}
    pooled = {p.name: [ex.text for ex in p.examples] for p in pools}
    return [ex.text for ex in train], pooled, texts, record, args


def test_the_split_seed_fixes_the_selection_texts_whatever_the_training_seed() -> None:
    train13, pools13, dev13, record13, _ = _data("--seed", "13")
    train14, pools14, dev14, record14, args = _data("--seed", "14", "--split-seed", "13")
    assert dev14 == dev13 and train14 == train13 and pools14 == pools13
    assert record13["selection"]["split_seed"] == record14["selection"]["split_seed"] == 13
    assert config_from_args(args).seed == 14 and config_from_args(args).split_seed == 13
    # without it the training seed draws the splits (the recorded commands reproduce)
    _, _, own14, record_own, _ = _data("--seed", "14")
    assert record_own["selection"]["split_seed"] == 14
    assert own14["val_real"] != dev13["val_real"]
    assert own14["val_goemotions"] != dev13["val_goemotions"]
    assert own14["val_tickets"] == dev13["val_tickets"]  # the ticket seed draws those
    # held out means held out: no selection text is trained on
    assert not set(dev14["val_real"]) & set(train14 + pools14["btc"])
    assert not set(dev14["val_goemotions"]) & set(pools14["goemotions"])


def test_a_checkpoint_of_other_splits_is_refused_and_older_ones_still_resume(tmp_path) -> None:
    base = TrainConfig(output=tmp_path, seed=14)
    same = dataclasses.replace(base, split_seed=14)
    other = dataclasses.replace(base, split_seed=13)
    # None and the training seed draw the same splits: the key older checkpoints carry
    assert config_key(base) == config_key(same) and "split_seed" not in config_key(base)
    assert config_key(other)["split_seed"] == 13
    save_checkpoint(tmp_path, {"config": config_key(base), "epoch": 1})
    assert load_checkpoint(tmp_path, same, lambda _m: None)["epoch"] == 1
    with pytest.raises(ValueError, match="from a run with other settings"):
        load_checkpoint(tmp_path, other, lambda _m: None)
    zero = dataclasses.replace(base, split_seed=0)  # a falsy seed is still a seed
    assert config_key(zero)["split_seed"] == 0
