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
from collections.abc import Iterator, Sequence
from pathlib import Path

LABELS = ("negative", "neutral", "positive")
MAX_TOKENS = 64
BATCH = 32


def _batches(encoded: list[list[int]], size: int, rng: random.Random | None) -> Iterator[list[int]]:
    """Index batches of similar length: shuffled chunks sorted by length (``rng``), or all
    sorted (``None``: inference)."""
    order = list(range(len(encoded)))
    if rng is None:
        order.sort(key=lambda i: len(encoded[i]))
        yield from (order[i : i + size] for i in range(0, len(order), size))
        return
    rng.shuffle(order)
    chunk = size * 50
    order = [
        i
        for start in range(0, len(order), chunk)
        for i in sorted(order[start : start + chunk], key=lambda k: len(encoded[k]))
    ]
    batches = [order[i : i + size] for i in range(0, len(order), size)]
    rng.shuffle(batches)
    yield from batches


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

    def encode(batch_texts: Sequence[str]) -> list[list[int]]:
        return tokenizer(list(batch_texts), truncation=True, max_length=MAX_TOKENS)["input_ids"]

    def forward(ids: list[list[int]]) -> torch.Tensor:
        width = max(len(x) for x in ids)
        tokens = torch.zeros(len(ids), width, dtype=torch.long)
        mask = torch.zeros(len(ids), width, dtype=torch.long)
        for row, x in enumerate(ids):
            tokens[row, : len(x)] = torch.tensor(x)
            mask[row, : len(x)] = 1
        hidden = encoder(input_ids=tokens, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        return head((hidden * weights).sum(1) / weights.sum(1))

    train_ids = encode([train_texts[i] for i in keep])
    gold = torch.tensor([LABELS.index(train_labels[i]) for i in keep])
    counts = np.bincount(gold.numpy(), minlength=len(LABELS)).astype(float)
    class_weight = torch.tensor((counts.mean() / np.maximum(counts, 1)) ** 0.5, dtype=torch.float)
    loss_of = nn.CrossEntropyLoss(weight=class_weight)
    optimizer = torch.optim.AdamW(
        [
            {"params": encoder.parameters(), "lr": 5e-5},
            {"params": head.parameters(), "lr": 5e-4},
        ],
        weight_decay=0.01,
    )
    steps = epochs * -(-len(train_ids) // BATCH)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.06 * steps), steps)
    parameters = [*encoder.parameters(), *head.parameters()]
    encoder.train()
    for _ in range(epochs):
        for batch in _batches(train_ids, BATCH, rng):
            loss = loss_of(forward([train_ids[i] for i in batch]), gold[batch])
            loss.backward()
            nn.utils.clip_grad_norm_(parameters, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
    encoder.eval()
    test_ids = encode(texts)
    predicted = [""] * len(test_ids)
    with torch.no_grad():
        for batch in _batches(test_ids, 128, None):
            for i, row in zip(batch, forward([test_ids[i] for i in batch]).argmax(-1), strict=True):
                predicted[i] = LABELS[int(row)]
    return predicted
