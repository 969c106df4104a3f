"""Crash safety: kill -9 mid-ingest and mid-tagging, damaged database files, a full disk, a
missing or damaged tagger artefact.

Mechanisms guarded:

- all-or-nothing ingest (``data.ingest``: validate and stage to Parquet first, then ONE
  transaction) and DuckDB's write-ahead log: a killed ingest leaves the store as before;
- resumable tagging (``model.jobs.tag_store``: a batch's entities and ``tagged_tickets``
  rows in one transaction, upserts): a killed run's rerun equals a clean run;
- ``data.store.connect`` / ``translate_error`` and the CLIs' error handling: a damaged file
  or a full disk is one clear line (exit 2) that says what to do, never a traceback.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from data.errors import StoreCorruptError
from data.paths import staging_dir_of
from data.store import Store
from tests.reliability.conftest import (
    ROOT,
    assert_no_traceback,
    cli_env,
    copy_db,
    entity_rows,
    fingerprint,
    kill9,
    record_figure,
    run_cli,
    tagged_keys,
)

SMALL_CSV = "id,text\n1,The API times out since Monday\n2,Invoice for March is wrong\n"


def _big_csv(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8") as f:
        f.write("id,customer,created_at,text\n")
        for i in range(rows):
            f.write(
                f"B{i},C{i % 97},2025-0{1 + i % 9}-1{i % 10}T10:00:00,"
                f"ticket {i}: the API answers slowly and the invoice for plan {i % 7} "
                f"looks wrong so please check\n"
            )
    return path


# -- kill -9 during ingest ---------------------------------------------------------------


def _staged(db: Path) -> list[Path]:
    """The staging Parquet files of a running ingest into ``db`` (none before or after it)."""
    folder = staging_dir_of(db)
    return [p for p in folder.iterdir() if p.suffix == ".parquet"] if folder.is_dir() else []


def _kill_points(db: Path) -> dict[str, Callable[[bytes], bool]]:
    """Moments of ``python -m data ingest`` into ``db``, each told by what the run itself
    leaves in the file system or prints (``db`` must be the file as before the run):

    - ``staging``: the staging Parquet file is being written, the database file untouched;
    - ``inserting``: the database file has grown (DuckDB writes the inserted row groups
      before the commit) while the staging file is still there (the ingest removes it only
      when the insert is done, and the one transaction commits after that);
    - ``committed``: the report line is printed, which the command does after the commit.
    """
    size = db.stat().st_size

    def staging(out: bytes) -> bool:
        return any(p.stat().st_size > 0 for p in _staged(db)) and db.stat().st_size == size

    def inserting(out: bytes) -> bool:
        return bool(_staged(db)) and db.stat().st_size > size

    def committed(out: bytes) -> bool:
        return b"new tickets" in out

    return {"staging": staging, "inserting": inserting, "committed": committed}


def _kill_at(proc: subprocess.Popen[bytes], moment: Callable[[bytes], bool]) -> bool:
    """Watch ``proc`` (stdout piped) until ``moment(output so far)`` holds, stop it (SIGSTOP),
    check the moment still holds in the frozen state, then ``kill -9`` it; True if it was
    killed there, False if the run ended first (without reaching it, or just after)."""
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    out = b""
    while proc.poll() is None:
        out += proc.stdout.read() or b""
        if moment(out):
            os.kill(proc.pid, signal.SIGSTOP)
            if moment(out):  # still so, and frozen there
                return kill9(proc)
            os.kill(proc.pid, signal.SIGCONT)
        time.sleep(0.002)
    return False


@pytest.mark.slow
def test_kill9_during_a_large_ingest_leaves_the_store_unchanged(db: Path, tmp_path: Path) -> None:
    """Killed while it stages, while it inserts (uncommitted row groups already in the
    database file) and right after it commits, a 200,000-row ingest leaves the store exactly
    as before (the first two) or exactly as after a clean run (the last, its write-ahead log
    replayed); the store opens cleanly, and a rerun completes."""
    big = _big_csv(tmp_path / "big.csv", 200_000)
    before = fingerprint(db)
    clean = copy_db(db, tmp_path / "clean" / "db.duckdb")
    result = run_cli("data", "ingest", "--db", clean, big, timeout=300)
    assert result.returncode == 0, result.stderr
    after = fingerprint(clean, stable=True)

    expected = {"staging": "unchanged", "inserting": "unchanged", "committed": "complete"}
    outcomes = {}
    for point in expected:
        victim = copy_db(db, tmp_path / point / "db.duckdb")
        moment = _kill_points(victim)[point]
        proc = subprocess.Popen(
            [sys.executable, "-m", "data", "ingest", "--db", str(victim), str(big)],
            cwd=ROOT,
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            killed = _kill_at(proc, moment)
        finally:
            proc.kill()
            proc.wait(30)
        # after the commit the command only checkpoints and exits: it may end first
        assert killed or point == "committed", f"the ingest ended without reaching '{point}'"
        if fingerprint(victim) == before:  # opens cleanly (read-only)
            outcomes[point] = "unchanged"
        else:
            assert fingerprint(victim, stable=True) == after, f"killed {point}: half a file"
            outcomes[point] = "complete"
        with Store.open(victim) as store:  # reopens for writing, WAL replayed or discarded
            assert store.scalar("SELECT max(version) FROM schema_version") >= 1
        rerun = run_cli("data", "ingest", "--db", victim, big, timeout=300)
        assert rerun.returncode == 0, rerun.stderr
        # the audit trail records the rerun too ("unchanged" after a completed kill)
        assert fingerprint(victim, stable=True, skip=["audit_log"]) == {
            t: v for t, v in after.items() if t != "audit_log"
        }
    record_figure("ingest_kill9_outcomes", outcomes)
    assert outcomes == expected


# -- kill -9 during command-line tagging -------------------------------------------------


def _tag_args(db: Path, model_dir: Path) -> list[str | Path]:
    return ["tag", "--db", db, "--model", model_dir, "--device", "cpu", "--batch-size", "1"]


@pytest.fixture(scope="module")
def clean_tagging(
    demo_db: Path, tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list, set]:
    """Entity rows and tagged keys of one clean ``model tag`` run over the demo."""
    clean = copy_db(demo_db, tmp_path_factory.mktemp("cleantag") / "db.duckdb")
    result = run_cli("model", *_tag_args(clean, tiny_model_dir), timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = entity_rows(clean)
    assert rows, "the tiny model found no entity at all: the comparison would prove little"
    return rows, tagged_keys(clean)


PROGRESS = re.compile(rb"(\d+)/(\d+)")


def _kill_when_partway(args: list[str | Path]) -> None:
    """Start ``python -m model <args>`` and kill -9 it as soon as its progress bar reports
    some tickets tagged, but not all: the moment comes from the run itself, not a clock."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "model", *map(str, args)],
        cwd=ROOT,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    seen = b""
    try:
        while chunk := proc.stdout.read1(4096):
            seen = (seen + chunk)[-4096:]
            counts = [(int(a), int(b)) for a, b in PROGRESS.findall(seen)]
            if any(0 < done < total for done, total in counts):
                kill9(proc)
                return
    finally:
        proc.kill()
        proc.wait(30)


