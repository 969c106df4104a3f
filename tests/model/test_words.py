"""Word segmentation (model/words.py): whole names, punctuation split off, exact offsets; the
engine and the training features on these words; punctuation off the ends of entities; the
segmentation as an artefact setting."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from model.artefact import SETTINGS_FILE
from model.datasets import Example
from model.features import IGNORE, build_features
from model.labels import ARGMAX, ENTITY_TYPES, iob2_labels
from model.tagger import Tagger
from model.words import BERT, WORDS, check_segmentation, is_punctuation, split_words
from tests.model.conftest import keyword_model


def _words(text: str) -> list[str]:
    return [text[a:b] for a, b in split_words(text)]


@pytest.mark.parametrize(
    "text, words",
    [
        ("switch to gpt-4o-mini now", ["switch", "to", "gpt-4o-mini", "now"]),
        ("text-embedding-3 or Llama-3.1-70B?", ["text-embedding-3", "or", "Llama-3.1-70B", "?"]),
        (
            "since v2.3, claude-3-5-sonnet works",
            ["since", "v2.3", ",", "claude-3-5-sonnet", "works"],
        ),
        ("qwen2.5-72b-instruct;deepseek-chat", ["qwen2.5-72b-instruct", ";", "deepseek-chat"]),
        (
            "we moved to Azure, then (OpenAI).",
            ["we", "moved", "to", "Azure", ",", "then", "(", "OpenAI", ")", "."],
        ),
        ('"Mistral-Large"!', ['"', "Mistral-Large", '"', "!"]),
        (
            "mail ana.ruiz+billing@acme-labs.co.uk today",
            ["mail", "ana.ruiz+billing@acme-labs.co.uk", "today"],
        ),
        (
            "see https://api.example.com/v1/chat?model=gpt-4o&x=1).",
            ["see", "https://api.example.com/v1/chat?model=gpt-4o&x=1", ")", "."],
        ),
        (
            "docs at www.example.org/pricing, thanks",
            ["docs", "at", "www.example.org/pricing", ",", "thanks"],
        ),
        ("C++ and C# but not C+D", ["C++", "and", "C#", "but", "not", "C", "+", "D"]),
        ("$1,250.75 - 8% off", ["$", "1,250.75", "-", "8", "%", "off"]),
        ("Best,\n- Jane", ["Best", ",", "-", "Jane"]),
        ("OpenAI's deal -- great", ["OpenAI", "'", "s", "deal", "-", "-", "great"]),
        ("snake_case_name and __init__", ["snake_case_name", "and", "_", "_", "init", "_", "_"]),
        ("end-", ["end", "-"]),
        ("", []),
        (" \r\n\t ", []),
    ],
)
def test_names_stay_whole_and_punctuation_comes_off(text, words):
    assert _words(text) == words


ROUND_TRIP = [
    "Zürich 😀 and Zu\u0308rich (decomposed) with Müller-Lüdenscheidt GmbH,\r\nthanks!",
    "🚀🚀gpt-4o-mini🚀 👩\u200d💻 ❤️ café-crème Ñandú São-Paulo",
    "中文 深度求索 DeepSeek-V3 — «quoted» ‘single’ \u00a0nbsp\u2003em space",
    "line one\r\nline two\rline three\nend\r\n",
    "\u0301leading mark, e\u0301 \ufeffbom \u200bzero width",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_offsets_round_trip_on_emoji_accents_and_crlf(text):
    spans = split_words(text)
    position = 0
    for start, end in spans:
        assert position <= start < end <= len(text)
        assert text[position:start].strip() == "" or all(
            not c.isprintable() or c.isspace() for c in text[position:start]
        )
        word = text[start:end]
        assert not any(c.isspace() for c in word), repr(word)
        position = end
    assert text[position:].strip() == ""
    # every non-space character is in exactly one word
    covered = {i for a, b in spans for i in range(a, b)}
    assert covered == {i for i, c in enumerate(text) if not c.isspace()}


def test_accented_and_emoji_names_are_words():
    text = "Zürich 😀 Zu\u0308rich Müller-Lüdenscheidt café-crème🚀"
    assert _words(text) == [
        "Zürich",
        "😀",
        "Zu\u0308rich",
        "Müller-Lüdenscheidt",
        "café-crème",
        "🚀",
    ]


def test_punctuation_words_and_setting_names():
    assert [is_punctuation(w) for w in ["-", "(", "😀", "—", "€", "Jane", "4o", "é", "'s"]] == [
        True,
        True,
        True,
        True,
        True,
        False,
        False,
        False,
        False,
    ]
    assert check_segmentation(None) == BERT
    assert check_segmentation("words") == WORDS
    with pytest.raises(ValueError, match="unknown segmentation"):
        check_segmentation("spaces")


# -- the engine on these words -----------------------------------------------------------

NAME_KEYWORDS = {
    "gp": "B-PRODUCT",  # gpt-4o-mini = gp ##t - 4 ##o - mini
    "mini": "B-LOC",  # a later word piece of the name: ignored in words mode
    "-": "B-PER",  # a dash: never an entity alone, never the start of one
    "doe": "I-PER",
    "(": "B-ORG",
    "open": "I-ORG",  # OpenAI = open ##ai
    ")": "I-ORG",
    "ll": "B-PRODUCT",  # Llama = ll ##ama
    "paris": "B-LOC",
}


@pytest.fixture(scope="module")
def name_model(tokenizer):
    return keyword_model(tokenizer, NAME_KEYWORDS)


def _tag(model, tokenizer, text, segmentation):
    # each word's own label (argmax decoding): these tests are about words, punctuation and
    # grouping; the keyword model's lone I-PER "doe" is no valid IOB2 (test_decoding.py)
    tagger = Tagger.from_model(
        model, tokenizer, model_id="names", segmentation=segmentation, decoding=ARGMAX
    )
    [found] = tagger.tag([text])
    assert all(text[e.start : e.end] == e.text for e in found)
    return [(e.text, e.label) for e in found]


def test_words_keep_names_whole_and_take_the_first_pieces_label(name_model, tokenizer):
    text = "Try gpt-4o-mini or Llama-3.1-70B in Paris."
    assert _tag(name_model, tokenizer, text, WORDS) == [
        ("gpt-4o-mini", "PRODUCT"),
        ("Llama-3.1-70B", "PRODUCT"),
        ("Paris", "LOC"),
    ]
    # the tokenizer's own words cut the names apart
    assert ("gpt", "PRODUCT") in _tag(name_model, tokenizer, text, BERT)


@pytest.mark.parametrize("segmentation", [WORDS, BERT])
def test_punctuation_comes_off_entities_and_is_never_one(name_model, tokenizer, segmentation):
    text = "Thanks,\r\n- Doe (OpenAI) - and - 😀 Doe"
    assert _tag(name_model, tokenizer, text, segmentation) == [
        ("Doe", "PER"),
        ("OpenAI", "ORG"),
        ("Doe", "PER"),
    ]
    assert _tag(name_model, tokenizer, "- ( ) -", segmentation) == []


@pytest.mark.parametrize("segmentation", [WORDS, BERT])
def test_entities_do_not_run_across_line_breaks_or_stops(name_model, tokenizer, segmentation):
    # "doe" is I-PER: consecutive ones join into one entity, unless a line break or a
    # ?, !, ; lies between them
    assert _tag(name_model, tokenizer, "Doe Doe", segmentation) == [("Doe Doe", "PER")]
    assert _tag(name_model, tokenizer, "Doe\r\nDoe Doe\nDoe", segmentation) == [
        ("Doe", "PER"),
        ("Doe Doe", "PER"),
        ("Doe", "PER"),
    ]
    assert (
        _tag(name_model, tokenizer, "Doe? Doe! Doe; Doe…Doe", segmentation) == [("Doe", "PER")] * 5
    )


def test_scores_are_means_over_the_kept_words(name_model, tokenizer):
    tagger = Tagger.from_model(name_model, tokenizer, model_id="names", decoding=ARGMAX)
    [[entity]] = tagger.tag(["- Doe"])
    [[alone]] = tagger.tag(["Doe"])
    assert entity.text == "Doe" and entity.score == pytest.approx(alone.score)


def test_words_engine_offsets_on_tricky_text(name_model, tokenizer):
    text = "😀gpt-4o-mini\r\nZu\u0308rich (OpenAI)\u200b Paris🚀 e\u0301 - Doe\r\n"
    found = _tag(name_model, tokenizer, text, WORDS)
    assert found == [
        ("gpt-4o-mini", "PRODUCT"),
        ("OpenAI", "ORG"),
        ("Paris", "LOC"),
        ("Doe", "PER"),
    ]


# -- training features on the same words -------------------------------------------------

LABELS = iob2_labels(ENTITY_TYPES)
LABEL2ID = {label: i for i, label in enumerate(LABELS)}


def test_features_label_the_first_piece_of_each_word(tokenizer):
    text = "Use gpt-4o-mini (OpenAI), Jane."
    start = text.index("gpt")
    example = Example(
        text,
        (
            (start, start + len("gpt-4o-mini"), "PRODUCT"),
            (text.index("OpenAI"), text.index("OpenAI") + 6, "ORG"),
            (text.index("Jane"), text.index("Jane") + 4, "PER"),
        ),
        (),
    )
    [feature] = build_features([example], tokenizer, LABEL2ID)
    pieces = tokenizer.convert_ids_to_tokens(feature.input_ids.tolist())
    labelled = [
        (p, LABELS[lb])
        for p, lb in zip(pieces, feature.labels.tolist(), strict=True)
        if lb != IGNORE
    ]
    assert labelled == [
        ("use", "O"),
        ("gp", "B-PRODUCT"),
        ("(", "O"),
        ("open", "B-ORG"),
        (")", "O"),
        (",", "O"),
        ("jane", "B-PER"),
        (".", "O"),
    ]
    [old] = build_features([example], tokenizer, LABEL2ID, segmentation=BERT)
    assert np.array_equal(old.input_ids, feature.input_ids), "same tokens, other words"
    old_labelled = [LABELS[lb] for lb in old.labels.tolist() if lb != IGNORE]
    assert old_labelled[1:6] == ["B-PRODUCT", "I-PRODUCT", "I-PRODUCT", "I-PRODUCT", "I-PRODUCT"]


def test_features_and_engine_see_the_same_tokens(tokenizer, name_model):
    texts = [ROUND_TRIP[0], ROUND_TRIP[1], "gpt-4o-mini at https://x.example/a-b, ok"]
    examples = [Example(t, (), ()) for t in texts]
    tagger = Tagger.from_model(name_model, tokenizer, model_id="names")
    for example, encoded in zip(examples, tagger.engine._encode(texts), strict=True):
        [feature] = build_features([example], tokenizer, LABEL2ID, max_length=512)
        assert feature.input_ids[1:-1].tolist() == encoded.ids.tolist()
        assert (feature.labels[1:-1] != IGNORE).sum() == len(set(encoded.words.tolist()))


# -- the setting in the artefact --------------------------------------------------------


def test_the_artefact_names_its_segmentation(keyword_dir, tmp_path):
    assert Tagger.load(keyword_dir, device="cpu").segmentation == BERT  # no setting: bert
    folder = tmp_path / "kw"
    shutil.copytree(keyword_dir, folder)
    settings = json.loads((folder / SETTINGS_FILE).read_text(encoding="utf-8"))
    (folder / SETTINGS_FILE).write_text(
        json.dumps({**settings, "segmentation": "words"}), encoding="utf-8"
    )
    tagger = Tagger.load(folder, device="cpu")
    assert tagger.segmentation == WORDS
    [found] = tagger.tag(["Jane Doe, (Acme) in Zürich-Nord"])
    assert [(e.text, e.label) for e in found] == [
        ("Jane Doe", "PER"),
        ("Acme", "ORG"),
        ("Zürich-Nord", "LOC"),
    ]
    (folder / SETTINGS_FILE).write_text(
        json.dumps({**settings, "segmentation": "chars"}), encoding="utf-8"
    )
    with pytest.raises(ValueError, match="unknown segmentation"):
        Tagger.load(folder, device="cpu")
