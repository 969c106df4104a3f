"""The two-head tagger (entities + sentiment from one pass) on tiny random BERTs: the forward
pass, the joint loss, artefacts with and without the head, file mode, the store, Ray shards,
int8, and resumable training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import torch

from data.store import Store
from model.artefact import SETTINGS_FILE, model_id_of
from model.datasets import IGNORE_TYPE, Example, example_from_spans, split_words
from model.engine import Sentiment
from model.features import IGNORE, build_features, collate
from model.filemode import tag_file
from model.jobs import tag_store
from model.sentiment import SENTIMENT_LABELS, BertForTokensAndSentiment, SentimentHead
from model.tagger import Tagger
from tests.model.conftest import (
    LABELS,
    add_tickets,
    entity_rows,
    save_two_head,
    stop_after_epoch,
    ticket_texts,
    train_random_two_heads,
    train_tiny,
)
from tests.tiny_models import random_two_head


@pytest.fixture(scope="module")
def two_head_dir(tmp_path_factory) -> Path:
    return save_two_head(
        random_two_head(LABELS, seed=3), tmp_path_factory.mktemp("two") / "two", name="two"
    )


@pytest.fixture(scope="module")
def two_head_tagger(two_head_dir) -> Tagger:
    return Tagger.load(two_head_dir, device="cpu", precision="fp32")


# -- the model -------------------------------------------------------------------------------


def test_one_forward_pass_gives_token_and_sentiment_logits() -> None:
    model = random_two_head(LABELS)
    ids = torch.tensor([[101, 2000, 2001, 102, 0], [101, 2002, 102, 0, 0]])
    mask = (ids != 0).long()
    calls = []
    model.bert.register_forward_hook(lambda *_: calls.append(1))
    out = model(input_ids=ids, attention_mask=mask)
    assert len(calls) == 1  # one encoder pass for both heads
    assert out.logits.shape == (2, 5, len(LABELS))
    assert out.sentiment_logits.shape == (2, len(SENTIMENT_LABELS))
    # padding does not change a row's sentiment (mean over the attention mask)
    alone = model(input_ids=ids[1:, :3], attention_mask=mask[1:, :3])
    torch.testing.assert_close(
        alone.sentiment_logits, out.sentiment_logits[1:], rtol=1e-4, atol=1e-5
    )
    assert isinstance(model.sentiment_head, SentimentHead)  # not an nn.Linear: int8 keeps it


def test_joint_loss_trains_each_head_only_on_its_labels(tokenizer) -> None:
    from model.train_setup import joint_loss

    model = random_two_head(LABELS)
    model.train()
    label2id = {lb: i for i, lb in enumerate(LABELS)}
    sentiment2id = {lb: i for i, lb in enumerate(SENTIMENT_LABELS)}
    entities_only = example_from_spans("Jane Doe at Acme", [(0, 8, "PER")])
    sentiment_only = Example(
        "what a lovely day",
        (),
        split_words("what a lovely day"),
        sentiment="positive",
        annotated=False,
    )
    token_loss = torch.nn.CrossEntropyLoss(ignore_index=IGNORE)
    sentiment_loss = torch.nn.CrossEntropyLoss(ignore_index=IGNORE)

    def grads(example):
        model.zero_grad(set_to_none=True)
        features = build_features([example], tokenizer, label2id, sentiment2id=sentiment2id)
        arrays = collate(features)
        out = model(
            input_ids=torch.from_numpy(arrays["input_ids"]),
            attention_mask=torch.from_numpy(arrays["attention_mask"]),
        )
        loss = joint_loss(out, arrays, token_loss, sentiment_loss, 1.0)
        assert torch.isfinite(loss) and loss > 0
        loss.backward()
        return model.classifier.weight.grad, model.sentiment_head.weight.grad

    token_grad, sentiment_grad = grads(entities_only)
    assert token_grad.abs().sum() > 0
    assert sentiment_grad is None or sentiment_grad.abs().sum() == 0
    token_grad, sentiment_grad = grads(sentiment_only)
    assert token_grad is None or token_grad.abs().sum() == 0
    assert sentiment_grad.abs().sum() > 0


def test_features_mask_unannotated_texts_and_ignored_types(tokenizer) -> None:
    label2id = {lb: i for i, lb in enumerate(LABELS)}
    sentiment2id = {lb: i for i, lb in enumerate(SENTIMENT_LABELS)}
    plain = Example(
        "Jane is sad", (), split_words("Jane is sad"), sentiment="negative", annotated=False
    )
    misc = example_from_spans("Jane saw Star Wars", [(0, 4, "PER"), (9, 18, IGNORE_TYPE)])
    [f_plain] = build_features([plain], tokenizer, label2id, sentiment2id=sentiment2id)
    assert (f_plain.labels == IGNORE).all() and f_plain.sentiment == 0
    [f_misc] = build_features([misc], tokenizer, label2id, sentiment2id=sentiment2id)
    trained = [LABELS[i] for i in f_misc.labels if i != IGNORE]
    assert trained == ["B-PER", "O"] and f_misc.sentiment == IGNORE  # "Star Wars" untrained
    assert build_features([plain], tokenizer, label2id)[0].sentiment == IGNORE
    assert collate([f_plain, f_misc])["sentiment"].tolist() == [0, IGNORE]


# -- artefacts ---------------------------------------------------------------------------------


def test_two_head_artefact_round_trip(two_head_dir, two_head_tagger, tokenizer) -> None:
    settings = json.loads((two_head_dir / SETTINGS_FILE).read_text(encoding="utf-8"))
    assert settings["sentiment"] == {"labels": list(SENTIMENT_LABELS), "pooling": "mean"}
    tagger = two_head_tagger
    assert tagger.has_sentiment and tagger.sentiment_labels == list(SENTIMENT_LABELS)
    assert isinstance(tagger.engine.model, BertForTokensAndSentiment)
    text = "Jane Doe wrote from Paris"
    entities, [mood] = tagger.tag_with_sentiment([text])
    assert entities == tagger.tag([text])
    assert isinstance(mood, Sentiment) and mood.label in SENTIMENT_LABELS
    # a single-window text: the sentiment is the head's softmax on that window
    words = split_words(text)
    enc = tokenizer([text[a:b] for a, b in words], is_split_into_words=True)
    with torch.no_grad():
        logits = tagger.engine.model(input_ids=torch.tensor([enc["input_ids"]])).sentiment_logits
    probs = torch.softmax(logits, -1)[0]
    assert mood.label == SENTIMENT_LABELS[int(probs.argmax())]
    assert mood.score == pytest.approx(float(probs.max()), abs=1e-5)
    assert model_id_of(two_head_dir) == tagger.model_id


def test_long_texts_average_their_windows_and_do_not_depend_on_batching(two_head_tagger) -> None:
    texts = [" ".join(["Jane Doe asked about Azure in Paris again"] * 12), "short one", ""]
    _, first = two_head_tagger.tag_with_sentiment(texts, batch_size=1)
    _, second = two_head_tagger.tag_with_sentiment(texts, batch_size=64)
    assert first[2] is None and second[2] is None  # no token, no sentiment
    for a, b in zip(first[:2], second[:2], strict=True):
        assert a.label == b.label and a.score == pytest.approx(b.score, abs=1e-5)
    n_tokens = len(two_head_tagger.engine._encode(texts[:1])[0].ids)
    assert n_tokens > two_head_tagger.engine.window  # several windows


def test_lora_two_head_artefact_loads_with_its_head(tmp_path) -> None:
    """save_artefact of a LoRA two-head model on the real backbone, loaded back."""
    from model.artefact_writer import save_artefact
    from model.train_config import TrainConfig
    from model.train_setup import build_model

    config = TrainConfig(output=tmp_path / "lora", name="lora2")
    model = build_model(config, LABELS, SENTIMENT_LABELS)
    with torch.no_grad():  # make the head's trained copy differ from a fresh head
        for name, param in model.named_parameters():
            if "sentiment_head" in name and param.requires_grad:
                param.add_(0.5)
    save_artefact(model, config, LABELS, config.output, sentiment_labels=SENTIMENT_LABELS)
    settings = json.loads((config.output / SETTINGS_FILE).read_text(encoding="utf-8"))
    assert settings["segmentation"] == "words" and settings["sentiment"]["labels"]
    adapter = json.loads((config.output / "adapter_config.json").read_text(encoding="utf-8"))
    assert adapter["modules_to_save"] == sorted(adapter["modules_to_save"])
    tagger = Tagger.load(config.output, device="cpu", precision="fp32")
    assert tagger.has_sentiment
    merged = model.merge_and_unload()
    torch.testing.assert_close(
        tagger.engine.model.sentiment_head.weight, merged.sentiment_head.weight
    )
    _, [mood] = tagger.tag_with_sentiment(["The support was great, thanks!"])
    assert mood is not None and mood.label in SENTIMENT_LABELS


def test_an_artefact_without_the_head_works_as_before(random_dir, random_tagger) -> None:
    settings = json.loads((random_dir / SETTINGS_FILE).read_text(encoding="utf-8"))
    assert "sentiment" not in settings
    assert not random_tagger.has_sentiment and random_tagger.sentiment_labels == []
    texts = ticket_texts(12)
    entities, moods = random_tagger.tag_with_sentiment(texts)
    assert moods == [None] * len(texts)
    assert entities == random_tagger.tag(texts)


def test_a_bad_sentiment_entry_is_a_bad_artefact(tmp_path, two_head_dir) -> None:
    import shutil

    from model.errors import ModelNotFoundError

    bad = tmp_path / "bad"
    shutil.copytree(two_head_dir, bad)
    settings = json.loads((bad / SETTINGS_FILE).read_text(encoding="utf-8"))
    settings["sentiment"] = {"labels": "negative", "pooling": "mean"}
    (bad / SETTINGS_FILE).write_text(json.dumps(settings), encoding="utf-8")
    with pytest.raises(ModelNotFoundError, match="sentiment"):
        Tagger.load(bad, device="cpu")


def test_int8_keeps_the_sentiment_head_in_fp32(two_head_tagger) -> None:
    from model.quantize import Int8Linear, quantize_int8

    model = two_head_tagger.engine.model
    quantized = quantize_int8(model, bf16_attention=False)
    assert isinstance(quantized.classifier, Int8Linear)
    assert isinstance(quantized.sentiment_head, SentimentHead)
    ids = torch.tensor([[101, 2000, 2001, 2002, 102]] * 2)
    with torch.inference_mode():
        a = torch.softmax(model(input_ids=ids).sentiment_logits, -1)
        b = torch.softmax(quantized(input_ids=ids).sentiment_logits, -1)
    torch.testing.assert_close(a, b, atol=0.05, rtol=0.0)


# -- outputs -----------------------------------------------------------------------------------


def test_file_mode_adds_sentiment_to_every_line(tmp_path, two_head_tagger, keyword_tagger) -> None:
    source = tmp_path / "t.jsonl"
    rows = [
        {"id": 1, "text": "Jane Doe from Acme"},
        {"id": 2, "text": ""},
        {"id": 3, "text": "Thanks, all good in Paris"},
    ]
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    report = tag_file(two_head_tagger, source, out)
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert report.rows == 3 and report.bad_rows == 1
    for line in (lines[0], lines[2]):
        assert set(line["sentiment"]) == {"label", "score"}
        assert line["sentiment"]["label"] in SENTIMENT_LABELS
        assert isinstance(line["sentiment"]["score"], float)
    assert lines[1]["sentiment"] is None and "error" in lines[1]
    plain = tmp_path / "plain.jsonl"
    tag_file(keyword_tagger, source, plain)
    assert all(
        "sentiment" not in json.loads(x) for x in plain.read_text(encoding="utf-8").splitlines()
    )


def _sentiment_rows(store, model_id: str) -> list[tuple]:
    return store.fetchall(
        "SELECT ticket_key, label, score FROM ticket_sentiment "
        "WHERE model_id = ? ORDER BY ticket_key",
        [model_id],
    )


def _texts_with_tokens(texts: list[str]) -> int:
    return sum(1 for t in texts if split_words(t))


def test_tag_store_writes_ticket_sentiment(tmp_path, two_head_tagger) -> None:
    texts = ticket_texts(40)
    with Store.open(tmp_path / "a.duckdb") as store:
        add_tickets(store, texts)
        summary = tag_store(store, two_head_tagger, batch_size=4)
        assert summary.status == "done"
        rows = _sentiment_rows(store, two_head_tagger.model_id)
        assert len(rows) == _texts_with_tokens(texts)
        assert {label for _, label, _ in rows} <= set(SENTIMENT_LABELS)
        assert all(score == round(score, 4) for _, _, score in rows)


def test_stop_then_resume_writes_what_a_clean_run_writes(tmp_path, two_head_tagger) -> None:
    texts = ticket_texts(50)
    with Store.open(tmp_path / "clean.duckdb") as store:
        add_tickets(store, texts)
        tag_store(store, two_head_tagger, batch_size=2)
        clean = (
            _sentiment_rows(store, two_head_tagger.model_id),
            entity_rows(store, two_head_tagger.model_id),
        )
    with Store.open(tmp_path / "resumed.duckdb") as store:
        add_tickets(store, texts)
        calls = []
        stopped = tag_store(
            store, two_head_tagger, batch_size=2, stop=lambda: len(calls.append(1) or calls) > 2
        )
        assert stopped.status == "interrupted" and 0 < stopped.tickets < len(texts)
        tagged = store.scalar("SELECT count(*) FROM tagged_tickets")
        with_sentiment = store.scalar(
            "SELECT count(*) FROM ticket_sentiment s JOIN tagged_tickets g USING (ticket_key)"
        )
        assert store.scalar("SELECT count(*) FROM ticket_sentiment") == with_sentiment
        assert 0 < with_sentiment <= tagged
        tag_store(store, two_head_tagger, batch_size=2)
        tag_store(store, two_head_tagger, batch_size=2)  # nothing left: writes nothing
        assert (
            _sentiment_rows(store, two_head_tagger.model_id),
            entity_rows(store, two_head_tagger.model_id),
        ) == clean


class _BadSentiment:
    """A two-head tagger whose sentiment the store refuses (the label breaks its CHECK)."""

    def __init__(self, tagger) -> None:
        self.inner = tagger
        self.model_id, self.device, self.has_sentiment = tagger.model_id, "cpu", True

    def tag_with_sentiment(self, texts, batch_size=64):
        entities, _ = self.inner.tag_with_sentiment(texts, batch_size=batch_size)
        return entities, [Sentiment("furious", 0.9)] * len(texts)


def test_sentiment_is_written_in_the_entities_transaction(tmp_path, two_head_tagger) -> None:
    texts = ["Jane Doe from Acme in Paris"] * 3
    with Store.open(tmp_path / "a.duckdb") as store:
        add_tickets(store, texts)
        with pytest.raises(Exception, match="(?i)constraint|check"):
            tag_store(store, _BadSentiment(two_head_tagger), batch_size=4)
        for table in ("entities", "tagged_tickets", "ticket_sentiment"):
            assert store.scalar(f"SELECT count(*) FROM {table}") == 0, table


def _ray_worker(model_dir: Path, model_id: str):
    """The Ray actor's tagging stage (``model.ray_stages.TagWorker``) on the CPU."""
    from model.ray_stages import TagWorker

    return TagWorker(
        model_dir=str(model_dir), device="cpu", batch_size=8, model_id=model_id, threads=None
    )


