"""Fine-tuning the tagger: LoRA on every linear layer of the encoder, a fully trained head.

The recipe (``TrainConfig`` defaults) was tuned on this backbone: LoRA at lr 5e-4 on the
attention projections alone learned nothing in two epochs, so the adapters sit on
``query``/``key``/``value``/``dense`` (attention output and both feed-forward layers) with
rank 16, the classification head is trained in full (``modules_to_save``) at its own higher
learning rate, and the loss weighs entity labels by inverse square-root frequency (rare types
such as ``corporation`` are otherwise never predicted) with ``O`` down-weighted. Batches are
length-bucketed (little padding), the schedule is linear warm-up then decay, and training
stops early when the dev F1 has not improved for ``patience`` epochs; the best epoch is kept.
Seeds are fixed: the same command reproduces the same scores.

Example:
    >>> result = train(TrainConfig(output=Path("var/t")), train_set, dev_set)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import random
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from model.backbone import BACKBONE_NAME, backbone_version, load_token_classifier, load_tokenizer
from model.datasets import Example
from model.evaluate import evaluate_examples
from model.features import IGNORE, Feature, build_features, collate
from model.labels import iob2_labels
from model.quantize import CALIBRATION_FILE
from model.tagger import SETTINGS_FILE, Tagger, calibrate_artefact, model_id_of

LORA_TARGETS = ("query", "key", "value", "dense")


@dataclass
class TrainConfig:
    """Hyper-parameters and output of one training run."""

    output: Path
    name: str = "tagger"
    epochs: int = 8
    batch_size: int = 32
    lr: float = 2e-3
    head_lr: float = 5e-3
    weight_decay: float = 0.01
    warmup: float = 0.06
    rank: int = 16
    alpha: int = 32
    lora_dropout: float = 0.05
    full: bool = False
    class_weight_power: float = 0.5
    o_weight: float = 0.5
    max_length: int = 128
    seed: int = 13
    patience: int = 2
    infer_max_length: int = 256
    stride: int = 64
    extra: dict = field(default_factory=dict)


@dataclass
class EvalSet:
    """A named evaluation set (used for early stopping when ``for_selection``)."""

    name: str
    examples: Sequence[Example]
    for_selection: bool = True


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def class_weights(features: Sequence[Feature], labels: list[str], power: float,
                  o_weight: float) -> torch.Tensor:
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


def length_batches(features: Sequence[Feature], batch_size: int,
                   rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar-length features (sorted within pools of 50 batches)."""
    order = list(range(len(features)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start:start + pool], key=lambda i: len(features[i].input_ids))
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def _build_model(config: TrainConfig, labels: list[str]) -> torch.nn.Module:
    model = load_token_classifier(labels)
    if config.full:
        return model
    from peft import LoraConfig, TaskType, get_peft_model

    lora = LoraConfig(
        task_type=TaskType.TOKEN_CLS,
        r=config.rank,
        lora_alpha=config.alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(LORA_TARGETS),
        modules_to_save=["classifier"],
        bias="none",
    )
    with warnings.catch_warnings():  # peft calls a deprecated transformers property
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*",
                                category=FutureWarning)
        return get_peft_model(model, lora)


def _optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    head, body = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (head if "classifier" in name else body).append(param)
    groups = [{"params": body, "lr": config.lr}, {"params": head, "lr": config.head_lr}]
    return torch.optim.AdamW(groups, weight_decay=config.weight_decay)


def _merged_copy(model: torch.nn.Module, config: TrainConfig) -> torch.nn.Module:
    """A plain model with the current adapters merged in (the trained one is untouched)."""
    if config.full:
        return model
    import copy

    return copy.deepcopy(model).merge_and_unload()


def evaluate_model(model: torch.nn.Module, tokenizer, config: TrainConfig,
                   sets: Sequence[EvalSet]) -> dict[str, dict]:
    """Scores of ``model`` on every evaluation set (through the inference engine)."""
    merged = _merged_copy(model, config)
    tagger = Tagger.from_model(merged, tokenizer, model_id="training",
                               max_length=config.infer_max_length, stride=config.stride)
    result = {s.name: evaluate_examples(lambda t: tagger.tag(t, batch_size=64), s.examples)
              for s in sets}
    model.train()
    return result


def selection_f1(scores: dict[str, dict], sets: Sequence[EvalSet]) -> float:
    """Mean overall F1 of the sets used for model selection."""
    chosen = [scores[s.name]["overall"]["f1"] for s in sets if s.for_selection]
    return sum(chosen) / len(chosen) if chosen else 0.0


