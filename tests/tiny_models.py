"""Tiny randomly initialised BERT models for fast tests (2 layers, hidden 32, the backbone's
vocabulary size): a token classifier and the two-head (tokens + sentiment) model, each
deterministic for its ``seed``. Test-building helpers only: nothing in the packages uses
them."""

from __future__ import annotations

from typing import Any

from model.backbone import label_config, quiet_transformers
from model.sentiment import POOLING, SENTIMENT_LABELS


def tiny_config(labels: list[str], *, vocab_size: int = 30522) -> Any:
    """A small ``BertConfig`` (2 layers, hidden 32) with the backbone's vocabulary size."""
    from transformers import BertConfig

    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        attn_implementation="sdpa",
        **label_config(labels),
    )


def random_token_classifier(labels: list[str], *, seed: int = 0, max_position: int = 512) -> Any:
    """A tiny randomly initialised ``BertForTokenClassification``."""
    import torch
    from transformers import BertForTokenClassification

    quiet_transformers()
    torch.manual_seed(seed)
    config = tiny_config(labels)
    config.max_position_embeddings = max_position
    model = BertForTokenClassification(config)
    model.eval()
    return model


def random_two_head(
    labels: list[str],
    sentiment_labels: list[str] | tuple[str, ...] = SENTIMENT_LABELS,
    *,
    seed: int = 0,
) -> Any:
    """A tiny randomly initialised :class:`model.sentiment.BertForTokensAndSentiment`."""
    import torch

    from model.sentiment import BertForTokensAndSentiment

    quiet_transformers()
    torch.manual_seed(seed)
    config = tiny_config(labels)
    config.sentiment_labels = list(sentiment_labels)
    config.sentiment_pooling = POOLING
    model = BertForTokensAndSentiment(config)
    model.eval()
    return model