def test_ray_worker_rows_carry_sentiment_into_the_shard(
    two_head_dir, two_head_tagger, tmp_path
) -> None:
    from model.ray_shards import sentiment_table
    from model.ray_stages import OUT_SCHEMA, ROWS_SCHEMA

    texts = ["Jane Doe from Acme", None, "All good in Paris, thanks"]
    n = len(texts)
    batch = pa.table(
        {
            "shard": pa.array([0] * n, pa.int32()),
            "kind": pa.array(["ticket"] * n),
            "row": pa.array(list(range(1, n + 1)), pa.int64()),
            "ticket_key": pa.array([f"k{i}" for i in range(n)]),
            "source_id": pa.array([None] * n, pa.string()),
            "text": pa.array(texts, pa.string()),
            "total": pa.nulls(n, pa.int64()),
            "problem": pa.array([None, "empty", None]),
            "column": pa.array([None, "text", None]),
        },
        schema=ROWS_SCHEMA,
    )
    worker = _ray_worker(two_head_dir, two_head_tagger.model_id)
    rows = worker(batch).cast(OUT_SCHEMA)
    table = sentiment_table(rows, two_head_tagger.model_id)
    _, expected = two_head_tagger.tag_with_sentiment([texts[0], texts[2]])
    assert table.column("ticket_key").to_pylist() == ["k0", "k2"]
    assert table.column("label").to_pylist() == [m.label for m in expected]
    # the worker runs auto precision (bf16 on a CPU with AMX), the reference fp32
    tolerance = 0.0 if worker.tagger.precision == "fp32" else 2e-3
    for got, want in zip(table.column("score").to_pylist(), expected, strict=True):
        assert abs(got - round(want.score, 4)) <= tolerance
    assert set(table.column("model_id").to_pylist()) == {two_head_tagger.model_id}


