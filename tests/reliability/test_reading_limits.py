"""Reading limits count decoded bytes, columns are counted from the header, memory stays
bounded, and staging survives kill -9 (issue #12, hardening round 2, the reading part).

Each attack runs through ``python -m data ingest`` in a subprocess that reports its own peak
RSS (VmHWM; the test process itself never allocates the attack's gigabytes), or
through ``stage_file`` when only the reading is under test.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import os
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data.db_file import StorePathError
from data.ingest import ingest_files
from data.limits import IngestLimits
from data.paths import staging_dir_of
from data.staging import stage_file
from data.store import Store
from tests.reliability.conftest import ROOT, assert_no_traceback, cli_env, record_figure

#: Peak RSS allowed for a `python -m data ingest` that refuses an attack (the process alone,
#: with pandas, pyarrow and duckdb imported, is about 130-180 MiB).
REFUSAL_PEAK_MIB = 450


@dataclass(frozen=True)
class Measured:
    """Outcome of a measured subprocess."""

    returncode: int
    stdout: str
    stderr: str
    peak_mib: float
    seconds: float


#: Runs ``python ARGS`` (``-m module ...`` or ``-c code ...``) and, at exit, writes the
#: process's own peak RSS (VmHWM, KiB) to a file. VmHWM belongs to the program's memory map,
#: which ``exec`` starts afresh, so the figure is this child's alone: ``wait4``'s ru_maxrss
#: would also carry the pytest process's peak into a child started with vfork.
_PEAK_WRAPPER = textwrap.dedent("""
    import atexit, runpy, sys
    from pathlib import Path

    def write_peak(path=sys.argv[1]):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                Path(path).write_text(line.split()[1])

    atexit.register(write_peak)
    mode, target, *rest = sys.argv[2:]
    if mode == "-m":
        sys.argv = [target, *rest]
        runpy.run_module(target, run_name="__main__", alter_sys=True)
    else:
        sys.argv = ["-c", *rest]
        exec(compile(target, "<string>", "exec"), {"__name__": "__main__"})
""")


def run_measured(
    args: list[str], tmp_path: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> Measured:
    """Run ``python ARGS`` in the repository root; return its output and its own peak RSS."""
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    peak_file = tmp_path / "peak_kib.txt"
    peak_file.unlink(missing_ok=True)
    start = time.monotonic()
    with out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen(
            [sys.executable, "-c", _PEAK_WRAPPER, str(peak_file), *args],
            cwd=ROOT,
            env=env or cli_env(),
            stdout=o,
            stderr=e,
        )
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    seconds = time.monotonic() - start
    stderr = err.read_text(errors="replace")
    # A child killed by a signal writes no figure (NaN fails every "<" comparison).
    peak_mib = int(peak_file.read_text()) / 1024 if peak_file.exists() else float("nan")
    return Measured(proc.returncode, out.read_text(errors="replace"), stderr, peak_mib, seconds)


def ingest_cli(tmp_path: Path, *files: Path, env: dict[str, str] | None = None) -> Measured:
    """``python -m data ingest`` of ``files`` into a fresh database, measured."""
    return run_measured(
        ["-m", "data", "ingest", "--db", str(tmp_path / "db.duckdb"), *map(str, files)],
        tmp_path,
        env,
    )


def dictionary_parquet(path: Path, rows: int, chars: int) -> Path:
    """A plain ``text`` column (as the schema says) holding one long value on every row,
    dictionary-encoded: a few hundred bytes of file for ``rows * chars`` bytes of text."""
    values = pa.DictionaryArray.from_arrays(
        pa.array([0] * rows, pa.int32()), pa.array(["x" * chars])
    )
    pq.write_table(
        pa.table({"text": values}),
        path,
        compression="zstd",
        use_dictionary=True,
        store_schema=False,
    )
    assert pq.ParquetFile(path).schema_arrow.field("text").type == pa.string()
    return path


# -- 8. limits count decoded bytes ---------------------------------------------------------


def test_a_dictionary_encoded_parquet_is_counted_decoded(tmp_path: Path) -> None:
    """A 1,000-row × 100,000-character Parquet of a few hundred bytes is 100 MB of text:
    over a 32 MiB limit, whatever the file's size."""
    path = dictionary_parquet(tmp_path / "expands.parquet", 1_000, 100_000)
    assert path.stat().st_size < 2_000
    limits = IngestLimits(max_bytes=32 * 1024**2)
    with pytest.raises(Exception) as caught:
        stage_file(path, limits=limits, staging_dir=tmp_path)
    message = str(caught.value)
    assert "once decoded" in message and "PRICEWAR_MAX_UPLOAD_BYTES" in message, message
    assert not list(tmp_path.glob("ingest-*"))


