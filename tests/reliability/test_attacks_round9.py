"""Issue #12, a ninth round of hostile attempts on the four areas of the issue: the inbox and
reading files (Parquet whose footer lies about its sizes, one huge page, a JSON line of
hundreds of megabytes), links (a ``\\ud800`` escape in a link's JSON), odd database paths
(a backslash), exports (the record separators ``str.splitlines`` splits at) and ticket
cards (a right-to-left override in a meta value).

Each test is an attack that broke something when it was written (each failed on that code:
checked in a copy of the tree holding the previous versions of the files it fixes). Each
docstring says what broke and what is expected instead. See "Round 9" in
``RELIABILITY.md`` for what held.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import struct
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboard.conftest import APP, app_db  # noqa: F401  (the fixture)
from tests.reliability.conftest import assert_no_traceback, cli_env, needs_chromium
from tests.reliability.test_reading_limits import run_measured

ROOT = Path(__file__).resolve().parents[2]


# -- Parquet files that hide their size (data/readers/) ---------------------------------


def _one_page_parquet(path: Path, rows: int, width: int, columns: tuple[str, ...]) -> Path:
    """``rows`` values of ``width`` characters in each of ``columns``, plain-encoded, zstd,
    one row group and one page per column (the whole column decompresses at once)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    values = pa.array(["a" * width] * rows)
    pq.write_table(
        pa.table({name: values for name in columns}),
        path,
        compression="zstd",
        use_dictionary=False,
        data_page_size=1 << 30,
        write_batch_size=1 << 30,
        row_group_size=rows,
    )
    return path


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        if not n:
            out.append(low)
            return bytes(out)
        out.append(low | 0x80)


def _understate_sizes(path: Path) -> Path:
    """Rewrite the footer of ``path`` so that every row group and column chunk claims an
    uncompressed size of 1 byte (Thrift's varints, rewritten at the same length: readers
    accept the longer encoding), as a hand-made file can."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    sizes = {meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)}
    sizes |= {
        meta.row_group(i).column(j).total_uncompressed_size
        for i in range(meta.num_row_groups)
        for j in range(meta.num_columns)
    }
    data = bytearray(path.read_bytes())
    footer_start = len(data) - 8 - struct.unpack("<I", data[-8:-4])[0]
    for size in sizes:
        encoded = _varint(size << 1)  # zigzag of a positive i64
        one = bytes([0x82, *([0x80] * (len(encoded) - 2)), 0x00])  # 1, zigzagged, padded
        at = data.find(encoded, footer_start)
        while at != -1:
            data[at : at + len(encoded)] = one
            at = data.find(encoded, at + len(encoded))
    path.write_bytes(bytes(data))
    claimed = pq.ParquetFile(path).metadata.row_group(0)
    assert claimed.total_byte_size == 1 and claimed.column(0).total_uncompressed_size == 1
    return path


_READ_IN_A_CHILD = textwrap.dedent("""
    import json, sys
    import pyarrow as pa
    from data.errors import IngestError
    from data.readers import read_table_chunks

    kwargs = json.loads(sys.argv[2])
    try:
        rows = sum(len(c) for c in read_table_chunks(sys.argv[1], name="t.parquet", **kwargs))
        outcome = {"rows": rows}
    except IngestError as exc:
        outcome = {"problems": [str(p) for p in exc.problems]}
    outcome["arrow_peak"] = pa.default_memory_pool().max_memory()
    print(json.dumps(outcome))
