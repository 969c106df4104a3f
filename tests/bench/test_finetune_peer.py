"""The full fine-tune peer (``bench.finetune_peer``): one label of the three per text, the same
labels for the same seed, and a share or epoch count that makes no run refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.finetune_peer import LABELS, fine_tune_labels
from model.backbone import backbone_dir
from model.backbone_copy import COPIED_FILES
from tests.tiny_models import tiny_config


@pytest.fixture(scope="module")
def tiny_backbone(tmp_path_factory) -> Path:
    """A tiny random BERT saved as a backbone folder, with the real backbone's tokenizer."""
    import torch
    from transformers import BertModel

    folder = tmp_path_factory.mktemp("tiny_backbone")
    torch.manual_seed(0)
    BertModel(tiny_config(["O"])).save_pretrained(folder)
    for name in COPIED_FILES:
        if name != "config.json":  # the tiny model's own
            shutil.copyfile(backbone_dir() / name, folder / name)
    return folder


TRAIN = [
    ("I love this, thank you so much!", "positive"),
    ("This is awful and I hate it.", "negative"),
    ("The meeting is at noon.", "neutral"),
] * 30
TEXTS = ["What a wonderful day", "Terrible service again", "It is Tuesday", "ok"]


def test_one_of_three_labels_per_text_and_the_same_for_the_same_seed(tiny_backbone) -> None:
    texts, labels = zip(*TRAIN, strict=True)
    first = fine_tune_labels(texts, labels, TEXTS, epochs=1, share=0.5, backbone=tiny_backbone)
    again = fine_tune_labels(texts, labels, TEXTS, epochs=1, share=0.5, backbone=tiny_backbone)
    assert len(first) == len(TEXTS) and set(first) <= set(LABELS)
    assert first == again


@pytest.mark.parametrize(("epochs", "share"), [(0, 0.5), (1, 0.0), (1, 1.5)])
def test_a_run_that_trains_nothing_is_refused(tiny_backbone, epochs: int, share: float) -> None:
    with pytest.raises(ValueError, match="share .* and epochs"):
        fine_tune_labels(
            ["a"], ["neutral"], ["b"], epochs=epochs, share=share, backbone=tiny_backbone
        )
