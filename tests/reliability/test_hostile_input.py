"""Hostile and malformed uploads: each accepted correctly or rejected with a message naming
the problem, the store unchanged (row counts and a content checksum of every table).

Mechanisms guarded: ``data.readers`` (encoding and binary detection, shape checks, the
decompressed-bytes limit), ``data.ingest`` (validation before any write, all-or-nothing
commit, idempotency by file hash and ticket key, limits from the environment),
``data.cli`` (exit 2 with the problems, no traceback).
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.ingest import ingest_files
from data.normalise import is_blank_text
from data.store import Store
from tests.reliability.conftest import (
    CORPUS,
    ROLLUP_TABLES,
    ROOT,
    assert_no_traceback,
    cli_env,
    fingerprint,
    record_figure,
    rollups_are_fresh,
    run_cli,
)
from tests.reliability.corpus.make_corpus import (
    BIG_LIMITS_ENV,
    EXPECTED,
    XSS,
    write_big_cases,
    write_corpus,
)

#: An ingest writes the tickets and the file's record; the roll-ups move with them in the same
#: transaction (their exactness against a rebuild is tests/data/test_rollups.py's concern).
CHANGED_BY_INGEST = {"tickets", "ingested_files", *ROLLUP_TABLES}


def test_the_corpus_has_at_least_40_files_and_both_outcomes() -> None:
    files = sorted(p.name for p in CORPUS.iterdir())
    assert files == sorted(EXPECTED), "rerun tests/reliability/corpus/make_corpus.py"
    outcomes = [exp[0] for exp in EXPECTED.values()]
    assert len(files) >= 40
    assert outcomes.count("reject") >= 30 and outcomes.count("accept") >= 10


def test_the_committed_corpus_is_the_generators_output(tmp_path: Path) -> None:
    for path in write_corpus(tmp_path):
        if path.suffix == ".parquet" or path.name == "parquet_renamed.csv":
            continue  # Parquet bytes carry the writer's version; the text cases are exact
        assert (CORPUS / path.name).read_bytes() == path.read_bytes(), path.name


def _check_report(name: str, report, expectation, before, db: Path) -> None:
    kind, value = expectation
    after = fingerprint(db)
    if kind == "reject":
        assert report.status == "rejected", f"{name} was {report.status}: {report.message}"
        assert report.problems, name
        message = report.message
        assert name in message
        assert str(value).lower() in message.lower(), message
        assert all(str(p).strip() for p in report.problems)
        assert after == before, f"{name}: a rejected file changed the store"
    else:
        assert report.accepted, report.message
        assert report.new_tickets == value, report.message
        changed = {t for t in after if after[t] != before[t]}
        assert changed <= CHANGED_BY_INGEST, changed
        assert rollups_are_fresh(db), f"{name}: the ingest left the roll-ups behind the tickets"
        assert after["tickets"][0] == before["tickets"][0] + value


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file(name: str, db: Path) -> None:
    before = fingerprint(db)
    with Store.open(db) as store:
        [report] = ingest_files(store, [CORPUS / name])
    _check_report(name, report, EXPECTED[name], before, db)
    if report.accepted:  # uploading it again adds nothing
        again = fingerprint(db)
        with Store.open(db) as store:
            [second] = ingest_files(store, [CORPUS / name])
        assert second.accepted and second.new_tickets == 0
        assert fingerprint(db) == again


def test_accepted_hostile_text_is_stored_exactly(db: Path) -> None:
    names = [
        "quotes_and_newlines.csv",
        "xss_text.csv",
        "utf16le_bom.csv",
        "sql_in_columns_and_values.csv",
        "emoji_bidi_zero_width.csv",
    ]
    with Store.open(db) as store:
        reports = ingest_files(store, [CORPUS / n for n in names])
        assert all(r.accepted for r in reports), [r.message for r in reports]
        texts = {r[0] for r in store.fetchall("SELECT text FROM tickets WHERE source <> 'demo'")}
    assert (
        'He said "hi",\nthen left\r\nagain' in texts or 'He said "hi",\nthen left\nagain' in texts
    )
    assert XSS in texts
    assert "Zürich team: rate limit 😀" in texts
    assert "'; DROP TABLE tickets; --" in texts
    assert "\u202eevil\u202c 😀 zero\u200bwidth \U0001f600" in texts


def test_the_command_line_rejects_every_bad_file_with_exit_2_and_changes_nothing(db: Path) -> None:
    rejected = [CORPUS / n for n, (kind, _) in EXPECTED.items() if kind == "reject"]
    before = fingerprint(db)
    result = run_cli("data", "ingest", "--db", db, *rejected)
    assert result.returncode == 2, result.stdout + result.stderr
    assert_no_traceback(result.stderr)
    for path in rejected:
        assert f"{path.name}: rejected" in result.stderr, path.name
    assert fingerprint(db, skip=["audit_log"]) == {
        t: v for t, v in before.items() if t != "audit_log"
    }
    with Store.open(db, read_only=True) as store:  # each refusal recorded, nothing else
        rows = store.fetchall(
            "SELECT action, target, source, detail FROM audit_log ORDER BY id DESC LIMIT ?",
            [len(rejected)],
        )
    assert sorted(r[1] for r in rows) == sorted(p.name for p in rejected)
    assert all(r[0] == "ingest" and r[2] == "cli" and r[3].startswith("rejected") for r in rows), (
        rows
    )


@pytest.fixture(scope="module")
def big_cases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("big")
    return folder, write_big_cases(folder)


@pytest.mark.slow
def test_big_hostile_files_are_stopped_under_the_configured_limits(
    big_cases: tuple[Path, dict], db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bombs, oversize files and 10 MB fields: rejected, naming the limit, store unchanged."""
    folder, expected = big_cases
    assert len(expected) >= 10
    for key, value in BIG_LIMITS_ENV.items():
        monkeypatch.setenv(key, value)
    before = fingerprint(db)
    with Store.open(db) as store:
        reports = ingest_files(store, [folder / name for name in expected])
    for name, report in zip(expected, reports, strict=True):
        kind, words = expected[name]
        assert report.status == "rejected", f"{name}: {report.message}"
        assert str(words).lower() in report.message.lower(), report.message
    assert fingerprint(db) == before


