"""The sentiment branch (``--sentiment-branch N``): the sentiment head's own copy of the last
N encoder layers, fed detached hidden states, so the sentiment loss never trains the layers the
entities use. Tiny random BERTs, and the real backbone for the LoRA artefact."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from model.artefact import SETTINGS_FILE
from model.datasets import Example, example_from_spans, split_words
from model.errors import DamagedModelError, ModelNotFoundError
from model.features import IGNORE, build_features, collate
from model.sentiment import SENTIMENT_LABELS, check_sentiment_settings, sentiment_config
from model.tagger import Tagger
from tests.model.conftest import LABELS, save_two_head, train_random_two_heads, train_tiny
from tests.tiny_models import random_two_head

IDS = torch.tensor([[101, 2000, 2001, 2002, 102, 0, 0], [101, 2003, 2004, 102, 0, 0, 0]])
MASK = (IDS != 0).long()


def test_a_branch_copied_from_the_encoder_starts_as_the_shared_model() -> None:
    shared = random_two_head(LABELS, seed=4)
    branched = random_two_head(LABELS, seed=4, branch_layers=1)
    assert len(branched.sentiment_branch) == 1 and not hasattr(shared, "sentiment_branch")
    with torch.no_grad():
        a = shared(input_ids=IDS, attention_mask=MASK)
        b = branched(input_ids=IDS, attention_mask=MASK)
    torch.testing.assert_close(a.logits, b.logits)
    torch.testing.assert_close(a.sentiment_logits, b.sentiment_logits)
    # padding does not change a row's sentiment through the branch either
    with torch.no_grad():
        alone = branched(input_ids=IDS[1:, :4], attention_mask=MASK[1:, :4])
    torch.testing.assert_close(alone.sentiment_logits, b.sentiment_logits[1:])


def test_the_branch_changes_only_the_sentiment() -> None:
    model = random_two_head(LABELS, seed=4, branch_layers=2)
    with torch.no_grad():
        before = model(input_ids=IDS, attention_mask=MASK)
        for param in model.sentiment_branch.parameters():
            param.add_(torch.randn_like(param) * 0.1)
        after = model(input_ids=IDS, attention_mask=MASK)
    torch.testing.assert_close(before.logits, after.logits)
    assert not torch.allclose(before.sentiment_logits, after.sentiment_logits)


def _grads(model, example, tokenizer) -> dict[str, float]:
    """Each parameter's gradient size after one joint-loss step on ``example``."""
    from model.train_setup import joint_loss

    model.train()
    model.zero_grad(set_to_none=True)
    features = build_features(
        [example],
        tokenizer,
        {lb: i for i, lb in enumerate(LABELS)},
        sentiment2id={lb: i for i, lb in enumerate(SENTIMENT_LABELS)},
    )
    arrays = collate(features)
    out = model(
        input_ids=torch.from_numpy(arrays["input_ids"]),
        attention_mask=torch.from_numpy(arrays["attention_mask"]),
    )
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=IGNORE)
    joint_loss(out, arrays, loss_fn, loss_fn, 1.0).backward()
    return {
        name: float(p.grad.abs().sum()) if p.grad is not None else 0.0
        for name, p in model.named_parameters()
    }


def test_the_sentiment_loss_never_reaches_the_shared_layers(tokenizer) -> None:
    model = random_two_head(LABELS, seed=4, branch_layers=1)
    mood = Example(
        "what a lovely day",
        (),
        split_words("what a lovely day"),
        sentiment="positive",
        annotated=False,
    )
    grads = _grads(model, mood, tokenizer)
    shared = {n: g for n, g in grads.items() if n.startswith(("bert.", "classifier."))}
    assert shared and not any(shared.values())
    assert grads["sentiment_head.weight"] > 0
    assert any(g > 0 for n, g in grads.items() if n.startswith("sentiment_branch."))
    grads = _grads(model, example_from_spans("Jane Doe at Acme", [(0, 8, "PER")]), tokenizer)
    assert any(g > 0 for n, g in grads.items() if n.startswith("bert.encoder.layer."))
    assert not any(g for n, g in grads.items() if n.startswith("sentiment_"))


def test_branch_entries_are_checked() -> None:
    plain = {"labels": list(SENTIMENT_LABELS), "pooling": "mean"}
    assert sentiment_config() == plain  # no branch: tagger.json as before, same model ids
    assert check_sentiment_settings(plain) == plain
    with_branch = {**plain, "branch_layers": 2}
    assert (
        check_sentiment_settings(with_branch)
        == with_branch
        == sentiment_config(SENTIMENT_LABELS, 2)
    )
    for bad in (True, -1, "1", 1.5):
        with pytest.raises(ValueError, match="branch_layers"):
            check_sentiment_settings({**plain, "branch_layers": bad})


