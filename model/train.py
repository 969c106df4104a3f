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
the epoch that would make the next one overrun the budget; ``stop_after_epoch`` stops after
that epoch, the learning-rate schedule still drawn for ``epochs`` (so a run the budget once
stopped can be rebuilt exactly on a faster or quieter machine).

Precision (``TrainConfig.precision``, :func:`training_precision`): ``fp32``, or ``bf16``
autocast on a CPU that multiplies bf16 in hardware (Intel AMX,
:func:`model.engine.cpu_runs_bf16_fast`): forward and backward run in bf16, the master
weights, optimizer state and losses stay fp32. ``auto`` picks bf16 where the CPU runs it fast,
else fp32. The precision a run used is part of its checkpoint key and of ``metrics.json``;
evaluation always runs the fp32 (and int8) inference engine.

``python -m model.train two-head --output runs/NAME ...`` trains the shipped two-head
recipe (WNUT-17 + BTC + WikiGold + GoEmotions + generated tickets with real names; see
model/train_recipe.py).

Example:
    >>> result = train(TrainConfig(output=Path("var/t")), train_set, dev_set)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from model.artefact import calibrate_artefact, model_id_of
from model.artefact_writer import save_artefact
from model.backbone import BACKBONE_NAME, backbone_version, load_tokenizer
from model.casing import casing_of
from model.datasets import IGNORE_TYPE, Example
from model.features import IGNORE, Feature, build_features, collate
from model.labels import iob2_labels
from model.sentiment import SENTIMENT_LABELS
from model.tagger import Tagger
from model.train_checkpoint import config_key, load_checkpoint, save_checkpoint, trainable_state
from model.train_config import (
    CHECKPOINT_FILE,
    EpochPool,
    EvalSet,
    TrainConfig,
    training_device,
    training_precision,
)
from model.train_scores import (
    evaluate_model,
    fit_sentiment_offsets,
    score_int8,
    score_sets,
    selection_f1,
)
from model.train_setup import (
    build_model,
    class_weights,
    freeze_word_embeddings,
    full_model_from,
    joint_loss,
    length_batches,
    make_optimizer,
    sample_pools,
    seed_everything,
    sentiment_weights,
    start_from,
)
from model.words import WORDS

__all__ = ["train"]


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

    device = training_device(config.device)
    config = replace(config, device=device, precision=training_precision(config.precision, device))
    run = _prepare(config, train_examples, pools, log)
    progress = _fit(run, config, pools, dev_sets, log, show_progress)
    return _finish(run, config, progress, dev_sets, test_sets, data_description, log)


@dataclass
class _Run:
    """What every epoch of a run uses: labels, tokenizer, features, the model and losses."""

    labels: list[str]
    sentiment_labels: list[str]
    tokenizer: Any
    features: list[Feature]
    #: per pool, per example: its windows
    pool_features: list[list[list[Feature]]]
    model: torch.nn.Module
    token_loss: torch.nn.Module
    sentiment_loss: torch.nn.Module | None
    #: every training text (calibration of the int8 artefact samples them)
    texts: list[str]
    trainable: int


@dataclass
class _Progress:
    """Where the epochs stand: the best epoch so far and the history (checkpointed)."""

    best_f1: float = -1.0
    best_epoch: int = 0
    best_state: dict | None = None
    stale: int = 0
    history: list[dict] = field(default_factory=list)
    started: float = 0.0
    stop: bool = False


def _prepare(
    config: TrainConfig,
    train_examples: Sequence[Example],
    pools: Sequence[EpochPool],
    log: Callable[[str], None],
) -> _Run:
    """Labels from the data, features, the model (from ``config.init_from`` when given) and
    the class-weighted losses."""
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

    def windows(examples: Sequence[Example]) -> list[Feature]:
        return build_features(
            examples,
            tokenizer,
            label2id,
            max_length=config.max_length,
            sentiment2id=sentiment2id,
            casing=config.casing,
        )

    features = windows(train_examples)
    pool_features = [[windows([ex]) for ex in pool.examples] for pool in pools]
    if config.init_from and config.full:
        model = full_model_from(config, Path(config.init_from), labels, sentiment_labels, log)
    elif config.init_from:
        model = build_model(config, labels, sentiment_labels)
        start_from(model, config, Path(config.init_from), labels, sentiment_labels, log)
    else:
        model = build_model(config, labels, sentiment_labels)
    if config.freeze_word_embeddings:
        freeze_word_embeddings(model)
    if (casing_of(model) is not None) != config.casing:
        raise ValueError(
            f"the model {'lacks' if config.casing else 'has'} casing (model/casing.py) "
            f"where this run {'uses' if config.casing else 'does not use'} it"
        )
    model.to(config.device).train()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    bf16 = config.precision == "bf16"
    log(
        f"device: {config.device}; precision: {config.precision}"
        + (" autocast, fp32 master weights" if bf16 else "")
    )
    log(
        f"labels: {' '.join(labels)}"
        + (f"; sentiment: {' '.join(sentiment_labels)}" if sentiment_labels else "")
    )
    pooled = sum(min(p.per_epoch, len(p.examples)) for p in pools)
    sampled = ", ".join(
        f"{p.name} {min(p.per_epoch, len(p.examples))} of {len(p.examples)}" for p in pools
    )
    log(
        f"train: {len(train_examples)} examples, {len(features)} windows"
        + (f" + {pooled} pooled examples per epoch ({sampled})" if pools else "")
        + f"; trainable parameters {trainable:,} of {total:,}"
    )
    all_features = features + [f for feats in pool_features for fs in feats for f in fs]
    weights = class_weights(all_features, labels, config.class_weight_power, config.o_weight)
    log(
        "class weights: "
        + " ".join(f"{lb}={w:.2f}" for lb, w in zip(labels, weights.tolist(), strict=True))
    )
    sentiment_loss = None
    if sentiment_labels:
        sentiment_loss = torch.nn.CrossEntropyLoss(
            weight=sentiment_weights(
                all_features, len(sentiment_labels), config.sentiment_class_power
            ),
            ignore_index=IGNORE,
        )
    return _Run(
        labels=labels,
        sentiment_labels=sentiment_labels,
        tokenizer=tokenizer,
        features=features,
        pool_features=pool_features,
        model=model,
        token_loss=torch.nn.CrossEntropyLoss(weight=weights, ignore_index=IGNORE).to(config.device),
        sentiment_loss=sentiment_loss.to(config.device) if sentiment_loss else None,
        texts=[ex.text for ex in everything],
        trainable=trainable,
    )


