"""The pieces of a training step: the model (LoRA adapters, or a later stage from an
artefact's weights), the optimizer, the length-bucketed batches, the epoch pools' samples and
the joint loss of the two heads with its class weights."""

from __future__ import annotations

import random
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from model.artefact import model_id_of
from model.backbone import load_token_classifier
from model.casing import enable_casing
from model.features import IGNORE, Feature
from model.train_config import LORA_TARGETS, EpochPool, TrainConfig


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def class_weights(
    features: Sequence[Feature], labels: list[str], power: float, o_weight: float
) -> torch.Tensor:
    """Loss weight per label: ``(mean entity-label count / count) ** power``; ``O`` fixed."""
    counts = Counter()
    for f in features:
        counts.update(int(x) for x in f.labels if x != IGNORE)
    entity_ids = [i for i, lb in enumerate(labels) if lb != "O"]
    present = [counts[i] for i in entity_ids if counts[i] > 0]
    mean = sum(present) / len(present) if present else 1.0
    weights = []
    for i, label in enumerate(labels):
        if label == "O":
            weights.append(o_weight)
        else:
            weights.append(min(10.0, (mean / max(counts[i], 1)) ** power))
    return torch.tensor(weights, dtype=torch.float32)


def length_batches(
    features: Sequence[Feature], batch_size: int, rng: random.Random
) -> list[list[int]]:
    """Shuffled batches of similar-length features (sorted within pools of 50 batches)."""
    order = list(range(len(features)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: len(features[i].input_ids))
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def build_model(
    config: TrainConfig, labels: list[str], sentiment_labels: Sequence[str] | None = None
) -> torch.nn.Module:
    if sentiment_labels:
        from model.sentiment import load_two_head

        model = load_two_head(labels, list(sentiment_labels))
    else:
        model = load_token_classifier(labels)
    if config.casing:
        enable_casing(model)
    if config.full:
        return model
    from peft import LoraConfig, TaskType, get_peft_model

    lora = LoraConfig(
        task_type=TaskType.TOKEN_CLS,
        r=config.rank,
        lora_alpha=config.alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(LORA_TARGETS),
        modules_to_save=[
            "classifier",
            *(["sentiment_head"] if sentiment_labels else []),
            *(["token_type_embeddings"] if config.casing else []),  # the word shapes
        ],
        bias="none",
    )
    with warnings.catch_warnings():  # peft calls a deprecated transformers property
        warnings.filterwarnings(
            "ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning
        )
        return get_peft_model(model, lora)


def _check_labels(
    artefact: Path,
    settings: dict,
    labels: list[str],
    sentiment_labels: Sequence[str],
    casing: bool,
) -> None:
    """Refuse an ``--init-from`` artefact whose entity or sentiment labels differ from the
    run's (``settings``: its ``tagger.json``), or that does (not) take word shapes where the
    run does (not)."""
    theirs = (settings.get("labels"), (settings.get("sentiment") or {}).get("labels") or [])
    if theirs != (labels, list(sentiment_labels)):
        raise ValueError(
            f"--init-from {artefact}: its labels {theirs} differ from this "
            f"run's {(labels, list(sentiment_labels))}"
        )
    if bool(settings.get("casing")) != casing:
        raise ValueError(
            f"--init-from {artefact}: it was trained {'with' if not casing else 'without'} "
            f"casing; this run {'uses' if casing else 'does not use'} it (--casing)"
        )


def start_from(
    model: torch.nn.Module,
    config: TrainConfig,
    artefact: Path,
    labels: list[str],
    sentiment_labels: Sequence[str],
    log: Callable[[str], None],
) -> None:
    """Load a LoRA artefact's trained weights (adapters and heads) into ``model`` before
    training: a second stage continues from a first run's result.

    Raises:
        ValueError: the artefact is not a LoRA artefact of the same labels and heads.
    """
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    from data.tag_requests import MAX_MODEL_JSON_BYTES
    from model.artefact import read_bounded_json, read_settings
    from model.errors import ModelNotFoundError

    refused = f"--init-from {artefact}: not a LoRA tagger artefact of this recipe"
    try:  # bounded as every JSON file of an artefact, with the tagger's own checks
        settings = read_settings(artefact)
        adapter = read_bounded_json(
            artefact / "adapter_config.json", MAX_MODEL_JSON_BYTES, "an adapter_config.json"
        )
    except (ModelNotFoundError, FileNotFoundError):
        raise ValueError(refused) from None
    if not isinstance(adapter, dict) or not {"r", "lora_alpha"} <= adapter.keys():
        raise ValueError(refused)
    _check_labels(artefact, settings, labels, sentiment_labels, config.casing)
    weights = load_file(str(artefact / "adapter_model.safetensors"))
    weights = widen_lora(
        weights,
        {k: v for k, v in model.state_dict().items() if "lora_" in k},
        source_scale=adapter["lora_alpha"] / adapter["r"],
        scale=config.alpha / config.rank,
    )
    result = set_peft_model_state_dict(model, weights)
    unexpected = list(getattr(result, "unexpected_keys", []) or [])
    if unexpected:
        raise ValueError(
            f"--init-from {artefact}: weights this model does not have ({unexpected[0]}, ...)"
        )
    log(f"starting from the weights of {artefact} ({model_id_of(artefact)})")


def full_model_from(
    config: TrainConfig,
    artefact: Path,
    labels: list[str],
    sentiment_labels: Sequence[str],
    log: Callable[[str], None],
) -> torch.nn.Module:
    """A plain model (every weight trainable) that is exactly an artefact's tagger: a LoRA
    artefact's adapters (at their own ranks) and heads, merged into the weights, or a
    whole-model artefact's weights. A full fine-tuning stage (``--full --init-from``)
    continues from it.

    Raises:
        ValueError: the artefact is not a tagger artefact of the same labels and heads.
    """
    from model.artefact import load_model, read_settings
    from model.errors import ModelNotFoundError

    try:  # bounded, and the same checks the tagger's load makes
        settings = read_settings(artefact)
    except ModelNotFoundError:
        raise ValueError(f"--init-from {artefact}: not a tagger artefact of this recipe") from None
    lora = settings.get("format") != "full"
    if lora and not (artefact / "adapter_config.json").is_file():
        raise ValueError(f"--init-from {artefact}: not a LoRA tagger artefact of this recipe")
    _check_labels(artefact, settings, labels, sentiment_labels, config.casing)
    # loaded as the tagger loads it: adapters (of any rank per matrix) merged into the weights
    model = load_model(artefact).float()
    log(f"starting from the weights of {artefact} ({model_id_of(artefact)})")
    if lora:
        log(f"adapters merged: every weight of {artefact} is trained from here")
    for param in model.parameters():
        param.requires_grad_(True)
    return model


def freeze_word_embeddings(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` with its word embeddings left out of training (``--freeze-word-embeddings``)."""
    model.get_input_embeddings().weight.requires_grad_(False)
    return model


def widen_lora(
    weights: dict[str, torch.Tensor],
    current: dict[str, torch.Tensor],
    *,
    source_scale: float,
    scale: float,
) -> dict[str, torch.Tensor]:
    """An artefact's LoRA weights fitted to a model of the same or a higher rank, so that
    the model starts as exactly the artefact's (a later stage with more adapter capacity).

    A LoRA layer adds ``scale · B A`` to its weight. Rows of ``A`` beyond the artefact's
    rank keep the model's fresh initialisation, the matching columns of ``B`` are zero (so
    they add nothing yet), and the artefact's ``B`` is multiplied by ``source_scale /
    scale``. ``current`` holds the model's own LoRA tensors by the artefact's key names
    (peft's ``.default`` adapter name left out); keys not in it pass unchanged.

    Raises:
        ValueError: the model's rank is lower than the artefact's.

    Example:
        >>> a, b = torch.ones(2, 3), torch.ones(4, 2)
        >>> w = widen_lora({"x.lora_A.weight": a, "x.lora_B.weight": b},
        ...                {"x.lora_A.default.weight": torch.zeros(3, 3),
        ...                 "x.lora_B.default.weight": torch.zeros(4, 3)},
        ...                source_scale=2.0, scale=1.0)
        >>> torch.equal(1.0 * w["x.lora_B.weight"] @ w["x.lora_A.weight"], 2.0 * b @ a)
        True
    """
    out = dict(weights)
    for key, tensor in weights.items():
        mine = current.get(key.replace(".weight", ".default.weight"))
        if mine is None or mine.shape == tensor.shape and source_scale == scale:
            continue
        if ".lora_A." in key:
            if mine.shape[0] < tensor.shape[0]:
                raise ValueError(
                    f"rank {mine.shape[0]} is lower than the artefact's {tensor.shape[0]}"
                )
            out[key] = torch.cat([tensor, mine[tensor.shape[0] :]], dim=0)
        elif ".lora_B." in key:
            widened = torch.zeros_like(mine)
            widened[:, : tensor.shape[1]] = tensor * (source_scale / scale)
            out[key] = widened
    return out


def make_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    head, body = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (head if "classifier" in name or "sentiment_head" in name else body).append(param)
    groups = [{"params": body, "lr": config.lr}, {"params": head, "lr": config.head_lr}]
    return torch.optim.AdamW(groups, weight_decay=config.weight_decay)


def merged_copy(model: torch.nn.Module, config: TrainConfig) -> torch.nn.Module:
    """A plain model with the current adapters merged in (the trained one is untouched)."""
    if config.full:
        return model
    import copy

    return copy.deepcopy(model).merge_and_unload()


def sample_pools(
    pools: Sequence[EpochPool], pool_features: list[list[list[Feature]]], seed: int, epoch: int
) -> list[Feature]:
    """The pools' features for one epoch: a seeded sample of examples per pool."""
    out: list[Feature] = []
    for k, (pool, feats) in enumerate(zip(pools, pool_features, strict=True)):
        rng = random.Random(seed * 1_000_003 + epoch * 101 + k)
        n = min(pool.per_epoch, len(feats))
        for i in sorted(rng.sample(range(len(feats)), n)):
            out += feats[i]
    return out


def joint_loss(
    out,
    arrays: dict[str, np.ndarray],
    token_loss: torch.nn.Module,
    sentiment_loss: torch.nn.Module | None,
    weight: float,
) -> torch.Tensor:
    """Token loss over labelled tokens plus ``weight`` × sentiment loss over labelled rows;
    a head with no label in the batch adds nothing (no NaN from an all-ignored mean)."""
    logits = out.logits.float()  # bf16 under autocast: the loss is taken in fp32
    labels = torch.from_numpy(arrays["labels"]).to(logits.device)
    total = logits.new_zeros(())
    if bool((labels != IGNORE).any()):
        total = total + token_loss(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))
    if sentiment_loss is not None:
        target = torch.from_numpy(arrays["sentiment"]).to(logits.device)
        if bool((target != IGNORE).any()):
            total = total + weight * sentiment_loss(out.sentiment_logits.float(), target)
    return total


def sentiment_weights(features: Sequence[Feature], n: int, power: float) -> torch.Tensor | None:
    """Sentiment loss weight per class, ``(mean count / count) ** power`` (``None`` at 0:
    unweighted); a higher power favours the rarer classes, and so the macro-F1."""
    if not power:
        return None
    counts = Counter(f.sentiment for f in features if f.sentiment != IGNORE)
    present = [counts[i] for i in range(n) if counts[i]]
    mean = sum(present) / len(present) if present else 1.0
    return torch.tensor(
        [(mean / max(counts[i], 1)) ** power for i in range(n)], dtype=torch.float32
    )
