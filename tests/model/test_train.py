"""``python -m model train`` end to end on the real backbone, twice with the same seed: the
artefact, its metrics and its int8 calibration, and the same scores both times."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model.artefact import model_id_of
from model.cli import main
from model.quantize import CALIBRATION_FILE, int8_supported
from model.tagger import Tagger

pytestmark = pytest.mark.slow


def _train(out: Path) -> dict:
    args = [
        "train",
        "--demo-train",
        "48",
        "--demo-seed",
        "77",
        "--demo-dev",
        "16",
        "--output",
        str(out),
        "--name",
        "repro",
        "--epochs",
        "1",
        "--batch-size",
        "16",
        "--seed",
        "5",
        "--quiet",
    ]
    assert main(args) == 0
    return json.loads((out / "metrics.json").read_text(encoding="utf-8"))


def test_training_twice_with_one_seed_gives_the_same_tagger(tmp_path: Path) -> None:
    first, second = _train(tmp_path / "a"), _train(tmp_path / "b")
    assert first["history"] == second["history"]
    assert first["scores"] == second["scores"]
    assert model_id_of(tmp_path / "a") == model_id_of(tmp_path / "b") == first["model_id"]
    assert first["seed"] == 5 and first["data"]["demo_train"] == {"n": 48, "seed": 77}
    assert (tmp_path / "a" / CALIBRATION_FILE).is_file()
    if int8_supported():
        assert first["int8_scores"].keys() == first["scores"].keys()
    tagger = Tagger.load(tmp_path / "a", device="cpu", precision="fp32")
    assert tagger.model_id == first["model_id"]
    assert tagger.tag(["Jane Doe from Acme asked about Azure in Paris"])  # it runs