""")


def _read_in_a_child(path: Path, **kwargs: Any) -> dict[str, Any]:
    """Read ``path`` with ``read_table_chunks(**kwargs)`` in a fresh process: its rows or
    problems, and the most bytes Arrow's memory pool held at once (``arrow_peak``)."""
    done = subprocess.run(
        [sys.executable, "-c", _READ_IN_A_CHILD, str(path), json.dumps(kwargs)],
        cwd=ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_parquet_footer_that_understates_its_sizes_is_refused_before_a_page_is_decoded(
    tmp_path: Path,
) -> None:
    """Expected: a Parquet file whose footer claims 1 byte per column while its pages hold
    40 MB each is refused from its page headers ("its pages hold 120,… bytes") before any
    page is decompressed: Arrow's memory pool never holds more than a few MiB.

    Broke: the size checks trusted the footer. The batch size was then sized for 1-byte
    rows (50,000 rows), and the first batch decompressed every column's page whole before
    the decoded bytes were counted: 115 MiB in Arrow's pool here against an 8 MB limit; a
    110 KB file of this kind (four 300 MB columns) peaked at 1,336 MiB under the default
    limits, and the peak grows with every column (an upload or an inbox entry could take
    the server's memory).
    """
    path = _understate_sizes(
        _one_page_parquet(tmp_path / "liar.parquet", 400, 100_000, ("text", "subject", "channel"))
    )
    assert path.stat().st_size < 200_000

    outcome = _read_in_a_child(path, max_bytes=8_000_000)

    assert "problems" in outcome, outcome
    assert "its pages hold 120,0" in outcome["problems"][0], outcome
    assert outcome["arrow_peak"] < 16 * 2**20, outcome


def test_a_parquet_page_larger_than_the_reader_may_hold_at_once_is_refused(
    tmp_path: Path,
) -> None:
    """Expected: a page that decompresses to more than 16 chunks (``chunk_bytes``; 256 MiB
    by default) is refused by name before it is decompressed; ordinary pages still read.

    Broke: a Parquet reader decompresses a whole page, whatever the batch size: a 83 KB
    file whose 9,000 tickets of 100,000 characters sit in one 900 MB page (honest
    metadata, under the 1 GiB limit) was **accepted at 1,125 MiB peak**, over the promise
    of under 1 GiB for any upload; here a 40 MB page against 1 MiB chunks is read whole.
    """
    big = _one_page_parquet(tmp_path / "one-page.parquet", 400, 100_000, ("text",))
    small = _one_page_parquet(tmp_path / "small.parquet", 400, 1_000, ("text",))

    refused = _read_in_a_child(big, chunk_bytes=2**20)
    accepted = _read_in_a_child(small, chunk_bytes=2**20)

    assert "problems" in refused, refused
    assert "pages are too large to read" in refused["problems"][0], refused
    assert "16,777,216" in refused["problems"][0], refused
    assert refused["arrow_peak"] < 8 * 2**20, refused
    assert accepted.get("rows") == 400, accepted


def test_parquet_written_with_ordinary_settings_still_reads_through_the_page_walk(
    tmp_path: Path,
) -> None:
    """Guard: files of pandas/pyarrow (dictionary and plain, several row groups) and of
    DuckDB (its own page layout) read as before: the page walk understands them all."""
    import duckdb
    import pandas as pd

    frame = pd.DataFrame(
        {"text": [f"ticket {i} " + "x" * (i % 300) for i in range(5_000)], "n": range(5_000)}
    )
    written = {
        "dictionary": tmp_path / "dict.parquet",
        "plain": tmp_path / "plain.parquet",
        "duckdb": tmp_path / "duck.parquet",
    }
    frame.to_parquet(written["dictionary"], row_group_size=1_000)
    frame.to_parquet(written["plain"], use_dictionary=False, compression="gzip")
    duckdb.sql(
        f"COPY (SELECT 'ticket ' || i AS text, i AS n FROM range(5000) t(i)) "
        f"TO '{written['duckdb']}' (FORMAT parquet)"
    )
    for name, path in written.items():
        assert _read_in_a_child(path).get("rows") == 5_000, name


# -- a JSON line of hundreds of megabytes (data/readers/jsonl_rows.py) ------------------


def test_a_json_line_of_hundreds_of_megabytes_is_refused_by_line_before_it_is_read(
    tmp_path: Path,
) -> None:
    """Expected: a JSON Lines file whose one line holds 200 MB (a 200 KB ``.jsonl.gz``) is
    refused naming line 1 and the line limit, its whole line never in memory: the command
    peaks far under 1 GiB.

    Broke: lines were read whole (``iter(stream)``), then decoded and parsed: the text's
    length limit came only after. A 612 KB ``.jsonl.gz`` of one 600 MB line peaked at
    3,741 MiB and took 46 s before "629,145,600 characters, over the limit of 100,000";
    this 200 MB line 1,176 MiB (31 s); 196 MiB (4.5 s) now.
    """
    path = tmp_path / "one-line.jsonl.gz"
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(b'{"text": "')
        block = b"a" * (1 << 20)
        for _ in range(200):
            f.write(block)
        f.write(b'"}\n')
    assert path.stat().st_size < 2_000_000

    run = run_measured(
        ["-m", "data", "ingest", "--db", str(tmp_path / "db.duckdb"), str(path)], tmp_path
    )

    assert run.returncode == 2, run.stderr
    assert_no_traceback(run.stdout + run.stderr)
    assert run.peak_mib < 600, f"peak {run.peak_mib:.0f} MiB"
    output = run.stdout + run.stderr
    assert "row 1: the line is longer than 16,777,216 bytes" in output, output


def test_ordinary_json_lines_still_read_after_the_line_limit() -> None:
    """Guard: line numbers (blank lines counted), UTF-16 files and a last line without a
    line end read as before under the bounded line reader."""
    import codecs

    from data.readers import read_table_chunks

    plain = b'{"text": "a"}\n\n{"text": "b"}'
    chunks = list(read_table_chunks(plain, name="t.jsonl"))
    assert chunks[0]["text"].tolist() == ["a", "b"]
    assert chunks[0].attrs["rows"] == [1, 3]
    utf16 = codecs.BOM_UTF16_LE + '{"text": "é"}\r\n{"text": "ü"}\r\n'.encode("utf-16-le")
    assert next(read_table_chunks(utf16, name="t.jsonl"))["text"].tolist() == ["é", "ü"]


# -- a lone surrogate written as a \u escape in a link (analytics/scenario.py) ----------


@pytest.mark.parametrize(
    "query",
    [
        {"s_competitors": json.dumps([["\ud800x", 1.0, 0.1]])},
        {"s_segments": json.dumps([["\udfffx", 1.0, 1000.0, -1.6, -1.9, -1.3]])},
    ],
    ids=["competitor", "segment"],
)
@pytest.mark.parametrize("page", ["views/pricing.py", "views/price_war.py"])
@pytest.mark.usefixtures("app_db")
def test_a_link_naming_a_rival_or_segment_with_a_lone_surrogate_is_a_note(
    query: dict[str, str], page: str
) -> None:
    """Expected: ``?s_competitors=[["\\ud800x",1,0.1]]`` (plain ASCII: any browser sends
    it; JSON decodes it to a lone surrogate) is a note naming the parameter and the reason;
    the page shows the default inputs.

    Broke: the name passed every check (non-empty text), so the scenario was taken; the
    Pricing and Price war pages then failed at "Something went wrong" for whoever opened
    the link (UTF-8 cannot encode the name: ``UnicodeEncodeError``).
    """
    at = AppTest.from_file(str(APP), default_timeout=180)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page).run()

    texts = [str(e.value) for e in (*at.warning, *at.error, *at.info)]
    assert not at.exception, [e.value for e in at.exception]
    assert not any("Something went wrong" in t for t in texts), texts
    assert any("lone surrogate" in t and "were not used" in t for t in texts), texts