def test_ray_rows_of_a_tagger_without_the_head_have_no_sentiment(random_dir, random_tagger):
    from model.ray_shards import sentiment_table
    from model.ray_stages import OUT_SCHEMA, ROWS_SCHEMA

    batch = pa.table(
        {
            "shard": pa.array([0], pa.int32()),
            "kind": pa.array(["ticket"]),
            "row": pa.array([1], pa.int64()),
            "ticket_key": pa.array(["k0"]),
            "source_id": pa.array([None], pa.string()),
            "text": pa.array(["Jane Doe"]),
            "total": pa.nulls(1, pa.int64()),
            "problem": pa.array([None], pa.string()),
            "column": pa.array([None], pa.string()),
        },
        schema=ROWS_SCHEMA,
    )
    worker = _ray_worker(random_dir, random_tagger.model_id)
    assert sentiment_table(worker(batch).cast(OUT_SCHEMA), random_tagger.model_id) is None


# -- evaluation and training -----------------------------------------------------------------


def test_sentiment_macro_f1() -> None:
    from model.evaluate import evaluate_sentiment

    gold = ["negative", "neutral", "positive", "positive", None]
    pred = ["negative", "positive", "positive", None, "neutral"]
    scores = evaluate_sentiment(gold, pred, SENTIMENT_LABELS)
    assert scores["support"] == 4 and scores["accuracy"] == 0.5
    assert scores["per_class"]["negative"]["f1"] == 1.0
    assert scores["per_class"]["neutral"]["f1"] == 0.0
    assert scores["per_class"]["positive"]["f1"] == pytest.approx(0.5)
    assert scores["macro_f1"] == pytest.approx(0.5)


