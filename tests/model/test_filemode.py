"""File mode: CSV/TSV/JSONL/Parquet in, one JSON object per row out, bad rows reported."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from model.filemode import FileModeError, tag_file

TEXT = "Jane Doe moved to Azure 😀 in\r\nZürich"


def _read(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _check_offsets(records, texts):
    for record, text in zip(records, texts, strict=True):
        for e in record["entities"]:
            assert text[e["start"] : e["end"]] == e["text"]
            assert set(e) == {"start", "end", "label", "text", "score"}


def test_csv_with_emoji_crlf_and_ids(tmp_path, keyword_tagger):
    source = tmp_path / "t.csv"
    frame = pd.DataFrame({"ticket": ["a1", "a2", "a3"], "body": [TEXT, "nothing", "Paris, Acme"]})
    source.write_bytes(frame.to_csv(index=False, lineterminator="\r\n").encode("utf-8"))
    out = tmp_path / "out.jsonl"
    report = tag_file(keyword_tagger, source, out, text_column="body", id_column="ticket")
    assert (report.rows, report.bad_rows) == (3, 0)
    records = _read(out)
    assert [r["id"] for r in records] == ["a1", "a2", "a3"]
    _check_offsets(records, frame["body"].tolist())
    assert [(e["text"], e["label"]) for e in records[0]["entities"]] == [
        ("Jane Doe", "PER"),
        ("Azure", "PRODUCT"),
        ("Zürich", "LOC"),
    ]
    assert "\r\n" in TEXT and records[1]["entities"] == []


def test_jsonl_default_id_column_and_bad_rows(tmp_path, keyword_tagger):
    source = tmp_path / "t.jsonl"
    rows = [
        {"id": 7, "text": TEXT},
        {"id": 8, "text": ""},
        {"id": 9},
        {"id": 10, "text": "   "},
        {"id": 11, "text": "Paris"},
        {"id": 12, "text": "\u200b\u00ad\x1a"},  # ingest refuses it as empty too
    ]
    source.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8"
    )
    warnings = []
    report = tag_file(keyword_tagger, source, tmp_path / "o.jsonl", warn=warnings.append)
    assert (report.rows, report.bad_rows) == (6, 4)
    records = _read(tmp_path / "o.jsonl")
    assert [r["id"] for r in records] == ["7", "8", "9", "10", "11", "12"]
    assert [r.get("error") for r in records] == [
        None,
        "empty text",
        "missing text",
        "empty text",
        None,
        "empty text",
    ]
    assert records[0]["entities"][0]["text"] == "Jane Doe"
    assert len(warnings) == 4 and warnings[1].startswith("row 3 (id 9): missing text")


def test_parquet_and_tsv_without_id_use_row_numbers(tmp_path, keyword_tagger):
    frame = pd.DataFrame({"text": [TEXT, "Acme", None], "n": [1, 2, 3]})
    frame.to_parquet(tmp_path / "t.parquet")
    report = tag_file(keyword_tagger, tmp_path / "t.parquet", tmp_path / "p.jsonl")
    records = _read(tmp_path / "p.jsonl")
    assert [r["id"] for r in records] == [1, 2, 3] and report.bad_rows == 1
    pd.DataFrame({"text": [1.5, 2.5]}).to_parquet(tmp_path / "num.parquet")
    tag_file(keyword_tagger, tmp_path / "num.parquet", tmp_path / "n.jsonl")
    assert _read(tmp_path / "n.jsonl")[0]["error"] == "text is not a string (float)"
    (tmp_path / "t.tsv").write_text("text\tx\nParis\t1\n", encoding="utf-8")
    tag_file(keyword_tagger, tmp_path / "t.tsv", tmp_path / "t.jsonl")
    assert _read(tmp_path / "t.jsonl")[0]["entities"][0]["text"] == "Paris"


def test_missing_column_and_unreadable_file(tmp_path, keyword_tagger):
    source = tmp_path / "t.csv"
    source.write_text("body\nParis\n", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    with pytest.raises(FileModeError, match=r"no column 'text' \(columns: body\)"):
        tag_file(keyword_tagger, source, out)
    with pytest.raises(FileModeError, match="no id column 'key'"):
        tag_file(keyword_tagger, source, out, text_column="body", id_column="key")
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(FileModeError):
        tag_file(keyword_tagger, tmp_path / "empty.csv", out)
    assert not out.exists()  # nothing half-written