def test_every_name_of_a_scenario_refuses_a_lone_surrogate() -> None:
    """Expected: a lone surrogate in a competitor, segment, cut competitor or scenario name
    is a ``ScenarioError`` naming the field, from a link or a saved row (``from_json``).

    Broke: each was taken as text."""
    from analytics.errors import ScenarioError
    from analytics.scenario import Scenario

    segment = [["\ud800", 1.0, 1000.0, -1.6, -1.9, -1.3]]
    for params in (
        {"s_competitors": json.dumps([["a\udc00", 1.0, 0.1]])},
        {"s_segments": json.dumps(segment)},
        {"s_cut_competitor": "\ud800"},
    ):
        with pytest.raises(ScenarioError, match="lone surrogate"):
            Scenario.from_query_params(params)
    saved = json.loads(Scenario().to_json())
    saved["name"] = "\udfff"
    with pytest.raises(ScenarioError, match="lone surrogate"):
        Scenario.from_json(json.dumps(saved))


# -- a backslash in the database path (data/db_file.py) ----------------------------------


def test_a_database_path_with_a_backslash_is_refused_not_read_as_another_file(
    tmp_path: Path,
) -> None:
    """Expected: ``--db 'reports\\prod.duckdb'`` (a legal file name on Linux) is refused in
    one line naming the backslash; ``reports/prod.duckdb`` is not touched; ``Store.open``
    refuses it too.

    Broke: DuckDB reads a backslash as a folder separator, so it opened
    ``reports/prod.duckdb``, another file: ``data demo`` said it built
    "reports\\prod.duckdb" and rebuilt the demo part of ``reports/prod.duckdb`` instead
    (``data ingest`` wrote into it), while the checks of the write-ahead log, the lock's
    holder and the inbox looked at the name given.
    """
    from data.db_file import StorePathError
    from data.store import Store

    (tmp_path / "reports").mkdir()
    other = tmp_path / "reports" / "prod.duckdb"
    with Store.open(other) as store:
        store.write(lambda c: c.execute("CREATE TABLE kept (x INT)") and None)
    before = hashlib.sha256(other.read_bytes()).hexdigest()

    run = subprocess.run(
        [sys.executable, "-m", "data", "demo", "--tickets", "20", "--db", "reports\\prod.duckdb"],
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert run.returncode == 2, run.stdout + run.stderr
    assert_no_traceback(run.stdout + run.stderr)
    assert "backslash" in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert hashlib.sha256(other.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["prod.duckdb"]
    with pytest.raises(StorePathError, match="backslash"):
        Store.open(tmp_path / "reports\\prod.duckdb")
    assert not (tmp_path / "reports\\prod.duckdb").exists()


# -- exports: record separators (data/export.py) ----------------------------------------


@pytest.mark.parametrize("separator", ["\x1c", "\x1d", "\x1e"])
def test_a_formula_after_a_file_group_or_record_separator_is_neutralised(separator: str) -> None:
    """Expected: ``"Refund<RS>=cmd|' /C calc'!A0"`` is exported with an apostrophe before
    the ``=``, so no line of the cell, split as Python's ``str.splitlines`` splits (FS, GS
    and RS included), starts a formula.

    Broke: VT, FF, NEL, U+2028 and U+2029 were treated as line breaks, the three
    separators not: the line after them started with ``=cmd|…``.
    """
    from data.export import neutralise_cell, to_csv_bytes

    cell = f"Refund please{separator}=cmd|' /C calc'!A0"
    out = neutralise_cell(cell)
    assert [line[:1] for line in out.splitlines()] == ["R", "'"], out
    import pandas as pd

    exported = to_csv_bytes(pd.DataFrame({"text": [cell]})).decode()
    assert f"{separator}'=cmd" in exported
    assert neutralise_cell(out) == out  # neutralising twice adds nothing


# -- ticket cards: a right-to-left override in a meta value (dashboard/ui.py) -----------


_LOCATE_JS = """(word) => {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const at = node.data.indexOf(word);
        if (at < 0) continue;
        const box = (from, to) => {
            const range = document.createRange();
            range.setStart(node, from);
            range.setEnd(node, to);
            return range.getBoundingClientRect();
        };
        const whole = box(at, at + word.length);
        const first = box(at, at + 1);
        const last = box(at + word.length - 1, at + word.length);
        return {left: whole.left, right: whole.right, forwards: first.left < last.left};
    }
    return null;
}"""


@needs_chromium
@pytest.mark.e2e
def test_a_right_to_left_override_in_a_card_value_does_not_reverse_the_others(
    browser: Any,
) -> None:
    """Expected: in chromium, a channel value ``"\\u202eenterprise"`` (an unclosed
    right-to-left override, as an uploaded file can hold) draws only itself backwards: the
    category after it still reads "refund", to the right of it, and an entity's label after
    an override in the ticket text still reads "PRODUCT".

    Broke: the meta line was one run of text, so the override reversed every value after
    it ("dnufer · tahc" drawn left of the channel) and the entity label ("TCUDORP").
    """
    from dashboard import ui
    from tests.chromium import new_page

    card = ui.ticket_card_html(
        "Hello \u202eDeepSeek is cheap",
        [{"start": 7, "end": 15, "label": "PRODUCT"}],
        ["2024-01-02 00:00 UTC", "\u202eenterprise", "chat", "refund"],
    )
    assert card.count("<bdi>") == 5  # four meta values and one label
    with new_page(browser) as page:
        page.set_content(f"<html><body>{card}</body></html>")
        channel = page.evaluate(_LOCATE_JS, "enterprise")
        category = page.evaluate(_LOCATE_JS, "refund")
        label = page.evaluate(_LOCATE_JS, "PRODUCT")

    assert channel is not None and category is not None and label is not None
    assert not channel["forwards"]  # the value itself as written: backwards
    assert category["forwards"] and category["left"] > channel["right"], (channel, category)
    assert label["forwards"], label


# -- the inbox as a link to another folder (data/inbox.py, data/tag_requests.py) --------


def test_an_inbox_that_is_a_link_to_another_folder_is_neither_read_nor_written(
    tmp_path: Path,
) -> None:
    """Expected: ``<db>.inbox`` planted as a symbolic link to another folder (by anyone who
    may write beside the database) is never followed: the poller reads nothing there and
    moves or deletes nothing; the command lines' handovers and the heartbeat refuse to write
    into it (``InboxPathError`` naming the inbox; nothing written).

    Broke: only ``failed/`` was opened without following links. Through the linked inbox
    the app moved the other folder's ``.parquet`` and ``tag-request-*.json`` files into a
    ``failed/`` it made there, imported a staged file found there **and deleted it**; and
    ``data ingest`` (database held) wrote validated ticket data into the linked folder,
    which the one who planted the link may read.
    """
    from data.heartbeat import write_heartbeat
    from data.inbox import hand_to_inbox, import_inbox
    from data.store import Store
    from data.tag_requests import request_tagging, take_tagging_requests

    other_db = tmp_path / "elsewhere" / "other.duckdb"
    staged = hand_to_inbox(other_db, [_tickets_csv(tmp_path / "t.csv")])[0].path
    victim = tmp_path / "victim"
    victim.mkdir()
    staged.rename(victim / staged.name)
    (victim / "report.parquet").write_bytes(b"PAR1 not ours PAR1")
    (victim / "tag-request-1.json").write_text('{"batch_size": 8}')
    before = {p.name: p.read_bytes() for p in victim.iterdir()}

    db = tmp_path / "db.duckdb"
    (tmp_path / "db.duckdb.inbox").symlink_to(victim, target_is_directory=True)
    with Store.open(db) as store:
        messages = import_inbox(store)
        tickets = store.scalar("SELECT count(*) FROM tickets")
    refused: list[str] = []
    requests = take_tagging_requests(db, refused=refused)
    write_heartbeat(db, 5.0)

    assert sorted(p.name for p in victim.iterdir()) == sorted(before)
    assert {p.name: p.read_bytes() for p in victim.iterdir()} == before
    assert messages == [] and requests == [] and refused == [] and tickets == 0
    # InboxPathError, an OSError (one line from the command lines)
    with pytest.raises(OSError, match="the inbox is a symbolic link"):
        hand_to_inbox(db, [_tickets_csv(tmp_path / "u.csv")])
    with pytest.raises(OSError, match="the inbox is a symbolic link"):
        request_tagging(db)
    assert {p.name: p.read_bytes() for p in victim.iterdir()} == before


def _tickets_csv(path: Path) -> Path:
    path.write_text(
        "ticket_id,created_at,customer_id,text\n"
        f"{path.stem}-1,2024-05-01,C1,Refund please\n"
        f"{path.stem}-2,2024-05-02,C2,Cheaper than DeepSeek?\n",
        encoding="utf-8",
    )
    return path


# -- JSON keys that name one column twice (data/readers/jsonl_rows.py) ------------------


@pytest.mark.parametrize(
    "lines",
    [
        ['{"text": "Refund please", "TEXT": "=cmd|calc"}'],
        ['{"text": "Refund please"}', '{"Text ": "Cheaper than DeepSeek?"}'],
    ],
    ids=["in_one_line", "across_lines"],
)
def test_json_keys_that_name_the_same_column_are_refused_like_a_csv_header(
    tmp_store: Any, lines: list[str]
) -> None:
    """Expected: ``"text"`` beside ``"TEXT"`` (or ``"Text "`` on a later line) is refused by
    line and key, as a CSV header with both is ("duplicate column name"); nothing stored.

    Broke (weak): the file was read as if the two were different columns: ``{"text": "a",
    "TEXT": "b"}`` stored "a" with "TEXT" listed among the ignored columns, and a later line
    holding only ``"Text "`` was refused as "empty text", the key it had not named.
    """
    from data.ingest import ingest_one

    report = ingest_one(tmp_store, ("t.jsonl", "\n".join(lines).encode() + b"\n"))

    assert not report.accepted
    assert "names the same column as 'text'" in report.message, report.message
    assert f"row {len(lines)}" in report.message, report.message
    assert tmp_store.scalar("SELECT count(*) FROM tickets") == 0


# -- a Parquet footer of 150,000 columns (data/readers/parquet_rows.py) -----------------


def test_a_parquet_footer_of_hundreds_of_thousands_of_columns_is_refused_before_parsing(
    tmp_path: Path,
) -> None:
    """Expected: a ``.parquet.gz`` whose footer (metadata) is over 16 MiB is refused by its
    size, read from the file's last 8 bytes, before pyarrow parses it: the command peaks
    far under 1 GiB.

    Broke: the column limit was checked after pyarrow had parsed the whole footer, which
    holds about 15 bytes per footer byte: a 5.8 MB ``.parquet.gz`` of 300,000 columns (a
    48 MB footer) peaked at 1,059 MiB before "300,000 columns, over the limit of 500"
    (1,000,000 columns, the most pyarrow takes, would need about 3.5 GiB).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = 150_000
    table = pa.Table.from_arrays(
        [pa.array([0], pa.int8())] * columns, names=[f"c{i}" for i in range(columns)]
    )
    raw = tmp_path / "wide.parquet"
    pq.write_table(table, raw, compression="none", write_statistics=False)
    del table
    path = tmp_path / "wide.parquet.gz"
    path.write_bytes(gzip.compress(raw.read_bytes(), compresslevel=1))
    raw.unlink()

    run = run_measured(
        ["-m", "data", "ingest", "--db", str(tmp_path / "db.duckdb"), str(path)], tmp_path
    )

    assert run.returncode == 2, run.stderr
    assert_no_traceback(run.stdout + run.stderr)
    assert run.peak_mib < 400, f"peak {run.peak_mib:.0f} MiB"
    assert "its metadata (the Parquet footer) is" in run.stdout + run.stderr
