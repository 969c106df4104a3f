"""Write the hostile upload corpus: small malformed or hostile ticket files, deterministically.

Every file has an expectation in :data:`EXPECTED`: ``("accept", n)`` — ingested with ``n``
new tickets — or ``("reject", words)`` — rejected, and the message must contain ``words``
(case-insensitive), which name the problem. The committed files in this folder are this
script's output (``python tests/reliability/corpus/make_corpus.py`` rewrites them); big
cases (bombs, oversize files, 10 MB fields) are generated at test time into a temporary
folder by :func:`write_big_cases`, so that the repository stays small.

Example:
    python tests/reliability/corpus/make_corpus.py            # rewrite the committed files
    python tests/reliability/corpus/make_corpus.py /tmp/out   # write them elsewhere
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import random
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent

Expectation = tuple[str, object]  # ("accept", new_tickets) | ("reject", words)

OK_ROWS = "id,text\n1,The API times out since Monday\n2,Invoice for March is wrong\n"
XSS = (
    '<script>alert("xss")</script> <img src=x onerror=alert(1)> '
    '<a href="javascript:alert(2)">link</a> [click](javascript:alert(3)) '
    "![img](https://example.invalid/x.png)"
)


def _csv_quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _parquet(columns: dict[str, list], **schema: object) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(columns)
    out = io.BytesIO()
    pq.write_table(table, out, compression="none")
    return out.getvalue()


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _cases() -> dict[str, tuple[Callable[[], bytes], Expectation]]:
    """File name → (bytes builder, expectation)."""
    rng = random.Random(20261128)
    latin = "id,text\n1,Caf\xe9 cr\xe8me: the r\xe9sum\xe9 endpoint fails\n".encode("latin-1")
    utf16_text = "id,text\n1,Zürich team: rate limit 😀\n2,Ünïcödé ticket\n"
    parquet_ok = _parquet({"id": ["p1", "p2"], "text": ["parquet one", "parquet two"]})
    cases: dict[str, tuple[Callable[[], bytes], Expectation]] = {
        # -- encodings -------------------------------------------------------------------
        "utf8_plain.csv": (lambda: OK_ROWS.encode(), ("accept", 2)),
        "utf8_bom.csv": (lambda: codecs.BOM_UTF8 + b"id,text\n1,with a BOM\n", ("accept", 1)),
        "utf16le_bom.csv": (
            lambda: codecs.BOM_UTF16_LE + utf16_text.encode("utf-16-le"),
            ("accept", 2),
        ),
        "utf16be_bom.csv": (
            lambda: codecs.BOM_UTF16_BE + utf16_text.encode("utf-16-be"),
            ("accept", 2),
        ),
        "utf16le_no_bom.csv": (lambda: utf16_text.encode("utf-16-le"), ("reject", "UTF-16")),
        "utf16be_no_bom.csv": (lambda: utf16_text.encode("utf-16-be"), ("reject", "UTF-16")),
        "utf32_bom.csv": (lambda: utf16_text.encode("utf-32"), ("reject", "UTF-32")),
        "latin1.csv": (lambda: latin, ("reject", "Latin-1")),
        "latin1_header.csv": (
            lambda: "id,r\xe9sum\xe9,text\n1,x,y\n".encode("latin-1"),
            ("reject", "header is not valid UTF-8"),
        ),
        "mixed_utf8_latin1.csv": (
            lambda: (
                "id,text\n1,Zürich ok\n2,fine\n".encode() + "3,Z\xfcrich bad\n".encode("latin-1")
            ),
            ("reject", "row 3"),
        ),
        "emoji_bidi_zero_width.csv": (
            lambda: "id,text\n1,\u202eevil\u202c 😀 zero\u200bwidth \U0001f600\n".encode(),
            ("accept", 1),
        ),
        # -- binary content -----------------------------------------------------------
        "nul_in_field.csv": (lambda: b"id,text\n1,hello\x00world\n", ("reject", "NUL")),
        "nul_padding.csv": (lambda: OK_ROWS.encode() + b"\x00" * 4096, ("reject", "NUL")),
        "png_renamed.csv": (
            lambda: b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(600)),
            ("reject", "PNG"),
        ),
        "xlsx_renamed.csv": (lambda: _zip({"xl/workbook.xml": b"<workbook/>"}), ("reject", "ZIP")),
        "elf_renamed.csv": (lambda: b"\x7fELF\x02\x01\x01" + bytes(500), ("reject", "executable")),
        "pdf_renamed.csv": (lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", ("reject", "PDF")),
        "sqlite_renamed.csv": (lambda: b"SQLite format 3\x00" + bytes(200), ("reject", "SQLite")),
        "random_bytes.csv": (lambda: random.Random(7).randbytes(4000), ("reject", "binary")),
        "bzip2_renamed.csv.gz": (lambda: b"BZh91AY&SY" + bytes(100), ("reject", "bzip2")),
        # -- empty and header-only ------------------------------------------------------
        "empty.csv": (lambda: b"", ("reject", "empty")),
        "whitespace_only.csv": (lambda: b"  \r\n\t\n\n", ("reject", "empty")),
        "bom_only.csv": (lambda: codecs.BOM_UTF8, ("reject", "empty")),
        "header_only.csv": (lambda: b"id,text\n", ("reject", "no data rows")),
        "header_only_crlf_no_newline.csv": (lambda: b"id,text", ("reject", "no data rows")),
        "empty.jsonl": (lambda: b"\n\n", ("reject", "empty")),
        "empty.parquet": (lambda: _parquet({"text": pa_empty()}), ("reject", "no data rows")),
        # -- shape ----------------------------------------------------------------------
        "ragged_short_row.csv": (
            lambda: b"id,text,channel\n1,a,email\n2,b\n3,c,chat\n",
            ("reject", "row 2"),
        ),
        "ragged_long_row.csv": (lambda: b"id,text\n1,a\n2,b,extra,more\n", ("reject", "fields")),
        "quotes_and_newlines.csv": (
            lambda: (
                "id,text\n1," + _csv_quote('He said "hi",\nthen left\r\nagain') + "\n"
                "2," + _csv_quote("comma, inside") + "\n"
            ).encode(),
            ("accept", 2),
        ),
        "unterminated_quote.csv": (
            lambda: b'id,text\n1,"never closed\n2,more text\n',
            ("reject", "never closed"),
        ),
        "duplicate_header.csv": (lambda: b"id,text,text\n1,a,b\n", ("reject", "duplicate")),
        "duplicate_header_case.csv": (lambda: b"ID,Text,text \n1,a,b\n", ("reject", "duplicate")),
        "missing_header_name.csv": (lambda: b"id,,text\n1,x,y\n", ("reject", "no name")),
        "no_text_column.csv": (lambda: b"id,subject\n1,hello\n", ("reject", "no text column")),
        "no_header_row.csv": (
            lambda: b"1,The API is down\n2,Billing\n",
            ("reject", "no text column"),
        ),
        "semicolon_delimited.csv": (lambda: b"id;text\n1;hello\n", ("reject", "no text column")),
        "many_columns.csv": (
            lambda: (
                ",".join(["text"] + [f"c{i}" for i in range(600)])
                + "\n"
                + ",".join(["x"] * 601)
                + "\n"
            ).encode(),
            ("reject", "columns"),
        ),
        "crlf_and_tsv.tsv": (
            lambda: b"id\ttext\r\n1\ttab separated\r\n2\tsecond\r\n",
            ("accept", 2),
        ),
        # -- values ---------------------------------------------------------------------
        "empty_text_value.csv": (lambda: b"id,text\n1,\n2,ok\n", ("reject", "empty text")),
        "bad_date.csv": (
            lambda: b"id,text,created_at\n1,a,not a date\n",
            ("reject", "cannot read the date"),
        ),
        "date_out_of_range.csv": (
            lambda: b"id,text,created_at\n1,a,1850-01-01\n",
            ("reject", "1990"),
        ),
        "negative_minutes.csv": (lambda: b"text,resolution_minutes\na,-5\n", ("reject", "minutes")),
        "bad_resolver.csv": (lambda: b"text,resolved_by\na,robot\n", ("reject", "human")),
        "repeated_rows.csv": (lambda: b"id,text\n1,same\n1,same\n2,other\n", ("accept", 2)),
        # -- hostile but valid text: stored as text, never run ------------------------
        "xss_text.csv": (lambda: ("id,text\n1," + _csv_quote(XSS) + "\n").encode(), ("accept", 1)),
        "formula_cells.csv": (
            lambda: (
                "id,text,subject\n1,"
                + _csv_quote('=HYPERLINK("http://x","y")')
                + ",@SUM(A1)\n2,"
                + _csv_quote("+cmd|' /C calc'!A0")
                + ",-2+3\n"
            ).encode(),
            ("accept", 2),
        ),
        "sql_in_columns_and_values.csv": (
            lambda: (
                'text,"x""; DROP TABLE tickets; --",channel\n'
                + _csv_quote("'; DROP TABLE tickets; --")
                + ",1,"
                + _csv_quote("' OR 1=1 --")
                + "\n"
            ).encode(),
            ("accept", 1),
        ),
        "control_characters.csv": (
            lambda: b"id,text\n1,bell\x07 and escape \x1b[31mred\n",
            ("accept", 1),
        ),
        # -- JSONL ----------------------------------------------------------------------
        "ok.jsonl": (
            lambda: b'{"id": 1, "text": "json one"}\n{"id": 2, "text": "json two"}\n',
            ("accept", 2),
        ),
        "one_broken_line.jsonl": (
            lambda: b'{"text": "a"}\n{"text": "b"}\n{"text": "c"\n{"text": "d"}\n',
            ("reject", "row 3"),
        ),
        "array_line.jsonl": (lambda: b'{"text": "a"}\n[1, 2]\n', ("reject", "JSON object")),
        "deeply_nested.jsonl": (
            lambda: b'{"text": "a", "meta": ' + b"[" * 5_000 + b"]" * 5_000 + b"}\n",
            ("reject", ""),
        ),
        "utf16_bom.jsonl": (
            lambda: codecs.BOM_UTF16_LE + '{"text": "utf-16 json 😀"}\n'.encode("utf-16-le"),
            ("accept", 1),
        ),
        "text_is_number.jsonl": (lambda: b'{"text": 42}\n', ("accept", 1)),
        "text_is_object.jsonl": (lambda: b'{"text": {"a": 1}}\n', ("accept", 1)),
        "text_is_null.jsonl": (lambda: b'{"text": null}\n', ("reject", "empty text")),
        # -- Parquet --------------------------------------------------------------------
        "ok.parquet": (lambda: parquet_ok, ("accept", 2)),
        "text_is_int.parquet": (lambda: _parquet({"text": [1, 2]}), ("reject", "must hold text")),
        "text_is_list.parquet": (
            lambda: _parquet({"text": [["a"], ["b"]]}),
            ("reject", "must hold text"),
        ),
        "date_is_bool.parquet": (
            lambda: _parquet({"text": ["a"], "created_at": [True]}),
            ("reject", "date"),
        ),
        "truncated.parquet": (lambda: parquet_ok[: len(parquet_ok) // 2], ("reject", "Parquet")),
        "csv_renamed.parquet": (lambda: OK_ROWS.encode(), ("reject", "Parquet")),
        "parquet_renamed.csv": (lambda: parquet_ok, ("accept", 2)),  # read as Parquet
        # -- gzip -----------------------------------------------------------------------
        "ok.csv.gz": (lambda: _gzip(b"id,text\n9,gzipped ticket\n"), ("accept", 1)),
        "truncated.csv.gz": (lambda: _gzip(OK_ROWS.encode() * 50)[:60], ("reject", "gzip")),
        "plain_named.csv.gz": (lambda: b"id,text\n8,not really gzipped\n", ("accept", 1)),
        "gzip_of_binary.csv.gz": (
            lambda: _gzip(b"\x89PNG\r\n\x1a\n" + bytes(300)),
            ("reject", "PNG"),
        ),
    }
    return cases


def pa_empty() -> list:
    """An empty string column for :func:`_parquet`."""
    import pyarrow as pa

    return pa.array([], type=pa.string())


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            z.writestr(info, data)
    return out.getvalue()


EXPECTED: dict[str, Expectation] = {name: exp for name, (_, exp) in _cases().items()}


def write_corpus(folder: Path) -> list[Path]:
    """Write every small case into ``folder``; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, (build, _) in _cases().items():
        path = folder / name
        path.write_bytes(build())
        paths.append(path)
    return paths


