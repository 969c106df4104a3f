"""data.readers: every supported format, gzip, encodings, and located problems."""

from __future__ import annotations

import gzip
import io

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.errors import IngestError
from data.readers import detect_format, read_table_chunks

ROWS = pd.DataFrame(
    {"id": ["1", "2", "3"], "text": ["hello", 'multi\nline, "quoted"', "ünïcødé ✓"]}
)


def _read(source, name: str, **kw) -> pd.DataFrame:
    return pd.concat(list(read_table_chunks(source, name=name, **kw)), ignore_index=True)


def _encode(fmt: str) -> bytes:
    if fmt == "csv":
        return ROWS.to_csv(index=False).encode()
    if fmt == "tsv":
        return b'id\ttext\n1\thello\n2\t"multi\nline, ""quoted"""\n3\t\xc3\xbcn\xc3\xafc\xc3\xb8d\xc3\xa9 \xe2\x9c\x93\n'
    if fmt == "jsonl":
        return ROWS.to_json(orient="records", lines=True, force_ascii=False).encode()
    buf = io.BytesIO()
    ROWS.to_parquet(buf, index=False)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "parquet"])
@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("as_path", [False, True])
def test_every_format_round_trips(tmp_path, fmt, gz, as_path):
    data = _encode(fmt)
    name = f"tickets.{fmt}" + (".gz" if gz else "")
    if gz:
        data = gzip.compress(data)
    source = io.BytesIO(data)
    if as_path:
        source = tmp_path / name
        source.write_bytes(data)
    df = _read(source, name)
    assert df["text"].tolist() == ROWS["text"].tolist()
    assert [str(v) for v in df["id"]] == ROWS["id"].tolist()


def test_gzip_detected_by_magic_bytes_without_suffix():
    df = _read(gzip.compress(_encode("csv")), "upload.csv")
    assert len(df) == 3


def test_format_detected_by_content_when_suffix_unknown():
    assert detect_format("x.dat", b'{"text": 1}') == "jsonl"
    assert detect_format("x.dat", b"a\tb\n") == "tsv"
    assert detect_format("x.dat", b"a,b\n") == "csv"
    assert detect_format("x.csv", b"PAR1....") == "parquet"
    assert detect_format("x.TSV.GZ") == "tsv"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be-bom"])
def test_bom_encodings(encoding):
    text = "id,text\n1,héllo wörld\n"
    data = (
        (b"\xfe\xff" + text.encode("utf-16-be"))
        if encoding == "utf-16-be-bom"
        else text.encode(encoding)
    )
    df = _read(data, "t.csv")
    assert list(df.columns) == ["id", "text"]
    assert df["text"].tolist() == ["héllo wörld"]


def test_chunks_respect_chunksize():
    data = b"id,text\n" + b"".join(f"{i},t{i}\n".encode() for i in range(1000))
    chunks = list(read_table_chunks(data, name="t.csv", chunksize=300))
    assert [len(c) for c in chunks] == [300, 300, 300, 100]
    assert pd.concat(chunks)["text"].tolist() == [f"t{i}" for i in range(1000)]


def test_one_way_stream_is_spooled():
    class OneWay(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._b = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buf):
            data = self._b.read(len(buf))
            buf[: len(data)] = data
            return len(data)

    assert len(_read(OneWay(_encode("csv")), "t.csv")) == 3


def _problems(data: bytes, name: str = "bad.csv", **kw) -> list:
    with pytest.raises(IngestError) as info:
        list(read_table_chunks(data, name=name, **kw))
    assert info.value.file == name
    return info.value.problems


BAD_FILES = {
    "empty": (b"", "bad.csv", None, None, "empty"),
    "blank lines only": (b"\n \n\n", "bad.csv", None, None, "empty"),
    "header only": (b"id,text\n", "bad.csv", None, None, "no data rows"),
    "utf16 without bom": ("id,text\n1,hi\n".encode("utf-16-le"), "bad.csv", None, None, "UTF-16"),
    "latin-1": ("id,text\n1,ok\n2,café\n".encode("latin-1"), "bad.csv", 2, "text", "UTF-8"),
    "nul byte": (b"id,text\n1,ok\n2,o\x00k\n", "bad.csv", 2, "text", "NUL"),
    "ragged": (b"id,text\n1,a\n2,b\n3,c,extra\n", "bad.csv", 3, None, "3 fields"),
    "zip renamed csv": (b"PK\x03\x04" + bytes(200), "bad.csv", None, None, "ZIP"),
    "random binary": (bytes(range(256)) * 8, "bad.csv", None, None, "binary"),
    "duplicate header": (b"text,TEXT\n1,2\n", "bad.csv", None, "TEXT", "duplicate"),
    "unnamed column": (b"id,,text\n1,2,3\n", "bad.csv", None, None, "no name"),
    "broken jsonl line": (b'{"text": "a"}\n{"text": \n', "bad.jsonl", 2, None, "not valid JSON"),
    "jsonl not object": (b'{"text": "a"}\n[1, 2]\n', "bad.jsonl", 2, None, "JSON object"),
    "parquet garbage": (b"PAR1" + bytes(100), "bad.parquet", None, None, "Parquet"),
    "damaged gzip": (
        gzip.compress(b"id,text\n" + b"".join(b"%d,%x\n" % (i, i * 7919) for i in range(9000)))[
            :20000
        ],
        "bad.csv.gz",
        None,
        None,
        "gzip",
    ),
    "pdf": (b"%PDF-1.7\n" + bytes(100), "bad.csv", None, None, "PDF"),
    "over size limit": (b"id,text\n" + b"1,aaaa\n" * 100, "bad.csv", None, None, "limit"),
    "gzip bomb": (gzip.compress(b"text\n" + b"a" * 20_000_000), "bomb.csv.gz", None, None, "limit"),
    "unterminated quote": (b'id,text\n1,"open\n2,x\n', "bad.csv", 1, "text", "never closed"),
    "utf-32": ("text\nhi\n".encode("utf-32"), "bad.csv", None, None, "UTF-32"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_are_rejected_with_location(case):
    data, name, row, column, words = BAD_FILES[case]
    kw = {"max_bytes": 200} if case in ("over size limit", "gzip bomb") else {}
    problems = _problems(data, name, **kw)
    first = problems[0]
    assert words.lower() in first.message.lower(), first
    assert first.row == row
    assert first.column == column


def test_many_problems_are_capped_at_twenty():
    data = b"id,text\n" + b"".join(b"%d,caf\xe9 ok\n" % i for i in range(100))
    problems = _problems(data)
    assert len(problems) == 20
    assert [p.row for p in problems[:3]] == [1, 2, 3]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30
        ).filter(lambda s: s.strip()),
        min_size=1,
        max_size=20,
    )
)
def test_csv_round_trip_of_arbitrary_text(texts):
    df = pd.DataFrame({"text": texts})
    got = _read(df.to_csv(index=False).encode(), "t.csv")
    assert got["text"].tolist() == texts


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(data):
    try:
        for chunk in read_table_chunks(data, name="fuzz.csv"):
            assert isinstance(chunk, pd.DataFrame)
    except IngestError as exc:
        assert exc.problems


def test_missing_path_is_a_problem_not_a_crash(tmp_path):
    with pytest.raises(IngestError, match="cannot read the file"):
        list(read_table_chunks(tmp_path / "nope.csv", name="nope.csv"))
