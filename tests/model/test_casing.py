"""Word shapes as token types (model/casing.py): the classes, the same shapes in training
and inference, a casing model tagging by case, its artefact (full and LoRA) read back,
int8 calibration and inference with the shapes, and what is refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from model.artefact import SETTINGS_FILE, calibrate_artefact, read_settings
from model.casing import (
    CASE_CLASSES,
    CASING,
    LOWER,
    MIXED,
    TITLE,
    UPPER,
    case_of,
    casing_of,
    enable_casing,
    token_cases,
    word_cases,
)
from model.datasets import example_from_spans
from model.errors import DamagedModelError, ModelNotFoundError
from model.features import build_features, collate
from model.quantize import calibrate
from model.sentiment import SENTIMENT_LABELS
from model.tagger import Tagger
from model.words import split_words
from tests.model.conftest import LABELS, keyword_model, save_full_artefact, train_tiny
from tests.model.test_quantize import needs_int8
from tests.tiny_models import random_two_head

TEXTS = [
    "Apple shipped gpt-4o-mini to IBM in Zürich",
    "apple pie, APPLE juice and an iPhone",
    "Ça marche ? ÉCOLE d'été, O'Brien and McDonald's",
    " ".join(["Jane from Acme asked about Azure in PARIS again"] * 30),  # several windows
    "",
]


@pytest.mark.parametrize(
    ("word", "shape"),
    [
        ("paris", LOWER),
        ("gpt-4o-mini", LOWER),
        ("42", LOWER),  # no letter
        ("...", LOWER),
        ("Paris", TITLE),
        ("I", TITLE),
        ("Élodie", TITLE),
        ("Llama-3.1-70b", TITLE),
        ("IBM", UPPER),
        ("ÉCOLE", UPPER),
        ("U.S.", UPPER),
        ("GPT-4", UPPER),
        ("iPhone", MIXED),
        ("OpenAI", MIXED),
        ("GPT-4o", MIXED),
        ("McDonald's", MIXED),
    ],
)
def test_word_shapes(word: str, shape: int) -> None:
    assert case_of(word) == shape


def test_token_cases_follow_the_word_a_token_starts_in() -> None:
    text = "Hi IBM, OpenAI here"
    spans = split_words(text)
    # [CLS] (0, 0), "hi", "ibm", ",", "open", "##ai", "here", padding (0, 0)
    offsets = [(0, 0), (0, 2), (3, 6), (6, 7), (8, 12), (12, 14), (15, 19), (0, 0)]
    assert token_cases(text, spans, offsets).tolist() == [0, TITLE, UPPER, 0, MIXED, MIXED, 0, 0]
    assert word_cases(text, spans).tolist() == [TITLE, UPPER, LOWER, MIXED, LOWER]


def test_training_and_inference_give_every_token_the_same_shape(tokenizer) -> None:
    """The features a casing run trains on and the engine's encoding agree token by token
    (also across the windows of a long text)."""
    model = enable_casing(keyword_model(tokenizer, {"apple": "B-ORG"}))
    tagger = Tagger.from_model(model, tokenizer, model_id="kw", precision="fp32")
    assert tagger.engine.casing == CASING
    label2id = {label: i for i, label in enumerate(LABELS)}
    for text in TEXTS[:4]:
        features = build_features(
            [example_from_spans(text, [])], tokenizer, label2id, max_length=32, casing=True
        )
        trained = np.concatenate([f.cases[1:-1] for f in features])
        (encoded,) = tagger.engine._encode([text])
        assert trained.tolist() == encoded.cases.tolist(), text
        assert all(f.cases[0] == 0 and f.cases[-1] == 0 for f in features)
    batch = collate(features, tokenizer.pad_token_id)
    assert batch["token_type_ids"].shape == batch["input_ids"].shape
    assert not batch["token_type_ids"][batch["attention_mask"] == 0].any()
    plain = build_features([example_from_spans(TEXTS[0], [])], tokenizer, label2id)
    assert plain[0].cases is None and "token_type_ids" not in collate(plain)


def test_casing_needs_the_words_segmentation(tokenizer) -> None:
    with pytest.raises(ValueError, match="casing needs 'words'"):
        build_features(
            [example_from_spans("Apple", [])],
            tokenizer,
            {label: i for i, label in enumerate(LABELS)},
            segmentation="bert",
            casing=True,
        )
    model = enable_casing(keyword_model(tokenizer, {"apple": "B-ORG"}))
    with pytest.raises(ValueError, match="casing model needs 'words'"):
        Tagger.from_model(model, tokenizer, model_id="kw", segmentation="bert")


def test_enabling_casing_changes_nothing_until_the_shapes_are_trained() -> None:
    model = random_two_head(LABELS, seed=3)
    ids = torch.randint(1000, 5000, (2, 12))
    mask = torch.ones_like(ids)
    with torch.no_grad():
        before = model(input_ids=ids, attention_mask=mask)
        enable_casing(model)
        after = model(input_ids=ids, attention_mask=mask, token_type_ids=ids % CASE_CLASSES)
    torch.testing.assert_close(after.logits, before.logits)
    torch.testing.assert_close(after.sentiment_logits, before.sentiment_logits)
    assert model.config.type_vocab_size == CASE_CLASSES and casing_of(model) == CASING


def case_keyword_model(tokenizer) -> torch.nn.Module:
    """A context-free keyword model (tests/model/conftest.py) in which ``apple`` is an
    organisation only when written ``Title`` (``Apple``), ``paris`` is a place in any case,
    and any other Title word stays ``O``."""
    model = enable_casing(keyword_model(tokenizer, {"apple": "B-ORG", "paris": "B-LOC"}))
    org = 1 + LABELS.index("B-ORG")
    with torch.no_grad():
        words = model.bert.embeddings.word_embeddings.weight
        apple = tokenizer.convert_tokens_to_ids("apple")
        words[apple, 0], words[apple, org] = 4.0, 2.0  # lower case: O wins
        model.bert.embeddings.token_type_embeddings.weight[TITLE, org] = 6.0
    return model


def save_casing_artefact(model, directory: Path) -> Path:
    save_full_artefact(model, directory, name="cased", max_length=16, stride=4)
    settings = json.loads((directory / SETTINGS_FILE).read_text(encoding="utf-8"))
    settings.update(segmentation="words", casing=CASING)
    (directory / SETTINGS_FILE).write_text(json.dumps(settings), encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def cased_dir(tmp_path_factory, tokenizer) -> Path:
    return save_casing_artefact(
        case_keyword_model(tokenizer), tmp_path_factory.mktemp("cased") / "cased"
    )


def spans_of(entities) -> list[tuple[str, str]]:
    return [(e.text, e.label) for e in entities]


def test_a_casing_artefact_tags_by_the_words_case(cased_dir) -> None:
    """Read back from its folder, windows of 14 tokens: ``Apple`` is an organisation,
    ``apple`` and ``APPLE`` are not; the same in any batch."""
    assert read_settings(cased_dir)["casing"] == CASING
    tagger = Tagger.load(cased_dir, device="cpu", precision="fp32")
    assert tagger.engine.casing == CASING
    texts = [
        "Apple opened in paris",
        "apple pie and APPLE juice in Paris",
        " ".join(["the apple of Apple in PARIS"] * 9),
    ]
    one, many = tagger.tag(texts, batch_size=1), tagger.tag(texts, batch_size=64)
    assert spans_of(one[0]) == [("Apple", "ORG"), ("paris", "LOC")]
    assert spans_of(one[1]) == [("Paris", "LOC")]
    assert spans_of(one[2]) == [("Apple", "ORG"), ("PARIS", "LOC")] * 9
    assert [spans_of(e) for e in one] == [spans_of(e) for e in many]


def test_tagger_json_and_weights_must_agree_on_casing(cased_dir, tmp_path, tokenizer) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(cased_dir, bad)
    settings = json.loads((bad / SETTINGS_FILE).read_text(encoding="utf-8"))
    for change, message in [
        ({"casing": "camel"}, "'casing' must be 'word-shape'"),
        ({"segmentation": "bert"}, "'casing' must be 'word-shape'"),
    ]:
        (bad / SETTINGS_FILE).write_text(json.dumps({**settings, **change}), encoding="utf-8")
        with pytest.raises(ModelNotFoundError, match=message):
            Tagger.load(bad, device="cpu")
    settings.pop("casing")  # the weights take shapes, tagger.json says nothing of it
    (bad / SETTINGS_FILE).write_text(json.dumps(settings), encoding="utf-8")
    with pytest.raises(DamagedModelError, match="says casing None"):
        Tagger.load(bad, device="cpu")
    plain = save_full_artefact(keyword_model(tokenizer), tmp_path / "plain", name="plain")
    settings = json.loads((plain / SETTINGS_FILE).read_text(encoding="utf-8"))
    settings.update(segmentation="words", casing=CASING)  # says casing, weights have none
    (plain / SETTINGS_FILE).write_text(json.dumps(settings), encoding="utf-8")
    with pytest.raises(DamagedModelError, match="the weights' config None"):
        Tagger.load(plain, device="cpu")


def test_calibration_runs_the_model_on_the_shapes_it_will_see(tokenizer) -> None:
    model = case_keyword_model(tokenizer)
    seen: list[torch.Tensor] = []
    model.bert.embeddings.register_forward_pre_hook(
        lambda _m, _args, kwargs: seen.append(kwargs["token_type_ids"].clone()),
        with_kwargs=True,
    )
    calibrate(model, tokenizer, ["Apple and IBM", "iPhone"], max_length=16)
    assert [row.tolist() for row in seen[0]] == [
        [0, TITLE, LOWER, UPPER, 0],
        [0, MIXED, 0, 0, 0],  # [CLS] iphone [SEP], then padding
    ]


@needs_int8
def test_a_casing_artefact_tags_in_int8_like_fp32(cased_dir, tmp_path) -> None:
    folder = tmp_path / "cased"
    shutil.copytree(cased_dir, folder)
    calibrate_artefact(folder, TEXTS[:4])
    texts = ["Apple opened in paris", "apple pie in Paris", *TEXTS]
    int8 = Tagger.load(folder, device="cpu", precision="int8")
    fp32 = Tagger.load(folder, device="cpu", precision="fp32")
    assert int8.precision == "int8"
    assert [spans_of(e) for e in int8.tag(texts)] == [spans_of(e) for e in fp32.tag(texts)]
    assert spans_of(int8.tag(["Apple opened in paris"])[0])[0] == ("Apple", "ORG")


@pytest.fixture
def random_backbone(monkeypatch):
    """``model.train`` (LoRA or full) builds on a tiny random two-head model, seed 1."""
    import model.sentiment as sentiment_module

    monkeypatch.setattr(
        sentiment_module,
        "load_two_head",
        lambda labels, sentiment_labels=SENTIMENT_LABELS: random_two_head(
            labels, sentiment_labels, seed=1
        ),
    )


@pytest.mark.parametrize("full", [False, True])
def test_a_casing_run_trains_the_shapes_and_its_artefact_reads_back(
    tmp_path, random_backbone, full
) -> None:
    """LoRA (the shape table saved beside the adapters) and full: the trained rows differ
    from row 0, ``tagger.json`` says casing, and the loaded tagger holds the trained table."""
    from safetensors.torch import load_file

    out = tmp_path / ("full" if full else "lora")
    metrics = train_tiny(out, epochs=2, casing=True, full=full, sentiment_offsets=False)
    assert metrics["config"]["casing"] is True
    assert read_settings(out)["casing"] == CASING
    tagger = Tagger.load(out, device="cpu", precision="fp32")
    table = tagger.engine.model.bert.embeddings.token_type_embeddings.weight
    assert table.shape[0] == CASE_CLASSES
    assert not torch.allclose(table[TITLE], table[LOWER]), "Title words were trained on"
    if not full:
        adapter = json.loads((out / "adapter_config.json").read_text(encoding="utf-8"))
        assert "token_type_embeddings" in adapter["modules_to_save"]
        saved = load_file(str(out / "adapter_model.safetensors"))
        (key,) = [k for k in saved if "token_type_embeddings" in k]
        torch.testing.assert_close(saved[key], table)
    found = tagger.tag(["Jane Doe works at Acme in Paris"])
    assert isinstance(found[0], list)


def test_init_from_refuses_an_artefact_of_the_other_casing(tmp_path, random_backbone) -> None:
    train_tiny(tmp_path / "cased", epochs=1, casing=True, sentiment_offsets=False)
    train_tiny(tmp_path / "plain", epochs=1, sentiment_offsets=False)
    with pytest.raises(ValueError, match="trained with casing; this run does not use it"):
        train_tiny(
            tmp_path / "two", epochs=1, init_from=str(tmp_path / "cased"), sentiment_offsets=False
        )
    with pytest.raises(ValueError, match="trained without casing; this run uses it"):
        train_tiny(
            tmp_path / "three",
            epochs=1,
            casing=True,
            init_from=str(tmp_path / "plain"),
            sentiment_offsets=False,
        )
    second = train_tiny(
        tmp_path / "four",
        epochs=1,
        casing=True,
        init_from=str(tmp_path / "cased"),
        sentiment_offsets=False,
    )
    assert second["config"]["casing"] is True