def test_a_tiny_parquet_asking_for_gigabytes_is_refused_in_little_memory(tmp_path: Path) -> None:
    """356 bytes that decode to 1.2 GB (a 50,000-row batch of it asked for 4.66 GiB):
    refused at default limits before anything is decoded, exit 2, no traceback."""
    path = dictionary_parquet(tmp_path / "bomb.parquet", 12_000, 100_000)
    result = ingest_cli(tmp_path, path)
    record_figure("dictionary_parquet_bomb_peak_rss_mib", round(result.peak_mib))
    assert result.returncode == 2, result.stderr
    assert_no_traceback(result.stderr)
    assert "once decoded" in result.stderr
    assert result.peak_mib < REFUSAL_PEAK_MIB, f"peak RSS {result.peak_mib:.0f} MiB"


def test_a_gzip_is_decompressed_only_up_to_the_limit(tmp_path: Path) -> None:
    """gzip counts decompressed bytes, for Parquet too (spooled through the counter)."""
    inner = io.BytesIO()
    pq.write_table(
        pa.table({"text": ["a" * 1000] * 20_000}), inner, compression="none", use_dictionary=False
    )
    path = tmp_path / "plain.parquet.gz"
    path.write_bytes(gzip.compress(inner.getvalue()))
    with pytest.raises(Exception, match="larger than the limit of 1,048,576"):
        stage_file(path, limits=IngestLimits(max_bytes=1024**2), staging_dir=tmp_path)