@pytest.mark.slow
def test_a_gzip_bomb_under_default_limits_is_stopped_by_the_cli(
    big_cases: tuple[Path, dict], db: Path
) -> None:
    """The CLI with a byte limit given as an option: the bomb stops at the limit, exit 2."""
    folder, _ = big_cases
    result = run_cli(
        "data",
        "ingest",
        "--db",
        db,
        "--max-bytes",
        str(8 * 1024 * 1024),
        folder / "gzip_bomb.csv.gz",
    )
    assert result.returncode == 2
    assert "larger than the limit of 8,388,608 bytes" in result.stderr
    assert_no_traceback(result.stderr)


# -- property-based fuzzing ----------------------------------------------------------------

_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_CELL = st.one_of(
    _TEXT,
    st.sampled_from(
        [
            '"',
            '""',
            ",",
            "\n",
            "\r\n",
            "\t",
            "=1+1",
            " ",
            "\x00",
            "\ufeff",
            "é",
            "😀",
            "'; DROP TABLE t;--",
        ]
    ),
)
_HEADERS = st.lists(
    st.sampled_from(
        ["text", "id", "body", "created_at", "subject", "", "Text", "channel", "resolved_by", "x"]
    ),
    min_size=1,
    max_size=5,
)


@st.composite
def table_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """A CSV/TSV/JSONL-shaped file: random headers and cells, random encodings, damage."""
    header = draw(_HEADERS)
    rows = draw(st.lists(st.lists(_CELL, min_size=0, max_size=len(header) + 1), max_size=8))
    fmt = draw(st.sampled_from(["csv", "tsv", "jsonl"]))
    if fmt == "jsonl":
        import json

        lines = [json.dumps(dict(zip(header, r, strict=False))) for r in rows]
        text = "\n".join(lines)
    else:
        out = io.StringIO()
        writer = csv.writer(out, delimiter="," if fmt == "csv" else "\t")
        writer.writerow(header)
        writer.writerows(rows)
        text = out.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "latin-1"]))
    data = text.encode(encoding, errors="replace")
    damage = draw(st.sampled_from(["none", "none", "truncate", "flip", "gzip"]))
    if damage == "truncate" and data:
        data = data[: draw(st.integers(0, len(data)))]
    elif damage == "flip" and data:
        i = draw(st.integers(0, len(data) - 1))
        data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :]
    elif damage == "gzip":
        import gzip

        data = gzip.compress(data, mtime=0)
        fmt += ".gz"
    return f"fuzz.{fmt}", data


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory: pytest.TempPathFactory):
    with Store.open(tmp_path_factory.mktemp("fuzz") / "fuzz.duckdb") as store:
        yield store


