"""model.lora_fit: a whole model fitted back into LoRA adapters (python -m model.train
fit-lora), on the real backbone. A model whose changes from the backbone are of low rank is
reproduced exactly (up to float16 storage) by adapters of that rank; lower ranks lose."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from model.artefact import SETTINGS_FILE, load_model, read_settings
from model.backbone import backbone_version
from model.casing import CASING
from model.lora_fit import base_model, fit_lora
from model.sentiment import SENTIMENT_LABELS
from model.train_recipe import main
from tests.model.conftest import LABELS, save_two_head


@pytest.fixture(scope="module")
def full_dir(tmp_path_factory):
    """A whole-model artefact: the backbone (word shapes on) with every encoder matrix moved
    by a rank-3 change, the word embeddings by a rank-2 one, LayerNorms, biases and heads
    moved too."""
    settings = {"labels": LABELS, "sentiment": {"labels": list(SENTIMENT_LABELS)}, "casing": CASING}
    model = base_model(settings)
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.dim() == 2 and "encoder" in name:
                out, inp = param.shape
                change = torch.randn(out, 3, generator=gen) @ torch.randn(3, inp, generator=gen)
                param.add_(0.01 * change)
            elif name.endswith("word_embeddings.weight"):
                rows, dim = param.shape
                param.add_(
                    0.02 * torch.randn(rows, 2, generator=gen) @ torch.randn(2, dim, generator=gen)
                )
            else:  # biases, LayerNorms, position and word-shape embeddings, heads
                param.add_(0.05 * torch.randn(param.shape, generator=gen))
    folder = save_two_head(model, tmp_path_factory.mktemp("fit") / "full", name="fitme")
    saved = json.loads((folder / SETTINGS_FILE).read_text(encoding="utf-8"))
    (folder / SETTINGS_FILE).write_text(
        json.dumps(saved | {"casing": CASING, "backbone": backbone_version()}), encoding="utf-8"
    )
    read_settings(folder)  # a valid artefact
    return folder


def _logits(model, words=("Jane", "Doe", "moved", "to", "OpenAI", "in", "Paris")):
    ids = torch.tensor([[101, *range(2000, 2000 + len(words)), 102]])
    types = torch.tensor([[0, 1, 1, 0, 0, 3, 0, 1, 0]])
    with torch.no_grad():
        out = model.eval()(input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=types)
    return out.logits, out.sentiment_logits


def test_adapters_of_the_changes_rank_give_the_whole_models_outputs(full_dir, tmp_path):
    report = fit_lora(full_dir, tmp_path / "lora", rank=3, embedding_rank=2)
    assert report["kept_min"] > 0.9999 and report["adapted"] == 6 * 6 + 1
    settings = json.loads((tmp_path / "lora" / SETTINGS_FILE).read_text(encoding="utf-8"))
    assert settings["format"] == "lora" and settings["casing"] == CASING
    tokens, mood = _logits(load_model(full_dir))
    fitted_tokens, fitted_mood = _logits(load_model(tmp_path / "lora"))
    scale = float(tokens.abs().max())
    assert torch.allclose(tokens, fitted_tokens, atol=5e-3 * scale), (
        (tokens - fitted_tokens).abs().max()
    )
    assert torch.allclose(mood, fitted_mood, atol=5e-3 * float(mood.abs().max()))
    size = sum(p.stat().st_size for p in (tmp_path / "lora").iterdir())
    assert size < 4 * 2**20  # float16 adapters of rank 3: far below the 90 MB whole model


def test_lower_ranks_lose_and_say_how_much(full_dir, tmp_path):
    report = fit_lora(full_dir, tmp_path / "low", rank=1, embedding_rank=0)
    assert report["kept_mean"] < 0.9
    tokens, _ = _logits(load_model(full_dir))
    fitted, _ = _logits(load_model(tmp_path / "low"))
    assert not torch.allclose(tokens, fitted, atol=5e-3 * float(tokens.abs().max()))


def test_the_command_line_writes_the_artefact_or_refuses_in_one_line(full_dir, tmp_path, capsys):
    assert main(["fit-lora", str(full_dir), "--output", str(tmp_path / "cli"), "--rank", "3"]) == 0
    assert "rescore" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cli"]  # no staging folder left
    assert main(["fit-lora", str(tmp_path / "cli"), "--output", str(tmp_path / "again")]) == 2
    assert "not a whole model" in capsys.readouterr().err
    assert not (tmp_path / "again").exists()
    other = tmp_path / "other"
    shutil.copytree(full_dir, other)
    settings = json.loads((other / SETTINGS_FILE).read_text(encoding="utf-8"))
    (other / SETTINGS_FILE).write_text(json.dumps(settings | {"backbone": "x==1"}), "utf-8")
    assert main(["fit-lora", str(other), "--output", str(tmp_path / "again")]) == 2
    assert "trained on backbone 'x==1'" in capsys.readouterr().err


def test_a_failed_fit_keeps_the_artefact_it_would_replace_and_leaves_nothing(
    full_dir, tmp_path, capsys
):
    out = tmp_path / "lora"
    assert fit_lora(full_dir, out, rank=1, embedding_rank=0)["rank"] == 1
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    broken = tmp_path / "broken"
    shutil.copytree(full_dir, broken)
    (broken / "metrics.json").write_text("[]", encoding="utf-8")  # no JSON object
    assert main(["fit-lora", str(broken), "--output", str(out), "--rank", "3"]) == 2
    assert "holds no JSON object" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken", "lora"]
    replaced = fit_lora(full_dir, out, rank=3, embedding_rank=0)
    assert replaced["rank"] == 3 and sorted(p.name for p in tmp_path.iterdir()) == [
        "broken",
        "lora",
    ]


def test_a_full_run_with_frozen_word_embeddings_keeps_the_backbones(tmp_path, monkeypatch):
    """``--freeze-word-embeddings``: every other weight trains, the word embeddings stay."""
    from tests.model.conftest import train_random_two_heads, train_tiny
    from tests.tiny_models import random_two_head

    train_random_two_heads(monkeypatch)
    metrics = train_tiny(tmp_path / "out", epochs=2, full=True, freeze_word_embeddings=True)
    trained = load_model(tmp_path / "out")
    start = random_two_head(LABELS, SENTIMENT_LABELS, seed=1)
    assert torch.equal(trained.get_input_embeddings().weight, start.get_input_embeddings().weight)
    moved = [
        name
        for name, param in start.named_parameters()
        if not torch.equal(param, dict(trained.named_parameters())[name])
    ]
    assert len(moved) == len(list(start.parameters())) - 1
    words = start.get_input_embeddings().weight.numel()
    assert metrics["trainable_parameters"] == sum(p.numel() for p in start.parameters()) - words


def test_frozen_word_embeddings_need_a_full_run(capsys):
    with pytest.raises(SystemExit):
        main(["two-head", "--output", "x", "--freeze-word-embeddings"])
    assert "--freeze-word-embeddings needs --full" in capsys.readouterr().err
