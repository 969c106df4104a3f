"""The issue's third sentiment peer: a plain full fine-tune of the backbone on GoEmotions alone.

No entity head, no LoRA, no class offsets: the backbone (every weight) with a linear head on
its mean-pooled last hidden states (the pooling the tagger's head uses), cross-entropy with
class weights ``(mean count / count) ** 0.5`` (the tagger's ``--sentiment-class-power 0.5``),
AdamW (lr 5e-5, the head 10×, weight decay 0.01), 6 % linear warm-up then linear decay,
grad-norm clip 1, batches of 32 texts of at most 64 tokens bucketed by length, seed 13.
Trained on a seeded ``share`` of the training rows for ``epochs`` epochs; the labels it gives
are the argmax. It is what the two-head tagger's sentiment is measured against: the issue
quotes about 0.75 for one epoch on half of GoEmotions train; more epochs on all of it say
how far this backbone goes on sentiment alone (see model/README, "The backbone's reach").
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

LABELS = ("negative", "neutral", "positive")
MAX_TOKENS = 64
BATCH = 32


def fine_tune_labels(
    train_texts: Sequence[str],
    train_labels: Sequence[str],
    texts: Sequence[str],
    *,
    epochs: int = 1,
    share: float = 0.5,
    seed: int = 13,
    backbone: Path | str | None = None,
    threads: int | None = None,
) -> list[str]:
    """Fine-tune the backbone (or ``backbone``, a BERT folder) on a seeded ``share`` of the
    training rows for ``epochs`` epochs; the predicted label of every text in ``texts``."""
    import numpy as np
    import torch
    from torch import nn
    from transformers import AutoModel, get_linear_schedule_with_warmup

    from model.backbone import backbone_dir, load_tokenizer, quiet_transformers
    from model.features import IGNORE, Feature, collate
    from model.train_setup import length_batches, sentiment_weights

    if not 0 < share <= 1 or epochs < 1:
        raise ValueError(f"share {share} must be in (0, 1] and epochs {epochs} at least 1")
    if threads:
        torch.set_num_threads(threads)
    quiet_transformers()
    torch.manual_seed(seed)
    rng = random.Random(seed)
    keep = sorted(rng.sample(range(len(train_texts)), round(len(train_texts) * share)))
    tokenizer = load_tokenizer(backbone)
    source = str(backbone or backbone_dir())
    encoder = AutoModel.from_pretrained(source, local_files_only=True, dtype=torch.float32)
    head = nn.Linear(encoder.config.hidden_size, len(LABELS))

    def features(batch_texts: Sequence[str], classes: Sequence[int]) -> list[Feature]:
        ids = tokenizer(list(batch_texts), truncation=True, max_length=MAX_TOKENS)["input_ids"]
        return [
            Feature(np.asarray(x), np.full(len(x), IGNORE), c)
            for x, c in zip(ids, classes, strict=True)
        ]

    def forward(batch: list[Feature]) -> torch.Tensor:
        arrays = collate(batch)
        mask = torch.from_numpy(arrays["attention_mask"])
        hidden = encoder(
            input_ids=torch.from_numpy(arrays["input_ids"]), attention_mask=mask
        ).last_hidden_state
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        return head((hidden * weights).sum(1) / weights.sum(1))

    train = features([train_texts[i] for i in keep], [LABELS.index(train_labels[i]) for i in keep])
    loss_of = nn.CrossEntropyLoss(weight=sentiment_weights(train, len(LABELS), 0.5))
    optimizer = torch.optim.AdamW(
        [
            {"params": encoder.parameters(), "lr": 5e-5},
            {"params": head.parameters(), "lr": 5e-4},
        ],
        weight_decay=0.01,
    )
    steps = epochs * -(-len(train) // BATCH)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.06 * steps), steps)
    parameters = [*encoder.parameters(), *head.parameters()]
    encoder.train()
    for _ in range(epochs):
        for batch in length_batches(train, BATCH, rng):
            gold = torch.tensor([train[i].sentiment for i in batch])
            loss = loss_of(forward([train[i] for i in batch]), gold)
            loss.backward()
            nn.utils.clip_grad_norm_(parameters, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
    encoder.eval()
    test = features(texts, [IGNORE] * len(texts))
    by_length = sorted(range(len(test)), key=lambda i: len(test[i].input_ids))
    predicted = [""] * len(test)
    with torch.no_grad():
        for start in range(0, len(by_length), 128):
            batch = by_length[start : start + 128]
            rows = forward([test[i] for i in batch]).argmax(-1)
            for i, row in zip(batch, rows, strict=True):
                predicted[i] = LABELS[int(row)]
    return predicted