# -- 9, 10. the header ---------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["long_names", "many_columns"])
def test_a_header_over_1_mib_ending_in_an_empty_column_is_one_line(
    tmp_path: Path, shape: str
) -> None:
    """A header longer than the 1 MiB read for it: refused clearly, never a traceback."""
    if shape == "long_names":
        names = ["text"] + [f"c{i}_" + "n" * 4_000 for i in range(299)] + [""]
        expected = "header row is longer than 1 MiB"
    else:
        names = ["text"] + [f"column{i}" for i in range(1, 110_000)] + [""]
        expected = "columns, over the limit of 500"
    path = tmp_path / "long_header.csv"
    path.write_text(",".join(names) + "\n" + "hi" + "," * (len(names) - 1) + "\n")
    assert path.stat().st_size > 1024**2
    result = ingest_cli(tmp_path, path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert_no_traceback(result.stderr)
    assert expected in result.stderr, result.stderr


def test_columns_are_counted_from_the_header_before_any_row(tmp_path: Path) -> None:
    """120,000 columns in a 1 MB CSV: refused from the header, in little memory (it took
    17 s and 1.3-1.9 GB when pyarrow read the rows first; the time is recorded as a figure,
    the memory bound asserted)."""
    names = ["text"] + [f"c{i}" for i in range(1, 120_000)]
    path = tmp_path / "wide.csv"
    path.write_text(",".join(names) + "\n" + "hi" + "," * (len(names) - 1) + "\n")
    result = ingest_cli(tmp_path, path)
    record_figure("wide_csv_120k_columns", f"{result.seconds:.1f} s, {result.peak_mib:.0f} MiB")
    assert result.returncode == 2
    assert_no_traceback(result.stderr)
    assert "120,000 columns, over the limit of 500" in result.stderr
    assert "PRICEWAR_MAX_UPLOAD_COLUMNS" in result.stderr
    assert result.peak_mib < REFUSAL_PEAK_MIB, f"peak RSS {result.peak_mib:.0f} MiB"


def test_wide_parquet_and_jsonl_are_refused_by_their_schema_and_record() -> None:
    """The column limit holds for Parquet (its schema) and JSONL (per record, located)."""
    buf = io.BytesIO()
    pq.write_table(pa.table({f"c{i}": [1] for i in range(12)} | {"text": ["t"]}), buf)
    limits = IngestLimits(max_columns=10)
    with pytest.raises(Exception, match="13 columns, over the limit of 10"):
        stage_file(("wide.parquet", io.BytesIO(buf.getvalue())), limits=limits)
    line = "{" + ", ".join(f'"k{i}": {i}' for i in range(12)) + ', "text": "t"}'
    jsonl = ('{"text": "fine"}\n' + line + "\n").encode()
    with pytest.raises(Exception, match=r"row 2: 13 columns, over the limit of 10"):
        stage_file(("wide.jsonl", io.BytesIO(jsonl)), limits=limits)


# -- 11. chunks by bytes -------------------------------------------------------------------

_STAGE_PEAK = textwrap.dedent("""
    import sys
    from pathlib import Path
    from data.staging import stage_file

    def peak_mib():
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024

    figures = [peak_mib()]
    for source in sys.argv[2:]:
        staged = stage_file(Path(source), staging_dir=Path(sys.argv[1]))
        staged.path.unlink()
        figures += [staged.rows, peak_mib()]
    print(*figures)
""")


def _long_rows_gz(path: Path, rows: int) -> Path:
    with gzip.open(path, "wt", compresslevel=6) as f:
        f.write("id,text\n")
        for i in range(rows):
            f.write(f"{i},{chr(97 + i % 26) * 99_000}\n")
    return path


def test_long_rows_are_chunked_by_bytes_not_rows(tmp_path: Path) -> None:
    """1,200 rows × 99,000 characters (119 MB, gzipped to 120 KB), then the same three times
    as long (357 MB): staging grows the process by a few 16 MiB chunks, and the longer file
    barely raises the peak, so memory follows the chunk size, not the file's length."""
    short = _long_rows_gz(tmp_path / "long_rows.csv.gz", 1_200)
    long = _long_rows_gz(tmp_path / "longer_rows.csv.gz", 3_600)
    result = run_measured(["-c", _STAGE_PEAK, str(tmp_path), str(short), str(long)], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    before, short_rows, after_short, long_rows, after_long = map(int, result.stdout.split())
    record_figure("long_rows_119mb_staging_growth_mib", after_short - before)
    assert (short_rows, long_rows) == (1_200, 3_600)
    assert after_short - before < 260, (
        f"staging 119 MB grew the process by {after_short - before} MiB"
    )
    assert after_long - after_short < 64, (
        f"a file 3x as long raised the peak by {after_long - after_short} MiB"
    )


# -- 11. the largest accepted upload: DuckDB's insert ------------------------------------

#: Peak RSS allowed for ingesting the largest accepted upload of the issue (the target of
#: #12; measured 505 MiB, and 3,117 MiB before the insert was bounded).
ACCEPTED_PEAK_MIB = 1024


def test_the_largest_accepted_upload_peaks_under_1_gib(tmp_path: Path) -> None:
    """10,800 rows × 99,000 characters (1.07 GB of text, a 1.1 MB ``.csv.gz``) is accepted
    by ``python -m data ingest`` under 1 GiB of peak RSS (DuckDB held the whole insert until
    the commit: 2.9-3.1 GB). Uploading it again with one more row (every other ticket is
    there already: the insert goes through a filtered copy) stays under the bound too."""
    big = _long_rows_gz(tmp_path / "big_rows.csv.gz", 10_800)
    assert big.stat().st_size < 1_300_000
    first = ingest_cli(tmp_path, big)
    record_figure("largest_accepted_upload_peak_rss_mib", round(first.peak_mib))
    assert first.returncode == 0, first.stderr[-3000:]
    assert "10,800 rows, 10,800 new tickets" in first.stdout
    assert first.peak_mib < ACCEPTED_PEAK_MIB, f"peak RSS {first.peak_mib:.0f} MiB"
    again = tmp_path / "big_rows_plus_one.csv.gz"
    with gzip.open(big, "rt") as src, gzip.open(again, "wt", compresslevel=6) as dst:
        for line in src:
            dst.write(line)
        dst.write("x,one more ticket\n")
    second = ingest_cli(tmp_path, again)
    record_figure("largest_upload_again_plus_one_row_peak_rss_mib", round(second.peak_mib))
    assert second.returncode == 0, second.stderr[-3000:]
    assert "1 new ticket, 10,800 already present" in second.stdout, second.stdout
    assert second.peak_mib < ACCEPTED_PEAK_MIB, f"peak RSS {second.peak_mib:.0f} MiB"
    with Store.open(tmp_path / "db.duckdb", read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM tickets") == 10_801


def test_the_widest_accepted_tickets_peak_under_1_gib_too(tmp_path: Path) -> None:
    """Four-byte characters: a ticket is refused above 128 KiB of UTF-8 (``max_text_bytes``;
    100,000 emoji peaked at 1,841 MiB), and 2,600 tickets of 32,000 emoji each (128,000
    bytes, just under the limit) are accepted under 1 GiB of peak RSS."""
    emoji = "\U0001f600"
    over = tmp_path / "over.csv"
    over.write_text("text\nfine\n" + emoji * 33_000 + "\n", encoding="utf-8")
    refused = ingest_cli(tmp_path, over)
    assert refused.returncode == 2
    assert (
        "row 2, column 'text': 132,000 bytes of UTF-8, over the limit of 131,072" in refused.stderr
    ), refused.stderr
    wide = tmp_path / "wide.csv.gz"
    with gzip.open(wide, "wt", encoding="utf-8", compresslevel=6) as f:
        f.write("id,text\n")
        for i in range(2_600):
            f.write(f"{i},{chr(0x1F600 + i % 64) * 32_000}\n")
    accepted = ingest_cli(tmp_path, wide)
    record_figure("widest_accepted_upload_peak_rss_mib", round(accepted.peak_mib))
    assert accepted.returncode == 0, accepted.stderr[-3000:]
    assert "2,600 rows, 2,600 new tickets" in accepted.stdout
    assert accepted.peak_mib < ACCEPTED_PEAK_MIB, f"peak RSS {accepted.peak_mib:.0f} MiB"


def test_a_bulk_insert_is_written_in_small_row_groups(tmp_path: Path) -> None:
    """What bounds the insert above: the file is attached with row groups of 2,048 rows,
    which DuckDB writes to the file as each fills (with 122,880 rows, 10,800 wide tickets
    stayed in memory until the commit)."""
    path = tmp_path / "t.csv"
    path.write_text("text\n" + "".join(f"ticket {i}\n" for i in range(5_000)))
    with Store.open(tmp_path / "db.duckdb") as store:
        [report] = ingest_files(store, [path])
        assert report.new_tickets == 5_000
        groups = store.scalar(
            "SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('tickets')"
        )
    assert groups >= 3


def test_duckdb_spill_files_of_a_killed_process_are_swept(tmp_path: Path) -> None:
    """DuckDB spills into ``<db>.tmp`` beside the file (not ``.tmp`` in the working
    folder); what a killed process left there goes when the store next opens for writing
    (links are left alone, never followed)."""
    from data.store import temp_dir_of

    db = tmp_path / "db.duckdb"
    Store.open(db).close()
    spill = temp_dir_of(db)
    spill.mkdir()
    left = spill / "duckdb_temp_storage_S32K-0.tmp"
    left.write_bytes(b"\0" * 4096)
    outside = tmp_path / "precious.txt"
    outside.write_text("keep")
    (spill / "link.tmp").symlink_to(outside)
    with Store.open(db, read_only=True) as store:
        assert left.exists()
        assert store.scalar("SELECT current_setting('temp_directory')") == str(spill)
    with Store.open(db) as store:
        assert not left.exists() and outside.read_text() == "keep"
        assert store.scalar("SELECT current_setting('temp_directory')") == str(spill)


# -- dates in typed (Parquet) columns --------------------------------------------------


def _dated_parquet(path: Path, dates: list[Any], unit: str = "us", tz: str | None = None) -> Path:
    pq.write_table(
        pa.table(
            {
                "text": [f"ticket {i}" for i in range(len(dates))],
                "created_at": pa.array(dates, pa.timestamp(unit, tz=tz)),
            }
        ),
        path,
    )
    return path


@pytest.mark.parametrize("unit, tz", [("us", None), ("ms", None), ("s", None), ("us", "UTC")])
def test_parquet_timestamps_outside_1990_2100_are_refused_with_row_and_column(
    tmp_path: Path, unit: str, tz: str | None
) -> None:
    """A typed ``created_at`` dated 1800 or 2999 was imported as is on a direct upload (only
    dates given as text were checked): now refused, naming file, row and column."""
    zone = dt.UTC if tz else None
    dates = [
        dt.datetime(2024, 5, 1, tzinfo=zone),
        dt.datetime(1800, 1, 1, tzinfo=zone),
        None,
        dt.datetime(2999, 12, 31, tzinfo=zone),
    ]
    path = _dated_parquet(tmp_path / "dated.parquet", dates, unit, tz)
    with Store.open(tmp_path / "db.duckdb") as store:
        [report] = ingest_files(store, [path])
        assert store.scalar("SELECT count(*) FROM tickets") == 0
    assert report.status == "rejected"
    located = [(p.row, p.column, p.message) for p in report.problems]
    assert located == [
        (2, "created_at", "date outside 1990–2100"),
        (4, "created_at", "date outside 1990–2100"),
    ], located
    assert report.message.startswith("dated.parquet") and "row 2" in report.message


def test_typed_and_text_dates_share_one_check_on_both_paths(tmp_path: Path) -> None:
    """The same problem, worded alike, for a date given as text and a typed date uploaded
    directly, and for a typed date in a file handed through the inbox (which had a check of
    its own, with its own wording)."""
    import data.inbox
    from data.inbox import import_inbox
    from data.paths import inbox_dir
    from tests.reliability.test_inbox_hardening import _hand_made, _staged_table

    assert not hasattr(data.inbox, "_check_dates")
    text = tmp_path / "text.csv"
    text.write_text("text,date\nok,2024-01-01\nold,1800-01-01\n")
    typed = _dated_parquet(
        tmp_path / "typed.parquet", [dt.datetime(2024, 1, 1), dt.datetime(1800, 1, 1)]
    )
    with Store.open(tmp_path / "db.duckdb") as store:
        reports = ingest_files(store, [text, typed])
    assert [(p.row, p.message) for r in reports for p in r.problems] == [
        (2, "date outside 1990–2100")
    ] * 2
    with Store.open(tmp_path / "app.duckdb") as store:
        inbox = inbox_dir(store.path)
        inbox.mkdir()
        _hand_made(
            inbox / "forged.parquet",
            _staged_table(
                ["ok", "old"], created_at=[dt.datetime(2024, 1, 1), dt.datetime(1800, 1, 1)]
            ),
        )
        [message] = import_inbox(store)
        assert store.scalar("SELECT count(*) FROM tickets") == 0
    assert "forged.csv" in message and "row 2" in message and "created_at" in message, message
    assert "date outside 1990–2100" in message


# -- 12. dictionary-encoded text -----------------------------------------------------------


def test_a_parquet_of_a_pandas_categorical_is_accepted(tmp_path: Path) -> None:
    """Text stored as a pandas Categorical (a Parquet dictionary column) is text."""
    path = tmp_path / "categorical.parquet"
    pd.DataFrame(
        {
            "text": pd.Categorical(["printer jammed", "invoice wrong", "printer jammed"]),
            "channel": pd.Categorical(["email", "chat", "email"]),
            "id": ["a", "b", "c"],
        }
    ).to_parquet(path)
    with Store.open(tmp_path / "db.duckdb") as store:
        [report] = ingest_files(store, [path])
        assert report.status == "imported", report.message
        stored = store.query("SELECT source_id, text, channel FROM tickets ORDER BY source_id")
    assert stored.values.tolist() == [
        ["a", "printer jammed", "email"],
        ["b", "invoice wrong", "chat"],
        ["c", "printer jammed", "email"],
    ]


# -- 13. staging survives kill -9 ----------------------------------------------------------

_KILLED_INGEST = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    import data.ingest as ingest
    import data.staging as staging
    from data.store import Store
    real = staging.normalise_chunk
    calls = []
    def normalise_then_die(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # two chunks are staged: kill -9 this process
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    staging.normalise_chunk = normalise_then_die
    with Store.open(Path(sys.argv[1])) as store:
        ingest.ingest_files(store, [Path(sys.argv[2])],
                            limits=ingest.IngestLimits(chunksize=100))
""")


def test_kill9_during_ingest_leaves_nothing_in_temp_and_reopening_sweeps(tmp_path: Path) -> None:
    """Staging lives in ``<db>.staging/``, and a writable open removes a dead ingest's file."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    db = tmp_path / "db.duckdb"
    csv_path = tmp_path / "tickets.csv"
    csv_path.write_text("text\n" + "".join(f"ticket number {i}\n" for i in range(1_000)))
    result = run_measured(
        ["-c", _KILLED_INGEST, str(db), str(csv_path)], tmp_path, env=cli_env(TMPDIR=str(temp))
    )
    assert result.returncode == -9, result.stderr[-3000:]
    assert os.listdir(temp) == []
    leftovers = list(staging_dir_of(db).glob("ingest-*.parquet"))
    assert len(leftovers) == 1 and leftovers[0].stat().st_size > 0
    with Store.open(db, read_only=True):
        assert leftovers[0].exists()  # a reader does not touch the writer's files
    with Store.open(db) as store:
        assert not leftovers[0].exists()
        [report] = ingest_files(store, [csv_path])
        assert report.new_tickets == 1_000
    assert not list(staging_dir_of(db).glob("ingest-*"))


def test_a_live_ingests_staging_file_is_not_swept(tmp_path: Path) -> None:
    """Only files of processes that are gone are leftovers."""
    db = tmp_path / "db.duckdb"
    folder = staging_dir_of(db)
    folder.mkdir()
    mine = folder / f"ingest-{os.getpid()}-abc.parquet"
    mine.write_bytes(b"PAR1")
    with Store.open(db):
        assert mine.exists()


# -- 14. a database path with '?' ----------------------------------------------------------


def test_a_database_path_with_a_question_mark_is_refused_clearly(tmp_path: Path) -> None:
    """DuckDB reads '?' as URL parameters and every commit failed: refused up front."""
    db = tmp_path / "shop?x=1" / "db.duckdb"
    with pytest.raises(StorePathError, match=r"'\?'"):
        Store.open(db)
    csv_path = tmp_path / "t.csv"
    csv_path.write_text("text\nhello\n")
    result = run_measured(["-m", "data", "ingest", "--db", str(db), str(csv_path)], tmp_path)
    assert result.returncode == 2
    assert_no_traceback(result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "'?'" in lines[0], result.stderr