def _fit(
    run: _Run,
    config: TrainConfig,
    pools: Sequence[EpochPool],
    dev_sets: Sequence[EvalSet],
    log: Callable[[str], None],
    show_progress: bool,
) -> _Progress:
    """The epochs (resumed after the last checkpointed one), each scored on ``dev_sets``;
    early stopping, the time budget and ``stop_after_epoch`` end them. The best epoch's weights
    end in the model."""
    model = run.model
    optimizer = make_optimizer(model, config)
    rng = random.Random(config.seed)
    epoch_windows = len(run.features) + len(sample_pools(pools, run.pool_features, config.seed, 1))
    total_steps = math.ceil(epoch_windows / config.batch_size) * config.epochs
    warmup = max(1, int(total_steps * config.warmup))
    decay = max(1, total_steps - warmup)  # one step in all: warm-up is the whole run
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min((s + 1) / warmup, max(0.0, (total_steps - s) / decay)),
    )
    progress, first_epoch, spent_before = _Progress(), 1, 0.0
    out = Path(config.output)
    resumed = load_checkpoint(out, config, log)
    if resumed is not None:
        model.load_state_dict(resumed["trainable"], strict=False)
        optimizer.load_state_dict(resumed["optimizer"])
        scheduler.load_state_dict(resumed["scheduler"])
        rng.setstate(resumed["rng"])
        torch.set_rng_state(resumed["torch_rng"])
        progress = _Progress(
            best_f1=resumed["best_f1"],
            best_epoch=resumed["best_epoch"],
            best_state=resumed["best_state"],
            stale=resumed["stale"],
            history=resumed["history"],
            stop=resumed.get("stopped", False),
        )
        first_epoch = resumed["epoch"] + 1
        spent_before = resumed["seconds"]
    progress.started = time.time() - spent_before
    for epoch in range(first_epoch, config.epochs + 1):
        if progress.stop:
            break
        epoch_started = time.time()
        epoch_features = run.features + sample_pools(pools, run.pool_features, config.seed, epoch)
        batches = length_batches(epoch_features, config.batch_size, rng)
        loss = _one_epoch(
            run, config, epoch, epoch_features, batches, optimizer, scheduler, show_progress
        )
        _score_epoch(run, config, epoch, loss, dev_sets, progress, log)
        took = time.time() - epoch_started
        if (
            not progress.stop
            and config.time_budget_s is not None
            and epoch < config.epochs
            and time.time() - progress.started + took > config.time_budget_s
        ):
            log(
                f"time budget: another epoch (about {took:.0f} s) would pass "
                f"{config.time_budget_s:.0f} s; stopping after epoch {epoch}"
            )
            progress.stop = True
        if (
            not progress.stop
            and config.stop_after_epoch is not None
            and config.stop_after_epoch <= epoch < config.epochs
        ):
            log(
                f"stopping after epoch {epoch} of a {config.epochs}-epoch schedule (stop_after_epoch)"
            )
            progress.stop = True
        save_checkpoint(
            out,
            {
                "config": config_key(config),
                "epoch": epoch,
                "trainable": trainable_state(model),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": rng.getstate(),
                "torch_rng": torch.get_rng_state(),
                "best_f1": progress.best_f1,
                "best_epoch": progress.best_epoch,
                "best_state": progress.best_state,
                "stale": progress.stale,
                "history": progress.history,
                "seconds": time.time() - progress.started,
                "stopped": progress.stop,
            },
        )
        if progress.stop:
            break
    assert progress.best_state is not None
    model.load_state_dict(progress.best_state, strict=False)
    model.eval()
    return progress


