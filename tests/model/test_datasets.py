"""CoNLL and JSONL readers, WNUT-17 label mapping, span projection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model.datasets import (
    DatasetError,
    example_from_spans,
    project_spans,
    read_examples,
    split_words,
)
from model.labels import parse_label_map

WNUT = Path(__file__).resolve().parents[2] / "model" / "datasets" / "wnut17"


def test_conll_separators_docstart_and_label_map(tmp_path):
    path = tmp_path / "t.conll"
    path.write_text(
        "-DOCSTART-\tO\n\n"
        "Jane\tB-person\nworks\tO\nat\tO\nAcme\tB-corporation\nCorp\tI-corporation\n\t\n"
        "Read\tO\nDune\tB-creative-work\n\n\n"
        "in\tO\nParis\tB-location\n",
        encoding="utf-8",
    )
    examples = read_examples(path, parse_label_map("wnut17"))
    assert [ex.text for ex in examples] == ["Jane works at Acme Corp", "Read Dune", "in Paris"]
    first = examples[0]
    assert first.spans == ((0, 4, "PER"), (14, 23, "ORG"))
    assert [first.text[s:e] for s, e, _ in first.spans] == ["Jane", "Acme Corp"]
    assert first.gold_tags() == ["B-PER", "O", "O", "B-ORG", "I-ORG"]
    assert examples[1].spans == ()  # creative-work dropped
    assert examples[2].gold_tags() == ["O", "B-LOC"]


def test_conll_native_labels_and_crlf(tmp_path):
    path = tmp_path / "t.conll"
    path.write_bytes(b"Jane B-person\r\nDoe I-person\r\n\r\nx O\r\n")
    examples = read_examples(path)
    assert examples[0].spans == ((0, 8, "person"),)
    assert len(examples) == 2


def test_conll_bad_line_names_file_and_line(tmp_path):
    path = tmp_path / "bad.conll"
    path.write_text("Jane\tB-person\nlonely\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"bad.conll:2"):
        read_examples(path)
    path.write_text("Jane\tB-person\nDoe\tQ-person\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r":2: bad tag"):
        read_examples(path)


def test_jsonl_spans_and_entities(tmp_path):
    path = tmp_path / "t.jsonl"
    lines = [
        {
            "text": "Jane moved to Azure 😀 in Zürich",
            "spans": [[0, 4, "PER"], [14, 19, "PRODUCT"], [25, 31, "LOC"]],
        },
        {"text": "nothing here", "entities": []},
        {"text": "Acme!", "entities": [{"start": 0, "end": 4, "label": "corporation"}]},
    ]
    path.write_text(
        "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\n", encoding="utf-8"
    )
    examples = read_examples(path, {"corporation": "ORG"})
    assert examples[0].gold_tags() == ["B-PER", "O", "O", "B-PRODUCT", "O", "O", "B-LOC"]
    assert examples[1].spans == ()
    assert examples[2].spans == ((0, 4, "ORG"),)


@pytest.mark.parametrize(
    "record, message",
    [
        ({"text": "abc", "spans": [[0, 9, "PER"]]}, "outside"),
        ({"text": "abc", "spans": [[0, 2, "PER"], [1, 3, "ORG"]]}, "overlapping"),
        ({"text": 5, "spans": []}, "not a string"),
        ({"spans": []}, "text"),
    ],
)
def test_jsonl_bad_records(tmp_path, record, message):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok", "spans": []}\n' + json.dumps(record) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=rf"bad.jsonl:2: .*{message}"):
        read_examples(path)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        read_examples(tmp_path / "nope.conll")
    (tmp_path / "empty.conll").write_text("\n\t\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="empty"):
        read_examples(tmp_path / "empty.conll")


def test_wnut17_files_read_with_both_separators():
    train = read_examples(WNUT / "wnut17train.conll")
    dev = read_examples(WNUT / "emerging.dev.conll", parse_label_map("wnut17"))
    assert (len(train), len(dev)) == (3394, 1009)
    assert {label for ex in train for *_, label in ex.spans} == {
        "person",
        "location",
        "corporation",
        "group",
        "product",
        "creative-work",
    }
    assert {label for ex in dev for *_, label in ex.spans} == {"PER", "LOC", "ORG", "PRODUCT"}


def test_split_words_and_projection():
    text = "Ask Jane-Doe about gpt_4o, 😀 ok"
    words = split_words(text)
    assert [text[s:e] for s, e in words] == [
        "Ask",
        "Jane",
        "-",
        "Doe",
        "about",
        "gpt",
        "_",
        "4o",
        ",",
        "😀",
        "ok",
    ]
    assert project_spans(words, [(4, 12, "PER")]) == [
        "O",
        "B-PER",
        "I-PER",
        "I-PER",
        "O",
        "O",
        "O",
        "O",
        "O",
        "O",
        "O",
    ]
    ex = example_from_spans(text, [(19, 25, "PRODUCT")])
    assert ex.gold_tags()[5:8] == ["B-PRODUCT", "I-PRODUCT", "I-PRODUCT"]


# -- BTC, WikiGold, GoEmotions (small fixtures written here; never ../shared) ------------------


def test_btc_sections_skip_empty_tokens(tmp_path):
    from model.datasets import read_btc

    a = tmp_path / "a.conll"
    a.write_text(
        "Jane\tB-PER\nat\tO\nBBC\tB-ORG\nNews\tI-ORG\n\t O\n\t\tO\n\n"
        "London\tB-LOC\ncalling\tO\n\u200b\tO\n",
        encoding="utf-8",
    )
    h = tmp_path / "h.conll"
    h.write_text("@bob\tO\nin\tO\nParis\tB-LOC\n", encoding="utf-8")
    examples = read_btc([a, h])
    assert [ex.text for ex in examples] == [
        "Jane at BBC News",
        "London calling \u200b",
        "@bob in Paris",
    ]
    first = examples[0]
    assert [(first.text[s:e], t) for s, e, t in first.spans] == [
        ("Jane", "PER"),
        ("BBC News", "ORG"),
    ]
    with pytest.raises(DatasetError, match="no such file"):
        read_btc([tmp_path / "x.conll"])


def test_wikigold_io_tags_and_misc_ignored(tmp_path):
    from model.datasets import IGNORE_TYPE, read_wikigold

    path = tmp_path / "wikigold.conll"
    path.write_text(
        "-DOCSTART- O\n\n010 I-MISC\nis O\nby I-PER\nThe I-ORG\nMad I-ORG\n"
        "Capsule I-ORG\nin O\nTokyo I-LOC\n. O\n",
        encoding="utf-8",
    )
    [example] = read_wikigold(path)
    assert [(example.text[s:e], t) for s, e, t in example.spans] == [
        ("010", IGNORE_TYPE),
        ("by", "PER"),
        ("The Mad Capsule", "ORG"),
        ("Tokyo", "LOC"),
    ]


def test_goemotions_groups_to_three_classes(tmp_path):
    from model.datasets import read_goemotions

    (tmp_path / "group_labels.txt").write_text(
        "ambiguous\nnegative\nneutral\npositive", encoding="utf-8"
    )
    path = tmp_path / "group_dev.tsv"
    path.write_text(
        "I love it\t3\tid1\nwhat?\t0\tid2\nugh\t1\tid3\nfine\t2\tid4\n"
        "hmm ok\t0,2\tid5\nlove and hate\t1,3\tid6\n\t2\tid7\n",
        encoding="utf-8",
    )
    everything = read_goemotions(path)
    assert [(ex.text, ex.sentiment) for ex in everything] == [
        ("I love it", "positive"),
        ("what?", "neutral"),
        ("ugh", "negative"),
        ("fine", "neutral"),
        ("hmm ok", "neutral"),
    ]  # disagreeing groups and empty text dropped
    assert all(not ex.annotated and ex.spans == () for ex in everything)
    single = read_goemotions(path, single_group=True)
    assert [ex.text for ex in single] == ["I love it", "what?", "ugh", "fine"]
    bad = tmp_path / "bad.tsv"
    bad.write_text("text\t9\tid\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"bad.tsv:1: bad group ids"):
        read_goemotions(bad, labels_file=tmp_path / "group_labels.txt")


def test_jsonl_sentiment(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text(
        json.dumps({"text": "Jane is happy", "spans": [[0, 4, "PER"]], "sentiment": "positive"})
        + "\n"
        + json.dumps({"text": "x", "spans": []})
        + "\n",
        encoding="utf-8",
    )
    first, second = read_examples(path)
    assert first.sentiment == "positive" and second.sentiment is None
    path.write_text(
        json.dumps({"text": "x", "spans": [], "sentiment": "angry"}) + "\n", encoding="utf-8"
    )
    with pytest.raises(DatasetError, match="sentiment"):
        read_examples(path)


def test_split_off_is_seeded_and_disjoint():
    from model.datasets import split_off

    examples = [example_from_spans(f"text {i}", []) for i in range(50)]
    kept, held = split_off(examples, 0.1, seed=3)
    assert len(held) == 5 and len(kept) == 45
    assert {ex.text for ex in kept}.isdisjoint({ex.text for ex in held})
    assert split_off(examples, 0.1, seed=3) == (kept, held)
