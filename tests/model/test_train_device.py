"""Where a training run trains (``TrainConfig.device``, ``--device``): ``auto`` is cuda when
torch sees a GPU, cuda is refused without one, the device is no part of a checkpoint's key,
and on a GPU a tiny two-head run trains there and writes an artefact the CPU reads."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from model.train_checkpoint import config_key
from model.train_config import TrainConfig, training_device, training_precision
from model.train_recipe import main as two_head_main
from tests.model.conftest import train_random_two_heads, train_tiny

CUDA = torch.cuda.is_available()


def test_auto_is_cuda_only_where_torch_sees_a_gpu() -> None:
    assert training_device("auto") == ("cuda" if CUDA else "cpu")
    assert training_device("cpu") == "cpu"
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        training_device("tpu")


@pytest.mark.skipif(CUDA, reason="the refusal is for a machine without a GPU")
def test_cuda_is_refused_in_one_line_without_a_gpu(tmp_path, capsys) -> None:
    with pytest.raises(ValueError, match="torch sees no CUDA GPU here"):
        training_device("cuda")
    for device, said in (("gpu", "invalid choice: 'gpu'"), ("cuda", "torch sees no CUDA GPU")):
        with pytest.raises(SystemExit) as exit_info:  # before any data is read
            two_head_main(["two-head", "--output", str(tmp_path / "x"), "--device", device])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and said in err, err
        assert "Traceback" not in err and not (tmp_path / "x").exists()


def test_the_device_is_not_part_of_the_checkpoint_key(tmp_path) -> None:
    """A run stopped on one device resumes on another (the weights are the same numbers)."""
    config = TrainConfig(output=tmp_path)
    assert config_key(config) == config_key(dataclasses.replace(config, device="cuda"))
    assert "device" not in config_key(config)


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU (run on the GPU machine)")
def test_a_tiny_run_trains_on_the_gpu_and_the_cpu_reads_its_artefact(tmp_path, monkeypatch) -> None:
    from model.artefact import load_model

    train_random_two_heads(monkeypatch)
    for precision in ("fp32", "auto"):
        out = tmp_path / precision
        metrics = train_tiny(out, epochs=2, device="cuda", precision=precision)
        assert metrics["config"]["device"] == "cuda"
        assert metrics["config"]["precision"] == training_precision(precision, "cuda")
        assert all(math.isfinite(h["loss"]) for h in metrics["history"])
        model = load_model(out)
        assert next(model.parameters()).device.type == "cpu"