@pytest.mark.slow
def test_kill9_during_cli_tagging_then_rerun_equals_a_clean_run(
    demo_db: Path, tiny_model_dir: Path, tmp_path: Path, clean_tagging: tuple[list, set]
) -> None:
    rows, keys = clean_tagging
    total = len(keys)
    partial = None
    for attempt in range(3):  # the kill can land after the last batch; then try again
        victim = copy_db(demo_db, tmp_path / f"try{attempt}" / "db.duckdb")
        _kill_when_partway(_tag_args(victim, tiny_model_dir))
        done = len(tagged_keys(victim))
        if 0 < done < total:
            partial = (victim, done)
            break
    assert partial is not None, "could not kill the run mid-way"
    victim, done = partial
    record_figure("cli_tagging_killed_after", f"{done} of {total} tickets")
    rerun = run_cli("model", *_tag_args(victim, tiny_model_dir), timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert tagged_keys(victim) == keys
    assert entity_rows(victim) == rows


# -- damaged database files --------------------------------------------------------------


def _damage(kind: str, good: Path, target: Path) -> Path:
    data = good.read_bytes()
    blobs = {
        "random_bytes": bytes((i * 7919 + 13) % 251 for i in range(64 * 1024)),
        "zeroed_header": bytes(8192) + data[8192:],
        "truncated_4k": data[:4096],
        "truncated_half": data[: len(data) // 2],
        "a_csv_file": SMALL_CSV.encode(),
    }
    target.write_bytes(blobs[kind])
    return target


DAMAGE = ["random_bytes", "zeroed_header", "truncated_4k", "truncated_half", "a_csv_file"]


@pytest.mark.parametrize("kind", DAMAGE)
def test_a_damaged_database_is_a_clear_message_with_a_way_forward(
    kind: str, demo_db: Path, tmp_path: Path
) -> None:
    path = _damage(kind, demo_db, tmp_path / "db.duckdb")
    upload = tmp_path / "t.csv"
    upload.write_text(SMALL_CSV)
    # In-process: opening or reading raises StoreCorruptError, never a raw DuckDB error.
    with pytest.raises(StoreCorruptError, match="move it aside"), Store.open(path) as store:
        for table in ("tickets", "usage", "gold_entities", "customers"):
            store.query(f"SELECT * FROM {table}")
    # The command line: exit 2, one line naming the file and what to do.
    result = run_cli("data", "ingest", "--db", path, upload)
    assert result.returncode == 2, result.stdout + result.stderr
    assert_no_traceback(result.stderr)
    assert "not a readable DuckDB database" in result.stderr
    assert "move it aside" in result.stderr
    # The way forward works: moved aside, a fresh demo database is created in its place.
    from data.bootstrap import ensure_demo_database

    shutil.move(path, tmp_path / "damaged.duckdb")
    ensure_demo_database(path, tickets=20)
    assert fingerprint(path)["tickets"][0] == 20


def test_model_tag_on_a_damaged_database_is_one_line(
    demo_db: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    path = _damage("truncated_half", demo_db, tmp_path / "db.duckdb")
    result = run_cli("model", *_tag_args(path, tiny_model_dir))
    assert result.returncode == 2, result.stderr[-2000:]
    assert_no_traceback(result.stderr)
    assert "not a readable DuckDB database" in result.stderr


# -- a full disk -------------------------------------------------------------------------


def _file_size_limit(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_file_size_limit_during_ingest_is_one_line_and_nothing_is_written(
    db: Path, tmp_path: Path
) -> None:
    big = _big_csv(tmp_path / "big.csv", 60_000)
    before = fingerprint(db)
    limit = db.stat().st_size + 256 * 1024
    result = run_cli(
        "data",
        "ingest",
        "--db",
        db,
        big,
        preexec_fn=_file_size_limit(limit),
        env=cli_env(TMPDIR=str(tmp_path)),
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert_no_traceback(result.stderr)
    assert "could not write to the database" in result.stderr
    assert "free space" in result.stderr
    assert fingerprint(db) == before
    rerun = run_cli("data", "ingest", "--db", db, big)  # the way forward: with room, it works
    assert rerun.returncode == 0, rerun.stderr
    assert "60,000 new tickets" in rerun.stdout


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 32 MiB tmpfs mounted for this test (root only; skipped elsewhere)."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode}); "
            "the RLIMIT_FSIZE test covers the full-disk path"
        )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_during_ingest_is_one_line_and_nothing_is_written(
    db: Path, tmp_path: Path, small_tmpfs: Path
) -> None:
    on_disk = copy_db(db, small_tmpfs / "db.duckdb")
    filler = small_tmpfs / "filler"
    free = shutil.disk_usage(small_tmpfs).free
    filler.write_bytes(b"\0" * max(0, free - 300 * 1024))  # leave 300 KiB
    big = _big_csv(tmp_path / "big.csv", 60_000)
    before = fingerprint(on_disk)
    result = run_cli("data", "ingest", "--db", on_disk, big, env=cli_env(TMPDIR=str(tmp_path)))
    assert result.returncode == 2, result.stdout + result.stderr
    assert_no_traceback(result.stderr)
    assert "could not write to the database" in result.stderr, result.stderr
    assert fingerprint(on_disk) == before
    staging = on_disk.with_name(on_disk.name + ".staging")
    assert not staging.exists() or not any(staging.iterdir())  # no half-written staging copy
    filler.unlink()  # the way forward: free space, run again
    rerun = run_cli("data", "ingest", "--db", on_disk, big, env=cli_env(TMPDIR=str(tmp_path)))
    assert rerun.returncode == 0, rerun.stderr
    assert fingerprint(on_disk)["tickets"][0] == before["tickets"][0] + 60_000


def test_a_full_temp_folder_does_not_stop_an_ingest(
    db: Path, tmp_path: Path, small_tmpfs: Path
) -> None:
    """Staging sits beside the database (``<db>.staging``), not in the system temp folder: a
    full temp folder changes nothing, and nothing is left in either place."""
    (small_tmpfs / "filler").write_bytes(b"\0" * (shutil.disk_usage(small_tmpfs).free - 4096))
    big = _big_csv(tmp_path / "big.csv", 60_000)
    before = fingerprint(db)
    result = run_cli("data", "ingest", "--db", db, big, env=cli_env(TMPDIR=str(small_tmpfs)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "60,000 new tickets" in result.stdout
    assert fingerprint(db)["tickets"][0] == before["tickets"][0] + 60_000
    assert [p.name for p in small_tmpfs.iterdir()] == ["filler"]
    staging = db.with_name(db.name + ".staging")
    assert not staging.exists() or not any(staging.iterdir())


# -- a missing or damaged tagger artefact ------------------------------------------------


def _broken_model(kind: str, good: Path, target: Path) -> Path:
    if kind == "missing_folder":
        return target / "nowhere"
    shutil.copytree(good, target)
    if kind == "bad_settings_json":
        (target / "tagger.json").write_text("{not json", encoding="utf-8")
    elif kind == "truncated_weights":
        weights = target / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:1000])
    elif kind == "missing_weights":
        (target / "model.safetensors").unlink()
    return target


@pytest.mark.parametrize(
    "kind", ["missing_folder", "bad_settings_json", "truncated_weights", "missing_weights"]
)
def test_model_tag_with_a_broken_artefact_is_one_line(
    kind: str, db: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    model_dir = _broken_model(kind, tiny_model_dir, tmp_path / "model")
    before = fingerprint(db)
    result = run_cli("model", *_tag_args(db, model_dir))
    assert_no_traceback(result.stderr)
    assert result.returncode == 2
    assert str(model_dir) in result.stderr
    assert fingerprint(db) == before


def test_the_in_app_job_with_a_missing_tagger_says_what_to_do(db: Path, tmp_path: Path) -> None:
    from dashboard.jobs import TaggingJob
    from model.tagger import Tagger

    missing = tmp_path / "default"
    with Store.open(db) as store:
        job = TaggingJob(store, loader=lambda: Tagger.load(missing, device="cpu"))
        job.start()
        status = job.wait(60)
    assert status.state == "failed"
    assert "Traceback" not in status.message and str(missing) in status.message
    assert any(w in status.message for w in ("python -m model train", "restore", "reinstall"))