def _check_fuzz_case(store: Store, name: str, data: bytes) -> None:
    before = store.table_counts()
    [report] = ingest_files(store, [(name, io.BytesIO(data))])
    after = store.table_counts()
    if report.accepted:
        assert after["tickets"] == before["tickets"] + report.new_tickets
        assert report.rows >= report.new_tickets
    else:
        assert report.problems and all(str(p).strip() for p in report.problems)
        assert report.message.startswith(f"{name}: rejected")
        assert after == before


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=table_files())
def test_fuzzed_tables_are_accepted_or_rejected_never_half_written(
    fuzz_store: Store, case: tuple[str, bytes]
) -> None:
    _check_fuzz_case(fuzz_store, *case)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.binary(max_size=2048),
    suffix=st.sampled_from([".csv", ".tsv", ".jsonl", ".parquet", ".csv.gz", ".txt", ""]),
)
def test_fuzzed_bytes_never_crash_ingest(fuzz_store: Store, data: bytes, suffix: str) -> None:
    _check_fuzz_case(fuzz_store, f"bytes{suffix}", data)


def _shows_something(text: str) -> bool:
    """Not blank by ingest's own rule (``data.normalise.is_blank_text``), which rightly
    refuses a lone soft hyphen (Cf) as "empty text" where ``str.strip`` keeps it."""
    return not is_blank_text(text)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(
        st.text(
            st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=60
        ).filter(_shows_something),
        min_size=1,
        max_size=10,
        unique=True,
    )
)
def test_well_formed_csv_round_trips_exactly(
    tmp_path_factory: pytest.TempPathFactory, rows: list[str]
) -> None:
    """What a valid CSV says is what the store holds (quotes, commas, newlines, emoji)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "text"])
    writer.writerows([[i, t] for i, t in enumerate(rows)])
    data = out.getvalue().encode()
    with Store.open(tmp_path_factory.mktemp("rt") / "rt.duckdb") as store:
        [report] = ingest_files(store, [("rt.csv", io.BytesIO(data))])
        assert report.accepted, report.message
        stored = dict(store.fetchall("SELECT source_id, text FROM tickets"))
    expected = {str(i): t.replace("\r\n", "\n").replace("\r", "\n") for i, t in enumerate(rows)}
    normalised = {k: v.replace("\r\n", "\n").replace("\r", "\n") for k, v in stored.items()}
    assert normalised == expected


# -- atheris (coverage-guided), when installed -------------------------------------------

FUZZ_TARGET = """
import io, sys
import atheris
import numpy, pandas, pyarrow, pyarrow.csv, pyarrow.parquet  # not instrumented: only data.*
with atheris.instrument_imports(include=["data"]):
    from data.errors import IngestError
    from data.staging import stage_file

NAMES = ["f.csv", "f.tsv", "f.jsonl", "f.parquet", "f.csv.gz", "f"]

