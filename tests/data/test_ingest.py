"""data.ingest and data.staging: formats, column mapping, validation, all-or-nothing, idempotency, limits."""

from __future__ import annotations

import gzip
import io
import json
from datetime import datetime

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.columns import map_columns
from data.ingest import ingest_files
from data.keys import ticket_key
from data.limits import IngestLimits
from data.normalise import BLANK_TEXT, is_blank_text
from data.staging import stage_file

FRAME = pd.DataFrame(
    {
        "Ticket ID": ["A-1", "A-2", "A-3"],
        "Body": [
            "The API is slow from Berlin",
            "Invoice INV-1 is wrong\nplease fix",
            "=1+1 cheap?",
        ],
        "Created": ["2026-01-02 10:00:00", "2026-01-03T11:30:00Z", ""],
        "Customer": ["C0001", "C0002", None],
        "Channel": ["email", "chat", "web"],
        "Extra": ["x", "y", "z"],
    }
)


def _bytes(fmt: str, frame: pd.DataFrame = FRAME) -> bytes:
    if fmt == "csv":
        return frame.to_csv(index=False).encode()
    if fmt == "tsv":
        return frame.to_csv(index=False, sep="\t").encode()
    if fmt == "jsonl":
        return frame.to_json(orient="records", lines=True, force_ascii=False).encode()
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def _snapshot(store) -> dict:
    return {
        "counts": store.table_counts(),
        "tickets": store.query("SELECT * FROM tickets ORDER BY ticket_key"),
    }


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "parquet"])
@pytest.mark.parametrize("gz", [False, True])
def test_every_format_is_ingested(tmp_store, tmp_path, fmt, gz):
    data = _bytes(fmt)
    name = f"tickets.{fmt}" + (".gz" if gz else "")
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if gz else data)
    [report] = ingest_files(tmp_store, [path])
    assert report.status == "imported", report.message
    assert report.rows == 3 and report.new_tickets == 3
    assert report.columns == {
        "text": "Body",
        "id": "Ticket ID",
        "created_at": "Created",
        "customer": "Customer",
        "channel": "Channel",
    }
    assert report.ignored_columns == ["Extra"]
    rows = tmp_store.query("SELECT * FROM tickets ORDER BY source_id")
    assert rows["text"].tolist() == FRAME["Body"].tolist()
    assert rows["source"].unique().tolist() == [name]
    assert rows["created_at"].iloc[1] == pd.Timestamp("2026-01-03 11:30:00")
    assert pd.isna(rows["created_at"].iloc[2]) and pd.isna(rows["customer_id"].iloc[2])


def test_uploaded_file_objects_are_accepted(tmp_store):
    class Upload(io.BytesIO):  # what Streamlit's UploadedFile looks like
        name = "upload.csv"

    [report] = ingest_files(tmp_store, [Upload(_bytes("csv"))])
    assert report.file == "upload.csv" and report.new_tickets == 3


