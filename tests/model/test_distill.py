"""Distillation (model/distill.py): the soft loss against an independent cross-entropy, the
teachers' targets against each teacher run on its own, refusals, and a distilled run that
records its teachers and resumes as if never stopped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from model.artefact import load_model, model_id_of
from model.distill import attach_teacher_targets, soft_token_loss
from model.features import IGNORE, build_features, collate
from model.labels import iob2_labels
from model.train_setup import joint_loss
from tests.model.conftest import (
    LABELS,
    save_two_head,
    stop_after_epoch,
    tiny_entity_examples,
    train_random_two_heads,
    train_tiny,
)
from tests.tiny_models import random_two_head


@pytest.fixture(scope="module")
def teacher_dirs(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("teachers")
    return [
        save_two_head(random_two_head(LABELS, seed=seed), root / f"t{seed}", name=f"t{seed}")
        for seed in (5, 6)
    ]


@pytest.fixture(scope="module")
def features(tokenizer) -> list:
    label2id = {label: i for i, label in enumerate(LABELS)}
    return build_features(tiny_entity_examples()[:2], tokenizer, label2id, max_length=32)


# -- the loss --------------------------------------------------------------------------------


def test_soft_loss_on_one_hot_targets_is_the_weighted_cross_entropy() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 4)
    labels = torch.tensor([[IGNORE, 0, 1, 3, IGNORE], [IGNORE, 2, 2, 0, 1]])
    weight = torch.tensor([0.5, 1.0, 1.7, 0.9])
    one_hot = torch.nn.functional.one_hot(labels.clamp(min=0), 4).float()
    one_hot[labels == IGNORE] = 0.0
    expected = torch.nn.CrossEntropyLoss(weight=weight, ignore_index=IGNORE)(
        logits.reshape(-1, 4), labels.reshape(-1)
    )
    got = soft_token_loss(logits, one_hot, labels, weight)
    assert got is not None
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)


def test_soft_loss_is_the_mean_cross_entropy_over_tokens_with_a_target() -> None:
    logits = torch.tensor([[[0.0, 0.0], [2.0, 0.0], [1.0, 1.0]]])
    labels = torch.tensor([[IGNORE, 1, 0]])
    soft = torch.tensor([[[0.5, 0.5], [0.25, 0.75], [0.0, 0.0]]])  # the last: no target
    p = torch.softmax(torch.tensor([2.0, 0.0]), dim=0)
    expected = -(0.25 * torch.log(p[0]) + 0.75 * torch.log(p[1]))
    got = soft_token_loss(logits, soft, labels, None)
    assert got is not None and got.item() == pytest.approx(expected.item(), rel=1e-6)
    assert soft_token_loss(logits, torch.zeros_like(soft), labels, None) is None


def test_joint_loss_mixes_hard_and_soft_by_the_weight() -> None:
    torch.manual_seed(1)
    logits = torch.randn(1, 4, 3)
    labels = np.array([[IGNORE, 0, 2, 1]])
    soft = np.zeros((1, 4, 3), np.float32)
    soft[0, 1:] = [[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.6, 0.1]]
    out = type("Out", (), {"logits": logits})()
    arrays = {"labels": labels, "soft": soft}
    hard_loss = torch.nn.CrossEntropyLoss(ignore_index=IGNORE)
    hard = joint_loss(out, {"labels": labels}, hard_loss, None, 1.0).item()
    soft_only = soft_token_loss(logits, torch.from_numpy(soft), torch.from_numpy(labels), None)
    assert soft_only is not None
    mixed = joint_loss(out, arrays, hard_loss, None, 1.0, soft_weight=0.3).item()
    assert mixed == pytest.approx(0.7 * hard + 0.3 * soft_only.item(), rel=1e-6)
    assert joint_loss(out, arrays, hard_loss, None, 1.0).item() == pytest.approx(hard)


def test_collate_pads_soft_targets_and_leaves_features_without_them_at_zero(features) -> None:
    from dataclasses import replace

    soft = np.full((len(features[0].input_ids), len(LABELS)), 0.25, np.float32)
    batch = collate([replace(features[0], soft=soft), features[1]])
    assert batch["soft"].shape == (*batch["input_ids"].shape, len(LABELS))
    assert np.allclose(batch["soft"][0, : len(soft)], 0.25)
    assert not batch["soft"][0, len(soft) :].any() and not batch["soft"][1].any()
    assert "soft" not in collate(features)


# -- the teachers' targets -------------------------------------------------------------------


def test_targets_are_the_mean_of_each_teacher_run_alone(features, teacher_dirs) -> None:
    got, ids = attach_teacher_targets(features, teacher_dirs, LABELS, casing=False, pad_id=0)
    assert ids == [model_id_of(d) for d in teacher_dirs]
    for feature, distilled in zip(features, got, strict=True):
        alone = []
        for folder in teacher_dirs:
            model = load_model(folder).eval()
            with torch.no_grad():
                logits = model(input_ids=torch.from_numpy(feature.input_ids)[None]).logits
            alone.append(torch.softmax(logits[0], dim=-1).numpy())
        expected = np.mean(alone, axis=0)
        labelled = feature.labels != IGNORE
        assert np.allclose(distilled.soft[labelled], expected[labelled], atol=1e-5)
        assert not distilled.soft[~labelled].any()
        assert np.allclose(distilled.soft[labelled].sum(-1), 1.0, atol=1e-5)


def test_a_feature_without_entity_labels_gets_no_target(features, teacher_dirs) -> None:
    from dataclasses import replace

    unlabelled = replace(features[0], labels=np.full_like(features[0].labels, IGNORE))
    got, _ = attach_teacher_targets([unlabelled], teacher_dirs[:1], LABELS, False, 0)
    assert got[0].soft is None


def test_a_teacher_with_other_labels_or_casing_is_refused(features, teacher_dirs) -> None:
    with pytest.raises(ValueError, match=r"t5 tags O B-LOC.*this run tags O B-PER I-PER"):
        attach_teacher_targets(features, teacher_dirs[:1], iob2_labels(["PER"]), False, 0)
    with pytest.raises(ValueError, match="t5 lacks casing where this run uses it"):
        attach_teacher_targets(features, teacher_dirs[:1], LABELS, True, 0)


# -- a distilled run -------------------------------------------------------------------------


def test_a_distilled_run_records_its_teachers_and_resumes_as_if_never_stopped(
    tmp_path, monkeypatch, teacher_dirs
) -> None:
    train_random_two_heads(monkeypatch)
    settings = {"epochs": 3, "full": True, "patience": 5}
    settings["teachers"] = tuple(str(d) for d in teacher_dirs)
    clean = train_tiny(tmp_path / "clean", **settings)
    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        stop_after_epoch(patched, 2)
        train_tiny(tmp_path / "resumed", **settings)
    resumed = train_tiny(tmp_path / "resumed", **settings)
    assert resumed["history"] == clean["history"]
    assert resumed["model_id"] == clean["model_id"]
    assert clean["teachers"] == {str(d): model_id_of(d) for d in teacher_dirs}
    plain = train_tiny(tmp_path / "plain", epochs=3, full=True, patience=5)
    assert "teachers" not in plain
    assert [h["loss"] for h in plain["history"]] != [h["loss"] for h in clean["history"]]