def _one_epoch(
    run: _Run,
    config: TrainConfig,
    epoch: int,
    epoch_features: list[Feature],
    batches: list[list[int]],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    show_progress: bool,
) -> float:
    """One pass over ``batches``; the mean loss."""
    from tqdm.auto import tqdm

    model = run.model
    bf16 = config.precision == "bf16"
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
        arrays = collate([epoch_features[i] for i in batch], run.tokenizer.pad_token_id or 0)
        with torch.autocast(config.device, dtype=torch.bfloat16, enabled=bf16):
            out = model(
                **{
                    key: torch.from_numpy(arrays[key]).to(config.device)
                    for key in ("input_ids", "attention_mask", "token_type_ids")
                    if key in arrays
                }
            )
        loss = joint_loss(out, arrays, run.token_loss, run.sentiment_loss, config.sentiment_weight)
        optimizer.zero_grad(set_to_none=True)
        if loss.requires_grad:
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
            optimizer.step()
        scheduler.step()
        running += float(loss.detach())
        if step % 20 == 0:
            bar.set_postfix(loss=f"{running / step:.4f}")
    bar.close()
    return running / max(1, len(batches))


def _score_epoch(
    run: _Run,
    config: TrainConfig,
    epoch: int,
    loss: float,
    dev_sets: Sequence[EvalSet],
    progress: _Progress,
    log: Callable[[str], None],
) -> None:
    """Score the epoch on ``dev_sets``, add it to the history, keep it when it is the best
    and count the epochs without improvement (``progress.stop`` at ``config.patience``)."""
    scores, sentiment_scores = evaluate_model(run.model, run.tokenizer, config, dev_sets)
    f1 = selection_f1(scores, dev_sets, sentiment_scores)
    per_set = " ".join(
        [f"{name}={s['overall']['f1']:.4f}" for name, s in scores.items()]
        + [f"{name}:sentiment={s['macro_f1']:.4f}" for name, s in sentiment_scores.items()]
    )
    log(
        f"epoch {epoch}: loss {loss:.4f} dev {f1:.4f} "
        f"({per_set}) [{time.time() - progress.started:.0f}s]"
    )
    entry = {
        "epoch": epoch,
        "loss": round(loss, 5),
        "dev_f1": round(f1, 4),
        "dev": {n: s["overall"]["f1"] for n, s in scores.items()},
    }
    if sentiment_scores:
        entry["dev_sentiment"] = {n: s["macro_f1"] for n, s in sentiment_scores.items()}
    progress.history.append(entry)
    if f1 > progress.best_f1:
        progress.best_f1, progress.best_epoch, progress.stale = f1, epoch, 0
        progress.best_state = trainable_state(run.model)
    else:
        progress.stale += 1
        if progress.stale >= config.patience:
            log(f"early stop: no dev improvement for {progress.stale} epochs")
            progress.stop = True


def _finish(
    run: _Run,
    config: TrainConfig,
    progress: _Progress,
    dev_sets: Sequence[EvalSet],
    test_sets: Sequence[EvalSet],
    data_description: dict | None,
    log: Callable[[str], None],
) -> dict:
    """Fit the sentiment offsets, write the artefact, score it (fp32 and int8) and write
    ``metrics.json``; the checkpoint goes."""
    out = Path(config.output)
    model = run.model
    offsets_record = None
    if run.sentiment_labels and config.sentiment_offsets:
        offsets_record = fit_sentiment_offsets(model, run.tokenizer, config, dev_sets, log)
    train_seconds = time.time() - progress.started
    save_artefact(model, config, run.labels, out, sentiment_labels=run.sentiment_labels)
    calibrate_artefact(out, run.texts[:: max(1, len(run.texts) // 2000)])
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
        score_int8(out, final_sets, log) if config.int8_scores else ({}, {})
    )
    metrics = {
        "model_id": model_id_of(out),
        "scores": scores,
        "int8_scores": int8_scores,
        "best_epoch": progress.best_epoch,
        "selection_dev_f1": round(progress.best_f1, 4),
        "history": progress.history,
        "seed": config.seed,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
        "labels": run.labels,
        "segmentation": WORDS,
        "decoding": tagger.engine.decoding,
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
        "total_seconds": round(time.time() - progress.started, 1),
        "trainable_parameters": run.trainable,
    }
    if run.sentiment_labels:
        metrics["sentiment"] = {
            "labels": run.sentiment_labels,
            "weight": config.sentiment_weight,
            "class_offsets": offsets_record,
        }
        metrics["sentiment_scores"] = sentiment_scores
        metrics["int8_sentiment_scores"] = int8_sentiment
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    (out / CHECKPOINT_FILE).unlink(missing_ok=True)
    return metrics


def _version(package: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


if __name__ == "__main__":
    from model.train_recipe import main

    raise SystemExit(main())