def test_same_file_twice_adds_nothing(tmp_store, tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(_bytes("csv"))
    first = ingest_files(tmp_store, [path])[0]
    before = _snapshot(tmp_store)
    second = ingest_files(tmp_store, [path])[0]
    assert first.new_tickets == 3
    assert second.status == "unchanged" and second.already_ingested
    assert "nothing added" in second.message
    after = _snapshot(tmp_store)
    assert after["counts"] == before["counts"]
    pd.testing.assert_frame_equal(after["tickets"], before["tickets"])
    assert tmp_store.scalar("SELECT count(*) FROM ingested_files") == 1


def test_overlapping_file_adds_only_new_rows(tmp_store):
    ingest_files(tmp_store, [("a.csv", io.BytesIO(_bytes("csv")))])
    bigger = pd.concat([FRAME, FRAME.iloc[[0]].assign(**{"Ticket ID": "A-4"})])
    [report] = ingest_files(tmp_store, [("b.jsonl", io.BytesIO(_bytes("jsonl", bigger)))])
    assert report.new_tickets == 1 and report.duplicates == 3
    assert tmp_store.scalar("SELECT count(*) FROM tickets") == 4


def test_rows_repeated_in_a_file_are_written_once(tmp_store):
    data = b"text\nsame\nsame\nother\n"
    [report] = ingest_files(tmp_store, [("r.csv", io.BytesIO(data))])
    assert report.rows == 3 and report.new_tickets == 2


def test_keys_computed_in_sql_match_python(tmp_store):
    ingest_files(tmp_store, [("k.csv", io.BytesIO(_bytes("csv")))])
    for row in tmp_store.query("SELECT * FROM tickets").itertuples():
        created = None if pd.isna(row.created_at) else row.created_at.to_pydatetime()
        assert row.ticket_key == ticket_key(
            row.text,
            source_id=row.source_id,
            customer_id=row.customer_id,
            created_at=created,
            subject=row.subject,
        )
    assert ticket_key("x", created_at=datetime(2026, 1, 2)) != ticket_key("x")


@pytest.mark.parametrize(
    "header,field",
    [
        ("body", "text"),
        ("Description", "text"),
        ("MESSAGE", "text"),
        (" content ", "text"),
        ("ticket_text", "text"),
        ("Ticket-Text", "text"),
        ("ticket id", "id"),
        ("created", "created_at"),
        ("Customer Name", "customer"),
        ("title", "subject"),
    ],
)
def test_column_aliases(header, field):
    cmap = map_columns([header, "text" if field != "text" else "other"])
    assert cmap.fields[field] == header


def test_text_wins_over_aliases():
    assert map_columns(["body", "Text"]).fields["text"] == "Text"


def _parquet(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


BAD = {
    # name: (file name, bytes, expected row, expected column, words in the message)
    "no text column": ("a.csv", b"id,foo\n1,bar\n", None, None, "no text column"),
    "empty text": ("a.csv", b"id,text\n1,ok\n2,\n3,   \n", 2, "text", "empty text"),
    "invisible text": (  # zero-width spaces around no-break and ideographic spaces
        "a.csv",
        'id,text\n1,ok\n2,"\u200b\u00a0\u3000\u200b"\n'.encode(),
        2,
        "text",
        "empty text",
    ),
    "bad date": (
        "a.csv",
        b"text,created_at\nok,2026-01-01\nok,yesterday-ish\n",
        2,
        "created_at",
        "cannot read the date",
    ),
    "impossible date": ("a.csv", b"text,date\nok,2026-02-30\n", 1, "date", "cannot read"),
    "date out of range": ("a.csv", b"text,date\nok,1850-01-01\n", 1, "date", "1990"),
    "latin-1": ("a.csv", "text\nok\ncafé\n".encode("latin-1"), 2, "text", "UTF-8"),
    "utf16 no bom": ("a.csv", "text\nok\n".encode("utf-16-le"), None, None, "UTF-16"),
    "nul byte": ("a.csv", b"id,text\n1,ok\n2,b\x00d\n", 2, "text", "NUL"),
    "ragged": ("a.csv", b"id,text\n1,ok\n2,ok,extra\n", 2, None, "fields"),
    "binary": ("a.csv", bytes(range(256)) * 4, None, None, "binary"),
    "empty": ("a.csv", b"", None, None, "empty"),
    "header only": ("a.csv", b"id,text\n", None, None, "no data rows"),
    "broken jsonl": ("a.jsonl", b'{"text": "ok"}\n{"text": "no\n', 2, None, "JSON"),
    "jsonl text not string": ("a.jsonl", b'{"text": "ok"}\n{"text": {"a": 1}}\n', None, None, None),
    "parquet wrong type": (
        "a.parquet",
        _parquet(pa.table({"text": [1, 2]})),
        1,
        "text",
        "must hold text",
    ),
    "duplicate headers": ("a.csv", b"text,TEXT\na,b\n", None, "TEXT", "duplicate"),
    "too long text": ("a.csv", b"text\n" + b"x" * 200 + b"\n", 1, "text", "max_text_chars"),
    "too long id": ("a.csv", b"id,text\n" + b"9" * 50 + b",ok\n", 1, "id", "max_field_chars"),
    "too many rows": ("a.csv", b"text\n" + b"ok\n" * 12, 11, None, "max_rows"),
    "too big": ("a.csv", b"text\n" + b"some text\n" * 500, None, None, "limit"),
    "bad resolved_by": ("a.csv", b"text,resolved_by\nok,robot\n", 1, "resolved_by", "human"),
    "zip": ("a.csv", b"PK\x03\x04" + bytes(64), None, None, "ZIP"),
    "damaged gzip": ("a.csv.gz", b"\x1f\x8b\x08\x00" + bytes(40), None, None, "gzip"),
}
LIMITS = IngestLimits(max_bytes=2000, max_rows=10, max_text_chars=100, max_field_chars=20)


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_are_rejected_and_change_nothing(tmp_store, case):
    name, data, row, column, words = BAD[case]
    ingest_files(tmp_store, [("good.csv", io.BytesIO(b"text\nalready here\n"))])
    before = _snapshot(tmp_store)
    [report] = ingest_files(tmp_store, [(name, io.BytesIO(data))], limits=LIMITS)
    if case == "jsonl text not string":  # nested JSON becomes its JSON text: accepted
        assert report.accepted
        return
    assert report.status == "rejected" and not report.accepted
    assert report.new_tickets == 0
    first = report.problems[0]
    assert words.lower() in first.message.lower(), report.message
    assert (first.row, first.column) == (row, column), report.message
    assert report.message.startswith(f"{name}: rejected")
    after = _snapshot(tmp_store)
    assert after["counts"] == before["counts"]
    pd.testing.assert_frame_equal(after["tickets"], before["tickets"])


def test_at_most_twenty_problems_are_reported(tmp_store):
    data = b"id,text\n" + b"".join(b"%d,\n" % i for i in range(60))
    [report] = ingest_files(tmp_store, [("many.csv", io.BytesIO(data))])
    assert len(report.problems) == 20
    assert [p.row for p in report.problems[:3]] == [1, 2, 3]


def test_one_bad_file_does_not_block_the_others(tmp_store):
    reports = ingest_files(
        tmp_store, [("bad.csv", io.BytesIO(b"")), ("good.csv", io.BytesIO(b"text\nfine\n"))]
    )
    assert [r.status for r in reports] == ["rejected", "imported"]


def test_staging_streams_in_chunks(tmp_path):
    rows = 2_500
    path = tmp_path / "big.csv"
    path.write_text("id,text\n" + "".join(f"{i},ticket {i}\n" for i in range(rows)))
    staged = stage_file(path, limits=IngestLimits(chunksize=1000), staging_dir=tmp_path)
    meta = pq.ParquetFile(staged.path)
    assert staged.rows == rows and meta.metadata.num_rows == rows
    assert meta.metadata.num_row_groups == 3  # one per chunk: never the whole file at once


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "text": st.text(min_size=0, max_size=40),
                "id": st.one_of(st.none(), st.integers(0, 10**6), st.text(max_size=8)),
                "created_at": st.one_of(
                    st.none(),
                    st.text(max_size=12),
                    st.datetimes(datetime(1995, 1, 1), datetime(2099, 1, 1)).map(str),
                ),
            }
        ),
        min_size=1,
        max_size=15,
    )
)
def test_any_jsonl_is_accepted_exactly_or_rejected_cleanly(tmp_store, records):
    data = "\n".join(json.dumps(r) for r in records).encode()
    before = tmp_store.table_counts()
    [report] = ingest_files(tmp_store, [("fuzz.jsonl", io.BytesIO(data))])
    if report.accepted:
        assert report.rows == len(records)
        assert report.already_ingested or (
            tmp_store.table_counts()["tickets"] == before["tickets"] + report.new_tickets
        )
    else:
        assert report.problems and tmp_store.table_counts() == before


