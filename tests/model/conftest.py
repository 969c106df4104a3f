"""Fixtures of the tagger tests: small real BERT models that run in milliseconds.

``keyword_model`` is a real ``BertForTokenClassification`` with no encoder layer and zeroed
position embeddings, wired so that chosen word pieces get chosen labels and every other
token gets ``O``. Its output depends on the token alone, so windowed and un-windowed runs
must agree exactly, and the expected entities are known in advance.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import torch

from model.artefact import SETTINGS_FILE
from model.backbone import load_tokenizer
from model.datasets import Example, example_from_spans, split_words
from model.engine import cpu_multiplies_bf16
from model.labels import ENTITY_TYPES, iob2_labels
from model.sentiment import SENTIMENT_LABELS, sentiment_config
from model.tagger import Tagger
from tests.tiny_models import random_token_classifier, random_two_head

LABELS = iob2_labels(ENTITY_TYPES)

AUTO_ON_THIS_CPU = "bf16" if cpu_multiplies_bf16() else "fp32"
"""What ``auto`` precision runs on this CPU for an artefact without int8 calibration, and
for a small job of a calibrated one (bf16 where the CPU multiplies bf16,
:func:`model.engine.cpu_multiplies_bf16`; a CPU with AMX also runs large jobs in bf16)."""

# word pieces of the keyword model and their labels
KEYWORDS: dict[str, str] = {
    "jane": "B-PER",
    "doe": "I-PER",
    "ac": "B-ORG",  # "Acme" = ac ##me
    "##me": "B-LOC",  # a continuation piece: must be ignored (first-piece aggregation)
    "token": "B-PRODUCT",  # "tokenization" = token ##ization
    "azure": "B-PRODUCT",
    "paris": "B-LOC",
    "zurich": "B-LOC",  # "Zürich" normalises to zurich
    "orphan": "I-ORG",  # an I- that cannot continue anything: see test_engine's decoder tests
}


@pytest.fixture(scope="session")
def tokenizer():
    return load_tokenizer()


def keyword_model(tokenizer, keywords: Mapping[str, str] = KEYWORDS):
    """A context-free BERT token classifier labelling ``keywords`` (piece → label)."""
    from transformers import BertConfig, BertForTokenClassification

    hidden = 32
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=hidden,
        num_hidden_layers=0,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=512,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={lb: i for i, lb in enumerate(LABELS)},
        attn_implementation="sdpa",
    )
    model = BertForTokenClassification(config)
    with torch.no_grad():
        emb = model.bert.embeddings
        emb.position_embeddings.weight.zero_()
        emb.token_type_embeddings.weight.zero_()
        emb.LayerNorm.weight.fill_(1.0)
        emb.LayerNorm.bias.zero_()
        words = emb.word_embeddings.weight
        words.zero_()
        words[:, 0] = 8.0  # every token points at dimension 0 → O
        classifier = model.classifier
        classifier.weight.zero_()
        classifier.bias.zero_()
        classifier.weight[0, 0] = 1.0
        for piece, label in keywords.items():
            token_id = tokenizer.convert_tokens_to_ids(piece)
            assert token_id != tokenizer.unk_token_id, piece
            dim = 1 + LABELS.index(label)
            words[token_id, 0] = 0.0
            words[token_id, dim] = 8.0
            classifier.weight[LABELS.index(label), dim] = 1.0
    model.eval()
    return model


def save_full_artefact(
    model, directory: Path, *, name: str, max_length: int = 256, stride: int = 64
) -> Path:
    """Write ``model`` as a ``full``-format tagger artefact."""
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(directory))
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    (directory / SETTINGS_FILE).write_text(
        json.dumps(
            {
                "format": "full",
                "name": name,
                "labels": labels,
                "max_length": max_length,
                "stride": stride,
                "backbone": "test",
            }
        ),
        encoding="utf-8",
    )
    return directory


@pytest.fixture(scope="session")
def keyword_dir(tmp_path_factory, tokenizer) -> Path:
    """A saved keyword-model artefact (for CLI, file-mode and store tests)."""
    return save_full_artefact(
        keyword_model(tokenizer), tmp_path_factory.mktemp("kw") / "kw", name="keywords"
    )


@pytest.fixture(scope="session")
def keyword_tagger(keyword_dir) -> Tagger:
    return Tagger.load(keyword_dir, device="cpu")


@pytest.fixture(scope="session")
def random_dir(tmp_path_factory) -> Path:
    """A saved tiny random BERT (2 layers, hidden 32) artefact with small windows."""
    return save_full_artefact(
        random_token_classifier(LABELS, seed=0),
        tmp_path_factory.mktemp("rnd") / "rnd",
        name="random",
        max_length=32,
        stride=8,
    )


@pytest.fixture(scope="session")
def random_tagger(random_dir) -> Tagger:
    return Tagger.load(random_dir, device="cpu")


def add_tickets(store, texts: list[str], *, prefix: str = "t") -> list[str]:
    """Insert tickets with the given texts; return their keys."""
    keys = [f"{prefix}{i:05d}" for i in range(len(texts))]
    rows = [(k, t, "test") for k, t in zip(keys, texts, strict=True)]
    store.write(
        lambda conn: conn.executemany(
            "INSERT INTO tickets (ticket_key, text, source) VALUES (?, ?, ?)", rows
        )
    )
    return keys


def ticket_texts(n: int) -> list[str]:
    """``n`` varied ticket texts with keyword entities, emoji, CRLF and an empty one."""
    parts = [
        "Jane Doe",
        "Acme",
        "tokenization",
        "Azure",
        "Zürich 😀",
        "Paris",
        "orphan",
        "nothing\r\nhere",
        "please help",
    ]
    texts = []
    for i in range(n):
        words = [parts[(i * 7 + j * 3) % len(parts)] for j in range(1 + i % 9)]
        texts.append(f"#{i} " + " and ".join(words))
    if n > 3:
        texts[3] = ""
    return texts


def entity_rows(store, model_id: str) -> list[tuple]:
    """All entity rows of ``model_id``, sorted, without run-specific columns."""
    return store.fetchall(
        'SELECT ticket_key, start, "end", label, text, score FROM entities '
        'WHERE model_id = ? ORDER BY ticket_key, start, "end", label',
        [model_id],
    )


def save_lora_artefact(directory: Path, *, name: str = "lora") -> Path:
    """A LoRA artefact of both heads on the real backbone, adapters untrained: what a LoRA
    run writes (``save_artefact``), in a second."""
    from model.artefact_writer import save_artefact
    from model.train_config import TrainConfig
    from model.train_setup import build_model

    config = TrainConfig(output=directory, name=name)
    model = build_model(config, LABELS, SENTIMENT_LABELS)
    save_artefact(model, config, LABELS, directory, sentiment_labels=SENTIMENT_LABELS)
    return directory


def save_two_head(
    model, directory: Path, *, name: str, max_length: int = 32, stride: int = 8
) -> Path:
    """A ``full``-format artefact of a two-head model (``"sentiment"`` in tagger.json)."""
    save_full_artefact(model, directory, name=name, max_length=max_length, stride=stride)
    settings = json.loads((directory / SETTINGS_FILE).read_text(encoding="utf-8"))
    settings["segmentation"] = "words"
    settings["sentiment"] = sentiment_config()
    (directory / SETTINGS_FILE).write_text(json.dumps(settings), encoding="utf-8")
    return directory


def tiny_entity_examples() -> list[Example]:
    """Eight short annotated texts (PER, ORG, LOC, PRODUCT) for tiny training runs."""
    return [
        example_from_spans(
            "Jane Doe works at Acme in Paris", [(0, 8, "PER"), (18, 22, "ORG"), (26, 31, "LOC")]
        ),
        example_from_spans("Azure is down again", [(0, 5, "PRODUCT")]),
    ] * 4


def tiny_moods() -> list[Example]:
    """Three texts with a sentiment and no entity annotation, one per class."""
    return [
        Example(t, (), split_words(t), sentiment=s, annotated=False)
        for t, s in [
            ("I love it", "positive"),
            ("this is awful", "negative"),
            ("ok then", "neutral"),
        ]
    ]


def train_random_two_heads(monkeypatch: pytest.MonkeyPatch, seed: int = 1) -> None:
    """Make ``model.train`` build a tiny random two-head BERT instead of the backbone."""
    from model import train as training

    monkeypatch.setattr(
        training,
        "build_model",
        lambda config, labels, sentiment_labels=None: random_two_head(
            labels, sentiment_labels or SENTIMENT_LABELS, seed=seed
        ),
    )


def stop_after_epoch(monkeypatch: pytest.MonkeyPatch, epoch: int) -> None:
    """Make ``model.train`` raise ``KeyboardInterrupt`` once the checkpoint of ``epoch`` is
    written (a run stopped between epochs)."""
    from model import train as training

    save = training.save_checkpoint

    def save_then_stop(out: Path, state: dict) -> None:
        save(out, state)
        if state["epoch"] == epoch:
            raise KeyboardInterrupt

    monkeypatch.setattr(training, "save_checkpoint", save_then_stop)


def train_tiny(
    out: Path,
    *,
    entities: list[Example] | None = None,
    moods: list[Example] | None = None,
    dev_entities: int = 2,
    pool_batch: int = 4,
    **config: Any,
) -> dict:
    """One tiny ``model.train.train`` run (the caller patches the model, e.g. with
    :func:`train_random_two_heads`) into ``out``: it learns ``entities`` (default
    :func:`tiny_entity_examples`) in batches of 4, scores the first ``dev_entities`` of them
    and ``moods`` (default :func:`tiny_moods`), and draws ``moods`` three times over as an
    epoch pool of ``pool_batch``. ``config`` sets the other ``TrainConfig`` fields (int8
    scores stay off). Returns the run's metrics."""
    from model import train as training
    from model.train_config import EpochPool, EvalSet, TrainConfig

    entities = tiny_entity_examples() if entities is None else entities
    moods = tiny_moods() if moods is None else moods
    settings = {"name": "tiny", "batch_size": 4, "int8_scores": False, **config}
    dev = [
        EvalSet("dev", entities[:dev_entities]),
        EvalSet("mood", moods, kind="sentiment"),
    ]
    return training.train(
        TrainConfig(output=out, **settings),
        entities,
        dev,
        pools=[EpochPool("moods", moods * 3, pool_batch)],
        log=lambda _m: None,
        show_progress=False,
    )