# -- big cases, generated at test time ----------------------------------------------------

BIG_FIELD_CHARS = 10 * 1024 * 1024


def write_big_cases(folder: Path) -> dict[str, Expectation]:
    """Write the big hostile files into ``folder``; return their expectations.

    The limits these are checked under are those of :data:`BIG_LIMITS_ENV`.
    """
    folder.mkdir(parents=True, exist_ok=True)
    big = "x" * BIG_FIELD_CHARS
    expectations: dict[str, Expectation] = {}

    def put(name: str, data: bytes, exp: Expectation) -> None:
        (folder / name).write_bytes(data)
        expectations[name] = exp

    # 10 MB in one field: CSV (one row longer than a parse block), JSONL and Parquet.
    put("field_10mb.csv", b"id,text\n1," + big.encode() + b"\n", ("reject", "MiB"))
    put(
        "field_10mb_quoted_newlines.csv",
        b'id,text\n1,"' + ("y" * 1000 + "\n").encode() * (BIG_FIELD_CHARS // 1001) + b'"\n',
        ("reject", "MiB"),
    )
    put(
        "field_10mb.jsonl", json.dumps({"text": big}).encode() + b"\n", ("reject", "max_text_chars")
    )
    put("field_10mb.parquet", _parquet({"text": [big]}), ("reject", "max_text_chars"))
    put(
        "subject_10mb.jsonl",
        json.dumps({"text": "ok", "subject": big}).encode() + b"\n",
        ("reject", "max_field_chars"),
    )
    # Compression bombs: ~200 MB of zeros in a few hundred KB.
    size = 200 * 1024 * 1024
    line = b"0" * 999 + b"\n"  # 1 kB rows: the byte limit is met before the row limit
    bomb = gzip.compress(b"text\n" + line * (size // 1000), compresslevel=9, mtime=0)
    put("gzip_bomb.csv.gz", bomb, ("reject", "larger than the limit"))
    put(
        "gzip_bomb_one_line.csv.gz",
        gzip.compress(b"text\n" + b"0" * size, mtime=0),
        ("reject", "MiB"),
    )
    put(
        "gzip_bomb.jsonl.gz",
        gzip.compress(
            (b'{"text": "' + b"0" * 986 + b'"}\n') * (size // 1000), compresslevel=9, mtime=0
        ),
        ("reject", "larger than the limit"),
    )
    put(
        "gzip_bomb.parquet.gz",
        gzip.compress(b"PAR1" + bytes(200 * 1024 * 1024), mtime=0),
        ("reject", ""),
    )
    put("nested_gzip_bomb.csv.gz", gzip.compress(bomb, mtime=0), ("reject", ""))
    zip_bomb = io.BytesIO()
    with zipfile.ZipFile(zip_bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            zipfile.ZipInfo("tickets.csv", date_time=(2026, 1, 1, 0, 0, 0)),
            b"text\n" + b"0" * (200 * 1024 * 1024),
        )
    put("zip_bomb.csv", zip_bomb.getvalue(), ("reject", "ZIP"))
    # Oversize plain files (over the configured byte limit) and too many rows.
    put(
        "oversize.csv",
        b"id,text\n" + (b"1," + b"ordinary ticket text " * 47 + b"\n") * 20_000,
        ("reject", "larger than the limit"),
    )
    put("too_many_rows.csv", b"text\n" + b"t\n" * 60_000, ("reject", "max_rows"))
    return expectations


#: Limits the big cases are ingested under (small, so that bombs are stopped in seconds).
BIG_LIMITS_ENV = {
    "PRICEWAR_MAX_UPLOAD_BYTES": str(16 * 1024 * 1024),
    "PRICEWAR_MAX_UPLOAD_ROWS": "50000",
}


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "files"
    written = write_corpus(target)
    print(f"{len(written)} files written to {target}")
