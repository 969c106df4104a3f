"""Decoding: from the words' label probabilities to entities. ``iob2-viterbi`` (artefacts
trained since 2026-12-05) takes each text's most probable valid IOB2 sequence; ``argmax``
(artefacts without the setting) each word's most probable label. The decoder itself is
checked against brute force in test_labels.py."""

from __future__ import annotations

import json

import pytest
import torch

from model.artefact import SETTINGS_FILE
from model.engine import Engine
from model.errors import ModelNotFoundError
from model.labels import ARGMAX, VITERBI
from model.tagger import Tagger
from tests.model.conftest import KEYWORDS, LABELS, keyword_model, save_full_artefact


def _plain(entities):
    return [(e.start, e.end, e.label, e.text) for e in entities]


def _second_choice(model, tokenizer, piece: str, label: str, strength: float):
    """Make ``label`` the second choice of ``piece`` in a keyword model (its own label, at
    8, stays the first; ``strength`` 0 leaves it as unlikely as every other label)."""
    dim = 1 + LABELS.index(label)
    with torch.no_grad():
        model.classifier.weight[LABELS.index(label), dim] = 1.0
        model.bert.embeddings.word_embeddings.weight[
            tokenizer.convert_tokens_to_ids(piece), dim
        ] = strength
    return model


@pytest.mark.parametrize(
    "strength, expected",
    [
        (6.0, [(0, 6, "ORG", "orphan")]),  # B-ORG its second choice: a whole ORG
        (0.0, []),  # every other label equally unlikely: O (the first label) wins the tie
    ],
)
def test_an_inside_label_that_cannot_continue_takes_the_best_valid_label(
    tokenizer, strength, expected
):
    """``orphan`` is I-ORG with nothing before it to continue: the decoder gives the word
    the most probable label that is valid IOB2 there (not the arg-max it cannot have)."""
    model = _second_choice(keyword_model(tokenizer), tokenizer, "orphan", "B-ORG", strength)
    engine = Engine(model, tokenizer, precision="fp32")
    assert _plain(engine.tag(["orphan"])[0]) == expected
    assert _plain(engine.tag(["Paris orphan"])[0])[1:] == [
        (e[0] + 6, e[1] + 6, *e[2:]) for e in expected
    ]


def test_a_span_of_two_types_becomes_the_more_probable_whole_one(tokenizer):
    """``Jane Doe``: B-PER then I-LOC, an invalid pair. A per-word arg-max would give two
    half-typed entities (PER ``Jane``, LOC ``Doe``); the decoder gives the valid sequence of
    the highest probability: with I-PER the second choice of ``doe``, one PER ``Jane Doe``."""
    model = keyword_model(tokenizer, {**KEYWORDS, "doe": "I-LOC"})
    _second_choice(model, tokenizer, "doe", "I-PER", 7.0)
    engine = Engine(model, tokenizer, precision="fp32")
    assert _plain(engine.tag(["Jane Doe"])[0]) == [(0, 8, "PER", "Jane Doe")]


def _artefact(tmp_path, model, decoding: str | None):
    folder = save_full_artefact(model, tmp_path / f"kw-{decoding}", name="keywords")
    settings = json.loads((folder / SETTINGS_FILE).read_text(encoding="utf-8"))
    settings["segmentation"] = "words"
    if decoding is not None:
        settings["decoding"] = decoding
    (folder / SETTINGS_FILE).write_text(json.dumps(settings), encoding="utf-8")
    return folder


def test_the_artefact_says_how_it_is_decoded(tmp_path, tokenizer):
    """The same weights: without the setting (older artefacts) each word's arg-max, two
    half-typed entities; with ``iob2-viterbi`` one whole one. The setting is part of the
    artefact's id (its tagger.json is hashed), so the store never mixes the two."""
    model = _second_choice(
        keyword_model(tokenizer, {**KEYWORDS, "doe": "I-LOC"}), tokenizer, "doe", "I-PER", 7.0
    )
    old = Tagger.load(_artefact(tmp_path, model, None), device="cpu", precision="fp32")
    new = Tagger.load(_artefact(tmp_path, model, VITERBI), device="cpu", precision="fp32")
    assert (old.engine.decoding, new.engine.decoding) == (ARGMAX, VITERBI)
    assert _plain(old.tag(["Jane Doe"])[0]) == [(0, 4, "PER", "Jane"), (5, 8, "LOC", "Doe")]
    assert _plain(new.tag(["Jane Doe"])[0]) == [(0, 8, "PER", "Jane Doe")]
    assert old.model_id != new.model_id
    explicit = Tagger.load(_artefact(tmp_path, model, ARGMAX), device="cpu", precision="fp32")
    assert _plain(explicit.tag(["Jane Doe"])[0]) == _plain(old.tag(["Jane Doe"])[0])


def test_an_unknown_decoding_is_refused_naming_the_file(tmp_path, tokenizer):
    folder = _artefact(tmp_path, keyword_model(tokenizer), "beam")
    with pytest.raises(ModelNotFoundError, match=r"tagger\.json: unknown 'decoding' 'beam'"):
        Tagger.load(folder, device="cpu")
    with pytest.raises(ValueError, match="unknown decoding 'beam'"):
        Engine(keyword_model(tokenizer), tokenizer, decoding="beam")
