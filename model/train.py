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

Two heads (model/sentiment.py): when training examples carry a gold sentiment, the model gets
a sentiment head on the mean-pooled encoder output beside the token head, trained jointly:
the loss is the token loss plus ``sentiment_weight`` × the sentiment cross-entropy, and each
example feeds only the head(s) it has labels for (GoEmotions: sentiment only; WNUT-17, BTC,
WikiGold: entities only; generated tickets: both). Large sources can be *pools*: each epoch
trains on a fresh seeded sample of ``n`` of them (``EpochPool``), so a fixed time budget
sees much of them without a long epoch. Evaluation sets are of kind ``entities`` (seqeval
F1), ``sentiment`` (macro-F1) or both; the best epoch is chosen by the mean of the
selection sets' figures.

Resumable: after every epoch ``checkpoint.pt`` in the output folder holds the trainable
weights, optimizer, schedule, random states and history; the same command started again
continues after the last finished epoch (and gives what an uninterrupted run gives). It is
removed once the artefact and ``metrics.json`` are written. ``time_budget_s`` stops after
the epoch that would make the next one overrun the budget.

Precision (``TrainConfig.precision``, :func:`training_precision`): ``fp32``, or ``bf16``
autocast on a CPU that multiplies bf16 in hardware (Intel AMX,
:func:`model.engine.cpu_runs_bf16_fast`): forward and backward run in bf16, the master
weights, optimizer state and losses stay fp32. ``auto`` picks bf16 where the CPU runs it fast,
else fp32. The precision a run used is part of its checkpoint key and of ``metrics.json``;
evaluation always runs the fp32 (and int8) inference engine.

``python -m model.train two-head --output runs/NAME ...`` trains the shipped two-head
recipe (WNUT-17 + BTC + WikiGold + GoEmotions + generated tickets with real names; see
:func:`main`).

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
from model.datasets import IGNORE_TYPE, Example
from model.evaluate import evaluate_examples, evaluate_sentiment
from model.features import IGNORE, Feature, build_features, collate
from model.labels import iob2_labels
from model.quantize import CALIBRATION_FILE
from model.sentiment import SENTIMENT_LABELS, sentiment_config
from model.tagger import SETTINGS_FILE, Tagger, calibrate_artefact, model_id_of
from model.words import WORDS

CHECKPOINT_FILE = "checkpoint.pt"

LORA_TARGETS = ("query", "key", "value", "dense")

TRAIN_PRECISIONS = ("auto", "fp32", "bf16")


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
    sentiment_weight: float = 1.0
    sentiment_class_power: float = 0.0
    time_budget_s: float | None = None
    int8_scores: bool = True
    sentiment_offsets: bool = True
    init_from: str | None = None
    precision: str = "fp32"
    extra: dict = field(default_factory=dict)


@dataclass
class EvalSet:
    """A named evaluation set (used for early stopping when ``for_selection``).

    ``kind``: ``entities`` (entity F1), ``sentiment`` (macro-F1 of the sentiment head) or
    ``both`` (entity F1 and sentiment macro-F1; selection uses their mean).
    """

    name: str
    examples: Sequence[Example]
    for_selection: bool = True
    kind: str = "entities"

    @property
    def entities(self) -> bool:
        return self.kind in ("entities", "both")

    @property
    def sentiment(self) -> bool:
        return self.kind in ("sentiment", "both")


@dataclass
class EpochPool:
    """A large source of which every epoch trains on a seeded sample of ``per_epoch``."""

    name: str
    examples: Sequence[Example]
    per_epoch: int


def training_precision(precision: str) -> str:
    """The precision ``precision`` trains in on this CPU: ``fp32`` or ``bf16``.

    ``auto`` is bf16 where :func:`model.engine.cpu_runs_bf16_fast` (Intel AMX), else fp32.

    Raises:
        ValueError: an unknown name, or ``bf16`` on a CPU without fast bf16 (emulated bf16
            is slower than fp32 there and would only cost accuracy).
    """
    from model.engine import cpu_runs_bf16_fast

    if precision not in TRAIN_PRECISIONS:
        raise ValueError(f"unknown precision {precision!r} ({', '.join(TRAIN_PRECISIONS)})")
    if precision == "auto":
        return "bf16" if cpu_runs_bf16_fast() else "fp32"
    if precision == "bf16" and not cpu_runs_bf16_fast():
        raise ValueError(
            "bf16 training needs a CPU with AMX and AVX-512 bf16 (this one has none); "
            "use --precision fp32"
        )
    return precision


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


