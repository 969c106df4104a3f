"""Issue #12, round 3: checks of the fixes beyond the attacks of ``test_attacks_round3``.

NUL bytes in Parquet text are refused by row and column (as CSV and JSONL refuse them),
text is checked through a column's dictionary with the rows located, a mapped nested column
is refused before it is decoded, a ``<db>.staging`` that is a symbolic link is not followed,
and JSONL problems (lone surrogates, huge integers, keys spread over lines) name the line.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data.errors import IngestError
from data.ingest import ingest_files, staging_dir_for
from data.paths import STAGING_PREFIX, staging_dir_of, sweep_staging
from data.readers import read_table_chunks
from data.staging import stage_file
from data.store import Store


def _parquet(table: pa.Table, **kwargs: object) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out, **kwargs)
    return out.getvalue()


def _refused(data: bytes, name: str) -> IngestError:
    with pytest.raises(IngestError) as caught:
        stage_file((name, io.BytesIO(data)), name=name)
    return caught.value


@pytest.mark.parametrize("dictionary", [False, True])
def test_a_nul_byte_in_parquet_text_is_refused_by_row_and_column(dictionary: bool) -> None:
    data = _parquet(
        pa.table({"text": ["fine", "bad\x00value", "fine"], "channel": ["a", "b", "c\x00"]}),
        use_dictionary=dictionary,
    )
    error = _refused(data, "nul.parquet")
    located = {(p.row, p.column) for p in error.problems}
    assert located == {(2, "text"), (3, "channel")}, error.problems
    assert all("NUL" in p.message for p in error.problems)


def test_invalid_utf8_in_a_dictionary_column_names_every_row_that_uses_it() -> None:
    offsets = b"".join(n.to_bytes(4, "little") for n in (0, 2, 4))
    raw = pa.Array.from_buffers(
        pa.string(), 2, [None, pa.py_buffer(offsets), pa.py_buffer(b"ok\xff\xfe")]
    )
    column = pa.DictionaryArray.from_arrays(pa.array([0, 1, 0, 1], pa.int32()), raw)
    error = _refused(_parquet(pa.table({"text": column})), "dict.parquet")
    assert [(p.row, p.column) for p in error.problems] == [(2, "text"), (4, "text")]
    assert "0xff" in error.problems[0].message


def test_a_mapped_nested_parquet_column_is_refused_before_it_is_decoded() -> None:
    text = pa.array([["a"], ["b"]], pa.list_(pa.string()))
    error = _refused(_parquet(pa.table({"text": text})), "nested.parquet")
    assert error.problems[0].column == "text"
    assert "nested" in error.problems[0].message
    assert "damaged" not in str(error)


def test_unmapped_parquet_columns_are_listed_as_ignored_but_not_read() -> None:
    data = _parquet(pa.table({"text": ["a", "b"], "junk": pa.array([[1], [2]])}))
    staged = stage_file(("x.parquet", io.BytesIO(data)), name="x.parquet")
    try:
        assert staged.rows == 2
        assert staged.ignored_columns == ["junk"]
    finally:
        staged.path.unlink(missing_ok=True)
    chunk = next(read_table_chunks(data, name="x.parquet", select=lambda names: ["text"]))
    assert list(chunk.columns) == ["text"]
    assert chunk.attrs["columns"] == ["text", "junk"]


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (b'{"text": "ok"}\n{"text": "\\uDC00 x"}\n', "surrogate"),
        (b'{"text": "ok"}\n{"text": "a", "n": ' + b"7" * 5_000 + b"}\n", "not valid JSON"),
    ],
)
def test_odd_jsonl_values_name_their_line(line: bytes, words: str) -> None:
    error = _refused(line, "odd.jsonl")
    assert [p.row for p in error.problems] == [2], error.problems
    assert words in error.problems[0].message


def test_a_valid_surrogate_pair_escape_is_imported() -> None:
    staged = stage_file(
        ("emoji.jsonl", io.BytesIO(b'{"text": "\\ud83d\\ude00 hi"}\n')), name="emoji.jsonl"
    )
    try:
        assert staged.rows == 1
    finally:
        staged.path.unlink(missing_ok=True)


def test_jsonl_keys_spread_over_lines_are_counted_together() -> None:
    lines = b"".join(json.dumps({"text": "t", f"k{i}": ""}).encode() + b"\n" for i in range(20))
    chunks = read_table_chunks(lines, name="keys.jsonl", max_columns=10)
    with pytest.raises(IngestError) as caught:
        list(chunks)
    [problem] = caught.value.problems
    assert problem.row == 10  # "text" + k0…k9: the 11th key arrives on line 10
    assert "PRICEWAR_MAX_UPLOAD_COLUMNS" in problem.message


def test_a_staging_folder_that_is_a_link_is_not_followed(tmp_path: Path) -> None:
    db = tmp_path / "app.duckdb"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    victim = elsewhere / f"{STAGING_PREFIX}1-x.parquet"  # no live writer: a "leftover"
    victim.write_bytes(b"keep me")
    os.symlink(elsewhere, staging_dir_of(db))
    assert sweep_staging(db) == []
    store = Store.open(db)
    try:
        assert victim.exists()
        assert staging_dir_for(store) is None  # stage in the temp folder instead
        upload = tmp_path / "t.csv"
        upload.write_text("text\nhello\n", encoding="utf-8")
        [report] = ingest_files(store, [upload])
        assert report.status == "imported", report
        assert sorted(p.name for p in elsewhere.iterdir()) == [victim.name]
    finally:
        store.close()


def test_a_staging_file_that_is_a_link_is_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "app.duckdb"
    target = tmp_path / "precious.parquet"
    target.write_bytes(b"keep me")
    staging = staging_dir_of(db)
    staging.mkdir()
    link = staging / f"{STAGING_PREFIX}\u00b2-x.parquet"
    os.symlink(target, link)
    (staging / f"{STAGING_PREFIX}\u2463-y.parquet").write_bytes(b"junk")
    removed = sweep_staging(db)
    assert [p.name for p in removed] == [f"{STAGING_PREFIX}\u2463-y.parquet"]
    assert target.read_bytes() == b"keep me" and link.is_symlink()