def _tiny_training(tmp_path: Path, monkeypatch, *, interrupt_after: int | None) -> dict:
    train_random_two_heads(monkeypatch)
    if interrupt_after is not None:
        stop_after_epoch(monkeypatch, interrupt_after)
    return train_tiny(tmp_path / "out", epochs=3, full=True, patience=5)


def test_training_resumes_after_a_stop_as_if_never_stopped(tmp_path, monkeypatch) -> None:
    clean = _tiny_training(tmp_path / "clean", monkeypatch, interrupt_after=None)
    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        _tiny_training(tmp_path / "resumed", patched, interrupt_after=2)
    assert (tmp_path / "resumed" / "out" / "checkpoint.pt").is_file()
    resumed = _tiny_training(tmp_path / "resumed", monkeypatch, interrupt_after=None)
    assert resumed["history"] == clean["history"]
    assert resumed["model_id"] == clean["model_id"]
    assert not (tmp_path / "resumed" / "out" / "checkpoint.pt").exists()
    assert set(resumed["sentiment_scores"]) == {"mood"}
    settings = json.loads((tmp_path / "clean" / "out" / SETTINGS_FILE).read_text("utf-8"))
    assert settings["segmentation"] == "words" and "sentiment" in settings
    assert np.isfinite([h["loss"] for h in clean["history"]]).all()


