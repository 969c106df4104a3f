"""Scoring during and after training, always through the inference engine: the evaluation
sets' entity F1 and sentiment macro-F1, the selection figure, the sentiment class offsets and
the int8 scores."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from model.evaluate import evaluate_examples, evaluate_sentiment
from model.tagger import Tagger
from model.train_config import EvalSet, TrainConfig
from model.train_setup import merged_copy


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


def training_tagger(model: torch.nn.Module, tokenizer, config: TrainConfig) -> Tagger:
    """An inference tagger over a merged copy of the model being trained (the model itself
    is untouched), with the artefact's window settings, in fp32 on the training device."""
    return Tagger.from_model(
        merged_copy(model, config),
        tokenizer,
        model_id="training",
        device=config.device,
        precision="fp32",
        max_length=config.infer_max_length,
        stride=config.stride,
    )


def evaluate_model(
    model: torch.nn.Module, tokenizer, config: TrainConfig, sets: Sequence[EvalSet]
) -> tuple[dict, dict]:
    """Scores of ``model`` on every evaluation set (through the inference engine)."""
    tagger = training_tagger(model, tokenizer, config)
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
    tagger = training_tagger(model, tokenizer, config)
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
                param.add_(torch.as_tensor(offsets, dtype=param.dtype, device=param.device))
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


def score_int8(out: Path, sets: Sequence[EvalSet], log: Callable[[str], None]) -> tuple[dict, dict]:
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
