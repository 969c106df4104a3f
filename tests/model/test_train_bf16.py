"""bf16 autocast training (``TrainConfig.precision``, ``--precision``) on a tiny random
two-head BERT: which precision ``auto`` means, refusal on a CPU without fast bf16, a loss that
falls, bf16 that really differs from fp32, and a resume that gives the uninterrupted result
and refuses a checkpoint of the other precision."""

from __future__ import annotations

import pytest

import model.engine as engine
from model.datasets import Example, example_from_spans, split_words
from model.train_checkpoint import config_key
from model.train_config import CHECKPOINT_FILE, TrainConfig, training_precision
from tests.model.conftest import stop_after_epoch, train_random_two_heads, train_tiny

FAST_BF16 = engine.cpu_runs_bf16_fast()


@pytest.fixture
def bf16_cpu(monkeypatch):
    """bf16 training allowed here: the real check on a CPU with AMX; elsewhere the check is
    told yes (autocast then emulates bf16: slow, but the same arithmetic for a tiny model)."""
    if not FAST_BF16:
        monkeypatch.setattr(engine, "cpu_runs_bf16_fast", lambda: True)


def _examples() -> tuple[list[Example], list[Example]]:
    entities = [
        example_from_spans(
            "Jane Doe works at Acme in Paris", [(0, 8, "PER"), (18, 22, "ORG"), (26, 31, "LOC")]
        ),
        example_from_spans("Azure is down again", [(0, 5, "PRODUCT")]),
        example_from_spans("Bob Stone moved to Berlin", [(0, 9, "PER"), (19, 25, "LOC")]),
    ] * 4
    moods = [
        Example(t, (), split_words(t), sentiment=s, annotated=False)
        for t, s in [
            ("I love it", "positive"),
            ("this is awful", "negative"),
            ("ok then", "neutral"),
            ("great support, thanks", "positive"),
        ]
    ]
    return entities, moods


def _train(
    monkeypatch, out, *, precision: str, epochs: int = 4, interrupt_after: int | None = None
) -> dict:
    train_random_two_heads(monkeypatch)
    if interrupt_after is not None:
        stop_after_epoch(monkeypatch, interrupt_after)
    entities, moods = _examples()
    return train_tiny(
        out,
        entities=entities,
        moods=moods,
        dev_entities=3,
        pool_batch=8,
        epochs=epochs,
        lr=1e-2,
        head_lr=1e-2,
        full=True,
        sentiment_offsets=False,
        patience=epochs + 1,
        precision=precision,
    )


def test_auto_means_bf16_exactly_where_the_cpu_runs_it_fast(monkeypatch) -> None:
    assert training_precision("auto") == ("bf16" if FAST_BF16 else "fp32")
    assert training_precision("fp32") == "fp32"
    monkeypatch.setattr(engine, "cpu_runs_bf16_fast", lambda: False)
    assert training_precision("auto") == "fp32"
    with pytest.raises(ValueError, match="AMX"):
        training_precision("bf16")
    with pytest.raises(ValueError, match="unknown precision"):
        training_precision("int8")


def test_bf16_is_refused_before_training_on_a_cpu_without_fast_bf16(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(engine, "cpu_runs_bf16_fast", lambda: False)
    with pytest.raises(ValueError, match="AMX"):
        _train(monkeypatch, tmp_path / "out", precision="bf16", epochs=1)
    assert not (tmp_path / "out").exists()  # nothing written


def test_bf16_training_lowers_the_loss_and_records_its_precision(
    tmp_path, monkeypatch, bf16_cpu
) -> None:
    metrics = _train(monkeypatch, tmp_path / "bf16", precision="bf16")
    losses = [h["loss"] for h in metrics["history"]]
    assert len(losses) == 4 and losses[-1] < losses[0] * 0.8, losses
    assert metrics["config"]["precision"] == "bf16"
    auto = _train(monkeypatch, tmp_path / "auto", precision="auto", epochs=1)
    assert auto["config"]["precision"] == "bf16"  # what auto resolved to, not "auto"
    fp32 = _train(monkeypatch, tmp_path / "fp32", precision="fp32")
    assert fp32["config"]["precision"] == "fp32"
    # autocast really ran in bf16: the same seed and data give other losses than fp32
    assert [h["loss"] for h in fp32["history"]] != losses
    assert fp32["model_id"] != metrics["model_id"]


def test_bf16_training_resumes_as_if_never_stopped(tmp_path, monkeypatch, bf16_cpu) -> None:
    clean = _train(monkeypatch, tmp_path / "clean", precision="bf16", epochs=3)
    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        _train(patched, tmp_path / "resumed", precision="bf16", epochs=3, interrupt_after=2)
    assert (tmp_path / "resumed" / CHECKPOINT_FILE).is_file()
    with pytest.raises(ValueError, match="other settings"):  # the key holds the precision
        _train(monkeypatch, tmp_path / "resumed", precision="fp32", epochs=3)
    resumed = _train(monkeypatch, tmp_path / "resumed", precision="auto", epochs=3)
    assert resumed["history"] == clean["history"]
    assert resumed["model_id"] == clean["model_id"]
    assert not (tmp_path / "resumed" / CHECKPOINT_FILE).exists()


def test_the_resume_key_holds_bf16_and_leaves_fp32_keys_as_before(tmp_path) -> None:
    fp32 = config_key(TrainConfig(output=tmp_path))
    assert "precision" not in fp32  # checkpoints of older (fp32) runs still resume
    bf16 = config_key(TrainConfig(output=tmp_path, precision="bf16"))
    assert bf16["precision"] == "bf16" and bf16 != fp32