def test_re_uploading_exported_demo_tickets_adds_nothing(demo_db_path, tmp_path):
    import shutil

    from data.export import to_csv_bytes
    from data.store import Store

    db = tmp_path / "copy.duckdb"
    shutil.copy(demo_db_path, db)
    with Store.open(db) as store:
        export = store.query(
            "SELECT source_id, customer_id, created_at, subject, text"
            " FROM tickets ORDER BY created_at LIMIT 300"
        )
        [report] = ingest_files(store, [("export.csv", io.BytesIO(to_csv_bytes(export)))])
        assert report.accepted, report.message
        assert report.new_tickets == 0 and report.duplicates == 300


def test_jsonl_rows_without_a_resolver_store_null(tmp_store):
    """A JSONL row that lacks ``resolved_by`` beside one that has it (found by fuzzing: the
    missing value reached pyarrow as a float NaN and crashed ingest)."""
    data = b'{"text": "first"}\n{"resolved_by": "AI", "text": "second"}\n'
    [report] = ingest_files(tmp_store, [("mixed.jsonl", io.BytesIO(data))])
    assert report.accepted, report.message
    rows = dict(tmp_store.fetchall("SELECT text, resolved_by FROM tickets"))
    assert rows == {"first": None, "second": "ai"}


def test_a_ticket_from_the_future_is_refused_by_row_and_column(tmp_store, tmp_path):
    """Up to tomorrow (UTC) is accepted, later is refused naming row and column, whether the
    date is text or a typed Parquet timestamp."""
    import pandas as pd

    today = pd.Timestamp.now(tz="UTC").tz_localize(None).normalize()
    later = today + pd.Timedelta(days=3)
    ok = (
        "ok.csv",
        io.BytesIO(f"id,text,created_at\n1,fine,{today + pd.Timedelta(days=1)}\n".encode()),
    )
    [report] = ingest_files(tmp_store, [ok])
    assert report.accepted, report.message
    text = (
        "text.csv",
        io.BytesIO(f"id,text,created_at\n1,a,{today.date()}\n2,b,{later.date()}\n".encode()),
    )
    typed = tmp_path / "typed.parquet"
    pd.DataFrame({"id": ["x", "y"], "text": ["a", "b"], "created_at": [today, later]}).to_parquet(
        typed
    )
    for source in (text, typed):
        [report] = ingest_files(tmp_store, [source])
        assert not report.accepted
        assert any(
            p.row == 2 and p.column == "created_at" and "in the future" in p.message
            for p in report.problems
        ), report.problems


@settings(max_examples=300, deadline=None)
@given(
    st.text(st.characters(categories=["Cf", "Cc", "Zs", "Zl", "Zp", "Lo", "Mn", "So"]), max_size=6)
)
def test_blank_text_one_at_a_time_is_ingests_rule(text):
    """Tagging a file judges texts one at a time (``is_blank_text``); ingest judges a column
    (``BLANK_TEXT`` in pyarrow): the two agree, so a text one path refuses as empty the
    other does too."""
    import pyarrow.compute as pc

    assert is_blank_text(text) == pc.match_substring_regex(pa.array([text]), BLANK_TEXT)[0].as_py()