def train(
    config: TrainConfig,
    train_examples: Sequence[Example],
    dev_sets: Sequence[EvalSet],
    *,
    test_sets: Sequence[EvalSet] = (),
    data_description: dict | None = None,
    log: Callable[[str], None] = print,
    show_progress: bool = True,
) -> dict:
    """Train, keep the best epoch by dev F1, write the artefact, return its metrics.

    The artefact (``config.output``) gets the adapter (or full model), ``tagger.json`` and
    ``metrics.json``.

    Raises:
        ValueError: there is no training example or no entity in the training data.
    """
    from tqdm.auto import tqdm

    if not train_examples:
        raise ValueError("no training examples")
    types = sorted({label for ex in train_examples for _, _, label in ex.spans})
    if not types:
        raise ValueError("the training data holds no entity")
    labels = iob2_labels(types)
    label2id = {label: i for i, label in enumerate(labels)}
    seed_everything(config.seed)
    tokenizer = load_tokenizer()
    features = build_features(train_examples, tokenizer, label2id, max_length=config.max_length)
    model = _build_model(config, labels)
    model.train()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    log(f"labels: {' '.join(labels)}")
    log(f"train: {len(train_examples)} examples, {len(features)} windows; "
        f"trainable parameters {trainable:,} of {total:,}")
    weights = class_weights(features, labels, config.class_weight_power, config.o_weight)
    log("class weights: " + " ".join(f"{lb}={w:.2f}" for lb, w in zip(labels, weights.tolist(),
                                                                        strict=True)))
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights, ignore_index=IGNORE)
    optimizer = _optimizer(model, config)
    rng = random.Random(config.seed)
    steps_per_epoch = math.ceil(len(features) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    warmup = max(1, int(total_steps * config.warmup))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total_steps - s) / (total_steps - warmup))))

    best_f1, best_epoch, best_state, stale = -1.0, 0, None, 0
    history = []
    started = time.time()
    for epoch in range(1, config.epochs + 1):
        batches = length_batches(features, config.batch_size, rng)
        bar = tqdm(batches, desc=f"epoch {epoch}/{config.epochs}", unit="batch",
                   disable=not show_progress, dynamic_ncols=True, mininterval=2.0)
        running = 0.0
        for step, batch in enumerate(bar, start=1):
            arrays = collate([features[i] for i in batch], tokenizer.pad_token_id or 0)
            logits = model(input_ids=torch.from_numpy(arrays["input_ids"]),
                           attention_mask=torch.from_numpy(arrays["attention_mask"])).logits
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]),
                           torch.from_numpy(arrays["labels"]).reshape(-1))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(
                [p for p in model.parameters() if p.requires_grad], 1.0)
            optimizer.step()
            scheduler.step()
            running += float(loss.detach())
            if step % 20 == 0:
                bar.set_postfix(loss=f"{running / step:.4f}")
        bar.close()
        scores = evaluate_model(model, tokenizer, config, dev_sets)
        f1 = selection_f1(scores, dev_sets)
        per_set = " ".join(f"{name}={s['overall']['f1']:.4f}" for name, s in scores.items())
        log(f"epoch {epoch}: loss {running / max(1, len(batches)):.4f} dev F1 {f1:.4f} "
            f"({per_set}) [{time.time() - started:.0f}s]")
        history.append({"epoch": epoch, "loss": round(running / max(1, len(batches)), 5),
                        "dev_f1": round(f1, 4),
                        "dev": {n: s["overall"]["f1"] for n, s in scores.items()}})
        if f1 > best_f1:
            best_f1, best_epoch, stale = f1, epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
            if stale >= config.patience:
                log(f"early stop: no dev improvement for {stale} epochs")
                break
    assert best_state is not None
    model.load_state_dict(best_state)
    model.eval()
    out = Path(config.output)
    save_artefact(model, config, labels, out)
    calibrate_artefact(out, [ex.text for ex in train_examples])
    final_sets = [*dev_sets, *test_sets]
    tagger = Tagger.load(out, device="cpu", precision="fp32")
    scores = {s.name: evaluate_examples(lambda t: tagger.tag(t, batch_size=64), s.examples)
              for s in final_sets}
    int8_scores = _int8_scores(out, final_sets, log)
    metrics = {
        "model_id": model_id_of(out),
        "scores": scores,
        "int8_scores": int8_scores,
        "best_epoch": best_epoch,
        "selection_dev_f1": round(best_f1, 4),
        "history": history,
        "seed": config.seed,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
        "labels": labels,
        "data": data_description or {},
        "backbone": {"name": BACKBONE_NAME, "package": backbone_version()},
        "versions": {"torch": torch.__version__, "transformers": _version("transformers"),
                     "peft": _version("peft"), "seqeval": _version("seqeval")},
        "train_seconds": round(time.time() - started, 1),
        "trainable_parameters": trainable,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return metrics


def _int8_scores(out: Path, sets: Sequence[EvalSet], log: Callable[[str], None]) -> dict:
    """The same scores with int8 inference (what a CPU runs by default), when it runs here."""
    from model.quantize import int8_supported

    if not int8_supported():
        log("int8 inference is not available on this machine: int8 scores not measured")
        return {}
    tagger = Tagger.load(out, device="cpu", precision="int8")
    return {s.name: evaluate_examples(lambda t: tagger.tag(t, batch_size=64), s.examples)
            for s in sets}


def _version(package: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def save_artefact(model: torch.nn.Module, config: TrainConfig, labels: list[str],
                  out: Path) -> None:
    """Write the adapter (or full model) and ``tagger.json`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("adapter_model.safetensors", "adapter_config.json", "model.safetensors",
                  "config.json", CALIBRATION_FILE):
        (out / stale).unlink(missing_ok=True)
    model.save_pretrained(str(out))
    adapter_config = out / "adapter_config.json"
    if adapter_config.is_file():  # drop the machine-specific backbone path
        data = json.loads(adapter_config.read_text(encoding="utf-8"))
        data["base_model_name_or_path"] = None
        adapter_config.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n",
                                  encoding="utf-8")
    settings = {
        "format": "full" if config.full else "lora",
        "name": config.name,
        "labels": labels,
        "max_length": config.infer_max_length,
        "stride": config.stride,
        "backbone": backbone_version(),
    }
    (out / SETTINGS_FILE).write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    (out / "README.md").unlink(missing_ok=True)  # peft's model card template