def test_sentiment_class_weights_favour_the_rare_class(tmp_path) -> None:
    from model.features import Feature
    from model.train_checkpoint import config_key
    from model.train_config import TrainConfig
    from model.train_setup import sentiment_weights

    ids = np.array([101, 102])
    features = [Feature(ids, ids, s) for s in [0] + [1] * 4 + [2] * 4 + [IGNORE] * 3]
    assert sentiment_weights(features, 3, 0.0) is None
    weights = sentiment_weights(features, 3, 1.0)
    assert weights[0] > weights[1] == weights[2]
    assert float(weights[0]) == pytest.approx(3.0 / 1.0) and float(weights[1]) == 0.75
    plain = config_key(TrainConfig(output=tmp_path))
    assert "sentiment_class_power" not in plain  # checkpoints of older runs still resume
    assert config_key(TrainConfig(output=tmp_path, sentiment_class_power=0.5)) != plain


def test_class_offsets_raise_macro_f1_and_keep_zeros_when_argmax_is_best() -> None:
    from model.sentiment import fit_class_offsets, macro_f1_of

    rng = np.random.default_rng(3)
    gold = rng.integers(0, 3, size=600)
    logits = rng.normal(size=(600, 3))
    logits[np.arange(600), gold] += 1.0
    logits[:, 1] += 1.5  # a head biased towards the middle class
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    offsets, before, after = fit_class_offsets(probabilities, gold)
    assert offsets[0] == 0.0 and after > before + 0.05
    # the figure it reports is what the offsets give, computed independently
    assert macro_f1_of((np.log(probabilities) + offsets).argmax(axis=1), gold, 3) == after
    perfect = np.eye(3)[gold] * 0.8 + 0.1
    zeros, before, after = fit_class_offsets(perfect, gold)
    assert not zeros.any() and before == after == 1.0


