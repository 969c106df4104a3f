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
from model.lora_fit import base_model, energy_ranks, fit_lora
from model.sentiment import SENTIMENT_LABELS
from model.train_config import TrainConfig
from model.train_recipe import main
from model.train_setup import full_model_from
from tests.model.conftest import LABELS, save_lora_artefact, save_two_head


def _whole_model(folder, encoder_rank=lambda name: 3):
    """A whole-model artefact in ``folder``: the backbone (word shapes on) with each encoder
    matrix moved by a change of rank ``encoder_rank(name)``, the word embeddings by a rank-2
    one, LayerNorms, biases and heads moved too."""
    settings = {"labels": LABELS, "sentiment": {"labels": list(SENTIMENT_LABELS)}, "casing": CASING}
    model = base_model(settings)
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.dim() == 2 and "encoder" in name:
                out, inp = param.shape
                rank = encoder_rank(name)
                change = torch.randn(out, rank, generator=gen) @ torch.randn(
                    rank, inp, generator=gen
                )
                param.add_(0.01 * change)
            elif name.endswith("word_embeddings.weight"):
                rows, dim = param.shape
                param.add_(
                    0.02 * torch.randn(rows, 2, generator=gen) @ torch.randn(2, dim, generator=gen)
                )
            else:  # biases, LayerNorms, position and word-shape embeddings, heads
                param.add_(0.05 * torch.randn(param.shape, generator=gen))
    folder = save_two_head(model, folder, name="fitme")
    saved = json.loads((folder / SETTINGS_FILE).read_text(encoding="utf-8"))
    (folder / SETTINGS_FILE).write_text(
        json.dumps(saved | {"casing": CASING, "backbone": backbone_version()}), encoding="utf-8"
    )
    read_settings(folder)  # a valid artefact
    return folder


@pytest.fixture(scope="module")
def full_dir(tmp_path_factory):
    """A whole model whose every encoder matrix moved by a rank-3 change."""
    return _whole_model(tmp_path_factory.mktemp("fit") / "full")


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


def _error(changes: dict, ranks: dict) -> float:
    """The squared Frobenius error of the best approximations of ``changes`` at ``ranks``."""
    return sum(
        float((torch.linalg.svdvals(c.double())[ranks[n] :] ** 2).sum()) for n, c in changes.items()
    )


def test_energy_ranks_keep_the_budget_and_lose_no_more_than_the_same_rank_everywhere() -> None:
    gen = torch.Generator().manual_seed(3)
    for trial in range(20):
        changes = {}
        for i, (rows, cols) in enumerate([(12, 12), (24, 12), (12, 24), (12, 12)]):
            rank = int(torch.randint(1, 12, (), generator=gen))
            scale = float(torch.rand((), generator=gen)) * 10 ** (i % 3)
            left, right = (
                torch.randn(rows, rank, generator=gen),
                torch.randn(rank, cols, generator=gen),
            )
            changes[f"m{i}"] = scale * left @ right
        budget = int(torch.randint(1, 8, (), generator=gen))
        ranks = energy_ranks(changes, budget)
        cost = {n: sum(c.shape) for n, c in changes.items()}
        assert sum(ranks[n] * cost[n] for n in changes) <= budget * sum(cost.values())
        assert all(1 <= ranks[n] <= min(c.shape) for n, c in changes.items())
        uniform = dict.fromkeys(changes, budget)
        assert _error(changes, ranks) <= _error(changes, uniform) * (1 + 1e-9), trial


def test_an_energy_fit_gives_the_ranks_to_the_matrices_whose_changes_need_them(tmp_path):
    """Layer 0's matrices moved at rank 5, the others at rank 1: rank 3 on every matrix
    loses layer 0's changes; the same weights split by energy keep every change."""
    uneven = _whole_model(tmp_path / "uneven", lambda name: 5 if ".layer.0." in name else 1)
    energy = fit_lora(uneven, tmp_path / "energy", rank=3, embedding_rank=2, allocation="energy")
    uniform = fit_lora(uneven, tmp_path / "uniform", rank=3, embedding_rank=2)
    assert energy["kept_min"] > 0.9999 and uniform["kept_min"] < 0.9
    assert energy["allocation"] == "energy" and energy["ranks"] == {"min": 1, "max": 5}
    adapter = json.loads((tmp_path / "energy" / "adapter_config.json").read_text("utf-8"))
    assert adapter["rank_pattern"]["bert.encoder.layer.0.intermediate.dense"] == 5
    tokens, mood = _logits(load_model(uneven))
    fitted, fitted_mood = _logits(load_model(tmp_path / "energy"))
    assert torch.allclose(tokens, fitted, atol=5e-3 * float(tokens.abs().max()))
    assert torch.allclose(mood, fitted_mood, atol=5e-3 * float(mood.abs().max()))
    lost, _ = _logits(load_model(tmp_path / "uniform"))
    assert (tokens - lost).abs().max() > (tokens - fitted).abs().max()
    # a full stage (--full --init-from) starts from it as it is, each matrix at its own rank
    config = TrainConfig(output=tmp_path / "next", full=True, casing=True)
    start = full_model_from(config, tmp_path / "energy", LABELS, SENTIMENT_LABELS, print)
    assert torch.allclose(_logits(start)[0], fitted, atol=1e-5)
    with pytest.raises(SystemExit):
        main(["fit-lora", str(uneven), "--output", str(tmp_path / "x"), "--rank-allocation", "x"])
    with pytest.raises(ValueError, match="unknown rank allocation"):
        fit_lora(uneven, tmp_path / "x", rank=3, allocation="x")
    assert not (tmp_path / "x").exists()


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


def test_a_full_stage_refuses_a_folder_that_is_no_tagger_without_reading_it_whole(tmp_path):
    config = TrainConfig(output=tmp_path / "next", full=True, casing=True)
    with pytest.raises(ValueError, match="not a tagger artefact of this recipe"):
        full_model_from(config, tmp_path / "missing", LABELS, SENTIMENT_LABELS, print)
    huge = tmp_path / "huge"
    huge.mkdir()
    (huge / SETTINGS_FILE).write_bytes(b'{"x": "' + b"a" * (64 * 2**20) + b'"}')
    with pytest.raises(ValueError, match="not a tagger artefact of this recipe"):
        full_model_from(config, huge, LABELS, SENTIMENT_LABELS, print)


def test_a_lora_stage_refuses_a_bad_adapter_config_in_one_line_without_reading_it_whole(tmp_path):
    from model.train_setup import build_model, start_from

    good = save_lora_artefact(tmp_path / "good")
    config = TrainConfig(output=tmp_path / "next")
    model = build_model(config, LABELS, SENTIMENT_LABELS)
    refused = "not a LoRA tagger artefact of this recipe"
    for name, damage in [
        ("missing", lambda p: p.unlink()),
        ("huge", lambda p: p.write_bytes(b'{"r": 16, "x": "' + b"a" * (2 * 2**20) + b'"}')),
        ("no-rank", lambda p: p.write_text('{"lora_alpha": 32}', encoding="utf-8")),
        ("a-list", lambda p: p.write_text("[16, 32]", encoding="utf-8")),
    ]:
        folder = tmp_path / name
        shutil.copytree(good, folder)
        damage(folder / "adapter_config.json")
        with pytest.raises(ValueError, match=refused):
            start_from(model, config, folder, LABELS, SENTIMENT_LABELS, print)
    with pytest.raises(ValueError, match=refused):
        start_from(model, config, tmp_path / "nowhere", LABELS, SENTIMENT_LABELS, print)
    start_from(model, config, good, LABELS, SENTIMENT_LABELS, print)  # the real one loads
