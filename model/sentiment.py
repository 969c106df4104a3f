"""The second head: sentiment (negative / neutral / positive) of a whole text from the
tagger's own encoder pass.

:class:`BertForTokensAndSentiment` is a ``BertForTokenClassification`` with one more head: the
encoder's last hidden states are mean-pooled over the attention mask (the pooling the
backbone, ``all-MiniLM-L6-v2``, was trained with as a sentence encoder) and a linear layer
gives one logit per sentiment label. One forward pass returns both ``logits`` (per token, as
before) and ``sentiment_logits`` (per window). The labels and the pooling live in the model
config (``sentiment_labels``, ``sentiment_pooling``) and in the artefact's ``tagger.json``
(``"sentiment": {"labels": [...], "pooling": "mean"}``); an artefact without that entry
loads as a plain token classifier, exactly as before.

The head is a :class:`SentimentHead`, not an ``nn.Linear``, so the int8 path
(model/quantize.py swaps every ``nn.Linear``) leaves it in fp32: 3 × 384 weights cost nothing,
and a pooled input of a few rows would otherwise need ``torch._int_mm``'s padding.

Example:
    >>> model = load_two_head(["O", "B-PER", "I-PER"])              # doctest: +SKIP
    >>> out = model(input_ids=ids, attention_mask=mask)             # doctest: +SKIP
    >>> out.logits.shape, out.sentiment_logits.shape                # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import BertForTokenClassification
from transformers.utils import ModelOutput

SENTIMENT_LABELS = ("negative", "neutral", "positive")
"""The sentiment classes, in head order."""

POOLING = "mean"
"""How a window's token states become one vector: mean over the attention mask."""