def test_training_bakes_the_fitted_offsets_into_the_head(tmp_path, monkeypatch) -> None:
    metrics = _tiny_training(tmp_path, monkeypatch, interrupt_after=None)
    fitted = metrics["sentiment"]["class_offsets"]
    assert fitted["fitted_on"] == "mood" and fitted["labels"] == list(SENTIMENT_LABELS)
    assert any(fitted["offsets"]) and fitted["macro_f1_after"] > fitted["macro_f1_before"]
    # the saved artefact scores what the fit promised on its selection set
    assert metrics["sentiment_scores"]["mood"]["macro_f1"] == pytest.approx(
        fitted["macro_f1_after"], abs=1e-4
    )


def _evaluate(data: Path, model_dir: Path, *flags: str) -> int:
    """``python -m model evaluate`` of ``data`` with ``model_dir`` on the CPU in fp32."""
    from model.cli import main

    args = ["evaluate", "--data", str(data), "--model", str(model_dir), *flags]
    return main([*args, "--device", "cpu", "--precision", "fp32"])


def test_evaluate_reports_sentiment_beside_entities(
    tmp_path, two_head_dir, two_head_tagger, capsys
) -> None:
    from model.evaluate import evaluate_sentiment

    rows = [
        {
            "text": "Jane Doe hates Azure",
            "spans": [[0, 8, "PER"], [15, 20, "PRODUCT"]],
            "sentiment": "negative",
        },
        {"text": "Paris is fine", "spans": [[0, 5, "LOC"]], "sentiment": "positive"},
        {"text": "no mood given here", "spans": []},
    ]
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    assert _evaluate(gold, two_head_dir, "--json") == 0
    result = json.loads(capsys.readouterr().out)
    moods = two_head_tagger.tag_with_sentiment([r["text"] for r in rows[:2]])[1]
    assert result["sentiment"] == evaluate_sentiment(
        ["negative", "positive"], [m.label for m in moods], SENTIMENT_LABELS
    )
    assert result["sentiment"]["support"] == 2 and result["scores"]["overall"]["support"] == 3
    # GoEmotions' own TSV: single-group rows only (the 2-group row is not scored)
    tsv = tmp_path / "group_dev.tsv"
    tsv.write_text(
        "so sad\t1\tc1\nwhat a day\t0\tc2\nlovely\t3\tc3\nmixed\t1,3\tc4\n", encoding="utf-8"
    )
    (tmp_path / "group_labels.txt").write_text(
        "ambiguous\nnegative\nneutral\npositive\n", encoding="utf-8"
    )
    assert _evaluate(tsv, two_head_dir) == 0
    out = capsys.readouterr().out
    assert "sentiment: macro-F1" in out and "(3 texts)" in out and "overall" not in out


def test_evaluate_says_when_the_model_has_no_sentiment_head(tmp_path, random_dir, capsys) -> None:
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        json.dumps({"text": "Jane is sad", "spans": [[0, 4, "PER"]], "sentiment": "negative"}),
        encoding="utf-8",
    )
    assert _evaluate(gold, random_dir) == 0
    out = capsys.readouterr().out
    assert "overall" in out and "sentiment: not scored (1 texts" in out


@pytest.fixture
def run_stage(tmp_path, monkeypatch):
    """``run(folder, **config)``: one tiny training epoch into ``tmp_path / folder``, its
    backbone a random two-head model (seed 1) whatever the stage."""
    import model.sentiment as sentiment_module

    monkeypatch.setattr(
        sentiment_module,
        "load_two_head",
        lambda labels, sentiment_labels=SENTIMENT_LABELS: random_two_head(
            labels, sentiment_labels, seed=1
        ),
    )

    def run(out: str, **changes) -> dict:
        return train_tiny(tmp_path / out, epochs=1, sentiment_offsets=False, **changes)

    return run