def _build_model(
    config: TrainConfig, labels: list[str], sentiment_labels: Sequence[str] | None = None
) -> torch.nn.Module:
    if sentiment_labels:
        from model.sentiment import load_two_head

        model = load_two_head(labels, list(sentiment_labels))
    else:
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
        modules_to_save=["classifier", "sentiment_head"] if sentiment_labels else ["classifier"],
        bias="none",
    )
    with warnings.catch_warnings():  # peft calls a deprecated transformers property
        warnings.filterwarnings(
            "ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning
        )
        return get_peft_model(model, lora)


def _start_from(
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

    settings_path = artefact / SETTINGS_FILE
    if config.full or not settings_path.is_file():
        raise ValueError(f"--init-from {artefact}: not a LoRA tagger artefact of this recipe")
    settings = json.loads(settings_path.read_text(encoding="utf-8"))
    theirs = (settings.get("labels"), (settings.get("sentiment") or {}).get("labels") or [])
    if theirs != (labels, list(sentiment_labels)):
        raise ValueError(
            f"--init-from {artefact}: its labels {theirs} differ from this "
            f"run's {(labels, list(sentiment_labels))}"
        )
    weights = load_file(str(artefact / "adapter_model.safetensors"))
    adapter = json.loads((artefact / "adapter_config.json").read_text(encoding="utf-8"))
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


def _optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    head, body = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (head if "classifier" in name or "sentiment_head" in name else body).append(param)
    groups = [{"params": body, "lr": config.lr}, {"params": head, "lr": config.head_lr}]
    return torch.optim.AdamW(groups, weight_decay=config.weight_decay)


def _merged_copy(model: torch.nn.Module, config: TrainConfig) -> torch.nn.Module:
    """A plain model with the current adapters merged in (the trained one is untouched)."""
    if config.full:
        return model
    import copy

    return copy.deepcopy(model).merge_and_unload()


def score_sets(tagger: Tagger, sets: Sequence[EvalSet]) -> tuple[dict, dict]:
    """``(entity scores, sentiment scores)`` of ``tagger`` per set name (each set's kinds)."""
    entities: dict[str, dict] = {}
    sentiment: dict[str, dict] = {}
    for s in sets:
        texts = [ex.text for ex in s.examples]
        found, moods = tagger.tag_with_sentiment(texts, batch_size=64)
        if s.entities:
            entities[s.name] = evaluate_examples(lambda _t, f=found: f, s.examples)
        if s.sentiment and tagger.has_sentiment:
            sentiment[s.name] = evaluate_sentiment(
                [ex.sentiment for ex in s.examples],
                [m.label if m is not None else None for m in moods],
                tagger.sentiment_labels,
            )
    return entities, sentiment


def evaluate_model(
    model: torch.nn.Module, tokenizer, config: TrainConfig, sets: Sequence[EvalSet]
) -> tuple[dict, dict]:
    """Scores of ``model`` on every evaluation set (through the inference engine)."""
    merged = _merged_copy(model, config)
    tagger = Tagger.from_model(
        merged,
        tokenizer,
        model_id="training",
        max_length=config.infer_max_length,
        stride=config.stride,
    )
    result = score_sets(tagger, sets)
    model.train()
    return result


def selection_f1(
    scores: dict[str, dict], sets: Sequence[EvalSet], sentiment: dict[str, dict] | None = None
) -> float:
    """Mean of the selection sets' figures: entity F1 and/or sentiment macro-F1."""
    chosen = []
    for s in sets:
        if not s.for_selection:
            continue
        if s.entities and s.name in scores:
            chosen.append(scores[s.name]["overall"]["f1"])
        if s.sentiment and sentiment and s.name in sentiment:
            chosen.append(sentiment[s.name]["macro_f1"])
    return sum(chosen) / len(chosen) if chosen else 0.0


def _sample_pools(
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


def _joint_loss(
    out,
    arrays: dict[str, np.ndarray],
    token_loss: torch.nn.Module,
    sentiment_loss: torch.nn.Module | None,
    weight: float,
) -> torch.Tensor:
    """Token loss over labelled tokens plus ``weight`` × sentiment loss over labelled rows;
    a head with no label in the batch adds nothing (no NaN from an all-ignored mean)."""
    logits = out.logits.float()  # bf16 under autocast: the loss is taken in fp32
    labels = torch.from_numpy(arrays["labels"])
    total = logits.new_zeros(())
    if bool((labels != IGNORE).any()):
        total = total + token_loss(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))
    if sentiment_loss is not None:
        target = torch.from_numpy(arrays["sentiment"])
        if bool((target != IGNORE).any()):
            total = total + weight * sentiment_loss(out.sentiment_logits.float(), target)
    return total


def _sentiment_weights(features: Sequence[Feature], n: int, power: float) -> torch.Tensor | None:
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


def _trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    return {k: v.detach().clone() for k, v in model.state_dict().items() if k in names}


def _config_key(config: TrainConfig) -> dict:
    skip = {"time_budget_s", "output", "int8_scores", "sentiment_offsets"}
    for newer in ("sentiment_class_power", "init_from"):  # absent from older checkpoints
        if not getattr(config, newer):
            skip.add(newer)
    if config.precision == "fp32":  # older checkpoints were all fp32 and lack the key
        skip.add("precision")
    return {
        k: (str(v) if isinstance(v, Path) else v)
        for k, v in asdict(config).items()
        if k not in skip
    }


def _save_checkpoint(out: Path, state: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / (CHECKPOINT_FILE + ".tmp")
    torch.save(state, tmp)
    tmp.replace(out / CHECKPOINT_FILE)


def _load_checkpoint(out: Path, config: TrainConfig, log: Callable[[str], None]) -> dict | None:
    path = out / CHECKPOINT_FILE
    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=False)
    if state.get("config") != _config_key(config):
        raise ValueError(f"{path} is from a run with other settings; delete it to start over")
    log(f"resuming after epoch {state['epoch']} from {path}")
    return state


def train(
    config: TrainConfig,
    train_examples: Sequence[Example],
    dev_sets: Sequence[EvalSet],
    *,
    test_sets: Sequence[EvalSet] = (),
    pools: Sequence[EpochPool] = (),
    data_description: dict | None = None,
    log: Callable[[str], None] = print,
    show_progress: bool = True,
) -> dict:
    """Train, keep the best epoch by dev F1, write the artefact, return its metrics.

    The artefact (``config.output``) gets the adapter (or full model), ``tagger.json`` and
    ``metrics.json``. With sentiment labels in the training data (``Example.sentiment``) the
    model gets the sentiment head as well (see the module docstring). ``pools`` add a fresh
    seeded sample of a large source to every epoch.

    ``config.precision`` ``auto`` is resolved first (:func:`training_precision`); the
    resolved precision is what the checkpoint key and ``metrics.json`` record.

    Raises:
        ValueError: there is no training example or no entity in the training data, a
            checkpoint in the output folder is from other settings, or the precision does not
            run on this CPU.
    """
    from dataclasses import replace

    from tqdm.auto import tqdm

    config = replace(config, precision=training_precision(config.precision))
    bf16 = config.precision == "bf16"

    everything = [*train_examples, *(ex for p in pools for ex in p.examples)]
    if not everything:
        raise ValueError("no training examples")
    types = sorted({label for ex in everything for _, _, label in ex.spans if label != IGNORE_TYPE})
    if not types:
        raise ValueError("the training data holds no entity")
    labels = iob2_labels(types)
    label2id = {label: i for i, label in enumerate(labels)}
    with_sentiment = any(ex.sentiment is not None for ex in everything)
    sentiment_labels = list(SENTIMENT_LABELS) if with_sentiment else []
    sentiment2id = {label: i for i, label in enumerate(sentiment_labels)} or None
    seed_everything(config.seed)
    tokenizer = load_tokenizer()
    features = build_features(
        train_examples, tokenizer, label2id, max_length=config.max_length, sentiment2id=sentiment2id
    )
    pool_features = []
    for pool in pools:
        per_example = [
            build_features(
                [ex], tokenizer, label2id, max_length=config.max_length, sentiment2id=sentiment2id
            )
            for ex in pool.examples
        ]
        pool_features.append(per_example)
    model = _build_model(config, labels, sentiment_labels)
    if config.init_from:
        _start_from(model, config, Path(config.init_from), labels, sentiment_labels, log)
    model.train()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    log(f"precision: {config.precision}" + (" autocast, fp32 master weights" if bf16 else ""))
    log(
        f"labels: {' '.join(labels)}"
        + (f"; sentiment: {' '.join(sentiment_labels)}" if sentiment_labels else "")
    )
    pooled = sum(min(p.per_epoch, len(p.examples)) for p in pools)
    log(
        f"train: {len(train_examples)} examples, {len(features)} windows"
        + (
            f" + {pooled} pooled examples per epoch ("
            + ", ".join(
                f"{p.name} {min(p.per_epoch, len(p.examples))} of {len(p.examples)}" for p in pools
            )
            + ")"
            if pools
            else ""
        )
        + f"; trainable parameters {trainable:,} of {total:,}"
    )
    all_features = features + [f for feats in pool_features for fs in feats for f in fs]
    weights = class_weights(all_features, labels, config.class_weight_power, config.o_weight)
    log(
        "class weights: "
        + " ".join(f"{lb}={w:.2f}" for lb, w in zip(labels, weights.tolist(), strict=True))
    )
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights, ignore_index=IGNORE)
    sentiment_loss = None
    if sentiment_labels:
        sentiment_loss = torch.nn.CrossEntropyLoss(
            weight=_sentiment_weights(
                all_features, len(sentiment_labels), config.sentiment_class_power
            ),
            ignore_index=IGNORE,
        )
    optimizer = _optimizer(model, config)
    rng = random.Random(config.seed)
    epoch_windows = len(features) + len(_sample_pools(pools, pool_features, config.seed, 1))
    steps_per_epoch = math.ceil(epoch_windows / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    warmup = max(1, int(total_steps * config.warmup))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min((s + 1) / warmup, max(0.0, (total_steps - s) / (total_steps - warmup))),
    )

    best_f1, best_epoch, best_state, stale = -1.0, 0, None, 0
    history: list[dict] = []
    first_epoch, spent_before = 1, 0.0
    out = Path(config.output)
    resumed = _load_checkpoint(out, config, log)
    if resumed is not None:
        model.load_state_dict(resumed["trainable"], strict=False)
        optimizer.load_state_dict(resumed["optimizer"])
        scheduler.load_state_dict(resumed["scheduler"])
        rng.setstate(resumed["rng"])
        torch.set_rng_state(resumed["torch_rng"])
        best_f1, best_epoch, stale = resumed["best_f1"], resumed["best_epoch"], resumed["stale"]
        best_state = resumed["best_state"]
        history = resumed["history"]
        first_epoch = resumed["epoch"] + 1
        spent_before = resumed["seconds"]
    started = time.time() - spent_before
    stop = resumed is not None and resumed.get("stopped", False)
    for epoch in range(first_epoch, config.epochs + 1):
        if stop:
            break
        epoch_started = time.time()
        epoch_features = features + _sample_pools(pools, pool_features, config.seed, epoch)
        batches = length_batches(epoch_features, config.batch_size, rng)
        bar = tqdm(
            batches,
            desc=f"epoch {epoch}/{config.epochs}",
            unit="batch",
            disable=not show_progress,
            dynamic_ncols=True,
            mininterval=2.0,
        )
        running = 0.0
        for step, batch in enumerate(bar, start=1):
            arrays = collate([epoch_features[i] for i in batch], tokenizer.pad_token_id or 0)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                out_ = model(
                    input_ids=torch.from_numpy(arrays["input_ids"]),
                    attention_mask=torch.from_numpy(arrays["attention_mask"]),
                )
            loss = _joint_loss(out_, arrays, loss_fn, sentiment_loss, config.sentiment_weight)
            optimizer.zero_grad(set_to_none=True)
            if loss.requires_grad:
                loss.backward()
                torch.nn.utils.clip_grad_norm_(
                    [p for p in model.parameters() if p.requires_grad], 1.0
                )
                optimizer.step()
            scheduler.step()
            running += float(loss.detach())
            if step % 20 == 0:
                bar.set_postfix(loss=f"{running / step:.4f}")
        bar.close()
        scores, sentiment_scores = evaluate_model(model, tokenizer, config, dev_sets)
        f1 = selection_f1(scores, dev_sets, sentiment_scores)
        per_set = " ".join(
            [f"{name}={s['overall']['f1']:.4f}" for name, s in scores.items()]
            + [f"{name}:sentiment={s['macro_f1']:.4f}" for name, s in sentiment_scores.items()]
        )
        log(
            f"epoch {epoch}: loss {running / max(1, len(batches)):.4f} dev {f1:.4f} "
            f"({per_set}) [{time.time() - started:.0f}s]"
        )
        entry = {
            "epoch": epoch,
            "loss": round(running / max(1, len(batches)), 5),
            "dev_f1": round(f1, 4),
            "dev": {n: s["overall"]["f1"] for n, s in scores.items()},
        }
        if sentiment_scores:
            entry["dev_sentiment"] = {n: s["macro_f1"] for n, s in sentiment_scores.items()}
        history.append(entry)
        if f1 > best_f1:
            best_f1, best_epoch, stale = f1, epoch, 0
            best_state = _trainable_state(model)
        else:
            stale += 1
            if stale >= config.patience:
                log(f"early stop: no dev improvement for {stale} epochs")
                stop = True
        took = time.time() - epoch_started
        if (
            not stop
            and config.time_budget_s is not None
            and epoch < config.epochs
            and time.time() - started + took > config.time_budget_s
        ):
            log(
                f"time budget: another epoch (about {took:.0f} s) would pass "
                f"{config.time_budget_s:.0f} s; stopping after epoch {epoch}"
            )
            stop = True
        _save_checkpoint(
            out,
            {
                "config": _config_key(config),
                "epoch": epoch,
                "trainable": _trainable_state(model),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": rng.getstate(),
                "torch_rng": torch.get_rng_state(),
                "best_f1": best_f1,
                "best_epoch": best_epoch,
                "best_state": best_state,
                "stale": stale,
                "history": history,
                "seconds": time.time() - started,
                "stopped": stop,
            },
        )
        if stop:
            break
    assert best_state is not None
    model.load_state_dict(best_state, strict=False)
    model.eval()
    offsets_record = None
    if sentiment_labels and config.sentiment_offsets:
        offsets_record = fit_sentiment_offsets(model, tokenizer, config, dev_sets, log)
    train_seconds = time.time() - started
    save_artefact(model, config, labels, out, sentiment_labels=sentiment_labels)
    calibrate_artefact(out, [ex.text for ex in everything[:: max(1, len(everything) // 2000)]])
    final_sets = [*dev_sets, *test_sets]
    tagger = Tagger.load(out, device="cpu", precision="fp32")
    scores, sentiment_scores = score_sets(tagger, final_sets)
    log(
        "fp32 scores: "
        + " ".join(
            [f"{n}={s['overall']['f1']:.4f}" for n, s in scores.items()]
            + [f"{n}:sentiment={s['macro_f1']:.4f}" for n, s in sentiment_scores.items()]
        )
    )
    int8_scores, int8_sentiment = (
        _int8_scores(out, final_sets, log) if config.int8_scores else ({}, {})
    )
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
        "segmentation": WORDS,
        "selection_sets": [s.name for s in dev_sets if s.for_selection],
        "data": data_description or {},
        "backbone": {"name": BACKBONE_NAME, "package": backbone_version()},
        "versions": {
            "torch": torch.__version__,
            "transformers": _version("transformers"),
            "peft": _version("peft"),
            "seqeval": _version("seqeval"),
        },
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(time.time() - started, 1),
        "trainable_parameters": trainable,
    }
    if sentiment_labels:
        metrics["sentiment"] = {
            "labels": sentiment_labels,
            "weight": config.sentiment_weight,
            "class_offsets": offsets_record,
        }
        metrics["sentiment_scores"] = sentiment_scores
        metrics["int8_sentiment_scores"] = int8_sentiment
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    (out / CHECKPOINT_FILE).unlink(missing_ok=True)
    return metrics


def fit_sentiment_offsets(
    model: torch.nn.Module,
    tokenizer,
    config: TrainConfig,
    dev_sets: Sequence[EvalSet],
    log: Callable[[str], None],
) -> dict | None:
    """Fit per-class offsets of the sentiment head on the first sentiment *selection* set
    (:func:`model.sentiment.fit_class_offsets`, for macro-F1) and add them to the head's bias.

    Returns what was fitted (for ``metrics.json``), or ``None`` without such a set.
    """
    from model.sentiment import fit_class_offsets

    chosen = next((s for s in dev_sets if s.for_selection and s.sentiment), None)
    if chosen is None:
        return None
    merged = _merged_copy(model, config)
    tagger = Tagger.from_model(
        merged,
        tokenizer,
        model_id="training",
        max_length=config.infer_max_length,
        stride=config.stride,
    )
    labels = tagger.sentiment_labels
    rows = [
        (ex.sentiment, mood)
        for ex, mood in zip(
            chosen.examples,
            tagger.tag_with_sentiment([ex.text for ex in chosen.examples], batch_size=64)[1],
            strict=True,
        )
        if ex.sentiment in labels and mood is not None
    ]
    if not rows:
        return None
    probabilities = np.array([mood.probabilities for _, mood in rows])
    gold = np.array([labels.index(g) for g, _ in rows])
    offsets, before, after = fit_class_offsets(probabilities, gold)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "sentiment_head" in name and name.endswith("bias") and param.requires_grad:
                param.add_(torch.as_tensor(offsets, dtype=param.dtype))
    log(
        f"sentiment class offsets on {chosen.name}: "
        + " ".join(f"{lb}={o:+.2f}" for lb, o in zip(labels, offsets.tolist(), strict=True))
        + f" (macro-F1 {before:.4f} -> {after:.4f})"
    )
    return {
        "fitted_on": chosen.name,
        "labels": labels,
        "offsets": [round(float(o), 4) for o in offsets],
        "macro_f1_before": round(before, 4),
        "macro_f1_after": round(after, 4),
    }


def _int8_scores(
    out: Path, sets: Sequence[EvalSet], log: Callable[[str], None]
) -> tuple[dict, dict]:
    """The same scores with int8 inference (what a CPU runs by default), when it runs here:
    ``(entity scores, sentiment scores)``."""
    from model.quantize import int8_supported

    if not int8_supported():
        log("int8 inference is not available on this machine: int8 scores not measured")
        return {}, {}
    try:
        tagger = Tagger.load(out, device="cpu", precision="int8")
        tagger.plan(1)  # compile now (a failed compile falls back to fp32: not int8 scores)
        if getattr(tagger.engine.model, "failed", None):
            log(f"int8 could not be compiled ({tagger.engine.model.failed}): no int8 scores")
            return {}, {}
        return score_sets(tagger, sets)
    except Exception as exc:  # the artefact is written: int8 figures are a bonus
        log(
            f"int8 scores failed ({type(exc).__name__}: {exc}); measure them with "
            "python -m model evaluate --precision int8"
        )
        return {}, {}


def _version(package: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def save_artefact(
    model: torch.nn.Module,
    config: TrainConfig,
    labels: list[str],
    out: Path,
    *,
    sentiment_labels: Sequence[str] = (),
) -> None:
    """Write the adapter (or full model) and ``tagger.json`` into ``out`` (with
    ``"segmentation": "words"``, and ``"sentiment"`` when the model has that head)."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in (
        "adapter_model.safetensors",
        "adapter_config.json",
        "model.safetensors",
        "config.json",
        CALIBRATION_FILE,
    ):
        (out / stale).unlink(missing_ok=True)
    model.save_pretrained(str(out))
    adapter_config = out / "adapter_config.json"
    if adapter_config.is_file():  # drop the machine-specific backbone path
        data = json.loads(adapter_config.read_text(encoding="utf-8"))
        data["base_model_name_or_path"] = None
        for key in ("target_modules", "modules_to_save"):  # peft writes sets in hash order:
            if isinstance(data.get(key), list):  # sorted, the model id is stable
                data[key] = sorted(data[key])
        adapter_config.write_text(
            json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
    settings = {
        "format": "full" if config.full else "lora",
        "name": config.name,
        "labels": labels,
        "max_length": config.infer_max_length,
        "stride": config.stride,
        "backbone": backbone_version(),
        "segmentation": WORDS,
    }
    if sentiment_labels:
        settings["sentiment"] = sentiment_config(list(sentiment_labels))
    (out / SETTINGS_FILE).write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    (out / "README.md").unlink(missing_ok=True)  # peft's model card template


# -- the shipped two-head recipe: python -m model.train two-head ----------------------------

DATASETS = Path(__file__).resolve().parent / "datasets"


def two_head_data(
    args,
) -> tuple[list[Example], list[EpochPool], list[EvalSet], list[EvalSet], dict]:
    """The data of the shipped two-head tagger: ``(train, pools, dev sets, test sets, record)``.

    Training: WNUT-17 train (labels mapped), BTC sections a b e f g and WikiGold (``MISC``
    ignored), generated tickets with gold sentiment and real names (:func:`model.datasets.
    augment_ticket_names`), GoEmotions train (sentiment only). Selection (never WNUT-17 dev):
    a seeded ``val_share`` of WNUT-17 train + BTC a b e f g (``val_real``), generated tickets
    of ``ticket_seed + 1`` (``val_tickets``) and a seeded part of GoEmotions *train*
    (``val_goemotions``). Reported only: WNUT-17 dev, BTC section h, generated tickets of
    ``ticket_seed + 2`` (entities and sentiment) and GoEmotions dev (single-group).
    """
    from data.demo import iter_gold_tickets
    from model.datasets import (
        augment_ticket_names,
        examples_from_gold,
        read_btc,
        read_examples,
        read_goemotions,
        read_wikigold,
        split_off,
    )
    from model.labels import parse_label_map

    root = Path(args.data_dir)
    scale = args.scale
    wnut_map = parse_label_map("wnut17")

    def cut(examples: list, n: int | None = None) -> list:
        if scale >= 1.0 and n is None:
            return examples
        keep = round(len(examples) * scale) if n is None else n
        return examples[: max(1, keep)]

    wnut = cut(read_examples(root / "wnut17" / "wnut17train.conll", wnut_map))
    btc = cut(read_btc([root / "btc" / f"{s}.conll" for s in "abefg"]))
    wiki = cut(read_wikigold(root / "wikigold" / "wikigold.conll"))
    goemo = cut(read_goemotions(root / "goemotions" / "group_train.tsv"))
    wnut_train, wnut_val = split_off(wnut, args.val_share, args.seed)
    btc_train, btc_val = split_off(btc, args.val_share, args.seed + 1)
    goemo_train, goemo_val = split_off(
        goemo, min(0.5, args.goemotions_val / len(goemo)), args.seed + 2
    )
    tickets = examples_from_gold(
        augment_ticket_names(
            iter_gold_tickets(args.tickets, args.ticket_seed, sentiment=True),
            seed=args.ticket_seed,
            share=args.name_share,
        )
    )
    seen = {ex.text for ex in tickets}

    def generated(n: int, seed: int) -> list:
        return [
            ex
            for ex in examples_from_gold(iter_gold_tickets(n, seed, sentiment=True))
            if ex.text not in seen
        ]

    train_examples = [*wnut_train, *tickets]
    pools = [
        EpochPool("btc", btc_train, args.btc_per_epoch),
        EpochPool("wikigold", wiki, args.wikigold_per_epoch),
        EpochPool("goemotions", goemo_train, args.goemotions_per_epoch),
    ]
    val_tickets = generated(args.val_tickets, args.ticket_seed + 1)
    dev_sets = [
        EvalSet("val_real", [*wnut_val, *btc_val]),
        EvalSet("val_tickets", val_tickets),
        EvalSet("val_goemotions", goemo_val, kind="sentiment"),
    ]
    test_tickets = generated(args.test_tickets, args.ticket_seed + 2)
    test_sets = [
        EvalSet(
            "wnut17_dev",
            cut(read_examples(root / "wnut17" / "emerging.dev.conll", wnut_map)),
            False,
        ),
        EvalSet("btc_h", cut(read_btc([root / "btc" / "h.conll"])), False),
        EvalSet("generated_test", test_tickets, False, kind="both"),
        EvalSet(
            "goemotions_dev",
            cut(read_goemotions(root / "goemotions" / "group_dev.tsv", single_group=True)),
            False,
            kind="sentiment",
        ),
    ]
    record = {
        "train": {
            "wnut17_train": len(wnut_train),
            "generated_tickets": {
                "n": args.tickets,
                "seed": args.ticket_seed,
                "sentiment": True,
                "real_names_share": args.name_share,
            },
        },
        "pools_per_epoch": {
            "btc_abefg": {"of": len(btc_train), "per_epoch": args.btc_per_epoch},
            "wikigold": {"of": len(wiki), "per_epoch": args.wikigold_per_epoch},
            "goemotions_train": {"of": len(goemo_train), "per_epoch": args.goemotions_per_epoch},
        },
        "selection": {
            "val_real": {
                "wnut17_train": len(wnut_val),
                "btc_abefg": len(btc_val),
                "share": args.val_share,
            },
            "val_tickets": {"seed": args.ticket_seed + 1, "kept": len(val_tickets)},
            "val_goemotions": {"from": "group_train.tsv", "n": len(goemo_val)},
        },
        "reported_only": {
            "wnut17_dev": "emerging.dev.conll (never used for any choice)",
            "btc_h": "BTC section h (held out)",
            "generated_test": {"seed": args.ticket_seed + 2, "kept": len(test_tickets)},
            "goemotions_dev": "group_dev.tsv, single-group rows, 3 classes",
        },
        "label_maps": {
            "wnut17": "preset wnut17",
            "wikigold": "MISC ignored in the loss",
            "goemotions": "ambiguous→neutral; rows whose groups disagree dropped",
        },
        "scale": scale,
    }
    return train_examples, pools, dev_sets, test_sets, record


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m model.train two-head --output DIR [...]``: train the two-head tagger.

    Resumable: run the same command again after a stop and it continues after the last
    finished epoch (``checkpoint.pt`` in ``--output``).
    """
    import argparse
    import shlex
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m model.train",
        description="Train the two-head tagger (entities + sentiment) on the shipped data recipe.",
    )
    sub = parser.add_subparsers(dest="recipe", required=True)
    p = sub.add_parser("two-head", help="WNUT-17 + BTC + WikiGold + GoEmotions + tickets")
    p.add_argument("--output", type=Path, required=True)
    p.add_argument("--name", default="default")
    p.add_argument("--data-dir", type=Path, default=DATASETS)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--tickets", type=int, default=1500)
    p.add_argument("--ticket-seed", type=int, default=1000)
    p.add_argument("--name-share", type=float, default=0.4)
    p.add_argument("--val-tickets", type=int, default=300)
    p.add_argument("--test-tickets", type=int, default=1000)
    p.add_argument("--val-share", type=float, default=0.1)
    p.add_argument("--goemotions-val", type=int, default=800)
    p.add_argument("--btc-per-epoch", type=int, default=2500)
    p.add_argument("--wikigold-per-epoch", type=int, default=800)
    p.add_argument("--goemotions-per-epoch", type=int, default=8000)
    p.add_argument("--sentiment-weight", type=float, default=1.0)
    p.add_argument(
        "--sentiment-class-power",
        type=float,
        default=0.0,
        help="weigh sentiment classes by (mean count / count) ** P (0: unweighted)",
    )
    p.add_argument("--time-budget-min", type=float, default=None)
    p.add_argument("--rank", type=int, default=16, help="LoRA rank of every adapter")
    p.add_argument("--alpha", type=int, default=None, help="LoRA alpha (default: twice the rank)")
    p.add_argument("--lr", type=float, default=2e-3, help="learning rate of the LoRA adapters")
    p.add_argument("--head-lr", type=float, default=5e-3, help="learning rate of the heads")
    p.add_argument(
        "--init-from",
        type=Path,
        default=None,
        metavar="DIR",
        help="start from this LoRA artefact's weights (a second training stage)",
    )
    p.add_argument(
        "--scale", type=float, default=1.0, help="use this share of every file (a quick smoke run)"
    )
    p.add_argument("--no-int8", action="store_true", help="skip the int8 scores")
    p.add_argument(
        "--no-sentiment-offsets",
        action="store_true",
        help="keep the sentiment head's argmax (no macro-F1 class offsets fitted "
        "on val_goemotions)",
    )
    p.add_argument(
        "--precision",
        choices=TRAIN_PRECISIONS,
        default="auto",
        help="training precision: bf16 autocast (fp32 master weights) needs a CPU with AMX; "
        "auto = bf16 where the CPU runs it fast, else fp32",
    )
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.rank < 1 or (args.alpha is not None and args.alpha < 1):
        parser.error("--rank and --alpha must be at least 1")
    if args.threads:
        torch.set_num_threads(args.threads)
    train_examples, pools, dev_sets, test_sets, record = two_head_data(args)
    record["command"] = "python -m model.train " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    config = TrainConfig(
        output=args.output,
        name=args.name,
        epochs=args.epochs,
        batch_size=args.batch_size,
        max_length=args.max_length,
        seed=args.seed,
        sentiment_weight=args.sentiment_weight,
        lr=args.lr,
        head_lr=args.head_lr,
        init_from=str(args.init_from) if args.init_from else None,
        rank=args.rank,
        alpha=args.alpha if args.alpha is not None else 2 * args.rank,
        sentiment_class_power=args.sentiment_class_power,
        time_budget_s=args.time_budget_min * 60 if args.time_budget_min else None,
        int8_scores=not args.no_int8,
        sentiment_offsets=not args.no_sentiment_offsets,
        patience=2,
        precision=args.precision,
    )

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    metrics = train(
        config,
        train_examples,
        dev_sets,
        test_sets=test_sets,
        pools=pools,
        data_description=record,
        log=log,
        show_progress=not args.quiet,
    )
    from model.evaluate import format_scores

    for name, scores in metrics["scores"].items():
        print(f"== {name}")
        print(format_scores(scores))
    for name, scores in metrics.get("sentiment_scores", {}).items():
        print(
            f"== {name} sentiment: macro-F1 {scores['macro_f1']:.4f} "
            f"accuracy {scores['accuracy']:.4f} ({scores['support']} texts)"
        )
    print(f"model {metrics['model_id']} written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