class SentimentHead(torch.nn.Module):
    """``logits = x · Wᵀ + b`` (a linear layer that int8 quantization leaves in fp32)."""

    def __init__(self, hidden: int, n_labels: int) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.empty(n_labels, hidden))
        self.bias = torch.nn.Parameter(torch.zeros(n_labels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Normal(0, 0.02) weights, zero bias (BERT's initialisation)."""
        with torch.no_grad():
            self.weight.normal_(0.0, 0.02)
            self.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.linear(x, self.weight, self.bias)


@dataclass
class TwoHeadOutput(ModelOutput):
    """``logits`` (batch, tokens, entity labels) and ``sentiment_logits`` (batch, labels)."""

    logits: torch.Tensor | None = None
    sentiment_logits: torch.Tensor | None = None


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean of ``hidden`` (batch, tokens, dim) over the tokens where ``mask`` is 1."""
    if mask is None:
        return hidden.mean(dim=1)
    weights = mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


class BertForTokensAndSentiment(BertForTokenClassification):
    """A token classifier with a sentiment head on the mean-pooled encoder output.

    The config carries ``sentiment_labels`` (default :data:`SENTIMENT_LABELS`) and
    ``sentiment_pooling`` (:data:`POOLING`).
    """

    def __init__(self, config) -> None:
        super().__init__(config)
        labels = list(getattr(config, "sentiment_labels", None) or SENTIMENT_LABELS)
        config.sentiment_labels = labels
        config.sentiment_pooling = getattr(config, "sentiment_pooling", None) or POOLING
        if config.sentiment_pooling != POOLING:
            raise ValueError(f"unknown sentiment pooling {config.sentiment_pooling!r}")
        self.sentiment_head = SentimentHead(config.hidden_size, len(labels))

    def _init_weights(self, module) -> None:
        if isinstance(module, SentimentHead):
            module.reset_parameters()
            return
        super()._init_weights(module)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        **_ignored,
    ) -> TwoHeadOutput:
        """Both heads from one encoder pass (extra keyword arguments, e.g. peft's
        ``labels`` or ``output_attentions``, are ignored: the losses are the trainer's)."""
        outputs = self.bert(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            return_dict=True,
        )
        hidden = outputs[0]
        logits = self.classifier(self.dropout(hidden))
        pooled = mean_pool(hidden, attention_mask)
        sentiment = self.sentiment_head(self.dropout(pooled))
        return TwoHeadOutput(logits=logits, sentiment_logits=sentiment)


def sentiment_config(labels: list[str] | tuple[str, ...] = SENTIMENT_LABELS) -> dict:
    """The ``"sentiment"`` entry of ``tagger.json``."""
    return {"labels": list(labels), "pooling": POOLING}


def check_sentiment_settings(entry: object) -> dict | None:
    """``tagger.json``'s ``"sentiment"`` entry, checked (``None``: the artefact has no head).

    Raises:
        ValueError: the entry is malformed.
    """
    if entry is None:
        return None
    if (
        not isinstance(entry, dict)
        or not isinstance(entry.get("labels"), list)
        or len(entry["labels"]) < 2
        or not all(isinstance(x, str) for x in entry["labels"])
    ):
        raise ValueError('\'sentiment\' must be {"labels": [...], "pooling": "mean"}')
    if entry.get("pooling", POOLING) != POOLING:
        raise ValueError(f"unknown sentiment pooling {entry.get('pooling')!r}")
    return {"labels": list(entry["labels"]), "pooling": POOLING}


def load_two_head(
    labels: list[str],
    sentiment_labels: list[str] | tuple[str, ...] = SENTIMENT_LABELS,
    *,
    path: Path | str | None = None,
) -> BertForTokensAndSentiment:
    """The backbone (or ``path``) with new token and sentiment heads (SDPA attention)."""
    from transformers import BertConfig

    from model.backbone import backbone_dir, label_config, quiet_transformers

    quiet_transformers()
    source = str(path or backbone_dir())
    config = BertConfig.from_pretrained(source, local_files_only=True, **label_config(labels))
    config.sentiment_labels = list(sentiment_labels)
    config.sentiment_pooling = POOLING
    return BertForTokensAndSentiment.from_pretrained(
        source,
        config=config,
        local_files_only=True,
        attn_implementation="sdpa",
        dtype=torch.float32,  # a float16 copy of the backbone (model.backbone_copy) too
    )


def macro_f1_of(predicted: np.ndarray, gold: np.ndarray, classes: int) -> float:
    """Macro-F1 over the classes present in ``gold`` (integer class arrays)."""
    hits = np.bincount(gold[predicted == gold], minlength=classes)
    said = np.bincount(predicted, minlength=classes)
    true = np.bincount(gold, minlength=classes)
    present = true > 0
    f1 = np.where(said + true > 0, 2 * hits / np.maximum(said + true, 1), 0.0)
    return float(f1[present].mean()) if present.any() else 0.0


def fit_class_offsets(
    probabilities: np.ndarray,
    gold: np.ndarray,
    *,
    span: float = 2.0,
    step: float = 0.05,
    rounds: int = 4,
) -> tuple[np.ndarray, float, float]:
    """Per-class offsets to the log-probabilities that maximise macro-F1 on a validation set.

    A classifier trained with cross-entropy picks the likeliest class, which favours the
    larger classes; macro-F1 weighs every class alike. Coordinate ascent over a grid of
    ``-span..span`` in ``step``s (class 0 stays at 0: only differences matter) keeps a change
    only when it raises macro-F1, so a set where argmax is already best keeps zeros. Adding the
    offsets to the sentiment head's bias applies them at inference.

    Returns:
        ``(offsets, macro_f1_before, macro_f1_after)``.

    Example:
        >>> p = np.array([[0.6, 0.4], [0.55, 0.45], [0.2, 0.8], [0.52, 0.48]])
        >>> offsets, before, after = fit_class_offsets(p, np.array([0, 1, 1, 1]))
        >>> before < after == 1.0
        True
    """
    logp = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, None))
    gold = np.asarray(gold, dtype=np.int64)
    classes = logp.shape[1]
    offsets = np.zeros(classes)
    grid = np.round(np.arange(-span, span + step / 2, step), 6)

    def score(o: np.ndarray) -> float:
        return macro_f1_of((logp + o).argmax(axis=1), gold, classes)

    before = best = score(offsets)
    for _ in range(rounds):
        changed = False
        for k in range(1, classes):
            for value in sorted(grid, key=abs):
                trial = offsets.copy()
                trial[k] = value
                f1 = score(trial)
                if f1 > best + 1e-9:
                    best, offsets, changed = f1, trial, True
        if not changed:
            break
    return offsets, before, best