def test_a_second_stage_starts_from_the_first_stages_weights(tmp_path, run_stage) -> None:
    """Stage 2 at learning rate 0 from stage 1's artefact writes the same weights (same model
    id); an artefact of other labels is refused."""
    run = run_stage

    first = run("one")
    second = run("two", init_from=str(tmp_path / "one"), lr=0.0, head_lr=0.0)
    assert second["model_id"].split("-")[1] == first["model_id"].split("-")[1]
    fresh = run("fresh", lr=0.0, head_lr=0.0)  # without it: the untrained start
    assert fresh["model_id"] != first["model_id"]
    settings = json.loads((tmp_path / "one" / SETTINGS_FILE).read_text("utf-8"))
    settings["labels"] = ["O", "B-PER", "I-PER"]
    (tmp_path / "one" / SETTINGS_FILE).write_text(json.dumps(settings), "utf-8")
    with pytest.raises(ValueError, match="labels"):
        run("three", init_from=str(tmp_path / "one"))


def test_a_second_stage_with_a_higher_rank_starts_as_exactly_the_first(tmp_path, run_stage) -> None:
    """``--init-from`` with more adapter capacity (rank 16 → 24, scale 2 → 1): at learning
    rate 0 the second stage's model gives the first's logits; a lower rank is refused."""
    import torch

    from model.artefact import load_model

    run = run_stage

    run("one")
    run("wide", init_from=str(tmp_path / "one"), rank=24, alpha=24, lr=0.0, head_lr=0.0)
    adapter = json.loads((tmp_path / "wide" / "adapter_config.json").read_text("utf-8"))
    assert (adapter["r"], adapter["lora_alpha"]) == (24, 24)
    ids = torch.randint(1000, 20000, (3, 17), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    with torch.no_grad():
        one = load_model(tmp_path / "one").eval()(input_ids=ids, attention_mask=mask)
        wide = load_model(tmp_path / "wide").eval()(input_ids=ids, attention_mask=mask)
    assert torch.allclose(one.logits, wide.logits, atol=1e-5)
    assert torch.allclose(one.sentiment_logits, wide.sentiment_logits, atol=1e-5)
    with pytest.raises(ValueError, match="rank 8 is lower"):
        run("narrow", init_from=str(tmp_path / "one"), rank=8, alpha=16)


def test_a_full_stage_starts_as_exactly_the_lora_artefact(tmp_path, run_stage) -> None:
    """``--full --init-from`` a LoRA artefact: the adapters are merged into the weights, so at
    learning rate 0 the full model gives the artefact's logits; every weight is trained and
    the artefact written is a whole model. A whole-model artefact starts a further full
    stage, not a LoRA one."""
    import torch

    from model.artefact import load_model

    run = run_stage

    run("one")
    metrics = run("full", init_from=str(tmp_path / "one"), full=True, lr=0.0, head_lr=0.0)
    settings = json.loads((tmp_path / "full" / SETTINGS_FILE).read_text("utf-8"))
    assert settings["format"] == "full"
    assert (tmp_path / "full" / "model.safetensors").is_file()
    assert not (tmp_path / "full" / "adapter_config.json").exists()
    one_model, full_model = load_model(tmp_path / "one").eval(), load_model(tmp_path / "full")
    assert metrics["trainable_parameters"] == sum(p.numel() for p in full_model.parameters())
    ids = torch.randint(1000, 20000, (3, 17), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    with torch.no_grad():
        one = one_model(input_ids=ids, attention_mask=mask)
        full = full_model.eval()(input_ids=ids, attention_mask=mask)
    assert torch.allclose(one.logits, full.logits, atol=1e-5)
    assert torch.allclose(one.sentiment_logits, full.sentiment_logits, atol=1e-5)
    trained = run("trained", init_from=str(tmp_path / "one"), full=True, lr=1e-3, head_lr=1e-3)
    assert trained["model_id"] != metrics["model_id"]
    # a further full stage from the whole-model artefact: at lr 0 the same weights again
    again = run("again", init_from=str(tmp_path / "full"), full=True, lr=0.0, head_lr=0.0)
    assert again["model_id"].split("-")[1] == metrics["model_id"].split("-")[1]
    with pytest.raises(ValueError, match="not a LoRA tagger artefact"):  # adapters need adapters
        run("lora", init_from=str(tmp_path / "full"))
    (tmp_path / "one" / "adapter_config.json").unlink()  # a LoRA artefact missing its config
    with pytest.raises(ValueError, match="not a LoRA tagger artefact"):
        run("broken", init_from=str(tmp_path / "one"), full=True)