def one(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    name = NAMES[fdp.ConsumeIntInRange(0, len(NAMES) - 1)]
    payload = fdp.ConsumeBytes(fdp.remaining_bytes())
    try:
        staged = stage_file((name, io.BytesIO(payload)), staging_dir=None)
    except IngestError as exc:
        assert exc.problems and all(str(p).strip() for p in exc.problems), exc
    else:
        staged.path.unlink()

atheris.Setup(sys.argv, one)
atheris.Fuzz()
"""


#: libFuzzer stops with "out-of-memory" above this resident size. A local run of 20,000
#: inputs stays at 135–150 MB; one CI run reported 2,785 MB (not reproduced, GAPS.md item 6),
#: so the cap is 4 GiB: far above normal, still a failure for a real blow-up.
FUZZ_RSS_LIMIT_MB = 4096

#: libFuzzer reports an input staged for longer than this as a "timeout" finding (its input
#: saved). A CI rehearsal (2026-12-06, Intel) ran past the 120 s the whole test then allowed,
#: where 20,000 inputs take 6-7 s (13 seeds here, none over 7 s): no input was named, so the
#: limit per input and the fuzzer's own words on a hang are what the next failure will show.
FUZZ_INPUT_TIMEOUT_S = 10

#: The whole fuzzing run's limit (start-up, 15 s of fuzzing, one slow input at most).
FUZZ_RUN_TIMEOUT_S = 240


@pytest.mark.slow
def test_atheris_fuzzing_of_staging_finds_no_crash(tmp_path: Path) -> None:
    """Coverage-guided fuzzing of ``stage_file``: only IngestError may come out."""
    pytest.importorskip("atheris", reason="atheris is not installed (pip install atheris)")
    target = tmp_path / "fuzz_ingest.py"
    target.write_text(FUZZ_TARGET)
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for path in sorted(CORPUS.iterdir()):
        if path.stat().st_size < 4096:
            (seeds / path.name).write_bytes(b"\x00" + path.read_bytes())
    env = cli_env(TMPDIR=str(tmp_path))
    command = [
        sys.executable,
        str(target),
        "-runs=20000",
        "-max_total_time=15",
        "-max_len=4096",
        # one input staged for longer is a finding (an upload that holds the app), saved
        # as timeout-<sha1> beside the seeds; without it libFuzzer waits 20 minutes per input
        f"-timeout={FUZZ_INPUT_TIMEOUT_S}",
        f"-rss_limit_mb={FUZZ_RSS_LIMIT_MB}",
        f"-artifact_prefix={tmp_path}/",
        str(seeds),
    ]
    try:
        result = subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=FUZZ_RUN_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:  # say where it stood: starting, or which input
        said = exc.stderr or b""
        said = said.decode(errors="replace") if isinstance(said, bytes) else said
        pytest.fail(
            f"the fuzzer ran past {FUZZ_RUN_TIMEOUT_S} s (20,000 inputs take 7 s); "
            f"it said:\n{said[-4000:]}"
        )
    tail = (result.stdout + result.stderr)[-4000:]
    assert result.returncode == 0, tail
    import re

    done = re.search(r"Done (\d+) runs in (\d+) second", result.stderr)
    assert done, tail
    record_figure("atheris_stage_file", f"{done.group(1)} inputs in {done.group(2)} s, no crash")
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith("ingest-")]
    assert not leftovers, f"staging files left behind: {leftovers[:5]}"


def test_rejected_files_leave_no_staging_file(tmp_path: Path, db: Path) -> None:
    """A rejected upload's half-written staging Parquet is removed."""
    env = cli_env(TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    names = [
        "ragged_short_row.csv",
        "one_broken_line.jsonl",
        "text_is_int.parquet",
        "mixed_utf8_latin1.csv",
    ]
    result = run_cli("data", "ingest", "--db", db, *[CORPUS / n for n in names], env=env)
    assert result.returncode == 2
    assert os.listdir(tmp_path / "tmp") == []