def test_a_full_artefact_with_a_branch_round_trips(tmp_path) -> None:
    model = random_two_head(LABELS, seed=5, branch_layers=1)
    with torch.no_grad():
        for param in model.sentiment_branch.parameters():
            param.add_(0.05)
    folder = save_two_head(model, tmp_path / "two", name="branch")
    settings = json.loads((folder / SETTINGS_FILE).read_text(encoding="utf-8"))
    assert settings["sentiment"]["branch_layers"] == 1
    tagger = Tagger.load(folder, device="cpu", precision="fp32")
    text = "Jane Doe wrote from Paris, and it was lovely"
    _, [mood] = tagger.tag_with_sentiment([text])
    loaded = tagger.engine.model
    for (name, a), b in zip(
        model.sentiment_branch.named_parameters(), loaded.sentiment_branch.parameters(), strict=True
    ):
        torch.testing.assert_close(a, b, msg=name)
    assert mood is not None and mood.label in SENTIMENT_LABELS

    # tagger.json and the weights disagree on the branch: a damaged artefact, named
    wrong = tmp_path / "wrong"
    shutil.copytree(folder, wrong)
    settings["sentiment"]["branch_layers"] = 2
    (wrong / SETTINGS_FILE).write_text(json.dumps(settings), encoding="utf-8")
    with pytest.raises(DamagedModelError, match="branch of 2 layers.* config 1"):
        Tagger.load(wrong, device="cpu", precision="fp32")
    settings["sentiment"]["branch_layers"] = "one"
    (wrong / SETTINGS_FILE).write_text(json.dumps(settings), encoding="utf-8")
    with pytest.raises(ModelNotFoundError, match="branch_layers"):
        Tagger.load(wrong, device="cpu", precision="fp32")


def test_a_lora_artefact_stores_the_branch_adapters_and_loads_them(tmp_path) -> None:
    """On the real backbone: the branch starts from its last layer, LoRA on top."""
    from model.artefact_writer import save_artefact
    from model.quantize import Int8Linear, quantize_int8
    from model.train_config import TrainConfig
    from model.train_setup import build_model

    config = TrainConfig(output=tmp_path / "lora", name="branch", sentiment_branch=1)
    model = build_model(config, LABELS, SENTIMENT_LABELS)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert any("sentiment_branch.0.attention.self.query.lora_A" in n for n in trainable)
    assert not any("sentiment_branch" in n and "lora_" not in n for n in trainable)
    with torch.no_grad():  # trained-looking adapters: B is zero when fresh
        for name, param in model.named_parameters():
            if "sentiment_branch" in name and "lora_B" in name:
                param.normal_(0.0, 0.05)
    save_artefact(model, config, LABELS, config.output, sentiment_labels=SENTIMENT_LABELS)
    settings = json.loads((config.output / SETTINGS_FILE).read_text(encoding="utf-8"))
    assert settings["sentiment"]["branch_layers"] == 1
    tagger = Tagger.load(config.output, device="cpu", precision="fp32")
    merged = model.merge_and_unload().eval()
    loaded = tagger.engine.model
    torch.testing.assert_close(
        loaded.sentiment_branch[0].output.dense.weight,
        merged.sentiment_branch[0].output.dense.weight,
    )
    assert not torch.equal(
        loaded.sentiment_branch[0].output.dense.weight,
        loaded.bert.encoder.layer[-1].output.dense.weight,
    )
    with torch.inference_mode():
        ids = torch.tensor([[101, 1996, 2490, 2001, 2307, 102]])
        expected = merged(input_ids=ids).sentiment_logits
        torch.testing.assert_close(loaded(input_ids=ids).sentiment_logits, expected)
        quantized = quantize_int8(loaded, bf16_attention=False)
        assert isinstance(quantized.sentiment_branch[0].attention.self.query, Int8Linear)
        torch.testing.assert_close(
            torch.softmax(quantized(input_ids=ids).sentiment_logits, -1),
            torch.softmax(expected, -1),
            atol=0.05,
            rtol=0.0,
        )


def test_a_tiny_run_with_a_branch_writes_it_into_the_artefact(tmp_path, monkeypatch) -> None:
    train_random_two_heads(monkeypatch)
    metrics = train_tiny(tmp_path / "out", epochs=1, full=True, sentiment_branch=1)
    assert metrics["config"]["sentiment_branch"] == 1
    settings = json.loads((tmp_path / "out" / SETTINGS_FILE).read_text(encoding="utf-8"))
    assert settings["sentiment"]["branch_layers"] == 1
    tagger = Tagger.load(tmp_path / "out", device="cpu", precision="fp32")
    assert len(tagger.engine.model.sentiment_branch) == 1


def test_the_recipe_refuses_a_negative_branch(capsys) -> None:
    from model.train_recipe import main

    with pytest.raises(SystemExit):
        main(["two-head", "--output", "/nonexistent/x", "--sentiment-branch", "-1"])
    assert "--sentiment-branch" in capsys.readouterr().err
