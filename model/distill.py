"""Distillation: soft entity targets from trained taggers, and the loss that learns from them.

A vote of four taggers trained on the same splits beat every one of them on ``val_real``
(model/README.md), but four models per text cost four times the inference. Distillation
trains one model towards the teachers' mean label distribution instead: before the first
epoch every training window that has entity labels goes through each teacher once (the
fp32 PyTorch model, merged LoRA), and the mean of their softmax over the labels is kept as
that window's ``soft`` target (:func:`attach_teacher_targets`). The token loss is then
``(1 - w) × hard cross-entropy + w × soft cross-entropy`` (:func:`soft_token_loss`), both
weighted per token by the class weight of its gold label, so the balance between ``O`` and
the entity labels is the hard loss's.

The teachers must tag with the run's labels and casing; their model ids are recorded in
``metrics.json``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from model.features import IGNORE, Feature, collate


def attach_teacher_targets(
    features: Sequence[Feature],
    teachers: Sequence[str | Path],
    labels: Sequence[str],
    casing: bool,
    pad_id: int,
    device: str = "cpu",
    batch_size: int = 64,
    log: Callable[[str], None] = lambda _: None,
) -> tuple[list[Feature], list[str]]:
    """``features`` with ``soft`` set to the teachers' mean label probabilities (tokens ×
    labels, zero on tokens without a label) wherever a feature has entity labels, and the
    teachers' model ids.

    Raises:
        ValueError: a teacher tags other labels or uses other casing than the run.
    """
    from model.artefact import load_model, model_id_of, read_settings

    wanted = [i for i, f in enumerate(features) if bool((f.labels != IGNORE).any())]
    sums = {i: np.zeros((len(features[i].input_ids), len(labels)), np.float32) for i in wanted}
    order = sorted(wanted, key=lambda i: len(features[i].input_ids))
    ids = []
    for folder in teachers:
        settings = read_settings(folder)
        if list(settings["labels"]) != list(labels):
            raise ValueError(
                f"teacher {folder} tags {' '.join(settings['labels'])}; "
                f"this run tags {' '.join(labels)}"
            )
        if bool(settings.get("casing")) != casing:
            raise ValueError(
                f"teacher {folder} {'uses' if settings.get('casing') else 'lacks'} casing "
                f"where this run {'uses' if casing else 'does not use'} it"
            )
        model = load_model(folder).to(device).eval()
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            probs = _probabilities(model, [features[i] for i in batch], pad_id, device)
            for row, i in enumerate(batch):
                sums[i] += probs[row, : len(features[i].input_ids)]
        ids.append(model_id_of(folder))
        log(f"teacher {folder} ({ids[-1]}): {len(wanted)} windows")
        del model
    out = list(features)
    for i in wanted:
        soft = sums[i] / len(teachers)
        soft[features[i].labels == IGNORE] = 0.0
        out[i] = replace(features[i], soft=soft)
    return out, ids


@torch.no_grad()
def _probabilities(
    model: torch.nn.Module, batch: Sequence[Feature], pad_id: int, device: str
) -> np.ndarray:
    arrays = collate(batch, pad_id)
    inputs = {
        key: torch.from_numpy(arrays[key]).to(device)
        for key in ("input_ids", "attention_mask", "token_type_ids")
        if key in arrays
    }
    return torch.softmax(model(**inputs).logits.float(), dim=-1).cpu().numpy()


def soft_token_loss(
    logits: torch.Tensor,
    soft: torch.Tensor,
    labels: torch.Tensor,
    class_weight: torch.Tensor | None,
) -> torch.Tensor | None:
    """Cross-entropy of ``logits`` (batch × tokens × labels) against the ``soft`` targets,
    averaged over the tokens that have both a gold label and a target, each weighted by its
    gold label's class weight (as ``CrossEntropyLoss(weight=...)`` weighs the hard loss);
    ``None`` when no token has a target."""
    mask = (labels != IGNORE) & (soft.sum(-1) > 0)
    if not bool(mask.any()):
        return None
    per_token = -(soft * torch.log_softmax(logits, dim=-1)).sum(-1)
    weight = mask.to(logits.dtype)
    if class_weight is not None:
        weight = weight * class_weight.to(logits.device)[labels.clamp(min=0)]
    return (per_token * weight).sum() / weight.sum()
