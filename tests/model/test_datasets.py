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
        encoding="utf-8")
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
        {"text": "Jane moved to Azure 😀 in Zürich", "spans": [[0, 4, "PER"], [14, 19, "PRODUCT"],
                                                           [25, 31, "LOC"]]},
        {"text": "nothing here", "entities": []},
        {"text": "Acme!", "entities": [{"start": 0, "end": 4, "label": "corporation"}]},
    ]
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\n",
                    encoding="utf-8")
    examples = read_examples(path, {"corporation": "ORG"})
    assert examples[0].gold_tags() == ["B-PER", "O", "O", "B-PRODUCT", "O", "O", "B-LOC"]
    assert examples[1].spans == ()
    assert examples[2].spans == ((0, 4, "ORG"),)


@pytest.mark.parametrize("record, message", [
    ({"text": "abc", "spans": [[0, 9, "PER"]]}, "outside"),
    ({"text": "abc", "spans": [[0, 2, "PER"], [1, 3, "ORG"]]}, "overlapping"),
    ({"text": 5, "spans": []}, "not a string"),
    ({"spans": []}, "text"),
])
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
        "person", "location", "corporation", "group", "product", "creative-work"}
    assert {label for ex in dev for *_, label in ex.spans} == {"PER", "LOC", "ORG", "PRODUCT"}


def test_split_words_and_projection():
    text = "Ask Jane-Doe about gpt_4o, 😀 ok"
    words = split_words(text)
    assert [text[s:e] for s, e in words] == [
        "Ask", "Jane", "-", "Doe", "about", "gpt", "_", "4o", ",", "😀", "ok"]
    assert project_spans(words, [(4, 12, "PER")]) == [
        "O", "B-PER", "I-PER", "I-PER", "O", "O", "O", "O", "O", "O", "O"]
    ex = example_from_spans(text, [(19, 25, "PRODUCT")])
    assert ex.gold_tags()[5:8] == ["B-PRODUCT", "I-PRODUCT", "I-PRODUCT"]
