"""``--stop-after-epoch N`` (``TrainConfig.stop_after_epoch``): a run ends after epoch N while
its learning-rate schedule stays the one drawn for ``--epochs``, so it gives exactly the first
N epochs of the full run (what a time budget once stopped can be rebuilt with), not a shorter
run's."""

from __future__ import annotations

import pytest

from model.train_checkpoint import config_key
from model.train_config import TrainConfig
from model.train_recipe import main
from tests.model.conftest import train_random_two_heads, train_tiny


def _train(monkeypatch, out, **config) -> dict:
    train_random_two_heads(monkeypatch)
    settings = {"epochs": 4, "lr": 1e-2, "head_lr": 1e-2, "full": True, "patience": 9}
    return train_tiny(
        out, dev_entities=3, pool_batch=8, sentiment_offsets=False, **(settings | config)
    )


def test_a_run_stopped_after_epoch_n_is_the_full_runs_first_n_epochs(tmp_path, monkeypatch):
    full = _train(monkeypatch, tmp_path / "full")
    stopped = _train(monkeypatch, tmp_path / "stopped", stop_after_epoch=2)
    assert len(full["history"]) == 4
    assert stopped["history"] == full["history"][:2]
    shorter = _train(monkeypatch, tmp_path / "shorter", epochs=2)  # its own, shorter schedule
    assert [h["loss"] for h in shorter["history"]] != [h["loss"] for h in stopped["history"]]
    last = _train(monkeypatch, tmp_path / "last", stop_after_epoch=4)  # nothing to stop
    assert last["history"] == full["history"] and last["model_id"] == full["model_id"]


def test_where_a_run_stops_is_not_part_of_what_it_resumes_from(tmp_path):
    one = TrainConfig(output=tmp_path / "a", epochs=5, stop_after_epoch=3)
    other = TrainConfig(output=tmp_path / "a", epochs=5)
    assert config_key(one) == config_key(other)


@pytest.mark.parametrize("after", ["0", "6"])
def test_an_epoch_outside_the_schedule_is_refused_in_one_line(after, capsys):
    with pytest.raises(SystemExit):
        main(["two-head", "--output", "x", "--epochs", "5", "--stop-after-epoch", after])
    assert "--stop-after-epoch must be between 1 and --epochs (5)" in capsys.readouterr().err
